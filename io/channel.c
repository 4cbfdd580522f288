/*
 * QIOChannel: the generic part (reference counting, dispatch to the
 * channel type's operations, the *_all loops, watches and waiting).
 */
#include "qemu/osdep.h"
#include "io/channel.h"
#include "qapi/error.h"
#include "trace.h"

#include <poll.h>

void qio_channel_init(QIOChannel *ioc, const QIOChannelClass *klass)
{
    g_assert(klass && klass->io_readv && klass->io_writev &&
             klass->io_close && klass->io_create_watch);
    ioc->klass = klass;
    ioc->refcount = 1;
    ioc->features = 0;
    ioc->name = NULL;
    ioc->shutdown = 0;
    ioc->closed = false;
}

bool qio_channel_is_type(QIOChannel *ioc, const QIOChannelClass *klass)
{
    return ioc && ioc->klass == klass;
}

void *qio_channel_check_type(void *obj, const QIOChannelClass *klass)
{
    QIOChannel *ioc = obj;

    g_assert(ioc != NULL);
    if (ioc->klass != klass) {
        g_error("QIOChannel type mismatch: %s is not %s",
                ioc->klass->type_name, klass->type_name);
    }
    return obj;
}

const char *qio_channel_type_name(QIOChannel *ioc)
{
    return ioc->klass->type_name;
}

QIOChannel *qio_channel_ref(QIOChannel *ioc)
{
    g_assert(qatomic_read(&ioc->refcount) > 0);
    qatomic_inc(&ioc->refcount);
    return ioc;
}

void qio_channel_unref(QIOChannel *ioc)
{
    if (!ioc) {
        return;
    }
    g_assert(qatomic_read(&ioc->refcount) > 0);
    if (qatomic_fetch_sub(&ioc->refcount, 1) != 1) {
        return;
    }
    trace_qio_channel_finalize(ioc, ioc->klass->type_name);
    if (!ioc->closed) {
        ioc->klass->io_close(ioc, NULL);
        ioc->closed = true;
    }
    if (ioc->klass->finalize) {
        ioc->klass->finalize(ioc);
    }
    g_free(ioc->name);
    g_free(ioc);
}

void qio_channel_set_name(QIOChannel *ioc, const char *name)
{
    g_free(ioc->name);
    ioc->name = g_strdup(name);
}

const char *qio_channel_get_name(QIOChannel *ioc)
{
    return ioc->name ? ioc->name : ioc->klass->type_name;
}

bool qio_channel_has_feature(QIOChannel *ioc, QIOChannelFeature feature)
{
    return ioc->features & (1u << feature);
}

void qio_channel_set_feature(QIOChannel *ioc, QIOChannelFeature feature)
{
    ioc->features |= 1u << feature;
}

ssize_t qio_channel_readv_full(QIOChannel *ioc, const struct iovec *iov,
                               size_t niov, int **fds, size_t *nfds,
                               int flags, Error **errp)
{
    if (fds || nfds) {
        g_assert(fds && nfds);
        *fds = NULL;
        *nfds = 0;
        if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_FD_PASS)) {
            error_setg(errp,
                       "Channel does not support file descriptor passing");
            return -1;
        }
    }
    return ioc->klass->io_readv(ioc, iov, niov, fds, nfds, flags, errp);
}

ssize_t qio_channel_writev_full(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds,
                                int flags, Error **errp)
{
    if (nfds && !qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_FD_PASS)) {
        error_setg(errp, "Channel does not support file descriptor passing");
        return -1;
    }
    if ((flags & QIO_CHANNEL_WRITE_FLAG_ZERO_COPY) &&
        !qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_WRITE_ZERO_COPY)) {
        error_setg(errp, "Channel does not support zero copy writes");
        return -1;
    }
    return ioc->klass->io_writev(ioc, iov, niov, nfds ? fds : NULL, nfds,
                                 flags, errp);
}

int qio_channel_flush(QIOChannel *ioc, Error **errp)
{
    if (!ioc->klass->io_flush ||
        !qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_WRITE_ZERO_COPY)) {
        return 0;
    }
    return ioc->klass->io_flush(ioc, errp);
}

ssize_t qio_channel_readv(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp)
{
    return qio_channel_readv_full(ioc, iov, niov, NULL, NULL, 0, errp);
}

ssize_t qio_channel_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp)
{
    return qio_channel_writev_full(ioc, iov, niov, NULL, 0, 0, errp);
}

ssize_t qio_channel_read(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = buflen };

    return qio_channel_readv_full(ioc, &iov, 1, NULL, NULL, 0, errp);
}

ssize_t qio_channel_write(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp)
{
    struct iovec iov = { .iov_base = (char *)buf, .iov_len = buflen };

    return qio_channel_writev_full(ioc, &iov, 1, NULL, 0, 0, errp);
}

/* Advance a private iovec array past @bytes; returns the new start. */
static struct iovec *iov_skip(struct iovec *iov, size_t *niov, size_t bytes)
{
    while (*niov && bytes >= iov->iov_len) {
        bytes -= iov->iov_len;
        iov++;
        (*niov)--;
    }
    if (*niov) {
        iov->iov_base = (char *)iov->iov_base + bytes;
        iov->iov_len -= bytes;
    } else {
        g_assert(bytes == 0);
    }
    return iov;
}

/* Drop leading empty entries so that "nothing left" means niov == 0. */
static struct iovec *iov_trim(struct iovec *iov, size_t *niov)
{
    while (*niov && iov->iov_len == 0) {
        iov++;
        (*niov)--;
    }
    return iov;
}

static void fds_append(int **fds, size_t *nfds, int *more, size_t nmore)
{
    if (!nmore) {
        g_free(more);
        return;
    }
    if (!*fds) {
        *fds = more;
        *nfds = nmore;
        return;
    }
    *fds = g_renew(int, *fds, *nfds + nmore);
    memcpy(*fds + *nfds, more, nmore * sizeof(int));
    *nfds += nmore;
    g_free(more);
}

static void fds_close_free(int **fds, size_t *nfds)
{
    size_t i;

    for (i = 0; i < *nfds; i++) {
        close((*fds)[i]);
    }
    g_free(*fds);
    *fds = NULL;
    *nfds = 0;
}

int qio_channel_readv_full_all_eof(QIOChannel *ioc, const struct iovec *iov,
                                   size_t niov, int **fds, size_t *nfds,
                                   Error **errp)
{
    struct iovec *copy = g_memdup2(iov, niov * sizeof(*iov));
    struct iovec *cur = copy;
    size_t left = niov;
    bool partial = false;
    int ret = 1;

    if (fds) {
        *fds = NULL;
        *nfds = 0;
    }
    cur = iov_trim(cur, &left);
    while (left > 0) {
        int *rfds = NULL;
        size_t nrfds = 0;
        ssize_t len;

        len = qio_channel_readv_full(ioc, cur, left,
                                     fds ? &rfds : NULL,
                                     fds ? &nrfds : NULL, 0, errp);
        if (len == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(ioc, G_IO_IN);
            continue;
        }
        if (len < 0) {
            ret = -1;
            break;
        }
        if (fds) {
            fds_append(fds, nfds, rfds, nrfds);
        }
        if (len == 0) {
            if (partial || (fds && *nfds)) {
                error_setg(errp, "Unexpected end-of-file before all data "
                           "were read");
                ret = -1;
            } else {
                ret = 0;
            }
            break;
        }
        partial = true;
        cur = iov_skip(cur, &left, len);
        cur = iov_trim(cur, &left);
    }
    if (ret != 1 && fds) {
        fds_close_free(fds, nfds);
    }
    g_free(copy);
    return ret;
}

int qio_channel_readv_all_eof(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, Error **errp)
{
    return qio_channel_readv_full_all_eof(ioc, iov, niov, NULL, NULL, errp);
}

int qio_channel_readv_all(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp)
{
    int ret = qio_channel_readv_all_eof(ioc, iov, niov, errp);

    if (ret == 0) {
        error_setg(errp, "Unexpected end-of-file before all data were read");
        return -1;
    }
    return ret == 1 ? 0 : -1;
}

int qio_channel_read_all_eof(QIOChannel *ioc, char *buf, size_t buflen,
                             Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = buflen };

    return qio_channel_readv_all_eof(ioc, &iov, 1, errp);
}

int qio_channel_read_all(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp)
{
    struct iovec iov = { .iov_base = buf, .iov_len = buflen };

    return qio_channel_readv_all(ioc, &iov, 1, errp);
}

int qio_channel_writev_full_all(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds,
                                int flags, Error **errp)
{
    struct iovec *copy = g_memdup2(iov, niov * sizeof(*iov));
    struct iovec *cur = copy;
    size_t left = niov;
    int ret = 0;

    cur = iov_trim(cur, &left);
    if (left == 0 && nfds) {
        error_setg(errp, "Cannot send file descriptors without data");
        g_free(copy);
        return -1;
    }
    while (left > 0) {
        ssize_t len;

        len = qio_channel_writev_full(ioc, cur, left, fds, nfds, flags, errp);
        if (len == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(ioc, G_IO_OUT);
            continue;
        }
        if (len < 0) {
            ret = -1;
            break;
        }
        /* The descriptors went with the first byte. */
        fds = NULL;
        nfds = 0;
        cur = iov_skip(cur, &left, len);
        cur = iov_trim(cur, &left);
    }
    g_free(copy);
    return ret;
}

int qio_channel_writev_all(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp)
{
    return qio_channel_writev_full_all(ioc, iov, niov, NULL, 0, 0, errp);
}

int qio_channel_write_all(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp)
{
    struct iovec iov = { .iov_base = (char *)buf, .iov_len = buflen };

    return qio_channel_writev_all(ioc, &iov, 1, errp);
}

ssize_t qio_channel_preadv(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, off_t offset, Error **errp)
{
    if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SEEKABLE) ||
        !ioc->klass->io_preadv) {
        error_setg(errp, "Channel does not support preadv");
        return -1;
    }
    return ioc->klass->io_preadv(ioc, iov, niov, offset, errp);
}

ssize_t qio_channel_pwritev(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, off_t offset, Error **errp)
{
    if (!qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SEEKABLE) ||
        !ioc->klass->io_pwritev) {
        error_setg(errp, "Channel does not support pwritev");
        return -1;
    }
    return ioc->klass->io_pwritev(ioc, iov, niov, offset, errp);
}

off_t qio_channel_io_seek(QIOChannel *ioc, off_t offset, int whence,
                          Error **errp)
{
    if (!ioc->klass->io_seek) {
        error_setg(errp, "Channel does not support seeking");
        return -1;
    }
    return ioc->klass->io_seek(ioc, offset, whence, errp);
}

int qio_channel_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                         Error **errp)
{
    int ret;

    trace_qio_channel_shutdown(ioc, (int)how);
    if (!ioc->klass->io_shutdown ||
        !qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        error_setg(errp, "Channel does not support shutdown");
        return -1;
    }
    ret = ioc->klass->io_shutdown(ioc, how, errp);
    if (ret == 0) {
        qatomic_or(&ioc->shutdown, (int)how);
    }
    return ret;
}

bool qio_channel_is_shutdown(QIOChannel *ioc)
{
    return qatomic_read(&ioc->shutdown) != 0 || qatomic_read(&ioc->closed);
}

int qio_channel_close(QIOChannel *ioc, Error **errp)
{
    int ret;

    trace_qio_channel_close(ioc);
    if (qatomic_read(&ioc->closed)) {
        return 0;
    }
    ret = ioc->klass->io_close(ioc, errp);
    qatomic_set(&ioc->closed, true);
    return ret;
}

int qio_channel_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    if (!ioc->klass->io_set_blocking) {
        /* Channels without the notion are always ready, hence fine. */
        return 0;
    }
    return ioc->klass->io_set_blocking(ioc, enabled, errp);
}

void qio_channel_set_cork(QIOChannel *ioc, bool enabled)
{
    if (ioc->klass->io_set_cork) {
        ioc->klass->io_set_cork(ioc, enabled);
    }
}

void qio_channel_set_delay(QIOChannel *ioc, bool enabled)
{
    if (ioc->klass->io_set_delay) {
        ioc->klass->io_set_delay(ioc, enabled);
    }
}

int qio_channel_get_fd(QIOChannel *ioc, GIOCondition condition)
{
    if (!ioc->klass->io_get_fd) {
        return -1;
    }
    return ioc->klass->io_get_fd(ioc, condition);
}

GSource *qio_channel_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    return ioc->klass->io_create_watch(ioc, condition);
}

GSource *qio_channel_add_watch_source(QIOChannel *ioc, GIOCondition condition,
                                      QIOChannelFunc func, gpointer user_data,
                                      GDestroyNotify notify,
                                      GMainContext *context)
{
    GSource *src = qio_channel_create_watch(ioc, condition);

    g_source_set_callback(src, (GSourceFunc)(void (*)(void))func,
                          user_data, notify);
    g_source_attach(src, context);
    return src;
}

guint qio_channel_add_watch(QIOChannel *ioc, GIOCondition condition,
                            QIOChannelFunc func, gpointer user_data,
                            GDestroyNotify notify)
{
    GSource *src;
    guint tag;

    src = qio_channel_add_watch_source(ioc, condition, func, user_data,
                                       notify, NULL);
    tag = g_source_get_id(src);
    g_source_unref(src);
    return tag;
}

static gboolean qio_channel_wait_done(QIOChannel *ioc, GIOCondition cond,
                                      gpointer opaque)
{
    *(bool *)opaque = true;
    return G_SOURCE_REMOVE;
}

void qio_channel_wait(QIOChannel *ioc, GIOCondition condition)
{
    int fd = qio_channel_get_fd(ioc, condition);
    GMainContext *ctx;
    GSource *src;
    bool done = false;

    if (qatomic_read(&ioc->closed)) {
        /* Nothing to wait for: the next operation fails at once. */
        return;
    }
    if (ioc->klass->io_get_fd) {
        struct pollfd pfd;

        if (fd < 0) {
            return;
        }
        pfd = (struct pollfd) {
            .fd = fd,
            .events = (condition & G_IO_IN ? POLLIN : 0) |
                      (condition & G_IO_OUT ? POLLOUT : 0) |
                      (condition & G_IO_PRI ? POLLPRI : 0),
        };
        while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
            /* retry */
        }
        return;
    }

    ctx = g_main_context_new();
    src = qio_channel_create_watch(ioc, condition);
    g_source_set_callback(src,
                          (GSourceFunc)(void (*)(void))qio_channel_wait_done,
                          &done, NULL);
    g_source_attach(src, ctx);
    while (!done) {
        g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(src);
    g_source_unref(src);
    g_main_context_unref(ctx);
}
