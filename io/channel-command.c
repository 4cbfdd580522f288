/*
 * QIOChannelCommand: talk to a child process through its stdin/stdout.
 *
 * The child's stdin and stdout are unix stream sockets rather than pipes
 * so that writes can use MSG_NOSIGNAL: a child that dies early gives an
 * EPIPE error, never a SIGPIPE in the emulator.
 */
#include "qemu/osdep.h"
#include "io/channel-command.h"
#include "io/channel-watch.h"
#include "qapi/error.h"
#include "trace.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* How long close waits for a clean exit before SIGTERM, then SIGKILL. */
#define COMMAND_EXIT_TIMEOUT_MS 10000
#define COMMAND_TERM_TIMEOUT_MS 2000
/* The same, after the channel was shut down. */
#define COMMAND_ABANDON_TIMEOUT_MS 200

static QIOChannelCommand *qio_channel_command_new_pid(int writefd, int readfd,
                                                      pid_t pid)
{
    QIOChannelCommand *cioc = g_new0(QIOChannelCommand, 1);

    qio_channel_init(QIO_CHANNEL(cioc), &qio_channel_command_class);
    cioc->writefd = writefd;
    cioc->readfd = readfd;
    cioc->pid = pid;
    qio_channel_set_feature(QIO_CHANNEL(cioc), QIO_CHANNEL_FEATURE_SHUTDOWN);
    trace_qio_channel_command_new_pid(cioc, writefd, readfd, pid);
    return cioc;
}

/* Runs in the forked child: only async-signal-safe calls. */
static void QEMU_NORETURN command_child(const char *const argv[], int stdinfd,
                                        int stdoutfd, int errpipe,
                                        pid_t parent)
{
    sigset_t all;
    int err;

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) {
        _exit(127);
    }
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);

    if (dup2(stdinfd, STDIN_FILENO) < 0 ||
        dup2(stdoutfd, STDOUT_FILENO) < 0) {
        goto fail;
    }
    if (stdinfd > STDERR_FILENO) {
        close(stdinfd);
    }
    if (stdoutfd > STDERR_FILENO && stdoutfd != stdinfd) {
        close(stdoutfd);
    }
    execvp(argv[0], (char *const *)argv);
fail:
    err = errno;
    if (write(errpipe, &err, sizeof(err)) < 0) {
        /* nothing more we can do */
    }
    _exit(127);
}

QIOChannelCommand *qio_channel_command_new_spawn(const char *const argv[],
                                                 int flags, Error **errp)
{
    int mode = flags & O_ACCMODE;
    bool want_write = mode == O_WRONLY || mode == O_RDWR;
    bool want_read = mode == O_RDONLY || mode == O_RDWR;
    int stdinsv[2] = { -1, -1 }, stdoutsv[2] = { -1, -1 };
    int errpipe[2] = { -1, -1 };
    int devnull = -1;
    int child_in, child_out;
    pid_t parent = getpid();
    pid_t pid;
    ssize_t n;
    int err = 0;

    if (!argv || !argv[0]) {
        error_setg(errp, "Command line is empty");
        return NULL;
    }
    trace_qio_channel_command_new_spawn(NULL, argv[0], flags);

    if ((want_write &&
         socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdinsv) < 0) ||
        (want_read &&
         socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stdoutsv) < 0)) {
        error_setg_errno(errp, errno, "Unable to create command sockets");
        goto error;
    }
    if (!want_write || !want_read) {
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0) {
            error_setg_errno(errp, errno, "Unable to open /dev/null");
            goto error;
        }
    }
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        error_setg_errno(errp, errno, "Unable to create pipe");
        goto error;
    }
    child_in = want_write ? stdinsv[1] : devnull;
    child_out = want_read ? stdoutsv[1] : devnull;

    pid = fork();
    if (pid < 0) {
        error_setg_errno(errp, errno, "Unable to fork for %s", argv[0]);
        goto error;
    }
    if (pid == 0) {
        command_child(argv, child_in, child_out, errpipe[1], parent);
    }

    close(errpipe[1]);
    errpipe[1] = -1;
    do {
        n = read(errpipe[0], &err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    close(errpipe[0]);
    errpipe[0] = -1;
    if (n == sizeof(err)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            /* retry */
        }
        error_setg_errno(errp, err, "Unable to execute %s", argv[0]);
        goto error;
    }

    if (devnull >= 0) {
        close(devnull);
    }
    if (want_write) {
        close(stdinsv[1]);
    }
    if (want_read) {
        close(stdoutsv[1]);
    }
    return qio_channel_command_new_pid(want_write ? stdinsv[0] : -1,
                                       want_read ? stdoutsv[0] : -1, pid);

error:
    for (n = 0; n < 2; n++) {
        if (stdinsv[n] >= 0) {
            close(stdinsv[n]);
        }
        if (stdoutsv[n] >= 0) {
            close(stdoutsv[n]);
        }
        if (errpipe[n] >= 0) {
            close(errpipe[n]);
        }
    }
    if (devnull >= 0) {
        close(devnull);
    }
    return NULL;
}

static ssize_t qio_channel_command_readv(QIOChannel *ioc,
                                         const struct iovec *iov,
                                         size_t niov, int **fds,
                                         size_t *nfds, int flags,
                                         Error **errp)
{
    QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;
    ssize_t ret;

    if (cioc->readfd < 0) {
        error_setg(errp, "Command channel is not readable");
        return -1;
    }
    do {
        ret = readv(cioc->readfd, iov, niov);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to read from command");
        return -1;
    }
    return ret;
}

static ssize_t qio_channel_command_writev(QIOChannel *ioc,
                                          const struct iovec *iov,
                                          size_t niov, int *fds, size_t nfds,
                                          int flags, Error **errp)
{
    QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;
    struct msghdr msg = {
        .msg_iov = (struct iovec *)iov,
        .msg_iovlen = niov,
    };
    ssize_t ret;

    if (cioc->writefd < 0) {
        error_setg(errp, "Command channel is not writable");
        return -1;
    }
    do {
        ret = sendmsg(cioc->writefd, &msg, MSG_NOSIGNAL);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        if (errno == EAGAIN) {
            return QIO_CHANNEL_ERR_BLOCK;
        }
        error_setg_errno(errp, errno, "Unable to write to command");
        return -1;
    }
    return ret;
}

/* waitpid with a deadline; true if the child was reaped. */
static bool command_wait(pid_t pid, int *status, int timeout_ms)
{
    int64_t deadline = get_clock() + (int64_t)timeout_ms * 1000000;

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid) {
            return true;
        }
        if (r < 0 && errno != EINTR) {
            /* Already reaped elsewhere (or not our child). */
            *status = 0;
            return true;
        }
        if (get_clock() >= deadline) {
            return false;
        }
        g_usleep(5000);
    }
}

static int qio_channel_command_close(QIOChannel *ioc, Error **errp)
{
    QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;
    int status = 0;
    bool killed = false;
    bool abandoned;

    if (cioc->writefd >= 0) {
        close(cioc->writefd);
        cioc->writefd = -1;
    }
    if (cioc->readfd >= 0) {
        close(cioc->readfd);
        cioc->readfd = -1;
    }
    if (cioc->pid <= 0) {
        return 0;
    }
    /* After a shutdown nobody wants the child's output any more. */
    abandoned = qatomic_read(&ioc->shutdown) & QIO_CHANNEL_SHUTDOWN_READ;
    if (!command_wait(cioc->pid, &status,
                      abandoned ? COMMAND_ABANDON_TIMEOUT_MS :
                      COMMAND_EXIT_TIMEOUT_MS)) {
        trace_qio_channel_command_kill(cioc, cioc->pid, SIGTERM);
        kill(cioc->pid, SIGTERM);
        killed = true;
        if (!command_wait(cioc->pid, &status, COMMAND_TERM_TIMEOUT_MS)) {
            trace_qio_channel_command_kill(cioc, cioc->pid, SIGKILL);
            kill(cioc->pid, SIGKILL);
            while (waitpid(cioc->pid, &status, 0) < 0 && errno == EINTR) {
                /* retry */
            }
        }
    }
    trace_qio_channel_command_wait(cioc, cioc->pid, status);
    cioc->pid = 0;
    if (abandoned) {
        return 0;
    }
    if (killed) {
        error_setg(errp, "Command did not exit in time and was killed");
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        error_setg(errp, "Command exited with status %d",
                   WEXITSTATUS(status));
        return -1;
    }
    if (WIFSIGNALED(status)) {
        error_setg(errp, "Command was killed by signal %d", WTERMSIG(status));
        return -1;
    }
    return 0;
}

/*
 * WRITE: the child sees end of file on stdin.  READ/BOTH: our blocked
 * reads see end of file and writes fail, the child sees both ends closed.
 */
static int qio_channel_command_shutdown(QIOChannel *ioc,
                                        QIOChannelShutdown how, Error **errp)
{
    QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;

    if (how == QIO_CHANNEL_SHUTDOWN_WRITE && cioc->writefd >= 0) {
        /* The child sees end of file on its stdin. */
        shutdown(cioc->writefd, SHUT_WR);
        return 0;
    }
    if (cioc->writefd >= 0) {
        shutdown(cioc->writefd, SHUT_RDWR);
    }
    if (cioc->readfd >= 0) {
        shutdown(cioc->readfd, SHUT_RDWR);
    }
    return 0;
}

static int qio_channel_command_set_blocking(QIOChannel *ioc, bool enabled,
                                            Error **errp)
{
    QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;
    int fds[2] = { cioc->readfd, cioc->writefd };
    int i;

    for (i = 0; i < 2; i++) {
        int fl;

        if (fds[i] < 0) {
            continue;
        }
        fl = fcntl(fds[i], F_GETFL);
        if (fl < 0 ||
            fcntl(fds[i], F_SETFL,
                  enabled ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK)) < 0) {
            error_setg_errno(errp, errno, "Unable to set command fd flags");
            return -1;
        }
    }
    return 0;
}

static GSource *qio_channel_command_create_watch(QIOChannel *ioc,
                                                 GIOCondition condition)
{
    QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;

    return qio_channel_create_fd_pair_watch(ioc, cioc->readfd, cioc->writefd,
                                            condition);
}

static int qio_channel_command_get_fd(QIOChannel *ioc, GIOCondition condition)
{
    QIOChannelCommand *cioc = (QIOChannelCommand *)ioc;

    return (condition & G_IO_OUT) ? cioc->writefd : cioc->readfd;
}

const QIOChannelClass qio_channel_command_class = {
    .type_name = TYPE_QIO_CHANNEL_COMMAND,
    .io_readv = qio_channel_command_readv,
    .io_writev = qio_channel_command_writev,
    .io_close = qio_channel_command_close,
    .io_shutdown = qio_channel_command_shutdown,
    .io_set_blocking = qio_channel_command_set_blocking,
    .io_create_watch = qio_channel_command_create_watch,
    .io_get_fd = qio_channel_command_get_fd,
};
