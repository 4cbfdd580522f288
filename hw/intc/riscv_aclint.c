/*
 * CLINT of the virt board: software interrupts (msip) and the machine
 * timer (mtime/mtimecmp).  See include/hw/intc/riscv_aclint.h.
 *
 * Registers are written under the BQL; vCPU threads read mtime and
 * mtimecmp without it.  The clock parameters (running, base_ns, offset)
 * change together, so readers use a sequence counter: the writer makes it
 * odd while changing them, readers retry if it moved.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "sysemu/runstate.h"
#include "hw/intc/riscv_aclint.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "target/riscv/cpu.h"
#include "hw/trace.h"

#define NS_PER_TICK (NANOSECONDS_PER_SECOND / RISCV_ACLINT_TIMEBASE_FREQ)

typedef struct RISCVAclint {
    bool created;
    int num_harts;
    RISCVCPU **harts;
    uint64_t *mtimecmp;         /* atomic */
    uint32_t *msip;

    uint32_t seq;               /* odd while the clock is being changed */
    bool running;
    int64_t base_ns;            /* host time at which mtime was 'offset' */
    uint64_t offset;            /* mtime at base_ns (the value while frozen) */

    RISCVAclintMigState mig;
    VMChangeStateEntry *vmse;
} RISCVAclint;

static RISCVAclint aclint;

/* ---------------------------------------------------------------- time */

static void clock_write_begin(void)
{
    qatomic_set(&aclint.seq, aclint.seq + 1);
    smp_wmb();
}

static void clock_write_end(void)
{
    smp_wmb();
    qatomic_set(&aclint.seq, aclint.seq + 1);
}

static uint64_t mtime_at(int64_t now)
{
    uint32_t seq;
    uint64_t val = 0;

    do {
        seq = qatomic_load_acquire(&aclint.seq);
        if (seq & 1) {
            continue;
        }
        if (qatomic_read(&aclint.running)) {
            int64_t d = now - qatomic_read(&aclint.base_ns);
            val = qatomic_read(&aclint.offset) +
                  (d > 0 ? (uint64_t)d / NS_PER_TICK : 0);
        } else {
            val = qatomic_read(&aclint.offset);
        }
        smp_rmb();
    } while ((seq & 1) || seq != qatomic_read(&aclint.seq));
    return val;
}

uint64_t riscv_aclint_get_mtime(void)
{
    if (!aclint.created) {
        return 0;
    }
    return mtime_at(get_clock());
}

uint64_t riscv_aclint_get_mtimecmp(int hart)
{
    if (!aclint.created || hart < 0 || hart >= aclint.num_harts) {
        return UINT64_MAX;
    }
    return qatomic_read(&aclint.mtimecmp[hart]);
}

int64_t riscv_aclint_deadline_ns(uint64_t ticks)
{
    int64_t now;
    uint64_t cur, delta;

    if (!aclint.created || !qatomic_read(&aclint.running)) {
        return INT64_MAX;
    }
    now = get_clock();
    cur = mtime_at(now);
    if (ticks <= cur) {
        return now;
    }
    delta = ticks - cur;
    if (delta > (uint64_t)(INT64_MAX - now) / NS_PER_TICK) {
        return INT64_MAX;
    }
    /* round up so that at the deadline mtime >= ticks */
    return now + (int64_t)(delta * NS_PER_TICK);
}

/* Set the clock so that it reads @value now. BQL held. */
static void mtime_set(uint64_t value)
{
    clock_write_begin();
    aclint.base_ns = get_clock();
    aclint.offset = value;
    clock_write_end();
}

void riscv_aclint_set_running(bool running)
{
    uint64_t now_val;

    if (running == aclint.running) {
        return;
    }
    now_val = riscv_aclint_get_mtime();
    clock_write_begin();
    aclint.base_ns = get_clock();
    aclint.offset = now_val;
    qatomic_set(&aclint.running, running);
    clock_write_end();
    trace_riscv_aclint_clock(running, now_val);
}

static void aclint_vm_state_change(void *opaque, bool running, RunState state)
{
    riscv_aclint_set_running(running);
}

/* ---------------------------------------------------------------- registers */

static void kick_hart(int hart)
{
    if (aclint.harts[hart]) {
        riscv_cpu_kick(aclint.harts[hart]);
    }
}

uint64_t riscv_aclint_read(hwaddr offset, unsigned size)
{
    uint64_t val = 0;

    if (offset < RISCV_ACLINT_MSIP_OFFSET + 4ULL * aclint.num_harts) {
        if (size == 4 && !(offset & 3)) {
            val = aclint.msip[offset >> 2];
        }
    } else if (offset >= RISCV_ACLINT_MTIMECMP_OFFSET &&
               offset < RISCV_ACLINT_MTIMECMP_OFFSET + 8ULL * aclint.num_harts) {
        hwaddr rel = offset - RISCV_ACLINT_MTIMECMP_OFFSET;
        uint64_t cmp = qatomic_read(&aclint.mtimecmp[rel >> 3]);
        if (size == 8 && !(rel & 7)) {
            val = cmp;
        } else if (size == 4 && !(rel & 3)) {
            val = (uint32_t)(cmp >> ((rel & 4) * 8));
        }
    } else if (offset >= RISCV_ACLINT_MTIME_OFFSET &&
               offset < RISCV_ACLINT_MTIME_OFFSET + 8) {
        hwaddr rel = offset - RISCV_ACLINT_MTIME_OFFSET;
        uint64_t t = riscv_aclint_get_mtime();
        if (size == 8 && rel == 0) {
            val = t;
        } else if (size == 4 && !(rel & 3)) {
            val = (uint32_t)(t >> ((rel & 4) * 8));
        }
    }
    trace_riscv_aclint_read(offset, size, val);
    return val;
}

void riscv_aclint_write(hwaddr offset, uint64_t value, unsigned size)
{
    trace_riscv_aclint_write(offset, size, value);

    if (offset < RISCV_ACLINT_MSIP_OFFSET + 4ULL * aclint.num_harts) {
        if (size == 4 && !(offset & 3)) {
            int hart = offset >> 2;
            aclint.msip[hart] = value & 1;
            if (aclint.harts[hart]) {
                riscv_cpu_set_irq(aclint.harts[hart], IRQ_M_SOFT, value & 1);
            }
        }
    } else if (offset >= RISCV_ACLINT_MTIMECMP_OFFSET &&
               offset < RISCV_ACLINT_MTIMECMP_OFFSET + 8ULL * aclint.num_harts) {
        hwaddr rel = offset - RISCV_ACLINT_MTIMECMP_OFFSET;
        int hart = rel >> 3;
        uint64_t cmp = qatomic_read(&aclint.mtimecmp[hart]);
        if (size == 8 && !(rel & 7)) {
            cmp = value;
        } else if (size == 4 && !(rel & 3)) {
            int shift = (rel & 4) * 8;
            cmp = (cmp & ~(0xffffffffULL << shift)) |
                  ((value & 0xffffffffULL) << shift);
        } else {
            return;
        }
        qatomic_set(&aclint.mtimecmp[hart], cmp);
        /* a sleeping hart recomputes its deadline */
        kick_hart(hart);
    } else if (offset >= RISCV_ACLINT_MTIME_OFFSET &&
               offset < RISCV_ACLINT_MTIME_OFFSET + 8) {
        hwaddr rel = offset - RISCV_ACLINT_MTIME_OFFSET;
        uint64_t t = riscv_aclint_get_mtime();
        if (size == 8 && rel == 0) {
            t = value;
        } else if (size == 4 && !(rel & 3)) {
            int shift = (rel & 4) * 8;
            t = (t & ~(0xffffffffULL << shift)) |
                ((value & 0xffffffffULL) << shift);
        } else {
            return;
        }
        mtime_set(t);
        /* every hart's timer deadline moved */
        for (int i = 0; i < aclint.num_harts; i++) {
            kick_hart(i);
        }
    }
}

static uint64_t aclint_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    return riscv_aclint_read(addr, size);
}

static void aclint_mmio_write(void *opaque, hwaddr addr, uint64_t data,
                              unsigned size)
{
    riscv_aclint_write(addr, data, size);
}

static const MemoryRegionOps aclint_ops = {
    .read = aclint_mmio_read,
    .write = aclint_mmio_write,
};

/* ---------------------------------------------------------------- lifecycle */

/* ---------------------------------------------------------------- migration */

/*
 * "riscv.aclint" v1: be64 mtime (guest time when the VM stopped), be32
 * num_harts (must equal the local count), num_harts x be64 mtimecmp,
 * num_harts x be32 msip (0 or 1).  post_load makes mtime continue from
 * the saved value, so guest time never goes backwards.
 */
static int aclint_vmstate_pre_save(void *opaque)
{
    riscv_aclint_pre_save();
    return 0;
}

static bool aclint_vmstate_post_load(void *opaque, int version_id,
                                     Error **errp)
{
    RISCVAclintMigState *m = opaque;

    for (uint32_t i = 0; i < m->num_harts; i++) {
        if (m->msip[i] > 1) {
            error_setg(errp, "riscv.aclint: field msip[%u] is 0x%x, must be "
                       "0 or 1", i, m->msip[i]);
            return false;
        }
    }
    riscv_aclint_post_load();
    return true;
}

static const VMStateDescription vmstate_riscv_aclint = {
    .name = "riscv.aclint",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = aclint_vmstate_pre_save,
    .post_load_errp = aclint_vmstate_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(mtime, RISCVAclintMigState),
        VMSTATE_UINT32_EQUAL(num_harts, RISCVAclintMigState,
                             "the number of harts (-smp) must match"),
        VMSTATE_VARRAY_UINT32_BOUNDED(mtimecmp, RISCVAclintMigState,
                                      num_harts, RISCV_ACLINT_MAX_HARTS, 0,
                                      vmstate_info_uint64, uint64_t),
        VMSTATE_VARRAY_UINT32_BOUNDED(msip, RISCVAclintMigState, num_harts,
                                      RISCV_ACLINT_MAX_HARTS, 0,
                                      vmstate_info_uint32, uint32_t),
        VMSTATE_END_OF_LIST()
    },
};

bool riscv_aclint_create(hwaddr base, int num_harts, Error **errp)
{
    if (aclint.created) {
        error_setg(errp, "the CLINT already exists");
        return false;
    }
    if (num_harts < 1 || num_harts > RISCV_ACLINT_MAX_HARTS) {
        error_setg(errp, "CLINT: invalid number of harts %d (1 to %d)",
                   num_harts, RISCV_ACLINT_MAX_HARTS);
        return false;
    }
    aclint.num_harts = num_harts;
    aclint.harts = g_new0(RISCVCPU *, num_harts);
    aclint.mtimecmp = g_new0(uint64_t, num_harts);
    aclint.msip = g_new0(uint32_t, num_harts);
    aclint.running = true;
    aclint.base_ns = get_clock();
    aclint.offset = 0;
    aclint.mig.num_harts = num_harts;
    aclint.mig.mtimecmp = aclint.mtimecmp;
    aclint.mig.msip = aclint.msip;
    aclint.created = true;
    if (base != (hwaddr)-1) {
        memory_region_add_io("riscv.aclint", base, RISCV_ACLINT_SIZE,
                             &aclint_ops, NULL);
        aclint.vmse = qemu_add_vm_change_state_handler(aclint_vm_state_change,
                                                       NULL);
        vmstate_register(NULL, 0, &vmstate_riscv_aclint, &aclint.mig);
    }
    return true;
}

void riscv_aclint_set_hart(int hartid, RISCVCPU *cpu)
{
    if (aclint.created && hartid >= 0 && hartid < aclint.num_harts) {
        aclint.harts[hartid] = cpu;
    }
}

void riscv_aclint_destroy(void)
{
    if (aclint.vmse) {
        qemu_del_vm_change_state_handler(aclint.vmse);
        vmstate_unregister(NULL, &vmstate_riscv_aclint, &aclint.mig);
    }
    g_free(aclint.harts);
    g_free(aclint.mtimecmp);
    g_free(aclint.msip);
    memset(&aclint, 0, sizeof(aclint));
}

void riscv_aclint_reset(void)
{
    for (int i = 0; i < aclint.num_harts; i++) {
        qatomic_set(&aclint.mtimecmp[i], 0);
        aclint.msip[i] = 0;
        if (aclint.harts[i]) {
            riscv_cpu_set_irq(aclint.harts[i], IRQ_M_SOFT, false);
        }
    }
}

RISCVAclintMigState *riscv_aclint_mig_state(void)
{
    return &aclint.mig;
}

void riscv_aclint_pre_save(void)
{
    aclint.mig.mtime = riscv_aclint_get_mtime();
}

void riscv_aclint_post_load(void)
{
    clock_write_begin();
    aclint.base_ns = get_clock();
    aclint.offset = aclint.mig.mtime;
    clock_write_end();
    for (int i = 0; i < aclint.num_harts; i++) {
        aclint.msip[i] &= 1;
        if (aclint.harts[i]) {
            riscv_cpu_set_irq(aclint.harts[i], IRQ_M_SOFT, aclint.msip[i]);
        }
    }
}
