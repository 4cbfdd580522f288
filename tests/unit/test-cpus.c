/*
 * vCPU threads with a fake CPU: the pause/resume handshake, halt and kick,
 * halt deadlines, the throttle, and pausing while a vCPU waits for the BQL.
 *
 * No assertion depends on tight timing: waits poll with a generous cap and
 * checks are about counts and ordering.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"

enum { MODE_RUN, MODE_HALT, MODE_MMIO };

typedef struct FakeCPU {
    CPUState cs;
    int execs;
    int deadline_calls;
    bool work;            /* pending "interrupt" */
    int64_t due;          /* has_work becomes true at this time (0: never) */
} FakeCPU;

#define NCPUS 2
static FakeCPU fcpu[NCPUS];
static int mode = MODE_RUN;

static void fake_exec(CPUState *cs)
{
    FakeCPU *f = container_of(cs, FakeCPU, cs);

    qatomic_inc(&f->execs);
    qatomic_set(&f->work, false);      /* take the interrupt */
    qatomic_set(&f->due, 0);
    switch (qatomic_read(&mode)) {
    case MODE_HALT:
        qatomic_set(&cs->halted, true);
        return;
    case MODE_MMIO:
        bql_lock();
        g_usleep(100);
        bql_unlock();
        return;
    default:
        for (int i = 0; i < 10 && !qatomic_read(&cs->exit_request); i++) {
            g_usleep(100);
        }
        return;
    }
}

static bool fake_has_work(CPUState *cs)
{
    FakeCPU *f = container_of(cs, FakeCPU, cs);
    int64_t due = qatomic_read(&f->due);

    return qatomic_read(&f->work) || (due && get_clock() >= due);
}

static int64_t fake_next_deadline(CPUState *cs)
{
    FakeCPU *f = container_of(cs, FakeCPU, cs);
    int64_t due = qatomic_read(&f->due);

    qatomic_inc(&f->deadline_calls);
    return due ? due : INT64_MAX;
}

static const CPUOps fake_ops = {
    .exec = fake_exec,
    .has_work = fake_has_work,
    .next_deadline = fake_next_deadline,
};

/* Poll @cond for up to 10 s. */
#define WAIT_FOR(cond) do {                                         \
        int64_t end_ = get_clock() + 10 * NANOSECONDS_PER_SECOND;   \
        while (!(cond) && get_clock() < end_) {                     \
            g_usleep(1000);                                         \
        }                                                           \
        g_assert_true(cond);                                        \
    } while (0)

static int total_execs(void)
{
    int n = 0;

    for (int i = 0; i < NCPUS; i++) {
        n += qatomic_read(&fcpu[i].execs);
    }
    return n;
}

static void test_create(void)
{
    for (int i = 0; i < NCPUS; i++) {
        fcpu[i].cs.ops = &fake_ops;
        qemu_init_vcpu(&fcpu[i].cs);
        g_assert_cmpint(fcpu[i].cs.cpu_index, ==, i);
        g_assert_true(fcpu[i].cs.created);
        g_assert_cmpint(fcpu[i].cs.thread_id, >, 0);
        g_assert_true(qemu_get_cpu(i) == &fcpu[i].cs);
    }
    g_assert_null(qemu_get_cpu(NCPUS));
    /* the thread carries the vCPU name */
    {
        g_autofree char *path = g_strdup_printf("/proc/self/task/%d/comm",
                                                fcpu[0].cs.thread_id);
        g_autofree char *comm = NULL;

        if (g_file_get_contents(path, &comm, NULL, NULL)) {
            g_strchomp(comm);
            g_assert_cmpstr(comm, ==, "CPU 0/riscv");
        }
    }
    /* created vCPUs wait for resume */
    WAIT_FOR(all_vcpus_paused());
    g_usleep(10000);
    g_assert_cmpint(total_execs(), ==, 0);
}

static void test_pause_resume(void)
{
    int before;

    resume_all_vcpus();
    g_assert_false(all_vcpus_paused());
    WAIT_FOR(qatomic_read(&fcpu[0].execs) > 0 && qatomic_read(&fcpu[1].execs) > 0);

    for (int round = 0; round < 20; round++) {
        pause_all_vcpus();
        g_assert_true(all_vcpus_paused());
        before = total_execs();
        g_usleep(2000);
        g_assert_cmpint(total_execs(), ==, before);
        resume_all_vcpus();
        WAIT_FOR(total_execs() > before);
    }
    pause_all_vcpus();
}

static void test_halt_kick(void)
{
    FakeCPU *f = &fcpu[0];
    int execs, calls;

    qatomic_set(&mode, MODE_HALT);
    resume_all_vcpus();
    WAIT_FOR(qatomic_read(&f->cs.halted) && qatomic_read(&fcpu[1].cs.halted));
    /* the halt wait asked for the timer deadline */
    WAIT_FOR(qatomic_read(&f->deadline_calls) > 0);
    execs = qatomic_read(&f->execs);
    g_usleep(5000);
    g_assert_cmpint(qatomic_read(&f->execs), ==, execs);

    /* a kick without work does not end the halt */
    calls = qatomic_read(&f->deadline_calls);
    qemu_cpu_kick(&f->cs);
    WAIT_FOR(qatomic_read(&f->deadline_calls) > calls);
    g_assert_cmpint(qatomic_read(&f->execs), ==, execs);

    /* an interrupt plus a kick does */
    qatomic_set(&f->work, true);
    qemu_cpu_kick(&f->cs);
    WAIT_FOR(qatomic_read(&f->execs) == execs + 1);
    WAIT_FOR(qatomic_read(&f->cs.halted));

    /* a timer deadline ends the halt without any kick */
    execs = qatomic_read(&f->execs);
    qatomic_set(&f->due, get_clock() + 20 * 1000 * 1000);
    qemu_cpu_kick(&f->cs);      /* re-read the deadline */
    WAIT_FOR(qatomic_read(&f->execs) > execs);

    /* pause works on halted vCPUs */
    pause_all_vcpus();
    g_assert_true(all_vcpus_paused());
    qatomic_set(&mode, MODE_RUN);
    qatomic_set(&f->cs.halted, false);
    qatomic_set(&fcpu[1].cs.halted, false);
}

static void test_pause_with_bql(void)
{
    int before;

    qatomic_set(&mode, MODE_MMIO);
    bql_lock();
    resume_all_vcpus();
    g_usleep(5000);           /* the vCPUs pile up on the BQL */
    pause_all_vcpus();        /* must not deadlock */
    g_assert_true(bql_locked());
    g_assert_true(all_vcpus_paused());
    before = total_execs();
    bql_unlock();
    g_usleep(2000);
    g_assert_cmpint(total_execs(), ==, before);
    qatomic_set(&mode, MODE_RUN);
}

static void test_throttle(void)
{
    int64_t slept0[NCPUS], t0, wall, slept;

    cpu_throttle_set(150);
    g_assert_cmpint(cpu_throttle_get_percentage(), ==, 99);
    cpu_throttle_set(-4);
    g_assert_false(cpu_throttle_active());

    cpu_throttle_set(75);
    g_assert_true(cpu_throttle_active());
    g_assert_cmpint(cpu_throttle_get_percentage(), ==, 75);
    for (int i = 0; i < NCPUS; i++) {
        slept0[i] = fcpu[i].cs.throttle_sleep_ns;
    }
    t0 = get_clock();
    resume_all_vcpus();
    WAIT_FOR(qatomic_read(&fcpu[0].cs.throttle_sleep_ns) > slept0[0]);
    g_usleep(100 * 1000);
    pause_all_vcpus();
    wall = get_clock() - t0;
    slept = fcpu[0].cs.throttle_sleep_ns - slept0[0];
    /* it slept, and never longer than the time that passed */
    g_assert_cmpint(slept, >, 0);
    g_assert_cmpint(slept, <=, wall);

    /* a pause cuts a long throttle sleep short (99%: 990 ms per slice) */
    cpu_throttle_set(99);
    resume_all_vcpus();
    WAIT_FOR(qatomic_read(&fcpu[0].cs.throttle_sleep_ns) > slept0[0] + slept);
    t0 = get_clock();
    pause_all_vcpus();
    g_assert_cmpint(get_clock() - t0, <, 800 * 1000 * 1000);

    /*
     * A vCPU halted in wfi with nothing due is throttled too (QEMU's timer
     * makes every vCPU sleep, busy or idle): a guest pacing itself on the
     * timer must lose its ticks to the sleeps.
     */
    qatomic_set(&mode, MODE_HALT);
    cpu_throttle_set(50);
    for (int i = 0; i < NCPUS; i++) {
        slept0[i] = fcpu[i].cs.throttle_sleep_ns;
    }
    resume_all_vcpus();
    WAIT_FOR(qatomic_read(&fcpu[0].cs.throttle_sleep_ns) > slept0[0] &&
             qatomic_read(&fcpu[1].cs.throttle_sleep_ns) > slept0[1]);
    pause_all_vcpus();
    for (int i = 0; i < NCPUS; i++) {
        g_assert_cmpint(fcpu[i].cs.throttle_sleep_ns, >, slept0[i]);
        qatomic_set(&fcpu[i].cs.halted, false);
    }
    qatomic_set(&mode, MODE_RUN);

    cpu_throttle_stop();
    g_assert_false(cpu_throttle_active());
    for (int i = 0; i < NCPUS; i++) {
        slept0[i] = fcpu[i].cs.throttle_sleep_ns;
    }
    resume_all_vcpus();
    g_usleep(30 * 1000);
    pause_all_vcpus();
    for (int i = 0; i < NCPUS; i++) {
        g_assert_cmpint(fcpu[i].cs.throttle_sleep_ns, ==, slept0[i]);
    }
}

static void test_shutdown(void)
{
    resume_all_vcpus();
    cpus_shutdown();
    for (int i = 0; i < NCPUS; i++) {
        g_assert_false(fcpu[i].cs.created);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_thread_naming(true);
    g_test_add_func("/cpus/create", test_create);
    g_test_add_func("/cpus/pause-resume", test_pause_resume);
    g_test_add_func("/cpus/halt-kick", test_halt_kick);
    g_test_add_func("/cpus/pause-with-bql", test_pause_with_bql);
    g_test_add_func("/cpus/throttle", test_throttle);
    g_test_add_func("/cpus/shutdown", test_shutdown);
    return g_test_run();
}
