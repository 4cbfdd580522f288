/*
 * The throttle trigger of the "ram" section (QEMU 7.2's
 * migration_trigger_throttle, facts 6.6): evaluated at a dirty bitmap sync
 * at most once per second; when the guest dirtied more than
 * throttle-trigger-threshold % of what was sent in the period, twice, the
 * throttle steps up.  The same trigger serves auto-converge (the CPU
 * throttle, system/cpus.c) and dirty-limit.  Design and formulas:
 * docs/devel/migration/convergence.rst.
 *
 * Threads: everything here runs in the migration thread, from
 * migration_bitmap_sync; the RamThrottle lives in RAMState.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_RAM_THROTTLE_H
#define MIGRATION_RAM_THROTTLE_H

#include "qemu/osdep.h"

/* Shortest period between two evaluations of the trigger (QEMU: 1 s). */
#define RAM_THROTTLE_PERIOD_MS      1000
/* Periods over the threshold (not necessarily in a row) before a step. */
#define RAM_THROTTLE_HIGH_PERIODS   2

typedef struct RamThrottle {
    int64_t period_start;       /* ms; 0 before the setup sync */
    uint64_t dirty_pages;       /* pages found dirty in this period */
    uint64_t xfer_start;        /* bytes transferred when it started */
    unsigned high_count;        /* periods over the threshold (QEMU's
                                   dirty_rate_high_cnt) */
} RamThrottle;

/* The auto-converge parameters, as migrate-set-parameters holds them. */
typedef struct ThrottleParams {
    unsigned initial;           /* cpu-throttle-initial */
    unsigned increment;         /* cpu-throttle-increment */
    bool tailslow;              /* cpu-throttle-tailslow */
    unsigned max;               /* max-cpu-throttle */
} ThrottleParams;

/*
 * The next throttle percentage after one step from @now_pct (0: not
 * throttling yet): cpu-throttle-initial the first time, then
 * +increment (with tailslow at most cpu_now - cpu_now * threshold / dirty,
 * cpu_now = 100 - now_pct) capped at max-cpu-throttle.  Pure.
 */
unsigned mig_throttle_next_pct(const ThrottleParams *p, unsigned now_pct,
                               uint64_t bytes_dirty_period,
                               uint64_t bytes_dirty_threshold);

/*
 * Called at the end of every migration_bitmap_sync with the pages it
 * found dirty, the time (ms) and whether the guest runs (a sync of the
 * completion or of the postcopy switch, VM stopped, evaluates nothing).
 * The first call (setup sync) starts the first period.
 */
void ram_throttle_sync(RamThrottle *t, uint64_t new_dirty, int64_t now_ms,
                       bool live);

#endif
