/*
 * RAM migration, precopy: the "ram" section, version 4, its sending side
 * and registration (the loading side is ram-load.c; docs/devel/migration/
 * ram.rst has the byte layouts and a diagram).
 *
 * Record: be64 (offset_in_block | flags), then, unless CONTINUE is set, a
 * counted string with the block's idstr, then the flag's payload:
 *   ZERO      u8 fill byte (0)
 *   PAGE      TARGET_PAGE_SIZE bytes
 *   MEM_SIZE  (offset = total bytes) per block: idstr, be64 used_length,
 *             [be64 page_size with postcopy-ram on a huge-page block],
 *             [be64 guest address with x-ignore-shared]
 *   EOS       ends the START, PART or END payload
 *
 * Source lifecycle of the per-block migration bitmap rb->bmap:
 *   setup:    allocated all ones (every page must be sent once), dirty
 *             log started, first sync;
 *   iterate:  a page's bit is cleared when it is sent;
 *   sync:     the dirty log (pages written since the last sync) is ORed in;
 *   complete: last sync with the VM stopped, every remaining page sent;
 *   cleanup:  dirty log stopped, bitmaps freed.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/cutils.h"
#include "qemu/thread.h"
#include "exec/memory.h"
#include "migration/register.h"
#include "migration/qemu-file.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/migration.h"
#include "migration/migration-stats.h"
#include "migration/ram.h"
#include "migration/ram-internal.h"
#include "migration/rdma.h"
#include "migration/ram-zero.h"
#include "migration/postcopy-ram.h"
#include "migration/ram-xbzrle.h"
#include "migration/ram-compress.h"
#include "migration/ram-throttle.h"
#include "migration/migration-convergence.h"
#include "migration/multifd.h"
#include "migration/dirtyrate.h"
#include "sysemu/runstate.h"
#include "trace.h"

/* Time budget of one iteration, and how often it is checked (pages). */
#define RAM_ITERATE_MAX_WAIT_MS    50
#define RAM_ITERATE_CHECK_PAGES    64

/*
 * One outgoing migration.  Created by save_setup, freed by save_cleanup.
 *
 * Set once at setup: stats.
 * Owned by the migration thread: everything else, and the blocks' bmap.
 * Atomic (read by query-migrate from the main thread): migration_dirty_pages.
 */
struct RAMState {
    MigrationStats *stats;
    bool dirty_log_started;
    /* the setup sync takes the boot zero maps (ram_take_known_zero) */
    bool take_boot_zero;

    /* search cursor: the next page to look at */
    RAMBlock *cur_block;
    unsigned long cur_page;
    /* block of the last page record, for RAM_SAVE_FLAG_CONTINUE */
    RAMBlock *last_sent_block;
    /* untouched pages of the chunk being sent; dropped at every sync */
    RamZeroCache zero;

    /* pages sent and not yet added to stats (see ram_flush_stats) */
    uint64_t zero_pages;
    uint64_t normal_pages;
    /* blocks in ram_list (fixed while migrating) */
    unsigned nblocks;

    /* dirty bits set in all bmaps */
    uint64_t migration_dirty_pages;
    /* dirty-rate window */
    int64_t time_last_bitmap_sync;   /* ms */
    uint64_t num_dirty_pages_period;
    /* auto-converge trigger (ram-throttle.h) */
    RamThrottle throttle;

    /* postcopy: set at the switch (migration thread) */
    bool in_postcopy;
    /* pages the destination asked for, served before the scan */
    PostcopyReqQueue *reqs;
    /* xbzrle: set once the first pass over RAM is done (ram-xbzrle.h) */
    bool xbzrle_enabled;
    /* xbzrle is on: the first pass fills the cache (ram_xbzrle_prime_page) */
    bool xbzrle_prime;
    /* compress: the threads (ram-compress.h), NULL when off */
    RamCompress *compress;
    /* the completion: the VM is stopped */
    bool last_stage;

    /*
     * postcopy-preempt, from the switch on (set before in_postcopy): the
     * return-path thread sends requested host pages on the preempt
     * channel while the migration thread sends the rest on the main one.
     * Each host page is claimed whole (its dirty bits cleared, the count
     * lowered) under bitmap_mutex by the one that sends it, so no page
     * goes twice and no host page is split between the channels.
     */
    bool preempt;
    QemuMutex bitmap_mutex;
    struct {
        QemuMutex lock;              /* the preempt file and the fields */
        QEMUFile *f;
        RAMBlock *last_sent_block;   /* CONTINUE on this channel */
        uint64_t pages;              /* target pages sent on it */
    } pre;
};

RAMMigration ram_migration;

static inline uint64_t now_ms(void)
{
    return get_clock() / 1000000;
}

bool ramblock_is_ignored(RAMBlock *rb)
{
    return migrate_ignore_shared() && qemu_ram_is_shared(rb);
}

/* ------------------------------------------------------------ dirty sync */

/* The MIGRATION_PASS notification: the one place it is called. */
static void ram_pass_event(uint64_t pass)
{
    migration_pass_event(pass);
}

/* Forget every block's known_zero map (either side). */
void ram_known_zero_free(void)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        g_free(rb->known_zero);
        rb->known_zero = NULL;
    }
}

/*
 * Take @rb's boot zero map into rb->known_zero (see
 * ramblock_take_boot_zero_map); false when the block has none.
 */
bool ram_take_known_zero(RAMBlock *rb)
{
    g_free(rb->known_zero);
    rb->known_zero = bitmap_new(ramblock_pages(rb));
    if (!ramblock_take_boot_zero_map(rb, rb->known_zero)) {
        g_free(rb->known_zero);
        rb->known_zero = NULL;
        return false;
    }
    return true;
}

static void migration_bitmap_sync(RAMState *rs)
{
    uint64_t new_dirty = 0;
    uint64_t end, elapsed, pass;
    RAMBlock *rb;
    bool live;

    /* A page may be written from now on: the pagemap snapshot is stale. */
    ram_zero_cache_invalidate(&rs->zero);
    /*
     * A page written since the boot zero maps were taken is in the log
     * being synced now, and will be sent again: the maps must not call it
     * zero any more.
     */
    if (!rs->take_boot_zero) {
        ram_known_zero_free();
    }
    pass = qatomic_fetch_add(&rs->stats->dirty_sync_count, 1) + 1;
    if (!rs->time_last_bitmap_sync) {
        rs->time_last_bitmap_sync = now_ms();
    }
    RAMBLOCK_FOREACH_MIGRATABLE(rb) {
        /*
         * At setup every bit of bmap is set: taking the boot map clears
         * the log as a sync would, and tells which pages are still zero.
         */
        if (rb->bmap && !(rs->take_boot_zero && ram_take_known_zero(rb))) {
            new_dirty += ramblock_sync_dirty_log(rb, rb->bmap, 0,
                                                 ramblock_pages(rb));
        }
    }
    qatomic_set(&rs->migration_dirty_pages,
                rs->migration_dirty_pages + new_dirty);
    rs->num_dirty_pages_period += new_dirty;

    /* Dirty rate over the period since the previous rate update. */
    end = now_ms();
    elapsed = end - rs->time_last_bitmap_sync;
    if (elapsed > 0) {
        stat64_set(&rs->stats->dirty_pages_rate,
                   rs->num_dirty_pages_period * 1000 / elapsed);
        rs->num_dirty_pages_period = 0;
        rs->time_last_bitmap_sync = end;
    }
    stat64_set(&rs->stats->dirty_pages, rs->migration_dirty_pages);
    if (migrate_xbzrle()) {
        ram_xbzrle_update_rates(stat64_get(&rs->stats->zero_pages) +
                                stat64_get(&rs->stats->normal_pages) +
                                rs->zero_pages + rs->normal_pages);
    }
    if (rs->compress) {
        ram_compress_update_rates(stat64_get(&rs->stats->zero_pages) +
                                  stat64_get(&rs->stats->normal_pages) +
                                  rs->zero_pages + rs->normal_pages);
    }
    trace_migration_bitmap_sync(pass, new_dirty, rs->migration_dirty_pages);
    /* the throttle trigger and the verdict judge the guest while it runs */
    live = !rs->last_stage && !rs->in_postcopy && runstate_is_running();
    ram_throttle_sync(&rs->throttle, new_dirty, end, live);
    if (live && pass >= 2) {
        migration_convergence_pass(pass, rs->migration_dirty_pages *
                                         TARGET_PAGE_SIZE,
                                   stat64_get(&rs->stats->dirty_pages_rate) *
                                   TARGET_PAGE_SIZE);
    }
    ram_pass_event(pass);
}

/* ------------------------------------------------------------ sending */

static void save_page_header(RAMState *rs, QEMUFile *f, RAMBlock *rb,
                             uint64_t word)
{
    if (rb == rs->last_sent_block) {
        word |= RAM_SAVE_FLAG_CONTINUE;
    }
    qemu_put_be64(f, word);
    if (!(word & RAM_SAVE_FLAG_CONTINUE)) {
        qemu_put_counted_string(f, rb->idstr);
        rs->last_sent_block = rb;
    }
}

/* release-ram in postcopy, page by page as the file writes it. */
static bool ram_release_after_write(RAMState *rs, RAMBlock *rb)
{
    return rs->in_postcopy && migrate_release_ram() && rb->fd < 0 &&
           rb->page_size == TARGET_PAGE_SIZE;
}

/* save_page_header for ram-xbzrle.c (RamPageHeaderFn). */
static void ram_xbzrle_header(void *opaque, QEMUFile *f, RAMBlock *rb,
                              uint64_t word)
{
    save_page_header(opaque, f, rb, word);
}

/* Send page @page of @rb, whose dirty bit the caller just cleared. */
static void ram_save_page(RAMState *rs, QEMUFile *f, RAMBlock *rb,
                          unsigned long page)
{
    uint64_t offset = (uint64_t)page << TARGET_PAGE_BITS;
    uint8_t *p = rb->host + offset;
    bool to_multifd = !rs->in_postcopy && multifd_send_active();
    int zpd = migrate_zero_page_detection();
    /* none: no detection; multifd: the channel threads detect */
    bool find_zero = zpd == ZERO_PAGE_DETECTION_LEGACY ||
                     (zpd == ZERO_PAGE_DETECTION_MULTIFD && !to_multifd);

    if (!rs->in_postcopy && rdma_file_active(f)) {
        /* RDMA: every page, zero or not, goes by RDMA WRITE (rdma-ram.c) */
        rdma_save_page(f, rb, offset);
        qemu_file_acct_rate_limit(f, TARGET_PAGE_SIZE);
        rs->normal_pages++;
        return;
    }
    if (rs->compress && rb != rs->last_sent_block) {
        /*
         * The pending compressed records CONTINUE the previous block: out
         * they go before this page names its block (sent uncompressed).
         */
        ram_compress_flush(rs->compress, f);
    }
    /*
     * An untouched page is zero without reading it (reading would fault
     * it in); one written since the probe is dirty again in the log, and
     * the probe never outlives a sync (migration_bitmap_sync).
     */
    if (find_zero && (ram_zero_cache_untouched(&rs->zero, rb, page) ||
                      buffer_is_zero(p, TARGET_PAGE_SIZE))) {
        if (rb == rs->last_sent_block) {
            /* the common case in one put: be64 word, fill byte 0 */
            uint64_t word = GUINT64_TO_BE(offset | RAM_SAVE_FLAG_ZERO |
                                          RAM_SAVE_FLAG_CONTINUE);
            uint8_t rec[9] = { 0 };

            memcpy(rec, &word, sizeof(word));
            qemu_put_buffer(f, rec, sizeof(rec));
        } else {
            save_page_header(rs, f, rb, offset | RAM_SAVE_FLAG_ZERO);
            qemu_put_byte(f, 0);
        }
        rs->zero_pages++;
        if (rs->xbzrle_enabled && !rs->in_postcopy) {
            ram_xbzrle_zero_page(rb, offset,
                                 stat64_get(&rs->stats->dirty_sync_count));
        }
        trace_ram_save_page(rb->idstr, offset, true);
    } else if (rs->compress && !rs->xbzrle_enabled && !rs->in_postcopy &&
               rb == rs->last_sent_block &&
               ram_compress_save_page(rs->compress, f, rb, offset)) {
        /* a thread writes the record; it goes out at its next page or flush */
        trace_ram_save_page(rb->idstr, offset, false);
    } else if (to_multifd) {
        /*
         * a multifd channel sends it (as 7.2: before XBZRLE); no record
         * here.  With zero-page-detection=multifd the channel counts it.
         */
        if (multifd_queue_page(f, rb, offset) &&
            zpd != ZERO_PAGE_DETECTION_MULTIFD) {
            rs->normal_pages++;
        }
        trace_ram_save_page(rb->idstr, offset, false);
    } else if (rs->xbzrle_enabled && !rs->in_postcopy) {
        /* XBZRLE record, nothing, or PAGE (sent by copy); never in postcopy */
        if (ram_xbzrle_save_page(f, rb, offset, p,
                                 stat64_get(&rs->stats->dirty_sync_count),
                                 rs->last_stage, ram_xbzrle_header, rs) ==
            RAM_XBZRLE_NORMAL) {
            rs->normal_pages++;
        }
    } else if (rs->xbzrle_prime && !rs->xbzrle_enabled && !rs->last_stage &&
               !rs->in_postcopy &&
               ram_xbzrle_prime_page(f, rb, offset, p,
                                     stat64_get(&rs->stats->dirty_sync_count),
                                     ram_xbzrle_header, rs)) {
        /* first pass: a PAGE record from the copy now in the cache */
        rs->normal_pages++;
        trace_ram_save_page(rb->idstr, offset, false);
    } else {
        save_page_header(rs, f, rb, offset | RAM_SAVE_FLAG_PAGE);
        /*
         * No copy: the page is written from guest RAM at the next flush;
         * with release-ram in postcopy a private anonymous page is given
         * back to the kernel once written.
         */
        qemu_put_buffer_async(f, p, TARGET_PAGE_SIZE,
                              ram_release_after_write(rs, rb));
        rs->normal_pages++;
        trace_ram_save_page(rb->idstr, offset, false);
    }
}

/*
 * Multifd, QEMU 7.2's rule: every "ram" section (START, PART, END) ends
 * with a SYNC on every channel before its EOS, and the destination syncs
 * at every EOS (docs/devel/migration/multifd.rst).  An error goes to @f.
 */
static void ram_multifd_sync(QEMUFile *f)
{
    if (multifd_send_active()) {
        (void)multifd_send_sync_main(f);
    }
}

/* Publish the pages sent since the last call (query-migrate reads them). */
static void ram_flush_stats(RAMState *rs)
{
    if (rs->zero_pages) {
        stat64_add(&rs->stats->zero_pages, rs->zero_pages);
        rs->zero_pages = 0;
    }
    if (rs->normal_pages) {
        stat64_add(&rs->stats->normal_pages, rs->normal_pages);
        rs->normal_pages = 0;
    }
}

/*
 * Send ZERO|CONTINUE records for the run of pages from @page (dirty and
 * untouched, in the same block as the previous record) that are dirty and
 * untouched, up to the end of the probed chunk, without reading them.
 * Clears their dirty bits; returns how many were sent (at least 1).
 */
static unsigned long ram_save_zero_run(RAMState *rs, QEMUFile *f,
                                       RAMBlock *rb, unsigned long page,
                                       unsigned long limit)
{
    RamZeroCache *z = &rs->zero;
    unsigned long end = MIN(z->first + z->npages, limit);
    uint8_t rec[64 * 9];
    unsigned long p, n = 0;
    size_t len = 0;

    assert(rb == rs->last_sent_block && z->rb == rb && page >= z->first);
    for (p = page; p < end && test_bit(p, rb->bmap) &&
                   test_bit(p - z->first, z->bits); p++) {
        uint64_t word = GUINT64_TO_BE(((uint64_t)p << TARGET_PAGE_BITS) |
                                      RAM_SAVE_FLAG_ZERO |
                                      RAM_SAVE_FLAG_CONTINUE);

        clear_bit(p, rb->bmap);
        if (rs->xbzrle_enabled) {
            ram_xbzrle_zero_page(rb, (uint64_t)p << TARGET_PAGE_BITS,
                                 stat64_get(&rs->stats->dirty_sync_count));
        }
        memcpy(rec + len, &word, sizeof(word));
        rec[len + 8] = 0;
        len += 9;
        if (len == sizeof(rec)) {
            qemu_put_buffer(f, rec, len);
            len = 0;
        }
        n++;
    }
    qemu_put_buffer(f, rec, len);
    qatomic_set(&rs->migration_dirty_pages, rs->migration_dirty_pages - n);
    rs->zero_pages += n;
    z->hits += n;
    trace_ram_save_zero_run(rb->idstr, page, n);
    return n;
}

/* The block after @rb, wrapping around (ignored blocks have no bmap). */
static RAMBlock *ram_next_block(RAMBlock *rb)
{
    rb = rb ? QTAILQ_NEXT(rb, next) : NULL;
    return rb ? rb : QTAILQ_FIRST(&ram_list);
}

/*
 * postcopy-preempt: clear the dirty bits of the host page of @rb from
 * target page @first (aligned) under bitmap_mutex, noting them in
 * @claimed (bit i: page first + i); returns how many.
 */
static unsigned long ram_claim_host_page(RAMState *rs, RAMBlock *rb,
                                         unsigned long first,
                                         unsigned long *claimed)
{
    unsigned long hp = rb->page_size >> TARGET_PAGE_BITS;
    unsigned long end = MIN(first + hp, ramblock_pages(rb)), n = 0;

    qemu_mutex_lock(&rs->bitmap_mutex);
    for (unsigned long p = first; p < end; p++) {
        if (test_and_clear_bit(p, rb->bmap)) {
            set_bit(p - first, claimed);
            n++;
        }
    }
    qatomic_set(&rs->migration_dirty_pages, rs->migration_dirty_pages - n);
    qemu_mutex_unlock(&rs->bitmap_mutex);
    return n;
}

/* The claimed path of ram_save_host_page (postcopy with preempt). */
static unsigned long ram_save_host_page_claimed(RAMState *rs, QEMUFile *f,
                                                RAMBlock *rb,
                                                unsigned long page,
                                                unsigned long *next)
{
    unsigned long hp = rb->page_size >> TARGET_PAGE_BITS;
    unsigned long first = QEMU_ALIGN_DOWN(page, hp);
    unsigned long end = MIN(first + hp, ramblock_pages(rb));
    unsigned long word = 0, *claimed = hp <= BITS_PER_LONG ? &word
                                                           : bitmap_new(hp);
    unsigned long n = ram_claim_host_page(rs, rb, first, claimed);

    for (unsigned long p = first; n && p < end; p++) {
        if (test_bit(p - first, claimed)) {
            ram_save_page(rs, f, rb, p);
        }
    }
    if (claimed != &word) {
        g_free(claimed);
    }
    *next = end;
    return n;
}

/*
 * Send the dirty pages of the host page of @rb that holds target page
 * @page (dirty), in order: a huge page always goes whole and alone, so
 * that the destination can place it atomically in postcopy.  On a block of
 * target-size pages this is @page, or the run of untouched pages from it.
 * Returns how many target pages were sent; *@next is the page after.
 */
static unsigned long ram_save_host_page(RAMState *rs, QEMUFile *f,
                                        RAMBlock *rb, unsigned long page,
                                        unsigned long *next)
{
    unsigned long hp = rb->page_size >> TARGET_PAGE_BITS;
    unsigned long first = QEMU_ALIGN_DOWN(page, hp);
    unsigned long end = hp > 1 ? MIN(first + hp, ramblock_pages(rb))
                               : ramblock_pages(rb);
    unsigned long n = 0, k;

    if (rs->preempt) {
        n = ram_save_host_page_claimed(rs, f, rb, page, next);
        goto release;
    }
    do {
        /* (never over RDMA: no record may follow the HOOK word) */
        if (rb == rs->last_sent_block && !rdma_file_active(f) &&
            ram_zero_cache_untouched(&rs->zero, rb, page)) {
            k = ram_save_zero_run(rs, f, rb, page, end);
        } else {
            clear_bit(page, rb->bmap);
            qatomic_set(&rs->migration_dirty_pages,
                        rs->migration_dirty_pages - 1);
            ram_save_page(rs, f, rb, page);
            k = 1;
        }
        n += k;
        page += k;
        if (hp == 1) {
            break;
        }
        page = find_next_bit(rb->bmap, end, page);
    } while (page < end);
    *next = hp == 1 ? page : end;
release:
    if (rs->in_postcopy && migrate_release_ram() &&
        !ram_release_after_write(rs, rb)) {
        /* release-ram: the host page is written, give it back */
        qemu_fflush(f);
        (void)ram_block_discard_range(rb, (uint64_t)first << TARGET_PAGE_BITS,
                                      rb->page_size);
    }
    return n;
}

/*
 * Postcopy: serve the oldest request that still has dirty pages; the scan
 * then goes on right after it.  Returns the pages sent, 0 when no request
 * needed anything.
 */
static unsigned long ram_save_requested(RAMState *rs, QEMUFile *f)
{
    PostcopyPageRequest *r;

    while (rs->reqs && (r = postcopy_req_queue_take(rs->reqs))) {
        RAMBlock *rb = r->rb;
        unsigned long page = r->offset >> TARGET_PAGE_BITS;
        unsigned long end = (r->offset + r->len) >> TARGET_PAGE_BITS;
        unsigned long n = 0, next = page;

        g_free(r);
        if (!rb->bmap) {
            continue;           /* the block is not sent (see the queue) */
        }
        while ((page = find_next_bit(rb->bmap, end, page)) < end) {
            n += ram_save_host_page(rs, f, rb, page, &next);
            page = next;
        }
        trace_ram_save_requested(rb->idstr, (uint64_t)end << TARGET_PAGE_BITS,
                                 n);
        if (n) {
            rs->cur_block = rb;
            rs->cur_page = next;
            return n;
        }
    }
    return 0;
}

/*
 * Find the next dirty page from the cursor (wrapping around once) and send
 * its host page; requested pages go first.  Returns how many pages were
 * sent, 0 when no page is dirty.
 */
static unsigned long ram_find_and_save_block(RAMState *rs, QEMUFile *f)
{
    RAMBlock *rb = rs->cur_block;
    unsigned long page = rs->cur_page;
    unsigned nblocks = rs->nblocks, tries;
    unsigned long n;

    if (!qatomic_read(&rs->migration_dirty_pages)) {
        return 0;
    }
    n = ram_save_requested(rs, f);
    if (n) {
        return n;
    }
    rb = rs->cur_block;
    page = rs->cur_page;
    if (!rb) {
        rb = ram_next_block(NULL);
        page = 0;
    }
    /* Every block once, plus the start of the first block again. */
    for (tries = 0; rb && tries <= nblocks; tries++) {
        unsigned long pages = ramblock_pages(rb);

        page = rb->bmap ? find_next_bit(rb->bmap, pages, page) : pages;
        if (page < pages) {
            unsigned long next;

            n = ram_save_host_page(rs, f, rb, page, &next);
            rs->cur_block = rb;
            rs->cur_page = next;
            return n;
        }
        rb = ram_next_block(rb);
        page = 0;
        if (rb == QTAILQ_FIRST(&ram_list)) {
            /* a round of the scan ends: its compressed records go out */
            ram_compress_flush(rs->compress, f);
        }
        if (rb == QTAILQ_FIRST(&ram_list) && migrate_xbzrle() &&
            !rs->xbzrle_enabled) {
            /* the first pass over RAM is done: deltas from now on */
            rs->xbzrle_enabled = true;
            trace_ram_xbzrle_enabled();
        }
    }
    /* The count said dirty, the bitmaps say clean: trust the bitmaps. */
    qatomic_set(&rs->migration_dirty_pages, 0);
    return 0;
}

/* ------------------------------------------------------------ handlers: save */

static void ram_state_free(RAMState *rs)
{
    RAMBlock *rb;

    if (!rs) {
        return;
    }
    if (rs->dirty_log_started) {
        memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
    }
    ram_xbzrle_cleanup();
    ram_compress_save_cleanup(rs->compress);
    RAMBLOCK_FOREACH(rb) {
        g_free(rb->bmap);
        rb->bmap = NULL;
        g_free(rb->clear_bmap);
        rb->clear_bmap = NULL;
    }
    ram_known_zero_free();
    qemu_mutex_destroy(&rs->bitmap_mutex);
    qemu_mutex_destroy(&rs->pre.lock);
    g_free(rs);
}

static void ram_save_cleanup(void *opaque)
{
    RAMMigration *rm = opaque;
    RAMState *rs;

    qemu_mutex_lock(&rm->lock);
    rs = rm->save;
    rm->save = NULL;
    qemu_mutex_unlock(&rm->lock);
    if (rs) {
        trace_ram_save_cleanup();
        ram_state_free(rs);
    }
}

static void ram_write_block_list(QEMUFile *f)
{
    uint64_t total = 0;
    RAMBlock *rb;

    /* Total of every block, ignored ones included (facts 3.3). */
    RAMBLOCK_FOREACH(rb) {
        total += rb->used_length;
    }
    qemu_put_be64(f, total | RAM_SAVE_FLAG_MEM_SIZE);
    RAMBLOCK_FOREACH(rb) {
        qemu_put_counted_string(f, rb->idstr);
        qemu_put_be64(f, rb->used_length);
        if (migrate_postcopy_ram() &&
            rb->page_size != qemu_real_host_page_size) {
            qemu_put_be64(f, rb->page_size);
        }
        if (migrate_ignore_shared()) {
            qemu_put_be64(f, rb->mr ? rb->mr->addr : rb->mr_addr);
        }
    }
}

static int ram_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RAMMigration *rm = opaque;
    RAMState *rs;
    RAMBlock *rb;

    ram_save_cleanup(rm);       /* a previous migration that was not cleaned */
    RAMBLOCK_FOREACH(rb) {
        if (strlen(rb->idstr) > QEMU_VM_COUNTED_STRING_MAX ||
            !QEMU_IS_ALIGNED(rb->used_length, TARGET_PAGE_SIZE)) {
            error_setg(errp, "ram: block %s: name longer than 255 bytes or "
                       "length 0x%" PRIx64 " not page aligned", rb->idstr,
                       rb->used_length);
            return -EINVAL;
        }
    }

    if (migrate_xbzrle() && !ram_xbzrle_setup(errp)) {
        return -ENOMEM;
    }
    rs = g_new0(RAMState, 1);
    qemu_mutex_init(&rs->bitmap_mutex);
    qemu_mutex_init(&rs->pre.lock);
    rs->stats = &migrate_get_current()->stats;
    rs->reqs = &migrate_get_current()->page_requests;
    rs->xbzrle_prime = migrate_xbzrle();
    if (migrate_compress()) {
        rs->compress = ram_compress_save_setup(rs->stats, errp);
        if (!rs->compress) {
            ram_state_free(rs);
            return -ENOMEM;
        }
    }
    RAMBLOCK_FOREACH(rb) {
        rs->nblocks++;
    }
    RAMBLOCK_FOREACH_MIGRATABLE(rb) {
        unsigned long pages = ramblock_pages(rb);

        rb->bmap = bitmap_new(pages);
        bitmap_set(rb->bmap, 0, pages);
        rs->migration_dirty_pages += pages;
    }
    /*
     * From here on every write is logged; a page written before is still
     * dirty in bmap, so nothing is missed.
     */
    memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION);
    rs->dirty_log_started = true;
    rs->take_boot_zero = true;
    migration_bitmap_sync(rs);
    rs->take_boot_zero = false;
    memory_boot_log_end();

    qemu_mutex_lock(&rm->lock);
    rm->save = rs;
    qemu_mutex_unlock(&rm->lock);
    trace_ram_save_setup(rs->migration_dirty_pages);

    ram_write_block_list(f);
    /* RDMA: HOOK, then the block list exchange (facts 11.5) */
    rdma_registration_start(f, RDMA_ROUND_SETUP);
    rdma_registration_stop(f, RDMA_ROUND_SETUP);
    ram_multifd_sync(f);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    qemu_fflush(f);
    return qemu_file_get_error_obj(f, errp);
}

static int ram_save_iterate(QEMUFile *f, void *opaque)
{
    RAMMigration *rm = opaque;
    RAMState *rs = rm->save;
    uint64_t t0 = now_ms();
    uint64_t pages = 0, check = RAM_ITERATE_CHECK_PAGES;
    int done = 0;
    int ret;

    if (!rs) {
        qemu_file_set_error_obj(f, -EINVAL, NULL);
        return -EINVAL;
    }
    rdma_registration_start(f, RDMA_ROUND_ITERATE);
    while (!qemu_file_rate_limit(f) ||
           (rs->in_postcopy && postcopy_req_queue_has(rs->reqs))) {
        unsigned long n = ram_find_and_save_block(rs, f);

        if (!n) {
            done = 1;
            break;
        }
        pages += n;
        if (pages >= check) {
            check = pages + RAM_ITERATE_CHECK_PAGES;
            if (now_ms() - t0 > RAM_ITERATE_MAX_WAIT_MS) {
                break;
            }
        }
    }
    /* no compressed record of this section may follow its EOS */
    ram_compress_flush(rs->compress, f);
    rdma_registration_stop(f, RDMA_ROUND_ITERATE);
    ram_flush_stats(rs);
    stat64_set(&rs->stats->dirty_pages, rs->migration_dirty_pages);
    ram_multifd_sync(f);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    qemu_fflush(f);
    ret = qemu_file_get_error(f);
    trace_ram_save_iterate(pages, done, ret);
    return ret < 0 ? ret : done;
}

static int ram_save_complete(QEMUFile *f, void *opaque)
{
    RAMMigration *rm = opaque;
    RAMState *rs = rm->save;
    uint64_t pages = 0, check = RAM_ITERATE_CHECK_PAGES;
    unsigned long n;
    int ret;

    if (!rs) {
        qemu_file_set_error_obj(f, -EINVAL, NULL);
        return -EINVAL;
    }
    rs->last_stage = true;
    if (!rs->in_postcopy) {
        /* in postcopy the VM stopped at the switch, which synced last */
        migration_bitmap_sync(rs);
    }
    if (!rs->in_postcopy) {
        rdma_registration_start(f, RDMA_ROUND_FINISH);
    }
    while ((n = ram_find_and_save_block(rs, f))) {
        pages += n;
        if (pages >= check) {
            check = pages + RAM_ITERATE_CHECK_PAGES;
            if (qemu_file_get_error(f)) {
                break;
            }
        }
    }
    /* no compressed record of this section may follow its EOS */
    ram_compress_flush(rs->compress, f);
    if (!rs->in_postcopy) {
        rdma_registration_stop(f, RDMA_ROUND_FINISH);
    }
    ram_flush_stats(rs);
    stat64_set(&rs->stats->dirty_pages, rs->migration_dirty_pages);
    ram_multifd_sync(f);
    qemu_put_be64(f, RAM_SAVE_FLAG_EOS);
    qemu_fflush(f);
    ret = qemu_file_get_error(f);
    if (!ret && rs->preempt && migrate_preempt_pre_7_2()) {
        /* QEMU 7.2 machine types: the preempt channel ends with EOS too */
        qemu_mutex_lock(&rs->pre.lock);
        qemu_put_be64(rs->pre.f, RAM_SAVE_FLAG_EOS);
        qemu_fflush(rs->pre.f);
        ret = qemu_file_get_error(rs->pre.f);
        qemu_mutex_unlock(&rs->pre.lock);
    }
    trace_ram_save_complete(pages, ret);
    return ret;
}

static void ram_state_pending_estimate(void *opaque, uint64_t *must_precopy,
                                       uint64_t *can_postcopy)
{
    RAMMigration *rm = opaque;
    RAMState *rs = rm->save;

    if (rs) {
        uint64_t bytes = qatomic_read(&rs->migration_dirty_pages) *
                         TARGET_PAGE_SIZE;

        /* with postcopy-ram every page can also go after the switch */
        if (migrate_postcopy_ram()) {
            *can_postcopy += bytes;
        } else {
            *must_precopy += bytes;
        }
    }
}

static void ram_state_pending_exact(void *opaque, uint64_t *must_precopy,
                                    uint64_t *can_postcopy)
{
    RAMMigration *rm = opaque;

    if (rm->save && !rm->save->in_postcopy) {
        migration_bitmap_sync(rm->save);
    }
    ram_state_pending_estimate(opaque, must_precopy, can_postcopy);
}

uint64_t ram_bytes_remaining(void)
{
    uint64_t r = 0;

    qemu_mutex_lock(&ram_migration.lock);
    if (ram_migration.save) {
        r = qatomic_read(&ram_migration.save->migration_dirty_pages) *
            TARGET_PAGE_SIZE;
    }
    qemu_mutex_unlock(&ram_migration.lock);
    return r;
}

/* ------------------------------------------------------------ postcopy */

static bool ram_has_postcopy(void *opaque)
{
    return migrate_postcopy_ram();
}

bool ram_postcopy_send_discard_bitmap(QEMUFile *f, Error **errp)
{
    RAMState *rs = ram_migration.save;
    uint64_t more;

    if (!rs) {
        error_setg(errp, "ram: postcopy switch without a RAM migration");
        return false;
    }
    /* the VM is stopped: this sync is the last one */
    migration_bitmap_sync(rs);
    rs->cur_block = NULL;
    rs->cur_page = 0;
    rs->last_sent_block = NULL;
    ram_zero_cache_invalidate(&rs->zero);
    more = ram_postcopy_discard_send(f);
    qatomic_set(&rs->migration_dirty_pages, rs->migration_dirty_pages + more);
    stat64_set(&rs->stats->dirty_pages, rs->migration_dirty_pages);
    rs->pre.f = migrate_get_current()->postcopy_qemufile_src;
    rs->pre.last_sent_block = NULL;
    /* requests come after LISTEN, which the package carries: after this */
    rs->preempt = rs->pre.f != NULL;
    rs->in_postcopy = true;
    return qemu_file_get_error_obj(f, errp) == 0;
}

void ram_postcopy_resume_begin(void)
{
    RAMState *rs = ram_migration.save;

    if (rs) {
        /* no urgent page until the channels are back */
        qatomic_set(&rs->preempt, false);
    }
}

void ram_postcopy_reload_bitmap(RAMBlock *rb, const uint8_t *le_bits,
                                uint64_t nbits)
{
    RAMState *rs = ram_migration.save;
    uint64_t dirty = 0;

    if (!rs || !rb->bmap) {
        return;
    }
    qemu_mutex_lock(&rs->bitmap_mutex);
    for (uint64_t i = 0; i < nbits; i++) {
        /* page i: bit (i mod 8) of byte (i / 8), set = received */
        if (le_bits[i / 8] & (1u << (i % 8))) {
            clear_bit(i, rb->bmap);
        } else {
            set_bit(i, rb->bmap);
            dirty++;
        }
    }
    qemu_mutex_unlock(&rs->bitmap_mutex);
    trace_ram_postcopy_reload_bitmap(rb->idstr, dirty);
}

void ram_postcopy_resume_prepare(QEMUFile *preempt)
{
    RAMState *rs = ram_migration.save;
    uint64_t dirty = 0;
    RAMBlock *rb;

    if (!rs) {
        return;
    }
    RAMBLOCK_FOREACH_MIGRATABLE(rb) {
        if (rb->bmap) {
            dirty += bitmap_count_one(rb->bmap, ramblock_pages(rb));
        }
    }
    qatomic_set(&rs->migration_dirty_pages, dirty);
    stat64_set(&rs->stats->dirty_pages, dirty);
    rs->cur_block = NULL;
    rs->cur_page = 0;
    rs->last_sent_block = NULL;
    ram_zero_cache_invalidate(&rs->zero);
    qemu_mutex_lock(&rs->pre.lock);
    rs->pre.f = preempt;
    rs->pre.last_sent_block = NULL;
    qemu_mutex_unlock(&rs->pre.lock);
    qatomic_set(&rs->preempt, preempt != NULL);
    trace_ram_postcopy_resume_prepare(dirty);
}

bool ram_postcopy_preempt_active(void)
{
    RAMState *rs = ram_migration.save;

    return rs && qatomic_read(&rs->preempt);
}

bool ram_postcopy_send_urgent(RAMBlock *rb, uint64_t start, uint64_t len,
                              Error **errp)
{
    RAMState *rs = ram_migration.save;
    unsigned long hp = rb->page_size >> TARGET_PAGE_BITS;
    unsigned long word = 0, *claimed;
    bool ok = true;

    if (!rs || !rs->preempt || !rb->bmap) {
        error_setg(errp, "ram: requested page 0x%" PRIx64 " of block %s "
                   "before the postcopy switch", start, rb->idstr);
        return false;
    }
    claimed = hp <= BITS_PER_LONG ? &word : bitmap_new(hp);
    for (uint64_t off = start; ok && off < start + len; off += rb->page_size) {
        unsigned long first = off >> TARGET_PAGE_BITS, zero = 0, normal = 0;
        unsigned long n;
        QEMUFile *f = rs->pre.f;

        bitmap_zero(claimed, hp);
        n = ram_claim_host_page(rs, rb, first, claimed);
        trace_ram_postcopy_send_urgent(rb->idstr, off, n);
        if (!n) {
            /* sent already, or being sent on the main channel */
            continue;
        }
        qemu_mutex_lock(&rs->pre.lock);
        for (unsigned long i = 0; i < hp; i++) {
            uint64_t offset = (uint64_t)(first + i) << TARGET_PAGE_BITS;
            uint8_t *host = rb->host + offset;
            bool is_zero;

            if (!test_bit(i, claimed)) {
                continue;
            }
            is_zero = buffer_is_zero(host, TARGET_PAGE_SIZE);
            offset |= is_zero ? RAM_SAVE_FLAG_ZERO : RAM_SAVE_FLAG_PAGE;
            if (rb == rs->pre.last_sent_block) {
                qemu_put_be64(f, offset | RAM_SAVE_FLAG_CONTINUE);
            } else {
                qemu_put_be64(f, offset);
                qemu_put_counted_string(f, rb->idstr);
                rs->pre.last_sent_block = rb;
            }
            if (is_zero) {
                qemu_put_byte(f, 0);
                zero++;
            } else {
                qemu_put_buffer(f, host, TARGET_PAGE_SIZE);
                normal++;
            }
        }
        qemu_fflush(f);
        rs->pre.pages += n;
        ok = qemu_file_get_error_obj(f, errp) == 0;
        qemu_mutex_unlock(&rs->pre.lock);
        stat64_add(&rs->stats->zero_pages, zero);
        stat64_add(&rs->stats->normal_pages, normal);
        if (ok && migrate_release_ram()) {
            (void)ram_block_discard_range(rb, off, rb->page_size);
        }
    }
    if (claimed != &word) {
        g_free(claimed);
    }
    if (!ok) {
        error_prepend(errp, "postcopy preempt channel: ");
    }
    return ok;
}

/* ------------------------------------------------------------ registration */

static const SaveVMHandlers savevm_ram_handlers = {
    .save_setup = ram_save_setup,
    .save_live_iterate = ram_save_iterate,
    .save_live_complete_precopy = ram_save_complete,
    .has_postcopy = ram_has_postcopy,
    .save_live_complete_postcopy = ram_save_complete,
    .state_pending_estimate = ram_state_pending_estimate,
    .state_pending_exact = ram_state_pending_exact,
    .save_cleanup = ram_save_cleanup,
    .load_setup = ram_load_setup,
    .load_state = ram_load_state,
    .load_cleanup = ram_load_cleanup,
};

void ram_mig_init(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    qemu_mutex_init(&ram_migration.lock);
    register_savevm_live("ram", 0, RAM_SECTION_VERSION, &savevm_ram_handlers,
                         &ram_migration);
}
