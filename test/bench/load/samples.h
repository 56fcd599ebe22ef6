/* SPDX-License-Identifier: MIT */
/*
 * What the load generators measure and how they print it: every latency of
 * the measured window is kept, and percentiles are read from the sorted set
 * (nearest rank), not estimated. Numbers go out as one JSON object per run.
 */
#ifndef ACCORD_BENCH_SAMPLES_H
#define ACCORD_BENCH_SAMPLES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/error.h"

struct samples {
	uint64_t *ns;
	size_t n;
	size_t cap;
	bool sorted;
};

/* Keep one latency, in nanoseconds: 0 or -ENOMEM. */
int samples__add(struct samples *s, uint64_t ns);
void samples__free(struct samples *s);
/* The @pct percentile (0: the minimum, 100: the maximum) by nearest rank; sorts once. */
uint64_t samples__percentile(struct samples *s, double pct);
/* Add @key: the @pct percentile in microseconds with one decimal, or null without samples. */
void samples__json_us(struct samples *s, struct json_object *o, const char *key, double pct);

/* Add @key: @v printed with @decimals decimals. */
void bench__json_fixed(struct json_object *o, const char *key, double v, int decimals);
/* Print @o as one line on stdout. */
void bench__json_print(struct json_object *o);
/* CPU time this process has used (user + system), in nanoseconds. */
uint64_t bench__cpu_ns(void);

/* The CPU time this process used and the wall time passed during one call. */
struct bench_usage {
	uint64_t cpu_ns, wall_ns;
};
int bench__timed(int (*fn)(void *ctx, struct acc_err *err), void *ctx, struct bench_usage *u,
		 struct acc_err *err);
/* "client_cpu_pct": how busy the client was (near 100: it, not the server, set the pace). */
void bench__json_cpu(struct json_object *o, const struct bench_usage *u);

/* Option values: seconds (decimal, in [@min, @max]) and integers, named in errors. */
int bench__parse_seconds(const char *opt, const char *v, double min, double max, double *out,
			 struct acc_err *err);
int bench__parse_uint(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		      struct acc_err *err);

#endif
