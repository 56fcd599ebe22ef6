// SPDX-License-Identifier: MIT
/*
 * A tiny printf: %d %u %x %X %s %c %p %%, the 0 flag, a width and the l/ll/z
 * length modifiers. Output goes to a sink: the UART or a bounded buffer.
 */
#include "probe.h"

struct sink {
	char *buf; /* NULL: the UART */
	size_t size, len;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf) {
		uart_putc(c);
		return;
	}
	if (s->len + 1 < s->size)
		s->buf[s->len++] = c;
}

static void emit_num(struct sink *s, uint64_t v, unsigned int base, bool neg, int width, char pad,
		     bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && pad == '0')
		emit(s, '-');
	for (width -= n + (neg ? 1 : 0); width > 0; width--)
		emit(s, pad);
	if (neg && pad != '0')
		emit(s, '-');
	while (n)
		emit(s, tmp[--n]);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		char pad = ' ';
		int width = 0, lng = 0;

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);

			emit_num(s, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad,
				 false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);

			emit_num(s, v, *fmt == 'u' ? 10 : 16, false, width, pad, *fmt == 'X');
			break;
		}
		case 'p':
			emit(s, '0');
			emit(s, 'x');
			emit_num(s, (uintptr_t)va_arg(ap, void *), 16, false, width, pad, false);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int len;

			if (!str)
				str = "(null)";
			for (len = strlen(str); width > len; width--)
				emit(s, ' ');
			while (*str)
				emit(s, *str++);
			break;
		}
		case 'c':
			emit(s, (char)va_arg(ap, int));
			break;
		case '%':
			emit(s, '%');
			break;
		default:
			emit(s, '%');
			if (!*fmt)
				return;
			emit(s, *fmt);
		}
	}
}

void probe_vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	format(&s, fmt, ap);
}

void probe_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.len] = 0;
}

void probe_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* Append to the string in buf (size bytes in all). */
void probe_append(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	probe_vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* A report line is pr_start(), probe_printf()s, pr_end(). */
void pr_start(void)
{
	for (const char *p = "probe: "; *p; p++)
		uart_putc(*p);
}

void pr_end(void)
{
	uart_putc('\n');
	uart_flush();
}

void probe_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	probe_vprintf(fmt, ap);
	va_end(ap);
}

/* One report line: "probe: " + text + newline, flushed. */
void pr(const char *fmt, ...)
{
	va_list ap;

	pr_start();
	va_start(ap, fmt);
	probe_vprintf(fmt, ap);
	va_end(ap);
	pr_end();
}
