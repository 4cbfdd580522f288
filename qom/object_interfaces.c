/*
 * The registry of user-created objects (TLS credentials, authz), see
 * include/qom/object_interfaces.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qapi-commands.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qom/object_interfaces.h"
#include "sysemu/hostmem.h"
#include "config-host.h"
#include "trace.h"

#include "authz/simple.h"
#include "authz/list.h"
#ifdef CONFIG_GNUTLS
#include "crypto/tlscredsx509.h"
#include "crypto/tlscredspsk.h"
#include "crypto/tlscredsanon.h"
#endif

static const UserObjectClass *const classes[] = {
    &qauthz_simple_class,
    &qauthz_list_class,
#ifdef CONFIG_GNUTLS
    &qcrypto_tls_creds_x509_class,
    &qcrypto_tls_creds_psk_class,
    &qcrypto_tls_creds_anon_class,
#endif
};

/* Types this build knows by name but cannot create. */
static const char *const tls_types[] = {
    "tls-creds-x509", "tls-creds-psk", "tls-creds-anon",
};

/* every listed object, in creation order; main thread */
static GPtrArray *objects;

static const UserObjectClass *class_find(const char *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(classes); i++) {
        if (!strcmp(classes[i]->type, type)) {
            return classes[i];
        }
    }
    return NULL;
}

void user_object_init(UserObject *obj, const UserObjectClass *klass,
                      const char *id)
{
    obj->klass = klass;
    obj->id = g_strdup(id);
    obj->refcount = 1;
}

UserObject *user_object_find(const char *id)
{
    if (!objects || !id) {
        return NULL;
    }
    for (guint i = 0; i < objects->len; i++) {
        UserObject *o = g_ptr_array_index(objects, i);

        if (!strcmp(o->id, id)) {
            return o;
        }
    }
    return NULL;
}

bool user_object_is_a(UserObject *obj, const char *type)
{
    return !strcmp(obj->klass->type, type) ||
           (obj->klass->parent && !strcmp(obj->klass->parent, type));
}

UserObject *user_object_ref(UserObject *obj)
{
    g_assert(qatomic_read(&obj->refcount) > 0);
    qatomic_inc(&obj->refcount);
    return obj;
}

void user_object_unref(UserObject *obj)
{
    char *id;

    if (!obj) {
        return;
    }
    g_assert(qatomic_read(&obj->refcount) > 0);
    if (qatomic_fetch_sub(&obj->refcount, 1) != 1) {
        return;
    }
    trace_user_object_free(obj->klass->type, obj->id);
    id = obj->id;
    obj->klass->finalize(obj);
    g_free(id);
}

static bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

/* Append @s to @out, doubling commas (the -object escape). */
static void append_escaped(GString *out, const char *s)
{
    for (; *s; s++) {
        g_string_append_c(out, *s);
        if (*s == ',') {
            g_string_append_c(out, ',');
        }
    }
}

static bool flatten(GString *out, const char *key, JsonNode *node,
                    Error **errp);

static bool flatten_object(GString *out, const char *prefix, JsonObject *o,
                           Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(o);

    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        g_autofree char *key = NULL;

        if (strpbrk(name, "=,") || !*name) {
            error_setg(errp, "Property name '%s' cannot be written as an "
                       "option", name);
            return false;
        }
        key = prefix ? g_strdup_printf("%s.%s", prefix, name)
                     : g_strdup(name);
        if (!flatten(out, key, json_object_get_member(o, name), errp)) {
            return false;
        }
    }
    return true;
}

static bool flatten(GString *out, const char *key, JsonNode *node,
                    Error **errp)
{
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        return flatten_object(out, key, json_node_get_object(node), errp);
    }
    if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);

        for (guint i = 0; i < json_array_get_length(a); i++) {
            g_autofree char *k = g_strdup_printf("%s.%u", key, i);

            if (!flatten(out, k, json_array_get_element(a, i), errp)) {
                return false;
            }
        }
        return true;
    }
    if (JSON_NODE_HOLDS_NULL(node)) {
        error_setg(errp, "Property '%s' cannot be null", key);
        return false;
    }
    if (out->len) {
        g_string_append_c(out, ',');
    }
    g_string_append_printf(out, "%s=", key);
    switch (json_node_get_value_type(node)) {
    case G_TYPE_BOOLEAN:
        g_string_append(out, json_node_get_boolean(node) ? "on" : "off");
        break;
    case G_TYPE_INT64:
        g_string_append_printf(out, "%" PRId64, json_node_get_int(node));
        break;
    case G_TYPE_DOUBLE:
        g_string_append_printf(out, "%.17g", json_node_get_double(node));
        break;
    default:
        append_escaped(out, json_node_get_string(node));
        break;
    }
    return true;
}

char *user_object_json_to_optstr(JsonObject *props, Error **errp)
{
    g_autoptr(GString) out = g_string_new("");

    if (!flatten_object(out, NULL, props, errp)) {
        return NULL;
    }
    return g_string_free(g_steal_pointer(&out), false);
}

static bool add_opts(QemuOpts *opts, const char *optstr, bool startup,
                     Error **errp)
{
    const char *type = qemu_opt_get(opts, "qom-type");
    const char *id = qemu_opt_get(opts, "id");
    const UserObjectClass *klass;
    UserObject *obj;

    if (!type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return false;
    }
    klass = class_find(type);
    if (!klass) {
        for (size_t i = 0; i < ARRAY_SIZE(tls_types); i++) {
            if (!strcmp(type, tls_types[i])) {
                error_setg(errp, "%s: TLS needs gnutls, and this build of "
                           "Godwit has none (configure --enable-gnutls)",
                           type);
                return false;
            }
        }
        if (!startup) {
            error_setg(errp, "Object type '%s' can only be created with "
                       "-object on the command line, or is unknown", type);
            return false;
        }
        if (id && user_object_find(id)) {
            error_setg(errp, "attempt to add duplicate property '%s' to "
                       "object (type 'container')", id);
            return false;
        }
        return user_creatable_add_opts_str(optstr, errp);
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (user_object_find(id) || user_creatable_type(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return false;
    }
    obj = klass->create(id, opts, errp);
    if (!obj) {
        return false;
    }
    if (!qemu_opts_check_unused(opts, type, errp)) {
        user_object_unref(obj);
        return false;
    }
    if (!objects) {
        objects = g_ptr_array_new();
    }
    g_ptr_array_add(objects, obj);
    trace_user_object_add(type, id);
    return true;
}

static bool add_json_text(const char *text, bool startup, Error **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, text, -1, &gerr)) {
        error_setg(errp, "Invalid JSON object: %s", gerr->message);
        return false;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        error_setg(errp, "Invalid JSON object: not an object");
        return false;
    }
    return user_object_add_json(json_node_get_object(root), startup, errp);
}

bool user_object_add_str(const char *optstr, bool startup, Error **errp)
{
    QemuOpts *opts;
    bool ok;

    while (g_ascii_isspace(*optstr)) {
        optstr++;
    }
    if (*optstr == '{') {
        return add_json_text(optstr, startup, errp);
    }
    opts = qemu_opts_parse(optstr, "qom-type", errp);
    if (!opts) {
        return false;
    }
    ok = add_opts(opts, optstr, startup, errp);
    qemu_opts_free(opts);
    return ok;
}

bool user_object_add_json(JsonObject *props, bool startup, Error **errp)
{
    g_autofree char *optstr = user_object_json_to_optstr(props, errp);
    QemuOpts *opts;
    bool ok;

    if (!optstr) {
        return false;
    }
    opts = qemu_opts_parse(optstr, NULL, errp);
    if (!opts) {
        return false;
    }
    ok = add_opts(opts, optstr, startup, errp);
    qemu_opts_free(opts);
    return ok;
}

bool user_object_del(const char *id, Error **errp)
{
    UserObject *obj = user_object_find(id);

    if (!obj) {
        if (user_creatable_type(id)) {
            error_setg(errp, "object '%s' is a memory backend and cannot be "
                       "deleted", id);
        } else {
            error_setg(errp, "object '%s' not found", id);
        }
        return false;
    }
    if (qatomic_read(&obj->refcount) > 1) {
        error_setg(errp, "object '%s' is in use, can not be deleted", id);
        return false;
    }
    g_ptr_array_remove(objects, obj);
    trace_user_object_del(obj->klass->type, id);
    user_object_unref(obj);
    return true;
}

/* ------------------------------------------------------------- QMP, HMP */

JsonNode *qmp_object_add(JsonObject *args, Error **errp)
{
    user_object_add_json(args, false, errp);
    return NULL;
}

JsonNode *qmp_object_del(JsonObject *args, Error **errp)
{
    user_object_del(qapi_arg_str(args, "id"), errp);
    return NULL;
}

void hmp_object_add(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    user_object_add_str(qapi_arg_str(args, "object"), false, &err);
    hmp_handle_error(mon, err);
}

void hmp_object_del(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    user_object_del(qapi_arg_str(args, "id"), &err);
    hmp_handle_error(mon, err);
}
