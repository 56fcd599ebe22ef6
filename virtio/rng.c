// SPDX-License-Identifier: MIT
/* virtio-rng (virtio 1.x §5.4): one queue; each buffer is filled from getrandom(2). */
#include <errno.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>

#include "accord/virtio_rng.h"

/* Bound the work one request can ask for; the driver simply asks again. */
#define RNG_MAX_PER_REQUEST 65536u

static int rng_fill(struct virtio_dev *vdev, struct virtq_chain *chain, const char **why)
{
	uint64_t budget = RNG_MAX_PER_REQUEST, written = 0;

	if (chain->nr_out) {
		*why = "virtio-rng buffer is not device-writable";
		return VIRTIO_REQ_BAD;
	}
	for (unsigned int i = 0; i < chain->nr_in && budget; i++) {
		struct virtq_buf *b = &chain->bufs[i];
		size_t want = b->len < budget ? b->len : (size_t)budget, got = 0;

		while (got < want) {
			ssize_t n = getrandom(b->addr + got, want - got, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return (int)written;
			got += (size_t)n;
		}
		written += got;
		budget -= got;
	}
	return (int)written;
}

static void rng_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	virtio__process_queue(vdev, q, rng_fill);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.queue_notify = rng_queue_notify,
};

void virtio_rng__init(struct virtio_rng *rng, const struct guest_mem *mem,
		      const struct acc_log *log, struct ratelimit *guest_rl)
{
	virtio__init(&rng->vdev, &rng_ops, rng, 0, 1, VIRTQ_MAX_SIZE, 0, mem, log, guest_rl);
}

void virtio_rng__exit(struct virtio_rng *rng)
{
	virtio__exit(&rng->vdev);
}
