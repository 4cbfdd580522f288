/*
 * RDMA migration: control message encoding and checks, URI parsing.
 * No verbs here (see rdma-control.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qapi/error.h"
#include "migration/rdma-control.h"

static const char *const control_names[RDMA_CONTROL_TYPE_COUNT] = {
    [RDMA_CONTROL_NONE] = "NONE",
    [RDMA_CONTROL_ERROR] = "ERROR",
    [RDMA_CONTROL_READY] = "READY",
    [RDMA_CONTROL_QEMU_FILE] = "QEMU_FILE",
    [RDMA_CONTROL_RAM_BLOCKS_REQUEST] = "RAM_BLOCKS_REQUEST",
    [RDMA_CONTROL_RAM_BLOCKS_RESULT] = "RAM_BLOCKS_RESULT",
    [RDMA_CONTROL_COMPRESS] = "COMPRESS",
    [RDMA_CONTROL_REGISTER_REQUEST] = "REGISTER_REQUEST",
    [RDMA_CONTROL_REGISTER_RESULT] = "REGISTER_RESULT",
    [RDMA_CONTROL_REGISTER_FINISHED] = "REGISTER_FINISHED",
    [RDMA_CONTROL_UNREGISTER_REQUEST] = "UNREGISTER_REQUEST",
    [RDMA_CONTROL_UNREGISTER_FINISHED] = "UNREGISTER_FINISHED",
};

const char *rdma_control_name(uint32_t type)
{
    return type < RDMA_CONTROL_TYPE_COUNT ? control_names[type] : "UNKNOWN";
}

void rdma_control_header_put(uint8_t *buf, const RDMAControlHeader *h)
{
    stl_be_p(buf, h->len);
    stl_be_p(buf + 4, h->type);
    stl_be_p(buf + 8, h->repeat);
    memset(buf + 12, 0, 4);
}

void rdma_control_header_get(const uint8_t *buf, RDMAControlHeader *h)
{
    h->len = ldl_be_p(buf);
    h->type = ldl_be_p(buf + 4);
    h->repeat = ldl_be_p(buf + 8);
}

bool rdma_control_check(const uint8_t *buf, size_t byte_len, uint32_t expect,
                        RDMAControlHeader *h, Error **errp)
{
    if (byte_len < RDMA_CONTROL_HEADER_SIZE) {
        error_setg(errp, "rdma: control message of %zu bytes is shorter "
                   "than its %d-byte header", byte_len,
                   RDMA_CONTROL_HEADER_SIZE);
        return false;
    }
    rdma_control_header_get(buf, h);
    if (h->type >= RDMA_CONTROL_TYPE_COUNT || h->type == RDMA_CONTROL_NONE) {
        error_setg(errp, "rdma: control message has an unknown type %u "
                   "(length %u)", h->type, h->len);
        return false;
    }
    if (h->len > RDMA_CONTROL_MAX_BUFFER - RDMA_CONTROL_HEADER_SIZE) {
        error_setg(errp, "rdma: %s control message: too long length: %u",
                   rdma_control_name(h->type), h->len);
        return false;
    }
    if ((size_t)h->len + RDMA_CONTROL_HEADER_SIZE != byte_len) {
        error_setg(errp, "rdma: %s control message: malformed length: %u "
                   "byte_len %zu", rdma_control_name(h->type), h->len,
                   byte_len);
        return false;
    }
    if (h->type == RDMA_CONTROL_ERROR && expect != RDMA_CONTROL_ERROR) {
        error_setg(errp, "rdma: the peer sent ERROR while %s was expected",
                   expect == RDMA_CONTROL_NONE ? "a control message" :
                   rdma_control_name(expect));
        return false;
    }
    if (expect != RDMA_CONTROL_NONE && h->type != expect) {
        error_setg(errp, "rdma: was expecting a %s (%u) control message, "
                   "but got: %s (%u), length: %u", rdma_control_name(expect),
                   expect, rdma_control_name(h->type), h->type, h->len);
        return false;
    }
    return true;
}

void rdma_caps_put(uint8_t *buf, const RDMACapabilities *c)
{
    stl_be_p(buf, c->version);
    stl_be_p(buf + 4, c->flags);
}

bool rdma_caps_get(const uint8_t *buf, size_t len, RDMACapabilities *c,
                   Error **errp)
{
    if (!buf || len < RDMA_CAPS_SIZE) {
        error_setg(errp, "rdma: connection private data of %zu bytes holds "
                   "no capabilities (%d bytes)", buf ? len : 0,
                   RDMA_CAPS_SIZE);
        return false;
    }
    c->version = ldl_be_p(buf);
    c->flags = ldl_be_p(buf + 4);
    if (c->version != RDMA_CONTROL_VERSION_CURRENT) {
        error_setg(errp, "rdma: unknown source RDMA version: %u (only %d "
                   "is known)", c->version, RDMA_CONTROL_VERSION_CURRENT);
        return false;
    }
    return true;
}

void rdma_dest_block_put(uint8_t *buf, const RDMADestBlock *b)
{
    stq_be_p(buf, b->remote_host_addr);
    stq_be_p(buf + 8, b->offset);
    stq_be_p(buf + 16, b->length);
    stl_be_p(buf + 24, b->remote_rkey);
    memset(buf + 28, 0, 4);
}

void rdma_dest_block_get(const uint8_t *buf, RDMADestBlock *b)
{
    b->remote_host_addr = ldq_be_p(buf);
    b->offset = ldq_be_p(buf + 8);
    b->length = ldq_be_p(buf + 16);
    b->remote_rkey = ldl_be_p(buf + 24);
}

void rdma_register_put(uint8_t *buf, const RDMARegister *r)
{
    stq_be_p(buf, r->key);
    stl_be_p(buf + 8, r->current_index);
    memset(buf + 12, 0, 4);
    stq_be_p(buf + 16, r->chunks);
}

void rdma_register_get(const uint8_t *buf, RDMARegister *r)
{
    r->key = ldq_be_p(buf);
    r->current_index = ldl_be_p(buf + 8);
    r->chunks = ldq_be_p(buf + 16);
}

void rdma_register_result_put(uint8_t *buf, const RDMARegisterResult *r)
{
    stl_be_p(buf, r->rkey);
    memset(buf + 4, 0, 4);
    stq_be_p(buf + 8, r->host_addr);
}

void rdma_register_result_get(const uint8_t *buf, RDMARegisterResult *r)
{
    r->rkey = ldl_be_p(buf);
    r->host_addr = ldq_be_p(buf + 8);
}

void rdma_compress_put(uint8_t *buf, const RDMACompress *c)
{
    stl_be_p(buf, c->value);
    stl_be_p(buf + 4, c->block_idx);
    stq_be_p(buf + 8, c->offset);
    stq_be_p(buf + 16, c->length);
}

void rdma_compress_get(const uint8_t *buf, RDMACompress *c)
{
    c->value = ldl_be_p(buf);
    c->block_idx = ldl_be_p(buf + 4);
    c->offset = ldq_be_p(buf + 8);
    c->length = ldq_be_p(buf + 16);
}

bool rdma_control_check_entries(const RDMAControlHeader *h, size_t entry_size,
                                uint32_t max_repeat, Error **errp)
{
    const char *name = rdma_control_name(h->type);

    if (h->repeat == 0) {
        error_setg(errp, "rdma: %s control message: repeat is 0", name);
        return false;
    }
    if (h->repeat > max_repeat) {
        error_setg(errp, "rdma: %s control message: too many requests in "
                   "this message (repeat %u, at most %u)", name, h->repeat,
                   max_repeat);
        return false;
    }
    if ((uint64_t)h->repeat * entry_size > h->len) {
        error_setg(errp, "rdma: %s control message: repeat %u entries of "
                   "%zu bytes do not fit its length %u", name, h->repeat,
                   entry_size, h->len);
        return false;
    }
    return true;
}

bool rdma_check_blocks_result(const RDMAControlHeader *h, uint32_t nb_local,
                              Error **errp)
{
    uint32_t nb;

    if (h->len % RDMA_DEST_BLOCK_SIZE) {
        error_setg(errp, "rdma: RAM_BLOCKS_RESULT control message: length "
                   "%u is not a multiple of %d", h->len,
                   RDMA_DEST_BLOCK_SIZE);
        return false;
    }
    nb = h->len / RDMA_DEST_BLOCK_SIZE;
    if (nb != nb_local) {
        error_setg(errp, "rdma: ram blocks mismatch (Number of blocks %u vs "
                   "%u): your command line parameters are probably not "
                   "identical on the source and the destination", nb,
                   nb_local);
        return false;
    }
    return true;
}

bool rdma_check_block_index(const char *what, uint32_t index,
                            uint32_t nb_blocks, Error **errp)
{
    if (index >= nb_blocks) {
        error_setg(errp, "rdma: '%s' bad block index %u (vs %u)", what,
                   index, nb_blocks);
        return false;
    }
    return true;
}

bool rdma_check_register(const RDMARegister *r, uint64_t block_offset,
                         uint64_t block_length, Error **errp)
{
    if (r->key < block_offset || r->key - block_offset >= block_length) {
        error_setg(errp, "rdma: REGISTER_REQUEST: bad register address "
                   "0x%" PRIx64 " for block %u (offset 0x%" PRIx64
                   ", length 0x%" PRIx64 ")", r->key, r->current_index,
                   block_offset, block_length);
        return false;
    }
    if (r->chunks >= rdma_nb_chunks(block_length)) {
        error_setg(errp, "rdma: REGISTER_REQUEST: %" PRIu64 " extra chunks "
                   "for block %u of %" PRIu64 " chunks", r->chunks,
                   r->current_index, rdma_nb_chunks(block_length));
        return false;
    }
    return true;
}

bool rdma_check_compress(const RDMACompress *c, uint64_t block_offset,
                         uint64_t block_length, Error **errp)
{
    if (c->offset < block_offset ||
        c->offset - block_offset > block_length ||
        c->length > block_length - (c->offset - block_offset)) {
        error_setg(errp, "rdma: COMPRESS: range 0x%" PRIx64 "+0x%" PRIx64
                   " is outside block %u (offset 0x%" PRIx64 ", length 0x%"
                   PRIx64 ")", c->offset, c->length, c->block_idx,
                   block_offset, block_length);
        return false;
    }
    if (c->value > 0xff) {
        error_setg(errp, "rdma: COMPRESS: fill value %u is not a byte",
                   c->value);
        return false;
    }
    return true;
}

bool rdma_parse_host_port(const char *str, char **host, char **port,
                          Error **errp)
{
    g_autofree char *h = NULL;
    const char *p;
    char *end;
    unsigned long n;

    if (str[0] == '[') {
        const char *close = strchr(str, ']');

        if (!close || close == str + 1) {
            error_setg(errp, "rdma: '%s': an IPv6 address needs the form "
                       "[ADDRESS]:PORT", str);
            return false;
        }
        if (close[1] != ':') {
            error_setg(errp, "rdma: '%s': expected ':PORT' after ']'", str);
            return false;
        }
        h = g_strndup(str + 1, close - str - 1);
        p = close + 2;
    } else {
        const char *colon = strrchr(str, ':');

        if (!colon) {
            error_setg(errp, "rdma: '%s' has no port: expected HOST:PORT",
                       str);
            return false;
        }
        if (memchr(str, ':', colon - str)) {
            error_setg(errp, "rdma: '%s': an IPv6 address goes in brackets "
                       "([ADDRESS]:PORT)", str);
            return false;
        }
        h = g_strndup(str, colon - str);
        p = colon + 1;
    }
    if (!*h) {
        error_setg(errp, "rdma: '%s' has no host: expected HOST:PORT", str);
        return false;
    }
    errno = 0;
    n = strtoul(p, &end, 10);
    if (!*p || *end || errno || n > 65535 || !g_ascii_isdigit(*p)) {
        error_setg(errp, "rdma: '%s': port '%s' is not a number 0..65535",
                   str, p);
        return false;
    }
    *host = g_steal_pointer(&h);
    *port = g_strdup(p);
    return true;
}
