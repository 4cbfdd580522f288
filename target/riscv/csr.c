/*
 * RISC-V control and status registers of a machine-mode-only RV64IMA hart.
 *
 * CSRs that make sense without S/U modes, paging, PMP or floating point
 * exist; satp, the PMP registers, medeleg/mideleg, mcounteren and the
 * hardware performance monitor registers are accepted and read as zero
 * (WARL), so firmware written for richer harts runs.  Floating-point CSRs
 * are absent (illegal instruction).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "target/riscv/cpu.h"
#include "hw/intc/riscv_aclint.h"
#include "trace.h"

/* Only machine mode exists, so MPP always reads M (priv spec 3.1.6.1). */
#define MSTATUS_WRITABLE (MSTATUS_MIE | MSTATUS_MPIE)

bool riscv_csr_read(RISCVCPU *cpu, int csrno, uint64_t *val)
{
    CPURISCVState *env = &cpu->env;

    switch (csrno) {
    case CSR_CYCLE:
    case CSR_MCYCLE:
        *val = env->minstret + env->mcycle_delta;
        return true;
    case CSR_INSTRET:
    case CSR_MINSTRET:
        *val = env->minstret;
        return true;
    case CSR_TIME:
        *val = riscv_aclint_get_mtime();
        return true;
    case CSR_HPMCOUNTER3 ... CSR_HPMCOUNTER31:
    case CSR_MHPMCOUNTER3 ... CSR_MHPMCOUNTER31:
    case CSR_MHPMEVENT3 ... CSR_MHPMEVENT31:
    case CSR_MVENDORID:
    case CSR_MARCHID:
    case CSR_MIMPID:
    case CSR_MCONFIGPTR:
    case CSR_MEDELEG:
    case CSR_MIDELEG:
    case CSR_SATP:
    case CSR_PMPADDR0 ... CSR_PMPADDR63:
        *val = 0;
        return true;
    case CSR_PMPCFG0 ... CSR_PMPCFG15:
        if (csrno & 1) {
            return false;       /* odd pmpcfg registers do not exist on RV64 */
        }
        *val = 0;
        return true;
    case CSR_MHARTID:
        *val = env->mhartid;
        return true;
    case CSR_MSTATUS:
        *val = (env->mstatus & MSTATUS_WRITABLE) | (PRV_M << MSTATUS_MPP_SHIFT);
        return true;
    case CSR_MISA:
        *val = MISA_VALUE;
        return true;
    case CSR_MIE:
        *val = env->mie;
        return true;
    case CSR_MIP:
        *val = riscv_cpu_get_mip(cpu);
        return true;
    case CSR_MTVEC:
        *val = env->mtvec;
        return true;
    case CSR_MCOUNTEREN:
        *val = env->mcounteren;
        return true;
    case CSR_MCOUNTINHIBIT:
        *val = env->mcountinhibit;
        return true;
    case CSR_MSCRATCH:
        *val = env->mscratch;
        return true;
    case CSR_MEPC:
        *val = env->mepc;
        return true;
    case CSR_MCAUSE:
        *val = env->mcause;
        return true;
    case CSR_MTVAL:
        *val = env->mtval;
        return true;
    default:
        trace_riscv_csr_illegal(env->mhartid, csrno);
        return false;
    }
}

bool riscv_csr_write(RISCVCPU *cpu, int csrno, uint64_t val)
{
    CPURISCVState *env = &cpu->env;

    if ((csrno >> 10) == 3) {
        return false;           /* read-only CSR */
    }
    switch (csrno) {
    case CSR_MCYCLE:
        env->mcycle_delta = val - env->minstret;
        return true;
    case CSR_MINSTRET:
        /* the writing instruction itself does not count (spec: 'retires') */
        env->mcycle_delta += env->minstret - val;
        env->minstret = val;
        return true;
    case CSR_MHPMCOUNTER3 ... CSR_MHPMCOUNTER31:
    case CSR_MHPMEVENT3 ... CSR_MHPMEVENT31:
    case CSR_MEDELEG:
    case CSR_MIDELEG:
    case CSR_SATP:
    case CSR_PMPADDR0 ... CSR_PMPADDR63:
    case CSR_MISA:
        return true;            /* WARL, nothing writable */
    case CSR_PMPCFG0 ... CSR_PMPCFG15:
        return !(csrno & 1);
    case CSR_MSTATUS:
        env->mstatus = (val & MSTATUS_WRITABLE) | (PRV_M << MSTATUS_MPP_SHIFT);
        return true;
    case CSR_MIE:
        qatomic_set(&env->mie, val & MIE_WRITABLE);
        return true;
    case CSR_MIP:
        return true;            /* MSIP/MTIP/MEIP are driven from outside */
    case CSR_MTVEC:
        if ((val & 3) < 2) {    /* direct or vectored; reserved modes ignored */
            env->mtvec = val;
        }
        return true;
    case CSR_MCOUNTEREN:
        env->mcounteren = 0;    /* no U-mode: WARL zero */
        return true;
    case CSR_MCOUNTINHIBIT:
        env->mcountinhibit = (uint32_t)val & ~2u;
        return true;
    case CSR_MSCRATCH:
        env->mscratch = val;
        return true;
    case CSR_MEPC:
        env->mepc = val & ~3ULL;   /* IALIGN=32 */
        return true;
    case CSR_MCAUSE:
        env->mcause = val;
        return true;
    case CSR_MTVAL:
        env->mtval = val;
        return true;
    default:
        trace_riscv_csr_illegal(env->mhartid, csrno);
        return false;
    }
}
