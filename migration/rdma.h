/*
 * RDMA migration transport: rdma:HOST:PORT (docs/devel/migration/rdma.rst).
 *
 * The destination listens with librdmacm, the source connects (one RC
 * queue pair); the QEMUFile stream travels as QEMU_FILE control messages
 * over IB SEND/RECV (a QIOChannel of type "qio-channel-rdma"), and RAM
 * pages never enter the stream: the ram section writes the HOOK word and
 * the pages go by RDMA WRITE straight into the destination's guest RAM,
 * registered chunk by chunk (or all at once with rdma-pin-all).
 *
 * Threads: the connection is made in the main thread (BQL), synchronously
 * inside migrate (source) or from the main loop when the connection
 * request arrives (destination).  Afterwards one thread uses a context:
 * the migration thread (source) or the incoming thread (destination);
 * any thread may shut it down (qemu_file_shutdown), which makes every
 * wait of that thread fail within 100 ms.
 *
 * Without CONFIG_RDMA every entry point refuses with an error that says
 * the build has no RDMA; the parsing and checking of control messages
 * (migration/rdma-control.h) is always built.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_RDMA_H
#define MIGRATION_RDMA_H

#include "exec/memory.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;

/* Stages of the ram section's registration rounds. */
typedef enum RDMARound {
    RDMA_ROUND_SETUP,       /* START: the block list is exchanged */
    RDMA_ROUND_ITERATE,     /* PART */
    RDMA_ROUND_FINISH,      /* END */
} RDMARound;

/*
 * At migrate / migrate-incoming with an rdma: URI (@source for migrate):
 * refuse a build without RDMA and the capabilities RDMA cannot carry
 * (postcopy-ram, postcopy-preempt, return-path, multifd, xbzrle,
 * compress, x-ignore-shared, background-snapshot, tls-creds), naming
 * them.  True for any other URI.
 */
bool migration_rdma_check(const char *uri, bool source, Error **errp);

/*
 * Source: connect to @hostport (after "rdma:") synchronously and hand the
 * channel to migration_channel_connect(); the error (naming the step that
 * failed) goes to @errp and the migration fails with it.  Main thread.
 */
void rdma_start_outgoing_migration(MigrationState *s, const char *hostport,
                                   Error **errp);

/*
 * Destination: listen on @hostport; the first connection request is
 * accepted from the main loop and becomes the incoming migration.
 */
bool rdma_start_incoming_migration(const char *hostport, Error **errp);

/* ---- the ram section's hooks (migration/ram.c); no-ops without RDMA */

/* @f runs over RDMA (and not in postcopy, which RDMA refuses). */
bool rdma_file_active(QEMUFile *f);

/*
 * Source, migration thread: start a round (write the HOOK word and
 * flush), give pages, stop the round (flush the pending write, wait for
 * every write, exchange the block list at SETUP, send
 * REGISTER_FINISHED).  Errors go to @f (sticky), as for any write.
 */
void rdma_registration_start(QEMUFile *f, RDMARound round);
void rdma_registration_stop(QEMUFile *f, RDMARound round);
/* Page @offset of @rb (TARGET_PAGE_SIZE bytes) goes by RDMA WRITE. */
void rdma_save_page(QEMUFile *f, RAMBlock *rb, uint64_t offset);
/* Page bytes written by RDMA so far (for "transferred"); 0 if not RDMA. */
uint64_t rdma_bytes_written(QEMUFile *f);

/*
 * Destination, incoming thread: a block named in the MEM_SIZE list (in
 * stream order); and the HOOK word: the registration loop, until
 * REGISTER_FINISHED.  Without RDMA on @f the HOOK is an error (as 7.2).
 */
bool rdma_block_notify(QEMUFile *f, const char *name, Error **errp);
bool rdma_load_hook(QEMUFile *f, Error **errp);

#endif
