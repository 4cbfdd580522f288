/*
 * RDMA migration, the RAM side: the RDMA block list, memory registration
 * (per 1 MiB chunk, or every block whole with rdma-pin-all), the source's
 * merged RDMA WRITEs and the ram section hooks, and the destination's
 * registration loop (docs/devel/migration/rdma.rst, facts 11.5-11.7).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bitmap.h"
#include "qemu/cutils.h"
#include "migration/ram.h"
#include "migration/rdma.h"
#include "migration/rdma-context.h"
#include "migration/trace.h"

/* ------------------------------------------------------------ blocks */

bool rdma_blocks_init(RDMAContext *rdma, Error **errp)
{
    RAMBlock *rb;
    int n = 0;

    RAMBLOCK_FOREACH(rb) {
        if (!ramblock_is_ignored(rb) && rb->host) {
            n++;
        }
    }
    if (n > 0x3fff) {
        error_setg(errp, "rdma: %d RAM blocks; work-request ids hold at "
                   "most %d", n, 0x3fff);
        return false;
    }
    rdma->blocks = g_new0(RDMALocalBlock, n);
    rdma->nb_blocks = n;
    n = 0;
    RAMBLOCK_FOREACH(rb) {
        RDMALocalBlock *b;

        if (ramblock_is_ignored(rb) || !rb->host) {
            continue;
        }
        b = &rdma->blocks[n++];
        b->name = g_strdup(rb->idstr);
        b->host = rb->host;
        b->offset = rb->offset;
        b->length = rb->used_length;
        b->nb_chunks = rdma_nb_chunks(b->length);
        b->src_index = -1;
        b->pmr = g_new0(struct ibv_mr *, b->nb_chunks);
        b->remote_keys = g_new0(uint32_t, b->nb_chunks);
        b->transit = bitmap_new(b->nb_chunks);
        trace_rdma_block(rdma->source, b->name, b->offset, b->length,
                         b->nb_chunks);
    }
    return true;
}

void rdma_blocks_free(RDMAContext *rdma)
{
    for (int i = 0; i < rdma->nb_blocks; i++) {
        RDMALocalBlock *b = &rdma->blocks[i];

        if (b->mr) {
            ibv_dereg_mr(b->mr);
        }
        for (uint64_t c = 0; c < b->nb_chunks; c++) {
            if (b->pmr[c]) {
                ibv_dereg_mr(b->pmr[c]);
            }
        }
        g_free(b->pmr);
        g_free(b->remote_keys);
        g_free(b->transit);
        g_free(b->name);
    }
    g_free(rdma->blocks);
    rdma->blocks = NULL;
    rdma->nb_blocks = 0;
}

struct ibv_mr *rdma_reg_mr(RDMAContext *rdma, void *host, size_t len,
                           int access, Error **errp)
{
    struct ibv_mr *mr = ibv_reg_mr(rdma->pd, host, len, access);
    struct ibv_device_attr_ex attr = { 0 };

    if (!mr && errno == ENOTSUP &&
        ibv_query_device_ex(rdma->verbs, NULL, &attr) == 0 &&
        (attr.odp_caps.general_caps & IBV_ODP_SUPPORT)) {
        /* On-Demand Paging: the device faults pages in itself */
        mr = ibv_reg_mr(rdma->pd, host, len, access | IBV_ACCESS_ON_DEMAND);
        if (mr) {
            struct ibv_sge sge = { .addr = (uintptr_t)host, .length = len,
                                   .lkey = mr->lkey };

            ibv_advise_mr(rdma->pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
                          IB_UVERBS_ADVISE_MR_FLAG_FLUSH, &sge, 1);
        }
    }
    trace_rdma_reg_mr((uintptr_t)host, len, access, mr ? mr->rkey : 0);
    if (!mr) {
        error_setg_errno(errp, errno, "rdma: registering 0x%zx bytes of guest "
                         "RAM failed (is 'ulimit -l' large enough?)", len);
    }
    return mr;
}

/* The chunk range [start, end) of chunk @c, clipped at the block end. */
static void chunk_range(const RDMALocalBlock *b, uint64_t c, uint64_t *start,
                        uint64_t *end)
{
    *start = MIN(c << RDMA_REG_CHUNK_SHIFT, b->length);
    *end = MIN((c + 1) << RDMA_REG_CHUNK_SHIFT, b->length);
}

static bool register_chunk(RDMAContext *rdma, RDMALocalBlock *b, uint64_t c,
                           int access, Error **errp)
{
    uint64_t start, end;

    if (b->pmr[c]) {
        return true;
    }
    chunk_range(b, c, &start, &end);
    if (start == end) {
        error_setg(errp, "rdma: block %s has no bytes in chunk %" PRIu64,
                   b->name, c);
        return false;
    }
    b->pmr[c] = rdma_reg_mr(rdma, b->host + start, end - start, access, errp);
    return b->pmr[c] != NULL;
}

static bool register_blocks_whole(RDMAContext *rdma, int access, Error **errp)
{
    for (int i = 0; i < rdma->nb_blocks; i++) {
        RDMALocalBlock *b = &rdma->blocks[i];

        if (!b->mr) {
            b->mr = rdma_reg_mr(rdma, b->host, b->length, access, errp);
            if (!b->mr) {
                error_prepend(errp, "rdma-pin-all: block %s: ", b->name);
                return false;
            }
        }
    }
    return true;
}

static int find_block_by_host(RDMAContext *rdma, const RAMBlock *rb)
{
    for (int i = 0; i < rdma->nb_blocks; i++) {
        if (rdma->blocks[i].host == rb->host) {
            return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ source */

/* Post one RDMA WRITE of [addr, addr + len) of block @idx (facts 11.6). */
static bool rdma_write_one(RDMAContext *rdma, int idx, uint64_t addr,
                           uint64_t len, Error **errp)
{
    RDMALocalBlock *b = &rdma->blocks[idx];
    uint64_t chunk = addr >> RDMA_REG_CHUNK_SHIFT;
    struct ibv_sge sge;
    struct ibv_send_wr wr = { 0 }, *bad;
    uint32_t rkey;
    int r;

    if (test_bit(chunk, b->transit) &&
        !rdma_wait_chunk(rdma, idx, chunk, errp)) {
        return false;
    }
    if (rdma->pin_all) {
        sge.lkey = b->mr->lkey;
        rkey = b->remote_rkey;
    } else {
        if (!b->remote_keys[chunk]) {
            RDMAControlHeader reply;
            RDMARegisterResult res;

            if (buffer_is_zero(b->host + addr, len)) {
                RDMACompress c = {
                    .value = 0, .block_idx = idx,
                    .offset = b->remote_offset + addr, .length = len,
                };

                trace_rdma_compress(idx, addr, len);
                rdma_compress_put(rdma_send_payload(rdma), &c);
                return rdma_exchange_send(rdma, RDMA_CONTROL_COMPRESS,
                                          RDMA_COMPRESS_SIZE, 1,
                                          RDMA_CONTROL_NONE, NULL, errp);
            } else {
                RDMARegister reg = {
                    .key = b->remote_offset + addr, .current_index = idx,
                    .chunks = 0,
                };

                rdma_register_put(rdma_send_payload(rdma), &reg);
                if (!rdma_exchange_send(rdma, RDMA_CONTROL_REGISTER_REQUEST,
                                        RDMA_REGISTER_SIZE, 1,
                                        RDMA_CONTROL_REGISTER_RESULT, &reply,
                                        errp)) {
                    return false;
                }
                if (reply.len < RDMA_REGISTER_RESULT_SIZE) {
                    error_setg(errp, "rdma: REGISTER_RESULT control message: "
                               "length %u holds no result (%d bytes)",
                               reply.len, RDMA_REGISTER_RESULT_SIZE);
                    return rdma_fail(rdma, error_copy(*errp));
                }
                rdma_register_result_get(rdma_recv_payload(rdma,
                                                           RDMA_SLOT_DATA),
                                         &res);
                if (!res.rkey) {
                    error_setg(errp, "rdma: REGISTER_RESULT control message: "
                               "rkey 0 for block %d chunk %" PRIu64, idx,
                               chunk);
                    return rdma_fail(rdma, error_copy(*errp));
                }
                b->remote_keys[chunk] = res.rkey;
                b->remote_host_addr = res.host_addr;
                trace_rdma_registered(idx, chunk, res.rkey, res.host_addr);
            }
        }
        if (!register_chunk(rdma, b, chunk, 0, errp)) {
            return rdma_fail(rdma, error_copy(*errp));
        }
        sge.lkey = b->pmr[chunk]->lkey;
        rkey = b->remote_keys[chunk];
    }
    sge.addr = (uintptr_t)(b->host + addr);
    sge.length = len;
    wr.wr_id = RDMA_WRID_WRITE |
               ((uint64_t)idx << RDMA_WRID_BLOCK_SHIFT) |
               (chunk << RDMA_WRID_CHUNK_SHIFT);
    wr.opcode = IBV_WR_RDMA_WRITE;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.wr.rdma.remote_addr = b->remote_host_addr + addr;
    wr.wr.rdma.rkey = rkey;
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
        error_setg(errp, "rdma: posting an RDMA WRITE of block %s at 0x%"
                   PRIx64 " (0x%" PRIx64 " bytes) failed: %s", b->name, addr,
                   len, strerror(r));
        return rdma_fail(rdma, error_copy(*errp));
    }
    set_bit(chunk, b->transit);
    rdma->writes_in_flight++;
    qatomic_set(&rdma->bytes_written, rdma->bytes_written + len);
    trace_rdma_write(idx, addr, len);
    return true;
}

bool rdma_flush_pending(RDMAContext *rdma, Error **errp)
{
    int idx = rdma->cur_block;

    if (idx < 0) {
        return true;
    }
    rdma->cur_block = -1;
    return rdma_write_one(rdma, idx, rdma->cur_addr, rdma->cur_len, errp);
}

static void rdma_file_fail(QEMUFile *f, Error *err)
{
    qemu_file_set_error_obj(f, -EIO, err);
}

void rdma_save_page(QEMUFile *f, RAMBlock *rb, uint64_t offset)
{
    RDMAContext *rdma = rdma_context_of(f);
    Error *err = NULL;
    int idx;

    if (!rdma || qemu_file_get_error(f)) {
        return;
    }
    idx = rdma->cur_block >= 0 && rdma->blocks[rdma->cur_block].host ==
          rb->host ? rdma->cur_block : find_block_by_host(rdma, rb);
    if (idx < 0 || offset + TARGET_PAGE_SIZE > rdma->blocks[idx].length) {
        error_setg(&err, "rdma: page 0x%" PRIx64 " of RAM block %s is not in "
                   "the RDMA block list", offset, rb->idstr);
        rdma_file_fail(f, err);
        return;
    }
    if (rdma->cur_block == idx &&
        rdma->cur_addr + rdma->cur_len == offset &&
        (offset + TARGET_PAGE_SIZE - 1) >> RDMA_REG_CHUNK_SHIFT ==
        rdma->cur_addr >> RDMA_REG_CHUNK_SHIFT &&
        rdma->cur_len + TARGET_PAGE_SIZE <= RDMA_MERGE_MAX) {
        rdma->cur_len += TARGET_PAGE_SIZE;
    } else {
        if (!rdma_flush_pending(rdma, &err)) {
            rdma_file_fail(f, err);
            return;
        }
        rdma->cur_block = idx;
        rdma->cur_addr = offset;
        rdma->cur_len = TARGET_PAGE_SIZE;
    }
    if (!rdma_poll_completions(rdma, &err)) {
        rdma_file_fail(f, err);
    }
}

void rdma_registration_start(QEMUFile *f, RDMARound round)
{
    if (!rdma_context_of(f)) {
        return;
    }
    trace_rdma_registration_start(round);
    qemu_put_be64(f, RAM_SAVE_FLAG_HOOK);
    qemu_fflush(f);
}

/* SETUP: RAM_BLOCKS_REQUEST, and check and keep RAM_BLOCKS_RESULT. */
static bool rdma_exchange_blocks(RDMAContext *rdma, Error **errp)
{
    RDMAControlHeader reply;
    Error *err = NULL;

    if (rdma->pin_all &&
        !register_blocks_whole(rdma, IBV_ACCESS_LOCAL_WRITE |
                               IBV_ACCESS_REMOTE_WRITE, errp)) {
        return rdma_fail(rdma, error_copy(*errp));
    }
    if (!rdma_exchange_send(rdma, RDMA_CONTROL_RAM_BLOCKS_REQUEST, 0, 1,
                            RDMA_CONTROL_RAM_BLOCKS_RESULT, &reply, errp)) {
        return false;
    }
    if (!rdma_check_blocks_result(&reply, rdma->nb_blocks, &err)) {
        error_propagate(errp, error_copy(err));
        return rdma_fail(rdma, err);
    }
    for (int i = 0; i < rdma->nb_blocks; i++) {
        RDMALocalBlock *b = &rdma->blocks[i];
        RDMADestBlock d;

        rdma_dest_block_get(rdma_recv_payload(rdma, RDMA_SLOT_DATA) +
                            i * RDMA_DEST_BLOCK_SIZE, &d);
        if (d.length != b->length) {
            error_setg(errp, "rdma: RAM_BLOCKS_RESULT: Block %s/%d has a "
                       "different length %" PRIu64 " vs %" PRIu64, b->name,
                       i, b->length, d.length);
            return rdma_fail(rdma, error_copy(*errp));
        }
        if (rdma->pin_all && !d.remote_rkey) {
            error_setg(errp, "rdma: RAM_BLOCKS_RESULT: block %s/%d has no "
                       "rkey although pin-all was granted", b->name, i);
            return rdma_fail(rdma, error_copy(*errp));
        }
        b->remote_host_addr = d.remote_host_addr;
        b->remote_offset = d.offset;
        b->remote_rkey = d.remote_rkey;
    }
    rdma->blocks_exchanged = true;
    return true;
}

void rdma_registration_stop(QEMUFile *f, RDMARound round)
{
    RDMAContext *rdma = rdma_context_of(f);
    Error *err = NULL;

    if (!rdma || qemu_file_get_error(f)) {
        return;
    }
    qemu_fflush(f);
    if (!rdma_flush_pending(rdma, &err) || !rdma_wait_writes(rdma, &err)) {
        goto fail;
    }
    if (round == RDMA_ROUND_SETUP && !rdma_exchange_blocks(rdma, &err)) {
        goto fail;
    }
    if (!rdma->blocks_exchanged) {
        error_setg(&err, "rdma: a registration round before the block list "
                   "was exchanged");
        goto fail;
    }
    if (!rdma_exchange_send(rdma, RDMA_CONTROL_REGISTER_FINISHED, 0, 1,
                            RDMA_CONTROL_NONE, NULL, &err)) {
        goto fail;
    }
    trace_rdma_registration_stop(round, rdma->bytes_written);
    return;

fail:
    rdma_file_fail(f, err);
}

/* ------------------------------------------------------------ destination */

bool rdma_block_notify(QEMUFile *f, const char *name, Error **errp)
{
    RDMAContext *rdma = rdma_context_of(f);

    if (!rdma) {
        return true;
    }
    for (int i = 0; i < rdma->nb_blocks; i++) {
        if (!strcmp(rdma->blocks[i].name, name)) {
            rdma->blocks[i].src_index = rdma->next_src_index++;
            return true;
        }
    }
    error_setg(errp, "rdma: RAMBlock '%s' not found on destination", name);
    return rdma_fail(rdma, error_copy(*errp));
}

static int cmp_src_index(const void *a, const void *b)
{
    const RDMALocalBlock *x = a, *y = b;
    unsigned int xi = x->src_index < 0 ? UINT_MAX : x->src_index;
    unsigned int yi = y->src_index < 0 ? UINT_MAX : y->src_index;

    if (xi != yi) {
        return xi < yi ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool dst_blocks_request(RDMAContext *rdma, Error **errp)
{
    uint8_t *out = rdma_send_payload(rdma);

    if ((size_t)rdma->nb_blocks * RDMA_DEST_BLOCK_SIZE >
        RDMA_CONTROL_MAX_BUFFER - RDMA_CONTROL_HEADER_SIZE) {
        error_setg(errp, "rdma: %d RAM blocks do not fit RAM_BLOCKS_RESULT",
                   rdma->nb_blocks);
        return false;
    }
    qsort(rdma->blocks, rdma->nb_blocks, sizeof(*rdma->blocks),
          cmp_src_index);
    if (rdma->pin_all &&
        !register_blocks_whole(rdma, IBV_ACCESS_LOCAL_WRITE |
                               IBV_ACCESS_REMOTE_WRITE, errp)) {
        return false;
    }
    for (int i = 0; i < rdma->nb_blocks; i++) {
        RDMALocalBlock *b = &rdma->blocks[i];
        RDMADestBlock d = {
            .remote_host_addr = (uintptr_t)b->host,
            .offset = b->offset,
            .length = b->length,
            .remote_rkey = b->mr ? b->mr->rkey : 0,
        };

        rdma_dest_block_put(out + i * RDMA_DEST_BLOCK_SIZE, &d);
    }
    rdma->blocks_exchanged = true;
    return rdma_send_reply(rdma, RDMA_CONTROL_RAM_BLOCKS_RESULT,
                           rdma->nb_blocks * RDMA_DEST_BLOCK_SIZE, 1, errp);
}

static bool dst_register(RDMAContext *rdma, const RDMAControlHeader *h,
                         const uint8_t *in, Error **errp)
{
    RDMARegisterResult res = { 0 };

    if (!rdma_control_check_entries(h, RDMA_REGISTER_SIZE,
                                    RDMA_CONTROL_MAX_COMMANDS_PER_MESSAGE,
                                    errp)) {
        return false;
    }
    for (uint32_t i = 0; i < h->repeat; i++) {
        RDMARegister r;
        RDMALocalBlock *b;
        uint64_t chunk;

        rdma_register_get(in + i * RDMA_REGISTER_SIZE, &r);
        if (!rdma_check_block_index("register", r.current_index,
                                    rdma->nb_blocks, errp)) {
            return false;
        }
        b = &rdma->blocks[r.current_index];
        if (!rdma_check_register(&r, b->offset, b->length, errp)) {
            return false;
        }
        if (r.chunks) {
            error_setg(errp, "rdma: REGISTER_REQUEST: %" PRIu64 " extra "
                       "chunks in one entry: multi-chunk registration is not "
                       "supported by Godwit (QEMU never sends it)", r.chunks);
            return false;
        }
        chunk = (r.key - b->offset) >> RDMA_REG_CHUNK_SHIFT;
        if (!register_chunk(rdma, b, chunk, IBV_ACCESS_LOCAL_WRITE |
                            IBV_ACCESS_REMOTE_WRITE, errp)) {
            return false;
        }
        trace_rdma_dst_register(r.current_index, chunk, b->pmr[chunk]->rkey);
        if (i == 0) {
            res.rkey = b->pmr[chunk]->rkey;
            res.host_addr = (uintptr_t)b->host;
        }
    }
    /* one result fits, whatever the request's repeat (as QEMU) */
    rdma_register_result_put(rdma_send_payload(rdma), &res);
    return rdma_send_reply(rdma, RDMA_CONTROL_REGISTER_RESULT,
                           RDMA_REGISTER_RESULT_SIZE, h->repeat, errp);
}

static bool dst_compress(RDMAContext *rdma, const RDMAControlHeader *h,
                         const uint8_t *in, Error **errp)
{
    RDMACompress c;
    RDMALocalBlock *b;
    uint8_t *host;

    if (!rdma_control_check_entries(h, RDMA_COMPRESS_SIZE, 1, errp)) {
        return false;
    }
    rdma_compress_get(in, &c);
    if (!rdma_check_block_index("compress", c.block_idx, rdma->nb_blocks,
                                errp)) {
        return false;
    }
    b = &rdma->blocks[c.block_idx];
    if (!rdma_check_compress(&c, b->offset, b->length, errp)) {
        return false;
    }
    host = b->host + (c.offset - b->offset);
    trace_rdma_dst_compress(c.block_idx, c.offset, c.length, c.value);
    /* as 7.2: fill with the byte; a zero range already zero is left alone */
    if (c.value || !buffer_is_zero(host, c.length)) {
        memset(host, c.value, c.length);
    }
    return true;
}

static bool dst_unregister(RDMAContext *rdma, const RDMAControlHeader *h,
                           const uint8_t *in, Error **errp)
{
    if (!rdma_control_check_entries(h, RDMA_REGISTER_SIZE,
                                    RDMA_CONTROL_MAX_COMMANDS_PER_MESSAGE,
                                    errp)) {
        return false;
    }
    for (uint32_t i = 0; i < h->repeat; i++) {
        RDMARegister r;
        RDMALocalBlock *b;

        rdma_register_get(in + i * RDMA_REGISTER_SIZE, &r);
        if (!rdma_check_block_index("unregister", r.current_index,
                                    rdma->nb_blocks, errp)) {
            return false;
        }
        b = &rdma->blocks[r.current_index];
        if (r.key >= b->nb_chunks) {
            error_setg(errp, "rdma: UNREGISTER_REQUEST: chunk %" PRIu64
                       " of block %s (%" PRIu64 " chunks)", r.key, b->name,
                       b->nb_chunks);
            return false;
        }
        if (b->pmr[r.key]) {
            ibv_dereg_mr(b->pmr[r.key]);
            b->pmr[r.key] = NULL;
        }
    }
    return rdma_send_reply(rdma, RDMA_CONTROL_UNREGISTER_FINISHED, 0,
                           h->repeat, errp);
}

bool rdma_load_hook(QEMUFile *f, Error **errp)
{
    RDMAContext *rdma = rdma_context_of(f);
    RDMAControlHeader h;
    Error *err = NULL;
    bool ok;

    if (!rdma) {
        error_setg(errp, "ram: RAM_SAVE_FLAG_HOOK (RDMA registration) in a "
                   "stream that is not over RDMA");
        return false;
    }
    if (rdma->file_off != rdma->file_len) {
        error_setg(errp, "rdma: %u stream bytes follow the HOOK word in its "
                   "QEMU_FILE message", rdma->file_len - rdma->file_off);
        return rdma_fail(rdma, error_copy(*errp));
    }
    trace_rdma_load_hook();
    for (;;) {
        const uint8_t *in;

        if (!rdma_exchange_recv(rdma, RDMA_CONTROL_NONE, &h, errp)) {
            return false;
        }
        in = rdma_recv_payload(rdma, RDMA_SLOT_READY);
        if (!rdma->blocks_exchanged &&
            (h.type == RDMA_CONTROL_REGISTER_REQUEST ||
             h.type == RDMA_CONTROL_COMPRESS ||
             h.type == RDMA_CONTROL_UNREGISTER_REQUEST)) {
            error_setg(errp, "rdma: %s before RAM_BLOCKS_REQUEST: block "
                       "indices mean nothing yet", rdma_control_name(h.type));
            return rdma_fail(rdma, error_copy(*errp));
        }
        switch (h.type) {
        case RDMA_CONTROL_RAM_BLOCKS_REQUEST:
            ok = dst_blocks_request(rdma, &err);
            break;
        case RDMA_CONTROL_REGISTER_REQUEST:
            ok = dst_register(rdma, &h, in, &err);
            break;
        case RDMA_CONTROL_COMPRESS:
            ok = dst_compress(rdma, &h, in, &err);
            break;
        case RDMA_CONTROL_UNREGISTER_REQUEST:
            ok = dst_unregister(rdma, &h, in, &err);
            break;
        case RDMA_CONTROL_REGISTER_FINISHED:
            return true;
        case RDMA_CONTROL_REGISTER_RESULT:
            error_setg(&err, "rdma: Invalid RESULT message at dest: "
                       "REGISTER_RESULT goes from the destination to the "
                       "source");
            ok = false;
            break;
        default:
            error_setg(&err, "rdma: Unknown control message %s in the "
                       "registration loop", rdma_control_name(h.type));
            ok = false;
            break;
        }
        if (!ok) {
            error_propagate(errp, error_copy(err));
            return rdma_fail(rdma, err);
        }
    }
}
