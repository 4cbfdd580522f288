/*
 * Tests of QIOChannelFile.
 */
#include "qemu/osdep.h"
#include "io/channel-file.h"
#include "qapi/error.h"

#include <glib/gstdio.h>

static void test_file_rw_seek(void)
{
    g_autofree char *dir = g_dir_make_tmp("godwit-file-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "data", NULL);
    QIOChannelFile *f;
    char a[] = "0123", b[] = "4567";
    struct iovec iov[2] = { { a, 4 }, { b, 4 } };
    char buf[16] = "";
    struct iovec riov = { buf, 4 };

    f = qio_channel_file_new_path(path, O_RDWR | O_CREAT | O_TRUNC, 0600,
                                  &error_abort);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(f),
                                          QIO_CHANNEL_FEATURE_SEEKABLE));
    g_assert_cmpint(qio_channel_writev_all(QIO_CHANNEL(f), iov, 2,
                                           &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_io_seek(QIO_CHANNEL(f), 2, SEEK_SET,
                                        &error_abort), ==, 2);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(f), buf, 4,
                                         &error_abort), ==, 0);
    g_assert_cmpstr(buf, ==, "2345");

    /* Positioned I/O does not move the file offset. */
    g_assert_cmpint(qio_channel_pwritev(QIO_CHANNEL(f), iov, 1, 8,
                                        &error_abort), ==, 4);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(qio_channel_preadv(QIO_CHANNEL(f), &riov, 1, 6,
                                       &error_abort), ==, 4);
    g_assert_cmpstr(buf, ==, "6701");
    g_assert_cmpint(qio_channel_io_seek(QIO_CHANNEL(f), 0, SEEK_CUR,
                                        &error_abort), ==, 6);
    g_assert_cmpint(qio_channel_io_seek(QIO_CHANNEL(f), 0, SEEK_END,
                                        &error_abort), ==, 12);
    /* Reading at the end: clean end of file. */
    g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(f), buf, 1,
                                             &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(f), &error_abort), ==, 0);
    qio_channel_unref(QIO_CHANNEL(f));

    /* Reopen read-only via an fd. */
    {
        int fd = open(path, O_RDONLY);
        g_autofree char *contents = NULL;

        g_assert_cmpint(fd, >=, 0);
        f = qio_channel_file_new_fd(fd);
        contents = g_malloc0(13);
        g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(f), contents, 12,
                                             &error_abort), ==, 0);
        g_assert_cmpstr(contents, ==, "012345670123");
        qio_channel_unref(QIO_CHANNEL(f));
        /* The channel owned the fd. */
        g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
    }
    g_unlink(path);
    g_rmdir(dir);
}

static void test_file_errors(void)
{
    Error *err = NULL;
    int pfd[2];
    QIOChannelFile *f;
    char c = 0;
    struct iovec iov = { &c, 1 };

    g_assert_null(qio_channel_file_new_path("/nonexistent/dir/file",
                                            O_RDONLY, 0, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "/nonexistent/dir/file"));
    error_free(err);
    err = NULL;

    /* A pipe is not seekable. */
    g_assert_cmpint(pipe(pfd), ==, 0);
    f = qio_channel_file_new_fd(pfd[0]);
    g_assert_false(qio_channel_has_feature(QIO_CHANNEL(f),
                                           QIO_CHANNEL_FEATURE_SEEKABLE));
    g_assert_cmpint(qio_channel_preadv(QIO_CHANNEL(f), &iov, 1, 0, &err),
                    ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    /* Non-blocking read on an empty pipe would block. */
    qio_channel_set_blocking(QIO_CHANNEL(f), false, &error_abort);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(f), &c, 1, &error_abort),
                    ==, QIO_CHANNEL_ERR_BLOCK);
    g_assert_cmpint(write(pfd[1], "z", 1), ==, 1);
    close(pfd[1]);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(f), &c, 1,
                                         &error_abort), ==, 0);
    g_assert_cmpint(c, ==, 'z');
    /* Then end of file. */
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(f), &c, 1, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(f));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/file/rw-seek", test_file_rw_seek);
    g_test_add_func("/io/channel/file/errors", test_file_errors);
    return g_test_run();
}
