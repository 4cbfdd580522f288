/*
 * Compression threads of the "ram" section (see ram-compress.h for the
 * rules and docs/devel/migration/compress.rst for the record layout).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/cutils.h"
#include "qemu/thread.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/ram-compress.h"
#include "trace.h"

/* Room for a whole record: be64 word, be32 N, N <= compressBound(page). */
#define COMPRESS_RECORD_HDR 12

/* ------------------------------------------------------------ pure */

long ram_compress_page(z_stream *zs, const uint8_t *in, size_t page_size,
                       uint8_t *out, size_t out_size)
{
    if (deflateReset(zs) != Z_OK) {
        return -1;
    }
    zs->next_in = (Bytef *)in;
    zs->avail_in = page_size;
    zs->next_out = out;
    zs->avail_out = out_size;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END) {
        return -1;
    }
    return out_size - zs->avail_out;
}

bool ram_decompress_page(z_stream *zs, const uint8_t *in, size_t len,
                         uint8_t *out, size_t page_size, Error **errp)
{
    uint8_t extra;
    size_t produced;
    int ret;

    if (inflateReset(zs) != Z_OK) {
        error_setg(errp, "the inflate state cannot be reset");
        return false;
    }
    zs->next_in = (Bytef *)in;
    zs->avail_in = len;
    zs->next_out = out;
    zs->avail_out = page_size;
    ret = inflate(zs, Z_FINISH);
    if (ret == Z_STREAM_END) {
        if (zs->avail_out) {
            error_setg(errp, "the zlib stream ends after %zu bytes, before "
                       "the %zu bytes of the page", page_size - zs->avail_out,
                       page_size);
            return false;
        }
        if (zs->avail_in) {
            error_setg(errp, "%u bytes follow the end of the zlib stream",
                       zs->avail_in);
            return false;
        }
        return true;
    }
    if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR ||
        ret == Z_MEM_ERROR) {
        error_setg(errp, "the data is not a valid zlib stream (%s)",
                   zs->msg ? zs->msg : "inflate error");
        return false;
    }
    /* Z_BUF_ERROR: out of input or of room; one byte more tells which */
    produced = page_size - zs->avail_out;
    if (!zs->avail_out) {
        zs->next_out = &extra;
        zs->avail_out = 1;
        ret = inflate(zs, Z_FINISH);
        if (zs->avail_out == 0) {
            error_setg(errp, "the zlib stream inflates to more than the %zu "
                       "bytes of a page", page_size);
            return false;
        }
        if (ret == Z_STREAM_END && !zs->avail_in) {
            return true;        /* the trailer needed no room */
        }
        if (ret == Z_DATA_ERROR) {
            error_setg(errp, "the data is not a valid zlib stream (%s)",
                       zs->msg ? zs->msg : "inflate error");
            return false;
        }
    }
    error_setg(errp, "the zlib stream is cut short (%zu bytes inflated, no "
               "end of stream)", produced);
    return false;
}

/* ------------------------------------------------------------ counters */

/*
 * query-migrate "compression", kept after the migration ends (as 7.2).
 * Under lock: everything.
 */
static struct {
    QemuMutex lock;
    uint64_t pages;              /* pages sent as COMPRESS_PAGE */
    uint64_t busy;               /* pages sent plain: no thread was free */
    uint64_t compressed_size;    /* be32 N + N bytes of those records */
    double busy_rate;
    double compression_rate;
    uint64_t prev_pages_sent, prev_busy, prev_pages, prev_size;
} counters;

static void __attribute__((constructor)) ram_compress_init(void)
{
    qemu_mutex_init(&counters.lock);
}

static void counters_reset(void)
{
    qemu_mutex_lock(&counters.lock);
    counters.pages = counters.busy = counters.compressed_size = 0;
    counters.busy_rate = counters.compression_rate = 0;
    counters.prev_pages_sent = counters.prev_busy = 0;
    counters.prev_pages = counters.prev_size = 0;
    qemu_mutex_unlock(&counters.lock);
}

void ram_compress_update_rates(uint64_t pages_sent)
{
    uint64_t period, size;

    qemu_mutex_lock(&counters.lock);
    pages_sent += counters.pages;
    period = pages_sent - counters.prev_pages_sent;
    if (period) {
        counters.busy_rate = (double)(counters.busy - counters.prev_busy) /
                             period;
    }
    counters.prev_pages_sent = pages_sent;
    counters.prev_busy = counters.busy;
    size = counters.compressed_size - counters.prev_size;
    if (size) {
        /* uncompressed bytes / compressed bytes, as 7.2 */
        counters.compression_rate =
            (double)(counters.pages - counters.prev_pages) *
            TARGET_PAGE_SIZE / size;
        counters.prev_pages = counters.pages;
        counters.prev_size = counters.compressed_size;
    }
    qemu_mutex_unlock(&counters.lock);
}

void ram_compress_fill_info(JsonObject *info)
{
    JsonObject *o = json_object_new();

    qemu_mutex_lock(&counters.lock);
    json_object_set_int_member(o, "pages", (gint64)counters.pages);
    json_object_set_int_member(o, "busy", (gint64)counters.busy);
    json_object_set_double_member(o, "busy-rate", counters.busy_rate);
    json_object_set_int_member(o, "compressed-size",
                               (gint64)counters.compressed_size);
    json_object_set_double_member(o, "compression-rate",
                                  counters.compression_rate);
    qemu_mutex_unlock(&counters.lock);
    json_object_set_object_member(info, "compression", o);
}

/* ------------------------------------------------------------ source */

typedef struct CompressThread {
    struct RamCompress *owner;
    QemuThread thread;
    bool started;
    QemuCond cond;               /* wakes the thread (owner->lock) */
    /* under owner->lock */
    bool busy;                   /* has a page; cleared when done */
    bool quit;
    /* the page: written by the main thread while !busy */
    RAMBlock *rb;
    uint64_t offset;
    /* the result: written by the thread while busy */
    z_stream zs;
    uint8_t *copy;               /* snapshot of the page */
    uint8_t *out;                /* the record */
    size_t out_len;              /* 0: nothing pending */
    bool zero;                   /* the record is a ZERO record */
    bool failed;                 /* deflate failed */
} CompressThread;

struct RamCompress {
    QemuMutex lock;
    QemuCond done_cond;          /* a thread finished a page */
    MigrationStats *stats;
    bool wait;                   /* compress-wait-thread */
    unsigned n;
    CompressThread *t;
    size_t out_size;
};

static void *compress_thread(void *opaque)
{
    CompressThread *t = opaque;
    RamCompress *c = t->owner;

    qemu_mutex_lock(&c->lock);
    while (!t->quit) {
        uint8_t *p = t->out;
        long len;

        if (!t->busy) {
            qemu_cond_wait(&t->cond, &c->lock);
            continue;
        }
        qemu_mutex_unlock(&c->lock);
        /* a stable copy: the guest may write the page meanwhile */
        memcpy(t->copy, t->rb->host + t->offset, TARGET_PAGE_SIZE);
        t->failed = false;
        if (buffer_is_zero(t->copy, TARGET_PAGE_SIZE)) {
            stq_be_p(p, t->offset | RAM_SAVE_FLAG_ZERO |
                        RAM_SAVE_FLAG_CONTINUE);
            p[8] = 0;
            t->out_len = 9;
            t->zero = true;
        } else {
            len = ram_compress_page(&t->zs, t->copy, TARGET_PAGE_SIZE,
                                    p + COMPRESS_RECORD_HDR,
                                    c->out_size - COMPRESS_RECORD_HDR);
            stq_be_p(p, t->offset | RAM_SAVE_FLAG_COMPRESS_PAGE |
                        RAM_SAVE_FLAG_CONTINUE);
            stl_be_p(p + 8, len < 0 ? 0 : len);
            t->out_len = len < 0 ? 0 : COMPRESS_RECORD_HDR + len;
            t->zero = false;
            t->failed = len < 0;
        }
        trace_ram_compress_page(t->rb->idstr, t->offset, t->zero,
                                (uint64_t)t->out_len);
        qemu_mutex_lock(&c->lock);
        t->busy = false;
        qemu_cond_broadcast(&c->done_cond);
    }
    qemu_mutex_unlock(&c->lock);
    return NULL;
}

/* Copy @t's finished record into @f (main thread, @t not busy). */
static void compress_emit(RamCompress *c, CompressThread *t, QEMUFile *f)
{
    if (t->failed) {
        Error *err = NULL;

        error_setg(&err, "compress: deflate failed on page 0x%" PRIx64
                   " of block %s", t->offset, t->rb->idstr);
        qemu_file_set_error_obj(f, -EIO, err);
        t->failed = false;
        return;
    }
    if (!t->out_len) {
        return;
    }
    qemu_put_buffer(f, t->out, t->out_len);
    if (t->zero) {
        stat64_add(&c->stats->zero_pages, 1);
    } else {
        qemu_mutex_lock(&counters.lock);
        counters.pages++;
        counters.compressed_size += t->out_len - 8;
        qemu_mutex_unlock(&counters.lock);
    }
    t->out_len = 0;
}

RamCompress *ram_compress_save_setup(MigrationStats *stats, Error **errp)
{
    RamCompress *c = g_new0(RamCompress, 1);
    int level = migrate_compress_level();

    c->n = migrate_compress_threads();
    c->wait = migrate_compress_wait_thread();
    c->stats = stats;
    c->out_size = COMPRESS_RECORD_HDR + compressBound(TARGET_PAGE_SIZE);
    qemu_mutex_init(&c->lock);
    qemu_cond_init(&c->done_cond);
    c->t = g_new0(CompressThread, c->n);
    for (unsigned i = 0; i < c->n; i++) {
        CompressThread *t = &c->t[i];
        char name[16];

        t->owner = c;
        qemu_cond_init(&t->cond);
        t->copy = g_malloc(TARGET_PAGE_SIZE);
        t->out = g_malloc(c->out_size);
        if (deflateInit(&t->zs, level) != Z_OK) {
            error_setg(errp, "compress: deflateInit at level %d failed for "
                       "thread %u", level, i);
            g_free(t->copy);
            g_free(t->out);
            t->copy = t->out = NULL;
            ram_compress_save_cleanup(c);
            return NULL;
        }
        snprintf(name, sizeof(name), "mig/compr_%u", i % 1000);
        qemu_thread_create(&t->thread, name, compress_thread, t,
                           QEMU_THREAD_JOINABLE);
        t->started = true;
    }
    counters_reset();
    trace_ram_compress_save_setup(c->n, level, c->wait);
    return c;
}

void ram_compress_save_cleanup(RamCompress *c)
{
    if (!c) {
        return;
    }
    for (unsigned i = 0; i < c->n; i++) {
        CompressThread *t = &c->t[i];

        if (t->started) {
            qemu_mutex_lock(&c->lock);
            t->quit = true;
            qemu_cond_signal(&t->cond);
            qemu_mutex_unlock(&c->lock);
            qemu_thread_join(&t->thread);
        }
        if (t->out) {
            deflateEnd(&t->zs);
        }
        qemu_cond_destroy(&t->cond);
        g_free(t->copy);
        g_free(t->out);
    }
    g_free(c->t);
    qemu_cond_destroy(&c->done_cond);
    qemu_mutex_destroy(&c->lock);
    g_free(c);
}

bool ram_compress_save_page(RamCompress *c, QEMUFile *f, RAMBlock *rb,
                            uint64_t offset)
{
    CompressThread *t = NULL;

    qemu_mutex_lock(&c->lock);
    for (;;) {
        for (unsigned i = 0; i < c->n; i++) {
            if (!c->t[i].busy) {
                t = &c->t[i];
                break;
            }
        }
        if (t || !c->wait) {
            break;
        }
        qemu_cond_wait(&c->done_cond, &c->lock);
    }
    qemu_mutex_unlock(&c->lock);
    if (!t) {
        qemu_mutex_lock(&counters.lock);
        counters.busy++;
        qemu_mutex_unlock(&counters.lock);
        trace_ram_compress_busy(rb->idstr, offset);
        return false;
    }
    /* not busy: the thread does not touch its fields until triggered */
    compress_emit(c, t, f);
    t->rb = rb;
    t->offset = offset;
    qemu_mutex_lock(&c->lock);
    t->busy = true;
    qemu_cond_signal(&t->cond);
    qemu_mutex_unlock(&c->lock);
    return true;
}

void ram_compress_flush(RamCompress *c, QEMUFile *f)
{
    unsigned emitted = 0;

    if (!c) {
        return;
    }
    qemu_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->n; i++) {
        while (c->t[i].busy) {
            qemu_cond_wait(&c->done_cond, &c->lock);
        }
    }
    qemu_mutex_unlock(&c->lock);
    for (unsigned i = 0; i < c->n; i++) {
        if (c->t[i].out_len || c->t[i].failed) {
            compress_emit(c, &c->t[i], f);
            emitted++;
        }
    }
    trace_ram_compress_flush(emitted);
}

/* ------------------------------------------------------------ destination */

typedef struct DecompressThread {
    struct RamDecompress *owner;
    QemuThread thread;
    bool started;
    QemuCond cond;               /* wakes the thread (owner->lock) */
    /* under owner->lock */
    bool busy;
    bool quit;
    /* the page: written by the incoming thread while !busy */
    RAMBlock *rb;
    uint64_t addr;
    uint8_t *host;
    uint32_t len;
    uint8_t *in;                 /* compressBound(page) bytes */
    z_stream zs;
    bool zs_ready;
} DecompressThread;

struct RamDecompress {
    QemuMutex lock;
    QemuCond done_cond;          /* a thread finished a page */
    unsigned n;
    unsigned busy;               /* threads busy (atomic read outside lock) */
    bool check;                  /* -global migration.decompress-error-check */
    Error *err;                  /* first thread error (under lock) */
    DecompressThread *t;
};

static void *decompress_thread(void *opaque)
{
    DecompressThread *t = opaque;
    RamDecompress *d = t->owner;

    qemu_mutex_lock(&d->lock);
    while (!t->quit) {
        Error *err = NULL;
        bool ok;

        if (!t->busy) {
            qemu_cond_wait(&t->cond, &d->lock);
            continue;
        }
        qemu_mutex_unlock(&d->lock);
        ok = ram_decompress_page(&t->zs, t->in, t->len, t->host,
                                 TARGET_PAGE_SIZE, &err);
        trace_ram_decompress_page(t->rb->idstr, t->addr, t->len, ok);
        qemu_mutex_lock(&d->lock);
        if (!ok) {
            if (d->check && !d->err) {
                error_prepend(&err, "ram: compressed page 0x%" PRIx64 " of "
                              "block %s (%u bytes): ", t->addr, t->rb->idstr,
                              t->len);
                d->err = err;
                err = NULL;
            }
            error_free(err);
        }
        t->busy = false;
        qatomic_set(&d->busy, d->busy - 1);
        qemu_cond_broadcast(&d->done_cond);
    }
    qemu_mutex_unlock(&d->lock);
    return NULL;
}

RamDecompress *ram_decompress_setup(Error **errp)
{
    RamDecompress *d = g_new0(RamDecompress, 1);

    d->n = migrate_decompress_threads();
    d->check = migrate_decompress_error_check();
    qemu_mutex_init(&d->lock);
    qemu_cond_init(&d->done_cond);
    d->t = g_new0(DecompressThread, d->n);
    for (unsigned i = 0; i < d->n; i++) {
        DecompressThread *t = &d->t[i];
        char name[16];

        t->owner = d;
        qemu_cond_init(&t->cond);
        t->in = g_malloc(compressBound(TARGET_PAGE_SIZE));
        if (inflateInit(&t->zs) != Z_OK) {
            error_setg(errp, "decompress: inflateInit failed for thread %u",
                       i);
            ram_decompress_cleanup(d);
            return NULL;
        }
        t->zs_ready = true;
        snprintf(name, sizeof(name), "mig/dcmp_%u", i % 1000);
        qemu_thread_create(&t->thread, name, decompress_thread, t,
                           QEMU_THREAD_JOINABLE);
        t->started = true;
    }
    trace_ram_decompress_setup(d->n, d->check);
    return d;
}

void ram_decompress_cleanup(RamDecompress *d)
{
    if (!d) {
        return;
    }
    for (unsigned i = 0; i < d->n; i++) {
        DecompressThread *t = &d->t[i];

        if (t->started) {
            qemu_mutex_lock(&d->lock);
            /* a page being inflated is finished first */
            while (t->busy) {
                qemu_cond_wait(&d->done_cond, &d->lock);
            }
            t->quit = true;
            qemu_cond_signal(&t->cond);
            qemu_mutex_unlock(&d->lock);
            qemu_thread_join(&t->thread);
        }
        if (t->zs_ready) {
            inflateEnd(&t->zs);
        }
        qemu_cond_destroy(&t->cond);
        g_free(t->in);
    }
    g_free(d->t);
    error_free(d->err);
    qemu_cond_destroy(&d->done_cond);
    qemu_mutex_destroy(&d->lock);
    g_free(d);
}

bool ram_decompress_load_page(RamDecompress *d, QEMUFile *f, RAMBlock *rb,
                              uint64_t addr, uint8_t *host, uint64_t pos,
                              Error **errp)
{
    uint32_t len = qemu_get_be32(f);
    uint32_t bound = compressBound(TARGET_PAGE_SIZE);
    DecompressThread *t = NULL;

    if (qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        error_prepend(errp, "ram: length of the compressed page 0x%" PRIx64
                      " of block %s at offset %" PRIu64 ": ", addr,
                      rb->idstr, pos);
        return false;
    }
    /* 7.2 reads N as an int: a top bit set is a negative length */
    if (len > bound) {
        error_setg(errp, "ram: invalid compressed data length %" PRIu32
                   " (more than compressBound %" PRIu32 ") for page 0x%"
                   PRIx64 " of block %s at offset %" PRIu64, len, bound, addr,
                   rb->idstr, pos);
        return false;
    }
    qemu_mutex_lock(&d->lock);
    for (;;) {
        if (d->err) {
            error_propagate(errp, error_copy(d->err));
            qemu_mutex_unlock(&d->lock);
            return false;
        }
        for (unsigned i = 0; i < d->n; i++) {
            if (!d->t[i].busy) {
                t = &d->t[i];
                break;
            }
        }
        if (t) {
            break;
        }
        qemu_cond_wait(&d->done_cond, &d->lock);
    }
    qemu_mutex_unlock(&d->lock);
    /* not busy: the thread does not touch its fields until triggered */
    if (qemu_get_buffer(f, t->in, len) != len || qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        error_prepend(errp, "ram: reading the %" PRIu32 " bytes of the "
                      "compressed page 0x%" PRIx64 " of block %s at offset %"
                      PRIu64 ": ", len, addr, rb->idstr, pos);
        return false;
    }
    t->rb = rb;
    t->addr = addr;
    t->host = host;
    t->len = len;
    qemu_mutex_lock(&d->lock);
    t->busy = true;
    qatomic_set(&d->busy, d->busy + 1);
    qemu_cond_signal(&t->cond);
    qemu_mutex_unlock(&d->lock);
    return true;
}

void ram_decompress_wait_page(RamDecompress *d, RAMBlock *rb, uint64_t addr)
{
    if (!d || !qatomic_read(&d->busy)) {
        return;
    }
    qemu_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->n; i++) {
        DecompressThread *t = &d->t[i];

        if (t->busy && t->rb == rb && t->addr == addr) {
            trace_ram_decompress_wait_page(rb->idstr, addr);
            while (t->busy) {
                qemu_cond_wait(&d->done_cond, &d->lock);
            }
            break;
        }
    }
    qemu_mutex_unlock(&d->lock);
}

bool ram_decompress_wait_all(RamDecompress *d, Error **errp)
{
    bool ok;

    if (!d) {
        return true;
    }
    qemu_mutex_lock(&d->lock);
    while (d->busy) {
        qemu_cond_wait(&d->done_cond, &d->lock);
    }
    ok = !d->err;
    if (!ok) {
        error_propagate(errp, error_copy(d->err));
    }
    qemu_mutex_unlock(&d->lock);
    return ok;
}
