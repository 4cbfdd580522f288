/*
 * QIOChannelSocket: a QIOChannel over a stream socket (TCP, unix, vsock).
 *
 * Writes use MSG_NOSIGNAL (never SIGPIPE); EINTR is retried; EAGAIN gives
 * QIO_CHANNEL_ERR_BLOCK.  Unix sockets support fd passing (SCM_RIGHTS).
 */
#ifndef IO_CHANNEL_SOCKET_H
#define IO_CHANNEL_SOCKET_H

#include "io/channel.h"
#include "io/task.h"
#include "qemu/sockets.h"
#include <sys/socket.h>

typedef struct QIOChannelSocket {
    QIOChannel parent;
    int fd;                              /* -1 until connected/listening */
    struct sockaddr_storage localAddr;
    socklen_t localAddrLen;
    struct sockaddr_storage remoteAddr;
    socklen_t remoteAddrLen;
    /*
     * Zero copy (qio_channel_socket_set_zero_copy), used by one writer
     * thread at a time: sendmsg calls with MSG_ZEROCOPY so far, and how
     * many of them the error queue reported as done.
     */
    uint64_t zero_copy_queued;
    uint64_t zero_copy_sent;
    bool zero_copy_sent_uncopied;   /* one completed without a copy */
} QIOChannelSocket;

extern const QIOChannelClass qio_channel_socket_class;

/*
 * Turn on SO_ZEROCOPY (Linux) on a connected TCP socket, and the
 * WRITE_ZERO_COPY feature with it.  False with @errp where the kernel or
 * the socket family has none (unix sockets do not).
 */
bool qio_channel_socket_set_zero_copy(QIOChannelSocket *sioc, Error **errp);

#define TYPE_QIO_CHANNEL_SOCKET "qio-channel-socket"
/* Checked downcast from a QIOChannel * (aborts on a different type). */
#define QIO_CHANNEL_SOCKET(obj) \
    ((QIOChannelSocket *)qio_channel_check_type((obj), \
                                                &qio_channel_socket_class))

QIOChannelSocket *qio_channel_socket_new(void);
/*
 * Wrap an existing socket @fd (connected or listening); the channel owns
 * it from now on.  NULL if @fd is not a socket.
 */
QIOChannelSocket *qio_channel_socket_new_fd(int fd, Error **errp);

/* Blocking connect of a fresh channel to @addr.  0 or -1. */
int qio_channel_socket_connect_sync(QIOChannelSocket *ioc,
                                    SocketAddress *addr, Error **errp);
/*
 * Connect in a worker thread; @callback runs in the default main context,
 * with the task's source being @ioc (see io/task.h).  @addr is copied.
 */
void qio_channel_socket_connect_async(QIOChannelSocket *ioc,
                                      SocketAddress *addr,
                                      QIOTaskFunc callback, gpointer opaque,
                                      GDestroyNotify destroy);
/* Bind and listen on @addr with backlog @num.  0 or -1. */
int qio_channel_socket_listen_sync(QIOChannelSocket *ioc, SocketAddress *addr,
                                   int num, Error **errp);
/*
 * Accept one client of a listening channel.  Blocks unless the listening
 * channel is non-blocking (then fails if no client is pending; use a
 * watch for G_IO_IN first).  The new channel is blocking.
 */
QIOChannelSocket *qio_channel_socket_accept(QIOChannelSocket *ioc,
                                            Error **errp);

SocketAddress *qio_channel_socket_get_local_address(QIOChannelSocket *ioc,
                                                    Error **errp);
SocketAddress *qio_channel_socket_get_remote_address(QIOChannelSocket *ioc,
                                                     Error **errp);

#endif
