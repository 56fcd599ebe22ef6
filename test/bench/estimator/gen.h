/* SPDX-License-Identifier: MIT */
/*
 * The trace generator: five shapes of demand between a base and a peak,
 * deterministic for a seed (splitmix64; libc's rand() is never used).
 * docs/estimator-eval.md gives each shape's formula; t_i = i * period.
 *
 *   diurnal  base + span * ((1 - cos(2 pi t / 24 h)) / 2 + 0.03 x), x an
 *            AR(1) process (phi 0.95 per sample, unit variance)
 *   bursty   base + up to 5% of span, with rectangular bursts to
 *            base + U(0.5, 1) * span lasting U(1, 10) min, starting after
 *            30 min of quiet on average
 *   ramp     base + span * i / (n - 1): never decreases
 *   step     base before sample n / 2, peak from it on: one jump
 *   noise    (base + peak) / 2 + span / 6 * x, x the same AR(1) process
 *
 * Every value is clamped to [base, peak]; memory is rounded down to a whole
 * 4 KiB page, CPU to a whole milli-vCPU.
 */
#ifndef ACCORD_ESTIMATOR_EVAL_GEN_H
#define ACCORD_ESTIMATOR_EVAL_GEN_H

#include "trace.h"

enum gen_shape {
	GEN_DIURNAL,
	GEN_BURSTY,
	GEN_RAMP,
	GEN_STEP,
	GEN_NOISE,
	GEN_SHAPES,
};

#define GEN_DAY_S	      86400u
#define GEN_DEFAULT_PERIOD_NS (10 * EV_NS_PER_S)
#define GEN_BURST_MEAN_GAP_S  1800.0 /* one burst per 30 min of quiet, on average */
#define GEN_BURST_MIN_S	      60.0
#define GEN_BURST_MAX_S	      600.0
#define GEN_PAGE	      4096u
#define GEN_AR_PHI	      0.95

struct gen_params {
	enum gen_shape shape;
	enum ev_kind kind;
	uint64_t samples;
	uint64_t period_ns;
	uint64_t seed;
	uint64_t base; /* in the kind's unit */
	uint64_t peak; /* >= base */
};

const char *gen__shape_name(enum gen_shape shape);
int gen__shape_parse(const char *s, enum gen_shape *shape);

/*
 * The defaults for @shape and @kind at @period_ns: 48 h of samples for
 * diurnal and 24 h for the others; memory from 512 MiB to 3 GiB, CPU from
 * 500 to 3500 milli-vCPUs; seed 1.
 */
void gen__defaults(struct gen_params *p, enum gen_shape shape, enum ev_kind kind,
		   uint64_t period_ns);

/* -EINVAL (with a message) for parameters out of range. */
int gen__trace(const struct gen_params *p, struct trace *tr, struct acc_err *err);

/* The command that regenerates the trace, for the CSV's comment line. */
void gen__describe(const struct gen_params *p, char *buf, size_t len);

#endif /* ACCORD_ESTIMATOR_EVAL_GEN_H */
