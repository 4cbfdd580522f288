/*
 * Unit tests for util/cutils.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"

static void check_sz(const char *s, int want_ret, uint64_t want)
{
    uint64_t v = 0xdeadbeef;
    int ret = qemu_strtosz(s, NULL, &v);

    if (ret != want_ret) {
        g_error("qemu_strtosz('%s') returned %d, expected %d", s, ret,
                want_ret);
    }
    if (ret == 0) {
        g_assert_cmpuint(v, ==, want);
    }
}

static void test_strtosz(void)
{
    const char *end;
    uint64_t v;

    check_sz("0", 0, 0);
    check_sz("12345", 0, 12345);
    check_sz("1B", 0, 1);
    check_sz("1k", 0, KiB);
    check_sz("1K", 0, KiB);
    check_sz("512M", 0, 512 * MiB);
    check_sz("1G", 0, GiB);
    check_sz("1g", 0, GiB);
    check_sz("2T", 0, 2 * 1024 * GiB);
    check_sz("1P", 0, 1ULL << 50);
    check_sz("1E", 0, 1ULL << 60);
    check_sz("15E", 0, 15ULL << 60);
    check_sz("1.5G", 0, GiB + GiB / 2);
    check_sz("0.5k", 0, 512);
    check_sz("0x10", 0, 16);
    check_sz("0x1k", 0, KiB);
    check_sz("010", 0, 10);
    check_sz("  8M", 0, 8 * MiB);
    check_sz("18446744073709551615", 0, UINT64_MAX);

    /* overflow */
    check_sz("16E", -ERANGE, 0);
    check_sz("18446744073709551616", -ERANGE, 0);
    check_sz("17179869184G", -ERANGE, 0);
    g_assert_cmpint(qemu_strtosz("15.99999E", NULL, &v), ==, 0);
    g_assert_cmpuint(v, >, 15ULL << 60);
    check_sz("15.9999999999999999999E", -ERANGE, 0);
    /* malformed */
    check_sz("", -EINVAL, 0);
    check_sz(" ", -EINVAL, 0);
    check_sz("-1", -EINVAL, 0);
    check_sz("-0", -EINVAL, 0);
    check_sz("+1", -EINVAL, 0);
    check_sz("1X", -EINVAL, 0);
    check_sz("1KiB", -EINVAL, 0);
    check_sz("1.5", -EINVAL, 0);
    check_sz("1.5B", -EINVAL, 0);
    check_sz(".5M", -EINVAL, 0);
    check_sz("1.M", -EINVAL, 0);
    check_sz("0x1.5M", -EINVAL, 0);
    check_sz("0x", -EINVAL, 0);
    check_sz("M", -EINVAL, 0);
    check_sz("1G ", -EINVAL, 0);

    g_assert_cmpint(qemu_strtosz(NULL, NULL, &v), ==, -EINVAL);

    /* with an end pointer trailing text is left for the caller */
    g_assert_cmpint(qemu_strtosz("4k,rest", &end, &v), ==, 0);
    g_assert_cmpuint(v, ==, 4096);
    g_assert_cmpstr(end, ==, ",rest");
    g_assert_cmpint(qemu_strtosz("xyz", &end, &v), ==, -EINVAL);
    g_assert_cmpstr(end, ==, "xyz");

    /* default units */
    g_assert_cmpint(qemu_strtosz_MiB("512", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 512 * MiB);
    g_assert_cmpint(qemu_strtosz_MiB("2G", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 2 * GiB);
    g_assert_cmpint(qemu_strtosz_MiB("1.5", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, MiB + MiB / 2);
    g_assert_cmpint(qemu_strtosz_metric("1k", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 1000);
    g_assert_cmpint(qemu_strtosz_metric("1.5M", NULL, &v), ==, 0);
    g_assert_cmpuint(v, ==, 1500000);
}

static void test_strtoint(void)
{
    const char *end;
    int i;
    unsigned int ui;
    long l;
    unsigned long ul;
    int64_t i64;
    uint64_t u64;

    g_assert_cmpint(qemu_strtoi("123", NULL, 10, &i), ==, 0);
    g_assert_cmpint(i, ==, 123);
    g_assert_cmpint(qemu_strtoi("-0x10", NULL, 0, &i), ==, 0);
    g_assert_cmpint(i, ==, -16);
    g_assert_cmpint(qemu_strtoi("2147483648", NULL, 10, &i), ==, -ERANGE);
    g_assert_cmpint(i, ==, INT_MAX);
    g_assert_cmpint(qemu_strtoi("-2147483649", NULL, 10, &i), ==, -ERANGE);
    g_assert_cmpint(i, ==, INT_MIN);
    g_assert_cmpint(qemu_strtoi("12a", NULL, 10, &i), ==, -EINVAL);
    g_assert_cmpint(qemu_strtoi("12a", &end, 10, &i), ==, 0);
    g_assert_cmpstr(end, ==, "a");
    g_assert_cmpint(qemu_strtoi("", NULL, 10, &i), ==, -EINVAL);
    g_assert_cmpint(qemu_strtoi("abc", &end, 10, &i), ==, -EINVAL);
    g_assert_cmpint(i, ==, 0);
    g_assert_cmpint(qemu_strtoi(NULL, &end, 10, &i), ==, -EINVAL);

    g_assert_cmpint(qemu_strtoui("4294967295", NULL, 10, &ui), ==, 0);
    g_assert_cmpuint(ui, ==, UINT_MAX);
    g_assert_cmpint(qemu_strtoui("4294967296", NULL, 10, &ui), ==, -ERANGE);
    g_assert_cmpuint(ui, ==, UINT_MAX);
    g_assert_cmpint(qemu_strtoui("-1", NULL, 10, &ui), ==, 0);
    g_assert_cmpuint(ui, ==, UINT_MAX);
    g_assert_cmpint(qemu_strtoui("-4294967296", NULL, 10, &ui), ==, -ERANGE);
    g_assert_cmpint(qemu_strtoui("--1", NULL, 10, &ui), ==, -EINVAL);

    g_assert_cmpint(qemu_strtol("0777", NULL, 0, &l), ==, 0);
    g_assert_cmpint(l, ==, 0777);
    g_assert_cmpint(qemu_strtoul("ff", NULL, 16, &ul), ==, 0);
    g_assert_cmpuint(ul, ==, 255);
    g_assert_cmpint(qemu_strtoi64("-9223372036854775808", NULL, 10, &i64),
                    ==, 0);
    g_assert_cmpint(i64, ==, INT64_MIN);
    g_assert_cmpint(qemu_strtoi64("9223372036854775808", NULL, 10, &i64),
                    ==, -ERANGE);
    g_assert_cmpint(i64, ==, INT64_MAX);
    g_assert_cmpint(qemu_strtou64("18446744073709551615", NULL, 10, &u64),
                    ==, 0);
    g_assert_cmpuint(u64, ==, UINT64_MAX);
    g_assert_cmpint(qemu_strtou64("18446744073709551616", NULL, 10, &u64),
                    ==, -ERANGE);
    g_assert_cmpint(qemu_strtou64(" 42 ", NULL, 10, &u64), ==, -EINVAL);
    g_assert_cmpint(qemu_strtou64(" 42 ", &end, 10, &u64), ==, 0);
    g_assert_cmpuint(u64, ==, 42);
    g_assert_cmpstr(end, ==, " ");
}

static void test_strings(void)
{
    char buf[8];
    const char *rest;
    bool b;
    char *s;

    pstrcpy(buf, sizeof(buf), "abcdefghij");
    g_assert_cmpstr(buf, ==, "abcdefg");
    pstrcpy(buf, sizeof(buf), "ab");
    pstrcat(buf, sizeof(buf), "cdefghij");
    g_assert_cmpstr(buf, ==, "abcdefg");
    g_assert_true(strstart("unix:/tmp/x", "unix:", &rest));
    g_assert_cmpstr(rest, ==, "/tmp/x");
    g_assert_false(strstart("tcp:x", "unix:", &rest));
    g_assert_true(stristart("TCP:x", "tcp:", NULL));

    g_assert_true(qemu_parse_bool("on", &b) && b);
    g_assert_true(qemu_parse_bool("yes", &b) && b);
    g_assert_true(qemu_parse_bool("true", &b) && b);
    g_assert_true(qemu_parse_bool("off", &b) && !b);
    g_assert_true(qemu_parse_bool("no", &b) && !b);
    g_assert_true(qemu_parse_bool("false", &b) && !b);
    g_assert_false(qemu_parse_bool("maybe", &b));
    g_assert_false(qemu_parse_bool("", &b));

#define CHECK_STR(val, want) do {               \
        s = size_to_str(val);                   \
        g_assert_cmpstr(s, ==, want);           \
        g_free(s);                              \
    } while (0)
    CHECK_STR(0, "0 B");
    CHECK_STR(100, "100 B");
    CHECK_STR(1023, "1023 B");
    CHECK_STR(4096, "4 KiB");
    CHECK_STR(512 * MiB, "512 MiB");
    CHECK_STR(GiB + GiB / 2, "1.5 GiB");
    CHECK_STR(1536 * KiB + 1, "1.5 MiB");
    CHECK_STR(UINT64_MAX, "16 EiB");
    CHECK_STR(10 * GiB + GiB / 2, "10.5 GiB");
    CHECK_STR(1000 * MiB + 1, "1000 MiB");
}

static void test_io(void)
{
    int fds[2];
    char out[100000], in[100000];
    ssize_t n;
    size_t i;

    g_assert_cmpint(pipe(fds), ==, 0);
    for (i = 0; i < sizeof(out); i++) {
        out[i] = i * 7;
    }
    if (fork() == 0) {
        close(fds[0]);
        n = qemu_write_full(fds[1], out, sizeof(out));
        _exit(n == sizeof(out) ? 0 : 1);
    }
    close(fds[1]);
    n = qemu_read_full(fds[0], in, sizeof(in));
    g_assert_cmpint(n, ==, sizeof(in));
    g_assert_true(memcmp(in, out, sizeof(in)) == 0);
    /* end of file: short read */
    n = qemu_read_full(fds[0], in, 10);
    g_assert_cmpint(n, ==, 0);
    close(fds[0]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cutils/strtosz", test_strtosz);
    g_test_add_func("/cutils/strtoint", test_strtoint);
    g_test_add_func("/cutils/strings", test_strings);
    g_test_add_func("/cutils/io", test_io);
    return g_test_run();
}
