/* SPDX-License-Identifier: MIT */
/* accord-bench: building a command line piece by piece. */
#ifndef ACCORD_BENCH_ARGV_H
#define ACCORD_BENCH_ARGV_H

#include <stdarg.h>
#include <stdio.h>

#define ARGV_MAX   64
#define ARGV_STORE 8192

struct argv_buf {
	const char *v[ARGV_MAX + 1];
	unsigned int n;
	size_t used;
	char store[ARGV_STORE];
};

/* Append one formatted argument; silently full (the command then fails visibly). */
static inline __attribute__((format(printf, 2, 3))) void argv_add(struct argv_buf *a,
								  const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->n == ARGV_MAX || a->used >= sizeof(a->store))
		return;
	va_start(ap, fmt);
	n = vsnprintf(a->store + a->used, sizeof(a->store) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->store) - a->used)
		return;
	a->v[a->n++] = a->store + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
}

#endif
