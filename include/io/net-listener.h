/*
 * QIONetListener: one or more listening sockets for one address (a host
 * name may resolve to several), accepting clients in the main loop.
 */
#ifndef IO_NET_LISTENER_H
#define IO_NET_LISTENER_H

#include "io/channel-socket.h"

typedef struct QIONetListener QIONetListener;

typedef void (*QIONetListenerClientFunc)(QIONetListener *listener,
                                         QIOChannelSocket *sioc,
                                         gpointer data);

struct QIONetListener {
    int refcount;
    char *name;
    QIOChannelSocket **sioc;    /* the listening channels */
    GSource **io_source;        /* one watch per listening channel */
    size_t nsioc;
    bool connected;             /* watches attached */
    QIONetListenerClientFunc io_func;
    gpointer io_data;
    GDestroyNotify io_notify;
};

QIONetListener *qio_net_listener_new(void);
QIONetListener *qio_net_listener_ref(QIONetListener *listener);
/* Drops a reference; the last one disconnects and frees.  NULL ok. */
void qio_net_listener_unref(QIONetListener *listener);
void qio_net_listener_set_name(QIONetListener *listener, const char *name);

/* Listen on @addr (backlog @num); may be called more than once.  0 / -1. */
int qio_net_listener_open_sync(QIONetListener *listener, SocketAddress *addr,
                               int num, Error **errp);
/* Add an already listening channel (a reference is taken). */
void qio_net_listener_add(QIONetListener *listener, QIOChannelSocket *sioc);

/*
 * Accept clients in the default main context and hand each to @func (the
 * callee takes its own reference if it keeps the channel).  NULL @func
 * stops accepting.  @notify(@data) is called when replaced or freed.
 */
void qio_net_listener_set_client_func(QIONetListener *listener,
                                      QIONetListenerClientFunc func,
                                      gpointer data, GDestroyNotify notify);
/*
 * Block until one client connects and return it (a new reference).  The
 * registered client func, if any, is not called for it.
 */
QIOChannelSocket *qio_net_listener_wait_client(QIONetListener *listener);
/* Stop accepting and close the listening sockets. */
void qio_net_listener_disconnect(QIONetListener *listener);
bool qio_net_listener_is_connected(QIONetListener *listener);

#endif
