/*
 * XBZRLE pages of the "ram" section (see ram-xbzrle.h for the rules and
 * docs/devel/migration/xbzrle.rst for the record layout).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/thread.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/page_cache.h"
#include "migration/xbzrle.h"
#include "migration/ram-xbzrle.h"
#include "trace.h"

/*
 * The source's XBZRLE state: one outgoing migration at a time.  Only this
 * file sees it.
 *
 * Under lock: everything.  The migration thread holds it for one page at
 * a time, migrate-set-parameters for a resize, query-migrate to read.
 */
typedef struct XbzrleState {
    QemuMutex lock;
    PageCache *cache;            /* NULL: no migration uses XBZRLE */
    uint8_t *current;            /* snapshot of the page being encoded */
    uint8_t *encoded;            /* its encoding */
    uint8_t *zero;               /* a zero page */

    /* counters of this migration (query-migrate "xbzrle-cache") */
    uint64_t bytes;              /* bytes of XBZRLE records (and overflows) */
    uint64_t pages;              /* pages that hit the cache */
    uint64_t cache_miss;
    uint64_t overflow;
    uint64_t primed;             /* first-pass pages put in the cache */
    double cache_miss_rate;
    double encoding_rate;
    /* values at the previous rate update */
    uint64_t prev_pages_sent;
    uint64_t prev_cache_miss;
    uint64_t prev_pages;
    uint64_t prev_bytes;
} XbzrleState;

static XbzrleState xbzrle;

static void __attribute__((constructor)) ram_xbzrle_init(void)
{
    qemu_mutex_init(&xbzrle.lock);
}

static void xbzrle_free_locked(void)
{
    page_cache_free(xbzrle.cache);
    xbzrle.cache = NULL;
    g_free(xbzrle.current);
    g_free(xbzrle.encoded);
    g_free(xbzrle.zero);
    xbzrle.current = xbzrle.encoded = xbzrle.zero = NULL;
}

bool ram_xbzrle_setup(Error **errp)
{
    uint64_t size = migrate_xbzrle_cache_size();
    PageCache *c = page_cache_new(size, TARGET_PAGE_SIZE, errp);

    if (!c) {
        error_prepend(errp, "xbzrle: ");
        return false;
    }
    qemu_mutex_lock(&xbzrle.lock);
    xbzrle_free_locked();
    xbzrle.cache = c;
    xbzrle.current = g_malloc(TARGET_PAGE_SIZE);
    xbzrle.encoded = g_malloc(TARGET_PAGE_SIZE);
    xbzrle.zero = g_malloc0(TARGET_PAGE_SIZE);
    xbzrle.bytes = xbzrle.pages = xbzrle.cache_miss = xbzrle.overflow = 0;
    xbzrle.primed = 0;
    xbzrle.cache_miss_rate = xbzrle.encoding_rate = 0;
    xbzrle.prev_pages_sent = xbzrle.prev_cache_miss = 0;
    xbzrle.prev_pages = xbzrle.prev_bytes = 0;
    qemu_mutex_unlock(&xbzrle.lock);
    trace_ram_xbzrle_setup(size);
    return true;
}

void ram_xbzrle_cleanup(void)
{
    qemu_mutex_lock(&xbzrle.lock);
    if (xbzrle.cache) {
        trace_ram_xbzrle_cleanup(page_cache_count(xbzrle.cache),
                                 xbzrle.primed);
    }
    xbzrle_free_locked();
    qemu_mutex_unlock(&xbzrle.lock);
}

/*
 * A PAGE record from @data.  Before the last stage @data is a stable copy
 * and is copied into the stream; in the last stage the guest is stopped,
 * so @data is guest RAM itself, written out by reference at the next
 * flush as the plain path does (a copy there only added downtime).
 */
static void send_normal(QEMUFile *f, RAMBlock *rb, uint64_t offset,
                        const uint8_t *data, bool last_stage,
                        RamPageHeaderFn header, void *opaque)
{
    header(opaque, f, rb, offset | RAM_SAVE_FLAG_PAGE);
    if (last_stage) {
        qemu_put_buffer_async(f, data, TARGET_PAGE_SIZE, false);
    } else {
        qemu_put_buffer(f, data, TARGET_PAGE_SIZE);
    }
}

RamXbzrleResult ram_xbzrle_save_page(QEMUFile *f, RAMBlock *rb,
                                     uint64_t offset, const uint8_t *host,
                                     uint64_t age, bool last_stage,
                                     RamPageHeaderFn header, void *opaque)
{
    uint64_t addr = rb->offset + offset;
    RamXbzrleResult res;
    const uint8_t *cur;
    uint8_t *cached;
    uint64_t pos;
    int len;

    qemu_mutex_lock(&xbzrle.lock);
    if (!xbzrle.cache) {
        /* not set up (cannot happen while ram.c enables it): plain page */
        qemu_mutex_unlock(&xbzrle.lock);
        send_normal(f, rb, offset, host, last_stage, header, opaque);
        return RAM_XBZRLE_NORMAL;
    }
    cached = page_cache_lookup(xbzrle.cache, addr, age);
    if (!cached) {
        xbzrle.cache_miss++;
        if (!last_stage) {
            cached = page_cache_insert(xbzrle.cache, addr, host, age);
        }
        /*
         * From the copy when there is one: the guest may write the page
         * before the buffer is flushed, and the copy must be what the
         * destination holds.  In the last stage the guest is stopped.
         */
        send_normal(f, rb, offset, cached ? cached : host,
                    last_stage && !cached, header, opaque);
        trace_ram_xbzrle_miss(rb->idstr, offset, !!cached);
        qemu_mutex_unlock(&xbzrle.lock);
        return RAM_XBZRLE_NORMAL;
    }

    xbzrle.pages++;
    /*
     * One snapshot while the guest runs: it may be writing the page as we
     * read it, and the cache must end up holding exactly what was sent.
     * In the last stage the guest is stopped and the cache is not kept:
     * the page itself is encoded.
     */
    if (last_stage) {
        cur = host;
    } else {
        memcpy(xbzrle.current, host, TARGET_PAGE_SIZE);
        cur = xbzrle.current;
    }
    len = xbzrle_encode_buffer(cached, cur, TARGET_PAGE_SIZE,
                               xbzrle.encoded, TARGET_PAGE_SIZE);
    if (len == 0) {
        res = RAM_XBZRLE_UNCHANGED;
    } else if (len == XBZRLE_OVERFLOW) {
        xbzrle.overflow++;
        xbzrle.bytes += TARGET_PAGE_SIZE;
        if (!last_stage) {
            memcpy(cached, cur, TARGET_PAGE_SIZE);
        }
        send_normal(f, rb, offset, cur, last_stage, header, opaque);
        res = RAM_XBZRLE_NORMAL;
    } else {
        pos = qemu_file_transferred(f);
        header(opaque, f, rb, offset | RAM_SAVE_FLAG_XBZRLE);
        qemu_put_byte(f, ENCODING_FLAG_XBZRLE);
        qemu_put_be16(f, len);
        qemu_put_buffer(f, xbzrle.encoded, len);
        /* as QEMU counts it: the record without its 8-byte word */
        xbzrle.bytes += qemu_file_transferred(f) - pos - 8;
        if (!last_stage) {
            memcpy(cached, cur, TARGET_PAGE_SIZE);
        }
        res = RAM_XBZRLE_DELTA;
    }
    trace_ram_xbzrle_page(rb->idstr, offset, len, res);
    qemu_mutex_unlock(&xbzrle.lock);
    return res;
}

bool ram_xbzrle_prime_page(QEMUFile *f, RAMBlock *rb, uint64_t offset,
                           const uint8_t *host, uint64_t age,
                           RamPageHeaderFn header, void *opaque)
{
    uint64_t addr = rb->offset + offset;
    uint8_t *cached = NULL;

    qemu_mutex_lock(&xbzrle.lock);
    /*
     * Only into a free slot: within one pass the first page to claim a
     * slot keeps it (page_cache_insert refuses a slot used at this age).
     */
    if (xbzrle.cache) {
        cached = page_cache_insert(xbzrle.cache, addr, host, age);
    }
    if (cached) {
        /* from the copy: the guest may write the page before the flush */
        send_normal(f, rb, offset, cached, false, header, opaque);
        xbzrle.primed++;
    }
    trace_ram_xbzrle_prime(rb->idstr, offset, !!cached);
    qemu_mutex_unlock(&xbzrle.lock);
    return cached != NULL;
}

void ram_xbzrle_zero_page(RAMBlock *rb, uint64_t offset, uint64_t age)
{
    qemu_mutex_lock(&xbzrle.lock);
    if (xbzrle.cache) {
        /* replaces a copy of this page; no room: the page is not cached */
        page_cache_insert(xbzrle.cache, rb->offset + offset, xbzrle.zero, age);
    }
    qemu_mutex_unlock(&xbzrle.lock);
}

void ram_xbzrle_update_rates(uint64_t pages_sent)
{
    uint64_t period_pages, encoded, unencoded;

    qemu_mutex_lock(&xbzrle.lock);
    pages_sent += xbzrle.pages;
    period_pages = pages_sent - xbzrle.prev_pages_sent;
    if (period_pages) {
        xbzrle.cache_miss_rate = (double)(xbzrle.cache_miss -
                                          xbzrle.prev_cache_miss) /
                                 period_pages;
        unencoded = (xbzrle.pages - xbzrle.prev_pages) * TARGET_PAGE_SIZE;
        encoded = xbzrle.bytes - xbzrle.prev_bytes;
        xbzrle.encoding_rate = encoded && unencoded ?
                               (double)unencoded / encoded : 0;
        xbzrle.prev_pages_sent = pages_sent;
        xbzrle.prev_cache_miss = xbzrle.cache_miss;
        xbzrle.prev_pages = xbzrle.pages;
        xbzrle.prev_bytes = xbzrle.bytes;
    }
    qemu_mutex_unlock(&xbzrle.lock);
}

bool ram_xbzrle_cache_resize(uint64_t new_size, Error **errp)
{
    bool ok = true;

    qemu_mutex_lock(&xbzrle.lock);
    if (xbzrle.cache && new_size != page_cache_size(xbzrle.cache)) {
        PageCache *c = page_cache_resize(xbzrle.cache, new_size, errp);

        if (c) {
            xbzrle.cache = c;
        } else {
            ok = false;
        }
    }
    qemu_mutex_unlock(&xbzrle.lock);
    return ok;
}

void ram_xbzrle_fill_info(JsonObject *info)
{
    JsonObject *o = json_object_new();

    qemu_mutex_lock(&xbzrle.lock);
    json_object_set_int_member(o, "cache-size",
                               (gint64)migrate_xbzrle_cache_size());
    json_object_set_int_member(o, "bytes", (gint64)xbzrle.bytes);
    json_object_set_int_member(o, "pages", (gint64)xbzrle.pages);
    json_object_set_int_member(o, "cache-miss", (gint64)xbzrle.cache_miss);
    json_object_set_double_member(o, "cache-miss-rate",
                                  xbzrle.cache_miss_rate);
    json_object_set_double_member(o, "encoding-rate", xbzrle.encoding_rate);
    json_object_set_int_member(o, "overflow", (gint64)xbzrle.overflow);
    qemu_mutex_unlock(&xbzrle.lock);
    json_object_set_object_member(info, "xbzrle-cache", o);
}

/* ------------------------------------------------------------ destination */

bool ram_xbzrle_load_page(QEMUFile *f, uint8_t *host, const char *what,
                          Error **errp)
{
    uint64_t pos = qemu_file_transferred(f);
    uint8_t buf[TARGET_PAGE_SIZE];
    uint8_t *data = buf;
    int flag = qemu_get_byte(f);
    unsigned len = qemu_get_be16(f);

    if (qemu_file_get_error(f)) {
        Error *err = NULL;

        if (!qemu_file_get_error_obj(f, &err)) {
            error_setg(&err, "end of stream");
        }
        error_propagate_prepend(errp, err, "ram: reading the header of %s "
                                "at offset %" PRIu64 ": ", what, pos);
        return false;
    }
    if (flag != ENCODING_FLAG_XBZRLE) {
        error_setg(errp, "ram: %s at offset %" PRIu64 " has encoding flag "
                   "0x%02x (only 0x%02x, XBZRLE, exists)", what, pos, flag,
                   ENCODING_FLAG_XBZRLE);
        return false;
    }
    if (len > TARGET_PAGE_SIZE) {
        error_setg(errp, "ram: %s at offset %" PRIu64 " has %u encoded "
                   "bytes, more than a page (%d)", what, pos, len,
                   (int)TARGET_PAGE_SIZE);
        return false;
    }
    if (qemu_get_buffer_in_place(f, &data, len) != len ||
        qemu_file_get_error(f)) {
        Error *err = NULL;

        if (!qemu_file_get_error_obj(f, &err)) {
            error_setg(&err, "end of stream");
        }
        error_propagate_prepend(errp, err, "ram: reading the %u encoded "
                                "bytes of %s at offset %" PRIu64 ": ", len,
                                what, pos);
        return false;
    }
    if (!xbzrle_decode_buffer(data, len, host, TARGET_PAGE_SIZE, errp)) {
        error_prepend(errp, "ram: %s at offset %" PRIu64 ": ", what, pos);
        return false;
    }
    return true;
}
