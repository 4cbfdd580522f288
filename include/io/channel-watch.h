/*
 * GSources for channel watches, for implementers of channel types.
 * Their callbacks have the QIOChannelFunc signature.
 */
#ifndef IO_CHANNEL_WATCH_H
#define IO_CHANNEL_WATCH_H

#include "io/channel.h"

/* Watch one fd (both directions on the same fd). */
GSource *qio_channel_create_fd_watch(QIOChannel *ioc, int fd,
                                     GIOCondition condition);
/* Watch a read fd for G_IO_IN and a write fd for G_IO_OUT. */
GSource *qio_channel_create_fd_pair_watch(QIOChannel *ioc, int fdread,
                                          int fdwrite,
                                          GIOCondition condition);
/* A source that is always ready for @condition (buffer, null). */
GSource *qio_channel_create_always_ready_watch(QIOChannel *ioc,
                                               GIOCondition condition);

#endif
