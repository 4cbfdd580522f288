/*
 * XBZRLE encoder and decoder (the format is described in xbzrle.h and
 * docs/devel/migration/xbzrle.rst).
 *
 * The encoder alternates two scans over the old and the new page: "where
 * is the next byte that differs" (the end of an unchanged run) and "where
 * is the next byte that is equal again" (the end of a changed run).  On a
 * page with few changes nearly all the time goes into the first scan, so
 * both are written three times -- AVX2 (64 bytes per step), SSE2 (64
 * bytes per step) and portable 64-bit words -- and the fastest one the CPU
 * supports is chosen at start-up, as util/bufferiszero.c does.  The runs
 * found, and so the output, are the same for every variant: maximal
 * alternating runs, the encoding QEMU's own encoder produces.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/xbzrle.h"
#include "trace.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define XBZRLE_X86 1
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define XBZRLE_LE 1
#endif

/* ------------------------------------------------------------ ULEB128 */

static inline int uleb_len(uint32_t n)
{
    return n < 0x80 ? 1 : 2;
}

/* @n <= XBZRLE_MAX_RUN */
static inline int uleb_put(uint8_t *d, uint32_t n)
{
    if (n < 0x80) {
        d[0] = n;
        return 1;
    }
    d[0] = (n & 0x7f) | 0x80;
    d[1] = n >> 7;
    return 2;
}

/* ------------------------------------------------------------ scans */

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

/* First index >= @i below @n where the bytes differ, else @n. */
static inline int diff_bytes(const uint8_t *a, const uint8_t *b, int i, int n)
{
    while (i < n && a[i] == b[i]) {
        i++;
    }
    return i;
}

/* First index >= @i below @n where the bytes are equal, else @n. */
static inline int same_bytes(const uint8_t *a, const uint8_t *b, int i, int n)
{
    while (i < n && a[i] != b[i]) {
        i++;
    }
    return i;
}

#define ONES8   0x0101010101010101ULL
#define HIGHS8  0x8080808080808080ULL

static inline int diff_generic(const uint8_t *a, const uint8_t *b, int i,
                               int n)
{
#ifdef XBZRLE_LE
    for (; i + 32 <= n; i += 32) {
        uint64_t x0 = ld64(a + i) ^ ld64(b + i);
        uint64_t x1 = ld64(a + i + 8) ^ ld64(b + i + 8);
        uint64_t x2 = ld64(a + i + 16) ^ ld64(b + i + 16);
        uint64_t x3 = ld64(a + i + 24) ^ ld64(b + i + 24);

        if (x0 | x1 | x2 | x3) {
            break;
        }
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t x = ld64(a + i) ^ ld64(b + i);

        if (x) {
            /* little endian: the lowest set bit is in the first byte */
            return i + __builtin_ctzll(x) / 8;
        }
    }
#endif
    return diff_bytes(a, b, i, n);
}

static inline int same_generic(const uint8_t *a, const uint8_t *b, int i,
                               int n)
{
#ifdef XBZRLE_LE
    for (; i + 8 <= n; i += 8) {
        uint64_t x = ld64(a + i) ^ ld64(b + i);
        /*
         * A zero byte of x is an equal byte.  The lowest set bit of t is
         * exactly the first zero byte (a borrow only reaches the bytes
         * above it, which come later in memory).
         */
        uint64_t t = (x - ONES8) & ~x & HIGHS8;

        if (t) {
            return i + __builtin_ctzll(t) / 8;
        }
    }
#endif
    return same_bytes(a, b, i, n);
}

#ifdef XBZRLE_X86
static inline int __attribute__((always_inline, target("sse2")))
diff_sse2(const uint8_t *a, const uint8_t *b, int i, int n)
{
    for (; i + 64 <= n; i += 64) {
        uint64_t m0 = _mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_loadu_si128((const __m128i *)(a + i)),
            _mm_loadu_si128((const __m128i *)(b + i))));
        uint64_t m1 = _mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_loadu_si128((const __m128i *)(a + i + 16)),
            _mm_loadu_si128((const __m128i *)(b + i + 16))));
        uint64_t m2 = _mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_loadu_si128((const __m128i *)(a + i + 32)),
            _mm_loadu_si128((const __m128i *)(b + i + 32))));
        uint64_t m3 = _mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_loadu_si128((const __m128i *)(a + i + 48)),
            _mm_loadu_si128((const __m128i *)(b + i + 48))));
        /* bit k set: byte i + k is equal */
        uint64_t eq = m0 | m1 << 16 | m2 << 32 | m3 << 48;

        if (~eq) {
            return i + __builtin_ctzll(~eq);
        }
    }
    return diff_generic(a, b, i, n);
}

static inline int __attribute__((always_inline, target("sse2")))
same_sse2(const uint8_t *a, const uint8_t *b, int i, int n)
{
    for (; i + 16 <= n; i += 16) {
        unsigned eq = _mm_movemask_epi8(_mm_cmpeq_epi8(
            _mm_loadu_si128((const __m128i *)(a + i)),
            _mm_loadu_si128((const __m128i *)(b + i))));

        if (eq) {
            return i + __builtin_ctz(eq);
        }
    }
    return same_generic(a, b, i, n);
}

#ifdef CONFIG_AVX2_OPT
static inline int __attribute__((always_inline, target("avx2")))
diff_avx2(const uint8_t *a, const uint8_t *b, int i, int n)
{
    for (; i + 64 <= n; i += 64) {
        uint64_t m0 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
            _mm256_loadu_si256((const __m256i *)(a + i)),
            _mm256_loadu_si256((const __m256i *)(b + i))));
        uint64_t m1 = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(
            _mm256_loadu_si256((const __m256i *)(a + i + 32)),
            _mm256_loadu_si256((const __m256i *)(b + i + 32))));
        uint64_t eq = m0 | m1 << 32;

        if (~eq) {
            return i + __builtin_ctzll(~eq);
        }
    }
    return diff_generic(a, b, i, n);
}

static inline int __attribute__((always_inline, target("avx2")))
same_avx2(const uint8_t *a, const uint8_t *b, int i, int n)
{
    for (; i + 32 <= n; i += 32) {
        uint32_t eq = _mm256_movemask_epi8(_mm256_cmpeq_epi8(
            _mm256_loadu_si256((const __m256i *)(a + i)),
            _mm256_loadu_si256((const __m256i *)(b + i))));

        if (eq) {
            return i + __builtin_ctz(eq);
        }
    }
    return same_generic(a, b, i, n);
}
#endif
#endif

/* ------------------------------------------------------------ encoder */

/*
 * One encoder per pair of scans.  Each step finds an unchanged run (from
 * @i to the first differing byte z) and the changed run after it (from z
 * to the first equal byte), and writes both if they fit.  Every zrun but
 * the first is at least 1 long: a changed run ends on an equal byte.
 */
#define DEFINE_XBZRLE_ENCODER(name, attr, diff, same)                       \
static int attr name(const uint8_t *old_buf, const uint8_t *new_buf,       \
                     int slen, uint8_t *dst, int dlen)                      \
{                                                                           \
    int i = 0, d = 0;                                                       \
                                                                            \
    while (i < slen) {                                                      \
        int z = diff(old_buf, new_buf, i, slen);                            \
        int e, zrun, nzrun;                                                 \
                                                                            \
        if (z == slen) {                                                    \
            break;          /* the trailing unchanged run is not sent */    \
        }                                                                   \
        /* new_buf[z] differs: the changed run is at least 1 long */        \
        e = same(old_buf, new_buf, z + 1, slen);                            \
        zrun = z - i;                                                       \
        nzrun = e - z;                                                      \
        if (uleb_len(zrun) + uleb_len(nzrun) + nzrun > dlen - d) {          \
            return XBZRLE_OVERFLOW;                                         \
        }                                                                   \
        d += uleb_put(dst + d, zrun);                                       \
        d += uleb_put(dst + d, nzrun);                                      \
        memcpy(dst + d, new_buf + z, nzrun);                                \
        d += nzrun;                                                         \
        i = e;                                                              \
    }                                                                       \
    return d;                                                               \
}

DEFINE_XBZRLE_ENCODER(xbzrle_encode_generic, , diff_generic, same_generic)
#ifdef XBZRLE_X86
DEFINE_XBZRLE_ENCODER(xbzrle_encode_sse2, __attribute__((target("sse2"))),
                      diff_sse2, same_sse2)
#ifdef CONFIG_AVX2_OPT
DEFINE_XBZRLE_ENCODER(xbzrle_encode_avx2, __attribute__((target("avx2"))),
                      diff_avx2, same_avx2)
#endif
#endif

typedef int (*XbzrleEncodeFn)(const uint8_t *, const uint8_t *, int,
                              uint8_t *, int);

typedef struct XbzrleEncoder {
    const char *name;
    XbzrleEncodeFn fn;
    const char *cpu_feature;    /* NULL: always usable */
} XbzrleEncoder;

/* Fastest first. */
static const XbzrleEncoder encoders[] = {
#ifdef XBZRLE_X86
#ifdef CONFIG_AVX2_OPT
    { "avx2", xbzrle_encode_avx2, "avx2" },
#endif
    { "sse2", xbzrle_encode_sse2, "sse2" },
#endif
    { "generic", xbzrle_encode_generic, NULL },
};

static unsigned encoder_index = ARRAY_SIZE(encoders) - 1;
static XbzrleEncodeFn encode_fn = xbzrle_encode_generic;

static bool encoder_supported(const XbzrleEncoder *e)
{
    if (!e->cpu_feature) {
        return true;
    }
#ifdef XBZRLE_X86
    __builtin_cpu_init();
    if (!strcmp(e->cpu_feature, "avx2")) {
        return __builtin_cpu_supports("avx2");
    }
    if (!strcmp(e->cpu_feature, "sse2")) {
        return __builtin_cpu_supports("sse2");
    }
#endif
    return false;
}

static bool encoder_select(unsigned start)
{
    for (unsigned i = start; i < ARRAY_SIZE(encoders); i++) {
        if (encoder_supported(&encoders[i])) {
            encoder_index = i;
            qatomic_set(&encode_fn, encoders[i].fn);
            trace_xbzrle_encoder_select(encoders[i].name);
            return true;
        }
    }
    return false;
}

static void __attribute__((constructor)) xbzrle_init(void)
{
    encoder_select(0);
}

const char *xbzrle_encoder_name(void)
{
    return encoders[encoder_index].name;
}

bool xbzrle_encoder_next(void)
{
    return encoder_select(encoder_index + 1);
}

void xbzrle_encoder_reset(void)
{
    encoder_select(0);
}

int xbzrle_encode_buffer(const uint8_t *old_buf, const uint8_t *new_buf,
                         int slen, uint8_t *dst, int dlen)
{
    assert(slen > 0 && slen <= XBZRLE_MAX_RUN && dlen >= 0);
    return qatomic_read(&encode_fn)(old_buf, new_buf, slen, dst, dlen);
}

/* ------------------------------------------------------------ decoder */

/*
 * Read one run length at @src[@i] (@avail bytes left, at least 2 as the
 * format guarantees before every length).  Returns its size, or 0 with
 * @errp set.
 */
static int uleb_get(const uint8_t *src, int i, int avail, const char *what,
                    uint32_t *out, Error **errp)
{
    uint8_t b0, b1;

    if (avail < 2) {
        error_setg(errp, "xbzrle: %s length at byte %d: only %d byte(s) "
                   "left, a run takes at least 2", what, i, avail);
        return 0;
    }
    b0 = src[i];
    if (!(b0 & 0x80)) {
        *out = b0;
        return 1;
    }
    b1 = src[i + 1];
    if (b1 & 0x80) {
        error_setg(errp, "xbzrle: %s length at byte %d is longer than 2 "
                   "bytes (0x%02x 0x%02x)", what, i, b0, b1);
        return 0;
    }
    if (!b1) {
        error_setg(errp, "xbzrle: %s length at byte %d is not canonical "
                   "(0x%02x 0x00)", what, i, b0);
        return 0;
    }
    *out = (b0 & 0x7f) | (uint32_t)b1 << 7;
    return 2;
}

bool xbzrle_decode_buffer(const uint8_t *src, int slen, uint8_t *dst,
                          int dlen, Error **errp)
{
    int i = 0, d = 0, n;
    uint32_t count;

    assert(slen >= 0 && dlen >= 0);
    while (i < slen) {
        /* unchanged run: skip */
        n = uleb_get(src, i, slen - i, "unchanged run", &count, errp);
        if (!n) {
            return false;
        }
        if (i && !count) {
            error_setg(errp, "xbzrle: empty unchanged run at byte %d (only "
                       "the first run may be empty)", i);
            return false;
        }
        if (count > (uint32_t)(dlen - d)) {
            error_setg(errp, "xbzrle: unchanged run of %u bytes at byte %d "
                       "goes past the end of the %d-byte page (at %d)",
                       count, i, dlen, d);
            return false;
        }
        i += n;
        d += count;

        /* changed run: copy */
        n = uleb_get(src, i, slen - i, "data run", &count, errp);
        if (!n) {
            return false;
        }
        if (!count) {
            error_setg(errp, "xbzrle: empty data run at byte %d", i);
            return false;
        }
        if (count > (uint32_t)(dlen - d)) {
            error_setg(errp, "xbzrle: data run of %u bytes at byte %d goes "
                       "past the end of the %d-byte page (at %d)",
                       count, i, dlen, d);
            return false;
        }
        i += n;
        if (count > (uint32_t)(slen - i)) {
            error_setg(errp, "xbzrle: data run of %u bytes at byte %d goes "
                       "past the end of the %d encoded bytes", count, i - n,
                       slen);
            return false;
        }
        memcpy(dst + d, src + i, count);
        d += count;
        i += count;
    }
    return true;
}
