/*
 * The compression libraries' own speed on multifd's packet shape, one
 * thread: zlib level 1 and zstd level 1 (the multifd-*-level defaults),
 * one stream for the whole run, 128 pages of 4 KiB per packet, each page
 * fed on its own and the last one of a packet flushed (Z_SYNC_FLUSH /
 * ZSTD_e_flush), as multifd-zlib.c and multifd-zstd.c do.  This is the
 * ceiling for the throughput of one multifd channel with that method;
 * migration-bench.py's multifd-zlib / multifd-zstd scenarios print their
 * figure beside it.
 *
 * Times are this thread's CPU time, so the figures hold on a shared,
 * loaded host (wall-clock throughput there is lower by the CPU share).
 *
 * Page mixes (deterministic): a-b-like (a zero page with its first byte
 * set, what the a-b guest leaves), random (xorshift64), text-like (words
 * from a small dictionary), and "mixed" (one of each in turn).
 *
 *   bench-compress                     the table
 *   bench-compress --speed zlib|zstd MiB
 *                                      compress MiB/s on the mixed pages
 *   bench-compress --write-mix FILE MiB
 *                                      write the mixed pages to FILE (the
 *                                      migration benchmark's guest data)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "config-host.h"
#ifdef CONFIG_ZSTD
#include <zstd.h>
#endif

#define PAGE 4096
#define PACKET_PAGES 128
#define MiB (1024 * 1024)

enum { MIX_AB, MIX_RANDOM, MIX_TEXT, MIX_MIXED, MIX__MAX };
static const char *const mix_names[MIX__MAX] = {
    "a-b-like", "random", "text-like", "mixed",
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void fill_page(uint8_t *p, int kind, uint64_t index)
{
    static const char *const words[] = {
        "the ", "godwit ", "flies ", "thirteen ", "thousand ", "kilometres ",
        "without ", "stopping; ", "a ", "guest ", "should ", "too. ",
        "migration ", "page ", "dirty ", "bitmap ", "channel ", "\n",
    };
    uint64_t s = index * 0x9e3779b97f4a7c15ULL + 1;

    switch (kind) {
    case MIX_AB:
        memset(p, 0, PAGE);
        p[0] = 1 + index % 255;
        break;
    case MIX_RANDOM:
        for (int i = 0; i < PAGE; i += 8) {
            uint64_t v = xorshift(&s);

            memcpy(p + i, &v, 8);
        }
        break;
    case MIX_TEXT:
        for (int i = 0; i < PAGE;) {
            const char *w = words[xorshift(&s) % (sizeof(words) /
                                                  sizeof(words[0]))];
            size_t n = strlen(w);

            n = n < (size_t)(PAGE - i) ? n : (size_t)(PAGE - i);
            memcpy(p + i, w, n);
            i += n;
        }
        break;
    default:
        fill_page(p, index % 3, index);
        break;
    }
}

static uint8_t *make_pages(int kind, size_t npages)
{
    uint8_t *buf = malloc(npages * PAGE);

    if (!buf) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < npages; i++) {
        fill_page(buf + i * PAGE, kind, i);
    }
    return buf;
}

static double now(void)
{
    struct timespec ts;

    /* CPU time of this thread: the figure holds on a loaded host */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct Result {
    double comp_mibs, decomp_mibs, ratio;
} Result;

static uint8_t out[2 * PACKET_PAGES * PAGE];

static Result run_zlib(const uint8_t *pages, size_t npages)
{
    static uint8_t copy[PAGE], back[PACKET_PAGES * PAGE];
    z_stream zs = { 0 }, zd = { 0 };
    double t0, tc = 0, td = 0;
    uint64_t total = 0;
    Result r;

    if (deflateInit(&zs, 1) != Z_OK || inflateInit(&zd) != Z_OK) {
        abort();
    }
    for (size_t first = 0; first < npages; first += PACKET_PAGES) {
        size_t n = npages - first < PACKET_PAGES ? npages - first
                                                 : PACKET_PAGES;
        size_t len;

        t0 = now();
        zs.next_out = out;
        zs.avail_out = sizeof(out);
        for (size_t i = 0; i < n; i++) {
            memcpy(copy, pages + (first + i) * PAGE, PAGE);  /* as multifd */
            zs.next_in = copy;
            zs.avail_in = PAGE;
            if (deflate(&zs, i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH) !=
                Z_OK) {
                abort();
            }
        }
        len = sizeof(out) - zs.avail_out;
        tc += now() - t0;
        total += len;
        t0 = now();
        zd.next_in = out;
        zd.avail_in = len;
        zd.next_out = back;
        zd.avail_out = n * PAGE;
        if (inflate(&zd, Z_SYNC_FLUSH) != Z_OK || zd.avail_out) {
            abort();
        }
        td += now() - t0;
        if (memcmp(back, pages + first * PAGE, n * PAGE)) {
            abort();
        }
    }
    deflateEnd(&zs);
    inflateEnd(&zd);
    r.comp_mibs = npages * (double)PAGE / MiB / tc;
    r.decomp_mibs = npages * (double)PAGE / MiB / td;
    r.ratio = npages * (double)PAGE / total;
    return r;
}

#ifdef CONFIG_ZSTD
static Result run_zstd(const uint8_t *pages, size_t npages)
{
    static uint8_t back[PACKET_PAGES * PAGE];
    ZSTD_CStream *cs = ZSTD_createCStream();
    ZSTD_DStream *ds = ZSTD_createDStream();
    double t0, tc = 0, td = 0;
    uint64_t total = 0;
    Result r;

    if (!cs || !ds || ZSTD_isError(ZSTD_initCStream(cs, 1)) ||
        ZSTD_isError(ZSTD_initDStream(ds))) {
        abort();
    }
    for (size_t first = 0; first < npages; first += PACKET_PAGES) {
        size_t n = npages - first < PACKET_PAGES ? npages - first
                                                 : PACKET_PAGES;
        ZSTD_outBuffer ob = { out, sizeof(out), 0 };
        ZSTD_inBuffer ib;
        ZSTD_outBuffer db = { back, n * PAGE, 0 };

        t0 = now();
        for (size_t i = 0; i < n; i++) {
            ZSTD_EndDirective m = i == n - 1 ? ZSTD_e_flush : ZSTD_e_continue;
            ZSTD_inBuffer in = { pages + (first + i) * PAGE, PAGE, 0 };
            size_t ret;

            do {
                ret = ZSTD_compressStream2(cs, &ob, &in, m);
                if (ZSTD_isError(ret)) {
                    abort();
                }
            } while (in.pos < in.size || (m == ZSTD_e_flush && ret));
        }
        tc += now() - t0;
        total += ob.pos;
        t0 = now();
        ib = (ZSTD_inBuffer){ out, ob.pos, 0 };
        while (db.pos < db.size) {
            size_t ret = ZSTD_decompressStream(ds, &db, &ib);

            if (ZSTD_isError(ret) || (ib.pos == ib.size && db.pos < db.size &&
                                      ret == 0)) {
                abort();
            }
        }
        td += now() - t0;
        if (memcmp(back, pages + first * PAGE, n * PAGE)) {
            abort();
        }
    }
    ZSTD_freeCStream(cs);
    ZSTD_freeDStream(ds);
    r.comp_mibs = npages * (double)PAGE / MiB / tc;
    r.decomp_mibs = npages * (double)PAGE / MiB / td;
    r.ratio = npages * (double)PAGE / total;
    return r;
}
#endif

static Result run_codec(const char *codec, const uint8_t *pages,
                        size_t npages)
{
    if (!strcmp(codec, "zlib")) {
        return run_zlib(pages, npages);
    }
#ifdef CONFIG_ZSTD
    if (!strcmp(codec, "zstd")) {
        return run_zstd(pages, npages);
    }
#endif
    fprintf(stderr, "codec %s is not available in this build\n", codec);
    exit(2);
}

static int write_mix(const char *path, size_t mib)
{
    FILE *f = fopen(path, "wb");
    uint8_t page[PAGE];

    if (!f) {
        perror(path);
        return 1;
    }
    for (size_t i = 0; i < mib * (MiB / PAGE); i++) {
        fill_page(page, MIX_MIXED, i);
        if (fwrite(page, PAGE, 1, f) != 1) {
            perror(path);
            fclose(f);
            return 1;
        }
    }
    return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const char *const codecs[] = { "zlib", "zstd" };
    size_t npages = 64 * (MiB / PAGE);

    if (argc == 4 && !strcmp(argv[1], "--write-mix")) {
        return write_mix(argv[2], strtoul(argv[3], NULL, 0));
    }
    if (argc == 4 && !strcmp(argv[1], "--speed")) {
        size_t n = strtoul(argv[3], NULL, 0) * (MiB / PAGE);
        uint8_t *pages = make_pages(MIX_MIXED, n);
        Result r = run_codec(argv[2], pages, n);

        printf("%.1f\n", r.comp_mibs);
        free(pages);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--speed zlib|zstd MiB | --write-mix "
                "FILE MiB]\n", argv[0]);
        return 2;
    }
    printf("one thread (its CPU time), level 1, 128 pages per packet, "
           "64 MiB per mix\n");
    printf("%-6s %-10s %12s %14s %7s\n", "codec", "pages", "compress MiB/s",
           "decompress MiB/s", "ratio");
    for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
#ifndef CONFIG_ZSTD
        if (!strcmp(codecs[c], "zstd")) {
            printf("zstd: not in this build (no libzstd)\n");
            continue;
        }
#endif
        for (int m = 0; m < MIX__MAX; m++) {
            uint8_t *pages = make_pages(m, npages);
            Result r = run_codec(codecs[c], pages, npages);

            printf("%-6s %-10s %12.1f %14.1f %9.2f\n", codecs[c],
                   mix_names[m], r.comp_mibs, r.decomp_mibs, r.ratio);
            free(pages);
        }
    }
    return 0;
}
