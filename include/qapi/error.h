/*
 * The Error API.
 *
 * A function that can fail takes 'Error **errp' as its last argument and
 * returns a value that tells failure by itself (bool false, NULL, -errno).
 * On failure it sets *errp with error_setg() exactly once.  Callers pass:
 *   - NULL to ignore the error,
 *   - &error_fatal to report it and exit(1),
 *   - &error_abort to report it and abort() (a programming error),
 *   - &local_err to inspect it, then error_propagate() or error_free().
 * Messages are one phrase, no trailing newline or period.
 */
#ifndef QAPI_ERROR_H
#define QAPI_ERROR_H

#include <stdbool.h>
#include <stdarg.h>

typedef struct Error Error;

/* QMP error classes (QEMU's names as they appear on the wire). */
typedef enum ErrorClass {
    ERROR_CLASS_GENERIC_ERROR = 0,   /* "GenericError" */
    ERROR_CLASS_COMMAND_NOT_FOUND,   /* "CommandNotFound" */
    ERROR_CLASS_DEVICE_NOT_ACTIVE,   /* "DeviceNotActive" */
    ERROR_CLASS_DEVICE_NOT_FOUND,    /* "DeviceNotFound" */
    ERROR_CLASS_KVM_MISSING_CAP,     /* "KVMMissingCap" */
} ErrorClass;

const char *ErrorClass_str(ErrorClass c);

extern Error *error_fatal;
extern Error *error_abort;

#define error_setg(errp, fmt, ...) \
    error_setg_internal((errp), __FILE__, __LINE__, __func__, \
                        ERROR_CLASS_GENERIC_ERROR, (fmt), ## __VA_ARGS__)
#define error_set(errp, cls, fmt, ...) \
    error_setg_internal((errp), __FILE__, __LINE__, __func__, \
                        (cls), (fmt), ## __VA_ARGS__)
/* As error_setg, with ": strerror(os_errno)" appended. */
#define error_setg_errno(errp, os_errno, fmt, ...) \
    error_setg_errno_internal((errp), __FILE__, __LINE__, __func__, \
                              (os_errno), (fmt), ## __VA_ARGS__)

void error_setg_internal(Error **errp, const char *src, int line,
                         const char *func, ErrorClass cls,
                         const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno,
                               const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Moves @local_err into *dst_errp (or frees/handles it per fatal/abort). */
void error_propagate(Error **dst_errp, Error *local_err);
/* Like error_propagate, with a prefix prepended to the message. */
void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend "fmt..." to the message of *errp, if set. */
void error_prepend(Error **errp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append a hint line printed by error_report_err (not in QMP replies). */
void error_append_hint(Error **errp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *error_get_pretty(const Error *err);
/* The hint text added with error_append_hint, or NULL. */
const char *error_get_hint(const Error *err);
ErrorClass error_get_class(const Error *err);
Error *error_copy(const Error *err);
void error_free(Error *err);
/* Free *errp and clear it; aborts if no error is set (for tests). */
void error_free_or_abort(Error **errp);

/* Print "godwit-system-riscv64: msg" (plus hint) and free @err. */
void error_report_err(Error *err);
void warn_report_err(Error *err);

/* Print a one-line message to stderr (or the -D log), prefixed with the program name. */
void error_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void info_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void error_vreport(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * Program name used as the prefix of reports: the basename of @argv0
 * (default "godwit-system-riscv64").
 */
void error_set_progname(const char *argv0);

#define ERRP_GUARD()  /* Godwit functions check the return value instead */

#endif
