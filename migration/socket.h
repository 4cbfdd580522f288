/* Migration over sockets: tcp:HOST:PORT, unix:PATH, vsock:CID:PORT. */
#ifndef MIGRATION_SOCKET_H
#define MIGRATION_SOCKET_H

typedef struct MigrationState MigrationState;

/*
 * Connect asynchronously to @str ("host:port", "unix:path", ...); the
 * result reaches migration_channel_connect() from the main loop.  Only a
 * parse error is reported here.
 */
void socket_start_outgoing_migration(MigrationState *s, const char *str,
                                     Error **errp);
/*
 * Listen on @str (port 0: an ephemeral port, reported in query-migrate's
 * socket-address) and accept one connection from the main loop.
 */
bool socket_start_incoming_migration(const char *str, Error **errp);

#endif
