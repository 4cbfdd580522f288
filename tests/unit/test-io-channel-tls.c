/*
 * Tests of QIOChannelTLS, the TLS credential objects and authz objects,
 * with certificates generated at test time by certtool.
 *
 * Each case runs a client and a server channel over a socketpair in one
 * main context: both handshakes are started, then the context iterates
 * until both have finished.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-socket.h"
#include "io/channel-tls.h"
#include "qom/object_interfaces.h"
#include "crypto/tlscreds.h"
#include "../tls-certs.h"

#include <sys/socket.h>

static char *tmpdir;
static char *key;

/* ------------------------------------------------------------ fixtures */

/* dirs under tmpdir: ca (CA), ca2 (another CA), and per-case leaves */
static char *dir_of(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void make_x509_dir(const char *name, const char *signer,
                          const char *trust, const TLSCertSpec *spec)
{
    g_autofree char *d = dir_of(name);
    g_autofree char *ca = dir_of(signer);
    g_autofree char *tr = dir_of(trust);

    tls_certs_leaf(d, ca, tr, key, spec);
}

static void setup_certs(void)
{
    g_autofree char *ca = dir_of("ca");
    g_autofree char *ca2 = dir_of("ca2");
    static const TLSCertSpec server = {
        .server = true, .cn = "127.0.0.1", .ip = "127.0.0.1",
        .dns = "localhost",
    };
    static const TLSCertSpec client = {
        .cn = "ACME QEMU Client",
    };
    static const TLSCertSpec hostile = {
        .cn = "ACME Hostile Client",
    };
    static const TLSCertSpec expired = {
        .server = true, .cn = "127.0.0.1", .ip = "127.0.0.1",
        .expired = true,
    };

    g_mkdir_with_parents(ca, 0700);
    g_mkdir_with_parents(ca2, 0700);
    key = tls_certs_key(tmpdir);
    tls_certs_ca(ca, key, "qemu-CA");
    tls_certs_ca(ca2, key, "other-CA");
    make_x509_dir("server", "ca", "ca", &server);
    make_x509_dir("client", "ca", "ca", &client);
    make_x509_dir("hostile", "ca", "ca", &hostile);
    make_x509_dir("expired", "ca", "ca", &expired);
    /* a client that trusts another CA than the server's */
    make_x509_dir("client-ca2", "ca", "ca2", &client);
    /* a client with no certificate: only the CA */
    {
        g_autofree char *anon = dir_of("anon");
        g_autofree char *src = g_build_filename(ca, "ca-cert.pem", NULL);
        g_autofree char *dst = g_build_filename(anon, "ca-cert.pem", NULL);
        g_autofree char *text = NULL;

        g_mkdir_with_parents(anon, 0700);
        g_assert_true(g_file_get_contents(src, &text, NULL, NULL));
        tls_certs_write(dst, text);
    }
    {
        g_autofree char *p1 = dir_of("psk");
        g_autofree char *p2 = dir_of("psk-alt");

        tls_certs_psk(p1, "qemu", "009d5638c40fde0c");
        tls_certs_psk(p2, "qemu", "10ffa6a2c42f0388");
    }
}

static void add_object(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void add_object(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *s = NULL;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    user_object_add_str(s, false, &error_abort);
}

static void del_object(const char *id)
{
    user_object_del(id, &error_abort);
}

/* --------------------------------------------------- handshake harness */

typedef struct Side {
    bool done;
    char *err;
} Side;

static void handshake_done(QIOTask *task, gpointer opaque)
{
    Side *side = opaque;
    Error *err = NULL;

    side->done = true;
    if (qio_task_propagate_error(task, &err)) {
        side->err = g_strdup(error_get_pretty(err));
        error_free(err);
    }
}

typedef struct Pair {
    QIOChannelTLS *client;
    QIOChannelTLS *server;
    Side cs, ss;
} Pair;

/*
 * Handshake between creds @cid (client) and @sid (server).  Waits until
 * both ends finished, or one failed and the other stopped (a failing end
 * closes its socket so the other does not wait for ever).
 */
static void pair_handshake(Pair *p, const char *cid, const char *sid,
                           const char *hostname, const char *authz)
{
    int sv[2];
    QIOChannelSocket *a, *b;
    QCryptoTLSCreds *cc, *sc;

    memset(p, 0, sizeof(*p));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    a = qio_channel_socket_new_fd(sv[0], &error_abort);
    b = qio_channel_socket_new_fd(sv[1], &error_abort);
    cc = qcrypto_tls_creds_find(cid, QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT,
                                &error_abort);
    sc = qcrypto_tls_creds_find(sid, QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
                                &error_abort);
    p->client = qio_channel_tls_new_client(QIO_CHANNEL(a), cc, hostname,
                                           &error_abort);
    p->server = qio_channel_tls_new_server(QIO_CHANNEL(b), sc, authz,
                                           &error_abort);
    qcrypto_tls_creds_unref(cc);
    qcrypto_tls_creds_unref(sc);
    qio_channel_unref(QIO_CHANNEL(a));
    qio_channel_unref(QIO_CHANNEL(b));

    qio_channel_tls_handshake(p->server, handshake_done, &p->ss, NULL, NULL);
    qio_channel_tls_handshake(p->client, handshake_done, &p->cs, NULL, NULL);
    while (!p->cs.done || !p->ss.done) {
        if (p->cs.done && p->cs.err && !p->ss.done) {
            qio_channel_close(QIO_CHANNEL(p->client), NULL);
        }
        if (p->ss.done && p->ss.err && !p->cs.done) {
            qio_channel_close(QIO_CHANNEL(p->server), NULL);
        }
        g_main_context_iteration(NULL, TRUE);
    }
}

static void pair_free(Pair *p)
{
    qio_channel_unref(QIO_CHANNEL(p->client));
    qio_channel_unref(QIO_CHANNEL(p->server));
    g_free(p->cs.err);
    g_free(p->ss.err);
}

static void assert_ok(Pair *p)
{
    if (p->cs.err || p->ss.err) {
        g_error("handshake failed: client '%s' server '%s'",
                p->cs.err ? p->cs.err : "", p->ss.err ? p->ss.err : "");
    }
}

/* The side @s failed, and its message contains @what. */
static void assert_failed(Side *s, const char *what)
{
    g_assert_nonnull(s->err);
    if (!strstr(s->err, what)) {
        g_error("expected an error containing '%s', got '%s'", what, s->err);
    }
}

/* Data both ways: a large blocking transfer checked byte by byte. */
static gpointer writer_thread(gpointer opaque)
{
    QIOChannel *c = opaque;
    size_t len = 4 * 1024 * 1024 + 123;
    g_autofree uint8_t *buf = g_malloc(len);
    struct iovec iov[3];

    for (size_t i = 0; i < len; i++) {
        buf[i] = i * 7 + (i >> 12);
    }
    /* an uneven vector: small, page-sized, rest */
    iov[0] = (struct iovec) { buf, 5 };
    iov[1] = (struct iovec) { buf + 5, 4096 };
    iov[2] = (struct iovec) { buf + 4101, len - 4101 };
    g_assert_cmpint(qio_channel_writev_all(c, iov, 3, &error_abort), ==, 0);
    return NULL;
}

static void transfer(QIOChannel *from, QIOChannel *to)
{
    size_t len = 4 * 1024 * 1024 + 123;
    g_autofree uint8_t *buf = g_malloc(len);
    GThread *t = g_thread_new("tls-writer", writer_thread, from);

    g_assert_cmpint(qio_channel_read_all(to, (char *)buf, len, &error_abort),
                    ==, 0);
    g_thread_join(t);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != (uint8_t)(i * 7 + (i >> 12))) {
            g_error("byte %zu differs", i);
        }
    }
}

/* ---------------------------------------------------------------- x509 */

static void test_x509_ok(void)
{
    Pair p;
    g_autofree char *srv = dir_of("server"), *cli = dir_of("client");
    g_autofree char *peer = NULL, *desc = NULL;

    add_object("tls-creds-x509,id=s0,dir=%s,endpoint=server", srv);
    add_object("tls-creds-x509,id=c0,dir=%s,endpoint=client", cli);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", NULL);
    assert_ok(&p);
    peer = qcrypto_tls_session_get_peer_name(
        qio_channel_tls_get_session(p.server));
    g_assert_cmpstr(peer, ==, "C=UK,O=Example Org,CN=ACME QEMU Client");
    desc = qcrypto_tls_session_get_description(
        qio_channel_tls_get_session(p.client));
    g_assert_true(g_str_has_prefix(desc, "TLS1.3"));
    /* blocking transfers both ways, the return path's pattern */
    transfer(QIO_CHANNEL(p.client), QIO_CHANNEL(p.server));
    transfer(QIO_CHANNEL(p.server), QIO_CHANNEL(p.client));
    pair_free(&p);
    /* the hostname may be a DNS SAN too */
    pair_handshake(&p, "c0", "s0", "localhost", NULL);
    assert_ok(&p);
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

static void test_x509_hostname_mismatch(void)
{
    Pair p;
    g_autofree char *srv = dir_of("server"), *cli = dir_of("client");

    add_object("tls-creds-x509,id=s0,dir=%s,endpoint=server", srv);
    add_object("tls-creds-x509,id=c0,dir=%s,endpoint=client", cli);
    pair_handshake(&p, "c0", "s0", "10.0.0.1", NULL);
    assert_failed(&p.cs, "Certificate does not match the hostname 10.0.0.1");
    pair_free(&p);
    /* no hostname at all (a unix socket URI) */
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_failed(&p.cs, "No hostname for certificate validation");
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

static void test_x509_wrong_ca(void)
{
    Pair p;
    g_autofree char *srv = dir_of("server"), *cli = dir_of("client-ca2");

    add_object("tls-creds-x509,id=s0,dir=%s,endpoint=server", srv);
    add_object("tls-creds-x509,id=c0,dir=%s,endpoint=client,"
               "sanity-check=off", cli);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", NULL);
    assert_failed(&p.cs, "The certificate hasn't got a known issuer");
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

static void test_x509_expired(void)
{
    Pair p;
    g_autofree char *srv = dir_of("expired"), *cli = dir_of("client");
    Error *err = NULL;

    /* the sanity check refuses the object at once */
    g_autofree char *s = g_strdup_printf(
        "tls-creds-x509,id=s0,dir=%s,endpoint=server", srv);
    g_assert_false(user_object_add_str(s, false, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "has expired"));
    error_free(err);
    /* without it, the client refuses the certificate */
    add_object("tls-creds-x509,id=s0,dir=%s,endpoint=server,"
               "sanity-check=off", srv);
    add_object("tls-creds-x509,id=c0,dir=%s,endpoint=client", cli);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", NULL);
    assert_failed(&p.cs, "The certificate has expired");
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

static void test_x509_authz(void)
{
    Pair p;
    g_autofree char *srv = dir_of("server"), *cli = dir_of("client");
    g_autofree char *hostile = dir_of("hostile");

    add_object("tls-creds-x509,id=s0,dir=%s,endpoint=server", srv);
    add_object("tls-creds-x509,id=c0,dir=%s,endpoint=client", cli);
    add_object("tls-creds-x509,id=h0,dir=%s,endpoint=client", hostile);
    add_object("authz-simple,id=az0,identity=C=UK,,O=Example Org,,"
               "CN=ACME QEMU Client");
    add_object("{\"qom-type\": \"authz-list\", \"id\": \"az1\", "
               "\"policy\": \"deny\", \"rules\": ["
               "{\"match\": \"*CN=ACME Hostile*\", \"policy\": \"deny\", "
               "\"format\": \"glob\"}, "
               "{\"match\": \"*CN=ACME*\", \"policy\": \"allow\", "
               "\"format\": \"glob\"}]}");
    add_object("authz-list,id=az2,policy=allow,rules.0.match=C=UK,,"
               "O=Example Org,,CN=ACME QEMU Client,rules.0.policy=deny");

    pair_handshake(&p, "c0", "s0", "127.0.0.1", "az0");
    assert_ok(&p);
    pair_free(&p);
    pair_handshake(&p, "h0", "s0", "127.0.0.1", "az0");
    assert_failed(&p.ss, "TLS x509 authz check for C=UK,O=Example Org,"
                  "CN=ACME Hostile Client is denied");
    pair_free(&p);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", "az1");
    assert_ok(&p);
    pair_free(&p);
    pair_handshake(&p, "h0", "s0", "127.0.0.1", "az1");
    assert_failed(&p.ss, "is denied");
    pair_free(&p);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", "az2");
    assert_failed(&p.ss, "is denied");
    pair_free(&p);
    pair_handshake(&p, "h0", "s0", "127.0.0.1", "az2");
    assert_ok(&p);
    pair_free(&p);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", "nosuchauthz");
    assert_failed(&p.ss, "Cannot find QAuthZ object ID nosuchauthz");
    pair_free(&p);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", "c0");
    assert_failed(&p.ss, "Object 'c0' is not a QAuthZ subclass");
    pair_free(&p);
    for (const char *const *id = (const char *const[]){ "az0", "az1", "az2",
         "h0", "c0", "s0", NULL }; *id; id++) {
        del_object(*id);
    }
}

static void test_x509_anon_client(void)
{
    Pair p;
    g_autofree char *srv = dir_of("server"), *anon = dir_of("anon");

    add_object("tls-creds-x509,id=s0,dir=%s,endpoint=server", srv);
    add_object("tls-creds-x509,id=s1,dir=%s,endpoint=server,"
               "verify-peer=off", srv);
    add_object("tls-creds-x509,id=c0,dir=%s,endpoint=client", anon);
    pair_handshake(&p, "c0", "s0", "127.0.0.1", NULL);
    assert_failed(&p.ss, "No certificate was found");
    pair_free(&p);
    pair_handshake(&p, "c0", "s1", "127.0.0.1", NULL);
    assert_ok(&p);
    pair_free(&p);
    del_object("c0");
    del_object("s1");
    del_object("s0");
}

/* ------------------------------------------------------ throughput */

/* The cipher the pair @cid/@sid agreed on ("TLS1.3 AES-128-GCM" etc.). */
static char *pair_cipher(const char *cid, const char *sid)
{
    Pair p;
    char *desc;

    pair_handshake(&p, cid, sid, "127.0.0.1", NULL);
    assert_ok(&p);
    desc = qcrypto_tls_session_get_description(
        qio_channel_tls_get_session(p.client));
    pair_free(&p);
    return desc;
}

/*
 * Without priority= Godwit prefers AES-128-GCM on both ends, also against
 * a peer with plain NORMAL (stock QEMU's default) on either side; with
 * priority= the string is used verbatim.
 */
static void test_cipher_default(void)
{
    g_autofree char *srv = dir_of("server"), *cli = dir_of("client");
    static const struct {
        const char *client, *server, *cipher;
    } cases[] = {
        { "c0", "s0", "AES-128-GCM" },
        { "cq", "s0", "AES-128-GCM" },   /* stock QEMU client */
        { "c0", "sq", "AES-128-GCM" },   /* stock QEMU server */
        { "c2", "s2", "AES-256-GCM" },   /* priority= verbatim */
    };

    add_object("tls-creds-x509,id=s0,dir=%s,endpoint=server", srv);
    add_object("tls-creds-x509,id=c0,dir=%s,endpoint=client", cli);
    add_object("tls-creds-x509,id=sq,dir=%s,endpoint=server,"
               "priority=NORMAL", srv);
    add_object("tls-creds-x509,id=cq,dir=%s,endpoint=client,"
               "priority=NORMAL", cli);
    add_object("tls-creds-x509,id=s2,dir=%s,endpoint=server,"
               "priority=NORMAL:-CIPHER-ALL:+AES-256-GCM", srv);
    add_object("tls-creds-x509,id=c2,dir=%s,endpoint=client,"
               "priority=NORMAL:-CIPHER-ALL:+AES-256-GCM", cli);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *desc = pair_cipher(cases[i].client,
                                            cases[i].server);

        if (!strstr(desc, cases[i].cipher)) {
            g_error("%s/%s: expected %s, got %s", cases[i].client,
                    cases[i].server, cases[i].cipher, desc);
        }
    }
    for (const char *const *id = (const char *const[]){ "s0", "c0", "sq",
         "cq", "s2", "c2", NULL }; *id; id++) {
        del_object(*id);
    }
}

/*
 * Records that are all here already come back from one read: a QEMUFile
 * refill gets many 16 KiB records, not one.  Then the same data read in
 * uneven pieces (a partial record waits in the read-ahead).
 */
static void test_multi_record_read(void)
{
    Pair p;
    g_autofree char *d = dir_of("psk");
    size_t len = 4 * 16384;
    g_autofree uint8_t *out = g_malloc(len);
    g_autofree uint8_t *in = g_malloc0(4 * len);
    struct iovec iov;

    add_object("tls-creds-psk,id=s0,dir=%s,endpoint=server", d);
    add_object("tls-creds-psk,id=c0,dir=%s,endpoint=client", d);
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    for (size_t i = 0; i < len; i++) {
        out[i] = i * 13 + (i >> 14);
    }
    iov = (struct iovec) { out, len };
    /* far below the socket buffer: the write completes at once */
    g_assert_cmpint(qio_channel_writev_all(QIO_CHANNEL(p.client), &iov, 1,
                                           &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(p.server), (char *)in,
                                     4 * len, &error_abort), ==, len);
    g_assert_cmpmem(in, len, out, len);
    memset(in, 0, len);
    g_assert_cmpint(qio_channel_writev_all(QIO_CHANNEL(p.client), &iov, 1,
                                           &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(p.server), (char *)in,
                                         5, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(p.server),
                                         (char *)in + 5, len - 5,
                                         &error_abort), ==, 0);
    g_assert_cmpmem(in, len, out, len);
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

/* ----------------------------------------------------------------- psk */

static void test_psk(void)
{
    Pair p;
    g_autofree char *d = dir_of("psk"), *alt = dir_of("psk-alt");
    g_autofree char *peer = NULL;

    add_object("tls-creds-psk,id=s0,dir=%s,endpoint=server", d);
    add_object("tls-creds-psk,id=s1,dir=%s,endpoint=server", alt);
    add_object("tls-creds-psk,id=c0,dir=%s,endpoint=client,username=qemu",
               d);
    add_object("authz-simple,id=az0,identity=qemu");
    add_object("authz-simple,id=az1,identity=someone-else");
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    peer = qcrypto_tls_session_get_peer_name(
        qio_channel_tls_get_session(p.server));
    g_assert_cmpstr(peer, ==, "qemu");
    transfer(QIO_CHANNEL(p.client), QIO_CHANNEL(p.server));
    pair_free(&p);
    pair_handshake(&p, "c0", "s1", NULL, NULL);
    assert_failed(&p.ss, "TLS handshake failed");
    assert_failed(&p.cs, "TLS handshake failed");
    pair_free(&p);
    pair_handshake(&p, "c0", "s0", NULL, "az0");
    assert_ok(&p);
    pair_free(&p);
    pair_handshake(&p, "c0", "s0", NULL, "az1");
    assert_failed(&p.ss, "TLS PSK authz check for qemu is denied");
    pair_free(&p);
    for (const char *const *id = (const char *const[]){ "az0", "az1", "c0",
         "s1", "s0", NULL }; *id; id++) {
        del_object(*id);
    }
}

/* ------------------------------------------------ non-blocking, ending */

typedef struct NBState {
    QIOChannel *c, *s;
    const uint8_t *out;
    size_t out_len, out_off;
    uint8_t *in;
    size_t in_len, in_off;
} NBState;

static void test_nonblocking(void)
{
    Pair p;
    g_autofree char *d = dir_of("psk");
    NBState st = { 0 };
    size_t len = 1024 * 1024;
    g_autofree uint8_t *out = g_malloc(len), *in = g_malloc0(len);

    add_object("tls-creds-psk,id=s0,dir=%s,endpoint=server", d);
    add_object("tls-creds-psk,id=c0,dir=%s,endpoint=client", d);
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    for (size_t i = 0; i < len; i++) {
        out[i] = i % 251;
    }
    st.c = QIO_CHANNEL(p.client);
    st.s = QIO_CHANNEL(p.server);
    qio_channel_set_blocking(st.c, false, &error_abort);
    qio_channel_set_blocking(st.s, false, &error_abort);
    /* nothing to read yet */
    g_assert_cmpint(qio_channel_read(st.s, (char *)in, 16, &error_abort),
                    ==, QIO_CHANNEL_ERR_BLOCK);
    /* one thread, interleaved: write what fits, read what came */
    while (st.in_off < len) {
        if (st.out_off < len) {
            size_t n = MIN(len - st.out_off, 70000);
            ssize_t w = qio_channel_write(st.c, (char *)out + st.out_off, n,
                                          &error_abort);

            if (w > 0) {
                st.out_off += w;
            } else {
                g_assert_cmpint(w, ==, QIO_CHANNEL_ERR_BLOCK);
            }
        }
        {
            ssize_t r = qio_channel_read(st.s, (char *)in + st.in_off,
                                         len - st.in_off, &error_abort);

            if (r > 0) {
                st.in_off += r;
            } else if (r == QIO_CHANNEL_ERR_BLOCK &&
                       st.out_off == len) {
                /* everything written: wait for the fd */
                qio_channel_wait(st.s, G_IO_IN);
            } else {
                g_assert_cmpint(r, ==, QIO_CHANNEL_ERR_BLOCK);
            }
        }
    }
    g_assert_cmpint(memcmp(in, out, len), ==, 0);
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

static void test_end_of_stream(void)
{
    Pair p;
    g_autofree char *d = dir_of("psk");
    Error *err = NULL;
    char buf[16];

    add_object("tls-creds-psk,id=s0,dir=%s,endpoint=server", d);
    add_object("tls-creds-psk,id=c0,dir=%s,endpoint=client", d);

    /* close_notify is a clean end of file */
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(p.client), "abc", 3,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_tls_bye(p.client, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(p.server), buf, 3,
                                         &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(p.server), buf, 16,
                                     &error_abort), ==, 0);
    pair_free(&p);

    /* the transport ending without close_notify is an error ... */
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    qio_channel_close(QIO_CHANNEL(p.client), &error_abort);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(p.server), buf, 16, &err),
                    ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "Cannot read from TLS channel"));
    error_free(err);
    pair_free(&p);

    /* ... unless this side shut reading down itself */
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    qio_channel_shutdown(QIO_CHANNEL(p.server), QIO_CHANNEL_SHUTDOWN_BOTH,
                         &error_abort);
    g_assert_true(qio_channel_is_shutdown(QIO_CHANNEL(p.server)));
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(p.server), buf, 16,
                                     &error_abort), ==, 0);
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

/* A watch fires for data the session already decrypted. */
static gboolean watch_hit(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    *(int *)opaque += 1;
    return G_SOURCE_REMOVE;
}

static void test_watch(void)
{
    Pair p;
    g_autofree char *d = dir_of("psk");
    char buf[8];
    int hits = 0;

    add_object("tls-creds-psk,id=s0,dir=%s,endpoint=server", d);
    add_object("tls-creds-psk,id=c0,dir=%s,endpoint=client", d);
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(p.client),
                                          "0123456789abcdef", 16,
                                          &error_abort), ==, 0);
    qio_channel_add_watch(QIO_CHANNEL(p.server), G_IO_IN, watch_hit, &hits,
                          NULL);
    while (!hits) {
        g_main_context_iteration(NULL, TRUE);
    }
    /* read half: the rest sits decrypted in the session, the fd is quiet */
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(p.server), buf, 8,
                                     &error_abort), ==, 8);
    qio_channel_add_watch(QIO_CHANNEL(p.server), G_IO_IN, watch_hit, &hits,
                          NULL);
    while (hits < 2) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(p.server), buf, 8,
                                     &error_abort), ==, 8);
    g_assert_cmpint(memcmp(buf, "89abcdef", 8), ==, 0);
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

/*
 * MSG_PEEK: the first bytes are seen without being taken (how multifd
 * tells a main stream from a multifd channel), a watch still fires for
 * them, and the reads that follow return them first, then the rest.
 */
static void test_peek(void)
{
    Pair p;
    g_autofree char *d = dir_of("psk");
    char buf[32];
    struct iovec iov = { buf, 4 };
    int hits = 0;
    size_t got = 0;

    add_object("tls-creds-psk,id=s0,dir=%s,endpoint=server", d);
    add_object("tls-creds-psk,id=c0,dir=%s,endpoint=client", d);
    pair_handshake(&p, "c0", "s0", NULL, NULL);
    assert_ok(&p);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(p.client),
                                          "QEVMabcdefghijklmnopqrstuvwxyz", 30,
                                          &error_abort), ==, 0);
    qio_channel_set_blocking(QIO_CHANNEL(p.server), true, &error_abort);
    for (int i = 0; i < 2; i++) {
        memset(buf, 0, sizeof(buf));
        g_assert_cmpint(qio_channel_readv_full(QIO_CHANNEL(p.server), &iov, 1,
                                               NULL, NULL,
                                               QIO_CHANNEL_READ_FLAG_MSG_PEEK,
                                               &error_abort), ==, 4);
        g_assert_cmpint(memcmp(buf, "QEVM", 4), ==, 0);
    }
    qio_channel_add_watch(QIO_CHANNEL(p.server), G_IO_IN, watch_hit, &hits,
                          NULL);
    while (!hits) {
        g_main_context_iteration(NULL, TRUE);
    }
    memset(buf, 0, sizeof(buf));
    while (got < 30) {
        ssize_t r = qio_channel_read(QIO_CHANNEL(p.server), buf + got,
                                     30 - got, &error_abort);

        g_assert_cmpint(r, >, 0);
        got += r;
    }
    g_assert_cmpint(memcmp(buf, "QEVMabcdefghijklmnopqrstuvwxyz", 30), ==, 0);
    pair_free(&p);
    del_object("c0");
    del_object("s0");
}

/* ----------------------------------------------------- object errors */

typedef struct BadObject {
    const char *path;
    const char *fmt;        /* %s: tmpdir */
    const char *error;      /* substring of the error */
} BadObject;

static const BadObject bad_objects[] = {
    { "/crypto/tls/creds/no-dir", "tls-creds-x509,id=x,endpoint=server",
      "Missing 'dir' property value" },
    { "/crypto/tls/creds/missing-file",
      "tls-creds-x509,id=x,dir=%s/psk,endpoint=server",
      "Unable to access credentials" },
    { "/crypto/tls/creds/bad-endpoint",
      "tls-creds-psk,id=x,dir=%s/psk,endpoint=both",
      "parameter 'endpoint' does not accept value 'both'" },
    { "/crypto/tls/creds/psk-server-username",
      "tls-creds-psk,id=x,dir=%s/psk,endpoint=server,username=qemu",
      "username should not be set when endpoint=server" },
    { "/crypto/tls/creds/psk-unknown-user",
      "tls-creds-psk,id=x,dir=%s/psk,endpoint=client,username=fred",
      "Username fred not found in PSK file" },
    { "/crypto/tls/creds/unknown-property",
      "tls-creds-psk,id=x,dir=%s/psk,endpoint=client,colour=blue",
      "Invalid parameter 'colour'" },
    { "/crypto/tls/creds/client-cert-without-key",
      "tls-creds-x509,id=x,dir=%s/halfclient,endpoint=client",
      "without its key" },
    { "/authz/simple/no-identity", "authz-simple,id=x",
      "property 'identity' is required" },
    { "/authz/list/bad-policy", "authz-list,id=x,policy=maybe",
      "does not accept value 'maybe'" },
    { "/authz/list/bad-rule-key", "authz-list,id=x,rules.0.colour=red",
      "is not a rule property" },
    { "/authz/list/rule-without-policy", "authz-list,id=x,rules.0.match=a",
      "needs both 'match' and 'policy'" },
    { "/qom/object/memory-backend-at-run-time",
      "memory-backend-ram,id=x,size=1M",
      "can only be created with -object on the command line" },
    { "/qom/object/bad-id", "authz-simple,id=1x,identity=a",
      "Parameter 'id' expects an identifier" },
};

static void test_bad_object(gconstpointer opaque)
{
    const BadObject *b = opaque;
    g_autofree char *s = g_strdup_printf(b->fmt, tmpdir);
    Error *err = NULL;

    g_assert_false(user_object_add_str(s, false, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), b->error)) {
        g_error("'%s': expected '%s', got '%s'", s, b->error,
                error_get_pretty(err));
    }
    error_free(err);
    g_assert_null(user_object_find("x"));
}

static void test_object_lifetime(void)
{
    g_autofree char *d = dir_of("psk");
    QCryptoTLSCreds *c;
    Error *err = NULL;

    add_object("tls-creds-psk,id=c0,dir=%s,endpoint=client", d);
    /* duplicate ids are refused */
    g_assert_false(user_object_add_str("authz-simple,id=c0,identity=a",
                                       false, &err));
    error_free_or_abort(&err);
    /* wrong endpoint, wrong kind, unknown id: QEMU's texts */
    g_assert_null(qcrypto_tls_creds_find("c0",
                                         QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
                                         &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Expected TLS credentials for a server endpoint");
    error_free(err);
    err = NULL;
    g_assert_null(qcrypto_tls_creds_find("nope",
                                         QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT,
                                         &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "No TLS credentials with id 'nope'");
    error_free(err);
    err = NULL;
    /* in use: object-del refuses */
    c = qcrypto_tls_creds_find("c0", QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT,
                               &error_abort);
    g_assert_false(user_object_del("c0", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "is in use"));
    error_free(err);
    err = NULL;
    qcrypto_tls_creds_unref(c);
    del_object("c0");
    g_assert_false(user_object_del("c0", &err));
    error_free_or_abort(&err);
}

static void skip_no_certtool(void)
{
    g_test_skip("certtool (package gnutls-bin) is not installed");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    if (!tls_certs_available()) {
        g_test_add_func("/io/channel/tls/skipped", skip_no_certtool);
        return g_test_run();
    }
    tmpdir = g_dir_make_tmp("test-io-channel-tls-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    setup_certs();
    {
        /* a client dir with a certificate but no key */
        g_autofree char *h = dir_of("halfclient");
        g_autofree char *src = g_build_filename(tmpdir, "client",
                                                "client-cert.pem", NULL);
        g_autofree char *ca = g_build_filename(tmpdir, "ca", "ca-cert.pem",
                                               NULL);
        g_autofree char *t1 = NULL, *t2 = NULL;
        g_autofree char *p1 = g_build_filename(h, "client-cert.pem", NULL);
        g_autofree char *p2 = g_build_filename(h, "ca-cert.pem", NULL);

        g_mkdir_with_parents(h, 0700);
        g_assert_true(g_file_get_contents(src, &t1, NULL, NULL));
        g_assert_true(g_file_get_contents(ca, &t2, NULL, NULL));
        tls_certs_write(p1, t1);
        tls_certs_write(p2, t2);
    }

    g_test_add_func("/io/channel/tls/x509/ok", test_x509_ok);
    g_test_add_func("/io/channel/tls/x509/hostname-mismatch",
                    test_x509_hostname_mismatch);
    g_test_add_func("/io/channel/tls/x509/wrong-ca", test_x509_wrong_ca);
    g_test_add_func("/io/channel/tls/x509/expired", test_x509_expired);
    g_test_add_func("/io/channel/tls/x509/authz", test_x509_authz);
    g_test_add_func("/io/channel/tls/x509/anon-client",
                    test_x509_anon_client);
    g_test_add_func("/io/channel/tls/psk", test_psk);
    g_test_add_func("/io/channel/tls/cipher/default",
                    test_cipher_default);
    g_test_add_func("/io/channel/tls/read/multi-record",
                    test_multi_record_read);
    g_test_add_func("/io/channel/tls/nonblocking", test_nonblocking);
    g_test_add_func("/io/channel/tls/end-of-stream", test_end_of_stream);
    g_test_add_func("/io/channel/tls/peek", test_peek);
    g_test_add_func("/io/channel/tls/watch", test_watch);
    g_test_add_func("/qom/object/lifetime", test_object_lifetime);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_objects); i++) {
        g_test_add_data_func(bad_objects[i].path, &bad_objects[i],
                             test_bad_object);
    }
    ret = g_test_run();
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);

        g_assert_cmpint(system(cmd), ==, 0);
    }
    return ret;
}
