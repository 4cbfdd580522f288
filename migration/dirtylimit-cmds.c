/*
 * dirty-limit's monitor commands (set-vcpu-dirty-limit,
 * cancel-vcpu-dirty-limit, query-vcpu-dirty-limit and their HMP forms)
 * and its part in a migration: the throttle trigger's dirty-limit branch,
 * the query-migrate figures, the cancellation at the end.  The limiter
 * itself is system/dirtylimit.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qapi-commands.h"
#include "hw/core/cpu.h"
#include "monitor/monitor.h"
#include "monitor/hmp.h"
#include "sysemu/dirtylimit.h"
#include "migration/migration.h"
#include "migration/options.h"
#include "migration/dirtyrate.h"
#include "migration/trace.h"

/* A migration with the dirty-limit capability is running. */
static bool dirty_limit_migrating(void)
{
    return migrate_dirty_limit() &&
           migration_is_running(qatomic_read(&migrate_get_current()->state));
}

static bool check_cpu_index(JsonObject *args, int64_t *idx, Error **errp)
{
    *idx = -1;
    if (qapi_arg_has(args, "cpu-index")) {
        *idx = qapi_arg_int(args, "cpu-index", -1);
        if (!dirtylimit_vcpu_index_valid(*idx)) {
            error_setg(errp, "incorrect cpu index specified");
            return false;
        }
    }
    return true;
}

JsonNode *qmp_set_vcpu_dirty_limit(JsonObject *args, Error **errp)
{
    uint64_t rate = qapi_arg_uint(args, "dirty-rate", 0);
    int64_t idx;

    if (!check_cpu_index(args, &idx, errp)) {
        return NULL;
    }
    if (dirty_limit_migrating()) {
        error_setg(errp, "can't set dirty page rate limit while migration "
                   "is running");
        return NULL;
    }
    /* as QEMU: a rate of 0 cancels */
    dirtylimit_set(idx, rate);
    return NULL;
}

JsonNode *qmp_cancel_vcpu_dirty_limit(JsonObject *args, Error **errp)
{
    int64_t idx;

    if (!check_cpu_index(args, &idx, errp)) {
        return NULL;
    }
    if (dirty_limit_migrating()) {
        error_setg(errp, "can't cancel dirty page rate limit while "
                   "migration is running");
        return NULL;
    }
    dirtylimit_cancel(idx);
    return NULL;
}

static JsonArray *limits_to_json(void)
{
    JsonArray *arr = json_array_new();
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        uint64_t limit = dirtylimit_get(cpu->cpu_index);
        JsonObject *o;

        if (!limit) {
            continue;
        }
        o = json_object_new();
        json_object_set_int_member(o, "cpu-index", cpu->cpu_index);
        json_object_set_int_member(o, "limit-rate", limit);
        json_object_set_int_member(o, "current-rate",
                                   dirtylimit_current_rate(cpu->cpu_index));
        json_array_add_object_element(arr, o);
    }
    return arr;
}

JsonNode *qmp_query_vcpu_dirty_limit(JsonObject *args, Error **errp)
{
    return qapi_node_array(limits_to_json());
}

void hmp_set_vcpu_dirty_limit(Monitor *mon, JsonObject *args)
{
    g_autoptr(JsonObject) q = json_object_new();
    Error *err = NULL;

    json_object_set_int_member(q, "dirty-rate",
                               qapi_arg_int(args, "dirty_rate", 0));
    if (qapi_arg_has(args, "cpu_index")) {
        json_object_set_int_member(q, "cpu-index",
                                   qapi_arg_int(args, "cpu_index", -1));
    }
    qmp_set_vcpu_dirty_limit(q, &err);
    if (err) {
        hmp_handle_error(mon, err);
        return;
    }
    monitor_printf(mon, "[Please use 'info vcpu_dirty_limit' to query "
                   "dirty limit for virtual CPU]\n");
}

void hmp_cancel_vcpu_dirty_limit(Monitor *mon, JsonObject *args)
{
    g_autoptr(JsonObject) q = json_object_new();
    Error *err = NULL;

    if (qapi_arg_has(args, "cpu_index")) {
        json_object_set_int_member(q, "cpu-index",
                                   qapi_arg_int(args, "cpu_index", -1));
    }
    qmp_cancel_vcpu_dirty_limit(q, &err);
    if (err) {
        hmp_handle_error(mon, err);
        return;
    }
    monitor_printf(mon, "[Please use 'info vcpu_dirty_limit' to query "
                   "dirty limit for virtual CPU]\n");
}

void hmp_info_vcpu_dirty_limit(Monitor *mon, JsonObject *args)
{
    JsonArray *arr = limits_to_json();
    guint n = json_array_get_length(arr);

    if (!n) {
        monitor_printf(mon, "Dirty page limit not enabled!\n");
    }
    for (guint i = 0; i < n; i++) {
        JsonObject *o = json_array_get_object_element(arr, i);

        monitor_printf(mon, "vcpu[%" PRIi64 "], limit rate %" PRIi64
                       " (MB/s), current rate %" PRIi64 " (MB/s)\n",
                       json_object_get_int_member(o, "cpu-index"),
                       json_object_get_int_member(o, "limit-rate"),
                       json_object_get_int_member(o, "current-rate"));
    }
    json_array_unref(arr);
}

/* ------------------------------------------------------------ migration */

void migration_dirty_limit_guest(void)
{
    dirtylimit_migration_step(migrate_vcpu_dirty_limit(),
                              migrate_vcpu_dirty_limit_period());
}

void migration_dirty_limit_end(void)
{
    dirtylimit_migration_end();
}

void migration_dirty_limit_fill_info(JsonObject *info)
{
    if (!migrate_dirty_limit() || !dirtylimit_in_migration()) {
        return;
    }
    json_object_set_int_member(info, "dirty-limit-throttle-time-per-round",
                               dirtylimit_throttle_time_per_round_us());
    json_object_set_int_member(info, "dirty-limit-ring-full-time",
                               dirtylimit_ring_full_time_us());
}
