/*
 * QJSON: a small streaming JSON writer for the VMDESCRIPTION.
 *
 * The output matches QEMU's compact JSON writer byte for byte, so that
 * scripts/analyze-migration.py and the static checker read it unchanged:
 *   - ", " between members and elements, ": " after a key;
 *   - no newline anywhere; empty containers are "{}" and "[]";
 *   - strings escape '"' and '\\' with a backslash, \b \f \n \r \t by
 *     name, other code points below 0x20 and from 0x7f up as \uXXXX
 *     (upper-case hex, UTF-16 surrogate pairs above 0xffff; malformed
 *     UTF-8 becomes \uFFFD).
 *
 * @name is the member key inside an object and must be NULL inside an
 * array (and for the outermost value).  Not thread safe: one writer per
 * stream, used by the thread that saves device state.
 */
#ifndef MIGRATION_QJSON_H
#define MIGRATION_QJSON_H

typedef struct QJSON QJSON;

QJSON *qjson_new(void);
void qjson_free(QJSON *json);

void qjson_start_object(QJSON *json, const char *name);
void qjson_end_object(QJSON *json);
void qjson_start_array(QJSON *json, const char *name);
void qjson_end_array(QJSON *json);
void qjson_int(QJSON *json, const char *name, int64_t val);
void qjson_uint(QJSON *json, const char *name, uint64_t val);
void qjson_bool(QJSON *json, const char *name, bool val);
void qjson_null(QJSON *json, const char *name);
void qjson_str(QJSON *json, const char *name, const char *val);

/* The text so far (NUL terminated) and its length in bytes. */
const char *qjson_get_str(QJSON *json);
size_t qjson_get_len(QJSON *json);
/* True when every object and array opened has been closed. */
bool qjson_is_complete(QJSON *json);

#endif
