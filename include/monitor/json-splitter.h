/*
 * Split a QMP byte stream into complete top-level JSON texts, so that each
 * can be handed to json-glib.  Tracks brackets, braces and strings only; it
 * does not validate JSON.  A top-level scalar (42, "x", true) ends at the
 * next white space or structural character.
 */
#ifndef MONITOR_JSON_SPLITTER_H
#define MONITOR_JSON_SPLITTER_H

#include "qemu/osdep.h"

/* Largest message and deepest nesting accepted (as QEMU's JSON streamer). */
#define JSON_SPLITTER_MAX_SIZE  (64 * 1024 * 1024)
#define JSON_SPLITTER_MAX_DEPTH 1024

/*
 * @text is one complete top-level value (not NUL-terminated: @len), or
 * NULL with @error set when the input went over a limit (the pending input
 * is dropped).
 */
typedef void JsonSplitterEmit(void *opaque, const char *text, size_t len,
                              const char *error);

typedef struct JsonSplitter {
    GString *buf;
    int depth;
    bool in_string;
    bool escape;
    bool in_scalar;
    bool skipping;           /* dropping input after a limit error */
    JsonSplitterEmit *emit;
    void *opaque;
} JsonSplitter;

void json_splitter_init(JsonSplitter *s, JsonSplitterEmit *emit, void *opaque);
void json_splitter_feed(JsonSplitter *s, const char *data, size_t len);
/* Forget partial input (client went away). */
void json_splitter_reset(JsonSplitter *s);
/* Emit a pending top-level scalar (end of input). */
void json_splitter_flush(JsonSplitter *s);
void json_splitter_destroy(JsonSplitter *s);

#endif
