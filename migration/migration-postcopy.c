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
#include "qemu/main-loop.h"
#include "qemu/bitops.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qapi-commands.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "exec/memory.h"
#include "migration/migration.h"
#include "migration/migration-postcopy.h"
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

static uint32_t ldl_be_p(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static void stl_be_p(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint64_t ldq_be_p(const uint8_t *p)
{
    return ((uint64_t)ldl_be_p(p) << 32) | ldl_be_p(p + 4);
}

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
void postcopy_on_error(MigrationState *s, Error *err)
{
    if (qatomic_read(&s->rp_state.shut_received) &&
        !qatomic_read(&s->rp_state.package_loaded)) {
        migration_fail(s, err);
        return;
    }
    if (err) {
        migrate_set_error(s, err);
    }
    qemu_mutex_lock(&s->qemu_file_lock);
    qemu_file_shutdown(s->to_dst_file);
    if (s->postcopy_qemufile_src) {
        qemu_file_shutdown(s->postcopy_qemufile_src);
    }
    qemu_mutex_unlock(&s->qemu_file_lock);
    if (!migrate_set_state(&s->state, MIGRATION_STATUS_POSTCOPY_ACTIVE,
                           MIGRATION_STATUS_POSTCOPY_PAUSED)) {
        return;
    }
    qemu_mutex_lock(&s->error_mutex);
    trace_postcopy_pause(s->error ? error_get_pretty(s->error) : "");
    qemu_mutex_unlock(&s->error_mutex);
    /* recovery (migrate -r) would post this; until then we stay paused */
    qemu_sem_wait(&s->postcopy_pause_sem);
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
void postcopy_completion(MigrationState *s)
{
    Error *err = NULL;

    trace_postcopy_completion();
    qemu_file_set_rate_limit(s->to_dst_file, 0);
    if (qemu_savevm_state_complete_postcopy(s->to_dst_file, &err) < 0) {
        postcopy_on_error(s, err);
        return;
    }
    if (!await_return_path_close_on_source(s) ||
        !migration_check_file(s)) {
        if (qatomic_read(&s->state) == MIGRATION_STATUS_POSTCOPY_ACTIVE) {
            postcopy_on_error(s, NULL);
        }
        return;
    }
    stat64_set(&s->stats.transferred, migration_transferred_now(s));
    stat64_set(&s->stats.postcopy_bytes,
               stat64_get(&s->stats.transferred) -
               stat64_get(&s->stats.precopy_bytes) -
               stat64_get(&s->stats.downtime_bytes));
    migrate_set_state(&s->state, MIGRATION_STATUS_POSTCOPY_ACTIVE,
                      MIGRATION_STATUS_COMPLETED);
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

bool postcopy_preempt_connect(MigrationState *s, Error **errp)
{
    SocketAddress *addr = preempt_uri_address(s->uri ? s->uri : "", errp);
    QIOChannelSocket *sioc;
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
    qapi_free_SocketAddress(addr);
    f = qemu_file_new_output(QIO_CHANNEL(sioc));
    qio_channel_unref(QIO_CHANNEL(sioc));
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

JsonNode *qmp_migrate_pause(JsonObject *args, Error **errp)
{
    error_setg(errp, "migrate-pause: postcopy recovery is not built yet in "
               "Godwit");
    return NULL;
}

JsonNode *qmp_migrate_recover(JsonObject *args, Error **errp)
{
    error_setg(errp, "migrate-recover: postcopy recovery is not built yet "
               "in Godwit");
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
    ret = ram_load_postcopy(mis->postcopy_qemufile_dst, pl, &err);
    if (ret < 0 && !qatomic_read(&mis->preempt_stopping)) {
        error_prepend(&err, "postcopy preempt channel: ");
        error_report("%s", error_get_pretty(err));
        qemu_file_shutdown(mis->from_src_file);
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
