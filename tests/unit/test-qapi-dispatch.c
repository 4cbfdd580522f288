/*
 * Unit tests of the generic QMP argument checker and dispatcher, the JSON
 * stream splitter and the QMP JSON writer, with a command table of the
 * test's own (so it does not need the rest of the emulator).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qjson.h"
#include "monitor/json-splitter.h"

static const char *const color_values[] = { "red", "green", NULL };
static const QapiType color_type = {
    .kind = QAPI_KIND_ENUM, .name = "Color", .enum_values = color_values,
};
static const QapiMember point_members[] = {
    { "x", &qapi_type_int, false },
    { "y", &qapi_type_int, true },
};
static const QapiType point_type = {
    .kind = QAPI_KIND_STRUCT, .name = "Point", .members = point_members,
    .n_members = 2,
};
static const QapiType str_list_type = {
    .kind = QAPI_KIND_LIST, .name = "list", .elem = &qapi_type_str,
};

static const QapiMember test_args[] = {
    { "name", &qapi_type_str, false },
    { "count", &qapi_type_int, true },
    { "size", &qapi_type_size, true },
    { "flag", &qapi_type_bool, true },
    { "ratio", &qapi_type_number, true },
    { "color", &color_type, true },
    { "point", &point_type, true },
    { "tags", &str_list_type, true },
    { "small", &qapi_type_uint8, true },
    { "blob", &qapi_type_any, true },
};

static int calls;

static JsonNode *echo_cmd(JsonObject *args, Error **errp)
{
    calls++;
    return qapi_node_str(qapi_arg_str(args, "name"));
}

static JsonNode *fail_cmd(JsonObject *args, Error **errp)
{
    error_setg(errp, "it failed");
    return NULL;
}

static JsonNode *void_cmd(JsonObject *args, Error **errp)
{
    return NULL;
}

static const QmpCommand test_cmds[] = {
    { "echo", echo_cmd, test_args, ARRAY_SIZE(test_args), false },
    { "fail", fail_cmd, NULL, 0, false },
    { "void", void_cmd, NULL, 0, true },
};
static const QmpCommandList test_list = { test_cmds, ARRAY_SIZE(test_cmds) };

static JsonObject *parse_obj(const char *text)
{
    g_autoptr(JsonParser) p = json_parser_new();
    JsonNode *root;

    g_assert_true(json_parser_load_from_data(p, text, -1, NULL));
    root = json_parser_get_root(p);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
    return json_object_ref(json_node_get_object(root));
}

/* Dispatch @req and return the serialized response. */
static char *dispatch(const char *req, bool oob)
{
    JsonObject *r = parse_obj(req);
    JsonObject *rsp = qmp_dispatch(&test_list, r, oob);
    char *s = qjson_object_to_string(rsp);

    json_object_unref(rsp);
    json_object_unref(r);
    return s;
}

static void check(const char *req, const char *expect)
{
    g_autofree char *s = dispatch(req, false);

    g_assert_cmpstr(s, ==, expect);
}

static void check_err(const char *args, const char *desc)
{
    g_autofree char *req = g_strdup_printf("{\"execute\": \"echo\", "
                                           "\"arguments\": %s}", args);
    g_autofree char *expect = g_strdup_printf(
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"%s\"}}", desc);

    check(req, expect);
}

static void test_success(void)
{
    calls = 0;
    check("{\"execute\": \"echo\", \"arguments\": {\"name\": \"a\\\"b\"}, \"id\": 7}",
          "{\"return\": \"a\\\"b\", \"id\": 7}");
    check("{\"execute\": \"echo\", \"arguments\": {\"name\": \"n\", \"count\": -3,"
          " \"size\": 4096, \"flag\": true, \"ratio\": 1, \"color\": \"green\","
          " \"point\": {\"x\": 1}, \"tags\": [\"a\", \"b\"], \"small\": 255,"
          " \"blob\": [1, {\"z\": null}]}}",
          "{\"return\": \"n\"}");
    g_assert_cmpint(calls, ==, 2);
    check("{\"execute\": \"void\", \"id\": {\"a\": [1, \"x\"]}}",
          "{\"return\": {}, \"id\": {\"a\": [1, \"x\"]}}");
    check("{\"execute\": \"fail\"}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"it failed\"}}");
}

static void test_arg_errors(void)
{
    calls = 0;
    check_err("{}", "Parameter 'name' is missing");
    check_err("{\"name\": \"a\", \"bogus\": 1}", "Parameter 'bogus' is unexpected");
    check_err("{\"name\": 1}",
              "Invalid parameter type for 'name', expected: string");
    check_err("{\"name\": \"a\", \"count\": \"1\"}",
              "Invalid parameter type for 'count', expected: integer");
    check_err("{\"name\": \"a\", \"count\": 1.5}",
              "Invalid parameter type for 'count', expected: integer");
    check_err("{\"name\": \"a\", \"size\": \"1\"}", "Parameter 'size' expects uint64");
    check_err("{\"name\": \"a\", \"flag\": 1}",
              "Invalid parameter type for 'flag', expected: boolean");
    check_err("{\"name\": \"a\", \"ratio\": \"x\"}",
              "Invalid parameter type for 'ratio', expected: number");
    check_err("{\"name\": \"a\", \"color\": \"blue\"}",
              "Parameter 'color' does not accept value 'blue'");
    check_err("{\"name\": \"a\", \"point\": 1}",
              "Invalid parameter type for 'point', expected: object");
    check_err("{\"name\": \"a\", \"point\": {}}", "Parameter 'point.x' is missing");
    check_err("{\"name\": \"a\", \"point\": {\"x\": 1, \"w\": 2}}",
              "Parameter 'point.w' is unexpected");
    check_err("{\"name\": \"a\", \"tags\": [\"a\", 2]}",
              "Invalid parameter type for 'tags[1]', expected: string");
    check_err("{\"name\": \"a\", \"tags\": \"a\"}",
              "Invalid parameter type for 'tags', expected: array");
    check_err("{\"name\": \"a\", \"small\": 256}", "Parameter 'small' expects uint8_t");
    /* schema order: a missing member is reported before an unexpected one */
    check_err("{\"zzz\": 1}", "Parameter 'name' is missing");
    g_assert_cmpint(calls, ==, 0);
}

static void test_request_errors(void)
{
    check("{\"execute\": \"nope\", \"id\": \"x\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
          "\"The command nope has not been found\"}, \"id\": \"x\"}");
    check("{\"arguments\": {}}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"QMP input lacks member 'execute'\"}}");
    check("{\"execute\": 1}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"QMP input member 'execute' must be a string\"}}");
    check("{\"execute\": \"void\", \"arguments\": []}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"QMP input member 'arguments' must be an object\"}}");
    check("{\"execute\": \"void\", \"foo\": 1}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"QMP input member 'foo' is unexpected\"}}");
    check("{\"exec-oob\": \"void\"}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"QMP input member 'exec-oob' is unexpected\"}}");
    {
        g_autofree char *s = dispatch("{\"exec-oob\": \"void\"}", true);
        g_autofree char *s2 = dispatch("{\"exec-oob\": \"fail\"}", true);

        g_assert_cmpstr(s, ==, "{\"return\": {}}");
        g_assert_cmpstr(s2, ==, "{\"error\": {\"class\": \"GenericError\", "
                        "\"desc\": \"The command fail does not support OOB\"}}");
    }
}

static GPtrArray *split_out;

static void split_emit(void *opaque, const char *text, size_t len,
                       const char *error)
{
    g_ptr_array_add(split_out, error ? g_strdup_printf("ERR:%s", error)
                                     : g_strndup(text, len));
}

static void test_splitter(void)
{
    JsonSplitter s;
    const char *in = "{\"a\": \"}{\\\"\"} [1, [2]]\n 42 \"str\" true{\"b\":{}}}";
    const char *expect[] = { "{\"a\": \"}{\\\"\"}", "[1, [2]]", "42", "\"str\"",
                             "true", "{\"b\":{}}", "}" };

    split_out = g_ptr_array_new_with_free_func(g_free);
    json_splitter_init(&s, split_emit, NULL);
    /* byte by byte: results must not depend on how input is chunked */
    for (const char *p = in; *p; p++) {
        json_splitter_feed(&s, p, 1);
    }
    g_assert_cmpuint(split_out->len, ==, ARRAY_SIZE(expect));
    for (guint i = 0; i < split_out->len; i++) {
        g_assert_cmpstr(g_ptr_array_index(split_out, i), ==, expect[i]);
    }
    /* a partial value is dropped by reset (client went away) */
    g_ptr_array_set_size(split_out, 0);
    json_splitter_feed(&s, "{\"execute\": \"qu", 15);
    json_splitter_reset(&s);
    json_splitter_feed(&s, "{}", 2);
    g_assert_cmpuint(split_out->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(split_out, 0), ==, "{}");
    json_splitter_destroy(&s);
    g_ptr_array_free(split_out, TRUE);
}

static void test_splitter_depth_limit(void)
{
    JsonSplitter s;
    GString *deep = g_string_new(NULL);

    split_out = g_ptr_array_new_with_free_func(g_free);
    json_splitter_init(&s, split_emit, NULL);
    for (int i = 0; i <= JSON_SPLITTER_MAX_DEPTH; i++) {
        g_string_append_c(deep, '[');
    }
    g_string_append(deep, "\n{}");
    json_splitter_feed(&s, deep->str, deep->len);
    g_assert_cmpuint(split_out->len, ==, 2);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(split_out, 0), "ERR:"));
    g_assert_cmpstr(g_ptr_array_index(split_out, 1), ==, "{}");
    json_splitter_destroy(&s);
    g_ptr_array_free(split_out, TRUE);
    g_string_free(deep, TRUE);
}

static void test_qjson(void)
{
    JsonObject *o = parse_obj("{\"s\": \"a\\n\\u0001\\\\\", \"i\": -5, \"d\": 2.0,"
                              " \"b\": false, \"n\": null, \"a\": [], \"o\": {}}");
    g_autofree char *s = qjson_object_to_string(o);

    g_assert_cmpstr(s, ==, "{\"s\": \"a\\n\\u0001\\\\\", \"i\": -5, \"d\": 2.0, "
                    "\"b\": false, \"n\": null, \"a\": [], \"o\": {}}");
    json_object_unref(o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/dispatch/success", test_success);
    g_test_add_func("/qapi/dispatch/arg-errors", test_arg_errors);
    g_test_add_func("/qapi/dispatch/request-errors", test_request_errors);
    g_test_add_func("/qapi/splitter/basic", test_splitter);
    g_test_add_func("/qapi/splitter/depth-limit", test_splitter_depth_limit);
    g_test_add_func("/qapi/qjson/output", test_qjson);
    return g_test_run();
}
