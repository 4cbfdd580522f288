/*
 * XBZRLE migrations (capability xbzrle, migration/ram-xbzrle.c).
 *
 * /migration/xbzrle/live/...: a running guest migrates with xbzrle on:
 *   a-b (check_guests_ram on the destination), with the cache resized while
 *   the migration runs; the verify guest on 2 vCPUs left running 10 s on
 *   the destination (no 'F').  Each checks that pages really went as
 *   deltas (query-migrate "xbzrle-cache", HMP "info migrate").
 *
 * /migration/xbzrle/bad-record/...: a destination is fed a stream whose
 *   ram section carries a bad XBZRLE record (for a page it never
 *   received, malformed data, a bad encoding flag, a length past a page,
 *   a stream cut inside the record).  It must fail cleanly: exit status 1
 *   with the error naming the record, never a signal.  The stream is a
 *   real one up to the end of the ram START section (so the header and
 *   configuration are what Godwit writes), then a handmade PART.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "libqtest.h"
#include "migration-helpers.h"

#define MEM "150M"

/* ------------------------------------------------------------ live */

typedef struct LiveCase {
    const char *name;
    const char *guest;
    int smp;
    int64_t cache_size;
    int64_t resize_to;          /* 0: no live resize */
    int dest_run_secs;          /* verify guest: run this long after */
    bool prealloc;              /* -mem-prealloc on both sides */
} LiveCase;

static JsonObject *xbzrle_stats(QTestState *who)
{
    JsonObject *info = migrate_query(who);
    JsonObject *x;

    if (!json_object_has_member(info, "xbzrle-cache")) {
        g_autofree char *t = qtest_json_to_string(info);

        g_error("query-migrate has no xbzrle-cache: %s", t);
    }
    x = json_object_ref(json_object_get_object_member(info, "xbzrle-cache"));
    json_object_unref(info);
    return x;
}

static void check_hmp_lines(QTestState *who, int64_t cache_size)
{
    g_autofree char *out = qtest_hmp(who, "info migrate");
    g_autofree char *want = g_strdup_printf("cache size: %" PRId64 " bytes",
                                            cache_size);
    static const char *const lines[] = {
        "xbzrle transferred: ", "xbzrle pages: ", "xbzrle cache miss: ",
        "xbzrle cache miss rate: ", "xbzrle encoding rate: ",
        "xbzrle overflow: ",
    };

    if (!strstr(out, want)) {
        g_error("info migrate lacks \"%s\":\n%s", want, out);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++) {
        if (!strstr(out, lines[i])) {
            g_error("info migrate lacks \"%s\":\n%s", lines[i], out);
        }
    }
}

static void test_live(gconstpointer data)
{
    const LiveCase *c = data;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-xbzrle-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image(c->guest);
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", dir);
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to;
    JsonObject *x;
    int64_t pages, bytes;

    g_assert_no_error(gerr);
    from = qtest_initf("-M virt -m " MEM " -smp %d -bios none -kernel %s%s",
                       c->smp, image, c->prealloc ? " -mem-prealloc" : "");
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m " MEM " -smp %d -bios none -kernel %s "
                     "-incoming %s%s", c->smp, image, uri,
                     c->prealloc ? " -mem-prealloc" : "");

    migrate_set_capability(from, "xbzrle", true);
    migrate_set_parameter_int(from, "xbzrle-cache-size", c->cache_size);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);

    /* pass 1 sends everything (and fills the cache), then deltas */
    wait_for_migration_pass(from, 4);
    x = xbzrle_stats(from);
    g_assert_cmpint(mig_json_int(x, "cache-size", -1), ==, c->cache_size);
    pages = mig_json_int(x, "pages", -1);
    bytes = mig_json_int(x, "bytes", -1);
    g_test_message("after 3 passes: xbzrle pages %" PRId64 " bytes %" PRId64
                   " cache-miss %" PRId64 " overflow %" PRId64, pages, bytes,
                   mig_json_int(x, "cache-miss", -1),
                   mig_json_int(x, "overflow", -1));
    g_assert_cmpint(mig_json_int(x, "cache-miss", -1), >, 0);
    if (!strcmp(c->guest, "a-b")) {
        /* one byte per page changes: thousands of deltas, a few bytes each */
        g_assert_cmpint(pages, >, 1000);
        g_assert_cmpint(bytes, >, 0);
        g_assert_cmpint(bytes, <, pages * 64);
    }
    g_assert_true(json_object_has_member(x, "cache-miss-rate"));
    g_assert_true(json_object_has_member(x, "encoding-rate"));
    json_object_unref(x);
    check_hmp_lines(from, c->cache_size);

    if (c->resize_to) {
        int64_t before = pages;

        /* applies to the running migration at once */
        migrate_set_parameter_int(from, "xbzrle-cache-size", c->resize_to);
        x = xbzrle_stats(from);
        g_assert_cmpint(mig_json_int(x, "cache-size", -1), ==, c->resize_to);
        json_object_unref(x);
        wait_for_migration_pass(from,
                                migrate_ram_counter(from,
                                                    "dirty-sync-count") + 2);
        x = xbzrle_stats(from);
        g_assert_cmpint(mig_json_int(x, "pages", -1), >, before);
        json_object_unref(x);
        check_hmp_lines(from, c->resize_to);
    }

    migrate_ensure_converge(from);
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
        .name = "/migration/xbzrle/live/a-b/resize",
        .guest = "a-b", .smp = 1,
        .cache_size = 32 * 1024 * 1024,
        .resize_to = 256 * 1024 * 1024,
    }, {
        .name = "/migration/xbzrle/live/verify-guest",
        .guest = "verify", .smp = 2,
        .cache_size = 64 * 1024 * 1024,
        .dest_run_secs = 10,
    }, {
        /*
         * Populated memory on both sides: the destination takes its
         * never-written maps and skips ZERO records for those pages, so
         * every PAGE and XBZRLE write must clear the page's bit first; the
         * verify guest turns pages zero and non-zero again, so a ZERO
         * record skipped after an XBZRLE write shows as an 'F'.
         */
        .name = "/migration/xbzrle/live/verify-guest/prealloc",
        .guest = "verify", .smp = 2,
        .cache_size = 64 * 1024 * 1024,
        .dest_run_secs = 5,
        .prealloc = true,
    },
};

/* ------------------------------------------------------------ bad records */

#define F_ZERO      0x002
#define F_PAGE      0x008
#define F_EOS       0x010
#define F_CONTINUE  0x020
#define F_XBZRLE    0x040
#define RAM_BLOCK   "riscv_virt_board.ram"

typedef struct BadCase {
    const char *name;
    bool send_page_first;       /* a PAGE for the page before the record */
    uint8_t flag;               /* encoding flag */
    uint16_t len;               /* encoded length */
    const uint8_t *data;        /* len bytes (NULL: cut the stream here) */
    const char *error;          /* in the destination's error */
} BadCase;

static const uint8_t empty_data_run[] = { 0x00, 0x00, 0x01 };
static const uint8_t good_delta[] = { 0x00, 0x01, 0x42 };
static const uint8_t past_page[] = { 0xff, 0x1f, 0x02, 0x42, 0x43 };

static const BadCase bad_cases[] = {
    {
        "/migration/xbzrle/bad-record/never-received", false,
        0x01, sizeof(good_delta), good_delta, "which was never received",
    }, {
        "/migration/xbzrle/bad-record/malformed", true,
        0x01, sizeof(empty_data_run), empty_data_run, "empty data run",
    }, {
        "/migration/xbzrle/bad-record/past-page", true,
        0x01, sizeof(past_page), past_page, "goes past the end of the",
    }, {
        "/migration/xbzrle/bad-record/encoding-flag", true,
        0x02, sizeof(good_delta), good_delta, "encoding flag 0x02",
    }, {
        "/migration/xbzrle/bad-record/too-long", true,
        0x01, 4097, NULL, "more than a page",
    }, {
        "/migration/xbzrle/bad-record/truncated", true,
        0x01, 100, NULL, "encoded bytes of an XBZRLE record",
    },
};

static void test_bad_record(gconstpointer data)
{
    const BadCase *c = data;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-xbzrle-XXXXXX", &err);
    g_autofree char *path = NULL, *log = NULL, *uri = NULL, *text = NULL;
    g_autofree char *image = qtest_guest_image("a-b");
    const uint64_t page = 0x10000;      /* in the block, below the guest */
    uint8_t fill[4096];
    uint32_t ram_id;
    GByteArray *b;
    QTestState *to;

    g_assert_no_error(err);
    b = mig_ram_stream_prefix(dir, MEM, &ram_id, NULL);
    mig_put8(b, 0x02);                      /* PART */
    mig_put32(b, ram_id);
    if (c->send_page_first) {
        mig_put64(b, page | F_PAGE);
        mig_put_str(b, RAM_BLOCK);
        memset(fill, 0x5a, sizeof(fill));
        g_byte_array_append(b, fill, sizeof(fill));
        mig_put64(b, page | F_XBZRLE | F_CONTINUE);
    } else {
        mig_put64(b, page | F_XBZRLE);
        mig_put_str(b, RAM_BLOCK);
    }
    mig_put8(b, c->flag);
    mig_put16(b, c->len);
    if (c->data) {
        g_byte_array_append(b, c->data, c->len);
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
    migrate_incoming_qmp(to, uri);
    migrate_wait_dest_exit(to, EXIT_FAILURE);
    g_assert_true(g_file_get_contents(log, &text, NULL, &err));
    g_assert_no_error(err);
    g_test_message("destination: %s", text);
    if (!strstr(text, c->error)) {
        g_error("the destination's error lacks \"%s\": %s", c->error, text);
    }
    g_assert_nonnull(strstr(text, "XBZRLE record"));
    unlink(path);
    unlink(log);
    rmdir(dir);
}

/*
 * The destination's never-written map (taken at load setup on populated
 * memory) lets it skip ZERO records for pages nothing wrote.  An XBZRLE
 * record writes a page without a PAGE record, so it must clear the page's
 * bit: ZERO, XBZRLE (non-zero), a ZERO elsewhere (the loader's per-chunk
 * cache moves away), ZERO must leave the page zero.  Fails when
 * the XBZRLE load path forgets to clear the bit (the second ZERO and the
 * stream's own later ZERO are then skipped).
 */
static void test_zero_after_delta(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-xbzrle-XXXXXX", &err);
    g_autofree char *path = NULL, *uri = NULL;
    g_autofree char *image = qtest_guest_image("a-b");
    const uint64_t page = 0x10000;      /* in the block, below the guest */
    uint8_t got[4096], zero[4096] = { 0 };
    GByteArray *b, *rest;
    uint32_t ram_id;
    QTestState *to;

    g_assert_no_error(err);
    b = mig_ram_stream_prefix(dir, MEM, &ram_id, &rest);
    mig_put8(b, 0x02);                      /* PART */
    mig_put32(b, ram_id);
    mig_put64(b, page | F_ZERO);
    mig_put_str(b, RAM_BLOCK);
    mig_put8(b, 0);
    mig_put64(b, page | F_XBZRLE | F_CONTINUE);
    mig_put8(b, 0x01);
    mig_put16(b, sizeof(good_delta));
    g_byte_array_append(b, good_delta, sizeof(good_delta));
    /* a page 16 MiB away, so the loader's per-chunk cache is dropped */
    mig_put64(b, (page + (16 << 20)) | F_ZERO | F_CONTINUE);
    mig_put8(b, 0);
    mig_put64(b, page | F_ZERO | F_CONTINUE);
    mig_put8(b, 0);
    mig_put64(b, F_EOS);
    mig_put8(b, 0x7e);
    mig_put32(b, ram_id);
    g_byte_array_append(b, rest->data, rest->len);
    g_byte_array_unref(rest);
    path = g_strdup_printf("%s/stream", dir);
    g_assert_true(g_file_set_contents(path, (const char *)b->data, b->len,
                                      &err));
    g_assert_no_error(err);
    g_byte_array_unref(b);

    uri = g_strdup_printf("exec:cat %s", path);
    to = qtest_initf("-M virt -m " MEM " -mem-prealloc -S -bios none "
                     "-kernel %s -incoming defer", image);
    migrate_incoming_qmp(to, uri);
    wait_for_migration_complete(to);
    qtest_memread(to, 0x80000000ULL + page, got, sizeof(got));
    if (memcmp(got, zero, sizeof(got))) {
        for (size_t i = 0; i < sizeof(got); i++) {
            if (got[i]) {
                g_error("page 0x%" PRIx64 " byte %zu is 0x%02x after ZERO, "
                        "XBZRLE, ZERO", page, i, got[i]);
            }
        }
    }
    qtest_quit(to);
    unlink(path);
    rmdir(dir);
}

/*
 * The first pass fills the cache (ram_xbzrle_prime_page): the second pass
 * already sends deltas.  QEMU 7.2 leaves the cache empty until the second
 * pass, so there every page of the second pass is a miss, and a guest
 * stopped right after the first pass gains nothing from XBZRLE.  Fails
 * when the second pass ends (dirty-sync-count 3) without a single delta.
 */
static void test_primed(void)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-xbzrle-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", dir);
    g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);
    gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to;

    g_assert_no_error(gerr);
    from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = qtest_initf("-M virt -m " MEM " -bios none -kernel %s -incoming %s",
                     image, uri);
    migrate_set_capability(from, "xbzrle", true);
    migrate_set_parameter_int(from, "xbzrle-cache-size", 64 * 1024 * 1024);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);
    wait_for_migration_pass(from, 2);
    for (;;) {
        JsonObject *info = migrate_query(from);
        JsonObject *ram = json_object_get_object_member(info, "ram");
        JsonObject *x = json_object_get_object_member(info, "xbzrle-cache");
        int64_t syncs = mig_json_int(ram, "dirty-sync-count", -1);
        int64_t pages = mig_json_int(x, "pages", -1);
        int64_t miss = mig_json_int(x, "cache-miss", -1);

        json_object_unref(info);
        if (pages > 0) {
            g_test_message("second pass: %" PRId64 " deltas, %" PRId64
                           " misses so far", pages, miss);
            g_assert_cmpint(syncs, ==, 2);
            break;
        }
        if (syncs > 2) {
            g_error("the second pass ended with no XBZRLE delta (%" PRId64
                    " misses): the first pass left the cache empty", miss);
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("no XBZRLE delta within 120 s of the second pass");
        }
        g_usleep(20 * 1000);
    }
    migrate_ensure_converge(from);
    wait_for_migration_complete(from);
    qtest_qmp_eventwait(from, "STOP");
    wait_for_migration_complete(to);
    mig_check_dest_after_live(to, &dst_pos, "a-b", 0);
    qtest_quit(to);
    qtest_quit(from);
    unlink(sock);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(live_cases); i++) {
        g_test_add_data_func(live_cases[i].name, &live_cases[i], test_live);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_test_add_data_func(bad_cases[i].name, &bad_cases[i],
                             test_bad_record);
    }
    g_test_add_func("/migration/xbzrle/prealloc/zero-after-delta",
                    test_zero_after_delta);
    g_test_add_func("/migration/xbzrle/live/a-b/primed", test_primed);
    return g_test_run();
}
