/*
 * The XBZRLE page cache: copies of the pages last sent, keyed by their
 * address in the RAM address space (ram_addr_t: block offset + offset in
 * the block), so that a page sent again can be sent as a delta.
 *
 * Direct mapped: page address A lives in slot (A / page_size) mod n, n =
 * cache size / page size (a power of two).  Each slot remembers the age
 * (dirty-sync count) at which it was last used; an insert does not evict
 * a different page used less than PAGE_CACHE_LIFETIME syncs ago, so pages
 * that are re-dirtied every round keep their place against a stream of
 * pages dirtied once.
 *
 * Not thread safe: the owner (migration/ram-xbzrle.c) serialises every
 * use, including page_cache_resize() from migrate-set-parameters.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_PAGE_CACHE_H
#define MIGRATION_PAGE_CACHE_H

#include "qemu/osdep.h"

/* Syncs during which a used slot is not taken by another page. */
#define PAGE_CACHE_LIFETIME 2

typedef struct PageCache PageCache;

/*
 * A cache of @cache_size bytes of @page_size pages.  @cache_size must be a
 * power-of-two multiple of @page_size (a power of two).  The page memory
 * is reserved, not touched: a slot costs memory once it is used.  NULL
 * with @errp set when the size is wrong or the memory cannot be had.
 */
PageCache *page_cache_new(uint64_t cache_size, size_t page_size,
                          Error **errp);
void page_cache_free(PageCache *c);

/* Size in bytes and number of slots. */
uint64_t page_cache_size(const PageCache *c);
size_t page_cache_slots(const PageCache *c);

/*
 * The cached copy of page @addr (page aligned), or NULL.  A hit marks the
 * slot used at @age.
 */
uint8_t *page_cache_lookup(PageCache *c, uint64_t addr, uint64_t age);

/*
 * Store a copy of @data as page @addr, used at @age, and return the
 * cached copy.  NULL when the slot holds another page used within the
 * last PAGE_CACHE_LIFETIME syncs (nothing is changed then).
 */
uint8_t *page_cache_insert(PageCache *c, uint64_t addr, const uint8_t *data,
                           uint64_t age);

/* Forget page @addr if it is cached. */
void page_cache_drop(PageCache *c, uint64_t addr);

/*
 * A cache of @new_size bytes holding what @c holds (where two pages meet
 * in one slot of a smaller cache, the more recently used one stays).
 * @c is freed on success and left alone on failure (NULL, @errp set).
 */
PageCache *page_cache_resize(PageCache *c, uint64_t new_size, Error **errp);

/* Number of pages cached (tests, traces). */
size_t page_cache_count(const PageCache *c);

#endif
