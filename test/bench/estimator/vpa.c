// SPDX-License-Identifier: MIT
/* The VPA baseline (vpa.h): decaying histogram, recommender and updater rules. */
#include <math.h>
#include <string.h>

#include "vpa.h"

/* VPA's minSampleWeight and the epsilon derived from it (aggregations_config.go). */
#define VPA_MIN_SAMPLE_WEIGHT 0.1
#define VPA_EPSILON	      (0.001 * VPA_MIN_SAMPLE_WEIGHT)
#define VPA_MAX_DECAY_EXP     100 /* renormalise past 2^100 */

void vpa_histogram__init(struct vpa_histogram *h, double max_value, double first_bucket,
			 double ratio, double half_life_s)
{
	double n;

	memset(h, 0, sizeof(*h));
	h->first_bucket = first_bucket;
	h->ratio = ratio;
	h->epsilon = VPA_EPSILON;
	h->half_life_s = half_life_s;
	/* numBuckets = ceil(log_ratio(max * (ratio - 1) / first + 1)) + 1 */
	n = ceil(log(max_value * (ratio - 1.0) / first_bucket + 1.0) / log(ratio)) + 1.0;
	h->buckets = n > VPA_MAX_BUCKETS ? VPA_MAX_BUCKETS : (unsigned int)n;
	h->min_bucket = h->buckets - 1;
	h->max_bucket = 0;
}

unsigned int vpa_histogram__bucket(const struct vpa_histogram *h, double value)
{
	double b;

	if (value < h->first_bucket)
		return 0;
	b = floor(log(value * (h->ratio - 1.0) / h->first_bucket + 1.0) / log(h->ratio));
	return b >= h->buckets ? h->buckets - 1 : (unsigned int)b;
}

double vpa_histogram__bucket_start(const struct vpa_histogram *h, unsigned int bucket)
{
	if (!bucket)
		return 0.0;
	return h->first_bucket * (pow(h->ratio, bucket) - 1.0) / (h->ratio - 1.0);
}

static void vpa_histogram__update_range(struct vpa_histogram *h)
{
	while (h->weight[h->min_bucket] < h->epsilon && h->min_bucket < h->buckets - 1)
		h->min_bucket++;
	while (h->weight[h->max_bucket] < h->epsilon && h->max_bucket > 0)
		h->max_bucket--;
}

/*
 * Weights are relative: instead of shrinking every old sample, a new one
 * weighs 2^((t - ref) / half_life). When that exponent passes 100, ref moves
 * to t (rounded to a half-life) and every weight is scaled to match.
 */
static double vpa_histogram__decay(struct vpa_histogram *h, double t_s)
{
	double new_ref, exponent;
	unsigned int b;

	if (t_s > h->ref_s + h->half_life_s * VPA_MAX_DECAY_EXP) {
		new_ref = floor(t_s / h->half_life_s + 0.5) * h->half_life_s;
		exponent = floor((h->ref_s - new_ref) / h->half_life_s + 0.5);
		for (b = h->min_bucket; b <= h->max_bucket; b++)
			h->weight[b] = ldexp(h->weight[b], (int)exponent);
		h->total = ldexp(h->total, (int)exponent);
		h->ref_s = new_ref;
		vpa_histogram__update_range(h);
	}
	return exp2((t_s - h->ref_s) / h->half_life_s);
}

void vpa_histogram__add(struct vpa_histogram *h, double value, double weight, double t_s)
{
	unsigned int b = vpa_histogram__bucket(h, value);

	weight *= vpa_histogram__decay(h, t_s);
	h->weight[b] += weight;
	h->total += weight;
	if (b < h->min_bucket && h->weight[b] >= h->epsilon)
		h->min_bucket = b;
	if (b > h->max_bucket && h->weight[b] >= h->epsilon)
		h->max_bucket = b;
}

void vpa_histogram__subtract(struct vpa_histogram *h, double value, double weight, double t_s)
{
	unsigned int b = vpa_histogram__bucket(h, value);

	weight *= vpa_histogram__decay(h, t_s);
	if (weight > h->weight[b] - h->epsilon)
		weight = h->weight[b];
	h->total -= weight;
	h->weight[b] -= weight;
	vpa_histogram__update_range(h);
}

double vpa_histogram__percentile(const struct vpa_histogram *h, double p)
{
	double partial = 0.0, threshold = p * h->total;
	unsigned int b;

	if (h->weight[h->min_bucket] < h->epsilon)
		return 0.0;
	for (b = h->min_bucket; b < h->max_bucket; b++) {
		partial += h->weight[b];
		if (partial >= threshold)
			break;
	}
	/* The end of the bucket, except the last one, which has none. */
	if (b < h->buckets - 1)
		return vpa_histogram__bucket_start(h, b + 1);
	return vpa_histogram__bucket_start(h, b);
}

void vpa__init(struct vpa *v, enum ev_kind kind)
{
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	/* Values stay in the trace's unit: bytes, and milli-vCPUs for cores. */
	if (kind == EV_KIND_MEMORY)
		vpa_histogram__init(&v->hist, 1e12, 1e7, 1.0 + VPA_BUCKET_GROWTH, VPA_HALF_LIFE_S);
	else
		vpa_histogram__init(&v->hist, 1000.0 * 1000.0, 0.01 * 1000.0,
				    1.0 + VPA_BUCKET_GROWTH, VPA_HALF_LIFE_S);
}

/*
 * Memory: one peak per interval (container.go addMemorySample). A higher
 * sample within the interval replaces the interval's peak: the old one is
 * subtracted and the new one added, both at the interval's end.
 */
static void vpa__memory_sample(struct vpa *v, double t_s, double usage)
{
	bool add = false;

	if (!v->samples)
		v->window_end_s = t_s;
	if (t_s < v->window_end_s) {
		if (v->peak != 0.0 && usage > v->peak) {
			vpa_histogram__subtract(&v->hist, v->peak, 1.0, v->window_end_s);
			add = true;
		}
	} else {
		double shift = floor((t_s - v->window_end_s) / VPA_MEMORY_INTERVAL_S) *
				       VPA_MEMORY_INTERVAL_S +
			       VPA_MEMORY_INTERVAL_S;

		v->window_end_s += shift;
		v->peak = 0.0;
		add = true;
	}
	if (add) {
		vpa_histogram__add(&v->hist, usage, 1.0, v->window_end_s);
		v->peak = usage;
	}
}

void vpa__sample(struct vpa *v, double t_s, uint64_t usage, uint64_t request)
{
	if (v->kind == EV_KIND_MEMORY) {
		vpa__memory_sample(v, t_s, (double)usage);
	} else {
		/* Weighted by the request in cores, so a raised request outweighs the past. */
		double cores = (double)request / 1000.0;

		vpa_histogram__add(&v->hist, (double)usage,
				   cores > VPA_MIN_SAMPLE_WEIGHT ? cores : VPA_MIN_SAMPLE_WEIGHT,
				   t_s);
	}
	if (!v->samples)
		v->first_s = t_s;
	v->last_s = t_s;
	v->samples++;
}

/* History in days: the span of the samples, or their count at one a minute if fewer. */
static double vpa__confidence(const struct vpa *v)
{
	double lifespan = (v->last_s - v->first_s) / 86400.0;
	double amount = (double)v->samples / (60.0 * 24.0);

	return lifespan < amount ? lifespan : amount;
}

void vpa__recommend(const struct vpa *v, struct vpa_recommendation *r)
{
	double min = v->kind == EV_KIND_MEMORY ? VPA_MIN_MEMORY : VPA_MIN_CPU_MILLI;
	double c = vpa__confidence(v);
	double lower_scale = c > 0.0 ? pow(1.0 + 0.001 / c, -2.0) : 0.0;
	double upper_scale = c > 0.0 ? 1.0 + 1.0 / c : INFINITY;

	r->target = vpa_histogram__percentile(&v->hist, VPA_TARGET) * (1.0 + VPA_MARGIN);
	r->lower =
		vpa_histogram__percentile(&v->hist, VPA_LOWER) * (1.0 + VPA_MARGIN) * lower_scale;
	r->upper =
		vpa_histogram__percentile(&v->hist, VPA_UPPER) * (1.0 + VPA_MARGIN) * upper_scale;
	if (r->target < min)
		r->target = min;
	if (r->lower < min)
		r->lower = min;
	if (r->upper < min)
		r->upper = min;
}

uint64_t vpa__decide(const struct vpa *v, double t_s, uint64_t request)
{
	struct vpa_recommendation r;
	double req = (double)request, target;

	vpa__recommend(v, &r);
	target = r.target > (double)EV_VALUE_MAX ? (double)EV_VALUE_MAX : ceil(r.target);
	if (req >= r.lower && req <= r.upper) {
		/* Within the range: only an old enough pod, and only for a 10% change. */
		if (t_s - v->first_s < VPA_MIN_AGE_S)
			return request;
		if (fabs(target - req) / req < VPA_UPDATE_THRESHOLD)
			return request;
	}
	return ev_round_up(v->kind, (uint64_t)target);
}
