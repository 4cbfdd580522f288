/*
 * QIOChannel: a refcounted, bidirectional byte channel.
 *
 * Every transport (socket, file, command, buffer, null, TLS, ...) is a
 * struct whose first member is a QIOChannel, plus a const QIOChannelClass
 * table of operations.  The generic API below dispatches through that
 * table.  Reads and writes may be blocking or non-blocking; in
 * non-blocking mode an operation that cannot make progress returns
 * QIO_CHANNEL_ERR_BLOCK without setting an error.
 *
 * Reference counting is atomic, so a channel may be shared between
 * threads (e.g. the migration thread writes while the main thread holds a
 * watch).  The channel itself does not serialise concurrent readers or
 * concurrent writers: callers that write from several threads need their
 * own lock.
 */
#ifndef IO_CHANNEL_H
#define IO_CHANNEL_H

#include "qemu/osdep.h"

/* QIOChannel is typedef'd in qemu/osdep.h. */
typedef struct QIOChannelClass QIOChannelClass;

/* Returned by read/write calls in non-blocking mode when they would block. */
#define QIO_CHANNEL_ERR_BLOCK -2

/* Flags for qio_channel_readv_full(). */
#define QIO_CHANNEL_READ_FLAG_MSG_PEEK   0x1

/* Flags for qio_channel_writev_full(). */
/*
 * Zero copy (Linux MSG_ZEROCOPY; channels with WRITE_ZERO_COPY): the kernel
 * sends from the caller's pages after the call returns, so they must stay
 * mapped and their later contents may be what goes on the wire; until
 * qio_channel_flush() returned, the caller must treat them as in flight.
 */
#define QIO_CHANNEL_WRITE_FLAG_ZERO_COPY 0x1

typedef enum QIOChannelFeature {
    QIO_CHANNEL_FEATURE_FD_PASS,          /* SCM_RIGHTS (unix sockets) */
    QIO_CHANNEL_FEATURE_SHUTDOWN,         /* qio_channel_shutdown() works */
    QIO_CHANNEL_FEATURE_LISTEN,           /* a listening socket */
    QIO_CHANNEL_FEATURE_SEEKABLE,         /* preadv/pwritev/seek work */
    QIO_CHANNEL_FEATURE_WRITE_ZERO_COPY,  /* WRITE_FLAG_ZERO_COPY works */
} QIOChannelFeature;

typedef enum QIOChannelShutdown {
    QIO_CHANNEL_SHUTDOWN_READ = 1,
    QIO_CHANNEL_SHUTDOWN_WRITE = 2,
    QIO_CHANNEL_SHUTDOWN_BOTH = 3,
} QIOChannelShutdown;

typedef gboolean (*QIOChannelFunc)(QIOChannel *ioc, GIOCondition condition,
                                   gpointer data);

/*
 * The operations of one channel type.  Mandatory: io_readv, io_writev,
 * io_close, io_create_watch.  The others may be NULL (the generic code
 * then fails with an error, or does nothing for io_set_cork).
 */
struct QIOChannelClass {
    const char *type_name;              /* "qio-channel-socket", ... */
    ssize_t (*io_readv)(QIOChannel *ioc, const struct iovec *iov,
                        size_t niov, int **fds, size_t *nfds, int flags,
                        Error **errp);
    ssize_t (*io_writev)(QIOChannel *ioc, const struct iovec *iov,
                         size_t niov, int *fds, size_t nfds, int flags,
                         Error **errp);
    int (*io_close)(QIOChannel *ioc, Error **errp);
    int (*io_shutdown)(QIOChannel *ioc, QIOChannelShutdown how,
                       Error **errp);
    int (*io_set_blocking)(QIOChannel *ioc, bool enabled, Error **errp);
    GSource *(*io_create_watch)(QIOChannel *ioc, GIOCondition condition);
    off_t (*io_seek)(QIOChannel *ioc, off_t offset, int whence,
                     Error **errp);
    ssize_t (*io_preadv)(QIOChannel *ioc, const struct iovec *iov,
                         size_t niov, off_t offset, Error **errp);
    ssize_t (*io_pwritev)(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, off_t offset, Error **errp);
    void (*io_set_cork)(QIOChannel *ioc, bool enabled);
    void (*io_set_delay)(QIOChannel *ioc, bool enabled);
    /*
     * Wait until every zero-copy write is done with the caller's pages:
     * 0 if some went without a copy, 1 if the kernel copied all of them
     * (loopback always does), -1 with errp.  Optional.
     */
    int (*io_flush)(QIOChannel *ioc, Error **errp);
    /* The fd to poll() for @condition (G_IO_IN or G_IO_OUT), or -1. */
    int (*io_get_fd)(QIOChannel *ioc, GIOCondition condition);
    /*
     * Release the type's remaining resources (optional).  Called by the
     * last unref after io_close (which is called first if the channel was
     * not closed yet); the generic code then frees the struct.
     */
    void (*finalize)(QIOChannel *ioc);
};

struct QIOChannel {
    const QIOChannelClass *klass;
    int refcount;            /* atomic */
    unsigned int features;   /* bitmask of 1 << QIOChannelFeature */
    char *name;
    /* QIOChannelShutdown bits already applied; read with qatomic_read. */
    int shutdown;
    bool closed;
};

/* Upcast: every channel type has a QIOChannel as its first member. */
#define QIO_CHANNEL(obj) ((QIOChannel *)(obj))

/*
 * Initialise the base of a newly allocated channel (refcount 1).
 * For implementers of channel types.
 */
void qio_channel_init(QIOChannel *ioc, const QIOChannelClass *klass);
/* True if @ioc is of the type described by @klass. */
bool qio_channel_is_type(QIOChannel *ioc, const QIOChannelClass *klass);
/* Checked downcast helper: aborts if @obj is not of type @klass. */
void *qio_channel_check_type(void *obj, const QIOChannelClass *klass);
const char *qio_channel_type_name(QIOChannel *ioc);

QIOChannel *qio_channel_ref(QIOChannel *ioc);
/* Drops a reference; the last one closes (if needed) and frees. NULL ok. */
void qio_channel_unref(QIOChannel *ioc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QIOChannel, qio_channel_unref)

void qio_channel_set_name(QIOChannel *ioc, const char *name);
const char *qio_channel_get_name(QIOChannel *ioc);

bool qio_channel_has_feature(QIOChannel *ioc, QIOChannelFeature feature);
void qio_channel_set_feature(QIOChannel *ioc, QIOChannelFeature feature);

/*
 * Read into @iov.  Returns the number of bytes read (0 = end of file),
 * QIO_CHANNEL_ERR_BLOCK in non-blocking mode if nothing is available, or
 * -1 with @errp set.  If @fds is non-NULL, file descriptors received with
 * the data are returned in a newly allocated array *@fds of *@nfds
 * entries (the caller owns and must close them); *@fds = NULL, *@nfds = 0
 * if none.  Passing @fds to a channel without FD_PASS is an error.
 */
ssize_t qio_channel_readv_full(QIOChannel *ioc, const struct iovec *iov,
                               size_t niov, int **fds, size_t *nfds,
                               int flags, Error **errp);
/*
 * Write from @iov, possibly partially.  @fds (@nfds entries) are sent
 * along with the first byte (channels with FD_PASS only).  Returns the
 * number of bytes written, QIO_CHANNEL_ERR_BLOCK, or -1 with @errp set.
 * Never raises SIGPIPE.
 */
ssize_t qio_channel_writev_full(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds,
                                int flags, Error **errp);
ssize_t qio_channel_readv(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp);
ssize_t qio_channel_writev(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp);
ssize_t qio_channel_read(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp);
ssize_t qio_channel_write(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp);

/*
 * Read until @iov is full, waiting (qio_channel_wait) when the channel is
 * non-blocking.  The *_eof variants return 1 when everything was read, 0
 * on end of file before the first byte, -1 on error (including end of
 * file after a partial read, reported as such).  The others return 0 or
 * -1 (end of file at any point is an error).
 */
int qio_channel_readv_all_eof(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, Error **errp);
int qio_channel_readv_all(QIOChannel *ioc, const struct iovec *iov,
                          size_t niov, Error **errp);
int qio_channel_read_all_eof(QIOChannel *ioc, char *buf, size_t buflen,
                             Error **errp);
int qio_channel_read_all(QIOChannel *ioc, char *buf, size_t buflen,
                         Error **errp);
/*
 * As qio_channel_readv_all_eof, also collecting fds received with the data
 * (see qio_channel_readv_full; fds from every chunk are accumulated).
 */
int qio_channel_readv_full_all_eof(QIOChannel *ioc, const struct iovec *iov,
                                   size_t niov, int **fds, size_t *nfds,
                                   Error **errp);

/*
 * After zero-copy writes (QIO_CHANNEL_WRITE_FLAG_ZERO_COPY): wait until the
 * kernel is done with every page written so far.  0: done, and at least
 * one went without a copy; 1: done, and the kernel copied all of them
 * (nothing was zero copy: on loopback it always copies); -1 with @errp.
 * 0 on channels without zero copy.
 */
int qio_channel_flush(QIOChannel *ioc, Error **errp);

/* Write all of @iov (waiting when non-blocking); 0 or -1. */
int qio_channel_writev_all(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, Error **errp);
int qio_channel_write_all(QIOChannel *ioc, const char *buf, size_t buflen,
                          Error **errp);
/* As qio_channel_writev_all; @fds go with the first chunk. */
int qio_channel_writev_full_all(QIOChannel *ioc, const struct iovec *iov,
                                size_t niov, int *fds, size_t nfds,
                                int flags, Error **errp);

/*
 * Positioned I/O for seekable channels (files); an error on others.
 * Returns bytes transferred (may be short) or -1.
 */
ssize_t qio_channel_preadv(QIOChannel *ioc, const struct iovec *iov,
                           size_t niov, off_t offset, Error **errp);
ssize_t qio_channel_pwritev(QIOChannel *ioc, const struct iovec *iov,
                            size_t niov, off_t offset, Error **errp);
/* Like lseek(); -1 with @errp set on error or if not seekable. */
off_t qio_channel_io_seek(QIOChannel *ioc, off_t offset, int whence,
                          Error **errp);

/*
 * Shut down one or both directions (channels with the SHUTDOWN feature).
 * A blocked reader then sees end of file.  Records the direction(s) in
 * ioc->shutdown, see qio_channel_is_shutdown().  0 or -1.
 */
int qio_channel_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                         Error **errp);
/* True once qio_channel_shutdown() or qio_channel_close() was called. */
bool qio_channel_is_shutdown(QIOChannel *ioc);
/* Close the underlying resource; idempotent.  0 or -1. */
int qio_channel_close(QIOChannel *ioc, Error **errp);
int qio_channel_set_blocking(QIOChannel *ioc, bool enabled, Error **errp);
/* TCP_CORK-like batching hint; no-op where unsupported. */
void qio_channel_set_cork(QIOChannel *ioc, bool enabled);
/* Nagle on (true) or off (false, TCP_NODELAY); no-op where unsupported. */
void qio_channel_set_delay(QIOChannel *ioc, bool enabled);

/*
 * The fd to poll for @condition (G_IO_IN: the read side, G_IO_OUT: the
 * write side), or -1 if the channel has none (buffer, null, ...).
 */
int qio_channel_get_fd(QIOChannel *ioc, GIOCondition condition);

/*
 * A GSource that fires when @condition holds; its callback has the
 * QIOChannelFunc signature.  Not attached to any context.
 */
GSource *qio_channel_create_watch(QIOChannel *ioc, GIOCondition condition);
/* Attach a watch to the default main context; returns its tag. */
guint qio_channel_add_watch(QIOChannel *ioc, GIOCondition condition,
                            QIOChannelFunc func, gpointer user_data,
                            GDestroyNotify notify);
/* Same on @context (NULL = default); returns the attached source (ref'd). */
GSource *qio_channel_add_watch_source(QIOChannel *ioc, GIOCondition condition,
                                      QIOChannelFunc func, gpointer user_data,
                                      GDestroyNotify notify,
                                      GMainContext *context);

/*
 * Block the calling thread until @condition holds on @ioc (poll() on its
 * fd; or a private main context running a watch for fd-less channels).
 * Returns at once if the channel is closed or has no fd for @condition.
 * Usable from any thread.
 */
void qio_channel_wait(QIOChannel *ioc, GIOCondition condition);

#endif
