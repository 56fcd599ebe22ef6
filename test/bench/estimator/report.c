// SPDX-License-Identifier: MIT
/* Replays and their reports: table, SVG and results.json (report.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "svg.h"

int replay__run(struct replay *r, const char *name, const struct trace *tr,
		const struct gen_params *gen, const bool enabled[POLICY_COUNT], struct acc_err *err)
{
	unsigned int id;
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->kind = tr->kind;
	r->samples = tr->n;
	if (gen) {
		r->generated = true;
		r->gen = *gen;
	}
	policy__estimator_setup(tr->kind, trace__period_ms(tr), &r->est);
	metrics__demand(tr, &r->demand_peak, &r->demand_mean);
	for (i = 0; i < tr->n; i++)
		r->duration_s += metrics__weight_s(tr, i);
	for (id = 0; id < POLICY_COUNT; id++) {
		if (!enabled[id])
			continue;
		r->alloc[id] = calloc(tr->n, sizeof(uint64_t));
		if (!r->alloc[id]) {
			ret = acc_errf(err, ENOMEM, "out of memory for %zu samples", tr->n);
			goto drop_series;
		}
		ret = policy__run((enum policy_id)id, tr, r->alloc[id], err);
		if (ret)
			goto drop_series;
		metrics__compute(tr, r->alloc[id], &r->m[id]);
		r->enabled[id] = true;
	}
	return 0;

drop_series:
	replay__drop_series(r);
	return ret;
}

void replay__drop_series(struct replay *r)
{
	unsigned int id;

	for (id = 0; id < POLICY_COUNT; id++) {
		free(r->alloc[id]);
		r->alloc[id] = NULL;
	}
}

void report__name_of_path(const char *path, char *name, size_t len)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".csv"))
		n -= 4;
	if (!n) {
		base = "trace";
		n = 5;
	}
	snprintf(name, len, "%.*s", (int)n, base);
}

/* Trace units per displayed unit: MiB for memory, vCPUs for CPU. */
static double report__unit(enum ev_kind kind)
{
	return kind == EV_KIND_MEMORY ? (double)EV_MIB : 1000.0;
}

void report__table(FILE *f, const struct replay *r)
{
	const char *unit = r->kind == EV_KIND_MEMORY ? "MiB" : "vCPU";
	double u = report__unit(r->kind);
	unsigned int id;

	fprintf(f,
		"%s: %s, %zu samples, mean interval %" PRIu64 " ms, %.2f h; demand peak %.1f %s, "
		"mean %.1f %s\n",
		r->name, ev_kind_name(r->kind), r->samples, r->est.period_ms,
		r->duration_s / 3600.0, (double)r->demand_peak / u, unit, r->demand_mean / u, unit);
	fprintf(f, "  %-12s %8s %8s %10s %9s %8s %8s %5s_%-4s %5s_%s\n", "policy", "slack%",
		"short#", "short_s", "short_smp", "short%", "changes", "peak", unit, "mean", unit);
	for (id = 0; id < POLICY_COUNT; id++) {
		const struct metrics *m = &r->m[id];
		char slack[32], shortp[32];

		if (!r->enabled[id])
			continue;
		if (m->pct_defined) {
			snprintf(slack, sizeof(slack), "%.2f", m->slack_pct);
			snprintf(shortp, sizeof(shortp), "%.3f", m->shortfall_pct);
		} else {
			snprintf(slack, sizeof(slack), "-");
			snprintf(shortp, sizeof(shortp), "-");
		}
		fprintf(f,
			"  %-12s %8s %8" PRIu64 " %10.1f %9" PRIu64 " %8s %8" PRIu64
			" %10.1f %10.1f\n",
			policy__name((enum policy_id)id), slack, m->shortfall_count, m->shortfall_s,
			m->shortfall_samples, shortp, m->changes, (double)m->peak_alloc / u,
			m->mean_alloc / u);
	}
}

int report__svg(FILE *f, const struct replay *r, const struct trace *tr)
{
	/* Drawn widest first so the estimator and the demand stay on top. */
	static const struct {
		enum policy_id id;
		const char *color, *dash;
		double width;
	} looks[] = {
		{ POLICY_STATIC_PEAK, "#8c8c8c", "6 4", 1.5 },
		{ POLICY_REACTIVE, "#ff7f0e", NULL, 1.2 },
		{ POLICY_VPA, "#2ca02c", NULL, 1.6 },
		{ POLICY_ESTIMATOR, "#1f5fbf", NULL, 2.0 },
	};
	struct svg_series series[POLICY_COUNT + 1];
	size_t order[POLICY_COUNT + 1], n = 0, k, legend = 0;
	struct svg_plot plot;
	char title[160];

	for (k = 0; k < sizeof(looks) / sizeof(looks[0]); k++) {
		if (!r->enabled[looks[k].id] || !r->alloc[looks[k].id])
			continue;
		series[n] = (struct svg_series){ .name = policy__name(looks[k].id),
						 .color = looks[k].color,
						 .dash = looks[k].dash,
						 .width = looks[k].width,
						 .step = true,
						 .values = r->alloc[looks[k].id] };
		n++;
	}
	series[n] = (struct svg_series){
		.name = "demand", .color = "#111111", .width = 1.0, .values = tr->value
	};
	/* Legend: demand first, then the policies in their usual order. */
	order[legend++] = n;
	for (k = 0; k < POLICY_COUNT; k++) {
		size_t s;

		for (s = 0; s < n; s++)
			if (!strcmp(series[s].name, policy__name((enum policy_id)k)))
				order[legend++] = s;
	}
	n++;
	if (r->generated)
		snprintf(title, sizeof(title),
			 "%s (%s %s, seed %" PRIu64 "): demand and allocations", r->name,
			 gen__shape_name(r->gen.shape), ev_kind_name(r->kind), r->gen.seed);
	else
		snprintf(title, sizeof(title), "%s (%s): demand and allocations", r->name,
			 ev_kind_name(r->kind));
	plot = (struct svg_plot){ .title = title,
				  .kind = r->kind,
				  .n = tr->n,
				  .t_ns = tr->t_ns,
				  .nr_series = n,
				  .series = series,
				  .legend_order = order };
	return svg__write(f, &plot);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json__string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json__policy(FILE *f, const struct metrics *m)
{
	fputs("{", f);
	if (m->pct_defined)
		fprintf(f, "\"slack_pct\": %.3f, \"shortfall_pct\": %.4f, ", m->slack_pct,
			m->shortfall_pct);
	else
		fputs("\"slack_pct\": null, \"shortfall_pct\": null, ", f);
	fprintf(f,
		"\"shortfall_count\": %" PRIu64 ", \"shortfall_s\": %.3f, "
		"\"shortfall_samples\": %" PRIu64 ", \"changes\": %" PRIu64
		", \"peak_alloc\": %" PRIu64 ", \"mean_alloc\": %.0f}",
		m->shortfall_count, m->shortfall_s, m->shortfall_samples, m->changes, m->peak_alloc,
		m->mean_alloc);
}

static void json__trace(FILE *f, const struct replay *r)
{
	const struct rc_est_config *c = &r->est.cfg;
	unsigned int id;
	bool first = true;

	fputs("    {\n      \"name\": ", f);
	json__string(f, r->name);
	fprintf(f, ",\n      \"kind\": \"%s\", \"unit\": \"%s\", \"granule\": %" PRIu64 ",\n",
		ev_kind_name(r->kind), r->kind == EV_KIND_MEMORY ? "bytes" : "milli-vCPUs",
		ev_granule(r->kind));
	fprintf(f, "      \"samples\": %zu, \"period_ms\": %" PRIu64 ", \"duration_s\": %.3f,\n",
		r->samples, r->est.period_ms, r->duration_s);
	if (r->generated)
		fprintf(f,
			"      \"generator\": {\"shape\": \"%s\", \"seed\": %" PRIu64
			", \"base\": %" PRIu64 ", \"peak\": %" PRIu64 "},\n",
			gen__shape_name(r->gen.shape), r->gen.seed, r->gen.base, r->gen.peak);
	else
		fputs("      \"generator\": null,\n", f);
	fputs("      \"svg\": ", f);
	if (r->svg)
		json__string(f, r->svg);
	else
		fputs("null", f);
	fprintf(f, ",\n      \"demand\": {\"peak\": %" PRIu64 ", \"mean\": %.0f},\n",
		r->demand_peak, r->demand_mean);
	fprintf(f,
		"      \"estimator_config\": {\"half_life\": %u, \"horizon\": %u, "
		"\"release_after\": %u, \"percentile\": %u, \"margin\": %u, \"hysteresis\": %u, "
		"\"release_share\": %u, \"min_step\": %" PRIu64 ", \"max_rate\": %" PRIu64
		", \"headroom\": %" PRIu64 "},\n",
		c->half_life, c->horizon, c->release_after, c->percentile, c->margin, c->hysteresis,
		c->release_share, c->min_step, c->max_rate, r->est.headroom);
	fputs("      \"policies\": {", f);
	for (id = 0; id < POLICY_COUNT; id++) {
		if (!r->enabled[id])
			continue;
		fprintf(f, "%s\n        \"%s\": ", first ? "" : ",",
			policy__name((enum policy_id)id));
		json__policy(f, &r->m[id]);
		first = false;
	}
	fputs("\n      }\n    }", f);
}

int report__json(FILE *f, const struct replay *r, size_t count, bool smoke)
{
	size_t i;

	fprintf(f, "{\n  \"tool\": \"estimator-eval\",\n  \"format\": %d,\n  \"smoke\": %s,\n",
		REPORT_FORMAT, smoke ? "true" : "false");
	fputs("  \"traces\": [\n", f);
	for (i = 0; i < count; i++) {
		json__trace(f, &r[i]);
		fputs(i + 1 < count ? ",\n" : "\n", f);
	}
	fputs("  ]\n}\n", f);
	return ferror(f) ? -EIO : 0;
}
