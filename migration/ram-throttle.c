/*
 * The throttle trigger of the "ram" section; see ram-throttle.h and
 * docs/devel/migration/convergence.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "migration/migration.h"
#include "migration/migration-postcopy.h"
#include "migration/options.h"
#include "migration/ram-throttle.h"
#include "migration/dirtyrate.h"
#include "migration/trace.h"

unsigned mig_throttle_next_pct(const ThrottleParams *p, unsigned now_pct,
                               uint64_t bytes_dirty_period,
                               uint64_t bytes_dirty_threshold)
{
    uint64_t inc = p->increment;

    if (!now_pct) {
        return p->initial;
    }
    if (p->tailslow && bytes_dirty_period) {
        /*
         * The share of CPU that would bring the dirty bytes down to the
         * threshold, if dirtying scales with the CPU the guest gets.
         */
        double cpu_now = 100 - now_pct;
        double cpu_ideal = cpu_now * ((double)bytes_dirty_threshold /
                                      (double)bytes_dirty_period);
        double want = cpu_now - cpu_ideal;

        inc = MIN(inc, want > 0 ? (uint64_t)want : 0);
    }
    return MIN(now_pct + inc, (uint64_t)p->max);
}

/* One step of the CPU throttle (QEMU's mig_throttle_guest_down). */
static void mig_throttle_guest_down(uint64_t bytes_dirty_period,
                                    uint64_t bytes_dirty_threshold)
{
    const MigrationParameters *mp = &migrate_get_current()->opts.params;
    ThrottleParams p = {
        .initial = mp->cpu_throttle_initial,
        .increment = mp->cpu_throttle_increment,
        .tailslow = mp->cpu_throttle_tailslow,
        .max = mp->max_cpu_throttle,
    };
    unsigned now = cpu_throttle_get_percentage();
    unsigned next = mig_throttle_next_pct(&p, now, bytes_dirty_period,
                                          bytes_dirty_threshold);

    trace_mig_throttle_guest_down(now, next, bytes_dirty_period,
                                  bytes_dirty_threshold);
    cpu_throttle_set(next);
}

/*
 * The trigger, evaluated once per period: the guest dirtied more than
 * throttle-trigger-threshold % of what was sent, for the second time
 * since the last step.  auto-converge throttles every vCPU; dirty-limit
 * (exclusive with it) limits each vCPU's dirty rate.
 */
static void migration_trigger_throttle(RamThrottle *t,
                                       uint64_t bytes_dirty_period,
                                       uint64_t bytes_xfer_period)
{
    uint64_t threshold = migrate_get_current()->opts.params
                         .throttle_trigger_threshold;
    uint64_t bytes_dirty_threshold = bytes_xfer_period * threshold / 100;

    if (!migrate_auto_converge() && !migrate_dirty_limit()) {
        return;
    }
    trace_migration_trigger_throttle(bytes_dirty_period, bytes_xfer_period,
                                     bytes_dirty_threshold, t->high_count);
    if (bytes_dirty_period <= bytes_dirty_threshold ||
        ++t->high_count < RAM_THROTTLE_HIGH_PERIODS) {
        return;
    }
    t->high_count = 0;
    if (migrate_auto_converge()) {
        mig_throttle_guest_down(bytes_dirty_period, bytes_dirty_threshold);
    } else {
        /* dirty-limit (exclusive with auto-converge): per-vCPU limits */
        migration_dirty_limit_guest();
    }
}

void ram_throttle_sync(RamThrottle *t, uint64_t new_dirty, int64_t now_ms,
                       bool live)
{
    uint64_t xfer = migration_transferred_now(migrate_get_current());

    if (!t->period_start) {
        /* the setup sync: every page is dirty, that is no rate */
        t->period_start = now_ms;
        t->xfer_start = xfer;
        t->dirty_pages = 0;
        return;
    }
    t->dirty_pages += new_dirty;
    if (now_ms <= t->period_start + RAM_THROTTLE_PERIOD_MS) {
        return;
    }
    if (live) {
        migration_trigger_throttle(t, t->dirty_pages * TARGET_PAGE_SIZE,
                                   xfer - t->xfer_start);
    }
    t->period_start = now_ms;
    t->xfer_start = xfer;
    t->dirty_pages = 0;
}
