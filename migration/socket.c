/*
 * Migration over sockets.
 */
#include "qemu/osdep.h"
#include "qemu/sockets.h"
#include "qapi/error.h"
#include "io/channel-socket.h"
#include "io/net-listener.h"
#include "io/task.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/socket.h"
#include "migration/trace.h"

/*
 * The address of the last outgoing migration (main thread), kept so that
 * multifd can open its extra channels to the same place.
 */
static SocketAddress *outgoing_addr;

typedef struct SocketConnectData {
    MigrationState *s;
    char *hostname;
    unsigned gen;       /* the migration's connect generation */
} SocketConnectData;

static void socket_connect_data_free(gpointer opaque)
{
    SocketConnectData *data = opaque;

    g_free(data->hostname);
    g_free(data);
}

static void socket_outgoing_migration(QIOTask *task, gpointer opaque)
{
    SocketConnectData *data = opaque;
    QIOChannel *ioc = qio_task_get_source(task);
    Error *err = NULL;

    if (data->gen != data->s->connect_gen) {
        /* an earlier migration's connect: the task closes the channel */
        trace_migration_socket_outgoing_stale(data->gen, data->s->connect_gen);
        return;
    }
    if (qio_task_propagate_error(task, &err)) {
        trace_migration_socket_outgoing_error(error_get_pretty(err));
        migration_channel_connect(data->s, ioc, data->hostname, err);
        return;
    }
    trace_migration_socket_outgoing_connected(data->hostname);
    migration_channel_connect(data->s, ioc, data->hostname, NULL);
}

void socket_start_outgoing_migration(MigrationState *s, const char *str,
                                     Error **errp)
{
    SocketAddress *addr = socket_parse(str, errp);
    QIOChannelSocket *sioc;
    SocketConnectData *data;

    if (!addr) {
        error_prepend(errp, "migration URI '%s': ", str);
        return;
    }
    data = g_new0(SocketConnectData, 1);
    data->s = s;
    data->gen = s->connect_gen;
    if (addr->type == SOCKET_ADDRESS_TYPE_INET) {
        data->hostname = g_strdup(addr->u.inet.host);
    }
    qapi_free_SocketAddress(outgoing_addr);
    outgoing_addr = socket_address_dup(addr);
    sioc = qio_channel_socket_new();
    qio_channel_set_name(QIO_CHANNEL(sioc), "migration-socket-outgoing");
    qio_channel_socket_connect_async(sioc, addr, socket_outgoing_migration,
                                     data, socket_connect_data_free);
    qio_channel_unref(QIO_CHANNEL(sioc));
    qapi_free_SocketAddress(addr);
}

const char *socket_send_channel_host(void)
{
    return outgoing_addr && outgoing_addr->type == SOCKET_ADDRESS_TYPE_INET ?
           outgoing_addr->u.inet.host : NULL;
}

bool socket_send_channel_create(QIOTaskFunc func, gpointer opaque,
                                GDestroyNotify destroy, Error **errp)
{
    QIOChannelSocket *sioc;

    if (!outgoing_addr) {
        error_setg(errp, "no socket migration to open a further channel to");
        return false;
    }
    sioc = qio_channel_socket_new();
    qio_channel_set_name(QIO_CHANNEL(sioc), "migration-socket-extra");
    qio_channel_socket_connect_async(sioc, outgoing_addr, func, opaque,
                                     destroy);
    qio_channel_unref(QIO_CHANNEL(sioc));
    return true;
}

static void socket_accept_incoming_migration(QIONetListener *listener,
                                             QIOChannelSocket *cioc,
                                             gpointer opaque)
{
    trace_migration_socket_incoming_accepted();
    qio_channel_set_name(QIO_CHANNEL(cioc), "migration-socket-incoming");
    migration_channel_process_incoming(QIO_CHANNEL(cioc));
}

bool socket_start_incoming_migration(const char *str, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    SocketAddress *addr = socket_parse(str, errp);
    QIONetListener *listener;

    if (!addr) {
        error_prepend(errp, "migration URI '%s': ", str);
        return false;
    }
    listener = qio_net_listener_new();
    qio_net_listener_set_name(listener, "migration-socket-listener");
    if (qio_net_listener_open_sync(listener, addr, 1, errp) < 0) {
        qio_net_listener_unref(listener);
        qapi_free_SocketAddress(addr);
        return false;
    }
    qapi_free_SocketAddress(addr);
    for (size_t i = 0; i < listener->nsioc; i++) {
        SocketAddress *a =
            qio_channel_socket_get_local_address(listener->sioc[i], NULL);

        if (a) {
            migration_incoming_add_socket_address(mis, a);
        }
    }
    qio_net_listener_set_client_func(listener,
                                     socket_accept_incoming_migration,
                                     NULL, NULL);
    mis->listener = listener;
    return true;
}
