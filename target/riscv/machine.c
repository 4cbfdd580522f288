/*
 * VMState of a RISC-V hart: "cpu", one instance per hart (instance id =
 * hart id), version 1.
 *
 * Layout: 32 x be64 gpr, be64 pc, then the machine-mode CSRs as be64
 * (mstatus, mie, mip, mtvec, mepc, mcause, mtval, mscratch, mhartid),
 * be32 mcounteren, be32 mcountinhibit, be64 minstret, be64 mcycle_delta.
 * The LR/SC reservation is not migrated: it is cleared on load, which a
 * guest sees as an SC failing (always allowed).  Host caches (the TLB) are
 * flushed on load.  Every value the hart could not hold is refused.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "target/riscv/cpu.h"

static bool riscv_cpu_post_load(void *opaque, int version_id, Error **errp)
{
    RISCVCPU *cpu = opaque;
    CPURISCVState *env = &cpu->env;

    if (env->mhartid != (uint64_t)CPU(cpu)->cpu_index) {
        error_setg(errp, "cpu %d: field env.mhartid is %" PRIu64,
                   CPU(cpu)->cpu_index, env->mhartid);
        return false;
    }
    if (env->gpr[0] != 0) {
        error_setg(errp, "cpu %d: field env.gpr[0] (x0) is 0x%" PRIx64
                   ", must be 0", CPU(cpu)->cpu_index, env->gpr[0]);
        return false;
    }
    if (env->pc & 3) {
        error_setg(errp, "cpu %d: field env.pc 0x%" PRIx64 " is not 4-byte "
                   "aligned", CPU(cpu)->cpu_index, env->pc);
        return false;
    }
    if (env->mie & ~MIE_WRITABLE) {
        error_setg(errp, "cpu %d: field env.mie 0x%" PRIx64 " has bits "
                   "outside 0x%llx", CPU(cpu)->cpu_index, env->mie,
                   (unsigned long long)MIE_WRITABLE);
        return false;
    }
    if (env->mip & ~(MIP_MSIP | MIP_MEIP)) {
        error_setg(errp, "cpu %d: field env.mip 0x%" PRIx64 " has bits "
                   "that are not interrupt lines", CPU(cpu)->cpu_index,
                   env->mip);
        return false;
    }
    if ((env->mtvec & 3) > 1) {
        error_setg(errp, "cpu %d: field env.mtvec 0x%" PRIx64 " has a "
                   "reserved mode", CPU(cpu)->cpu_index, env->mtvec);
        return false;
    }
    env->reservation_valid = false;
    env->reservation_addr = 0;
    env->reservation_val = 0;
    riscv_tlb_flush(cpu);
    return true;
}

static const VMStateDescription vmstate_riscv_cpu = {
    .name = "cpu",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load_errp = riscv_cpu_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64_ARRAY(env.gpr, RISCVCPU, 32),
        VMSTATE_UINT64(env.pc, RISCVCPU),
        VMSTATE_UINT64(env.mstatus, RISCVCPU),
        VMSTATE_UINT64(env.mie, RISCVCPU),
        VMSTATE_UINT64(env.mip, RISCVCPU),
        VMSTATE_UINT64(env.mtvec, RISCVCPU),
        VMSTATE_UINT64(env.mepc, RISCVCPU),
        VMSTATE_UINT64(env.mcause, RISCVCPU),
        VMSTATE_UINT64(env.mtval, RISCVCPU),
        VMSTATE_UINT64(env.mscratch, RISCVCPU),
        VMSTATE_UINT64(env.mhartid, RISCVCPU),
        VMSTATE_UINT32(env.mcounteren, RISCVCPU),
        VMSTATE_UINT32(env.mcountinhibit, RISCVCPU),
        VMSTATE_UINT64(env.minstret, RISCVCPU),
        VMSTATE_UINT64(env.mcycle_delta, RISCVCPU),
        VMSTATE_END_OF_LIST()
    },
};

void riscv_cpu_register_vmstate(RISCVCPU *cpu)
{
    vmstate_register(NULL, CPU(cpu)->cpu_index, &vmstate_riscv_cpu, cpu);
}

void riscv_cpu_unregister_vmstate(RISCVCPU *cpu)
{
    vmstate_unregister(NULL, &vmstate_riscv_cpu, cpu);
}
