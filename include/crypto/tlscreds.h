/*
 * TLS credentials objects (QEMU's names and properties):
 *
 *   -object tls-creds-x509,id=ID,dir=DIR,endpoint=server|client
 *           [,verify-peer=on|off][,priority=STR][,sanity-check=on|off]
 *   -object tls-creds-psk,id=ID,dir=DIR,endpoint=server|client
 *           [,username=NAME][,priority=STR]
 *   -object tls-creds-anon,id=ID,endpoint=server|client[,dir=DIR]
 *           [,priority=STR]
 *
 * Files in DIR (QEMU's names): ca-cert.pem, ca-crl.pem (server, optional),
 * server-cert.pem + server-key.pem, client-cert.pem + client-key.pem
 * (client, optional), dh-params.pem (optional), keys.psk (PSK).  They
 * are loaded, and for x509 checked (sanity-check=on), when the object is
 * created, so mistakes show at -object / object-add time.
 *
 * Objects are immutable after creation and may be used by sessions in
 * any thread; a session holds a reference (user_object_ref).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef CRYPTO_TLSCREDS_H
#define CRYPTO_TLSCREDS_H

#include "qom/object_interfaces.h"

#define TYPE_QCRYPTO_TLS_CREDS "tls-creds"

/* The fixed file names inside dir=. */
#define QCRYPTO_TLS_CREDS_X509_CA_CERT      "ca-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_CA_CRL       "ca-crl.pem"
#define QCRYPTO_TLS_CREDS_X509_SERVER_CERT  "server-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_SERVER_KEY   "server-key.pem"
#define QCRYPTO_TLS_CREDS_X509_CLIENT_CERT  "client-cert.pem"
#define QCRYPTO_TLS_CREDS_X509_CLIENT_KEY   "client-key.pem"
#define QCRYPTO_TLS_CREDS_DH_PARAMS         "dh-params.pem"
#define QCRYPTO_TLS_CREDS_PSKFILE           "keys.psk"
/* The PSK identity a client uses when username= is not given. */
#define QCRYPTO_TLS_CREDS_DEFAULT_PSK_USERNAME "qemu"
/* The GnuTLS priority string when priority= is not given (QEMU's). */
#define QCRYPTO_TLS_CREDS_DEFAULT_PRIORITY  "NORMAL"

typedef enum QCryptoTLSCredsEndpoint {
    QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
    QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT,
} QCryptoTLSCredsEndpoint;

typedef enum QCryptoTLSCredsKind {
    QCRYPTO_TLS_CREDS_KIND_X509,
    QCRYPTO_TLS_CREDS_KIND_PSK,
    QCRYPTO_TLS_CREDS_KIND_ANON,
} QCryptoTLSCredsKind;

typedef struct QCryptoTLSCreds QCryptoTLSCreds;

/*
 * The credentials object @id with a reference taken (drop it with
 * qcrypto_tls_creds_unref), checked to be for @endpoint.  Errors (QEMU's texts): "No TLS credentials with id '%s'",
 * "Object with id '%s' is not TLS credentials", "Expected TLS
 * credentials for a client endpoint" / "... server endpoint".
 */
QCryptoTLSCreds *qcrypto_tls_creds_find(const char *id,
                                        QCryptoTLSCredsEndpoint endpoint,
                                        Error **errp);
void qcrypto_tls_creds_unref(QCryptoTLSCreds *creds);

const char *qcrypto_tls_creds_id(QCryptoTLSCreds *creds);
QCryptoTLSCredsKind qcrypto_tls_creds_kind(QCryptoTLSCreds *creds);
QCryptoTLSCredsEndpoint qcrypto_tls_creds_endpoint(QCryptoTLSCreds *creds);
bool qcrypto_tls_creds_verify_peer(QCryptoTLSCreds *creds);

#endif
