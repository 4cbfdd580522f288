/*
 * Migration capabilities and parameters: names, defaults, ranges and
 * QEMU 7.2's error texts, conflicts, the refusal of features not built,
 * HMP value parsing and -global migration.PROP=VALUE.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/migration.h"
#include "migration/options.h"

#include <json-glib/json-glib.h>

static MigrationOptions o;

static void reset(void)
{
    migration_options_finalize(&o);
    migration_options_init(&o);
}

static JsonObject *obj(const char *js)
{
    g_autoptr(JsonParser) p = json_parser_new();

    g_assert_true(json_parser_load_from_data(p, js, -1, NULL));
    return json_object_ref(json_node_get_object(json_parser_get_root(p)));
}

static void expect_params_error(const char *js, const char *msg)
{
    JsonObject *args = obj(js);
    Error *err = NULL;

    g_assert_false(migrate_params_apply(&o, args, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
    json_object_unref(args);
}

static void test_cap_names(void)
{
    static const char *const names[] = {
        "xbzrle", "rdma-pin-all", "auto-converge", "zero-blocks", "compress",
        "events", "postcopy-ram", "x-colo", "release-ram", "block",
        "return-path", "pause-before-switchover", "multifd", "dirty-bitmaps",
        "postcopy-blocktime", "late-block-activate", "x-ignore-shared",
        "validate-uuid", "background-snapshot", "zero-copy-send",
        "postcopy-preempt", "dirty-limit", "x-auto-postcopy",
    };
    JsonArray *arr;

    reset();
    g_assert_cmpint(ARRAY_SIZE(names), ==, MIGRATION_CAPABILITY__MAX);
    arr = migrate_caps_to_json(&o);
    g_assert_cmpuint(json_array_get_length(arr), ==, ARRAY_SIZE(names));
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        JsonObject *e = json_array_get_object_element(arr, i);
        MigrationCapability c;

        g_assert_cmpstr(json_object_get_string_member(e, "capability"), ==,
                        names[i]);
        g_assert_false(json_object_get_boolean_member(e, "state"));
        g_assert_true(MigrationCapability_parse(names[i], &c));
        g_assert_cmpint(c, ==, i);
    }
    json_array_unref(arr);
}

static void test_param_defaults(void)
{
    JsonObject *p;
    int n = 0;

    reset();
    p = migrate_params_to_json(&o);
    for (const char *const *name = migration_parameter_names; *name; name++) {
        g_assert_true(json_object_has_member(p, *name));
        n++;
    }
    g_assert_cmpint(n, ==, 29);         /* 7.2's 26 + 8.1's 2 + zero-page-detection */
    g_assert_cmpuint(json_object_get_size(p), ==, n);
    g_assert_cmpint(json_object_get_int_member(p, "max-bandwidth"), ==,
                    134217728);
    g_assert_cmpint(json_object_get_int_member(p, "downtime-limit"), ==, 300);
    g_assert_cmpint(json_object_get_int_member(p, "xbzrle-cache-size"), ==,
                    64 * MiB);
    g_assert_cmpint(json_object_get_int_member(p, "cpu-throttle-initial"), ==,
                    20);
    g_assert_cmpint(json_object_get_int_member(p, "multifd-channels"), ==, 2);
    g_assert_cmpstr(json_object_get_string_member(p, "tls-creds"), ==, "");
    g_assert_cmpstr(json_object_get_string_member(p, "multifd-compression"),
                    ==, "none");
    g_assert_true(json_object_get_boolean_member(p, "compress-wait-thread"));
    /* 7.2's wire: what QEMU 9.0+ uses for machine types <= 8.2 */
    g_assert_cmpstr(json_object_get_string_member(p, "zero-page-detection"),
                    ==, "legacy");
    json_object_unref(p);
}

static void test_param_ranges(void)
{
    reset();
    expect_params_error("{\"downtime-limit\": 2000001}",
                        "Parameter 'downtime_limit' expects an integer in "
                        "the range of 0 to (2000 * 1000) ms");
    expect_params_error("{\"compress-level\": 10}",
                        "Parameter 'compress_level' expects a value between "
                        "0 and 9");
    expect_params_error("{\"compress-threads\": 0}",
                        "Parameter 'compress_threads' expects a value "
                        "between 1 and 255");
    expect_params_error("{\"throttle-trigger-threshold\": 101}",
                        "Parameter 'throttle_trigger_threshold' expects an "
                        "integer in the range of 1 to 100");
    expect_params_error("{\"cpu-throttle-increment\": 100}",
                        "Parameter 'cpu_throttle_increment' expects an "
                        "integer in the range of 1 to 99");
    expect_params_error("{\"x-vcpu-dirty-limit-period\": 0}",
                        "Parameter 'x_vcpu_dirty_limit_period' expects a "
                        "value between 1 and 1000");
    expect_params_error("{\"x-vcpu-dirty-limit-period\": 1001}",
                        "Parameter 'x_vcpu_dirty_limit_period' expects a "
                        "value between 1 and 1000");
    expect_params_error("{\"vcpu-dirty-limit\": 0}",
                        "Parameter 'vcpu_dirty_limit' expects is invalid, "
                        "it must greater then 1 MB/s");
    expect_params_error("{\"multifd-zstd-level\": 21}",
                        "Parameter 'multifd_zstd_level' expects a value "
                        "between 0 and 20");
    expect_params_error("{\"xbzrle-cache-size\": 12345}",
                        "Parameter 'xbzrle_cache_size' expects a power of "
                        "two no less than the target page size");
    expect_params_error("{\"cpu-throttle-initial\": 50, "
                        "\"max-cpu-throttle\": 40}",
                        "Parameter 'max_cpu_throttle' expects an integer in "
                        "the range of cpu_throttle_initial to 99");
    expect_params_error("{\"announce-step\": 0}",
                        "Parameter 'announce_step' expects a value between "
                        "0 and 10000");
    expect_params_error("{\"tls-creds\": 5}",
                        "Invalid parameter type for 'tls-creds', expected: "
                        "string");
    /* all or nothing: nothing of a failed request was applied */
    expect_params_error("{\"max-bandwidth\": 1000, \"downtime-limit\": "
                        "9999999}",
                        "Parameter 'downtime_limit' expects an integer in "
                        "the range of 0 to (2000 * 1000) ms");
    g_assert_cmpuint(o.params.max_bandwidth, ==, 128 * MiB);
}

static void test_param_set(void)
{
    JsonObject *args;
    Error *err = NULL;

    reset();
    args = obj("{\"max-bandwidth\": 1000000000, \"downtime-limit\": 2000000,"
               " \"tls-creds\": \"tls0\", \"tls-hostname\": null,"
               " \"multifd-compression\": \"zstd\"}");
    g_assert_true(migrate_params_apply(&o, args, &err));
    g_assert_null(err);
    json_object_unref(args);
    g_assert_cmpuint(o.params.max_bandwidth, ==, 1000000000);
    g_assert_cmpuint(o.params.downtime_limit, ==, 2000000);
    g_assert_cmpstr(o.params.tls_creds, ==, "tls0");
    g_assert_cmpstr(o.params.tls_hostname, ==, "");
    g_assert_cmpint(o.params.multifd_compression, ==,
                    MULTIFD_COMPRESSION_ZSTD);
#ifdef CONFIG_GNUTLS
    /* TLS is built: tls-creds is checked when a migration starts */
    g_assert_true(migrate_params_check_built(&o, &err));
    g_assert_null(err);
#else
    /* stored, but a migration needing TLS is refused in this build */
    g_assert_false(migrate_params_check_built(&o, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "tls-creds"));
    error_free(err);
#endif
}

static void test_param_hmp(void)
{
    Error *err = NULL;

    reset();
    /* HMP: max-bandwidth defaults to MiB, sizes take suffixes */
    g_assert_true(migrate_param_set_str(&o, "max-bandwidth", "32", &err));
    g_assert_cmpuint(o.params.max_bandwidth, ==, 32 * MiB);
    g_assert_true(migrate_param_set_str(&o, "max-bandwidth", "1G", &err));
    g_assert_cmpuint(o.params.max_bandwidth, ==, 1 * GiB);
    g_assert_true(migrate_param_set_str(&o, "xbzrle-cache-size", "32M",
                                        &err));
    g_assert_cmpuint(o.params.xbzrle_cache_size, ==, 32 * MiB);
    g_assert_true(migrate_param_set_str(&o, "downtime-limit", "500", &err));
    g_assert_cmpuint(o.params.downtime_limit, ==, 500);
    g_assert_true(migrate_param_set_str(&o, "cpu-throttle-tailslow", "on",
                                        &err));
    g_assert_true(o.params.cpu_throttle_tailslow);
    g_assert_null(err);
    g_assert_false(migrate_param_set_str(&o, "no-such", "1", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'no-such'");
    error_free(err);
    err = NULL;
    g_assert_false(migrate_param_set_str(&o, "compress-level", "300", &err));
    g_assert_nonnull(err);
    error_free(err);
}

static void test_caps_built(void)
{
    Error *err = NULL;

    reset();
    g_assert_true(migrate_cap_set(&o, MIGRATION_CAPABILITY_EVENTS, true,
                                  false, &err));
    g_assert_true(migrate_cap_set(&o, MIGRATION_CAPABILITY_RETURN_PATH, true,
                                  false, &err));
    g_assert_true(migrate_cap_set(&o,
                                  MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER,
                                  true, false, &err));
    g_assert_true(migrate_cap_set(&o, MIGRATION_CAPABILITY_VALIDATE_UUID, true,
                                  false, &err));
    g_assert_null(err);
    /* turning off is always fine, even of a not-built capability */
    g_assert_true(migrate_cap_set(&o, MIGRATION_CAPABILITY_XBZRLE, false,
                                  false, &err));
    for (int i = 0; i < MIGRATION_CAPABILITY__MAX; i++) {
        g_autofree char *msg = NULL;

        if (migrate_cap_is_built(i)) {
            continue;
        }
        g_assert_false(migrate_cap_set(&o, i, true, false, &err));
        msg = g_strdup_printf("Capability '%s' is not supported by this "
                              "build of Godwit yet",
                              MigrationCapability_str(i));
        if (i == MIGRATION_CAPABILITY_BLOCK ||
            i == MIGRATION_CAPABILITY_POSTCOPY_PREEMPT ||
            i == MIGRATION_CAPABILITY_ZERO_COPY_SEND ||
            i == MIGRATION_CAPABILITY_BACKGROUND_SNAPSHOT) {
            /* a conflict is reported first */
            g_assert_cmpstr(error_get_pretty(err), !=, msg);
        } else {
            g_assert_cmpstr(error_get_pretty(err), ==, msg);
        }
        error_free(err);
        err = NULL;
        g_assert_false(o.caps[i]);
    }
}

static void test_caps_running_and_conflicts(void)
{
    JsonObject *args;
    Error *err = NULL;

    reset();
    g_assert_false(migrate_cap_set(&o, MIGRATION_CAPABILITY_EVENTS, true,
                                   true, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "There's a migration process in progress");
    error_free(err);
    err = NULL;

    args = obj("{\"capabilities\": [{\"capability\": \"postcopy-ram\", "
               "\"state\": true}, {\"capability\": \"x-ignore-shared\", "
               "\"state\": true}, {\"capability\": \"events\", "
               "\"state\": true}]}");
    g_assert_false(migrate_caps_apply(
        &o, json_object_get_array_member(args, "capabilities"), false, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Postcopy is not compatible with ignore-shared");
    error_free(err);
    err = NULL;
    g_assert_false(o.caps[MIGRATION_CAPABILITY_EVENTS]);   /* all or none */
    json_object_unref(args);

    args = obj("{\"capabilities\": [{\"capability\": \"multifd\", "
               "\"state\": true}, {\"capability\": \"compress\", "
               "\"state\": true}]}");
    g_assert_false(migrate_caps_apply(
        &o, json_object_get_array_member(args, "capabilities"), false, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Multifd is not compatible with compress");
    error_free(err);
    err = NULL;
    json_object_unref(args);

    /* QEMU 8.1's text, before auto-converge's "not built" */
    args = obj("{\"capabilities\": [{\"capability\": \"dirty-limit\", "
               "\"state\": true}, {\"capability\": \"auto-converge\", "
               "\"state\": true}]}");
    g_assert_false(migrate_caps_apply(
        &o, json_object_get_array_member(args, "capabilities"), false, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "dirty-limit conflicts with auto-converge either of then "
                    "available currently");
    error_free(err);
    json_object_unref(args);
}

static void test_global_props(void)
{
    Error *err = NULL;

    reset();
    g_assert_true(migrate_global_prop_set(&o, "store-global-state", "off",
                                          &err));
    g_assert_false(o.globals.store_global_state);
    g_assert_true(migrate_global_prop_set(&o, "send-section-footer", "false",
                                          &err));
    g_assert_false(o.globals.send_section_footer);
    g_assert_true(migrate_global_prop_set(&o, "x-clear-bitmap-shift", "20",
                                          &err));
    g_assert_cmpuint(o.globals.clear_bitmap_shift, ==, 20);
    g_assert_true(migrate_global_prop_set(&o, "x-max-bandwidth", "1000",
                                          &err));
    g_assert_cmpuint(o.params.max_bandwidth, ==, 1000);
    g_assert_true(migrate_global_prop_set(&o, "announce-step", "200", &err));
    g_assert_cmpuint(o.params.announce_step, ==, 200);
    g_assert_true(migrate_global_prop_set(&o, "x-events", "on", &err));
    g_assert_true(o.caps[MIGRATION_CAPABILITY_EVENTS]);
    g_assert_null(err);

    g_assert_false(migrate_global_prop_set(&o, "no-such-prop", "1", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "migration.no-such-prop"));
    error_free(err);
    err = NULL;
    g_assert_false(migrate_global_prop_set(&o, "send-configuration", "maybe",
                                           &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    /* zero-blocks belongs to block migration, which is never built */
    g_assert_false(migrate_global_prop_set(&o, "x-zero-blocks", "on", &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "zero-blocks"));
    error_free(err);
    err = NULL;
    g_assert_true(migrate_global_prop_set(&o, "x-xbzrle", "on", &err));
    g_assert_null(err);
    g_assert_true(o.caps[MIGRATION_CAPABILITY_XBZRLE]);
}

static void test_hmp_text(void)
{
    g_autofree char *g = NULL;
    g_autofree char *p = NULL;
    g_autofree char *c = NULL;

    reset();
    g = migrate_globals_to_hmp(&o);
    g_assert_cmpstr(g, ==, "globals:\nstore-global-state: on\n"
                    "only-migratable: off\nsend-configuration: on\n"
                    "send-section-footer: on\ndecompress-error-check: on\n"
                    "clear-bitmap-shift: 18\n");
    p = migrate_params_to_hmp(&o);
    g_assert_nonnull(strstr(p, "\nmax-bandwidth: 134217728 bytes/second\n"));
    g_assert_nonnull(strstr(p, "\ndowntime-limit: 300 ms\n"));
    g_assert_nonnull(strstr(p, "\ntls-creds: ''\n"));
    c = migrate_caps_to_hmp(&o);
    g_assert_true(g_str_has_prefix(c, "xbzrle: off\nrdma-pin-all: off\n"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    migration_options_init(&o);
    g_test_add_func("/migration/options/cap-names", test_cap_names);
    g_test_add_func("/migration/options/param-defaults", test_param_defaults);
    g_test_add_func("/migration/options/param-ranges", test_param_ranges);
    g_test_add_func("/migration/options/param-set", test_param_set);
    g_test_add_func("/migration/options/param-hmp", test_param_hmp);
    g_test_add_func("/migration/options/caps-built", test_caps_built);
    g_test_add_func("/migration/options/caps-conflicts",
                    test_caps_running_and_conflicts);
    g_test_add_func("/migration/options/global-props", test_global_props);
    g_test_add_func("/migration/options/hmp-text", test_hmp_text);
    return g_test_run();
}
