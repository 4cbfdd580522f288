/*
 * QEMUFile: a buffered, big-endian byte stream over a QIOChannel.
 *
 * Output: small puts are copied into buf[] and queued as iovec entries
 * (an entry grows while the bytes stay contiguous); qemu_put_buffer_async
 * queues the caller's memory as its own entry.  A flush sends every entry
 * with one writev, so a page costs no copy.  The iovec array or buf[]
 * running out forces a flush *before* new bytes are placed, so a queued
 * pointer into buf[] is never overwritten.
 *
 * Input: buf[buf_index, buf_size) holds bytes read from the channel and
 * not yet consumed.  A refill moves them to the front and reads as much
 * as fits, so a peek of up to QEMU_FILE_BUF_SIZE bytes always succeeds
 * unless the stream ends.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel.h"
#include "migration/qemu-file.h"
#include "trace.h"

struct QEMUFile {
    /* Set once at creation. */
    QIOChannel *ioc;
    bool is_writable;
    /* Files alive over ioc (this one and its return paths); atomic. */
    int *open_count;

    /* Owned by the thread that reads or writes the file. */
    uint8_t buf[QEMU_FILE_BUF_SIZE];
    size_t buf_index;   /* output: bytes of buf used; input: next unread */
    size_t buf_size;    /* input: bytes of buf that are valid */
    struct iovec iov[QEMU_FILE_MAX_IOV];
    bool iov_may_free[QEMU_FILE_MAX_IOV];
    unsigned int iovcnt;
    uint64_t pending;   /* output: bytes queued in iov, not yet written */
    uint64_t pos;       /* bytes written to / read from the channel */
    bool eof;           /* input: the channel reported end of stream */

    /*
     * Rate limit.  The bytes put in this period are those put since
     * rate_limit_mark (owner thread: no atomic op per put) plus
     * rate_limit_extra (qemu_file_acct_rate_limit, any thread; atomic).
     * rate_limit_max: any thread; atomic.
     */
    uint64_t rate_limit_max;
    uint64_t rate_limit_mark;
    uint64_t rate_limit_extra;

    /* Under err_lock; last_error may also be read with qatomic_read. */
    GMutex err_lock;
    int last_error;
    Error *last_error_obj;
};

static QEMUFile *qemu_file_new_impl(QIOChannel *ioc, bool is_writable,
                                    int *open_count)
{
    QEMUFile *f = g_new0(QEMUFile, 1);

    f->ioc = qio_channel_ref(ioc);
    f->is_writable = is_writable;
    g_mutex_init(&f->err_lock);
    if (open_count) {
        qatomic_inc(open_count);
        f->open_count = open_count;
    } else {
        f->open_count = g_new0(int, 1);
        *f->open_count = 1;
    }
    trace_qemu_file_new(qio_channel_type_name(ioc), is_writable);
    return f;
}

QEMUFile *qemu_file_new_input(QIOChannel *ioc)
{
    return qemu_file_new_impl(ioc, false, NULL);
}

QEMUFile *qemu_file_new_output(QIOChannel *ioc)
{
    return qemu_file_new_impl(ioc, true, NULL);
}

QEMUFile *qemu_file_get_return_path(QEMUFile *f)
{
    return qemu_file_new_impl(f->ioc, !f->is_writable, f->open_count);
}

bool qemu_file_is_writable(QEMUFile *f)
{
    return f->is_writable;
}

QIOChannel *qemu_file_get_ioc(QEMUFile *f)
{
    return f->ioc;
}

/* ------------------------------------------------------------ errors */

void qemu_file_set_error_obj(QEMUFile *f, int ret, Error *err)
{
    if (ret >= 0) {
        error_free(err);
        return;
    }
    g_mutex_lock(&f->err_lock);
    if (f->last_error == 0) {
        if (!err) {
            error_setg_errno(&err, -ret, "migration stream failed");
        }
        trace_qemu_file_set_error(error_get_pretty(err), (uint64_t)-ret);
        f->last_error_obj = err;
        qatomic_set(&f->last_error, ret);
    } else {
        error_free(err);
    }
    g_mutex_unlock(&f->err_lock);
}

void qemu_file_set_error(QEMUFile *f, int ret)
{
    qemu_file_set_error_obj(f, ret, NULL);
}

int qemu_file_get_error(QEMUFile *f)
{
    return qatomic_read(&f->last_error);
}

int qemu_file_get_error_obj(QEMUFile *f, Error **errp)
{
    int ret;

    g_mutex_lock(&f->err_lock);
    ret = f->last_error;
    if (ret && errp && f->last_error_obj) {
        error_propagate(errp, error_copy(f->last_error_obj));
    }
    g_mutex_unlock(&f->err_lock);
    return ret;
}

/* The stream ended (or failed) before the bytes a get needed. */
static void qemu_file_set_short_read(QEMUFile *f, size_t wanted)
{
    Error *err = NULL;

    if (qemu_file_get_error(f)) {
        return;
    }
    error_setg(&err, "unexpected end of stream at offset %" PRIu64
               " (%zu more bytes needed)", qemu_file_transferred(f), wanted);
    qemu_file_set_error_obj(f, -EIO, err);
}

int qemu_file_shutdown(QEMUFile *f)
{
    Error *err = NULL;

    trace_qemu_file_shutdown(qio_channel_type_name(f->ioc), f->is_writable);
    /*
     * Fail the file before touching the channel: a thread blocked in a
     * read wakes up with end of stream and must find the error set, or it
     * would take the missing bytes for a short but valid stream.
     */
    error_setg(&err, "migration stream was shut down");
    qemu_file_set_error_obj(f, -EIO, err);

    if (!qio_channel_has_feature(f->ioc, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        return -ENOTSUP;
    }
    if (qio_channel_shutdown(f->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, &err) < 0) {
        error_free(err);
        return -EIO;
    }
    return 0;
}

/* ------------------------------------------------------------ output */

static void qemu_file_release_pages(const struct iovec *iov)
{
    uintptr_t start = (uintptr_t)iov->iov_base;
    uintptr_t end = start + iov->iov_len;
    uintptr_t ps = qemu_real_host_page_size;

    start = QEMU_ALIGN_UP(start, ps);
    end = QEMU_ALIGN_DOWN(end, ps);
    if (start < end) {
        /* Only advice: the pages were sent, failure costs memory only. */
        (void)madvise((void *)start, end - start, MADV_DONTNEED);
    }
}

void qemu_fflush(QEMUFile *f)
{
    Error *err = NULL;
    unsigned int i;

    if (!f->is_writable || f->iovcnt == 0) {
        return;
    }
    if (!qemu_file_get_error(f)) {
        if (qio_channel_writev_all(f->ioc, f->iov, f->iovcnt, &err) < 0) {
            error_prepend(&err, "cannot write migration stream at offset %"
                          PRIu64 ": ", f->pos);
            qemu_file_set_error_obj(f, -EIO, err);
        } else {
            trace_qemu_file_fflush(f->iovcnt, f->pending);
            f->pos += f->pending;
            for (i = 0; i < f->iovcnt; i++) {
                if (f->iov_may_free[i]) {
                    qemu_file_release_pages(&f->iov[i]);
                }
            }
        }
    }
    f->iovcnt = 0;
    f->buf_index = 0;
    f->pending = 0;
}

/* Queue @len bytes at @base; the caller made room in f->iov first. */
static inline void qemu_file_add_iov(QEMUFile *f, const uint8_t *base,
                                     size_t len, bool may_free)
{
    struct iovec *last = f->iovcnt ? &f->iov[f->iovcnt - 1] : NULL;

    if (last && !may_free && !f->iov_may_free[f->iovcnt - 1] &&
        (uint8_t *)last->iov_base + last->iov_len == base) {
        last->iov_len += len;
    } else {
        assert(f->iovcnt < QEMU_FILE_MAX_IOV);
        f->iov[f->iovcnt].iov_base = (void *)base;
        f->iov[f->iovcnt].iov_len = len;
        f->iov_may_free[f->iovcnt] = may_free;
        f->iovcnt++;
    }
    f->pending += len;
}

/* Make sure @len bytes fit in buf and one more iovec entry is free. */
static inline void qemu_file_make_room(QEMUFile *f, size_t len)
{
    if (f->buf_index + len > QEMU_FILE_BUF_SIZE ||
        f->iovcnt == QEMU_FILE_MAX_IOV) {
        qemu_fflush(f);
    }
}

/* Copy @len (<= QEMU_FILE_BUF_SIZE) bytes into buf and queue them. */
static inline void qemu_file_put_small(QEMUFile *f, const void *p,
                                       size_t len)
{
    assert(f->is_writable);
    if (qemu_file_get_error(f)) {
        return;
    }
    qemu_file_make_room(f, len);
    memcpy(f->buf + f->buf_index, p, len);
    qemu_file_add_iov(f, f->buf + f->buf_index, len, false);
    f->buf_index += len;
    if (f->buf_index == QEMU_FILE_BUF_SIZE) {
        qemu_fflush(f);
    }
}

void qemu_put_byte(QEMUFile *f, int v)
{
    uint8_t b = v;

    qemu_file_put_small(f, &b, 1);
}

void qemu_put_be16(QEMUFile *f, unsigned int v)
{
    uint16_t be = GUINT16_TO_BE(v);

    qemu_file_put_small(f, &be, 2);
}

void qemu_put_be32(QEMUFile *f, unsigned int v)
{
    uint32_t be = GUINT32_TO_BE(v);

    qemu_file_put_small(f, &be, 4);
}

void qemu_put_be64(QEMUFile *f, uint64_t v)
{
    uint64_t be = GUINT64_TO_BE(v);

    qemu_file_put_small(f, &be, 8);
}

void qemu_put_buffer(QEMUFile *f, const uint8_t *buf, size_t size)
{
    while (size > 0 && !qemu_file_get_error(f)) {
        size_t room = QEMU_FILE_BUF_SIZE - f->buf_index;
        size_t chunk;

        if (room == 0) {
            qemu_fflush(f);
            continue;
        }
        chunk = MIN(size, room);
        qemu_file_put_small(f, buf, chunk);
        buf += chunk;
        size -= chunk;
    }
}

void qemu_put_buffer_async(QEMUFile *f, const uint8_t *buf, size_t size,
                           bool may_free)
{
    assert(f->is_writable);
    if (size == 0 || qemu_file_get_error(f)) {
        return;
    }
    if (f->iovcnt == QEMU_FILE_MAX_IOV) {
        qemu_fflush(f);
        if (qemu_file_get_error(f)) {
            return;
        }
    }
    qemu_file_add_iov(f, buf, size, may_free);
}

void qemu_put_counted_string(QEMUFile *f, const char *str)
{
    size_t len = strlen(str);

    assert(len <= 255);
    qemu_put_byte(f, len);
    qemu_put_buffer(f, (const uint8_t *)str, len);
}

/* ------------------------------------------------------------ input */

/*
 * Move the unread bytes to the front and read more.  Returns the number
 * of new bytes, 0 at end of stream, -1 on error (set on @f).
 */
static ssize_t qemu_file_fill_buffer(QEMUFile *f)
{
    size_t unread = f->buf_size - f->buf_index;
    Error *err = NULL;
    ssize_t len;

    assert(!f->is_writable);
    if (f->eof) {
        return 0;
    }
    if (f->buf_index > 0) {
        memmove(f->buf, f->buf + f->buf_index, unread);
        f->buf_index = 0;
        f->buf_size = unread;
    }
    if (f->buf_size == QEMU_FILE_BUF_SIZE) {
        return 0;
    }
    for (;;) {
        len = qio_channel_read(f->ioc, (char *)f->buf + f->buf_size,
                               QEMU_FILE_BUF_SIZE - f->buf_size, &err);
        if (len != QIO_CHANNEL_ERR_BLOCK) {
            break;
        }
        qio_channel_wait(f->ioc, G_IO_IN);
    }
    if (len > 0) {
        f->buf_size += len;
        f->pos += len;
        return len;
    }
    if (len == 0) {
        trace_qemu_file_eof(qio_channel_type_name(f->ioc), f->pos);
        f->eof = true;
        return 0;
    }
    error_prepend(&err, "cannot read migration stream at offset %" PRIu64
                  ": ", f->pos);
    qemu_file_set_error_obj(f, -EIO, err);
    return -1;
}

size_t qemu_peek_buffer(QEMUFile *f, uint8_t **buf, size_t size,
                        size_t offset)
{
    size_t avail;

    assert(!f->is_writable);
    assert(offset + size <= QEMU_FILE_BUF_SIZE);
    if (qemu_file_get_error(f)) {
        return 0;
    }
    while (f->buf_size - f->buf_index < offset + size) {
        if (qemu_file_fill_buffer(f) <= 0) {
            break;
        }
    }
    if (qemu_file_get_error(f)) {
        return 0;
    }
    avail = f->buf_size - f->buf_index;
    if (avail <= offset) {
        return 0;
    }
    *buf = f->buf + f->buf_index + offset;
    return MIN(size, avail - offset);
}

size_t qemu_peek_buffered(QEMUFile *f, uint8_t **buf)
{
    assert(!f->is_writable);
    if (qemu_file_get_error(f)) {
        return 0;
    }
    *buf = f->buf + f->buf_index;
    return f->buf_size - f->buf_index;
}

int qemu_peek_byte(QEMUFile *f, int offset)
{
    uint8_t *p;

    if (offset < 0 || qemu_peek_buffer(f, &p, 1, offset) != 1) {
        return -1;
    }
    return *p;
}

void qemu_file_skip(QEMUFile *f, int size)
{
    size_t avail = f->buf_size - f->buf_index;

    if (size < 0 || (size_t)size > avail) {
        f->buf_index = f->buf_size;
        qemu_file_set_short_read(f, size - avail);
        return;
    }
    f->buf_index += size;
}

/* Consume exactly @size (<= QEMU_FILE_BUF_SIZE) bytes, or fail the file. */
static inline uint8_t *qemu_file_take(QEMUFile *f, size_t size)
{
    uint8_t *p;
    size_t n;

    /* fast path: already buffered (an error empties the buffer) */
    if (likely(f->buf_size - f->buf_index >= size) &&
        likely(!qemu_file_get_error(f))) {
        p = f->buf + f->buf_index;
        f->buf_index += size;
        return p;
    }
    n = qemu_peek_buffer(f, &p, size, 0);

    if (n < size) {
        qemu_file_set_short_read(f, size - n);
        return NULL;
    }
    f->buf_index += size;
    return p;
}

int qemu_get_byte(QEMUFile *f)
{
    uint8_t *p = qemu_file_take(f, 1);

    return p ? *p : 0;
}

unsigned int qemu_get_be16(QEMUFile *f)
{
    uint8_t *p = qemu_file_take(f, 2);
    uint16_t v;

    if (!p) {
        return 0;
    }
    memcpy(&v, p, 2);
    return GUINT16_FROM_BE(v);
}

unsigned int qemu_get_be32(QEMUFile *f)
{
    uint8_t *p = qemu_file_take(f, 4);
    uint32_t v;

    if (!p) {
        return 0;
    }
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

uint64_t qemu_get_be64(QEMUFile *f)
{
    uint8_t *p = qemu_file_take(f, 8);
    uint64_t v;

    if (!p) {
        return 0;
    }
    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

size_t qemu_get_buffer(QEMUFile *f, uint8_t *buf, size_t size)
{
    size_t done = 0;

    while (done < size) {
        uint8_t *src;
        size_t chunk = MIN(size - done, QEMU_FILE_BUF_SIZE);
        size_t n = qemu_peek_buffer(f, &src, chunk, 0);

        if (n == 0) {
            qemu_file_set_short_read(f, size - done);
            return qemu_file_get_error(f) ? 0 : done;
        }
        memcpy(buf + done, src, n);
        f->buf_index += n;
        done += n;
    }
    return done;
}

size_t qemu_get_buffer_in_place(QEMUFile *f, uint8_t **buf, size_t size)
{
    if (size <= QEMU_FILE_BUF_SIZE) {
        uint8_t *p = qemu_file_take(f, size);

        if (!p) {
            return 0;
        }
        *buf = p;
        return size;
    }
    return qemu_get_buffer(f, *buf, size);
}

size_t qemu_get_counted_string(QEMUFile *f, char buf[256])
{
    size_t len = qemu_get_byte(f);

    if (qemu_file_get_error(f) ||
        qemu_get_buffer(f, (uint8_t *)buf, len) != len) {
        buf[0] = '\0';
        return 0;
    }
    buf[len] = '\0';
    return len;
}

/* ------------------------------------------------------------ accounting */

uint64_t qemu_file_transferred(QEMUFile *f)
{
    if (f->is_writable) {
        return f->pos + f->pending;
    }
    return f->pos - (f->buf_size - f->buf_index);
}

void qemu_file_set_rate_limit(QEMUFile *f, uint64_t budget)
{
    qatomic_set(&f->rate_limit_max, budget);
}

uint64_t qemu_file_get_rate_limit(QEMUFile *f)
{
    return qatomic_read(&f->rate_limit_max);
}

bool qemu_file_rate_limit(QEMUFile *f)
{
    uint64_t max = qatomic_read(&f->rate_limit_max);

    if (qemu_file_get_error(f)) {
        return true;
    }
    return max && qemu_file_transferred(f) - f->rate_limit_mark +
                  qatomic_read(&f->rate_limit_extra) >= max;
}

void qemu_file_reset_rate_limit(QEMUFile *f)
{
    f->rate_limit_mark = qemu_file_transferred(f);
    qatomic_set(&f->rate_limit_extra, 0);
}

void qemu_file_acct_rate_limit(QEMUFile *f, uint64_t len)
{
    qatomic_add(&f->rate_limit_extra, len);
}

/* ------------------------------------------------------------ close */

int qemu_fclose(QEMUFile *f)
{
    Error *err = NULL;
    int ret;

    if (!f) {
        return 0;
    }
    qemu_fflush(f);
    ret = qemu_file_get_error(f);
    if (qatomic_fetch_sub(f->open_count, 1) == 1) {
        if (qio_channel_close(f->ioc, &err) < 0) {
            error_free(err);
            ret = ret ? ret : -EIO;
        }
        g_free(f->open_count);
    }
    trace_qemu_file_fclose(qio_channel_type_name(f->ioc), (uint64_t)-ret);
    qio_channel_unref(f->ioc);
    error_free(f->last_error_obj);
    g_mutex_clear(&f->err_lock);
    g_free(f);
    return ret;
}
