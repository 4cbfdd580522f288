/*
 * The convergence verdict of an outgoing precopy (query-migrate's
 * x-convergence, Godwit's own) and the x-auto-postcopy decision.
 *
 * Fed by the migration thread: one pass per live dirty bitmap sync (the
 * minima of the saw-tooth of "remaining") and one window per counters
 * window (~100 ms, the bandwidth).  The verdict is computed per pass and
 * published only when two passes in a row agree, so one noisy pass never
 * flips it.  Definitions: docs/devel/migration/convergence.rst and
 * qapi/migration.json (MigrationConvergence).
 *
 * The calculation is pure functions over MigConv (unit-tested); the global
 * instance sits behind a mutex in migration-convergence.c (query-migrate
 * reads it from the main thread).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_CONVERGENCE_H
#define MIGRATION_CONVERGENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-glib/json-glib.h>

/* Weight of the newest window in the bandwidth average. */
#define MIG_CONV_BW_ALPHA           0.25
/* A sync minimum less than 5% below the previous one is no progress. */
#define MIG_CONV_SHRINK             0.95
/* Before two minima exist: dirty rate / bandwidth bounds. */
#define MIG_CONV_RATIO_LOW          0.9
#define MIG_CONV_RATIO_HIGH         1.1
/* Passes in a row with the same per-pass verdict before it is published. */
#define MIG_CONV_AGREE_PASSES       2
/* Published "diverging" passes in a row before x-auto-postcopy switches. */
#define MIG_CONV_AUTO_POSTCOPY_PASSES 2
/* No byte sent for this long while active: stalled. */
#define MIG_CONV_STALL_MS           3000
/* The advice aims at each pass leaving at most this share of the last. */
#define MIG_CONV_TARGET_RATIO       0.5

typedef enum MigVerdict {
    MIG_VERDICT_UNKNOWN,
    MIG_VERDICT_CONVERGING,
    MIG_VERDICT_STALLED,
    MIG_VERDICT_DIVERGING,
} MigVerdict;

typedef enum MigAdvice {
    MIG_ADVICE_NONE,
    MIG_ADVICE_MORE_BANDWIDTH,
    MIG_ADVICE_THROTTLE,
    MIG_ADVICE_POSTCOPY,
} MigAdvice;

/* The settings a pass is judged against. */
typedef struct MigConvEnv {
    uint64_t downtime_limit;    /* ms */
    unsigned throttle_pct;      /* the CPU throttle now (0..99) */
    unsigned max_throttle;      /* max-cpu-throttle */
    bool postcopy_ram;          /* the postcopy-ram capability */
} MigConvEnv;

typedef struct MigConv {
    bool have_bw;
    double bw;                  /* bytes/ms, average over windows */
    int64_t last_progress_ms;   /* end of the last window that sent bytes */
    uint64_t passes;            /* live passes seen */
    uint64_t pass;              /* dirty-sync-count of the last one */
    uint64_t remaining;         /* bytes dirty right after the last sync */
    uint64_t prev_remaining;    /* ... after the one before */
    uint64_t dirty_rate;        /* bytes/s over the last sync period */
    MigVerdict raw;             /* per-pass verdict of the last pass */
    unsigned raw_streak;        /* passes in a row with that raw verdict */
    MigVerdict verdict;         /* published */
    unsigned diverging_streak;  /* passes in a row published diverging */
    MigConvEnv env;             /* as of the last pass */
} MigConv;

typedef struct MigConvReport {
    MigVerdict verdict;
    uint64_t dirty_rate;        /* bytes/s */
    uint64_t bandwidth;         /* bytes/s */
    bool has_expected_downtime;
    uint64_t expected_downtime; /* ms */
    MigAdvice advice;
    bool has_advice_bandwidth;
    uint64_t advice_bandwidth;  /* bytes/s */
    bool has_advice_throttle;
    unsigned advice_throttle;   /* % */
} MigConvReport;

void mig_conv_init(MigConv *c);
/* A counters window ending at @now_ms: @bytes sent in @ms. */
void mig_conv_window(MigConv *c, uint64_t bytes, uint64_t ms, int64_t now_ms);
/*
 * A live sync: @pass (dirty-sync-count, >= 2), @remaining bytes dirty
 * after it, @dirty_rate bytes/s.  Returns true when the published verdict
 * has now been diverging for MIG_CONV_AUTO_POSTCOPY_PASSES passes in a row.
 */
bool mig_conv_pass(MigConv *c, uint64_t pass, uint64_t remaining,
                   uint64_t dirty_rate, const MigConvEnv *env);
/* The per-pass verdict of the state after a pass (exported for tests). */
MigVerdict mig_conv_raw_verdict(const MigConv *c);
/* @active: the status is "active" (the stall rule applies). */
void mig_conv_report(const MigConv *c, bool active, int64_t now_ms,
                     MigConvReport *r);

const char *mig_verdict_str(MigVerdict v);
const char *mig_advice_str(MigAdvice a);

/* ---- the global instance (migration.c, ram.c) */
void migration_convergence_reset(void);
void migration_convergence_window(uint64_t bytes, uint64_t ms);
/*
 * Migration thread, at a live sync: updates the verdict and, with
 * x-auto-postcopy, asks for the postcopy switch when it says so.
 */
void migration_convergence_pass(uint64_t pass, uint64_t remaining,
                                uint64_t dirty_rate);
/*
 * query-migrate: x-convergence (while setup..device, not once completed,
 * failed or cancelled) and x-auto-postcopy-reason (once it switched).
 */
void migration_convergence_fill_info(JsonObject *info, const char *status);
/* "info migrate": the same, one line each; nothing when absent. */
void migration_convergence_hmp(JsonObject *info, GString *out);

#endif
