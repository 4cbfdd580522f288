/*
 * Stream interoperability with stock QEMU 7.2 (Debian's qemu-system-misc
 * provides qemu-system-riscv64).  Without it every case is skipped with the
 * reason.  Override the binary with GODWIT_COMPAT_QEMU=PATH.
 *
 * What can be tested: Godwit's devices are not QEMU's, so neither side can
 * load the other's device sections, and QEMU's riscv "virt" has two flash
 * RAMBlocks (virt.flash0/1) that Godwit's board does not.  What the two
 * cases prove is therefore the shared part of the format, up to the first
 * thing one side genuinely does not have, and that the loader stops there
 * cleanly (exit status 1, an error naming that thing, no crash):
 *
 * /migration/compat/qemu-to-godwit
 *   stock QEMU (-M virt -m 64M -bios none -S) migrates to exec:cat>FILE;
 *   Godwit loads FILE.  Proves: Godwit accepts QEMU's header, version and
 *   configuration record (machine "virt"), and parses the "ram" section's
 *   START header and MEM_SIZE list up to the first block it lacks, which it
 *   names; if one day every block is known, it must get through all the
 *   RAM data and stop at QEMU's first device section with "Unknown section
 *   or instance" naming it.  The test parses QEMU's stream itself to know
 *   which of the two is expected.
 *
 * /migration/compat/godwit-to-qemu
 *   Godwit (same command line) migrates to exec:cat>FILE; the test checks
 *   the stream's framing with its own small parser (magic, version,
 *   configuration, ram START/PART/END with page records and footers, the
 *   device sections), then stock QEMU loads FILE.  Proves more: QEMU's
 *   loader accepts Godwit's header, configuration, the MEM_SIZE list and
 *   every page record of the whole RAM section, and fails only at one of
 *   Godwit's device sections (which QEMU does not have), naming it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <glib.h>

#include "libqtest.h"
#include "migration-helpers.h"

#define COMPAT_MACHINE  "-M virt -m 64M -bios none -S"
#define RUN_TIMEOUT_MS  60000

/* QEMU's riscv "virt" RAMBlocks that Godwit's board has too. */
static const char *const godwit_blocks[] = {
    "riscv_virt_board.ram", "riscv_virt_board.mrom", NULL
};

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

static bool need_qemu(void)
{
    if (!stock_qemu()) {
        g_test_skip("qemu-system-riscv64 not installed (Debian package "
                    "qemu-system-misc); set GODWIT_COMPAT_QEMU to use another");
        return false;
    }
    return true;
}

/* ------------------------------------------------------ stream parser */

typedef struct Reader {
    const uint8_t *p;
    size_t len;
    size_t off;
} Reader;

typedef struct StreamInfo {
    char *machine;
    GPtrArray *blocks;          /* MEM_SIZE list, in order */
    GPtrArray *devices;         /* FULL sections other than ram, in order */
    uint64_t zero_pages;
    uint64_t normal_pages;
    bool complete;              /* parsed through EOF */
    char *stopped_at;           /* why parsing stopped early, or NULL */
} StreamInfo;

static bool rd_need(Reader *r, size_t n)
{
    return r->len - r->off >= n;
}

#define RD_CHECK(r, n, si, what) do { \
        if (!rd_need((r), (n))) { \
            (si)->stopped_at = g_strdup_printf("truncated at offset %zu " \
                                               "reading %s", (r)->off, what); \
            return false; \
        } \
    } while (0)

static uint64_t rd_be(Reader *r, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | r->p[r->off++];
    }
    return v;
}

static bool rd_str(Reader *r, StreamInfo *si, char **out)
{
    size_t n;

    RD_CHECK(r, 1, si, "a string length");
    n = r->p[r->off++];
    RD_CHECK(r, n, si, "a string");
    *out = g_strndup((const char *)r->p + r->off, n);
    r->off += n;
    return true;
}

static bool parse_config(Reader *r, StreamInfo *si)
{
    uint32_t len;

    RD_CHECK(r, 4, si, "the machine name length");
    len = rd_be(r, 4);
    RD_CHECK(r, len, si, "the machine name");
    si->machine = g_strndup((const char *)r->p + r->off, len);
    r->off += len;
    while (rd_need(r, 1) && r->p[r->off] == 0x05) {
        g_autofree char *name = NULL;

        r->off++;
        if (!rd_str(r, si, &name)) {
            return false;
        }
        RD_CHECK(r, 4, si, "a subsection version");
        rd_be(r, 4);
        if (!strcmp(name, "configuration/target-page-bits")) {
            RD_CHECK(r, 4, si, "target-page-bits");
            rd_be(r, 4);
        } else if (!strcmp(name, "configuration/uuid")) {
            RD_CHECK(r, 16, si, "the uuid");
            r->off += 16;
        } else if (!strcmp(name, "configuration/capabilities")) {
            uint32_t n;

            RD_CHECK(r, 4, si, "the capability count");
            n = rd_be(r, 4);
            for (uint32_t i = 0; i < n; i++) {
                g_autofree char *cap = NULL;

                if (!rd_str(r, si, &cap)) {
                    return false;
                }
            }
        } else {
            si->stopped_at = g_strdup_printf("unknown configuration "
                                             "subsection %s", name);
            return false;
        }
    }
    return true;
}

#define F_ZERO      0x002
#define F_MEM_SIZE  0x004
#define F_PAGE      0x008
#define F_EOS       0x010
#define F_CONTINUE  0x020
#define F_MASK      0xfff       /* 4 KiB target pages */

/* Page records up to EOS (PART/END payloads and the tail of START). */
static bool parse_ram_records(Reader *r, StreamInfo *si)
{
    for (;;) {
        uint64_t w, flags;

        RD_CHECK(r, 8, si, "a ram record");
        w = rd_be(r, 8);
        flags = w & F_MASK;
        if (flags & F_EOS) {
            return true;
        }
        if (!(flags & F_CONTINUE) && (flags & (F_ZERO | F_PAGE))) {
            g_autofree char *block = NULL;

            if (!rd_str(r, si, &block)) {
                return false;
            }
        }
        switch (flags & ~(uint64_t)F_CONTINUE) {
        case F_ZERO:
            RD_CHECK(r, 1, si, "a zero page byte");
            r->off++;
            si->zero_pages++;
            break;
        case F_PAGE:
            RD_CHECK(r, MIG_PAGE_SIZE, si, "a page");
            r->off += MIG_PAGE_SIZE;
            si->normal_pages++;
            break;
        default:
            si->stopped_at = g_strdup_printf("ram flags 0x%" PRIx64
                                             " at offset %zu not handled by "
                                             "this parser", flags, r->off - 8);
            return false;
        }
    }
}

static bool parse_ram_start(Reader *r, StreamInfo *si)
{
    uint64_t w, total, sum = 0;

    RD_CHECK(r, 8, si, "the MEM_SIZE word");
    w = rd_be(r, 8);
    if ((w & F_MASK) != F_MEM_SIZE) {
        si->stopped_at = g_strdup_printf("ram START without MEM_SIZE "
                                         "(0x%" PRIx64 ")", w);
        return false;
    }
    total = w & ~(uint64_t)F_MASK;
    while (sum < total) {
        char *name = NULL;

        if (!rd_str(r, si, &name)) {
            return false;
        }
        g_ptr_array_add(si->blocks, name);
        RD_CHECK(r, 8, si, "a block length");
        sum += rd_be(r, 8);
    }
    return parse_ram_records(r, si);
}

static void skip_footer(Reader *r)
{
    if (rd_need(r, 5) && r->p[r->off] == 0x7e) {
        r->off += 5;
    }
}

/*
 * Walk the stream: header, configuration, then sections.  Device
 * payloads cannot be skipped without their vmsd, so the walk stops at the
 * first device section (after recording it) unless the VMDESCRIPTION
 * lists the rest: the JSON after EOF names every device section.
 */
static void parse_stream(const uint8_t *data, size_t len, StreamInfo *si)
{
    Reader r = { .p = data, .len = len };
    uint32_t ram_id = UINT32_MAX;

    memset(si, 0, sizeof(*si));
    si->blocks = g_ptr_array_new_with_free_func(g_free);
    si->devices = g_ptr_array_new_with_free_func(g_free);

    g_assert_cmpuint(len, >=, 8);
    g_assert_cmphex(rd_be(&r, 4), ==, 0x5145564d);     /* "QEVM" */
    g_assert_cmphex(rd_be(&r, 4), ==, 3);
    if (rd_need(&r, 1) && data[r.off] == 0x07) {
        r.off++;
        if (!parse_config(&r, si)) {
            return;
        }
    }
    while (rd_need(&r, 1)) {
        uint8_t type = data[r.off++];

        if (type == 0x00) {
            si->complete = true;
            return;
        } else if (type == 0x01 || type == 0x04) {
            uint32_t id;
            g_autofree char *idstr = NULL;

            if (!rd_need(&r, 4)) {
                break;
            }
            id = rd_be(&r, 4);
            if (!rd_str(&r, si, &idstr) || !rd_need(&r, 8)) {
                return;
            }
            rd_be(&r, 8);       /* instance, version */
            if (!strcmp(idstr, "ram") && type == 0x01) {
                ram_id = id;
                if (!parse_ram_start(&r, si)) {
                    return;
                }
                skip_footer(&r);
                continue;
            }
            g_ptr_array_add(si->devices, g_steal_pointer(&idstr));
            si->stopped_at = g_strdup("first device section");
            return;
        } else if (type == 0x02 || type == 0x03) {
            uint32_t id;

            if (!rd_need(&r, 4)) {
                break;
            }
            id = rd_be(&r, 4);
            if (id != ram_id) {
                si->stopped_at = g_strdup_printf("PART/END of section %u, "
                                                 "not ram", id);
                return;
            }
            if (!parse_ram_records(&r, si)) {
                return;
            }
            skip_footer(&r);
        } else if (type == 0x08) {
            uint32_t clen;

            if (!rd_need(&r, 4)) {
                break;
            }
            rd_be(&r, 2);
            clen = rd_be(&r, 2);
            if (!rd_need(&r, clen)) {
                break;
            }
            r.off += clen;
        } else {
            si->stopped_at = g_strdup_printf("section type 0x%02x at "
                                             "offset %zu", type, r.off - 1);
            return;
        }
    }
    si->stopped_at = g_strdup_printf("truncated at offset %zu", r.off);
}

static void stream_info_free(StreamInfo *si)
{
    g_free(si->machine);
    g_free(si->stopped_at);
    g_ptr_array_unref(si->blocks);
    g_ptr_array_unref(si->devices);
}

/* Device section names from the VMDESCRIPTION JSON after EOF, if any. */
static GPtrArray *vmdesc_devices(const uint8_t *data, size_t len)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *key = "{\"page_size\"";
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonArray *devs;
    const uint8_t *hit = NULL;

    for (size_t i = len > (1 << 20) ? len - (1 << 20) : 0;
         i + strlen(key) <= len; i++) {
        if (!memcmp(data + i, key, strlen(key))) {
            hit = data + i;
        }
    }
    if (!hit || !json_parser_load_from_data(parser, (const char *)hit,
                                            data + len - hit, NULL)) {
        return names;
    }
    devs = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(parser)), "devices");
    for (guint i = 0; devs && i < json_array_get_length(devs); i++) {
        JsonObject *d = json_array_get_object_element(devs, i);

        g_ptr_array_add(names, g_strdup(json_object_get_string_member(d,
                                                                  "name")));
    }
    return names;
}

/* ------------------------------------------------- running a loader */

static void child_pdeathsig(gpointer data)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/*
 * Run @argv (no monitor, no qtest), capture stderr, wait for it to exit
 * (SIGKILL after RUN_TIMEOUT_MS).  Returns the wait status; *err gets the
 * stderr text.
 */
static int run_capture(char **argv, char **err)
{
    GPid pid;
    gint fd_err = -1;
    g_autoptr(GError) gerr = NULL;
    GString *out = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + RUN_TIMEOUT_MS * 1000LL;
    int status = 0;
    bool eof = false;

    {
        g_autofree char *cmd = g_strjoinv(" ", argv);

        g_test_message("running: %s", cmd);
    }
    if (!g_spawn_async_with_pipes(NULL, argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD |
                                  G_SPAWN_STDOUT_TO_DEV_NULL,
                                  child_pdeathsig, NULL, &pid, NULL, NULL,
                                  &fd_err, &gerr)) {
        g_error("cannot run %s: %s", argv[0], gerr->message);
    }
    for (;;) {
        struct pollfd pfd = { .fd = fd_err, .events = POLLIN };
        pid_t w;

        if (!eof && poll(&pfd, 1, 50) > 0) {
            char buf[4096];
            ssize_t n = read(fd_err, buf, sizeof(buf));

            if (n > 0) {
                g_string_append_len(out, buf, n);
            } else if (n == 0 || errno != EINTR) {
                eof = true;
            }
        } else if (eof) {
            g_usleep(20 * 1000);
        }
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            /* drain what is left */
            ssize_t n;
            char buf[4096];

            while (!eof && (n = read(fd_err, buf, sizeof(buf))) > 0) {
                g_string_append_len(out, buf, n);
            }
            break;
        }
        if (g_get_monotonic_time() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            g_string_append(out, "\n[killed by the test: timeout]\n");
            break;
        }
    }
    close(fd_err);
    g_spawn_close_pid(pid);
    *err = g_string_free(out, FALSE);
    g_test_message("exit status 0x%x, stderr:\n%s", status, *err);
    return status;
}

static void assert_clean_exit_1(int status, const char *who, const char *err)
{
    if (WIFSIGNALED(status)) {
        g_error("%s died of signal %d loading the foreign stream; stderr: %s",
                who, WTERMSIG(status), err);
    }
    g_assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 1) {
        g_error("%s exited with %d (expected 1); stderr: %s", who,
                WEXITSTATUS(status), err);
    }
}

/* Migrate a paused VM to @file with exec:cat and wait for completion. */
static void save_to_file(QTestState *s, const char *file)
{
    g_autofree char *uri = g_strdup_printf("exec:cat > %s", file);

    migrate_qmp(s, uri);
    wait_for_migration_complete(s);
}

static char *make_dir(void)
{
    g_autoptr(GError) err = NULL;
    char *dir = g_dir_make_tmp("godwit-compat-XXXXXX", &err);

    g_assert_no_error(err);
    return dir;
}

static void remove_dir(const char *dir, const char *file)
{
    g_autofree char *p = g_build_filename(dir, file, NULL);

    unlink(p);
    rmdir(dir);
}

/* ------------------------------------------------------------ cases */

static void test_qemu_to_godwit(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    g_autofree char *data = NULL;
    g_autofree char *err = NULL;
    g_autofree char *incoming = NULL;
    g_autofree char *godwit_bin = NULL;
    char *saved_bin, *saved_extra;
    const char *extra_env;
    const char *expect = NULL;
    bool expect_block = false;
    StreamInfo si;
    gsize len = 0;
    QTestState *q;
    int status;

    if (!need_qemu()) {
        return;
    }
    dir = make_dir();
    file = g_build_filename(dir, "qemu.mig", NULL);

    /* libqtest runs $QTEST_QEMU_BINARY: point it at stock QEMU for now. */
    godwit_bin = g_strdup(g_getenv("QTEST_QEMU_BINARY"));
    g_assert_nonnull(godwit_bin);
    saved_bin = g_strdup(godwit_bin);
    extra_env = g_getenv("QTEST_EXTRA_ARGS");
    saved_extra = g_strdup(extra_env);
    g_setenv("QTEST_QEMU_BINARY", stock_qemu(), TRUE);
    g_unsetenv("QTEST_EXTRA_ARGS");
    q = qtest_init(COMPAT_MACHINE " -monitor none -qtest-log /dev/null");
    g_setenv("QTEST_QEMU_BINARY", saved_bin, TRUE);
    if (saved_extra) {
        g_setenv("QTEST_EXTRA_ARGS", saved_extra, TRUE);
    }
    g_free(saved_bin);
    g_free(saved_extra);
    save_to_file(q, file);
    qtest_quit(q);

    g_assert_true(g_file_get_contents(file, &data, &len, NULL));
    parse_stream((const uint8_t *)data, len, &si);
    g_test_message("QEMU stream: machine %s, %u blocks, stopped at: %s",
                   si.machine, si.blocks->len,
                   si.stopped_at ? si.stopped_at : "EOF");
    g_assert_cmpstr(si.machine, ==, "virt");
    g_assert_cmpuint(si.blocks->len, >=, 1);

    /* What Godwit must name: the first block it lacks, else a device. */
    for (guint i = 0; i < si.blocks->len; i++) {
        const char *b = g_ptr_array_index(si.blocks, i);

        if (!g_strv_contains(godwit_blocks, b)) {
            expect = b;
            expect_block = true;
            break;
        }
    }
    if (!expect) {
        g_assert_cmpuint(si.devices->len, >=, 1);
        expect = g_ptr_array_index(si.devices, 0);
    }
    g_test_message("expecting Godwit to stop at %s '%s'",
                   expect_block ? "RAMBlock" : "device section", expect);

    incoming = g_strdup_printf("exec:cat %s", file);
    {
        const char *argv[] = {
            godwit_bin, "-M", "virt", "-m", "64M", "-bios", "none",
            "-display", "none", "-nodefaults", "-S",
            "-incoming", incoming, NULL
        };

        status = run_capture((char **)argv, &err);
    }
    assert_clean_exit_1(status, "Godwit", err);
    if (!strstr(err, expect)) {
        g_error("Godwit's error does not name '%s': %s", expect, err);
    }
    if (!expect_block && !strstr(err, "Unknown section or instance")) {
        g_error("expected \"Unknown section or instance\": %s", err);
    }
    /* It got past the header and the configuration record. */
    g_assert_null(strstr(err, "magic"));
    g_assert_null(strstr(err, "onfiguration"));

    stream_info_free(&si);
    remove_dir(dir, "qemu.mig");
}

static void test_godwit_to_qemu(void)
{
    g_autofree char *dir = NULL;
    g_autofree char *file = NULL;
    g_autofree char *data = NULL;
    g_autofree char *err = NULL;
    g_autofree char *incoming = NULL;
    g_autoptr(GPtrArray) desc = NULL;
    g_autofree char *qemu_bin = NULL;
    const char *named = NULL;
    StreamInfo si;
    gsize len = 0;
    QTestState *s;
    int status;

    if (!need_qemu()) {
        return;
    }
    dir = make_dir();
    file = g_build_filename(dir, "godwit.mig", NULL);

    s = qtest_init(COMPAT_MACHINE);
    save_to_file(s, file);
    qtest_quit(s);

    /* Godwit's stream, read by an independent parser. */
    g_assert_true(g_file_get_contents(file, &data, &len, NULL));
    parse_stream((const uint8_t *)data, len, &si);
    g_test_message("Godwit stream: machine %s, blocks %u, %" PRIu64
                   " zero and %" PRIu64 " full pages, stopped at: %s",
                   si.machine, si.blocks->len, si.zero_pages,
                   si.normal_pages, si.stopped_at ? si.stopped_at : "EOF");
    g_assert_cmpstr(si.machine, ==, "virt");
    g_assert_cmpuint(si.blocks->len, ==, 2);
    for (guint i = 0; i < si.blocks->len; i++) {
        g_assert_true(g_strv_contains(godwit_blocks,
                                      g_ptr_array_index(si.blocks, i)));
    }
    /* every page of 64M + ROM once (the VM is stopped: one pass) */
    g_assert_cmpuint(si.zero_pages + si.normal_pages, >=,
                     (64ULL << 20) / MIG_PAGE_SIZE);
    g_assert_cmpuint(si.devices->len, ==, 1);
    desc = vmdesc_devices((const uint8_t *)data, len);
    g_assert_cmpuint(desc->len, >=, 1);
    g_assert_cmpstr(g_ptr_array_index(desc, 0), ==,
                    g_ptr_array_index(si.devices, 0));

    qemu_bin = g_strdup(stock_qemu());
    incoming = g_strdup_printf("exec:cat %s", file);
    {
        const char *argv[] = {
            qemu_bin, "-M", "virt", "-m", "64M", "-bios", "none",
            "-display", "none", "-nodefaults", "-S", "-monitor", "none",
            "-incoming", incoming, NULL
        };

        status = run_capture((char **)argv, &err);
    }
    assert_clean_exit_1(status, "stock QEMU", err);

    /* QEMU got through the RAM section and stopped at a Godwit device. */
    g_assert_null(strstr(err, "ramblock"));
    g_assert_null(strstr(err, "bad migration stream"));
    g_assert_null(strstr(err, "Length mismatch"));
    g_assert_null(strstr(err, "of device 'ram'"));
    g_assert_null(strstr(err, "magic"));
    g_assert_null(strstr(err, "onfiguration"));
    for (guint i = 0; i < desc->len; i++) {
        const char *d = g_ptr_array_index(desc, i);
        g_autofree char *q1 = g_strdup_printf("'%s'", d);

        if (strstr(err, q1)) {
            named = d;
            break;
        }
    }
    if (!named) {
        g_error("QEMU's error names none of Godwit's device sections: %s",
                err);
    }
    g_test_message("QEMU loaded the RAM section and stopped at Godwit's "
                   "device section '%s'", named);

    stream_info_free(&si);
    remove_dir(dir, "godwit.mig");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/compat/qemu-to-godwit", test_qemu_to_godwit);
    g_test_add_func("/migration/compat/godwit-to-qemu", test_godwit_to_qemu);
    return g_test_run();
}
