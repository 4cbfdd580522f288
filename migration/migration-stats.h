/*
 * Migration counters, updated from several threads with atomics, read by
 * query-migrate.  Kept free of dependencies so every migration file can
 * include it.  One instance per migration (MigrationState.stats) -- reset at
 * the start of each outgoing migration.
 */
#ifndef MIGRATION_MIGRATION_STATS_H
#define MIGRATION_MIGRATION_STATS_H

#include "qemu/osdep.h"

typedef struct MigrationStats {
    /* pages sent as their full contents (normal), and bytes for them */
    uint64_t normal_pages;
    /* pages sent as a zero marker ("duplicate" in query-migrate) */
    uint64_t zero_pages;
    /* bytes written to the main channel before switchover */
    uint64_t precopy_bytes;
    /* bytes written while the VM was stopped (the completion) */
    uint64_t downtime_bytes;
    /* bytes written after the postcopy switch */
    uint64_t postcopy_bytes;
    /* bytes written on multifd channels */
    uint64_t multifd_bytes;
    /* total bytes on every channel: what "transferred" reports */
    uint64_t transferred;
    /* number of migration_bitmap_sync calls (dirty-sync-count) */
    uint64_t dirty_sync_count;
    /* dirty pages found per second at the last sync */
    uint64_t dirty_pages_rate;
    /* pages dirty in the migration bitmap right now */
    uint64_t dirty_pages;
    /* pages sent in the last period, for pages-per-second */
    uint64_t postcopy_requests;
    uint64_t dirty_sync_missed_zero_copy;
    /* bytes transferred when the current rate-limit window started */
    uint64_t rate_limit_used;
    uint64_t rate_limit_max;
} MigrationStats;

/* Atomic helpers: stat_add(&s->stats.normal_pages, 1) */
static inline void stat64_add(uint64_t *p, uint64_t v)
{
    qatomic_add(p, v);
}
static inline uint64_t stat64_get(const uint64_t *p)
{
    return qatomic_read((uint64_t *)p);
}
static inline void stat64_set(uint64_t *p, uint64_t v)
{
    qatomic_set(p, v);
}

#endif
