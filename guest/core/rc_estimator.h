/* SPDX-License-Identifier: MIT */
/*
 * guest/core estimator: a fixed-point forecaster of demand (memory in bytes,
 * or vCPUs in milli-units) and the decision when to ask for more and when to
 * give some back. No floating point (kernel code has no FPU), no division
 * by anything but constants and the granule, deterministic, and safe for
 * values up to RC_EST_VALUE_MAX (larger samples are clamped).
 *
 * Per sample:
 *   - Holt's linear smoothing: level and trend (alpha, beta in 1/1024),
 *     kept with RC_EST_FRAC fractional bits;
 *   - a decaying histogram of RC_EST_BUCKETS log-spaced buckets (8 per
 *     octave from 2^hist_min_shift, 16 octaves, each bucket also remembering
 *     the largest value it holds), every weight multiplied by 2^(-1/half_life)
 *     per sample, so a sample's weight halves every half_life samples.
 * forecast = max(level + horizon * trend, percentile) * (1000 + margin) / 1000.
 *
 * rc_est_decide() turns the forecast into a change of the allocation: ask
 * early (forecast above the allocation: at least min_step), release slowly
 * (forecast below allocation * (1 - hysteresis) for release_after decisions
 * in a row, then release_share of the slack), in multiples of granule, and
 * never more than max_rate per second since the last change.
 * guest/core/README.md explains the defaults.
 */
#ifndef ACCORD_GUEST_CORE_RC_ESTIMATOR_H
#define ACCORD_GUEST_CORE_RC_ESTIMATOR_H

#include "rc_types.h"

#define RC_EST_VALUE_MAX   (1ull << 48)
#define RC_EST_FRAC	   8 /* fractional bits of level and trend */
#define RC_EST_SUB_BITS	   3 /* 8 buckets per octave */
#define RC_EST_OCTAVES	   16
#define RC_EST_BUCKETS	   (RC_EST_OCTAVES << RC_EST_SUB_BITS)
#define RC_EST_MAX_HALF	   (1u << 24)
#define RC_EST_MAX_HORIZON (1u << 16)
#define RC_EST_MAX_RATE	   (1ull << 40)

struct rc_est_config {
	uint32_t alpha;		 /* level smoothing, 1..1024 (/1024) */
	uint32_t beta;		 /* trend smoothing, 0..1024 (/1024) */
	uint32_t horizon;	 /* samples ahead the trend is projected, 0..2^16 */
	uint32_t percentile;	 /* 1..1000 per mille (900: p90) */
	uint32_t margin;	 /* 0..1000 per mille added to the forecast */
	uint32_t half_life;	 /* samples, 1..2^24 */
	uint32_t hist_min_shift; /* log2 of the histogram's first octave, 0..32 */
	uint32_t hysteresis;	 /* 0..999 per mille below the allocation */
	uint32_t release_after;	 /* decisions in a row below the band, >= 1 */
	uint32_t release_share;	 /* 1..1000 per mille of the slack per release */
	uint64_t min_step;	 /* smallest change made, <= RC_EST_VALUE_MAX */
	uint64_t granule;	 /* changes are multiples of this, >= 1 */
	uint64_t max_rate;	 /* units per second, <= 2^40; 0: no limit */
};

struct rc_est {
	struct rc_est_config cfg;
	uint32_t decay; /* 2^(-1/half_life) in 0.32 fixed point */
	uint32_t below; /* decisions in a row below the band */
	uint64_t samples;
	int64_t level;			 /* << RC_EST_FRAC */
	int64_t trend;			 /* per sample, << RC_EST_FRAC */
	uint64_t last_ns;		 /* the last sample */
	uint64_t last_change_ns;	 /* the last nonzero decision (first: the first sample) */
	uint64_t weight[RC_EST_BUCKETS]; /* one sample weighs 2^32 when added */
	uint64_t top[RC_EST_BUCKETS];	 /* the largest value in each bucket */
};

/* Defaults for memory in bytes and for vCPUs in milli-units, sampled every 10 s. */
void rc_est_config_memory(struct rc_est_config *c);
void rc_est_config_vcpu(struct rc_est_config *c);

/* RC_EINVAL for a configuration outside the ranges above. */
int rc_est_init(struct rc_est *est, const struct rc_est_config *c);
/* One sample; RC_EORDER if now_ns is before the previous sample's. */
int rc_est_sample(struct rc_est *est, uint64_t value, uint64_t now_ns);

uint64_t rc_est_level(const struct rc_est *est);
int64_t rc_est_trend(const struct rc_est *est); /* per sample, rounded toward 0 */
uint64_t rc_est_percentile(const struct rc_est *est);
/* 0 before the first sample; at most RC_EST_VALUE_MAX. */
uint64_t rc_est_forecast(const struct rc_est *est);

/*
 * *delta: how much to change the allocation by now (> 0: ask for it, < 0:
 * give it back, 0: nothing). A nonzero answer counts as a change for the
 * rate limit whether or not the host grants it. allocation above
 * RC_EST_VALUE_MAX is clamped.
 */
int rc_est_decide(struct rc_est *est, uint64_t allocation, uint64_t now_ns, int64_t *delta);

#endif /* ACCORD_GUEST_CORE_RC_ESTIMATOR_H */
