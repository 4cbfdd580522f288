/*
 * JSON output with QEMU's QMP spacing.  Godwit writes JSON itself (so the
 * wire looks like QEMU's: ", " and ": "); it never parses JSON itself,
 * json-glib does.
 */
#include "qemu/osdep.h"
#include "qapi/qjson.h"

static void append_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                g_string_append_printf(out, "\\u%04x", *p);
            } else {
                g_string_append_c(out, *p);
            }
        }
    }
    g_string_append_c(out, '"');
}

static void append_value(GString *out, JsonNode *node)
{
    GType t = json_node_get_value_type(node);

    if (t == G_TYPE_INT64) {
        g_string_append_printf(out, "%" PRId64, json_node_get_int(node));
    } else if (t == G_TYPE_BOOLEAN) {
        g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
    } else if (t == G_TYPE_DOUBLE) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        double d = json_node_get_double(node);

        g_ascii_dtostr(buf, sizeof(buf), d);
        g_string_append(out, buf);
        if (!strpbrk(buf, ".eEn")) {
            g_string_append(out, ".0");
        }
    } else if (t == G_TYPE_STRING) {
        append_string(out, json_node_get_string(node));
    } else {
        g_string_append(out, "null");
    }
}

void qjson_append(GString *out, JsonNode *node)
{
    if (!node) {
        g_string_append(out, "null");
        return;
    }
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *obj = json_node_get_object(node);
        GList *members = json_object_get_members(obj);
        bool first = true;

        g_string_append_c(out, '{');
        for (GList *l = members; l; l = l->next) {
            if (!first) {
                g_string_append(out, ", ");
            }
            first = false;
            append_string(out, l->data);
            g_string_append(out, ": ");
            qjson_append(out, json_object_get_member(obj, l->data));
        }
        g_list_free(members);
        g_string_append_c(out, '}');
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(node);
        guint n = json_array_get_length(arr);

        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
            if (i) {
                g_string_append(out, ", ");
            }
            qjson_append(out, json_array_get_element(arr, i));
        }
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_VALUE:
        append_value(out, node);
        break;
    case JSON_NODE_NULL:
    default:
        g_string_append(out, "null");
        break;
    }
}

char *qjson_to_string(JsonNode *node)
{
    GString *out = g_string_new(NULL);

    qjson_append(out, node);
    return g_string_free(out, FALSE);
}

char *qjson_object_to_string(JsonObject *obj)
{
    JsonNode *node = json_node_alloc();
    char *s;

    json_node_init_object(node, obj);
    s = qjson_to_string(node);
    json_node_unref(node);
    return s;
}
