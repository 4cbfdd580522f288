/*
 * Unit tests for QEMUFile (migration/qemu-file.c): byte order, batching
 * of async buffers, in-place reads, the sticky first error, shutdown,
 * the return path and rate-limit accounting.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-buffer.h"
#include "io/channel-socket.h"
#include "migration/qemu-file.h"
#include <sys/socket.h>

/* A buffer channel holding @len bytes of @data, positioned at 0. */
static QIOChannelBuffer *buffer_with(const uint8_t *data, size_t len)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len + 1);

    memcpy(bioc->data, data, len);
    bioc->usage = len;
    bioc->offset = 0;
    return bioc;
}

static void assert_bytes(QIOChannelBuffer *bioc, const uint8_t *want,
                         size_t len)
{
    g_assert_cmpuint(bioc->usage, ==, len);
    g_assert_cmpmem(bioc->data, len, want, len);
}

/* Each width is big-endian on the wire; a counted string has no NUL. */
static const uint8_t golden_ints[] = {
    0xab,                                           /* put_byte 0xab */
    0x12, 0x34,                                     /* be16 0x1234 */
    0xde, 0xad, 0xbe, 0xef,                         /* be32 0xdeadbeef */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* be64 0x0102..08 */
    0x03, 'r', 'a', 'm',                            /* counted "ram" */
    0x00,                                           /* counted "" */
};

static void test_integers(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(64);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    char str[256];

    qemu_put_byte(f, 0xab);
    qemu_put_be16(f, 0x1234);
    qemu_put_be32(f, 0xdeadbeef);
    qemu_put_be64(f, 0x0102030405060708ULL);
    qemu_put_counted_string(f, "ram");
    qemu_put_counted_string(f, "");
    g_assert_cmpuint(qemu_file_transferred(f), ==, sizeof(golden_ints));
    g_assert_cmpuint(bioc->usage, ==, 0);     /* still buffered */
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    assert_bytes(bioc, golden_ints, sizeof(golden_ints));

    bioc->offset = 0;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    g_assert_cmpint(qemu_get_byte(f), ==, 0xab);
    g_assert_cmpuint(qemu_get_be16(f), ==, 0x1234);
    g_assert_cmpuint(qemu_get_be32(f), ==, 0xdeadbeef);
    g_assert_cmpuint(qemu_get_be64(f), ==, 0x0102030405060708ULL);
    g_assert_cmpuint(qemu_get_counted_string(f, str), ==, 3);
    g_assert_cmpstr(str, ==, "ram");
    g_assert_cmpuint(qemu_get_counted_string(f, str), ==, 0);
    g_assert_cmpstr(str, ==, "");
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
    g_assert_cmpuint(qemu_file_transferred(f), ==, sizeof(golden_ints));
    g_assert_cmpint(qemu_peek_byte(f, 0), ==, -1);   /* clean end */
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    qio_channel_unref(QIO_CHANNEL(bioc));
}

/* Async buffers keep their place between copied bytes. */
static void test_async_order(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(64);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    uint8_t page_a[4] = { 0xa0, 0xa1, 0xa2, 0xa3 };
    uint8_t page_b[2] = { 0xb0, 0xb1 };
    static const uint8_t want[] = {
        0x01,                       /* put_byte */
        0xa0, 0xa1, 0xa2, 0xa3,     /* async page_a */
        0x00, 0x00, 0x00, 0x02,     /* be32 2 */
        0xb0, 0xb1,                 /* async page_b */
        0x03,                       /* put_byte */
    };

    qemu_put_byte(f, 1);
    qemu_put_buffer_async(f, page_a, sizeof(page_a), false);
    qemu_put_be32(f, 2);
    qemu_put_buffer_async(f, page_b, sizeof(page_b), false);
    qemu_put_byte(f, 3);
    g_assert_cmpuint(qemu_file_transferred(f), ==, sizeof(want));
    qemu_fflush(f);
    assert_bytes(bioc, want, sizeof(want));
    /* The bytes went out at flush time, not at put time. */
    page_a[0] = 0xff;
    qemu_fflush(f);
    assert_bytes(bioc, want, sizeof(want));
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    qio_channel_unref(QIO_CHANNEL(bioc));
}

/* More entries than one writev batch: everything arrives in order. */
static void test_async_many(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(64);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    enum { N = QEMU_FILE_MAX_IOV * 3 + 5 };
    uint8_t *src = g_malloc(N);
    size_t i;

    for (i = 0; i < N; i++) {
        src[i] = i * 7;
        qemu_put_buffer_async(f, &src[i], 1, false);
        qemu_put_byte(f, i);
    }
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    g_assert_cmpuint(bioc->usage, ==, 2 * N);
    for (i = 0; i < N; i++) {
        g_assert_cmpuint(bioc->data[2 * i], ==, (uint8_t)(i * 7));
        g_assert_cmpuint(bioc->data[2 * i + 1], ==, (uint8_t)i);
    }
    g_free(src);
    qio_channel_unref(QIO_CHANNEL(bioc));
}

/* Buffers bigger than the internal one, and in-place reads. */
static void test_big_buffer(void)
{
    size_t big = QEMU_FILE_BUF_SIZE * 2 + 123;
    uint8_t *src = g_malloc(big), *dst = g_malloc(big), *p;
    QIOChannelBuffer *bioc = qio_channel_buffer_new(64);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    uint8_t small[16];
    size_t i;

    for (i = 0; i < big; i++) {
        src[i] = i ^ (i >> 8);
    }
    qemu_put_buffer(f, src, big);
    qemu_put_buffer(f, src, sizeof(small));
    qemu_put_buffer(f, src, big);
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    g_assert_cmpuint(bioc->usage, ==, 2 * big + sizeof(small));

    bioc->offset = 0;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    g_assert_cmpuint(qemu_get_buffer(f, dst, big), ==, big);
    g_assert_cmpmem(dst, big, src, big);
    p = small;
    g_assert_cmpuint(qemu_get_buffer_in_place(f, &p, sizeof(small)), ==,
                     sizeof(small));
    g_assert(p != small);                  /* points into the file */
    g_assert_cmpmem(p, sizeof(small), src, sizeof(small));
    p = dst;
    memset(dst, 0, big);
    g_assert_cmpuint(qemu_get_buffer_in_place(f, &p, big), ==, big);
    g_assert(p == dst);                    /* too big: copied */
    g_assert_cmpmem(dst, big, src, big);
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    qio_channel_unref(QIO_CHANNEL(bioc));
    g_free(src);
    g_free(dst);
}

/* End of stream in the middle of a value is a sticky -EIO with an offset. */
static void test_short_read(void)
{
    static const uint8_t data[] = { 0x11, 0x22, 0x33, 0x44, 0x55 };
    QIOChannelBuffer *bioc = buffer_with(data, sizeof(data));
    QEMUFile *f = qemu_file_new_input(QIO_CHANNEL(bioc));
    Error *err = NULL;
    uint8_t buf[8];
    uint8_t *p;

    g_assert_cmpuint(qemu_get_be16(f), ==, 0x1122);
    g_assert_cmpuint(qemu_peek_buffer(f, &p, 8, 0), ==, 3);   /* short */
    g_assert_cmpint(qemu_file_get_error(f), ==, 0);
    g_assert_cmpuint(qemu_get_be32(f), ==, 0);
    g_assert_cmpint(qemu_file_get_error_obj(f, &err), ==, -EIO);
    g_assert(strstr(error_get_pretty(err), "unexpected end of stream at "
                    "offset 2"));
    error_free(err);
    /* Sticky: the three bytes still buffered are not served. */
    g_assert_cmpint(qemu_get_byte(f), ==, 0);
    g_assert_cmpuint(qemu_get_buffer(f, buf, 1), ==, 0);
    g_assert_cmpint(qemu_peek_byte(f, 0), ==, -1);
    g_assert_cmpint(qemu_fclose(f), ==, -EIO);
    qio_channel_unref(QIO_CHANNEL(bioc));
}

/* The first error wins; later ones are dropped. */
static void test_first_error(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(16);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    Error *err = NULL;

    error_setg(&err, "first");
    qemu_file_set_error_obj(f, -EINVAL, err);
    err = NULL;
    error_setg(&err, "second");
    qemu_file_set_error_obj(f, -EIO, err);
    err = NULL;
    g_assert_cmpint(qemu_file_get_error_obj(f, &err), ==, -EINVAL);
    g_assert_cmpstr(error_get_pretty(err), ==, "first");
    error_free(err);
    qemu_put_be32(f, 1);                  /* dropped */
    g_assert(qemu_file_rate_limit(f));    /* an error stops the sender */
    g_assert_cmpint(qemu_fclose(f), ==, -EINVAL);
    g_assert_cmpuint(bioc->usage, ==, 0);
    qio_channel_unref(QIO_CHANNEL(bioc));
}

static void socket_pair(QIOChannel **a, QIOChannel **b)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    *a = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
    *b = QIO_CHANNEL(qio_channel_socket_new_fd(sv[1], &error_abort));
}

/* After shutdown, buffered bytes are not data: reads fail with -EIO. */
static void test_shutdown(void)
{
    QIOChannel *a, *b;
    QEMUFile *out, *in;
    Error *err = NULL;

    socket_pair(&a, &b);
    out = qemu_file_new_output(a);
    in = qemu_file_new_input(b);
    qemu_put_be64(out, 0x1122334455667788ULL);
    qemu_fflush(out);
    g_assert_cmpint(qemu_get_byte(in), ==, 0x11);   /* 7 more buffered */
    g_assert_cmpint(qemu_file_shutdown(in), ==, 0);
    g_assert_cmpint(qemu_get_byte(in), ==, 0);
    g_assert_cmpint(qemu_file_get_error_obj(in, &err), ==, -EIO);
    g_assert(strstr(error_get_pretty(err), "shut down"));
    error_free(err);
    g_assert_cmpint(qemu_fclose(in), ==, -EIO);
    /* The peer's writes now fail too (the socket was shut both ways). */
    qemu_put_be32(out, 1);
    qemu_fflush(out);
    qemu_fclose(out);
    qio_channel_unref(a);
    qio_channel_unref(b);
}

typedef struct BlockedReader {
    QEMUFile *f;
    unsigned int value;
    int err;
} BlockedReader;

static gpointer blocked_reader(gpointer opaque)
{
    BlockedReader *r = opaque;

    r->value = qemu_get_be32(r->f);
    r->err = qemu_file_get_error(r->f);
    return NULL;
}

/* Shutdown from another thread wakes a blocked reader with the error. */
static void test_shutdown_wakes_reader(void)
{
    QIOChannel *a, *b;
    BlockedReader r = { 0 };
    GThread *t;

    socket_pair(&a, &b);
    r.f = qemu_file_new_input(b);
    t = g_thread_new("reader", blocked_reader, &r);
    g_usleep(20 * 1000);
    g_assert_cmpint(qemu_file_shutdown(r.f), ==, 0);
    g_thread_join(t);
    g_assert_cmpint(r.err, ==, -EIO);
    g_assert_cmpuint(r.value, ==, 0);
    qemu_fclose(r.f);
    qio_channel_unref(a);
    qio_channel_unref(b);
}

/* The return path runs the other way over the same socket. */
static void test_return_path(void)
{
    QIOChannel *a, *b;
    QEMUFile *src, *dst, *src_rp, *dst_rp;

    socket_pair(&a, &b);
    src = qemu_file_new_output(a);
    dst = qemu_file_new_input(b);
    src_rp = qemu_file_get_return_path(src);
    dst_rp = qemu_file_get_return_path(dst);
    g_assert(!qemu_file_is_writable(src_rp));
    g_assert(qemu_file_is_writable(dst_rp));

    qemu_put_be16(src, 2);                  /* like MIG_CMD_PING */
    qemu_put_be32(src, 0x42);
    qemu_fflush(src);
    g_assert_cmpuint(qemu_get_be16(dst), ==, 2);
    g_assert_cmpuint(qemu_get_be32(dst), ==, 0x42);
    qemu_put_be16(dst_rp, 2);               /* like MIG_RP_MSG_PONG */
    qemu_put_be32(dst_rp, 0x42);
    qemu_fflush(dst_rp);
    g_assert_cmpuint(qemu_get_be16(src_rp), ==, 2);
    g_assert_cmpuint(qemu_get_be32(src_rp), ==, 0x42);

    /* Closing one direction leaves the other working. */
    g_assert_cmpint(qemu_fclose(dst_rp), ==, 0);
    qemu_put_byte(src, 7);
    qemu_fflush(src);
    g_assert_cmpint(qemu_get_byte(dst), ==, 7);
    g_assert_cmpint(qemu_fclose(src_rp), ==, 0);
    g_assert_cmpint(qemu_fclose(src), ==, 0);   /* last on a: closes it */
    g_assert_cmpint(qemu_peek_byte(dst, 0), ==, -1);
    g_assert_cmpint(qemu_fclose(dst), ==, 0);
    qio_channel_unref(a);
    qio_channel_unref(b);
}

static void test_rate_limit(void)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(16);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    uint8_t page[60] = { 0 };

    g_assert(!qemu_file_rate_limit(f));             /* 0: unlimited */
    qemu_file_set_rate_limit(f, 100);
    g_assert_cmpuint(qemu_file_get_rate_limit(f), ==, 100);
    qemu_put_buffer_async(f, page, sizeof(page), false);
    g_assert(!qemu_file_rate_limit(f));             /* 60 < 100 */
    qemu_put_be32(f, 0);
    qemu_put_be64(f, 0);
    g_assert(!qemu_file_rate_limit(f));             /* 72 < 100 */
    qemu_file_acct_rate_limit(f, 28);               /* e.g. multifd */
    g_assert(qemu_file_rate_limit(f));              /* 100 >= 100 */
    g_assert_cmpuint(qemu_file_transferred(f), ==, 72);
    qemu_file_reset_rate_limit(f);                  /* next period */
    g_assert(!qemu_file_rate_limit(f));
    qemu_fflush(f);
    g_assert_cmpuint(qemu_file_transferred(f), ==, 72);
    g_assert_cmpuint(bioc->usage, ==, 72);
    qemu_file_set_rate_limit(f, 0);
    qemu_put_buffer(f, page, sizeof(page));
    g_assert(!qemu_file_rate_limit(f));
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    qio_channel_unref(QIO_CHANNEL(bioc));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qemu-file/integers", test_integers);
    g_test_add_func("/qemu-file/async/order", test_async_order);
    g_test_add_func("/qemu-file/async/many", test_async_many);
    g_test_add_func("/qemu-file/big-buffer", test_big_buffer);
    g_test_add_func("/qemu-file/error/short-read", test_short_read);
    g_test_add_func("/qemu-file/error/first-wins", test_first_error);
    g_test_add_func("/qemu-file/shutdown/sticky", test_shutdown);
    g_test_add_func("/qemu-file/shutdown/wakes-reader",
                    test_shutdown_wakes_reader);
    g_test_add_func("/qemu-file/return-path", test_return_path);
    g_test_add_func("/qemu-file/rate-limit", test_rate_limit);
    return g_test_run();
}
