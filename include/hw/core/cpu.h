/*
 * The target-independent part of a vCPU, shared by system/cpus.c (threads,
 * pause/resume, throttle, halt) and target/riscv (the interpreter).
 *
 * Thread rules: the fields under "vCPU thread" are touched only by the
 * vCPU's own thread; the fields under "any thread" are atomics.  The halt
 * and pause waits use qemu_global_cpu_mutex (cpus.c) with cpu->halt_cond.
 */
#ifndef HW_CORE_CPU_H
#define HW_CORE_CPU_H

#include "qemu/osdep.h"
#include "qemu/queue.h"
#include "qemu/thread.h"
#include "exec/memory.h"

typedef struct CPUOps {
    /*
     * Run guest code until cpu->exit_request is set, the CPU halts (wfi:
     * set cpu->halted and return), or a budget of instructions is used.
     * Called in the vCPU thread without the BQL.
     */
    void (*exec)(CPUState *cpu);
    /* true if an enabled interrupt is pending (ends a halt). Any thread. */
    bool (*has_work)(CPUState *cpu);
    /*
     * CLOCK_MONOTONIC time (ns) at which a timer interrupt becomes due for
     * this CPU, or INT64_MAX.  Used to bound the halt sleep.
     */
    int64_t (*next_deadline)(CPUState *cpu);
    /* Reset to the power-on state (pc = entry, a0 = hartid). BQL held, CPU paused. */
    void (*reset)(CPUState *cpu);
    /* 'info registers' text. */
    void (*dump_state)(CPUState *cpu, GString *out);
} CPUOps;

struct CPUState {
    /* set once */
    int cpu_index;
    const CPUOps *ops;
    void *env_ptr;                 /* the target's CPU structure */
    QemuThread thread;
    int thread_id;                 /* Linux TID, for query-cpus-fast / blocktime */
    QemuCond halt_cond;

    /* any thread (atomics) */
    bool exit_request;             /* leave exec() as soon as possible */
    bool stop;                     /* pause requested */
    bool stopped;                  /* the vCPU acknowledged the pause */
    bool halted;                   /* in wfi */
    bool created;
    bool unplug;                   /* thread must exit (at shutdown) */
    uint64_t insn_count;           /* instructions retired (statistics) */

    /* throttle: vCPU thread */
    int64_t throttle_sleep_ns;

    /*
     * Per-vCPU dirty counting (exec/memory.h DirtyCounter): the vCPU
     * thread points current_dirty_counter here; dirty.pages is read
     * lock-free by anyone.  dirty.quota is set by the vCPU thread and by
     * system/dirtylimit.c.
     */
    DirtyCounter dirty;
    /*
     * dirty-limit (system/dirtylimit.c).  dirty_limit_pps: pages per second
     * allowed, 0 = none; dirty_limit_rebase: the limit changed, restart
     * the schedule (set by the monitor, cleared by the vCPU).  Atomics.
     */
    uint64_t dirty_limit_pps;
    bool dirty_limit_rebase;
    /* vCPU thread only: the pages paid for and when they are due */
    uint64_t dirty_limit_paid;
    int64_t dirty_limit_due_ns;
    int64_t dirty_limit_round_ns;
    /* atomics, for query-migrate: the last round's sleep and run time */
    int64_t dirty_limit_sleep_ns;
    int64_t dirty_limit_fill_ns;

    QTAILQ_ENTRY(CPUState) node;
};

extern QTAILQ_HEAD(CPUTailQ, CPUState) cpus_queue;
#define CPU_FOREACH(cpu) QTAILQ_FOREACH(cpu, &cpus_queue, node)
CPUState *qemu_get_cpu(int index);

/* Make the vCPU leave exec() and re-check its state (from any thread). */
void qemu_cpu_kick(CPUState *cpu);

#endif
