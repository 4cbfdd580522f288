/*
 * Helpers for the migration qtests (see migration-helpers.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>

#include "migration-helpers.h"

#define POLL_US             (10 * 1000)
/*
 * Bound of the waits below that have no natural end: QTEST_TIMEOUT_MS as
 * libqtest's own waits (e.g. raised for runs under software emulation,
 * scripts/rdma-vm/), default 120 s.
 */
#define WAIT_MS             mig_wait_ms()
/* Chunk of guest memory read per qtest "b64read" by check_guests_ram. */
#define RAM_CHUNK           (8ULL << 20)

/* ------------------------------------------------------------ plumbing */

static int mig_wait_ms(void)
{
    const char *env = g_getenv("QTEST_TIMEOUT_MS");
    long v = env ? strtol(env, NULL, 0) : 0;

    return v > 0 && v < G_MAXINT ? (int)v : 120000;
}

char *mig_json_quote(const char *s)
{
    GString *out = g_string_new("\"");

    for (; *s; s++) {
        unsigned char c = *s;

        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, c);
        } else if (c < 0x20) {
            g_string_append_printf(out, "\\u%04x", c);
        } else {
            g_string_append_c(out, c);
        }
    }
    g_string_append_c(out, '"');
    return g_string_free(out, FALSE);
}

int64_t mig_json_int(JsonObject *obj, const char *name, int64_t def)
{
    JsonNode *n;

    if (!obj || !json_object_has_member(obj, name)) {
        return def;
    }
    n = json_object_get_member(obj, name);
    if (!JSON_NODE_HOLDS_VALUE(n)) {
        g_error("query member '%s' is not a number", name);
    }
    switch (json_node_get_value_type(n)) {
    case G_TYPE_INT64:
        return json_node_get_int(n);
    case G_TYPE_DOUBLE:
        return (int64_t)json_node_get_double(n);
    default:
        g_error("query member '%s' is not a number", name);
    }
}

static double json_double(JsonObject *obj, const char *name, double def)
{
    JsonNode *n;

    if (!obj || !json_object_has_member(obj, name)) {
        return def;
    }
    n = json_object_get_member(obj, name);
    if (!JSON_NODE_HOLDS_VALUE(n)) {
        g_error("query member '%s' is not a number", name);
    }
    if (json_node_get_value_type(n) == G_TYPE_INT64) {
        return (double)json_node_get_int(n);
    }
    return json_node_get_double(n);
}

char *mig_take_error(JsonObject *rsp)
{
    JsonObject *err;
    char *desc;

    if (!json_object_has_member(rsp, "error")) {
        g_autofree char *t = qtest_json_to_string(rsp);

        g_error("expected a QMP error, got: %s", t);
    }
    err = json_object_get_object_member(rsp, "error");
    g_assert_cmpstr(json_object_get_string_member(err, "class"), ==,
                    "GenericError");
    desc = g_strdup(json_object_get_string_member(err, "desc"));
    g_assert_nonnull(desc);
    g_assert_cmpstr(desc, !=, "");
    json_object_unref(rsp);
    return desc;
}

/* Run @cmd_json, assert success, return "return" as an object (unref). */
static JsonObject *qmp_return_object(QTestState *who, const char *cmd_json)
{
    JsonNode *ret = qtest_qmp_assert_success_ref(who, "%s", cmd_json);
    JsonObject *obj;

    if (!JSON_NODE_HOLDS_OBJECT(ret)) {
        g_error("%s: \"return\" is not an object", cmd_json);
    }
    obj = json_object_ref(json_node_get_object(ret));
    json_node_unref(ret);
    return obj;
}

char *mig_query_runstate(QTestState *who, bool *running)
{
    JsonObject *o = qmp_return_object(who, "{\"execute\": \"query-status\"}");
    char *status = g_strdup(json_object_get_string_member(o, "status"));

    if (running) {
        g_assert_true(json_object_has_member(o, "running"));
        *running = json_object_get_boolean_member(o, "running");
    }
    json_object_unref(o);
    return status;
}

/* --------------------------------------------------------- query-migrate */

JsonObject *migrate_query(QTestState *who)
{
    return qmp_return_object(who, "{\"execute\": \"query-migrate\"}");
}

char *migrate_query_status(QTestState *who)
{
    JsonObject *o = migrate_query(who);
    char *status;

    if (json_object_has_member(o, "status")) {
        status = g_strdup(json_object_get_string_member(o, "status"));
    } else {
        status = g_strdup("none");
    }
    json_object_unref(o);
    return status;
}

char *migrate_query_error(QTestState *who)
{
    JsonObject *o = migrate_query(who);
    char *desc = NULL;

    if (json_object_has_member(o, "error-desc")) {
        desc = g_strdup(json_object_get_string_member(o, "error-desc"));
    }
    json_object_unref(o);
    return desc;
}

void migrate_read_ram_stats(QTestState *who, MigRamStats *st)
{
    JsonObject *o = migrate_query(who);
    JsonObject *ram = NULL;

    if (json_object_has_member(o, "ram")) {
        ram = json_object_get_object_member(o, "ram");
    }
    st->present = ram != NULL;
    st->transferred = mig_json_int(ram, "transferred", -1);
    st->remaining = mig_json_int(ram, "remaining", -1);
    st->total = mig_json_int(ram, "total", -1);
    st->duplicate = mig_json_int(ram, "duplicate", -1);
    st->skipped = mig_json_int(ram, "skipped", -1);
    st->normal = mig_json_int(ram, "normal", -1);
    st->normal_bytes = mig_json_int(ram, "normal-bytes", -1);
    st->dirty_pages_rate = mig_json_int(ram, "dirty-pages-rate", -1);
    st->dirty_sync_count = mig_json_int(ram, "dirty-sync-count", -1);
    st->postcopy_requests = mig_json_int(ram, "postcopy-requests", -1);
    st->page_size = mig_json_int(ram, "page-size", -1);
    st->multifd_bytes = mig_json_int(ram, "multifd-bytes", -1);
    st->pages_per_second = mig_json_int(ram, "pages-per-second", -1);
    st->precopy_bytes = mig_json_int(ram, "precopy-bytes", -1);
    st->downtime_bytes = mig_json_int(ram, "downtime-bytes", -1);
    st->postcopy_bytes = mig_json_int(ram, "postcopy-bytes", -1);
    st->dirty_sync_missed_zero_copy =
        mig_json_int(ram, "dirty-sync-missed-zero-copy", -1);
    st->mbps = json_double(ram, "mbps", -1);
    json_object_unref(o);
}

int64_t migrate_ram_counter(QTestState *who, const char *name)
{
    JsonObject *o = migrate_query(who);
    int64_t v = -1;

    if (json_object_has_member(o, "ram")) {
        v = mig_json_int(json_object_get_object_member(o, "ram"), name, -1);
    }
    json_object_unref(o);
    return v;
}

/* ------------------------------------------------------------- waiting */

static bool in_list(const char *s, const char *const *list)
{
    for (; list && *list; list++) {
        if (!strcmp(s, *list)) {
            return true;
        }
    }
    return false;
}

static G_NORETURN void fail_with_status(QTestState *who, const char *what,
                                        const char *status)
{
    g_autofree char *err = migrate_query_error(who);

    g_error("%s: migration status '%s'%s%s", what, status,
            err ? ", error-desc: " : "", err ? err : "");
}

void wait_for_migration_status(QTestState *who, const char *goal,
                               const char *const *ungoals)
{
    static const char *const terminal[] = {
        "failed", "cancelled", "completed", NULL
    };
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;

    for (;;) {
        g_autofree char *status = migrate_query_status(who);
        g_autofree char *what = NULL;

        if (!strcmp(status, goal)) {
            return;
        }
        if (ungoals ? in_list(status, ungoals) : in_list(status, terminal)) {
            what = g_strdup_printf("waiting for '%s'", goal);
            fail_with_status(who, what, status);
        }
        if (g_get_monotonic_time() > deadline) {
            what = g_strdup_printf("timed out waiting for '%s'", goal);
            fail_with_status(who, what, status);
        }
        g_usleep(POLL_US);
    }
}

void wait_for_migration_complete(QTestState *who)
{
    wait_for_migration_status(who, "completed", NULL);
}

void wait_for_migration_fail(QTestState *from, bool allow_active)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;
    g_autofree char *err = NULL;
    g_autofree char *runstate = NULL;
    bool running = false;

    for (;;) {
        g_autofree char *status = migrate_query_status(from);

        if (!strcmp(status, "failed")) {
            break;
        }
        if (strcmp(status, "setup") &&
            !(allow_active && !strcmp(status, "active"))) {
            fail_with_status(from, "waiting for 'failed'", status);
        }
        if (g_get_monotonic_time() > deadline) {
            fail_with_status(from, "timed out waiting for 'failed'", status);
        }
        g_usleep(POLL_US);
    }

    err = migrate_query_error(from);
    if (!err || !*err) {
        g_error("migration failed without error-desc");
    }
    g_test_message("source failed as expected: %s", err);

    /* The source resumes the guest after a failure: allow it a moment. */
    for (;;) {
        g_free(runstate);
        runstate = mig_query_runstate(from, &running);
        if (running || g_get_monotonic_time() > deadline) {
            break;
        }
        g_usleep(POLL_US);
    }
    if (!running) {
        g_error("source is '%s' after a failed migration, not running",
                runstate);
    }
    g_assert_cmpstr(runstate, ==, "running");
}

void wait_for_migration_pass(QTestState *who, int64_t count)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000LL;

    for (;;) {
        g_autofree char *status = migrate_query_status(who);
        int64_t n;

        if (strcmp(status, "setup") && strcmp(status, "active")) {
            g_autofree char *what =
                g_strdup_printf("waiting for dirty-sync-count %" PRId64,
                                count);
            fail_with_status(who, what, status);
        }
        n = migrate_ram_counter(who, "dirty-sync-count");
        if (n >= count) {
            return;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("timed out waiting for dirty-sync-count %" PRId64
                    " (is %" PRId64 ", status %s)", count, n, status);
        }
        g_usleep(POLL_US);
    }
}

void migrate_wait_dest_exit(QTestState *to, int code)
{
    int st = qtest_wait_exit(to, WAIT_MS);

    if (st == -1) {
        g_error("destination (pid %d) did not exit after the failed "
                "migration", (int)qtest_pid(to));
    }
    if (WIFSIGNALED(st)) {
        g_error("destination died of signal %d (expected exit status %d)",
                WTERMSIG(st), code);
    }
    g_assert_true(WIFEXITED(st));
    g_assert_cmpint(WEXITSTATUS(st), ==, code);
    qtest_kill(to);     /* already reaped: only frees */
}

/* ------------------------------------------------------------ commands */

JsonObject *migrate_qmp_rsp(QTestState *who, const char *uri)
{
    g_autofree char *q = mig_json_quote(uri);

    return qtest_qmp(who, "{\"execute\": \"migrate\", \"arguments\": "
                     "{\"uri\": %s}}", q);
}

void migrate_qmp(QTestState *who, const char *uri)
{
    JsonObject *rsp = migrate_qmp_rsp(who, uri);

    if (!json_object_has_member(rsp, "return")) {
        g_autofree char *t = qtest_json_to_string(rsp);

        g_error("migrate %s refused: %s", uri, t);
    }
    json_object_unref(rsp);
}

void migrate_incoming_qmp(QTestState *to, const char *uri)
{
    g_autofree char *q = mig_json_quote(uri);

    qtest_qmp_assert_success(to, "{\"execute\": \"migrate-incoming\", "
                             "\"arguments\": {\"uri\": %s}}", q);
}

void migrate_cancel_qmp(QTestState *who)
{
    qtest_qmp_assert_success(who, "{\"execute\": \"migrate_cancel\"}");
}

void migrate_continue_qmp(QTestState *who, const char *state)
{
    qtest_qmp_assert_success(who, "{\"execute\": \"migrate-continue\", "
                             "\"arguments\": {\"state\": \"%s\"}}", state);
}

JsonObject *migrate_set_capability_rsp(QTestState *who, const char *cap,
                                       bool on)
{
    return qtest_qmp(who, "{\"execute\": \"migrate-set-capabilities\", "
                     "\"arguments\": {\"capabilities\": [{\"capability\": "
                     "\"%s\", \"state\": %s}]}}", cap, on ? "true" : "false");
}

void migrate_set_capability(QTestState *who, const char *cap, bool on)
{
    JsonObject *rsp = migrate_set_capability_rsp(who, cap, on);

    if (!json_object_has_member(rsp, "return")) {
        g_autofree char *t = qtest_json_to_string(rsp);

        g_error("migrate-set-capabilities %s=%d refused: %s", cap, on, t);
    }
    json_object_unref(rsp);
    g_assert_cmpint(migrate_get_capability(who, cap), ==, on);
}

bool migrate_get_capability(QTestState *who, const char *cap)
{
    JsonNode *ret = qtest_qmp_assert_success_ref(who,
                        "{\"execute\": \"query-migrate-capabilities\"}");
    JsonArray *arr;
    bool found = false, state = false;

    g_assert_true(JSON_NODE_HOLDS_ARRAY(ret));
    arr = json_node_get_array(ret);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *c = json_array_get_object_element(arr, i);

        if (!strcmp(json_object_get_string_member(c, "capability"), cap)) {
            found = true;
            state = json_object_get_boolean_member(c, "state");
        }
    }
    json_node_unref(ret);
    if (!found) {
        g_error("query-migrate-capabilities does not list '%s'", cap);
    }
    return state;
}

int64_t migrate_get_parameter_int(QTestState *who, const char *name)
{
    JsonObject *o = qmp_return_object(who,
                        "{\"execute\": \"query-migrate-parameters\"}");
    int64_t v;

    if (!json_object_has_member(o, name)) {
        g_error("query-migrate-parameters does not list '%s'", name);
    }
    v = mig_json_int(o, name, -1);
    json_object_unref(o);
    return v;
}

void migrate_set_parameter_int(QTestState *who, const char *name,
                               int64_t value)
{
    qtest_qmp_assert_success(who, "{\"execute\": \"migrate-set-parameters\", "
                             "\"arguments\": {\"%s\": %" PRId64 "}}",
                             name, value);
    g_assert_cmpint(migrate_get_parameter_int(who, name), ==, value);
}

void migrate_ensure_non_converge(QTestState *who)
{
    migrate_set_parameter_int(who, "max-bandwidth", MIG_NONCONVERGE_BANDWIDTH);
    migrate_set_parameter_int(who, "downtime-limit",
                              MIG_NONCONVERGE_DOWNTIME_MS);
}

void migrate_ensure_converge(QTestState *who)
{
    migrate_set_parameter_int(who, "max-bandwidth", MIG_CONVERGE_BANDWIDTH);
    migrate_set_parameter_int(who, "downtime-limit", MIG_CONVERGE_DOWNTIME_MS);
}

/* --------------------------------------------------------------- guest */

size_t mig_serial_len(QTestState *who)
{
    g_autofree char *text = qtest_serial_read(who);

    return strlen(text);
}

void wait_for_serial(QTestState *who, size_t *pos, const char *allowed)
{
    size_t start = *pos;
    g_autofree char *text = NULL;

    if (!qtest_serial_wait_char(who, 'B', pos, WAIT_MS)) {
        text = qtest_serial_read(who);
        g_error("no 'B' on the serial of pid %d after byte %zu; "
                "output: \"%s\"", (int)qtest_pid(who), start, text + start);
    }
    text = qtest_serial_read(who);
    for (size_t i = start; i < *pos; i++) {
        if (!strchr(allowed, text[i])) {
            g_error("unexpected '%c' on the serial of pid %d at byte %zu "
                    "(allowed \"%s\"); output from there: \"%s\"",
                    text[i], (int)qtest_pid(who), i, allowed, text + i);
        }
    }
}

void mig_check_dest_after_live(QTestState *to, size_t *pos, const char *guest,
                               int run_secs)
{
    qtest_qmp_eventwait(to, "RESUME");
    wait_for_serial(to, pos, "B");
    if (run_secs) {
        size_t before = *pos;

        g_usleep(run_secs * G_USEC_PER_SEC);
        wait_for_serial(to, pos, "B");
        g_assert_cmpuint(*pos, >, before);
    }
    if (!strcmp(guest, "a-b")) {
        qtest_qmp_assert_success(to, "{\"execute\": \"stop\"}");
        qtest_qmp_eventwait(to, "STOP");
        check_guests_ram(to);
    }
}

void check_guests_ram(QTestState *who)
{
    g_autofree uint8_t *buf = g_malloc(RAM_CHUNK);
    unsigned int bad = 0, edges = 0;
    uint8_t prev = 0;
    bool first = true;
    uint64_t addr;

    for (addr = MIG_AB_START; addr < MIG_AB_END; addr += RAM_CHUNK) {
        uint64_t len = MIN(RAM_CHUNK, MIG_AB_END - addr);

        qtest_bufread(who, addr, buf, len);
        for (uint64_t off = 0; off < len; off += MIG_PAGE_SIZE) {
            uint8_t b = buf[off];

            if (first) {
                first = false;
            } else if (b == prev) {
                /* in step with the page before */
            } else if (b == (uint8_t)(prev - 1) && edges == 0) {
                edges++;        /* where the incrementer stopped */
            } else {
                bad++;
                if (bad <= 10) {
                    g_test_message("guest RAM mismatch at 0x%" PRIx64
                                   ": 0x%02x after 0x%02x",
                                   addr + off, b, prev);
                }
            }
            prev = b;
        }
    }
    if (bad) {
        g_error("check_guests_ram: %u page(s) break the a-b invariant "
                "(first ones above)", bad);
    }
}

void mig_assert_source_alive(QTestState *from, size_t *pos)
{
    bool running = false;
    g_autofree char *runstate = mig_query_runstate(from, &running);

    g_assert_cmpstr(runstate, ==, "running");
    g_assert_true(running);
    /* Everything printed so far counts as old output. */
    *pos = MAX(*pos, mig_serial_len(from));
    wait_for_serial(from, pos, "B");
}

void mig_put8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

void mig_put16(GByteArray *b, uint16_t v)
{
    mig_put8(b, v >> 8);
    mig_put8(b, v);
}

void mig_put32(GByteArray *b, uint32_t v)
{
    mig_put16(b, v >> 16);
    mig_put16(b, v);
}

void mig_put64(GByteArray *b, uint64_t v)
{
    mig_put32(b, v >> 32);
    mig_put32(b, v);
}

void mig_put_str(GByteArray *b, const char *str)
{
    mig_put8(b, strlen(str));
    g_byte_array_append(b, (const guint8 *)str, strlen(str));
}

static long meminfo_field(const char *text, const char *name)
{
    const char *p = strstr(text, name);

    return p ? strtol(p + strlen(name), NULL, 10) : 0;
}

long mig_free_huge_pages_2m(void)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL) ||
        meminfo_field(text, "Hugepagesize:") != 2048) {
        return 0;
    }
    return meminfo_field(text, "HugePages_Free:") -
           meminfo_field(text, "HugePages_Rsvd:");
}

uint64_t mig_get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

GByteArray *mig_ram_stream_prefix(const char *dir, const char *mem,
                                  uint32_t *ram_id, GByteArray **rest)
{
    static const uint8_t ram_hdr[] = {
        3, 'r', 'a', 'm', 0, 0, 0, 0, 0, 0, 0, 4,  /* idstr, instance, v4 */
    };
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *path = g_strdup_printf("%s/full-stream", dir);
    g_autofree char *uri = g_strdup_printf("exec:cat > %s", path);
    g_autofree uint8_t *data = NULL;
    g_autoptr(GError) err = NULL;
    QTestState *src;
    uint8_t *p = NULL;
    uint64_t total, seen = 0;
    size_t len, off;
    GByteArray *b;

    src = qtest_initf("-M virt -m %s -S -bios none -kernel %s", mem, image);
    migrate_qmp(src, uri);
    wait_for_migration_complete(src);
    qtest_quit(src);
    g_assert_true(g_file_get_contents(path, (char **)&data, &len, &err));
    g_assert_no_error(err);
    unlink(path);

    for (size_t i = 5; i + sizeof(ram_hdr) <= len; i++) {
        if (data[i - 5] == 0x01 && !memcmp(data + i, ram_hdr,
                                           sizeof(ram_hdr))) {
            p = data + i;
            break;
        }
    }
    g_assert_nonnull(p);
    *ram_id = (uint32_t)p[-4] << 24 | p[-3] << 16 | p[-2] << 8 | p[-1];
    off = p - data + sizeof(ram_hdr);
    /* MEM_SIZE list: be64 total | 4, then (name, be64 length) */
    total = mig_get64(data + off) & ~0xfffULL;
    off += 8;
    while (seen < total) {
        off += 1 + data[off];
        seen += mig_get64(data + off);
        off += 8;
        g_assert_cmpuint(off, <, len);
    }
    g_assert_cmpuint(mig_get64(data + off), ==, 0x10);  /* EOS */
    off += 8;
    g_assert_cmpuint(data[off], ==, 0x7e);      /* footer */
    off += 5;
    b = g_byte_array_new();
    g_byte_array_append(b, data, off);
    if (rest) {
        *rest = g_byte_array_new();
        g_byte_array_append(*rest, data + off, len - off);
    }
    return b;
}
