// SPDX-License-Identifier: MIT
#include <string.h>

#include "accord/uart.h"

#define MSR_DELTAS (UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_TERI | UART_MSR_DDCD)

void uart__init(struct uart *u, const struct uart_backend *be)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->be = *be;
	u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	/* A terminal is attached: carrier, data set ready and clear to send. */
	u->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	u->dll = 0x0c; /* 9600 baud, what a PC BIOS leaves */
}

void uart__exit(struct uart *u)
{
	pthread_mutex_destroy(&u->lock);
}

/* The highest-priority pending interrupt, as IIR reports it (no FIFO bits). */
static uint8_t uart__pending(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && (u->lsr & (UART_LSR_OE | UART_LSR_BI)))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && (u->lsr & UART_LSR_DR))
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & MSR_DELTAS))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void uart__update_irq(struct uart *u)
{
	bool level = uart__pending(u) != UART_IIR_NO_INT;

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->be.set_irq)
			u->be.set_irq(u->be.irq_ctx, level);
	}
}

static void uart__rx_push(struct uart *u, uint8_t c)
{
	if (u->rx_count == UART_RX_BUF) {
		u->lsr |= UART_LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_RX_BUF] = c;
	u->rx_count++;
	u->lsr |= UART_LSR_DR;
}

static uint8_t uart__rx_pop(struct uart *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_BUF;
	if (!--u->rx_count)
		u->lsr &= (uint8_t)~UART_LSR_DR;
	return c;
}

/* In loopback the modem inputs follow the modem outputs (8250 datasheet). */
static uint8_t uart__loop_msr(const struct uart *u)
{
	uint8_t msr = 0;

	if (u->mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_OUT1)
		msr |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2)
		msr |= UART_MSR_DCD;
	return msr;
}

static uint8_t uart__read_locked(struct uart *u, unsigned int reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v = 0xff;

	switch (reg) {
	case UART_RBR:
		v = dlab ? u->dll : uart__rx_pop(u);
		break;
	case UART_IER:
		v = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		v = uart__pending(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (v == UART_IIR_THRI)
			u->thr_ipending = false;
		if (u->fcr & UART_FCR_ENABLE)
			v |= UART_IIR_FIFO;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr;
		u->lsr &= (uint8_t) ~(UART_LSR_OE | UART_LSR_BI);
		break;
	case UART_MSR:
		if (u->mcr & UART_MCR_LOOP)
			v = uart__loop_msr(u) | (u->msr & MSR_DELTAS);
		else
			v = u->msr;
		u->msr &= (uint8_t)~MSR_DELTAS;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	return v;
}

uint8_t uart__read(struct uart *u, unsigned int reg)
{
	uint8_t v;

	if (reg >= UART_NR_REGS)
		return 0xff;
	pthread_mutex_lock(&u->lock);
	v = uart__read_locked(u, reg);
	uart__update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

/* Returns true when @c leaves on the line (the caller outputs it unlocked). */
static bool uart__transmit(struct uart *u, uint8_t c)
{
	bool out = !(u->mcr & UART_MCR_LOOP);

	if (!out)
		uart__rx_push(u, c);
	/* Transmission is instantaneous: the holding register is empty again. */
	u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
	u->thr_ipending = true;
	return out;
}

static bool uart__write_locked(struct uart *u, unsigned int reg, uint8_t val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab) {
			u->dll = val;
			break;
		}
		u->thr_ipending = false;
		return uart__transmit(u, val);
	case UART_IER:
		if (dlab) {
			u->dlm = val;
			break;
		}
		/* Enabling the THR interrupt with THR empty raises it at once. */
		if (!(u->ier & UART_IER_THRI) && (val & UART_IER_THRI) && (u->lsr & UART_LSR_THRE))
			u->thr_ipending = true;
		u->ier = val & 0x0f;
		break;
	case UART_FCR:
		if (val & UART_FCR_CLEAR_RX) {
			u->rx_head = 0;
			u->rx_count = 0;
			u->lsr &= (uint8_t)~UART_LSR_DR;
		}
		u->fcr = val & (UART_FCR_ENABLE | 0xc0);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		/* Read-only on a 16550A; writes are ignored. */
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
	return false;
}

void uart__write(struct uart *u, unsigned int reg, uint8_t val)
{
	bool transmit;

	if (reg >= UART_NR_REGS)
		return;
	pthread_mutex_lock(&u->lock);
	transmit = uart__write_locked(u, reg, val);
	uart__update_irq(u);
	pthread_mutex_unlock(&u->lock);
	/*
	 * Output may block (a full pipe, a slow terminal); doing it unlocked
	 * keeps the event loop free to deliver input and to stop the VM.
	 */
	if (transmit && u->be.output)
		u->be.output(u->be.output_ctx, &val, 1);
}

unsigned int uart__receive(struct uart *u, const uint8_t *buf, unsigned int len)
{
	unsigned int n = 0;

	pthread_mutex_lock(&u->lock);
	/* In loopback the line is disconnected from the outside world. */
	if (!(u->mcr & UART_MCR_LOOP)) {
		for (; n < len && u->rx_count < UART_RX_BUF; n++)
			uart__rx_push(u, buf[n]);
		if (n < len)
			u->lsr |= UART_LSR_OE;
	}
	uart__update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

static void uart_bus_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	uint8_t *out = data;

	/* Wider accesses read consecutive registers, as on the ISA bus. */
	for (unsigned int i = 0; i < len; i++)
		out[i] = uart__read(dev, (unsigned int)offset + i);
}

static void uart_bus_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	const uint8_t *in = data;

	for (unsigned int i = 0; i < len; i++)
		uart__write(dev, (unsigned int)offset + i, in[i]);
}

const struct bus_ops uart_bus_ops = {
	.read = uart_bus_read,
	.write = uart_bus_write,
};
