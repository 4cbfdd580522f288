/*
 * tls-creds-psk: pre-shared keys from dir=/keys.psk, lines
 * "USERNAME:HEXKEY" (as psktool writes them).  The server hands the
 * file to GnuTLS; the client uses the key of its username= (default
 * "qemu").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "crypto/tlscredspsk.h"
#include "crypto/tlscredspriv.h"
#include "trace.h"

static void psk_finalize(UserObject *obj)
{
    QCryptoTLSCreds *creds = (QCryptoTLSCreds *)obj;

    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        if (creds->data.psk_server) {
            gnutls_psk_free_server_credentials(creds->data.psk_server);
        }
    } else if (creds->data.psk_client) {
        gnutls_psk_free_client_credentials(creds->data.psk_client);
    }
    qcrypto_tls_creds_free(creds);
}

/*
 * The key of @username in @path, hex, checked: the line is at most
 * QCRYPTO_TLS_CREDS_PSK_MAX_LINE long and the key is non-empty,
 * even-length hex.
 */
static char *find_key(const char *path, const char *username, Error **errp)
{
    g_autofree char *data = NULL;
    g_auto(GStrv) lines = NULL;
    size_t ulen = strlen(username);
    GError *gerr = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &gerr)) {
        error_setg(errp, "Cannot read PSK file %s: %s", path, gerr->message);
        g_error_free(gerr);
        return NULL;
    }
    if (memchr(data, '\0', len)) {
        error_setg(errp, "PSK file %s contains a NUL byte", path);
        return NULL;
    }
    lines = g_strsplit(data, "\n", -1);
    for (size_t i = 0; lines[i]; i++) {
        const char *line = lines[i];
        const char *key;
        size_t klen;

        if (strncmp(line, username, ulen) || line[ulen] != ':') {
            continue;
        }
        key = line + ulen + 1;
        klen = strcspn(key, "\r");
        if (strlen(line) > QCRYPTO_TLS_CREDS_PSK_MAX_LINE) {
            error_setg(errp, "PSK file %s line %zu is longer than %d bytes",
                       path, i + 1, QCRYPTO_TLS_CREDS_PSK_MAX_LINE);
            return NULL;
        }
        if (klen == 0 || klen % 2) {
            error_setg(errp, "PSK file %s line %zu: the key of '%s' is not "
                       "an even number of hex digits", path, i + 1,
                       username);
            return NULL;
        }
        for (size_t j = 0; j < klen; j++) {
            if (!g_ascii_isxdigit(key[j])) {
                error_setg(errp, "PSK file %s line %zu: the key of '%s' is "
                           "not hex", path, i + 1, username);
                return NULL;
            }
        }
        return g_strndup(key, klen);
    }
    error_setg(errp, "Username %s not found in PSK file %s", username, path);
    return NULL;
}

static bool psk_load(QCryptoTLSCreds *creds, Error **errp)
{
    g_autofree char *path =
        qcrypto_tls_creds_get_path(creds, QCRYPTO_TLS_CREDS_PSKFILE, true,
                                   errp);
    int ret;

    if (!path) {
        return false;
    }
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER) {
        ret = gnutls_psk_allocate_server_credentials(&creds->data.psk_server);
        if (ret < 0) {
            error_setg(errp, "Cannot allocate credentials: %s",
                       gnutls_strerror(ret));
            return false;
        }
        ret = gnutls_psk_set_server_credentials_file(creds->data.psk_server,
                                                     path);
        if (ret < 0) {
            error_setg(errp, "Cannot set PSK server credentials from %s: %s",
                       path, gnutls_strerror(ret));
            return false;
        }
        if (!qcrypto_tls_creds_load_dh(creds, errp)) {
            return false;
        }
        if (creds->dh_params) {
            gnutls_psk_set_server_dh_params(creds->data.psk_server,
                                            creds->dh_params);
        } else {
            gnutls_psk_set_server_known_dh_params(creds->data.psk_server,
                                                  GNUTLS_SEC_PARAM_MEDIUM);
        }
    } else {
        g_autofree char *hex = find_key(path, creds->username, errp);
        gnutls_datum_t key;

        if (!hex) {
            return false;
        }
        ret = gnutls_psk_allocate_client_credentials(&creds->data.psk_client);
        if (ret < 0) {
            error_setg(errp, "Cannot allocate credentials: %s",
                       gnutls_strerror(ret));
            return false;
        }
        key.data = (unsigned char *)hex;
        key.size = strlen(hex);
        ret = gnutls_psk_set_client_credentials(creds->data.psk_client,
                                                creds->username, &key,
                                                GNUTLS_PSK_KEY_HEX);
        explicit_bzero(hex, key.size);
        if (ret < 0) {
            error_setg(errp, "Cannot set PSK client credentials: %s",
                       gnutls_strerror(ret));
            return false;
        }
    }
    return true;
}

static UserObject *psk_create(const char *id, QemuOpts *opts, Error **errp)
{
    const char *username = qemu_opt_get(opts, "username");
    QCryptoTLSCreds *creds;

    creds = qcrypto_tls_creds_new(&qcrypto_tls_creds_psk_class,
                                  QCRYPTO_TLS_CREDS_KIND_PSK, id, opts, true,
                                  errp);
    if (!creds) {
        return NULL;
    }
    if (creds->endpoint == QCRYPTO_TLS_CREDS_ENDPOINT_SERVER && username) {
        error_setg(errp, "username should not be set when endpoint=server");
        goto fail;
    }
    if (username && (!*username || strchr(username, ':'))) {
        error_setg(errp, "tls-creds-psk '%s': username must be non-empty and "
                   "have no ':'", id);
        goto fail;
    }
    creds->username = g_strdup(username ? username :
                               QCRYPTO_TLS_CREDS_DEFAULT_PSK_USERNAME);
    if (!psk_load(creds, errp)) {
        goto fail;
    }
    return &creds->parent;
fail:
    g_free(creds->parent.id);
    psk_finalize(&creds->parent);
    return NULL;
}

const UserObjectClass qcrypto_tls_creds_psk_class = {
    .type = "tls-creds-psk",
    .parent = TYPE_QCRYPTO_TLS_CREDS,
    .create = psk_create,
    .finalize = psk_finalize,
};
