/*
 * RAM migration, the loading side of the "ram" section (version 4): the
 * block list, page, zero and XBZRLE/compressed records, zero runs read
 * without being written, and the hand-over to the postcopy loader.
 * docs/devel/migration/ram.rst has the byte layouts; ram.c sends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/cutils.h"
#include "qemu/thread.h"
#include "exec/memory.h"
#include "migration/register.h"
#include "migration/qemu-file.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/migration.h"
#include "migration/migration-stats.h"
#include "migration/ram.h"
#include "migration/ram-internal.h"
#include "migration/rdma.h"
#include "migration/ram-zero.h"
#include "migration/postcopy-ram.h"
#include "migration/ram-xbzrle.h"
#include "migration/ram-compress.h"
#include "migration/ram-throttle.h"
#include "migration/migration-convergence.h"
#include "migration/multifd.h"
#include "migration/dirtyrate.h"
#include "sysemu/runstate.h"
#include "trace.h"

/* ------------------------------------------------------------ handlers: load */

int ram_load_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RAMMigration *rm = opaque;
    RAMBlock *rb;

    if (rm->load) {
        ram_decompress_cleanup(rm->load->decomp);
    }
    g_free(rm->load);
    rm->load = g_new0(RAMLoadState, 1);
    if (migrate_compress()) {
        rm->load->decomp = ram_decompress_setup(errp);
        if (!rm->load->decomp) {
            g_free(rm->load);
            rm->load = NULL;
            return -ENOMEM;
        }
    }
    RAMBLOCK_FOREACH(rb) {
        g_free(rb->receivedmap);
        rb->receivedmap = bitmap_new(ramblock_pages(rb));
    }
    /*
     * Pages nothing wrote since their block was created read as zero: a
     * ZERO record there needs neither a read nor a write, even when the
     * memory is populated (-mem-prealloc).  The stream writes guest RAM
     * without logging, so the boot log ends here.
     */
    /*
     * Not with multifd: its channel threads write pages this thread does
     * not see, so a later ZERO record could be skipped on a written page.
     * (The pagemap probe still answers: a written page is present.)
     */
    if (!migrate_multifd()) {
        RAMBLOCK_FOREACH_MIGRATABLE(rb) {
            ram_take_known_zero(rb);
        }
    }
    memory_boot_log_end();
    return 0;
}

int ram_load_cleanup(void *opaque)
{
    RAMMigration *rm = opaque;
    RAMBlock *rb;

    if (rm->load) {
        /* first: the threads may still be writing guest RAM */
        ram_decompress_cleanup(rm->load->decomp);
        ram_postcopy_load_free(rm->load->postcopy);
    }
    g_free(rm->load);
    rm->load = NULL;
    RAMBLOCK_FOREACH(rb) {
        g_free(rb->receivedmap);
        rb->receivedmap = NULL;
    }
    ram_known_zero_free();
    return 0;
}

/* Read a counted block name and find the block; NULL with @errp set. */
RAMBlock *ram_load_block_name(QEMUFile *f, const char *what, Error **errp)
{
    char name[QEMU_VM_COUNTED_STRING_MAX + 1];
    uint64_t pos = qemu_file_transferred(f);
    size_t len = qemu_get_counted_string(f, name);
    RAMBlock *rb;

    if (qemu_file_get_error(f)) {
        qemu_file_get_error_obj(f, errp);
        error_prepend(errp, "ram: reading the block name of %s at offset %"
                      PRIu64 ": ", what, pos);
        return NULL;
    }
    if (len == 0 || len != strlen(name)) {
        error_setg(errp, "ram: bad block name (length %zu) in %s at offset %"
                   PRIu64, len, what, pos);
        return NULL;
    }
    rb = qemu_ram_block_by_name(name);
    if (!rb) {
        error_setg(errp, "ram: unknown ramblock \"%s\" in %s at offset %"
                   PRIu64 ", cannot accept migration", name, what, pos);
        return NULL;
    }
    return rb;
}

RAMBlock *ram_load_record_block(QEMUFile *f, RAMBlock **last, int flags,
                                const char *what, uint64_t pos, Error **errp)
{
    RAMBlock *rb;

    if (flags & RAM_SAVE_FLAG_CONTINUE) {
        if (!*last) {
            error_setg(errp, "ram: CONTINUE with no previous block in %s at "
                       "offset %" PRIu64, what, pos);
        }
        return *last;
    }
    rb = ram_load_block_name(f, what, errp);
    if (rb) {
        *last = rb;
    }
    return rb;
}

static int ram_load_block_list(QEMUFile *f, uint64_t total, Error **errp)
{
    uint64_t seen = 0;

    trace_ram_load_block_list(total);
    while (seen < total) {
        RAMBlock *rb = ram_load_block_name(f, "the MEM_SIZE list", errp);
        uint64_t length;

        if (!rb) {
            error_prepend(errp, "after 0x%" PRIx64 " of 0x%" PRIx64
                          " announced bytes: ", seen, total);
            return -EINVAL;
        }
        length = qemu_get_be64(f);
        if (qemu_file_get_error_obj(f, errp)) {
            error_prepend(errp, "ram: MEM_SIZE entry of block %s: ",
                          rb->idstr);
            return -EIO;
        }
        if (length != rb->used_length) {
            error_setg(errp, "ram: block %s has length 0x%" PRIx64 " in the "
                       "stream but 0x%" PRIx64 " here (resizing is not "
                       "supported)", rb->idstr, length, rb->used_length);
            return -EINVAL;
        }
        if (length > total - seen) {
            error_setg(errp, "ram: MEM_SIZE list: block %s (0x%" PRIx64
                       ") goes past the announced total 0x%" PRIx64,
                       rb->idstr, length, total);
            return -EINVAL;
        }
        if (!rdma_block_notify(f, rb->idstr, errp)) {
            return -EINVAL;
        }
        /* After POSTCOPY_ADVISE, a huge-page block carries its page size. */
        if (postcopy_state_get() != POSTCOPY_INCOMING_NONE &&
            migrate_postcopy_ram() &&
            rb->page_size != qemu_real_host_page_size) {
            uint64_t remote = qemu_get_be64(f);

            if (qemu_file_get_error_obj(f, errp)) {
                error_prepend(errp, "ram: MEM_SIZE page size of block %s: ",
                              rb->idstr);
                return -EIO;
            }
            if (remote != rb->page_size) {
                error_setg(errp, "Mismatched RAM page size %s (local) 0x%zx "
                           "!= 0x%" PRIx64, rb->idstr, rb->page_size, remote);
                return -EINVAL;
            }
        }
        if (migrate_ignore_shared()) {
            uint64_t addr = qemu_get_be64(f);
            hwaddr local = rb->mr ? rb->mr->addr : rb->mr_addr;

            if (qemu_file_get_error_obj(f, errp)) {
                error_prepend(errp, "ram: MEM_SIZE entry of block %s: ",
                              rb->idstr);
                return -EIO;
            }
            if (ramblock_is_ignored(rb) && addr != local) {
                error_setg(errp, "ram: ignored block %s is at 0x%" PRIx64
                           " in the stream but 0x%" PRIx64 " here",
                           rb->idstr, addr, local);
                return -EINVAL;
            }
        }
        seen += length;
    }
    return 0;
}

/*
 * Whether page @page of @rb reads as zero without looking.  With
 * decompression threads only the boot map may answer: a pagemap probe
 * taken before a thread faulted in a page it inflates would be stale (the
 * boot map bit is cleared before the page goes to a thread).
 */
static bool ram_load_known_untouched(RAMLoadState *ls, RAMBlock *rb,
                                     unsigned long page)
{
    if (ls->decomp && !rb->known_zero) {
        return false;
    }
    return ram_zero_cache_untouched(&ls->zero, rb, page);
}

static int ram_load_page(QEMUFile *f, RAMLoadState *ls, uint64_t addr,
                         int flags, Error **errp)
{
    uint64_t pos = qemu_file_transferred(f) - 8;
    const char *what = flags & RAM_SAVE_FLAG_ZERO ? "a ZERO record" :
                       flags & RAM_SAVE_FLAG_XBZRLE ? "an XBZRLE record" :
                       flags & RAM_SAVE_FLAG_COMPRESS_PAGE ?
                       "a COMPRESS_PAGE record" : "a PAGE record";
    RAMBlock *rb;
    uint8_t *host;

    rb = ram_load_record_block(f, &ls->last_recv_block, flags, what, pos,
                               errp);
    if (!rb) {
        return -EINVAL;
    }
    if (ramblock_is_ignored(rb)) {
        error_setg(errp, "ram: page of ignored block %s at offset %" PRIu64,
                   rb->idstr, pos);
        return -EINVAL;
    }
    if (!rb->host || addr >= rb->used_length ||
        rb->used_length - addr < TARGET_PAGE_SIZE) {
        error_setg(errp, "ram: page 0x%" PRIx64 " is outside block %s "
                   "(used length 0x%" PRIx64 ") in %s at offset %" PRIu64,
                   addr, rb->idstr, rb->used_length, what, pos);
        return -EINVAL;
    }
    host = rb->host + addr;
    /* an older version of the page still being inflated lands first */
    ram_decompress_wait_page(ls->decomp, rb, addr);
    if (flags & RAM_SAVE_FLAG_COMPRESS_PAGE) {
        if (!ram_decompress_load_page(ls->decomp, f, rb, addr, host, pos,
                                      errp)) {
            return -EINVAL;
        }
        /*
         * Written from now on by a thread this one does not wait for:
         * neither the boot map nor the probe may call it zero any more.
         */
        ram_zero_cache_note_write(&ls->zero, rb, addr >> TARGET_PAGE_BITS);
        if (rb->known_zero) {
            clear_bit(addr >> TARGET_PAGE_BITS, rb->known_zero);
        }
    } else if (flags & RAM_SAVE_FLAG_ZERO) {
        int fill = qemu_get_byte(f);

        if (qemu_file_get_error(f)) {
            return qemu_file_get_error(f);
        }
        if (fill != 0) {
            error_setg(errp, "ram: zero page 0x%" PRIx64 " of block %s has "
                       "fill byte 0x%02x (must be 0) at offset %" PRIu64,
                       addr, rb->idstr, fill, pos);
            return -EINVAL;
        }
        /*
         * A page never populated reads as zero: no write, no read (which
         * would fault it in).  Otherwise write only if it is not zero.
         */
        if (!ram_load_known_untouched(ls, rb, addr >> TARGET_PAGE_BITS) &&
            !buffer_is_zero(host, TARGET_PAGE_SIZE)) {
            memset(host, 0, TARGET_PAGE_SIZE);
        }
    } else if (flags & RAM_SAVE_FLAG_XBZRLE) {
        /* a delta against what this side holds: it must hold something */
        if (!rb->receivedmap ||
            !test_bit(addr >> TARGET_PAGE_BITS, rb->receivedmap)) {
            error_setg(errp, "ram: %s for page 0x%" PRIx64 " of block %s, "
                       "which was never received, at offset %" PRIu64, what,
                       addr, rb->idstr, pos);
            return -EINVAL;
        }
        if (!ram_xbzrle_load_page(f, host, what, errp)) {
            return -EINVAL;
        }
        ram_zero_cache_note_write(&ls->zero, rb, addr >> TARGET_PAGE_BITS);
        if (rb->known_zero) {
            /* a page received as ZERO (not written) is written now */
            clear_bit(addr >> TARGET_PAGE_BITS, rb->known_zero);
        }
    } else {
        /* Straight into guest RAM; a short read leaves the file failed. */
        qemu_get_buffer(f, host, TARGET_PAGE_SIZE);
        ram_zero_cache_note_write(&ls->zero, rb, addr >> TARGET_PAGE_BITS);
        if (rb->known_zero) {
            clear_bit(addr >> TARGET_PAGE_BITS, rb->known_zero);
        }
        if (qemu_file_get_error(f)) {
            return qemu_file_get_error(f);
        }
    }
    if (rb->receivedmap) {
        set_bit(addr >> TARGET_PAGE_BITS, rb->receivedmap);
    }
    return 0;
}

/*
 * Consume the ZERO|CONTINUE records already buffered whose pages were
 * never populated here (nothing to write or read), marking them received.
 * Stops at anything else, which the generic path handles (and checks).
 */
static void ram_load_zero_run(QEMUFile *f, RAMLoadState *ls)
{
    RAMBlock *rb = ls->last_recv_block;
    unsigned long max, n = 0;
    uint64_t first = 0;
    size_t avail, used = 0;
    uint8_t *p;

    if (!rb || !rb->host || ramblock_is_ignored(rb)) {
        return;
    }
    max = rb->used_length >> TARGET_PAGE_BITS;
    avail = qemu_peek_buffered(f, &p);
    while (avail - used >= 9) {
        uint64_t word;
        unsigned long page;

        memcpy(&word, p + used, sizeof(word));
        word = GUINT64_FROM_BE(word);
        if ((word & ~TARGET_PAGE_MASK) !=
            (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_CONTINUE) || p[used + 8]) {
            break;
        }
        page = (word & TARGET_PAGE_MASK) >> TARGET_PAGE_BITS;
        if (page >= max || !ram_load_known_untouched(ls, rb, page)) {
            break;
        }
        if (rb->receivedmap) {
            set_bit(page, rb->receivedmap);
        }
        if (!n++) {
            first = word & TARGET_PAGE_MASK;
        }
        used += 9;
    }
    if (used) {
        qemu_file_skip(f, used);
        trace_ram_load_zero_run(rb->idstr, first, n);
    }
}

static const char *ram_unsupported_flag(int flags)
{
    switch (flags & ~RAM_SAVE_FLAG_CONTINUE) {
    case RAM_SAVE_FLAG_MULTIFD_FLUSH:
        return "multifd (RAM_SAVE_FLAG_MULTIFD_FLUSH)";
    default:
        return NULL;
    }
}

int ram_load_state(QEMUFile *f, void *opaque, int version_id,
                   Error **errp)
{
    RAMMigration *rm = opaque;
    RAMLoadState *ls = rm->load;
    const char *unsupported;
    int ret;

    if (version_id != RAM_SECTION_VERSION) {
        error_setg(errp, "ram: section version %d is not supported "
                   "(only %d)", version_id, RAM_SECTION_VERSION);
        return -EINVAL;
    }
    if (!ls) {
        error_setg(errp, "ram: load without load_setup");
        return -EINVAL;
    }
    if (postcopy_is_running()) {
        /* the listen thread: every page is placed atomically */
        if (!ls->postcopy) {
            ls->postcopy = ram_postcopy_load_new(ls->last_recv_block);
        }
        return ram_load_postcopy(f, ls->postcopy, errp);
    }
    ram_zero_cache_invalidate(&ls->zero);
    for (;;) {
        uint64_t pos, word;

        ram_load_zero_run(f, ls);
        pos = qemu_file_transferred(f);
        word = qemu_get_be64(f);
        uint64_t addr = word & TARGET_PAGE_MASK;
        int flags = word & ~TARGET_PAGE_MASK;

        if (qemu_file_get_error(f)) {
            qemu_file_get_error_obj(f, errp);
            error_prepend(errp, "ram: reading a record at offset %" PRIu64
                          ": ", pos);
            return -EIO;
        }
        trace_ram_load_record(flags, addr);
        if (flags & ~RAM_SAVE_FLAG_KNOWN) {
            error_setg(errp, "ram: unknown flags 0x%x in record 0x%" PRIx64
                       " at offset %" PRIu64, flags & ~RAM_SAVE_FLAG_KNOWN,
                       word, pos);
            return -EINVAL;
        }
        switch (flags & ~RAM_SAVE_FLAG_CONTINUE) {
        case RAM_SAVE_FLAG_MEM_SIZE:
            if (flags & RAM_SAVE_FLAG_CONTINUE) {
                goto bad_combination;
            }
            ret = ram_load_block_list(f, addr, errp);
            break;
        case RAM_SAVE_FLAG_COMPRESS_PAGE:
            if (!ls->decomp) {
                error_setg(errp, "ram: Received an unexpected compressed page "
                           "(the compress capability is off here): page 0x%"
                           PRIx64 " at offset %" PRIu64, addr, pos);
                return -EINVAL;
            }
            /* fall through */
        case RAM_SAVE_FLAG_ZERO:
        case RAM_SAVE_FLAG_PAGE:
        case RAM_SAVE_FLAG_XBZRLE:
            ret = ram_load_page(f, ls, addr, flags, errp);
            if (ret < 0 && errp && !*errp) {
                qemu_file_get_error_obj(f, errp);
                error_prepend(errp, "ram: page 0x%" PRIx64 " at offset %"
                              PRIu64 ": ", addr, pos);
            }
            break;
        case RAM_SAVE_FLAG_HOOK:
            /* RDMA: exactly 0x80 (as 10.2); the registration loop */
            if ((flags & RAM_SAVE_FLAG_CONTINUE) || addr) {
                goto bad_combination;
            }
            ret = rdma_load_hook(f, errp) ? 0 : -EIO;
            break;
        case RAM_SAVE_FLAG_EOS:
            if (flags & RAM_SAVE_FLAG_CONTINUE) {
                goto bad_combination;
            }
            /* every multifd page sent before this EOS is in place */
            if (migrate_multifd() && !multifd_recv_sync_main(errp)) {
                return -EIO;
            }
            /* and every compressed one (7.2 waits here too) */
            if (!ram_decompress_wait_all(ls->decomp, errp)) {
                return -EIO;
            }
            return 0;
        default:
            unsupported = ram_unsupported_flag(flags);
            if (unsupported) {
                error_setg(errp, "ram: %s are not supported by this build "
                           "yet (flags 0x%x at offset %" PRIu64 ")",
                           unsupported, flags, pos);
                return -ENOTSUP;
            }
            goto bad_combination;
        }
        if (ret < 0) {
            return ret;
        }
        continue;

bad_combination:
        error_setg(errp, "ram: unknown combination of migration flags 0x%x "
                   "at offset %" PRIu64, flags, pos);
        return -EINVAL;
    }
}

void ram_load_postcopy_reset_main(void)
{
    RAMLoadState *ls = ram_migration.load;

    if (ls) {
        ls->last_recv_block = NULL;
        ram_postcopy_load_reset(ls->postcopy);
    }
}

