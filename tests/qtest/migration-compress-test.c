/*
 * Compression threads (capability compress, QEMU 7.2; migration/ram-compress.c).
 *
 * /migration/precopy/unix/compress/...: a running guest migrates over a
 *   unix socket with compress on at both ends, as 7.2's tests do: a-b with
 *   compress-wait-thread on and off (check_guests_ram on the destination),
 *   a-b with compress-level 0 and 9 on one thread each way, and the verify
 *   guest on 2 vCPUs left running 10 s on the destination (no 'F').  Each
 *   checks that pages really went compressed (query-migrate "compression",
 *   HMP "info migrate" and "info migrate_parameters").
 *
 * /migration/compress/bad-record/...: a destination with compress on is fed
 *   a stream whose ram section carries a bad COMPRESS_PAGE record (N past
 *   compressBound, garbage, a stream inflating to less or more than a
 *   page, an unknown block, an offset past the block, a cut stream).  It
 *   must fail cleanly: exit status 1 with the error naming the block or
 *   what was wrong, never a signal.
 *
 * /migration/compress/dest-off: a live source with compress on migrates to
 *   a destination with compress off: the destination refuses "an
 *   unexpected compressed page", and the source's guest runs on untouched.
 *
 * /migration/compress/compat/godwit-to-qemu: Godwit's compressed stream is
 *   loaded by stock QEMU 7.2 (with compress on), which must get through
 *   the whole RAM section and stop only at Godwit's first device section.
 * /migration/compress/compat/qemu-to-godwit: the COMPRESS_PAGE records of
 *   stock QEMU 7.2's stream (a running a-b guest), replayed into a Godwit
 *   destination, must inflate to what zlib makes of QEMU's bytes (QEMU's
 *   flash blocks keep its stream from loading as it is; see the case).
 * Both compat cases are skipped without qemu-system-riscv64.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <zlib.h>

#include "libqtest.h"
#include "migration-helpers.h"

#define MEM "150M"

/* ------------------------------------------------------------ live */

typedef struct LiveCase {
    const char *name;
    const char *guest;
    int smp;
    int level;
    int threads;
    int dthreads;
    bool wait;
    int dest_run_secs;          /* verify guest: run this long after */
} LiveCase;

static JsonObject *compression_stats(QTestState *who)
{
    JsonObject *info = migrate_query(who);
    JsonObject *c;

    if (!json_object_has_member(info, "compression")) {
        g_autofree char *t = qtest_json_to_string(info);

        g_error("query-migrate has no compression: %s", t);
    }
    c = json_object_ref(json_object_get_object_member(info, "compression"));
    json_object_unref(info);
    return c;
}

static void check_hmp(QTestState *who, const LiveCase *c)
{
    g_autofree char *out = qtest_hmp(who, "info migrate");
    g_autofree char *params = qtest_hmp(who, "info migrate_parameters");
    g_autofree char *lvl = g_strdup_printf("compress-level: %d", c->level);
    g_autofree char *thr = g_strdup_printf("compress-threads: %d",
                                           c->threads);
    g_autofree char *wt = g_strdup_printf("compress-wait-thread: %s",
                                          c->wait ? "on" : "off");
    static const char *const lines[] = {
        "compression pages: ", "compression busy: ",
        "compression busy rate: ", "compressed size: ",
        "compression rate: ",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        if (!strstr(out, lines[i])) {
            g_error("info migrate lacks \"%s\":\n%s", lines[i], out);
        }
    }
    if (!strstr(params, lvl) || !strstr(params, thr) || !strstr(params, wt)) {
        g_error("info migrate_parameters lacks %s / %s / %s:\n%s", lvl, thr,
                wt, params);
    }
}

static void set_compress(QTestState *who, const LiveCase *c)
{
    migrate_set_capability(who, "compress", true);
    migrate_set_parameter_int(who, "compress-level", c->level);
    migrate_set_parameter_int(who, "compress-threads", c->threads);
    migrate_set_parameter_int(who, "decompress-threads", c->dthreads);
    qtest_qmp_assert_success(who, "{\"execute\": \"migrate-set-parameters\", "
                             "\"arguments\": {\"compress-wait-thread\": %s}}",
                             c->wait ? "true" : "false");
}

static void test_live(gconstpointer data)
{
    const LiveCase *c = data;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-compress-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image(c->guest);
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", dir);
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to;
    JsonObject *x;
    int64_t pages, size, busy;

    g_assert_no_error(gerr);
    from = qtest_initf("-M virt -m " MEM " -smp %d -bios none -kernel %s",
                       c->smp, image);
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m " MEM " -smp %d -bios none -kernel %s "
                     "-incoming %s", c->smp, image, uri);

    set_compress(from, c);
    set_compress(to, c);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);

    /* the first pass sends every page; the second finds them dirty again */
    wait_for_migration_pass(from, 3);
    x = compression_stats(from);
    pages = mig_json_int(x, "pages", -1);
    size = mig_json_int(x, "compressed-size", -1);
    busy = mig_json_int(x, "busy", -1);
    g_test_message("after 2 passes: compressed pages %" PRId64 " size %"
                   PRId64 " busy %" PRId64, pages, size, busy);
    /* nowait: the main thread outruns busy threads and sends most plain */
    g_assert_cmpint(pages, >, c->wait ? 1000 : 10);
    g_assert_cmpint(size, >, 0);
    if (c->level == 0) {
        /* level 0 stores: a page and the zlib framing, never less */
        g_assert_cmpint(size, >, pages * (int64_t)MIG_PAGE_SIZE);
    } else if (!strcmp(c->guest, "a-b")) {
        /* a-b pages hold a few non-zero bytes: they compress well */
        g_assert_cmpint(size, <, pages * (int64_t)(MIG_PAGE_SIZE / 4));
    }
    g_assert_cmpint(busy, >=, 0);
    if (c->wait) {
        /* with compress-wait-thread on a page never goes plain for it */
        g_assert_cmpint(busy, ==, 0);
    }
    g_assert_true(json_object_has_member(x, "busy-rate"));
    g_assert_true(json_object_has_member(x, "compression-rate"));
    json_object_unref(x);
    check_hmp(from, c);

    /*
     * The completion threshold is the measured bandwidth times
     * downtime-limit, and the bandwidth counts compressed bytes: an a-b
     * page is ~45 of them, so 1 GB/s x 30 s is not reached.  The largest
     * downtime-limit (2000 s) is.
     */
    migrate_ensure_converge(from);
    migrate_set_parameter_int(from, "downtime-limit", 2000000);
    wait_for_migration_complete(from);
    qtest_qmp_eventwait(from, "STOP");
    wait_for_migration_complete(to);
    mig_check_dest_after_live(to, &dst_pos, c->guest, c->dest_run_secs);
    qtest_quit(to);
    qtest_quit(from);
    unlink(sock);
    rmdir(dir);
}

static const LiveCase live_cases[] = {
    {
        /* 7.2's /migration/precopy/unix/compress/wait */
        .name = "/migration/precopy/unix/compress/wait",
        .guest = "a-b", .smp = 1, .level = 1, .threads = 4, .dthreads = 3,
        .wait = true,
    }, {
        /* 7.2's /migration/precopy/unix/compress/nowait */
        .name = "/migration/precopy/unix/compress/nowait",
        .guest = "a-b", .smp = 1, .level = 1, .threads = 4, .dthreads = 3,
        .wait = false,
    }, {
        .name = "/migration/precopy/unix/compress/level0/one-thread",
        .guest = "a-b", .smp = 1, .level = 0, .threads = 1, .dthreads = 1,
        .wait = true,
    }, {
        .name = "/migration/precopy/unix/compress/level9/one-thread",
        .guest = "a-b", .smp = 1, .level = 9, .threads = 1, .dthreads = 1,
        .wait = true,
    }, {
        .name = "/migration/precopy/unix/compress/verify-guest",
        .guest = "verify", .smp = 2, .level = 1, .threads = 2, .dthreads = 2,
        .wait = false, .dest_run_secs = 10,
    },
};

/* ------------------------------------------------------------ dest off */

static void test_dest_off(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-compress-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", dir);
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);
    g_autofree char *log = g_strdup_printf("%s/dest.log", dir);
    g_autofree char *text = NULL;
    size_t src_pos = 0;
    QTestState *from, *to;

    g_assert_no_error(gerr);
    from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m " MEM " -bios none -kernel %s -D %s "
                     "-incoming %s", image, log, uri);
    migrate_set_capability(from, "compress", true);
    migrate_qmp(from, uri);
    migrate_wait_dest_exit(to, EXIT_FAILURE);
    wait_for_migration_fail(from, true);
    mig_assert_source_alive(from, &src_pos);
    g_assert_true(g_file_get_contents(log, &text, NULL, &gerr));
    g_assert_no_error(gerr);
    g_test_message("destination: %s", text);
    g_assert_nonnull(strstr(text, "Received an unexpected compressed page"));
    qtest_quit(from);
    unlink(log);
    unlink(sock);
    rmdir(dir);
}

/* ------------------------------------------------------------ bad records */

#define F_PAGE      0x008
#define F_EOS       0x010
#define F_CONTINUE  0x020
#define F_COMPRESS  0x100
#define RAM_BLOCK   "riscv_virt_board.ram"
#define MEM_BYTES   (150ULL << 20)

typedef enum BadKind {
    BAD_TOO_LONG,       /* N > compressBound(4096) */
    BAD_GARBAGE,        /* not a zlib stream */
    BAD_SHORT,          /* inflates to 100 bytes */
    BAD_LONG,           /* inflates to 8192 bytes */
    BAD_BLOCK,          /* an unknown block */
    BAD_PAST_END,       /* an offset past the end of the block */
    BAD_CUT,            /* the stream ends inside the data */
} BadKind;

typedef struct BadCase {
    const char *name;
    BadKind kind;
    const char *error;          /* in the destination's error */
} BadCase;

static const BadCase bad_cases[] = {
    { "/migration/compress/bad-record/length-past-bound", BAD_TOO_LONG,
      "more than compressBound" },
    { "/migration/compress/bad-record/garbage", BAD_GARBAGE,
      "not a valid zlib stream" },
    { "/migration/compress/bad-record/short-page", BAD_SHORT,
      "ends after 100 bytes" },
    { "/migration/compress/bad-record/long-page", BAD_LONG,
      "more than the 4096 bytes" },
    { "/migration/compress/bad-record/unknown-block", BAD_BLOCK,
      "unknown ramblock \"no.such.block\"" },
    { "/migration/compress/bad-record/past-block-end", BAD_PAST_END,
      "is outside block " RAM_BLOCK },
    { "/migration/compress/bad-record/truncated", BAD_CUT,
      "compressed page 0x10000 of block " RAM_BLOCK },
};

/* A zlib stream of @n bytes of a pattern (g_free). */
static uint8_t *deflate_pattern(size_t n, uLongf *out_len)
{
    g_autofree uint8_t *src = g_malloc(n);
    uLongf len = compressBound(n);
    uint8_t *out = g_malloc(len);

    for (size_t i = 0; i < n; i++) {
        src[i] = i * 13 + 7;
    }
    g_assert_cmpint(compress2(out, &len, src, n, 6), ==, Z_OK);
    *out_len = len;
    return out;
}

static void test_bad_record(gconstpointer data)
{
    const BadCase *c = data;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-compress-XXXXXX", &err);
    g_autofree char *path = NULL, *log = NULL, *uri = NULL, *text = NULL;
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree uint8_t *z = NULL;
    uint64_t page = 0x10000;            /* in the block, below the guest */
    uLongf zlen = 0;
    uint32_t ram_id;
    GByteArray *b;
    QTestState *to;

    g_assert_no_error(err);
    b = mig_ram_stream_prefix(dir, MEM, &ram_id, NULL);
    mig_put8(b, 0x02);                      /* PART */
    mig_put32(b, ram_id);
    switch (c->kind) {
    case BAD_SHORT:
        z = deflate_pattern(100, &zlen);
        break;
    case BAD_LONG:
        z = deflate_pattern(8192, &zlen);
        break;
    case BAD_GARBAGE:
    case BAD_TOO_LONG:
        zlen = 64;
        z = g_malloc(zlen);
        for (size_t i = 0; i < zlen; i++) {
            z[i] = 0xa5 ^ i;
        }
        break;
    default:
        z = deflate_pattern(4096, &zlen);
        break;
    }
    if (c->kind == BAD_PAST_END) {
        page = MEM_BYTES;
    }
    mig_put64(b, page | F_COMPRESS);
    mig_put_str(b, c->kind == BAD_BLOCK ? "no.such.block" : RAM_BLOCK);
    if (c->kind == BAD_TOO_LONG) {
        mig_put32(b, compressBound(4096) + 1);
        g_byte_array_append(b, z, zlen);
    } else if (c->kind == BAD_CUT) {
        mig_put32(b, zlen);
        g_byte_array_append(b, z, zlen / 2);
    } else {
        mig_put32(b, zlen);
        g_byte_array_append(b, z, zlen);
        mig_put64(b, F_EOS);
        mig_put8(b, 0x7e);
        mig_put32(b, ram_id);
    }
    path = g_strdup_printf("%s/stream", dir);
    g_assert_true(g_file_set_contents(path, (const char *)b->data, b->len,
                                      &err));
    g_assert_no_error(err);
    g_byte_array_unref(b);

    log = g_strdup_printf("%s/dest.log", dir);
    uri = g_strdup_printf("exec:cat %s", path);
    to = qtest_initf("-M virt -m " MEM " -bios none -kernel %s -D %s "
                     "-incoming defer", image, log);
    migrate_set_capability(to, "compress", true);
    migrate_incoming_qmp(to, uri);
    migrate_wait_dest_exit(to, EXIT_FAILURE);
    g_assert_true(g_file_get_contents(log, &text, NULL, &err));
    g_assert_no_error(err);
    g_test_message("destination: %s", text);
    if (!strstr(text, c->error)) {
        g_error("the destination's error lacks \"%s\": %s", c->error, text);
    }
    unlink(path);
    unlink(log);
    rmdir(dir);
}

/* ------------------------------------------------------------ compat */

static const char *stock_qemu(void)
{
    static char *path;

    if (!path) {
        const char *env = g_getenv("GODWIT_COMPAT_QEMU");

        path = env ? g_strdup(env)
                   : g_find_program_in_path("qemu-system-riscv64");
    }
    return path;
}

/* Run @argv to its end; its stderr in *@err.  Returns the wait status. */
static int run_capture(char **argv, char **err)
{
    g_autoptr(GError) gerr = NULL;
    int status = -1;

    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               NULL, err, &status, &gerr));
    g_assert_no_error(gerr);
    return status;
}

static void test_compat_godwit_to_qemu(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = NULL, *file = NULL, *uri = NULL, *err = NULL;
    g_autofree char *incoming = NULL;
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *qemu = NULL;
    QTestState *s;
    JsonObject *x;
    int status;

    if (!stock_qemu()) {
        g_test_skip("qemu-system-riscv64 not installed");
        return;
    }
    qemu = g_strdup(stock_qemu());
    dir = g_dir_make_tmp("godwit-compress-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    file = g_build_filename(dir, "godwit.mig", NULL);
    uri = g_strdup_printf("exec:cat > %s", file);

    /* a guest that ran a while: its a-b pages are not zero */
    s = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    {
        size_t pos = 0;

        wait_for_serial(s, &pos, "AB");
    }
    qtest_qmp_assert_success(s, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(s, "STOP");
    migrate_set_capability(s, "compress", true);
    migrate_qmp(s, uri);
    wait_for_migration_complete(s);
    x = compression_stats(s);
    g_test_message("Godwit sent %" PRId64 " compressed pages",
                   mig_json_int(x, "pages", -1));
    g_assert_cmpint(mig_json_int(x, "pages", -1), >, 1000);
    json_object_unref(x);
    qtest_quit(s);

    /* stock QEMU with compress on loads it up to Godwit's devices */
    incoming = g_strdup_printf("exec:cat %s", file);
    {
        const char *argv[] = {
            qemu, "-M", "virt", "-m", MEM, "-bios", "none",
            "-display", "none", "-nodefaults", "-S", "-monitor", "none",
            "-global", "migration.x-compress=on", "-incoming", incoming, NULL
        };

        status = run_capture((char **)argv, &err);
    }
    g_test_message("QEMU: %s", err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    /* it got through every record of the RAM section */
    g_assert_null(strstr(err, "ramblock"));
    g_assert_null(strstr(err, "compress"));
    g_assert_null(strstr(err, "decompress"));
    g_assert_null(strstr(err, "of device 'ram'"));
    g_assert_null(strstr(err, "bad migration stream"));
    g_assert_nonnull(strstr(err, "Unknown savevm section or instance"));
    unlink(file);
    rmdir(dir);
}

/* One page record of riscv_virt_board.ram taken from QEMU's stream. */
typedef struct QemuRecord {
    uint64_t addr;
    uint32_t flags;             /* without CONTINUE */
    const uint8_t *data;        /* payload (COMPRESS_PAGE: after be32 N) */
    uint32_t len;
} QemuRecord;

/* Offset just after the ram START section (its footer) in @data. */
static size_t after_ram_start(const uint8_t *data, size_t len,
                              uint32_t *ram_id)
{
    static const uint8_t ram_hdr[] = {
        3, 'r', 'a', 'm', 0, 0, 0, 0, 0, 0, 0, 4,
    };
    uint64_t total, seen = 0;
    size_t off = 0;

    for (size_t i = 5; i + sizeof(ram_hdr) <= len; i++) {
        if (data[i - 5] == 0x01 && !memcmp(data + i, ram_hdr,
                                           sizeof(ram_hdr))) {
            off = i;
            break;
        }
    }
    g_assert_cmpuint(off, >, 0);
    *ram_id = (uint32_t)data[off - 4] << 24 | data[off - 3] << 16 |
              data[off - 2] << 8 | data[off - 1];
    off += sizeof(ram_hdr);
    total = mig_get64(data + off) & ~0xfffULL;
    off += 8;
    while (seen < total) {
        off += 1 + data[off];
        seen += mig_get64(data + off);
        off += 8;
        g_assert_cmpuint(off, <, len);
    }
    g_assert_cmpuint(mig_get64(data + off), ==, F_EOS);
    return off + 8 + 5;         /* EOS, footer */
}

/*
 * Walk the ram PART/END sections from @off; the records of @block go to
 * @out (if not NULL).  Returns the offset of the first other section.
 */
static size_t walk_ram_sections(const uint8_t *data, size_t len, size_t off,
                                uint32_t ram_id, const char *block,
                                GArray *out)
{
    char cur[256] = "";

    while (off + 5 <= len && (data[off] == 0x02 || data[off] == 0x03)) {
        uint32_t id = (uint32_t)data[off + 1] << 24 | data[off + 2] << 16 |
                      data[off + 3] << 8 | data[off + 4];

        if (id != ram_id) {
            break;
        }
        off += 5;
        for (;;) {
            uint64_t word = mig_get64(data + off);
            uint32_t flags = word & 0xfff;
            QemuRecord r = { .addr = word & ~0xfffULL,
                             .flags = flags & ~F_CONTINUE };

            off += 8;
            if (flags & F_EOS) {
                break;
            }
            if (!(flags & F_CONTINUE)) {
                memcpy(cur, data + off + 1, data[off]);
                cur[data[off]] = 0;
                off += 1 + data[off];
            }
            if (r.flags == 0x002) {
                r.len = 1;
            } else if (r.flags == F_PAGE) {
                r.len = 4096;
            } else if (r.flags == F_COMPRESS) {
                r.len = (uint32_t)data[off] << 24 | data[off + 1] << 16 |
                        data[off + 2] << 8 | data[off + 3];
                off += 4;
            } else {
                g_error("unexpected record flags 0x%x at %zu", flags, off);
            }
            r.data = data + off;
            off += r.len;
            g_assert_cmpuint(off, <=, len);
            if (out && !strcmp(cur, block)) {
                g_array_append_val(out, r);
            }
        }
        g_assert_cmpuint(data[off], ==, 0x7e);
        off += 5;
    }
    return off;
}

/*
 * Stock QEMU 7.2 migrates a running a-b guest with compress on to a file.
 * Its riscv virt has flash blocks Godwit does not, so the file cannot be
 * loaded as it is: the test takes QEMU's records of riscv_virt_board.ram
 * and replays them, each naming its block, as one more ram PART section
 * after the ram sections of a Godwit stream (a stopped, never run guest:
 * all zero), before its device sections.  The Godwit destination (compress
 * on, -S) must load it, and every page QEMU sent compressed must then hold
 * what zlib's own uncompress() makes of QEMU's bytes.
 */
static void test_compat_qemu_to_godwit(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = NULL, *qfile = NULL, *gfile = NULL;
    g_autofree char *sfile = NULL, *uri = NULL, *incoming = NULL;
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree uint8_t *qdata = NULL, *gdata = NULL;
    g_autofree char *saved_bin = NULL, *saved_extra = NULL;
    g_autoptr(GArray) recs = g_array_new(FALSE, FALSE, sizeof(QemuRecord));
    uint8_t page[4096], got[4096];
    size_t qlen = 0, glen = 0, qoff, goff, insert;
    uint32_t qram, gram;
    unsigned compressed = 0, checked = 0;
    QTestState *q, *s, *to;
    GByteArray *b;

    if (!stock_qemu()) {
        g_test_skip("qemu-system-riscv64 not installed");
        return;
    }
    dir = g_dir_make_tmp("godwit-compress-XXXXXX", &gerr);
    g_assert_no_error(gerr);
    qfile = g_build_filename(dir, "qemu.mig", NULL);
    gfile = g_build_filename(dir, "godwit.mig", NULL);
    sfile = g_build_filename(dir, "spliced.mig", NULL);

    /* stock QEMU: libqtest runs $QTEST_QEMU_BINARY */
    saved_bin = g_strdup(g_getenv("QTEST_QEMU_BINARY"));
    saved_extra = g_strdup(g_getenv("QTEST_EXTRA_ARGS"));
    g_setenv("QTEST_QEMU_BINARY", stock_qemu(), TRUE);
    g_unsetenv("QTEST_EXTRA_ARGS");
    q = qtest_initf("-M virt -m " MEM " -bios none -kernel %s -monitor none "
                    "-qtest-log /dev/null", image);
    g_setenv("QTEST_QEMU_BINARY", saved_bin, TRUE);
    if (saved_extra) {
        g_setenv("QTEST_EXTRA_ARGS", saved_extra, TRUE);
    }
    {
        size_t pos = 0;

        wait_for_serial(q, &pos, "AB");
    }
    qtest_qmp_assert_success(q, "{\"execute\": \"stop\"}");
    migrate_set_capability(q, "compress", true);
    uri = g_strdup_printf("exec:cat > %s", qfile);
    migrate_qmp(q, uri);
    wait_for_migration_complete(q);
    qtest_quit(q);
    g_free(uri);

    /* Godwit's own stream of a never-run guest */
    s = qtest_initf("-M virt -m " MEM " -S -bios none -kernel %s", image);
    uri = g_strdup_printf("exec:cat > %s", gfile);
    migrate_qmp(s, uri);
    wait_for_migration_complete(s);
    qtest_quit(s);

    g_assert_true(g_file_get_contents(qfile, (char **)&qdata, &qlen, &gerr));
    g_assert_true(g_file_get_contents(gfile, (char **)&gdata, &glen, &gerr));
    qoff = after_ram_start(qdata, qlen, &qram);
    walk_ram_sections(qdata, qlen, qoff, qram, RAM_BLOCK, recs);
    goff = after_ram_start(gdata, glen, &gram);
    insert = walk_ram_sections(gdata, glen, goff, gram, RAM_BLOCK, NULL);

    b = g_byte_array_new();
    g_byte_array_append(b, gdata, insert);
    mig_put8(b, 0x02);
    mig_put32(b, gram);
    for (guint i = 0; i < recs->len; i++) {
        QemuRecord *r = &g_array_index(recs, QemuRecord, i);

        mig_put64(b, r->addr | r->flags);
        mig_put_str(b, RAM_BLOCK);
        if (r->flags == F_COMPRESS) {
            mig_put32(b, r->len);
            compressed++;
        }
        g_byte_array_append(b, r->data, r->len);
    }
    mig_put64(b, F_EOS);
    mig_put8(b, 0x7e);
    mig_put32(b, gram);
    g_byte_array_append(b, gdata + insert, glen - insert);
    g_assert_true(g_file_set_contents(sfile, (const char *)b->data, b->len,
                                      &gerr));
    g_byte_array_unref(b);
    g_test_message("QEMU sent %u records of %s, %u compressed", recs->len,
                   RAM_BLOCK, compressed);
    g_assert_cmpuint(compressed, >, 1000);

    to = qtest_initf("-M virt -m " MEM " -S -bios none -kernel %s "
                     "-incoming defer", image);
    migrate_set_capability(to, "compress", true);
    incoming = g_strdup_printf("exec:cat %s", sfile);
    migrate_incoming_qmp(to, incoming);
    wait_for_migration_complete(to);
    for (guint i = 0; i < recs->len; i += 7) {
        QemuRecord *r = &g_array_index(recs, QemuRecord, i);
        uLongf plen = sizeof(page);

        if (r->flags != F_COMPRESS) {
            continue;
        }
        g_assert_cmpint(uncompress(page, &plen, r->data, r->len), ==, Z_OK);
        g_assert_cmpuint(plen, ==, sizeof(page));
        qtest_bufread(to, MIG_DRAM_BASE + r->addr, got, sizeof(got));
        if (memcmp(page, got, sizeof(page))) {
            g_error("page 0x%" PRIx64 " differs from QEMU's", r->addr);
        }
        checked++;
    }
    g_test_message("%u of QEMU's compressed pages checked", checked);
    g_assert_cmpuint(checked, >, 100);
    qtest_quit(to);
    unlink(qfile);
    unlink(gfile);
    unlink(sfile);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(live_cases); i++) {
        g_test_add_data_func(live_cases[i].name, &live_cases[i], test_live);
    }
    g_test_add_func("/migration/compress/dest-off", test_dest_off);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].name, &bad_cases[i],
                             test_bad_record);
    }
    g_test_add_func("/migration/compress/compat/godwit-to-qemu",
                    test_compat_godwit_to_qemu);
    g_test_add_func("/migration/compress/compat/qemu-to-godwit",
                    test_compat_qemu_to_godwit);
    return g_test_run();
}
