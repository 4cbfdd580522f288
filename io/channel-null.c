/*
 * QIOChannelNull: a sink that discards writes and reads as empty.
 */
#include "qemu/osdep.h"
#include "io/channel-null.h"
#include "io/channel-watch.h"
#include "qapi/error.h"

QIOChannelNull *qio_channel_null_new(void)
{
    QIOChannelNull *nioc = g_new0(QIOChannelNull, 1);

    qio_channel_init(QIO_CHANNEL(nioc), &qio_channel_null_class);
    return nioc;
}

static ssize_t qio_channel_null_readv(QIOChannel *ioc,
                                      const struct iovec *iov, size_t niov,
                                      int **fds, size_t *nfds, int flags,
                                      Error **errp)
{
    if (qatomic_read(&ioc->closed)) {
        error_setg(errp, "Channel is closed");
        return -1;
    }
    return 0;
}

static ssize_t qio_channel_null_writev(QIOChannel *ioc,
                                       const struct iovec *iov, size_t niov,
                                       int *fds, size_t nfds, int flags,
                                       Error **errp)
{
    ssize_t total = 0;
    size_t i;

    if (qatomic_read(&ioc->closed)) {
        error_setg(errp, "Channel is closed");
        return -1;
    }
    for (i = 0; i < niov; i++) {
        total += iov[i].iov_len;
    }
    return total;
}

static int qio_channel_null_close(QIOChannel *ioc, Error **errp)
{
    return 0;
}

static off_t qio_channel_null_seek(QIOChannel *ioc, off_t offset, int whence,
                                   Error **errp)
{
    return 0;
}

static GSource *qio_channel_null_create_watch(QIOChannel *ioc,
                                              GIOCondition condition)
{
    return qio_channel_create_always_ready_watch(ioc, condition);
}

const QIOChannelClass qio_channel_null_class = {
    .type_name = TYPE_QIO_CHANNEL_NULL,
    .io_readv = qio_channel_null_readv,
    .io_writev = qio_channel_null_writev,
    .io_close = qio_channel_null_close,
    .io_create_watch = qio_channel_null_create_watch,
    .io_seek = qio_channel_null_seek,
};
