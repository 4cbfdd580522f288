/* vCPU threads: creation, pause/resume handshake and throttling (system/cpus.c). */
#ifndef SYSEMU_CPUS_H
#define SYSEMU_CPUS_H

#include "hw/core/cpu.h"

/* Register @cpu and start its thread "CPU n/TCG"-style name "CPU %d/riscv". */
void qemu_init_vcpu(CPUState *cpu);
/* Stop every vCPU and wait until each acknowledged (BQL held). */
void pause_all_vcpus(void);
void resume_all_vcpus(void);
bool all_vcpus_paused(void);
/* Join every vCPU thread at exit. */
void cpus_shutdown(void);

/*
 * Throttle: each vCPU sleeps pct% of every time slice (10 ms of run per
 * (100-pct)% ...).  0 disables.  Range 0..99.
 */
void cpu_throttle_set(int new_throttle_pct);
void cpu_throttle_stop(void);
bool cpu_throttle_active(void);
int  cpu_throttle_get_percentage(void);

#endif
