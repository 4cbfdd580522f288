/*
 * savevm: the handler registry, the stream framing and loadvm.
 *
 * Contract between migration.c (the migration thread, the incoming side)
 * and savevm.c (what goes into the stream).  The migration thread calls the
 * qemu_savevm_state_* functions in this order:
 *
 *   header -> [send_open_return_path, send_ping(1)] -> setup
 *          -> { pending_estimate [-> pending_exact] -> iterate }*
 *          -> (VM stopped) complete_precopy -> cleanup
 *
 * All of them run in the migration thread without the BQL, except
 * complete_precopy, which runs with the BQL held and the VM stopped.
 * Errors are also recorded as the QEMUFile's sticky error.
 */
#ifndef MIGRATION_SAVEVM_H
#define MIGRATION_SAVEVM_H

#include "qemu/osdep.h"
#include "migration/qemu-file.h"

typedef struct MigrationState MigrationState;
typedef struct MigrationIncomingState MigrationIncomingState;

/* Magic, version 3, then the configuration record (if send-configuration). */
void qemu_savevm_state_header(QEMUFile *f);
/* START sections of every live handler (RAM announces its blocks). */
bool qemu_savevm_state_setup(QEMUFile *f, Error **errp);
/*
 * One round of PART sections, within the file's rate limit.
 * Returns 1 when every live handler has nothing left for now, 0 when more
 * remains, negative errno on error (the file error is set too).
 */
int qemu_savevm_state_iterate(QEMUFile *f);
/*
 * Bytes still to send.  The estimate is cheap (no bitmap sync); the exact
 * one syncs the dirty log first.  Without postcopy everything is
 * must_precopy.
 */
void qemu_savevm_state_pending_estimate(uint64_t *must_precopy, uint64_t *can_postcopy);
void qemu_savevm_state_pending_exact(uint64_t *must_precopy, uint64_t *can_postcopy);
/*
 * VM stopped, BQL held: END sections of live handlers, the FULL sections of
 * every device (globalstate included), EOF, then VMDESCRIPTION.  Flushes.
 */
int qemu_savevm_state_complete_precopy(QEMUFile *f, Error **errp);
/*
 * Postcopy switch (VM stopped, BQL held): END sections of the live handlers
 * that cannot go on in postcopy; then the FULL sections of every device
 * without EOF or vmdesc (written into the package).
 */
int qemu_savevm_state_complete_precopy_non_postcopy(QEMUFile *f,
                                                    Error **errp);
int qemu_savevm_state_devices(QEMUFile *f, Error **errp);
/*
 * End of postcopy (migration thread): END sections of the postcopy
 * handlers (the rest of RAM), then EOF.  No vmdesc.  Flushes.
 */
int qemu_savevm_state_complete_postcopy(QEMUFile *f, Error **errp);
/* Release what setup allocated (also after failure or cancel). */
void qemu_savevm_state_cleanup(void);

/* Commands (QEMU_VM_COMMAND); each flushes the file. */
void qemu_savevm_send_open_return_path(QEMUFile *f);
void qemu_savevm_send_ping(QEMUFile *f, uint32_t value);
/* ADVISE with the page-size summary and the target page size. */
void qemu_savevm_send_postcopy_advise(QEMUFile *f);
/* One POSTCOPY_RAM_DISCARD: @n (1..12) byte ranges of block @name. */
void qemu_savevm_send_postcopy_ram_discard(QEMUFile *f, const char *name,
                                           unsigned n, const uint64_t *starts,
                                           const uint64_t *lens);
void qemu_savevm_send_postcopy_listen(QEMUFile *f);
/* Recovery: RECV_BITMAP(block name), POSTCOPY_RESUME. */
void qemu_savevm_send_recv_bitmap(QEMUFile *f, const char *name);
void qemu_savevm_send_postcopy_resume(QEMUFile *f);
void qemu_savevm_send_postcopy_run(QEMUFile *f);
/* PACKAGED(len) followed by the @len bytes of the package. */
bool qemu_savevm_send_packaged(QEMUFile *f, const uint8_t *buf, size_t len,
                               Error **errp);

/*
 * Destination: read and check the header and configuration, then load
 * sections and commands until EOF (or a command that ends the load), then
 * the optional VMDESCRIPTION.  Every failure is an error that names the
 * section (idstr, instance, section id) and what was wrong; returns false.
 * On OPEN_RETURN_PATH it calls migration_incoming_open_return_path(mis) and
 * on PING migrate_send_rp_pong(mis, value, errp) (migration.c).
 *
 * Postcopy: ADVISE, DISCARD, then PACKAGED, whose package holds LISTEN
 * (which starts the listen thread on @f), the device state and RUN; the
 * load returns true after RUN and the listen thread goes on reading @f
 * (mis->listen_thread_created), ending with
 * migration_incoming_postcopy_done().
 */
bool qemu_loadvm_state(QEMUFile *f, MigrationIncomingState *mis, Error **errp);
/* After a successful load: post-load hooks that need every device loaded. */
void qemu_loadvm_state_cleanup(void);

/*
 * Run state the source had when it stopped (globalstate), or NULL when the
 * stream carried none: the destination starts the VM if NULL or "running"
 * (and autostart), else sets that run state.
 */
const char *global_state_get_runstate(void);
void register_global_state(void);
/* Store the current run state just before the VM stops (source). */
void global_state_store(void);

/*
 * Internal to migration/ (savevm.c <-> global_state.c): register the
 * "globalstate" vmsd (once), and forget a previously received run state at
 * the start of a load.
 */
void global_state_register_vmsd(void);
void global_state_reset_received(void);

/* Name of the machine written in the configuration record: "virt". */
const char *savevm_machine_name(void);

/* For 'info migrate' and query-migrate: device state bytes of the last completion. */
uint64_t savevm_device_state_bytes(void);

#endif
