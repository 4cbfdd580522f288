/* vCPU threads: creation, pause/resume handshake and throttling (system/cpus.c). */
#ifndef SYSEMU_CPUS_H
#define SYSEMU_CPUS_H

#include "hw/core/cpu.h"

/*
 * Register @cpu (cpu->ops set, cpu->env_ptr set) and start its thread,
 * named "CPU %d/riscv".  cpu->cpu_index is assigned here, in creation
 * order from 0.  Returns once the thread runs (cpu->thread_id is valid).
 * The new vCPU stays stopped until resume_all_vcpus() / vm_start(), unless
 * the vCPUs are already running.
 */
void qemu_init_vcpu(CPUState *cpu);
/*
 * Stop every vCPU and wait until each acknowledged.  Called with the BQL
 * held (or, in tests, without it); the BQL is dropped while waiting so that
 * a vCPU blocked on it in an MMIO access can finish and stop.  From a vCPU
 * thread, that vCPU counts as stopped and stops when its access returns.
 */
void pause_all_vcpus(void);
void resume_all_vcpus(void);
bool all_vcpus_paused(void);
/* Join every vCPU thread at exit. */
void cpus_shutdown(void);
/* True in a vCPU thread. */
bool qemu_in_vcpu_thread(void);
/* Protects the vCPU handshakes; waits use cpu->halt_cond (see cpu.h). */
extern QemuMutex qemu_global_cpu_mutex;

/*
 * Throttle (auto-converge): after every 10 ms of wall time awake, running
 * or halted in wfi, each vCPU sleeps 10 ms * pct / (100 - pct), so it is
 * unavailable pct% of the wall time, as QEMU's throttle timer makes it.
 * A pause request cuts the sleep short.  0 disables; values are clamped
 * to 0..99.
 * cpu->throttle_sleep_ns accumulates the time each vCPU slept so.
 */
void cpu_throttle_set(int new_throttle_pct);
void cpu_throttle_stop(void);
bool cpu_throttle_active(void);
int  cpu_throttle_get_percentage(void);

#endif
