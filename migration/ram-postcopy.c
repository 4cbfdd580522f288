/*
 * RAM migration, the postcopy parts (docs/devel/migration/postcopy.rst):
 *
 * Source, at the switch (VM stopped, after the last bitmap sync):
 *   - every block's migration bitmap is canonicalised to host pages: a
 *     host page with any bit set gets all its bits set, so that it is sent
 *     again whole (the destination places host pages atomically);
 *   - the set bits (pages never sent, and pages dirtied after they were
 *     sent) go to the destination as POSTCOPY_RAM_DISCARD byte ranges, at
 *     most 12 per command;
 *   - with release-ram, every host page already sent is given back.
 *
 * Destination, in the listen thread: ZERO and PAGE records are gathered
 * per host page in a buffer and the host page is placed atomically when
 * its last target page arrived (a target-size page at once).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "exec/memory.h"
#include "migration/qemu-file.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/migration.h"
#include "migration/postcopy-ram.h"
#include "migration/savevm.h"
#include "migration/ram.h"
#include "trace.h"

static unsigned long rp_block_pages(RAMBlock *rb)
{
    return rb->used_length >> TARGET_PAGE_BITS;
}

/* ------------------------------------------------------------ source */

/* Set every bit of each host page that has any bit set; count new bits. */
static uint64_t ram_postcopy_canonicalise(RAMBlock *rb)
{
    unsigned long hp = rb->page_size >> TARGET_PAGE_BITS;
    unsigned long pages = rp_block_pages(rb), page = 0;
    uint64_t added = 0;

    if (hp <= 1) {
        return 0;
    }
    while ((page = find_next_bit(rb->bmap, pages, page)) < pages) {
        unsigned long first = QEMU_ALIGN_DOWN(page, hp);
        unsigned long end = MIN(first + hp, pages);

        for (unsigned long p = first; p < end; p++) {
            if (!test_and_set_bit(p, rb->bmap)) {
                added++;
            }
        }
        page = end;
    }
    trace_ram_postcopy_canonicalise(rb->idstr, added);
    return added;
}

/* Batches the ranges of one block into POSTCOPY_RAM_DISCARD commands. */
typedef struct DiscardBatch {
    QEMUFile *f;
    const char *name;
    unsigned n;
    uint64_t starts[MIG_CMD_POSTCOPY_RAM_DISCARD_MAX_RANGES];
    uint64_t lens[MIG_CMD_POSTCOPY_RAM_DISCARD_MAX_RANGES];
    uint64_t ranges;
} DiscardBatch;

static void discard_flush(DiscardBatch *b)
{
    if (b->n) {
        qemu_savevm_send_postcopy_ram_discard(b->f, b->name, b->n, b->starts,
                                              b->lens);
        b->n = 0;
    }
}

static void discard_add(DiscardBatch *b, uint64_t start, uint64_t len)
{
    b->starts[b->n] = start;
    b->lens[b->n] = len;
    b->ranges++;
    if (++b->n == MIG_CMD_POSTCOPY_RAM_DISCARD_MAX_RANGES) {
        discard_flush(b);
    }
}

uint64_t ram_postcopy_discard_send(QEMUFile *f)
{
    uint64_t added = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        DiscardBatch b = { .f = f, .name = rb->idstr };
        unsigned long pages, page = 0;

        if (ramblock_is_ignored(rb) || !rb->bmap) {
            continue;
        }
        added += ram_postcopy_canonicalise(rb);
        pages = rp_block_pages(rb);
        while ((page = find_next_bit(rb->bmap, pages, page)) < pages) {
            unsigned long end = find_next_zero_bit(rb->bmap, pages, page);

            discard_add(&b, (uint64_t)page << TARGET_PAGE_BITS,
                        (uint64_t)(end - page) << TARGET_PAGE_BITS);
            page = end;
        }
        discard_flush(&b);
        trace_ram_postcopy_discard_send(rb->idstr, b.ranges);
    }
    return added;
}

void ram_postcopy_migrated_memory_release(void)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        unsigned long pages, page = 0;
        uint64_t released = 0;

        if (ramblock_is_ignored(rb) || !rb->bmap) {
            continue;
        }
        pages = rp_block_pages(rb);
        /* canonicalised: a host page is all clean (sent) or all dirty */
        while ((page = find_next_zero_bit(rb->bmap, pages, page)) < pages) {
            unsigned long end = find_next_bit(rb->bmap, pages, page);
            uint64_t start = (uint64_t)page << TARGET_PAGE_BITS;
            uint64_t len = (uint64_t)(end - page) << TARGET_PAGE_BITS;

            if (QEMU_IS_ALIGNED(start, rb->page_size) &&
                QEMU_IS_ALIGNED(len, rb->page_size) &&
                ram_block_discard_range(rb, start, len) == 0) {
                released += len;
            }
            page = end;
        }
        trace_ram_postcopy_migrated_memory_release(rb->idstr, released);
    }
}

/* ------------------------------------------------------------ destination */

/*
 * The host page being gathered.  Owned by the listen thread.  @buf holds
 * the largest host page; target pages arrive in order, @got of them.
 */
struct RamPostcopyLoad {
    RAMBlock *last_recv_block;  /* for RAM_SAVE_FLAG_CONTINUE */
    RAMBlock *rb;               /* block of the host page being gathered */
    uint64_t hp_offset;         /* its offset in the block */
    unsigned long got;          /* target pages gathered */
    bool all_zero;
    uint8_t *buf;
    size_t buf_size;
};

RamPostcopyLoad *ram_postcopy_load_new(RAMBlock *last_block)
{
    RamPostcopyLoad *pl = g_new0(RamPostcopyLoad, 1);

    pl->last_recv_block = last_block;
    pl->buf_size = postcopy_max_page_size();
    pl->buf = g_malloc(pl->buf_size);
    return pl;
}

void ram_postcopy_load_reset(RamPostcopyLoad *pl)
{
    if (pl) {
        pl->got = 0;
        pl->rb = NULL;
        pl->last_recv_block = NULL;
    }
}

void ram_postcopy_load_free(RamPostcopyLoad *pl)
{
    if (pl) {
        g_free(pl->buf);
        g_free(pl);
    }
}

/* Gather one record (page data already in @data, or zero); place when the
 * host page is complete. */
static int ram_postcopy_gather(RamPostcopyLoad *pl, RAMBlock *rb,
                               uint64_t addr, const uint8_t *data,
                               Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    unsigned long hp = rb->page_size >> TARGET_PAGE_BITS;
    uint64_t hp_offset = QEMU_ALIGN_DOWN(addr, rb->page_size);
    uint64_t in_page = addr - hp_offset;
    bool ok;

    if (pl->got == 0) {
        if (in_page != 0) {
            error_setg(errp, "ram: postcopy page 0x%" PRIx64 " of block %s "
                       "does not start its host page (0x%zx bytes)", addr,
                       rb->idstr, rb->page_size);
            return -EINVAL;
        }
        pl->rb = rb;
        pl->hp_offset = hp_offset;
        pl->all_zero = true;
    } else if (rb != pl->rb || hp_offset != pl->hp_offset ||
               in_page != (uint64_t)pl->got << TARGET_PAGE_BITS) {
        error_setg(errp, "ram: Non-same host page detected: page 0x%" PRIx64
                   " of block %s while host page 0x%" PRIx64 " of block %s "
                   "has %lu of %lu target pages", addr, rb->idstr,
                   pl->hp_offset, pl->rb->idstr, pl->got, hp);
        return -EINVAL;
    }
    if (hp == 1) {
        /* a target-size host page: placed straight from the stream */
        pl->got = 0;
        ok = data ? postcopy_place_page(mis, rb, hp_offset, (void *)data, errp)
                  : postcopy_place_zero_page(mis, rb, hp_offset, errp);
        return ok ? 0 : -EIO;
    }
    if (data) {
        if (data != pl->buf + in_page) {
            memcpy(pl->buf + in_page, data, TARGET_PAGE_SIZE);
        }
        pl->all_zero = false;
    } else {
        memset(pl->buf + in_page, 0, TARGET_PAGE_SIZE);
    }
    if (++pl->got < hp) {
        return 0;
    }
    pl->got = 0;
    if (pl->all_zero) {
        ok = postcopy_place_zero_page(mis, rb, hp_offset, errp);
    } else {
        ok = postcopy_place_page(mis, rb, hp_offset, pl->buf, errp);
    }
    return ok ? 0 : -EIO;
}

static int ram_postcopy_record(QEMUFile *f, RamPostcopyLoad *pl,
                               uint64_t addr, int flags, uint64_t pos,
                               Error **errp)
{
    const char *what = flags & RAM_SAVE_FLAG_ZERO ? "a ZERO record"
                                                 : "a PAGE record";
    uint8_t *data = pl->buf;
    RAMBlock *rb;

    rb = ram_load_record_block(f, &pl->last_recv_block, flags, what, pos,
                               errp);
    if (!rb) {
        return -EINVAL;
    }
    if (ramblock_is_ignored(rb) || !rb->host ||
        addr >= rb->used_length ||
        rb->used_length - addr < TARGET_PAGE_SIZE) {
        error_setg(errp, "ram: page 0x%" PRIx64 " is outside block %s "
                   "(used length 0x%" PRIx64 ") in %s at offset %" PRIu64,
                   addr, rb->idstr, (uint64_t)rb->used_length, what, pos);
        return -EINVAL;
    }
    if (flags & RAM_SAVE_FLAG_ZERO) {
        int fill = qemu_get_byte(f);

        if (qemu_file_get_error_obj(f, errp)) {
            return -EIO;
        }
        if (fill != 0) {
            error_setg(errp, "ram: zero page 0x%" PRIx64 " of block %s has "
                       "fill byte 0x%02x (must be 0) at offset %" PRIu64,
                       addr, rb->idstr, fill, pos);
            return -EINVAL;
        }
        return ram_postcopy_gather(pl, rb, addr, NULL, errp);
    }
    /* gather straight into the buffer when it is a huge page */
    if (rb->page_size > TARGET_PAGE_SIZE) {
        uint64_t in_page = addr & (rb->page_size - 1);

        if (pl->got && in_page == (uint64_t)pl->got << TARGET_PAGE_BITS &&
            rb == pl->rb) {
            data = pl->buf + in_page;
        }
    }
    if (qemu_get_buffer_in_place(f, &data, TARGET_PAGE_SIZE) !=
        TARGET_PAGE_SIZE) {
        qemu_file_get_error_obj(f, errp);
        error_prepend(errp, "ram: reading page 0x%" PRIx64 " of block %s: ",
                      addr, rb->idstr);
        return -EIO;
    }
    return ram_postcopy_gather(pl, rb, addr, data, errp);
}

int ram_load_postcopy(QEMUFile *f, RamPostcopyLoad *pl, Error **errp)
{
    for (;;) {
        uint64_t pos = qemu_file_transferred(f);
        uint64_t word = qemu_get_be64(f);
        uint64_t addr = word & TARGET_PAGE_MASK;
        int flags = word & ~TARGET_PAGE_MASK;
        int ret;

        if (qemu_file_get_error_obj(f, errp)) {
            error_prepend(errp, "ram: reading a postcopy record at offset %"
                          PRIu64 ": ", pos);
            return -EIO;
        }
        trace_ram_load_postcopy_record(flags, addr);
        switch (flags & ~RAM_SAVE_FLAG_CONTINUE) {
        case RAM_SAVE_FLAG_ZERO:
        case RAM_SAVE_FLAG_PAGE:
            ret = ram_postcopy_record(f, pl, addr, flags, pos, errp);
            if (ret < 0) {
                return ret;
            }
            break;
        case RAM_SAVE_FLAG_EOS:
            if (flags & RAM_SAVE_FLAG_CONTINUE) {
                goto bad;
            }
            return 0;
        default:
            goto bad;
        }
        continue;
bad:
        error_setg(errp, "ram: flags 0x%x are not allowed in postcopy "
                   "(record 0x%" PRIx64 " at offset %" PRIu64 ")", flags,
                   word, pos);
        return -EINVAL;
    }
}
