/*
 * Tests of QIOChannelSocket and QIONetListener.
 */
#include "qemu/osdep.h"
#include "io/channel-socket.h"
#include "io/net-listener.h"
#include "qapi/error.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gstdio.h>

static char *tmpdir;

static SocketAddress *tcp_addr(const char *port)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    addr->type = SOCKET_ADDRESS_TYPE_INET;
    addr->u.inet.host = g_strdup("127.0.0.1");
    addr->u.inet.port = g_strdup(port);
    return addr;
}

static SocketAddress *unix_addr(const char *name)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    addr->type = SOCKET_ADDRESS_TYPE_UNIX;
    addr->u.q_unix.path = g_build_filename(tmpdir, name, NULL);
    return addr;
}

/* Listen on @laddr, connect a client, accept it. */
static void make_pair(SocketAddress *laddr, QIOChannelSocket **lsrv,
                      QIOChannelSocket **client, QIOChannelSocket **server)
{
    QIOChannelSocket *l = qio_channel_socket_new();
    SocketAddress *caddr;

    g_assert_cmpint(qio_channel_socket_listen_sync(l, laddr, 1,
                                                   &error_abort), ==, 0);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(l),
                                          QIO_CHANNEL_FEATURE_LISTEN));
    caddr = qio_channel_socket_get_local_address(l, &error_abort);
    *client = qio_channel_socket_new();
    g_assert_cmpint(qio_channel_socket_connect_sync(*client, caddr,
                                                    &error_abort), ==, 0);
    *server = qio_channel_socket_accept(l, &error_abort);
    g_assert_nonnull(*server);
    qapi_free_SocketAddress(caddr);
    *lsrv = l;
}

static void round_trip(QIOChannel *src, QIOChannel *dst)
{
    char a[] = "Hello ", b[] = "godwit ", c[] = "world";
    struct iovec iov[3] = {
        { a, strlen(a) }, { b, strlen(b) }, { c, strlen(c) },
    };
    char buf[64] = "";
    size_t total = strlen(a) + strlen(b) + strlen(c);

    g_assert_cmpint(qio_channel_writev_all(src, iov, 3, &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(dst, buf, total, &error_abort),
                    ==, 0);
    g_assert_cmpstr(buf, ==, "Hello godwit world");
}

static void test_tcp_round_trip(void)
{
    SocketAddress *addr = tcp_addr("0");
    QIOChannelSocket *l, *c, *s;
    SocketAddress *raddr;

    make_pair(addr, &l, &c, &s);
    g_assert_false(qio_channel_has_feature(QIO_CHANNEL(c),
                                           QIO_CHANNEL_FEATURE_FD_PASS));
    qio_channel_set_delay(QIO_CHANNEL(c), false);
    qio_channel_set_cork(QIO_CHANNEL(c), true);
    qio_channel_set_cork(QIO_CHANNEL(c), false);
    {
        int v = 0;
        socklen_t len = sizeof(v);

        g_assert_cmpint(getsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &v, &len),
                        ==, 0);
        g_assert_cmpint(v, !=, 0);
    }
    round_trip(QIO_CHANNEL(c), QIO_CHANNEL(s));
    round_trip(QIO_CHANNEL(s), QIO_CHANNEL(c));

    raddr = qio_channel_socket_get_remote_address(s, &error_abort);
    g_assert_cmpint(raddr->type, ==, SOCKET_ADDRESS_TYPE_INET);
    qapi_free_SocketAddress(raddr);

    /* Close the client: the server reads a clean end of file. */
    g_assert_cmpint(qio_channel_close(QIO_CHANNEL(c), &error_abort), ==, 0);
    {
        char x;
        g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(s), &x, 1,
                                                 &error_abort), ==, 0);
    }
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(addr);
}

#ifdef __linux__
/*
 * MSG_ZEROCOPY on TCP loopback: without SO_ZEROCOPY the flag is refused;
 * with it the bytes arrive, and the flush waits for every completion and
 * reports 1 (loopback always copies); a flush with nothing in flight is 0.
 * Unix sockets have no zero copy.
 */
static void test_zero_copy(void)
{
    SocketAddress *addr = tcp_addr("0"), *uaddr = unix_addr("zc.sock");
    QIOChannelSocket *l, *c, *s;
    static uint8_t page[3][4096];
    static uint8_t back[3 * 4096];
    struct iovec iov[3];
    Error *err = NULL;

    make_pair(addr, &l, &c, &s);
    for (int i = 0; i < 3; i++) {
        memset(page[i], 'a' + i, sizeof(page[i]));
        iov[i].iov_base = page[i];
        iov[i].iov_len = sizeof(page[i]);
    }
    g_assert_cmpint(qio_channel_writev_full_all(
                        QIO_CHANNEL(c), iov, 3, NULL, 0,
                        QIO_CHANNEL_WRITE_FLAG_ZERO_COPY, &err), ==, -1);
    error_free_or_abort(&err);
    g_assert_cmpint(qio_channel_flush(QIO_CHANNEL(c), &error_abort), ==, 0);

    g_assert_true(qio_channel_socket_set_zero_copy(c, &error_abort));
    for (int round = 0; round < 4; round++) {
        g_assert_cmpint(qio_channel_writev_full_all(
                            QIO_CHANNEL(c), iov, 3, NULL, 0,
                            QIO_CHANNEL_WRITE_FLAG_ZERO_COPY, &error_abort),
                        ==, 0);
        g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(s), (char *)back,
                                             sizeof(back), &error_abort),
                        ==, 0);
        g_assert_cmpmem(back, sizeof(back), page, sizeof(page));
    }
    g_assert_cmpuint(c->zero_copy_queued, >=, 4);
    g_assert_cmpint(qio_channel_flush(QIO_CHANNEL(c), &error_abort), ==, 1);
    g_assert_cmpuint(c->zero_copy_sent, ==, c->zero_copy_queued);
    g_assert_cmpint(qio_channel_flush(QIO_CHANNEL(c), &error_abort), ==, 0);
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(l));

    make_pair(uaddr, &l, &c, &s);
    g_assert_false(qio_channel_socket_set_zero_copy(c, &err));
    error_free_or_abort(&err);
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(addr);
    qapi_free_SocketAddress(uaddr);
}
#endif

static void test_unix_round_trip(void)
{
    SocketAddress *addr = unix_addr("rt.sock");
    QIOChannelSocket *l, *c, *s;
    char *path = g_strdup(addr->u.q_unix.path);

    make_pair(addr, &l, &c, &s);
    g_assert_true(qio_channel_has_feature(QIO_CHANNEL(c),
                                          QIO_CHANNEL_FEATURE_FD_PASS));
    round_trip(QIO_CHANNEL(c), QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    qio_channel_unref(QIO_CHANNEL(l));
    /* The listening socket's path goes away with it. */
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_free(path);
    qapi_free_SocketAddress(addr);
}

static void test_fd_pass(void)
{
    SocketAddress *addr = unix_addr("fd.sock");
    QIOChannelSocket *l, *c, *s;
    int pfd[2];
    char data = 'x', got = 0;
    struct iovec iov = { &data, 1 };
    struct iovec riov = { &got, 1 };
    int *fds = NULL;
    size_t nfds = 0;
    char buf[8] = "";
    Error *err = NULL;

    make_pair(addr, &l, &c, &s);
    g_assert_cmpint(pipe(pfd), ==, 0);
    g_assert_cmpint(qio_channel_writev_full_all(QIO_CHANNEL(c), &iov, 1,
                                                &pfd[1], 1, 0, &error_abort),
                    ==, 0);
    close(pfd[1]);
    g_assert_cmpint(qio_channel_readv_full(QIO_CHANNEL(s), &riov, 1,
                                           &fds, &nfds, 0, &error_abort),
                    ==, 1);
    g_assert_cmpint(got, ==, 'x');
    g_assert_cmpuint(nfds, ==, 1);
    g_assert_cmpint(write(fds[0], "pipe", 4), ==, 4);
    g_assert_cmpint(read(pfd[0], buf, 4), ==, 4);
    g_assert_cmpstr(buf, ==, "pipe");
    g_assert_cmpint(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
    close(fds[0]);
    g_free(fds);
    close(pfd[0]);

    /* Plain data: no descriptors. */
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "y", 1,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_readv_full(QIO_CHANNEL(s), &riov, 1,
                                           &fds, &nfds, 0, &error_abort),
                    ==, 1);
    g_assert_cmpuint(nfds, ==, 0);
    g_assert_null(fds);
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(addr);

    /* A TCP socket cannot pass descriptors. */
    addr = tcp_addr("0");
    make_pair(addr, &l, &c, &s);
    pfd[0] = 0;
    g_assert_cmpint(qio_channel_writev_full(QIO_CHANNEL(c), &iov, 1,
                                            pfd, 1, 0, &err), ==, -1);
    g_assert_nonnull(err);
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(addr);
}

static gpointer shutdown_reader(gpointer opaque)
{
    QIOChannel *ioc = opaque;
    char buf[4];

    return GINT_TO_POINTER(qio_channel_read_all_eof(ioc, buf, sizeof(buf),
                                                    NULL));
}

static void test_shutdown_read(void)
{
    SocketAddress *addr = tcp_addr("0");
    QIOChannelSocket *l, *c, *s;
    GThread *t;

    make_pair(addr, &l, &c, &s);
    t = g_thread_new("reader", shutdown_reader, QIO_CHANNEL(s));
    g_usleep(50 * 1000);
    g_assert_false(qio_channel_is_shutdown(QIO_CHANNEL(s)));
    g_assert_cmpint(qio_channel_shutdown(QIO_CHANNEL(s),
                                         QIO_CHANNEL_SHUTDOWN_READ,
                                         &error_abort), ==, 0);
    g_assert_true(qio_channel_is_shutdown(QIO_CHANNEL(s)));
    /* The blocked reader wakes up with end of file. */
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, 0);
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(addr);
}

static gboolean watch_cb(QIOChannel *ioc, GIOCondition cond, gpointer opaque)
{
    int *fired = opaque;

    g_assert_true(cond & G_IO_IN);
    (*fired)++;
    return G_SOURCE_REMOVE;
}

static void test_nonblock_and_watch(void)
{
    SocketAddress *addr = tcp_addr("0");
    QIOChannelSocket *l, *c, *s;
    char buf[8];
    int fired = 0;
    int i;

    make_pair(addr, &l, &c, &s);
    g_assert_cmpint(qio_channel_set_blocking(QIO_CHANNEL(s), false,
                                             &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(s), buf, sizeof(buf),
                                     &error_abort), ==, QIO_CHANNEL_ERR_BLOCK);

    qio_channel_add_watch(QIO_CHANNEL(s), G_IO_IN, watch_cb, &fired, NULL);
    /* Nothing to read: the watch does not fire. */
    for (i = 0; i < 10; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    g_assert_cmpint(fired, ==, 0);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "ab", 2,
                                          &error_abort), ==, 0);
    for (i = 0; i < 1000 && !fired; i++) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(fired, ==, 1);
    g_assert_cmpint(qio_channel_read(QIO_CHANNEL(s), buf, sizeof(buf),
                                     &error_abort), ==, 2);

    /* read_all on a non-blocking channel waits for the data. */
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "cd", 2,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(s), buf, 2,
                                         &error_abort), ==, 0);
    g_assert_cmpint(memcmp(buf, "cd", 2), ==, 0);

    /* End of file in the middle is an error that says so. */
    {
        Error *err = NULL;

        g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(c), "e", 1,
                                              &error_abort), ==, 0);
        qio_channel_close(QIO_CHANNEL(c), &error_abort);
        g_assert_cmpint(qio_channel_read_all_eof(QIO_CHANNEL(s), buf, 4,
                                                 &err), ==, -1);
        g_assert_nonnull(strstr(error_get_pretty(err), "end-of-file"));
        error_free(err);
    }
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(s));
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(addr);
}

static void listener_client(QIONetListener *listener,
                            QIOChannelSocket *sioc, gpointer data)
{
    QIOChannelSocket **out = data;

    *out = (QIOChannelSocket *)qio_channel_ref(QIO_CHANNEL(sioc));
}

static void test_net_listener(void)
{
    QIONetListener *listener = qio_net_listener_new();
    SocketAddress *addr = tcp_addr("0");
    SocketAddress *laddr;
    QIOChannelSocket *c, *accepted = NULL;
    int i;

    qio_net_listener_set_name(listener, "test-listener");
    g_assert_cmpint(qio_net_listener_open_sync(listener, addr, 1,
                                               &error_abort), ==, 0);
    g_assert_cmpuint(listener->nsioc, ==, 1);
    laddr = qio_channel_socket_get_local_address(listener->sioc[0],
                                                 &error_abort);

    /* Accepted in the main loop. */
    qio_net_listener_set_client_func(listener, listener_client, &accepted,
                                     NULL);
    c = qio_channel_socket_new();
    g_assert_cmpint(qio_channel_socket_connect_sync(c, laddr, &error_abort),
                    ==, 0);
    for (i = 0; i < 1000 && !accepted; i++) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_nonnull(accepted);
    round_trip(QIO_CHANNEL(c), QIO_CHANNEL(accepted));
    qio_channel_unref(QIO_CHANNEL(accepted));
    qio_channel_unref(QIO_CHANNEL(c));

    /* Accepted synchronously. */
    accepted = NULL;
    c = qio_channel_socket_new();
    g_assert_cmpint(qio_channel_socket_connect_sync(c, laddr, &error_abort),
                    ==, 0);
    {
        QIOChannelSocket *w = qio_net_listener_wait_client(listener);

        g_assert_nonnull(w);
        round_trip(QIO_CHANNEL(w), QIO_CHANNEL(c));
        qio_channel_unref(QIO_CHANNEL(w));
    }
    g_assert_null(accepted);
    qio_channel_unref(QIO_CHANNEL(c));

    qio_net_listener_disconnect(listener);
    g_assert_false(qio_net_listener_is_connected(listener));
    qio_net_listener_unref(listener);
    qapi_free_SocketAddress(laddr);
    qapi_free_SocketAddress(addr);
}

static void connect_done(QIOTask *task, gpointer opaque)
{
    int *result = opaque;
    Error *err = NULL;

    g_assert_nonnull(qio_task_get_source(task));
    *result = qio_task_propagate_error(task, &err) ? -1 : 1;
    if (err) {
        error_free(err);
    }
}

static void test_connect_async(void)
{
    SocketAddress *addr = tcp_addr("0");
    QIOChannelSocket *l = qio_channel_socket_new();
    QIOChannelSocket *c = qio_channel_socket_new();
    SocketAddress *laddr, *bad;
    int result = 0;
    int i;

    g_assert_cmpint(qio_channel_socket_listen_sync(l, addr, 1, &error_abort),
                    ==, 0);
    laddr = qio_channel_socket_get_local_address(l, &error_abort);
    qio_channel_socket_connect_async(c, laddr, connect_done, &result, NULL);
    for (i = 0; i < 1000 && !result; i++) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(result, ==, 1);
    g_assert_cmpint(c->fd, >=, 0);
    qio_channel_unref(QIO_CHANNEL(c));

    /* A unix path that does not exist fails. */
    bad = unix_addr("missing.sock");
    c = qio_channel_socket_new();
    result = 0;
    qio_channel_socket_connect_async(c, bad, connect_done, &result, NULL);
    for (i = 0; i < 1000 && !result; i++) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(result, ==, -1);
    qio_channel_unref(QIO_CHANNEL(c));
    qio_channel_unref(QIO_CHANNEL(l));
    qapi_free_SocketAddress(bad);
    qapi_free_SocketAddress(laddr);
    qapi_free_SocketAddress(addr);
}

static void test_new_fd(void)
{
    int sv[2];
    QIOChannelSocket *a, *b;
    Error *err = NULL;
    char buf[3] = "";

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    a = qio_channel_socket_new_fd(sv[0], &error_abort);
    b = qio_channel_socket_new_fd(sv[1], &error_abort);
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(a), "ok", 2,
                                          &error_abort), ==, 0);
    g_assert_cmpint(qio_channel_read_all(QIO_CHANNEL(b), buf, 2,
                                         &error_abort), ==, 0);
    g_assert_cmpstr(buf, ==, "ok");
    g_assert_cmpint(qio_channel_get_fd(QIO_CHANNEL(a), G_IO_IN), ==, sv[0]);
    qio_channel_unref(QIO_CHANNEL(a));
    /* Writing to a closed peer is EPIPE, not SIGPIPE. */
    g_assert_cmpint(qio_channel_write_all(QIO_CHANNEL(b), "x", 1, &err),
                    ==, -1);
    error_free(err);
    qio_channel_unref(QIO_CHANNEL(b));

    /* Not a socket. */
    err = NULL;
    g_assert_null(qio_channel_socket_new_fd(STDIN_FILENO == 0 ?
                                            open("/dev/null", O_RDONLY) : -1,
                                            &err));
    g_assert_nonnull(err);
    error_free(err);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("godwit-io-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);

    g_test_add_func("/io/channel/socket/tcp-round-trip", test_tcp_round_trip);
    g_test_add_func("/io/channel/socket/unix-round-trip",
                    test_unix_round_trip);
    g_test_add_func("/io/channel/socket/fd-pass", test_fd_pass);
    g_test_add_func("/io/channel/socket/shutdown-read", test_shutdown_read);
    g_test_add_func("/io/channel/socket/nonblock-watch",
                    test_nonblock_and_watch);
    g_test_add_func("/io/channel/socket/net-listener", test_net_listener);
    g_test_add_func("/io/channel/socket/connect-async", test_connect_async);
    g_test_add_func("/io/channel/socket/new-fd", test_new_fd);
#ifdef __linux__
    g_test_add_func("/io/channel/socket/zero-copy", test_zero_copy);
#endif
    ret = g_test_run();
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
