/*
 * The trace core: every generated trace_<event>() calls into this.
 *
 * Events are compiled in always; each has an 'enabled' flag flipped at run
 * time by -trace enable=PATTERN, -trace events=FILE, or the monitor.  An
 * enabled event is written as one line, "PID@SEC.USEC:name message", to
 * stderr or to the -D log file.
 */
#ifndef QEMU_TRACE_CORE_H
#define QEMU_TRACE_CORE_H

#include <stdbool.h>

typedef struct TraceEvent {
    const char *name;
    bool enabled;
} TraceEvent;

/* Called by the generated constructors; @events is NULL-terminated. */
void trace_register_group(TraceEvent **events);

/* Writes one enabled event.  Thread safe. */
void trace_event_emit(const TraceEvent *ev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Enable (or, with a leading '-', disable) every event whose name matches
 * the glob @pattern.  Returns the number of events changed... or -1 if the
 * pattern matches no event at all.
 */
int trace_enable_pattern(const char *pattern, bool enable);

/*
 * Parse one -trace argument: "PATTERN", "enable=PATTERN", "events=FILE"
 * or "file=LOG" (comma-separated list allowed).  Returns false and sets
 * @errp on a malformed option, an unreadable file or a pattern that
 * matches nothing.
 */
typedef struct Error Error;
bool trace_opt_parse(const char *optarg, Error **errp);

/* Redirect trace output (and error_report) to @path; NULL means stderr. */
bool qemu_set_log_filename(const char *path, Error **errp);

/* Iterate every registered event (for 'info trace-events'). */
void trace_foreach_event(void (*fn)(const TraceEvent *ev, void *opaque),
                         void *opaque);

#endif
