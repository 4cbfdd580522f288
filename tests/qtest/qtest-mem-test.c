/*
 * qtest memory access against a running a-b guest: sized reads and writes,
 * hex and base64 block transfers, memset, protocol errors, and reads of
 * the memory the guest is busy changing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "libqtest.h"

#define DRAM_BASE       0x80000000ULL
#define MiB             (1024ULL * 1024)
#define PAGE_SIZE       4096
#define AB_START        (DRAM_BASE + 1 * MiB)
#define AB_END          (DRAM_BASE + 100 * MiB)
/* Not touched by the a-b guest (needs -m 128M). */
#define SCRATCH         (DRAM_BASE + 120 * MiB)

static QTestState *start_ab(void)
{
    g_autofree char *image = qtest_guest_image("a-b");
    QTestState *s = qtest_initf("-M virt -m 128M -smp 1 -bios none "
                                "-kernel %s", image);
    size_t pos = 0;

    g_assert_true(qtest_serial_wait_char(s, 'B', &pos, 0));
    return s;
}

static void fill_random(GRand *r, uint8_t *buf, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        buf[i] = g_rand_int(r);
    }
}

static void test_sized(void)
{
    QTestState *s = start_ab();
    uint64_t a = SCRATCH;

    qtest_writeb(s, a, 0xa5);
    g_assert_cmphex(qtest_readb(s, a), ==, 0xa5);
    qtest_writew(s, a + 2, 0xbeef);
    g_assert_cmphex(qtest_readw(s, a + 2), ==, 0xbeef);
    qtest_writel(s, a + 4, 0xdeadbeef);
    g_assert_cmphex(qtest_readl(s, a + 4), ==, 0xdeadbeef);
    qtest_writeq(s, a + 8, 0x0123456789abcdefULL);
    g_assert_cmphex(qtest_readq(s, a + 8), ==, 0x0123456789abcdefULL);

    /* Little-endian, like the guest sees it. */
    qtest_writeq(s, a + 16, 0x1122334455667788ULL);
    g_assert_cmphex(qtest_readb(s, a + 16), ==, 0x88);
    g_assert_cmphex(qtest_readb(s, a + 23), ==, 0x11);
    g_assert_cmphex(qtest_readw(s, a + 16), ==, 0x7788);
    g_assert_cmphex(qtest_readl(s, a + 16), ==, 0x55667788);
    g_assert_cmphex(qtest_readl(s, a + 20), ==, 0x11223344);

    /* Narrow writes only touch their bytes. */
    qtest_writeq(s, a + 24, ~0ULL);
    qtest_writeb(s, a + 25, 0);
    qtest_writew(s, a + 28, 0x1234);
    g_assert_cmphex(qtest_readq(s, a + 24), ==, 0xffff1234ffff00ffULL);

    /* Unaligned accesses. */
    qtest_writel(s, a + 33, 0xcafef00d);
    g_assert_cmphex(qtest_readl(s, a + 33), ==, 0xcafef00d);
    qtest_writeq(s, a + 41, 0xfedcba9876543210ULL);
    g_assert_cmphex(qtest_readq(s, a + 41), ==, 0xfedcba9876543210ULL);

    /* The reply format is QEMU's: "OK 0x" and 16 hex digits. */
    {
        g_autofree char *line = g_strdup_printf("readb 0x%" PRIx64, a);
        g_autofree char *reply = qtest_raw_cmd(s, line);

        g_assert_cmpstr(reply, ==, "OK 0x00000000000000a5");
    }
    qtest_quit(s);
}

static void test_blocks(void)
{
    QTestState *s = start_ab();
    g_autoptr(GRand) r = g_rand_new_with_seed(42);
    size_t sizes[] = { 1, 7, 4096, 4097, 65536, 1 * MiB };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        size_t n = sizes[i];
        g_autofree uint8_t *src = g_malloc(n);
        g_autofree uint8_t *dst = g_malloc(n);
        uint64_t a = SCRATCH + 3 + i * 0x1000;

        /* hex write, both reads */
        fill_random(r, src, n);
        qtest_memwrite(s, a, src, n);
        memset(dst, 0, n);
        qtest_memread(s, a, dst, n);
        g_assert_cmpmem(src, n, dst, n);
        memset(dst, 0, n);
        qtest_bufread(s, a, dst, n);
        g_assert_cmpmem(src, n, dst, n);

        /* base64 write, both reads */
        fill_random(r, src, n);
        qtest_bufwrite(s, a, src, n);
        memset(dst, 0, n);
        qtest_bufread(s, a, dst, n);
        g_assert_cmpmem(src, n, dst, n);
        memset(dst, 0, n);
        qtest_memread(s, a, dst, n);
        g_assert_cmpmem(src, n, dst, n);
    }

    /* memset, bounded exactly */
    {
        g_autofree uint8_t *buf = g_malloc(3 * PAGE_SIZE);
        uint64_t a = SCRATCH + 2 * MiB;
        size_t j;

        qtest_memset(s, a, 0x11, 3 * PAGE_SIZE);
        qtest_memset(s, a + PAGE_SIZE + 5, 0xa5, PAGE_SIZE - 10);
        qtest_bufread(s, a, buf, 3 * PAGE_SIZE);
        for (j = 0; j < 3 * PAGE_SIZE; j++) {
            uint8_t want = j >= PAGE_SIZE + 5 && j < 2 * PAGE_SIZE - 5 ?
                           0xa5 : 0x11;

            g_assert_cmphex(buf[j], ==, want);
        }
    }
    qtest_quit(s);
}

/* True if bytes 1..PAGE_SIZE-1 of @page are zero. */
static bool buf_is_zero_after_first(const uint8_t *page)
{
    size_t j;

    for (j = 1; j < PAGE_SIZE; j++) {
        if (page[j]) {
            return false;
        }
    }
    return true;
}

/* Reading the pages a-b is changing, while it runs. */
static void test_running_guest(void)
{
    QTestState *s = start_ab();
    size_t npages = (AB_END - AB_START) / PAGE_SIZE;
    g_autofree uint8_t *page = g_malloc(PAGE_SIZE);
    g_autofree uint8_t *chunk = g_malloc(1 * MiB);
    uint64_t a;
    size_t i;
    bool changed = false;

    /* The guest only ever writes the first byte of each page. */
    for (i = 0; i < npages; i += 97) {
        qtest_memread(s, AB_START + i * PAGE_SIZE, page, PAGE_SIZE);
        g_assert_true(buf_is_zero_after_first(page));
    }
    for (a = AB_START; a < AB_END; a += 16 * MiB) {
        size_t off;

        qtest_bufread(s, a, chunk, 1 * MiB);
        for (off = 0; off < 1 * MiB; off += PAGE_SIZE) {
            g_assert_true(buf_is_zero_after_first(chunk + off));
        }
    }

    /* And the first bytes move while we watch. */
    for (i = 0; i < 200 && !changed; i++) {
        uint8_t v0 = qtest_readb(s, AB_START + 12345 * PAGE_SIZE);

        g_usleep(10 * 1000);
        changed = qtest_readb(s, AB_START + 12345 * PAGE_SIZE) != v0;
    }
    g_assert_true(changed);

    /*
     * Neighbouring first bytes read in one go are close to each other: the
     * guest moves on by at most a few passes while one chunk is copied.
     */
    qtest_bufread(s, AB_START, chunk, 1 * MiB);
    for (i = 1; i < 1 * MiB / PAGE_SIZE; i++) {
        uint8_t d = chunk[(i - 1) * PAGE_SIZE] - chunk[i * PAGE_SIZE];

        g_assert_true(d < 16 || d > 240);
    }

    /* Outside the guest's pages, writes stick while it runs. */
    qtest_writeq(s, SCRATCH, 0x5555aaaa5555aaaaULL);
    g_usleep(50 * 1000);
    g_assert_cmphex(qtest_readq(s, SCRATCH), ==, 0x5555aaaa5555aaaaULL);
    qtest_quit(s);
}

/* Memory access with the VM stopped, and the protocol's error reply. */
static void test_stopped_and_errors(void)
{
    QTestState *s = start_ab();
    g_autofree char *reply = NULL;
    uint8_t v;

    qtest_qmp_assert_success(s, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(s, "STOP");
    v = qtest_readb(s, AB_START);
    g_usleep(100 * 1000);
    g_assert_cmphex(qtest_readb(s, AB_START), ==, v);
    qtest_writeb(s, SCRATCH, 0x42);
    g_assert_cmphex(qtest_readb(s, SCRATCH), ==, 0x42);

    reply = qtest_raw_cmd(s, "no-such-command 1 2 3");
    g_assert_true(g_str_has_prefix(reply, "FAIL"));
    /* The connection still works after an error. */
    g_assert_cmphex(qtest_readb(s, SCRATCH), ==, 0x42);

    qtest_qmp_assert_success(s, "{\"execute\": \"cont\"}");
    qtest_qmp_eventwait(s, "RESUME");
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (!g_getenv("QTEST_QEMU_BINARY")) {
        g_printerr("QTEST_QEMU_BINARY is not set; skipping\n");
        return 77;
    }
    g_test_add_func("/qtest/mem/sized", test_sized);
    g_test_add_func("/qtest/mem/blocks", test_blocks);
    g_test_add_func("/qtest/mem/running-guest", test_running_guest);
    g_test_add_func("/qtest/mem/stopped-and-errors", test_stopped_and_errors);
    return g_test_run();
}
