/* SPDX-License-Identifier: MIT */
/*
 * 16550A-compatible UART (the PC's COM1). Register state is plain data;
 * output and the interrupt line leave through callbacks so the device can
 * be driven by unit tests exactly as by a vCPU.
 */
#ifndef ACCORD_UART_H
#define ACCORD_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "accord/bus.h"

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ  4
#define UART_NR_REGS   8
/* Bytes held for the guest: the 16-byte FIFO plus the host tty's buffering. */
#define UART_RX_BUF 4096

struct uart_backend {
	void (*output)(void *ctx, const uint8_t *buf, unsigned int len);
	void *output_ctx;
	void (*set_irq)(void *ctx, bool level);
	void *irq_ctx;
};

struct uart {
	pthread_mutex_t lock;
	struct uart_backend be;
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint8_t dll, dlm;
	bool thr_ipending;
	bool irq_level;
	uint8_t rx[UART_RX_BUF];
	unsigned int rx_head, rx_count;
};

void uart__init(struct uart *u, const struct uart_backend *be);
void uart__exit(struct uart *u);
uint8_t uart__read(struct uart *u, unsigned int reg);
void uart__write(struct uart *u, unsigned int reg, uint8_t val);
/* Queue input for the guest; returns how many bytes fit (the rest overrun). */
unsigned int uart__receive(struct uart *u, const uint8_t *buf, unsigned int len);

extern const struct bus_ops uart_bus_ops;

/* Register offsets and bits used by the device and its tests. */
enum {
	UART_RBR = 0,
	UART_THR = 0,
	UART_DLL = 0,
	UART_IER = 1,
	UART_DLM = 1,
	UART_IIR = 2,
	UART_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define UART_IER_RDI  0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI  0x08

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_FIFO	0xc0

#define UART_FCR_ENABLE	  0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

#endif
