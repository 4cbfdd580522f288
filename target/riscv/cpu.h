/*
 * RISC-V RV64IMA hart (machine mode only), interpreted.
 *
 * The architectural state lives in CPURISCVState with fixed-width fields
 * only, so that a VMState description can cover it field by field.  The
 * software TLB and other host-side caches are kept apart (RISCVCPU) and
 * are never migrated.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TARGET_RISCV_CPU_H
#define TARGET_RISCV_CPU_H

#include "qemu/osdep.h"
#include "hw/core/cpu.h"
#include "exec/memory.h"

/* ---------------------------------------------------------------- CSRs */

#define CSR_FFLAGS      0x001
#define CSR_FRM         0x002
#define CSR_FCSR        0x003
#define CSR_CYCLE       0xc00
#define CSR_TIME        0xc01
#define CSR_INSTRET     0xc02
#define CSR_SATP        0x180
#define CSR_MVENDORID   0xf11
#define CSR_MARCHID     0xf12
#define CSR_MIMPID      0xf13
#define CSR_MHARTID     0xf14
#define CSR_MCONFIGPTR  0xf15
#define CSR_MSTATUS     0x300
#define CSR_MISA        0x301
#define CSR_MEDELEG     0x302
#define CSR_MIDELEG     0x303
#define CSR_MIE         0x304
#define CSR_MTVEC       0x305
#define CSR_MCOUNTEREN  0x306
#define CSR_MENVCFG     0x30a
#define CSR_MCOUNTINHIBIT 0x320
#define CSR_MSCRATCH    0x340
#define CSR_MEPC        0x341
#define CSR_MCAUSE      0x342
#define CSR_MTVAL       0x343
#define CSR_MIP         0x344
#define CSR_PMPCFG0     0x3a0
#define CSR_PMPCFG15    0x3af
#define CSR_PMPADDR0    0x3b0
#define CSR_PMPADDR63   0x3ef
#define CSR_MCYCLE      0xb00
#define CSR_MINSTRET    0xb02
#define CSR_MHPMCOUNTER3  0xb03
#define CSR_MHPMCOUNTER31 0xb1f
#define CSR_MHPMEVENT3  0x323
#define CSR_MHPMEVENT31 0x33f
#define CSR_HPMCOUNTER3  0xc03
#define CSR_HPMCOUNTER31 0xc1f

/* mstatus bits implemented (machine mode only) */
#define MSTATUS_MIE     (1ULL << 3)
#define MSTATUS_MPIE    (1ULL << 7)
#define MSTATUS_MPP     (3ULL << 11)
#define MSTATUS_MPP_SHIFT 11
#define PRV_M           3ULL

/* Interrupt numbers (bit positions in mip/mie) */
#define IRQ_M_SOFT      3
#define IRQ_M_TIMER     7
#define IRQ_M_EXT       11
#define MIP_MSIP        (1ULL << IRQ_M_SOFT)
#define MIP_MTIP        (1ULL << IRQ_M_TIMER)
#define MIP_MEIP        (1ULL << IRQ_M_EXT)
#define MIE_WRITABLE    (MIP_MSIP | MIP_MTIP | MIP_MEIP)

/* Synchronous exception causes */
#define EXCP_INST_ADDR_MIS   0
#define EXCP_INST_ACCESS     1
#define EXCP_ILLEGAL_INST    2
#define EXCP_BREAKPOINT      3
#define EXCP_LOAD_ADDR_MIS   4
#define EXCP_LOAD_ACCESS     5
#define EXCP_STORE_ADDR_MIS  6
#define EXCP_STORE_ACCESS    7
#define EXCP_M_ECALL         11

#define MCAUSE_INTERRUPT     (1ULL << 63)

/* misa: MXL=2 (64-bit), extensions A, I, M */
#define MISA_VALUE ((2ULL << 62) | (1ULL << ('A' - 'A')) | \
                    (1ULL << ('I' - 'A')) | (1ULL << ('M' - 'A')))

/* Power-on reset vector (start of the boot ROM), as on QEMU's virt. */
#define RISCV_RESET_VECTOR  0x1000ULL

/* ---------------------------------------------------------------- state */

/*
 * Architectural state.  Migratable; fixed-width fields only.
 *
 * mip holds the level of the interrupt lines driven from outside (MSIP from
 * the CLINT; MEIP is never raised: the board has no PLIC).  It is updated
 * with atomics from any thread.  MTIP is not stored: it is computed from the
 * CLINT (mtime >= mtimecmp[hart]) whenever it is needed, so the value seen by
 * a guest read of mip is always current.
 *
 * The counters: minstret counts retired instructions; mcycle is reported as
 * minstret plus mcycle_delta (one cycle per instruction, adjusted by guest
 * writes to mcycle).
 *
 * LR/SC: reservation_valid/reservation_addr/reservation_val record the last
 * LR (address and the value it loaded); SC succeeds if the word still holds
 * that value (host compare-and-swap).  A trap drops the reservation.
 */
typedef struct CPURISCVState {
    uint64_t gpr[32];
    uint64_t pc;

    uint64_t mstatus;
    uint64_t mie;
    uint64_t mip;               /* atomic; external lines only */
    uint64_t mtvec;
    uint64_t mepc;
    uint64_t mcause;
    uint64_t mtval;
    uint64_t mscratch;
    uint64_t mhartid;
    uint32_t mcounteren;        /* WARL, kept for guests that set it */
    uint32_t mcountinhibit;     /* WARL, no effect */

    uint64_t minstret;
    uint64_t mcycle_delta;

    uint64_t reservation_addr;
    uint64_t reservation_val;
    bool reservation_valid;

    uint64_t reset_pc;          /* RISCV_RESET_VECTOR, or a loader's cpu-num= entry */
} CPURISCVState;

/* One software TLB entry: a guest page of RAM and where it is on the host. */
typedef struct RISCVTLBEntry {
    uint64_t vpage;             /* guest page address, or -1 when empty */
    uintptr_t addend;           /* host address = guest address + addend */
    RAMBlock *rb;
    ram_addr_t rb_adj;          /* offset in rb = guest address + rb_adj */
    bool writable;              /* false for ROM blocks: writes are ignored */
} RISCVTLBEntry;

#define RISCV_TLB_BITS 8
#define RISCV_TLB_SIZE (1 << RISCV_TLB_BITS)

typedef struct RISCVCPU {
    CPUState parent_obj;
    CPURISCVState env;
    /* host-side caches, never migrated; touched by the vCPU thread only */
    RISCVTLBEntry tlb[RISCV_TLB_SIZE];
} RISCVCPU;

static inline CPUState *CPU(RISCVCPU *cpu)
{
    return &cpu->parent_obj;
}

static inline RISCVCPU *RISCV_CPU(CPUState *cs)
{
    return container_of(cs, RISCVCPU, parent_obj);
}

/* ---------------------------------------------------------------- API */

/*
 * Create hart @hartid (its CPUState.cpu_index is @hartid too) in its reset
 * state.  The caller starts it with qemu_init_vcpu().
 */
RISCVCPU *riscv_cpu_create(int hartid, Error **errp);
void riscv_cpu_free(RISCVCPU *cpu);
/*
 * Register / remove the hart's "cpu" VMState (instance = hart id); the
 * board does it for the harts of the machine (target/riscv/machine.c).
 */
void riscv_cpu_register_vmstate(RISCVCPU *cpu);
void riscv_cpu_unregister_vmstate(RISCVCPU *cpu);

/* Drive interrupt line @irq_bit (IRQ_M_SOFT, IRQ_M_EXT) of mip; any thread. */
void riscv_cpu_set_irq(RISCVCPU *cpu, int irq_bit, bool level);

/*
 * Make the hart leave exec() and re-check interrupts/deadlines: a
 * qemu_cpu_kick() once its vCPU thread exists (any thread).
 */
void riscv_cpu_kick(RISCVCPU *cpu);

/* Set the pc used at reset (and now); loaders' cpu-num=. */
void riscv_cpu_set_reset_pc(RISCVCPU *cpu, uint64_t pc);

/*
 * Value the ROM reset vector puts in a1 (and reset puts there too): where
 * QEMU's virt would place the device tree, 2 MiB below the end of DRAM
 * (capped at 3 GiB of DRAM).  Godwit writes no device tree.
 */
void riscv_cpu_set_fdt_addr(uint64_t addr);
uint64_t riscv_cpu_get_fdt_addr(void);

/* mip as a guest read sees it: lines | MTIP computed from the CLINT. */
uint64_t riscv_cpu_get_mip(RISCVCPU *cpu);

/* Instruction budget of one call to exec() (tests may lower it). */
extern uint64_t riscv_exec_budget;

/* Internal, shared by cpu.c, csr.c and interp.c. */
void riscv_cpu_exec(CPUState *cs);
void riscv_tlb_flush(RISCVCPU *cpu);
/*
 * CSR access for an instruction (cpu->env.minstret must be current).
 * Return false if the CSR does not exist or is read-only for a write (the
 * caller raises illegal instruction).
 */
bool riscv_csr_read(RISCVCPU *cpu, int csrno, uint64_t *val);
bool riscv_csr_write(RISCVCPU *cpu, int csrno, uint64_t val);

#endif
