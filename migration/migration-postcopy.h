/*
 * Private to migration.c and migration-postcopy.c: the postcopy parts of
 * the state machine, and the helpers of migration.c they share.
 *
 * Thread and lock context is given per function; migration.h says who owns
 * which field.
 */
#ifndef MIGRATION_MIGRATION_POSTCOPY_H
#define MIGRATION_MIGRATION_POSTCOPY_H

#include "migration/migration.h"
#include "io/channel.h"

/* ---- migration-postcopy.c, source */

/*
 * REQ_PAGES(_ID) read by the return-path thread: check, queue, wake the
 * migration thread.  False ends the return-path thread (error recorded).
 */
bool rp_req_pages(MigrationState *s, uint16_t type, uint16_t len,
                  const uint8_t *buf);
/*
 * migrate-start-postcopy took effect (migration thread): stop the VM, send
 * the discard list and the package, go on in postcopy-active.
 */
void postcopy_start(MigrationState *s);
/*
 * Nothing left in postcopy (migration thread): END, EOF, SHUT, completed.
 * False when an error paused it and a recovery brought it back (the loop
 * goes on).
 */
bool postcopy_completion(MigrationState *s);
/*
 * An error in postcopy (migration thread): failed when the destination's
 * guest provably never ran, else postcopy-paused, keeping everything, and
 * waiting for migrate -r; true once a recovery brought it back to
 * postcopy-active (a recovery that fails pauses again).
 */
bool postcopy_on_error(MigrationState *s, Error *err);

/* ---- postcopy recovery (migration-postcopy.c) */

/* RP RECV_BITMAP and RESUME_ACK (return-path thread); false: error. */
bool rp_recv_bitmap(MigrationState *s, uint16_t len, const uint8_t *buf);
bool rp_resume_ack(MigrationState *s, uint32_t value);
/* migrate resume=true / migrate -r (main thread): connect to @uri. */
void postcopy_resume_start(MigrationState *s, const char *uri, Error **errp);
/*
 * The transport connected (or failed): true when it was for a resume
 * (then handled: postcopy-recover and the migration thread woken, or
 * still paused).  Main thread.
 */
bool postcopy_resume_connected(MigrationState *s, QIOChannel *ioc,
                               Error *error);
/*
 * Destination, main thread: a channel accepted after migrate-recover.
 * True when taken (the new main channel, or the new preempt channel).
 */
bool postcopy_incoming_recover_channel(MigrationIncomingState *mis,
                                       QIOChannel *ioc);

/* ---- postcopy-preempt (migration-postcopy.c) */

/*
 * migrate with postcopy-preempt: the URI must allow a second connection
 * (tcp:, unix:), and x-postcopy-preempt-break-huge must be on.  Main
 * thread.
 */
bool postcopy_preempt_check(const char *uri, Error **errp);
/* Connect the preempt channel to s->uri (migration thread, at its start). */
bool postcopy_preempt_connect(MigrationState *s, Error **errp);
/* Close it (cleanup bottom half, threads joined). */
void postcopy_preempt_close_source(MigrationState *s);
/*
 * Destination, main thread: a channel after the main one.  True when it
 * became the preempt channel (postcopy-preempt on, none yet).
 */
bool postcopy_preempt_incoming_channel(MigrationIncomingState *mis,
                                       QIOChannel *ioc);

/* ---- migration.c, shared with migration-postcopy.c */

/* Bytes written so far (main channel and multifd). */
uint64_t migration_transferred_now(MigrationState *s);
/* Start a new rate/bandwidth window at @now (ms). */
void migration_window_start(MigrationState *s, int64_t now);
/* Move to failed from any running state (takes @err, may be NULL). */
void migration_fail(MigrationState *s, Error *err);
/* The file's sticky error as the migration's (paused in postcopy). */
bool migration_check_file(MigrationState *s);
/* pause-before-switchover with the BQL held; false when cancelled. */
bool migration_maybe_pause(MigrationState *s, MigrationStatus *cur);

/* Close the return path (SHUT @error first) and the incoming file. */
void migration_incoming_state_destroy(MigrationIncomingState *mis,
                                      bool error);

#endif
