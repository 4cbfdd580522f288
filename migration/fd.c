/*
 * Migration over a file descriptor passed with getfd (fd:NAME) or
 * inherited (fd:N).  A socket fd becomes a socket channel (so the return
 * path works), anything else a file channel.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-socket.h"
#include "io/channel-file.h"
#include "monitor/monitor.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/fd.h"
#include "migration/tls.h"
#include "migration/trace.h"

static QIOChannel *fd_channel(const char *fdname, Error **errp)
{
    int fd = monitor_fd_param(monitor_cur(), fdname, errp);
    struct stat st;

    if (fd < 0) {
        error_prepend(errp, "migration URI 'fd:%s': ", fdname);
        return NULL;
    }
    trace_migration_fd_channel(fdname, fd);
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
        QIOChannelSocket *sioc = qio_channel_socket_new_fd(fd, errp);

        if (!sioc) {
            close(fd);
            return NULL;
        }
        return QIO_CHANNEL(sioc);
    }
    if (migrate_tls()) {
        error_setg(errp, "TLS (tls-creds '%s') needs a socket, and fd:%s is "
                   "not one", migrate_tls_creds(), fdname);
        close(fd);
        return NULL;
    }
    return QIO_CHANNEL(qio_channel_file_new_fd(fd));
}

void fd_start_outgoing_migration(MigrationState *s, const char *fdname,
                                 Error **errp)
{
    QIOChannel *ioc = fd_channel(fdname, errp);

    if (!ioc) {
        return;
    }
    qio_channel_set_name(ioc, "migration-fd-outgoing");
    migration_channel_connect(s, ioc, NULL, NULL);
    qio_channel_unref(ioc);
}

bool fd_start_incoming_migration(const char *fdname, Error **errp)
{
    QIOChannel *ioc = fd_channel(fdname, errp);

    if (!ioc) {
        return false;
    }
    qio_channel_set_name(ioc, "migration-fd-incoming");
    migration_channel_process_incoming(ioc);
    qio_channel_unref(ioc);
    return true;
}
