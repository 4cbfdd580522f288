# a-b: the classic migration test guest, for RISC-V "virt".
#
# Hart 0 prints 'A', zeroes the first byte of every 4 KiB page in
# [TEST_START, TEST_END), then forever increments the first byte of each
# of those pages in ascending order and prints 'B' after every full pass.
# Other harts park in wfi with every interrupt disabled.
#
# Invariant (QEMU's check_guests_ram): with the guest stopped, the first
# bytes of consecutive pages are all equal except at most one place where
# a byte is one less (mod 256) than the byte of the page before it.
#
# Needs at least 128 MiB of RAM.  See README for the full contract.

        .include "common.inc"

        .ifndef TEST_START
        .equ    TEST_START, DRAM_BASE + 0x100000        # DRAM + 1 MiB
        .endif
        .ifndef TEST_END
        .equ    TEST_END, DRAM_BASE + 0x6400000         # DRAM + 100 MiB
        .endif

        .section .text.start, "ax"
        .globl  _start
_start:
        hart_setup
        bnez    a0, park

        putchar 'A'

        li      s0, TEST_START
        li      s1, TEST_END
        li      s2, PAGE_SIZE
        mv      t0, s0
1:      sb      zero, 0(t0)
        add     t0, t0, s2
        bltu    t0, s1, 1b

pass:
        mv      t0, s0
2:      lbu     t1, 0(t0)
        addi    t1, t1, 1
        sb      t1, 0(t0)
        add     t0, t0, s2
        bltu    t0, s1, 2b
        putchar 'B'
        j       pass

        .include "common-code.inc"
