// SPDX-License-Identifier: MIT
/* Slack, shortfall and changes of an allocation series (metrics.h). */
#include <string.h>

#include "metrics.h"

double metrics__weight_s(const struct trace *tr, size_t i)
{
	if (tr->n < 2)
		return 1.0;
	if (!i)
		i = 1;
	return (double)(tr->t_ns[i] - tr->t_ns[i - 1]) / (double)EV_NS_PER_S;
}

void metrics__compute(const struct trace *tr, const uint64_t *alloc, struct metrics *m)
{
	bool short_before = false;
	double alloc_s = 0.0;
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < tr->n; i++) {
		double w = metrics__weight_s(tr, i);
		uint64_t a = alloc[i], d = tr->value[i];

		m->duration_s += w;
		m->used += (double)d * w;
		alloc_s += (double)a * w;
		if (a > m->peak_alloc)
			m->peak_alloc = a;
		if (i && a != alloc[i - 1])
			m->changes++;
		if (d > a) {
			m->short_volume += (double)(d - a) * w;
			m->shortfall_samples++;
			m->shortfall_s += w;
			if (!short_before)
				m->shortfall_count++;
			short_before = true;
		} else {
			m->slack += (double)(a - d) * w;
			short_before = false;
		}
	}
	m->mean_alloc = m->duration_s > 0.0 ? alloc_s / m->duration_s : 0.0;
	m->pct_defined = m->used > 0.0;
	if (m->pct_defined) {
		m->slack_pct = 100.0 * m->slack / m->used;
		m->shortfall_pct = 100.0 * m->short_volume / m->used;
	}
}

void metrics__demand(const struct trace *tr, uint64_t *peak, double *mean)
{
	double sum = 0.0, duration = 0.0;
	size_t i;

	*peak = trace__max(tr);
	for (i = 0; i < tr->n; i++) {
		double w = metrics__weight_s(tr, i);

		sum += (double)tr->value[i] * w;
		duration += w;
	}
	*mean = duration > 0.0 ? sum / duration : 0.0;
}
