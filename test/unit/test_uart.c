// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_devices runner): the 16550A UART driven through its
 * registers exactly as a guest driver drives it, with a recording backend.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accord/bus.h"
#include "accord/uart.h"

#include "devices_test.h"

/* ---- UART ---- */

struct uart_rec {
	uint8_t out[64];
	unsigned int nout;
	bool level;
	unsigned int irq_calls;
};

static struct uart u;
static struct uart_rec rec;

static void rec_output(void *ctx, const uint8_t *buf, unsigned int len)
{
	struct uart_rec *r = ctx;

	for (unsigned int i = 0; i < len && r->nout < sizeof(r->out); i++)
		r->out[r->nout++] = buf[i];
}

static void rec_irq(void *ctx, bool level)
{
	struct uart_rec *r = ctx;

	r->level = level;
	r->irq_calls++;
}

static void uart_setup(void)
{
	struct uart_backend be = { rec_output, &rec, rec_irq, &rec };

	memset(&rec, 0, sizeof(rec));
	uart__init(&u, &be);
}

static void uart_teardown(void)
{
	uart__exit(&u);
}

static void receive_str(const char *s)
{
	ck_assert_uint_eq(uart__receive(&u, (const uint8_t *)s, strlen(s)), strlen(s));
}

START_TEST(test_uart_reset_state)
{
	ck_assert_uint_eq(uart__read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_NO_INT);
	ck_assert_uint_eq(uart__read(&u, UART_IER), 0);
	ck_assert_uint_eq(uart__read(&u, UART_LCR), 0);
	ck_assert_uint_eq(uart__read(&u, UART_MCR), 0);
	ck_assert_uint_eq(uart__read(&u, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 0);
	ck_assert_uint_eq(uart__read(&u, 8), 0xff);
	ck_assert_uint_eq(rec.irq_calls, 0);
}
END_TEST

START_TEST(test_uart_thr_write_goes_to_the_backend)
{
	uart__write(&u, UART_THR, 'h');
	uart__write(&u, UART_THR, 'i');
	ck_assert_uint_eq(rec.nout, 2);
	ck_assert_mem_eq(rec.out, "hi", 2);
	ck_assert_uint_eq(uart__read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
}
END_TEST

START_TEST(test_uart_received_bytes_are_read_in_order_from_rbr)
{
	receive_str("ok!");
	ck_assert_uint_eq(uart__read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 'o');
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 'k');
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), '!');
	ck_assert_uint_eq(uart__read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 0);
}
END_TEST

START_TEST(test_uart_iir_reports_highest_priority_interrupt)
{
	uint8_t junk[UART_RX_BUF + 1];

	uart__write(&u, UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_THRI); /* acknowledges it */
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_NO_INT);
	uart__write(&u, UART_THR, 'x'); /* THR empty again */
	receive_str("a");
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_RDI);
	memset(junk, 'j', sizeof(junk));
	ck_assert_uint_eq(uart__receive(&u, junk, sizeof(junk)), UART_RX_BUF - 1);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_RLSI);
	/* Reading LSR clears the overrun: data ready is next. */
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_RDI);
	uart__write(&u, UART_FCR, UART_FCR_CLEAR_RX);
	/* With the receiver drained, the pending THR-empty interrupt shows. */
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_THRI);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_NO_INT);
}
END_TEST

START_TEST(test_uart_iir_fifo_bits_follow_fcr_enable)
{
	uart__write(&u, UART_FCR, UART_FCR_ENABLE);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
	uart__write(&u, UART_IER, UART_IER_RDI);
	receive_str("z");
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_RDI);
	uart__write(&u, UART_FCR, 0);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_RDI);
}
END_TEST

START_TEST(test_uart_fcr_clear_rx_empties_the_fifo)
{
	receive_str("abc");
	uart__write(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_DR, 0);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 0);
	receive_str("d");
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 'd');
}
END_TEST

START_TEST(test_uart_thre_interrupt_raised_on_ier_enable_and_acked_by_iir)
{
	uart__write(&u, UART_IER, UART_IER_THRI);
	ck_assert(rec.level);
	ck_assert_uint_eq(rec.irq_calls, 1);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_THRI);
	ck_assert(!rec.level);
	ck_assert_uint_eq(rec.irq_calls, 2);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_NO_INT);
	/* Writing IER again without a 0->1 change does not re-raise it. */
	uart__write(&u, UART_IER, UART_IER_THRI);
	ck_assert(!rec.level);
	/* Transmitting a byte does. */
	uart__write(&u, UART_THR, '.');
	ck_assert(rec.level);
	ck_assert_uint_eq(uart__read(&u, UART_IIR), UART_IIR_THRI);
	ck_assert(!rec.level);
}
END_TEST

START_TEST(test_uart_irq_line_follows_received_data)
{
	receive_str("q");
	ck_assert_uint_eq(rec.irq_calls, 0); /* interrupt not enabled */
	uart__write(&u, UART_IER, UART_IER_RDI);
	ck_assert(rec.level);
	ck_assert_uint_eq(rec.irq_calls, 1);
	receive_str("r"); /* still high: no new edge */
	ck_assert_uint_eq(rec.irq_calls, 1);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 'q');
	ck_assert(rec.level);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 'r');
	ck_assert(!rec.level);
	ck_assert_uint_eq(rec.irq_calls, 2);
	uart__write(&u, UART_IER, 0);
	receive_str("s");
	ck_assert(!rec.level);
}
END_TEST

START_TEST(test_uart_ier_keeps_only_the_low_four_bits)
{
	uart__write(&u, UART_IER, 0xf0 | UART_IER_MSI);
	ck_assert_uint_eq(uart__read(&u, UART_IER), UART_IER_MSI);
}
END_TEST

START_TEST(test_uart_dlab_exposes_the_divisor_latch)
{
	uart__write(&u, UART_IER, UART_IER_RDI);
	uart__write(&u, UART_LCR, UART_LCR_DLAB | 0x03);
	ck_assert_uint_eq(uart__read(&u, UART_DLL), 0x0c);
	ck_assert_uint_eq(uart__read(&u, UART_DLM), 0);
	uart__write(&u, UART_DLL, 0x01);
	uart__write(&u, UART_DLM, 0x02);
	ck_assert_uint_eq(uart__read(&u, UART_DLL), 0x01);
	ck_assert_uint_eq(uart__read(&u, UART_DLM), 0x02);
	ck_assert_uint_eq(rec.nout, 0);
	receive_str("k");
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 0x01); /* still the latch */
	uart__write(&u, UART_LCR, 0x03);
	ck_assert_uint_eq(uart__read(&u, UART_LCR), 0x03);
	ck_assert_uint_eq(uart__read(&u, UART_IER), UART_IER_RDI);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 'k');
}
END_TEST

START_TEST(test_uart_scratch_register_holds_a_byte)
{
	uart__write(&u, UART_SCR, 0xa5);
	ck_assert_uint_eq(uart__read(&u, UART_SCR), 0xa5);
	uart__write(&u, UART_SCR, 0x5a);
	ck_assert_uint_eq(uart__read(&u, UART_SCR), 0x5a);
}
END_TEST

START_TEST(test_uart_loopback_msr_matches_linux_autoconfig)
{
	/* serial8250's autoconfig: MCR = LOOP | 0x0a, then MSR & 0xf0 must be 0x90. */
	uart__write(&u, UART_MCR, UART_MCR_LOOP | 0x0a);
	ck_assert_uint_eq(uart__read(&u, UART_MCR), 0x1a);
	ck_assert_uint_eq(uart__read(&u, UART_MSR) & 0xf0, 0x90);
	uart__write(&u, UART_MCR, UART_MCR_LOOP | 0x0f);
	ck_assert_uint_eq(uart__read(&u, UART_MSR) & 0xf0, 0xf0);
	uart__write(&u, UART_MCR, UART_MCR_LOOP);
	ck_assert_uint_eq(uart__read(&u, UART_MSR) & 0xf0, 0);
	uart__write(&u, UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	ck_assert_uint_eq(uart__read(&u, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}
END_TEST

START_TEST(test_uart_loopback_returns_transmitted_bytes)
{
	static const uint8_t outside = 'o';

	uart__write(&u, UART_MCR, UART_MCR_LOOP);
	uart__write(&u, UART_THR, 'L');
	ck_assert_uint_eq(rec.nout, 0);
	ck_assert_uint_eq(uart__receive(&u, &outside, 1), 0);
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	ck_assert_uint_eq(uart__read(&u, UART_RBR), 'L');
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_DR, 0);
}
END_TEST

START_TEST(test_uart_mcr_and_read_only_registers)
{
	uart__write(&u, UART_MCR, 0xff);
	ck_assert_uint_eq(uart__read(&u, UART_MCR), 0x1f);
	uart__write(&u, UART_MCR, 0);
	uart__write(&u, UART_LSR, 0);
	ck_assert_uint_eq(uart__read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	uart__write(&u, UART_MSR, 0);
	ck_assert_uint_eq(uart__read(&u, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}
END_TEST

START_TEST(test_uart_overrun_when_the_buffer_is_full)
{
	uint8_t *buf = malloc(UART_RX_BUF + 10);

	for (unsigned int i = 0; i < UART_RX_BUF + 10; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(uart__receive(&u, buf, UART_RX_BUF + 10), UART_RX_BUF);
	ck_assert_uint_eq(uart__read(&u, UART_LSR),
			  UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR | UART_LSR_OE);
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_OE, 0);
	ck_assert_uint_eq(uart__receive(&u, buf, 1), 0);
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
	/* The bytes kept are the first ones, in order. */
	for (unsigned int i = 0; i < UART_RX_BUF; i++)
		ck_assert_uint_eq(uart__read(&u, UART_RBR), (uint8_t)i);
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & UART_LSR_DR, 0);
	free(buf);
}
END_TEST

START_TEST(test_uart_receive_buffer_wraps_around_in_order)
{
	uint8_t *buf = malloc(UART_RX_BUF);
	unsigned int next = 0;

	for (unsigned int i = 0; i < UART_RX_BUF; i++)
		buf[i] = (uint8_t)(i * 7);
	ck_assert_uint_eq(uart__receive(&u, buf, 3000), 3000);
	for (; next < 2500; next++)
		ck_assert_uint_eq(uart__read(&u, UART_RBR), (uint8_t)(next * 7));
	/* 500 bytes are still queued; these 3000 wrap past the end of the ring. */
	ck_assert_uint_eq(uart__receive(&u, buf + 3000, UART_RX_BUF - 3000), UART_RX_BUF - 3000);
	ck_assert_uint_eq(uart__receive(&u, buf, 2000), 2000);
	for (; next < UART_RX_BUF; next++)
		ck_assert_uint_eq(uart__read(&u, UART_RBR), (uint8_t)(next * 7));
	for (unsigned int i = 0; i < 2000; i++)
		ck_assert_uint_eq(uart__read(&u, UART_RBR), (uint8_t)(i * 7));
	ck_assert_uint_eq(uart__read(&u, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), 0);
	free(buf);
}
END_TEST

/* The probe sequence of Linux's serial8250 autoconfig(), reduced to its checks. */
START_TEST(test_uart_linux_autoconfig_detects_a_16550a)
{
	uint8_t scratch2, scratch3, mcr;

	/* Existence: IER bits 3:0 can be cleared and set. */
	uart__write(&u, UART_IER, 0);
	scratch2 = uart__read(&u, UART_IER) & 0x0f;
	uart__write(&u, UART_IER, 0x0f);
	scratch3 = uart__read(&u, UART_IER) & 0x0f;
	uart__write(&u, UART_IER, 0);
	ck_assert_uint_eq(scratch2, 0);
	ck_assert_uint_eq(scratch3, 0x0f);
	/* Loopback: RTS|OUT2 come back as CTS|DCD. */
	uart__write(&u, UART_MCR, UART_MCR_LOOP | 0x0a);
	ck_assert_uint_eq(uart__read(&u, UART_MSR) & 0xf0, 0x90);
	uart__write(&u, UART_MCR, 0);
	/* FIFO: IIR[7:6] == 3 means a 16550A. */
	uart__write(&u, UART_FCR, UART_FCR_ENABLE);
	ck_assert_uint_eq(uart__read(&u, UART_IIR) >> 6, 3);
	/* No EFR behind LCR 0x80 or 0xbf: the register at 2 must not read 0. */
	uart__write(&u, UART_LCR, 0x80);
	ck_assert_uint_ne(uart__read(&u, UART_IIR), 0);
	uart__write(&u, UART_LCR, 0xbf);
	ck_assert_uint_ne(uart__read(&u, UART_IIR), 0);
	/* Not a National SuperIO: EXCR1's LOOP bit does not track MCR. */
	uart__write(&u, UART_LCR, 0);
	mcr = uart__read(&u, UART_MCR);
	uart__write(&u, UART_LCR, 0xe0);
	ck_assert_uint_eq((uart__read(&u, 2) ^ mcr) & UART_MCR_LOOP, 0);
	/* Not a TI16750: no 64-byte FIFO bit (IIR bit 5) with or without DLAB. */
	uart__write(&u, UART_LCR, 0);
	uart__write(&u, UART_FCR, UART_FCR_ENABLE | 0x20);
	ck_assert_uint_eq(uart__read(&u, UART_IIR) & 0xe0, 0xc0);
	uart__write(&u, UART_LCR, UART_LCR_DLAB);
	uart__write(&u, UART_FCR, UART_FCR_ENABLE | 0x20);
	ck_assert_uint_eq(uart__read(&u, UART_IIR) & 0xe0, 0xc0);
	uart__write(&u, UART_LCR, 0);
	/* Not an XScale: IER bit 6 (UUE) does not stick. */
	uart__write(&u, UART_IER, 0x40);
	ck_assert_uint_eq(uart__read(&u, UART_IER) & 0x40, 0);
	ck_assert_uint_eq(rec.nout, 0);
}
END_TEST

START_TEST(test_uart_on_the_bus_reads_consecutive_registers)
{
	struct bus pio;
	uint8_t data[2];
	uint8_t c = 'B';

	ck_assert_int_eq(bus__init(&pio), 0);
	ck_assert_int_eq(bus__register(&pio, UART_COM1_BASE, UART_NR_REGS, &uart_bus_ops, &u), 0);
	ck_assert_int_eq(bus__access(&pio, UART_COM1_BASE, &c, 1, true), 0);
	ck_assert_uint_eq(rec.nout, 1);
	ck_assert_uint_eq(rec.out[0], 'B');
	ck_assert_int_eq(bus__access(&pio, UART_COM1_BASE + UART_LSR, data, 2, false), 0);
	ck_assert_uint_eq(data[0], UART_LSR_THRE | UART_LSR_TEMT);
	ck_assert_uint_eq(data[1], UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	bus__exit(&pio);
}
END_TEST

Suite *uart_suite(void)
{
	Suite *s = suite_create("uart");
	TCase *tc = tcase_create("16550A");

	tcase_add_checked_fixture(tc, uart_setup, uart_teardown);
	tcase_add_test(tc, test_uart_reset_state);
	tcase_add_test(tc, test_uart_thr_write_goes_to_the_backend);
	tcase_add_test(tc, test_uart_received_bytes_are_read_in_order_from_rbr);
	tcase_add_test(tc, test_uart_iir_reports_highest_priority_interrupt);
	tcase_add_test(tc, test_uart_iir_fifo_bits_follow_fcr_enable);
	tcase_add_test(tc, test_uart_fcr_clear_rx_empties_the_fifo);
	tcase_add_test(tc, test_uart_thre_interrupt_raised_on_ier_enable_and_acked_by_iir);
	tcase_add_test(tc, test_uart_irq_line_follows_received_data);
	tcase_add_test(tc, test_uart_ier_keeps_only_the_low_four_bits);
	tcase_add_test(tc, test_uart_dlab_exposes_the_divisor_latch);
	tcase_add_test(tc, test_uart_scratch_register_holds_a_byte);
	tcase_add_test(tc, test_uart_loopback_msr_matches_linux_autoconfig);
	tcase_add_test(tc, test_uart_loopback_returns_transmitted_bytes);
	tcase_add_test(tc, test_uart_mcr_and_read_only_registers);
	tcase_add_test(tc, test_uart_overrun_when_the_buffer_is_full);
	tcase_add_test(tc, test_uart_receive_buffer_wraps_around_in_order);
	tcase_add_test(tc, test_uart_linux_autoconfig_detects_a_16550a);
	tcase_add_test(tc, test_uart_on_the_bus_reads_consecutive_registers);
	suite_add_tcase(s, tc);
	return s;
}
