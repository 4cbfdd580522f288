/*
 * Godwit: bit searches over arrays of unsigned long.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitops.h"

unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
                            unsigned long offset)
{
    unsigned long idx, word;

    if (offset >= size) {
        return size;
    }
    idx = BIT_WORD(offset);
    word = addr[idx] & (~0UL << (offset & (BITS_PER_LONG - 1)));
    for (;;) {
        if (word) {
            unsigned long bit = idx * BITS_PER_LONG + ctzl(word);
            return bit < size ? bit : size;
        }
        idx++;
        if (idx * BITS_PER_LONG >= size) {
            return size;
        }
        word = addr[idx];
    }
}

unsigned long find_next_zero_bit(const unsigned long *addr,
                                 unsigned long size, unsigned long offset)
{
    unsigned long idx, word;

    if (offset >= size) {
        return size;
    }
    idx = BIT_WORD(offset);
    word = ~addr[idx] & (~0UL << (offset & (BITS_PER_LONG - 1)));
    for (;;) {
        if (word) {
            unsigned long bit = idx * BITS_PER_LONG + ctzl(word);
            return bit < size ? bit : size;
        }
        idx++;
        if (idx * BITS_PER_LONG >= size) {
            return size;
        }
        word = ~addr[idx];
    }
}

unsigned long find_last_bit(const unsigned long *addr, unsigned long size)
{
    unsigned long idx, word;

    if (!size) {
        return 0;
    }
    idx = BIT_WORD(size - 1);
    /* keep only the bits below @size in the last word */
    word = addr[idx] & (~0UL >> (-size & (BITS_PER_LONG - 1)));
    for (;;) {
        if (word) {
            return idx * BITS_PER_LONG + (BITS_PER_LONG - 1 - clzl(word));
        }
        if (idx == 0) {
            return size;
        }
        word = addr[--idx];
    }
}
