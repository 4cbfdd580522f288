/*
 * The standard VMStateInfo types: how one element is put on the wire.
 *
 * Integers are big-endian of their own width; bool is one byte 0 or 1.
 * Getters that validate (bool, *_equal, int32_le) report the received
 * and the local value; the engine adds the vmsd and field names.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/qemu-file.h"
#include "migration/vmstate.h"
#include "migration/wire.h"

/* ---- bool ---- */

static int get_bool(QEMUFile *f, void *pv, size_t size,
                    const VMStateField *field, Error **errp)
{
    int v = qemu_get_byte(f);

    if (qemu_file_get_error(f)) {
        return 0;   /* the engine reports the stream error */
    }
    if (v > 1) {
        error_setg(errp, "invalid bool value 0x%x", v);
        return -EINVAL;
    }
    *(bool *)pv = v;
    return 0;
}

static int put_bool(QEMUFile *f, void *pv, size_t size,
                    const VMStateField *field, QJSON *vmdesc, Error **errp)
{
    qemu_put_byte(f, *(bool *)pv);
    return 0;
}

const VMStateInfo vmstate_info_bool = {
    .name = "bool",
    .get = get_bool,
    .put = put_bool,
};

/* ---- plain integers ---- */

#define VMSTATE_INT_INFO(_name, _type, _get, _put)                        \
static int get_##_name(QEMUFile *f, void *pv, size_t size,               \
                       const VMStateField *field, Error **errp)          \
{                                                                        \
    *(_type *)pv = (_type)_get(f);                                       \
    return 0;                                                            \
}                                                                        \
static int put_##_name(QEMUFile *f, void *pv, size_t size,               \
                       const VMStateField *field, QJSON *vmdesc,         \
                       Error **errp)                                     \
{                                                                        \
    _put(f, *(_type *)pv);                                               \
    return 0;                                                            \
}                                                                        \
const VMStateInfo vmstate_info_##_name = {                               \
    .name = #_name,                                                      \
    .get = get_##_name,                                                  \
    .put = put_##_name,                                                  \
}

VMSTATE_INT_INFO(int8, int8_t, qemu_get_byte, qemu_put_byte);
VMSTATE_INT_INFO(int16, int16_t, qemu_get_be16, qemu_put_be16);
VMSTATE_INT_INFO(int32, int32_t, qemu_get_be32, qemu_put_be32);
VMSTATE_INT_INFO(int64, int64_t, qemu_get_be64, qemu_put_be64);
VMSTATE_INT_INFO(uint8, uint8_t, qemu_get_byte, qemu_put_byte);
VMSTATE_INT_INFO(uint16, uint16_t, qemu_get_be16, qemu_put_be16);
VMSTATE_INT_INFO(uint32, uint32_t, qemu_get_be32, qemu_put_be32);
VMSTATE_INT_INFO(uint64, uint64_t, qemu_get_be64, qemu_put_be64);

/* ---- integers that must match the destination's value ---- */

static void set_mismatch(Error **errp, const VMStateField *field,
                         uint64_t got, uint64_t local)
{
    error_setg(errp, "received 0x%" PRIx64 " but the destination has 0x%"
               PRIx64, got, local);
    if (field && field->err_hint) {
        error_append_hint(errp, "%s\n", field->err_hint);
    }
}

#define VMSTATE_EQUAL_INFO(_name, _wire_name, _type, _get, _put)          \
static int get_##_name(QEMUFile *f, void *pv, size_t size,               \
                       const VMStateField *field, Error **errp)          \
{                                                                        \
    _type v = (_type)_get(f);                                            \
                                                                         \
    if (qemu_file_get_error(f)) {                                        \
        return 0;                                                        \
    }                                                                    \
    if (v != *(_type *)pv) {                                             \
        set_mismatch(errp, field, (uint64_t)v, (uint64_t)*(_type *)pv);  \
        return -EINVAL;                                                  \
    }                                                                    \
    return 0;                                                            \
}                                                                        \
const VMStateInfo vmstate_info_##_name = {                               \
    .name = _wire_name,                                                  \
    .get = get_##_name,                                                  \
    .put = _put,                                                         \
}

VMSTATE_EQUAL_INFO(uint8_equal, "uint8 equal", uint8_t, qemu_get_byte,
                   put_uint8);
VMSTATE_EQUAL_INFO(uint16_equal, "uint16 equal", uint16_t, qemu_get_be16,
                   put_uint16);
VMSTATE_EQUAL_INFO(uint32_equal, "uint32 equal", uint32_t, qemu_get_be32,
                   put_uint32);
VMSTATE_EQUAL_INFO(int32_equal, "int32 equal", int32_t, qemu_get_be32,
                   put_int32);
/* QEMU names the uint64 variant "int64 equal"; the name is on the wire. */
VMSTATE_EQUAL_INFO(uint64_equal, "int64 equal", uint64_t, qemu_get_be64,
                   put_uint64);

/* Accept 0 <= received <= local, and take the received value. */
static int get_int32_le(QEMUFile *f, void *pv, size_t size,
                        const VMStateField *field, Error **errp)
{
    int32_t *cur = pv;
    int32_t v = qemu_get_be32(f);

    if (qemu_file_get_error(f)) {
        return 0;
    }
    if (v < 0 || v > *cur) {
        error_setg(errp, "received %" PRId32 " is outside 0..%" PRId32,
                   v, *cur);
        return -EINVAL;
    }
    *cur = v;
    return 0;
}

const VMStateInfo vmstate_info_int32_le = {
    .name = "int32 le",
    .get = get_int32_le,
    .put = put_int32,
};

/* ---- byte buffers ---- */

static int get_buffer(QEMUFile *f, void *pv, size_t size,
                      const VMStateField *field, Error **errp)
{
    qemu_get_buffer(f, pv, size);
    return 0;
}

static int put_buffer(QEMUFile *f, void *pv, size_t size,
                      const VMStateField *field, QJSON *vmdesc, Error **errp)
{
    qemu_put_buffer(f, pv, size);
    return 0;
}

const VMStateInfo vmstate_info_buffer = {
    .name = "buffer",
    .get = get_buffer,
    .put = put_buffer,
};

static int get_unused_buffer(QEMUFile *f, void *pv, size_t size,
                             const VMStateField *field, Error **errp)
{
    uint8_t *p;

    while (size > 0 && !qemu_file_get_error(f)) {
        size_t chunk = MIN(size, QEMU_FILE_BUF_SIZE);

        qemu_get_buffer_in_place(f, &p, chunk);
        size -= chunk;
    }
    return 0;
}

static int put_unused_buffer(QEMUFile *f, void *pv, size_t size,
                             const VMStateField *field, QJSON *vmdesc,
                             Error **errp)
{
    static const uint8_t zeros[256];

    while (size > 0) {
        size_t chunk = MIN(size, sizeof(zeros));

        qemu_put_buffer(f, zeros, chunk);
        size -= chunk;
    }
    return 0;
}

const VMStateInfo vmstate_info_unused_buffer = {
    .name = "unused_buffer",
    .get = get_unused_buffer,
    .put = put_unused_buffer,
};

/* ---- NULL element of an array of pointers ---- */

static int get_nullptr(QEMUFile *f, void *pv, size_t size,
                       const VMStateField *field, Error **errp)
{
    int v = qemu_get_byte(f);

    if (qemu_file_get_error(f)) {
        return 0;
    }
    if (v != VMS_NULLPTR_MARKER) {
        error_setg(errp, "expected the NULL pointer marker 0x%x, got 0x%x",
                   VMS_NULLPTR_MARKER, v);
        return -EINVAL;
    }
    return 0;
}

static int put_nullptr(QEMUFile *f, void *pv, size_t size,
                       const VMStateField *field, QJSON *vmdesc, Error **errp)
{
    if (pv) {
        error_setg(errp, "only a NULL pointer can be sent as nullptr");
        return -EINVAL;
    }
    qemu_put_byte(f, VMS_NULLPTR_MARKER);
    return 0;
}

const VMStateInfo vmstate_info_nullptr = {
    .name = "nullptr",
    .get = get_nullptr,
    .put = put_nullptr,
};

/* ---- bitmap: @size bits as be64 words, bit i of word i / 64 ---- */

static int get_bitmap(QEMUFile *f, void *pv, size_t size,
                      const VMStateField *field, Error **errp)
{
    unsigned long *bmp = pv;
    size_t words = DIV_ROUND_UP(size, 64);
    size_t i, j;

    for (i = 0; i < words; i++) {
        uint64_t w = qemu_get_be64(f);

        for (j = 0; j < 64 && i * 64 + j < size; j++) {
            size_t bit = i * 64 + j;
            unsigned long mask = 1UL << (bit % (8 * sizeof(long)));

            if (w & (1ULL << j)) {
                bmp[bit / (8 * sizeof(long))] |= mask;
            } else {
                bmp[bit / (8 * sizeof(long))] &= ~mask;
            }
        }
    }
    return 0;
}

static int put_bitmap(QEMUFile *f, void *pv, size_t size,
                      const VMStateField *field, QJSON *vmdesc, Error **errp)
{
    const unsigned long *bmp = pv;
    size_t words = DIV_ROUND_UP(size, 64);
    size_t i, j;

    for (i = 0; i < words; i++) {
        uint64_t w = 0;

        for (j = 0; j < 64 && i * 64 + j < size; j++) {
            size_t bit = i * 64 + j;

            if (bmp[bit / (8 * sizeof(long))] &
                (1UL << (bit % (8 * sizeof(long))))) {
                w |= 1ULL << j;
            }
        }
        qemu_put_be64(f, w);
    }
    return 0;
}

const VMStateInfo vmstate_info_bitmap = {
    .name = "bitmap",
    .get = get_bitmap,
    .put = put_bitmap,
};
