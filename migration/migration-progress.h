/*
 * Progress and ETA of an outgoing migration (query-migrate's x-progress,
 * x-eta-ms, x-eta-basis; the convergence verdict is in
 * migration-convergence.h).  Beyond QEMU; docs/user/migration.md has the
 * formulas.
 *
 * The calculation is a set of pure functions over MigProgress, fed one
 * MigProgressSample per counters window (~100 ms) by the migration thread.
 * The global instance used by migration.c sits behind a lock in
 * migration-progress.c (query-migrate reads it from the main thread).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_PROGRESS_H
#define MIGRATION_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <json-glib/json-glib.h>

/* Weight of the newest window in the bandwidth average. */
#define MIG_PROGRESS_BW_ALPHA        0.25
/* Before the dirty rate is known, the first pass counts for this much. */
#define MIG_PROGRESS_FIRST_PASS_MAX  50.0
/* x-progress stays below this until the migration has completed. */
#define MIG_PROGRESS_CAP             99.0

typedef enum MigEtaBasis {
    MIG_ETA_NO_ESTIMATE_YET,
    MIG_ETA_BANDWIDTH_MINUS_DIRTY_RATE,
    MIG_ETA_NOT_CONVERGING,
    MIG_ETA_COMPLETED,
} MigEtaBasis;

/* What the migration thread knows at the end of a counters window. */
typedef struct MigProgressSample {
    uint64_t sent;              /* bytes put on the wire so far */
    uint64_t remaining;         /* bytes still dirty (ram remaining) */
    uint64_t sync_count;        /* ram dirty-sync-count */
    uint64_t dirty_rate;        /* bytes/s dirtied, from the last sync */
    uint64_t window_bytes;      /* bytes sent in this window */
    uint64_t window_ms;         /* its length */
    uint64_t downtime_limit;    /* ms */
} MigProgressSample;

typedef struct MigProgress {
    bool have_bw;
    double bw;                  /* bytes/ms, average over windows */
    double dirty;               /* bytes/ms, from the last sync */
    bool dirty_known;           /* a sync after the setup one happened */
    uint64_t downtime_limit;
    uint64_t sent;
    uint64_t remaining;
    uint64_t sync_count;
    double progress;            /* x-progress: the maximum so far */
    bool completed;
} MigProgress;

/* What query-migrate reports. */
typedef struct MigProgressReport {
    double progress;            /* 0..100 */
    bool has_eta;
    uint64_t eta_ms;
    MigEtaBasis basis;
} MigProgressReport;

void mig_progress_init(MigProgress *p);
void mig_progress_update(MigProgress *p, const MigProgressSample *s);
void mig_progress_complete(MigProgress *p);
void mig_progress_report(const MigProgress *p, MigProgressReport *r);

/* Building blocks, exported for the unit test. */
double mig_progress_raw(const MigProgress *p);
bool mig_progress_eta(const MigProgress *p, uint64_t *eta_ms);

const char *mig_eta_basis_str(MigEtaBasis b);

/*
 * The global instance (migration.c): reset at migrate_init, fed from
 * migration_update_counters, marked complete with the status.
 */
void migration_progress_reset(void);
void migration_progress_sample(const MigProgressSample *s);
void migration_progress_set_completed(void);
/*
 * Add the x- members to query-migrate's @info for source status @status
 * (a MigrationStatus name); nothing for "none".
 */
void migration_progress_fill_info(JsonObject *info, const char *status);

#endif
