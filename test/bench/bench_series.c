// SPDX-License-Identifier: MIT
/* accord-bench: series of samples, their order statistics, the progress log. */
#include "bench.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct bench_series *bench_series(struct bench_ctx *c, const char *group, const char *id,
				  const char *title, const char *unit)
{
	struct bench_series *s;

	for (unsigned int i = 0; i < c->nr_series; i++) {
		if (!strcmp(c->series[i].id, id))
			return &c->series[i];
	}
	if (c->nr_series == BENCH_MAX_SERIES)
		return NULL;
	s = &c->series[c->nr_series++];
	memset(s, 0, sizeof(*s));
	snprintf(s->group, sizeof(s->group), "%s", group);
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->title, sizeof(s->title), "%s", title);
	snprintf(s->unit, sizeof(s->unit), "%s", unit);
	return s;
}

void bench_add(struct bench_series *s, double v)
{
	if (s && s->n < BENCH_MAX_RUNS)
		s->samples[s->n++] = v;
}

void bench_skip(struct bench_series *s, const char *fmt, ...)
{
	va_list ap;

	if (!s)
		return;
	s->skipped = true;
	va_start(ap, fmt);
	vsnprintf(s->note, sizeof(s->note), fmt, ap);
	va_end(ap);
}

void bench_format_command(const char *const argv[], char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = 0;
	for (unsigned int i = 0; argv[i]; i++) {
		/* Quote what a shell would split or expand. */
		bool quote = !argv[i][0] || strpbrk(argv[i], " \t'\"$&|;<>()*?[]{}\\");
		int n = snprintf(buf + len, cap - len, "%s%s%s%s", i ? " " : "", quote ? "'" : "",
				 argv[i], quote ? "'" : "");

		if (n < 0 || (size_t)n >= cap - len) {
			buf[len] = 0;
			break;
		}
		len += (size_t)n;
	}
}

void bench_set_command(struct bench_series *s, const char *const argv[])
{
	if (s)
		bench_format_command(argv, s->command, sizeof(s->command));
}

void bench_log(const struct bench_ctx *c, const char *fmt, ...)
{
	va_list ap;

	(void)c;
	fputs("accord-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_percentile(double *v, unsigned int n, double p)
{
	size_t k;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)(p / 100.0 * n + 0.999999);
	return v[k ? k - 1 : 0];
}
