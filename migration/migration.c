/*
 * Live migration: state machine, the source migration thread, the incoming
 * side and the QMP commands (the return path is in migration-rp.c).
 *
 * See migration.h for who owns what, docs/devel/migration/main.rst for the
 * state diagram and the thread loop.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/sockets.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qapi-commands.h"
#include "monitor/monitor.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "sysemu/cpus.h"
#include "exec/memory.h"
#include "migration/migration.h"
#include "migration/migration-rp.h"
#include "migration/migration-progress.h"
#include "migration/migration-convergence.h"
#include "migration/savevm.h"
#include "migration/channel.h"
#include "migration/socket.h"
#include "migration/fd.h"
#include "migration/exec.h"
#include "migration/file.h"
#include "migration/ram-xbzrle.h"
#include "migration/ram-compress.h"
#include "migration/wire.h"
#include "migration/ram.h"
#include "migration/postcopy-ram.h"
#include "migration/migration-postcopy.h"
#include "migration/postcopy-blocktime.h"
#include "io/channel-buffer.h"
#include "migration/tls.h"
#include "migration/rdma.h"
#include "migration/multifd.h"
#include "migration/dirtyrate.h"
#include "migration/trace.h"

#define QERR_MIGRATION_ACTIVE "There's a migration process in progress"

/* Provided by ram.c (the savevm helper). */
uint64_t ram_bytes_remaining(void);

static MigrationState *current_migration;
static MigrationIncomingState *current_incoming;

/* ------------------------------------------------------------ state machine */

static const char *const status_names[MIGRATION_STATUS__MAX] = {
    [MIGRATION_STATUS_NONE] = "none",
    [MIGRATION_STATUS_SETUP] = "setup",
    [MIGRATION_STATUS_CANCELLING] = "cancelling",
    [MIGRATION_STATUS_CANCELLED] = "cancelled",
    [MIGRATION_STATUS_ACTIVE] = "active",
    [MIGRATION_STATUS_POSTCOPY_ACTIVE] = "postcopy-active",
    [MIGRATION_STATUS_POSTCOPY_PAUSED] = "postcopy-paused",
    [MIGRATION_STATUS_POSTCOPY_RECOVER] = "postcopy-recover",
    [MIGRATION_STATUS_COMPLETED] = "completed",
    [MIGRATION_STATUS_FAILED] = "failed",
    [MIGRATION_STATUS_COLO] = "colo",
    [MIGRATION_STATUS_PRE_SWITCHOVER] = "pre-switchover",
    [MIGRATION_STATUS_DEVICE] = "device",
    [MIGRATION_STATUS_WAIT_UNPLUG] = "wait-unplug",
};

const char *MigrationStatus_str(MigrationStatus s)
{
    assert((unsigned)s < MIGRATION_STATUS__MAX);
    return status_names[s];
}

bool MigrationStatus_parse(const char *name, MigrationStatus *out)
{
    for (int i = 0; i < MIGRATION_STATUS__MAX; i++) {
        if (name && !strcmp(name, status_names[i])) {
            *out = i;
            return true;
        }
    }
    return false;
}

#define S(x) MIGRATION_STATUS_##x

/*
 * Every legal edge, source and destination together (QEMU 7.2 plus the
 * edges its later versions use).  A terminal state (completed, failed,
 * cancelled) goes back to setup when the next migration starts.
 */
static const bool allowed[MIGRATION_STATUS__MAX][MIGRATION_STATUS__MAX] = {
    [S(NONE)] = {
        [S(SETUP)] = true,             /* migrate; incoming listening */
        [S(ACTIVE)] = true,            /* destination: load started */
        [S(FAILED)] = true,            /* destination: bad channel */
    },
    [S(SETUP)] = {
        [S(ACTIVE)] = true, [S(WAIT_UNPLUG)] = true, [S(FAILED)] = true,
        [S(CANCELLING)] = true,
    },
    [S(WAIT_UNPLUG)] = {
        [S(ACTIVE)] = true, [S(FAILED)] = true, [S(CANCELLING)] = true,
    },
    [S(ACTIVE)] = {
        [S(COMPLETED)] = true, [S(FAILED)] = true, [S(CANCELLING)] = true,
        [S(PRE_SWITCHOVER)] = true, [S(DEVICE)] = true,
        [S(POSTCOPY_ACTIVE)] = true, [S(COLO)] = true,
    },
    [S(PRE_SWITCHOVER)] = {
        [S(DEVICE)] = true, [S(FAILED)] = true, [S(CANCELLING)] = true,
        [S(POSTCOPY_ACTIVE)] = true,
    },
    [S(DEVICE)] = {
        [S(COMPLETED)] = true, [S(FAILED)] = true, [S(CANCELLING)] = true,
        [S(POSTCOPY_ACTIVE)] = true, [S(COLO)] = true,
    },
    [S(POSTCOPY_ACTIVE)] = {
        [S(COMPLETED)] = true, [S(FAILED)] = true,
        [S(POSTCOPY_PAUSED)] = true, [S(CANCELLING)] = true,
    },
    [S(POSTCOPY_PAUSED)] = {
        [S(POSTCOPY_RECOVER)] = true, [S(FAILED)] = true,
        [S(CANCELLING)] = true,
    },
    [S(POSTCOPY_RECOVER)] = {
        [S(POSTCOPY_ACTIVE)] = true, [S(POSTCOPY_PAUSED)] = true,
        [S(FAILED)] = true,
    },
    [S(COLO)] = {
        [S(COMPLETED)] = true, [S(FAILED)] = true,
    },
    [S(CANCELLING)] = {
        [S(CANCELLED)] = true,
    },
    [S(COMPLETED)] = { [S(SETUP)] = true },
    [S(FAILED)] = { [S(SETUP)] = true },
    [S(CANCELLED)] = { [S(SETUP)] = true },
};

#undef S

bool migration_transition_allowed(MigrationStatus from, MigrationStatus to)
{
    if ((unsigned)from >= MIGRATION_STATUS__MAX ||
        (unsigned)to >= MIGRATION_STATUS__MAX) {
        return false;
    }
    return allowed[from][to];
}

bool migrate_set_state(MigrationStatus *state, MigrationStatus old,
                       MigrationStatus new)
{
    assert(migration_transition_allowed(old, new));
    if (qatomic_cmpxchg(state, old, new) != old) {
        return false;
    }
    trace_migrate_set_state(MigrationStatus_str(old),
                            MigrationStatus_str(new));
    if (migrate_events()) {
        JsonObject *data = json_object_new();

        json_object_set_string_member(data, "status",
                                      MigrationStatus_str(new));
        qapi_event_emit("MIGRATION", data);
    }
    return true;
}

void migration_pass_event(uint64_t pass)
{
    trace_migration_pass(pass);
    if (migrate_events()) {
        JsonObject *data = json_object_new();

        json_object_set_int_member(data, "pass", (gint64)pass);
        qapi_event_emit("MIGRATION_PASS", data);
    }
}

bool migration_is_running(MigrationStatus s)
{
    switch (s) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_PAUSED:
    case MIGRATION_STATUS_POSTCOPY_RECOVER:
    case MIGRATION_STATUS_PRE_SWITCHOVER:
    case MIGRATION_STATUS_DEVICE:
    case MIGRATION_STATUS_WAIT_UNPLUG:
    case MIGRATION_STATUS_CANCELLING:
    case MIGRATION_STATUS_COLO:
        return true;
    default:
        return false;
    }
}

bool migration_is_active(MigrationState *s)
{
    MigrationStatus st = qatomic_read(&s->state);

    return st == MIGRATION_STATUS_ACTIVE ||
           st == MIGRATION_STATUS_POSTCOPY_ACTIVE;
}

bool migration_in_postcopy(void)
{
    switch (qatomic_read(&migrate_get_current()->state)) {
    case MIGRATION_STATUS_POSTCOPY_ACTIVE:
    case MIGRATION_STATUS_POSTCOPY_PAUSED:
    case MIGRATION_STATUS_POSTCOPY_RECOVER:
        return true;
    default:
        return false;
    }
}

/* ------------------------------------------------------------- the objects */

void migration_object_init(void)
{
    MigrationState *s = current_migration;
    MigrationIncomingState *mis = current_incoming;

    if (!s) {
        s = current_migration = g_new0(MigrationState, 1);
        qemu_mutex_init(&s->error_mutex);
        qemu_mutex_init(&s->qemu_file_lock);
        qemu_sem_init(&s->pause_sem, 0);
        qemu_sem_init(&s->rate_limit_sem, 0);
        qemu_sem_init(&s->postcopy_pause_sem, 0);
        qemu_sem_init(&s->rp_state.rp_sem, 0);
        postcopy_req_queue_init(&s->page_requests);
    } else {
        migration_options_finalize(&s->opts);
        error_free(s->error);
        s->error = NULL;
    }
    migration_options_init(&s->opts);
    s->state = MIGRATION_STATUS_NONE;

    if (!mis) {
        mis = current_incoming = g_new0(MigrationIncomingState, 1);
        qemu_mutex_init(&mis->rp_mutex);
        qemu_mutex_init(&mis->preempt_lock);
        qemu_sem_init(&mis->preempt_progress, 0);
        qemu_sem_init(&mis->postcopy_pause_sem_dst, 0);
        qemu_sem_init(&mis->preempt_resume_sem, 0);
    }
    mis->state = MIGRATION_STATUS_NONE;
    mis->started = false;
}

MigrationState *migrate_get_current(void)
{
    if (!current_migration) {
        migration_object_init();
    }
    return current_migration;
}

MigrationIncomingState *migration_incoming_get_current(void)
{
    if (!current_incoming) {
        migration_object_init();
    }
    return current_incoming;
}

static int64_t now_ms(void)
{
    return get_clock_realtime() / 1000000;
}

void migrate_set_error(MigrationState *s, Error *err)
{
    qemu_mutex_lock(&s->error_mutex);
    if (!s->error) {
        trace_migrate_error(error_get_pretty(err));
        s->error = err;
        err = NULL;
    }
    qemu_mutex_unlock(&s->error_mutex);
    error_free(err);
}

/* -------------------------------------------------------- source: counters */

uint64_t migration_transferred_now(MigrationState *s)
{
    uint64_t b = stat64_get(&s->stats.multifd_bytes) +
                 s->prev_channels_bytes;

    if (s->to_dst_file) {
        b += qemu_file_transferred(s->to_dst_file) +
             rdma_bytes_written(s->to_dst_file);
    }
    return b;
}

static uint64_t migration_pages_sent(MigrationState *s)
{
    return stat64_get(&s->stats.normal_pages) +
           stat64_get(&s->stats.zero_pages);
}

void migration_window_start(MigrationState *s, int64_t now)
{
    s->iteration_start_time = now;
    s->iteration_initial_bytes = migration_transferred_now(s);
    s->iteration_initial_pages = migration_pages_sent(s);
}

/* At most once per window: bandwidth, threshold, mbps, expected downtime. */
static void migration_update_counters(MigrationState *s, int64_t now)
{
    uint64_t transferred, cur;
    int64_t spent;
    double bandwidth;

    if (now < s->iteration_start_time + MIGRATION_BUFFER_DELAY_MS) {
        return;
    }
    cur = migration_transferred_now(s);
    stat64_set(&s->stats.transferred, cur);
    transferred = cur - s->iteration_initial_bytes;
    spent = now - s->iteration_start_time;
    bandwidth = (double)transferred / spent;
    s->threshold_size = bandwidth * migrate_downtime_limit();
    s->mbps = ((double)transferred * 8.0 / ((double)spent / 1000.0))
              / 1000.0 / 1000.0;
    s->pages_per_second = (double)(migration_pages_sent(s) -
                                   s->iteration_initial_pages) /
                          ((double)spent / 1000.0);
    if (stat64_get(&s->stats.dirty_pages_rate) && transferred > 10000 &&
        bandwidth > 0) {
        s->expected_downtime = ram_bytes_remaining() / bandwidth;
    }
    migration_progress_sample(&(MigProgressSample) {
        .sent = cur, .remaining = ram_bytes_remaining(),
        .sync_count = stat64_get(&s->stats.dirty_sync_count),
        .dirty_rate = stat64_get(&s->stats.dirty_pages_rate) *
                      TARGET_PAGE_SIZE,
        .window_bytes = transferred, .window_ms = spent,
        .downtime_limit = migrate_downtime_limit(),
    });
    migration_convergence_window(transferred, spent);
    qemu_file_reset_rate_limit(s->to_dst_file);
    qemu_file_set_rate_limit(s->to_dst_file,
                             (migration_in_postcopy() ?
                              migrate_max_postcopy_bandwidth() :
                              migrate_max_bandwidth()) /
                             (1000 / MIGRATION_BUFFER_DELAY_MS));
    migration_window_start(s, now);
    trace_migrate_transferred(transferred, spent, (uint64_t)bandwidth,
                              s->threshold_size);
}

/* Sleep to the end of the window when its budget is used up. */
static void migration_rate_limit(MigrationState *s)
{
    int64_t now = now_ms();
    int64_t ms = s->iteration_start_time + MIGRATION_BUFFER_DELAY_MS - now;

    if (qemu_file_rate_limit(s->to_dst_file) && ms > 0 &&
        !qemu_file_get_error(s->to_dst_file) &&
        !postcopy_req_queue_has(&s->page_requests)) {
        /* a cancel posts rate_limit_sem to cut the wait short */
        qemu_sem_timedwait(&s->rate_limit_sem, ms);
        now = now_ms();
    }
    migration_update_counters(s, now);
}

/* ------------------------------------------------- source: migration thread */

static void migrate_fd_cleanup_bh(void *opaque);

/* Move to failed from whatever running state we are in. */
void migration_fail(MigrationState *s, Error *err)
{
    MigrationStatus st;

    if (err) {
        migrate_set_error(s, err);
    }
    do {
        st = qatomic_read(&s->state);
        if (!migration_is_running(st) ||
            st == MIGRATION_STATUS_CANCELLING) {
            return;
        }
    } while (!migrate_set_state(&s->state, st, MIGRATION_STATUS_FAILED));
}

/*
 * The file's error (if any) as the migration's error.  In postcopy an
 * error pauses the migration instead (postcopy_on_error).
 */
bool migration_check_file(MigrationState *s)
{
    Error *err = NULL;

    if (qemu_file_get_error_obj(s->to_dst_file, &err) || s->rp_state.error) {
        if (qatomic_read(&s->state) == MIGRATION_STATUS_POSTCOPY_ACTIVE) {
            /* true when a recovery brought it back: go on */
            return postcopy_on_error(s, err);
        }
        migration_fail(s, err);
        return false;
    }
    return true;
}

/*
 * pause-before-switchover: wait in pre-switchover until migrate-continue
 * (or a cancel).  Called with the BQL held; drops it while waiting.
 */
bool migration_maybe_pause(MigrationState *s, MigrationStatus *cur)
{
    if (!migrate_pause_before_switchover()) {
        return true;
    }
    /* eat stale posts from earlier migrate-continue commands */
    while (qemu_sem_timedwait(&s->pause_sem, 1) == 0) {
        /* nothing */
    }
    if (qatomic_read(&s->state) != MIGRATION_STATUS_CANCELLING) {
        bql_unlock();
        migrate_set_state(&s->state, *cur, MIGRATION_STATUS_PRE_SWITCHOVER);
        qemu_sem_wait(&s->pause_sem);
        migrate_set_state(&s->state, MIGRATION_STATUS_PRE_SWITCHOVER,
                          MIGRATION_STATUS_DEVICE);
        *cur = MIGRATION_STATUS_DEVICE;
        bql_lock();
    }
    return qatomic_read(&s->state) == MIGRATION_STATUS_DEVICE;
}

static void migration_completion(MigrationState *s)
{
    MigrationStatus cur = MIGRATION_STATUS_ACTIVE;
    Error *err = NULL;
    bool ok = false;

    bql_lock();
    s->downtime_start = now_ms();
    stat64_set(&s->stats.precopy_bytes, migration_transferred_now(s));
    s->vm_was_running = runstate_is_running();
    global_state_store();
    if (vm_stop_force_state(RUN_STATE_FINISH_MIGRATE) >= 0 &&
        migration_maybe_pause(s, &cur)) {
        qemu_file_set_rate_limit(s->to_dst_file, 0);
        ok = qemu_savevm_state_complete_precopy(s->to_dst_file, &err) >= 0;
    }
    bql_unlock();
    if (!ok) {
        migration_fail(s, err);
        return;
    }
    if (!await_return_path_close_on_source(s)) {
        migration_fail(s, NULL);
        return;
    }
    if (!migration_check_file(s)) {
        return;
    }
    s->downtime = now_ms() - s->downtime_start;
    stat64_set(&s->stats.transferred, migration_transferred_now(s));
    stat64_set(&s->stats.downtime_bytes,
               stat64_get(&s->stats.transferred) -
               stat64_get(&s->stats.precopy_bytes));
    migrate_set_state(&s->state, cur, MIGRATION_STATUS_COMPLETED);
}

/* One step of the loop: true when the migration left the iteration phase. */
static bool migration_iteration_run(MigrationState *s)
{
    bool in_postcopy = qatomic_read(&s->state) ==
                       MIGRATION_STATUS_POSTCOPY_ACTIVE;
    uint64_t must = 0, can = 0, pending;

    qemu_savevm_state_pending_estimate(&must, &can);
    if (!in_postcopy && must + can <= s->threshold_size) {
        qemu_savevm_state_pending_exact(&must, &can);
    }
    pending = must + can;
    trace_migrate_pending(pending, s->threshold_size, must, can);
    if (!pending || pending < s->threshold_size) {
        trace_migration_thread_low_pending(pending);
        if (in_postcopy) {
            /* false: it paused and was recovered, the loop goes on */
            return postcopy_completion(s);
        } else {
            migration_completion(s);
        }
        return true;
    }
    if (!in_postcopy && must <= s->threshold_size &&
        qatomic_read(&s->start_postcopy)) {
        postcopy_start(s);
        /* on: the loop goes on in postcopy-active */
        return false;
    }
    if (qemu_savevm_state_iterate(s->to_dst_file) < 0) {
        return !migration_check_file(s);
    }
    return false;
}

static void migration_iteration_finish(MigrationState *s)
{
    int64_t end = now_ms();

    /* completed, failed or cancelled: auto-converge lets the guest go */
    cpu_throttle_stop();
    bql_lock();
    switch (qatomic_read(&s->state)) {
    case MIGRATION_STATUS_COMPLETED:
        s->total_time = end - s->start_time;
        if (s->total_time - s->setup_time > 0) {
            /* as QEMU: over the time after setup */
            s->mbps = ((double)stat64_get(&s->stats.transferred) * 8.0) /
                      (s->total_time - s->setup_time) / 1000.0;
        }
        runstate_set(RUN_STATE_POSTMIGRATE);
        break;
    case MIGRATION_STATUS_FAILED:
    case MIGRATION_STATUS_CANCELLED:
    case MIGRATION_STATUS_CANCELLING:
        if (s->vm_was_running) {
            if (!runstate_check(RUN_STATE_SHUTDOWN)) {
                vm_start();
            }
        } else if (runstate_check(RUN_STATE_FINISH_MIGRATE)) {
            runstate_set(RUN_STATE_POSTMIGRATE);
        }
        break;
    default:
        break;
    }
    bql_unlock();
    qemu_bh_schedule_oneshot(migrate_fd_cleanup_bh, s);
}

static void *migration_thread(void *opaque)
{
    MigrationState *s = opaque;
    QEMUFile *f = s->to_dst_file;
    int64_t setup_start = now_ms();
    Error *err = NULL;

    trace_migration_thread_setup_start();
    /* right after the main channel: the destination tells them by order */
    if (migrate_postcopy_ram() && migrate_postcopy_preempt() &&
        !postcopy_preempt_connect(s, &err)) {
        migration_fail(s, err);
        goto out;
    }
    qemu_savevm_state_header(f);
    /* postcopy always needs the return path, for page requests */
    if (migrate_return_path() || migrate_postcopy_ram()) {
        if (!open_return_path_on_source(s, &err)) {
            migration_fail(s, err);
            goto out;
        }
        qemu_savevm_send_open_return_path(f);
        qemu_savevm_send_ping(f, 1);
    }
    if (migrate_postcopy_ram()) {
        qemu_savevm_send_postcopy_advise(f);
    }
    if (!qemu_savevm_state_setup(f, &err)) {
        migration_fail(s, err);
        goto out;
    }
    if (!migration_check_file(s)) {
        goto out;
    }
    s->setup_time = now_ms() - setup_start;
    s->expected_downtime = migrate_downtime_limit();
    migrate_set_state(&s->state, MIGRATION_STATUS_SETUP,
                      MIGRATION_STATUS_ACTIVE);
    trace_migration_thread_setup_complete();
    migration_window_start(s, now_ms());

    while (qatomic_read(&s->state) == MIGRATION_STATUS_ACTIVE ||
           qatomic_read(&s->state) == MIGRATION_STATUS_POSTCOPY_ACTIVE) {
        /* a postcopy recovery replaces the file */
        if (!qemu_file_rate_limit(s->to_dst_file) ||
            postcopy_req_queue_has(&s->page_requests)) {
            if (migration_iteration_run(s)) {
                break;
            }
        }
        if (!migration_check_file(s)) {
            break;
        }
        migration_rate_limit(s);
    }
out:
    if (qatomic_read(&s->state) == MIGRATION_STATUS_SETUP ||
        qatomic_read(&s->state) == MIGRATION_STATUS_ACTIVE) {
        migration_check_file(s);
    }
    trace_migration_thread_after_loop();
    migration_iteration_finish(s);
    return NULL;
}

/* Main thread, BQL: join the threads, close the files, final state. */
static void migrate_fd_cleanup_bh(void *opaque)
{
    MigrationState *s = opaque;
    QEMUFile *f;

    if (s->thread_created) {
        qemu_thread_join(&s->thread);
        s->thread_created = false;
    }
    multifd_send_cleanup();
    if (s->rp_state.rp_thread_created) {
        qemu_file_shutdown(s->rp_state.from_dst_file);
        qemu_thread_join(&s->rp_state.rp_thread);
        s->rp_state.rp_thread_created = false;
    }
    qemu_savevm_state_cleanup();

    qemu_mutex_lock(&s->qemu_file_lock);
    f = s->to_dst_file;
    s->to_dst_file = NULL;
    qemu_mutex_unlock(&s->qemu_file_lock);
    if (s->rp_state.from_dst_file) {
        qemu_fclose(s->rp_state.from_dst_file);
        s->rp_state.from_dst_file = NULL;
    }
    if (f) {
        qemu_fclose(f);
    }
    postcopy_preempt_close_source(s);
    migration_dirty_limit_end();
    migrate_set_state(&s->state, MIGRATION_STATUS_CANCELLING,
                      MIGRATION_STATUS_CANCELLED);
    qemu_mutex_lock(&s->error_mutex);
    if (s->error && qatomic_read(&s->state) == MIGRATION_STATUS_FAILED) {
        error_report("%s", error_get_pretty(s->error));
    }
    qemu_mutex_unlock(&s->error_mutex);
    trace_migrate_fd_cleanup(MigrationStatus_str(qatomic_read(&s->state)));
}

void migrate_fd_error(MigrationState *s, Error *err)
{
    trace_migrate_fd_error(err ? error_get_pretty(err) : "");
    migrate_set_error(s, err);
    migrate_set_state(&s->state, MIGRATION_STATUS_SETUP,
                      MIGRATION_STATUS_FAILED);
}

void migrate_fd_connect(MigrationState *s, QIOChannel *ioc, Error *error)
{
    QEMUFile *f;

    MigrationStatus st;

    if (postcopy_resume_connected(s, ioc, error)) {
        return;
    }
    st = qatomic_read(&s->state);
    if (st == MIGRATION_STATUS_CANCELLING ||
        st == MIGRATION_STATUS_CANCELLED) {
        /* cancelled while connecting: whatever the connect says now */
        trace_migrate_fd_connect_cancelled(error ? error_get_pretty(error)
                                                 : "");
        error_free(error);
        migrate_set_state(&s->state, MIGRATION_STATUS_CANCELLING,
                          MIGRATION_STATUS_CANCELLED);
        return;
    }
    if (error) {
        migrate_fd_error(s, error);
        return;
    }
    if (qatomic_read(&s->state) != MIGRATION_STATUS_SETUP) {
        return;
    }
    if (migrate_multifd() && !multifd_send_setup(s, &error)) {
        migrate_fd_error(s, error);
        return;
    }
    f = qemu_file_new_output(ioc);
    qemu_file_set_rate_limit(f, migrate_max_bandwidth() /
                                (1000 / MIGRATION_BUFFER_DELAY_MS));
    qemu_mutex_lock(&s->qemu_file_lock);
    s->to_dst_file = f;
    qemu_mutex_unlock(&s->qemu_file_lock);
    trace_migrate_fd_connect(qio_channel_type_name(ioc));
    qemu_thread_create(&s->thread, "live_migration", migration_thread, s,
                       QEMU_THREAD_JOINABLE);
    s->thread_created = true;
}

unsigned migration_connecting_set(MigrationState *s, QIOChannel *ioc)
{
    qemu_mutex_lock(&s->qemu_file_lock);
    if (s->connecting_ioc) {
        qio_channel_unref(s->connecting_ioc);
    }
    s->connecting_ioc = ioc;
    qio_channel_ref(ioc);
    qemu_mutex_unlock(&s->qemu_file_lock);
    return s->connect_gen;
}

bool migration_connecting_done(MigrationState *s, unsigned gen)
{
    QIOChannel *ioc = NULL;
    bool current = gen == s->connect_gen;

    qemu_mutex_lock(&s->qemu_file_lock);
    if (current) {
        ioc = s->connecting_ioc;
        s->connecting_ioc = NULL;
    }
    qemu_mutex_unlock(&s->qemu_file_lock);
    if (ioc) {
        qio_channel_unref(ioc);
    }
    trace_migration_connecting_done(gen, s->connect_gen);
    return current;
}

static void migrate_init(MigrationState *s)
{
    QIOChannel *stale;

    /* a handshake of an earlier migration can no longer reach this one */
    qemu_mutex_lock(&s->qemu_file_lock);
    s->connect_gen++;
    stale = s->connecting_ioc;
    s->connecting_ioc = NULL;
    qemu_mutex_unlock(&s->qemu_file_lock);
    if (stale) {
        qio_channel_shutdown(stale, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
        qio_channel_unref(stale);
    }
    memset(&s->stats, 0, sizeof(s->stats));
    qemu_mutex_lock(&s->error_mutex);
    error_free(s->error);
    s->error = NULL;
    qemu_mutex_unlock(&s->error_mutex);
    s->start_time = now_ms();
    s->setup_time = 0;
    s->total_time = 0;
    s->downtime = 0;
    s->downtime_start = 0;
    s->expected_downtime = 0;
    s->threshold_size = 0;
    s->mbps = 0;
    s->pages_per_second = 0;
    migration_progress_reset();
    migration_convergence_reset();
    s->vm_was_running = false;
    s->rp_state.last_pong = 0;
    s->rp_state.pongs = 0;
    s->rp_state.error = false;
    s->rp_state.shut_received = false;
    s->rp_state.package_loaded = false;
    s->start_postcopy = false;
    postcopy_req_queue_reset(&s->page_requests);
}

/* ------------------------------------------------------------- QMP: source */

static bool migrate_prepare(MigrationState *s, bool blk, bool inc,
                            bool resume, Error **errp)
{
    MigrationStatus st = qatomic_read(&s->state);

    if (blk || inc) {
        error_setg(errp, "QEMU compiled without old-style (blk/-b, inc/-i) "
                   "block migration: block migration is not supported");
        return false;
    }
    if (migration_is_running(st) || s->thread_created) {
        error_setg(errp, QERR_MIGRATION_ACTIVE);
        return false;
    }
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        error_setg(errp, "Guest is waiting for an incoming migration");
        return false;
    }
    if (runstate_check(RUN_STATE_POSTMIGRATE)) {
        error_setg(errp, "Can't migrate the vm that was paused due to "
                   "previous migration");
        return false;
    }
    if (!migrate_params_check_built(&s->opts, errp)) {
        return false;
    }
    if (migrate_postcopy_ram() && !postcopy_ram_source_check(errp)) {
        return false;
    }

    migrate_init(s);
    if (!migrate_set_state(&s->state, st, MIGRATION_STATUS_SETUP)) {
        error_setg(errp, QERR_MIGRATION_ACTIVE);
        return false;
    }
    return true;
}

/* multifd opens further connections to the same place: sockets only. */
static bool migration_multifd_uri_check(const char *uri, Error **errp)
{
    if (migrate_multifd() && !g_str_has_prefix(uri, "tcp:") &&
        !g_str_has_prefix(uri, "unix:") && !g_str_has_prefix(uri, "vsock:")) {
        error_setg(errp, "multifd needs a socket transport (tcp:, unix: or "
                   "vsock:), not '%s'", uri);
        return false;
    }
    return true;
}

JsonNode *qmp_migrate(JsonObject *args, Error **errp)
{
    MigrationState *s = migrate_get_current();
    const char *uri = qapi_arg_str(args, "uri");
    const char *p;
    Error *err = NULL;

    if (qapi_arg_bool(args, "resume", false)) {
        postcopy_resume_start(s, uri, errp);
        return NULL;
    }
    if (migrate_postcopy_ram() && migrate_postcopy_preempt() &&
        !postcopy_preempt_check(uri, errp)) {
        return NULL;
    }
    if (!migrate_prepare(s, qapi_arg_bool(args, "blk", false),
                         qapi_arg_bool(args, "inc", false),
                         qapi_arg_bool(args, "resume", false), errp)) {
        return NULL;
    }
    trace_qmp_migrate(uri);
    g_free(s->uri);
    s->uri = g_strdup(uri);
    if (!migration_rdma_check(uri, true, &err) ||
        !migration_tls_check(uri, true, &err) ||
        !migration_multifd_uri_check(uri, &err)) {
        /* nothing started: fail below with this error */
    } else if (g_str_has_prefix(uri, "tcp:") || g_str_has_prefix(uri, "unix:") ||
        g_str_has_prefix(uri, "vsock:")) {
        p = g_str_has_prefix(uri, "tcp:") ? uri + 4 : uri;
        socket_start_outgoing_migration(s, p, &err);
    } else if (g_str_has_prefix(uri, "exec:")) {
        exec_start_outgoing_migration(s, uri + 5, &err);
    } else if (g_str_has_prefix(uri, "fd:")) {
        fd_start_outgoing_migration(s, uri + 3, &err);
    } else if (g_str_has_prefix(uri, "file:")) {
        file_start_outgoing_migration(s, uri + 5, &err);
    } else if (g_str_has_prefix(uri, "rdma:")) {
        rdma_start_outgoing_migration(s, uri + 5, &err);
    } else {
        error_setg(&err, "Parameter 'uri' expects a valid migration "
                   "protocol: '%s'", uri);
    }
    if (err) {
        migrate_set_error(s, error_copy(err));
        migrate_set_state(&s->state, MIGRATION_STATUS_SETUP,
                          MIGRATION_STATUS_FAILED);
        error_propagate(errp, err);
    }
    return NULL;
}

void migrate_fd_cancel(MigrationState *s);

void migrate_fd_cancel(MigrationState *s)
{
    MigrationStatus old;
    QEMUFile *f;

    trace_migrate_fd_cancel();
    do {
        old = qatomic_read(&s->state);
        if (!migration_is_running(old)) {
            return;
        }
        if (old == MIGRATION_STATUS_PRE_SWITCHOVER) {
            qemu_sem_post(&s->pause_sem);
        }
        if (old == MIGRATION_STATUS_CANCELLING) {
            break;
        }
    } while (!migrate_set_state(&s->state, old, MIGRATION_STATUS_CANCELLING));

    qemu_mutex_lock(&s->qemu_file_lock);
    f = s->to_dst_file;
    if (f) {
        /* fails the file first, then wakes readers/writers on both ways */
        qemu_file_shutdown(f);
    }
    if (s->postcopy_qemufile_src) {
        qemu_file_shutdown(s->postcopy_qemufile_src);
    }
    if (s->connecting_ioc) {
        /* a TLS handshake that may never end (a silent peer): end it */
        trace_migrate_fd_cancel_connecting();
        qio_channel_shutdown(s->connecting_ioc, QIO_CHANNEL_SHUTDOWN_BOTH,
                             NULL);
    }
    qemu_mutex_unlock(&s->qemu_file_lock);
    multifd_send_shutdown();
    qemu_sem_post(&s->rate_limit_sem);
    if (!f && !s->thread_created) {
        /* still connecting: migrate_fd_connect finishes the cancel; a
         * transport that never calls back is finished here */
        if (old == MIGRATION_STATUS_SETUP) {
            migrate_set_state(&s->state, MIGRATION_STATUS_CANCELLING,
                              MIGRATION_STATUS_CANCELLED);
        }
    }
}

JsonNode *qmp_migrate_cancel(JsonObject *args, Error **errp)
{
    if (migration_in_postcopy()) {
        /*
         * The guest runs on the destination with part of its memory here:
         * cancelling would lose it (QEMU 8.2+ refuses too).
         */
        error_setg(errp, "Postcopy migration in progress, cannot cancel");
        return NULL;
    }
    migrate_fd_cancel(migrate_get_current());
    return NULL;
}

JsonNode *qmp_migrate_continue(JsonObject *args, Error **errp)
{
    MigrationState *s = migrate_get_current();
    const char *want = qapi_arg_str(args, "state");
    MigrationStatus st = qatomic_read(&s->state);

    if (!want || strcmp(MigrationStatus_str(st), want)) {
        error_setg(errp, "Migration not in expected state: %s",
                   MigrationStatus_str(st));
        return NULL;
    }
    qemu_sem_post(&s->pause_sem);
    return NULL;
}

JsonNode *qmp_migrate_set_capabilities(JsonObject *args, Error **errp)
{
    MigrationState *s = migrate_get_current();
    JsonArray *caps = json_object_get_array_member(args, "capabilities");

    migrate_caps_apply(&s->opts, caps,
                       migration_is_running(qatomic_read(&s->state)), errp);
    return NULL;
}

JsonNode *qmp_query_migrate_capabilities(JsonObject *args, Error **errp)
{
    return qapi_node_array(migrate_caps_to_json(&migrate_get_current()->opts));
}

JsonNode *qmp_migrate_set_parameters(JsonObject *args, Error **errp)
{
    MigrationState *s = migrate_get_current();

    if (migrate_params_apply(&s->opts, args, errp) && s->to_dst_file &&
        migration_is_running(qatomic_read(&s->state))) {
        /* the new max-bandwidth applies from the next window; the
         * migration thread reads it when a window starts */
        qemu_sem_post(&s->rate_limit_sem);
    }
    return NULL;
}

JsonNode *qmp_query_migrate_parameters(JsonObject *args, Error **errp)
{
    return qapi_node_object(migrate_params_to_json(&migrate_get_current()->opts));
}

/* -------------------------------------------------------- query-migrate */

static void add_uint(JsonObject *o, const char *name, uint64_t v)
{
    json_object_set_int_member(o, name, (gint64)v);
}

static JsonObject *ram_info(MigrationState *s, bool completed)
{
    JsonObject *ram = json_object_new();
    MigrationStats *st = &s->stats;
    uint64_t normal = stat64_get(&st->normal_pages);

    add_uint(ram, "transferred", stat64_get(&st->transferred));
    add_uint(ram, "remaining", completed ? 0 : ram_bytes_remaining());
    add_uint(ram, "total", ram_bytes_total());
    add_uint(ram, "duplicate", stat64_get(&st->zero_pages));
    add_uint(ram, "skipped", 0);
    add_uint(ram, "normal", normal);
    add_uint(ram, "normal-bytes", normal * TARGET_PAGE_SIZE);
    add_uint(ram, "dirty-pages-rate",
             completed ? 0 : stat64_get(&st->dirty_pages_rate));
    json_object_set_double_member(ram, "mbps", s->mbps);
    add_uint(ram, "dirty-sync-count", stat64_get(&st->dirty_sync_count));
    add_uint(ram, "postcopy-requests", stat64_get(&st->postcopy_requests));
    add_uint(ram, "page-size", TARGET_PAGE_SIZE);
    add_uint(ram, "multifd-bytes", stat64_get(&st->multifd_bytes));
    add_uint(ram, "pages-per-second", s->pages_per_second);
    add_uint(ram, "precopy-bytes", stat64_get(&st->precopy_bytes));
    add_uint(ram, "downtime-bytes", stat64_get(&st->downtime_bytes));
    add_uint(ram, "postcopy-bytes", stat64_get(&st->postcopy_bytes));
    add_uint(ram, "dirty-sync-missed-zero-copy",
             stat64_get(&st->dirty_sync_missed_zero_copy));
    return ram;
}

/*
 * "xbzrle-cache" and "compression", when their capability is on (7.2), and
 * "cpu-throttle-percentage" while auto-converge throttles (as QEMU: absent
 * at 0, so never once completed).
 */
static void ram_fill_feature_info(JsonObject *info)
{
    if (migrate_xbzrle()) {
        ram_xbzrle_fill_info(info);
    }
    if (migrate_compress()) {
        ram_compress_fill_info(info);
    }
    if (cpu_throttle_active()) {
        json_object_set_int_member(info, "cpu-throttle-percentage",
                                   cpu_throttle_get_percentage());
    }
}

static void fill_source_info(JsonObject *info, MigrationState *s)
{
    MigrationStatus st = qatomic_read(&s->state);

    switch (st) {
    case MIGRATION_STATUS_NONE:
        return;
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_CANCELLED:
    case MIGRATION_STATUS_WAIT_UNPLUG:
        break;
    case MIGRATION_STATUS_FAILED:
        qemu_mutex_lock(&s->error_mutex);
        if (s->error) {
            json_object_set_string_member(info, "error-desc",
                                          error_get_pretty(s->error));
        }
        qemu_mutex_unlock(&s->error_mutex);
        break;
    case MIGRATION_STATUS_COMPLETED:
        add_uint(info, "setup-time", s->setup_time);
        add_uint(info, "total-time", s->total_time);
        add_uint(info, "downtime", s->downtime);
        json_object_set_object_member(info, "ram", ram_info(s, true));
        ram_fill_feature_info(info);
        break;
    default:
        add_uint(info, "setup-time", s->setup_time);
        add_uint(info, "total-time", now_ms() - s->start_time);
        add_uint(info, "expected-downtime", s->expected_downtime);
        json_object_set_object_member(info, "ram", ram_info(s, false));
        ram_fill_feature_info(info);
        migration_dirty_limit_fill_info(info);
        break;
    }
    json_object_set_string_member(info, "status", MigrationStatus_str(st));
    migration_progress_fill_info(info, MigrationStatus_str(st));
    migration_convergence_fill_info(info, MigrationStatus_str(st));
}

static void fill_destination_info(JsonObject *info,
                                  MigrationIncomingState *mis)
{
    MigrationStatus st = qatomic_read(&mis->state);

    if (mis->socket_address_list && mis->socket_address_list->len) {
        JsonArray *arr = json_array_new();

        for (guint i = 0; i < mis->socket_address_list->len; i++) {
            SocketAddress *a = g_ptr_array_index(mis->socket_address_list, i);
            JsonObject *o = json_object_new();

            if (a->type == SOCKET_ADDRESS_TYPE_INET) {
                json_object_set_string_member(o, "type", "inet");
                json_object_set_string_member(o, "host", a->u.inet.host);
                json_object_set_string_member(o, "port", a->u.inet.port);
            } else if (a->type == SOCKET_ADDRESS_TYPE_UNIX) {
                json_object_set_string_member(o, "type", "unix");
                json_object_set_string_member(o, "path", a->u.q_unix.path);
            } else if (a->type == SOCKET_ADDRESS_TYPE_VSOCK) {
                json_object_set_string_member(o, "type", "vsock");
                json_object_set_string_member(o, "cid", a->u.vsock.cid);
                json_object_set_string_member(o, "port", a->u.vsock.port);
            } else {
                json_object_set_string_member(o, "type", "fd");
                json_object_set_string_member(o, "str", a->u.fd.str);
            }
            json_array_add_object_element(arr, o);
        }
        json_object_set_array_member(info, "socket-address", arr);
    }
    if (st == MIGRATION_STATUS_NONE) {
        return;
    }
    if (mis->blocktime) {
        postcopy_blocktime_fill_info(mis->blocktime, info);
    }
    if (st == MIGRATION_STATUS_FAILED && mis->error) {
        json_object_set_string_member(info, "error-desc",
                                      error_get_pretty(mis->error));
    }
    json_object_set_string_member(info, "status", MigrationStatus_str(st));
}

JsonObject *migration_query_info(void)
{
    JsonObject *info = json_object_new();

    fill_source_info(info, migrate_get_current());
    fill_destination_info(info, migration_incoming_get_current());
    return info;
}

JsonNode *qmp_query_migrate(JsonObject *args, Error **errp)
{
    return qapi_node_object(migration_query_info());
}

/* ------------------------------------------------------------- destination */

void migration_incoming_add_socket_address(MigrationIncomingState *mis,
                                           SocketAddress *addr)
{
    if (!mis->socket_address_list) {
        mis->socket_address_list =
            g_ptr_array_new_with_free_func((GDestroyNotify)
                                           qapi_free_SocketAddress);
    }
    g_ptr_array_add(mis->socket_address_list, addr);
}

/* Close the return path (SHUT first) and the incoming file. */
void migration_incoming_state_destroy(MigrationIncomingState *mis,
                                             bool error)
{
    QEMUFile *rp;

    if (mis->to_src_file) {
        migrate_send_rp_shut(mis, error ? 1 : 0, NULL);
        qemu_mutex_lock(&mis->rp_mutex);
        rp = mis->to_src_file;
        mis->to_src_file = NULL;
        qemu_mutex_unlock(&mis->rp_mutex);
        qemu_fclose(rp);
    }
    multifd_recv_cleanup();
    if (mis->from_src_file) {
        qemu_fclose(mis->from_src_file);
        mis->from_src_file = NULL;
    }
    if (mis->listener) {
        qio_net_listener_disconnect(mis->listener);
        qio_net_listener_unref(mis->listener);
        mis->listener = NULL;
    }
    if (mis->socket_address_list) {
        g_ptr_array_free(mis->socket_address_list, true);
        mis->socket_address_list = NULL;
    }
}

/* Main thread, BQL: the load finished (either way). */
static void process_incoming_migration_bh(void *opaque)
{
    MigrationIncomingState *mis = opaque;
    const char *rs;

    if (mis->thread_created) {
        qemu_thread_join(&mis->thread);
        mis->thread_created = false;
    }
    /* nothing may write guest RAM once the load ended */
    multifd_recv_cleanup();
    /* advised but never switched (or failed before LISTEN) */
    postcopy_ram_incoming_cleanup(mis);
    postcopy_state_set(POSTCOPY_INCOMING_NONE);
    if (!mis->load_ok) {
        migrate_set_state(&mis->state, MIGRATION_STATUS_ACTIVE,
                          MIGRATION_STATUS_FAILED);
        error_report("load of migration failed: %s",
                     mis->error ? error_get_pretty(mis->error) : "unknown");
        migration_incoming_state_destroy(mis, true);
        /* as QEMU: an incoming process whose load failed exits */
        exit(EXIT_FAILURE);
    }
    qemu_loadvm_state_cleanup();
    rs = global_state_get_runstate();
    trace_process_incoming_migration_bh(rs ? rs : "(none)", autostart);
    if (!rs || !strcmp(rs, "running")) {
        if (autostart) {
            vm_start();
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
    } else {
        RunState r;

        if (RunState_parse(rs, &r)) {
            runstate_set(r);
        } else {
            runstate_set(RUN_STATE_PAUSED);
        }
    }
    migration_incoming_state_destroy(mis, false);
    migrate_set_state(&mis->state, MIGRATION_STATUS_ACTIVE,
                      MIGRATION_STATUS_COMPLETED);
}

static void *process_incoming_migration_thread(void *opaque)
{
    MigrationIncomingState *mis = opaque;
    Error *err = NULL;

    trace_process_incoming_migration_start();
    mis->load_ok = qemu_loadvm_state(mis->from_src_file, mis, &err);
    if (!mis->load_ok) {
        Error *merr = migrate_multifd() ? multifd_recv_get_error() : NULL;

        if (merr) {
            /* a multifd channel failed and stopped the main stream */
            error_free(err);
            err = merr;
        }
        if (!err) {
            error_setg(&err, "the stream could not be loaded");
        }
        error_free(mis->error);
        mis->error = err;
    }
    trace_process_incoming_migration_end(mis->load_ok);
    if (mis->listen_thread_created) {
        /*
         * Postcopy: the listen thread reads the stream now and ends the
         * migration.  A failure here (in the package) stops it too.
         */
        if (!mis->load_ok) {
            qemu_file_shutdown(mis->from_src_file);
        }
        return NULL;
    }
    qemu_bh_schedule_oneshot(process_incoming_migration_bh, mis);
    return NULL;
}

void migration_incoming_process_channel(QIOChannel *ioc)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    MigrationStatus st = qatomic_read(&mis->state);

    if (postcopy_incoming_recover_channel(mis, ioc)) {
        return;
    }
    if (mis->from_src_file) {
        /* the second one is the preempt channel (7.2: by order alone) */
        if (!postcopy_preempt_incoming_channel(mis, ioc)) {
            trace_migration_incoming_extra_channel(
                qio_channel_type_name(ioc));
        }
        return;
    }
    mis->from_src_file = qemu_file_new_input(ioc);
    if (mis->listener && !migrate_multifd() &&
        !(migrate_postcopy_ram() && migrate_postcopy_preempt())) {
        /* stop accepting, keep the address until the load ends
         * (multifd and preempt: their channels come through the same
         * listener) */
        qio_net_listener_set_client_func(mis->listener, NULL, NULL, NULL);
    }
    migrate_set_state(&mis->state, st, MIGRATION_STATUS_ACTIVE);
    qemu_thread_create(&mis->thread, "mig/dst/main",
                       process_incoming_migration_thread, mis,
                       QEMU_THREAD_JOINABLE);
    mis->thread_created = true;
}

bool qemu_start_incoming_migration(const char *uri, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    const char *p;
    bool ok;

    if (!migrate_params_check_built(&migrate_get_current()->opts, errp)) {
        return false;
    }
    trace_qemu_start_incoming_migration(uri);
    if (!migration_rdma_check(uri, false, errp) ||
        !migration_tls_check(uri, false, errp) ||
        !migration_multifd_uri_check(uri, errp)) {
        ok = false;
    } else if (g_str_has_prefix(uri, "tcp:") || g_str_has_prefix(uri, "unix:") ||
        g_str_has_prefix(uri, "vsock:")) {
        p = g_str_has_prefix(uri, "tcp:") ? uri + 4 : uri;
        ok = socket_start_incoming_migration(p, errp);
    } else if (g_str_has_prefix(uri, "exec:")) {
        ok = exec_start_incoming_migration(uri + 5, errp);
    } else if (g_str_has_prefix(uri, "fd:")) {
        ok = fd_start_incoming_migration(uri + 3, errp);
    } else if (g_str_has_prefix(uri, "file:")) {
        ok = file_start_incoming_migration(uri + 5, errp);
    } else if (g_str_has_prefix(uri, "rdma:")) {
        ok = rdma_start_incoming_migration(uri + 5, errp);
    } else {
        error_setg(errp, "unknown migration protocol: %s", uri);
        ok = false;
    }
    if (ok && qatomic_read(&mis->state) == MIGRATION_STATUS_NONE) {
        migrate_set_state(&mis->state, MIGRATION_STATUS_NONE,
                          MIGRATION_STATUS_SETUP);
    }
    return ok;
}

JsonNode *qmp_migrate_incoming(JsonObject *args, Error **errp)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    const char *uri = qapi_arg_str(args, "uri");

    if (mis->started) {
        error_setg(errp, "The incoming migration has already been started");
        return NULL;
    }
    if (!runstate_check(RUN_STATE_INMIGRATE)) {
        error_setg(errp, "'-incoming' was not specified on the command line");
        return NULL;
    }
    if (qemu_start_incoming_migration(uri, errp)) {
        mis->started = true;
    }
    return NULL;
}

bool migration_cmdline_init(const char *uri, Error **errp)
{
    MigrationState *s = migrate_get_current();

    if (!migrate_global_props_apply(&s->opts, errp)) {
        return false;
    }
    if (!uri) {
        return true;
    }
    runstate_set(RUN_STATE_INMIGRATE);
    if (!strcmp(uri, "defer")) {
        return true;
    }
    if (!qemu_start_incoming_migration(uri, errp)) {
        error_prepend(errp, "-incoming %s: ", uri);
        return false;
    }
    migration_incoming_get_current()->started = true;
    return true;
}
