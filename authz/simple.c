/*
 * authz-simple: one allowed identity.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "authz/simple.h"

typedef struct QAuthZSimple {
    QAuthZ parent;
    char *identity;
} QAuthZSimple;

static bool simple_is_allowed(QAuthZ *authz, const char *identity,
                              Error **errp)
{
    QAuthZSimple *s = (QAuthZSimple *)authz;

    return !strcmp(s->identity, identity);
}

static UserObject *simple_create(const char *id, QemuOpts *opts,
                                 Error **errp)
{
    const char *identity = qemu_opt_get(opts, "identity");
    QAuthZSimple *s;

    if (!identity) {
        error_setg(errp, "authz-simple '%s': property 'identity' is "
                   "required", id);
        return NULL;
    }
    s = g_new0(QAuthZSimple, 1);
    user_object_init(&s->parent.parent, &qauthz_simple_class, id);
    s->parent.is_allowed = simple_is_allowed;
    s->identity = g_strdup(identity);
    return &s->parent.parent;
}

static void simple_finalize(UserObject *obj)
{
    QAuthZSimple *s = (QAuthZSimple *)obj;

    g_free(s->identity);
    g_free(s);
}

const UserObjectClass qauthz_simple_class = {
    .type = "authz-simple",
    .parent = TYPE_QAUTHZ,
    .create = simple_create,
    .finalize = simple_finalize,
};
