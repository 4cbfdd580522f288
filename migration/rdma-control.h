/*
 * RDMA migration: the control protocol's messages, encoded and checked
 * without any verbs (so they are unit-tested on machines without RDMA:
 * tests/unit/test-rdma-control.c), and the rdma: URI parser.
 *
 * Byte layouts are in migration/wire.h (section 8) and
 * docs/devel/migration/rdma.rst.  Every decoder checks the message's
 * type, length, repeat count and indices before anything is used, and
 * names the message and the field in its error.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_RDMA_CONTROL_H
#define MIGRATION_RDMA_CONTROL_H

#include "migration/wire.h"

/* The 16-byte header of every control message. */
typedef struct RDMAControlHeader {
    uint32_t len;       /* payload bytes after the header */
    uint32_t type;      /* RDMA_CONTROL_* */
    uint32_t repeat;    /* entries in the payload */
} RDMAControlHeader;

/* Capabilities: the CM private data of CONNECT and ACCEPT. */
typedef struct RDMACapabilities {
    uint32_t version;
    uint32_t flags;
} RDMACapabilities;

typedef struct RDMADestBlock {
    uint64_t remote_host_addr;
    uint64_t offset;
    uint64_t length;
    uint32_t remote_rkey;
} RDMADestBlock;

typedef struct RDMARegister {
    uint64_t key;               /* translated address (or chunk index) */
    uint32_t current_index;     /* block index in the shared list */
    uint64_t chunks;            /* extra chunks after the first */
} RDMARegister;

typedef struct RDMARegisterResult {
    uint32_t rkey;
    uint64_t host_addr;         /* destination block base address */
} RDMARegisterResult;

typedef struct RDMACompress {
    uint32_t value;             /* fill byte */
    uint32_t block_idx;
    uint64_t offset;            /* in the destination's ram_addr space */
    uint64_t length;
} RDMACompress;

/* "QEMU_FILE", "REGISTER_REQUEST", ...; "UNKNOWN" out of range. */
const char *rdma_control_name(uint32_t type);

/* Header into/out of @buf (RDMA_CONTROL_HEADER_SIZE bytes). */
void rdma_control_header_put(uint8_t *buf, const RDMAControlHeader *h);
void rdma_control_header_get(const uint8_t *buf, RDMAControlHeader *h);

/*
 * Check a received message of @byte_len bytes (the work completion's
 * byte_len) in @buf and decode its header into @h.  @expect is the type
 * wanted, or RDMA_CONTROL_NONE for any type.  Rejects: fewer bytes than a
 * header, len past the buffer, header plus len not equal to @byte_len, a
 * type out of range, a type other than @expect.  An ERROR message when
 * something else was expected is rejected too (the peer failed).
 */
bool rdma_control_check(const uint8_t *buf, size_t byte_len, uint32_t expect,
                        RDMAControlHeader *h, Error **errp);

/* Capabilities: 8 bytes. */
void rdma_caps_put(uint8_t *buf, const RDMACapabilities *c);
/*
 * Decode private data of @len bytes; false if shorter than 8 or of an
 * unknown version (the destination then rejects the connection).
 */
bool rdma_caps_get(const uint8_t *buf, size_t len, RDMACapabilities *c,
                   Error **errp);

/* Entries: each put/get writes/reads exactly its *_SIZE bytes. */
void rdma_dest_block_put(uint8_t *buf, const RDMADestBlock *b);
void rdma_dest_block_get(const uint8_t *buf, RDMADestBlock *b);
void rdma_register_put(uint8_t *buf, const RDMARegister *r);
void rdma_register_get(const uint8_t *buf, RDMARegister *r);
void rdma_register_result_put(uint8_t *buf, const RDMARegisterResult *r);
void rdma_register_result_get(const uint8_t *buf, RDMARegisterResult *r);
void rdma_compress_put(uint8_t *buf, const RDMACompress *c);
void rdma_compress_get(const uint8_t *buf, RDMACompress *c);

/*
 * The payload of a checked message (@h from rdma_control_check) holds
 * @h->repeat entries of @entry_size: false unless repeat is 1..@max_repeat
 * and repeat * entry_size <= len.  Names the message and field.
 */
bool rdma_control_check_entries(const RDMAControlHeader *h, size_t entry_size,
                                uint32_t max_repeat, Error **errp);

/*
 * RAM_BLOCKS_RESULT: the payload must be whole RDMADestBlocks, exactly
 * @nb_local of them (the source's block count).
 */
bool rdma_check_blocks_result(const RDMAControlHeader *h, uint32_t nb_local,
                              Error **errp);

/*
 * A REGISTER_REQUEST/UNREGISTER_REQUEST/COMPRESS entry against the
 * destination's blocks: index < @nb_blocks, and the range
 * [key, key + (1 + chunks) chunks) or [offset, offset + length) must
 * start inside block [@block_offset, @block_offset + @block_length).
 * rdma_check_register() checks the index only when @block_length is 0.
 */
bool rdma_check_block_index(const char *what, uint32_t index,
                            uint32_t nb_blocks, Error **errp);
bool rdma_check_register(const RDMARegister *r, uint64_t block_offset,
                         uint64_t block_length, Error **errp);
bool rdma_check_compress(const RDMACompress *c, uint64_t block_offset,
                         uint64_t block_length, Error **errp);

/*
 * rdma:HOST:PORT (after "rdma:"): HOST a name, an IPv4 address or an
 * IPv6 address in brackets (link-local with %iface); PORT a number
 * 0..65535.  Returns the host (brackets removed) and port in new strings.
 */
bool rdma_parse_host_port(const char *str, char **host, char **port,
                          Error **errp);

/* Chunk arithmetic over a block of @length bytes. */
static inline uint64_t rdma_nb_chunks(uint64_t length)
{
    return (length >> RDMA_REG_CHUNK_SHIFT) + 1;
}

#endif
