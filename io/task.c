/*
 * QIOTask: completion of asynchronous I/O work in a main context.
 */
#include "qemu/osdep.h"
#include "io/task.h"
#include "io/channel.h"
#include "qapi/error.h"
#include "qemu/thread.h"
#include "trace.h"

struct QIOTask {
    QIOChannel *source;
    QIOTaskFunc func;
    gpointer opaque;
    GDestroyNotify destroy;
    Error *err;
    gpointer result;
    GDestroyNotify destroy_result;

    /* Worker thread state. */
    QIOTaskWorker worker;
    gpointer worker_opaque;
    GDestroyNotify worker_destroy;
    GMainContext *context;
};

QIOTask *qio_task_new(QIOChannel *source, QIOTaskFunc func, gpointer opaque,
                      GDestroyNotify destroy)
{
    QIOTask *task = g_new0(QIOTask, 1);

    task->source = source ? qio_channel_ref(source) : NULL;
    task->func = func;
    task->opaque = opaque;
    task->destroy = destroy;
    trace_qio_task_new(task, source);
    return task;
}

static void qio_task_free(QIOTask *task)
{
    if (task->destroy) {
        task->destroy(task->opaque);
    }
    if (task->destroy_result) {
        task->destroy_result(task->result);
    }
    if (task->err) {
        error_free(task->err);
    }
    if (task->context) {
        g_main_context_unref(task->context);
    }
    qio_channel_unref(task->source);
    g_free(task);
}

void qio_task_complete(QIOTask *task)
{
    trace_qio_task_complete(task);
    if (task->func) {
        task->func(task, task->opaque);
    }
    qio_task_free(task);
}

static gboolean qio_task_thread_result(gpointer opaque)
{
    qio_task_complete(opaque);
    return G_SOURCE_REMOVE;
}

static void *qio_task_thread_worker(void *opaque)
{
    QIOTask *task = opaque;
    GSource *idle;

    task->worker(task, task->worker_opaque);
    if (task->worker_destroy) {
        task->worker_destroy(task->worker_opaque);
    }
    trace_qio_task_thread_exit(task);

    idle = g_idle_source_new();
    g_source_set_callback(idle, qio_task_thread_result, task, NULL);
    g_source_attach(idle, task->context);
    g_source_unref(idle);
    return NULL;
}

void qio_task_run_in_thread(QIOTask *task, QIOTaskWorker worker,
                            gpointer opaque, GDestroyNotify destroy,
                            GMainContext *context)
{
    QemuThread thread;

    task->worker = worker;
    task->worker_opaque = opaque;
    task->worker_destroy = destroy;
    task->context = g_main_context_ref(context ? context :
                                       g_main_context_default());
    trace_qio_task_thread_start(task);
    qemu_thread_create(&thread, "io-task-worker", qio_task_thread_worker,
                       task, QEMU_THREAD_DETACHED);
}

void qio_task_set_error(QIOTask *task, Error *err)
{
    if (!err) {
        return;
    }
    if (task->err) {
        error_free(err);
        return;
    }
    task->err = err;
}

bool qio_task_propagate_error(QIOTask *task, Error **errp)
{
    if (task->err) {
        error_propagate(errp, task->err);
        task->err = NULL;
        return true;
    }
    return false;
}

bool qio_task_had_error(QIOTask *task)
{
    return task->err != NULL;
}

QIOChannel *qio_task_get_source(QIOTask *task)
{
    return task->source;
}

void qio_task_set_result_pointer(QIOTask *task, gpointer result,
                                 GDestroyNotify destroy)
{
    task->result = result;
    task->destroy_result = destroy;
}

gpointer qio_task_get_result_pointer(QIOTask *task)
{
    return task->result;
}
