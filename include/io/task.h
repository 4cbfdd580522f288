/*
 * QIOTask: the outcome of an asynchronous I/O operation (e.g. a connect
 * run in a worker thread), delivered to a callback in the main loop.
 *
 * The callback receives the task; it calls qio_task_propagate_error() to
 * learn whether the operation failed and qio_task_get_source() for the
 * channel it was about.  The task is freed after the callback returns.
 */
#ifndef IO_TASK_H
#define IO_TASK_H

#include "qemu/osdep.h"

typedef struct QIOTask QIOTask;

typedef void (*QIOTaskFunc)(QIOTask *task, gpointer opaque);
/* Runs in the worker thread; reports failure with qio_task_set_error. */
typedef void (*QIOTaskWorker)(QIOTask *task, gpointer opaque);

/*
 * @source (may be NULL) is a QIOChannel; the task holds a reference on it
 * until it is freed.  @destroy(@opaque) is called when the task is freed.
 */
QIOTask *qio_task_new(QIOChannel *source, QIOTaskFunc func, gpointer opaque,
                      GDestroyNotify destroy);
/*
 * Run @worker(@task, @opaque) in a new thread, then complete the task
 * (call the QIOTaskFunc and free it) in @context (NULL = the default main
 * context).  @destroy(@opaque) is called after the worker returns.
 */
void qio_task_run_in_thread(QIOTask *task, QIOTaskWorker worker,
                            gpointer opaque, GDestroyNotify destroy,
                            GMainContext *context);
/* Call the callback now, in the calling thread, and free the task. */
void qio_task_complete(QIOTask *task);

/* Record a failure (the first one wins; ownership of @err taken). */
void qio_task_set_error(QIOTask *task, Error *err);
/* True and *@errp set (the error is moved out) if the task failed. */
bool qio_task_propagate_error(QIOTask *task, Error **errp);
bool qio_task_had_error(QIOTask *task);
/* The source channel (borrowed), or NULL. */
QIOChannel *qio_task_get_source(QIOTask *task);

/* An arbitrary result pointer handed from the worker to the callback. */
void qio_task_set_result_pointer(QIOTask *task, gpointer result,
                                 GDestroyNotify destroy);
gpointer qio_task_get_result_pointer(QIOTask *task);

#endif
