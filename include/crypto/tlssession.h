/*
 * QCryptoTLSSession: one GnuTLS session over a byte transport given as
 * two callbacks (push: write a vector of buffers, pull: read).  The I/O
 * channel layer (io/channel-tls.c) provides those over a QIOChannel.
 *
 * Life: new -> handshake() until it returns 1 (0: call again when the
 * transport is ready for get_handshake_direction()) -> check_credentials()
 * -> read()/write() -> bye() (optional) -> free.
 *
 * Threads: one thread may read while another writes (the migration
 * return path); everything else is one thread at a time.
 *
 * Checks after the handshake (check_credentials), as QEMU's:
 *   x509 with verify-peer=on: the peer certificate must verify against
 *   the CA (reasons named: expired, not yet active, unknown issuer,
 *   revoked, insecure algorithm, untrusted), every certificate of the
 *   chain must be in its validity period, a client checks @hostname
 *   against the server certificate, a server asks authz @authzid about
 *   the client's distinguished name.  PSK and anon: nothing (a PSK
 *   mismatch already fails the handshake).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef CRYPTO_TLSSESSION_H
#define CRYPTO_TLSSESSION_H

#include "crypto/tlscreds.h"
#include <sys/uio.h>

typedef struct QCryptoTLSSession QCryptoTLSSession;

/* read/write result when the transport would block */
#define QCRYPTO_TLS_SESSION_ERR_BLOCK -2

/*
 * Transport callbacks: return bytes moved, 0 for end of file (pull), or
 * -1 with errno set (EAGAIN when the transport would block).
 */
typedef ssize_t (*QCryptoTLSSessionPush)(const struct iovec *iov, int niov,
                                         void *opaque);
typedef ssize_t (*QCryptoTLSSessionPull)(void *buf, size_t len,
                                         void *opaque);

/*
 * A session of @creds (its endpoint decides client or server).
 * @hostname: the name a client checks in the server certificate (NULL:
 * x509 verify-peer clients then fail "No hostname for certificate
 * validation").  @authzid: the authz object a server consults (NULL:
 * none).  The session holds a reference on @creds.
 */
QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname,
                                           const char *authzid,
                                           Error **errp);
void qcrypto_tls_session_free(QCryptoTLSSession *sess);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QCryptoTLSSession, qcrypto_tls_session_free)

void qcrypto_tls_session_set_callbacks(QCryptoTLSSession *sess,
                                       QCryptoTLSSessionPush push,
                                       QCryptoTLSSessionPull pull,
                                       void *opaque);

/*
 * One step of the handshake: 1 done, 0 not yet (the transport would
 * block; wait for get_handshake_direction()), -1 error ("TLS handshake
 * failed: ...").
 */
int qcrypto_tls_session_handshake(QCryptoTLSSession *sess, Error **errp);
/* G_IO_IN or G_IO_OUT: what the handshake waits for. */
int qcrypto_tls_session_get_handshake_direction(QCryptoTLSSession *sess);
/* The post-handshake checks described above. */
bool qcrypto_tls_session_check_credentials(QCryptoTLSSession *sess,
                                           Error **errp);

/*
 * Encrypt and send @iov (all of it, or a prefix).  Returns the bytes
 * consumed, QCRYPTO_TLS_SESSION_ERR_BLOCK (then call again with the same
 * data), or -1.  @gather (only for a blocking transport): gather small
 * buffers into full 16 KiB records and send the whole vector before
 * returning; without it each buffer is sent record by record and a
 * transport that would block stops the call.
 */
ssize_t qcrypto_tls_session_writev(QCryptoTLSSession *sess,
                                   const struct iovec *iov, size_t niov,
                                   bool gather, Error **errp);
/*
 * Receive and decrypt up to @len bytes.  0 is end of file: a close_notify
 * from the peer, or, when @premature_is_eof, a transport end without one
 * (7.2 never sends close_notify).  Else QCRYPTO_TLS_SESSION_ERR_BLOCK or
 * -1 ("Cannot read from TLS channel: ...").
 */
ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess, char *buf,
                                 size_t len, bool premature_is_eof,
                                 Error **errp);
/* Decrypted bytes buffered in the session (readable without waiting). */
size_t qcrypto_tls_session_check_pending(QCryptoTLSSession *sess);
/* Send close_notify: 1 done, 0 would block, -1 error. */
int qcrypto_tls_session_bye(QCryptoTLSSession *sess, Error **errp);

/*
 * The peer's identity after check_credentials: the x509 subject DN in
 * GnuTLS format ("C=UK,O=Example,CN=client") or the PSK username a
 * server saw; NULL if none (g_free).
 */
char *qcrypto_tls_session_get_peer_name(QCryptoTLSSession *sess);
/* "TLS1.3 AES-256-GCM" etc. after the handshake (g_free). */
char *qcrypto_tls_session_get_description(QCryptoTLSSession *sess);
QCryptoTLSCredsEndpoint qcrypto_tls_session_endpoint(QCryptoTLSSession *sess);

#endif
