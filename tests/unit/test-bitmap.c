/*
 * Unit tests for util/bitmap.c: every operation against a naive
 * bit-by-bit reference on random data.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/thread.h"

#define MAXBITS (8 * 64 + 13)
#define NWORDS BITS_TO_LONGS(MAXBITS + 2 * 64)

static GRand *rnd;

static void fill_random(unsigned long *map, long nwords)
{
    long i;

    for (i = 0; i < nwords; i++) {
        map[i] = ((unsigned long)g_rand_int(rnd) << 32) | g_rand_int(rnd);
        if (g_rand_int_range(rnd, 0, 4) == 0) {
            map[i] = g_rand_boolean(rnd) ? 0 : ~0UL;
        }
    }
}

static bool ref_equal(const unsigned long *a, const unsigned long *b,
                      long nbits)
{
    long i;

    for (i = 0; i < nbits; i++) {
        if (!!test_bit(i, a) != !!test_bit(i, b)) {
            return false;
        }
    }
    return true;
}

static void test_basic(void)
{
    unsigned long *map = bitmap_new(200);
    long n;

    g_assert_true(bitmap_empty(map, 200));
    bitmap_fill(map, 200);
    g_assert_true(bitmap_full(map, 200));
    g_assert_cmpint(bitmap_count_one(map, 200), ==, 200);
    /* bits past the end are not set by fill */
    g_assert_cmpuint(map[BITS_TO_LONGS(200) - 1] >> (200 % 64), ==, 0);
    bitmap_zero(map, 200);
    g_assert_true(bitmap_empty(map, 200));
    map = bitmap_zero_extend(map, 200, 1000);
    g_assert_true(bitmap_empty(map, 1000));
    bitmap_set(map, 999, 1);
    g_assert_cmpint(find_last_bit(map, 1000), ==, 999);
    g_free(map);

    /* find_next_zero_area */
    map = bitmap_new(256);
    bitmap_set(map, 0, 10);
    bitmap_set(map, 20, 5);
    n = bitmap_find_next_zero_area(map, 256, 0, 10, 0);
    g_assert_cmpint(n, ==, 10);
    n = bitmap_find_next_zero_area(map, 256, 0, 11, 0);
    g_assert_cmpint(n, ==, 25);
    n = bitmap_find_next_zero_area(map, 256, 0, 4, 15);
    g_assert_cmpint(n, ==, 16);
    n = bitmap_find_next_zero_area(map, 256, 0, 5, 15);
    g_assert_cmpint(n, ==, 32);
    n = bitmap_find_next_zero_area(map, 256, 0, 300, 0);
    g_assert_cmpint(n, ==, 256);
    g_free(map);
}

static void test_ranges(void)
{
    unsigned long a[NWORDS], b[NWORDS], ref[NWORDS];
    int iter;

    for (iter = 0; iter < 5000; iter++) {
        long start = g_rand_int_range(rnd, 0, MAXBITS);
        long nr = g_rand_int_range(rnd, 0, MAXBITS - start + 1);
        long i, count = 0;
        bool any = false, ret;
        int op = iter % 6;

        fill_random(a, NWORDS);
        memcpy(ref, a, sizeof(a));
        for (i = start; i < start + nr; i++) {
            any |= test_bit(i, ref);
            count += !!test_bit(i, ref);
            if (op == 0 || op == 2) {
                set_bit(i, ref);
            } else {
                clear_bit(i, ref);
            }
        }
        g_assert_cmpint(bitmap_count_one_with_offset(a, start, nr), ==,
                        count);
        switch (op) {
        case 0:
            bitmap_set(a, start, nr);
            break;
        case 1:
            bitmap_clear(a, start, nr);
            break;
        case 2:
            bitmap_set_atomic(a, start, nr);
            break;
        case 3:
            bitmap_clear_atomic(a, start, nr);
            break;
        case 4:
            ret = bitmap_test_and_clear_atomic(a, start, nr);
            g_assert_cmpint(ret, ==, any);
            break;
        case 5:
            ret = bitmap_test_and_clear(a, start, nr);
            g_assert_cmpint(ret, ==, any);
            break;
        }
        g_assert_true(memcmp(a, ref, sizeof(a)) == 0);
        (void)b;
    }
}

static void test_logic(void)
{
    unsigned long a[NWORDS], b[NWORDS], d[NWORDS], ref[NWORDS];
    int iter;

    for (iter = 0; iter < 2000; iter++) {
        long nbits = g_rand_int_range(rnd, 1, MAXBITS);
        long i, count = 0;
        bool nonempty = false;

        fill_random(a, NWORDS);
        fill_random(b, NWORDS);
        if (iter % 7 == 0) {
            memcpy(b, a, sizeof(a));
            /* differences past nbits must not matter */
            b[BIT_WORD(nbits)] ^= ~BITMAP_LAST_WORD_MASK(nbits);
            if (nbits % BITS_PER_LONG == 0) {
                b[BIT_WORD(nbits)] = ~a[BIT_WORD(nbits)];
            }
        }

        for (i = 0; i < nbits; i++) {
            count += !!test_bit(i, a);
        }
        g_assert_cmpint(bitmap_count_one(a, nbits), ==, count);
        g_assert_cmpint(bitmap_empty(a, nbits), ==, count == 0);
        g_assert_cmpint(bitmap_full(a, nbits), ==, count == nbits);
        g_assert_cmpint(bitmap_equal(a, b, nbits), ==,
                        ref_equal(a, b, nbits));

        bitmap_zero(ref, NWORDS * BITS_PER_LONG);
        nonempty = false;
        for (i = 0; i < nbits; i++) {
            if (test_bit(i, a) && test_bit(i, b)) {
                set_bit(i, ref);
                nonempty = true;
            }
        }
        g_assert_cmpint(bitmap_and(d, a, b, nbits), ==, nonempty);
        g_assert_true(ref_equal(d, ref, nbits));
        g_assert_cmpint(bitmap_intersects(a, b, nbits), ==, nonempty);

        bitmap_zero(ref, NWORDS * BITS_PER_LONG);
        nonempty = false;
        for (i = 0; i < nbits; i++) {
            if (test_bit(i, a) && !test_bit(i, b)) {
                set_bit(i, ref);
                nonempty = true;
            }
        }
        g_assert_cmpint(bitmap_andnot(d, a, b, nbits), ==, nonempty);
        g_assert_true(ref_equal(d, ref, nbits));

        bitmap_or(d, a, b, nbits);
        for (i = 0; i < nbits; i++) {
            g_assert_cmpint(!!test_bit(i, d), ==,
                            test_bit(i, a) || test_bit(i, b));
        }
        bitmap_xor(d, a, b, nbits);
        for (i = 0; i < nbits; i++) {
            g_assert_cmpint(!!test_bit(i, d), ==,
                            !!test_bit(i, a) != !!test_bit(i, b));
        }
        bitmap_complement(d, a, nbits);
        for (i = 0; i < nbits; i++) {
            g_assert_cmpint(!!test_bit(i, d), ==, !test_bit(i, a));
        }
        bitmap_copy(d, a, nbits);
        g_assert_true(bitmap_equal(d, a, nbits));
    }
}

static void test_offsets(void)
{
    unsigned long src[NWORDS], dst[NWORDS], orig[NWORDS];
    int iter;

    for (iter = 0; iter < 5000; iter++) {
        unsigned long nbits = g_rand_int_range(rnd, 0, MAXBITS);
        unsigned long shift = g_rand_int_range(rnd, 0, 2 * 64 + 3);
        unsigned long i;

        fill_random(src, NWORDS);
        fill_random(dst, NWORDS);
        memcpy(orig, dst, sizeof(dst));

        bitmap_copy_with_src_offset(dst, src, shift, nbits);
        for (i = 0; i < nbits; i++) {
            g_assert_cmpint(!!test_bit(i, dst), ==,
                            !!test_bit(i + shift, src));
        }

        memcpy(dst, orig, sizeof(dst));
        bitmap_copy_with_dst_offset(dst, src, shift, nbits);
        for (i = 0; i < NWORDS * BITS_PER_LONG; i++) {
            if (i >= shift && i < shift + nbits) {
                g_assert_cmpint(!!test_bit(i, dst), ==,
                                !!test_bit(i - shift, src));
            } else {
                g_assert_cmpint(!!test_bit(i, dst), ==,
                                !!test_bit(i, orig));
            }
        }
    }
}

static void test_le(void)
{
    unsigned long src[NWORDS], le[NWORDS], back[NWORDS];
    const uint8_t *bytes = (const uint8_t *)le;
    int iter;

    for (iter = 0; iter < 200; iter++) {
        long nbits = g_rand_int_range(rnd, 1, MAXBITS);
        long i;

        fill_random(src, NWORDS);
        bitmap_to_le(le, src, nbits);
        /* bit i is bit (i % 8) of byte i / 8 */
        for (i = 0; i < nbits; i++) {
            g_assert_cmpint((bytes[i / 8] >> (i % 8)) & 1, ==,
                            !!test_bit(i, src));
        }
        bitmap_from_le(back, le, nbits);
        g_assert_true(bitmap_equal(back, src, nbits));
    }
}

static void test_copy_and_clear(void)
{
    unsigned long src[NWORDS], dst[NWORDS], orig[NWORDS];
    long nbits = NWORDS * BITS_PER_LONG - 7;

    fill_random(src, NWORDS);
    memcpy(orig, src, sizeof(src));
    bitmap_copy_and_clear_atomic(dst, src, nbits);
    g_assert_true(bitmap_equal(dst, orig, nbits));
    g_assert_true(bitmap_empty(src, nbits));
}

/* Concurrent setters must never lose a bit to copy-and-clear. */
#define CC_BITS (64 * 64)
#define CC_ROUNDS 200000
static unsigned long cc_map[BITS_TO_LONGS(CC_BITS)];
static bool cc_stop;

static void *cc_setter(void *opaque)
{
    long i;

    for (i = 0; i < CC_ROUNDS; i++) {
        /* each bit index set exactly once per lap, in a known order */
        set_bit_atomic(i % CC_BITS, cc_map);
    }
    qatomic_set(&cc_stop, true);
    return NULL;
}

static void test_copy_and_clear_concurrent(void)
{
    unsigned long dst[BITS_TO_LONGS(CC_BITS)];
    long *seen = g_new0(long, CC_BITS);
    QemuThread th;
    long i, total = 0, expected_min = 0;

    qemu_thread_create(&th, "setter", cc_setter, NULL, QEMU_THREAD_JOINABLE);
    for (;;) {
        bool stop = qatomic_read(&cc_stop);

        bitmap_copy_and_clear_atomic(dst, cc_map, CC_BITS);
        for (i = 0; i < CC_BITS; i++) {
            if (test_bit(i, dst)) {
                seen[i]++;
            }
        }
        if (stop) {
            break;
        }
    }
    qemu_thread_join(&th);
    bitmap_copy_and_clear_atomic(dst, cc_map, CC_BITS);
    for (i = 0; i < CC_BITS; i++) {
        seen[i] += !!test_bit(i, dst);
        total += seen[i];
        /* at least one harvest saw every bit that was ever set */
        g_assert_cmpint(seen[i], >=, 1);
    }
    expected_min = CC_BITS;
    g_assert_cmpint(total, >=, expected_min);
    g_assert_true(bitmap_empty(cc_map, CC_BITS));
    g_free(seen);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    rnd = g_rand_new_with_seed(1234);
    g_test_add_func("/bitmap/basic", test_basic);
    g_test_add_func("/bitmap/ranges", test_ranges);
    g_test_add_func("/bitmap/logic", test_logic);
    g_test_add_func("/bitmap/offsets", test_offsets);
    g_test_add_func("/bitmap/le", test_le);
    g_test_add_func("/bitmap/copy-and-clear", test_copy_and_clear);
    g_test_add_func("/bitmap/copy-and-clear-concurrent",
                    test_copy_and_clear_concurrent);
    ret = g_test_run();
    g_rand_free(rnd);
    return ret;
}
