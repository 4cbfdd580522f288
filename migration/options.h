/*
 * Migration capabilities and parameters (options.c).
 *
 * Names, defaults and ranges are QEMU 7.2's (every capability and parameter
 * of 7.2 is listed by the query commands).  A capability whose feature is
 * not built yet is refused when turned on, with an error that says so.
 * Accessors read the current MigrationState; they are cheap and callable
 * from any thread (values only change while no migration is active).
 */
#ifndef MIGRATION_OPTIONS_H
#define MIGRATION_OPTIONS_H

#include "qemu/osdep.h"

typedef enum MigrationCapability {
    MIGRATION_CAPABILITY_XBZRLE,
    MIGRATION_CAPABILITY_RDMA_PIN_ALL,
    MIGRATION_CAPABILITY_AUTO_CONVERGE,
    MIGRATION_CAPABILITY_ZERO_BLOCKS,
    MIGRATION_CAPABILITY_COMPRESS,
    MIGRATION_CAPABILITY_EVENTS,
    MIGRATION_CAPABILITY_POSTCOPY_RAM,
    MIGRATION_CAPABILITY_X_COLO,
    MIGRATION_CAPABILITY_RELEASE_RAM,
    MIGRATION_CAPABILITY_BLOCK,
    MIGRATION_CAPABILITY_RETURN_PATH,
    MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
    MIGRATION_CAPABILITY_MULTIFD,
    MIGRATION_CAPABILITY_DIRTY_BITMAPS,
    MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
    MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE,
    MIGRATION_CAPABILITY_X_IGNORE_SHARED,
    MIGRATION_CAPABILITY_VALIDATE_UUID,
    MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT,
    MIGRATION_CAPABILITY_ZERO_COPY_SEND,
    MIGRATION_CAPABILITY_POSTCOPY_PREEMPT,
    MIGRATION_CAPABILITY__MAX,
} MigrationCapability;

const char *MigrationCapability_str(MigrationCapability cap);   /* "xbzrle", ... */
bool MigrationCapability_parse(const char *name, MigrationCapability *out);

/* Capability accessors (source or destination, as QEMU's). */
bool migrate_cap(MigrationCapability cap);
bool migrate_events(void);
bool migrate_return_path(void);
bool migrate_pause_before_switchover(void);
bool migrate_postcopy_ram(void);
bool migrate_xbzrle(void);
bool migrate_multifd(void);
bool migrate_validate_uuid(void);
bool migrate_ignore_shared(void);
bool migrate_auto_converge(void);

/* Parameter accessors. */
uint64_t migrate_max_bandwidth(void);          /* bytes/s */
uint64_t migrate_downtime_limit(void);         /* ms */
uint64_t migrate_max_postcopy_bandwidth(void); /* bytes/s, 0 = unlimited */
uint64_t migrate_xbzrle_cache_size(void);
int migrate_multifd_channels(void);
const char *migrate_tls_creds(void);           /* "" when TLS is off */

/*
 * Properties of the migration object, set with -global migration.NAME=VALUE
 * (QEMU's names): store-global-state, send-configuration,
 * send-section-footer, decompress-error-check, clear-bitmap-shift
 * (x-clear-bitmap-shift), multifd-flush-after-each-section, ...
 */
bool migrate_store_global_state(void);
bool migrate_send_configuration(void);
bool migrate_send_section_footer(void);
uint8_t migrate_clear_bitmap_shift(void);

#endif
