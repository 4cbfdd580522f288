/*
 * Interpreter speed: one hart runs a counted loop until wfi, called through
 * its exec() directly on this thread.  Prints guest instructions per second.
 *
 *   bench-cpu [MILLIONS]     (default 500 million instructions per loop)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "target/riscv/cpu.h"

#define RAM_BASE 0x80000000ULL

static RAMBlock *ram;

/* rd, rs1, imm */
#define ADDI(rd, rs, i)  ((((uint32_t)(i) & 0xfff) << 20) | (rs) << 15 | (rd) << 7 | 0x13)
#define LD(rd, rs, i)    ((((uint32_t)(i) & 0xfff) << 20) | (rs) << 15 | 3 << 12 | \
                          (rd) << 7 | 0x03)
#define SD(rs1, rs2, i)  ((((uint32_t)(i) >> 5 & 0x7f) << 25) | (rs2) << 20 | \
                          (rs1) << 15 | 3 << 12 | (((uint32_t)(i) & 0x1f) << 7) | 0x23)
/* bne rs1, x0, -off (off a multiple of 4 below 4096) */
#define BNEZ_BACK(rs, off) ((1u << 31) | ((((uint32_t)-(off) >> 5) & 0x3f) << 25) | \
                            (rs) << 15 | 1 << 12 | \
                            ((((uint32_t)-(off) >> 1) & 0xf) << 8) | (1u << 7) | 0x63)
#define WFI 0x10500073u

static double run(const char *name, const uint32_t *code, int n,
                  uint64_t iters)
{
    RISCVCPU *cpu = riscv_cpu_create(0, &error_abort);
    CPUState *cs = CPU(cpu);
    int64_t t0, t1, c0, c1;
    struct timespec ts;
    double mips;

    memcpy(ram->host, code, n * 4);
    riscv_cpu_set_reset_pc(cpu, RAM_BASE);
    cs->ops->reset(cs);
    cpu->env.gpr[1] = iters;
    cpu->env.gpr[2] = RAM_BASE + 0x1000;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    c0 = ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
    t0 = get_clock();
    while (!cs->halted) {
        cs->ops->exec(cs);
    }
    t1 = get_clock();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    c1 = ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
    /* per CPU second: the figure does not depend on other load of the host */
    mips = cpu->env.minstret / ((c1 - c0) / 1e3);
    printf("interp: %.0f Minsn/s (%s, %" PRIu64 " M instructions, "
           "%.3f s CPU, %.3f s wall)\n", mips, name,
           cpu->env.minstret / 1000000, (c1 - c0) / 1e9, (t1 - t0) / 1e9);
    riscv_cpu_free(cpu);
    return mips;
}

int main(int argc, char **argv)
{
    RAMBlockConfig cfg = { .name = "bench.ram", .size = 1 * MiB };
    uint64_t millions = argc > 1 ? strtoull(argv[1], NULL, 0) : 500;
    static const uint32_t loop_alu[] = {
        ADDI(1, 1, -1),
        BNEZ_BACK(1, 4),
        WFI,
    };
    static const uint32_t loop_mem[] = {
        LD(5, 2, 0),
        ADDI(5, 5, 1),
        SD(2, 5, 0),
        ADDI(1, 1, -1),
        BNEZ_BACK(1, 16),
        WFI,
    };

    ram = qemu_ram_alloc(&cfg, &error_abort);
    memory_region_add_ram("bench.ram", RAM_BASE, ram);
    run("addi/bne loop", loop_alu, ARRAY_SIZE(loop_alu), millions * 1000000 / 2);
    run("ld/addi/sd/addi/bne loop", loop_mem, ARRAY_SIZE(loop_mem),
        millions * 1000000 / 5);
    return 0;
}
