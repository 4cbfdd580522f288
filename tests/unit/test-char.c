/*
 * Tests of the chardev backends (socket, file, null) and option parsing.
 */
#include "qemu/osdep.h"
#include "chardev/char.h"
#include "io/channel-socket.h"
#include "qapi/error.h"

#include <glib/gstdio.h>

static char *tmpdir;

typedef struct Frontend {
    GByteArray *data;
    int can_read;       /* what can_read answers */
    int max_chunk;      /* the largest chunk delivered */
    int opened;
    int closed;
    Chardev *chr;
    int msgfd;
} Frontend;

static int fe_can_read(void *opaque)
{
    Frontend *fe = opaque;

    return fe->can_read;
}

static void fe_read(void *opaque, const uint8_t *buf, int size)
{
    Frontend *fe = opaque;
    int fd;

    g_assert_cmpint(size, <=, fe->can_read);
    g_byte_array_append(fe->data, buf, size);
    fe->max_chunk = MAX(fe->max_chunk, size);
    fd = qemu_chr_fe_get_msgfd(fe->chr);
    if (fd >= 0) {
        fe->msgfd = fd;
    }
}

static void fe_event(void *opaque, QEMUChrEvent event)
{
    Frontend *fe = opaque;

    if (event == CHR_EVENT_OPENED) {
        fe->opened++;
    } else if (event == CHR_EVENT_CLOSED) {
        fe->closed++;
    }
}

static void fe_init(Frontend *fe, Chardev *chr)
{
    memset(fe, 0, sizeof(*fe));
    fe->data = g_byte_array_new();
    fe->can_read = 4096;
    fe->chr = chr;
    fe->msgfd = -1;
    qemu_chr_fe_set_handlers(chr, fe_can_read, fe_read, fe_event, fe);
}

static void fe_fini(Frontend *fe)
{
    qemu_chr_fe_set_handlers(fe->chr, NULL, NULL, NULL, NULL);
    g_byte_array_free(fe->data, TRUE);
}

/* Run the default main context until @cond holds (or ~5 s pass). */
#define RUN_UNTIL(cond) do {                                     \
        gint64 _end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC; \
        while (!(cond) && g_get_monotonic_time() < _end) {      \
            g_main_context_iteration(NULL, FALSE);              \
            g_usleep(1000);                                     \
        }                                                       \
        g_assert_true(cond);                                    \
    } while (0)

static QIOChannelSocket *connect_unix(const char *path)
{
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    QIOChannelSocket *sioc = qio_channel_socket_new();

    addr.u.q_unix.path = (char *)path;
    g_assert_cmpint(qio_channel_socket_connect_sync(sioc, &addr,
                                                    &error_abort), ==, 0);
    return sioc;
}

static void test_socket_server_nowait(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "srv.sock", NULL);
    g_autofree char *opts =
        g_strdup_printf("socket,id=srv,path=%s,server=on,wait=off", path);
    Chardev *chr = qemu_chr_new_from_opts_str(opts, &error_abort);
    QIOChannelSocket *c;
    Frontend fe;
    char buf[16] = "";
    int pfd[2];

    g_assert_nonnull(chr);
    g_assert_true(qemu_chr_find("srv") == chr);
    g_assert_cmpstr(qemu_chr_get_id(chr), ==, "srv");
    fe_init(&fe, chr);
    g_assert_false(qemu_chr_fe_connected(chr));
    /* No client: output is dropped. */
    g_assert_cmpint(qemu_chr_fe_write_all(chr, (const uint8_t *)"lost", 4),
                    ==, 4);

    c = connect_unix(path);
    RUN_UNTIL(fe.opened == 1);
    g_assert_true(qemu_chr_fe_connected(chr));
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "hello", 5,
                                          &error_abort), ==, 0);
    RUN_UNTIL(fe.data->len == 5);
    g_assert_cmpint(memcmp(fe.data->data, "hello", 5), ==, 0);

    /* Frontend to client. */
    g_assert_cmpint(qemu_chr_fe_write_all(chr, (const uint8_t *)"world", 5),
                    ==, 5);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(c), buf, 5,
                                         &error_abort), ==, 0);
    g_assert_cmpstr(buf, ==, "world");

    /* An fd passed with data reaches qemu_chr_fe_get_msgfd. */
    g_assert_cmpint(pipe(pfd), ==, 0);
    {
        struct iovec iov = { (char *)"F", 1 };

        g_assert_cmpint(qio_channel_writev_full_all(QIO_CHANNEL(c), &iov, 1,
                                                    &pfd[1], 1, 0,
                                                    &error_abort), ==, 0);
    }
    RUN_UNTIL(fe.data->len == 6);
    g_assert_cmpint(fe.msgfd, >=, 0);
    g_assert_cmpint(write(fe.msgfd, "P", 1), ==, 1);
    g_assert_cmpint(read(pfd[0], buf, 1), ==, 1);
    g_assert_cmpint(buf[0], ==, 'P');
    close(fe.msgfd);
    close(pfd[0]);
    close(pfd[1]);
    g_assert_cmpint(qemu_chr_fe_get_msgfd(chr), ==, -1);

    /* The client leaves; the next one is accepted. */
    qio_channel_unref(QIO_CHANNEL(c));
    RUN_UNTIL(fe.closed == 1);
    g_assert_false(qemu_chr_fe_connected(chr));
    c = connect_unix(path);
    RUN_UNTIL(fe.opened == 2);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "again", 5,
                                          &error_abort), ==, 0);
    RUN_UNTIL(fe.data->len == 11);

    /* The frontend drops the client. */
    qemu_chr_fe_disconnect(chr);
    g_assert_cmpint(fe.closed, ==, 2);
    g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(c), buf, 1,
                                             &error_abort), ==, 0);
    qio_channel_unref(QIO_CHANNEL(c));
    fe_fini(&fe);
}

static void test_socket_throttle(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "thr.sock", NULL);
    g_autofree char *opts =
        g_strdup_printf("socket,id=thr,path=%s,server=on,wait=off", path);
    Chardev *chr = qemu_chr_new_from_opts_str(opts, &error_abort);
    QIOChannelSocket *c;
    Frontend fe;
    int i;

    fe_init(&fe, chr);
    fe.can_read = 0;
    c = connect_unix(path);
    RUN_UNTIL(fe.opened == 1);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "0123456789abcdef",
                                          16, &error_abort), ==, 0);
    for (i = 0; i < 50; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    g_assert_cmpint(fe.data->len, ==, 0);
    fe.can_read = 5;
    qemu_chr_fe_accept_input(chr);
    RUN_UNTIL(fe.data->len == 16);
    g_assert_cmpint(fe.max_chunk, <=, 5);
    g_assert_cmpint(memcmp(fe.data->data, "0123456789abcdef", 16), ==, 0);
    qio_channel_unref(QIO_CHANNEL(c));
    RUN_UNTIL(fe.closed == 1);
    fe_fini(&fe);
}

static gpointer late_connect(gpointer opaque)
{
    const char *path = opaque;
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    QIOChannelSocket *sioc;
    int i;

    addr.u.q_unix.path = (char *)path;
    for (i = 0; i < 500; i++) {
        sioc = qio_channel_socket_new();
        if (qio_channel_socket_connect_sync(sioc, &addr, NULL) == 0) {
            qio_channel_write_all(QIO_CHANNEL(sioc), "W", 1, NULL);
            return sioc;
        }
        qio_channel_unref(QIO_CHANNEL(sioc));
        g_usleep(10000);
    }
    return NULL;
}

static void test_socket_server_wait(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "wait.sock", NULL);
    g_autofree char *opts =
        g_strdup_printf("socket,id=wait,path=%s,server=on", path);
    GThread *t = g_thread_new("client", late_connect, path);
    Chardev *chr;
    QIOChannelSocket *c;
    Frontend fe;

    /* Blocks until the thread's client connects. */
    chr = qemu_chr_new_from_opts_str(opts, &error_abort);
    c = g_thread_join(t);
    g_assert_nonnull(c);
    g_assert_true(qemu_chr_fe_connected(chr));
    /* A frontend attached later learns the backend is open. */
    fe_init(&fe, chr);
    g_assert_cmpint(fe.opened, ==, 1);
    RUN_UNTIL(fe.data->len == 1);
    qio_channel_unref(QIO_CHANNEL(c));
    RUN_UNTIL(fe.closed == 1);
    fe_fini(&fe);
}

static void test_socket_client(void)
{
    QIOChannelSocket *l = qio_channel_socket_new();
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_INET };
    SocketAddress *laddr;
    QIOChannelSocket *s;
    g_autofree char *opts = NULL;
    Chardev *chr;
    Frontend fe;
    char buf[8] = "";

    addr.u.inet.host = (char *)"127.0.0.1";
    addr.u.inet.port = (char *)"0";
    g_assert_cmpint(qio_channel_socket_listen_sync(l, &addr, 1, &error_abort),
                    ==, 0);
    laddr = qio_channel_socket_get_local_address(l, &error_abort);
    opts = g_strdup_printf("socket,id=cli,host=127.0.0.1,port=%s,nodelay=on",
                           laddr->u.inet.port);
    chr = qemu_chr_new_from_opts_str(opts, &error_abort);
    s = qio_channel_socket_accept(l, &error_abort);
    fe_init(&fe, chr);
    g_assert_cmpint(fe.opened, ==, 1);
    g_assert_cmpint(qemu_chr_fe_write_all(chr, (const uint8_t *)"tcp", 3),
                    ==, 3);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(s), buf, 3,
                                         &error_abort), ==, 0);
    g_assert_cmpstr(buf, ==, "tcp");
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(s), "back", 4,
                                          &error_abort), ==, 0);
    RUN_UNTIL(fe.data->len == 4);
    qio_channel_unref(QIO_CHANNEL(s));
    RUN_UNTIL(fe.closed == 1);
    fe_fini(&fe);
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(laddr);
}

static void test_socket_reconnect(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "rec.sock", NULL);
    g_autofree char *opts =
        g_strdup_printf("socket,id=rec,path=%s,reconnect=1", path);
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    QIOChannelSocket *l = qio_channel_socket_new();
    QIOChannelSocket *s;
    Chardev *chr;
    Frontend fe;
    Error *err = NULL;

    /* Without reconnect, a missing server is an error. */
    g_autofree char *bad = g_strdup_printf("socket,id=norec,path=%s", path);
    g_assert_null(qemu_chr_new_from_opts_str(bad, &err));
    g_assert_nonnull(err);
    error_free(err);

    chr = qemu_chr_new_from_opts_str(opts, &error_abort);
    fe_init(&fe, chr);
    g_assert_false(qemu_chr_fe_connected(chr));
    addr.u.q_unix.path = path;
    g_assert_cmpint(qio_channel_socket_listen_sync(l, &addr, 1, &error_abort),
                    ==, 0);
    RUN_UNTIL(fe.opened == 1);
    s = qio_channel_socket_accept(l, &error_abort);
    g_assert_nonnull(s);
    qio_channel_unref(QIO_CHANNEL(s));
    RUN_UNTIL(fe.closed == 1);
    /* ... and it comes back. */
    RUN_UNTIL(fe.opened == 2);
    fe_fini(&fe);
    qio_channel_unref(QIO_CHANNEL(l));
}

static void test_file_backend(void)
{
    g_autofree char *path = g_build_filename(tmpdir, "out.txt", NULL);
    g_autofree char *opts = g_strdup_printf("file,id=f1,path=%s", path);
    g_autofree char *opts2 =
        g_strdup_printf("file,id=f2,path=%s,append=on", path);
    g_autofree char *contents = NULL;
    Chardev *chr;

    g_file_set_contents(path, "old", 3, NULL);
    chr = qemu_chr_new_from_opts_str(opts, &error_abort);
    g_assert_true(qemu_chr_fe_connected(chr));
    g_assert_cmpint(qemu_chr_fe_write_all(chr, (const uint8_t *)"abc", 3),
                    ==, 3);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "abc");
    g_free(contents);

    chr = qemu_chr_new_from_opts_str(opts2, &error_abort);
    g_assert_cmpint(qemu_chr_fe_write_all(chr, (const uint8_t *)"def", 3),
                    ==, 3);
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "abcdef");

    /* Legacy spelling. */
    {
        g_autofree char *spec = g_strdup_printf("file:%s", path);

        chr = qemu_chr_new("serial0", spec, &error_abort);
        g_assert_cmpstr(qemu_chr_get_id(chr), ==, "serial0");
    }
}

static void test_null_backend(void)
{
    Chardev *chr = qemu_chr_new_from_opts_str("null,id=n0", &error_abort);
    Frontend fe;

    fe_init(&fe, chr);
    g_assert_cmpint(fe.opened, ==, 1);
    g_assert_cmpint(qemu_chr_fe_write_all(chr, (const uint8_t *)"x", 1),
                    ==, 1);
    g_assert_cmpint(qemu_chr_fe_get_msgfd(chr), ==, -1);
    fe_fini(&fe);

    g_assert_null(qemu_chr_new("nothing", "none", &error_abort));
    chr = qemu_chr_new("n1", "null", &error_abort);
    g_assert_true(qemu_chr_new("n2", "chardev:n1", &error_abort) == chr);
}

static void check_error(const char *opts, const char *needle)
{
    Error *err = NULL;

    g_assert_null(qemu_chr_new_from_opts_str(opts, &err));
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), needle)) {
        g_error("'%s': error '%s' does not mention '%s'", opts,
                error_get_pretty(err), needle);
    }
    error_free(err);
}

static void test_bad_options(void)
{
    Error *err = NULL;

    check_error("socket,id=bad1", "'path'");
    check_error("socket,id=bad2,host=localhost", "'port'");
    check_error("socket,id=bad3,path=/nonexistent-godwit-dir/x,port=1", "exclusive");
    check_error("socket,id=bad4,path=/nonexistent-godwit-dir/x,server=maybe", "server");
    check_error("socket,id=bad5,path=/nonexistent-godwit-dir/x,server=on,wait=off,bogus=1",
                "bogus");
    check_error("socket,id=bad6,path=/nonexistent-godwit-dir/x,server=on,reconnect=1",
                "reconnect");
    check_error("socket,id=bad7,fd=abc", "fd");
    check_error("file,id=bad8", "'path'");
    check_error("file,id=bad9,path=/nonexistent/dir/f", "/nonexistent/dir/f");
    check_error("nosuchbackend,id=bad10", "nosuchbackend");
    check_error("null", "'id'");
    g_assert_nonnull(qemu_chr_new_from_opts_str("null,id=dupe",
                                                &error_abort));
    check_error("null,id=dupe", "dupe");
    g_assert_null(qemu_chr_new("x", "pipe:/tmp/foo", &err));
    g_assert_nonnull(err);
    error_free(err);
}

/* An unknown option is refused before the backend touches anything. */
static void test_bad_option_no_side_effect(void)
{
    g_autofree char *dir = g_dir_make_tmp("godwit-char-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "keep", NULL);
    g_autofree char *sock = g_build_filename(dir, "sock", NULL);
    g_autofree char *spec = NULL, *text = NULL;

    g_assert_true(g_file_set_contents(file, "data", -1, NULL));
    spec = g_strdup_printf("file,id=bad11,path=%s,bogus=1", file);
    check_error(spec, "bogus");
    g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "data");      /* not truncated */
    g_free(spec);
    /* a file where a server socket would go is not unlinked */
    g_assert_true(g_file_set_contents(sock, "data", -1, NULL));
    spec = g_strdup_printf("socket,id=bad12,path=%s,server=on,wait=off,"
                           "bogus=1", sock);
    check_error(spec, "bogus");
    g_assert_true(g_file_test(sock, G_FILE_TEST_EXISTS));
    g_unlink(file);
    g_unlink(sock);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("godwit-char-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);

    g_test_add_func("/char/socket/server-nowait", test_socket_server_nowait);
    g_test_add_func("/char/socket/throttle", test_socket_throttle);
    g_test_add_func("/char/socket/server-wait", test_socket_server_wait);
    g_test_add_func("/char/socket/client", test_socket_client);
    g_test_add_func("/char/socket/reconnect", test_socket_reconnect);
    g_test_add_func("/char/file", test_file_backend);
    g_test_add_func("/char/null", test_null_backend);
    g_test_add_func("/char/bad-options", test_bad_options);
    g_test_add_func("/char/bad-option/no-side-effect",
                    test_bad_option_no_side_effect);
    ret = g_test_run();
    qemu_chr_cleanup();
    {
        g_autofree char *f = g_build_filename(tmpdir, "out.txt", NULL);

        g_unlink(f);
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
