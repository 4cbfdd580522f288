/*
 * User-creatable objects other than memory backends: TLS credentials
 * (crypto/), authorization lists (authz/), created with -object on the
 * command line or with QMP object-add, found by id, deleted with
 * object-del.
 *
 * Each type is a const UserObjectClass (its own file) listed in the
 * table of qom/object_interfaces.c.  An object is a struct whose first
 * member is a UserObject.  The registry holds one reference on every
 * object it lists; users (a migration's TLS session, ...) take their own
 * with user_object_ref(), so object-del never frees an object in use.
 *
 * Threads: the registry (add, find, del) is used from the main thread
 * with the BQL.  Reference counts are atomic, so the last unref (and the
 * free) may happen in any thread.
 *
 * Memory backends (system/hostmem.c) keep their own registry; the two
 * share the id space: an id may name one object of either kind.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QOM_OBJECT_INTERFACES_H
#define QOM_OBJECT_INTERFACES_H

#include "qemu/osdep.h"
#include "qemu/option.h"
#include <json-glib/json-glib.h>

typedef struct UserObject UserObject;

typedef struct UserObjectClass {
    const char *type;     /* QEMU's type name, "tls-creds-x509" */
    const char *parent;   /* the abstract type lookups ask for: "tls-creds" */
    /*
     * Build the object from its properties.  Must read every property it
     * knows (the caller rejects the ones nobody read).  Errors name the
     * property; the caller prefixes nothing.
     */
    UserObject *(*create)(const char *id, QemuOpts *opts, Error **errp);
    /* Free the type's part (the last unref; any thread). */
    void (*finalize)(UserObject *obj);
} UserObjectClass;

struct UserObject {
    const UserObjectClass *klass;
    char *id;
    int refcount;   /* atomic */
};

/* For create(): initialise the base (refcount 1, the registry's). */
void user_object_init(UserObject *obj, const UserObjectClass *klass,
                      const char *id);

/*
 * The argument of -object: "TYPE,id=ID,prop=value,..." (',,' is a comma
 * inside a value; list members as "rules.0.match=...") or a JSON object
 * '{"qom-type": "TYPE", "id": "ID", ...}'.  Types not in this registry go
 * to the memory backends when @startup (the command line), and are
 * refused otherwise.
 */
bool user_object_add_str(const char *optstr, bool startup, Error **errp);
/* object-add: @props holds qom-type, id and the properties. */
bool user_object_add_json(JsonObject *props, bool startup, Error **errp);
/* object-del: unlist @id (freed when its last user lets go). */
bool user_object_del(const char *id, Error **errp);

/* The object @id (borrowed; main thread), or NULL. */
UserObject *user_object_find(const char *id);
/* True if @obj's type is @type or has @type as its parent. */
bool user_object_is_a(UserObject *obj, const char *type);
UserObject *user_object_ref(UserObject *obj);
void user_object_unref(UserObject *obj);

/*
 * Flatten a JSON object into the key=value syntax of -object (nested
 * objects and arrays become dotted keys: rules.0.match).  NULL and @errp
 * for a value that has no such spelling (null, or a key with '=' or ',').
 */
char *user_object_json_to_optstr(JsonObject *props, Error **errp);

#endif
