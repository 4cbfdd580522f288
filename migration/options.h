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
#include <json-glib/json-glib.h>

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
    MIGRATION_CAPABILITY_DIRTY_LIMIT,       /* QEMU 8.1 */
    /* Godwit's own (x-): after QEMU's, never on the wire */
    MIGRATION_CAPABILITY_X_AUTO_POSTCOPY,
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
bool migrate_postcopy_blocktime(void);
bool migrate_postcopy_preempt(void);
/* -global migration.x-preempt-pre-7-2 / x-postcopy-preempt-break-huge */
bool migrate_preempt_pre_7_2(void);
bool migrate_postcopy_preempt_break_huge(void);
bool migrate_release_ram(void);
bool migrate_xbzrle(void);
bool migrate_multifd(void);
bool migrate_validate_uuid(void);
bool migrate_ignore_shared(void);
bool migrate_auto_converge(void);
bool migrate_compress(void);
bool migrate_dirty_limit(void);
/* Godwit: switch to postcopy when the verdict says diverging */
bool migrate_x_auto_postcopy(void);

/* Parameter accessors. */
uint64_t migrate_max_bandwidth(void);          /* bytes/s */
uint64_t migrate_downtime_limit(void);         /* ms */
uint64_t migrate_max_postcopy_bandwidth(void); /* bytes/s, 0 = unlimited */
uint64_t migrate_xbzrle_cache_size(void);
uint64_t migrate_vcpu_dirty_limit(void);           /* MB/s */
uint64_t migrate_vcpu_dirty_limit_period(void);    /* ms */
int migrate_multifd_channels(void);
int migrate_compress_level(void);              /* 0..9 */
int migrate_compress_threads(void);            /* 1..255 */
bool migrate_compress_wait_thread(void);
int migrate_decompress_threads(void);          /* 1..255 */
int migrate_multifd_compression(void);         /* MultiFDCompression */
int migrate_multifd_zlib_level(void);          /* 0..9 */
int migrate_multifd_zstd_level(void);          /* 0..20 */
int migrate_zero_page_detection(void);         /* ZeroPageDetection */
const char *migrate_tls_creds(void);           /* "" when TLS is off */
const char *migrate_tls_hostname(void);        /* "" when not set */
const char *migrate_tls_authz(void);           /* "" when not set */

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
bool migrate_decompress_error_check(void);
bool migrate_late_block_activate(void);

/* ------------------------------------------------------------------ state */

typedef enum MultiFDCompression {
    MULTIFD_COMPRESSION_NONE,
    MULTIFD_COMPRESSION_ZLIB,
    MULTIFD_COMPRESSION_ZSTD,
    MULTIFD_COMPRESSION__MAX,
} MultiFDCompression;

/* zero-page-detection (QEMU 9.0+; docs/devel/migration/multifd.rst) */
typedef enum ZeroPageDetection {
    ZERO_PAGE_DETECTION_NONE,     /* every page sent with its contents */
    ZERO_PAGE_DETECTION_LEGACY,   /* ZERO records on the main channel (7.2) */
    ZERO_PAGE_DETECTION_MULTIFD,  /* found by the multifd send threads */
    ZERO_PAGE_DETECTION__MAX,
} ZeroPageDetection;

/*
 * QEMU 7.2's MigrationParameters.  Stored and reported for every name;
 * a parameter whose feature is not built (tls-*, multifd-*,
 * xbzrle-cache-size, announce-*, x-checkpoint-delay, block-incremental)
 * is accepted and kept, and does nothing by itself.  A migration that would
 * need one (tls-creds non-empty) is refused when it starts.
 */
typedef struct MigrationParameters {
    uint64_t announce_initial;
    uint64_t announce_max;
    uint64_t announce_rounds;
    uint64_t announce_step;
    uint8_t compress_level;
    uint8_t compress_threads;
    bool compress_wait_thread;
    uint8_t decompress_threads;
    uint8_t throttle_trigger_threshold;
    uint8_t cpu_throttle_initial;
    uint8_t cpu_throttle_increment;
    bool cpu_throttle_tailslow;
    char *tls_creds;
    char *tls_hostname;
    char *tls_authz;
    uint64_t max_bandwidth;
    uint64_t downtime_limit;
    uint32_t x_checkpoint_delay;
    bool block_incremental;
    uint8_t multifd_channels;
    uint64_t xbzrle_cache_size;
    uint64_t max_postcopy_bandwidth;
    uint8_t max_cpu_throttle;
    MultiFDCompression multifd_compression;
    uint8_t multifd_zlib_level;
    uint8_t multifd_zstd_level;
    uint64_t x_vcpu_dirty_limit_period;     /* QEMU 8.1 */
    uint64_t vcpu_dirty_limit;              /* QEMU 8.1 */
    int zero_page_detection;      /* ZeroPageDetection (9.0+) */
} MigrationParameters;

/* Properties of QEMU's migration object (-global migration.NAME=VALUE). */
typedef struct MigrationGlobals {
    bool store_global_state;
    bool send_configuration;
    bool send_section_footer;
    bool decompress_error_check;
    uint8_t clear_bitmap_shift;
    bool preempt_pre_7_2;
    bool postcopy_preempt_break_huge;
    bool multifd_flush_after_each_section;
} MigrationGlobals;

/*
 * Everything options.c manages, embedded in MigrationState (the source and
 * the destination share it, as in QEMU).  Written only by the main thread
 * with the BQL held; the migration threads read it without a lock: caps
 * and globals cannot change while a migration runs, and parameters that
 * apply live (max-bandwidth, downtime-limit, ...) are single aligned words.
 */
typedef struct MigrationOptions {
    bool caps[MIGRATION_CAPABILITY__MAX];
    MigrationParameters params;
    MigrationGlobals globals;
} MigrationOptions;

/* QEMU's defaults (and the globals' defaults). */
void migration_options_init(MigrationOptions *o);
void migration_options_finalize(MigrationOptions *o);

/* True when the capability's feature is built in this Godwit. */
bool migrate_cap_is_built(MigrationCapability cap);

/*
 * Apply a migrate-set-capabilities list to @o, all or nothing: checks the
 * capability conflicts of QEMU 7.2 (on the resulting set) first, then
 * refuses to turn on a capability that is not built.  @running: a
 * migration is in progress ("There's a migration process in progress").
 * @caps is a JSON array of {capability, state} (already schema-checked).
 */
bool migrate_caps_apply(MigrationOptions *o, JsonArray *caps, bool running,
                        Error **errp);
/* Set one capability (HMP, -global), same checks as above. */
bool migrate_cap_set(MigrationOptions *o, MigrationCapability cap, bool on,
                     bool running, Error **errp);

/*
 * Apply the members of a migrate-set-parameters object to @o, all or
 * nothing, with QEMU 7.2's range checks and texts ("Parameter
 * 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000)
 * ms").  Parameters may change during a migration; max-bandwidth and
 * downtime-limit take effect within one 100 ms window.
 */
bool migrate_params_apply(MigrationOptions *o, JsonObject *args, Error **errp);
/*
 * HMP migrate_set_parameter NAME VALUE: parse VALUE as QEMU's HMP does
 * (max-bandwidth in MiB without a suffix, sizes with suffixes, on/off),
 * then apply as above.
 */
bool migrate_param_set_str(MigrationOptions *o, const char *name,
                           const char *value, Error **errp);

/* query-migrate-capabilities / query-migrate-parameters replies. */
JsonArray *migrate_caps_to_json(const MigrationOptions *o);
JsonObject *migrate_params_to_json(const MigrationOptions *o);
/* The 'info migrate_parameters' / 'info migrate_capabilities' text. */
char *migrate_params_to_hmp(const MigrationOptions *o);
char *migrate_caps_to_hmp(const MigrationOptions *o);
/* The "globals:" block of 'info migrate'. */
char *migrate_globals_to_hmp(const MigrationOptions *o);

/* Every parameter name of QEMU 7.2, NULL terminated (for tests and HMP). */
extern const char *const migration_parameter_names[];

/*
 * -global migration.PROP=VALUE: one property.  PROP is a migration-object
 * property of QEMU 7.2 (store-global-state, send-configuration,
 * send-section-footer, decompress-error-check, x-clear-bitmap-shift,
 * x-preempt-pre-7-2, x-postcopy-preempt-break-huge,
 * multifd-flush-after-each-section, the parameter properties such as
 * x-max-bandwidth or announce-step, and the capability properties x-CAP).
 */
bool migrate_global_prop_set(MigrationOptions *o, const char *prop,
                             const char *value, Error **errp);
/* Apply every -global migration.* from the command line (vl.c's list). */
bool migrate_global_props_apply(MigrationOptions *o, Error **errp);

/*
 * Refuse a migration (either side) that needs a parameter whose feature is
 * not built: tls-creds set in a build without gnutls.  Called by migrate
 * and migrate-incoming.
 */
bool migrate_params_check_built(const MigrationOptions *o, Error **errp);

#endif
