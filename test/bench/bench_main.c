// SPDX-License-Identifier: MIT
/*
 * accord-bench: runs the benchmarks (scripts/bench is the way in), then
 * writes BENCHMARKS.md and benchmarks.json into --out-dir. See
 * docs/bench.md for what each one measures and how.
 */
#include "bench.h"

#include "accord/tmpfile.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <x86intrin.h>

static const struct {
	const char *name;
	int (*run)(struct bench_ctx *c);
} benchmarks[] = {
	{ "launch", bench_vmm_launch },	      { "memory", bench_vmm_memory },
	{ "virtqueue", bench_vmm_virtqueue }, { "control", bench_vmm_control },
	{ "grant", bench_accord_grant },      { "uml", bench_uml },
	{ "broker", bench_broker },	      { "estimator", bench_estimator },
};
#define NR_BENCHMARKS (sizeof(benchmarks) / sizeof(benchmarks[0]))

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: accord-bench [--smoke] [--runs N] [--only LIST] [--build-dir DIR]\n"
		"                    [--out-dir DIR] [--qemu PATH]\n\n"
		"Run accord's benchmarks (side by side with QEMU where it applies) and write\n"
		"BENCHMARKS.md and benchmarks.json into --out-dir (default: .); the estimator\n"
		"evaluation writes into OUT-DIR/estimator. Figures are medians over --runs\n"
		"runs (default 5) with min and max.\n\n"
		"  --smoke       one short run of each (CI); the estimator's plots go to a\n"
		"                scratch directory, not OUT-DIR\n"
		"  --only LIST   comma list of: launch, memory, virtqueue, control, grant, uml,\n"
		"                broker, estimator\n"
		"  --build-dir   accord's build directory (default: .)\n"
		"  --qemu PATH   qemu-system-x86_64 (default: from PATH; none: accord alone)\n"
		"  --require-qemu  fail at once without QEMU (instead of skipping its side)\n"
		"  --source-dir  the source tree, for the git revision in the report\n\n"
		"Exit status: 0, or 1 if a benchmark failed (the report names it), 2 for bad\n"
		"options.\n");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The host's TSC rate, against CLOCK_MONOTONIC over ~200 ms. */
static double calibrate_tsc(void)
{
	double t0 = bench_now_ms(), t1;
	uint64_t c0 = __rdtsc(), c1;

	do
		t1 = bench_now_ms();
	while (t1 - t0 < 200);
	c1 = __rdtsc();
	return (double)(c1 - c0) / ((t1 - t0) / 1e3);
}

/* The first line of a command's output, or "" (trailing newline cut). */
static void first_line(const char *const argv[], char *buf, size_t len)
{
	char *out = NULL;

	buf[0] = 0;
	if (bench_run_capture(argv, 10000, &out) >= 0 && out) {
		out[strcspn(out, "\n")] = 0;
		snprintf(buf, len, "%s", out);
	}
	free(out);
}

/* A field of a /proc file ("model name\t: AMD EPYC" -> "AMD EPYC"). */
static void proc_field(const char *path, const char *key, char *buf, size_t len)
{
	char *text = bench_slurp(path), *p;

	buf[0] = 0;
	if (text && (p = strstr(text, key)) && (p = strchr(p, ':'))) {
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = 0;
		snprintf(buf, len, "%s", p);
	}
	free(text);
}

static void describe_machine(struct bench_ctx *c, const char *source_dir)
{
	char accord_bin[512], mem[64], git[64] = "", *v;
	struct utsname u;
	time_t now = time(NULL);

	proc_field("/proc/cpuinfo", "model name", c->cpu, sizeof(c->cpu));
	c->cores = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	proc_field("/proc/meminfo", "MemTotal", mem, sizeof(mem));
	c->mem_gib = strtod(mem, NULL) / (1024.0 * 1024.0);
	if (!uname(&u))
		snprintf(c->kernel, sizeof(c->kernel), "Linux %s", u.release);
	v = bench_slurp("/etc/debian_version");
	snprintf(c->distro, sizeof(c->distro), "Debian %s", v ? v : "?");
	c->distro[strcspn(c->distro, "\n")] = 0;
	free(v);
	snprintf(c->kvm, sizeof(c->kvm), "%s",
		 !access("/sys/module/kvm_pvm", F_OK)	  ? "kvm_pvm (nested; CPL 0 interpreted)"
		 : !access("/sys/module/kvm_intel", F_OK) ? "kvm_intel"
		 : !access("/sys/module/kvm_amd", F_OK)	  ? "kvm_amd"
							  : "unknown");
	strftime(c->date, sizeof(c->date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	snprintf(accord_bin, sizeof(accord_bin), "%s/accord", c->build_dir);
	first_line((const char *const[]){ accord_bin, "--version", NULL }, c->accord_version,
		   sizeof(c->accord_version));
	if (source_dir)
		first_line((const char *const[]){ "git", "-C", source_dir, "describe", "--always",
						  "--dirty", NULL },
			   git, sizeof(git));
	if (git[0]) {
		size_t n = strlen(c->accord_version);

		snprintf(c->accord_version + n, sizeof(c->accord_version) - n, " (git %s)", git);
	}
	if (c->qemu)
		first_line((const char *const[]){ c->qemu, "--version", NULL }, c->qemu_version,
			   sizeof(c->qemu_version));
}

/* qemu-system-x86_64 on PATH, or NULL. */
static const char *find_qemu(char *buf, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, len, "%.*s/qemu-system-x86_64", (int)n, path);
		if (n && !access(buf, X_OK))
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

static bool wanted(const char *only, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = only; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strcspn(p, ",") == n && !strncmp(p, name, n))
			return true;
	}
	return !only;
}

static bool only_valid(const char *only)
{
	for (const char *p = only; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		size_t n = strcspn(p, ",");
		bool known = false;

		for (size_t i = 0; i < NR_BENCHMARKS; i++)
			known |= strlen(benchmarks[i].name) == n &&
				 !strncmp(p, benchmarks[i].name, n);
		if (!known) {
			fprintf(stderr, "accord-bench: unknown benchmark '%.*s' in --only\n",
				(int)n, p);
			return false;
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "smoke", no_argument, NULL, 's' },
						  { "runs", required_argument, NULL, 'r' },
						  { "only", required_argument, NULL, 'o' },
						  { "build-dir", required_argument, NULL, 'b' },
						  { "out-dir", required_argument, NULL, 'd' },
						  { "qemu", required_argument, NULL, 'q' },
						  { "source-dir", required_argument, NULL, 'S' },
						  { "help", no_argument, NULL, 'h' },
						  { "require-qemu", no_argument, NULL, 'Q' },
						  { NULL, 0, NULL, 0 } };
	static struct bench_ctx ctx;
	struct bench_ctx *c = &ctx;
	const char *only = NULL, *out_dir = ".", *source_dir = NULL;
	bool require_qemu = false;
	char qemu_buf[512], md[1024], json[1024];
	size_t len = 0;
	int opt, ret;

	c->build_dir = ".";
	c->runs = 5;
	c->qemu = find_qemu(qemu_buf, sizeof(qemu_buf));
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *end;
		unsigned long n;

		switch (opt) {
		case 's':
			c->smoke = true;
			break;
		case 'r':
			n = strtoul(optarg, &end, 10);
			if (*end || !n || n > BENCH_MAX_RUNS / 2) {
				fprintf(stderr, "accord-bench: --runs takes 1 to %d\n",
					BENCH_MAX_RUNS / 2);
				return 2;
			}
			c->runs = (unsigned int)n;
			break;
		case 'o':
			if (!only_valid(optarg))
				return 2;
			only = optarg;
			break;
		case 'b':
			c->build_dir = optarg;
			break;
		case 'd':
			out_dir = optarg;
			break;
		case 'S':
			source_dir = optarg;
			break;
		case 'q':
			c->qemu = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case 'Q':
			require_qemu = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (c->smoke)
		c->runs = 1;
	if (require_qemu && !c->qemu) {
		fprintf(stderr, "accord-bench: qemu-system-x86_64 not found (scripts/setup-deps "
				"installs qemu-system-x86)\n");
		return 1;
	}
	for (int i = 0; i < argc && len < sizeof(c->invocation); i++)
		len += (size_t)snprintf(c->invocation + len, sizeof(c->invocation) - len, "%s%s",
					i ? " " : "", i ? argv[i] : "accord-bench");
	ret = acc_mkdtemp(c->tmp_dir, sizeof(c->tmp_dir), "/tmp", "accord-bench");
	if (ret) {
		fprintf(stderr, "accord-bench: cannot create a scratch directory: %s\n",
			strerror(-ret));
		return 1;
	}
	snprintf(c->estimator_dir, sizeof(c->estimator_dir), "%s/estimator", out_dir);
	c->tsc_hz = calibrate_tsc();
	describe_machine(c, source_dir);

	for (size_t i = 0; i < NR_BENCHMARKS; i++) {
		double t0 = bench_now_ms();

		if (!wanted(only, benchmarks[i].name))
			continue;
		bench_log(c, "%s ...", benchmarks[i].name);
		ret = benchmarks[i].run(c);
		if (ret) {
			size_t n = strlen(c->failed);

			c->failures++;
			snprintf(c->failed + n, sizeof(c->failed) - n, "%s%s (%s)", n ? ", " : "",
				 benchmarks[i].name, strerror(-ret));
		}
		bench_log(c, "%s: %s in %.1f s", benchmarks[i].name, ret ? "FAILED" : "done",
			  (bench_now_ms() - t0) / 1e3);
	}
	/* A series that neither has figures nor says why it was skipped failed somewhere. */
	for (unsigned int i = 0; i < c->nr_series; i++) {
		const struct bench_series *s = &c->series[i];
		size_t n = strlen(c->failed);

		if (s->n || s->skipped)
			continue;
		c->failures++;
		snprintf(c->failed + n, sizeof(c->failed) - n, "%s%s (no figures)", n ? ", " : "",
			 s->id);
	}

	snprintf(md, sizeof(md), "%s/BENCHMARKS.md", out_dir);
	snprintf(json, sizeof(json), "%s/benchmarks.json", out_dir);
	ret = bench_write_json(c, json);
	if (!ret)
		ret = bench_write_markdown(c, md, "benchmarks.json");
	nftw(c->tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (ret) {
		fprintf(stderr, "accord-bench: cannot write the report in %s: %s\n", out_dir,
			strerror(-ret));
		return 1;
	}
	bench_log(c, "wrote %s and %s%s", md, json,
		  c->failures ? "; some benchmarks FAILED (see the report)" : "");
	return c->failures ? 1 : 0;
}
