/*
 * Unit tests for include/qemu/bitops.h and util/bitops.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitops.h"

static void test_single_bits(void)
{
    unsigned long map[4] = { 0 };
    long i;

    for (i = 0; i < 256; i += 3) {
        set_bit(i, map);
    }
    for (i = 0; i < 256; i++) {
        g_assert_cmpint(test_bit(i, map), ==, i % 3 == 0);
    }
    g_assert_true(test_and_clear_bit(3, map));
    g_assert_false(test_and_clear_bit(3, map));
    g_assert_false(test_and_set_bit(4, map));
    g_assert_true(test_and_set_bit(4, map));
    change_bit(4, map);
    g_assert_false(test_bit(4, map));
    clear_bit(0, map);
    g_assert_false(test_bit(0, map));

    set_bit_atomic(130, map);
    g_assert_true(test_bit(130, map));
    g_assert_true(test_and_clear_bit_atomic(130, map));
    g_assert_false(test_and_clear_bit_atomic(130, map));
    clear_bit_atomic(6, map);
    g_assert_false(test_bit(6, map));
    g_assert_cmpuint(BIT_WORD(130), ==, 130 / BITS_PER_LONG);
    g_assert_cmpuint(BITS_TO_LONGS(65), ==, 65 / BITS_PER_LONG + 1);
    g_assert_cmpuint(BIT_ULL(40), ==, 0x10000000000ULL);
}

static unsigned long ref_next(const unsigned long *map, unsigned long size,
                              unsigned long off, bool want)
{
    for (; off < size; off++) {
        if (!!test_bit(off, map) == want) {
            return off;
        }
    }
    return size;
}

static unsigned long ref_last(const unsigned long *map, unsigned long size)
{
    unsigned long i;

    for (i = size; i-- > 0;) {
        if (test_bit(i, map)) {
            return i;
        }
    }
    return size;
}

static void test_find_random(void)
{
    GRand *r = g_rand_new_with_seed(42);
    unsigned long map[8];
    int iter;

    for (iter = 0; iter < 2000; iter++) {
        unsigned long size = g_rand_int_range(r, 0, 8 * BITS_PER_LONG + 1);
        unsigned long off;
        int density = g_rand_int_range(r, 0, 5);
        unsigned i;

        for (i = 0; i < ARRAY_SIZE(map); i++) {
            /* sparse, dense, empty, full and random words */
            unsigned long w = ((unsigned long)g_rand_int(r) << 32) |
                              g_rand_int(r);
            switch (density) {
            case 0:
                w = 0;
                break;
            case 1:
                w = ~0UL;
                break;
            case 2:
                w &= ((unsigned long)g_rand_int(r) << 32) | g_rand_int(r);
                w &= ((unsigned long)g_rand_int(r) << 32) | g_rand_int(r);
                break;
            case 3:
                w |= ((unsigned long)g_rand_int(r) << 32) | g_rand_int(r);
                w |= ((unsigned long)g_rand_int(r) << 32) | g_rand_int(r);
                break;
            }
            map[i] = w;
        }
        for (off = 0; off <= size + 2; off++) {
            g_assert_cmpuint(find_next_bit(map, size, off), ==,
                             ref_next(map, size, off, true));
            g_assert_cmpuint(find_next_zero_bit(map, size, off), ==,
                             ref_next(map, size, off, false));
        }
        g_assert_cmpuint(find_first_bit(map, size), ==,
                         ref_next(map, size, 0, true));
        g_assert_cmpuint(find_first_zero_bit(map, size), ==,
                         ref_next(map, size, 0, false));
        g_assert_cmpuint(find_last_bit(map, size), ==, ref_last(map, size));
    }
    g_rand_free(r);
}

static void test_counts(void)
{
    int i;

    g_assert_cmpint(ctz32(0), ==, 32);
    g_assert_cmpint(ctz64(0), ==, 64);
    g_assert_cmpint(clz32(0), ==, 32);
    g_assert_cmpint(clz64(0), ==, 64);
    for (i = 0; i < 64; i++) {
        g_assert_cmpint(ctz64(1ULL << i), ==, i);
        g_assert_cmpint(clz64(1ULL << i), ==, 63 - i);
        if (i < 32) {
            g_assert_cmpint(ctz32(1U << i), ==, i);
            g_assert_cmpint(clz32(1U << i), ==, 31 - i);
        }
    }
    g_assert_cmpint(ctpop32(0xf0f0f0f0), ==, 16);
    g_assert_cmpint(ctpop64(~0ULL), ==, 64);
    g_assert_true(is_power_of_2(1));
    g_assert_true(is_power_of_2(4096));
    g_assert_false(is_power_of_2(0));
    g_assert_false(is_power_of_2(12));
    g_assert_cmpuint(pow2ceil(0), ==, 1);
    g_assert_cmpuint(pow2ceil(1), ==, 1);
    g_assert_cmpuint(pow2ceil(3), ==, 4);
    g_assert_cmpuint(pow2ceil(4096), ==, 4096);
    g_assert_cmpuint(pow2ceil(4097), ==, 8192);
    g_assert_cmpuint(pow2ceil((1ULL << 63) + 1), ==, 0);
    g_assert_cmpuint(pow2floor(4097), ==, 4096);
}

static void test_fields(void)
{
    g_assert_cmpuint(extract32(0x12345678, 8, 8), ==, 0x56);
    g_assert_cmpuint(extract32(0xffffffff, 0, 32), ==, 0xffffffff);
    g_assert_cmpuint(extract64(0x123456789abcdef0ULL, 60, 4), ==, 1);
    g_assert_cmpuint(extract64(~0ULL, 0, 64), ==, ~0ULL);
    g_assert_cmpint(sextract32(0x80, 4, 4), ==, -8);
    g_assert_cmpint(sextract32(0x70, 4, 4), ==, 7);
    g_assert_cmpint(sextract64(0xfffULL << 40, 40, 12), ==, -1);
    g_assert_cmpint(sextract64(0x800ULL, 0, 12), ==, -2048);
    g_assert_cmpuint(deposit32(0xffffffff, 8, 8, 0), ==, 0xffff00ff);
    g_assert_cmpuint(deposit32(0, 28, 4, 0xff), ==, 0xf0000000);
    g_assert_cmpuint(deposit64(0, 32, 32, 0x1234), ==, 0x123400000000ULL);
    g_assert_cmpuint(deposit64(~0ULL, 0, 64, 5), ==, 5);
    g_assert_cmpuint(rol32(0x80000001, 1), ==, 3);
    g_assert_cmpuint(ror64(1, 1), ==, 1ULL << 63);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bitops/single", test_single_bits);
    g_test_add_func("/bitops/find-random", test_find_random);
    g_test_add_func("/bitops/counts", test_counts);
    g_test_add_func("/bitops/fields", test_fields);
    return g_test_run();
}
