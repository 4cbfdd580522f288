/*
 * authz-list: ordered rules, first match decides, else the default policy.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "authz/list.h"

typedef enum AuthZPolicy { POLICY_DENY, POLICY_ALLOW } AuthZPolicy;
typedef enum AuthZFormat { FORMAT_EXACT, FORMAT_GLOB } AuthZFormat;

typedef struct AuthZRule {
    char *match;
    AuthZPolicy policy;
    AuthZFormat format;
} AuthZRule;

typedef struct QAuthZList {
    QAuthZ parent;
    AuthZPolicy policy;
    AuthZRule *rules;
    size_t nrules;
} QAuthZList;

static bool list_is_allowed(QAuthZ *authz, const char *identity,
                            Error **errp)
{
    QAuthZList *l = (QAuthZList *)authz;

    for (size_t i = 0; i < l->nrules; i++) {
        const AuthZRule *r = &l->rules[i];
        bool hit = r->format == FORMAT_GLOB ?
                   g_pattern_match_simple(r->match, identity) :
                   !strcmp(r->match, identity);

        if (hit) {
            return r->policy == POLICY_ALLOW;
        }
    }
    return l->policy == POLICY_ALLOW;
}

static bool parse_policy(const char *id, const char *name, const char *v,
                         AuthZPolicy *out, Error **errp)
{
    if (!v || !strcmp(v, "deny")) {
        *out = POLICY_DENY;
    } else if (!strcmp(v, "allow")) {
        *out = POLICY_ALLOW;
    } else {
        error_setg(errp, "authz-list '%s': parameter '%s' does not accept "
                   "value '%s' (expects 'deny' or 'allow')", id, name, v);
        return false;
    }
    return true;
}

static bool parse_format(const char *id, const char *name, const char *v,
                         AuthZFormat *out, Error **errp)
{
    if (!v || !strcmp(v, "exact")) {
        *out = FORMAT_EXACT;
    } else if (!strcmp(v, "glob")) {
        *out = FORMAT_GLOB;
    } else {
        error_setg(errp, "authz-list '%s': parameter '%s' does not accept "
                   "value '%s' (expects 'exact' or 'glob')", id, name, v);
        return false;
    }
    return true;
}

static void list_finalize(UserObject *obj)
{
    QAuthZList *l = (QAuthZList *)obj;

    for (size_t i = 0; i < l->nrules; i++) {
        g_free(l->rules[i].match);
    }
    g_free(l->rules);
    g_free(l);
}

typedef struct RuleScan {
    const char *id;
    size_t count;     /* highest index + 1 */
    char *bad;        /* first key that is no rules.N.FIELD */
} RuleScan;

static void scan_rule_key(const char *key, const char *val, void *opaque)
{
    RuleScan *rs = opaque;
    const char *p;
    char *end;
    unsigned long n;

    if (!g_str_has_prefix(key, "rules.")) {
        return;
    }
    p = key + strlen("rules.");
    n = strtoul(p, &end, 10);
    if (end == p || *end != '.' || !g_ascii_isdigit(*p) ||
        n >= QAUTHZ_LIST_MAX_RULES ||
        (strcmp(end + 1, "match") && strcmp(end + 1, "policy") &&
         strcmp(end + 1, "format"))) {
        if (!rs->bad) {
            rs->bad = g_strdup(key);
        }
        return;
    }
    rs->count = MAX(rs->count, n + 1);
}

static UserObject *list_create(const char *id, QemuOpts *opts, Error **errp)
{
    RuleScan rs = { .id = id };
    QAuthZList *l = g_new0(QAuthZList, 1);

    user_object_init(&l->parent.parent, &qauthz_list_class, id);
    l->parent.is_allowed = list_is_allowed;
    if (!parse_policy(id, "policy", qemu_opt_get(opts, "policy"), &l->policy,
                      errp)) {
        goto fail;
    }
    qemu_opts_foreach(opts, scan_rule_key, &rs);
    if (rs.bad) {
        error_setg(errp, "authz-list '%s': '%s' is not a rule property "
                   "(rules.N.match, rules.N.policy, rules.N.format with N "
                   "below %d)", id, rs.bad, QAUTHZ_LIST_MAX_RULES);
        g_free(rs.bad);
        goto fail;
    }
    l->rules = g_new0(AuthZRule, rs.count);
    for (size_t i = 0; i < rs.count; i++) {
        g_autofree char *km = g_strdup_printf("rules.%zu.match", i);
        g_autofree char *kp = g_strdup_printf("rules.%zu.policy", i);
        g_autofree char *kf = g_strdup_printf("rules.%zu.format", i);
        const char *m = qemu_opt_get(opts, km);
        const char *pol = qemu_opt_get(opts, kp);
        AuthZRule *r = &l->rules[i];

        l->nrules = i + 1;
        if (!m || !pol) {
            error_setg(errp, "authz-list '%s': rule %zu needs both 'match' "
                       "and 'policy'", id, i);
            goto fail;
        }
        r->match = g_strdup(m);
        if (!parse_policy(id, kp, pol, &r->policy, errp) ||
            !parse_format(id, kf, qemu_opt_get(opts, kf), &r->format,
                          errp)) {
            goto fail;
        }
    }
    return &l->parent.parent;
fail:
    g_free(l->parent.parent.id);
    list_finalize(&l->parent.parent);
    return NULL;
}

const UserObjectClass qauthz_list_class = {
    .type = "authz-list",
    .parent = TYPE_QAUTHZ,
    .create = list_create,
    .finalize = list_finalize,
};
