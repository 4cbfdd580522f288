/* Migration over sockets: tcp:HOST:PORT, unix:PATH, vsock:CID:PORT. */
#ifndef MIGRATION_SOCKET_H
#define MIGRATION_SOCKET_H

#include "io/task.h"

typedef struct MigrationState MigrationState;

/*
 * Connect asynchronously to @str ("host:port", "unix:path", ...); the
 * result reaches migration_channel_connect() from the main loop.  Only a
 * parse error is reported here.
 */
void socket_start_outgoing_migration(MigrationState *s, const char *str,
                                     Error **errp);
/*
 * Open one more connection to the address of the last
 * socket_start_outgoing_migration() (multifd channels); @func gets the
 * task (its source is the QIOChannelSocket) in the main loop.  Main
 * thread.  False with @errp set when there was no socket migration.
 */
bool socket_send_channel_create(QIOTaskFunc func, gpointer opaque,
                                GDestroyNotify destroy, Error **errp);
/* The host of that address (inet), for TLS checks; NULL otherwise. */
const char *socket_send_channel_host(void);
/*
 * Listen on @str (port 0: an ephemeral port, reported in query-migrate's
 * socket-address) and accept one connection from the main loop.
 */
bool socket_start_incoming_migration(const char *str, Error **errp);

#endif
