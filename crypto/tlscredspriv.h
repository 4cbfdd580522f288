/*
 * The parts of a TLS credentials object that crypto/ shares between its
 * files (the GnuTLS handles).  Not for other subsystems.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef CRYPTO_TLSCREDSPRIV_H
#define CRYPTO_TLSCREDSPRIV_H

#include "crypto/tlscreds.h"
#include <gnutls/gnutls.h>

struct QCryptoTLSCreds {
    UserObject parent;
    QCryptoTLSCredsKind kind;
    QCryptoTLSCredsEndpoint endpoint;
    char *dir;                /* NULL when not given (anon only) */
    bool verify_peer;
    char *priority;           /* the priority= value, or the default */
    bool priority_given;      /* priority= was given: used verbatim */
    gnutls_dh_params_t dh_params;   /* from dh-params.pem, or NULL */
    union {
        gnutls_certificate_credentials_t x509;
        gnutls_psk_server_credentials_t psk_server;
        gnutls_psk_client_credentials_t psk_client;
        gnutls_anon_server_credentials_t anon_server;
        gnutls_anon_client_credentials_t anon_client;
    } data;
    char *username;           /* PSK client identity */
};

/*
 * Parse the properties every kind has (endpoint, dir, verify-peer,
 * priority) into a new object of @klass; @dir_required for x509/psk.
 */
QCryptoTLSCreds *qcrypto_tls_creds_new(const UserObjectClass *klass,
                                       QCryptoTLSCredsKind kind,
                                       const char *id, QemuOpts *opts,
                                       bool dir_required, Error **errp);
/* Free the common part (after the kind's own handles). */
void qcrypto_tls_creds_free(QCryptoTLSCreds *creds);

/*
 * The path of @filename in the object's dir, or NULL: when @required,
 * an error "Unable to access credentials %s: <strerror>"; otherwise
 * NULL without error when the file does not exist.
 */
char *qcrypto_tls_creds_get_path(QCryptoTLSCreds *creds,
                                 const char *filename, bool required,
                                 Error **errp);
/* Load dir/dh-params.pem into creds->dh_params if it exists. */
bool qcrypto_tls_creds_load_dh(QCryptoTLSCreds *creds, Error **errp);

#endif
