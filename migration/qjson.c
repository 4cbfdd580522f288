/*
 * QJSON: compact JSON writer with QEMU's vmdesc formatting (see qjson.h).
 */
#include "qemu/osdep.h"
#include "migration/qjson.h"

struct QJSON {
    GString *str;
    /* One bit per open container: does it already hold a value? */
    GArray *need_comma;
};

QJSON *qjson_new(void)
{
    QJSON *json = g_new0(QJSON, 1);

    json->str = g_string_new(NULL);
    json->need_comma = g_array_new(false, false, sizeof(bool));
    return json;
}

void qjson_free(QJSON *json)
{
    if (!json) {
        return;
    }
    g_string_free(json->str, true);
    g_array_free(json->need_comma, true);
    g_free(json);
}

static void qjson_quoted(QJSON *json, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    GString *out = json->str;

    g_string_append_c(out, '"');
    while (*p) {
        gunichar cp;
        const char *next;

        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            p++;
            continue;
        case '\\':
            g_string_append(out, "\\\\");
            p++;
            continue;
        case '\b':
            g_string_append(out, "\\b");
            p++;
            continue;
        case '\f':
            g_string_append(out, "\\f");
            p++;
            continue;
        case '\n':
            g_string_append(out, "\\n");
            p++;
            continue;
        case '\r':
            g_string_append(out, "\\r");
            p++;
            continue;
        case '\t':
            g_string_append(out, "\\t");
            p++;
            continue;
        default:
            break;
        }
        if (*p >= 0x20 && *p < 0x7f) {
            g_string_append_c(out, *p++);
            continue;
        }
        cp = g_utf8_get_char_validated((const char *)p, -1);
        if (cp == (gunichar)-1 || cp == (gunichar)-2) {
            cp = 0xfffd;
            next = (const char *)p + 1;
        } else {
            next = g_utf8_next_char(p);
        }
        if (cp > 0xffff) {
            cp -= 0x10000;
            g_string_append_printf(out, "\\u%04X\\u%04X",
                                   0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
        } else {
            g_string_append_printf(out, "\\u%04X", cp);
        }
        p = (const unsigned char *)next;
    }
    g_string_append_c(out, '"');
}

/* Separator and key before a value. */
static void qjson_begin_value(QJSON *json, const char *name)
{
    guint depth = json->need_comma->len;

    if (depth) {
        bool *nc = &g_array_index(json->need_comma, bool, depth - 1);

        if (*nc) {
            g_string_append(json->str, ", ");
        }
        *nc = true;
    }
    if (name) {
        qjson_quoted(json, name);
        g_string_append(json->str, ": ");
    }
}

static void qjson_open(QJSON *json, const char *name, char c)
{
    bool no = false;

    qjson_begin_value(json, name);
    g_string_append_c(json->str, c);
    g_array_append_val(json->need_comma, no);
}

static void qjson_close(QJSON *json, char c)
{
    assert(json->need_comma->len > 0);
    g_array_set_size(json->need_comma, json->need_comma->len - 1);
    g_string_append_c(json->str, c);
}

void qjson_start_object(QJSON *json, const char *name)
{
    qjson_open(json, name, '{');
}

void qjson_end_object(QJSON *json)
{
    qjson_close(json, '}');
}

void qjson_start_array(QJSON *json, const char *name)
{
    qjson_open(json, name, '[');
}

void qjson_end_array(QJSON *json)
{
    qjson_close(json, ']');
}

void qjson_int(QJSON *json, const char *name, int64_t val)
{
    qjson_begin_value(json, name);
    g_string_append_printf(json->str, "%" PRId64, val);
}

void qjson_uint(QJSON *json, const char *name, uint64_t val)
{
    qjson_begin_value(json, name);
    g_string_append_printf(json->str, "%" PRIu64, val);
}

void qjson_bool(QJSON *json, const char *name, bool val)
{
    qjson_begin_value(json, name);
    g_string_append(json->str, val ? "true" : "false");
}

void qjson_null(QJSON *json, const char *name)
{
    qjson_begin_value(json, name);
    g_string_append(json->str, "null");
}

void qjson_str(QJSON *json, const char *name, const char *val)
{
    qjson_begin_value(json, name);
    qjson_quoted(json, val);
}

const char *qjson_get_str(QJSON *json)
{
    return json->str->str;
}

size_t qjson_get_len(QJSON *json)
{
    return json->str->len;
}

bool qjson_is_complete(QJSON *json)
{
    return json->need_comma->len == 0;
}
