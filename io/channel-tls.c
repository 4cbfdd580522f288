/*
 * QIOChannelTLS: TLS over another channel; see include/io/channel-tls.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "io/channel-tls.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "trace.h"

struct QIOChannelTLS {
    QIOChannel parent;
    /* ---- set once at creation */
    QIOChannel *master;               /* a reference */
    QCryptoTLSSession *session;
    /* ---- main thread (set_blocking), read by the writer */
    bool blocking;
    /*
     * The last master error, to name the cause when GnuTLS only says
     * "Error in the push/pull function": rd_err by the reading thread
     * (and the handshake), wr_err by the writing thread.
     */
    char *rd_err;
    char *wr_err;
    /*
     * ---- the reading thread: bytes a MSG_PEEK read decrypted, handed
     * out first by the next reads (a record cannot be put back)
     */
    uint8_t peek_buf[16];
    size_t peek_len;
    /*
     * ---- the reading thread (the handshake before it): ciphertext read
     * ahead from the master.  GnuTLS asks for a record's 5-byte header and
     * then its body, two reads per 16 KiB record; one large read serves
     * many records, and tells tls_readv when a whole record is already
     * here so it can go on without blocking.
     */
    char *ra_buf;                     /* TLS_READAHEAD bytes, or NULL */
    size_t ra_pos, ra_len;            /* unread: ra_buf[ra_pos, ra_len) */
};

/* Read-ahead size: enough for 16 full records per master read. */
#define TLS_READAHEAD (256 * 1024)
/* TLS record header: type (1), version (2), length (2, big endian). */
#define TLS_RECORD_HEADER 5

typedef struct TLSHandshakeData {
    QIOChannelTLS *ioc;
    QIOTask *task;
    GMainContext *context;
} TLSHandshakeData;

static void set_last_err(char **slot, Error *err)
{
    g_free(*slot);
    *slot = g_strdup(error_get_pretty(err));
    error_free(err);
}

static ssize_t tls_push(const struct iovec *iov, int niov, void *opaque)
{
    QIOChannelTLS *ioc = opaque;
    Error *err = NULL;
    ssize_t ret = qio_channel_writev(ioc->master, iov, niov, &err);

    if (ret == QIO_CHANNEL_ERR_BLOCK) {
        errno = EAGAIN;
        return -1;
    }
    if (ret < 0) {
        set_last_err(&ioc->wr_err, err);
        errno = EIO;
        return -1;
    }
    return ret;
}

static ssize_t tls_pull(void *buf, size_t len, void *opaque)
{
    QIOChannelTLS *ioc = opaque;
    Error *err = NULL;
    ssize_t ret;

    if (ioc->ra_pos < ioc->ra_len) {
        size_t n = MIN(len, ioc->ra_len - ioc->ra_pos);

        memcpy(buf, ioc->ra_buf + ioc->ra_pos, n);
        ioc->ra_pos += n;
        return n;
    }
    if (len >= TLS_READAHEAD) {
        ret = qio_channel_read(ioc->master, buf, len, &err);
    } else {
        if (!ioc->ra_buf) {
            ioc->ra_buf = g_malloc(TLS_READAHEAD);
        }
        ret = qio_channel_read(ioc->master, ioc->ra_buf, TLS_READAHEAD,
                               &err);
        if (ret > 0) {
            ioc->ra_pos = MIN(len, (size_t)ret);
            ioc->ra_len = ret;
            memcpy(buf, ioc->ra_buf, ioc->ra_pos);
            ret = ioc->ra_pos;
        }
    }
    if (ret == QIO_CHANNEL_ERR_BLOCK) {
        errno = EAGAIN;
        return -1;
    }
    if (ret < 0) {
        set_last_err(&ioc->rd_err, err);
        errno = EIO;
        return -1;
    }
    return ret;
}

static QIOChannelTLS *tls_new(QIOChannel *master, QCryptoTLSCreds *creds,
                              const char *hostname, const char *authzid,
                              Error **errp)
{
    QCryptoTLSSession *sess;
    QIOChannelTLS *ioc;

    sess = qcrypto_tls_session_new(creds, hostname, authzid, errp);
    if (!sess) {
        return NULL;
    }
    ioc = g_new0(QIOChannelTLS, 1);
    qio_channel_init(QIO_CHANNEL(ioc), &qio_channel_tls_class);
    ioc->master = qio_channel_ref(master);
    ioc->session = sess;
    ioc->blocking = true;
    if (qio_channel_has_feature(master, QIO_CHANNEL_FEATURE_SHUTDOWN)) {
        qio_channel_set_feature(QIO_CHANNEL(ioc),
                                QIO_CHANNEL_FEATURE_SHUTDOWN);
    }
    qcrypto_tls_session_set_callbacks(sess, tls_push, tls_pull, ioc);
    trace_qio_channel_tls_new(ioc, master,
                              qcrypto_tls_creds_endpoint(creds) ==
                              QCRYPTO_TLS_CREDS_ENDPOINT_SERVER);
    return ioc;
}

QIOChannelTLS *qio_channel_tls_new_server(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *authzid,
                                          Error **errp)
{
    if (qcrypto_tls_creds_endpoint(creds) !=
        QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        error_setg(errp, "Credentials endpoint doesn't match session");
        return NULL;
    }
    return tls_new(master, creds, NULL, authzid, errp);
}

QIOChannelTLS *qio_channel_tls_new_client(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *hostname,
                                          Error **errp)
{
    if (qcrypto_tls_creds_endpoint(creds) !=
        QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT) {
        error_setg(errp, "Credentials endpoint doesn't match session");
        return NULL;
    }
    return tls_new(master, creds, hostname, NULL, errp);
}

/* Name the transport's error when GnuTLS only knows "push/pull error". */
static void add_transport_cause(Error **errp, const char *cause)
{
    Error *with_cause = NULL;

    if (errp && *errp && cause) {
        error_setg(&with_cause, "%s (%s)", error_get_pretty(*errp), cause);
        error_free(*errp);
        *errp = with_cause;
    }
}

static bool tls_handshake_io(QIOChannel *master, GIOCondition cond,
                             gpointer opaque);

static void tls_handshake_step(TLSHandshakeData *data)
{
    QIOChannelTLS *ioc = data->ioc;
    Error *err = NULL;
    GSource *src;
    int ret;

    ret = qcrypto_tls_session_handshake(ioc->session, &err);
    if (ret == 0) {
        int dir = qcrypto_tls_session_get_handshake_direction(ioc->session);

        trace_qio_channel_tls_handshake_pending(ioc, dir);
        src = qio_channel_create_watch(ioc->master, dir);
        g_source_set_callback(src,
                              (GSourceFunc)(void (*)(void))tls_handshake_io,
                              data, NULL);
        g_source_attach(src, data->context);
        g_source_unref(src);
        return;
    }
    if (ret < 0) {
        add_transport_cause(&err, ioc->rd_err ? ioc->rd_err : ioc->wr_err);
    } else {
        qcrypto_tls_session_check_credentials(ioc->session, &err);
    }
    trace_qio_channel_tls_handshake_done(ioc, err ? error_get_pretty(err)
                                                  : "");
    if (err) {
        qio_task_set_error(data->task, err);
    }
    /* back to the mode the channel had (blocking unless told otherwise) */
    qio_channel_set_blocking(ioc->master, ioc->blocking, NULL);
    qio_task_complete(data->task);
    g_main_context_unref(data->context);
    g_free(data);
}

static bool tls_handshake_io(QIOChannel *master, GIOCondition cond,
                             gpointer opaque)
{
    tls_handshake_step(opaque);
    return G_SOURCE_REMOVE;
}

void qio_channel_tls_handshake(QIOChannelTLS *ioc, QIOTaskFunc func,
                               gpointer opaque, GDestroyNotify destroy,
                               GMainContext *context)
{
    TLSHandshakeData *data = g_new0(TLSHandshakeData, 1);

    trace_qio_channel_tls_handshake_start(ioc);
    data->ioc = ioc;
    data->task = qio_task_new(QIO_CHANNEL(ioc), func, opaque, destroy);
    data->context = g_main_context_ref(context ? context
                                               : g_main_context_default());
    qio_channel_set_blocking(ioc->master, false, NULL);
    tls_handshake_step(data);
}

int qio_channel_tls_bye(QIOChannelTLS *ioc, Error **errp)
{
    int ret;

    while ((ret = qcrypto_tls_session_bye(ioc->session, errp)) == 0) {
        qio_channel_wait(ioc->master, G_IO_OUT);
    }
    return ret < 0 ? -1 : 0;
}

QCryptoTLSSession *qio_channel_tls_get_session(QIOChannelTLS *ioc)
{
    return ioc->session;
}

QIOChannel *qio_channel_tls_get_master(QIOChannelTLS *ioc)
{
    return ioc->master;
}

/* ---------------------------------------------------------------- ops */

/* Copy up to @len bytes of @buf into @iov; returns the count. */
static size_t iov_from_buf_simple(const struct iovec *iov, size_t niov,
                                  const uint8_t *buf, size_t len)
{
    size_t done = 0;

    for (size_t i = 0; i < niov && done < len; i++) {
        size_t n = MIN(iov[i].iov_len, len - done);

        memcpy(iov[i].iov_base, buf + done, n);
        done += n;
    }
    return done;
}

/*
 * MSG_PEEK: decrypt into peek_buf (at most its size) and copy without
 * consuming; the next plain reads return those bytes first.  Like a
 * socket peek it may return fewer bytes than asked.
 */
static ssize_t tls_peek(QIOChannelTLS *ioc, const struct iovec *iov,
                        size_t niov, bool eof_ok, Error **errp)
{
    size_t want = 0;

    for (size_t i = 0; i < niov; i++) {
        want += iov[i].iov_len;
    }
    want = MIN(want, sizeof(ioc->peek_buf));
    if (ioc->peek_len < want) {
        Error *err = NULL;
        ssize_t ret = qcrypto_tls_session_read(ioc->session,
                                               (char *)ioc->peek_buf +
                                               ioc->peek_len,
                                               want - ioc->peek_len, eof_ok,
                                               &err);

        if (ret < 0 && !ioc->peek_len) {
            if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
                error_free(err);
                return QIO_CHANNEL_ERR_BLOCK;
            }
            add_transport_cause(&err, ioc->rd_err);
            error_propagate(errp, err);
            return -1;
        }
        error_free(err);
        if (ret > 0) {
            ioc->peek_len += ret;
        }
    }
    return iov_from_buf_simple(iov, niov, ioc->peek_buf, ioc->peek_len);
}

/* A whole record waits in the read-ahead: decrypting it will not block. */
static bool tls_readahead_has_record(QIOChannelTLS *ioc)
{
    size_t avail = ioc->ra_len - ioc->ra_pos;
    const uint8_t *h;

    if (avail < TLS_RECORD_HEADER) {
        return false;
    }
    h = (const uint8_t *)ioc->ra_buf + ioc->ra_pos;
    return avail >= TLS_RECORD_HEADER + ((size_t)h[3] << 8 | h[4]);
}

/* Decrypted or whole encrypted records wait: reading more will not block. */
static bool tls_more_ready(QIOChannelTLS *ioc)
{
    return qcrypto_tls_session_check_pending(ioc->session) ||
           tls_readahead_has_record(ioc);
}

/*
 * Fills the vector with as many records as are here already: the first
 * read may wait, later ones only take what cannot block (a QEMUFile
 * buffer gets many records per refill, not one).
 */
static ssize_t tls_readv(QIOChannel *chan, const struct iovec *iov,
                         size_t niov, int **fds, size_t *nfds, int flags,
                         Error **errp)
{
    QIOChannelTLS *ioc = (QIOChannelTLS *)chan;
    bool eof_ok = qatomic_read(&chan->shutdown) & QIO_CHANNEL_SHUTDOWN_READ;
    ssize_t got = 0;

    if (flags & QIO_CHANNEL_READ_FLAG_MSG_PEEK) {
        return tls_peek(ioc, iov, niov, eof_ok, errp);
    }
    if (ioc->peek_len) {
        /* what a peek decrypted comes first */
        size_t n = iov_from_buf_simple(iov, niov, ioc->peek_buf,
                                       ioc->peek_len);

        memmove(ioc->peek_buf, ioc->peek_buf + n, ioc->peek_len - n);
        ioc->peek_len -= n;
        return n;
    }
    for (size_t i = 0; i < niov; i++) {
        size_t off = 0;

        while (off < iov[i].iov_len) {
            Error *err = NULL;
            ssize_t ret;

            if (got && !tls_more_ready(ioc)) {
                return got;
            }
            ret = qcrypto_tls_session_read(ioc->session,
                                           (char *)iov[i].iov_base + off,
                                           iov[i].iov_len - off, eof_ok,
                                           &err);
            if (ret < 0) {
                if (got) {
                    /* return what we have; the next call reports it again */
                    error_free(err);
                    return got;
                }
                if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
                    return QIO_CHANNEL_ERR_BLOCK;
                }
                add_transport_cause(&err, ioc->rd_err);
                error_propagate(errp, err);
                return -1;
            }
            if (ret == 0) {
                return got;   /* end of stream */
            }
            off += ret;
            got += ret;
        }
    }
    return got;
}

static ssize_t tls_writev(QIOChannel *chan, const struct iovec *iov,
                          size_t niov, int *fds, size_t nfds, int flags,
                          Error **errp)
{
    QIOChannelTLS *ioc = (QIOChannelTLS *)chan;
    Error *err = NULL;
    ssize_t ret;

    ret = qcrypto_tls_session_writev(ioc->session, iov, niov,
                                     qatomic_read(&ioc->blocking), &err);
    if (ret == QCRYPTO_TLS_SESSION_ERR_BLOCK) {
        return QIO_CHANNEL_ERR_BLOCK;
    }
    if (ret < 0) {
        add_transport_cause(&err, ioc->wr_err);
        error_propagate(errp, err);
    }
    return ret;
}

static int tls_close(QIOChannel *chan, Error **errp)
{
    QIOChannelTLS *ioc = (QIOChannelTLS *)chan;

    trace_qio_channel_tls_close(ioc);
    return qio_channel_close(ioc->master, errp);
}

static int tls_shutdown(QIOChannel *chan, QIOChannelShutdown how,
                        Error **errp)
{
    QIOChannelTLS *ioc = (QIOChannelTLS *)chan;

    /* recorded first, so a reader woken by the master sees it */
    qatomic_or(&chan->shutdown, (int)how);
    return qio_channel_shutdown(ioc->master, how, errp);
}

static int tls_set_blocking(QIOChannel *chan, bool enabled, Error **errp)
{
    QIOChannelTLS *ioc = (QIOChannelTLS *)chan;

    qatomic_set(&ioc->blocking, enabled);
    return qio_channel_set_blocking(ioc->master, enabled, errp);
}

static GSource *tls_create_watch(QIOChannel *chan, GIOCondition condition)
{
    QIOChannelTLS *ioc = (QIOChannelTLS *)chan;
    int fd;

    if ((condition & G_IO_IN) && (ioc->peek_len || tls_more_ready(ioc))) {
        /*
         * bytes a peek decrypted, decrypted data in the session, or a whole
         * record in the read-ahead: the fd may stay quiet.  (A partial
         * record needs the fd: a read would only block.)
         */
        return qio_channel_create_always_ready_watch(chan, G_IO_IN);
    }
    fd = qio_channel_get_fd(ioc->master, condition);
    if (fd >= 0) {
        return qio_channel_create_fd_watch(chan, fd, condition);
    }
    /* fd-less masters: their watch (its callback sees the master) */
    return qio_channel_create_watch(ioc->master, condition);
}

static void tls_set_cork(QIOChannel *chan, bool enabled)
{
    qio_channel_set_cork(((QIOChannelTLS *)chan)->master, enabled);
}

static void tls_set_delay(QIOChannel *chan, bool enabled)
{
    qio_channel_set_delay(((QIOChannelTLS *)chan)->master, enabled);
}

static int tls_get_fd(QIOChannel *chan, GIOCondition condition)
{
    return qio_channel_get_fd(((QIOChannelTLS *)chan)->master, condition);
}

static void tls_finalize(QIOChannel *chan)
{
    QIOChannelTLS *ioc = (QIOChannelTLS *)chan;

    qcrypto_tls_session_free(ioc->session);
    qio_channel_unref(ioc->master);
    g_free(ioc->rd_err);
    g_free(ioc->wr_err);
    g_free(ioc->ra_buf);
}

const QIOChannelClass qio_channel_tls_class = {
    .type_name = TYPE_QIO_CHANNEL_TLS,
    .io_readv = tls_readv,
    .io_writev = tls_writev,
    .io_close = tls_close,
    .io_shutdown = tls_shutdown,
    .io_set_blocking = tls_set_blocking,
    .io_create_watch = tls_create_watch,
    .io_set_cork = tls_set_cork,
    .io_set_delay = tls_set_delay,
    .io_get_fd = tls_get_fd,
    .finalize = tls_finalize,
};
