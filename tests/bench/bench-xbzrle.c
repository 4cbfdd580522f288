/*
 * XBZRLE encoder speed (migration/xbzrle.c) for every encoder variant this
 * CPU supports, on three kinds of page pairs:
 *
 *   unchanged  the new page equals the cached one (encoded length 0)
 *   sparse     8 changed spans of 1..16 bytes per 4 KiB page
 *   dense      256 changed spans of 1..16 bytes (about half the page):
 *              many runs, often an overflow
 *
 * Prints GB/s of page data encoded (pages x 4096 / CPU time) and the
 * decoder speed on the sparse pages.  Figures only, never pass/fail.
 *
 *   bench-xbzrle [MiB]      (default 256 MiB of pages per figure)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/xbzrle.h"

#define PAGE 4096
#define SET_PAGES 1024           /* 4 MiB of distinct pages, reused */

static uint8_t *olds, *news_sparse, *news_dense, *dst;

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_pages(uint8_t *news, int spans, GRand *r)
{
    memcpy(news, olds, (size_t)SET_PAGES * PAGE);
    for (int p = 0; p < SET_PAGES; p++) {
        uint8_t *pg = news + (size_t)p * PAGE;

        for (int s = 0; s < spans; s++) {
            int len = g_rand_int_range(r, 1, 17);
            int off = g_rand_int_range(r, 0, PAGE - len);

            for (int i = off; i < off + len; i++) {
                pg[i] = ~pg[i];
            }
        }
    }
}

static double encode_gbs(const uint8_t *news, uint64_t pages,
                         uint64_t *bytes_out, uint64_t *overflows)
{
    double t0 = cpu_seconds(), t;
    uint64_t bytes = 0, of = 0;

    for (uint64_t i = 0; i < pages; i++) {
        size_t off = (size_t)(i % SET_PAGES) * PAGE;
        int len = xbzrle_encode_buffer(olds + off, news + off, PAGE, dst,
                                       PAGE);

        if (len < 0) {
            of++;
        } else {
            bytes += len;
        }
    }
    t = cpu_seconds() - t0;
    *bytes_out = bytes;
    *overflows = of;
    return pages * (double)PAGE / t / 1e9;
}

static double decode_gbs(const uint8_t *news, uint64_t pages)
{
    g_autofree uint8_t *enc = g_malloc((size_t)SET_PAGES * PAGE);
    g_autofree int *lens = g_new(int, SET_PAGES);
    g_autofree uint8_t *page = g_malloc(PAGE);
    double t0, t;

    for (int p = 0; p < SET_PAGES; p++) {
        size_t off = (size_t)p * PAGE;

        lens[p] = xbzrle_encode_buffer(olds + off, news + off, PAGE,
                                       enc + off, PAGE);
        g_assert(lens[p] >= 0);
    }
    t0 = cpu_seconds();
    for (uint64_t i = 0; i < pages; i++) {
        size_t p = i % SET_PAGES;

        if (!xbzrle_decode_buffer(enc + p * PAGE, lens[p], page, PAGE,
                                  &error_abort)) {
            abort();
        }
    }
    t = cpu_seconds() - t0;
    return pages * (double)PAGE / t / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? g_ascii_strtoull(argv[1], NULL, 10) : 256;
    uint64_t pages = MAX(mib, 1) * MiB / PAGE;
    GRand *r = g_rand_new_with_seed(42);

    olds = g_malloc((size_t)SET_PAGES * PAGE);
    news_sparse = g_malloc((size_t)SET_PAGES * PAGE);
    news_dense = g_malloc((size_t)SET_PAGES * PAGE);
    dst = g_malloc(PAGE);
    for (size_t i = 0; i < (size_t)SET_PAGES * PAGE; i++) {
        olds[i] = g_rand_int(r);
    }
    make_pages(news_sparse, 8, r);
    make_pages(news_dense, 256, r);

    printf("xbzrle: %" PRIu64 " MiB of 4 KiB pages per figure, GB/s of page "
           "data per CPU second\n", mib);
    xbzrle_encoder_reset();
    do {
        uint64_t b, of;
        double u, s, d;

        u = encode_gbs(olds, pages, &b, &of);
        s = encode_gbs(news_sparse, pages, &b, &of);
        printf("xbzrle encode %-8s unchanged %6.2f GB/s  sparse %6.2f GB/s "
               "(%.0f bytes/page)", xbzrle_encoder_name(), u, s,
               (double)b / pages);
        d = encode_gbs(news_dense, pages, &b, &of);
        printf("  dense %6.2f GB/s (%.0f%% overflow)\n", d,
               100.0 * of / pages);
    } while (xbzrle_encoder_next());
    xbzrle_encoder_reset();
    printf("xbzrle decode sparse %6.2f GB/s\n",
           decode_gbs(news_sparse, pages));
    g_rand_free(r);
    return 0;
}
