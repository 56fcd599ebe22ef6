// SPDX-License-Identifier: MIT
/* The trace generator (gen.h; formulas in docs/estimator-eval.md). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "gen.h"

static const char *const gen_shape_names[GEN_SHAPES] = {
	[GEN_DIURNAL] = "diurnal", [GEN_BURSTY] = "bursty", [GEN_RAMP] = "ramp",
	[GEN_STEP] = "step",	   [GEN_NOISE] = "noise",
};

const char *gen__shape_name(enum gen_shape shape)
{
	return shape < GEN_SHAPES ? gen_shape_names[shape] : "?";
}

int gen__shape_parse(const char *s, enum gen_shape *shape)
{
	unsigned int i;

	for (i = 0; i < GEN_SHAPES; i++) {
		if (!strcmp(s, gen_shape_names[i])) {
			*shape = (enum gen_shape)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* splitmix64: tiny, fast, and the same sequence everywhere for a seed. */
struct gen_rng {
	uint64_t state;
};

static uint64_t rng__next(struct gen_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng__uniform(struct gen_rng *r)
{
	return (double)(rng__next(r) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box-Muller, one of the pair; 1 - u keeps log() away from 0). */
static double rng__gauss(struct gen_rng *r)
{
	double u1 = 1.0 - rng__uniform(r), u2 = rng__uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void gen__defaults(struct gen_params *p, enum gen_shape shape, enum ev_kind kind,
		   uint64_t period_ns)
{
	uint64_t hours = shape == GEN_DIURNAL ? 48 : 24;

	memset(p, 0, sizeof(*p));
	p->shape = shape;
	p->kind = kind;
	p->period_ns = period_ns;
	p->samples = period_ns ? hours * 3600 * EV_NS_PER_S / period_ns : 0;
	if (p->samples > EV_SAMPLES_MAX)
		p->samples = EV_SAMPLES_MAX;
	p->seed = 1;
	if (kind == EV_KIND_MEMORY) {
		p->base = 512 * EV_MIB;
		p->peak = 3072 * EV_MIB;
	} else {
		p->base = 500;
		p->peak = 3500;
	}
}

/* The state a shape carries from one sample to the next. */
struct gen_state {
	struct gen_rng rng;
	uint64_t burst_left; /* samples of the current burst still to come */
	double burst_height; /* of the current burst, as a share of the span */
	double ar;	     /* the AR(1) noise of diurnal and noise */
};

/* Stationary AR(1) noise with unit variance: x = phi x + sqrt(1 - phi^2) g, x_0 = g. */
static void gen__ar1(struct gen_state *s, uint64_t i)
{
	double g = rng__gauss(&s->rng);

	s->ar = i ? GEN_AR_PHI * s->ar + sqrt(1.0 - GEN_AR_PHI * GEN_AR_PHI) * g : g;
}

/* Sample @i at @t_s as a share of the span (0: base, 1: peak), before clamping. */
static double gen__share(const struct gen_params *p, struct gen_state *s, uint64_t i, double t_s)
{
	double period_s = (double)p->period_ns / (double)EV_NS_PER_S;

	switch (p->shape) {
	case GEN_DIURNAL:
		/* Demand drifts around the daily curve rather than jumping every sample. */
		gen__ar1(s, i);
		return (1.0 - cos(2.0 * M_PI * t_s / GEN_DAY_S)) / 2.0 + 0.03 * s->ar;
	case GEN_BURSTY:
		if (!s->burst_left && rng__uniform(&s->rng) < period_s / GEN_BURST_MEAN_GAP_S) {
			double len_s = GEN_BURST_MIN_S +
				       (GEN_BURST_MAX_S - GEN_BURST_MIN_S) * rng__uniform(&s->rng);

			s->burst_left = (uint64_t)ceil(len_s / period_s);
			s->burst_height = 0.5 + 0.5 * rng__uniform(&s->rng);
		}
		if (s->burst_left) {
			s->burst_left--;
			return s->burst_height;
		}
		return 0.05 * rng__uniform(&s->rng);
	case GEN_RAMP:
		return p->samples > 1 ? (double)i / (double)(p->samples - 1) : 0.0;
	case GEN_STEP:
		return i < p->samples / 2 ? 0.0 : 1.0;
	case GEN_NOISE:
		gen__ar1(s, i);
		return 0.5 + s->ar / 6.0;
	default:
		return 0.0;
	}
}

static uint64_t gen__value(const struct gen_params *p, double share)
{
	double span = (double)(p->peak - p->base);
	double v = (double)p->base + span * share;
	uint64_t u;

	if (v < (double)p->base)
		v = (double)p->base;
	if (v > (double)p->peak)
		v = (double)p->peak;
	if (p->kind == EV_KIND_MEMORY)
		return (uint64_t)v / GEN_PAGE * GEN_PAGE;
	u = (uint64_t)(v + 0.5);
	return u > p->peak ? p->peak : u;
}

int gen__trace(const struct gen_params *p, struct trace *tr, struct acc_err *err)
{
	struct gen_state s = { .rng = { p->seed } };
	uint64_t i;
	int ret;

	if (p->shape >= GEN_SHAPES)
		return acc_errf(err, EINVAL, "unknown shape");
	if (!p->samples || p->samples > EV_SAMPLES_MAX)
		return acc_errf(err, EINVAL, "--samples must be 1 to %u", EV_SAMPLES_MAX);
	if (!p->period_ns || p->period_ns < EV_NS_PER_MS)
		return acc_errf(err, EINVAL, "--period must be at least 0.001 s");
	if (p->period_ns > EV_TIME_MAX_NS / p->samples)
		return acc_errf(err, ERANGE, "--samples times --period is too long");
	if (p->base > p->peak)
		return acc_errf(err, EINVAL, "--base must not be above --peak");
	if (p->peak > EV_VALUE_MAX)
		return acc_errf(err, ERANGE, "--peak must be at most 2^48");

	trace__init(tr, p->kind);
	for (i = 0; i < p->samples; i++) {
		uint64_t t_ns = i * p->period_ns;
		double share = gen__share(p, &s, i, (double)t_ns / (double)EV_NS_PER_S);

		ret = trace__append(tr, t_ns, gen__value(p, share), err);
		if (ret)
			goto free_trace;
	}
	return 0;

free_trace:
	trace__free(tr);
	return ret;
}

void gen__describe(const struct gen_params *p, char *buf, size_t len)
{
	char period[32];

	ev_format_seconds(p->period_ns, period, sizeof(period));
	snprintf(buf, len,
		 "estimator-eval gen --shape %s --kind %s --samples %" PRIu64
		 " --period %s --seed %" PRIu64 " --base %" PRIu64 " --peak %" PRIu64,
		 gen__shape_name(p->shape), ev_kind_name(p->kind), p->samples, period, p->seed,
		 p->base, p->peak);
}
