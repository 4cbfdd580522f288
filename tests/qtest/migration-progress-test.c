/*
 * query-migrate's x-progress, x-eta-ms, x-eta-basis and the presence of
 * x-convergence (its verdicts are tested by migration-converge-test.c) on
 * a live migration of the a-b guest, polled every 100 ms, and their lines
 * in HMP "info migrate".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include "libqtest.h"
#include "migration-helpers.h"

#define PG_MEM  "150M"

typedef struct Run {
    char *dir;
    char *image;
    char *uri;
    QTestState *from, *to;
    size_t src_pos, dst_pos;
    double last_progress;
    unsigned polls;
} Run;

static void run_start(Run *r)
{
    g_autoptr(GError) err = NULL;
    JsonObject *info;

    memset(r, 0, sizeof(*r));
    r->dir = g_dir_make_tmp("godwit-progress-XXXXXX", &err);
    g_assert_no_error(err);
    r->image = qtest_guest_image("a-b");
    r->uri = g_strdup_printf("unix:%s/mig.sock", r->dir);
    r->from = qtest_initf("-M virt -m %s -bios none -kernel %s", PG_MEM,
                          r->image);
    r->to = qtest_initf("-M virt -m %s -bios none -kernel %s -incoming %s",
                        PG_MEM, r->image, r->uri);
    wait_for_serial(r->from, &r->src_pos, "AB");
    /* nothing migrated yet: no x- member */
    info = migrate_query(r->from);
    g_assert_false(json_object_has_member(info, "x-progress"));
    json_object_unref(info);
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
    g_free(r->image);
    g_free(r->uri);
}

static const char *opt_str(JsonObject *o, const char *name)
{
    return json_object_has_member(o, name) ?
           json_object_get_string_member(o, name) : NULL;
}

/*
 * One poll: status, and the invariants of the x- members.  Returns the
 * query-migrate object (json_object_unref).
 */
static JsonObject *poll_once(Run *r, char **status)
{
    JsonObject *info = migrate_query(r->from);
    const char *st = json_object_get_string_member(info, "status");
    const char *basis = opt_str(info, "x-eta-basis");
    double p;

    *status = g_strdup(st);
    r->polls++;
    g_assert_true(json_object_has_member(info, "x-progress"));
    p = json_object_get_double_member(info, "x-progress");
    g_assert_cmpfloat(p, >=, r->last_progress);         /* never backwards */
    g_assert_cmpfloat(p, <=, 100.0);
    if (!strcmp(st, "completed")) {
        g_assert_cmpfloat(p, ==, 100.0);
        g_assert_cmpstr(basis, ==, "completed");
        g_assert_cmpint(json_object_get_int_member(info, "x-eta-ms"), ==, 0);
    } else {
        g_assert_cmpfloat(p, <, 100.0);
    }
    if (basis && !strcmp(basis, "bandwidth-minus-dirty-rate")) {
        g_assert_true(json_object_has_member(info, "x-eta-ms"));
    } else if (basis && strcmp(basis, "completed")) {
        g_assert_false(json_object_has_member(info, "x-eta-ms"));
    }
    r->last_progress = p;
    return info;
}

/* x-convergence's verdict, or NULL when the member is absent. */
static const char *conv_verdict(JsonObject *info)
{
    JsonObject *c;

    if (!json_object_has_member(info, "x-convergence")) {
        return NULL;
    }
    c = json_object_get_object_member(info, "x-convergence");
    return json_object_get_string_member(c, "verdict");
}

static bool conv_has_downtime(JsonObject *info)
{
    return json_object_has_member(info, "x-convergence") &&
           json_object_has_member(json_object_get_object_member(
                                      info, "x-convergence"),
                                  "expected-downtime");
}

static int64_t sync_count(JsonObject *info)
{
    JsonObject *ram;

    if (!json_object_has_member(info, "ram")) {
        return 0;
    }
    ram = json_object_get_object_member(info, "ram");
    return json_object_get_int_member_with_default(ram, "dirty-sync-count", 0);
}

/* x-progress over a whole live migration, polled every 100 ms. */
static void test_monotonic(void)
{
    g_autofree char *verdict = NULL;
    JsonObject *info;
    bool converge_set = false;
    Run r;

    run_start(&r);
    migrate_ensure_non_converge(r.from);
    migrate_qmp(r.from, r.uri);
    for (int i = 0; i < 1200; i++) {
        g_autofree char *st = NULL;

        info = poll_once(&r, &st);
        if (!verdict && conv_has_downtime(info)) {
            verdict = g_strdup(conv_verdict(info));
            g_test_message("after %u polls: x-progress %.1f, x-convergence "
                           "%s, x-eta-basis %s", r.polls, r.last_progress,
                           verdict, opt_str(info, "x-eta-basis"));
        }
        /* two passes at the non-converging settings, then let it finish */
        if (!converge_set && sync_count(info) >= 3) {
            g_assert_nonnull(verdict);
            migrate_ensure_converge(r.from);
            converge_set = true;
        }
        json_object_unref(info);
        if (!strcmp(st, "completed")) {
            break;
        }
        g_assert_cmpstr(st, !=, "failed");
        g_usleep(100 * 1000);
    }
    g_assert_cmpfloat(r.last_progress, ==, 100.0);
    g_test_message("%u polls, completed", r.polls);
    /* the destination's query-migrate has no x- member */
    info = migrate_query(r.to);
    g_assert_false(json_object_has_member(info, "x-progress"));
    json_object_unref(info);
    wait_for_serial(r.to, &r.dst_pos, "B");
    run_end(&r);
}

/* 1 MB/s against the a-b guest: diverging or stalled, and no ETA. */
static void test_diverging(void)
{
    g_autofree char *hmp = NULL;
    const char *conv = NULL;
    JsonObject *info = NULL;
    bool slowed = false;
    Run r;

    run_start(&r);
    migrate_ensure_non_converge(r.from);
    migrate_qmp(r.from, r.uri);
    for (int i = 0; i < 600; i++) {
        g_autofree char *st = NULL;

        if (info) {
            json_object_unref(info);
        }
        info = poll_once(&r, &st);
        g_assert_true(!strcmp(st, "setup") || !strcmp(st, "active"));
        /* the dirty rate is known after the second sync; then slow down */
        if (!slowed && sync_count(info) >= 2) {
            migrate_set_parameter_int(r.from, "max-bandwidth", 1000 * 1000);
            slowed = true;
            i = 0;
        }
        conv = conv_verdict(info);
        /* the ETA notices at once; the verdict waits for the next sync */
        if (slowed && i >= 20 && !strcmp(opt_str(info, "x-eta-basis"),
                                         "not-converging")) {
            break;
        }
        g_usleep(100 * 1000);
    }
    g_test_message("x-convergence %s, x-eta-basis %s", conv,
                   opt_str(info, "x-eta-basis"));
    g_assert_true(slowed);
    /* never converging by the sync minima of the non-converge settings */
    g_assert_nonnull(conv);
    g_assert_cmpstr(conv, !=, "converging");
    g_assert_false(json_object_has_member(info, "x-eta-ms"));
    g_assert_cmpstr(opt_str(info, "x-eta-basis"), ==, "not-converging");
    g_assert_true(conv_has_downtime(info));
    json_object_unref(info);

    /* HMP: QEMU's lines first, then the x- lines */
    hmp = qtest_hmp(r.from, "info migrate");
    g_test_message("info migrate:\n%s", hmp);
    g_assert_nonnull(strstr(hmp, "x-progress: "));
    g_assert_nonnull(strstr(hmp, " %"));
    g_assert_nonnull(strstr(hmp, "x-eta-basis: not-converging"));
    g_assert_nonnull(strstr(hmp, "x-convergence: "));
    g_assert_null(strstr(hmp, "x-eta: "));
    g_assert_true(strstr(hmp, "Migration status: active") <
                  strstr(hmp, "x-progress: "));
    g_assert_true(strstr(hmp, "dirty sync count: ") <
                  strstr(hmp, "x-progress: "));

    /* cancelled: x-progress stays where it was, nothing else */
    migrate_cancel_qmp(r.from);
    wait_for_migration_status(r.from, "cancelled",
                              (const char *const[]){ "failed", "completed",
                                                     NULL });
    info = migrate_query(r.from);
    g_assert_cmpfloat(json_object_get_double_member(info, "x-progress"), ==,
                      r.last_progress);
    g_assert_false(json_object_has_member(info, "x-eta-basis"));
    json_object_unref(info);
    mig_assert_source_alive(r.from, &r.src_pos);
    migrate_wait_dest_exit(r.to, 1);    /* its load failed: it exits */
    r.to = NULL;
    run_end(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/progress/monotonic", test_monotonic);
    g_test_add_func("/migration/progress/diverging", test_diverging);
    return g_test_run();
}
