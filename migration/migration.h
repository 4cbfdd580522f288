/*
 * Live migration: the source (MigrationState) and the destination
 * (MigrationIncomingState), the state machine and the return path.
 *
 * Threads (see docs/devel/migration/main.rst):
 *   main        QMP/HMP handlers, accepting connections, cleanup bottom
 *               halves; holds the BQL.
 *   "live_migration"  the source migration thread (setup, iterate,
 *               complete); takes the BQL only for the completion.
 *   "return path"     the source thread reading the destination's
 *               messages (SHUT, PONG, ...).
 *   "mig/dst/main"    the destination thread running qemu_loadvm_state().
 *
 * Each of the two states is reached through one accessor and otherwise
 * passed as a context pointer.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "io/channel.h"
#include "io/net-listener.h"
#include "qemu/sockets.h"
#include "migration/qemu-file.h"
#include "migration/options.h"
#include "migration/migration-stats.h"
#include "migration/postcopy-ram.h"

/* QEMU 7.2's MigrationStatus, in QAPI order (names only reach the user). */
typedef enum MigrationStatus {
    MIGRATION_STATUS_NONE,
    MIGRATION_STATUS_SETUP,
    MIGRATION_STATUS_CANCELLING,
    MIGRATION_STATUS_CANCELLED,
    MIGRATION_STATUS_ACTIVE,
    MIGRATION_STATUS_POSTCOPY_ACTIVE,
    MIGRATION_STATUS_POSTCOPY_PAUSED,
    MIGRATION_STATUS_POSTCOPY_RECOVER,
    MIGRATION_STATUS_COMPLETED,
    MIGRATION_STATUS_FAILED,
    MIGRATION_STATUS_COLO,
    MIGRATION_STATUS_PRE_SWITCHOVER,
    MIGRATION_STATUS_DEVICE,
    MIGRATION_STATUS_WAIT_UNPLUG,
    MIGRATION_STATUS__MAX,
} MigrationStatus;

const char *MigrationStatus_str(MigrationStatus s);
bool MigrationStatus_parse(const char *name, MigrationStatus *out);

/* Length of one rate-limit window (QEMU's BUFFER_DELAY). */
#define MIGRATION_BUFFER_DELAY_MS  QEMU_FILE_RATE_LIMIT_PERIOD_MS

/* The source side of a migration. */
typedef struct MigrationState {
    /* ---- set once at startup (main thread) */
    QemuMutex error_mutex;
    QemuMutex qemu_file_lock;
    QemuSemaphore pause_sem;       /* migrate-continue wakes pre-switchover */
    QemuSemaphore rate_limit_sem;  /* cancel wakes the rate-limit sleep */

    /*
     * Capabilities, parameters, -global properties.  Written by the main
     * thread (BQL); read lock-free by the others (see options.h).
     */
    MigrationOptions opts;

    /*
     * Changed only through migrate_set_state() (atomic compare-and-swap),
     * from any thread; read with qatomic_read.
     */
    MigrationStatus state;

    /* ---- under error_mutex: the first error of this migration */
    Error *error;

    /*
     * ---- under qemu_file_lock: the outgoing file.  Created by the main
     * thread before the migration thread starts, used by the migration
     * thread, shut down by migrate_cancel (main thread), closed by the
     * cleanup bottom half (main thread) after the thread was joined.
     */
    QEMUFile *to_dst_file;
    /*
     * Also under qemu_file_lock: the raw channel of a TLS handshake still
     * in progress (a reference), so migrate_cancel can shut it down, and
     * the generation of the migration that started it (see
     * migration_connecting_set).
     */
    QIOChannel *connecting_ioc;
    unsigned connect_gen;

    /* ---- the return path (source side) */
    struct {
        /* created by the migration thread before the RP thread; closed by
         * cleanup after the RP thread was joined */
        QEMUFile *from_dst_file;
        QemuThread rp_thread;
        bool rp_thread_created;      /* migration thread */
        bool error;                  /* RP thread; read after the join */
        uint32_t last_pong;          /* RP thread writes (atomic) */
        uint32_t pongs;              /* number of PONGs received (atomic) */
        bool shut_received;          /* RP thread */
        /* PONG 3 seen: the destination loaded the postcopy package up to
         * its POSTCOPY_RUN, so its guest may run (atomic) */
        bool package_loaded;
        /*
         * postcopy recovery: the RP thread posts rp_sem when every
         * block's received bitmap was reloaded, on RESUME_ACK, and when
         * it ends; the counts are atomic
         */
        QemuSemaphore rp_sem;
        unsigned bitmaps_expected;
        unsigned bitmaps_received;
    } rp_state;

    /* ---- postcopy (source) */
    /* migrate-start-postcopy was issued (main thread sets, atomic) */
    bool start_postcopy;
    /* pages the destination asked for (see PostcopyReqQueue) */
    PostcopyReqQueue page_requests;
    /* a paused postcopy waits here for recovery (not built yet) */
    QemuSemaphore postcopy_pause_sem;
    /* the URI of migrate (main thread), for the preempt channel */
    char *uri;
    /* migrate -r is connecting (main thread) */
    bool resume_connecting;
    /* bytes written on the main channels a recovery replaced */
    uint64_t prev_channels_bytes;
    /*
     * postcopy-preempt: the second channel, connected by the migration
     * thread at its start; written by the return-path thread (under the
     * RAM state's preempt lock); shut down under qemu_file_lock; closed
     * by cleanup after both threads were joined.
     */
    QEMUFile *postcopy_qemufile_src;

    /* ---- owned by the migration thread while it runs (the main thread
     * reads the counters for query-migrate; they are single words) */
    QemuThread thread;
    bool thread_created;             /* main thread */
    int64_t start_time;              /* ms, realtime: migrate accepted */
    int64_t setup_time;              /* ms spent in setup */
    int64_t total_time;              /* ms, set at completion */
    int64_t downtime_start;          /* ms: VM stop */
    int64_t downtime;                /* ms, set at completion */
    int64_t expected_downtime;       /* ms */
    uint64_t threshold_size;         /* bytes: bandwidth x downtime-limit */
    int64_t iteration_start_time;    /* ms: start of the rate window */
    uint64_t iteration_initial_bytes;
    uint64_t iteration_initial_pages;
    double mbps;
    uint64_t pages_per_second;
    bool vm_was_running;             /* set under the BQL at completion */

    /*
     * Counters of this migration, updated with stat64_* from any thread
     * (ram.c in the migration thread).  migration.c sets .transferred from
     * the file (do not add to it elsewhere).
     */
    MigrationStats stats;
} MigrationState;

/* The destination side. */
typedef struct MigrationIncomingState {
    /* state via migrate_set_state (atomic CAS) */
    MigrationStatus state;

    /* ---- main thread (BQL): set when migrate-incoming / -incoming ran */
    bool started;
    QIONetListener *listener; /* socket transports while listening */
    /* addresses actually bound ("socket-address"); freed when done */
    GPtrArray *socket_address_list;  /* of SocketAddress * */

    /* ---- the incoming file: created by the main thread, then owned by
     * the incoming thread; closed by the completion bottom half */
    QEMUFile *from_src_file;
    QemuThread thread;
    bool thread_created;

    /* ---- the return path to the source; writes under rp_mutex */
    QemuMutex rp_mutex;
    QEMUFile *to_src_file;

    /* ---- written by the incoming thread before the finish BH runs */
    bool load_ok;
    Error *error;                    /* the load error (error-desc) */

    /* ---- postcopy (destination), see postcopy-ram.h */
    PostcopyState postcopy_state;    /* postcopy_state_get/set (atomic) */
    struct PostcopyIncoming *postcopy;   /* ADVISE .. cleanup */
    /* the thread loading the main stream while the guest runs; created by
     * the incoming thread at LISTEN, joined by the end bottom half */
    QemuThread listen_thread;
    bool listen_thread_created;
    /* the block of the last page request sent (under rp_mutex) */
    RAMBlock *last_rb_req;
    /*
     * postcopy-blocktime figures: created at LISTEN (incoming thread),
     * kept after the end for query-migrate (see postcopy-blocktime.h)
     */
    struct PostcopyBlocktime *blocktime;
    /*
     * postcopy-preempt: the second incoming channel (main thread sets it
     * when accepted), read by the preempt thread, which starts at LISTEN
     * or when the channel comes, whichever is later.  Under preempt_lock:
     * the file pointer, preempt_listening, preempt_thread_created.
     */
    QemuMutex preempt_lock;
    QEMUFile *postcopy_qemufile_dst;
    bool preempt_listening;
    QemuThread preempt_thread;
    bool preempt_thread_created;
    /* set before the end shuts the channel: its error is no error */
    bool preempt_stopping;
    /* the preempt thread ended (posted after each placement too) */
    QemuSemaphore preempt_progress;
    bool preempt_thread_done;

    /*
     * ---- postcopy recovery (destination).  The listen thread parks on
     * postcopy_pause_sem_dst in postcopy-paused; migrate-recover listens
     * again (recover_listening, main thread) and the next channel becomes
     * the main one (PAUSED -> RECOVER, the thread is woken), the one after
     * it the preempt channel (the preempt thread, parked on
     * preempt_resume_sem, is woken).  from_src_file is swapped under
     * preempt_lock.
     */
    QemuSemaphore postcopy_pause_sem_dst;
    QemuSemaphore preempt_resume_sem;
    bool recover_listening;
    bool recover_main_arrived;
    bool preempt_parked;             /* atomic */
} MigrationIncomingState;

/* The one accessor for each side. */
MigrationState *migrate_get_current(void);
MigrationIncomingState *migration_incoming_get_current(void);

/*
 * Change *@state from @old to @new atomically; nothing happens if *@state
 * is not @old (returns false).  The edge must be in the transition table
 * (asserted).  Traces, and emits MIGRATION {"status"} when the events
 * capability is on.
 */
bool migrate_set_state(MigrationStatus *state, MigrationStatus old,
                       MigrationStatus new);
/* The transition table, for tests and docs. */
bool migration_transition_allowed(MigrationStatus from, MigrationStatus to);

/* setup, active, pre-switchover, device, cancelling, postcopy-*, ... */
bool migration_is_running(MigrationStatus s);
bool migration_is_active(MigrationState *s);

/* MIGRATION_PASS {"pass"} if events are on; ram.c calls it at every sync. */
void migration_pass_event(uint64_t pass);

/* Record the first error of the outgoing migration (takes @err). */
void migrate_set_error(MigrationState *s, Error *err);

/* ---- source: called by the transports (main thread, BQL) */
/*
 * The outgoing channel is connected (or @error): create the file and start
 * the migration thread.  Takes a reference on @ioc.
 */
void migrate_fd_connect(MigrationState *s, QIOChannel *ioc, Error *error);
/* The transport failed before a file existed: state failed (takes @err). */
void migrate_fd_error(MigrationState *s, Error *err);

/* ---- destination */
/*
 * Startup, from vl.c before the machine is built: apply -global
 * migration.* (unknown property: error naming it), and for -incoming
 * URI|defer (@incoming, NULL when absent) put the VM in inmigrate and,
 * unless "defer", start listening / reading now (errors name the URI;
 * loading itself starts from the main loop).
 */
bool migration_cmdline_init(const char *incoming, Error **errp);
/* Start an incoming migration on @uri (migrate-incoming, -incoming). */
bool qemu_start_incoming_migration(const char *uri, Error **errp);
/* An incoming channel is ready (main thread): start loading from it. */
void migration_incoming_process_channel(QIOChannel *ioc);
/*
 * Ask the source for [start, start+len) of @rb: REQ_PAGES_ID when the block
 * differs from the previous request, else REQ_PAGES.  Any thread.
 */
bool migrate_send_rp_req_pages(MigrationIncomingState *mis, RAMBlock *rb,
                               uint64_t start, uint64_t len, Error **errp);
/*
 * The listen thread ended (@ok: the stream reached EOF; else @err, taken):
 * the end bottom half completes the postcopy, or pauses it when the guest
 * already runs here, or fails the migration when it never ran.
 */
void migration_incoming_postcopy_done(MigrationIncomingState *mis, bool ok,
                                      Error *err);
/*
 * POSTCOPY_RUN: start the guest from the main loop (autostart), or leave it
 * paused.  Incoming thread.
 */
void migration_incoming_postcopy_run(MigrationIncomingState *mis);
/*
 * postcopy-preempt on the destination (migration-postcopy.c): LISTEN
 * (incoming thread) lets the preempt thread start; the listen thread
 * drains the preempt channel at the end of the main stream; the end
 * stops the thread and closes the channel (main thread).
 */
void postcopy_preempt_incoming_listen(MigrationIncomingState *mis);
/*
 * Recovery on the destination (migration-postcopy.c).  Listen thread: a
 * load error after RUN pauses (postcopy-paused) until migrate-recover
 * brought a new channel: true (@err taken), mis->from_src_file is the new
 * one; false when the guest never ran here (the load fails with @err).  RECV_BITMAP answers
 * with the block's received bitmap; RESUME goes back to postcopy-active,
 * acknowledges and resends every outstanding page request.
 */
bool postcopy_incoming_pause(MigrationIncomingState *mis, Error *err);
bool migrate_send_rp_recv_bitmap(MigrationIncomingState *mis, RAMBlock *rb,
                                 Error **errp);
bool postcopy_incoming_resume(MigrationIncomingState *mis, Error **errp);
void postcopy_preempt_incoming_drain(MigrationIncomingState *mis);
void postcopy_preempt_incoming_stop(MigrationIncomingState *mis);
/* The outgoing migration is in its postcopy phase (postcopy-*). */
bool migration_in_postcopy(void);

/*
 * Main loop.  A transport step that completes later (a TLS handshake)
 * records the channel it runs on, so migrate_cancel can shut it down, and
 * takes the migration's generation; when it completes it calls
 * migration_connecting_done, which drops the record and returns false when
 * the completion is stale (a later migrate began since): the caller then
 * drops the channel instead of handing it to the newer migration.
 */
unsigned migration_connecting_set(MigrationState *s, QIOChannel *ioc);
bool migration_connecting_done(MigrationState *s, unsigned gen);

/* Record a listening address for "socket-address" (takes @addr). */
void migration_incoming_add_socket_address(MigrationIncomingState *mis,
                                           SocketAddress *addr);

/* query-migrate as a JSON object (QEMU 7.2's MigrationInfo). */
JsonObject *migration_query_info(void);

/* Test hook: reset both states to their initial values. */
void migration_object_init(void);

#endif
