/*
 * The shared dirty log's sync cost (system/dirty-log.c): migration's sync
 * of a 1 GiB block alone (the fast path), beside a second consumer (the
 * dirty-rate view), and the pre-sharing direct move of the log as it was
 * (reproduced here as the reference), for an empty, a sparse (1 page in
 * 64) and a full log.  Also the store path: marking fresh pages with and
 * without a per-vCPU counter.
 *
 *   bench-dirty-log [ROUNDS]      (default 200 syncs per figure)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"

#define BLOCK_SIZE (1ULL << 30)
#define PAGES (BLOCK_SIZE >> TARGET_PAGE_BITS)
#define BPL (8 * sizeof(unsigned long))

static RAMBlock *rb;

/*
 * The log-to-bitmap move before the log was shared (the reference): the
 * loop ramblock_sync_dirty_log had, page ranges and masks included.
 */
static uint64_t direct_sync(unsigned long *dest)
{
    unsigned long page = 0, end = PAGES;
    uint64_t newly = 0;

    while (page < end) {
        unsigned long idx = page / BPL;
        unsigned long bit = page % BPL;
        unsigned long n = MIN(BPL - bit, end - page);
        unsigned long mask, bits, fresh;

        mask = (n == BPL) ? ~0UL : (((1UL << n) - 1) << bit);
        if (!qatomic_read(&rb->dirty_log[idx])) {
            page += n;
            continue;
        }
        if (mask == ~0UL) {
            bits = qatomic_xchg(&rb->dirty_log[idx], 0UL);
        } else {
            bits = qatomic_fetch_and(&rb->dirty_log[idx], ~mask) & mask;
        }
        fresh = bits & ~dest[idx];
        dest[idx] |= bits;
        newly += __builtin_popcountl(fresh);
        page += n;
    }
    return newly;
}

static void fill(unsigned stride)
{
    if (!stride) {
        return;
    }
    for (uint64_t p = 0; p < PAGES; p += stride) {
        memory_set_dirty(rb, p << TARGET_PAGE_BITS, 1);
    }
}

typedef enum { DIRECT, FAST, SHARED } Way;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Median us per sync (the machine is shared: a mean measures preemption). */
static double mark_once(bool counted);

static double run(Way way, unsigned stride, int rounds)
{
    unsigned long *dest = bitmap_new(PAGES);
    int64_t *t = g_new(int64_t, rounds);
    double med;

    for (int r = 0; r < rounds; r++) {
        int64_t t0;

        fill(stride);
        bitmap_clear(dest, 0, PAGES);
        t0 = get_clock();
        if (way == DIRECT) {
            direct_sync(dest);
        } else {
            ramblock_sync_dirty_log(rb, dest, 0, PAGES);
        }
        t[r] = get_clock() - t0;
    }
    qsort(t, rounds, sizeof(int64_t), cmp_i64);
    med = t[rounds / 2] / 1000.0;
    g_free(t);
    g_free(dest);
    return med;
}

/* ns per fresh page marked (best of 5 passes) */
static double mark_ns(bool counted)
{
    double best = 1e9;

    for (int i = 0; i < 5; i++) {
        best = MIN(best, mark_once(counted));
    }
    return best;
}

static double mark_once(bool counted)
{
    DirtyCounter dc = { .quota = UINT64_MAX };
    bool exit_req = false;
    int64_t t0, t1;

    dc.exit_request = &exit_req;
    memory_dirty_log_harvest();
    current_dirty_counter = counted ? &dc : NULL;
    t0 = get_clock();
    for (uint64_t p = 0; p < PAGES; p++) {
        memory_set_dirty(rb, p << TARGET_PAGE_BITS, 8);
    }
    t1 = get_clock();
    current_dirty_counter = NULL;
    if (counted && dc.pages != PAGES) {
        fprintf(stderr, "counted %" PRIu64 " of %" PRIu64 "\n", dc.pages,
                (uint64_t)PAGES);
        exit(1);
    }
    return (double)(t1 - t0) / PAGES;
}

int main(int argc, char **argv)
{
    RAMBlockConfig cfg = { .name = "bench", .size = BLOCK_SIZE };
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    static const struct { const char *name; unsigned stride; } logs[] = {
        { "empty", 0 }, { "1/64", 64 }, { "full", 1 },
    };

    rb = qemu_ram_alloc(&cfg, &error_abort);
    memory_boot_log_end();
    printf("sync of a 1 GiB block (%" PRIu64 " pages), us per sync, "
           "median of %d\n", (uint64_t)PAGES, rounds);
    printf("%-8s %12s %12s %12s\n", "log", "direct(old)", "alone", "shared");
    for (size_t i = 0; i < G_N_ELEMENTS(logs); i++) {
        double d, f, s;

        memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION);
        d = run(DIRECT, logs[i].stride, rounds);
        f = run(FAST, logs[i].stride, rounds);
        memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
        s = run(SHARED, logs[i].stride, rounds);
        memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION |
                                     GLOBAL_DIRTY_DIRTY_RATE);
        printf("%-8s %12.1f %12.1f %12.1f\n", logs[i].name, d, f, s);
    }
    memory_global_dirty_log_start(GLOBAL_DIRTY_LIMIT);
    printf("store path, fresh page: %.2f ns uncounted, %.2f ns counted\n",
           mark_ns(false), mark_ns(true));
    memory_global_dirty_log_stop(GLOBAL_DIRTY_LIMIT);
    qemu_ram_free(rb);
    return 0;
}
