/*
 * Guest memory: RAMBlocks, the physical memory map, and the dirty log.
 *
 * Every RAMBlock is host memory mapped once (anonymous, memfd or a file,
 * possibly hugetlbfs, possibly MAP_SHARED).  The CPU and devices reach guest
 * RAM through host pointers, never through a copy, so under userfaultfd a
 * touch of a missing page blocks the touching thread in the kernel.
 *
 * Address spaces: one flat physical address space per machine.  MMIO regions
 * are dispatched through MemoryRegionOps under the BQL.
 */
#ifndef EXEC_MEMORY_H
#define EXEC_MEMORY_H

#include "qemu/osdep.h"
#include "qemu/queue.h"

#define TARGET_PAGE_BITS 12
#define TARGET_PAGE_SIZE (1ULL << TARGET_PAGE_BITS)
#define TARGET_PAGE_MASK (~(TARGET_PAGE_SIZE - 1))
#define TARGET_PAGE_ALIGN(a) QEMU_ALIGN_UP((a), TARGET_PAGE_SIZE)

/* RAMBlock flags */
#define RAM_PREALLOC   (1u << 0)   /* memory was preallocated (-mem-prealloc / prealloc=on) */
#define RAM_SHARED     (1u << 1)   /* MAP_SHARED */
#define RAM_RESIZEABLE (1u << 2)
#define RAM_FILE       (1u << 3)   /* backed by mem-path file (fd valid) */
#define RAM_MEMFD      (1u << 4)   /* backed by a memfd (fd valid) */
#define RAM_HUGETLB    (1u << 5)   /* hugetlbfs page size > host page size */
#define RAM_UF_WRITEPROTECT (1u << 6)
#define RAM_ROM        (1u << 7)   /* read-only for the guest (boot ROM is writable by loaders) */

/* Consumers with a view of the shared dirty log (see below). */
typedef enum DirtyLogView {
    DIRTY_VIEW_MIGRATION = 0,
    DIRTY_VIEW_DIRTY_RATE = 1,
    DIRTY_VIEW__MAX = 2,
} DirtyLogView;

/*
 * A RAMBlock.  Fields above 'migration' are set once when the block is
 * created and never change; the migration subsystem owns the fields in its
 * part (they are NULL/0 until migration allocates them).
 */
struct RAMBlock {
    char idstr[256];            /* "riscv_virt_board.ram", "mem0", ... */
    uint8_t *host;              /* host mapping of the whole block */
    ram_addr_t offset;          /* offset in the ram_addr_t space (sum of earlier blocks) */
    ram_addr_t used_length;
    ram_addr_t max_length;
    size_t page_size;           /* host page size backing the block (4 KiB or huge) */
    uint32_t flags;             /* RAM_* */
    int fd;                     /* -1 for anonymous memory */
    uint64_t fd_offset;
    char *mem_path;             /* file/directory for memory-backend-file, or NULL */
    hwaddr mr_addr;             /* guest physical base where it is mapped, or -1 */
    MemoryRegion *mr;

    /*
     * Dirty log: one bit per target page, set with atomic or by every CPU
     * store and device write while logging is on (see memory_dirty_log_*).
     * Allocated with the block.
     */
    unsigned long *dirty_log;
    /*
     * The block was created zero and dirty_log has held every write since
     * (GLOBAL_DIRTY_BOOT); cleared by the first sync of its log and by
     * memory_boot_log_end().
     */
    bool boot_log;
    /*
     * Pages harvested out of dirty_log while boot_log was still on (by a
     * consumer other than migration): ramblock_take_boot_zero_map counts
     * them as written.  NULL until such a harvest; under dirty_log_lock.
     */
    unsigned long *boot_written;
    /*
     * Shared dirty log (system/dirty-log.c): one accumulated view per
     * active consumer (DirtyLogView), filled by every harvest, drained by
     * that consumer's own sync.  dirty_view_pending has bit V set when
     * view V may hold bits.  Under dirty_log_lock.
     */
    unsigned long *dirty_view[DIRTY_VIEW__MAX];
    unsigned dirty_view_pending;

    /* --- owned by migration/ --- */
    unsigned long *bmap;        /* migration dirty bitmap, target pages */
    unsigned long *clear_bmap;
    uint8_t clear_bmap_shift;
    unsigned long *receivedmap; /* destination: pages already placed */
    unsigned long *known_zero;  /* pages known to read as zero unread */
    unsigned long *file_bmap;
    bool postcopy_registered;
    bool postcopy_zeroable;     /* UFFDIO_ZEROPAGE works on this block */
    void *migration_opaque;

    QTAILQ_ENTRY(RAMBlock) next;
};

typedef struct MemoryRegionOps {
    /* Called with the BQL held.  @size is 1, 2, 4 or 8. */
    uint64_t (*read)(void *opaque, hwaddr addr, unsigned size);
    void (*write)(void *opaque, hwaddr addr, uint64_t data, unsigned size);
} MemoryRegionOps;

struct MemoryRegion {
    const char *name;
    hwaddr addr;                /* guest physical base */
    uint64_t size;
    RAMBlock *ram_block;        /* non-NULL for RAM regions */
    const MemoryRegionOps *ops; /* non-NULL for MMIO regions */
    void *opaque;
    QTAILQ_ENTRY(MemoryRegion) next;
};

/* ---------------------------------------------------------------- blocks */

typedef struct RAMBlockConfig {
    const char *name;          /* idstr */
    uint64_t size;
    bool shared;               /* share=on */
    bool prealloc;             /* prealloc=on or -mem-prealloc */
    const char *mem_path;      /* memory-backend-file: a file or a directory (hugetlbfs) */
    bool memfd;                /* memory-backend-memfd */
    bool hugetlb;              /* memfd hugetlb=on */
    uint64_t hugetlbsize;      /* memfd hugetlbsize=, 0 = default huge page size */
    bool seal;                 /* memfd seal=on: F_SEAL_GROW|SHRINK|SEAL */
    bool readonly_rom;         /* boot ROM */
} RAMBlockConfig;

/*
 * Create and map a RAMBlock (not yet in the guest address space).  The block
 * is madvised MADV_HUGEPAGE when it is private anonymous memory, as QEMU does,
 * and MADV_DONTDUMP is not applied.  Errors name the backend and the cause.
 */
RAMBlock *qemu_ram_alloc(const RAMBlockConfig *cfg, Error **errp);
void qemu_ram_free(RAMBlock *rb);

/* All blocks, in creation order. */
extern QTAILQ_HEAD(RAMBlockList, RAMBlock) ram_list;
#define RAMBLOCK_FOREACH(rb) QTAILQ_FOREACH(rb, &ram_list, next)

RAMBlock *qemu_ram_block_by_name(const char *name);
/* Block containing host pointer @ptr; sets *offset within the block. */
RAMBlock *qemu_ram_block_from_host(void *ptr, ram_addr_t *offset);
static inline bool offset_in_ramblock(RAMBlock *rb, uint64_t off)
{
    return rb && rb->host && off < rb->used_length;
}
static inline void *ramblock_ptr(RAMBlock *rb, ram_addr_t off)
{
    return rb->host + off;
}
uint64_t ram_bytes_total(void);
/* Sum over blocks of used_length rounded to target pages, in target pages. */
uint64_t ram_pages_total(void);
/* True if @rb is backed by MAP_SHARED memory */
static inline bool qemu_ram_is_shared(RAMBlock *rb)
{
    return rb->flags & RAM_SHARED;
}
size_t qemu_ram_pagesize(RAMBlock *rb);
/* OR of every block's page size, for the postcopy ADVISE summary. */
uint64_t qemu_ram_pagesize_summary(void);

/*
 * Drop the contents of [start, start+length) so that the next read sees
 * zeroes (or the file's contents for a private file mapping): MADV_DONTNEED
 * for private anonymous memory, fallocate(PUNCH_HOLE) for shared/file/
 * hugetlbfs memory (plus MADV_REMOVE/DONTNEED on the mapping as needed).
 * Returns 0 or -errno; start and length must be aligned to the page size.
 */
int ram_block_discard_range(RAMBlock *rb, uint64_t start, size_t length);

/* ---------------------------------------------------------------- map */

/* Map @rb at guest physical @base; the block gets a MemoryRegion. */
void memory_region_add_ram(const char *name, hwaddr base, RAMBlock *rb);
/* Map an MMIO device. */
void memory_region_add_io(const char *name, hwaddr base, uint64_t size,
                          const MemoryRegionOps *ops, void *opaque);
/* Find the region that contains @addr, or NULL. */
MemoryRegion *memory_region_find(hwaddr addr);

/*
 * Host pointer for guest RAM at [addr, addr+len) if the whole range is in
 * one RAM region, else NULL (MMIO or unmapped).  *rbp and *offp (if non-NULL)
 * receive the block and the offset in it.  Lock-free; the map is frozen once
 * the machine is built.
 */
void *memory_ram_ptr(hwaddr addr, uint64_t len, RAMBlock **rbp, ram_addr_t *offp);

/*
 * Read/write guest physical memory as a device or the monitor would (MMIO
 * dispatched, RAM copied and marked dirty).  Return false if any part is
 * unmapped (the part before the hole has been transferred).  MMIO is split
 * into naturally aligned little-endian accesses of 1, 2, 4 or 8 bytes.
 * Locking: the caller must hold the BQL whenever the range may touch MMIO
 * (device callbacks run under it); pure RAM accesses need no lock.
 */
bool address_space_read(hwaddr addr, void *buf, uint64_t len);
bool address_space_write(hwaddr addr, const void *buf, uint64_t len);

/* ---------------------------------------------------------------- dirty log */

/* Non-zero while the dirty log is on (set by migration, dirty-rate). */
extern unsigned global_dirty_tracking;

#define GLOBAL_DIRTY_MIGRATION  (1u << 0)
#define GLOBAL_DIRTY_DIRTY_RATE (1u << 1)
#define GLOBAL_DIRTY_LIMIT      (1u << 2)
/*
 * The boot log: on from the first RAM block until the first migration
 * (either side) takes it.  A block created zero (private anonymous memory
 * or a memfd of our own) whose log was never synced has recorded every
 * write since it was created, so a page whose bit is clear still reads as
 * zero and need not be read, even when it is populated (-mem-prealloc).
 * While it is on, every store pays the dirty-log test that migration pays.
 */
#define GLOBAL_DIRTY_BOOT       (1u << 3)

/*
 * Consumers of the log that keep an accumulated view (see
 * system/dirty-log.c and docs/devel/migration/dirty-rate.rst).  The log
 * itself (rb->dirty_log) is shared: a harvest moves it out once and ORs it
 * into the view of every active consumer, so no consumer steals pages
 * from another.  GLOBAL_DIRTY_MIGRATION owns DIRTY_VIEW_MIGRATION and
 * GLOBAL_DIRTY_DIRTY_RATE owns DIRTY_VIEW_DIRTY_RATE; GLOBAL_DIRTY_LIMIT
 * and GLOBAL_DIRTY_BOOT only keep logging on (they read the per-vCPU
 * counters, not the bitmap).  DirtyLogView is defined before RAMBlock.
 */

/*
 * Turn a user of the dirty log on or off (flags above).  Starting marks
 * nothing dirty; the caller (migration) marks all pages itself.  Starting
 * a flag that owns a view gives it an empty view; stopping drops it.
 */
void memory_global_dirty_log_start(unsigned flags);
void memory_global_dirty_log_stop(unsigned flags);

/*
 * Per-vCPU dirty counting: Godwit's answer to KVM's dirty ring.  Each
 * vCPU owns one DirtyCounter; its thread points current_dirty_counter at
 * it.  @pages counts the pages this vCPU turned from clean to dirty in the
 * log (one per page per harvest of the log, as a ring entry is one per
 * page per reset).  Only the owning thread writes it (relaxed atomic
 * stores), anyone reads it without a lock.  When @pages reaches @quota the
 * vCPU is asked to leave exec() (*exit_request), which is where the
 * dirty-limit throttle sleeps: the "ring full" exit.  Device writes and
 * incoming migration count for nobody.
 */
typedef struct DirtyCounter {
    uint64_t pages;
    uint64_t quota;             /* UINT64_MAX: no limit */
    bool *exit_request;
} DirtyCounter;

extern __thread DirtyCounter *current_dirty_counter;

/*
 * Mark [offset, offset+len) of @rb dirty if logging is on, counting every
 * clean-to-dirty transition in @dc (NULL: count for nobody).  Hot path.
 */
static inline void memory_set_dirty_by(RAMBlock *rb, ram_addr_t offset,
                                       uint64_t len, DirtyCounter *dc)
{
    if (likely(!qatomic_read(&global_dirty_tracking))) {
        return;
    }
    unsigned long first = offset >> TARGET_PAGE_BITS;
    unsigned long last = (offset + len - 1) >> TARGET_PAGE_BITS;
    for (unsigned long p = first; p <= last; p++) {
        unsigned long *w = &rb->dirty_log[p / (8 * sizeof(unsigned long))];
        unsigned long m = 1UL << (p % (8 * sizeof(unsigned long)));
        if (!(qatomic_read(w) & m)) {
            if (!(qatomic_fetch_or(w, m) & m) && dc) {
                uint64_t n = dc->pages + 1;

                qatomic_set(&dc->pages, n);
                if (unlikely(n >= qatomic_read(&dc->quota))) {
                    qatomic_set(dc->exit_request, true);
                }
            }
        }
    }
}

/* As memory_set_dirty_by, counted for the calling vCPU thread (if any). */
static inline void memory_set_dirty(RAMBlock *rb, ram_addr_t offset, uint64_t len)
{
    memory_set_dirty_by(rb, offset, len, current_dirty_counter);
}

/*
 * If @rb is boot-logged: clear its dirty log and set in @dest (one bit per
 * target page of used_length) the pages nothing wrote since the block was
 * created zero, in one atomic step per word, and return true.  A write
 * after that is in the log again, so the caller must forget @dest at its
 * next sync.  Clearing the log is a sync into an all-dirty bitmap: call it
 * only where every page is about to be sent or loaded anyway.  Returns
 * false (@dest untouched) when the block is not boot-logged.
 */
bool ramblock_take_boot_zero_map(RAMBlock *rb, unsigned long *dest);

/*
 * End the boot log for every block (called by the first migration on either
 * side, which takes the maps first; an incoming stream writes guest RAM
 * without logging).  Later blocks are not boot-logged.
 */
void memory_boot_log_end(void);

/*
 * Move the dirty log of @rb into @dest (OR), clearing the log, for pages
 * [start_page, start_page+npages).  Returns the number of bits that were
 * newly set in @dest.  Called by migration_bitmap_sync without the BQL.
 */
uint64_t ramblock_sync_dirty_log(RAMBlock *rb, unsigned long *dest,
                                 unsigned long start_page, unsigned long npages);

/*
 * The same for consumer @view (ramblock_sync_dirty_log is the migration
 * view's): move what @view has accumulated for [start_page,
 * start_page+npages) and what the log holds now into @dest.  Every page
 * written since @view's previous sync of that range is in @dest exactly
 * once, whatever other consumers synced meanwhile.  When @view is the only
 * active view this is the direct move of the log (no copy).  Any thread;
 * serialised with other harvests by an internal lock.
 */
uint64_t ramblock_sync_dirty_log_view(RAMBlock *rb, DirtyLogView view,
                                      unsigned long *dest,
                                      unsigned long start_page,
                                      unsigned long npages);

/*
 * Harvest the whole log of every block into every active view (and
 * clear it), so that the per-vCPU counters count pages written again from
 * now on.  Called periodically by the dirty-limit thread and the
 * dirty-ring mode of calc-dirty-rate (the reaper of a KVM dirty ring).
 */
void memory_dirty_log_harvest(void);

#endif
