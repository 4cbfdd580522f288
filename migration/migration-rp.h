/*
 * The return path (migration-rp.c): destination -> source messages.
 */
#ifndef MIGRATION_MIGRATION_RP_H
#define MIGRATION_MIGRATION_RP_H

#include "migration/migration.h"

/* ---- source */

/* Open the return path and start its thread (migration thread). */
bool open_return_path_on_source(MigrationState *s, Error **errp);
/* Join the return-path thread; false if it ended with an error. */
bool await_return_path_close_on_source(MigrationState *s);
/* Record @err as the migration's error from the return-path thread. */
bool rp_error(MigrationState *s, Error *err);

/* ---- destination */

/* One return-path message, under mis->rp_mutex.  Any thread. */
bool rp_send(MigrationIncomingState *mis, uint16_t type, uint16_t len,
             const uint8_t *data, Error **errp);
/* Open the return path to the source (OPEN_RETURN_PATH). */
bool migration_incoming_open_return_path(MigrationIncomingState *mis);
/* Answer a PING. */
bool migrate_send_rp_pong(MigrationIncomingState *mis, uint32_t value,
                          Error **errp);
/* SHUT tells the source the destination is done (0) or failed (1). */
bool migrate_send_rp_shut(MigrationIncomingState *mis, uint32_t value,
                          Error **errp);

#endif
