/*
 * RV64IMA interpreter tests.
 *
 * Guest code is emitted from C with a small encoder, placed in a RAM block
 * at 0x80000000 and run by calling the CPU's exec() directly (one thread
 * per hart, no cpus.c).  Inputs are preset in registers, results read back
 * from the CPU state, so each case is one line of a table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "target/riscv/cpu.h"
#include "hw/intc/riscv_aclint.h"

#define RAM_BASE    0x80000000ULL
#define RAM_SIZE    (1 * MiB)
#define CODE        RAM_BASE
#define HANDLER     (RAM_BASE + 0x800)
#define DATA        (RAM_BASE + 0x10000)
#define CLINT_BASE  0x02000000ULL

static RAMBlock *ram;
static RISCVCPU *cpu0, *cpu1;

/* ---------------------------------------------------------------- encoder */

enum { OP_LOAD = 0x03, OP_MISC = 0x0f, OP_IMM = 0x13, OP_AUIPC = 0x17,
       OP_IMM32 = 0x1b, OP_STORE = 0x23, OP_AMO = 0x2f, OP_OP = 0x33,
       OP_LUI = 0x37, OP_OP32 = 0x3b, OP_BRANCH = 0x63, OP_JALR = 0x67,
       OP_JAL = 0x6f, OP_SYSTEM = 0x73 };

static uint32_t enc_r(int op, int f3, int f7, int rd, int rs1, int rs2)
{
    return (uint32_t)f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_i(int op, int f3, int rd, int rs1, int32_t imm)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_s(int op, int f3, int rs1, int rs2, int32_t imm)
{
    return (((uint32_t)imm >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 |
           f3 << 12 | ((uint32_t)imm & 0x1f) << 7 | op;
}

static uint32_t enc_b(int f3, int rs1, int rs2, int32_t imm)
{
    uint32_t u = imm;
    return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 |
           rs1 << 15 | f3 << 12 | ((u >> 1) & 0xf) << 8 |
           ((u >> 11) & 1) << 7 | OP_BRANCH;
}

static uint32_t enc_u(int op, int rd, uint32_t imm)
{
    return (imm & 0xfffff000u) | rd << 7 | op;
}

static uint32_t enc_j(int rd, int32_t imm)
{
    uint32_t u = imm;
    return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 |
           ((u >> 11) & 1) << 20 | ((u >> 12) & 0xff) << 12 | rd << 7 | OP_JAL;
}

static uint32_t enc_amo(int funct5, int f3, int rd, int rs1, int rs2)
{
    return enc_r(OP_AMO, f3, funct5 << 2, rd, rs1, rs2);
}

#define ADDI(rd, rs, i)    enc_i(OP_IMM, 0, rd, rs, i)
#define CSRRW(rd, c, rs)   enc_i(OP_SYSTEM, 1, rd, rs, c)
#define CSRRS(rd, c, rs)   enc_i(OP_SYSTEM, 2, rd, rs, c)
#define CSRRC(rd, c, rs)   enc_i(OP_SYSTEM, 3, rd, rs, c)
#define CSRRWI(rd, c, u)   enc_i(OP_SYSTEM, 5, rd, u, c)
#define CSRRSI(rd, c, u)   enc_i(OP_SYSTEM, 6, rd, u, c)
#define CSRRCI(rd, c, u)   enc_i(OP_SYSTEM, 7, rd, u, c)
#define LD(rd, rs, i)      enc_i(OP_LOAD, 3, rd, rs, i)
#define SD(rs1, rs2, i)    enc_s(OP_STORE, 3, rs1, rs2, i)
#define BNE(a, b, off)     enc_b(1, a, b, off)
#define JAL(rd, off)       enc_j(rd, off)
#define ECALL              0x00000073u
#define EBREAK             0x00100073u
#define MRET               0x30200073u
#define WFI                0x10500073u
#define NOP                ADDI(0, 0, 0)

/* ---------------------------------------------------------------- harness */

static void *host(uint64_t gpa)
{
    return ram->host + (gpa - RAM_BASE);
}

static void put_code(uint64_t addr, const uint32_t *code, int n)
{
    memcpy(host(addr), code, n * 4);
}

/* Default trap handler: halt (mie = 0 so that wfi sleeps). */
static void put_halt_handler(void)
{
    uint32_t h[] = { CSRRW(0, CSR_MIE, 0), WFI, JAL(0, -8) };
    put_code(HANDLER, h, ARRAY_SIZE(h));
}

static void cpu_prepare(RISCVCPU *cpu)
{
    CPUState *cs = CPU(cpu);

    riscv_cpu_set_reset_pc(cpu, CODE);
    cs->ops->reset(cs);
    cpu->env.mtvec = HANDLER;
    put_halt_handler();
}

/* Run until the hart sleeps in wfi with nothing pending. */
static void run_until_halt(RISCVCPU *cpu)
{
    CPUState *cs = CPU(cpu);
    int64_t end = get_clock() + 20 * NANOSECONDS_PER_SECOND;

    do {
        cs->ops->exec(cs);
        g_assert_cmpint(get_clock(), <, end);
    } while (!qatomic_read(&cs->halted));
}

/* Run @code (a wfi is appended) with x1 = a, x2 = b; returns x3. */
static uint64_t run_code(const uint32_t *code, int n, uint64_t a, uint64_t b)
{
    uint32_t buf[64];

    g_assert(n < 63);
    memcpy(buf, code, n * 4);
    buf[n] = WFI;
    cpu_prepare(cpu0);
    put_code(CODE, buf, n + 1);
    cpu0->env.gpr[1] = a;
    cpu0->env.gpr[2] = b;
    run_until_halt(cpu0);
    return cpu0->env.gpr[3];
}

static uint64_t run1(uint32_t insn, uint64_t a, uint64_t b)
{
    return run_code(&insn, 1, a, b);
}

/* Expect a trap with @cause taken at @epc. */
static void assert_trap(uint64_t cause, uint64_t epc, uint64_t tval)
{
    CPURISCVState *env = &cpu0->env;

    g_assert_cmphex(env->mcause, ==, cause);
    g_assert_cmphex(env->mepc, ==, epc);
    g_assert_cmphex(env->mtval, ==, tval);
    g_assert_cmphex(env->pc, ==, HANDLER + 8);
}

/* ---------------------------------------------------------------- RV64I */

typedef struct AluCase {
    uint32_t insn;
    uint64_t a, b, want;
} AluCase;

/* rd = x3, rs1 = x1, rs2 = x2; constant expressions for the table */
#define ENC_R(op, f3, f7) ((uint32_t)(f7) << 25 | 2 << 20 | 1 << 15 | \
                           (f3) << 12 | 3 << 7 | (op))
#define ENC_I(op, f3, imm) (((uint32_t)(imm) & 0xfff) << 20 | 1 << 15 | \
                            (f3) << 12 | 3 << 7 | (op))
#define R(f3, f7)      ENC_R(OP_OP, f3, f7)
#define RW(f3, f7)     ENC_R(OP_OP32, f3, f7)
#define I(f3, imm)     ENC_I(OP_IMM, f3, imm)
#define IW(f3, imm)    ENC_I(OP_IMM32, f3, imm)

static const AluCase alu_cases[] = {
    /* add/sub */
    { R(0, 0), 1, 2, 3 },
    { R(0, 0), INT64_MAX, 1, 0x8000000000000000ULL },
    { R(0, 0x20), 1, 2, UINT64_MAX },
    /* shifts use the low 6 bits */
    { R(1, 0), 1, 63, 0x8000000000000000ULL },
    { R(1, 0), 1, 65, 2 },
    { R(5, 0), 0x8000000000000000ULL, 63, 1 },
    { R(5, 0x20), 0x8000000000000000ULL, 63, UINT64_MAX },
    { R(5, 0x20), 0x8000000000000000ULL, 64 + 4, 0xf800000000000000ULL },
    /* compares */
    { R(2, 0), UINT64_MAX, 1, 1 },
    { R(2, 0), 1, UINT64_MAX, 0 },
    { R(3, 0), UINT64_MAX, 1, 0 },
    { R(3, 0), 1, UINT64_MAX, 1 },
    { R(3, 0), 5, 5, 0 },
    /* logic */
    { R(4, 0), 0xff00, 0x0ff0, 0xf0f0 },
    { R(6, 0), 0xff00, 0x0ff0, 0xfff0 },
    { R(7, 0), 0xff00, 0x0ff0, 0x0f00 },
    /* W forms: 32-bit result sign-extended, upper input bits ignored */
    { RW(0, 0), 0x7fffffff, 1, 0xffffffff80000000ULL },
    { RW(0, 0), 0x100000001ULL, 0, 1 },
    { RW(0, 0x20), 0, 1, UINT64_MAX },
    { RW(1, 0), 1, 31, 0xffffffff80000000ULL },
    { RW(1, 0), 1, 32, 1 },
    { RW(5, 0), 0xffffffff80000000ULL, 31, 1 },
    { RW(5, 0), 0x80000000ULL, 0, 0xffffffff80000000ULL },
    { RW(5, 0x20), 0x80000000ULL, 4, 0xfffffffff8000000ULL },
    { RW(5, 0x20), 0x87ffffff0ULL, 4, 0x07ffffffULL },
    /* immediates */
    { I(0, -2048), UINT64_MAX, 0, (uint64_t)-2049 },
    { I(0, 2047), 1, 0, 2048 },
    { I(2, -1), (uint64_t)-2, 0, 1 },
    { I(2, -1), 0, 0, 0 },
    { I(3, 1), 0, 0, 1 },               /* seqz */
    { I(3, -1), 5, 0, 1 },              /* sltiu compares with 2^64-1 */
    { I(4, -1), 0x1234, 0, ~0x1234ULL },
    { I(6, 0x0f0), 0xf00, 0, 0xff0 },
    { I(7, -16), 0x1234, 0, 0x1230 },
    { I(1, 63), 1, 0, 0x8000000000000000ULL },
    { I(5, 63), 0x8000000000000000ULL, 0, 1 },
    { I(5, 0x400 | 63), 0x8000000000000000ULL, 0, UINT64_MAX },
    { I(5, 0x400 | 1), (uint64_t)-4, 0, (uint64_t)-2 },
    { IW(0, 1), 0x7fffffff, 0, 0xffffffff80000000ULL },
    { IW(0, -1), 0, 0, UINT64_MAX },
    { IW(1, 31), 1, 0, 0xffffffff80000000ULL },
    { IW(5, 31), 0x80000000ULL, 0, 1 },
    { IW(5, 0x400 | 31), 0x80000000ULL, 0, UINT64_MAX },
    { IW(5, 0), 0x1ffffffffULL, 0, UINT64_MAX },
    /* M extension */
    { R(0, 1), 3, (uint64_t)-4, (uint64_t)-12 },
    { R(1, 1), UINT64_MAX, UINT64_MAX, 0 },
    { R(1, 1), 0x8000000000000000ULL, 0x8000000000000000ULL,
      0x4000000000000000ULL },
    { R(2, 1), UINT64_MAX, UINT64_MAX, UINT64_MAX },
    { R(2, 1), 2, UINT64_MAX, 1 },
    { R(3, 1), UINT64_MAX, UINT64_MAX, 0xfffffffffffffffeULL },
    { R(4, 1), 7, (uint64_t)-2, (uint64_t)-3 },
    { R(4, 1), 7, 0, UINT64_MAX },
    { R(4, 1), 0x8000000000000000ULL, UINT64_MAX, 0x8000000000000000ULL },
    { R(5, 1), 7, 0, UINT64_MAX },
    { R(5, 1), UINT64_MAX, 2, 0x7fffffffffffffffULL },
    { R(6, 1), 7, (uint64_t)-2, 1 },
    { R(6, 1), (uint64_t)-7, 2, UINT64_MAX },
    { R(6, 1), 7, 0, 7 },
    { R(6, 1), 0x8000000000000000ULL, UINT64_MAX, 0 },
    { R(7, 1), 7, 0, 7 },
    { R(7, 1), UINT64_MAX, 10, 5 },
    { RW(0, 1), 0x7fffffff, 2, 0xfffffffffffffffeULL },
    { RW(0, 1), 0x100000003ULL, 0x100000005ULL, 15 },
    { RW(4, 1), 0x80000000ULL, 0xffffffffULL, 0xffffffff80000000ULL },
    { RW(4, 1), 5, 0, UINT64_MAX },
    { RW(4, 1), (uint64_t)-7, 2, (uint64_t)-3 },
    { RW(5, 1), 0x80000000ULL, 1, 0xffffffff80000000ULL },
    { RW(5, 1), 5, 0, UINT64_MAX },
    { RW(6, 1), 0x80000000ULL, 0xffffffffULL, 0 },
    { RW(6, 1), 0x80000000ULL, 0, 0xffffffff80000000ULL },
    { RW(6, 1), (uint64_t)-7, 2, UINT64_MAX },
    { RW(7, 1), 0x80000000ULL, 3, 2 },
    { RW(7, 1), 0x80000000ULL, 0, 0xffffffff80000000ULL },
};

static void test_alu(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(alu_cases); i++) {
        const AluCase *c = &alu_cases[i];
        uint64_t got = run1(c->insn, c->a, c->b);
        if (got != c->want) {
            g_test_message("case %zu insn 0x%08x a 0x%" PRIx64 " b 0x%" PRIx64
                           ": got 0x%" PRIx64 " want 0x%" PRIx64, i, c->insn,
                           c->a, c->b, got, c->want);
        }
        g_assert_cmphex(got, ==, c->want);
    }
}

static void test_x0_lui_auipc(void)
{
    uint32_t code[] = {
        ADDI(0, 0, 5),                     /* x0 stays 0 */
        enc_i(OP_IMM, 0, 4, 0, 0),         /* x4 = x0 */
        enc_u(OP_LUI, 5, 0x80000000u),
        enc_u(OP_AUIPC, 6, 0x1000),
        enc_u(OP_AUIPC, 7, 0xfffff000u),
    };
    run_code(code, ARRAY_SIZE(code), 0, 0);
    g_assert_cmphex(cpu0->env.gpr[0], ==, 0);
    g_assert_cmphex(cpu0->env.gpr[4], ==, 0);
    g_assert_cmphex(cpu0->env.gpr[5], ==, 0xffffffff80000000ULL);
    g_assert_cmphex(cpu0->env.gpr[6], ==, CODE + 12 + 0x1000);
    g_assert_cmphex(cpu0->env.gpr[7], ==, CODE + 16 - 0x1000);
}

/* ---------------------------------------------------------------- branches */

static void test_branches(void)
{
    static const struct {
        int f3;
        uint64_t a, b;
        bool taken;
    } cases[] = {
        { 0, 5, 5, true }, { 0, 5, 6, false },
        { 1, 5, 6, true }, { 1, 5, 5, false },
        { 4, UINT64_MAX, 0, true }, { 4, 0, UINT64_MAX, false },
        { 4, 3, 3, false },
        { 5, 0, UINT64_MAX, true }, { 5, 3, 3, true },
        { 5, UINT64_MAX, 0, false },
        { 6, 0, UINT64_MAX, true }, { 6, UINT64_MAX, 0, false },
        { 7, UINT64_MAX, 0, true }, { 7, 3, 3, true }, { 7, 0, 1, false },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        /* taken: skip the addi; the wfi is at +8 */
        uint32_t code[] = { enc_b(cases[i].f3, 1, 2, 8), ADDI(3, 0, 1) };
        uint64_t x3 = run_code(code, 2, cases[i].a, cases[i].b);
        g_assert_cmpuint(x3, ==, cases[i].taken ? 0 : 1);
    }

    /* backward branch loop: count down from 100 */
    {
        uint32_t code[] = { ADDI(3, 3, 1), ADDI(1, 1, -1), BNE(1, 0, -8) };
        g_assert_cmpuint(run_code(code, 3, 100, 0), ==, 100);
    }
    /* jal links pc+4 and jumps */
    {
        uint32_t code[] = { JAL(5, 8), ADDI(3, 0, 1), NOP };
        g_assert_cmpuint(run_code(code, 3, 0, 0), ==, 0);
        g_assert_cmphex(cpu0->env.gpr[5], ==, CODE + 4);
    }
    /* jalr clears bit 0 of the target; rd == rs1 uses the old value */
    {
        uint32_t code[] = { enc_i(OP_JALR, 0, 1, 1, 9), ADDI(3, 0, 1), NOP };
        g_assert_cmpuint(run_code(code, 3, CODE, 0), ==, 0);
        g_assert_cmphex(cpu0->env.gpr[1], ==, CODE + 4);
    }
    /* misaligned jump target: cause 0, tval = target, epc = the jump */
    {
        uint32_t code[] = { NOP, enc_i(OP_JALR, 0, 5, 1, 2) };
        run_code(code, 2, CODE + 0x100, 0);
        assert_trap(EXCP_INST_ADDR_MIS, CODE + 4, CODE + 0x102);
        g_assert_cmphex(cpu0->env.gpr[5], ==, 0);      /* rd not written */
    }
    {
        uint32_t code[] = { enc_b(0, 0, 0, 6) };
        run_code(code, 1, 0, 0);
        assert_trap(EXCP_INST_ADDR_MIS, CODE, CODE + 6);
    }
}

/* ---------------------------------------------------------------- memory */

static void test_loads_stores(void)
{
    static const uint8_t pattern[16] = {
        0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8,
        0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78,
    };
    static const struct {
        int f3;
        int off;
        uint64_t want;
    } lcases[] = {
        { 0, 0, 0xffffffffffffff81ULL }, { 4, 0, 0x81 },
        { 0, 8, 0x01 }, { 4, 8, 0x01 },
        { 1, 0, 0xffffffffffff9281ULL }, { 5, 0, 0x9281 },
        { 2, 0, 0xffffffffb4a39281ULL }, { 6, 0, 0xb4a39281ULL },
        { 2, 8, 0x34231201ULL }, { 6, 8, 0x34231201ULL },
        { 3, 0, 0xf8e7d6c5b4a39281ULL }, { 3, 8, 0x7867564534231201ULL },
        /* misaligned accesses succeed */
        { 3, 1, 0x01f8e7d6c5b4a392ULL }, { 1, 7, 0x01f8 },
        { 2, 6, 0x1201f8e7 }, { 0, -1, 0 },
    };

    memcpy(host(DATA), pattern, sizeof(pattern));
    memset(host(DATA - 1), 0, 1);
    for (size_t i = 0; i < ARRAY_SIZE(lcases); i++) {
        uint64_t got = run1(enc_i(OP_LOAD, lcases[i].f3, 3, 1, lcases[i].off),
                            DATA, 0);
        g_assert_cmphex(got, ==, lcases[i].want);
    }

    /* stores of every width, with a negative offset */
    {
        uint32_t code[] = {
            enc_s(OP_STORE, 0, 1, 2, -16),
            enc_s(OP_STORE, 1, 1, 2, -14),
            enc_s(OP_STORE, 2, 1, 2, -12),
            enc_s(OP_STORE, 3, 1, 2, -8),
        };
        uint8_t want[16] = {
            0x88, 0, 0x88, 0x77, 0x88, 0x77, 0x66, 0x55,
            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        };
        memset(host(DATA + 0x100 - 16), 0, 16);
        run_code(code, ARRAY_SIZE(code), DATA + 0x100, 0x1122334455667788ULL);
        g_assert_cmpmem(host(DATA + 0x100 - 16), 16, want, 16);
    }

    /* an access that crosses a page boundary */
    {
        uint64_t a = DATA + 0x1000 - 3;
        uint32_t code[] = { SD(1, 2, 0), LD(3, 1, 0) };
        g_assert_cmphex(run_code(code, 2, a, 0x0102030405060708ULL), ==,
                        0x0102030405060708ULL);
        g_assert_cmpuint(*(uint8_t *)host(a), ==, 0x08);
        g_assert_cmpuint(*(uint8_t *)host(a + 7), ==, 0x01);
    }
}

static void test_access_faults(void)
{
    /* load from unmapped memory */
    {
        uint32_t code[] = { NOP, LD(3, 1, 8) };
        run_code(code, 2, 0x40000000, 0);
        assert_trap(EXCP_LOAD_ACCESS, CODE + 4, 0x40000008);
    }
    /* store to unmapped memory */
    {
        uint32_t code[] = { SD(1, 2, -8) };
        run_code(code, 1, 0x70000000, 0);
        assert_trap(EXCP_STORE_ACCESS, CODE, 0x70000000 - 8);
    }
    /* a store that runs off the end of RAM faults and writes nothing */
    {
        uint64_t a = RAM_BASE + RAM_SIZE - 4;
        uint32_t code[] = { SD(1, 2, 0) };
        memset(host(a), 0xaa, 4);
        run_code(code, 1, a, 0);
        assert_trap(EXCP_STORE_ACCESS, CODE, a);
        g_assert_cmphex(*(uint32_t *)host(a), ==, 0xaaaaaaaa);
    }
    /* instruction fetch from unmapped memory */
    {
        uint32_t code[] = { enc_i(OP_JALR, 0, 0, 1, 0) };
        run_code(code, 1, 0x40000000, 0);
        assert_trap(EXCP_INST_ACCESS, 0x40000000, 0x40000000);
    }
    /* MMIO: the CLINT's mtime can be read with ld */
    {
        uint32_t code[] = { LD(3, 1, 0) };
        uint64_t t0 = riscv_aclint_get_mtime();
        uint64_t t = run_code(code, 1, CLINT_BASE + RISCV_ACLINT_MTIME_OFFSET, 0);
        g_assert_cmpuint(t, >=, t0);
        g_assert_cmpuint(t, <=, riscv_aclint_get_mtime());
    }
}

/* ---------------------------------------------------------------- atomics */

typedef struct AmoCase {
    int funct5;
    bool dword;
    uint64_t mem, src, want_rd, want_mem;
} AmoCase;

static const AmoCase amo_cases[] = {
    { 0x00, true, 5, 7, 5, 12 },
    { 0x00, false, 0x7fffffff, 1, 0x7fffffff, 0x80000000 },
    { 0x01, true, 5, 7, 5, 7 },
    { 0x01, false, 0x80000000, 7, 0xffffffff80000000ULL, 7 },
    { 0x04, true, 0xff, 0x0f, 0xff, 0xf0 },
    { 0x04, false, 0xff, 0x0f, 0xff, 0xf0 },
    { 0x0c, true, 0xff, 0x0f, 0xff, 0x0f },
    { 0x0c, false, 0xffffffff, 0x0f, UINT64_MAX, 0x0f },
    { 0x08, true, 0xf0, 0x0f, 0xf0, 0xff },
    { 0x08, false, 0x80000000, 1, 0xffffffff80000000ULL, 0x80000001 },
    { 0x10, true, UINT64_MAX, 1, UINT64_MAX, UINT64_MAX },
    { 0x10, false, 0xffffffff, 1, UINT64_MAX, 0xffffffff },
    { 0x14, true, UINT64_MAX, 1, UINT64_MAX, 1 },
    { 0x14, false, 0xffffffff, 1, UINT64_MAX, 1 },
    { 0x18, true, UINT64_MAX, 1, UINT64_MAX, 1 },
    { 0x18, false, 0xffffffff, 1, UINT64_MAX, 1 },
    { 0x1c, true, UINT64_MAX, 1, UINT64_MAX, UINT64_MAX },
    { 0x1c, false, 0xffffffff, 0x1ffffffffULL, UINT64_MAX, 0xffffffff },
    { 0x10, false, 0x00000005, 0x1fffffffeULL, 5, 0xfffffffe },
};

static void test_amo(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(amo_cases); i++) {
        const AmoCase *c = &amo_cases[i];
        uint64_t mem = 0x5a5a5a5a5a5a5a5aULL, got, rd;

        if (c->dword) {
            mem = c->mem;
        } else {
            mem = (mem & ~0xffffffffULL) | (uint32_t)c->mem;
        }
        memcpy(host(DATA), &mem, 8);
        rd = run1(enc_amo(c->funct5, c->dword ? 3 : 2, 3, 1, 2), DATA, c->src);
        memcpy(&got, host(DATA), 8);
        if (!c->dword) {
            g_assert_cmphex(got >> 32, ==, 0x5a5a5a5a);   /* neighbour intact */
            got = (uint32_t)got;
        }
        g_assert_cmphex(rd, ==, c->want_rd);
        g_assert_cmphex(got, ==, c->want_mem);
    }

    /* misaligned AMO: store/AMO address misaligned */
    run1(enc_amo(0x00, 2, 3, 1, 2), DATA + 2, 1);
    assert_trap(EXCP_STORE_ADDR_MIS, CODE, DATA + 2);
    run1(enc_amo(0x02, 3, 3, 1, 0), DATA + 4, 0);
    assert_trap(EXCP_LOAD_ADDR_MIS, CODE, DATA + 4);
    /* AMO on MMIO or unmapped memory */
    run1(enc_amo(0x00, 3, 3, 1, 2), 0x40000000, 1);
    assert_trap(EXCP_STORE_ACCESS, CODE, 0x40000000);
    /* lr with rs2 != 0 is reserved */
    run1(enc_amo(0x02, 3, 3, 1, 2), DATA, 0);
    g_assert_cmphex(cpu0->env.mcause, ==, EXCP_ILLEGAL_INST);
}

static void test_lr_sc(void)
{
    uint64_t v;

    /* success: lr.d; sc.d */
    {
        uint32_t code[] = { enc_amo(0x02, 3, 3, 1, 0), enc_amo(0x03, 3, 4, 1, 2) };
        v = 41;
        memcpy(host(DATA), &v, 8);
        g_assert_cmpuint(run_code(code, 2, DATA, 99), ==, 41);
        g_assert_cmpuint(cpu0->env.gpr[4], ==, 0);
        memcpy(&v, host(DATA), 8);
        g_assert_cmpuint(v, ==, 99);
    }
    /* sc without a reservation fails */
    {
        uint32_t code[] = { enc_amo(0x03, 3, 4, 1, 2) };
        v = 41;
        memcpy(host(DATA), &v, 8);
        run_code(code, 1, DATA, 99);
        g_assert_cmpuint(cpu0->env.gpr[4], ==, 1);
        memcpy(&v, host(DATA), 8);
        g_assert_cmpuint(v, ==, 41);
    }
    /* second sc after a successful one fails (sc drops the reservation) */
    {
        uint32_t code[] = { enc_amo(0x02, 2, 3, 1, 0), enc_amo(0x03, 2, 4, 1, 2),
                            enc_amo(0x03, 2, 5, 1, 0) };
        uint32_t w = 0x80000000u;
        memcpy(host(DATA), &w, 4);
        g_assert_cmphex(run_code(code, 3, DATA, 7), ==, 0xffffffff80000000ULL);
        g_assert_cmpuint(cpu0->env.gpr[4], ==, 0);
        g_assert_cmpuint(cpu0->env.gpr[5], ==, 1);
        memcpy(&w, host(DATA), 4);
        g_assert_cmpuint(w, ==, 7);
    }
    /* sc to another address than the reservation fails */
    {
        uint32_t code[] = { enc_amo(0x02, 3, 3, 1, 0), ADDI(6, 1, 8),
                            enc_amo(0x03, 3, 4, 6, 2) };
        run_code(code, 3, DATA, 7);
        g_assert_cmpuint(cpu0->env.gpr[4], ==, 1);
    }
    /* the value changed between lr and sc: fails */
    {
        uint32_t code[] = { enc_amo(0x02, 3, 3, 1, 0), SD(1, 0, 0),
                            enc_amo(0x03, 3, 4, 1, 2) };
        v = 5;
        memcpy(host(DATA), &v, 8);
        run_code(code, 3, DATA, 7);
        g_assert_cmpuint(cpu0->env.gpr[4], ==, 1);
    }
    /* a trap drops the reservation: the handler's sc fails */
    {
        uint32_t code[] = { enc_amo(0x02, 3, 3, 1, 0), ECALL };
        uint32_t h[] = { enc_amo(0x03, 3, 4, 1, 2), WFI };
        cpu_prepare(cpu0);
        put_code(CODE, code, 2);
        put_code(HANDLER, h, 2);
        cpu0->env.gpr[1] = DATA;
        cpu0->env.gpr[2] = 7;
        run_until_halt(cpu0);
        g_assert_cmpuint(cpu0->env.gpr[4], ==, 1);
    }
}

/* ---------------------------------------------------------------- CSRs, traps */

static void test_csr(void)
{
    /* csrrw swaps */
    {
        uint32_t code[] = { CSRRW(0, CSR_MSCRATCH, 1), CSRRW(3, CSR_MSCRATCH, 2) };
        g_assert_cmphex(run_code(code, 2, 0x1234, 0x5678), ==, 0x1234);
        g_assert_cmphex(cpu0->env.mscratch, ==, 0x5678);
    }
    /* csrrs / csrrc / immediate forms */
    {
        uint32_t code[] = {
            CSRRW(0, CSR_MSCRATCH, 1),
            CSRRS(4, CSR_MSCRATCH, 2),      /* x4 = 0xf0, ms = 0xff */
            CSRRC(5, CSR_MSCRATCH, 2),      /* x5 = 0xff, ms = 0xf0 */
            CSRRWI(6, CSR_MSCRATCH, 0x1f),  /* x6 = 0xf0, ms = 0x1f */
            CSRRSI(7, CSR_MSCRATCH, 0x0),   /* read only */
            CSRRCI(8, CSR_MSCRATCH, 0x3),   /* x8 = 0x1f, ms = 0x1c */
            CSRRSI(3, CSR_MSCRATCH, 0x0),
        };
        g_assert_cmphex(run_code(code, ARRAY_SIZE(code), 0xf0, 0x0f), ==, 0x1c);
        g_assert_cmphex(cpu0->env.gpr[4], ==, 0xf0);
        g_assert_cmphex(cpu0->env.gpr[5], ==, 0xff);
        g_assert_cmphex(cpu0->env.gpr[6], ==, 0xf0);
        g_assert_cmphex(cpu0->env.gpr[7], ==, 0x1f);
        g_assert_cmphex(cpu0->env.gpr[8], ==, 0x1f);
    }
    /* identification and WARL registers */
    g_assert_cmphex(run1(CSRRS(3, CSR_MISA, 0), 0, 0), ==, MISA_VALUE);
    g_assert_cmphex(run1(CSRRS(3, CSR_MHARTID, 0), 0, 0), ==, 0);
    g_assert_cmphex(run1(CSRRS(3, CSR_MVENDORID, 0), 0, 0), ==, 0);
    g_assert_cmphex(run1(CSRRS(3, CSR_MEDELEG, 0), 0, 0), ==, 0);
    {
        uint32_t code[] = { CSRRW(0, CSR_SATP, 1), CSRRS(3, CSR_SATP, 0) };
        g_assert_cmphex(run_code(code, 2, UINT64_MAX, 0), ==, 0);
    }
    {
        uint32_t code[] = { CSRRW(0, CSR_PMPADDR0, 1), CSRRW(0, CSR_PMPCFG0, 1),
                            CSRRS(3, CSR_PMPADDR0, 0) };
        g_assert_cmphex(run_code(code, 3, UINT64_MAX, 0), ==, 0);
    }
    {
        uint32_t code[] = { CSRRW(0, CSR_MSTATUS, 1), CSRRS(3, CSR_MSTATUS, 0) };
        g_assert_cmphex(run_code(code, 2, MSTATUS_MPIE | 0xff00000000ULL, 0), ==,
                        MSTATUS_MPIE | MSTATUS_MPP);
    }
    {
        /* mtvec: vectored accepted, reserved mode 2 ignored */
        uint32_t code[] = { CSRRW(0, CSR_MTVEC, 1), CSRRW(0, CSR_MTVEC, 2),
                            CSRRS(3, CSR_MTVEC, 0) };
        g_assert_cmphex(run_code(code, 3, HANDLER | 1, 0x12), ==, HANDLER | 1);
    }
    {
        uint32_t code[] = { CSRRW(0, CSR_MEPC, 1), CSRRS(3, CSR_MEPC, 0) };
        g_assert_cmphex(run_code(code, 2, 0x80000007, 0), ==, 0x80000004);
    }
    {
        /* instret counts instructions */
        uint32_t code[] = { CSRRS(4, CSR_INSTRET, 0), NOP, NOP, NOP,
                            CSRRS(3, CSR_MINSTRET, 0) };
        uint64_t d = run_code(code, 5, 0, 0) - cpu0->env.gpr[4];
        g_assert_cmpuint(d, ==, 4);
    }
    {
        uint32_t code[] = { CSRRS(3, CSR_TIME, 0) };
        uint64_t t0 = riscv_aclint_get_mtime();
        g_assert_cmpuint(run_code(code, 1, 0, 0), >=, t0);
    }

    /* illegal: write to a read-only CSR, fcsr, unknown CSR */
    run1(CSRRW(3, CSR_MHARTID, 1), 0, 0);
    assert_trap(EXCP_ILLEGAL_INST, CODE, CSRRW(3, CSR_MHARTID, 1));
    run1(CSRRS(3, CSR_FCSR, 0), 0, 0);
    assert_trap(EXCP_ILLEGAL_INST, CODE, CSRRS(3, CSR_FCSR, 0));
    run1(CSRRS(3, 0x7c0, 0), 0, 0);
    g_assert_cmphex(cpu0->env.mcause, ==, EXCP_ILLEGAL_INST);
    run1(CSRRS(3, CSR_CYCLE, 1), 0, 0);     /* set bits in a read-only CSR */
    g_assert_cmphex(cpu0->env.mcause, ==, EXCP_ILLEGAL_INST);
    g_assert_cmphex(run1(CSRRS(3, CSR_CYCLE, 0), 0, 0), !=, 0);
}

static void test_traps(void)
{
    /* illegal instructions: tval holds the instruction */
    run1(0, 0, 0);
    assert_trap(EXCP_ILLEGAL_INST, CODE, 0);
    run1(0xffffffff, 0, 0);
    assert_trap(EXCP_ILLEGAL_INST, CODE, 0xffffffff);
    run1(enc_i(OP_IMM, 1, 3, 1, 0x400 | 1), 0, 0);        /* slli with funct6 != 0 */
    g_assert_cmphex(cpu0->env.mcause, ==, EXCP_ILLEGAL_INST);
    run1(enc_r(OP_OP, 0, 0x40, 3, 1, 2), 0, 0);
    g_assert_cmphex(cpu0->env.mcause, ==, EXCP_ILLEGAL_INST);
    run1(0x00002007, 0, 0);                                 /* flw */
    g_assert_cmphex(cpu0->env.mcause, ==, EXCP_ILLEGAL_INST);

    /* ebreak: tval = pc */
    {
        uint32_t code[] = { NOP, EBREAK };
        run_code(code, 2, 0, 0);
        assert_trap(EXCP_BREAKPOINT, CODE + 4, CODE + 4);
    }

    /* ecall, then mret back past it; mstatus MIE/MPIE stacking */
    {
        uint32_t code[] = {
            CSRRSI(0, CSR_MSTATUS, 8),      /* MIE = 1 (mie = 0: no interrupts) */
            ECALL,
            ADDI(3, 3, 1),
        };
        uint32_t h[] = {
            CSRRS(4, CSR_MSTATUS, 0),
            CSRRS(5, CSR_MCAUSE, 0),
            CSRRS(6, CSR_MEPC, 0),
            ADDI(6, 6, 4),
            CSRRW(0, CSR_MEPC, 6),
            MRET,
        };
        cpu_prepare(cpu0);
        put_code(CODE, code, 3);
        code[0] = WFI;
        put_code(CODE + 12, code, 1);
        put_code(HANDLER, h, ARRAY_SIZE(h));
        run_until_halt(cpu0);
        g_assert_cmphex(cpu0->env.gpr[3], ==, 1);
        g_assert_cmphex(cpu0->env.gpr[4], ==, MSTATUS_MPIE | MSTATUS_MPP);
        g_assert_cmphex(cpu0->env.gpr[5], ==, EXCP_M_ECALL);
        g_assert_cmphex(cpu0->env.gpr[6], ==, CODE + 8);
        g_assert_cmphex(cpu0->env.mstatus & MSTATUS_MIE, ==, MSTATUS_MIE);
        g_assert_cmphex(cpu0->env.mstatus & MSTATUS_MPIE, ==, MSTATUS_MPIE);
    }
}

/* ---------------------------------------------------------------- interrupts */

static void test_timer_interrupt(void)
{
    /* spin with MTIE and MIE set; the handler records mcause and mepc */
    uint32_t code[] = {
        CSRRS(0, CSR_MIE, 5),
        CSRRSI(0, CSR_MSTATUS, 8),
        JAL(0, 0),
    };
    uint32_t h[] = {
        CSRRS(3, CSR_MCAUSE, 0),
        CSRRS(4, CSR_MEPC, 0),
        CSRRS(6, CSR_MIP, 0),
        CSRRW(0, CSR_MIE, 0),
        WFI,
    };

    cpu_prepare(cpu0);
    put_code(CODE, code, ARRAY_SIZE(code));
    put_code(HANDLER, h, ARRAY_SIZE(h));
    cpu0->env.gpr[5] = MIP_MTIP;
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, riscv_aclint_get_mtime() + 20000, 8);
    run_until_halt(cpu0);
    g_assert_cmphex(cpu0->env.gpr[3], ==, MCAUSE_INTERRUPT | IRQ_M_TIMER);
    g_assert_cmphex(cpu0->env.gpr[4], ==, CODE + 8);
    g_assert_cmphex(cpu0->env.gpr[6] & MIP_MTIP, ==, MIP_MTIP);
    g_assert_cmpuint(riscv_aclint_get_mtime(), >=,
                     riscv_aclint_read(RISCV_ACLINT_MTIMECMP_OFFSET, 8));

    /* vectored mode: the timer goes to base + 4 * 7 */
    cpu_prepare(cpu0);
    put_code(CODE, code, ARRAY_SIZE(code));
    put_code(HANDLER + 4 * IRQ_M_TIMER, h, ARRAY_SIZE(h));
    cpu0->env.gpr[5] = MIP_MTIP;
    cpu0->env.mtvec = HANDLER | 1;
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, riscv_aclint_get_mtime() + 1000, 8);
    run_until_halt(cpu0);
    g_assert_cmphex(cpu0->env.gpr[3], ==, MCAUSE_INTERRUPT | IRQ_M_TIMER);
    g_assert_cmphex(cpu0->env.pc, ==, HANDLER + 4 * IRQ_M_TIMER + 20);
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, UINT64_MAX, 8);
}

static void test_wfi_wake(void)
{
    /*
     * The guest programs mtimecmp = mtime + 2 ms through MMIO and sleeps;
     * the "vCPU loop" here waits for next_deadline and re-enters exec.
     */
    uint32_t code[] = {
        LD(7, 1, 0),                   /* mtime */
        enc_r(OP_OP, 0, 0, 7, 7, 8),
        SD(10, 7, 0),                  /* mtimecmp[0] = mtime + x8 */
        CSRRS(0, CSR_MIE, 5),
        CSRRSI(0, CSR_MSTATUS, 8),
        WFI,
        ADDI(9, 0, 1),
        JAL(0, 0),
    };
    uint32_t h[] = {
        CSRRS(3, CSR_MCAUSE, 0),
        CSRRS(4, CSR_MEPC, 0),
        CSRRW(0, CSR_MIE, 0),
        WFI,
    };
    CPUState *cs = CPU(cpu0);
    int64_t deadline;

    cpu_prepare(cpu0);
    put_code(CODE, code, ARRAY_SIZE(code));
    put_code(HANDLER, h, ARRAY_SIZE(h));
    cpu0->env.gpr[1] = CLINT_BASE + RISCV_ACLINT_MTIME_OFFSET;
    cpu0->env.gpr[10] = CLINT_BASE + RISCV_ACLINT_MTIMECMP_OFFSET;
    cpu0->env.gpr[8] = 20000;          /* 2 ms */
    cpu0->env.gpr[5] = MIP_MTIP;
    run_until_halt(cpu0);           /* the mtimecmp write kicks: exec returns */
    g_assert_cmphex(cpu0->env.pc, ==, CODE + 6 * 4);
    g_assert_false(cs->ops->has_work(cs));
    deadline = cs->ops->next_deadline(cs);
    g_assert_cmpint(deadline, !=, INT64_MAX);
    g_assert_cmpint(deadline, >, get_clock());
    g_assert_cmpint(deadline, <, get_clock() + 3 * 1000 * 1000);

    /* a sleeping hart that is entered again stays asleep */
    cs->ops->exec(cs);
    g_assert_true(cs->halted);

    while (get_clock() < deadline) {
        g_usleep(100);
    }
    g_assert_true(cs->ops->has_work(cs));
    run_until_halt(cpu0);
    g_assert_cmphex(cpu0->env.gpr[3], ==, MCAUSE_INTERRUPT | IRQ_M_TIMER);
    g_assert_cmphex(cpu0->env.gpr[4], ==, CODE + 6 * 4);
    g_assert_cmphex(cpu0->env.gpr[9], ==, 0);
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, UINT64_MAX, 8);
}

static void test_software_interrupt(void)
{
    uint32_t code[] = {
        CSRRS(0, CSR_MIE, 5),
        CSRRSI(0, CSR_MSTATUS, 8),
        WFI,
        JAL(0, 0),
    };
    uint32_t h[] = {
        CSRRS(3, CSR_MCAUSE, 0),
        enc_s(OP_STORE, 2, 1, 0, 0),   /* msip[0] = 0 via MMIO */
        CSRRS(4, CSR_MIP, 0),
        CSRRW(0, CSR_MIE, 0),
        WFI,
    };
    CPUState *cs = CPU(cpu0);

    cpu_prepare(cpu0);
    put_code(CODE, code, ARRAY_SIZE(code));
    put_code(HANDLER, h, ARRAY_SIZE(h));
    cpu0->env.gpr[1] = CLINT_BASE;
    cpu0->env.gpr[5] = MIP_MSIP;
    run_until_halt(cpu0);
    riscv_aclint_write(0, 1, 4);
    g_assert_true(cs->ops->has_work(cs));
    run_until_halt(cpu0);
    g_assert_cmphex(cpu0->env.gpr[3], ==, MCAUSE_INTERRUPT | IRQ_M_SOFT);
    g_assert_cmphex(cpu0->env.gpr[4] & MIP_MSIP, ==, 0);
    g_assert_cmphex(cpu0->env.mepc, ==, CODE + 12);
}

/* ---------------------------------------------------------------- 2 harts */

#define AMO_ITERS 200000

static gpointer hart_thread(gpointer opaque)
{
    run_until_halt(opaque);
    return NULL;
}

static void run_two_harts(const uint32_t *code, int n, uint64_t counter)
{
    RISCVCPU *cpus[2] = { cpu0, cpu1 };
    GThread *t[2];
    uint64_t zero = 0;

    memcpy(host(counter), &zero, 8);
    put_code(CODE, code, n);
    for (int i = 0; i < 2; i++) {
        riscv_cpu_set_reset_pc(cpus[i], CODE);
        CPU(cpus[i])->ops->reset(CPU(cpus[i]));
        cpus[i]->env.mtvec = HANDLER;
        cpus[i]->env.gpr[1] = counter;
        cpus[i]->env.gpr[2] = AMO_ITERS;
        cpus[i]->env.gpr[4] = 1;
    }
    put_halt_handler();
    for (int i = 0; i < 2; i++) {
        t[i] = g_thread_new("hart", hart_thread, cpus[i]);
    }
    for (int i = 0; i < 2; i++) {
        g_thread_join(t[i]);
        g_assert_cmphex(cpus[i]->env.pc, ==, CODE + (n) * 4);
    }
}

static void test_smp_amoadd(void)
{
    uint32_t code[] = {
        enc_amo(0x00, 3, 0, 1, 4),
        enc_amo(0x00, 2, 0, 1, 4),     /* low word too: carries stay inside */
        ADDI(2, 2, -1),
        BNE(2, 0, -12),
        WFI,
    };
    uint64_t v;

    run_two_harts(code, ARRAY_SIZE(code), DATA + 0x100);
    memcpy(&v, host(DATA + 0x100), 8);
    g_assert_cmpuint(v, ==, 2ULL * 2 * AMO_ITERS);
}

static void test_smp_lr_sc(void)
{
    uint32_t code[] = {
        enc_amo(0x02, 3, 5, 1, 0),             /* lr.d x5, (x1) */
        ADDI(5, 5, 1),
        enc_amo(0x03, 3, 6, 1, 5),             /* sc.d x6, x5, (x1) */
        BNE(6, 0, -12),
        ADDI(2, 2, -1),
        BNE(2, 0, -20),
        WFI,
    };
    uint64_t v;

    run_two_harts(code, ARRAY_SIZE(code), DATA + 0x200);
    memcpy(&v, host(DATA + 0x200), 8);
    g_assert_cmpuint(v, ==, 2ULL * AMO_ITERS);
}

/* ---------------------------------------------------------------- misc */

static void test_dump_state(void)
{
    GString *s = g_string_new(NULL);
    CPUState *cs = CPU(cpu1);

    riscv_cpu_set_reset_pc(cpu1, CODE);
    cs->ops->reset(cs);
    cs->ops->dump_state(cs, s);
    g_assert_nonnull(strstr(s->str, " pc       0000000080000000\n"));
    g_assert_nonnull(strstr(s->str, " mhartid  0000000000000001\n"));
    g_assert_nonnull(strstr(s->str, " mstatus  0000000000001800\n"));
    g_assert_nonnull(strstr(s->str,
        " x0/zero  0000000000000000 x1/ra    0000000000000000"
        " x2/sp    0000000000000000 x3/gp    0000000000000000\n"));
    g_assert_nonnull(strstr(s->str, " x10/a0   0000000000000001"));
    g_string_free(s, true);
}

static void test_reset(void)
{
    RISCVCPU *c = riscv_cpu_create(3, &error_abort);
    g_assert_cmphex(c->env.pc, ==, RISCV_RESET_VECTOR);
    g_assert_cmphex(c->env.gpr[10], ==, 3);
    g_assert_cmphex(c->env.mhartid, ==, 3);
    g_assert_false(CPU(c)->ops->has_work(CPU(c)));
    g_assert_cmpint(CPU(c)->ops->next_deadline(CPU(c)), ==, INT64_MAX);
    riscv_cpu_free(c);
}

int main(int argc, char **argv)
{
    RAMBlockConfig cfg = { .name = "test.ram", .size = RAM_SIZE };

    g_test_init(&argc, &argv, NULL);
    ram = qemu_ram_alloc(&cfg, &error_abort);
    memory_region_add_ram("test.ram", RAM_BASE, ram);
    riscv_aclint_create(CLINT_BASE, 2, &error_abort);
    cpu0 = riscv_cpu_create(0, &error_abort);
    cpu1 = riscv_cpu_create(1, &error_abort);
    riscv_aclint_set_hart(0, cpu0);
    riscv_aclint_set_hart(1, cpu1);
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, UINT64_MAX, 8);
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET + 8, UINT64_MAX, 8);

    g_test_add_func("/riscv-cpu/reset", test_reset);
    g_test_add_func("/riscv-cpu/alu", test_alu);
    g_test_add_func("/riscv-cpu/x0-lui-auipc", test_x0_lui_auipc);
    g_test_add_func("/riscv-cpu/branches", test_branches);
    g_test_add_func("/riscv-cpu/loads-stores", test_loads_stores);
    g_test_add_func("/riscv-cpu/access-faults", test_access_faults);
    g_test_add_func("/riscv-cpu/amo", test_amo);
    g_test_add_func("/riscv-cpu/lr-sc", test_lr_sc);
    g_test_add_func("/riscv-cpu/csr", test_csr);
    g_test_add_func("/riscv-cpu/traps", test_traps);
    g_test_add_func("/riscv-cpu/timer-interrupt", test_timer_interrupt);
    g_test_add_func("/riscv-cpu/wfi-wake", test_wfi_wake);
    g_test_add_func("/riscv-cpu/software-interrupt", test_software_interrupt);
    g_test_add_func("/riscv-cpu/smp-amoadd", test_smp_amoadd);
    g_test_add_func("/riscv-cpu/smp-lr-sc", test_smp_lr_sc);
    g_test_add_func("/riscv-cpu/dump-state", test_dump_state);
    return g_test_run();
}
