/*
 * The return path: the destination's messages to the source (SHUT, PONG,
 * page requests, recovery bitmaps and acks) on the reverse direction of the
 * main channel.  The source reads them in its own thread; the destination
 * writes them from any thread under mis->rp_mutex.
 *
 * Byte layout and the message table: docs/devel/migration/main.rst
 * ("Return path"); constants in wire.h.
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qapi/error.h"
#include "migration/migration.h"
#include "migration/migration-rp.h"
#include "migration/migration-postcopy.h"
#include "migration/qemu-file.h"
#include "migration/wire.h"
#include "migration/trace.h"

/* ------------------------------------------------------- source: return path */

bool rp_error(MigrationState *s, Error *err)
{
    migrate_set_error(s, err);
    s->rp_state.error = true;
    return false;
}

/* Handle one message; false ends the thread. */
static bool rp_handle(MigrationState *s, uint16_t type, uint16_t len,
                      const uint8_t *buf)
{
    Error *err = NULL;
    uint32_t v;

    switch (type) {
    case MIG_RP_MSG_SHUT:
        v = ldl_be_p(buf);
        trace_source_return_path_thread_shut(v);
        s->rp_state.shut_received = true;
        if (v) {
            error_setg(&err, "Return path: the destination reported an "
                       "error while loading the stream (SHUT %u)", v);
            return rp_error(s, err);
        }
        return false;
    case MIG_RP_MSG_PONG:
        v = ldl_be_p(buf);
        trace_source_return_path_thread_pong(v);
        qatomic_set(&s->rp_state.last_pong, v);
        qatomic_inc(&s->rp_state.pongs);
        if (v == MIGRATION_PING_POSTCOPY_PACKAGE) {
            qatomic_set(&s->rp_state.package_loaded, true);
        }
        return true;
    case MIG_RP_MSG_REQ_PAGES:
    case MIG_RP_MSG_REQ_PAGES_ID:
        return rp_req_pages(s, type, len, buf);
    case MIG_RP_MSG_RECV_BITMAP:
        return rp_recv_bitmap(s, len, buf);
    case MIG_RP_MSG_RESUME_ACK:
        return rp_resume_ack(s, ldl_be_p(buf));
    default:
        error_setg(&err, "Return path: message type %u is not supported "
                   "by QEMU 7.2 streams", type);
        return rp_error(s, err);
    }
}

static int rp_fixed_len(uint16_t type)
{
    switch (type) {
    case MIG_RP_MSG_SHUT:
        return MIG_RP_MSG_SHUT_LEN;
    case MIG_RP_MSG_PONG:
        return MIG_RP_MSG_PONG_LEN;
    case MIG_RP_MSG_REQ_PAGES:
        return MIG_RP_MSG_REQ_PAGES_LEN;
    case MIG_RP_MSG_RESUME_ACK:
        return MIG_RP_MSG_RESUME_ACK_LEN;
    default:
        return -1;
    }
}

static void *source_return_path_thread(void *opaque)
{
    MigrationState *s = opaque;
    QEMUFile *rp = s->rp_state.from_dst_file;
    uint8_t buf[MIG_RP_MSG_MAX_LEN];

    trace_source_return_path_thread_entry();
    for (;;) {
        uint16_t type = qemu_get_be16(rp);
        uint16_t len = qemu_get_be16(rp);
        Error *err = NULL;
        int expect;

        if (qemu_file_get_error(rp)) {
            if (!s->rp_state.shut_received &&
                migration_is_running(qatomic_read(&s->state)) &&
                qatomic_read(&s->state) != MIGRATION_STATUS_CANCELLING) {
                qemu_file_get_error_obj(rp, &err);
                error_prepend(&err, "Return path: ");
                rp_error(s, err);
            }
            break;
        }
        trace_source_return_path_thread_msg(type, len);
        if (type == MIG_RP_MSG_INVALID || type >= MIG_RP_MSG_MAX_QEMU_7_2) {
            error_setg(&err, "Return path: received invalid message type "
                       "0x%04x length 0x%04x", type, len);
            rp_error(s, err);
            break;
        }
        expect = rp_fixed_len(type);
        if (len > MIG_RP_MSG_MAX_LEN || (expect >= 0 && len != expect)) {
            error_setg(&err, "Return path: message type 0x%04x has length "
                       "0x%04x, expected 0x%04x", type, len,
                       expect >= 0 ? expect : MIG_RP_MSG_MAX_LEN);
            rp_error(s, err);
            break;
        }
        if (qemu_get_buffer(rp, buf, len) != len) {
            qemu_file_get_error_obj(rp, &err);
            if (!err) {
                error_setg(&err, "Return path: short message");
            }
            rp_error(s, err);
            break;
        }
        if (!rp_handle(s, type, len, buf)) {
            break;
        }
    }
    trace_source_return_path_thread_end(s->rp_state.error);
    /* a recovery waiting for bitmaps or RESUME_ACK learns it ended */
    qemu_sem_post(&s->rp_state.rp_sem);
    return NULL;
}

bool open_return_path_on_source(MigrationState *s, Error **errp)
{
    s->rp_state.from_dst_file = qemu_file_get_return_path(s->to_dst_file);
    if (!s->rp_state.from_dst_file) {
        error_setg(errp, "Unable to open the return path of the migration "
                   "channel");
        return false;
    }
    s->rp_state.error = false;
    s->rp_state.shut_received = false;
    qemu_thread_create(&s->rp_state.rp_thread, "return path",
                       source_return_path_thread, s, QEMU_THREAD_JOINABLE);
    s->rp_state.rp_thread_created = true;
    return true;
}

/* Wait for the RP thread to end (the destination's SHUT); false on error. */
bool await_return_path_close_on_source(MigrationState *s)
{
    if (!s->rp_state.rp_thread_created) {
        return true;
    }
    if (qemu_file_get_error(s->to_dst_file)) {
        qemu_file_shutdown(s->rp_state.from_dst_file);
    }
    qemu_thread_join(&s->rp_state.rp_thread);
    s->rp_state.rp_thread_created = false;
    return !s->rp_state.error;
}

/* ------------------------------------------------ destination: return path */

bool rp_send(MigrationIncomingState *mis, uint16_t type, uint16_t len,
             const uint8_t *data, Error **errp)
{
    bool ok;
    int ret;

    qemu_mutex_lock(&mis->rp_mutex);
    if (!mis->to_src_file) {
        qemu_mutex_unlock(&mis->rp_mutex);
        error_setg(errp, "no return path is open");
        return false;
    }
    trace_migrate_send_rp_message(type, len);
    qemu_put_be16(mis->to_src_file, type);
    qemu_put_be16(mis->to_src_file, len);
    qemu_put_buffer(mis->to_src_file, data, len);
    qemu_fflush(mis->to_src_file);
    ret = qemu_file_get_error(mis->to_src_file);
    ok = ret == 0;
    qemu_mutex_unlock(&mis->rp_mutex);
    if (!ok) {
        error_setg_errno(errp, -ret, "writing message %u to the return path failed",
                         type);
    }
    return ok;
}

bool migration_incoming_open_return_path(MigrationIncomingState *mis)
{
    qemu_mutex_lock(&mis->rp_mutex);
    if (!mis->to_src_file && mis->from_src_file) {
        mis->to_src_file = qemu_file_get_return_path(mis->from_src_file);
    }
    qemu_mutex_unlock(&mis->rp_mutex);
    trace_migration_incoming_open_return_path(mis->to_src_file != NULL);
    return mis->to_src_file != NULL;
}

bool migrate_send_rp_pong(MigrationIncomingState *mis, uint32_t value,
                          Error **errp)
{
    uint8_t buf[4];

    stl_be_p(buf, value);
    return rp_send(mis, MIG_RP_MSG_PONG, sizeof(buf), buf, errp);
}

bool migrate_send_rp_shut(MigrationIncomingState *mis, uint32_t value,
                          Error **errp)
{
    uint8_t buf[4];

    stl_be_p(buf, value);
    return rp_send(mis, MIG_RP_MSG_SHUT, sizeof(buf), buf, errp);
}
