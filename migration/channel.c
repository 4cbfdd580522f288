/*
 * Migration channels: hand a connected QIOChannel to the migration core,
 * through a TLS handshake first when tls-creds is set.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/tls.h"
#include "migration/multifd.h"
#include "migration/options.h"
#include "migration/trace.h"

typedef struct ChannelTLSConnect {
    MigrationState *s;
    char *hostname;
    unsigned gen;           /* of the migration that started the handshake */
} ChannelTLSConnect;

static void channel_tls_connect_free(gpointer opaque)
{
    ChannelTLSConnect *d = opaque;

    g_free(d->hostname);
    g_free(d);
}

/* Source, main loop: the TLS handshake (and checks) ended. */
static void channel_tls_connect_done(QIOTask *task, gpointer opaque)
{
    ChannelTLSConnect *d = opaque;
    QIOChannel *tioc = qio_task_get_source(task);
    Error *err = NULL;

    qio_task_propagate_error(task, &err);
    trace_migration_channel_tls_done("outgoing",
                                     err ? error_get_pretty(err) : "");
    if (!migration_connecting_done(d->s, d->gen)) {
        /* an earlier migration's handshake: the task closes the channel */
        error_free(err);
        return;
    }
    migration_channel_connect(d->s, tioc, d->hostname, err);
}

void migration_channel_connect(MigrationState *s, QIOChannel *ioc,
                               const char *hostname, Error *error)
{
    trace_migration_channel_connect(ioc ? qio_channel_type_name(ioc) : "",
                                    hostname ? hostname : "",
                                    error != NULL);
    MigrationStatus st = qatomic_read(&s->state);

    if (st == MIGRATION_STATUS_CANCELLING || st == MIGRATION_STATUS_CANCELLED) {
        /* cancelled before the connect completed: no handshake to start */
        migrate_fd_connect(s, ioc, error);
        return;
    }
    if (!error && migrate_tls() && !migration_channel_is_tls(ioc)) {
        ChannelTLSConnect *d = g_new0(ChannelTLSConnect, 1);
        const char *name = migration_tls_hostname(hostname);

        d->s = s;
        d->hostname = g_strdup(name);
        d->gen = migration_connecting_set(s, ioc);
        if (migration_tls_client_start(ioc, name, channel_tls_connect_done,
                                       d, channel_tls_connect_free, NULL,
                                       &error)) {
            return;
        }
        migration_connecting_done(s, d->gen);
        channel_tls_connect_free(d);
    }
    migrate_fd_connect(s, ioc, error);
}

MigrationChannelType migration_channel_identify(QIOChannel *ioc)
{
    return MIGRATION_CHANNEL_MAIN;
}

static void channel_incoming_bh(void *opaque)
{
    QIOChannel *ioc = opaque;

    if (migrate_multifd()) {
        /* the main stream or a multifd channel: multifd.c tells them apart */
        multifd_recv_new_channel(ioc);
        qio_channel_unref(ioc);
        return;
    }
    switch (migration_channel_identify(ioc)) {
    case MIGRATION_CHANNEL_MAIN:
        migration_incoming_process_channel(ioc);
        break;
    default:
        break;
    }
    qio_channel_unref(ioc);
}

/*
 * Destination, main loop: the TLS handshake of an incoming connection
 * ended.  A failure is reported and that connection dropped; the
 * destination keeps listening (QEMU's behaviour), so a good source can
 * still come.
 */
static void channel_tls_incoming_done(QIOTask *task, gpointer opaque)
{
    QIOChannel *tioc = qio_task_get_source(task);
    Error *err = NULL;

    if (qio_task_propagate_error(task, &err)) {
        trace_migration_channel_tls_done("incoming", error_get_pretty(err));
        error_report_err(err);
        qio_channel_close(tioc, NULL);
        return;
    }
    trace_migration_channel_tls_done("incoming", "");
    migration_channel_process_incoming(tioc);
}

void migration_channel_process_incoming(QIOChannel *ioc)
{
    trace_migration_channel_process_incoming(qio_channel_type_name(ioc));
    if (migrate_tls() && !migration_channel_is_tls(ioc)) {
        Error *err = NULL;

        if (!migration_tls_server_start(ioc, channel_tls_incoming_done, NULL,
                                        NULL, NULL, &err)) {
            error_report_err(err);
            qio_channel_close(ioc, NULL);
        }
        return;
    }
    qio_channel_ref(ioc);
    qemu_bh_schedule_oneshot(channel_incoming_bh, ioc);
}
