/* SPDX-License-Identifier: MIT */
/*
 * A Kubernetes VPA recommender and updater for one container, after
 * kubernetes/autoscaler's vertical-pod-autoscaler (pkg/recommender/util
 * decaying_histogram.go, histogram.go, histogram_options.go; model/
 * container.go, aggregations_config.go; logic/recommender.go, estimator.go;
 * updater/priority). What is kept and what is simplified is listed in
 * docs/estimator-eval.md; in short:
 *
 *   - exponential buckets, each 5% wider than the one before, the first
 *     10^7 bytes (memory) or 0.01 cores (CPU) wide, up to 10^12 bytes or
 *     1000 cores; a percentile is the end of the bucket where the
 *     cumulative weight reaches it;
 *   - weights decay with a 24 h half-life (new samples weigh
 *     2^((t - ref) / half_life), ref moving on every 100 half-lives);
 *   - CPU: every sample, weighted by the current request in cores (at
 *     least 0.1); memory: one sample per 24 h interval, that interval's peak;
 *   - target p90, lower bound p50, upper bound p95, each + 15%; the bounds
 *     scaled by the confidence (history in days): lower * (1 + 0.001/c)^-2,
 *     upper * (1 + 1/c); at least 250 MiB or 25 milli-cores;
 *   - the updater applies the target when the request is outside
 *     [lower, upper], or when the pod is at least 12 h old and the target
 *     differs from the request by at least 10%.
 */
#ifndef ACCORD_ESTIMATOR_EVAL_VPA_H
#define ACCORD_ESTIMATOR_EVAL_VPA_H

#include "eval.h"

#define VPA_MAX_BUCKETS	      256
#define VPA_BUCKET_GROWTH     0.05
#define VPA_HALF_LIFE_S	      (24.0 * 3600.0)
#define VPA_MEMORY_INTERVAL_S (24.0 * 3600.0)
#define VPA_MARGIN	      0.15
#define VPA_TARGET	      0.90
#define VPA_LOWER	      0.50
#define VPA_UPPER	      0.95
#define VPA_MIN_MEMORY	      (250.0 * 1024 * 1024)
#define VPA_MIN_CPU_MILLI     25.0
#define VPA_MIN_AGE_S	      (12.0 * 3600.0)
#define VPA_UPDATE_THRESHOLD  0.10

struct vpa_histogram {
	double first_bucket;
	double ratio;
	double epsilon; /* a bucket lighter than this is empty */
	double half_life_s;
	double ref_s; /* a multiple of half_life_s */
	unsigned int buckets;
	unsigned int min_bucket; /* first non-empty bucket, or the last bucket */
	unsigned int max_bucket; /* last non-empty bucket, or 0 */
	double total;
	double weight[VPA_MAX_BUCKETS];
};

void vpa_histogram__init(struct vpa_histogram *h, double max_value, double first_bucket,
			 double ratio, double half_life_s);
unsigned int vpa_histogram__bucket(const struct vpa_histogram *h, double value);
double vpa_histogram__bucket_start(const struct vpa_histogram *h, unsigned int bucket);
void vpa_histogram__add(struct vpa_histogram *h, double value, double weight, double t_s);
void vpa_histogram__subtract(struct vpa_histogram *h, double value, double weight, double t_s);
/* @p in [0, 1]; 0 for an empty histogram. */
double vpa_histogram__percentile(const struct vpa_histogram *h, double p);

struct vpa_recommendation {
	double target, lower, upper; /* in the kind's unit */
};

struct vpa {
	enum ev_kind kind;
	struct vpa_histogram hist;
	double first_s, last_s; /* of the samples seen, for the confidence */
	uint64_t samples;
	double window_end_s; /* memory: the end of the current 24 h interval */
	double peak;	     /* memory: the peak added for it */
};

void vpa__init(struct vpa *v, enum ev_kind kind);
/* A usage sample at @t_s (seconds from the trace's start), @request the allocation in force. */
void vpa__sample(struct vpa *v, double t_s, uint64_t usage, uint64_t request);
void vpa__recommend(const struct vpa *v, struct vpa_recommendation *r);
/* The updater: the request to use from the next sample on. */
uint64_t vpa__decide(const struct vpa *v, double t_s, uint64_t request);

#endif /* ACCORD_ESTIMATOR_EVAL_VPA_H */
