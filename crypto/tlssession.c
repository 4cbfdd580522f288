/*
 * A GnuTLS session and the checks after its handshake; see
 * include/crypto/tlssession.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlssession.h"
#include "crypto/tlscredspriv.h"
#include "authz/base.h"
#include "trace.h"

#include <gnutls/x509.h>

/* The largest TLS record payload (2^14), the unit the writer gathers. */
#define QCRYPTO_TLS_RECORD_SIZE 16384

struct QCryptoTLSSession {
    /* ---- set once at creation */
    QCryptoTLSCreds *creds;        /* a reference */
    gnutls_session_t handle;
    char *hostname;
    char *authzid;
    QCryptoTLSSessionPush push;
    QCryptoTLSSessionPull pull;
    void *opaque;
    /* ---- the thread running the handshake and checks */
    bool handshake_done;
    char *peername;
    /* ---- the writing thread */
    char bounce[QCRYPTO_TLS_RECORD_SIZE];   /* gathers small buffers */
};

static ssize_t session_vec_push(gnutls_transport_ptr_t opaque,
                                const giovec_t *iov, int niov)
{
    QCryptoTLSSession *sess = opaque;

    if (!sess->push) {
        errno = EIO;
        return -1;
    }
    /* giovec_t has the layout of struct iovec (GnuTLS documents this) */
    return sess->push((const struct iovec *)iov, niov, sess->opaque);
}

static ssize_t session_pull(gnutls_transport_ptr_t opaque, void *buf,
                            size_t len)
{
    QCryptoTLSSession *sess = opaque;

    if (!sess->pull) {
        errno = EIO;
        return -1;
    }
    return sess->pull(buf, len, sess->opaque);
}

/*
 * Without priority=, the ciphers of NORMAL (the same set, so any peer that
 * speaks NORMAL still agrees on one) with AES-128-GCM moved first: NORMAL
 * lists AES-256-GCM and CHACHA20-POLY1305 before it, and on AES-NI hosts
 * AES-128-GCM is the fastest (10 rounds against 14; ChaCha20 has no
 * hardware help and GnuTLS may even prefer it when it guesses so).  A
 * server also applies its own order (%SERVER_PRECEDENCE), so a client
 * with plain NORMAL (stock QEMU) gets AES-128-GCM from a Godwit server;
 * GnuTLS servers follow the client's order, so a stock QEMU server gets
 * it from a Godwit client.  With priority= the string is used verbatim.
 */
#define SESSION_FAST_CIPHERS \
    "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
    "+AES-256-CCM:+AES-256-CBC:+AES-128-CCM:+AES-128-CBC"

static char *session_priority(QCryptoTLSCreds *creds)
{
    g_autofree char *base = NULL;

    if (creds->priority_given) {
        base = g_strdup(creds->priority);
    } else {
        base = g_strdup_printf("%s:%s%s", creds->priority,
                               SESSION_FAST_CIPHERS,
                               creds->endpoint ==
                               QCRYPTO_TLS_CREDS_ENDPOINT_SERVER ?
                               ":%SERVER_PRECEDENCE" : "");
    }
    switch (creds->kind) {
    case QCRYPTO_TLS_CREDS_KIND_PSK:
        return g_strdup_printf("%s:+ECDHE-PSK:+DHE-PSK:+PSK", base);
    case QCRYPTO_TLS_CREDS_KIND_ANON:
        return g_strdup_printf("%s:+ANON-ECDH:+ANON-DH", base);
    default:
        return g_steal_pointer(&base);
    }
}

static bool session_set_credentials(QCryptoTLSSession *sess, Error **errp)
{
    QCryptoTLSCreds *creds = sess->creds;
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    gnutls_credentials_type_t type;
    void *cred;
    int ret;

    switch (creds->kind) {
    case QCRYPTO_TLS_CREDS_KIND_X509:
        type = GNUTLS_CRD_CERTIFICATE;
        cred = creds->data.x509;
        break;
    case QCRYPTO_TLS_CREDS_KIND_PSK:
        type = GNUTLS_CRD_PSK;
        cred = server ? (void *)creds->data.psk_server
                      : (void *)creds->data.psk_client;
        break;
    default:
        type = GNUTLS_CRD_ANON;
        cred = server ? (void *)creds->data.anon_server
                      : (void *)creds->data.anon_client;
        break;
    }
    ret = gnutls_credentials_set(sess->handle, type, cred);
    if (ret < 0) {
        error_setg(errp, "Cannot set session credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    if (server && creds->kind == QCRYPTO_TLS_CREDS_KIND_X509) {
        /* ask for a client certificate; whether one is needed is
         * decided by check_credentials (verify-peer) */
        gnutls_certificate_server_set_request(sess->handle,
                                              creds->verify_peer ?
                                              GNUTLS_CERT_REQUEST :
                                              GNUTLS_CERT_IGNORE);
        /*
         * Do not list our CAs in the request: a client then shows its
         * certificate even when another CA signed it, and the error
         * names the real problem ("hasn't got a known issuer") rather
         * than "No certificate was found".  (QEMU lists them.)
         */
        gnutls_certificate_send_x509_rdn_sequence(sess->handle, 1);
    }
    return true;
}

QCryptoTLSSession *qcrypto_tls_session_new(QCryptoTLSCreds *creds,
                                           const char *hostname,
                                           const char *authzid,
                                           Error **errp)
{
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    g_autofree char *prio = session_priority(creds);
    QCryptoTLSSession *sess;
    const char *errpos = NULL;
    int ret;

    sess = g_new0(QCryptoTLSSession, 1);
    sess->creds = creds;
    user_object_ref(&creds->parent);
    sess->hostname = g_strdup(hostname && *hostname ? hostname : NULL);
    sess->authzid = g_strdup(authzid && *authzid ? authzid : NULL);
    trace_qcrypto_tls_session_new(sess, creds->parent.id,
                                  sess->hostname ? sess->hostname : "",
                                  sess->authzid ? sess->authzid : "",
                                  server);

    ret = gnutls_init(&sess->handle, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
    if (ret < 0) {
        error_setg(errp, "Cannot initialize TLS session: %s",
                   gnutls_strerror(ret));
        goto fail;
    }
    ret = gnutls_priority_set_direct(sess->handle, prio, &errpos);
    if (ret < 0) {
        error_setg(errp, "Unable to set TLS session priority %s: %s "
                   "(at '%s')", prio, gnutls_strerror(ret),
                   errpos ? errpos : "");
        goto fail;
    }
    if (!session_set_credentials(sess, errp)) {
        goto fail;
    }
    gnutls_transport_set_ptr(sess->handle, sess);
    gnutls_transport_set_vec_push_function(sess->handle, session_vec_push);
    gnutls_transport_set_pull_function(sess->handle, session_pull);
    return sess;

fail:
    qcrypto_tls_session_free(sess);
    return NULL;
}

void qcrypto_tls_session_free(QCryptoTLSSession *sess)
{
    if (!sess) {
        return;
    }
    if (sess->handle) {
        gnutls_deinit(sess->handle);
    }
    qcrypto_tls_creds_unref(sess->creds);
    g_free(sess->hostname);
    g_free(sess->authzid);
    g_free(sess->peername);
    g_free(sess);
}

void qcrypto_tls_session_set_callbacks(QCryptoTLSSession *sess,
                                       QCryptoTLSSessionPush push,
                                       QCryptoTLSSessionPull pull,
                                       void *opaque)
{
    sess->push = push;
    sess->pull = pull;
    sess->opaque = opaque;
}

int qcrypto_tls_session_handshake(QCryptoTLSSession *sess, Error **errp)
{
    int ret = gnutls_handshake(sess->handle);

    if (ret == 0) {
        sess->handshake_done = true;
        trace_qcrypto_tls_session_handshake(sess, 1);
        return 1;
    }
    if (ret == GNUTLS_E_INTERRUPTED || ret == GNUTLS_E_AGAIN) {
        return 0;
    }
    trace_qcrypto_tls_session_handshake(sess, ret);
    error_setg(errp, "TLS handshake failed: %s", gnutls_strerror(ret));
    return -1;
}

int qcrypto_tls_session_get_handshake_direction(QCryptoTLSSession *sess)
{
    return gnutls_record_get_direction(sess->handle) ? G_IO_OUT : G_IO_IN;
}

/* One message for a non-zero verification status: the most precise. */
static const char *verify_status_reason(unsigned int status)
{
    if (status & GNUTLS_CERT_EXPIRED) {
        return "The certificate has expired";
    }
    if (status & GNUTLS_CERT_NOT_ACTIVATED) {
        return "The certificate is not yet activated";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
        return "The certificate hasn't got a known issuer";
    }
    if (status & GNUTLS_CERT_REVOKED) {
        return "The certificate has been revoked";
    }
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) {
        return "The certificate uses an insecure algorithm";
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_CA) {
        return "The certificate's issuer is not a CA";
    }
    if (status & GNUTLS_CERT_INVALID) {
        return "The certificate is not trusted";
    }
    return "Invalid certificate";
}

static bool check_authz(QCryptoTLSSession *sess, const char *identity,
                        Error **errp)
{
    QAuthZ *authz;
    Error *err = NULL;
    bool allowed;

    if (!sess->authzid) {
        return true;
    }
    authz = qauthz_find(sess->authzid, errp);
    if (!authz) {
        return false;
    }
    allowed = qauthz_is_allowed(authz, identity, &err);
    user_object_unref(&authz->parent);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (!allowed) {
        error_setg(errp, "TLS %s authz check for %s is denied",
                   sess->creds->kind == QCRYPTO_TLS_CREDS_KIND_PSK ?
                   "PSK" : "x509", identity);
        return false;
    }
    return true;
}

static bool check_x509(QCryptoTLSSession *sess, Error **errp)
{
    bool server = sess->creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    const gnutls_datum_t *certs;
    unsigned int ncerts = 0, status = 0;
    time_t now = time(NULL);
    int ret;

    ret = gnutls_certificate_verify_peers2(sess->handle, &status);
    if (ret < 0) {
        error_setg(errp, "Verify failed: %s", gnutls_strerror(ret));
        return false;
    }
    if (status) {
        error_setg(errp, "%s", verify_status_reason(status));
        return false;
    }
    certs = gnutls_certificate_get_peers(sess->handle, &ncerts);
    if (!certs || !ncerts) {
        error_setg(errp, "No certificate peers");
        return false;
    }
    for (unsigned int i = 0; i < ncerts; i++) {
        gnutls_x509_crt_t cert;
        bool ok = true;

        if (gnutls_x509_crt_init(&cert) < 0) {
            error_setg(errp, "Cannot initialize certificate");
            return false;
        }
        ret = gnutls_x509_crt_import(cert, &certs[i], GNUTLS_X509_FMT_DER);
        if (ret < 0) {
            error_setg(errp, "Cannot import certificate: %s",
                       gnutls_strerror(ret));
            ok = false;
        } else if (gnutls_x509_crt_get_expiration_time(cert) < now) {
            error_setg(errp, "The certificate has expired");
            ok = false;
        } else if (gnutls_x509_crt_get_activation_time(cert) > now) {
            error_setg(errp, "The certificate is not yet activated");
            ok = false;
        } else if (i == 0) {
            gnutls_datum_t dn = { 0 };

            ret = gnutls_x509_crt_get_dn2(cert, &dn);
            if (ret < 0) {
                error_setg(errp, "Cannot get client distinguished name: %s",
                           gnutls_strerror(ret));
                ok = false;
            } else {
                g_free(sess->peername);
                sess->peername = g_strndup((const char *)dn.data, dn.size);
                gnutls_free(dn.data);
                if (server) {
                    ok = check_authz(sess, sess->peername, errp);
                } else if (!sess->hostname) {
                    error_setg(errp, "No hostname for certificate "
                               "validation");
                    ok = false;
                } else if (!gnutls_x509_crt_check_hostname(cert,
                                                           sess->hostname)) {
                    error_setg(errp, "Certificate does not match the "
                               "hostname %s", sess->hostname);
                    ok = false;
                }
            }
        }
        gnutls_x509_crt_deinit(cert);
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool qcrypto_tls_session_check_credentials(QCryptoTLSSession *sess,
                                           Error **errp)
{
    QCryptoTLSCreds *creds = sess->creds;
    bool server = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    bool ok = true;

    if (!sess->handshake_done) {
        error_setg(errp, "TLS handshake has not completed");
        return false;
    }
    switch (creds->kind) {
    case QCRYPTO_TLS_CREDS_KIND_X509:
        if (creds->verify_peer) {
            ok = check_x509(sess, errp);
        }
        break;
    case QCRYPTO_TLS_CREDS_KIND_PSK:
        if (server) {
            const char *user = gnutls_psk_server_get_username(sess->handle);

            g_free(sess->peername);
            sess->peername = g_strdup(user);
            /* QEMU 7.2 ignores tls-authz for PSK; Godwit checks it */
            ok = check_authz(sess, user ? user : "", errp);
        }
        break;
    default:
        break;
    }
    trace_qcrypto_tls_session_check_credentials(sess, ok);
    return ok;
}

/* Send one record's worth (blocking transport: retry until taken). */
static ssize_t session_send_all(QCryptoTLSSession *sess, const char *buf,
                                size_t len)
{
    size_t off = 0;

    while (off < len) {
        ssize_t ret = gnutls_record_send(sess->handle, buf + off, len - off);

        if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
            /* a record already begun must be finished: same call again */
            continue;
        }
        if (ret < 0) {
            return ret;
        }
        off += ret;
    }
    return 0;
}

/*
 * The blocking path: small buffers (pages and their headers) are gathered
 * into full-size records (fewer records, less per-record work); a piece
 * of a whole record or more is encrypted straight from the caller's
 * memory.  No gnutls_record_cork: it copies every byte once more into
 * its own buffer and still sends one record per transport write.
 */
static ssize_t session_writev_gathered(QCryptoTLSSession *sess,
                                       const struct iovec *iov,
                                       size_t niov, Error **errp)
{
    char *bounce = sess->bounce;
    size_t fill = 0;
    ssize_t done = 0;
    ssize_t ret = 0;

    for (size_t i = 0; i < niov; i++) {
        const char *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;

        while (left) {
            size_t n;

            if (fill == 0 && left >= QCRYPTO_TLS_RECORD_SIZE) {
                n = QEMU_ALIGN_DOWN(left, QCRYPTO_TLS_RECORD_SIZE);
                ret = session_send_all(sess, p, n);
            } else {
                n = MIN(left, QCRYPTO_TLS_RECORD_SIZE - fill);
                memcpy(bounce + fill, p, n);
                fill += n;
                if (fill == QCRYPTO_TLS_RECORD_SIZE) {
                    ret = session_send_all(sess, bounce, fill);
                    fill = 0;
                }
            }
            if (ret < 0) {
                goto fail;
            }
            p += n;
            left -= n;
            done += n;
        }
    }
    if (fill) {
        ret = session_send_all(sess, bounce, fill);
        if (ret < 0) {
            goto fail;
        }
    }
    return done;

fail:
    error_setg(errp, "Cannot write to TLS channel: %s",
               gnutls_strerror((int)ret));
    return -1;
}

ssize_t qcrypto_tls_session_writev(QCryptoTLSSession *sess,
                                   const struct iovec *iov, size_t niov,
                                   bool gather, Error **errp)
{
    ssize_t done = 0;
    ssize_t ret;

    if (gather) {
        return session_writev_gathered(sess, iov, niov, errp);
    }
    for (size_t i = 0; i < niov; i++) {
        size_t off = 0;

        while (off < iov[i].iov_len) {
            ret = gnutls_record_send(sess->handle,
                                     (const char *)iov[i].iov_base + off,
                                     iov[i].iov_len - off);
            if (ret < 0) {
                goto stop;
            }
            off += ret;
            done += ret;
        }
    }
    return done;

stop:
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
        if (done) {
            return done;
        }
        return QCRYPTO_TLS_SESSION_ERR_BLOCK;
    }
    error_setg(errp, "Cannot write to TLS channel: %s",
               gnutls_strerror((int)ret));
    return -1;
}

ssize_t qcrypto_tls_session_read(QCryptoTLSSession *sess, char *buf,
                                 size_t len, bool premature_is_eof,
                                 Error **errp)
{
    ssize_t ret = gnutls_record_recv(sess->handle, buf, len);

    if (ret >= 0) {
        return ret;
    }
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
        return QCRYPTO_TLS_SESSION_ERR_BLOCK;
    }
    if (ret == GNUTLS_E_PREMATURE_TERMINATION && premature_is_eof) {
        return 0;
    }
    error_setg(errp, "Cannot read from TLS channel: %s",
               gnutls_strerror((int)ret));
    return -1;
}

size_t qcrypto_tls_session_check_pending(QCryptoTLSSession *sess)
{
    return gnutls_record_check_pending(sess->handle);
}

int qcrypto_tls_session_bye(QCryptoTLSSession *sess, Error **errp)
{
    int ret = gnutls_bye(sess->handle, GNUTLS_SHUT_WR);

    if (ret == 0) {
        return 1;
    }
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
        return 0;
    }
    error_setg(errp, "Cannot terminate TLS connection: %s",
               gnutls_strerror(ret));
    return -1;
}

char *qcrypto_tls_session_get_peer_name(QCryptoTLSSession *sess)
{
    return g_strdup(sess->peername);
}

char *qcrypto_tls_session_get_description(QCryptoTLSSession *sess)
{
    gnutls_protocol_t vers = gnutls_protocol_get_version(sess->handle);
    gnutls_cipher_algorithm_t c = gnutls_cipher_get(sess->handle);

    return g_strdup_printf("%s %s", gnutls_protocol_get_name(vers),
                           gnutls_cipher_get_name(c));
}

QCryptoTLSCredsEndpoint qcrypto_tls_session_endpoint(QCryptoTLSSession *sess)
{
    return sess->creds->endpoint;
}
