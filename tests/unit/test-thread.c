/*
 * Unit tests for util/qemu-thread-posix.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"

static QemuSemaphore sem;
static QemuEvent ev;
static QemuMutex lock;
static QemuCond cond;
static int counter;
static bool flag;

static void *sem_poster(void *opaque)
{
    int i;

    for (i = 0; i < 1000; i++) {
        qemu_sem_post(&sem);
    }
    return (void *)(uintptr_t)42;
}

static void test_sem(void)
{
    QemuThread th;
    int i;

    qemu_sem_init(&sem, 0);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 10), ==, -1);
    qemu_thread_create(&th, "poster", sem_poster, NULL, QEMU_THREAD_JOINABLE);
    for (i = 0; i < 1000; i++) {
        qemu_sem_wait(&sem);
    }
    g_assert_cmpuint((uintptr_t)qemu_thread_join(&th), ==, 42);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 0), ==, -1);
    qemu_sem_post(&sem);
    g_assert_cmpint(qemu_sem_timedwait(&sem, 1000), ==, 0);
    qemu_sem_destroy(&sem);
}

static void *event_setter(void *opaque)
{
    g_usleep(20000);
    qemu_event_set(&ev);
    return NULL;
}

static void test_event(void)
{
    QemuThread th;
    int64_t t0;

    qemu_event_init(&ev, false);
    t0 = get_clock();
    g_assert_false(qemu_event_timedwait(&ev, 30));
    g_assert_cmpint(get_clock() - t0, >=, 29 * 1000000LL);
    qemu_thread_create(&th, "setter", event_setter, NULL,
                       QEMU_THREAD_JOINABLE);
    qemu_event_wait(&ev);
    /* stays set for every later waiter */
    qemu_event_wait(&ev);
    g_assert_true(qemu_event_timedwait(&ev, 0));
    qemu_thread_join(&th);
    qemu_event_reset(&ev);
    g_assert_false(qemu_event_timedwait(&ev, 1));
    qemu_event_destroy(&ev);

    qemu_event_init(&ev, true);
    qemu_event_wait(&ev);
    qemu_event_destroy(&ev);
}

static void *cond_worker(void *opaque)
{
    int i;

    for (i = 0; i < 10000; i++) {
        qemu_mutex_lock(&lock);
        counter++;
        qemu_mutex_unlock(&lock);
    }
    qemu_mutex_lock(&lock);
    flag = true;
    qemu_cond_broadcast(&cond);
    qemu_mutex_unlock(&lock);
    return NULL;
}

static void test_cond(void)
{
    QemuThread th[4];
    int64_t t0;
    int i;
    bool got;

    qemu_mutex_init(&lock);
    qemu_cond_init(&cond);

    qemu_mutex_lock(&lock);
    t0 = get_clock();
    got = qemu_cond_timedwait(&cond, &lock, 25);
    g_assert_false(got);
    g_assert_cmpint(get_clock() - t0, >=, 24 * 1000000LL);
    g_assert_false(qemu_cond_timedwait_ns(&cond, &lock, get_clock() - 1));
    qemu_mutex_unlock(&lock);

    for (i = 0; i < 4; i++) {
        qemu_thread_create(&th[i], "worker", cond_worker, NULL,
                           QEMU_THREAD_JOINABLE);
    }
    qemu_mutex_lock(&lock);
    while (counter < 40000) {
        qemu_cond_timedwait(&cond, &lock, 1000);
    }
    g_assert_true(flag);
    qemu_mutex_unlock(&lock);
    for (i = 0; i < 4; i++) {
        qemu_thread_join(&th[i]);
    }
    g_assert_cmpint(counter, ==, 40000);

    g_assert_cmpint(qemu_mutex_trylock(&lock), ==, 0);
    qemu_mutex_unlock(&lock);
    qemu_cond_destroy(&cond);
    qemu_mutex_destroy(&lock);
}

static void *trylock_other(void *opaque)
{
    return (void *)(intptr_t)qemu_mutex_trylock(opaque);
}

static void test_mutex(void)
{
    QemuMutex m;
    QemuRecMutex rm;
    QemuThread th;

    qemu_mutex_init(&m);
    qemu_mutex_lock(&m);
    qemu_thread_create(&th, "try", trylock_other, &m, QEMU_THREAD_JOINABLE);
    g_assert_cmpint((intptr_t)qemu_thread_join(&th), ==, -EBUSY);
    qemu_mutex_unlock(&m);
    qemu_mutex_destroy(&m);

    qemu_rec_mutex_init(&rm);
    qemu_rec_mutex_lock(&rm);
    qemu_rec_mutex_lock(&rm);
    qemu_rec_mutex_unlock(&rm);
    qemu_rec_mutex_unlock(&rm);
    qemu_rec_mutex_destroy(&rm);
}

static char thread_comm[32];
static int thread_tid;
static bool thread_sigs_blocked;
static QemuThread self_thread;
static bool is_self;

static void *naming_thread(void *opaque)
{
    char path[64];
    char *contents = NULL;
    sigset_t cur;

    thread_tid = qemu_get_thread_id();
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", thread_tid);
    if (g_file_get_contents(path, &contents, NULL, NULL)) {
        g_strstrip(contents);
        g_strlcpy(thread_comm, contents, sizeof(thread_comm));
        g_free(contents);
    }
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    thread_sigs_blocked = sigismember(&cur, SIGINT) &&
                          sigismember(&cur, SIGUSR1);
    qemu_thread_get_self(&self_thread);
    is_self = qemu_thread_is_self(&self_thread);
    return NULL;
}

static void test_naming(void)
{
    QemuThread th;

    qemu_thread_naming(true);
    qemu_thread_create(&th, "migration/recv-thread-long", naming_thread,
                       NULL, QEMU_THREAD_JOINABLE);
    qemu_thread_join(&th);
    qemu_thread_naming(false);
    g_assert_cmpstr(thread_comm, ==, "migration/recv-");
    g_assert_cmpint(thread_tid, !=, getpid());
    g_assert_true(thread_sigs_blocked);
    g_assert_true(is_self);
    g_assert_false(qemu_thread_is_self(&th));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/thread/sem", test_sem);
    g_test_add_func("/thread/event", test_event);
    g_test_add_func("/thread/cond", test_cond);
    g_test_add_func("/thread/mutex", test_mutex);
    g_test_add_func("/thread/naming", test_naming);
    return g_test_run();
}
