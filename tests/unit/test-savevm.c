/*
 * Unit tests for the stream framing (savevm.c), globalstate and the RAM
 * section (ram.c): golden byte arrays with a comment per field, a loader
 * that rejects malformed streams with an error naming what and where, and
 * a save -> load round trip of two RAMBlocks.
 *
 * Handler registration is process-wide, so main() registers the builtins
 * first: "ram" is section 0 and "globalstate" section 1 in every golden.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "exec/memory.h"
#include "io/channel-buffer.h"
#include "sysemu/sysemu.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "migration/qemu-file.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/migration.h"
#include "migration/savevm.h"
#include "migration/ram.h"

#define TPS TARGET_PAGE_SIZE

/* ------------------------------------------------------------ helpers */

typedef struct Out {
    QIOChannelBuffer *bioc;
    QEMUFile *f;
} Out;

static void out_open(Out *o)
{
    o->bioc = qio_channel_buffer_new(4096);
    o->f = qemu_file_new_output(QIO_CHANNEL(o->bioc));
}

/* Flush, take what was written since the last take. */
static GByteArray *out_take(Out *o)
{
    GByteArray *b = g_byte_array_new();

    qemu_fflush(o->f);
    g_assert_cmpint(qemu_file_get_error(o->f), ==, 0);
    g_byte_array_append(b, o->bioc->data, o->bioc->usage);
    o->bioc->usage = 0;
    o->bioc->offset = 0;
    return b;
}

static void out_close(Out *o)
{
    qemu_fclose(o->f);
    qio_channel_unref(QIO_CHANNEL(o->bioc));
}

static void assert_bytes(GByteArray *got, const uint8_t *want, size_t len)
{
    if (got->len != len || memcmp(got->data, want, len) != 0) {
        size_t i;

        for (i = 0; i < MAX(got->len, len); i++) {
            int g = i < got->len ? got->data[i] : -1;
            int w = i < len ? want[i] : -1;

            if (g != w) {
                g_test_message("first difference at %zu: got 0x%x want 0x%x "
                               "(lengths %u / %zu)", i, g, w, got->len, len);
                break;
            }
        }
        g_assert_not_reached();
    }
}

/* Stream builder for malformed inputs. */
static void b8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void b16(GByteArray *b, uint16_t v)
{
    b8(b, v >> 8);
    b8(b, v);
}

static void b32(GByteArray *b, uint32_t v)
{
    b16(b, v >> 16);
    b16(b, v);
}

static void b64(GByteArray *b, uint64_t v)
{
    b32(b, v >> 32);
    b32(b, v);
}

static void bstr(GByteArray *b, const char *s)
{
    b8(b, strlen(s));
    g_byte_array_append(b, (const uint8_t *)s, strlen(s));
}

/* Load @len bytes with qemu_loadvm_state; returns its result. */
static bool load_bytes(const uint8_t *data, size_t len, Error **errp)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len + 1);
    QEMUFile *f;
    bool ok;

    memcpy(bioc->data, data, len);
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    ok = qemu_loadvm_state(f, NULL, errp);
    if (ok) {
        qemu_loadvm_state_cleanup();
    }
    qemu_fclose(f);
    qio_channel_unref(QIO_CHANNEL(bioc));
    return ok;
}

static void assert_load_error(GByteArray *b, const char *want)
{
    Error *err = NULL;

    g_assert_false(load_bytes(b->data, b->len, &err));
    g_assert(err);
    if (!strstr(error_get_pretty(err), want)) {
        g_test_message("error \"%s\" lacks \"%s\"", error_get_pretty(err),
                       want);
        g_assert_not_reached();
    }
    error_free(err);
}

static RAMBlock *new_block(const char *name, uint64_t size)
{
    RAMBlockConfig cfg = { .name = name, .size = size };

    return qemu_ram_alloc(&cfg, &error_abort);
}

static MigrationOptions *opts(void)
{
    return &migrate_get_current()->opts;
}

/* ------------------------------------------------------------ goldens */

/* magic, version 3, configuration "virt" with no subsection */
static const uint8_t golden_header[] = {
    0x51, 0x45, 0x56, 0x4d,             /* QEMU_VM_FILE_MAGIC "QEVM" */
    0x00, 0x00, 0x00, 0x03,             /* QEMU_VM_FILE_VERSION */
    0x07,                               /* QEMU_VM_CONFIGURATION */
    0x00, 0x00, 0x00, 0x04,             /* len: be32 4 */
    'v', 'i', 'r', 't',                 /* name: machine type */
};

static void test_header_plain(void)
{
    Out o;
    g_autoptr(GByteArray) got = NULL;

    out_open(&o);
    qemu_savevm_state_header(o.f);
    got = out_take(&o);
    out_close(&o);
    assert_bytes(got, golden_header, sizeof(golden_header));
}

static const uint8_t golden_header_uuid[] = {
    0x51, 0x45, 0x56, 0x4d,             /* magic */
    0x00, 0x00, 0x00, 0x03,             /* version */
    0x07,                               /* QEMU_VM_CONFIGURATION */
    0x00, 0x00, 0x00, 0x04,             /* len */
    'v', 'i', 'r', 't',                 /* name */
    0x05,                               /* QEMU_VM_SUBSECTION */
    0x12,                               /* name length 18 */
    'c', 'o', 'n', 'f', 'i', 'g', 'u', 'r', 'a', 't', 'i', 'o', 'n',
    '/', 'u', 'u', 'i', 'd',            /* "configuration/uuid" */
    0x00, 0x00, 0x00, 0x01,             /* subsection version 1 */
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,   /* uuid[0..7] */
    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,   /* uuid[8..15] */
};

static void test_header_uuid(void)
{
    static const uint8_t uuid[16] = {
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
        0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
    };
    g_autoptr(GByteArray) got = NULL;
    g_autoptr(GByteArray) bad = NULL;
    Error *err = NULL;
    Out o;

    memcpy(qemu_uuid, uuid, 16);
    qemu_uuid_set = true;
    opts()->caps[MIGRATION_CAPABILITY_VALIDATE_UUID] = true;
    out_open(&o);
    qemu_savevm_state_header(o.f);
    got = out_take(&o);
    out_close(&o);
    assert_bytes(got, golden_header_uuid, sizeof(golden_header_uuid));

    /* Loading it back checks the uuid; then a different local uuid fails. */
    g_byte_array_append(got, (const uint8_t []){ QEMU_VM_EOF }, 1);
    g_assert_true(load_bytes(got->data, got->len, &error_abort));
    qemu_uuid[0] ^= 0xff;
    g_assert_false(load_bytes(got->data, got->len, &err));
    g_assert(strstr(error_get_pretty(err), "UUID received is "
                    "11223344-5566-7788-99aa-bbccddeeff00 and local is"));
    error_free(err);
    /* No local uuid: only a warning. */
    qemu_uuid_set = false;
    g_assert_true(load_bytes(got->data, got->len, &error_abort));

    opts()->caps[MIGRATION_CAPABILITY_VALIDATE_UUID] = false;
    memset(qemu_uuid, 0, 16);
}

static const uint8_t golden_header_caps[] = {
    0x51, 0x45, 0x56, 0x4d,             /* magic */
    0x00, 0x00, 0x00, 0x03,             /* version */
    0x07,                               /* QEMU_VM_CONFIGURATION */
    0x00, 0x00, 0x00, 0x04,             /* len */
    'v', 'i', 'r', 't',                 /* name */
    0x05,                               /* QEMU_VM_SUBSECTION */
    0x1a,                               /* name length 26 */
    'c', 'o', 'n', 'f', 'i', 'g', 'u', 'r', 'a', 't', 'i', 'o', 'n',
    '/', 'c', 'a', 'p', 'a', 'b', 'i', 'l', 'i', 't', 'i', 'e', 's',
    0x00, 0x00, 0x00, 0x01,             /* subsection version 1 */
    0x00, 0x00, 0x00, 0x01,             /* caps_count 1 */
    0x0f,                               /* counted string, 15 bytes */
    'x', '-', 'i', 'g', 'n', 'o', 'r', 'e', '-', 's', 'h', 'a', 'r', 'e',
    'd',                                /* "x-ignore-shared" */
};

static void test_header_caps(void)
{
    g_autoptr(GByteArray) got = NULL;
    Error *err = NULL;
    Out o;

    opts()->caps[MIGRATION_CAPABILITY_X_IGNORE_SHARED] = true;
    out_open(&o);
    qemu_savevm_state_header(o.f);
    got = out_take(&o);
    out_close(&o);
    assert_bytes(got, golden_header_caps, sizeof(golden_header_caps));

    g_byte_array_append(got, (const uint8_t []){ QEMU_VM_EOF }, 1);
    g_assert_true(load_bytes(got->data, got->len, &error_abort));
    /* The destination has it off: a validated capability must match. */
    opts()->caps[MIGRATION_CAPABILITY_X_IGNORE_SHARED] = false;
    g_assert_false(load_bytes(got->data, got->len, &err));
    g_assert(strstr(error_get_pretty(err), "Capability x-ignore-shared is "
                    "off, but received capability is on"));
    error_free(err);
    /* And the plain header fails on a destination that has it on. */
    opts()->caps[MIGRATION_CAPABILITY_X_IGNORE_SHARED] = true;
    {
        g_autoptr(GByteArray) b = g_byte_array_new();

        g_byte_array_append(b, golden_header, sizeof(golden_header));
        b8(b, QEMU_VM_EOF);
        assert_load_error(b, "Capability x-ignore-shared is on, but received "
                          "capability is off");
    }
    opts()->caps[MIGRATION_CAPABILITY_X_IGNORE_SHARED] = false;

    /* An unknown capability name. */
    got->len = sizeof(golden_header_caps) - 15;
    got->data[got->len - 1] = 7;
    g_byte_array_append(got, (const uint8_t *)"x-bogus", 7);
    b8(got, QEMU_VM_EOF);
    assert_load_error(got, "Received unknown capability 'x-bogus'");
}

/* u8 0x08, be16 cmd, be16 len, payload */
static const uint8_t golden_open_rp[] = {
    0x08,                               /* QEMU_VM_COMMAND */
    0x00, 0x01,                         /* MIG_CMD_OPEN_RETURN_PATH */
    0x00, 0x00,                         /* len 0 */
};
static const uint8_t golden_ping[] = {
    0x08,                               /* QEMU_VM_COMMAND */
    0x00, 0x02,                         /* MIG_CMD_PING */
    0x00, 0x04,                         /* len 4 */
    0x12, 0x34, 0x56, 0x78,             /* be32 value */
};

static void test_commands(void)
{
    g_autoptr(GByteArray) rp = NULL;
    g_autoptr(GByteArray) ping = NULL;
    Out o;

    out_open(&o);
    qemu_savevm_send_open_return_path(o.f);
    rp = out_take(&o);
    qemu_savevm_send_ping(o.f, 0x12345678);
    ping = out_take(&o);
    out_close(&o);
    assert_bytes(rp, golden_open_rp, sizeof(golden_open_rp));
    assert_bytes(ping, golden_ping, sizeof(golden_ping));
}

/*
 * A tiny RAM stream over one 2-page block "t.ram": page 0 zero, page 1
 * filled with 0x5a.
 */
static const uint8_t golden_ram_start[] = {
    0x01,                               /* QEMU_VM_SECTION_START */
    0x00, 0x00, 0x00, 0x00,             /* section_id 0 */
    0x03, 'r', 'a', 'm',                /* idstr "ram" */
    0x00, 0x00, 0x00, 0x00,             /* instance_id 0 */
    0x00, 0x00, 0x00, 0x04,             /* version_id 4 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x04,
                                        /* total 0x2000 | MEM_SIZE */
    0x05, 't', '.', 'r', 'a', 'm',      /* block idstr */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00,   /* used_length */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,   /* EOS */
    0x7e,                               /* QEMU_VM_SECTION_FOOTER */
    0x00, 0x00, 0x00, 0x00,             /* section_id 0 */
};

static const uint8_t golden_ram_part_head[] = {
    0x02,                               /* QEMU_VM_SECTION_PART */
    0x00, 0x00, 0x00, 0x00,             /* section_id 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,   /* offset 0 | ZERO */
    0x05, 't', '.', 'r', 'a', 'm',      /* block idstr (first record) */
    0x00,                               /* fill byte */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x28,
                                        /* 0x1000 | PAGE | CONTINUE */
    /* then 4096 bytes of 0x5a, and golden_ram_part_tail */
};

static const uint8_t golden_ram_part_tail[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,   /* EOS */
    0x7e,                               /* footer */
    0x00, 0x00, 0x00, 0x00,             /* section_id 0 */
};

/* The END after page 0 was written again (0x11 at byte 0). */
static const uint8_t golden_ram_end_head[] = {
    0x03,                               /* QEMU_VM_SECTION_END */
    0x00, 0x00, 0x00, 0x00,             /* section_id 0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28,
                                        /* offset 0 | PAGE | CONTINUE */
    /* then the page, and golden_ram_end_tail */
};

static const uint8_t golden_ram_end_tail[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,   /* EOS */
    0x7e,                               /* footer */
    0x00, 0x00, 0x00, 0x00,             /* section_id 0 */
    /* globalstate */
    0x04,                               /* QEMU_VM_SECTION_FULL */
    0x00, 0x00, 0x00, 0x01,             /* section_id 1 */
    0x0b, 'g', 'l', 'o', 'b', 'a', 'l', 's', 't', 'a', 't', 'e',
                                        /* idstr "globalstate" */
    0x00, 0x00, 0x00, 0x00,             /* instance_id 0 */
    0x00, 0x00, 0x00, 0x01,             /* version_id 1 */
    0x00, 0x00, 0x00, 0x0a,             /* size: strlen("prelaunch") + 1 */
    'p', 'r', 'e', 'l', 'a', 'u', 'n', 'c', 'h',
    /* then 91 zero bytes: the 100-byte runstate block */
};

static const uint8_t golden_ram_end_after_gs[] = {
    0x7e,                               /* footer */
    0x00, 0x00, 0x00, 0x01,             /* section_id 1 */
    0x00,                               /* QEMU_VM_EOF */
    0x06,                               /* QEMU_VM_VMDESCRIPTION */
    /* then be32 length and the JSON */
};

static const char golden_vmdesc[] =
    "{\"page_size\": 4096, \"devices\": [{\"name\": \"globalstate\", "
    "\"instance_id\": 0, \"vmsd_name\": \"globalstate\", \"version\": 1, "
    "\"fields\": [{\"name\": \"size\", \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"runstate\", \"type\": \"buffer\", \"size\": 100}]}]}";

static GByteArray *expect_cat(const uint8_t *head, size_t hlen, int fill,
                              size_t flen, const uint8_t *tail, size_t tlen)
{
    GByteArray *b = g_byte_array_new();

    g_byte_array_append(b, head, hlen);
    g_byte_array_set_size(b, hlen + flen);
    memset(b->data + hlen, fill, flen);
    g_byte_array_append(b, tail, tlen);
    return b;
}

static void test_ram_stream(void)
{
    MigrationStats *st = &migrate_get_current()->stats;
    RAMBlock *rb = new_block("t.ram", 2 * TPS);
    g_autoptr(GByteArray) start = NULL, part = NULL, end = NULL, want = NULL;
    g_autoptr(GByteArray) all = g_byte_array_new();
    uint64_t must, can;
    uint8_t saved[2 * TPS];
    size_t off;
    Out o;

    memset(st, 0, sizeof(*st));
    memset(rb->host + TPS, 0x5a, TPS);
    out_open(&o);
    qemu_savevm_state_header(o.f);
    g_autoptr(GByteArray) hdr = out_take(&o);
    g_byte_array_append(all, hdr->data, hdr->len);

    g_assert_true(qemu_savevm_state_setup(o.f, &error_abort));
    start = out_take(&o);
    assert_bytes(start, golden_ram_start, sizeof(golden_ram_start));
    g_assert_cmpuint(st->dirty_sync_count, ==, 1);
    qemu_savevm_state_pending_estimate(&must, &can);
    g_assert_cmpuint(must, ==, 2 * TPS);
    g_assert_cmpuint(ram_bytes_remaining(), ==, 2 * TPS);

    g_assert_cmpint(qemu_savevm_state_iterate(o.f), ==, 1);
    part = out_take(&o);
    want = expect_cat(golden_ram_part_head, sizeof(golden_ram_part_head),
                      0x5a, TPS, golden_ram_part_tail,
                      sizeof(golden_ram_part_tail));
    assert_bytes(part, want->data, want->len);
    g_assert_cmpuint(st->zero_pages, ==, 1);
    g_assert_cmpuint(st->normal_pages, ==, 1);
    g_byte_array_append(all, start->data, start->len);
    g_byte_array_append(all, part->data, part->len);

    /* The guest writes page 0: the dirty log catches it at the next sync. */
    rb->host[0] = 0x11;
    memory_set_dirty(rb, 0, 1);
    qemu_savevm_state_pending_estimate(&must, &can);
    g_assert_cmpuint(must, ==, 0);
    qemu_savevm_state_pending_exact(&must, &can);
    g_assert_cmpuint(must, ==, TPS);
    g_assert_cmpuint(st->dirty_sync_count, ==, 2);
    g_assert_cmpuint(st->dirty_pages, ==, 1);

    global_state_store();
    g_assert_cmpint(qemu_savevm_state_complete_precopy(o.f, &error_abort),
                    ==, 0);
    end = out_take(&o);
    qemu_savevm_state_cleanup();
    out_close(&o);
    g_assert_cmpuint(st->dirty_sync_count, ==, 3);
    g_assert_cmpuint(st->normal_pages, ==, 2);
    g_assert_cmpuint(ram_bytes_remaining(), ==, 0);

    /* END: the page again, CONTINUE since the block did not change. */
    off = 0;
    g_assert_cmpuint(end->len, >, sizeof(golden_ram_end_head) + TPS);
    g_assert(!memcmp(end->data, golden_ram_end_head,
                     sizeof(golden_ram_end_head)));
    off += sizeof(golden_ram_end_head);
    g_assert_cmpint(end->data[off], ==, 0x11);
    g_assert(buffer_is_zero(end->data + off + 1, TPS - 1));
    off += TPS;
    g_assert(!memcmp(end->data + off, golden_ram_end_tail,
                     sizeof(golden_ram_end_tail)));
    off += sizeof(golden_ram_end_tail);
    g_assert(buffer_is_zero(end->data + off, 91));
    off += 91;
    g_assert(!memcmp(end->data + off, golden_ram_end_after_gs,
                     sizeof(golden_ram_end_after_gs)));
    off += sizeof(golden_ram_end_after_gs);
    g_assert_cmpuint(end->len - off, ==, 4 + strlen(golden_vmdesc));
    g_assert_cmpuint(((uint32_t)end->data[off] << 24) |
                     ((uint32_t)end->data[off + 1] << 16) |
                     ((uint32_t)end->data[off + 2] << 8) | end->data[off + 3],
                     ==, strlen(golden_vmdesc));
    g_assert(!memcmp(end->data + off + 4, golden_vmdesc,
                     strlen(golden_vmdesc)));
    g_byte_array_append(all, end->data, end->len);

    /* Load it back into a scrambled block. */
    memcpy(saved, rb->host, sizeof(saved));
    memset(rb->host, 0xee, 2 * TPS);
    g_assert_true(load_bytes(all->data, all->len, &error_abort));
    g_assert(!memcmp(saved, rb->host, sizeof(saved)));
    g_assert_cmpstr(global_state_get_runstate(), ==, "prelaunch");

    /*
     * Truncated at every offset up to the EOF byte: an error, never a
     * crash.  Past EOF only the optional VMDESCRIPTION is cut, which is
     * not an error (as QEMU).
     */
    for (off = 0; off < all->len - 4 - strlen(golden_vmdesc) - 1; off++) {
        Error *err = NULL;

        g_assert_false(load_bytes(all->data, off, &err));
        g_assert(err);
        error_free(err);
    }
    qemu_ram_free(rb);
}

/* ------------------------------------------------------------ malformed */

/* A valid stream for one 1-page block "m.ram" whose page is 0x77. */
static GByteArray *mk_stream(bool ram_body(GByteArray *b, void *opaque),
                             void *opaque)
{
    GByteArray *b = g_byte_array_new();

    g_byte_array_append(b, golden_header, sizeof(golden_header));
    b8(b, QEMU_VM_SECTION_START);
    b32(b, 0);
    bstr(b, "ram");
    b32(b, 0);
    b32(b, 4);
    if (!ram_body || !ram_body(b, opaque)) {
        b64(b, TPS | RAM_SAVE_FLAG_MEM_SIZE);
        bstr(b, "m.ram");
        b64(b, TPS);
        b64(b, RAM_SAVE_FLAG_EOS);
    }
    b8(b, QEMU_VM_SECTION_FOOTER);
    b32(b, 0);
    b8(b, QEMU_VM_SECTION_END);
    b32(b, 0);
    b64(b, 0 | RAM_SAVE_FLAG_PAGE);
    bstr(b, "m.ram");
    g_byte_array_set_size(b, b->len + TPS);
    memset(b->data + b->len - TPS, 0x77, TPS);
    b64(b, RAM_SAVE_FLAG_EOS);
    b8(b, QEMU_VM_SECTION_FOOTER);
    b32(b, 0);
    b8(b, QEMU_VM_EOF);
    return b;
}

static bool body_mem_size_mismatch(GByteArray *b, void *opaque)
{
    b64(b, 2 * TPS | RAM_SAVE_FLAG_MEM_SIZE);
    bstr(b, "m.ram");
    b64(b, 2 * TPS);
    b64(b, RAM_SAVE_FLAG_EOS);
    return true;
}

static bool body_unknown_block(GByteArray *b, void *opaque)
{
    b64(b, TPS | RAM_SAVE_FLAG_MEM_SIZE);
    bstr(b, "nosuch.ram");
    b64(b, TPS);
    b64(b, RAM_SAVE_FLAG_EOS);
    return true;
}

static bool body_page(GByteArray *b, void *opaque)
{
    const uint64_t *word = opaque;

    b64(b, *word);
    bstr(b, word[1] ? "other" : "m.ram");
    b8(b, 0);
    b64(b, RAM_SAVE_FLAG_EOS);
    return true;
}

static void test_malformed(void)
{
    RAMBlock *rb = new_block("m.ram", TPS);
    g_autoptr(GByteArray) ok = mk_stream(NULL, NULL);
    GByteArray *b;
    uint64_t w[2];

    memset(rb->host, 0, TPS);
    g_assert_true(load_bytes(ok->data, ok->len, &error_abort));
    g_assert_cmpint(rb->host[TPS - 1], ==, 0x77);

    /* bad magic */
    b = g_byte_array_new();
    g_byte_array_append(b, ok->data, ok->len);
    b->data[0] = 'X';
    assert_load_error(b, "magic 0x5845564d");
    /* version 2 */
    b->data[0] = 'Q';
    b->data[7] = 2;
    assert_load_error(b, "obsolete");
    b->data[7] = 4;
    assert_load_error(b, "Unsupported migration stream version 4");
    b->data[7] = 3;
    /* wrong machine name */
    b->data[13] = 'x';
    assert_load_error(b, "Machine type received is 'xirt' and local is "
                      "'virt'");
    b->data[13] = 'v';
    /* no configuration */
    b->data[8] = QEMU_VM_SECTION_FULL;
    assert_load_error(b, "Configuration section missing at offset 8");
    b->data[8] = QEMU_VM_CONFIGURATION;
    /* wrong footer id: header 17, START header 17, MEM_SIZE list + EOS 30 */
    b->data[17 + 17 + 30 + 4] = 9;
    assert_load_error(b, "section 'ram' instance 0 (id 0): mismatched "
                      "section id in footer (read 9)");
    b->data[17 + 17 + 30 + 4] = 0;
    b->data[17 + 17 + 30] = 0x7f;
    assert_load_error(b, "missing section footer (read 0x7f");
    g_byte_array_free(b, true);

    /* unknown section */
    b = g_byte_array_new();
    g_byte_array_append(b, golden_header, sizeof(golden_header));
    b8(b, QEMU_VM_SECTION_FULL);
    b32(b, 7);
    bstr(b, "nosuch");
    b32(b, 3);
    b32(b, 1);
    assert_load_error(b, "Unknown section or instance 'nosuch' 3 (section "
                      "id 7)");
    /* known idstr, version too new */
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_SECTION_FULL);
    b32(b, 7);
    bstr(b, "globalstate");
    b32(b, 0);
    b32(b, 2);
    assert_load_error(b, "section 'globalstate' instance 0 (id 7): "
                      "unsupported version 2");
    /* PART of a section never started */
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_SECTION_PART);
    b32(b, 5);
    assert_load_error(b, "Unknown savevm section 5 in a PART record");
    /* unknown section type */
    b->len = sizeof(golden_header);
    b8(b, 0x33);
    assert_load_error(b, "Unknown savevm section type 0x33 at offset 17");
    /* commands */
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, 0x20);
    b16(b, 0);
    assert_load_error(b, "MIG_CMD 0x20 unknown");
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, 0);
    b16(b, 0);
    assert_load_error(b, "MIG_CMD 0x0 unknown");
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_PING);
    b16(b, 3);
    b8(b, 0);
    b8(b, 0);
    b8(b, 0);
    assert_load_error(b, "PING received with bad length - expecting 4, "
                      "received 3");
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_PING);
    b16(b, 4);
    b32(b, 1);
    assert_load_error(b, "PING (0x1) received with no return path");
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_POSTCOPY_ADVISE);
    b16(b, 16);
    b64(b, TPS);
    b64(b, TPS);
    /* a load with no incoming migration (a file) cannot do postcopy */
    assert_load_error(b, "POSTCOPY_ADVISE outside an incoming migration");
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_POSTCOPY_RESUME);
    b16(b, 0);
    /* outside a postcopy recovery: only a warning (as QEMU) */
    b8(b, QEMU_VM_EOF);
    g_assert_true(load_bytes(b->data, b->len, &error_abort));
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_RECV_BITMAP);
    b16(b, 5);
    b8(b, 4);
    b8(b, 'n');
    b8(b, 'o');
    b8(b, 'p');
    b8(b, 'e');
    assert_load_error(b, "RECV_BITMAP: unknown RAM block 'nope'");
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_RECV_BITMAP);
    b16(b, 3);
    b8(b, 4);
    b8(b, 'n');
    b8(b, 'o');
    assert_load_error(b, "RECV_BITMAP: length 3 does not hold a 4-byte "
                      "block name");
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_ENABLE_COLO);
    b16(b, 0);
    assert_load_error(b, "COLO is not supported");
    /* SWITCHOVER_START (10.0+) is accepted and ignored */
    b->len = sizeof(golden_header);
    b8(b, QEMU_VM_COMMAND);
    b16(b, MIG_CMD_SWITCHOVER_START);
    b16(b, 0);
    b8(b, QEMU_VM_EOF);
    g_assert_true(load_bytes(b->data, b->len, &error_abort));
    g_byte_array_free(b, true);

    /* RAM: MEM_SIZE mismatch, unknown block */
    b = mk_stream(body_mem_size_mismatch, NULL);
    assert_load_error(b, "block m.ram has length 0x2000 in the stream but "
                      "0x1000 here");
    g_byte_array_free(b, true);
    b = mk_stream(body_unknown_block, NULL);
    assert_load_error(b, "unknown ramblock \"nosuch.ram\"");
    g_byte_array_free(b, true);
    /* RAM: page outside the block */
    w[0] = TPS | RAM_SAVE_FLAG_ZERO;
    w[1] = 0;
    b = mk_stream(body_page, w);
    assert_load_error(b, "page 0x1000 is outside block m.ram (used length "
                      "0x1000)");
    g_byte_array_free(b, true);
    /* RAM: unknown flags, unsupported ones, bad combination */
    w[0] = RAM_SAVE_FLAG_ZERO | 0x400;
    b = mk_stream(body_page, w);
    assert_load_error(b, "ram: unknown flags 0x400");
    g_byte_array_free(b, true);
    /* a delta needs a page received before (migration/ram-xbzrle.c) */
    w[0] = RAM_SAVE_FLAG_XBZRLE;
    b = mk_stream(body_page, w);
    assert_load_error(b, "an XBZRLE record for page 0x0 of block m.ram, "
                      "which was never received");
    g_byte_array_free(b, true);
    /* compress is off here: refused with QEMU 7.2's words */
    w[0] = RAM_SAVE_FLAG_COMPRESS_PAGE;
    b = mk_stream(body_page, w);
    assert_load_error(b, "Received an unexpected compressed page");
    g_byte_array_free(b, true);
    w[0] = RAM_SAVE_FLAG_MULTIFD_FLUSH;
    b = mk_stream(body_page, w);
    assert_load_error(b, "multifd (RAM_SAVE_FLAG_MULTIFD_FLUSH) are not "
                      "supported");
    g_byte_array_free(b, true);
    w[0] = RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_PAGE;
    b = mk_stream(body_page, w);
    assert_load_error(b, "unknown combination of migration flags 0xa");
    g_byte_array_free(b, true);
    /* RAM: CONTINUE as the very first page record */
    w[0] = RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_CONTINUE;
    b = mk_stream(body_page, w);
    assert_load_error(b, "CONTINUE with no previous block");
    g_byte_array_free(b, true);
    /* RAM: page of an unknown block; nonzero fill byte */
    w[0] = RAM_SAVE_FLAG_ZERO;
    w[1] = 1;
    b = mk_stream(body_page, w);
    assert_load_error(b, "unknown ramblock \"other\" in a ZERO record");
    g_byte_array_free(b, true);
    w[1] = 0;
    b = mk_stream(body_page, w);
    b->data[sizeof(golden_header) + 17 + 8 + 6] = 0x01;
    assert_load_error(b, "fill byte 0x01 (must be 0)");
    g_byte_array_free(b, true);

    /* Trailing bytes after EOF that are not a vmdesc are not an error. */
    b = g_byte_array_new();
    g_byte_array_append(b, ok->data, ok->len);
    b8(b, 0x99);
    g_assert_true(load_bytes(b->data, b->len, &error_abort));
    g_byte_array_free(b, true);

    /* Truncated at every offset. */
    for (size_t off = 0; off < ok->len; off++) {
        Error *err = NULL;

        g_assert_false(load_bytes(ok->data, off, &err));
        g_assert(err);
        error_free(err);
    }
    qemu_ram_free(rb);
}

/* ------------------------------------------------------------ round trip */

static void test_round_trip(void)
{
    RAMBlock *a = new_block("rt.a", 64 * TPS);
    RAMBlock *c = new_block("rt.b", 16 * TPS);
    MigrationStats *st = &migrate_get_current()->stats;
    g_autofree uint8_t *ca = g_malloc(64 * TPS);
    g_autofree uint8_t *cc = g_malloc(16 * TPS);
    GRand *r = g_rand_new_with_seed(1234);
    uint64_t zero = 0, pages = 0;
    QIOChannelBuffer *bioc;
    QEMUFile *f;
    int i, ret;

    memset(st, 0, sizeof(*st));
    for (i = 0; i < 64 * TPS; i += 4) {
        *(uint32_t *)(a->host + i) = g_rand_int(r);
    }
    for (i = 0; i < 16 * TPS; i += 4) {
        *(uint32_t *)(c->host + i) = g_rand_int(r);
    }
    /* Some zero pages in both blocks. */
    for (i = 0; i < 64; i += 5) {
        memset(a->host + i * TPS, 0, TPS);
        zero++;
    }
    memset(c->host + 3 * TPS, 0, TPS);
    zero++;
    memcpy(ca, a->host, 64 * TPS);
    memcpy(cc, c->host, 16 * TPS);

    bioc = qio_channel_buffer_new(1 * MiB);
    f = qemu_file_new_output(QIO_CHANNEL(bioc));
    /* A small budget: several iterations. */
    qemu_file_set_rate_limit(f, 16 * TPS);
    qemu_savevm_state_header(f);
    g_assert_true(qemu_savevm_state_setup(f, &error_abort));
    do {
        qemu_file_reset_rate_limit(f);
        ret = qemu_savevm_state_iterate(f);
        g_assert_cmpint(ret, >=, 0);
        pages++;
    } while (ret == 0);
    g_assert_cmpuint(pages, >, 2);
    qemu_file_set_rate_limit(f, 0);
    g_assert_cmpint(qemu_savevm_state_complete_precopy(f, &error_abort), ==,
                    0);
    qemu_savevm_state_cleanup();
    g_assert_cmpint(qemu_fclose(f), ==, 0);
    g_assert_cmpuint(st->zero_pages, ==, zero);
    g_assert_cmpuint(st->normal_pages, ==, 80 - zero);
    g_assert_cmpuint(st->dirty_sync_count, ==, 2);

    memset(a->host, 0x55, 64 * TPS);
    memset(c->host, 0, 16 * TPS);
    g_assert_true(load_bytes(bioc->data, bioc->usage, &error_abort));
    g_assert(!memcmp(ca, a->host, 64 * TPS));
    g_assert(!memcmp(cc, c->host, 16 * TPS));
    qio_channel_unref(QIO_CHANNEL(bioc));
    g_rand_free(r);
    qemu_ram_free(a);
    qemu_ram_free(c);
}

/* ------------------------------------------------------------ registry */

typedef struct Dev {
    uint32_t v;
} Dev;

static const VMStateDescription vmstate_dev = {
    .name = "test-dev",
    .version_id = 2,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(v, Dev),
        VMSTATE_END_OF_LIST()
    },
};

static void test_registry(void)
{
    Dev d0 = { 1 }, d1 = { 2 }, d2 = { 3 };

    g_assert_cmpint(vmstate_register(NULL, VMSTATE_INSTANCE_ID_ANY,
                                     &vmstate_dev, &d0), ==, 0);
    g_assert_cmpint(vmstate_register(NULL, 5, &vmstate_dev, &d1), ==, 0);
    /* ANY after 5 is 6; a duplicate explicit id is refused */
    g_assert_cmpint(vmstate_register(NULL, VMSTATE_INSTANCE_ID_ANY,
                                     &vmstate_dev, &d2), ==, 0);
    g_assert_cmpint(vmstate_register(NULL, 5, &vmstate_dev, &d2), ==, -1);
    {
        g_autoptr(GByteArray) b = g_byte_array_new();

        g_byte_array_append(b, golden_header, sizeof(golden_header));
        b8(b, QEMU_VM_SECTION_FULL);
        b32(b, 42);
        bstr(b, "test-dev");
        b32(b, 6);                      /* instance 6 is d2 */
        b32(b, 1);                      /* version 1 */
        b32(b, 0xabcd);
        b8(b, QEMU_VM_SECTION_FOOTER);
        b32(b, 42);
        b8(b, QEMU_VM_EOF);
        g_assert_true(load_bytes(b->data, b->len, &error_abort));
        g_assert_cmpuint(d2.v, ==, 0xabcd);
        g_assert_cmpuint(d0.v, ==, 1);
    }
    vmstate_unregister(NULL, &vmstate_dev, &d0);
    vmstate_unregister(NULL, &vmstate_dev, &d1);
    vmstate_unregister(NULL, &vmstate_dev, &d2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    migration_object_init();
    register_global_state();

    g_test_add_func("/savevm/header/plain", test_header_plain);
    g_test_add_func("/savevm/header/uuid", test_header_uuid);
    g_test_add_func("/savevm/header/capabilities", test_header_caps);
    g_test_add_func("/savevm/commands", test_commands);
    g_test_add_func("/savevm/ram/stream", test_ram_stream);
    g_test_add_func("/savevm/ram/round-trip", test_round_trip);
    g_test_add_func("/savevm/load/malformed", test_malformed);
    g_test_add_func("/savevm/registry", test_registry);
    return g_test_run();
}
