/*
 * The XBZRLE page cache (see page_cache.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/host-utils.h"
#include "migration/page_cache.h"
#include "trace.h"

typedef struct PageCacheSlot {
    uint64_t addr;
    uint64_t age;
    bool used;
} PageCacheSlot;

struct PageCache {
    PageCacheSlot *slots;
    uint8_t *data;           /* slots x page_size bytes, in @map */
    void *map;               /* the mapping holding @data */
    size_t map_size;
    size_t nslots;           /* a power of two */
    size_t page_size;
    unsigned page_bits;
    size_t count;            /* used slots */
};

/*
 * The page memory: reserved, not touched (a slot costs memory once used).
 * Its own anonymous mapping, aligned to 2 MiB and offered to transparent
 * huge pages: the cache fills up while the first pass runs, and taking a
 * fault per 4 KiB slot there cost more than the copies themselves (about
 * 15 us each on a paravirtualised host, 0.2 s for a 64 MiB cache).
 */
#define PAGE_CACHE_MAP_ALIGN (2 * 1024 * 1024)

static void page_cache_map(PageCache *c, uint64_t size)
{
    size_t len = size + PAGE_CACHE_MAP_ALIGN;
    uint8_t *p;

    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED) {
        return;
    }
    c->map = p;
    c->map_size = len;
    c->data = (uint8_t *)QEMU_ALIGN_UP((uintptr_t)p, PAGE_CACHE_MAP_ALIGN);
#ifdef MADV_HUGEPAGE
    /* advice only: without THP the cache works the same, slower to fill */
    (void)madvise(c->data, size, MADV_HUGEPAGE);
#endif
}

PageCache *page_cache_new(uint64_t cache_size, size_t page_size,
                          Error **errp)
{
    PageCache *c;
    uint64_t n;

    assert(page_size && is_power_of_2(page_size));
    if (cache_size < page_size) {
        error_setg(errp, "xbzrle cache size %" PRIu64 " is smaller than one "
                   "page (%zu bytes)", cache_size, page_size);
        return NULL;
    }
    n = cache_size / page_size;
    if (!is_power_of_2(n) || cache_size % page_size) {
        error_setg(errp, "xbzrle cache size %" PRIu64 " is not a power of "
                   "two number of %zu-byte pages", cache_size, page_size);
        return NULL;
    }
    if (cache_size != (size_t)cache_size || n > SIZE_MAX / sizeof(PageCacheSlot)) {
        error_setg(errp, "xbzrle cache size %" PRIu64 " exceeds the address "
                   "space", cache_size);
        return NULL;
    }
    /*
     * Never ask the allocator for more than the host has: such a request
     * fails at best, and aborts under sanitizers or strict overcommit.
     */
    {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

        if (pages > 0 && psize > 0 &&
            cache_size > (uint64_t)pages * (uint64_t)psize) {
            error_setg(errp, "xbzrle cache size %" PRIu64 " exceeds the "
                       "host's memory (%" PRIu64 " bytes)", cache_size,
                       (uint64_t)pages * (uint64_t)psize);
            return NULL;
        }
    }
    c = g_new0(PageCache, 1);
    c->nslots = n;
    c->page_size = page_size;
    c->page_bits = ctz64(page_size);
    c->slots = g_try_new0(PageCacheSlot, n);
    page_cache_map(c, cache_size);
    if (!c->slots || !c->data) {
        error_setg(errp, "xbzrle: cannot allocate a page cache of %" PRIu64
                   " bytes", cache_size);
        page_cache_free(c);
        return NULL;
    }
    trace_page_cache_new(cache_size, n);
    return c;
}

void page_cache_free(PageCache *c)
{
    if (c) {
        g_free(c->slots);
        if (c->map) {
            munmap(c->map, c->map_size);
        }
        g_free(c);
    }
}

uint64_t page_cache_size(const PageCache *c)
{
    return (uint64_t)c->nslots * c->page_size;
}

size_t page_cache_slots(const PageCache *c)
{
    return c->nslots;
}

size_t page_cache_count(const PageCache *c)
{
    return c->count;
}

static inline size_t slot_of(const PageCache *c, uint64_t addr)
{
    return (addr >> c->page_bits) & (c->nslots - 1);
}

static inline uint8_t *slot_data(const PageCache *c, size_t i)
{
    return c->data + i * c->page_size;
}

uint8_t *page_cache_lookup(PageCache *c, uint64_t addr, uint64_t age)
{
    size_t i = slot_of(c, addr);
    PageCacheSlot *s = &c->slots[i];

    if (!s->used || s->addr != addr) {
        return NULL;
    }
    s->age = age;
    return slot_data(c, i);
}

uint8_t *page_cache_insert(PageCache *c, uint64_t addr, const uint8_t *data,
                           uint64_t age)
{
    size_t i = slot_of(c, addr);
    PageCacheSlot *s = &c->slots[i];

    if (s->used && s->addr != addr && s->age + PAGE_CACHE_LIFETIME > age) {
        return NULL;            /* a fresh page of its own lives here */
    }
    if (!s->used) {
        c->count++;
    }
    s->used = true;
    s->addr = addr;
    s->age = age;
    memcpy(slot_data(c, i), data, c->page_size);
    return slot_data(c, i);
}

void page_cache_drop(PageCache *c, uint64_t addr)
{
    PageCacheSlot *s = &c->slots[slot_of(c, addr)];

    if (s->used && s->addr == addr) {
        s->used = false;
        c->count--;
    }
}

PageCache *page_cache_resize(PageCache *c, uint64_t new_size, Error **errp)
{
    PageCache *n = page_cache_new(new_size, c->page_size, errp);

    if (!n) {
        return NULL;
    }
    for (size_t i = 0; i < c->nslots; i++) {
        const PageCacheSlot *s = &c->slots[i];
        size_t j;

        if (!s->used) {
            continue;
        }
        j = slot_of(n, s->addr);
        if (n->slots[j].used) {
            if (n->slots[j].age >= s->age) {
                continue;
            }
        } else {
            n->count++;
        }
        n->slots[j] = *s;
        memcpy(slot_data(n, j), slot_data(c, i), c->page_size);
    }
    trace_page_cache_resize(page_cache_size(c), new_size, c->count, n->count);
    page_cache_free(c);
    return n;
}
