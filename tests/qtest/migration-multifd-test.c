/*
 * Multifd migrations (capability multifd, migration/multifd.c).
 *
 * /migration/multifd/tcp/plain/none, .../unix/plain/none, .../4-channels:
 *   the a-b guest migrates live with multifd (QEMU 7.2's
 *   /migration/multifd/tcp/plain/none), its RAM checked on the
 *   destination; pages must really have gone over the channels
 *   (multifd-bytes).
 * /migration/multifd/tcp/plain/verify-guest: the verify guest on 2 vCPUs,
 *   left running on the destination (any 'F' fails).
 * /migration/multifd/tcp/plain/cancel: 7.2's case: a multifd migration
 *   cancelled mid-way leaves the source running; a second multifd
 *   migration to a new destination then succeeds.
 * /migration/multifd/refused/...: what is not built is refused with an
 *   error that says so (zlib, zstd, exec:).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "libqtest.h"
#include "migration-helpers.h"

#define MEM "150M"

typedef struct LiveCase {
    const char *name;
    const char *guest;
    bool tcp;
    int smp;
    int channels;
    int dest_run_secs;
} LiveCase;

/* The destination's tcp URI from query-migrate socket-address. */
static char *dest_tcp_uri(QTestState *to)
{
    JsonObject *o = migrate_query(to);
    JsonObject *a;
    JsonNode *port;
    char *uri;

    a = json_array_get_object_element(
            json_object_get_array_member(o, "socket-address"), 0);
    port = json_object_get_member(a, "port");
    if (json_node_get_value_type(port) == G_TYPE_STRING) {
        uri = g_strdup_printf("tcp:%s:%s",
                              json_object_get_string_member(a, "host"),
                              json_node_get_string(port));
    } else {
        uri = g_strdup_printf("tcp:%s:%" PRId64,
                              json_object_get_string_member(a, "host"),
                              json_node_get_int(port));
    }
    json_object_unref(o);
    return uri;
}

/* Start a destination listening with multifd on; returns its URI. */
static QTestState *start_dest(const char *image, int smp, int channels,
                              const char *listen, char **uri)
{
    QTestState *to = qtest_initf("-M virt -m " MEM " -smp %d -bios none "
                                 "-kernel %s -incoming defer", smp, image);

    migrate_set_capability(to, "multifd", true);
    migrate_set_parameter_int(to, "multifd-channels", channels);
    migrate_incoming_qmp(to, listen);
    *uri = g_str_has_prefix(listen, "tcp:") ? dest_tcp_uri(to)
                                            : g_strdup(listen);
    return to;
}

static void test_live(gconstpointer data)
{
    const LiveCase *c = data;
    g_autoptr(GError) gerr = NULL;
    g_autofree char *dir = g_dir_make_tmp("godwit-multifd-XXXXXX", &gerr);
    g_autofree char *image = qtest_guest_image(c->guest);
    g_autofree char *listen = NULL, *uri = NULL;
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to;
    MigRamStats st;

    g_assert_no_error(gerr);
    listen = c->tcp ? g_strdup("tcp:127.0.0.1:0")
                    : g_strdup_printf("unix:%s/mig.sock", dir);
    from = qtest_initf("-M virt -m " MEM " -smp %d -bios none -kernel %s",
                       c->smp, image);
    wait_for_serial(from, &src_pos, "AB");
    to = start_dest(image, c->smp, c->channels, listen, &uri);

    migrate_set_capability(from, "multifd", true);
    migrate_set_parameter_int(from, "multifd-channels", c->channels);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);
    /* a whole pass and more went over the channels while the guest ran */
    wait_for_migration_pass(from, 3);
    migrate_read_ram_stats(from, &st);
    g_test_message("after 2 passes: multifd-bytes %" PRId64 " transferred %"
                   PRId64 " normal %" PRId64, st.multifd_bytes,
                   st.transferred, st.normal);
    g_assert_cmpint(st.normal, >, 1000);
    /* every normal page went on a channel: its bytes are counted there */
    g_assert_cmpint(st.multifd_bytes, >=, st.normal * 4096);

    migrate_ensure_converge(from);
    wait_for_migration_complete(from);
    qtest_qmp_eventwait(from, "STOP");
    wait_for_migration_complete(to);
    qtest_qmp_eventwait(to, "RESUME");
    wait_for_serial(to, &dst_pos, "B");
    if (c->dest_run_secs) {
        size_t before = dst_pos;

        g_usleep(c->dest_run_secs * G_USEC_PER_SEC);
        /* wait_for_serial fails on any 'F' (a bad page) or 'X' */
        wait_for_serial(to, &dst_pos, "B");
        g_assert_cmpuint(dst_pos, >, before);
    }
    if (!strcmp(c->guest, "a-b")) {
        qtest_qmp_assert_success(to, "{\"execute\": \"stop\"}");
        qtest_qmp_eventwait(to, "STOP");
        check_guests_ram(to);
    }
    qtest_quit(to);
    qtest_quit(from);
    if (!c->tcp) {
        g_autofree char *sock = g_strdup_printf("%s/mig.sock", dir);

        unlink(sock);
    }
    rmdir(dir);
}

static const LiveCase live_cases[] = {
    {
        .name = "/migration/multifd/tcp/plain/none",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 2,
    }, {
        .name = "/migration/multifd/unix/plain/none",
        .guest = "a-b", .tcp = false, .smp = 1, .channels = 2,
    }, {
        .name = "/migration/multifd/tcp/plain/4-channels",
        .guest = "a-b", .tcp = true, .smp = 1, .channels = 4,
    }, {
        .name = "/migration/multifd/tcp/plain/verify-guest",
        .guest = "verify", .tcp = true, .smp = 2, .channels = 2,
        .dest_run_secs = 5,
    },
};

/* 7.2's /migration/multifd/tcp/plain/cancel */
static void test_cancel(void)
{
    g_autofree char *image = qtest_guest_image("a-b");
    g_autofree char *uri = NULL, *uri2 = NULL;
    size_t src_pos = 0, dst_pos = 0;
    QTestState *from, *to, *to2;
    bool running;
    g_autofree char *rs = NULL;

    from = qtest_initf("-M virt -m " MEM " -bios none -kernel %s", image);
    wait_for_serial(from, &src_pos, "AB");
    to = start_dest(image, 1, 2, "tcp:127.0.0.1:0", &uri);
    migrate_set_capability(from, "multifd", true);
    migrate_set_parameter_int(from, "multifd-channels", 2);
    migrate_ensure_non_converge(from);
    migrate_qmp(from, uri);
    wait_for_migration_pass(from, 2);
    migrate_cancel_qmp(from);
    wait_for_migration_status(from, "cancelled", NULL);
    rs = mig_query_runstate(from, &running);
    g_assert_true(running);
    mig_assert_source_alive(from, &src_pos);
    /* the first destination lost its source: it fails and exits */
    migrate_wait_dest_exit(to, EXIT_FAILURE);

    to2 = start_dest(image, 1, 2, "tcp:127.0.0.1:0", &uri2);
    migrate_qmp(from, uri2);
    migrate_ensure_converge(from);
    wait_for_migration_complete(from);
    wait_for_migration_complete(to2);
    wait_for_serial(to2, &dst_pos, "B");
    qtest_qmp_assert_success(to2, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(to2, "STOP");
    check_guests_ram(to2);
    qtest_quit(to2);
    qtest_quit(from);
}

typedef struct RefusedCase {
    const char *name;
    const char *compression;    /* NULL: leave none */
    const char *uri;
    const char *error;
} RefusedCase;

static void test_refused(gconstpointer data)
{
    const RefusedCase *c = data;
    g_autofree char *image = qtest_guest_image("a-b");
    QTestState *from = qtest_initf("-M virt -m 16M -bios none -kernel %s",
                                   image);
    JsonObject *rsp;
    g_autofree char *err = NULL;
    bool running;
    g_autofree char *rs = NULL;

    migrate_set_capability(from, "multifd", true);
    if (c->compression) {
        qtest_qmp_assert_success(from, "{\"execute\": "
                                 "\"migrate-set-parameters\", \"arguments\": "
                                 "{\"multifd-compression\": \"%s\"}}",
                                 c->compression);
    }
    rsp = migrate_qmp_rsp(from, c->uri);
    err = mig_take_error(rsp);
    g_assert_nonnull(err);
    if (!strstr(err, c->error)) {
        g_error("error \"%s\" lacks \"%s\"", err, c->error);
    }
    rs = mig_query_runstate(from, &running);
    g_assert_true(running);
    qtest_quit(from);
}

static const RefusedCase refused_cases[] = {
    {
        .name = "/migration/multifd/refused/zlib",
        .compression = "zlib", .uri = "tcp:127.0.0.1:1",
        .error = "multifd-compression 'zlib' is not built yet",
    }, {
        .name = "/migration/multifd/refused/zstd",
        .compression = "zstd", .uri = "tcp:127.0.0.1:1",
        .error = "multifd-compression 'zstd' is not built yet",
    }, {
        .name = "/migration/multifd/refused/exec",
        .uri = "exec:cat > /dev/null",
        .error = "multifd needs a socket transport",
    },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(live_cases); i++) {
        g_test_add_data_func(live_cases[i].name, &live_cases[i], test_live);
    }
    g_test_add_func("/migration/multifd/tcp/plain/cancel", test_cancel);
    for (size_t i = 0; i < G_N_ELEMENTS(refused_cases); i++) {
        g_test_add_data_func(refused_cases[i].name, &refused_cases[i],
                             test_refused);
    }
    return g_test_run();
}
