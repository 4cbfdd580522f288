/*
 * What QMP and HMP monitors share: the list of monitors, output, events,
 * and file descriptors passed with getfd.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qjson.h"
#include "qapi/qapi-commands.h"
#include "qemu/main-loop.h"
#include "chardev/char.h"
#include "monitor-internal.h"
#include "trace.h"

struct MonitorList mon_list = QTAILQ_HEAD_INITIALIZER(mon_list);

static Monitor *cur_mon;

/* events waiting to be written, in emission order */
static QemuMutex event_lock;
static GQueue event_queue = G_QUEUE_INIT;
static bool event_flush_scheduled;
static gsize event_lock_init;

static void event_lock_ensure(void)
{
    if (g_once_init_enter(&event_lock_init)) {
        qemu_mutex_init(&event_lock);
        g_once_init_leave(&event_lock_init, 1);
    }
}

Monitor *monitor_new(Chardev *chr, bool is_qmp)
{
    Monitor *mon = g_new0(Monitor, 1);

    mon->is_qmp = is_qmp;
    mon->chr = chr;
    qemu_mutex_init(&mon->out_lock);
    mon->fds = g_ptr_array_new();
    mon->line = g_string_new(NULL);
    mon->last_format = 'x';
    mon->last_size = 4;
    return mon;
}

void monitor_free(Monitor *mon)
{
    for (guint i = 0; i < mon->fds->len; i++) {
        MonFd *f = g_ptr_array_index(mon->fds, i);

        close(f->fd);
        g_free(f->name);
        g_free(f);
    }
    g_ptr_array_free(mon->fds, TRUE);
    g_string_free(mon->line, TRUE);
    if (mon->capture) {
        g_string_free(mon->capture, TRUE);
    }
    json_splitter_destroy(&mon->splitter);
    qemu_mutex_destroy(&mon->out_lock);
    g_free(mon);
}

Monitor *monitor_cur(void)
{
    return cur_mon;
}

Monitor *monitor_set_cur(Monitor *mon)
{
    Monitor *old = cur_mon;

    cur_mon = mon;
    return old;
}

bool monitor_cur_is_qmp(void)
{
    return cur_mon && cur_mon->is_qmp;
}

void monitor_write_raw(Monitor *mon, const char *buf, size_t len)
{
    if (mon->capture) {
        g_string_append_len(mon->capture, buf, len);
        return;
    }
    if (!mon->chr) {
        return;
    }
    qemu_mutex_lock(&mon->out_lock);
    /* a client that went away is not an error of ours */
    qemu_chr_fe_write_all(mon->chr, (const uint8_t *)buf, len);
    qemu_mutex_unlock(&mon->out_lock);
}

void monitor_puts(Monitor *mon, const char *s)
{
    GString *out = g_string_sized_new(strlen(s) + 16);

    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *p);
    }
    monitor_write_raw(mon, out->str, out->len);
    g_string_free(out, TRUE);
}

int monitor_vprintf(Monitor *mon, const char *fmt, va_list ap)
{
    char *s;
    int len;

    if (!mon) {
        return vfprintf(stderr, fmt, ap);
    }
    if (mon->is_qmp) {
        return -1;
    }
    s = g_strdup_vprintf(fmt, ap);
    len = strlen(s);
    monitor_puts(mon, s);
    g_free(s);
    return len;
}

int monitor_printf(Monitor *mon, const char *fmt, ...)
{
    va_list ap;
    int ret;

    va_start(ap, fmt);
    ret = monitor_vprintf(mon, fmt, ap);
    va_end(ap);
    return ret;
}

/* ---------------------------------------------------------------- events */

void monitor_flush_events(void)
{
    char *line;

    event_lock_ensure();
    qemu_mutex_lock(&event_lock);
    event_flush_scheduled = false;
    while ((line = g_queue_pop_head(&event_queue))) {
        Monitor *mon;

        QTAILQ_FOREACH(mon, &mon_list, next) {
            if (mon->is_qmp && mon->negotiated) {
                monitor_write_raw(mon, line, strlen(line));
            }
        }
        g_free(line);
    }
    qemu_mutex_unlock(&event_lock);
}

static void event_flush_bh(void *opaque)
{
    monitor_flush_events();
}

static bool event_known(const char *name)
{
    for (int i = 0; qapi_event_names[i]; i++) {
        if (!strcmp(qapi_event_names[i], name)) {
            return true;
        }
    }
    return false;
}

void qapi_event_emit(const char *name, JsonObject *data)
{
    int64_t now = g_get_real_time();
    JsonObject *msg = json_object_new();
    JsonObject *ts = json_object_new();
    char *text;
    GString *line;
    bool flush_now;

    if (!event_known(name)) {
        trace_monitor_event_unknown(name);
    }
    json_object_set_int_member(ts, "seconds", now / G_USEC_PER_SEC);
    json_object_set_int_member(ts, "microseconds", now % G_USEC_PER_SEC);
    json_object_set_object_member(msg, "timestamp", ts);
    json_object_set_string_member(msg, "event", name);
    if (data) {
        json_object_set_object_member(msg, "data", data);
    }
    text = qjson_object_to_string(msg);
    json_object_unref(msg);
    trace_monitor_event_emit(name, text);
    line = g_string_new(text);
    g_string_append(line, "\r\n");
    g_free(text);

    event_lock_ensure();
    qemu_mutex_lock(&event_lock);
    g_queue_push_tail(&event_queue, g_string_free(line, FALSE));
    /* the BQL holder may write at once; other threads leave it to a BH */
    flush_now = bql_locked();
    if (!flush_now && !event_flush_scheduled) {
        event_flush_scheduled = true;
        qemu_bh_schedule_oneshot(event_flush_bh, NULL);
    }
    qemu_mutex_unlock(&event_lock);
    if (flush_now) {
        monitor_flush_events();
    }
}

/* ---------------------------------------------------------------- fds */

void monitor_add_fd(Monitor *mon, const char *name, int fd)
{
    for (guint i = 0; i < mon->fds->len; i++) {
        MonFd *f = g_ptr_array_index(mon->fds, i);

        if (!strcmp(f->name, name)) {
            close(f->fd);
            f->fd = fd;
            return;
        }
    }
    MonFd *f = g_new0(MonFd, 1);
    f->name = g_strdup(name);
    f->fd = fd;
    g_ptr_array_add(mon->fds, f);
}

/* Remove @name from @mon's list; returns its fd or -1. */
static int monitor_take_fd(Monitor *mon, const char *name)
{
    for (guint i = 0; i < mon->fds->len; i++) {
        MonFd *f = g_ptr_array_index(mon->fds, i);

        if (!strcmp(f->name, name)) {
            int fd = f->fd;

            g_ptr_array_remove_index(mon->fds, i);
            g_free(f->name);
            g_free(f);
            return fd;
        }
    }
    return -1;
}

bool monitor_close_fd(Monitor *mon, const char *name)
{
    int fd = monitor_take_fd(mon, name);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static int monitor_get_fd_from(Monitor *first, const char *fdname, Error **errp)
{
    Monitor *mon;
    int fd;

    if (first) {
        fd = monitor_take_fd(first, fdname);
        if (fd >= 0) {
            return fd;
        }
    }
    QTAILQ_FOREACH(mon, &mon_list, next) {
        fd = monitor_take_fd(mon, fdname);
        if (fd >= 0) {
            return fd;
        }
    }
    error_setg(errp, "File descriptor named '%s' has not been found", fdname);
    return -1;
}

int monitor_get_fd(const char *fdname, Error **errp)
{
    return monitor_get_fd_from(cur_mon, fdname, errp);
}

int monitor_fd_param(Monitor *mon, const char *fdname, Error **errp)
{
    if (g_ascii_isdigit(fdname[0])) {
        char *end;
        long v = strtol(fdname, &end, 10);

        if (*end || v < 0 || v > INT_MAX) {
            error_setg(errp, "Invalid file descriptor number '%s'", fdname);
            return -1;
        }
        return v;
    }
    return monitor_get_fd_from(mon ? mon : cur_mon, fdname, errp);
}

void monitor_cleanup(void)
{
    Monitor *mon, *tmp;

    monitor_flush_events();
    QTAILQ_FOREACH_SAFE(mon, &mon_list, next, tmp) {
        QTAILQ_REMOVE(&mon_list, mon, next);
        if (mon->chr) {
            qemu_chr_fe_set_handlers(mon->chr, NULL, NULL, NULL, NULL);
        }
        monitor_free(mon);
    }
}
