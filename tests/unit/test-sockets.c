/*
 * Unit tests for util/qemu-sockets.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include "qapi/error.h"

#include <sys/socket.h>

static void check_roundtrip(const char *str, SocketAddressType type)
{
    SocketAddress *addr = socket_parse(str, &error_abort);
    SocketAddress *copy = socket_address_dup(addr);
    char *back = socket_address_to_string(copy);

    g_assert_cmpint(addr->type, ==, type);
    g_assert_cmpstr(back, ==, str);
    g_free(back);
    qapi_free_SocketAddress(addr);
    qapi_free_SocketAddress(copy);
}

static void test_parse(void)
{
    SocketAddress *addr;
    Error *err = NULL;
    char *s;

    check_roundtrip("127.0.0.1:4444", SOCKET_ADDRESS_TYPE_INET);
    check_roundtrip("localhost:http", SOCKET_ADDRESS_TYPE_INET);
    check_roundtrip("[::1]:4444", SOCKET_ADDRESS_TYPE_INET);
    check_roundtrip("unix:/tmp/mig.sock", SOCKET_ADDRESS_TYPE_UNIX);
    check_roundtrip("fd:migfd", SOCKET_ADDRESS_TYPE_FD);
    check_roundtrip("fd:7", SOCKET_ADDRESS_TYPE_FD);
    check_roundtrip("vsock:3:1234", SOCKET_ADDRESS_TYPE_VSOCK);

    addr = socket_parse(":4444", &error_abort);
    g_assert_cmpstr(addr->u.inet.host, ==, "");
    g_assert_cmpstr(addr->u.inet.port, ==, "4444");
    s = socket_address_to_string(addr);
    g_assert_cmpstr(s, ==, ":4444");
    g_free(s);
    qapi_free_SocketAddress(addr);

    addr = socket_parse("[fe80::1]:22", &error_abort);
    g_assert_cmpstr(addr->u.inet.host, ==, "fe80::1");
    g_assert_cmpstr(addr->u.inet.port, ==, "22");
    qapi_free_SocketAddress(addr);

    addr = socket_parse("vsock:2:99", &error_abort);
    g_assert_cmpstr(addr->u.vsock.cid, ==, "2");
    g_assert_cmpstr(addr->u.vsock.port, ==, "99");
    qapi_free_SocketAddress(addr);

    g_assert_null(socket_parse("localhost", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "'localhost'"));
    error_free_or_abort(&err);
    g_assert_null(socket_parse("host:", &err));
    error_free_or_abort(&err);
    g_assert_null(socket_parse("::1:80", &err));
    error_free_or_abort(&err);
    g_assert_null(socket_parse("[::1:80", &err));
    error_free_or_abort(&err);
    g_assert_null(socket_parse("unix:", &err));
    error_free_or_abort(&err);
    g_assert_null(socket_parse("fd:", &err));
    error_free_or_abort(&err);
    g_assert_null(socket_parse("vsock:3", &err));
    error_free_or_abort(&err);
    g_assert_null(socket_parse("", &err));
    error_free_or_abort(&err);
}

static void check_pair(int lfd, SocketAddress *connect_to)
{
    SocketAddress *local, *remote, *peer;
    int cfd, afd;
    char buf[8];

    cfd = socket_connect(connect_to, &error_abort);
    g_assert_cmpint(cfd, >=, 0);
    g_assert_cmpint(fcntl(cfd, F_GETFD) & FD_CLOEXEC, !=, 0);
    afd = qemu_accept(lfd, NULL, NULL);
    g_assert_cmpint(afd, >=, 0);

    g_assert_cmpint(write(cfd, "ping", 4), ==, 4);
    g_assert_cmpint(read(afd, buf, 4), ==, 4);
    g_assert_true(memcmp(buf, "ping", 4) == 0);

    local = socket_local_address(cfd, &error_abort);
    remote = socket_remote_address(afd, &error_abort);
    peer = socket_remote_address(cfd, &error_abort);
    g_assert_cmpint(local->type, ==, connect_to->type);
    if (local->type == SOCKET_ADDRESS_TYPE_INET) {
        g_assert_cmpstr(local->u.inet.host, ==, remote->u.inet.host);
        g_assert_cmpstr(local->u.inet.port, ==, remote->u.inet.port);
        g_assert_cmpstr(peer->u.inet.port, ==, connect_to->u.inet.port);
    } else {
        g_assert_cmpstr(peer->u.q_unix.path, ==, connect_to->u.q_unix.path);
    }
    qapi_free_SocketAddress(local);
    qapi_free_SocketAddress(remote);
    qapi_free_SocketAddress(peer);
    close(cfd);
    close(afd);
}

static void test_inet(void)
{
    SocketAddress *addr = socket_parse("127.0.0.1:0", &error_abort);
    SocketAddress *bound;
    Error *err = NULL;
    char *s;
    int lfd, fd;

    lfd = socket_listen(addr, 1, &error_abort);
    g_assert_cmpint(lfd, >=, 0);
    g_assert_cmpint(fcntl(lfd, F_GETFD) & FD_CLOEXEC, !=, 0);
    bound = socket_local_address(lfd, &error_abort);
    g_assert_cmpint(bound->type, ==, SOCKET_ADDRESS_TYPE_INET);
    g_assert_cmpstr(bound->u.inet.host, ==, "127.0.0.1");
    g_assert_cmpstr(bound->u.inet.port, !=, "0");
    s = socket_address_to_string(bound);
    g_assert_true(g_str_has_prefix(s, "127.0.0.1:"));
    g_free(s);

    check_pair(lfd, bound);

    /* the port is taken */
    fd = socket_listen(bound, 1, &err);
    g_assert_cmpint(fd, ==, -1);
    error_free_or_abort(&err);

    close(lfd);
    /* nothing listens any more */
    fd = socket_connect(bound, &err);
    g_assert_cmpint(fd, ==, -1);
    s = g_strdup_printf("Failed to connect to '127.0.0.1:%s': "
                        "Connection refused", bound->u.inet.port);
    g_assert_cmpstr(error_get_pretty(err), ==, s);
    g_free(s);
    error_free_or_abort(&err);

    qapi_free_SocketAddress(bound);
    qapi_free_SocketAddress(addr);
}

static void test_unix(void)
{
    char *dir = g_dir_make_tmp("godwit-sock-XXXXXX", NULL);
    char *path = g_build_filename(dir, "s", NULL);
    char *str = g_strdup_printf("unix:%s", path);
    SocketAddress *addr = socket_parse(str, &error_abort);
    Error *err = NULL;
    int lfd, i;

    /* twice: the second listen removes the stale socket file */
    for (i = 0; i < 2; i++) {
        lfd = socket_listen(addr, 1, &error_abort);
        g_assert_cmpint(lfd, >=, 0);
        check_pair(lfd, addr);
        close(lfd);
    }
    unlink(path);
    g_assert_cmpint(socket_connect(addr, &err), ==, -1);
    g_assert_nonnull(strstr(error_get_pretty(err), path));
    error_free_or_abort(&err);

    qapi_free_SocketAddress(addr);
    rmdir(dir);
    g_free(str);
    g_free(path);
    g_free(dir);
}

static void test_fd(void)
{
    SocketAddress *addr;
    Error *err = NULL;
    int sv[2], fd;
    char *s;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    s = g_strdup_printf("fd:%d", sv[0]);
    addr = socket_parse(s, &error_abort);
    fd = socket_connect(addr, &error_abort);
    g_assert_cmpint(fd, ==, sv[0]);
    qapi_free_SocketAddress(addr);
    g_free(s);
    close(sv[0]);
    close(sv[1]);

    /* a named fd needs the monitor; the util fallback says so */
    addr = socket_parse("fd:migfd", &error_abort);
    g_assert_cmpint(socket_connect(addr, &err), ==, -1);
    error_free_or_abort(&err);
    qapi_free_SocketAddress(addr);

    /* not a socket */
    addr = socket_parse("fd:0", &error_abort);
    fd = socket_connect(addr, &err);
    if (fd < 0) {
        error_free_or_abort(&err);
    }
    qapi_free_SocketAddress(addr);
}

static void test_misc(void)
{
    SocketAddress *addr = socket_parse("127.0.0.1:0", &error_abort);
    int lfd = socket_listen(addr, 1, &error_abort);

    g_assert_cmpint(qemu_socket_set_nonblock(lfd), ==, 0);
    g_assert_cmpint(fcntl(lfd, F_GETFL) & O_NONBLOCK, !=, 0);
    g_assert_cmpint(qemu_accept(lfd, NULL, NULL), ==, -1);
    g_assert_cmpint(errno, ==, EAGAIN);
    g_assert_cmpint(qemu_socket_set_block(lfd), ==, 0);
    g_assert_cmpint(fcntl(lfd, F_GETFL) & O_NONBLOCK, ==, 0);
    socket_set_nodelay(lfd);
    g_assert_cmpint(socket_set_cork(lfd, 1), ==, 0);
    close(lfd);
    qapi_free_SocketAddress(addr);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sockets/parse", test_parse);
    g_test_add_func("/sockets/inet", test_inet);
    g_test_add_func("/sockets/unix", test_unix);
    g_test_add_func("/sockets/fd", test_fd);
    g_test_add_func("/sockets/misc", test_misc);
    return g_test_run();
}
