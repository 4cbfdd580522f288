/*
 * Unit tests for util/trace.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/trace-core.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "trace-util.h"

typedef struct Lookup {
    const char *name;
    bool found, enabled;
    int count;
} Lookup;

static void lookup_cb(const TraceEvent *ev, void *opaque)
{
    Lookup *l = opaque;

    l->count++;
    if (!strcmp(ev->name, l->name)) {
        l->found = true;
        l->enabled = ev->enabled;
    }
}

static bool is_enabled(const char *name)
{
    Lookup l = { .name = name };

    trace_foreach_event(lookup_cb, &l);
    g_assert_true(l.found);
    return l.enabled;
}

static char *dir;

/* Remove the test's temp dir and everything in it. */
static void remove_tmpdir(void)
{
    GDir *d;
    const char *name;

    if (!dir) {
        return;
    }
    qemu_set_log_filename(NULL, NULL);
    d = g_dir_open(dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        unlink(path);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(dir);
    g_free(dir);
    dir = NULL;
}

static char *tmpfile_path(const char *name)
{
    if (!dir) {
        dir = g_dir_make_tmp("godwit-trace-XXXXXX", NULL);
    }
    return g_build_filename(dir, name, NULL);
}

static void test_enable(void)
{
    Error *err = NULL;

    g_assert_false(is_enabled("socket_listen"));
    g_assert_cmpint(trace_enable_pattern("socket_*", true), ==, 3);
    g_assert_true(is_enabled("socket_listen"));
    g_assert_true(is_enabled("socket_connect_fail"));
    g_assert_cmpint(trace_enable_pattern("socket_*", true), ==, 0);
    g_assert_cmpint(trace_enable_pattern("-socket_connect*", true), ==, 2);
    g_assert_true(is_enabled("socket_listen"));
    g_assert_false(is_enabled("socket_connect"));
    g_assert_cmpint(trace_enable_pattern("no_such_event*", true), ==, -1);
    trace_enable_pattern("*", false);

    g_assert_true(trace_opt_parse("qemu_opts_parse", &error_abort));
    g_assert_true(is_enabled("qemu_opts_parse"));
    g_assert_true(trace_opt_parse("enable=qemu_thread_*,enable=buffer_*",
                                  &error_abort));
    g_assert_true(is_enabled("qemu_thread_create"));
    g_assert_true(is_enabled("buffer_is_zero_select"));
    trace_enable_pattern("*", false);

    g_assert_false(trace_opt_parse("enable=bogus_event", &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "trace event 'bogus_event' does not exist");
    error_free_or_abort(&err);
    g_assert_false(trace_opt_parse("frobnicate=x", &err));
    error_free_or_abort(&err);
    g_assert_false(trace_opt_parse("", &err));
    error_free_or_abort(&err);
}

static void test_emit_file(void)
{
    char *log = tmpfile_path("log");
    char *opt = g_strdup_printf("enable=socket_listen,file=%s", log);
    char *contents = NULL;
    char **lines;
    int64_t before = g_get_real_time() / G_USEC_PER_SEC;
    char *expect_prefix = g_strdup_printf("%d@", (int)getpid());
    const char *p;

    g_assert_true(trace_opt_parse(opt, &error_abort));
    g_assert_true(qemu_log_to_file());
    trace_socket_listen("127.0.0.1:4444", 7);
    trace_socket_connect("127.0.0.1:4444", 8);   /* not enabled */
    error_report("an error for the log %d", 5);
    g_assert_true(qemu_set_log_filename(NULL, &error_abort));
    trace_enable_pattern("*", false);

    g_assert_true(g_file_get_contents(log, &contents, NULL, NULL));
    lines = g_strsplit(contents, "\n", -1);
    g_assert_cmpint(g_strv_length(lines), ==, 3);
    g_assert_true(g_str_has_prefix(lines[0], expect_prefix));
    p = lines[0] + strlen(expect_prefix);
    g_assert_cmpint(g_ascii_strtoll(p, NULL, 10), >=, before);
    p = strchr(p, '.');
    g_assert_nonnull(p);
    /* six-digit microseconds, then ':' */
    g_assert_cmpint(strspn(p + 1, "0123456789"), ==, 6);
    g_assert_cmpstr(p + 7, ==, ":socket_listen addr 127.0.0.1:4444 fd 7");
    g_assert_true(g_str_has_suffix(lines[1], ": an error for the log 5"));
    g_assert_cmpstr(lines[2], ==, "");
    g_strfreev(lines);
    g_free(contents);
    unlink(log);
    g_free(log);
    g_free(opt);
    g_free(expect_prefix);

    g_assert_false(qemu_set_log_filename("/nonexistent/dir/log", NULL));
}

static void test_events_file(void)
{
    char *path = tmpfile_path("events");
    char *opt = g_strdup_printf("events=%s", path);
    Error *err = NULL;

    g_assert_true(g_file_set_contents(path,
                                      "# comment\n"
                                      "\n"
                                      "socket_*\n"
                                      "  -socket_connect_fail  \n"
                                      "qemu_opts_parse\n", -1, NULL));
    g_assert_true(trace_opt_parse(opt, &error_abort));
    g_assert_true(is_enabled("socket_listen"));
    g_assert_true(is_enabled("socket_connect"));
    g_assert_false(is_enabled("socket_connect_fail"));
    g_assert_true(is_enabled("qemu_opts_parse"));
    trace_enable_pattern("*", false);

    g_assert_true(g_file_set_contents(path, "socket_listen\nnope_*\n", -1,
                                      NULL));
    g_assert_false(trace_opt_parse(opt, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "'nope_*'"));
    g_assert_nonnull(strstr(error_get_pretty(err), ":2:"));
    error_free_or_abort(&err);
    trace_enable_pattern("*", false);

    unlink(path);
    g_free(opt);
    opt = g_strdup_printf("events=%s", path);
    g_assert_false(trace_opt_parse(opt, &err));
    error_free_or_abort(&err);
    g_free(opt);
    g_free(path);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/trace/enable", test_enable);
    g_test_add_func("/trace/emit-file", test_emit_file);
    g_test_add_func("/trace/events-file", test_events_file);
    ret = g_test_run();
    remove_tmpdir();
    return ret;
}
