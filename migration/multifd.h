/*
 * Multifd: RAM pages over several extra channels, each with its own thread
 * (docs/devel/migration/multifd.rst: channel setup, byte layouts, sync).
 *
 * Source: after the main channel connected, multifd_send_setup() opens
 * multifd-channels (N) further connections to the same socket address
 * (through TLS when tls-creds is set).  Each channel's send thread writes
 * the 64-byte initial packet (magic, version, UUID, id), then one packet
 * (header, offsets, raw pages) per batch of at most 128 pages of one
 * RAMBlock.  The migration thread fills batches with multifd_queue_page()
 * and, at the end of every "ram" section (START, PART, END: QEMU 7.2's
 * rule), calls multifd_send_sync_main(): every channel then sends a packet
 * with the SYNC flag, and the main channel's EOS that follows is the
 * matching marker.  Zero pages stay on the main channel (7.2, "legacy").
 *
 * Destination: every connection that is not the main one (by its first
 * bytes, or by order under TLS) becomes a receive thread; it checks the
 * initial packet (magic, version, UUID, id range, duplicates) and every
 * packet (magic, version, flags, counts, sizes, block, offsets) before a
 * byte reaches guest RAM, and writes the pages in place.  At every EOS
 * of the main stream, multifd_recv_sync_main() waits for one SYNC from
 * every channel and then releases them.
 *
 * Threads and locks are documented at each structure in multifd.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_MULTIFD_H
#define MIGRATION_MULTIFD_H

#include "qemu/osdep.h"
#include "exec/memory.h"
#include "io/channel.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;

/* ---- compression methods */

/*
 * One multifd-compression method (docs/devel/migration/multifd.rst, "Ops
 * table").  Each lives in its own file (multifd.c: none; multifd-zlib.c;
 * multifd-zstd.c) and is found by multifd_methods_get().  @state is the
 * method's per-channel state: one compression stream per channel for the
 * whole migration (QEMU's wire needs that), made by *_setup in the
 * channel's own thread and used by that thread only.  Every function
 * returns false with @errp set on failure; the caller prefixes the
 * channel and the packet, so messages name the library call and code.
 */
typedef struct MultiFDMethods {
    const char *name;           /* the multifd-compression value */
    uint32_t flag;              /* MULTIFD_FLAG_* it puts in every packet */

    /* send thread of a channel, before its first packet */
    bool (*send_setup)(void **state, Error **errp);
    /* send thread, at its end (also after a failed setup: @state NULL) */
    void (*send_cleanup)(void *state);
    /*
     * Send thread: the payload of @n (>= 1) normal pages @pages (TPS bytes
     * each, guest RAM that the vCPUs may be writing): fills @iov (room for
     * @n entries), *@niov and *@size (the payload's bytes).  The iov
     * stays valid until the next call.
     */
    bool (*send_prepare)(void *state, uint8_t *const *pages, uint32_t n,
                         struct iovec *iov, uint32_t *niov, uint32_t *size,
                         Error **errp);

    /* receive thread of a channel, before its first packet */
    bool (*recv_setup)(void **state, Error **errp);
    void (*recv_cleanup)(void *state);
    /*
     * Receive thread: is @size a possible payload size for @n normal
     * pages (checked before anything is read)?
     */
    bool (*recv_check_size)(uint32_t n, uint32_t size, Error **errp);
    /*
     * Receive thread: read the @size payload bytes of a packet from @ioc
     * and write its @n (>= 1) pages to @pages (TPS bytes each).
     */
    bool (*recv_pages)(void *state, QIOChannel *ioc, uint32_t size,
                       const struct iovec *pages, uint32_t n, Error **errp);
    /*
     * Compressed methods only (NULL for none): decode a payload already in
     * memory into @n pages; recv_pages is this after the read.  The whole
     * output must be exactly @n pages and the whole input used.  The
     * fuzzers call it directly.
     */
    bool (*decompress)(void *state, const uint8_t *in, uint32_t size,
                       const struct iovec *pages, uint32_t n, Error **errp);
} MultiFDMethods;

extern const MultiFDMethods multifd_nocomp_methods;
extern const MultiFDMethods multifd_zlib_methods;
#ifdef CONFIG_ZSTD
extern const MultiFDMethods multifd_zstd_methods;
#endif

/*
 * The methods of @compression (a MultiFDCompression), or NULL with @errp
 * set when this build has none (zstd without libzstd).
 */
const MultiFDMethods *multifd_methods_get(int compression, Error **errp);
/*
 * Receive side of a compressed method: read @size bytes from @ioc into
 * *@buf (grown as needed, owned by the caller's state).
 */
bool multifd_recv_read_payload(QIOChannel *ioc, uint8_t **buf,
                               uint32_t *buf_size, uint32_t size,
                               Error **errp);
/* recv_check_size of the compressed methods. */
bool multifd_comp_check_size(uint32_t n, uint32_t size, Error **errp);

/* ---- source */

/*
 * Main thread (BQL), once the main channel is connected: start the
 * connections of the N channels.  The send threads start as each one
 * connects.  False with @errp set if nothing could be started.
 */
bool multifd_send_setup(MigrationState *s, Error **errp);
/* Whether this outgoing migration uses multifd channels. */
bool multifd_send_active(void);
/*
 * Migration thread: add page @offset of @rb to the current batch, sending
 * the batch first when it is full or holds another block.  On a channel
 * error, @f gets the error (the migration fails with it) and false is
 * returned.  @f is charged the bytes for the rate limit.
 */
bool multifd_queue_page(QEMUFile *f, RAMBlock *rb, uint64_t offset);
/*
 * Migration thread: send the partial batch, then a SYNC on every channel,
 * and wait until every channel wrote it.  On error @f gets it, false.
 */
bool multifd_send_sync_main(QEMUFile *f);
/*
 * Any thread: stop the channels (cancel, or a failure elsewhere): shut
 * down their sockets so that blocked writes return, and wake every wait.
 */
void multifd_send_shutdown(void);
/* Main thread, after the migration thread ended: join and free all. */
void multifd_send_cleanup(void);

/* ---- destination */

/*
 * Main thread (BQL): a connection arrived while the multifd capability is
 * on.  @ioc is classified (main or multifd) and the main one goes to
 * migration_incoming_process_channel(); a multifd one gets its thread.
 * Takes its own reference.
 */
void multifd_recv_new_channel(QIOChannel *ioc);
/*
 * Incoming thread, at each EOS of a "ram" section: wait for a SYNC from
 * every channel, then release them.  False with @errp set when a channel
 * failed (its error) or the channels were shut down.
 */
bool multifd_recv_sync_main(Error **errp);
/* Incoming thread: the error of a channel that stopped the load (a copy). */
Error *multifd_recv_get_error(void);
/* Main thread, end of the incoming migration: stop, join, free. */
void multifd_recv_cleanup(void);

#endif
