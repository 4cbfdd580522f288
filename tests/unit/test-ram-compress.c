/*
 * The one-page codec of COMPRESS_PAGE records (migration/ram-compress.c):
 * ram_compress_page at every level round-trips through
 * ram_decompress_page, and every malformed stream is refused with an
 * error saying what was wrong.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/ram-compress.h"

#define PAGE 4096

static void fill(uint8_t *p, unsigned seed)
{
    for (int i = 0; i < PAGE; i++) {
        p[i] = i < 64 ? (uint8_t)(seed * 31 + i * 7) : "godwit"[i % 6];
    }
}

/* A zlib stream of @n pattern bytes at level 6 (g_free). */
static uint8_t *zstream(size_t n, uLongf *len)
{
    g_autofree uint8_t *src = g_malloc(n);
    uint8_t *out;

    for (size_t i = 0; i < n; i++) {
        src[i] = i * 13 + 7;
    }
    *len = compressBound(n);
    out = g_malloc(*len);
    g_assert_cmpint(compress2(out, len, src, n, 6), ==, Z_OK);
    return out;
}

static void test_round_trip(void)
{
    uint8_t page[PAGE], back[PAGE], out[8192];
    z_stream in;

    memset(&in, 0, sizeof(in));
    g_assert_cmpint(inflateInit(&in), ==, Z_OK);
    for (int level = 0; level <= 9; level++) {
        z_stream zs;
        long len;

        memset(&zs, 0, sizeof(zs));
        g_assert_cmpint(deflateInit(&zs, level), ==, Z_OK);
        for (unsigned seed = 0; seed < 4; seed++) {
            fill(page, seed);
            len = ram_compress_page(&zs, page, PAGE, out, compressBound(PAGE));
            g_assert_cmpint(len, >, 0);
            g_assert_cmpint(len, <=, (long)compressBound(PAGE));
            if (level == 0) {
                g_assert_cmpint(len, >, PAGE);      /* stored */
            } else {
                g_assert_cmpint(len, <, PAGE / 4);
            }
            memset(back, 0xcc, sizeof(back));
            g_assert_true(ram_decompress_page(&in, out, len, back, PAGE,
                                              &error_abort));
            g_assert_cmpmem(back, PAGE, page, PAGE);
        }
        deflateEnd(&zs);
    }
    inflateEnd(&in);
}

typedef struct BadCase {
    const char *name;
    size_t inflates_to;         /* 0: garbage */
    int cut;                    /* bytes dropped from the end */
    int extra;                  /* bytes added after the end */
    const char *error;
} BadCase;

static const BadCase bad_cases[] = {
    { "/ram-compress/bad/garbage", 0, 0, 0, "not a valid zlib stream" },
    { "/ram-compress/bad/short", 100, 0, 0,
      "ends after 100 bytes, before the 4096 bytes" },
    { "/ram-compress/bad/long", 4097, 0, 0, "more than the 4096 bytes" },
    { "/ram-compress/bad/cut", 4096, 6, 0, "cut short" },
    { "/ram-compress/bad/trailing", 4096, 0, 3, "3 bytes follow the end" },
    { "/ram-compress/bad/empty", 4096, -1, 0, "cut short" },
};

static void test_bad(gconstpointer data)
{
    const BadCase *c = data;
    g_autofree uint8_t *z = NULL;
    uint8_t page[PAGE], buf[8192];
    uLongf len = 64;
    Error *err = NULL;
    z_stream in;

    if (c->inflates_to) {
        z = zstream(c->inflates_to, &len);
    } else {
        z = g_malloc(len);
        for (size_t i = 0; i < len; i++) {
            z[i] = 0xa5 ^ i;
        }
    }
    memcpy(buf, z, len);
    if (c->cut < 0) {
        len = 0;
    } else {
        len -= c->cut;
    }
    memset(buf + len, 0x11, c->extra);
    len += c->extra;
    memset(&in, 0, sizeof(in));
    g_assert_cmpint(inflateInit(&in), ==, Z_OK);
    g_assert_false(ram_decompress_page(&in, buf, len, page, PAGE, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), c->error)) {
        g_error("\"%s\" lacks \"%s\"", error_get_pretty(err), c->error);
    }
    error_free(err);
    /* the state is reusable after an error */
    {
        uint8_t good[PAGE], back[PAGE], out[8192];
        z_stream zs;
        long n;

        memset(&zs, 0, sizeof(zs));
        g_assert_cmpint(deflateInit(&zs, 1), ==, Z_OK);
        fill(good, 9);
        n = ram_compress_page(&zs, good, PAGE, out, sizeof(out));
        g_assert_true(ram_decompress_page(&in, out, n, back, PAGE,
                                          &error_abort));
        g_assert_cmpmem(back, PAGE, good, PAGE);
        deflateEnd(&zs);
    }
    inflateEnd(&in);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ram-compress/round-trip", test_round_trip);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].name, &bad_cases[i], test_bad);
    }
    return g_test_run();
}
