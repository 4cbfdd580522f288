/*
 * The x-progress / x-eta-ms calculations
 * (migration/migration-progress.c) driven with synthetic sequences.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "migration/migration-progress.h"

#define MB (1000ULL * 1000)

/* One 100 ms window: @bw_mbs MB/s sent, the dirty rate @dr_mbs MB/s. */
static void window(MigProgress *p, uint64_t *sent, uint64_t remaining,
                   uint64_t syncs, double bw_mbs, double dr_mbs)
{
    uint64_t bytes = (uint64_t)(bw_mbs * MB / 10);
    MigProgressSample s = {
        .sent = *sent + bytes,
        .remaining = remaining,
        .sync_count = syncs,
        .dirty_rate = (uint64_t)(dr_mbs * MB),
        .window_bytes = bytes,
        .window_ms = 100,
        .downtime_limit = 300,
    };

    *sent += bytes;
    mig_progress_update(p, &s);
}

static void test_first_pass_half(void)
{
    MigProgress p;
    MigProgressReport r;
    uint64_t sent = 0, total = 100 * MB, rem = total;
    double last = 0;

    mig_progress_init(&p);
    mig_progress_report(&p, &r);
    g_assert_cmpfloat(r.progress, ==, 0);
    g_assert_cmpint(r.basis, ==, MIG_ETA_NO_ESTIMATE_YET);
    g_assert_false(r.has_eta);

    /* 10 MB/s, setup sync only: the first pass is worth at most 50 % */
    while (rem) {
        rem -= MIN(rem, 1 * MB);
        window(&p, &sent, rem, 1, 10, 0);
        mig_progress_report(&p, &r);
        g_assert_cmpfloat(r.progress, >=, last);
        g_assert_cmpfloat(r.progress, <=, MIG_PROGRESS_FIRST_PASS_MAX);
        g_assert_false(r.has_eta);
        g_assert_cmpint(r.basis, ==, MIG_ETA_NO_ESTIMATE_YET);
        last = r.progress;
    }
    g_assert_cmpfloat(last, >, 49.0);
}

/*
 * Saw-tooth: every pass sends the dirty set down to 0, the sync brings back
 * 60 % of it (dirty rate 6 of 10 MB/s).  x-progress never decreases, stays
 * below 100 until completion, then is 100.
 */
static void test_sawtooth_monotonic(void)
{
    MigProgress p;
    MigProgressReport r;
    uint64_t sent = 0, syncs = 1, rem = 100 * MB, dirty = rem;
    double last = 0;
    int drops = 0;

    mig_progress_init(&p);
    for (int pass = 0; pass < 12; pass++) {
        double prev_raw = 1e9;

        while (rem) {
            rem -= MIN(rem, 1 * MB);
            window(&p, &sent, rem, syncs, 10, pass ? 6 : 0);
            mig_progress_report(&p, &r);
            g_assert_cmpfloat(r.progress, >=, last);
            g_assert_cmpfloat(r.progress, <, 100.0);
            last = r.progress;
            prev_raw = mig_progress_raw(&p);
        }
        /* the sync: remaining jumps back up */
        dirty = dirty * 6 / 10;
        rem = dirty;
        syncs++;
        window(&p, &sent, rem, syncs, 10, 6);
        if (mig_progress_raw(&p) < prev_raw) {
            drops++;            /* the raw figure did run backwards ... */
        }
        mig_progress_report(&p, &r);
        g_assert_cmpfloat(r.progress, >=, last);   /* ... x-progress not */
        last = r.progress;
        g_assert_cmpint(r.basis, ==, MIG_ETA_BANDWIDTH_MINUS_DIRTY_RATE);
        g_assert_true(r.has_eta);
    }
    g_assert_cmpint(drops, >, 0);
    g_assert_cmpfloat(last, <=, MIG_PROGRESS_CAP);
    g_assert_cmpfloat(last, >, 90.0);

    mig_progress_complete(&p);
    mig_progress_report(&p, &r);
    g_assert_cmpfloat(r.progress, ==, 100.0);
    g_assert_cmpint(r.basis, ==, MIG_ETA_COMPLETED);
    g_assert_true(r.has_eta);
    g_assert_cmpuint(r.eta_ms, ==, 0);
    /* later samples change nothing */
    window(&p, &sent, 50 * MB, syncs + 1, 1, 100);
    mig_progress_report(&p, &r);
    g_assert_cmpfloat(r.progress, ==, 100.0);
}

/* bandwidth < dirty rate: not-converging, no ETA, frozen. */
static void test_not_converging(void)
{
    MigProgress p;
    MigProgressReport r;
    uint64_t sent = 0;
    double frozen;

    mig_progress_init(&p);
    window(&p, &sent, 100 * MB, 1, 10, 0);
    window(&p, &sent, 80 * MB, 2, 10, 30);
    mig_progress_report(&p, &r);
    frozen = r.progress;
    for (int i = 0; i < 50; i++) {
        window(&p, &sent, (80 - i) * MB, 2 + i / 10, 10, 30);
        mig_progress_report(&p, &r);
        g_assert_false(r.has_eta);
        g_assert_cmpint(r.basis, ==, MIG_ETA_NOT_CONVERGING);
        g_assert_cmpfloat(r.progress, ==, frozen);
    }
    /* 1 MB/s against a 1.05 MB/s dirty rate: still no ETA */
    mig_progress_init(&p);
    sent = 0;
    window(&p, &sent, 100 * MB, 1, 1, 0);
    window(&p, &sent, 100 * MB, 2, 1, 1.05);
    mig_progress_report(&p, &r);
    g_assert_false(r.has_eta);
    g_assert_cmpint(r.basis, ==, MIG_ETA_NOT_CONVERGING);
}

/* ETA = (remaining - T) / (bw - dr) + downtime-limit, T = bw * limit. */
static void test_eta_formula(void)
{
    MigProgress p;
    MigProgressReport r;
    uint64_t sent = 0;

    mig_progress_init(&p);
    window(&p, &sent, 100 * MB, 1, 10, 0);
    /* bw 10 MB/s = 10000 B/ms, dr 5000 B/ms, T = 3 MB, remaining 53 MB */
    window(&p, &sent, 53 * MB, 2, 10, 5);
    mig_progress_report(&p, &r);
    g_assert_true(r.has_eta);
    g_assert_cmpint(r.basis, ==, MIG_ETA_BANDWIDTH_MINUS_DIRTY_RATE);
    g_assert_cmpuint(r.eta_ms, ==, 50 * MB / 5000 + 300);
    /* below the threshold: remaining / bw */
    window(&p, &sent, 2 * MB, 3, 10, 5);
    mig_progress_report(&p, &r);
    g_assert_cmpuint(r.eta_ms, ==, 200);
}

/* An idle guest (dirty rate 0 after the second sync). */
static void test_idle_guest(void)
{
    MigProgress p;
    MigProgressReport r;
    uint64_t sent = 0;

    mig_progress_init(&p);
    window(&p, &sent, 100 * MB, 1, 100, 0);
    window(&p, &sent, 0, 2, 100, 0);
    mig_progress_report(&p, &r);
    g_assert_cmpfloat(r.progress, ==, MIG_PROGRESS_CAP);
    g_assert_cmpuint(r.eta_ms, ==, 0);
    g_assert_cmpstr(mig_eta_basis_str(r.basis), ==,
                    "bandwidth-minus-dirty-rate");
}

/* The query-migrate members of the global instance. */
static void test_fill_info(void)
{
    JsonObject *o = json_object_new();
    MigProgressSample s = {
        .sent = 10 * MB, .remaining = 90 * MB, .sync_count = 1,
        .window_bytes = MB, .window_ms = 100, .downtime_limit = 300,
    };

    migration_progress_reset();
    migration_progress_fill_info(o, "none");
    g_assert_cmpuint(json_object_get_size(o), ==, 0);
    migration_progress_sample(&s);
    migration_progress_fill_info(o, "active");
    g_assert_cmpfloat(json_object_get_double_member(o, "x-progress"), ==, 5.0);
    g_assert_cmpstr(json_object_get_string_member(o, "x-eta-basis"), ==,
                    "no-estimate-yet");
    g_assert_false(json_object_has_member(o, "x-eta-ms"));
    g_assert_false(json_object_has_member(o, "x-convergence"));
    json_object_unref(o);

    o = json_object_new();
    migration_progress_fill_info(o, "completed");
    g_assert_cmpfloat(json_object_get_double_member(o, "x-progress"), ==,
                      100.0);
    g_assert_cmpint(json_object_get_int_member(o, "x-eta-ms"), ==, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "x-eta-basis"), ==,
                    "completed");
    json_object_unref(o);

    o = json_object_new();
    migration_progress_fill_info(o, "failed");
    g_assert_cmpfloat(json_object_get_double_member(o, "x-progress"), ==, 5.0);
    g_assert_cmpuint(json_object_get_size(o), ==, 1);
    json_object_unref(o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/progress/first-pass", test_first_pass_half);
    g_test_add_func("/migration/progress/sawtooth", test_sawtooth_monotonic);
    g_test_add_func("/migration/progress/not-converging",
                    test_not_converging);
    g_test_add_func("/migration/progress/eta", test_eta_formula);
    g_test_add_func("/migration/progress/idle", test_idle_guest);
    g_test_add_func("/migration/progress/fill-info", test_fill_info);
    return g_test_run();
}
