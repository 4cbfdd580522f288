/*
 * Live migration, the postcopy parts of the state machine: the source's
 * switch to postcopy, its completion and its pause on an error, the page
 * requests on the return path (both directions), the destination's run
 * and end of postcopy, and the postcopy QMP commands.
 *
 * docs/devel/migration/postcopy.rst has the sequence and state diagrams;
 * migration.h says who owns what.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/main-loop.h"
#include "qemu/bitops.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qapi-commands.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "exec/memory.h"
#include "migration/migration.h"
#include "migration/migration-rp.h"
#include "migration/migration-postcopy.h"
#include "migration/socket.h"
#include "migration/tls.h"
#include "migration/savevm.h"
#include "migration/wire.h"
#include "migration/ram.h"
#include "migration/postcopy-ram.h"
#include "io/channel-buffer.h"
#include "io/channel-socket.h"
#include "qemu/sockets.h"
#include "migration/trace.h"

static int64_t now_ms(void)
{
    return get_clock_realtime() / 1000000;
}

static SocketAddress *preempt_uri_address(const char *uri, Error **errp);

/* ------------------------------------------------- source: return path */

/* REQ_PAGES(_ID): check and queue; wake the migration thread. */
bool rp_req_pages(MigrationState *s, uint16_t type, uint16_t len,
                         const uint8_t *buf)
{
    uint64_t start = ldq_be_p(buf);
    uint32_t rlen = ldl_be_p(buf + 8);
    char name[QEMU_VM_COUNTED_STRING_MAX + 1];
    Error *err = NULL;

    if (type == MIG_RP_MSG_REQ_PAGES_ID) {
        size_t n;

        if (len < MIG_RP_MSG_REQ_PAGES_ID_MIN_LEN) {
            error_setg(&err, "Return path: REQ_PAGES_ID of length %u is too "
                       "short", len);
            return rp_error(s, err);
        }
        n = buf[12];
        if (len != 13 + n || n == 0) {
            error_setg(&err, "Return path: REQ_PAGES_ID of length %u with a "
                       "block name of %zu bytes", len, n);
            return rp_error(s, err);
        }
        memcpy(name, buf + 13, n);
        name[n] = 0;
        if (strlen(name) != n) {
            error_setg(&err, "Return path: REQ_PAGES_ID block name with a "
                       "NUL byte");
            return rp_error(s, err);
        }
    }
    if (!migrate_postcopy_ram()) {
        error_setg(&err, "Return path: page request while postcopy-ram is "
                   "off");
        return rp_error(s, err);
    }
    if (ram_postcopy_preempt_active()) {
        RAMBlock *rb;

        /* postcopy-preempt: sent at once on its own channel */
        if (!postcopy_req_resolve(&s->page_requests,
                                  type == MIG_RP_MSG_REQ_PAGES_ID ? name
                                                                  : NULL,
                                  start, rlen, &rb, &err) ||
            !ram_postcopy_send_urgent(rb, start, rlen, &err)) {
            error_prepend(&err, "Return path: ");
            return rp_error(s, err);
        }
        stat64_add(&s->stats.postcopy_requests, 1);
        return true;
    }
    if (!postcopy_req_queue_add(&s->page_requests,
                                type == MIG_RP_MSG_REQ_PAGES_ID ? name : NULL,
                                start, rlen, &err)) {
        error_prepend(&err, "Return path: ");
        return rp_error(s, err);
    }
    stat64_add(&s->stats.postcopy_requests, 1);
    /* a migration thread sleeping on the rate limit sends it now */
    qemu_sem_post(&s->rate_limit_sem);
    return true;
}

/* ------------------------------------------------- source: postcopy */

/*
 * An error in postcopy: the guest may run on the destination with part
 * of its memory here, so nothing is dropped.  If the destination said it
 * failed (SHUT) before it could reach POSTCOPY_RUN (no PONG 3), its guest
 * never ran: the migration fails and the guest runs on here.  Otherwise
 * both channels are shut down and the migration is paused, its RAM and
 * device state kept for a recovery (not built yet: it stays paused).
 */
/* Shut both outgoing channels down (any thread). */
static void postcopy_shutdown_source(MigrationState *s)
{
    qemu_mutex_lock(&s->qemu_file_lock);
    if (s->to_dst_file) {
        qemu_file_shutdown(s->to_dst_file);
    }
    if (s->postcopy_qemufile_src) {
        qemu_file_shutdown(s->postcopy_qemufile_src);
    }
    qemu_mutex_unlock(&s->qemu_file_lock);
}

/*
 * Paused (migration thread): join the return-path thread and close every
 * channel; the RAM state and its bitmaps stay.
 */
static void postcopy_pause_release(MigrationState *s)
{
    QEMUFile *f;

    if (s->rp_state.rp_thread_created) {
        qemu_file_shutdown(s->rp_state.from_dst_file);
        qemu_thread_join(&s->rp_state.rp_thread);
        s->rp_state.rp_thread_created = false;
    }
    if (s->rp_state.from_dst_file) {
        qemu_fclose(s->rp_state.from_dst_file);
        s->rp_state.from_dst_file = NULL;
    }
    qemu_mutex_lock(&s->qemu_file_lock);
    f = s->to_dst_file;
    s->to_dst_file = NULL;
    qemu_mutex_unlock(&s->qemu_file_lock);
    if (f) {
        s->prev_channels_bytes += qemu_file_transferred(f);
        qemu_fclose(f);
    }
    postcopy_preempt_close_source(s);
}

/*
 * The source's side of a recovery, in the migration thread, on the new
 * main channel (state postcopy-recover): return path, preempt channel,
 * RECV_BITMAP for every block and wait for the bitmaps (the RP thread
 * turns each into "dirty = not received"), RESUME and wait for RESUME_ACK
 * (the RP thread moves the state to postcopy-active).
 */
static bool postcopy_do_resume(MigrationState *s, Error **errp)
{
    QEMUFile *f = s->to_dst_file;
    unsigned n = 0;
    RAMBlock *rb;

    while (qemu_sem_timedwait(&s->rp_state.rp_sem, 0) == 0) {
        /* stale posts of the previous return-path thread */
    }
    RAMBLOCK_FOREACH(rb) {
        n += !ramblock_is_ignored(rb);
    }
    qatomic_set(&s->rp_state.bitmaps_expected, n);
    qatomic_set(&s->rp_state.bitmaps_received, 0);
    s->rp_state.error = false;
    s->rp_state.shut_received = false;
    if (!open_return_path_on_source(s, errp)) {
        return false;
    }
    if (migrate_postcopy_preempt() && !postcopy_preempt_connect(s, errp)) {
        return false;
    }
    ram_postcopy_resume_begin();
    trace_postcopy_resume_bitmaps(n);
    RAMBLOCK_FOREACH(rb) {
        if (!ramblock_is_ignored(rb)) {
            qemu_savevm_send_recv_bitmap(f, rb->idstr);
        }
    }
    if (qemu_file_get_error_obj(f, errp)) {
        return false;
    }
    qemu_sem_wait(&s->rp_state.rp_sem);
    if (s->rp_state.error ||
        qatomic_read(&s->rp_state.bitmaps_received) != n) {
        error_setg(errp, "postcopy recovery: the destination's received "
                   "bitmaps did not come (%u of %u)",
                   qatomic_read(&s->rp_state.bitmaps_received), n);
        return false;
    }
    postcopy_req_queue_reset(&s->page_requests);
    ram_postcopy_resume_prepare(s->postcopy_qemufile_src);
    qemu_savevm_send_postcopy_resume(f);
    if (qemu_file_get_error_obj(f, errp)) {
        return false;
    }
    qemu_sem_wait(&s->rp_state.rp_sem);
    if (qatomic_read(&s->state) != MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        error_setg(errp, "postcopy recovery: no RESUME_ACK from the "
                   "destination");
        return false;
    }
    qemu_file_set_rate_limit(f, migrate_max_postcopy_bandwidth() /
                                (1000 / MIGRATION_BUFFER_DELAY_MS));
    migration_window_start(s, now_ms());
    trace_postcopy_resumed();
    return true;
}

bool postcopy_on_error(MigrationState *s, Error *err)
{
    MigrationStatus from = MIGRATION_STATUS_POSTCOPY_ACTIVE;

    if (qatomic_read(&s->rp_state.shut_received) &&
        !qatomic_read(&s->rp_state.package_loaded)) {
        migration_fail(s, err);
        return false;
    }
    for (;;) {
        if (err) {
            migrate_set_error(s, err);
            err = NULL;
        }
        postcopy_shutdown_source(s);
        /* before "paused": migrate -r may replace the file from then on */
        postcopy_pause_release(s);
        if (!migrate_set_state(&s->state, from,
                               MIGRATION_STATUS_POSTCOPY_PAUSED)) {
            return false;
        }
        qemu_mutex_lock(&s->error_mutex);
        trace_postcopy_pause(s->error ? error_get_pretty(s->error) : "");
        qemu_mutex_unlock(&s->error_mutex);
        /* migrate -r connected: postcopy-paused -> postcopy-recover */
        while (qatomic_read(&s->state) == MIGRATION_STATUS_POSTCOPY_PAUSED) {
            qemu_sem_wait(&s->postcopy_pause_sem);
        }
        if (qatomic_read(&s->state) != MIGRATION_STATUS_POSTCOPY_RECOVER) {
            return false;
        }
        if (postcopy_do_resume(s, &err)) {
            return true;
        }
        /* failed again: paused again, and it can be retried */
        error_prepend(&err, "postcopy recovery failed: ");
        error_report("%s", error_get_pretty(err));
        from = MIGRATION_STATUS_POSTCOPY_RECOVER;
        if (qatomic_read(&s->state) == MIGRATION_STATUS_POSTCOPY_ACTIVE) {
            from = MIGRATION_STATUS_POSTCOPY_ACTIVE;
        }
    }
}

/* Build the package: LISTEN, every device's state, PING 3, RUN. */
static bool postcopy_send_package(MigrationState *s, QEMUFile *f,
                                  Error **errp)
{
    QIOChannelBuffer *bioc = qio_channel_buffer_new(64 * KiB);
    QEMUFile *fb = qemu_file_new_output(QIO_CHANNEL(bioc));
    bool ok;

    qio_channel_unref(QIO_CHANNEL(bioc));
    qemu_savevm_send_postcopy_listen(fb);
    ok = qemu_savevm_state_devices(fb, errp) == 0;
    if (ok) {
        qemu_savevm_send_ping(fb, MIGRATION_PING_POSTCOPY_PACKAGE);
        qemu_savevm_send_postcopy_run(fb);
        qemu_fflush(fb);
        ok = qemu_file_get_error_obj(fb, errp) == 0 &&
             qemu_savevm_send_packaged(f, bioc->data, bioc->usage, errp);
    }
    trace_postcopy_send_package(bioc->usage, ok);
    qemu_fclose(fb);
    return ok;
}

/*
 * migrate-start-postcopy took effect: stop the VM, send the discard list
 * and the device state, and go on in postcopy-active sending the rest of
 * RAM while the destination runs the guest (facts 5.2).
 */
void postcopy_start(MigrationState *s)
{
    MigrationStatus cur = MIGRATION_STATUS_ACTIVE;
    QEMUFile *f = s->to_dst_file;
    Error *err = NULL;
    bool ok = false;

    trace_postcopy_start();
    bql_lock();
    s->downtime_start = now_ms();
    stat64_set(&s->stats.precopy_bytes, migration_transferred_now(s));
    s->vm_was_running = runstate_is_running();
    global_state_store();
    if (vm_stop_force_state(RUN_STATE_FINISH_MIGRATE) < 0 ||
        !migration_maybe_pause(s, &cur)) {
        bql_unlock();
        migration_fail(s, NULL);
        return;
    }
    if (!migrate_set_state(&s->state, cur,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        /* cancelled meanwhile */
        bql_unlock();
        return;
    }
    qemu_file_set_rate_limit(f, 0);
    if (qemu_savevm_state_complete_precopy_non_postcopy(f, &err) == 0 &&
        ram_postcopy_send_discard_bitmap(f, &err)) {
        qemu_savevm_send_ping(f, MIGRATION_PING_POSTCOPY_DISCARD);
        ok = postcopy_send_package(s, f, &err);
    }
    if (ok) {
        qemu_savevm_send_ping(f, MIGRATION_PING_POSTCOPY_SENT);
        if (migrate_release_ram()) {
            ram_postcopy_migrated_memory_release();
        }
        s->downtime = now_ms() - s->downtime_start;
        stat64_set(&s->stats.downtime_bytes,
                   migration_transferred_now(s) -
                   stat64_get(&s->stats.precopy_bytes));
    }
    bql_unlock();
    if (!ok) {
        /*
         * Nothing of the package reached the destination: its guest never
         * ran, this one runs on (migration_iteration_finish).
         */
        migration_fail(s, err);
        return;
    }
    qemu_file_reset_rate_limit(f);
    qemu_file_set_rate_limit(f, migrate_max_postcopy_bandwidth() /
                                (1000 / MIGRATION_BUFFER_DELAY_MS));
    migration_window_start(s, now_ms());
    migration_check_file(s);
}

/* Nothing is left to send in postcopy: the rest of RAM, EOF, SHUT. */
bool postcopy_completion(MigrationState *s)
{
    Error *err = NULL;

    trace_postcopy_completion();
    qemu_file_set_rate_limit(s->to_dst_file, 0);
    if (qemu_savevm_state_complete_postcopy(s->to_dst_file, &err) < 0) {
        return !postcopy_on_error(s, err);
    }
    if (!await_return_path_close_on_source(s)) {
        return !postcopy_on_error(s, NULL);
    }
    if (qemu_file_get_error_obj(s->to_dst_file, &err)) {
        return !postcopy_on_error(s, err);
    }
    stat64_set(&s->stats.transferred, migration_transferred_now(s));
    stat64_set(&s->stats.postcopy_bytes,
               stat64_get(&s->stats.transferred) -
               stat64_get(&s->stats.precopy_bytes) -
               stat64_get(&s->stats.downtime_bytes));
    migrate_set_state(&s->state, MIGRATION_STATUS_POSTCOPY_ACTIVE,
                      MIGRATION_STATUS_COMPLETED);
    return true;
}

/* ------------------------------------------------- source: recovery */

bool rp_recv_bitmap(MigrationState *s, uint16_t len, const uint8_t *buf)
{
    QEMUFile *rp = s->rp_state.from_dst_file;
    char name[QEMU_VM_COUNTED_STRING_MAX + 1];
    uint64_t size, expect, ending, nbits;
    Error *err = NULL;
    uint8_t *blob;
    RAMBlock *rb;
    size_t n;

    if (len < 2 || buf[0] != len - 1) {
        error_setg(&err, "Return path: RECV_BITMAP of length %u with a "
                   "block name of %u bytes", len, len ? buf[0] : 0);
        return rp_error(s, err);
    }
    n = buf[0];
    memcpy(name, buf + 1, n);
    name[n] = 0;
    rb = qemu_ram_block_by_name(name);
    if (strlen(name) != n || !rb || ramblock_is_ignored(rb)) {
        error_setg(&err, "Return path: RECV_BITMAP for unknown RAM block "
                   "'%s'", name);
        return rp_error(s, err);
    }
    if (qatomic_read(&s->state) != MIGRATION_STATUS_POSTCOPY_RECOVER) {
        error_setg(&err, "Return path: RECV_BITMAP of block '%s' in state "
                   "%s (must be postcopy-recover)", name,
                   MigrationStatus_str(qatomic_read(&s->state)));
        return rp_error(s, err);
    }
    nbits = rb->used_length >> TARGET_PAGE_BITS;
    expect = ROUND_UP(DIV_ROUND_UP(nbits, 8), 8);
    size = qemu_get_be64(rp);
    if (qemu_file_get_error(rp) || size != expect) {
        error_setg(&err, "Return path: received bitmap of block '%s' has "
                   "%" PRIu64 " bytes, expected %" PRIu64, name, size,
                   expect);
        return rp_error(s, err);
    }
    blob = g_malloc(size);
    if (qemu_get_buffer(rp, blob, size) != size) {
        g_free(blob);
        error_setg(&err, "Return path: received bitmap of block '%s' cut "
                   "short", name);
        return rp_error(s, err);
    }
    ending = qemu_get_be64(rp);
    if (qemu_file_get_error(rp) || ending != RAMBLOCK_RECV_BITMAP_ENDING) {
        g_free(blob);
        error_setg(&err, "Return path: received bitmap of block '%s' ends "
                   "with 0x%016" PRIx64 ", expected 0x%016llx", name,
                   ending, (unsigned long long)RAMBLOCK_RECV_BITMAP_ENDING);
        return rp_error(s, err);
    }
    ram_postcopy_reload_bitmap(rb, blob, nbits);
    g_free(blob);
    trace_postcopy_recv_bitmap(name, nbits);
    if (qatomic_fetch_add(&s->rp_state.bitmaps_received, 1) + 1 ==
        qatomic_read(&s->rp_state.bitmaps_expected)) {
        qemu_sem_post(&s->rp_state.rp_sem);
    }
    return true;
}

bool rp_resume_ack(MigrationState *s, uint32_t value)
{
    Error *err = NULL;

    if (value != MIGRATION_RESUME_ACK_VALUE) {
        error_setg(&err, "Return path: RESUME_ACK with value %u (must be "
                   "%d)", value, MIGRATION_RESUME_ACK_VALUE);
        return rp_error(s, err);
    }
    if (!migrate_set_state(&s->state, MIGRATION_STATUS_POSTCOPY_RECOVER,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        error_setg(&err, "Return path: RESUME_ACK in state %s (must be "
                   "postcopy-recover)",
                   MigrationStatus_str(qatomic_read(&s->state)));
        return rp_error(s, err);
    }
    qemu_sem_post(&s->rp_state.rp_sem);
    return true;
}

void postcopy_resume_start(MigrationState *s, const char *uri, Error **errp)
{
    SocketAddress *addr;

    if (qatomic_read(&s->state) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Cannot resume if there is no paused migration");
        return;
    }
    if (s->resume_connecting) {
        error_setg(errp, "A resume of the paused migration is already "
                   "connecting");
        return;
    }
    if (migrate_release_ram()) {
        /* pages in flight when the link broke are gone on both sides */
        error_setg(errp, "Cannot resume: with release-ram the source gave "
                   "back pages the destination may not have received");
        return;
    }
    addr = preempt_uri_address(uri, NULL);
    if (!addr) {
        error_setg(errp, "Cannot resume over '%s': postcopy recovery needs "
                   "a tcp:, unix: or vsock: URI", uri);
        return;
    }
    qapi_free_SocketAddress(addr);
    g_free(s->uri);
    s->uri = g_strdup(uri);
    s->resume_connecting = true;
    trace_postcopy_resume_start(uri);
    socket_start_outgoing_migration(s, g_str_has_prefix(uri, "tcp:") ?
                                       uri + 4 : uri, errp);
}

bool postcopy_resume_connected(MigrationState *s, QIOChannel *ioc,
                               Error *error)
{
    QEMUFile *f;

    if (!s->resume_connecting) {
        return false;
    }
    s->resume_connecting = false;
    if (error) {
        /* still paused: migrate -r may be tried again */
        error_prepend(&error, "postcopy resume: ");
        error_report("%s", error_get_pretty(error));
        migrate_set_error(s, error);
        return true;
    }
    f = qemu_file_new_output(ioc);
    qemu_mutex_lock(&s->qemu_file_lock);
    s->to_dst_file = f;
    qemu_mutex_unlock(&s->qemu_file_lock);
    if (!migrate_set_state(&s->state, MIGRATION_STATUS_POSTCOPY_PAUSED,
                           MIGRATION_STATUS_POSTCOPY_RECOVER)) {
        return true;
    }
    qemu_sem_post(&s->postcopy_pause_sem);
    return true;
}

/* ------------------------------------------------- source: preempt */

/* The socket address of a tcp:/unix:/vsock: URI, or NULL with @errp. */
static SocketAddress *preempt_uri_address(const char *uri, Error **errp)
{
    if (g_str_has_prefix(uri, "tcp:")) {
        return socket_parse(uri + 4, errp);
    }
    if (g_str_has_prefix(uri, "unix:") || g_str_has_prefix(uri, "vsock:")) {
        return socket_parse(uri, errp);
    }
    error_setg(errp, "postcopy-preempt needs a second connection to the "
               "destination: a tcp:, unix: or vsock: URI, not '%s'", uri);
    return NULL;
}

bool postcopy_preempt_check(const char *uri, Error **errp)
{
    SocketAddress *addr;

    if (!migrate_postcopy_preempt_break_huge()) {
        /*
         * Godwit sends requested pages from the return-path thread on the
         * preempt channel (as QEMU 8.0+): a huge page on the main channel
         * never delays them, so there is nothing to break, and
         * "off" (wait for the huge page) cannot be honoured.
         */
        error_setg(errp, "x-postcopy-preempt-break-huge=off is not "
                   "supported: requested pages never wait behind a huge "
                   "page here");
        return false;
    }
    addr = uri ? preempt_uri_address(uri, errp) : NULL;
    if (!addr) {
        return false;
    }
    qapi_free_SocketAddress(addr);
    return true;
}

typedef struct PreemptTLS {
    bool done;
    QIOChannel *tioc;
    Error *err;
} PreemptTLS;

static void preempt_tls_done(QIOTask *task, gpointer opaque)
{
    PreemptTLS *d = opaque;

    if (!qio_task_propagate_error(task, &d->err)) {
        d->tioc = qio_task_get_source(task);
        qio_channel_ref(d->tioc);
    }
    d->done = true;
}

/*
 * The TLS handshake of the preempt channel, in the calling thread (the
 * migration thread) on a main context of its own; the channel then works
 * like the main one.  Takes @ioc; returns the TLS channel or NULL.
 */
static QIOChannel *preempt_tls_wrap(QIOChannel *ioc, const char *host,
                                    Error **errp)
{
    GMainContext *ctx = g_main_context_new();
    PreemptTLS d = { 0 };

    if (!migration_tls_client_start(ioc, migration_tls_hostname(host),
                                    preempt_tls_done, &d, NULL, ctx, errp)) {
        g_main_context_unref(ctx);
        qio_channel_unref(ioc);
        return NULL;
    }
    while (!d.done) {
        g_main_context_iteration(ctx, true);
    }
    g_main_context_unref(ctx);
    qio_channel_unref(ioc);
    if (d.err) {
        error_propagate_prepend(errp, d.err, "TLS handshake: ");
        return NULL;
    }
    return d.tioc;
}

bool postcopy_preempt_connect(MigrationState *s, Error **errp)
{
    SocketAddress *addr = preempt_uri_address(s->uri ? s->uri : "", errp);
    QIOChannelSocket *sioc;
    QIOChannel *ioc;
    QEMUFile *f;

    if (!addr) {
        return false;
    }
    sioc = qio_channel_socket_new();
    qio_channel_set_name(QIO_CHANNEL(sioc), "migration-preempt-outgoing");
    if (qio_channel_socket_connect_sync(sioc, addr, errp) < 0) {
        error_prepend(errp, "postcopy-preempt: cannot open the preempt "
                      "channel to '%s': ", s->uri);
        qio_channel_unref(QIO_CHANNEL(sioc));
        qapi_free_SocketAddress(addr);
        return false;
    }
    ioc = QIO_CHANNEL(sioc);
    if (migrate_tls()) {
        /* as the main channel, with the host of its URI */
        ioc = preempt_tls_wrap(ioc, addr->type == SOCKET_ADDRESS_TYPE_INET ?
                                    addr->u.inet.host : NULL, errp);
        if (!ioc) {
            error_prepend(errp, "postcopy-preempt channel to '%s': ",
                          s->uri);
            qapi_free_SocketAddress(addr);
            return false;
        }
    }
    qapi_free_SocketAddress(addr);
    f = qemu_file_new_output(ioc);
    qio_channel_unref(ioc);
    qemu_mutex_lock(&s->qemu_file_lock);
    s->postcopy_qemufile_src = f;
    qemu_mutex_unlock(&s->qemu_file_lock);
    trace_postcopy_preempt_connected(s->uri);
    return true;
}

void postcopy_preempt_close_source(MigrationState *s)
{
    QEMUFile *f;

    qemu_mutex_lock(&s->qemu_file_lock);
    f = s->postcopy_qemufile_src;
    s->postcopy_qemufile_src = NULL;
    qemu_mutex_unlock(&s->qemu_file_lock);
    if (f) {
        qemu_fclose(f);
    }
}

/* ------------------------------------------------- QMP */

JsonNode *qmp_migrate_start_postcopy(JsonObject *args, Error **errp)
{
    MigrationState *s = migrate_get_current();

    if (!migrate_postcopy_ram()) {
        error_setg(errp, "Enable postcopy with migrate_set_capability before "
                   "the start of migration");
        return NULL;
    }
    if (qatomic_read(&s->state) == MIGRATION_STATUS_NONE) {
        error_setg(errp, "Postcopy must be started after migration has been "
                   "started");
        return NULL;
    }
    /* as QEMU: no error once the migration ended (that would be racy) */
    qatomic_set(&s->start_postcopy, true);
    qemu_sem_post(&s->rate_limit_sem);
    return NULL;
}

/*
 * Shut the channels down, as a broken link would: the source's migration
 * thread or the destination's listen thread sees the error and pauses.
 */
JsonNode *qmp_migrate_pause(JsonObject *args, Error **errp)
{
    MigrationState *s = migrate_get_current();
    MigrationIncomingState *mis = migration_incoming_get_current();
    MigrationStatus st = qatomic_read(&s->state);

    if (st == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
        st == MIGRATION_STATUS_POSTCOPY_RECOVER) {
        trace_postcopy_migrate_pause("source");
        postcopy_shutdown_source(s);
        qemu_sem_post(&s->rate_limit_sem);
        return NULL;
    }
    st = qatomic_read(&mis->state);
    if (st == MIGRATION_STATUS_POSTCOPY_ACTIVE ||
        st == MIGRATION_STATUS_POSTCOPY_RECOVER) {
        trace_postcopy_migrate_pause("destination");
        qemu_mutex_lock(&mis->preempt_lock);
        if (mis->from_src_file) {
            qemu_file_shutdown(mis->from_src_file);
        }
        if (mis->postcopy_qemufile_dst) {
            qemu_file_shutdown(mis->postcopy_qemufile_dst);
        }
        qemu_mutex_unlock(&mis->preempt_lock);
        return NULL;
    }
    error_setg(errp, "migrate-pause is currently only supported during "
               "postcopy-active or postcopy-recover state");
    return NULL;
}

/*
 * Destination: listen on @uri for the source's migrate -r (postcopy-paused
 * only).  The state stays postcopy-paused until the channel comes.
 */
JsonNode *qmp_migrate_recover(JsonObject *args, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    const char *uri = qapi_arg_str(args, "uri");
    SocketAddress *addr;

    if (qatomic_read(&mis->state) != MIGRATION_STATUS_POSTCOPY_PAUSED) {
        error_setg(errp, "Migrate recover can only be run when postcopy is "
                   "paused.");
        return NULL;
    }
    if (mis->recover_listening) {
        error_setg(errp, "Migrate recovery is triggered already");
        return NULL;
    }
    addr = uri ? preempt_uri_address(uri, NULL) : NULL;
    if (!addr) {
        error_setg(errp, "migrate-recover: '%s' is not a tcp:, unix: or "
                   "vsock: URI", uri ? uri : "");
        return NULL;
    }
    qapi_free_SocketAddress(addr);
    if (mis->listener) {
        qio_net_listener_disconnect(mis->listener);
        qio_net_listener_unref(mis->listener);
        mis->listener = NULL;
    }
    if (mis->socket_address_list) {
        g_ptr_array_set_size(mis->socket_address_list, 0);
    }
    mis->recover_main_arrived = false;
    if (!socket_start_incoming_migration(g_str_has_prefix(uri, "tcp:") ?
                                         uri + 4 : uri, errp)) {
        error_prepend(errp, "migrate-recover: ");
        return NULL;
    }
    mis->recover_listening = true;
    trace_postcopy_migrate_recover(uri);
    return NULL;
}

/* ------------------------------------------------- destination: requests */

bool migrate_send_rp_req_pages(MigrationIncomingState *mis, RAMBlock *rb,
                               uint64_t start, uint64_t len, Error **errp)
{
    uint8_t buf[MIG_RP_MSG_REQ_PAGES_ID_MIN_LEN + QEMU_VM_COUNTED_STRING_MAX];
    size_t n = strlen(rb->idstr);
    bool same, ok;

    stl_be_p(buf, start >> 32);
    stl_be_p(buf + 4, start);
    stl_be_p(buf + 8, len);
    /* the block cache and the send under one lock: one order for both */
    qemu_mutex_lock(&mis->rp_mutex);
    same = mis->last_rb_req == rb;
    if (!same) {
        buf[12] = n;
        memcpy(buf + 13, rb->idstr, n);
    }
    qemu_mutex_unlock(&mis->rp_mutex);
    ok = rp_send(mis, same ? MIG_RP_MSG_REQ_PAGES : MIG_RP_MSG_REQ_PAGES_ID,
                 same ? MIG_RP_MSG_REQ_PAGES_LEN
                      : MIG_RP_MSG_REQ_PAGES_ID_MIN_LEN + n, buf, errp);
    if (ok) {
        qemu_mutex_lock(&mis->rp_mutex);
        mis->last_rb_req = rb;
        qemu_mutex_unlock(&mis->rp_mutex);
    }
    return ok;
}

/* ------------------------------------------------------ destination: postcopy */

/* Main thread, BQL: POSTCOPY_RUN was loaded. */
static void postcopy_incoming_run_bh(void *opaque)
{
    trace_postcopy_incoming_run_bh(autostart);
    /* as QEMU 7.2: in postcopy the run state follows autostart */
    if (autostart) {
        vm_start();
    } else {
        runstate_set(RUN_STATE_PAUSED);
    }
}

void migration_incoming_postcopy_run(MigrationIncomingState *mis)
{
    qemu_bh_schedule_oneshot(postcopy_incoming_run_bh, mis);
}

/*
 * Main thread, BQL: the listen thread ended.  Both loading threads are
 * joined already.
 */
static void postcopy_incoming_done_bh(void *opaque)
{
    MigrationIncomingState *mis = opaque;
    PostcopyState ps = postcopy_state_get();

    if (mis->listen_thread_created) {
        qemu_thread_join(&mis->listen_thread);
        mis->listen_thread_created = false;
    }
    trace_postcopy_incoming_done(mis->load_ok, postcopy_state_name(ps));
    if (mis->load_ok) {
        postcopy_preempt_incoming_stop(mis);
        postcopy_ram_incoming_cleanup(mis);
        postcopy_state_set(POSTCOPY_INCOMING_END);
        qemu_loadvm_state_cleanup();
        migration_incoming_state_destroy(mis, false);
        postcopy_state_set(POSTCOPY_INCOMING_NONE);
        migrate_set_state(&mis->state, MIGRATION_STATUS_POSTCOPY_ACTIVE,
                          MIGRATION_STATUS_COMPLETED);
        return;
    }
    if (ps != POSTCOPY_INCOMING_RUNNING) {
        /* the guest never ran here: the source still has all of it */
        postcopy_ram_incoming_cleanup(mis);
        migrate_set_state(&mis->state, MIGRATION_STATUS_POSTCOPY_ACTIVE,
                          MIGRATION_STATUS_FAILED);
        error_report("load of migration failed: %s",
                     mis->error ? error_get_pretty(mis->error) : "unknown");
        migration_incoming_state_destroy(mis, true);
        exit(EXIT_FAILURE);
    }
    /*
     * The guest runs with part of its memory still on the source: keep
     * every page and every thread (vCPUs wait on missing pages), tell the
     * source by shutting the channel down, and wait for a recovery (not
     * built yet).
     */
    error_report("postcopy paused: %s",
                 mis->error ? error_get_pretty(mis->error) : "unknown");
    qemu_file_shutdown(mis->from_src_file);
    migrate_set_state(&mis->state, MIGRATION_STATUS_POSTCOPY_ACTIVE,
                      MIGRATION_STATUS_POSTCOPY_PAUSED);
}

void migration_incoming_postcopy_done(MigrationIncomingState *mis, bool ok,
                                      Error *err)
{
    /* the package loader may still run (or may have failed): wait for it */
    if (mis->thread_created) {
        qemu_thread_join(&mis->thread);
        mis->thread_created = false;
    }
    if (!mis->load_ok) {
        ok = false;          /* the package failed: its error comes first */
        error_free(err);
    } else if (!ok) {
        error_free(mis->error);
        mis->error = err;
    }
    mis->load_ok = ok;
    qemu_bh_schedule_oneshot(postcopy_incoming_done_bh, mis);
}

/* ------------------------------------------------- destination: preempt */

/*
 * The preempt thread: page records until EOS (QEMU 7.2 sources end the
 * channel so) or the end of postcopy shuts the channel down.  Any other
 * error stops the main channel too, so that the listen thread pauses the
 * migration.
 */
static void *postcopy_preempt_thread(void *opaque)
{
    MigrationIncomingState *mis = opaque;
    RamPostcopyLoad *pl = ram_postcopy_load_new(NULL);
    Error *err = NULL;
    int ret;

    trace_postcopy_preempt_thread(true, 0);
    for (;;) {
        QEMUFile *old;

        ret = ram_load_postcopy(mis->postcopy_qemufile_dst, pl, &err);
        if (ret == 0 || qatomic_read(&mis->preempt_stopping)) {
            break;
        }
        error_prepend(&err, "postcopy preempt channel: ");
        error_report("%s", error_get_pretty(err));
        error_free(err);
        err = NULL;
        /* the main channel pauses too; park until a recovery brings a
         * new preempt channel */
        qemu_mutex_lock(&mis->preempt_lock);
        if (mis->from_src_file) {
            qemu_file_shutdown(mis->from_src_file);
        }
        old = mis->postcopy_qemufile_dst;
        mis->postcopy_qemufile_dst = NULL;
        qemu_mutex_unlock(&mis->preempt_lock);
        qemu_fclose(old);
        ram_postcopy_load_reset(pl);
        qatomic_set(&mis->preempt_parked, true);
        qemu_sem_post(&mis->preempt_progress);
        /*
         * Parked until both the new channel and RESUME came: the received
         * bitmaps go to the source in between, and must not change.
         */
        for (;;) {
            qemu_sem_wait(&mis->preempt_resume_sem);
            if (qatomic_read(&mis->preempt_stopping)) {
                old = NULL;
                break;
            }
            qemu_mutex_lock(&mis->preempt_lock);
            old = mis->postcopy_qemufile_dst;
            qemu_mutex_unlock(&mis->preempt_lock);
            if (old && qatomic_read(&mis->state) ==
                       MIGRATION_STATUS_POSTCOPY_ACTIVE) {
                break;
            }
        }
        qatomic_set(&mis->preempt_parked, false);
        if (!old) {
            break;
        }
        trace_postcopy_preempt_thread(true, 1);
    }
    error_free(err);
    ram_postcopy_load_free(pl);
    trace_postcopy_preempt_thread(false, ret);
    qatomic_set(&mis->preempt_thread_done, true);
    qemu_sem_post(&mis->preempt_progress);
    return NULL;
}

/* Under preempt_lock: start the thread when both LISTEN and the channel came. */
static void postcopy_preempt_maybe_start(MigrationIncomingState *mis)
{
    if (mis->preempt_listening && mis->postcopy_qemufile_dst &&
        !mis->preempt_thread_created) {
        mis->preempt_thread_created = true;
        qemu_thread_create(&mis->preempt_thread, "mig/dst/preempt",
                           postcopy_preempt_thread, mis,
                           QEMU_THREAD_JOINABLE);
    }
}

bool postcopy_preempt_incoming_channel(MigrationIncomingState *mis,
                                       QIOChannel *ioc)
{
    bool taken = false;

    if (!migrate_postcopy_ram() || !migrate_postcopy_preempt()) {
        return false;
    }
    qemu_mutex_lock(&mis->preempt_lock);
    if (!mis->postcopy_qemufile_dst) {
        mis->postcopy_qemufile_dst = qemu_file_new_input(ioc);
        taken = true;
        postcopy_preempt_maybe_start(mis);
    }
    qemu_mutex_unlock(&mis->preempt_lock);
    if (taken && mis->listener) {
        /* both channels are here: stop accepting */
        qio_net_listener_set_client_func(mis->listener, NULL, NULL, NULL);
    }
    trace_postcopy_preempt_channel(taken);
    return taken;
}

void postcopy_preempt_incoming_listen(MigrationIncomingState *mis)
{
    if (!migrate_postcopy_preempt()) {
        return;
    }
    qemu_mutex_lock(&mis->preempt_lock);
    mis->preempt_listening = true;
    mis->preempt_stopping = false;
    mis->preempt_thread_done = false;
    postcopy_preempt_maybe_start(mis);
    qemu_mutex_unlock(&mis->preempt_lock);
}

/* Every page of every migrated block is here. */
static bool postcopy_all_received(void)
{
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        unsigned long pages = rb->used_length >> TARGET_PAGE_BITS;

        if (ramblock_is_ignored(rb) || !rb->receivedmap) {
            continue;
        }
        if (find_next_zero_bit(rb->receivedmap, pages, 0) < pages) {
            return false;
        }
    }
    return true;
}

void postcopy_preempt_incoming_drain(MigrationIncomingState *mis)
{
    bool running;

    qemu_mutex_lock(&mis->preempt_lock);
    running = mis->preempt_thread_created;
    qemu_mutex_unlock(&mis->preempt_lock);
    if (!running) {
        return;
    }
    /*
     * The main stream ended: pages the source sent on the preempt channel
     * before that may still be in flight there.  Every page was sent on
     * one channel or the other, so wait until all are here (or the
     * channel ended).
     */
    while (!postcopy_all_received() &&
           !qatomic_read(&mis->preempt_thread_done)) {
        qemu_sem_timedwait(&mis->preempt_progress, 10);
    }
    trace_postcopy_preempt_drained(postcopy_all_received());
}

void postcopy_preempt_incoming_stop(MigrationIncomingState *mis)
{
    QEMUFile *f;

    qemu_mutex_lock(&mis->preempt_lock);
    qatomic_set(&mis->preempt_stopping, true);
    f = mis->postcopy_qemufile_dst;
    if (f) {
        qemu_file_shutdown(f);
    }
    qemu_mutex_unlock(&mis->preempt_lock);
    qemu_sem_post(&mis->preempt_resume_sem);
    if (mis->preempt_thread_created) {
        qemu_thread_join(&mis->preempt_thread);
        mis->preempt_thread_created = false;
    }
    qemu_mutex_lock(&mis->preempt_lock);
    mis->postcopy_qemufile_dst = NULL;
    mis->preempt_listening = false;
    qemu_mutex_unlock(&mis->preempt_lock);
    if (f) {
        qemu_fclose(f);
    }
}

/* ------------------------------------------------- destination: recovery */

bool postcopy_incoming_pause(MigrationIncomingState *mis, Error *err)
{
    MigrationStatus st = qatomic_read(&mis->state);
    QEMUFile *old, *rp;

    if (postcopy_state_get() != POSTCOPY_INCOMING_RUNNING ||
        (st != MIGRATION_STATUS_POSTCOPY_ACTIVE &&
         st != MIGRATION_STATUS_POSTCOPY_RECOVER)) {
        /* the guest never ran here: the load fails (@err not taken) */
        return false;
    }
    error_report("postcopy paused: %s",
                 err ? error_get_pretty(err) : "unknown");
    trace_postcopy_incoming_pause(err ? error_get_pretty(err) : "");
    error_free(err);
    qemu_mutex_lock(&mis->preempt_lock);
    old = mis->from_src_file;
    mis->from_src_file = NULL;
    if (old) {
        qemu_file_shutdown(old);
    }
    if (mis->postcopy_qemufile_dst) {
        qemu_file_shutdown(mis->postcopy_qemufile_dst);
    }
    qemu_mutex_unlock(&mis->preempt_lock);
    /*
     * The preempt thread lets go of its channel before "paused": a new
     * preempt channel accepted after migrate-recover then finds its place
     * free.
     */
    while (mis->preempt_thread_created &&
           !qatomic_read(&mis->preempt_thread_done) &&
           !qatomic_read(&mis->preempt_parked)) {
        qemu_sem_timedwait(&mis->preempt_progress, 10);
    }
    /* the fault thread's requests fail from here on, and are kept */
    qemu_mutex_lock(&mis->rp_mutex);
    rp = mis->to_src_file;
    mis->to_src_file = NULL;
    qemu_mutex_unlock(&mis->rp_mutex);
    if (rp) {
        qemu_fclose(rp);
    }
    if (old) {
        qemu_fclose(old);
    }
    ram_load_postcopy_reset_main();
    mis->recover_listening = false;
    migrate_set_state(&mis->state, st, MIGRATION_STATUS_POSTCOPY_PAUSED);
    while (qatomic_read(&mis->state) == MIGRATION_STATUS_POSTCOPY_PAUSED) {
        qemu_sem_wait(&mis->postcopy_pause_sem_dst);
    }
    trace_postcopy_incoming_resumed();
    return true;
}

bool postcopy_incoming_recover_channel(MigrationIncomingState *mis,
                                       QIOChannel *ioc)
{
    bool preempt = migrate_postcopy_preempt();

    if (!mis->recover_listening) {
        return false;
    }
    if (!mis->recover_main_arrived &&
        qatomic_read(&mis->state) == MIGRATION_STATUS_POSTCOPY_PAUSED) {
        QEMUFile *f = qemu_file_new_input(ioc);

        trace_postcopy_incoming_recover_channel(true);
        qemu_mutex_lock(&mis->preempt_lock);
        mis->from_src_file = f;
        qemu_mutex_unlock(&mis->preempt_lock);
        qemu_mutex_lock(&mis->rp_mutex);
        mis->to_src_file = qemu_file_get_return_path(f);
        mis->last_rb_req = NULL;
        qemu_mutex_unlock(&mis->rp_mutex);
        mis->recover_main_arrived = true;
        if (!preempt) {
            mis->recover_listening = false;
            qio_net_listener_set_client_func(mis->listener, NULL, NULL,
                                             NULL);
        }
        migrate_set_state(&mis->state, MIGRATION_STATUS_POSTCOPY_PAUSED,
                          MIGRATION_STATUS_POSTCOPY_RECOVER);
        qemu_sem_post(&mis->postcopy_pause_sem_dst);
        return true;
    }
    if (preempt && mis->recover_main_arrived) {
        bool taken = false;

        qemu_mutex_lock(&mis->preempt_lock);
        if (!mis->postcopy_qemufile_dst) {
            mis->postcopy_qemufile_dst = qemu_file_new_input(ioc);
            taken = true;
        }
        qemu_mutex_unlock(&mis->preempt_lock);
        trace_postcopy_incoming_recover_channel(false);
        mis->recover_listening = false;
        qio_net_listener_set_client_func(mis->listener, NULL, NULL, NULL);
        qemu_mutex_lock(&mis->preempt_lock);
        if (!mis->preempt_thread_created) {
            postcopy_preempt_maybe_start(mis);
        }
        qemu_mutex_unlock(&mis->preempt_lock);
        qemu_sem_post(&mis->preempt_resume_sem);
        return taken;
    }
    return false;
}

bool migrate_send_rp_recv_bitmap(MigrationIncomingState *mis, RAMBlock *rb,
                                 Error **errp)
{
    uint64_t nbits = rb->used_length >> TARGET_PAGE_BITS;
    uint64_t size = ROUND_UP(DIV_ROUND_UP(nbits, 8), 8);
    uint8_t hdr[1 + QEMU_VM_COUNTED_STRING_MAX];
    size_t n = strlen(rb->idstr);
    uint64_t *le;
    bool ok;
    int ret;

    /* a parked preempt thread places nothing until RESUME */
    while (mis->preempt_thread_created &&
           !qatomic_read(&mis->preempt_thread_done) &&
           !qatomic_read(&mis->preempt_parked)) {
        qemu_sem_timedwait(&mis->preempt_progress, 10);
    }
    le = g_malloc0(size);
    for (uint64_t i = 0; rb->receivedmap && i < nbits; i++) {
        if (test_bit(i, rb->receivedmap)) {
            le[i / 64] |= 1ULL << (i % 64);
        }
    }
    for (uint64_t w = 0; w < size / 8; w++) {
        le[w] = GUINT64_TO_LE(le[w]);
    }
    hdr[0] = n;
    memcpy(hdr + 1, rb->idstr, n);
    qemu_mutex_lock(&mis->rp_mutex);
    if (!mis->to_src_file) {
        qemu_mutex_unlock(&mis->rp_mutex);
        g_free(le);
        error_setg(errp, "RECV_BITMAP: no return path is open");
        return false;
    }
    qemu_put_be16(mis->to_src_file, MIG_RP_MSG_RECV_BITMAP);
    qemu_put_be16(mis->to_src_file, 1 + n);
    qemu_put_buffer(mis->to_src_file, hdr, 1 + n);
    qemu_put_be64(mis->to_src_file, size);
    qemu_put_buffer(mis->to_src_file, (uint8_t *)le, size);
    qemu_put_be64(mis->to_src_file, RAMBLOCK_RECV_BITMAP_ENDING);
    qemu_fflush(mis->to_src_file);
    ret = qemu_file_get_error(mis->to_src_file);
    ok = ret == 0;
    qemu_mutex_unlock(&mis->rp_mutex);
    g_free(le);
    if (!ok) {
        error_setg_errno(errp, -ret, "RECV_BITMAP of block '%s': writing "
                         "the return path failed", rb->idstr);
    }
    trace_postcopy_recv_bitmap(rb->idstr, nbits);
    return ok;
}

bool postcopy_incoming_resume(MigrationIncomingState *mis, Error **errp)
{
    uint8_t buf[4];

    if (!migrate_set_state(&mis->state, MIGRATION_STATUS_POSTCOPY_RECOVER,
                           MIGRATION_STATUS_POSTCOPY_ACTIVE)) {
        return true;
    }
    stl_be_p(buf, MIGRATION_RESUME_ACK_VALUE);
    if (!rp_send(mis, MIG_RP_MSG_RESUME_ACK, sizeof(buf), buf, errp)) {
        error_prepend(errp, "POSTCOPY_RESUME: ");
        return false;
    }
    qemu_mutex_lock(&mis->rp_mutex);
    mis->last_rb_req = NULL;
    qemu_mutex_unlock(&mis->rp_mutex);
    /* a parked preempt thread goes on with the new channel */
    qemu_sem_post(&mis->preempt_resume_sem);
    postcopy_ram_resend_requests(mis);
    return true;
}
