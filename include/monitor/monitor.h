/* Monitors: QMP (JSON) and HMP (readline) on chardevs, and the qtest server. */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "qemu/osdep.h"

/* Attach a QMP monitor to @chr (-qmp, -mon mode=control). */
bool monitor_init_qmp(Chardev *chr, bool pretty, Error **errp);
/* Attach an HMP monitor to @chr (-monitor, -mon mode=readline). */
bool monitor_init_hmp(Chardev *chr, bool use_readline, Error **errp);
void monitor_cleanup(void);

/* printf to the HMP monitor @mon (or stderr for NULL). */
int monitor_printf(Monitor *mon, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Emit a QMP event to every QMP monitor: {"event": NAME, "data": DATA,
 * "timestamp": {"seconds", "microseconds"}}.  @data is a JsonObject* or
 * NULL (ownership taken).  From any thread.
 */
typedef struct _JsonObject JsonObject;
void qapi_event_emit(const char *name, JsonObject *data);

/* fds passed with getfd: look up by name; returns a dup'ed fd or -1 + errp. */
int monitor_fd_param(Monitor *mon, const char *fdname, Error **errp);
int monitor_get_fd(const char *fdname, Error **errp);

/* -qtest SPEC (a chardev shorthand such as unix:PATH); -qtest-log FILE */
bool qtest_server_init(const char *spec, const char *logfile, Error **errp);
bool qtest_enabled(void);

#endif
