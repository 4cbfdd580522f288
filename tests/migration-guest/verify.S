# verify: a self-checking guest for migration tests.
#
# The range [VERIFY_START, VERIFY_END) is split between the working harts
# (one, or two when hart 1 exists), each with a range and a generation
# table of its own.  A hart:
#
#   1. fills each of its pages with the pattern of generation 0;
#   2. forever: for every page in order, compares the whole page with the
#      pattern of the generation recorded in its table; on a mismatch
#      prints "F" and the page address (16 lowercase hex digits) and a
#      newline, and every working hart stops (parks).  Then, for one page
#      in REWRITE_DIV (rotating with the pass number), it bumps the
#      page's generation and rewrites the page.  After each full pass it
#      prints 'B'.
#
# Hart 0 prints 'A' first.  Harts >= 2 park.  Pages are never shared
# between harts and the data path uses no LR/SC/AMO; only the UART lock
# (around each 'B' and the F line) uses amoswap.
#
# Pattern of page address P, generation G: all zero when G % 8 == 7 (so
# pages turn zero and non-zero again); otherwise 64-bit word w (0..511) is
#   ((P >> 12) * M1  ^  (G + 1) * M2)  +  w * M3
# which differs between pages, generations and word positions.
#
# How many harts work: hart 1 announces itself at once; hart 0 waits up to
# 200 ms of mtime for it, then publishes the count, which hart 1 obeys
# (it parks if hart 0 decided to work alone).
#
# Build-time parameters (--defsym): VERIFY_START, VERIFY_END (default
# DRAM + 1 MiB .. DRAM + 64 MiB), REWRITE_DIV (power of two, default 4).

        .include "common.inc"

        .ifndef VERIFY_START
        .equ    VERIFY_START, DRAM_BASE + 0x100000
        .endif
        .ifndef VERIFY_END
        .equ    VERIFY_END, DRAM_BASE + 0x4000000
        .endif
        .ifndef REWRITE_DIV
        .equ    REWRITE_DIV, 4
        .endif

        .equ    NPAGES, (VERIFY_END - VERIFY_START) / PAGE_SIZE
        .equ    MAX_WORKERS, 2
        .equ    TABLE_SIZE, NPAGES * 4
        .equ    M1, 0x9e3779b97f4a7c15
        .equ    M2, 0xbf58476d1ce4e5b9
        .equ    M3, 0x94d049bb133111eb

        .macro  uart_lock
        la      t0, print_lock
        li      t1, 1
1:      amoswap.w.aq t2, t1, (t0)
        bnez    t2, 1b
        .endm

        .macro  uart_unlock
        la      t0, print_lock
        amoswap.w.rl zero, zero, (t0)
        .endm

        .section .text.start, "ax"
        .globl  _start
_start:
        hart_setup
        li      t0, MAX_WORKERS
        bgeu    a0, t0, park
        bnez    a0, secondary

primary:
        call    read_mtime
        li      t0, MTIME_HZ / 5
        add     s0, a0, t0
1:      la      t0, hart1_present
        lw      t1, 0(t0)
        bnez    t1, 2f
        call    read_mtime
        bltu    a0, s0, 1b
        li      s1, 1
        j       3f
2:      li      s1, 2
3:      putchar 'A'
        fence   rw, rw
        la      t0, nworkers
        sw      s1, 0(t0)
        j       worker

secondary:
        la      t0, hart1_present
        li      t1, 1
        sw      t1, 0(t0)
        fence   rw, rw
        la      t0, nworkers
1:      lw      s1, 0(t0)
        beqz    s1, 1b
        li      t1, 2
        bltu    s1, t1, park
        fence   rw, rw

# s1 = number of working harts.
worker:
        csrr    s11, mhartid
        li      t0, NPAGES
        divu    t1, t0, s1              # pages per hart
        mul     t2, t1, s11             # index of my first page
        addi    t3, s1, -1
        bne     s11, t3, 1f
        sub     t1, t0, t2              # the last hart takes the rest
1:      li      s0, VERIFY_START
        slli    t3, t2, PAGE_SHIFT
        add     s0, s0, t3              # my first page
        slli    t3, t1, PAGE_SHIFT
        add     s1, s0, t3              # end of my range
        la      s2, tables
        li      t0, TABLE_SIZE
        mul     t0, t0, s11
        add     s2, s2, t0              # my generation table
        li      s3, 0                   # pass number

        mv      s4, s0
        mv      s5, s2
2:      sw      zero, 0(s5)
        mv      a0, s4
        li      a1, 0
        call    fill_page
        li      t0, PAGE_SIZE
        add     s4, s4, t0
        addi    s5, s5, 4
        bltu    s4, s1, 2b

pass:
        mv      s4, s0                  # page address
        mv      s5, s2                  # its table entry
        li      s6, 0                   # its index
page:
        la      t0, failed
        lw      t0, 0(t0)
        bnez    t0, park
        mv      a0, s4
        lwu     a1, 0(s5)
        call    check_page
        bnez    a0, fail
        add     t0, s6, s3
        andi    t0, t0, REWRITE_DIV - 1
        bnez    t0, 1f
        lwu     a1, 0(s5)
        addi    a1, a1, 1
        sw      a1, 0(s5)
        mv      a0, s4
        call    fill_page
1:      li      t0, PAGE_SIZE
        add     s4, s4, t0
        addi    s5, s5, 4
        addi    s6, s6, 1
        bltu    s4, s1, page

        addi    s3, s3, 1
        uart_lock
        la      t0, failed              # nothing after another hart's F
        lw      t0, 0(t0)
        beqz    t0, 1f
        uart_unlock
        j       park
1:      putchar 'B'
        uart_unlock
        j       pass

fail:
        la      t0, failed
        li      t1, 1
        sw      t1, 0(t0)
        fence   rw, rw
        uart_lock
        putchar 'F'
        mv      a0, s4
        call    puthex
        putchar '\n'
        uart_unlock
        j       park

# pattern: t0 = first word, t1 = step for page a0, generation a1.
# Clobbers t2, t3.
        .macro  pattern
        andi    t2, a1, 7
        li      t3, 7
        bne     t2, t3, 1f
        li      t0, 0
        li      t1, 0
        j       2f
1:      srli    t0, a0, PAGE_SHIFT
        li      t2, M1
        mul     t0, t0, t2
        addi    t3, a1, 1
        li      t2, M2
        mul     t3, t3, t2
        xor     t0, t0, t3
        li      t1, M3
2:
        .endm

# fill_page: write page a0 with generation a1.  Clobbers a0, t0-t4.
fill_page:
        pattern
        li      t4, PAGE_SIZE
        add     t4, t4, a0
1:      sd      t0, 0(a0)
        add     t0, t0, t1
        addi    a0, a0, 8
        bltu    a0, t4, 1b
        ret

# check_page: a0 = 0 if page a0 holds generation a1, else 1.
# Clobbers t0-t4.
check_page:
        pattern
        li      t4, PAGE_SIZE
        add     t4, t4, a0
1:      ld      t2, 0(a0)
        bne     t2, t0, 2f
        add     t0, t0, t1
        addi    a0, a0, 8
        bltu    a0, t4, 1b
        li      a0, 0
        ret
2:      li      a0, 1
        ret

        .include "common-code.inc"

        .data
        .align  3
hart1_present:  .word   0
nworkers:       .word   0
print_lock:     .word   0
failed:         .word   0

        .bss
        .align  12
tables:
        .space  MAX_WORKERS * TABLE_SIZE
