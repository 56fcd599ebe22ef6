// SPDX-License-Identifier: MIT
/*
 * accord-bench's report: every series as JSON (samples, median, min, max,
 * the command), and the Markdown page docs/BENCHMARKS.md, with the groups
 * that have both an accord and a QEMU series side by side and their ratio.
 */
#include "bench.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

struct summary {
	double median, min, max;
};

static struct summary summarize(const struct bench_series *s)
{
	double v[BENCH_MAX_RUNS];
	struct summary r = { 0, 0, 0 };

	if (!s->n)
		return r;
	memcpy(v, s->samples, s->n * sizeof(v[0]));
	r.median = bench_median(v, s->n);
	r.min = v[0];
	r.max = v[s->n - 1];
	return r;
}

static const struct bench_series *find(const struct bench_ctx *c, const char *group,
				       const char *vmm)
{
	char id[96];

	snprintf(id, sizeof(id), "%s.%s", group, vmm);
	for (unsigned int i = 0; i < c->nr_series; i++) {
		if (!strcmp(c->series[i].id, id))
			return &c->series[i];
	}
	return NULL;
}

/*
 * cmd with the build directory written as build/ and the scratch directory
 * as $TMP, as a reader of the report would type them from the source tree.
 */
static void pretty(const struct bench_ctx *c, const char *cmd, char *out, size_t cap)
{
	size_t blen = strlen(c->build_dir), tlen = strlen(c->tmp_dir), len = 0;

	while (*cmd && len + 8 < cap) {
		if (blen && !strncmp(cmd, c->build_dir, blen) && cmd[blen] == '/') {
			len += (size_t)snprintf(out + len, cap - len, "build");
			cmd += blen;
		} else if (tlen && !strncmp(cmd, c->tmp_dir, tlen)) {
			len += (size_t)snprintf(out + len, cap - len, "$TMP");
			cmd += tlen;
		} else {
			out[len++] = *cmd++;
		}
	}
	out[len] = 0;
}

static struct json_object *series_json(const struct bench_ctx *c, const struct bench_series *s)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct summary m = summarize(s);
	char command[BENCH_CMD_MAX];

	pretty(c, s->command, command, sizeof(command));

	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "group", json_object_new_string(s->group));
	json_object_object_add(o, "title", json_object_new_string(s->title));
	json_object_object_add(o, "unit", json_object_new_string(s->unit));
	json_object_object_add(o, "runs", json_object_new_int((int)s->n));
	if (s->skipped)
		json_object_object_add(o, "skipped", json_object_new_boolean(true));
	if (s->n) {
		json_object_object_add(o, "median", json_object_new_double(m.median));
		json_object_object_add(o, "min", json_object_new_double(m.min));
		json_object_object_add(o, "max", json_object_new_double(m.max));
	}
	for (unsigned int i = 0; i < s->n; i++)
		json_object_array_add(a, json_object_new_double(s->samples[i]));
	json_object_object_add(o, "samples", a);
	json_object_object_add(o, "command", json_object_new_string(command));
	if (s->note[0])
		json_object_object_add(o, "note", json_object_new_string(s->note));
	return o;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

int bench_write_json(const struct bench_ctx *c, const char *path)
{
	struct json_object *root = json_object_new_object(), *m = json_object_new_object();
	struct json_object *peers = json_object_new_object(), *list = json_object_new_array();
	struct json_object *cmp = json_object_new_array();
	int ret = 0;

	add_str(root, "generated", c->date);
	add_str(root, "mode", c->smoke ? "smoke" : "full");
	json_object_object_add(root, "runs", json_object_new_int((int)c->runs));
	add_str(root, "invocation", c->invocation);
	add_str(m, "cpu", c->cpu);
	json_object_object_add(m, "cores", json_object_new_int((int)c->cores));
	json_object_object_add(m, "memory_gib", json_object_new_double(c->mem_gib));
	add_str(m, "kernel", c->kernel);
	add_str(m, "distro", c->distro);
	add_str(m, "kvm", c->kvm);
	json_object_object_add(m, "tsc_hz", json_object_new_double(c->tsc_hz));
	json_object_object_add(root, "machine", m);
	add_str(peers, "accord", c->accord_version);
	add_str(peers, "qemu", c->qemu_version);
	json_object_object_add(root, "versions", peers);
	for (unsigned int i = 0; i < c->nr_series; i++)
		json_object_array_add(list, series_json(c, &c->series[i]));
	json_object_object_add(root, "series", list);
	for (unsigned int i = 0; i < c->nr_series; i++) {
		const struct bench_series *a = &c->series[i], *q;
		struct json_object *o;

		if (strcmp(a->id + strlen(a->group), ".accord"))
			continue;
		q = find(c, a->group, "qemu");
		if (!q || !q->n || !a->n)
			continue;
		o = json_object_new_object();
		add_str(o, "group", a->group);
		add_str(o, "title", a->title);
		json_object_object_add(
			o, "ratio_accord_over_qemu",
			json_object_new_double(summarize(a).median / summarize(q).median));
		json_object_array_add(cmp, o);
	}
	json_object_object_add(root, "comparisons", cmp);
	if (c->estimator_json[0])
		add_str(root, "estimator_results", c->estimator_json);
	json_object_object_add(root, "failures", json_object_new_int(c->failures));
	if (c->failures)
		add_str(root, "failed", c->failed);
	if (json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED))
		ret = -EIO;
	json_object_put(root);
	return ret;
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (v >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

/* "median [min - max]" or why there is none. */
static void cell(char *buf, size_t len, const struct bench_series *s)
{
	char a[24], b[24], d[24];
	struct summary m;

	if (!s) {
		snprintf(buf, len, "-");
		return;
	}
	if (!s->n) {
		snprintf(buf, len, "%s", s->skipped ? "skipped" : "failed");
		return;
	}
	m = summarize(s);
	fmt_num(a, sizeof(a), m.median);
	fmt_num(b, sizeof(b), m.min);
	fmt_num(d, sizeof(d), m.max);
	snprintf(buf, len, "**%s** [%s – %s]", a, b, d);
}

static void machine_section(FILE *f, const struct bench_ctx *c)
{
	fprintf(f, "## Machine and versions\n\n");
	fprintf(f, "- CPU: %s, %u cores, %.1f GiB RAM\n", c->cpu, c->cores, c->mem_gib);
	fprintf(f, "- Kernel: %s (%s); KVM: %s\n", c->kernel, c->distro, c->kvm);
	fprintf(f,
		"- TSC: %.0f MHz, calibrated on the host against CLOCK_MONOTONIC; the probe's "
		"cycle counts are converted with it\n",
		c->tsc_hz / 1e6);
	fprintf(f, "- accord: %s\n", c->accord_version);
	fprintf(f, "- QEMU: %s\n", c->qemu ? c->qemu_version : "not installed");
	fprintf(f, "- Run: `%s` (%s mode; runs of each benchmark: %u, of launch: %u)\n\n",
		c->invocation, c->smoke ? "smoke" : "full", c->smoke ? 1 : c->runs,
		c->smoke ? 2 : 2 * c->runs);
}

static void side_by_side(FILE *f, const struct bench_ctx *c)
{
	fprintf(f, "## accord and QEMU side by side\n\n");
	fprintf(f, "Both boot the same `probe.elf` through PVH (QEMU: `-machine microvm`). "
		   "Median over runs, **bold**, with [min – max].\n\n");
	fprintf(f, "| benchmark | unit | accord | QEMU 7.2 | accord / QEMU |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (unsigned int i = 0; i < c->nr_series; i++) {
		const struct bench_series *a = &c->series[i], *q;
		char ca[160], cq[160], ratio[32] = "-";

		if (strcmp(a->id + strlen(a->group), ".accord"))
			continue;
		q = find(c, a->group, "qemu");
		if (!q)
			continue;
		cell(ca, sizeof(ca), a);
		cell(cq, sizeof(cq), q);
		if (a->n && q->n && summarize(q).median > 0)
			snprintf(ratio, sizeof(ratio), "%.2f",
				 summarize(a).median / summarize(q).median);
		fprintf(f, "| %s | %s | %s | %s | %s |\n", a->title, a->unit, ca, cq, ratio);
	}
	fprintf(f, "\n");
}

static void accord_alone(FILE *f, const struct bench_ctx *c)
{
	fprintf(f, "## accord alone\n\n");
	fprintf(f, "| benchmark | unit | median [min – max] |\n|---|---|---|\n");
	for (unsigned int i = 0; i < c->nr_series; i++) {
		const struct bench_series *a = &c->series[i];
		char ca[160];

		/* Every series without a QEMU counterpart. */
		if (!strcmp(a->id + strlen(a->group), ".qemu") || find(c, a->group, "qemu"))
			continue;
		cell(ca, sizeof(ca), a);
		fprintf(f, "| %s | %s | %s |\n", a->title, a->unit, ca);
	}
	fprintf(f, "\n");
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* estimator-eval's results.json as one table: slack, shortfalls, changes per policy. */
static void estimator_section(FILE *f, const struct bench_ctx *c)
{
	static const char *const policies[] = { "estimator", "vpa", "static-peak", "reactive" };
	struct json_object *root = json_object_from_file(c->estimator_json);
	struct json_object *traces = root ? get(root, "traces") : NULL;

	fprintf(f, "## The estimator on traces\n\n");
	fprintf(f, "`estimator-eval suite` ([estimator-eval.md](estimator-eval.md) has the traces, "
		   "the policies, the metrics and the discussion). Each cell: slack (allocated "
		   "above demand, %% of demand) / shortfall episodes (seconds of demand above the "
		   "allocation) / allocation changes.\n\n");
	if (!traces || !json_object_is_type(traces, json_type_array)) {
		fprintf(f, "(no results in %s)\n\n", c->estimator_json);
		json_object_put(root);
		return;
	}
	fprintf(f, "| trace | guest/core estimator | VPA p90 + 15%% | static peak | reactive |\n");
	fprintf(f, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < json_object_array_length(traces); i++) {
		struct json_object *t = json_object_array_get_idx(traces, i);
		struct json_object *pol = get(t, "policies");
		const char *svg = json_object_get_string(get(t, "svg"));

		if (svg)
			fprintf(f, "| [%s](estimator/%s) ", json_object_get_string(get(t, "name")),
				svg);
		else
			fprintf(f, "| %s ", json_object_get_string(get(t, "name")));
		for (size_t k = 0; k < sizeof(policies) / sizeof(policies[0]); k++) {
			struct json_object *p = pol ? get(pol, policies[k]) : NULL;

			if (!p) {
				fprintf(f, "| - ");
				continue;
			}
			fprintf(f, "| %.1f%% / %d (%.0f s) / %d ",
				json_object_get_double(get(p, "slack_pct")),
				json_object_get_int(get(p, "shortfall_count")),
				json_object_get_double(get(p, "shortfall_s")),
				json_object_get_int(get(p, "changes")));
		}
		fprintf(f, "|\n");
	}
	fprintf(f, "\n");
	json_object_put(root);
}

/* Each distinct command once, after the series it produced. */
static void commands(FILE *f, const struct bench_ctx *c)
{
	static char cmd[BENCH_CMD_MAX], other[BENCH_CMD_MAX];

	fprintf(f, "## Exact commands (one run of each)\n\n");
	for (unsigned int i = 0; i < c->nr_series; i++) {
		const struct bench_series *s = &c->series[i];
		bool seen = false;

		if (!s->command[0]) {
			if (s->note[0])
				fprintf(f, "- `%s`: %s\n", s->id, s->note);
			continue;
		}
		for (unsigned int k = 0; k < i && !seen; k++)
			seen = !strcmp(c->series[k].command, s->command);
		if (seen)
			continue;
		fprintf(f, "- `%s`", s->id);
		for (unsigned int k = i + 1; k < c->nr_series; k++) {
			if (!strcmp(c->series[k].command, s->command))
				fprintf(f, ", `%s`", c->series[k].id);
		}
		pretty(c, s->command, cmd, sizeof(cmd));
		fprintf(f, ":\n\n      %s\n", cmd);
		if (s->note[0]) {
			pretty(c, s->note, other, sizeof(other));
			fprintf(f, "\n  %s\n", other);
		}
		fprintf(f, "\n");
	}
}

int bench_write_markdown(const struct bench_ctx *c, const char *path, const char *json_name)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "# Benchmarks\n\n");
	fprintf(f,
		"Written by `scripts/bench` (accord-bench) on %s; the raw samples are in "
		"[%s](%s). How each figure is measured: [bench.md](bench.md). Tests never "
		"assert on these.\n\n",
		c->date, json_name, json_name);
	if (c->failures)
		fprintf(f, "**%d benchmark(s) failed in this run: %s.**\n\n", c->failures,
			c->failed);
	machine_section(f, c);
	side_by_side(f, c);
	accord_alone(f, c);
	if (c->estimator_json[0])
		estimator_section(f, c);
	commands(f, c);
	return fclose(f) ? -errno : 0;
}
