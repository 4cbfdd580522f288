/*
 * dirty-limit: keep each limited vCPU's dirty page rate at or under its
 * limit.
 *
 * Two parts:
 *
 * - In the vCPU thread (dirtylimit_vcpu_round, called by system/cpus.c
 *   when the vCPU's DirtyCounter reached its quota): the pages dirtied
 *   since the last round cost (pages / limit) seconds; the vCPU sleeps
 *   until what it dirtied is paid for, then gets a quota of one round
 *   (10 ms at its limit, at least one page).  Credit saved while the vCPU
 *   dirtied nothing is capped at one round, so an idle vCPU cannot burst.
 *   Over any window of T seconds a vCPU dirties at most limit * (T + 10 ms)
 *   plus one quota.  This is KVM's "dirty ring full" exit, with a ring as
 *   long as one round, and the sleep computed rather than searched for.
 *
 * - The limiter thread ("dirtylimit"), while any limit is set: every
 *   period (x-vcpu-dirty-limit-period in a migration, else 1 s) it
 *   harvests the dirty log (memory_dirty_log_harvest: the counters count
 *   only clean-to-dirty transitions, so the log must be emptied for pages
 *   written again to count again; the harvest feeds every consumer's view,
 *   so migration loses nothing) and records each vCPU's rate over the
 *   period for query-vcpu-dirty-limit.
 *
 * Locking: limiter_lock protects the thread's state and the rates; the
 * per-vCPU fields in CPUState are atomics or owned by the vCPU thread.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "exec/memory.h"
#include "sysemu/cpus.h"
#include "sysemu/dirtylimit.h"
#include "trace.h"

#define NS_PER_SEC 1000000000LL
#define DIRTYLIMIT_ROUND_NS 10000000LL      /* one quota = 10 ms at the limit */

static GMutex limiter_lock;
static GCond limiter_cond;
static GThread *limiter_thread;       /* under limiter_lock */
static bool limiter_quit;             /* under limiter_lock */
static uint64_t limiter_period_ms = DIRTYLIMIT_PERIOD_DEFAULT_MS;
static GHashTable *limiter_rates;     /* cpu_index -> MB/s; limiter_lock */
static bool migration_limits;         /* dirtylimit_migration_step ran */

int64_t dirtylimit_vcpu_round(CPUState *cpu)
{
    uint64_t pps = qatomic_read(&cpu->dirty_limit_pps);
    uint64_t count = qatomic_read(&cpu->dirty.pages);
    int64_t now = get_clock();
    uint64_t chunk;
    int64_t sleep;

    if (!pps) {
        qatomic_set(&cpu->dirty.quota, UINT64_MAX);
        return 0;
    }
    if (qatomic_xchg(&cpu->dirty_limit_rebase, false)) {
        cpu->dirty_limit_paid = count;
        cpu->dirty_limit_due_ns = now;
        cpu->dirty_limit_round_ns = now;
    }
    if (cpu->dirty_limit_due_ns < now - DIRTYLIMIT_ROUND_NS) {
        cpu->dirty_limit_due_ns = now - DIRTYLIMIT_ROUND_NS;
    }
    cpu->dirty_limit_due_ns += (int64_t)((count - cpu->dirty_limit_paid) *
                                         NS_PER_SEC / pps);
    cpu->dirty_limit_paid = count;
    chunk = MAX(1, pps * DIRTYLIMIT_ROUND_NS / NS_PER_SEC);
    qatomic_set(&cpu->dirty.quota, count + chunk);
    sleep = cpu->dirty_limit_due_ns - now;
    qatomic_set(&cpu->dirty_limit_fill_ns, now - cpu->dirty_limit_round_ns);
    qatomic_set(&cpu->dirty_limit_sleep_ns, MAX(sleep, 0));
    cpu->dirty_limit_round_ns = now + MAX(sleep, 0);
    trace_dirtylimit_vcpu_round(cpu->cpu_index, count, sleep);
    return sleep;
}

bool dirtylimit_vcpu_index_valid(int64_t cpu_index)
{
    return cpu_index >= 0 && cpu_index <= INT_MAX &&
           qemu_get_cpu((int)cpu_index) != NULL;
}

static bool any_limit(void)
{
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        if (qatomic_read(&cpu->dirty_limit_pps)) {
            return true;
        }
    }
    return false;
}

/* The limiter thread: harvest and measure every period. */
static gpointer limiter_fn(gpointer opaque)
{
    GHashTable *last = g_hash_table_new(NULL, NULL);
    int64_t last_ns = get_clock();
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        g_hash_table_insert(last, GINT_TO_POINTER(cpu->cpu_index),
                            GSIZE_TO_POINTER(qatomic_read(&cpu->dirty.pages)));
    }
    g_mutex_lock(&limiter_lock);
    while (!limiter_quit) {
        int64_t deadline = g_get_monotonic_time() +
                           (int64_t)qatomic_read(&limiter_period_ms) * 1000;
        int64_t now;

        while (!limiter_quit &&
               g_cond_wait_until(&limiter_cond, &limiter_lock, deadline)) {
            /* woken early: only quit ends the wait */
        }
        if (limiter_quit) {
            break;
        }
        g_mutex_unlock(&limiter_lock);
        memory_dirty_log_harvest();
        now = get_clock();
        g_mutex_lock(&limiter_lock);
        CPU_FOREACH(cpu) {
            uint64_t pages = qatomic_read(&cpu->dirty.pages);
            uint64_t prev = GPOINTER_TO_SIZE(
                g_hash_table_lookup(last, GINT_TO_POINTER(cpu->cpu_index)));
            uint64_t mbps = 0;

            if (now > last_ns) {
                mbps = (pages - prev) * TARGET_PAGE_SIZE * NS_PER_SEC /
                       (uint64_t)(now - last_ns) >> 20;
            }
            g_hash_table_insert(last, GINT_TO_POINTER(cpu->cpu_index),
                                GSIZE_TO_POINTER(pages));
            g_hash_table_insert(limiter_rates,
                                GINT_TO_POINTER(cpu->cpu_index),
                                GSIZE_TO_POINTER(mbps));
            trace_dirtylimit_measure(cpu->cpu_index, mbps,
                                     qatomic_read(&cpu->dirty_limit_pps) /
                                     DIRTYLIMIT_PAGES_PER_MB);
        }
        last_ns = now;
    }
    g_mutex_unlock(&limiter_lock);
    g_hash_table_destroy(last);
    return NULL;
}

/* Start or stop the limiter thread and the log to match the limits. */
static void limiter_update(void)
{
    GThread *join = NULL;
    bool want = any_limit();

    g_mutex_lock(&limiter_lock);
    if (want && !limiter_thread) {
        if (!limiter_rates) {
            limiter_rates = g_hash_table_new(NULL, NULL);
        }
        g_hash_table_remove_all(limiter_rates);
        memory_global_dirty_log_start(GLOBAL_DIRTY_LIMIT);
        limiter_quit = false;
        limiter_thread = g_thread_new("dirtylimit", limiter_fn, NULL);
        trace_dirtylimit_thread(1);
    } else if (!want && limiter_thread) {
        limiter_quit = true;
        g_cond_broadcast(&limiter_cond);
        join = limiter_thread;
        limiter_thread = NULL;
    }
    g_mutex_unlock(&limiter_lock);
    if (join) {
        g_thread_join(join);
        memory_global_dirty_log_stop(GLOBAL_DIRTY_LIMIT);
        trace_dirtylimit_thread(0);
    }
}

static void vcpu_set(CPUState *cpu, uint64_t mbps)
{
    uint64_t pps = mbps * DIRTYLIMIT_PAGES_PER_MB;

    if (mbps && pps / DIRTYLIMIT_PAGES_PER_MB != mbps) {
        pps = UINT64_MAX;       /* beyond any rate: effectively unlimited */
    }
    trace_dirtylimit_set(cpu->cpu_index, mbps);
    qatomic_set(&cpu->dirty_limit_pps, pps);
    if (pps) {
        qatomic_set(&cpu->dirty_limit_rebase, true);
        /* enter a round at once: it starts the schedule */
        qatomic_set(&cpu->dirty.quota, qatomic_read(&cpu->dirty.pages));
    } else {
        qatomic_set(&cpu->dirty.quota, UINT64_MAX);
        qatomic_set(&cpu->dirty_limit_sleep_ns, 0);
        qatomic_set(&cpu->dirty_limit_fill_ns, 0);
    }
}

void dirtylimit_set(int64_t cpu_index, uint64_t mbps)
{
    static GMutex set_lock;     /* the monitor and the migration thread */
    CPUState *cpu;

    g_mutex_lock(&set_lock);
    CPU_FOREACH(cpu) {
        if (cpu_index < 0 || cpu->cpu_index == cpu_index) {
            vcpu_set(cpu, mbps);
        }
    }
    limiter_update();
    g_mutex_unlock(&set_lock);
}

void dirtylimit_cancel(int64_t cpu_index)
{
    dirtylimit_set(cpu_index, 0);
}

uint64_t dirtylimit_get(int cpu_index)
{
    CPUState *cpu = qemu_get_cpu(cpu_index);

    return cpu ? qatomic_read(&cpu->dirty_limit_pps) /
                 DIRTYLIMIT_PAGES_PER_MB : 0;
}

uint64_t dirtylimit_current_rate(int cpu_index)
{
    uint64_t r = 0;

    g_mutex_lock(&limiter_lock);
    if (limiter_thread && limiter_rates) {
        r = GPOINTER_TO_SIZE(g_hash_table_lookup(limiter_rates,
                                                 GINT_TO_POINTER(cpu_index)));
    }
    g_mutex_unlock(&limiter_lock);
    return r;
}

void dirtylimit_migration_step(uint64_t vcpu_limit_mbps, uint64_t period_ms)
{
    CPUState *cpu;
    bool same = qatomic_read(&migration_limits);

    qatomic_set(&limiter_period_ms, MAX(period_ms, 1));
    CPU_FOREACH(cpu) {
        if (qatomic_read(&cpu->dirty_limit_pps) !=
            vcpu_limit_mbps * DIRTYLIMIT_PAGES_PER_MB) {
            same = false;
        }
    }
    trace_dirtylimit_migration_step(vcpu_limit_mbps, period_ms, same ? 1 : 0);
    if (same) {
        return;
    }
    qatomic_set(&migration_limits, true);
    dirtylimit_set(-1, vcpu_limit_mbps);
}

void dirtylimit_migration_end(void)
{
    if (!qatomic_xchg(&migration_limits, false)) {
        return;
    }
    trace_dirtylimit_migration_end();
    dirtylimit_set(-1, 0);
    qatomic_set(&limiter_period_ms, DIRTYLIMIT_PERIOD_DEFAULT_MS);
}

bool dirtylimit_in_migration(void)
{
    return qatomic_read(&migration_limits);
}

uint64_t dirtylimit_throttle_time_per_round_us(void)
{
    int64_t max = 0;
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        if (qatomic_read(&cpu->dirty_limit_pps)) {
            max = MAX(max, qatomic_read(&cpu->dirty_limit_sleep_ns));
        }
    }
    return max / 1000;
}

uint64_t dirtylimit_ring_full_time_us(void)
{
    int64_t sum = 0;
    int n = 0;
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        if (qatomic_read(&cpu->dirty_limit_pps)) {
            sum += MAX(qatomic_read(&cpu->dirty_limit_fill_ns), 0);
            n++;
        }
    }
    return n ? sum / n / 1000 : 0;
}
