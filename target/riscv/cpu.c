/*
 * RISC-V hart: creation, reset, interrupt lines, and the CPUOps that
 * system/cpus.c drives.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "target/riscv/cpu.h"
#include "hw/intc/riscv_aclint.h"
#include "trace.h"

static uint64_t fdt_addr;

void riscv_cpu_set_fdt_addr(uint64_t addr)
{
    fdt_addr = addr;
}

uint64_t riscv_cpu_get_fdt_addr(void)
{
    return fdt_addr;
}

static bool timer_pending(CPURISCVState *env)
{
    uint64_t cmp = riscv_aclint_get_mtimecmp(env->mhartid);

    return cmp != UINT64_MAX && riscv_aclint_get_mtime() >= cmp;
}

uint64_t riscv_cpu_get_mip(RISCVCPU *cpu)
{
    CPURISCVState *env = &cpu->env;
    uint64_t mip = qatomic_read(&env->mip);

    if (timer_pending(env)) {
        mip |= MIP_MTIP;
    }
    return mip;
}

void riscv_cpu_set_irq(RISCVCPU *cpu, int irq_bit, bool level)
{
    CPURISCVState *env = &cpu->env;
    uint64_t mask = 1ULL << irq_bit;

    trace_riscv_cpu_set_irq(env->mhartid, irq_bit, level);
    if (level) {
        qatomic_or(&env->mip, mask);
    } else {
        qatomic_and(&env->mip, ~mask);
    }
    riscv_cpu_kick(cpu);
}

void riscv_cpu_kick(RISCVCPU *cpu)
{
    CPUState *cs = CPU(cpu);

    if (qatomic_read(&cs->created)) {
        qemu_cpu_kick(cs);
    } else {
        /* no vCPU thread (yet): nobody sleeps, the flag is enough */
        qatomic_set(&cs->exit_request, true);
    }
}

static bool riscv_cpu_has_work(CPUState *cs)
{
    RISCVCPU *cpu = RISCV_CPU(cs);
    uint64_t mie = qatomic_read(&cpu->env.mie);

    if (!mie) {
        return false;
    }
    if (qatomic_read(&cpu->env.mip) & mie) {
        return true;
    }
    return (mie & MIP_MTIP) && timer_pending(&cpu->env);
}

static int64_t riscv_cpu_next_deadline(CPUState *cs)
{
    RISCVCPU *cpu = RISCV_CPU(cs);
    uint64_t cmp;

    if (!(qatomic_read(&cpu->env.mie) & MIP_MTIP)) {
        return INT64_MAX;
    }
    cmp = riscv_aclint_get_mtimecmp(cpu->env.mhartid);
    if (cmp == UINT64_MAX) {
        return INT64_MAX;
    }
    return riscv_aclint_deadline_ns(cmp);
}

static void riscv_cpu_reset(CPUState *cs)
{
    RISCVCPU *cpu = RISCV_CPU(cs);
    CPURISCVState *env = &cpu->env;
    uint64_t hartid = env->mhartid;
    uint64_t reset_pc = env->reset_pc;

    memset(env, 0, sizeof(*env));
    env->mhartid = hartid;
    env->reset_pc = reset_pc;
    env->pc = reset_pc;
    env->mstatus = PRV_M << MSTATUS_MPP_SHIFT;
    env->gpr[10] = hartid;          /* a0 */
    env->gpr[11] = fdt_addr;        /* a1 */
    riscv_tlb_flush(cpu);
    qatomic_set(&cs->halted, false);
    qatomic_set(&cs->exit_request, false);
}

static const char *const int_regnames[32] = {
    "x0/zero", "x1/ra", "x2/sp", "x3/gp", "x4/tp", "x5/t0", "x6/t1",
    "x7/t2", "x8/s0", "x9/s1", "x10/a0", "x11/a1", "x12/a2", "x13/a3",
    "x14/a4", "x15/a5", "x16/a6", "x17/a7", "x18/s2", "x19/s3", "x20/s4",
    "x21/s5", "x22/s6", "x23/s7", "x24/s8", "x25/s9", "x26/s10", "x27/s11",
    "x28/t3", "x29/t4", "x30/t5", "x31/t6",
};

static void riscv_cpu_dump_state(CPUState *cs, GString *out)
{
    RISCVCPU *cpu = RISCV_CPU(cs);
    CPURISCVState *env = &cpu->env;
    struct {
        const char *name;
        uint64_t val;
    } csrs[] = {
        { "pc", env->pc },
        { "mhartid", env->mhartid },
        { "mstatus", (env->mstatus & (MSTATUS_MIE | MSTATUS_MPIE)) |
                     (PRV_M << MSTATUS_MPP_SHIFT) },
        { "mip", riscv_cpu_get_mip(cpu) },
        { "mie", env->mie },
        { "mideleg", 0 },
        { "medeleg", 0 },
        { "mtvec", env->mtvec },
        { "mepc", env->mepc },
        { "mcause", env->mcause },
        { "mtval", env->mtval },
        { "mscratch", env->mscratch },
    };

    for (size_t i = 0; i < ARRAY_SIZE(csrs); i++) {
        g_string_append_printf(out, " %-8s %016" PRIx64 "\n",
                               csrs[i].name, csrs[i].val);
    }
    for (int i = 0; i < 32; i++) {
        g_string_append_printf(out, " %-8s %016" PRIx64,
                               int_regnames[i], env->gpr[i]);
        if ((i & 3) == 3) {
            g_string_append_c(out, '\n');
        }
    }
}

static const CPUOps riscv_cpu_ops = {
    .exec = riscv_cpu_exec,
    .has_work = riscv_cpu_has_work,
    .next_deadline = riscv_cpu_next_deadline,
    .reset = riscv_cpu_reset,
    .dump_state = riscv_cpu_dump_state,
};

RISCVCPU *riscv_cpu_create(int hartid, Error **errp)
{
    RISCVCPU *cpu;
    CPUState *cs;

    if (hartid < 0 || hartid >= RISCV_ACLINT_MAX_HARTS) {
        error_setg(errp, "invalid hart id %d", hartid);
        return NULL;
    }
    cpu = g_new0(RISCVCPU, 1);
    cs = CPU(cpu);
    cs->cpu_index = hartid;
    cs->ops = &riscv_cpu_ops;
    cs->env_ptr = &cpu->env;
    cpu->env.mhartid = hartid;
    cpu->env.reset_pc = RISCV_RESET_VECTOR;
    riscv_cpu_reset(cs);
    return cpu;
}

void riscv_cpu_free(RISCVCPU *cpu)
{
    g_free(cpu);
}

void riscv_cpu_set_reset_pc(RISCVCPU *cpu, uint64_t pc)
{
    cpu->env.reset_pc = pc;
    cpu->env.pc = pc;
}
