/*
 * savevm, the postcopy parts: the postcopy commands the source sends, and
 * on the destination the handlers of ADVISE, RAM_DISCARD, LISTEN (which
 * starts the listen thread), RUN and PACKAGED.
 *
 * docs/devel/migration/postcopy.rst has the sequence and the incoming
 * postcopy state machine; savevm.h the contract with migration.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "migration/qemu-file.h"
#include "migration/wire.h"
#include "migration/options.h"
#include "migration/migration.h"
#include "migration/savevm.h"
#include "migration/savevm-postcopy.h"
#include "migration/ram.h"
#include "migration/postcopy-ram.h"
#include "io/channel-buffer.h"
#include "trace.h"

/* ------------------------------------------------------------ send */

void qemu_savevm_send_postcopy_advise(QEMUFile *f)
{
    uint8_t buf[MIG_CMD_POSTCOPY_ADVISE_LEN_RAM];

    put_be64_p(buf, qemu_ram_pagesize_summary());
    put_be64_p(buf + 8, TARGET_PAGE_SIZE);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_ADVISE, sizeof(buf), buf);
}

void qemu_savevm_send_postcopy_ram_discard(QEMUFile *f, const char *name,
                                           unsigned n, const uint64_t *starts,
                                           const uint64_t *lens)
{
    size_t name_len = strlen(name);
    uint8_t buf[3 + QEMU_VM_COUNTED_STRING_MAX +
                16 * MIG_CMD_POSTCOPY_RAM_DISCARD_MAX_RANGES];
    size_t len = 0;

    assert(name_len <= QEMU_VM_COUNTED_STRING_MAX);
    assert(n >= 1 && n <= MIG_CMD_POSTCOPY_RAM_DISCARD_MAX_RANGES);
    buf[len++] = MIG_CMD_POSTCOPY_RAM_DISCARD_VERSION;
    buf[len++] = name_len;
    memcpy(buf + len, name, name_len);
    len += name_len;
    buf[len++] = 0;
    for (unsigned i = 0; i < n; i++) {
        put_be64_p(buf + len, starts[i]);
        put_be64_p(buf + len + 8, lens[i]);
        len += 16;
    }
    trace_savevm_send_postcopy_ram_discard(name, n);
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_RAM_DISCARD, len, buf);
}

void qemu_savevm_send_recv_bitmap(QEMUFile *f, const char *name)
{
    size_t n = strlen(name);
    uint8_t buf[1 + QEMU_VM_COUNTED_STRING_MAX];

    assert(n <= QEMU_VM_COUNTED_STRING_MAX);
    buf[0] = n;
    memcpy(buf + 1, name, n);
    qemu_savevm_command_send(f, MIG_CMD_RECV_BITMAP, 1 + n, buf);
}

void qemu_savevm_send_postcopy_resume(QEMUFile *f)
{
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_RESUME, 0, NULL);
}

void qemu_savevm_send_postcopy_listen(QEMUFile *f)
{
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_LISTEN, 0, NULL);
}

void qemu_savevm_send_postcopy_run(QEMUFile *f)
{
    qemu_savevm_command_send(f, MIG_CMD_POSTCOPY_RUN, 0, NULL);
}

bool qemu_savevm_send_packaged(QEMUFile *f, const uint8_t *buf, size_t len,
                               Error **errp)
{
    uint8_t hdr[4];

    if (len > UINT32_MAX) {
        error_setg(errp, "postcopy package of %zu bytes is larger than "
                   "the 4 GiB a PACKAGED command can carry", len);
        return false;
    }
    hdr[0] = len >> 24;
    hdr[1] = len >> 16;
    hdr[2] = len >> 8;
    hdr[3] = len;
    trace_savevm_send_packaged(len);
    qemu_savevm_command_send(f, MIG_CMD_PACKAGED, sizeof(hdr), hdr);
    qemu_put_buffer(f, buf, len);
    qemu_fflush(f);
    return qemu_file_get_error_obj(f, errp) == 0;
}

/* ------------------------------------------------------------ postcopy */

bool loadvm_postcopy_handle_advise(LoadVMState *lv, uint16_t len,
                                          Error **errp)
{
    PostcopyState ps = postcopy_state_get();
    uint64_t remote_summary, local_summary, remote_tps;
    uint8_t buf[MIG_CMD_POSTCOPY_ADVISE_LEN_RAM];

    trace_loadvm_postcopy_handle_advise(len);
    if (ps != POSTCOPY_INCOMING_NONE) {
        error_setg(errp, "POSTCOPY_ADVISE in postcopy state %s (must be "
                   "none)", postcopy_state_name(ps));
        return false;
    }
    if (!lv->mis) {
        error_setg(errp, "POSTCOPY_ADVISE outside an incoming migration");
        return false;
    }
    if (len == MIG_CMD_POSTCOPY_ADVISE_LEN_NONE) {
        if (migrate_postcopy_ram()) {
            error_setg(errp, "RAM postcopy is enabled but have 0 byte "
                       "advise");
        } else {
            error_setg(errp, "POSTCOPY_ADVISE of length 0 (dirty-bitmaps "
                       "postcopy) is not supported: Godwit has no block "
                       "dirty bitmaps");
        }
        return false;
    }
    if (len != MIG_CMD_POSTCOPY_ADVISE_LEN_RAM) {
        error_setg(errp, "CMD_POSTCOPY_ADVISE invalid length (%u)", len);
        return false;
    }
    if (qemu_get_buffer(lv->f, buf, sizeof(buf)) != sizeof(buf)) {
        lv_file_failed(lv, "reading POSTCOPY_ADVISE", errp);
        return false;
    }
    if (!migrate_postcopy_ram()) {
        error_setg(errp, "RAM postcopy is disabled but have 16 byte advise "
                   "(turn postcopy-ram on on the destination too)");
        return false;
    }
    remote_summary = get_be64_p(buf);
    remote_tps = get_be64_p(buf + 8);
    local_summary = qemu_ram_pagesize_summary();
    if (remote_summary != local_summary) {
        error_setg(errp, "Postcopy needs matching RAM page sizes "
                   "(s=0x%" PRIx64 " d=0x%" PRIx64 ")", remote_summary,
                   local_summary);
        return false;
    }
    if (remote_tps != TARGET_PAGE_SIZE) {
        error_setg(errp, "Postcopy needs matching target page sizes "
                   "(s=%" PRIu64 " d=%llu)", remote_tps,
                   (unsigned long long)TARGET_PAGE_SIZE);
        return false;
    }
    if (!postcopy_ram_incoming_init(lv->mis, errp)) {
        return false;
    }
    postcopy_state_set(POSTCOPY_INCOMING_ADVISE);
    return true;
}

bool loadvm_postcopy_handle_discard(LoadVMState *lv, uint16_t len,
                                           Error **errp)
{
    PostcopyState ps = postcopy_state_get();
    uint8_t buf[UINT16_MAX];
    char name[QEMU_VM_COUNTED_STRING_MAX + 1];
    size_t name_len, off, n;
    RAMBlock *rb;

    if (ps != POSTCOPY_INCOMING_ADVISE && ps != POSTCOPY_INCOMING_DISCARD) {
        error_setg(errp, "POSTCOPY_RAM_DISCARD in postcopy state %s (must "
                   "be advise or discard)", postcopy_state_name(ps));
        return false;
    }
    if (len < MIG_CMD_POSTCOPY_RAM_DISCARD_MIN_LEN) {
        error_setg(errp, "POSTCOPY_RAM_DISCARD: length %u is below the "
                   "minimum %d", len, MIG_CMD_POSTCOPY_RAM_DISCARD_MIN_LEN);
        return false;
    }
    if (qemu_get_buffer(lv->f, buf, len) != len) {
        lv_file_failed(lv, "reading POSTCOPY_RAM_DISCARD", errp);
        return false;
    }
    if (buf[0] != MIG_CMD_POSTCOPY_RAM_DISCARD_VERSION) {
        error_setg(errp, "POSTCOPY_RAM_DISCARD: version %u, expected %d",
                   buf[0], MIG_CMD_POSTCOPY_RAM_DISCARD_VERSION);
        return false;
    }
    name_len = buf[1];
    if (3 + name_len > len || (len - 3 - name_len) % 16 != 0) {
        error_setg(errp, "POSTCOPY_RAM_DISCARD: length %u does not hold a "
                   "%zu-byte block name and whole 16-byte ranges", len,
                   name_len);
        return false;
    }
    memcpy(name, buf + 2, name_len);
    name[name_len] = 0;
    if (buf[2 + name_len] != 0) {
        error_setg(errp, "POSTCOPY_RAM_DISCARD: missing nil after the block "
                   "name (0x%02x)", buf[2 + name_len]);
        return false;
    }
    if (strlen(name) != name_len) {
        error_setg(errp, "POSTCOPY_RAM_DISCARD: block name with a NUL byte");
        return false;
    }
    rb = qemu_ram_block_by_name(name);
    if (!rb || ramblock_is_ignored(rb)) {
        error_setg(errp, "POSTCOPY_RAM_DISCARD: unknown or ignored RAM "
                   "block '%s'", name);
        return false;
    }
    postcopy_state_set(POSTCOPY_INCOMING_DISCARD);
    n = (len - 3 - name_len) / 16;
    trace_loadvm_postcopy_ram_handle_discard(name, n);
    for (off = 3 + name_len; n--; off += 16) {
        uint64_t start = get_be64_p(buf + off);
        uint64_t rlen = get_be64_p(buf + off + 8);

        if (!postcopy_ram_discard_range(rb, start, rlen, errp)) {
            error_prepend(errp, "POSTCOPY_RAM_DISCARD: ");
            return false;
        }
    }
    return true;
}

static void *loadvm_postcopy_listen_thread(void *opaque)
{
    LoadVMState *lv = opaque;
    MigrationIncomingState *mis = lv->mis;
    Error *err = NULL;
    bool ok;

    trace_loadvm_postcopy_listen_thread_start();
    migrate_set_state(&mis->state, MIGRATION_STATUS_ACTIVE,
                      MIGRATION_STATUS_POSTCOPY_ACTIVE);
    for (;;) {
        ok = loadvm_main_loop(lv, &err);
        if (ok && lv->quit) {
            error_setg(&err, "POSTCOPY_RUN on the main stream after the "
                       "package");
            ok = false;
        }
        if (ok) {
            postcopy_preempt_incoming_drain(mis);
            break;
        }
        /* the guest runs here: pause, keep everything, wait for recovery */
        if (!postcopy_incoming_pause(mis, err)) {
            break;
        }
        err = NULL;
        lv->f = mis->from_src_file;
    }
    g_hash_table_unref(lv->sections);
    g_free(lv);
    trace_loadvm_postcopy_listen_thread_end(ok);
    migration_incoming_postcopy_done(mis, ok, err);
    return NULL;
}

bool loadvm_postcopy_handle_listen(LoadVMState *lv, Error **errp)
{
    PostcopyState ps = postcopy_state_get();
    LoadVMState *main = lv->parent, *llv;

    trace_loadvm_postcopy_handle_listen(postcopy_state_name(ps));
    if (ps != POSTCOPY_INCOMING_ADVISE && ps != POSTCOPY_INCOMING_DISCARD) {
        error_setg(errp, "POSTCOPY_LISTEN in postcopy state %s (must be "
                   "advise or discard)", postcopy_state_name(ps));
        return false;
    }
    if (!main || !lv->mis) {
        /* the main thread would go on reading the stream the listen
         * thread reads */
        error_setg(errp, "POSTCOPY_LISTEN outside a PACKAGED command");
        return false;
    }
    if (!postcopy_ram_incoming_setup(lv->mis, errp)) {
        return false;
    }
    postcopy_state_set(POSTCOPY_INCOMING_LISTENING);
    postcopy_preempt_incoming_listen(lv->mis);
    llv = g_new0(LoadVMState, 1);
    llv->f = main->f;
    llv->mis = main->mis;
    llv->sections = g_hash_table_ref(main->sections);
    lv->mis->listen_thread_created = true;
    qemu_thread_create(&lv->mis->listen_thread, "mig/dst/listen",
                       loadvm_postcopy_listen_thread, llv,
                       QEMU_THREAD_JOINABLE);
    return true;
}

bool loadvm_postcopy_handle_run(LoadVMState *lv, Error **errp)
{
    PostcopyState ps = postcopy_state_get();

    if (ps != POSTCOPY_INCOMING_LISTENING) {
        error_setg(errp, "POSTCOPY_RUN in postcopy state %s (must be "
                   "listening)", postcopy_state_name(ps));
        return false;
    }
    postcopy_state_set(POSTCOPY_INCOMING_RUNNING);
    trace_loadvm_postcopy_handle_run();
    migration_incoming_postcopy_run(lv->mis);
    lv->quit = true;
    return true;
}

bool loadvm_handle_recv_bitmap(LoadVMState *lv, uint16_t len, Error **errp)
{
    char name[QEMU_VM_COUNTED_STRING_MAX + 1];
    uint8_t buf[1 + QEMU_VM_COUNTED_STRING_MAX];
    MigrationStatus st;
    RAMBlock *rb;

    if (len < 2 || qemu_get_buffer(lv->f, buf, len) != len) {
        if (!lv_file_failed(lv, "reading RECV_BITMAP", errp)) {
            error_setg(errp, "RECV_BITMAP of length %u", len);
        }
        return false;
    }
    if (buf[0] != len - 1) {
        error_setg(errp, "RECV_BITMAP: length %u does not hold a %u-byte "
                   "block name", len, buf[0]);
        return false;
    }
    memcpy(name, buf + 1, buf[0]);
    name[buf[0]] = 0;
    rb = qemu_ram_block_by_name(name);
    if (strlen(name) != buf[0] || !rb || ramblock_is_ignored(rb)) {
        error_setg(errp, "RECV_BITMAP: unknown RAM block '%s'", name);
        return false;
    }
    st = lv->mis ? qatomic_read(&lv->mis->state) : MIGRATION_STATUS_NONE;
    if (st != MIGRATION_STATUS_POSTCOPY_RECOVER) {
        error_setg(errp, "RECV_BITMAP of block '%s' in state %s (must be "
                   "postcopy-recover)", name, MigrationStatus_str(st));
        return false;
    }
    return migrate_send_rp_recv_bitmap(lv->mis, rb, errp);
}

bool loadvm_handle_postcopy_resume(LoadVMState *lv, Error **errp)
{
    MigrationStatus st = lv->mis ? qatomic_read(&lv->mis->state)
                                 : MIGRATION_STATUS_NONE;

    if (st != MIGRATION_STATUS_POSTCOPY_RECOVER) {
        /* as QEMU: only a warning */
        trace_loadvm_postcopy_resume_ignored(MigrationStatus_str(st));
        return true;
    }
    return postcopy_incoming_resume(lv->mis, errp);
}

/* Returns 1 to go on, 0 when the package ran POSTCOPY_RUN, -1 on error. */
int loadvm_handle_packaged(LoadVMState *lv, Error **errp)
{
    uint32_t len = qemu_get_be32(lv->f);
    QIOChannelBuffer *bioc;
    LoadVMState pack = { .mis = lv->mis, .parent = lv };
    bool ok;

    if (lv_file_failed(lv, "reading PACKAGED", errp)) {
        return -1;
    }
    if (lv->parent) {
        error_setg(errp, "PACKAGED inside a package");
        return -1;
    }
    trace_loadvm_handle_packaged(len);
    bioc = qio_channel_buffer_new(len ? len : 1);
    bioc->usage = qemu_get_buffer(lv->f, bioc->data, len);
    if (bioc->usage != len) {
        qio_channel_unref(QIO_CHANNEL(bioc));
        lv_file_failed(lv, "reading the PACKAGED payload", errp);
        error_prepend(errp, "package of %u bytes: ", len);
        return -1;
    }
    pack.f = qemu_file_new_input(QIO_CHANNEL(bioc));
    qio_channel_unref(QIO_CHANNEL(bioc));
    pack.sections = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                          NULL, g_free);
    ok = loadvm_main_loop(&pack, errp);
    if (ok && !pack.quit && postcopy_state_get() >=
                            POSTCOPY_INCOMING_LISTENING) {
        error_setg(errp, "the postcopy package ended without POSTCOPY_RUN");
        ok = false;
    }
    if (!ok) {
        error_prepend(errp, "in the package of %u bytes at offset %" PRIu64
                      ": ", len, qemu_file_transferred(pack.f));
    }
    g_hash_table_destroy(pack.sections);
    qemu_fclose(pack.f);
    if (!ok) {
        return -1;
    }
    return pack.quit ? 0 : 1;
}
