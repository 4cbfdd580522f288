/*
 * Postcopy blocktime and fault latency on the destination
 * (capability postcopy-blocktime; docs/devel/migration/postcopy.rst).
 *
 * A "remote fault" is a fault the fault thread could not resolve locally:
 * the page had to come from the source (requested now, or already
 * requested for another thread).  It begins when the fault thread reads
 * the userfaultfd message and ends when the host page is placed.
 *
 * Figures (query-migrate on the destination):
 *   postcopy-blocktime        ms during which every vCPU waited at once
 *                             (QEMU 7.2);
 *   postcopy-vcpu-blocktime   ms each vCPU waited in total (QEMU 7.2);
 *   postcopy-latency          average ns of a remote fault, vCPU or not
 *                             (QEMU 10.2);
 *   postcopy-vcpu-latency     the same per vCPU (QEMU 10.2);
 *   postcopy-non-vcpu-latency the same for other threads (QEMU 10.2);
 *   postcopy-latency-dist     24 counts; bucket N holds the faults whose
 *                             latency in us lies in [2^N, 2^(N+1)), a
 *                             latency under 1 us goes to bucket 0, one of
 *                             2^24 us or more to bucket 23 (QEMU 10.2);
 *   x-postcopy-latency-percentiles
 *                             Godwit: {p50, p90, p99, max} in ns, from a
 *                             log-linear histogram (16 steps per power of
 *                             two: each is an upper bound within 6.25%).
 *
 * Threads: the fault thread begins faults, the threads that place pages
 * end them, the main thread reads the figures; everything is under the
 * context's lock.
 */
#ifndef MIGRATION_POSTCOPY_BLOCKTIME_H
#define MIGRATION_POSTCOPY_BLOCKTIME_H

#include "qemu/osdep.h"
#include <json-glib/json-glib.h>

#define POSTCOPY_LATENCY_BUCKETS 24

typedef struct PostcopyBlocktime PostcopyBlocktime;

/* A context for the vCPUs that exist now (their thread ids). */
PostcopyBlocktime *postcopy_blocktime_new(void);
void postcopy_blocktime_free(PostcopyBlocktime *bt);

/*
 * A remote fault by thread @tid (0 when unknown) on the host page at host
 * address @addr.  Fault thread.
 */
void postcopy_blocktime_begin(PostcopyBlocktime *bt, uint64_t addr,
                              uint32_t tid);
/*
 * The fault just begun on @addr by @tid turned out resolved already (the
 * page was placed meanwhile): forget it without counting it.
 */
void postcopy_blocktime_cancel(PostcopyBlocktime *bt, uint64_t addr,
                               uint32_t tid);
/* The host page at @addr was placed: every fault on it ends. */
void postcopy_blocktime_end(PostcopyBlocktime *bt, uint64_t addr);

/* Add the figures above to a query-migrate reply. */
void postcopy_blocktime_fill_info(PostcopyBlocktime *bt, JsonObject *info);

/*
 * For tests and benchmarks: the bucket of a latency of @ns
 * (postcopy-latency-dist).
 */
int postcopy_latency_bucket(uint64_t ns);

#endif
