/*
 * QIOChannelNull: discards writes, reads give end of file; always ready.
 * After close, reads and writes fail.
 */
#ifndef IO_CHANNEL_NULL_H
#define IO_CHANNEL_NULL_H

#include "io/channel.h"

typedef struct QIOChannelNull {
    QIOChannel parent;
} QIOChannelNull;

extern const QIOChannelClass qio_channel_null_class;
#define TYPE_QIO_CHANNEL_NULL "qio-channel-null"
#define QIO_CHANNEL_NULL(obj) \
    ((QIOChannelNull *)qio_channel_check_type((obj), &qio_channel_null_class))

QIOChannelNull *qio_channel_null_new(void);

#endif
