/*
 * Authorization of an identity (a TLS client's x509 distinguished name)
 * by a user-created object: authz-simple, authz-list.
 *
 * An authz object is a UserObject whose parent type is "authz"; its
 * is_allowed() decides.  Decisions may be taken in any thread (the
 * objects are immutable once created).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AUTHZ_BASE_H
#define AUTHZ_BASE_H

#include "qom/object_interfaces.h"

#define TYPE_QAUTHZ "authz"

typedef struct QAuthZ QAuthZ;

struct QAuthZ {
    UserObject parent;
    /* true if @identity may proceed; false (errp unset) if denied */
    bool (*is_allowed)(QAuthZ *authz, const char *identity, Error **errp);
};

/*
 * The authz object @id with a reference taken (user_object_unref), or
 * NULL: "Cannot find QAuthZ object ID %s", "Object '%s' is not a QAuthZ
 * subclass" (QEMU's texts).
 */
QAuthZ *qauthz_find(const char *id, Error **errp);
/* The decision of @authz for @identity. */
bool qauthz_is_allowed(QAuthZ *authz, const char *identity, Error **errp);

#endif
