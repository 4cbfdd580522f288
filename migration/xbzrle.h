/*
 * XBZRLE: the delta encoding of a page against its previously sent copy,
 * as QEMU's RAM_SAVE_FLAG_XBZRLE records carry it
 * (docs/devel/migration/xbzrle.rst has the byte layout).
 *
 * encoded := { zrun nzrun-length nzrun-bytes } ...
 *   zrun         number of unchanged bytes to skip (ULEB128, <= 2 bytes);
 *                0 only as the very first run
 *   nzrun-length number of changed bytes that follow (ULEB128, <= 2
 *                bytes), never 0
 *   nzrun-bytes  the new contents of those bytes
 * A trailing run of unchanged bytes is not encoded.  A 2-byte ULEB128
 * value is (b0 & 0x7f) | (b1 << 7) with b0 & 0x80 set and b1 < 0x80, so a
 * run is at most 0x3fff bytes: pages of up to 16 KiB can be encoded.
 *
 * The functions are pure (no global state besides the choice of the
 * vectorised encoder made at start-up) and callable from any thread.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_XBZRLE_H
#define MIGRATION_XBZRLE_H

#include "qemu/osdep.h"

/* Largest run length a 2-byte ULEB128 can hold, hence the largest page. */
#define XBZRLE_MAX_RUN       0x3fff

/* xbzrle_encode_buffer() result when the encoding does not fit @dlen. */
#define XBZRLE_OVERFLOW      (-1)

/*
 * Encode @new_buf against @old_buf (both @slen bytes, 0 < slen <=
 * XBZRLE_MAX_RUN) into @dst, which has room for @dlen bytes.
 * Returns the encoded length, 0 when the buffers are identical (nothing
 * to send), or XBZRLE_OVERFLOW when the encoding would take more than
 * @dlen bytes (the contents of @dst are then undefined).
 */
int xbzrle_encode_buffer(const uint8_t *old_buf, const uint8_t *new_buf,
                         int slen, uint8_t *dst, int dlen);

/*
 * Apply the @slen encoded bytes at @src to the @dlen-byte buffer @dst in
 * place (unchanged bytes are left as they are).  Every malformed input is
 * refused with @errp naming the position and the fault: a truncated or
 * non-canonical length, a zero-length run where none is allowed, a run
 * that goes past @dlen or past the end of @src, a trailing partial run.
 * On error @dst may have been partly written.
 */
bool xbzrle_decode_buffer(const uint8_t *src, int slen, uint8_t *dst,
                          int dlen, Error **errp);

/* Name of the encoder in use: "avx2", "sse2" or "generic". */
const char *xbzrle_encoder_name(void);
/*
 * Tests and benchmarks: switch to the next slower encoder that this CPU
 * supports; false when the generic one is already in use.
 */
bool xbzrle_encoder_next(void);
/* Back to the fastest encoder this CPU supports. */
void xbzrle_encoder_reset(void);

#endif
