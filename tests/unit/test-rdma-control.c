/*
 * RDMA control protocol: encoding, decoding and the receiver's checks
 * (migration/rdma-control.c), byte for byte against the layouts of
 * docs/devel/migration/rdma.rst, and the rdma: URI parser.  Needs no RDMA
 * device and runs in every build.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "migration/rdma-control.h"

/* ------------------------------------------------------------ golden bytes */

static void test_header_layout(void)
{
    /* QEMU_FILE, 0x20 bytes, repeat 1: len, type, repeat, padding 0 */
    static const uint8_t golden[RDMA_CONTROL_HEADER_SIZE] = {
        0x00, 0x00, 0x00, 0x20,     /* be32 len */
        0x00, 0x00, 0x00, 0x03,     /* be32 type QEMU_FILE */
        0x00, 0x00, 0x00, 0x01,     /* be32 repeat */
        0x00, 0x00, 0x00, 0x00,     /* padding */
    };
    RDMAControlHeader h = { .len = 0x20, .type = RDMA_CONTROL_QEMU_FILE,
                            .repeat = 1 }, back;
    uint8_t buf[RDMA_CONTROL_HEADER_SIZE];

    memset(buf, 0xaa, sizeof(buf));
    rdma_control_header_put(buf, &h);
    g_assert_cmpmem(buf, sizeof(buf), golden, sizeof(golden));
    rdma_control_header_get(buf, &back);
    g_assert_cmpuint(back.len, ==, 0x20);
    g_assert_cmpuint(back.type, ==, RDMA_CONTROL_QEMU_FILE);
    g_assert_cmpuint(back.repeat, ==, 1);
}

static void test_entries_layout(void)
{
    static const uint8_t golden_block[RDMA_DEST_BLOCK_SIZE] = {
        0x00, 0x00, 0x7f, 0x00, 0x12, 0x34, 0x50, 0x00, /* remote_host_addr */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, /* offset */
        0x00, 0x00, 0x00, 0x00, 0x09, 0x60, 0x00, 0x00, /* length */
        0xca, 0xfe, 0x00, 0x01,                         /* remote_rkey */
        0x00, 0x00, 0x00, 0x00,                         /* pad */
    };
    static const uint8_t golden_reg[RDMA_REGISTER_SIZE] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x10, 0x00, /* key */
        0x00, 0x00, 0x00, 0x02,                         /* current_index */
        0x00, 0x00, 0x00, 0x00,                         /* pad */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* chunks */
    };
    static const uint8_t golden_res[RDMA_REGISTER_RESULT_SIZE] = {
        0x00, 0x00, 0x12, 0x34,                         /* rkey */
        0x00, 0x00, 0x00, 0x00,                         /* pad */
        0x00, 0x00, 0x7f, 0x00, 0x12, 0x34, 0x50, 0x00, /* host_addr */
    };
    static const uint8_t golden_cmp[RDMA_COMPRESS_SIZE] = {
        0x00, 0x00, 0x00, 0x00,                         /* value */
        0x00, 0x00, 0x00, 0x01,                         /* block_idx */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x30, 0x00, /* offset */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, /* length */
    };
    RDMADestBlock b = { 0x7f0012345000ULL, 0x100000, 0x9600000, 0xcafe0001 };
    RDMARegister r = { .key = 0x301000, .current_index = 2, .chunks = 0 };
    RDMARegisterResult res = { .rkey = 0x1234, .host_addr = 0x7f0012345000ULL };
    RDMACompress c = { .value = 0, .block_idx = 1, .offset = 0x203000,
                       .length = 0x2000 };
    uint8_t buf[32];
    RDMADestBlock b2;
    RDMARegister r2;
    RDMARegisterResult res2;
    RDMACompress c2;
    RDMACapabilities caps = { RDMA_CONTROL_VERSION_CURRENT,
                              RDMA_CAPABILITY_PIN_ALL }, caps2;
    static const uint8_t golden_caps[RDMA_CAPS_SIZE] = {
        0, 0, 0, 1, 0, 0, 0, 1,
    };

    memset(buf, 0xaa, sizeof(buf));
    rdma_dest_block_put(buf, &b);
    g_assert_cmpmem(buf, RDMA_DEST_BLOCK_SIZE, golden_block,
                    sizeof(golden_block));
    rdma_dest_block_get(buf, &b2);
    g_assert_cmphex(b2.remote_host_addr, ==, b.remote_host_addr);
    g_assert_cmphex(b2.offset, ==, b.offset);
    g_assert_cmphex(b2.length, ==, b.length);
    g_assert_cmphex(b2.remote_rkey, ==, b.remote_rkey);

    memset(buf, 0xaa, sizeof(buf));
    rdma_register_put(buf, &r);
    g_assert_cmpmem(buf, RDMA_REGISTER_SIZE, golden_reg, sizeof(golden_reg));
    rdma_register_get(buf, &r2);
    g_assert_cmphex(r2.key, ==, r.key);
    g_assert_cmpuint(r2.current_index, ==, 2);
    g_assert_cmpuint(r2.chunks, ==, 0);

    memset(buf, 0xaa, sizeof(buf));
    rdma_register_result_put(buf, &res);
    g_assert_cmpmem(buf, RDMA_REGISTER_RESULT_SIZE, golden_res,
                    sizeof(golden_res));
    rdma_register_result_get(buf, &res2);
    g_assert_cmphex(res2.rkey, ==, res.rkey);
    g_assert_cmphex(res2.host_addr, ==, res.host_addr);

    memset(buf, 0xaa, sizeof(buf));
    rdma_compress_put(buf, &c);
    g_assert_cmpmem(buf, RDMA_COMPRESS_SIZE, golden_cmp, sizeof(golden_cmp));
    rdma_compress_get(buf, &c2);
    g_assert_cmpuint(c2.block_idx, ==, 1);
    g_assert_cmphex(c2.offset, ==, c.offset);
    g_assert_cmphex(c2.length, ==, c.length);

    rdma_caps_put(buf, &caps);
    g_assert_cmpmem(buf, RDMA_CAPS_SIZE, golden_caps, sizeof(golden_caps));
    g_assert_true(rdma_caps_get(buf, RDMA_CAPS_SIZE, &caps2, &error_abort));
    g_assert_cmpuint(caps2.flags, ==, RDMA_CAPABILITY_PIN_ALL);
}

/* ------------------------------------------------------------ checks */

/* A message in a receive buffer: header + @len payload bytes. */
static size_t make_msg(uint8_t *buf, uint32_t type, uint32_t len,
                       uint32_t repeat)
{
    RDMAControlHeader h = { .len = len, .type = type, .repeat = repeat };

    rdma_control_header_put(buf, &h);
    memset(buf + RDMA_CONTROL_HEADER_SIZE, 0, len);
    return RDMA_CONTROL_HEADER_SIZE + len;
}

typedef struct CheckCase {
    const char *name;
    uint32_t type;
    uint32_t len;            /* in the header */
    size_t byte_len;         /* received; 0 = header + len */
    uint32_t expect;
    const char *error;       /* NULL: accepted */
} CheckCase;

static const CheckCase check_cases[] = {
    { "/rdma/control/check/ok/qemu-file", RDMA_CONTROL_QEMU_FILE, 100, 0,
      RDMA_CONTROL_QEMU_FILE, NULL },
    { "/rdma/control/check/ok/any-type", RDMA_CONTROL_COMPRESS,
      RDMA_COMPRESS_SIZE, 0, RDMA_CONTROL_NONE, NULL },
    { "/rdma/control/check/ok/ready", RDMA_CONTROL_READY, 0, 0,
      RDMA_CONTROL_READY, NULL },
    { "/rdma/control/check/bad-type/unknown", 12, 0, 0, RDMA_CONTROL_NONE,
      "unknown type 12" },
    { "/rdma/control/check/bad-type/huge", 0x80000003, 0, 0,
      RDMA_CONTROL_NONE, "unknown type 2147483651" },
    { "/rdma/control/check/bad-type/none", RDMA_CONTROL_NONE, 0, 0,
      RDMA_CONTROL_NONE, "unknown type 0" },
    { "/rdma/control/check/bad-type/unexpected", RDMA_CONTROL_REGISTER_RESULT,
      16, 0, RDMA_CONTROL_QEMU_FILE,
      "was expecting a QEMU_FILE (3) control message, but got: "
      "REGISTER_RESULT (8)" },
    { "/rdma/control/check/bad-type/peer-error", RDMA_CONTROL_ERROR, 0, 0,
      RDMA_CONTROL_READY, "the peer sent ERROR while READY was expected" },
    { "/rdma/control/check/length/past-buffer", RDMA_CONTROL_QEMU_FILE,
      RDMA_CONTROL_MAX_BUFFER - RDMA_CONTROL_HEADER_SIZE + 1, 64,
      RDMA_CONTROL_QEMU_FILE, "too long length: 524273" },
    { "/rdma/control/check/length/past-received", RDMA_CONTROL_QEMU_FILE,
      200, 100 + RDMA_CONTROL_HEADER_SIZE, RDMA_CONTROL_QEMU_FILE,
      "malformed length: 200 byte_len 116" },
    { "/rdma/control/check/length/short-of-received", RDMA_CONTROL_QEMU_FILE,
      10, 100 + RDMA_CONTROL_HEADER_SIZE, RDMA_CONTROL_QEMU_FILE,
      "malformed length: 10 byte_len 116" },
    { "/rdma/control/check/length/no-header", RDMA_CONTROL_READY, 0, 15,
      RDMA_CONTROL_READY, "shorter than its 16-byte header" },
};

static void test_check(gconstpointer opaque)
{
    const CheckCase *c = opaque;
    g_autofree uint8_t *buf = g_malloc0(RDMA_CONTROL_MAX_BUFFER);
    size_t n = make_msg(buf, c->type, MIN(c->len, RDMA_CONTROL_MAX_BUFFER -
                                          RDMA_CONTROL_HEADER_SIZE), 1);
    RDMAControlHeader h;
    Error *err = NULL;
    bool ok;

    /* the header says c->len even where the bytes are fewer */
    stl_be_p(buf, c->len);
    if (c->byte_len) {
        n = c->byte_len;
    }
    ok = rdma_control_check(buf, n, c->expect, &h, &err);
    if (!c->error) {
        g_assert_null(err);
        g_assert_true(ok);
        g_assert_cmpuint(h.type, ==, c->type);
        g_assert_cmpuint(h.len, ==, c->len);
        return;
    }
    g_assert_false(ok);
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), c->error)) {
        g_error("error '%s' does not say '%s'", error_get_pretty(err),
                c->error);
    }
    error_free(err);
}

/* @errp is read after the call that fills it (argument order is unspecified) */
static void expect_error(bool ok, Error **errp, const char *what)
{
    Error *err = *errp;

    *errp = NULL;
    g_assert_false(ok);
    g_assert_nonnull(err);
    if (!strstr(error_get_pretty(err), what)) {
        g_error("error '%s' does not say '%s'", error_get_pretty(err), what);
    }
    error_free(err);
}

static void test_entries_count(void)
{
    RDMAControlHeader h = { .type = RDMA_CONTROL_REGISTER_REQUEST };
    Error *err = NULL;

    h.repeat = 2;
    h.len = 2 * RDMA_REGISTER_SIZE;
    g_assert_true(rdma_control_check_entries(&h, RDMA_REGISTER_SIZE,
                                             RDMA_CONTROL_MAX_COMMANDS_PER_MESSAGE,
                                             &error_abort));
    /* count too large for the limit */
    h.repeat = RDMA_CONTROL_MAX_COMMANDS_PER_MESSAGE + 1;
    h.len = RDMA_CONTROL_MAX_BUFFER - RDMA_CONTROL_HEADER_SIZE;
    expect_error(rdma_control_check_entries(&h, RDMA_REGISTER_SIZE,
                                            RDMA_CONTROL_MAX_COMMANDS_PER_MESSAGE,
                                            &err), &err,
                 "REGISTER_REQUEST control message: too many requests in "
                 "this message (repeat 4097, at most 4096)");
    /* count within the limit, but the entries do not fit the length */
    h.repeat = 3;
    h.len = 2 * RDMA_REGISTER_SIZE;
    expect_error(rdma_control_check_entries(&h, RDMA_REGISTER_SIZE,
                                            RDMA_CONTROL_MAX_COMMANDS_PER_MESSAGE,
                                            &err), &err,
                 "repeat 3 entries of 24 bytes do not fit its length 48");
    /* zero entries */
    h.repeat = 0;
    expect_error(rdma_control_check_entries(&h, RDMA_REGISTER_SIZE, 1, &err),
                 &err, "repeat is 0");
    /* COMPRESS takes exactly one */
    h.type = RDMA_CONTROL_COMPRESS;
    h.repeat = 2;
    h.len = 2 * RDMA_COMPRESS_SIZE;
    expect_error(rdma_control_check_entries(&h, RDMA_COMPRESS_SIZE, 1, &err),
                 &err, "COMPRESS control message: too many requests");
}

static void test_block_index(void)
{
    Error *err = NULL;

    g_assert_true(rdma_check_block_index("register", 1, 2, &error_abort));
    expect_error(rdma_check_block_index("register", 2, 2, &err), &err,
                 "'register' bad block index 2 (vs 2)");
    expect_error(rdma_check_block_index("compress", UINT32_MAX, 2, &err), &err,
                 "'compress' bad block index 4294967295 (vs 2)");
}

static void test_register_range(void)
{
    /* block at ram_addr 0x100000, 3 MiB + 4 KiB: 4 chunks */
    const uint64_t off = 0x100000, len = 0x301000;
    RDMARegister r = { .key = off, .current_index = 0 };
    Error *err = NULL;

    g_assert_true(rdma_check_register(&r, off, len, &error_abort));
    r.key = off + len - 0x1000;
    g_assert_true(rdma_check_register(&r, off, len, &error_abort));
    r.key = off - 0x1000;
    expect_error(rdma_check_register(&r, off, len, &err), &err,
                 "bad register address 0xff000");
    r.key = off + len;
    expect_error(rdma_check_register(&r, off, len, &err), &err,
                 "bad register address 0x401000");
    r.key = off;
    r.chunks = 4;
    expect_error(rdma_check_register(&r, off, len, &err), &err,
                 "4 extra chunks for block 0 of 4 chunks");
}

static void test_blocks_result(void)
{
    RDMAControlHeader h = { .type = RDMA_CONTROL_RAM_BLOCKS_RESULT,
                            .len = 2 * RDMA_DEST_BLOCK_SIZE, .repeat = 1 };
    Error *err = NULL;

    g_assert_true(rdma_check_blocks_result(&h, 2, &error_abort));
    expect_error(rdma_check_blocks_result(&h, 3, &err), &err,
                 "ram blocks mismatch (Number of blocks 2 vs 3)");
    h.len = 2 * RDMA_DEST_BLOCK_SIZE + 1;
    expect_error(rdma_check_blocks_result(&h, 2, &err), &err,
                 "length 65 is not a multiple of 32");
}

static void test_compress_range(void)
{
    const uint64_t off = 0x200000, len = 0x100000;
    RDMACompress c = { .value = 0, .block_idx = 1, .offset = off,
                       .length = len };
    Error *err = NULL;

    g_assert_true(rdma_check_compress(&c, off, len, &error_abort));
    c.offset = off + len - 0x1000;
    c.length = 0x2000;
    expect_error(rdma_check_compress(&c, off, len, &err), &err,
                 "is outside block 1");
    c.offset = off + 0x1000;
    c.length = UINT64_MAX;      /* offset + length wraps */
    expect_error(rdma_check_compress(&c, off, len, &err), &err,
                 "is outside block 1");
    c.offset = off - 1;
    c.length = 1;
    expect_error(rdma_check_compress(&c, off, len, &err), &err,
                 "is outside block 1");
    c.offset = off;
    c.length = 0x1000;
    c.value = 0x100;
    expect_error(rdma_check_compress(&c, off, len, &err), &err,
                 "fill value 256 is not a byte");
}

static void test_caps(void)
{
    uint8_t buf[RDMA_CAPS_SIZE] = { 0, 0, 0, 2, 0, 0, 0, 0 };
    RDMACapabilities c;
    Error *err = NULL;

    expect_error(rdma_caps_get(buf, sizeof(buf), &c, &err), &err,
                 "unknown source RDMA version: 2");
    expect_error(rdma_caps_get(buf, 4, &c, &err), &err,
                 "private data of 4 bytes holds no capabilities");
    expect_error(rdma_caps_get(NULL, 8, &c, &err), &err,
                 "private data of 0 bytes");
    /* padding after the 8 bytes (transports may add some) is ignored */
    {
        uint8_t padded[56] = { 0, 0, 0, 1, 0, 0, 0, 0 };

        g_assert_true(rdma_caps_get(padded, sizeof(padded), &c,
                                    &error_abort));
        g_assert_cmpuint(c.flags, ==, 0);
    }
}

static void test_names(void)
{
    g_assert_cmpstr(rdma_control_name(RDMA_CONTROL_QEMU_FILE), ==,
                    "QEMU_FILE");
    g_assert_cmpstr(rdma_control_name(RDMA_CONTROL_UNREGISTER_FINISHED), ==,
                    "UNREGISTER_FINISHED");
    g_assert_cmpstr(rdma_control_name(RDMA_CONTROL_TYPE_COUNT), ==,
                    "UNKNOWN");
    g_assert_cmpuint(rdma_nb_chunks(0x100000), ==, 2);
    g_assert_cmpuint(rdma_nb_chunks(0xfffff), ==, 1);
}

/* ------------------------------------------------------------ URI */

typedef struct UriCase {
    const char *name;
    const char *str;         /* after "rdma:" */
    const char *host;        /* NULL: rejected */
    const char *port;
    const char *error;
} UriCase;

static const UriCase uri_cases[] = {
    { "/rdma/uri/good/ipv4", "192.168.1.2:29200", "192.168.1.2", "29200" },
    { "/rdma/uri/good/name", "dest.example:4444", "dest.example", "4444" },
    { "/rdma/uri/good/ipv6", "[fd00::1]:29200", "fd00::1", "29200" },
    { "/rdma/uri/good/ipv6-any", "[::]:0", "::", "0" },
    { "/rdma/uri/good/link-local", "[fe80::1%eth0]:29200", "fe80::1%eth0",
      "29200" },
    { "/rdma/uri/bad/no-port", "192.168.1.2", NULL, NULL, "has no port" },
    { "/rdma/uri/bad/empty-port", "192.168.1.2:", NULL, NULL,
      "port '' is not a number" },
    { "/rdma/uri/bad/port-range", "host:65536", NULL, NULL,
      "port '65536' is not a number 0..65535" },
    { "/rdma/uri/bad/port-text", "host:http", NULL, NULL,
      "port 'http' is not a number" },
    { "/rdma/uri/bad/port-sign", "host:-1", NULL, NULL,
      "port '-1' is not a number" },
    { "/rdma/uri/bad/no-host", ":4444", NULL, NULL, "has no host" },
    { "/rdma/uri/bad/ipv6-unbracketed", "fd00::1:4444", NULL, NULL,
      "an IPv6 address goes in brackets" },
    { "/rdma/uri/bad/ipv6-unclosed", "[fd00::1:4444", NULL, NULL,
      "needs the form [ADDRESS]:PORT" },
    { "/rdma/uri/bad/ipv6-no-port", "[fd00::1]", NULL, NULL,
      "expected ':PORT' after ']'" },
    { "/rdma/uri/bad/ipv6-empty", "[]:4444", NULL, NULL,
      "needs the form [ADDRESS]:PORT" },
    { "/rdma/uri/bad/empty", "", NULL, NULL, "has no port" },
};

static void test_uri(gconstpointer opaque)
{
    const UriCase *c = opaque;
    g_autofree char *host = NULL;
    g_autofree char *port = NULL;
    Error *err = NULL;
    bool ok = rdma_parse_host_port(c->str, &host, &port, &err);

    if (c->host) {
        g_assert_null(err);
        g_assert_true(ok);
        g_assert_cmpstr(host, ==, c->host);
        g_assert_cmpstr(port, ==, c->port);
        return;
    }
    g_assert_null(host);
    expect_error(ok, &err, c->error);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rdma/control/layout/header", test_header_layout);
    g_test_add_func("/rdma/control/layout/entries", test_entries_layout);
    for (size_t i = 0; i < G_N_ELEMENTS(check_cases); i++) {
        g_test_add_data_func(check_cases[i].name, &check_cases[i],
                             test_check);
    }
    g_test_add_func("/rdma/control/check/count", test_entries_count);
    g_test_add_func("/rdma/control/check/block-index", test_block_index);
    g_test_add_func("/rdma/control/check/register-range",
                    test_register_range);
    g_test_add_func("/rdma/control/check/blocks-result", test_blocks_result);
    g_test_add_func("/rdma/control/check/compress-range",
                    test_compress_range);
    g_test_add_func("/rdma/control/check/caps", test_caps);
    g_test_add_func("/rdma/control/names", test_names);
    for (size_t i = 0; i < G_N_ELEMENTS(uri_cases); i++) {
        g_test_add_data_func(uri_cases[i].name, &uri_cases[i], test_uri);
    }
    return g_test_run();
}
