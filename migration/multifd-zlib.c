/*
 * multifd-compression=zlib: the pages of each multifd packet deflated in
 * one zlib stream per channel (migration/wire.h has the payload rules,
 * docs/devel/migration/multifd.rst the byte layout).
 *
 * Source, per channel: deflateInit(multifd-zlib-level) once; per packet
 * every normal page is copied out of guest RAM (a vCPU may be writing it)
 * and deflated with Z_NO_FLUSH, the last one with Z_SYNC_FLUSH, so that
 * the payload ends on a byte boundary the receiver can decode now.
 *
 * Destination, per channel: inflateInit once; per packet the payload is
 * read whole, then inflated page by page straight into guest RAM.  The
 * output must be exactly normal_pages pages and use the whole payload.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <zlib.h>
#include "qapi/error.h"
#include "migration/multifd.h"
#include "migration/options.h"
#include "migration/trace.h"
#include "migration/wire.h"

#define PAGES_MAX (MULTIFD_PACKET_SIZE / TARGET_PAGE_SIZE)

typedef struct ZlibSend {
    z_stream zs;
    bool init;
    uint8_t page[TARGET_PAGE_SIZE];     /* the copy being deflated */
    uint8_t *out;
    size_t out_size;
} ZlibSend;

typedef struct ZlibRecv {
    z_stream zs;
    bool init;
    uint8_t *in;                        /* the payload, read whole */
    uint32_t in_size;
} ZlibRecv;

static void zlib_set_error(Error **errp, const char *call, int ret,
                           const z_stream *zs)
{
    error_setg(errp, "zlib: %s failed: %d (%s)", call, ret,
               zs->msg ? zs->msg : "no message");
}

static void zlib_send_cleanup(void *state)
{
    ZlibSend *z = state;

    if (!z) {
        return;
    }
    if (z->init) {
        deflateEnd(&z->zs);
    }
    g_free(z->out);
    g_free(z);
}

static bool zlib_send_setup(void **state, Error **errp)
{
    ZlibSend *z = g_new0(ZlibSend, 1);
    int level = migrate_multifd_zlib_level();
    int ret = deflateInit(&z->zs, level);

    if (ret != Z_OK) {
        zlib_set_error(errp, "deflateInit", ret, &z->zs);
        zlib_send_cleanup(z);
        return false;
    }
    z->init = true;
    z->out_size = MULTIFD_COMP_PAYLOAD_MAX(PAGES_MAX);
    z->out = g_malloc(z->out_size);
    *state = z;
    trace_multifd_zlib_setup(level);
    return true;
}

static bool zlib_send_prepare(void *state, uint8_t *const *pages, uint32_t n,
                              struct iovec *iov, uint32_t *niov,
                              uint32_t *size, Error **errp)
{
    ZlibSend *z = state;
    z_stream *zs = &z->zs;

    zs->next_out = z->out;
    zs->avail_out = z->out_size;
    for (uint32_t i = 0; i < n; i++) {
        int flush = i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        int ret;

        memcpy(z->page, pages[i], TARGET_PAGE_SIZE);
        zs->next_in = z->page;
        zs->avail_in = TARGET_PAGE_SIZE;
        /*
         * The output buffer holds twice the input: deflate always takes
         * the whole page in one call unless the buffer ran out.
         */
        ret = deflate(zs, flush);
        if (ret != Z_OK) {
            zlib_set_error(errp, "deflate", ret, zs);
            return false;
        }
        if (zs->avail_in || (flush == Z_SYNC_FLUSH && !zs->avail_out)) {
            error_setg(errp, "zlib: deflate of page %" PRIu32 " of %" PRIu32
                       " did not fit in %zu bytes", i, n, z->out_size);
            return false;
        }
    }
    iov[0].iov_base = z->out;
    iov[0].iov_len = z->out_size - zs->avail_out;
    *niov = 1;
    *size = iov[0].iov_len;
    return true;
}

static void zlib_recv_cleanup(void *state)
{
    ZlibRecv *z = state;

    if (!z) {
        return;
    }
    if (z->init) {
        inflateEnd(&z->zs);
    }
    g_free(z->in);
    g_free(z);
}

static bool zlib_recv_setup(void **state, Error **errp)
{
    ZlibRecv *z = g_new0(ZlibRecv, 1);
    int ret = inflateInit(&z->zs);

    if (ret != Z_OK) {
        zlib_set_error(errp, "inflateInit", ret, &z->zs);
        zlib_recv_cleanup(z);
        return false;
    }
    z->init = true;
    *state = z;
    return true;
}

static bool zlib_decompress(void *state, const uint8_t *in, uint32_t size,
                            const struct iovec *pages, uint32_t n,
                            Error **errp)
{
    ZlibRecv *z = state;
    z_stream *zs = &z->zs;
    uint8_t extra;
    int ret;

    zs->next_in = (Bytef *)in;
    zs->avail_in = size;
    for (uint32_t i = 0; i < n; i++) {
        zs->next_out = pages[i].iov_base;
        zs->avail_out = TARGET_PAGE_SIZE;
        /* one call per page: it stops when the page is full or input ends */
        ret = inflate(zs, i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        if (ret == Z_STREAM_END) {
            error_setg(errp, "zlib: the payload ends the deflate stream at "
                       "page %" PRIu32 " of %" PRIu32 " (the stream of a "
                       "channel never ends)", i, n);
            return false;
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR) {   /* BUF: no progress */
            zlib_set_error(errp, "inflate", ret, zs);
            return false;
        }
        if (zs->avail_out) {
            error_setg(errp, "zlib: the payload of %" PRIu32 " bytes "
                       "inflates short: %" PRIu64 " bytes instead of %"
                       PRIu64, size,
                       (uint64_t)(i * TARGET_PAGE_SIZE +
                                  (TARGET_PAGE_SIZE - zs->avail_out)),
                       (uint64_t)(n * TARGET_PAGE_SIZE));
            return false;
        }
    }
    /*
     * The pages are full; what input is left must decode to nothing (the
     * sync flush's empty block), and nothing decoded may be pending inside
     * the stream (a match cut by the end of the last page).  One spare
     * byte of room shows whether it would give more.
     */
    {
        zs->next_out = &extra;
        zs->avail_out = 1;
        ret = inflate(zs, Z_SYNC_FLUSH);
        if (ret != Z_OK && ret != Z_BUF_ERROR && ret != Z_STREAM_END) {
            zlib_set_error(errp, "inflate", ret, zs);
            return false;
        }
        if (!zs->avail_out || ret == Z_STREAM_END) {
            error_setg(errp, "zlib: the payload of %" PRIu32 " bytes "
                       "inflates long: more than %" PRIu64 " bytes", size,
                       (uint64_t)(n * TARGET_PAGE_SIZE));
            return false;
        }
        if (zs->avail_in) {
            error_setg(errp, "zlib: %u bytes of the payload of %" PRIu32
                       " are left over after its %" PRIu32 " pages",
                       zs->avail_in, size, n);
            return false;
        }
    }
    return true;
}

static bool zlib_recv_pages(void *state, QIOChannel *ioc, uint32_t size,
                            const struct iovec *pages, uint32_t n,
                            Error **errp)
{
    ZlibRecv *z = state;

    if (!multifd_recv_read_payload(ioc, &z->in, &z->in_size, size, errp)) {
        return false;
    }
    return zlib_decompress(z, z->in, size, pages, n, errp);
}

const MultiFDMethods multifd_zlib_methods = {
    .name = "zlib",
    .flag = MULTIFD_FLAG_ZLIB,
    .send_setup = zlib_send_setup,
    .send_cleanup = zlib_send_cleanup,
    .send_prepare = zlib_send_prepare,
    .recv_setup = zlib_recv_setup,
    .recv_cleanup = zlib_recv_cleanup,
    .recv_check_size = multifd_comp_check_size,
    .recv_pages = zlib_recv_pages,
    .decompress = zlib_decompress,
};
