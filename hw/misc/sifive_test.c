/*
 * SiFive test/finisher device.  See include/hw/misc/sifive_test.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "sysemu/runstate.h"
#include "hw/misc/sifive_test.h"
#include "hw/trace.h"

void sifive_test_write(uint64_t val)
{
    uint32_t status = val & 0xffff;
    int code = (val >> 16) & 0xffff;

    trace_sifive_test_write(val);
    switch (status) {
    case FINISHER_FAIL:
        qemu_system_exit_request(code);
        break;
    case FINISHER_PASS:
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case FINISHER_RESET:
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    default:
        break;
    }
}

static uint64_t sifive_test_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    return 0;
}

static void sifive_test_mmio_write(void *opaque, hwaddr addr, uint64_t data,
                                   unsigned size)
{
    if (addr == 0) {
        sifive_test_write(data);
    }
}

static const MemoryRegionOps sifive_test_ops = {
    .read = sifive_test_mmio_read,
    .write = sifive_test_mmio_write,
};

void sifive_test_create(hwaddr base)
{
    memory_region_add_io("riscv.sifive.test", base, SIFIVE_TEST_SIZE,
                         &sifive_test_ops, NULL);
}
