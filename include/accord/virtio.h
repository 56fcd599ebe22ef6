/* SPDX-License-Identifier: MIT */
/*
 * The transport-independent half of a virtio device: feature negotiation,
 * the status state machine, the queues and NEEDS_RESET. A device supplies
 * an ops table; a transport (PCI here, vhost-user later) drives the state
 * and delivers the interrupts the device raises.
 */
#ifndef ACCORD_VIRTIO_H
#define ACCORD_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_config.h>

#include "accord/guest_mem.h"
#include "accord/log.h"
#include "accord/virtqueue.h"

#define VIRTIO_MAX_QUEUES 8

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint16_t device_id;
	/* Device config space; @offset + @len lies within config_size. */
	void (*config_read)(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len);
	void (*config_write)(struct virtio_dev *vdev, uint32_t offset, const void *data,
			     uint32_t len);
	/* DRIVER_OK with the queues started; an error marks the device NEEDS_RESET. */
	int (*activate)(struct virtio_dev *vdev);
	/* Stop all device work; nothing may touch guest memory afterwards. */
	void (*reset)(struct virtio_dev *vdev);
	/* The driver notified queue @q; runs on the event-loop thread, locked. */
	void (*queue_notify)(struct virtio_dev *vdev, unsigned int q);
};

struct virtio_transport_ops {
	void (*queue_interrupt)(void *ctx, unsigned int q);
	void (*config_interrupt)(void *ctx);
	/* Have queue @q processed again later (work was cut short to keep the loop fair). */
	void (*renotify)(void *ctx, unsigned int q);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;
	const struct guest_mem *mem;
	const struct acc_log *log;
	struct ratelimit *guest_rl;
	pthread_mutex_t lock; /* guards everything below and the device's state */

	uint64_t device_features;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	uint32_t config_size;
	unsigned int nr_queues;
	uint16_t queue_max;
	struct virtq vqs[VIRTIO_MAX_QUEUES];

	const struct virtio_transport_ops *transport;
	void *transport_ctx;
};

/* Features every accord device offers on top of its own. */
#define VIRTIO_COMMON_FEATURES                                              \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) | \
	 (1ull << VIRTIO_RING_F_INDIRECT_DESC))

void virtio__init(struct virtio_dev *vdev, const struct virtio_dev_ops *ops, void *priv,
		  uint64_t features, unsigned int nr_queues, uint16_t queue_max,
		  uint32_t config_size, const struct guest_mem *mem, const struct acc_log *log,
		  struct ratelimit *guest_rl);
void virtio__exit(struct virtio_dev *vdev);
void virtio__set_transport(struct virtio_dev *vdev, const struct virtio_transport_ops *ops,
			   void *ctx);

/* The following run with vdev->lock held. */
void virtio__set_status(struct virtio_dev *vdev, uint8_t status);
void virtio__reset(struct virtio_dev *vdev);
bool virtio__has_feature(const struct virtio_dev *vdev, unsigned int bit);
bool virtio__driver_ok(const struct virtio_dev *vdev);
/* The driver broke the rules: log (rate-limited), NEEDS_RESET, config interrupt. */
void virtio__needs_reset(struct virtio_dev *vdev, const char *why);
/* Interrupt the driver for queue @q if it asked for one. */
void virtio__queue_done(struct virtio_dev *vdev, unsigned int q);
/* Config space changed: bump the generation and interrupt. */
void virtio__config_changed(struct virtio_dev *vdev);
/* A request handler's answer: bytes written for the used ring, or one of these. */
#define VIRTIO_REQ_DEFERRED (-1000) /* completed later with virtq__push */
#define VIRTIO_REQ_BAD	    (-1001) /* the chain breaks the device's rules: NEEDS_RESET */

/*
 * Pop every available chain of queue @q and hand it to @handle, pushing the
 * results and interrupting the driver once for the batch. Locked.
 */
void virtio__process_queue(struct virtio_dev *vdev, unsigned int q,
			   int (*handle)(struct virtio_dev *vdev, struct virtq_chain *chain,
					 const char **why));

/* The driver set queue_enable for @q. */
void virtio__enable_queue(struct virtio_dev *vdev, unsigned int q);
/* Dispatch a notification for queue @q (takes the lock). */
void virtio__notify(struct virtio_dev *vdev, unsigned int q);

#endif
