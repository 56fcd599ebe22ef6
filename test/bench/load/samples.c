// SPDX-License-Identifier: MIT
/* Latency samples, percentiles and the JSON line (see samples.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "accord/clock.h"
#include "accord/size.h"
#include "samples.h"

int samples__add(struct samples *s, uint64_t ns)
{
	uint64_t *p;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 65536;
		p = realloc(s->ns, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->ns = p;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
	s->sorted = false;
	return 0;
}

void samples__free(struct samples *s)
{
	free(s->ns);
	s->ns = NULL;
	s->n = s->cap = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t samples__percentile(struct samples *s, double pct)
{
	size_t rank;

	if (!s->n)
		return 0;
	if (!s->sorted) {
		qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
		s->sorted = true;
	}
	/* Nearest rank: the smallest sample with at least @pct percent at or below it. */
	rank = (size_t)ceil(pct / 100.0 * (double)s->n);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->ns[rank - 1];
}

void samples__json_us(struct samples *s, struct json_object *o, const char *key, double pct)
{
	if (!s->n)
		json_object_object_add(o, key, NULL);
	else
		bench__json_fixed(o, key, (double)samples__percentile(s, pct) / 1000.0, 1);
}

void bench__json_fixed(struct json_object *o, const char *key, double v, int decimals)
{
	char text[64];

	snprintf(text, sizeof(text), "%.*f", decimals, v);
	json_object_object_add(o, key, json_object_new_double_s(v, text));
}

void bench__json_print(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

uint64_t bench__cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

int bench__timed(int (*fn)(void *ctx, struct acc_err *err), void *ctx, struct bench_usage *u,
		 struct acc_err *err)
{
	uint64_t cpu = bench__cpu_ns(), wall = clock__monotonic_ns();
	int ret = fn(ctx, err);

	u->cpu_ns = bench__cpu_ns() - cpu;
	u->wall_ns = clock__monotonic_ns() - wall;
	return ret;
}

void bench__json_cpu(struct json_object *o, const struct bench_usage *u)
{
	bench__json_fixed(o, "client_cpu_pct",
			  u->wall_ns ? 100.0 * (double)u->cpu_ns / (double)u->wall_ns : 0, 1);
}

int bench__parse_seconds(const char *opt, const char *v, double min, double max, double *out,
			 struct acc_err *err)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < min || d > max)
		return acc_errf(err, EINVAL, "%s: '%s' is not a number of seconds in [%g, %g]", opt,
				v, min, max);
	*out = d;
	return 0;
}

int bench__parse_uint(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		      struct acc_err *err)
{
	int ret = uint__parse(v, min, max, out, err);

	if (ret)
		acc_err_prefix(err, "%s: ", opt);
	return ret;
}
