/*
 * Godwit: fast detection of all-zero buffers.
 *
 * Buffers shorter than 64 bytes are handled with a few overlapping
 * unaligned word loads.  Longer ones go to the accelerated routine chosen
 * at start-up (AVX2, SSE2 or a portable word loop), each of which only
 * needs len >= 64: it ORs an unaligned head and tail vector with the
 * aligned middle, so no byte outside the buffer is read.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "trace.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86_ACCEL 1
#endif

typedef bool (*BufferIsZeroFn)(const void *buf, size_t len);

static inline uint64_t load64(const void *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t load32(const void *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* 4 <= len < 64 */
static bool buffer_is_zero_small(const unsigned char *buf, size_t len)
{
    const unsigned char *end = buf + len;
    uint64_t acc;

    if (len < 8) {
        return (load32(buf) | load32(end - 4)) == 0;
    }
    acc = load64(end - 8);
    for (; buf < end - 8; buf += 8) {
        acc |= load64(buf);
    }
    return acc == 0;
}

/* Portable: unsigned long words.  len >= 64 */
static bool buffer_zero_generic(const void *vbuf, size_t len)
{
    const unsigned char *buf = vbuf;
    const unsigned char *end = buf + len;
    const unsigned long *p, *e;
    unsigned long acc;

    acc = load64(buf) | load64(end - 8);
    if (acc) {
        return false;
    }
    p = (const unsigned long *)QEMU_ALIGN_UP((uintptr_t)buf,
                                            sizeof(unsigned long));
    e = (const unsigned long *)QEMU_ALIGN_DOWN((uintptr_t)end,
                                              sizeof(unsigned long));
    for (; p + 8 <= e; p += 8) {
        if (p[0] | p[1] | p[2] | p[3] | p[4] | p[5] | p[6] | p[7]) {
            return false;
        }
    }
    for (; p < e; p++) {
        acc |= *p;
    }
    return acc == 0;
}

#ifdef HAVE_X86_ACCEL
static bool __attribute__((target("sse2")))
buffer_zero_sse2(const void *vbuf, size_t len)
{
    const char *buf = vbuf;
    const char *end = buf + len;
    const __m128i *p, *e;
    __m128i zero = _mm_setzero_si128();
    __m128i t;

    t = _mm_or_si128(_mm_loadu_si128((const __m128i *)buf),
                     _mm_loadu_si128((const __m128i *)(end - 16)));
    p = (const __m128i *)QEMU_ALIGN_UP((uintptr_t)buf, 16);
    e = (const __m128i *)QEMU_ALIGN_DOWN((uintptr_t)end, 16);
    for (; p + 4 <= e; p += 4) {
        t = _mm_or_si128(t, _mm_or_si128(_mm_or_si128(p[0], p[1]),
                                          _mm_or_si128(p[2], p[3])));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(t, zero)) != 0xffff) {
            return false;
        }
    }
    for (; p < e; p++) {
        t = _mm_or_si128(t, *p);
    }
    return _mm_movemask_epi8(_mm_cmpeq_epi8(t, zero)) == 0xffff;
}

#ifdef CONFIG_AVX2_OPT
static bool __attribute__((target("avx2")))
buffer_zero_avx2(const void *vbuf, size_t len)
{
    const char *buf = vbuf;
    const char *end = buf + len;
    const __m256i *p, *e;
    __m256i t;

    t = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)buf),
                        _mm256_loadu_si256((const __m256i *)(end - 32)));
    p = (const __m256i *)QEMU_ALIGN_UP((uintptr_t)buf, 32);
    e = (const __m256i *)QEMU_ALIGN_DOWN((uintptr_t)end, 32);
    for (; p + 4 <= e; p += 4) {
        t = _mm256_or_si256(t, _mm256_or_si256(_mm256_or_si256(p[0], p[1]),
                                                _mm256_or_si256(p[2], p[3])));
        if (!_mm256_testz_si256(t, t)) {
            return false;
        }
    }
    for (; p < e; p++) {
        t = _mm256_or_si256(t, *p);
    }
    return _mm256_testz_si256(t, t);
}
#endif
#endif

typedef struct BufferZeroAccel {
    const char *name;
    BufferIsZeroFn fn;
    bool (*supported)(void);
} BufferZeroAccel;

#ifdef HAVE_X86_ACCEL
#ifdef CONFIG_AVX2_OPT
static bool cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

static bool cpu_has_sse2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse2");
}
#endif

static bool cpu_always(void)
{
    return true;
}

/* Fastest first. */
static const BufferZeroAccel accels[] = {
#ifdef HAVE_X86_ACCEL
#ifdef CONFIG_AVX2_OPT
    { "avx2", buffer_zero_avx2, cpu_has_avx2 },
#endif
    { "sse2", buffer_zero_sse2, cpu_has_sse2 },
#endif
    { "generic", buffer_zero_generic, cpu_always },
};

static unsigned accel_index;
static BufferIsZeroFn buffer_zero_accel = buffer_zero_generic;

/* Select the first supported implementation at or after @start. */
static bool select_accel(unsigned start)
{
    unsigned i;

    for (i = start; i < ARRAY_SIZE(accels); i++) {
        if (accels[i].supported()) {
            accel_index = i;
            qatomic_set(&buffer_zero_accel, accels[i].fn);
            trace_buffer_is_zero_select(accels[i].name);
            return true;
        }
    }
    return false;
}

static void __attribute__((constructor)) buffer_is_zero_init(void)
{
    select_accel(0);
}

bool test_buffer_is_zero_next_accel(void)
{
    return select_accel(accel_index + 1);
}

const char *buffer_is_zero_accel_name(void)
{
    return accels[accel_index].name;
}

bool buffer_is_zero(const void *vbuf, size_t len)
{
    const unsigned char *buf = vbuf;

    if (unlikely(len == 0)) {
        return true;
    }
    /* most non-zero pages fail on one of these three bytes */
    if (buf[0] | buf[len - 1] | buf[len / 2]) {
        return false;
    }
    if (len <= 3) {
        return true;
    }
    if (len < 64) {
        return buffer_is_zero_small(buf, len);
    }
    return qatomic_read(&buffer_zero_accel)(buf, len);
}
