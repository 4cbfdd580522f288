/*
 * HMP 'migrate' on an interactive monitor (a unix socket): without -d the
 * monitor is suspended until the migration ends (QEMU 7.2), input typed
 * meanwhile is held and run afterwards, a failure is printed before the
 * prompt comes back; 'migrate -d' and 'migrate' through QMP
 * human-monitor-command return at once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "libqtest.h"
#include "migration-helpers.h"

#define PROMPT "(qemu) "

typedef struct {
    char *dir;
    char *image;
    char *hmp_path;
    char *mig_uri;           /* unix:DIR/mig.sock */
    QTestState *from;
    QTestState *to;
    int fd;                  /* the source's HMP monitor */
    size_t src_pos;
} HmpMig;

/* Everything readable on @fd within @timeout_ms (0: what is there now). */
static void read_some(int fd, GString *buf, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    while (poll(&pfd, 1, timeout_ms) == 1) {
        char tmp[1024];
        ssize_t n = read(fd, tmp, sizeof(tmp));

        g_assert_cmpint(n, >, 0);
        g_string_append_len(buf, tmp, n);
        timeout_ms = 0;
    }
}

/* Read until the text (appended to @buf) ends with @end; 60 s at most. */
static void read_until(int fd, GString *buf, const char *end)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    while (!g_str_has_suffix(buf->str, end)) {
        if (g_get_monotonic_time() > deadline) {
            g_error("no \"%s\" from the HMP monitor; got \"%s\"", end,
                    buf->str);
        }
        read_some(fd, buf, 100);
    }
}

static void hmp_write(int fd, const char *text)
{
    size_t len = strlen(text);

    g_assert_cmpint(write(fd, text, len), ==, (ssize_t)len);
}

static void setup(HmpMig *m, bool with_dest)
{
    g_autoptr(GError) err = NULL;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    g_autoptr(GString) banner = g_string_new(NULL);

    memset(m, 0, sizeof(*m));
    m->dir = g_dir_make_tmp("hmp-migrate-XXXXXX", &err);
    g_assert_no_error(err);
    m->image = qtest_guest_image("a-b");
    m->hmp_path = g_build_filename(m->dir, "hmp.sock", NULL);
    m->mig_uri = g_strdup_printf("unix:%s/mig.sock", m->dir);
    m->from = qtest_initf("-M virt -m 150M -bios none -kernel %s "
                          "-monitor unix:%s,server=on,wait=off",
                          m->image, m->hmp_path);
    wait_for_serial(m->from, &m->src_pos, "AB");
    if (with_dest) {
        m->to = qtest_initf("-M virt -m 150M -bios none -kernel %s "
                            "-incoming %s", m->image, m->mig_uri);
    }

    m->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(m->fd, >=, 0);
    g_strlcpy(addr.sun_path, m->hmp_path, sizeof(addr.sun_path));
    g_assert_cmpint(connect(m->fd, (struct sockaddr *)&addr, sizeof(addr)),
                    ==, 0);
    read_until(m->fd, banner, PROMPT);
}

static void teardown(HmpMig *m)
{
    g_autofree char *mig_path = g_build_filename(m->dir, "mig.sock", NULL);

    close(m->fd);
    if (m->to) {
        qtest_quit(m->to);
    }
    qtest_quit(m->from);
    unlink(m->hmp_path);
    unlink(mig_path);
    g_rmdir(m->dir);
    g_free(m->dir);
    g_free(m->image);
    g_free(m->hmp_path);
    g_free(m->mig_uri);
}

/* Wait until the migration typed on the monitor has started. */
static void wait_for_migration_start(QTestState *who)
{
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;

    for (;;) {
        g_autofree char *st = migrate_query_status(who);

        if (strcmp(st, "none")) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
}

static bool status_is(const char *st, const char *a, const char *b)
{
    return !strcmp(st, a) || (b && !strcmp(st, b));
}

/*
 * 'migrate URI' and 'info status' typed at once: the monitor answers
 * 'info status' only after the migration completed.
 */
static void test_sync(void)
{
    HmpMig m;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *cmds = NULL;
    g_autofree char *st = NULL;
    g_autofree char *expect = NULL;
    size_t dst_pos = 0;

    setup(&m, true);
    /* first slow, so the migration is surely still running below */
    migrate_ensure_non_converge(m.from);

    /* one write: 'info status' arrives in the same read as 'migrate' */
    cmds = g_strdup_printf("migrate %s\rinfo status\r", m.mig_uri);
    hmp_write(m.fd, cmds);

    /* the monitor is held while QMP keeps working */
    wait_for_migration_start(m.from);
    wait_for_migration_pass(m.from, 2);
    st = migrate_query_status(m.from);
    g_assert_cmpstr(st, ==, "active");
    read_some(m.fd, out, 200);
    g_assert_null(strstr(out->str, "VM status"));
    g_assert_null(strstr(out->str, PROMPT));
    /* the echo of the migrate line, nothing after it */
    expect = g_strdup_printf("migrate %s\r\n", m.mig_uri);
    g_assert_cmpstr(out->str, ==, expect);

    migrate_ensure_converge(m.from);
    read_until(m.fd, out, "VM status: paused (postmigrate)\r\n" PROMPT);
    g_clear_pointer(&st, g_free);
    st = migrate_query_status(m.from);
    g_assert_cmpstr(st, ==, "completed");

    /* success prints nothing: prompt, then the held command and its answer */
    g_clear_pointer(&expect, g_free);
    expect = g_strdup_printf("migrate %s\r\n" PROMPT "info status\r\n"
                             "VM status: paused (postmigrate)\r\n" PROMPT,
                             m.mig_uri);
    g_assert_cmpstr(out->str, ==, expect);

    wait_for_serial(m.to, &dst_pos, "B");
    teardown(&m);
}

/*
 * A migration that fails (nobody listens on the path): the error, then the
 * prompt.  Through human-monitor-command 'migrate' never blocks.
 */
static void test_failed(void)
{
    HmpMig m;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *cmd = NULL;
    g_autofree char *err = NULL;
    g_autofree char *expect = NULL;
    g_autofree char *qmp_out = NULL;
    g_autofree char *st = NULL;

    setup(&m, false);
    cmd = g_strdup_printf("migrate unix:%s/nobody.sock\r", m.dir);
    hmp_write(m.fd, cmd);
    hmp_write(m.fd, "info status\r");
    read_until(m.fd, out, "VM status: running\r\n" PROMPT);

    st = migrate_query_status(m.from);
    g_assert_cmpstr(st, ==, "failed");
    err = migrate_query_error(m.from);
    g_assert_nonnull(err);
    expect = g_strdup_printf("migrate unix:%s/nobody.sock\r\n"
                             "Error: %s\r\n" PROMPT "info status\r\n"
                             "VM status: running\r\n" PROMPT, m.dir, err);
    g_assert_cmpstr(out->str, ==, expect);
    mig_assert_source_alive(m.from, &m.src_pos);

    /* no interactive input to hold: QEMU 7.2's notice, then detached */
    qmp_out = qtest_hmp(m.from, "migrate unix:%s/nobody.sock", m.dir);
    g_assert_cmpstr(qmp_out, ==, "terminal does not allow synchronous "
                    "migration, continuing detached\r\n");
    wait_for_migration_fail(m.from, false);
    teardown(&m);
}

/* 'migrate -d': the prompt at once, commands answered during migration. */
static void test_detach(void)
{
    HmpMig m;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *cmd = NULL;
    g_autofree char *expect = NULL;
    g_autofree char *st = NULL;
    size_t dst_pos = 0;

    setup(&m, true);
    migrate_ensure_non_converge(m.from);
    cmd = g_strdup_printf("migrate -d %s\r", m.mig_uri);
    hmp_write(m.fd, cmd);
    read_until(m.fd, out, PROMPT);
    expect = g_strdup_printf("migrate -d %s\r\n" PROMPT, m.mig_uri);
    g_assert_cmpstr(out->str, ==, expect);

    g_string_truncate(out, 0);
    hmp_write(m.fd, "info status\r");
    read_until(m.fd, out, PROMPT);
    g_assert_cmpstr(out->str, ==,
                    "info status\r\nVM status: running\r\n" PROMPT);
    st = migrate_query_status(m.from);
    g_assert_true(status_is(st, "setup", "active"));

    migrate_ensure_converge(m.from);
    wait_for_migration_complete(m.from);
    wait_for_serial(m.to, &dst_pos, "B");
    teardown(&m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hmp-migrate/sync", test_sync);
    g_test_add_func("/hmp-migrate/failed", test_failed);
    g_test_add_func("/hmp-migrate/detach", test_detach);
    return g_test_run();
}
