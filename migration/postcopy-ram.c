/*
 * Postcopy live migration over userfaultfd: the page request queue of the
 * source, and on the destination the host checks, the incoming postcopy
 * state, userfaultfd registration, the fault thread and page placement.
 * docs/devel/migration/postcopy.rst has the sequence and state diagrams.
 *
 * The fault path on the destination:
 *
 *   vCPU touches a missing page -> the kernel blocks it and queues a
 *   uffd_msg -> the fault thread maps the address to (block, host page):
 *     - every target page of it already received (as untouched zeroes in
 *       the precopy phase, never written here): place a zero page itself;
 *     - already requested and not placed yet: nothing (a duplicate);
 *     - else remember it as requested and send REQ_PAGES(_ID).
 *   The listen thread places the page when it arrives (UFFDIO_COPY, or
 *   UFFDIO_ZEROPAGE for an all-zero page), which wakes every thread
 *   blocked on it; then the page's receivedmap bits are set.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "exec/memory.h"
#include "migration/migration.h"
#include "migration/options.h"
#include "migration/postcopy-ram.h"
#include "migration/ram.h"
#include "migration/postcopy-blocktime.h"
#include "trace.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <linux/userfaultfd.h>

#define PC_BITS_PER_LONG (8 * sizeof(unsigned long))

/* ============================================================ source */

void postcopy_req_queue_init(PostcopyReqQueue *q)
{
    qemu_mutex_init(&q->lock);
    QSIMPLEQ_INIT(&q->head);
    q->pending = 0;
    q->last_rb = NULL;
}

void postcopy_req_queue_reset(PostcopyReqQueue *q)
{
    PostcopyPageRequest *r;

    qemu_mutex_lock(&q->lock);
    while ((r = QSIMPLEQ_FIRST(&q->head))) {
        QSIMPLEQ_REMOVE_HEAD(&q->head, next);
        g_free(r);
    }
    qatomic_set(&q->pending, 0);
    q->last_rb = NULL;
    qemu_mutex_unlock(&q->lock);
}

bool postcopy_req_resolve(PostcopyReqQueue *q, const char *name,
                          uint64_t start, uint64_t len, RAMBlock **out,
                          Error **errp)
{
    RAMBlock *rb;

    if (name) {
        rb = qemu_ram_block_by_name(name);
        if (!rb) {
            error_setg(errp, "page request for unknown RAM block '%s' "
                       "(start 0x%" PRIx64 " length 0x%" PRIx64 ")", name,
                       start, len);
            return false;
        }
        q->last_rb = rb;
    } else {
        rb = q->last_rb;
        if (!rb) {
            error_setg(errp, "page request without a block (REQ_PAGES "
                       "before any REQ_PAGES_ID) for start 0x%" PRIx64
                       " length 0x%" PRIx64, start, len);
            return false;
        }
    }
    /*
     * Not rb->bmap: this runs on the return-path thread, and the migration
     * thread allocates the maps (a request may come before its setup).
     * ram_save_requested skips a block without one.
     */
    if (ramblock_is_ignored(rb)) {
        error_setg(errp, "page request for RAM block '%s', which is not "
                   "migrated", rb->idstr);
        return false;
    }
    if (!len || !QEMU_IS_ALIGNED(start, rb->page_size) ||
        !QEMU_IS_ALIGNED(len, rb->page_size)) {
        error_setg(errp, "page request 0x%" PRIx64 "+0x%" PRIx64 " in RAM "
                   "block '%s' is not aligned to its page size 0x%zx",
                   start, len, rb->idstr, rb->page_size);
        return false;
    }
    if (start >= rb->used_length || len > rb->used_length - start) {
        error_setg(errp, "page request 0x%" PRIx64 "+0x%" PRIx64 " is "
                   "outside RAM block '%s' (length 0x%" PRIx64 ")", start,
                   len, rb->idstr, (uint64_t)rb->used_length);
        return false;
    }
    *out = rb;
    return true;
}

bool postcopy_req_queue_add(PostcopyReqQueue *q, const char *name,
                            uint64_t start, uint64_t len, Error **errp)
{
    PostcopyPageRequest *r;
    RAMBlock *rb;

    if (!postcopy_req_resolve(q, name, start, len, &rb, errp)) {
        return false;
    }
    r = g_new0(PostcopyPageRequest, 1);
    r->rb = rb;
    r->offset = start;
    r->len = len;
    qemu_mutex_lock(&q->lock);
    QSIMPLEQ_INSERT_TAIL(&q->head, r, next);
    qatomic_inc(&q->pending);
    qemu_mutex_unlock(&q->lock);
    trace_postcopy_req_queue_add(rb->idstr, start, len);
    return true;
}

PostcopyPageRequest *postcopy_req_queue_take(PostcopyReqQueue *q)
{
    PostcopyPageRequest *r;

    if (!postcopy_req_queue_has(q)) {
        return NULL;
    }
    qemu_mutex_lock(&q->lock);
    r = QSIMPLEQ_FIRST(&q->head);
    if (r) {
        QSIMPLEQ_REMOVE_HEAD(&q->head, next);
        qatomic_dec(&q->pending);
    }
    qemu_mutex_unlock(&q->lock);
    return r;
}

bool postcopy_ram_source_check(Error **errp)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        if (!QEMU_IS_ALIGNED(rb->used_length, rb->page_size)) {
            error_setg(errp, "Postcopy needs every RAM block to be a whole "
                       "number of host pages: block '%s' has length 0x%"
                       PRIx64 " and page size 0x%zx", rb->idstr,
                       (uint64_t)rb->used_length, rb->page_size);
            return false;
        }
    }
    return true;
}

/* ============================================================ destination */

/*
 * The destination's postcopy resources.  Created at ADVISE by the
 * incoming thread, torn down by postcopy_ram_incoming_cleanup.
 *
 * Set before the fault thread starts: uffd, quit_fd, zero_page.
 * Under req_lock: requested.
 * Atomic: the counters.
 */
typedef struct PostcopyIncomingStats {
    uint64_t faults;           /* userfaultfd messages read */
    uint64_t requests;         /* REQ_PAGES(_ID) sent */
    uint64_t duplicates;       /* faults on a page already requested */
    uint64_t received_zero;    /* faults on pages received as untouched zeroes */
    uint64_t zero_ahead;       /* pages placed ahead of such a fault */
    uint64_t placed;           /* host pages placed */
} PostcopyIncomingStats;

typedef struct PostcopyIncoming {
    int uffd;
    int quit_fd;
    QemuThread fault_thread;
    bool fault_thread_created;
    /* a zeroed buffer of the largest page size (hugetlbfs zero pages) */
    uint8_t *zero_page;
    size_t zero_page_size;
    /* host addresses of host pages requested and not yet placed */
    QemuMutex req_lock;
    GHashTable *requested;
    PostcopyIncomingStats stats;
    /* THP turned off on these blocks at ADVISE (turned back on at the end) */
    bool thp_off;
    /* postcopy-blocktime: mis->blocktime, set before the fault thread */
    PostcopyBlocktime *bt;
} PostcopyIncoming;

static const char *const pc_state_names[] = {
    [POSTCOPY_INCOMING_NONE] = "none",
    [POSTCOPY_INCOMING_ADVISE] = "advise",
    [POSTCOPY_INCOMING_DISCARD] = "discard",
    [POSTCOPY_INCOMING_LISTENING] = "listening",
    [POSTCOPY_INCOMING_RUNNING] = "running",
    [POSTCOPY_INCOMING_END] = "end",
};

const char *postcopy_state_name(PostcopyState s)
{
    return (unsigned)s < ARRAY_SIZE(pc_state_names) ? pc_state_names[s]
                                                    : "?";
}

PostcopyState postcopy_state_get(void)
{
    return qatomic_read(&migration_incoming_get_current()->postcopy_state);
}

PostcopyState postcopy_state_set(PostcopyState new)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    PostcopyState old = qatomic_xchg(&mis->postcopy_state, new);

    trace_postcopy_state_set(postcopy_state_name(old),
                             postcopy_state_name(new));
    return old;
}

bool postcopy_is_running(void)
{
    PostcopyState s = postcopy_state_get();

    return s == POSTCOPY_INCOMING_LISTENING ||
           s == POSTCOPY_INCOMING_RUNNING;
}

size_t postcopy_max_page_size(void)
{
    size_t max = TARGET_PAGE_SIZE;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        max = MAX(max, rb->page_size);
    }
    return max;
}

/* ------------------------------------------------------------ host checks */

static int uffd_open(int flags, Error **errp)
{
    int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | flags);

    if (fd < 0) {
        int e = errno;

        if (e == EPERM) {
            error_setg_errno(errp, e, "Userfaultfd not available (an "
                             "unprivileged process needs "
                             "vm.unprivileged_userfaultfd=1 or access to "
                             "/dev/userfaultfd)");
        } else if (e == ENOSYS) {
            error_setg(errp, "Userfaultfd not available: the kernel has no "
                       "userfaultfd system call");
        } else {
            error_setg_errno(errp, e, "Userfaultfd not available");
        }
        return -1;
    }
    return fd;
}

/* The UFFDIO_API handshake asking for @features; *@got: what it has. */
static bool uffd_api(int fd, uint64_t features, uint64_t *got, Error **errp)
{
    struct uffdio_api api = { .api = UFFD_API, .features = features };

    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        error_setg_errno(errp, errno, "UFFDIO_API failed (features 0x%"
                         PRIx64 ")", features);
        return false;
    }
    if (api.api != UFFD_API) {
        error_setg(errp, "UFFDIO_API: kernel API 0x%llx, need 0x%llx",
                   (unsigned long long)api.api,
                   (unsigned long long)UFFD_API);
        return false;
    }
    if (got) {
        *got = api.features;
    }
    return true;
}

/* Features every block of this machine needs for missing faults. */
static uint64_t pc_needed_features(void)
{
    uint64_t f = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        if (ramblock_is_ignored(rb)) {
            continue;
        }
        if (rb->flags & RAM_HUGETLB) {
            f |= UFFD_FEATURE_MISSING_HUGETLBFS;
        } else if (rb->fd >= 0) {
            f |= UFFD_FEATURE_MISSING_SHMEM;
        }
    }
    return f;
}

static const char *pc_memory_kind(RAMBlock *rb)
{
    if (rb->flags & RAM_HUGETLB) {
        return "hugetlbfs";
    }
    if (rb->fd >= 0) {
        return rb->flags & RAM_SHARED ? "shared file/memfd" : "file/memfd";
    }
    return "anonymous";
}

/* Register @rb on @fd (missing mode); *@ioctls: the range ioctls allowed. */
static bool uffd_register_block(int fd, RAMBlock *rb, uint64_t *ioctls,
                                Error **errp)
{
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)rb->host, .len = rb->used_length },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };

    if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
        error_setg_errno(errp, errno, "userfaultfd cannot register RAM "
                         "block '%s' (%s memory, page size 0x%zx) in missing "
                         "mode", rb->idstr, pc_memory_kind(rb), rb->page_size);
        return false;
    }
    if (!(reg.ioctls & (1ULL << _UFFDIO_COPY))) {
        error_setg(errp, "userfaultfd has no UFFDIO_COPY for RAM block '%s' "
                   "(%s memory)", rb->idstr, pc_memory_kind(rb));
        return false;
    }
    *ioctls = reg.ioctls;
    return true;
}

static void uffd_unregister_block(int fd, RAMBlock *rb)
{
    struct uffdio_range range = {
        .start = (uintptr_t)rb->host, .len = rb->used_length,
    };

    if (ioctl(fd, UFFDIO_UNREGISTER, &range) != 0) {
        trace_postcopy_unregister_failed(rb->idstr, errno);
    }
}

bool postcopy_ram_thread_id_supported(void)
{
    uint64_t got = 0;
    int fd = uffd_open(0, NULL);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = uffd_api(fd, 0, &got, NULL);
    close(fd);
    return ok && (got & UFFD_FEATURE_THREAD_ID);
}

bool postcopy_ram_supported_by_host(Error **errp)
{
    uint64_t need = pc_needed_features(), got = 0, ioctls;
    bool ok = false;
    RAMBlock *rb;
    int fd;

    if (TARGET_PAGE_SIZE > qemu_real_host_page_size) {
        error_setg(errp, "Postcopy needs the target page size (0x%llx) to "
                   "be at most the host page size (0x%lx)",
                   (unsigned long long)TARGET_PAGE_SIZE,
                   (unsigned long)qemu_real_host_page_size);
        return false;
    }
    RAMBLOCK_FOREACH(rb) {
        if (!QEMU_IS_ALIGNED(rb->used_length, rb->page_size)) {
            error_setg(errp, "Postcopy needs every RAM block to be a whole "
                       "number of host pages: block '%s' has length 0x%"
                       PRIx64 " and page size 0x%zx", rb->idstr,
                       (uint64_t)rb->used_length, rb->page_size);
            return false;
        }
    }
    fd = uffd_open(0, errp);
    if (fd < 0) {
        return false;
    }
    if (!uffd_api(fd, 0, &got, errp)) {
        goto out;
    }
    if ((need & UFFD_FEATURE_MISSING_HUGETLBFS) &&
        !(got & UFFD_FEATURE_MISSING_HUGETLBFS)) {
        error_setg(errp, "Postcopy needs userfaultfd missing mode on "
                   "hugetlbfs (UFFD_FEATURE_MISSING_HUGETLBFS), which this "
                   "kernel lacks");
        goto out;
    }
    if ((need & UFFD_FEATURE_MISSING_SHMEM) &&
        !(got & UFFD_FEATURE_MISSING_SHMEM)) {
        error_setg(errp, "Postcopy needs userfaultfd missing mode on shared "
                   "memory (UFFD_FEATURE_MISSING_SHMEM), which this kernel "
                   "lacks");
        goto out;
    }
    close(fd);

    /* Register every block on a probe fd: the precise answer per block. */
    fd = uffd_open(0, errp);
    if (fd < 0) {
        return false;
    }
    if (!uffd_api(fd, need, NULL, errp)) {
        goto out;
    }
    RAMBLOCK_FOREACH(rb) {
        if (ramblock_is_ignored(rb)) {
            continue;
        }
        if (!uffd_register_block(fd, rb, &ioctls, errp)) {
            goto out;
        }
        uffd_unregister_block(fd, rb);
    }
    ok = true;
out:
    close(fd);
    trace_postcopy_ram_supported_by_host(ok, need, got);
    return ok;
}

/* ------------------------------------------------------------ advise */

bool postcopy_ram_incoming_init(MigrationIncomingState *mis, Error **errp)
{
    PostcopyIncoming *pi;
    RAMBlock *rb;

    if (!postcopy_ram_supported_by_host(errp)) {
        return false;
    }
    if (!mis->postcopy) {
        pi = g_new0(PostcopyIncoming, 1);
        pi->uffd = -1;
        pi->quit_fd = -1;
        qemu_mutex_init(&pi->req_lock);
        pi->requested = g_hash_table_new(g_direct_hash, g_direct_equal);
        mis->postcopy = pi;
    }
    pi = mis->postcopy;
    RAMBLOCK_FOREACH(rb) {
        int ret;

        if (ramblock_is_ignored(rb)) {
            continue;
        }
        /*
         * A transparent huge page populated by one write (precopy) would
         * make its other 4 KiB pages present as zeroes: they would never
         * fault, and the guest would read zeroes instead of its data.
         */
        if (rb->fd < 0 && madvise(rb->host, rb->used_length,
                                  MADV_NOHUGEPAGE) == 0) {
            pi->thp_off = true;
        }
        ret = ram_block_discard_range(rb, 0, rb->used_length);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "postcopy: cannot discard RAM "
                             "block '%s' at ADVISE", rb->idstr);
            return false;
        }
        if (rb->receivedmap) {
            bitmap_zero(rb->receivedmap, rb->used_length >> TARGET_PAGE_BITS);
        }
    }
    trace_postcopy_ram_incoming_init();
    return true;
}

bool postcopy_ram_discard_range(RAMBlock *rb, uint64_t start, uint64_t len,
                                Error **errp)
{
    int ret;

    if (!QEMU_IS_ALIGNED(start, rb->page_size) ||
        !QEMU_IS_ALIGNED(len, rb->page_size)) {
        error_setg(errp, "discard range 0x%" PRIx64 "+0x%" PRIx64 " of RAM "
                   "block '%s' is not aligned to its page size 0x%zx",
                   start, len, rb->idstr, rb->page_size);
        return false;
    }
    if (start > rb->used_length || len > rb->used_length - start) {
        error_setg(errp, "discard range 0x%" PRIx64 "+0x%" PRIx64 " is "
                   "outside RAM block '%s' (length 0x%" PRIx64 ")", start,
                   len, rb->idstr, (uint64_t)rb->used_length);
        return false;
    }
    if (!len) {
        return true;
    }
    if (rb->receivedmap) {
        bitmap_clear(rb->receivedmap, start >> TARGET_PAGE_BITS,
                     len >> TARGET_PAGE_BITS);
    }
    ret = ram_block_discard_range(rb, start, len);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "discarding 0x%" PRIx64 "+0x%" PRIx64
                         " of RAM block '%s' failed", start, len, rb->idstr);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ fault thread */

/* True when every target page of the host page at @offset was received. */
static bool pc_host_page_received(RAMBlock *rb, uint64_t offset)
{
    unsigned long first = offset >> TARGET_PAGE_BITS;
    unsigned long n = rb->page_size >> TARGET_PAGE_BITS;

    if (!rb->receivedmap) {
        return false;
    }
    return find_next_zero_bit(rb->receivedmap, first + n, first) >= first + n;
}

/*
 * The window around a fault on a page received as untouched zeroes in
 * which the fault thread maps zero pages too (only over pages received
 * the same way): the aligned 256 KiB that holds the fault.  A guest
 * touching fresh memory, in whatever order inside a window, then takes
 * one fault per 64 pages instead of one per page; a page populated
 * meanwhile ends a run (EEXIST) and costs nothing.
 */
#define PC_ZERO_AHEAD_BYTES (256 * 1024)

/* Map zero pages over [start, end) of @rb, stopping at a populated page. */
static void pc_zero_range(PostcopyIncoming *pi, RAMBlock *rb, uint64_t start,
                          uint64_t end)
{
    for (int tries = 0; start < end && tries < 16; tries++) {
        struct uffdio_zeropage zp = {
            .range = { .start = (uintptr_t)(rb->host + start),
                       .len = end - start },
            .mode = 0,
        };

        if (ioctl(pi->uffd, UFFDIO_ZEROPAGE, &zp) == 0) {
            qatomic_add(&pi->stats.zero_ahead,
                        (end - start) >> TARGET_PAGE_BITS);
            return;
        }
        if (zp.zeropage > 0) {
            qatomic_add(&pi->stats.zero_ahead,
                        (uint64_t)zp.zeropage >> TARGET_PAGE_BITS);
            start += zp.zeropage;
        }
        if (errno == EEXIST) {
            return;         /* a populated page: the run ends here */
        }
        if (errno != EAGAIN) {
            trace_postcopy_zero_ahead_failed(rb->idstr, start, errno);
            return;
        }
    }
}

/*
 * After a local fault at @offset of @rb: map zero pages over the received
 * pages on both sides of it inside its window (the runs that touch it).
 * Only private anonymous memory, where a mapped zero page costs no memory
 * (on shmem or hugetlbfs it would allocate pages the guest may never
 * touch).  Waking mode: a vCPU already blocked on one of them goes on at
 * once, and its queued fault later finds the page present (EEXIST).
 */
static void pc_zero_ahead(PostcopyIncoming *pi, RAMBlock *rb, uint64_t offset)
{
    unsigned long page = offset >> TARGET_PAGE_BITS, lo, hi, wlo, whi;
    uint64_t wstart = QEMU_ALIGN_DOWN(offset, PC_ZERO_AHEAD_BYTES);

    if (!rb->postcopy_zeroable || rb->fd >= 0 || (rb->flags & RAM_SHARED) ||
        rb->page_size != TARGET_PAGE_SIZE || !rb->receivedmap) {
        return;
    }
    wlo = wstart >> TARGET_PAGE_BITS;
    whi = MIN(rb->used_length, wstart + PC_ZERO_AHEAD_BYTES) >>
          TARGET_PAGE_BITS;
    hi = find_next_zero_bit(rb->receivedmap, whi, page + 1);
    for (lo = page; lo > wlo && test_bit(lo - 1, rb->receivedmap); lo--) {
        /* the received run before the fault */
    }
    trace_postcopy_zero_ahead(rb->idstr, offset,
                              (uint64_t)lo << TARGET_PAGE_BITS,
                              (uint64_t)hi << TARGET_PAGE_BITS);
    pc_zero_range(pi, rb, offset + TARGET_PAGE_SIZE,
                  (uint64_t)hi << TARGET_PAGE_BITS);
    pc_zero_range(pi, rb, (uint64_t)lo << TARGET_PAGE_BITS, offset);
}

static void pc_handle_fault(MigrationIncomingState *mis, PostcopyIncoming *pi,
                            uint64_t addr, uint32_t ptid)
{
    ram_addr_t offset;
    RAMBlock *rb = qemu_ram_block_from_host((void *)(uintptr_t)addr, &offset);
    Error *err = NULL;
    void *key;
    bool fresh;

    qatomic_inc(&pi->stats.faults);
    if (!rb || offset >= rb->used_length) {
        /* registered ranges are blocks: this cannot be, but never crash */
        trace_postcopy_fault_unknown(addr);
        return;
    }
    offset = QEMU_ALIGN_DOWN(offset, rb->page_size);
    trace_postcopy_fault(rb->idstr, offset, ptid);
    if (pc_host_page_received(rb, offset)) {
        /*
         * Received as untouched zeroes before LISTEN (never written here,
         * so never populated), or just placed: a zero page completes it
         * (EEXIST when it was just placed, harmless).
         */
        qatomic_inc(&pi->stats.received_zero);
        if (!postcopy_place_zero_page(mis, rb, offset, &err)) {
            trace_postcopy_fault_zero_failed(rb->idstr, offset,
                                             error_get_pretty(err));
            error_free(err);
            return;
        }
        pc_zero_ahead(pi, rb, offset);
        return;
    }
    key = rb->host + offset;
    if (pi->bt) {
        postcopy_blocktime_begin(pi->bt, (uintptr_t)key, ptid);
        if (pc_host_page_received(rb, offset)) {
            /* placed meanwhile (its end may have come before our begin) */
            postcopy_blocktime_cancel(pi->bt, (uintptr_t)key, ptid);
            return;
        }
    }
    qemu_mutex_lock(&pi->req_lock);
    fresh = g_hash_table_add(pi->requested, key);
    qemu_mutex_unlock(&pi->req_lock);
    if (!fresh) {
        qatomic_inc(&pi->stats.duplicates);
        return;
    }
    if (!migrate_send_rp_req_pages(mis, rb, offset, rb->page_size, &err)) {
        /*
         * The return path is gone: the request stays recorded, the
         * faulting thread stays blocked, nothing is lost.
         */
        trace_postcopy_request_failed(rb->idstr, offset,
                                      error_get_pretty(err));
        error_free(err);
        return;
    }
    qatomic_inc(&pi->stats.requests);
}

static void *postcopy_ram_fault_thread(void *opaque)
{
    MigrationIncomingState *mis = opaque;
    PostcopyIncoming *pi = mis->postcopy;
    struct uffd_msg msgs[16];

    trace_postcopy_ram_fault_thread_entry();
    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = pi->uffd, .events = POLLIN },
            { .fd = pi->quit_fd, .events = POLLIN },
        };
        /*
         * Read first, poll only when nothing is pending: under a stream of
         * faults this saves a system call per batch (the uffd is
         * non-blocking).
         */
        ssize_t n = read(pi->uffd, msgs, sizeof(msgs));

        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                trace_postcopy_ram_fault_thread_poll_error(errno);
                break;
            }
            if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
                trace_postcopy_ram_fault_thread_poll_error(errno);
                break;
            }
            if (pfd[1].revents) {
                break;
            }
            continue;
        }
        for (size_t i = 0; i < (size_t)n / sizeof(msgs[0]); i++) {
            if (msgs[i].event != UFFD_EVENT_PAGEFAULT) {
                trace_postcopy_fault_event(msgs[i].event);
                continue;
            }
            pc_handle_fault(mis, pi, msgs[i].arg.pagefault.address,
                            msgs[i].arg.pagefault.feat.ptid);
        }
    }
    trace_postcopy_ram_fault_thread_exit();
    return NULL;
}

/* ------------------------------------------------------------ listen */

bool postcopy_ram_incoming_setup(MigrationIncomingState *mis, Error **errp)
{
    PostcopyIncoming *pi = mis->postcopy;
    uint64_t features = pc_needed_features(), ioctls;
    RAMBlock *rb;

    if (!pi) {
        error_setg(errp, "POSTCOPY_LISTEN without a postcopy ADVISE");
        return false;
    }
    pi->uffd = uffd_open(0, errp);
    if (pi->uffd < 0) {
        return false;
    }
    if (postcopy_ram_thread_id_supported()) {
        features |= UFFD_FEATURE_THREAD_ID;
    } else if (migrate_postcopy_blocktime()) {
        error_setg(errp, "postcopy-blocktime needs the thread id of each "
                   "fault (UFFD_FEATURE_THREAD_ID), which userfaultfd does "
                   "not offer on this host");
        return false;
    }
    if (migrate_postcopy_blocktime()) {
        /* one incoming migration per process: it is never replaced */
        if (!mis->blocktime) {
            mis->blocktime = postcopy_blocktime_new();
        }
        pi->bt = mis->blocktime;
    }
    if (!uffd_api(pi->uffd, features, NULL, errp)) {
        return false;
    }
    pi->zero_page_size = postcopy_max_page_size();
    pi->zero_page = mmap(NULL, pi->zero_page_size, PROT_READ,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pi->zero_page == MAP_FAILED) {
        pi->zero_page = NULL;
        error_setg_errno(errp, errno, "postcopy: cannot map a zero page of "
                         "0x%zx bytes", pi->zero_page_size);
        return false;
    }
    RAMBLOCK_FOREACH(rb) {
        if (ramblock_is_ignored(rb)) {
            continue;
        }
        if (!uffd_register_block(pi->uffd, rb, &ioctls, errp)) {
            return false;
        }
        rb->postcopy_registered = true;
        /* hugetlbfs has no UFFDIO_ZEROPAGE: zero pages are copied */
        rb->postcopy_zeroable = !!(ioctls & (1ULL << _UFFDIO_ZEROPAGE));
        trace_postcopy_register_block(rb->idstr, (uintptr_t)rb->host,
                                      rb->used_length, rb->page_size,
                                      rb->postcopy_zeroable);
    }
    pi->quit_fd = eventfd(0, EFD_CLOEXEC);
    if (pi->quit_fd < 0) {
        error_setg_errno(errp, errno, "postcopy: cannot create the fault "
                         "thread's quit eventfd");
        return false;
    }
    qemu_thread_create(&pi->fault_thread, "mig/dst/fault",
                       postcopy_ram_fault_thread, mis, QEMU_THREAD_JOINABLE);
    pi->fault_thread_created = true;
    return true;
}

void postcopy_ram_incoming_fault_counts(MigrationIncomingState *mis,
                                        uint64_t *faults,
                                        uint64_t *zero_ahead)
{
    PostcopyIncoming *pi = mis->postcopy;

    *faults = pi ? qatomic_read(&pi->stats.faults) : 0;
    *zero_ahead = pi ? qatomic_read(&pi->stats.zero_ahead) : 0;
}

void postcopy_ram_incoming_cleanup(MigrationIncomingState *mis)
{
    PostcopyIncoming *pi = mis->postcopy;
    RAMBlock *rb;

    if (!pi) {
        return;
    }
    if (pi->fault_thread_created) {
        uint64_t one = 1;

        if (write(pi->quit_fd, &one, sizeof(one)) != sizeof(one)) {
            trace_postcopy_ram_fault_thread_poll_error(errno);
        }
        qemu_thread_join(&pi->fault_thread);
        pi->fault_thread_created = false;
    }
    RAMBLOCK_FOREACH(rb) {
        if (rb->postcopy_registered && pi->uffd >= 0) {
            uffd_unregister_block(pi->uffd, rb);
        }
        rb->postcopy_registered = false;
        if (pi->thp_off && rb->fd < 0 && !ramblock_is_ignored(rb)) {
            /* as physmem.c maps private anonymous guest RAM */
            (void)madvise(rb->host, rb->used_length, MADV_HUGEPAGE);
        }
    }
    if (pi->uffd >= 0) {
        close(pi->uffd);
    }
    if (pi->quit_fd >= 0) {
        close(pi->quit_fd);
    }
    trace_postcopy_ram_incoming_cleanup(pi->stats.faults, pi->stats.requests,
                                        pi->stats.duplicates,
                                        pi->stats.placed,
                                        pi->stats.received_zero,
                                        pi->stats.zero_ahead);
    if (pi->zero_page) {
        munmap(pi->zero_page, pi->zero_page_size);
    }
    g_hash_table_destroy(pi->requested);
    qemu_mutex_destroy(&pi->req_lock);
    g_free(pi);
    mis->postcopy = NULL;
}

/* ------------------------------------------------------------ placement */

/* Mark the host page received and forget its request. */
static void pc_placed(PostcopyIncoming *pi, RAMBlock *rb, uint64_t offset)
{
    if (rb->receivedmap) {
        bitmap_set_atomic(rb->receivedmap, offset >> TARGET_PAGE_BITS,
                          rb->page_size >> TARGET_PAGE_BITS);
    }
    qemu_mutex_lock(&pi->req_lock);
    g_hash_table_remove(pi->requested, rb->host + offset);
    qemu_mutex_unlock(&pi->req_lock);
    if (pi->bt) {
        postcopy_blocktime_end(pi->bt, (uintptr_t)(rb->host + offset));
    }
    qatomic_inc(&pi->stats.placed);
}

static bool pc_check_place(PostcopyIncoming *pi, RAMBlock *rb,
                           uint64_t offset, Error **errp)
{
    if (!pi || pi->uffd < 0 || !rb->postcopy_registered) {
        error_setg(errp, "postcopy: placing a page of RAM block '%s' that "
                   "is not registered with userfaultfd", rb->idstr);
        return false;
    }
    if (!QEMU_IS_ALIGNED(offset, rb->page_size) ||
        offset >= rb->used_length) {
        error_setg(errp, "postcopy: page 0x%" PRIx64 " of RAM block '%s' "
                   "is unaligned or outside it", offset, rb->idstr);
        return false;
    }
    return true;
}

static bool pc_copy(PostcopyIncoming *pi, RAMBlock *rb, uint64_t offset,
                    const void *from, Error **errp)
{
    struct uffdio_copy copy = {
        .dst = (uintptr_t)(rb->host + offset),
        .src = (uintptr_t)from,
        .len = rb->page_size,
        .mode = 0,
    };

    int tries = 0;

    while (ioctl(pi->uffd, UFFDIO_COPY, &copy) != 0) {
        if (errno == EAGAIN && ++tries < 100) {
            /* the mapping changed under us (rare): try again */
            copy.copy = 0;
            continue;
        }
        error_setg_errno(errp, errno, "postcopy: UFFDIO_COPY of page 0x%"
                         PRIx64 " (0x%zx bytes) of RAM block '%s' failed%s",
                         offset, rb->page_size, rb->idstr,
                         errno == EEXIST ? " (the page is already there)"
                                         : "");
        return false;
    }
    return true;
}

bool postcopy_place_page(MigrationIncomingState *mis, RAMBlock *rb,
                         uint64_t offset, void *from, Error **errp)
{
    PostcopyIncoming *pi = mis->postcopy;

    if (!pc_check_place(pi, rb, offset, errp) ||
        !pc_copy(pi, rb, offset, from, errp)) {
        return false;
    }
    trace_postcopy_place_page(rb->idstr, offset, false);
    pc_placed(pi, rb, offset);
    return true;
}

bool postcopy_place_zero_page(MigrationIncomingState *mis, RAMBlock *rb,
                              uint64_t offset, Error **errp)
{
    PostcopyIncoming *pi = mis->postcopy;
    struct uffdio_zeropage zp = {
        .range = { .start = (uintptr_t)(rb->host + offset),
                   .len = rb->page_size },
        .mode = 0,
    };

    if (!pc_check_place(pi, rb, offset, errp)) {
        return false;
    }
    if (!rb->postcopy_zeroable) {
        /* hugetlbfs: copy a zeroed huge page */
        assert(rb->page_size <= pi->zero_page_size);
        if (!pc_copy(pi, rb, offset, pi->zero_page, errp)) {
            return false;
        }
    } else {
        while (ioctl(pi->uffd, UFFDIO_ZEROPAGE, &zp) != 0) {
            if (errno == EAGAIN) {
                zp.zeropage = 0;
                continue;
            }
            if (errno == EEXIST) {
                /* placed meanwhile: wake whoever waits (none, normally) */
                break;
            }
            error_setg_errno(errp, errno, "postcopy: UFFDIO_ZEROPAGE of "
                             "page 0x%" PRIx64 " of RAM block '%s' failed",
                             offset, rb->idstr);
            return false;
        }
    }
    trace_postcopy_place_page(rb->idstr, offset, true);
    pc_placed(pi, rb, offset);
    return true;
}

/* ------------------------------------------------------------ recovery */

void postcopy_ram_resend_requests(MigrationIncomingState *mis)
{
    PostcopyIncoming *pi = mis->postcopy;
    GList *keys, *l;
    uint64_t n = 0;

    if (!pi) {
        return;
    }
    qemu_mutex_lock(&pi->req_lock);
    keys = g_hash_table_get_keys(pi->requested);
    qemu_mutex_unlock(&pi->req_lock);
    for (l = keys; l; l = l->next) {
        ram_addr_t offset;
        RAMBlock *rb = qemu_ram_block_from_host(l->data, &offset);
        Error *err = NULL;

        if (!rb) {
            continue;
        }
        if (!migrate_send_rp_req_pages(mis, rb, offset, rb->page_size,
                                       &err)) {
            /* broken again: they stay recorded for the next recovery */
            trace_postcopy_request_failed(rb->idstr, offset,
                                          error_get_pretty(err));
            error_free(err);
            break;
        }
        n++;
    }
    g_list_free(keys);
    trace_postcopy_resend_requests(n);
}
