/*
 * The authz lookup and decision shared by every authz type.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "authz/base.h"
#include "trace.h"

QAuthZ *qauthz_find(const char *id, Error **errp)
{
    UserObject *obj = user_object_find(id);

    if (!obj) {
        error_setg(errp, "Cannot find QAuthZ object ID %s", id);
        return NULL;
    }
    if (!user_object_is_a(obj, TYPE_QAUTHZ)) {
        error_setg(errp, "Object '%s' is not a QAuthZ subclass", id);
        return NULL;
    }
    return (QAuthZ *)user_object_ref(obj);
}

bool qauthz_is_allowed(QAuthZ *authz, const char *identity, Error **errp)
{
    Error *err = NULL;
    bool allowed = authz->is_allowed(authz, identity, &err);

    trace_qauthz_is_allowed(authz->parent.id, identity, allowed);
    if (err) {
        error_propagate(errp, err);
        return false;
    }
    return allowed;
}
