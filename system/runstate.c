/*
 * Run states, VM start/stop, change-state notifiers, and the shutdown,
 * reset, stop and exit requests acted on by the main loop.
 *
 * The allowed transitions are QEMU's (so that management software sees the
 * same sequences); an invalid transition is a programming error and aborts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include "sysemu/cpus.h"
#include "hw/boards.h"
#include "monitor/monitor.h"
#include "trace.h"

#include <json-glib/json-glib.h>

bool no_shutdown;
bool autostart = true;

static RunState current_run_state = RUN_STATE_PRELAUNCH;

static const char *const runstate_names[RUN_STATE__MAX] = {
    [RUN_STATE_DEBUG] = "debug",
    [RUN_STATE_INMIGRATE] = "inmigrate",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_IO_ERROR] = "io-error",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_POSTMIGRATE] = "postmigrate",
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_FINISH_MIGRATE] = "finish-migrate",
    [RUN_STATE_RESTORE_VM] = "restore-vm",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_SAVE_VM] = "save-vm",
    [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_SUSPENDED] = "suspended",
    [RUN_STATE_WATCHDOG] = "watchdog",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
    [RUN_STATE_COLO] = "colo",
};

static const char *const shutdown_cause_names[SHUTDOWN_CAUSE__MAX] = {
    [SHUTDOWN_CAUSE_NONE] = "none",
    [SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
    [SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
    [SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal",
    [SHUTDOWN_CAUSE_HOST_UI] = "host-ui",
    [SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset",
    [SHUTDOWN_CAUSE_GUEST_PANIC] = "guest-panic",
    [SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "subsystem-reset",
    [SHUTDOWN_CAUSE_SNAPSHOT_LOAD] = "snapshot-load",
};

const char *RunState_str(RunState s)
{
    if ((unsigned)s >= RUN_STATE__MAX) {
        return "invalid";
    }
    return runstate_names[s];
}

bool RunState_parse(const char *name, RunState *out)
{
    for (int i = 0; i < RUN_STATE__MAX; i++) {
        if (strcmp(name, runstate_names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

const char *ShutdownCause_str(ShutdownCause c)
{
    if ((unsigned)c >= SHUTDOWN_CAUSE__MAX) {
        return "invalid";
    }
    return shutdown_cause_names[c];
}

/* ---------------------------------------------------------------- transitions */

#define S(x) (1u << RUN_STATE_##x)

/* For each state, the set of states it may move to (QEMU's table). */
static const uint32_t allowed_next[RUN_STATE__MAX] = {
    [RUN_STATE_PRELAUNCH] = S(INMIGRATE) | S(RUNNING) | S(FINISH_MIGRATE),
    [RUN_STATE_DEBUG] = S(RUNNING) | S(FINISH_MIGRATE) | S(PRELAUNCH) |
                        S(SUSPENDED),
    [RUN_STATE_INMIGRATE] = S(INTERNAL_ERROR) | S(IO_ERROR) | S(PAUSED) |
                            S(RUNNING) | S(SHUTDOWN) | S(SUSPENDED) |
                            S(WATCHDOG) | S(GUEST_PANICKED) |
                            S(FINISH_MIGRATE) | S(PRELAUNCH) |
                            S(POSTMIGRATE) | S(COLO),
    [RUN_STATE_INTERNAL_ERROR] = S(PAUSED) | S(FINISH_MIGRATE) | S(PRELAUNCH),
    [RUN_STATE_IO_ERROR] = S(RUNNING) | S(FINISH_MIGRATE) | S(PRELAUNCH),
    [RUN_STATE_PAUSED] = S(RUNNING) | S(FINISH_MIGRATE) | S(POSTMIGRATE) |
                         S(PRELAUNCH) | S(COLO),
    [RUN_STATE_POSTMIGRATE] = S(RUNNING) | S(FINISH_MIGRATE) | S(PRELAUNCH),
    [RUN_STATE_FINISH_MIGRATE] = S(RUNNING) | S(PAUSED) | S(POSTMIGRATE) |
                                 S(PRELAUNCH) | S(COLO) | S(INTERNAL_ERROR) |
                                 S(IO_ERROR) | S(SHUTDOWN) | S(SUSPENDED) |
                                 S(WATCHDOG) | S(GUEST_PANICKED),
    [RUN_STATE_RESTORE_VM] = S(RUNNING) | S(PRELAUNCH),
    [RUN_STATE_COLO] = S(RUNNING) | S(PRELAUNCH) | S(SHUTDOWN),
    [RUN_STATE_RUNNING] = S(DEBUG) | S(INTERNAL_ERROR) | S(IO_ERROR) |
                          S(PAUSED) | S(FINISH_MIGRATE) | S(RESTORE_VM) |
                          S(SAVE_VM) | S(SHUTDOWN) | S(WATCHDOG) |
                          S(GUEST_PANICKED) | S(COLO) | S(SUSPENDED),
    [RUN_STATE_SAVE_VM] = S(RUNNING),
    [RUN_STATE_SHUTDOWN] = S(PAUSED) | S(FINISH_MIGRATE) | S(PRELAUNCH) |
                           S(COLO),
    [RUN_STATE_SUSPENDED] = S(RUNNING) | S(FINISH_MIGRATE) | S(PRELAUNCH) |
                            S(COLO),
    [RUN_STATE_WATCHDOG] = S(RUNNING) | S(FINISH_MIGRATE) | S(PRELAUNCH) |
                           S(COLO),
    [RUN_STATE_GUEST_PANICKED] = S(RUNNING) | S(FINISH_MIGRATE) |
                                 S(PRELAUNCH),
};

#undef S

RunState runstate_get(void)
{
    return qatomic_read(&current_run_state);
}

bool runstate_check(RunState s)
{
    return runstate_get() == s;
}

bool runstate_is_running(void)
{
    return runstate_check(RUN_STATE_RUNNING);
}

void runstate_set(RunState s)
{
    RunState old = runstate_get();

    assert((unsigned)s < RUN_STATE__MAX);
    if (s == old) {
        return;
    }
    if (!(allowed_next[old] & (1u << s))) {
        error_report("invalid runstate transition: '%s' -> '%s'",
                     RunState_str(old), RunState_str(s));
        abort();
    }
    trace_runstate_set(RunState_str(old), RunState_str(s));
    qatomic_set(&current_run_state, s);
}

bool runstate_store(char *buf, size_t size)
{
    const char *name = RunState_str(runstate_get());
    size_t len = strlen(name) + 1;

    if (len > size) {
        return false;
    }
    memcpy(buf, name, len);
    return true;
}

/* ---------------------------------------------------------------- notifiers */

struct VMChangeStateEntry {
    VMChangeStateHandler *cb;
    void *opaque;
    QTAILQ_ENTRY(VMChangeStateEntry) entries;
};

static QTAILQ_HEAD(, VMChangeStateEntry) vm_change_state_head =
    QTAILQ_HEAD_INITIALIZER(vm_change_state_head);

VMChangeStateEntry *qemu_add_vm_change_state_handler(VMChangeStateHandler *cb,
                                                     void *opaque)
{
    VMChangeStateEntry *e = g_new0(VMChangeStateEntry, 1);

    e->cb = cb;
    e->opaque = opaque;
    QTAILQ_INSERT_TAIL(&vm_change_state_head, e, entries);
    return e;
}

void qemu_del_vm_change_state_handler(VMChangeStateEntry *e)
{
    QTAILQ_REMOVE(&vm_change_state_head, e, entries);
    g_free(e);
}

/* Registration order when starting, reverse order when stopping. */
static void vm_state_notify(bool running, RunState state)
{
    VMChangeStateEntry *e, *next;
    GPtrArray *list = g_ptr_array_new();

    trace_vm_state_notify(running, RunState_str(state));
    QTAILQ_FOREACH_SAFE(e, &vm_change_state_head, entries, next) {
        g_ptr_array_add(list, e);
    }
    for (guint i = 0; i < list->len; i++) {
        e = g_ptr_array_index(list, running ? i : list->len - 1 - i);
        e->cb(e->opaque, running, state);
    }
    g_ptr_array_free(list, true);
}

/* ---------------------------------------------------------------- start/stop */

void vm_prepare_start(void)
{
    qapi_event_emit("RESUME", NULL);
    runstate_set(RUN_STATE_RUNNING);
    vm_state_notify(true, RUN_STATE_RUNNING);
}

void vm_start(void)
{
    if (runstate_is_running()) {
        return;
    }
    /* devices see 'running' before the vCPUs execute anything */
    vm_prepare_start();
    resume_all_vcpus();
}

int vm_stop(RunState state)
{
    if (!runstate_is_running()) {
        /* already stopped: nothing to pause, the state is left as it is */
        return 0;
    }
    pause_all_vcpus();
    runstate_set(state);
    vm_state_notify(false, state);
    qapi_event_emit("STOP", NULL);
    return 0;
}

int vm_stop_force_state(RunState state)
{
    if (runstate_is_running()) {
        return vm_stop(state);
    }
    runstate_set(state);
    return 0;
}

/* ---------------------------------------------------------------- requests */

/* Each holds a cause (or state + 1 for vmstop); 0 means none. */
static int shutdown_requested;
static int reset_requested;
static int vmstop_requested;
static int exit_requested;
static int exit_code;

bool shutdown_caused_by_guest(ShutdownCause cause)
{
    return cause >= SHUTDOWN_CAUSE_GUEST_SHUTDOWN &&
           cause != SHUTDOWN_CAUSE_SUBSYSTEM_RESET &&
           cause != SHUTDOWN_CAUSE_SNAPSHOT_LOAD;
}

void qemu_system_shutdown_request(ShutdownCause cause)
{
    trace_qemu_system_shutdown_request(ShutdownCause_str(cause));
    qatomic_set(&shutdown_requested, cause == SHUTDOWN_CAUSE_NONE ?
                SHUTDOWN_CAUSE_HOST_ERROR : cause);
    qemu_notify_event();
}

void qemu_system_reset_request(ShutdownCause cause)
{
    trace_qemu_system_reset_request(ShutdownCause_str(cause));
    qatomic_set(&reset_requested, cause == SHUTDOWN_CAUSE_NONE ?
                SHUTDOWN_CAUSE_HOST_ERROR : cause);
    qemu_notify_event();
}

void qemu_system_vmstop_request(RunState state)
{
    qatomic_set(&vmstop_requested, (int)state + 1);
    qemu_notify_event();
}

void qemu_system_exit_request(int code)
{
    trace_qemu_system_exit_request(code);
    qatomic_set(&exit_code, code);
    qatomic_set(&exit_requested, 1);
    qemu_notify_event();
}

bool qemu_shutdown_requested_get(void)
{
    return qatomic_read(&shutdown_requested) != 0;
}

static JsonObject *cause_data(ShutdownCause cause)
{
    JsonObject *data = json_object_new();

    json_object_set_boolean_member(data, "guest",
                                   shutdown_caused_by_guest(cause));
    json_object_set_string_member(data, "reason", ShutdownCause_str(cause));
    return data;
}

void qemu_system_reset(ShutdownCause reason)
{
    trace_qemu_system_reset(ShutdownCause_str(reason));
    qemu_devices_reset();
    if (reason != SHUTDOWN_CAUSE_SUBSYSTEM_RESET) {
        qapi_event_emit("RESET", cause_data(reason));
    }
}

bool main_loop_should_exit(int *status)
{
    int cause, state;

    if (qatomic_read(&exit_requested)) {
        *status = qatomic_read(&exit_code);
        return true;
    }

    cause = qatomic_xchg(&shutdown_requested, 0);
    if (cause) {
        qapi_event_emit("SHUTDOWN", cause_data(cause));
        /* -no-shutdown keeps the process for guest power-offs only */
        if (no_shutdown && shutdown_caused_by_guest(cause)) {
            vm_stop(RUN_STATE_SHUTDOWN);
        } else {
            *status = 0;
            return true;
        }
    }

    cause = qatomic_xchg(&reset_requested, 0);
    if (cause) {
        bool was_running = runstate_is_running();

        if (was_running) {
            pause_all_vcpus();
        }
        qemu_system_reset(cause);
        if (was_running) {
            resume_all_vcpus();
        }
        /* as QEMU: after a reset a stopped VM waits in prelaunch */
        if (!runstate_check(RUN_STATE_RUNNING) &&
            !runstate_check(RUN_STATE_INMIGRATE) &&
            !runstate_check(RUN_STATE_FINISH_MIGRATE)) {
            runstate_set(RUN_STATE_PRELAUNCH);
        }
    }

    state = qatomic_xchg(&vmstop_requested, 0);
    if (state) {
        vm_stop(state - 1);
    }
    return false;
}
