/*
 * Run the migration test guests (tests/migration-guest) on Godwit, on one
 * and two vCPUs, and check what each promises:
 *
 *   /guest/a-b/smp{1,2}            'A' then 'B's; with the VM stopped the
 *                                  check_guests_ram invariant holds over
 *                                  DRAM + 1 MiB .. DRAM + 100 MiB; it runs
 *                                  on after "cont"
 *   /guest/verify/smp{1,2}         GODWIT_VERIFY_SECONDS (default 30) of
 *                                  running with no 'F' and several 'B's
 *   /guest/verify/selftest/smp{1,2} a byte corrupted through qtest makes
 *                                  the guest print 'F' and that page
 *   /guest/rate/smp{1,2},          'A' and 'B's; the emulator uses well
 *   /guest/rate-low/smp1           under one host core (the guest sleeps
 *                                  in wfi); the guest dirties no more than
 *                                  its configured rate; a-b invariant
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "libqtest.h"

#define DRAM_BASE       0x80000000ULL
#define MiB             (1024ULL * 1024)
#define PAGE_SIZE       4096

/* a-b guest: tests/migration-guest/a-b.S */
#define AB_START        (DRAM_BASE + 1 * MiB)
#define AB_END          (DRAM_BASE + 100 * MiB)

/* verify guest: tests/migration-guest/verify.S */
#define VERIFY_START    (DRAM_BASE + 1 * MiB)
#define VERIFY_END      (DRAM_BASE + 64 * MiB)

/* rate guest: tests/migration-guest/rate.S, Makefile (RATE_DEFS) */
#define RATE_START      (DRAM_BASE + 1 * MiB)
#define RATE_END        (DRAM_BASE + 65 * MiB)

typedef struct RateCase {
    const char *guest;
    int smp;
    int pages_per_sec;
    int pages_per_tick;
} RateCase;

static const RateCase rate_cases[] = {
    { "rate", 1, 25600, 256 },
    { "rate", 2, 25600, 256 },
    { "rate-low", 1, 256, 16 },
};

#define READ_CHUNK      (1 * MiB)

static QTestState *start_guest(const char *guest, int smp)
{
    g_autofree char *image = qtest_guest_image(guest);

    return qtest_initf("-M virt -m 128M -smp %d -bios none -kernel %s",
                       smp, image);
}

/* Fail the test (with the serial output) if it holds anything but @ok. */
static void assert_serial_only(QTestState *s, const char *ok)
{
    g_autofree char *text = qtest_serial_read(s);
    size_t n = strlen(text);
    size_t bad = strspn(text, ok);

    if (bad != n) {
        g_autofree char *tail = g_strndup(text + bad, 80);

        g_error("unexpected serial output at byte %zu: \"%s\"", bad, tail);
    }
}

static size_t count_char(const char *text, char c)
{
    size_t n = 0;

    for (; *text; text++) {
        n += *text == c;
    }
    return n;
}

/* Wait for 'A', then for @nb 'B's after it. */
static void wait_a_then_b(QTestState *s, int nb)
{
    size_t pos = 0;
    int i;

    if (!qtest_serial_wait_char(s, 'A', &pos, 0)) {
        g_error("no 'A' on the serial port");
    }
    g_assert_cmpuint(pos, ==, 1);
    for (i = 0; i < nb; i++) {
        if (!qtest_serial_wait_char(s, 'B', &pos, 0)) {
            g_autofree char *text = qtest_serial_read(s);

            g_error("no 'B' number %d on the serial port (got \"%.80s\")",
                    i + 1, text);
        }
    }
}

/* out[i] = first byte of page start + i * PAGE_SIZE, read with b64read. */
static void read_first_bytes(QTestState *s, uint64_t start, uint64_t end,
                             uint8_t *out)
{
    g_autofree uint8_t *buf = g_malloc(READ_CHUNK);
    uint64_t a;
    size_t i = 0;

    for (a = start; a < end; a += READ_CHUNK) {
        uint64_t len = MIN(READ_CHUNK, end - a);
        uint64_t off;

        qtest_bufread(s, a, buf, len);
        for (off = 0; off < len; off += PAGE_SIZE) {
            out[i++] = buf[off];
        }
    }
}

/*
 * QEMU's check_guests_ram: consecutive first bytes are equal except for
 * at most one place where a byte is one less than the one before it.
 * Returns the number of violations (the first ones are reported).
 */
static int check_ab_invariant(const uint8_t *b, size_t n, uint64_t start)
{
    bool hit_edge = false;
    int bad = 0;
    size_t i;

    for (i = 1; i < n; i++) {
        if (b[i] == b[i - 1]) {
            continue;
        }
        if ((uint8_t)(b[i - 1] - 1) == b[i] && !hit_edge) {
            hit_edge = true;
            continue;
        }
        if (bad++ < 10) {
            g_test_message("page 0x%" PRIx64 ": byte 0x%02x after 0x%02x",
                           start + i * PAGE_SIZE, b[i], b[i - 1]);
        }
    }
    return bad;
}

static void stop_vm(QTestState *s)
{
    qtest_qmp_assert_success(s, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(s, "STOP");
}

static void cont_vm(QTestState *s)
{
    qtest_qmp_assert_success(s, "{\"execute\": \"cont\"}");
    qtest_qmp_eventwait(s, "RESUME");
}

/* ---------------------------------------------------------------- a-b */

static void test_ab(gconstpointer data)
{
    int smp = GPOINTER_TO_INT(data);
    size_t npages = (AB_END - AB_START) / PAGE_SIZE;
    g_autofree uint8_t *first = g_malloc(npages);
    g_autofree uint8_t *again = g_malloc(npages);
    g_autofree char *text = NULL;
    QTestState *s = start_guest("a-b", smp);
    size_t pos;
    size_t i;

    wait_a_then_b(s, 2);
    assert_serial_only(s, "AB");

    stop_vm(s);
    read_first_bytes(s, AB_START, AB_END, first);
    g_assert_cmpint(check_ab_invariant(first, npages, AB_START), ==, 0);
    /* Two passes done: no byte can still be zero unless it wrapped. */
    for (i = 0; i < npages && first[i] == 0; i++) {
        /* look for a non-zero byte */
    }
    g_assert_cmpuint(i, <, npages);

    /* Stopped means stopped: nothing changes. */
    g_usleep(200 * 1000);
    read_first_bytes(s, AB_START, AB_END, again);
    g_assert_cmpmem(first, npages, again, npages);

    /* And it goes on after cont. */
    text = qtest_serial_read(s);
    pos = strlen(text);
    cont_vm(s);
    g_assert_true(qtest_serial_wait_char(s, 'B', &pos, 0));
    assert_serial_only(s, "AB");
    qtest_quit(s);
}

/* ---------------------------------------------------------------- verify */

static int verify_seconds(void)
{
    const char *env = g_getenv("GODWIT_VERIFY_SECONDS");
    int v = env ? atoi(env) : 0;

    return v > 0 ? v : 30;
}

/* Fail on 'F' or anything else unexpected; return the number of 'B's. */
static size_t verify_check_serial(QTestState *s)
{
    g_autofree char *text = qtest_serial_read(s);
    const char *f = strchr(text, 'F');

    if (f) {
        g_error("verify guest found a bad page: \"%.40s\"", f);
    }
    assert_serial_only(s, "AB");
    return count_char(text, 'B');
}

static void test_verify(gconstpointer data)
{
    int smp = GPOINTER_TO_INT(data);
    int secs = verify_seconds();
    QTestState *s = start_guest("verify", smp);
    gint64 end;
    size_t nb;

    wait_a_then_b(s, 1);
    end = g_get_monotonic_time() + (gint64)secs * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < end) {
        g_usleep(500 * 1000);
        verify_check_serial(s);
    }
    nb = verify_check_serial(s);
    g_test_message("verify smp%d: %zu passes in about %d s", smp, nb, secs);
    g_assert_cmpuint(nb, >=, 3);
    qtest_quit(s);
}

/*
 * Wait until the serial output holds 'F', or @nb more 'B's after *pos.
 * Returns true if an 'F' is there.
 */
static bool wait_b_or_f(QTestState *s, size_t *pos, int nb)
{
    gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;

    for (;;) {
        g_autofree char *text = qtest_serial_read(s);
        size_t len = strlen(text);

        if (strchr(text, 'F')) {
            return true;
        }
        if (len > *pos && count_char(text + *pos, 'B') >= (size_t)nb) {
            *pos = len;
            return false;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("the verify guest stopped making progress: \"%.80s\"",
                    text + MIN(*pos, len));
        }
        g_usleep(20 * 1000);
    }
}

/*
 * Corrupt one byte of a page the guest owns and expect "F<page>" on the
 * serial port.  A rewrite of that page by the guest racing with our write
 * could hide the corruption, so try a few pages; the report may name any
 * of them.
 */
static void test_verify_selftest(gconstpointer data)
{
    int smp = GPOINTER_TO_INT(data);
    QTestState *s = start_guest("verify", smp);
    /* With two harts, hit the upper half: hart 1's pages. */
    uint64_t base = smp > 1 ? VERIFY_START + (VERIFY_END - VERIFY_START) / 2
                            : VERIFY_START;
    g_autofree char *text = NULL;
    uint64_t pages[5];
    size_t pos = 0;
    const char *f;
    int attempt;
    int i;

    wait_a_then_b(s, 1);
    for (attempt = 0; attempt < G_N_ELEMENTS(pages); attempt++) {
        uint64_t page = base + (1000 + attempt * 777) * (uint64_t)PAGE_SIZE;
        uint64_t addr = page + 8 * attempt + 3;
        uint8_t v = qtest_readb(s, addr);

        pages[attempt] = page;
        qtest_writeb(s, addr, v ^ 0x5a);
        /* Each working hart checks the page within two of its passes. */
        if (wait_b_or_f(s, &pos, 2 * smp + 1)) {
            break;
        }
        g_test_message("corruption at 0x%" PRIx64 " not seen; again", addr);
    }
    if (attempt == G_N_ELEMENTS(pages)) {
        g_error("the verify guest never reported a corrupted page");
    }

    /* Let the report finish, then check it names a page we corrupted. */
    g_usleep(200 * 1000);
    text = qtest_serial_read(s);
    f = strchr(text, 'F');
    g_assert_cmpuint(strlen(f), >=, 18);
    g_assert_cmpint(f[17], ==, '\n');
    for (i = 0; i <= attempt && i < G_N_ELEMENTS(pages); i++) {
        g_autofree char *want = g_strdup_printf("F%016" PRIx64 "\n",
                                                pages[i]);

        if (strncmp(f, want, 18) == 0) {
            break;
        }
    }
    if (i > attempt || i == G_N_ELEMENTS(pages)) {
        g_error("the guest reported \"%.17s\", not a page we corrupted", f);
    }
    g_assert_cmpuint(count_char(text, 'F'), ==, 1);
    qtest_quit(s);
}

/* ---------------------------------------------------------------- rate */

/* utime + stime of @pid, in seconds. */
static double process_cpu_seconds(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    unsigned long long utime, stime;
    const char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        g_error("cannot read %s", path);
    }
    /* Fields after the command name, which is in parentheses: state is 3. */
    p = strrchr(text, ')');
    g_assert_nonnull(p);
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2) {
        g_error("cannot parse %s", path);
    }
    return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static void test_rate(gconstpointer data)
{
    const RateCase *rc = data;
    int smp = rc->smp;
    size_t npages = (RATE_END - RATE_START) / PAGE_SIZE;
    g_autofree uint8_t *before = g_malloc(npages);
    g_autofree uint8_t *after = g_malloc(npages);
    QTestState *s = start_guest(rc->guest, smp);
    double cpu0, cpu1, wall;
    gint64 t0, t1;
    uint64_t dirtied = 0;
    size_t i;

    wait_a_then_b(s, 1);

    /* Host CPU while the guest runs: it sleeps in wfi between ticks. */
    cpu0 = process_cpu_seconds(qtest_pid(s));
    t0 = g_get_monotonic_time();
    g_usleep(3 * G_USEC_PER_SEC);
    cpu1 = process_cpu_seconds(qtest_pid(s));
    t1 = g_get_monotonic_time();
    wall = (t1 - t0) / 1e6;
    g_test_message("%s smp%d: %.2f s of CPU in %.2f s", rc->guest, smp,
                   cpu1 - cpu0, wall);
    g_assert_cmpfloat(cpu1 - cpu0, <, 0.5 * wall);
    assert_serial_only(s, "AB");

    /*
     * The guest never dirties faster than its rate: count increments over
     * a measured run.  Each page is bumped ~1.6 times a second, far from
     * the 256 that would make a byte wrap.
     */
    stop_vm(s);
    read_first_bytes(s, RATE_START, RATE_END, before);
    g_assert_cmpint(check_ab_invariant(before, npages, RATE_START), ==, 0);
    t0 = g_get_monotonic_time();
    cont_vm(s);
    g_usleep(2 * G_USEC_PER_SEC);
    stop_vm(s);
    t1 = g_get_monotonic_time();
    read_first_bytes(s, RATE_START, RATE_END, after);
    g_assert_cmpint(check_ab_invariant(after, npages, RATE_START), ==, 0);
    for (i = 0; i < npages; i++) {
        dirtied += (uint8_t)(after[i] - before[i]);
    }
    wall = (t1 - t0) / 1e6;
    g_test_message("%s smp%d: %" PRIu64 " page writes in %.2f s "
                   "(configured %d/s)", rc->guest, smp, dirtied, wall,
                   rc->pages_per_sec);
    g_assert_cmpuint(dirtied, >, 0);
    /* One tick of slack on top of the configured rate. */
    g_assert_cmpfloat(dirtied, <=,
                      rc->pages_per_sec * wall * 1.1 + rc->pages_per_tick);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    static const int smps[] = { 1, 2 };
    size_t i;

    g_test_init(&argc, &argv, NULL);
    if (!g_getenv("QTEST_QEMU_BINARY")) {
        g_printerr("QTEST_QEMU_BINARY is not set; skipping\n");
        return 77;
    }
    for (i = 0; i < G_N_ELEMENTS(smps); i++) {
        gconstpointer d = GINT_TO_POINTER(smps[i]);
        g_autofree char *ab = g_strdup_printf("/guest/a-b/smp%d", smps[i]);
        g_autofree char *vf = g_strdup_printf("/guest/verify/smp%d", smps[i]);
        g_autofree char *st =
            g_strdup_printf("/guest/verify/selftest/smp%d", smps[i]);

        g_test_add_data_func(ab, d, test_ab);
        g_test_add_data_func(vf, d, test_verify);
        g_test_add_data_func(st, d, test_verify_selftest);
    }
    for (i = 0; i < G_N_ELEMENTS(rate_cases); i++) {
        g_autofree char *rt = g_strdup_printf("/guest/%s/smp%d",
                                              rate_cases[i].guest,
                                              rate_cases[i].smp);

        g_test_add_data_func(rt, &rate_cases[i], test_rate);
    }
    return g_test_run();
}
