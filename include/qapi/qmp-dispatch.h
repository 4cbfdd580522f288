/*
 * QMP command dispatch: argument descriptors generated from the schema
 * (the qapi/ schema, scripts/qapi-gen.py) and the generic checker that runs
 * before every handler.
 *
 * A command NAME declared in the schema is implemented by
 *
 *     JsonNode *qmp_NAME(JsonObject *args, Error **errp);
 *
 * (dashes become underscores) in the subsystem that owns it.  @args holds
 * exactly the schema's arguments, already checked: every required one is
 * present, every present one has its declared type, nothing else is there.
 * Return the "return" value (a new JsonNode the dispatcher takes over), or
 * NULL for "{}".  On failure set @errp (the return value is then ignored).
 * Handlers run in the main thread with the BQL held.
 */
#ifndef QAPI_QMP_DISPATCH_H
#define QAPI_QMP_DISPATCH_H

#include "qemu/osdep.h"
#include <json-glib/json-glib.h>

typedef enum QapiKind {
    QAPI_KIND_STR,
    QAPI_KIND_INT8,
    QAPI_KIND_INT16,
    QAPI_KIND_INT32,
    QAPI_KIND_INT64,
    QAPI_KIND_UINT8,
    QAPI_KIND_UINT16,
    QAPI_KIND_UINT32,
    QAPI_KIND_UINT64,
    QAPI_KIND_SIZE,
    QAPI_KIND_BOOL,
    QAPI_KIND_NUMBER,
    QAPI_KIND_ANY,
    QAPI_KIND_ENUM,
    QAPI_KIND_STRUCT,
    QAPI_KIND_LIST,
} QapiKind;

typedef struct QapiType QapiType;

typedef struct QapiMember {
    const char *name;
    const QapiType *type;
    bool optional;
} QapiMember;

struct QapiType {
    QapiKind kind;
    const char *name;                 /* schema name ("RunState", "int") */
    const char *const *enum_values;   /* ENUM: NULL-terminated */
    const QapiMember *members;        /* STRUCT */
    int n_members;
    const QapiType *elem;             /* LIST */
};

/* The built-in types, named as in the schema. */
extern const QapiType qapi_type_str, qapi_type_int, qapi_type_int8,
    qapi_type_int16, qapi_type_int32, qapi_type_int64, qapi_type_uint8,
    qapi_type_uint16, qapi_type_uint32, qapi_type_uint64, qapi_type_size,
    qapi_type_bool, qapi_type_number, qapi_type_any;

typedef JsonNode *QmpCommandFunc(JsonObject *args, Error **errp);

typedef struct QmpCommand {
    const char *name;
    QmpCommandFunc *fn;
    const QapiMember *args;
    int n_args;
    bool allow_oob;
} QmpCommand;

typedef struct QmpCommandList {
    const QmpCommand *cmds;           /* sorted by name */
    int n_cmds;
} QmpCommandList;

const QmpCommand *qmp_find_command(const QmpCommandList *list, const char *name);

/*
 * Check @args (NULL means none) against @cmd's descriptors, with QEMU's
 * error texts: "Parameter 'x' is missing", "Parameter 'x' is unexpected",
 * "Invalid parameter type for 'x', expected: integer", ...
 */
bool qmp_check_args(const QmpCommand *cmd, JsonObject *args, Error **errp);
/* Check one value against @type; @name is the member path used in errors. */
bool qapi_check_value(const QapiType *type, const char *name, JsonNode *node,
                      Error **errp);

/*
 * Check the arguments and run @cmd.  Returns the "return" value (never
 * NULL on success: {} when the handler returned NULL) or NULL with @errp set.
 */
JsonNode *qmp_run_command(const QmpCommand *cmd, JsonObject *args, Error **errp);

/*
 * Dispatch one request object as the QMP server does, after negotiation:
 * checks the request members ("execute", "exec-oob", "arguments", "id"),
 * finds the command, checks arguments, runs it.  Returns the complete
 * response object ({"return": ...} or {"error": {...}}, with "id" echoed).
 */
JsonObject *qmp_dispatch(const QmpCommandList *list, JsonObject *request,
                         bool allow_oob);

/* {"error": {"class": ..., "desc": ...}} from @err (freed). */
JsonObject *qmp_error_response(Error *err);

/* ---- helpers for handlers reading checked arguments */
bool qapi_arg_has(JsonObject *args, const char *name);
/* NULL if absent */
const char *qapi_arg_str(JsonObject *args, const char *name);
int64_t qapi_arg_int(JsonObject *args, const char *name, int64_t dflt);
uint64_t qapi_arg_uint(JsonObject *args, const char *name, uint64_t dflt);
bool qapi_arg_bool(JsonObject *args, const char *name, bool dflt);
double qapi_arg_number(JsonObject *args, const char *name, double dflt);
/* Index of an enum argument's value in @type's list, or @dflt if absent. */
int qapi_arg_enum(JsonObject *args, const char *name, const QapiType *type,
                  int dflt);

/* ---- helpers for building return values (each takes ownership) */
JsonNode *qapi_node_object(JsonObject *obj);
JsonNode *qapi_node_array(JsonArray *arr);
JsonNode *qapi_node_str(const char *s);
JsonNode *qapi_node_int(int64_t v);

#endif
