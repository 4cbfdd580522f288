/*
 * Helpers for the migration qtests: QMP wrappers for QEMU's migration
 * commands (names and arguments as in QEMU 7.2), waits on the migration
 * state machine, and the guest checks (serial progress, the a-b memory
 * invariant).
 *
 * Everything here goes through libqtest only (GLib and json-glib), so the
 * file links into every qtest program.  Functions that fail a check abort
 * the test with g_assert/g_error; libqtest then kills every process the
 * test started.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_HELPERS_H
#define MIGRATION_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include "libqtest.h"

/* ---- the guests' memory layout (tests/migration-guest/common.inc) */

#define MIG_DRAM_BASE       0x80000000ULL
#define MIG_PAGE_SIZE       4096ULL
/* a-b increments the first byte of every page of [START, END). */
#define MIG_AB_START        (MIG_DRAM_BASE + (1ULL << 20))
#define MIG_AB_END          (MIG_DRAM_BASE + (100ULL << 20))

/*
 * "Does not converge" and "converges at once" settings
 * (migrate_ensure_non_converge / migrate_ensure_converge).
 *
 * Non-converge: precopy completes when the dirty memory still to send fits
 * in bandwidth x downtime-limit.  With 30 MB/s and 1 ms that is 30 kB,
 * about 7 pages.  The a-b guest rewrites all 25344 pages of its range on
 * every pass, and Godwit's interpreter runs it fast (measured on the 2-core
 * dev machine: ~1700 passes/s idle, 1000-1800 passes/s while migrating at
 * 30 MB/s), so every bitmap sync (one per ~3.3 s pass over RAM) finds the
 * whole 99 MiB dirty again: dirty-pages-rate ~7500 pages/s, i.e. the whole
 * range per sync interval, and expected-downtime 0.8-3.2 s against the 1 ms
 * limit; 4 syncs in 12 s and still active.  A guest 1000x slower would
 * still not converge.  The bandwidth also sets how long the first pass
 * takes (~3.3 s for the ~100 MiB of non-zero pages), which is what the
 * tests wait for before they switch to the converge settings.
 *
 * Converge: 1 GB/s and 30 s, so the next completion check passes whatever
 * the guest dirtied.
 */
#define MIG_NONCONVERGE_BANDWIDTH   (30LL * 1000 * 1000)
#define MIG_NONCONVERGE_DOWNTIME_MS 1
#define MIG_CONVERGE_BANDWIDTH      (1000LL * 1000 * 1000)
#define MIG_CONVERGE_DOWNTIME_MS    (30 * 1000)

/* ---- JSON and QMP plumbing */

/* @s as a JSON string literal with quotes, escaped (g_free). */
char *mig_json_quote(const char *s);
/* Integer member of @obj (a JSON int or double), or @def if absent. */
int64_t mig_json_int(JsonObject *obj, const char *name, int64_t def);
/* Assert @rsp is an error response, return its "desc" (g_free); unrefs @rsp. */
char *mig_take_error(JsonObject *rsp);

/* query-status: the runstate name (g_free), *running if non-NULL. */
char *mig_query_runstate(QTestState *who, bool *running);

/* ---- query-migrate */

/* The "return" object of query-migrate (json_object_unref). */
JsonObject *migrate_query(QTestState *who);
/* Its "status", or "none" when absent (nothing ever migrated) (g_free). */
char *migrate_query_status(QTestState *who);
/* Its "error-desc" or NULL (g_free). */
char *migrate_query_error(QTestState *who);

/* query-migrate's "ram" member; -1 for every field that is absent. */
typedef struct MigRamStats {
    bool present;
    int64_t transferred;
    int64_t remaining;
    int64_t total;
    int64_t duplicate;
    int64_t skipped;
    int64_t normal;
    int64_t normal_bytes;
    int64_t dirty_pages_rate;
    int64_t dirty_sync_count;
    int64_t postcopy_requests;
    int64_t page_size;
    int64_t multifd_bytes;
    int64_t pages_per_second;
    int64_t precopy_bytes;
    int64_t downtime_bytes;
    int64_t postcopy_bytes;
    int64_t dirty_sync_missed_zero_copy;
    double mbps;                /* -1 when absent */
} MigRamStats;

void migrate_read_ram_stats(QTestState *who, MigRamStats *st);
/* One counter of "ram" by its QMP name, or -1 when absent. */
int64_t migrate_ram_counter(QTestState *who, const char *name);

/* ---- waiting on the state machine (poll query-migrate every 10 ms) */

/*
 * Wait until @who's migration status is @goal.  Fails at once on a status
 * listed in @ungoals (NULL-terminated; NULL means: failed, cancelled and
 * completed, whichever is not @goal), printing error-desc.
 */
void wait_for_migration_status(QTestState *who, const char *goal,
                               const char *const *ungoals);
/* wait_for_migration_status(who, "completed", NULL). */
void wait_for_migration_complete(QTestState *who);
/*
 * Wait for the source's migration to end in "failed".  Every status seen
 * on the way must be "setup" or "failed", or "active" when @allow_active
 * (the failure came after the stream started, e.g. the destination died or
 * rejected the stream and quit).  Then asserts error-desc is set and that
 * the source VM runs again (a failed precopy leaves the source untouched).
 */
void wait_for_migration_fail(QTestState *from, bool allow_active);
/*
 * Wait until ram.dirty-sync-count >= @count (the first sync happens at
 * setup, so 2 means one full pass over RAM has been sent and the dirty log
 * looked at again).  Fails if the migration ends first.
 */
void wait_for_migration_pass(QTestState *who, int64_t count);
/*
 * The destination of a failed migration (QEMU 7.2 exits with
 * EXIT_FAILURE when an incoming migration fails): wait until @to exits by
 * itself, assert exit status @code (not a signal), and free @to.
 */
void migrate_wait_dest_exit(QTestState *to, int code);

/* ---- commands */

/* migrate {uri}: must be accepted (the result comes later). */
void migrate_qmp(QTestState *who, const char *uri);
/* migrate {uri}: returns the raw response (for expected errors). */
JsonObject *migrate_qmp_rsp(QTestState *who, const char *uri);
/* migrate-incoming {uri} (the destination was started with -incoming defer). */
void migrate_incoming_qmp(QTestState *to, const char *uri);
void migrate_cancel_qmp(QTestState *who);
void migrate_continue_qmp(QTestState *who, const char *state);

void migrate_set_capability(QTestState *who, const char *cap, bool on);
/* Raw response of migrate-set-capabilities (for refusals). */
JsonObject *migrate_set_capability_rsp(QTestState *who, const char *cap,
                                       bool on);
/* query-migrate-capabilities: state of @cap; fails if it is not listed. */
bool migrate_get_capability(QTestState *who, const char *cap);

/* migrate-set-parameters {name: value}, then read back and compare. */
void migrate_set_parameter_int(QTestState *who, const char *name,
                               int64_t value);
int64_t migrate_get_parameter_int(QTestState *who, const char *name);

/* See MIG_NONCONVERGE_* and MIG_CONVERGE_* above. */
void migrate_ensure_non_converge(QTestState *who);
void migrate_ensure_converge(QTestState *who);

/* ---- the guest */

/*
 * Wait for the next 'B' on @who's serial after byte *pos (updated past
 * it).  Every character between must be in @allowed (e.g. "AB" for a
 * freshly booted a-b guest, "B" for one that migrated in): anything else
 * (an 'F' from the verify guest, an 'X' from a fatal trap, an 'A' from a
 * guest that started over) fails the test, with the text printed.
 */
void wait_for_serial(QTestState *who, size_t *pos, const char *allowed);
/* Size of the serial output so far. */
size_t mig_serial_len(QTestState *who);

/*
 * The a-b invariant over [MIG_AB_START, MIG_AB_END) of a stopped guest:
 * the first bytes of consecutive pages are all equal except for at most
 * one place where a byte is one less (mod 256) than the one before (where
 * the guest's loop was when it stopped).  Reads memory through qtest in
 * large b64read chunks.
 */
void check_guests_ram(QTestState *who);

/*
 * The destination @to of a live migration that completed: wait for its
 * RESUME and a 'B' (after *@pos); with @run_secs, let the guest run that
 * long and see another 'B' (wait_for_serial fails on an 'F' or 'X'); for
 * the "a-b" @guest, stop it and check its RAM.
 */
void mig_check_dest_after_live(QTestState *to, size_t *pos, const char *guest,
                               int run_secs);

/*
 * A failed or cancelled migration must leave the source as it was:
 * runstate "running" and the guest still printing 'B' after *pos.
 */
void mig_assert_source_alive(QTestState *from, size_t *pos);

/*
 * Big-endian builders for hand-made stream and return-path bytes (tests
 * that play a bad peer): one byte, 16/32/64-bit words, a counted string.
 */
void mig_put8(GByteArray *b, uint8_t v);
void mig_put16(GByteArray *b, uint16_t v);
void mig_put32(GByteArray *b, uint32_t v);
void mig_put64(GByteArray *b, uint64_t v);
void mig_put_str(GByteArray *b, const char *str);
/* The big-endian 64-bit word at @p. */
uint64_t mig_get64(const uint8_t *p);
/*
 * The stream of a stopped a-b guest with @mem of RAM, written to @dir and
 * cut after the footer of the ram START section (its MEM_SIZE list);
 * *@ram_id gets the section id of "ram".  With @rest, the remainder of the
 * stream goes there.  For tests that splice hand-built records in.
 */
GByteArray *mig_ram_stream_prefix(const char *dir, const char *mem,
                                  uint32_t *ram_id, GByteArray **rest);

/*
 * Free 2 MiB huge pages not yet promised to a mapping, from /proc/meminfo
 * (0 when 2 MiB is not the default huge page size).
 */
long mig_free_huge_pages_2m(void);

#endif
