/*
 * RDMA migration: connection (librdmacm), the control-message exchange
 * with QEMU's READY discipline, completions and waits, the QIOChannel
 * that carries the QEMUFile stream, and teardown.  The RAM side (blocks,
 * registration, RDMA WRITE) is rdma-ram.c.  docs/devel/migration/rdma.rst
 * has the sequence diagrams; migration/wire.h section 8 the constants.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <poll.h>
#include <netdb.h>
#include <glib-unix.h>
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/bswap.h"
#include "qemu/main-loop.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/options.h"
#include "migration/tls.h"
#include "migration/rdma.h"
#include "migration/rdma-context.h"
#include "migration/trace.h"

/* librdmacm address and route resolution timeouts (QEMU's values). */
#define RDMA_RESOLVE_TIMEOUT_MS   10000
/* How long connection setup waits for ESTABLISHED. */
#define RDMA_CONNECT_TIMEOUT_MS   10000
/* Waits poll completions and CM events at least this often. */
#define RDMA_POLL_INTERVAL_MS     100
/* Teardown: how long the ERROR send may take before the QP goes. */
#define RDMA_ERROR_SEND_WAIT_MS   1000

static const QIOChannelClass qio_channel_rdma_class;

/* ------------------------------------------------------------ errors */

bool rdma_fail(RDMAContext *rdma, Error *err)
{
    trace_rdma_error(error_get_pretty(err));
    if (!rdma->error) {
        rdma->error = err;
    } else {
        error_free(err);
    }
    return false;
}

bool rdma_error_copy(RDMAContext *rdma, Error **errp)
{
    if (rdma->error) {
        error_propagate(errp, error_copy(rdma->error));
    } else {
        error_setg(errp, "rdma: the connection was shut down");
    }
    return false;
}

/* Fail with a new error; also into @errp. */
static bool G_GNUC_PRINTF(3, 4)
rdma_failf(RDMAContext *rdma, Error **errp, const char *fmt, ...)
{
    Error *err = NULL;
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(&err, "%s", msg);
    if (errp) {
        error_propagate(errp, error_copy(err));
    }
    return rdma_fail(rdma, err);
}

/* A checker's error: keep it in the context and give it to @errp. */
static bool rdma_fail_err(RDMAContext *rdma, Error *err, Error **errp)
{
    if (errp) {
        error_propagate(errp, error_copy(err));
    }
    return rdma_fail(rdma, err);
}

/* ------------------------------------------------------------ completions */

static bool rdma_handle_wc(RDMAContext *rdma, const struct ibv_wc *wc,
                           Error **errp)
{
    uint64_t kind = wc->wr_id & RDMA_WRID_TYPE_MASK;

    if (wc->status != IBV_WC_SUCCESS) {
        return rdma_failf(rdma, errp, "rdma: ibv_poll_cq wc.status=%d %s "
                          "(work request 0x%" PRIx64 ")", wc->status,
                          ibv_wc_status_str(wc->status),
                          (uint64_t)wc->wr_id);
    }
    if (kind == RDMA_WRID_WRITE) {
        uint64_t block = (wc->wr_id >> RDMA_WRID_BLOCK_SHIFT) & 0x3fff;
        uint64_t chunk = wc->wr_id >> RDMA_WRID_CHUNK_SHIFT;

        if (block < (uint64_t)rdma->nb_blocks &&
            chunk < rdma->blocks[block].nb_chunks) {
            clear_bit(chunk, rdma->blocks[block].transit);
        }
        rdma->writes_in_flight--;
    } else if (kind == RDMA_WRID_SEND) {
        rdma->sends_in_flight--;
    } else if (kind == RDMA_WRID_RECV + RDMA_SLOT_READY ||
               kind == RDMA_WRID_RECV + RDMA_SLOT_DATA) {
        int slot = kind - RDMA_WRID_RECV;

        rdma->recv_done[slot] = true;
        rdma->recv_len[slot] = wc->byte_len;
    }
    trace_rdma_completion(kind, wc->byte_len);
    return true;
}

static bool rdma_poll_cq(RDMAContext *rdma, struct ibv_cq *cq, Error **errp)
{
    struct ibv_wc wc[16];
    int n;

    do {
        n = ibv_poll_cq(cq, ARRAY_SIZE(wc), wc);
        if (n < 0) {
            return rdma_failf(rdma, errp, "rdma: ibv_poll_cq failed (%d)", n);
        }
        for (int i = 0; i < n; i++) {
            if (!rdma_handle_wc(rdma, &wc[i], errp)) {
                return false;
            }
        }
    } while (n == ARRAY_SIZE(wc));
    return true;
}

bool rdma_poll_completions(RDMAContext *rdma, Error **errp)
{
    if (rdma->error) {
        return rdma_error_copy(rdma, errp);
    }
    return rdma_poll_cq(rdma, rdma->send_cq, errp) &&
           rdma_poll_cq(rdma, rdma->recv_cq, errp);
}

static void rdma_drain_comp_channel(struct ibv_comp_channel *ch)
{
    struct ibv_cq *cq;
    void *ctx;

    while (ibv_get_cq_event(ch, &cq, &ctx) == 0) {
        ibv_ack_cq_events(cq, 1);
    }
}

static const char *rdma_event_name(enum rdma_cm_event_type t)
{
    return rdma_event_str(t);
}

/* CM events while connected: a disconnect or device removal fails us. */
static bool rdma_handle_cm_events(RDMAContext *rdma, Error **errp)
{
    struct rdma_cm_event *ev;

    while (rdma_get_cm_event(rdma->channel, &ev) == 0) {
        enum rdma_cm_event_type t = ev->event;

        rdma_ack_cm_event(ev);
        trace_rdma_cm_event(rdma_event_name(t));
        if (t == RDMA_CM_EVENT_DISCONNECTED ||
            t == RDMA_CM_EVENT_DEVICE_REMOVAL) {
            rdma->connected = false;
            return rdma_failf(rdma, errp, "rdma: receive cm event, cm event "
                              "is %d (%s): the peer is gone", t,
                              rdma_event_name(t));
        }
    }
    return true;
}

/*
 * Block until @done holds, polling both completion queues, both
 * completion channels and the CM channel; shutdown and disconnects end
 * the wait with an error.
 */
static bool rdma_wait(RDMAContext *rdma,
                      bool (*done)(RDMAContext *rdma, const void *arg),
                      const void *arg, const char *what, Error **errp)
{
    for (;;) {
        struct pollfd pfd[3];
        int r;

        if (rdma->error) {
            return rdma_error_copy(rdma, errp);
        }
        if (qatomic_read(&rdma->shutdown)) {
            return rdma_failf(rdma, errp, "rdma: %s: the migration was "
                              "cancelled or shut down", what);
        }
        if (!rdma_poll_completions(rdma, errp)) {
            return false;
        }
        if (done(rdma, arg)) {
            return true;
        }
        if (ibv_req_notify_cq(rdma->send_cq, 0) ||
            ibv_req_notify_cq(rdma->recv_cq, 0)) {
            return rdma_failf(rdma, errp, "rdma: %s: ibv_req_notify_cq "
                              "failed", what);
        }
        /* a completion between the poll and the arming is seen here */
        if (!rdma_poll_completions(rdma, errp)) {
            return false;
        }
        if (done(rdma, arg)) {
            return true;
        }
        pfd[0] = (struct pollfd){ .fd = rdma->send_comp->fd, .events = POLLIN };
        pfd[1] = (struct pollfd){ .fd = rdma->recv_comp->fd, .events = POLLIN };
        pfd[2] = (struct pollfd){ .fd = rdma->channel->fd, .events = POLLIN };
        r = poll(pfd, 3, RDMA_POLL_INTERVAL_MS);
        if (r < 0 && errno != EINTR) {
            return rdma_failf(rdma, errp, "rdma: %s: poll failed: %s", what,
                              strerror(errno));
        }
        if (r > 0) {
            rdma_drain_comp_channel(rdma->send_comp);
            rdma_drain_comp_channel(rdma->recv_comp);
            if ((pfd[2].revents & POLLIN) &&
                !rdma_handle_cm_events(rdma, errp)) {
                return false;
            }
        }
    }
}

static bool done_recv(RDMAContext *rdma, const void *arg)
{
    return rdma->recv_done[*(const int *)arg];
}

static bool done_sends(RDMAContext *rdma, const void *arg)
{
    return rdma->sends_in_flight == 0;
}

static bool done_writes(RDMAContext *rdma, const void *arg)
{
    return rdma->writes_in_flight == 0;
}

static bool done_chunk(RDMAContext *rdma, const void *arg)
{
    const uint64_t *bc = arg;

    return !test_bit(bc[1], rdma->blocks[bc[0]].transit);
}

static bool done_send_slot(RDMAContext *rdma, const void *arg)
{
    return rdma->writes_in_flight + rdma->sends_in_flight <
           *(const int *)arg;
}

bool rdma_wait_writes(RDMAContext *rdma, Error **errp)
{
    return rdma_wait(rdma, done_writes, NULL, "waiting for RDMA writes",
                     errp);
}

bool rdma_wait_chunk(RDMAContext *rdma, int block, uint64_t chunk,
                     Error **errp)
{
    uint64_t bc[2] = { block, chunk };

    return rdma_wait(rdma, done_chunk, bc, "waiting for a chunk's write",
                     errp);
}

bool rdma_wait_send_slot(RDMAContext *rdma, Error **errp)
{
    int busy = rdma->writes_in_flight + rdma->sends_in_flight;

    return rdma_wait(rdma, done_send_slot, &busy,
                     "waiting for the send queue", errp);
}

/* ------------------------------------------------------------ control */

uint8_t *rdma_send_payload(RDMAContext *rdma)
{
    return rdma->ctl_buf[RDMA_SLOT_SEND] + RDMA_CONTROL_HEADER_SIZE;
}

uint8_t *rdma_recv_payload(RDMAContext *rdma, int slot)
{
    return rdma->ctl_buf[slot] + RDMA_CONTROL_HEADER_SIZE;
}

static bool rdma_post_recv(RDMAContext *rdma, int slot, Error **errp)
{
    struct ibv_sge sge = {
        .addr = (uintptr_t)rdma->ctl_buf[slot],
        .length = RDMA_CONTROL_MAX_BUFFER,
        .lkey = rdma->ctl_mr[slot]->lkey,
    };
    struct ibv_recv_wr wr = {
        .wr_id = RDMA_WRID_RECV + slot,
        .sg_list = &sge,
        .num_sge = 1,
    };
    struct ibv_recv_wr *bad;
    int r;

    rdma->recv_done[slot] = false;
    r = ibv_post_recv(rdma->qp, &wr, &bad);
    if (r) {
        return rdma_failf(rdma, errp, "rdma: posting the receive of slot %d "
                          "failed: %s", slot, strerror(r));
    }
    return true;
}

/*
 * Send the message already in the send slot's payload: header, then wait
 * for the send to complete (the send buffer is reused at once after).
 */
static bool rdma_post_send(RDMAContext *rdma, uint32_t type, uint32_t len,
                           uint32_t repeat, Error **errp)
{
    RDMAControlHeader h = { .len = len, .type = type, .repeat = repeat };
    struct ibv_sge sge = {
        .addr = (uintptr_t)rdma->ctl_buf[RDMA_SLOT_SEND],
        .length = RDMA_CONTROL_HEADER_SIZE + len,
        .lkey = rdma->ctl_mr[RDMA_SLOT_SEND]->lkey,
    };
    struct ibv_send_wr wr = {
        .wr_id = RDMA_WRID_SEND,
        .opcode = IBV_WR_SEND,
        .send_flags = IBV_SEND_SIGNALED,
        .sg_list = &sge,
        .num_sge = 1,
    };
    struct ibv_send_wr *bad;
    int r;

    assert(len <= RDMA_CONTROL_MAX_BUFFER - RDMA_CONTROL_HEADER_SIZE);
    rdma_control_header_put(rdma->ctl_buf[RDMA_SLOT_SEND], &h);
    trace_rdma_send(rdma_control_name(type), len, repeat);
    for (;;) {
        r = ibv_post_send(rdma->qp, &wr, &bad);
        if (r != ENOMEM) {
            break;
        }
        if (!rdma_wait_send_slot(rdma, errp)) {
            return false;
        }
    }
    if (r) {
        return rdma_failf(rdma, errp, "rdma: sending %s failed: %s",
                          rdma_control_name(type), strerror(r));
    }
    rdma->sends_in_flight++;
    return rdma_wait(rdma, done_sends, NULL, "sending a control message",
                     errp);
}

/* Wait for a message in @slot and check it (rdma_control_check). */
static bool rdma_recv_check(RDMAContext *rdma, int slot, uint32_t expect,
                            RDMAControlHeader *h, Error **errp)
{
    Error *err = NULL;

    if (!rdma_wait(rdma, done_recv, &slot, "waiting for a control message",
                   errp)) {
        return false;
    }
    if (!rdma_control_check(rdma->ctl_buf[slot], rdma->recv_len[slot],
                            expect, h, &err)) {
        if (rdma->recv_len[slot] >= RDMA_CONTROL_HEADER_SIZE &&
            ldl_be_p(rdma->ctl_buf[slot] + 4) == RDMA_CONTROL_ERROR) {
            rdma->error_received = true;
        }
        return rdma_fail_err(rdma, err, errp);
    }
    trace_rdma_recv(rdma_control_name(h->type), h->len, h->repeat);
    return true;
}

bool rdma_exchange_send(RDMAContext *rdma, uint32_t type, uint32_t len,
                        uint32_t repeat, uint32_t reply_type,
                        RDMAControlHeader *reply, Error **errp)
{
    RDMAControlHeader ready;

    if (rdma->error) {
        return rdma_error_copy(rdma, errp);
    }
    if (rdma->ready_expected) {
        if (!rdma_recv_check(rdma, RDMA_SLOT_READY, RDMA_CONTROL_READY,
                             &ready, errp)) {
            return false;
        }
    }
    rdma->ready_expected = true;
    if (reply_type != RDMA_CONTROL_NONE &&
        !rdma_post_recv(rdma, RDMA_SLOT_DATA, errp)) {
        return false;
    }
    if (!rdma_post_recv(rdma, RDMA_SLOT_READY, errp) ||
        !rdma_post_send(rdma, type, len, repeat, errp)) {
        return false;
    }
    if (reply_type != RDMA_CONTROL_NONE) {
        return rdma_recv_check(rdma, RDMA_SLOT_DATA, reply_type, reply, errp);
    }
    return true;
}

bool rdma_exchange_recv(RDMAContext *rdma, uint32_t expect,
                        RDMAControlHeader *h, Error **errp)
{
    if (rdma->error) {
        return rdma_error_copy(rdma, errp);
    }
    if (!rdma_post_send(rdma, RDMA_CONTROL_READY, 0, 1, errp) ||
        !rdma_recv_check(rdma, RDMA_SLOT_READY, expect, h, errp)) {
        return false;
    }
    return rdma_post_recv(rdma, RDMA_SLOT_READY, errp);
}

bool rdma_send_reply(RDMAContext *rdma, uint32_t type, uint32_t len,
                     uint32_t repeat, Error **errp)
{
    if (rdma->error) {
        return rdma_error_copy(rdma, errp);
    }
    return rdma_post_send(rdma, type, len, repeat, errp);
}

/* ------------------------------------------------------------ the channel */

RDMAContext *rdma_context_of(QEMUFile *f)
{
    QIOChannel *ioc = f ? qemu_file_get_ioc(f) : NULL;

    if (!ioc || !qio_channel_is_type(ioc, &qio_channel_rdma_class)) {
        return NULL;
    }
    return (RDMAContext *)ioc;
}

bool rdma_file_active(QEMUFile *f)
{
    return rdma_context_of(f) != NULL;
}

uint64_t rdma_bytes_written(QEMUFile *f)
{
    RDMAContext *rdma = rdma_context_of(f);

    return rdma ? qatomic_read(&rdma->bytes_written) : 0;
}

static ssize_t rdma_io_writev(QIOChannel *ioc, const struct iovec *iov,
                              size_t niov, int *fds, size_t nfds, int flags,
                              Error **errp)
{
    RDMAContext *rdma = (RDMAContext *)ioc;
    ssize_t done = 0;

    if (!rdma->source) {
        error_setg(errp, "rdma: the destination cannot write to the source: "
                   "an RDMA migration has no return path");
        return -1;
    }
    if (fds && nfds) {
        error_setg(errp, "rdma: file descriptors cannot travel over RDMA");
        return -1;
    }
    if (!rdma_flush_pending(rdma, errp)) {
        return -1;
    }
    for (size_t i = 0; i < niov; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;

        while (left) {
            uint32_t n = MIN(left, RDMA_SEND_INCREMENT);

            memcpy(rdma_send_payload(rdma), p, n);
            if (!rdma_exchange_send(rdma, RDMA_CONTROL_QEMU_FILE, n, 1,
                                    RDMA_CONTROL_NONE, NULL, errp)) {
                return -1;
            }
            p += n;
            left -= n;
            done += n;
        }
    }
    return done;
}

static ssize_t rdma_io_readv(QIOChannel *ioc, const struct iovec *iov,
                             size_t niov, int **fds, size_t *nfds, int flags,
                             Error **errp)
{
    RDMAContext *rdma = (RDMAContext *)ioc;
    RDMAControlHeader h;
    ssize_t done = 0;

    if (fds) {
        *fds = NULL;
        *nfds = 0;
    }
    if (rdma->source) {
        error_setg(errp, "rdma: the source cannot read from the destination: "
                   "an RDMA migration has no return path");
        return -1;
    }
    if (flags & QIO_CHANNEL_READ_FLAG_MSG_PEEK) {
        error_setg(errp, "rdma: peeking is not supported");
        return -1;
    }
    if (rdma->file_off == rdma->file_len) {
        if (!rdma_exchange_recv(rdma, RDMA_CONTROL_QEMU_FILE, &h, errp)) {
            return -1;
        }
        /* 7.2 leaves repeat unset in QEMU_FILE: only len counts */
        if (h.len == 0) {
            /* 0 bytes would read as the end of the stream */
            rdma_failf(rdma, errp, "rdma: QEMU_FILE control message with "
                       "length 0");
            return -1;
        }
        rdma->file_off = 0;
        rdma->file_len = h.len;
    }
    for (size_t i = 0; i < niov && rdma->file_off < rdma->file_len; i++) {
        size_t n = MIN(iov[i].iov_len, rdma->file_len - rdma->file_off);

        memcpy(iov[i].iov_base,
               rdma_recv_payload(rdma, RDMA_SLOT_READY) + rdma->file_off, n);
        rdma->file_off += n;
        done += n;
    }
    return done;
}

static int rdma_io_shutdown(QIOChannel *ioc, QIOChannelShutdown how,
                            Error **errp)
{
    RDMAContext *rdma = (RDMAContext *)ioc;

    trace_rdma_shutdown(rdma->source);
    qatomic_set(&rdma->shutdown, 1);
    return 0;
}

static int rdma_io_set_blocking(QIOChannel *ioc, bool enabled, Error **errp)
{
    if (!enabled) {
        error_setg(errp, "rdma: the channel is blocking only");
        return -1;
    }
    return 0;
}

static GSource *rdma_io_create_watch(QIOChannel *ioc, GIOCondition condition)
{
    /* blocking only: the channel is always ready, reads and writes wait */
    return g_idle_source_new();
}

/* Tell the peer we failed, unless it told us (facts 11.8). */
static void rdma_send_error_at_close(RDMAContext *rdma)
{
    Error *local = rdma->error;
    bool failed = local || qatomic_read(&rdma->shutdown);
    int waited = 0;

    if (!failed || rdma->error_received || !rdma->connected || !rdma->qp) {
        return;
    }
    trace_rdma_send_error_at_close(local ? error_get_pretty(local) : "");
    /* the send must go even though the context is in error */
    rdma->error = NULL;
    qatomic_set(&rdma->shutdown, 0);
    {
        RDMAControlHeader h = { .len = 0, .type = RDMA_CONTROL_ERROR,
                                .repeat = 1 };
        struct ibv_sge sge = {
            .addr = (uintptr_t)rdma->ctl_buf[RDMA_SLOT_SEND],
            .length = RDMA_CONTROL_HEADER_SIZE,
            .lkey = rdma->ctl_mr[RDMA_SLOT_SEND]->lkey,
        };
        struct ibv_send_wr wr = {
            .wr_id = RDMA_WRID_SEND, .opcode = IBV_WR_SEND,
            .send_flags = IBV_SEND_SIGNALED, .sg_list = &sge, .num_sge = 1,
        };
        struct ibv_send_wr *bad;

        rdma_control_header_put(rdma->ctl_buf[RDMA_SLOT_SEND], &h);
        if (ibv_post_send(rdma->qp, &wr, &bad) == 0) {
            rdma->sends_in_flight++;
            /* bounded: the peer may be gone */
            while (rdma->sends_in_flight && waited < RDMA_ERROR_SEND_WAIT_MS &&
                   rdma_poll_completions(rdma, NULL)) {
                g_usleep(1000);
                waited++;
            }
        }
    }
    rdma->error = local;
    qatomic_set(&rdma->shutdown, 1);
}

static void rdma_teardown(RDMAContext *rdma)
{
    rdma_send_error_at_close(rdma);
    if (rdma->connected && rdma->cm_id) {
        rdma_disconnect(rdma->cm_id);
        rdma->connected = false;
    }
    rdma_blocks_free(rdma);
    for (int i = 0; i < RDMA_SLOT_COUNT; i++) {
        if (rdma->ctl_mr[i]) {
            ibv_dereg_mr(rdma->ctl_mr[i]);
            rdma->ctl_mr[i] = NULL;
        }
        g_free(rdma->ctl_buf[i]);
        rdma->ctl_buf[i] = NULL;
    }
    if (rdma->qp) {
        rdma_destroy_qp(rdma->cm_id);
        rdma->qp = NULL;
    }
    if (rdma->send_cq) {
        ibv_destroy_cq(rdma->send_cq);
        rdma->send_cq = NULL;
    }
    if (rdma->recv_cq) {
        ibv_destroy_cq(rdma->recv_cq);
        rdma->recv_cq = NULL;
    }
    if (rdma->send_comp) {
        ibv_destroy_comp_channel(rdma->send_comp);
        rdma->send_comp = NULL;
    }
    if (rdma->recv_comp) {
        ibv_destroy_comp_channel(rdma->recv_comp);
        rdma->recv_comp = NULL;
    }
    if (rdma->pd) {
        ibv_dealloc_pd(rdma->pd);
        rdma->pd = NULL;
    }
    if (rdma->cm_id) {
        rdma_destroy_id(rdma->cm_id);
        rdma->cm_id = NULL;
    }
    if (rdma->listen_id) {
        rdma_destroy_id(rdma->listen_id);
        rdma->listen_id = NULL;
    }
    if (rdma->channel) {
        rdma_destroy_event_channel(rdma->channel);
        rdma->channel = NULL;
    }
}

static int rdma_io_close(QIOChannel *ioc, Error **errp)
{
    RDMAContext *rdma = (RDMAContext *)ioc;

    trace_rdma_close(rdma->source, rdma->error != NULL);
    rdma_teardown(rdma);
    return 0;
}

static void rdma_io_finalize(QIOChannel *ioc)
{
    RDMAContext *rdma = (RDMAContext *)ioc;

    rdma_teardown(rdma);
    error_free(rdma->error);
    g_free(rdma->host);
    g_free(rdma->port);
}

static const QIOChannelClass qio_channel_rdma_class = {
    .type_name = "qio-channel-rdma",
    .io_readv = rdma_io_readv,
    .io_writev = rdma_io_writev,
    .io_close = rdma_io_close,
    .io_shutdown = rdma_io_shutdown,
    .io_set_blocking = rdma_io_set_blocking,
    .io_create_watch = rdma_io_create_watch,
    .finalize = rdma_io_finalize,
};

static RDMAContext *rdma_context_new(bool source, const char *host,
                                     const char *port)
{
    RDMAContext *rdma = g_new0(RDMAContext, 1);

    qio_channel_init(QIO_CHANNEL(rdma), &qio_channel_rdma_class);
    qio_channel_set_feature(QIO_CHANNEL(rdma), QIO_CHANNEL_FEATURE_SHUTDOWN);
    rdma->source = source;
    rdma->host = g_strdup(host);
    rdma->port = g_strdup(port);
    rdma->cur_block = -1;
    return rdma;
}

/* ------------------------------------------------------------ setup */

static bool rdma_set_nonblock(int fd, const char *what, Error **errp)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        error_setg_errno(errp, errno, "rdma: cannot make the %s fd "
                         "non-blocking", what);
        return false;
    }
    return true;
}

/* Wait up to @timeout_ms for the next CM event on the (non-blocking) channel. */
static bool rdma_get_cm_event_timeout(RDMAContext *rdma, int timeout_ms,
                                      struct rdma_cm_event **ev,
                                      const char *what, Error **errp)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    for (;;) {
        struct pollfd pfd = { .fd = rdma->channel->fd, .events = POLLIN };
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        int r;

        if (rdma_get_cm_event(rdma->channel, ev) == 0) {
            trace_rdma_cm_event(rdma_event_name((*ev)->event));
            return true;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            error_setg_errno(errp, errno, "rdma: %s: rdma_get_cm_event "
                             "failed", what);
            return false;
        }
        if (left <= 0) {
            error_setg(errp, "rdma: %s: no CM event within %d ms (poll cm "
                       "event timeout)", what, timeout_ms);
            return false;
        }
        r = poll(&pfd, 1, MIN(left, RDMA_POLL_INTERVAL_MS));
        if (r < 0 && errno != EINTR) {
            error_setg_errno(errp, errno, "rdma: %s: poll failed", what);
            return false;
        }
    }
}

/* Wait for one CM event of type @want; any other is an error. */
static bool rdma_expect_cm_event(RDMAContext *rdma,
                                 enum rdma_cm_event_type want, int timeout_ms,
                                 const char *what, Error **errp)
{
    struct rdma_cm_event *ev;
    enum rdma_cm_event_type got;
    int status;

    if (!rdma_get_cm_event_timeout(rdma, timeout_ms, &ev, what, errp)) {
        return false;
    }
    got = ev->event;
    status = ev->status;
    rdma_ack_cm_event(ev);
    if (got != want) {
        error_setg(errp, "rdma: %s: expected CM event %s but got %s "
                   "(status %d)", what, rdma_event_name(want),
                   rdma_event_name(got), status);
        return false;
    }
    return true;
}

/* PD, completion channels and queues, QP, control buffers (both sides). */
static bool rdma_setup_qp(RDMAContext *rdma, Error **errp)
{
    struct ibv_qp_init_attr attr = { 0 };

    rdma->verbs = rdma->cm_id->verbs;
    rdma->pd = ibv_alloc_pd(rdma->verbs);
    if (!rdma->pd) {
        error_setg(errp, "rdma: allocating a protection domain failed");
        return false;
    }
    rdma->send_comp = ibv_create_comp_channel(rdma->verbs);
    rdma->recv_comp = ibv_create_comp_channel(rdma->verbs);
    if (!rdma->send_comp || !rdma->recv_comp ||
        !rdma_set_nonblock(rdma->send_comp->fd, "completion channel", errp) ||
        !rdma_set_nonblock(rdma->recv_comp->fd, "completion channel", errp)) {
        if (errp && !*errp) {
            error_setg(errp, "rdma: creating completion channels failed");
        }
        return false;
    }
    rdma->send_cq = ibv_create_cq(rdma->verbs, RDMA_CQ_SIZE, NULL,
                                  rdma->send_comp, 0);
    rdma->recv_cq = ibv_create_cq(rdma->verbs, RDMA_CQ_SIZE, NULL,
                                  rdma->recv_comp, 0);
    if (!rdma->send_cq || !rdma->recv_cq) {
        error_setg(errp, "rdma migration: error allocating pd and cq! Your "
                   "mlock() limits may be too low. Please check "
                   "$ ulimit -a # and search for 'ulimit -l' in the output");
        return false;
    }
    attr.cap.max_send_wr = RDMA_SEND_QUEUE_DEPTH;
    attr.cap.max_recv_wr = RDMA_RECV_QUEUE_DEPTH;
    attr.cap.max_send_sge = 1;
    attr.cap.max_recv_sge = 1;
    attr.send_cq = rdma->send_cq;
    attr.recv_cq = rdma->recv_cq;
    attr.qp_type = IBV_QPT_RC;
    if (rdma_create_qp(rdma->cm_id, rdma->pd, &attr) < 0) {
        error_setg_errno(errp, errno, "rdma: creating the queue pair failed");
        return false;
    }
    rdma->qp = rdma->cm_id->qp;
    for (int i = 0; i < RDMA_SLOT_COUNT; i++) {
        rdma->ctl_buf[i] = g_malloc0(RDMA_CONTROL_MAX_BUFFER);
        rdma->ctl_mr[i] = ibv_reg_mr(rdma->pd, rdma->ctl_buf[i],
                                     RDMA_CONTROL_MAX_BUFFER,
                                     IBV_ACCESS_LOCAL_WRITE |
                                     IBV_ACCESS_REMOTE_WRITE);
        if (!rdma->ctl_mr[i]) {
            error_setg_errno(errp, errno, "rdma: registering control buffer "
                             "%d failed", i);
            return false;
        }
    }
    return rdma_blocks_init(rdma, errp);
}

static bool rdma_create_channel_and_id(RDMAContext *rdma, Error **errp)
{
    rdma->channel = rdma_create_event_channel();
    if (!rdma->channel) {
        error_setg_errno(errp, errno, "rdma: could not create the CM event "
                         "channel (is an RDMA device present? 'rdma link' "
                         "lists them)");
        return false;
    }
    if (!rdma_set_nonblock(rdma->channel->fd, "CM event channel", errp)) {
        return false;
    }
    return true;
}

/* Source: resolve the address and route, trying each address. */
static bool rdma_resolve(RDMAContext *rdma, Error **errp)
{
    struct rdma_addrinfo hints = { .ai_port_space = RDMA_PS_TCP };
    struct rdma_addrinfo *res = NULL, *e;
    Error *last = NULL;
    int r;

    r = rdma_getaddrinfo(rdma->host, rdma->port, &hints, &res);
    if (r) {
        error_setg(errp, "RDMA ERROR: could not rdma_getaddrinfo address %s "
                   "(port %s): %s", rdma->host, rdma->port,
                   gai_strerror(r));
        return false;
    }
    for (e = res; e; e = e->ai_next) {
        error_free(last);
        last = NULL;
        if (rdma->cm_id) {
            rdma_destroy_id(rdma->cm_id);
            rdma->cm_id = NULL;
        }
        if (rdma_create_id(rdma->channel, &rdma->cm_id, rdma, RDMA_PS_TCP)) {
            error_setg_errno(&last, errno, "rdma: could not create a CM id");
            continue;
        }
        if (rdma_resolve_addr(rdma->cm_id, NULL, e->ai_dst_addr,
                              RDMA_RESOLVE_TIMEOUT_MS)) {
            error_setg_errno(&last, errno, "RDMA ERROR: could not resolve "
                             "address %s", rdma->host);
            continue;
        }
        if (!rdma_expect_cm_event(rdma, RDMA_CM_EVENT_ADDR_RESOLVED,
                                  RDMA_RESOLVE_TIMEOUT_MS + 1000,
                                  "resolving the address", &last)) {
            error_prepend(&last, "RDMA ERROR: result not equal to "
                          "event_addr_resolved %s: ", rdma->host);
            continue;
        }
        if (rdma_resolve_route(rdma->cm_id, RDMA_RESOLVE_TIMEOUT_MS) ||
            !rdma_expect_cm_event(rdma, RDMA_CM_EVENT_ROUTE_RESOLVED,
                                  RDMA_RESOLVE_TIMEOUT_MS + 1000,
                                  "resolving the route", &last)) {
            if (!last) {
                error_setg_errno(&last, errno, "rdma: resolving the route "
                                 "to %s failed", rdma->host);
            }
            continue;
        }
        rdma_freeaddrinfo(res);
        return true;
    }
    rdma_freeaddrinfo(res);
    if (!last) {
        error_setg(&last, "RDMA ERROR: could not resolve address %s: no "
                   "address", rdma->host);
    }
    error_propagate(errp, last);
    return false;
}

static bool rdma_connect_source(RDMAContext *rdma, Error **errp)
{
    uint8_t caps_buf[RDMA_CAPS_SIZE];
    RDMACapabilities caps = {
        .version = RDMA_CONTROL_VERSION_CURRENT,
        .flags = migrate_cap(MIGRATION_CAPABILITY_RDMA_PIN_ALL) ?
                 RDMA_CAPABILITY_PIN_ALL : 0,
    };
    struct rdma_conn_param param = {
        .initiator_depth = 2,
        .retry_count = 5,
        .private_data = caps_buf,
        .private_data_len = sizeof(caps_buf),
    };
    struct rdma_cm_event *ev;
    RDMACapabilities answer;
    Error *err = NULL;
    bool ok;

    if (!rdma_create_channel_and_id(rdma, errp) || !rdma_resolve(rdma, errp) ||
        !rdma_setup_qp(rdma, errp)) {
        return false;
    }
    rdma_caps_put(caps_buf, &caps);
    /* the destination's first READY lands here */
    if (!rdma_post_recv(rdma, RDMA_SLOT_READY, errp)) {
        return false;
    }
    if (rdma_connect(rdma->cm_id, &param)) {
        error_setg_errno(errp, errno, "RDMA ERROR: connecting to "
                         "destination!");
        return false;
    }
    if (!rdma_get_cm_event_timeout(rdma, RDMA_CONNECT_TIMEOUT_MS, &ev,
                                   "connecting", errp)) {
        return false;
    }
    if (ev->event != RDMA_CM_EVENT_ESTABLISHED) {
        error_setg(errp, "RDMA ERROR: connecting to destination! (CM event "
                   "%s, status %d: the destination refused or is not "
                   "listening)", rdma_event_name(ev->event), ev->status);
        rdma_ack_cm_event(ev);
        return false;
    }
    ok = rdma_caps_get(ev->param.conn.private_data,
                       ev->param.conn.private_data_len, &answer, &err);
    rdma_ack_cm_event(ev);
    rdma->connected = true;
    if (!ok) {
        error_propagate_prepend(errp, err, "rdma: the destination's answer: ");
        return false;
    }
    if (caps.flags & RDMA_CAPABILITY_PIN_ALL) {
        if (!(answer.flags & RDMA_CAPABILITY_PIN_ALL)) {
            warn_report("RDMA: Server cannot support pinning all memory. "
                        "Will register memory dynamically.");
        }
        rdma->pin_all = answer.flags & RDMA_CAPABILITY_PIN_ALL;
    }
    /* the source's context waits for READY from its very first message */
    rdma->ready_expected = true;
    trace_rdma_connected(true, rdma->host, rdma->port, rdma->pin_all);
    return true;
}

void rdma_start_outgoing_migration(MigrationState *s, const char *hostport,
                                   Error **errp)
{
    g_autofree char *host = NULL;
    g_autofree char *port = NULL;
    RDMAContext *rdma;

    if (!rdma_parse_host_port(hostport, &host, &port, errp)) {
        return;
    }
    trace_rdma_start_outgoing(host, port);
    rdma = rdma_context_new(true, host, port);
    qio_channel_set_name(QIO_CHANNEL(rdma), "migration-rdma-outgoing");
    if (!rdma_connect_source(rdma, errp)) {
        qio_channel_unref(QIO_CHANNEL(rdma));
        return;
    }
    migration_channel_connect(s, QIO_CHANNEL(rdma), host, NULL);
    qio_channel_unref(QIO_CHANNEL(rdma));
}

/* ------------------------------------------------------------ destination */

typedef struct RDMAListener {
    RDMAContext *rdma;      /* owns channel and listen id until accepted */
    guint watch;
} RDMAListener;

static RDMAListener *rdma_listener;

/* Accept @id (from a CONNECT_REQUEST) into @rdma. */
static bool rdma_accept_request(RDMAContext *rdma, struct rdma_cm_id *id,
                                const void *pdata, size_t plen, Error **errp)
{
    uint8_t caps_buf[RDMA_CAPS_SIZE];
    RDMACapabilities caps, answer;
    struct rdma_conn_param param = {
        .responder_resources = 2,
        .private_data = caps_buf,
        .private_data_len = sizeof(caps_buf),
    };

    rdma->cm_id = id;
    id->context = rdma;
    if (!rdma_caps_get(pdata, plen, &caps, errp)) {
        error_prepend(errp, "rdma: connection request refused: ");
        return false;
    }
    answer.version = RDMA_CONTROL_VERSION_CURRENT;
    answer.flags = caps.flags & RDMA_CAPABILITY_PIN_ALL;
    rdma->pin_all = answer.flags & RDMA_CAPABILITY_PIN_ALL;
    rdma_caps_put(caps_buf, &answer);
    if (!rdma_setup_qp(rdma, errp)) {
        error_prepend(errp, "RDMA ERROR: Migration initialization failed: ");
        return false;
    }
    if (rdma_accept(id, &param)) {
        error_setg_errno(errp, errno, "rdma: rdma_accept failed");
        return false;
    }
    if (!rdma_expect_cm_event(rdma, RDMA_CM_EVENT_ESTABLISHED,
                              RDMA_CONNECT_TIMEOUT_MS, "accepting", errp)) {
        return false;
    }
    rdma->connected = true;
    if (!rdma_post_recv(rdma, RDMA_SLOT_READY, errp)) {
        return false;
    }
    /* an accepted context writes its first message without a READY */
    rdma->ready_expected = false;
    trace_rdma_connected(false, rdma->host, rdma->port, rdma->pin_all);
    return true;
}

static void rdma_listener_stop(void)
{
    if (rdma_listener) {
        if (rdma_listener->watch) {
            g_source_remove(rdma_listener->watch);
        }
        qio_channel_unref(QIO_CHANNEL(rdma_listener->rdma));
        g_free(rdma_listener);
        rdma_listener = NULL;
    }
}

/* Main loop: an event on the listening channel. */
static gboolean rdma_listen_event(gint fd, GIOCondition cond, gpointer opaque)
{
    RDMAListener *l = opaque;
    RDMAContext *rdma = l->rdma;
    struct rdma_cm_event *ev;
    struct rdma_cm_id *id;
    Error *err = NULL;
    g_autofree uint8_t *pdata = NULL;
    size_t plen;

    if (rdma_get_cm_event(rdma->channel, &ev)) {
        return G_SOURCE_CONTINUE;       /* EAGAIN */
    }
    trace_rdma_cm_event(rdma_event_name(ev->event));
    if (ev->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
        rdma_ack_cm_event(ev);
        return G_SOURCE_CONTINUE;
    }
    id = ev->id;
    plen = ev->param.conn.private_data ? ev->param.conn.private_data_len : 0;
    pdata = g_memdup2(ev->param.conn.private_data, plen);
    rdma_ack_cm_event(ev);

    /* one migration per -incoming: stop listening for more */
    l->watch = 0;
    if (!rdma_accept_request(rdma, id, pdata, plen, &err)) {
        if (!rdma->qp) {
            rdma_reject(id, NULL, 0);
        }
        error_report_err(err);
        rdma_listener_stop();
        return G_SOURCE_REMOVE;
    }
    /* the channel now belongs to the incoming migration */
    l->rdma = NULL;
    g_free(l);
    rdma_listener = NULL;
    migration_channel_process_incoming(QIO_CHANNEL(rdma));
    qio_channel_unref(QIO_CHANNEL(rdma));
    return G_SOURCE_REMOVE;
}

bool rdma_start_incoming_migration(const char *hostport, Error **errp)
{
    g_autofree char *host = NULL;
    g_autofree char *port = NULL;
    struct rdma_addrinfo hints = { .ai_flags = RAI_PASSIVE,
                                   .ai_port_space = RDMA_PS_TCP };
    struct rdma_addrinfo *res = NULL, *e;
    RDMAContext *rdma;
    Error *last = NULL;
    int r;

    if (!rdma_parse_host_port(hostport, &host, &port, errp)) {
        return false;
    }
    if (rdma_listener) {
        error_setg(errp, "rdma: already listening for an incoming migration");
        return false;
    }
    trace_rdma_start_incoming(host, port);
    rdma = rdma_context_new(false, host, port);
    qio_channel_set_name(QIO_CHANNEL(rdma), "migration-rdma-incoming");
    if (!rdma_create_channel_and_id(rdma, errp)) {
        goto fail;
    }
    if (rdma_create_id(rdma->channel, &rdma->listen_id, rdma, RDMA_PS_TCP)) {
        error_setg_errno(errp, errno, "rdma: could not create a CM id");
        goto fail;
    }
    r = rdma_getaddrinfo(host, port, &hints, &res);
    if (r) {
        error_setg(errp, "RDMA ERROR: could not rdma_getaddrinfo address %s "
                   "(port %s): %s", host, port, gai_strerror(r));
        goto fail;
    }
    {
        int reuse = 1;

        rdma_set_option(rdma->listen_id, RDMA_OPTION_ID,
                        RDMA_OPTION_ID_REUSEADDR, &reuse, sizeof(reuse));
    }
    for (e = res; e; e = e->ai_next) {
        if (rdma_bind_addr(rdma->listen_id, e->ai_src_addr) == 0) {
            break;
        }
        error_free(last);
        last = NULL;
        error_setg_errno(&last, errno, "RDMA ERROR: could not bind %s port "
                         "%s", host, port);
    }
    rdma_freeaddrinfo(res);
    if (!e) {
        if (!last) {
            error_setg(&last, "RDMA ERROR: no address to bind for %s", host);
        }
        error_propagate(errp, last);
        goto fail;
    }
    error_free(last);
    if (rdma_listen(rdma->listen_id, 5)) {
        error_setg_errno(errp, errno, "RDMA ERROR: listening on %s port %s "
                         "failed", host, port);
        goto fail;
    }
    rdma_listener = g_new0(RDMAListener, 1);
    rdma_listener->rdma = rdma;
    rdma_listener->watch = g_unix_fd_add(rdma->channel->fd, G_IO_IN,
                                         rdma_listen_event, rdma_listener);
    return true;

fail:
    qio_channel_unref(QIO_CHANNEL(rdma));
    return false;
}

/* ------------------------------------------------------------ checks */

bool migration_rdma_check(const char *uri, bool source, Error **errp)
{
    static const struct {
        MigrationCapability cap;
        const char *why;
    } refused[] = {
        { MIGRATION_CAPABILITY_POSTCOPY_RAM, "an RDMA migration has no "
          "return path for page requests" },
        { MIGRATION_CAPABILITY_POSTCOPY_PREEMPT, "an RDMA migration has one "
          "channel" },
        { MIGRATION_CAPABILITY_RETURN_PATH, "an RDMA migration has no return "
          "path" },
        { MIGRATION_CAPABILITY_MULTIFD, "an RDMA migration has one channel" },
        { MIGRATION_CAPABILITY_XBZRLE, "every page goes by RDMA WRITE, "
          "never encoded" },
        { MIGRATION_CAPABILITY_COMPRESS, "every page goes by RDMA WRITE, "
          "never compressed" },
        { MIGRATION_CAPABILITY_X_IGNORE_SHARED, "the RDMA block list must "
          "match the MEM_SIZE list" },
        { MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT, "a snapshot is not an "
          "RDMA migration" },
        { MIGRATION_CAPABILITY_DIRTY_BITMAPS, "an RDMA migration has no "
          "return path" },
    };

    if (!g_str_has_prefix(uri, "rdma:")) {
        return true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
        if (migrate_cap(refused[i].cap)) {
            error_setg(errp, "RDMA and %s can't be used together: %s",
                       MigrationCapability_str(refused[i].cap),
                       refused[i].why);
            return false;
        }
    }
    if (migrate_tls()) {
        error_setg(errp, "RDMA and TLS (tls-creds) can't be used together: "
                   "RDMA writes guest memory directly, outside any TLS "
                   "session");
        return false;
    }
    return true;
}
