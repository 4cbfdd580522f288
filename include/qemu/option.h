/*
 * Godwit: key=value option strings as typed on the command line.
 *
 * Syntax: elements separated by ','; a literal comma inside a value (or
 * key) is written ",,".  Each element is "key=value".  If @implied_key is
 * given, a first element without '=' is the value of that key
 * ("socket,id=c0" with implied key "backend").  Any other element without
 * '=' is a flag: "key" means key=on and "nokey" is NOT special.  When the
 * same key appears twice, the last one wins.
 *
 * Every lookup marks the key as used, so qemu_opts_check_unused() can
 * reject keys nobody asked for.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QEMU_OPTION_H
#define QEMU_OPTION_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Error Error;
typedef struct QemuOpts QemuOpts;

QemuOpts *qemu_opts_parse(const char *params, const char *implied_key,
                          Error **errp);
void qemu_opts_free(QemuOpts *opts);

/* Value of @name or NULL if absent; marks it used. */
const char *qemu_opt_get(QemuOpts *opts, const char *name);
/* Whether @name is present; does not mark it used. */
bool qemu_opt_has(QemuOpts *opts, const char *name);

/*
 * Typed lookups: *@val = @defval if @name is absent, else the parsed value.
 * On a malformed value set @errp ("Parameter 'NAME' expects ...") and
 * return false.  Each marks @name used.
 *   bool:   on/off/yes/no/true/false
 *   size:   qemu_strtosz syntax (1G, 512M, 4096)
 *   number: unsigned integer, decimal or 0x hex
 */
bool qemu_opt_get_bool_checked(QemuOpts *opts, const char *name, bool defval,
                               bool *val, Error **errp);
bool qemu_opt_get_size_checked(QemuOpts *opts, const char *name,
                               uint64_t defval, uint64_t *val, Error **errp);
bool qemu_opt_get_number_checked(QemuOpts *opts, const char *name,
                                 uint64_t defval, uint64_t *val,
                                 Error **errp);

/* Value of "id" or NULL; marks it used. */
const char *qemu_opts_id(QemuOpts *opts);

/*
 * Fails with "@what: Invalid parameter 'NAME'" (or without the prefix if
 * @what is NULL) for the first key, in input order, that was never read.
 */
bool qemu_opts_check_unused(QemuOpts *opts, const char *what, Error **errp);

/* Calls @fn for each key (last value of each, in first-appearance order). */
void qemu_opts_foreach(QemuOpts *opts,
                       void (*fn)(const char *key, const char *val,
                                  void *opaque),
                       void *opaque);

/* Number of distinct keys. */
int qemu_opts_count(QemuOpts *opts);

#endif
