// SPDX-License-Identifier: MIT
/*
 * COM1 output. Every port access is a VM exit, so bytes are sent in bursts
 * of 16 (the 16550 FIFO depth) with one LSR poll per burst.
 */
#include "probe.h"

#define UART_THR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LSR_THRE  0x20
#define FIFO_SIZE 16

/* An absent or stuck UART must not hang the probe. */
#define THRE_POLLS 10000

static char fifo[FIFO_SIZE];
static unsigned int fifo_len;

void uart_init(void)
{
	outb(COM1_BASE + UART_IER, 0x00);
	outb(COM1_BASE + UART_LCR, 0x80); /* DLAB */
	outb(COM1_BASE + UART_DLL, 0x01); /* 115200 baud */
	outb(COM1_BASE + UART_DLM, 0x00);
	outb(COM1_BASE + UART_LCR, 0x03); /* 8N1 */
	outb(COM1_BASE + UART_FCR, 0x07); /* enable and clear the FIFOs */
	outb(COM1_BASE + UART_MCR, 0x03); /* DTR, RTS */
}

void uart_flush(void)
{
	unsigned int i;

	if (!fifo_len)
		return;
	for (i = 0; i < THRE_POLLS; i++) {
		if (inb(COM1_BASE + UART_LSR) & LSR_THRE)
			break;
		cpu_relax();
	}
	for (i = 0; i < fifo_len; i++)
		outb(COM1_BASE + UART_THR, fifo[i]);
	fifo_len = 0;
}

void uart_putc(char c)
{
	fifo[fifo_len++] = c;
	if (fifo_len == FIFO_SIZE)
		uart_flush();
}
