/*
 * Godwit: bit counting and field helpers for host integers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QEMU_HOST_UTILS_H
#define QEMU_HOST_UTILS_H

#include <stdbool.h>
#include <stdint.h>
#include <assert.h>

/* Count trailing zeros; the width of the type for a zero argument. */
static inline int ctz32(uint32_t val)
{
    return val ? __builtin_ctz(val) : 32;
}

static inline int ctz64(uint64_t val)
{
    return val ? __builtin_ctzll(val) : 64;
}

/* Count leading zeros; the width of the type for a zero argument. */
static inline int clz32(uint32_t val)
{
    return val ? __builtin_clz(val) : 32;
}

static inline int clz64(uint64_t val)
{
    return val ? __builtin_clzll(val) : 64;
}

/* Count trailing ones / leading ones. */
static inline int cto32(uint32_t val)
{
    return ctz32(~val);
}

static inline int cto64(uint64_t val)
{
    return ctz64(~val);
}

static inline int clo32(uint32_t val)
{
    return clz32(~val);
}

static inline int clo64(uint64_t val)
{
    return clz64(~val);
}

/* Population count. */
static inline int ctpop8(uint8_t val)
{
    return __builtin_popcount(val);
}

static inline int ctpop16(uint16_t val)
{
    return __builtin_popcount(val);
}

static inline int ctpop32(uint32_t val)
{
    return __builtin_popcount(val);
}

static inline int ctpop64(uint64_t val)
{
    return __builtin_popcountll(val);
}

/* Powers of two. */
static inline bool is_power_of_2(uint64_t value)
{
    return value && !(value & (value - 1));
}

/* Largest power of two <= @value (0 for 0). */
static inline uint64_t pow2floor(uint64_t value)
{
    if (!value) {
        return 0;
    }
    return 0x8000000000000000ULL >> clz64(value);
}

/* Smallest power of two >= @value; 1 for 0, 0 if it would overflow. */
static inline uint64_t pow2ceil(uint64_t value)
{
    int n = clz64(value - 1);

    if (!n) {
        /* value is 0 (value - 1 wraps) or greater than 2^63 */
        return !value;
    }
    return 0x8000000000000000ULL >> (n - 1);
}

/* Number of bits needed to hold @value. */
static inline int bitlen64(uint64_t value)
{
    return 64 - clz64(value);
}

/* Unsigned 64-bit multiply into a 128-bit result. */
static inline void mulu64(uint64_t *plow, uint64_t *phigh,
                          uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    *plow = (uint64_t)r;
    *phigh = (uint64_t)(r >> 64);
}

/* a * b / c with a 128-bit intermediate. */
static inline uint64_t muldiv64(uint64_t a, uint32_t b, uint32_t c)
{
    return (uint64_t)(((__uint128_t)a * b) / c);
}

#endif
