/*
 * QIOChannelSocket: stream sockets (TCP, unix, vsock), with fd passing on
 * unix sockets.
 */
#include "qemu/osdep.h"
#include "io/channel-socket.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "trace.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/un.h>
#ifdef __linux__
#include <linux/errqueue.h>
#endif

/* The most descriptors accepted in one message. */
#define SOCKET_MAX_FDS 16

/* MSG_ZEROCOPY for QIO_CHANNEL_WRITE_FLAG_ZERO_COPY (0 off Linux). */
static int qio_channel_socket_zc_flag(int flags);

static QIOChannelSocket *qio_channel_socket_alloc(void)
{
    QIOChannelSocket *sioc = g_new0(QIOChannelSocket, 1);

    qio_channel_init(QIO_CHANNEL(sioc), &qio_channel_socket_class);
    sioc->fd = -1;
    qio_channel_set_feature(QIO_CHANNEL(sioc), QIO_CHANNEL_FEATURE_SHUTDOWN);
    return sioc;
}

QIOChannelSocket *qio_channel_socket_new(void)
{
    QIOChannelSocket *sioc = qio_channel_socket_alloc();

    trace_qio_channel_socket_new(sioc);
    return sioc;
}

/* Adopt @fd: query its addresses and derive the channel features. */
static int qio_channel_socket_set_fd(QIOChannelSocket *sioc, int fd,
                                     Error **errp)
{
    int val = 0;
    socklen_t len = sizeof(val);

    sioc->localAddrLen = sizeof(sioc->localAddr);
    if (getsockname(fd, (struct sockaddr *)&sioc->localAddr,
                    &sioc->localAddrLen) < 0) {
        error_setg_errno(errp, errno, "Unable to query local socket address");
        return -1;
    }
    sioc->remoteAddrLen = sizeof(sioc->remoteAddr);
    if (getpeername(fd, (struct sockaddr *)&sioc->remoteAddr,
                    &sioc->remoteAddrLen) < 0) {
        if (errno != ENOTCONN) {
            error_setg_errno(errp, errno,
                             "Unable to query remote socket address");
            return -1;
        }
        sioc->remoteAddrLen = 0;
    }
    sioc->fd = fd;
    if (sioc->localAddr.ss_family == AF_UNIX) {
        qio_channel_set_feature(QIO_CHANNEL(sioc),
                                QIO_CHANNEL_FEATURE_FD_PASS);
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == 0 && val) {
        qio_channel_set_feature(QIO_CHANNEL(sioc), QIO_CHANNEL_FEATURE_LISTEN);
    }
    return 0;
}

QIOChannelSocket *qio_channel_socket_new_fd(int fd, Error **errp)
{
    QIOChannelSocket *sioc = qio_channel_socket_alloc();

    trace_qio_channel_socket_new_fd(sioc, fd);
    if (qio_channel_socket_set_fd(sioc, fd, errp) < 0) {
        /* The caller keeps @fd on failure. */
        qio_channel_unref(QIO_CHANNEL(sioc));
        return NULL;
    }
    return sioc;
}

int qio_channel_socket_connect_sync(QIOChannelSocket *ioc,
                                    SocketAddress *addr, Error **errp)
{
    int fd;

    trace_qio_channel_socket_connect_sync(ioc, addr->type);
    fd = socket_connect(addr, errp);
    if (fd < 0) {
        trace_qio_channel_socket_connect_fail(ioc);
        return -1;
    }
    trace_qio_channel_socket_connect_complete(ioc, fd);
    if (qio_channel_socket_set_fd(ioc, fd, errp) < 0) {
        close(fd);
        return -1;
    }
    return 0;
}

static void qio_channel_socket_connect_worker(QIOTask *task, gpointer opaque)
{
    QIOChannelSocket *ioc = QIO_CHANNEL_SOCKET(qio_task_get_source(task));
    SocketAddress *addr = opaque;
    Error *err = NULL;

    if (qio_channel_socket_connect_sync(ioc, addr, &err) < 0) {
        qio_task_set_error(task, err);
    }
}

static void qio_channel_socket_free_addr(gpointer opaque)
{
    qapi_free_SocketAddress(opaque);
}

void qio_channel_socket_connect_async(QIOChannelSocket *ioc,
                                      SocketAddress *addr,
                                      QIOTaskFunc callback, gpointer opaque,
                                      GDestroyNotify destroy)
{
    QIOTask *task = qio_task_new(QIO_CHANNEL(ioc), callback, opaque, destroy);

    trace_qio_channel_socket_connect_async(ioc, addr->type);
    qio_task_run_in_thread(task, qio_channel_socket_connect_worker,
                           socket_address_dup(addr),
                           qio_channel_socket_free_addr, NULL);
}

int qio_channel_socket_listen_sync(QIOChannelSocket *ioc, SocketAddress *addr,
                                   int num, Error **errp)
{
    int fd;

    trace_qio_channel_socket_listen_sync(ioc, addr->type, num);
    fd = socket_listen(addr, num, errp);
    if (fd < 0) {
        trace_qio_channel_socket_listen_fail(ioc);
        return -1;
    }
    trace_qio_channel_socket_listen_complete(ioc, fd);
    if (qio_channel_socket_set_fd(ioc, fd, errp) < 0) {
        close(fd);
        return -1;
    }
    qio_channel_set_feature(QIO_CHANNEL(ioc), QIO_CHANNEL_FEATURE_LISTEN);
    return 0;
}

QIOChannelSocket *qio_channel_socket_accept(QIOChannelSocket *ioc,
                                            Error **errp)
{
    QIOChannelSocket *cioc;
    int fd;

    trace_qio_channel_socket_accept(ioc);
    do {
        fd = accept4(ioc->fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Unable to accept connection");
        trace_qio_channel_socket_accept_fail(ioc);
        return NULL;
    }
    cioc = qio_channel_socket_alloc();
    if (qio_channel_socket_set_fd(cioc, fd, errp) < 0) {
        close(fd);
        qio_channel_unref(QIO_CHANNEL(cioc));
        return NULL;
    }
    trace_qio_channel_socket_accept_complete(ioc, cioc, fd);
    return cioc;
}

SocketAddress *qio_channel_socket_get_local_address(QIOChannelSocket *ioc,
                                                    Error **errp)
{
    if (ioc->fd < 0) {
        error_setg(errp, "Socket is not connected");
        return NULL;
    }
    return socket_local_address(ioc->fd, errp);
}

SocketAddress *qio_channel_socket_get_remote_address(QIOChannelSocket *ioc,
                                                     Error **errp)
{
    if (ioc->fd < 0 || ioc->remoteAddrLen == 0) {
        error_setg(errp, "Socket is not connected");
        return NULL;
    }
    return socket_remote_address(ioc->fd, errp);
}

static ssize_t qio_channel_socket_readv(QIOChannel *ioc,
                                        const struct iovec *iov,
                                        size_t niov, int **fds, size_t *nfds,
                                        int flags, Error **errp)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * SOCKET_MAX_FDS)];
    } control;
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = niov,
    };
    int sflags = MSG_CMSG_CLOEXEC;
    ssize_t ret;

    if (sioc->fd < 0) {
        error_setg(errp, "Socket is not connected");
        return -1;
    }
    if (fds) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
    }
    if (flags & QIO_CHANNEL_READ_FLAG_MSG_PEEK) {
        sflags |= MSG_PEEK;
    }
    do {
        ret = recvmsg(sioc->fd, &msg, sflags);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to read from socket");
        return -1;
    }
    if (fds) {
        struct cmsghdr *cmsg;

        for (cmsg = CMSG_FIRSTHDR(&msg); cmsg;
             cmsg = CMSG_NXTHDR(&msg, cmsg)) {
            size_t n, i;
            int *data;

            if (cmsg->cmsg_level != SOL_SOCKET ||
                cmsg->cmsg_type != SCM_RIGHTS ||
                cmsg->cmsg_len < CMSG_LEN(0)) {
                continue;
            }
            n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            if (!n) {
                continue;
            }
            data = (int *)CMSG_DATA(cmsg);
            *fds = g_renew(int, *fds, *nfds + n);
            for (i = 0; i < n; i++) {
                memcpy(&(*fds)[*nfds + i], &data[i], sizeof(int));
            }
            *nfds += n;
        }
        if (*nfds) {
            trace_qio_channel_socket_recv_fds(sioc, (int)*nfds);
        }
    }
    return ret;
}

static ssize_t qio_channel_socket_writev(QIOChannel *ioc,
                                         const struct iovec *iov,
                                         size_t niov, int *fds, size_t nfds,
                                         int flags, Error **errp)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * SOCKET_MAX_FDS)];
    } control;
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = niov,
    };
    ssize_t ret;

    if (sioc->fd < 0) {
        error_setg(errp, "Socket is not connected");
        return -1;
    }
    if (nfds) {
        struct cmsghdr *cmsg;

        if (nfds > SOCKET_MAX_FDS) {
            error_setg(errp, "Only %d file descriptors can be sent at once",
                       SOCKET_MAX_FDS);
            return -1;
        }
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }
    do {
        ret = sendmsg(sioc->fd, &msg,
                      MSG_NOSIGNAL | qio_channel_socket_zc_flag(flags));
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        if (errno == ENOBUFS && (flags & QIO_CHANNEL_WRITE_FLAG_ZERO_COPY)) {
            struct rlimit rl = { 0 };

            (void)getrlimit(RLIMIT_MEMLOCK, &rl);
            error_setg_errno(errp, errno, "MSG_ZEROCOPY: the process cannot "
                             "lock enough memory for the pages in flight "
                             "(RLIMIT_MEMLOCK is %llu KiB: raise it, e.g. "
                             "ulimit -l, or turn zero-copy-send off)",
                             rl.rlim_cur == RLIM_INFINITY ? 0ULL :
                             (unsigned long long)rl.rlim_cur / 1024);
            return -1;
        }
        error_setg_errno(errp, errno, "Unable to write to socket");
        return -1;
    }
    if (flags & QIO_CHANNEL_WRITE_FLAG_ZERO_COPY) {
        sioc->zero_copy_queued++;
    }
    return ret;
}

#ifdef __linux__
static int qio_channel_socket_zc_flag(int flags)
{
    return flags & QIO_CHANNEL_WRITE_FLAG_ZERO_COPY ? MSG_ZEROCOPY : 0;
}

bool qio_channel_socket_set_zero_copy(QIOChannelSocket *sioc, Error **errp)
{
    int v = 1;

    if (sioc->localAddr.ss_family != AF_INET &&
        sioc->localAddr.ss_family != AF_INET6) {
        error_setg(errp, "zero copy needs a TCP socket (MSG_ZEROCOPY)");
        return false;
    }
    if (setsockopt(sioc->fd, SOL_SOCKET, SO_ZEROCOPY, &v, sizeof(v)) < 0) {
        error_setg_errno(errp, errno, "setsockopt(SO_ZEROCOPY) failed: the "
                         "kernel has no MSG_ZEROCOPY for this socket");
        return false;
    }
    qio_channel_set_feature(QIO_CHANNEL(sioc),
                            QIO_CHANNEL_FEATURE_WRITE_ZERO_COPY);
    trace_qio_channel_socket_zero_copy(sioc, sioc->fd);
    return true;
}

/*
 * Read the completions of MSG_ZEROCOPY sends from the error queue until
 * every send so far is done.  Each completion covers a range of send
 * numbers [ee_info, ee_data]; SO_EE_CODE_ZEROCOPY_COPIED says the kernel
 * fell back to copying them.
 */
static int qio_channel_socket_flush(QIOChannel *ioc, Error **errp)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    uint64_t start = sioc->zero_copy_sent;

    sioc->zero_copy_sent_uncopied = false;
    while (sioc->zero_copy_sent < sioc->zero_copy_queued) {
        char control[CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
        struct msghdr msg = {
            .msg_control = control,
            .msg_controllen = sizeof(control),
        };
        struct cmsghdr *cm;
        struct sock_extended_err *ee;
        ssize_t r = recvmsg(sioc->fd, &msg, MSG_ERRQUEUE);

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = { .fd = sioc->fd, .events = 0 };

                /* POLLERR is always reported: the queue got an entry */
                (void)poll(&pfd, 1, 1000);
                continue;
            }
            error_setg_errno(errp, errno, "zero copy: reading the socket's "
                             "error queue failed");
            return -1;
        }
        cm = CMSG_FIRSTHDR(&msg);
        if (!cm || !((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
                     (cm->cmsg_level == SOL_IPV6 &&
                      cm->cmsg_type == IPV6_RECVERR))) {
            error_setg(errp, "zero copy: unexpected message in the socket's "
                       "error queue");
            return -1;
        }
        ee = (struct sock_extended_err *)CMSG_DATA(cm);
        if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY) {
            error_setg(errp, "zero copy: socket error %u (origin %u) in the "
                       "error queue", ee->ee_errno, ee->ee_origin);
            return -1;
        }
        if (ee->ee_errno) {
            error_setg_errno(errp, ee->ee_errno, "zero copy: a send failed");
            return -1;
        }
        /* the range [ee_info, ee_data] of 32-bit send numbers completed */
        sioc->zero_copy_sent += (uint32_t)(ee->ee_data - ee->ee_info) + 1;
        if (!(ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)) {
            sioc->zero_copy_sent_uncopied = true;
        }
    }
    trace_qio_channel_socket_flush(sioc, sioc->zero_copy_sent - start,
                                   sioc->zero_copy_sent_uncopied);
    if (sioc->zero_copy_sent == start) {
        return 0;               /* nothing was in flight */
    }
    return sioc->zero_copy_sent_uncopied ? 0 : 1;
}
#else
static int qio_channel_socket_zc_flag(int flags)
{
    return 0;
}

bool qio_channel_socket_set_zero_copy(QIOChannelSocket *sioc, Error **errp)
{
    error_setg(errp, "zero copy (MSG_ZEROCOPY) exists on Linux only");
    return false;
}

static int qio_channel_socket_flush(QIOChannel *ioc, Error **errp)
{
    return 0;
}
#endif

static int qio_channel_socket_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    int ret = 0;

    trace_qio_channel_socket_close(sioc, sioc->fd);
    if (sioc->fd < 0) {
        return 0;
    }
    /* A listening unix socket leaves its path behind: remove it. */
    if (qio_channel_has_feature(ioc, QIO_CHANNEL_FEATURE_LISTEN) &&
        sioc->localAddr.ss_family == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&sioc->localAddr;

        if (sioc->localAddrLen > offsetof(struct sockaddr_un, sun_path) &&
            un->sun_path[0] != '\0') {
            unlink(un->sun_path);
        }
    }
    if (close(sioc->fd) < 0) {
        error_setg_errno(errp, errno, "Unable to close socket");
        ret = -1;
    }
    sioc->fd = -1;
    return ret;
}

static int qio_channel_socket_shutdown(QIOChannel *ioc,
                                       QIOChannelShutdown how, Error **errp)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    int sockhow;

    switch (how) {
    case QIO_CHANNEL_SHUTDOWN_READ:
        sockhow = SHUT_RD;
        break;
    case QIO_CHANNEL_SHUTDOWN_WRITE:
        sockhow = SHUT_WR;
        break;
    default:
        sockhow = SHUT_RDWR;
        break;
    }
    if (sioc->fd < 0) {
        error_setg(errp, "Socket is not connected");
        return -1;
    }
    if (shutdown(sioc->fd, sockhow) < 0) {
        error_setg_errno(errp, errno, "Unable to shutdown socket");
        return -1;
    }
    return 0;
}

static int qio_channel_socket_set_blocking(QIOChannel *ioc, bool enabled,
                                           Error **errp)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    int fl = fcntl(sioc->fd, F_GETFL);

    if (fl < 0) {
        error_setg_errno(errp, errno, "Unable to query socket flags");
        return -1;
    }
    fl = enabled ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
    if (fcntl(sioc->fd, F_SETFL, fl) < 0) {
        error_setg_errno(errp, errno, "Unable to set socket flags");
        return -1;
    }
    return 0;
}

static void qio_channel_socket_set_cork(QIOChannel *ioc, bool enabled)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    int v = enabled;

    if (sioc->localAddr.ss_family == AF_INET ||
        sioc->localAddr.ss_family == AF_INET6) {
        /* Only a hint: ignore failures. */
        (void)setsockopt(sioc->fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
    }
}

static void qio_channel_socket_set_delay(QIOChannel *ioc, bool enabled)
{
    QIOChannelSocket *sioc = (QIOChannelSocket *)ioc;
    int v = !enabled;

    if (sioc->localAddr.ss_family == AF_INET ||
        sioc->localAddr.ss_family == AF_INET6) {
        (void)setsockopt(sioc->fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
    }
}

static GSource *qio_channel_socket_create_watch(QIOChannel *ioc,
                                                GIOCondition condition)
{
    return qio_channel_create_fd_watch(ioc, ((QIOChannelSocket *)ioc)->fd,
                                       condition);
}

static int qio_channel_socket_get_fd(QIOChannel *ioc, GIOCondition condition)
{
    return ((QIOChannelSocket *)ioc)->fd;
}

const QIOChannelClass qio_channel_socket_class = {
    .type_name = TYPE_QIO_CHANNEL_SOCKET,
    .io_readv = qio_channel_socket_readv,
    .io_writev = qio_channel_socket_writev,
    .io_close = qio_channel_socket_close,
    .io_shutdown = qio_channel_socket_shutdown,
    .io_set_blocking = qio_channel_socket_set_blocking,
    .io_create_watch = qio_channel_socket_create_watch,
    .io_set_cork = qio_channel_socket_set_cork,
    .io_set_delay = qio_channel_socket_set_delay,
    .io_get_fd = qio_channel_socket_get_fd,
    .io_flush = qio_channel_socket_flush,
};
