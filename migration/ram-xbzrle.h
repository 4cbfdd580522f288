/*
 * XBZRLE pages of the "ram" section (capability xbzrle): the source side
 * (page cache, encoding, counters, live cache resize) and the destination
 * side (decoding a record into its page).  Called by ram.c; the wire
 * layout is in docs/devel/migration/xbzrle.rst.
 *
 * Source rules (as QEMU 7.2, but for priming):
 *   - pages go through XBZRLE only once the first pass over RAM is done
 *     (ram.c decides, "enabled"); during the first pass the non-zero
 *     pages sent fill the free slots of the cache ("priming", below);
 *   - a page not in the cache is inserted and sent as PAGE from the cached
 *     copy, so that the copy equals what the destination has even if the
 *     guest writes the page meanwhile;
 *   - a cached page is encoded against its copy: unchanged -> nothing is
 *     sent; the encoding fits in a page -> an XBZRLE record; otherwise
 *     (overflow) -> PAGE; outside the last stage the copy is updated to
 *     what was sent;
 *   - a page sent as ZERO gets a zero copy, so a later delta is against
 *     what the destination holds.
 *
 * Threads: the migration thread saves pages; migrate-set-parameters
 * (main thread) resizes the cache; query-migrate reads the counters.  One
 * mutex inside ram-xbzrle.c serialises them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_RAM_XBZRLE_H
#define MIGRATION_RAM_XBZRLE_H

#include "qemu/osdep.h"
#include "exec/memory.h"
#include "migration/qemu-file.h"
#include <json-glib/json-glib.h>

/*
 * Writes a page record's header (be64 @word = offset | flags, and the
 * block name unless CONTINUE applies) for @rb; ram.c's, so that the
 * CONTINUE bookkeeping stays in one place.
 */
typedef void (*RamPageHeaderFn)(void *opaque, QEMUFile *f, RAMBlock *rb,
                                uint64_t word);

/* Source: allocate the cache (xbzrle-cache-size) and reset the counters. */
bool ram_xbzrle_setup(Error **errp);
/* Source: free the cache (migration end, failure or cancel). */
void ram_xbzrle_cleanup(void);

typedef enum RamXbzrleResult {
    RAM_XBZRLE_DELTA,       /* sent as an XBZRLE record */
    RAM_XBZRLE_UNCHANGED,   /* equal to the cached copy: nothing sent */
    RAM_XBZRLE_NORMAL,      /* sent as a PAGE record (miss or overflow) */
} RamXbzrleResult;

/*
 * Send page @offset of @rb (host memory @host) the XBZRLE way (rules
 * above); @age is the dirty-sync count, @last_stage true once the VM is
 * stopped.  Before the last stage everything is copied into @f's buffer
 * before returning; in the last stage (guest stopped, cache no longer
 * kept) a PAGE record refers to guest RAM until @f is flushed.
 */
RamXbzrleResult ram_xbzrle_save_page(QEMUFile *f, RAMBlock *rb,
                                     uint64_t offset, const uint8_t *host,
                                     uint64_t age, bool last_stage,
                                     RamPageHeaderFn header, void *opaque);
/*
 * First pass (beyond QEMU 7.2, which leaves the cache empty until the
 * second pass): page @offset of @rb, not zero, is about to be sent as
 * PAGE.  If its cache slot is free, a copy goes into the cache and the
 * record is written from that copy (returns true); otherwise nothing is
 * done and the caller sends the page its usual way (returns false).  So
 * a page dirtied again after the first pass, and in particular in the
 * last stage, is already a delta: without this the whole working set
 * dirtied during the first pass is a cache miss, sent raw, when the
 * guest is stopped.  The wire is unchanged (a PAGE record).
 */
bool ram_xbzrle_prime_page(QEMUFile *f, RAMBlock *rb, uint64_t offset,
                           const uint8_t *host, uint64_t age,
                           RamPageHeaderFn header, void *opaque);
/* Page @offset of @rb was sent as ZERO (only needed once enabled). */
void ram_xbzrle_zero_page(RAMBlock *rb, uint64_t offset, uint64_t age);

/*
 * At each dirty sync: update cache-miss-rate and encoding-rate over the
 * period since the previous call.  @pages_sent: ZERO + PAGE records sent
 * so far (the XBZRLE ones are added here).
 */
void ram_xbzrle_update_rates(uint64_t pages_sent);

/*
 * migrate-set-parameters xbzrle-cache-size: resize the cache of a running
 * migration now, keeping its pages (nothing to do when none runs).
 */
bool ram_xbzrle_cache_resize(uint64_t new_size, Error **errp);

/* query-migrate: add "xbzrle-cache" to @info (QEMU 7.2's XBZRLECacheStats). */
void ram_xbzrle_fill_info(JsonObject *info);

/*
 * Destination: read the payload of an XBZRLE record (u8 encoding flag,
 * be16 length <= page, data) and apply it to the page at @host.  Errors
 * name @what and the stream offset.
 */
bool ram_xbzrle_load_page(QEMUFile *f, uint8_t *host, const char *what,
                          Error **errp);

#endif
