/*
 * Pages known to read as zero without reading them
 * (docs/devel/migration/ram.rst, "Pages that are never read").
 *
 * A target page of a RAMBlock is *untouched* when the kernel guarantees
 * that reading it returns zeros and that nothing has to be faulted in to
 * know it:
 *   - private anonymous memory: the page table entry is empty
 *     (/proc/self/pagemap: not present, bit 63 clear, and no swap or other
 *     non-present entry, bit 62 clear);
 *   - shared fd-backed memory (memfd, share=on, memory-backend-file
 *     share=on): the range is a hole of the file (lseek SEEK_DATA/SEEK_HOLE);
 *   - private fd-backed memory: both (no private copy, and a hole below).
 * Huge-page (hugetlbfs) blocks and anything else are never reported
 * untouched: their pages are read.
 *
 * The answer is a snapshot: a page written after the probe is no longer
 * untouched.  The source relies on the dirty log for that (a snapshot must
 * not outlive a dirty-log sync); the destination notes its own writes.
 *
 * Probing costs one pread of the pagemap (8 bytes per host page) and/or a
 * few lseeks per chunk; it never touches guest memory.
 */
#ifndef MIGRATION_RAM_ZERO_H
#define MIGRATION_RAM_ZERO_H

#include "qemu/osdep.h"
#include "exec/memory.h"

/* Target pages probed at once: 8 MiB of 4 KiB pages, a 16 KiB pagemap read. */
#define RAM_ZERO_CHUNK_PAGES 2048

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define RAM_ZERO_PM_PRESENT (1ULL << 63)
#define RAM_ZERO_PM_SWAPPED (1ULL << 62)

/*
 * Set bit i of @bits (which holds @npages bits and is cleared first) for
 * every untouched target page @first + i of @rb.  Returns the number of
 * bits set; 0 when nothing can be known (unsupported kind of block, no
 * pagemap, an error): the caller then reads every page, which is always
 * correct.  Any thread; does not touch guest memory.
 */
unsigned long ram_zero_probe(RAMBlock *rb, unsigned long first,
                             unsigned long npages, unsigned long *bits);

/* Whether ram_zero_probe() can ever report a page of @rb untouched. */
bool ram_zero_supported(RAMBlock *rb);

/*
 * A one-chunk cache of ram_zero_probe() for a thread that walks pages in
 * order.  Zero-initialise it; owned by one thread.
 */
typedef struct RamZeroCache {
    RAMBlock *rb;               /* NULL: empty */
    unsigned long first;        /* first target page of the cached chunk */
    unsigned long npages;
    unsigned long untouched;    /* bits set in @bits */
    unsigned long bits[BITS_TO_LONGS(RAM_ZERO_CHUNK_PAGES)];
    uint64_t probes;            /* statistics: chunks probed */
    uint64_t hits;              /* pages answered untouched */
} RamZeroCache;

/*
 * Whether page @page of @rb is untouched, probing its aligned chunk when
 * it is not the cached one.
 */
bool ram_zero_cache_untouched(RamZeroCache *c, RAMBlock *rb,
                              unsigned long page);
/* Forget the snapshot (the source at every dirty-log sync). */
void ram_zero_cache_invalidate(RamZeroCache *c);
/* Page @page of @rb was just written by this thread: no longer untouched. */
static inline void ram_zero_cache_note_write(RamZeroCache *c, RAMBlock *rb,
                                             unsigned long page)
{
    if (c->rb == rb && page - c->first < c->npages &&
        test_and_clear_bit(page - c->first, c->bits)) {
        c->untouched--;
    }
}

#endif
