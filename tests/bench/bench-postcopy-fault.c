/*
 * The postcopy fault thread's throughput when the pages are local: a RAM
 * block registered with userfaultfd exactly as a destination does at
 * LISTEN (postcopy_ram_incoming_init + postcopy_ram_incoming_setup), every
 * page marked received, then N threads touch every page once.  Each touch
 * faults; Godwit's fault thread reads the fault, maps it to its block and
 * host page, finds it received and places a zero page itself
 * (UFFDIO_ZEROPAGE), which wakes the toucher, and maps zero pages over the
 * received pages after it (up to 256 KiB), so an in-order toucher takes one
 * fault per 64 pages.  Prints pages resolved per second (the issue's
 * target: >= 200 k/s), the faults actually taken and their rate, for 1, 2
 * and 8 touching threads, with and without postcopy-blocktime accounting.
 *
 *   bench-postcopy-fault [MIB]     (default 512 MiB of 4 KiB pages)
 *
 * Needs userfaultfd (root, or vm.unprivileged_userfaultfd=1): without it,
 * prints why and exits 0 (a benchmark never fails for the host).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"
#include "migration/migration.h"
#include "migration/options.h"
#include "migration/postcopy-ram.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#define MAX_TOUCHERS 8

typedef struct Toucher {
    RAMBlock *rb;
    uint64_t first, count;      /* pages */
    QemuThread thread;
    volatile uint64_t sum;
} Toucher;

static void *touch_thread(void *opaque)
{
    Toucher *t = opaque;
    uint64_t sum = 0;

    for (uint64_t p = t->first; p < t->first + t->count; p++) {
        sum += *(volatile uint8_t *)(t->rb->host +
                                     (p << TARGET_PAGE_BITS));
    }
    t->sum = sum;
    return NULL;
}

/*
 * The floor: the same faults served by a bare loop (read, UFFDIO_ZEROPAGE)
 * on its own userfaultfd, nothing else.  What the kernel and the host's
 * context switches cost per fault, whoever handles it.
 */
static int floor_uffd;
static volatile bool floor_quit;

static void *floor_handler(void *opaque)
{
    struct uffd_msg m[16];

    while (!floor_quit) {
        ssize_t n = read(floor_uffd, m, sizeof(m));

        if (n <= 0) {
            struct pollfd p = { .fd = floor_uffd, .events = POLLIN };

            poll(&p, 1, 10);
            continue;
        }
        for (size_t i = 0; i < n / sizeof(m[0]); i++) {
            struct uffdio_zeropage z = {
                .range = { .start = m[i].arg.pagefault.address &
                                    ~(uint64_t)(TARGET_PAGE_SIZE - 1),
                           .len = TARGET_PAGE_SIZE },
            };

            if (ioctl(floor_uffd, UFFDIO_ZEROPAGE, &z) != 0 &&
                errno != EEXIST) {
                return NULL;
            }
        }
    }
    return NULL;
}

static void run_floor(RAMBlock *rb)
{
    uint64_t pages = rb->used_length >> TARGET_PAGE_BITS;
    struct uffdio_api api = { .api = UFFD_API };
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)rb->host, .len = rb->used_length },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    struct uffdio_range range = reg.range;
    QemuThread h;
    Toucher t = { .rb = rb, .first = 0, .count = pages };
    int64_t t0, t1;

    floor_uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (floor_uffd < 0 || ioctl(floor_uffd, UFFDIO_API, &api) != 0) {
        return;
    }
    (void)madvise(rb->host, rb->used_length, MADV_DONTNEED);
    if (ioctl(floor_uffd, UFFDIO_REGISTER, &reg) != 0) {
        close(floor_uffd);
        return;
    }
    floor_quit = false;
    qemu_thread_create(&h, "floor", floor_handler, NULL, QEMU_THREAD_JOINABLE);
    t0 = get_clock();
    touch_thread(&t);
    t1 = get_clock();
    floor_quit = true;
    qemu_thread_join(&h);
    ioctl(floor_uffd, UFFDIO_UNREGISTER, &range);
    close(floor_uffd);
    printf("floor (bare read + UFFDIO_ZEROPAGE loop), 1 thread: %9.0f "
           "faults/s, %6.2f us per fault\n", pages / ((t1 - t0) / 1e9),
           (t1 - t0) / 1e3 / pages);
}

static bool set_blocktime(bool on)
{
    MigrationState *s = migrate_get_current();
    Error *err = NULL;
    bool ok = migrate_cap_set(&s->opts, MIGRATION_CAPABILITY_POSTCOPY_BLOCKTIME,
                              on, false, &err);

    if (!ok) {
        printf("postcopy-blocktime: %s\n", error_get_pretty(err));
        error_free(err);
    }
    return ok;
}

/* One round: register, touch every page with @nthreads, clean up. */
static bool run(RAMBlock *rb, int nthreads, bool blocktime)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    uint64_t pages = rb->used_length >> TARGET_PAGE_BITS;
    Toucher t[MAX_TOUCHERS] = {};
    Error *err = NULL;
    int64_t t0, t1;
    uint64_t faults, ahead;
    double secs;

    if (blocktime && !set_blocktime(true)) {
        return false;
    }
    rb->receivedmap = bitmap_new(pages);
    if (!postcopy_ram_incoming_init(mis, &err) ||
        !postcopy_ram_incoming_setup(mis, &err)) {
        printf("bench-postcopy-fault: skipped: %s\n", error_get_pretty(err));
        error_free(err);
        postcopy_ram_incoming_cleanup(mis);
        g_free(rb->receivedmap);
        rb->receivedmap = NULL;
        return false;
    }
    /* every page received (untouched zeroes): faults resolve locally */
    bitmap_fill(rb->receivedmap, pages);
    t0 = get_clock();
    for (int i = 0; i < nthreads; i++) {
        t[i].rb = rb;
        t[i].first = pages / nthreads * i;
        t[i].count = pages / nthreads;
        qemu_thread_create(&t[i].thread, "toucher", touch_thread, &t[i],
                           QEMU_THREAD_JOINABLE);
    }
    for (int i = 0; i < nthreads; i++) {
        qemu_thread_join(&t[i].thread);
    }
    t1 = get_clock();
    for (int i = 0; i < nthreads; i++) {
        if (t[i].sum) {
            printf("bench-postcopy-fault: ERROR: a page placed as zero "
                   "reads non-zero (toucher %d)\n", i);
            exit(1);
        }
    }
    postcopy_ram_incoming_fault_counts(mis, &faults, &ahead);
    postcopy_ram_incoming_cleanup(mis);
    g_free(rb->receivedmap);
    rb->receivedmap = NULL;
    if (blocktime) {
        set_blocktime(false);
    }
    secs = (t1 - t0) / 1e9;
    printf("%d touching thread(s), blocktime %-3s: %8" PRIu64 " pages in "
           "%7.1f ms: %9.0f pages/s resolved (target >= 200000/s: %s); "
           "%" PRIu64 " faults taken (%.0f/s, %.2f us each), %" PRIu64
           " pages mapped ahead\n", nthreads,
           blocktime ? "on" : "off", pages, secs * 1e3, pages / secs,
           pages / secs >= 200000 ? "ok" : "MISS", faults, faults / secs,
           faults ? secs * 1e6 / faults : 0.0, ahead);
    return true;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 512;
    RAMBlockConfig cfg = { .name = "bench-postcopy", .size = mib << 20 };
    RAMBlock *rb = qemu_ram_alloc(&cfg, &error_abort);
    double load[3] = {};

    if (getloadavg(load, 3) < 0) {
        load[0] = -1;
    }
    printf("bench-postcopy-fault: %" PRIu64 " MiB of 4 KiB pages, every page "
           "received: the fault thread places a zero page itself; load %.2f\n",
           mib, load[0]);
    for (int rep = 0; rep < 3; rep++) {
        run_floor(rb);
        if (!run(rb, 1, false)) {
            return 0;
        }
    }
    run(rb, 2, false);
    run(rb, 8, false);
    run(rb, 1, true);
    run(rb, 8, true);
    qemu_ram_free(rb);
    return 0;
}
