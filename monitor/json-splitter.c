/* Split a QMP byte stream into top-level JSON texts (see json-splitter.h). */
#include "qemu/osdep.h"
#include "monitor/json-splitter.h"

void json_splitter_init(JsonSplitter *s, JsonSplitterEmit *emit, void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->buf = g_string_new(NULL);
    s->emit = emit;
    s->opaque = opaque;
}

void json_splitter_reset(JsonSplitter *s)
{
    g_string_truncate(s->buf, 0);
    s->depth = 0;
    s->in_string = false;
    s->escape = false;
    s->in_scalar = false;
    s->skipping = false;
}

void json_splitter_destroy(JsonSplitter *s)
{
    if (s->buf) {
        g_string_free(s->buf, TRUE);
        s->buf = NULL;
    }
}

static void emit_value(JsonSplitter *s)
{
    /* the callback may feed or reset: hand it a private copy */
    GString *text = s->buf;

    s->buf = g_string_new(NULL);
    s->depth = 0;
    s->in_string = false;
    s->escape = false;
    s->in_scalar = false;
    s->emit(s->opaque, text->str, text->len, NULL);
    g_string_free(text, TRUE);
}

static void emit_error(JsonSplitter *s, const char *msg)
{
    json_splitter_reset(s);
    s->skipping = true;
    s->emit(s->opaque, NULL, 0, msg);
}

void json_splitter_flush(JsonSplitter *s)
{
    if (s->in_scalar && s->buf->len) {
        emit_value(s);
    }
}

void json_splitter_feed(JsonSplitter *s, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];

        if (s->skipping) {
            /* after a limit error, resynchronise at the next line */
            if (c == '\n') {
                s->skipping = false;
            }
            continue;
        }
        if (s->buf->len >= JSON_SPLITTER_MAX_SIZE) {
            emit_error(s, "JSON token size limit exceeded");
            continue;
        }
        if (s->in_string) {
            g_string_append_c(s->buf, c);
            if (s->escape) {
                s->escape = false;
            } else if (c == '\\') {
                s->escape = true;
            } else if (c == '"') {
                s->in_string = false;
                if (s->depth == 0) {
                    emit_value(s);
                }
            }
            continue;
        }
        if (s->in_scalar) {
            if (!strchr(" \t\r\n{}[],:\"", c)) {
                g_string_append_c(s->buf, c);
                continue;
            }
            emit_value(s);
            /* and handle @c afresh */
        }
        switch (c) {
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            if (s->depth > 0) {
                g_string_append_c(s->buf, c);
            }
            break;
        case '"':
            g_string_append_c(s->buf, c);
            s->in_string = true;
            break;
        case '{':
        case '[':
            g_string_append_c(s->buf, c);
            if (++s->depth > JSON_SPLITTER_MAX_DEPTH) {
                emit_error(s, "JSON nesting depth limit exceeded");
            }
            break;
        case '}':
        case ']':
            g_string_append_c(s->buf, c);
            if (s->depth == 0 || --s->depth == 0) {
                emit_value(s);
            }
            break;
        default:
            g_string_append_c(s->buf, c);
            if (s->depth == 0) {
                if (c == ',' || c == ':') {
                    emit_value(s);
                } else {
                    s->in_scalar = true;
                }
            }
            break;
        }
    }
}
