/*
 * RAM migration: the "ram" live section, version 4
 * (docs/devel/migration/ram.rst).
 *
 * Source: every migratable RAMBlock gets a migration bitmap rb->bmap (one
 * bit per target page, all ones at setup); the dirty log moves into it at
 * each migration_bitmap_sync; pages are found by a cursor scanning the
 * bitmaps and sent as ZERO or PAGE records.  Destination: records are
 * checked and written straight into guest RAM.
 *
 * The state of one outgoing migration is a RAMState, reachable only
 * through the handler's opaque pointer and ram_bytes_remaining().
 */
#ifndef MIGRATION_RAM_H
#define MIGRATION_RAM_H

#include "qemu/osdep.h"
#include "exec/memory.h"
#include "migration/qemu-file.h"

/* Register the "ram" handler (instance 0, version 4).  Called by savevm. */
void ram_mig_init(void);

/*
 * Bytes of dirty pages not sent yet, for query-migrate ("remaining").
 * 0 when no outgoing migration is set up.  Any thread.
 */
uint64_t ram_bytes_remaining(void);

/* Whether @rb takes part in migration: not when x-ignore-shared skips it. */
bool ramblock_is_ignored(RAMBlock *rb);

/* Read a counted block name and find the block; NULL with @errp set. */
RAMBlock *ram_load_block_name(QEMUFile *f, const char *what, Error **errp);
/*
 * The block of a page record: the previous one (*@last) for CONTINUE,
 * else a counted name read from @f, which becomes *@last.  NULL with
 * @errp set (naming @what and stream offset @pos) when there is none.
 */
RAMBlock *ram_load_record_block(QEMUFile *f, RAMBlock **last, int flags,
                                const char *what, uint64_t pos, Error **errp);

/* ---- postcopy (ram.c and ram-postcopy.c) */

typedef struct RamPostcopyLoad RamPostcopyLoad;

/*
 * The postcopy switch, VM stopped (migration thread): the last bitmap
 * sync, then the discard list (ram_postcopy_discard_send); from now on the
 * bitmaps only shrink.
 */
bool ram_postcopy_send_discard_bitmap(QEMUFile *f, Error **errp);
/*
 * Canonicalise every block's bitmap to whole host pages (a partly sent
 * host page is sent again whole) and send its set bits as
 * POSTCOPY_RAM_DISCARD ranges.  Returns how many bits were set by the
 * canonicalisation.
 */
uint64_t ram_postcopy_discard_send(QEMUFile *f);
/*
 * postcopy-preempt (return-path thread): send the dirty target pages of
 * the host pages in [start, start+len) of @rb on the preempt channel at
 * once, each host page whole, and flush.  A host page already sent, or
 * taken by the migration thread meanwhile, is skipped (it arrives on the
 * main channel).  False with @errp when the channel failed.
 */
bool ram_postcopy_send_urgent(RAMBlock *rb, uint64_t start, uint64_t len,
                              Error **errp);
/*
 * Postcopy recovery, source (migration thread unless said): stop urgent
 * sends; reload @rb's bitmap as "dirty = not received" from the
 * destination's received bitmap (RP thread; bit i of byte i/8); then the
 * dirty count and the scan start again, with @preempt as the new preempt
 * channel (or NULL).
 */
void ram_postcopy_resume_begin(void);
void ram_postcopy_reload_bitmap(RAMBlock *rb, const uint8_t *le_bits,
                                uint64_t nbits);
void ram_postcopy_resume_prepare(QEMUFile *preempt);
/*
 * Destination, the listen thread after a recovery: the host page being
 * gathered was never placed (its bits are clear: it is sent again), and
 * the next record names its block.
 */
void ram_load_postcopy_reset_main(void);
void ram_postcopy_load_reset(RamPostcopyLoad *pl);
/* The switch happened with a preempt channel: requests go through it. */
bool ram_postcopy_preempt_active(void);
/* release-ram at the switch: give back every host page already sent. */
void ram_postcopy_migrated_memory_release(void);

/* The destination's postcopy loader (listen thread). */
RamPostcopyLoad *ram_postcopy_load_new(RAMBlock *last_block);
void ram_postcopy_load_free(RamPostcopyLoad *pl);
/*
 * One "ram" section payload in postcopy: ZERO and PAGE records only, the
 * target pages of each host page in order; each host page is placed
 * atomically when complete.  Returns 0 at EOS or -errno with @errp set.
 */
int ram_load_postcopy(QEMUFile *f, RamPostcopyLoad *pl, Error **errp);

#endif
