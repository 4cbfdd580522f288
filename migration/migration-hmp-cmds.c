/*
 * HMP forms of the migration commands (QEMU 7.2's texts).
 *
 * 'migrate' without -d suspends the monitor (monitor_suspend) until the
 * migration ends, as QEMU 7.2 does; with -d, or through QMP
 * human-monitor-command, it returns at once.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qapi-commands.h"
#include "monitor/monitor.h"
#include "monitor/hmp.h"
#include "migration/migration.h"
#include "migration/migration-convergence.h"
#include "migration/options.h"

static void print_socket_address(Monitor *mon, JsonObject *a)
{
    const char *type = json_object_get_string_member_with_default(a, "type",
                                                                  "");

    if (!strcmp(type, "inet")) {
        const char *host = json_object_get_string_member(a, "host");

        if (strchr(host, ':')) {
            monitor_printf(mon, "\ttcp:[%s]:%s\n", host,
                           json_object_get_string_member(a, "port"));
        } else {
            monitor_printf(mon, "\ttcp:%s:%s\n", host,
                           json_object_get_string_member(a, "port"));
        }
    } else if (!strcmp(type, "unix")) {
        monitor_printf(mon, "\tunix:%s\n",
                       json_object_get_string_member(a, "path"));
    } else if (!strcmp(type, "vsock")) {
        monitor_printf(mon, "\tvsock:%s:%s\n",
                       json_object_get_string_member(a, "cid"),
                       json_object_get_string_member(a, "port"));
    } else {
        monitor_printf(mon, "\tfd:%s\n",
                       json_object_get_string_member(a, "str"));
    }
}

/*
 * A list of integers as QEMU's string output visitor prints it: comma
 * separated, a run of consecutive values as "first-last".
 */
static char *hmp_uint_list(JsonArray *arr)
{
    GString *s = g_string_new("");
    guint n = arr ? json_array_get_length(arr) : 0;

    for (guint i = 0; i < n;) {
        uint64_t first = json_array_get_int_element(arr, i), last = first;
        guint j = i + 1;

        while (j < n && (uint64_t)json_array_get_int_element(arr, j) ==
                        last + 1) {
            last++;
            j++;
        }
        g_string_append_printf(s, "%s%" PRIu64, i ? "," : "", first);
        if (last != first) {
            g_string_append_printf(s, "-%" PRIu64, last);
        }
        i = j;
    }
    return g_string_free(s, false);
}

/* "1 us", "2 ms", "16 sec": a power of two of microseconds. */
static char *hmp_time_str(uint64_t us)
{
    static const char *const units[] = { "us", "ms", "sec" };
    int u = 0;

    while (us >= 1000 && u < 2) {
        us /= 1000;
        u++;
    }
    return g_strdup_printf("%" PRIu64 " %s", us, units[u]);
}

/* QEMU 10.2's latency figures (after every line QEMU 7.2 prints). */
static void hmp_dump_latency(Monitor *mon, JsonObject *info)
{
    JsonArray *dist = json_object_get_array_member(info,
                                                   "postcopy-latency-dist");
    g_autofree char *v = hmp_uint_list(
        json_object_get_array_member(info, "postcopy-vcpu-latency"));

    monitor_printf(mon, "postcopy latency: %" PRIu64 " ns\n",
                   (uint64_t)json_object_get_int_member(info,
                                                        "postcopy-latency"));
    monitor_printf(mon, "postcopy non-vcpu latency: %" PRIu64 " ns\n",
                   (uint64_t)json_object_get_int_member(
                       info, "postcopy-non-vcpu-latency"));
    monitor_printf(mon, "postcopy vcpu latency: %s ns\n", v);
    monitor_printf(mon, "Postcopy Latency Distribution:\n");
    for (guint i = 0; dist && i < json_array_get_length(dist); i++) {
        g_autofree char *from = hmp_time_str(1ULL << i);
        g_autofree char *to = hmp_time_str(1ULL << (i + 1));

        monitor_printf(mon, "  [ %8s - %8s ]: %10" PRIu64 "\n", from, to,
                       (uint64_t)json_array_get_int_element(dist, i));
    }
}

static uint64_t ram_u(JsonObject *ram, const char *name)
{
    return (uint64_t)json_object_get_int_member_with_default(ram, name, 0);
}

static double info_double(JsonObject *o, const char *name)
{
    return json_object_get_double_member_with_default(o, name, 0);
}

/* The xbzrle and compression lines of 'info migrate', as 7.2 prints them. */
static void hmp_info_migrate_ram_features(Monitor *mon, JsonObject *info)
{
    if (json_object_has_member(info, "xbzrle-cache")) {
        JsonObject *x = json_object_get_object_member(info, "xbzrle-cache");

        monitor_printf(mon, "cache size: %" PRIu64 " bytes\n",
                       ram_u(x, "cache-size"));
        monitor_printf(mon, "xbzrle transferred: %" PRIu64 " kbytes\n",
                       ram_u(x, "bytes") >> 10);
        monitor_printf(mon, "xbzrle pages: %" PRIu64 " pages\n",
                       ram_u(x, "pages"));
        monitor_printf(mon, "xbzrle cache miss: %" PRIu64 " pages\n",
                       ram_u(x, "cache-miss"));
        monitor_printf(mon, "xbzrle cache miss rate: %0.2f\n",
                       info_double(x, "cache-miss-rate"));
        monitor_printf(mon, "xbzrle encoding rate: %0.2f\n",
                       info_double(x, "encoding-rate"));
        monitor_printf(mon, "xbzrle overflow: %" PRIu64 "\n",
                       ram_u(x, "overflow"));
    }
    if (json_object_has_member(info, "compression")) {
        JsonObject *c = json_object_get_object_member(info, "compression");

        monitor_printf(mon, "compression pages: %" PRIu64 " pages\n",
                       ram_u(c, "pages"));
        monitor_printf(mon, "compression busy: %" PRIu64 "\n",
                       ram_u(c, "busy"));
        monitor_printf(mon, "compression busy rate: %0.2f\n",
                       info_double(c, "busy-rate"));
        monitor_printf(mon, "compressed size: %" PRIu64 " kbytes\n",
                       ram_u(c, "compressed-size") >> 10);
        monitor_printf(mon, "compression rate: %0.2f\n",
                       info_double(c, "compression-rate"));
    }
}

void hmp_info_migrate(Monitor *mon, JsonObject *args)
{
    MigrationState *s = migrate_get_current();
    g_autofree char *globals = migrate_globals_to_hmp(&s->opts);
    JsonObject *info = migration_query_info();

    monitor_printf(mon, "%s", globals);
    if (json_object_has_member(info, "status")) {
        const char *st = json_object_get_string_member(info, "status");

        monitor_printf(mon, "Migration status: %s", st);
        if (!strcmp(st, "failed") &&
            json_object_has_member(info, "error-desc")) {
            monitor_printf(mon, " (%s)\n",
                           json_object_get_string_member(info,
                                                         "error-desc"));
        } else {
            monitor_printf(mon, "\n");
        }
        monitor_printf(mon, "total time: %" PRIu64 " ms\n",
                       (uint64_t)json_object_get_int_member_with_default(
                           info, "total-time", 0));
        if (json_object_has_member(info, "expected-downtime")) {
            monitor_printf(mon, "expected downtime: %" PRIu64 " ms\n",
                           (uint64_t)json_object_get_int_member(
                               info, "expected-downtime"));
        }
        if (json_object_has_member(info, "downtime")) {
            monitor_printf(mon, "downtime: %" PRIu64 " ms\n",
                           (uint64_t)json_object_get_int_member(info,
                                                                "downtime"));
        }
        if (json_object_has_member(info, "setup-time")) {
            monitor_printf(mon, "setup: %" PRIu64 " ms\n",
                           (uint64_t)json_object_get_int_member(
                               info, "setup-time"));
        }
    }
    if (json_object_has_member(info, "ram")) {
        JsonObject *ram = json_object_get_object_member(info, "ram");

        monitor_printf(mon, "transferred ram: %" PRIu64 " kbytes\n",
                       ram_u(ram, "transferred") >> 10);
        monitor_printf(mon, "throughput: %0.2f mbps\n",
                       json_object_get_double_member(ram, "mbps"));
        monitor_printf(mon, "remaining ram: %" PRIu64 " kbytes\n",
                       ram_u(ram, "remaining") >> 10);
        monitor_printf(mon, "total ram: %" PRIu64 " kbytes\n",
                       ram_u(ram, "total") >> 10);
        monitor_printf(mon, "duplicate: %" PRIu64 " pages\n",
                       ram_u(ram, "duplicate"));
        monitor_printf(mon, "skipped: %" PRIu64 " pages\n",
                       ram_u(ram, "skipped"));
        monitor_printf(mon, "normal: %" PRIu64 " pages\n",
                       ram_u(ram, "normal"));
        monitor_printf(mon, "normal bytes: %" PRIu64 " kbytes\n",
                       ram_u(ram, "normal-bytes") >> 10);
        monitor_printf(mon, "dirty sync count: %" PRIu64 "\n",
                       ram_u(ram, "dirty-sync-count"));
        monitor_printf(mon, "page size: %" PRIu64 " kbytes\n",
                       ram_u(ram, "page-size") >> 10);
        monitor_printf(mon, "multifd bytes: %" PRIu64 " kbytes\n",
                       ram_u(ram, "multifd-bytes") >> 10);
        monitor_printf(mon, "pages-per-second: %" PRIu64 "\n",
                       ram_u(ram, "pages-per-second"));
        if (ram_u(ram, "dirty-pages-rate")) {
            monitor_printf(mon, "dirty pages rate: %" PRIu64 " pages\n",
                           ram_u(ram, "dirty-pages-rate"));
        }
        if (ram_u(ram, "postcopy-requests")) {
            monitor_printf(mon, "postcopy request count: %" PRIu64 "\n",
                           ram_u(ram, "postcopy-requests"));
        }
        if (ram_u(ram, "precopy-bytes")) {
            monitor_printf(mon, "precopy ram: %" PRIu64 " kbytes\n",
                           ram_u(ram, "precopy-bytes") >> 10);
        }
        if (ram_u(ram, "downtime-bytes")) {
            monitor_printf(mon, "downtime ram: %" PRIu64 " kbytes\n",
                           ram_u(ram, "downtime-bytes") >> 10);
        }
        if (ram_u(ram, "postcopy-bytes")) {
            monitor_printf(mon, "postcopy ram: %" PRIu64 " kbytes\n",
                           ram_u(ram, "postcopy-bytes") >> 10);
        }
        if (ram_u(ram, "dirty-sync-missed-zero-copy")) {
            monitor_printf(mon, "Zero-copy-send fallbacks happened: %" PRIu64
                           " times\n",
                           ram_u(ram, "dirty-sync-missed-zero-copy"));
        }
    }
    hmp_info_migrate_ram_features(mon, info);
    if (json_object_has_member(info, "cpu-throttle-percentage")) {
        monitor_printf(mon, "cpu throttle percentage: %" PRIu64 "\n",
                       (uint64_t)json_object_get_int_member(
                           info, "cpu-throttle-percentage"));
    }
    /* QEMU 8.1's lines, after the throttle */
    if (json_object_has_member(info, "dirty-limit-throttle-time-per-round")) {
        monitor_printf(mon, "dirty-limit throttle time: %" PRIu64 " us\n",
                       (uint64_t)json_object_get_int_member(
                           info, "dirty-limit-throttle-time-per-round"));
        monitor_printf(mon, "dirty-limit ring full time: %" PRIu64 " us\n",
                       (uint64_t)json_object_get_int_member(
                           info, "dirty-limit-ring-full-time"));
    }
    if (json_object_has_member(info, "postcopy-blocktime")) {
        g_autofree char *v = hmp_uint_list(
            json_object_get_array_member(info, "postcopy-vcpu-blocktime"));

        monitor_printf(mon, "postcopy blocktime: %u\n",
                       (unsigned)json_object_get_int_member(
                           info, "postcopy-blocktime"));
        monitor_printf(mon, "postcopy vcpu blocktime: %s\n", v);
    }
    if (json_object_has_member(info, "socket-address")) {
        JsonArray *arr = json_object_get_array_member(info, "socket-address");

        monitor_printf(mon, "socket address: [\n");
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            print_socket_address(mon, json_array_get_object_element(arr, i));
        }
        monitor_printf(mon, "]\n");
    }
    /* Godwit's x- figures, after every line QEMU 7.2 prints */
    if (json_object_has_member(info, "x-progress")) {
        monitor_printf(mon, "x-progress: %0.1f %%\n",
                       json_object_get_double_member(info, "x-progress"));
    }
    if (json_object_has_member(info, "x-eta-ms")) {
        monitor_printf(mon, "x-eta: %" PRIu64 " ms\n",
                       (uint64_t)json_object_get_int_member(info, "x-eta-ms"));
    }
    if (json_object_has_member(info, "x-eta-basis")) {
        monitor_printf(mon, "x-eta-basis: %s\n",
                       json_object_get_string_member(info, "x-eta-basis"));
    }
    {
        g_autoptr(GString) conv = g_string_new(NULL);

        migration_convergence_hmp(info, conv);
        monitor_printf(mon, "%s", conv->str);
    }
    if (json_object_has_member(info, "postcopy-latency")) {
        hmp_dump_latency(mon, info);
    }
    json_object_unref(info);
}

void hmp_info_migrate_capabilities(Monitor *mon, JsonObject *args)
{
    g_autofree char *t = migrate_caps_to_hmp(&migrate_get_current()->opts);

    monitor_printf(mon, "%s", t);
}

void hmp_info_migrate_parameters(Monitor *mon, JsonObject *args)
{
    g_autofree char *t = migrate_params_to_hmp(&migrate_get_current()->opts);

    monitor_printf(mon, "%s", t);
}

/* How often a synchronous 'migrate' looks at the migration status. */
#define HMP_MIGRATE_POLL_MS 50

typedef struct HMPMigrationStatus {
    Monitor *mon;
} HMPMigrationStatus;

/*
 * Keep the monitor suspended while the migration is under way: setup,
 * active, device (the stop-and-copy) and cancelling.  Anything else ends
 * the wait: completed, failed, cancelled, and pre-switchover (with
 * pause-before-switchover, so that migrate_continue can be typed; QEMU 7.2
 * also waits only while the status is setup or active).
 */
static gboolean hmp_migrate_status_cb(gpointer opaque)
{
    HMPMigrationStatus *status = opaque;
    MigrationState *s = migrate_get_current();
    JsonObject *info;

    switch (qatomic_read(&s->state)) {
    case MIGRATION_STATUS_SETUP:
    case MIGRATION_STATUS_ACTIVE:
    case MIGRATION_STATUS_DEVICE:
    case MIGRATION_STATUS_CANCELLING:
        return G_SOURCE_CONTINUE;
    default:
        break;
    }
    /*
     * QEMU 7.2 passes error-desc to error_report(), which outside a
     * command reaches stderr; Godwit prints it on the monitor that waited,
     * as hmp_handle_error() prints a migrate error found at once.
     */
    info = migration_query_info();
    if (json_object_has_member(info, "error-desc")) {
        monitor_printf(status->mon, "Error: %s\n",
                       json_object_get_string_member(info, "error-desc"));
    }
    json_object_unref(info);
    monitor_resume(status->mon);
    g_free(status);
    return G_SOURCE_REMOVE;
}

void hmp_migrate(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;
    HMPMigrationStatus *status;

    qmp_migrate(args, &err);
    if (err) {
        hmp_handle_error(mon, err);
        return;
    }
    if (qapi_arg_bool(args, "detach", false)) {
        return;
    }
    if (monitor_suspend(mon) < 0) {
        /* QEMU 7.2's text, e.g. through human-monitor-command */
        monitor_printf(mon, "terminal does not allow synchronous "
                       "migration, continuing detached\n");
        return;
    }
    status = g_new0(HMPMigrationStatus, 1);
    status->mon = mon;
    g_timeout_add(HMP_MIGRATE_POLL_MS, hmp_migrate_status_cb, status);
}

void hmp_migrate_incoming(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    qmp_migrate_incoming(args, &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_cancel(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    qmp_migrate_cancel(args, &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_continue(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;
    MigrationStatus st;

    if (!MigrationStatus_parse(qapi_arg_str(args, "state"), &st)) {
        error_setg(&err, "Invalid parameter '%s'",
                   qapi_arg_str(args, "state"));
    } else {
        qmp_migrate_continue(args, &err);
    }
    hmp_handle_error(mon, err);
}

void hmp_migrate_set_capability(Monitor *mon, JsonObject *args)
{
    MigrationState *s = migrate_get_current();
    const char *name = qapi_arg_str(args, "capability");
    MigrationCapability cap;
    Error *err = NULL;

    if (!MigrationCapability_parse(name, &cap)) {
        error_setg(&err, "Invalid parameter '%s'", name);
    } else {
        migrate_cap_set(&s->opts, cap, qapi_arg_bool(args, "state", false),
                        migration_is_running(qatomic_read(&s->state)), &err);
    }
    hmp_handle_error(mon, err);
}

void hmp_migrate_set_parameter(Monitor *mon, JsonObject *args)
{
    MigrationState *s = migrate_get_current();
    Error *err = NULL;

    migrate_param_set_str(&s->opts, qapi_arg_str(args, "parameter"),
                          qapi_arg_str(args, "value"), &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_start_postcopy(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    qmp_migrate_start_postcopy(args, &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_pause(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    qmp_migrate_pause(args, &err);
    hmp_handle_error(mon, err);
}

void hmp_migrate_recover(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    qmp_migrate_recover(args, &err);
    hmp_handle_error(mon, err);
}
