/*
 * Tests of QIOChannelCommand.
 */
#include "qemu/osdep.h"
#include "io/channel-command.h"
#include "qapi/error.h"

static void test_command_cat(void)
{
    const char *argv[] = { "cat", NULL };
    QIOChannelCommand *c;
    char buf[64] = "";
    char big[200000];
    size_t i;

    c = qio_channel_command_new_spawn(argv, O_RDWR, &error_abort);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "hello", 5,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(c), buf, 5,
                                         &error_abort), ==, 0);
    g_assert_cmpstr(buf, ==, "hello");
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(c), &error_abort), ==, 0);
    qio_channel_unref(QIO_CHANNEL(c));

    /* Write-only through a shell pipeline, read it back with a reader. */
    {
        g_autofree char *dir = g_dir_make_tmp("godwit-cmd-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, "out", NULL);
        g_autofree char *wcmd = g_strdup_printf("cat > '%s'", path);
        g_autofree char *rcmd = g_strdup_printf("cat '%s'", path);
        const char *wargv[] = { "/bin/sh", "-c", wcmd, NULL };
        const char *rargv[] = { "/bin/sh", "-c", rcmd, NULL };
        char *back = g_malloc(sizeof(big));
        char eof;

        for (i = 0; i < sizeof(big); i++) {
            big[i] = (char)(i * 7);
        }
        c = qio_channel_command_new_spawn(wargv, O_WRONLY, &error_abort);
        g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), big,
                                              sizeof(big), &error_abort),
                        ==, 0);
        g_assert_cmpint(qio_channel_close(QIO_CHANNEL(c), &error_abort),
                        ==, 0);
        qio_channel_unref(QIO_CHANNEL(c));

        c = qio_channel_command_new_spawn(rargv, O_RDONLY, &error_abort);
        g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(c), back,
                                             sizeof(big), &error_abort),
                        ==, 0);
        g_assert_cmpint(memcmp(back, big, sizeof(big)), ==, 0);
        g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(c), &eof, 1,
                                                 &error_abort), ==, 0);
        g_assert_cmpint(qio_channel_close(QIO_CHANNEL(c), &error_abort),
                        ==, 0);
        qio_channel_unref(QIO_CHANNEL(c));
        g_free(back);
        unlink(path);
        rmdir(dir);
    }
}

static void test_command_exit_status(void)
{
    const char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
    QIOChannelCommand *c;
    Error *err = NULL;
    char buf;

    c = qio_channel_command_new_spawn(argv, O_RDONLY, &error_abort);
    g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(c), &buf, 1,
                                             &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(c), &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), "status 3"));
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(c));
}

static void test_command_missing(void)
{
    const char *argv[] = { "/nonexistent/godwit-no-such-binary", NULL };
    Error *err = NULL;

    g_assert_null(qio_channel_command_new_spawn(argv, O_RDWR, &err));
    g_assert_nonnull(err);
    error_free(err);
}

static void test_command_shutdown(void)
{
    const char *argv[] = { "sleep", "30", NULL };
    QIOChannelCommand *c;
    char buf;
    Error *err = NULL;

    c = qio_channel_command_new_spawn(argv, O_RDWR, &error_abort);
    g_assert_cmpint(qio_channel_shutdown(QIO_CHANNEL(c),
                                         QIO_CHANNEL_SHUTDOWN_BOTH,
                                         &error_abort), ==, 0);
    /* Reads see end of file; writes fail without SIGPIPE. */
    g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(c), &buf, 1,
                                             &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "x", 1, &err),
                    ==, -1);
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(c));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/command/cat", test_command_cat);
    g_test_add_func("/io/channel/command/exit-status",
                    test_command_exit_status);
    g_test_add_func("/io/channel/command/missing", test_command_missing);
    g_test_add_func("/io/channel/command/shutdown", test_command_shutdown);
    return g_test_run();
}
