/*
 * Compression threads of the "ram" section (capability compress, QEMU 7.2;
 * docs/devel/migration/compress.rst has the record layout, the threads and
 * the ordering rules).
 *
 * Record: be64 (offset | COMPRESS_PAGE | CONTINUE), be32 N, N bytes: one
 * complete zlib stream (deflateReset, deflate(Z_FINISH)) holding exactly
 * one target page, 0 <= N <= compressBound(TARGET_PAGE_SIZE).
 *
 * Source (migration thread, owner of a RamCompress):
 *   - ram.c sends the first page of every block on the main thread
 *     (uncompressed), after ram_compress_flush(), so every compressed
 *     record CONTINUEs the block of the record before it;
 *   - ram_compress_save_page() hands a page to a free thread; with
 *     compress-wait-thread on it waits for one, off it returns false and
 *     ram.c sends the page as a normal PAGE (counted as "busy");
 *   - a thread copies the page, writes a ZERO record if the copy is zero,
 *     else a COMPRESS_PAGE record, into its own buffer; the main thread
 *     copies that buffer into the stream when it gives the thread its next
 *     page, or at ram_compress_flush();
 *   - ram.c flushes before every EOS (a dirty sync only happens between
 *     sections, so no record of one round lands after a record of the
 *     next), at every wrap of the scan, when XBZRLE starts (compression
 *     then stops, as 7.2) and before a block change.
 *
 * Destination (incoming thread, owner of a RamDecompress):
 *   - ram_decompress_load_page() reads N (checked), then the N bytes into
 *     a free thread's buffer (waiting for one), and the thread inflates
 *     them straight into guest RAM;
 *   - before anything else writes a page, ram_decompress_wait_page() waits
 *     for a thread still inflating into it, so an older version of a page
 *     never lands after a newer record of the same page;
 *   - ram_decompress_wait_all() at every EOS returns the first error a
 *     thread met (naming block, offset and what was wrong).
 *
 * Counters (query-migrate "compression") are this file's, under its lock:
 * the migration thread updates them, query-migrate reads them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_RAM_COMPRESS_H
#define MIGRATION_RAM_COMPRESS_H

#include "qemu/osdep.h"
#include "exec/memory.h"
#include "migration/qemu-file.h"
#include "migration/migration-stats.h"
#include <json-glib/json-glib.h>
#include <zlib.h>

/* ---- source */

typedef struct RamCompress RamCompress;

/*
 * Start compress-threads threads at compress-level (migration thread, at
 * save_setup).  Zero pages found by a thread are counted in @stats.
 * Resets the query-migrate counters.
 */
RamCompress *ram_compress_save_setup(MigrationStats *stats, Error **errp);
/* Stop and free the threads (a pending result is dropped).  NULL is fine. */
void ram_compress_save_cleanup(RamCompress *c);
/*
 * Hand page @offset of @rb to a thread; its record will CONTINUE the
 * current block, so the caller must have sent a record of @rb last.  The
 * previous result of that thread goes to @f first.  False: no thread was
 * free (compress-wait-thread off); the caller sends the page itself.
 */
bool ram_compress_save_page(RamCompress *c, QEMUFile *f, RAMBlock *rb,
                            uint64_t offset);
/* Wait for every thread and copy every pending result into @f. */
void ram_compress_flush(RamCompress *c, QEMUFile *f);

/*
 * At each dirty sync: busy-rate and compression-rate over the period
 * since the previous call; @pages_sent: ZERO + PAGE records so far (the
 * compressed ones are added here).
 */
void ram_compress_update_rates(uint64_t pages_sent);
/* query-migrate: add "compression" to @info (7.2's CompressionStats). */
void ram_compress_fill_info(JsonObject *info);

/* ---- destination */

typedef struct RamDecompress RamDecompress;

/* Start decompress-threads threads (incoming thread, at load_setup). */
RamDecompress *ram_decompress_setup(Error **errp);
/* Wait for the threads, stop and free them.  NULL is fine. */
void ram_decompress_cleanup(RamDecompress *d);
/*
 * Read the payload of a COMPRESS_PAGE record (be32 N, N bytes) from @f
 * and have a thread inflate it into @host, page @addr of @rb (already
 * checked to lie inside the block).  False with @errp naming the block,
 * offset and stream position @pos when N is out of range, the stream
 * failed, or a thread already met an error.
 */
bool ram_decompress_load_page(RamDecompress *d, QEMUFile *f, RAMBlock *rb,
                              uint64_t addr, uint8_t *host, uint64_t pos,
                              Error **errp);
/* Wait until no thread is inflating into page @addr of @rb. */
void ram_decompress_wait_page(RamDecompress *d, RAMBlock *rb, uint64_t addr);
/*
 * Wait until every thread is idle; false with @errp set to the first
 * error a thread met (sticky).
 */
bool ram_decompress_wait_all(RamDecompress *d, Error **errp);

/*
 * Inflate one complete zlib stream @in of @len bytes with @zs (inflateInit
 * done; reset here) into exactly @page_size bytes at @out.  False with
 * @errp saying what was wrong (not a zlib stream, corrupt, ends before the
 * page is full, goes on past it).  Pure: the fuzz target calls it.
 */
bool ram_decompress_page(z_stream *zs, const uint8_t *in, size_t len,
                         uint8_t *out, size_t page_size, Error **errp);
/*
 * Deflate @page_size bytes of @in into @out (room for @out_size, at least
 * compressBound(@page_size)) as one complete zlib stream with @zs
 * (deflateInit done; reset here).  Returns the length, or -1.
 */
long ram_compress_page(z_stream *zs, const uint8_t *in, size_t page_size,
                       uint8_t *out, size_t out_size);

#endif
