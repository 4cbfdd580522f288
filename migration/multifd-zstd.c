/*
 * multifd-compression=zstd: the pages of each multifd packet compressed in
 * one zstd stream per channel (migration/wire.h has the payload rules,
 * docs/devel/migration/multifd.rst the byte layout).
 *
 * Source, per channel: one ZSTD_CStream at multifd-zstd-level for the
 * whole migration (one frame, never ended); per packet every normal page
 * goes in with ZSTD_e_continue and the last with ZSTD_e_flush, so the
 * payload holds whole blocks the receiver can decode now.  zstd copies
 * its input into its own window, so guest pages are read in place.
 *
 * Destination, per channel: one ZSTD_DStream; per packet the payload is
 * read whole and decompressed page by page straight into guest RAM.  The
 * output must be exactly normal_pages pages and use the whole payload.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <zstd.h>
#include "qapi/error.h"
#include "migration/multifd.h"
#include "migration/options.h"
#include "migration/trace.h"
#include "migration/wire.h"

#define PAGES_MAX (MULTIFD_PACKET_SIZE / TARGET_PAGE_SIZE)

typedef struct ZstdSend {
    ZSTD_CStream *cs;
    uint8_t *out;
    size_t out_size;
} ZstdSend;

typedef struct ZstdRecv {
    ZSTD_DStream *ds;
    uint8_t *in;                        /* the payload, read whole */
    uint32_t in_size;
} ZstdRecv;

static void zstd_send_cleanup(void *state)
{
    ZstdSend *z = state;

    if (!z) {
        return;
    }
    ZSTD_freeCStream(z->cs);
    g_free(z->out);
    g_free(z);
}

static bool zstd_send_setup(void **state, Error **errp)
{
    ZstdSend *z = g_new0(ZstdSend, 1);
    int level = migrate_multifd_zstd_level();
    size_t ret;

    z->cs = ZSTD_createCStream();
    if (!z->cs) {
        error_setg(errp, "zstd: ZSTD_createCStream failed (out of memory)");
        zstd_send_cleanup(z);
        return false;
    }
    ret = ZSTD_initCStream(z->cs, level);
    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: ZSTD_initCStream(level %d) failed: %s",
                   level, ZSTD_getErrorName(ret));
        zstd_send_cleanup(z);
        return false;
    }
    z->out_size = MULTIFD_COMP_PAYLOAD_MAX(PAGES_MAX);
    z->out = g_malloc(z->out_size);
    *state = z;
    trace_multifd_zstd_setup(level);
    return true;
}

static bool zstd_send_prepare(void *state, uint8_t *const *pages, uint32_t n,
                              struct iovec *iov, uint32_t *niov,
                              uint32_t *size, Error **errp)
{
    ZstdSend *z = state;
    ZSTD_outBuffer out = { z->out, z->out_size, 0 };

    for (uint32_t i = 0; i < n; i++) {
        ZSTD_EndDirective mode = i == n - 1 ? ZSTD_e_flush : ZSTD_e_continue;
        ZSTD_inBuffer in = { pages[i], TARGET_PAGE_SIZE, 0 };
        size_t ret;

        /* continue: until the page is taken; flush: until nothing is left */
        do {
            size_t before = out.pos;

            ret = ZSTD_compressStream2(z->cs, &out, &in, mode);
            if (ZSTD_isError(ret)) {
                error_setg(errp, "zstd: ZSTD_compressStream2 failed on page %"
                           PRIu32 " of %" PRIu32 ": %s", i, n,
                           ZSTD_getErrorName(ret));
                return false;
            }
            if (out.pos == out.size && out.pos == before &&
                (in.pos < in.size || (mode == ZSTD_e_flush && ret))) {
                error_setg(errp, "zstd: page %" PRIu32 " of %" PRIu32
                           " did not fit in %zu bytes", i, n, out.size);
                return false;
            }
        } while (in.pos < in.size || (mode == ZSTD_e_flush && ret));
    }
    iov[0].iov_base = z->out;
    iov[0].iov_len = out.pos;
    *niov = 1;
    *size = out.pos;
    return true;
}

static void zstd_recv_cleanup(void *state)
{
    ZstdRecv *z = state;

    if (!z) {
        return;
    }
    ZSTD_freeDStream(z->ds);
    g_free(z->in);
    g_free(z);
}

static bool zstd_recv_setup(void **state, Error **errp)
{
    ZstdRecv *z = g_new0(ZstdRecv, 1);
    size_t ret;

    z->ds = ZSTD_createDStream();
    if (!z->ds) {
        error_setg(errp, "zstd: ZSTD_createDStream failed (out of memory)");
        zstd_recv_cleanup(z);
        return false;
    }
    ret = ZSTD_initDStream(z->ds);
    if (ZSTD_isError(ret)) {
        error_setg(errp, "zstd: ZSTD_initDStream failed: %s",
                   ZSTD_getErrorName(ret));
        zstd_recv_cleanup(z);
        return false;
    }
    *state = z;
    return true;
}

static bool zstd_decompress(void *state, const uint8_t *in_buf, uint32_t size,
                            const struct iovec *pages, uint32_t n,
                            Error **errp)
{
    ZstdRecv *z = state;
    ZSTD_inBuffer in = { in_buf, size, 0 };
    uint8_t extra;

    for (uint32_t i = 0; i < n; i++) {
        ZSTD_outBuffer out = { pages[i].iov_base, TARGET_PAGE_SIZE, 0 };

        while (out.pos < out.size) {
            size_t in_before = in.pos, out_before = out.pos;
            size_t ret = ZSTD_decompressStream(z->ds, &out, &in);

            if (ZSTD_isError(ret)) {
                error_setg(errp, "zstd: ZSTD_decompressStream failed at page %"
                           PRIu32 " of %" PRIu32 ": %s", i, n,
                           ZSTD_getErrorName(ret));
                return false;
            }
            if (in.pos == in_before && out.pos == out_before) {
                error_setg(errp, "zstd: the payload of %" PRIu32 " bytes "
                           "decompresses short: %" PRIu64 " bytes instead "
                           "of %" PRIu64, size,
                           (uint64_t)(i * TARGET_PAGE_SIZE + out.pos),
                           (uint64_t)(n * TARGET_PAGE_SIZE));
                return false;
            }
        }
    }
    /*
     * The pages are full; what input is left must decode to nothing (the
     * flush's last block header), and nothing decoded may be pending
     * inside the stream.  One spare byte of room shows whether it would
     * give more.
     */
    for (;;) {
        ZSTD_outBuffer out = { &extra, 1, 0 };
        size_t in_before = in.pos;
        size_t ret = ZSTD_decompressStream(z->ds, &out, &in);

        if (ZSTD_isError(ret)) {
            error_setg(errp, "zstd: ZSTD_decompressStream failed after the "
                       "last page: %s", ZSTD_getErrorName(ret));
            return false;
        }
        if (out.pos) {
            error_setg(errp, "zstd: the payload of %" PRIu32 " bytes "
                       "decompresses long: more than %" PRIu64 " bytes",
                       size, (uint64_t)(n * TARGET_PAGE_SIZE));
            return false;
        }
        if (in.pos == in.size) {
            break;
        }
        if (in.pos == in_before) {
            error_setg(errp, "zstd: %zu bytes of the payload of %" PRIu32
                       " are left over after its %" PRIu32 " pages",
                       in.size - in.pos, size, n);
            return false;
        }
    }
    return true;
}

static bool zstd_recv_pages(void *state, QIOChannel *ioc, uint32_t size,
                            const struct iovec *pages, uint32_t n,
                            Error **errp)
{
    ZstdRecv *z = state;

    if (!multifd_recv_read_payload(ioc, &z->in, &z->in_size, size, errp)) {
        return false;
    }
    return zstd_decompress(z, z->in, size, pages, n, errp);
}

const MultiFDMethods multifd_zstd_methods = {
    .name = "zstd",
    .flag = MULTIFD_FLAG_ZSTD,
    .send_setup = zstd_send_setup,
    .send_cleanup = zstd_send_cleanup,
    .send_prepare = zstd_send_prepare,
    .recv_setup = zstd_recv_setup,
    .recv_cleanup = zstd_recv_cleanup,
    .recv_check_size = multifd_comp_check_size,
    .recv_pages = zstd_recv_pages,
    .decompress = zstd_decompress,
};
