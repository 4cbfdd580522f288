/*
 * RV64IMA + Zicsr + Zifencei interpreter (machine mode).
 *
 * Fetch reads the instruction word through a host pointer cached for the
 * current page; decode is a switch on the major opcode.  Loads and stores
 * go through a small direct-mapped software TLB of guest RAM pages (filled
 * with memory_ram_ptr(); the memory map is frozen, so entries only go at
 * reset).  Anything that is not RAM is MMIO: address_space_read/write under
 * the BQL.  Misaligned loads and stores succeed (split when they cross a
 * page); misaligned LR/SC/AMO trap.
 *
 * Pending interrupts, exit requests and the budget are checked every
 * RISCV_CHECK_INTERVAL instructions and right after an instruction that
 * may enable an interrupt (CSR write, mret), never per instruction.
 *
 * Atomics: LR records the address and the value it read; SC is a host
 * compare-and-swap against that value.  Plain stores of other harts are
 * not tracked, so SC succeeds if the word went A -> B -> A in between (the
 * ABA case); every lock-free algorithm written for LR/SC stays correct with
 * this, as it does on QEMU's TCG.  AMOs are host __atomic operations on the
 * guest RAM's host memory, so they are atomic across vCPU threads and with
 * respect to each other.  AMOs on MMIO raise a store access fault.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "exec/memory.h"
#include "target/riscv/cpu.h"
#include "hw/intc/riscv_aclint.h"
#include "trace.h"

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "the interpreter accesses guest RAM natively: little-endian hosts only"
#endif

#define RISCV_CHECK_INTERVAL 1024

uint64_t riscv_exec_budget = 4 * 1024 * 1024;

/* ---------------------------------------------------------------- TLB */

void riscv_tlb_flush(RISCVCPU *cpu)
{
    for (int i = 0; i < RISCV_TLB_SIZE; i++) {
        cpu->tlb[i].vpage = UINT64_MAX;
    }
}

static inline RISCVTLBEntry *tlb_entry(RISCVCPU *cpu, uint64_t addr)
{
    return &cpu->tlb[(addr >> TARGET_PAGE_BITS) & (RISCV_TLB_SIZE - 1)];
}

/* Fill the entry for the page of @addr; false if the page is not RAM. */
static RISCVTLBEntry *tlb_fill(RISCVCPU *cpu, uint64_t addr)
{
    uint64_t page = addr & TARGET_PAGE_MASK;
    RISCVTLBEntry *e = tlb_entry(cpu, addr);
    RAMBlock *rb = NULL;
    ram_addr_t off = 0;
    uint8_t *host;

    host = memory_ram_ptr(page, TARGET_PAGE_SIZE, &rb, &off);
    if (!host || !rb) {
        return NULL;
    }
    e->vpage = page;
    e->addend = (uintptr_t)host - (uintptr_t)page;
    e->rb = rb;
    e->rb_adj = off - page;
    e->writable = !(rb->flags & RAM_ROM);
    return e;
}

/* Host pointer of [addr, addr + size) if it is RAM within one page. */
static inline RISCVTLBEntry *tlb_lookup(RISCVCPU *cpu, uint64_t addr,
                                        unsigned size)
{
    RISCVTLBEntry *e = tlb_entry(cpu, addr);

    if (likely(e->vpage == (addr & TARGET_PAGE_MASK) &&
               (addr & ~TARGET_PAGE_MASK) <= TARGET_PAGE_SIZE - size)) {
        return e;
    }
    if ((addr & ~TARGET_PAGE_MASK) > TARGET_PAGE_SIZE - size) {
        return NULL;            /* crosses a page */
    }
    return tlb_fill(cpu, addr);
}

/* ---------------------------------------------------------------- memory */

static bool mmio_access(uint64_t addr, void *buf, unsigned size, bool write)
{
    bool locked = bql_locked();
    bool ok;

    if (!locked) {
        bql_lock();
    }
    ok = write ? address_space_write(addr, buf, size)
               : address_space_read(addr, buf, size);
    if (!locked) {
        bql_unlock();
    }
    return ok;
}

static bool load_slow(RISCVCPU *cpu, uint64_t addr, unsigned size,
                      uint64_t *val);
static bool store_slow(RISCVCPU *cpu, uint64_t addr, unsigned size,
                       uint64_t val);

static inline uint64_t host_load(const void *p, unsigned size)
{
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static inline void host_store(void *p, unsigned size, uint64_t val)
{
    switch (size) {
    case 1: *(uint8_t *)p = val; break;
    case 2: { uint16_t v = val; memcpy(p, &v, 2); break; }
    case 4: { uint32_t v = val; memcpy(p, &v, 4); break; }
    default: memcpy(p, &val, 8); break;
    }
}

/* Zero-extended load; false on access fault. */
static inline bool load(RISCVCPU *cpu, uint64_t addr, unsigned size,
                        uint64_t *val)
{
    RISCVTLBEntry *e = tlb_entry(cpu, addr);

    if (likely(e->vpage == (addr & TARGET_PAGE_MASK) &&
               (addr & ~TARGET_PAGE_MASK) <= TARGET_PAGE_SIZE - size)) {
        *val = host_load((void *)(uintptr_t)(addr + e->addend), size);
        return true;
    }
    return load_slow(cpu, addr, size, val);
}

static inline bool store(RISCVCPU *cpu, uint64_t addr, unsigned size,
                         uint64_t val)
{
    RISCVTLBEntry *e = tlb_entry(cpu, addr);

    if (likely(e->vpage == (addr & TARGET_PAGE_MASK) &&
               (addr & ~TARGET_PAGE_MASK) <= TARGET_PAGE_SIZE - size &&
               e->writable)) {
        host_store((void *)(uintptr_t)(addr + e->addend), size, val);
        memory_set_dirty(e->rb, addr + e->rb_adj, size);
        return true;
    }
    return store_slow(cpu, addr, size, val);
}

static bool load_slow(RISCVCPU *cpu, uint64_t addr, unsigned size,
                      uint64_t *val)
{
    RISCVTLBEntry *e;
    uint8_t buf[8];

    if ((addr & ~TARGET_PAGE_MASK) > TARGET_PAGE_SIZE - size) {
        /* crosses a page: byte by byte, little endian */
        uint64_t v = 0, b;
        for (unsigned i = 0; i < size; i++) {
            if (!load(cpu, addr + i, 1, &b)) {
                return false;
            }
            v |= b << (8 * i);
        }
        *val = v;
        return true;
    }
    e = tlb_fill(cpu, addr);
    if (e) {
        *val = host_load((void *)(uintptr_t)(addr + e->addend), size);
        return true;
    }
    memset(buf, 0, sizeof(buf));
    if (!mmio_access(addr, buf, size, false)) {
        return false;
    }
    *val = host_load(buf, 8);
    trace_riscv_mmio_read(addr, size, *val);
    return true;
}

static bool store_slow(RISCVCPU *cpu, uint64_t addr, unsigned size,
                       uint64_t val)
{
    RISCVTLBEntry *e;
    uint8_t buf[8];

    if ((addr & ~TARGET_PAGE_MASK) > TARGET_PAGE_SIZE - size) {
        /* check both pages first so a fault leaves memory untouched */
        uint64_t probe;
        uint64_t last = addr + size - 1;
        if (!tlb_lookup(cpu, addr, 1) && !load(cpu, addr, 1, &probe)) {
            return false;
        }
        if (!tlb_lookup(cpu, last, 1) && !load(cpu, last, 1, &probe)) {
            return false;
        }
        for (unsigned i = 0; i < size; i++) {
            if (!store(cpu, addr + i, 1, val >> (8 * i))) {
                return false;
            }
        }
        return true;
    }
    e = tlb_entry(cpu, addr);
    if (e->vpage != (addr & TARGET_PAGE_MASK)) {
        e = tlb_fill(cpu, addr);
    }
    if (e) {
        if (!e->writable) {
            return true;        /* ROM: writes are ignored */
        }
        host_store((void *)(uintptr_t)(addr + e->addend), size, val);
        memory_set_dirty(e->rb, addr + e->rb_adj, size);
        return true;
    }
    host_store(buf, 8, val);
    trace_riscv_mmio_write(addr, size, val);
    return mmio_access(addr, buf, size, true);
}

/* ---------------------------------------------------------------- traps */

/* Enter the trap handler; returns the new pc. */
static uint64_t raise_trap(CPURISCVState *env, uint64_t cause, uint64_t tval,
                           uint64_t epc)
{
    uint64_t ms = env->mstatus;
    uint64_t vec = env->mtvec;

    trace_riscv_trap(env->mhartid, cause, epc, tval);
    env->mepc = epc;
    env->mcause = cause;
    env->mtval = tval;
    ms = (ms & ~MSTATUS_MPIE) | ((ms & MSTATUS_MIE) ? MSTATUS_MPIE : 0);
    ms &= ~MSTATUS_MIE;
    ms = (ms & ~MSTATUS_MPP) | (PRV_M << MSTATUS_MPP_SHIFT);
    env->mstatus = ms;
    env->reservation_valid = false;
    if ((vec & 1) && (cause & MCAUSE_INTERRUPT)) {
        return (vec & ~3ULL) + 4 * (cause & ~MCAUSE_INTERRUPT);
    }
    return vec & ~3ULL;
}

/* Highest-priority enabled pending interrupt (MEI > MSI > MTI), or -1. */
static int pending_interrupt(RISCVCPU *cpu)
{
    CPURISCVState *env = &cpu->env;
    uint64_t mie = env->mie;
    uint64_t p;

    if (!(env->mstatus & MSTATUS_MIE) || !mie) {
        return -1;
    }
    p = qatomic_read(&env->mip) & mie;
    if ((mie & MIP_MTIP) && !(p & (MIP_MEIP | MIP_MSIP))) {
        uint64_t cmp = riscv_aclint_get_mtimecmp(env->mhartid);
        if (cmp != UINT64_MAX && riscv_aclint_get_mtime() >= cmp) {
            p |= MIP_MTIP;
        }
    }
    if (p & MIP_MEIP) {
        return IRQ_M_EXT;
    }
    if (p & MIP_MSIP) {
        return IRQ_M_SOFT;
    }
    if (p & MIP_MTIP) {
        return IRQ_M_TIMER;
    }
    return -1;
}

/* ---------------------------------------------------------------- helpers */

static inline int64_t sext32(uint64_t v)
{
    return (int64_t)(int32_t)v;
}

static inline uint64_t mulh(int64_t a, int64_t b)
{
    return (uint64_t)(((__int128)a * b) >> 64);
}

static inline uint64_t mulhsu(int64_t a, uint64_t b)
{
    return (uint64_t)(((__int128)a * (unsigned __int128)b) >> 64);
}

static inline uint64_t mulhu(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

static inline uint64_t div64(int64_t a, int64_t b)
{
    if (b == 0) {
        return UINT64_MAX;
    }
    if (a == INT64_MIN && b == -1) {
        return (uint64_t)a;
    }
    return (uint64_t)(a / b);
}

static inline uint64_t rem64(int64_t a, int64_t b)
{
    if (b == 0) {
        return (uint64_t)a;
    }
    if (a == INT64_MIN && b == -1) {
        return 0;
    }
    return (uint64_t)(a % b);
}

static inline uint64_t divw(int32_t a, int32_t b)
{
    if (b == 0) {
        return UINT64_MAX;
    }
    if (a == INT32_MIN && b == -1) {
        return (uint64_t)(int64_t)a;
    }
    return (uint64_t)(int64_t)(a / b);
}

static inline uint64_t remw(int32_t a, int32_t b)
{
    if (b == 0) {
        return (uint64_t)(int64_t)a;
    }
    if (a == INT32_MIN && b == -1) {
        return 0;
    }
    return (uint64_t)(int64_t)(a % b);
}

/* AMO funct5 values */
enum {
    AMO_ADD = 0x00, AMO_SWAP = 0x01, AMO_LR = 0x02, AMO_SC = 0x03,
    AMO_XOR = 0x04, AMO_OR = 0x08, AMO_AND = 0x0c, AMO_MIN = 0x10,
    AMO_MAX = 0x14, AMO_MINU = 0x18, AMO_MAXU = 0x1c,
};

#define AMO_OP(T, ST, p, op, src, out) do {                                  \
    T *p_ = (T *)(p);                                                         \
    T s_ = (T)(src), o_;                                                      \
    switch (op) {                                                             \
    case AMO_ADD:  o_ = __atomic_fetch_add(p_, s_, __ATOMIC_SEQ_CST); break;  \
    case AMO_SWAP: o_ = __atomic_exchange_n(p_, s_, __ATOMIC_SEQ_CST); break; \
    case AMO_XOR:  o_ = __atomic_fetch_xor(p_, s_, __ATOMIC_SEQ_CST); break;  \
    case AMO_OR:   o_ = __atomic_fetch_or(p_, s_, __ATOMIC_SEQ_CST); break;   \
    case AMO_AND:  o_ = __atomic_fetch_and(p_, s_, __ATOMIC_SEQ_CST); break;  \
    default: {                                                                \
        T n_;                                                                 \
        o_ = __atomic_load_n(p_, __ATOMIC_RELAXED);                           \
        do {                                                                  \
            switch (op) {                                                     \
            case AMO_MIN:  n_ = (ST)o_ < (ST)s_ ? o_ : s_; break;             \
            case AMO_MAX:  n_ = (ST)o_ > (ST)s_ ? o_ : s_; break;             \
            case AMO_MINU: n_ = o_ < s_ ? o_ : s_; break;                     \
            default:       n_ = o_ > s_ ? o_ : s_; break;                     \
            }                                                                 \
        } while (!__atomic_compare_exchange_n(p_, &o_, n_, false,             \
                                              __ATOMIC_SEQ_CST,               \
                                              __ATOMIC_SEQ_CST));             \
    }                                                                         \
    }                                                                         \
    (out) = (uint64_t)(int64_t)(ST)o_;                                        \
} while (0)

/*
 * Execute one A-extension instruction.  Returns 0 or the exception cause
 * (with *tval set).
 */
static int do_amo(RISCVCPU *cpu, uint32_t insn, uint64_t *x, int rd)
{
    CPURISCVState *env = &cpu->env;
    int funct3 = (insn >> 12) & 7;
    int op = insn >> 27;
    uint64_t addr = x[(insn >> 15) & 31];
    uint64_t src = x[(insn >> 20) & 31];
    unsigned size = funct3 == 3 ? 8 : 4;
    RISCVTLBEntry *e;
    void *host;
    uint64_t res;

    if ((funct3 != 2 && funct3 != 3) ||
        (op != AMO_ADD && op != AMO_SWAP && op != AMO_LR && op != AMO_SC &&
         op != AMO_XOR && op != AMO_OR && op != AMO_AND && op != AMO_MIN &&
         op != AMO_MAX && op != AMO_MINU && op != AMO_MAXU) ||
        (op == AMO_LR && ((insn >> 20) & 31))) {
        env->mtval = insn;
        return EXCP_ILLEGAL_INST;
    }
    if (addr & (size - 1)) {
        env->mtval = addr;
        return op == AMO_LR ? EXCP_LOAD_ADDR_MIS : EXCP_STORE_ADDR_MIS;
    }
    e = tlb_lookup(cpu, addr, size);
    if (!e || (op != AMO_LR && !e->writable)) {
        env->mtval = addr;
        return op == AMO_LR ? EXCP_LOAD_ACCESS : EXCP_STORE_ACCESS;
    }
    host = (void *)(uintptr_t)(addr + e->addend);

    if (op == AMO_LR) {
        uint64_t v = size == 8 ? __atomic_load_n((uint64_t *)host, __ATOMIC_SEQ_CST)
                               : __atomic_load_n((uint32_t *)host, __ATOMIC_SEQ_CST);
        env->reservation_valid = true;
        env->reservation_addr = addr;
        env->reservation_val = v;
        x[rd] = size == 8 ? v : (uint64_t)sext32(v);
        return 0;
    }
    if (op == AMO_SC) {
        bool ok = false;
        if (env->reservation_valid && env->reservation_addr == addr) {
            if (size == 8) {
                uint64_t expect = env->reservation_val;
                ok = __atomic_compare_exchange_n((uint64_t *)host, &expect, src,
                                                 false, __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST);
            } else {
                uint32_t expect = env->reservation_val;
                ok = __atomic_compare_exchange_n((uint32_t *)host, &expect,
                                                 (uint32_t)src, false,
                                                 __ATOMIC_SEQ_CST,
                                                 __ATOMIC_SEQ_CST);
            }
        }
        env->reservation_valid = false;
        if (ok) {
            memory_set_dirty(e->rb, addr + e->rb_adj, size);
        }
        x[rd] = !ok;
        return 0;
    }
    if (size == 8) {
        AMO_OP(uint64_t, int64_t, host, op, src, res);
    } else {
        AMO_OP(uint32_t, int32_t, host, op, src, res);
    }
    memory_set_dirty(e->rb, addr + e->rb_adj, size);
    x[rd] = res;
    return 0;
}

/* ---------------------------------------------------------------- exec */

/* Immediates */
#define IMM_I(i)  ((int64_t)(int32_t)(i) >> 20)
#define IMM_S(i)  (((int64_t)(int32_t)(i) >> 25 << 5) | (((i) >> 7) & 0x1f))
#define IMM_B(i)  (((int64_t)(int32_t)(i) >> 31 << 12) | \
                   (((i) << 4) & 0x800) | (((i) >> 20) & 0x7e0) | \
                   (((i) >> 7) & 0x1e))
#define IMM_U(i)  ((int64_t)(int32_t)((i) & 0xfffff000u))
#define IMM_J(i)  (((int64_t)(int32_t)(i) >> 31 << 20) | ((i) & 0xff000) | \
                   (((i) >> 9) & 0x800) | (((i) >> 20) & 0x7fe))

void riscv_cpu_exec(CPUState *cs)
{
    RISCVCPU *cpu = RISCV_CPU(cs);
    CPURISCVState *env = &cpu->env;
    uint64_t *x = env->gpr;
    uint64_t pc = env->pc;
    uint64_t fetch_page = UINT64_MAX;
    uintptr_t fetch_addend = 0;
    uint64_t start_instret = env->minstret;
    int64_t left = 0, chunk = 0;
    uint64_t cause, tval;

    if (qatomic_read(&cs->halted)) {
        if (!cs->ops->has_work(cs)) {
            return;
        }
        qatomic_set(&cs->halted, false);
    }

/* account the instructions run so far in this chunk */
#define SYNC_INSTRET() do {                      \
        env->minstret += chunk - left;           \
        chunk = left;                            \
    } while (0)
/* check interrupts before the next instruction */
#define CHECK_SOON() do {                        \
        SYNC_INSTRET();                          \
        chunk = left = 0;                        \
    } while (0)
#define TRAP(c, t) do { cause = (c); tval = (t); goto trap; } while (0)
#define JUMP(target) do {                                               \
        uint64_t t_ = (target);                                         \
        if (unlikely(t_ & 3)) {                                         \
            TRAP(EXCP_INST_ADDR_MIS, t_);                               \
        }                                                               \
        pc = t_;                                                        \
    } while (0)

    for (;;) {
        uint32_t insn;
        int rd;
        uint64_t rs1v, rs2v;

        if (unlikely(left == 0)) {
            int irq;

            SYNC_INSTRET();
            if (qatomic_read(&cs->exit_request)) {
                qatomic_set(&cs->exit_request, false);
                break;
            }
            if (env->minstret - start_instret >= riscv_exec_budget) {
                break;
            }
            irq = pending_interrupt(cpu);
            if (irq >= 0) {
                pc = raise_trap(env, MCAUSE_INTERRUPT | irq, 0, pc);
            }
            left = chunk = RISCV_CHECK_INTERVAL;
        }
        left--;

        if (unlikely((pc & TARGET_PAGE_MASK) != fetch_page)) {
            RISCVTLBEntry *e = tlb_lookup(cpu, pc, 4);
            if (!e) {
                fetch_page = UINT64_MAX;
                TRAP(EXCP_INST_ACCESS, pc);
            }
            fetch_page = pc & TARGET_PAGE_MASK;
            fetch_addend = e->addend;
        }
        insn = *(const uint32_t *)(uintptr_t)(pc + fetch_addend);
        rd = (insn >> 7) & 31;
        rs1v = x[(insn >> 15) & 31];
        rs2v = x[(insn >> 20) & 31];

        switch (insn & 0x7f) {
        case 0x13: /* OP-IMM */
        {
            int64_t imm = IMM_I(insn);
            switch ((insn >> 12) & 7) {
            case 0: x[rd] = rs1v + imm; break;
            case 1:
                if (insn >> 26) {
                    goto illegal;
                }
                x[rd] = rs1v << (imm & 63);
                break;
            case 2: x[rd] = (int64_t)rs1v < imm; break;
            case 3: x[rd] = rs1v < (uint64_t)imm; break;
            case 4: x[rd] = rs1v ^ imm; break;
            case 5:
                if ((insn >> 26) == 0) {
                    x[rd] = rs1v >> (imm & 63);
                } else if ((insn >> 26) == 0x10) {
                    x[rd] = (int64_t)rs1v >> (imm & 63);
                } else {
                    goto illegal;
                }
                break;
            case 6: x[rd] = rs1v | imm; break;
            default: x[rd] = rs1v & imm; break;
            }
            pc += 4;
            break;
        }
        case 0x1b: /* OP-IMM-32 */
        {
            int64_t imm = IMM_I(insn);
            unsigned sh = (insn >> 20) & 31;
            switch ((insn >> 12) & 7) {
            case 0: x[rd] = sext32(rs1v + imm); break;
            case 1:
                if (insn >> 25) {
                    goto illegal;
                }
                x[rd] = sext32((uint32_t)rs1v << sh);
                break;
            case 5:
                if ((insn >> 25) == 0) {
                    x[rd] = sext32((uint32_t)rs1v >> sh);
                } else if ((insn >> 25) == 0x20) {
                    x[rd] = sext32((int32_t)rs1v >> sh);
                } else {
                    goto illegal;
                }
                break;
            default:
                goto illegal;
            }
            pc += 4;
            break;
        }
        case 0x33: /* OP */
        {
            unsigned f = ((insn >> 22) & 0x3f8) | ((insn >> 12) & 7);
            switch (f) {   /* funct7:funct3 */
            case 0x000: x[rd] = rs1v + rs2v; break;
            case 0x100: x[rd] = rs1v - rs2v; break;
            case 0x001: x[rd] = rs1v << (rs2v & 63); break;
            case 0x002: x[rd] = (int64_t)rs1v < (int64_t)rs2v; break;
            case 0x003: x[rd] = rs1v < rs2v; break;
            case 0x004: x[rd] = rs1v ^ rs2v; break;
            case 0x005: x[rd] = rs1v >> (rs2v & 63); break;
            case 0x105: x[rd] = (int64_t)rs1v >> (rs2v & 63); break;
            case 0x006: x[rd] = rs1v | rs2v; break;
            case 0x007: x[rd] = rs1v & rs2v; break;
            case 0x008: x[rd] = rs1v * rs2v; break;
            case 0x009: x[rd] = mulh(rs1v, rs2v); break;
            case 0x00a: x[rd] = mulhsu(rs1v, rs2v); break;
            case 0x00b: x[rd] = mulhu(rs1v, rs2v); break;
            case 0x00c: x[rd] = div64(rs1v, rs2v); break;
            case 0x00d: x[rd] = rs2v ? rs1v / rs2v : UINT64_MAX; break;
            case 0x00e: x[rd] = rem64(rs1v, rs2v); break;
            case 0x00f: x[rd] = rs2v ? rs1v % rs2v : rs1v; break;
            default: goto illegal;
            }
            pc += 4;
            break;
        }
        case 0x3b: /* OP-32 */
        {
            unsigned f = ((insn >> 22) & 0x3f8) | ((insn >> 12) & 7);
            uint32_t a = rs1v, b = rs2v;
            switch (f) {
            case 0x000: x[rd] = sext32(a + b); break;
            case 0x100: x[rd] = sext32(a - b); break;
            case 0x001: x[rd] = sext32(a << (b & 31)); break;
            case 0x005: x[rd] = sext32(a >> (b & 31)); break;
            case 0x105: x[rd] = sext32((int32_t)a >> (b & 31)); break;
            case 0x008: x[rd] = sext32(a * b); break;
            case 0x00c: x[rd] = divw(a, b); break;
            case 0x00d: x[rd] = b ? sext32(a / b) : UINT64_MAX; break;
            case 0x00e: x[rd] = remw(a, b); break;
            case 0x00f: x[rd] = b ? sext32(a % b) : sext32(a); break;
            default: goto illegal;
            }
            pc += 4;
            break;
        }
        case 0x37: /* LUI */
            x[rd] = IMM_U(insn);
            pc += 4;
            break;
        case 0x17: /* AUIPC */
            x[rd] = pc + IMM_U(insn);
            pc += 4;
            break;
        case 0x6f: /* JAL */
        {
            uint64_t link = pc + 4;
            JUMP(pc + IMM_J(insn));
            x[rd] = link;
            break;
        }
        case 0x67: /* JALR */
        {
            uint64_t link = pc + 4;
            if ((insn >> 12) & 7) {
                goto illegal;
            }
            JUMP((rs1v + IMM_I(insn)) & ~1ULL);
            x[rd] = link;
            break;
        }
        case 0x63: /* BRANCH */
        {
            bool taken;
            switch ((insn >> 12) & 7) {
            case 0: taken = rs1v == rs2v; break;
            case 1: taken = rs1v != rs2v; break;
            case 4: taken = (int64_t)rs1v < (int64_t)rs2v; break;
            case 5: taken = (int64_t)rs1v >= (int64_t)rs2v; break;
            case 6: taken = rs1v < rs2v; break;
            case 7: taken = rs1v >= rs2v; break;
            default: goto illegal;
            }
            if (taken) {
                JUMP(pc + IMM_B(insn));
            } else {
                pc += 4;
            }
            break;
        }
        case 0x03: /* LOAD */
        {
            uint64_t addr = rs1v + IMM_I(insn);
            uint64_t v;
            bool ok;
            switch ((insn >> 12) & 7) {
            case 0: ok = load(cpu, addr, 1, &v); v = (int64_t)(int8_t)v; break;
            case 1: ok = load(cpu, addr, 2, &v); v = (int64_t)(int16_t)v; break;
            case 2: ok = load(cpu, addr, 4, &v); v = (int64_t)(int32_t)v; break;
            case 3: ok = load(cpu, addr, 8, &v); break;
            case 4: ok = load(cpu, addr, 1, &v); break;
            case 5: ok = load(cpu, addr, 2, &v); break;
            case 6: ok = load(cpu, addr, 4, &v); break;
            default: goto illegal;
            }
            if (unlikely(!ok)) {
                TRAP(EXCP_LOAD_ACCESS, addr);
            }
            x[rd] = v;
            pc += 4;
            break;
        }
        case 0x23: /* STORE */
        {
            uint64_t addr = rs1v + IMM_S(insn);
            bool ok;
            switch ((insn >> 12) & 7) {
            case 0: ok = store(cpu, addr, 1, rs2v); break;
            case 1: ok = store(cpu, addr, 2, rs2v); break;
            case 2: ok = store(cpu, addr, 4, rs2v); break;
            case 3: ok = store(cpu, addr, 8, rs2v); break;
            default: goto illegal;
            }
            if (unlikely(!ok)) {
                TRAP(EXCP_STORE_ACCESS, addr);
            }
            pc += 4;
            break;
        }
        case 0x0f: /* MISC-MEM */
            switch ((insn >> 12) & 7) {
            case 0: /* FENCE, FENCE.TSO, PAUSE */
                smp_mb();
                break;
            case 1: /* FENCE.I: nothing is cached */
                break;
            default:
                goto illegal;
            }
            pc += 4;
            break;
        case 0x2f: /* AMO */
        {
            int c = do_amo(cpu, insn, x, rd);
            if (c) {
                TRAP(c, env->mtval);
            }
            pc += 4;
            break;
        }
        case 0x73: /* SYSTEM */
        {
            int funct3 = (insn >> 12) & 7;
            if (funct3 == 0) {
                switch (insn) {
                case 0x00000073: /* ECALL */
                    TRAP(EXCP_M_ECALL, 0);
                case 0x00100073: /* EBREAK */
                    TRAP(EXCP_BREAKPOINT, pc);
                case 0x30200073: /* MRET */
                {
                    uint64_t ms = env->mstatus;
                    ms = (ms & ~MSTATUS_MIE) |
                         ((ms & MSTATUS_MPIE) ? MSTATUS_MIE : 0);
                    ms |= MSTATUS_MPIE;
                    ms = (ms & ~MSTATUS_MPP) | (PRV_M << MSTATUS_MPP_SHIFT);
                    env->mstatus = ms;
                    env->reservation_valid = false;
                    pc = env->mepc;
                    CHECK_SOON();
                    break;
                }
                case 0x10500073: /* WFI */
                    pc += 4;
                    if (!cs->ops->has_work(cs)) {
                        env->pc = pc;
                        SYNC_INSTRET();
                        qatomic_set(&cs->halted, true);
                        trace_riscv_wfi(env->mhartid, pc);
                        goto out;
                    }
                    CHECK_SOON();
                    break;
                default:
                    if ((insn >> 25) == 0x09 && rd == 0) {
                        pc += 4;    /* SFENCE.VMA: no translation cached */
                        break;
                    }
                    goto illegal;
                }
                break;
            } else if (funct3 == 4) {
                goto illegal;
            } else {
                int csrno = insn >> 20;
                int rs1 = (insn >> 15) & 31;
                uint64_t src = (funct3 & 4) ? (uint64_t)rs1 : rs1v;
                uint64_t old = 0, nv;
                bool do_write = (funct3 & 3) == 1 || rs1 != 0;

                SYNC_INSTRET();
                if (!riscv_csr_read(cpu, csrno, &old)) {
                    goto illegal;
                }
                if (do_write) {
                    switch (funct3 & 3) {
                    case 1: nv = src; break;
                    case 2: nv = old | src; break;
                    default: nv = old & ~src; break;
                    }
                    if (!riscv_csr_write(cpu, csrno, nv)) {
                        goto illegal;
                    }
                    CHECK_SOON();
                }
                x[rd] = old;
                pc += 4;
            }
            break;
        }
        default:
            goto illegal;
        }
        x[0] = 0;
        continue;

illegal:
        cause = EXCP_ILLEGAL_INST;
        tval = insn;
trap:
        pc = raise_trap(env, cause, tval, pc);
        x[0] = 0;
    }
    env->pc = pc;
out:
    cs->insn_count += env->minstret - start_instret;
#undef SYNC_INSTRET
#undef CHECK_SOON
#undef TRAP
#undef JUMP
}
