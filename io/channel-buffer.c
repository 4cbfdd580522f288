/*
 * QIOChannelBuffer: an in-memory, growable, seekable channel.
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "trace.h"

QIOChannelBuffer *qio_channel_buffer_new(size_t capacity)
{
    QIOChannelBuffer *bioc = g_new0(QIOChannelBuffer, 1);

    qio_channel_init(QIO_CHANNEL(bioc), &qio_channel_buffer_class);
    if (capacity) {
        bioc->data = g_malloc(capacity);
        bioc->capacity = capacity;
    }
    qio_channel_set_feature(QIO_CHANNEL(bioc), QIO_CHANNEL_FEATURE_SEEKABLE);
    qio_channel_set_feature(QIO_CHANNEL(bioc), QIO_CHANNEL_FEATURE_SHUTDOWN);
    trace_qio_channel_buffer_new(bioc, capacity);
    return bioc;
}

static void qio_channel_buffer_reserve(QIOChannelBuffer *bioc, size_t end)
{
    size_t cap = bioc->capacity ? bioc->capacity : 4096;

    if (end <= bioc->capacity) {
        return;
    }
    while (cap < end) {
        cap = cap > SIZE_MAX / 2 ? end : cap * 2;
    }
    bioc->data = g_realloc(bioc->data, cap);
    bioc->capacity = cap;
}

static ssize_t buffer_read_at(QIOChannelBuffer *bioc, const struct iovec *iov,
                              size_t niov, size_t offset)
{
    ssize_t total = 0;
    size_t i;

    for (i = 0; i < niov && offset < bioc->usage; i++) {
        size_t n = MIN(iov[i].iov_len, bioc->usage - offset);

        memcpy(iov[i].iov_base, bioc->data + offset, n);
        offset += n;
        total += n;
    }
    return total;
}

static ssize_t buffer_write_at(QIOChannelBuffer *bioc,
                               const struct iovec *iov, size_t niov,
                               size_t offset)
{
    size_t total = 0;
    size_t i;

    for (i = 0; i < niov; i++) {
        total += iov[i].iov_len;
    }
    qio_channel_buffer_reserve(bioc, offset + total);
    if (offset > bioc->usage) {
        /* Writing past the end leaves a zeroed hole, as a file would. */
        memset(bioc->data + bioc->usage, 0, offset - bioc->usage);
    }
    for (i = 0; i < niov; i++) {
        memcpy(bioc->data + offset, iov[i].iov_base, iov[i].iov_len);
        offset += iov[i].iov_len;
    }
    if (offset > bioc->usage) {
        bioc->usage = offset;
    }
    return total;
}

static ssize_t qio_channel_buffer_readv(QIOChannel *ioc,
                                        const struct iovec *iov, size_t niov,
                                        int **fds, size_t *nfds, int flags,
                                        Error **errp)
{
    QIOChannelBuffer *bioc = (QIOChannelBuffer *)ioc;
    ssize_t n = buffer_read_at(bioc, iov, niov, bioc->offset);

    if (!(flags & QIO_CHANNEL_READ_FLAG_MSG_PEEK)) {
        bioc->offset += n;
    }
    return n;
}

static ssize_t qio_channel_buffer_writev(QIOChannel *ioc,
                                         const struct iovec *iov, size_t niov,
                                         int *fds, size_t nfds, int flags,
                                         Error **errp)
{
    QIOChannelBuffer *bioc = (QIOChannelBuffer *)ioc;
    ssize_t n = buffer_write_at(bioc, iov, niov, bioc->offset);

    bioc->offset += n;
    return n;
}

static ssize_t qio_channel_buffer_preadv(QIOChannel *ioc,
                                         const struct iovec *iov, size_t niov,
                                         off_t offset, Error **errp)
{
    if (offset < 0) {
        error_setg(errp, "Negative offset %" PRId64, (int64_t)offset);
        return -1;
    }
    return buffer_read_at((QIOChannelBuffer *)ioc, iov, niov, offset);
}

static ssize_t qio_channel_buffer_pwritev(QIOChannel *ioc,
                                          const struct iovec *iov,
                                          size_t niov, off_t offset,
                                          Error **errp)
{
    if (offset < 0) {
        error_setg(errp, "Negative offset %" PRId64, (int64_t)offset);
        return -1;
    }
    return buffer_write_at((QIOChannelBuffer *)ioc, iov, niov, offset);
}

static off_t qio_channel_buffer_seek(QIOChannel *ioc, off_t offset,
                                     int whence, Error **errp)
{
    QIOChannelBuffer *bioc = (QIOChannelBuffer *)ioc;
    off_t base;

    switch (whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = bioc->offset;
        break;
    case SEEK_END:
        base = bioc->usage;
        break;
    default:
        error_setg(errp, "Invalid seek whence %d", whence);
        return -1;
    }
    if (base + offset < 0) {
        error_setg(errp, "Seek to a negative offset");
        return -1;
    }
    bioc->offset = base + offset;
    return bioc->offset;
}

static int qio_channel_buffer_close(QIOChannel *ioc, Error **errp)
{
    /* The data stays readable through the struct until the last unref. */
    return 0;
}

static void qio_channel_buffer_finalize(QIOChannel *ioc)
{
    QIOChannelBuffer *bioc = (QIOChannelBuffer *)ioc;

    g_free(bioc->data);
    bioc->data = NULL;
    bioc->capacity = bioc->usage = bioc->offset = 0;
}

static int qio_channel_buffer_shutdown(QIOChannel *ioc,
                                       QIOChannelShutdown how, Error **errp)
{
    return 0;
}

static GSource *qio_channel_buffer_create_watch(QIOChannel *ioc,
                                                GIOCondition condition)
{
    return qio_channel_create_always_ready_watch(ioc, condition);
}

const QIOChannelClass qio_channel_buffer_class = {
    .type_name = TYPE_QIO_CHANNEL_BUFFER,
    .io_readv = qio_channel_buffer_readv,
    .io_writev = qio_channel_buffer_writev,
    .io_close = qio_channel_buffer_close,
    .io_shutdown = qio_channel_buffer_shutdown,
    .io_create_watch = qio_channel_buffer_create_watch,
    .io_seek = qio_channel_buffer_seek,
    .io_preadv = qio_channel_buffer_preadv,
    .io_pwritev = qio_channel_buffer_pwritev,
    .finalize = qio_channel_buffer_finalize,
};
