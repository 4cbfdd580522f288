/* Migration through a shell command: exec:CMD (/bin/sh -c CMD). */
#ifndef MIGRATION_EXEC_H
#define MIGRATION_EXEC_H

typedef struct MigrationState MigrationState;

/* The source writes the stream to the command's stdin. */
void exec_start_outgoing_migration(MigrationState *s, const char *command,
                                   Error **errp);
/* The destination reads the stream from the command's stdout. */
bool exec_start_incoming_migration(const char *command, Error **errp);

#endif
