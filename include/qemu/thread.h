/*
 * Threads and synchronisation primitives with QEMU's names.
 *
 * Failures of the underlying pthread calls are programming errors and
 * abort with a message naming the call; nothing here returns an error.
 */
#ifndef QEMU_THREAD_H
#define QEMU_THREAD_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

typedef struct QemuMutex {
    pthread_mutex_t lock;
    bool initialized;
} QemuMutex;

typedef struct QemuRecMutex {
    pthread_mutex_t lock;
    bool initialized;
} QemuRecMutex;

typedef struct QemuCond {
    pthread_cond_t cond;       /* on CLOCK_MONOTONIC */
    bool initialized;
} QemuCond;

typedef struct QemuSemaphore {
    QemuMutex mutex;
    QemuCond cond;
    unsigned int count;
} QemuSemaphore;

/* One-shot/reusable event: set wakes every waiter until reset. */
typedef struct QemuEvent {
    QemuMutex mutex;
    QemuCond cond;
    bool value;
} QemuEvent;

typedef struct QemuThread {
    pthread_t thread;
} QemuThread;

#define QEMU_THREAD_JOINABLE 0
#define QEMU_THREAD_DETACHED 1

void qemu_mutex_init(QemuMutex *m);
void qemu_mutex_destroy(QemuMutex *m);
void qemu_mutex_lock(QemuMutex *m);
int  qemu_mutex_trylock(QemuMutex *m);   /* 0 on success, -EBUSY */
void qemu_mutex_unlock(QemuMutex *m);

void qemu_rec_mutex_init(QemuRecMutex *m);
void qemu_rec_mutex_destroy(QemuRecMutex *m);
void qemu_rec_mutex_lock(QemuRecMutex *m);
void qemu_rec_mutex_unlock(QemuRecMutex *m);

void qemu_cond_init(QemuCond *c);
void qemu_cond_destroy(QemuCond *c);
void qemu_cond_signal(QemuCond *c);
void qemu_cond_broadcast(QemuCond *c);
void qemu_cond_wait(QemuCond *c, QemuMutex *m);
/* Returns false on timeout. */
bool qemu_cond_timedwait(QemuCond *c, QemuMutex *m, int ms);
/* Wait until the CLOCK_MONOTONIC deadline (ns); false on timeout. */
bool qemu_cond_timedwait_ns(QemuCond *c, QemuMutex *m, int64_t deadline_ns);

void qemu_sem_init(QemuSemaphore *s, int init);
void qemu_sem_destroy(QemuSemaphore *s);
void qemu_sem_post(QemuSemaphore *s);
void qemu_sem_wait(QemuSemaphore *s);
/* Returns 0 when taken, -1 on timeout. */
int  qemu_sem_timedwait(QemuSemaphore *s, int ms);

void qemu_event_init(QemuEvent *e, bool init);
void qemu_event_destroy(QemuEvent *e);
void qemu_event_set(QemuEvent *e);
void qemu_event_reset(QemuEvent *e);
void qemu_event_wait(QemuEvent *e);
/* Returns false on timeout. */
bool qemu_event_timedwait(QemuEvent *e, int ms);

/*
 * Starts @start_routine(@arg) in a new thread named @name (visible in
 * /proc/PID/task/TID/comm when -name debug-threads=on, truncated to 15
 * characters).  Signals are blocked in the new thread.
 */
void qemu_thread_create(QemuThread *thread, const char *name,
                        void *(*start_routine)(void *), void *arg, int mode);
void *qemu_thread_join(QemuThread *thread);
void qemu_thread_get_self(QemuThread *thread);
bool qemu_thread_is_self(QemuThread *thread);
int  qemu_get_thread_id(void);           /* the Linux TID */
void qemu_thread_naming(bool enable);

#endif
