/*
 * Tests of QIOChannelBuffer and QIOChannelNull.
 */
#include "qemu/osdep.h"
#include "io/channel-buffer.h"
#include "io/channel-null.h"
#include "qapi/error.h"

static void test_buffer(void)
{
    QIOChannelBuffer *b = qio_channel_buffer_new(4);
    char big[10000];
    char out[10000];
    char a[] = "abc", c[] = "def";
    struct iovec iov[2] = { { a, 3 }, { c, 3 } };
    struct iovec riov = { out, 2 };
    size_t i;

    for (i = 0; i < sizeof(big); i++) {
        big[i] = (char)i;
    }
    g_assert_cmpint(qio_channel_writev_all(QIO_CHANNEL(b), iov, 2,
                                           &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(b), big, sizeof(big),
                                          &error_abort), ==, 0);
    g_assert_cmpuint(b->usage, ==, 6 + sizeof(big));
    g_assert_cmpuint(b->capacity, >=, b->usage);
    g_assert_cmpuint(b->offset, ==, b->usage);
    g_assert_cmpint(memcmp(b->data, "abcdef", 6), ==, 0);

    /* Reading at the end gives end of file; rewind and read it back. */
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(b), out, 1, &error_abort),
                    ==, 0);
    g_assert_cmpint(qio_channel_io_seek(QIO_CHANNEL(b), 0, SEEK_SET,
                                        &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(b), out, 6,
                                         &error_abort), ==, 0);
    g_assert_cmpint(memcmp(out, "abcdef", 6), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(b), out, sizeof(big),
                                         &error_abort), ==, 0);
    g_assert_cmpint(memcmp(out, big, sizeof(big)), ==, 0);

    /* Positioned I/O. */
    g_assert_cmpint(qio_channel_pwritev(QIO_CHANNEL(b), iov, 1, 1,
                                        &error_abort), ==, 3);
    g_assert_cmpint(qio_channel_preadv(QIO_CHANNEL(b), &riov, 1, 0,
                                       &error_abort), ==, 2);
    g_assert_cmpint(memcmp(out, "aa", 2), ==, 0);

    /* A watch is always ready. */
    qio_channel_wait(QIO_CHANNEL(b), G_IO_IN);
    qio_channel_wait(QIO_CHANNEL(b), G_IO_OUT);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(b), &error_abort), ==, 0);
    /* Data remains available until the last reference goes. */
    g_assert_cmpint(memcmp(b->data, "aabcef", 6), ==, 0);
    qio_channel_unref(QIO_CHANNEL(b));
}

static void test_null(void)
{
    QIOChannelNull *n = qio_channel_null_new();
    char buf[8];
    Error *err = NULL;

    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(n), "xyz", 3,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(n), buf, 3,
                                             &error_abort), ==, 0);
    qio_channel_wait(QIO_CHANNEL(n), G_IO_OUT);
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(n), &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_write(QIO_CHANNEL(n), "x", 1, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(n));
}

static void test_cast_and_ref(void)
{
    QIOChannelBuffer *b = qio_channel_buffer_new(0);
    QIOChannel *ioc = QIO_CHANNEL(b);

    g_assert_true(qio_channel_is_type(ioc, &qio_channel_buffer_class));
    g_assert_false(qio_channel_is_type(ioc, &qio_channel_null_class));
    g_assert_true(QIO_CHANNEL_BUFFER(ioc) == b);
    g_assert_cmpstr(qio_channel_get_name(ioc), ==, TYPE_QIO_CHANNEL_BUFFER);
    qio_channel_set_name(ioc, "migration-buffer");
    g_assert_cmpstr(qio_channel_get_name(ioc), ==, "migration-buffer");
    qio_channel_ref(ioc);
    qio_channel_unref(ioc);
    g_assert_cmpint(qio_channel_write_all(ioc, "q", 1, &error_abort), ==, 0);
    qio_channel_unref(ioc);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/io/channel/buffer/rw", test_buffer);
    g_test_add_func("/io/channel/null", test_null);
    g_test_add_func("/io/channel/buffer/cast-ref", test_cast_and_ref);
    return g_test_run();
}
