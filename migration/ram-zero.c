/*
 * Pages known to read as zero without reading them (see ram-zero.h and
 * docs/devel/migration/ram.rst, "Pages that are never read").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "exec/memory.h"
#include "migration/ram-zero.h"
#include "trace.h"

/* pagemap entries read at once (one read for a whole chunk) */
#define PAGEMAP_BATCH RAM_ZERO_CHUNK_PAGES

static int pagemap_fd = -1;

static gpointer pagemap_open(gpointer unused)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

    trace_ram_zero_pagemap_open(fd >= 0 ? 0 : errno);
    pagemap_fd = fd;
    return NULL;
}

/* /proc/self/pagemap, opened once for the process; -1 if unavailable. */
static int pagemap_get(void)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, pagemap_open, NULL);
    return pagemap_fd;
}

bool ram_zero_supported(RAMBlock *rb)
{
    if (!rb->host || (rb->flags & RAM_HUGETLB) ||
        rb->page_size != qemu_real_host_page_size) {
        return false;
    }
    if (rb->fd < 0) {
        /* private anonymous only: shared anonymous memory is a memfd */
        return !(rb->flags & RAM_SHARED) && pagemap_get() >= 0;
    }
    if (rb->flags & RAM_SHARED) {
        return true;
    }
    return pagemap_get() >= 0;
}

/*
 * Clear in @bits (target pages from @first) every page whose host pages
 * are not all "no entry at all" in the page table: present (bit 63) or
 * any non-present entry (bit 62: swap, migration, markers).
 */
static bool probe_pagemap(RAMBlock *rb, unsigned long first,
                          unsigned long npages, unsigned long *bits)
{
    uint64_t hps = qemu_real_host_page_size;
    uint64_t start = (uint64_t)first << TARGET_PAGE_BITS;
    uint64_t end = (uint64_t)(first + npages) << TARGET_PAGE_BITS;
    uint64_t hstart = QEMU_ALIGN_DOWN(start, hps);
    int fd = pagemap_get();
    uint64_t buf[PAGEMAP_BATCH];

    if (fd < 0) {
        return false;
    }
    while (hstart < end) {
        uint64_t vaddr = (uintptr_t)rb->host + hstart;
        size_t n = MIN(PAGEMAP_BATCH, DIV_ROUND_UP(end - hstart, hps));
        ssize_t got;
        size_t i;

        do {
            got = pread(fd, buf, n * sizeof(uint64_t),
                        (off_t)(vaddr / hps * sizeof(uint64_t)));
        } while (got < 0 && errno == EINTR);
        if (got != (ssize_t)(n * sizeof(uint64_t))) {
            trace_ram_zero_probe_error(rb->idstr, "pagemap", got < 0 ? errno : 0);
            return false;
        }
        for (i = 0; i < n; i++) {
            uint64_t hoff = hstart + i * hps;
            uint64_t lo, hi;

            if (!(buf[i] & (RAM_ZERO_PM_PRESENT | RAM_ZERO_PM_SWAPPED))) {
                continue;
            }
            /* the target pages this host page overlaps */
            lo = MAX(hoff, start) >> TARGET_PAGE_BITS;
            hi = (MIN(hoff + hps, end) - 1) >> TARGET_PAGE_BITS;
            for (; lo <= hi; lo++) {
                clear_bit(lo - first, bits);
            }
        }
        hstart += n * hps;
    }
    return true;
}

/* Clear in @bits the target pages in the file range [@from, @to) (data). */
static void clear_file_range(RAMBlock *rb, unsigned long first,
                             unsigned long npages, unsigned long *bits,
                             uint64_t from, uint64_t to)
{
    uint64_t base = rb->fd_offset + ((uint64_t)first << TARGET_PAGE_BITS);
    uint64_t lo, hi;

    if (to <= base) {
        return;
    }
    from = MAX(from, base) - base;
    to = MIN(to - base, (uint64_t)npages << TARGET_PAGE_BITS);
    if (from >= to) {
        return;
    }
    lo = from >> TARGET_PAGE_BITS;
    hi = (to - 1) >> TARGET_PAGE_BITS;
    bitmap_clear(bits, lo, hi - lo + 1);
}

/*
 * Clear in @bits every page that is not entirely inside a hole of the
 * backing file.  Holes read as zeros (the kernel's SEEK_HOLE contract);
 * a filesystem without SEEK_DATA support reports the whole file as data.
 * Note: lseek moves the file position of rb->fd, which nothing else uses.
 */
static bool probe_file(RAMBlock *rb, unsigned long first,
                       unsigned long npages, unsigned long *bits)
{
    uint64_t start = rb->fd_offset + ((uint64_t)first << TARGET_PAGE_BITS);
    uint64_t end = start + ((uint64_t)npages << TARGET_PAGE_BITS);
    uint64_t pos = start;
    struct stat st;

    if (fstat(rb->fd, &st) < 0) {
        trace_ram_zero_probe_error(rb->idstr, "fstat", errno);
        return false;
    }
    /* beyond the end of the file nothing is known (it would fault) */
    if ((uint64_t)st.st_size < end) {
        clear_file_range(rb, first, npages, bits,
                         MAX((uint64_t)st.st_size, start), end);
        end = MAX((uint64_t)st.st_size, start);
    }
    while (pos < end) {
        off_t data = lseek(rb->fd, (off_t)pos, SEEK_DATA);
        off_t hole;

        if (data < 0) {
            if (errno == ENXIO) {
                return true;        /* no data from @pos to the end */
            }
            trace_ram_zero_probe_error(rb->idstr, "SEEK_DATA", errno);
            return false;
        }
        if ((uint64_t)data >= end) {
            return true;
        }
        hole = lseek(rb->fd, data, SEEK_HOLE);
        if (hole < 0 || hole <= data) {
            trace_ram_zero_probe_error(rb->idstr, "SEEK_HOLE",
                                       hole < 0 ? errno : 0);
            return false;
        }
        clear_file_range(rb, first, npages, bits, data, hole);
        pos = hole;
    }
    return true;
}

unsigned long ram_zero_probe(RAMBlock *rb, unsigned long first,
                             unsigned long npages, unsigned long *bits)
{
    unsigned long max = rb->used_length >> TARGET_PAGE_BITS;
    unsigned long n;

    bitmap_zero(bits, npages);
    if (first < max && rb->known_zero) {
        /* the boot log said: never written since the block was created */
        unsigned long i;

        npages = MIN(npages, max - first);
        for (i = 0; i < npages; i++) {
            if (test_bit(first + i, rb->known_zero)) {
                set_bit(i, bits);
            }
        }
        n = bitmap_count_one(bits, npages);
        trace_ram_zero_probe(rb->idstr, first, npages, n);
        return n;
    }
    if (first >= max || !ram_zero_supported(rb)) {
        return 0;
    }
    npages = MIN(npages, max - first);
    bitmap_set(bits, 0, npages);
    /*
     * Private mappings (anonymous or of a file): a page with any page
     * table entry may hold a private copy.  Shared mappings of a file: the
     * page cache is the truth, whatever this process mapped.
     */
    if (!(rb->flags & RAM_SHARED) &&
        !probe_pagemap(rb, first, npages, bits)) {
        bitmap_zero(bits, npages);
        return 0;
    }
    if (rb->fd >= 0 && !bitmap_empty(bits, npages) &&
        !probe_file(rb, first, npages, bits)) {
        bitmap_zero(bits, npages);
        return 0;
    }
    n = bitmap_count_one(bits, npages);
    trace_ram_zero_probe(rb->idstr, first, npages, n);
    return n;
}

void ram_zero_cache_invalidate(RamZeroCache *c)
{
    c->rb = NULL;
    c->npages = 0;
    c->untouched = 0;
}

bool ram_zero_cache_untouched(RamZeroCache *c, RAMBlock *rb,
                              unsigned long page)
{
    if (c->rb != rb || page - c->first >= c->npages) {
        unsigned long max = rb->used_length >> TARGET_PAGE_BITS;

        if (page >= max) {
            return false;
        }
        c->rb = rb;
        c->first = QEMU_ALIGN_DOWN(page, RAM_ZERO_CHUNK_PAGES);
        c->npages = MIN(RAM_ZERO_CHUNK_PAGES, max - c->first);
        c->untouched = ram_zero_probe(rb, c->first, c->npages, c->bits);
        c->probes++;
    }
    if (c->untouched && test_bit(page - c->first, c->bits)) {
        c->hits++;
        return true;
    }
    return false;
}
