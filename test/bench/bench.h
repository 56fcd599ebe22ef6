/* SPDX-License-Identifier: MIT */
/*
 * accord-bench: runs every benchmark (side by side with QEMU where the issue
 * asks for it), repeats each, and writes the figures as JSON and Markdown.
 * A benchmark adds one sample per run to a series; the report gives each
 * series' median, min and max and the exact command of one run. Nothing
 * here judges a time: a benchmark fails only when what it drives fails.
 */
#ifndef ACCORD_BENCH_H
#define ACCORD_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

#define BENCH_MAX_RUNS	 64
#define BENCH_MAX_SERIES 96
#define BENCH_CMD_MAX	 2048

struct bench_series {
	char id[64];	/* "launch.accord": group, then the VMM or variant */
	char group[32]; /* "launch": the series of one group are compared */
	char title[128];
	char unit[16];
	char command[BENCH_CMD_MAX]; /* one run's exact command line */
	char note[256];		     /* why it was skipped, or what a figure means */
	bool skipped;
	unsigned int n;
	double samples[BENCH_MAX_RUNS];
};

struct bench_ctx {
	const char *build_dir; /* accord, guest/probe/probe.elf, test/bench/... */
	char tmp_dir[256];     /* private scratch directory, removed at the end */
	const char *qemu;      /* qemu-system-x86_64, NULL if absent */
	bool smoke;	       /* one short run of everything (CI) */
	bool verbose;
	unsigned int runs; /* repetitions of each benchmark */
	double tsc_hz;	   /* the host's TSC rate: probe cycles to time */
	unsigned int nr_series;
	struct bench_series series[BENCH_MAX_SERIES];
	char estimator_dir[512]; /* where estimator-eval writes (not in smoke mode) */
	/* What it ran on, for the report. */
	char cpu[128], kernel[128], distro[64], kvm[96], date[40];
	char qemu_version[160], accord_version[160];
	char invocation[512]; /* accord-bench's own command line */
	unsigned int cores;
	double mem_gib;
	int failures; /* benchmarks that failed (the report says which) */
	char failed[512];
	char estimator_json[512]; /* its results.json, once written */
};

/* A series by id, created on first use; NULL when the table is full. */
struct bench_series *bench_series(struct bench_ctx *c, const char *group, const char *id,
				  const char *title, const char *unit);
void bench_add(struct bench_series *s, double v);
void bench_skip(struct bench_series *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bench_set_command(struct bench_series *s, const char *const argv[]);
/* argv as one shell command line (quoted where a shell would split it). */
void bench_format_command(const char *const argv[], char *buf, size_t cap);
void bench_log(const struct bench_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Order statistics of v[0..n) (sorted in place): the median, nearest-rank percentiles. */
double bench_median(double *v, unsigned int n);
double bench_percentile(double *v, unsigned int n, double p);

/* bench_proc.c: child processes */
struct bench_child {
	pid_t pid;
	struct timespec started;
	int status; /* wait status once reaped */
	bool reaped;
	struct rusage ru;
	double wall_ms; /* from just before fork to the reap */
};

/* Start argv[0] with stdout and stderr to out_path (truncated), stdin /dev/null. */
int bench_spawn(const char *const argv[], const char *out_path, struct bench_child *ch);
/* The same on one CPU (cpu >= 0; its children inherit it). */
int bench_spawn_on(const char *const argv[], const char *out_path, int cpu, struct bench_child *ch);
/* Reap, waiting at most timeout_ms; -ETIMEDOUT (still running) or 0. */
int bench_wait(struct bench_child *ch, int timeout_ms);
/* SIGKILL and reap. */
void bench_kill(struct bench_child *ch);
/* Exit code, or 128 + signal. */
int bench_exit_code(const struct bench_child *ch);
/* A file's contents, NUL-terminated and malloc'd (NULL if unreadable). */
char *bench_slurp(const char *path);
/* A /proc/PID/status field ("VmHWM:") in KiB; -1 if unreadable. */
long bench_status_kb(pid_t pid, const char *field);
/* Wait until path's contents contain needle (or the child exits, or timeout_ms). */
bool bench_wait_text(struct bench_child *ch, const char *path, const char *needle, int timeout_ms);
/* Wait for a unix socket to accept connections. */
bool bench_wait_socket(const char *path, int timeout_ms);
/* Run argv to completion within timeout_ms; its output in *out (malloc'd). */
int bench_run_capture(const char *const argv[], int timeout_ms, char **out);
int bench_run_capture_on(const char *const argv[], int timeout_ms, int cpu, char **out);
double bench_now_ms(void);

/* The benchmarks (each adds its series; returns 0 or negative errno on a failure). */
int bench_vmm_launch(struct bench_ctx *c);
int bench_vmm_memory(struct bench_ctx *c);
int bench_vmm_virtqueue(struct bench_ctx *c);
int bench_vmm_control(struct bench_ctx *c);
int bench_accord_grant(struct bench_ctx *c);
int bench_broker(struct bench_ctx *c);
int bench_uml(struct bench_ctx *c);
int bench_estimator(struct bench_ctx *c);

/* bench_report.c */
int bench_write_json(const struct bench_ctx *c, const char *path);
int bench_write_markdown(const struct bench_ctx *c, const char *path, const char *json_name);

#endif
