/*
 * The socket chardev: a unix or TCP stream, as server (one client at a
 * time; the next one is accepted after it leaves) or as client (with
 * optional reconnection), or an inherited socket (fd=N).  Output while no
 * client is connected is dropped.  fds received over unix sockets are
 * kept for qemu_chr_fe_get_msgfd.
 */
#include "qemu/osdep.h"
#include "chardev-internal.h"
#include "io/channel-socket.h"
#include "io/net-listener.h"
#include "qapi/error.h"
#include "qemu/sockets.h"
#include "trace.h"

typedef struct SocketChardev {
    Chardev parent;
    bool is_listen;
    bool nodelay;
    uint64_t reconnect;       /* seconds; 0 = never */
    SocketAddress *addr;      /* where to connect / what we listen on */
    QIONetListener *listener;
    guint reconnect_timer;
    bool closing;

    /* Protects @ioc, which writers use from any thread. */
    QemuMutex lock;
    QIOChannelSocket *ioc;    /* the connected peer, or NULL */
} SocketChardev;

static void socket_accept(QIONetListener *listener, QIOChannelSocket *sioc,
                          gpointer opaque);
static bool socket_reconnect_start(SocketChardev *s);

static void socket_attach(SocketChardev *s, QIOChannelSocket *sioc)
{
    Chardev *chr = &s->parent;
    QIOChannel *ioc = QIO_CHANNEL(sioc);

    qio_channel_set_name(ioc, chr->id);
    if (s->nodelay && sioc->localAddr.ss_family != AF_UNIX) {
        socket_set_nodelay(sioc->fd);
    }
    /* Reads are driven by poll(); writers rely on blocking writes. */
    qio_channel_set_blocking(ioc, true, NULL);
    qemu_mutex_lock(&s->lock);
    s->ioc = (QIOChannelSocket *)qio_channel_ref(ioc);
    qemu_mutex_unlock(&s->lock);
    chr->be_open = true;
    if (s->listener) {
        /* One client at a time: others wait in the backlog. */
        qio_net_listener_set_client_func(s->listener, NULL, NULL, NULL);
    }
    trace_char_socket_connected(chr->id, sioc->fd);
    qemu_chr_start_reading(chr, ioc,
                           qio_channel_has_feature(ioc,
                                                   QIO_CHANNEL_FEATURE_FD_PASS));
    qemu_chr_be_event(chr, CHR_EVENT_OPENED);
}

static void socket_drop_client(SocketChardev *s, bool notify)
{
    Chardev *chr = &s->parent;
    QIOChannelSocket *sioc;

    qemu_chr_stop_reading(chr);
    qemu_mutex_lock(&s->lock);
    sioc = s->ioc;
    s->ioc = NULL;
    if (sioc) {
        /* Wakes up a writer blocked on this client. */
        qio_channel_shutdown(QIO_CHANNEL(sioc), QIO_CHANNEL_SHUTDOWN_BOTH,
                             NULL);
    }
    qemu_mutex_unlock(&s->lock);
    if (!sioc) {
        return;
    }
    trace_char_socket_disconnected(chr->id);
    qio_channel_close(QIO_CHANNEL(sioc), NULL);
    qio_channel_unref(QIO_CHANNEL(sioc));
    chr->be_open = false;
    if (notify) {
        qemu_chr_be_event(chr, CHR_EVENT_CLOSED);
    }
    if (s->closing) {
        return;
    }
    if (s->listener && qio_net_listener_is_connected(s->listener)) {
        qio_net_listener_set_client_func(s->listener, socket_accept, s, NULL);
    } else if (!s->listener && s->reconnect) {
        socket_reconnect_start(s);
    }
}

static void socket_accept(QIONetListener *listener, QIOChannelSocket *sioc,
                          gpointer opaque)
{
    SocketChardev *s = opaque;

    if (s->ioc) {
        /* Already busy: refuse (the channel is closed by its last unref). */
        return;
    }
    socket_attach(s, sioc);
}

static bool socket_connect_now(SocketChardev *s, Error **errp)
{
    QIOChannelSocket *sioc = qio_channel_socket_new();

    if (qio_channel_socket_connect_sync(sioc, s->addr, errp) < 0) {
        qio_channel_unref(QIO_CHANNEL(sioc));
        return false;
    }
    socket_attach(s, sioc);
    qio_channel_unref(QIO_CHANNEL(sioc));
    return true;
}

static gboolean socket_reconnect_timeout(gpointer opaque)
{
    SocketChardev *s = opaque;
    Error *err = NULL;

    s->reconnect_timer = 0;
    if (s->closing || s->ioc) {
        return G_SOURCE_REMOVE;
    }
    trace_char_socket_reconnect(s->parent.id);
    if (!socket_connect_now(s, &err)) {
        /* Quietly try again later: the peer may not be up yet. */
        error_free(err);
        socket_reconnect_start(s);
    }
    return G_SOURCE_REMOVE;
}

static bool socket_reconnect_start(SocketChardev *s)
{
    if (!s->reconnect_timer) {
        s->reconnect_timer = g_timeout_add_seconds(s->reconnect,
                                                   socket_reconnect_timeout,
                                                   s);
    }
    return true;
}

/* "disconnected:unix:/path,server=on", as printed while waiting. */
static char *socket_describe_listener(SocketChardev *s)
{
    SocketAddress *addr;
    char *desc;

    if (!s->listener || !s->listener->nsioc) {
        return g_strdup("disconnected");
    }
    addr = qio_channel_socket_get_local_address(s->listener->sioc[0], NULL);
    if (!addr) {
        return g_strdup("disconnected");
    }
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        desc = g_strdup_printf("disconnected:tcp:%s:%s,server=on",
                               addr->u.inet.host, addr->u.inet.port);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        desc = g_strdup_printf("disconnected:unix:%s,server=on",
                               addr->u.q_unix.path);
        break;
    default:
        desc = g_strdup("disconnected");
        break;
    }
    qapi_free_SocketAddress(addr);
    return desc;
}

static bool socket_parse_opts(SocketChardev *s, QemuOpts *opts,
                              bool *is_listen, bool *wait, int *fd,
                              Error **errp)
{
    const char *path = qemu_opt_get(opts, "path");
    const char *host = qemu_opt_get(opts, "host");
    const char *port = qemu_opt_get(opts, "port");
    const char *fdstr = qemu_opt_get(opts, "fd");
    bool nowait = false, abstract, ipv4, ipv6;
    int sources = 0;

    if (!qemu_opt_get_bool_checked(opts, "server", false, is_listen, errp) ||
        !qemu_opt_get_bool_checked(opts, "wait", true, wait, errp) ||
        !qemu_opt_get_bool_checked(opts, "nowait", false, &nowait, errp) ||
        !qemu_opt_get_bool_checked(opts, "nodelay", false, &s->nodelay,
                                   errp) ||
        !qemu_opt_get_bool_checked(opts, "abstract", false, &abstract,
                                   errp) ||
        !qemu_opt_get_bool_checked(opts, "ipv4", false, &ipv4, errp) ||
        !qemu_opt_get_bool_checked(opts, "ipv6", false, &ipv6, errp) ||
        !qemu_opt_get_number_checked(opts, "reconnect", 0, &s->reconnect,
                                     errp) ||
        !qemu_opts_check_unused(opts, "chardev: socket", errp)) {
        /* before anything is done: an unknown option must not unlink */
        return false;
    }
    if (nowait) {
        *wait = false;
    }
    sources = !!path + !!(host || port) + !!fdstr;
    if (sources == 0) {
        error_setg(errp, "chardev: socket: 'path' or 'host'/'port' is "
                   "required");
        return false;
    }
    if (sources > 1) {
        error_setg(errp, "chardev: socket: 'path', 'host'/'port' and 'fd' "
                   "are mutually exclusive");
        return false;
    }
    if (s->reconnect && *is_listen) {
        error_setg(errp, "chardev: socket: 'reconnect' is incompatible with "
                   "'server'");
        return false;
    }
    if (fdstr) {
        char *end;
        long v = strtol(fdstr, &end, 10);

        if (*fdstr == '\0' || *end != '\0' || v < 0 || v > INT_MAX) {
            error_setg(errp, "chardev: socket: 'fd' must be a file "
                       "descriptor number, not '%s'", fdstr);
            return false;
        }
        *fd = (int)v;
        return true;
    }
    s->addr = g_new0(SocketAddress, 1);
    if (path) {
        if (!*path) {
            error_setg(errp, "chardev: socket: 'path' must not be empty");
            return false;
        }
        s->addr->type = SOCKET_ADDRESS_TYPE_UNIX;
        s->addr->u.q_unix.path = g_strdup(path);
        s->addr->u.q_unix.abstract = abstract;
        return true;
    }
    if (!port || !*port) {
        error_setg(errp, "chardev: socket: 'port' is required");
        return false;
    }
    s->addr->type = SOCKET_ADDRESS_TYPE_INET;
    s->addr->u.inet.host = g_strdup(host ? host : "");
    s->addr->u.inet.port = g_strdup(port);
    s->addr->u.inet.has_ipv4 = qemu_opt_has(opts, "ipv4");
    s->addr->u.inet.ipv4 = ipv4;
    s->addr->u.inet.has_ipv6 = qemu_opt_has(opts, "ipv6");
    s->addr->u.inet.ipv6 = ipv6;
    return true;
}

static void socket_close(Chardev *chr);

static bool socket_open(Chardev *chr, QemuOpts *opts, Error **errp)
{
    SocketChardev *s = (SocketChardev *)chr;
    bool is_listen = false, wait = true;
    int fd = -1;

    qemu_mutex_init(&s->lock);
    if (!socket_parse_opts(s, opts, &is_listen, &wait, &fd, errp)) {
        goto fail;
    }

    if (fd >= 0) {
        QIOChannelSocket *sioc = qio_channel_socket_new_fd(fd, errp);

        if (!sioc) {
            error_prepend(errp, "chardev: socket: fd=%d: ", fd);
            goto fail;
        }
        if (qio_channel_has_feature(QIO_CHANNEL(sioc),
                                    QIO_CHANNEL_FEATURE_LISTEN)) {
            s->listener = qio_net_listener_new();
            qio_net_listener_set_name(s->listener, chr->id);
            qio_net_listener_add(s->listener, sioc);
            qio_channel_unref(QIO_CHANNEL(sioc));
            s->is_listen = true;
        } else {
            socket_attach(s, sioc);
            qio_channel_unref(QIO_CHANNEL(sioc));
            return true;
        }
    } else if (is_listen) {
        s->listener = qio_net_listener_new();
        qio_net_listener_set_name(s->listener, chr->id);
        if (qio_net_listener_open_sync(s->listener, s->addr, 1, errp) < 0) {
            error_prepend(errp, "chardev: socket: ");
            goto fail;
        }
        s->is_listen = true;
    }

    if (s->is_listen) {
        if (wait) {
            g_autofree char *desc = socket_describe_listener(s);
            QIOChannelSocket *sioc;

            info_report("QEMU waiting for connection on: %s", desc);
            sioc = qio_net_listener_wait_client(s->listener);
            if (sioc) {
                socket_attach(s, sioc);
                qio_channel_unref(QIO_CHANNEL(sioc));
            }
        }
        if (!s->ioc) {
            qio_net_listener_set_client_func(s->listener, socket_accept, s,
                                             NULL);
        }
        return true;
    }

    /* Client. */
    if (s->reconnect) {
        Error *err = NULL;

        if (!socket_connect_now(s, &err)) {
            error_free(err);
            socket_reconnect_start(s);
        }
        return true;
    }
    if (!socket_connect_now(s, errp)) {
        error_prepend(errp, "chardev: socket: ");
        goto fail;
    }
    return true;

fail:
    socket_close(chr);
    return false;
}

static int socket_write(Chardev *chr, const uint8_t *buf, int len)
{
    SocketChardev *s = (SocketChardev *)chr;
    QIOChannel *ioc = NULL;
    int ret = len;

    qemu_mutex_lock(&s->lock);
    if (s->ioc) {
        ioc = qio_channel_ref(QIO_CHANNEL(s->ioc));
    }
    qemu_mutex_unlock(&s->lock);
    if (!ioc) {
        /* Nobody is listening: the bytes are lost, as on a real wire. */
        return len;
    }
    if (qio_channel_write_all(ioc, (const char *)buf, len, NULL) < 0) {
        /* The read side notices the hang-up and disconnects. */
        ret = -EIO;
    }
    qio_channel_unref(ioc);
    return ret;
}

static void socket_hangup(Chardev *chr)
{
    socket_drop_client((SocketChardev *)chr, true);
}

static bool socket_connected(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;
    bool ret;

    qemu_mutex_lock(&s->lock);
    ret = s->ioc != NULL;
    qemu_mutex_unlock(&s->lock);
    return ret;
}

static void socket_disconnect(Chardev *chr)
{
    socket_drop_client((SocketChardev *)chr, true);
}

static void socket_close(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;

    s->closing = true;
    if (s->reconnect_timer) {
        g_source_remove(s->reconnect_timer);
        s->reconnect_timer = 0;
    }
    socket_drop_client(s, false);
    if (s->listener) {
        qio_net_listener_set_client_func(s->listener, NULL, NULL, NULL);
        qio_net_listener_disconnect(s->listener);
        qio_net_listener_unref(s->listener);
        s->listener = NULL;
    }
    qapi_free_SocketAddress(s->addr);
    s->addr = NULL;
    qemu_mutex_destroy(&s->lock);
}

const ChardevDriver char_socket_driver = {
    .name = "socket",
    .instance_size = sizeof(SocketChardev),
    .open = socket_open,
    .write = socket_write,
    .hangup = socket_hangup,
    .connected = socket_connected,
    .disconnect = socket_disconnect,
    .close = socket_close,
};
