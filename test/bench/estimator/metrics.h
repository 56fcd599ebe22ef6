/* SPDX-License-Identifier: MIT */
/*
 * What an allocation series cost and missed (docs/estimator-eval.md).
 *
 * Sample i stands for the time since the sample before it, w_i =
 * t_i - t_(i-1) (sample 0 for as long as sample 1 does; a lone sample for
 * 1 s). With d_i the demand and a_i the allocation in force at sample i:
 *
 *   slack_pct      100 * sum(max(a_i - d_i, 0) * w_i) / sum(d_i * w_i):
 *                  only allocation above demand; shortfall is kept apart
 *   shortfall      d_i > a_i. shortfall_count: episodes (maximal runs of
 *                  such samples), shortfall_s: sum of their w_i,
 *                  shortfall_samples: how many; shortfall_pct:
 *                  100 * sum(max(d_i - a_i, 0) * w_i) / sum(d_i * w_i)
 *   changes        samples i >= 1 with a_i != a_(i-1)
 *   peak_alloc     max a_i; mean_alloc: sum(a_i * w_i) / sum(w_i)
 *
 * With no demand at all the percentages are undefined (pct_defined false).
 */
#ifndef ACCORD_ESTIMATOR_EVAL_METRICS_H
#define ACCORD_ESTIMATOR_EVAL_METRICS_H

#include "trace.h"

struct metrics {
	double duration_s;   /* sum of w_i */
	double used;	     /* sum(d_i * w_i), unit * s */
	double slack;	     /* sum(max(a_i - d_i, 0) * w_i) */
	double short_volume; /* sum(max(d_i - a_i, 0) * w_i) */
	bool pct_defined;    /* used > 0 */
	double slack_pct;
	double shortfall_pct;
	uint64_t shortfall_count;
	uint64_t shortfall_samples;
	double shortfall_s;
	uint64_t changes;
	uint64_t peak_alloc;
	double mean_alloc;
};

/* The weight of sample @i in seconds. */
double metrics__weight_s(const struct trace *tr, size_t i);
void metrics__compute(const struct trace *tr, const uint64_t *alloc, struct metrics *m);
/* Demand alone: peak and time-weighted mean. */
void metrics__demand(const struct trace *tr, uint64_t *peak, double *mean);

#endif /* ACCORD_ESTIMATOR_EVAL_METRICS_H */
