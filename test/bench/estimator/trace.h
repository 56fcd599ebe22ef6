/* SPDX-License-Identifier: MIT */
/*
 * Demand traces: a time series of one kind of demand, sample i taken at
 * t_ns[i] (strictly increasing) with value[i] in the kind's unit.
 *
 * CSV (docs/estimator-eval.md): lines starting with '#' are comments; the
 * first other line is the header "t_s,memory_bytes" or "t_s,cpu_milli";
 * every later line is "SECONDS,VALUE", SECONDS a decimal number of seconds
 * with up to 9 decimals, VALUE a whole number of at most 2^48. The file is
 * untrusted: lines are at most EV_LINE_MAX characters, numbers are checked
 * for overflow, and a trace holds at most EV_SAMPLES_MAX samples.
 */
#ifndef ACCORD_ESTIMATOR_EVAL_TRACE_H
#define ACCORD_ESTIMATOR_EVAL_TRACE_H

#include <stdio.h>

#include "eval.h"

struct trace {
	enum ev_kind kind;
	size_t n;
	size_t cap;
	uint64_t *t_ns;
	uint64_t *value;
};

void trace__init(struct trace *tr, enum ev_kind kind);
void trace__free(struct trace *tr);

/* -EINVAL for a time not after the last one or a value above EV_VALUE_MAX, -E2BIG when full. */
int trace__append(struct trace *tr, uint64_t t_ns, uint64_t value, struct acc_err *err);

/* Parse a CSV trace from @f; @name prefixes error lines ("NAME:LINE: ..."). */
int trace__read(FILE *f, const char *name, struct trace *tr, struct acc_err *err);
int trace__write(FILE *f, const struct trace *tr, const char *comment);

/* The mean sample interval in ms (at least 1), or 0 for a single sample. */
uint64_t trace__period_ms(const struct trace *tr);
uint64_t trace__max(const struct trace *tr);

/* Strict decimal parsers shared with the command line: no sign, no spaces, no suffix. */
int ev_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
/* Seconds with up to 9 decimals into ns, at most EV_TIME_MAX_NS. */
int ev_parse_seconds(const char *s, size_t len, uint64_t *ns);
/* "12", "12.5": seconds for output, trailing zeros of the fraction dropped. */
void ev_format_seconds(uint64_t ns, char *buf, size_t len);

#endif /* ACCORD_ESTIMATOR_EVAL_TRACE_H */
