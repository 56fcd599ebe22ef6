// SPDX-License-Identifier: MIT
/* guest/core estimator (see rc_estimator.h and README.md). */
#include "rc_estimator.h"

#define ONE_Q32	 (1ull << 32)
#define SAMPLE_W (1ull << 32)				      /* a new sample's histogram weight */
#define FP_MAX	 ((int64_t)(RC_EST_VALUE_MAX << RC_EST_FRAC)) /* 2^56 */
#define SUB_MASK ((1u << RC_EST_SUB_BITS) - 1)

void rc_est_config_memory(struct rc_est_config *c)
{
	c->alpha = 256;		    /* 0.25 */
	c->beta = 64;		    /* 0.0625 */
	c->horizon = 30;	    /* 5 minutes at one sample per 10 s */
	c->percentile = 900;	    /* p90, as Kubernetes VPA */
	c->margin = 150;	    /* +15%, as VPA */
	c->half_life = 8640;	    /* 24 h at one sample per 10 s, as VPA */
	c->hist_min_shift = 24;	    /* 16 MiB .. 1 TiB in 128 buckets */
	c->hysteresis = 100;	    /* release below 90% of the allocation */
	c->release_after = 30;	    /* 5 minutes of decisions in a row */
	c->release_share = 500;	    /* half of the slack at a time */
	c->min_step = 128ull << 20; /* an x86 memory block */
	c->granule = 2ull << 20;
	c->max_rate = 256ull << 20; /* bytes per second */
}

void rc_est_config_vcpu(struct rc_est_config *c)
{
	rc_est_config_memory(c);
	c->horizon = 12;       /* 2 minutes: a vCPU is quick to add */
	c->hist_min_shift = 6; /* 64 milli .. 4096 vCPUs */
	c->min_step = 1000;    /* one vCPU */
	c->granule = 1000;     /* whole vCPUs */
	c->max_rate = 1000;    /* one vCPU per second */
}

/* v * f / 1024 for f <= 1024, exact (floor) and without overflow. */
static uint64_t mulf_u(uint64_t v, uint32_t f)
{
	return (v >> 10) * f + (((v & 1023u) * f) >> 10);
}

/* The same for |v| <= 2^62, rounded toward zero. */
static int64_t mulf_s(int64_t v, uint32_t f)
{
	return v < 0 ? -(int64_t)mulf_u((uint64_t)-v, f) : (int64_t)mulf_u((uint64_t)v, f);
}

/* v * p / 1000 for v <= 2^52, p <= 2000. */
static uint64_t mul_permille(uint64_t v, uint32_t p)
{
	uint64_t q = rc_div_u64(v, 1000);

	return q * p + rc_div_u64((v - q * 1000) * p, 1000);
}

/* w * d / 2^32 for d < 2^32, without overflow. */
static uint64_t mul_q32(uint64_t w, uint64_t d)
{
	return (w >> 32) * d + (((w & 0xffffffffull) * d) >> 32);
}

static int64_t clamp_s(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* d^n in 0.32 fixed point, d < 2^32 (square and multiply, truncating). */
static uint64_t pow_q32(uint64_t d, uint32_t n)
{
	uint64_t r = ONE_Q32;

	while (n) {
		if (n & 1)
			r = (r * d) >> 32;
		d = (d * d) >> 32;
		n >>= 1;
	}
	return r;
}

/* The smallest d with d^half_life >= 1/2, i.e. 2^(-1/half_life): 32 bisection steps, once. */
static uint32_t decay_for(uint32_t half_life)
{
	uint64_t lo = ONE_Q32 / 2, hi = ONE_Q32 - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (pow_q32(mid, half_life) >= ONE_Q32 / 2)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (uint32_t)lo;
}

int rc_est_init(struct rc_est *est, const struct rc_est_config *c)
{
	uint32_t i;

	if (!est || !c)
		return RC_EINVAL;
	if (!c->alpha || c->alpha > 1024 || c->beta > 1024 || c->horizon > RC_EST_MAX_HORIZON ||
	    !c->percentile || c->percentile > 1000 || c->margin > 1000 || !c->half_life ||
	    c->half_life > RC_EST_MAX_HALF || c->hist_min_shift > 32 || c->hysteresis > 999 ||
	    !c->release_after || !c->release_share || c->release_share > 1000 ||
	    c->min_step > RC_EST_VALUE_MAX || !c->granule || c->granule > RC_EST_VALUE_MAX ||
	    c->max_rate > RC_EST_MAX_RATE)
		return RC_EINVAL;
	est->cfg = *c;
	est->decay = decay_for(c->half_life);
	est->below = 0;
	est->samples = 0;
	est->level = est->trend = 0;
	est->last_ns = est->last_change_ns = 0;
	for (i = 0; i < RC_EST_BUCKETS; i++)
		est->weight[i] = est->top[i] = 0;
	return 0;
}

static uint32_t bucket_of(const struct rc_est *est, uint64_t v)
{
	uint32_t base = est->cfg.hist_min_shift, msb = 63, sub;

	if (v < (1ull << base))
		return 0;
	while (!(v >> msb))
		msb--;
	if (msb - base >= RC_EST_OCTAVES)
		return RC_EST_BUCKETS - 1;
	if (msb >= RC_EST_SUB_BITS)
		sub = (uint32_t)(v >> (msb - RC_EST_SUB_BITS)) & SUB_MASK;
	else
		sub = (uint32_t)(v << (RC_EST_SUB_BITS - msb)) & SUB_MASK;
	return (msb - base) << RC_EST_SUB_BITS | sub;
}

int rc_est_sample(struct rc_est *est, uint64_t value, uint64_t now_ns)
{
	int64_t x, nl, nt;
	uint32_t i, b;

	if (est->samples && now_ns < est->last_ns)
		return RC_EORDER;
	if (value > RC_EST_VALUE_MAX)
		value = RC_EST_VALUE_MAX;
	x = (int64_t)(value << RC_EST_FRAC);
	if (!est->samples) {
		est->level = x;
		est->trend = 0;
		est->last_change_ns = now_ns;
	} else {
		/* Holt: level from the sample and the prediction, trend from the level's step. */
		nl = mulf_s(x, est->cfg.alpha) +
		     mulf_s(est->level + est->trend, 1024 - est->cfg.alpha);
		nl = clamp_s(nl, 0, FP_MAX);
		nt = mulf_s(nl - est->level, est->cfg.beta) +
		     mulf_s(est->trend, 1024 - est->cfg.beta);
		est->trend = clamp_s(nt, -FP_MAX, FP_MAX);
		est->level = nl;
	}
	for (i = 0; i < RC_EST_BUCKETS; i++) {
		est->weight[i] = mul_q32(est->weight[i], est->decay);
		if (!est->weight[i])
			est->top[i] = 0;
	}
	b = bucket_of(est, value);
	est->weight[b] += SAMPLE_W;
	if (value > est->top[b])
		est->top[b] = value;
	est->samples++;
	est->last_ns = now_ns;
	return 0;
}

uint64_t rc_est_level(const struct rc_est *est)
{
	return (uint64_t)est->level >> RC_EST_FRAC;
}

int64_t rc_est_trend(const struct rc_est *est)
{
	return est->trend < 0 ? -(-est->trend >> RC_EST_FRAC) : est->trend >> RC_EST_FRAC;
}

uint64_t rc_est_percentile(const struct rc_est *est)
{
	uint64_t total = 0, target, cum = 0;
	uint32_t i;

	/* Sum <= 2^32 * half_life / ln 2 < 2^57. */
	for (i = 0; i < RC_EST_BUCKETS; i++)
		total += est->weight[i];
	if (!total)
		return 0;
	target = rc_div_u64(total, 1000) * est->cfg.percentile +
		 rc_div_u64((total - rc_div_u64(total, 1000) * 1000) * est->cfg.percentile, 1000);
	if (!target)
		target = 1;
	for (i = 0; i < RC_EST_BUCKETS; i++) {
		cum += est->weight[i];
		if (cum >= target)
			return est->top[i];
	}
	return est->top[RC_EST_BUCKETS - 1];
}

/* level + horizon * trend, clamped to [0, RC_EST_VALUE_MAX]. */
static uint64_t projection(const struct rc_est *est)
{
	int64_t t = est->trend, h = est->cfg.horizon, p;
	int64_t lim = (int64_t)1 << 62;

	if (h && (t > lim / h || t < -lim / h))
		p = t > 0 ? FP_MAX : 0;
	else
		p = clamp_s(est->level + t * h, 0, FP_MAX);
	return (uint64_t)p >> RC_EST_FRAC;
}

uint64_t rc_est_forecast(const struct rc_est *est)
{
	uint64_t f, pc;

	if (!est->samples)
		return 0;
	f = projection(est);
	pc = rc_est_percentile(est);
	if (pc > f)
		f = pc;
	f += mul_permille(f, est->cfg.margin);
	return f > RC_EST_VALUE_MAX ? RC_EST_VALUE_MAX : f;
}

/* What max_rate allows since the last change (saturating at 2^62). */
static uint64_t budget(const struct rc_est *est, uint64_t now_ns)
{
	uint64_t rate = est->cfg.max_rate, us, s;

	if (!rate)
		return RC_U64_MAX;
	if (now_ns <= est->last_change_ns)
		return 0;
	us = rc_div_u64(now_ns - est->last_change_ns, 1000);
	s = rc_div_u64(us, 1000000);
	us -= s * 1000000;
	if (s >= rc_div_u64(1ull << 62, rate))
		return 1ull << 62;
	return s * rate + rc_div_u64(us * rate, 1000000); /* us < 2^20, rate <= 2^40 */
}

static uint64_t to_granule(const struct rc_est *est, uint64_t v)
{
	return rc_div_u64(v, est->cfg.granule) * est->cfg.granule;
}

int rc_est_decide(struct rc_est *est, uint64_t allocation, uint64_t now_ns, int64_t *delta)
{
	uint64_t alloc, fc, amount, room;

	*delta = 0;
	if (!est->samples)
		return 0;
	alloc = allocation > RC_EST_VALUE_MAX ? RC_EST_VALUE_MAX : allocation;
	fc = rc_est_forecast(est);
	room = budget(est, now_ns);

	if (fc > alloc) {
		/* Ask early: the forecast already includes the margin. */
		est->below = 0;
		amount = fc - alloc;
		if (amount < est->cfg.min_step)
			amount = est->cfg.min_step;
		amount = to_granule(est, amount + est->cfg.granule - 1);
		if (amount > room)
			amount = to_granule(est, room);
		if (!amount || amount < est->cfg.min_step)
			return 0; /* wait until the rate allows a worthwhile step */
		est->last_change_ns = now_ns;
		*delta = (int64_t)amount;
		return 0;
	}
	if (fc >= alloc - mul_permille(alloc, est->cfg.hysteresis)) {
		est->below = 0;
		return 0;
	}
	/* Release slowly: only after release_after decisions in a row, only a share. */
	if (est->below < est->cfg.release_after)
		est->below++;
	if (est->below < est->cfg.release_after)
		return 0;
	amount = to_granule(est, mul_permille(alloc - fc, est->cfg.release_share));
	if (amount > room)
		amount = to_granule(est, room);
	if (!amount || amount < est->cfg.min_step)
		return 0;
	est->below = 0;
	est->last_change_ns = now_ns;
	*delta = -(int64_t)amount;
	return 0;
}
