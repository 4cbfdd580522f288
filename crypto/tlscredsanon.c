/*
 * tls-creds-anon: anonymous Diffie-Hellman (no authentication; TLS 1.2
 * only, as TLS 1.3 has no anonymous key exchange).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlscredsanon.h"
#include "crypto/tlscredspriv.h"

static void anon_finalize(UserObject *obj)
{
    QCryptoTLSCreds *creds = (QCryptoTLSCreds *)obj;

    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        if (creds->data.anon_server) {
            gnutls_anon_free_server_credentials(creds->data.anon_server);
        }
    } else if (creds->data.anon_client) {
        gnutls_anon_free_client_credentials(creds->data.anon_client);
    }
    qcrypto_tls_creds_free(creds);
}

static UserObject *anon_create(const char *id, QemuOpts *opts, Error **errp)
{
    QCryptoTLSCreds *creds;
    int ret;

    creds = qcrypto_tls_creds_new(&qcrypto_tls_creds_anon_class,
                                  QCRYPTO_TLS_CREDS_KIND_ANON, id, opts,
                                  false, errp);
    if (!creds) {
        return NULL;
    }
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        ret = gnutls_anon_allocate_server_credentials(&creds->data.anon_server);
        if (ret >= 0) {
            if (!qcrypto_tls_creds_load_dh(creds, errp)) {
                goto fail;
            }
            if (creds->dh_params) {
                gnutls_anon_set_server_dh_params(creds->data.anon_server,
                                                 creds->dh_params);
            } else {
                gnutls_anon_set_server_known_dh_params(creds->data.anon_server,
                                                       GNUTLS_SEC_PARAM_MEDIUM);
            }
        }
    } else {
        ret = gnutls_anon_allocate_client_credentials(&creds->data.anon_client);
    }
    if (ret < 0) {
        error_setg(errp, "Cannot allocate credentials: %s",
                   gnutls_strerror(ret));
        goto fail;
    }
    return &creds->parent;
fail:
    g_free(creds->parent.id);
    anon_finalize(&creds->parent);
    return NULL;
}

const UserObjectClass qcrypto_tls_creds_anon_class = {
    .type = "tls-creds-anon",
    .parent = TYPE_QCRYPTO_TLS_CREDS,
    .create = anon_create,
    .finalize = anon_finalize,
};
