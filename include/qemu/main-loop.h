/*
 * The main loop and the big lock (BQL).
 *
 * The main thread runs a GLib main loop (the default GMainContext): monitors,
 * chardevs, incoming connections and timers are GSources on it.  Device state
 * and the run state are protected by the BQL; the main thread holds it except
 * while it sleeps in poll().  vCPU threads take it for MMIO only.
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include <stdbool.h>

void qemu_init_main_loop(void);
/*
 * Run until a shutdown request was processed (see main_loop_should_exit()
 * in sysemu/runstate.h) or the guest asked to exit.  SIGINT, SIGTERM and
 * SIGHUP request a shutdown with cause "host-signal".
 */
void qemu_main_loop(void);
/* Exit status decided when qemu_main_loop() returned (0, or the guest's code). */
int qemu_main_loop_status(void);
/* Wake the main loop from any thread (e.g. after queueing a bottom half). */
void qemu_notify_event(void);

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);     /* true if this thread holds the BQL */

/*
 * Run @cb(@opaque) in the main thread with the BQL held, as soon as
 * possible.  Callable from any thread.
 */
void qemu_bh_schedule_oneshot(void (*cb)(void *opaque), void *opaque);

#endif
