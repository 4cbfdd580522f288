/*
 * The guest physical memory map: RAM and MMIO regions, lookups, and the
 * generic read/write used by devices, loaders, the monitor and qtest.
 *
 * The map is a small array of regions sorted by base address.  Regions are
 * added while the machine is built; each addition publishes a new array
 * (the old one is kept, so a concurrent lock-free reader never sees freed
 * memory).  After machine init the map does not change, so lookups need no
 * lock at all.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "exec/memory.h"
#include "trace.h"

typedef struct MemoryMap {
    unsigned n;
    MemoryRegion *regions[];   /* sorted by addr, non-overlapping */
} MemoryMap;

static MemoryMap empty_map;
static MemoryMap *current_map = &empty_map;
/* every map ever published, freed never (a handful of small arrays) */
static GPtrArray *old_maps;
static GMutex map_lock;

static MemoryMap *map_get(void)
{
    return qatomic_load_acquire(&current_map);
}

static void map_insert(MemoryRegion *mr)
{
    MemoryMap *old, *map;
    unsigned i, j;

    g_mutex_lock(&map_lock);
    old = current_map;
    for (i = 0; i < old->n; i++) {
        MemoryRegion *o = old->regions[i];

        if (mr->addr < o->addr + o->size && o->addr < mr->addr + mr->size) {
            error_report("memory region '%s' [0x%" HWADDR_PRIx ", +0x%" PRIx64
                         ") overlaps '%s' [0x%" HWADDR_PRIx ", +0x%" PRIx64 ")",
                         mr->name, mr->addr, mr->size, o->name, o->addr,
                         o->size);
            abort();
        }
    }
    map = g_malloc(sizeof(*map) + (old->n + 1) * sizeof(map->regions[0]));
    map->n = old->n + 1;
    for (i = 0, j = 0; i < old->n && old->regions[i]->addr < mr->addr; i++) {
        map->regions[j++] = old->regions[i];
    }
    map->regions[j++] = mr;
    for (; i < old->n; i++) {
        map->regions[j++] = old->regions[i];
    }
    if (!old_maps) {
        old_maps = g_ptr_array_new();
    }
    if (old != &empty_map) {
        g_ptr_array_add(old_maps, old);
    }
    qatomic_store_release(&current_map, map);
    g_mutex_unlock(&map_lock);
}

void memory_region_add_ram(const char *name, hwaddr base, RAMBlock *rb)
{
    MemoryRegion *mr = g_new0(MemoryRegion, 1);

    mr->name = g_strdup(name);
    mr->addr = base;
    mr->size = rb->used_length;
    mr->ram_block = rb;
    rb->mr = mr;
    rb->mr_addr = base;
    map_insert(mr);
    trace_memory_region_add(mr->name, base, mr->size, "ram");
}

void memory_region_add_io(const char *name, hwaddr base, uint64_t size,
                          const MemoryRegionOps *ops, void *opaque)
{
    MemoryRegion *mr = g_new0(MemoryRegion, 1);

    assert(ops && size);
    mr->name = g_strdup(name);
    mr->addr = base;
    mr->size = size;
    mr->ops = ops;
    mr->opaque = opaque;
    map_insert(mr);
    trace_memory_region_add(mr->name, base, size, "io");
}

static MemoryRegion *map_find(MemoryMap *map, hwaddr addr)
{
    unsigned lo = 0, hi = map->n;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        MemoryRegion *mr = map->regions[mid];

        if (addr < mr->addr) {
            hi = mid;
        } else if (addr - mr->addr >= mr->size) {
            lo = mid + 1;
        } else {
            return mr;
        }
    }
    return NULL;
}

MemoryRegion *memory_region_find(hwaddr addr)
{
    return map_find(map_get(), addr);
}

void *memory_ram_ptr(hwaddr addr, uint64_t len, RAMBlock **rbp, ram_addr_t *offp)
{
    MemoryRegion *mr = map_find(map_get(), addr);
    ram_addr_t off;

    if (!mr || !mr->ram_block) {
        return NULL;
    }
    off = addr - mr->addr;
    if (len > mr->size - off) {
        return NULL;
    }
    if (rbp) {
        *rbp = mr->ram_block;
    }
    if (offp) {
        *offp = off;
    }
    return mr->ram_block->host + off;
}

/* Largest naturally aligned access (8/4/2/1) that fits at @addr. */
static unsigned mmio_access_size(hwaddr addr, uint64_t len)
{
    unsigned size = 8;

    while (size > 1 && (len < size || (addr & (size - 1)))) {
        size >>= 1;
    }
    return size;
}

/*
 * Walk [addr, addr+len) region by region.  RAM is copied directly; MMIO is
 * split into naturally aligned little-endian accesses of 1, 2, 4 or 8 bytes.
 * The caller holds the BQL whenever the range may touch MMIO.
 */
static bool address_space_rw(hwaddr addr, uint8_t *buf, uint64_t len,
                             bool is_write)
{
    MemoryMap *map = map_get();

    while (len) {
        MemoryRegion *mr = map_find(map, addr);
        uint64_t off, chunk;

        if (!mr) {
            trace_address_space_unmapped(addr, len, is_write);
            return false;
        }
        off = addr - mr->addr;
        chunk = MIN(len, mr->size - off);
        if (mr->ram_block) {
            RAMBlock *rb = mr->ram_block;

            if (is_write) {
                memcpy(rb->host + off, buf, chunk);
                /* a device or the monitor: counts for no vCPU */
                memory_set_dirty_by(rb, off, chunk, NULL);
            } else {
                memcpy(buf, rb->host + off, chunk);
            }
        } else {
            uint64_t done = 0;

            while (done < chunk) {
                unsigned size = mmio_access_size(off + done, chunk - done);
                uint64_t val = 0;

                if (is_write) {
                    for (unsigned i = 0; i < size; i++) {
                        val |= (uint64_t)buf[done + i] << (8 * i);
                    }
                    if (mr->ops->write) {
                        mr->ops->write(mr->opaque, off + done, val, size);
                    }
                } else {
                    if (mr->ops->read) {
                        val = mr->ops->read(mr->opaque, off + done, size);
                    }
                    for (unsigned i = 0; i < size; i++) {
                        buf[done + i] = val >> (8 * i);
                    }
                }
                done += size;
            }
        }
        addr += chunk;
        buf += chunk;
        len -= chunk;
    }
    return true;
}

bool address_space_read(hwaddr addr, void *buf, uint64_t len)
{
    return address_space_rw(addr, buf, len, false);
}

bool address_space_write(hwaddr addr, const void *buf, uint64_t len)
{
    return address_space_rw(addr, (uint8_t *)buf, len, true);
}
