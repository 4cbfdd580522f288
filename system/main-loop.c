/*
 * The main loop: GLib's default context, run by the main thread with the
 * BQL held except while it sleeps in poll().
 *
 * Requests from other threads (shutdown, reset, bottom halves) wake the
 * loop with g_main_context_wakeup(); after every iteration the run-state
 * code gets a chance to act on them (main_loop_should_exit()).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include "trace.h"

#include <glib-unix.h>

static GPollFunc default_poll;
static bool main_loop_initialized;
static int main_loop_status;

/* poll() without the BQL, so that other threads can take it meanwhile. */
static gint poll_unlocked(GPollFD *fds, guint nfds, gint timeout)
{
    bool had_bql = bql_locked();
    gint ret;

    if (had_bql) {
        bql_unlock();
    }
    ret = default_poll(fds, nfds, timeout);
    if (had_bql) {
        bql_lock();
    }
    return ret;
}

static gboolean termsig_handler(gpointer opaque)
{
    int sig = GPOINTER_TO_INT(opaque);

    trace_main_loop_signal(sig);
    /* as QEMU: a host signal always ends the process, even with -no-shutdown */
    no_shutdown = false;
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

void qemu_init_main_loop(void)
{
    GMainContext *ctx = g_main_context_default();

    if (main_loop_initialized) {
        return;
    }
    main_loop_initialized = true;
    signal(SIGPIPE, SIG_IGN);
    default_poll = g_main_context_get_poll_func(ctx);
    g_main_context_set_poll_func(ctx, poll_unlocked);
    g_unix_signal_add(SIGINT, termsig_handler, GINT_TO_POINTER(SIGINT));
    g_unix_signal_add(SIGTERM, termsig_handler, GINT_TO_POINTER(SIGTERM));
    g_unix_signal_add(SIGHUP, termsig_handler, GINT_TO_POINTER(SIGHUP));
    /* the main thread owns the BQL from now on */
    if (!bql_locked()) {
        bql_lock();
    }
}

void qemu_main_loop(void)
{
    int status = 0;

    assert(bql_locked());
    while (!main_loop_should_exit(&status)) {
        g_main_context_iteration(NULL, TRUE);
    }
    main_loop_status = status;
    trace_main_loop_exit(status);
}

int qemu_main_loop_status(void)
{
    return main_loop_status;
}

void qemu_notify_event(void)
{
    g_main_context_wakeup(NULL);
}

typedef struct OneShotBH {
    void (*cb)(void *opaque);
    void *opaque;
} OneShotBH;

static gboolean oneshot_bh_dispatch(gpointer data)
{
    OneShotBH *bh = data;
    bool had_bql = bql_locked();

    /* the main thread holds it while dispatching; be safe for other loops */
    if (!had_bql) {
        bql_lock();
    }
    bh->cb(bh->opaque);
    if (!had_bql) {
        bql_unlock();
    }
    return G_SOURCE_REMOVE;
}

void qemu_bh_schedule_oneshot(void (*cb)(void *opaque), void *opaque)
{
    OneShotBH *bh = g_new(OneShotBH, 1);

    bh->cb = cb;
    bh->opaque = opaque;
    /* attaching to the default context wakes it up */
    g_idle_add_full(G_PRIORITY_DEFAULT, oneshot_bh_dispatch, bh, g_free);
}
