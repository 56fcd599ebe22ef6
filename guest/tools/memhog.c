// SPDX-License-Identifier: MIT
/*
 * memhog: a demo workload for the guest. It allocates anonymous memory and
 * writes every page of it at a steady rate up to a size, holds it, then
 * frees it, printing what it touched and the kernel's MemAvailable as it
 * goes. It never talks to the resource device: the module's estimator sees
 * the demand and asks the host. Linked statically for the busybox
 * initramfs.
 *
 *   memhog [--rate SIZE] [--max SIZE] [--step SIZE] [--hold SECONDS]
 *          [--interval SECONDS]
 *
 * Exits 0 when it got to --max and held it, 1 when an allocation failed,
 * 2 on a usage error.
 *
 * Copyright (c) 2026 The accord developers
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "parse_size.h"

#define MIB (1024.0 * 1024.0)

static const char usage_text[] =
	"usage: memhog [--rate SIZE] [--max SIZE] [--step SIZE] [--hold SECONDS]\n"
	"              [--interval SECONDS]\n"
	"\n"
	"Allocates and touches memory at SIZE per second (--rate, default 16M) up to\n"
	"--max (default 256M) in --step pieces (default 1M), holds it --hold seconds\n"
	"(default 0), frees it and exits. Prints a progress line every --interval\n"
	"seconds (default 1) and at the end:\n"
	"  memhog: 64 MiB touched, MemAvailable 40 MiB\n"
	"SIZE: bytes or with K, M, G (powers of 1024). Exit status: 0 done, 1 an\n"
	"allocation failed, 2 usage.\n";

struct chunk {
	struct chunk *next;
	size_t len;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out >= 0 && *out <= 86400 * 365;
}

/* MemAvailable from /proc/meminfo, bytes (-1 when it cannot be read). */
static long long mem_available(void)
{
	char line[128];
	long long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib < 0 ? -1 : kib * 1024;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR && !stop)
		;
}

static void progress(uint64_t touched, const char *what)
{
	long long avail = mem_available();

	if (avail < 0)
		printf("memhog: %.0f MiB %s, MemAvailable unknown\n", (double)touched / MIB, what);
	else
		printf("memhog: %.0f MiB %s, MemAvailable %.0f MiB\n", (double)touched / MIB, what,
		       (double)avail / MIB);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "max", required_argument, NULL, 'm' },
		{ "step", required_argument, NULL, 's' },
		{ "hold", required_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long rate = 16ULL << 20, max = 256ULL << 20, step = 1ULL << 20;
	uint64_t touched = 0;
	double hold = 0, interval = 1, start, next_report;
	long page = sysconf(_SC_PAGESIZE);
	struct chunk *chunks = NULL;
	struct sigaction sa;
	int c;

	while ((c = getopt_long(argc, argv, "r:m:s:H:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!parse_size(optarg, &rate) || !rate)
				goto bad;
			break;
		case 'm':
			if (!parse_size(optarg, &max) || !max)
				goto bad;
			break;
		case 's':
			if (!parse_size(optarg, &step) || step < (uint64_t)page ||
			    step > (1ULL << 30))
				goto bad;
			break;
		case 'H':
			if (!parse_seconds(optarg, &hold))
				goto bad;
			break;
		case 'i':
			if (!parse_seconds(optarg, &interval) || interval <= 0)
				goto bad;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "memhog: unexpected argument '%s' (memhog --help)\n", argv[optind]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("memhog: touching %.0f MiB at %.1f MiB/s in %.2f MiB steps\n", (double)max / MIB,
	       (double)rate / MIB, (double)step / MIB);
	progress(0, "touched");
	start = now_s();
	next_report = start + interval;
	while (touched < max && !stop) {
		size_t len = (size_t)(max - touched < step ? max - touched : step);
		struct chunk *ch;
		double due;

		len = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
		ch = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ch == MAP_FAILED) {
			fprintf(stderr, "memhog: allocating %zu bytes after %.0f MiB: %s\n", len,
				(double)touched / MIB, strerror(errno));
			progress(touched, "touched before the failure");
			return 1;
		}
		/* Every page written, not just mapped: the memory is really used. */
		memset(ch, 0x5a, len);
		ch->len = len;
		ch->next = chunks;
		chunks = ch;
		touched += len;

		if (now_s() >= next_report) {
			progress(touched, "touched");
			next_report += interval;
		}
		/* Paced: byte n is due n / rate seconds after the start. */
		due = start + (double)touched / (double)rate;
		sleep_s(due - now_s());
	}
	progress(touched, stop ? "touched (stopped)" : "touched");
	if (hold > 0 && !stop) {
		printf("memhog: holding %.0f MiB for %.1f s\n", (double)touched / MIB, hold);
		fflush(stdout);
		sleep_s(hold);
		progress(touched, "held");
	}
	while (chunks) {
		struct chunk *next = chunks->next;

		munmap(chunks, chunks->len);
		chunks = next;
	}
	progress(0, "still touched (freed)");
	return 0;

bad:
	fprintf(stderr, "memhog: bad value '%s' for an option (memhog --help)\n", optarg);
	return 2;
}
