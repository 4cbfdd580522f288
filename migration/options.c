/*
 * Migration capabilities and parameters: names, defaults, ranges, checks.
 *
 * The capability and parameter sets are QEMU 7.2's.  Error texts follow
 * QEMU's (QERR_INVALID_PARAMETER_VALUE "Parameter '%s' expects %s", with
 * the underscore names QEMU 7.2 uses in them).
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/host-utils.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "sysemu/sysemu.h"
#include "migration/migration.h"
#include "migration/options.h"
#include "migration/postcopy-ram.h"
#include "sysemu/runstate.h"
#include "migration/ram-xbzrle.h"
#include "migration/trace.h"

#define QERR_MIGRATION_ACTIVE "There's a migration process in progress"

/* ------------------------------------------------------------ capabilities */

static const char *const cap_names[MIGRATION_CAPABILITY__MAX] = {
    [MIGRATION_CAPABILITY_XBZRLE] = "xbzrle",
    [MIGRATION_CAPABILITY_RDMA_PIN_ALL] = "rdma-pin-all",
    [MIGRATION_CAPABILITY_AUTO_CONVERGE] = "auto-converge",
    [MIGRATION_CAPABILITY_ZERO_BLOCKS] = "zero-blocks",
    [MIGRATION_CAPABILITY_COMPRESS] = "compress",
    [MIGRATION_CAPABILITY_EVENTS] = "events",
    [MIGRATION_CAPABILITY_POSTCOPY_RAM] = "postcopy-ram",
    [MIGRATION_CAPABILITY_X_COLO] = "x-colo",
    [MIGRATION_CAPABILITY_RELEASE_RAM] = "release-ram",
    [MIGRATION_CAPABILITY_BLOCK] = "block",
    [MIGRATION_CAPABILITY_RETURN_PATH] = "return-path",
    [MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = "pause-before-switchover",
    [MIGRATION_CAPABILITY_MULTIFD] = "multifd",
    [MIGRATION_CAPABILITY_DIRTY_BITMAPS] = "dirty-bitmaps",
    [MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME] = "postcopy-blocktime",
    [MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE] = "late-block-activate",
    [MIGRATION_CAPABILITY_X_IGNORE_SHARED] = "x-ignore-shared",
    [MIGRATION_CAPABILITY_VALIDATE_UUID] = "validate-uuid",
    [MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT] = "background-snapshot",
    [MIGRATION_CAPABILITY_ZERO_COPY_SEND] = "zero-copy-send",
    [MIGRATION_CAPABILITY_POSTCOPY_PREEMPT] = "postcopy-preempt",
    [MIGRATION_CAPABILITY_DIRTY_LIMIT] = "dirty-limit",
    [MIGRATION_CAPABILITY_X_AUTO_POSTCOPY] = "x-auto-postcopy",
};

const char *MigrationCapability_str(MigrationCapability cap)
{
    assert((unsigned)cap < MIGRATION_CAPABILITY__MAX);
    return cap_names[cap];
}

bool MigrationCapability_parse(const char *name, MigrationCapability *out)
{
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        if (name && !strcmp(name, cap_names[i])) {
            *out = i;
            return true;
        }
    }
    return false;
}

/*
 * The capabilities whose feature exists in this build.  late-block-activate
 * is trivially honoured: Godwit has no block devices to activate.
 */
bool migrate_cap_is_built(MigrationCapability cap)
{
    switch (cap) {
    case MIGRATION_CAPABILITY_EVENTS:
    case MIGRATION_CAPABILITY_RETURN_PATH:
    case MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER:
    case MIGRATION_CAPABILITY_VALIDATE_UUID:
    case MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE:
    case MIGRATION_CAPABILITY_X_IGNORE_SHARED:
    case MIGRATION_CAPABILITY_POSTCOPY_RAM:
    case MIGRATION_CAPABILITY_RELEASE_RAM:
    case MIGRATION_CAPABILITY_XBZRLE:
    case MIGRATION_CAPABILITY_COMPRESS:
    case MIGRATION_CAPABILITY_MULTIFD:
    case MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME:
    case MIGRATION_CAPABILITY_POSTCOPY_PREEMPT:
    case MIGRATION_CAPABILITY_DIRTY_LIMIT:
    case MIGRATION_CAPABILITY_AUTO_CONVERGE:
    case MIGRATION_CAPABILITY_X_AUTO_POSTCOPY:
        return true;
#ifdef __linux__
    case MIGRATION_CAPABILITY_ZERO_COPY_SEND:       /* MSG_ZEROCOPY */
        return true;
#endif
#ifdef CONFIG_RDMA
    case MIGRATION_CAPABILITY_RDMA_PIN_ALL:
        return true;
#endif
    default:
        return false;
    }
}

/* QEMU 7.2's migrate_caps_check conflicts, on the complete new set. */
static bool caps_check_conflicts(const bool *c, Error **errp)
{
    if (c[MIGRATION_CAPABILITY_BLOCK]) {
        error_setg(errp, "QEMU compiled without old-style (blk/-b, inc/-i) "
                   "block migration");
        return false;
    }
    if (c[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        if (c[MIGRATION_CAPABILITY_COMPRESS]) {
            error_setg(errp, "Postcopy is not currently compatible "
                       "with compression");
            return false;
        }
        if (c[MIGRATION_CAPABILITY_X_IGNORE_SHARED]) {
            error_setg(errp, "Postcopy is not compatible with ignore-shared");
            return false;
        }
    }
    if (c[MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT]) {
        static const MigrationCapability incompatible[] = {
            MIGRATION_CAPABILITY_POSTCOPY_RAM,
            MIGRATION_CAPABILITY_DIRTY_BITMAPS,
            MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
            MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE,
            MIGRATION_CAPABILITY_RETURN_PATH,
            MIGRATION_CAPABILITY_MULTIFD,
            MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
            MIGRATION_CAPABILITY_AUTO_CONVERGE,
            MIGRATION_CAPABILITY_RELEASE_RAM,
            MIGRATION_CAPABILITY_RDMA_PIN_ALL,
            MIGRATION_CAPABILITY_COMPRESS,
            MIGRATION_CAPABILITY_XBZRLE,
            MIGRATION_CAPABILITY_X_COLO,
            MIGRATION_CAPABILITY_VALIDATE_UUID,
            MIGRATION_CAPABILITY_ZERO_COPY_SEND,
        };
        for (size_t i = 0; i < ARRAY_SIZE(incompatible); i++) {
            if (c[incompatible[i]]) {
                error_setg(errp, "Background-snapshot is not compatible "
                           "with %s", cap_names[incompatible[i]]);
                return false;
            }
        }
    }
    if (c[MIGRATION_CAPABILITY_ZERO_COPY_SEND] &&
        (!c[MIGRATION_CAPABILITY_MULTIFD] || c[MIGRATION_CAPABILITY_COMPRESS] ||
         c[MIGRATION_CAPABILITY_XBZRLE])) {
        error_setg(errp, "Zero copy only available for non-compressed "
                   "non-TLS multifd migration");
        return false;
    }
    if (c[MIGRATION_CAPABILITY_POSTCOPY_PREEMPT]) {
        if (!c[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
            error_setg(errp, "Postcopy preempt requires postcopy-ram");
            return false;
        }
        if (c[MIGRATION_CAPABILITY_COMPRESS]) {
            error_setg(errp, "Postcopy preempt not compatible with compress");
            return false;
        }
    }
    /* QEMU 8.1's text; Godwit needs no KVM dirty ring (per-vCPU counters) */
    if (c[MIGRATION_CAPABILITY_DIRTY_LIMIT] &&
        c[MIGRATION_CAPABILITY_AUTO_CONVERGE]) {
        error_setg(errp, "dirty-limit conflicts with auto-converge"
                   " either of then available currently");
        return false;
    }
    if (c[MIGRATION_CAPABILITY_X_AUTO_POSTCOPY] &&
        !c[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        error_setg(errp, "x-auto-postcopy requires postcopy-ram: it switches "
                   "to postcopy when precopy is predicted not to converge");
        return false;
    }
    if (c[MIGRATION_CAPABILITY_MULTIFD] && c[MIGRATION_CAPABILITY_COMPRESS]) {
        error_setg(errp, "Multifd is not compatible with compress");
        return false;
    }
    return true;
}

/*
 * QEMU 7.2: zero-copy-send with the current parameters (the capability
 * conflicts are in caps_check_conflicts; the parameters' side in
 * params_check).  The same message as QEMU's for each.
 */
static bool zero_copy_params_ok(const MigrationParameters *p, Error **errp)
{
    if (p->multifd_compression != MULTIFD_COMPRESSION_NONE ||
        (p->tls_creds && *p->tls_creds)) {
        error_setg(errp, "Zero copy only available for non-compressed "
                   "non-TLS multifd migration");
        return false;
    }
    return true;
}

static bool caps_check_zero_copy(const MigrationOptions *o, const bool *new,
                                 Error **errp)
{
    return !new[MIGRATION_CAPABILITY_ZERO_COPY_SEND] ||
           zero_copy_params_ok(&o->params, errp);
}

static bool caps_check(const bool *old, const bool *new, bool running,
                       Error **errp)
{
    if (running) {
        error_setg(errp, QERR_MIGRATION_ACTIVE);
        return false;
    }
    if (!caps_check_conflicts(new, errp)) {
        return false;
    }
#ifndef CONFIG_RDMA
    if (new[MIGRATION_CAPABILITY_RDMA_PIN_ALL] &&
        !old[MIGRATION_CAPABILITY_RDMA_PIN_ALL]) {
        error_setg(errp, "Capability 'rdma-pin-all' needs RDMA, and this "
                   "build of Godwit has none (configure found no libibverbs "
                   "and librdmacm)");
        return false;
    }
#endif
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        if (new[i] && !old[i] && !migrate_cap_is_built(i)) {
            error_setg(errp, "Capability '%s' is not supported by this build "
                       "of Godwit yet", cap_names[i]);
            return false;
        }
    }
    /*
     * As QEMU: a destination checks at once that this host can receive a
     * postcopy, so a management layer learns it before migrating.
     */
    if (new[MIGRATION_CAPABILITY_POSTCOPY_RAM] &&
        !old[MIGRATION_CAPABILITY_POSTCOPY_RAM] &&
        runstate_check(RUN_STATE_INMIGRATE) &&
        !postcopy_ram_supported_by_host(errp)) {
        error_prepend(errp, "Postcopy is not supported: ");
        return false;
    }
    /* blocktime tells vCPUs apart by the thread id of each fault */
    if (new[MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME] &&
        !old[MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME] &&
        runstate_check(RUN_STATE_INMIGRATE) &&
        !postcopy_ram_thread_id_supported()) {
        error_setg(errp, "postcopy-blocktime needs the thread id of each "
                   "fault (UFFD_FEATURE_THREAD_ID), which userfaultfd does "
                   "not offer on this host");
        return false;
    }
    return true;
}

bool migrate_caps_apply(MigrationOptions *o, JsonArray *caps, bool running,
                        Error **errp)
{
    bool new[MIGRATION_CAPABILITY__MAX];
    guint n = caps ? json_array_get_length(caps) : 0;

    memcpy(new, o->caps, sizeof(new));
    for (guint i = 0; i < n; i++) {
        JsonObject *e = json_array_get_object_element(caps, i);
        const char *name = e ? json_object_get_string_member_with_default(
                                   e, "capability", NULL) : NULL;
        MigrationCapability cap;

        if (!MigrationCapability_parse(name, &cap)) {
            error_setg(errp, "Parameter 'capabilities[%u].capability' does "
                       "not accept value '%s'", i, name ? name : "");
            return false;
        }
        new[cap] = json_object_get_boolean_member_with_default(e, "state",
                                                               false);
    }
    if (!caps_check(o->caps, new, running, errp) ||
        !caps_check_zero_copy(o, new, errp)) {
        return false;
    }
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        if (o->caps[i] != new[i]) {
            trace_migrate_set_capability(cap_names[i], new[i]);
        }
    }
    memcpy(o->caps, new, sizeof(new));
    return true;
}

bool migrate_cap_set(MigrationOptions *o, MigrationCapability cap, bool on,
                     bool running, Error **errp)
{
    bool new[MIGRATION_CAPABILITY__MAX];

    assert((unsigned)cap < MIGRATION_CAPABILITY__MAX);
    memcpy(new, o->caps, sizeof(new));
    new[cap] = on;
    if (!caps_check(o->caps, new, running, errp) ||
        !caps_check_zero_copy(o, new, errp)) {
        return false;
    }
    trace_migrate_set_capability(cap_names[cap], on);
    o->caps[cap] = on;
    return true;
}

JsonArray *migrate_caps_to_json(const MigrationOptions *o)
{
    JsonArray *arr = json_array_new();

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        JsonObject *e = json_object_new();

        json_object_set_string_member(e, "capability", cap_names[i]);
        json_object_set_boolean_member(e, "state", o->caps[i]);
        json_array_add_object_element(arr, e);
    }
    return arr;
}

char *migrate_caps_to_hmp(const MigrationOptions *o)
{
    GString *s = g_string_new(NULL);

    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        g_string_append_printf(s, "%s: %s\n", cap_names[i],
                               o->caps[i] ? "on" : "off");
    }
    return g_string_free(s, false);
}

/* -------------------------------------------------------------- parameters */

typedef enum ParamKind {
    P_U8, P_U32, P_U64, P_SIZE, P_BOOL, P_STR, P_ENUM,
} ParamKind;

typedef struct ParamDesc {
    const char *name;        /* QMP name */
    const char *prop;        /* -global migration.<prop> */
    ParamKind kind;
    size_t offset;           /* in MigrationParameters */
    uint64_t min, max;       /* checked when max != 0 */
    const char *expects;     /* QEMU's text after "expects " */
    const char *hmp_unit;    /* info migrate_parameters: " ms", ... */
    const char *const *names; /* P_ENUM: the values, NULL-terminated */
} ParamDesc;

#define OFF(f) offsetof(MigrationParameters, f)

static const char *const compression_names[MULTIFD_COMPRESSION__MAX + 1] = {
    "none", "zlib", "zstd",
};

static const char *const zpd_names[ZERO_PAGE_DETECTION__MAX + 1] = {
    "none", "legacy", "multifd",
};

/* In QEMU 7.2's query-migrate-parameters order. */
static const ParamDesc params[] = {
    { "announce-initial", "announce-initial", P_SIZE, OFF(announce_initial),
      0, 100000, "a value between 0 and 100000", " ms" },
    { "announce-max", "announce-max", P_SIZE, OFF(announce_max),
      0, 100000, "a value between 0 and 100000", " ms" },
    { "announce-rounds", "announce-rounds", P_SIZE, OFF(announce_rounds),
      0, 1000, "a value between 0 and 1000", "" },
    { "announce-step", "announce-step", P_SIZE, OFF(announce_step),
      1, 10000, "a value between 0 and 10000", " ms" },
    { "compress-level", "x-compress-level", P_U8, OFF(compress_level),
      0, 9, "a value between 0 and 9", "" },
    { "compress-threads", "x-compress-threads", P_U8, OFF(compress_threads),
      1, 255, "a value between 1 and 255", "" },
    { "compress-wait-thread", "compress-wait-thread", P_BOOL,
      OFF(compress_wait_thread), 0, 0, NULL, "" },
    { "decompress-threads", "x-decompress-threads", P_U8,
      OFF(decompress_threads), 1, 255, "a value between 1 and 255", "" },
    { "throttle-trigger-threshold", "x-throttle-trigger-threshold", P_U8,
      OFF(throttle_trigger_threshold), 1, 100,
      "an integer in the range of 1 to 100", "" },
    { "cpu-throttle-initial", "x-cpu-throttle-initial", P_U8,
      OFF(cpu_throttle_initial), 1, 99,
      "an integer in the range of 1 to 99", "" },
    { "cpu-throttle-increment", "x-cpu-throttle-increment", P_U8,
      OFF(cpu_throttle_increment), 1, 99,
      "an integer in the range of 1 to 99", "" },
    { "cpu-throttle-tailslow", "x-cpu-throttle-tailslow", P_BOOL,
      OFF(cpu_throttle_tailslow), 0, 0, NULL, "" },
    { "tls-creds", "tls-creds", P_STR, OFF(tls_creds), 0, 0, NULL, "" },
    { "tls-hostname", "tls-hostname", P_STR, OFF(tls_hostname),
      0, 0, NULL, "" },
    { "tls-authz", "tls-authz", P_STR, OFF(tls_authz), 0, 0, NULL, "" },
    { "max-bandwidth", "x-max-bandwidth", P_SIZE, OFF(max_bandwidth),
      0, 0, NULL, " bytes/second" },
    { "downtime-limit", "x-downtime-limit", P_U64, OFF(downtime_limit),
      0, 2000 * 1000, "an integer in the range of 0 to (2000 * 1000) ms",
      " ms" },
    { "x-checkpoint-delay", "x-checkpoint-delay", P_U32,
      OFF(x_checkpoint_delay), 0, 0, NULL, " ms" },
    { "block-incremental", "block-incremental", P_BOOL,
      OFF(block_incremental), 0, 0, NULL, "" },
    { "multifd-channels", "x-multifd-channels", P_U8, OFF(multifd_channels),
      1, 255, "a value between 1 and 255", "" },
    { "xbzrle-cache-size", "xbzrle-cache-size", P_SIZE,
      OFF(xbzrle_cache_size), 0, 0, NULL, " bytes" },
    { "max-postcopy-bandwidth", "max-postcopy-bandwidth", P_SIZE,
      OFF(max_postcopy_bandwidth), 0, 0, NULL, "" },
    { "max-cpu-throttle", "max-cpu-throttle", P_U8, OFF(max_cpu_throttle),
      0, 0, NULL, "" },
    { "multifd-compression", "multifd-compression", P_ENUM,
      OFF(multifd_compression), 0, 0, NULL, "", compression_names },
    { "multifd-zlib-level", "multifd-zlib-level", P_U8,
      OFF(multifd_zlib_level), 0, 9, "a value between 0 and 9", "" },
    { "multifd-zstd-level", "multifd-zstd-level", P_U8,
      OFF(multifd_zstd_level), 0, 20, "a value between 0 and 20", "" },
    /* QEMU 8.1 (its texts) */
    { "x-vcpu-dirty-limit-period", "x-vcpu-dirty-limit-period", P_U64,
      OFF(x_vcpu_dirty_limit_period), 1, 1000, "a value between 1 and 1000",
      " ms" },
    { "vcpu-dirty-limit", "vcpu-dirty-limit", P_U64, OFF(vcpu_dirty_limit),
      1, UINT64_MAX, "is invalid, it must greater then 1 MB/s", " MB/s" },
    /* 9.0+, after the 7.2 ones */
    { "zero-page-detection", "zero-page-detection", P_ENUM,
      OFF(zero_page_detection), 0, 0, NULL, "", zpd_names },
};

const char *const migration_parameter_names[] = {
    "announce-initial", "announce-max", "announce-rounds", "announce-step",
    "compress-level", "compress-threads", "compress-wait-thread",
    "decompress-threads", "throttle-trigger-threshold",
    "cpu-throttle-initial", "cpu-throttle-increment",
    "cpu-throttle-tailslow", "tls-creds", "tls-hostname", "tls-authz",
    "max-bandwidth", "downtime-limit", "x-checkpoint-delay",
    "block-incremental", "multifd-channels", "xbzrle-cache-size",
    "max-postcopy-bandwidth", "max-cpu-throttle", "multifd-compression",
    "multifd-zlib-level", "multifd-zstd-level", "x-vcpu-dirty-limit-period",
    "vcpu-dirty-limit", "zero-page-detection", NULL,
};


static const ParamDesc *param_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        if (!strcmp(params[i].name, name)) {
            return &params[i];
        }
    }
    return NULL;
}

static uint64_t param_get_uint(const MigrationParameters *p,
                               const ParamDesc *d)
{
    const char *base = (const char *)p + d->offset;

    switch (d->kind) {
    case P_U8:
        return *(const uint8_t *)base;
    case P_U32:
        return *(const uint32_t *)base;
    case P_U64:
    case P_SIZE:
        return *(const uint64_t *)base;
    case P_BOOL:
        return *(const bool *)base;
    case P_ENUM:
        return *(const int *)base;
    default:
        g_assert_not_reached();
    }
}

static void param_set_uint(MigrationParameters *p, const ParamDesc *d,
                           uint64_t v)
{
    char *base = (char *)p + d->offset;

    switch (d->kind) {
    case P_U8:
        *(uint8_t *)base = v;
        break;
    case P_U32:
        *(uint32_t *)base = v;
        break;
    case P_U64:
    case P_SIZE:
        qatomic_set((uint64_t *)base, v);
        break;
    case P_BOOL:
        *(bool *)base = v;
        break;
    case P_ENUM:
        *(int *)base = v;
        break;
    default:
        g_assert_not_reached();
    }
}

static char **param_str_slot(MigrationParameters *p, const ParamDesc *d)
{
    assert(d->kind == P_STR);
    return (char **)((char *)p + d->offset);
}

static uint64_t kind_max(ParamKind k)
{
    switch (k) {
    case P_U8:
        return UINT8_MAX;
    case P_U32:
        return UINT32_MAX;
    case P_BOOL:
        return 1;
    default:
        return UINT64_MAX;
    }
}

static const char *kind_c_name(ParamKind k)
{
    switch (k) {
    case P_U8:
        return "uint8_t";
    case P_U32:
        return "uint32_t";
    default:
        return "uint64_t";
    }
}

void migration_options_init(MigrationOptions *o)
{
    MigrationParameters *p = &o->params;

    memset(o, 0, sizeof(*o));
    p->announce_initial = 50;
    p->announce_max = 550;
    p->announce_rounds = 5;
    p->announce_step = 100;
    p->compress_level = 1;
    p->compress_threads = 8;
    p->compress_wait_thread = true;
    p->decompress_threads = 2;
    p->throttle_trigger_threshold = 50;
    p->cpu_throttle_initial = 20;
    p->cpu_throttle_increment = 10;
    p->cpu_throttle_tailslow = false;
    p->tls_creds = g_strdup("");
    p->tls_hostname = g_strdup("");
    p->tls_authz = g_strdup("");
    p->max_bandwidth = 128 * MiB;
    p->downtime_limit = 300;
    p->x_checkpoint_delay = 20000;
    p->block_incremental = false;
    p->multifd_channels = 2;
    p->xbzrle_cache_size = 64 * MiB;
    p->max_postcopy_bandwidth = 0;
    p->max_cpu_throttle = 99;
    p->multifd_compression = MULTIFD_COMPRESSION_NONE;
    p->multifd_zlib_level = 1;
    p->multifd_zstd_level = 1;
    p->x_vcpu_dirty_limit_period = 1000;
    p->vcpu_dirty_limit = 1;
    /*
     * QEMU 9.0+ defaults to multifd but its compat table sets legacy for
     * machine types <= 8.2, as it sets multifd-flush-after-each-section
     * for <= 8.0; Godwit's machine is 7.2's wire, so legacy (zero pages
     * as ZERO records on the main channel, which 7.2 understands).
     */
    p->zero_page_detection = ZERO_PAGE_DETECTION_LEGACY;

    o->globals.store_global_state = true;
    o->globals.send_configuration = true;
    o->globals.send_section_footer = true;
    o->globals.decompress_error_check = true;
    o->globals.clear_bitmap_shift = 18;
    o->globals.preempt_pre_7_2 = false;
    o->globals.postcopy_preempt_break_huge = true;
    o->globals.multifd_flush_after_each_section = false;
}

void migration_options_finalize(MigrationOptions *o)
{
    g_free(o->params.tls_creds);
    g_free(o->params.tls_hostname);
    g_free(o->params.tls_authz);
    o->params.tls_creds = o->params.tls_hostname = o->params.tls_authz = NULL;
}

static char *underscore(const char *name)
{
    char *u = g_strdup(name);

    g_strdelimit(u, "-", '_');
    return u;
}

static void set_expects(Error **errp, const char *name, const char *expects)
{
    g_autofree char *u = underscore(name);

    error_setg(errp, "Parameter '%s' expects %s", u, expects);
}

/*
 * Range checks of QEMU 7.2's migrate_params_check, for the members given
 * (@given[i] for params[i]) on the candidate set @p.
 */
static bool params_check(const MigrationParameters *p, const bool *given,
                         const MigrationOptions *o, Error **errp)
{
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        const ParamDesc *d = &params[i];
        uint64_t v;

        if (!given[i] || !d->expects) {
            continue;
        }
        v = param_get_uint(p, d);
        if (v < d->min || v > d->max) {
            set_expects(errp, d->name, d->expects);
            return false;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        const ParamDesc *d = &params[i];

        if (!given[i]) {
            continue;
        }
        if (d->offset == OFF(xbzrle_cache_size) &&
            (p->xbzrle_cache_size < TARGET_PAGE_SIZE ||
             !is_power_of_2(p->xbzrle_cache_size))) {
            set_expects(errp, d->name,
                        "a power of two no less than the target page size");
            return false;
        }
        if (d->offset == OFF(max_cpu_throttle) &&
            (p->max_cpu_throttle < p->cpu_throttle_initial ||
             p->max_cpu_throttle > 99)) {
            set_expects(errp, d->name,
                        "an integer in the range of cpu_throttle_initial to 99");
            return false;
        }
    }
    if (o->caps[MIGRATION_CAPABILITY_ZERO_COPY_SEND] &&
        (p->multifd_compression != MULTIFD_COMPRESSION_NONE ||
         (p->tls_creds && *p->tls_creds))) {
        error_setg(errp, "Zero copy only available for non-compressed "
                   "non-TLS multifd migration");
        return false;
    }
    return true;
}

static void params_copy(MigrationParameters *dst,
                        const MigrationParameters *src)
{
    *dst = *src;
    dst->tls_creds = g_strdup(src->tls_creds);
    dst->tls_hostname = g_strdup(src->tls_hostname);
    dst->tls_authz = g_strdup(src->tls_authz);
}

static void params_free(MigrationParameters *p)
{
    g_free(p->tls_creds);
    g_free(p->tls_hostname);
    g_free(p->tls_authz);
}

/* Commit @p into @o->params field by field (live readers see words). */
static void params_commit(MigrationOptions *o, MigrationParameters *p,
                          const bool *given)
{
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        const ParamDesc *d = &params[i];

        if (!given[i]) {
            continue;
        }
        if (d->kind == P_STR) {
            char **dst = param_str_slot(&o->params, d);

            g_free(*dst);
            *dst = g_strdup(*param_str_slot(p, d));
            trace_migrate_set_parameter(d->name, *dst);
        } else {
            g_autofree char *v = g_strdup_printf("%" PRIu64,
                                                 param_get_uint(p, d));

            param_set_uint(&o->params, d, param_get_uint(p, d));
            trace_migrate_set_parameter(d->name, v);
        }
    }
}

/* Store one JSON member into the candidate set @p. */
static bool param_from_json(MigrationParameters *p, const ParamDesc *d,
                            JsonNode *node, Error **errp)
{
    if (d->kind == P_STR) {
        char **slot = param_str_slot(p, d);

        if (!JSON_NODE_HOLDS_NULL(node) &&
            (!JSON_NODE_HOLDS_VALUE(node) ||
             json_node_get_value_type(node) != G_TYPE_STRING)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: "
                       "string", d->name);
            return false;
        }
        g_free(*slot);
        /* null (MigrateSetParameters' StrOrNull) means "" as in QEMU */
        *slot = g_strdup(JSON_NODE_HOLDS_NULL(node) ? "" :
                         json_node_get_string(node));
        if (!*slot) {
            *slot = g_strdup("");
        }
        return true;
    }
    if (d->kind == P_BOOL) {
        param_set_uint(p, d, json_node_get_boolean(node));
        return true;
    }
    if (d->kind == P_ENUM) {
        const char *v = json_node_get_string(node);

        for (int i = 0; d->names[i]; i++) {
            if (v && !strcmp(v, d->names[i])) {
                param_set_uint(p, d, i);
                return true;
            }
        }
        error_setg(errp, "Parameter '%s' does not accept value '%s'",
                   d->name, v ? v : "");
        return false;
    }
    if (json_node_get_value_type(node) != G_TYPE_INT64 ||
        json_node_get_int(node) < 0 ||
        (uint64_t)json_node_get_int(node) > kind_max(d->kind)) {
        /* uint64 beyond INT64_MAX arrive as doubles from json-glib */
        if (json_node_get_value_type(node) == G_TYPE_DOUBLE &&
            kind_max(d->kind) == UINT64_MAX &&
            json_node_get_double(node) >= 0 &&
            json_node_get_double(node) < 18446744073709551616.0) {
            param_set_uint(p, d, (uint64_t)json_node_get_double(node));
            return true;
        }
        error_setg(errp, "Parameter '%s' expects %s", d->name,
                   kind_c_name(d->kind));
        return false;
    }
    param_set_uint(p, d, (uint64_t)json_node_get_int(node));
    return true;
}

bool migrate_params_apply(MigrationOptions *o, JsonObject *args, Error **errp)
{
    MigrationParameters cand;
    bool given[ARRAY_SIZE(params)] = { false };
    bool ok = false;

    params_copy(&cand, &o->params);
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        JsonNode *node = args ? json_object_get_member(args, params[i].name)
                              : NULL;

        if (!node) {
            continue;
        }
        if (!param_from_json(&cand, &params[i], node, errp)) {
            goto out;
        }
        given[i] = true;
    }
    if (args) {
        g_autoptr(GList) names = json_object_get_members(args);

        for (GList *l = names; l; l = l->next) {
            if (!param_find(l->data)) {
                error_setg(errp, "Parameter '%s' is unexpected",
                           (const char *)l->data);
                goto out;
            }
        }
    }
    if (!params_check(&cand, given, o, errp)) {
        goto out;
    }
    /* applies to a running migration at once (QEMU does too) */
    if (o == &migrate_get_current()->opts &&
        given[param_find("xbzrle-cache-size") - params] &&
        !ram_xbzrle_cache_resize(cand.xbzrle_cache_size, errp)) {
        goto out;
    }
    params_commit(o, &cand, given);
    ok = true;
out:
    params_free(&cand);
    return ok;
}

static bool parse_bool_str(const char *name, const char *value, bool *out,
                           Error **errp)
{
    if (!strcmp(value, "on") || !strcmp(value, "true") ||
        !strcmp(value, "yes")) {
        *out = true;
        return true;
    }
    if (!strcmp(value, "off") || !strcmp(value, "false") ||
        !strcmp(value, "no")) {
        *out = false;
        return true;
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}

/* Parse @value for @d into a JSON node as QEMU's HMP/string visitor would. */
static JsonNode *param_parse_str(const ParamDesc *d, const char *value,
                                 bool hmp, Error **errp)
{
    JsonNode *node = json_node_new(JSON_NODE_VALUE);
    uint64_t v;
    int ret;

    switch (d->kind) {
    case P_STR:
        json_node_set_string(node, value);
        return node;
    case P_ENUM:
        json_node_set_string(node, value);
        return node;
    case P_BOOL: {
        bool b;

        if (!parse_bool_str(d->name, value, &b, errp)) {
            json_node_unref(node);
            return NULL;
        }
        json_node_set_boolean(node, b);
        return node;
    }
    case P_SIZE:
        if (hmp && d->offset == OFF(max_bandwidth)) {
            ret = qemu_strtosz_MiB(value, NULL, &v);
        } else {
            ret = qemu_strtosz(value, NULL, &v);
        }
        if (ret < 0) {
            error_setg(errp, "Parameter '%s' expects a size value", d->name);
            json_node_unref(node);
            return NULL;
        }
        break;
    default:
        if (qemu_strtou64(value, NULL, 0, &v) < 0 || v > kind_max(d->kind)) {
            error_setg(errp, "Parameter '%s' expects %s", d->name,
                       kind_c_name(d->kind));
            json_node_unref(node);
            return NULL;
        }
        break;
    }
    if (v > INT64_MAX) {
        json_node_set_double(node, (double)v);
    } else {
        json_node_set_int(node, (int64_t)v);
    }
    return node;
}

bool migrate_param_set_str(MigrationOptions *o, const char *name,
                           const char *value, Error **errp)
{
    const ParamDesc *d = param_find(name);
    JsonObject *args;
    JsonNode *node;
    bool ok;

    if (!d) {
        error_setg(errp, "Invalid parameter '%s'", name);
        return false;
    }
    node = param_parse_str(d, value, true, errp);
    if (!node) {
        return false;
    }
    args = json_object_new();
    json_object_set_member(args, d->name, node);
    ok = migrate_params_apply(o, args, errp);
    json_object_unref(args);
    return ok;
}

JsonObject *migrate_params_to_json(const MigrationOptions *o)
{
    JsonObject *obj = json_object_new();

    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        const ParamDesc *d = &params[i];

        if (d->kind == P_STR) {
            json_object_set_string_member(
                obj, d->name, *param_str_slot((MigrationParameters *)&o->params,
                                              d));
        } else if (d->kind == P_BOOL) {
            json_object_set_boolean_member(obj, d->name,
                                           param_get_uint(&o->params, d));
        } else if (d->kind == P_ENUM) {
            json_object_set_string_member(
                obj, d->name, d->names[param_get_uint(&o->params, d)]);
        } else {
            uint64_t v = param_get_uint(&o->params, d);
            JsonNode *n = json_node_new(JSON_NODE_VALUE);

            if (v > INT64_MAX) {
                json_node_set_double(n, (double)v);
            } else {
                json_node_set_int(n, (int64_t)v);
            }
            json_object_set_member(obj, d->name, n);
        }
    }
    return obj;
}

/* 'info migrate_parameters' in QEMU 7.2's order and wording. */
char *migrate_params_to_hmp(const MigrationOptions *o)
{
    const MigrationParameters *p = &o->params;
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "announce-initial: %" PRIu64 " ms\n",
                           p->announce_initial);
    g_string_append_printf(s, "announce-max: %" PRIu64 " ms\n",
                           p->announce_max);
    g_string_append_printf(s, "announce-rounds: %" PRIu64 "\n",
                           p->announce_rounds);
    g_string_append_printf(s, "announce-step: %" PRIu64 " ms\n",
                           p->announce_step);
    g_string_append_printf(s, "compress-level: %u\n", p->compress_level);
    g_string_append_printf(s, "compress-threads: %u\n", p->compress_threads);
    g_string_append_printf(s, "compress-wait-thread: %s\n",
                           p->compress_wait_thread ? "on" : "off");
    g_string_append_printf(s, "decompress-threads: %u\n",
                           p->decompress_threads);
    g_string_append_printf(s, "throttle-trigger-threshold: %u\n",
                           p->throttle_trigger_threshold);
    g_string_append_printf(s, "cpu-throttle-initial: %u\n",
                           p->cpu_throttle_initial);
    g_string_append_printf(s, "cpu-throttle-increment: %u\n",
                           p->cpu_throttle_increment);
    g_string_append_printf(s, "cpu-throttle-tailslow: %s\n",
                           p->cpu_throttle_tailslow ? "on" : "off");
    g_string_append_printf(s, "max-cpu-throttle: %u\n", p->max_cpu_throttle);
    g_string_append_printf(s, "tls-creds: '%s'\n", p->tls_creds);
    g_string_append_printf(s, "tls-hostname: '%s'\n", p->tls_hostname);
    g_string_append_printf(s, "max-bandwidth: %" PRIu64 " bytes/second\n",
                           p->max_bandwidth);
    g_string_append_printf(s, "downtime-limit: %" PRIu64 " ms\n",
                           p->downtime_limit);
    g_string_append_printf(s, "x-checkpoint-delay: %u ms\n",
                           p->x_checkpoint_delay);
    g_string_append_printf(s, "block-incremental: %s\n",
                           p->block_incremental ? "on" : "off");
    g_string_append_printf(s, "multifd-channels: %u\n", p->multifd_channels);
    g_string_append_printf(s, "multifd-compression: %s\n",
                           compression_names[p->multifd_compression]);
    g_string_append_printf(s, "xbzrle-cache-size: %" PRIu64 " bytes\n",
                           p->xbzrle_cache_size);
    g_string_append_printf(s, "max-postcopy-bandwidth: %" PRIu64 "\n",
                           p->max_postcopy_bandwidth);
    g_string_append_printf(s, "tls-authz: '%s'\n", p->tls_authz);
    g_string_append_printf(s, "zero-page-detection: %s\n",
                           zpd_names[p->zero_page_detection]);
    return g_string_free(s, false);
}

char *migrate_globals_to_hmp(const MigrationOptions *o)
{
    const MigrationGlobals *g = &o->globals;

    return g_strdup_printf("globals:\n"
                           "store-global-state: %s\n"
                           "only-migratable: %s\n"
                           "send-configuration: %s\n"
                           "send-section-footer: %s\n"
                           "decompress-error-check: %s\n"
                           "clear-bitmap-shift: %u\n",
                           g->store_global_state ? "on" : "off",
                           "off",
                           g->send_configuration ? "on" : "off",
                           g->send_section_footer ? "on" : "off",
                           g->decompress_error_check ? "on" : "off",
                           g->clear_bitmap_shift);
}

bool migrate_params_check_built(const MigrationOptions *o, Error **errp)
{
#ifndef CONFIG_GNUTLS
    if (o->params.tls_creds && *o->params.tls_creds) {
        error_setg(errp, "TLS migration needs gnutls, and this build of "
                   "Godwit has none (tls-creds is '%s')", o->params.tls_creds);
        return false;
    }
#endif
    if (o->caps[MIGRATION_CAPABILITY_ZERO_COPY_SEND] &&
        !zero_copy_params_ok(&o->params, errp)) {
        return false;
    }
#ifndef CONFIG_ZSTD
    if (o->caps[MIGRATION_CAPABILITY_MULTIFD] &&
        o->params.multifd_compression == MULTIFD_COMPRESSION_ZSTD) {
        error_setg(errp, "multifd-compression 'zstd' needs libzstd, and "
                   "this build of Godwit has none");
        return false;
    }
#endif
    if (o->caps[MIGRATION_CAPABILITY_MULTIFD] &&
        o->caps[MIGRATION_CAPABILITY_POSTCOPY_RAM]) {
        error_setg(errp, "multifd together with postcopy-ram is not built "
                   "yet in Godwit");
        return false;
    }
    return true;
}

/* ------------------------------------------------------- -global migration */

typedef struct GlobalBoolProp {
    const char *name;
    size_t offset;
} GlobalBoolProp;

static const GlobalBoolProp global_bools[] = {
    { "store-global-state", offsetof(MigrationGlobals, store_global_state) },
    { "send-configuration", offsetof(MigrationGlobals, send_configuration) },
    { "send-section-footer", offsetof(MigrationGlobals, send_section_footer) },
    { "decompress-error-check",
      offsetof(MigrationGlobals, decompress_error_check) },
    { "x-preempt-pre-7-2", offsetof(MigrationGlobals, preempt_pre_7_2) },
    { "x-postcopy-preempt-break-huge",
      offsetof(MigrationGlobals, postcopy_preempt_break_huge) },
    { "multifd-flush-after-each-section",
      offsetof(MigrationGlobals, multifd_flush_after_each_section) },
};

bool migrate_global_prop_set(MigrationOptions *o, const char *prop,
                             const char *value, Error **errp)
{
    g_autofree char *full = g_strdup_printf("migration.%s", prop);

    for (size_t i = 0; i < ARRAY_SIZE(global_bools); i++) {
        if (!strcmp(prop, global_bools[i].name)) {
            bool b;

            if (!parse_bool_str(full, value, &b, errp)) {
                return false;
            }
            *(bool *)((char *)&o->globals + global_bools[i].offset) = b;
            return true;
        }
    }
    if (!strcmp(prop, "x-clear-bitmap-shift")) {
        uint64_t v;

        /* QEMU clamps to 12..31 (CLEAR_BITMAP_SHIFT_MIN/MAX) */
        if (qemu_strtou64(value, NULL, 0, &v) < 0 || v > UINT8_MAX) {
            error_setg(errp, "Property '%s' expects uint8_t", full);
            return false;
        }
        o->globals.clear_bitmap_shift = MIN(MAX(v, 12), 31);
        return true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(params); i++) {
        if (!strcmp(prop, params[i].prop)) {
            JsonNode *node = param_parse_str(&params[i], value, false, errp);
            JsonObject *args;
            bool ok;

            if (!node) {
                error_prepend(errp, "%s: ", full);
                return false;
            }
            args = json_object_new();
            json_object_set_member(args, params[i].name, node);
            ok = migrate_params_apply(o, args, errp);
            json_object_unref(args);
            if (!ok) {
                error_prepend(errp, "%s: ", full);
            }
            return ok;
        }
    }
    if (g_str_has_prefix(prop, "x-")) {
        MigrationCapability cap;
        const char *name = prop + 2;

        /* x-colo and x-ignore-shared keep their own names */
        if (MigrationCapability_parse(prop, &cap) ||
            MigrationCapability_parse(name, &cap)) {
            bool b;

            if (!parse_bool_str(full, value, &b, errp) ||
                !migrate_cap_set(o, cap, b, false, errp)) {
                error_prepend(errp, "%s: ", full);
                return false;
            }
            return true;
        }
    }
    error_setg(errp, "can't apply global migration.%s=%s: "
               "Property 'migration.%s' not found", prop, value, prop);
    return false;
}

typedef struct GlobalApply {
    MigrationOptions *o;
    Error *err;
} GlobalApply;

static void global_apply_one(const char *prop, const char *value,
                             void *opaque)
{
    GlobalApply *ga = opaque;

    if (!ga->err) {
        migrate_global_prop_set(ga->o, prop, value, &ga->err);
    }
}

bool migrate_global_props_apply(MigrationOptions *o, Error **errp)
{
    GlobalApply ga = { .o = o };

    qemu_global_option_foreach("migration", global_apply_one, &ga);
    if (ga.err) {
        error_propagate(errp, ga.err);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- accessors */

static MigrationOptions *opts(void)
{
    return &migrate_get_current()->opts;
}

bool migrate_cap(MigrationCapability cap)
{
    assert((unsigned)cap < MIGRATION_CAPABILITY__MAX);
    return opts()->caps[cap];
}

bool migrate_events(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_EVENTS);
}

bool migrate_return_path(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_RETURN_PATH);
}

bool migrate_pause_before_switchover(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER);
}

bool migrate_postcopy_ram(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_RAM);
}

bool migrate_postcopy_blocktime(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME);
}

bool migrate_postcopy_preempt(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_POSTCOPY_PREEMPT);
}

bool migrate_preempt_pre_7_2(void)
{
    return opts()->globals.preempt_pre_7_2;
}

bool migrate_postcopy_preempt_break_huge(void)
{
    return opts()->globals.postcopy_preempt_break_huge;
}

bool migrate_release_ram(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_RELEASE_RAM);
}

bool migrate_xbzrle(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_XBZRLE);
}

bool migrate_multifd(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_MULTIFD);
}

bool migrate_validate_uuid(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_VALIDATE_UUID);
}

bool migrate_ignore_shared(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_X_IGNORE_SHARED);
}

bool migrate_auto_converge(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_AUTO_CONVERGE);
}

bool migrate_dirty_limit(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_DIRTY_LIMIT);
}

bool migrate_x_auto_postcopy(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_X_AUTO_POSTCOPY);
}

bool migrate_late_block_activate(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE);
}

uint64_t migrate_max_bandwidth(void)
{
    return qatomic_read(&opts()->params.max_bandwidth);
}

uint64_t migrate_downtime_limit(void)
{
    return qatomic_read(&opts()->params.downtime_limit);
}

uint64_t migrate_max_postcopy_bandwidth(void)
{
    return qatomic_read(&opts()->params.max_postcopy_bandwidth);
}

uint64_t migrate_xbzrle_cache_size(void)
{
    return qatomic_read(&opts()->params.xbzrle_cache_size);
}

bool migrate_compress(void)
{
    return migrate_cap(MIGRATION_CAPABILITY_COMPRESS);
}

int migrate_compress_level(void)
{
    return qatomic_read(&opts()->params.compress_level);
}

int migrate_compress_threads(void)
{
    return qatomic_read(&opts()->params.compress_threads);
}

bool migrate_compress_wait_thread(void)
{
    return qatomic_read(&opts()->params.compress_wait_thread);
}

int migrate_decompress_threads(void)
{
    return qatomic_read(&opts()->params.decompress_threads);
}

uint64_t migrate_vcpu_dirty_limit(void)
{
    return qatomic_read(&opts()->params.vcpu_dirty_limit);
}

uint64_t migrate_vcpu_dirty_limit_period(void)
{
    return qatomic_read(&opts()->params.x_vcpu_dirty_limit_period);
}

int migrate_multifd_channels(void)
{
    return opts()->params.multifd_channels;
}

int migrate_multifd_compression(void)
{
    return opts()->params.multifd_compression;
}

int migrate_multifd_zlib_level(void)
{
    return opts()->params.multifd_zlib_level;
}

int migrate_multifd_zstd_level(void)
{
    return opts()->params.multifd_zstd_level;
}

int migrate_zero_page_detection(void)
{
    return opts()->params.zero_page_detection;
}

const char *migrate_tls_creds(void)
{
    return opts()->params.tls_creds;
}

const char *migrate_tls_hostname(void)
{
    return opts()->params.tls_hostname;
}

const char *migrate_tls_authz(void)
{
    return opts()->params.tls_authz;
}

bool migrate_store_global_state(void)
{
    return opts()->globals.store_global_state;
}

bool migrate_send_configuration(void)
{
    return opts()->globals.send_configuration;
}

bool migrate_send_section_footer(void)
{
    return opts()->globals.send_section_footer;
}

uint8_t migrate_clear_bitmap_shift(void)
{
    return opts()->globals.clear_bitmap_shift;
}

bool migrate_decompress_error_check(void)
{
    return opts()->globals.decompress_error_check;
}
