/*
 * libFuzzer target for migration/xbzrle.c.
 *
 * The first input byte picks the mode:
 *   even  decode: the rest is an encoded page applied to a 4 KiB page of
 *         a known pattern; it must be refused with an error or, when
 *         accepted, re-encoding the result against the pattern and
 *         decoding that again must give the same page;
 *   odd   encode: the rest, split in two, gives an old and a new page
 *         (each the input cycled over 4 KiB); encoding then decoding must
 *         give the new page back, with every encoder this CPU has giving
 *         the same bytes.
 *
 * Built with ./configure --enable-fuzzing (clang); `make fuzz` runs it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/xbzrle.h"

#define PAGE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fill_pattern(uint8_t *p)
{
    for (int i = 0; i < PAGE; i++) {
        p[i] = i * 7 + (i >> 8);
    }
}

static void fill_cycled(uint8_t *p, const uint8_t *src, size_t n)
{
    for (int i = 0; i < PAGE; i++) {
        p[i] = n ? src[i % n] : 0;
    }
}

static void check_round_trip(const uint8_t *old, const uint8_t *new)
{
    static uint8_t enc[PAGE * 2], first[PAGE * 2], back[PAGE];
    int len, first_len = -2;

    xbzrle_encoder_reset();
    do {
        len = xbzrle_encode_buffer(old, new, PAGE, enc, sizeof(enc));
        if (len < 0) {
            abort();            /* twice a page always fits */
        }
        if (first_len == -2) {
            first_len = len;
            memcpy(first, enc, len);
        } else if (len != first_len || memcmp(first, enc, len)) {
            abort();            /* the encoders disagree */
        }
        memcpy(back, old, PAGE);
        if (!xbzrle_decode_buffer(enc, len, back, PAGE, &error_abort) ||
            memcmp(back, new, PAGE)) {
            abort();
        }
        /* a page-sized budget: overflow or the same bytes */
        len = xbzrle_encode_buffer(old, new, PAGE, enc, PAGE);
        if (len >= 0 && (len != first_len || memcmp(first, enc, len))) {
            abort();
        }
    } while (xbzrle_encoder_next());
    xbzrle_encoder_reset();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t old[PAGE], page[PAGE];

    if (size < 1) {
        return 0;
    }
    if (!(data[0] & 1)) {
        Error *err = NULL;
        size_t n = MIN(size - 1, (size_t)PAGE * 2);

        fill_pattern(old);
        memcpy(page, old, PAGE);
        if (!xbzrle_decode_buffer(data + 1, n, page, PAGE, &err)) {
            if (!err) {
                abort();        /* a refusal always says why */
            }
            error_free(err);
            return 0;
        }
        check_round_trip(old, page);
    } else {
        size_t half = (size - 1) / 2;

        fill_cycled(old, data + 1, half);
        fill_cycled(page, data + 1 + half, size - 1 - half);
        check_round_trip(old, page);
    }
    return 0;
}
