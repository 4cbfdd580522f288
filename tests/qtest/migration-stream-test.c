/*
 * Migration streams as files: save and restore, and a destination that
 * is fed broken streams.
 *
 * 1. /migration/stream/file/...: a stopped guest is saved with
 *    "migrate file:PATH" and restored twice from the same file, once with
 *    -incoming defer + migrate-incoming and once with -incoming file:PATH
 *    on the command line.  The restored guest must be the saved one: run
 *    state (QEMU 7.2's rule: the received globalstate, "paused" for a
 *    stopped source, "prelaunch" for one that never ran), registers of
 *    every vCPU, RAM byte for byte in three 16 MiB windows plus the a-b
 *    invariant, and after "cont" it continues (a-b: only 'B', no 'A';
 *    verify on 2 vCPUs: no 'F' for 10 s).
 *
 * 2. /migration/stream/mutants/...: one small valid stream (a-b on 16 MiB
 *    and 2 vCPUs, see make_small_stream) is parsed by the test's own
 *    parser, which knows every byte's role, and then fed to destinations
 *    truncated at structural boundaries, with single bits flipped at
 *    seeded random positions, and with targeted corruptions.  Every run is
 *    bounded; a destination must end by the normal failure path (exit
 *    status 1, "load of migration failed: ..." naming what and where) or
 *    load, as its mutation allows, and never die of a signal or hang.
 *
 * 3. /migration/stream/mismatch/...: the valid stream into a destination
 *    with another -m or -smp: a clean error naming the mismatch.
 *
 * Mutant destinations are not libqtest instances: they are spawned here
 * (own process group, PR_SET_PDEATHSIG, stdout+stderr to a file), several
 * at a time, and killed and reaped by the pool before any check can fail.
 * See docs/devel/migration/testing.md.
 *
 * Environment: GODWIT_TEST_FULL=1 (all boundaries, 200 flips),
 * GODWIT_STREAM_SEED=N (reproduce a run of flips), GODWIT_STREAM_KEEP=DIR
 * (copy the stream and every failing mutant there), GODWIT_STREAM_JOBS=N
 * (destinations at a time, default 3).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "libqtest.h"
#include "migration-helpers.h"

/* ------------------------------------------------------------ constants */

/* the stream (migration/wire.h; spelled again here, as a second reader) */
#define S_EOF           0x00
#define S_START         0x01
#define S_PART          0x02
#define S_END           0x03
#define S_FULL          0x04
#define S_SUBSECTION    0x05
#define S_VMDESC        0x06
#define S_CONFIG        0x07
#define S_COMMAND       0x08
#define S_FOOTER        0x7e

#define F_ZERO          0x002
#define F_MEM_SIZE      0x004
#define F_PAGE          0x008
#define F_EOS           0x010
#define F_CONTINUE      0x020
#define F_XBZRLE        0x040
#define F_MASK          0xfff   /* offsets are 4 KiB aligned */

#define CMD_INVALID             0
#define CMD_OPEN_RETURN_PATH    1
#define CMD_PING                2
#define CMD_POSTCOPY_ADVISE     3

#define PAGE            4096

/* Save/restore guests: -m 150M like migration-test. */
#define BIG_MEM         "150M"
#define ROM_BASE        0x1000ULL
#define ROM_SIZE        0xf000ULL
#define CLINT_MTIME     0x0200bff8ULL
#define WINDOW          (16ULL << 20)

/* Mutants */
#define SMALL_ARGS      "-M virt -m 16M -smp 2 -bios none"
#define MUTANT_TIMEOUT_S        20
/* after a successful load the guest runs this long before the kill */
#define MUTANT_GRACE_MS         200
#define DEFAULT_JOBS            3
#define SMOKE_TRUNCATIONS       15
#define SMOKE_FLIPS             40
#define FULL_FLIPS              200
#define FULL_RANDOM_TRUNCATIONS 20

static bool full_set;
static bool explicit_paths;

/* ============================================================ helpers */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, v >> 32);
    wr32(p + 4, v);
}

static bool env_flag(const char *name)
{
    const char *v = g_getenv(name);

    return v && *v && strcmp(v, "0");
}

/* ====================================================== 1. save/restore */

/* "info registers" of vCPU @cpu as "name=value" lines, without mip. */
static char *cpu_registers(QTestState *s, int cpu)
{
    JsonNode *ret = qtest_qmp_assert_success_ref(s,
        "{\"execute\": \"human-monitor-command\", \"arguments\": "
        "{\"command-line\": \"info registers\", \"cpu-index\": %d}}", cpu);
    g_auto(GStrv) tok = NULL;
    GString *out = g_string_new(NULL);
    int n = 0;

    g_assert_true(JSON_NODE_HOLDS_VALUE(ret));
    tok = g_strsplit_set(json_node_get_string(ret), " \t\r\n", -1);
    json_node_unref(ret);
    for (int i = 0; tok[i]; i++) {
        const char *name, *val;

        if (!tok[i][0]) {
            continue;
        }
        name = tok[i];
        do {
            i++;
        } while (tok[i] && !tok[i][0]);
        g_assert_nonnull(tok[i]);
        val = tok[i];
        n++;
        /*
         * mip is not state: the timer bit is computed from mtime and
         * mtimecmp when asked.
         */
        if (strcmp(name, "mip")) {
            g_string_append_printf(out, "%s=%s\n", name, val);
        }
    }
    g_assert_cmpint(n, >=, 33);     /* pc and the 32 GPRs at least */
    g_assert_nonnull(strstr(out->str, "pc="));
    return g_string_free(out, FALSE);
}

static uint64_t reg_value(const char *regs, const char *name)
{
    g_autofree char *key = g_strdup_printf("%s=", name);
    const char *p = strstr(regs, key);

    g_assert_nonnull(p);
    return g_ascii_strtoull(p + strlen(key), NULL, 16);
}

typedef struct Snapshot {
    int smp;
    char *regs[2];
    uint8_t *rom;
    uint8_t *win[3];
    uint64_t win_addr[3];
    uint64_t mtime;
} Snapshot;

static void snapshot_take(QTestState *s, int smp, Snapshot *sn)
{
    /* the image, the start of the a-b range, and around its end */
    static const uint64_t addrs[3] = {
        MIG_DRAM_BASE, MIG_DRAM_BASE + (40ULL << 20), MIG_AB_END - (8ULL << 20),
    };

    memset(sn, 0, sizeof(*sn));
    sn->smp = smp;
    for (int i = 0; i < smp; i++) {
        sn->regs[i] = cpu_registers(s, i);
    }
    sn->rom = g_malloc(ROM_SIZE);
    qtest_bufread(s, ROM_BASE, sn->rom, ROM_SIZE);
    for (int i = 0; i < 3; i++) {
        sn->win_addr[i] = addrs[i];
        sn->win[i] = g_malloc(WINDOW);
        qtest_bufread(s, addrs[i], sn->win[i], WINDOW);
    }
    sn->mtime = qtest_readq(s, CLINT_MTIME);
}

static void snapshot_free(Snapshot *sn)
{
    for (int i = 0; i < 2; i++) {
        g_free(sn->regs[i]);
    }
    g_free(sn->rom);
    for (int i = 0; i < 3; i++) {
        g_free(sn->win[i]);
    }
}

static void compare_mem(const char *who, uint64_t addr, const uint8_t *want,
                        const uint8_t *got, size_t len)
{
    size_t ndiff = 0, first = 0;

    if (!memcmp(want, got, len)) {
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (want[i] != got[i]) {
            if (!ndiff++) {
                first = i;
            }
        }
    }
    g_error("%s: guest memory [0x%" PRIx64 ", +0x%zx) differs from the "
            "saved guest in %zu bytes, first at 0x%" PRIx64 " (saved 0x%02x, "
            "restored 0x%02x)", who, addr, len, ndiff, addr + first,
            want[first], got[first]);
}

/* The restored guest @s is the snapshot @sn, byte for byte. */
static void snapshot_compare(const char *who, QTestState *s,
                             const Snapshot *sn)
{
    Snapshot now;

    snapshot_take(s, sn->smp, &now);
    for (int i = 0; i < sn->smp; i++) {
        if (strcmp(sn->regs[i], now.regs[i])) {
            g_error("%s: vCPU %d registers differ from the saved ones\n"
                    "saved:\n%s\nrestored:\n%s", who, i, sn->regs[i],
                    now.regs[i]);
        }
        g_test_message("%s: vCPU %d pc 0x%" PRIx64 " as saved", who, i,
                       reg_value(now.regs[i], "pc"));
    }
    compare_mem(who, ROM_BASE, sn->rom, now.rom, ROM_SIZE);
    for (int i = 0; i < 3; i++) {
        compare_mem(who, sn->win_addr[i], sn->win[i], now.win[i], WINDOW);
    }
    /* guest time never goes backwards */
    if (now.mtime < sn->mtime) {
        g_error("%s: mtime 0x%" PRIx64 " is below the saved 0x%" PRIx64,
                who, now.mtime, sn->mtime);
    }
    snapshot_free(&now);
}

typedef struct SaveCase {
    const char *name;
    bool smoke;
    const char *guest;
    int smp;
    bool prelaunch;             /* -S: the guest never ran */
    int run_secs;               /* verify: let the restored guest run */
} SaveCase;

static void assert_runstate(QTestState *s, const char *who, const char *want)
{
    bool running = true;
    g_autofree char *st = mig_query_runstate(s, &running);

    if (strcmp(st, want)) {
        g_error("%s: run state '%s', expected '%s'", who, st, want);
    }
    g_assert_false(running);
}

/*
 * Wait until the destination started with -incoming on its command line
 * is done: it may have finished before libqtest's handshake (no events),
 * so poll query-migrate.
 */
static void wait_dest_loaded(QTestState *to)
{
    wait_for_migration_complete(to);
}

/* After "cont": the guest goes on from where it was saved. */
static void check_continues(const SaveCase *c, QTestState *to, const char *who)
{
    size_t pos = 0;

    if (c->prelaunch) {
        /* it never ran: it boots now, 'A' first */
        wait_for_serial(to, &pos, "AB");
        {
            g_autofree char *text = qtest_serial_read(to);

            g_assert_cmpint(text[0], ==, 'A');
        }
        return;
    }
    /* an 'A' would mean the guest started over instead of continuing */
    wait_for_serial(to, &pos, "B");
    g_test_message("%s: the restored guest continued ('B', no 'A')", who);
}

static void check_ran_clean(QTestState *to, const char *who, int secs)
{
    g_autofree char *text = NULL;
    size_t pos = 0;
    unsigned int nb = 0;

    text = qtest_serial_read(to);
    pos = strlen(text);
    wait_for_serial(to, &pos, "B");
    g_free(text);
    text = qtest_serial_read(to);
    for (size_t i = 0; text[i]; i++) {
        if (text[i] != 'B') {
            g_error("%s: the restored verify guest printed '%c' after %d s: "
                    "\"%s\"", who, text[i], secs, text + i);
        }
        nb++;
    }
    g_test_message("%s: %u 'B' and nothing else in %d s", who, nb, secs);
}

static void test_save_restore(gconstpointer data)
{
    const SaveCase *c = data;
    g_autofree char *image = qtest_guest_image(c->guest);
    g_autofree char *path = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *vm = g_strdup_printf("-M virt -m %s -smp %d -bios none "
                                          "-kernel %s", BIG_MEM, c->smp,
                                          image);
    const char *saved_state = c->prelaunch ? "prelaunch" : "paused";
    QTestState *from, *to1, *to2;
    Snapshot sn;
    size_t pos = 0;

    if (!c->smoke && !full_set && !explicit_paths) {
        g_test_skip("not in the smoke set: set GODWIT_TEST_FULL=1");
        return;
    }

    /* the source: run, then stop */
    from = qtest_initf("%s%s", vm, c->prelaunch ? " -S" : "");
    if (c->prelaunch) {
        assert_runstate(from, "source", "prelaunch");
        g_assert_cmpuint(mig_serial_len(from), ==, 0);
    } else {
        wait_for_serial(from, &pos, "AB");
        wait_for_serial(from, &pos, "B");       /* and a bit more */
        qtest_qmp_assert_success(from, "{\"execute\": \"stop\"}");
        qtest_qmp_eventwait(from, "STOP");
        assert_runstate(from, "source", "paused");
    }
    snapshot_take(from, c->smp, &sn);

    /* save */
    path = g_build_filename(qtest_tmpdir(from), "saved.mig", NULL);
    uri = g_strdup_printf("file:%s", path);
    migrate_ensure_converge(from);
    migrate_qmp(from, uri);
    wait_for_migration_complete(from);
    assert_runstate(from, "source after the save", "postmigrate");
    {
        gsize len = 0;
        g_autoptr(GError) err = NULL;
        GMappedFile *mf = g_mapped_file_new(path, FALSE, &err);

        g_assert_no_error(err);
        len = g_mapped_file_get_length(mf);
        g_assert_cmpuint(len, >, 8);
        g_assert_cmpmem(g_mapped_file_get_contents(mf), 8, "QEVM\0\0\0\3", 8);
        g_test_message("saved %zu bytes to %s", (size_t)len, path);
        g_mapped_file_unref(mf);
    }
    /* saving does not touch the stopped guest */
    snapshot_compare("source after the save", from, &sn);

    /* restore 1: -incoming defer + migrate-incoming */
    to1 = qtest_initf("%s -incoming defer", vm);
    migrate_incoming_qmp(to1, uri);
    wait_for_migration_complete(to1);
    /*
     * QEMU 7.2 (process_incoming_migration_bh): a received run state other
     * than "running" is set as it is; "paused" and "prelaunch" stay.
     */
    assert_runstate(to1, "restore (defer)", saved_state);
    g_assert_cmpuint(mig_serial_len(to1), ==, 0);
    snapshot_compare("restore (defer)", to1, &sn);
    if (!c->prelaunch && !strcmp(c->guest, "a-b")) {
        check_guests_ram(to1);
    }

    /* restore 2: the same file again, -incoming file:PATH */
    to2 = qtest_initf("%s -incoming %s", vm, uri);
    wait_dest_loaded(to2);
    assert_runstate(to2, "restore (command line)", saved_state);
    g_assert_cmpuint(mig_serial_len(to2), ==, 0);
    snapshot_compare("restore (command line)", to2, &sn);
    if (!c->prelaunch && !strcmp(c->guest, "a-b")) {
        check_guests_ram(to2);
    }

    /* both continue the saved guest */
    qtest_qmp_assert_success(to1, "{\"execute\": \"cont\"}");
    qtest_qmp_assert_success(to2, "{\"execute\": \"cont\"}");
    check_continues(c, to1, "restore (defer)");
    check_continues(c, to2, "restore (command line)");
    if (c->run_secs) {
        g_usleep(c->run_secs * G_USEC_PER_SEC);
        check_ran_clean(to1, "restore (defer)", c->run_secs);
        check_ran_clean(to2, "restore (command line)", c->run_secs);
    }

    snapshot_free(&sn);
    qtest_quit(to2);
    qtest_quit(to1);
    qtest_quit(from);
}

static const SaveCase save_cases[] = {
    {
        .name = "/migration/stream/file/a-b",
        .smoke = true,
        .guest = "a-b",
        .smp = 1,
    }, {
        .name = "/migration/stream/file/verify-smp2",
        .smoke = true,
        .guest = "verify",
        .smp = 2,
        .run_secs = 10,
    }, {
        .name = "/migration/stream/file/prelaunch",
        .smoke = true,
        .guest = "a-b",
        .smp = 1,
        .prelaunch = true,
    },
};

/* ============================================== 2. the stream's anatomy */

/*
 * Every byte of the small stream has a role; the role decides what a
 * flipped bit there must do.
 */
typedef enum Kind {
    K_MAGIC,            /* magic, version */
    K_CONFIG,           /* 0x07, name length, name */
    K_SEC_TYPE,
    K_SEC_ID,
    K_SEC_IDSTR,        /* length byte and the name */
    K_SEC_INSTANCE,
    K_SEC_VERSION,
    K_FOOTER,
    K_RAM_TOTAL,        /* the MEM_SIZE word */
    K_RAM_BLOCK_NAME,   /* MEM_SIZE list: length byte and name */
    K_RAM_BLOCK_LEN,    /* MEM_SIZE list: used_length */
    K_RAM_WORD,         /* offset | flags of a page record */
    K_RAM_IDSTR,        /* a page record's block name */
    K_RAM_FILL,         /* a ZERO record's fill byte */
    K_RAM_PAGE_DATA,
    K_RAM_EOS,
    K_DEVICE,           /* a FULL section's payload */
    K_COMMAND,
    K_EOF,
    K_VMDESC_HDR,       /* 0x06 and the length */
    K_VMDESC_JSON,
    K_COUNT
} Kind;

static const char *const kind_names[K_COUNT] = {
    [K_MAGIC] = "magic/version",
    [K_CONFIG] = "configuration",
    [K_SEC_TYPE] = "section type",
    [K_SEC_ID] = "section id",
    [K_SEC_IDSTR] = "section idstr",
    [K_SEC_INSTANCE] = "section instance",
    [K_SEC_VERSION] = "section version",
    [K_FOOTER] = "section footer",
    [K_RAM_TOTAL] = "MEM_SIZE total",
    [K_RAM_BLOCK_NAME] = "MEM_SIZE block name",
    [K_RAM_BLOCK_LEN] = "MEM_SIZE used_length",
    [K_RAM_WORD] = "page record word",
    [K_RAM_IDSTR] = "page record block name",
    [K_RAM_FILL] = "zero page fill byte",
    [K_RAM_PAGE_DATA] = "page data",
    [K_RAM_EOS] = "EOS word",
    [K_DEVICE] = "device payload",
    [K_COMMAND] = "command",
    [K_EOF] = "EOF byte",
    [K_VMDESC_HDR] = "vmdesc header",
    [K_VMDESC_JSON] = "vmdesc JSON",
};

/* What a destination must do with a mutant. */
typedef enum Expect {
    EXP_FAIL,           /* exit 1 with the error */
    EXP_LOAD,           /* load it (don't-care bytes) */
    EXP_EITHER,         /* either, cleanly */
} Expect;

static const char *const expect_names[] = {
    [EXP_FAIL] = "must fail", [EXP_LOAD] = "must load",
    [EXP_EITHER] = "fail or load",
};

/*
 * A single flipped bit: bytes whose every value but one is wrong must
 * fail, opaque bytes (page contents, everything after EOF) must load, the
 * rest (flags, offsets, device fields, instance and version numbers, a
 * section type that may become EOF) may do either.
 */
static Expect flip_expect(Kind k)
{
    switch (k) {
    case K_MAGIC:
    case K_CONFIG:
    case K_SEC_ID:
    case K_SEC_IDSTR:
    case K_FOOTER:
    case K_RAM_BLOCK_NAME:
    case K_RAM_BLOCK_LEN:
    case K_RAM_IDSTR:
    case K_RAM_FILL:
        return EXP_FAIL;
    case K_RAM_PAGE_DATA:
    case K_VMDESC_HDR:
    case K_VMDESC_JSON:
        return EXP_LOAD;
    default:
        return EXP_EITHER;
    }
}

typedef struct Region {
    size_t start, len;
    Kind kind;
    bool notable;       /* a truncation boundary */
    char *label;
} Region;

typedef struct Section {
    uint8_t type;
    size_t off;             /* the type byte */
    uint32_t id;
    char idstr[256];
    size_t instance_off;    /* START/FULL */
    size_t version_off;
    size_t payload_off;
    size_t footer_off;
} Section;

typedef struct PageRec {
    size_t off;             /* the word */
    uint64_t word;
    size_t idstr_off;       /* 0: CONTINUE */
    size_t body_off;        /* fill byte or page data */
    const char *block;      /* the block it belongs to */
    uint64_t block_len;
} PageRec;

typedef struct Stream {
    QTestState *src;        /* alive while the test runs: owns the temp dir */
    char *dir;              /* mutants, logs */
    char *path;             /* the valid stream */
    uint8_t *data;
    size_t len;

    GArray *regions;        /* Region, covering every byte in order */
    GArray *sections;       /* Section */
    char *blocks[4];        /* MEM_SIZE list */
    uint64_t block_len[4];
    size_t block_name_off[4];   /* the length byte */
    size_t block_len_off[4];
    int nblocks;
    size_t config_len_off;
    size_t memsize_off;     /* the MEM_SIZE word */
    PageRec first_part_rec; /* first record of the first PART (has idstr) */
    PageRec page_cont;      /* a PAGE record with CONTINUE */
    PageRec zero_cont;      /* a ZERO record with CONTINUE */
    size_t eof_off;
    size_t vmdesc_off;      /* 0: none */
} Stream;

static void add_region(Stream *s, size_t start, size_t len, Kind kind,
                       bool notable, const char *fmt, ...)
    G_GNUC_PRINTF(6, 7);

static void add_region(Stream *s, size_t start, size_t len, Kind kind,
                       bool notable, const char *fmt, ...)
{
    Region r = { .start = start, .len = len, .kind = kind,
                 .notable = notable };
    va_list ap;

    if (s->regions->len) {
        Region *last = &g_array_index(s->regions, Region,
                                      s->regions->len - 1);

        g_assert_cmpuint(last->start + last->len, ==, start);
    } else {
        g_assert_cmpuint(start, ==, 0);
    }
    g_assert_cmpuint(len, >, 0);
    g_assert_cmpuint(start + len, <=, s->len);
    va_start(ap, fmt);
    r.label = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_array_append_val(s->regions, r);
}

/* Parser state: a cursor that fails the test on a malformed stream. */
typedef struct Cursor {
    Stream *s;
    size_t p;
} Cursor;

static void need(Cursor *c, size_t n, const char *what)
{
    if (c->p + n > c->s->len) {
        g_error("stream parser: %s at offset %zu runs past the end (%zu)",
                what, c->p, c->s->len);
    }
}

static uint8_t get8(Cursor *c, const char *what)
{
    need(c, 1, what);
    return c->s->data[c->p];
}

static const char *section_name(uint8_t t)
{
    switch (t) {
    case S_START: return "START";
    case S_PART: return "PART";
    case S_END: return "END";
    case S_FULL: return "FULL";
    default: return "?";
    }
}

/* A counted string at c->p: the length byte and the bytes, as one region. */
static void parse_counted(Cursor *c, char out[256], Kind kind, bool notable,
                          const char *ctx)
{
    uint8_t n = get8(c, ctx);

    need(c, 1 + n, ctx);
    memcpy(out, c->s->data + c->p + 1, n);
    out[n] = 0;
    add_region(c->s, c->p, 1 + n, kind, notable, "%s \"%s\"", ctx, out);
    c->p += 1 + n;
}

static int find_block(Stream *s, const char *name)
{
    for (int i = 0; i < s->nblocks; i++) {
        if (!strcmp(s->blocks[i], name)) {
            return i;
        }
    }
    g_error("stream parser: page record for unknown block \"%s\"", name);
}

/* START ram: the MEM_SIZE list, then EOS. */
static void parse_mem_size(Cursor *c, const char *sec)
{
    Stream *s = c->s;
    uint64_t word, total, sum = 0;

    need(c, 8, "MEM_SIZE word");
    word = rd64(s->data + c->p);
    g_assert_cmphex(word & F_MASK, ==, F_MEM_SIZE);
    total = word & ~(uint64_t)F_MASK;
    s->memsize_off = c->p;
    add_region(s, c->p, 8, K_RAM_TOTAL, true, "%s MEM_SIZE total 0x%" PRIx64,
               sec, total);
    c->p += 8;
    while (sum < total) {
        char name[256];
        int i = s->nblocks++;

        g_assert_cmpint(i, <, (int)G_N_ELEMENTS(s->blocks));
        s->block_name_off[i] = c->p;
        parse_counted(c, name, K_RAM_BLOCK_NAME, true, "MEM_SIZE block");
        s->blocks[i] = g_strdup(name);
        need(c, 8, "used_length");
        s->block_len_off[i] = c->p;
        s->block_len[i] = rd64(s->data + c->p);
        add_region(s, c->p, 8, K_RAM_BLOCK_LEN, true,
                   "MEM_SIZE used_length of %s (0x%" PRIx64 ")", name,
                   s->block_len[i]);
        c->p += 8;
        sum += s->block_len[i];
    }
    g_assert_cmphex(sum, ==, total);
}

/* Page records up to and including EOS. */
static void parse_ram_records(Cursor *c, const char *sec, int *cur_block)
{
    Stream *s = c->s;
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(size_t));
    bool seen_shape[4] = { false };
    int n = 0;

    for (;; n++) {
        uint64_t word, flags;
        size_t off = c->p;
        bool has_id, notable;
        int shape;
        PageRec rec = { 0 };

        need(c, 8, "page record word");
        word = rd64(s->data + c->p);
        flags = word & F_MASK;
        if (flags == F_EOS) {
            add_region(s, c->p, 8, K_RAM_EOS, true, "%s EOS after %d "
                       "records", sec, n);
            c->p += 8;
            break;
        }
        if ((flags & ~(uint64_t)F_CONTINUE) != F_ZERO &&
            (flags & ~(uint64_t)F_CONTINUE) != F_PAGE) {
            g_error("stream parser: unexpected ram flags 0x%" PRIx64
                    " at offset %zu", flags, c->p);
        }
        has_id = !(flags & F_CONTINUE);
        shape = ((flags & F_PAGE) ? 2 : 0) + (has_id ? 1 : 0);
        /* the first records of a section, and the first of each shape */
        notable = n < 2 || !seen_shape[shape];
        seen_shape[shape] = true;
        rec.off = off;
        rec.word = word;
        add_region(s, c->p, 8, K_RAM_WORD, notable, "%s record %d word "
                   "(%s%s @0x%" PRIx64 ")", sec, n,
                   (flags & F_PAGE) ? "PAGE" : "ZERO",
                   has_id ? "" : "|CONTINUE", word & ~(uint64_t)F_MASK);
        c->p += 8;
        if (has_id) {
            char name[256];

            rec.idstr_off = c->p;
            parse_counted(c, name, K_RAM_IDSTR, notable, "page record block");
            *cur_block = find_block(s, name);
        }
        g_assert_cmpint(*cur_block, >=, 0);
        rec.block = s->blocks[*cur_block];
        rec.block_len = s->block_len[*cur_block];
        rec.body_off = c->p;
        if (flags & F_PAGE) {
            need(c, PAGE, "page data");
            add_region(s, c->p, PAGE, K_RAM_PAGE_DATA, notable,
                       "%s record %d page data", sec, n);
            c->p += PAGE;
            if (!has_id && !s->page_cont.off) {
                s->page_cont = rec;
            }
        } else {
            need(c, 1, "fill byte");
            add_region(s, c->p, 1, K_RAM_FILL, notable,
                       "%s record %d fill byte", sec, n);
            c->p += 1;
            if (!has_id && !s->zero_cont.off) {
                s->zero_cont = rec;
            }
        }
        if (n == 0 && !s->first_part_rec.off && has_id) {
            s->first_part_rec = rec;
        }
        g_array_append_val(recs, off);
    }
    /* the last record is a boundary too */
    if (recs->len > 2) {
        size_t last = g_array_index(recs, size_t, recs->len - 1);

        for (guint i = s->regions->len; i-- > 0;) {
            Region *r = &g_array_index(s->regions, Region, i);

            if (r->start == last) {
                r->notable = true;
                break;
            }
        }
    }
    g_array_free(recs, TRUE);
}

static bool plausible_next(const Stream *s, size_t q)
{
    if (q >= s->len) {
        return false;
    }
    switch (s->data[q]) {
    case S_EOF:
    case S_PART:
    case S_END:
    case S_COMMAND:
        return true;
    case S_START:
    case S_FULL:
        /* id, then a counted string of printable bytes */
        if (q + 6 >= s->len) {
            return false;
        }
        for (size_t i = 0, n = s->data[q + 5]; i < n; i++) {
            if (q + 6 + i >= s->len || s->data[q + 6 + i] < 0x20 ||
                s->data[q + 6 + i] > 0x7e) {
                return false;
            }
        }
        return s->data[q + 5] > 0;
    default:
        return false;
    }
}

static void parse_footer(Cursor *c, Section *sec)
{
    Stream *s = c->s;

    need(c, 5, "footer");
    g_assert_cmphex(s->data[c->p], ==, S_FOOTER);
    g_assert_cmpuint(rd32(s->data + c->p + 1), ==, sec->id);
    sec->footer_off = c->p;
    add_region(s, c->p, 5, K_FOOTER, true, "footer of %s '%s' (id %u)",
               section_name(sec->type), sec->idstr, sec->id);
    c->p += 5;
}

static void parse_stream(Stream *s)
{
    Cursor cur = { .s = s, .p = 0 };
    Cursor *c = &cur;
    int cur_block = -1;
    int nparts = 0;
    uint32_t name_len;

    s->regions = g_array_new(FALSE, TRUE, sizeof(Region));
    s->sections = g_array_new(FALSE, TRUE, sizeof(Section));

    need(c, 8, "header");
    g_assert_cmpmem(s->data, 8, "QEVM\0\0\0\3", 8);
    add_region(s, 0, 4, K_MAGIC, true, "magic");
    add_region(s, 4, 4, K_MAGIC, true, "version");
    c->p = 8;

    /* configuration: 0x07, be32 len, the machine name; no subsections */
    g_assert_cmphex(get8(c, "configuration"), ==, S_CONFIG);
    add_region(s, c->p, 1, K_CONFIG, true, "configuration marker");
    c->p++;
    need(c, 4, "machine name length");
    s->config_len_off = c->p;
    name_len = rd32(s->data + c->p);
    g_assert_cmpuint(name_len, ==, 4);
    add_region(s, c->p, 4, K_CONFIG, true, "machine name length");
    c->p += 4;
    need(c, name_len, "machine name");
    g_assert_cmpmem(s->data + c->p, name_len, "virt", 4);
    add_region(s, c->p, name_len, K_CONFIG, true, "machine name");
    c->p += name_len;
    g_assert_cmphex(get8(c, "after configuration"), !=, S_SUBSECTION);

    for (;;) {
        uint8_t t = get8(c, "section type");
        Section sec = { .type = t, .off = c->p };

        if (t == S_EOF) {
            s->eof_off = c->p;
            add_region(s, c->p, 1, K_EOF, true, "EOF");
            c->p++;
            break;
        }
        if (t == S_COMMAND) {
            uint16_t len;

            need(c, 5, "command");
            len = (uint16_t)(s->data[c->p + 3] << 8 | s->data[c->p + 4]);
            add_region(s, c->p, 5 + len, K_COMMAND, true, "command 0x%x",
                       s->data[c->p + 1] << 8 | s->data[c->p + 2]);
            c->p += 5 + len;
            continue;
        }
        add_region(s, c->p, 1, K_SEC_TYPE, true, "type of a %s section",
                   section_name(t));
        c->p++;
        need(c, 4, "section id");
        sec.id = rd32(s->data + c->p);
        add_region(s, c->p, 4, K_SEC_ID, true, "%s section id %u",
                   section_name(t), sec.id);
        c->p += 4;
        if (t == S_START || t == S_FULL) {
            parse_counted(c, sec.idstr, K_SEC_IDSTR, true, "section idstr");
            need(c, 8, "instance and version");
            sec.instance_off = c->p;
            add_region(s, c->p, 4, K_SEC_INSTANCE, true,
                       "instance of '%s' (%u)", sec.idstr,
                       rd32(s->data + c->p));
            c->p += 4;
            sec.version_off = c->p;
            add_region(s, c->p, 4, K_SEC_VERSION, true,
                       "version of '%s' (%u)", sec.idstr,
                       rd32(s->data + c->p));
            c->p += 4;
        } else if (t == S_PART || t == S_END) {
            bool found = false;

            for (guint i = 0; i < s->sections->len; i++) {
                Section *o = &g_array_index(s->sections, Section, i);

                if (o->type == S_START && o->id == sec.id) {
                    strcpy(sec.idstr, o->idstr);
                    found = true;
                }
            }
            g_assert_true(found);
        } else {
            g_error("stream parser: section type 0x%02x at offset %zu", t,
                    sec.off);
        }
        sec.payload_off = c->p;

        if (!strcmp(sec.idstr, "ram")) {
            g_autofree char *name = g_strdup_printf("ram %s%s%.0d",
                section_name(t), t == S_PART ? " #" : "",
                t == S_PART ? ++nparts : 0);

            if (t == S_START) {
                parse_mem_size(c, name);
                need(c, 8, "EOS");
                g_assert_cmphex(rd64(s->data + c->p), ==, F_EOS);
                add_region(s, c->p, 8, K_RAM_EOS, true, "%s EOS", name);
                c->p += 8;
            } else {
                parse_ram_records(c, name, &cur_block);
            }
        } else {
            /*
             * A device's vmstate: its length is not in the stream.  Its
             * footer is the first "7e <id>" followed by something that
             * can follow a section.
             */
            size_t q;

            g_assert_cmpint(t, ==, S_FULL);
            for (q = c->p; q + 5 < s->len; q++) {
                if (s->data[q] == S_FOOTER && rd32(s->data + q + 1) == sec.id
                    && plausible_next(s, q + 5)) {
                    break;
                }
            }
            g_assert_cmpuint(q + 5, <, s->len);
            if (q > c->p) {
                add_region(s, c->p, q - c->p, K_DEVICE, true,
                           "payload of '%s' instance %u", sec.idstr,
                           rd32(s->data + sec.instance_off));
            }
            c->p = q;
        }
        parse_footer(c, &sec);
        g_array_append_val(s->sections, sec);
    }

    if (c->p < s->len) {
        uint32_t len;

        g_assert_cmphex(s->data[c->p], ==, S_VMDESC);
        need(c, 5, "vmdesc header");
        s->vmdesc_off = c->p;
        len = rd32(s->data + c->p + 1);
        add_region(s, c->p, 5, K_VMDESC_HDR, true, "vmdesc header");
        c->p += 5;
        need(c, len, "vmdesc JSON");
        g_assert_cmpint(s->data[c->p], ==, '{');
        add_region(s, c->p, len, K_VMDESC_JSON, true, "vmdesc JSON");
        c->p += len;
    }
    g_assert_cmpuint(c->p, ==, s->len);
    g_assert_cmpint(s->nblocks, ==, 2);
    g_assert_cmpuint(s->first_part_rec.off, >, 0);
}

static const Region *region_at(const Stream *s, size_t off)
{
    guint lo = 0, hi = s->regions->len;

    while (hi - lo > 1) {
        guint mid = (lo + hi) / 2;

        if (g_array_index(s->regions, Region, mid).start <= off) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return &g_array_index(s->regions, Region, lo);
}

static const Section *find_section(const Stream *s, uint8_t type,
                                   const char *idstr, int nth)
{
    for (guint i = 0; i < s->sections->len; i++) {
        const Section *sec = &g_array_index(s->sections, Section, i);

        if (sec->type == type && !strcmp(sec->idstr, idstr) && nth-- == 0) {
            return sec;
        }
    }
    g_error("the small stream has no %s section '%s'", section_name(type),
            idstr);
}

/*
 * The small stream: the a-b guest on 16 MiB and 2 vCPUs.  Hart 0 prints
 * 'A', zeroes bytes up to DRAM + 16 MiB, traps on the first store past
 * the end of RAM ('X', mcause, mepc, newline) and parks; hart 1 parks at
 * once.  Saved running, so its globalstate says "running" and a restored
 * guest runs (parked) on the destination.  About 50 KiB: both blocks'
 * MEM_SIZE entries, a few hundred ZERO and a few PAGE records, the four
 * devices (2 cpu instances) and the vmdesc.
 */
static Stream *make_small_stream(void)
{
    Stream *s = g_new0(Stream, 1);
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *uri = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    size_t pos = 0;
    const char *keep = g_getenv("GODWIT_STREAM_KEEP");

    s->src = qtest_initf(SMALL_ARGS " -kernel %s", image);
    if (!qtest_serial_wait_char(s->src, '\n', &pos, 0)) {
        g_error("the a-b guest on 16 MiB did not trap and park");
    }
    text = qtest_serial_read(s->src);
    g_assert_true(g_str_has_prefix(text, "AX"));
    s->dir = g_build_filename(qtest_tmpdir(s->src), "mutants", NULL);
    g_assert_cmpint(g_mkdir(s->dir, 0700), ==, 0);
    s->path = g_build_filename(qtest_tmpdir(s->src), "small.mig", NULL);
    uri = g_strdup_printf("file:%s", s->path);
    migrate_ensure_converge(s->src);
    migrate_qmp(s->src, uri);
    wait_for_migration_complete(s->src);
    if (!g_file_get_contents(s->path, (char **)&s->data, &s->len, &err)) {
        g_error("reading %s: %s", s->path, err->message);
    }
    parse_stream(s);
    g_test_message("small stream: %zu bytes, %u regions, %u sections, EOF "
                   "at %zu, vmdesc at %zu", s->len, s->regions->len,
                   s->sections->len, s->eof_off, s->vmdesc_off);
    if (keep) {
        g_autofree char *dst = g_build_filename(keep, "small.mig", NULL);

        g_mkdir_with_parents(keep, 0755);
        g_file_set_contents(dst, (char *)s->data, s->len, NULL);
    }
    return s;
}

static void stream_free(Stream *s)
{
    for (guint i = 0; i < s->regions->len; i++) {
        g_free(g_array_index(s->regions, Region, i).label);
    }
    g_array_free(s->regions, TRUE);
    g_array_free(s->sections, TRUE);
    for (int i = 0; i < s->nblocks; i++) {
        g_free(s->blocks[i]);
    }
    /* the temp dir goes with the source */
    qtest_quit(s->src);
    g_free(s->dir);
    g_free(s->path);
    g_free(s->data);
    g_free(s);
}

/* ============================================== running the destinations */

typedef enum Outcome {
    OUT_NONE,
    OUT_LOADED,         /* loaded (trace), still alive after the grace */
    OUT_REJECTED,       /* exit status 1 */
    OUT_BAD_EXIT,       /* any other exit status, or an exit after a load */
    OUT_SIGNAL,         /* killed by a signal: a crash */
    OUT_SANITIZER,      /* a sanitizer report, whatever the status */
    OUT_HANG,           /* neither within MUTANT_TIMEOUT_S */
} Outcome;

static const char *const outcome_names[] = {
    [OUT_NONE] = "-", [OUT_LOADED] = "loaded", [OUT_REJECTED] = "rejected",
    [OUT_BAD_EXIT] = "bad exit", [OUT_SIGNAL] = "CRASH",
    [OUT_SANITIZER] = "SANITIZER", [OUT_HANG] = "HANG",
};

typedef struct Mutant {
    char *name;             /* what was done, and where */
    uint8_t *data;
    size_t len;
    Expect expect;
    const char *want;       /* the error must contain this (or NULL) */
    const char *want2;      /* ... or this */
    bool exec;              /* exec:cat instead of file: */
    const char *dest_args;  /* instead of SMALL_ARGS */

    /* the run */
    int index;
    GPid pid;
    gint64 started;
    gint64 loaded_at;       /* 0: not yet */
    char *file, *log, *trace;
    Outcome outcome;
    int status;
    double secs;
    char *output;           /* the destination's stdout + stderr */
    char *error;            /* text after "load of migration failed: " */
    char *backtrace;        /* gdb, for a hang */
    char *cmdline;
    char *problem;          /* NULL: as expected */
    bool retried;
} Mutant;

static Mutant *mutant_new(const uint8_t *data, size_t len, Expect expect,
                          const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static Mutant *mutant_new(const uint8_t *data, size_t len, Expect expect,
                          const char *fmt, ...)
{
    Mutant *m = g_new0(Mutant, 1);
    va_list ap;

    va_start(ap, fmt);
    m->name = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    m->data = g_memdup2(data, len);
    m->len = len;
    m->expect = expect;
    return m;
}

static void mutant_free(gpointer p)
{
    Mutant *m = p;

    g_free(m->name);
    g_free(m->data);
    g_free(m->file);
    g_free(m->log);
    g_free(m->trace);
    g_free(m->output);
    g_free(m->error);
    g_free(m->backtrace);
    g_free(m->cmdline);
    g_free(m->problem);
    g_free(m);
}

/* Forget a run (the files are rewritten by the next spawn). */
static void mutant_reset(Mutant *m)
{
    g_unlink(m->file);
    g_unlink(m->log);
    g_unlink(m->trace);
    g_clear_pointer(&m->file, g_free);
    g_clear_pointer(&m->log, g_free);
    g_clear_pointer(&m->trace, g_free);
    g_clear_pointer(&m->cmdline, g_free);
    m->loaded_at = 0;
    m->outcome = OUT_NONE;
    m->status = 0;
}

static pid_t test_pid;

static void dest_child_setup(gpointer data)
{
    /* own group (exec: starts a shell and cat), dies with the test */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != test_pid) {
        _exit(127);
    }
}

static void mutant_spawn(Stream *s, Mutant *m)
{
    const char *binary = g_getenv("QTEST_QEMU_BINARY");
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) args = NULL;
    int out, err_fd, in;

    g_assert_nonnull(binary);
    m->file = g_strdup_printf("%s/m%d.mig", s->dir, m->index);
    m->log = g_strdup_printf("%s/m%d.out", s->dir, m->index);
    m->trace = g_strdup_printf("%s/m%d.trace", s->dir, m->index);
    if (!g_file_set_contents(m->file, (const char *)m->data, m->len, &err)) {
        g_error("writing %s: %s", m->file, err->message);
    }

    g_ptr_array_add(argv, g_strdup(binary));
    args = g_strsplit(m->dest_args ? m->dest_args : SMALL_ARGS, " ", -1);
    for (int i = 0; args[i]; i++) {
        g_ptr_array_add(argv, g_strdup(args[i]));
    }
    g_ptr_array_add(argv, g_strdup("-display"));
    g_ptr_array_add(argv, g_strdup("none"));
    g_ptr_array_add(argv, g_strdup("-serial"));
    g_ptr_array_add(argv, g_strdup("null"));
    g_ptr_array_add(argv, g_strdup("-monitor"));
    g_ptr_array_add(argv, g_strdup("none"));
    g_ptr_array_add(argv, g_strdup("-trace"));
    g_ptr_array_add(argv, g_strdup("process_incoming_migration_bh"));
    g_ptr_array_add(argv, g_strdup("-D"));
    g_ptr_array_add(argv, g_strdup(m->trace));
    g_ptr_array_add(argv, g_strdup("-incoming"));
    g_ptr_array_add(argv, m->exec ? g_strdup_printf("exec:cat %s", m->file)
                                  : g_strdup_printf("file:%s", m->file));
    g_ptr_array_add(argv, NULL);
    {
        GString *cl = g_string_new(NULL);

        for (guint i = 0; argv->pdata[i]; i++) {
            const char *a = argv->pdata[i];

            g_string_append_printf(cl, i ? (strchr(a, ' ') ? " '%s'" : " %s")
                                         : "%s", a);
        }
        m->cmdline = g_string_free(cl, FALSE);
    }

    /*
     * stdout and stderr into one file, through two descriptors (GLib 2.74
     * loses the output when both are the same fd).
     */
    out = open(m->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
               0600);
    err_fd = open(m->log, O_WRONLY | O_APPEND | O_CLOEXEC);
    in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(out, >=, 0);
    g_assert_cmpint(err_fd, >=, 0);
    g_assert_cmpint(in, >=, 0);
    if (!g_spawn_async_with_fds(NULL, (char **)argv->pdata, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD, dest_child_setup,
                                NULL, &m->pid, in, out, err_fd, &err)) {
        g_error("cannot start %s: %s", binary, err->message);
    }
    close(out);
    close(err_fd);
    close(in);
    m->started = g_get_monotonic_time();
}

static bool trace_says_loaded(Mutant *m)
{
    g_autofree char *t = NULL;

    return g_file_get_contents(m->trace, &t, NULL, NULL) &&
           strstr(t, "process_incoming_migration_bh");
}

/* A hung destination: its threads' stacks, if gdb can attach. */
static char *hang_backtrace(GPid pid)
{
    g_autofree char *gdb = g_find_program_in_path("gdb");
    g_autofree char *tmo = g_find_program_in_path("timeout");
    g_autofree char *spid = g_strdup_printf("%d", (int)pid);
    g_autofree char *out = NULL;
    const char *argv[] = {
        tmo, "30", gdb, "-batch", "-nx", "-p", spid,
        "-ex", "thread apply all bt", NULL
    };

    if (!gdb || !tmo) {
        return g_strdup("(no gdb/timeout in PATH for a backtrace)");
    }
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, &out, NULL, NULL, NULL)) {
        return g_strdup("(gdb could not be run)");
    }
    return g_steal_pointer(&out);
}

/* Reap @m if it ended; returns true once it is finished (and reaped). */
static bool mutant_poll(Mutant *m)
{
    int status;
    pid_t r;
    gint64 now = g_get_monotonic_time();

    do {
        r = waitpid(m->pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == m->pid) {
        m->status = status;
        if (WIFSIGNALED(status)) {
            m->outcome = OUT_SIGNAL;
        } else if (m->loaded_at) {
            m->outcome = OUT_BAD_EXIT;      /* loaded, then quit */
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
            m->outcome = OUT_REJECTED;
        } else {
            m->outcome = OUT_BAD_EXIT;
        }
    } else if (r < 0) {
        g_error("waitpid %d: %s", (int)m->pid, g_strerror(errno));
    } else if (!m->loaded_at && trace_says_loaded(m)) {
        m->loaded_at = now;
        return false;
    } else if (m->loaded_at && now - m->loaded_at >= MUTANT_GRACE_MS * 1000) {
        m->outcome = OUT_LOADED;
    } else if (now - m->started >= MUTANT_TIMEOUT_S * G_USEC_PER_SEC) {
        m->outcome = OUT_HANG;
        m->backtrace = hang_backtrace(m->pid);
    } else {
        return false;
    }
    /* the whole group: exec's shell and cat too */
    kill(-m->pid, SIGKILL);
    kill(m->pid, SIGKILL);
    if (r != m->pid) {
        while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR) {
            /* retry */
        }
    }
    m->secs = (now - m->started) / 1e6;
    return true;
}

static bool has_any(const char *hay, const char *const *needles)
{
    for (; *needles; needles++) {
        if (strstr(hay, *needles)) {
            return true;
        }
    }
    return false;
}

/* Classify a finished mutant; sets m->problem when it did wrong. */
static void mutant_judge(Mutant *m)
{
    static const char *const sanitizer[] = {
        "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
        "runtime error:", "ThreadSanitizer", NULL
    };
    /* "where": the offset, the section, or the part of the stream */
    static const char *const where[] = {
        "offset", "section", "configuration", "Not a migration stream",
        "stream version", "SaveVM v2", NULL
    };
    static const char *const tag = "load of migration failed: ";
    const char *e;

    /*
     * Godwit's error_report() writes to the -D log when there is one
     * (QEMU's goes to stderr): read both.
     */
    {
        g_autofree char *out = NULL, *log = NULL;

        if (!g_file_get_contents(m->log, &out, NULL, NULL)) {
            out = g_strdup("");
        }
        if (!g_file_get_contents(m->trace, &log, NULL, NULL)) {
            log = g_strdup("");
        }
        m->output = g_strconcat(out, log, NULL);
    }
    g_strchomp(m->output);
    e = strstr(m->output, tag);
    if (e) {
        const char *nl;

        e += strlen(tag);
        nl = strchr(e, '\n');
        m->error = nl ? g_strndup(e, nl - e) : g_strdup(e);
    }
    if (has_any(m->output, sanitizer)) {
        m->outcome = OUT_SANITIZER;
    }

    switch (m->outcome) {
    case OUT_SIGNAL:
        m->problem = g_strdup_printf("destination killed by signal %d (%s)",
                                     WTERMSIG(m->status),
                                     g_strsignal(WTERMSIG(m->status)));
        return;
    case OUT_SANITIZER:
        m->problem = g_strdup("sanitizer report");
        return;
    case OUT_HANG:
        m->problem = g_strdup_printf("no result after %d s (hang)",
                                     MUTANT_TIMEOUT_S);
        return;
    case OUT_BAD_EXIT:
        if (WIFEXITED(m->status)) {
            m->problem = g_strdup_printf("exit status %d%s",
                                         WEXITSTATUS(m->status),
                                         m->loaded_at ? " after loading" :
                                         ", expected 1 (or a load)");
        } else {
            m->problem = g_strdup_printf("wait status 0x%x", m->status);
        }
        return;
    case OUT_LOADED:
        if (m->expect == EXP_FAIL) {
            m->problem = g_strdup("loaded, but this stream must be "
                                  "rejected");
        }
        return;
    case OUT_REJECTED:
        if (m->expect == EXP_LOAD) {
            m->problem = g_strdup("rejected, but this stream must load");
        } else if (!m->error || !m->error[0]) {
            m->problem = g_strdup("exit 1 without \"load of migration "
                                  "failed: <error>\"");
        } else if (!has_any(m->error, where)) {
            m->problem = g_strdup("the error does not say where (no offset, "
                                  "section or part of the stream)");
        } else if (m->want && !strstr(m->error, m->want) &&
                   !(m->want2 && strstr(m->error, m->want2))) {
            m->problem = g_strdup_printf("the error does not name \"%s\"%s%s%s",
                                         m->want, m->want2 ? " (or \"" : "",
                                         m->want2 ? m->want2 : "",
                                         m->want2 ? "\")" : "");
        }
        return;
    default:
        g_assert_not_reached();
    }
}

static void mutant_cleanup_files(Mutant *m)
{
    const char *keep = g_getenv("GODWIT_STREAM_KEEP");

    if (m->problem && keep) {
        g_autofree char *base = g_path_get_basename(m->file);
        g_autofree char *dst = g_build_filename(keep, base, NULL);

        g_mkdir_with_parents(keep, 0755);
        g_file_set_contents(dst, (char *)m->data, m->len, NULL);
    }
    g_unlink(m->file);
    g_unlink(m->log);
    g_unlink(m->trace);
}

static int jobs(void)
{
    const char *v = g_getenv("GODWIT_STREAM_JOBS");
    int n = v ? atoi(v) : 0;

    return n > 0 && n <= 16 ? n : DEFAULT_JOBS;
}

/*
 * Run every mutant, @jobs at a time, then report.  Nothing here fails the
 * test while a destination is alive: all are reaped first.
 */
static void run_mutants(Stream *s, GPtrArray *ms, const char *what)
{
    int nj = jobs();
    Mutant **running = g_new0(Mutant *, nj);
    GQueue todo = G_QUEUE_INIT;
    guint done = 0;
    int nrun = 0;
    unsigned count[OUT_HANG + 1] = { 0 };
    unsigned nprob = 0;
    GString *report = g_string_new(NULL);
    gint64 t0 = g_get_monotonic_time();

    test_pid = getpid();
    for (guint i = 0; i < ms->len; i++) {
        Mutant *m = g_ptr_array_index(ms, i);

        m->index = i;
        g_queue_push_tail(&todo, m);
    }
    while (done < ms->len) {
        for (int j = 0; j < nj; j++) {
            if (!running[j] && !g_queue_is_empty(&todo)) {
                running[j] = g_queue_pop_head(&todo);
                mutant_spawn(s, running[j]);
                nrun++;
            }
        }
        g_usleep(2000);
        for (int j = 0; j < nj; j++) {
            Mutant *m = running[j];

            if (!m || !mutant_poll(m)) {
                continue;
            }
            running[j] = NULL;
            nrun--;
            if (m->outcome == OUT_SIGNAL && WTERMSIG(m->status) == SIGKILL &&
                !m->retried) {
                /*
                 * Nothing in Godwit sends SIGKILL: that is the OOM killer
                 * or a "pkill -9 -f godwit-system-riscv64" of someone
                 * else on a shared machine (.ci/run does that).  Once
                 * more; a second SIGKILL counts.
                 */
                g_test_message("%s: killed by SIGKILL from outside, once "
                               "more", m->name);
                m->retried = true;
                mutant_reset(m);
                g_queue_push_tail(&todo, m);
                continue;
            }
            mutant_judge(m);
            mutant_cleanup_files(m);
            done++;
        }
    }
    g_assert_cmpint(nrun, ==, 0);
    g_free(running);

    for (guint i = 0; i < ms->len; i++) {
        Mutant *m = g_ptr_array_index(ms, i);

        count[m->outcome]++;
        if (g_test_verbose() || m->problem) {
            g_test_message("%s %s: %s (%s, %.2f s)%s%s", m->problem ? "FAIL"
                           : "ok  ", m->name, outcome_names[m->outcome],
                           expect_names[m->expect], m->secs,
                           m->error ? ": " : "", m->error ? m->error : "");
        }
        if (m->problem) {
            nprob++;
            g_string_append_printf(report,
                "\n--- %s\n    mutant: %s (%s, via %s)\n    command: %s\n",
                m->problem, m->name, expect_names[m->expect],
                m->exec ? "exec:cat" : "file:", m->cmdline);
            if (m->output[0]) {
                g_string_append_printf(report, "    output: %s\n", m->output);
            }
            if (m->backtrace) {
                g_string_append_printf(report, "    backtrace:\n%s\n",
                                       m->backtrace);
            }
        }
    }
    g_test_message("%s: %u mutants in %.1f s (%d at a time): %u loaded, %u "
                   "rejected, %u bad exit, %u crashed, %u sanitizer, %u hung",
                   what, ms->len, (g_get_monotonic_time() - t0) / 1e6, nj,
                   count[OUT_LOADED], count[OUT_REJECTED],
                   count[OUT_BAD_EXIT], count[OUT_SIGNAL],
                   count[OUT_SANITIZER], count[OUT_HANG]);
    if (nprob) {
        g_autofree char *text = g_string_free(report, FALSE);

        g_error("%s: %u of %u mutants went wrong (stream: %zu bytes, "
                "GODWIT_STREAM_KEEP=DIR keeps them):%s", what, nprob,
                ms->len, s->len, text);
    }
    g_string_free(report, TRUE);
}

/* ====================================================== the mutant sets */

typedef struct Bound {
    size_t off;
    const char *label;
    bool inside;
} Bound;

static gint bound_cmp(gconstpointer a, gconstpointer b)
{
    const Bound *x = a, *y = b;

    return x->off < y->off ? -1 : x->off > y->off;
}

/* Truncation points: the start and the middle of every notable region. */
static GArray *boundaries(const Stream *s)
{
    GArray *b = g_array_new(FALSE, TRUE, sizeof(Bound));
    GArray *u = g_array_new(FALSE, TRUE, sizeof(Bound));

    for (guint i = 0; i < s->regions->len; i++) {
        const Region *r = &g_array_index(s->regions, Region, i);
        Bound x = { r->start, r->label, false };

        if (!r->notable) {
            continue;
        }
        g_array_append_val(b, x);
        if (r->len >= 2) {
            x.off = r->start + r->len / 2;
            x.inside = true;
            g_array_append_val(b, x);
        }
    }
    /* the last byte missing */
    {
        Bound x = { s->len - 1, "the last byte", false };

        g_array_append_val(b, x);
    }
    g_array_sort(b, bound_cmp);
    for (guint i = 0; i < b->len; i++) {
        Bound *x = &g_array_index(b, Bound, i);

        if (!u->len || g_array_index(u, Bound, u->len - 1).off != x->off) {
            g_array_append_val(u, *x);
        }
    }
    g_array_free(b, TRUE);
    return u;
}

static Mutant *truncation(const Stream *s, size_t off, const char *label,
                          bool inside)
{
    /* cut before EOF: must fail; inside the vmdesc: ignored, must load */
    Expect e = off <= s->eof_off ? EXP_FAIL : EXP_LOAD;
    const Region *r = region_at(s, off);

    return mutant_new(s->data, off, e, "truncated to %zu bytes (%s %s; %s)",
                      off, inside ? "inside" : "at the start of", label,
                      kind_names[r->kind]);
}

static void test_truncated(gconstpointer data)
{
    Stream *s = make_small_stream();
    g_autoptr(GPtrArray) ms = g_ptr_array_new_with_free_func(mutant_free);
    GArray *b = boundaries(s);

    if (full_set) {
        g_autoptr(GRand) rnd = g_rand_new_with_seed(s->len);

        for (guint i = 0; i < b->len; i++) {
            Bound *x = &g_array_index(b, Bound, i);

            g_ptr_array_add(ms, truncation(s, x->off, x->label, x->inside));
        }
        for (int i = 0; i < FULL_RANDOM_TRUNCATIONS; i++) {
            size_t off = g_rand_int_range(rnd, 1, s->len);

            g_ptr_array_add(ms, truncation(s, off, region_at(s, off)->label,
                                           true));
        }
    } else {
        /* spread over the file, and the two sides of the EOF byte */
        guint step = MAX(1, b->len / (SMOKE_TRUNCATIONS - 2));

        for (guint i = 0; i < b->len; i += step) {
            Bound *x = &g_array_index(b, Bound, i);

            g_ptr_array_add(ms, truncation(s, x->off, x->label, x->inside));
        }
        g_ptr_array_add(ms, truncation(s, s->eof_off, "EOF", false));
        g_ptr_array_add(ms, truncation(s, s->eof_off + 1, "vmdesc", false));
    }
    /* every other one through a pipe (exec:), the rest from the file */
    for (guint i = 0; i < ms->len; i++) {
        ((Mutant *)g_ptr_array_index(ms, i))->exec = i & 1;
    }
    g_test_message("%u truncation points (%u boundaries found%s)", ms->len,
                   b->len, full_set ? ", all taken, and random ones" : "");
    g_array_free(b, TRUE);
    run_mutants(s, ms, "truncated streams");
    stream_free(s);
}

static uint32_t flip_seed(void)
{
    const char *v = g_getenv("GODWIT_STREAM_SEED");

    if (v && *v) {
        return (uint32_t)strtoul(v, NULL, 0);
    }
    return g_random_int();
}

static void test_bitflips(gconstpointer data)
{
    Stream *s = make_small_stream();
    g_autoptr(GPtrArray) ms = g_ptr_array_new_with_free_func(mutant_free);
    uint32_t seed = flip_seed();
    g_autoptr(GRand) rnd = g_rand_new_with_seed(seed);
    int n = full_set ? FULL_FLIPS : SMOKE_FLIPS;
    g_autoptr(GArray) structural = g_array_new(FALSE, FALSE, sizeof(guint));
    unsigned per_kind[K_COUNT] = { 0 };

    /* regions that are not bulk (page data, ZERO records, vmdesc JSON) */
    for (guint i = 0; i < s->regions->len; i++) {
        const Region *r = &g_array_index(s->regions, Region, i);

        if (r->kind != K_RAM_PAGE_DATA && r->kind != K_VMDESC_JSON &&
            r->kind != K_RAM_WORD && r->kind != K_RAM_FILL) {
            g_array_append_val(structural, i);
        }
    }
    g_test_message("bit flips: seed %" PRIu32 " (GODWIT_STREAM_SEED=%" PRIu32
                   " repeats this run), %d flips", seed, seed, n);
    for (int i = 0; i < n; i++) {
        size_t off;
        int bit;
        const Region *r;
        uint8_t *d;
        Mutant *m;

        if (i & 1) {
            /* half of them anywhere in the file */
            off = g_rand_int_range(rnd, 0, s->len);
        } else {
            /* half in the structure, every region as likely */
            guint ri = g_array_index(structural, guint,
                                     g_rand_int_range(rnd, 0,
                                                      structural->len));
            const Region *sr = &g_array_index(s->regions, Region, ri);

            off = sr->start + g_rand_int_range(rnd, 0, sr->len);
        }
        bit = g_rand_int_range(rnd, 0, 8);
        r = region_at(s, off);
        per_kind[r->kind]++;
        m = mutant_new(s->data, s->len, flip_expect(r->kind),
                       "seed %" PRIu32 " flip %d: bit %d of byte %zu "
                       "(0x%02x -> 0x%02x) in %s (+%zu; %s)", seed, i, bit,
                       off, s->data[off], s->data[off] ^ (1u << bit),
                       r->label, off - r->start, kind_names[r->kind]);
        d = m->data;
        d[off] ^= 1u << bit;
        m->exec = (i % 4) == 3;
        g_ptr_array_add(ms, m);
    }
    {
        GString *k = g_string_new(NULL);

        for (int i = 0; i < K_COUNT; i++) {
            if (per_kind[i]) {
                g_string_append_printf(k, "%s%s %u", k->len ? ", " : "",
                                       kind_names[i], per_kind[i]);
            }
        }
        g_test_message("flips per kind of byte: %s", k->str);
        g_string_free(k, TRUE);
    }
    run_mutants(s, ms, "bit-flipped streams");
    stream_free(s);
}

/* ---- targeted corruptions */

/* data[0..off) + ins + data[off+del..) */
static Mutant *mut_splice(const Stream *s, size_t off, size_t del,
                      const void *ins, size_t ins_len, Expect e,
                      const char *want, const char *name)
{
    Mutant *m = g_new0(Mutant, 1);
    uint8_t *d;

    g_assert_cmpuint(off + del, <=, s->len);
    m->len = s->len - del + ins_len;
    d = m->data = g_malloc(m->len);
    memcpy(d, s->data, off);
    memcpy(d + off, ins, ins_len);
    memcpy(d + off + ins_len, s->data + off + del, s->len - off - del);
    m->name = g_strdup_printf("%s (at %zu)", name, off);
    m->expect = e;
    m->want = want;
    return m;
}

static Mutant *mut_patch(const Stream *s, size_t off, const void *bytes,
                     size_t n, Expect e, const char *want, const char *name)
{
    return mut_splice(s, off, n, bytes, n, e, want, name);
}

static Mutant *mut_insert(const Stream *s, size_t off, const void *bytes,
                      size_t n, Expect e, const char *want, const char *name)
{
    return mut_splice(s, off, 0, bytes, n, e, want, name);
}

static Mutant *mut_patch32(const Stream *s, size_t off, uint32_t v, Expect e,
                       const char *want, const char *name)
{
    uint8_t b[4];

    wr32(b, v);
    return mut_patch(s, off, b, 4, e, want, name);
}

static Mutant *mut_patch64(const Stream *s, size_t off, uint64_t v, Expect e,
                       const char *want, const char *name)
{
    uint8_t b[8];

    wr64(b, v);
    return mut_patch(s, off, b, 8, e, want, name);
}

static Mutant *mut_patch8(const Stream *s, size_t off, uint8_t v, Expect e,
                      const char *want, const char *name)
{
    return mut_patch(s, off, &v, 1, e, want, name);
}

static void add_targeted(const Stream *s, GPtrArray *ms)
{
    const Section *ram_start = find_section(s, S_START, "ram", 0);
    const Section *ram_part = NULL;
    const Section *cpu0 = find_section(s, S_FULL, "cpu", 0);
    const Section *first_dev = NULL;
    const Section *gs = find_section(s, S_FULL, "globalstate", 0);
    const PageRec *fr = &s->first_part_rec;
    uint8_t buf[300];

    for (guint i = 0; i < s->sections->len; i++) {
        const Section *x = &g_array_index(s->sections, Section, i);

        if (!ram_part && x->type == S_PART) {
            ram_part = x;
        }
        if (!first_dev && x->type == S_FULL) {
            first_dev = x;
        }
    }
    g_assert_nonnull(ram_part);
    g_assert_nonnull(first_dev);

    /* ---- header and configuration */
    g_ptr_array_add(ms, mut_patch(s, 0, "QEVN", 4, EXP_FAIL,
                              "Not a migration stream", "magic QEVN"));
    g_ptr_array_add(ms, mut_patch32(s, 4, 2, EXP_FAIL, "obsolete",
                                "stream version 2"));
    g_ptr_array_add(ms, mut_patch32(s, 4, 4, EXP_FAIL, "Unsupported",
                                "stream version 4"));
    g_ptr_array_add(ms, mut_patch8(s, 8, S_START, EXP_FAIL, "Configuration",
                               "configuration marker missing"));
    g_ptr_array_add(ms, mut_patch(s, s->config_len_off + 4, "xirt", 4, EXP_FAIL,
                              "Machine type",
                              "machine name 'xirt' (another machine)"));
    g_ptr_array_add(ms, mut_patch32(s, s->config_len_off, 0xffffffffu, EXP_FAIL,
                                NULL, "machine name length 0xffffffff (a "
                                "huge counted string)"));
    g_ptr_array_add(ms, mut_patch32(s, s->config_len_off, 0x100000, EXP_FAIL,
                                NULL, "machine name length 1 MiB, longer "
                                "than the stream"));
    g_ptr_array_add(ms, mut_patch32(s, s->config_len_off, 0, EXP_FAIL, NULL,
                                "machine name length 0"));

    /* ---- section headers */
    g_ptr_array_add(ms, mut_patch8(s, ram_part->off, 0x42, EXP_FAIL,
                               "Unknown savevm section type",
                               "unknown section type 0x42"));
    g_ptr_array_add(ms, mut_patch32(s, ram_start->version_off, 5, EXP_FAIL,
                                "version", "ram START version 5"));
    g_ptr_array_add(ms, mut_patch32(s, cpu0->instance_off, 7, EXP_FAIL,
                                "Unknown section or instance",
                                "cpu instance 7 (no such vCPU)"));
    g_ptr_array_add(ms, mut_patch32(s, cpu0->off + 1, ram_start->id, EXP_FAIL,
                                "already used", "FULL cpu with the section "
                                "id of ram (id/instance mismatch)"));
    g_ptr_array_add(ms, mut_patch32(s, ram_part->off + 1, ram_part->id + 100,
                                EXP_FAIL, "Unknown savevm section",
                                "PART with a section id never opened"));
    {
        /* a PART for the first device's section id, after that device */
        uint8_t b[5] = { S_PART };

        wr32(b + 1, first_dev->id);
        g_ptr_array_add(ms, mut_insert(s, first_dev->footer_off + 5, b, 5,
                                   EXP_FAIL, "not iterative",
                                   "PART record for a device section"));
    }
    {
        /* idstr length 255, 255 bytes of 'x' */
        size_t idlen = s->data[cpu0->off + 5];

        buf[0] = 255;
        memset(buf + 1, 'x', 255);
        g_ptr_array_add(ms, mut_splice(s, cpu0->off + 5, 1 + idlen, buf, 256,
                                   EXP_FAIL, "Unknown section or instance",
                                   "section idstr of 255 'x'"));
        buf[0] = 0;
        g_ptr_array_add(ms, mut_splice(s, cpu0->off + 5, 1 + idlen, buf, 1,
                                   EXP_FAIL, "bad ID string",
                                   "section idstr length 0 (empty name)"));
        buf[0] = 3;
        memcpy(buf + 1, "c\0u", 3);
        g_ptr_array_add(ms, mut_splice(s, cpu0->off + 5, 1 + idlen, buf, 4,
                                   EXP_FAIL, "bad ID string",
                                   "section idstr with a NUL byte"));
    }

    /* ---- vmstate subsections at the end of a device's payload */
    {
        size_t n;

        buf[0] = S_SUBSECTION;
        buf[1] = 255;
        memset(buf + 2, 'y', 255);
        wr32(buf + 257, 1);
        /* not "cpu/...": not cpu's, so the footer is missing (as QEMU) */
        g_ptr_array_add(ms, mut_insert(s, cpu0->footer_off, buf, 261,
                                       EXP_FAIL, "footer",
                                       "subsection named 255 'y' after "
                                       "cpu's fields"));
        n = strlen("cpu/nonexistent");
        buf[1] = n;
        memcpy(buf + 2, "cpu/nonexistent", n);
        wr32(buf + 2 + n, 1);
        g_ptr_array_add(ms, mut_insert(s, cpu0->footer_off, buf, 6 + n,
                                       EXP_FAIL, "subsection",
                                       "unknown cpu subsection"));
        buf[1] = 0;
        g_ptr_array_add(ms, mut_insert(s, cpu0->footer_off, buf, 2,
                                       EXP_FAIL, NULL,
                                       "cpu subsection with an empty name, "
                                       "then the stream's footer"));
    }

    /* ---- footers */
    g_ptr_array_add(ms, mut_patch32(s, cpu0->footer_off + 1, cpu0->id + 1,
                                EXP_FAIL, "footer", "cpu footer with the "
                                "wrong section id"));
    g_ptr_array_add(ms, mut_patch8(s, ram_part->footer_off, 0x7f, EXP_FAIL,
                               "footer", "ram PART footer marker 0x7f"));

    /* ---- commands */
    {
        uint8_t b[16] = { S_COMMAND };

        wr16(b + 1, 0x2a);
        wr16(b + 3, 0);
        g_ptr_array_add(ms, mut_insert(s, ram_part->off, b, 5, EXP_FAIL,
                                   "unknown", "unknown command 0x2a"));
        wr16(b + 1, CMD_INVALID);
        g_ptr_array_add(ms, mut_insert(s, ram_part->off, b, 5, EXP_FAIL,
                                   "unknown", "command 0 (INVALID)"));
        wr16(b + 1, CMD_PING);
        wr16(b + 3, 4);
        wr32(b + 5, 0x1234);
        g_ptr_array_add(ms, mut_insert(s, ram_part->off, b, 9, EXP_FAIL,
                                   "return path",
                                   "PING with no return path"));
        wr16(b + 3, 8);
        wr64(b + 5, 0x1234);
        g_ptr_array_add(ms, mut_insert(s, ram_part->off, b, 13, EXP_FAIL,
                                   "bad length", "PING with length 8"));
        wr16(b + 1, CMD_OPEN_RETURN_PATH);
        wr16(b + 3, 0);
        b[5] = S_COMMAND;
        wr16(b + 6, CMD_PING);
        wr16(b + 8, 4);
        wr32(b + 10, 0x5678);
        g_ptr_array_add(ms, mut_insert(s, ram_part->off, b, 14, EXP_EITHER,
                                   NULL, "OPEN_RETURN_PATH and PING on a "
                                   "one-way channel"));
        wr16(b + 1, CMD_POSTCOPY_ADVISE);
        wr16(b + 3, 0);
        g_ptr_array_add(ms, mut_insert(s, ram_part->off, b, 5, EXP_FAIL,
                                   "postcopy", "POSTCOPY_ADVISE"));
        wr16(b + 1, 0xffff);
        wr16(b + 3, 0xffff);
        g_ptr_array_add(ms, mut_insert(s, ram_part->off, b, 5, EXP_FAIL,
                                   "unknown", "command 0xffff length "
                                   "0xffff"));
    }

    /* ---- the MEM_SIZE list */
    g_ptr_array_add(ms, mut_patch8(s, s->block_name_off[0], 255, EXP_FAIL, NULL,
                               "MEM_SIZE: first block name length 255"));
    g_ptr_array_add(ms, mut_patch8(s, s->block_name_off[0], 0, EXP_FAIL, NULL,
                               "MEM_SIZE: first block name length 0"));
    g_ptr_array_add(ms, mut_patch64(s, s->block_len_off[1],
                                s->block_len[1] + PAGE, EXP_FAIL, "length",
                                "MEM_SIZE: used_length one page more"));
    g_ptr_array_add(ms, mut_patch64(s, s->block_len_off[1], UINT64_MAX & ~0xfffULL,
                                EXP_FAIL, "length",
                                "MEM_SIZE: used_length 2^64 - 4096"));
    g_ptr_array_add(ms, mut_patch64(s, s->memsize_off,
                                (s->block_len[0] + s->block_len[1] + PAGE) |
                                F_MEM_SIZE, EXP_FAIL, NULL,
                                "MEM_SIZE: total one page more than the "
                                "blocks"));
    g_ptr_array_add(ms, mut_patch64(s, s->memsize_off,
                                ~(uint64_t)F_MASK | F_MEM_SIZE, EXP_FAIL,
                                NULL, "MEM_SIZE: total 2^64 - 4096"));

    /* ---- page records */
    g_ptr_array_add(ms, mut_patch8(s, fr->idstr_off, 255, EXP_FAIL, NULL,
                               "page record: block name length 255"));
    g_ptr_array_add(ms, mut_patch8(s, fr->idstr_off, 0, EXP_FAIL, NULL,
                               "page record: block name length 0"));
    g_ptr_array_add(ms, mut_patch8(s, fr->idstr_off + 1, 'X', EXP_FAIL,
                               "unknown ramblock",
                               "page record: unknown block name"));
    {
        /* CONTINUE on the first record of the first PART, idstr dropped */
        uint8_t w[8];
        size_t idlen = s->data[fr->idstr_off];

        wr64(w, fr->word | F_CONTINUE);
        g_ptr_array_add(ms, mut_splice(s, fr->off, 8 + 1 + idlen, w, 8, EXP_FAIL,
                                   "CONTINUE", "CONTINUE with no previous "
                                   "block"));
        wr64(w, (fr->word & ~(uint64_t)F_MASK) | F_XBZRLE);
        g_ptr_array_add(ms, mut_patch(s, fr->off, w, 8, EXP_FAIL,
                                  "never received",
                                  "XBZRLE page never received"));
        wr64(w, fr->word | 0x400);
        g_ptr_array_add(ms, mut_patch(s, fr->off, w, 8, EXP_FAIL, "flags",
                                  "unknown flag 0x400"));
        wr64(w, (fr->word & ~(uint64_t)F_MASK) | F_ZERO | F_PAGE);
        g_ptr_array_add(ms, mut_patch(s, fr->off, w, 8, EXP_FAIL, "flags",
                                  "ZERO|PAGE"));
    }
    if (s->page_cont.off) {
        const PageRec *p = &s->page_cont;

        g_ptr_array_add(ms, mut_patch64(s, p->off, p->block_len |
                                    (p->word & F_MASK), EXP_FAIL, "outside",
                                    "PAGE at the block's used_length"));
        g_ptr_array_add(ms, mut_patch64(s, p->off, (~(uint64_t)F_MASK) |
                                    (p->word & F_MASK), EXP_FAIL, "outside",
                                    "PAGE at offset 2^64 - 4096"));
        /* the stream ends inside the page's data */
        g_ptr_array_add(ms, mut_splice(s, p->body_off + 100, s->len -
                                   (p->body_off + 100), NULL, 0, EXP_FAIL,
                                   NULL, "stream ends inside a page"));
    }
    if (s->zero_cont.off) {
        const PageRec *z = &s->zero_cont;

        g_ptr_array_add(ms, mut_patch8(s, z->body_off, 0x5a, EXP_FAIL, NULL,
                                   "ZERO page with fill byte 0x5a"));
        g_ptr_array_add(ms, mut_patch64(s, z->off, z->block_len |
                                    (z->word & F_MASK), EXP_FAIL, "outside",
                                    "ZERO page at the block's used_length"));
    }

    /* ---- globalstate */
    g_ptr_array_add(ms, mut_patch32(s, gs->payload_off, 200, EXP_FAIL,
                                "globalstate", "globalstate size 200"));
    memset(buf, 0, 100);
    strcpy((char *)buf, "bogus");
    {
        Mutant *m;

        m = mut_patch(s, gs->payload_off + 4, buf, 100, EXP_FAIL,
                  "run state", "globalstate run state 'bogus'");
        g_ptr_array_add(ms, m);
        memset(buf, 'a', 100);
        m = mut_patch(s, gs->payload_off + 4, buf, 100, EXP_FAIL, "NUL",
                  "globalstate run state without NUL");
        g_ptr_array_add(ms, m);
    }

    /* ---- after EOF: ignored, as QEMU 7.2 does */
    if (s->vmdesc_off) {
        g_ptr_array_add(ms, mut_patch32(s, s->vmdesc_off + 1, 0xffffffffu,
                                    EXP_LOAD, NULL,
                                    "vmdesc length 0xffffffff"));
        g_ptr_array_add(ms, mut_patch8(s, s->vmdesc_off, 0x42, EXP_LOAD, NULL,
                                   "not a vmdesc after EOF"));
    }
    g_ptr_array_add(ms, mut_insert(s, s->len, "garbage after the stream", 24,
                               EXP_LOAD, NULL, "trailing garbage"));
}

static void test_targeted(gconstpointer data)
{
    Stream *s = make_small_stream();
    g_autoptr(GPtrArray) ms = g_ptr_array_new_with_free_func(mutant_free);
    guint n;

    add_targeted(s, ms);
    /* the same mutants once more through a pipe */
    n = ms->len;
    for (guint i = 0; i < n; i++) {
        Mutant *a = g_ptr_array_index(ms, i);
        Mutant *b = g_new0(Mutant, 1);

        b->name = g_strdup(a->name);
        b->data = g_memdup2(a->data, a->len);
        b->len = a->len;
        b->expect = a->expect;
        b->want = a->want;
        b->want2 = a->want2;
        b->exec = true;
        g_ptr_array_add(ms, b);
    }
    run_mutants(s, ms, "targeted corruptions");
    stream_free(s);
}

/* ====================================================== 3. mismatches */

typedef struct MismatchCase {
    const char *name;
    const char *args;
    const char *want, *want2;
} MismatchCase;

static const MismatchCase mismatch_cases[] = {
    {
        "/migration/stream/mismatch/mem-larger",
        "-M virt -m 32M -smp 2 -bios none",
        "riscv_virt_board.ram", NULL,
    }, {
        "/migration/stream/mismatch/mem-smaller",
        "-M virt -m 8M -smp 2 -bios none",
        "riscv_virt_board.ram", NULL,
    }, {
        /* 2 vCPUs saved, 1 here: the CLINT's hart count, or cpu 1 */
        "/migration/stream/mismatch/smp-fewer",
        "-M virt -m 16M -smp 1 -bios none",
        "num_harts", "'cpu' 1",
    }, {
        "/migration/stream/mismatch/smp-more",
        "-M virt -m 16M -smp 3 -bios none",
        "num_harts", "cpu",
    },
};

static void test_mismatch(gconstpointer data)
{
    const MismatchCase *c = data;
    Stream *s = make_small_stream();
    g_autoptr(GPtrArray) ms = g_ptr_array_new_with_free_func(mutant_free);

    for (int exec = 0; exec < 2; exec++) {
        Mutant *m = mutant_new(s->data, s->len, EXP_FAIL,
                               "the valid stream into %s", c->args);

        m->dest_args = c->args;
        m->want = c->want;
        m->want2 = c->want2;
        m->exec = exec;
        g_ptr_array_add(ms, m);
    }
    run_mutants(s, ms, c->name);
    stream_free(s);
}

static void test_mismatch_machine(void)
{
    g_test_skip("Godwit builds one machine type (-M virt), so a stream of "
                "another machine cannot be produced; the configuration "
                "record's machine name check is covered by the targeted "
                "mutant \"machine name 'xirt'\"");
}

/* ================================================================ main */

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-p") || g_str_has_prefix(argv[i], "-p=")) {
            explicit_paths = true;
        }
    }
    g_test_init(&argc, &argv, NULL);
    full_set = env_flag("GODWIT_TEST_FULL") || g_test_thorough();

    for (size_t i = 0; i < G_N_ELEMENTS(save_cases); i++) {
        g_test_add_data_func(save_cases[i].name, &save_cases[i],
                             test_save_restore);
    }
    g_test_add_data_func("/migration/stream/mutants/truncated", NULL,
                         test_truncated);
    g_test_add_data_func("/migration/stream/mutants/bitflip", NULL,
                         test_bitflips);
    g_test_add_data_func("/migration/stream/mutants/targeted", NULL,
                         test_targeted);
    for (size_t i = 0; i < G_N_ELEMENTS(mismatch_cases); i++) {
        g_test_add_data_func(mismatch_cases[i].name, &mismatch_cases[i],
                             test_mismatch);
    }
    g_test_add_func("/migration/stream/mismatch/machine",
                    test_mismatch_machine);
    return g_test_run();
}
