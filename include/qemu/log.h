/*
 * Godwit: the log destination shared by tracing and error reports.
 *
 * By default everything goes to stderr; qemu_set_log_filename() (declared
 * in qemu/trace-core.h, the -D option) sends it to a file instead.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QEMU_LOG_H
#define QEMU_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Write @len bytes to the log as one unit (never interleaved). */
void qemu_log_write(const char *buf, size_t len);
/* printf to the log, as one unit. */
void qemu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when a -D file is in use. */
bool qemu_log_to_file(void);

/*
 * Per-thread redirection of error_report/warn_report/info_report and
 * error_report_err: while set, each complete message line (with its
 * trailing newline) is handed to @fn instead of the log.  The HMP monitor
 * sets this around a command so errors reach the user's terminal.
 * Pass NULL to restore the default.
 */
typedef void QemuReportSink(void *opaque, const char *line);
void error_report_set_thread_sink(QemuReportSink *fn, void *opaque);

#endif
