/*
 * The shared dirty log: one bitmap per RAMBlock (rb->dirty_log) set by
 * every guest store and device write while logging is on, and several
 * consumers of it.
 *
 * Migration, calc-dirty-rate's dirty-bitmap mode, and the per-vCPU
 * counters (dirty-ring mode, dirty-limit) all need "what was written since
 * I last looked".  A harvest moves the log's bits out once (atomic
 * exchange, so a store racing with it lands either in this harvest or in
 * the next, never in neither) and ORs them into the accumulated view of
 * every active consumer that keeps one (DirtyLogView).  A consumer's sync
 * drains its own view plus what the log holds now into its destination
 * bitmap, so each consumer sees every write exactly once per its own
 * syncs, whoever harvested in between.
 *
 * Fast path: when the syncing consumer is the only view and its view has
 * nothing pending (migration alone, the usual case), a sync is the direct
 * move of the log into the destination that it always was: no copy, no
 * extra pass.  The views and the harvest are serialised by dirty_log_lock;
 * the store path (memory_set_dirty_by) takes no lock.
 *
 * Per-vCPU counting (memory.h, DirtyCounter) counts clean-to-dirty
 * transitions of the log, so the counters move only while the log is
 * harvested; memory_dirty_log_harvest() is the reaper for consumers that
 * have no bitmap of their own.
 *
 * The boot log (GLOBAL_DIRTY_BOOT): until the first migration a cleared
 * bit means "never written since the block was created zero".  A harvest
 * by another consumer before that would destroy the fact, so it also
 * records what it took in rb->boot_written, and
 * ramblock_take_boot_zero_map counts those pages as written.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"
#include "dirty-log.h"
#include "trace.h"

#define BITS_PER_LONG_ (8 * sizeof(unsigned long))

__thread DirtyCounter *current_dirty_counter;

/* Serialises harvests, view drains, view start/stop and block add/remove. */
static GMutex dirty_log_lock;
/* Bit V: view V is allocated in every block.  Under dirty_log_lock. */
static unsigned views_active;

static int flag_view(unsigned flag)
{
    switch (flag) {
    case GLOBAL_DIRTY_MIGRATION:
        return DIRTY_VIEW_MIGRATION;
    case GLOBAL_DIRTY_DIRTY_RATE:
        return DIRTY_VIEW_DIRTY_RATE;
    default:
        return -1;
    }
}

static unsigned long block_pages(RAMBlock *rb)
{
    return rb->used_length >> TARGET_PAGE_BITS;
}

void dirty_log_block_added(RAMBlock *rb)
{
    g_mutex_lock(&dirty_log_lock);
    for (int v = 0; v < DIRTY_VIEW__MAX; v++) {
        if (views_active & (1u << v)) {
            rb->dirty_view[v] = bitmap_new(block_pages(rb) + 1);
        }
    }
    g_mutex_unlock(&dirty_log_lock);
}

void dirty_log_block_removed(RAMBlock *rb)
{
    g_mutex_lock(&dirty_log_lock);
    for (int v = 0; v < DIRTY_VIEW__MAX; v++) {
        g_free(rb->dirty_view[v]);
        rb->dirty_view[v] = NULL;
    }
    rb->dirty_view_pending = 0;
    g_free(rb->boot_written);
    rb->boot_written = NULL;
    g_mutex_unlock(&dirty_log_lock);
}

static void views_start_locked(unsigned flags)
{
    RAMBlock *rb;

    for (unsigned f = 1; f <= flags; f <<= 1) {
        int v = (flags & f) ? flag_view(f) : -1;

        if (v < 0 || (views_active & (1u << v))) {
            continue;
        }
        RAMBLOCK_FOREACH(rb) {
            rb->dirty_view[v] = bitmap_new(block_pages(rb) + 1);
            rb->dirty_view_pending &= ~(1u << v);
        }
        views_active |= 1u << v;
        trace_dirty_log_view_start(v);
    }
}

static void views_stop_locked(unsigned flags)
{
    RAMBlock *rb;

    for (unsigned f = 1; f <= flags; f <<= 1) {
        int v = (flags & f) ? flag_view(f) : -1;

        if (v < 0 || !(views_active & (1u << v))) {
            continue;
        }
        views_active &= ~(1u << v);
        RAMBLOCK_FOREACH(rb) {
            g_free(rb->dirty_view[v]);
            rb->dirty_view[v] = NULL;
            rb->dirty_view_pending &= ~(1u << v);
        }
        trace_dirty_log_view_stop(v);
    }
}

void memory_global_dirty_log_start(unsigned flags)
{
    unsigned old;

    g_mutex_lock(&dirty_log_lock);
    views_start_locked(flags);
    g_mutex_unlock(&dirty_log_lock);
    old = qatomic_fetch_or(&global_dirty_tracking, flags);
    trace_memory_global_dirty_log_start(old, old | flags);
}

void memory_global_dirty_log_stop(unsigned flags)
{
    unsigned old = qatomic_fetch_and(&global_dirty_tracking, ~flags);

    g_mutex_lock(&dirty_log_lock);
    views_stop_locked(flags);
    g_mutex_unlock(&dirty_log_lock);
    trace_memory_global_dirty_log_stop(old, old & ~flags);
}

/*
 * Take the bits @mask of log word @idx (clearing them) and OR them into
 * every active view except @skip (-1: none) and into boot_written while
 * the block is boot-logged.  Returns the bits taken.  Lock held.
 */
static unsigned long take_word_locked(RAMBlock *rb, unsigned long idx,
                                      unsigned long mask, int skip)
{
    unsigned long bits;
    unsigned others;

    if (!(qatomic_read(&rb->dirty_log[idx]) & mask)) {
        return 0;
    }
    if (mask == ~0UL) {
        bits = qatomic_xchg(&rb->dirty_log[idx], 0UL);
    } else {
        bits = qatomic_fetch_and(&rb->dirty_log[idx], ~mask) & mask;
    }
    if (!bits) {
        return 0;
    }
    others = views_active & ~(skip >= 0 ? 1u << skip : 0u);
    for (int v = 0; others; v++, others >>= 1) {
        if (others & 1) {
            rb->dirty_view[v][idx] |= bits;
            rb->dirty_view_pending |= 1u << v;
        }
    }
    if (rb->boot_log) {
        if (!rb->boot_written) {
            rb->boot_written = bitmap_new(block_pages(rb) + 1);
        }
        rb->boot_written[idx] |= bits;
    }
    return bits;
}

bool ramblock_take_boot_zero_map(RAMBlock *rb, unsigned long *dest)
{
    unsigned long pages = block_pages(rb);
    unsigned long i, n = BITS_TO_LONGS(pages);

    g_mutex_lock(&dirty_log_lock);
    if (!rb->boot_log) {
        g_mutex_unlock(&dirty_log_lock);
        return false;
    }
    for (i = 0; i < n; i++) {
        /* migration's bmap is all ones here: its view needs nothing */
        unsigned long written = take_word_locked(rb, i, ~0UL,
                                                 DIRTY_VIEW_MIGRATION);

        if (rb->boot_written) {
            written |= rb->boot_written[i];
        }
        if (rb->dirty_view[DIRTY_VIEW_MIGRATION]) {
            rb->dirty_view[DIRTY_VIEW_MIGRATION][i] = 0;
        }
        dest[i] = ~written;
    }
    rb->boot_log = false;
    rb->dirty_view_pending &= ~(1u << DIRTY_VIEW_MIGRATION);
    g_free(rb->boot_written);
    rb->boot_written = NULL;
    g_mutex_unlock(&dirty_log_lock);
    if (pages % BITS_PER_LONG_) {
        dest[n - 1] &= (1UL << (pages % BITS_PER_LONG_)) - 1;
    }
    trace_ramblock_take_boot_zero_map(rb->idstr, pages,
                                      bitmap_count_one(dest, pages));
    return true;
}

/*
 * The fast path: nobody else has a view and @view has nothing pending, so
 * the log moves straight into @dest, exactly as before the log was shared.
 * Lock held.
 */
static uint64_t move_log_direct(RAMBlock *rb, unsigned long *dest,
                                unsigned long page, unsigned long end)
{
    uint64_t newly = 0;

    /* whole words (a whole block): one word per step, no masks */
    if (page % BITS_PER_LONG_ == 0) {
        unsigned long last = end / BITS_PER_LONG_;

        for (unsigned long idx = page / BITS_PER_LONG_; idx < last; idx++) {
            unsigned long bits;

            if (!qatomic_read(&rb->dirty_log[idx])) {
                continue;
            }
            bits = qatomic_xchg(&rb->dirty_log[idx], 0UL);
            newly += __builtin_popcountl(bits & ~dest[idx]);
            dest[idx] |= bits;
        }
        page = last * BITS_PER_LONG_;
    }
    while (page < end) {
        unsigned long idx = page / BITS_PER_LONG_;
        unsigned long bit = page % BITS_PER_LONG_;
        unsigned long n = MIN(BITS_PER_LONG_ - bit, end - page);
        unsigned long mask, bits;

        page += n;
        if (!qatomic_read(&rb->dirty_log[idx])) {
            continue;
        }
        if (n == BITS_PER_LONG_) {
            bits = qatomic_xchg(&rb->dirty_log[idx], 0UL);
        } else {
            mask = ((1UL << n) - 1) << bit;
            bits = qatomic_fetch_and(&rb->dirty_log[idx], ~mask) & mask;
        }
        newly += __builtin_popcountl(bits & ~dest[idx]);
        dest[idx] |= bits;
    }
    return newly;
}

uint64_t ramblock_sync_dirty_log_view(RAMBlock *rb, DirtyLogView view,
                                      unsigned long *dest,
                                      unsigned long start_page,
                                      unsigned long npages)
{
    unsigned long end = start_page + npages;
    unsigned long max_pages = block_pages(rb);
    unsigned long *own;
    uint64_t newly = 0;
    unsigned long page;

    if (end > max_pages || end < start_page) {
        end = max_pages;
    }
    g_mutex_lock(&dirty_log_lock);
    /* the view's own pending bits, if any: drained with the log */
    own = (rb->dirty_view_pending & (1u << view)) ? rb->dirty_view[view]
                                                  : NULL;
    if (view == DIRTY_VIEW_MIGRATION) {
        /* cleared bits no longer mean "never written" */
        rb->boot_log = false;
    }
    if (!own && !(views_active & ~(1u << view)) &&
        !(rb->boot_log && view != DIRTY_VIEW_MIGRATION)) {
        newly = move_log_direct(rb, dest, start_page, end);
        g_mutex_unlock(&dirty_log_lock);
        trace_ramblock_sync_dirty_log(rb->idstr, start_page, npages, newly);
        return newly;
    }
    page = start_page;
    while (page < end) {
        unsigned long idx = page / BITS_PER_LONG_;
        unsigned long bit = page % BITS_PER_LONG_;
        unsigned long n = MIN(BITS_PER_LONG_ - bit, end - page);
        unsigned long mask, bits, fresh;

        mask = (n == BITS_PER_LONG_) ? ~0UL : (((1UL << n) - 1) << bit);
        bits = take_word_locked(rb, idx, mask, view);
        if (own && (own[idx] & mask)) {
            bits |= own[idx] & mask;
            own[idx] &= ~mask;
        }
        if (bits) {
            fresh = bits & ~dest[idx];
            dest[idx] |= bits;
            newly += __builtin_popcountl(fresh);
        }
        page += n;
    }
    if (own && start_page == 0 && end == max_pages) {
        rb->dirty_view_pending &= ~(1u << view);
    }
    g_mutex_unlock(&dirty_log_lock);
    trace_ramblock_sync_dirty_log(rb->idstr, start_page, npages, newly);
    return newly;
}

uint64_t ramblock_sync_dirty_log(RAMBlock *rb, unsigned long *dest,
                                 unsigned long start_page, unsigned long npages)
{
    return ramblock_sync_dirty_log_view(rb, DIRTY_VIEW_MIGRATION, dest,
                                        start_page, npages);
}

void memory_dirty_log_harvest(void)
{
    RAMBlock *rb;
    uint64_t taken = 0;

    g_mutex_lock(&dirty_log_lock);
    RAMBLOCK_FOREACH(rb) {
        unsigned long n = BITS_TO_LONGS(block_pages(rb));

        for (unsigned long i = 0; i < n; i++) {
            taken += __builtin_popcountl(take_word_locked(rb, i, ~0UL, -1));
        }
    }
    g_mutex_unlock(&dirty_log_lock);
    trace_memory_dirty_log_harvest(views_active, taken);
}
