/*
 * TLS for migration channels; see migration/tls.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/options.h"
#include "migration/tls.h"
#include "migration/trace.h"
#ifdef CONFIG_GNUTLS
#include "io/channel-tls.h"
#include "authz/base.h"
#endif

bool migrate_tls(void)
{
    const char *creds = migrate_tls_creds();

    return creds && *creds;
}

const char *migration_tls_hostname(const char *uri_host)
{
    const char *h = migrate_tls_hostname();

    return h && *h ? h : uri_host;
}

#ifdef CONFIG_GNUTLS

static const char *const tls_refused_schemes[] = { "exec:", "file:", "rdma:" };

bool migration_tls_check(const char *uri, bool source, Error **errp)
{
    QCryptoTLSCreds *creds;
    const char *authz = migrate_tls_authz();

    if (!migrate_tls()) {
        return true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(tls_refused_schemes); i++) {
        if (g_str_has_prefix(uri, tls_refused_schemes[i])) {
            error_setg(errp, "TLS (tls-creds '%s') cannot be used with the "
                       "%s transport: use tcp:, unix:, vsock: or fd: of a "
                       "socket", migrate_tls_creds(), tls_refused_schemes[i]);
            return false;
        }
    }
    creds = qcrypto_tls_creds_find(migrate_tls_creds(),
                                   source ? QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT
                                          : QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
                                   errp);
    if (!creds) {
        return false;
    }
    qcrypto_tls_creds_unref(creds);
    if (!source && authz && *authz) {
        QAuthZ *a = qauthz_find(authz, errp);

        if (!a) {
            return false;
        }
        user_object_unref(&a->parent);
    }
    return true;
}

bool migration_channel_is_tls(QIOChannel *ioc)
{
    return qio_channel_is_type(ioc, &qio_channel_tls_class);
}

bool migration_tls_client_start(QIOChannel *ioc, const char *hostname,
                                QIOTaskFunc func, gpointer opaque,
                                GDestroyNotify destroy,
                                GMainContext *context, Error **errp)
{
    QCryptoTLSCreds *creds;
    QIOChannelTLS *tioc;

    creds = qcrypto_tls_creds_find(migrate_tls_creds(),
                                   QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT, errp);
    if (!creds) {
        return false;
    }
    tioc = qio_channel_tls_new_client(ioc, creds, hostname, errp);
    qcrypto_tls_creds_unref(creds);
    if (!tioc) {
        return false;
    }
    trace_migration_tls_outgoing_handshake_start(hostname ? hostname : "");
    qio_channel_set_name(QIO_CHANNEL(tioc), "migration-tls-outgoing");
    qio_channel_tls_handshake(tioc, func, opaque, destroy, context);
    /* the handshake task holds the channel now */
    qio_channel_unref(QIO_CHANNEL(tioc));
    return true;
}

bool migration_tls_server_start(QIOChannel *ioc, QIOTaskFunc func,
                                gpointer opaque, GDestroyNotify destroy,
                                GMainContext *context, Error **errp)
{
    QCryptoTLSCreds *creds;
    QIOChannelTLS *tioc;
    const char *authz = migrate_tls_authz();

    creds = qcrypto_tls_creds_find(migrate_tls_creds(),
                                   QCRYPTO_TLS_CREDS_ENDPOINT_SERVER, errp);
    if (!creds) {
        return false;
    }
    tioc = qio_channel_tls_new_server(ioc, creds,
                                      authz && *authz ? authz : NULL, errp);
    qcrypto_tls_creds_unref(creds);
    if (!tioc) {
        return false;
    }
    trace_migration_tls_incoming_handshake_start(migrate_tls_creds());
    qio_channel_set_name(QIO_CHANNEL(tioc), "migration-tls-incoming");
    qio_channel_tls_handshake(tioc, func, opaque, destroy, context);
    qio_channel_unref(QIO_CHANNEL(tioc));
    return true;
}

#else /* !CONFIG_GNUTLS */

static void no_tls(Error **errp)
{
    error_setg(errp, "TLS migration needs gnutls, and this build of Godwit "
               "has none");
}

bool migration_tls_check(const char *uri, bool source, Error **errp)
{
    if (migrate_tls()) {
        no_tls(errp);
        return false;
    }
    return true;
}

bool migration_channel_is_tls(QIOChannel *ioc)
{
    return false;
}

bool migration_tls_client_start(QIOChannel *ioc, const char *hostname,
                                QIOTaskFunc func, gpointer opaque,
                                GDestroyNotify destroy,
                                GMainContext *context, Error **errp)
{
    no_tls(errp);
    return false;
}

bool migration_tls_server_start(QIOChannel *ioc, QIOTaskFunc func,
                                gpointer opaque, GDestroyNotify destroy,
                                GMainContext *context, Error **errp)
{
    no_tls(errp);
    return false;
}

#endif
