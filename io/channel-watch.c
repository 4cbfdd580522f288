/*
 * GSources watching the fds of a channel.  The callback has the
 * QIOChannelFunc signature; the source holds a reference on the channel.
 */
#include "qemu/osdep.h"
#include "io/channel-watch.h"

/* Conditions poll() reports whatever was asked for. */
#define ALWAYS_REPORTED (G_IO_HUP | G_IO_ERR | G_IO_NVAL)

typedef struct QIOChannelFDSource {
    GSource parent;
    QIOChannel *ioc;
    GIOCondition condition;
    GPollFD fdread;
    GPollFD fdwrite;    /* unused (fd -1) for a single fd watch */
} QIOChannelFDSource;

static gboolean fd_source_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return FALSE;
}

static GIOCondition fd_source_revents(QIOChannelFDSource *s)
{
    GIOCondition rev = s->fdread.revents;

    if (s->fdwrite.fd >= 0) {
        rev |= s->fdwrite.revents;
    }
    return rev & (s->condition | ALWAYS_REPORTED);
}

static gboolean fd_source_check(GSource *source)
{
    return fd_source_revents((QIOChannelFDSource *)source) != 0;
}

static gboolean fd_source_dispatch(GSource *source, GSourceFunc callback,
                                   gpointer user_data)
{
    QIOChannelFDSource *s = (QIOChannelFDSource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;

    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(s->ioc, fd_source_revents(s), user_data);
}

static void fd_source_finalize(GSource *source)
{
    QIOChannelFDSource *s = (QIOChannelFDSource *)source;

    qio_channel_unref(s->ioc);
}

static GSourceFuncs fd_source_funcs = {
    .prepare = fd_source_prepare,
    .check = fd_source_check,
    .dispatch = fd_source_dispatch,
    .finalize = fd_source_finalize,
};

GSource *qio_channel_create_fd_pair_watch(QIOChannel *ioc, int fdread,
                                          int fdwrite,
                                          GIOCondition condition)
{
    GSource *source = g_source_new(&fd_source_funcs,
                                   sizeof(QIOChannelFDSource));
    QIOChannelFDSource *s = (QIOChannelFDSource *)source;

    s->ioc = qio_channel_ref(ioc);
    s->condition = condition;
    s->fdread.fd = -1;
    s->fdwrite.fd = -1;
    if (fdread == fdwrite) {
        s->fdread.fd = fdread;
        s->fdread.events = condition;
        g_source_add_poll(source, &s->fdread);
        g_source_set_name(source, "QIOChannelFD");
        return source;
    }
    if ((condition & (G_IO_IN | G_IO_PRI)) && fdread >= 0) {
        s->fdread.fd = fdread;
        s->fdread.events = condition & (G_IO_IN | G_IO_PRI);
        g_source_add_poll(source, &s->fdread);
    }
    if ((condition & G_IO_OUT) && fdwrite >= 0) {
        s->fdwrite.fd = fdwrite;
        s->fdwrite.events = G_IO_OUT;
        g_source_add_poll(source, &s->fdwrite);
    }
    g_source_set_name(source, "QIOChannelFDPair");
    return source;
}

GSource *qio_channel_create_fd_watch(QIOChannel *ioc, int fd,
                                     GIOCondition condition)
{
    return qio_channel_create_fd_pair_watch(ioc, fd, fd, condition);
}

typedef struct QIOChannelReadySource {
    GSource parent;
    QIOChannel *ioc;
    GIOCondition condition;
} QIOChannelReadySource;

static gboolean ready_source_prepare(GSource *source, gint *timeout)
{
    *timeout = 0;
    return TRUE;
}

static gboolean ready_source_check(GSource *source)
{
    return TRUE;
}

static gboolean ready_source_dispatch(GSource *source, GSourceFunc callback,
                                      gpointer user_data)
{
    QIOChannelReadySource *s = (QIOChannelReadySource *)source;
    QIOChannelFunc func = (QIOChannelFunc)(void (*)(void))callback;

    if (!func) {
        return G_SOURCE_REMOVE;
    }
    return func(s->ioc, s->condition, user_data);
}

static void ready_source_finalize(GSource *source)
{
    qio_channel_unref(((QIOChannelReadySource *)source)->ioc);
}

static GSourceFuncs ready_source_funcs = {
    .prepare = ready_source_prepare,
    .check = ready_source_check,
    .dispatch = ready_source_dispatch,
    .finalize = ready_source_finalize,
};

GSource *qio_channel_create_always_ready_watch(QIOChannel *ioc,
                                               GIOCondition condition)
{
    GSource *source = g_source_new(&ready_source_funcs,
                                   sizeof(QIOChannelReadySource));
    QIOChannelReadySource *s = (QIOChannelReadySource *)source;

    s->ioc = qio_channel_ref(ioc);
    s->condition = condition;
    g_source_set_name(source, "QIOChannelReady");
    return source;
}
