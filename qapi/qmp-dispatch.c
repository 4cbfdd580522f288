/*
 * Generic QMP argument checking and command dispatch, driven by the
 * descriptors scripts/qapi-gen.py generates from the schema.  The error
 * texts and classes are QEMU 7.2's, so clients that match on them work.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qjson.h"

#define BUILTIN(n, k) const QapiType qapi_type_##n = { .kind = (k), .name = #n }
BUILTIN(str, QAPI_KIND_STR);
BUILTIN(int, QAPI_KIND_INT64);
BUILTIN(int8, QAPI_KIND_INT8);
BUILTIN(int16, QAPI_KIND_INT16);
BUILTIN(int32, QAPI_KIND_INT32);
BUILTIN(int64, QAPI_KIND_INT64);
BUILTIN(uint8, QAPI_KIND_UINT8);
BUILTIN(uint16, QAPI_KIND_UINT16);
BUILTIN(uint32, QAPI_KIND_UINT32);
BUILTIN(uint64, QAPI_KIND_UINT64);
BUILTIN(size, QAPI_KIND_SIZE);
BUILTIN(bool, QAPI_KIND_BOOL);
BUILTIN(number, QAPI_KIND_NUMBER);
BUILTIN(any, QAPI_KIND_ANY);

static int cmp_cmd(const void *key, const void *elem)
{
    return strcmp(key, ((const QmpCommand *)elem)->name);
}

const QmpCommand *qmp_find_command(const QmpCommandList *list, const char *name)
{
    return bsearch(name, list->cmds, list->n_cmds, sizeof(QmpCommand), cmp_cmd);
}

static bool node_is(JsonNode *node, GType t)
{
    return node && JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == t;
}

static bool check_members(const QapiMember *members, int n, const char *prefix,
                          JsonObject *obj, Error **errp);

bool qapi_check_value(const QapiType *type, const char *name, JsonNode *node,
                      Error **errp)
{
    int64_t v;

    switch (type->kind) {
    case QAPI_KIND_ANY:
        return true;
    case QAPI_KIND_STR:
        if (!node_is(node, G_TYPE_STRING)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                       name, "string");
            return false;
        }
        return true;
    case QAPI_KIND_BOOL:
        if (!node_is(node, G_TYPE_BOOLEAN)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                       name, "boolean");
            return false;
        }
        return true;
    case QAPI_KIND_NUMBER:
        if (!node_is(node, G_TYPE_INT64) && !node_is(node, G_TYPE_DOUBLE)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                       name, "number");
            return false;
        }
        return true;
    case QAPI_KIND_INT8:
    case QAPI_KIND_INT16:
    case QAPI_KIND_INT32:
    case QAPI_KIND_INT64: {
        static const char *const tn[] = { "int8_t", "int16_t", "int32_t" };
        int bits = type->kind == QAPI_KIND_INT8 ? 8 :
                   type->kind == QAPI_KIND_INT16 ? 16 :
                   type->kind == QAPI_KIND_INT32 ? 32 : 64;

        if (!node_is(node, G_TYPE_INT64)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                       name, "integer");
            return false;
        }
        v = json_node_get_int(node);
        if (bits < 64 && (v < -(INT64_C(1) << (bits - 1)) ||
                          v >= (INT64_C(1) << (bits - 1)))) {
            error_setg(errp, "Parameter '%s' expects %s", name,
                       tn[type->kind - QAPI_KIND_INT8]);
            return false;
        }
        return true;
    }
    case QAPI_KIND_UINT8:
    case QAPI_KIND_UINT16:
    case QAPI_KIND_UINT32:
    case QAPI_KIND_UINT64:
    case QAPI_KIND_SIZE: {
        static const char *const tn[] = { "uint8_t", "uint16_t", "uint32_t" };
        int bits = type->kind == QAPI_KIND_UINT8 ? 8 :
                   type->kind == QAPI_KIND_UINT16 ? 16 :
                   type->kind == QAPI_KIND_UINT32 ? 32 : 64;

        /* like QEMU, negative values are taken modulo 2^64 */
        if (!node_is(node, G_TYPE_INT64)) {
            error_setg(errp, "Parameter '%s' expects %s", name, "uint64");
            return false;
        }
        v = json_node_get_int(node);
        if (bits < 64 && (uint64_t)v >= (UINT64_C(1) << bits)) {
            error_setg(errp, "Parameter '%s' expects %s", name,
                       tn[type->kind - QAPI_KIND_UINT8]);
            return false;
        }
        return true;
    }
    case QAPI_KIND_ENUM: {
        const char *s;

        if (!node_is(node, G_TYPE_STRING)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                       name, "string");
            return false;
        }
        s = json_node_get_string(node);
        for (int i = 0; type->enum_values[i]; i++) {
            if (!strcmp(type->enum_values[i], s)) {
                return true;
            }
        }
        error_setg(errp, "Parameter '%s' does not accept value '%s'", name, s);
        return false;
    }
    case QAPI_KIND_STRUCT:
        if (!node || !JSON_NODE_HOLDS_OBJECT(node)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                       name, "object");
            return false;
        }
        return check_members(type->members, type->n_members, name,
                             json_node_get_object(node), errp);
    case QAPI_KIND_LIST: {
        JsonArray *arr;

        if (!node || !JSON_NODE_HOLDS_ARRAY(node)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                       name, "array");
            return false;
        }
        arr = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            g_autofree char *elname = g_strdup_printf("%s[%u]", name, i);

            if (!qapi_check_value(type->elem, elname,
                                  json_array_get_element(arr, i), errp)) {
                return false;
            }
        }
        return true;
    }
    }
    return true;
}

static bool check_members(const QapiMember *members, int n, const char *prefix,
                          JsonObject *obj, Error **errp)
{
    GList *keys;
    bool ok = true;

    /* members in schema order first, as QEMU's input visitor does */
    for (int i = 0; i < n; i++) {
        g_autofree char *full = prefix ? g_strdup_printf("%s.%s", prefix,
                                                         members[i].name)
                                       : g_strdup(members[i].name);
        JsonNode *node = obj ? json_object_get_member(obj, members[i].name)
                             : NULL;

        if (!node) {
            if (!members[i].optional) {
                error_setg(errp, "Parameter '%s' is missing", full);
                return false;
            }
            continue;
        }
        if (!qapi_check_value(members[i].type, full, node, errp)) {
            return false;
        }
    }
    if (!obj) {
        return true;
    }
    /* then anything left over */
    keys = json_object_get_members(obj);
    for (GList *l = keys; l && ok; l = l->next) {
        bool known = false;

        for (int i = 0; i < n; i++) {
            if (!strcmp(members[i].name, l->data)) {
                known = true;
                break;
            }
        }
        if (!known) {
            g_autofree char *full = prefix ? g_strdup_printf("%s.%s", prefix,
                                                             (char *)l->data)
                                           : g_strdup(l->data);
            error_setg(errp, "Parameter '%s' is unexpected", full);
            ok = false;
        }
    }
    g_list_free(keys);
    return ok;
}

bool qmp_check_args(const QmpCommand *cmd, JsonObject *args, Error **errp)
{
    return check_members(cmd->args, cmd->n_args, NULL, args, errp);
}

JsonNode *qmp_run_command(const QmpCommand *cmd, JsonObject *args, Error **errp)
{
    Error *local_err = NULL;
    JsonObject *empty = NULL;
    JsonNode *ret;

    if (!qmp_check_args(cmd, args, errp)) {
        return NULL;
    }
    if (!args) {
        args = empty = json_object_new();
    }
    ret = cmd->fn(args, &local_err);
    if (empty) {
        json_object_unref(empty);
    }
    if (local_err) {
        if (ret) {
            json_node_unref(ret);
        }
        error_propagate(errp, local_err);
        return NULL;
    }
    if (!ret) {
        ret = qapi_node_object(json_object_new());
    }
    return ret;
}

JsonObject *qmp_error_response(Error *err)
{
    JsonObject *rsp = json_object_new();
    JsonObject *e = json_object_new();

    json_object_set_string_member(e, "class",
                                  ErrorClass_str(error_get_class(err)));
    json_object_set_string_member(e, "desc", error_get_pretty(err));
    json_object_set_object_member(rsp, "error", e);
    error_free(err);
    return rsp;
}

/* Check the request's own members; returns the command name or NULL. */
static const char *check_request(JsonObject *req, bool allow_oob, bool *oob,
                                 Error **errp)
{
    const char *exec_key = NULL;
    GList *keys = json_object_get_members(req);
    const char *name = NULL;

    *oob = false;
    for (GList *l = keys; l; l = l->next) {
        const char *k = l->data;
        JsonNode *v = json_object_get_member(req, k);

        if (!strcmp(k, "execute") || (allow_oob && !strcmp(k, "exec-oob"))) {
            if (!node_is(v, G_TYPE_STRING)) {
                error_setg(errp, "QMP input member '%s' must be a string", k);
                goto out;
            }
            if (exec_key) {
                error_setg(errp, "QMP input member '%s' clashes with '%s'",
                           k, exec_key);
                goto out;
            }
            exec_key = k;
        } else if (!strcmp(k, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(v)) {
                error_setg(errp, "QMP input member 'arguments' must be an object");
                goto out;
            }
        } else if (strcmp(k, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", k);
            goto out;
        }
    }
    if (!exec_key) {
        error_setg(errp, "QMP input lacks member 'execute'");
        goto out;
    }
    *oob = !strcmp(exec_key, "exec-oob");
    name = json_object_get_string_member(req, exec_key);
out:
    g_list_free(keys);
    return name;
}

JsonObject *qmp_dispatch(const QmpCommandList *list, JsonObject *request,
                         bool allow_oob)
{
    Error *err = NULL;
    JsonObject *rsp = NULL;
    JsonNode *ret = NULL;
    const QmpCommand *cmd;
    const char *name;
    bool oob;

    name = check_request(request, allow_oob, &oob, &err);
    if (!name) {
        goto done;
    }
    cmd = qmp_find_command(list, name);
    if (!cmd) {
        error_set(&err, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "The command %s has not been found", name);
        goto done;
    }
    if (oob && !cmd->allow_oob) {
        error_setg(&err, "The command %s does not support OOB", name);
        goto done;
    }
    ret = qmp_run_command(cmd,
                          json_object_has_member(request, "arguments") ?
                          json_object_get_object_member(request, "arguments") :
                          NULL, &err);
done:
    if (err) {
        rsp = qmp_error_response(err);
    } else {
        rsp = json_object_new();
        json_object_set_member(rsp, "return", ret);
    }
    if (json_object_has_member(request, "id")) {
        json_object_set_member(rsp, "id",
                               json_node_copy(json_object_get_member(request, "id")));
    }
    return rsp;
}

/* ---------------------------------------------------------------- helpers */

bool qapi_arg_has(JsonObject *args, const char *name)
{
    return args && json_object_has_member(args, name);
}

const char *qapi_arg_str(JsonObject *args, const char *name)
{
    JsonNode *n = args ? json_object_get_member(args, name) : NULL;

    return node_is(n, G_TYPE_STRING) ? json_node_get_string(n) : NULL;
}

int64_t qapi_arg_int(JsonObject *args, const char *name, int64_t dflt)
{
    JsonNode *n = args ? json_object_get_member(args, name) : NULL;

    if (node_is(n, G_TYPE_INT64)) {
        return json_node_get_int(n);
    }
    if (node_is(n, G_TYPE_DOUBLE)) {
        return (int64_t)json_node_get_double(n);
    }
    return dflt;
}

uint64_t qapi_arg_uint(JsonObject *args, const char *name, uint64_t dflt)
{
    return qapi_arg_has(args, name) ? (uint64_t)qapi_arg_int(args, name, 0)
                                    : dflt;
}

bool qapi_arg_bool(JsonObject *args, const char *name, bool dflt)
{
    JsonNode *n = args ? json_object_get_member(args, name) : NULL;

    return node_is(n, G_TYPE_BOOLEAN) ? json_node_get_boolean(n) : dflt;
}

double qapi_arg_number(JsonObject *args, const char *name, double dflt)
{
    JsonNode *n = args ? json_object_get_member(args, name) : NULL;

    if (node_is(n, G_TYPE_DOUBLE)) {
        return json_node_get_double(n);
    }
    if (node_is(n, G_TYPE_INT64)) {
        return (double)json_node_get_int(n);
    }
    return dflt;
}

int qapi_arg_enum(JsonObject *args, const char *name, const QapiType *type,
                  int dflt)
{
    const char *s = qapi_arg_str(args, name);

    if (s) {
        for (int i = 0; type->enum_values[i]; i++) {
            if (!strcmp(type->enum_values[i], s)) {
                return i;
            }
        }
    }
    return dflt;
}

JsonNode *qapi_node_object(JsonObject *obj)
{
    JsonNode *n = json_node_alloc();

    json_node_init_object(n, obj);
    json_object_unref(obj);
    return n;
}

JsonNode *qapi_node_array(JsonArray *arr)
{
    JsonNode *n = json_node_alloc();

    json_node_init_array(n, arr);
    json_array_unref(arr);
    return n;
}

JsonNode *qapi_node_str(const char *s)
{
    JsonNode *n = json_node_alloc();

    json_node_init_string(n, s);
    return n;
}

JsonNode *qapi_node_int(int64_t v)
{
    JsonNode *n = json_node_alloc();

    json_node_init_int(n, v);
    return n;
}
