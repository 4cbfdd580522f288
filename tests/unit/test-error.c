/*
 * Unit tests for util/error.c and util/qemu-error.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"

static bool fail_with(Error **errp, const char *what)
{
    error_setg(errp, "cannot open '%s'", what);
    return false;
}

static void test_basic(void)
{
    Error *err = NULL;

    g_assert_false(fail_with(&err, "disk.img"));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "cannot open 'disk.img'");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_GENERIC_ERROR);
    error_free_or_abort(&err);
    g_assert_null(err);

    /* NULL errp: ignored */
    g_assert_false(fail_with(NULL, "x"));

    error_set(&err, ERROR_CLASS_DEVICE_NOT_FOUND, "Device '%s' not found",
              "virtio0");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_DEVICE_NOT_FOUND);
    g_assert_cmpstr(ErrorClass_str(error_get_class(err)), ==,
                    "DeviceNotFound");
    error_free(err);
    g_assert_cmpstr(ErrorClass_str(ERROR_CLASS_GENERIC_ERROR), ==,
                    "GenericError");
    g_assert_cmpstr(ErrorClass_str(ERROR_CLASS_COMMAND_NOT_FOUND), ==,
                    "CommandNotFound");
}

static void test_errno(void)
{
    Error *err = NULL;

    errno = 1234;
    error_setg_errno(&err, ENOENT, "Could not open '%s'", "/nonexistent");
    g_assert_cmpint(errno, ==, 1234);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Could not open '/nonexistent': No such file or directory");
    error_free(err);
    err = NULL;
    error_setg_errno(&err, 0, "no errno");
    g_assert_cmpstr(error_get_pretty(err), ==, "no errno");
    error_free(err);
}

static void test_prepend_propagate(void)
{
    Error *err = NULL, *local = NULL, *copy;

    fail_with(&local, "a");
    error_prepend(&local, "migration: ");
    g_assert_cmpstr(error_get_pretty(local), ==, "migration: cannot open 'a'");
    error_propagate(&err, local);
    g_assert_true(err == local);

    /* the first error wins; the second is freed */
    local = NULL;
    fail_with(&local, "b");
    error_propagate(&err, local);
    g_assert_cmpstr(error_get_pretty(err), ==, "migration: cannot open 'a'");

    /* propagate to NULL frees */
    local = NULL;
    fail_with(&local, "c");
    error_propagate(NULL, local);

    /* propagating nothing leaves the target alone */
    error_propagate(&err, NULL);
    g_assert_nonnull(err);

    copy = error_copy(err);
    g_assert_cmpstr(error_get_pretty(copy), ==, error_get_pretty(err));
    error_free(err);
    err = NULL;

    local = copy;
    error_propagate_prepend(&err, local, "%s: ", "outer");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "outer: migration: cannot open 'a'");
    error_free(err);

    /* prepend on an unset error is a no-op */
    err = NULL;
    error_prepend(&err, "x");
    error_prepend(NULL, "x");
    g_assert_null(err);
}

static void test_hint(void)
{
    Error *err = NULL;

    error_setg(&err, "bad size");
    error_append_hint(&err, "Try %d.\n", 4096);
    error_append_hint(&err, "Or more.\n");
    g_assert_cmpstr(error_get_hint(err), ==, "Try 4096.\nOr more.\n");
    error_free(err);
}

static void sink(void *opaque, const char *line)
{
    g_string_append(opaque, line);
}

static void test_report(void)
{
    GString *out = g_string_new(NULL);
    Error *err = NULL;

    error_set_progname("/usr/bin/godwit-test");
    error_report_set_thread_sink(sink, out);
    error_report("value %d is bad", 3);
    warn_report("careful");
    info_report("fyi");
    error_setg(&err, "boom");
    error_append_hint(&err, "hint line\n");
    error_report_err(err);
    error_report_set_thread_sink(NULL, NULL);
    g_assert_cmpstr(out->str, ==,
                    "godwit-test: value 3 is bad\n"
                    "godwit-test: warning: careful\n"
                    "godwit-test: info: fyi\n"
                    "godwit-test: boom\n"
                    "hint line\n");
    g_string_free(out, true);
}

static void test_fatal_subprocess(void)
{
    if (g_test_subprocess()) {
        error_set_progname("godwit-system-riscv64");
        error_setg(&error_fatal, "fatal thing %d", 7);
        return;  /* not reached */
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("godwit-system-riscv64: fatal thing 7\n");
}

static void test_abort_subprocess(void)
{
    if (g_test_subprocess()) {
        Error *local = NULL;

        error_setg(&local, "internal");
        error_propagate(&error_abort, local);
        return;  /* not reached */
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*Unexpected error in*internal*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/basic", test_basic);
    g_test_add_func("/error/errno", test_errno);
    g_test_add_func("/error/prepend-propagate", test_prepend_propagate);
    g_test_add_func("/error/hint", test_hint);
    g_test_add_func("/error/report", test_report);
    g_test_add_func("/error/fatal", test_fatal_subprocess);
    g_test_add_func("/error/abort", test_abort_subprocess);
    return g_test_run();
}
