/*
 * Godwit migration: every constant that appears on the wire.
 *
 * This is the one place where a byte value of the migration stream is
 * spelled.  Everything here must stay equal to QEMU's values (7.2 and
 * 10.2 agree unless a row says otherwise); a constant is never renumbered
 * and a retired value keeps its row, marked RETIRED, so that it is not
 * reused.  Multi-byte integers on the wire are big-endian unless a row
 * says otherwise; use qemu_put_be*()/qemu_get_be*(), never a raw struct.
 *
 * scripts/analyze-migration.py must agree with this file; change both
 * together.
 *
 * Sections:
 *   1. stream header and section types          (main channel)
 *   2. commands (QEMU_VM_COMMAND) and their lengths
 *   3. return-path messages and their lengths    (reverse direction)
 *   4. VMState encoding                          (inside sections)
 *   5. RAM section page flags                    ("ram", version 4)
 *   6. multifd channel and packet header
 *   7. miscellaneous markers
 *   8. RDMA control protocol                    (rdma: transport)
 */
#ifndef MIGRATION_WIRE_H
#define MIGRATION_WIRE_H

/* ------------------------------------------------------------------ 1 */
/*
 * Stream header: be32 magic, be32 version.  Version 2 is the pre-2009
 * format; loaders reject it with "obsolete".  Any other value than 3 is
 * "unsupported".
 */
#define QEMU_VM_FILE_MAGIC           0x5145564d   /* "QEVM" */
#define QEMU_VM_FILE_VERSION_COMPAT  0x00000002   /* RETIRED: rejected */
#define QEMU_VM_FILE_VERSION         0x00000003

/*
 * Section type byte that starts every top-level record.
 *
 *  START/FULL: u8 type, be32 section_id, u8 idlen, idstr, be32 instance_id,
 *              be32 version_id, payload, [footer]
 *  PART/END:   u8 type, be32 section_id, payload, [footer]
 *  footer:     u8 0x7e, be32 section_id (on unless machine <= 2.3)
 *  EOF:        u8 0x00, then optionally VMDESCRIPTION
 *  VMDESCRIPTION: u8 0x06, be32 json_len, json_len bytes of JSON (no NUL)
 *  CONFIGURATION: u8 0x07, then the "configuration" vmsd payload, no header
 *  COMMAND:    u8 0x08, be16 cmd, be16 len, len bytes
 *
 * SUBSECTION never appears at top level, only inside vmstate data (4).
 */
#define QEMU_VM_EOF                  0x00
#define QEMU_VM_SECTION_START        0x01
#define QEMU_VM_SECTION_PART         0x02
#define QEMU_VM_SECTION_END          0x03
#define QEMU_VM_SECTION_FULL         0x04
#define QEMU_VM_SUBSECTION           0x05
#define QEMU_VM_VMDESCRIPTION        0x06
#define QEMU_VM_CONFIGURATION        0x07
#define QEMU_VM_COMMAND              0x08
#define QEMU_VM_SECTION_FOOTER       0x7e

/* An instance_id of "any": the loader picks 1 + max of the same idstr. */
#define QEMU_VM_INSTANCE_ID_ANY      0xffffffffu

/* Counted strings (idstr, ramblock names) are one length byte: max 255. */
#define QEMU_VM_COUNTED_STRING_MAX   255

/* ------------------------------------------------------------------ 2 */
/*
 * Commands: u8 QEMU_VM_COMMAND, be16 cmd, be16 len, payload.  0 is never
 * valid.  The sender flushes after each command.  The loader rejects
 * cmd == 0, cmd >= its MAX, and a fixed-length command with another len.
 * A length of MIG_CMD_LEN_VARIABLE means "checked by the handler".
 */
#define MIG_CMD_LEN_VARIABLE             (-1)

#define MIG_CMD_INVALID                  0    /* never valid */
#define MIG_CMD_OPEN_RETURN_PATH         1    /* len 0 */
#define MIG_CMD_OPEN_RETURN_PATH_LEN     0
#define MIG_CMD_PING                     2    /* len 4: be32 value, answered by RP PONG */
#define MIG_CMD_PING_LEN                 4
/*
 * len 0 (dirty-bitmaps only) or 16: be64 ram_pagesize_summary (OR of the
 * page sizes of all RAMBlocks), be64 target page size.
 */
#define MIG_CMD_POSTCOPY_ADVISE          3
#define MIG_CMD_POSTCOPY_ADVISE_LEN_NONE 0
#define MIG_CMD_POSTCOPY_ADVISE_LEN_RAM  16
#define MIG_CMD_POSTCOPY_LISTEN          4    /* len 0 */
#define MIG_CMD_POSTCOPY_LISTEN_LEN      0
#define MIG_CMD_POSTCOPY_RUN             5    /* len 0 */
#define MIG_CMD_POSTCOPY_RUN_LEN         0
/*
 * Variable: u8 version (0), u8 name_len, name, u8 0 (checked), then
 * k x (be64 start, be64 length); len >= 20 and (len - 3 - name_len) % 16
 * == 0.  The source puts at most 12 ranges in one command.
 */
#define MIG_CMD_POSTCOPY_RAM_DISCARD     6
#define MIG_CMD_POSTCOPY_RAM_DISCARD_VERSION 0
#define MIG_CMD_POSTCOPY_RAM_DISCARD_MIN_LEN 20
#define MIG_CMD_POSTCOPY_RAM_DISCARD_MAX_RANGES 12
/*
 * len 4: be32 N, followed (outside the command) by N bytes of a nested
 * stream without file header.  N <= UINT32_MAX (older QEMU: 16 MiB).
 */
#define MIG_CMD_PACKAGED                 7
#define MIG_CMD_PACKAGED_LEN             4
#define MIG_CMD_ENABLE_COLO              8    /* len 0 */
#define MIG_CMD_ENABLE_COLO_LEN          0
#define MIG_CMD_POSTCOPY_RESUME          9    /* len 0 */
#define MIG_CMD_POSTCOPY_RESUME_LEN      0
#define MIG_CMD_RECV_BITMAP              10   /* len 1+n: u8 n, ramblock name */
/* len 0; QEMU 10.0+ only, a 7.2 destination fails with "MIG_CMD 0xb unknown" */
#define MIG_CMD_SWITCHOVER_START         11
#define MIG_CMD_SWITCHOVER_START_LEN     0
#define MIG_CMD_MAX                      12   /* 7.2: 11 */
#define MIG_CMD_MAX_QEMU_7_2             11

/* ------------------------------------------------------------------ 3 */
/*
 * Return path (destination -> source, reverse direction of the main
 * channel): be16 type, be16 len, payload.  The source rejects type 0,
 * type >= MAX, a fixed-length type with another len, and len > 512.
 */
#define MIG_RP_MSG_MAX_LEN           512

#define MIG_RP_MSG_INVALID           0
#define MIG_RP_MSG_SHUT              1    /* len 4: be32 0 = ok, 1 = error */
#define MIG_RP_MSG_SHUT_LEN          4
#define MIG_RP_MSG_PONG              2    /* len 4: be32 value of the PING */
#define MIG_RP_MSG_PONG_LEN          4
/* len 13+n: be64 start, be32 len, u8 n, ramblock name (n bytes) */
#define MIG_RP_MSG_REQ_PAGES_ID      3
#define MIG_RP_MSG_REQ_PAGES_ID_MIN_LEN 13
/* len 12: be64 start, be32 len; in the block of the last REQ_PAGES_ID */
#define MIG_RP_MSG_REQ_PAGES         4
#define MIG_RP_MSG_REQ_PAGES_LEN     12
/*
 * len 1+n: u8 n, ramblock name; followed outside the message by be64 size,
 * size bytes of little-endian bitmap words, be64 RAMBLOCK_RECV_BITMAP_ENDING.
 */
#define MIG_RP_MSG_RECV_BITMAP       5
#define MIG_RP_MSG_RESUME_ACK        6    /* len 4: be32, must be 1 */
#define MIG_RP_MSG_RESUME_ACK_LEN    4
#define MIGRATION_RESUME_ACK_VALUE   1
#define MIG_RP_MSG_SWITCHOVER_ACK    7    /* len 0; QEMU 8.1+ only */
#define MIG_RP_MSG_SWITCHOVER_ACK_LEN 0
#define MIG_RP_MSG_MAX               8    /* 7.2: 7 */
#define MIG_RP_MSG_MAX_QEMU_7_2      7

/* End marker of the received bitmap blob (be64). */
#define RAMBLOCK_RECV_BITMAP_ENDING  0x0123456789abcdefULL

/* ------------------------------------------------------------------ 4 */
/*
 * VMState, inside a section payload (see docs/devel/migration/vmstate.rst):
 * fields in declaration order with no tag and no length, then for each
 * sent subsection: u8 QEMU_VM_SUBSECTION, u8 len, name ("parent/child"),
 * be32 version_id, its fields and subsections.
 *
 * A NULL element of an array of pointers is the single byte '0'.
 */
#define VMS_NULLPTR_MARKER           0x30

/* ------------------------------------------------------------------ 5 */
/*
 * RAM page flags, in the low bits of a be64 word "offset | flags".  They
 * must stay below 0x400 because offsets are multiples of a page size of at
 * least 1 KiB (a wire format defined by accident; do not add more).
 */
#define RAM_SAVE_FLAG_FULL           0x001  /* RETIRED (2009), never sent; gone in 10.2 */
#define RAM_SAVE_FLAG_ZERO           0x002  /* zero page, 1 fill byte (0); old name COMPRESS */
#define RAM_SAVE_FLAG_MEM_SIZE       0x004  /* RAMBlock list, in START */
#define RAM_SAVE_FLAG_PAGE           0x008  /* raw page of TPS bytes follows */
#define RAM_SAVE_FLAG_EOS            0x010  /* end of this section's RAM data */
#define RAM_SAVE_FLAG_CONTINUE       0x020  /* same block as the previous page; no idstr */
#define RAM_SAVE_FLAG_XBZRLE         0x040  /* delta-encoded page */
#define RAM_SAVE_FLAG_HOOK           0x080  /* RDMA registration hook */
#define RAM_SAVE_FLAG_COMPRESS_PAGE  0x100  /* zlib page; RETIRED in QEMU 9.1 */
#define RAM_SAVE_FLAG_MULTIFD_FLUSH  0x200  /* multifd sync point; QEMU 8.1+ (7.2 rejects) */
#define RAM_SAVE_FLAG_MASK_LIMIT     0x400  /* every flag is below this */

/* "ram" section version; any other is rejected. */
#define RAM_SECTION_VERSION          4

/* XBZRLE record: u8 encoding flag, be16 encoded length (<= TPS), data */
#define ENCODING_FLAG_XBZRLE         0x01

/* ------------------------------------------------------------------ 6 */
/*
 * Multifd.  Each extra channel starts with a 64-byte MultiFDInit:
 *   be32 magic, be32 version, 16 bytes UUID, u8 id, 7 + 32 unused (0).
 * Each batch: a packet header of 320 + 8 * page_count bytes:
 *   be32 magic, be32 version, be32 flags, be32 pages_alloc,
 *   be32 normal_pages, be32 next_packet_size, be64 packet_num,
 *   be32 zero_pages (9.0+, 0 before), 28 unused, 256 idstr (NUL padded),
 *   page_count x be64 offset.
 */
#define MULTIFD_MAGIC                0x11223344U
#define MULTIFD_VERSION              1
#define MULTIFD_INIT_SIZE            64
#define MULTIFD_PACKET_SIZE          (512 * 1024)
#define MULTIFD_PACKET_HEADER_SIZE   320    /* without the offset array */
#define MULTIFD_IDSTR_SIZE           256
#define MULTIFD_FLAG_SYNC            0x01
#define MULTIFD_FLAG_COMPRESSION_MASK 0x3e  /* 7.2 uses bits 1..3 only */
#define MULTIFD_FLAG_NOCOMP          0x00
#define MULTIFD_FLAG_ZLIB            0x02
#define MULTIFD_FLAG_ZSTD            0x04
#define MULTIFD_FLAG_QPL             0x08   /* 10.2 */
#define MULTIFD_FLAG_UADK            0x10   /* 10.2 */
#define MULTIFD_FLAG_QATZIP          0x20   /* 10.2 */
#define MULTIFD_FLAG_DEVICE_STATE    0x40   /* 10.0+, VFIO */

/*
 * Compressed multifd payloads (flag ZLIB or ZSTD; identical in 7.2 and
 * 10.2).  Each channel keeps ONE compression stream for the whole
 * migration (zlib: deflateInit once with multifd-zlib-level, raw zlib
 * format with its 2-byte header in the channel's first packet; zstd: one
 * CStream with multifd-zstd-level, one frame that is never ended).  The
 * normal pages of a packet are fed in offset-array order, each page with
 * Z_NO_FLUSH / ZSTD_e_continue and the last one with Z_SYNC_FLUSH /
 * ZSTD_e_flush, so a packet's payload is decodable with what came before
 * on the same channel.  next_packet_size is the payload's byte length and
 * the receiver's output must be exactly normal_pages x TPS.  Zero pages
 * (zero_pages, 9.0+) are never part of the payload.  A packet without
 * pages has next_packet_size 0.  Godwit refuses a payload longer than
 * MULTIFD_COMP_PAYLOAD_MAX(normal): twice the pages' size, as QEMU's
 * receive buffer (no encoder gets near: stored blocks cost 5 bytes per
 * 64 KiB for zlib, 3 bytes per 128 KiB for zstd).
 */
#define MULTIFD_COMP_PAYLOAD_MAX(normal) (2ULL * (normal) * TARGET_PAGE_SIZE)

/*
 * TLS (migration/tls.c) adds no constant and no framing: the bytes above
 * travel as TLS application data, a record layer below them.
 */

/* ------------------------------------------------------------------ 7 */
/* PING value telling the source the postcopy package is loaded (10.2). */
#define QEMU_VM_PING_PACKAGED_LOADED 0x42

/*
 * PING values the source sends around the postcopy switch (7.2 and 10.2;
 * only their PONGs mean anything, to the source):
 *   1  after OPEN_RETURN_PATH, at the start;
 *   2  after the discard list;
 *   3  inside the package, after the device state and before
 *      POSTCOPY_RUN: its PONG proves the destination reached RUN's
 *      doorstep (without it, the destination's guest never ran);
 *   4  right after the package.
 */
#define MIGRATION_PING_RETURN_PATH       1
#define MIGRATION_PING_POSTCOPY_DISCARD  2
#define MIGRATION_PING_POSTCOPY_PACKAGE  3
#define MIGRATION_PING_POSTCOPY_SENT     4

/*
 * The postcopy-preempt channel (capability postcopy-preempt, both sides):
 * a second connection to the migration URI, opened by the source right
 * after the main one (so the destination accepts the main one first; a
 * QEMU 7.2 destination tells them apart by that order only).  No magic,
 * no header, no sections, no commands: only RAM page records (ZERO and
 * PAGE, the "ram" section's record format, with CONTINUE counted on this
 * channel alone), each host page whole and alone.  With
 * x-preempt-pre-7-2=on the source ends it with RAM_SAVE_FLAG_EOS at the
 * end of postcopy (QEMU 7.2 machine types); otherwise it just closes it.
 */

/* ------------------------------------------------------------------ 8 */
/*
 * RDMA transport (migration/rdma.c, docs/devel/migration/rdma.rst).  The
 * protocol calls itself version 1 and is the same in QEMU 7.2 and 10.2.
 *
 * Capabilities: the librdmacm CONNECT private data, 8 bytes (a transport
 * may pad it; only 8 are read): be32 version, be32 flags.  The source
 * offers PIN_ALL when rdma-pin-all is on; the destination answers with
 * the flags it grants (QEMU always grants PIN_ALL).
 */
#define RDMA_CONTROL_VERSION_CURRENT 1
#define RDMA_CAPABILITY_PIN_ALL      0x01     /* the only flag defined */
#define RDMA_CAPS_SIZE               8

/*
 * Control message: one IB SEND of a 16-byte header and len payload bytes:
 *   be32 len      payload bytes (at most RDMA_CONTROL_MAX_BUFFER - 16)
 *   be32 type     RDMA_CONTROL_*
 *   be32 repeat   same-type entries in the payload
 *   u32  padding  not byte-swapped; 0 from Godwit and QEMU 10.2
 * QEMU 7.2 leaves repeat and padding uninitialised in QEMU_FILE messages:
 * receivers ignore both there.  Each side has three buffers of
 * RDMA_CONTROL_MAX_BUFFER: slot 0 receives READY-paced messages, slot 1
 * an expected reply, slot 2 sends.
 *
 * docs/rdma.txt in QEMU numbers the types 1..12; these are the wire
 * values (0..11).  NONE is never sent: it means "any type" to a receiver.
 */
#define RDMA_CONTROL_HEADER_SIZE     16
#define RDMA_CONTROL_MAX_BUFFER      (512 * 1024)
#define RDMA_CONTROL_NONE                 0
#define RDMA_CONTROL_ERROR                1   /* either way, len 0 */
#define RDMA_CONTROL_READY                2   /* reader -> writer, len 0 */
#define RDMA_CONTROL_QEMU_FILE            3   /* stream bytes, 1..32768 */
#define RDMA_CONTROL_RAM_BLOCKS_REQUEST   4   /* src -> dst, len 0 */
#define RDMA_CONTROL_RAM_BLOCKS_RESULT    5   /* dst -> src, N x DestBlock */
#define RDMA_CONTROL_COMPRESS             6   /* src -> dst, one Compress */
#define RDMA_CONTROL_REGISTER_REQUEST     7   /* src -> dst, repeat x Register */
#define RDMA_CONTROL_REGISTER_RESULT      8   /* dst -> src, one Result */
#define RDMA_CONTROL_REGISTER_FINISHED    9   /* src -> dst, len 0 */
#define RDMA_CONTROL_UNREGISTER_REQUEST  10   /* src -> dst, one Register */
#define RDMA_CONTROL_UNREGISTER_FINISHED 11   /* dst -> src, len 0 */
#define RDMA_CONTROL_TYPE_COUNT          12

/* Stream bytes per QEMU_FILE message (RDMA_SEND_INCREMENT). */
#define RDMA_SEND_INCREMENT          32768
/* Most entries a destination accepts in one REGISTER_REQUEST. */
#define RDMA_CONTROL_MAX_COMMANDS_PER_MESSAGE 4096

/*
 * Payload entries (packed, big-endian; "u32 pad" is not converted, 0):
 *   RDMADestBlock (32)     be64 remote_host_addr, be64 offset,
 *                          be64 length, be32 remote_rkey, u32 pad
 *   RDMARegister (24)      be64 key (source address translated into the
 *                          destination's ram_addr space, or a chunk
 *                          index), be32 current_index, u32 pad,
 *                          be64 chunks (extra chunks; 0 from QEMU)
 *   RDMARegisterResult (16) be32 rkey, u32 pad, be64 host_addr (the
 *                          destination block's base address)
 *   RDMACompress (24)      be32 value (fill byte; 0), be32 block_idx,
 *                          be64 offset, be64 length
 */
#define RDMA_DEST_BLOCK_SIZE         32
#define RDMA_REGISTER_SIZE           24
#define RDMA_REGISTER_RESULT_SIZE    16
#define RDMA_COMPRESS_SIZE           24

/*
 * Registration chunks: 1 MiB, counted from a block's host start; a
 * block has (length >> 20) + 1 chunks (an empty one when the length is a
 * multiple).  An RDMA WRITE never crosses a chunk; RDMA_MERGE_MAX bounds
 * a merged write as well (never reached with 1 MiB chunks).
 */
#define RDMA_REG_CHUNK_SHIFT         20
#define RDMA_REG_CHUNK_SIZE          (1UL << RDMA_REG_CHUNK_SHIFT)
#define RDMA_MERGE_MAX               (2 * 1024 * 1024)

#endif
