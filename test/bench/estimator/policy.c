// SPDX-License-Identifier: MIT
/* Allocation policies (policy.h): the estimator as the module runs it, and the baselines. */
#include <errno.h>
#include <string.h>

#include "policy.h"
#include "vpa.h"

static const char *const policy_names[POLICY_COUNT] = {
	[POLICY_ESTIMATOR] = "estimator",
	[POLICY_STATIC_PEAK] = "static-peak",
	[POLICY_REACTIVE] = "reactive",
	[POLICY_VPA] = "vpa",
};

const char *policy__name(enum policy_id id)
{
	return id < POLICY_COUNT ? policy_names[id] : "?";
}

int policy__parse(const char *s, enum policy_id *id)
{
	unsigned int i;

	for (i = 0; i < POLICY_COUNT; i++) {
		if (!strcmp(s, policy_names[i])) {
			*id = (enum policy_id)i;
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * vres_estimator_tune() cannot be called from here: it is kernel code that
 * reads the module's parameters. This is its arithmetic, line for line, with
 * estimator_ms the trace's period and release_hold_s at its default; keep
 * the two in step.
 */
void policy__estimator_setup(enum ev_kind kind, uint64_t period_ms, struct est_setup *s)
{
	struct rc_est_config *c = &s->cfg;
	uint64_t ms, v;

	memset(s, 0, sizeof(*s));
	if (kind == EV_KIND_MEMORY)
		rc_est_config_memory(c);
	else
		rc_est_config_vcpu(c);
	/* vres_period_ms(): a shorter period is taken as 50 ms; none means the 10 s defaults. */
	ms = period_ms ? (period_ms < EST_MODULE_MIN_MS ? EST_MODULE_MIN_MS : period_ms)
		       : EST_MODULE_DEFAULT_MS;
	v = (uint64_t)c->half_life * EST_MODULE_DEFAULT_MS / ms;
	c->half_life = (uint32_t)clamp_u64(v, 1, RC_EST_MAX_HALF);
	if (kind == EV_KIND_MEMORY)
		v = EST_MODULE_MEM_HORIZON_MS / ms;
	else
		v = (uint64_t)c->horizon * EST_MODULE_DEFAULT_MS / ms;
	c->horizon = (uint32_t)clamp_u64(v, 1, RC_EST_MAX_HORIZON);
	v = (uint64_t)EST_MODULE_RELEASE_HOLD_S * 1000 / ms;
	c->release_after = (uint32_t)clamp_u64(v, 1, UINT32_MAX);
	/* vres_estimators_init(): the device's granule; mem_rate 0 keeps max_rate. */
	c->granule = ev_granule(kind);
	s->period_ms = period_ms;
	s->headroom = kind == EV_KIND_MEMORY ? EST_MODULE_HEADROOM : 0;
}

struct est_sim {
	struct est_setup setup;
	struct rc_est est;
	uint64_t prev_used;
};

/*
 * One tick of vres_estimator_tick() + vres_estimator_memory() with
 * MemTotal = @alloc, no balloon to deflate, no PSI, no mem_max and a host
 * that grants everything: the allocation the tick leaves behind.
 */
static uint64_t est__memory_tick(struct est_sim *s, uint64_t alloc, uint64_t used, uint64_t now)
{
	uint64_t headroom = s->setup.headroom, granule = s->setup.cfg.granule;
	uint64_t have = alloc > headroom ? alloc - headroom : 0;
	uint64_t growth, soon, need_now = 0, want, amount;
	int64_t delta = 0;

	growth = used > s->prev_used ? used - s->prev_used : 0;
	s->prev_used = used;
	rc_est_sample(&s->est, used, now);
	/* What demand may grow to: what the kernel has, less the headroom. */
	rc_est_decide(&s->est, have, now, &delta);
	/* MemAvailable below the headroom within two periods at the last period's growth. */
	soon = used + 2 * growth + headroom;
	if (soon > alloc)
		need_now = soon - alloc;
	if (delta > 0 || need_now) {
		/* vres_estimator_grow(): at least one estimator step, whole granules. */
		want = delta > 0 && (uint64_t)delta > need_now ? (uint64_t)delta : need_now;
		if (want < s->est.cfg.min_step)
			want = s->est.cfg.min_step;
		amount = (want + granule - 1) / granule * granule;
		return alloc + amount;
	}
	if (delta < 0) {
		/* vres_estimator_shrink(): whole granules, and the host leaves one. */
		amount = (uint64_t)-delta / granule * granule;
		if (alloc <= granule)
			return alloc;
		if (amount > alloc - granule)
			amount = alloc - granule;
		return alloc - amount;
	}
	return alloc;
}

/* vres_estimator_vcpus(): whole vCPUs up, and never below one. */
static uint64_t est__cpu_tick(struct est_sim *s, uint64_t alloc, uint64_t used, uint64_t now)
{
	uint64_t granted = alloc / 1000, n;
	int64_t delta = 0;

	rc_est_sample(&s->est, used, now);
	rc_est_decide(&s->est, granted * 1000, now, &delta);
	if (delta > 0)
		return alloc + ((uint64_t)delta + 999) / 1000 * 1000;
	if (delta < 0) {
		n = (uint64_t)-delta / 1000;
		if (n > (granted ? granted - 1 : 0))
			n = granted ? granted - 1 : 0;
		return alloc - n * 1000;
	}
	return alloc;
}

static int policy__estimator(const struct trace *tr, uint64_t *alloc, struct acc_err *err)
{
	struct est_sim s;
	size_t i;
	int ret;

	policy__estimator_setup(tr->kind, trace__period_ms(tr), &s.setup);
	ret = rc_est_init(&s.est, &s.setup.cfg);
	if (ret)
		return acc_errf(err, EINVAL,
				"guest/core refused the tuned estimator configuration");
	/*
	 * The module's prev_used starts at 0, so its first tick sees all memory
	 * in use as growth. The replay starts with demand already allocated;
	 * counting it as growth would ask for twice the demand at once, so
	 * the first sample is taken as no growth (as if the module had been
	 * loaded one period earlier at the same demand).
	 */
	s.prev_used = tr->value[0];
	alloc[0] = ev_round_up(tr->kind, tr->value[0]);
	for (i = 0; i + 1 < tr->n; i++) {
		if (tr->kind == EV_KIND_MEMORY)
			alloc[i + 1] = est__memory_tick(&s, alloc[i], tr->value[i], tr->t_ns[i]);
		else
			alloc[i + 1] = est__cpu_tick(&s, alloc[i], tr->value[i], tr->t_ns[i]);
	}
	return 0;
}

static void policy__vpa(const struct trace *tr, uint64_t *alloc)
{
	struct vpa v;
	size_t i;

	vpa__init(&v, tr->kind);
	alloc[0] = ev_round_up(tr->kind, tr->value[0]);
	for (i = 0; i + 1 < tr->n; i++) {
		double t_s = (double)(tr->t_ns[i] - tr->t_ns[0]) / (double)EV_NS_PER_S;

		vpa__sample(&v, t_s, tr->value[i], alloc[i]);
		alloc[i + 1] = vpa__decide(&v, t_s, alloc[i]);
	}
}

int policy__run(enum policy_id id, const struct trace *tr, uint64_t *alloc, struct acc_err *err)
{
	uint64_t peak;
	size_t i;

	if (!tr->n)
		return acc_errf(err, EINVAL, "no samples");
	switch (id) {
	case POLICY_ESTIMATOR:
		return policy__estimator(tr, alloc, err);
	case POLICY_STATIC_PEAK:
		peak = ev_round_up(tr->kind, trace__max(tr));
		for (i = 0; i < tr->n; i++)
			alloc[i] = peak;
		return 0;
	case POLICY_REACTIVE:
		alloc[0] = ev_round_up(tr->kind, tr->value[0]);
		for (i = 0; i + 1 < tr->n; i++)
			alloc[i + 1] = ev_round_up(tr->kind, tr->value[i]);
		return 0;
	case POLICY_VPA:
		policy__vpa(tr, alloc);
		return 0;
	default:
		return acc_errf(err, EINVAL, "unknown policy");
	}
}
