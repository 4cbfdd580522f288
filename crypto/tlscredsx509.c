/*
 * tls-creds-x509: a CA, our certificate and key, optional CRL and DH
 * parameters, loaded from dir= and checked when the object is created.
 *
 * sanity-check=on (the default) validates our own certificate and the
 * CA certificates as QEMU 7.2 does: validity times, basic constraints,
 * critical key usage and extended key usage, and that our certificate
 * verifies against the CA file.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlscredsx509.h"
#include "crypto/tlscredspriv.h"
#include "trace.h"

#include <gnutls/x509.h>

/* The most CA certificates the sanity check reads from ca-cert.pem. */
#define X509_MAX_CA_CERTS 64

static gnutls_x509_crt_t load_one_cert(const char *path, Error **errp)
{
    g_autofree char *data = NULL;
    gsize len;
    gnutls_datum_t datum;
    gnutls_x509_crt_t cert;
    GError *gerr = NULL;
    int ret;

    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        error_setg(errp, "Cannot load certificate %s: %s", path,
                   gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    datum.data = (unsigned char *)data;
    datum.size = len;
    gnutls_x509_crt_init(&cert);
    ret = gnutls_x509_crt_import(cert, &datum, GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Cannot import certificate %s: %s", path,
                   gnutls_strerror(ret));
        gnutls_x509_crt_deinit(cert);
        return NULL;
    }
    return cert;
}

static bool load_ca_certs(const char *path, gnutls_x509_crt_t *certs,
                          unsigned int *ncerts, Error **errp)
{
    g_autofree char *data = NULL;
    gsize len;
    gnutls_datum_t datum;
    GError *gerr = NULL;
    int ret;

    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        error_setg(errp, "Cannot load CA certificate %s: %s", path,
                   gerr->message);
        g_error_free(gerr);
        return false;
    }
    datum.data = (unsigned char *)data;
    datum.size = len;
    *ncerts = X509_MAX_CA_CERTS;
    ret = gnutls_x509_crt_list_import(certs, ncerts, &datum,
                                      GNUTLS_X509_FMT_PEM, 0);
    if (ret < 0) {
        error_setg(errp, "Cannot import CA certificate %s (at most %d "
                   "certificates): %s", path, X509_MAX_CA_CERTS,
                   gnutls_strerror(ret));
        return false;
    }
    *ncerts = ret;
    return true;
}

static bool check_times(gnutls_x509_crt_t cert, const char *path, bool isCA,
                        bool isServer, Error **errp)
{
    time_t now = time(NULL);
    const char *what = isCA ? "CA" : isServer ? "server" : "client";

    if (gnutls_x509_crt_get_expiration_time(cert) < now) {
        error_setg(errp, "The %s certificate %s has expired", what, path);
        return false;
    }
    if (gnutls_x509_crt_get_activation_time(cert) > now) {
        error_setg(errp, "The %s certificate %s is not yet active", what,
                   path);
        return false;
    }
    return true;
}

static bool check_basic_constraints(gnutls_x509_crt_t cert, const char *path,
                                    bool isCA, bool isServer, Error **errp)
{
    unsigned int critical = 0;
    int status = gnutls_x509_crt_get_basic_constraints(cert, &critical,
                                                       NULL, NULL);

    if (status == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        if (isCA) {
            error_setg(errp, "The certificate %s is missing basic "
                       "constraints for a CA", path);
            return false;
        }
        return true;
    }
    if (status < 0) {
        error_setg(errp, "Unable to query certificate %s basic constraints: "
                   "%s", path, gnutls_strerror(status));
        return false;
    }
    if (!status && isCA) {
        error_setg(errp, "The certificate %s basic constraints do not show "
                   "a CA", path);
        return false;
    }
    if (status && !isCA) {
        error_setg(errp, "The certificate %s basic constraints show a CA, "
                   "but a %s certificate is needed", path,
                   isServer ? "server" : "client");
        return false;
    }
    return true;
}

static bool check_key_usage(gnutls_x509_crt_t cert, const char *path,
                            bool isCA, Error **errp)
{
    unsigned int critical = 0, usage = 0;
    int status = gnutls_x509_crt_get_key_usage(cert, &usage, &critical);

    if (status == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        return true;
    }
    if (status < 0) {
        error_setg(errp, "Unable to query certificate %s key usage: %s",
                   path, gnutls_strerror(status));
        return false;
    }
    if (!critical) {
        return true;
    }
    if (isCA && !(usage & GNUTLS_KEY_KEY_CERT_SIGN)) {
        error_setg(errp, "Certificate %s usage does not permit certificate "
                   "signing", path);
        return false;
    }
    if (!isCA && !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE)) {
        error_setg(errp, "Certificate %s usage does not permit digital "
                   "signature", path);
        return false;
    }
    if (!isCA && !(usage & GNUTLS_KEY_KEY_ENCIPHERMENT)) {
        /* QEMU 7.2 asks for this bit too; keep its rule */
        error_setg(errp, "Certificate %s usage does not permit key "
                   "encipherment", path);
        return false;
    }
    return true;
}

static bool check_key_purpose(gnutls_x509_crt_t cert, const char *path,
                              bool isServer, Error **errp)
{
    const char *want = isServer ? GNUTLS_KP_TLS_WWW_SERVER
                                : GNUTLS_KP_TLS_WWW_CLIENT;
    bool any_critical = false, found = false;

    for (unsigned int i = 0;; i++) {
        char buf[128];
        size_t size = sizeof(buf);
        unsigned int critical = 0;
        int status = gnutls_x509_crt_get_key_purpose_oid(cert, i, buf, &size,
                                                         &critical);

        if (status == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            break;
        }
        if (status < 0) {
            error_setg(errp, "Unable to query certificate %s key purpose: "
                       "%s", path, gnutls_strerror(status));
            return false;
        }
        any_critical |= critical;
        if (!strcmp(buf, want) || !strcmp(buf, GNUTLS_KP_ANY)) {
            found = true;
        }
    }
    if (any_critical && !found) {
        error_setg(errp, "Certificate %s purpose does not allow use as a "
                   "TLS %s", path, isServer ? "server" : "client");
        return false;
    }
    return true;
}

static bool check_one(gnutls_x509_crt_t cert, const char *path, bool isCA,
                      bool isServer, Error **errp)
{
    return check_times(cert, path, isCA, isServer, errp) &&
           check_basic_constraints(cert, path, isCA, isServer, errp) &&
           check_key_usage(cert, path, isCA, errp) &&
           (isCA || check_key_purpose(cert, path, isServer, errp));
}

static bool sanity_check(QCryptoTLSCreds *creds, const char *cacert,
                         const char *cert, Error **errp)
{
    gnutls_x509_crt_t cas[X509_MAX_CA_CERTS];
    unsigned int ncas = 0;
    gnutls_x509_crt_t own = NULL;
    bool isServer = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    bool ok = false;

    if (!load_ca_certs(cacert, cas, &ncas, errp)) {
        return false;
    }
    for (unsigned int i = 0; i < ncas; i++) {
        if (!check_one(cas[i], cacert, true, isServer, errp)) {
            goto out;
        }
    }
    if (cert) {
        unsigned int verify = 0;
        int ret;

        own = load_one_cert(cert, errp);
        if (!own || !check_one(own, cert, false, isServer, errp)) {
            goto out;
        }
        ret = gnutls_x509_crt_list_verify(&own, 1, cas, ncas, NULL, 0, 0,
                                          &verify);
        if (ret < 0 || verify) {
            gnutls_datum_t why = { 0 };
            const char *reason = "unknown reason";

            if (ret < 0) {
                reason = gnutls_strerror(ret);
            } else if (gnutls_certificate_verification_status_print(
                           verify, GNUTLS_CRT_X509, &why, 0) == 0) {
                reason = (const char *)why.data;
            }
            error_setg(errp, "Our own certificate %s failed validation "
                       "against %s: %s", cert, cacert, reason);
            gnutls_free(why.data);
            goto out;
        }
    }
    ok = true;
out:
    if (own) {
        gnutls_x509_crt_deinit(own);
    }
    for (unsigned int i = 0; i < ncas; i++) {
        gnutls_x509_crt_deinit(cas[i]);
    }
    return ok;
}

static void x509_finalize(UserObject *obj)
{
    QCryptoTLSCreds *creds = (QCryptoTLSCreds *)obj;

    if (creds->data.x509) {
        gnutls_certificate_free_credentials(creds->data.x509);
    }
    qcrypto_tls_creds_free(creds);
}

static bool x509_load(QCryptoTLSCreds *creds, bool sanity, Error **errp)
{
    bool isServer = creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER;
    g_autofree char *cacert = NULL, *cacrl = NULL, *cert = NULL;
    g_autofree char *key = NULL;
    Error *err = NULL;
    int ret;

    cacert = qcrypto_tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_X509_CA_CERT,
                                        true, errp);
    if (!cacert) {
        return false;
    }
    if (isServer) {
        cacrl = qcrypto_tls_creds_get_path(creds,
                                           QCRYPTO_TLS_CREDS_X509_CA_CRL,
                                           false, &err);
        cert = err ? NULL :
               qcrypto_tls_creds_get_path(creds,
                                          QCRYPTO_TLS_CREDS_X509_SERVER_CERT,
                                          true, &err);
        key = err ? NULL :
              qcrypto_tls_creds_get_path(creds,
                                         QCRYPTO_TLS_CREDS_X509_SERVER_KEY,
                                         true, &err);
    } else {
        cert = qcrypto_tls_creds_get_path(creds,
                                          QCRYPTO_TLS_CREDS_X509_CLIENT_CERT,
                                          false, &err);
        key = err ? NULL :
              qcrypto_tls_creds_get_path(creds,
                                         QCRYPTO_TLS_CREDS_X509_CLIENT_KEY,
                                         false, &err);
        if (!cert != !key) {
            error_setg(&err, "%s '%s' without its %s '%s' in %s",
                       cert ? "Certificate" : "Key",
                       cert ? QCRYPTO_TLS_CREDS_X509_CLIENT_CERT
                            : QCRYPTO_TLS_CREDS_X509_CLIENT_KEY,
                       cert ? "key" : "certificate",
                       cert ? QCRYPTO_TLS_CREDS_X509_CLIENT_KEY
                            : QCRYPTO_TLS_CREDS_X509_CLIENT_CERT,
                       creds->dir);
        }
    }
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    if (sanity && !sanity_check(creds, cacert, cert, errp)) {
        return false;
    }

    ret = gnutls_certificate_allocate_credentials(&creds->data.x509);
    if (ret < 0) {
        error_setg(errp, "Cannot allocate credentials: %s",
                   gnutls_strerror(ret));
        return false;
    }
    ret = gnutls_certificate_set_x509_trust_file(creds->data.x509, cacert,
                                                 GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Cannot load CA certificate '%s': %s", cacert,
                   gnutls_strerror(ret));
        return false;
    }
    if (cert && key) {
        ret = gnutls_certificate_set_x509_key_file(creds->data.x509, cert,
                                                   key, GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            error_setg(errp, "Cannot load certificate '%s' & key '%s': %s",
                       cert, key, gnutls_strerror(ret));
            return false;
        }
    }
    if (cacrl) {
        ret = gnutls_certificate_set_x509_crl_file(creds->data.x509, cacrl,
                                                   GNUTLS_X509_FMT_PEM);
        if (ret < 0) {
            error_setg(errp, "Cannot load CRL '%s': %s", cacrl,
                       gnutls_strerror(ret));
            return false;
        }
    }
    if (isServer) {
        if (!qcrypto_tls_creds_load_dh(creds, errp)) {
            return false;
        }
        if (creds->dh_params) {
            gnutls_certificate_set_dh_params(creds->data.x509,
                                             creds->dh_params);
        } else {
            /* GnuTLS's well-known groups (RFC 7919), as QEMU 10.2 */
            gnutls_certificate_set_known_dh_params(creds->data.x509,
                                                   GNUTLS_SEC_PARAM_MEDIUM);
        }
    }
    return true;
}

static UserObject *x509_create(const char *id, QemuOpts *opts, Error **errp)
{
    QCryptoTLSCreds *creds;
    bool sanity;

    if (!qemu_opt_get_bool_checked(opts, "sanity-check", true, &sanity,
                                   errp)) {
        return NULL;
    }
    if (qemu_opt_get(opts, "passwordid")) {
        error_setg(errp, "tls-creds-x509 '%s': passwordid (encrypted private "
                   "keys) is not supported by Godwit yet", id);
        return NULL;
    }
    creds = qcrypto_tls_creds_new(&qcrypto_tls_creds_x509_class,
                                  QCRYPTO_TLS_CREDS_KIND_X509, id, opts, true,
                                  errp);
    if (!creds) {
        return NULL;
    }
    if (!x509_load(creds, sanity, errp)) {
        g_free(creds->parent.id);
        x509_finalize(&creds->parent);
        return NULL;
    }
    return &creds->parent;
}

const UserObjectClass qcrypto_tls_creds_x509_class = {
    .type = "tls-creds-x509",
    .parent = TYPE_QCRYPTO_TLS_CREDS,
    .create = x509_create,
    .finalize = x509_finalize,
};
