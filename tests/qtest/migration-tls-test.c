/*
 * Migration over TLS: counterparts of QEMU 7.2's
 * /migration/precopy/{unix,tcp}/tls/... tests, plus an expired server
 * certificate, a wrong CA on either side and the transports TLS refuses.
 *
 * Certificates and PSK files are made at test time with certtool
 * (tests/tls-certs.h).  The source gets its credentials with -object on
 * the command line, the destination with QMP object-add (as QEMU's tests
 * do), so both ways of creating objects are exercised.
 *
 * Flow of a case (run_case):
 *   1. source with the a-b guest running; destination with -incoming
 *      defer and -D LOG; credentials; tls-* parameters; migrate-incoming;
 *   2. migrate;
 *   3. success: both sides complete, the destination's guest continues
 *      and its memory holds the a-b invariant;
 *      failure: the source ends in "failed" with error-desc naming the
 *      problem (when the source is the side that knows it), the
 *      destination's log names it (when it is that side), the destination
 *      either keeps running (it refused the connection and listens on)
 *      or exits 1 (it had accepted, then lost the source);
 *   4. after a failure, the same source (still running, untouched)
 *      migrates with good credentials to a fresh destination: success.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "libqtest.h"
#include "migration-helpers.h"
#include "../tls-certs.h"

#define MIG_MEM "150M"

typedef enum TLSResult {
    TLS_SUCCEED,
    TLS_FAIL,            /* the destination refuses and keeps listening */
    TLS_DEST_QUIT_ERR,   /* the source refuses after the destination began */
} TLSResult;

typedef struct TLSCase {
    const char *name;
    bool psk;                  /* else x509 */
    bool unix_socket;          /* else tcp:127.0.0.1:0 */
    /* certificate / key directories under the shared tmp dir */
    const char *src_dir;
    const char *dst_dir;
    const char *src_opts;      /* extra -object properties of the source */
    const char *dst_opts;      /* extra object-add members (JSON) */
    const char *hostname;      /* tls-hostname on the source, or NULL */
    bool authz;                /* tls-authz on the destination */
    TLSResult result;
    const char *src_error;     /* in the source's error-desc */
    const char *dst_error;     /* in the destination's log */
} TLSCase;

static char *certdir;

/* ------------------------------------------------------------ fixtures */

static void make_leaf(const char *name, const char *trust,
                      const TLSCertSpec *spec)
{
    g_autofree char *d = g_build_filename(certdir, name, NULL);
    g_autofree char *ca = g_build_filename(certdir, "ca", NULL);
    g_autofree char *tr = g_build_filename(certdir, trust, NULL);
    g_autofree char *key = g_build_filename(certdir, "key.pem", NULL);

    tls_certs_leaf(d, ca, tr, key, spec);
}

static void setup_certs(void)
{
    g_autofree char *ca = g_build_filename(certdir, "ca", NULL);
    g_autofree char *ca2 = g_build_filename(certdir, "ca2", NULL);
    g_autofree char *key = NULL;
    static const TLSCertSpec server_ip = {
        .server = true, .cn = "127.0.0.1", .ip = "127.0.0.1",
    };
    static const TLSCertSpec server_name = {
        .server = true, .cn = "qemu.org", .dns = "qemu.org",
    };
    static const TLSCertSpec server_other = {
        .server = true, .cn = "10.0.0.1", .ip = "10.0.0.1",
    };
    static const TLSCertSpec server_expired = {
        .server = true, .cn = "127.0.0.1", .ip = "127.0.0.1",
        .expired = true,
    };
    static const TLSCertSpec client = { .cn = "ACME QEMU Client" };
    static const TLSCertSpec hostile = { .cn = "ACME Hostile Client" };

    g_mkdir_with_parents(ca, 0700);
    g_mkdir_with_parents(ca2, 0700);
    key = tls_certs_key(certdir);
    tls_certs_ca(ca, key, "qemu-CA");
    tls_certs_ca(ca2, key, "other-CA");
    make_leaf("srv-ip", "ca", &server_ip);
    make_leaf("srv-name", "ca", &server_name);
    make_leaf("srv-other", "ca", &server_other);
    make_leaf("srv-expired", "ca", &server_expired);
    make_leaf("srv-trusts-ca2", "ca2", &server_ip);
    make_leaf("cli", "ca", &client);
    make_leaf("cli-hostile", "ca", &hostile);
    make_leaf("cli-trusts-ca2", "ca2", &client);
    {
        /* a client with only the CA: no certificate to show */
        g_autofree char *d = g_build_filename(certdir, "cli-anon", NULL);
        g_autofree char *src = g_build_filename(ca, "ca-cert.pem", NULL);
        g_autofree char *dst = g_build_filename(d, "ca-cert.pem", NULL);
        g_autofree char *text = NULL;

        g_mkdir_with_parents(d, 0700);
        g_assert_true(g_file_get_contents(src, &text, NULL, NULL));
        tls_certs_write(dst, text);
    }
    {
        g_autofree char *p1 = g_build_filename(certdir, "psk", NULL);
        g_autofree char *p2 = g_build_filename(certdir, "psk-alt", NULL);

        tls_certs_psk(p1, "qemu", "009d5638c40fde0c");
        tls_certs_psk(p2, "qemu", "10ffa6a2c42f0388");
    }
}

/* ------------------------------------------------------------ plumbing */

typedef struct TLSRun {
    const TLSCase *c;
    char *dir;
    char *image;
    QTestState *from;
    QTestState *to;
    char *dst_log;
    size_t src_pos, dst_pos;
} TLSRun;

static char *cdir(const char *name)
{
    return g_build_filename(certdir, name, NULL);
}

static void set_param_str(QTestState *who, const char *name, const char *v)
{
    g_autofree char *q = mig_json_quote(v);

    qtest_qmp_assert_success(who, "{\"execute\": \"migrate-set-parameters\", "
                             "\"arguments\": {\"%s\": %s}}", name, q);
}

/* The source, with its case credentials (tlscreds0) and good ones. */
static void start_source(TLSRun *r)
{
    const TLSCase *c = r->c;
    g_autofree char *d = cdir(c->src_dir);
    g_autofree char *good = cdir(c->psk ? "psk" : "cli");
    const char *type = c->psk ? "tls-creds-psk" : "tls-creds-x509";

    r->from = qtest_initf("-M virt -m %s -bios none -kernel %s "
                          "-object %s,id=tlscreds0,endpoint=client,dir=%s%s "
                          "-object %s,id=tlsgood,endpoint=client,dir=%s",
                          MIG_MEM, r->image, type, d,
                          c->src_opts ? c->src_opts : "", type, good);
    wait_for_serial(r->from, &r->src_pos, "AB");
}

/*
 * A destination with server credentials from @dirname and extra JSON
 * members @opts, listening.  Returns the URI the source should use.
 */
static char *start_dest(TLSRun *r, const char *dirname, const char *opts,
                        bool authz, int attempt)
{
    const TLSCase *c = r->c;
    g_autofree char *d = cdir(dirname);
    g_autofree char *qd = mig_json_quote(d);
    g_autofree char *uri = NULL;

    g_free(r->dst_log);
    r->dst_log = g_strdup_printf("%s/dst%d.log", r->dir, attempt);
    r->to = qtest_initf("-M virt -m %s -bios none -kernel %s "
                        "-incoming defer -D %s",
                        MIG_MEM, r->image, r->dst_log);
    r->dst_pos = 0;
    qtest_qmp_assert_success(r->to, "{\"execute\": \"object-add\", "
                             "\"arguments\": {\"qom-type\": \"%s\", "
                             "\"id\": \"tlscreds0\", \"endpoint\": "
                             "\"server\", \"dir\": %s%s}}",
                             c->psk ? "tls-creds-psk" : "tls-creds-x509",
                             qd, opts ? opts : "");
    set_param_str(r->to, "tls-creds", "tlscreds0");
    if (authz) {
        qtest_qmp_assert_success(r->to, "{\"execute\": \"object-add\", "
                                 "\"arguments\": {\"qom-type\": "
                                 "\"authz-simple\", \"id\": \"tlsauthz0\", "
                                 "\"identity\": \"C=UK,O=Example Org,"
                                 "CN=ACME QEMU Client\"}}");
        set_param_str(r->to, "tls-authz", "tlsauthz0");
    }
    if (c->unix_socket) {
        uri = g_strdup_printf("unix:%s/mig%d.sock", r->dir, attempt);
        migrate_incoming_qmp(r->to, uri);
        return g_steal_pointer(&uri);
    }
    migrate_incoming_qmp(r->to, "tcp:127.0.0.1:0");
    {
        JsonObject *o = migrate_query(r->to);
        JsonArray *arr = json_object_get_array_member(o, "socket-address");
        JsonObject *a = json_array_get_object_element(arr, 0);

        uri = g_strdup_printf("tcp:127.0.0.1:%s",
                              json_object_get_string_member(a, "port"));
        json_object_unref(o);
    }
    return g_steal_pointer(&uri);
}

/* Wait until the file @path contains @needle (bounded by QTEST_TIMEOUT_MS). */
static void wait_for_log(const char *path, const char *needle)
{
    const char *t = g_getenv("QTEST_TIMEOUT_MS");
    gint64 deadline = g_get_monotonic_time() +
                      (t ? atoll(t) : 120000) * 1000LL;
    g_autofree char *text = NULL;

    for (;;) {
        g_free(text);
        text = NULL;
        if (g_file_get_contents(path, &text, NULL, NULL) &&
            strstr(text, needle)) {
            g_test_message("destination reported: %s", strstr(text, needle));
            return;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("'%s' never appeared in %s; it holds: %s", needle, path,
                    text ? text : "(nothing)");
        }
        g_usleep(20 * 1000);
    }
}

static void check_dest_guest(TLSRun *r)
{
    wait_for_serial(r->to, &r->dst_pos, "B");
    qtest_qmp_assert_success(r->to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(r->to, "STOP");
    check_guests_ram(r->to);
}

static void migrate_and_succeed(TLSRun *r, const char *uri)
{
    migrate_ensure_converge(r->from);
    migrate_qmp(r->from, uri);
    wait_for_migration_complete(r->from);
    wait_for_migration_complete(r->to);
    qtest_qmp_eventwait(r->to, "RESUME");
    check_dest_guest(r);
}

/* Quit both sides, remove the run's directory, free the run. */
static void run_finish(TLSRun *r)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", r->dir);

    if (r->to) {
        qtest_quit(r->to);
    }
    qtest_quit(r->from);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(r->dir);
    g_free(r->image);
    g_free(r->dst_log);
}

static void run_case(gconstpointer opaque)
{
    const TLSCase *c = opaque;
    TLSRun r = { .c = c };
    g_autofree char *uri = NULL;
    g_autoptr(GError) gerr = NULL;

    r.dir = g_dir_make_tmp("godwit-tls-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    r.image = qtest_guest_image("a-b");
    start_source(&r);
    uri = start_dest(&r, c->dst_dir, c->dst_opts, c->authz, 0);
    set_param_str(r.from, "tls-creds", "tlscreds0");
    if (c->hostname) {
        set_param_str(r.from, "tls-hostname", c->hostname);
    }

    if (c->result == TLS_SUCCEED) {
        migrate_and_succeed(&r, uri);
        goto out;
    }

    migrate_ensure_converge(r.from);
    migrate_qmp(r.from, uri);
    wait_for_migration_fail(r.from, true);
    if (c->src_error) {
        g_autofree char *err = migrate_query_error(r.from);

        if (!strstr(err, c->src_error)) {
            g_error("source error '%s' does not say '%s'", err, c->src_error);
        }
    }
    if (c->dst_error) {
        wait_for_log(r.dst_log, c->dst_error);
    }
    if (c->result == TLS_DEST_QUIT_ERR) {
        migrate_wait_dest_exit(r.to, EXIT_FAILURE);
    } else {
        /* it refused the connection and still waits for a migration */
        g_autofree char *st = migrate_query_status(r.to);

        g_assert_cmpstr(st, ==, "setup");
        qtest_quit(r.to);
    }
    r.to = NULL;
    mig_assert_source_alive(r.from, &r.src_pos);

    /* the same source, good credentials, a fresh destination */
    g_free(uri);
    uri = start_dest(&r, c->psk ? "psk" : "srv-ip", NULL, false, 1);
    set_param_str(r.from, "tls-creds", "tlsgood");
    set_param_str(r.from, "tls-hostname", c->unix_socket ? "127.0.0.1" : "");
    migrate_and_succeed(&r, uri);

out:
    run_finish(&r);
}

static const TLSCase cases[] = {
    {
        .name = "/migration/precopy/unix/tls/psk",
        .psk = true, .unix_socket = true,
        .src_dir = "psk", .dst_dir = "psk",
    }, {
        .name = "/migration/precopy/tcp/tls/psk/match",
        .psk = true, .src_dir = "psk", .dst_dir = "psk",
    }, {
        .name = "/migration/precopy/tcp/tls/psk/mismatch",
        .psk = true, .src_dir = "psk", .dst_dir = "psk-alt",
        .result = TLS_FAIL,
        .src_error = "TLS handshake failed",
        .dst_error = "TLS handshake failed",
    }, {
        /* a unix socket has no host name to check the certificate with */
        .name = "/migration/precopy/unix/tls/x509/default-host",
        .unix_socket = true, .src_dir = "cli", .dst_dir = "srv-ip",
        .result = TLS_DEST_QUIT_ERR,
        .src_error = "No hostname for certificate validation",
    }, {
        .name = "/migration/precopy/unix/tls/x509/override-host",
        .unix_socket = true, .src_dir = "cli", .dst_dir = "srv-name",
        .hostname = "qemu.org",
    }, {
        .name = "/migration/precopy/tcp/tls/x509/default-host",
        .src_dir = "cli", .dst_dir = "srv-ip",
    }, {
        /* tls-hostname names what the certificate says */
        .name = "/migration/precopy/tcp/tls/x509/valid-hostname",
        .src_dir = "cli", .dst_dir = "srv-name", .hostname = "qemu.org",
    }, {
        .name = "/migration/precopy/tcp/tls/x509/mismatch-host",
        .src_dir = "cli", .dst_dir = "srv-other",
        .result = TLS_DEST_QUIT_ERR,
        .src_error = "Certificate does not match the hostname 127.0.0.1",
    }, {
        .name = "/migration/precopy/tcp/tls/x509/friendly-client",
        .src_dir = "cli", .dst_dir = "srv-ip", .authz = true,
    }, {
        .name = "/migration/precopy/tcp/tls/x509/hostile-client",
        .src_dir = "cli-hostile", .dst_dir = "srv-ip", .authz = true,
        .result = TLS_FAIL,
        .dst_error = "TLS x509 authz check for C=UK,O=Example Org,"
                     "CN=ACME Hostile Client is denied",
    }, {
        .name = "/migration/precopy/tcp/tls/x509/allow-anon-client",
        .src_dir = "cli-anon", .dst_dir = "srv-ip",
        .dst_opts = ", \"verify-peer\": false",
    }, {
        .name = "/migration/precopy/tcp/tls/x509/reject-anon-client",
        .src_dir = "cli-anon", .dst_dir = "srv-ip",
        .result = TLS_FAIL,
        .dst_error = "Verify failed: No certificate was found",
    }, {
        /* the server's certificate expired (its sanity check is off) */
        .name = "/migration/precopy/tcp/tls/x509/expired",
        .src_dir = "cli", .dst_dir = "srv-expired",
        .dst_opts = ", \"sanity-check\": false",
        .result = TLS_DEST_QUIT_ERR,
        .src_error = "The certificate has expired",
    }, {
        /* the source trusts another CA than the one that signed the server */
        .name = "/migration/precopy/tcp/tls/x509/wrong-ca/source",
        .src_dir = "cli-trusts-ca2", .dst_dir = "srv-ip",
        .src_opts = ",sanity-check=off",
        .result = TLS_DEST_QUIT_ERR,
        .src_error = "The certificate hasn't got a known issuer",
    }, {
        /* the destination trusts another CA than the client's */
        .name = "/migration/precopy/tcp/tls/x509/wrong-ca/destination",
        .src_dir = "cli", .dst_dir = "srv-trusts-ca2",
        .dst_opts = ", \"sanity-check\": false",
        .result = TLS_FAIL,
        .dst_error = "The certificate hasn't got a known issuer",
    },
};

/* ------------------------------------------------------------ refusals */

typedef struct Refusal {
    const char *name;
    const char *src_object;    /* -object on the source */
    const char *params;        /* migrate-set-parameters members */
    const char *uri;           /* {dir} = a temp dir */
    const char *error;
} Refusal;

static const Refusal refusals[] = {
    {
        .name = "/migration/precopy/tls/refused/exec",
        .src_object = "tls-creds-psk,id=t0,endpoint=client,dir={psk}",
        .params = "\"tls-creds\": \"t0\"",
        .uri = "exec:cat > /dev/null",
        .error = "cannot be used with the exec: transport",
    }, {
        .name = "/migration/precopy/tls/refused/file",
        .src_object = "tls-creds-psk,id=t0,endpoint=client,dir={psk}",
        .params = "\"tls-creds\": \"t0\"",
        .uri = "file:{dir}/stream",
        .error = "cannot be used with the file: transport",
    }, {
        .name = "/migration/precopy/tls/refused/no-such-creds",
        .src_object = "tls-creds-psk,id=t0,endpoint=client,dir={psk}",
        .params = "\"tls-creds\": \"nosuch\"",
        .uri = "unix:{dir}/nobody.sock",
        .error = "No TLS credentials with id 'nosuch'",
    }, {
        .name = "/migration/precopy/tls/refused/server-creds-on-source",
        .src_object = "tls-creds-psk,id=t0,endpoint=server,dir={psk}",
        .params = "\"tls-creds\": \"t0\"",
        .uri = "unix:{dir}/nobody.sock",
        .error = "Expected TLS credentials for a client endpoint",
    }, {
        .name = "/migration/precopy/tls/refused/not-creds",
        .src_object = "authz-simple,id=t0,identity=x",
        .params = "\"tls-creds\": \"t0\"",
        .uri = "unix:{dir}/nobody.sock",
        .error = "Object with id 't0' is not TLS credentials",
    },
};

static char *subst(const char *s, const char *key, const char *val)
{
    g_auto(GStrv) parts = g_strsplit(s, key, -1);

    return g_strjoinv(val, parts);
}

static void run_refusal(gconstpointer opaque)
{
    const Refusal *f = opaque;
    g_autofree char *dir = g_dir_make_tmp("godwit-tls-XXXXXX", NULL);
    g_autofree char *psk = cdir("psk");
    g_autofree char *o1 = subst(f->src_object, "{psk}", psk);
    g_autofree char *uri = subst(f->uri, "{dir}", dir);
    g_autofree char *quri = mig_json_quote(uri);
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *err = NULL;
    size_t pos = 0;
    QTestState *from;

    from = qtest_initf("-M virt -m %s -bios none -kernel %s -object %s",
                       MIG_MEM, image, o1);
    wait_for_serial(from, &pos, "AB");
    qtest_qmp_assert_success(from, "{\"execute\": \"migrate-set-parameters\","
                             " \"arguments\": {%s}}", f->params);
    err = mig_take_error(qtest_qmp(from, "{\"execute\": \"migrate\", "
                                   "\"arguments\": {\"uri\": %s}}", quri));
    if (!strstr(err, f->error)) {
        g_error("expected '%s', got '%s'", f->error, err);
    }
    mig_assert_source_alive(from, &pos);
    qtest_quit(from);
    rmdir(dir);
}

/* The destination refuses the same way at migrate-incoming. */
static void test_refused_incoming(void)
{
    g_autofree char *psk = cdir("psk");
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *err = NULL;
    QTestState *to;

    to = qtest_initf("-M virt -m %s -bios none -kernel %s -incoming defer "
                     "-object tls-creds-psk,id=t0,endpoint=client,dir=%s",
                     MIG_MEM, image, psk);
    set_param_str(to, "tls-creds", "t0");
    err = mig_take_error(qtest_qmp(to, "{\"execute\": \"migrate-incoming\", "
                                   "\"arguments\": {\"uri\": "
                                   "\"tcp:127.0.0.1:0\"}}"));
    g_assert_cmpstr(err, ==, "Expected TLS credentials for a server endpoint");
    g_free(err);
    qtest_qmp_assert_success(to, "{\"execute\": \"object-add\", \"arguments\":"
                             " {\"qom-type\": \"tls-creds-psk\", \"id\": "
                             "\"t1\", \"endpoint\": \"server\", \"dir\": "
                             "\"%s\"}}", psk);
    set_param_str(to, "tls-creds", "t1");
    set_param_str(to, "tls-authz", "nosuchauthz");
    err = mig_take_error(qtest_qmp(to, "{\"execute\": \"migrate-incoming\", "
                                   "\"arguments\": {\"uri\": "
                                   "\"tcp:127.0.0.1:0\"}}"));
    g_assert_cmpstr(err, ==, "Cannot find QAuthZ object ID nosuchauthz");
    qtest_quit(to);
}

/*
 * A peer that accepts the TCP connection and never answers the TLS
 * ClientHello: migrate_cancel must end the handshake (the peer sees the
 * socket closed), and a later migration must not be handed the old
 * channel.  Before the source shut the handshake's socket down on cancel,
 * the peer never saw EOF here.
 */
static void test_cancel_during_handshake(void)
{
    static const TLSCase good = {
        .name = "cancel-during-handshake", .src_dir = "cli",
        .dst_dir = "srv-ip",
    };
    TLSRun r = { .c = &good };
    g_autoptr(GError) gerr = NULL;
    g_autofree char *uri = NULL;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t salen = sizeof(sa);
    int lfd, cfd;
    const char *t = g_getenv("QTEST_TIMEOUT_MS");
    gint64 deadline;
    char buf[4096];

    r.dir = g_dir_make_tmp("godwit-tls-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    r.image = qtest_guest_image("a-b");
    start_source(&r);
    set_param_str(r.from, "tls-creds", "tlscreds0");

    /* the silent peer */
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint(lfd, >=, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(lfd, 1), ==, 0);
    g_assert_cmpint(getsockname(lfd, (struct sockaddr *)&sa, &salen), ==, 0);
    uri = g_strdup_printf("tcp:127.0.0.1:%u", ntohs(sa.sin_port));
    migrate_qmp(r.from, uri);
    cfd = accept(lfd, NULL, NULL);
    g_assert_cmpint(cfd, >=, 0);
    {
        g_autofree char *st = migrate_query_status(r.from);

        g_assert_cmpstr(st, ==, "setup");
    }
    migrate_cancel_qmp(r.from);
    wait_for_migration_status(r.from, "cancelled", NULL);

    /* the peer reads the ClientHello, then EOF: the socket was shut down */
    deadline = g_get_monotonic_time() + (t ? atoll(t) : 120000) * 1000LL;
    for (;;) {
        struct pollfd pfd = { .fd = cfd, .events = POLLIN };
        ssize_t n;

        if (g_get_monotonic_time() > deadline) {
            g_error("the cancelled handshake's socket was never closed");
        }
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        n = read(cfd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            break;
        }
        g_assert_cmpint(n, >, 0);
    }
    close(cfd);
    close(lfd);
    mig_assert_source_alive(r.from, &r.src_pos);

    /* the same source migrates to a real destination */
    g_free(uri);
    uri = start_dest(&r, "srv-ip", NULL, false, 1);
    migrate_and_succeed(&r, uri);
    run_finish(&r);
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
        g_test_add_func("/migration/tls/skipped", skip_no_certtool);
        return g_test_run();
    }
    certdir = g_dir_make_tmp("godwit-tls-certs-XXXXXX", NULL);
    g_assert_nonnull(certdir);
    setup_certs();
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_add_data_func(cases[i].name, &cases[i], run_case);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(refusals); i++) {
        g_test_add_data_func(refusals[i].name, &refusals[i], run_refusal);
    }
    g_test_add_func("/migration/precopy/tls/refused/incoming",
                    test_refused_incoming);
    g_test_add_func("/migration/precopy/tcp/tls/x509/cancel-during-handshake",
                    test_cancel_during_handshake);
    ret = g_test_run();
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", certdir);

        g_assert_cmpint(system(cmd), ==, 0);
    }
    return ret;
}
