/*
 * Unit tests for util/option.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/option.h"
#include "qapi/error.h"

static void test_basic(void)
{
    QemuOpts *opts;
    uint64_t size;
    bool b;

    opts = qemu_opts_parse("memory-backend-ram,id=m0,size=1G,share=on",
                           "qom-type", &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "qom-type"), ==, "memory-backend-ram");
    g_assert_cmpstr(qemu_opts_id(opts), ==, "m0");
    g_assert_true(qemu_opt_get_size_checked(opts, "size", 0, &size,
                                            &error_abort));
    g_assert_cmpuint(size, ==, GiB);
    g_assert_true(qemu_opt_get_bool_checked(opts, "share", false, &b,
                                            &error_abort));
    g_assert_true(b);
    g_assert_true(qemu_opt_get_bool_checked(opts, "prealloc", false, &b,
                                            &error_abort));
    g_assert_false(b);
    g_assert_null(qemu_opt_get(opts, "absent"));
    g_assert_true(qemu_opts_check_unused(opts, "-object", &error_abort));
    g_assert_cmpint(qemu_opts_count(opts), ==, 4);
    qemu_opts_free(opts);
}

static void test_escape(void)
{
    QemuOpts *opts;

    opts = qemu_opts_parse("file,path=/tmp/a,,b,,,,c,id=x", "backend",
                           &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "backend"), ==, "file");
    g_assert_cmpstr(qemu_opt_get(opts, "path"), ==, "/tmp/a,b,,c");
    g_assert_cmpstr(qemu_opt_get(opts, "id"), ==, "x");
    qemu_opts_free(opts);

    /* an implied value may contain escaped commas and '=' */
    opts = qemu_opts_parse("a,,b=c,id=y", "backend", &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "backend"), ==, "a,b=c");
    g_assert_cmpstr(qemu_opt_get(opts, "id"), ==, "y");
    qemu_opts_free(opts);

    /* trailing comma, empty value */
    opts = qemu_opts_parse("x=,y=1,", NULL, &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "x"), ==, "");
    g_assert_cmpstr(qemu_opt_get(opts, "y"), ==, "1");
    g_assert_cmpint(qemu_opts_count(opts), ==, 2);
    qemu_opts_free(opts);

    opts = qemu_opts_parse("", "backend", &error_abort);
    g_assert_cmpint(qemu_opts_count(opts), ==, 0);
    qemu_opts_free(opts);
}

static void test_implied_and_flags(void)
{
    QemuOpts *opts;
    bool b;

    /* the first bare element is the implied key; later ones are flags */
    opts = qemu_opts_parse("socket,server,wait=off,id=c0", "backend",
                           &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "backend"), ==, "socket");
    g_assert_true(qemu_opt_get_bool_checked(opts, "server", false, &b,
                                            &error_abort));
    g_assert_true(b);
    g_assert_true(qemu_opt_get_bool_checked(opts, "wait", true, &b,
                                            &error_abort));
    g_assert_false(b);
    qemu_opts_free(opts);

    /* without an implied key a bare first element is a flag too */
    opts = qemu_opts_parse("debug-threads,x=1", NULL, &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "debug-threads"), ==, "on");
    qemu_opts_free(opts);

    /* an explicit key=value first element does not use the implied key */
    opts = qemu_opts_parse("backend=file,id=a", "backend", &error_abort);
    g_assert_cmpstr(qemu_opt_get(opts, "backend"), ==, "file");
    qemu_opts_free(opts);
}

static void test_duplicates(void)
{
    QemuOpts *opts = qemu_opts_parse("size=1M,id=a,size=2M", NULL,
                                     &error_abort);
    uint64_t v;

    g_assert_true(qemu_opt_get_size_checked(opts, "size", 0, &v,
                                            &error_abort));
    g_assert_cmpuint(v, ==, 2 * MiB);
    g_assert_cmpint(qemu_opts_count(opts), ==, 2);
    qemu_opts_free(opts);
}

static void test_errors(void)
{
    Error *err = NULL;
    QemuOpts *opts;
    uint64_t v;
    bool b;

    opts = qemu_opts_parse("ram,id=m0,sise=1G,size=1G", "qom-type",
                           &error_abort);
    qemu_opt_get(opts, "qom-type");
    qemu_opts_id(opts);
    g_assert_true(qemu_opts_check_unused(opts, NULL, NULL) == false);
    qemu_opt_get_size_checked(opts, "size", 0, &v, &error_abort);
    g_assert_false(qemu_opts_check_unused(opts, "-object memory-backend-ram",
                                          &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "-object memory-backend-ram: Invalid parameter 'sise'");
    error_free_or_abort(&err);
    qemu_opts_free(opts);

    opts = qemu_opts_parse("share=maybe,size=12Q,n=abc,m=-1,big=99E", NULL,
                           &error_abort);
    g_assert_false(qemu_opt_get_bool_checked(opts, "share", false, &b, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'share' expects 'on' or 'off', not 'maybe'");
    error_free_or_abort(&err);
    g_assert_false(qemu_opt_get_size_checked(opts, "size", 0, &v, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'size' expects a size, not '12Q'");
    error_free_or_abort(&err);
    g_assert_false(qemu_opt_get_size_checked(opts, "big", 0, &v, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Value '99E' is out of range for parameter 'big'");
    error_free_or_abort(&err);
    g_assert_false(qemu_opt_get_number_checked(opts, "n", 0, &v, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'n' expects a number, not 'abc'");
    error_free_or_abort(&err);
    g_assert_false(qemu_opt_get_number_checked(opts, "m", 0, &v, &err));
    error_free_or_abort(&err);
    qemu_opts_free(opts);

    g_assert_null(qemu_opts_parse("a=1,=2", NULL, &err));
    error_free_or_abort(&err);
}

static void count_cb(const char *key, const char *val, void *opaque)
{
    GString *s = opaque;

    g_string_append_printf(s, "%s=%s;", key, val);
}

static void test_foreach(void)
{
    QemuOpts *opts = qemu_opts_parse("a=1,b=2,a=3", NULL, &error_abort);
    GString *s = g_string_new(NULL);
    uint64_t v;

    qemu_opts_foreach(opts, count_cb, s);
    g_assert_cmpstr(s->str, ==, "a=3;b=2;");
    g_assert_true(qemu_opt_get_number_checked(opts, "b", 0, &v,
                                              &error_abort));
    g_assert_cmpuint(v, ==, 2);
    g_assert_true(qemu_opt_has(opts, "a"));
    g_string_free(s, true);
    qemu_opts_free(opts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/option/basic", test_basic);
    g_test_add_func("/option/escape", test_escape);
    g_test_add_func("/option/implied-and-flags", test_implied_and_flags);
    g_test_add_func("/option/duplicates", test_duplicates);
    g_test_add_func("/option/errors", test_errors);
    g_test_add_func("/option/foreach", test_foreach);
    return g_test_run();
}
