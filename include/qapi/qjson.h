/*
 * JSON output in QEMU's QMP layout: one line, ", " between members and
 * ": " after keys ({"return": {}, "id": 1}).  Parsing is json-glib's.
 */
#ifndef QAPI_QJSON_H
#define QAPI_QJSON_H

#include "qemu/osdep.h"
#include <json-glib/json-glib.h>

/* Append @node to @out. */
void qjson_append(GString *out, JsonNode *node);
/* Serialize @node / @obj; g_free the result. */
char *qjson_to_string(JsonNode *node);
char *qjson_object_to_string(JsonObject *obj);

#endif
