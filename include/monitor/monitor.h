/* Monitors: QMP (JSON) and HMP (readline) on chardevs, and the qtest server. */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "qemu/osdep.h"

/* Attach a QMP monitor to @chr (-qmp, -mon mode=control). */
bool monitor_init_qmp(Chardev *chr, bool pretty, Error **errp);
/* Attach an HMP monitor to @chr (-monitor, -mon mode=readline). */
bool monitor_init_hmp(Chardev *chr, bool use_readline, Error **errp);
/* Flush pending events and detach every monitor (exit path). */
void monitor_cleanup(void);

/* printf to the HMP monitor @mon (or stderr for NULL); "\n" becomes "\r\n". */
int monitor_printf(Monitor *mon, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int monitor_vprintf(Monitor *mon, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The monitor whose command is running (main thread only), or NULL. */
Monitor *monitor_cur(void);
bool monitor_cur_is_qmp(void);

/*
 * Emit a QMP event to every QMP monitor that finished capabilities
 * negotiation: {"timestamp": {"seconds", "microseconds"}, "event": NAME,
 * "data": DATA}.  @data is a JsonObject* or NULL (ownership taken).  From
 * any thread; events reach the clients in the order they were emitted
 * (at once from the BQL holder, else from a main-loop bottom half).
 */
typedef struct _JsonObject JsonObject;
void qapi_event_emit(const char *name, JsonObject *data);

/*
 * fds passed with getfd.  monitor_get_fd() looks @fdname up (the current
 * monitor first, then every monitor), removes it from the monitor's list
 * and returns it: the caller owns the fd and closes it.  -1 + errp if there
 * is no such name.  monitor_fd_param() does the same but takes a decimal
 * string as an fd number (returned as is, as QEMU does).
 */
int monitor_fd_param(Monitor *mon, const char *fdname, Error **errp);
int monitor_get_fd(const char *fdname, Error **errp);

/*
 * -qtest SPEC (a chardev shorthand such as unix:PATH); -qtest-log FILE.
 * (QEMU has the qtest server in system/qtest.c; Godwit's is monitor/qtest.c.)
 */
bool qtest_server_init(const char *spec, const char *logfile, Error **errp);
bool qtest_enabled(void);

#endif
