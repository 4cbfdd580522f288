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

/* Register the "ram" handler (instance 0, version 4).  Called by savevm. */
void ram_mig_init(void);

/*
 * Bytes of dirty pages not sent yet, for query-migrate ("remaining").
 * 0 when no outgoing migration is set up.  Any thread.
 */
uint64_t ram_bytes_remaining(void);

/* Whether @rb takes part in migration: not when x-ignore-shared skips it. */
bool ramblock_is_ignored(RAMBlock *rb);

#endif
