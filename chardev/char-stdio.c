/*
 * The stdio chardev: input from fd 0, output to fd 1.  When stdin is a
 * terminal and a readline frontend turns echo off, the terminal goes to
 * raw mode (signals still work); the original settings come back at exit.
 */
#include "qemu/osdep.h"
#include "chardev-internal.h"
#include "io/channel-file.h"
#include "qapi/error.h"
#include "trace.h"

#include <termios.h>

typedef struct StdioChardev {
    Chardev parent;
    QIOChannelFile *in;
    bool signal;        /* signal=on: ^C still raises SIGINT */
} StdioChardev;

static bool stdio_in_use;
static bool stdio_saved;
static struct termios stdio_orig_tty;

static void stdio_restore_tty(void)
{
    if (stdio_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_orig_tty);
    }
}

static void stdio_set_echo(Chardev *chr, bool echo)
{
    StdioChardev *s = (StdioChardev *)chr;
    struct termios tty;

    if (!stdio_saved) {
        return;
    }
    tty = stdio_orig_tty;
    if (!echo) {
        tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                         ICRNL | IXON);
        tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
        if (!s->signal) {
            tty.c_lflag &= ~ISIG;
        }
        tty.c_cflag &= ~(CSIZE | PARENB);
        tty.c_cflag |= CS8;
        tty.c_cc[VMIN] = 1;
        tty.c_cc[VTIME] = 0;
    }
    tcsetattr(STDIN_FILENO, TCSANOW, &tty);
}

static void stdio_start(Chardev *chr)
{
    StdioChardev *s = (StdioChardev *)chr;

    if (s->in) {
        qemu_chr_start_reading(chr, QIO_CHANNEL(s->in), false);
    }
}

static bool stdio_open(Chardev *chr, QemuOpts *opts, Error **errp)
{
    StdioChardev *s = (StdioChardev *)chr;
    Error *err = NULL;
    bool sig;

    if (!qemu_opt_get_bool_checked(opts, "signal", true, &sig, errp) ||
        !qemu_opts_check_unused(opts, "chardev: stdio", errp)) {
        return false;
    }
    if (stdio_in_use) {
        error_setg(errp, "chardev: stdio: cannot use stdio by multiple "
                   "character devices");
        return false;
    }
    s->signal = sig;
    s->in = qio_channel_file_new_dupfd(STDIN_FILENO, &err);
    if (!s->in) {
        /* No stdin (closed): output only. */
        error_free(err);
    }
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &stdio_orig_tty) == 0) {
        if (!stdio_saved) {
            atexit(stdio_restore_tty);
        }
        stdio_saved = true;
    }
    stdio_in_use = true;
    chr->be_open = true;
    stdio_start(chr);
    return true;
}

static int stdio_write(Chardev *chr, const uint8_t *buf, int len)
{
    int done = 0;

    while (done < len) {
        ssize_t n = write(STDOUT_FILENO, buf + done, len - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                /* Someone made stdout non-blocking: wait for room. */
                g_usleep(1000);
                continue;
            }
            return -errno;
        }
        done += n;
    }
    return len;
}

static void stdio_hangup(Chardev *chr)
{
    /* End of input: keep writing, stop reading. */
}

static void stdio_close(Chardev *chr)
{
    StdioChardev *s = (StdioChardev *)chr;

    qemu_chr_stop_reading(chr);
    qio_channel_unref(QIO_CHANNEL(s->in));
    s->in = NULL;
    stdio_restore_tty();
    stdio_in_use = false;
}

const ChardevDriver char_stdio_driver = {
    .name = "stdio",
    .instance_size = sizeof(StdioChardev),
    .open = stdio_open,
    .write = stdio_write,
    .hangup = stdio_hangup,
    .set_echo = stdio_set_echo,
    .close = stdio_close,
};

/* ------------------------------------------------------------ file */

typedef struct FileChardev {
    Chardev parent;
    int fd;
} FileChardev;

static bool file_open(Chardev *chr, QemuOpts *opts, Error **errp)
{
    FileChardev *s = (FileChardev *)chr;
    const char *path = qemu_opt_get(opts, "path");
    bool append;
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC;

    if (!qemu_opt_get_bool_checked(opts, "append", false, &append, errp) ||
        !qemu_opts_check_unused(opts, "chardev: file", errp)) {
        /* before open: an unknown option must not truncate the file */
        return false;
    }
    if (!path || !*path) {
        error_setg(errp, "chardev: file: 'path' is required");
        return false;
    }
    flags |= append ? O_APPEND : O_TRUNC;
    do {
        s->fd = open(path, flags, 0666);
    } while (s->fd < 0 && errno == EINTR);
    if (s->fd < 0) {
        error_setg_errno(errp, errno, "chardev: file: could not open '%s'",
                         path);
        return false;
    }
    chr->be_open = true;
    return true;
}

static int file_write(Chardev *chr, const uint8_t *buf, int len)
{
    FileChardev *s = (FileChardev *)chr;
    int done = 0;

    while (done < len) {
        ssize_t n = write(s->fd, buf + done, len - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        done += n;
    }
    return len;
}

static void file_close(Chardev *chr)
{
    FileChardev *s = (FileChardev *)chr;

    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

const ChardevDriver char_file_driver = {
    .name = "file",
    .instance_size = sizeof(FileChardev),
    .open = file_open,
    .write = file_write,
    .close = file_close,
};
