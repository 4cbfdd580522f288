/*
 * 16550A UART register model.  See include/hw/char/serial.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "chardev/char.h"
#include "hw/char/serial.h"
#include "qapi/error.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "hw/trace.h"

#define SERIAL_MMIO_SIZE 0x100

static bool fifo_enabled(SerialState *s)
{
    return s->fcr & UART_FCR_FE;
}

static uint32_t rx_capacity(SerialState *s)
{
    return fifo_enabled(s) ? UART_FIFO_LEN : 1;
}

static uint8_t serial_iir(SerialState *s)
{
    uint8_t id;

    if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_ANY)) {
        id = UART_IIR_RLSI;
    } else if ((s->ier & UART_IER_RDI) && (s->lsr & UART_LSR_DR)) {
        id = UART_IIR_RDI;
    } else if ((s->ier & UART_IER_THRI) && s->thr_ipending) {
        id = UART_IIR_THRI;
    } else if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA)) {
        id = UART_IIR_MSI;
    } else {
        id = UART_IIR_NO_INT;
    }
    return id | (fifo_enabled(s) ? UART_IIR_FE : 0);
}

/* Modem status as the lines are: loopback wires MCR to MSR. */
static void serial_update_msr(SerialState *s)
{
    uint8_t lines;

    if (s->mcr & UART_MCR_LOOP) {
        lines = ((s->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
                ((s->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
                ((s->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
                ((s->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0);
    } else {
        lines = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    }
    uint8_t changed = (lines ^ s->msr) & 0xf0;
    uint8_t delta = 0;
    if (changed & UART_MSR_CTS) {
        delta |= UART_MSR_DCTS;
    }
    if (changed & UART_MSR_DSR) {
        delta |= UART_MSR_DDSR;
    }
    if ((s->msr & UART_MSR_RI) && !(lines & UART_MSR_RI)) {
        delta |= UART_MSR_TERI;     /* trailing edge of RI */
    }
    if (changed & UART_MSR_DCD) {
        delta |= UART_MSR_DDCD;
    }
    s->msr = lines | (s->msr & UART_MSR_ANY_DELTA) | delta;
}

static void rx_push(SerialState *s, uint8_t byte)
{
    if (s->rx_count >= rx_capacity(s)) {
        s->lsr |= UART_LSR_OE;      /* overrun: the new byte is lost */
        return;
    }
    s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_LEN] = byte;
    s->rx_count++;
    s->lsr |= UART_LSR_DR;
}

static void rx_clear(SerialState *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
    s->lsr &= ~UART_LSR_DR;
}

int serial_can_receive(void *opaque)
{
    SerialState *s = opaque;

    if (s->mcr & UART_MCR_LOOP) {
        return 0;                   /* the line is looped back internally */
    }
    return rx_capacity(s) - MIN(s->rx_count, rx_capacity(s));
}

void serial_receive(void *opaque, const uint8_t *buf, int size)
{
    SerialState *s = opaque;

    for (int i = 0; i < size; i++) {
        rx_push(s, buf[i]);
    }
}

static void serial_transmit(SerialState *s, uint8_t byte)
{
    if (s->mcr & UART_MCR_LOOP) {
        rx_push(s, byte);
    } else if (s->chr) {
        /* errors (a disconnected socket) lose the byte, as on a real line */
        qemu_chr_fe_write_all(s->chr, &byte, 1);
    }
    /* sent at once: the holding and shift registers are empty again */
    s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    s->thr_ipending = true;
}

uint8_t serial_reg_read(SerialState *s, hwaddr offset)
{
    uint8_t val = 0;

    switch (offset & 7) {
    case UART_RBR:
        if (s->lcr & UART_LCR_DLAB) {
            val = s->divider & 0xff;
            break;
        }
        if (s->rx_count) {
            bool was_full = s->rx_count == rx_capacity(s);
            val = s->rx_fifo[s->rx_head];
            s->rx_head = (s->rx_head + 1) % UART_FIFO_LEN;
            s->rx_count--;
            if (!s->rx_count) {
                s->lsr &= ~UART_LSR_DR;
            }
            if (was_full && s->chr && !(s->mcr & UART_MCR_LOOP)) {
                qemu_chr_fe_accept_input(s->chr);
            }
        }
        break;
    case UART_IER:
        val = (s->lcr & UART_LCR_DLAB) ? s->divider >> 8 : s->ier;
        break;
    case UART_IIR:
        val = serial_iir(s);
        if ((val & 0x0f) == UART_IIR_THRI) {
            s->thr_ipending = false;    /* reading IIR acknowledges THRE */
        }
        break;
    case UART_LCR:
        val = s->lcr;
        break;
    case UART_MCR:
        val = s->mcr;
        break;
    case UART_LSR:
        val = s->lsr;
        s->lsr &= ~(UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI);
        break;
    case UART_MSR:
        val = s->msr;
        s->msr &= ~UART_MSR_ANY_DELTA;
        break;
    case UART_SCR:
        val = s->scr;
        break;
    }
    trace_serial_read(offset, val);
    return val;
}

void serial_reg_write(SerialState *s, hwaddr offset, uint8_t val)
{
    trace_serial_write(offset, val);
    switch (offset & 7) {
    case UART_THR:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0xff00) | val;
        } else {
            s->thr_ipending = false;
            serial_transmit(s, val);
        }
        break;
    case UART_IER:
        if (s->lcr & UART_LCR_DLAB) {
            s->divider = (s->divider & 0x00ff) | (val << 8);
        } else {
            uint8_t old = s->ier;
            s->ier = val & 0x0f;
            /* enabling THRE while the THR is empty raises it */
            if (!(old & UART_IER_THRI) && (s->ier & UART_IER_THRI) &&
                (s->lsr & UART_LSR_THRE)) {
                s->thr_ipending = true;
            }
        }
        break;
    case UART_FCR:
    {
        bool was_on = fifo_enabled(s);
        bool on = val & UART_FCR_FE;
        if (on != was_on || (val & UART_FCR_RFR)) {
            rx_clear(s);            /* switching FIFO mode also empties them */
        }
        s->fcr = val & 0xc9;        /* FE, DMA mode, trigger level */
        if (!on) {
            s->fcr = 0;
        }
        if (s->chr && serial_can_receive(s)) {
            qemu_chr_fe_accept_input(s->chr);
        }
        break;
    }
    case UART_LCR:
        s->lcr = val;
        break;
    case UART_MCR:
    {
        bool was_loop = s->mcr & UART_MCR_LOOP;
        s->mcr = val & 0x1f;
        serial_update_msr(s);
        if (was_loop && !(s->mcr & UART_MCR_LOOP) && s->chr) {
            qemu_chr_fe_accept_input(s->chr);
        }
        break;
    }
    case UART_LSR:
        break;                      /* read-only (factory test only) */
    case UART_MSR:
        break;
    case UART_SCR:
        s->scr = val;
        break;
    }
}

void serial_reset(SerialState *s)
{
    s->divider = 0x0c;              /* 9600 baud from a 1.8432 MHz clock */
    s->ier = 0;
    s->lcr = 0;
    s->mcr = UART_MCR_OUT2;
    s->lsr = UART_LSR_TEMT | UART_LSR_THRE;
    s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    s->scr = 0;
    s->fcr = 0;
    s->thr_ipending = false;
    rx_clear(s);
    memset(s->rx_fifo, 0, sizeof(s->rx_fifo));
}

static uint64_t serial_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    return serial_reg_read(opaque, addr);
}

static void serial_mmio_write(void *opaque, hwaddr addr, uint64_t data,
                              unsigned size)
{
    serial_reg_write(opaque, addr, data);
}

static const MemoryRegionOps serial_mmio_ops = {
    .read = serial_mmio_read,
    .write = serial_mmio_write,
};

SerialState *serial_new(Chardev *chr)
{
    SerialState *s = g_new0(SerialState, 1);

    s->chr = chr;
    serial_reset(s);
    if (chr) {
        qemu_chr_fe_set_handlers(chr, serial_can_receive, serial_receive,
                                 NULL, s);
    }
    return s;
}

/* ---------------------------------------------------------------- migration */

/*
 * "serial" v1: the architectural registers (divisor latch included), the
 * latched THR-empty condition and the receive FIFO with its head and count.
 * Everything is checked on load against what the hardware can hold.
 */
static bool serial_vmstate_post_load(void *opaque, int version_id,
                                     Error **errp)
{
    SerialState *s = opaque;
    uint32_t cap = (s->fcr & UART_FCR_FE) ? UART_FIFO_LEN : 1;

    if (s->rx_head >= UART_FIFO_LEN) {
        error_setg(errp, "serial: field rx_head is %u, must be below %d",
                   s->rx_head, UART_FIFO_LEN);
        return false;
    }
    if (s->rx_count > cap) {
        error_setg(errp, "serial: field rx_count is %u, the receive buffer "
                   "holds %u with FCR 0x%02x", s->rx_count, cap, s->fcr);
        return false;
    }
    if (s->ier & ~0x0f) {
        error_setg(errp, "serial: field ier is 0x%02x, only bits 0-3 exist",
                   s->ier);
        return false;
    }
    if (s->mcr & ~0x1f) {
        error_setg(errp, "serial: field mcr is 0x%02x, only bits 0-4 exist",
                   s->mcr);
        return false;
    }
    return true;
}

static const VMStateDescription vmstate_serial = {
    .name = "serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load_errp = serial_vmstate_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(divider, SerialState),
        VMSTATE_UINT8(ier, SerialState),
        VMSTATE_UINT8(lcr, SerialState),
        VMSTATE_UINT8(mcr, SerialState),
        VMSTATE_UINT8(lsr, SerialState),
        VMSTATE_UINT8(msr, SerialState),
        VMSTATE_UINT8(scr, SerialState),
        VMSTATE_UINT8(fcr, SerialState),
        VMSTATE_BOOL(thr_ipending, SerialState),
        VMSTATE_BUFFER(rx_fifo, SerialState),
        VMSTATE_UINT32(rx_head, SerialState),
        VMSTATE_UINT32(rx_count, SerialState),
        VMSTATE_END_OF_LIST()
    },
};

SerialState *serial_mm_init(hwaddr base, Chardev *chr)
{
    SerialState *s = serial_new(chr);

    memory_region_add_io("serial", base, SERIAL_MMIO_SIZE, &serial_mmio_ops, s);
    vmstate_register(NULL, VMSTATE_INSTANCE_ID_ANY, &vmstate_serial, s);
    return s;
}

void serial_free(SerialState *s)
{
    if (s) {
        vmstate_unregister(NULL, &vmstate_serial, s);
    }
    if (s && s->chr) {
        qemu_chr_fe_set_handlers(s->chr, NULL, NULL, NULL, NULL);
    }
    g_free(s);
}
