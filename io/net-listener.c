/*
 * QIONetListener: listening sockets that accept clients in the main loop.
 */
#include "qemu/osdep.h"
#include "io/net-listener.h"
#include "qapi/error.h"
#include "trace.h"

QIONetListener *qio_net_listener_new(void)
{
    QIONetListener *l = g_new0(QIONetListener, 1);

    l->refcount = 1;
    return l;
}

QIONetListener *qio_net_listener_ref(QIONetListener *listener)
{
    qatomic_inc(&listener->refcount);
    return listener;
}

void qio_net_listener_set_name(QIONetListener *listener, const char *name)
{
    size_t i;

    g_free(listener->name);
    listener->name = g_strdup(name);
    for (i = 0; i < listener->nsioc; i++) {
        qio_channel_set_name(QIO_CHANNEL(listener->sioc[i]), name);
    }
}

static gboolean qio_net_listener_channel_func(QIOChannel *ioc,
                                              GIOCondition condition,
                                              gpointer opaque)
{
    QIONetListener *listener = opaque;
    QIOChannelSocket *sioc;

    sioc = qio_channel_socket_accept(QIO_CHANNEL_SOCKET(ioc), NULL);
    if (!sioc) {
        /* A client that vanished, or EAGAIN: keep listening. */
        return G_SOURCE_CONTINUE;
    }
    trace_qio_net_listener_callback(listener, listener->io_func);
    if (listener->io_func) {
        /* The callback may drop the last reference of the listener. */
        qio_net_listener_ref(listener);
        listener->io_func(listener, sioc, listener->io_data);
        qio_net_listener_unref(listener);
    }
    qio_channel_unref(QIO_CHANNEL(sioc));
    return G_SOURCE_CONTINUE;
}

static void qio_net_listener_watch_one(QIONetListener *listener, size_t i)
{
    QIOChannel *ioc = QIO_CHANNEL(listener->sioc[i]);

    /* Accept without blocking in the main loop. */
    qio_channel_set_blocking(ioc, false, NULL);
    listener->io_source[i] =
        qio_channel_add_watch_source(ioc, G_IO_IN,
                                     qio_net_listener_channel_func,
                                     listener, NULL, NULL);
}

static void qio_net_listener_unwatch(QIONetListener *listener)
{
    size_t i;

    for (i = 0; i < listener->nsioc; i++) {
        if (listener->io_source[i]) {
            g_source_destroy(listener->io_source[i]);
            g_source_unref(listener->io_source[i]);
            listener->io_source[i] = NULL;
        }
    }
}

void qio_net_listener_add(QIONetListener *listener, QIOChannelSocket *sioc)
{
    size_t i = listener->nsioc;

    if (listener->name) {
        qio_channel_set_name(QIO_CHANNEL(sioc), listener->name);
    }
    listener->sioc = g_renew(QIOChannelSocket *, listener->sioc, i + 1);
    listener->io_source = g_renew(GSource *, listener->io_source, i + 1);
    listener->sioc[i] = (QIOChannelSocket *)qio_channel_ref(QIO_CHANNEL(sioc));
    listener->io_source[i] = NULL;
    listener->nsioc++;
    listener->connected = true;
    if (listener->io_func) {
        qio_net_listener_watch_one(listener, i);
    }
}

int qio_net_listener_open_sync(QIONetListener *listener, SocketAddress *addr,
                               int num, Error **errp)
{
    QIOChannelSocket *sioc = qio_channel_socket_new();

    if (qio_channel_socket_listen_sync(sioc, addr, num, errp) < 0) {
        qio_channel_unref(QIO_CHANNEL(sioc));
        return -1;
    }
    qio_net_listener_add(listener, sioc);
    qio_channel_unref(QIO_CHANNEL(sioc));
    return 0;
}

void qio_net_listener_set_client_func(QIONetListener *listener,
                                      QIONetListenerClientFunc func,
                                      gpointer data, GDestroyNotify notify)
{
    size_t i;

    trace_qio_net_listener_set_client_func(listener, func);
    qio_net_listener_unwatch(listener);
    if (listener->io_notify) {
        listener->io_notify(listener->io_data);
    }
    listener->io_func = func;
    listener->io_data = data;
    listener->io_notify = notify;
    if (!func || !listener->connected) {
        return;
    }
    for (i = 0; i < listener->nsioc; i++) {
        qio_net_listener_watch_one(listener, i);
    }
}

typedef struct QIONetListenerWait {
    GMainLoop *loop;
    QIOChannelSocket *sioc;
} QIONetListenerWait;

static gboolean qio_net_listener_wait_func(QIOChannel *ioc,
                                           GIOCondition condition,
                                           gpointer opaque)
{
    QIONetListenerWait *w = opaque;

    w->sioc = qio_channel_socket_accept(QIO_CHANNEL_SOCKET(ioc), NULL);
    if (w->sioc) {
        g_main_loop_quit(w->loop);
    }
    return G_SOURCE_CONTINUE;
}

QIOChannelSocket *qio_net_listener_wait_client(QIONetListener *listener)
{
    GMainContext *ctx = g_main_context_new();
    QIONetListenerWait w = { .loop = g_main_loop_new(ctx, TRUE) };
    GSource **sources;
    size_t i;

    if (!listener->nsioc) {
        g_main_loop_unref(w.loop);
        g_main_context_unref(ctx);
        return NULL;
    }
    trace_qio_net_listener_wait_client(listener);
    /* Do not let the main loop race us for the client. */
    qio_net_listener_unwatch(listener);
    sources = g_new0(GSource *, listener->nsioc);
    for (i = 0; i < listener->nsioc; i++) {
        qio_channel_set_blocking(QIO_CHANNEL(listener->sioc[i]), false, NULL);
        sources[i] = qio_channel_add_watch_source(
            QIO_CHANNEL(listener->sioc[i]), G_IO_IN,
            qio_net_listener_wait_func, &w, NULL, ctx);
    }
    g_main_loop_run(w.loop);
    for (i = 0; i < listener->nsioc; i++) {
        g_source_destroy(sources[i]);
        g_source_unref(sources[i]);
    }
    g_free(sources);
    g_main_loop_unref(w.loop);
    g_main_context_unref(ctx);

    if (listener->io_func && listener->connected) {
        for (i = 0; i < listener->nsioc; i++) {
            qio_net_listener_watch_one(listener, i);
        }
    }
    return w.sioc;
}

void qio_net_listener_disconnect(QIONetListener *listener)
{
    size_t i;

    trace_qio_net_listener_disconnect(listener);
    if (!listener->connected) {
        return;
    }
    qio_net_listener_unwatch(listener);
    for (i = 0; i < listener->nsioc; i++) {
        qio_channel_close(QIO_CHANNEL(listener->sioc[i]), NULL);
    }
    listener->connected = false;
}

bool qio_net_listener_is_connected(QIONetListener *listener)
{
    return listener->connected;
}

void qio_net_listener_unref(QIONetListener *listener)
{
    size_t i;

    if (!listener) {
        return;
    }
    if (qatomic_fetch_sub(&listener->refcount, 1) != 1) {
        return;
    }
    qio_net_listener_disconnect(listener);
    if (listener->io_notify) {
        listener->io_notify(listener->io_data);
    }
    for (i = 0; i < listener->nsioc; i++) {
        qio_channel_unref(QIO_CHANNEL(listener->sioc[i]));
    }
    g_free(listener->sioc);
    g_free(listener->io_source);
    g_free(listener->name);
    g_free(listener);
}
