/*
 * QIOChannelTLS: a QIOChannel that runs a TLS session (GnuTLS) over
 * another QIOChannel, the "master" (a socket, usually).
 *
 *   tioc = qio_channel_tls_new_client(master, creds, hostname, errp);
 *   qio_channel_tls_handshake(tioc, done_cb, opaque, NULL, NULL);
 *   ... done_cb(task): qio_task_propagate_error() says whether the
 *   handshake and the credential checks (crypto/tlssession.h) passed;
 *   from then on read and write tioc like any channel.
 *
 * The handshake runs in a main context (default or given) without ever
 * blocking it: the master is non-blocking while it runs, and is put back
 * to blocking when it ends, so reads and writes after it block unless
 * qio_channel_set_blocking(tioc, false) is called.
 *
 * Blocking writes gather the vector into full TLS records and send them
 * in one vectored write of the master.  In non-blocking mode a write that
 * would block returns QIO_CHANNEL_ERR_BLOCK; it must then be repeated
 * with the same data (GnuTLS's rule), which qio_channel_writev_all does.
 *
 * End of file: a close_notify from the peer, or a master end of file
 * after qio_channel_shutdown(READ) on this channel.  A master end of file
 * otherwise is an error ("Cannot read from TLS channel: The TLS
 * connection was non-properly terminated."), as in QEMU 7.2.
 *
 * Threads: one reader and one writer may run at the same time (the
 * migration return path).  The channel holds a reference on the master.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef IO_CHANNEL_TLS_H
#define IO_CHANNEL_TLS_H

#include "io/channel.h"
#include "io/task.h"
#include "crypto/tlssession.h"

typedef struct QIOChannelTLS QIOChannelTLS;

extern const QIOChannelClass qio_channel_tls_class;

#define TYPE_QIO_CHANNEL_TLS "qio-channel-tls"
#define QIO_CHANNEL_TLS(obj) \
    ((QIOChannelTLS *)qio_channel_check_type((obj), &qio_channel_tls_class))

/* Server side of @master; @authzid names an authz object (or NULL). */
QIOChannelTLS *qio_channel_tls_new_server(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *authzid,
                                          Error **errp);
/* Client side of @master; @hostname is checked in the server's cert. */
QIOChannelTLS *qio_channel_tls_new_client(QIOChannel *master,
                                          QCryptoTLSCreds *creds,
                                          const char *hostname,
                                          Error **errp);

/*
 * Run the handshake and the credential checks; @func gets a task whose
 * source is @ioc, in @context (NULL: the default main context).
 * @destroy(@opaque) runs after @func.  Errors: "TLS handshake failed:
 * ..." or the check that failed.
 */
void qio_channel_tls_handshake(QIOChannelTLS *ioc, QIOTaskFunc func,
                               gpointer opaque, GDestroyNotify destroy,
                               GMainContext *context);

/* Send close_notify (blocking master: waits until sent).  0 or -1. */
int qio_channel_tls_bye(QIOChannelTLS *ioc, Error **errp);

QCryptoTLSSession *qio_channel_tls_get_session(QIOChannelTLS *ioc);
QIOChannel *qio_channel_tls_get_master(QIOChannelTLS *ioc);

#endif
