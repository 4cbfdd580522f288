/*
 * VMState: describe device state as a table, and let the engine save it
 * to and load it from the migration stream.
 *
 * The encoding is QEMU's (docs/devel/migration/vmstate.rst has the byte
 * layout): fields in declaration order, big-endian, no tags and no
 * lengths, then the subsections that are needed.  A description that
 * changes the bytes on the wire needs a new version_id or, better, a
 * subsection.
 *
 * Godwit's loader trusts nothing in the stream: the version of every vmsd
 * is checked against [minimum_version_id, version_id], every count and
 * size taken from the stream (a VARRAY count or a VBUFFER size loaded into
 * an earlier field) is checked against the field's .max bound when it has
 * one, against overflow always, and every failure is an Error that names
 * the vmsd and the field.
 *
 * Hooks (pre_save, post_load, ...) run in the thread that saves or loads
 * device state, with the BQL held.
 */
#ifndef MIGRATION_VMSTATE_H
#define MIGRATION_VMSTATE_H

typedef struct QEMUFile QEMUFile;
typedef struct QJSON QJSON;
typedef struct VMStateInfo VMStateInfo;
typedef struct VMStateField VMStateField;
typedef struct VMStateDescription VMStateDescription;

/*
 * How one element of a field is encoded.  get and put return 0 or -errno
 * and set @errp on failure (the engine adds the vmsd and field names).
 * @size is the size of one element in memory; @field may be NULL.
 * put may add keys to @vmdesc (NULL when no description is written).
 */
struct VMStateInfo {
    const char *name;   /* the "type" of the field in the vmdesc JSON */
    int (*get)(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
               Error **errp);
    int (*put)(QEMUFile *f, void *pv, size_t size, const VMStateField *field,
               QJSON *vmdesc, Error **errp);
};

/* The wire values of these flags never matter; they equal QEMU's. */
enum VMStateFlags {
    VMS_SINGLE            = 0x001,   /* one element */
    VMS_POINTER           = 0x002,   /* the field is a pointer: follow it */
    VMS_ARRAY             = 0x004,   /* .num elements */
    VMS_STRUCT            = 0x008,   /* element is described by .vmsd */
    VMS_VARRAY_INT32      = 0x010,   /* count in the int32_t at .num_offset */
    VMS_BUFFER            = 0x020,   /* .size raw bytes */
    VMS_ARRAY_OF_POINTER  = 0x040,   /* elements are pointers to follow */
    VMS_VARRAY_UINT16     = 0x080,   /* count in the uint16_t at .num_offset */
    VMS_VBUFFER           = 0x100,   /* size in the int32_t at .size_offset */
    VMS_MULTIPLY          = 0x200,   /* VBUFFER size is multiplied by .size */
    VMS_VARRAY_UINT8      = 0x400,   /* count in the uint8_t at .num_offset */
    VMS_VARRAY_UINT32     = 0x800,   /* count in the uint32_t at .num_offset */
    VMS_MUST_EXIST        = 0x1000,  /* .field_exists false is an error */
    VMS_ALLOC             = 0x2000,  /* allocate the pointer on load */
    VMS_MULTIPLY_ELEMENTS = 0x4000,  /* count is multiplied by .num */
    VMS_VSTRUCT           = 0x8000,  /* struct at .struct_version_id */
    VMS_END               = 0x10000, /* terminates the field list */
};

struct VMStateField {
    const char *name;
    const char *err_hint;          /* appended to a mismatch error */
    size_t offset;                 /* of the field in the struct */
    size_t size;                   /* of one element */
    int num;                       /* VMS_ARRAY / MULTIPLY_ELEMENTS count */
    size_t num_offset;             /* VARRAY: where the count lives */
    size_t size_offset;            /* VBUFFER: where the size lives */
    const VMStateInfo *info;
    enum VMStateFlags flags;
    const VMStateDescription *vmsd;   /* VMS_STRUCT / VMS_VSTRUCT */
    int version_id;                /* first version with this field */
    int struct_version_id;         /* VMS_VSTRUCT */
    /* Overrides version_id when set: does the field exist in this stream? */
    bool (*field_exists)(void *opaque, int version_id);
    /*
     * Godwit: the largest element count (VARRAY) or byte size (VBUFFER)
     * the loader accepts; 0 means no bound beyond overflow checks.  The
     * in-struct VARRAY macros set it to the array's length.
     */
    uint32_t max;
};

struct VMStateDescription {
    const char *name;
    bool unmigratable;             /* saving it fails the migration */
    int version_id;                /* written, and the newest loadable */
    int minimum_version_id;        /* the oldest loadable */
    /*
     * Hooks; the int ones return 0 or -errno, the _errp ones true or false
     * with @errp set.  Set at most one of each pair.
     */
    int (*pre_load)(void *opaque);
    bool (*pre_load_errp)(void *opaque, Error **errp);
    int (*post_load)(void *opaque, int version_id);
    bool (*post_load_errp)(void *opaque, int version_id, Error **errp);
    int (*pre_save)(void *opaque);
    bool (*pre_save_errp)(void *opaque, Error **errp);
    int (*post_save)(void *opaque);
    /* Subsection or section is sent only when this returns true. */
    bool (*needed)(void *opaque);
    const VMStateField *fields;    /* ends with VMSTATE_END_OF_LIST() */
    /* NULL-terminated; each name must start with this vmsd's name. */
    const VMStateDescription * const *subsections;
};

/* ---------------------------------------------------------------- API */

/*
 * Write @opaque as described by @vmsd at vmsd->version_id, and its
 * description into @vmdesc (which may be NULL; the caller has opened the
 * object the keys go into).  Returns 0 or -errno with @errp set.
 */
int vmstate_save_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, QJSON *vmdesc, Error **errp);
/*
 * Read @opaque as described by @vmsd from a stream written at
 * @version_id.  Returns 0 or -errno with @errp set; on failure @opaque may
 * be partially loaded and the stream position is undefined.
 */
int vmstate_load_state(QEMUFile *f, const VMStateDescription *vmsd,
                       void *opaque, int version_id, Error **errp);
/* True when @vmsd has no .needed hook or it returns true. */
bool vmstate_save_needed(const VMStateDescription *vmsd, void *opaque);

/* ---------------------------------------------------------------- infos */

extern const VMStateInfo vmstate_info_bool;
extern const VMStateInfo vmstate_info_int8;
extern const VMStateInfo vmstate_info_int16;
extern const VMStateInfo vmstate_info_int32;
extern const VMStateInfo vmstate_info_int64;
extern const VMStateInfo vmstate_info_uint8;
extern const VMStateInfo vmstate_info_uint16;
extern const VMStateInfo vmstate_info_uint32;
extern const VMStateInfo vmstate_info_uint64;
/* Load only if equal to the local value ("uint8 equal", ...). */
extern const VMStateInfo vmstate_info_uint8_equal;
extern const VMStateInfo vmstate_info_uint16_equal;
extern const VMStateInfo vmstate_info_uint32_equal;
extern const VMStateInfo vmstate_info_int32_equal;
extern const VMStateInfo vmstate_info_uint64_equal;   /* "int64 equal" */
/* Load only 0 <= value <= the local value ("int32 le"). */
extern const VMStateInfo vmstate_info_int32_le;
extern const VMStateInfo vmstate_info_buffer;
extern const VMStateInfo vmstate_info_unused_buffer;
extern const VMStateInfo vmstate_info_nullptr;
/* .size bits, as ceil(bits / 64) be64 words. */
extern const VMStateInfo vmstate_info_bitmap;

/* ---------------------------------------------------------------- macros */

/* Compile-time check that the field has type t2 (pointer subtraction). */
#define vmstate_type_check(t1, t2) \
    (0 * sizeof((typeof(t1) *)0 - (typeof(t2) *)0))
#define vmstate_typeof_field(_state, _field) typeof(((_state *)0)->_field)
#define vmstate_sizeof_field(_state, _field) sizeof(((_state *)0)->_field)
#define vmstate_array_len(_state, _field) \
    (sizeof(((_state *)0)->_field) / sizeof(((_state *)0)->_field[0]))

#define vmstate_offset_value(_state, _field, _type)                       \
    (offsetof(_state, _field) +                                          \
     vmstate_type_check(_type, vmstate_typeof_field(_state, _field)))
#define vmstate_offset_pointer(_state, _field, _type)                     \
    (offsetof(_state, _field) +                                          \
     vmstate_type_check(_type *, vmstate_typeof_field(_state, _field)))
#define vmstate_offset_array(_state, _field, _type, _num)                 \
    (offsetof(_state, _field) +                                          \
     vmstate_type_check(_type[_num], vmstate_typeof_field(_state, _field)))
#define vmstate_offset_buffer(_state, _field)                             \
    vmstate_offset_array(_state, _field, uint8_t,                        \
                         vmstate_sizeof_field(_state, _field))

#define VMSTATE_SINGLE_TEST(_field, _state, _test, _version, _info, _type) { \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .field_exists = (_test),                                             \
    .size = sizeof(_type),                                               \
    .info = &(_info),                                                    \
    .flags = VMS_SINGLE,                                                 \
    .offset = vmstate_offset_value(_state, _field, _type),               \
}

#define VMSTATE_SINGLE(_field, _state, _version, _info, _type)            \
    VMSTATE_SINGLE_TEST(_field, _state, NULL, _version, _info, _type)

#ifndef stringify
#define stringify(s) tostring(s)
#define tostring(s) #s
#endif

#define VMSTATE_BOOL_V(_f, _s, _v)   VMSTATE_SINGLE(_f, _s, _v, vmstate_info_bool, bool)
#define VMSTATE_INT8_V(_f, _s, _v)   VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int8, int8_t)
#define VMSTATE_INT16_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int16, int16_t)
#define VMSTATE_INT32_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int32, int32_t)
#define VMSTATE_INT64_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_int64, int64_t)
#define VMSTATE_UINT8_V(_f, _s, _v)  VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_V(_f, _s, _v) VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_V(_f, _s, _v) VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_V(_f, _s, _v) VMSTATE_SINGLE(_f, _s, _v, vmstate_info_uint64, uint64_t)

#define VMSTATE_BOOL(_f, _s)   VMSTATE_BOOL_V(_f, _s, 0)
#define VMSTATE_INT8(_f, _s)   VMSTATE_INT8_V(_f, _s, 0)
#define VMSTATE_INT16(_f, _s)  VMSTATE_INT16_V(_f, _s, 0)
#define VMSTATE_INT32(_f, _s)  VMSTATE_INT32_V(_f, _s, 0)
#define VMSTATE_INT64(_f, _s)  VMSTATE_INT64_V(_f, _s, 0)
#define VMSTATE_UINT8(_f, _s)  VMSTATE_UINT8_V(_f, _s, 0)
#define VMSTATE_UINT16(_f, _s) VMSTATE_UINT16_V(_f, _s, 0)
#define VMSTATE_UINT32(_f, _s) VMSTATE_UINT32_V(_f, _s, 0)
#define VMSTATE_UINT64(_f, _s) VMSTATE_UINT64_V(_f, _s, 0)

#define VMSTATE_UINT32_TEST(_f, _s, _t) \
    VMSTATE_SINGLE_TEST(_f, _s, _t, 0, vmstate_info_uint32, uint32_t)

#define VMSTATE_SINGLE_HINT(_f, _s, _info, _type, _hint) {                \
    .name = (stringify(_f)),                                             \
    .err_hint = (_hint),                                                 \
    .size = sizeof(_type),                                               \
    .info = &(_info),                                                    \
    .flags = VMS_SINGLE,                                                 \
    .offset = vmstate_offset_value(_s, _f, _type),                       \
}
#define VMSTATE_UINT8_EQUAL(_f, _s, _hint) \
    VMSTATE_SINGLE_HINT(_f, _s, vmstate_info_uint8_equal, uint8_t, _hint)
#define VMSTATE_UINT16_EQUAL(_f, _s, _hint) \
    VMSTATE_SINGLE_HINT(_f, _s, vmstate_info_uint16_equal, uint16_t, _hint)
#define VMSTATE_UINT32_EQUAL(_f, _s, _hint) \
    VMSTATE_SINGLE_HINT(_f, _s, vmstate_info_uint32_equal, uint32_t, _hint)
#define VMSTATE_UINT64_EQUAL(_f, _s, _hint) \
    VMSTATE_SINGLE_HINT(_f, _s, vmstate_info_uint64_equal, uint64_t, _hint)
#define VMSTATE_INT32_EQUAL(_f, _s, _hint) \
    VMSTATE_SINGLE_HINT(_f, _s, vmstate_info_int32_equal, int32_t, _hint)
#define VMSTATE_INT32_POSITIVE_LE(_f, _s) \
    VMSTATE_SINGLE_HINT(_f, _s, vmstate_info_int32_le, int32_t, NULL)

/* A pointer to one element (the pointer itself is not sent). */
#define VMSTATE_POINTER(_field, _state, _version, _info, _type) {         \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .size = sizeof(_type),                                               \
    .info = &(_info),                                                    \
    .flags = VMS_SINGLE | VMS_POINTER,                                   \
    .offset = vmstate_offset_pointer(_state, _field, _type),             \
}

/* ---- fixed arrays ---- */

#define VMSTATE_ARRAY(_field, _state, _num, _version, _info, _type) {     \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .num = (_num),                                                       \
    .info = &(_info),                                                    \
    .size = sizeof(_type),                                               \
    .flags = VMS_ARRAY,                                                  \
    .offset = vmstate_offset_array(_state, _field, _type, _num),         \
}

#define VMSTATE_BOOL_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_bool, bool)
#define VMSTATE_UINT8_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint8, uint8_t)
#define VMSTATE_UINT16_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint16, uint16_t)
#define VMSTATE_UINT32_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint32, uint32_t)
#define VMSTATE_UINT64_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_uint64, uint64_t)
#define VMSTATE_INT32_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_int32, int32_t)
#define VMSTATE_INT64_ARRAY_V(_f, _s, _n, _v) \
    VMSTATE_ARRAY(_f, _s, _n, _v, vmstate_info_int64, int64_t)

#define VMSTATE_BOOL_ARRAY(_f, _s, _n)   VMSTATE_BOOL_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT8_ARRAY(_f, _s, _n)  VMSTATE_UINT8_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT16_ARRAY(_f, _s, _n) VMSTATE_UINT16_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT32_ARRAY(_f, _s, _n) VMSTATE_UINT32_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_UINT64_ARRAY(_f, _s, _n) VMSTATE_UINT64_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_INT32_ARRAY(_f, _s, _n)  VMSTATE_INT32_ARRAY_V(_f, _s, _n, 0)
#define VMSTATE_INT64_ARRAY(_f, _s, _n)  VMSTATE_INT64_ARRAY_V(_f, _s, _n, 0)

/* An array of _num pointers to _type; NULL elements are sent as '0'. */
#define VMSTATE_ARRAY_OF_POINTER(_field, _state, _num, _version, _info, _type) { \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .num = (_num),                                                       \
    .info = &(_info),                                                    \
    .size = sizeof(_type),                                               \
    .flags = VMS_ARRAY | VMS_ARRAY_OF_POINTER,                           \
    .offset = vmstate_offset_array(_state, _field, _type *, _num),       \
}

/* ---- variable arrays ---- */

/*
 * In-struct array _type _field[N] whose used length is in the integer
 * field _field_num (loaded before it).  The loader rejects a count above
 * N.  _count_flag is one of VMS_VARRAY_INT32/UINT32/UINT16/UINT8.
 */
#define VMSTATE_VARRAY_IN_ARRAY(_field, _state, _field_num, _count_flag,   \
                                _version, _info, _type) {                \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .num_offset = offsetof(_state, _field_num),                          \
    .info = &(_info),                                                    \
    .size = sizeof(_type),                                               \
    .flags = (_count_flag),                                              \
    .max = vmstate_array_len(_state, _field),                            \
    .offset = offsetof(_state, _field) +                                 \
              vmstate_type_check(_type, typeof(((_state *)0)->_field[0])), \
}

/*
 * _type *_field, pointing at memory the device allocated, with the count
 * in _field_num.  _max bounds the count (0: none; then the device must
 * check _field_num itself, e.g. with VMSTATE_VALIDATE before this field).
 */
#define VMSTATE_VARRAY_POINTER(_field, _state, _field_num, _count_flag,    \
                               _max, _version, _info, _type) {           \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .num_offset = offsetof(_state, _field_num),                          \
    .info = &(_info),                                                    \
    .size = sizeof(_type),                                               \
    .flags = (_count_flag) | VMS_POINTER,                                \
    .max = (_max),                                                       \
    .offset = vmstate_offset_pointer(_state, _field, _type),             \
}

#define VMSTATE_VARRAY_INT32(_f, _s, _fnum, _v, _info, _type) \
    VMSTATE_VARRAY_POINTER(_f, _s, _fnum, VMS_VARRAY_INT32, 0, _v, _info, _type)
#define VMSTATE_VARRAY_UINT32(_f, _s, _fnum, _v, _info, _type) \
    VMSTATE_VARRAY_POINTER(_f, _s, _fnum, VMS_VARRAY_UINT32, 0, _v, _info, _type)
#define VMSTATE_VARRAY_UINT16(_f, _s, _fnum, _v, _info, _type) \
    VMSTATE_VARRAY_POINTER(_f, _s, _fnum, VMS_VARRAY_UINT16, 0, _v, _info, _type)
#define VMSTATE_VARRAY_UINT32_BOUNDED(_f, _s, _fnum, _max, _v, _info, _type) \
    VMSTATE_VARRAY_POINTER(_f, _s, _fnum, VMS_VARRAY_UINT32, _max, _v, _info, _type)

/*
 * As VMSTATE_VARRAY_UINT32, but the loader allocates the array (g_malloc;
 * a previous non-NULL pointer is g_free'd, so it must be g_malloc'd or
 * NULL).  _max bounds the count (0: only overflow checks).
 */
#define VMSTATE_VARRAY_UINT32_ALLOC(_f, _s, _fnum, _max, _v, _info, _type) { \
    .name = (stringify(_f)),                                             \
    .version_id = (_v),                                                  \
    .num_offset = offsetof(_s, _fnum),                                   \
    .info = &(_info),                                                    \
    .size = sizeof(_type),                                               \
    .flags = VMS_VARRAY_UINT32 | VMS_POINTER | VMS_ALLOC,                \
    .max = (_max),                                                       \
    .offset = vmstate_offset_pointer(_s, _f, _type),                     \
}

/* ---- buffers ---- */

/* An in-struct byte array sent whole. */
#define VMSTATE_BUFFER_V(_f, _s, _v) {                                    \
    .name = (stringify(_f)),                                             \
    .version_id = (_v),                                                  \
    .size = vmstate_sizeof_field(_s, _f),                                \
    .info = &vmstate_info_buffer,                                        \
    .flags = VMS_BUFFER,                                                 \
    .offset = vmstate_offset_buffer(_s, _f),                             \
}
#define VMSTATE_BUFFER(_f, _s) VMSTATE_BUFFER_V(_f, _s, 0)

/*
 * uint8_t *_field with its length in the uint32_t _field_size, which the
 * loader bounds by _max (0: none, the buffer must then be big enough for
 * any value the device lets through).
 */
#define VMSTATE_VBUFFER_UINT32_BOUNDED(_field, _state, _version, _test,    \
                                       _field_size, _max) {              \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .field_exists = (_test),                                             \
    .size_offset = vmstate_offset_value(_state, _field_size, uint32_t),  \
    .info = &vmstate_info_buffer,                                        \
    .flags = VMS_VBUFFER | VMS_POINTER,                                  \
    .max = (_max),                                                       \
    .offset = offsetof(_state, _field),                                  \
}
#define VMSTATE_VBUFFER_UINT32(_f, _s, _v, _test, _fsize) \
    VMSTATE_VBUFFER_UINT32_BOUNDED(_f, _s, _v, _test, _fsize, 0)
/* As above, allocated by the loader (see VMSTATE_VARRAY_UINT32_ALLOC). */
#define VMSTATE_VBUFFER_ALLOC_UINT32(_field, _state, _version, _test,      \
                                     _field_size, _max) {                \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .field_exists = (_test),                                             \
    .size_offset = vmstate_offset_value(_state, _field_size, uint32_t),  \
    .info = &vmstate_info_buffer,                                        \
    .flags = VMS_VBUFFER | VMS_POINTER | VMS_ALLOC,                      \
    .max = (_max),                                                       \
    .offset = offsetof(_state, _field),                                  \
}

/* ---- structs ---- */

#define VMSTATE_STRUCT_TEST(_field, _state, _test, _version, _vmsd, _type) { \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .field_exists = (_test),                                             \
    .vmsd = &(_vmsd),                                                    \
    .size = sizeof(_type),                                               \
    .flags = VMS_STRUCT,                                                 \
    .offset = vmstate_offset_value(_state, _field, _type),               \
}
#define VMSTATE_STRUCT(_f, _s, _v, _vmsd, _type) \
    VMSTATE_STRUCT_TEST(_f, _s, NULL, _v, _vmsd, _type)

#define VMSTATE_STRUCT_POINTER_V(_field, _state, _version, _vmsd, _type) { \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .vmsd = &(_vmsd),                                                    \
    .size = sizeof(_type),                                               \
    .flags = VMS_STRUCT | VMS_POINTER,                                   \
    .offset = vmstate_offset_pointer(_state, _field, _type),             \
}
#define VMSTATE_STRUCT_POINTER(_f, _s, _vmsd, _type) \
    VMSTATE_STRUCT_POINTER_V(_f, _s, 0, _vmsd, _type)

#define VMSTATE_STRUCT_ARRAY(_field, _state, _num, _version, _vmsd, _type) { \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .num = (_num),                                                       \
    .vmsd = &(_vmsd),                                                    \
    .size = sizeof(_type),                                               \
    .flags = VMS_STRUCT | VMS_ARRAY,                                     \
    .offset = vmstate_offset_array(_state, _field, _type, _num),         \
}

/* In-struct array of structs with the used count in a uint32_t. */
#define VMSTATE_STRUCT_VARRAY_UINT32(_field, _state, _field_num, _version, \
                                     _vmsd, _type) {                     \
    .name = (stringify(_field)),                                         \
    .version_id = (_version),                                            \
    .num_offset = vmstate_offset_value(_state, _field_num, uint32_t),    \
    .vmsd = &(_vmsd),                                                    \
    .size = sizeof(_type),                                               \
    .flags = VMS_STRUCT | VMS_VARRAY_UINT32,                             \
    .max = vmstate_array_len(_state, _field),                            \
    .offset = offsetof(_state, _field) +                                 \
              vmstate_type_check(_type, typeof(((_state *)0)->_field[0])), \
}

/* ---- padding, checks, end ---- */

/* _size bytes sent as zeros and skipped on load (a removed field). */
#define VMSTATE_UNUSED_V(_v, _size) {                                     \
    .name = "unused",                                                    \
    .version_id = (_v),                                                  \
    .size = (_size),                                                     \
    .info = &vmstate_info_unused_buffer,                                 \
    .flags = VMS_BUFFER,                                                 \
}
#define VMSTATE_UNUSED(_size) VMSTATE_UNUSED_V(0, _size)

/*
 * Nothing on the wire: on load, fail with "_name" unless
 * _f(opaque, version_id) is true.  Put it after the fields it checks.
 */
#define VMSTATE_VALIDATE(_name, _f) {                                     \
    .name = (_name),                                                     \
    .field_exists = (_f),                                                \
    .flags = VMS_ARRAY | VMS_MUST_EXIST,                                 \
    .num = 0,                                                            \
}

#define VMSTATE_END_OF_LIST() { .flags = VMS_END }

#endif
