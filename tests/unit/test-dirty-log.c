/*
 * The per-RAMBlock dirty log: global start/stop flags, marking by
 * address_space_write and memory_set_dirty, and ramblock_sync_dirty_log.
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

int main(int argc, char **argv)
{
    RAMBlockConfig cfg = { .name = "dirty", .size = NPAGES * TARGET_PAGE_SIZE };

    g_test_init(&argc, &argv, NULL);
    block = qemu_ram_alloc(&cfg, &error_abort);
    memory_region_add_ram("dirty", BASE, block);
    /* first: the boot log is on until this test ends it */
    g_test_add_func("/dirty-log/boot", test_boot_log);
    g_test_add_func("/dirty-log/flags", test_flags);
    g_test_add_func("/dirty-log/off", test_off_marks_nothing);
    g_test_add_func("/dirty-log/sync-counts", test_sync_counts);
    g_test_add_func("/dirty-log/partial-range", test_partial_range);
    g_test_add_func("/dirty-log/concurrent", test_concurrent);
    return g_test_run();
}
