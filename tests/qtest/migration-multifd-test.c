/*
 * Multifd migrations (capability multifd, migration/multifd.c).
 * Live cases marked .full run with GODWIT_TEST_FULL=1 (or -m thorough,
 * or when picked with -p); the others are the smoke set.
 *
 * /migration/multifd/tcp/plain/none, .../unix/plain/none, .../4-channels:
 *   the a-b guest migrates live with multifd (QEMU 7.2's
 *   /migration/multifd/tcp/plain/none), its RAM checked on the
 *   destination; pages must really have gone over the channels
 *   (multifd-bytes).
 * /migration/multifd/tcp/plain/verify-guest: the verify guest on 2 vCPUs,
 *   left running on the destination (any 'F' fails).
 * /migration/multifd/tcp/tls/x509: the same over TLS (x509 certificates
 *   made with certtool at start, as migration-tls-test.c makes them):
 *   every channel makes its own handshake with the main channel's host.
 * /migration/multifd/tcp/plain/cancel: 7.2's case: a multifd migration
 *   cancelled mid-way leaves the source running; a second multifd
 *   migration to a new destination then succeeds.
 * /migration/multifd/bad-input/...: the source migrates through a proxy
 *   (unix sockets, a thread per connection) that changes one field of the
 *   first multifd channel: the initial packet's magic, version or channel
 *   id, or the first data packet's page count, size, offset or block
 *   name.  The destination must exit 1 with an error naming the channel
 *   and the field; the source's migration fails and its guest runs on.
 * /migration/multifd/compat/godwit-to-qemu: Godwit migrates with multifd
 *   (2 channels) to stock QEMU 7.2 (-global migration.x-multifd=on): QEMU
 *   accepts the channels' initial packets, every packet and the SYNCs, and
 *   stops only at Godwit's first device section (which it does not have).
 *   .../zlib and .../zstd: the same with multifd-compression on both
 *   sides and 4 MiB of text-like pages written by qtest: QEMU inflates
 *   every packet (one stream per channel) before it stops there.  The
 *   other direction cannot reach RAM data: QEMU's riscv virt has flash
 *   RAMBlocks Godwit's board lacks, so Godwit stops at QEMU's MEM_SIZE
 *   list (migration-compat-test.c covers that).
 *   Skipped without qemu-system-riscv64 (GODWIT_COMPAT_QEMU overrides).
 * /migration/multifd/tcp/plain/zlib, .../zstd (7.2's names), their
 *   verify-guest variants, levels at both ends of their ranges
 *   (zlib level 0 stores: more bytes than pages, which shows the level
 *   reached the stream), .../tcp/tls/zlib: compression on both sides;
 *   the a-b guest's pages must have gone compressed.
 * /migration/multifd/tcp/plain/zero-page/{none,legacy,multifd}: each
 *   zero-page-detection; none sends every page whole, multifd sends zero
 *   pages as packet offsets (not on the main channel).
 * /migration/multifd/tcp/plain/zero-copy (+ verify-guest): MSG_ZEROCOPY
 *   on each channel; loopback copies, so dirty-sync-missed-zero-copy
 *   counts every sync's flush.  .../zero-copy/refused/...: QEMU 7.2's
 *   refusals (compression, TLS, either order; no multifd; xbzrle).
 * /migration/multifd/bad-input/{zlib,zstd}/...: a packet whose flag is
 *   the other method's, a garbage payload, one page more or fewer than
 *   the payload holds: the destination fails naming channel and packet.
 * /migration/multifd/tcp/plain/xbzrle: xbzrle and multifd together, as
 *   7.2 allows (10.2 refuses): multifd sends the pages.
 * /migration/multifd/refused/...: what is not built is refused with an
 *   error that says so (exec:).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "libqtest.h"
#include "migration-helpers.h"
#include "../tls-certs.h"

#define MEM "150M"

typedef struct LiveCase {
    const char *name;
    const char *guest;
    bool tcp;
    int smp;
    int channels;
    int dest_run_secs;
    bool tls;
    const char *compression;    /* multifd-compression; NULL: none */
    int level;                  /* its level + 1; 0: the default */
    bool xbzrle;                /* xbzrle too on the source (7.2 allows) */
    const char *zpd;            /* zero-page-detection on both; NULL: default */
    bool zero_copy;             /* zero-copy-send on the source */
    bool full;                  /* not in the smoke set (GODWIT_TEST_FULL) */
    /*
     * pause the source before letting it converge: for the slow levels,
     * whose channel may never catch up with a guest that keeps dirtying
     * on a loaded host; the destination stays paused (a-b check only)
     */
    bool stop_src;
} LiveCase;

/* GODWIT_TEST_FULL=1 or -m thorough: the full set, not only the smoke set */
static bool full_set, explicit_paths;

static void set_param_str(QTestState *who, const char *name,
                          const char *value)
{
    qtest_qmp_assert_success(who, "{\"execute\": \"migrate-set-parameters\","
                             " \"arguments\": {\"%s\": \"%s\"}}", name,
                             value);
}

/* Both ends: multifd-compression and its level as @c says. */
static void set_compression(QTestState *who, const LiveCase *c)
{
    if (c->zpd) {
        set_param_str(who, "zero-page-detection", c->zpd);
    }
    if (!c->compression) {
        return;
    }
    set_param_str(who, "multifd-compression", c->compression);
    if (c->level) {
        g_autofree char *name = g_strdup_printf("multifd-%s-level",
                                                c->compression);

        migrate_set_parameter_int(who, name, c->level - 1);
    }
}

/* x509 certificates for 127.0.0.1 (made once in main when certtool exists) */
static char *certdir;

static void setup_certs(void)
{
    g_autofree char *ca = g_build_filename(certdir, "ca", NULL);
    g_autofree char *srv = g_build_filename(certdir, "srv", NULL);
    g_autofree char *cli = g_build_filename(certdir, "cli", NULL);
    g_autofree char *key = NULL;
    static const TLSCertSpec server = {
        .server = true, .cn = "127.0.0.1", .ip = "127.0.0.1",
    };
    static const TLSCertSpec client = { .cn = "ACME QEMU Client" };

    g_mkdir_with_parents(ca, 0700);
    key = tls_certs_key(certdir);
    tls_certs_ca(ca, key, "qemu-CA");
    tls_certs_leaf(srv, ca, ca, key, &server);
    tls_certs_leaf(cli, ca, ca, key, &client);
}

static void add_tls(QTestState *who, bool server)
{
    g_autofree char *d = g_build_filename(certdir, server ? "srv" : "cli",
                                          NULL);
    g_autofree char *qd = mig_json_quote(d);

    qtest_qmp_assert_success(who, "{\"execute\": \"object-add\", "
                             "\"arguments\": {\"qom-type\": "
                             "\"tls-creds-x509\", \"id\": \"tlscreds0\", "
                             "\"endpoint\": \"%s\", \"dir\": %s}}",
                             server ? "server" : "client", qd);
    qtest_qmp_assert_success(who, "{\"execute\": \"migrate-set-parameters\", "
                             "\"arguments\": {\"tls-creds\": "
                             "\"tlscreds0\"}}");
}

/* The destination's tcp URI from query-migrate socket-address. */
static char *dest_tcp_uri(QTestState *to)
{
    JsonObject *o = migrate_query(to);
    JsonObject *a;
    JsonNode *port;
    char *uri;

    a = json_array_get_object_element(
            json_object_get_array_member(o, "socket-address"), 0);
    port = json_object_get_member(a, "port");
    if (json_node_get_value_type(port) == G_TYPE_STRING) {
        uri = g_strdup_printf("tcp:%s:%s",
                              json_object_get_string_member(a, "host"),
                              json_node_get_string(port));
    } else {
        uri = g_strdup_printf("tcp:%s:%" PRId64,
                              json_object_get_string_member(a, "host"),
                              json_node_get_int(port));
    }
    json_object_unref(o);
    return uri;
}

/* Start a destination listening with multifd on; returns its URI. */
static QTestState *start_dest(const char *image, int smp, int channels,
                              bool tls, const char *listen, char **uri,
                              const LiveCase *c)
{
    QTestState *to = qtest_initf("-M virt -m " MEM " -smp %d -bios none "
                                 "-kernel %s -incoming defer", smp, image);

    if (tls) {
        add_tls(to, true);
    }

    if (c) {
        set_compression(to, c);
    }
    migrate_set_capability(to, "multifd", true);
    migrate_set_parameter_int(to, "multifd-channels", channels);
    migrate_incoming_qmp(to, listen);
    *uri = g_str_has_prefix(listen, "tcp:") ? dest_tcp_uri(to)
                                            : g_strdup(listen);
    return to;
}

static void test_live_run(const LiveCase *c);

static void test_live(gconstpointer data)
{
    const LiveCase *c = data;

    if (c->full && !full_set && !explicit_paths) {
        g_test_skip("not in the smoke set: set GODWIT_TEST_FULL=1 (or pass "
                    "-m thorough, or pick it with -p)");
        return;
    }
    test_live_run(c);
}

static void test_live_run(const LiveCase *c)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-multifd-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image(c->guest);
    g_autofree char *listen = NULL, *uri = NULL;
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to;
    MigRamStats st;

    g_assert_no_error(gerr);
    listen = c->tcp ? g_strdup("tcp:127.0.0.1:0")
                    : g_strdup_printf("unix:%s/mig.sock", dir);
    from = qtest_initf("-M virt -m " MEM " -smp %d -bios none -kernel %s",
                       c->smp, image);
    wait_for_serial(from, &src_pos, "AB");
    to = start_dest(image, c->smp, c->channels, c->tls, listen, &uri, c);
    if (c->tls) {
        add_tls(from, false);
    }

    set_compression(from, c);
    if (c->xbzrle) {
        migrate_set_capability(from, "xbzrle", true);
    }
    migrate_set_capability(from, "multifd", true);
    if (c->zero_copy) {
        migrate_set_capability(from, "zero-copy-send", true);
    }
    migrate_set_parameter_int(from, "multifd-channels", c->channels);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);
    /* a whole pass and more went over the channels while the guest ran */
    wait_for_migration_pass(from, 3);
    migrate_read_ram_stats(from, &st);
    g_test_message("after 2 passes: multifd-bytes %" PRId64 " transferred %"
                   PRId64 " normal %" PRId64, st.multifd_bytes,
                   st.transferred, st.normal);
    g_assert_cmpint(st.normal, >, 1000);

    if (c->stop_src) {
        qtest_qmp_assert_success(from, "{\"execute\": \"stop\"}");
    }
    migrate_ensure_converge(from);
    wait_for_migration_complete(from);
    /*
     * every normal page went on a channel: its bytes are counted there
     * (only at the end: mid-way a queued page is counted as normal before
     * its channel has sent it)
     */
    migrate_read_ram_stats(from, &st);
    g_test_message("completed: multifd-bytes %" PRId64 " normal %" PRId64,
                   st.multifd_bytes, st.normal);
    if (c->compression && !strcmp(c->compression, "zlib") && c->level == 1) {
        /* zlib level 0 stores: the level reached the deflate stream */
        g_assert_cmpint(st.multifd_bytes, >=, st.normal * 4096);
    } else if (c->compression && !strcmp(c->guest, "a-b")) {
        /* a-b's pages (one byte changed per page) compress: fewer bytes */
        g_assert_cmpint(st.multifd_bytes, <, st.normal * 4096 / 2);
    } else if (!c->compression) {
        g_assert_cmpint(st.multifd_bytes, >=, st.normal * 4096);
    }
    if (c->zero_copy) {
        /*
         * loopback: the kernel copies every MSG_ZEROCOPY send, so each
         * sync's flush of the error queue finds only copied sends and
         * counts a miss (which shows the flush ran and read them)
         */
        g_test_message("dirty-sync-missed-zero-copy %" PRId64,
                       st.dirty_sync_missed_zero_copy);
        g_assert_cmpint(st.dirty_sync_missed_zero_copy, >, 0);
    } else {
        g_assert_cmpint(st.dirty_sync_missed_zero_copy, ==, 0);
    }
    if (c->zpd && !strcmp(c->zpd, "none")) {
        /* no detection: every page went whole, none as a zero marker */
        g_assert_cmpint(st.duplicate, ==, 0);
        g_assert_cmpint(st.normal * 4096, >=, st.total);
    } else {
        /* legacy (main channel) or multifd (the channels) found them */
        g_assert_cmpint(st.duplicate, >, 0);
    }
    if (c->zpd && !strcmp(c->zpd, "multifd")) {
        /* zero pages went as offsets in packets, not on the main channel */
        g_assert_cmpint(st.transferred - st.multifd_bytes, <,
                        st.duplicate * 9);
    }
    qtest_qmp_eventwait(from, "STOP");
    wait_for_migration_complete(to);
    if (c->stop_src) {
        check_guests_ram(to);
        goto out;
    }
    mig_check_dest_after_live(to, &dst_pos, c->guest, c->dest_run_secs);
out:
    qtest_quit(to);
    qtest_quit(from);
    if (!c->tcp) {
        g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);

        unlink(sock);
    }
    rmdir(dir);
}

static const LiveCase live_cases[] = {
    {
        .name = "/migration/multifd/tcp/plain/none",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
    }, {
        .name = "/migration/multifd/unix/plain/none",
        .guest = "a-b", .tcp = false, .smp = 1, .channels = 2,
    }, {
        .name = "/migration/multifd/tcp/plain/4-channels",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 4,
    }, {
        .name = "/migration/multifd/tcp/plain/verify-guest",
        .guest = "verify", .tcp = true, .smp = 2, .channels = 2,
        .dest_run_secs = 5,
    }, {
        .name = "/migration/multifd/tcp/tls/x509",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2, .tls = true,
    }, {
        .name = "/migration/multifd/tcp/plain/zlib",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .compression = "zlib",
    }, {
        .name = "/migration/multifd/tcp/plain/zlib/verify-guest",
        .full = true,
        .guest = "verify", .tcp = true, .smp = 2, .channels = 2,
        .dest_run_secs = 5, .compression = "zlib",
    }, {
        .name = "/migration/multifd/tcp/plain/zlib/level-0",
        .full = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .compression = "zlib", .level = 0 + 1,
    }, {
        .name = "/migration/multifd/tcp/plain/zlib/level-9",
        .full = true,
        .stop_src = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .compression = "zlib", .level = 9 + 1,
    }, {
        .name = "/migration/multifd/tcp/tls/zlib",
        .full = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2, .tls = true,
        .compression = "zlib",
    }, {
        .name = "/migration/multifd/tcp/plain/zstd",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .compression = "zstd",
    }, {
        .name = "/migration/multifd/tcp/plain/zstd/verify-guest",
        .full = true,
        .guest = "verify", .tcp = true, .smp = 2, .channels = 2,
        .dest_run_secs = 5, .compression = "zstd",
    }, {
        .name = "/migration/multifd/tcp/plain/zstd/level-0",
        .full = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .compression = "zstd", .level = 0 + 1,
    }, {
        .name = "/migration/multifd/tcp/plain/zstd/level-20",
        .full = true,
        .stop_src = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .compression = "zstd", .level = 20 + 1,
    }, {
        /* 7.2 allows both: multifd sends the pages, xbzrle has none left */
        .name = "/migration/multifd/tcp/plain/xbzrle",
        .full = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .xbzrle = true,
    }, {
        .name = "/migration/multifd/tcp/plain/zero-page/none",
        .full = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .zpd = "none",
    }, {
        .name = "/migration/multifd/tcp/plain/zero-page/legacy",
        .full = true,
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .zpd = "legacy",
    }, {
        .name = "/migration/multifd/tcp/plain/zero-page/multifd",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .zpd = "multifd",
    }, {
        .name = "/migration/multifd/tcp/plain/zero-page/multifd-verify",
        .full = true,
        .guest = "verify", .tcp = true, .smp = 2, .channels = 2,
        .dest_run_secs = 5, .zpd = "multifd", .compression = "zstd",
    }, {
        .name = "/migration/multifd/tcp/plain/zero-copy",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
        .zero_copy = true,
    }, {
        .name = "/migration/multifd/tcp/plain/zero-copy/verify-guest",
        .full = true,
        .guest = "verify", .tcp = true, .smp = 2, .channels = 2,
        .dest_run_secs = 5, .zero_copy = true, .zpd = "multifd",
    },
};

/*
 * zero-copy-send refusals, QEMU 7.2's message, in either order: the
 * capability with a parameter already set, or the parameter after it.
 */
typedef struct ZeroCopyRefusal {
    const char *name;
    const char *param, *value;  /* set before (or after, see below) */
    const char *cap;            /* another capability set before; or NULL */
    bool param_after;
    const char *error;
} ZeroCopyRefusal;

static void test_zero_copy_refused(gconstpointer data)
{
    const ZeroCopyRefusal *c = data;
    QTestState *from = qtest_initf("-M virt -m 16M -bios none");
    JsonObject *rsp;
    g_autofree char *err = NULL;

    if (c->cap) {
        migrate_set_capability(from, c->cap, true);
    }
    if (c->param && !c->param_after) {
        set_param_str(from, c->param, c->value);
    }
    if (c->param_after) {
        migrate_set_capability(from, "zero-copy-send", true);
        rsp = qtest_qmp(from, "{\"execute\": \"migrate-set-parameters\", "
                        "\"arguments\": {\"%s\": \"%s\"}}", c->param,
                        c->value);
    } else {
        rsp = qtest_qmp(from, "{\"execute\": \"migrate-set-capabilities\", "
                        "\"arguments\": {\"capabilities\": [{\"capability\":"
                        " \"zero-copy-send\", \"state\": true}]}}");
    }
    err = mig_take_error(rsp);
    g_assert_nonnull(err);
    if (!strstr(err, c->error)) {
        g_error("error \"%s\" lacks \"%s\"", err, c->error);
    }
    qtest_quit(from);
}

#define ZC_MSG "Zero copy only available for non-compressed non-TLS " \
               "multifd migration"

static const ZeroCopyRefusal zc_refusals[] = {
    {
        .name = "/migration/multifd/zero-copy/refused/zlib",
        .cap = "multifd", .param = "multifd-compression", .value = "zlib",
        .error = ZC_MSG,
    }, {
        .name = "/migration/multifd/zero-copy/refused/zstd-after",
        .cap = "multifd", .param = "multifd-compression", .value = "zstd",
        .param_after = true, .error = ZC_MSG,
    }, {
        .name = "/migration/multifd/zero-copy/refused/tls",
        .cap = "multifd", .param = "tls-creds", .value = "tls0",
        .error = ZC_MSG,
    }, {
        .name = "/migration/multifd/zero-copy/refused/tls-after",
        .cap = "multifd", .param = "tls-creds", .value = "tls0",
        .param_after = true, .error = ZC_MSG,
    }, {
        .name = "/migration/multifd/zero-copy/refused/no-multifd",
        .error = ZC_MSG,
    }, {
        .name = "/migration/multifd/zero-copy/refused/xbzrle",
        .cap = "xbzrle", .error = ZC_MSG,
    },
};

/* 7.2's /migration/multifd/tcp/plain/cancel */
static void test_cancel(void)
{
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *uri = NULL, *uri2 = NULL;
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to, *to2;
    bool running;
    g_autofree char *rs = NULL;

    from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = start_dest(image, 1, 2, false, "tcp:127.0.0.1:0", &uri, NULL);
    migrate_set_capability(from, "multifd", true);
    migrate_set_parameter_int(from, "multifd-channels", 2);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);
    wait_for_migration_pass(from, 2);
    migrate_cancel_qmp(from);
    wait_for_migration_status(from, "cancelled", NULL);
    rs = mig_query_runstate(from, &running);
    g_assert_true(running);
    mig_assert_source_alive(from, &src_pos);
    /* the first destination lost its source: it fails and exits */
    migrate_wait_dest_exit(to, EXIT_FAILURE);

    to2 = start_dest(image, 1, 2, false, "tcp:127.0.0.1:0", &uri2, NULL);
    migrate_qmp(from, uri2);
    migrate_ensure_converge(from);
    wait_for_migration_complete(from);
    wait_for_migration_complete(to2);
    wait_for_serial(to2, &dst_pos, "B");
    qtest_qmp_assert_success(to2, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(to2, "STOP");
    check_guests_ram(to2);
    qtest_quit(to2);
    qtest_quit(from);
}

/* ------------------------------------------------------------ bad input */

#define MFD_MAGIC       0x11223344u
#define MFD_INIT_SIZE   64
#define MFD_HDR_SIZE    (320 + 8 * 128)

typedef enum Mutation {
    MUT_INIT_MAGIC,
    MUT_INIT_VERSION,
    MUT_INIT_ID,
    MUT_PKT_COUNT,              /* normal_pages > pages_alloc */
    MUT_PKT_SIZE,               /* next_packet_size != normal_pages * 4096 */
    MUT_PKT_OFFSET,             /* offset[0] past the block */
    MUT_PKT_BLOCK,              /* an unknown block name */
    MUT_COMP_FLAG,              /* the other compression method's flag */
    MUT_COMP_GARBAGE,           /* the payload's first bytes overwritten */
    MUT_COMP_SHORT,             /* one page more than the payload holds */
    MUT_COMP_LONG,              /* one page less than the payload holds */
} Mutation;

typedef struct BadCase {
    const char *name;
    Mutation mut;
    const char *error;
    const char *compression;    /* on both sides; NULL: none */
} BadCase;

typedef struct Proxy {
    const BadCase *c;
    int listen_fd;
    char *dest_path;
    GThread *accept_thread;
    GPtrArray *conns;           /* GThread * */
    GMutex lock;
    bool target_taken;          /* the first multifd connection is mutated */
    bool mutated;
} Proxy;

typedef struct ProxyConn {
    Proxy *px;
    int src_fd, dst_fd;
} ProxyConn;

static uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static bool write_full(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        buf += w;
        len -= w;
    }
    return true;
}

enum { ST_DECIDE, ST_INIT, ST_HDR, ST_PAYLOAD, ST_GARBAGE, ST_PASS };

/*
 * Upstream (source -> destination) bytes of one connection: pass them,
 * changing the field of the case once on the first multifd channel.
 * Consumes what it can from @pending; false when the write failed.
 */
static bool proxy_upstream(ProxyConn *pc, GByteArray *pending, int *state,
                           uint64_t *payload_left)
{
    Proxy *px = pc->px;
    const BadCase *c = px->c;

    for (;;) {
        size_t n;

        switch (*state) {
        case ST_DECIDE:
            if (pending->len < 4) {
                return true;
            }
            *state = ST_PASS;
            if (be32_get(pending->data) == MFD_MAGIC) {
                g_mutex_lock(&px->lock);
                if (!px->target_taken) {
                    px->target_taken = true;
                    *state = ST_INIT;
                }
                g_mutex_unlock(&px->lock);
            }
            continue;
        case ST_INIT:
            if (pending->len < MFD_INIT_SIZE) {
                return true;
            }
            if (c->mut == MUT_INIT_MAGIC) {
                be32_put(pending->data, 0xdeadbeef);
            } else if (c->mut == MUT_INIT_VERSION) {
                be32_put(pending->data + 4, 2);
            } else if (c->mut == MUT_INIT_ID) {
                pending->data[24] = 7;
            }
            *state = c->mut <= MUT_INIT_ID ? ST_PASS : ST_HDR;
            if (c->mut <= MUT_INIT_ID) {
                px->mutated = true;
            }
            n = MFD_INIT_SIZE;
            break;
        case ST_HDR: {
            uint32_t normal;

            if (pending->len < MFD_HDR_SIZE) {
                return true;
            }
            normal = be32_get(pending->data + 16);
            *payload_left = be32_get(pending->data + 20);
            *state = ST_PAYLOAD;
            if (normal && ((c->mut == MUT_COMP_SHORT && normal == 128) ||
                           (c->mut == MUT_COMP_LONG && normal < 2))) {
                /* not this one: a later packet of this channel */
            } else if (normal) {
                uint8_t *h = pending->data;

                switch (c->mut) {
                case MUT_COMP_FLAG:
                    be32_put(h + 8, (be32_get(h + 8) & ~0x3eu) |
                             (!strcmp(c->compression, "zlib") ? 0x04 : 0x02));
                    break;
                case MUT_COMP_SHORT:
                    be32_put(h + 16, normal + 1);
                    break;
                case MUT_COMP_LONG:
                    be32_put(h + 16, normal - 1);
                    break;
                case MUT_PKT_COUNT:
                    be32_put(h + 16, 200);
                    be32_put(h + 20, 200 * 4096);
                    break;
                case MUT_PKT_SIZE:
                    be32_put(h + 20, normal * 4096 + 1);
                    break;
                case MUT_PKT_OFFSET:
                    memset(h + 320, 0, 8);
                    h[320 + 2] = 0x10;      /* 0x0000100000000000: 16 TiB */
                    break;
                case MUT_PKT_BLOCK:
                    memset(h + 64, 0, 256);
                    memcpy(h + 64, "no-such-block", 13);
                    break;
                default:
                    break;
                }
                px->mutated = true;
                *state = c->mut == MUT_COMP_GARBAGE ? ST_GARBAGE : ST_PASS;
            }
            n = MFD_HDR_SIZE;
            break;
        }
        case ST_PAYLOAD:
            if (!*payload_left) {
                *state = ST_HDR;
                continue;
            }
            if (!pending->len) {
                return true;
            }
            n = MIN(pending->len, *payload_left);
            *payload_left -= n;
            break;
        case ST_GARBAGE:
            /* the first bytes of the payload (or all of a short one) */
            n = MIN(16, *payload_left);
            if (pending->len < n) {
                return true;
            }
            memset(pending->data, 0xa5, n);
            *state = ST_PASS;
            break;
        default:
            if (!pending->len) {
                return true;
            }
            n = pending->len;
            break;
        }
        if (!write_full(pc->dst_fd, pending->data, n)) {
            return false;
        }
        g_byte_array_remove_range(pending, 0, n);
    }
}

static gpointer proxy_conn_thread(gpointer opaque)
{
    ProxyConn *pc = opaque;
    GByteArray *pending = g_byte_array_new();
    int state = ST_DECIDE;
    uint64_t payload_left = 0;
    uint8_t buf[65536];

    for (;;) {
        struct pollfd fds[2] = {
            { .fd = pc->src_fd, .events = POLLIN },
            { .fd = pc->dst_fd, .events = POLLIN },
        };
        ssize_t r;

        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (fds[0].revents) {
            r = recv(pc->src_fd, buf, sizeof(buf), 0);
            if (r <= 0) {
                break;
            }
            g_byte_array_append(pending, buf, r);
            if (!proxy_upstream(pc, pending, &state, &payload_left)) {
                break;
            }
        }
        if (fds[1].revents) {
            r = recv(pc->dst_fd, buf, sizeof(buf), 0);
            if (r <= 0 || !write_full(pc->src_fd, buf, r)) {
                break;
            }
        }
    }
    /* either side went away: so does the other */
    shutdown(pc->src_fd, SHUT_RDWR);
    shutdown(pc->dst_fd, SHUT_RDWR);
    close(pc->src_fd);
    close(pc->dst_fd);
    g_byte_array_unref(pending);
    g_free(pc);
    return NULL;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static gpointer proxy_accept_thread(gpointer opaque)
{
    Proxy *px = opaque;

    for (;;) {
        int fd = accept4(px->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        ProxyConn *pc;

        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            return NULL;        /* the listening socket was shut down */
        }
        pc = g_new0(ProxyConn, 1);
        pc->px = px;
        pc->src_fd = fd;
        pc->dst_fd = unix_connect(px->dest_path);
        if (pc->dst_fd < 0) {
            close(fd);
            g_free(pc);
            continue;
        }
        g_mutex_lock(&px->lock);
        g_ptr_array_add(px->conns,
                        g_thread_new("proxy-conn", proxy_conn_thread, pc));
        g_mutex_unlock(&px->lock);
    }
}

static void proxy_start(Proxy *px, const char *path, const char *dest_path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };

    px->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(px->listen_fd, >=, 0);
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    g_assert_cmpint(bind(px->listen_fd, (struct sockaddr *)&a, sizeof(a)), ==,
                    0);
    g_assert_cmpint(listen(px->listen_fd, 8), ==, 0);
    px->dest_path = g_strdup(dest_path);
    px->conns = g_ptr_array_new();
    g_mutex_init(&px->lock);
    px->accept_thread = g_thread_new("proxy-accept", proxy_accept_thread, px);
}

static void proxy_stop(Proxy *px)
{
    shutdown(px->listen_fd, SHUT_RDWR);
    g_thread_join(px->accept_thread);
    close(px->listen_fd);
    /* every connection ended when the destination exited */
    for (guint i = 0; i < px->conns->len; i++) {
        g_thread_join(g_ptr_array_index(px->conns, i));
    }
    g_ptr_array_free(px->conns, true);
    g_mutex_clear(&px->lock);
    g_free(px->dest_path);
}

static void test_bad_input(gconstpointer data)
{
    const BadCase *c = data;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-multifd-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *dsock = NULL, *psock = NULL, *log = NULL;
    g_autofree char *listen = NULL, *uri = NULL, *text = NULL;
    size_t src_pos = 0;
    Proxy px = { .c = c };
    QTestState *from, *to;

    g_assert_no_error(gerr);
    dsock = g_strdup_printf("%s/dst.sock", dir);
    psock = g_strdup_printf("%s/proxy.sock", dir);
    log = g_strdup_printf("%s/dest.log", dir);
    listen = g_strdup_printf("unix:%s", dsock);
    uri = g_strdup_printf("unix:%s", psock);

    from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m " MEM " -bios none -kernel %s -D %s "
                     "-incoming defer", image, log);
    if (c->compression) {
        set_param_str(to, "multifd-compression", c->compression);
        set_param_str(from, "multifd-compression", c->compression);
    }
    migrate_set_capability(to, "multifd", true);
    migrate_incoming_qmp(to, listen);
    proxy_start(&px, psock, dsock);

    migrate_set_capability(from, "multifd", true);
    migrate_qmp(from, uri);
    migrate_wait_dest_exit(to, EXIT_FAILURE);
    wait_for_migration_fail(from, true);
    mig_assert_source_alive(from, &src_pos);
    proxy_stop(&px);
    g_assert_true(px.mutated);

    g_assert_true(g_file_get_contents(log, &text, NULL, &gerr));
    g_assert_no_error(gerr);
    g_test_message("destination: %s", text);
    if (!strstr(text, c->error)) {
        g_error("the destination's error lacks \"%s\": %s", c->error, text);
    }
    g_assert_nonnull(strstr(text, "multifd "));
    qtest_quit(from);
    unlink(log);
    unlink(dsock);
    unlink(psock);
    rmdir(dir);
}

static const BadCase bad_cases[] = {
    {
        .name = "/migration/multifd/bad-input/init-magic",
        .mut = MUT_INIT_MAGIC,
        .error = "initial packet: bad magic 0xdeadbeef (expected 0x11223344)",
    }, {
        .name = "/migration/multifd/bad-input/init-version",
        .mut = MUT_INIT_VERSION,
        .error = "initial packet: version 2 is not supported",
    }, {
        .name = "/migration/multifd/bad-input/init-channel-id",
        .mut = MUT_INIT_ID,
        .error = "initial packet: channel id 7 is out of range",
    }, {
        .name = "/migration/multifd/bad-input/page-count",
        .mut = MUT_PKT_COUNT,
        .error = "normal_pages 200 is more than pages_alloc 128",
    }, {
        .name = "/migration/multifd/bad-input/packet-size",
        .mut = MUT_PKT_SIZE,
        .error = "does not match normal_pages",
    }, {
        .name = "/migration/multifd/bad-input/offset-past-block",
        .mut = MUT_PKT_OFFSET,
        .error = "offset[0] 0x100000000000 is not a page inside ramblock",
    }, {
        .name = "/migration/multifd/bad-input/unknown-block",
        .mut = MUT_PKT_BLOCK,
        .error = "unknown ramblock \"no-such-block\"",
    }, {
        .name = "/migration/multifd/bad-input/zlib/flag-mismatch",
        .mut = MUT_COMP_FLAG, .compression = "zlib",
        .error = "compression flag 0x4 but multifd-compression is zlib here",
    }, {
        .name = "/migration/multifd/bad-input/zlib/garbage",
        .mut = MUT_COMP_GARBAGE, .compression = "zlib",
        .error = "zlib: inflate failed: -3",
    }, {
        .name = "/migration/multifd/bad-input/zlib/inflates-short",
        .mut = MUT_COMP_SHORT, .compression = "zlib",
        .error = "inflates short",
    }, {
        .name = "/migration/multifd/bad-input/zlib/inflates-long",
        .mut = MUT_COMP_LONG, .compression = "zlib",
        .error = "inflates long",
    }, {
        .name = "/migration/multifd/bad-input/zstd/flag-mismatch",
        .mut = MUT_COMP_FLAG, .compression = "zstd",
        .error = "compression flag 0x2 but multifd-compression is zstd here",
    }, {
        .name = "/migration/multifd/bad-input/zstd/garbage",
        .mut = MUT_COMP_GARBAGE, .compression = "zstd",
        .error = "zstd: ZSTD_decompressStream failed",
    }, {
        .name = "/migration/multifd/bad-input/zstd/decompresses-short",
        .mut = MUT_COMP_SHORT, .compression = "zstd",
        .error = "decompresses short",
    }, {
        .name = "/migration/multifd/bad-input/zstd/decompresses-long",
        .mut = MUT_COMP_LONG, .compression = "zstd",
        .error = "decompresses long",
    },
};

/* ------------------------------------------------------------ compat */

static void child_pdeathsig(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/*
 * Godwit -> stock QEMU 7.2 with multifd-compression @data (NULL: none).
 * With compression the source also loads the a-b image into RAM (-kernel
 * with -S), so that QEMU inflates real pages of several packets.
 */
static void test_compat_godwit_to_qemu(gconstpointer data)
{
    const char *compression = data;
    g_autofree char *comp_prop = g_strdup_printf(
        "migration.multifd-compression=%s", compression ? compression : "none");
    g_autofree char *image = qtest_guest_image("a-b");
    const char *env = g_getenv("GODWIT_COMPAT_QEMU");
    g_autofree char *qemu = env ? g_strdup(env)
                                : g_find_program_in_path("qemu-system-riscv64");
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = NULL, *sock = NULL, *incoming = NULL;
    GString *err = g_string_new(NULL);
    gint64 deadline;
    GPid pid;
    gint fd_err = -1;
    int status = 0;
    bool exited = false;
    QTestState *from;
    MigRamStats st;
    struct stat sb;

    if (!qemu) {
        g_test_skip("qemu-system-riscv64 not installed (Debian package "
                    "qemu-system-misc); set GODWIT_COMPAT_QEMU to use another");
        g_string_free(err, true);
        return;
    }
    dir = g_dir_make_tmp("godwit-multifd-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    sock = g_strdup_printf("%s/mig.sock", dir);
    incoming = g_strdup_printf("unix:%s", sock);
    {
        char *argv[] = {
            qemu, (char *)"-M", (char *)"virt", (char *)"-m", (char *)"64M",
            (char *)"-bios", (char *)"none", (char *)"-S",
            (char *)"-nodefaults", (char *)"-display", (char *)"none",
            (char *)"-global", (char *)"migration.x-multifd=on",
            (char *)"-global", (char *)"migration.multifd-channels=2",
            (char *)"-global", comp_prop,
            (char *)"-incoming", incoming, NULL,
        };

        if (!g_spawn_async_with_pipes(NULL, argv, NULL,
                                      G_SPAWN_DO_NOT_REAP_CHILD |
                                      G_SPAWN_STDOUT_TO_DEV_NULL,
                                      child_pdeathsig, NULL, &pid, NULL, NULL,
                                      &fd_err, &gerr)) {
            g_error("cannot run %s: %s", qemu, gerr->message);
        }
    }
    deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (stat(sock, &sb) < 0) {
        g_assert_cmpint(waitpid(pid, &status, WNOHANG), ==, 0);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }

    if (compression) {
        /* 4 MiB of text-like pages: about 8 full packets per channel */
        g_autofree uint8_t *buf = g_malloc(4 * 1024 * 1024);

        for (size_t i = 0; i < 4 * 1024 * 1024; i++) {
            buf[i] = "godwit migrates "[i % 16] ^ (uint8_t)(i >> 12);
        }
        from = qtest_initf("-M virt -m 64M -bios none -S -kernel %s", image);
        qtest_bufwrite(from, 0x80200000ULL, buf, 4 * 1024 * 1024);
        set_param_str(from, "multifd-compression", compression);
    } else {
        from = qtest_initf("-M virt -m 64M -bios none -S");
    }
    migrate_set_capability(from, "multifd", true);
    migrate_set_parameter_int(from, "multifd-channels", 2);
    migrate_qmp(from, incoming);
    wait_for_migration_complete(from);
    migrate_read_ram_stats(from, &st);
    g_test_message("multifd-bytes %" PRId64 " normal pages %" PRId64,
                   st.multifd_bytes, st.normal);
    /* the boot ROM's page at least went over a channel */
    g_assert_cmpint(st.normal, >, 0);
    if (!compression) {
        g_assert_cmpint(st.multifd_bytes, >=, st.normal * 4096);
    } else {
        /* QEMU's decompression of every packet is the check below */
        g_assert_cmpint(st.normal, >=, 1024);
        g_assert_cmpint(st.multifd_bytes, <, st.normal * 4096 / 4);
    }

    /* QEMU stops at Godwit's first device section: read its stderr */
    deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    for (bool eof = false;;) {
        struct pollfd pfd = { .fd = fd_err, .events = POLLIN };
        char buf[4096];

        if (!eof && poll(&pfd, 1, 50) > 0) {
            ssize_t n = read(fd_err, buf, sizeof(buf));

            if (n > 0) {
                g_string_append_len(err, buf, n);
                continue;
            }
            eof = n == 0 || errno != EINTR;
        } else if (eof) {
            g_usleep(20 * 1000);
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
        }
        if (exited && eof) {
            break;
        }
        if (g_get_monotonic_time() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            g_error("stock QEMU did not exit; stderr: %s", err->str);
        }
    }
    close(fd_err);
    g_spawn_close_pid(pid);
    g_test_message("stock QEMU: status 0x%x, stderr: %s", status, err->str);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    if (!strstr(err->str, "Unknown savevm section or instance")) {
        g_error("stock QEMU did not stop at a device section: %s", err->str);
    }
    g_assert_null(strstr(err->str, "multifd"));
    g_string_free(err, true);
    qtest_quit(from);
    unlink(sock);
    rmdir(dir);
}

typedef struct RefusedCase {
    const char *name;
    const char *compression;    /* NULL: leave none */
    const char *uri;
    const char *error;
} RefusedCase;

static void test_refused(gconstpointer data)
{
    const RefusedCase *c = data;
    g_autofree char *image = qtest_guest_image("a-b");
    QTestState *from = qtest_initf("-M virt -m 16M -bios none -kernel %s",
                                   image);
    JsonObject *rsp;
    g_autofree char *err = NULL;
    bool running;
    g_autofree char *rs = NULL;

    migrate_set_capability(from, "multifd", true);
    if (c->compression) {
        qtest_qmp_assert_success(from, "{\"execute\": "
                                 "\"migrate-set-parameters\", \"arguments\": "
                                 "{\"multifd-compression\": \"%s\"}}",
                                 c->compression);
    }
    rsp = migrate_qmp_rsp(from, c->uri);
    err = mig_take_error(rsp);
    g_assert_nonnull(err);
    if (!strstr(err, c->error)) {
        g_error("error \"%s\" lacks \"%s\"", err, c->error);
    }
    rs = mig_query_runstate(from, &running);
    g_assert_true(running);
    qtest_quit(from);
}

static const RefusedCase refused_cases[] = {
    {
        .name = "/migration/multifd/refused/exec",
        .uri = "exec:cat > /dev/null",
        .error = "multifd needs a socket transport",
    },
};

static void skip_no_certtool(void)
{
    g_test_skip("certtool (package gnutls-bin) is not installed");
}

int main(int argc, char **argv)
{
    const char *full = g_getenv("GODWIT_TEST_FULL");
    int ret;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-p") || g_str_has_prefix(argv[i], "-p=")) {
            explicit_paths = true;
        }
    }
    g_test_init(&argc, &argv, NULL);
    full_set = (full && *full && strcmp(full, "0")) || g_test_thorough();
    if (tls_certs_available()) {
        certdir = g_dir_make_tmp("godwit-multifd-certs-XXXXXX", NULL);
        g_assert_nonnull(certdir);
        setup_certs();
    }
    for (size_t i = 0; i < G_N_ELEMENTS(live_cases); i++) {
        if (live_cases[i].tls && !certdir) {
            g_test_add_func(live_cases[i].name, skip_no_certtool);
            continue;
        }
        g_test_add_data_func(live_cases[i].name, &live_cases[i], test_live);
    }
    g_test_add_func("/migration/multifd/tcp/plain/cancel", test_cancel);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].name, &bad_cases[i],
                             test_bad_input);
    }
    g_test_add_data_func("/migration/multifd/compat/godwit-to-qemu", NULL,
                         test_compat_godwit_to_qemu);
    g_test_add_data_func("/migration/multifd/compat/godwit-to-qemu/zlib",
                         "zlib", test_compat_godwit_to_qemu);
    g_test_add_data_func("/migration/multifd/compat/godwit-to-qemu/zstd",
                         "zstd", test_compat_godwit_to_qemu);
    for (size_t i = 0; i < G_N_ELEMENTS(zc_refusals); i++) {
        g_test_add_data_func(zc_refusals[i].name, &zc_refusals[i],
                             test_zero_copy_refused);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(refused_cases); i++) {
        g_test_add_data_func(refused_cases[i].name, &refused_cases[i],
                             test_refused);
    }
    ret = g_test_run();
    if (certdir) {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", certdir);

        g_assert_cmpint(system(cmd), ==, 0);
    }
    return ret;
}
