/* Migration over a file descriptor: fd:NAME (getfd) or fd:N. */
#ifndef MIGRATION_FD_H
#define MIGRATION_FD_H

typedef struct MigrationState MigrationState;

void fd_start_outgoing_migration(MigrationState *s, const char *fdname,
                                 Error **errp);
bool fd_start_incoming_migration(const char *fdname, Error **errp);

#endif
