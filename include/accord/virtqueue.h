/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x §2.7), independent of any transport. Every
 * index, length and address the driver wrote is checked before use; a
 * malformed chain is reported so the device can go NEEDS_RESET.
 */
#ifndef ACCORD_VIRTQUEUE_H
#define ACCORD_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "accord/guest_mem.h"

#define VIRTQ_MAX_SIZE 256
/* A driver must not build a chain longer than the queue (§2.7.5.3.1). */
#define VIRTQ_CHAIN_MAX VIRTQ_MAX_SIZE

struct virtq_buf {
	uint8_t *addr; /* host pointer, valid for len bytes */
	uint32_t len;
};

/* One descriptor chain: the device-readable buffers first, then the writable ones. */
struct virtq_chain {
	uint16_t head;
	unsigned int nr_out;
	unsigned int nr_in;
	uint64_t out_len;
	uint64_t in_len;
	struct virtq_buf bufs[VIRTQ_CHAIN_MAX];
};

struct virtq {
	uint16_t max_size; /* what the device offers */
	/* Set by the driver through the transport. */
	uint16_t size;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint16_t msix_vector;
	bool enabled;

	/* Set up by virtq__start. */
	const struct guest_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool event_idx;
	bool indirect;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
};

/* Back to the state after a device reset. */
void virtq__reset(struct virtq *vq, uint16_t max_size);
/* Check the driver's ring addresses and map them; -EINVAL/-EFAULT with @why set. */
int virtq__start(struct virtq *vq, const struct guest_mem *mem, bool event_idx, bool indirect,
		 const char **why);
/*
 * Take the next available chain. 0: @chain filled; -ENOENT: nothing
 * available; -EINVAL: the driver broke the rules (@why says how).
 */
int virtq__pop(struct virtq *vq, struct virtq_chain *chain, const char **why);
/* Return a chain to the driver with @written bytes written into it. */
void virtq__push(struct virtq *vq, uint16_t head, uint32_t written);
/* After pushing: does the driver want an interrupt (flags or event index)? */
bool virtq__should_interrupt(struct virtq *vq);
/*
 * Before going idle: ask the driver to notify for new buffers (event index)
 * and return true when some arrived meanwhile, so the caller pops again.
 */
bool virtq__enable_notify(struct virtq *vq);
/* Copy up to @len bytes from the readable part of @chain, from byte @offset. */
uint64_t virtq__read(const struct virtq_chain *chain, uint64_t offset, void *dst, uint64_t len);
/* Copy into the writable part of @chain from byte @offset; returns bytes copied. */
uint64_t virtq__write(const struct virtq_chain *chain, uint64_t offset, const void *src,
		      uint64_t len);

#endif
