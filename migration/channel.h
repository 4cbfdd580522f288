/*
 * Migration channels: the point where a transport's connected QIOChannel
 * becomes a migration stream, on either side.
 *
 * Both functions run in the main thread with the BQL.  With tls-creds set
 * they first wrap @ioc in TLS (migration/tls.h) and continue with the TLS
 * channel once its handshake and checks passed; this is also where
 * several channels per migration are told apart (multifd, postcopy
 * preempt): see migration_channel_identify().
 */
#ifndef MIGRATION_CHANNEL_H
#define MIGRATION_CHANNEL_H

#include "io/channel.h"

typedef struct MigrationState MigrationState;

/* What an incoming channel carries. */
typedef enum MigrationChannelType {
    MIGRATION_CHANNEL_MAIN,      /* the main stream (QEVM header) */
    MIGRATION_CHANNEL_MULTIFD,   /* a multifd channel (migration/multifd.c) */
    MIGRATION_CHANNEL_PREEMPT,   /* not built yet */
} MigrationChannelType;

/*
 * Source: the transport connected (@error NULL) or failed.  @hostname is
 * the host named in the URI (for TLS certificate checks unless
 * tls-hostname is set; may be NULL).  Takes its own reference on @ioc.
 * Takes ownership of @error.  A failed TLS handshake or check fails the
 * migration with its error; the source keeps running.
 */
void migration_channel_connect(MigrationState *s, QIOChannel *ioc,
                               const char *hostname, Error *error);

/*
 * Destination: a channel arrived (accepted, or opened for exec/fd/file).
 * Takes its own reference on @ioc; loading starts from a main-loop bottom
 * half, so this is safe before the machine exists (-incoming at startup).
 * With TLS, a connection whose handshake or checks fail is reported on
 * stderr (and the -D log) and dropped; listening goes on.
 */
void migration_channel_process_incoming(QIOChannel *ioc);

/*
 * Which channel is this, without multifd: always the main one.  With the
 * multifd capability on, multifd_recv_new_channel() classifies every
 * connection by its first bytes instead (QEVM magic: main; else multifd).
 */
MigrationChannelType migration_channel_identify(QIOChannel *ioc);

#endif
