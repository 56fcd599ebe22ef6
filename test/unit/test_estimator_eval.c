// SPDX-License-Identifier: MIT
/*
 * The unit_estimator_eval runner: the offline estimator evaluation
 * (test/bench/estimator, docs/estimator-eval.md). Metric arithmetic on
 * hand-made traces, the lag rule, the baselines, VPA's histogram, the CSV
 * reader's refusals, the generator's shapes, and the plots' size.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "metrics.h"
#include "policy.h"
#include "report.h"
#include "svg.h"
#include "trace.h"
#include "vpa.h"

#define MiB (1ull << 20)

/* A trace from parallel arrays: times in whole seconds, values in the kind's unit. */
static void trace_of(struct trace *tr, enum ev_kind kind, const uint64_t *t_s,
		     const uint64_t *values, size_t n)
{
	struct acc_err err;
	size_t i;

	trace__init(tr, kind);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(trace__append(tr, t_s[i] * EV_NS_PER_S, values[i], &err), 0);
}

static int parse(const char *text, struct trace *tr, struct acc_err *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	ck_assert_ptr_nonnull(f);
	ret = trace__read(f, "t.csv", tr, err);
	fclose(f);
	return ret;
}

/* ---- metrics ---- */

static const uint64_t five_t[] = { 0, 10, 20, 30, 40 };
static const uint64_t five_d[] = { 100, 200, 300, 200, 100 };

START_TEST(test_metrics_slack_only_counts_allocation_above_demand)
{
	static const uint64_t flat[] = { 300, 300, 300, 300, 300 };
	struct trace tr;
	struct metrics m;

	trace_of(&tr, EV_KIND_CPU, five_t, five_d, 5);
	metrics__compute(&tr, flat, &m);
	/* used 900 * 10 s; slack (200 + 100 + 0 + 100 + 200) * 10 s. */
	ck_assert_double_eq_tol(m.used, 9000.0, 1e-9);
	ck_assert_double_eq_tol(m.slack, 6000.0, 1e-9);
	ck_assert_double_eq_tol(m.slack_pct, 66.6666666, 1e-5);
	ck_assert_uint_eq(m.shortfall_count, 0);
	ck_assert_uint_eq(m.shortfall_samples, 0);
	ck_assert_double_eq(m.shortfall_s, 0.0);
	ck_assert_uint_eq(m.changes, 0);
	ck_assert_uint_eq(m.peak_alloc, 300);
	ck_assert_double_eq_tol(m.mean_alloc, 300.0, 1e-9);
	ck_assert_double_eq_tol(m.duration_s, 50.0, 1e-9);
	trace__free(&tr);
}
END_TEST

START_TEST(test_metrics_shortfall_episode_and_slack_are_kept_apart)
{
	static const uint64_t alloc[] = { 150, 150, 250, 250, 250 };
	struct trace tr;
	struct metrics m;

	trace_of(&tr, EV_KIND_CPU, five_t, five_d, 5);
	metrics__compute(&tr, alloc, &m);
	/* Short at samples 1 (by 50) and 2 (by 50): one episode of 20 s. */
	ck_assert_uint_eq(m.shortfall_count, 1);
	ck_assert_uint_eq(m.shortfall_samples, 2);
	ck_assert_double_eq_tol(m.shortfall_s, 20.0, 1e-9);
	ck_assert_double_eq_tol(m.short_volume, 1000.0, 1e-9);
	ck_assert_double_eq_tol(m.shortfall_pct, 100.0 * 1000 / 9000, 1e-9);
	/* Slack 50 + 50 + 150, never offset by the shortfall. */
	ck_assert_double_eq_tol(m.slack, 2500.0, 1e-9);
	ck_assert_double_eq_tol(m.slack_pct, 100.0 * 2500 / 9000, 1e-9);
	ck_assert_uint_eq(m.changes, 1);
	ck_assert_uint_eq(m.peak_alloc, 250);
	ck_assert_double_eq_tol(m.mean_alloc, 210.0, 1e-9);
	trace__free(&tr);
}
END_TEST

START_TEST(test_metrics_counts_separate_episodes)
{
	static const uint64_t alloc[] = { 50, 250, 250, 250, 50 };
	struct trace tr;
	struct metrics m;

	trace_of(&tr, EV_KIND_CPU, five_t, five_d, 5);
	metrics__compute(&tr, alloc, &m);
	ck_assert_uint_eq(m.shortfall_count, 3);
	ck_assert_uint_eq(m.shortfall_samples, 3);
	ck_assert_double_eq_tol(m.shortfall_s, 30.0, 1e-9);
	ck_assert_uint_eq(m.changes, 2);
	trace__free(&tr);
}
END_TEST

START_TEST(test_metrics_weights_follow_irregular_intervals)
{
	static const uint64_t t[] = { 0, 1, 3, 6 }, d[] = { 10, 10, 10, 10 };
	static const uint64_t alloc[] = { 20, 5, 20, 5 };
	struct trace tr;
	struct metrics m;

	/* Weights: sample 0 as long as sample 1 (1 s), then 1, 2 and 3 s. */
	trace_of(&tr, EV_KIND_CPU, t, d, 4);
	ck_assert_double_eq_tol(metrics__weight_s(&tr, 0), 1.0, 1e-12);
	ck_assert_double_eq_tol(metrics__weight_s(&tr, 3), 3.0, 1e-12);
	metrics__compute(&tr, alloc, &m);
	ck_assert_double_eq_tol(m.used, 70.0, 1e-9);
	ck_assert_double_eq_tol(m.slack, 30.0, 1e-9);
	ck_assert_double_eq_tol(m.slack_pct, 300.0 / 7, 1e-9);
	ck_assert_uint_eq(m.shortfall_count, 2);
	ck_assert_double_eq_tol(m.shortfall_s, 4.0, 1e-9);
	ck_assert_uint_eq(m.changes, 3);
	ck_assert_double_eq_tol(m.mean_alloc, (20 + 5 + 40 + 15) / 7.0, 1e-9);
	trace__free(&tr);
}
END_TEST

START_TEST(test_metrics_no_demand_has_no_percentages)
{
	static const uint64_t t[] = { 0, 10 }, d[] = { 0, 0 }, alloc[] = { 1000, 1000 };
	static const uint64_t t1[] = { 5 }, d1[] = { 400 }, a1[] = { 1000 };
	struct trace tr;
	struct metrics m;

	trace_of(&tr, EV_KIND_CPU, t, d, 2);
	metrics__compute(&tr, alloc, &m);
	ck_assert(!m.pct_defined);
	ck_assert_double_eq_tol(m.slack, 20000.0, 1e-9);
	trace__free(&tr);

	/* A lone sample stands for one second. */
	trace_of(&tr, EV_KIND_CPU, t1, d1, 1);
	metrics__compute(&tr, a1, &m);
	ck_assert(m.pct_defined);
	ck_assert_double_eq_tol(m.duration_s, 1.0, 1e-12);
	ck_assert_double_eq_tol(m.slack_pct, 150.0, 1e-9);
	trace__free(&tr);
}
END_TEST

/* ---- policies ---- */

START_TEST(test_reactive_applies_each_sample_one_sample_late)
{
	static const uint64_t t[] = { 0, 10, 20, 30, 40 };
	static const uint64_t d[] = { 1500, 2500, 2500, 800, 0 };
	uint64_t alloc[5];
	struct acc_err err;
	struct trace tr;
	struct metrics m;

	trace_of(&tr, EV_KIND_CPU, t, d, 5);
	ck_assert_int_eq(policy__run(POLICY_REACTIVE, &tr, alloc, &err), 0);
	/* alloc[0] is the first sample rounded up; alloc[i + 1] follows sample i. */
	ck_assert_uint_eq(alloc[0], 2000);
	ck_assert_uint_eq(alloc[1], 2000);
	ck_assert_uint_eq(alloc[2], 3000);
	ck_assert_uint_eq(alloc[3], 3000);
	ck_assert_uint_eq(alloc[4], 1000);
	metrics__compute(&tr, alloc, &m);
	ck_assert_uint_eq(m.shortfall_count, 1); /* the rise, for the one sample of lag */
	ck_assert_uint_eq(m.shortfall_samples, 1);
	ck_assert_uint_eq(m.changes, 2);
	trace__free(&tr);
}
END_TEST

START_TEST(test_allocations_are_whole_granules_and_at_least_one)
{
	static const uint64_t t[] = { 0, 10, 20 };
	static const uint64_t d[] = { 1, 2 * MiB + 1, 0 };
	uint64_t alloc[3];
	struct acc_err err;
	struct trace tr;
	unsigned int id;
	size_t i;

	ck_assert_uint_eq(ev_round_up(EV_KIND_MEMORY, 0), 2 * MiB);
	ck_assert_uint_eq(ev_round_up(EV_KIND_MEMORY, 2 * MiB), 2 * MiB);
	ck_assert_uint_eq(ev_round_up(EV_KIND_CPU, 1001), 2000);
	ck_assert_uint_eq(ev_round_up(EV_KIND_CPU, 0), 1000);
	trace_of(&tr, EV_KIND_MEMORY, t, d, 3);
	for (id = 0; id < POLICY_COUNT; id++) {
		ck_assert_int_eq(policy__run((enum policy_id)id, &tr, alloc, &err), 0);
		for (i = 0; i < 3; i++) {
			ck_assert_uint_eq(alloc[i] % (2 * MiB), 0);
			ck_assert_uint_ge(alloc[i], 2 * MiB);
		}
	}
	ck_assert_int_eq(policy__run(POLICY_REACTIVE, &tr, alloc, &err), 0);
	ck_assert_uint_eq(alloc[0], 2 * MiB);
	ck_assert_uint_eq(alloc[2], 4 * MiB);
	trace__free(&tr);
}
END_TEST

START_TEST(test_static_peak_is_the_rounded_maximum_from_the_start)
{
	struct gen_params p;
	struct acc_err err;
	struct trace tr;
	uint64_t *alloc, peak;
	size_t i;

	gen__defaults(&p, GEN_BURSTY, EV_KIND_MEMORY, GEN_DEFAULT_PERIOD_NS);
	p.samples = 2000;
	ck_assert_int_eq(gen__trace(&p, &tr, &err), 0);
	alloc = calloc(tr.n, sizeof(*alloc));
	ck_assert_ptr_nonnull(alloc);
	ck_assert_int_eq(policy__run(POLICY_STATIC_PEAK, &tr, alloc, &err), 0);
	peak = trace__max(&tr);
	for (i = 0; i < tr.n; i++)
		ck_assert_uint_eq(alloc[i], ev_round_up(EV_KIND_MEMORY, peak));
	ck_assert_uint_ge(alloc[0], peak);
	ck_assert_uint_lt(alloc[0] - peak, 2 * MiB);
	free(alloc);
	trace__free(&tr);
}
END_TEST

START_TEST(test_estimator_tuning_matches_the_module)
{
	struct est_setup s;

	/* guest/core's defaults are per 10 s sample. */
	policy__estimator_setup(EV_KIND_MEMORY, 10000, &s);
	ck_assert_uint_eq(s.cfg.half_life, 8640);
	ck_assert_uint_eq(s.cfg.horizon, 1); /* a 10 s memory horizon */
	ck_assert_uint_eq(s.cfg.release_after, 30);
	ck_assert_uint_eq(s.cfg.granule, 2 * MiB);
	ck_assert_uint_eq(s.headroom, 32 * MiB);
	policy__estimator_setup(EV_KIND_CPU, 10000, &s);
	ck_assert_uint_eq(s.cfg.horizon, 12);
	ck_assert_uint_eq(s.cfg.granule, 1000);
	ck_assert_uint_eq(s.headroom, 0);
	/* The module's default 1 s: the same times in ten times the samples. */
	policy__estimator_setup(EV_KIND_MEMORY, 1000, &s);
	ck_assert_uint_eq(s.cfg.half_life, 86400);
	ck_assert_uint_eq(s.cfg.horizon, 10);
	ck_assert_uint_eq(s.cfg.release_after, 300);
	policy__estimator_setup(EV_KIND_CPU, 1000, &s);
	ck_assert_uint_eq(s.cfg.horizon, 120);
	/* Below 50 ms the module takes 50 ms; a lone sample gets the 10 s defaults. */
	policy__estimator_setup(EV_KIND_CPU, 20, &s);
	ck_assert_uint_eq(s.cfg.half_life, 1728000);
	ck_assert_uint_eq(s.cfg.horizon, 2400);
	ck_assert_uint_eq(s.cfg.release_after, 6000);
	policy__estimator_setup(EV_KIND_CPU, 0, &s);
	ck_assert_uint_eq(s.cfg.half_life, 8640);
	ck_assert_uint_eq(s.cfg.release_after, 30);
}
END_TEST

START_TEST(test_estimator_holds_steady_demand_and_follows_a_step)
{
	struct gen_params p;
	struct acc_err err;
	struct trace tr;
	struct metrics m;
	uint64_t *alloc;
	size_t i;

	gen__defaults(&p, GEN_STEP, EV_KIND_MEMORY, GEN_DEFAULT_PERIOD_NS);
	p.samples = 1000;
	ck_assert_int_eq(gen__trace(&p, &tr, &err), 0);
	alloc = calloc(tr.n, sizeof(*alloc));
	ck_assert_ptr_nonnull(alloc);
	ck_assert_int_eq(policy__run(POLICY_ESTIMATOR, &tr, alloc, &err), 0);
	metrics__compute(&tr, alloc, &m);
	/*
	 * The module's rules, to the byte: the first tick asks one estimator
	 * step (128 MiB) for the 32 MiB headroom; the jump from 512 MiB to
	 * 3 GiB makes it ask for used + twice the last growth + the headroom.
	 */
	ck_assert_uint_eq(alloc[0], 512 * MiB);
	ck_assert_uint_eq(alloc[1], 640 * MiB);
	ck_assert_uint_eq(alloc[501], (3072 + 2 * 2560 + 32) * MiB);
	/* Only the jump's own sample is short: the lag rule, no more. */
	ck_assert_uint_eq(m.shortfall_samples, 1);
	ck_assert_uint_le(alloc[500], tr.value[500]);
	/* Before the step: the headroom asked for once, then nothing moves. */
	for (i = 2; i < 500; i++)
		ck_assert_uint_eq(alloc[i], alloc[1]);
	ck_assert_uint_ge(alloc[1], tr.value[0] + 32 * MiB);
	/* After it: never below demand, and never more than the module's rules allow. */
	for (i = 501; i < tr.n; i++)
		ck_assert_uint_ge(alloc[i], tr.value[i]);
	free(alloc);
	trace__free(&tr);
}
END_TEST

/* ---- VPA ---- */

START_TEST(test_vpa_buckets_are_five_percent_exponential)
{
	struct vpa v;
	unsigned int b;
	double start, next;

	vpa__init(&v, EV_KIND_MEMORY);
	ck_assert_uint_eq(v.hist.buckets, 176);
	ck_assert_uint_eq(vpa_histogram__bucket(&v.hist, 0), 0);
	ck_assert_uint_eq(vpa_histogram__bucket(&v.hist, 9.99e6), 0);
	ck_assert_uint_eq(vpa_histogram__bucket(&v.hist, 1e7), 1);
	for (b = 2; b < 170; b += 7) {
		start = vpa_histogram__bucket_start(&v.hist, b);
		next = vpa_histogram__bucket_start(&v.hist, b + 1);
		ck_assert_double_eq_tol(
			(next - start) / (start - vpa_histogram__bucket_start(&v.hist, b - 1)),
			1.05, 1e-9);
		ck_assert_uint_eq(vpa_histogram__bucket(&v.hist, start * 1.000001), b);
		ck_assert_uint_eq(vpa_histogram__bucket(&v.hist, next * 0.999999), b);
	}
	ck_assert_uint_eq(vpa_histogram__bucket(&v.hist, 1e15), 175);
}
END_TEST

START_TEST(test_vpa_percentile_of_a_known_distribution)
{
	struct vpa_histogram h;
	double p, lo, hi;
	unsigned int k;

	vpa_histogram__init(&h, 1e12, 1e7, 1.05, VPA_HALF_LIFE_S);
	ck_assert_double_eq(vpa_histogram__percentile(&h, 0.9), 0.0);
	/* 1e8, 2e8 .. 1e9, equal weights: p90 is the end of 9e8's bucket. */
	for (k = 1; k <= 10; k++)
		vpa_histogram__add(&h, k * 1e8, 1.0, 0.0);
	p = vpa_histogram__percentile(&h, 0.9);
	lo = vpa_histogram__bucket_start(&h, vpa_histogram__bucket(&h, 9e8));
	hi = vpa_histogram__bucket_start(&h, vpa_histogram__bucket(&h, 9e8) + 1);
	ck_assert_double_eq_tol(p, hi, 1e-3);
	ck_assert(p > 9e8 && p < 9e8 * 1.06);
	ck_assert(lo <= 9e8);
	p = vpa_histogram__percentile(&h, 0.5);
	ck_assert(p > 5e8 && p < 5e8 * 1.06);
	p = vpa_histogram__percentile(&h, 1.0);
	ck_assert(p > 1e9 && p < 1e9 * 1.06);
}
END_TEST

START_TEST(test_vpa_histogram_halves_a_sample_per_half_life)
{
	struct vpa_histogram h;
	double a_end, b_end;

	vpa_histogram__init(&h, 1e12, 1e7, 1.05, VPA_HALF_LIFE_S);
	vpa_histogram__add(&h, 1e8, 1.0, 0.0);
	vpa_histogram__add(&h, 1e9, 1.0, VPA_HALF_LIFE_S);
	/* The newer sample weighs 2, the older 1: the older is the lowest third. */
	a_end = vpa_histogram__bucket_start(&h, vpa_histogram__bucket(&h, 1e8) + 1);
	b_end = vpa_histogram__bucket_start(&h, vpa_histogram__bucket(&h, 1e9) + 1);
	ck_assert_double_eq_tol(vpa_histogram__percentile(&h, 0.33), a_end, 1e-3);
	ck_assert_double_eq_tol(vpa_histogram__percentile(&h, 0.34), b_end, 1e-3);
	/* Renormalising after 100 half-lives keeps the proportions. */
	vpa_histogram__add(&h, 1e9, 1.0, 101 * VPA_HALF_LIFE_S);
	ck_assert_double_eq_tol(vpa_histogram__percentile(&h, 0.99), b_end, 1e-3);
	ck_assert(isfinite(h.total) && h.total < 1e6);
}
END_TEST

START_TEST(test_vpa_memory_keeps_one_peak_per_day)
{
	struct vpa v;
	double total;

	vpa__init(&v, EV_KIND_MEMORY);
	vpa__sample(&v, 0, 1000 * MiB, 1024 * MiB);
	total = v.hist.total;
	vpa__sample(&v, 10, 2000 * MiB, 1024 * MiB);
	vpa__sample(&v, 20, 1500 * MiB, 1024 * MiB);
	/* Still one sample's weight, now in the 2000 MiB bucket. */
	ck_assert_double_eq_tol(v.hist.total, total, 1e-9);
	ck_assert_uint_eq(v.hist.min_bucket, vpa_histogram__bucket(&v.hist, 2000.0 * MiB));
	ck_assert_uint_eq(v.hist.max_bucket, v.hist.min_bucket);
	/* The next day starts a second peak. */
	vpa__sample(&v, 86400, 500 * MiB, 1024 * MiB);
	ck_assert(v.hist.total > total * 1.5);
}
END_TEST

START_TEST(test_vpa_updater_rules)
{
	struct vpa_recommendation r;
	struct vpa v;
	double t;

	/* Two hours of 2 vCPUs: target p90 + 15%, just above 2.3 vCPUs. */
	vpa__init(&v, EV_KIND_CPU);
	for (t = 0; t <= 7200; t += 10)
		vpa__sample(&v, t, 2000, 3000);
	vpa__recommend(&v, &r);
	ck_assert(r.target >= 2300 && r.target < 2300 * 1.06);
	ck_assert(r.lower < r.target && r.upper > r.target);
	/* Young pod, request within [lower, upper]: no change even though 3000 > target. */
	ck_assert(r.lower <= 3000 && 3000 <= r.upper);
	ck_assert_uint_eq(vpa__decide(&v, 7200, 3000), 3000);
	/* Below the lower bound: the target, rounded up to whole vCPUs. */
	ck_assert_uint_eq(vpa__decide(&v, 7200, 1000), 3000);
	/* 12 h old and 10% away from the target: updated. */
	for (; t <= 13 * 3600; t += 10)
		vpa__sample(&v, t, 2000, 3000);
	ck_assert_uint_eq(vpa__decide(&v, 13 * 3600, 4000), 3000);
	/* The minimum: 25 milli-cores, i.e. one vCPU here. */
	vpa__init(&v, EV_KIND_CPU);
	vpa__sample(&v, 0, 0, 1000);
	vpa__recommend(&v, &r);
	ck_assert_double_eq(r.target, VPA_MIN_CPU_MILLI);
}
END_TEST

/* ---- CSV ---- */

START_TEST(test_csv_accepts_comments_crlf_and_decimals)
{
	struct acc_err err;
	struct trace tr;

	ck_assert_int_eq(parse("# made by hand\r\nt_s,cpu_milli\r\n0,100\r\n0.5,200\r\n"
			       "# mid-file comment\n1.000000001,300",
			       &tr, &err),
			 0);
	ck_assert_int_eq(tr.kind, EV_KIND_CPU);
	ck_assert_uint_eq(tr.n, 3);
	ck_assert_uint_eq(tr.t_ns[1], 500000000);
	ck_assert_uint_eq(tr.t_ns[2], 1000000001);
	ck_assert_uint_eq(tr.value[2], 300);
	trace__free(&tr);
	ck_assert_int_eq(parse("t_s,memory_bytes\n7,281474976710656\n", &tr, &err), 0);
	ck_assert_int_eq(tr.kind, EV_KIND_MEMORY);
	ck_assert_uint_eq(tr.value[0], 1ull << 48);
	trace__free(&tr);
}
END_TEST

START_TEST(test_csv_refuses_bad_input_naming_the_line)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "t.csv: no header line" },
		{ "# only a comment\n", "t.csv: no header line" },
		{ "t_s,memory_bytes\n", "t.csv: no samples" },
		{ "t_s,disk_bytes\n0,1\n", "t.csv:1: expected the header" },
		{ "time,memory_bytes\n0,1\n", "t.csv:1: expected the header" },
		{ "t_s,cpu_milli\n0,1\n10,2\n10,3\n", "t.csv:4: time 10 s is not after" },
		{ "t_s,cpu_milli\n0,1\n10,2\n5,3\n", "t.csv:4: time 5 s is not after" },
		{ "t_s,cpu_milli\n0,abc\n", "t.csv:2: value is not a whole number" },
		{ "t_s,cpu_milli\n0,1.5\n", "t.csv:2: value is not a whole number" },
		{ "t_s,cpu_milli\n0, 1\n", "t.csv:2: value is not a whole number" },
		{ "t_s,cpu_milli\n0,\n", "t.csv:2: value is not a whole number" },
		{ "t_s,cpu_milli\n0,-1\n", "t.csv:2: negative value" },
		{ "t_s,cpu_milli\n-1,1\n", "t.csv:2: negative time" },
		{ "t_s,cpu_milli\nx,1\n", "t.csv:2: time is not a number" },
		{ "t_s,cpu_milli\n1.,1\n", "t.csv:2: time is not a number" },
		{ "t_s,cpu_milli\n1.0000000001,1\n", "t.csv:2: time is not a number" },
		{ "t_s,cpu_milli\n1\n", "t.csv:2: expected SECONDS,VALUE" },
		{ "t_s,cpu_milli\n1,2,3\n", "t.csv:2: more than two fields" },
		{ "t_s,cpu_milli\n0,1\n\n10,2\n", "t.csv:3: empty line" },
		{ "t_s,cpu_milli\n0,281474976710657\n", "t.csv:2: value out of range" },
		{ "t_s,cpu_milli\n0,99999999999999999999999\n", "t.csv:2: value out of range" },
		{ "t_s,cpu_milli\n99999999999999999999,1\n", "t.csv:2: time out of range" },
		{ "t_s,cpu_milli\n4611686019,1\n", "t.csv:2: time out of range" },
	};
	struct acc_err err;
	struct trace tr;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		ck_assert_msg(parse(bad[i].text, &tr, &err) < 0, "accepted: %s", bad[i].text);
		ck_assert_msg(!strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)),
			      "'%s' for '%s', expected '%s'", err.msg, bad[i].text, bad[i].msg);
		ck_assert_ptr_null(strchr(err.msg, '\n'));
		ck_assert_ptr_null(tr.t_ns);
	}
}
END_TEST

START_TEST(test_csv_refuses_overlong_lines_and_nul_bytes)
{
	char text[512];
	struct acc_err err;
	struct trace tr;
	FILE *f;
	size_t n;

	/* A line of EV_LINE_MAX characters is fine; one more is not. */
	n = (size_t)snprintf(text, sizeof(text), "t_s,cpu_milli\n0,1\n%0*d,1\n", EV_LINE_MAX - 2,
			     5);
	ck_assert_uint_lt(n, sizeof(text));
	ck_assert_int_eq(parse(text, &tr, &err), 0);
	ck_assert_uint_eq(tr.t_ns[1], 5 * EV_NS_PER_S);
	trace__free(&tr);
	snprintf(text, sizeof(text), "t_s,cpu_milli\n0,1\n%0*d,1\n", EV_LINE_MAX - 1, 5);
	ck_assert_int_lt(parse(text, &tr, &err), 0);
	ck_assert_str_eq(err.msg, "t.csv:3: line longer than 128 characters");

	f = fmemopen((void *)"t_s,cpu_milli\n0,1\0\n", 19, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_lt(trace__read(f, "t.csv", &tr, &err), 0);
	fclose(f);
	ck_assert_str_eq(err.msg, "t.csv:2: NUL byte");
}
END_TEST

START_TEST(test_trace_write_then_read_is_identity)
{
	struct gen_params p;
	struct acc_err err;
	struct trace a, b;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	gen__defaults(&p, GEN_NOISE, EV_KIND_CPU, 2500 * EV_NS_PER_MS);
	p.samples = 500;
	ck_assert_int_eq(gen__trace(&p, &a, &err), 0);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(trace__write(f, &a, "comment"), 0);
	fclose(f);
	ck_assert_int_eq(parse(buf, &b, &err), 0);
	ck_assert_int_eq(b.kind, a.kind);
	ck_assert_uint_eq(b.n, a.n);
	ck_assert_mem_eq(b.t_ns, a.t_ns, a.n * sizeof(uint64_t));
	ck_assert_mem_eq(b.value, a.value, a.n * sizeof(uint64_t));
	ck_assert_uint_eq(trace__period_ms(&b), 2500);
	free(buf);
	trace__free(&a);
	trace__free(&b);
}
END_TEST

/* ---- generator ---- */

static void gen_of(struct trace *tr, enum gen_shape shape, enum ev_kind kind, uint64_t seed)
{
	struct gen_params p;
	struct acc_err err;

	gen__defaults(&p, shape, kind, GEN_DEFAULT_PERIOD_NS);
	p.seed = seed;
	ck_assert_int_eq(gen__trace(&p, tr, &err), 0);
}

START_TEST(test_gen_is_deterministic_for_a_seed)
{
	unsigned int shape;
	struct trace a, b, c;

	for (shape = 0; shape < GEN_SHAPES; shape++) {
		gen_of(&a, (enum gen_shape)shape, EV_KIND_MEMORY, 42);
		gen_of(&b, (enum gen_shape)shape, EV_KIND_MEMORY, 42);
		gen_of(&c, (enum gen_shape)shape, EV_KIND_MEMORY, 43);
		ck_assert_uint_eq(a.n, b.n);
		ck_assert_mem_eq(a.value, b.value, a.n * sizeof(uint64_t));
		ck_assert_mem_eq(a.t_ns, b.t_ns, a.n * sizeof(uint64_t));
		if (shape == GEN_DIURNAL || shape == GEN_BURSTY || shape == GEN_NOISE)
			ck_assert(memcmp(a.value, c.value, a.n * sizeof(uint64_t)));
		else
			ck_assert_mem_eq(a.value, c.value, a.n * sizeof(uint64_t));
		trace__free(&a);
		trace__free(&b);
		trace__free(&c);
	}
	/* The first draws of seed 1 are pinned, so a change of PRNG or formula shows. */
	gen_of(&a, GEN_NOISE, EV_KIND_CPU, 1);
	ck_assert_uint_eq(a.n, 8640);
	ck_assert_uint_eq(a.t_ns[8639], 86390 * EV_NS_PER_S);
	ck_assert_uint_eq(a.value[0], 1983);
	ck_assert_uint_eq(a.value[1], 1593);
	trace__free(&a);
}
END_TEST

START_TEST(test_gen_shapes_stay_between_base_and_peak)
{
	unsigned int shape, kind;
	struct gen_params p;
	struct trace tr;
	size_t i;

	for (shape = 0; shape < GEN_SHAPES; shape++) {
		for (kind = EV_KIND_MEMORY; kind <= EV_KIND_CPU; kind++) {
			gen__defaults(&p, (enum gen_shape)shape, (enum ev_kind)kind,
				      GEN_DEFAULT_PERIOD_NS);
			gen_of(&tr, (enum gen_shape)shape, (enum ev_kind)kind, 7);
			ck_assert_uint_eq(tr.n, shape == GEN_DIURNAL ? 17280 : 8640);
			for (i = 0; i < tr.n; i++) {
				ck_assert_uint_ge(tr.value[i], p.base);
				ck_assert_uint_le(tr.value[i], p.peak);
				if (kind == EV_KIND_MEMORY)
					ck_assert_uint_eq(tr.value[i] % GEN_PAGE, 0);
			}
			trace__free(&tr);
		}
	}
}
END_TEST

START_TEST(test_gen_ramp_never_falls_and_step_jumps_once)
{
	struct trace tr;
	size_t i, jumps = 0;

	gen_of(&tr, GEN_RAMP, EV_KIND_MEMORY, 1);
	ck_assert_uint_eq(tr.value[0], 512 * MiB);
	ck_assert_uint_eq(tr.value[tr.n - 1], 3072 * MiB);
	for (i = 1; i < tr.n; i++)
		ck_assert_uint_ge(tr.value[i], tr.value[i - 1]);
	trace__free(&tr);

	gen_of(&tr, GEN_STEP, EV_KIND_CPU, 1);
	for (i = 1; i < tr.n; i++) {
		if (tr.value[i] != tr.value[i - 1]) {
			jumps++;
			ck_assert_uint_eq(i, tr.n / 2);
			ck_assert_uint_eq(tr.value[i - 1], 500);
			ck_assert_uint_eq(tr.value[i], 3500);
		}
	}
	ck_assert_uint_eq(jumps, 1);
	trace__free(&tr);
}
END_TEST

/* The mean of samples in [from_h, to_h) hours. */
static double mean_between(const struct trace *tr, double from_h, double to_h)
{
	double sum = 0;
	size_t i, n = 0;

	for (i = 0; i < tr->n; i++) {
		double h = (double)tr->t_ns[i] / 3600e9;

		if (h >= from_h && h < to_h) {
			sum += (double)tr->value[i];
			n++;
		}
	}
	ck_assert_uint_gt(n, 0);
	return sum / (double)n;
}

START_TEST(test_gen_diurnal_peaks_at_noon_and_repeats_daily)
{
	const double base = 500, span = 3000;
	struct trace tr;
	double diff = 0;
	size_t i, day = 8640;

	gen_of(&tr, GEN_DIURNAL, EV_KIND_CPU, 5);
	ck_assert_uint_eq(tr.n, 2 * day);
	ck_assert(mean_between(&tr, 11.5, 12.5) > base + 0.9 * span);
	ck_assert(mean_between(&tr, 35.5, 36.5) > base + 0.9 * span);
	ck_assert(mean_between(&tr, 0, 0.5) < base + 0.1 * span);
	ck_assert(mean_between(&tr, 23.5, 24.5) < base + 0.1 * span);
	ck_assert(mean_between(&tr, 5.5, 6.5) > base + 0.35 * span);
	ck_assert(mean_between(&tr, 5.5, 6.5) < base + 0.65 * span);
	for (i = 0; i < day; i++)
		diff += fabs((double)tr.value[i + day] - (double)tr.value[i]);
	ck_assert(diff / (double)day < 0.1 * span);
	trace__free(&tr);
}
END_TEST

START_TEST(test_gen_bursty_is_mostly_quiet_with_many_bursts)
{
	const double base = 500, span = 3000;
	size_t i, quiet = 0, bursts = 0;
	struct trace tr;
	bool in = false;

	gen_of(&tr, GEN_BURSTY, EV_KIND_CPU, 9);
	for (i = 0; i < tr.n; i++) {
		double v = (double)tr.value[i];

		if (v <= base + 0.05 * span + 1)
			quiet++;
		if (v >= base + 0.5 * span && !in)
			bursts++;
		in = v >= base + 0.5 * span;
	}
	/* One per 35 min on average (30 quiet, 5.5 of burst): about 40 a day. */
	ck_assert_uint_ge(bursts, 20);
	ck_assert_uint_le(bursts, 70);
	ck_assert_uint_ge(quiet, tr.n * 6 / 10);
	trace__free(&tr);
}
END_TEST

START_TEST(test_gen_noise_centres_on_the_middle)
{
	struct trace tr;
	double mean;

	gen_of(&tr, GEN_NOISE, EV_KIND_MEMORY, 11);
	mean = mean_between(&tr, 0, 24);
	ck_assert(fabs(mean - 1792.0 * MiB) < 0.05 * 2560 * MiB);
	trace__free(&tr);
}
END_TEST

START_TEST(test_gen_refuses_bad_parameters)
{
	struct gen_params p;
	struct acc_err err;
	struct trace tr;

	gen__defaults(&p, GEN_RAMP, EV_KIND_CPU, GEN_DEFAULT_PERIOD_NS);
	p.base = 5000;
	p.peak = 100;
	ck_assert_int_lt(gen__trace(&p, &tr, &err), 0);
	gen__defaults(&p, GEN_RAMP, EV_KIND_CPU, GEN_DEFAULT_PERIOD_NS);
	p.samples = 0;
	ck_assert_int_lt(gen__trace(&p, &tr, &err), 0);
	p.samples = EV_SAMPLES_MAX + 1ull;
	ck_assert_int_lt(gen__trace(&p, &tr, &err), 0);
	p.samples = 10;
	p.period_ns = 0;
	ck_assert_int_lt(gen__trace(&p, &tr, &err), 0);
	p.period_ns = EV_TIME_MAX_NS;
	ck_assert_int_lt(gen__trace(&p, &tr, &err), 0);
	p.period_ns = EV_NS_PER_S;
	p.peak = EV_VALUE_MAX + 1;
	ck_assert_int_lt(gen__trace(&p, &tr, &err), 0);
}
END_TEST

/* ---- plots and reports ---- */

START_TEST(test_svg_keeps_peaks_and_bounds_points)
{
	static const uint64_t v[] = { 5, 9, 1, 7, 3 };
	size_t keep[4], n, len = 0, points = 0;
	bool all[POLICY_COUNT] = { true, true, true, true };
	struct gen_params p;
	struct replay rep;
	struct acc_err err;
	struct trace tr;
	char *buf = NULL, *c;
	FILE *f;

	n = svg__keep(v, 0, 5, keep);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(keep[0], 0);
	ck_assert_uint_eq(keep[1], 1); /* the peak, in time order */
	ck_assert_uint_eq(keep[2], 2); /* the trough */
	ck_assert_uint_eq(keep[3], 4);
	ck_assert_uint_eq(svg__keep(v, 3, 4, keep), 1);

	/* 200 000 samples: every path stays within about 2000 points. */
	gen__defaults(&p, GEN_NOISE, EV_KIND_MEMORY, EV_NS_PER_S);
	p.samples = 200000;
	ck_assert_int_eq(gen__trace(&p, &tr, &err), 0);
	ck_assert_int_eq(replay__run(&rep, "noise & <co>", &tr, &p, all, &err), 0);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(report__svg(f, &rep, &tr), 0);
	fclose(f);
	ck_assert_ptr_nonnull(
		strstr(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\""));
	ck_assert_ptr_nonnull(strstr(buf, "noise &amp; &lt;co&gt;"));
	ck_assert_ptr_nonnull(strstr(buf, "memory (MiB)"));
	ck_assert_ptr_nonnull(strstr(buf, "time (hours)"));
	ck_assert_ptr_nonnull(strstr(buf, "</svg>\n"));
	for (c = strstr(buf, "<path"); c; c = strstr(c + 1, "<path")) {
		char *end = strstr(c, "/>");

		points = 0;
		for (; c < end; c++)
			points += *c == 'L' || *c == 'H';
		ck_assert_uint_le(points, 2 * SVG_COLUMNS * 2);
	}
	free(buf);
	replay__drop_series(&rep);
	trace__free(&tr);
}
END_TEST

START_TEST(test_json_reports_every_policy)
{
	static const uint64_t t[] = { 0, 10 }, d[] = { 0, 0 };
	bool all[POLICY_COUNT] = { true, true, true, true };
	struct replay rep;
	struct acc_err err;
	struct trace tr;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	trace_of(&tr, EV_KIND_CPU, t, d, 2);
	ck_assert_int_eq(replay__run(&rep, "q\"uote", &tr, NULL, all, &err), 0);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(report__json(f, &rep, 1, true), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"format\": 1"));
	ck_assert_ptr_nonnull(strstr(buf, "\"smoke\": true"));
	ck_assert_ptr_nonnull(strstr(buf, "\"name\": \"q\\\"uote\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"estimator\": {\"slack_pct\": null"));
	ck_assert_ptr_nonnull(strstr(buf, "\"static-peak\": {"));
	ck_assert_ptr_nonnull(strstr(buf, "\"reactive\": {"));
	ck_assert_ptr_nonnull(strstr(buf, "\"vpa\": {"));
	ck_assert_ptr_nonnull(strstr(buf, "\"generator\": null"));
	free(buf);
	replay__drop_series(&rep);
	trace__free(&tr);
}
END_TEST

static Suite *estimator_eval_suite(void)
{
	Suite *s = suite_create("estimator_eval");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, test_metrics_slack_only_counts_allocation_above_demand);
	tcase_add_test(tc, test_metrics_shortfall_episode_and_slack_are_kept_apart);
	tcase_add_test(tc, test_metrics_counts_separate_episodes);
	tcase_add_test(tc, test_metrics_weights_follow_irregular_intervals);
	tcase_add_test(tc, test_metrics_no_demand_has_no_percentages);
	suite_add_tcase(s, tc);

	tc = tcase_create("policies");
	tcase_add_test(tc, test_reactive_applies_each_sample_one_sample_late);
	tcase_add_test(tc, test_allocations_are_whole_granules_and_at_least_one);
	tcase_add_test(tc, test_static_peak_is_the_rounded_maximum_from_the_start);
	tcase_add_test(tc, test_estimator_tuning_matches_the_module);
	tcase_add_test(tc, test_estimator_holds_steady_demand_and_follows_a_step);
	suite_add_tcase(s, tc);

	tc = tcase_create("vpa");
	tcase_add_test(tc, test_vpa_buckets_are_five_percent_exponential);
	tcase_add_test(tc, test_vpa_percentile_of_a_known_distribution);
	tcase_add_test(tc, test_vpa_histogram_halves_a_sample_per_half_life);
	tcase_add_test(tc, test_vpa_memory_keeps_one_peak_per_day);
	tcase_add_test(tc, test_vpa_updater_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("csv");
	tcase_add_test(tc, test_csv_accepts_comments_crlf_and_decimals);
	tcase_add_test(tc, test_csv_refuses_bad_input_naming_the_line);
	tcase_add_test(tc, test_csv_refuses_overlong_lines_and_nul_bytes);
	tcase_add_test(tc, test_trace_write_then_read_is_identity);
	suite_add_tcase(s, tc);

	tc = tcase_create("gen");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gen_is_deterministic_for_a_seed);
	tcase_add_test(tc, test_gen_shapes_stay_between_base_and_peak);
	tcase_add_test(tc, test_gen_ramp_never_falls_and_step_jumps_once);
	tcase_add_test(tc, test_gen_diurnal_peaks_at_noon_and_repeats_daily);
	tcase_add_test(tc, test_gen_bursty_is_mostly_quiet_with_many_bursts);
	tcase_add_test(tc, test_gen_noise_centres_on_the_middle);
	tcase_add_test(tc, test_gen_refuses_bad_parameters);
	suite_add_tcase(s, tc);

	tc = tcase_create("report");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_svg_keeps_peaks_and_bounds_points);
	tcase_add_test(tc, test_json_reports_every_policy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(estimator_eval_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
