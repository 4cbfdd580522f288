/*
 * dirty-limit: per-vCPU dirty page rate limits (system/dirtylimit.c).
 *
 * QEMU builds this on KVM's dirty ring; Godwit builds it on its per-vCPU
 * dirty counters (exec/memory.h DirtyCounter): a limited vCPU gets a quota
 * of pages; when its counter reaches it, the vCPU leaves exec() and, in
 * its own thread (system/cpus.c), sleeps as long as its limit says the
 * pages it dirtied cost.  See docs/devel/migration/dirty-rate.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef SYSEMU_DIRTYLIMIT_H
#define SYSEMU_DIRTYLIMIT_H

#include "qemu/osdep.h"
#include "hw/core/cpu.h"

/* Pages per MB/s of limit: QEMU's MB in dirty rates is 2^20 bytes. */
#define DIRTYLIMIT_PAGES_PER_MB ((1ULL << 20) / TARGET_PAGE_SIZE)
/* Default x-vcpu-dirty-limit-period and its range (ms). */
#define DIRTYLIMIT_PERIOD_DEFAULT_MS 1000
#define DIRTYLIMIT_PERIOD_MAX_MS 1000

/*
 * vCPU thread, qemu_global_cpu_mutex held, when cpu->dirty.pages reached
 * cpu->dirty.quota: account the pages dirtied since the last round, set
 * the next quota, and return how long (ns) the vCPU must sleep (<= 0:
 * none).
 */
int64_t dirtylimit_vcpu_round(CPUState *cpu);

/* True if @cpu_index names a vCPU. */
bool dirtylimit_vcpu_index_valid(int64_t cpu_index);

/*
 * Limit vCPU @cpu_index (-1: every vCPU) to @mbps MB/s of newly dirtied
 * pages (0 cancels).  Main thread, BQL.
 */
void dirtylimit_set(int64_t cpu_index, uint64_t mbps);
/* Remove the limit of @cpu_index (-1: all). */
void dirtylimit_cancel(int64_t cpu_index);
/* The limit of @cpu_index in MB/s, 0 when none. */
uint64_t dirtylimit_get(int cpu_index);
/*
 * The dirty rate of @cpu_index (MB/s) over the last period measured by
 * the limiter thread while any limit is on; 0 otherwise.
 */
uint64_t dirtylimit_current_rate(int cpu_index);

/*
 * Migration with the dirty-limit capability: the throttle trigger fired
 * (facts 6.6); limit every vCPU to @vcpu_limit_mbps, measuring every
 * @period_ms.  Idempotent.  Any thread.
 */
void dirtylimit_migration_step(uint64_t vcpu_limit_mbps, uint64_t period_ms);
/* End of migration (success, cancel, failure): cancel what the step set. */
void dirtylimit_migration_end(void);
/* The migration's limits are on. */
bool dirtylimit_in_migration(void);
/*
 * query-migrate figures (us): the longest sleep of a limited vCPU in its
 * last round, and the average time limited vCPUs took to use up their
 * last quota (Godwit's "dirty ring full time").
 */
uint64_t dirtylimit_throttle_time_per_round_us(void);
uint64_t dirtylimit_ring_full_time_us(void);

#endif
