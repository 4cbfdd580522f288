/*
 * What ram.c (the sending side and the registration) and ram-load.c (the
 * loading side) share: private to migration/ram*.c.
 */
#ifndef MIGRATION_RAM_INTERNAL_H
#define MIGRATION_RAM_INTERNAL_H

#include "exec/memory.h"
#include "migration/qemu-file.h"
#include "migration/ram-zero.h"
#include "migration/ram-compress.h"
#include "migration/postcopy-ram.h"

/* Every flag the 7.2/10.2 wire defines, for "unknown flags" errors. */
#define RAM_SAVE_FLAG_KNOWN (RAM_SAVE_FLAG_FULL | RAM_SAVE_FLAG_ZERO |     \
                             RAM_SAVE_FLAG_MEM_SIZE | RAM_SAVE_FLAG_PAGE | \
                             RAM_SAVE_FLAG_EOS | RAM_SAVE_FLAG_CONTINUE |  \
                             RAM_SAVE_FLAG_XBZRLE | RAM_SAVE_FLAG_HOOK |   \
                             RAM_SAVE_FLAG_COMPRESS_PAGE |                 \
                             RAM_SAVE_FLAG_MULTIFD_FLUSH)

/* One outgoing migration (defined in ram.c). */
typedef struct RAMState RAMState;

/*
 * One incoming migration.  Created by load_setup, freed by load_cleanup;
 * owned by the incoming thread.  The last block survives across sections:
 * a PART may CONTINUE the block of the previous PART.
 */
typedef struct RAMLoadState {
    RAMBlock *last_recv_block;
    /*
     * Pages of the chunk being loaded that were never populated: a ZERO
     * record there needs no write.  Our own PAGE writes are noted in it;
     * dropped at the start of every section.
     */
    RamZeroCache zero;
    /* the postcopy loader's state, from the first postcopy record */
    RamPostcopyLoad *postcopy;
    /* compress: the decompression threads (ram-compress.h), or NULL */
    RamDecompress *decomp;
} RAMLoadState;

/*
 * The handler's opaque: the only global of this file.  The pointers are
 * changed by setup/cleanup; ram_bytes_remaining() reads under the lock.
 */
typedef struct RAMMigration {
    QemuMutex lock;                  /* protects save vs ram_bytes_remaining */
    RAMState *save;
    RAMLoadState *load;
} RAMMigration;

extern RAMMigration ram_migration;

static inline unsigned long ramblock_pages(RAMBlock *rb)
{
    return DIV_ROUND_UP(rb->used_length, TARGET_PAGE_SIZE);
}

#define RAMBLOCK_FOREACH_MIGRATABLE(rb) \
    RAMBLOCK_FOREACH(rb)                \
        if (ramblock_is_ignored(rb)) {  \
        } else

/* Forget every block's known_zero map (either side). */
void ram_known_zero_free(void);
/*
 * Take @rb's boot zero map into rb->known_zero (see
 * ramblock_take_boot_zero_map); false when the block has none.
 */
bool ram_take_known_zero(RAMBlock *rb);

/* The load handlers (ram-load.c), registered by ram.c. */
int ram_load_setup(QEMUFile *f, void *opaque, Error **errp);
int ram_load_cleanup(void *opaque);
int ram_load_state(QEMUFile *f, void *opaque, int version_id,
                   Error **errp);

#endif
