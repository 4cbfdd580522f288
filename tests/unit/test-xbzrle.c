/*
 * XBZRLE encoder and decoder (migration/xbzrle.c): golden encodings with
 * one comment per field, round trips of random pages through every
 * encoder variant this CPU supports, the overflow boundary, and a table
 * of malformed inputs that the decoder must refuse.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/xbzrle.h"

#define PAGE 4096

/* Run @fn once with every encoder this CPU has, fastest first. */
static void for_each_encoder(void (*fn)(const void *), const void *data)
{
    xbzrle_encoder_reset();
    do {
        if (g_test_verbose()) {
            g_test_message("encoder %s", xbzrle_encoder_name());
        }
        fn(data);
    } while (xbzrle_encoder_next());
    xbzrle_encoder_reset();
}

/* ------------------------------------------------------------ golden */

typedef struct Golden {
    const char *name;
    /* changes applied to a page of 0x11 bytes: (offset, length, value) */
    struct { int off, len; uint8_t val; } change[4];
    const uint8_t *wire;     /* expected encoding (its first bytes) */
    int wire_len;            /* bytes of @wire given */
    int encoded_len;         /* total encoded length */
} Golden;

static const uint8_t golden_one_byte[] = {
    0x05,             /* zrun 5: bytes 0..4 unchanged */
    0x01,             /* nzrun 1 */
    0xaa,             /* new byte 5 */
    /* bytes 6..4095 unchanged: trailing zrun not encoded */
};

static const uint8_t golden_at_start[] = {
    0x00,             /* zrun 0: allowed only as the first run */
    0x03,             /* nzrun 3 */
    0xbb, 0xbb, 0xbb, /* new bytes 0..2 */
};

static const uint8_t golden_two_runs[] = {
    0x0a,             /* zrun 10 */
    0x02,             /* nzrun 2 */
    0xcc, 0xcc,       /* bytes 10, 11 */
    0x14,             /* zrun 20: bytes 12..31 */
    0x01,             /* nzrun 1 */
    0xdd,             /* byte 32 */
};

static const uint8_t golden_two_byte_lengths[] = {
    0xc8, 0x01,       /* zrun 200 = 0x48 | 0x80, 200 >> 7 = 1 */
    0x82, 0x01,       /* nzrun 130 = 0x02 | 0x80, 130 >> 7 = 1 */
    0xee, 0xee,       /* first 2 of the 130 new bytes (200..329) */
};

static const uint8_t golden_last_byte[] = {
    0xff, 0x1f,       /* zrun 4095 = 0x7f | 0x80, 4095 >> 7 = 0x1f */
    0x01,             /* nzrun 1 */
    0x42,             /* byte 4095 */
};

static const uint8_t golden_whole_page[] = {
    0x00,             /* zrun 0 */
    0x80, 0x20,       /* nzrun 4096 = 0x00 | 0x80, 4096 >> 7 = 0x20 */
    0x77,             /* first new byte; 4096 in all */
};

static const Golden goldens[] = {
    { "identical", { { 0 } }, NULL, 0, 0 },
    { "one-byte", { { 5, 1, 0xaa } }, golden_one_byte,
      sizeof(golden_one_byte), 3 },
    { "at-start", { { 0, 3, 0xbb } }, golden_at_start,
      sizeof(golden_at_start), 5 },
    { "two-runs", { { 10, 2, 0xcc }, { 32, 1, 0xdd } }, golden_two_runs,
      sizeof(golden_two_runs), 7 },
    { "two-byte-lengths", { { 200, 130, 0xee } }, golden_two_byte_lengths,
      sizeof(golden_two_byte_lengths), 4 + 130 },
    { "last-byte", { { 4095, 1, 0x42 } }, golden_last_byte,
      sizeof(golden_last_byte), 4 },
    { "whole-page", { { 0, PAGE, 0x77 } }, golden_whole_page,
      sizeof(golden_whole_page), 3 + PAGE },
};

static void golden_one(const void *data)
{
    const Golden *g = data;
    g_autofree uint8_t *old = g_malloc(PAGE);
    g_autofree uint8_t *new = g_malloc(PAGE);
    g_autofree uint8_t *dst = g_malloc(PAGE + 16);
    g_autofree uint8_t *back = g_malloc(PAGE);
    int len;

    memset(old, 0x11, PAGE);
    memcpy(new, old, PAGE);
    for (int i = 0; i < ARRAY_SIZE(g->change) && g->change[i].len; i++) {
        memset(new + g->change[i].off, g->change[i].val, g->change[i].len);
    }
    len = xbzrle_encode_buffer(old, new, PAGE, dst, PAGE + 16);
    g_assert_cmpint(len, ==, g->encoded_len);
    if (g->wire_len) {
        g_assert_cmpmem(dst, g->wire_len, g->wire, g->wire_len);
    }
    /* exactly enough room works, one byte less overflows */
    if (len) {
        g_assert_cmpint(xbzrle_encode_buffer(old, new, PAGE, dst, len), ==,
                        len);
        g_assert_cmpint(xbzrle_encode_buffer(old, new, PAGE, dst, len - 1),
                        ==, XBZRLE_OVERFLOW);
    }
    memcpy(back, old, PAGE);
    g_assert_true(xbzrle_decode_buffer(dst, len, back, PAGE, &error_abort));
    g_assert_cmpmem(back, PAGE, new, PAGE);
}

static void test_golden(gconstpointer data)
{
    for_each_encoder(golden_one, data);
}

/* The whole page changed does not fit in a page: the caller sends it raw. */
static void overflow_one(const void *data)
{
    g_autofree uint8_t *old = g_malloc0(PAGE);
    g_autofree uint8_t *new = g_malloc(PAGE);
    g_autofree uint8_t *dst = g_malloc(PAGE);

    memset(new, 0x77, PAGE);
    g_assert_cmpint(xbzrle_encode_buffer(old, new, PAGE, dst, PAGE), ==,
                    XBZRLE_OVERFLOW);
    /* alternating bytes: 4096 runs of 1 + length bytes */
    for (int i = 0; i < PAGE; i += 2) {
        new[i] = 0;
    }
    g_assert_cmpint(xbzrle_encode_buffer(old, new, PAGE, dst, PAGE), ==,
                    XBZRLE_OVERFLOW);
}

static void test_overflow(void)
{
    for_each_encoder(overflow_one, NULL);
}

/* ------------------------------------------------------------ round trips */

typedef struct RoundTrip {
    const char *name;
    int changes;        /* number of changed spans */
    int max_span;       /* longest span */
    int size;           /* buffer size */
} RoundTrip;

static const RoundTrip round_trips[] = {
    { "sparse", 4, 8, PAGE },
    { "medium", 64, 16, PAGE },
    { "dense", 400, 40, PAGE },
    { "single-bytes", 800, 1, PAGE },
    { "odd-size", 20, 30, 4093 },
    { "small", 3, 3, 7 },
    { "max-run", 5, 300, XBZRLE_MAX_RUN },
};

/* The output of the fastest encoder, to compare the others with. */
static uint8_t *reference;
static int reference_len;

static void round_trip_one(const void *data)
{
    const RoundTrip *rt = data;
    GRand *r = g_rand_new_with_seed(0x5eed + rt->changes);
    int n = rt->size, dlen = n + n / 2 + 16;
    g_autofree uint8_t *old = g_malloc(n);
    g_autofree uint8_t *new = g_malloc(n);
    g_autofree uint8_t *dst = g_malloc(dlen);
    g_autofree uint8_t *back = g_malloc(n);

    for (int iter = 0; iter < 50; iter++) {
        int len;

        for (int i = 0; i < n; i++) {
            old[i] = g_rand_int(r);
        }
        memcpy(new, old, n);
        for (int c = 0; c < rt->changes; c++) {
            int span = g_rand_int_range(r, 1, rt->max_span + 1);
            int off = g_rand_int_range(r, 0, n);

            for (int i = off; i < off + span && i < n; i++) {
                new[i] = g_rand_int(r);
            }
        }
        len = xbzrle_encode_buffer(old, new, n, dst, dlen);
        g_assert_cmpint(len, >=, 0);
        if (iter == 0) {
            if (!reference) {
                reference = g_memdup2(dst, len);
                reference_len = len;
            } else {
                /* every encoder finds the same runs */
                g_assert_cmpmem(dst, len, reference, reference_len);
            }
        }
        memcpy(back, old, n);
        g_assert_true(xbzrle_decode_buffer(dst, len, back, n, &error_abort));
        g_assert_cmpmem(back, n, new, n);
        /* decoding is idempotent: the runs carry absolute contents */
        g_assert_true(xbzrle_decode_buffer(dst, len, back, n, &error_abort));
        g_assert_cmpmem(back, n, new, n);
    }
    g_rand_free(r);
}

static void test_round_trip(gconstpointer data)
{
    g_clear_pointer(&reference, g_free);
    for_each_encoder(round_trip_one, data);
    g_clear_pointer(&reference, g_free);
}

/* Changes at every alignment next to the vector widths. */
static void alignment_one(const void *data)
{
    g_autofree uint8_t *old = g_malloc0(PAGE + 64);
    g_autofree uint8_t *new = g_malloc0(PAGE + 64);
    g_autofree uint8_t *dst = g_malloc(2 * PAGE);
    g_autofree uint8_t *back = g_malloc(PAGE + 64);

    for (int shift = 0; shift < 64; shift += 7) {
        for (int pos = 0; pos < 200; pos++) {
            uint8_t *o = old + shift, *nw = new + shift;
            int len;

            memset(nw, 0, PAGE);
            nw[pos] = 1;
            nw[PAGE - 1 - pos] = 2;
            len = xbzrle_encode_buffer(o, nw, PAGE, dst, 2 * PAGE);
            g_assert_cmpint(len, >, 0);
            memset(back, 0, PAGE);
            g_assert_true(xbzrle_decode_buffer(dst, len, back, PAGE,
                                               &error_abort));
            g_assert_cmpmem(back, PAGE, nw, PAGE);
        }
    }
}

static void test_alignment(void)
{
    for_each_encoder(alignment_one, NULL);
}

/* ------------------------------------------------------------ malformed */

typedef struct Bad {
    const char *name;
    uint8_t in[8];
    int len;
    int page;           /* decoded page size */
    const char *error;  /* part of the message */
} Bad;

static const Bad bads[] = {
    /* a lone byte cannot hold a zrun and an nzrun */
    { "trailing-byte", { 0x05 }, 1, 16, "only 1 byte(s) left" },
    /* zrun 5, then nothing: no data run */
    { "zrun-only", { 0x05, 0x01, 0x33, 0x04 }, 4, 16, "only 1 byte(s)" },
    /* zrun with a 2-byte length whose second byte is cut */
    { "truncated-varint", { 0x85 }, 1, 16, "only 1 byte(s) left" },
    /* second length byte with bit 7 set: a 3-byte varint */
    { "three-byte-varint", { 0x81, 0x81, 0x01, 0x01, 0x00 }, 5, 256,
      "longer than 2 bytes" },
    /* 0x85 0x00 spells 5 in 2 bytes */
    { "non-canonical", { 0x85, 0x00, 0x01, 0x01 }, 4, 16, "not canonical" },
    /* zrun 0, nzrun 0 */
    { "empty-data-run", { 0x00, 0x00, 0x01 }, 3, 16, "empty data run" },
    /* zrun 1, nzrun 1 byte, then zrun 0: only the first may be 0 */
    { "empty-zrun", { 0x01, 0x01, 0x33, 0x00, 0x01, 0x44 }, 6, 16,
      "empty unchanged run" },
    /* zrun 17 on a 16-byte page */
    { "zrun-past-page", { 0x11, 0x01, 0x33 }, 3, 16,
      "unchanged run of 17 bytes" },
    /* zrun 15, nzrun 2 on a 16-byte page */
    { "data-past-page", { 0x0f, 0x02, 0x33, 0x44 }, 4, 16,
      "data run of 2 bytes at byte 1 goes past the end of the 16-byte page" },
    /* nzrun 3 with only 2 data bytes */
    { "data-past-input", { 0x00, 0x03, 0x33, 0x44 }, 4, 16,
      "past the end of the 4 encoded bytes" },
    /* a valid run followed by one stray byte */
    { "trailing-after-run", { 0x00, 0x01, 0x33, 0x07 }, 4, 16,
      "only 1 byte(s) left" },
    /* zrun 0x3fff, a page of 16 bytes */
    { "max-zrun", { 0xff, 0x7f, 0x01, 0x00 }, 4, 16,
      "unchanged run of 16383 bytes" },
};

static void test_malformed(gconstpointer data)
{
    const Bad *b = data;
    g_autofree uint8_t *page = g_malloc0(b->page);
    Error *err = NULL;

    g_assert_false(xbzrle_decode_buffer(b->in, b->len, page, b->page, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), b->error)) {
        g_test_message("error: %s", error_get_pretty(err));
    }
    g_assert_nonnull(strstr(error_get_pretty(err), b->error));
    error_free(err);
}

/* Every short input: accepted or refused, never past either buffer. */
static void test_exhaustive_short(void)
{
    uint8_t in[3], page[4];

    for (int len = 0; len <= 3; len++) {
        for (uint32_t v = 0; v < (1u << (8 * len)); v++) {
            Error *err = NULL;

            for (int i = 0; i < len; i++) {
                in[i] = v >> (8 * i);
            }
            memset(page, 0, sizeof(page));
            if (!xbzrle_decode_buffer(in, len, page, sizeof(page), &err)) {
                g_assert_nonnull(err);
                error_free(err);
            }
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < ARRAY_SIZE(goldens); i++) {
        g_autofree char *path = g_strdup_printf("/xbzrle/golden/%s",
                                                goldens[i].name);
        g_test_add_data_func(path, &goldens[i], test_golden);
    }
    g_test_add_func("/xbzrle/overflow", test_overflow);
    for (size_t i = 0; i < ARRAY_SIZE(round_trips); i++) {
        g_autofree char *path = g_strdup_printf("/xbzrle/round-trip/%s",
                                                round_trips[i].name);
        g_test_add_data_func(path, &round_trips[i], test_round_trip);
    }
    g_test_add_func("/xbzrle/alignment", test_alignment);
    for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
        g_autofree char *path = g_strdup_printf("/xbzrle/malformed/%s",
                                                bads[i].name);
        g_test_add_data_func(path, &bads[i], test_malformed);
    }
    g_test_add_func("/xbzrle/malformed/exhaustive-short",
                    test_exhaustive_short);
    return g_test_run();
}
