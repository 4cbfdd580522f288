/*
 * Character devices: the byte pipes under serial ports, monitors and qtest.
 *
 * A Chardev is created from "-chardev BACKEND,id=ID,..." options (or the
 * shorthand of -serial/-monitor/-qmp/-qtest, see qemu_chr_new()).  One
 * frontend (UART, monitor, qtest) attaches to it with qemu_chr_fe_set_handlers;
 * incoming bytes are delivered in the main thread (GLib main loop).
 * Backends: stdio, file (path=), socket (path= or host=/port=, server=on|off,
 * wait=on|off; fd= for an inherited socket), null, pipe-less 'mux' is not
 * supported.
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H

#include "qemu/osdep.h"

typedef enum QEMUChrEvent {
    CHR_EVENT_BREAK,
    CHR_EVENT_OPENED,    /* a client connected (socket) / backend opened */
    CHR_EVENT_MUX_IN,
    CHR_EVENT_MUX_OUT,
    CHR_EVENT_CLOSED,    /* the client went away */
} QEMUChrEvent;

typedef int IOCanReadHandler(void *opaque);
typedef void IOReadHandler(void *opaque, const uint8_t *buf, int size);
typedef void IOEventHandler(void *opaque, QEMUChrEvent event);

/*
 * Create a chardev from a -chardev option string ("socket,id=m,path=/x,
 * server=on,wait=off").  Errors name the option.
 */
Chardev *qemu_chr_new_from_opts_str(const char *opts, Error **errp);
/*
 * Create a chardev from the legacy shorthand used by -serial, -monitor,
 * -qmp, -qtest: "stdio", "null", "none" (returns NULL, no error),
 * "file:PATH", "unix:PATH[,server=on,wait=off]", "tcp:HOST:PORT[,server=on,wait=off]",
 * "chardev:ID" (an existing one).  @label becomes its id.
 */
Chardev *qemu_chr_new(const char *label, const char *spec, Error **errp);
Chardev *qemu_chr_find(const char *id);
const char *qemu_chr_get_id(Chardev *chr);
/* Close every chardev (exit path). */
void qemu_chr_cleanup(void);

/* Frontend API.  All handlers run in the main thread. */
void qemu_chr_fe_set_handlers(Chardev *chr, IOCanReadHandler *can_read,
                              IOReadHandler *read, IOEventHandler *event,
                              void *opaque);
/* Write everything (blocking if needed), from any thread; -errno on error. */
int qemu_chr_fe_write_all(Chardev *chr, const uint8_t *buf, int len);
/* Ask the backend to poll again after can_read went from 0 to non-zero. */
void qemu_chr_fe_accept_input(Chardev *chr);
bool qemu_chr_fe_connected(Chardev *chr);
/* Drop the current client of a server socket. */
void qemu_chr_fe_disconnect(Chardev *chr);
/* SCM_RIGHTS fds received with the last read (socket backends); -1 if none. */
int qemu_chr_fe_get_msgfd(Chardev *chr);
/* Echo/raw mode for stdio used by a readline monitor. */
void qemu_chr_fe_set_echo(Chardev *chr, bool echo);

#endif
