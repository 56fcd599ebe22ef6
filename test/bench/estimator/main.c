// SPDX-License-Identifier: MIT
/*
 * estimator-eval: the offline evaluation of guest/core's estimator
 * (docs/estimator-eval.md).
 *
 *   estimator-eval gen --shape SHAPE --kind memory|cpu [--samples N] [--period S]
 *                      [--seed N] [--base X] [--peak X] [-o FILE]
 *   estimator-eval replay [--policy NAME|all] [--svg FILE] [--json FILE|-] TRACE.csv|-
 *   estimator-eval suite --out-dir DIR [--smoke]
 *
 * Exit status 0 on success, 1 with one line on stderr for anything else.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen.h"
#include "report.h"

#define PROG		    "estimator-eval"
#define SUITE_SMOKE_SAMPLES 720 /* 2 h at 10 s: the whole suite in a few ms */

static const char usage[] =
	"usage: " PROG " gen --shape diurnal|bursty|ramp|step|noise --kind memory|cpu\n"
	"                      [--samples N] [--period SECONDS] [--seed N] [--base X] [--peak X]\n"
	"                      [-o FILE]\n"
	"       " PROG " replay [--policy estimator|static-peak|reactive|vpa|all] [--svg FILE]\n"
	"                      [--json FILE|-] TRACE.csv|-\n"
	"       " PROG " suite --out-dir DIR [--smoke]\n"
	"Memory is in bytes (--base/--peak take K, M, G, T suffixes), CPU in milli-vCPUs.\n"
	"See docs/estimator-eval.md.\n";

/* One line on stderr; the exit status for it. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/*
 * argv[*i] is "--name VALUE" or "--name=VALUE": 1 and *value set, 0 for
 * another option, -EINVAL when the value is missing.
 */
static int opt__value(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t len = strlen(name);

	if (strncmp(argv[*i], name, len))
		return 0;
	if (argv[*i][len] == '=') {
		*value = argv[*i] + len + 1;
		return 1;
	}
	if (argv[*i][len])
		return 0;
	if (*i + 1 >= argc)
		return -EINVAL;
	*value = argv[++*i];
	return 1;
}

/* A whole number, for memory with an optional binary K, M, G or T suffix. */
static int amount__parse(enum ev_kind kind, const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	unsigned int shift = 0;
	uint64_t v;
	int ret;

	if (kind == EV_KIND_MEMORY && len > 1) {
		switch (s[len - 1]) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		case 'T':
		case 't':
			shift = 40;
			break;
		}
		if (shift)
			len--;
	}
	ret = ev_parse_u64(s, len, EV_VALUE_MAX >> shift, &v);
	if (ret)
		return ret;
	*out = v << shift;
	return 0;
}

static int write_file(const char *path, int (*emit)(FILE *f, const void *arg), const void *arg)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = emit(f, arg);
	if (fclose(f) && !ret)
		ret = -EIO;
	return ret;
}

struct gen_out {
	const struct trace *tr;
	const char *comment;
};

static int emit_trace(FILE *f, const void *arg)
{
	const struct gen_out *g = arg;

	return trace__write(f, g->tr, g->comment);
}

static int cmd_gen(int argc, char **argv)
{
	const char *shape_s = NULL, *kind_s = NULL, *samples_s = NULL, *period_s = NULL;
	const char *seed_s = NULL, *base_s = NULL, *peak_s = NULL, *out = NULL, *v;
	char comment[256];
	struct gen_params p;
	struct gen_out g;
	enum gen_shape shape;
	enum ev_kind kind;
	uint64_t period_ns = GEN_DEFAULT_PERIOD_NS;
	struct trace tr;
	struct acc_err err;
	int i, r, ret;

	for (i = 0; i < argc; i++) {
		if ((r = opt__value(argc, argv, &i, "--shape", &v)) == 1)
			shape_s = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--kind", &v)) == 1)
			kind_s = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--samples", &v)) == 1)
			samples_s = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--period", &v)) == 1)
			period_s = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--seed", &v)) == 1)
			seed_s = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--base", &v)) == 1)
			base_s = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--peak", &v)) == 1)
			peak_s = v;
		else if (!r && (r = opt__value(argc, argv, &i, "-o", &v)) == 1)
			out = v;
		else if (!r)
			return fail("gen: unknown option '%s'", argv[i]);
		if (r < 0)
			return fail("gen: %s needs a value", argv[i]);
	}
	if (!shape_s || gen__shape_parse(shape_s, &shape))
		return fail("gen: --shape must be diurnal, bursty, ramp, step or noise");
	if (!kind_s || ev_kind_parse(kind_s, &kind))
		return fail("gen: --kind must be memory or cpu");
	if (period_s && ev_parse_seconds(period_s, strlen(period_s), &period_ns))
		return fail("gen: --period '%s' is not a number of seconds", period_s);
	gen__defaults(&p, shape, kind, period_ns);
	if (samples_s && ev_parse_u64(samples_s, strlen(samples_s), EV_SAMPLES_MAX, &p.samples))
		return fail("gen: --samples '%s' is not a whole number up to 2097152", samples_s);
	if (seed_s && ev_parse_u64(seed_s, strlen(seed_s), UINT64_MAX, &p.seed))
		return fail("gen: --seed '%s' is not a whole number", seed_s);
	if (base_s && amount__parse(kind, base_s, &p.base))
		return fail("gen: --base '%s' is not an amount up to 2^48", base_s);
	if (peak_s && amount__parse(kind, peak_s, &p.peak))
		return fail("gen: --peak '%s' is not an amount up to 2^48", peak_s);
	ret = gen__trace(&p, &tr, &err);
	if (ret)
		return fail("gen: %s", err.msg);
	gen__describe(&p, comment, sizeof(comment));
	g = (struct gen_out){ .tr = &tr, .comment = comment };
	if (out && strcmp(out, "-"))
		ret = write_file(out, emit_trace, &g);
	else
		ret = emit_trace(stdout, &g);
	trace__free(&tr);
	if (ret)
		return fail("gen: cannot write '%s': %s", out ? out : "stdout", strerror(-ret));
	return 0;
}

struct svg_out {
	const struct replay *r;
	const struct trace *tr;
};

static int emit_svg(FILE *f, const void *arg)
{
	const struct svg_out *s = arg;

	return report__svg(f, s->r, s->tr);
}

static int emit_json(FILE *f, const void *arg)
{
	return report__json(f, arg, 1, false);
}

static int cmd_replay(int argc, char **argv)
{
	const char *policy = "all", *svg = NULL, *json = NULL, *path = NULL, *v;
	bool enabled[POLICY_COUNT] = { false };
	char name[REPORT_NAME_MAX];
	struct replay rep;
	struct svg_out so;
	struct trace tr;
	struct acc_err err;
	enum policy_id id;
	FILE *in;
	int i, r, ret, status = 1;

	for (i = 0; i < argc; i++) {
		if ((r = opt__value(argc, argv, &i, "--policy", &v)) == 1)
			policy = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--svg", &v)) == 1)
			svg = v;
		else if (!r && (r = opt__value(argc, argv, &i, "--json", &v)) == 1)
			json = v;
		else if (!r && argv[i][0] == '-' && argv[i][1])
			return fail("replay: unknown option '%s'", argv[i]);
		else if (!r && path)
			return fail("replay: more than one trace ('%s')", argv[i]);
		else if (!r)
			path = argv[i];
		if (r < 0)
			return fail("replay: %s needs a value", argv[i]);
	}
	if (!path)
		return fail("replay: no trace given");
	if (!strcmp(policy, "all")) {
		for (i = 0; i < POLICY_COUNT; i++)
			enabled[i] = true;
	} else if (!policy__parse(policy, &id)) {
		enabled[id] = true;
	} else {
		return fail("replay: unknown policy '%s'", policy);
	}

	if (!strcmp(path, "-")) {
		in = stdin;
		snprintf(name, sizeof(name), "stdin");
	} else {
		in = fopen(path, "r");
		if (!in)
			return fail("replay: cannot open '%s': %s", path, strerror(errno));
		report__name_of_path(path, name, sizeof(name));
	}
	ret = trace__read(in, strcmp(path, "-") ? path : "stdin", &tr, &err);
	if (in != stdin)
		fclose(in);
	if (ret)
		return fail("replay: %s", err.msg);
	ret = replay__run(&rep, name, &tr, NULL, enabled, &err);
	if (ret) {
		fail("replay: %s", err.msg);
		goto free_trace;
	}
	if (svg) {
		so = (struct svg_out){ .r = &rep, .tr = &tr };
		rep.svg = svg;
		ret = write_file(svg, emit_svg, &so);
		if (ret) {
			fail("replay: cannot write '%s': %s", svg, strerror(-ret));
			goto drop_series;
		}
	}
	if (json && !strcmp(json, "-")) {
		report__json(stdout, &rep, 1, false);
	} else {
		report__table(stdout, &rep);
		ret = json ? write_file(json, emit_json, &rep) : 0;
		if (ret) {
			fail("replay: cannot write '%s': %s", json, strerror(-ret));
			goto drop_series;
		}
	}
	status = 0;

drop_series:
	replay__drop_series(&rep);
free_trace:
	trace__free(&tr);
	return status;
}

static int path__join(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, name, ext);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct suite_json {
	const struct replay *r;
	size_t count;
	bool smoke;
};

static int emit_suite_json(FILE *f, const void *arg)
{
	const struct suite_json *s = arg;

	return report__json(f, s->r, s->count, s->smoke);
}

/* One generated trace: replay it, plot it, keep its metrics in @rep. */
static int suite__one(const char *dir, const struct gen_params *p, struct replay *rep,
		      char *svg_name, size_t svg_len)
{
	bool all[POLICY_COUNT] = { true, true, true, true };
	char name[REPORT_NAME_MAX], path[PATH_MAX];
	struct svg_out so;
	struct trace tr;
	struct acc_err err;
	int ret;

	snprintf(name, sizeof(name), "%s-%s", gen__shape_name(p->shape), ev_kind_name(p->kind));
	ret = gen__trace(p, &tr, &err);
	if (ret)
		return fail("suite: %s", err.msg);
	ret = replay__run(rep, name, &tr, p, all, &err);
	if (ret) {
		fail("suite: %s", err.msg);
		goto free_trace;
	}
	snprintf(svg_name, svg_len, "%s.svg", name);
	rep->svg = svg_name;
	so = (struct svg_out){ .r = rep, .tr = &tr };
	ret = path__join(path, sizeof(path), dir, name, ".svg");
	if (!ret)
		ret = write_file(path, emit_svg, &so);
	if (ret)
		fail("suite: cannot write '%s': %s", path, strerror(-ret));
	else
		report__table(stdout, rep);
	replay__drop_series(rep);
free_trace:
	trace__free(&tr);
	return ret ? 1 : 0;
}

static int cmd_suite(int argc, char **argv)
{
	char svg_names[GEN_SHAPES * 2][REPORT_NAME_MAX + 8];
	struct replay reps[GEN_SHAPES * 2];
	const char *dir = NULL, *v;
	char path[PATH_MAX];
	struct suite_json sj;
	struct gen_params p;
	bool smoke = false;
	size_t count = 0;
	int i, r, ret, shape, kind;

	for (i = 0; i < argc; i++) {
		if ((r = opt__value(argc, argv, &i, "--out-dir", &v)) == 1)
			dir = v;
		else if (!r && !strcmp(argv[i], "--smoke"))
			smoke = true;
		else if (!r)
			return fail("suite: unknown option '%s'", argv[i]);
		if (r < 0)
			return fail("suite: %s needs a value", argv[i]);
	}
	if (!dir || !*dir)
		return fail("suite: --out-dir DIR is required");
	if (mkdir(dir, 0777) && errno != EEXIST)
		return fail("suite: cannot create '%s': %s", dir, strerror(errno));

	for (shape = 0; shape < GEN_SHAPES; shape++) {
		for (kind = EV_KIND_MEMORY; kind <= EV_KIND_CPU; kind++) {
			/* Fixed seeds: 1 + 2 * shape + kind, so every run plots the same traces. */
			gen__defaults(&p, (enum gen_shape)shape, (enum ev_kind)kind,
				      GEN_DEFAULT_PERIOD_NS);
			p.seed = 1 + 2 * (uint64_t)shape + (uint64_t)kind;
			if (smoke)
				p.samples = SUITE_SMOKE_SAMPLES;
			if (suite__one(dir, &p, &reps[count], svg_names[count],
				       sizeof(svg_names[count])))
				return 1;
			count++;
		}
	}
	sj = (struct suite_json){ .r = reps, .count = count, .smoke = smoke };
	ret = path__join(path, sizeof(path), dir, "results", ".json");
	if (!ret)
		ret = write_file(path, emit_suite_json, &sj);
	if (ret)
		return fail("suite: cannot write results.json into '%s': %s", dir, strerror(-ret));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "gen"))
		return cmd_gen(argc - 2, argv + 2);
	if (!strcmp(argv[1], "replay"))
		return cmd_replay(argc - 2, argv + 2);
	if (!strcmp(argv[1], "suite"))
		return cmd_suite(argc - 2, argv + 2);
	return fail("unknown command '%s' (gen, replay or suite; see --help)", argv[1]);
}
