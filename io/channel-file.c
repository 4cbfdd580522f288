/*
 * QIOChannelFile: a QIOChannel over a plain fd (file, pipe, tty).
 */
#include "qemu/osdep.h"
#include "io/channel-file.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "trace.h"

QIOChannelFile *qio_channel_file_new_fd(int fd)
{
    QIOChannelFile *fioc = g_new0(QIOChannelFile, 1);

    qio_channel_init(QIO_CHANNEL(fioc), &qio_channel_file_class);
    fioc->fd = fd;
    if (lseek(fd, 0, SEEK_CUR) != (off_t)-1) {
        qio_channel_set_feature(QIO_CHANNEL(fioc),
                                QIO_CHANNEL_FEATURE_SEEKABLE);
    }
    trace_qio_channel_file_new_fd(fioc, fd);
    return fioc;
}

QIOChannelFile *qio_channel_file_new_dupfd(int fd, Error **errp)
{
    int newfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

    if (newfd < 0) {
        error_setg_errno(errp, errno, "Could not duplicate file descriptor %d",
                         fd);
        return NULL;
    }
    return qio_channel_file_new_fd(newfd);
}

QIOChannelFile *qio_channel_file_new_path(const char *path, int flags,
                                          mode_t mode, Error **errp)
{
    QIOChannelFile *fioc;
    int fd;

    do {
        fd = open(path, flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Unable to open %s", path);
        return NULL;
    }
    fioc = qio_channel_file_new_fd(fd);
    trace_qio_channel_file_new_path(fioc, path, flags, (int)mode, fd);
    return fioc;
}

static ssize_t qio_channel_file_readv(QIOChannel *ioc,
                                      const struct iovec *iov, size_t niov,
                                      int **fds, size_t *nfds, int flags,
                                      Error **errp)
{
    QIOChannelFile *fioc = (QIOChannelFile *)ioc;
    ssize_t ret;

    do {
        ret = readv(fioc->fd, iov, niov);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to read from file");
        return -1;
    }
    return ret;
}

static ssize_t qio_channel_file_writev(QIOChannel *ioc,
                                       const struct iovec *iov, size_t niov,
                                       int *fds, size_t nfds, int flags,
                                       Error **errp)
{
    QIOChannelFile *fioc = (QIOChannelFile *)ioc;
    ssize_t ret;

    do {
        ret = writev(fioc->fd, iov, niov);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to write to file");
        return -1;
    }
    return ret;
}

static ssize_t qio_channel_file_preadv(QIOChannel *ioc,
                                       const struct iovec *iov, size_t niov,
                                       off_t offset, Error **errp)
{
    QIOChannelFile *fioc = (QIOChannelFile *)ioc;
    ssize_t ret;

    do {
        ret = preadv(fioc->fd, iov, niov, offset);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        error_setg_errno(errp, errno, "Unable to read from file at offset %"
                         PRId64, (int64_t)offset);
        return -1;
    }
    return ret;
}

static ssize_t qio_channel_file_pwritev(QIOChannel *ioc,
                                        const struct iovec *iov, size_t niov,
                                        off_t offset, Error **errp)
{
    QIOChannelFile *fioc = (QIOChannelFile *)ioc;
    ssize_t ret;

    do {
        ret = pwritev(fioc->fd, iov, niov, offset);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        error_setg_errno(errp, errno, "Unable to write to file at offset %"
                         PRId64, (int64_t)offset);
        return -1;
    }
    return ret;
}

static off_t qio_channel_file_seek(QIOChannel *ioc, off_t offset, int whence,
                                   Error **errp)
{
    QIOChannelFile *fioc = (QIOChannelFile *)ioc;
    off_t ret = lseek(fioc->fd, offset, whence);

    if (ret == (off_t)-1) {
        error_setg_errno(errp, errno, "Unable to seek to offset %" PRId64
                         " whence %d in file", (int64_t)offset, whence);
        return -1;
    }
    return ret;
}

static int qio_channel_file_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelFile *fioc = (QIOChannelFile *)ioc;
    int ret = 0;

    if (fioc->fd < 0) {
        return 0;
    }
    if (close(fioc->fd) < 0) {
        error_setg_errno(errp, errno, "Unable to close file");
        ret = -1;
    }
    fioc->fd = -1;
    return ret;
}

static int qio_channel_file_set_blocking(QIOChannel *ioc, bool enabled,
                                         Error **errp)
{
    QIOChannelFile *fioc = (QIOChannelFile *)ioc;
    int fl = fcntl(fioc->fd, F_GETFL);

    if (fl < 0) {
        error_setg_errno(errp, errno, "Unable to query file flags");
        return -1;
    }
    fl = enabled ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    if (fcntl(fioc->fd, F_SETFL, fl) < 0) {
        error_setg_errno(errp, errno, "Unable to set file flags");
        return -1;
    }
    return 0;
}

static GSource *qio_channel_file_create_watch(QIOChannel *ioc,
                                              GIOCondition condition)
{
    return qio_channel_create_fd_watch(ioc, ((QIOChannelFile *)ioc)->fd,
                                       condition);
}

static int qio_channel_file_get_fd(QIOChannel *ioc, GIOCondition condition)
{
    return ((QIOChannelFile *)ioc)->fd;
}

const QIOChannelClass qio_channel_file_class = {
    .type_name = TYPE_QIO_CHANNEL_FILE,
    .io_readv = qio_channel_file_readv,
    .io_writev = qio_channel_file_writev,
    .io_close = qio_channel_file_close,
    .io_set_blocking = qio_channel_file_set_blocking,
    .io_create_watch = qio_channel_file_create_watch,
    .io_seek = qio_channel_file_seek,
    .io_preadv = qio_channel_file_preadv,
    .io_pwritev = qio_channel_file_pwritev,
    .io_get_fd = qio_channel_file_get_fd,
};
