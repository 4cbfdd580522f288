/*
 * Untouched pages (migration/ram-zero.c) with real memory: what the probe
 * reports for private anonymous memory, a memfd and a private file
 * mapping, and a save -> load round trip that checks with the pagemap
 * that neither side faulted in a page it did not need.
 *
 * Not covered, because a test cannot produce it: a swapped-out page (no
 * swap on test machines, and no unprivileged way to force a page out).
 * The probe treats any non-present page table entry (pagemap bit 62: swap,
 * migration entries, markers) like a present page, so such a page is read.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/cutils.h"
#include "exec/memory.h"
#include "io/channel-buffer.h"
#include "migration/qemu-file.h"
#include "migration/migration.h"
#include "migration/savevm.h"
#include "migration/ram-zero.h"

#include <sys/vfs.h>
#include <linux/falloc.h>
#include <linux/magic.h>

#define TPS TARGET_PAGE_SIZE
#define NPAGES 1024                 /* 4 MiB: two 2 MiB THP regions */

/* Whether the page at @p has any page table entry (independent check). */
static bool mapped(const void *p)
{
    static int fd = -1;
    uint64_t e = 0;

    if (fd < 0) {
        fd = open("/proc/self/pagemap", O_RDONLY);
        g_assert_cmpint(fd, >=, 0);
    }
    g_assert_cmpint(pread(fd, &e, 8, (uintptr_t)p / qemu_real_host_page_size *
                          8), ==, 8);
    return e & (RAM_ZERO_PM_PRESENT | RAM_ZERO_PM_SWAPPED);
}

static RAMBlock *anon_block(const char *name, size_t pages, bool thp)
{
    RAMBlockConfig cfg = { .name = name, .size = pages * TPS };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);

    if (!thp) {
        /* one fault maps one page, so expectations are per page */
        g_assert_cmpint(madvise(rb->host, pages * TPS, MADV_NOHUGEPAGE), ==,
                        0);
    }
    return rb;
}

static void probe_all(RAMBlock *rb, unsigned long *bits, size_t pages)
{
    unsigned long first;

    bitmap_zero(bits, pages);
    for (first = 0; first < pages; first += RAM_ZERO_CHUNK_PAGES) {
        unsigned long chunk[BITS_TO_LONGS(RAM_ZERO_CHUNK_PAGES)];
        unsigned long n = MIN(RAM_ZERO_CHUNK_PAGES, pages - first), i;

        ram_zero_probe(rb, first, n, chunk);
        for (i = 0; i < n; i++) {
            if (test_bit(i, chunk)) {
                set_bit(first + i, bits);
            }
        }
    }
}

/* Private anonymous memory, one page per fault. */
static void test_anon(void)
{
    RAMBlock *rb = anon_block("z.anon", NPAGES, false);
    unsigned long bits[BITS_TO_LONGS(NPAGES)];
    volatile uint8_t sink;
    unsigned long i;

    g_assert_true(ram_zero_supported(rb));
    probe_all(rb, bits, NPAGES);
    g_assert_cmpuint(bitmap_count_one(bits, NPAGES), ==, NPAGES);

    rb->host[3 * TPS] = 1;              /* written */
    rb->host[700 * TPS + 99] = 0;       /* written with zero: still mapped */
    sink = rb->host[900 * TPS];         /* read: maps the zero page */
    (void)sink;
    probe_all(rb, bits, NPAGES);
    for (i = 0; i < NPAGES; i++) {
        bool touched = i == 3 || i == 700 || i == 900;

        g_assert_cmpint(!!test_bit(i, bits), ==, !touched);
        g_assert_cmpint(mapped(rb->host + i * TPS), ==, touched);
    }

    /* discarded memory is untouched again */
    g_assert_cmpint(madvise(rb->host + 3 * TPS, TPS, MADV_DONTNEED), ==, 0);
    probe_all(rb, bits, NPAGES);
    g_assert_true(test_bit(3, bits));
    g_assert_false(test_bit(700, bits));

    /* a short last chunk and a chunk past the end */
    g_assert_cmpuint(ram_zero_probe(rb, NPAGES - 10, 64, bits), ==, 10);
    g_assert_cmpuint(ram_zero_probe(rb, NPAGES, 64, bits), ==, 0);
    qemu_ram_free(rb);
}

/* With transparent huge pages a write may map a whole 2 MiB region. */
static void test_anon_thp(void)
{
    RAMBlock *rb = anon_block("z.thp", NPAGES, true);
    unsigned long bits[BITS_TO_LONGS(NPAGES)];
    unsigned long i;

    rb->host[5 * TPS] = 1;
    probe_all(rb, bits, NPAGES);
    g_assert_false(test_bit(5, bits));
    for (i = 0; i < NPAGES; i++) {
        /* never "untouched" while mapped, whatever THP did */
        if (test_bit(i, bits)) {
            g_assert_false(mapped(rb->host + i * TPS));
        }
    }
    /* the second 2 MiB region was not touched at all */
    for (i = NPAGES / 2; i < NPAGES; i++) {
        g_assert_true(test_bit(i, bits));
    }
    qemu_ram_free(rb);
}

/* Whether tmpfs may back a memfd with huge pages (then data is 2 MiB). */
static bool shmem_thp(void)
{
    g_autofree char *s = NULL;

    if (!g_file_get_contents("/sys/kernel/mm/transparent_hugepage/"
                             "shmem_enabled", &s, NULL, NULL)) {
        return false;
    }
    return !strstr(s, "[never]") && !strstr(s, "[deny]");
}

/* A shared memfd: holes are untouched, whoever mapped what. */
static void test_memfd(void)
{
    RAMBlockConfig cfg = { .name = "z.memfd", .size = NPAGES * TPS,
                           .memfd = true, .shared = true };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);
    unsigned long bits[BITS_TO_LONGS(NPAGES)];
    volatile uint8_t sink;
    uint8_t one = 1;
    unsigned long i;

    g_assert_cmpint(rb->fd, >=, 0);
    g_assert_true(rb->flags & RAM_SHARED);
    g_assert_true(ram_zero_supported(rb));
    probe_all(rb, bits, NPAGES);
    g_assert_cmpuint(bitmap_count_one(bits, NPAGES), ==, NPAGES);

    rb->host[10 * TPS] = 1;                              /* through the map */
    g_assert_cmpint(pwrite(rb->fd, &one, 1, 20 * TPS + 7), ==, 1); /* file */
    sink = rb->host[30 * TPS];      /* a read fault allocates on shmem */
    (void)sink;
    probe_all(rb, bits, NPAGES);
    for (i = 0; i < NPAGES; i++) {
        bool data = i == 10 || i == 20 || i == 30;

        if (data) {
            g_assert_false(test_bit(i, bits));
        } else if (!shmem_thp() || i >= NPAGES / 2) {
            g_assert_true(test_bit(i, bits));
        }
    }
    /* a punched hole reads as zero again */
    g_assert_cmpint(fallocate(rb->fd, FALLOC_FL_PUNCH_HOLE |
                              FALLOC_FL_KEEP_SIZE, 10 * TPS, TPS), ==, 0);
    probe_all(rb, bits, NPAGES);
    if (!shmem_thp()) {
        g_assert_true(test_bit(10, bits));
    }
    g_assert_false(test_bit(20, bits));
    qemu_ram_free(rb);
}

/*
 * A private mapping of a file on tmpfs: untouched only where there is no
 * private copy *and* the file has a hole.
 */
static void test_file_private(void)
{
    g_autofree char *path = NULL;
    unsigned long bits[BITS_TO_LONGS(NPAGES)];
    RAMBlockConfig cfg = { .name = "z.file", .size = NPAGES * TPS };
    struct statfs fs;
    RAMBlock *rb;
    uint8_t one = 1;
    unsigned long i;

    if (statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
        g_test_skip("no tmpfs at /dev/shm (needed for exact holes)");
        return;
    }
    path = g_strdup_printf("/dev/shm/test-ram-zero-%d", (int)getpid());
    unlink(path);
    cfg.mem_path = path;
    rb = qemu_ram_alloc(&cfg, &error_abort);
    g_assert_cmpint(rb->fd, >=, 0);
    g_assert_false(rb->flags & RAM_SHARED);
    g_assert_true(ram_zero_supported(rb));
    madvise(rb->host, NPAGES * TPS, MADV_NOHUGEPAGE);

    g_assert_cmpint(pwrite(rb->fd, &one, 1, 40 * TPS), ==, 1);  /* in file */
    rb->host[50 * TPS] = 1;                     /* private copy, file hole */
    probe_all(rb, bits, NPAGES);
    for (i = 0; i < NPAGES; i++) {
        bool data = i == 40 || i == 50;

        g_assert_cmpint(!!test_bit(i, bits), ==, !data);
    }
    qemu_ram_free(rb);
    unlink(path);
}

/* The cache: probes once per chunk, forgets on invalidate, notes writes. */
static void test_cache(void)
{
    RAMBlock *rb = anon_block("z.cache", NPAGES, false);
    RamZeroCache c = { 0 };

    g_assert_true(ram_zero_cache_untouched(&c, rb, 7));
    g_assert_true(ram_zero_cache_untouched(&c, rb, 8));
    g_assert_cmpuint(c.probes, ==, 1);
    /* a write behind the cache's back is not seen until invalidated */
    rb->host[8 * TPS] = 1;
    g_assert_true(ram_zero_cache_untouched(&c, rb, 8));
    ram_zero_cache_invalidate(&c);
    g_assert_false(ram_zero_cache_untouched(&c, rb, 8));
    g_assert_cmpuint(c.probes, ==, 2);
    /* our own write, noted */
    rb->host[9 * TPS] = 1;
    ram_zero_cache_note_write(&c, rb, 9);
    g_assert_false(ram_zero_cache_untouched(&c, rb, 9));
    g_assert_false(ram_zero_cache_untouched(&c, rb, NPAGES));
    qemu_ram_free(rb);
}

/* Load @len bytes with qemu_loadvm_state. */
static void load_bytes(const uint8_t *data, size_t len)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len + 1);
    QEMUFile *f;

    memcpy(bioc->data, data, len);
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    g_assert_true(qemu_loadvm_state(f, NULL, &error_abort));
    qemu_loadvm_state_cleanup();
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));
}

/*
 * Save a block with a few written pages: the untouched ones go as ZERO
 * records and are still unmapped afterwards.  Load it back into the same
 * (discarded) block: ZERO records on unmapped pages leave them unmapped,
 * a ZERO record on a page with data clears it, PAGE records land.
 */
static void test_round_trip(void)
{
    RAMBlock *rb = anon_block("z.rt", NPAGES, false);
    MigrationStats *st = &migrate_get_current()->stats;
    QIOChannelBuffer *bioc = qio_channel_buffer_new(1 * MiB);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    unsigned long i;

    memset(st, 0, sizeof(*st));
    memset(rb->host + 2 * TPS, 0x11, TPS);
    memset(rb->host + 600 * TPS, 0x22, TPS);
    rb->host[601 * TPS] = 0;                    /* mapped, zero */

    qemu_savevm_state_header(f);
    g_assert_true(qemu_savevm_state_setup(f, &error_abort));
    g_assert_cmpint(qemu_savevm_state_complete_precopy(f, &error_abort), ==,
                    0);
    qemu_savevm_state_cleanup();
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    g_assert_cmpuint(st->normal_pages, ==, 2);
    g_assert_cmpuint(st->zero_pages, ==, NPAGES - 2);
    for (i = 0; i < NPAGES; i++) {
        g_assert_cmpint(mapped(rb->host + i * TPS), ==,
                        i == 2 || i == 600 || i == 601);
    }

    /* the "destination": everything discarded, page 5 holds garbage */
    g_assert_cmpint(madvise(rb->host, NPAGES * TPS, MADV_DONTNEED), ==, 0);
    memset(rb->host + 5 * TPS, 0x77, TPS);
    load_bytes(bioc->data, bioc->usage);
    for (i = 0; i < NPAGES; i++) {
        uint8_t want = i == 2 ? 0x11 : i == 600 ? 0x22 : 0;

        g_assert_cmpint(rb->host[i * TPS], ==, want);
        g_assert_cmpint(rb->host[i * TPS + TPS - 1], ==, want);
    }
    /* checked above by reading: now look at what the load itself mapped */
    g_assert_cmpint(madvise(rb->host, NPAGES * TPS, MADV_DONTNEED), ==, 0);
    memset(rb->host + 5 * TPS, 0x77, TPS);
    load_bytes(bioc->data, bioc->usage);
    for (i = 0; i < NPAGES; i++) {
        g_assert_cmpint(mapped(rb->host + i * TPS), ==,
                        i == 2 || i == 600 || i == 5);
    }
    g_assert_true(buffer_is_zero(rb->host + 5 * TPS, TPS));
    qio_channel_unref(QIO_CHANNEL(bioc));
    qemu_ram_free(rb);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    migration_object_init();

    g_test_add_func("/ram-zero/anon", test_anon);
    g_test_add_func("/ram-zero/anon-thp", test_anon_thp);
    g_test_add_func("/ram-zero/memfd", test_memfd);
    g_test_add_func("/ram-zero/file-private", test_file_private);
    g_test_add_func("/ram-zero/cache", test_cache);
    g_test_add_func("/ram-zero/round-trip", test_round_trip);
    return g_test_run();
}
