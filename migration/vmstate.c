/*
 * VMState engine: save and load a struct as its VMStateDescription says,
 * and describe what was saved in the VMDESCRIPTION JSON.
 *
 * Encoding (docs/devel/migration/vmstate.rst): the fields that exist at
 * the version being written, each element by its VMStateInfo (or inline
 * for a struct), then every needed subsection as
 *   u8 QEMU_VM_SUBSECTION, u8 len, name, be32 version_id, payload.
 *
 * Loading trusts nothing: versions are range checked, counts and sizes
 * that come from the stream are bounded before they index or allocate
 * memory, and every failure is an Error "vmsd NAME field FIELD: why".
 * A failure also fails the QEMUFile, so nothing later reads on.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"
#include "migration/qjson.h"
#include "migration/vmstate.h"
#include "migration/wire.h"
#include "trace.h"

/*
 * VMS_ALLOC without a .max: the most the loader allocates for one field.
 * A larger request is a corrupt or hostile stream, not a device.
 */
#define VMSTATE_ALLOC_LIMIT (256 * MiB)

/* Record @err as the result of @f and hand it to the caller. */
static int vmstate_fail(QEMUFile *f, int ret, Error *err, Error **errp)
{
    qemu_file_set_error_obj(f, ret, error_copy(err));
    error_propagate(errp, err);
    return ret;
}

bool vmstate_save_needed(const VMStateDescription *vmsd, void *opaque)
{
    return !vmsd->needed || vmsd->needed(opaque);
}

static bool vmstate_field_exists(const VMStateField *field, void *opaque,
                                 int version_id)
{
    if (field->field_exists) {
        return field->field_exists(opaque, version_id);
    }
    return field->version_id <= version_id;
}

/* ------------------------------------------------------------ geometry */

/*
 * Where a field's elements are, how many, and how big: the part that is
 * computed from the struct (and so from earlier fields of the stream).
 */
typedef struct VMStateGeometry {
    void *base;       /* first element (after following VMS_POINTER) */
    uint64_t n;       /* element count */
    size_t size;      /* size of one element as given to the info */
    size_t stride;    /* distance between elements in memory */
} VMStateGeometry;

static bool vmstate_count(void *opaque, const VMStateField *field,
                          uint64_t *count, Error **errp)
{
    void *p = (char *)opaque + field->num_offset;
    uint64_t n;
    bool varray = true;

    if (field->flags & VMS_ARRAY) {
        varray = false;
        n = field->num < 0 ? 0 : field->num;
    } else if (field->flags & VMS_VARRAY_INT32) {
        int32_t v = *(int32_t *)p;

        if (v < 0) {
            error_setg(errp, "negative element count %" PRId32, v);
            return false;
        }
        n = v;
    } else if (field->flags & VMS_VARRAY_UINT32) {
        n = *(uint32_t *)p;
    } else if (field->flags & VMS_VARRAY_UINT16) {
        n = *(uint16_t *)p;
    } else if (field->flags & VMS_VARRAY_UINT8) {
        n = *(uint8_t *)p;
    } else {
        varray = false;
        n = 1;
    }
    if (varray && field->max && n > field->max) {
        error_setg(errp, "element count %" PRIu64 " exceeds the maximum %"
                   PRIu32, n, field->max);
        return false;
    }
    if (field->flags & VMS_MULTIPLY_ELEMENTS) {
        n *= field->num < 0 ? 0 : field->num;
    }
    *count = n;
    return true;
}

static bool vmstate_elem_size(void *opaque, const VMStateField *field,
                              size_t *size, Error **errp)
{
    uint64_t s = field->size;

    if (field->flags & VMS_VBUFFER) {
        s = *(uint32_t *)((char *)opaque + field->size_offset);
        if (field->flags & VMS_MULTIPLY) {
            s *= field->size;
        }
        if (field->max && s > field->max) {
            error_setg(errp, "buffer size %" PRIu64 " exceeds the maximum %"
                       PRIu32, s, field->max);
            return false;
        }
    }
    *size = s;
    return true;
}

/* @load: allocate VMS_ALLOC pointers. */
static bool vmstate_geometry(void *opaque, const VMStateField *field,
                             bool load, VMStateGeometry *g, Error **errp)
{
    void *addr = (char *)opaque + field->offset;
    uint64_t bytes;

    if (!vmstate_count(opaque, field, &g->n, errp) ||
        !vmstate_elem_size(opaque, field, &g->size, errp)) {
        return false;
    }
    g->stride = (field->flags & VMS_ARRAY_OF_POINTER) ? sizeof(void *)
                                                      : g->size;
    if (g->stride && g->n > SIZE_MAX / g->stride) {
        error_setg(errp, "%" PRIu64 " elements of %zu bytes overflow",
                   g->n, g->stride);
        return false;
    }
    bytes = g->n * g->stride;

    if (field->flags & VMS_POINTER) {
        void **pp = addr;

        if (load && (field->flags & VMS_ALLOC)) {
            if (!field->max && bytes > VMSTATE_ALLOC_LIMIT) {
                error_setg(errp, "refusing to allocate %" PRIu64 " bytes",
                           bytes);
                return false;
            }
            g_free(*pp);
            *pp = NULL;
            if (bytes) {
                *pp = g_try_malloc0(bytes);
                if (!*pp) {
                    error_setg(errp, "cannot allocate %" PRIu64 " bytes",
                               bytes);
                    return false;
                }
            }
        }
        addr = *pp;
        if (!addr && bytes) {
            error_setg(errp, "pointer is NULL but %" PRIu64 " bytes are due",
                       bytes);
            return false;
        }
    }
    g->base = addr;
    return true;
}

/* The element @i, or NULL for a NULL element of an array of pointers. */
static void *vmstate_elem(const VMStateField *field,
                          const VMStateGeometry *g, uint64_t i)
{
    void *p = (char *)g->base + g->stride * i;

    if (field->flags & VMS_ARRAY_OF_POINTER) {
        p = *(void **)p;
    }
    return p;
}

/* ------------------------------------------------------------ vmdesc */

static const char *vmstate_type_name(const VMStateField *field)
{
    if (field->flags & VMS_VSTRUCT) {
        return "vstruct";
    }
    if (field->flags & VMS_STRUCT) {
        return "struct";
    }
    return field->info ? field->info->name : "unknown";
}

/*
 * An array may be described once with "array_len" when every element
 * has the same shape: nothing optional inside it.
 */
static bool vmstate_can_compress(const VMStateField *field)
{
    const VMStateField *sf;

    if (field->field_exists) {
        return false;
    }
    if (field->flags & (VMS_STRUCT | VMS_VSTRUCT)) {
        if (field->vmsd->subsections) {
            return false;
        }
        for (sf = field->vmsd->fields; !(sf->flags & VMS_END); sf++) {
            if (!vmstate_can_compress(sf)) {
                return false;
            }
        }
    }
    return true;
}

/* -1 if @field's name is unique in @vmsd, else its occurrence index. */
static int vmstate_name_index(const VMStateDescription *vmsd,
                              const VMStateField *field)
{
    const VMStateField *f;
    int before = -1, total = 0;

    for (f = vmsd->fields; !(f->flags & VMS_END); f++) {
        if (!strcmp(f->name, field->name)) {
            if (f == field) {
                before = total;
            }
            total++;
        }
    }
    return total > 1 ? before : -1;
}

static void vmstate_desc_field_start(const VMStateDescription *vmsd,
                                     QJSON *vmdesc, const VMStateField *field,
                                     uint64_t i, uint64_t n, bool compress,
                                     bool is_null)
{
    int idx = vmstate_name_index(vmsd, field);

    qjson_start_object(vmdesc, NULL);
    if (idx >= 0) {
        g_autofree char *name = g_strdup_printf("%s[%d]", field->name, idx);

        qjson_str(vmdesc, "name", name);
    } else {
        qjson_str(vmdesc, "name", field->name);
    }
    if (n > 1) {
        if (compress) {
            qjson_uint(vmdesc, "array_len", n);
        } else {
            qjson_uint(vmdesc, "index", i);
        }
    }
    qjson_str(vmdesc, "type",
              is_null ? vmstate_info_nullptr.name : vmstate_type_name(field));
    if (!is_null && (field->flags & (VMS_STRUCT | VMS_VSTRUCT))) {
        qjson_start_object(vmdesc, "struct");
    }
}

static void vmstate_desc_field_end(QJSON *vmdesc, const VMStateField *field,
                                   uint64_t written, bool is_null)
{
    if (!is_null && (field->flags & (VMS_STRUCT | VMS_VSTRUCT))) {
        qjson_end_object(vmdesc);
    }
    qjson_uint(vmdesc, "size", written);
    qjson_end_object(vmdesc);
}

/* ------------------------------------------------------------ save */

static int vmstate_save_state_v(QEMUFile *f, const VMStateDescription *vmsd,
                                void *opaque, QJSON *vmdesc, int version_id,
                                Error **errp);

static int vmstate_save_field(QEMUFile *f, const VMStateDescription *vmsd,
                              const VMStateField *field, void *opaque,
                              QJSON *vmdesc, Error **errp)
{
    VMStateGeometry g;
    QJSON *loop_desc = vmdesc;
    bool compress = false;
    Error *err = NULL;
    uint64_t i;
    int ret = 0;

    if (!vmstate_geometry(opaque, field, false, &g, &err)) {
        ret = -EINVAL;
        goto fail;
    }
    trace_vmstate_save_field(vmsd->name, field->name, g.n);
    if (vmdesc) {
        compress = vmstate_can_compress(field);
        for (i = 0; compress && i < g.n; i++) {
            if ((field->flags & VMS_ARRAY_OF_POINTER) &&
                !vmstate_elem(field, &g, i)) {
                compress = false;   /* mixed runs: describe each element */
            }
        }
    }
    for (i = 0; i < g.n; i++) {
        void *curr = vmstate_elem(field, &g, i);
        bool is_null = !curr && g.size;
        uint64_t old = qemu_file_transferred(f);

        if (loop_desc) {
            vmstate_desc_field_start(vmsd, loop_desc, field, i, g.n,
                                     compress, is_null);
        }
        if (is_null) {
            ret = vmstate_info_nullptr.put(f, NULL, g.size, field, NULL,
                                           &err);
        } else if (field->flags & (VMS_STRUCT | VMS_VSTRUCT)) {
            ret = vmstate_save_state_v(f, field->vmsd, curr, loop_desc,
                                       field->vmsd->version_id, &err);
        } else if (field->info) {
            ret = field->info->put(f, curr, g.size, field, loop_desc, &err);
        } else {
            error_setg(&err, "no VMStateInfo to encode it");
            ret = -EINVAL;
        }
        if (ret < 0) {
            if (!err) {
                error_setg_errno(&err, -ret, "put failed");
            }
            goto fail_elem;
        }
        if (loop_desc) {
            vmstate_desc_field_end(loop_desc, field,
                                   qemu_file_transferred(f) - old, is_null);
            if (compress) {
                loop_desc = NULL;
            }
        }
        if (qemu_file_get_error(f)) {
            ret = qemu_file_get_error_obj(f, &err);
            goto fail_elem;
        }
    }
    return 0;

fail_elem:
    if (g.n > 1) {
        error_prepend(&err, "vmsd %s field %s[%" PRIu64 "]: ", vmsd->name,
                      field->name, i);
        return vmstate_fail(f, ret, err, errp);
    }
fail:
    error_prepend(&err, "vmsd %s field %s: ", vmsd->name, field->name);
    return vmstate_fail(f, ret, err, errp);
}

static int vmstate_subsection_save(QEMUFile *f, const VMStateDescription *vmsd,
                                   void *opaque, QJSON *vmdesc, Error **errp)
{
    const VMStateDescription * const *sub;
    bool opened = false;
    int ret;

    for (sub = vmsd->subsections; sub && *sub; sub++) {
        size_t len = strlen((*sub)->name);

        if (!vmstate_save_needed(*sub, opaque)) {
            continue;
        }
        trace_vmstate_subsection_save(vmsd->name, (*sub)->name);
        if (len > QEMU_VM_COUNTED_STRING_MAX) {
            Error *err = NULL;

            error_setg(&err, "vmsd %s: subsection name %s is longer than "
                       "255 bytes", vmsd->name, (*sub)->name);
            return vmstate_fail(f, -EINVAL, err, errp);
        }
        if (vmdesc) {
            if (!opened) {
                qjson_start_array(vmdesc, "subsections");
                opened = true;
            }
            qjson_start_object(vmdesc, NULL);
        }
        qemu_put_byte(f, QEMU_VM_SUBSECTION);
        qemu_put_counted_string(f, (*sub)->name);
        qemu_put_be32(f, (*sub)->version_id);
        ret = vmstate_save_state_v(f, *sub, opaque, vmdesc,
                                   (*sub)->version_id, errp);
        if (ret < 0) {
            return ret;
        }
        if (vmdesc) {
            qjson_end_object(vmdesc);
        }
    }
    if (opened) {
        qjson_end_array(vmdesc);
    }
    return 0;
}

static int vmstate_run_pre_save(QEMUFile *f, const VMStateDescription *vmsd,
                                void *opaque, Error **errp)
{
    Error *err = NULL;
    int ret = 0;

    if (vmsd->pre_save_errp) {
        if (!vmsd->pre_save_errp(opaque, &err)) {
            ret = -EINVAL;
        }
    } else if (vmsd->pre_save) {
        ret = vmsd->pre_save(opaque);
        if (ret < 0) {
            error_setg_errno(&err, -ret, "failed");
        }
    }
    if (ret < 0) {
        if (!err) {
            error_setg(&err, "failed");
        }
        error_prepend(&err, "vmsd %s: pre_save: ", vmsd->name);
        return vmstate_fail(f, ret, err, errp);
    }
    return 0;
}

static int vmstate_save_state_v(QEMUFile *f, const VMStateDescription *vmsd,
                                void *opaque, QJSON *vmdesc, int version_id,
                                Error **errp)
{
    const VMStateField *field;
    int ret;

    trace_vmstate_save_state(vmsd->name, version_id);
    if (vmsd->unmigratable) {
        Error *err = NULL;

        error_setg(&err, "vmsd %s: state is not migratable", vmsd->name);
        return vmstate_fail(f, -EPERM, err, errp);
    }
    ret = vmstate_run_pre_save(f, vmsd, opaque, errp);
    if (ret < 0) {
        return ret;
    }
    if (vmdesc) {
        qjson_str(vmdesc, "vmsd_name", vmsd->name);
        qjson_int(vmdesc, "version", version_id);
        qjson_start_array(vmdesc, "fields");
    }
    for (field = vmsd->fields; !(field->flags & VMS_END); field++) {
        if (!vmstate_field_exists(field, opaque, version_id)) {
            continue;
        }
        ret = vmstate_save_field(f, vmsd, field, opaque, vmdesc, errp);
        if (ret < 0) {
            goto out;
        }
    }
    if (vmdesc) {
        qjson_end_array(vmdesc);
    }
    ret = vmstate_subsection_save(f, vmsd, opaque, vmdesc, errp);
out:
    /* post_save undoes pre_save, so it runs on failure too. */
    if (vmsd->post_save) {
        int r = vmsd->post_save(opaque);

        if (r < 0 && ret == 0) {
            Error *err = NULL;

            error_setg_errno(&err, -r, "vmsd %s: post_save failed",
                             vmsd->name);
            ret = vmstate_fail(f, r, err, errp);
        }
    }
    return ret;
}

int vmstate_save_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, QJSON *vmdesc, Error **errp)
{
    return vmstate_save_state_v(f, vmsd, opaque, vmdesc, vmsd->version_id,
                                errp);
}

/* ------------------------------------------------------------ load */

static int vmstate_load_field(QEMUFile *f, const VMStateDescription *vmsd,
                              const VMStateField *field, void *opaque,
                              Error **errp)
{
    VMStateGeometry g;
    Error *err = NULL;
    uint64_t i;
    int ret = 0;

    if (!vmstate_geometry(opaque, field, true, &g, &err)) {
        ret = -EINVAL;
        goto fail;
    }
    trace_vmstate_load_field(vmsd->name, field->name, g.n);
    for (i = 0; i < g.n; i++) {
        void *curr = vmstate_elem(field, &g, i);

        if (!curr && g.size) {
            ret = vmstate_info_nullptr.get(f, NULL, g.size, field, &err);
        } else if (field->flags & VMS_STRUCT) {
            ret = vmstate_load_state(f, field->vmsd, curr,
                                     field->vmsd->version_id, &err);
        } else if (field->flags & VMS_VSTRUCT) {
            ret = vmstate_load_state(f, field->vmsd, curr,
                                     field->struct_version_id, &err);
        } else if (field->info) {
            ret = field->info->get(f, curr, g.size, field, &err);
        } else {
            error_setg(&err, "no VMStateInfo to decode it");
            ret = -EINVAL;
        }
        if (ret == 0 && qemu_file_get_error(f)) {
            /* A getter returns 0 on a short stream; the file knows. */
            ret = qemu_file_get_error_obj(f, &err);
        } else if (ret < 0 && !err) {
            error_setg_errno(&err, -ret, "get failed");
        }
        if (ret < 0) {
            if (g.n > 1) {
                error_prepend(&err, "vmsd %s field %s[%" PRIu64 "]: ",
                              vmsd->name, field->name, i);
                return vmstate_fail(f, ret, err, errp);
            }
            goto fail;
        }
    }
    return 0;

fail:
    error_prepend(&err, "vmsd %s field %s: ", vmsd->name, field->name);
    return vmstate_fail(f, ret, err, errp);
}

static const VMStateDescription *
vmstate_find_subsection(const VMStateDescription *vmsd, const char *name)
{
    const VMStateDescription * const *sub;

    for (sub = vmsd->subsections; sub && *sub; sub++) {
        if (!strcmp((*sub)->name, name)) {
            return *sub;
        }
    }
    return NULL;
}

static int vmstate_subsection_load(QEMUFile *f, const VMStateDescription *vmsd,
                                   void *opaque, Error **errp)
{
    size_t plen = strlen(vmsd->name);
    Error *err = NULL;

    while (qemu_peek_byte(f, 0) == QEMU_VM_SUBSECTION) {
        const VMStateDescription *sub;
        char name[QEMU_VM_COUNTED_STRING_MAX + 1];
        uint8_t *p;
        int len = qemu_peek_byte(f, 1);
        int version_id;
        int ret;

        if (len < 0) {
            goto truncated;
        }
        if ((size_t)len < plen + 1) {
            /* Too short for "parent/x": a subsection of an outer vmsd. */
            trace_vmstate_subsection_load_bad(vmsd->name, "short name");
            return 0;
        }
        if (qemu_peek_buffer(f, &p, len, 2) != (size_t)len) {
            goto truncated;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (strncmp(vmsd->name, name, plen) != 0) {
            trace_vmstate_subsection_load_bad(vmsd->name, "other parent");
            return 0;
        }
        sub = vmstate_find_subsection(vmsd, name);
        if (!sub) {
            error_setg(&err, "vmsd %s: unknown subsection %s", vmsd->name,
                       name);
            return vmstate_fail(f, -ENOENT, err, errp);
        }
        qemu_file_skip(f, 2 + len);
        version_id = qemu_get_be32(f);
        ret = qemu_file_get_error_obj(f, &err);
        if (ret < 0) {
            error_prepend(&err, "vmsd %s: subsection %s: ", vmsd->name, name);
            return vmstate_fail(f, ret, err, errp);
        }
        trace_vmstate_subsection_load(vmsd->name, name, version_id);
        ret = vmstate_load_state(f, sub, opaque, version_id, errp);
        if (ret < 0) {
            return ret;
        }
    }
    /* Not a subsection: either the next record, the end, or an error. */
    if (qemu_file_get_error_obj(f, &err) < 0) {
        error_prepend(&err, "vmsd %s: ", vmsd->name);
        return vmstate_fail(f, qemu_file_get_error(f), err, errp);
    }
    return 0;

truncated:
    if (qemu_file_get_error_obj(f, &err) == 0) {
        error_setg(&err, "stream ends inside a subsection header at offset %"
                   PRIu64, qemu_file_transferred(f));
    }
    error_prepend(&err, "vmsd %s: ", vmsd->name);
    return vmstate_fail(f, -EIO, err, errp);
}

static int vmstate_run_pre_load(QEMUFile *f, const VMStateDescription *vmsd,
                                void *opaque, Error **errp)
{
    Error *err = NULL;
    int ret = 0;

    if (vmsd->pre_load_errp) {
        if (!vmsd->pre_load_errp(opaque, &err)) {
            ret = -EINVAL;
        }
    } else if (vmsd->pre_load) {
        ret = vmsd->pre_load(opaque);
        if (ret < 0) {
            error_setg_errno(&err, -ret, "failed");
        }
    }
    if (ret < 0) {
        if (!err) {
            error_setg(&err, "failed");
        }
        error_prepend(&err, "vmsd %s: pre_load: ", vmsd->name);
        return vmstate_fail(f, ret, err, errp);
    }
    return 0;
}

static int vmstate_run_post_load(QEMUFile *f, const VMStateDescription *vmsd,
                                 void *opaque, int version_id, Error **errp)
{
    Error *err = NULL;
    int ret = 0;

    if (vmsd->post_load_errp) {
        if (!vmsd->post_load_errp(opaque, version_id, &err)) {
            ret = -EINVAL;
        }
    } else if (vmsd->post_load) {
        ret = vmsd->post_load(opaque, version_id);
        if (ret < 0) {
            error_setg_errno(&err, -ret, "failed");
        }
    }
    if (ret < 0) {
        if (!err) {
            error_setg(&err, "failed");
        }
        error_prepend(&err, "vmsd %s: post_load: ", vmsd->name);
        return vmstate_fail(f, ret, err, errp);
    }
    return 0;
}

int vmstate_load_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, int version_id, Error **errp)
{
    const VMStateField *field;
    Error *err = NULL;
    int ret;

    trace_vmstate_load_state(vmsd->name, version_id);
    if (version_id > vmsd->version_id ||
        version_id < vmsd->minimum_version_id) {
        error_setg(&err, "vmsd %s: version %d not supported (min %d, max %d)",
                   vmsd->name, version_id, vmsd->minimum_version_id,
                   vmsd->version_id);
        return vmstate_fail(f, -EINVAL, err, errp);
    }
    ret = vmstate_run_pre_load(f, vmsd, opaque, errp);
    if (ret < 0) {
        return ret;
    }
    for (field = vmsd->fields; !(field->flags & VMS_END); field++) {
        if (vmstate_field_exists(field, opaque, version_id)) {
            ret = vmstate_load_field(f, vmsd, field, opaque, errp);
            if (ret < 0) {
                return ret;
            }
        } else if (field->flags & VMS_MUST_EXIST) {
            error_setg(&err, "vmsd %s: check %s failed", vmsd->name,
                       field->name);
            return vmstate_fail(f, -EINVAL, err, errp);
        }
    }
    ret = vmstate_subsection_load(f, vmsd, opaque, errp);
    if (ret < 0) {
        return ret;
    }
    ret = vmstate_run_post_load(f, vmsd, opaque, version_id, errp);
    trace_vmstate_load_state_end(vmsd->name, ret);
    return ret;
}
