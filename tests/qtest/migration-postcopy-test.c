/*
 * Postcopy live migration: two processes over a unix socket, the guest
 * running through the whole postcopy phase.
 *
 * The flow of every live case (run_postcopy):
 *   1. source and destination (-incoming defer) with postcopy-ram on both
 *      (release-ram on the source when the case says so);
 *   2. non-converging settings (30 MB/s, 1 ms: precopy can never finish),
 *      migrate, wait for the second bitmap sync (one full pass sent);
 *   3. migrate-start-postcopy: the source stops, the destination runs the
 *      guest at once and faults every page it touches before it arrived;
 *   4. both sides completed; the destination's guest prints only 'B' (no
 *      'F' from verify, no 'A' of a reboot); the source is in postmigrate;
 *      query-migrate's postcopy figures are consistent;
 *   5. a-b: the destination stopped, its RAM checked (check_guests_ram);
 *      release-ram: the source's a-b range reads back as zeroes (given
 *      back to the kernel);
 *      verify: runs on, checking every page itself, more passes.
 *
 * Memory kinds: anonymous (default), memfd hugetlb=on 2 MiB, a file on
 * hugetlbfs 2 MiB, share=on memfd, share=on file on tmpfs.  Huge-page
 * cases skip with the reason when the host has too few free huge pages.
 *
 * Bad inputs (a fake peer written here, speaking the wire format):
 *   - a fake source whose discard range lies outside the block: the
 *     destination rejects it, exits 1 (its guest never ran);
 *   - a fake source that switches to postcopy and then sends a page of an
 *     unknown block / beyond the block's end: the destination pauses
 *     (postcopy-paused), keeps running, and never exits;
 *   - a fake destination asking the real source for a page of an unknown
 *     block / past the end of a block / with no block, or sending
 *     RECV_BITMAP or RESUME_ACK outside a recovery (or RESUME_ACK != 1):
 *     the source fails cleanly (error-desc) and its guest runs on.
 * postcopy-blocktime: the figures checked against what must hold whatever
 * the timing (check_blocktime).  postcopy-preempt: plain, 2 vCPUs, huge
 * pages (memfd, hugetlbfs file), release-ram, x-preempt-pre-7-2 (EOS),
 * TLS.  Recovery (test_recovery): the link cut by migrate-pause (source,
 * or destination through HMP), by a relay that shuts every socket down,
 * by a veth taken down between two network namespaces (root only), with
 * preempt (and TLS); a resume that fails, then a good one, then a second
 * break and recovery; the guest checked as above at the end.
 * Refusals: postcopy-preempt without postcopy-ram or over exec:, with
 * x-postcopy-preempt-break-huge=off; migrate-recover, migrate -r,
 * migrate-pause, migrate-start-postcopy without the capability.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sched.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include "libqtest.h"
#include "migration-helpers.h"
#include "../tls-certs.h"

#define PC_MEM              "128M"
#define PC_RAM_SIZE         (128ULL << 20)
#define PC_HUGE_PAGES       64          /* 128 MiB of 2 MiB pages per side */
#define HUGETLBFS_MAGIC_VALUE 0x958458f6
#define TMPFS_MAGIC_VALUE   0x01021994
#define PC_WAIT_US          (120 * G_USEC_PER_SEC)

typedef enum Backend {
    BE_NONE,            /* -m only: anonymous private memory */
    BE_MEMFD_HUGE,      /* memory-backend-memfd,hugetlb=on,hugetlbsize=2M */
    BE_FILE_HUGE,       /* memory-backend-file on /dev/hugepages */
    BE_MEMFD_SHARED,    /* memory-backend-memfd,share=on */
    BE_FILE_SHARED,     /* memory-backend-file on tmpfs ({dir}), share=on */
} Backend;

typedef struct PcCase {
    const char *name;        /* under /migration/postcopy/ */
    const char *guest;       /* "a-b" or "verify" */
    int smp;
    Backend backend;
    bool release_ram;
    bool hmp;                /* migrate_start_postcopy through HMP */
    bool blocktime;          /* postcopy-blocktime on the destination */
    bool preempt;            /* postcopy-preempt on both sides */
    const char *globals;     /* extra -global options, both sides */
    bool tls;                /* TLS (PSK) on every channel */
    bool touch_fresh;        /* read never-written memory in postcopy */
} PcCase;

static const PcCase cases[] = {
    { "plain", "a-b", 1, BE_NONE, false, false },
    { "verify-smp2", "verify", 2, BE_NONE, false, false },
    { "release-ram", "a-b", 1, BE_NONE, true, false },
    { "hmp", "a-b", 1, BE_NONE, false, true },
    { "hugepage/memfd", "a-b", 1, BE_MEMFD_HUGE, false, false },
    { "hugepage/file", "a-b", 1, BE_FILE_HUGE, false, false },
    { "hugepage/verify-smp2", "verify", 2, BE_MEMFD_HUGE, false, false },
    { "shared/memfd", "a-b", 1, BE_MEMFD_SHARED, false, false },
    { "shared/file", "verify", 2, BE_FILE_SHARED, false, false },
    { "blocktime", "a-b", 2, BE_NONE, false, false, true },
    { "blocktime/hugepage", "verify", 2, BE_MEMFD_HUGE, false, true, true },
    { "preempt/plain", "a-b", 1, BE_NONE, false, false, true, true },
    { "preempt/verify-smp2", "verify", 2, BE_NONE, false, false, true, true },
    { "preempt/hugepage", "verify", 2, BE_MEMFD_HUGE, false, false, true,
      true },
    { "preempt/hugepage-file", "a-b", 1, BE_FILE_HUGE, false, false, false,
      true },
    { "preempt/release-ram", "a-b", 1, BE_NONE, true, false, false, true },
    /* QEMU 7.2 machine types: the preempt channel ends with EOS */
    { "preempt/pre-7-2", "verify", 2, BE_NONE, false, false, false, true,
      "-global migration.x-preempt-pre-7-2=on" },
    /* the preempt channel inside TLS too (handshake in the thread) */
    { "preempt/tls", "a-b", 1, BE_NONE, false, false, false, true, NULL,
      true },
    /* local faults on fresh memory, and the zero pages mapped ahead */
    { "zero-ahead", "a-b", 1, BE_NONE, .touch_fresh = true },
};

typedef struct Run {
    char *dir;
    char *base;              /* basename of dir */
    char *image;
    QTestState *from, *to;
    size_t src_pos, dst_pos;
} Run;

/* ------------------------------------------------------------ host checks */

static bool is_huge(Backend b)
{
    return b == BE_MEMFD_HUGE || b == BE_FILE_HUGE;
}

/* NULL when the case can run, else why not (g_free). */
static char *skip_reason(const PcCase *c)
{
    struct statfs st;
    long have;

    if (c->tls && !tls_certs_available()) {
        return g_strdup("no certtool (gnutls-bin) for the TLS key file");
    }
    if (c->backend == BE_FILE_SHARED &&
        (statfs("/dev/shm", &st) != 0 || st.f_type != TMPFS_MAGIC_VALUE)) {
        return g_strdup("no tmpfs on /dev/shm");
    }
    if (!is_huge(c->backend)) {
        return NULL;
    }
    have = mig_free_huge_pages_2m();
    if (have < 2 * PC_HUGE_PAGES) {
        return g_strdup_printf("%ld free 2 MiB huge pages, this case needs "
                               "%d (run scripts/setup-test-host.sh as root, "
                               "or raise /proc/sys/vm/nr_hugepages)", have,
                               2 * PC_HUGE_PAGES);
    }
    if (c->backend == BE_FILE_HUGE &&
        (statfs("/dev/hugepages", &st) != 0 ||
         (unsigned long)st.f_type != HUGETLBFS_MAGIC_VALUE)) {
        return g_strdup("no hugetlbfs mounted on /dev/hugepages");
    }
    return NULL;
}

/* ------------------------------------------------------------ processes */

static char *backend_args(Run *r, Backend b, const char *side)
{
    switch (b) {
    case BE_NONE:
        return g_strdup("");
    case BE_MEMFD_HUGE:
        return g_strdup("-object memory-backend-memfd,id=mem0,size=" PC_MEM
                        ",hugetlb=on,hugetlbsize=2M "
                        "-machine memory-backend=mem0");
    case BE_FILE_HUGE:
        return g_strdup("-object memory-backend-file,id=mem0,size=" PC_MEM
                        ",mem-path=/dev/hugepages,share=on "
                        "-machine memory-backend=mem0");
    case BE_MEMFD_SHARED:
        return g_strdup("-object memory-backend-memfd,id=mem0,size=" PC_MEM
                        ",share=on -machine memory-backend=mem0");
    case BE_FILE_SHARED:
        /*
         * each side its own file on tmpfs (userfaultfd's missing mode
         * needs shmem or hugetlbfs): shared with nobody, still MAP_SHARED
         */
        return g_strdup_printf("-object memory-backend-file,id=mem0,size="
                               PC_MEM ",mem-path=/dev/shm/%s-mem-%s,"
                               "share=on -machine memory-backend=mem0",
                               r->base, side);
    }
    g_assert_not_reached();
}

static QTestState *start(Run *r, const PcCase *c, const char *side,
                         const char *extra)
{
    g_autofree char *be = backend_args(r, c->backend, side);
    g_autofree char *tls = NULL;
    QTestState *s;

    if (c->tls) {
        g_autofree char *dir = g_build_filename(r->dir, "psk", NULL);

        /* both ends share one pre-shared key */
        tls_certs_psk(dir, "qemu", "009d5638c40fde0c");
        tls = g_strdup_printf("-object tls-creds-psk,id=t0,endpoint=%s,"
                              "dir=%s", strcmp(side, "dst") ? "client"
                                                            : "server", dir);
    }
    s = qtest_initf("-M virt -m %s -smp %d -bios none -kernel %s %s %s %s %s",
                    PC_MEM, c->smp, r->image, be, extra,
                    c->globals ? c->globals : "", tls ? tls : "");
    if (c->tls) {
        qtest_qmp_assert_success(s, "{\"execute\": "
                                 "\"migrate-set-parameters\", \"arguments\":"
                                 " {\"tls-creds\": \"t0\"}}");
    }
    return s;
}

static void run_init(Run *r, const char *guest)
{
    g_autoptr(GError) err = NULL;

    memset(r, 0, sizeof(*r));
    r->dir = g_dir_make_tmp("godwit-postcopy-XXXXXX", &err);
    g_assert_no_error(err);
    r->base = g_path_get_basename(r->dir);
    r->image = qtest_guest_image(guest);
}

static void run_end(Run *r)
{
    const char *name;
    GDir *d;

    if (r->to) {
        qtest_quit(r->to);
    }
    if (r->from) {
        qtest_quit(r->from);
    }
    for (int i = 0; i < 2; i++) {
        g_autofree char *shm = g_strdup_printf("/dev/shm/%s-mem-%s",
                                               r->base, i ? "src" : "dst");

        unlink(shm);
    }
    d = g_dir_open(r->dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(r->dir, name, NULL);

        unlink(p);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(r->dir);
    g_free(r->dir);
    g_free(r->base);
    g_free(r->image);
}

/*
 * After the migration: the destination's guest goes on ('B' only); the
 * verify guest runs three more passes, the a-b guest is stopped and its
 * RAM checked.
 */
static void check_dest_guest(Run *r, const char *guest)
{
    wait_for_serial(r->to, &r->dst_pos, "B");
    if (!strcmp(guest, "verify")) {
        for (int i = 0; i < 3; i++) {
            wait_for_serial(r->to, &r->dst_pos, "B");
        }
    } else {
        qtest_qmp_assert_success(r->to, "{\"execute\": \"stop\"}");
        qtest_qmp_eventwait(r->to, "STOP");
        check_guests_ram(r->to);
    }
}

static char *read_log(Run *r, const char *name)
{
    g_autofree char *p = g_build_filename(r->dir, name, NULL);
    char *text = NULL;

    g_file_get_contents(p, &text, NULL, NULL);
    return text ? text : g_strdup("");
}

/* Poll until @who's status is one of @goals (NULL-terminated); returns it. */
static char *wait_status_in(QTestState *who, const char *const *goals)
{
    gint64 deadline = g_get_monotonic_time() + PC_WAIT_US;

    for (;;) {
        char *status = migrate_query_status(who);

        for (int i = 0; goals[i]; i++) {
            if (!strcmp(status, goals[i])) {
                return status;
            }
        }
        if (!strcmp(status, "failed") || !strcmp(status, "cancelled") ||
            g_get_monotonic_time() > deadline) {
            g_autofree char *err = migrate_query_error(who);

            g_error("waiting for %s: status %s (%s)", goals[0], status,
                    err ? err : "no error-desc");
        }
        g_free(status);
        g_usleep(10 * 1000);
    }
}

/* ------------------------------------------------------------ live cases */

static int64_t arr_int(JsonArray *a, guint i)
{
    return json_array_get_int_element(a, i);
}

/*
 * postcopy-blocktime figures on the destination after completion, against
 * what must hold whatever the timing: one entry per vCPU, 24 buckets that
 * count every remote fault, at least one remote fault per request the
 * source served, every vCPU blocked at least as long as all of them at
 * once, the percentiles ordered; info migrate prints them.
 */
static void check_blocktime(Run *r, const PcCase *c, int64_t requests)
{
    JsonObject *info = migrate_query(r->to);
    JsonArray *vb, *vl, *dist;
    JsonObject *pct;
    g_autofree char *hmp = NULL;
    int64_t total, count = 0, sum = 0;

    g_assert_true(json_object_has_member(info, "postcopy-blocktime"));
    total = mig_json_int(info, "postcopy-blocktime", -1);
    vb = json_object_get_array_member(info, "postcopy-vcpu-blocktime");
    vl = json_object_get_array_member(info, "postcopy-vcpu-latency");
    dist = json_object_get_array_member(info, "postcopy-latency-dist");
    pct = json_object_get_object_member(info,
                                        "x-postcopy-latency-percentiles");
    g_assert_nonnull(vb);
    g_assert_nonnull(vl);
    g_assert_nonnull(dist);
    g_assert_nonnull(pct);
    g_assert_cmpint(json_array_get_length(vb), ==, c->smp);
    g_assert_cmpint(json_array_get_length(vl), ==, c->smp);
    g_assert_cmpint(json_array_get_length(dist), ==, 24);
    for (guint i = 0; i < 24; i++) {
        g_assert_cmpint(arr_int(dist, i), >=, 0);
        count += arr_int(dist, i);
    }
    for (guint i = 0; i < (guint)c->smp; i++) {
        /* ms truncated from the same ns: +1 for the rounding */
        g_assert_cmpint(arr_int(vb, i) + 1, >=, total);
        sum += arr_int(vb, i);
    }
    g_test_message("destination: %" PRId64 " remote faults for %" PRId64
                   " requests; blocktime %" PRId64 " ms (vCPUs %" PRId64
                   " ms); latency %" PRId64 " ns, p50 %" PRId64 " p99 %"
                   PRId64 " max %" PRId64 " ns", count, requests, total, sum,
                   mig_json_int(info, "postcopy-latency", -1),
                   mig_json_int(pct, "p50", -1), mig_json_int(pct, "p99", -1),
                   mig_json_int(pct, "max", -1));
    g_assert_cmpint(mig_json_int(pct, "count", -1), ==, count);
    g_assert_cmpint(count, >=, requests);
    g_assert_cmpint(mig_json_int(pct, "p50", -1), <=,
                    mig_json_int(pct, "p90", -1));
    g_assert_cmpint(mig_json_int(pct, "p90", -1), <=,
                    mig_json_int(pct, "p99", -1));
    g_assert_cmpint(mig_json_int(pct, "p99", -1), <=,
                    mig_json_int(pct, "max", -1));
    if (count) {
        g_assert_cmpint(mig_json_int(info, "postcopy-latency", 0), >, 0);
        g_assert_cmpint(mig_json_int(pct, "max", 0), >, 0);
    }
    json_object_unref(info);
    hmp = qtest_hmp(r->to, "info migrate");
    g_assert_nonnull(strstr(hmp, "postcopy blocktime: "));
    g_assert_nonnull(strstr(hmp, "postcopy vcpu blocktime: "));
    g_assert_nonnull(strstr(hmp, "postcopy latency: "));
    g_assert_nonnull(strstr(hmp, "Postcopy Latency Distribution:"));
    g_assert_nonnull(strstr(hmp, "[     1 us -     2 us ]"));
}

static void test_postcopy(gconstpointer opaque)
{
    const PcCase *c = opaque;
    static const char *const in_postcopy[] = {
        "postcopy-active", "completed", NULL
    };
    g_autofree char *skip = skip_reason(c);
    g_autofree char *uri = NULL, *dst_extra = NULL, *status = NULL;
    g_autofree char *dlog = NULL;
    JsonObject *info, *ram;
    Run r;

    if (skip) {
        g_test_skip(skip);
        return;
    }
    run_init(&r, c->guest);
    uri = g_strdup_printf("unix:%s/mig.sock", r.dir);
    r.from = start(&r, c, "src", "");
    wait_for_serial(r.from, &r.src_pos, "AB");
    dst_extra = g_strdup_printf("-incoming defer -D %s/dst.log", r.dir);
    r.to = start(&r, c, "dst", dst_extra);

    migrate_set_capability(r.from, "postcopy-ram", true);
    migrate_set_capability(r.to, "postcopy-ram", true);
    migrate_set_capability(r.from, "events", true);
    if (c->blocktime) {
        migrate_set_capability(r.to, "postcopy-blocktime", true);
    }
    if (c->preempt) {
        migrate_set_capability(r.from, "postcopy-preempt", true);
        migrate_set_capability(r.to, "postcopy-preempt", true);
    }
    if (c->release_ram) {
        migrate_set_capability(r.from, "release-ram", true);
    }
    migrate_ensure_non_converge(r.from);
    if (c->touch_fresh) {
        /* a postcopy phase long enough to read memory in it */
        migrate_set_parameter_int(r.from, "max-postcopy-bandwidth", 4 << 20);
    }
    migrate_incoming_qmp(r.to, uri);
    migrate_qmp(r.from, uri);
    wait_for_migration_pass(r.from, 2);

    if (c->hmp) {
        g_autofree char *out = qtest_hmp(r.from, "migrate_start_postcopy");

        g_assert_cmpstr(out, ==, "");
    } else {
        qtest_qmp_assert_success(r.from,
                                 "{\"execute\": \"migrate-start-postcopy\"}");
    }
    status = wait_status_in(r.from, in_postcopy);
    g_test_message("source reached %s", status);
    qtest_qmp_eventwait(r.from, "STOP");
    if (c->touch_fresh) {
        /*
         * Above the a-b range nothing ever wrote: received as zeroes in
         * precopy and never populated here, every page faults locally; the
         * fault thread places it and maps zero pages after it.  They must
         * read zero, and a write to one of them must stick.
         */
        static const char *const dst_active[] = { "postcopy-active", NULL };
        const uint64_t base = MIG_AB_END + (4ULL << 20), len = 2ULL << 20;
        g_autofree uint8_t *buf = g_malloc(len);
        uint8_t page[4096];

        g_free(wait_status_in(r.to, dst_active));
        qtest_bufread(r.to, base, buf, len);
        for (uint64_t i = 0; i < len; i++) {
            g_assert_cmpuint(buf[i], ==, 0);
        }
        memset(page, 0xa5, sizeof(page));
        qtest_bufwrite(r.to, base + 65536, page, sizeof(page));
        qtest_bufread(r.to, base + 61440, buf, 3 * sizeof(page));
        g_assert_true(buf[0] == 0 && buf[4095] == 0);
        g_assert_true(!memcmp(buf + 4096, page, sizeof(page)));
        g_assert_true(buf[8192] == 0 && buf[3 * 4096 - 1] == 0);
        {
            g_autofree char *st = migrate_query_status(r.to);

            g_test_message("fresh memory read and written in %s", st);
            g_assert_cmpstr(st, ==, "postcopy-active");
        }
        migrate_set_parameter_int(r.from, "max-postcopy-bandwidth", 0);
    }

    wait_for_migration_complete(r.from);
    wait_for_migration_complete(r.to);
    {
        g_autofree char *rs = mig_query_runstate(r.from, NULL);

        g_assert_cmpstr(rs, ==, "postmigrate");
    }

    /* query-migrate on the source after a postcopy */
    info = migrate_query(r.from);
    ram = json_object_get_object_member(info, "ram");
    g_assert_nonnull(ram);
    g_test_message("source: postcopy-requests %" PRId64 " postcopy-bytes %"
                   PRId64 " precopy-bytes %" PRId64 " downtime-bytes %"
                   PRId64 " downtime %" PRId64 " ms",
                   mig_json_int(ram, "postcopy-requests", -1),
                   mig_json_int(ram, "postcopy-bytes", -1),
                   mig_json_int(ram, "precopy-bytes", -1),
                   mig_json_int(ram, "downtime-bytes", -1),
                   mig_json_int(info, "downtime", -1));
    g_assert_cmpint(mig_json_int(ram, "postcopy-bytes", -1), >, 0);
    g_assert_cmpint(mig_json_int(ram, "precopy-bytes", -1), >, 0);
    g_assert_cmpint(mig_json_int(ram, "downtime-bytes", -1), >, 0);
    g_assert_cmpint(mig_json_int(ram, "postcopy-requests", -1), >=, 0);
    g_assert_cmpint(mig_json_int(ram, "remaining", -1), ==, 0);
    if (c->blocktime) {
        check_blocktime(&r, c, mig_json_int(ram, "postcopy-requests", -1));
    } else {
        JsonObject *dinfo = migrate_query(r.to);

        g_assert_false(json_object_has_member(dinfo, "postcopy-blocktime"));
        json_object_unref(dinfo);
    }
    json_object_unref(info);

    /* the guest ran on through the switch: no reboot, no 'F', no trap */
    check_dest_guest(&r, c->guest);
    if (c->release_ram) {
        /* every page was sent, so every page was given back: zeroes */
        const uint64_t chunk = 8ULL << 20;
        g_autofree uint8_t *buf = g_malloc(chunk);

        for (uint64_t a = MIG_AB_START; a < MIG_AB_END; a += chunk) {
            uint64_t len = MIN(chunk, MIG_AB_END - a);

            qtest_bufread(r.from, a, buf, len);
            for (uint64_t i = 0; i < len; i++) {
                if (buf[i]) {
                    g_error("release-ram: source byte 0x%" PRIx64 " is "
                            "0x%02x", a + i, buf[i]);
                }
            }
        }
    }
    dlog = read_log(&r, "dst.log");
    if (*dlog) {
        g_test_message("destination log: %s", dlog);
    }
    run_end(&r);
}

/* ------------------------------------------------------------ recovery */

/*
 * A relay between the source and the destination, so that the test can
 * cut the link the way a network does: both directions of every relayed
 * connection shut down at once, no process told.  Listens on @path,
 * connects each accepted connection to @target.
 */
typedef struct Proxy {
    int listen_fd;
    char *target;
    GThread *thread;
    GMutex lock;
    GPtrArray *fds;          /* every relayed fd (ints as pointers) */
    int quit_pipe[2];
} Proxy;

static int unix_connect(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Copy what is readable on @from to @to; false at EOF or an error. */
static bool relay_once(int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof(buf));

    if (n <= 0) {
        return false;
    }
    for (ssize_t off = 0; off < n;) {
        /* the peer may be gone (a cut): no SIGPIPE for the test */
        ssize_t w = send(to, buf + off, n - off, MSG_NOSIGNAL);

        if (w <= 0) {
            return false;
        }
        off += w;
    }
    return true;
}

static gpointer proxy_thread(gpointer opaque)
{
    Proxy *px = opaque;
    GArray *pairs = g_array_new(false, false, sizeof(int));

    for (;;) {
        guint n = 2 + pairs->len;
        g_autofree struct pollfd *pfd = g_new0(struct pollfd, n);

        pfd[0] = (struct pollfd) { .fd = px->listen_fd, .events = POLLIN };
        pfd[1] = (struct pollfd) { .fd = px->quit_pipe[0], .events = POLLIN };
        for (guint i = 0; i < pairs->len; i++) {
            pfd[2 + i] = (struct pollfd) {
                .fd = g_array_index(pairs, int, i), .events = POLLIN };
        }
        if (poll(pfd, n, -1) < 0) {
            continue;
        }
        if (pfd[1].revents) {
            break;
        }
        if (pfd[0].revents & POLLIN) {
            int c = accept4(px->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            int t = c >= 0 ? unix_connect(px->target) : -1;

            if (t >= 0) {
                g_array_append_val(pairs, c);
                g_array_append_val(pairs, t);
                g_mutex_lock(&px->lock);
                g_ptr_array_add(px->fds, GINT_TO_POINTER(c));
                g_ptr_array_add(px->fds, GINT_TO_POINTER(t));
                g_mutex_unlock(&px->lock);
            } else if (c >= 0) {
                close(c);
            }
        }
        for (guint i = 0; i < pairs->len; i++) {
            int fd = g_array_index(pairs, int, i);
            int peer = g_array_index(pairs, int, i ^ 1);

            if ((pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                !relay_once(fd, peer)) {
                /* one side ended: end the other way too, drop the pair */
                shutdown(peer, SHUT_RDWR);
                shutdown(fd, SHUT_RDWR);
                g_array_remove_range(pairs, i & ~1u, 2);
                break;
            }
        }
    }
    g_array_free(pairs, true);
    return NULL;
}

static Proxy *proxy_new(const char *path, const char *target)
{
    Proxy *px = g_new0(Proxy, 1);
    struct sockaddr_un a = { .sun_family = AF_UNIX };

    px->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_strlcpy(a.sun_path, path, sizeof(a.sun_path));
    g_assert_cmpint(bind(px->listen_fd, (struct sockaddr *)&a, sizeof(a)),
                    ==, 0);
    g_assert_cmpint(listen(px->listen_fd, 8), ==, 0);
    px->target = g_strdup(target);
    px->fds = g_ptr_array_new();
    g_mutex_init(&px->lock);
    g_assert_cmpint(pipe(px->quit_pipe), ==, 0);
    px->thread = g_thread_new("proxy", proxy_thread, px);
    return px;
}

/* Cut every relayed connection in both directions. */
static void proxy_cut(Proxy *px)
{
    g_mutex_lock(&px->lock);
    for (guint i = 0; i < px->fds->len; i++) {
        shutdown(GPOINTER_TO_INT(g_ptr_array_index(px->fds, i)), SHUT_RDWR);
    }
    g_mutex_unlock(&px->lock);
}

static void proxy_free(Proxy *px)
{
    if (write(px->quit_pipe[1], "q", 1) != 1) {
        g_error("proxy: cannot stop the relay thread");
    }
    g_thread_join(px->thread);
    for (guint i = 0; i < px->fds->len; i++) {
        close(GPOINTER_TO_INT(g_ptr_array_index(px->fds, i)));
    }
    g_ptr_array_free(px->fds, true);
    close(px->listen_fd);
    close(px->quit_pipe[0]);
    close(px->quit_pipe[1]);
    g_mutex_clear(&px->lock);
    g_free(px->target);
    g_free(px);
}

typedef enum Cut {
    CUT_PAUSE_SRC,      /* migrate-pause on the source */
    CUT_PAUSE_DST,      /* migrate-pause on the destination */
    CUT_SOCKETS,        /* the relay shuts every socket down */
    CUT_NETNS,          /* a veth between two network namespaces goes down */
} Cut;

typedef struct RecCase {
    const char *name;        /* under /migration/postcopy/recovery/ */
    const char *guest;
    int smp;
    Cut cut;
    bool preempt;
    bool retry;              /* a failed resume, then cut again, then good */
    bool hmp;                /* migrate_pause, migrate_recover, migrate -r */
    bool tls;                /* TLS on every channel, the new ones too */
} RecCase;

static const RecCase rec_cases[] = {
    { "migrate-pause", "verify", 2, CUT_PAUSE_SRC, false, false },
    { "migrate-pause-dst/hmp", "a-b", 1, CUT_PAUSE_DST, false, false, true },
    { "sockets-shutdown", "a-b", 1, CUT_SOCKETS, false, false },
    { "preempt", "verify", 2, CUT_SOCKETS, true, false },
    { "preempt/migrate-pause", "a-b", 1, CUT_PAUSE_SRC, true, false },
    { "retry", "verify", 2, CUT_SOCKETS, false, true },
    { "preempt/tls", "a-b", 1, CUT_SOCKETS, true, false, false, true },
};

static const char *const paused_only[] = { "postcopy-paused", NULL };
static const char *const active_only[] = { "postcopy-active", NULL };

/* migrate resume=true; while an earlier resume still connects, retry. */
static void resume_source(QTestState *from, const char *uri)
{
    for (;;) {
        g_autofree char *q = mig_json_quote(uri);
        JsonObject *rsp = qtest_qmp(from, "{\"execute\": \"migrate\", "
                                    "\"arguments\": {\"uri\": %s, "
                                    "\"resume\": true}}", q);
        g_autofree char *err = NULL;

        if (json_object_has_member(rsp, "return")) {
            json_object_unref(rsp);
            return;
        }
        err = mig_take_error(rsp);
        if (!strstr(err, "already connecting")) {
            g_error("migrate resume: %s", err);
        }
        g_usleep(10 * 1000);
    }
}

/* The destination listens again on @uri; the source resumes to it. */
static void recover_with(Run *r, const char *uri, bool hmp)
{
    g_autofree char *q = mig_json_quote(uri);
    g_autofree char *s1 = NULL, *s2 = NULL;

    if (hmp) {
        g_autofree char *o1 = qtest_hmp(r->to, "migrate_recover %s", uri);
        g_autofree char *o2 = qtest_hmp(r->from, "migrate -d -r %s", uri);

        g_assert_cmpstr(o1, ==, "");
        g_assert_cmpstr(o2, ==, "");
    } else {
        qtest_qmp_assert_success(r->to, "{\"execute\": \"migrate-recover\", "
                                 "\"arguments\": {\"uri\": %s}}", q);
        resume_source(r->from, uri);
    }
    s1 = wait_status_in(r->from, active_only);
    s2 = wait_status_in(r->to, active_only);
}

static void recover(Run *r, const char *uri)
{
    recover_with(r, uri, false);
}

/*
 * The destination's guest runs (POSTCOPY_RUN was loaded): from here on a
 * broken link pauses both sides.  Before it, the destination would fail
 * (its guest never ran) while the source, not knowing, pauses.
 */
static void wait_guest_running(QTestState *to)
{
    gint64 deadline = g_get_monotonic_time() + PC_WAIT_US;

    for (;;) {
        bool running = false;
        g_autofree char *rs = mig_query_runstate(to, &running);

        if (running) {
            return;
        }
        if (g_get_monotonic_time() > deadline) {
            g_error("the destination's guest never ran (runstate %s)", rs);
        }
        g_usleep(1000);
    }
}

static void cut_link(Run *r, const RecCase *c, Proxy *px)
{
    g_autofree char *s1 = NULL, *s2 = NULL;

    switch (c->cut) {
    case CUT_PAUSE_SRC:
        qtest_qmp_assert_success(r->from,
                                 "{\"execute\": \"migrate-pause\"}");
        break;
    case CUT_PAUSE_DST:
        if (c->hmp) {
            g_autofree char *out = qtest_hmp(r->to, "migrate_pause");

            g_assert_cmpstr(out, ==, "");
        } else {
            qtest_qmp_assert_success(r->to,
                                     "{\"execute\": \"migrate-pause\"}");
        }
        break;
    case CUT_SOCKETS:
        proxy_cut(px);
        break;
    case CUT_NETNS:
        g_assert_not_reached();
    }
    s1 = wait_status_in(r->from, paused_only);
    s2 = wait_status_in(r->to, paused_only);
    g_test_message("both sides postcopy-paused");
}

static void test_recovery(gconstpointer opaque)
{
    const RecCase *c = opaque;
    const PcCase pc = { c->name, c->guest, c->smp, BE_NONE, .tls = c->tls };
    g_autofree char *dst_path = NULL, *px_path = NULL, *uri = NULL;
    g_autofree char *extra = NULL, *rec_uri = NULL, *rec2_uri = NULL;
    g_autofree char *status = NULL, *bad_uri = NULL;
    static const char *const in_postcopy[] = { "postcopy-active", NULL };
    Proxy *px = NULL;
    Run r;

    if (c->tls && !tls_certs_available()) {
        g_test_skip("no certtool (gnutls-bin) for the TLS key file");
        return;
    }
    run_init(&r, c->guest);
    dst_path = g_strdup_printf("%s/mig.sock", r.dir);
    px_path = g_strdup_printf("%s/proxy.sock", r.dir);
    rec_uri = g_strdup_printf("unix:%s/recover.sock", r.dir);
    rec2_uri = g_strdup_printf("unix:%s/recover2.sock", r.dir);
    bad_uri = g_strdup_printf("unix:%s/nobody.sock", r.dir);
    r.from = start(&r, &pc, "src", "");
    wait_for_serial(r.from, &r.src_pos, "AB");
    extra = g_strdup_printf("-incoming defer -D %s/dst.log", r.dir);
    r.to = start(&r, &pc, "dst", extra);
    for (int i = 0; i < 2; i++) {
        QTestState *s = i ? r.to : r.from;

        migrate_set_capability(s, "postcopy-ram", true);
        if (c->preempt) {
            migrate_set_capability(s, "postcopy-preempt", true);
        }
    }
    migrate_set_capability(r.to, "postcopy-blocktime", true);
    migrate_ensure_non_converge(r.from);
    /* slow enough that the link is cut before postcopy ends */
    migrate_set_parameter_int(r.from, "max-postcopy-bandwidth", 4 << 20);
    uri = g_strdup_printf("unix:%s", dst_path);
    migrate_incoming_qmp(r.to, uri);
    if (c->cut == CUT_SOCKETS) {
        px = proxy_new(px_path, dst_path);
        g_free(uri);
        uri = g_strdup_printf("unix:%s", px_path);
    }
    migrate_qmp(r.from, uri);
    wait_for_migration_pass(r.from, 2);
    qtest_qmp_assert_success(r.from,
                             "{\"execute\": \"migrate-start-postcopy\"}");
    status = wait_status_in(r.from, in_postcopy);
    g_free(status);
    status = wait_status_in(r.to, in_postcopy);
    wait_guest_running(r.to);
    /*
     * Cut at once: the guest fetches what it touches, so one full pass of
     * it (a 'B') would leave little for the background stream to send.
     */
    cut_link(&r, c, px);
    {
        /* the guest is kept on both sides: recovery only in paused */
        JsonObject *rsp = qtest_qmp(r.from, "{\"execute\": \"migrate_cancel\"}");
        g_autofree char *err = mig_take_error(rsp);

        g_assert_nonnull(strstr(err, "cannot cancel"));
    }
    if (c->retry) {
        /* nobody listens there: the resume fails, the source stays paused */
        resume_source(r.from, bad_uri);
        resume_source(r.from, rec_uri);    /* waits for the first to fail */
        g_free(status);
        status = migrate_query_status(r.from);
        g_assert_cmpstr(status, ==, "postcopy-paused");
        /* now the destination listens, the same resume works */
        qtest_qmp_assert_success(r.to, "{\"execute\": \"migrate-recover\", "
                                 "\"arguments\": {\"uri\": %s}}",
                                 mig_json_quote(rec2_uri));
        resume_source(r.from, rec2_uri);
        g_free(status);
        status = wait_status_in(r.from, active_only);
        g_free(status);
        status = wait_status_in(r.to, active_only);
        /* and it breaks again: the second recovery works as the first */
        qtest_qmp_assert_success(r.from, "{\"execute\": \"migrate-pause\"}");
        g_free(status);
        status = wait_status_in(r.from, paused_only);
        g_free(status);
        status = wait_status_in(r.to, paused_only);
        recover(&r, rec_uri);
    } else {
        recover_with(&r, rec_uri, c->hmp);
    }
    migrate_set_parameter_int(r.from, "max-postcopy-bandwidth", 0);
    wait_for_migration_complete(r.from);
    wait_for_migration_complete(r.to);
    {
        JsonObject *info = migrate_query(r.to);

        g_test_message("destination: postcopy-latency %" PRId64 " ns",
                       mig_json_int(info, "postcopy-latency", -1));
        json_object_unref(info);
    }
    /* no 'F', no reboot: the guest ran through all of it */
    check_dest_guest(&r, c->guest);
    if (px) {
        proxy_free(px);
    }
    run_end(&r);
}

/* ------------------------------------------------------------ netns */

/*
 * Two network namespaces joined by a veth pair: the source in one, the
 * destination in the other, migrating over TCP between them.  Taking the
 * veth down cuts the link the way a network does: nothing tells TCP, so
 * the management layer declares the failure with migrate-pause on both
 * sides (as libvirt does), brings the link back and recovers.
 */
typedef struct NetNs {
    char ns[2][32];
    char veth[2][16];
} NetNs;

static void run_cmd(bool must, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void run_cmd(bool must, const char *fmt, ...)
{
    g_autofree char *cmd = NULL, *out = NULL, *err = NULL;
    g_autoptr(GError) gerr = NULL;
    va_list ap;
    int status = -1;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!g_spawn_command_line_sync(cmd, &out, &err, &status, &gerr) ||
        !g_spawn_check_wait_status(status, NULL)) {
        if (must) {
            g_error("'%s' failed: %s", cmd, gerr ? gerr->message : err);
        }
    }
}

/* NULL when namespaces can be made here, else why not (g_free). */
static char *netns_skip_reason(void)
{
    if (geteuid() != 0) {
        return g_strdup("network namespaces need root");
    }
    if (!g_find_program_in_path("ip")) {
        return g_strdup("no 'ip' (iproute2) in PATH");
    }
    return NULL;
}

static void netns_setup(NetNs *n)
{
    int pid = getpid();

    for (int i = 0; i < 2; i++) {
        g_snprintf(n->ns[i], sizeof(n->ns[i]), "godwit-pc-%d-%c", pid,
                   i ? 'd' : 's');
        g_snprintf(n->veth[i], sizeof(n->veth[i]), "gwpc%d%c", pid % 100000,
                   i ? 'd' : 's');
        run_cmd(false, "ip netns del %s", n->ns[i]);
        run_cmd(true, "ip netns add %s", n->ns[i]);
    }
    run_cmd(true, "ip link add %s type veth peer name %s", n->veth[0],
            n->veth[1]);
    for (int i = 0; i < 2; i++) {
        run_cmd(true, "ip link set %s netns %s", n->veth[i], n->ns[i]);
        run_cmd(true, "ip -n %s addr add 10.231.0.%d/24 dev %s", n->ns[i],
                i + 1, n->veth[i]);
        run_cmd(true, "ip -n %s link set %s up", n->ns[i], n->veth[i]);
        run_cmd(true, "ip -n %s link set lo up", n->ns[i]);
    }
}

static void netns_teardown(NetNs *n)
{
    for (int i = 0; i < 2; i++) {
        /* the veth pair goes with its namespaces */
        run_cmd(false, "ip netns del %s", n->ns[i]);
    }
}

/* Start a process in namespace @ns (the spawn inherits this thread's). */
static QTestState *start_in_netns(Run *r, const PcCase *c, const char *side,
                                  const char *ns, const char *extra)
{
    g_autofree char *path = g_strdup_printf("/run/netns/%s", ns);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    QTestState *s;

    g_assert_cmpint(target, >=, 0);
    g_assert_cmpint(orig, >=, 0);
    g_assert_cmpint(setns(target, CLONE_NEWNET), ==, 0);
    s = start(r, c, side, extra);
    g_assert_cmpint(setns(orig, CLONE_NEWNET), ==, 0);
    close(target);
    close(orig);
    return s;
}

static void test_recovery_netns(void)
{
    const PcCase pc = { "netns", "verify", 2, BE_NONE };
    static const char *const in_postcopy[] = { "postcopy-active", NULL };
    g_autofree char *skip = netns_skip_reason();
    g_autofree char *extra = NULL, *status = NULL;
    NetNs n;
    Run r;

    if (skip) {
        g_test_message("skipped: %s", skip);
        g_test_skip(skip);
        return;
    }
    netns_setup(&n);
    run_init(&r, pc.guest);
    r.from = start_in_netns(&r, &pc, "src", n.ns[0], "");
    wait_for_serial(r.from, &r.src_pos, "AB");
    extra = g_strdup_printf("-incoming defer -D %s/dst.log", r.dir);
    r.to = start_in_netns(&r, &pc, "dst", n.ns[1], extra);
    migrate_set_capability(r.from, "postcopy-ram", true);
    migrate_set_capability(r.to, "postcopy-ram", true);
    migrate_ensure_non_converge(r.from);
    migrate_set_parameter_int(r.from, "max-postcopy-bandwidth", 4 << 20);
    migrate_incoming_qmp(r.to, "tcp:10.231.0.2:4444");
    migrate_qmp(r.from, "tcp:10.231.0.2:4444");
    wait_for_migration_pass(r.from, 2);
    qtest_qmp_assert_success(r.from,
                             "{\"execute\": \"migrate-start-postcopy\"}");
    status = wait_status_in(r.to, in_postcopy);
    wait_guest_running(r.to);

    run_cmd(true, "ip -n %s link set %s down", n.ns[0], n.veth[0]);
    qtest_qmp_assert_success(r.from, "{\"execute\": \"migrate-pause\"}");
    qtest_qmp_assert_success(r.to, "{\"execute\": \"migrate-pause\"}");
    g_free(status);
    status = wait_status_in(r.from, paused_only);
    g_free(status);
    status = wait_status_in(r.to, paused_only);
    g_test_message("link down, both sides postcopy-paused");
    run_cmd(true, "ip -n %s link set %s up", n.ns[0], n.veth[0]);
    recover(&r, "tcp:10.231.0.2:4445");
    migrate_set_parameter_int(r.from, "max-postcopy-bandwidth", 0);
    wait_for_migration_complete(r.from);
    wait_for_migration_complete(r.to);
    for (int i = 0; i < 4; i++) {
        wait_for_serial(r.to, &r.dst_pos, "B");
    }
    run_end(&r);
    netns_teardown(&n);
}

/* ------------------------------------------------------------ refusals */

static void test_refusals(void)
{
    const PcCase c = { "refusals", "a-b", 1, BE_NONE };
    g_autofree char *err = NULL;
    JsonObject *rsp;
    Run r;

    run_init(&r, "a-b");
    r.from = start(&r, &c, "src", "");

    rsp = qtest_qmp(r.from, "{\"execute\": \"migrate-start-postcopy\"}");
    err = mig_take_error(rsp);
    g_assert_nonnull(strstr(err, "Enable postcopy"));
    g_free(err);

    rsp = migrate_set_capability_rsp(r.from, "postcopy-preempt", true);
    err = mig_take_error(rsp);
    g_assert_nonnull(strstr(err, "Postcopy preempt requires postcopy-ram"));
    g_free(err);
    g_assert_false(migrate_get_capability(r.from, "postcopy-preempt"));
    migrate_set_capability(r.from, "postcopy-ram", true);
    migrate_set_capability(r.from, "postcopy-preempt", true);
    /* the preempt channel is a second connection: not over exec: */
    rsp = qtest_qmp(r.from, "{\"execute\": \"migrate\", \"arguments\": "
                    "{\"uri\": \"exec:cat >/dev/null\"}}");
    err = mig_take_error(rsp);
    g_assert_nonnull(strstr(err, "postcopy-preempt needs a second "
                            "connection"));
    g_free(err);
    {
        g_autofree char *st = migrate_query_status(r.from);

        /* refused before it started: no migration */
        g_assert_cmpstr(st, !=, "failed");
    }
    migrate_set_capability(r.from, "postcopy-preempt", false);
    {
        /* "off" would make requests wait behind a huge page: refused */
        const PcCase nb = { "nb", "a-b", 1, BE_NONE, .globals =
                            "-global migration.x-postcopy-preempt-break-huge"
                            "=off" };
        QTestState *s = start(&r, &nb, "nb", "");

        migrate_set_capability(s, "postcopy-ram", true);
        migrate_set_capability(s, "postcopy-preempt", true);
        rsp = qtest_qmp(s, "{\"execute\": \"migrate\", \"arguments\": "
                        "{\"uri\": \"unix:/nonexistent\"}}");
        err = mig_take_error(rsp);
        g_assert_nonnull(strstr(err, "x-postcopy-preempt-break-huge=off"));
        g_free(err);
        qtest_quit(s);
    }

    /* recovery commands outside a paused postcopy (QEMU's texts) */
    rsp = qtest_qmp(r.from, "{\"execute\": \"migrate-recover\", "
                    "\"arguments\": {\"uri\": \"unix:/nonexistent\"}}");
    err = mig_take_error(rsp);
    g_assert_nonnull(strstr(err, "Migrate recover can only be run when "
                            "postcopy is paused"));
    g_free(err);
    rsp = qtest_qmp(r.from, "{\"execute\": \"migrate-pause\"}");
    err = mig_take_error(rsp);
    g_assert_nonnull(strstr(err, "only supported during postcopy-active"));
    g_free(err);
    rsp = qtest_qmp(r.from, "{\"execute\": \"migrate\", \"arguments\": "
                    "{\"uri\": \"unix:/nonexistent\", \"resume\": true}}");
    err = mig_take_error(rsp);
    g_assert_nonnull(strstr(err, "Cannot resume if there is no paused "
                            "migration"));
    g_free(err);
    err = qtest_hmp(r.from, "migrate -r unix:/nonexistent");
    g_assert_nonnull(strstr(err, "Cannot resume if there is no paused"));
    g_free(err);
    err = qtest_hmp(r.from, "migrate_pause");
    g_assert_nonnull(strstr(err, "only supported during postcopy-active"));
    g_free(err);
    err = qtest_hmp(r.from, "migrate_recover unix:/nonexistent");
    g_assert_nonnull(strstr(err, "can only be run when postcopy is paused"));
    g_free(err);
    err = NULL;
    run_end(&r);
}

/*
 * A destination whose RAM is a file on a disk filesystem cannot fault
 * pages in through userfaultfd: postcopy-ram is refused at once, naming
 * the block (not halfway through a migration).
 */
static void test_refused_file_on_disk(void)
{
    const PcCase c = { "refused/file-on-disk", "a-b", 1, BE_NONE };
    g_autofree char *err = NULL, *extra = NULL;
    struct statfs st;
    JsonObject *rsp;
    Run r;

    run_init(&r, "a-b");
    if (statfs(r.dir, &st) != 0 || st.f_type == TMPFS_MAGIC_VALUE ||
        (unsigned long)st.f_type == HUGETLBFS_MAGIC_VALUE) {
        g_test_skip("the temp dir is on tmpfs or hugetlbfs");
        run_end(&r);
        return;
    }
    extra = g_strdup_printf("-object memory-backend-file,id=mem0,size="
                            PC_MEM ",mem-path=%s/mem,share=on "
                            "-machine memory-backend=mem0 -incoming defer",
                            r.dir);
    r.to = start(&r, &c, "dst", extra);
    rsp = migrate_set_capability_rsp(r.to, "postcopy-ram", true);
    err = mig_take_error(rsp);
    g_test_message("%s", err);
    g_assert_nonnull(strstr(err, "Postcopy is not supported"));
    g_assert_nonnull(strstr(err, "'mem0'"));
    g_assert_false(migrate_get_capability(r.to, "postcopy-ram"));
    run_end(&r);
}


/* ------------------------------------------------------------ bad peers */

#define PC_MROM_SIZE 0xf000ULL      /* riscv_virt_board.mrom */
#define PC_BAD_MEM   "64M"
#define PC_BAD_SIZE  (64ULL << 20)

static void put_cmd(GByteArray *b, uint16_t cmd, const GByteArray *payload)
{
    mig_put8(b, 0x08);                       /* QEMU_VM_COMMAND */
    mig_put16(b, cmd);
    mig_put16(b, payload ? payload->len : 0);
    if (payload) {
        g_byte_array_append(b, payload->data, payload->len);
    }
}

/* Header, configuration "virt", OPEN_RETURN_PATH, ADVISE (4 KiB pages). */
static GByteArray *fake_stream_start(void)
{
    GByteArray *b = g_byte_array_new();
    g_autoptr(GByteArray) adv = g_byte_array_new();

    mig_put32(b, 0x5145564d);
    mig_put32(b, 3);
    mig_put8(b, 0x07);
    mig_put32(b, 4);
    g_byte_array_append(b, (const guint8 *)"virt", 4);
    put_cmd(b, 1, NULL);
    mig_put64(adv, 0x1000);
    mig_put64(adv, 0x1000);
    put_cmd(b, 3, adv);
    return b;
}

/* A destination -m 64M, postcopy-ram on, listening on {dir}/mig.sock. */
static GSocketConnection *fake_source_connect(Run *r)
{
    const PcCase c = { "bad", "a-b", 1, BE_NONE };
    g_autofree char *extra = NULL, *uri = NULL, *path = NULL;
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = NULL;
    g_autoptr(GError) err = NULL;
    GSocketConnection *conn;

    extra = g_strdup_printf("-incoming defer -D %s/dst.log", r->dir);
    r->to = qtest_initf("-M virt -m %s -bios none -kernel %s %s",
                        PC_BAD_MEM, r->image, extra);
    (void)c;
    migrate_set_capability(r->to, "postcopy-ram", true);
    path = g_strdup_printf("%s/mig.sock", r->dir);
    uri = g_strdup_printf("unix:%s", path);
    migrate_incoming_qmp(r->to, uri);
    addr = g_unix_socket_address_new(path);
    conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL,
                                   &err);
    g_assert_no_error(err);
    return conn;
}

static void fake_send(GSocketConnection *conn, GByteArray *b)
{
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    g_autoptr(GError) err = NULL;

    /* the destination may close first: a write error is fine then */
    g_output_stream_write_all(out, b->data, b->len, NULL, NULL, &err);
}

/* A discard range past the end of the block, before LISTEN: exit 1. */
static void test_bad_discard(void)
{
    g_autoptr(GByteArray) b = NULL, d = g_byte_array_new();
    g_autofree char *log = NULL;
    GSocketConnection *conn;
    Run r;

    run_init(&r, "a-b");
    conn = fake_source_connect(&r);
    b = fake_stream_start();
    mig_put8(d, 0);                                  /* version */
    mig_put_str(d, "riscv_virt_board.ram");
    mig_put8(d, 0);                                  /* nil */
    mig_put64(d, PC_BAD_SIZE - 0x1000);
    mig_put64(d, 0x2000);                            /* one page past the end */
    put_cmd(b, 6, d);
    fake_send(conn, b);
    migrate_wait_dest_exit(r.to, 1);
    r.to = NULL;
    log = read_log(&r, "dst.log");
    g_test_message("destination log: %s", log);
    g_assert_nonnull(strstr(log, "outside RAM block 'riscv_virt_board.ram'"));
    g_object_unref(conn);
    run_end(&r);
}

/*
 * The switch to postcopy (RAM announced, package with LISTEN and RUN: the
 * guest runs and faults), then a page of an unknown block or beyond the
 * end of a block: the destination pauses and runs on.
 */
static void test_bad_page(gconstpointer opaque)
{
    bool unknown = GPOINTER_TO_INT(opaque);
    g_autoptr(GByteArray) b = NULL, pack = g_byte_array_new();
    g_autofree char *log = NULL, *status = NULL;
    static const char *const paused[] = { "postcopy-paused", NULL };
    GSocketConnection *conn;
    Run r;

    run_init(&r, "a-b");
    conn = fake_source_connect(&r);
    b = fake_stream_start();
    /* ram START: the MEM_SIZE list, EOS, footer */
    mig_put8(b, 0x01);
    mig_put32(b, 0);
    mig_put_str(b, "ram");
    mig_put32(b, 0);
    mig_put32(b, 4);
    mig_put64(b, (PC_MROM_SIZE + PC_BAD_SIZE) | 0x4);
    mig_put_str(b, "riscv_virt_board.mrom");
    mig_put64(b, PC_MROM_SIZE);
    mig_put_str(b, "riscv_virt_board.ram");
    mig_put64(b, PC_BAD_SIZE);
    mig_put64(b, 0x10);
    mig_put8(b, 0x7e);
    mig_put32(b, 0);
    /* PACKAGED: LISTEN, RUN */
    put_cmd(pack, 4, NULL);
    put_cmd(pack, 5, NULL);
    mig_put8(b, 0x08);
    mig_put16(b, 7);
    mig_put16(b, 4);
    mig_put32(b, pack->len);
    g_byte_array_append(b, pack->data, pack->len);
    /* a PART with the bad page */
    mig_put8(b, 0x02);
    mig_put32(b, 0);
    if (unknown) {
        mig_put64(b, 0x8);
        mig_put_str(b, "no-such-block");
    } else {
        mig_put64(b, PC_BAD_SIZE | 0x8);
        mig_put_str(b, "riscv_virt_board.ram");
    }
    for (int i = 0; i < 4096; i++) {
        mig_put8(b, 0x5a);
    }
    fake_send(conn, b);
    status = wait_status_in(r.to, paused);
    log = read_log(&r, "dst.log");
    g_test_message("destination log: %s", log);
    g_assert_nonnull(strstr(log, "postcopy paused"));
    g_assert_nonnull(strstr(log, unknown ? "unknown ramblock \"no-such-block\""
                                         : "is outside block"));
    /* alive, still answering, still paused */
    g_free(status);
    status = migrate_query_status(r.to);
    g_assert_cmpstr(status, ==, "postcopy-paused");
    /*
     * A vCPU waits for a page that will never come (no recovery yet), so
     * a quit would wait for it: kill instead.
     */
    qtest_kill(r.to);
    r.to = NULL;
    g_object_unref(conn);
    run_end(&r);
}

typedef struct Drain {
    GSocketConnection *conn;
    GThread *thread;
} Drain;

static gpointer drain_thread(gpointer opaque)
{
    GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(opaque));
    char buf[65536];

    while (g_input_stream_read(in, buf, sizeof(buf), NULL, NULL) > 0) {
        /* discard the source's stream */
    }
    return NULL;
}

/*
 * A fake destination asks the real source for pages no block holds: the
 * source fails with an error naming the request, its guest runs on.
 */
static void test_bad_request(gconstpointer opaque)
{
    int kind = GPOINTER_TO_INT(opaque);
    static const char *const expect[] = {
        "unknown RAM block 'no-such-block'",
        "is outside RAM block 'riscv_virt_board.ram'",
        "REQ_PAGES before any REQ_PAGES_ID",
        /* the state: setup or active, whenever the message comes */
        "RECV_BITMAP of block 'riscv_virt_board.ram' in state ",
        "RESUME_ACK in state ",
        "RESUME_ACK with value 2 (must be 1)",
    };
    const PcCase c = { "bad", "a-b", 1, BE_NONE };
    g_autoptr(GSocketListener) listener = g_socket_listener_new();
    g_autoptr(GSocketAddress) addr = NULL;
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) msg = g_byte_array_new();
    g_autofree char *path = NULL, *uri = NULL, *desc = NULL;
    GSocketConnection *conn;
    GThread *drain;
    Run r;

    run_init(&r, "a-b");
    path = g_strdup_printf("%s/mig.sock", r.dir);
    uri = g_strdup_printf("unix:%s", path);
    addr = g_unix_socket_address_new(path);
    g_socket_listener_add_address(listener, addr, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL,
                                  &err);
    g_assert_no_error(err);
    r.from = start(&r, &c, "src", "");
    wait_for_serial(r.from, &r.src_pos, "AB");
    migrate_set_capability(r.from, "postcopy-ram", true);
    migrate_ensure_non_converge(r.from);
    migrate_qmp(r.from, uri);
    conn = g_socket_listener_accept(listener, NULL, NULL, &err);
    g_assert_no_error(err);
    drain = g_thread_new("drain", drain_thread, conn);
    if (kind == 0) {
        mig_put16(msg, 3);                           /* REQ_PAGES_ID */
        mig_put16(msg, 13 + strlen("no-such-block"));
        mig_put64(msg, 0);
        mig_put32(msg, 0x1000);
        mig_put_str(msg, "no-such-block");
    } else if (kind == 1) {
        mig_put16(msg, 3);
        mig_put16(msg, 13 + strlen("riscv_virt_board.ram"));
        mig_put64(msg, PC_RAM_SIZE);                 /* the block's end */
        mig_put32(msg, 0x1000);
        mig_put_str(msg, "riscv_virt_board.ram");
    } else if (kind == 2) {
        mig_put16(msg, 4);                           /* REQ_PAGES, no block */
        mig_put16(msg, 12);
        mig_put64(msg, 0);
        mig_put32(msg, 0x1000);
    } else if (kind == 3) {
        /* recovery messages outside a recovery */
        mig_put16(msg, 5);                           /* RECV_BITMAP */
        mig_put16(msg, 1 + strlen("riscv_virt_board.ram"));
        mig_put_str(msg, "riscv_virt_board.ram");
    } else {
        mig_put16(msg, 6);                           /* RESUME_ACK */
        mig_put16(msg, 4);
        mig_put32(msg, kind == 4 ? 1 : 2);
    }
    fake_send(conn, msg);
    wait_for_migration_fail(r.from, true);
    desc = migrate_query_error(r.from);
    g_test_message("source error: %s", desc);
    g_assert_nonnull(strstr(desc, expect[kind]));
    mig_assert_source_alive(r.from, &r.src_pos);
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    g_thread_join(drain);
    g_object_unref(conn);
    run_end(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/migration/postcopy/%s",
                                                cases[i].name);

        g_test_add_data_func(path, &cases[i], test_postcopy);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(rec_cases); i++) {
        g_autofree char *path = NULL;

        if (rec_cases[i].cut == CUT_NETNS) {
            continue;
        }
        path = g_strdup_printf("/migration/postcopy/recovery/%s",
                               rec_cases[i].name);
        g_test_add_data_func(path, &rec_cases[i], test_recovery);
    }
    g_test_add_func("/migration/postcopy/recovery/netns-veth",
                    test_recovery_netns);
    g_test_add_func("/migration/postcopy/refused", test_refusals);
    g_test_add_func("/migration/postcopy/refused-file-on-disk",
                    test_refused_file_on_disk);
    g_test_add_func("/migration/postcopy/bad/discard-outside-block",
                    test_bad_discard);
    g_test_add_data_func("/migration/postcopy/bad/page-unknown-block",
                         GINT_TO_POINTER(1), test_bad_page);
    g_test_add_data_func("/migration/postcopy/bad/page-beyond-end",
                         GINT_TO_POINTER(0), test_bad_page);
    g_test_add_data_func("/migration/postcopy/bad/request-unknown-block",
                         GINT_TO_POINTER(0), test_bad_request);
    g_test_add_data_func("/migration/postcopy/bad/request-beyond-end",
                         GINT_TO_POINTER(1), test_bad_request);
    g_test_add_data_func("/migration/postcopy/bad/recv-bitmap-not-recovering",
                         GINT_TO_POINTER(3), test_bad_request);
    g_test_add_data_func("/migration/postcopy/bad/resume-ack-not-recovering",
                         GINT_TO_POINTER(4), test_bad_request);
    g_test_add_data_func("/migration/postcopy/bad/resume-ack-value",
                         GINT_TO_POINTER(5), test_bad_request);
    g_test_add_data_func("/migration/postcopy/bad/request-no-block",
                         GINT_TO_POINTER(2), test_bad_request);
    return g_test_run();
}
