/*
 * Godwit: socket addresses and blocking socket helpers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "monitor/monitor.h"
#include "trace.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>

/* ---------------------------------------------------------------- parsing */

static bool parse_inet(const char *str, InetSocketAddress *inet, Error **errp)
{
    const char *colon;

    if (str[0] == '[') {
        const char *close = strchr(str, ']');

        if (!close || close[1] != ':' || close == str + 1) {
            error_setg(errp, "error parsing IPv6 address '%s'", str);
            return false;
        }
        inet->host = g_strndup(str + 1, close - str - 1);
        colon = close + 1;
        inet->has_ipv6 = inet->ipv6 = true;
    } else {
        colon = strrchr(str, ':');
        if (!colon) {
            error_setg(errp, "error parsing address '%s': missing port", str);
            return false;
        }
        if (memchr(str, ':', colon - str)) {
            error_setg(errp, "error parsing address '%s': IPv6 addresses "
                       "must be written as [ADDRESS]:PORT", str);
            return false;
        }
        inet->host = g_strndup(str, colon - str);
    }
    if (!colon[1]) {
        error_setg(errp, "error parsing address '%s': missing port", str);
        g_free(inet->host);
        inet->host = NULL;
        return false;
    }
    inet->port = g_strdup(colon + 1);
    return true;
}

SocketAddress *socket_parse(const char *str, Error **errp)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);
    const char *rest;

    if (!str || !*str) {
        error_setg(errp, "empty socket address");
        goto fail;
    }
    if (strstart(str, "unix:", &rest)) {
        if (!*rest) {
            error_setg(errp, "invalid Unix socket address '%s': missing path",
                       str);
            goto fail;
        }
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        addr->u.q_unix.path = g_strdup(rest);
    } else if (strstart(str, "fd:", &rest)) {
        if (!*rest) {
            error_setg(errp, "invalid file descriptor address '%s': missing "
                       "name", str);
            goto fail;
        }
        addr->type = SOCKET_ADDRESS_TYPE_FD;
        addr->u.fd.str = g_strdup(rest);
    } else if (strstart(str, "vsock:", &rest)) {
        const char *colon = strchr(rest, ':');

        if (!colon || colon == rest || !colon[1] || strchr(colon + 1, ':')) {
            error_setg(errp, "error parsing vsock address '%s'", str);
            goto fail;
        }
        addr->type = SOCKET_ADDRESS_TYPE_VSOCK;
        addr->u.vsock.cid = g_strndup(rest, colon - rest);
        addr->u.vsock.port = g_strdup(colon + 1);
    } else {
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        if (!parse_inet(str, &addr->u.inet, errp)) {
            goto fail;
        }
    }
    return addr;

fail:
    g_free(addr);
    return NULL;
}

char *socket_address_to_string(const SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        if (strchr(addr->u.inet.host, ':')) {
            return g_strdup_printf("[%s]:%s", addr->u.inet.host,
                                   addr->u.inet.port);
        }
        return g_strdup_printf("%s:%s", addr->u.inet.host, addr->u.inet.port);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return g_strdup_printf("unix:%s", addr->u.q_unix.path);
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return g_strdup_printf("vsock:%s:%s", addr->u.vsock.cid,
                               addr->u.vsock.port);
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strdup_printf("fd:%s", addr->u.fd.str);
    }
    g_assert_not_reached();
}

SocketAddress *socket_address_dup(const SocketAddress *addr)
{
    SocketAddress *copy;

    if (!addr) {
        return NULL;
    }
    copy = g_memdup2(addr, sizeof(*addr));
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        copy->u.inet.host = g_strdup(addr->u.inet.host);
        copy->u.inet.port = g_strdup(addr->u.inet.port);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        copy->u.q_unix.path = g_strdup(addr->u.q_unix.path);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        copy->u.vsock.cid = g_strdup(addr->u.vsock.cid);
        copy->u.vsock.port = g_strdup(addr->u.vsock.port);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        copy->u.fd.str = g_strdup(addr->u.fd.str);
        break;
    }
    return copy;
}

void qapi_free_SocketAddress(SocketAddress *addr)
{
    if (!addr) {
        return;
    }
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        g_free(addr->u.inet.host);
        g_free(addr->u.inet.port);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        g_free(addr->u.q_unix.path);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        g_free(addr->u.vsock.cid);
        g_free(addr->u.vsock.port);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        g_free(addr->u.fd.str);
        break;
    }
    g_free(addr);
}

/* ---------------------------------------------------------------- helpers */

int qemu_socket(int domain, int type, int protocol)
{
    return socket(domain, type | SOCK_CLOEXEC, protocol);
}

int qemu_accept(int s, struct sockaddr *addr, socklen_t *addrlen)
{
    int fd;

    do {
        fd = accept4(s, addr, addrlen, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int qemu_socket_set_nonblock(int fd)
{
    return qemu_set_nonblock(fd);
}

int qemu_socket_set_block(int fd)
{
    return qemu_set_block(fd);
}

void socket_set_nodelay(int fd)
{
    int v = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
}

int socket_set_cork(int fd, int v)
{
    if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) < 0) {
        return -errno;
    }
    return 0;
}

static const char *inet_host_or_any(const InetSocketAddress *inet)
{
    return inet->host && inet->host[0] ? inet->host : NULL;
}

static int inet_resolve(const InetSocketAddress *inet, bool passive,
                        struct addrinfo **res, Error **errp)
{
    struct addrinfo hints = { 0 };
    int rc;

    hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    if (inet->has_ipv4 && inet->ipv4 && !(inet->has_ipv6 && inet->ipv6)) {
        hints.ai_family = AF_INET;
    } else if (inet->has_ipv6 && inet->ipv6 &&
               !(inet->has_ipv4 && inet->ipv4) &&
               inet_host_or_any(inet) && strchr(inet->host, ':')) {
        hints.ai_family = AF_INET6;
    }
    if (!inet->port || !inet->port[0]) {
        error_setg(errp, "port not specified");
        return -1;
    }
    rc = getaddrinfo(inet_host_or_any(inet), inet->port, &hints, res);
    if (rc == EAI_BADFLAGS || (rc != 0 && (hints.ai_flags & AI_ADDRCONFIG))) {
        /* retry without AI_ADDRCONFIG (e.g. no configured interfaces) */
        hints.ai_flags &= ~AI_ADDRCONFIG;
        rc = getaddrinfo(inet_host_or_any(inet), inet->port, &hints, res);
    }
    if (rc != 0) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   inet->host ? inet->host : "", inet->port,
                   gai_strerror(rc));
        return -1;
    }
    return 0;
}

static int inet_listen(InetSocketAddress *inet, int num, Error **errp)
{
    struct addrinfo *res, *e;
    int fd = -1, saved_errno = 0;
    const char *what = "create";

    if (inet_resolve(inet, true, &res, errp) < 0) {
        return -1;
    }
    for (e = res; e; e = e->ai_next) {
        int one = 1;

        fd = qemu_socket(e->ai_family, e->ai_socktype, e->ai_protocol);
        if (fd < 0) {
            saved_errno = errno;
            what = "create";
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (e->ai_family == AF_INET6) {
            /* dual stack unless IPv6 only was asked for */
            int v6only = inet->has_ipv6 && inet->ipv6 &&
                         inet->has_ipv4 && !inet->ipv4;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                       sizeof(v6only));
        }
        if (bind(fd, e->ai_addr, e->ai_addrlen) < 0) {
            saved_errno = errno;
            what = "bind";
            close(fd);
            fd = -1;
            continue;
        }
        if (listen(fd, num) < 0) {
            saved_errno = errno;
            what = "listen on";
            close(fd);
            fd = -1;
            continue;
        }
        break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, saved_errno, "Failed to %s socket for '%s:%s'",
                         what, inet->host ? inet->host : "", inet->port);
    }
    return fd;
}

static int inet_connect(InetSocketAddress *inet, Error **errp)
{
    struct addrinfo *res, *e;
    int fd = -1, saved_errno = 0;

    if (inet_resolve(inet, false, &res, errp) < 0) {
        return -1;
    }
    for (e = res; e; e = e->ai_next) {
        int rc;

        fd = qemu_socket(e->ai_family, e->ai_socktype, e->ai_protocol);
        if (fd < 0) {
            saved_errno = errno;
            continue;
        }
        do {
            rc = connect(fd, e->ai_addr, e->ai_addrlen);
        } while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            saved_errno = errno;
            close(fd);
            fd = -1;
            continue;
        }
        break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, saved_errno, "Failed to connect to '%s:%s'",
                         inet->host ? inet->host : "", inet->port);
    }
    return fd;
}

static bool unix_fill(const char *path, bool abstract,
                      struct sockaddr_un *un, socklen_t *len, Error **errp)
{
    size_t plen = strlen(path);

    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    /* abstract names need a leading NUL, file names a trailing one */
    if (plen + 1 > sizeof(un->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    if (abstract) {
        memcpy(un->sun_path + 1, path, plen);
        *len = offsetof(struct sockaddr_un, sun_path) + 1 + plen;
    } else {
        memcpy(un->sun_path, path, plen);
        *len = sizeof(*un);
    }
    return true;
}

static int unix_listen(const char *path, bool abstract, int num, Error **errp)
{
    struct sockaddr_un un;
    socklen_t len;
    int fd;

    if (!unix_fill(path, abstract, &un, &len, errp)) {
        return -1;
    }
    fd = qemu_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create Unix socket");
        return -1;
    }
    if (!abstract && unlink(path) < 0 && errno != ENOENT) {
        error_setg_errno(errp, errno, "Failed to unlink socket %s", path);
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&un, len) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s", path);
        goto fail;
    }
    if (listen(fd, num) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket");
        goto fail;
    }
    return fd;

fail:
    close(fd);
    return -1;
}

static int unix_connect(const char *path, bool abstract, Error **errp)
{
    struct sockaddr_un un;
    socklen_t len;
    int fd, rc;

    if (!unix_fill(path, abstract, &un, &len, errp)) {
        return -1;
    }
    fd = qemu_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    do {
        rc = connect(fd, (struct sockaddr *)&un, len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

static bool vsock_fill(const char *cid, const char *port,
                       struct sockaddr_vm *svm, Error **errp)
{
    unsigned int c, p;

    if (qemu_strtoui(cid, NULL, 10, &c) < 0) {
        error_setg(errp, "invalid vsock cid '%s'", cid);
        return false;
    }
    if (qemu_strtoui(port, NULL, 10, &p) < 0) {
        error_setg(errp, "invalid vsock port '%s'", port);
        return false;
    }
    memset(svm, 0, sizeof(*svm));
    svm->svm_family = AF_VSOCK;
    svm->svm_cid = c;
    svm->svm_port = p;
    return true;
}

static int vsock_listen(const char *cid, const char *port, int num,
                        Error **errp)
{
    struct sockaddr_vm svm;
    int fd;

    if (!vsock_fill(cid, port, &svm, errp)) {
        return -1;
    }
    fd = qemu_socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create vsock socket");
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0 ||
        listen(fd, num) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on 'vsock:%s:%s'",
                         cid, port);
        close(fd);
        return -1;
    }
    return fd;
}

static int vsock_connect(const char *cid, const char *port, Error **errp)
{
    struct sockaddr_vm svm;
    int fd, rc;

    if (!vsock_fill(cid, port, &svm, errp)) {
        return -1;
    }
    fd = qemu_socket(AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create vsock socket");
        return -1;
    }
    do {
        rc = connect(fd, (struct sockaddr *)&svm, sizeof(svm));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        error_setg_errno(errp, errno, "Failed to connect to 'vsock:%s:%s'",
                         cid, port);
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * fd:N uses descriptor N itself; fd:NAME asks the monitor, which hands
 * back a duplicate.
 */
static int socket_get_fd(const char *str, Error **errp)
{
    unsigned int n;
    int fd;

    if (g_ascii_isdigit(str[0])) {
        if (qemu_strtoui(str, NULL, 10, &n) < 0 || n > INT_MAX) {
            error_setg(errp, "invalid file descriptor number '%s'", str);
            return -1;
        }
        fd = n;
        if (fcntl(fd, F_GETFD) < 0) {
            error_setg_errno(errp, errno, "invalid file descriptor %d", fd);
            return -1;
        }
    } else {
        fd = monitor_get_fd(str, errp);
        if (fd < 0) {
            return -1;
        }
    }
    return fd;
}

static bool socket_check_type(int fd, const char *str, Error **errp)
{
    int type;
    socklen_t len = sizeof(type);

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        error_setg_errno(errp, errno, "file descriptor '%s' is not a socket",
                         str);
        return false;
    }
    if (type != SOCK_STREAM) {
        error_setg(errp, "file descriptor '%s' is not a stream socket", str);
        return false;
    }
    return true;
}

int socket_listen(SocketAddress *addr, int num, Error **errp)
{
    int fd = -1;

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        fd = inet_listen(&addr->u.inet, num, errp);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        fd = unix_listen(addr->u.q_unix.path, addr->u.q_unix.abstract, num,
                         errp);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        fd = vsock_listen(addr->u.vsock.cid, addr->u.vsock.port, num, errp);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        fd = socket_get_fd(addr->u.fd.str, errp);
        if (fd >= 0 && !socket_check_type(fd, addr->u.fd.str, errp)) {
            fd = -1;
        } else if (fd >= 0 && listen(fd, num) < 0) {
            error_setg_errno(errp, errno, "Failed to listen on fd '%s'",
                             addr->u.fd.str);
            fd = -1;
        }
        break;
    }
    {
        /* rare enough that formatting unconditionally does not matter */
        char *s = socket_address_to_string(addr);
        trace_socket_listen(s, fd);
        g_free(s);
    }
    return fd;
}

int socket_connect(SocketAddress *addr, Error **errp)
{
    int fd = -1;

    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        fd = inet_connect(&addr->u.inet, errp);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        fd = unix_connect(addr->u.q_unix.path, addr->u.q_unix.abstract, errp);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        fd = vsock_connect(addr->u.vsock.cid, addr->u.vsock.port, errp);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        fd = socket_get_fd(addr->u.fd.str, errp);
        if (fd >= 0 && !socket_check_type(fd, addr->u.fd.str, errp)) {
            fd = -1;
        }
        break;
    }
    {
        /* rare enough that formatting unconditionally does not matter */
        char *s = socket_address_to_string(addr);
        trace_socket_connect(s, fd);
        g_free(s);
    }
    return fd;
}

/* ---------------------------------------------------------------- names */

SocketAddress *socket_sockaddr_to_address(struct sockaddr_storage *sa,
                                          socklen_t salen, Error **errp)
{
    SocketAddress *addr;

    switch (sa->ss_family) {
    case AF_INET:
    case AF_INET6: {
        char host[NI_MAXHOST], serv[NI_MAXSERV];
        int rc = getnameinfo((struct sockaddr *)sa, salen, host, sizeof(host),
                             serv, sizeof(serv),
                             NI_NUMERICHOST | NI_NUMERICSERV);
        if (rc != 0) {
            error_setg(errp, "Cannot format numeric socket address: %s",
                       gai_strerror(rc));
            return NULL;
        }
        addr = g_new0(SocketAddress, 1);
        addr->type = SOCKET_ADDRESS_TYPE_INET;
        addr->u.inet.host = g_strdup(host);
        addr->u.inet.port = g_strdup(serv);
        if (sa->ss_family == AF_INET) {
            addr->u.inet.has_ipv4 = addr->u.inet.ipv4 = true;
        } else {
            addr->u.inet.has_ipv6 = addr->u.inet.ipv6 = true;
        }
        return addr;
    }
    case AF_UNIX: {
        struct sockaddr_un *un = (struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t plen = salen > off ? salen - off : 0;

        addr = g_new0(SocketAddress, 1);
        addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        if (plen > 0 && un->sun_path[0] == '\0') {
            addr->u.q_unix.abstract = true;
            addr->u.q_unix.path = g_strndup(un->sun_path + 1, plen - 1);
        } else {
            addr->u.q_unix.path = g_strndup(un->sun_path, plen);
        }
        return addr;
    }
    case AF_VSOCK: {
        struct sockaddr_vm *svm = (struct sockaddr_vm *)sa;

        addr = g_new0(SocketAddress, 1);
        addr->type = SOCKET_ADDRESS_TYPE_VSOCK;
        addr->u.vsock.cid = g_strdup_printf("%u", svm->svm_cid);
        addr->u.vsock.port = g_strdup_printf("%u", svm->svm_port);
        return addr;
    }
    default:
        error_setg(errp, "socket family %d unsupported", sa->ss_family);
        return NULL;
    }
}

SocketAddress *socket_local_address(int fd, Error **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "Unable to query local socket address");
        return NULL;
    }
    return socket_sockaddr_to_address(&ss, len, errp);
}

SocketAddress *socket_remote_address(int fd, Error **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        error_setg_errno(errp, errno, "Unable to query remote socket address");
        return NULL;
    }
    return socket_sockaddr_to_address(&ss, len, errp);
}
