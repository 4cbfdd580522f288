/*
 * The per-RAMBlock dirty log: global start/stop flags, marking by
 * address_space_write and memory_set_dirty, ramblock_sync_dirty_log, the
 * shared log's consumers (views, harvest) and the per-vCPU counters.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"

#define NPAGES 256
#define BASE 0x80000000ULL
#define LONGS ((NPAGES + 63) / 64 + 1)

static RAMBlock *block;

static bool bit(const unsigned long *map, unsigned long nr)
{
    return map[nr / (8 * sizeof(long))] & (1UL << (nr % (8 * sizeof(long))));
}

/*
 * The boot log: a fresh block logs every write from its creation, so the
 * pages whose bit is clear are known zero; the first taker gets the map
 * (and clears the log), nobody after it; a sync also ends it.
 */
static void test_boot_log(void)
{
    RAMBlockConfig cfg = { .name = "boot2", .size = 64 * TARGET_PAGE_SIZE };
    unsigned long map[LONGS], dest[LONGS] = { 0 };
    RAMBlock *late, *other;
    uint32_t v = 1;

    g_assert_cmpuint(global_dirty_tracking, ==, GLOBAL_DIRTY_BOOT);
    g_assert_true(block->boot_log);
    g_assert_true(address_space_write(BASE + 3 * TARGET_PAGE_SIZE, &v, 4));
    memory_set_dirty(block, 200 * TARGET_PAGE_SIZE, TARGET_PAGE_SIZE + 1);

    memset(map, 0xaa, sizeof(map));
    g_assert_true(ramblock_take_boot_zero_map(block, map));
    g_assert_cmpuint(bitmap_count_one(map, NPAGES), ==, NPAGES - 3);
    g_assert_false(bit(map, 3));
    g_assert_false(bit(map, 200));
    g_assert_false(bit(map, 201));
    g_assert_true(bit(map, 0));
    g_assert_true(bit(map, NPAGES - 1));
    g_assert_false(bit(map, NPAGES));        /* nothing past the end */
    /* taken once: the log was cleared with it */
    g_assert_false(ramblock_take_boot_zero_map(block, map));
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 0);

    /* a sync ends it too: cleared bits no longer mean "never written" */
    other = qemu_ram_alloc(&cfg, &error_abort);
    g_assert_true(other->boot_log);
    g_assert_cmpuint(ramblock_sync_dirty_log(other, dest, 0, 64), ==, 0);
    g_assert_false(ramblock_take_boot_zero_map(other, map));

    memory_boot_log_end();
    g_assert_cmpuint(global_dirty_tracking, ==, 0);
    /* a block created after the end is not boot-logged */
    cfg.name = "boot3";
    late = qemu_ram_alloc(&cfg, &error_abort);
    g_assert_false(late->boot_log);
    g_assert_cmpuint(global_dirty_tracking, ==, 0);
    qemu_ram_free(late);
    qemu_ram_free(other);
}

static void test_flags(void)
{
    g_assert_cmpuint(global_dirty_tracking, ==, 0);
    memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION);
    memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
    g_assert_cmpuint(global_dirty_tracking, ==,
                     GLOBAL_DIRTY_MIGRATION | GLOBAL_DIRTY_DIRTY_RATE);
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
    g_assert_cmpuint(global_dirty_tracking, ==, GLOBAL_DIRTY_DIRTY_RATE);
    memory_global_dirty_log_stop(GLOBAL_DIRTY_DIRTY_RATE);
    g_assert_cmpuint(global_dirty_tracking, ==, 0);
}

static void test_off_marks_nothing(void)
{
    unsigned long dest[LONGS] = { 0 };
    uint32_t v = 1;

    g_assert_cmpuint(global_dirty_tracking, ==, 0);
    g_assert_true(address_space_write(BASE + 3 * TARGET_PAGE_SIZE, &v, 4));
    memory_set_dirty(block, 0, NPAGES * TARGET_PAGE_SIZE);
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 0);
}

static void test_sync_counts(void)
{
    unsigned long dest[LONGS] = { 0 };
    uint8_t buf[2 * 4096] = { 0 };
    uint32_t v = 7;

    memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION);
    /* page 0; pages 10-12 (8 KiB straddling 3 pages); page 200 */
    g_assert_true(address_space_write(BASE, &v, 4));
    g_assert_true(address_space_write(BASE + 10 * TARGET_PAGE_SIZE + 100, buf,
                                      sizeof(buf)));
    memory_set_dirty(block, 200 * TARGET_PAGE_SIZE + 5, 1);

    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 5);
    g_assert_true(bit(dest, 0));
    g_assert_true(bit(dest, 10) && bit(dest, 11) && bit(dest, 12));
    g_assert_false(bit(dest, 13));
    g_assert_true(bit(dest, 200));
    /* the log was cleared */
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 0);

    /* a page already set in dest is not "new" */
    memory_set_dirty(block, 0, 1);
    memory_set_dirty(block, 64 * TARGET_PAGE_SIZE, 1);
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 1);
    g_assert_true(bit(dest, 64));

    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
    g_assert_true(address_space_write(BASE + 100 * TARGET_PAGE_SIZE, &v, 4));
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 0);
}

static void test_partial_range(void)
{
    unsigned long dest[LONGS] = { 0 };

    memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
    for (unsigned p = 0; p < NPAGES; p++) {
        memory_set_dirty(block, (uint64_t)p * TARGET_PAGE_SIZE, 1);
    }
    /* [60, 70) crosses a word boundary */
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 60, 10), ==, 10);
    g_assert_false(bit(dest, 59));
    g_assert_true(bit(dest, 60) && bit(dest, 69));
    g_assert_false(bit(dest, 70));
    /* the rest is still logged */
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, 60), ==, 60);
    /* asking past the end of the block is clamped */
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 70, NPAGES), ==,
                     NPAGES - 70);
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 0);
    memory_global_dirty_log_stop(GLOBAL_DIRTY_DIRTY_RATE);
}

typedef struct Writer {
    unsigned first;
    unsigned n;
} Writer;

static gpointer writer_thread(gpointer opaque)
{
    Writer *w = opaque;

    for (unsigned i = 0; i < 50; i++) {
        for (unsigned p = w->first; p < w->first + w->n; p++) {
            memory_set_dirty(block, (uint64_t)p * TARGET_PAGE_SIZE, 8);
        }
    }
    return NULL;
}

/* Concurrent markers and a syncer: every marked page ends up in dest. */
static void test_concurrent(void)
{
    unsigned long dest[LONGS] = { 0 };
    Writer w[4];
    GThread *t[4];
    uint64_t total = 0;

    memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION);
    for (int i = 0; i < 4; i++) {
        w[i].first = i * (NPAGES / 4);
        w[i].n = NPAGES / 4;
        t[i] = g_thread_new("writer", writer_thread, &w[i]);
    }
    for (int i = 0; i < 100; i++) {
        total += ramblock_sync_dirty_log(block, dest, 0, NPAGES);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(t[i]);
    }
    total += ramblock_sync_dirty_log(block, dest, 0, NPAGES);
    g_assert_cmpuint(total, ==, NPAGES);
    for (unsigned p = 0; p < NPAGES; p++) {
        g_assert_true(bit(dest, p));
    }
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION);
}

/*
 * A harvest by another consumer while the boot log is on must not turn
 * written pages into "never written": the zero map still excludes them.
 */
static void test_boot_log_shared(void)
{
    RAMBlockConfig cfg = { .name = "bootshared", .size = 64 * TARGET_PAGE_SIZE };
    unsigned long map[LONGS], dest[LONGS] = { 0 };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);

    g_assert_true(rb->boot_log);
    memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
    memory_set_dirty(rb, 5 * TARGET_PAGE_SIZE, 1);
    /* the dirty-rate consumer harvests: page 5 leaves the log */
    g_assert_cmpuint(ramblock_sync_dirty_log_view(rb, DIRTY_VIEW_DIRTY_RATE,
                                                  dest, 0, 64), ==, 1);
    memory_set_dirty(rb, 9 * TARGET_PAGE_SIZE, 1);
    memory_dirty_log_harvest();
    memory_set_dirty(rb, 11 * TARGET_PAGE_SIZE, 1);
    g_assert_true(rb->boot_log);
    g_assert_true(ramblock_take_boot_zero_map(rb, map));
    g_assert_cmpuint(bitmap_count_one(map, 64), ==, 61);
    g_assert_false(bit(map, 5));
    g_assert_false(bit(map, 9));
    g_assert_false(bit(map, 11));
    /* the dirty-rate view still got 9 and 11 (taking the map fed it) */
    memset(dest, 0, sizeof(dest));
    g_assert_cmpuint(ramblock_sync_dirty_log_view(rb, DIRTY_VIEW_DIRTY_RATE,
                                                  dest, 0, 64), ==, 2);
    g_assert_true(bit(dest, 9) && bit(dest, 11));
    memory_global_dirty_log_stop(GLOBAL_DIRTY_DIRTY_RATE);
    qemu_ram_free(rb);
}

/*
 * Two consumers, random interleavings of writes, both consumers' syncs
 * and bare harvests: every sync of a consumer returns exactly the pages
 * written since that consumer's previous sync (no loss, no repeat).
 */
static void test_two_consumers_interleaved(void)
{
    const DirtyLogView views[2] = { DIRTY_VIEW_MIGRATION,
                                    DIRTY_VIEW_DIRTY_RATE };
    unsigned long expect[2][LONGS];
    GRand *rand = g_rand_new_with_seed(20261123);

    memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION |
                                  GLOBAL_DIRTY_DIRTY_RATE);
    /* start clean: drain what earlier tests left */
    for (int c = 0; c < 2; c++) {
        unsigned long dest[LONGS] = { 0 };

        ramblock_sync_dirty_log_view(block, views[c], dest, 0, NPAGES);
        memset(expect[c], 0, sizeof(expect[c]));
    }
    for (int step = 0; step < 20000; step++) {
        int what = g_rand_int_range(rand, 0, 10);

        if (what < 7) {
            unsigned p = g_rand_int_range(rand, 0, NPAGES);

            memory_set_dirty(block, (uint64_t)p * TARGET_PAGE_SIZE, 1);
            for (int c = 0; c < 2; c++) {
                expect[c][p / (8 * sizeof(long))] |=
                    1UL << (p % (8 * sizeof(long)));
            }
        } else if (what < 9) {
            int c = what - 7;
            unsigned long dest[LONGS] = { 0 };
            uint64_t n = ramblock_sync_dirty_log_view(block, views[c], dest,
                                                      0, NPAGES);

            g_assert_cmpuint(n, ==, bitmap_count_one(expect[c], NPAGES));
            g_assert_cmpmem(dest, sizeof(dest), expect[c], sizeof(dest));
            memset(expect[c], 0, sizeof(expect[c]));
        } else {
            memory_dirty_log_harvest();
        }
    }
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION |
                                 GLOBAL_DIRTY_DIRTY_RATE);
    g_rand_free(rand);
}

typedef struct Syncer {
    DirtyLogView view;
    unsigned long dest[LONGS];
    uint64_t total;
    bool *stop;
} Syncer;

static gpointer syncer_thread(gpointer opaque)
{
    Syncer *s = opaque;

    while (!qatomic_read(s->stop)) {
        s->total += ramblock_sync_dirty_log_view(block, s->view, s->dest, 0,
                                                 NPAGES);
        if (s->view == DIRTY_VIEW_DIRTY_RATE) {
            memory_dirty_log_harvest();
        }
    }
    return NULL;
}

/*
 * Writers and two syncing consumers on their own threads, concurrently:
 * each consumer ends with every written page, counted once.
 */
static void test_two_consumers_concurrent(void)
{
    Writer w[2];
    Syncer s[2] = { { .view = DIRTY_VIEW_MIGRATION },
                    { .view = DIRTY_VIEW_DIRTY_RATE } };
    GThread *wt[2], *st[2];
    bool stop = false;

    memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION |
                                  GLOBAL_DIRTY_DIRTY_RATE);
    for (int c = 0; c < 2; c++) {
        unsigned long drain[LONGS] = { 0 };

        ramblock_sync_dirty_log_view(block, s[c].view, drain, 0, NPAGES);
        s[c].stop = &stop;
        st[c] = g_thread_new("syncer", syncer_thread, &s[c]);
    }
    for (int i = 0; i < 2; i++) {
        w[i].first = i * (NPAGES / 2);
        w[i].n = NPAGES / 2;
        wt[i] = g_thread_new("writer", writer_thread, &w[i]);
    }
    for (int i = 0; i < 2; i++) {
        g_thread_join(wt[i]);
    }
    qatomic_set(&stop, true);
    for (int c = 0; c < 2; c++) {
        g_thread_join(st[c]);
        s[c].total += ramblock_sync_dirty_log_view(block, s[c].view,
                                                   s[c].dest, 0, NPAGES);
        g_assert_cmpuint(s[c].total, ==, NPAGES);
        g_assert_cmpuint(bitmap_count_one(s[c].dest, NPAGES), ==, NPAGES);
    }
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION |
                                 GLOBAL_DIRTY_DIRTY_RATE);
}

/* A consumer that stops drops its view; one that starts sees only news. */
static void test_view_lifecycle(void)
{
    unsigned long dest[LONGS] = { 0 };

    memory_global_dirty_log_start(GLOBAL_DIRTY_MIGRATION);
    ramblock_sync_dirty_log(block, dest, 0, NPAGES);
    memory_set_dirty(block, 1 * TARGET_PAGE_SIZE, 1);
    memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
    memory_set_dirty(block, 2 * TARGET_PAGE_SIZE, 1);
    memory_dirty_log_harvest();
    memory_global_dirty_log_stop(GLOBAL_DIRTY_DIRTY_RATE);
    memset(dest, 0, sizeof(dest));
    /* migration still gets both, from its view after the harvest */
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 2);
    g_assert_true(bit(dest, 1) && bit(dest, 2));
    memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
    memset(dest, 0, sizeof(dest));
    g_assert_cmpuint(ramblock_sync_dirty_log_view(block, DIRTY_VIEW_DIRTY_RATE,
                                                  dest, 0, NPAGES), ==, 0);
    memory_global_dirty_log_stop(GLOBAL_DIRTY_MIGRATION |
                                 GLOBAL_DIRTY_DIRTY_RATE);
}

typedef struct CounterArgs {
    DirtyCounter dc;
    bool exit_request;
    uint64_t after_first, after_rewrite, after_harvest, after_device;
} CounterArgs;

static gpointer vcpu_like_thread(gpointer opaque)
{
    CounterArgs *a = opaque;
    uint32_t v = 7;

    current_dirty_counter = &a->dc;
    for (unsigned p = 0; p < 10; p++) {
        memory_set_dirty(block, (uint64_t)p * TARGET_PAGE_SIZE, 4);
    }
    a->after_first = qatomic_read(&a->dc.pages);
    for (unsigned p = 0; p < 10; p++) {     /* already dirty: not counted */
        memory_set_dirty(block, (uint64_t)p * TARGET_PAGE_SIZE + 8, 4);
    }
    a->after_rewrite = qatomic_read(&a->dc.pages);
    memory_dirty_log_harvest();
    memory_set_dirty(block, 0, 2 * TARGET_PAGE_SIZE);   /* two pages */
    a->after_harvest = qatomic_read(&a->dc.pages);
    /* a device-style write from this thread counts for nobody */
    g_assert_true(address_space_write(BASE + 50 * TARGET_PAGE_SIZE, &v, 4));
    a->after_device = qatomic_read(&a->dc.pages);
    current_dirty_counter = NULL;
    return NULL;
}

/*
 * The per-vCPU counter: one per clean-to-dirty transition, again after a
 * harvest, none for device writes or while logging is off; the quota
 * raises the exit request.
 */
static void test_vcpu_counter(void)
{
    CounterArgs a = { .dc = { .quota = 12 } };
    unsigned long dest[LONGS] = { 0 };
    GThread *t;

    a.dc.exit_request = &a.exit_request;
    memory_global_dirty_log_start(GLOBAL_DIRTY_LIMIT);
    memory_dirty_log_harvest();
    t = g_thread_new("vcpu", vcpu_like_thread, &a);
    g_thread_join(t);
    g_assert_cmpuint(a.after_first, ==, 10);
    g_assert_cmpuint(a.after_rewrite, ==, 10);
    g_assert_cmpuint(a.after_harvest, ==, 12);
    g_assert_true(a.exit_request);
    g_assert_cmpuint(a.after_device, ==, 12);
    memory_global_dirty_log_stop(GLOBAL_DIRTY_LIMIT);
    /* logging off: nothing is marked, nothing counted */
    current_dirty_counter = &a.dc;
    memory_set_dirty(block, 100 * TARGET_PAGE_SIZE, 1);
    current_dirty_counter = NULL;
    g_assert_cmpuint(a.dc.pages, ==, 12);
    /* the log kept pages 0, 1 and 50 from the thread; 100 was not marked */
    g_assert_cmpuint(ramblock_sync_dirty_log(block, dest, 0, NPAGES), ==, 3);
    g_assert_false(bit(dest, 100));
}

int main(int argc, char **argv)
{
    RAMBlockConfig cfg = { .name = "dirty", .size = NPAGES * TARGET_PAGE_SIZE };

    g_test_init(&argc, &argv, NULL);
    block = qemu_ram_alloc(&cfg, &error_abort);
    memory_region_add_ram("dirty", BASE, block);
    /* first: the boot log is on until this test ends it */
    g_test_add_func("/dirty-log/boot-shared", test_boot_log_shared);
    g_test_add_func("/dirty-log/boot", test_boot_log);
    g_test_add_func("/dirty-log/flags", test_flags);
    g_test_add_func("/dirty-log/off", test_off_marks_nothing);
    g_test_add_func("/dirty-log/sync-counts", test_sync_counts);
    g_test_add_func("/dirty-log/partial-range", test_partial_range);
    g_test_add_func("/dirty-log/concurrent", test_concurrent);
    g_test_add_func("/dirty-log/consumers/interleaved",
                    test_two_consumers_interleaved);
    g_test_add_func("/dirty-log/consumers/concurrent",
                    test_two_consumers_concurrent);
    g_test_add_func("/dirty-log/consumers/lifecycle", test_view_lifecycle);
    g_test_add_func("/dirty-log/vcpu-counter", test_vcpu_counter);
    return g_test_run();
}
