/*
 * Convergence: auto-converge (the CPU throttle), the x-convergence verdict
 * and x-auto-postcopy (migration/ram-throttle.c,
 * migration/migration-convergence.c, docs/devel/migration/convergence.rst).
 *
 * /migration/converge/auto-converge/qemu-7.2: QEMU 7.2's auto_converge
 *   test on the a-b guest: cpu-throttle-initial 5, increment 50,
 *   max-cpu-throttle 95; the first cpu-throttle-percentage seen is 5, the
 *   last one (at pre-switchover) <= 95; completes, a-b intact.
 * /migration/converge/rate/no-help: the rate guest (100 MiB/s over 64 MiB)
 *   under a max-bandwidth it cannot outrun: the verdict says diverging
 *   and advises a throttle; still active many passes later; cancelled.
 * /migration/converge/rate/auto-converge: the same with auto-converge: the
 *   throttle steps up and the migration completes; the destination's
 *   memory equals the source's, byte for byte, before it runs on.
 * /migration/converge/a-b/full-bandwidth: a-b at the converge settings:
 *   the verdict at pre-switchover is converging, advice none.
 * /migration/converge/auto-postcopy/switch: the rate guest diverging with
 *   x-auto-postcopy: the source switches to postcopy by itself, says why,
 *   and completes with the guest intact.
 * /migration/converge/auto-postcopy/refused: without postcopy-ram.
 * /migration/converge/cancel-throttle: a cancel stops the throttle.
 *
 * No timing thresholds: states and monotonic facts, polled with generous
 * deadlines.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "libqtest.h"
#include "migration-helpers.h"

#define MEM             "128M"
/* the rate guest's range (tests/migration-guest/README.md) */
#define RATE_START      (MIG_DRAM_BASE + (1ULL << 20))
#define RATE_END        (MIG_DRAM_BASE + (65ULL << 20))
/*
 * Below the guest's 100 MiB/s: every pass over its 64 MiB takes longer
 * than the 0.64 s the guest needs to rewrite all of it, so each sync finds
 * the whole set dirty again, and 64 MiB at 48 MB/s is 1.4 s of downtime
 * against the 300 ms default: precopy alone never converges.
 */
#define RATE_BANDWIDTH  (48LL * 1000 * 1000)
#define POLL_US         (50 * 1000)
#define DEADLINE_S      240

typedef struct Run {
    char *dir;
    char *uri;
    QTestState *from, *to;
    size_t src_pos, dst_pos;
} Run;

static void run_start(Run *r, const char *guest, const char *dst_extra)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *image = qtest_guest_image(guest);

    memset(r, 0, sizeof(*r));
    r->dir = g_dir_make_tmp("godwit-converge-XXXXXX", &err);
    g_assert_no_error(err);
    r->uri = g_strdup_printf("unix:%s/mig.sock", r->dir);
    r->from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(r->from, &r->src_pos, "AB");
    r->to = qtest_initf("-M virt -m " MEM " -bios none -kernel %s "
                        "-incoming defer %s", image, dst_extra);
}

static void run_end(Run *r)
{
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", r->dir);

    if (r->to) {
        qtest_quit(r->to);
    }
    qtest_quit(r->from);
    unlink(sock);
    rmdir(r->dir);
    g_free(r->dir);
    g_free(r->uri);
}

static void run_migrate(Run *r)
{
    migrate_incoming_qmp(r->to, r->uri);
    migrate_qmp(r->from, r->uri);
}

static gint64 deadline(void)
{
    return g_get_monotonic_time() + DEADLINE_S * G_USEC_PER_SEC;
}

static void check_deadline(gint64 end, const char *what)
{
    if (g_get_monotonic_time() > end) {
        g_error("timed out after %d s waiting for %s", DEADLINE_S, what);
    }
}

/* The x-convergence object of @info (borrowed), or NULL. */
static JsonObject *convergence(JsonObject *info)
{
    return json_object_has_member(info, "x-convergence") ?
           json_object_get_object_member(info, "x-convergence") : NULL;
}

static const char *verdict_of(JsonObject *conv)
{
    return json_object_get_string_member(conv, "verdict");
}

static const char *advice_of(JsonObject *conv)
{
    return json_object_get_string_member(
        json_object_get_object_member(conv, "advice"), "action");
}

static void log_convergence(JsonObject *info)
{
    JsonObject *c = convergence(info);
    JsonObject *a;

    if (!c) {
        return;
    }
    a = json_object_get_object_member(c, "advice");
    g_test_message("pass %" PRId64 ": %s, dirty %" PRId64 " B/s, bandwidth %"
                   PRId64 " B/s, expected downtime %" PRId64 " ms, advice "
                   "%s (throttle %" PRId64 ", bandwidth %" PRId64 "), "
                   "cpu-throttle-percentage %" PRId64,
                   mig_json_int(c, "passes", -1), verdict_of(c),
                   mig_json_int(c, "dirty-rate", -1),
                   mig_json_int(c, "bandwidth", -1),
                   mig_json_int(c, "expected-downtime", -1), advice_of(c),
                   mig_json_int(a, "throttle", -1),
                   mig_json_int(a, "bandwidth", -1),
                   mig_json_int(info, "cpu-throttle-percentage", 0));
}

/* Fail unless @status is one of those a running precopy passes through. */
static void assert_precopy_running(QTestState *who, const char *status)
{
    if (strcmp(status, "setup") && strcmp(status, "active")) {
        g_autofree char *err = migrate_query_error(who);

        g_error("migration left precopy: status %s (%s)", status,
                err ? err : "no error-desc");
    }
}

/*
 * Poll until the published verdict is @want; any other published verdict
 * than "unknown" on the way fails.  Returns query-migrate at that moment.
 */
static JsonObject *wait_for_verdict(QTestState *who, const char *want)
{
    gint64 end = deadline();

    for (;;) {
        JsonObject *info = migrate_query(who);
        const char *status = json_object_get_string_member(info, "status");
        JsonObject *c = convergence(info);

        assert_precopy_running(who, status);
        if (c && !strcmp(verdict_of(c), want)) {
            log_convergence(info);
            return info;
        }
        if (c && strcmp(verdict_of(c), "unknown")) {
            log_convergence(info);
            g_error("verdict %s while waiting for %s", verdict_of(c), want);
        }
        json_object_unref(info);
        check_deadline(end, want);
        g_usleep(POLL_US);
    }
}

/*
 * Memory of [DRAM, RATE_END) of two stopped guests, compared chunk by
 * chunk: the destination holds exactly what the source had at the stop.
 */
static void assert_same_ram(QTestState *a, QTestState *b)
{
    const size_t chunk = 4 << 20;
    g_autofree uint8_t *x = g_malloc(chunk), *y = g_malloc(chunk);

    for (uint64_t addr = MIG_DRAM_BASE; addr < RATE_END; addr += chunk) {
        qtest_bufread(a, addr, x, chunk);
        qtest_bufread(b, addr, y, chunk);
        if (memcmp(x, y, chunk)) {
            for (size_t i = 0; i < chunk; i++) {
                if (x[i] != y[i]) {
                    g_error("guest RAM differs at 0x%" PRIx64 ": source "
                            "0x%02x, destination 0x%02x", addr + i, x[i],
                            y[i]);
                }
            }
        }
    }
}

/*
 * The rate guest's invariant (the a-b one over its range) on a stopped
 * guest: the first bytes of consecutive pages are equal but at most one
 * step down by one; every other byte of those pages is zero.
 */
static void check_rate_ram(QTestState *who)
{
    const size_t chunk = 4 << 20;
    g_autofree uint8_t *buf = g_malloc(chunk);
    unsigned edges = 0;
    bool first = true;
    uint8_t prev = 0;

    for (uint64_t addr = RATE_START; addr < RATE_END; addr += chunk) {
        qtest_bufread(who, addr, buf, chunk);
        for (size_t off = 0; off < chunk; off += MIG_PAGE_SIZE) {
            uint8_t b = buf[off];

            for (size_t i = 1; i < MIG_PAGE_SIZE; i++) {
                if (buf[off + i]) {
                    g_error("rate guest page 0x%" PRIx64 " byte %zu is 0x%02x",
                            addr + off, i, buf[off + i]);
                }
            }
            if (!first && b != prev) {
                if ((uint8_t)(b + 1) != prev || ++edges > 1) {
                    g_error("rate guest page 0x%" PRIx64 ": 0x%02x after "
                            "0x%02x (%u edges)", addr + off, b, prev, edges);
                }
            }
            first = false;
            prev = b;
        }
    }
}

/* Wait until cpu-throttle-percentage is present; returns it. */
static int64_t wait_for_throttle(QTestState *who)
{
    gint64 end = deadline();

    for (;;) {
        JsonObject *info = migrate_query(who);
        const char *status = json_object_get_string_member(info, "status");
        int64_t pct = mig_json_int(info, "cpu-throttle-percentage", 0);

        assert_precopy_running(who, status);
        json_object_unref(info);
        if (pct) {
            return pct;
        }
        check_deadline(end, "cpu-throttle-percentage");
        g_usleep(POLL_US);
    }
}

static void assert_no_throttle(QTestState *who)
{
    JsonObject *info = migrate_query(who);
    g_autofree char *hmp = qtest_hmp(who, "info migrate");

    g_assert_false(json_object_has_member(info, "cpu-throttle-percentage"));
    g_assert_null(strstr(hmp, "cpu throttle percentage"));
    json_object_unref(info);
}

static void set_throttle_params(QTestState *who, int initial, int increment,
                                int max)
{
    migrate_set_parameter_int(who, "cpu-throttle-initial", initial);
    migrate_set_parameter_int(who, "cpu-throttle-increment", increment);
    migrate_set_parameter_int(who, "max-cpu-throttle", max);
}

/* ------------------------------------------------------------ cases */

/* 7.2's /migration/auto_converge, on the a-b guest. */
static void test_auto_converge_72(void)
{
    const int init_pct = 5, inc_pct = 50, max_pct = 95;
    g_autofree char *hmp = NULL;
    int64_t pct;
    Run r;

    run_start(&r, "a-b", "");
    migrate_set_capability(r.from, "auto-converge", true);
    set_throttle_params(r.from, init_pct, inc_pct, max_pct);
    migrate_set_capability(r.from, "pause-before-switchover", true);
    migrate_ensure_non_converge(r.from);
    run_migrate(&r);

    pct = wait_for_throttle(r.from);
    g_test_message("first throttle %" PRId64 " %%", pct);
    g_assert_cmpint(pct, ==, init_pct);
    hmp = qtest_hmp(r.from, "info migrate");
    g_assert_nonnull(strstr(hmp, "cpu throttle percentage: "));

    migrate_ensure_converge(r.from);
    wait_for_migration_status(r.from, "pre-switchover", NULL);
    {
        JsonObject *info = migrate_query(r.from);

        pct = mig_json_int(info, "cpu-throttle-percentage", 0);
        json_object_unref(info);
    }
    g_test_message("last throttle %" PRId64 " %%", pct);
    g_assert_cmpint(pct, >=, init_pct);
    g_assert_cmpint(pct, <=, max_pct);
    migrate_continue_qmp(r.from, "pre-switchover");
    wait_for_migration_complete(r.from);
    wait_for_migration_complete(r.to);
    assert_no_throttle(r.from);
    wait_for_serial(r.to, &r.dst_pos, "B");
    qtest_qmp_assert_success(r.to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(r.to, "STOP");
    check_guests_ram(r.to);
    run_end(&r);
}

/* The rate guest cannot converge at RATE_BANDWIDTH by itself. */
static void test_rate_no_help(void)
{
    g_autofree char *hmp = NULL;
    JsonObject *info, *c, *a;
    int64_t passes;
    Run r;

    run_start(&r, "rate", "");
    migrate_set_parameter_int(r.from, "max-bandwidth", RATE_BANDWIDTH);
    run_migrate(&r);

    info = wait_for_verdict(r.from, "diverging");
    c = convergence(info);
    a = json_object_get_object_member(c, "advice");
    g_assert_cmpstr(advice_of(c), ==, "throttle");
    g_assert_cmpint(mig_json_int(a, "throttle", -1), >, 0);
    g_assert_cmpint(mig_json_int(a, "throttle", -1), <=, 99);
    g_assert_cmpint(mig_json_int(c, "expected-downtime", -1), >, 300);
    g_assert_cmpint(mig_json_int(c, "bandwidth", -1), >, 0);
    g_assert_cmpint(mig_json_int(c, "dirty-rate", -1), >, 0);
    passes = mig_json_int(c, "passes", -1);
    g_assert_false(json_object_has_member(info, "cpu-throttle-percentage"));
    json_object_unref(info);

    hmp = qtest_hmp(r.from, "info migrate");
    g_assert_nonnull(strstr(hmp, "x-convergence: diverging ("));
    g_assert_nonnull(strstr(hmp, "x-convergence advice: throttle"));

    /* three more passes: still precopy, still diverging */
    wait_for_migration_pass(r.from,
                            migrate_ram_counter(r.from, "dirty-sync-count") +
                            3);
    info = migrate_query(r.from);
    c = convergence(info);
    log_convergence(info);
    g_assert_cmpstr(json_object_get_string_member(info, "status"), ==,
                    "active");
    g_assert_cmpstr(verdict_of(c), ==, "diverging");
    g_assert_cmpint(mig_json_int(c, "passes", -1), >, passes);
    json_object_unref(info);

    migrate_cancel_qmp(r.from);
    wait_for_migration_status(r.from, "cancelled", NULL);
    mig_assert_source_alive(r.from, &r.src_pos);
    run_end(&r);
}

/* With auto-converge the same migration converges, memory intact. */
static void test_rate_auto_converge(void)
{
    gint64 end = deadline();
    int64_t max_seen = 0;
    g_autofree char *status = NULL;
    Run r;

    /* -S: the destination keeps what it received until compared */
    run_start(&r, "rate", "-S");
    migrate_set_capability(r.from, "auto-converge", true);
    set_throttle_params(r.from, 30, 20, 99);
    migrate_set_parameter_int(r.from, "max-bandwidth", RATE_BANDWIDTH);
    run_migrate(&r);

    for (;;) {
        JsonObject *info = migrate_query(r.from);
        int64_t pct = mig_json_int(info, "cpu-throttle-percentage", 0);

        g_free(status);
        status = g_strdup(json_object_get_string_member(info, "status"));
        if (pct > max_seen) {
            g_test_message("throttle %" PRId64 " %%", pct);
            log_convergence(info);
            /* it only steps up during one migration */
            g_assert_cmpint(pct, >, max_seen);
            max_seen = pct;
        }
        json_object_unref(info);
        if (!strcmp(status, "completed")) {
            break;
        }
        if (strcmp(status, "setup") && strcmp(status, "active") &&
            strcmp(status, "device")) {
            g_error("status %s", status);
        }
        check_deadline(end, "the throttled migration to complete");
        g_usleep(POLL_US);
    }
    g_test_message("completed; highest throttle seen %" PRId64 " %%",
                   max_seen);
    g_assert_cmpint(max_seen, >=, 30);
    assert_no_throttle(r.from);
    wait_for_migration_complete(r.to);
    /* source in postmigrate, destination not started: same bytes */
    assert_same_ram(r.from, r.to);
    check_rate_ram(r.to);
    qtest_qmp_assert_success(r.to, "{\"execute\": \"cont\"}");
    wait_for_serial(r.to, &r.dst_pos, "B");
    wait_for_serial(r.to, &r.dst_pos, "B");
    run_end(&r);
}

/* a-b with all the bandwidth it can use: converging at once. */
static void test_ab_full_bandwidth(void)
{
    JsonObject *info, *c;
    Run r;

    run_start(&r, "a-b", "");
    migrate_set_capability(r.from, "pause-before-switchover", true);
    migrate_ensure_converge(r.from);
    run_migrate(&r);
    wait_for_migration_status(r.from, "pre-switchover", NULL);
    info = migrate_query(r.from);
    log_convergence(info);
    c = convergence(info);
    g_assert_nonnull(c);
    g_assert_cmpstr(verdict_of(c), ==, "converging");
    g_assert_cmpstr(advice_of(c), ==, "none");
    g_assert_cmpint(mig_json_int(c, "expected-downtime", -1), <=,
                    MIG_CONVERGE_DOWNTIME_MS);
    json_object_unref(info);
    migrate_continue_qmp(r.from, "pre-switchover");
    wait_for_migration_complete(r.from);
    wait_for_migration_complete(r.to);
    info = migrate_query(r.from);
    g_assert_false(json_object_has_member(info, "x-convergence"));
    g_assert_false(json_object_has_member(info, "x-auto-postcopy-reason"));
    json_object_unref(info);
    wait_for_serial(r.to, &r.dst_pos, "B");
    qtest_qmp_assert_success(r.to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(r.to, "STOP");
    check_guests_ram(r.to);
    run_end(&r);
}

/* x-auto-postcopy: the diverging rate guest goes postcopy by itself. */
static void test_auto_postcopy_switch(void)
{
    g_autofree char *status = NULL, *why = NULL, *hmp = NULL;
    JsonObject *rsp, *info;
    gint64 end = deadline();
    Run r;

    run_start(&r, "rate", "");
    rsp = migrate_set_capability_rsp(r.to, "postcopy-ram", true);
    if (!json_object_has_member(rsp, "return")) {
        g_autofree char *err = mig_take_error(rsp);

        g_test_skip(err);
        run_end(&r);
        return;
    }
    json_object_unref(rsp);
    migrate_set_capability(r.from, "postcopy-ram", true);
    migrate_set_capability(r.from, "x-auto-postcopy", true);
    migrate_set_parameter_int(r.from, "max-bandwidth", RATE_BANDWIDTH);
    run_migrate(&r);

    /* diverging, then postcopy: no completion in precopy on the way */
    for (;;) {
        g_free(status);
        status = migrate_query_status(r.from);
        if (!strcmp(status, "postcopy-active") ||
            !strcmp(status, "completed")) {
            break;
        }
        assert_precopy_running(r.from, status);
        check_deadline(end, "the switch to postcopy");
        g_usleep(POLL_US);
    }
    info = migrate_query(r.from);
    g_assert_true(json_object_has_member(info, "x-auto-postcopy-reason"));
    why = g_strdup(json_object_get_string_member(info,
                                                 "x-auto-postcopy-reason"));
    g_test_message("switched (%s): %s", status, why);
    g_assert_nonnull(strstr(why, "diverging for 2 passes"));
    json_object_unref(info);
    hmp = qtest_hmp(r.from, "info migrate");
    g_assert_nonnull(strstr(hmp, "x-auto-postcopy: diverging"));

    wait_for_migration_complete(r.from);
    wait_for_migration_complete(r.to);
    {
        JsonObject *ram;

        info = migrate_query(r.from);
        ram = json_object_get_object_member(info, "ram");
        g_assert_cmpint(mig_json_int(ram, "postcopy-bytes", -1), >, 0);
        json_object_unref(info);
    }
    /* the guest ran on through the switch: no reboot, no trap */
    wait_for_serial(r.to, &r.dst_pos, "B");
    wait_for_serial(r.to, &r.dst_pos, "B");
    qtest_qmp_assert_success(r.to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(r.to, "STOP");
    check_rate_ram(r.to);
    run_end(&r);
}

static void test_auto_postcopy_refused(void)
{
    g_autofree char *image = qtest_guest_image("a-b");
    QTestState *s = qtest_initf("-M virt -m " MEM " -bios none -kernel %s",
                                image);
    g_autofree char *err = NULL, *err2 = NULL;

    err = mig_take_error(migrate_set_capability_rsp(s, "x-auto-postcopy",
                                                    true));
    g_test_message("refused: %s", err);
    g_assert_nonnull(strstr(err, "x-auto-postcopy requires postcopy-ram"));
    g_assert_false(migrate_get_capability(s, "x-auto-postcopy"));
    /* and postcopy-ram cannot go away under it */
    migrate_set_capability(s, "postcopy-ram", true);
    migrate_set_capability(s, "x-auto-postcopy", true);
    err2 = mig_take_error(migrate_set_capability_rsp(s, "postcopy-ram",
                                                     false));
    g_assert_nonnull(strstr(err2, "requires postcopy-ram"));
    g_assert_true(migrate_get_capability(s, "postcopy-ram"));
    qtest_quit(s);
}

/* A cancel while throttling lets the guest go at full speed again. */
static void test_cancel_throttle(void)
{
    int64_t pct;
    Run r;

    run_start(&r, "rate", "");
    migrate_set_capability(r.from, "auto-converge", true);
    set_throttle_params(r.from, 40, 10, 99);
    migrate_set_parameter_int(r.from, "max-bandwidth", RATE_BANDWIDTH);
    run_migrate(&r);
    pct = wait_for_throttle(r.from);
    g_assert_cmpint(pct, ==, 40);
    migrate_cancel_qmp(r.from);
    wait_for_migration_status(r.from, "cancelled", NULL);
    assert_no_throttle(r.from);
    mig_assert_source_alive(r.from, &r.src_pos);
    run_end(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/converge/auto-converge/qemu-7.2",
                    test_auto_converge_72);
    g_test_add_func("/migration/converge/rate/no-help", test_rate_no_help);
    g_test_add_func("/migration/converge/rate/auto-converge",
                    test_rate_auto_converge);
    g_test_add_func("/migration/converge/a-b/full-bandwidth",
                    test_ab_full_bandwidth);
    g_test_add_func("/migration/converge/auto-postcopy/switch",
                    test_auto_postcopy_switch);
    g_test_add_func("/migration/converge/auto-postcopy/refused",
                    test_auto_postcopy_refused);
    g_test_add_func("/migration/converge/cancel-throttle",
                    test_cancel_throttle);
    return g_test_run();
}
