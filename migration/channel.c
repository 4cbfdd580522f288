/*
 * Migration channels: hand a connected QIOChannel to the migration core.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/trace.h"

void migration_channel_connect(MigrationState *s, QIOChannel *ioc,
                               const char *hostname, Error *error)
{
    trace_migration_channel_connect(ioc ? qio_channel_type_name(ioc) : "",
                                    hostname ? hostname : "",
                                    error != NULL);
    /* TLS (tls-creds) would wrap @ioc here before the file is created */
    migrate_fd_connect(s, ioc, error);
}

MigrationChannelType migration_channel_identify(QIOChannel *ioc)
{
    return MIGRATION_CHANNEL_MAIN;
}

static void channel_incoming_bh(void *opaque)
{
    QIOChannel *ioc = opaque;

    switch (migration_channel_identify(ioc)) {
    case MIGRATION_CHANNEL_MAIN:
        migration_incoming_process_channel(ioc);
        break;
    default:
        break;
    }
    qio_channel_unref(ioc);
}

void migration_channel_process_incoming(QIOChannel *ioc)
{
    trace_migration_channel_process_incoming(qio_channel_type_name(ioc));
    qio_channel_ref(ioc);
    qemu_bh_schedule_oneshot(channel_incoming_bh, ioc);
}
