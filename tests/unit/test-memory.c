/*
 * RAMBlock allocation for every backend kind, discard, lookups and the
 * physical memory map (system/physmem.c, system/memory.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"

#include <sys/vfs.h>
#include <linux/magic.h>

static size_t page_sz(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static bool range_is(const uint8_t *p, size_t len, uint8_t v)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != v) {
            return false;
        }
    }
    return true;
}

/* Fill, discard the middle page, check it reads back zero and the rest stays. */
static void check_discard(RAMBlock *rb)
{
    size_t ps = rb->page_size;

    g_assert_cmpuint(rb->used_length, >=, 3 * ps);
    memset(rb->host, 0xa5, 3 * ps);
    g_assert_cmpint(ram_block_discard_range(rb, ps, ps), ==, 0);
    g_assert_true(range_is(rb->host, ps, 0xa5));
    g_assert_true(range_is(rb->host + ps, ps, 0));
    g_assert_true(range_is(rb->host + 2 * ps, ps, 0xa5));
}

static void test_anon(void)
{
    RAMBlockConfig cfg = { .name = "t-anon", .size = 1 * MiB };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);

    g_assert_nonnull(rb);
    g_assert_cmpstr(rb->idstr, ==, "t-anon");
    g_assert_cmpint(rb->fd, ==, -1);
    g_assert_cmpuint(rb->used_length, ==, 1 * MiB);
    g_assert_cmpuint(rb->page_size, ==, page_sz());
    g_assert_false(qemu_ram_is_shared(rb));
    g_assert_false(rb->flags & (RAM_FILE | RAM_MEMFD | RAM_HUGETLB | RAM_PREALLOC));
    g_assert_nonnull(rb->dirty_log);
    g_assert_true(range_is(rb->host, rb->used_length, 0));
    check_discard(rb);
    qemu_ram_free(rb);
    g_assert_null(qemu_ram_block_by_name("t-anon"));
}

static void test_anon_unaligned_rounds_up(void)
{
    RAMBlockConfig cfg = { .name = "t-odd", .size = 1000 };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);

    g_assert_cmpuint(rb->used_length, ==, page_sz());
    qemu_ram_free(rb);
}

static void test_shared_anon(void)
{
    RAMBlockConfig cfg = { .name = "t-shared", .size = 1 * MiB, .shared = true };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);

    g_assert_true(qemu_ram_is_shared(rb));
    g_assert_true(rb->flags & RAM_MEMFD);
    g_assert_cmpint(rb->fd, >=, 0);
    check_discard(rb);
    /* the memfd sees what the mapping wrote */
    {
        uint8_t b = 0;
        rb->host[7] = 0x42;
        g_assert_cmpint(pread(rb->fd, &b, 1, 7), ==, 1);
        g_assert_cmpint(b, ==, 0x42);
    }
    qemu_ram_free(rb);
}

static void test_memfd(void)
{
    RAMBlockConfig cfg = { .name = "t-memfd", .size = 2 * MiB, .memfd = true,
                           .shared = true, .seal = true };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);

    g_assert_true(rb->flags & RAM_MEMFD);
    g_assert_true(qemu_ram_is_shared(rb));
    g_assert_cmpuint(rb->page_size, ==, page_sz());
    /* sealed: the size cannot change */
    g_assert_cmpint(ftruncate(rb->fd, 4 * MiB), !=, 0);
    check_discard(rb);
    qemu_ram_free(rb);
}

static char *make_tmpdir(void)
{
    GError *gerr = NULL;
    char *dir = g_dir_make_tmp("godwit-test-memory-XXXXXX", &gerr);

    g_assert_no_error(gerr);
    return dir;
}

static void test_file_dir(void)
{
    g_autofree char *dir = make_tmpdir();
    RAMBlockConfig cfg = { .name = "t-filedir", .size = 1 * MiB,
                           .mem_path = dir, .shared = true };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);
    GDir *d;
    struct stat st;

    g_assert_true(rb->flags & RAM_FILE);
    g_assert_cmpint(rb->fd, >=, 0);
    g_assert_cmpstr(rb->mem_path, ==, dir);
    g_assert_cmpint(fstat(rb->fd, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 1 * MiB);
    /* the temporary file was unlinked right away */
    d = g_dir_open(dir, 0, NULL);
    g_assert_null(g_dir_read_name(d));
    g_dir_close(d);
    check_discard(rb);
    qemu_ram_free(rb);
    g_assert_cmpint(rmdir(dir), ==, 0);
}

static void test_file_path(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "guest.mem", NULL);
    RAMBlockConfig cfg = { .name = "t-file", .size = 1 * MiB, .mem_path = path,
                           .shared = true };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);
    size_t ps = page_sz();
    uint8_t b = 0;
    int fd;

    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    rb->host[ps + 3] = 0x77;
    check_discard(rb);
    rb->host[2 * ps + 1] = 0x66;
    qemu_ram_free(rb);

    /* shared mapping: the data is in the file */
    fd = open(path, O_RDONLY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, &b, 1, 2 * ps + 1), ==, 1);
    g_assert_cmpint(b, ==, 0x66);
    g_assert_cmpint(pread(fd, &b, 1, ps + 3), ==, 1);
    g_assert_cmpint(b, ==, 0);
    close(fd);

    /* private mapping of the same file sees its contents, writes stay private */
    cfg.name = "t-file-priv";
    cfg.shared = false;
    rb = qemu_ram_alloc(&cfg, &error_abort);
    g_assert_false(qemu_ram_is_shared(rb));
    g_assert_cmpint(rb->host[2 * ps + 1], ==, 0x66);
    rb->host[5] = 0x11;
    fd = open(path, O_RDONLY);
    g_assert_cmpint(pread(fd, &b, 1, 5), ==, 1);
    g_assert_cmpint(b, !=, 0x11);
    close(fd);
    /* discarding a private file mapping drops our copy and the file's page */
    g_assert_cmpint(ram_block_discard_range(rb, 2 * ps, ps), ==, 0);
    g_assert_true(range_is(rb->host + 2 * ps, ps, 0));
    qemu_ram_free(rb);

    g_assert_cmpint(unlink(path), ==, 0);
    g_assert_cmpint(rmdir(dir), ==, 0);
}

static void test_file_bad_path(void)
{
    RAMBlockConfig cfg = { .name = "t-badpath", .size = 1 * MiB,
                           .mem_path = "/nonexistent-dir-godwit/x/y" };
    Error *err = NULL;

    g_assert_null(qemu_ram_alloc(&cfg, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "t-badpath"));
    error_free(err);
}

static void test_errors(void)
{
    RAMBlockConfig cfg = { .name = "t-dup", .size = 64 * KiB };
    RAMBlockConfig zero = { .name = "t-zero", .size = 0 };
    RAMBlockConfig huge_no_memfd = { .name = "t-hnm", .size = 2 * MiB,
                                     .hugetlb = true };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);
    Error *err = NULL;

    g_assert_null(qemu_ram_alloc(&cfg, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(error_get_pretty(err), "t-dup"));
    error_free(err);
    err = NULL;
    g_assert_null(qemu_ram_alloc(&zero, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "t-zero"));
    error_free(err);
    err = NULL;
    g_assert_null(qemu_ram_alloc(&huge_no_memfd, &err));
    g_assert_nonnull(err);
    error_free(err);

    /* misaligned discard is refused */
    g_assert_cmpint(ram_block_discard_range(rb, 1, page_sz()), ==, -EINVAL);
    g_assert_cmpint(ram_block_discard_range(rb, 0, 128 * KiB), ==, -EINVAL);
    qemu_ram_free(rb);
}

static void test_prealloc(void)
{
    RAMBlockConfig cfg = { .name = "t-prealloc", .size = 4 * MiB,
                           .prealloc = true };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);

    g_assert_true(rb->flags & RAM_PREALLOC);
    g_assert_true(range_is(rb->host, rb->used_length, 0));
    qemu_ram_free(rb);

    cfg.name = "t-prealloc-shared";
    cfg.shared = true;
    rb = qemu_ram_alloc(&cfg, &error_abort);
    g_assert_true(rb->flags & RAM_PREALLOC);
    qemu_ram_free(rb);
}

/* hugetlb only where the host has free huge pages */
static bool hugepages_available(uint64_t need, char **why)
{
    g_autofree char *nr = NULL;
    g_autofree char *meminfo = NULL;
    const char *p;
    unsigned long free_pages = 0;

    if (!g_file_get_contents("/proc/sys/vm/nr_hugepages", &nr, NULL, NULL) ||
        strtoul(nr, NULL, 10) == 0) {
        *why = g_strdup("no huge pages configured (/proc/sys/vm/nr_hugepages is 0)");
        return false;
    }
    if (g_file_get_contents("/proc/meminfo", &meminfo, NULL, NULL) &&
        (p = strstr(meminfo, "HugePages_Free:"))) {
        free_pages = strtoul(p + strlen("HugePages_Free:"), NULL, 10);
    }
    if (free_pages * 2 * MiB < need) {
        *why = g_strdup_printf("only %lu free huge pages", free_pages);
        return false;
    }
    return true;
}

static void test_memfd_hugetlb(void)
{
    g_autofree char *why = NULL;
    RAMBlockConfig cfg = { .name = "t-huge", .size = 4 * MiB, .memfd = true,
                           .shared = true, .hugetlb = true,
                           .hugetlbsize = 2 * MiB };
    RAMBlockConfig odd = { .name = "t-huge-odd", .size = 3 * MiB,
                           .memfd = true, .shared = true, .hugetlb = true,
                           .hugetlbsize = 2 * MiB };
    RAMBlock *rb;
    Error *err = NULL;

    if (!hugepages_available(cfg.size, &why)) {
        g_test_skip(why);
        return;
    }
    rb = qemu_ram_alloc(&cfg, &error_abort);
    g_assert_cmpuint(rb->page_size, ==, 2 * MiB);
    g_assert_true(rb->flags & RAM_HUGETLB);
    g_assert_cmpuint(qemu_ram_pagesize_summary() & (2 * MiB), !=, 0);
    memset(rb->host, 0x5a, rb->used_length);
    g_assert_cmpint(ram_block_discard_range(rb, 2 * MiB, 2 * MiB), ==, 0);
    g_assert_true(range_is(rb->host + 2 * MiB, 2 * MiB, 0));
    g_assert_true(range_is(rb->host, 2 * MiB, 0x5a));
    qemu_ram_free(rb);

    g_assert_null(qemu_ram_alloc(&odd, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "multiple of the page size"));
    g_assert_nonnull(strstr(error_get_pretty(err), "t-huge-odd"));
    error_free(err);
}

static void test_lookups(void)
{
    RAMBlockConfig c1 = { .name = "t-l1", .size = 256 * KiB };
    RAMBlockConfig c2 = { .name = "t-l2", .size = 128 * KiB, .shared = true };
    uint64_t before = ram_bytes_total();
    uint64_t pages_before = ram_pages_total();
    RAMBlock *a = qemu_ram_alloc(&c1, &error_abort);
    RAMBlock *b = qemu_ram_alloc(&c2, &error_abort);
    ram_addr_t off = 0;
    RAMBlock *rb;
    int n = 0;

    g_assert_true(qemu_ram_block_by_name("t-l1") == a);
    g_assert_true(qemu_ram_block_by_name("t-l2") == b);
    g_assert_null(qemu_ram_block_by_name("t-l3"));
    g_assert_true(qemu_ram_block_from_host(b->host + 4097, &off) == b);
    g_assert_cmpuint(off, ==, 4097);
    g_assert_null(qemu_ram_block_from_host(&n, &off));
    g_assert_cmpuint(ram_bytes_total(), ==, before + 384 * KiB);
    g_assert_cmpuint(ram_pages_total(), ==, pages_before + 96);
    g_assert_cmpuint(b->offset, >=, a->offset + a->max_length);
    g_assert_cmpuint(qemu_ram_pagesize(a), ==, page_sz());
    g_assert_cmpuint(qemu_ram_pagesize_summary() & page_sz(), !=, 0);
    g_assert_true(offset_in_ramblock(a, 0));
    g_assert_false(offset_in_ramblock(a, 256 * KiB));
    RAMBLOCK_FOREACH(rb) {
        if (rb == a) {
            g_assert_cmpint(n, ==, 0);
            n = 1;
        } else if (rb == b) {
            g_assert_cmpint(n, ==, 1);
            n = 2;
        }
    }
    g_assert_cmpint(n, ==, 2);
    qemu_ram_free(a);
    qemu_ram_free(b);
}

/* ---------------------------------------------------------------- map */

typedef struct TestDev {
    uint8_t regs[64];
    int reads, writes;
    unsigned last_size;
} TestDev;

static uint64_t testdev_read(void *opaque, hwaddr addr, unsigned size)
{
    TestDev *d = opaque;
    uint64_t v = 0;

    d->reads++;
    d->last_size = size;
    g_assert_true(addr + size <= sizeof(d->regs));
    g_assert_cmpuint(addr % size, ==, 0);
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)d->regs[addr + i] << (8 * i);
    }
    return v;
}

static void testdev_write(void *opaque, hwaddr addr, uint64_t data,
                          unsigned size)
{
    TestDev *d = opaque;

    d->writes++;
    d->last_size = size;
    g_assert_cmpuint(addr % size, ==, 0);
    for (unsigned i = 0; i < size; i++) {
        d->regs[addr + i] = data >> (8 * i);
    }
}

static const MemoryRegionOps testdev_ops = {
    .read = testdev_read,
    .write = testdev_write,
};

static void test_map(void)
{
    static TestDev dev;
    RAMBlockConfig c1 = { .name = "t-map-ram", .size = 64 * KiB };
    RAMBlockConfig c2 = { .name = "t-map-ram2", .size = 64 * KiB };
    RAMBlock *rb = qemu_ram_alloc(&c1, &error_abort);
    RAMBlock *rb2 = qemu_ram_alloc(&c2, &error_abort);
    const hwaddr ram = 0x80000000, ram2 = ram + 64 * KiB, io = 0x10000000;
    uint8_t buf[32], out[32];
    RAMBlock *got = NULL;
    ram_addr_t off = 0;
    uint64_t v;
    MemoryRegion *mr;

    memory_region_add_ram("ram", ram, rb);
    memory_region_add_ram("ram2", ram2, rb2);
    memory_region_add_io("testdev", io, sizeof(dev.regs), &testdev_ops, &dev);

    g_assert_cmpuint(rb->mr_addr, ==, ram);
    mr = memory_region_find(ram + 5);
    g_assert_nonnull(mr);
    g_assert_true(mr->ram_block == rb);
    g_assert_true(memory_region_find(io + 63)->ops == &testdev_ops);
    g_assert_null(memory_region_find(io + 64));
    g_assert_null(memory_region_find(0));

    g_assert_true(memory_ram_ptr(ram + 100, 16, &got, &off) == rb->host + 100);
    g_assert_true(got == rb);
    g_assert_cmpuint(off, ==, 100);
    g_assert_true(memory_ram_ptr(ram2, 1, NULL, NULL) == rb2->host);
    /* crossing two regions or hitting MMIO: no single pointer */
    g_assert_null(memory_ram_ptr(ram2 - 8, 16, NULL, NULL));
    g_assert_null(memory_ram_ptr(io, 4, NULL, NULL));
    g_assert_null(memory_ram_ptr(0x1234, 4, NULL, NULL));

    /* RAM read/write, including across the two adjacent RAM regions */
    for (unsigned i = 0; i < sizeof(buf); i++) {
        buf[i] = i + 1;
    }
    g_assert_true(address_space_write(ram2 - 16, buf, sizeof(buf)));
    g_assert_cmpmem(rb->host + 64 * KiB - 16, 16, buf, 16);
    g_assert_cmpmem(rb2->host, 16, buf + 16, 16);
    memset(out, 0, sizeof(out));
    g_assert_true(address_space_read(ram2 - 16, out, sizeof(out)));
    g_assert_cmpmem(out, sizeof(out), buf, sizeof(buf));

    /* MMIO: little-endian, naturally aligned accesses */
    v = 0x1122334455667788ULL;
    g_assert_true(address_space_write(io + 8, &v, 8));
    g_assert_cmpint(dev.writes, ==, 1);
    g_assert_cmpuint(dev.last_size, ==, 8);
    g_assert_cmpint(dev.regs[8], ==, 0x88);
    g_assert_cmpint(dev.regs[15], ==, 0x11);
    v = 0;
    g_assert_true(address_space_read(io + 8, &v, 8));
    g_assert_cmphex(v, ==, 0x1122334455667788ULL);
    /* unaligned 7 bytes at +1: 1 + 2 + 4 */
    dev.writes = 0;
    g_assert_true(address_space_write(io + 1, buf, 7));
    g_assert_cmpint(dev.writes, ==, 3);
    g_assert_cmpmem(dev.regs + 1, 7, buf, 7);
    memset(out, 0, sizeof(out));
    g_assert_true(address_space_read(io + 1, out, 7));
    g_assert_cmpmem(out, 7, buf, 7);

    /* unmapped */
    g_assert_false(address_space_read(0x1000, out, 4));
    g_assert_false(address_space_write(io + 60, buf, 8));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/anon", test_anon);
    g_test_add_func("/memory/anon-unaligned", test_anon_unaligned_rounds_up);
    g_test_add_func("/memory/shared-anon", test_shared_anon);
    g_test_add_func("/memory/memfd", test_memfd);
    g_test_add_func("/memory/memfd-hugetlb", test_memfd_hugetlb);
    g_test_add_func("/memory/file-dir", test_file_dir);
    g_test_add_func("/memory/file-path", test_file_path);
    g_test_add_func("/memory/file-bad-path", test_file_bad_path);
    g_test_add_func("/memory/errors", test_errors);
    g_test_add_func("/memory/prealloc", test_prealloc);
    g_test_add_func("/memory/lookups", test_lookups);
    g_test_add_func("/memory/map", test_map);
    return g_test_run();
}
