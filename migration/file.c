/*
 * Migration to and from a file: file:PATH[,offset=N].
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "io/channel-file.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/file.h"
#include "migration/trace.h"

bool file_parse_uri(const char *str, char **path, uint64_t *offset,
                    Error **errp)
{
    const char *comma = strrchr(str, ',');

    *offset = 0;
    if (comma && g_str_has_prefix(comma + 1, "offset=")) {
        const char *v = comma + 1 + strlen("offset=");

        if (qemu_strtosz(v, NULL, offset) < 0) {
            error_setg(errp, "file URI 'file:%s' has bad offset '%s'",
                       str, v);
            return false;
        }
        *path = g_strndup(str, comma - str);
    } else {
        *path = g_strdup(str);
    }
    if (!**path) {
        error_setg(errp, "file URI 'file:%s' has no file name", str);
        g_free(*path);
        *path = NULL;
        return false;
    }
    return true;
}

static QIOChannel *file_channel(const char *str, int flags, Error **errp)
{
    g_autofree char *path = NULL;
    QIOChannelFile *fioc;
    uint64_t offset;

    if (!file_parse_uri(str, &path, &offset, errp)) {
        return NULL;
    }
    trace_migration_file(path, offset);
    fioc = qio_channel_file_new_path(path, flags, 0600, errp);
    if (!fioc) {
        error_prepend(errp, "migration URI 'file:%s': ", str);
        return NULL;
    }
    if (offset &&
        qio_channel_io_seek(QIO_CHANNEL(fioc), offset, SEEK_SET, errp) < 0) {
        error_prepend(errp, "migration URI 'file:%s': ", str);
        qio_channel_unref(QIO_CHANNEL(fioc));
        return NULL;
    }
    return QIO_CHANNEL(fioc);
}

void file_start_outgoing_migration(MigrationState *s, const char *str,
                                   Error **errp)
{
    QIOChannel *ioc = file_channel(str, O_CREAT | O_WRONLY | O_TRUNC, errp);

    if (!ioc) {
        return;
    }
    qio_channel_set_name(ioc, "migration-file-outgoing");
    migration_channel_connect(s, ioc, NULL, NULL);
    qio_channel_unref(ioc);
}

bool file_start_incoming_migration(const char *str, Error **errp)
{
    QIOChannel *ioc = file_channel(str, O_RDONLY, errp);

    if (!ioc) {
        return false;
    }
    qio_channel_set_name(ioc, "migration-file-incoming");
    migration_channel_process_incoming(ioc);
    qio_channel_unref(ioc);
    return true;
}
