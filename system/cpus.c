/*
 * vCPU threads: creation, the run/halt/pause loop, kicks, the pause/resume
 * handshake and the throttle used by auto-converge.
 *
 * Locking: qemu_global_cpu_mutex protects the stop/stopped handshake and
 * every wait of a vCPU thread (halt, pause, throttle sleep) on its
 * cpu->halt_cond.  Lock order is BQL, then qemu_global_cpu_mutex; a vCPU
 * never holds the cpu mutex while running guest code, so it may take the
 * BQL for MMIO.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/main-loop.h"
#include "sysemu/cpus.h"
#include "sysemu/dirtylimit.h"
#include "trace.h"

#define CPU_THROTTLE_TIMESLICE_NS 10000000LL   /* 10 ms awake per slice */
/* longest awake stretch one throttle sleep pays for (after a long exec) */
#define CPU_THROTTLE_MAX_AWAKE_NS 1000000000LL
#define HALT_MIN_WAIT_NS 1000000LL             /* 1 ms floor on a past deadline */

struct CPUTailQ cpus_queue = QTAILQ_HEAD_INITIALIZER(cpus_queue);

QemuMutex qemu_global_cpu_mutex;
static QemuCond qemu_pause_cond;     /* a vCPU stopped */
static QemuCond qemu_cpu_cond;       /* a vCPU thread was created */
static GOnce cpus_once = G_ONCE_INIT;
static bool vcpus_enabled;           /* resume_all_vcpus was last */
static int throttle_percentage;

static __thread CPUState *current_cpu;

static gpointer cpus_init_once(gpointer unused)
{
    qemu_mutex_init(&qemu_global_cpu_mutex);
    qemu_cond_init(&qemu_pause_cond);
    qemu_cond_init(&qemu_cpu_cond);
    return NULL;
}

static void cpus_init(void)
{
    g_once(&cpus_once, cpus_init_once, NULL);
}

CPUState *qemu_get_cpu(int index)
{
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        if (cpu->cpu_index == index) {
            return cpu;
        }
    }
    return NULL;
}

bool qemu_in_vcpu_thread(void)
{
    return current_cpu != NULL;
}

/* Wake @cpu from any wait; caller holds qemu_global_cpu_mutex. */
static void cpu_kick_locked(CPUState *cpu)
{
    qatomic_set(&cpu->exit_request, true);
    qemu_cond_broadcast(&cpu->halt_cond);
}

void qemu_cpu_kick(CPUState *cpu)
{
    cpus_init();
    /* the flag first: exec() polls it without any lock */
    qatomic_set(&cpu->exit_request, true);
    qemu_mutex_lock(&qemu_global_cpu_mutex);
    cpu_kick_locked(cpu);
    qemu_mutex_unlock(&qemu_global_cpu_mutex);
}

/*
 * Halted: sleep until an interrupt is pending, a timer deadline passes or
 * someone kicks us.  Returns with the mutex still held.
 */
static void cpu_halt_wait(CPUState *cpu, int64_t throttle_deadline)
{
    int64_t deadline = cpu->ops->next_deadline ?
        cpu->ops->next_deadline(cpu) : INT64_MAX;

    deadline = MIN(deadline, throttle_deadline);

    trace_cpu_halt_wait(cpu->cpu_index, deadline);
    if (deadline == INT64_MAX) {
        qemu_cond_wait(&cpu->halt_cond, &qemu_global_cpu_mutex);
    } else {
        int64_t now = get_clock();

        if (deadline <= now) {
            /* due already but no work yet: do not spin */
            deadline = now + HALT_MIN_WAIT_NS;
        }
        qemu_cond_timedwait_ns(&cpu->halt_cond, &qemu_global_cpu_mutex,
                               deadline);
    }
}

/* Sleep @ns unless a pause or unplug arrives.  Mutex held. */
static void cpu_throttle_sleep(CPUState *cpu, int64_t ns)
{
    int64_t start = get_clock();
    int64_t end = start + ns;

    trace_cpu_throttle_sleep(cpu->cpu_index, ns);
    while (!qatomic_read(&cpu->stop) && !qatomic_read(&cpu->unplug) &&
           get_clock() < end) {
        qemu_cond_timedwait_ns(&cpu->halt_cond, &qemu_global_cpu_mutex, end);
    }
    cpu->throttle_sleep_ns += get_clock() - start;
}

/*
 * The throttle, as QEMU's timer does it: every CPU_THROTTLE_TIMESLICE_NS of
 * wall time a vCPU is awake (running or halted alike), it sleeps
 * awake * pct / (100 - pct), so it is unavailable pct% of the wall time
 * whatever the guest does.  A guest that paces itself on the timer and
 * idles in wfi is slowed too (its ticks fall in the sleeps).  @slice is
 * the start of the current awake stretch, 0 while the throttle is off.
 * True when it slept.  Mutex held.
 */
static bool cpu_throttle_check(CPUState *cpu, int64_t *slice)
{
    int pct = qatomic_read(&throttle_percentage);
    int64_t now, awake;

    if (pct <= 0) {
        *slice = 0;
        return false;
    }
    now = get_clock();
    if (!*slice) {
        *slice = now;
        return false;
    }
    awake = now - *slice;
    if (awake < CPU_THROTTLE_TIMESLICE_NS) {
        return false;
    }
    awake = MIN(awake, CPU_THROTTLE_MAX_AWAKE_NS);
    cpu_throttle_sleep(cpu, awake * pct / (100 - pct));
    *slice = get_clock();
    return true;
}

static void *cpu_thread_fn(void *arg)
{
    CPUState *cpu = arg;
    int64_t slice = 0;

    current_cpu = cpu;
    cpu->thread_id = qemu_get_thread_id();
    current_dirty_counter = &cpu->dirty;

    qemu_mutex_lock(&qemu_global_cpu_mutex);
    qatomic_set(&cpu->created, true);
    qemu_cond_broadcast(&qemu_cpu_cond);

    for (;;) {
        /* cleared before the checks: a later kick makes exec() return */
        qatomic_set(&cpu->exit_request, false);
        if (qatomic_read(&cpu->unplug)) {
            break;
        }
        if (qatomic_read(&cpu->stop)) {
            if (!qatomic_read(&cpu->stopped)) {
                qatomic_set(&cpu->stopped, true);
                trace_cpu_stopped(cpu->cpu_index);
                qemu_cond_broadcast(&qemu_pause_cond);
            }
            slice = 0;          /* a stopped vCPU owes no sleep */
            qemu_cond_wait(&cpu->halt_cond, &qemu_global_cpu_mutex);
            continue;
        }
        qatomic_set(&cpu->stopped, false);

        if (cpu_throttle_check(cpu, &slice)) {
            continue;
        }
        if (qatomic_read(&cpu->halted)) {
            if (!cpu->ops->has_work || !cpu->ops->has_work(cpu)) {
                cpu_halt_wait(cpu, slice ? slice + CPU_THROTTLE_TIMESLICE_NS
                                         : INT64_MAX);
                continue;
            }
            qatomic_set(&cpu->halted, false);
        }

        /* dirty-limit: this vCPU used its quota ("dirty ring full") */
        if (unlikely(qatomic_read(&cpu->dirty.pages) >=
                     qatomic_read(&cpu->dirty.quota))) {
            int64_t ns = dirtylimit_vcpu_round(cpu);

            if (ns > 0) {
                cpu_throttle_sleep(cpu, ns);
                continue;
            }
        }

        qemu_mutex_unlock(&qemu_global_cpu_mutex);
        cpu->ops->exec(cpu);
        qemu_mutex_lock(&qemu_global_cpu_mutex);
    }

    qatomic_set(&cpu->stopped, true);
    qemu_cond_broadcast(&qemu_pause_cond);
    qemu_mutex_unlock(&qemu_global_cpu_mutex);
    current_cpu = NULL;
    current_dirty_counter = NULL;
    return NULL;
}

void qemu_init_vcpu(CPUState *cpu)
{
    char name[32];
    CPUState *other;
    int n = 0;

    cpus_init();
    assert(cpu->ops && cpu->ops->exec);
    CPU_FOREACH(other) {
        n++;
    }
    cpu->cpu_index = n;
    cpu->dirty.pages = 0;
    cpu->dirty.quota = UINT64_MAX;
    cpu->dirty.exit_request = &cpu->exit_request;
    qemu_cond_init(&cpu->halt_cond);
    cpu->thread_id = 0;

    qemu_mutex_lock(&qemu_global_cpu_mutex);
    /* park the new vCPU unless the VM is already running */
    cpu->stop = !vcpus_enabled;
    cpu->stopped = false;
    cpu->created = false;
    QTAILQ_INSERT_TAIL(&cpus_queue, cpu, node);
    qemu_mutex_unlock(&qemu_global_cpu_mutex);

    snprintf(name, sizeof(name), "CPU %d/riscv", cpu->cpu_index);
    qemu_thread_create(&cpu->thread, name, cpu_thread_fn, cpu,
                       QEMU_THREAD_JOINABLE);

    qemu_mutex_lock(&qemu_global_cpu_mutex);
    while (!qatomic_read(&cpu->created)) {
        qemu_cond_wait(&qemu_cpu_cond, &qemu_global_cpu_mutex);
    }
    qemu_mutex_unlock(&qemu_global_cpu_mutex);
    trace_qemu_init_vcpu(cpu->cpu_index, cpu->thread_id);
}

static bool all_vcpus_paused_locked(void)
{
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        if (!qatomic_read(&cpu->stopped)) {
            return false;
        }
    }
    return true;
}

bool all_vcpus_paused(void)
{
    bool ret;

    cpus_init();
    qemu_mutex_lock(&qemu_global_cpu_mutex);
    ret = all_vcpus_paused_locked();
    qemu_mutex_unlock(&qemu_global_cpu_mutex);
    return ret;
}

void pause_all_vcpus(void)
{
    bool had_bql = bql_locked();
    CPUState *cpu;

    cpus_init();
    trace_pause_all_vcpus();
    qemu_mutex_lock(&qemu_global_cpu_mutex);
    vcpus_enabled = false;
    CPU_FOREACH(cpu) {
        qatomic_set(&cpu->stop, true);
        if (cpu == current_cpu) {
            /* called from a vCPU (its own MMIO): it stops on return */
            qatomic_set(&cpu->stopped, true);
        }
        cpu_kick_locked(cpu);
    }
    /*
     * A vCPU may be waiting for the BQL inside an MMIO access; it cannot
     * see the stop request until it gets it, so let go while waiting.
     */
    if (had_bql) {
        bql_unlock();
    }
    while (!all_vcpus_paused_locked()) {
        qemu_cond_wait(&qemu_pause_cond, &qemu_global_cpu_mutex);
    }
    qemu_mutex_unlock(&qemu_global_cpu_mutex);
    if (had_bql) {
        bql_lock();
    }
}

void resume_all_vcpus(void)
{
    CPUState *cpu;

    cpus_init();
    trace_resume_all_vcpus();
    qemu_mutex_lock(&qemu_global_cpu_mutex);
    vcpus_enabled = true;
    CPU_FOREACH(cpu) {
        qatomic_set(&cpu->stop, false);
        qatomic_set(&cpu->stopped, false);
        qemu_cond_broadcast(&cpu->halt_cond);
    }
    qemu_mutex_unlock(&qemu_global_cpu_mutex);
}

void cpus_shutdown(void)
{
    bool had_bql = bql_locked();
    CPUState *cpu;

    cpus_init();
    qemu_mutex_lock(&qemu_global_cpu_mutex);
    CPU_FOREACH(cpu) {
        qatomic_set(&cpu->unplug, true);
        cpu_kick_locked(cpu);
    }
    qemu_mutex_unlock(&qemu_global_cpu_mutex);
    if (had_bql) {
        bql_unlock();
    }
    CPU_FOREACH(cpu) {
        if (qatomic_read(&cpu->created) && cpu != current_cpu) {
            qemu_thread_join(&cpu->thread);
            qatomic_set(&cpu->created, false);
        }
    }
    if (had_bql) {
        bql_lock();
    }
}

/* ---------------------------------------------------------------- throttle */

void cpu_throttle_set(int new_throttle_pct)
{
    new_throttle_pct = MAX(MIN(new_throttle_pct, 99), 0);
    trace_cpu_throttle_set(new_throttle_pct);
    qatomic_set(&throttle_percentage, new_throttle_pct);
}

void cpu_throttle_stop(void)
{
    cpu_throttle_set(0);
}

bool cpu_throttle_active(void)
{
    return qatomic_read(&throttle_percentage) != 0;
}

int cpu_throttle_get_percentage(void)
{
    return qatomic_read(&throttle_percentage);
}
