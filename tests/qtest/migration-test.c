/*
 * Migration tests: two real godwit-system-riscv64 processes, driven through
 * QEMU's QMP/HMP migration surface (QEMU 7.2 names), with a guest whose
 * memory holds a checkable invariant.
 *
 * Every case is one row of cases[] below: a MigCase says how the two sides
 * are started, which URIs they use, what is expected (success, a failure
 * on the source, or a destination that quits with an error) and which
 * hooks run at the fixed points of the common flow.  Cases with .smoke run
 * by default; the others run with GODWIT_TEST_FULL=1 (or -m thorough), or
 * when picked with -p.  docs/devel/migration/testing.md describes the flow.
 *
 * Common flow of a case (run_case):
 *   1. start the source (guest image, -m 150M, -smp N); wait for 'B';
 *   2. start the destination (-incoming URI, or defer + migrate-incoming),
 *      unless the case has none or reads a finished stream later;
 *   3. start hook; non-converge settings; migrate; active hook;
 *   4. success: wait for the second dirty sync (one full pass sent while
 *      the guest dirtied memory), converge settings, switchover hook, wait
 *      for completed, STOP on the source, source in postmigrate, the
 *      destination completed with RESUME and a 'B' (and no 'A': the guest
 *      continued, it did not boot again), then with the destination stopped
 *      check_guests_ram (a-b) or let the verify guest run and check itself;
 *   5. failure: the source ends in "failed" with error-desc, runs, and its
 *      guest still prints; a destination that must quit exits with 1;
 *   6. finish hook; every process quits (libqtest kills leftovers).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib.h>

#include "libqtest.h"
#include "migration-helpers.h"

/* 150 MiB of DRAM plus the 0xf000-byte boot ROM (hw/riscv/virt.c). */
#define MIG_MEM             "150M"
#define MIG_RAM_TOTAL       (150ULL * 1024 * 1024 + 0xf000)
/* CLINT mtime (10 MHz), readable through qtest like any MMIO register */
#define MIG_CLINT_MTIME     0x0200bff8ULL

typedef enum MigResult {
    MIG_SUCCEED,
    MIG_FAIL,               /* the source fails; no destination left */
    MIG_DEST_QUIT_ERR,      /* the destination rejects the stream and exits 1 */
} MigResult;

typedef struct MigRun MigRun;
typedef void (*MigHook)(MigRun *r);
typedef struct MigCase MigCase;

struct MigCase {
    const char *name;           /* GTest path */
    bool smoke;                 /* part of the default (CI) set */
    void (*body)(const MigCase *c);     /* NULL: run_case */

    const char *guest;          /* built-in guest, default "a-b" */
    int smp;                    /* default 1 */
    const char *src_args;       /* extra source arguments ({dir} too) */
    const char *dst_args;       /* extra destination arguments */
    const char *dst_mem;        /* destination -m, default MIG_MEM */
    bool src_paused;            /* source -S, continued right after migrate */

    /*
     * URIs; "{dir}" and "{src}" stand for temp dirs (see expand()).
     * listen_uri: the destination's -incoming (or migrate-incoming with
     * .defer).  connect_uri: the source's migrate; NULL means listen_uri,
     * or for tcp the address the destination reports in socket-address.
     */
    const char *listen_uri;
    const char *connect_uri;
    bool defer;                 /* -incoming defer, then migrate-incoming */
    bool no_dest;               /* nobody listens */
    bool dest_after_source;     /* the destination reads a finished stream */
    bool hmp_migrate;           /* issue migrate through HMP "migrate -d" */

    MigResult result;
    bool fail_in_setup;         /* the source must fail before "active" */
    int dest_run_secs;          /* let the destination guest run this long */

    MigHook start_hook;         /* both sides up, before migrate */
    MigHook active_hook;        /* right after migrate was accepted */
    MigHook switchover_hook;    /* after the converge settings */
    MigHook finish_hook;        /* after every check, before quitting */
};

struct MigRun {
    const MigCase *c;
    QTestState *from;
    QTestState *to;
    char *dir;                  /* the case's temp dir */
    char *image;                /* guest image */
    char *listen_uri;
    char *connect_uri;
    size_t src_pos;             /* serial offsets already looked at */
    size_t dst_pos;
};

static bool full_set;
static bool explicit_paths;

/* ------------------------------------------------------------ plumbing */

/*
 * Replace "{dir}" with the case's own temp dir (small files: sockets,
 * trace logs) and "{src}" with the source's libqtest temp dir (migration
 * streams: libqtest removes it even when the test aborts, so a failed run
 * leaves no 100 MiB file behind; the source lives until the case ends).
 */
static char *expand(const MigRun *r, const char *tmpl)
{
    g_auto(GStrv) parts = NULL;
    g_autofree char *tmp = NULL;

    if (!tmpl) {
        return NULL;
    }
    parts = g_strsplit(tmpl, "{dir}", -1);
    tmp = g_strjoinv(r->dir, parts);
    if (strstr(tmp, "{src}")) {
        g_auto(GStrv) p2 = g_strsplit(tmp, "{src}", -1);

        g_assert_nonnull(r->from);
        return g_strjoinv((char *)qtest_tmpdir(r->from), p2);
    }
    return g_steal_pointer(&tmp);
}

static const char *case_guest(const MigCase *c)
{
    return c->guest ? c->guest : "a-b";
}

static bool guest_is_ab(const MigCase *c)
{
    return !strcmp(case_guest(c), "a-b");
}

static QTestState *start_vm(MigRun *r, const char *mem, const char *extra,
                            const char *incoming)
{
    const MigCase *c = r->c;
    g_autofree char *args = expand(r, extra);

    return qtest_initf("-M virt -m %s -smp %d -bios none -kernel %s%s%s %s",
                       mem, c->smp ? c->smp : 1, r->image,
                       incoming ? " -incoming " : "",
                       incoming ? incoming : "", args ? args : "");
}

/* The destination's listening address from query-migrate socket-address. */
static char *dest_tcp_uri(QTestState *to)
{
    JsonObject *o = migrate_query(to);
    JsonArray *arr;
    JsonObject *a;
    JsonNode *port;
    char *uri;

    if (!json_object_has_member(o, "socket-address")) {
        g_autofree char *t = qtest_json_to_string(o);

        g_error("destination query-migrate has no socket-address: %s", t);
    }
    arr = json_object_get_array_member(o, "socket-address");
    g_assert_cmpuint(json_array_get_length(arr), >=, 1);
    a = json_array_get_object_element(arr, 0);
    g_assert_cmpstr(json_object_get_string_member(a, "type"), ==, "inet");
    port = json_object_get_member(a, "port");
    if (json_node_get_value_type(port) == G_TYPE_STRING) {
        g_assert_cmpstr(json_node_get_string(port), !=, "0");
        uri = g_strdup_printf("tcp:%s:%s",
                              json_object_get_string_member(a, "host"),
                              json_node_get_string(port));
    } else {
        g_assert_cmpint(json_node_get_int(port), >, 0);
        uri = g_strdup_printf("tcp:%s:%" PRId64,
                              json_object_get_string_member(a, "host"),
                              json_node_get_int(port));
    }
    json_object_unref(o);
    return uri;
}

/* Start a destination for @listen (expanded) and resolve the connect URI. */
static void start_dest(MigRun *r, const char *listen)
{
    const MigCase *c = r->c;

    g_free(r->listen_uri);
    r->listen_uri = expand(r, listen);
    r->to = start_vm(r, c->dst_mem ? c->dst_mem : MIG_MEM, c->dst_args,
                     c->defer ? "defer" : r->listen_uri);
    r->dst_pos = 0;
}

static void resolve_connect_uri(MigRun *r)
{
    g_free(r->connect_uri);
    r->connect_uri = NULL;
    if (r->c->connect_uri) {
        r->connect_uri = expand(r, r->c->connect_uri);
    } else if (g_str_has_prefix(r->listen_uri, "tcp:")) {
        r->connect_uri = dest_tcp_uri(r->to);
    } else {
        r->connect_uri = g_strdup(r->listen_uri);
    }
}

/* Steps 1-2: the source with a running guest, and the destination. */
static void run_start(MigRun *r, const MigCase *c)
{
    g_autoptr(GError) err = NULL;

    memset(r, 0, sizeof(*r));
    r->c = c;
    r->dir = g_dir_make_tmp("godwit-mig-XXXXXX", &err);
    g_assert_no_error(err);
    r->image = qtest_guest_image(case_guest(c));
    r->from = start_vm(r, MIG_MEM, c->src_args, NULL);
    if (!c->src_paused) {
        wait_for_serial(r->from, &r->src_pos, "AB");
    }
    if (c->no_dest || c->dest_after_source) {
        r->listen_uri = expand(r, c->listen_uri);
        r->connect_uri = expand(r, c->connect_uri ? c->connect_uri
                                                  : c->listen_uri);
        return;
    }
    start_dest(r, c->listen_uri);
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    if (!d) {
        return;
    }
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);

        unlink(p);
    }
    g_dir_close(d);
    rmdir(dir);
}

static void run_end(MigRun *r)
{
    if (r->to) {
        qtest_quit(r->to);
        r->to = NULL;
    }
    if (r->from) {
        qtest_quit(r->from);
        r->from = NULL;
    }
    remove_dir(r->dir);
    g_free(r->dir);
    g_free(r->image);
    g_free(r->listen_uri);
    g_free(r->connect_uri);
}

static void issue_migrate(MigRun *r)
{
    if (r->c->hmp_migrate) {
        g_autofree char *out = qtest_hmp(r->from, "migrate -d %s",
                                         r->connect_uri);

        g_assert_cmpstr(out, ==, "");
    } else {
        migrate_qmp(r->from, r->connect_uri);
    }
}

/* The guest on the destination continued where the source left it. */
static void check_dest_guest(MigRun *r)
{
    const MigCase *c = r->c;

    /* Only 'B': an 'A' would mean the guest booted again. */
    wait_for_serial(r->to, &r->dst_pos, "B");

    if (c->dest_run_secs) {
        size_t before = r->dst_pos;
        g_autofree char *text = NULL;
        unsigned int nb = 0;

        g_usleep(c->dest_run_secs * G_USEC_PER_SEC);
        wait_for_serial(r->to, &r->dst_pos, "B");
        text = qtest_serial_read(r->to);
        for (size_t i = before; text[i]; i++) {
            if (text[i] != 'B') {
                g_error("destination guest printed '%c' after %d s: \"%s\"",
                        text[i], c->dest_run_secs, text + i);
            }
            nb++;
        }
        g_test_message("destination guest printed %u 'B' in %d s", nb,
                       c->dest_run_secs);
        g_assert_cmpuint(nb, >=, (unsigned int)c->dest_run_secs);
    }

    if (guest_is_ab(c)) {
        uint8_t b1, b2;

        qtest_qmp_assert_success(r->to, "{\"execute\": \"stop\"}");
        qtest_qmp_eventwait(r->to, "STOP");
        b1 = qtest_readb(r->to, MIG_AB_START);
        g_usleep(100 * 1000);
        b2 = qtest_readb(r->to, MIG_AB_START);
        g_assert_cmpint(b1, ==, b2);    /* stopped means stopped */
        check_guests_ram(r->to);
    }
}

/* Steps 3-4 from "migrate" on, for an expected success. */
static void run_success(MigRun *r)
{
    const MigCase *c = r->c;
    bool running;
    g_autofree char *runstate = NULL;
    uint64_t src_mtime, dst_mtime;

    if (c->src_paused) {
        /*
         * Nothing is dirty yet and the zero pages cost 9 bytes each: at the
         * usual non-converging bandwidth the migration could complete (and
         * stop the source) before the guest has written anything.  Slow
         * enough that the first pass outlasts the cont below.
         */
        migrate_set_parameter_int(r->from, "max-bandwidth", 100 * 1000);
    }
    issue_migrate(r);
    if (c->src_paused) {
        /*
         * "active" comes after setup took the boot zero maps: the guest
         * starts now and writes pages the setup saw as zero.
         */
        wait_for_migration_status(r->from, "active", NULL);
        qtest_qmp_assert_success(r->from, "{\"execute\": \"cont\"}");
        wait_for_serial(r->from, &r->src_pos, "AB");
    }
    if (c->active_hook) {
        c->active_hook(r);
    }
    wait_for_migration_pass(r->from, 2);
    migrate_ensure_converge(r->from);
    if (c->switchover_hook) {
        c->switchover_hook(r);
    }
    wait_for_migration_complete(r->from);
    qtest_qmp_eventwait(r->from, "STOP");
    /*
     * As in QEMU, "completed" is published just before the migration
     * thread moves the runstate from finish-migrate to postmigrate.
     */
    runstate = mig_query_runstate(r->from, &running);
    for (int i = 0; i < 1000 && !strcmp(runstate, "finish-migrate"); i++) {
        g_usleep(10 * 1000);
        g_free(runstate);
        runstate = mig_query_runstate(r->from, &running);
    }
    g_assert_cmpstr(runstate, ==, "postmigrate");
    g_assert_false(running);
    /* The guest's clock, frozen with the stopped source. */
    src_mtime = qtest_readq(r->from, MIG_CLINT_MTIME);
    g_assert_cmpuint(src_mtime, >, 0);

    if (c->dest_after_source) {
        start_dest(r, c->listen_uri);
        if (c->defer) {
            migrate_incoming_qmp(r->to, r->listen_uri);
        }
    }
    wait_for_migration_complete(r->to);
    if (c->dest_after_source && !c->defer) {
        /*
         * This destination started loading at once, possibly before
         * libqtest's QMP handshake, and events before qmp_capabilities
         * are not sent: look at the runstate instead of waiting for RESUME.
         */
        g_autofree char *dst_state = NULL;

        for (int i = 0; i < 1000; i++) {
            g_free(dst_state);
            dst_state = mig_query_runstate(r->to, &running);
            if (running) {
                break;
            }
            g_usleep(10 * 1000);
        }
        g_assert_cmpstr(dst_state, ==, "running");
    } else {
        qtest_qmp_eventwait(r->to, "RESUME");
    }
    /* Guest time never goes backwards across the migration. */
    dst_mtime = qtest_readq(r->to, MIG_CLINT_MTIME);
    if (dst_mtime < src_mtime) {
        g_error("guest mtime went backwards: 0x%" PRIx64 " on the source, "
                "0x%" PRIx64 " on the destination", src_mtime, dst_mtime);
    }
    check_dest_guest(r);
}

/* Step 5, for an expected failure. */
static void run_failure(MigRun *r)
{
    const MigCase *c = r->c;

    issue_migrate(r);
    if (c->active_hook) {
        c->active_hook(r);
    }
    wait_for_migration_fail(r->from, !c->fail_in_setup);
    if (c->result == MIG_DEST_QUIT_ERR) {
        g_assert_nonnull(r->to);
        migrate_wait_dest_exit(r->to, EXIT_FAILURE);
        r->to = NULL;
    }
    mig_assert_source_alive(r->from, &r->src_pos);
}

static void run_case(const MigCase *c)
{
    MigRun r;

    run_start(&r, c);
    if (c->start_hook) {
        c->start_hook(&r);
    }
    if (r.to && c->defer) {
        migrate_incoming_qmp(r.to, r.listen_uri);
    }
    if (r.to) {
        resolve_connect_uri(&r);
    }
    migrate_ensure_non_converge(r.from);

    if (c->result == MIG_SUCCEED) {
        run_success(&r);
    } else {
        run_failure(&r);
    }
    if (c->finish_hook) {
        c->finish_hook(&r);
    }
    run_end(&r);
}

/* ---------------------------------------------------------------- hooks */

static void hook_tcp_socket_address(MigRun *r)
{
    /* resolve_connect_uri reads socket-address; check the port is real */
    g_autofree char *uri = dest_tcp_uri(r->to);

    g_assert_true(g_str_has_prefix(uri, "tcp:127.0.0.1:"));
    g_assert_cmpstr(uri, !=, "tcp:127.0.0.1:0");
}

static void getfd(QTestState *who, int fd, const char *name)
{
    JsonObject *rsp;

    qtest_qmp_send_fd(who, fd, "{\"execute\": \"getfd\", \"arguments\": "
                      "{\"fdname\": \"%s\"}}", name);
    rsp = qtest_qmp_receive(who);
    if (!json_object_has_member(rsp, "return")) {
        g_autofree char *t = qtest_json_to_string(rsp);

        g_error("getfd %s failed: %s", name, t);
    }
    json_object_unref(rsp);
}

/* fd: one socketpair, one end to each side by SCM_RIGHTS. */
static void hook_fd_start(MigRun *r)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    getfd(r->from, sv[0], "fd-mig");
    getfd(r->to, sv[1], "fd-mig");
    close(sv[0]);
    close(sv[1]);
}

/* The migration took the named fds: they are gone from both monitors. */
static void hook_fd_finish(MigRun *r)
{
    g_free(mig_take_error(qtest_qmp(r->from, "{\"execute\": \"closefd\", "
                                    "\"arguments\": {\"fdname\": \"fd-mig\"}}")));
    g_free(mig_take_error(qtest_qmp(r->to, "{\"execute\": \"closefd\", "
                                    "\"arguments\": {\"fdname\": \"fd-mig\"}}")));
}

static void assert_stream_at(MigRun *r, const char *file, size_t offset)
{
    g_autofree char *path = g_build_filename(qtest_tmpdir(r->from), file,
                                             NULL);
    g_autofree char *data = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, >, offset + 8);
    /* file magic "QEVM", version 3 */
    g_assert_cmpmem(data + offset, 8, "QEVM\0\0\0\3", 8);
    if (offset) {
        g_assert_false(memcmp(data, "QEVM", 4) == 0);
    }
}

static void hook_stream_at_0(MigRun *r)
{
    assert_stream_at(r, "stream", 0);
}

static void hook_stream_at_4096(MigRun *r)
{
    assert_stream_at(r, "stream", 4096);
}

/* dest-dies: SIGKILL the destination in the middle of the first pass. */
static void hook_kill_dest(MigRun *r)
{
    wait_for_migration_status(r->from, "active", NULL);
    while (migrate_ram_counter(r->from, "transferred") < (4 << 20)) {
        g_autofree char *st = migrate_query_status(r->from);

        g_assert_cmpstr(st, ==, "active");
        g_usleep(10 * 1000);
    }
    qtest_kill(r->to);
    r->to = NULL;
}

static void hook_validate_uuid(MigRun *r)
{
    migrate_set_capability(r->from, "validate-uuid", true);
}

static void hook_events_on(MigRun *r)
{
    migrate_set_capability(r->from, "events", true);
    if (r->to) {
        migrate_set_capability(r->to, "events", true);
    }
}

/* Pop the MIGRATION events of @who up to a final status, in order. */
static char *take_migration_events(QTestState *who)
{
    GString *seq = g_string_new(NULL);

    for (;;) {
        JsonObject *ev = qtest_qmp_eventwait_ref(who, "MIGRATION");
        JsonObject *data = json_object_get_object_member(ev, "data");
        const char *st = json_object_get_string_member(data, "status");
        bool final = !strcmp(st, "completed") || !strcmp(st, "failed") ||
                     !strcmp(st, "cancelled");

        g_string_append_printf(seq, "%s%s", seq->len ? " " : "", st);
        json_object_unref(ev);
        if (final) {
            break;
        }
    }
    return g_string_free(seq, FALSE);
}

static void hook_pause_start(MigRun *r)
{
    hook_events_on(r);
    migrate_set_capability(r->from, "pause-before-switchover", true);
}

static void hook_pause_switchover(MigRun *r)
{
    bool running = true;
    g_autofree char *runstate = NULL;
    g_autofree char *err = NULL;

    wait_for_migration_status(r->from, "pre-switchover", NULL);
    /* The source stopped the guest before pausing (QEMU 7.2 order). */
    runstate = mig_query_runstate(r->from, &running);
    g_assert_false(running);
    g_assert_cmpstr(runstate, ==, "finish-migrate");
    /* It waits there until told to go on, and only from that state. */
    g_usleep(200 * 1000);
    {
        g_autofree char *st = migrate_query_status(r->from);

        g_assert_cmpstr(st, ==, "pre-switchover");
    }
    err = mig_take_error(qtest_qmp(r->from, "{\"execute\": "
                                   "\"migrate-continue\", \"arguments\": "
                                   "{\"state\": \"active\"}}"));
    g_test_message("migrate-continue from the wrong state: %s", err);
    migrate_continue_qmp(r->from, "pre-switchover");
}

static void hook_pause_finish(MigRun *r)
{
    g_autofree char *seq = take_migration_events(r->from);

    g_assert_cmpstr(seq, ==, "setup active pre-switchover device completed");
}

static void hook_return_path(MigRun *r)
{
    migrate_set_capability(r->from, "return-path", true);
    migrate_set_capability(r->to, "return-path", true);
}

/* Wait until the trace log @file of this case contains @needle. */
static void wait_for_trace(MigRun *r, const char *file, const char *needle)
{
    g_autofree char *path = g_build_filename(r->dir, file, NULL);

    for (int i = 0; i < 500; i++) {
        g_autofree char *text = NULL;

        if (g_file_get_contents(path, &text, NULL, NULL) &&
            strstr(text, needle)) {
            return;
        }
        g_usleep(10 * 1000);
    }
    g_error("trace log %s never showed \"%s\"", file, needle);
}

/*
 * The return path carried a message: the source opens it and sends PING 1
 * (QEMU 7.2's migration thread does so whenever return-path is on); the
 * destination must answer PONG 1 on it.
 */
static void hook_return_path_finish(MigRun *r)
{
    wait_for_trace(r, "dst-trace.log", "loadvm_process_command_ping 0x1");
    wait_for_trace(r, "src-trace.log", "source_return_path_thread_pong 0x1");
}

static void hook_events_finish(MigRun *r)
{
    g_autofree char *src = take_migration_events(r->from);
    g_autofree char *dst = take_migration_events(r->to);
    int64_t syncs = migrate_ram_counter(r->from, "dirty-sync-count");

    g_assert_cmpstr(src, ==, "setup active completed");
    /* 7.2's destination goes none -> active; later QEMUs add setup. */
    if (strcmp(dst, "active completed")) {
        g_assert_cmpstr(dst, ==, "setup active completed");
    }

    /* One MIGRATION_PASS per bitmap sync, numbered from 1. */
    g_assert_cmpint(syncs, >=, 2);
    for (int64_t i = 1; i <= syncs; i++) {
        JsonObject *ev = qtest_qmp_eventwait_ref(r->from, "MIGRATION_PASS");
        JsonObject *data = json_object_get_object_member(ev, "data");

        g_assert_cmpint(mig_json_int(data, "pass", -1), ==, i);
        json_object_unref(ev);
    }
}

/* query-migrate while active: the in-progress set of fields. */
static void hook_fields_active(MigRun *r)
{
    JsonObject *o;
    JsonObject *ram;

    wait_for_migration_status(r->from, "active", NULL);
    o = migrate_query(r->from);
    g_assert_cmpstr(json_object_get_string_member(o, "status"), ==, "active");
    g_assert_cmpint(mig_json_int(o, "setup-time", -1), >=, 0);
    g_assert_cmpint(mig_json_int(o, "total-time", -1), >=, 0);
    g_assert_cmpint(mig_json_int(o, "expected-downtime", -1), >=, 0);
    g_assert_false(json_object_has_member(o, "downtime"));
    g_assert_false(json_object_has_member(o, "error-desc"));
    g_assert_true(json_object_has_member(o, "ram"));
    ram = json_object_get_object_member(o, "ram");
    g_assert_cmpint(mig_json_int(ram, "total", -1), ==, MIG_RAM_TOTAL);
    g_assert_cmpint(mig_json_int(ram, "remaining", -1), >=, 0);
    g_assert_cmpint(mig_json_int(ram, "remaining", -1), <=, MIG_RAM_TOTAL);
    g_assert_cmpint(mig_json_int(ram, "page-size", -1), ==, MIG_PAGE_SIZE);
    g_assert_cmpint(mig_json_int(ram, "transferred", -1), >=, 0);
    json_object_unref(o);
}

/* query-migrate after completion: every field 7.2 reports, sane values. */
static void hook_fields_finish(MigRun *r)
{
    JsonObject *o = migrate_query(r->from);
    MigRamStats st;
    int64_t total_time, downtime;

    g_assert_cmpstr(json_object_get_string_member(o, "status"), ==,
                    "completed");
    total_time = mig_json_int(o, "total-time", -1);
    downtime = mig_json_int(o, "downtime", -1);
    g_assert_cmpint(total_time, >, 0);
    g_assert_cmpint(downtime, >=, 0);
    g_assert_cmpint(downtime, <=, total_time);
    g_assert_cmpint(mig_json_int(o, "setup-time", -1), >=, 0);
    g_assert_cmpint(mig_json_int(o, "setup-time", -1), <=, total_time);
    g_assert_false(json_object_has_member(o, "expected-downtime"));
    g_assert_false(json_object_has_member(o, "error-desc"));
    json_object_unref(o);

    migrate_read_ram_stats(r->from, &st);
    g_assert_true(st.present);
    g_assert_cmpint(st.total, ==, MIG_RAM_TOTAL);
    g_assert_cmpint(st.remaining, ==, 0);
    g_assert_cmpint(st.page_size, ==, MIG_PAGE_SIZE);
    g_assert_cmpint(st.skipped, ==, 0);
    g_assert_cmpint(st.normal, >, 0);
    g_assert_cmpint(st.normal_bytes, ==, st.normal * st.page_size);
    g_assert_cmpint(st.duplicate, >=, 0);
    /* every page went at least once, as a zero marker or in full */
    g_assert_cmpint(st.duplicate + st.normal, >=, MIG_RAM_TOTAL / MIG_PAGE_SIZE);
    g_assert_cmpint(st.transferred, >=, st.normal_bytes);
    g_assert_cmpint(st.dirty_sync_count, >=, 2);
    g_assert_cmpint(st.dirty_pages_rate, >=, 0);
    g_assert_cmpint(st.postcopy_requests, ==, 0);
    g_assert_cmpint(st.multifd_bytes, ==, 0);
    g_assert_cmpint(st.pages_per_second, >=, 0);
    g_assert_cmpint(st.precopy_bytes, >, 0);
    g_assert_cmpint(st.downtime_bytes, >, 0);
    g_assert_cmpint(st.postcopy_bytes, ==, 0);
    g_assert_cmpint(st.precopy_bytes + st.downtime_bytes + st.postcopy_bytes,
                    <=, st.transferred);
    g_assert_cmpint(st.dirty_sync_missed_zero_copy, ==, 0);
    g_assert_true(st.mbps > 0);

    /* The destination says completed too. */
    {
        g_autofree char *dst = migrate_query_status(r->to);

        g_assert_cmpstr(dst, ==, "completed");
    }
}

/* Value of the HMP line "KEY: VALUE" in @lines, or NULL. */
static const char *hmp_value(char **lines, const char *key)
{
    size_t klen = strlen(key);

    for (; *lines; lines++) {
        if (!strncmp(*lines, key, klen) && (*lines)[klen] == ':' &&
            (*lines)[klen + 1] == ' ') {
            return *lines + klen + 2;
        }
    }
    return NULL;
}

/* "N UNIT" -> N; asserts the unit. */
static int64_t hmp_number(char **lines, const char *key, const char *unit)
{
    const char *v = hmp_value(lines, key);
    char *end;
    int64_t n;

    if (!v) {
        g_error("'info migrate' has no \"%s:\" line", key);
    }
    n = g_ascii_strtoll(v, &end, 10);
    if (end == v) {
        g_error("'info migrate' line \"%s: %s\" has no number", key, v);
    }
    if (unit) {
        g_assert_cmpstr(end, ==, unit);
    } else {
        g_assert_cmpstr(end, ==, "");
    }
    return n;
}

static void hook_hmp_info_migrate(MigRun *r)
{
    g_autofree char *out = qtest_hmp(r->from, "info migrate");
    g_autofree char *clean = NULL;
    g_auto(GStrv) lines = NULL;
    MigRamStats st;
    const char *tput;

    /* HMP lines end in \r\n */
    {
        g_auto(GStrv) parts = g_strsplit(out, "\r", -1);

        clean = g_strjoinv("", parts);
    }
    lines = g_strsplit(clean, "\n", -1);
    migrate_read_ram_stats(r->from, &st);

    g_assert_cmpstr(hmp_value(lines, "Migration status"), ==, "completed");
    g_assert_cmpint(hmp_number(lines, "total time", " ms"), >, 0);
    g_assert_cmpint(hmp_number(lines, "downtime", " ms"), >=, 0);
    g_assert_cmpint(hmp_number(lines, "setup", " ms"), >=, 0);
    g_assert_null(hmp_value(lines, "expected downtime"));
    g_assert_cmpint(hmp_number(lines, "transferred ram", " kbytes"), ==,
                    st.transferred >> 10);
    tput = hmp_value(lines, "throughput");
    g_assert_nonnull(tput);
    g_assert_true(g_str_has_suffix(tput, " mbps"));
    g_assert_nonnull(strchr(tput, '.'));       /* %0.2f */
    g_assert_cmpint(hmp_number(lines, "remaining ram", " kbytes"), ==, 0);
    g_assert_cmpint(hmp_number(lines, "total ram", " kbytes"), ==,
                    MIG_RAM_TOTAL >> 10);
    g_assert_cmpint(hmp_number(lines, "duplicate", " pages"), ==,
                    st.duplicate);
    g_assert_cmpint(hmp_number(lines, "skipped", " pages"), ==, 0);
    g_assert_cmpint(hmp_number(lines, "normal", " pages"), ==, st.normal);
    g_assert_cmpint(hmp_number(lines, "normal bytes", " kbytes"), ==,
                    st.normal_bytes >> 10);
    g_assert_cmpint(hmp_number(lines, "dirty sync count", NULL), ==,
                    st.dirty_sync_count);
    g_assert_cmpint(hmp_number(lines, "page size", " kbytes"), ==, 4);
    g_assert_cmpint(hmp_number(lines, "multifd bytes", " kbytes"), ==, 0);
    g_assert_cmpint(hmp_number(lines, "pages-per-second", NULL), >=, 0);
}

/* ------------------------------------------------------- custom bodies */

/*
 * cancel: a slow migration is cancelled mid-pass; the source keeps running
 * untouched, the destination (cut stream) fails and exits, and a second
 * migration of the same source to a fresh destination then succeeds.
 */
static void test_cancel(const MigCase *c)
{
    MigRun r;
    g_autofree char *err = NULL;
    static const char *const cancel_ok[] = { "failed", "completed", NULL };

    run_start(&r, c);
    resolve_connect_uri(&r);
    migrate_ensure_non_converge(r.from);
    migrate_set_parameter_int(r.from, "max-bandwidth", 5 * 1000 * 1000);
    migrate_qmp(r.from, r.connect_uri);
    wait_for_migration_status(r.from, "active", NULL);
    while (migrate_ram_counter(r.from, "transferred") <= 0) {
        g_usleep(10 * 1000);
    }

    /* While it runs: no second migrate, no capability changes. */
    err = mig_take_error(migrate_qmp_rsp(r.from, r.connect_uri));
    g_test_message("migrate during a migration: %s", err);
    g_free(err);
    err = mig_take_error(migrate_set_capability_rsp(r.from, "events", true));
    g_test_message("set capability during a migration: %s", err);

    migrate_cancel_qmp(r.from);
    wait_for_migration_status(r.from, "cancelled", cancel_ok);
    mig_assert_source_alive(r.from, &r.src_pos);
    {
        g_autofree char *runstate = mig_query_runstate(r.from, NULL);

        g_assert_cmpstr(runstate, ==, "running");
    }
    /* QEMU 7.2's destination fails on the cut stream and exits 1. */
    migrate_wait_dest_exit(r.to, EXIT_FAILURE);
    r.to = NULL;

    /* Again, to a new destination: now it must work. */
    start_dest(&r, "unix:{dir}/mig2.sock");
    resolve_connect_uri(&r);
    migrate_ensure_non_converge(r.from);
    run_success(&r);
    run_end(&r);
}

/* Capabilities whose feature Godwit has not built are refused by name. */
static const char *const all_caps_72[] = {
    "xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress",
    "events", "postcopy-ram", "x-colo", "release-ram", "block",
    "return-path", "pause-before-switchover", "multifd", "dirty-bitmaps",
    "postcopy-blocktime", "late-block-activate", "x-ignore-shared",
    "validate-uuid", "background-snapshot", "zero-copy-send",
    "postcopy-preempt", NULL
};

static char *normalize(const char *s)
{
    char *n = g_ascii_strdown(s, -1);

    g_strdelimit(n, "-_", ' ');
    return n;
}

/*
 * Turn @cap on.  Accepted: query shows it on, then it is turned off again;
 * returns false.  Refused: the error must be a GenericError, the state must
 * stay off, and with @must_name the message must name the capability;
 * returns true.
 */
static bool try_capability(QTestState *s, const char *cap, bool must_name)
{
    JsonObject *rsp = migrate_set_capability_rsp(s, cap, true);
    g_autofree char *desc = NULL;

    if (json_object_has_member(rsp, "return")) {
        json_object_unref(rsp);
        g_assert_true(migrate_get_capability(s, cap));
        migrate_set_capability(s, cap, false);
        g_test_message("capability %s: accepted", cap);
        return false;
    }
    desc = mig_take_error(rsp);
    g_test_message("capability %s: refused: %s", cap, desc);
    g_assert_false(migrate_get_capability(s, cap));
    if (must_name) {
        g_autofree char *nd = normalize(desc);
        g_autofree char *nc = normalize(cap);

        if (!strstr(desc, cap) && !strstr(nd, nc)) {
            g_error("refusal of '%s' does not name it: \"%s\"", cap, desc);
        }
    }
    return true;
}

static void test_capabilities_refused(const MigCase *c)
{
    g_autofree char *image = qtest_guest_image(case_guest(c));
    QTestState *s = qtest_initf("-M virt -m %s -bios none -kernel %s",
                                MIG_MEM, image);
    static const char *const named[] = { "xbzrle", "postcopy-ram", "multifd" };
    bool postcopy_refused = false;
    g_autofree char *desc = NULL;
    JsonObject *rsp;

    /* Every 7.2 capability is listed, and all start off. */
    for (int i = 0; all_caps_72[i]; i++) {
        g_assert_false(migrate_get_capability(s, all_caps_72[i]));
    }

    for (size_t i = 0; i < G_N_ELEMENTS(named); i++) {
        bool refused = try_capability(s, named[i], true);

        if (!strcmp(named[i], "postcopy-ram")) {
            postcopy_refused = refused;
        }
    }
    for (int i = 0; all_caps_72[i]; i++) {
        try_capability(s, all_caps_72[i], false);
    }

    /* An unknown name is an error, not a silent no-op. */
    rsp = qtest_qmp(s, "{\"execute\": \"migrate-set-capabilities\", "
                    "\"arguments\": {\"capabilities\": [{\"capability\": "
                    "\"no-such-capability\", \"state\": true}]}}");
    g_assert_true(json_object_has_member(rsp, "error"));
    json_object_unref(rsp);

    /*
     * migrate-start-postcopy: refused, whether postcopy-ram is missing
     * (QEMU: "Enable postcopy with migrate_set_capability before the start
     * of migration") or no migration runs.
     */
    desc = mig_take_error(qtest_qmp(s, "{\"execute\": "
                                    "\"migrate-start-postcopy\"}"));
    g_test_message("migrate-start-postcopy (postcopy-ram %s): %s",
                   postcopy_refused ? "refused" : "accepted", desc);
    {
        g_autofree char *nd = normalize(desc);

        g_assert_nonnull(strstr(nd, "postcopy"));
    }
    qtest_quit(s);
}

/* ------------------------------------------------------------ the cases */

static const MigCase cases[] = {
    /* ---- transports */
    {
        .name = "/migration/precopy/unix/plain",
        .smoke = true,
        .listen_uri = "unix:{dir}/mig.sock",
    }, {
        .name = "/migration/precopy/tcp/plain",
        .smoke = true,
        .listen_uri = "tcp:127.0.0.1:0",
        .start_hook = hook_tcp_socket_address,
    }, {
        .name = "/migration/precopy/tcp/defer",
        .listen_uri = "tcp:127.0.0.1:0",
        .defer = true,
    }, {
        .name = "/migration/precopy/fd",
        .smoke = true,
        .listen_uri = "fd:fd-mig",
        .defer = true,
        .start_hook = hook_fd_start,
        .finish_hook = hook_fd_finish,
    }, {
        .name = "/migration/precopy/exec",
        .smoke = true,
        .connect_uri = "exec:cat > {src}/stream",
        /* libqtest splits arguments on spaces: the shell's "<" needs none */
        .listen_uri = "exec:cat<{src}/stream",
        .dest_after_source = true,
        .finish_hook = hook_stream_at_0,
    }, {
        .name = "/migration/precopy/exec/defer",
        .connect_uri = "exec:cat > {src}/stream",
        .listen_uri = "exec:cat {src}/stream",
        .defer = true,
        .dest_after_source = true,
    }, {
        .name = "/migration/precopy/file",
        .smoke = true,
        .listen_uri = "file:{src}/stream",
        .defer = true,
        .dest_after_source = true,
        .finish_hook = hook_stream_at_0,
    }, {
        .name = "/migration/precopy/file/offset",
        .listen_uri = "file:{src}/stream,offset=4096",
        .defer = true,
        .dest_after_source = true,
        .finish_hook = hook_stream_at_4096,
    }, {
        /*
         * Populated memory on both sides: the boot log (pages never
         * written since boot are sent and placed unread) with a guest that
         * writes after the map was taken; the a-b check proves every
         * written page arrived.
         */
        .name = "/migration/precopy/unix/prealloc",
        .smoke = true,
        .src_args = "-mem-prealloc",
        .dst_args = "-mem-prealloc",
        .listen_uri = "unix:{dir}/mig.sock",
    }, {
        /*
         * The guest starts only after the source took its boot zero map:
         * every page it writes was zero then and must still arrive.
         */
        .name = "/migration/precopy/unix/prealloc/started-late",
        .smoke = true,
        .src_paused = true,
        .src_args = "-mem-prealloc -S",
        .dst_args = "-mem-prealloc",
        .listen_uri = "unix:{dir}/mig.sock",
    }, {
        .name = "/migration/precopy/unix/prealloc/verify-guest",
        .smoke = true,
        .guest = "verify",
        .smp = 2,
        .src_args = "-mem-prealloc",
        .dst_args = "-mem-prealloc",
        .listen_uri = "unix:{dir}/mig.sock",
        .dest_run_secs = 3,
    }, {
        /* the self-checking guest on two vCPUs, left running 10 s after */
        .name = "/migration/precopy/unix/verify-guest",
        .smoke = true,
        .guest = "verify",
        .smp = 2,
        .listen_uri = "unix:{dir}/mig.sock",
        .dest_run_secs = 10,
    },

    /* ---- negative */
    {
        .name = "/migration/bad_dest",
        .smoke = true,
        .connect_uri = "unix:{dir}/nobody-listens.sock",
        .no_dest = true,
        .result = MIG_FAIL,
        .fail_in_setup = true,
    }, {
        .name = "/migration/bad_dest/tcp",
        .connect_uri = "tcp:127.0.0.1:1",
        .no_dest = true,
        .result = MIG_FAIL,
        .fail_in_setup = true,
    }, {
        .name = "/migration/cancel",
        .smoke = true,
        .body = test_cancel,
        .listen_uri = "unix:{dir}/mig.sock",
    }, {
        /* 160M against 150M: the MEM_SIZE list does not match */
        .name = "/migration/dest-rejects",
        .smoke = true,
        .listen_uri = "unix:{dir}/mig.sock",
        .dst_mem = "160M",
        .result = MIG_DEST_QUIT_ERR,
    }, {
        /*
         * The destination's RAM is a backend named mem0, so the stream's
         * riscv_virt_board.ram is an unknown block there.
         */
        .name = "/migration/dest-unknown-block",
        .smoke = true,
        .listen_uri = "unix:{dir}/mig.sock",
        .dst_args = "-object memory-backend-ram,id=mem0,size=150M "
                    "-machine memory-backend=mem0",
        .result = MIG_DEST_QUIT_ERR,
    }, {
        .name = "/migration/dest-dies",
        .smoke = true,
        .listen_uri = "unix:{dir}/mig.sock",
        .active_hook = hook_kill_dest,
        .result = MIG_FAIL,
    },

    /* ---- validate-uuid */
    {
        .name = "/migration/validate_uuid",
        .src_args = "-uuid 11111111-1111-1111-1111-111111111111",
        .dst_args = "-uuid 11111111-1111-1111-1111-111111111111",
        .listen_uri = "unix:{dir}/mig.sock",
        .start_hook = hook_validate_uuid,
    }, {
        .name = "/migration/validate_uuid_error",
        .smoke = true,
        .src_args = "-uuid 11111111-1111-1111-1111-111111111111",
        .dst_args = "-uuid 22222222-2222-2222-2222-222222222222",
        .listen_uri = "unix:{dir}/mig.sock",
        .start_hook = hook_validate_uuid,
        .result = MIG_DEST_QUIT_ERR,
    }, {
        .name = "/migration/validate_uuid_src_not_set",
        .dst_args = "-uuid 22222222-2222-2222-2222-222222222222",
        .listen_uri = "unix:{dir}/mig.sock",
        .start_hook = hook_validate_uuid,
    }, {
        /* succeeds; the destination only warns (on its stderr) */
        .name = "/migration/validate_uuid_dst_not_set",
        .src_args = "-uuid 11111111-1111-1111-1111-111111111111",
        .listen_uri = "unix:{dir}/mig.sock",
        .start_hook = hook_validate_uuid,
    },

    /* ---- capabilities and the QMP/HMP surface */
    {
        .name = "/migration/pause-before-switchover",
        .listen_uri = "unix:{dir}/mig.sock",
        .start_hook = hook_pause_start,
        .switchover_hook = hook_pause_switchover,
        .finish_hook = hook_pause_finish,
    }, {
        .name = "/migration/return-path",
        .src_args = "-trace source_return_path_thread_pong "
                    "-D {dir}/src-trace.log",
        .dst_args = "-trace loadvm_process_command_ping "
                    "-D {dir}/dst-trace.log",
        .listen_uri = "unix:{dir}/mig.sock",
        .start_hook = hook_return_path,
        .finish_hook = hook_return_path_finish,
    }, {
        .name = "/migration/events",
        .smoke = true,
        .listen_uri = "unix:{dir}/mig.sock",
        .start_hook = hook_events_on,
        .finish_hook = hook_events_finish,
    }, {
        .name = "/migration/capabilities/refused",
        .smoke = true,
        .body = test_capabilities_refused,
    }, {
        .name = "/migration/query-migrate/fields",
        .smoke = true,
        .listen_uri = "unix:{dir}/mig.sock",
        .active_hook = hook_fields_active,
        .finish_hook = hook_fields_finish,
    }, {
        /* driven through HMP "migrate -d", checked with "info migrate" */
        .name = "/migration/hmp/info-migrate",
        .listen_uri = "unix:{dir}/mig.sock",
        .hmp_migrate = true,
        .finish_hook = hook_hmp_info_migrate,
    },
};

static void dispatch(gconstpointer data)
{
    const MigCase *c = data;

    if (!c->smoke && !full_set && !explicit_paths) {
        g_test_skip("not in the smoke set: set GODWIT_TEST_FULL=1 "
                    "(or pass -m thorough, or pick it with -p)");
        return;
    }
    if (c->body) {
        c->body(c);
    } else {
        run_case(c);
    }
}

int main(int argc, char **argv)
{
    const char *full = g_getenv("GODWIT_TEST_FULL");

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-p") || g_str_has_prefix(argv[i], "-p=")) {
            explicit_paths = true;
        }
    }
    g_test_init(&argc, &argv, NULL);
    full_set = (full && *full && strcmp(full, "0")) || g_test_thorough();

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_add_data_func(cases[i].name, &cases[i], dispatch);
    }
    return g_test_run();
}
