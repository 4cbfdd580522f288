/*
 * RDMA migration: the context shared by rdma.c (connection, control
 * messages, the QIOChannel) and rdma-ram.c (block list, registration,
 * RDMA WRITE, the destination's registration loop).  Private to those two
 * files.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_RDMA_CONTEXT_H
#define MIGRATION_RDMA_CONTEXT_H

#include <rdma/rdma_cma.h>
#include <infiniband/verbs.h>
#include "io/channel.h"
#include "migration/rdma-control.h"

/* Control buffer slots (QEMU's RDMA_WRID_READY/DATA/CONTROL). */
enum {
    RDMA_SLOT_READY = 0,    /* receive: READY-paced messages */
    RDMA_SLOT_DATA = 1,     /* receive: an expected reply */
    RDMA_SLOT_SEND = 2,     /* send */
    RDMA_SLOT_COUNT = 3,
};

/*
 * Work-request ids (local only): bits 0-15 the kind, 16-29 the block
 * index, 30-63 the chunk, as QEMU lays them out.
 */
#define RDMA_WRID_WRITE      1
#define RDMA_WRID_SEND       2000
#define RDMA_WRID_RECV       4000   /* + slot */
#define RDMA_WRID_TYPE_MASK  0xffffULL
#define RDMA_WRID_BLOCK_SHIFT 16
#define RDMA_WRID_CHUNK_SHIFT 30

/* Send queue depth, receive depth, completion queue size. */
#define RDMA_SEND_QUEUE_DEPTH 512
#define RDMA_RECV_QUEUE_DEPTH 3
#define RDMA_CQ_SIZE          1536

typedef struct RDMALocalBlock {
    char *name;
    uint8_t *host;          /* start of the block */
    uint64_t offset;        /* this side's ram_addr offset */
    uint64_t length;        /* used_length */
    uint64_t nb_chunks;
    int src_index;          /* destination: order in the MEM_SIZE list, or -1 */
    /* pin-all: the whole block */
    struct ibv_mr *mr;
    /* dynamic: one registration per chunk (both sides) */
    struct ibv_mr **pmr;
    /* source: what the destination told (RAM_BLOCKS_RESULT, REGISTER_RESULT) */
    uint64_t remote_offset;
    uint64_t remote_host_addr;
    uint32_t remote_rkey;   /* pin-all */
    uint32_t *remote_keys;  /* dynamic: per chunk, 0 = not registered yet */
    unsigned long *transit; /* source: chunks with a write in flight */
} RDMALocalBlock;

typedef struct RDMAContext {
    QIOChannel parent;      /* the channel is the context: QIOChannelRDMA */

    /* set once at setup */
    bool source;
    bool pin_all;
    char *host;
    char *port;

    /* librdmacm and verbs objects */
    struct rdma_event_channel *channel;
    struct rdma_cm_id *listen_id;
    struct rdma_cm_id *cm_id;
    struct ibv_context *verbs;
    struct ibv_pd *pd;
    struct ibv_comp_channel *send_comp;
    struct ibv_comp_channel *recv_comp;
    struct ibv_cq *send_cq;
    struct ibv_cq *recv_cq;
    struct ibv_qp *qp;
    bool connected;

    /* control buffers (slot-indexed) and the state of receives */
    uint8_t *ctl_buf[RDMA_SLOT_COUNT];
    struct ibv_mr *ctl_mr[RDMA_SLOT_COUNT];
    bool recv_done[RDMA_SLOT_SEND];
    uint32_t recv_len[RDMA_SLOT_SEND];
    int sends_in_flight;
    /*
     * The writer waits for a READY before each message; a context made by
     * rdma_accept skips it for its first one (facts 11.3).
     */
    bool ready_expected;

    /* destination reader: bytes of the last QEMU_FILE not consumed yet */
    uint32_t file_off;
    uint32_t file_len;

    /* the block list, in RAM order (destination: resorted at RAM_BLOCKS_REQUEST) */
    RDMALocalBlock *blocks;
    int nb_blocks;
    int next_src_index;
    bool blocks_exchanged;

    /* source: the pending merged write */
    int cur_block;          /* -1: none */
    uint64_t cur_addr;      /* offset in the block */
    uint64_t cur_len;
    int writes_in_flight;
    uint64_t bytes_written;

    /* errors: the first one is kept; the owner thread only, except @shutdown */
    Error *error;
    bool error_received;    /* the peer sent ERROR: do not send one back */
    int shutdown;           /* atomic: qemu_file_shutdown / cancel */
} RDMAContext;

/* rdma.c */
/* The context behind @f, or NULL when @f is not over RDMA. */
RDMAContext *rdma_context_of(QEMUFile *f);
/* Record the first error (takes @err) and return false. */
bool rdma_fail(RDMAContext *rdma, Error *err);
/* A copy of the first error into @errp; false. */
bool rdma_error_copy(RDMAContext *rdma, Error **errp);
/*
 * Writer procedure (facts 11.3): wait for READY (unless the first message
 * of an accepted context), post the DATA receive when @reply_type is not
 * NONE, re-post READY, send @type with @len payload bytes from
 * rdma_send_payload(), then wait for the reply and check its type; the
 * reply's header goes to @reply (its payload is rdma_recv_payload(DATA)).
 */
uint8_t *rdma_send_payload(RDMAContext *rdma);
uint8_t *rdma_recv_payload(RDMAContext *rdma, int slot);
bool rdma_exchange_send(RDMAContext *rdma, uint32_t type, uint32_t len,
                        uint32_t repeat, uint32_t reply_type,
                        RDMAControlHeader *reply, Error **errp);
/* Reader procedure: send READY, wait in slot READY for @expect, re-post. */
bool rdma_exchange_recv(RDMAContext *rdma, uint32_t expect,
                        RDMAControlHeader *h, Error **errp);
/* A reply or ERROR, without waiting for READY. */
bool rdma_send_reply(RDMAContext *rdma, uint32_t type, uint32_t len,
                     uint32_t repeat, Error **errp);
/* Poll completions without blocking (source, after each page). */
bool rdma_poll_completions(RDMAContext *rdma, Error **errp);
/* Wait until no RDMA WRITE is in flight; until @chunk of @block has none. */
bool rdma_wait_writes(RDMAContext *rdma, Error **errp);
bool rdma_wait_chunk(RDMAContext *rdma, int block, uint64_t chunk,
                     Error **errp);
/* A send WR was refused for a full queue: wait for one completion. */
bool rdma_wait_send_slot(RDMAContext *rdma, Error **errp);

/* rdma-ram.c */
/* Post the pending merged write, if any (before stream bytes go out). */
bool rdma_flush_pending(RDMAContext *rdma, Error **errp);
bool rdma_blocks_init(RDMAContext *rdma, Error **errp);
void rdma_blocks_free(RDMAContext *rdma);
/* Register @len bytes at @host with @access, ODP fallback (facts 11.6). */
struct ibv_mr *rdma_reg_mr(RDMAContext *rdma, void *host, size_t len,
                           int access, Error **errp);

#endif
