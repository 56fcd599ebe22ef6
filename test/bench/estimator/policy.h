/* SPDX-License-Identifier: MIT */
/*
 * Allocation policies replayed over a trace. Every policy sees the same
 * samples and allocates whole granules (ev_granule). The adaptive ones
 * start from the first sample rounded up to the granule and follow one
 * lag rule: the allocation decided at sample i is in force from sample
 * i + 1 on, so alloc[i] is what was allocated when sample i was taken. The
 * host grants every change at once.
 *
 *   estimator    guest/core's rc_est_sample() and rc_est_decide(), tuned and
 *                applied as guest/linux/vres_estimator.c does
 *   static-peak  the trace's maximum rounded up, from the start (hindsight)
 *   reactive     the last sample rounded up (no forecast, no margin)
 *   vpa          Kubernetes VPA's recommender and updater rules (vpa.h)
 */
#ifndef ACCORD_ESTIMATOR_EVAL_POLICY_H
#define ACCORD_ESTIMATOR_EVAL_POLICY_H

#include "rc_estimator.h"
#include "trace.h"

enum policy_id {
	POLICY_ESTIMATOR,
	POLICY_STATIC_PEAK,
	POLICY_REACTIVE,
	POLICY_VPA,
	POLICY_COUNT,
};

const char *policy__name(enum policy_id id);
int policy__parse(const char *s, enum policy_id *id);

/*
 * The module's settings (guest/linux/vres_estimator.c, vres_main.c) for a
 * sample period: headroom_mb 32, release_hold_s 300, mem_rate 0 (the
 * estimator's own 256 MiB/s), mem_granule 2 MiB.
 */
#define EST_MODULE_MIN_MS	  50u	 /* VRES_EST_MIN_MS */
#define EST_MODULE_DEFAULT_MS	  10000u /* VRES_EST_DEFAULT_MS */
#define EST_MODULE_MEM_HORIZON_MS 10000u /* VRES_EST_MEM_HORIZON_MS */
#define EST_MODULE_HEADROOM	  (32 * EV_MIB)
#define EST_MODULE_RELEASE_HOLD_S 300u

struct est_setup {
	struct rc_est_config cfg;
	uint64_t period_ms; /* estimator_ms: the trace's mean interval; 0 for one sample */
	uint64_t headroom;  /* memory kept free (headroom_mb); 0 for CPU */
};

/* rc_est_config_memory/vcpu, then vres_estimator_tune()'s arithmetic for @period_ms. */
void policy__estimator_setup(enum ev_kind kind, uint64_t period_ms, struct est_setup *s);

/* Fill alloc[0 .. tr->n - 1]. -EINVAL only if guest/core refuses the tuned configuration. */
int policy__run(enum policy_id id, const struct trace *tr, uint64_t *alloc, struct acc_err *err);

#endif /* ACCORD_ESTIMATOR_EVAL_POLICY_H */
