/*
 * Unit tests for the VMState engine: golden streams with one comment per
 * field, the matching VMDESCRIPTION JSON, and a loader that rejects every
 * truncated, out-of-range or unknown input with an error naming the vmsd.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-buffer.h"
#include "migration/qemu-file.h"
#include "migration/qjson.h"
#include "migration/vmstate.h"
#include "migration/wire.h"

/* ------------------------------------------------------------ helpers */

/* Save @opaque; returns the bytes (and the JSON in *@json if non-NULL). */
static GByteArray *save(const VMStateDescription *vmsd, void *opaque,
                        char **json)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(256);
    QEMUFile *f = qemu_file_new_output(QIO_CHANNEL(bioc));
    QJSON *vmdesc = json ? qjson_new() : NULL;
    GByteArray *out = g_byte_array_new();

    if (vmdesc) {
        qjson_start_object(vmdesc, NULL);
    }
    g_assert_cmpint(vmstate_save_state(f, vmsd, opaque, vmdesc, &error_abort),
                    ==, 0);
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    g_byte_array_append(out, bioc->data, bioc->usage);
    if (vmdesc) {
        qjson_end_object(vmdesc);
        g_assert(qjson_is_complete(vmdesc));
        *json = g_strdup(qjson_get_str(vmdesc));
        qjson_free(vmdesc);
    }
    qio_channel_unref(QIO_CHANNEL(bioc));
    return out;
}

/*
 * Load @len bytes as a section would: the vmsd, then the byte that must
 * follow it (here QEMU_VM_EOF).  Returns 0 or -errno with @errp set.
 */
static int load(const VMStateDescription *vmsd, void *opaque, int version,
                const uint8_t *data, size_t len, Error **errp)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len + 1);
    QEMUFile *f;
    int ret;

    memcpy(bioc->data, data, len);
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    ret = vmstate_load_state(f, vmsd, opaque, version, errp);
    if (ret == 0) {
        int next = qemu_get_byte(f);

        ret = qemu_file_get_error_obj(f, errp);
        if (ret == 0 && next != QEMU_VM_EOF) {
            error_setg(errp, "trailing byte 0x%x", next);
            ret = -EINVAL;
        }
    }
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));
    return ret;
}

static void assert_load_error(const VMStateDescription *vmsd, void *opaque,
                              int version, const uint8_t *data, size_t len,
                              const char *want)
{
    Error *err = NULL;

    g_assert_cmpint(load(vmsd, opaque, version, data, len, &err), <, 0);
    g_assert(err);
    if (!strstr(error_get_pretty(err), want)) {
        g_test_message("error \"%s\" lacks \"%s\"", error_get_pretty(err),
                       want);
        g_assert_not_reached();
    }
    error_free(err);
}

/* ------------------------------------------------------------ the device */

typedef struct TestInner {
    uint16_t a;
    uint8_t b;
} TestInner;

static const VMStateDescription vmstate_inner = {
    .name = "inner",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(a, TestInner),
        VMSTATE_UINT8(b, TestInner),
        VMSTATE_END_OF_LIST()
    },
};

typedef struct TestState {
    bool flag;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    uint32_t arr[3];
    uint8_t buf[4];
    uint32_t count;
    uint16_t *varr;
    TestInner inner;
    TestInner *inner_ptr;
    uint32_t v2only;
    uint64_t sub_val;
    bool sub_needed;
    int post_load_version;
} TestState;

#define TEST_VARR_MAX 8

static bool test_sub_needed(void *opaque)
{
    TestState *s = opaque;

    return s->sub_needed;
}

static const VMStateDescription vmstate_test_sub = {
    .name = "test/sub",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = test_sub_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(sub_val, TestState),
        VMSTATE_END_OF_LIST()
    },
};

static int test_post_load(void *opaque, int version_id)
{
    TestState *s = opaque;

    s->post_load_version = version_id;
    return 0;
}

static const VMStateDescription vmstate_test = {
    .name = "test",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = test_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(flag, TestState),
        VMSTATE_INT8(i8, TestState),
        VMSTATE_INT16(i16, TestState),
        VMSTATE_INT32(i32, TestState),
        VMSTATE_INT64(i64, TestState),
        VMSTATE_UINT8(u8, TestState),
        VMSTATE_UINT16(u16, TestState),
        VMSTATE_UINT32(u32, TestState),
        VMSTATE_UINT64(u64, TestState),
        VMSTATE_UINT32_ARRAY(arr, TestState, 3),
        VMSTATE_BUFFER(buf, TestState),
        VMSTATE_UNUSED(2),
        VMSTATE_UINT32(count, TestState),
        VMSTATE_VARRAY_UINT32_ALLOC(varr, TestState, count, TEST_VARR_MAX,
                                    0, vmstate_info_uint16, uint16_t),
        VMSTATE_STRUCT(inner, TestState, 0, vmstate_inner, TestInner),
        VMSTATE_STRUCT_POINTER(inner_ptr, TestState, vmstate_inner,
                               TestInner),
        VMSTATE_UINT32_V(v2only, TestState, 2),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_test_sub,
        NULL
    },
};

static TestInner pointed = { .a = 0x0d0e, .b = 0x0f };

static void test_state_init(TestState *s)
{
    static uint16_t varr[2] = { 0x1111, 0x2222 };

    *s = (TestState) {
        .flag = true, .i8 = -2, .i16 = -3, .i32 = -4, .i64 = -5,
        .u8 = 0x81, .u16 = 0x8182, .u32 = 0x81828384,
        .u64 = 0x8182838485868788ULL,
        .arr = { 1, 2, 3 }, .buf = { 'g', 'o', 'd', 'w' },
        .count = 2, .varr = varr,
        .inner = { .a = 0x0a0b, .b = 0x0c }, .inner_ptr = &pointed,
        .v2only = 0x22, .sub_val = 0x55, .sub_needed = true,
    };
}

/* Version 2, subsection sent. */
static const uint8_t golden_test[] = {
    0x01,                                           /* flag: bool true */
    0xfe,                                           /* i8: -2 */
    0xff, 0xfd,                                     /* i16: -3 */
    0xff, 0xff, 0xff, 0xfc,                         /* i32: -4 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, /* i64: -5 */
    0x81,                                           /* u8 */
    0x81, 0x82,                                     /* u16 */
    0x81, 0x82, 0x83, 0x84,                         /* u32 */
    0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, /* u64 */
    0x00, 0x00, 0x00, 0x01,                         /* arr[0] */
    0x00, 0x00, 0x00, 0x02,                         /* arr[1] */
    0x00, 0x00, 0x00, 0x03,                         /* arr[2] */
    'g', 'o', 'd', 'w',                             /* buf: 4 raw bytes */
    0x00, 0x00,                                     /* unused: 2 zeros */
    0x00, 0x00, 0x00, 0x02,                         /* count: 2 */
    0x11, 0x11, 0x22, 0x22,                         /* varr: count x be16 */
    0x0a, 0x0b, 0x0c,                               /* inner: a, b */
    0x0d, 0x0e, 0x0f,                               /* inner_ptr: a, b */
    0x00, 0x00, 0x00, 0x22,                         /* v2only (since v2) */
    QEMU_VM_SUBSECTION,                             /* subsection marker */
    0x08, 't', 'e', 's', 't', '/', 's', 'u', 'b',   /* counted name */
    0x00, 0x00, 0x00, 0x01,                         /* subsection version */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x55, /* sub_val */
    QEMU_VM_EOF,                                    /* what follows (test) */
};
#define GOLDEN_V2_FIELDS_LEN 67      /* up to and including v2only */
#define GOLDEN_SUB_LEN 22            /* the subsection */

static const char golden_test_json[] =
    "{\"vmsd_name\": \"test\", \"version\": 2, \"fields\": ["
    "{\"name\": \"flag\", \"type\": \"bool\", \"size\": 1}, "
    "{\"name\": \"i8\", \"type\": \"int8\", \"size\": 1}, "
    "{\"name\": \"i16\", \"type\": \"int16\", \"size\": 2}, "
    "{\"name\": \"i32\", \"type\": \"int32\", \"size\": 4}, "
    "{\"name\": \"i64\", \"type\": \"int64\", \"size\": 8}, "
    "{\"name\": \"u8\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"u16\", \"type\": \"uint16\", \"size\": 2}, "
    "{\"name\": \"u32\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"u64\", \"type\": \"uint64\", \"size\": 8}, "
    "{\"name\": \"arr\", \"array_len\": 3, \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"buf\", \"type\": \"buffer\", \"size\": 4}, "
    "{\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 2}, "
    "{\"name\": \"count\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"varr\", \"array_len\": 2, \"type\": \"uint16\", \"size\": 2}, "
    "{\"name\": \"inner\", \"type\": \"struct\", \"struct\": "
    "{\"vmsd_name\": \"inner\", \"version\": 1, \"fields\": ["
    "{\"name\": \"a\", \"type\": \"uint16\", \"size\": 2}, "
    "{\"name\": \"b\", \"type\": \"uint8\", \"size\": 1}]}, \"size\": 3}, "
    "{\"name\": \"inner_ptr\", \"type\": \"struct\", \"struct\": "
    "{\"vmsd_name\": \"inner\", \"version\": 1, \"fields\": ["
    "{\"name\": \"a\", \"type\": \"uint16\", \"size\": 2}, "
    "{\"name\": \"b\", \"type\": \"uint8\", \"size\": 1}]}, \"size\": 3}, "
    "{\"name\": \"v2only\", \"type\": \"uint32\", \"size\": 4}], "
    "\"subsections\": [{\"vmsd_name\": \"test/sub\", \"version\": 1, "
    "\"fields\": [{\"name\": \"sub_val\", \"type\": \"uint64\", "
    "\"size\": 8}]}]}";

/* ------------------------------------------------------------ tests */

static void test_save_golden(void)
{
    TestState s;
    GByteArray *out;
    char *json;

    test_state_init(&s);
    out = save(&vmstate_test, &s, &json);
    /* Everything but the trailing QEMU_VM_EOF, which is the test's. */
    g_assert_cmpmem(out->data, out->len, golden_test,
                    sizeof(golden_test) - 1);
    g_assert_cmpstr(json, ==, golden_test_json);
    g_byte_array_free(out, true);
    g_free(json);
}

static void test_save_no_subsection(void)
{
    TestState s;
    GByteArray *out;
    char *json;
    const char *tail;

    test_state_init(&s);
    s.sub_needed = false;
    out = save(&vmstate_test, &s, &json);
    g_assert_cmpmem(out->data, out->len, golden_test, GOLDEN_V2_FIELDS_LEN);
    g_assert(!strstr(json, "subsections"));
    tail = "{\"name\": \"v2only\", \"type\": \"uint32\", \"size\": 4}]}";
    g_assert(g_str_has_suffix(json, tail));
    g_byte_array_free(out, true);
    g_free(json);
}

static void test_load_golden(void)
{
    TestInner inner = { 0 };
    TestState s = { .inner_ptr = &inner }, want;

    test_state_init(&want);
    g_assert_cmpint(load(&vmstate_test, &s, 2, golden_test,
                         sizeof(golden_test), &error_abort), ==, 0);
    g_assert(s.flag);
    g_assert_cmpint(s.i8, ==, -2);
    g_assert_cmpint(s.i16, ==, -3);
    g_assert_cmpint(s.i32, ==, -4);
    g_assert_cmpint(s.i64, ==, -5);
    g_assert_cmpuint(s.u8, ==, want.u8);
    g_assert_cmpuint(s.u16, ==, want.u16);
    g_assert_cmpuint(s.u32, ==, want.u32);
    g_assert_cmpuint(s.u64, ==, want.u64);
    g_assert_cmpmem(s.arr, sizeof(s.arr), want.arr, sizeof(want.arr));
    g_assert_cmpmem(s.buf, sizeof(s.buf), want.buf, sizeof(want.buf));
    g_assert_cmpuint(s.count, ==, 2);
    g_assert(s.varr);                                  /* allocated */
    g_assert_cmpuint(s.varr[0], ==, 0x1111);
    g_assert_cmpuint(s.varr[1], ==, 0x2222);
    g_assert_cmpuint(s.inner.a, ==, 0x0a0b);
    g_assert_cmpuint(s.inner.b, ==, 0x0c);
    g_assert_cmpuint(inner.a, ==, 0x0d0e);
    g_assert_cmpuint(inner.b, ==, 0x0f);
    g_assert_cmpuint(s.v2only, ==, 0x22);
    g_assert_cmpuint(s.sub_val, ==, 0x55);
    g_assert_cmpint(s.post_load_version, ==, 2);
    g_free(s.varr);
}

/* A version-1 stream has no v2only; the field keeps its local value. */
static void test_load_v1(void)
{
    TestInner inner = { 0 };
    TestState s = { .v2only = 0x77, .inner_ptr = &inner };
    uint8_t *v1 = g_malloc(sizeof(golden_test));
    size_t v1_len = 0;

    memcpy(v1, golden_test, GOLDEN_V2_FIELDS_LEN - 4);
    v1_len = GOLDEN_V2_FIELDS_LEN - 4;
    memcpy(v1 + v1_len, golden_test + GOLDEN_V2_FIELDS_LEN,
           sizeof(golden_test) - GOLDEN_V2_FIELDS_LEN);
    v1_len += sizeof(golden_test) - GOLDEN_V2_FIELDS_LEN;
    g_assert_cmpint(load(&vmstate_test, &s, 1, v1, v1_len, &error_abort),
                    ==, 0);
    g_assert_cmpuint(s.v2only, ==, 0x77);
    g_assert_cmpuint(inner.a, ==, 0x0d0e);
    g_assert_cmpuint(s.sub_val, ==, 0x55);
    g_assert_cmpint(s.post_load_version, ==, 1);
    g_free(s.varr);
    g_free(v1);
}

/* Every proper prefix of the stream fails cleanly. */
static void test_load_truncated(void)
{
    size_t len;

    for (len = 0; len < sizeof(golden_test); len++) {
        TestInner inner;
        TestState s = { .inner_ptr = &inner };
        Error *err = NULL;

        g_assert_cmpint(load(&vmstate_test, &s, 2, golden_test, len, &err),
                        <, 0);
        g_assert(err);
        g_assert(strstr(error_get_pretty(err), "end of stream") ||
                 strstr(error_get_pretty(err), "subsection header"));
        /*
         * Cut right after the fields or at the very end, the vmsd itself
         * is complete (subsections are optional); the next read fails.
         */
        if (len != GOLDEN_V2_FIELDS_LEN && len != sizeof(golden_test) - 1) {
            g_assert(strstr(error_get_pretty(err), "vmsd test"));
        }
        error_free(err);
        g_free(s.varr);
    }
}

static void test_load_bad_version(void)
{
    TestState s = { 0 };

    assert_load_error(&vmstate_test, &s, 3, golden_test, sizeof(golden_test),
                      "vmsd test: version 3 not supported (min 1, max 2)");
    assert_load_error(&vmstate_test, &s, 0, golden_test, sizeof(golden_test),
                      "vmsd test: version 0 not supported (min 1, max 2)");
    assert_load_error(&vmstate_test, &s, -1, golden_test, sizeof(golden_test),
                      "vmsd test: version -1 not supported");
}

static void test_load_bad_subsection(void)
{
    uint8_t *bad = g_memdup2(golden_test, sizeof(golden_test));
    TestInner inner;
    TestState s = { .inner_ptr = &inner };

    memcpy(bad + GOLDEN_V2_FIELDS_LEN + 7, "xyz", 3);    /* "test/xyz" */
    assert_load_error(&vmstate_test, &s, 2, bad, sizeof(golden_test),
                      "vmsd test: unknown subsection test/xyz");
    g_free(s.varr);
    s.varr = NULL;
    /* A subsection version the local vmsd does not know. */
    memcpy(bad + GOLDEN_V2_FIELDS_LEN + 7, "sub", 3);
    bad[GOLDEN_V2_FIELDS_LEN + 13] = 2;
    assert_load_error(&vmstate_test, &s, 2, bad, sizeof(golden_test),
                      "vmsd test/sub: version 2 not supported (min 1, max 1)");
    g_free(s.varr);
    g_free(bad);
}

static void test_load_bad_values(void)
{
    uint8_t *bad = g_memdup2(golden_test, sizeof(golden_test));
    TestInner inner;
    TestState s = { .inner_ptr = &inner };

    bad[0] = 2;                                   /* bool must be 0 or 1 */
    assert_load_error(&vmstate_test, &s, 2, bad, sizeof(golden_test),
                      "vmsd test field flag: invalid bool value 0x2");
    bad[0] = 1;
    bad[52] = TEST_VARR_MAX + 1;                  /* count above bound */
    assert_load_error(&vmstate_test, &s, 2, bad, sizeof(golden_test),
                      "vmsd test field varr: element count 9 exceeds the "
                      "maximum 8");
    bad[49] = 0xff;                               /* count 0xff000009 */
    assert_load_error(&vmstate_test, &s, 2, bad, sizeof(golden_test),
                      "vmsd test field varr: element count");
    g_free(s.varr);
    g_free(bad);
}

/* ---- a second device: checks, equal values, duplicates, pointers ---- */

typedef struct TestChecks {
    uint32_t magic;
    int32_t level;
    uint8_t n;
    uint8_t items[4];
    uint32_t *ptrs[3];
} TestChecks;

static bool test_checks_valid(void *opaque, int version_id)
{
    TestChecks *t = opaque;

    return t->n % 2 == 0;
}

static const VMStateDescription vmstate_checks = {
    .name = "checks",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_EQUAL(magic, TestChecks, "magic differs"),
        VMSTATE_INT32_POSITIVE_LE(level, TestChecks),
        VMSTATE_UNUSED(1),
        VMSTATE_UINT8(n, TestChecks),
        VMSTATE_VARRAY_IN_ARRAY(items, TestChecks, n, VMS_VARRAY_UINT8, 0,
                                vmstate_info_uint8, uint8_t),
        VMSTATE_VALIDATE("n is even", test_checks_valid),
        VMSTATE_UNUSED(1),
        VMSTATE_ARRAY_OF_POINTER(ptrs, TestChecks, 3, 0, vmstate_info_uint32,
                                 uint32_t),
        VMSTATE_END_OF_LIST()
    },
};

static const uint8_t golden_checks[] = {
    0xca, 0xfe, 0xf0, 0x0d,     /* magic: must equal the destination's */
    0x00, 0x00, 0x00, 0x05,     /* level: 0 <= 5 <= destination's */
    0x00,                       /* unused[0] */
    0x02,                       /* n: 2 items used */
    0x71, 0x72,                 /* items[0..1] */
    0x00,                       /* unused[1] */
    0x00, 0x00, 0x00, 0x2a,     /* ptrs[0] -> 42 */
    VMS_NULLPTR_MARKER,         /* ptrs[1] is NULL */
    0x00, 0x00, 0x00, 0x2b,     /* ptrs[2] -> 43 */
    QEMU_VM_EOF,
};

static const char golden_checks_json[] =
    "{\"vmsd_name\": \"checks\", \"version\": 1, \"fields\": ["
    "{\"name\": \"magic\", \"type\": \"uint32 equal\", \"size\": 4}, "
    "{\"name\": \"level\", \"type\": \"int32 le\", \"size\": 4}, "
    "{\"name\": \"unused[0]\", \"type\": \"unused_buffer\", \"size\": 1}, "
    "{\"name\": \"n\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"items\", \"array_len\": 2, \"type\": \"uint8\", "
    "\"size\": 1}, "
    "{\"name\": \"unused[1]\", \"type\": \"unused_buffer\", \"size\": 1}, "
    "{\"name\": \"ptrs\", \"index\": 0, \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"ptrs\", \"index\": 1, \"type\": \"nullptr\", \"size\": 1}, "
    "{\"name\": \"ptrs\", \"index\": 2, \"type\": \"uint32\", \"size\": 4}"
    "]}";

static void test_checks(void)
{
    uint32_t p0 = 42, p2 = 43, l0 = 0, l2 = 0;
    TestChecks t = {
        .magic = 0xcafef00d, .level = 5, .n = 2, .items = { 0x71, 0x72 },
        .ptrs = { &p0, NULL, &p2 },
    };
    TestChecks d = { .magic = 0xcafef00d, .level = 9,
                     .ptrs = { &l0, NULL, &l2 } };
    uint8_t *bad = g_memdup2(golden_checks, sizeof(golden_checks));
    GByteArray *out;
    char *json;

    out = save(&vmstate_checks, &t, &json);
    g_assert_cmpmem(out->data, out->len, golden_checks,
                    sizeof(golden_checks) - 1);
    g_assert_cmpstr(json, ==, golden_checks_json);
    g_byte_array_free(out, true);
    g_free(json);

    g_assert_cmpint(load(&vmstate_checks, &d, 1, golden_checks,
                         sizeof(golden_checks), &error_abort), ==, 0);
    g_assert_cmpint(d.level, ==, 5);
    g_assert_cmpuint(d.n, ==, 2);
    g_assert_cmpuint(d.items[1], ==, 0x72);
    g_assert_cmpuint(l0, ==, 42);
    g_assert_cmpuint(l2, ==, 43);

    d.magic = 0xcafef00e;
    assert_load_error(&vmstate_checks, &d, 1, golden_checks,
                      sizeof(golden_checks),
                      "vmsd checks field magic: received 0xcafef00d but the "
                      "destination has 0xcafef00e");
    d.magic = 0xcafef00d;
    d.level = 4;                              /* 5 > 4 */
    assert_load_error(&vmstate_checks, &d, 1, golden_checks,
                      sizeof(golden_checks), "vmsd checks field level");
    d.level = 9;
    bad[9] = 5;                               /* n = 5 > 4 items */
    assert_load_error(&vmstate_checks, &d, 1, bad, sizeof(golden_checks),
                      "vmsd checks field items: element count 5 exceeds the "
                      "maximum 4");
    bad[9] = 1;                               /* odd: the check fails */
    memmove(bad + 11, bad + 12, sizeof(golden_checks) - 12);
    assert_load_error(&vmstate_checks, &d, 1, bad, sizeof(golden_checks) - 1,
                      "vmsd checks: check n is even failed");
    memcpy(bad, golden_checks, sizeof(golden_checks));
    bad[17] = 0x31;                           /* wrong NULL marker */
    assert_load_error(&vmstate_checks, &d, 1, bad, sizeof(golden_checks),
                      "vmsd checks field ptrs[1]: expected the NULL pointer "
                      "marker 0x30, got 0x31");
    g_free(bad);
}

/* ---- nested subsections: a struct's own subsection, then the parent's */

typedef struct TestNest {
    TestInner in;
    uint8_t extra;
    uint8_t outer_extra;
} TestNest;

static const VMStateDescription vmstate_nest_in_sub = {
    .name = "nin/x",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(b, TestInner),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_nest_in = {
    .name = "nin",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(a, TestInner),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_nest_in_sub,
        NULL
    },
};

static const VMStateDescription vmstate_nest_sub = {
    .name = "nest/y",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8(outer_extra, TestNest),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_nest = {
    .name = "nest",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT(in, TestNest, 0, vmstate_nest_in, TestInner),
        VMSTATE_UINT8(extra, TestNest),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_nest_sub,
        NULL
    },
};

static const uint8_t golden_nest[] = {
    0x12, 0x34,                                   /* in.a */
    QEMU_VM_SUBSECTION, 0x05, 'n', 'i', 'n', '/', 'x',  /* in's subsection */
    0x00, 0x00, 0x00, 0x01,                       /* its version */
    0x56,                                         /* in.b */
    0x78,                                         /* extra */
    QEMU_VM_SUBSECTION, 0x06, 'n', 'e', 's', 't', '/', 'y',  /* nest's */
    0x00, 0x00, 0x00, 0x01,                       /* its version */
    0x9a,                                         /* outer_extra */
    QEMU_VM_EOF,
};

static void test_nested_subsections(void)
{
    TestNest n = { .in = { 0x1234, 0x56 }, .extra = 0x78,
                   .outer_extra = 0x9a };
    TestNest d = { 0 };
    GByteArray *out;
    char *json;

    out = save(&vmstate_nest, &n, &json);
    g_assert_cmpmem(out->data, out->len, golden_nest,
                    sizeof(golden_nest) - 1);
    /* A struct with subsections is never described as "array_len". */
    g_assert(strstr(json, "\"struct\": {\"vmsd_name\": \"nin\", \"version\": "
                    "1, \"fields\": [{\"name\": \"a\", \"type\": \"uint16\", "
                    "\"size\": 2}], \"subsections\": [{\"vmsd_name\": "
                    "\"nin/x\""));
    g_byte_array_free(out, true);
    g_free(json);
    g_assert_cmpint(load(&vmstate_nest, &d, 1, golden_nest,
                         sizeof(golden_nest), &error_abort), ==, 0);
    g_assert_cmpuint(d.in.a, ==, 0x1234);
    g_assert_cmpuint(d.in.b, ==, 0x56);
    g_assert_cmpuint(d.extra, ==, 0x78);
    g_assert_cmpuint(d.outer_extra, ==, 0x9a);
}

/* ---- the JSON writer itself ---- */

static void test_qjson(void)
{
    QJSON *j = qjson_new();

    qjson_start_object(j, NULL);
    qjson_str(j, "s", "a\"b\\c\n\x01\x7f\xc3\xa9\xf0\x9f\x90\xa6\xff");
    qjson_int(j, "i", -1);
    qjson_uint(j, "u", UINT64_MAX);
    qjson_bool(j, "t", true);
    qjson_null(j, "n");
    qjson_start_array(j, "e");
    qjson_end_array(j);
    qjson_start_array(j, "a");
    qjson_start_object(j, NULL);
    qjson_end_object(j);
    qjson_int(j, NULL, 2);
    qjson_end_array(j);
    qjson_end_object(j);
    g_assert(qjson_is_complete(j));
    g_assert_cmpstr(qjson_get_str(j), ==,
                    "{\"s\": \"a\\\"b\\\\c\\n\\u0001\\u007F\\u00E9"
                    "\\uD83D\\uDC26\\uFFFD\", \"i\": -1, "
                    "\"u\": 18446744073709551615, \"t\": true, \"n\": null, "
                    "\"e\": [], \"a\": [{}, 2]}");
    qjson_free(j);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/save/golden", test_save_golden);
    g_test_add_func("/vmstate/save/no-subsection", test_save_no_subsection);
    g_test_add_func("/vmstate/load/golden", test_load_golden);
    g_test_add_func("/vmstate/load/version-1", test_load_v1);
    g_test_add_func("/vmstate/load/truncated", test_load_truncated);
    g_test_add_func("/vmstate/load/bad-version", test_load_bad_version);
    g_test_add_func("/vmstate/load/bad-subsection", test_load_bad_subsection);
    g_test_add_func("/vmstate/load/bad-values", test_load_bad_values);
    g_test_add_func("/vmstate/checks", test_checks);
    g_test_add_func("/vmstate/nested-subsections", test_nested_subsections);
    g_test_add_func("/vmstate/qjson", test_qjson);
    return g_test_run();
}
