/*
 * CLINT (ACLINT MSWI + MTIMER) of the virt board.
 *
 * Layout (offsets from the base, 0x02000000 on virt):
 *   0x0000 + 4 * hart   msip[hart]      bit 0 drives the hart's MSIP
 *   0x4000 + 8 * hart   mtimecmp[hart]  64-bit, 4-byte halves accessible
 *   0xBFF8              mtime           64-bit, 10 MHz
 *
 * Time: mtime = (CLOCK_MONOTONIC ns - base_ns) / 100 + offset while the VM
 * runs; it is frozen while the VM is stopped (like QEMU's virtual clock), so
 * a paused or migrating guest does not see time jump.
 *
 * Migration (fields of RISCVAclintMigState, for the VMState description of
 * a later issue): 'mtime' is the guest time when the VM stopped; save it
 * with riscv_aclint_pre_save(), restore it with riscv_aclint_post_load():
 * mtime then continues from the saved value when the VM starts, so guest
 * time never goes backwards across a migration.  mtimecmp[] and msip[] are
 * migrated as they are.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_INTC_RISCV_ACLINT_H
#define HW_INTC_RISCV_ACLINT_H

#include "qemu/osdep.h"

#define RISCV_ACLINT_SIZE          0x10000
#define RISCV_ACLINT_MSIP_OFFSET   0x0
#define RISCV_ACLINT_MTIMECMP_OFFSET 0x4000
#define RISCV_ACLINT_MTIME_OFFSET  0xbff8
#define RISCV_ACLINT_TIMEBASE_FREQ 10000000ULL
#define RISCV_ACLINT_MAX_HARTS     4095

typedef struct RISCVAclintMigState {
    uint64_t mtime;             /* guest time at save */
    uint32_t num_harts;
    uint64_t *mtimecmp;         /* [num_harts] */
    uint32_t *msip;             /* [num_harts] */
} RISCVAclintMigState;

/*
 * Create the CLINT for @num_harts harts and map it at @base.  The harts
 * must be registered with riscv_aclint_set_hart() before the VM runs.
 */
bool riscv_aclint_create(hwaddr base, int num_harts, Error **errp);
/* Register hart @hartid's CPU (for msip and kicks on mtimecmp writes). */
typedef struct RISCVCPU RISCVCPU;
void riscv_aclint_set_hart(int hartid, RISCVCPU *cpu);
/* Forget all state (tests); the MMIO mapping, if any, stays. */
void riscv_aclint_destroy(void);

/* Current guest time (ticks of 10 MHz).  Any thread, lock-free. */
uint64_t riscv_aclint_get_mtime(void);
/* mtimecmp of @hart (UINT64_MAX if there is no CLINT / no such hart). */
uint64_t riscv_aclint_get_mtimecmp(int hart);
/* CLOCK_MONOTONIC ns at which mtime reaches @ticks; INT64_MAX if frozen/never. */
int64_t riscv_aclint_deadline_ns(uint64_t ticks);

/* MMIO register access, as the guest sees it (tests; BQL held). */
uint64_t riscv_aclint_read(hwaddr offset, unsigned size);
void riscv_aclint_write(hwaddr offset, uint64_t value, unsigned size);

/* Stop/start the guest clock (VM stop/resume; also used by tests). */
void riscv_aclint_set_running(bool running);
/* Reset: every mtimecmp and msip to 0 (MSIP lowered); time keeps running. */
void riscv_aclint_reset(void);

/* Migration hooks on the global state. */
RISCVAclintMigState *riscv_aclint_mig_state(void);
void riscv_aclint_pre_save(void);
void riscv_aclint_post_load(void);

#endif
