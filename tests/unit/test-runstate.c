/*
 * Run states, vm_start/vm_stop, notifiers, and the requests processed by
 * the main loop (shutdown, reset, exit, signals, bottom halves).
 *
 * The QMP event sink and the board reset are replaced by recorders here.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include "sysemu/cpus.h"
#include "hw/boards.h"
#include "monitor/monitor.h"

#include <json-glib/json-glib.h>

/* ---------------------------------------------------------------- recorders */

static GPtrArray *events;       /* "NAME" or "NAME {json}" */
static int devices_resets;

void qapi_event_emit(const char *name, JsonObject *data)
{
    if (data) {
        JsonNode *node = json_node_init_object(json_node_alloc(), data);
        g_autofree char *js = json_to_string(node, false);

        g_ptr_array_add(events, g_strdup_printf("%s %s", name, js));
        json_node_unref(node);
        json_object_unref(data);
    } else {
        g_ptr_array_add(events, g_strdup(name));
    }
}

void qemu_devices_reset(void)
{
    devices_resets++;
}

static char *events_take(void)
{
    GString *s = g_string_new("");

    for (guint i = 0; i < events->len; i++) {
        g_string_append_printf(s, "%s%s", i ? ";" : "",
                               (char *)g_ptr_array_index(events, i));
    }
    g_ptr_array_set_size(events, 0);
    return g_string_free(s, false);
}

#define assert_events(expected) do {                  \
        g_autofree char *got_ = events_take();        \
        g_assert_cmpstr(got_, ==, (expected));        \
    } while (0)

static GString *notes;

static void notifier(void *opaque, bool running, RunState state)
{
    g_string_append_printf(notes, "%s:%d:%s;", (char *)opaque, running,
                           RunState_str(state));
}

/* ---------------------------------------------------------------- tests */

static void test_names(void)
{
    RunState s;

    g_assert_cmpstr(RunState_str(RUN_STATE_RUNNING), ==, "running");
    g_assert_cmpstr(RunState_str(RUN_STATE_FINISH_MIGRATE), ==, "finish-migrate");
    g_assert_cmpstr(RunState_str(RUN_STATE_GUEST_PANICKED), ==, "guest-panicked");
    g_assert_cmpstr(RunState_str(RUN_STATE_POSTMIGRATE), ==, "postmigrate");
    for (int i = 0; i < RUN_STATE__MAX; i++) {
        g_assert_true(RunState_parse(RunState_str(i), &s));
        g_assert_cmpint(s, ==, i);
    }
    g_assert_false(RunState_parse("bogus", &s));
    g_assert_cmpstr(ShutdownCause_str(SHUTDOWN_CAUSE_HOST_QMP_QUIT), ==, "host-qmp-quit");
    g_assert_cmpstr(ShutdownCause_str(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET), ==,
                    "host-qmp-system-reset");
    g_assert_cmpstr(ShutdownCause_str(SHUTDOWN_CAUSE_GUEST_SHUTDOWN), ==, "guest-shutdown");
    g_assert_cmpstr(ShutdownCause_str(SHUTDOWN_CAUSE_HOST_SIGNAL), ==, "host-signal");
    g_assert_cmpstr(ShutdownCause_str(SHUTDOWN_CAUSE_GUEST_RESET), ==, "guest-reset");
    g_assert_true(shutdown_caused_by_guest(SHUTDOWN_CAUSE_GUEST_PANIC));
    g_assert_false(shutdown_caused_by_guest(SHUTDOWN_CAUSE_HOST_SIGNAL));
    g_assert_false(shutdown_caused_by_guest(SHUTDOWN_CAUSE_SUBSYSTEM_RESET));
}

static void test_invalid_transition(void)
{
    if (g_test_subprocess()) {
        g_assert_true(runstate_check(RUN_STATE_PRELAUNCH));
        runstate_set(RUN_STATE_PAUSED);     /* prelaunch -> paused: not allowed */
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*invalid runstate transition: 'prelaunch' -> 'paused'*");
}

static void test_start_stop(void)
{
    VMChangeStateEntry *a, *b;
    char buf[32];

    notes = g_string_new("");
    g_assert_true(runstate_check(RUN_STATE_PRELAUNCH));
    g_assert_true(runstate_store(buf, sizeof(buf)));
    g_assert_cmpstr(buf, ==, "prelaunch");
    g_assert_false(runstate_store(buf, 4));

    a = qemu_add_vm_change_state_handler(notifier, (void *)"a");
    b = qemu_add_vm_change_state_handler(notifier, (void *)"b");

    /* not running: vm_stop changes nothing */
    vm_stop(RUN_STATE_PAUSED);
    g_assert_true(runstate_check(RUN_STATE_PRELAUNCH));
    assert_events("");

    vm_start();
    g_assert_true(runstate_is_running());
    assert_events("RESUME");
    g_assert_cmpstr(notes->str, ==, "a:1:running;b:1:running;");
    g_string_truncate(notes, 0);
    vm_start();                        /* already running: no-op */
    assert_events("");

    vm_stop(RUN_STATE_PAUSED);
    g_assert_true(runstate_check(RUN_STATE_PAUSED));
    assert_events("STOP");
    /* stop notifications run in reverse order */
    g_assert_cmpstr(notes->str, ==, "b:0:paused;a:0:paused;");
    g_string_truncate(notes, 0);

    vm_stop_force_state(RUN_STATE_POSTMIGRATE);
    g_assert_true(runstate_check(RUN_STATE_POSTMIGRATE));
    assert_events("");

    qemu_del_vm_change_state_handler(a);
    vm_start();
    assert_events("RESUME");
    g_assert_cmpstr(notes->str, ==, "b:1:running;");
    vm_stop_force_state(RUN_STATE_FINISH_MIGRATE);
    assert_events("STOP");
    g_assert_true(runstate_check(RUN_STATE_FINISH_MIGRATE));
    runstate_set(RUN_STATE_POSTMIGRATE);
    vm_start();
    assert_events("RESUME");
    qemu_del_vm_change_state_handler(b);
    g_string_free(notes, true);
}

static void test_requests(void)
{
    int status = -1;

    /* the VM is running (previous test) */
    g_assert_true(runstate_is_running());
    g_assert_false(main_loop_should_exit(&status));

    /* reset of a running VM: stays running */
    qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    g_assert_false(main_loop_should_exit(&status));
    g_assert_cmpint(devices_resets, ==, 1);
    assert_events("RESET {\"guest\":true,\"reason\":\"guest-reset\"}");
    g_assert_true(runstate_is_running());

    /* -no-shutdown: a guest power-off stops the VM ... */
    no_shutdown = true;
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    g_assert_true(qemu_shutdown_requested_get());
    g_assert_false(main_loop_should_exit(&status));
    g_assert_false(qemu_shutdown_requested_get());
    assert_events("SHUTDOWN {\"guest\":true,\"reason\":\"guest-shutdown\"};STOP");
    g_assert_true(runstate_check(RUN_STATE_SHUTDOWN));

    /* ... and system_reset brings it to prelaunch */
    qemu_system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    g_assert_false(main_loop_should_exit(&status));
    g_assert_cmpint(devices_resets, ==, 2);
    assert_events("RESET {\"guest\":false,\"reason\":\"host-qmp-system-reset\"}");
    g_assert_true(runstate_check(RUN_STATE_PRELAUNCH));
    vm_start();
    assert_events("RESUME");

    /* a vmstop request from another thread */
    qemu_system_vmstop_request(RUN_STATE_PAUSED);
    g_assert_false(main_loop_should_exit(&status));
    assert_events("STOP");
    g_assert_true(runstate_check(RUN_STATE_PAUSED));
    vm_start();
    assert_events("RESUME");

    /* host quit ends the loop even with -no-shutdown */
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    g_assert_true(main_loop_should_exit(&status));
    g_assert_cmpint(status, ==, 0);
    assert_events("SHUTDOWN {\"guest\":false,\"reason\":\"host-qmp-quit\"}");
    no_shutdown = false;
}

/* ---------------------------------------------------------------- main loop */

static gpointer request_shutdown_thread(gpointer opaque)
{
    g_usleep(10000);
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    return NULL;
}

static void test_main_loop_shutdown(void)
{
    GThread *t;

    qemu_init_main_loop();
    g_assert_true(bql_locked());
    t = g_thread_new("req", request_shutdown_thread, NULL);
    qemu_main_loop();
    g_thread_join(t);
    g_assert_cmpint(qemu_main_loop_status(), ==, 0);
    assert_events("SHUTDOWN {\"guest\":true,\"reason\":\"guest-shutdown\"}");
}

static gpointer exit_thread(gpointer opaque)
{
    g_usleep(10000);
    qemu_system_exit_request(3);
    return NULL;
}

static void test_main_loop_exit_code(void)
{
    if (g_test_subprocess()) {
        GThread *t;

        qemu_init_main_loop();
        t = g_thread_new("exit", exit_thread, NULL);
        qemu_main_loop();
        g_thread_join(t);
        exit(qemu_main_loop_status());
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();     /* exit status 3 */
}

static int bh_ran;
static bool bh_had_bql;

static void bh_cb(void *opaque)
{
    bh_ran++;
    bh_had_bql = bql_locked();
    if (bh_ran == 2) {
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    }
}

static gpointer bh_thread(gpointer opaque)
{
    /* the main thread sleeps in poll without the BQL: we can take it */
    g_usleep(5000);
    bql_lock();
    bql_unlock();
    qemu_bh_schedule_oneshot(bh_cb, NULL);
    g_usleep(5000);
    qemu_bh_schedule_oneshot(bh_cb, NULL);
    return NULL;
}

static void test_main_loop_bh(void)
{
    GThread *t;

    qemu_init_main_loop();
    t = g_thread_new("bh", bh_thread, NULL);
    qemu_main_loop();
    g_thread_join(t);
    g_assert_cmpint(bh_ran, ==, 2);
    g_assert_true(bh_had_bql);
    assert_events("SHUTDOWN {\"guest\":false,\"reason\":\"host-qmp-quit\"}");
}

static gpointer kill_thread(gpointer opaque)
{
    g_usleep(10000);
    kill(getpid(), SIGTERM);
    return NULL;
}

static void test_main_loop_signal(void)
{
    GThread *t;

    qemu_init_main_loop();
    no_shutdown = true;
    t = g_thread_new("kill", kill_thread, NULL);
    qemu_main_loop();
    g_thread_join(t);
    assert_events("SHUTDOWN {\"guest\":false,\"reason\":\"host-signal\"}");
    g_assert_false(no_shutdown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    events = g_ptr_array_new_with_free_func(g_free);
    g_test_add_func("/runstate/names", test_names);
    g_test_add_func("/runstate/invalid-transition", test_invalid_transition);
    g_test_add_func("/runstate/start-stop", test_start_stop);
    g_test_add_func("/runstate/requests", test_requests);
    g_test_add_func("/runstate/main-loop/shutdown", test_main_loop_shutdown);
    g_test_add_func("/runstate/main-loop/exit-code", test_main_loop_exit_code);
    g_test_add_func("/runstate/main-loop/bh", test_main_loop_bh);
    g_test_add_func("/runstate/main-loop/signal", test_main_loop_signal);
    return g_test_run();
}
