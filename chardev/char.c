/*
 * Character devices: registry, option parsing, frontend API and the
 * throttled input source shared by the backends.
 */
#include "qemu/osdep.h"
#include "chardev-internal.h"
#include "qapi/error.h"
#include "trace.h"

/* Largest chunk handed to a frontend in one read callback. */
#define CHR_READ_BUF_LEN 4096

static GHashTable *chardevs;    /* id -> Chardev */

static const ChardevDriver *const chardev_drivers[] = {
    &char_null_driver,
    &char_file_driver,
    &char_stdio_driver,
    &char_socket_driver,
};

static const ChardevDriver *chardev_driver_find(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(chardev_drivers); i++) {
        if (!strcmp(chardev_drivers[i]->name, name)) {
            return chardev_drivers[i];
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ input */

typedef struct ChrReadSource {
    GSource parent;
    Chardev *chr;
    QIOChannel *ioc;
    GPollFD pfd;
    bool polling;
    bool fdpass;
} ChrReadSource;

static int chr_can_read(Chardev *chr)
{
    if (!chr->fe_read) {
        return 0;
    }
    if (!chr->fe_can_read) {
        return CHR_READ_BUF_LEN;
    }
    return chr->fe_can_read(chr->fe_opaque);
}

static gboolean chr_read_source_prepare(GSource *source, gint *timeout)
{
    ChrReadSource *s = (ChrReadSource *)source;
    bool want = chr_can_read(s->chr) > 0;

    /* Only poll the fd while the frontend can take data. */
    if (want && !s->polling) {
        g_source_add_poll(source, &s->pfd);
        s->polling = true;
    } else if (!want && s->polling) {
        g_source_remove_poll(source, &s->pfd);
        s->polling = false;
    }
    *timeout = -1;
    return FALSE;
}

static gboolean chr_read_source_check(GSource *source)
{
    ChrReadSource *s = (ChrReadSource *)source;

    return s->polling && (s->pfd.revents & (G_IO_IN | G_IO_HUP | G_IO_ERR |
                                            G_IO_NVAL));
}

static void chr_store_msgfds(Chardev *chr, int *fds, size_t nfds)
{
    if (!nfds) {
        return;
    }
    /* Newly arrived descriptors replace the ones nobody took. */
    qemu_chr_clear_msgfds(chr);
    chr->msgfds = fds;
    chr->nmsgfds = nfds;
    trace_qemu_chr_msgfds(chr->id, (int)nfds);
}

static gboolean chr_read_source_dispatch(GSource *source, GSourceFunc cb,
                                         gpointer user_data)
{
    ChrReadSource *s = (ChrReadSource *)source;
    Chardev *chr = s->chr;
    uint8_t buf[CHR_READ_BUF_LEN];
    struct iovec iov = { .iov_base = buf };
    int *fds = NULL;
    size_t nfds = 0;
    ssize_t len;
    int max = chr_can_read(chr);

    if (max <= 0) {
        return G_SOURCE_CONTINUE;
    }
    iov.iov_len = MIN(max, (int)sizeof(buf));
    len = qio_channel_readv_full(s->ioc, &iov, 1,
                                 s->fdpass ? &fds : NULL,
                                 s->fdpass ? &nfds : NULL, 0, NULL);
    if (len == QIO_CHANNEL_ERR_BLOCK) {
        return G_SOURCE_CONTINUE;
    }
    if (len <= 0) {
        size_t i;

        for (i = 0; i < nfds; i++) {
            close(fds[i]);
        }
        g_free(fds);
        trace_qemu_chr_hangup(chr->id);
        /* The backend is told once; this source is finished. */
        if (chr->read_source == source) {
            chr->read_source = NULL;
            g_source_unref(source);
        }
        if (chr->drv->hangup) {
            chr->drv->hangup(chr);
        }
        return G_SOURCE_REMOVE;
    }
    chr_store_msgfds(chr, fds, nfds);
    trace_qemu_chr_read(chr->id, (int)len);
    chr->fe_read(chr->fe_opaque, buf, len);
    return G_SOURCE_CONTINUE;
}

static void chr_read_source_finalize(GSource *source)
{
    qio_channel_unref(((ChrReadSource *)source)->ioc);
}

static GSourceFuncs chr_read_source_funcs = {
    .prepare = chr_read_source_prepare,
    .check = chr_read_source_check,
    .dispatch = chr_read_source_dispatch,
    .finalize = chr_read_source_finalize,
};

void qemu_chr_start_reading(Chardev *chr, QIOChannel *ioc, bool fdpass)
{
    GSource *source;
    ChrReadSource *s;
    int fd = qio_channel_get_fd(ioc, G_IO_IN);

    qemu_chr_stop_reading(chr);
    g_assert(fd >= 0);
    source = g_source_new(&chr_read_source_funcs, sizeof(ChrReadSource));
    s = (ChrReadSource *)source;
    s->chr = chr;
    s->ioc = qio_channel_ref(ioc);
    s->pfd.fd = fd;
    s->pfd.events = G_IO_IN | G_IO_HUP | G_IO_ERR;
    s->fdpass = fdpass;
    g_source_set_name(source, "chardev-read");
    g_source_attach(source, NULL);
    chr->read_source = source;
}

void qemu_chr_stop_reading(Chardev *chr)
{
    if (chr->read_source) {
        g_source_destroy(chr->read_source);
        g_source_unref(chr->read_source);
        chr->read_source = NULL;
    }
}

void qemu_chr_clear_msgfds(Chardev *chr)
{
    size_t i;

    for (i = 0; i < chr->nmsgfds; i++) {
        if (chr->msgfds[i] >= 0) {
            close(chr->msgfds[i]);
        }
    }
    g_free(chr->msgfds);
    chr->msgfds = NULL;
    chr->nmsgfds = 0;
}

void qemu_chr_be_event(Chardev *chr, QEMUChrEvent event)
{
    trace_qemu_chr_event(chr->id, (int)event);
    if (event == CHR_EVENT_CLOSED) {
        qemu_chr_clear_msgfds(chr);
    }
    if (chr->fe_event) {
        chr->fe_event(chr->fe_opaque, event);
    }
}

/* ------------------------------------------------------------ creation */

static Chardev *qemu_chr_new_from_opts(QemuOpts *opts, const char *id,
                                       Error **errp)
{
    const char *backend = qemu_opt_get(opts, "backend");
    const ChardevDriver *drv;
    Chardev *chr;
    g_autofree char *what = NULL;

    if (!backend) {
        error_setg(errp, "chardev: 'backend' is required");
        return NULL;
    }
    drv = chardev_driver_find(backend);
    if (!drv) {
        error_setg(errp, "chardev: '%s' is not a valid char driver name",
                   backend);
        return NULL;
    }
    if (!id) {
        id = qemu_opts_id(opts);
    } else {
        /* An explicit label wins over any id= given in the spec. */
        (void)qemu_opts_id(opts);
    }
    if (!id || !*id) {
        error_setg(errp, "chardev: %s: 'id' is required", backend);
        return NULL;
    }
    if (chardevs && g_hash_table_contains(chardevs, id)) {
        error_setg(errp, "chardev: duplicate id '%s'",
                   id);
        return NULL;
    }

    chr = g_malloc0(drv->instance_size);
    chr->drv = drv;
    chr->id = g_strdup(id);
    qemu_mutex_init(&chr->write_lock);
    what = g_strdup_printf("chardev: %s", backend);
    if (!drv->open(chr, opts, errp)) {
        goto fail;
    }
    if (!qemu_opts_check_unused(opts, what, errp)) {
        if (drv->close) {
            drv->close(chr);
        }
        goto fail;
    }
    if (!chardevs) {
        chardevs = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(chardevs, chr->id, chr);
    trace_qemu_chr_new(chr->id, backend);
    return chr;

fail:
    qemu_mutex_destroy(&chr->write_lock);
    g_free(chr->id);
    g_free(chr);
    return NULL;
}

Chardev *qemu_chr_new_from_opts_str(const char *str, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(str, "backend", errp);
    Chardev *chr;

    if (!opts) {
        return NULL;
    }
    chr = qemu_chr_new_from_opts(opts, NULL, errp);
    qemu_opts_free(opts);
    return chr;
}

/* Split "HOST:PORT,rest" into "host=HOST,port=PORT,rest". */
static char *chr_tcp_spec_to_opts(const char *spec, Error **errp)
{
    const char *comma = strchr(spec, ',');
    g_autofree char *hostport = comma ? g_strndup(spec, comma - spec)
                                      : g_strdup(spec);
    const char *colon = strrchr(hostport, ':');
    g_autofree char *host = NULL;

    if (!colon) {
        error_setg(errp, "chardev: tcp: '%s' is not HOST:PORT", hostport);
        return NULL;
    }
    host = g_strndup(hostport, colon - hostport);
    /* "[::1]:4444" */
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        char *inner = g_strndup(host + 1, strlen(host) - 2);

        g_free(host);
        host = inner;
    }
    return g_strdup_printf("socket,host=%s,port=%s%s", host, colon + 1,
                           comma ? comma : "");
}

Chardev *qemu_chr_new(const char *label, const char *spec, Error **errp)
{
    g_autofree char *optstr = NULL;
    QemuOpts *opts;
    Chardev *chr;
    const char *p;

    if (!strcmp(spec, "none")) {
        return NULL;
    }
    if (g_str_has_prefix(spec, "chardev:")) {
        chr = qemu_chr_find(spec + strlen("chardev:"));
        if (!chr) {
            error_setg(errp, "chardev '%s' not found",
                       spec + strlen("chardev:"));
        }
        return chr;
    }
    if (!strcmp(spec, "stdio") || g_str_has_prefix(spec, "stdio,") ||
        !strcmp(spec, "null") || g_str_has_prefix(spec, "null,")) {
        optstr = g_strdup(spec);
    } else if ((p = g_str_has_prefix(spec, "file:") ? spec + 5 : NULL)) {
        g_autofree char *path = g_strdup(p);
        GString *esc = g_string_new("file,path=");
        const char *c;

        /* The path is taken literally: double any comma. */
        for (c = path; *c; c++) {
            g_string_append_c(esc, *c);
            if (*c == ',') {
                g_string_append_c(esc, ',');
            }
        }
        optstr = g_string_free(esc, FALSE);
    } else if ((p = g_str_has_prefix(spec, "unix:") ? spec + 5 : NULL)) {
        optstr = g_strdup_printf("socket,path=%s", p);
    } else if ((p = g_str_has_prefix(spec, "tcp:") ? spec + 4 : NULL)) {
        optstr = chr_tcp_spec_to_opts(p, errp);
        if (!optstr) {
            return NULL;
        }
    } else {
        error_setg(errp, "chardev: '%s' is not a valid chardev specification",
                   spec);
        return NULL;
    }
    opts = qemu_opts_parse(optstr, "backend", errp);
    if (!opts) {
        return NULL;
    }
    chr = qemu_chr_new_from_opts(opts, label, errp);
    qemu_opts_free(opts);
    return chr;
}

Chardev *qemu_chr_find(const char *id)
{
    return chardevs ? g_hash_table_lookup(chardevs, id) : NULL;
}

const char *qemu_chr_get_id(Chardev *chr)
{
    return chr->id;
}

static void qemu_chr_free(Chardev *chr)
{
    trace_qemu_chr_free(chr->id);
    qemu_chr_stop_reading(chr);
    if (chr->drv->close) {
        chr->drv->close(chr);
    }
    qemu_chr_clear_msgfds(chr);
    qemu_mutex_destroy(&chr->write_lock);
    g_free(chr->id);
    g_free(chr);
}

void qemu_chr_cleanup(void)
{
    GHashTable *all = chardevs;
    GHashTableIter iter;
    gpointer value;

    if (!all) {
        return;
    }
    chardevs = NULL;
    g_hash_table_iter_init(&iter, all);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        qemu_chr_free(value);
    }
    g_hash_table_destroy(all);
}

/* ------------------------------------------------------------ frontend */

void qemu_chr_fe_set_handlers(Chardev *chr, IOCanReadHandler *can_read,
                              IOReadHandler *read, IOEventHandler *event,
                              void *opaque)
{
    bool had_frontend = chr->fe_read || chr->fe_event;

    chr->fe_can_read = can_read;
    chr->fe_read = read;
    chr->fe_event = event;
    chr->fe_opaque = opaque;
    if (chr->drv->handlers_changed) {
        chr->drv->handlers_changed(chr);
    }
    /* A new frontend on an open backend learns that it is open. */
    if (!had_frontend && event && qemu_chr_fe_connected(chr)) {
        qemu_chr_be_event(chr, CHR_EVENT_OPENED);
    }
    g_main_context_wakeup(NULL);
}

int qemu_chr_fe_write_all(Chardev *chr, const uint8_t *buf, int len)
{
    int ret;

    if (!chr) {
        return len;
    }
    qemu_mutex_lock(&chr->write_lock);
    ret = chr->drv->write(chr, buf, len);
    qemu_mutex_unlock(&chr->write_lock);
    return ret;
}

void qemu_chr_fe_accept_input(Chardev *chr)
{
    /* The read source re-evaluates can_read in its prepare step. */
    g_main_context_wakeup(NULL);
}

bool qemu_chr_fe_connected(Chardev *chr)
{
    if (chr->drv->connected) {
        return chr->drv->connected(chr);
    }
    return chr->be_open;
}

void qemu_chr_fe_disconnect(Chardev *chr)
{
    if (chr->drv->disconnect) {
        chr->drv->disconnect(chr);
    }
}

int qemu_chr_fe_get_msgfd(Chardev *chr)
{
    int fd;

    if (!chr->nmsgfds) {
        return -1;
    }
    fd = chr->msgfds[0];
    memmove(chr->msgfds, chr->msgfds + 1,
            (chr->nmsgfds - 1) * sizeof(int));
    chr->nmsgfds--;
    if (!chr->nmsgfds) {
        g_free(chr->msgfds);
        chr->msgfds = NULL;
    }
    return fd;
}

void qemu_chr_fe_set_echo(Chardev *chr, bool echo)
{
    if (chr->drv->set_echo) {
        chr->drv->set_echo(chr, echo);
    }
}

/* ------------------------------------------------------------ null */

static bool null_open(Chardev *chr, QemuOpts *opts, Error **errp)
{
    chr->be_open = true;
    return true;
}

static int null_write(Chardev *chr, const uint8_t *buf, int len)
{
    return len;
}

const ChardevDriver char_null_driver = {
    .name = "null",
    .instance_size = sizeof(Chardev),
    .open = null_open,
    .write = null_write,
};
