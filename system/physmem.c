/*
 * RAMBlocks: allocation of guest RAM for every backend kind, the block
 * list, discard, page-size queries and the boot log (the dirty log's
 * consumers and harvest are in dirty-log.c).
 *
 * Each block is one host mapping made at creation and never moved:
 *   - private anonymous memory (the default, madvised MADV_HUGEPAGE),
 *   - shared anonymous memory (share=on): an unsealed memfd, MAP_SHARED,
 *   - memory-backend-memfd: a memfd, optionally on hugetlbfs,
 *   - memory-backend-file: a file, or an unlinked temporary file made in
 *     a directory (typically a hugetlbfs mount).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/thread.h"
#include "qemu/bitmap.h"
#include "exec/memory.h"
#include "trace.h"
#include "dirty-log.h"

#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <linux/falloc.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

#define BITS_PER_LONG_ (8 * sizeof(unsigned long))

struct RAMBlockList ram_list = QTAILQ_HEAD_INITIALIZER(ram_list);
unsigned global_dirty_tracking;
/* memory_boot_log_end() ran: no block is boot-logged any more */
static bool boot_log_ended;

static size_t host_page_size(void)
{
    static size_t cached;

    if (!cached) {
        cached = (size_t)sysconf(_SC_PAGESIZE);
    }
    return cached;
}

/* ---------------------------------------------------------------- helpers */

/* Page size of the filesystem behind @fd: huge on hugetlbfs, else host. */
static size_t fd_page_size(int fd)
{
    struct statfs fs;
    int ret;

    do {
        ret = fstatfs(fd, &fs);
    } while (ret != 0 && errno == EINTR);
    if (ret == 0 && fs.f_type == HUGETLBFS_MAGIC) {
        return fs.f_bsize;
    }
    return host_page_size();
}

static bool is_power_of_2_u64(uint64_t v)
{
    return v && !(v & (v - 1));
}

static int memfd_open(const char *name, bool hugetlb, uint64_t hugetlbsize,
                      bool seal, Error **errp)
{
    unsigned int flags = MFD_CLOEXEC;
    int fd;

    if (hugetlb) {
        flags |= MFD_HUGETLB;
        if (hugetlbsize) {
            if (!is_power_of_2_u64(hugetlbsize)) {
                error_setg(errp, "memory backend '%s': hugetlbsize 0x%" PRIx64
                           " is not a power of 2", name, hugetlbsize);
                return -1;
            }
            flags |= (unsigned int)(__builtin_ctzll(hugetlbsize)) << MFD_HUGE_SHIFT;
        }
    }
    if (seal) {
        flags |= MFD_ALLOW_SEALING;
    }
    fd = memfd_create(name, flags);
    if (fd < 0) {
        error_setg_errno(errp, errno, "memory backend '%s': cannot create "
                         "memfd%s", name, hugetlb ? " with hugetlb=on" : "");
        return -1;
    }
    return fd;
}

/*
 * Open the backing file of a memory-backend-file.  @path is a file (created
 * if missing) or a directory, in which case an unlinked temporary file is
 * made inside.  *created tells whether we made the file (so a failure can
 * remove it).
 */
static int mem_path_open(const char *id, const char *path, bool readonly,
                         char **created, Error **errp)
{
    struct stat st;
    int fd;

    *created = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        g_autofree char *sanitized = g_strdup(id);
        g_autofree char *tmpl = NULL;

        g_strdelimit(sanitized, "/", '_');
        tmpl = g_strdup_printf("%s/godwit_back_mem.%s.XXXXXX", path, sanitized);
        fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0) {
            error_setg_errno(errp, errno, "memory backend '%s': cannot create "
                             "a backing file in directory '%s'", id, path);
            return -1;
        }
        /* Nobody else may use it: drop the name right away. */
        unlink(tmpl);
        return fd;
    }

    fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !readonly) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            *created = g_strdup(path);
        } else if (errno == EEXIST) {
            /* raced with someone creating it: use theirs */
            fd = open(path, O_RDWR | O_CLOEXEC);
        }
    }
    if (fd < 0) {
        error_setg_errno(errp, errno, "memory backend '%s': cannot open "
                         "mem-path '%s'", id, path);
        return -1;
    }
    return fd;
}

/* ---------------------------------------------------------------- prealloc */

typedef struct TouchJob {
    uint8_t *start;
    size_t npages;
    size_t page_size;
    QemuThread thread;
} TouchJob;

static void *touch_pages_thread(void *opaque)
{
    TouchJob *job = opaque;

    for (size_t i = 0; i < job->npages; i++) {
        volatile uint8_t *p = job->start + i * job->page_size;
        /* Write back what is there: shared or file contents are kept. */
        *p = *p;
    }
    return NULL;
}

static bool touch_all_pages(uint8_t *host, size_t size, size_t page_size)
{
    size_t npages = size / page_size;
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nthreads = MIN(MAX(ncpus, 1), 16);
    TouchJob *jobs;
    size_t per, done = 0;

    nthreads = MIN(nthreads, MAX(npages, 1));
    per = npages / nthreads;
    jobs = g_new0(TouchJob, nthreads);
    for (size_t t = 0; t < nthreads; t++) {
        size_t n = per + (t < npages % nthreads ? 1 : 0);

        jobs[t].start = host + done * page_size;
        jobs[t].npages = n;
        jobs[t].page_size = page_size;
        done += n;
        qemu_thread_create(&jobs[t].thread, "touch_pages", touch_pages_thread,
                           &jobs[t], QEMU_THREAD_JOINABLE);
    }
    for (size_t t = 0; t < nthreads; t++) {
        qemu_thread_join(&jobs[t].thread);
    }
    g_free(jobs);
    return true;
}

static bool ram_block_prealloc(RAMBlock *rb, Error **errp)
{
    size_t size = rb->max_length;

    if (madvise(rb->host, size, MADV_POPULATE_WRITE) == 0) {
        trace_ram_block_prealloc(rb->idstr, size, "populate-write");
        return true;
    }
    if (errno != EINVAL) {
        /* ENOMEM / EFAULT / EHWPOISON: there is not enough memory */
        error_setg_errno(errp, errno, "unable to preallocate memory for '%s'",
                         rb->idstr);
        return false;
    }
    /*
     * Old kernel without MADV_POPULATE_WRITE.  For fd-backed memory reserve
     * the pages in the file first, so that a shortage (hugetlbfs pool) shows
     * as an error here instead of SIGBUS while touching.
     */
    if (rb->fd >= 0 && (rb->flags & RAM_SHARED)) {
        if (fallocate(rb->fd, 0, rb->fd_offset, size) != 0 &&
            errno != EOPNOTSUPP) {
            error_setg_errno(errp, errno,
                             "unable to preallocate memory for '%s'", rb->idstr);
            return false;
        }
    }
    touch_all_pages(rb->host, size, rb->page_size);
    trace_ram_block_prealloc(rb->idstr, size, "touch");
    return true;
}

/* ---------------------------------------------------------------- alloc */

RAMBlock *qemu_ram_alloc(const RAMBlockConfig *cfg, Error **errp)
{
    const char *id = cfg->name;
    RAMBlock *rb, *last, *other;
    size_t page_size = host_page_size();
    uint64_t size = cfg->size;
    uint32_t flags = 0;
    int fd = -1;
    char *created = NULL;
    bool shared = cfg->shared;
    void *host;

    if (!id || !*id) {
        error_setg(errp, "a RAM block needs a name");
        return NULL;
    }
    if (strlen(id) >= sizeof(rb->idstr)) {
        error_setg(errp, "RAM block name '%s' is too long", id);
        return NULL;
    }
    if (qemu_ram_block_by_name(id)) {
        error_setg(errp, "a RAM block named '%s' already exists", id);
        return NULL;
    }
    if (size == 0) {
        error_setg(errp, "memory backend '%s': property 'size' must be "
                   "greater than 0", id);
        return NULL;
    }
    if ((cfg->hugetlb || cfg->hugetlbsize) && !cfg->memfd) {
        error_setg(errp, "memory backend '%s': hugetlb is only supported by "
                   "memory-backend-memfd", id);
        return NULL;
    }
    if (cfg->hugetlbsize && !cfg->hugetlb) {
        error_setg(errp, "memory backend '%s': hugetlbsize requires "
                   "hugetlb=on", id);
        return NULL;
    }

    if (cfg->mem_path) {
        struct stat st;

        fd = mem_path_open(id, cfg->mem_path, false, &created, errp);
        if (fd < 0) {
            return NULL;
        }
        flags |= RAM_FILE;
        page_size = fd_page_size(fd);
        if (!QEMU_IS_ALIGNED(size, page_size)) {
            error_setg(errp, "memory backend '%s': size 0x%" PRIx64 " must be "
                       "a multiple of the page size 0x%zx of mem-path '%s'",
                       id, size, page_size, cfg->mem_path);
            goto fail;
        }
        if (fstat(fd, &st) != 0) {
            error_setg_errno(errp, errno, "memory backend '%s': cannot stat "
                             "mem-path '%s'", id, cfg->mem_path);
            goto fail;
        }
        if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < size &&
            ftruncate(fd, size) != 0) {
            error_setg_errno(errp, errno, "memory backend '%s': cannot resize "
                             "mem-path '%s' to 0x%" PRIx64, id,
                             cfg->mem_path, size);
            goto fail;
        }
    } else if (cfg->memfd || shared) {
        /* share=on anonymous memory is a plain memfd, as is a memfd backend */
        bool seal = cfg->memfd && cfg->seal;

        fd = memfd_open(id, cfg->hugetlb, cfg->hugetlbsize, seal, errp);
        if (fd < 0) {
            return NULL;
        }
        flags |= RAM_MEMFD;
        page_size = fd_page_size(fd);
        if (!QEMU_IS_ALIGNED(size, page_size)) {
            error_setg(errp, "memory backend '%s': size 0x%" PRIx64 " must be "
                       "a multiple of the page size 0x%zx", id, size, page_size);
            goto fail;
        }
        if (ftruncate(fd, size) != 0) {
            error_setg_errno(errp, errno, "memory backend '%s': cannot set the "
                             "memfd size to 0x%" PRIx64, id, size);
            goto fail;
        }
        if (seal && fcntl(fd, F_ADD_SEALS,
                          F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
            error_setg_errno(errp, errno, "memory backend '%s': cannot seal "
                             "the memfd", id);
            goto fail;
        }
    } else {
        size = QEMU_ALIGN_UP(size, page_size);
    }
    if (page_size > host_page_size()) {
        flags |= RAM_HUGETLB;
    }
    if (shared) {
        flags |= RAM_SHARED;
    }

    if (fd >= 0) {
        /*
         * No MAP_NORESERVE on hugetlbfs: the reservation makes an empty
         * huge page pool fail here instead of SIGBUS on first touch.
         */
        int mflags = shared ? MAP_SHARED : MAP_PRIVATE;

        if (page_size <= host_page_size()) {
            mflags |= MAP_NORESERVE;
        }
        host = mmap(NULL, size, PROT_READ | PROT_WRITE, mflags, fd, 0);
    } else {
        host = mmap(NULL, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (host == MAP_FAILED) {
        error_setg_errno(errp, errno, "memory backend '%s': cannot map "
                         "0x%" PRIx64 " bytes", id, size);
        goto fail;
    }
    if (fd < 0) {
        /* as QEMU does for guest RAM; failure (no THP) is harmless */
        madvise(host, size, MADV_HUGEPAGE);
    }

    rb = g_new0(RAMBlock, 1);
    g_strlcpy(rb->idstr, id, sizeof(rb->idstr));
    rb->host = host;
    rb->used_length = size;
    rb->max_length = size;
    rb->page_size = page_size;
    rb->flags = flags;
    rb->fd = fd;
    rb->fd_offset = 0;
    rb->mem_path = g_strdup(cfg->mem_path);
    rb->mr_addr = (hwaddr)-1;
    last = NULL;
    RAMBLOCK_FOREACH(other) {
        last = other;
    }
    rb->offset = last ? QEMU_ALIGN_UP(last->offset + last->max_length,
                                      MAX(page_size, TARGET_PAGE_SIZE)) : 0;
    rb->dirty_log = g_new0(unsigned long,
                           DIV_ROUND_UP(size >> TARGET_PAGE_BITS,
                                        BITS_PER_LONG_) + 1);

    if (cfg->prealloc) {
        if (!ram_block_prealloc(rb, errp)) {
            munmap(host, size);
            g_free(rb->dirty_log);
            g_free(rb->mem_path);
            g_free(rb);
            goto fail;
        }
        rb->flags |= RAM_PREALLOC;
    }
    if (cfg->readonly_rom) {
        rb->flags |= RAM_ROM;
    }
    /* fresh anonymous memory and our own memfd read as zero */
    if (!boot_log_ended && (fd < 0 || (flags & RAM_MEMFD))) {
        if (!(qatomic_read(&global_dirty_tracking) & GLOBAL_DIRTY_BOOT)) {
            memory_global_dirty_log_start(GLOBAL_DIRTY_BOOT);
        }
        rb->boot_log = true;
    }

    dirty_log_block_added(rb);
    QTAILQ_INSERT_TAIL(&ram_list, rb, next);
    g_free(created);
    trace_qemu_ram_alloc(rb->idstr, rb->used_length, rb->page_size,
                         rb->flags, rb->fd);
    return rb;

fail:
    if (fd >= 0) {
        close(fd);
    }
    if (created) {
        unlink(created);
        g_free(created);
    }
    return NULL;
}

void qemu_ram_free(RAMBlock *rb)
{
    if (!rb) {
        return;
    }
    QTAILQ_REMOVE(&ram_list, rb, next);
    if (rb->host) {
        munmap(rb->host, rb->max_length);
    }
    if (rb->fd >= 0) {
        close(rb->fd);
    }
    dirty_log_block_removed(rb);
    g_free(rb->dirty_log);
    g_free(rb->mem_path);
    g_free(rb);
}

/* ---------------------------------------------------------------- lookups */

RAMBlock *qemu_ram_block_by_name(const char *name)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        if (strcmp(rb->idstr, name) == 0) {
            return rb;
        }
    }
    return NULL;
}

RAMBlock *qemu_ram_block_from_host(void *ptr, ram_addr_t *offset)
{
    uint8_t *p = ptr;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        if (rb->host && p >= rb->host && p < rb->host + rb->max_length) {
            if (offset) {
                *offset = p - rb->host;
            }
            return rb;
        }
    }
    return NULL;
}

uint64_t ram_bytes_total(void)
{
    uint64_t total = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        total += rb->used_length;
    }
    return total;
}

uint64_t ram_pages_total(void)
{
    uint64_t total = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        total += TARGET_PAGE_ALIGN(rb->used_length) >> TARGET_PAGE_BITS;
    }
    return total;
}

size_t qemu_ram_pagesize(RAMBlock *rb)
{
    return rb->page_size;
}

uint64_t qemu_ram_pagesize_summary(void)
{
    uint64_t summary = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        summary |= rb->page_size;
    }
    return summary;
}

/* ---------------------------------------------------------------- discard */

int ram_block_discard_range(RAMBlock *rb, uint64_t start, size_t length)
{
    uint8_t *host = rb->host + start;
    int ret;

    trace_ram_block_discard_range(rb->idstr, start, length);
    if (length == 0) {
        return 0;
    }
    if (!QEMU_IS_ALIGNED(start, rb->page_size) ||
        !QEMU_IS_ALIGNED(length, rb->page_size)) {
        error_report("ram_block_discard_range: '%s': unaligned range "
                     "0x%" PRIx64 "+0x%zx (page size 0x%zx)",
                     rb->idstr, start, length, rb->page_size);
        return -EINVAL;
    }
    if (start > rb->used_length || length > rb->used_length - start) {
        error_report("ram_block_discard_range: '%s': range 0x%" PRIx64
                     "+0x%zx overruns the block (length 0x%" PRIx64 ")",
                     rb->idstr, start, length, rb->used_length);
        return -EINVAL;
    }

    if (rb->fd >= 0) {
        /* drop the pages from the file, memfd or hugetlbfs pool */
        ret = fallocate(rb->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        rb->fd_offset + start, length);
        if (ret != 0) {
            ret = -errno;
            error_report("ram_block_discard_range: '%s': failed to punch a "
                         "hole at 0x%" PRIx64 "+0x%zx: %s", rb->idstr,
                         start, length, strerror(-ret));
            return ret;
        }
        if (rb->flags & RAM_SHARED) {
            return 0;
        }
    }
    /*
     * Private mappings: drop our copies so that the next access refaults
     * zero pages (anonymous) or the file's contents (file).
     */
    if (madvise(host, length, MADV_DONTNEED) != 0) {
        ret = -errno;
        error_report("ram_block_discard_range: '%s': failed to discard "
                     "0x%" PRIx64 "+0x%zx: %s", rb->idstr, start, length,
                     strerror(-ret));
        return ret;
    }
    return 0;
}

/* ---------------------------------------------------------------- boot log */

void memory_boot_log_end(void)
{
    RAMBlock *rb;

    if (boot_log_ended) {
        return;
    }
    boot_log_ended = true;
    RAMBLOCK_FOREACH(rb) {
        rb->boot_log = false;
    }
    memory_global_dirty_log_stop(GLOBAL_DIRTY_BOOT);
}
