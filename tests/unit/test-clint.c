/*
 * CLINT: mtime at 10 MHz, mtimecmp -> MTIP, msip -> MSIP, time frozen while
 * the VM is stopped, and the migration hooks.  No tight timing asserts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/intc/riscv_aclint.h"
#include "target/riscv/cpu.h"

static RISCVCPU *cpu0, *cpu1;

static void test_mtime_rate(void)
{
    uint64_t t0, t1, t2;
    int64_t c0, c1;

    t0 = riscv_aclint_get_mtime();
    c0 = get_clock();
    g_usleep(20000);
    t1 = riscv_aclint_get_mtime();
    c1 = get_clock();
    g_assert_cmpuint(t1, >, t0);
    /* 10 MHz: ticks ~= ns / 100, allow a wide margin */
    g_assert_cmpuint(t1 - t0, >=, (uint64_t)(c1 - c0) / 100 / 2);
    g_assert_cmpuint(t1 - t0, <=, (uint64_t)(c1 - c0) / 100 * 2 + 1000);

    /* monotonic over many reads, and the MMIO view agrees */
    for (int i = 0; i < 10000; i++) {
        t2 = riscv_aclint_get_mtime();
        g_assert_cmpuint(t2, >=, t1);
        t1 = t2;
    }
    t2 = riscv_aclint_read(RISCV_ACLINT_MTIME_OFFSET, 8);
    g_assert_cmpuint(t2, >=, t1);
    /* 32-bit halves */
    g_assert_cmpuint(riscv_aclint_read(RISCV_ACLINT_MTIME_OFFSET + 4, 4), ==,
                     riscv_aclint_get_mtime() >> 32);
}

static void test_mtime_write(void)
{
    uint64_t t;

    riscv_aclint_write(RISCV_ACLINT_MTIME_OFFSET, 1ULL << 40, 8);
    t = riscv_aclint_get_mtime();
    g_assert_cmpuint(t, >=, 1ULL << 40);
    g_assert_cmpuint(t, <, (1ULL << 40) + 10000000);    /* within a second */
    /* writing the low half keeps the high half */
    riscv_aclint_write(RISCV_ACLINT_MTIME_OFFSET, 5, 4);
    t = riscv_aclint_get_mtime();
    g_assert_cmpuint(t >> 32, ==, 1ULL << 8);
}

static void test_freeze_and_migrate(void)
{
    uint64_t t0, t1;

    riscv_aclint_set_running(false);
    t0 = riscv_aclint_get_mtime();
    g_usleep(5000);
    g_assert_cmpuint(riscv_aclint_get_mtime(), ==, t0);
    g_assert_cmpint(riscv_aclint_deadline_ns(t0 + 1), ==, INT64_MAX);

    /* save, move time far back (a fresh destination), load: continues */
    riscv_aclint_pre_save();
    g_assert_cmpuint(riscv_aclint_mig_state()->mtime, ==, t0);
    riscv_aclint_write(RISCV_ACLINT_MTIME_OFFSET, 0, 8);
    riscv_aclint_post_load();
    g_assert_cmpuint(riscv_aclint_get_mtime(), ==, t0);
    riscv_aclint_set_running(true);
    g_usleep(1000);
    t1 = riscv_aclint_get_mtime();
    g_assert_cmpuint(t1, >, t0);
}

static void test_mtimecmp_mtip(void)
{
    CPUState *cs = CPU(cpu0);
    uint64_t now = riscv_aclint_get_mtime();
    int64_t deadline;

    cpu0->env.mie = MIP_MTIP;
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, UINT64_MAX, 8);
    g_assert_cmphex(riscv_cpu_get_mip(cpu0) & MIP_MTIP, ==, 0);
    g_assert_false(cs->ops->has_work(cs));
    g_assert_cmpint(cs->ops->next_deadline(cs), ==, INT64_MAX);

    /* 4-byte halves */
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, (now + 50000) & 0xffffffff, 4);
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET + 4, (now + 50000) >> 32, 4);
    g_assert_cmphex(riscv_aclint_get_mtimecmp(0), ==, now + 50000);
    g_assert_cmphex(riscv_aclint_read(RISCV_ACLINT_MTIMECMP_OFFSET + 4, 4), ==,
                    (now + 50000) >> 32);
    g_assert_true(qatomic_read(&cs->exit_request));     /* the write kicked */
    deadline = cs->ops->next_deadline(cs);
    g_assert_cmpint(deadline, >, get_clock());
    g_assert_cmpint(deadline, <=, get_clock() + 5 * 1000 * 1000 + 1000000);
    g_assert_false(cs->ops->has_work(cs));

    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, now, 8);
    g_assert_cmphex(riscv_cpu_get_mip(cpu0) & MIP_MTIP, ==, MIP_MTIP);
    g_assert_true(cs->ops->has_work(cs));
    g_assert_cmpint(cs->ops->next_deadline(cs), <=, get_clock());
    /* hart 1 is not affected */
    g_assert_cmphex(riscv_cpu_get_mip(cpu1) & MIP_MTIP, ==, 0);
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, UINT64_MAX, 8);
    cpu0->env.mie = 0;
}

static void test_msip(void)
{
    riscv_aclint_write(4, 1, 4);
    g_assert_cmphex(riscv_aclint_read(4, 4), ==, 1);
    g_assert_cmphex(qatomic_read(&cpu1->env.mip) & MIP_MSIP, ==, MIP_MSIP);
    g_assert_cmphex(qatomic_read(&cpu0->env.mip) & MIP_MSIP, ==, 0);
    cpu1->env.mie = MIP_MSIP;
    g_assert_true(CPU(cpu1)->ops->has_work(CPU(cpu1)));
    riscv_aclint_write(4, 0, 4);
    g_assert_cmphex(qatomic_read(&cpu1->env.mip) & MIP_MSIP, ==, 0);
    g_assert_false(CPU(cpu1)->ops->has_work(CPU(cpu1)));
    cpu1->env.mie = 0;
    /* only bit 0 is writable */
    riscv_aclint_write(0, 0xfffffffe, 4);
    g_assert_cmphex(riscv_aclint_read(0, 4), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    riscv_aclint_create((hwaddr)-1, 2, &error_abort);
    cpu0 = riscv_cpu_create(0, &error_abort);
    cpu1 = riscv_cpu_create(1, &error_abort);
    riscv_aclint_set_hart(0, cpu0);
    riscv_aclint_set_hart(1, cpu1);
    /* mtimecmp resets to 0 (timer pending at once); park both */
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET, UINT64_MAX, 8);
    riscv_aclint_write(RISCV_ACLINT_MTIMECMP_OFFSET + 8, UINT64_MAX, 8);
    g_test_add_func("/clint/mtime-rate", test_mtime_rate);
    g_test_add_func("/clint/mtime-write", test_mtime_write);
    g_test_add_func("/clint/freeze-and-migrate", test_freeze_and_migrate);
    g_test_add_func("/clint/mtimecmp-mtip", test_mtimecmp_mtip);
    g_test_add_func("/clint/msip", test_msip);
    return g_test_run();
}
