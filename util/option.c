/*
 * Godwit: key=value option strings (include/qemu/option.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/option.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "trace.h"

typedef struct QemuOpt {
    char *key;
    char *value;
    bool used;
} QemuOpt;

struct QemuOpts {
    GPtrArray *opts;    /* QemuOpt *, in first-appearance order */
};

static void qemu_opt_free(gpointer p)
{
    QemuOpt *opt = p;

    g_free(opt->key);
    g_free(opt->value);
    g_free(opt);
}

static QemuOpt *qemu_opt_find(QemuOpts *opts, const char *name)
{
    guint i;

    for (i = 0; i < opts->opts->len; i++) {
        QemuOpt *opt = g_ptr_array_index(opts->opts, i);

        if (!strcmp(opt->key, name)) {
            return opt;
        }
    }
    return NULL;
}

static void qemu_opt_set(QemuOpts *opts, char *key, char *value)
{
    QemuOpt *opt = qemu_opt_find(opts, key);

    if (opt) {
        /* last one wins, at the position of the first */
        g_free(key);
        g_free(opt->value);
        opt->value = value;
        return;
    }
    opt = g_new0(QemuOpt, 1);
    opt->key = key;
    opt->value = value;
    g_ptr_array_add(opts->opts, opt);
}

/*
 * Reads a value starting at @p up to a single ',' or the end, turning
 * ",," into ','.  Returns the position of the terminating ',' or NUL.
 */
static const char *parse_value(const char *p, char **out)
{
    GString *s = g_string_new(NULL);

    while (*p) {
        if (*p == ',') {
            if (p[1] != ',') {
                break;
            }
            p++;
        }
        g_string_append_c(s, *p);
        p++;
    }
    *out = g_string_free(s, false);
    return p;
}

QemuOpts *qemu_opts_parse(const char *params, const char *implied_key,
                          Error **errp)
{
    QemuOpts *opts = g_new0(QemuOpts, 1);
    const char *p = params ? params : "";
    bool first = true;

    opts->opts = g_ptr_array_new_with_free_func(qemu_opt_free);
    while (*p) {
        const char *k = p;
        char *key, *value;

        /* the key runs to '=', ',' or the end */
        while (*p && *p != '=' && *p != ',') {
            p++;
        }
        if (*p == '=') {
            if (p == k) {
                error_setg(errp, "Invalid parameter '' in '%s': "
                           "parameter name missing before '='", params);
                qemu_opts_free(opts);
                return NULL;
            }
            key = g_strndup(k, p - k);
            p = parse_value(p + 1, &value);
        } else if (first && implied_key) {
            key = g_strdup(implied_key);
            p = parse_value(k, &value);
        } else if (p == k) {
            /* empty element, as in a trailing ',' */
            if (*p) {
                p++;
            }
            first = false;
            continue;
        } else {
            /* a bare flag means flag=on */
            key = g_strndup(k, p - k);
            value = g_strdup("on");
        }
        qemu_opt_set(opts, key, value);
        if (*p == ',') {
            p++;
        }
        first = false;
    }
    trace_qemu_opts_parse(params ? params : "", opts->opts->len);
    return opts;
}

void qemu_opts_free(QemuOpts *opts)
{
    if (opts) {
        g_ptr_array_free(opts->opts, true);
        g_free(opts);
    }
}

const char *qemu_opt_get(QemuOpts *opts, const char *name)
{
    QemuOpt *opt = qemu_opt_find(opts, name);

    if (!opt) {
        return NULL;
    }
    opt->used = true;
    return opt->value;
}

bool qemu_opt_has(QemuOpts *opts, const char *name)
{
    return qemu_opt_find(opts, name) != NULL;
}

bool qemu_opt_get_bool_checked(QemuOpts *opts, const char *name, bool defval,
                               bool *val, Error **errp)
{
    const char *s = qemu_opt_get(opts, name);

    if (!s) {
        *val = defval;
        return true;
    }
    if (!qemu_parse_bool(s, val)) {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off', not '%s'",
                   name, s);
        return false;
    }
    return true;
}

bool qemu_opt_get_size_checked(QemuOpts *opts, const char *name,
                               uint64_t defval, uint64_t *val, Error **errp)
{
    const char *s = qemu_opt_get(opts, name);
    uint64_t v;
    int ret;

    if (!s) {
        *val = defval;
        return true;
    }
    ret = qemu_strtosz(s, NULL, &v);
    if (ret == -ERANGE) {
        error_setg(errp, "Value '%s' is out of range for parameter '%s'",
                   s, name);
        return false;
    }
    if (ret < 0) {
        error_setg(errp, "Parameter '%s' expects a size, not '%s'", name, s);
        error_append_hint(errp, "A size is a number with an optional suffix "
                          "B, K, M, G, T, P or E (bytes, KiB, MiB, ...).\n");
        return false;
    }
    *val = v;
    return true;
}

bool qemu_opt_get_number_checked(QemuOpts *opts, const char *name,
                                 uint64_t defval, uint64_t *val,
                                 Error **errp)
{
    const char *s = qemu_opt_get(opts, name);
    uint64_t v;
    int ret;

    if (!s) {
        *val = defval;
        return true;
    }
    ret = (s[0] == '-') ? -EINVAL : qemu_strtou64(s, NULL, 0, &v);
    if (ret == -ERANGE) {
        error_setg(errp, "Value '%s' is out of range for parameter '%s'",
                   s, name);
        return false;
    }
    if (ret < 0) {
        error_setg(errp, "Parameter '%s' expects a number, not '%s'",
                   name, s);
        return false;
    }
    *val = v;
    return true;
}

const char *qemu_opts_id(QemuOpts *opts)
{
    return qemu_opt_get(opts, "id");
}

bool qemu_opts_check_unused(QemuOpts *opts, const char *what, Error **errp)
{
    guint i;

    for (i = 0; i < opts->opts->len; i++) {
        QemuOpt *opt = g_ptr_array_index(opts->opts, i);

        if (!opt->used) {
            if (what) {
                error_setg(errp, "%s: Invalid parameter '%s'", what,
                           opt->key);
            } else {
                error_setg(errp, "Invalid parameter '%s'", opt->key);
            }
            return false;
        }
    }
    return true;
}

void qemu_opts_foreach(QemuOpts *opts,
                       void (*fn)(const char *key, const char *val,
                                  void *opaque),
                       void *opaque)
{
    guint i;

    for (i = 0; i < opts->opts->len; i++) {
        QemuOpt *opt = g_ptr_array_index(opts->opts, i);

        fn(opt->key, opt->value, opaque);
    }
}

int qemu_opts_count(QemuOpts *opts)
{
    return opts->opts->len;
}
