/* The qtest line protocol: every command and its FAIL paths. */
#include <glib.h>
#include <string.h>
#include "libqtest.h"

#define MACHINE "-M virt -m 64M -bios none -display none"
#define SCRATCH 0x80300000ULL

static void assert_cmd(QTestState *s, const char *line, const char *expect)
{
    g_autofree char *reply = qtest_raw_cmd(s, line);

    g_strchomp(reply);
    g_assert_cmpstr(reply, ==, expect);
}

static void assert_fail(QTestState *s, const char *line, const char *prefix)
{
    g_autofree char *reply = qtest_raw_cmd(s, line);

    g_strchomp(reply);
    if (!g_str_has_prefix(reply, prefix)) {
        g_error("'%s' replied '%s', expected '%s...'", line, reply, prefix);
    }
}

static void test_read_write(void)
{
    QTestState *s = qtest_init(MACHINE);

    assert_cmd(s, "writeb 0x80300000 0xab", "OK");
    assert_cmd(s, "readb 0x80300000", "OK 0x00000000000000ab");
    assert_cmd(s, "writew 0x80300002 0x1234", "OK");
    assert_cmd(s, "readw 0x80300002", "OK 0x0000000000001234");
    assert_cmd(s, "writel 0x80300004 0xdeadbeef", "OK");
    assert_cmd(s, "readl 0x80300004", "OK 0x00000000deadbeef");
    assert_cmd(s, "writeq 0x80300008 0x0123456789abcdef", "OK");
    assert_cmd(s, "readq 0x80300008", "OK 0x0123456789abcdef");
    /* little-endian bytes */
    assert_cmd(s, "read 0x80300008 8", "OK 0xefcdab8967452301");
    assert_cmd(s, "readl 0x80300000", "OK 0x00000000123400ab");
    assert_cmd(s, "write 0x80300010 4 0xcafef00d", "OK");
    assert_cmd(s, "read 0x80300010 4", "OK 0xcafef00d");
    /* short data: the rest is zero */
    assert_cmd(s, "write 0x80300010 4 0xff", "OK");
    assert_cmd(s, "read 0x80300010 4", "OK 0xff000000");
    assert_cmd(s, "b64write 0x80300020 5 aGVsbG8=", "OK");
    assert_cmd(s, "b64read 0x80300020 5", "OK aGVsbG8=");
    assert_cmd(s, "read 0x80300020 5", "OK 0x68656c6c6f");
    assert_cmd(s, "memset 0x80300020 3 0x5a", "OK");
    assert_cmd(s, "read 0x80300020 5", "OK 0x5a5a5a6c6f");
    assert_cmd(s, "memset 0x80300020 0 0x5a", "OK");
    assert_cmd(s, "endianness", "OK little");
    /* decimal numbers are fine too */
    assert_cmd(s, "readb 2150629408", "OK 0x000000000000005a");

    /* libqtest's helpers agree */
    qtest_writel(s, SCRATCH + 0x40, 0x11223344);
    g_assert_cmphex(qtest_readl(s, SCRATCH + 0x40), ==, 0x11223344);
    g_assert_cmphex(qtest_readb(s, SCRATCH + 0x41), ==, 0x33);
    {
        uint8_t buf[300], back[300];

        for (int i = 0; i < 300; i++) {
            buf[i] = i * 13;
        }
        qtest_bufwrite(s, SCRATCH + 0x100, buf, sizeof(buf));
        qtest_memread(s, SCRATCH + 0x100, back, sizeof(back));
        g_assert_cmpmem(buf, sizeof(buf), back, sizeof(back));
        qtest_memset(s, SCRATCH + 0x100, 0xa5, 10);
        qtest_bufread(s, SCRATCH + 0x100, back, 12);
        g_assert_cmphex(back[9], ==, 0xa5);
        g_assert_cmphex(back[10], ==, buf[10]);
    }
    qtest_quit(s);
}

static void test_mmio(void)
{
    QTestState *s = qtest_init(MACHINE);
    uint64_t t1, t2;

    /* CLINT mtime (MMIO, under the BQL) moves forward */
    t1 = qtest_readq(s, 0x0200bff8);
    g_usleep(20000);
    t2 = qtest_readq(s, 0x0200bff8);
    g_assert_cmpuint(t2, >, t1);
    qtest_quit(s);
}

static void test_fail(void)
{
    QTestState *s = qtest_init(MACHINE);

    assert_cmd(s, "bogus 1 2", "FAIL Unknown command 'bogus'");
    assert_fail(s, "readb", "FAIL");
    assert_fail(s, "readb xyz", "FAIL invalid number");
    assert_fail(s, "writel 0x80300000", "FAIL");
    assert_fail(s, "writel 0x80300000 zz", "FAIL invalid number");
    assert_fail(s, "readl 0x0", "FAIL");
    assert_fail(s, "writeq 0x0 1", "FAIL");
    assert_fail(s, "read 0x80300000 0", "FAIL");
    assert_fail(s, "read 0x80300000 0x8000000", "FAIL size too large");
    assert_fail(s, "read 0x83fffff0 0x20", "FAIL");
    assert_fail(s, "b64read 0x80300000", "FAIL");
    assert_fail(s, "write 0x80300000 2 beef", "FAIL");
    assert_fail(s, "write 0x80300000 2 0xzzzz", "FAIL");
    assert_fail(s, "b64write 0x80300000 4 aGVsbG8=", "FAIL");
    assert_fail(s, "memset 0x80300000 4", "FAIL");
    assert_fail(s, "memset 0x0 4 1", "FAIL");
    /* still serving */
    assert_cmd(s, "writeb 0x80300000 0x01", "OK");
    assert_cmd(s, "readb 0x80300000", "OK 0x0000000000000001");
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qtest-proto/read-write", test_read_write);
    g_test_add_func("/qtest-proto/mmio", test_mmio);
    g_test_add_func("/qtest-proto/fail", test_fail);
    return g_test_run();
}
