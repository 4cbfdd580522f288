/*
 * Godwit: string, number-parsing and small I/O helpers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QEMU_CUTILS_H
#define QEMU_CUTILS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- zero detection (util/bufferiszero.c) ---- */

/* True if all @len bytes at @buf are zero.  Any alignment, any length. */
bool buffer_is_zero(const void *buf, size_t len);
/*
 * For tests: switch to the next slower implementation.  Returns false
 * (and leaves the current one in place) when none is left.
 */
bool test_buffer_is_zero_next_accel(void);
/* Name of the implementation in use ("avx2", "sse2", "generic"). */
const char *buffer_is_zero_accel_name(void);

/* ---- strings ---- */

/* Copy @str into @buf (of @buf_size bytes), truncating, always terminated. */
void pstrcpy(char *buf, int buf_size, const char *str);
/* Append @s to the string in @buf, truncating; returns @buf. */
char *pstrcat(char *buf, int buf_size, const char *s);
/*
 * True if @str starts with @val; then *@ptr (if non-NULL) points just
 * past the prefix.
 */
bool strstart(const char *str, const char *val, const char **ptr);
/* Case-insensitive strstart. */
bool stristart(const char *str, const char *val, const char **ptr);
/* Length of @s, at most @max_len. */
int qemu_strnlen(const char *s, int max_len);

/* ---- integer parsing ----
 *
 * Parse an integer in @base (0 = C rules: 0x hex, 0 octal) from @nptr.
 * Leading whitespace and a sign are accepted (a '-' on the unsigned ones
 * negates modulo 2^N as strtoul does, but only within range).
 * If @endptr is non-NULL, *@endptr is set to the first unparsed character;
 * if it is NULL the whole string must be consumed.
 * Returns 0, -EINVAL (no digits, NULL @nptr, trailing garbage) or -ERANGE
 * (out of range; *@result is then clamped to the limit).
 */
int qemu_strtoi(const char *nptr, const char **endptr, int base,
                int *result);
int qemu_strtoui(const char *nptr, const char **endptr, int base,
                 unsigned int *result);
int qemu_strtol(const char *nptr, const char **endptr, int base,
                long *result);
int qemu_strtoul(const char *nptr, const char **endptr, int base,
                 unsigned long *result);
int qemu_strtoi64(const char *nptr, const char **endptr, int base,
                  int64_t *result);
int qemu_strtou64(const char *nptr, const char **endptr, int base,
                  uint64_t *result);
/* Parse a double; same conventions. */
int qemu_strtod(const char *nptr, const char **endptr, double *result);

/*
 * Parse a size: a non-negative number (decimal, may have a fraction, or
 * 0x hex without fraction), optionally followed by one suffix B, K, M, G,
 * T, P, E (case-insensitive; binary multiples of 1024).  With no suffix
 * the default unit is bytes (qemu_strtosz), MiB (qemu_strtosz_MiB, for
 * -m) or bytes with metric 1000 multiples (qemu_strtosz_metric).
 * Returns 0, -EINVAL or -ERANGE (result above UINT64_MAX).
 * @end works as @endptr above.
 */
int qemu_strtosz(const char *nptr, const char **end, uint64_t *result);
int qemu_strtosz_MiB(const char *nptr, const char **end, uint64_t *result);
int qemu_strtosz_metric(const char *nptr, const char **end,
                        uint64_t *result);

/* "on"/"yes"/"true"/"y" and "off"/"no"/"false"/"n"; false if neither. */
bool qemu_parse_bool(const char *s, bool *out);

/* "512 MiB", "4 KiB", "1.5 GiB", "100 B"; g_free the result. */
char *size_to_str(uint64_t val);

/* ---- I/O helpers ---- */

/*
 * Write/read all @count bytes, retrying on EINTR and short transfers.
 * Return the number of bytes transferred; less than @count means an error
 * (errno set) or, for reads, end of file.
 */
ssize_t qemu_write_full(int fd, const void *buf, size_t count);
ssize_t qemu_read_full(int fd, void *buf, size_t count);

/* open(2) with O_CLOEXEC added; returns fd or -1 with errno set. */
int qemu_open_cloexec(const char *path, int flags, mode_t mode);
/* Set/clear FD_CLOEXEC / O_NONBLOCK on @fd. */
void qemu_set_cloexec(int fd);
int qemu_set_nonblock(int fd);   /* 0 or -errno */
int qemu_set_block(int fd);      /* 0 or -errno */

/* Directory of the running executable (from /proc/self/exe) or NULL. */
char *qemu_get_exec_dir(void);

/* Hex dump helpers: "0a1b2c..." of @len bytes; g_free the result. */
char *qemu_hexdump_line(const void *buf, size_t len);

#endif
