/*
 * 16550A UART (byte registers, reg-shift 0).
 *
 * The virt board has no PLIC, so the UART has no interrupt line: IIR still
 * tells which source would interrupt (guests may poll it), but nothing is
 * raised.  Guests poll LSR.  Transmit is immediate (THR written = byte sent
 * to the chardev; THRE and TEMT stay set); receive buffers up to 16 bytes
 * (1 with the FIFOs off) and tells the chardev how much room is left.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H

#include "qemu/osdep.h"

#define UART_FIFO_LEN 16

/* registers (offsets) */
#define UART_RBR 0      /* read, DLAB=0 */
#define UART_THR 0      /* write, DLAB=0 */
#define UART_DLL 0      /* DLAB=1 */
#define UART_IER 1      /* DLAB=0 */
#define UART_DLM 1      /* DLAB=1 */
#define UART_IIR 2      /* read */
#define UART_FCR 2      /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI   0x01
#define UART_IER_THRI  0x02
#define UART_IER_RLSI  0x04
#define UART_IER_MSI   0x08

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_FE     0xc0   /* FIFOs enabled */

#define UART_FCR_FE    0x01
#define UART_FCR_RFR   0x02
#define UART_FCR_XFR   0x04

#define UART_LCR_DLAB  0x80

#define UART_MCR_DTR   0x01
#define UART_MCR_RTS   0x02
#define UART_MCR_OUT1  0x04
#define UART_MCR_OUT2  0x08
#define UART_MCR_LOOP  0x10

#define UART_LSR_DR    0x01
#define UART_LSR_OE    0x02
#define UART_LSR_PE    0x04
#define UART_LSR_FE    0x08
#define UART_LSR_BI    0x10
#define UART_LSR_THRE  0x20
#define UART_LSR_TEMT  0x40
#define UART_LSR_INT_ANY 0x1e

#define UART_MSR_DCTS  0x01
#define UART_MSR_DDSR  0x02
#define UART_MSR_TERI  0x04
#define UART_MSR_DDCD  0x08
#define UART_MSR_CTS   0x10
#define UART_MSR_DSR   0x20
#define UART_MSR_RI    0x40
#define UART_MSR_DCD   0x80
#define UART_MSR_ANY_DELTA 0x0f

/* Device state; fixed-width fields only (ready for a VMState description). */
typedef struct SerialState {
    uint16_t divider;
    uint8_t ier;
    uint8_t lcr;
    uint8_t mcr;
    uint8_t lsr;
    uint8_t msr;
    uint8_t scr;
    uint8_t fcr;
    bool thr_ipending;          /* THR-empty interrupt condition latched */
    uint8_t rx_fifo[UART_FIFO_LEN];
    uint32_t rx_head;           /* index of the oldest byte */
    uint32_t rx_count;

    /* not migrated */
    Chardev *chr;
} SerialState;

/* Create the UART on @chr (may be NULL: output dropped) and map it at @base. */
SerialState *serial_mm_init(hwaddr base, Chardev *chr);
/* Same, without mapping it (tests). */
SerialState *serial_new(Chardev *chr);
void serial_free(SerialState *s);
void serial_reset(SerialState *s);

/* Register access as the guest sees it (BQL held). */
uint8_t serial_reg_read(SerialState *s, hwaddr offset);
void serial_reg_write(SerialState *s, hwaddr offset, uint8_t val);

/* The chardev side (main thread, BQL held). */
int serial_can_receive(void *opaque);
void serial_receive(void *opaque, const uint8_t *buf, int size);

#endif
