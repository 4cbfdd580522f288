/*
 * Unit tests for util/bufferiszero.c: every implementation, every
 * alignment and length, a single non-zero byte at every position.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"

#define GUARD 64

static void check_range(unsigned char *base, size_t align, size_t len)
{
    unsigned char *buf = base + GUARD + align;
    size_t pos;

    g_assert_true(buffer_is_zero(buf, len));
    for (pos = 0; pos < len; pos++) {
        buf[pos] = 0x80 >> (pos & 7);
        if (buffer_is_zero(buf, len)) {
            g_error("%s: byte %zu of len %zu at align %zu missed",
                    buffer_is_zero_accel_name(), pos, len, align);
        }
        buf[pos] = 0;
    }
}

static void test_all_accels(void)
{
    size_t total = GUARD + 64 + 1024 + GUARD;
    unsigned char *base = g_malloc(total);
    size_t align, len;
    int n = 0;

    /* non-zero guard bytes around the buffer must never be read as part of it */
    memset(base, 0xff, total);
    do {
        g_test_message("testing %s", buffer_is_zero_accel_name());
        memset(base + GUARD, 0, 64 + 1024);
        for (align = 0; align < 64; align++) {
            for (len = 0; len <= 1024 - align; len++) {
                unsigned char *buf = base + GUARD + align;

                memset(base, 0xff, GUARD + align);
                memset(buf + len, 0xff, total - GUARD - align - len);
                memset(buf, 0, len);
                if (len <= 256 || len % 61 == 0 || len == 1024 - align ||
                    align < 3 || align == 31 || align == 63) {
                    check_range(base, align, len);
                } else {
                    g_assert_true(buffer_is_zero(buf, len));
                    buf[len - 1] = 1;
                    g_assert_false(buffer_is_zero(buf, len));
                    buf[len - 1] = 0;
                    buf[len / 3] = 1;
                    g_assert_false(buffer_is_zero(buf, len));
                    buf[len / 3] = 0;
                }
            }
        }
        n++;
    } while (test_buffer_is_zero_next_accel());
    g_assert_cmpint(n, >=, 1);
    g_assert_cmpstr(buffer_is_zero_accel_name(), ==, "generic");
    g_free(base);
}

static void test_large(void)
{
    static const size_t sizes[] = { 4096, 65536, 2 * 1024 * 1024 + 37 };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(sizes); i++) {
        size_t len = sizes[i];
        unsigned char *buf = g_malloc0(len + 1);
        size_t pos;

        g_assert_true(buffer_is_zero(buf + 1, len));
        for (pos = 0; pos < len; pos += len / 97 + 1) {
            buf[1 + pos] = 1;
            g_assert_false(buffer_is_zero(buf + 1, len));
            buf[1 + pos] = 0;
        }
        buf[len] = 1;
        g_assert_false(buffer_is_zero(buf + 1, len));
        g_free(buf);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* test_large first, on the fastest implementation */
    g_test_add_func("/bufferiszero/large", test_large);
    g_test_add_func("/bufferiszero/all-accels", test_all_accels);
    return g_test_run();
}
