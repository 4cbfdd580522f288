/*
 * Godwit: the trace core (include/qemu/trace-core.h) and the shared log
 * destination (include/qemu/log.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/trace-core.h"
#include "qemu/log.h"
#include "qapi/error.h"

#include <pthread.h>

/*
 * Groups register from constructors, possibly before anything else has
 * run, so the locks are statically initialised pthread mutexes.
 */
static pthread_mutex_t trace_groups_lock = PTHREAD_MUTEX_INITIALIZER;
static TraceEvent ***trace_groups;
static size_t trace_ngroups;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;          /* NULL: stderr */

/* ---------------------------------------------------------------- log */

static void log_write_locked(const char *buf, size_t len)
{
    FILE *f = log_file ? log_file : stderr;

    fwrite(buf, 1, len, f);
    fflush(f);
}

void qemu_log_write(const char *buf, size_t len)
{
    pthread_mutex_lock(&log_lock);
    log_write_locked(buf, len);
    pthread_mutex_unlock(&log_lock);
}

void qemu_log(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qemu_log_write(s, strlen(s));
    g_free(s);
}

bool qemu_log_to_file(void)
{
    bool ret;

    pthread_mutex_lock(&log_lock);
    ret = log_file != NULL;
    pthread_mutex_unlock(&log_lock);
    return ret;
}

bool qemu_set_log_filename(const char *path, Error **errp)
{
    FILE *f = NULL;

    if (path) {
        f = fopen(path, "w");
        if (!f) {
            error_setg_errno(errp, errno, "Could not open log file '%s'",
                             path);
            return false;
        }
        setvbuf(f, NULL, _IOFBF, 1 << 16);
    }
    pthread_mutex_lock(&log_lock);
    if (log_file) {
        fclose(log_file);
    }
    log_file = f;
    pthread_mutex_unlock(&log_lock);
    return true;
}

/* ---------------------------------------------------------------- events */

void trace_register_group(TraceEvent **events)
{
    pthread_mutex_lock(&trace_groups_lock);
    trace_groups = g_renew(TraceEvent **, trace_groups, trace_ngroups + 1);
    trace_groups[trace_ngroups++] = events;
    pthread_mutex_unlock(&trace_groups_lock);
}

void trace_foreach_event(void (*fn)(const TraceEvent *ev, void *opaque),
                         void *opaque)
{
    size_t g;
    TraceEvent **ev;

    pthread_mutex_lock(&trace_groups_lock);
    for (g = 0; g < trace_ngroups; g++) {
        for (ev = trace_groups[g]; *ev; ev++) {
            fn(*ev, opaque);
        }
    }
    pthread_mutex_unlock(&trace_groups_lock);
}

void trace_event_emit(const TraceEvent *ev, const char *fmt, ...)
{
    struct timeval tv;
    va_list ap;
    char *msg, *line;
    int len;

    gettimeofday(&tv, NULL);
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    line = g_strdup_printf("%d@%lld.%06ld:%s %s\n", (int)getpid(),
                           (long long)tv.tv_sec, (long)tv.tv_usec,
                           ev->name, msg);
    len = strlen(line);
    qemu_log_write(line, len);
    g_free(line);
    g_free(msg);
}

int trace_enable_pattern(const char *pattern, bool enable)
{
    size_t g;
    TraceEvent **ev;
    int matched = 0, changed = 0;

    if (pattern[0] == '-') {
        pattern++;
        enable = false;
    }
    pthread_mutex_lock(&trace_groups_lock);
    for (g = 0; g < trace_ngroups; g++) {
        for (ev = trace_groups[g]; *ev; ev++) {
            if (g_pattern_match_simple(pattern, (*ev)->name)) {
                matched++;
                if (__atomic_load_n(&(*ev)->enabled, __ATOMIC_RELAXED)
                    != enable) {
                    __atomic_store_n(&(*ev)->enabled, enable,
                                     __ATOMIC_RELAXED);
                    changed++;
                }
            }
        }
    }
    pthread_mutex_unlock(&trace_groups_lock);
    return matched ? changed : -1;
}

static bool trace_enable_checked(const char *pattern, Error **errp)
{
    const char *name = pattern[0] == '-' ? pattern + 1 : pattern;

    if (!*name) {
        error_setg(errp, "empty trace event pattern");
        return false;
    }
    if (trace_enable_pattern(pattern, true) < 0) {
        error_setg(errp, "trace event '%s' does not exist", name);
        return false;
    }
    return true;
}

static bool trace_events_file(const char *path, Error **errp)
{
    char *contents;
    char **lines;
    GError *gerr = NULL;
    bool ok = true;
    int i;

    if (!g_file_get_contents(path, &contents, NULL, &gerr)) {
        error_setg(errp, "cannot read trace events file '%s': %s", path,
                   gerr->message);
        g_error_free(gerr);
        return false;
    }
    lines = g_strsplit(contents, "\n", -1);
    for (i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);
        Error *local_err = NULL;

        if (!*line || line[0] == '#') {
            continue;
        }
        if (!trace_enable_checked(line, &local_err)) {
            error_propagate_prepend(errp, local_err, "%s:%d: ", path, i + 1);
            ok = false;
            break;
        }
    }
    g_strfreev(lines);
    g_free(contents);
    return ok;
}

bool trace_opt_parse(const char *optarg, Error **errp)
{
    char **elems;
    bool ok = true;
    int i;

    if (!optarg || !*optarg) {
        error_setg(errp, "-trace: empty argument");
        return false;
    }
    elems = g_strsplit(optarg, ",", -1);
    for (i = 0; elems[i] && ok; i++) {
        const char *e = elems[i];
        const char *val;

        if (!*e) {
            continue;
        }
        if (g_str_has_prefix(e, "enable=")) {
            ok = trace_enable_checked(e + strlen("enable="), errp);
        } else if (g_str_has_prefix(e, "events=")) {
            ok = trace_events_file(e + strlen("events="), errp);
        } else if (g_str_has_prefix(e, "file=")) {
            val = e + strlen("file=");
            ok = qemu_set_log_filename(*val ? val : NULL, errp);
        } else if (strchr(e, '=')) {
            error_setg(errp, "Invalid parameter '%.*s' for -trace",
                       (int)(strchr(e, '=') - e), e);
            ok = false;
        } else {
            ok = trace_enable_checked(e, errp);
        }
    }
    g_strfreev(elems);
    return ok;
}
