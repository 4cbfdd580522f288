/* QIOChannelFile: a QIOChannel over a file (or any fd: pipe, tty). */
#ifndef IO_CHANNEL_FILE_H
#define IO_CHANNEL_FILE_H

#include "io/channel.h"

typedef struct QIOChannelFile {
    QIOChannel parent;
    int fd;
} QIOChannelFile;

extern const QIOChannelClass qio_channel_file_class;
#define TYPE_QIO_CHANNEL_FILE "qio-channel-file"
#define QIO_CHANNEL_FILE(obj) \
    ((QIOChannelFile *)qio_channel_check_type((obj), &qio_channel_file_class))

/*
 * Take ownership of @fd.  The channel is seekable if lseek() works on @fd.
 */
QIOChannelFile *qio_channel_file_new_fd(int fd);
/* Like qio_channel_file_new_fd on a dup() of @fd; NULL on error. */
QIOChannelFile *qio_channel_file_new_dupfd(int fd, Error **errp);
/* open(@path, @flags | O_CLOEXEC, @mode); NULL on error. */
QIOChannelFile *qio_channel_file_new_path(const char *path, int flags,
                                          mode_t mode, Error **errp);

#endif
