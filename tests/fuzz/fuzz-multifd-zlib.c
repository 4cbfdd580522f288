/*
 * libFuzzer target for the receive side of multifd-compression=zlib
 * (multifd_zlib_methods.decompress, migration/multifd-zlib.c).
 *
 * Input: byte 0 gives the page count n = 1 + (byte0 & 0x7f) % 16, and its
 * top bit the mode:
 *   clear  the rest is one packet's payload, fed to a fresh channel
 *          stream: it must be refused with an error, or fill exactly the
 *          n pages (the function checks that; a crash or a sanitizer
 *          report is the failure);
 *   set    the rest, cycled, is the content of n pages, deflated as a
 *          QEMU source does (one stream, Z_NO_FLUSH per page, Z_SYNC_FLUSH
 *          on the last) in two packets; both must decode to the pages.
 *
 * Built with ./configure --enable-fuzzing (clang); `make fuzz` runs it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <zlib.h>
#include "qapi/error.h"
#include "migration/multifd.h"

#define PAGE 4096
#define MAX_PAGES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pages[MAX_PAGES][PAGE], want[MAX_PAGES][PAGE];
static uint8_t out[2 * MAX_PAGES * PAGE];

static bool decode(void *st, const uint8_t *in, size_t len, uint32_t n)
{
    const MultiFDMethods *m = &multifd_zlib_methods;
    struct iovec iov[MAX_PAGES];
    Error *err = NULL;
    bool ok;

    for (uint32_t i = 0; i < n; i++) {
        iov[i].iov_base = pages[i];
        iov[i].iov_len = PAGE;
    }
    if (len > UINT32_MAX || !m->recv_check_size(n, len, &err)) {
        error_free(err);
        return false;
    }
    ok = m->decompress(st, in, len, iov, n, &err);
    if (!ok) {
        if (!err) {
            abort();            /* a refusal always says why */
        }
        error_free(err);
    }
    return ok;
}

/* Deflate pages [first, first + n) of want[] as one packet. */
static size_t encode(z_stream *zs, uint32_t first, uint32_t n)
{
    zs->next_out = out;
    zs->avail_out = sizeof(out);
    for (uint32_t i = first; i < first + n; i++) {
        zs->next_in = want[i];
        zs->avail_in = PAGE;
        if (deflate(zs, i == first + n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH) !=
            Z_OK || zs->avail_in) {
            abort();
        }
    }
    return sizeof(out) - zs->avail_out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const MultiFDMethods *m = &multifd_zlib_methods;
    void *st = NULL;
    uint32_t n;

    if (size < 1) {
        return 0;
    }
    n = 1 + (data[0] & 0x7f) % MAX_PAGES;
    if (!m->recv_setup(&st, &error_abort)) {
        abort();
    }
    if (!(data[0] & 0x80)) {
        decode(st, data + 1, size - 1, n);
    } else if (size > 1) {
        z_stream zs = { 0 };
        uint32_t n1 = (n + 1) / 2;
        size_t len;

        for (uint32_t i = 0; i < n; i++) {
            for (size_t j = 0; j < PAGE; j++) {
                want[i][j] = data[1 + (i * PAGE + j) % (size - 1)];
            }
        }
        if (deflateInit(&zs, data[size - 1] % 10) != Z_OK) {
            abort();
        }
        len = encode(&zs, 0, n1);
        if (!decode(st, out, len, n1) || memcmp(pages, want, n1 * PAGE)) {
            abort();
        }
        if (n > n1) {
            len = encode(&zs, n1, n - n1);
            if (!decode(st, out, len, n - n1) ||
                memcmp(pages, want[n1], (n - n1) * PAGE)) {
                abort();
            }
        }
        deflateEnd(&zs);
    }
    m->recv_cleanup(st);
    return 0;
}
