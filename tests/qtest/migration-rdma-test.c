/*
 * RDMA migration (rdma:HOST:PORT).
 *
 * Two kinds of cases:
 *
 * 1. Always run, no RDMA device needed: bad rdma: URIs are refused on
 *    both sides with a message naming the problem; the capabilities an
 *    RDMA migration cannot carry are refused by name; rdma-pin-all is
 *    accepted only when the build has RDMA; a migration to an RDMA
 *    address fails cleanly (nothing listens there, or there is no RDMA
 *    device at all) and leaves the source running.  In a build without
 *    RDMA every rdma: URI and rdma-pin-all are refused saying so.
 *
 * 2. Live a-b migrations over real verbs (QEMU 10.2's
 *    /migration/precopy/rdma/plain and .../ipv6, plus pin-all and a
 *    cancel): they need an RDMA link with an IP address.  The address
 *    comes from $GODWIT_RDMA_ADDR ($GODWIT_RDMA_ADDR6 for IPv6, in
 *    brackets), or from `rdma link show` (a link whose netdev has an
 *    address), or, as root, from a soft-RoCE link this test adds itself:
 *    `rdma link add godwit0 type rxe netdev lo` (removed at the end).
 *    When none works the case is skipped with the exact reason.  Also
 *    skipped when 'ulimit -l' is below 128 MiB and not root (every
 *    registration pins guest RAM).  scripts/rdma-vm/ runs this program
 *    inside a VM whose kernel has rdma_rxe (make check-rdma-vm).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <glib.h>

#include "config-host.h"
#include "libqtest.h"
#include "migration-helpers.h"

#define MIG_MEM "150M"
/* ('R' + 'D' + 'M' + 'A') * 100, as QEMU's test */
#define RDMA_PORT 29200

#ifdef CONFIG_RDMA
#define HAVE_RDMA 1
#else
#define HAVE_RDMA 0
#endif

static const char no_rdma_msg[] = "this build of Godwit has no RDMA";

/* ------------------------------------------------------------ helpers */

static QTestState *start_vm(const char *extra, char **image, size_t *pos)
{
    QTestState *s;

    *image = qtest_guest_image("a-b");
    s = qtest_initf("-M virt -m %s -bios none -kernel %s %s", MIG_MEM,
                    *image, extra ? extra : "");
    return s;
}

static void assert_error_says(const char *err, const char *what)
{
    if (!err || !strstr(err, what)) {
        g_error("error '%s' does not say '%s'", err ? err : "(none)", what);
    }
    g_test_message("refused: %s", err);
}

/* migrate-incoming @uri must fail with @what in the error. */
static void incoming_refused(const char *uri, const char *what)
{
    g_autofree char *image = NULL;
    size_t pos = 0;
    QTestState *to = start_vm("-incoming defer", &image, &pos);
    g_autofree char *q = mig_json_quote(uri);
    JsonObject *rsp = qtest_qmp(to, "{\"execute\": \"migrate-incoming\", "
                                "\"arguments\": {\"uri\": %s}}", q);
    g_autofree char *err = mig_take_error(rsp);

    assert_error_says(err, what);
    qtest_quit(to);
}

/* migrate @uri from a running a-b guest must fail with @what; it runs on. */
static void migrate_refused(QTestState *from, size_t *pos, const char *uri,
                            const char *what)
{
    JsonObject *rsp = migrate_qmp_rsp(from, uri);
    g_autofree char *err = mig_take_error(rsp);

    assert_error_says(err, what);
    mig_assert_source_alive(from, pos);
}

/* ------------------------------------------------------------ URIs */

typedef struct UriCase {
    const char *name;
    const char *uri;
    const char *error;           /* with RDMA built */
} UriCase;

static const UriCase uri_cases[] = {
    { "/migration/rdma/uri/bad/no-port", "rdma:127.0.0.1", "has no port" },
    { "/migration/rdma/uri/bad/port", "rdma:127.0.0.1:99999",
      "port '99999' is not a number 0..65535" },
    { "/migration/rdma/uri/bad/no-host", "rdma::29200", "has no host" },
    { "/migration/rdma/uri/bad/ipv6-brackets", "rdma:fd00::1:29200",
      "an IPv6 address goes in brackets" },
    { "/migration/rdma/uri/bad/ipv6-unclosed", "rdma:[fd00::1:29200",
      "needs the form [ADDRESS]:PORT" },
};

static void test_uri_bad(gconstpointer opaque)
{
    const UriCase *c = opaque;
    const char *what = HAVE_RDMA ? c->error : no_rdma_msg;
    g_autofree char *image = NULL;
    size_t pos = 0;
    QTestState *from;

    incoming_refused(c->uri, what);
    from = start_vm(NULL, &image, &pos);
    wait_for_serial(from, &pos, "AB");
    migrate_refused(from, &pos, c->uri, what);
    qtest_quit(from);
}

/* ------------------------------------------------------------ refusals */

typedef struct CapCase {
    const char *name;
    const char *cap;
    const char *param;           /* or a parameter: "tls-creds" */
} CapCase;

static const CapCase cap_cases[] = {
    { "/migration/rdma/refuse/postcopy-ram", "postcopy-ram" },
    { "/migration/rdma/refuse/return-path", "return-path" },
    { "/migration/rdma/refuse/multifd", "multifd" },
    { "/migration/rdma/refuse/xbzrle", "xbzrle" },
#ifdef CONFIG_GNUTLS
    { "/migration/rdma/refuse/tls", NULL, "tls-creds" },
#endif
};

static void test_cap_refused(gconstpointer opaque)
{
    const CapCase *c = opaque;
    g_autofree char *image = NULL;
    g_autofree char *what = NULL;
    g_autofree char *uri = g_strdup_printf("rdma:127.0.0.1:%d", RDMA_PORT);
    g_autofree char *dir = NULL;
    g_autofree char *extra = NULL;
    size_t pos = 0;
    QTestState *from;

    if (c->param) {
        /* a PSK file, so that the credentials object exists */
        g_autofree char *psk = NULL;

        dir = g_dir_make_tmp("godwit-rdma-XXXXXX", NULL);
        g_assert_nonnull(dir);
        psk = g_build_filename(dir, "keys.psk", NULL);
        g_assert_true(g_file_set_contents(psk, "qemu:009d5638c40fde0c\n",
                                          -1, NULL));
        extra = g_strdup_printf("-object tls-creds-psk,id=tls0,"
                                "endpoint=client,dir=%s", dir);
    }
    from = start_vm(extra, &image, &pos);

    wait_for_serial(from, &pos, "AB");
    if (c->cap) {
        migrate_set_capability(from, c->cap, true);
        what = g_strdup_printf("RDMA and %s can't be used together", c->cap);
    } else {
        qtest_qmp_assert_success(from, "{\"execute\": "
                                 "\"migrate-set-parameters\", \"arguments\": "
                                 "{\"tls-creds\": \"tls0\"}}");
        what = g_strdup("RDMA and TLS (tls-creds) can't be used together");
    }
    migrate_refused(from, &pos, uri, HAVE_RDMA ? what : no_rdma_msg);
    qtest_quit(from);
    if (dir) {
        g_autofree char *psk = g_build_filename(dir, "keys.psk", NULL);

        g_assert_cmpint(unlink(psk), ==, 0);
        g_assert_cmpint(rmdir(dir), ==, 0);
    }
}

static void test_pin_all_capability(void)
{
    g_autofree char *image = NULL;
    size_t pos = 0;
    QTestState *from = start_vm(NULL, &image, &pos);

    if (HAVE_RDMA) {
        migrate_set_capability(from, "rdma-pin-all", true);
        g_assert_true(migrate_get_capability(from, "rdma-pin-all"));
    } else {
        JsonObject *rsp = migrate_set_capability_rsp(from, "rdma-pin-all",
                                                     true);
        g_autofree char *err = mig_take_error(rsp);

        assert_error_says(err, "Capability 'rdma-pin-all' needs RDMA, and "
                          "this build of Godwit has none");
        g_assert_false(migrate_get_capability(from, "rdma-pin-all"));
    }
    qtest_quit(from);
}

/*
 * Nothing listens at the address (or there is no RDMA device at all): the
 * migrate command fails with an RDMA error and the source runs on.
 */
static void test_no_listener(void)
{
    g_autofree char *image = NULL;
    g_autofree char *uri = g_strdup_printf("rdma:127.0.0.1:%d",
                                           RDMA_PORT + 1);
    size_t pos = 0;
    QTestState *from = start_vm(NULL, &image, &pos);
    JsonObject *rsp;
    g_autofree char *err = NULL;
    g_autofree char *st = NULL;

    wait_for_serial(from, &pos, "AB");
    rsp = migrate_qmp_rsp(from, uri);
    err = mig_take_error(rsp);
    if (HAVE_RDMA) {
        /* which step fails depends on the host's devices; all say rdma */
        g_autofree char *low = g_ascii_strdown(err, -1);

        assert_error_says(low, "rdma");
    } else {
        assert_error_says(err, no_rdma_msg);
    }
    st = migrate_query_status(from);
    g_assert_cmpstr(st, ==, "failed");
    mig_assert_source_alive(from, &pos);
    qtest_quit(from);
}

/* ------------------------------------------------------------ live cases */

typedef struct RDMAEnv {
    bool probed;
    char *addr4;        /* bare IPv4, or NULL */
    char *addr6;        /* "[...]", or NULL */
    char *why;          /* why there is none */
    bool added_link;    /* we ran `rdma link add godwit0` */
} RDMAEnv;

static RDMAEnv env;

static bool run_cmd(const char *cmd, char **out, char **errout)
{
    g_autoptr(GError) gerr = NULL;
    gint status = 0;

    if (!g_spawn_command_line_sync(cmd, out, errout, &status, &gerr)) {
        if (errout) {
            *errout = g_strdup(gerr->message);
        }
        return false;
    }
    return g_spawn_check_wait_status(status, NULL);
}

/*
 * The first IPv4 address (any scope: lo's 127.0.0.1 is scope host) or
 * global IPv6 address ("[...]") of @netdev, or NULL.
 */
static char *netdev_addr(const char *netdev, bool v6)
{
    g_autofree char *cmd = v6 ?
        g_strdup_printf("ip -o -6 addr show dev %s scope global", netdev) :
        g_strdup_printf("ip -o -4 addr show dev %s", netdev);
    g_autofree char *out = NULL;
    char **f, *res = NULL;

    if (!run_cmd(cmd, &out, NULL) || !out) {
        return NULL;
    }
    f = g_strsplit_set(out, " \t\n", -1);
    for (int j = 0; f[j] && f[j + 1]; j++) {
        if (!strcmp(f[j], v6 ? "inet6" : "inet")) {
            *strchrnul(f[j + 1], '/') = 0;
            res = v6 ? g_strdup_printf("[%s]", f[j + 1]) : g_strdup(f[j + 1]);
            break;
        }
    }
    g_strfreev(f);
    return res;
}

/* netdev names of `rdma link show` lines ("... netdev eth0"). */
static char **rdma_netdevs(char **errout)
{
    g_autofree char *out = NULL;
    GPtrArray *a = g_ptr_array_new();
    char **lines;

    if (!run_cmd("rdma link show", &out, errout)) {
        g_ptr_array_add(a, NULL);
        return (char **)g_ptr_array_free(a, false);
    }
    lines = g_strsplit(out ? out : "", "\n", -1);
    for (int i = 0; lines[i]; i++) {
        char *p = strstr(lines[i], " netdev ");

        if (p) {
            char *name = g_strdup(p + 8);

            g_strchomp(name);
            *strchrnul(name, ' ') = 0;
            g_ptr_array_add(a, name);
        }
    }
    g_strfreev(lines);
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, false);
}

static void probe_rdma(void)
{
    struct rlimit rl;
    g_autofree char *err = NULL;
    char **devs;

    if (env.probed) {
        return;
    }
    env.probed = true;
    if (!HAVE_RDMA) {
        env.why = g_strdup("this build of Godwit has no RDMA (configure "
                           "found no libibverbs/librdmacm)");
        return;
    }
    if (geteuid() != 0 && (getrlimit(RLIMIT_MEMLOCK, &rl) ||
                           (rl.rlim_cur != RLIM_INFINITY &&
                            rl.rlim_cur < 128 * 1024 * 1024))) {
        env.why = g_strdup("'ulimit -l' is too small, require >=128M");
        return;
    }
    if (g_getenv("GODWIT_RDMA_ADDR") || g_getenv("GODWIT_RDMA_ADDR6")) {
        env.addr4 = g_strdup(g_getenv("GODWIT_RDMA_ADDR"));
        env.addr6 = g_strdup(g_getenv("GODWIT_RDMA_ADDR6"));
        if (!env.addr6) {
            env.why = g_strdup("GODWIT_RDMA_ADDR6 is not set");
        }
        return;
    }
    devs = rdma_netdevs(&err);
    if (!devs[0] && geteuid() == 0) {
        /* try to make one: soft-RoCE over the loopback device */
        g_autofree char *e2 = NULL;

        if (run_cmd("rdma link add godwit0 type rxe netdev lo", NULL, &e2)) {
            env.added_link = true;
            g_strfreev(devs);
            devs = rdma_netdevs(&err);
        } else {
            g_free(err);
            err = g_strdup_printf("no RDMA link, and 'rdma link add godwit0 "
                                  "type rxe netdev lo' failed: %s",
                                  e2 && *e2 ? g_strstrip(e2) :
                                  "(no message)");
        }
    }
    for (int i = 0; devs[i]; i++) {
        if (!env.addr4) {
            env.addr4 = netdev_addr(devs[i], false);
        }
        if (!env.addr6) {
            env.addr6 = netdev_addr(devs[i], true);
        }
    }
    if (!env.addr4 && !env.addr6) {
        env.why = g_strdup_printf("no RDMA link with an IP address (%s); as "
                                  "root: modprobe rdma_rxe; rdma link add "
                                  "rxe0 type rxe netdev <nic>",
                                  err && *err ? g_strstrip(err) :
                                  devs[0] ? "links have no address" :
                                  "'rdma link show' lists none");
    } else if (!env.addr6) {
        env.why = g_strdup("the RDMA links have no global IPv6 address");
    }
    g_strfreev(devs);
}

typedef struct LiveCase {
    const char *name;
    bool ipv6;
    bool pin_all;
    bool iterate;       /* pass over RAM at least once before converging */
    bool cancel;        /* cancel mid-way, then migrate again */
} LiveCase;

static const LiveCase live_cases[] = {
    { "/migration/precopy/rdma/plain", .iterate = true },
    { "/migration/precopy/rdma/plain/ipv6", .ipv6 = true },
    { "/migration/precopy/rdma/pin-all", .pin_all = true, .iterate = true },
    { "/migration/precopy/rdma/cancel", .cancel = true },
};

static void test_live(gconstpointer opaque)
{
    const LiveCase *c = opaque;
    const char *addr;
    g_autofree char *image = NULL;
    g_autofree char *image2 = NULL;
    g_autofree char *uri = NULL;
    size_t spos = 0, dpos = 0;
    QTestState *from, *to;
    MigRamStats st;

    probe_rdma();
    addr = c->ipv6 ? env.addr6 : env.addr4;
    if (!addr) {
        g_autofree char *why = g_strdup_printf("no RDMA device to migrate "
                                               "over: %s", env.why);

        g_test_message("%s", why);
        g_test_skip(why);
        return;
    }
    uri = g_strdup_printf("rdma:%s:%d", addr, RDMA_PORT);
    g_test_message("migrating over %s%s", uri,
                   c->pin_all ? " with rdma-pin-all" : "");
    from = start_vm(NULL, &image, &spos);
    to = start_vm("-incoming defer", &image2, &dpos);
    wait_for_serial(from, &spos, "AB");
    if (c->pin_all) {
        migrate_set_capability(from, "rdma-pin-all", true);
    }
    migrate_incoming_qmp(to, uri);

    if (c->cancel) {
        g_autofree char *err = NULL;

        migrate_ensure_non_converge(from);
        migrate_qmp(from, uri);
        wait_for_migration_status(from, "active", NULL);
        migrate_cancel_qmp(from);
        wait_for_migration_status(from, "cancelled", NULL);
        mig_assert_source_alive(from, &spos);
        /* the destination lost its source mid-stream: it fails and exits */
        migrate_wait_dest_exit(to, EXIT_FAILURE);
        /* a fresh destination, the same source */
        g_free(image2);
        dpos = 0;
        to = start_vm("-incoming defer", &image2, &dpos);
        migrate_incoming_qmp(to, uri);
    }
    if (c->iterate) {
        migrate_ensure_non_converge(from);
        migrate_qmp(from, uri);
        wait_for_migration_pass(from, 2);
        migrate_ensure_converge(from);
    } else {
        migrate_ensure_converge(from);
        migrate_qmp(from, uri);
    }
    wait_for_migration_complete(from);
    wait_for_migration_complete(to);
    qtest_qmp_eventwait(to, "RESUME");
    migrate_read_ram_stats(from, &st);
    g_test_message("source: transferred %" PRId64 " normal %" PRId64
                   " dirty-sync-count %" PRId64, st.transferred, st.normal,
                   st.dirty_sync_count);
    /*
     * The stream carries no page records over RDMA: the a-b range (every
     * page non-zero) can only have arrived by RDMA WRITE, which counts in
     * "transferred".
     */
    g_assert_cmpint(st.normal, >, 0);
    g_assert_cmpint(st.transferred, >=, MIG_AB_END - MIG_AB_START);
    wait_for_serial(to, &dpos, "B");
    qtest_qmp_assert_success(to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(to, "STOP");
    check_guests_ram(to);
    qtest_quit(to);
    qtest_quit(from);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(uri_cases); i++) {
        g_test_add_data_func(uri_cases[i].name, &uri_cases[i], test_uri_bad);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(cap_cases); i++) {
        g_test_add_data_func(cap_cases[i].name, &cap_cases[i],
                            test_cap_refused);
    }
    g_test_add_func("/migration/rdma/capability/rdma-pin-all",
                   test_pin_all_capability);
    g_test_add_func("/migration/rdma/no-listener", test_no_listener);
    for (size_t i = 0; i < G_N_ELEMENTS(live_cases); i++) {
        g_test_add_data_func(live_cases[i].name, &live_cases[i], test_live);
    }
    ret = g_test_run();
    if (env.added_link) {
        g_autofree char *err = NULL;

        if (!run_cmd("rdma link delete godwit0", NULL, &err)) {
            fprintf(stderr, "# could not remove rdma link godwit0: %s\n",
                    err ? err : "");
        }
    }
    g_free(env.addr4);
    g_free(env.addr6);
    g_free(env.why);
    return ret;
}
