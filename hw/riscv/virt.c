/*
 * The riscv 'virt' board.  See include/hw/riscv/virt.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "hw/boards.h"
#include "hw/riscv/virt.h"
#include "hw/intc/riscv_aclint.h"
#include "hw/char/serial.h"
#include "hw/misc/sifive_test.h"
#include "hw/core/loader.h"
#include "sysemu/cpus.h"
#include "sysemu/runstate.h"
#include "target/riscv/cpu.h"
#include "hw/trace.h"

static RISCVVirtState *board;

RISCVVirtState *virt_board(void)
{
    return board;
}

uint64_t virt_fdt_addr(uint64_t ram_size)
{
    uint64_t end = VIRT_DRAM_BASE + ram_size;

    /* QEMU keeps the FDT below 3 GiB and 2 MiB aligned under the end */
    end = MIN(end, 3 * GiB);
    return QEMU_ALIGN_DOWN(end - 1, 2 * MiB);
}

/* Instruction encodings used by the reset vector */
static uint32_t insn_i(int opcode, int funct3, int rd, int rs1, int imm)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | funct3 << 12 |
           rd << 7 | opcode;
}

enum { REG_T0 = 5, REG_A0 = 10, REG_A1 = 11, REG_A2 = 12 };

static void write_reset_vector(RISCVVirtState *s)
{
    uint32_t code[] = {
        0x00000297u,                                        /* auipc t0, 0 */
        insn_i(0x13, 0, REG_A2, REG_T0, VIRT_ROM_FW_DYN_OFFSET), /* addi a2 */
        insn_i(0x73, 2, REG_A0, 0, CSR_MHARTID),            /* csrr a0, mhartid */
        insn_i(0x03, 3, REG_A1, REG_T0, VIRT_ROM_FDT_OFFSET),  /* ld a1 */
        insn_i(0x03, 3, REG_T0, REG_T0, VIRT_ROM_ENTRY_OFFSET), /* ld t0 */
        insn_i(0x67, 0, 0, REG_T0, 0),                      /* jr t0 */
    };
    uint8_t *rom = s->rom->host;

    QEMU_BUILD_BUG_ON(sizeof(code) != VIRT_ROM_ENTRY_OFFSET);
    memset(rom, 0, s->rom->used_length);
    memcpy(rom, code, sizeof(code));
    memcpy(rom + VIRT_ROM_ENTRY_OFFSET, &s->kernel_entry, 8);
    memcpy(rom + VIRT_ROM_FDT_OFFSET, &s->fdt_addr, 8);
    memory_set_dirty(s->rom, 0, s->rom->used_length);
}

static bool load_kernel(MachineState *ms, RISCVVirtState *s, Error **errp)
{
    gchar *contents;
    gsize len;
    GError *gerr = NULL;
    bool ok;

    s->kernel_entry = VIRT_DRAM_BASE;
    if (!ms->kernel_filename) {
        return true;
    }
    if (!g_file_get_contents(ms->kernel_filename, &contents, &len, &gerr)) {
        error_setg(errp, "could not load kernel '%s': %s",
                   ms->kernel_filename, gerr->message);
        g_error_free(gerr);
        return false;
    }
    if (buffer_is_elf(contents, len)) {
        ok = load_elf_buffer_named(ms->kernel_filename, contents, len,
                                   &s->kernel_entry, errp);
    } else {
        /* a raw image runs from the start of DRAM */
        ok = load_image_targphys(ms->kernel_filename, VIRT_DRAM_BASE, NULL,
                                 errp);
    }
    g_free(contents);
    return ok;
}

bool virt_machine_init(MachineState *ms, Error **errp)
{
    RISCVVirtState *s;
    RAMBlockConfig rom_cfg = {
        .name = VIRT_MROM_NAME,
        .size = VIRT_MROM_SIZE,
        .readonly_rom = true,
    };

    if (board) {
        error_setg(errp, "the machine is already built");
        return false;
    }
    if (ms->smp_cpus < 1 || ms->smp_cpus > VIRT_CPUS_MAX) {
        error_setg(errp, "invalid number of CPUs %d: virt supports 1 to %d",
                   ms->smp_cpus, VIRT_CPUS_MAX);
        return false;
    }
    if (ms->bios_name && strcmp(ms->bios_name, "none") != 0) {
        error_setg(errp, "-bios %s: only -bios none is supported",
                   ms->bios_name);
        return false;
    }
    if (ms->ram_size == 0 || ms->ram_size > 0x7fff80000000ULL) {
        error_setg(errp, "invalid RAM size 0x%" PRIx64, ms->ram_size);
        return false;
    }

    s = g_new0(RISCVVirtState, 1);
    s->num_harts = ms->smp_cpus;
    s->harts = g_new0(RISCVCPU *, s->num_harts);

    /* memory: the boot ROM and DRAM are the machine's RAM blocks */
    s->rom = qemu_ram_alloc(&rom_cfg, errp);
    if (!s->rom) {
        goto fail;
    }
    memory_region_add_ram(VIRT_MROM_NAME, VIRT_MROM_BASE, s->rom);
    if (!ms->ram) {
        RAMBlockConfig ram_cfg = {
            .name = VIRT_DRAM_NAME,
            .size = ms->ram_size,
            .prealloc = ms->mem_prealloc,
        };
        ms->ram = qemu_ram_alloc(&ram_cfg, errp);
        if (!ms->ram) {
            goto fail;
        }
    }
    s->dram = ms->ram;
    memory_region_add_ram(VIRT_DRAM_NAME, VIRT_DRAM_BASE, s->dram);

    /* devices */
    if (!riscv_aclint_create(VIRT_CLINT_BASE, s->num_harts, errp)) {
        goto fail;
    }
    s->uart = serial_mm_init(VIRT_UART0_BASE, ms->serial);
    sifive_test_create(VIRT_TEST_BASE);

    /* harts */
    s->fdt_addr = virt_fdt_addr(ms->ram_size);
    riscv_cpu_set_fdt_addr(s->fdt_addr);
    for (int i = 0; i < s->num_harts; i++) {
        s->harts[i] = riscv_cpu_create(i, errp);
        if (!s->harts[i]) {
            goto fail;
        }
        riscv_aclint_set_hart(i, s->harts[i]);
        riscv_cpu_register_vmstate(s->harts[i]);
    }

    /*
     * images.  Not on an incoming machine whose DRAM is shared (share=on):
     * that is the file the source runs on (x-ignore-shared), which must not
     * be written before the migration completes; the incoming stream brings
     * the ROM, the CPU state and every page of the private blocks (QEMU's
     * rom_reset skips RAM in INMIGRATE likewise).
     */
    if (runstate_check(RUN_STATE_INMIGRATE) && qemu_ram_is_shared(s->dram)) {
        s->kernel_entry = VIRT_DRAM_BASE;
        goto images_done;
    }
    if (!load_kernel(ms, s, errp)) {
        goto fail;
    }
    for (guint i = 0; ms->loaders && i < ms->loaders->len; i++) {
        const LoaderSpec *spec = g_ptr_array_index(ms->loaders, i);
        uint64_t pc;
        bool set_pc;

        if (spec->cpu_num >= s->num_harts) {
            error_setg(errp, "loader: cpu-num=%d: there are %d CPUs",
                       spec->cpu_num, s->num_harts);
            goto fail;
        }
        if (!generic_loader_apply(spec, &pc, &set_pc, errp)) {
            goto fail;
        }
        if (set_pc) {
            riscv_cpu_set_reset_pc(s->harts[spec->cpu_num], pc);
        }
    }
images_done:
    write_reset_vector(s);
    trace_virt_boot(s->kernel_entry, s->fdt_addr);

    board = s;
    ms->board = s;
    current_machine = ms;
    for (int i = 0; i < s->num_harts; i++) {
        qemu_init_vcpu(CPU(s->harts[i]));
    }
    return true;

fail:
    /*
     * The memory map cannot shrink: what was mapped stays (the process is
     * about to exit with the error).
     */
    for (int i = 0; i < s->num_harts; i++) {
        if (s->harts[i]) {
            riscv_aclint_set_hart(i, NULL);
            riscv_cpu_unregister_vmstate(s->harts[i]);
            riscv_cpu_free(s->harts[i]);
        }
    }
    g_free(s->harts);
    g_free(s);
    return false;
}

void qemu_devices_reset(void)
{
    RISCVVirtState *s = board;

    if (!s) {
        return;
    }
    riscv_aclint_reset();
    serial_reset(s->uart);
    for (int i = 0; i < s->num_harts; i++) {
        CPUState *cs = CPU(s->harts[i]);
        cs->ops->reset(cs);
    }
}
