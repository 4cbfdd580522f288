/*
 * QIOChannelBuffer: a QIOChannel over a growable memory buffer.  Writes
 * go at @offset (growing @usage and @capacity); reads come from @offset up
 * to @usage.  Seekable.  Not thread safe.
 */
#ifndef IO_CHANNEL_BUFFER_H
#define IO_CHANNEL_BUFFER_H

#include "io/channel.h"

typedef struct QIOChannelBuffer {
    QIOChannel parent;
    size_t capacity;   /* allocated bytes */
    size_t usage;      /* bytes of valid data */
    size_t offset;     /* current read/write position */
    uint8_t *data;
} QIOChannelBuffer;

extern const QIOChannelClass qio_channel_buffer_class;
#define TYPE_QIO_CHANNEL_BUFFER "qio-channel-buffer"
#define QIO_CHANNEL_BUFFER(obj) \
    ((QIOChannelBuffer *)qio_channel_check_type((obj), \
                                                &qio_channel_buffer_class))

/* A new empty buffer with @capacity bytes preallocated. */
QIOChannelBuffer *qio_channel_buffer_new(size_t capacity);

#endif
