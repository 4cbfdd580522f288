/*
 * Godwit: threads and synchronisation on POSIX (include/qemu/thread.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "trace.h"

#include <sys/syscall.h>

static bool name_threads;

QEMU_NORETURN static void thread_fatal(int err, const char *call)
{
    fprintf(stderr, "godwit: %s failed: %s\n", call, strerror(err));
    abort();
}

#define CHECK(call) do {                     \
        int err_ = (call);                   \
        if (err_) {                          \
            thread_fatal(err_, #call);       \
        }                                    \
    } while (0)

/* ---------------------------------------------------------------- mutex */

void qemu_mutex_init(QemuMutex *m)
{
    pthread_mutexattr_t attr;

    CHECK(pthread_mutexattr_init(&attr));
    CHECK(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK));
    CHECK(pthread_mutex_init(&m->lock, &attr));
    pthread_mutexattr_destroy(&attr);
    m->initialized = true;
}

void qemu_mutex_destroy(QemuMutex *m)
{
    assert(m->initialized);
    m->initialized = false;
    CHECK(pthread_mutex_destroy(&m->lock));
}

void qemu_mutex_lock(QemuMutex *m)
{
    assert(m->initialized);
    CHECK(pthread_mutex_lock(&m->lock));
}

int qemu_mutex_trylock(QemuMutex *m)
{
    int err;

    assert(m->initialized);
    err = pthread_mutex_trylock(&m->lock);
    if (err == 0) {
        return 0;
    }
    if (err != EBUSY) {
        thread_fatal(err, "pthread_mutex_trylock");
    }
    return -EBUSY;
}

void qemu_mutex_unlock(QemuMutex *m)
{
    assert(m->initialized);
    CHECK(pthread_mutex_unlock(&m->lock));
}

void qemu_rec_mutex_init(QemuRecMutex *m)
{
    pthread_mutexattr_t attr;

    CHECK(pthread_mutexattr_init(&attr));
    CHECK(pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE));
    CHECK(pthread_mutex_init(&m->lock, &attr));
    pthread_mutexattr_destroy(&attr);
    m->initialized = true;
}

void qemu_rec_mutex_destroy(QemuRecMutex *m)
{
    assert(m->initialized);
    m->initialized = false;
    CHECK(pthread_mutex_destroy(&m->lock));
}

void qemu_rec_mutex_lock(QemuRecMutex *m)
{
    assert(m->initialized);
    CHECK(pthread_mutex_lock(&m->lock));
}

void qemu_rec_mutex_unlock(QemuRecMutex *m)
{
    assert(m->initialized);
    CHECK(pthread_mutex_unlock(&m->lock));
}

/* ---------------------------------------------------------------- cond */

void qemu_cond_init(QemuCond *c)
{
    pthread_condattr_t attr;

    CHECK(pthread_condattr_init(&attr));
    CHECK(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
    CHECK(pthread_cond_init(&c->cond, &attr));
    pthread_condattr_destroy(&attr);
    c->initialized = true;
}

void qemu_cond_destroy(QemuCond *c)
{
    assert(c->initialized);
    c->initialized = false;
    CHECK(pthread_cond_destroy(&c->cond));
}

void qemu_cond_signal(QemuCond *c)
{
    assert(c->initialized);
    CHECK(pthread_cond_signal(&c->cond));
}

void qemu_cond_broadcast(QemuCond *c)
{
    assert(c->initialized);
    CHECK(pthread_cond_broadcast(&c->cond));
}

void qemu_cond_wait(QemuCond *c, QemuMutex *m)
{
    assert(c->initialized);
    CHECK(pthread_cond_wait(&c->cond, &m->lock));
}

bool qemu_cond_timedwait_ns(QemuCond *c, QemuMutex *m, int64_t deadline_ns)
{
    struct timespec ts;
    int err;

    assert(c->initialized);
    if (deadline_ns < 0) {
        deadline_ns = 0;
    }
    ts.tv_sec = deadline_ns / NANOSECONDS_PER_SECOND;
    ts.tv_nsec = deadline_ns % NANOSECONDS_PER_SECOND;
    err = pthread_cond_timedwait(&c->cond, &m->lock, &ts);
    if (err == ETIMEDOUT) {
        return false;
    }
    if (err) {
        thread_fatal(err, "pthread_cond_timedwait");
    }
    return true;
}

bool qemu_cond_timedwait(QemuCond *c, QemuMutex *m, int ms)
{
    return qemu_cond_timedwait_ns(c, m, get_clock() + (int64_t)ms * 1000000);
}

/* ---------------------------------------------------------------- sem */

void qemu_sem_init(QemuSemaphore *s, int init)
{
    assert(init >= 0);
    qemu_mutex_init(&s->mutex);
    qemu_cond_init(&s->cond);
    s->count = init;
}

void qemu_sem_destroy(QemuSemaphore *s)
{
    qemu_cond_destroy(&s->cond);
    qemu_mutex_destroy(&s->mutex);
}

void qemu_sem_post(QemuSemaphore *s)
{
    qemu_mutex_lock(&s->mutex);
    assert(s->count < UINT_MAX);
    s->count++;
    qemu_cond_signal(&s->cond);
    qemu_mutex_unlock(&s->mutex);
}

void qemu_sem_wait(QemuSemaphore *s)
{
    qemu_mutex_lock(&s->mutex);
    while (s->count == 0) {
        qemu_cond_wait(&s->cond, &s->mutex);
    }
    s->count--;
    qemu_mutex_unlock(&s->mutex);
}

int qemu_sem_timedwait(QemuSemaphore *s, int ms)
{
    int64_t deadline = get_clock() + (int64_t)ms * 1000000;
    int ret = 0;

    qemu_mutex_lock(&s->mutex);
    while (s->count == 0) {
        if (!qemu_cond_timedwait_ns(&s->cond, &s->mutex, deadline) &&
            s->count == 0) {
            ret = -1;
            break;
        }
    }
    if (ret == 0) {
        s->count--;
    }
    qemu_mutex_unlock(&s->mutex);
    return ret;
}

/* ---------------------------------------------------------------- event */

void qemu_event_init(QemuEvent *e, bool init)
{
    qemu_mutex_init(&e->mutex);
    qemu_cond_init(&e->cond);
    e->value = init;
}

void qemu_event_destroy(QemuEvent *e)
{
    qemu_cond_destroy(&e->cond);
    qemu_mutex_destroy(&e->mutex);
}

void qemu_event_set(QemuEvent *e)
{
    qemu_mutex_lock(&e->mutex);
    if (!e->value) {
        e->value = true;
        qemu_cond_broadcast(&e->cond);
    }
    qemu_mutex_unlock(&e->mutex);
}

void qemu_event_reset(QemuEvent *e)
{
    qemu_mutex_lock(&e->mutex);
    e->value = false;
    qemu_mutex_unlock(&e->mutex);
}

void qemu_event_wait(QemuEvent *e)
{
    qemu_mutex_lock(&e->mutex);
    while (!e->value) {
        qemu_cond_wait(&e->cond, &e->mutex);
    }
    qemu_mutex_unlock(&e->mutex);
}

bool qemu_event_timedwait(QemuEvent *e, int ms)
{
    int64_t deadline = get_clock() + (int64_t)ms * 1000000;
    bool ret;

    qemu_mutex_lock(&e->mutex);
    while (!e->value) {
        if (!qemu_cond_timedwait_ns(&e->cond, &e->mutex, deadline)) {
            break;
        }
    }
    ret = e->value;
    qemu_mutex_unlock(&e->mutex);
    return ret;
}

/* ---------------------------------------------------------------- threads */

typedef struct QemuThreadArgs {
    void *(*start_routine)(void *);
    void *arg;
    char *name;
} QemuThreadArgs;

static void *qemu_thread_start(void *opaque)
{
    QemuThreadArgs *args = opaque;
    void *(*start_routine)(void *) = args->start_routine;
    void *arg = args->arg;

    if (args->name) {
        /* the kernel limits names to 15 characters plus the NUL */
        char comm[16];

        g_strlcpy(comm, args->name, sizeof(comm));
        pthread_setname_np(pthread_self(), comm);
    }
    g_free(args->name);
    g_free(args);
    return start_routine(arg);
}

void qemu_thread_naming(bool enable)
{
    name_threads = enable;
}

void qemu_thread_create(QemuThread *thread, const char *name,
                        void *(*start_routine)(void *), void *arg, int mode)
{
    sigset_t set, oldset;
    pthread_attr_t attr;
    QemuThreadArgs *args;
    int err;

    trace_qemu_thread_create(name ? name : "", mode);
    CHECK(pthread_attr_init(&attr));
    if (mode == QEMU_THREAD_DETACHED) {
        CHECK(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED));
    }

    args = g_new0(QemuThreadArgs, 1);
    args->start_routine = start_routine;
    args->arg = arg;
    args->name = (name_threads && name) ? g_strdup(name) : NULL;

    /* the new thread inherits this mask: keep every signal blocked there */
    sigfillset(&set);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGBUS);
    pthread_sigmask(SIG_SETMASK, &set, &oldset);
    err = pthread_create(&thread->thread, &attr, qemu_thread_start, args);
    pthread_sigmask(SIG_SETMASK, &oldset, NULL);
    if (err) {
        thread_fatal(err, "pthread_create");
    }
    pthread_attr_destroy(&attr);
}

void *qemu_thread_join(QemuThread *thread)
{
    void *ret;

    CHECK(pthread_join(thread->thread, &ret));
    return ret;
}

void qemu_thread_get_self(QemuThread *thread)
{
    thread->thread = pthread_self();
}

bool qemu_thread_is_self(QemuThread *thread)
{
    return pthread_equal(pthread_self(), thread->thread);
}

int qemu_get_thread_id(void)
{
    return syscall(SYS_gettid);
}
