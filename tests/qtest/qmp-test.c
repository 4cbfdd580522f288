/*
 * QMP protocol tests: greeting, negotiation, errors with QEMU's classes
 * and texts, events, fd passing, pmemsave, quit, several clients.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "libqtest.h"

#define MACHINE "-M virt -m 64M -bios none -display none"

static JsonObject *get_obj(JsonObject *o, const char *name)
{
    g_assert_true(json_object_has_member(o, name));
    return json_object_get_object_member(o, name);
}

/* Assert @rsp is an error of @cls whose desc is (or starts with) @desc. */
static void assert_error(JsonObject *rsp, const char *cls, const char *desc,
                         bool prefix)
{
    JsonObject *e;

    g_assert_nonnull(rsp);
    e = get_obj(rsp, "error");
    g_assert_cmpstr(json_object_get_string_member(e, "class"), ==, cls);
    if (prefix) {
        g_assert_true(g_str_has_prefix(json_object_get_string_member(e, "desc"),
                                       desc));
    } else {
        g_assert_cmpstr(json_object_get_string_member(e, "desc"), ==, desc);
    }
    json_object_unref(rsp);
}

static void assert_return_empty(JsonObject *rsp)
{
    g_assert_nonnull(rsp);
    g_assert_true(json_object_has_member(rsp, "return"));
    json_object_unref(rsp);
}

static char *query_status(QTestState *s, bool *running)
{
    JsonNode *ret = qtest_qmp_assert_success_ref(s,
                        "{\"execute\": \"query-status\"}");
    JsonObject *o = json_node_get_object(ret);
    char *status = g_strdup(json_object_get_string_member(o, "status"));

    g_assert_false(json_object_get_boolean_member(o, "singlestep"));
    *running = json_object_get_boolean_member(o, "running");
    json_node_unref(ret);
    return status;
}

static void test_greeting_and_negotiation(void)
{
    JsonObject *greeting = NULL;
    QTestState *s = qtest_init_without_qmp_handshake(MACHINE, &greeting);
    JsonObject *qmp, *ver, *qemu;
    JsonArray *caps;
    bool oob = false;

    g_assert_nonnull(greeting);
    qmp = get_obj(greeting, "QMP");
    ver = get_obj(qmp, "version");
    qemu = get_obj(ver, "qemu");
    g_assert_cmpint(json_object_get_int_member(qemu, "major"), ==, 7);
    g_assert_cmpint(json_object_get_int_member(qemu, "minor"), ==, 2);
    g_assert_cmpint(json_object_get_int_member(qemu, "micro"), ==, 0);
    g_assert_true(g_str_has_prefix(json_object_get_string_member(ver, "package"),
                                   "Godwit"));
    caps = json_object_get_array_member(qmp, "capabilities");
    for (guint i = 0; i < json_array_get_length(caps); i++) {
        oob |= !strcmp(json_array_get_string_element(caps, i), "oob");
    }
    g_assert_true(oob);
    json_object_unref(greeting);

    /* nothing but qmp_capabilities before negotiation */
    assert_error(qtest_qmp(s, "{\"execute\": \"query-status\"}"),
                 "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'",
                 false);
    assert_error(qtest_qmp(s, "{\"execute\": \"qmp_capabilities\", "
                           "\"arguments\": {\"enable\": [\"bogus\"]}}"),
                 "GenericError",
                 "Parameter 'enable[0]' does not accept value 'bogus'", false);
    assert_return_empty(qtest_qmp(s, "{\"execute\": \"qmp_capabilities\", "
                                  "\"arguments\": {\"enable\": [\"oob\"]}}"));
    assert_error(qtest_qmp(s, "{\"execute\": \"qmp_capabilities\"}"),
                 "CommandNotFound",
                 "Capabilities negotiation is already complete, command ignored",
                 false);
    qtest_quit(s);
}

static void test_errors(void)
{
    QTestState *s = qtest_init(MACHINE);
    JsonObject *rsp;
    bool running;
    g_autofree char *status = NULL;

    /* id is echoed, whatever it is */
    rsp = qtest_qmp(s, "{\"execute\": \"query-name\", \"id\": {\"a\": [1, \"b\"]}}");
    g_assert_true(json_object_has_member(rsp, "return"));
    {
        JsonObject *id = get_obj(rsp, "id");
        JsonArray *a = json_object_get_array_member(id, "a");

        g_assert_cmpint(json_array_get_int_element(a, 0), ==, 1);
        g_assert_cmpstr(json_array_get_string_element(a, 1), ==, "b");
    }
    json_object_unref(rsp);
    rsp = qtest_qmp(s, "{\"execute\": \"nope\", \"id\": 42}");
    g_assert_cmpint(json_object_get_int_member(rsp, "id"), ==, 42);
    assert_error(rsp, "CommandNotFound", "The command nope has not been found",
                 false);

    /* malformed JSON: an error, and the monitor keeps serving */
    qtest_qmp_send_raw(s, "{\"execute\": }\n");
    assert_error(qtest_qmp_receive(s), "GenericError", "JSON parse error, ", true);
    qtest_qmp_send_raw(s, "[1, 2]\n");
    assert_error(qtest_qmp_receive(s), "GenericError",
                 "QMP input must be a JSON object", false);
    qtest_qmp_send_raw(s, "\"str\"\n");
    assert_error(qtest_qmp_receive(s), "GenericError",
                 "QMP input must be a JSON object", false);
    qtest_qmp_send_raw(s, "{\"arguments\": {}}\n");
    assert_error(qtest_qmp_receive(s), "GenericError",
                 "QMP input lacks member 'execute'", false);
    status = query_status(s, &running);
    g_assert_cmpstr(status, ==, "running");
    g_assert_true(running);

    /* argument checking */
    assert_error(qtest_qmp(s, "{\"execute\": \"pmemsave\", \"arguments\": "
                           "{\"val\": \"x\", \"size\": 1, \"filename\": \"/dev/null\"}}"),
                 "GenericError",
                 "Invalid parameter type for 'val', expected: integer", false);
    assert_error(qtest_qmp(s, "{\"execute\": \"getfd\", \"arguments\": {}}"),
                 "GenericError", "Parameter 'fdname' is missing", false);
    assert_error(qtest_qmp(s, "{\"execute\": \"getfd\"}"),
                 "GenericError", "Parameter 'fdname' is missing", false);
    assert_error(qtest_qmp(s, "{\"execute\": \"query-status\", \"arguments\": "
                           "{\"x\": 1}}"),
                 "GenericError", "Parameter 'x' is unexpected", false);
    assert_error(qtest_qmp(s, "{\"execute\": \"human-monitor-command\", "
                           "\"arguments\": {\"command-line\": true}}"),
                 "GenericError",
                 "Invalid parameter type for 'command-line', expected: string",
                 false);
    qtest_quit(s);
}

static void check_timestamp(JsonObject *ev)
{
    JsonObject *ts = get_obj(ev, "timestamp");
    int64_t sec = json_object_get_int_member(ts, "seconds");
    int64_t usec = json_object_get_int_member(ts, "microseconds");
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    g_assert_cmpint(sec, >, now - 600);
    g_assert_cmpint(sec, <=, now + 1);
    g_assert_cmpint(usec, >=, 0);
    g_assert_cmpint(usec, <, 1000000);
}

static void test_stop_cont(void)
{
    QTestState *s = qtest_init(MACHINE);
    JsonObject *ev;
    bool running;
    char *status;

    qtest_qmp_assert_success(s, "{\"execute\": \"stop\"}");
    ev = qtest_qmp_eventwait_ref(s, "STOP");
    check_timestamp(ev);
    g_assert_false(json_object_has_member(ev, "data"));
    json_object_unref(ev);
    status = query_status(s, &running);
    g_assert_cmpstr(status, ==, "paused");
    g_assert_false(running);
    g_free(status);

    qtest_qmp_assert_success(s, "{\"execute\": \"cont\"}");
    ev = qtest_qmp_eventwait_ref(s, "RESUME");
    check_timestamp(ev);
    json_object_unref(ev);
    status = query_status(s, &running);
    g_assert_cmpstr(status, ==, "running");
    g_assert_true(running);
    g_free(status);

    /* system_reset: RESET event with the reason */
    qtest_qmp_assert_success(s, "{\"execute\": \"system_reset\"}");
    ev = qtest_qmp_eventwait_ref(s, "RESET");
    {
        JsonObject *d = get_obj(ev, "data");

        g_assert_false(json_object_get_boolean_member(d, "guest"));
        g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==,
                        "host-qmp-system-reset");
    }
    json_object_unref(ev);
    qtest_quit(s);
}

static void test_getfd(void)
{
    QTestState *s = qtest_init(MACHINE);
    int fds[2];

    g_assert_cmpint(pipe(fds), ==, 0);
    qtest_qmp_send_fd(s, fds[0], "{\"execute\": \"getfd\", \"arguments\": "
                      "{\"fdname\": \"myfd\"}}");
    assert_return_empty(qtest_qmp_receive(s));
    /* again under the same name: replaces it */
    qtest_qmp_send_fd(s, fds[1], "{\"execute\": \"getfd\", \"arguments\": "
                      "{\"fdname\": \"myfd\"}}");
    assert_return_empty(qtest_qmp_receive(s));
    qtest_qmp_assert_success(s, "{\"execute\": \"closefd\", \"arguments\": "
                             "{\"fdname\": \"myfd\"}}");
    assert_error(qtest_qmp(s, "{\"execute\": \"closefd\", \"arguments\": "
                           "{\"fdname\": \"myfd\"}}"),
                 "GenericError", "File descriptor named 'myfd' not found", false);
    assert_error(qtest_qmp(s, "{\"execute\": \"getfd\", \"arguments\": "
                           "{\"fdname\": \"nofd\"}}"),
                 "GenericError", "No file descriptor supplied via SCM_RIGHTS",
                 false);
    qtest_qmp_send_fd(s, fds[0], "{\"execute\": \"getfd\", \"arguments\": "
                      "{\"fdname\": \"3x\"}}");
    assert_error(qtest_qmp_receive(s), "GenericError",
                 "Parameter 'fdname' expects a name not starting with a digit",
                 false);
    close(fds[0]);
    close(fds[1]);
    qtest_quit(s);
}

static void test_pmemsave(void)
{
    QTestState *s = qtest_init(MACHINE);
    uint8_t pattern[8192];
    g_autofree char *path = g_build_filename(qtest_tmpdir(s), "pmem.bin", NULL);
    g_autofree char *path2 = g_build_filename(qtest_tmpdir(s), "mem.bin", NULL);
    gchar *contents = NULL;
    gsize len = 0;

    for (size_t i = 0; i < sizeof(pattern); i++) {
        pattern[i] = (i * 7 + 3) & 0xff;
    }
    qtest_memwrite(s, 0x80100000, pattern, sizeof(pattern));
    qtest_qmp_assert_success(s, "{\"execute\": \"pmemsave\", \"arguments\": "
                             "{\"val\": %u, \"size\": %zu, \"filename\": \"%s\"}}",
                             0x80100000, sizeof(pattern), path);
    g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, sizeof(pattern));
    g_assert_cmpmem(contents, len, pattern, sizeof(pattern));
    g_free(contents);

    qtest_qmp_assert_success(s, "{\"execute\": \"memsave\", \"arguments\": "
                             "{\"val\": %u, \"size\": 100, \"filename\": \"%s\", "
                             "\"cpu-index\": 0}}", 0x80100010, path2);
    g_assert_true(g_file_get_contents(path2, &contents, &len, NULL));
    g_assert_cmpmem(contents, len, pattern + 16, 100);
    g_free(contents);

    assert_error(qtest_qmp(s, "{\"execute\": \"memsave\", \"arguments\": "
                           "{\"val\": 0, \"size\": 1, \"filename\": \"%s\", "
                           "\"cpu-index\": 99}}", path2),
                 "GenericError", "Parameter 'cpu-index' expects a CPU number",
                 false);
    assert_error(qtest_qmp(s, "{\"execute\": \"pmemsave\", \"arguments\": "
                           "{\"val\": 0, \"size\": 16, \"filename\": \"%s\"}}", path),
                 "GenericError", "Invalid addr", true);
    qtest_quit(s);
}

static void test_queries(void)
{
    QTestState *s = qtest_init(MACHINE " -name gw-test "
                               "-uuid 12345678-9abc-def0-1234-56789abcdef0");
    JsonNode *ret;
    JsonObject *o;
    JsonArray *a;
    bool found = false;

    ret = qtest_qmp_assert_success_ref(s, "{\"execute\": \"query-name\"}");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ret), "name"),
                    ==, "gw-test");
    json_node_unref(ret);
    ret = qtest_qmp_assert_success_ref(s, "{\"execute\": \"query-uuid\"}");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(ret), "UUID"),
                    ==, "12345678-9abc-def0-1234-56789abcdef0");
    json_node_unref(ret);
    ret = qtest_qmp_assert_success_ref(s, "{\"execute\": \"query-version\"}");
    o = json_object_get_object_member(json_node_get_object(ret), "qemu");
    g_assert_cmpint(json_object_get_int_member(o, "major"), ==, 7);
    json_node_unref(ret);
    ret = qtest_qmp_assert_success_ref(s, "{\"execute\": \"query-commands\"}");
    a = json_node_get_array(ret);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        o = json_array_get_object_element(a, i);
        found |= !strcmp(json_object_get_string_member(o, "name"), "query-status");
    }
    g_assert_true(found);
    json_node_unref(ret);
    ret = qtest_qmp_assert_success_ref(s, "{\"execute\": \"query-cpus-fast\"}");
    a = json_node_get_array(ret);
    g_assert_cmpuint(json_array_get_length(a), >=, 1);
    o = json_array_get_object_element(a, 0);
    g_assert_cmpint(json_object_get_int_member(o, "cpu-index"), ==, 0);
    g_assert_cmpint(json_object_get_int_member(o, "thread-id"), >, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "target"), ==, "riscv64");
    g_assert_true(json_object_has_member(
        json_object_get_object_member(o, "props"), "core-id"));
    json_node_unref(ret);
    qtest_quit(s);
}

static void test_quit(void)
{
    QTestState *s = qtest_init(MACHINE);
    JsonObject *ev, *d;
    int status;

    qtest_qmp_assert_success(s, "{\"execute\": \"quit\"}");
    ev = qtest_qmp_eventwait_ref(s, "SHUTDOWN");
    d = get_obj(ev, "data");
    g_assert_false(json_object_get_boolean_member(d, "guest"));
    g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==, "host-qmp-quit");
    json_object_unref(ev);
    status = qtest_wait_exit(s, 30000);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    qtest_kill(s);
}

/* ---- a second QMP client on its own socket, spoken to by hand */

typedef struct RawClient {
    int fd;
    GString *buf;
} RawClient;

static RawClient *raw_connect(const char *path)
{
    RawClient *c = g_new0(RawClient, 1);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(c->fd, >=, 0);
    for (int i = 0; ; i++) {
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
            break;
        }
        g_assert_cmpint(i, <, 500);
        g_usleep(10000);
    }
    c->buf = g_string_new(NULL);
    return c;
}

static void raw_close(RawClient *c)
{
    close(c->fd);
    g_string_free(c->buf, TRUE);
    g_free(c);
}

static void raw_send(RawClient *c, const char *text)
{
    size_t len = strlen(text);

    g_assert_cmpint(write(c->fd, text, len), ==, (ssize_t)len);
}

/* Next line (without "\r\n"); fails the test after 30 s. */
static char *raw_line(RawClient *c)
{
    for (;;) {
        char *nl = strstr(c->buf->str, "\r\n");
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        char tmp[4096];
        ssize_t n;

        if (nl) {
            char *line = g_strndup(c->buf->str, nl - c->buf->str);

            g_string_erase(c->buf, 0, nl - c->buf->str + 2);
            return line;
        }
        g_assert_cmpint(poll(&pfd, 1, 30000), ==, 1);
        n = read(c->fd, tmp, sizeof(tmp));
        g_assert_cmpint(n, >, 0);
        g_string_append_len(c->buf, tmp, n);
    }
}

/* Read lines until one contains @needle; return it. */
static char *raw_wait(RawClient *c, const char *needle)
{
    for (;;) {
        char *line = raw_line(c);

        if (strstr(line, needle)) {
            return line;
        }
        g_free(line);
    }
}

static void raw_handshake(RawClient *c)
{
    g_autofree char *greeting = raw_line(c);
    g_autofree char *rsp = NULL;

    g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": {\"version\": "));
    raw_send(c, "{\"execute\": \"qmp_capabilities\"}\r\n");
    rsp = raw_line(c);
    g_assert_cmpstr(rsp, ==, "{\"return\": {}}");
}

static void test_two_clients(void)
{
    g_autofree char *dir = g_dir_make_tmp("qmp-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "extra.sock", NULL);
    QTestState *s = qtest_initf(MACHINE " -qmp unix:%s,server=on,wait=off", path);
    RawClient *c = raw_connect(path);
    char *line;

    raw_handshake(c);

    /* events go to both clients */
    qtest_qmp_assert_success(s, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(s, "STOP");
    line = raw_wait(c, "\"event\": \"STOP\"");
    g_assert_true(g_str_has_prefix(line, "{\"timestamp\": {\"seconds\": "));
    g_free(line);
    raw_send(c, "{\"execute\": \"query-status\", \"id\": \"c2\"}\r\n");
    line = raw_wait(c, "\"id\": \"c2\"");
    g_assert_nonnull(strstr(line, "\"status\": \"paused\""));
    g_free(line);

    /* a client gone in the middle of a command harms nothing */
    raw_send(c, "{\"execute\": \"cont\", \"argum");
    raw_close(c);
    qtest_qmp_assert_success(s, "{\"execute\": \"query-status\"}");
    c = raw_connect(path);
    raw_handshake(c);
    raw_send(c, "{\"execute\": \"query-status\", \"id\": 5}\r\n");
    line = raw_wait(c, "\"id\": 5");
    /* the half-sent cont never ran */
    g_assert_nonnull(strstr(line, "\"status\": \"paused\""));
    g_free(line);
    qtest_qmp_assert_success(s, "{\"execute\": \"cont\"}");
    line = raw_wait(c, "\"event\": \"RESUME\"");
    g_free(line);
    raw_close(c);

    qtest_quit(s);
    g_unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/greeting-negotiation", test_greeting_and_negotiation);
    g_test_add_func("/qmp/errors", test_errors);
    g_test_add_func("/qmp/stop-cont", test_stop_cont);
    g_test_add_func("/qmp/getfd", test_getfd);
    g_test_add_func("/qmp/pmemsave", test_pmemsave);
    g_test_add_func("/qmp/queries", test_queries);
    g_test_add_func("/qmp/two-clients", test_two_clients);
    g_test_add_func("/qmp/quit", test_quit);
    return g_test_run();
}
