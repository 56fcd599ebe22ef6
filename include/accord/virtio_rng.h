/* SPDX-License-Identifier: MIT */
#ifndef ACCORD_VIRTIO_RNG_H
#define ACCORD_VIRTIO_RNG_H

#include "accord/virtio.h"

struct virtio_rng {
	struct virtio_dev vdev;
};

void virtio_rng__init(struct virtio_rng *rng, const struct guest_mem *mem,
		      const struct acc_log *log, struct ratelimit *guest_rl);
void virtio_rng__exit(struct virtio_rng *rng);

#endif
