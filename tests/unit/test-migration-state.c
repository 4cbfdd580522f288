/*
 * The migration state machine: the transition table and the
 * compare-and-swap semantics of migrate_set_state().  (The MIGRATION
 * event text is checked end to end by tests/qtest/migration-test.c: the
 * monitor's qapi_event_emit cannot be replaced in a unit test.)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "migration/migration.h"
#include <json-glib/json-glib.h>

#define S(x) MIGRATION_STATUS_##x

/* The edges the source and the destination use (facts 6.2, 7.2). */
static const MigrationStatus edges[][2] = {
    { S(NONE), S(SETUP) },
    { S(NONE), S(ACTIVE) },
    { S(NONE), S(FAILED) },
    { S(SETUP), S(ACTIVE) },
    { S(SETUP), S(FAILED) },
    { S(SETUP), S(CANCELLING) },
    { S(SETUP), S(WAIT_UNPLUG) },
    { S(WAIT_UNPLUG), S(ACTIVE) },
    { S(WAIT_UNPLUG), S(FAILED) },
    { S(WAIT_UNPLUG), S(CANCELLING) },
    { S(ACTIVE), S(COMPLETED) },
    { S(ACTIVE), S(FAILED) },
    { S(ACTIVE), S(CANCELLING) },
    { S(ACTIVE), S(PRE_SWITCHOVER) },
    { S(ACTIVE), S(DEVICE) },
    { S(ACTIVE), S(POSTCOPY_ACTIVE) },
    { S(ACTIVE), S(COLO) },
    { S(PRE_SWITCHOVER), S(DEVICE) },
    { S(PRE_SWITCHOVER), S(FAILED) },
    { S(PRE_SWITCHOVER), S(CANCELLING) },
    { S(PRE_SWITCHOVER), S(POSTCOPY_ACTIVE) },
    { S(DEVICE), S(COMPLETED) },
    { S(DEVICE), S(FAILED) },
    { S(DEVICE), S(CANCELLING) },
    { S(DEVICE), S(POSTCOPY_ACTIVE) },
    { S(DEVICE), S(COLO) },
    { S(POSTCOPY_ACTIVE), S(COMPLETED) },
    { S(POSTCOPY_ACTIVE), S(FAILED) },
    { S(POSTCOPY_ACTIVE), S(POSTCOPY_PAUSED) },
    { S(POSTCOPY_ACTIVE), S(CANCELLING) },
    { S(POSTCOPY_PAUSED), S(POSTCOPY_RECOVER) },
    { S(POSTCOPY_PAUSED), S(FAILED) },
    { S(POSTCOPY_PAUSED), S(CANCELLING) },
    { S(POSTCOPY_RECOVER), S(POSTCOPY_ACTIVE) },
    { S(POSTCOPY_RECOVER), S(POSTCOPY_PAUSED) },
    { S(POSTCOPY_RECOVER), S(FAILED) },
    { S(COLO), S(COMPLETED) },
    { S(COLO), S(FAILED) },
    { S(CANCELLING), S(CANCELLED) },
    { S(COMPLETED), S(SETUP) },
    { S(FAILED), S(SETUP) },
    { S(CANCELLED), S(SETUP) },
};

static bool in_edges(MigrationStatus a, MigrationStatus b)
{
    for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
        if (edges[i][0] == a && edges[i][1] == b) {
            return true;
        }
    }
    return false;
}

/* The table holds exactly the listed edges: all accepted, all others not. */
static void test_table_exact(void)
{
    for (int a = 0; a < MIGRATION_STATUS__MAX; a++) {
        for (int b = 0; b < MIGRATION_STATUS__MAX; b++) {
            if (migration_transition_allowed(a, b) != in_edges(a, b)) {
                g_test_message("%s -> %s", MigrationStatus_str(a),
                               MigrationStatus_str(b));
            }
            g_assert_cmpint(migration_transition_allowed(a, b), ==,
                            in_edges(a, b));
        }
    }
}

static void test_table_samples_forbidden(void)
{
    g_assert_false(migration_transition_allowed(S(COMPLETED), S(ACTIVE)));
    g_assert_false(migration_transition_allowed(S(CANCELLED), S(ACTIVE)));
    g_assert_false(migration_transition_allowed(S(FAILED), S(COMPLETED)));
    g_assert_false(migration_transition_allowed(S(CANCELLING), S(ACTIVE)));
    g_assert_false(migration_transition_allowed(S(CANCELLING), S(COMPLETED)));
    g_assert_false(migration_transition_allowed(S(NONE), S(COMPLETED)));
    g_assert_false(migration_transition_allowed(S(SETUP), S(COMPLETED)));
    g_assert_false(migration_transition_allowed(S(ACTIVE), S(SETUP)));
    g_assert_false(migration_transition_allowed(S(ACTIVE), S(ACTIVE)));
    g_assert_false(migration_transition_allowed(S(POSTCOPY_ACTIVE), S(ACTIVE)));
    g_assert_false(migration_transition_allowed(MIGRATION_STATUS__MAX, S(SETUP)));
    g_assert_false(migration_transition_allowed(S(SETUP), MIGRATION_STATUS__MAX));
}

/* Every allowed edge goes through migrate_set_state from the right state. */
static void test_set_state_edges(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
        MigrationStatus st = edges[i][0];

        g_assert_true(migrate_set_state(&st, edges[i][0], edges[i][1]));
        g_assert_cmpint(st, ==, edges[i][1]);
    }
}

/* CAS: nothing happens when the state is not the expected old one. */
static void test_set_state_cas(void)
{
    MigrationStatus st = S(ACTIVE);

    g_assert_false(migrate_set_state(&st, S(SETUP), S(ACTIVE)));
    g_assert_cmpint(st, ==, S(ACTIVE));
    g_assert_false(migrate_set_state(&st, S(CANCELLING), S(CANCELLED)));
    g_assert_cmpint(st, ==, S(ACTIVE));
    g_assert_true(migrate_set_state(&st, S(ACTIVE), S(CANCELLING)));
    /* a racing failure loses against the cancel */
    g_assert_false(migrate_set_state(&st, S(ACTIVE), S(FAILED)));
    g_assert_cmpint(st, ==, S(CANCELLING));
}

/* A forbidden edge is a programming error: it aborts. */
static void test_set_state_forbidden_asserts(void)
{
    if (g_test_subprocess()) {
        MigrationStatus st = S(COMPLETED);

        migrate_set_state(&st, S(COMPLETED), S(ACTIVE));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
}

/* With events on, state changes and passes still follow the CAS rules. */
static void test_events(void)
{
    MigrationState *s = migrate_get_current();
    MigrationStatus st = S(NONE);
    Error *err = NULL;

    g_assert_true(migrate_set_state(&st, S(NONE), S(SETUP)));
    g_assert_true(migrate_cap_set(&s->opts, MIGRATION_CAPABILITY_EVENTS, true,
                                  false, &err));
    g_assert_null(err);
    g_assert_true(migrate_events());
    g_assert_true(migrate_set_state(&st, S(SETUP), S(ACTIVE)));
    g_assert_false(migrate_set_state(&st, S(SETUP), S(ACTIVE)));
    migration_pass_event(1);
    g_assert_cmpint(st, ==, S(ACTIVE));
    migration_object_init();
    g_assert_false(migrate_events());
}

static void test_names(void)
{
    static const char *const names[] = {
        "none", "setup", "cancelling", "cancelled", "active",
        "postcopy-active", "postcopy-paused", "postcopy-recover",
        "completed", "failed", "colo", "pre-switchover", "device",
        "wait-unplug",
    };
    MigrationStatus st;

    g_assert_cmpint(ARRAY_SIZE(names), ==, MIGRATION_STATUS__MAX);
    for (int i = 0; i < MIGRATION_STATUS__MAX; i++) {
        g_assert_cmpstr(MigrationStatus_str(i), ==, names[i]);
        g_assert_true(MigrationStatus_parse(names[i], &st));
        g_assert_cmpint(st, ==, i);
    }
    g_assert_false(MigrationStatus_parse("postcopy-device", &st));
}

static void test_running(void)
{
    g_assert_false(migration_is_running(S(NONE)));
    g_assert_false(migration_is_running(S(COMPLETED)));
    g_assert_false(migration_is_running(S(FAILED)));
    g_assert_false(migration_is_running(S(CANCELLED)));
    g_assert_true(migration_is_running(S(SETUP)));
    g_assert_true(migration_is_running(S(ACTIVE)));
    g_assert_true(migration_is_running(S(CANCELLING)));
    g_assert_true(migration_is_running(S(PRE_SWITCHOVER)));
    g_assert_true(migration_is_running(S(DEVICE)));
}

/* query-migrate with no migration ever: {} */
static void test_query_empty(void)
{
    JsonObject *info;

    migration_object_init();
    info = migration_query_info();
    g_assert_cmpuint(json_object_get_size(info), ==, 0);
    json_object_unref(info);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    migration_object_init();
    g_test_add_func("/migration/state/names", test_names);
    g_test_add_func("/migration/state/table-exact", test_table_exact);
    g_test_add_func("/migration/state/table-forbidden",
                    test_table_samples_forbidden);
    g_test_add_func("/migration/state/set-state-edges", test_set_state_edges);
    g_test_add_func("/migration/state/set-state-cas", test_set_state_cas);
    g_test_add_func("/migration/state/set-state-forbidden",
                    test_set_state_forbidden_asserts);
    g_test_add_func("/migration/state/events", test_events);
    g_test_add_func("/migration/state/running", test_running);
    g_test_add_func("/migration/state/query-empty", test_query_empty);
    return g_test_run();
}
