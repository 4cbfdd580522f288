/*
 * The convergence verdict, its advice (migration/migration-convergence.c)
 * and the auto-converge throttle steps (migration/ram-throttle.c), driven
 * with synthetic passes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "migration/migration-convergence.h"
#include "migration/ram-throttle.h"

#define MB (1000ULL * 1000)

static const MigConvEnv env_default = {
    .downtime_limit = 300, .throttle_pct = 0, .max_throttle = 99,
    .postcopy_ram = false,
};

/* @n windows of 100 ms at @mbs MB/s, ending at *@now (advanced). */
static void windows(MigConv *c, int n, double mbs, int64_t *now)
{
    for (int i = 0; i < n; i++) {
        *now += 100;
        mig_conv_window(c, (uint64_t)(mbs * MB / 10), 100, *now);
    }
}

/* 7.2's /migration/auto_converge settings, and QEMU's defaults. */
static void test_throttle_steps(void)
{
    ThrottleParams p = { .initial = 5, .increment = 50, .max = 95 };
    ThrottleParams d = { .initial = 20, .increment = 10, .max = 99 };
    unsigned pct = 0;

    pct = mig_throttle_next_pct(&p, pct, 2 * MB, MB);
    g_assert_cmpuint(pct, ==, 5);
    pct = mig_throttle_next_pct(&p, pct, 2 * MB, MB);
    g_assert_cmpuint(pct, ==, 55);
    pct = mig_throttle_next_pct(&p, pct, 2 * MB, MB);
    g_assert_cmpuint(pct, ==, 95);
    pct = mig_throttle_next_pct(&p, pct, 2 * MB, MB);
    g_assert_cmpuint(pct, ==, 95);

    pct = 0;
    for (unsigned want = 20; want <= 90; want += 10) {
        pct = mig_throttle_next_pct(&d, pct, 2 * MB, MB);
        g_assert_cmpuint(pct, ==, want);
    }
    pct = mig_throttle_next_pct(&d, pct, 2 * MB, MB);
    g_assert_cmpuint(pct, ==, 99);
}

/* tailslow: min(increment, cpu_now - cpu_now * threshold / dirty). */
static void test_throttle_tailslow(void)
{
    ThrottleParams p = { .initial = 20, .increment = 10, .tailslow = true,
                         .max = 99 };

    g_assert_cmpuint(mig_throttle_next_pct(&p, 0, 110, 100), ==, 20);
    /* cpu_now 50: ideal 25 (want 25) -> the increment, 10 */
    g_assert_cmpuint(mig_throttle_next_pct(&p, 50, 200, 100), ==, 60);
    /* cpu_now 50: ideal 45.45 (want 4.5) -> 4 */
    g_assert_cmpuint(mig_throttle_next_pct(&p, 50, 110, 100), ==, 54);
    /* dirty just over the threshold: no step at all */
    g_assert_cmpuint(mig_throttle_next_pct(&p, 50, 100, 100), ==, 50);
}

/* A working set rewritten every pass: the minima stay flat: diverging. */
static void test_diverging(void)
{
    MigConv c;
    MigConvReport r;
    int64_t now = 1000;

    mig_conv_init(&c);
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_UNKNOWN);
    g_assert_cmpint(r.advice, ==, MIG_ADVICE_NONE);
    g_assert_false(r.has_expected_downtime);

    windows(&c, 20, 32, &now);
    /* first live sync: dirty rate = bandwidth: no opinion yet */
    g_assert_false(mig_conv_pass(&c, 2, 64 * MB, 32 * MB, &env_default));
    g_assert_cmpint(c.raw, ==, MIG_VERDICT_UNKNOWN);
    windows(&c, 20, 32, &now);
    g_assert_false(mig_conv_pass(&c, 3, 64 * MB, 32 * MB, &env_default));
    g_assert_cmpint(c.raw, ==, MIG_VERDICT_DIVERGING);
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_UNKNOWN);   /* one pass */
    windows(&c, 20, 32, &now);
    g_assert_false(mig_conv_pass(&c, 4, 63 * MB, 32 * MB, &env_default));
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_DIVERGING);
    g_assert_cmpuint(r.bandwidth, ==, 32 * MB);
    g_assert_cmpuint(r.dirty_rate, ==, 32 * MB);
    g_assert_true(r.has_expected_downtime);
    g_assert_cmpuint(r.expected_downtime, ==, 1969);   /* rounded up */
    /* 1 - 0.5 * 32 / 32 = 50 %, within max-cpu-throttle */
    g_assert_cmpint(r.advice, ==, MIG_ADVICE_THROTTLE);
    g_assert_true(r.has_advice_throttle);
    g_assert_cmpuint(r.advice_throttle, ==, 50);
    g_assert_cmpuint(r.advice_bandwidth, ==, 64 * MB);
    g_assert_cmpstr(mig_advice_str(r.advice), ==, "throttle");
    g_assert_cmpstr(mig_verdict_str(r.verdict), ==, "diverging");
    /* the second published diverging pass: x-auto-postcopy's moment */
    windows(&c, 20, 32, &now);
    g_assert_true(mig_conv_pass(&c, 5, 64 * MB, 32 * MB, &env_default));
}

/* One noisy pass never flips the published verdict. */
static void test_no_flapping(void)
{
    MigConv c;
    MigConvReport r;
    int64_t now = 1000;
    uint64_t pass = 2;

    mig_conv_init(&c);
    windows(&c, 10, 10, &now);
    for (int i = 0; i < 3; i++) {
        mig_conv_pass(&c, pass++, 50 * MB, 10 * MB, &env_default);
    }
    g_assert_cmpint(c.verdict, ==, MIG_VERDICT_DIVERGING);
    /* one pass that shrank (40 < 0.95 * 50), then flat again */
    mig_conv_pass(&c, pass++, 40 * MB, 10 * MB, &env_default);
    g_assert_cmpint(c.raw, ==, MIG_VERDICT_CONVERGING);
    g_assert_cmpint(c.verdict, ==, MIG_VERDICT_DIVERGING);
    mig_conv_pass(&c, pass++, 40 * MB, 10 * MB, &env_default);
    g_assert_cmpint(c.verdict, ==, MIG_VERDICT_DIVERGING);
    g_assert_cmpuint(c.diverging_streak, ==, 3);
    /* two shrinking passes in a row: converging */
    mig_conv_pass(&c, pass++, 30 * MB, 10 * MB, &env_default);
    mig_conv_pass(&c, pass++, 20 * MB, 10 * MB, &env_default);
    g_assert_cmpint(c.verdict, ==, MIG_VERDICT_CONVERGING);
    g_assert_cmpuint(c.diverging_streak, ==, 0);
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.advice, ==, MIG_ADVICE_NONE);
    g_assert_false(r.has_advice_throttle);
}

/* What fits in the downtime converges, whatever the minima did. */
static void test_fits_downtime(void)
{
    MigConv c;
    int64_t now = 1000;

    mig_conv_init(&c);
    windows(&c, 10, 100, &now);         /* 100000 B/ms: 300 ms = 30 MB */
    mig_conv_pass(&c, 2, 25 * MB, 200 * MB, &env_default);
    g_assert_cmpint(c.raw, ==, MIG_VERDICT_CONVERGING);
    /* published at once: the switchover follows this check */
    g_assert_cmpint(c.verdict, ==, MIG_VERDICT_CONVERGING);
    mig_conv_pass(&c, 3, 29 * MB, 200 * MB, &env_default);
    g_assert_cmpint(c.verdict, ==, MIG_VERDICT_CONVERGING);
    /* first sync: a dirty rate well below the bandwidth converges too */
    mig_conv_init(&c);
    windows(&c, 10, 10, &now);
    mig_conv_pass(&c, 2, 90 * MB, 5 * MB, &env_default);
    g_assert_cmpint(c.raw, ==, MIG_VERDICT_CONVERGING);
    mig_conv_init(&c);
    windows(&c, 10, 10, &now);
    mig_conv_pass(&c, 2, 90 * MB, 20 * MB, &env_default);
    g_assert_cmpint(c.raw, ==, MIG_VERDICT_DIVERGING);
}

/* No byte for 3 s while active: stalled, whatever the passes said. */
static void test_stalled(void)
{
    MigConv c;
    MigConvReport r;
    int64_t now = 1000;

    mig_conv_init(&c);
    windows(&c, 10, 10, &now);
    mig_conv_pass(&c, 2, 5 * MB, 1 * MB, &env_default);
    mig_conv_pass(&c, 3, 4 * MB, 1 * MB, &env_default);
    for (int i = 0; i < 29; i++) {
        windows(&c, 1, 0, &now);
    }
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_CONVERGING);
    windows(&c, 1, 0, &now);
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_STALLED);
    g_assert_cmpint(r.advice, ==, MIG_ADVICE_MORE_BANDWIDTH);
    /* paused in pre-switchover: not stalled */
    mig_conv_report(&c, false, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_CONVERGING);
    /* bytes move again */
    windows(&c, 1, 10, &now);
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_CONVERGING);
}

/* Beyond max-cpu-throttle: postcopy when it is on, else more bandwidth. */
static void test_advice_order(void)
{
    MigConvEnv env = env_default;
    MigConvReport r;
    MigConv c;
    int64_t now = 1000;

    /* throttled at 60 %, still 40 MB/s dirty against 10 MB/s */
    env.throttle_pct = 60;
    env.max_throttle = 80;
    mig_conv_init(&c);
    windows(&c, 10, 10, &now);
    for (uint64_t pass = 2; pass < 5; pass++) {
        mig_conv_pass(&c, pass, 50 * MB, 40 * MB, &env);
    }
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.verdict, ==, MIG_VERDICT_DIVERGING);
    /* 100 * (1 - 0.4 * 0.5 * 10 / 40) = 95 */
    g_assert_true(r.has_advice_throttle);
    g_assert_cmpuint(r.advice_throttle, ==, 95);
    g_assert_cmpint(r.advice, ==, MIG_ADVICE_MORE_BANDWIDTH);
    g_assert_cmpuint(r.advice_bandwidth, ==, 80 * MB);
    env.postcopy_ram = true;
    mig_conv_pass(&c, 5, 50 * MB, 40 * MB, &env);
    mig_conv_report(&c, true, now, &r);
    g_assert_cmpint(r.advice, ==, MIG_ADVICE_POSTCOPY);
    /* so much dirtying that even 99 % would not do: no throttle figure */
    mig_conv_pass(&c, 6, 50 * MB, 4000 * MB, &env);
    mig_conv_report(&c, true, now, &r);
    g_assert_false(r.has_advice_throttle);
    g_assert_cmpint(r.advice, ==, MIG_ADVICE_POSTCOPY);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/convergence/throttle-steps",
                    test_throttle_steps);
    g_test_add_func("/migration/convergence/throttle-tailslow",
                    test_throttle_tailslow);
    g_test_add_func("/migration/convergence/diverging", test_diverging);
    g_test_add_func("/migration/convergence/no-flapping", test_no_flapping);
    g_test_add_func("/migration/convergence/fits-downtime",
                    test_fits_downtime);
    g_test_add_func("/migration/convergence/stalled", test_stalled);
    g_test_add_func("/migration/convergence/advice-order", test_advice_order);
    return g_test_run();
}
