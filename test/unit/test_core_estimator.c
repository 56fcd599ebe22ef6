// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core estimator on synthetic series
 * sampled every 10 s: steady demand changes nothing, a rise is asked for
 * before demand crosses the allocation, a fall is given back only after the
 * hysteresis period and never faster than the rate, a lone spike leaves the
 * percentile alone while frequent spikes move it, and a ramp up to 2^48
 * neither overflows nor wraps.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "rc_estimator.h"

Suite *core_estimator_suite(void);

#define OK(x) ck_assert_int_eq((x), 0)
#define MiB   (1ull << 20)
#define GiB   (1ull << 30)
#define SEC   1000000000ull
#define STEP  (10 * SEC)

static struct rc_est est;

static void init_memory(uint32_t half_life)
{
	struct rc_est_config c;

	rc_est_config_memory(&c);
	if (half_life)
		c.half_life = half_life;
	OK(rc_est_init(&est, &c));
}

static int64_t step(uint64_t value, uint64_t now, uint64_t *alloc)
{
	int64_t d = 0;

	OK(rc_est_sample(&est, value, now));
	OK(rc_est_decide(&est, *alloc, now, &d));
	*alloc = (uint64_t)((int64_t)*alloc + d); /* the host grants everything */
	return d;
}

START_TEST(test_est_config_is_checked)
{
	struct rc_est_config good, c;

	rc_est_config_memory(&good);
	OK(rc_est_init(&est, &good));
	rc_est_config_vcpu(&c);
	OK(rc_est_init(&est, &c));
	ck_assert_int_eq(rc_est_init(NULL, &good), RC_EINVAL);
	ck_assert_int_eq(rc_est_init(&est, NULL), RC_EINVAL);
#define BAD(field, v)                                                               \
	do {                                                                        \
		c = good;                                                           \
		c.field = v;                                                        \
		ck_assert_msg(rc_est_init(&est, &c) == RC_EINVAL, #field " = " #v); \
	} while (0)
	BAD(alpha, 0);
	BAD(alpha, 1025);
	BAD(beta, 1025);
	BAD(horizon, RC_EST_MAX_HORIZON + 1);
	BAD(percentile, 0);
	BAD(percentile, 1001);
	BAD(margin, 1001);
	BAD(half_life, 0);
	BAD(half_life, RC_EST_MAX_HALF + 1);
	BAD(hist_min_shift, 33);
	BAD(hysteresis, 1000);
	BAD(release_after, 0);
	BAD(release_share, 0);
	BAD(release_share, 1001);
	BAD(min_step, RC_EST_VALUE_MAX + 1);
	BAD(granule, 0);
	BAD(granule, RC_EST_VALUE_MAX + 1);
	BAD(max_rate, RC_EST_MAX_RATE + 1);
#undef BAD
}
END_TEST

/* A sample's weight halves every half_life samples. */
START_TEST(test_est_histogram_decays_by_half_life)
{
	static const uint32_t lives[] = { 1, 4, 10, 100, 8640 };

	for (unsigned int i = 0; i < sizeof(lives) / sizeof(lives[0]); i++) {
		uint32_t h = lives[i];
		double w;

		init_memory(h);
		OK(rc_est_sample(&est, 100 * MiB, 0)); /* bucket of 100 MiB */
		for (uint32_t k = 0; k < h; k++)
			OK(rc_est_sample(&est, 3 * GiB, (k + 1) * STEP));
		for (uint32_t b = 0; b < RC_EST_BUCKETS; b++) {
			if (est.top[b] != 100 * MiB)
				continue;
			w = (double)est.weight[b] / (double)(1ull << 32);
			ck_assert_msg(w > 0.499 && w < 0.5001, "half-life %u: weight %f", h, w);
		}
	}
}
END_TEST

START_TEST(test_est_steady_demand_changes_nothing)
{
	uint64_t alloc = 1280 * MiB, now = 0, noise = 12345;

	init_memory(0);
	for (int i = 0; i < 2000; i++) {
		/* 1 GiB +- 0.5%, deterministic. */
		noise = noise * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t v = GiB - 5 * MiB + (noise >> 33) % (10 * MiB);

		ck_assert_msg(step(v, now, &alloc) == 0, "changed at sample %d", i);
		now += STEP;
	}
	ck_assert_uint_eq(alloc, 1280 * MiB);
	/* The forecast sits at the p90 plus the 15% margin. */
	ck_assert_uint_ge(rc_est_forecast(&est), 1150 * MiB);
	ck_assert_uint_le(rc_est_forecast(&est), 1190 * MiB);
	ck_assert_uint_ge(rc_est_percentile(&est), GiB);
	ck_assert_uint_le(rc_est_percentile(&est), GiB + 5 * MiB);
}
END_TEST

START_TEST(test_est_asks_before_demand_exceeds_allocation)
{
	uint64_t alloc = 1280 * MiB, now = 0, v = GiB;
	int first_ask = -1, crossing = -1;
	int64_t d;

	init_memory(0);
	for (int i = 0; i < 100; i++, now += STEP)
		ck_assert_int_eq(step(v, now, &alloc), 0);
	/* A ramp of 16 MiB per sample (1.6 MiB/s) up to 4 GiB. */
	for (int i = 100; v < 4 * GiB; i++, now += STEP) {
		v += 16 * MiB;
		if (crossing < 0 && v > 1280 * MiB)
			crossing = i;
		d = step(v, now, &alloc);
		ck_assert_int_ge(d, 0);
		if (d && first_ask < 0)
			first_ask = i;
		if (d) {
			ck_assert_int_ge(d, 128 * MiB); /* at least min_step */
			ck_assert_int_eq(d % (2 * MiB), 0);
		}
		/* Never behind the demand once asked. */
		if (first_ask >= 0)
			ck_assert_msg(alloc >= v, "sample %d: %llu < %llu", i,
				      (unsigned long long)alloc, (unsigned long long)v);
	}
	ck_assert_int_ge(first_ask, 100);
	ck_assert_msg(first_ask + 5 <= crossing, "asked at %d, demand crossed at %d", first_ask,
		      crossing);

	/* A plain step to just below the allocation is asked for at once. */
	init_memory(0);
	alloc = 1280 * MiB;
	now = 0;
	for (int i = 0; i < 50; i++, now += STEP)
		ck_assert_int_eq(step(GiB, now, &alloc), 0);
	d = step(1200 * MiB, now, &alloc);
	ck_assert_int_gt(d, 0);
	ck_assert_uint_ge(alloc, 1200 * MiB * 115 / 100);
}
END_TEST

START_TEST(test_est_releases_slowly_and_within_the_rate)
{
	struct rc_est_config c;
	uint64_t alloc = 4864 * MiB, now = 0, last_change = 0;
	int below_since = -1, releases = 0;

	rc_est_config_memory(&c);
	c.half_life = 20;
	c.max_rate = 1 * MiB; /* bytes per second: binding here */
	OK(rc_est_init(&est, &c));
	for (int i = 0; i < 200; i++, now += STEP)
		ck_assert_int_eq(step(4 * GiB, now, &alloc), 0);
	for (int i = 200; i < 3000; i++, now += STEP) {
		uint64_t before = alloc;
		int64_t d;

		OK(rc_est_sample(&est, GiB, now));
		uint64_t fc = rc_est_forecast(&est);
		bool below = fc < before - before / 10;

		if (below && below_since < 0)
			below_since = i;
		if (!below)
			below_since = -1;
		OK(rc_est_decide(&est, alloc, now, &d));
		ck_assert_int_le(d, 0);
		if (!d)
			continue;
		uint64_t rel = (uint64_t)-d;

		releases++;
		/* Only after release_after decisions in a row below the band... */
		ck_assert_int_ge(i - below_since + 1, (int)c.release_after);
		/* ... never faster than max_rate since the last change ... */
		ck_assert_uint_le(rel, c.max_rate * ((now - last_change) / SEC));
		/* ... only a share of the slack, and never below the forecast. */
		ck_assert_uint_le(rel, (before - fc) / 2);
		ck_assert_uint_ge(before - rel, fc);
		ck_assert_uint_eq(rel % c.granule, 0);
		alloc -= rel;
		last_change = now;
		below_since = -1; /* the next release waits again */
	}
	ck_assert_int_gt(releases, 3);
	/* Settled inside the band: forecast <= alloc < forecast / 0.9, give or take a step. */
	ck_assert_uint_ge(alloc, rc_est_forecast(&est));
	ck_assert_uint_le(alloc, rc_est_forecast(&est) * 10 / 9 + 2 * c.min_step);
}
END_TEST

START_TEST(test_est_percentile_ignores_rare_spikes)
{
	struct rc_est_config c;
	uint64_t now = 0, settled;

	rc_est_config_memory(&c);
	c.half_life = 100;
	OK(rc_est_init(&est, &c));
	for (int i = 0; i < 1000; i++, now += STEP)
		OK(rc_est_sample(&est, i % 50 == 49 ? 8 * GiB : GiB, now)); /* 2% spikes */
	ck_assert_uint_eq(rc_est_percentile(&est), GiB);

	/* After a lone spike the trend dies out and the forecast returns to p90 + 15%. */
	OK(rc_est_sample(&est, 8 * GiB, now));
	now += STEP;
	ck_assert_uint_gt(rc_est_forecast(&est), 2 * GiB);
	for (int i = 0; i < 150; i++, now += STEP)
		OK(rc_est_sample(&est, GiB, now));
	settled = rc_est_forecast(&est);
	ck_assert_uint_ge(settled, GiB * 115 / 100);
	ck_assert_uint_le(settled, GiB * 117 / 100);

	/* Spikes in 20% of the samples do move the p90. */
	for (int i = 0; i < 1000; i++, now += STEP)
		OK(rc_est_sample(&est, i % 5 == 4 ? 8 * GiB : GiB, now));
	ck_assert_uint_eq(rc_est_percentile(&est), 8 * GiB);
	ck_assert_uint_ge(rc_est_forecast(&est), 8 * GiB * 115 / 100);

	/* And p80 of that still does not. */
	c.percentile = 750;
	OK(rc_est_init(&est, &c));
	for (int i = 0; i < 1000; i++, now += STEP)
		OK(rc_est_sample(&est, i % 5 == 4 ? 8 * GiB : GiB, now));
	ck_assert_uint_eq(rc_est_percentile(&est), GiB);
}
END_TEST

START_TEST(test_est_ramp_to_the_limit_does_not_overflow)
{
	struct rc_est_config c;
	uint64_t now = 0, prev = 0;
	int64_t d;

	rc_est_config_memory(&c);
	c.horizon = RC_EST_MAX_HORIZON;
	c.margin = 1000;
	c.hist_min_shift = 32;
	OK(rc_est_init(&est, &c));
	for (uint64_t i = 1; i <= 1000; i++, now += STEP) {
		uint64_t v = i * (RC_EST_VALUE_MAX / 1000), fc;

		OK(rc_est_sample(&est, v, now));
		fc = rc_est_forecast(&est);
		ck_assert_uint_le(fc, RC_EST_VALUE_MAX);
		ck_assert_uint_ge(fc, prev); /* a rising ramp never lowers the forecast */
		ck_assert_uint_le(rc_est_level(&est), RC_EST_VALUE_MAX);
		if (i > 1)
			ck_assert_int_gt(rc_est_trend(&est), 0);
		if (i > 10)
			ck_assert_uint_ge(fc, v);
		OK(rc_est_decide(&est, v, now, &d));
		ck_assert_int_ge(d, 0);
		ck_assert_int_le(d, (int64_t)RC_EST_VALUE_MAX);
		prev = fc;
	}
	ck_assert_uint_eq(rc_est_forecast(&est), RC_EST_VALUE_MAX);
	/* Beyond the limit: clamped. */
	OK(rc_est_sample(&est, UINT64_MAX, now));
	ck_assert_uint_le(rc_est_level(&est), RC_EST_VALUE_MAX);
	ck_assert_uint_eq(est.top[RC_EST_BUCKETS - 1], RC_EST_VALUE_MAX);
	ck_assert_uint_le(rc_est_percentile(&est), RC_EST_VALUE_MAX);
	OK(rc_est_decide(&est, UINT64_MAX, now + STEP, &d));
	ck_assert_int_le(d, 0);
	/* And down again to zero: nothing negative. */
	for (int64_t i = 1000; i >= 0; i--) {
		now += STEP;
		OK(rc_est_sample(&est, (uint64_t)i * (RC_EST_VALUE_MAX / 1000), now));
		ck_assert_uint_le(rc_est_forecast(&est), RC_EST_VALUE_MAX);
		ck_assert_uint_le(rc_est_level(&est), RC_EST_VALUE_MAX);
		OK(rc_est_decide(&est, RC_EST_VALUE_MAX, now, &d));
		ck_assert_int_le(d, 0);
		ck_assert_int_ge(d, -(int64_t)RC_EST_VALUE_MAX);
	}
	/* The rate budget after a very long time saturates instead of wrapping. */
	c = est.cfg;
	c.max_rate = RC_EST_MAX_RATE;
	c.min_step = 0;
	c.granule = 1;
	OK(rc_est_init(&est, &c));
	OK(rc_est_sample(&est, RC_EST_VALUE_MAX, 0));
	OK(rc_est_decide(&est, 0, UINT64_MAX, &d));
	ck_assert_int_eq(d, (int64_t)RC_EST_VALUE_MAX); /* the forecast is clamped there */
	OK(rc_est_decide(&est, 0, UINT64_MAX, &d));
	ck_assert_int_eq(d, 0); /* no time since that change */
}
END_TEST

START_TEST(test_est_edges)
{
	struct rc_est_config c;
	uint64_t alloc = 2000;
	int64_t d = 5;

	init_memory(0);
	OK(rc_est_decide(&est, 0, 0, &d));
	ck_assert_int_eq(d, 0); /* no sample yet */
	ck_assert_uint_eq(rc_est_forecast(&est), 0);
	OK(rc_est_sample(&est, GiB, 100));
	ck_assert_int_eq(rc_est_sample(&est, GiB, 99), RC_EORDER);
	OK(rc_est_sample(&est, GiB, 100)); /* the same time is fine */

	/* vCPUs: whole vCPUs, one per second at most. */
	rc_est_config_vcpu(&c);
	OK(rc_est_init(&est, &c));
	OK(rc_est_sample(&est, 2500, 0));
	OK(rc_est_decide(&est, alloc, 0, &d));
	ck_assert_int_eq(d, 0); /* no time has passed: no budget */
	OK(rc_est_decide(&est, alloc, SEC / 2, &d));
	ck_assert_int_eq(d, 0); /* half a vCPU of budget is below min_step */
	OK(rc_est_decide(&est, alloc, 3 * SEC, &d));
	ck_assert_int_eq(d, 1000); /* forecast 2875: one more vCPU */
	alloc += 1000;
	OK(rc_est_decide(&est, alloc, 4 * SEC, &d));
	ck_assert_int_eq(d, 0); /* 3000 covers it */

	/* The same series gives the same answers. */
	uint64_t a[2];
	for (int run = 0; run < 2; run++) {
		init_memory(50);
		for (uint64_t i = 0; i < 500; i++)
			OK(rc_est_sample(&est, GiB + (i * i * 7919 % 997) * MiB, i * STEP));
		a[run] = rc_est_forecast(&est);
	}
	ck_assert_uint_eq(a[0], a[1]);
}
END_TEST

Suite *core_estimator_suite(void)
{
	Suite *s = suite_create("core estimator");
	TCase *tc = tcase_create("estimator");

	tcase_add_test(tc, test_est_config_is_checked);
	tcase_add_test(tc, test_est_histogram_decays_by_half_life);
	tcase_add_test(tc, test_est_steady_demand_changes_nothing);
	tcase_add_test(tc, test_est_asks_before_demand_exceeds_allocation);
	tcase_add_test(tc, test_est_releases_slowly_and_within_the_rate);
	tcase_add_test(tc, test_est_percentile_ignores_rare_spikes);
	tcase_add_test(tc, test_est_ramp_to_the_limit_does_not_overflow);
	tcase_add_test(tc, test_est_edges);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
