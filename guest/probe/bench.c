// SPDX-License-Identifier: MIT
/*
 * Benchmarks (bench=LIST), run at CPL 3 through user_call so that the loop
 * runs natively even where CPL 0 is interpreted. Each iteration's timed part
 * is measured in TSC cycles (the host turns cycles into time: the guest's
 * TSC runs at the host's rate under KVM); a tenth as many iterations
 * first warm caches and the device thread up and are not recorded. The
 * samples are sorted at CPL 3 as well, and the report is one line:
 *
 *   probe: bench NAME WHAT iterations N cycles min A p50 B p90 C p99 D max E mean F
 *
 * plus the check bench-NAME (every iteration completed; times are never
 * judged). The floors (bench=exits): a write to an address no device
 * claims (a bare exit to the VMM's userspace, which ignores it) and, with a
 * virtio-rng device, a notification with nothing new on its queue (a bare
 * ioeventfd: KVM signals an eventfd and resumes the guest).
 */
#include "probe.h"

struct bench_state {
	bench_op op;
	void *ctx;
	unsigned int iters, warmup;
	unsigned int done; /* recorded iterations */
	uint64_t sum;
};

/* Recorded samples; sorted in place. Not in .bss: start.S would zero it at CPL 0. */
static uint64_t samples[BENCH_ITERS_MAX] __attribute__((section(".noinit")));
static bool exits_ran;

static void sift_down(uint64_t *a, unsigned int root, unsigned int n)
{
	for (unsigned int child; (child = 2 * root + 1) < n; root = child) {
		uint64_t t;

		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
	}
}

static void heap_sort(uint64_t *a, unsigned int n)
{
	for (unsigned int i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (unsigned int end = n; end > 1; end--) {
		uint64_t t = a[0];

		a[0] = a[end - 1];
		a[end - 1] = t;
		sift_down(a, 0, end - 1);
	}
}

/* At CPL 3: warm up, run and time the iterations, sort the samples. */
static uint64_t bench_loop(void *arg)
{
	struct bench_state *s = arg;
	uint64_t cycles;

	for (unsigned int i = 0; i < s->warmup; i++) {
		if (!s->op(s->ctx, &cycles))
			return 0;
	}
	for (s->done = 0; s->done < s->iters; s->done++) {
		if (!s->op(s->ctx, &cycles))
			break;
		samples[s->done] = cycles;
		s->sum += cycles;
	}
	heap_sort(samples, s->done);
	return 1;
}

/* The sample at per-mille p of the sorted n (nearest rank). */
static uint64_t rank(unsigned int n, unsigned int p)
{
	uint64_t k = ((uint64_t)n * p + 999) / 1000;

	return samples[k ? k - 1 : 0];
}

bool bench_run(const char *name, const char *what, unsigned int iters, bench_op op, void *ctx)
{
	struct bench_state s = { op, ctx, iters, iters / 10 ? iters / 10 : 1, 0, 0 };
	char check_name[32];
	unsigned int n;

	user_init();
	user_call(bench_loop, &s);
	n = s.done;
	probe_snprintf(check_name, sizeof(check_name), "bench-%s", name);
	if (!n) {
		check(check_name, false, "%s: no iteration completed", what);
		return false;
	}
	pr("bench %s %s iterations %u cycles min %lu p50 %lu p90 %lu p99 %lu max %lu mean %lu",
	   name, what, n, samples[0], rank(n, 500), rank(n, 900), rank(n, 990), samples[n - 1],
	   s.sum / n);
	check(check_name, n == iters, "%s: %u of %u iterations completed", what, n, iters);
	return n == iters;
}

static uint64_t cycles_since(uint64_t t0)
{
	__asm__ volatile("lfence" ::: "memory");
	return rdtsc() - t0;
}

static uint64_t start_tsc(void)
{
	uint64_t t = rdtsc();

	__asm__ volatile("lfence" ::: "memory");
	return t;
}

static bool op_mmio_exit(void *ctx, uint64_t *cycles)
{
	uint64_t addr = *(const uint64_t *)ctx, t0 = start_tsc();

	mmio_write32(addr, 0);
	*cycles = cycles_since(t0);
	return true;
}

struct notify_ctx {
	uint64_t addr;
	uint16_t queue;
};

static bool op_notify(void *ctx, uint64_t *cycles)
{
	const struct notify_ctx *n = ctx;
	uint64_t t0 = start_tsc();

	mmio_write16(n->addr, n->queue);
	*cycles = cycles_since(t0);
	return true;
}

/*
 * The floors. notify: a virtio-pci notification address whose queue has
 * nothing new posted (0: none, only the userspace exit is measured).
 */
void bench_exits(const struct options *opt, uint64_t notify, uint16_t queue)
{
	struct notify_ctx n = { notify, queue };
	uint64_t addr = opt->bench_mmio;

	exits_ran = true;
	if (!paging_map(addr, 4096, true)) {
		check("bench-mmio-exit", false, "cannot map 0x%lx", addr);
		return;
	}
	bench_run("mmio-exit", "unclaimed-write", opt->bench_iters, op_mmio_exit, &addr);
	if (notify)
		bench_run("ioeventfd", "empty-notify", opt->bench_iters, op_notify, &n);
}

bool bench_exits_ran(void)
{
	return exits_ran;
}
