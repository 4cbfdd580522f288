/*
 * Dirty rate and dirty-limit (migration/dirtyrate.c, system/dirtylimit.c,
 * system/dirty-log.c).
 *
 * /migration/dirty-rate/<mode>/busy: calc-dirty-rate on the rate guest
 *   (100 MiB/s over a 64 MiB range, tests/migration-guest/rate.S) gives a
 *   plausible non-zero rate; dirty-ring mode also per vCPU.
 * /migration/dirty-rate/<mode>/idle: on a guest that never ran (-S) about
 *   zero.
 * /migration/dirty-rate/during-migration: every mode measured while an
 *   a-b guest migrates, then the migration completes with RAM intact: the
 *   shared dirty log lost nothing to the measurements.
 * /migration/dirty-rate/refusals: a second calc while one measures, out
 *   of range arguments.
 * /migration/dirty-rate/hmp: calc_dirty_rate [-r] [-b] and info dirty_rate.
 * /migration/dirty-limit/vcpu: set a limit: the measured dirty-ring rate
 *   drops to about the limit; cancel: it rises again (QEMU's
 *   /migration/vcpu_dirty_limit, without KVM); through QMP and HMP.
 * /migration/dirty-limit/needed: the rate guest cannot converge under
 *   its max-bandwidth (still active after three more syncs; cancelled).
 * /migration/dirty-limit/converge: the same with the dirty-limit
 *   capability converges, its memory intact, and the limits end with the
 *   migration.
 * /migration/dirty-limit/refusals: dirty-limit with auto-converge, a bad
 *   cpu-index, bad periods and limits.
 *
 * No timing thresholds: rates are compared with wide ratios, waits poll
 * with generous deadlines.
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

#define MEM "128M"
#define WAIT_US (120LL * G_USEC_PER_SEC)
/* the rate guest's range (tests/migration-guest/README.md) */
#define RATE_START (MIG_DRAM_BASE + (1ULL << 20))
#define RATE_END   (MIG_DRAM_BASE + (65ULL << 20))

static QTestState *start_rate_guest(const char *guest, bool stopped,
                                    size_t *pos)
{
    g_autofree char *image = qtest_guest_image(guest);
    QTestState *qts = qtest_initf("-M virt -m " MEM " -bios none -kernel %s%s",
                                  image, stopped ? " -S" : "");

    if (!stopped) {
        wait_for_serial(qts, pos, "AB");
    }
    return qts;
}

/* Poll query-dirty-rate until "measured"; returns the reply (unref). */
static JsonObject *wait_dirty_rate(QTestState *qts)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;

    for (;;) {
        JsonObject *rsp = qtest_qmp(qts, "{\"execute\": \"query-dirty-rate\", "
                                    "\"arguments\": {\"calc-time-unit\": "
                                    "\"millisecond\"}}");
        JsonObject *ret = json_object_get_object_member(rsp, "return");
        const char *status = json_object_get_string_member(ret, "status");

        if (!strcmp(status, "measured")) {
            json_object_ref(ret);
            json_object_unref(rsp);
            return ret;
        }
        g_assert_cmpstr(status, ==, "measuring");
        json_object_unref(rsp);
        if (g_get_monotonic_time() > deadline) {
            g_error("dirty rate still measuring after %lld s",
                    WAIT_US / G_USEC_PER_SEC);
        }
        g_usleep(50 * 1000);
    }
}

/* calc-dirty-rate @mode over @ms, wait, return dirty-rate (MB/s). */
static int64_t measure(QTestState *qts, const char *mode, int ms,
                       int64_t *vcpu0)
{
    JsonObject *info;
    int64_t rate;

    qtest_qmp_assert_success(qts, "{\"execute\": \"calc-dirty-rate\", "
                             "\"arguments\": {\"calc-time\": %d, "
                             "\"calc-time-unit\": \"millisecond\", "
                             "\"mode\": \"%s\"}}", ms, mode);
    info = wait_dirty_rate(qts);
    g_assert_cmpstr(json_object_get_string_member(info, "mode"), ==, mode);
    rate = mig_json_int(info, "dirty-rate", -1);
    g_assert_cmpint(rate, >=, 0);
    g_assert_cmpint(mig_json_int(info, "start-time", -1), >, 0);
    g_assert_cmpint(mig_json_int(info, "calc-time", -1), >=, ms);
    g_assert_cmpstr(json_object_get_string_member(info, "calc-time-unit"), ==,
                    "millisecond");
    if (!strcmp(mode, "dirty-ring")) {
        JsonArray *v = json_object_get_array_member(info, "vcpu-dirty-rate");
        JsonObject *e0;

        g_assert_nonnull(v);
        g_assert_cmpuint(json_array_get_length(v), ==, 1);
        e0 = json_array_get_object_element(v, 0);
        g_assert_cmpint(mig_json_int(e0, "id", -1), ==, 0);
        if (vcpu0) {
            *vcpu0 = mig_json_int(e0, "dirty-rate", -1);
        }
    } else {
        g_assert_false(json_object_has_member(info, "vcpu-dirty-rate"));
    }
    if (!strcmp(mode, "page-sampling")) {
        g_assert_cmpint(mig_json_int(info, "sample-pages", -1), ==, 512);
    }
    g_test_message("%s: %" PRId64 " MB/s", mode, rate);
    json_object_unref(info);
    return rate;
}

static void test_rate_busy(gconstpointer data)
{
    const char *mode = data;
    size_t pos = 0;
    QTestState *qts = start_rate_guest("rate", false, &pos);
    int64_t vcpu0 = -1, rate;

    /* the guest dirties 100 MiB/s over 64 MiB: 64..100 MB/s by mode */
    rate = measure(qts, mode, 1000, &vcpu0);
    g_assert_cmpint(rate, >, 10);
    g_assert_cmpint(rate, <, 1000);
    if (!strcmp(mode, "dirty-ring")) {
        g_assert_cmpint(vcpu0, ==, rate);
    }
    qtest_quit(qts);
}

static void test_rate_idle(gconstpointer data)
{
    const char *mode = data;
    size_t pos = 0;
    QTestState *qts = start_rate_guest("rate", true, &pos);

    /* nothing runs: about zero (a stray device write at most) */
    g_assert_cmpint(measure(qts, mode, 500, NULL), <=, 1);
    qtest_quit(qts);
}

/* The rate guest's a-b invariant over its own range (stopped guest). */
static void check_rate_ram(QTestState *who)
{
    const uint64_t chunk = 4ULL << 20;
    g_autofree uint8_t *buf = g_malloc(chunk);
    unsigned edges = 0, bad = 0;
    bool first = true;
    uint8_t prev = 0;

    for (uint64_t addr = RATE_START; addr < RATE_END; addr += chunk) {
        qtest_bufread(who, addr, buf, chunk);
        for (uint64_t off = 0; off < chunk; off += MIG_PAGE_SIZE) {
            uint8_t b = buf[off];

            if (!first && b != prev) {
                if (b == (uint8_t)(prev - 1) && !edges) {
                    edges++;
                } else if (++bad <= 10) {
                    g_test_message("rate RAM mismatch at 0x%" PRIx64
                                   ": 0x%02x after 0x%02x", addr + off, b,
                                   prev);
                }
            }
            first = false;
            prev = b;
        }
    }
    if (bad) {
        g_error("%u page(s) break the rate guest's invariant", bad);
    }
}

static void test_rate_during_migration(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-dirty-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", dir);
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);
    static const char *const modes[] = {
        "dirty-bitmap", "dirty-ring", "page-sampling",
    };
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to;

    g_assert_no_error(gerr);
    from = qtest_initf("-M virt -m 150M -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m 150M -bios none -kernel %s -incoming %s",
                     image, uri);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);
    wait_for_migration_pass(from, 2);
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        /* a-b rewrites 99 MiB continuously: clearly non-zero */
        g_autofree char *st = NULL;

        g_assert_cmpint(measure(from, modes[i], 500, NULL), >, 10);
        st = migrate_query_status(from);
        g_assert_cmpstr(st, ==, "active");
    }
    /* and while one measures, the migration syncs and finishes */
    qtest_qmp_assert_success(from, "{\"execute\": \"calc-dirty-rate\", "
                             "\"arguments\": {\"calc-time\": 2, "
                             "\"mode\": \"dirty-bitmap\"}}");
    migrate_ensure_converge(from);
    wait_for_migration_complete(from);
    wait_for_migration_complete(to);
    qtest_qmp_eventwait(to, "RESUME");
    wait_for_serial(to, &dst_pos, "B");
    qtest_qmp_assert_success(to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(to, "STOP");
    check_guests_ram(to);
    json_object_unref(wait_dirty_rate(from));
    qtest_quit(to);
    qtest_quit(from);
    unlink(sock);
    rmdir(dir);
}

static void assert_error(QTestState *qts, const char *cmd, const char *want)
{
    g_autofree char *desc = mig_take_error(qtest_qmp(qts, "%s", cmd));

    if (!strstr(desc, want)) {
        g_error("%s: error \"%s\" lacks \"%s\"", cmd, desc, want);
    }
}

static void test_rate_refusals(void)
{
    size_t pos = 0;
    QTestState *qts = start_rate_guest("rate", true, &pos);
    JsonObject *rsp, *ret;

    rsp = qtest_qmp(qts, "{\"execute\": \"query-dirty-rate\"}");
    ret = json_object_get_object_member(rsp, "return");
    g_assert_cmpstr(json_object_get_string_member(ret, "status"), ==,
                    "unstarted");
    g_assert_false(json_object_has_member(ret, "dirty-rate"));
    json_object_unref(rsp);

    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 0}}", "Calculation time is out of range");
    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 61}}", "Calculation time is out of range");
    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 10, \"calc-time-unit\": \"millisecond\"}}",
                 "Calculation time is out of range");
    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 1, \"sample-pages\": 512, "
                 "\"mode\": \"dirty-ring\"}}",
                 "sample-pages is used only in page-sampling mode");
    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 1, \"sample-pages\": 127}}",
                 "sample-pages is out of range");
    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 1, \"sample-pages\": 4097}}",
                 "sample-pages is out of range");
    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 1, \"mode\": \"dirty-dust\"}}",
                 "does not accept value");
    /* one at a time */
    qtest_qmp_assert_success(qts, "{\"execute\": \"calc-dirty-rate\", "
                             "\"arguments\": {\"calc-time\": 3}}");
    assert_error(qts, "{\"execute\": \"calc-dirty-rate\", \"arguments\": "
                 "{\"calc-time\": 1, \"mode\": \"dirty-bitmap\"}}",
                 "the dirty rate is already being measured");
    json_object_unref(wait_dirty_rate(qts));
    /* and again once measured */
    g_assert_cmpint(measure(qts, "dirty-bitmap", 100, NULL), ==, 0);
    qtest_quit(qts);
}

static char *hmp_wait_measured(QTestState *qts)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_US;

    for (;;) {
        char *out = qtest_hmp(qts, "info dirty_rate");

        if (strstr(out, "Status: measured")) {
            return out;
        }
        g_free(out);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(50 * 1000);
    }
}

static void test_rate_hmp(void)
{
    size_t pos = 0;
    QTestState *qts = start_rate_guest("rate", false, &pos);
    g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL;
    g_autofree char *o5 = NULL;

    o1 = qtest_hmp(qts, "calc_dirty_rate -r -b 1");
    g_assert_nonnull(strstr(o1, "Either dirty ring or dirty bitmap"));
    o2 = qtest_hmp(qts, "calc_dirty_rate -r 1");
    g_assert_nonnull(strstr(o2, "Starting dirty rate measurement with calc "
                            "time 1 seconds"));
    o3 = hmp_wait_measured(qts);
    g_assert_nonnull(strstr(o3, "Mode: dirty-ring"));
    g_assert_nonnull(strstr(o3, "vcpu[0], Dirty rate: "));
    g_assert_null(strstr(o3, "(not ready)"));
    o4 = qtest_hmp(qts, "calc_dirty_rate 1 256");
    g_test_message("calc_dirty_rate 1 256: %s", o4);
    o5 = hmp_wait_measured(qts);
    g_assert_nonnull(strstr(o5, "Mode: page-sampling"));
    g_assert_nonnull(strstr(o5, "Sample Pages: 256 (per GB)"));
    g_assert_nonnull(strstr(o5, "Period: 1 (sec)"));
    qtest_quit(qts);
}

/* ------------------------------------------------------------ dirty-limit */

static JsonArray *query_limits(QTestState *qts, JsonObject **rsp)
{
    *rsp = qtest_qmp(qts, "{\"execute\": \"query-vcpu-dirty-limit\"}");
    return json_object_get_array_member(*rsp, "return");
}

static void test_limit_vcpu(void)
{
    size_t pos = 0;
    QTestState *qts = start_rate_guest("rate", false, &pos);
    JsonObject *rsp, *e;
    JsonArray *arr;
    int64_t before, limited, after, cur;
    g_autofree char *h1 = NULL, *h2 = NULL, *h3 = NULL, *h4 = NULL;
    gint64 deadline;

    arr = query_limits(qts, &rsp);
    g_assert_cmpuint(json_array_get_length(arr), ==, 0);
    json_object_unref(rsp);

    before = measure(qts, "dirty-ring", 1000, NULL);
    g_assert_cmpint(before, >, 40);

    qtest_qmp_assert_success(qts, "{\"execute\": \"set-vcpu-dirty-limit\", "
                             "\"arguments\": {\"cpu-index\": 0, "
                             "\"dirty-rate\": 8}}");
    arr = query_limits(qts, &rsp);
    g_assert_cmpuint(json_array_get_length(arr), ==, 1);
    e = json_array_get_object_element(arr, 0);
    g_assert_cmpint(mig_json_int(e, "cpu-index", -1), ==, 0);
    g_assert_cmpint(mig_json_int(e, "limit-rate", -1), ==, 8);
    json_object_unref(rsp);

    limited = measure(qts, "dirty-ring", 2000, NULL);
    /* at or under the limit (one quota of slack), far below before */
    g_assert_cmpint(limited, <=, 8 + 1);
    g_assert_cmpint(limited, >, 0);
    g_assert_cmpint(limited * 4, <, before);
    /* the limiter's own measure, once a period went by */
    deadline = g_get_monotonic_time() + WAIT_US;
    do {
        g_usleep(200 * 1000);
        arr = query_limits(qts, &rsp);
        cur = mig_json_int(json_array_get_object_element(arr, 0),
                           "current-rate", -1);
        json_object_unref(rsp);
    } while (cur == 0 && g_get_monotonic_time() < deadline);
    g_assert_cmpint(cur, >, 0);
    g_assert_cmpint(cur, <=, 8 + 1);
    h1 = qtest_hmp(qts, "info vcpu_dirty_limit");
    g_assert_nonnull(strstr(h1, "vcpu[0], limit rate 8 (MB/s), current rate"));

    qtest_qmp_assert_success(qts, "{\"execute\": \"cancel-vcpu-dirty-limit\", "
                             "\"arguments\": {\"cpu-index\": 0}}");
    arr = query_limits(qts, &rsp);
    g_assert_cmpuint(json_array_get_length(arr), ==, 0);
    json_object_unref(rsp);
    after = measure(qts, "dirty-ring", 1000, NULL);
    g_assert_cmpint(after, >, limited * 4);

    /* HMP: all vCPUs, then cancel */
    h2 = qtest_hmp(qts, "set_vcpu_dirty_limit 4");
    g_assert_nonnull(strstr(h2, "[Please use 'info vcpu_dirty_limit'"));
    limited = measure(qts, "dirty-ring", 1000, NULL);
    g_assert_cmpint(limited, <=, 4 + 1);
    h3 = qtest_hmp(qts, "cancel_vcpu_dirty_limit");
    g_assert_nonnull(strstr(h3, "[Please use 'info vcpu_dirty_limit'"));
    h4 = qtest_hmp(qts, "info vcpu_dirty_limit");
    g_assert_nonnull(strstr(h4, "Dirty page limit not enabled!"));
    /* the guest still runs its schedule */
    wait_for_serial(qts, &pos, "B");
    qtest_quit(qts);
}

/*
 * The premise of converge: without dirty-limit the same setup does not
 * converge (still active after three more dirty syncs), and no limit is
 * ever set.
 */
static void test_limit_needed(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-dirty-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image("rate");
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", dir);
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);
    g_autofree char *st = NULL;
    size_t src_pos = 0;
    QTestState *from, *to;
    JsonObject *rsp, *info;
    JsonArray *arr;

    g_assert_no_error(gerr);
    from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m " MEM " -bios none -kernel %s -incoming %s",
                     image, uri);
    migrate_set_parameter_int(from, "max-bandwidth", 20 * 1000 * 1000);
    migrate_set_parameter_int(from, "downtime-limit", 300);
    migrate_qmp(from, uri);
    wait_for_migration_pass(from, 4);
    st = migrate_query_status(from);
    g_assert_cmpstr(st, ==, "active");
    info = migrate_query(from);
    g_assert_false(json_object_has_member(info,
                                          "dirty-limit-throttle-time-per-round"));
    json_object_unref(info);
    arr = query_limits(from, &rsp);
    g_assert_cmpuint(json_array_get_length(arr), ==, 0);
    json_object_unref(rsp);
    migrate_cancel_qmp(from);
    wait_for_migration_status(from, "cancelled", NULL);
    mig_assert_source_alive(from, &src_pos);
    qtest_kill(to);
    qtest_quit(from);
    unlink(sock);
    rmdir(dir);
}

static void test_limit_converge(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-dirty-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image("rate");
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", dir);
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to;
    JsonObject *rsp;
    JsonArray *arr;
    bool saw_figures = false;
    gint64 deadline = g_get_monotonic_time() + WAIT_US;

    g_assert_no_error(gerr);
    from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m " MEM " -bios none -kernel %s -incoming %s",
                     image, uri);
    /*
     * 20 MB/s with 300 ms of downtime allows 6 MB at the switchover; the
     * guest dirties 64 MiB every 0.64 s: no convergence without help.
     */
    migrate_set_parameter_int(from, "max-bandwidth", 20 * 1000 * 1000);
    migrate_set_parameter_int(from, "downtime-limit", 300);
    migrate_set_capability(from, "dirty-limit", true);
    migrate_set_parameter_int(from, "vcpu-dirty-limit", 1);
    migrate_set_parameter_int(from, "x-vcpu-dirty-limit-period", 200);
    migrate_qmp(from, uri);

    for (;;) {
        g_autofree char *st = migrate_query_status(from);
        JsonObject *info;

        if (!strcmp(st, "completed")) {
            break;
        }
        if (strcmp(st, "setup") && strcmp(st, "active") &&
            strcmp(st, "device")) {
            g_error("migration '%s' while waiting for 'completed'", st);
        }
        info = migrate_query(from);
        if (json_object_has_member(info,
                                   "dirty-limit-throttle-time-per-round")) {
            g_assert_true(json_object_has_member(info,
                                                 "dirty-limit-ring-full-time"));
            if (!saw_figures) {
                JsonObject *r = qtest_qmp(from, "{\"execute\": "
                                          "\"cancel-vcpu-dirty-limit\"}");
                g_autofree char *hmp = qtest_hmp(from, "info migrate");
                g_autofree char *now = migrate_query_status(from);

                if (json_object_has_member(r, "error")) {
                    g_autofree char *desc = mig_take_error(r);

                    g_assert_nonnull(strstr(desc, "can't cancel dirty page "
                                            "rate limit while migration is "
                                            "running"));
                } else {
                    /* refused while running: it had just completed */
                    json_object_unref(r);
                    g_assert_cmpstr(now, ==, "completed");
                }
                /* completed in between: the lines are for active only */
                if (!strstr(hmp, "Migration status: completed")) {
                    g_assert_nonnull(strstr(hmp, "dirty-limit throttle time: "));
                    g_assert_nonnull(strstr(hmp,
                                            "dirty-limit ring full time: "));
                }
            }
            saw_figures = true;
        }
        json_object_unref(info);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(100 * 1000);
    }
    g_assert_true(saw_figures);
    wait_for_migration_complete(to);
    qtest_qmp_eventwait(to, "RESUME");
    wait_for_serial(to, &dst_pos, "B");
    qtest_qmp_assert_success(to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(to, "STOP");
    check_rate_ram(to);
    /* the limits ended with the migration */
    arr = query_limits(from, &rsp);
    g_assert_cmpuint(json_array_get_length(arr), ==, 0);
    json_object_unref(rsp);
    qtest_quit(to);
    qtest_quit(from);
    unlink(sock);
    rmdir(dir);
}

static void test_limit_refusals(void)
{
    size_t pos = 0;
    QTestState *qts = start_rate_guest("rate", true, &pos);

    assert_error(qts, "{\"execute\": \"migrate-set-capabilities\", "
                 "\"arguments\": {\"capabilities\": ["
                 "{\"capability\": \"dirty-limit\", \"state\": true}, "
                 "{\"capability\": \"auto-converge\", \"state\": true}]}}",
                 "dirty-limit conflicts with auto-converge");
    migrate_set_capability(qts, "dirty-limit", true);
    g_assert_true(migrate_get_capability(qts, "dirty-limit"));
    assert_error(qts, "{\"execute\": \"migrate-set-capabilities\", "
                 "\"arguments\": {\"capabilities\": ["
                 "{\"capability\": \"auto-converge\", \"state\": true}]}}",
                 "dirty-limit conflicts with auto-converge");
    assert_error(qts, "{\"execute\": \"set-vcpu-dirty-limit\", \"arguments\": "
                 "{\"cpu-index\": 1, \"dirty-rate\": 10}}",
                 "incorrect cpu index specified");
    assert_error(qts, "{\"execute\": \"set-vcpu-dirty-limit\", \"arguments\": "
                 "{\"cpu-index\": -1, \"dirty-rate\": 10}}",
                 "incorrect cpu index specified");
    assert_error(qts, "{\"execute\": \"cancel-vcpu-dirty-limit\", "
                 "\"arguments\": {\"cpu-index\": 7}}",
                 "incorrect cpu index specified");
    g_assert_cmpint(migrate_get_parameter_int(qts,
                                              "x-vcpu-dirty-limit-period"),
                    ==, 1000);
    g_assert_cmpint(migrate_get_parameter_int(qts, "vcpu-dirty-limit"), ==,
                    1);
    assert_error(qts, "{\"execute\": \"migrate-set-parameters\", "
                 "\"arguments\": {\"x-vcpu-dirty-limit-period\": 0}}",
                 "a value between 1 and 1000");
    assert_error(qts, "{\"execute\": \"migrate-set-parameters\", "
                 "\"arguments\": {\"x-vcpu-dirty-limit-period\": 1001}}",
                 "a value between 1 and 1000");
    assert_error(qts, "{\"execute\": \"migrate-set-parameters\", "
                 "\"arguments\": {\"vcpu-dirty-limit\": 0}}",
                 "vcpu_dirty_limit");
    migrate_set_parameter_int(qts, "x-vcpu-dirty-limit-period", 1000);
    qtest_quit(qts);
}

static const char *const modes[] = {
    "page-sampling", "dirty-bitmap", "dirty-ring",
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autofree char *busy = g_strdup_printf("/migration/dirty-rate/%s/busy",
                                                modes[i]);
        g_autofree char *idle = g_strdup_printf("/migration/dirty-rate/%s/idle",
                                                modes[i]);

        g_test_add_data_func(busy, modes[i], test_rate_busy);
        g_test_add_data_func(idle, modes[i], test_rate_idle);
    }
    g_test_add_func("/migration/dirty-rate/during-migration",
                    test_rate_during_migration);
    g_test_add_func("/migration/dirty-rate/refusals", test_rate_refusals);
    g_test_add_func("/migration/dirty-rate/hmp", test_rate_hmp);
    g_test_add_func("/migration/dirty-limit/vcpu", test_limit_vcpu);
    g_test_add_func("/migration/dirty-limit/needed", test_limit_needed);
    g_test_add_func("/migration/dirty-limit/converge", test_limit_converge);
    g_test_add_func("/migration/dirty-limit/refusals", test_limit_refusals);
    return g_test_run();
}
