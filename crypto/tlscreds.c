/*
 * What every TLS credentials kind shares: the common properties, the
 * file paths in dir=, DH parameters, and the lookup by id.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlscredspriv.h"
#include "trace.h"

QCryptoTLSCreds *qcrypto_tls_creds_new(const UserObjectClass *klass,
                                       QCryptoTLSCredsKind kind,
                                       const char *id, QemuOpts *opts,
                                       bool dir_required, Error **errp)
{
    const char *endpoint = qemu_opt_get(opts, "endpoint");
    const char *dir = qemu_opt_get(opts, "dir");
    const char *priority = qemu_opt_get(opts, "priority");
    QCryptoTLSCreds *creds;
    bool verify_peer, loaded;

    if (!qemu_opt_get_bool_checked(opts, "verify-peer", true, &verify_peer,
                                   errp) ||
        /* 7.2's deprecated read-only marker; accepted, means nothing */
        !qemu_opt_get_bool_checked(opts, "loaded", true, &loaded, errp)) {
        return NULL;
    }
    if (endpoint && strcmp(endpoint, "client") && strcmp(endpoint, "server")) {
        error_setg(errp, "%s '%s': parameter 'endpoint' does not accept "
                   "value '%s' (expects 'server' or 'client')",
                   klass->type, id, endpoint);
        return NULL;
    }
    if (dir_required && (!dir || !*dir)) {
        error_setg(errp, "Missing 'dir' property value");
        return NULL;
    }
    if (priority && !*priority) {
        error_setg(errp, "%s '%s': parameter 'priority' must not be empty",
                   klass->type, id);
        return NULL;
    }
    creds = g_new0(QCryptoTLSCreds, 1);
    user_object_init(&creds->parent, klass, id);
    creds->kind = kind;
    /* QEMU's default endpoint is client */
    creds->endpoint = endpoint && !strcmp(endpoint, "server") ?
                      QCRYPTO_TLS_CREDS_ENDPOINT_SERVER :
                      QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT;
    creds->dir = dir && *dir ? g_strdup(dir) : NULL;
    creds->verify_peer = verify_peer;
    creds->priority = g_strdup(priority ? priority :
                               QCRYPTO_TLS_CREDS_DEFAULT_PRIORITY);
    creds->priority_given = priority != NULL;
    trace_qcrypto_tls_creds_new(klass->type, id, creds->endpoint,
                                creds->dir ? creds->dir : "");
    return creds;
}

void qcrypto_tls_creds_free(QCryptoTLSCreds *creds)
{
    if (creds->dh_params) {
        gnutls_dh_params_deinit(creds->dh_params);
    }
    g_free(creds->dir);
    g_free(creds->priority);
    g_free(creds->username);
    g_free(creds);
}

char *qcrypto_tls_creds_get_path(QCryptoTLSCreds *creds,
                                 const char *filename, bool required,
                                 Error **errp)
{
    char *path;

    if (!creds->dir) {
        if (required) {
            error_setg(errp, "Missing 'dir' property value");
        }
        return NULL;
    }
    path = g_build_filename(creds->dir, filename, NULL);
    if (access(path, R_OK) < 0) {
        if (required || errno != ENOENT) {
            error_setg_errno(errp, errno, "Unable to access credentials %s",
                             path);
        }
        trace_qcrypto_tls_creds_get_path(filename, "");
        g_free(path);
        return NULL;
    }
    trace_qcrypto_tls_creds_get_path(filename, path);
    return path;
}

bool qcrypto_tls_creds_load_dh(QCryptoTLSCreds *creds, Error **errp)
{
    Error *err = NULL;
    g_autofree char *path =
        qcrypto_tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_DH_PARAMS, false,
                                   &err);
    g_autofree char *data = NULL;
    gsize len;
    gnutls_datum_t datum;
    GError *gerr = NULL;
    int ret;

    if (!path) {
        if (err) {
            error_propagate(errp, err);
            return false;
        }
        return true;
    }
    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        error_setg(errp, "Cannot load DH parameters from %s: %s", path,
                   gerr->message);
        g_error_free(gerr);
        return false;
    }
    datum.data = (unsigned char *)data;
    datum.size = len;
    gnutls_dh_params_init(&creds->dh_params);
    ret = gnutls_dh_params_import_pkcs3(creds->dh_params, &datum,
                                        GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        error_setg(errp, "Unable to load DH parameters from %s: %s", path,
                   gnutls_strerror(ret));
        gnutls_dh_params_deinit(creds->dh_params);
        creds->dh_params = NULL;
        return false;
    }
    return true;
}

QCryptoTLSCreds *qcrypto_tls_creds_find(const char *id,
                                        QCryptoTLSCredsEndpoint endpoint,
                                        Error **errp)
{
    UserObject *obj = user_object_find(id);
    QCryptoTLSCreds *creds;

    if (!obj) {
        error_setg(errp, "No TLS credentials with id '%s'", id);
        return NULL;
    }
    if (!user_object_is_a(obj, TYPE_QCRYPTO_TLS_CREDS)) {
        error_setg(errp, "Object with id '%s' is not TLS credentials", id);
        return NULL;
    }
    creds = (QCryptoTLSCreds *)obj;
    if (creds->endpoint != endpoint) {
        error_setg(errp, "Expected TLS credentials for a %s endpoint",
                   endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT ?
                   "client" : "server");
        return NULL;
    }
    user_object_ref(obj);
    return creds;
}

void qcrypto_tls_creds_unref(QCryptoTLSCreds *creds)
{
    if (creds) {
        user_object_unref(&creds->parent);
    }
}

const char *qcrypto_tls_creds_id(QCryptoTLSCreds *creds)
{
    return creds->parent.id;
}

QCryptoTLSCredsKind qcrypto_tls_creds_kind(QCryptoTLSCreds *creds)
{
    return creds->kind;
}

QCryptoTLSCredsEndpoint qcrypto_tls_creds_endpoint(QCryptoTLSCreds *creds)
{
    return creds->endpoint;
}

bool qcrypto_tls_creds_verify_peer(QCryptoTLSCreds *creds)
{
    return creds->verify_peer;
}
