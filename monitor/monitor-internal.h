/* Monitor internals shared by the monitor/ sources. */
#ifndef MONITOR_MONITOR_INTERNAL_H
#define MONITOR_MONITOR_INTERNAL_H

#include "qemu/osdep.h"
#include "qemu/queue.h"
#include "qemu/thread.h"
#include "monitor/monitor.h"
#include "monitor/hmp.h"
#include "monitor/json-splitter.h"

/* the most input the HMP monitor takes from its chardev at once */
#define HMP_READ_MAX 1024

typedef struct MonFd {
    char *name;
    int fd;
} MonFd;

struct Monitor {
    bool is_qmp;
    Chardev *chr;            /* NULL for a scratch monitor */
    GString *capture;        /* output of a scratch HMP monitor */
    QemuMutex out_lock;      /* serializes writes to chr */
    int cpu_index;           /* 'cpu' */
    GPtrArray *fds;          /* MonFd*, from getfd */

    /* QMP */
    bool negotiated;         /* qmp_capabilities done */
    bool oob_enabled;
    bool pretty;
    JsonSplitter splitter;

    /* HMP */
    bool use_readline;
    bool banner_shown;
    bool suspended;          /* after quit: input ignored */
    int suspend_cnt;         /* monitor_suspend() minus monitor_resume() */
    /* input read in the same chunk after the line that suspended us */
    char held[HMP_READ_MAX];
    int held_len;
    GString *line;           /* the line being edited */
    int esc_state;           /* 0: none, 1: ESC seen, 2: CSI */
    bool last_was_cr;
    char last_format;        /* x/fmt defaults */
    int last_size;

    Monitor *parent;         /* scratch monitor: the QMP monitor it serves */

    QTAILQ_ENTRY(Monitor) next;
};

extern QTAILQ_HEAD(MonitorList, Monitor) mon_list;

Monitor *monitor_new(Chardev *chr, bool is_qmp);
void monitor_free(Monitor *mon);
/* Write @len bytes to @mon's chardev (or its capture buffer) as they are. */
void monitor_write_raw(Monitor *mon, const char *buf, size_t len);
/* Write @s with "\n" turned into "\r\n". */
void monitor_puts(Monitor *mon, const char *s);
/* The monitor whose command is running (main thread), or NULL. */
Monitor *monitor_set_cur(Monitor *mon);
/* Send queued events to every negotiated QMP monitor. */
void monitor_flush_events(void);

/* fds */
void monitor_add_fd(Monitor *mon, const char *name, int fd);
bool monitor_close_fd(Monitor *mon, const char *name);

/* getfd/closefd on @mon (its parent for a scratch monitor) */
bool monitor_getfd(Monitor *mon, const char *fdname, Error **errp);
bool monitor_closefd(Monitor *mon, const char *fdname, Error **errp);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" of -uuid */
char *qemu_uuid_unparse_strdup(void);

/* stop reading input (after quit) */
void monitor_suspend_hmp(Monitor *mon);

/* HMP through QMP: run @cmdline on a scratch monitor and return its output. */
char *hmp_run_captured(const char *cmdline, int cpu_index);

#endif
