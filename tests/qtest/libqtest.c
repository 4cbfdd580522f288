/*
 * libqtest: start Godwit processes and drive them through QMP, qtest and
 * their serial port.
 *
 * Each instance runs $QTEST_QEMU_BINARY in a private temp dir that holds
 * qmp.sock, qtest.sock and serial.log.  The process listens on both
 * sockets (server=on,wait=off) and we connect as the client.
 *
 * Every child is recorded in a fixed-size registry that the signal
 * handlers (SIGABRT, SIGTERM, SIGINT) and an atexit() hook walk to kill
 * and reap whatever is left, so a failing test never leaves a process or a
 * temp dir behind.  Children also get PR_SET_PDEATHSIG=SIGKILL.
 *
 * Environment:
 *   QTEST_QEMU_BINARY   the emulator to run (required)
 *   QTEST_EXTRA_ARGS    arguments put before the test's own (e.g.
 *                       "-accel tcg -qtest-log /dev/null -monitor none"
 *                       to run the tests against stock QEMU)
 *   QTEST_TIMEOUT_MS    bound of every wait (default 120000)
 *   QTEST_LOG           if set, log QMP and qtest traffic to stderr
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "libqtest.h"

#include "a-b.h"
#include "rate.h"
#include "rate-low.h"
#include "verify.h"

#define QTEST_MAX_INSTANCES 64
#define QTEST_QUIT_TIMEOUT_MS 10000
#define QTEST_READ_CHUNK 65536

struct QTestState {
    pid_t pid;
    int slot;                   /* index in the registry */
    bool reaped;
    int wait_status;

    char *tmpdir;
    char *qmp_path;
    char *qtest_path;
    char *serial_path;

    int qmp_fd;
    GString *qmp_buf;           /* bytes received, not yet parsed */
    size_t qmp_scan;            /* how far qmp_buf has been scanned */
    int qmp_depth;
    bool qmp_in_str;
    bool qmp_esc;
    GQueue events;              /* JsonObject *, oldest first */
    GQueue responses;           /* responses read while waiting for events */

    int qtest_fd;
    GString *qtest_buf;
};

/*
 * The registry.  Written only from the main flow; read from signal
 * handlers, hence plain arrays of fixed-size strings.
 */
typedef struct QTestSlot {
    volatile pid_t pid;         /* 0: free */
    char dir[PATH_MAX];
} QTestSlot;

static QTestSlot registry[QTEST_MAX_INSTANCES];
static char guest_dir[PATH_MAX];
static bool hooks_installed;
static pid_t parent_pid;
static struct sigaction old_actions[NSIG];

static const char *const tmp_files[] = {
    "qmp.sock", "qtest.sock", "serial.log",
};

static const struct {
    const char *name;
    const unsigned char *data;
    unsigned int len;
} guest_images[] = {
    { "a-b", guest_a_b, sizeof(guest_a_b) },
    { "rate", guest_rate, sizeof(guest_rate) },
    { "rate-low", guest_rate_low, sizeof(guest_rate_low) },
    { "verify", guest_verify, sizeof(guest_verify) },
};

static void registry_remove(int slot);

/* ---------------------------------------------------------------- helpers */

static int timeout_ms(void)
{
    static int cached = -1;

    if (cached < 0) {
        const char *env = g_getenv("QTEST_TIMEOUT_MS");
        long v = env ? strtol(env, NULL, 0) : 0;

        cached = v > 0 && v < INT_MAX ? (int)v : 120000;
    }
    return cached;
}

static gint64 deadline_after(int ms)
{
    return g_get_monotonic_time() + (gint64)ms * 1000;
}

/* Milliseconds left until @deadline, at least 0. */
static int ms_left(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0) {
        return 0;
    }
    return left / 1000 + 1 > INT_MAX ? INT_MAX : (int)(left / 1000 + 1);
}

static bool log_enabled(void)
{
    return g_getenv("QTEST_LOG") != NULL;
}

/* Remove the files we create in @dir, then @dir.  Async-signal-safe. */
static void remove_dir_files_unsafe(const char *dir)
{
    char path[PATH_MAX + 32];
    size_t n = strlen(dir);
    size_t i;

    if (n == 0 || n + 16 >= sizeof(path)) {
        return;
    }
    for (i = 0; i < G_N_ELEMENTS(tmp_files); i++) {
        size_t m = strlen(tmp_files[i]);

        memcpy(path, dir, n);
        path[n] = '/';
        memcpy(path + n + 1, tmp_files[i], m + 1);
        unlink(path);
    }
    rmdir(dir);
}

/* Remove @dir and everything in it (not async-signal-safe). */
static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    if (!d) {
        return;
    }
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        if (g_file_test(path, G_FILE_TEST_IS_DIR) &&
            !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
            remove_tree(path);
        } else {
            g_unlink(path);
        }
    }
    g_dir_close(d);
    g_rmdir(dir);
}

/* ---------------------------------------------------------------- cleanup */

static void kill_all_unsafe(void)
{
    int i;

    for (i = 0; i < QTEST_MAX_INSTANCES; i++) {
        pid_t pid = registry[i].pid;

        if (pid > 0) {
            kill(pid, SIGKILL);
        }
    }
}

/*
 * Remove what is left of our temp dirs from a signal handler: unlink the
 * files we know, rmdir, and if a dir is still there (a test put its own
 * files in it) run "rm -rf" through fork + execve, which unlike opendir()
 * and malloc() are async-signal-safe.
 */
static void remove_dirs_unsafe(const char **dirs, int n)
{
    const char *argv[QTEST_MAX_INSTANCES + 4];
    static const char *const rm_paths[] = { "/bin/rm", "/usr/bin/rm" };
    int argc = 0;
    size_t k;
    int i;

    argv[argc++] = "rm";
    argv[argc++] = "-rf";
    argv[argc++] = "--";
    for (i = 0; i < n; i++) {
        remove_dir_files_unsafe(dirs[i]);
        if (access(dirs[i], F_OK) == 0) {
            argv[argc++] = dirs[i];
        }
    }
    argv[argc] = NULL;
    if (argc == 3) {
        return;
    }
    for (k = 0; k < G_N_ELEMENTS(rm_paths); k++) {
        if (access(rm_paths[k], X_OK) == 0) {
            pid_t pid = fork();

            if (pid == 0) {
                static char *const envp[] = { NULL };

                execve(rm_paths[k], (char *const *)argv, envp);
                _exit(127);
            }
            if (pid > 0) {
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
                    /* retry */
                }
            }
            return;
        }
    }
}

static void reap_all_and_clean_unsafe(void)
{
    const char *dirs[QTEST_MAX_INSTANCES + 1];
    int n = 0;
    int i;

    for (i = 0; i < QTEST_MAX_INSTANCES; i++) {
        pid_t pid = registry[i].pid;

        if (pid > 0) {
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
                /* retry */
            }
            if (registry[i].dir[0]) {
                dirs[n++] = registry[i].dir;
            }
        }
    }
    if (guest_dir[0]) {
        dirs[n++] = guest_dir;
    }
    remove_dirs_unsafe(dirs, n);
}

static void fatal_signal_handler(int sig)
{
    int saved_errno = errno;

    kill_all_unsafe();
    reap_all_and_clean_unsafe();
    /* Die of the same signal with the previous disposition. */
    sigaction(sig, &old_actions[sig], NULL);
    errno = saved_errno;
    raise(sig);
}

static void cleanup_at_exit(void)
{
    int i;

    kill_all_unsafe();
    for (i = 0; i < QTEST_MAX_INSTANCES; i++) {
        pid_t pid = registry[i].pid;

        if (pid > 0) {
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
                /* retry */
            }
            remove_tree(registry[i].dir);
            registry_remove(i);
        }
    }
    if (guest_dir[0]) {
        remove_tree(guest_dir);
        guest_dir[0] = 0;
    }
}

static void install_hooks(void)
{
    /* g_error() ends in SIGTRAP, g_assert() in SIGABRT. */
    static const int sigs[] = {
        SIGABRT, SIGTERM, SIGINT, SIGTRAP, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS,
    };
    size_t i;

    if (hooks_installed) {
        return;
    }
    hooks_installed = true;
    parent_pid = getpid();
    atexit(cleanup_at_exit);
    for (i = 0; i < G_N_ELEMENTS(sigs); i++) {
        struct sigaction sa = { 0 };

        sa.sa_handler = fatal_signal_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(sigs[i], &sa, &old_actions[sigs[i]]);
    }
}

static int registry_add(pid_t pid, const char *dir)
{
    int i;

    for (i = 0; i < QTEST_MAX_INSTANCES; i++) {
        if (registry[i].pid == 0) {
            g_strlcpy(registry[i].dir, dir, sizeof(registry[i].dir));
            registry[i].pid = pid;
            return i;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    g_error("libqtest: more than %d processes at once", QTEST_MAX_INSTANCES);
}

static void registry_remove(int slot)
{
    registry[slot].pid = 0;
    registry[slot].dir[0] = 0;
}

/*
 * End-of-test-case hook: a test that forgot (or failed before) qtest_quit
 * leaves no process behind.  @data encodes slot and pid, so that a slot
 * reused by a later instance is left alone.
 */
typedef struct QTestTicket {
    int slot;
    pid_t pid;
} QTestTicket;

static void ticket_cleanup(gpointer data)
{
    QTestTicket *t = data;

    if (registry[t->slot].pid == t->pid) {
        kill(t->pid, SIGKILL);
        while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR) {
            /* retry */
        }
        remove_tree(registry[t->slot].dir);
        registry_remove(t->slot);
    }
    g_free(t);
}

/* ---------------------------------------------------------------- process */

static void child_setup(gpointer data)
{
    /* Die with the test; if the test is already gone, do not start. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) {
        _exit(127);
    }
}

static bool reap(QTestState *s, bool block)
{
    int status;
    pid_t r;

    if (s->reaped) {
        return true;
    }
    do {
        r = waitpid(s->pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == s->pid) {
        s->reaped = true;
        s->wait_status = status;
        return true;
    }
    if (r < 0) {
        /* Not our child any more (reaped elsewhere): treat as gone. */
        s->reaped = true;
        s->wait_status = -1;
        return true;
    }
    return false;
}

static char *describe_status(QTestState *s)
{
    if (!s->reaped) {
        return g_strdup("still running");
    }
    if (s->wait_status == -1) {
        return g_strdup("gone");
    }
    if (WIFEXITED(s->wait_status)) {
        return g_strdup_printf("exited with status %d",
                               WEXITSTATUS(s->wait_status));
    }
    if (WIFSIGNALED(s->wait_status)) {
        return g_strdup_printf("killed by signal %d",
                               WTERMSIG(s->wait_status));
    }
    return g_strdup_printf("wait status 0x%x", s->wait_status);
}

static G_NORETURN void fail_state(QTestState *s, const char *what)
{
    g_autofree char *st = NULL;

    reap(s, false);
    st = describe_status(s);
    g_error("libqtest: %s (pid %d, %s)", what, (int)s->pid, st);
}

static void append_split(GPtrArray *argv, const char *args)
{
    g_auto(GStrv) parts = NULL;
    int i;

    if (!args) {
        return;
    }
    parts = g_strsplit_set(args, " \t\n", -1);
    for (i = 0; parts[i]; i++) {
        if (parts[i][0]) {
            g_ptr_array_add(argv, g_strdup(parts[i]));
        }
    }
}

static int connect_unix(QTestState *s, const char *path, gint64 deadline)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(addr.sun_path)) {
        g_error("libqtest: socket path too long: %s", path);
    }
    strcpy(addr.sun_path, path);

    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0) {
            g_error("libqtest: socket: %s", g_strerror(errno));
        }
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
            return fd;
        }
        close(fd);
        if (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR &&
            errno != EAGAIN) {
            g_error("libqtest: connect %s: %s", path, g_strerror(errno));
        }
        if (reap(s, false)) {
            g_autofree char *msg =
                g_strdup_printf("process ended before %s could be opened",
                                path);
            fail_state(s, msg);
        }
        if (g_get_monotonic_time() >= deadline) {
            g_autofree char *msg =
                g_strdup_printf("timed out connecting to %s", path);
            fail_state(s, msg);
        }
        g_usleep(10 * 1000);
    }
}

static QTestState *spawn_instance(const char *extra_args)
{
    const char *binary = g_getenv("QTEST_QEMU_BINARY");
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    QTestState *s;
    GPid pid;

    if (!binary || !binary[0]) {
        g_error("libqtest: QTEST_QEMU_BINARY is not set");
    }
    install_hooks();

    s = g_new0(QTestState, 1);
    s->qmp_fd = -1;
    s->qtest_fd = -1;
    s->slot = -1;
    s->tmpdir = g_dir_make_tmp("godwit-qtest-XXXXXX", &err);
    if (!s->tmpdir) {
        g_error("libqtest: cannot make a temp dir: %s", err->message);
    }
    s->qmp_path = g_build_filename(s->tmpdir, "qmp.sock", NULL);
    s->qtest_path = g_build_filename(s->tmpdir, "qtest.sock", NULL);
    s->serial_path = g_build_filename(s->tmpdir, "serial.log", NULL);
    s->qmp_buf = g_string_new(NULL);
    s->qtest_buf = g_string_new(NULL);
    g_queue_init(&s->events);
    g_queue_init(&s->responses);

    g_ptr_array_add(argv, g_strdup(binary));
    append_split(argv, g_getenv("QTEST_EXTRA_ARGS"));
    g_ptr_array_add(argv, g_strdup("-qtest"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s,server=on,wait=off",
                                          s->qtest_path));
    g_ptr_array_add(argv, g_strdup("-qmp"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s,server=on,wait=off",
                                          s->qmp_path));
    g_ptr_array_add(argv, g_strdup("-serial"));
    g_ptr_array_add(argv, g_strdup_printf("file:%s", s->serial_path));
    g_ptr_array_add(argv, g_strdup("-display"));
    g_ptr_array_add(argv, g_strdup("none"));
    append_split(argv, extra_args);
    g_ptr_array_add(argv, NULL);

    if (log_enabled()) {
        g_autofree char *cmd = g_strjoinv(" ", (char **)argv->pdata);

        fprintf(stderr, "[libqtest] start: %s\n", cmd);
    }

    /*
     * Block the fatal signals while the child is created and registered,
     * so that a signal cannot leave an unregistered child behind.
     */
    {
        sigset_t block, old;

        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, &old);
        if (!g_spawn_async(NULL, (char **)argv->pdata, NULL,
                           G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                           child_setup, NULL, &pid, &err)) {
            sigprocmask(SIG_SETMASK, &old, NULL);
            remove_tree(s->tmpdir);
            g_error("libqtest: cannot start %s: %s", binary, err->message);
        }
        s->pid = pid;
        s->slot = registry_add(pid, s->tmpdir);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }

#if GLIB_CHECK_VERSION(2, 68, 0)
    if (g_test_get_path() != NULL) {
        QTestTicket *t = g_new(QTestTicket, 1);

        t->slot = s->slot;
        t->pid = s->pid;
        g_test_queue_destroy(ticket_cleanup, t);
    }
#endif

    {
        gint64 deadline = deadline_after(timeout_ms());

        s->qmp_fd = connect_unix(s, s->qmp_path, deadline);
        s->qtest_fd = connect_unix(s, s->qtest_path, deadline);
    }
    return s;
}

/* ---------------------------------------------------------------- I/O */

static void write_all(QTestState *s, int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            {
                g_autofree char *msg =
                    g_strdup_printf("write failed: %s", g_strerror(errno));
                fail_state(s, msg);
            }
        }
        buf += n;
        len -= n;
    }
}

/*
 * Read more bytes from @fd into @buf.  Returns false on EOF (or a reset
 * connection); fails the test when @deadline passes.
 */
static bool read_more(QTestState *s, int fd, GString *buf, gint64 deadline,
                      const char *what)
{
    char tmp[QTEST_READ_CHUNK];

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int left = ms_left(deadline);
        int r;
        ssize_t n;

        if (left == 0) {
            g_autofree char *msg = g_strdup_printf("timed out waiting for %s",
                                                   what);
            fail_state(s, msg);
        }
        r = poll(&pfd, 1, left > 1000 ? 1000 : left);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            g_error("libqtest: poll: %s", g_strerror(errno));
        }
        if (r == 0) {
            continue;
        }
        n = recv(fd, tmp, sizeof(tmp), 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            if (errno == ECONNRESET) {
                return false;
            }
            g_error("libqtest: read: %s", g_strerror(errno));
        }
        if (n == 0) {
            return false;
        }
        g_string_append_len(buf, tmp, n);
        return true;
    }
}

/*
 * If qmp_buf holds a complete top-level JSON value, cut it out and return
 * it (g_free).  The scanner tracks braces and strings incrementally, so it
 * accepts both one-message-per-line and pretty-printed output.
 */
static char *qmp_take_message(QTestState *s)
{
    GString *b = s->qmp_buf;
    size_t i;

    for (i = s->qmp_scan; i < b->len; i++) {
        char c = b->str[i];

        if (s->qmp_in_str) {
            if (s->qmp_esc) {
                s->qmp_esc = false;
            } else if (c == '\\') {
                s->qmp_esc = true;
            } else if (c == '"') {
                s->qmp_in_str = false;
            }
            continue;
        }
        if (c == '"') {
            s->qmp_in_str = true;
        } else if (c == '{' || c == '[') {
            s->qmp_depth++;
        } else if (c == '}' || c == ']') {
            s->qmp_depth--;
            if (s->qmp_depth == 0) {
                char *msg = g_strndup(b->str, i + 1);

                g_string_erase(b, 0, i + 1);
                s->qmp_scan = 0;
                return msg;
            }
        } else if (s->qmp_depth == 0 && !g_ascii_isspace(c)) {
            g_error("libqtest: QMP: unexpected '%c' outside a JSON object", c);
        } else if (s->qmp_depth == 0) {
            /* whitespace between messages: drop it */
            g_string_erase(b, 0, i + 1);
            i = (size_t)-1;
        }
    }
    s->qmp_scan = b->len;
    return NULL;
}

static JsonObject *parse_object(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, text, -1, &err)) {
        g_error("libqtest: QMP: bad JSON (%s): %s", err->message, text);
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_error("libqtest: QMP: not a JSON object: %s", text);
    }
    return json_object_ref(json_node_get_object(root));
}

/* Next QMP message from the socket, or NULL on EOF if @allow_eof. */
static JsonObject *qmp_read_raw(QTestState *s, bool allow_eof)
{
    gint64 deadline = deadline_after(timeout_ms());

    for (;;) {
        g_autofree char *text = qmp_take_message(s);

        if (text) {
            if (log_enabled()) {
                fprintf(stderr, "[libqtest %d] QMP <<< %s\n", (int)s->pid,
                        text);
            }
            return parse_object(text);
        }
        if (s->qmp_fd < 0 ||
            !read_more(s, s->qmp_fd, s->qmp_buf, deadline, "a QMP message")) {
            if (allow_eof) {
                return NULL;
            }
            fail_state(s, "QMP connection closed");
        }
    }
}

static bool is_event(JsonObject *obj)
{
    return json_object_has_member(obj, "event");
}

static void qmp_send_text(QTestState *s, const char *text)
{
    if (log_enabled()) {
        fprintf(stderr, "[libqtest %d] QMP >>> %s\n", (int)s->pid, text);
    }
    if (s->qmp_fd < 0) {
        fail_state(s, "QMP connection is closed");
    }
    write_all(s, s->qmp_fd, text, strlen(text));
}

/* ------------------------------------------------------------ start/stop */

static void qmp_handshake(QTestState *s, JsonObject **greeting)
{
    JsonObject *g = qtest_qmp_receive_any(s);

    if (!json_object_has_member(g, "QMP")) {
        g_autofree char *t = qtest_json_to_string(g);

        g_error("libqtest: QMP: expected a greeting, got %s", t);
    }
    if (greeting) {
        *greeting = g;
    } else {
        json_object_unref(g);
    }
}

QTestState *qtest_init_without_qmp_handshake(const char *extra_args,
                                             JsonObject **greeting)
{
    QTestState *s = spawn_instance(extra_args);

    qmp_handshake(s, greeting);
    return s;
}

QTestState *qtest_init(const char *extra_args)
{
    QTestState *s = qtest_init_without_qmp_handshake(extra_args, NULL);

    qtest_qmp_assert_success(s, "{\"execute\": \"qmp_capabilities\"}");
    return s;
}

QTestState *qtest_initf(const char *fmt, ...)
{
    g_autofree char *args = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return qtest_init(args);
}

static void close_fds(QTestState *s)
{
    if (s->qmp_fd >= 0) {
        close(s->qmp_fd);
        s->qmp_fd = -1;
    }
    if (s->qtest_fd >= 0) {
        close(s->qtest_fd);
        s->qtest_fd = -1;
    }
}

static void free_state(QTestState *s)
{
    close_fds(s);
    if (s->slot >= 0) {
        registry_remove(s->slot);
    }
    if (s->tmpdir) {
        remove_tree(s->tmpdir);
    }
    g_queue_clear_full(&s->events, (GDestroyNotify)json_object_unref);
    g_queue_clear_full(&s->responses, (GDestroyNotify)json_object_unref);
    g_string_free(s->qmp_buf, TRUE);
    g_string_free(s->qtest_buf, TRUE);
    g_free(s->tmpdir);
    g_free(s->qmp_path);
    g_free(s->qtest_path);
    g_free(s->serial_path);
    g_free(s);
}

static bool wait_reaped(QTestState *s, int ms)
{
    gint64 deadline = deadline_after(ms);

    while (!reap(s, false)) {
        if (g_get_monotonic_time() >= deadline) {
            return false;
        }
        g_usleep(5 * 1000);
    }
    return true;
}

void qtest_kill(QTestState *s)
{
    if (!s) {
        return;
    }
    if (!s->reaped) {
        kill(s->pid, SIGKILL);
        reap(s, true);
    }
    free_state(s);
}

/*
 * Read and drop QMP output until the process closes the socket or exits,
 * or until @deadline.  Keeping the connection open (rather than closing
 * it right after "quit") lets the monitor finish the command.
 */
static void drain_until_exit(QTestState *s, gint64 deadline)
{
    char tmp[4096];

    while (!reap(s, false) && g_get_monotonic_time() < deadline) {
        struct pollfd pfd = { .fd = s->qmp_fd, .events = POLLIN };
        int r;

        if (s->qmp_fd < 0) {
            g_usleep(5 * 1000);
            continue;
        }
        r = poll(&pfd, 1, 10);
        if (r > 0) {
            ssize_t n = recv(s->qmp_fd, tmp, sizeof(tmp), 0);

            if (n > 0 && log_enabled()) {
                fprintf(stderr, "[libqtest %d] QMP <<< %.*s", (int)s->pid,
                        (int)n, tmp);
            }
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
                close_fds(s);
            }
        }
    }
}

void qtest_quit(QTestState *s)
{
    gint64 deadline = deadline_after(QTEST_QUIT_TIMEOUT_MS);

    if (!s) {
        return;
    }
    if (!reap(s, false) && s->qmp_fd >= 0) {
        static const char quit[] = "{\"execute\": \"quit\"}\n";

        if (log_enabled()) {
            fprintf(stderr, "[libqtest %d] QMP >>> %s", (int)s->pid, quit);
        }
        /* The process may close the socket at once: ignore send errors. */
        if (send(s->qmp_fd, quit, strlen(quit), MSG_NOSIGNAL) < 0) {
            close_fds(s);
        }
    }
    drain_until_exit(s, deadline);
    close_fds(s);
    if (!reap(s, false)) {
        g_printerr("libqtest: pid %d did not quit within %d ms; killing it\n",
                   (int)s->pid, QTEST_QUIT_TIMEOUT_MS);
        kill(s->pid, SIGKILL);
        reap(s, true);
    }
    free_state(s);
}

int qtest_wait_exit(QTestState *s, int timeout)
{
    if (!wait_reaped(s, timeout > 0 ? timeout : timeout_ms())) {
        return -1;
    }
    return s->wait_status;
}

pid_t qtest_pid(QTestState *s)
{
    return s->pid;
}

const char *qtest_tmpdir(QTestState *s)
{
    return s->tmpdir;
}

/* ---------------------------------------------------------------- QMP */

void qtest_qmp_send_raw(QTestState *s, const char *text)
{
    qmp_send_text(s, text);
}

static void qmp_vsend(QTestState *s, const char *fmt, va_list ap)
{
    g_autofree char *text = g_strdup_vprintf(fmt, ap);

    qmp_send_text(s, text);
}

void qtest_qmp_send(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qmp_vsend(s, fmt, ap);
    va_end(ap);
}

void qtest_qmp_send_fd(QTestState *s, int fd, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov;
    struct msghdr msg = { 0 };
    struct cmsghdr *cmsg;
    va_list ap;
    ssize_t n;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (log_enabled()) {
        fprintf(stderr, "[libqtest %d] QMP >>> (fd %d) %s\n", (int)s->pid,
                fd, text);
    }

    memset(control, 0, sizeof(control));
    iov.iov_base = text;
    iov.iov_len = strlen(text);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

    do {
        n = sendmsg(s->qmp_fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        fail_state(s, "sendmsg with an fd failed");
    }
    /* The fd travels with the first byte; send the rest normally. */
    if ((size_t)n < iov.iov_len) {
        write_all(s, s->qmp_fd, text + n, iov.iov_len - n);
    }
}

JsonObject *qtest_qmp_receive_any(QTestState *s)
{
    return qmp_read_raw(s, false);
}

JsonObject *qtest_qmp_receive(QTestState *s)
{
    if (!g_queue_is_empty(&s->responses)) {
        return g_queue_pop_head(&s->responses);
    }
    for (;;) {
        JsonObject *obj = qmp_read_raw(s, false);

        if (!is_event(obj)) {
            return obj;
        }
        g_queue_push_tail(&s->events, obj);
    }
}

JsonObject *qtest_qmp(QTestState *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qmp_vsend(s, fmt, ap);
    va_end(ap);
    return qtest_qmp_receive(s);
}

static bool event_is(JsonObject *obj, const char *name)
{
    return is_event(obj) &&
        g_strcmp0(json_object_get_string_member(obj, "event"), name) == 0;
}

JsonObject *qtest_qmp_eventwait_ref(QTestState *s, const char *name)
{
    GList *l;

    for (l = s->events.head; l; l = l->next) {
        if (event_is(l->data, name)) {
            JsonObject *obj = l->data;

            g_queue_delete_link(&s->events, l);
            return obj;
        }
    }
    for (;;) {
        JsonObject *obj = qmp_read_raw(s, false);

        if (event_is(obj, name)) {
            return obj;
        }
        if (is_event(obj)) {
            g_queue_push_tail(&s->events, obj);
        } else {
            g_queue_push_tail(&s->responses, obj);
        }
    }
}

void qtest_qmp_eventwait(QTestState *s, const char *name)
{
    json_object_unref(qtest_qmp_eventwait_ref(s, name));
}

static JsonNode *check_success(JsonObject *rsp)
{
    if (!json_object_has_member(rsp, "return")) {
        g_autofree char *t = qtest_json_to_string(rsp);

        g_error("libqtest: QMP command failed: %s", t);
    }
    return json_node_copy(json_object_get_member(rsp, "return"));
}

JsonNode *qtest_qmp_assert_success_ref(QTestState *s, const char *fmt, ...)
{
    JsonObject *rsp;
    JsonNode *ret;
    va_list ap;

    va_start(ap, fmt);
    qmp_vsend(s, fmt, ap);
    va_end(ap);
    rsp = qtest_qmp_receive(s);
    ret = check_success(rsp);
    json_object_unref(rsp);
    return ret;
}

void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...)
{
    JsonObject *rsp;
    va_list ap;

    va_start(ap, fmt);
    qmp_vsend(s, fmt, ap);
    va_end(ap);
    rsp = qtest_qmp_receive(s);
    json_node_unref(check_success(rsp));
    json_object_unref(rsp);
}

char *qtest_hmp(QTestState *s, const char *fmt, ...)
{
    g_autofree char *line = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;
    JsonObject *rsp;
    JsonNode *ret;
    char *out;
    va_list ap;

    va_start(ap, fmt);
    line = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "execute");
    json_builder_add_string_value(b, "human-monitor-command");
    json_builder_set_member_name(b, "arguments");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "command-line");
    json_builder_add_string_value(b, line);
    json_builder_end_object(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    text = json_generator_to_data(gen, NULL);

    qmp_send_text(s, text);
    rsp = qtest_qmp_receive(s);
    ret = check_success(rsp);
    json_object_unref(rsp);
    if (!JSON_NODE_HOLDS_VALUE(ret) ||
        json_node_get_value_type(ret) != G_TYPE_STRING) {
        g_error("libqtest: human-monitor-command did not return a string");
    }
    out = g_strdup(json_node_get_string(ret));
    json_node_unref(ret);
    return out;
}

char *qtest_json_to_string(JsonObject *obj)
{
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), obj);
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, node);
    return json_generator_to_data(gen, NULL);
}

/* ---------------------------------------------------------------- qtest */

/* Send one command line (without newline) and return the reply line. */
static char *qtest_command(QTestState *s, const char *line)
{
    gint64 deadline = deadline_after(timeout_ms());

    if (log_enabled()) {
        fprintf(stderr, "[libqtest %d] qtest >>> %.200s%s\n", (int)s->pid,
                line, strlen(line) > 200 ? "..." : "");
    }
    if (s->qtest_fd < 0) {
        fail_state(s, "qtest connection is closed");
    }
    write_all(s, s->qtest_fd, line, strlen(line));
    write_all(s, s->qtest_fd, "\n", 1);

    for (;;) {
        char *nl = memchr(s->qtest_buf->str, '\n', s->qtest_buf->len);

        if (nl) {
            size_t n = nl - s->qtest_buf->str;
            char *reply = g_strndup(s->qtest_buf->str, n);

            g_string_erase(s->qtest_buf, 0, n + 1);
            if (n > 0 && reply[n - 1] == '\r') {
                reply[n - 1] = 0;
            }
            /* Asynchronous interrupt notifications are not replies. */
            if (g_str_has_prefix(reply, "IRQ")) {
                g_free(reply);
                continue;
            }
            if (log_enabled()) {
                fprintf(stderr, "[libqtest %d] qtest <<< %.200s%s\n",
                        (int)s->pid, reply, strlen(reply) > 200 ? "..." : "");
            }
            return reply;
        }
        if (!read_more(s, s->qtest_fd, s->qtest_buf, deadline,
                       "a qtest reply")) {
            fail_state(s, "qtest connection closed");
        }
    }
}

char *qtest_raw_cmd(QTestState *s, const char *line)
{
    return qtest_command(s, line);
}

/* Run @line, require "OK", return what follows "OK " (g_free). */
static char *qtest_ok(QTestState *s, const char *line)
{
    g_autofree char *reply = qtest_command(s, line);

    if (strcmp(reply, "OK") == 0) {
        return g_strdup("");
    }
    if (!g_str_has_prefix(reply, "OK ")) {
        g_error("libqtest: qtest command '%.100s' failed: %s", line, reply);
    }
    return g_strdup(reply + 3);
}

static uint64_t qtest_read_sized(QTestState *s, const char *cmd,
                                 uint64_t addr)
{
    g_autofree char *line = g_strdup_printf("%s 0x%" PRIx64, cmd, addr);
    g_autofree char *val = qtest_ok(s, line);
    char *end;
    uint64_t v;

    errno = 0;
    v = g_ascii_strtoull(val, &end, 0);
    if (errno || end == val || *end) {
        g_error("libqtest: bad reply to '%s': OK %s", line, val);
    }
    return v;
}

static void qtest_write_sized(QTestState *s, const char *cmd, uint64_t addr,
                              uint64_t v)
{
    g_autofree char *line = g_strdup_printf("%s 0x%" PRIx64 " 0x%" PRIx64,
                                            cmd, addr, v);

    g_free(qtest_ok(s, line));
}

uint8_t qtest_readb(QTestState *s, uint64_t addr)
{
    return qtest_read_sized(s, "readb", addr);
}

uint16_t qtest_readw(QTestState *s, uint64_t addr)
{
    return qtest_read_sized(s, "readw", addr);
}

uint32_t qtest_readl(QTestState *s, uint64_t addr)
{
    return qtest_read_sized(s, "readl", addr);
}

uint64_t qtest_readq(QTestState *s, uint64_t addr)
{
    return qtest_read_sized(s, "readq", addr);
}

void qtest_writeb(QTestState *s, uint64_t addr, uint8_t v)
{
    qtest_write_sized(s, "writeb", addr, v);
}

void qtest_writew(QTestState *s, uint64_t addr, uint16_t v)
{
    qtest_write_sized(s, "writew", addr, v);
}

void qtest_writel(QTestState *s, uint64_t addr, uint32_t v)
{
    qtest_write_sized(s, "writel", addr, v);
}

void qtest_writeq(QTestState *s, uint64_t addr, uint64_t v)
{
    qtest_write_sized(s, "writeq", addr, v);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *line = NULL;
    g_autofree char *val = NULL;
    uint8_t *out = buf;
    const char *p;
    size_t i;

    if (size == 0) {
        return;
    }
    line = g_strdup_printf("read 0x%" PRIx64 " 0x%zx", addr, size);
    val = qtest_ok(s, line);
    p = val;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
    }
    if (strlen(p) != size * 2) {
        g_error("libqtest: 'read' of %zu bytes returned %zu hex digits",
                size, strlen(p));
    }
    for (i = 0; i < size; i++) {
        int hi = hex_digit(p[2 * i]);
        int lo = hex_digit(p[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            g_error("libqtest: 'read' returned a non-hex digit");
        }
        out[i] = hi << 4 | lo;
    }
}

void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *in = buf;
    GString *line;
    size_t i;

    if (size == 0) {
        return;
    }
    line = g_string_sized_new(size * 2 + 64);
    g_string_printf(line, "write 0x%" PRIx64 " 0x%zx 0x", addr, size);
    for (i = 0; i < size; i++) {
        g_string_append_c(line, digits[in[i] >> 4]);
        g_string_append_c(line, digits[in[i] & 0xf]);
    }
    g_free(qtest_ok(s, line->str));
    g_string_free(line, TRUE);
}

void qtest_bufread(QTestState *s, uint64_t addr, void *buf, size_t size)
{
    g_autofree char *line = NULL;
    g_autofree char *val = NULL;
    g_autofree guchar *data = NULL;
    gsize len = 0;

    if (size == 0) {
        return;
    }
    line = g_strdup_printf("b64read 0x%" PRIx64 " 0x%zx", addr, size);
    val = qtest_ok(s, line);
    data = g_base64_decode(val, &len);
    if (len != size) {
        g_error("libqtest: 'b64read' of %zu bytes returned %zu", size,
                (size_t)len);
    }
    memcpy(buf, data, size);
}

void qtest_bufwrite(QTestState *s, uint64_t addr, const void *buf,
                    size_t size)
{
    g_autofree char *b64 = NULL;
    g_autofree char *line = NULL;

    if (size == 0) {
        return;
    }
    b64 = g_base64_encode(buf, size);
    line = g_strdup_printf("b64write 0x%" PRIx64 " 0x%zx %s", addr, size, b64);
    g_free(qtest_ok(s, line));
}

void qtest_memset(QTestState *s, uint64_t addr, uint8_t patt, size_t size)
{
    g_autofree char *line = NULL;

    if (size == 0) {
        return;
    }
    line = g_strdup_printf("memset 0x%" PRIx64 " 0x%zx 0x%02x", addr, size,
                           patt);
    g_free(qtest_ok(s, line));
}

/* ---------------------------------------------------------------- serial */

const char *qtest_serial_path(QTestState *s)
{
    return s->serial_path;
}

char *qtest_serial_read(QTestState *s)
{
    char *text = NULL;

    if (!g_file_get_contents(s->serial_path, &text, NULL, NULL)) {
        return g_strdup("");
    }
    return text;
}

bool qtest_serial_wait_char(QTestState *s, char c, size_t *pos, int timeout)
{
    gint64 deadline = deadline_after(timeout > 0 ? timeout : timeout_ms());
    size_t start = pos ? *pos : 0;

    for (;;) {
        g_autofree char *text = NULL;
        gsize len = 0;

        if (g_file_get_contents(s->serial_path, &text, &len, NULL) &&
            len > start) {
            const char *hit = memchr(text + start, c, len - start);

            if (hit) {
                if (pos) {
                    *pos = hit - text + 1;
                }
                return true;
            }
        }
        if (g_get_monotonic_time() >= deadline) {
            return false;
        }
        if (reap(s, false)) {
            /* Nothing more will be written; one last look was taken. */
            return false;
        }
        g_usleep(10 * 1000);
    }
}

/* ---------------------------------------------------------------- guests */

char *qtest_guest_image(const char *name)
{
    g_autofree char *file = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(guest_images); i++) {
        if (strcmp(guest_images[i].name, name) == 0) {
            break;
        }
    }
    if (i == G_N_ELEMENTS(guest_images)) {
        g_error("libqtest: no built-in guest named '%s'", name);
    }

    install_hooks();
    if (!guest_dir[0]) {
        g_autofree char *dir = g_dir_make_tmp("godwit-guests-XXXXXX", &err);

        if (!dir) {
            g_error("libqtest: cannot make a temp dir: %s", err->message);
        }
        g_strlcpy(guest_dir, dir, sizeof(guest_dir));
    }
    file = g_strdup_printf("%s.elf", name);
    path = g_build_filename(guest_dir, file, NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS) &&
        !g_file_set_contents(path, (const char *)guest_images[i].data,
                             guest_images[i].len, &err)) {
        g_error("libqtest: cannot write %s: %s", path, err->message);
    }
    return g_steal_pointer(&path);
}
