/*
 * The riscv 'virt' board of Godwit: QEMU virt's memory map for the devices
 * it has (see docs in /work/shared/design.md, "The machine").
 *
 * Boot (-bios none, as QEMU virt): every hart starts at the boot ROM, whose
 * reset vector loads a0 = mhartid, a1 = the device-tree address, a2 = the
 * address of a (zeroed) fw_dynamic area in the ROM, and jumps to the entry
 * address stored in the ROM: the -kernel ELF entry, or the start of DRAM.
 * Godwit builds no device tree; a1 is where QEMU would have put it (2 MiB
 * below the end of DRAM, DRAM capped at 3 GiB), so guests that ignore it
 * behave the same.  There is no PLIC: the UART has no interrupt line.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_RISCV_VIRT_H
#define HW_RISCV_VIRT_H

#include "qemu/osdep.h"

#define VIRT_MROM_BASE    0x1000ULL
#define VIRT_MROM_SIZE    0xf000ULL
#define VIRT_TEST_BASE    0x100000ULL
#define VIRT_CLINT_BASE   0x2000000ULL
#define VIRT_UART0_BASE   0x10000000ULL
#define VIRT_DRAM_BASE    0x80000000ULL

#define VIRT_CPUS_MAX     64

#define VIRT_MROM_NAME    "riscv_virt_board.mrom"
#define VIRT_DRAM_NAME    "riscv_virt_board.ram"

/* Offsets in the ROM of the words the reset vector reads */
#define VIRT_ROM_ENTRY_OFFSET   24
#define VIRT_ROM_FDT_OFFSET     32
#define VIRT_ROM_FW_DYN_OFFSET  40

typedef struct RISCVCPU RISCVCPU;
typedef struct SerialState SerialState;

typedef struct RISCVVirtState {
    int num_harts;
    RISCVCPU **harts;
    RAMBlock *rom;
    RAMBlock *dram;
    SerialState *uart;
    uint64_t kernel_entry;
    uint64_t fdt_addr;
} RISCVVirtState;

/* The board of current_machine (NULL before virt_machine_init). */
RISCVVirtState *virt_board(void);

/* Where QEMU virt would put the FDT for @ram_size of DRAM. */
uint64_t virt_fdt_addr(uint64_t ram_size);

#endif
