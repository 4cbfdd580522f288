/*
 * 16550A register model, without a chardev.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "hw/char/serial.h"

static void test_reset_state(void)
{
    SerialState *s = serial_new(NULL);

    g_assert_cmphex(serial_reg_read(s, UART_LSR), ==,
                    UART_LSR_THRE | UART_LSR_TEMT);
    g_assert_cmphex(serial_reg_read(s, UART_IIR), ==, UART_IIR_NO_INT);
    g_assert_cmphex(serial_reg_read(s, UART_IER), ==, 0);
    g_assert_cmphex(serial_reg_read(s, UART_MSR) & 0xf0, ==,
                    UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
    g_assert_cmphex(serial_reg_read(s, UART_RBR), ==, 0);
    serial_free(s);
}

static void test_transmit_without_chardev(void)
{
    SerialState *s = serial_new(NULL);

    for (int i = 0; i < 100; i++) {
        serial_reg_write(s, UART_THR, 'a' + i % 26);
        g_assert_cmphex(serial_reg_read(s, UART_LSR) & 0x61, ==,
                        UART_LSR_THRE | UART_LSR_TEMT);
    }
    serial_free(s);
}

static void test_dlab_and_scratch(void)
{
    SerialState *s = serial_new(NULL);

    serial_reg_write(s, UART_IER, 0x05);
    serial_reg_write(s, UART_LCR, UART_LCR_DLAB | 0x03);
    serial_reg_write(s, UART_DLL, 0x34);
    serial_reg_write(s, UART_DLM, 0x12);
    g_assert_cmphex(serial_reg_read(s, UART_DLL), ==, 0x34);
    g_assert_cmphex(serial_reg_read(s, UART_DLM), ==, 0x12);
    g_assert_cmphex(s->divider, ==, 0x1234);
    serial_reg_write(s, UART_LCR, 0x03);
    g_assert_cmphex(serial_reg_read(s, UART_LCR), ==, 0x03);
    g_assert_cmphex(serial_reg_read(s, UART_IER), ==, 0x05);   /* untouched */
    serial_reg_write(s, UART_SCR, 0xa5);
    g_assert_cmphex(serial_reg_read(s, UART_SCR), ==, 0xa5);
    serial_free(s);
}

static void test_receive_fifo(void)
{
    SerialState *s = serial_new(NULL);
    uint8_t buf[20];

    for (int i = 0; i < 20; i++) {
        buf[i] = 0x40 + i;
    }
    /* FIFOs off: one byte of room */
    g_assert_cmpint(serial_can_receive(s), ==, 1);
    serial_receive(s, buf, 1);
    g_assert_cmpint(serial_can_receive(s), ==, 0);
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
    g_assert_cmphex(serial_reg_read(s, UART_RBR), ==, 0x40);
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & UART_LSR_DR, ==, 0);

    /* FIFOs on: 16 bytes, in order, overrun flagged and cleared on read */
    serial_reg_write(s, UART_FCR, UART_FCR_FE | UART_FCR_RFR | UART_FCR_XFR);
    g_assert_cmphex(serial_reg_read(s, UART_IIR) & 0xc0, ==, UART_IIR_FE);
    g_assert_cmpint(serial_can_receive(s), ==, 16);
    serial_receive(s, buf, 10);
    g_assert_cmpint(serial_can_receive(s), ==, 6);
    serial_receive(s, buf + 10, 6);
    g_assert_cmpint(serial_can_receive(s), ==, 0);
    serial_receive(s, buf + 16, 1);
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), ==,
                    UART_LSR_OE | UART_LSR_DR);
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & UART_LSR_OE, ==, 0);
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(serial_reg_read(s, UART_RBR), ==, 0x40 + i);
    }
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & UART_LSR_DR, ==, 0);

    /* clearing the RX FIFO drops what is there */
    serial_receive(s, buf, 3);
    serial_reg_write(s, UART_FCR, UART_FCR_FE | UART_FCR_RFR);
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & UART_LSR_DR, ==, 0);
    g_assert_cmpint(serial_can_receive(s), ==, 16);
    serial_free(s);
}

static void test_iir(void)
{
    SerialState *s = serial_new(NULL);
    uint8_t b = 'x';

    /* THRE: raised when enabled with an empty THR, acknowledged by IIR read */
    serial_reg_write(s, UART_IER, UART_IER_THRI);
    g_assert_cmphex(serial_reg_read(s, UART_IIR), ==, UART_IIR_THRI);
    g_assert_cmphex(serial_reg_read(s, UART_IIR), ==, UART_IIR_NO_INT);
    serial_reg_write(s, UART_THR, 'y');
    g_assert_cmphex(serial_reg_read(s, UART_IIR), ==, UART_IIR_THRI);

    /* received data outranks THRE */
    serial_reg_write(s, UART_IER, UART_IER_THRI | UART_IER_RDI);
    serial_receive(s, &b, 1);
    g_assert_cmphex(serial_reg_read(s, UART_IIR), ==, UART_IIR_RDI);
    serial_reg_read(s, UART_RBR);
    g_assert_cmphex(serial_reg_read(s, UART_IIR), ==, UART_IIR_NO_INT);
    serial_free(s);
}

static void test_loopback(void)
{
    SerialState *s = serial_new(NULL);

    serial_reg_write(s, UART_FCR, UART_FCR_FE);
    serial_reg_write(s, UART_MCR, UART_MCR_LOOP);
    g_assert_cmpint(serial_can_receive(s), ==, 0);
    /* no modem outputs: inputs read low */
    g_assert_cmphex(serial_reg_read(s, UART_MSR) & 0xf0, ==, 0);
    serial_reg_write(s, UART_THR, 'h');
    serial_reg_write(s, UART_THR, 'i');
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
    g_assert_cmphex(serial_reg_read(s, UART_RBR), ==, 'h');
    g_assert_cmphex(serial_reg_read(s, UART_RBR), ==, 'i');
    g_assert_cmphex(serial_reg_read(s, UART_LSR) & UART_LSR_DR, ==, 0);

    /* MCR outputs appear on MSR inputs, with delta bits */
    serial_reg_write(s, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_DTR |
                     UART_MCR_OUT1 | UART_MCR_OUT2);
    g_assert_cmphex(serial_reg_read(s, UART_MSR), ==,
                    UART_MSR_CTS | UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD |
                    UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
    g_assert_cmphex(serial_reg_read(s, UART_MSR), ==,
                    UART_MSR_CTS | UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD);
    serial_reg_write(s, UART_MCR, UART_MCR_LOOP);
    g_assert_cmphex(serial_reg_read(s, UART_MSR), ==,
                    UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_TERI | UART_MSR_DDCD);

    /* leaving loopback: receive from the line again */
    serial_reg_write(s, UART_MCR, 0);
    g_assert_cmpint(serial_can_receive(s), ==, 16);
    serial_free(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/serial/reset", test_reset_state);
    g_test_add_func("/serial/transmit-no-chardev", test_transmit_without_chardev);
    g_test_add_func("/serial/dlab-scratch", test_dlab_and_scratch);
    g_test_add_func("/serial/receive-fifo", test_receive_fifo);
    g_test_add_func("/serial/iir", test_iir);
    g_test_add_func("/serial/loopback", test_loopback);
    return g_test_run();
}
