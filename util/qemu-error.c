/*
 * Godwit: human-readable error reports.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"

static char *progname;

static __thread QemuReportSink *report_sink;
static __thread void *report_sink_opaque;

void error_set_progname(const char *argv0)
{
    g_free(progname);
    progname = argv0 ? g_path_get_basename(argv0) : NULL;
}

void error_report_set_thread_sink(QemuReportSink *fn, void *opaque)
{
    report_sink = fn;
    report_sink_opaque = opaque;
}

typedef enum {
    REPORT_ERROR,
    REPORT_WARNING,
    REPORT_INFO,
} ReportType;

/*
 * Reports always reach stderr, as QEMU's do (scripts and test harnesses
 * read them there); with -D they are also copied into the log file so the
 * log keeps them next to the trace lines around them.
 */
static void report_emit(GString *s)
{
    if (report_sink) {
        report_sink(report_sink_opaque, s->str);
        return;
    }
    if (qemu_log_to_file()) {
        qemu_log_write(s->str, s->len);
    }
    fwrite(s->str, 1, s->len, stderr);
    fflush(stderr);
}

static void report_vprintf(ReportType type, const char *hint,
                           const char *fmt, va_list ap)
{
    GString *s = g_string_new(NULL);
    int saved_errno = errno;

    g_string_append_printf(s, "%s: ",
                           progname ? progname : "godwit-system-riscv64");
    if (type == REPORT_WARNING) {
        g_string_append(s, "warning: ");
    } else if (type == REPORT_INFO) {
        g_string_append(s, "info: ");
    }
    g_string_append_vprintf(s, fmt, ap);
    g_string_append_c(s, '\n');
    if (hint) {
        g_string_append(s, hint);
        if (s->len && s->str[s->len - 1] != '\n') {
            g_string_append_c(s, '\n');
        }
    }
    report_emit(s);
    g_string_free(s, true);
    errno = saved_errno;
}

static void report_printf(ReportType type, const char *hint,
                          const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report_printf(ReportType type, const char *hint,
                          const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_vprintf(type, hint, fmt, ap);
    va_end(ap);
}

void error_vreport(const char *fmt, va_list ap)
{
    report_vprintf(REPORT_ERROR, NULL, fmt, ap);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_vprintf(REPORT_ERROR, NULL, fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_vprintf(REPORT_WARNING, NULL, fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_vprintf(REPORT_INFO, NULL, fmt, ap);
    va_end(ap);
}

void error_report_err(Error *err)
{
    report_printf(REPORT_ERROR, error_get_hint(err), "%s",
                  error_get_pretty(err));
    error_free(err);
}

void warn_report_err(Error *err)
{
    report_printf(REPORT_WARNING, error_get_hint(err), "%s",
                  error_get_pretty(err));
    error_free(err);
}
