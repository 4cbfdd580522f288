/*
 * Test helpers: TLS credential directories made at test time with
 * GnuTLS's certtool (package gnutls-bin), for the unit and qtest TLS
 * tests.  Header-only (static functions) so that both test directories
 * can include it.
 *
 * One RSA key signs and is used by every certificate (as QEMU's tests
 * do), so a whole set costs one key generation.  Certificates follow
 * QEMU 7.2's test certificates: a CA with critical basicConstraints
 * CA:TRUE and keyCertSign; leaves with critical keyUsage
 * digitalSignature|keyEncipherment and the TLS server/client purpose.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TESTS_TLS_CERTS_H
#define TESTS_TLS_CERTS_H

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

/* True if certtool is installed (tests skip otherwise, saying so). */
static inline bool tls_certs_available(void)
{
    g_autofree char *p = g_find_program_in_path("certtool");

    return p != NULL;
}

static inline void tls_certs_run(const char *const *argv)
{
    g_autofree char *out = NULL, *err = NULL;
    GError *gerr = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
                      NULL, &out, &err, &status, &gerr)) {
        g_error("cannot run %s: %s", argv[0], gerr->message);
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_error("%s %s failed: %s", argv[0], argv[1], err);
    }
}

static inline void tls_certs_write(const char *path, const char *text)
{
    GError *gerr = NULL;

    if (!g_file_set_contents(path, text, -1, &gerr)) {
        g_error("cannot write %s: %s", path, gerr->message);
    }
}

/* The signing key, made once in @dir (key.pem). */
static inline char *tls_certs_key(const char *dir)
{
    char *key = g_build_filename(dir, "key.pem", NULL);

    if (!g_file_test(key, G_FILE_TEST_EXISTS)) {
        const char *argv[] = { "certtool", "--generate-privkey",
                               "--key-type=rsa", "--bits=2048",
                               "--outfile", key, NULL };
        tls_certs_run(argv);
    }
    return key;
}

/* A self-signed CA named @cn: @dir/ca-cert.pem. */
static inline void tls_certs_ca(const char *dir, const char *key,
                                const char *cn)
{
    g_autofree char *tmpl = g_build_filename(dir, "ca.info", NULL);
    g_autofree char *out = g_build_filename(dir, "ca-cert.pem", NULL);
    g_autofree char *text = g_strdup_printf(
        "cn = \"%s\"\nca\ncert_signing_key\nexpiration_days = 1\n", cn);
    const char *argv[] = { "certtool", "--generate-self-signed",
                           "--load-privkey", key, "--template", tmpl,
                           "--outfile", out, "--no-text", NULL };

    tls_certs_write(tmpl, text);
    tls_certs_run(argv);
}

typedef struct TLSCertSpec {
    bool server;          /* server-cert/-key.pem, else client-... */
    const char *cn;
    const char *ip;       /* SAN IP, or NULL */
    const char *dns;      /* SAN DNS, or NULL */
    bool expired;         /* valid only on 2020-01-01 */
} TLSCertSpec;

/*
 * A leaf certificate signed by the CA in @cadir (its ca-cert.pem, @key),
 * written with its key into @dir as server-* or client-*; @dir also gets
 * a copy of @trustdir's ca-cert.pem (the CA this side trusts).
 */
static inline void tls_certs_leaf(const char *dir, const char *cadir,
                                  const char *trustdir, const char *key,
                                  const TLSCertSpec *spec)
{
    const char *who = spec->server ? "server" : "client";
    g_autofree char *tmpl = g_strdup_printf("%s/%s.info", dir, who);
    g_autofree char *cert = g_strdup_printf("%s/%s-cert.pem", dir, who);
    g_autofree char *keyout = g_strdup_printf("%s/%s-key.pem", dir, who);
    g_autofree char *cacert = g_build_filename(cadir, "ca-cert.pem", NULL);
    g_autofree char *trust = g_build_filename(trustdir, "ca-cert.pem", NULL);
    g_autofree char *trustout = g_build_filename(dir, "ca-cert.pem", NULL);
    g_autofree char *keytext = NULL, *catext = NULL;
    GString *t = g_string_new("");
    const char *argv[] = { "certtool", "--generate-certificate",
                           "--load-privkey", key,
                           "--load-ca-certificate", cacert,
                           "--load-ca-privkey", key, "--template", tmpl,
                           "--outfile", cert, "--no-text", NULL };

    g_mkdir_with_parents(dir, 0700);
    g_string_append(t, "country = \"UK\"\norganization = \"Example Org\"\n");
    g_string_append_printf(t, "cn = \"%s\"\n", spec->cn);
    if (spec->ip) {
        g_string_append_printf(t, "ip_address = \"%s\"\n", spec->ip);
    }
    if (spec->dns) {
        g_string_append_printf(t, "dns_name = \"%s\"\n", spec->dns);
    }
    g_string_append(t, spec->server ? "tls_www_server\n" : "tls_www_client\n");
    g_string_append(t, "encryption_key\nsigning_key\n");
    if (spec->expired) {
        g_string_append(t, "activation_date = \"2020-01-01 00:00:00 UTC\"\n"
                           "expiration_date = \"2020-01-02 00:00:00 UTC\"\n");
    } else {
        g_string_append(t, "expiration_days = 1\n");
    }
    tls_certs_write(tmpl, t->str);
    g_string_free(t, true);
    tls_certs_run(argv);
    g_assert_true(g_file_get_contents(key, &keytext, NULL, NULL));
    tls_certs_write(keyout, keytext);
    g_assert_true(g_file_get_contents(trust, &catext, NULL, NULL));
    tls_certs_write(trustout, catext);
}

/* @dir/keys.psk with one "USER:HEXKEY" line. */
static inline void tls_certs_psk(const char *dir, const char *user,
                                 const char *hexkey)
{
    g_autofree char *path = g_build_filename(dir, "keys.psk", NULL);
    g_autofree char *line = g_strdup_printf("%s:%s\n", user, hexkey);

    g_mkdir_with_parents(dir, 0700);
    tls_certs_write(path, line);
}

#endif
