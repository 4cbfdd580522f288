/*
 * Godwit: bitmaps stored as arrays of unsigned long.
 *
 * A bitmap of @nbits bits occupies BITS_TO_LONGS(nbits) words; bits past
 * @nbits in the last word are unspecified for the whole-map operations
 * below, which ignore them (they never read them as set nor rely on them
 * being clear).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QEMU_BITMAP_H
#define QEMU_BITMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "qemu/bitops.h"

/* Mask of the valid bits of the last word of an @nbits bitmap. */
#define BITMAP_LAST_WORD_MASK(nbits) \
    (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))
/* Mask of bits from @start % BITS_PER_LONG upward within a word. */
#define BITMAP_FIRST_WORD_MASK(start) \
    (~0UL << ((start) & (BITS_PER_LONG - 1)))

#define DECLARE_BITMAP(name, bits) \
    unsigned long name[BITS_TO_LONGS(bits)]

/* Allocation: free with g_free(). */
static inline unsigned long *bitmap_try_new(long nbits)
{
    return g_try_new0(unsigned long, BITS_TO_LONGS(nbits));
}

static inline unsigned long *bitmap_new(long nbits)
{
    return g_new0(unsigned long, BITS_TO_LONGS(nbits));
}

static inline void bitmap_zero(unsigned long *dst, long nbits)
{
    memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

static inline void bitmap_fill(unsigned long *dst, long nbits)
{
    long n = BITS_TO_LONGS(nbits);

    if (n > 1) {
        memset(dst, 0xff, (n - 1) * sizeof(unsigned long));
    }
    if (n > 0) {
        dst[n - 1] = BITMAP_LAST_WORD_MASK(nbits);
    }
}

static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
                               long nbits)
{
    memcpy(dst, src, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/*
 * Grow/shrink a bitmap allocated with bitmap_new; new bits are clear.
 */
unsigned long *bitmap_zero_extend(unsigned long *old, long old_nbits,
                                  long new_nbits);

/* Whole-map logic.  bitmap_and/andnot return true if the result is non-empty. */
bool bitmap_and(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits);
void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits);
void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits);
bool bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                   const unsigned long *src2, long nbits);
void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       long nbits);

bool bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                  long nbits);
bool bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                       long nbits);
bool bitmap_empty(const unsigned long *src, long nbits);
bool bitmap_full(const unsigned long *src, long nbits);

/* Number of set bits in [0, nbits) / in [offset, offset + nbits). */
long bitmap_count_one(const unsigned long *bitmap, long nbits);
long bitmap_count_one_with_offset(const unsigned long *bitmap,
                                  long offset, long nbits);

/* Range operations on [start, start + nr). */
void bitmap_set(unsigned long *map, long start, long nr);
void bitmap_clear(unsigned long *map, long start, long nr);
void bitmap_set_atomic(unsigned long *map, long start, long nr);
void bitmap_clear_atomic(unsigned long *map, long start, long nr);
/* Atomically clears the range; returns true if any bit in it was set. */
bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long nr);
/* Non-atomic variant of the above. */
bool bitmap_test_and_clear(unsigned long *map, long start, long nr);

/*
 * Copies @src to @dst for @nr bits and clears @src, one word at a time with
 * an atomic exchange, so bits set concurrently in @src are never lost:
 * each ends up either in @dst or still in @src.
 */
void bitmap_copy_and_clear_atomic(unsigned long *dst, unsigned long *src,
                                  long nr);

/* dst[0 .. nbits) = src[shift .. shift + nbits) */
void bitmap_copy_with_src_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits);
/*
 * dst[shift .. shift + nbits) = src[0 .. nbits); bits of @dst outside that
 * range are preserved.
 */
void bitmap_copy_with_dst_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits);

/*
 * Convert between the host layout and an array of little-endian 64-bit
 * words (the wire format of received-page bitmaps).  @dst and @src each
 * hold BITS_TO_LONGS(nbits) words.
 */
void bitmap_to_le(unsigned long *dst, const unsigned long *src, long nbits);
void bitmap_from_le(unsigned long *dst, const unsigned long *src,
                    long nbits);

/*
 * Find a run of @nr clear bits starting at or after @start, below @size,
 * whose first bit index satisfies (index & @align_mask) == 0.  Returns the
 * index, or @size when no such run fits.
 */
unsigned long bitmap_find_next_zero_area(unsigned long *map,
                                         unsigned long size,
                                         unsigned long start,
                                         unsigned long nr,
                                         unsigned long align_mask);

#endif
