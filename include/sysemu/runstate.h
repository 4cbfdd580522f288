/* Run states (QEMU's names) and the VM start/stop machinery (system/runstate.c). */
#ifndef SYSEMU_RUNSTATE_H
#define SYSEMU_RUNSTATE_H

#include "qemu/osdep.h"

typedef enum RunState {
    RUN_STATE_DEBUG,
    RUN_STATE_INMIGRATE,
    RUN_STATE_INTERNAL_ERROR,
    RUN_STATE_IO_ERROR,
    RUN_STATE_PAUSED,
    RUN_STATE_POSTMIGRATE,
    RUN_STATE_PRELAUNCH,
    RUN_STATE_FINISH_MIGRATE,
    RUN_STATE_RESTORE_VM,
    RUN_STATE_RUNNING,
    RUN_STATE_SAVE_VM,
    RUN_STATE_SHUTDOWN,
    RUN_STATE_SUSPENDED,
    RUN_STATE_WATCHDOG,
    RUN_STATE_GUEST_PANICKED,
    RUN_STATE_COLO,
    RUN_STATE__MAX,
} RunState;

typedef enum ShutdownCause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
    SHUTDOWN_CAUSE_GUEST_RESET,
    SHUTDOWN_CAUSE_GUEST_PANIC,
    SHUTDOWN_CAUSE_SUBSYSTEM_RESET,
    SHUTDOWN_CAUSE_SNAPSHOT_LOAD,
    SHUTDOWN_CAUSE__MAX,
} ShutdownCause;

const char *RunState_str(RunState s);          /* "running", "inmigrate", ... */
bool RunState_parse(const char *name, RunState *out);
const char *ShutdownCause_str(ShutdownCause c); /* "host-qmp-quit", ... */

RunState runstate_get(void);
bool runstate_check(RunState s);
bool runstate_is_running(void);
/* Change the run state; transitions are checked against QEMU's table. BQL held. */
void runstate_set(RunState s);
bool runstate_store(char *buf, size_t size);   /* name into buf, for globalstate */

/*
 * Start the VM (no-op when running): vm_prepare_start(), then resume the
 * vCPUs, so that devices see the 'running' notification before any guest
 * instruction runs.  BQL held.
 */
void vm_start(void);
/*
 * Stop a running VM into @state: pause vCPUs, set @state, notifiers (in
 * reverse registration order), STOP event.  When the VM is not running
 * this does nothing (as QEMU).  BQL held.  Returns 0.
 */
int vm_stop(RunState state);
/* As vm_stop, but a stopped VM is moved to @state too (checked transition). */
int vm_stop_force_state(RunState state);
/* The first half of vm_start: RESUME event, state 'running', notifiers. */
void vm_prepare_start(void);

typedef void VMChangeStateHandler(void *opaque, bool running, RunState state);
typedef struct VMChangeStateEntry VMChangeStateEntry;
VMChangeStateEntry *qemu_add_vm_change_state_handler(VMChangeStateHandler *cb,
                                                     void *opaque);
void qemu_del_vm_change_state_handler(VMChangeStateEntry *e);

/* Requests, safe from any thread (vCPU, signal handler); acted on by the main loop. */
void qemu_system_shutdown_request(ShutdownCause cause);
void qemu_system_reset_request(ShutdownCause cause);
/* Guest asked to exit with @code (SiFive test device FAIL); exit status. */
void qemu_system_exit_request(int code);
bool qemu_shutdown_requested_get(void);
/* Stop the VM into @state from any thread (a vCPU); done by the main loop. */
void qemu_system_vmstop_request(RunState state);

/*
 * Called by the main loop after each iteration, BQL held: acts on pending
 * requests (reset, stop, shutdown, exit) and returns true when the loop
 * must end, with the process exit status in *status.
 */
bool main_loop_should_exit(int *status);
/* Reset the machine now (qemu_devices_reset + RESET event). BQL held. */
void qemu_system_reset(ShutdownCause reason);
/* True for the causes that come from the guest (the "guest" event member). */
bool shutdown_caused_by_guest(ShutdownCause cause);

/* -no-shutdown: stop instead of exit on guest poweroff */
extern bool no_shutdown;
/* autostart is false with -S or -incoming */
extern bool autostart;

#endif
