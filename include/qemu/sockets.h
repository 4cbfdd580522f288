/*
 * Godwit: socket addresses and blocking socket helpers.
 *
 * Address syntax (as QEMU's -incoming/migrate/chardev after their own
 * "tcp:" style prefixes are stripped):
 *   "host:port", "[v6addr]:port", ":port" (any address),
 *   "unix:path", "fd:name-or-number", "vsock:cid:port".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QEMU_SOCKETS_H
#define QEMU_SOCKETS_H

#include <stdbool.h>
#include <sys/socket.h>

typedef struct Error Error;

typedef enum SocketAddressType {
    SOCKET_ADDRESS_TYPE_INET,
    SOCKET_ADDRESS_TYPE_UNIX,
    SOCKET_ADDRESS_TYPE_VSOCK,
    SOCKET_ADDRESS_TYPE_FD,
} SocketAddressType;

typedef struct InetSocketAddress {
    char *host;        /* "" means any address */
    char *port;        /* service name or number; "0" = ephemeral */
    bool has_ipv4, ipv4;
    bool has_ipv6, ipv6;
} InetSocketAddress;

typedef struct SocketAddress {
    SocketAddressType type;
    union {
        InetSocketAddress inet;
        struct {
            char *path;
            bool abstract;
        } q_unix;
        struct {
            char *cid;
            char *port;
        } vsock;
        struct {
            char *str;
        } fd;
    } u;
} SocketAddress;

SocketAddress *socket_parse(const char *str, Error **errp);
/* "127.0.0.1:4444", "[::1]:4444", "unix:/path", "fd:name", "vsock:3:1234" */
char *socket_address_to_string(const SocketAddress *addr);
SocketAddress *socket_address_dup(const SocketAddress *addr);
void qapi_free_SocketAddress(SocketAddress *addr);

/*
 * Bind and listen with backlog @num; returns a CLOEXEC fd or -1 with @errp
 * set.  Inet port "0" binds an ephemeral port (find it with
 * socket_local_address); unix removes a stale socket file first.
 * An fd: address returns that (looked-up) fd after checking it listens.
 */
int socket_listen(SocketAddress *addr, int num, Error **errp);
/*
 * Blocking connect; returns a CLOEXEC fd or -1 with @errp set.  fd:
 * addresses resolve through monitor_get_fd() or a plain number.
 */
int socket_connect(SocketAddress *addr, Error **errp);

/* getsockname/getpeername as a SocketAddress with a numeric host. */
SocketAddress *socket_local_address(int fd, Error **errp);
SocketAddress *socket_remote_address(int fd, Error **errp);

/* Convert a sockaddr to a SocketAddress (numeric host); NULL + errp. */
SocketAddress *socket_sockaddr_to_address(struct sockaddr_storage *sa,
                                          socklen_t salen, Error **errp);

int qemu_socket_set_nonblock(int fd);   /* 0 or -errno */
int qemu_socket_set_block(int fd);      /* 0 or -errno */
void socket_set_nodelay(int fd);
int socket_set_cork(int fd, int v);     /* 0 or -errno */
/* socket(2) with SOCK_CLOEXEC; -1 with errno set on failure. */
int qemu_socket(int domain, int type, int protocol);
/* accept(2) with SOCK_CLOEXEC, retried on EINTR. */
int qemu_accept(int s, struct sockaddr *addr, socklen_t *addrlen);

#endif
