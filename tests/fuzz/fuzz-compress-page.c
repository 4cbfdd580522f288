/*
 * libFuzzer target for the one-page decompression of COMPRESS_PAGE records
 * (ram_decompress_page in migration/ram-compress.c).
 *
 * The first input byte picks the mode:
 *   even  decode: the rest is the N bytes of a record, inflated into a
 *         4 KiB page; it must be refused with an error or give exactly a
 *         page, and then deflating that page and inflating the result
 *         again must give the same page;
 *   odd   encode: the second byte picks a level (0..9), the rest cycled
 *         over 4 KiB is a page; deflating it must fit compressBound and
 *         inflating it must give the page back.
 *
 * Built with ./configure --enable-fuzzing (clang); `make fuzz` runs it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/ram-compress.h"

#define PAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static z_stream *inflater(void)
{
    static z_stream zs;
    static bool ready;

    if (!ready) {
        if (inflateInit(&zs) != Z_OK) {
            abort();
        }
        ready = true;
    }
    return &zs;
}

static z_stream *deflater(int level)
{
    static z_stream zs[10];
    static bool ready[10];

    if (!ready[level]) {
        if (deflateInit(&zs[level], level) != Z_OK) {
            abort();
        }
        ready[level] = true;
    }
    return &zs[level];
}

static void round_trip(const uint8_t *page, int level)
{
    static uint8_t out[PAGE * 2], back[PAGE];
    long len = ram_compress_page(deflater(level), page, PAGE, out,
                                 compressBound(PAGE));

    if (len < 0 || len > (long)compressBound(PAGE)) {
        abort();
    }
    if (!ram_decompress_page(inflater(), out, len, back, PAGE,
                             &error_abort) ||
        memcmp(back, page, PAGE)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t page[PAGE];
    Error *err = NULL;

    if (size < 1) {
        return 0;
    }
    if (!(data[0] & 1)) {
        memset(page, 0xcc, sizeof(page));
        if (ram_decompress_page(inflater(), data + 1, size - 1, page, PAGE,
                                &err)) {
            if (err) {
                abort();
            }
            round_trip(page, 1);
        } else if (!err) {
            abort();            /* a refusal must say why */
        }
        error_free(err);
    } else if (size >= 2) {
        size_t n = size - 2;

        for (size_t i = 0; i < PAGE; i++) {
            page[i] = n ? data[2 + i % n] : 0;
        }
        round_trip(page, data[1] % 10);
    }
    return 0;
}
