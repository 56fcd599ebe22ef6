// SPDX-License-Identifier: MIT
/*
 * virtio-rng (device type 4): one request queue. Two 64-byte requests, the
 * first completed by interrupt, the second by polling with interrupts
 * suppressed; the device must fill both, with different, not all-zero bytes.
 * Then the benchmarks that need the device: the floors (bench=exits) and
 * 64-byte round trips, polled, at CPL 3 (bench=rng).
 */
#include "virtio.h"

#define RNG_LEN 64

static uint8_t rng_buf[2][RNG_LEN];

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

static bool request(struct virtio_dev *d, struct virtqueue *vq, unsigned int i, unsigned int flags)
{
	struct vq_buf b = { rng_buf[i], RNG_LEN, true };
	bool poll = flags & VQ_POLL;
	struct vq_result r;
	bool ok;

	char extra[96] = "";

	ok = vq_run(vq, &b, 1, flags, &r) && r.len == RNG_LEN && (poll ? !r.irqs : r.irqs);
	if (r.intx)
		probe_snprintf(extra, sizeof(extra), " (queue), %u spurious (ISR 0, ignored)",
			       r.spurious);
	if (r.late)
		probe_snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			       ", %u late completions skipped", r.late);
	check(virtio_check_name(d, poll ? "poll" : "irq"), ok,
	      "%s, used len %u of %u, %u interrupts on vector 0x%x%s, %s",
	      !r.done	? "no completion"
	      : r.id_ok ? "completed"
			: "completed with a wrong id",
	      r.len, RNG_LEN, r.irqs, vq->vector, extra, r.notified ? "notified" : "not notified");
	return ok;
}

/* One polled 64-byte request at CPL 3: posted, notified, used entry taken. */
static bool op_round_trip(void *ctx, uint64_t *cycles)
{
	struct vq_buf b = { rng_buf[1], RNG_LEN, true };
	struct vq_result r;
	uint64_t t0 = rdtsc();
	bool ok = vq_run(ctx, &b, 1, VQ_POLL | VQ_NO_QUIET, &r);

	*cycles = rdtsc() - t0;
	return ok && r.len == RNG_LEN;
}

void virtio_rng_run(struct virtio_dev *d, const struct options *opt)
{
	static struct virtqueue vq;
	bool ok0, ok1;

	if (!virtio_start(d, 0, &vq, 1))
		return;
	ok0 = request(d, &vq, 0, 0);
	ok1 = request(d, &vq, 1, VQ_POLL);
	check(virtio_check_name(d, "data"),
	      ok0 && ok1 && !all_zero(rng_buf[0], RNG_LEN) && !all_zero(rng_buf[1], RNG_LEN) &&
		      mem_mismatch(rng_buf[0], rng_buf[1], RNG_LEN) != RNG_LEN,
	      "first bytes %02x%02x%02x%02x and %02x%02x%02x%02x", rng_buf[0][0], rng_buf[0][1],
	      rng_buf[0][2], rng_buf[0][3], rng_buf[1][0], rng_buf[1][1], rng_buf[1][2],
	      rng_buf[1][3]);
	if (ok0 && ok1 && (opt->bench & BENCH_EXITS))
		bench_exits(opt, vq.notify, vq.index);
	if (ok0 && ok1 && (opt->bench & BENCH_RNG))
		bench_run("rng", "64-byte-round-trip", opt->bench_iters, op_round_trip, &vq);
	virtio_stop(d);
}
