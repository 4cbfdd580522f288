/*
 * Migration to and from a file: file:PATH[,offset=N] (QEMU 8.2+ syntax;
 * N takes size suffixes).  The source creates or truncates PATH and writes
 * from offset N; the destination reads from offset N.
 */
#ifndef MIGRATION_FILE_H
#define MIGRATION_FILE_H

typedef struct MigrationState MigrationState;

/* Split "PATH[,offset=N]"; the error names the URI. */
bool file_parse_uri(const char *str, char **path, uint64_t *offset,
                    Error **errp);
void file_start_outgoing_migration(MigrationState *s, const char *str,
                                   Error **errp);
bool file_start_incoming_migration(const char *str, Error **errp);

#endif
