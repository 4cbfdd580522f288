/*
 * savevm: the handler registry, the framing of the migration stream and
 * the loader (docs/devel/migration/framing.rst).
 *
 * Stream (QEMU's, file version 3):
 *
 *   be32 "QEVM", be32 3, [u8 0x07, "configuration" vmstate]
 *   { section | command }
 *   u8 0x00 (EOF), [u8 0x06, be32 len, JSON]
 *
 * The registry is the one process-wide table of this file, reached only
 * through the functions below.  It is changed by the main thread under the
 * BQL while no migration runs, and read by the migration thread and the
 * incoming thread.  Everything a load needs lives in a LoadVMState on the
 * loader's stack.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/queue.h"
#include "exec/memory.h"
#include "hw/boards.h"
#include "sysemu/sysemu.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "migration/qemu-file.h"
#include "migration/qjson.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/migration.h"
#include "migration/migration-rp.h"
#include "migration/savevm.h"
#include "migration/ram.h"
#include "migration/postcopy-ram.h"
#include "migration/savevm-postcopy.h"
#include "io/channel-buffer.h"
#include "trace.h"

/* ------------------------------------------------------------ registry */

typedef struct SaveStateEntry {
    QTAILQ_ENTRY(SaveStateEntry) entry;
    char idstr[QEMU_VM_COUNTED_STRING_MAX + 1];
    uint32_t instance_id;
    int version_id;
    uint32_t section_id;
    MigrationPriority priority;
    const SaveVMHandlers *ops;          /* live handler, or NULL */
    const VMStateDescription *vmsd;     /* device state, or NULL */
    void *opaque;
} SaveStateEntry;

/*
 * The configuration record's fields (vmstate "configuration").  Filled by
 * pre_save from the local machine, or by the loader from the stream.
 */
typedef struct SaveConfig {
    uint32_t len;
    char *name;                          /* not NUL terminated on load */
    uint32_t target_page_bits;
    uint32_t caps_count;
    MigrationCapability *capabilities;
    uint8_t uuid[16];
} SaveConfig;

typedef struct SaveState {
    QTAILQ_HEAD(, SaveStateEntry) handlers;
    uint32_t global_section_id;
    SaveConfig config;
    /* bytes of END + FULL sections of the last completion */
    uint64_t device_state_bytes;
} SaveState;

static SaveState savevm_state = {
    .handlers = QTAILQ_HEAD_INITIALIZER(savevm_state.handlers),
};

/* Godwit validates the same capabilities as QEMU 7.2 (facts 1.4). */
static const MigrationCapability validated_caps[] = {
    MIGRATION_CAPABILITY_X_IGNORE_SHARED,
};

static bool savevm_builtin_registered;

static void savevm_uuid_format(char out[37], const uint8_t uuid[16]);

/*
 * "ram" and "globalstate" are registered once, the first time a stream is
 * written or read (or register_global_state() is called), so devices
 * registered at machine creation come before globalstate on the wire.
 */
static void savevm_register_builtins(void)
{
    if (savevm_builtin_registered) {
        return;
    }
    savevm_builtin_registered = true;
    ram_mig_init();
    global_state_register_vmsd();
}

void register_global_state(void)
{
    savevm_register_builtins();
}

static uint32_t savevm_next_instance(const char *idstr)
{
    SaveStateEntry *se;
    int64_t max = -1;

    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!strcmp(se->idstr, idstr) && (int64_t)se->instance_id > max) {
            max = se->instance_id;
        }
    }
    return max + 1;
}

static SaveStateEntry *savevm_find(const char *idstr, uint32_t instance_id)
{
    SaveStateEntry *se;

    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!strcmp(se->idstr, idstr) && se->instance_id == instance_id) {
            return se;
        }
    }
    return NULL;
}

static int savevm_register(SaveStateEntry *se, int64_t instance_id)
{
    SaveStateEntry *it;

    if (instance_id == VMSTATE_INSTANCE_ID_ANY ||
        instance_id == QEMU_VM_INSTANCE_ID_ANY) {
        se->instance_id = savevm_next_instance(se->idstr);
    } else if (instance_id < 0 || instance_id > UINT32_MAX) {
        error_report("savevm: %s: bad instance id %" PRId64, se->idstr,
                     instance_id);
        g_free(se);
        return -1;
    } else {
        se->instance_id = instance_id;
    }
    if (savevm_find(se->idstr, se->instance_id)) {
        error_report("savevm: %s instance %u is already registered",
                     se->idstr, se->instance_id);
        g_free(se);
        return -1;
    }
    se->section_id = savevm_state.global_section_id++;
    trace_savevm_register(se->idstr, se->instance_id, se->section_id);

    /* Highest priority first, then registration order. */
    QTAILQ_FOREACH(it, &savevm_state.handlers, entry) {
        if (it->priority < se->priority) {
            QTAILQ_INSERT_BEFORE(it, se, entry);
            return 0;
        }
    }
    QTAILQ_INSERT_TAIL(&savevm_state.handlers, se, entry);
    return 0;
}

static SaveStateEntry *savevm_new_entry(const char *idstr)
{
    SaveStateEntry *se;

    if (!idstr || !*idstr || strlen(idstr) > QEMU_VM_COUNTED_STRING_MAX) {
        error_report("savevm: idstr '%s' must be 1 to 255 bytes",
                     idstr ? idstr : "(null)");
        return NULL;
    }
    se = g_new0(SaveStateEntry, 1);
    g_strlcpy(se->idstr, idstr, sizeof(se->idstr));
    return se;
}

int register_savevm_live(const char *idstr, uint32_t instance_id,
                         int version_id, const SaveVMHandlers *ops,
                         void *opaque)
{
    SaveStateEntry *se = savevm_new_entry(idstr);

    if (!se) {
        return -1;
    }
    se->version_id = version_id;
    se->ops = ops;
    se->opaque = opaque;
    se->priority = MIG_PRI_DEFAULT;
    return savevm_register(se, instance_id == QEMU_VM_INSTANCE_ID_ANY ?
                           VMSTATE_INSTANCE_ID_ANY : (int64_t)instance_id);
}

void unregister_savevm(const char *idstr, void *opaque)
{
    SaveStateEntry *se, *next;

    QTAILQ_FOREACH_SAFE(se, &savevm_state.handlers, entry, next) {
        if (!strcmp(se->idstr, idstr) && se->opaque == opaque) {
            QTAILQ_REMOVE(&savevm_state.handlers, se, entry);
            g_free(se);
        }
    }
}

int vmstate_register_with_priority(void *dev_or_null, int instance_id,
                                   const VMStateDescription *vmsd,
                                   void *opaque, MigrationPriority priority)
{
    SaveStateEntry *se = savevm_new_entry(vmsd->name);

    if (!se) {
        return -1;
    }
    se->version_id = vmsd->version_id;
    se->vmsd = vmsd;
    se->opaque = opaque;
    se->priority = priority;
    return savevm_register(se, instance_id);
}

int vmstate_register(void *dev_or_null, int instance_id,
                     const VMStateDescription *vmsd, void *opaque)
{
    return vmstate_register_with_priority(dev_or_null, instance_id, vmsd,
                                          opaque, MIG_PRI_DEFAULT);
}

void vmstate_unregister(void *dev_or_null, const VMStateDescription *vmsd,
                        void *opaque)
{
    SaveStateEntry *se, *next;

    QTAILQ_FOREACH_SAFE(se, &savevm_state.handlers, entry, next) {
        if (se->vmsd == vmsd && se->opaque == opaque) {
            QTAILQ_REMOVE(&savevm_state.handlers, se, entry);
            g_free(se);
        }
    }
}

/* ------------------------------------------------------------ configuration */

const char *savevm_machine_name(void)
{
    return MACHINE_VIRT_NAME;
}

static int get_capability(QEMUFile *f, void *pv, size_t size,
                          const VMStateField *field, Error **errp)
{
    MigrationCapability *cap = pv;
    char name[QEMU_VM_COUNTED_STRING_MAX + 1];
    size_t len = qemu_get_counted_string(f, name);

    if (qemu_file_get_error(f)) {
        return qemu_file_get_error_obj(f, errp);
    }
    if (len != strlen(name) || !MigrationCapability_parse(name, cap)) {
        error_setg(errp, "Received unknown capability '%s'", name);
        return -EINVAL;
    }
    return 0;
}

static int put_capability(QEMUFile *f, void *pv, size_t size,
                          const VMStateField *field, QJSON *vmdesc,
                          Error **errp)
{
    MigrationCapability *cap = pv;

    qemu_put_counted_string(f, MigrationCapability_str(*cap));
    return 0;
}

static const VMStateInfo vmstate_info_capability = {
    .name = "capability",
    .get = get_capability,
    .put = put_capability,
};

static bool config_caps_needed(void *opaque)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(validated_caps); i++) {
        if (migrate_cap(validated_caps[i])) {
            return true;
        }
    }
    return false;
}

static bool config_page_bits_needed(void *opaque)
{
    /* Sent only above the target's legacy minimum; RISC-V never varies. */
    return false;
}

static bool config_uuid_needed(void *opaque)
{
    return qemu_uuid_set && migrate_validate_uuid();
}

static bool config_uuid_post_load(void *opaque, int version_id, Error **errp)
{
    SaveConfig *c = opaque;
    char got[37], local[37];

    if (!qemu_uuid_set) {
        warn_report("UUID is received, but the local UUID is not set");
        return true;
    }
    if (memcmp(c->uuid, qemu_uuid, sizeof(c->uuid)) != 0) {
        savevm_uuid_format(got, c->uuid);
        savevm_uuid_format(local, qemu_uuid);
        error_setg(errp, "UUID received is %s and local is %s", got, local);
        return false;
    }
    return true;
}

static const VMStateDescription vmstate_config_page_bits = {
    .name = "configuration/target-page-bits",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = config_page_bits_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(target_page_bits, SaveConfig),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_config_caps = {
    .name = "configuration/capabilities",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = config_caps_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_V(caps_count, SaveConfig, 1),
        VMSTATE_VARRAY_UINT32_ALLOC(capabilities, SaveConfig, caps_count,
                                    MIGRATION_CAPABILITY__MAX, 1,
                                    vmstate_info_capability,
                                    MigrationCapability),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_config_uuid = {
    .name = "configuration/uuid",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = config_uuid_needed,
    .post_load_errp = config_uuid_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY_V(uuid, SaveConfig, 16, 1),
        VMSTATE_END_OF_LIST()
    },
};

static int config_pre_save(void *opaque)
{
    SaveConfig *c = opaque;
    uint32_t n = 0;
    size_t i;

    g_free(c->name);
    c->name = g_strdup(savevm_machine_name());
    c->len = strlen(c->name);
    c->target_page_bits = TARGET_PAGE_BITS;
    g_free(c->capabilities);
    c->capabilities = g_new0(MigrationCapability, ARRAY_SIZE(validated_caps));
    for (i = 0; i < ARRAY_SIZE(validated_caps); i++) {
        if (migrate_cap(validated_caps[i])) {
            c->capabilities[n++] = validated_caps[i];
        }
    }
    c->caps_count = n;
    memcpy(c->uuid, qemu_uuid, sizeof(c->uuid));
    return 0;
}

static int config_pre_load(void *opaque)
{
    SaveConfig *c = opaque;

    g_free(c->name);
    c->name = NULL;
    c->len = 0;
    c->target_page_bits = TARGET_PAGE_BITS;   /* assumed when absent */
    g_free(c->capabilities);
    c->capabilities = NULL;
    c->caps_count = 0;
    return 0;
}

static bool config_post_load(void *opaque, int version_id, Error **errp)
{
    SaveConfig *c = opaque;
    const char *local = savevm_machine_name();
    size_t i, j;

    if (c->len > strlen(local) ||
        strncmp(c->name ? c->name : "", local, c->len) != 0) {
        error_setg(errp, "Machine type received is '%.*s' and local is '%s'",
                   (int)MIN(c->len, 255), c->name ? c->name : "", local);
        return false;
    }
    if (c->target_page_bits != TARGET_PAGE_BITS) {
        error_setg(errp, "Received TARGET_PAGE_BITS is %u but local is %u",
                   c->target_page_bits, (unsigned)TARGET_PAGE_BITS);
        return false;
    }
    for (i = 0; i < ARRAY_SIZE(validated_caps); i++) {
        bool source = false;
        bool target = migrate_cap(validated_caps[i]);

        for (j = 0; j < c->caps_count; j++) {
            source |= c->capabilities[j] == validated_caps[i];
        }
        if (source != target) {
            error_setg(errp, "Capability %s is %s, but received capability "
                       "is %s", MigrationCapability_str(validated_caps[i]),
                       target ? "on" : "off", source ? "on" : "off");
            return false;
        }
    }
    return true;
}

static const VMStateDescription vmstate_configuration = {
    .name = "configuration",
    .version_id = 1,
    .minimum_version_id = 0,   /* QEMU loads it as version 0 */
    .pre_save = config_pre_save,
    .pre_load = config_pre_load,
    .post_load_errp = config_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(len, SaveConfig),
        VMSTATE_VBUFFER_ALLOC_UINT32(name, SaveConfig, 0, NULL, len,
                                     QEMU_VM_COUNTED_STRING_MAX),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_config_page_bits,
        &vmstate_config_caps,
        &vmstate_config_uuid,
        NULL
    },
};

/* ------------------------------------------------------------ save */

static void save_section_header(QEMUFile *f, SaveStateEntry *se,
                                uint8_t type)
{
    qemu_put_byte(f, type);
    qemu_put_be32(f, se->section_id);
    if (type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL) {
        qemu_put_counted_string(f, se->idstr);
        qemu_put_be32(f, se->instance_id);
        qemu_put_be32(f, se->version_id);
    }
}

static void save_section_footer(QEMUFile *f, SaveStateEntry *se)
{
    if (migrate_send_section_footer()) {
        qemu_put_byte(f, QEMU_VM_SECTION_FOOTER);
        qemu_put_be32(f, se->section_id);
    }
}

static bool se_is_live(SaveStateEntry *se)
{
    return se->ops && (!se->ops->is_active || se->ops->is_active(se->opaque));
}

/* A live handler that keeps sending after the postcopy switch. */
static bool se_has_postcopy(SaveStateEntry *se)
{
    return se->ops && se->ops->has_postcopy &&
           se->ops->has_postcopy(se->opaque);
}

/* Fail @f with @err (a copy) unless it already failed; returns -errno. */
static int savevm_fail(QEMUFile *f, int ret, Error *err, Error **errp)
{
    qemu_file_set_error_obj(f, ret, error_copy(err));
    error_propagate(errp, err);
    return ret;
}

void qemu_savevm_state_header(QEMUFile *f)
{
    savevm_register_builtins();
    trace_savevm_state_header();
    qemu_put_be32(f, QEMU_VM_FILE_MAGIC);
    qemu_put_be32(f, QEMU_VM_FILE_VERSION);
    if (migrate_send_configuration()) {
        qemu_put_byte(f, QEMU_VM_CONFIGURATION);
        /* 7.2 does not describe the configuration in the vmdesc. */
        vmstate_save_state(f, &vmstate_configuration, &savevm_state.config,
                           NULL, NULL);
    }
}

bool qemu_savevm_state_setup(QEMUFile *f, Error **errp)
{
    SaveStateEntry *se;
    Error *err = NULL;
    int ret;

    trace_savevm_state_setup();
    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!se_is_live(se) || !se->ops->save_setup) {
            continue;
        }
        save_section_header(f, se, QEMU_VM_SECTION_START);
        ret = se->ops->save_setup(f, se->opaque, &err);
        save_section_footer(f, se);
        if (ret < 0) {
            if (!err) {
                error_setg_errno(&err, -ret, "setup failed");
            }
            error_prepend(&err, "section '%s' instance %u (id %u): ",
                          se->idstr, se->instance_id, se->section_id);
            savevm_fail(f, ret, err, errp);
            return false;
        }
    }
    qemu_fflush(f);
    ret = qemu_file_get_error_obj(f, errp);
    return ret == 0;
}

int qemu_savevm_state_iterate(QEMUFile *f)
{
    SaveStateEntry *se;
    int all_finished = 1;
    int ret;

    trace_savevm_state_iterate();
    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!se_is_live(se) || !se->ops->save_live_iterate) {
            continue;
        }
        if (migration_in_postcopy() && !se_has_postcopy(se)) {
            continue;
        }
        if (qemu_file_rate_limit(f)) {
            return qemu_file_get_error(f) ? qemu_file_get_error(f) : 0;
        }
        trace_savevm_section_start(se->idstr, se->section_id);
        save_section_header(f, se, QEMU_VM_SECTION_PART);
        ret = se->ops->save_live_iterate(f, se->opaque);
        save_section_footer(f, se);
        trace_savevm_section_end(se->idstr, se->section_id, ret);
        if (ret < 0) {
            if (!qemu_file_get_error(f)) {
                Error *err = NULL;

                error_setg_errno(&err, -ret, "section '%s' instance %u "
                                 "(id %u): iterate failed", se->idstr,
                                 se->instance_id, se->section_id);
                qemu_file_set_error_obj(f, ret, err);
            }
            return ret;
        }
        if (ret == 0) {
            /* As 7.2: later handlers wait for the next round. */
            all_finished = 0;
            break;
        }
    }
    ret = qemu_file_get_error(f);
    return ret < 0 ? ret : all_finished;
}

static void savevm_pending(bool exact, uint64_t *must_precopy,
                           uint64_t *can_postcopy)
{
    SaveStateEntry *se;

    *must_precopy = 0;
    *can_postcopy = 0;
    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!se_is_live(se)) {
            continue;
        }
        if (exact && se->ops->state_pending_exact) {
            se->ops->state_pending_exact(se->opaque, must_precopy,
                                         can_postcopy);
        } else if (!exact && se->ops->state_pending_estimate) {
            se->ops->state_pending_estimate(se->opaque, must_precopy,
                                            can_postcopy);
        }
    }
    trace_savevm_pending(exact, *must_precopy, *can_postcopy);
}

void qemu_savevm_state_pending_estimate(uint64_t *must_precopy,
                                        uint64_t *can_postcopy)
{
    savevm_pending(false, must_precopy, can_postcopy);
}

void qemu_savevm_state_pending_exact(uint64_t *must_precopy,
                                     uint64_t *can_postcopy)
{
    savevm_pending(true, must_precopy, can_postcopy);
}

/*
 * END sections of the live handlers: with @postcopy, those that cannot go
 * on in postcopy (at the switch) ...
 */
static int savevm_complete_live(QEMUFile *f, bool postcopy, Error **errp)
{
    SaveStateEntry *se;
    Error *err = NULL;
    int ret;

    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!se_is_live(se) || !se->ops->save_live_complete_precopy) {
            continue;
        }
        if (postcopy && se_has_postcopy(se)) {
            continue;
        }
        trace_savevm_section_start(se->idstr, se->section_id);
        save_section_header(f, se, QEMU_VM_SECTION_END);
        ret = se->ops->save_live_complete_precopy(f, se->opaque);
        save_section_footer(f, se);
        trace_savevm_section_end(se->idstr, se->section_id, ret);
        if (ret < 0 || qemu_file_get_error(f)) {
            if (qemu_file_get_error_obj(f, &err) == 0) {
                error_setg_errno(&err, ret < 0 ? -ret : EIO,
                                 "completion failed");
            }
            error_prepend(&err, "section '%s' instance %u (id %u): ",
                          se->idstr, se->instance_id, se->section_id);
            error_propagate(errp, err);
            return ret < 0 ? ret : -EIO;
        }
    }
    return 0;
}

static int savevm_complete_devices(QEMUFile *f, QJSON *vmdesc, Error **errp)
{
    SaveStateEntry *se;
    Error *err = NULL;
    int ret;

    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!se->vmsd || !vmstate_save_needed(se->vmsd, se->opaque)) {
            continue;
        }
        trace_savevm_section_start(se->idstr, se->section_id);
        qjson_start_object(vmdesc, NULL);
        qjson_str(vmdesc, "name", se->idstr);
        qjson_int(vmdesc, "instance_id", se->instance_id);
        save_section_header(f, se, QEMU_VM_SECTION_FULL);
        ret = vmstate_save_state(f, se->vmsd, se->opaque, vmdesc, &err);
        save_section_footer(f, se);
        qjson_end_object(vmdesc);
        trace_savevm_section_end(se->idstr, se->section_id, ret);
        if (ret < 0) {
            error_prepend(&err, "section '%s' instance %u (id %u): ",
                          se->idstr, se->instance_id, se->section_id);
            return savevm_fail(f, ret, err, errp);
        }
    }
    return 0;
}

int qemu_savevm_state_complete_precopy(QEMUFile *f, Error **errp)
{
    uint64_t start = qemu_file_transferred(f);
    QJSON *vmdesc;
    size_t len;
    int ret;

    trace_savevm_state_complete_precopy();
    ret = savevm_complete_live(f, false, errp);
    if (ret < 0) {
        return ret;
    }

    vmdesc = qjson_new();
    qjson_start_object(vmdesc, NULL);
    qjson_int(vmdesc, "page_size", TARGET_PAGE_SIZE);
    qjson_start_array(vmdesc, "devices");
    ret = savevm_complete_devices(f, vmdesc, errp);
    if (ret < 0) {
        qjson_free(vmdesc);
        return ret;
    }
    qjson_end_array(vmdesc);
    qjson_end_object(vmdesc);

    qemu_put_byte(f, QEMU_VM_EOF);
    len = qjson_get_len(vmdesc);
    qemu_put_byte(f, QEMU_VM_VMDESCRIPTION);
    qemu_put_be32(f, len);
    qemu_put_buffer(f, (const uint8_t *)qjson_get_str(vmdesc), len);
    qjson_free(vmdesc);
    qemu_fflush(f);

    savevm_state.device_state_bytes = qemu_file_transferred(f) - start;
    ret = qemu_file_get_error_obj(f, errp);
    trace_savevm_state_complete_done(savevm_state.device_state_bytes, ret);
    return ret;
}

int qemu_savevm_state_complete_precopy_non_postcopy(QEMUFile *f,
                                                    Error **errp)
{
    return savevm_complete_live(f, true, errp);
}

int qemu_savevm_state_devices(QEMUFile *f, Error **errp)
{
    uint64_t start = qemu_file_transferred(f);
    QJSON *vmdesc = qjson_new();    /* not sent: postcopy has no vmdesc */
    int ret;

    qjson_start_object(vmdesc, NULL);
    qjson_start_array(vmdesc, "devices");
    ret = savevm_complete_devices(f, vmdesc, errp);
    qjson_free(vmdesc);
    savevm_state.device_state_bytes = qemu_file_transferred(f) - start;
    return ret;
}

int qemu_savevm_state_complete_postcopy(QEMUFile *f, Error **errp)
{
    SaveStateEntry *se;
    Error *err = NULL;
    int ret;

    trace_savevm_state_complete_postcopy();
    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!se_is_live(se) || !se_has_postcopy(se) ||
            !se->ops->save_live_complete_postcopy) {
            continue;
        }
        trace_savevm_section_start(se->idstr, se->section_id);
        save_section_header(f, se, QEMU_VM_SECTION_END);
        ret = se->ops->save_live_complete_postcopy(f, se->opaque);
        save_section_footer(f, se);
        trace_savevm_section_end(se->idstr, se->section_id, ret);
        if (ret < 0 || qemu_file_get_error(f)) {
            if (qemu_file_get_error_obj(f, &err) == 0) {
                error_setg_errno(&err, ret < 0 ? -ret : EIO,
                                 "postcopy completion failed");
            }
            error_prepend(&err, "section '%s' instance %u (id %u): ",
                          se->idstr, se->instance_id, se->section_id);
            error_propagate(errp, err);
            return ret < 0 ? ret : -EIO;
        }
    }
    qemu_put_byte(f, QEMU_VM_EOF);
    qemu_fflush(f);
    return qemu_file_get_error_obj(f, errp);
}

void qemu_savevm_state_cleanup(void)
{
    SaveStateEntry *se;

    trace_savevm_state_cleanup();
    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (se->ops && se->ops->save_cleanup) {
            se->ops->save_cleanup(se->opaque);
        }
    }
}

uint64_t savevm_device_state_bytes(void)
{
    return savevm_state.device_state_bytes;
}

/* ------------------------------------------------------------ commands */

typedef struct MigCmdArgs {
    int len;                /* payload length, or MIG_CMD_LEN_VARIABLE */
    const char *name;
} MigCmdArgs;

static const MigCmdArgs mig_cmd_args[MIG_CMD_MAX] = {
    [MIG_CMD_INVALID]          = { .len = -1, .name = "INVALID" },
    [MIG_CMD_OPEN_RETURN_PATH] = { .len = MIG_CMD_OPEN_RETURN_PATH_LEN,
                                   .name = "OPEN_RETURN_PATH" },
    [MIG_CMD_PING]             = { .len = MIG_CMD_PING_LEN, .name = "PING" },
    [MIG_CMD_POSTCOPY_ADVISE]  = { .len = MIG_CMD_LEN_VARIABLE,
                                   .name = "POSTCOPY_ADVISE" },
    [MIG_CMD_POSTCOPY_LISTEN]  = { .len = MIG_CMD_POSTCOPY_LISTEN_LEN,
                                   .name = "POSTCOPY_LISTEN" },
    [MIG_CMD_POSTCOPY_RUN]     = { .len = MIG_CMD_POSTCOPY_RUN_LEN,
                                   .name = "POSTCOPY_RUN" },
    [MIG_CMD_POSTCOPY_RAM_DISCARD] = { .len = MIG_CMD_LEN_VARIABLE,
                                       .name = "POSTCOPY_RAM_DISCARD" },
    [MIG_CMD_PACKAGED]         = { .len = MIG_CMD_PACKAGED_LEN,
                                   .name = "PACKAGED" },
    [MIG_CMD_ENABLE_COLO]      = { .len = MIG_CMD_ENABLE_COLO_LEN,
                                   .name = "ENABLE_COLO" },
    [MIG_CMD_POSTCOPY_RESUME]  = { .len = MIG_CMD_POSTCOPY_RESUME_LEN,
                                   .name = "POSTCOPY_RESUME" },
    [MIG_CMD_RECV_BITMAP]      = { .len = MIG_CMD_LEN_VARIABLE,
                                   .name = "RECV_BITMAP" },
    [MIG_CMD_SWITCHOVER_START] = { .len = MIG_CMD_SWITCHOVER_START_LEN,
                                   .name = "SWITCHOVER_START" },
};

void qemu_savevm_command_send(QEMUFile *f, int cmd, uint16_t len,
                                     const uint8_t *data)
{
    assert(cmd > MIG_CMD_INVALID && cmd < MIG_CMD_MAX);
    assert(mig_cmd_args[cmd].len == MIG_CMD_LEN_VARIABLE ||
           mig_cmd_args[cmd].len == len);
    trace_savevm_command_send(cmd, len);
    qemu_put_byte(f, QEMU_VM_COMMAND);
    qemu_put_be16(f, cmd);
    qemu_put_be16(f, len);
    qemu_put_buffer(f, data, len);
    qemu_fflush(f);
}

void qemu_savevm_send_open_return_path(QEMUFile *f)
{
    qemu_savevm_command_send(f, MIG_CMD_OPEN_RETURN_PATH, 0, NULL);
}

void qemu_savevm_send_ping(QEMUFile *f, uint32_t value)
{
    uint8_t buf[4] = { value >> 24, value >> 16, value >> 8, value };

    qemu_savevm_command_send(f, MIG_CMD_PING, sizeof(buf), buf);
}

void put_be64_p(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = v;
        v >>= 8;
    }
}

uint64_t get_be64_p(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* ------------------------------------------------------------ load */

/* A section announced by START/FULL: the peer's id and version. */
typedef struct LoadSection {
    SaveStateEntry *se;
    uint32_t section_id;    /* the peer's id (local ids may differ) */
    int version_id;         /* from the START header, used for PART/END */
} LoadSection;

/* Stream offset of the next byte, for error messages. */
static uint64_t lv_pos(LoadVMState *lv)
{
    return qemu_file_transferred(lv->f);
}

/*
 * If the file failed (e.g. the stream ended), hand its error to @errp,
 * naming @what and the offset.  True when there was an error.
 */
bool lv_file_failed(LoadVMState *lv, const char *what, Error **errp)
{
    Error *err = NULL;

    if (qemu_file_get_error_obj(lv->f, &err) == 0) {
        return false;
    }
    error_prepend(&err, "%s at offset %" PRIu64 ": ", what, lv_pos(lv));
    error_propagate(errp, err);
    return true;
}

static bool loadvm_header(LoadVMState *lv, Error **errp)
{
    uint32_t magic = qemu_get_be32(lv->f);
    uint32_t version = qemu_get_be32(lv->f);
    Error *err = NULL;

    if (lv_file_failed(lv, "reading the stream header", errp)) {
        return false;
    }
    if (magic != QEMU_VM_FILE_MAGIC) {
        error_setg(errp, "Not a migration stream: magic 0x%08x, expected "
                   "0x%08x", magic, QEMU_VM_FILE_MAGIC);
        return false;
    }
    if (version == QEMU_VM_FILE_VERSION_COMPAT) {
        error_setg(errp, "SaveVM v2 format is obsolete and no longer "
                   "supported");
        return false;
    }
    if (version != QEMU_VM_FILE_VERSION) {
        error_setg(errp, "Unsupported migration stream version %u", version);
        return false;
    }
    if (!migrate_send_configuration()) {
        return true;
    }
    if (qemu_get_byte(lv->f) != QEMU_VM_CONFIGURATION) {
        if (!lv_file_failed(lv, "reading the configuration", errp)) {
            error_setg(errp, "Configuration section missing at offset %"
                       PRIu64, lv_pos(lv) - 1);
        }
        return false;
    }
    if (vmstate_load_state(lv->f, &vmstate_configuration, &savevm_state.config,
                           0, &err) < 0) {
        error_propagate_prepend(errp, err, "configuration record: ");
        return false;
    }
    return true;
}

#define LS_FMT "section '%s' instance %u (id %u): "
#define LS_ARGS(ls) (ls)->se->idstr, (ls)->se->instance_id, (ls)->section_id

static bool loadvm_footer(LoadVMState *lv, LoadSection *ls, Error **errp)
{
    int marker;
    uint32_t id;

    if (!migrate_send_section_footer()) {
        return true;
    }
    marker = qemu_get_byte(lv->f);
    id = qemu_get_be32(lv->f);
    if (lv_file_failed(lv, "reading a section footer", errp)) {
        error_prepend(errp, LS_FMT, LS_ARGS(ls));
        return false;
    }
    if (marker != QEMU_VM_SECTION_FOOTER) {
        error_setg(errp, LS_FMT "missing section footer (read 0x%02x, "
                   "expected 0x%02x) at offset %" PRIu64, LS_ARGS(ls), marker,
                   QEMU_VM_SECTION_FOOTER, lv_pos(lv) - 5);
        return false;
    }
    if (id != ls->section_id) {
        error_setg(errp, LS_FMT "mismatched section id in footer (read %u) "
                   "at offset %" PRIu64, LS_ARGS(ls), id, lv_pos(lv) - 4);
        return false;
    }
    return true;
}

static bool loadvm_section_body(LoadVMState *lv, LoadSection *ls,
                                Error **errp)
{
    SaveStateEntry *se = ls->se;
    Error *err = NULL;
    int ret;

    if (se->vmsd) {
        ret = vmstate_load_state(lv->f, se->vmsd, se->opaque, ls->version_id,
                                 &err);
    } else {
        ret = se->ops->load_state(lv->f, se->opaque, ls->version_id, &err);
        if (ret == 0 && qemu_file_get_error(lv->f)) {
            ret = qemu_file_get_error_obj(lv->f, &err);
        } else if (ret < 0 && !err) {
            error_setg_errno(&err, -ret, "load failed");
        }
    }
    if (ret < 0) {
        error_propagate_prepend(errp, err, LS_FMT, LS_ARGS(ls));
        return false;
    }
    return loadvm_footer(lv, ls, errp);
}

static bool loadvm_section_start_full(LoadVMState *lv, uint8_t type,
                                      Error **errp)
{
    char idstr[QEMU_VM_COUNTED_STRING_MAX + 1];
    uint32_t section_id, instance_id, version_id;
    SaveStateEntry *se;
    LoadSection *ls;
    size_t len;

    section_id = qemu_get_be32(lv->f);
    len = qemu_get_counted_string(lv->f, idstr);
    instance_id = qemu_get_be32(lv->f);
    version_id = qemu_get_be32(lv->f);
    if (lv_file_failed(lv, "reading a section header", errp)) {
        /* no field of a cut header is trustworthy, not even the id */
        return false;
    }
    if (len == 0 || len != strlen(idstr)) {
        error_setg(errp, "section id %u: bad ID string (length %zu) before "
                   "offset %" PRIu64, section_id, len, lv_pos(lv));
        return false;
    }
    trace_loadvm_section_start_full(type, section_id, idstr, instance_id,
                                    version_id);
    se = savevm_find(idstr, instance_id);
    if (!se) {
        error_setg(errp, "Unknown section or instance '%s' %u (section id "
                   "%u). Make sure that your current VM setup matches your "
                   "saved VM setup", idstr, instance_id, section_id);
        return false;
    }
    if (type == QEMU_VM_SECTION_START ? !se->ops || !se->ops->load_state
                                      : !se->vmsd && !se->ops->load_state) {
        error_setg(errp, "section '%s' instance %u (id %u): a %s record for "
                   "a handler that cannot load it", idstr, instance_id,
                   section_id, type == QEMU_VM_SECTION_START ? "START"
                                                             : "FULL");
        return false;
    }
    if ((int64_t)version_id > se->version_id) {
        error_setg(errp, "section '%s' instance %u (id %u): unsupported "
                   "version %u, local version is %d", idstr, instance_id,
                   section_id, version_id, se->version_id);
        return false;
    }
    ls = g_hash_table_lookup(lv->sections, GUINT_TO_POINTER(section_id));
    if (ls && ls->se != se) {
        error_setg(errp, "section '%s' instance %u: section id %u already "
                   "used by '%s' instance %u", idstr, instance_id, section_id,
                   ls->se->idstr, ls->se->instance_id);
        return false;
    }
    if (!ls) {
        ls = g_new0(LoadSection, 1);
        ls->se = se;
        ls->section_id = section_id;
        g_hash_table_insert(lv->sections, GUINT_TO_POINTER(section_id), ls);
    }
    ls->version_id = version_id;
    return loadvm_section_body(lv, ls, errp);
}

static bool loadvm_section_part_end(LoadVMState *lv, uint8_t type,
                                    Error **errp)
{
    uint32_t section_id = qemu_get_be32(lv->f);
    const char *what = type == QEMU_VM_SECTION_PART ? "PART" : "END";
    LoadSection *ls;

    if (lv_file_failed(lv, "reading a section header", errp)) {
        return false;
    }
    trace_loadvm_section_part_end(type, section_id);
    ls = g_hash_table_lookup(lv->sections, GUINT_TO_POINTER(section_id));
    if (!ls) {
        error_setg(errp, "Unknown savevm section %u in a %s record at offset "
                   "%" PRIu64, section_id, what, lv_pos(lv) - 5);
        return false;
    }
    if (!ls->se->ops || !ls->se->ops->load_state) {
        error_setg(errp, LS_FMT "%s record for a section that is not "
                   "iterative", LS_ARGS(ls), what);
        return false;
    }
    return loadvm_section_body(lv, ls, errp);
}

/* Returns 1 to go on, 0 when the command ends the load, -1 on error. */
static int loadvm_process_command(LoadVMState *lv, Error **errp)
{
    uint16_t cmd = qemu_get_be16(lv->f);
    uint16_t len = qemu_get_be16(lv->f);
    const char *name;
    uint32_t value;

    if (lv_file_failed(lv, "reading a command header", errp)) {
        return -1;
    }
    if (cmd == MIG_CMD_INVALID || cmd >= MIG_CMD_MAX) {
        error_setg(errp, "MIG_CMD 0x%x unknown (len 0x%x)", cmd, len);
        return -1;
    }
    name = mig_cmd_args[cmd].name;
    if (mig_cmd_args[cmd].len != MIG_CMD_LEN_VARIABLE &&
        mig_cmd_args[cmd].len != len) {
        error_setg(errp, "%s received with bad length - expecting %d, "
                   "received %u", name, mig_cmd_args[cmd].len, len);
        return -1;
    }
    trace_loadvm_process_command(name, len);

    switch (cmd) {
    case MIG_CMD_OPEN_RETURN_PATH:
        if (!lv->mis) {
            error_setg(errp, "%s received, but there is no incoming "
                       "migration to open it", name);
            return -1;
        }
        if (!migration_incoming_open_return_path(lv->mis)) {
            error_setg(errp, "%s: unable to open the return path", name);
            return -1;
        }
        return 1;
    case MIG_CMD_PING:
        value = qemu_get_be32(lv->f);
        if (lv_file_failed(lv, "reading PING", errp)) {
            return -1;
        }
        trace_loadvm_process_command_ping(value);
        if (!lv->mis) {
            error_setg(errp, "PING (0x%x) received with no return path",
                       value);
            return -1;
        }
        if (!migrate_send_rp_pong(lv->mis, value, errp)) {
            error_prepend(errp, "answering PING (0x%x): ", value);
            return -1;
        }
        return 1;
    case MIG_CMD_SWITCHOVER_START:
        /* QEMU 10.0+: no device of Godwit needs the hook; ignore it. */
        return 1;
    case MIG_CMD_ENABLE_COLO:
        error_setg(errp, "%s: COLO is not supported", name);
        return -1;
    case MIG_CMD_POSTCOPY_ADVISE:
        return loadvm_postcopy_handle_advise(lv, len, errp) ? 1 : -1;
    case MIG_CMD_POSTCOPY_RAM_DISCARD:
        return loadvm_postcopy_handle_discard(lv, len, errp) ? 1 : -1;
    case MIG_CMD_POSTCOPY_LISTEN:
        return loadvm_postcopy_handle_listen(lv, errp) ? 1 : -1;
    case MIG_CMD_POSTCOPY_RUN:
        return loadvm_postcopy_handle_run(lv, errp) ? 0 : -1;
    case MIG_CMD_PACKAGED:
        return loadvm_handle_packaged(lv, errp);
    case MIG_CMD_RECV_BITMAP:
        return loadvm_handle_recv_bitmap(lv, len, errp) ? 1 : -1;
    case MIG_CMD_POSTCOPY_RESUME:
        return loadvm_handle_postcopy_resume(lv, errp) ? 1 : -1;
    default:
        error_setg(errp, "%s: not handled", name);
        return -1;
    }
}

/* After EOF: skip the VMDESCRIPTION if there is one (not an error if not). */
static void loadvm_skip_vmdesc(LoadVMState *lv)
{
    uint8_t buf[4096];
    uint32_t len;

    if (qemu_peek_byte(lv->f, 0) != QEMU_VM_VMDESCRIPTION) {
        trace_loadvm_vmdesc(false, 0);
        return;
    }
    qemu_file_skip(lv->f, 1);
    len = qemu_get_be32(lv->f);
    trace_loadvm_vmdesc(true, len);
    while (len && !qemu_file_get_error(lv->f)) {
        size_t n = MIN(len, sizeof(buf));

        if (qemu_get_buffer(lv->f, buf, n) != n) {
            break;
        }
        len -= n;
    }
}

static void loadvm_cleanup_handlers(void)
{
    SaveStateEntry *se;

    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (se->ops && se->ops->load_cleanup) {
            se->ops->load_cleanup(se->opaque);
        }
    }
}

static bool loadvm_setup_handlers(LoadVMState *lv, Error **errp)
{
    SaveStateEntry *se;
    Error *err = NULL;

    QTAILQ_FOREACH(se, &savevm_state.handlers, entry) {
        if (!se->ops || !se->ops->load_setup) {
            continue;
        }
        if (se->ops->load_setup(lv->f, se->opaque, &err) < 0) {
            error_propagate_prepend(errp, err, "section '%s' instance %u: "
                                    "load setup: ", se->idstr,
                                    se->instance_id);
            return false;
        }
    }
    return true;
}

bool loadvm_main_loop(LoadVMState *lv, Error **errp)
{
    for (;;) {
        int type;
        int r;

        if (lv->quit) {
            return true;
        }
        if (lv->parent && qemu_peek_byte(lv->f, 0) < 0 &&
            !qemu_file_get_error(lv->f)) {
            /* the end of a package: as QEMU, like an EOF record */
            return true;
        }
        type = qemu_get_byte(lv->f);

        if (lv_file_failed(lv, "reading a section type", errp)) {
            return false;
        }
        trace_loadvm_section_type(type, lv_pos(lv) - 1);
        switch (type) {
        case QEMU_VM_SECTION_START:
        case QEMU_VM_SECTION_FULL:
            if (!loadvm_section_start_full(lv, type, errp)) {
                return false;
            }
            break;
        case QEMU_VM_SECTION_PART:
        case QEMU_VM_SECTION_END:
            if (!loadvm_section_part_end(lv, type, errp)) {
                return false;
            }
            break;
        case QEMU_VM_COMMAND: {
            uint64_t at = lv_pos(lv) - 1;

            r = loadvm_process_command(lv, errp);
            if (r < 0) {
                /* every command error says where the command starts */
                error_prepend(errp, "command at offset %" PRIu64 ": ", at);
                return false;
            }
            if (r == 0) {
                return true;
            }
            break;
        }
        case QEMU_VM_EOF:
            return true;
        default:
            error_setg(errp, "Unknown savevm section type 0x%02x at offset %"
                       PRIu64, type, lv_pos(lv) - 1);
            return false;
        }
    }
}

bool qemu_loadvm_state(QEMUFile *f, MigrationIncomingState *mis, Error **errp)
{
    LoadVMState lv = { .f = f, .mis = mis };
    Error *err = NULL;
    bool ok;

    savevm_register_builtins();
    global_state_reset_received();
    trace_loadvm_state_start();
    lv.sections = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                        g_free);
    ok = loadvm_header(&lv, &err) &&
         loadvm_setup_handlers(&lv, &err) &&
         loadvm_main_loop(&lv, &err);
    if (mis && mis->listen_thread_created) {
        /*
         * Postcopy: the listen thread reads the stream from here on and
         * owns the end of the load (migration_incoming_postcopy_done).
         */
        if (!ok) {
            qemu_file_set_error_obj(f, -EINVAL, error_copy(err));
        }
    } else if (ok) {
        loadvm_skip_vmdesc(&lv);
    } else {
        /* Make sure the error is sticky on the file too. */
        qemu_file_set_error_obj(f, -EINVAL, error_copy(err));
        loadvm_cleanup_handlers();
    }
    g_hash_table_unref(lv.sections);
    trace_loadvm_state_end(ok);
    if (!ok) {
        error_propagate(errp, err);
    }
    return ok;
}

void qemu_loadvm_state_cleanup(void)
{
    trace_loadvm_state_cleanup();
    loadvm_cleanup_handlers();
}

/* ------------------------------------------------------------ helpers */

static void savevm_uuid_format(char out[37], const uint8_t uuid[16])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6],
             uuid[7], uuid[8], uuid[9], uuid[10], uuid[11], uuid[12],
             uuid[13], uuid[14], uuid[15]);
}
