/*
 * QIOChannelCommand: a QIOChannel over the stdin/stdout of a child process
 * (migrate "exec:CMD" runs {"/bin/sh", "-c", CMD, NULL}).
 *
 * Writes go to the child's stdin, reads come from its stdout (both unix
 * stream sockets, so no SIGPIPE ever); its stderr is inherited.  The child dies with us (PR_SET_PDEATHSIG).  Closing the
 * channel closes the pipes and reaps the child, waiting a bounded time
 * (then SIGTERM, then SIGKILL); a non-zero exit status is an error.
 * After qio_channel_shutdown (READ or BOTH) the child is given only a short
 * grace period and its exit status is not reported.
 */
#ifndef IO_CHANNEL_COMMAND_H
#define IO_CHANNEL_COMMAND_H

#include "io/channel.h"

typedef struct QIOChannelCommand {
    QIOChannel parent;
    int writefd;    /* child's stdin, or -1 */
    int readfd;     /* child's stdout, or -1 */
    pid_t pid;
} QIOChannelCommand;

extern const QIOChannelClass qio_channel_command_class;
#define TYPE_QIO_CHANNEL_COMMAND "qio-channel-command"
#define QIO_CHANNEL_COMMAND(obj) \
    ((QIOChannelCommand *)qio_channel_check_type((obj), \
                                                 &qio_channel_command_class))

/*
 * Spawn @argv (argv[0] searched in PATH).  @flags: O_RDONLY (read the
 * child's stdout; its stdin is /dev/null), O_WRONLY (write its stdin; its
 * stdout is /dev/null) or O_RDWR.  NULL on error.
 */
QIOChannelCommand *qio_channel_command_new_spawn(const char *const argv[],
                                                 int flags, Error **errp);

#endif
