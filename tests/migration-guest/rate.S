# rate: dirty guest RAM at a fixed rate, paced on mtime, sleeping in wfi.
#
# Hart 0 prints 'A', zeroes the first byte of every page in
# [RATE_START, RATE_END), then every TICK_US microseconds of mtime
# increments the first byte of the next PAGES_PER_TICK pages of that range
# (ascending, wrapping at the end), and sleeps in wfi on the machine timer
# interrupt until the next tick.  It prints 'B' once per second of mtime
# (every 1000000 / TICK_US ticks).  Other harts park.
#
# The rate is PAGES_PER_TICK * 1000000 / TICK_US pages per second as long
# as the CPU keeps up; it does not grow with CPU speed, and an idle guest
# leaves the host CPU idle.  If the guest falls behind by more than a tick
# (slow CPU, stopped VM), it restarts the schedule from the current time
# instead of bursting to catch up.
#
# The a-b invariant (check_guests_ram) holds over [RATE_START, RATE_END).
#
# Build-time parameters (as --defsym NAME=VALUE):
#   PAGES_PER_TICK  pages dirtied per tick (default 256)
#   TICK_US         tick length in microseconds (default 10000)
#   RATE_START, RATE_END   range (default DRAM + 1 MiB .. DRAM + 65 MiB)

        .include "common.inc"

        .ifndef PAGES_PER_TICK
        .equ    PAGES_PER_TICK, 256
        .endif
        .ifndef TICK_US
        .equ    TICK_US, 10000
        .endif
        .ifndef RATE_START
        .equ    RATE_START, DRAM_BASE + 0x100000
        .endif
        .ifndef RATE_END
        .equ    RATE_END, DRAM_BASE + 0x4100000
        .endif

        .equ    MTIME_PER_TICK, TICK_US * (MTIME_HZ / 1000000)
        .if     TICK_US >= 1000000
        .equ    TICKS_PER_B, 1
        .else
        .equ    TICKS_PER_B, 1000000 / TICK_US
        .endif

        .section .text.start, "ax"
        .globl  _start
_start:
        hart_setup
        bnez    a0, park

        # Timer: disarmed, routed to timer_trap, enabled in mie.  mstatus.MIE
        # stays clear except around the wfi in wait_tick.
        li      t0, CLINT_MTIMECMP
        li      t1, -1
        sd      t1, 0(t0)
        la      t0, timer_trap
        csrw    mtvec, t0
        li      t0, MIE_MTIE
        csrw    mie, t0

        putchar 'A'

        li      s0, RATE_START
        li      s1, RATE_END
        li      s2, PAGE_SIZE
        mv      t0, s0
1:      sb      zero, 0(t0)
        add     t0, t0, s2
        bltu    t0, s1, 1b

        mv      s3, s0                  # cursor
        li      s4, TICKS_PER_B         # ticks until the next 'B'
        li      s6, MTIME_PER_TICK
        call    read_mtime
        add     s5, a0, s6              # deadline of the next tick

tick:
        li      t2, PAGES_PER_TICK
2:      lbu     t1, 0(s3)
        addi    t1, t1, 1
        sb      t1, 0(s3)
        add     s3, s3, s2
        bltu    s3, s1, 3f
        mv      s3, s0
3:      addi    t2, t2, -1
        bnez    t2, 2b

        addi    s4, s4, -1
        bnez    s4, 4f
        putchar 'B'
        li      s4, TICKS_PER_B
4:
        # More than a tick late: restart the schedule from now.
        call    read_mtime
        sub     t0, a0, s5
        blt     t0, s6, wait_tick
        mv      s5, a0

# Sleep until mtime >= s5.  The timer interrupt can only be taken inside
# the wfi loop below (mstatus.MIE is set just before it); the handler
# disarms the timer and resumes at tick_woke, so a wake-up is never lost
# whether it arrives before or after the wfi.
wait_tick:
        li      t0, CLINT_MTIMECMP
        sd      s5, 0(t0)
        csrsi   mstatus, MSTATUS_MIE
5:      wfi
        j       5b
tick_woke:
        csrci   mstatus, MSTATUS_MIE
        add     s5, s5, s6
        j       tick

        .align  2
timer_trap:
        csrr    t6, mcause
        bgez    t6, fatal_trap          # an exception, not an interrupt
        slli    t6, t6, 1
        srli    t6, t6, 1
        addi    t6, t6, -7              # machine timer interrupt
        bnez    t6, fatal_trap
        li      t5, CLINT_MTIMECMP
        li      t6, -1
        sd      t6, 0(t5)
        la      t6, tick_woke
        csrw    mepc, t6
        mret

        .include "common-code.inc"
