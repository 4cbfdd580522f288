/*
 * Migration through a shell command (/bin/sh -c CMD), both directions
 * open as QEMU does.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-command.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/exec.h"
#include "migration/trace.h"

static QIOChannel *exec_channel(const char *command, Error **errp)
{
    const char *argv[] = { "/bin/sh", "-c", command, NULL };
    QIOChannelCommand *cioc;

    trace_migration_exec(command);
    cioc = qio_channel_command_new_spawn(argv, O_RDWR, errp);
    if (!cioc) {
        error_prepend(errp, "migration URI 'exec:%s': ", command);
        return NULL;
    }
    return QIO_CHANNEL(cioc);
}

void exec_start_outgoing_migration(MigrationState *s, const char *command,
                                   Error **errp)
{
    QIOChannel *ioc = exec_channel(command, errp);

    if (!ioc) {
        return;
    }
    qio_channel_set_name(ioc, "migration-exec-outgoing");
    migration_channel_connect(s, ioc, NULL, NULL);
    qio_channel_unref(ioc);
}

bool exec_start_incoming_migration(const char *command, Error **errp)
{
    QIOChannel *ioc = exec_channel(command, errp);

    if (!ioc) {
        return false;
    }
    qio_channel_set_name(ioc, "migration-exec-incoming");
    migration_channel_process_incoming(ioc);
    qio_channel_unref(ioc);
    return true;
}
