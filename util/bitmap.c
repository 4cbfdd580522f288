/*
 * Godwit: bitmap operations.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

unsigned long *bitmap_zero_extend(unsigned long *old, long old_nbits,
                                  long new_nbits)
{
    long new_len = BITS_TO_LONGS(new_nbits) * sizeof(unsigned long);
    unsigned long *map = g_realloc(old, new_len);

    if (new_nbits > old_nbits) {
        /* clear the tail of the old last word, then every new word */
        bitmap_clear(map, old_nbits, new_nbits - old_nbits);
    }
    return map;
}

bool bitmap_and(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);
    unsigned long any = 0;

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] & src2[i];
        any |= (i == n - 1) ? dst[i] & BITMAP_LAST_WORD_MASK(nbits) : dst[i];
    }
    return any != 0;
}

void bitmap_or(unsigned long *dst, const unsigned long *src1,
               const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] | src2[i];
    }
}

void bitmap_xor(unsigned long *dst, const unsigned long *src1,
                const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] ^ src2[i];
    }
}

bool bitmap_andnot(unsigned long *dst, const unsigned long *src1,
                   const unsigned long *src2, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);
    unsigned long any = 0;

    for (i = 0; i < n; i++) {
        dst[i] = src1[i] & ~src2[i];
        any |= (i == n - 1) ? dst[i] & BITMAP_LAST_WORD_MASK(nbits) : dst[i];
    }
    return any != 0;
}

void bitmap_complement(unsigned long *dst, const unsigned long *src,
                       long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = ~src[i];
    }
    if (n > 0) {
        dst[n - 1] &= BITMAP_LAST_WORD_MASK(nbits);
    }
}

bool bitmap_equal(const unsigned long *src1, const unsigned long *src2,
                  long nbits)
{
    long i, full = nbits / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        if (src1[i] != src2[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return !((src1[full] ^ src2[full]) & BITMAP_LAST_WORD_MASK(nbits));
    }
    return true;
}

bool bitmap_intersects(const unsigned long *src1, const unsigned long *src2,
                       long nbits)
{
    long i, full = nbits / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        if (src1[i] & src2[i]) {
            return true;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return (src1[full] & src2[full] & BITMAP_LAST_WORD_MASK(nbits)) != 0;
    }
    return false;
}

bool bitmap_empty(const unsigned long *src, long nbits)
{
    long i, full = nbits / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        if (src[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return !(src[full] & BITMAP_LAST_WORD_MASK(nbits));
    }
    return true;
}

bool bitmap_full(const unsigned long *src, long nbits)
{
    long i, full = nbits / BITS_PER_LONG;

    for (i = 0; i < full; i++) {
        if (~src[i]) {
            return false;
        }
    }
    if (nbits % BITS_PER_LONG) {
        return !(~src[full] & BITMAP_LAST_WORD_MASK(nbits));
    }
    return true;
}

long bitmap_count_one(const unsigned long *bitmap, long nbits)
{
    return bitmap_count_one_with_offset(bitmap, 0, nbits);
}

long bitmap_count_one_with_offset(const unsigned long *bitmap,
                                  long offset, long nbits)
{
    long end = offset + nbits;
    long first, last, i;
    unsigned long mask;
    long count = 0;

    if (nbits <= 0) {
        return 0;
    }
    first = BIT_WORD(offset);
    last = BIT_WORD(end - 1);
    for (i = first; i <= last; i++) {
        mask = ~0UL;
        if (i == first) {
            mask &= BITMAP_FIRST_WORD_MASK(offset);
        }
        if (i == last) {
            mask &= BITMAP_LAST_WORD_MASK(end);
        }
        count += ctpop64(bitmap[i] & mask);
    }
    return count;
}

/*
 * Runs @body for each word touched by [start, start + nr), with @p
 * pointing at the word and @mask holding the range's bits in it.
 */
#define BITMAP_FOR_RANGE(map, start, nr, p, mask, body)                  \
    do {                                                                 \
        long end_ = (start) + (nr);                                      \
        long w_, first_ = BIT_WORD(start), last_;                        \
        if ((nr) <= 0) {                                                 \
            break;                                                       \
        }                                                                \
        last_ = BIT_WORD(end_ - 1);                                      \
        for (w_ = first_; w_ <= last_; w_++) {                           \
            unsigned long *p = (map) + w_;                               \
            unsigned long mask = ~0UL;                                   \
            if (w_ == first_) {                                          \
                mask &= BITMAP_FIRST_WORD_MASK(start);                   \
            }                                                            \
            if (w_ == last_) {                                           \
                mask &= BITMAP_LAST_WORD_MASK(end_);                     \
            }                                                            \
            body;                                                        \
        }                                                                \
    } while (0)

void bitmap_set(unsigned long *map, long start, long nr)
{
    BITMAP_FOR_RANGE(map, start, nr, p, mask, *p |= mask);
}

void bitmap_clear(unsigned long *map, long start, long nr)
{
    BITMAP_FOR_RANGE(map, start, nr, p, mask, *p &= ~mask);
}

void bitmap_set_atomic(unsigned long *map, long start, long nr)
{
    BITMAP_FOR_RANGE(map, start, nr, p, mask, qatomic_or(p, mask));
}

void bitmap_clear_atomic(unsigned long *map, long start, long nr)
{
    BITMAP_FOR_RANGE(map, start, nr, p, mask, qatomic_and(p, ~mask));
}

bool bitmap_test_and_clear_atomic(unsigned long *map, long start, long nr)
{
    unsigned long dirty = 0;

    BITMAP_FOR_RANGE(map, start, nr, p, mask,
                     if (mask == ~0UL) {
                         dirty |= qatomic_xchg(p, 0);
                     } else {
                         dirty |= qatomic_fetch_and(p, ~mask) & mask;
                     });
    return dirty != 0;
}

bool bitmap_test_and_clear(unsigned long *map, long start, long nr)
{
    unsigned long dirty = 0;

    BITMAP_FOR_RANGE(map, start, nr, p, mask,
                     dirty |= *p & mask;
                     *p &= ~mask);
    return dirty != 0;
}

void bitmap_copy_and_clear_atomic(unsigned long *dst, unsigned long *src,
                                  long nr)
{
    long i, n = BITS_TO_LONGS(nr);

    for (i = 0; i < n; i++) {
        dst[i] = qatomic_xchg(&src[i], 0);
    }
}

/*
 * Reads up to BITS_PER_LONG bits of @src starting at bit @pos, where only
 * @want bits are needed (so words past the bitmap are never touched).
 */
static unsigned long bitmap_read_word(const unsigned long *src,
                                      unsigned long pos, unsigned long want)
{
    unsigned long idx = BIT_WORD(pos);
    unsigned long off = pos % BITS_PER_LONG;
    unsigned long val = src[idx] >> off;

    if (off && off + want > BITS_PER_LONG) {
        val |= src[idx + 1] << (BITS_PER_LONG - off);
    }
    return val;
}

void bitmap_copy_with_src_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits)
{
    unsigned long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        unsigned long want = MIN((unsigned long)BITS_PER_LONG,
                                 nbits - i * BITS_PER_LONG);
        dst[i] = bitmap_read_word(src, shift + i * BITS_PER_LONG, want);
    }
    if (n) {
        dst[n - 1] &= BITMAP_LAST_WORD_MASK(nbits);
    }
}

void bitmap_copy_with_dst_offset(unsigned long *dst, const unsigned long *src,
                                 unsigned long shift, unsigned long nbits)
{
    unsigned long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        unsigned long want = MIN((unsigned long)BITS_PER_LONG,
                                 nbits - i * BITS_PER_LONG);
        unsigned long val = src[i];
        unsigned long pos = shift + i * BITS_PER_LONG;
        unsigned long idx = BIT_WORD(pos);
        unsigned long off = pos % BITS_PER_LONG;
        unsigned long vmask = want == BITS_PER_LONG ? ~0UL : (1UL << want) - 1;

        val &= vmask;
        dst[idx] = (dst[idx] & ~(vmask << off)) | (val << off);
        if (off && off + want > BITS_PER_LONG) {
            unsigned long hmask = vmask >> (BITS_PER_LONG - off);
            dst[idx + 1] = (dst[idx + 1] & ~hmask) |
                           (val >> (BITS_PER_LONG - off));
        }
    }
}

/*
 * A little-endian bit stream is the same whatever the word size, so
 * byte-swapping each unsigned long on big-endian hosts is enough.
 */
void bitmap_to_le(unsigned long *dst, const unsigned long *src, long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        unsigned long v = src[i];

        if (i == n - 1) {
            v &= BITMAP_LAST_WORD_MASK(nbits);
        }
        dst[i] = GULONG_TO_LE(v);
    }
}

void bitmap_from_le(unsigned long *dst, const unsigned long *src,
                    long nbits)
{
    long i, n = BITS_TO_LONGS(nbits);

    for (i = 0; i < n; i++) {
        dst[i] = GULONG_FROM_LE(src[i]);
    }
    if (n > 0) {
        dst[n - 1] &= BITMAP_LAST_WORD_MASK(nbits);
    }
}

unsigned long bitmap_find_next_zero_area(unsigned long *map,
                                         unsigned long size,
                                         unsigned long start,
                                         unsigned long nr,
                                         unsigned long align_mask)
{
    unsigned long index, end, i;

    for (;;) {
        index = find_next_zero_bit(map, size, start);
        index = (index + align_mask) & ~align_mask;
        end = index + nr;
        if (end > size || end < index) {
            return size;
        }
        i = find_next_bit(map, end, index);
        if (i < end) {
            start = i + 1;
            continue;
        }
        return index;
    }
}
