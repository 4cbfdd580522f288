/*
 * Private definitions shared by the chardev core and its backends.
 */
#ifndef CHARDEV_INTERNAL_H
#define CHARDEV_INTERNAL_H

#include "chardev/char.h"
#include "io/channel.h"
#include "qemu/option.h"
#include "qemu/thread.h"

typedef struct ChardevDriver {
    const char *name;
    size_t instance_size;          /* >= sizeof(Chardev) */
    /* Parse the options and open the backend.  Must read every option. */
    bool (*open)(Chardev *chr, QemuOpts *opts, Error **errp);
    /*
     * Write all of @buf; called with chr->write_lock held, from any
     * thread.  Returns @len or -errno.
     */
    int (*write)(Chardev *chr, const uint8_t *buf, int len);
    /* The read source hit end of file or an error (main thread). */
    void (*hangup)(Chardev *chr);
    /* Frontend handlers changed (main thread); optional. */
    void (*handlers_changed)(Chardev *chr);
    bool (*connected)(Chardev *chr);    /* optional: default be_open */
    void (*disconnect)(Chardev *chr);   /* optional */
    void (*set_echo)(Chardev *chr, bool echo);  /* optional */
    void (*close)(Chardev *chr);        /* free backend resources */
} ChardevDriver;

struct Chardev {
    const ChardevDriver *drv;
    char *id;
    bool be_open;

    /* Frontend (main thread). */
    IOCanReadHandler *fe_can_read;
    IOReadHandler *fe_read;
    IOEventHandler *fe_event;
    void *fe_opaque;

    /* Serialises frontend writes (any thread). */
    QemuMutex write_lock;

    /* The read source of the current input channel (main thread). */
    GSource *read_source;

    /* fds received with data and not yet taken (main thread). */
    int *msgfds;
    size_t nmsgfds;
};

extern const ChardevDriver char_null_driver;
extern const ChardevDriver char_file_driver;
extern const ChardevDriver char_stdio_driver;
extern const ChardevDriver char_socket_driver;

/*
 * Start delivering input read from @ioc to the frontend (main thread),
 * throttled by its can_read handler.  If @fdpass, SCM_RIGHTS fds that
 * arrive are kept for qemu_chr_fe_get_msgfd.  On end of file or error the
 * source stops and drv->hangup is called.  Replaces any previous source.
 */
void qemu_chr_start_reading(Chardev *chr, QIOChannel *ioc, bool fdpass);
void qemu_chr_stop_reading(Chardev *chr);

/* Tell the frontend about an event (main thread). */
void qemu_chr_be_event(Chardev *chr, QEMUChrEvent event);
/* Drop received fds that nobody took. */
void qemu_chr_clear_msgfds(Chardev *chr);

#endif
