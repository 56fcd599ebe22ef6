/* SPDX-License-Identifier: MIT */
/*
 * One trace replayed through the chosen policies, and its reports: a table
 * for people, a plot, and results.json for scripts/bench (its format is in
 * docs/estimator-eval.md; bump REPORT_FORMAT when a field changes meaning).
 */
#ifndef ACCORD_ESTIMATOR_EVAL_REPORT_H
#define ACCORD_ESTIMATOR_EVAL_REPORT_H

#include <stdio.h>

#include "gen.h"
#include "metrics.h"
#include "policy.h"

#define REPORT_FORMAT	1
#define REPORT_NAME_MAX 64

struct replay {
	char name[REPORT_NAME_MAX];
	const char *svg; /* the plot's file name for results.json, or NULL */
	bool generated;
	struct gen_params gen; /* when generated */
	enum ev_kind kind;
	size_t samples;
	struct est_setup est;
	double duration_s; /* what the samples stand for (metrics.h) */
	uint64_t demand_peak;
	double demand_mean;
	bool enabled[POLICY_COUNT];
	uint64_t *alloc[POLICY_COUNT]; /* NULL once replay__drop_series() ran */
	struct metrics m[POLICY_COUNT];
};

/* Runs the @enabled policies over @tr; @gen (or NULL) says how the trace was made. */
int replay__run(struct replay *r, const char *name, const struct trace *tr,
		const struct gen_params *gen, const bool enabled[POLICY_COUNT],
		struct acc_err *err);
/* Frees the allocation series; the metrics stay for the reports. */
void replay__drop_series(struct replay *r);

/* "diurnal-memory" from "some/dir/diurnal-memory.csv". */
void report__name_of_path(const char *path, char *name, size_t len);

void report__table(FILE *f, const struct replay *r);
int report__svg(FILE *f, const struct replay *r, const struct trace *tr);
int report__json(FILE *f, const struct replay *r, size_t count, bool smoke);

#endif /* ACCORD_ESTIMATOR_EVAL_REPORT_H */
