// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "accord/virtio.h"

void virtio__init(struct virtio_dev *vdev, const struct virtio_dev_ops *ops, void *priv,
		  uint64_t features, unsigned int nr_queues, uint16_t queue_max,
		  uint32_t config_size, const struct guest_mem *mem, const struct acc_log *log,
		  struct ratelimit *guest_rl)
{
	memset(vdev, 0, sizeof(*vdev));
	vdev->ops = ops;
	vdev->priv = priv;
	vdev->device_features = features | VIRTIO_COMMON_FEATURES;
	vdev->nr_queues = nr_queues < VIRTIO_MAX_QUEUES ? nr_queues : VIRTIO_MAX_QUEUES;
	vdev->queue_max = queue_max < VIRTQ_MAX_SIZE ? queue_max : VIRTQ_MAX_SIZE;
	vdev->config_size = config_size;
	vdev->mem = mem;
	vdev->log = log;
	vdev->guest_rl = guest_rl;
	pthread_mutex_init(&vdev->lock, NULL);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtq__reset(&vdev->vqs[i], vdev->queue_max);
}

void virtio__exit(struct virtio_dev *vdev)
{
	pthread_mutex_destroy(&vdev->lock);
}

void virtio__set_transport(struct virtio_dev *vdev, const struct virtio_transport_ops *ops,
			   void *ctx)
{
	vdev->transport = ops;
	vdev->transport_ctx = ctx;
}

bool virtio__has_feature(const struct virtio_dev *vdev, unsigned int bit)
{
	return vdev->driver_features & (1ull << bit);
}

bool virtio__driver_ok(const struct virtio_dev *vdev)
{
	return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void virtio__reset(struct virtio_dev *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	vdev->status = 0;
	vdev->driver_features = 0;
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtq__reset(&vdev->vqs[i], vdev->queue_max);
}

void virtio__needs_reset(struct virtio_dev *vdev, const char *why)
{
	log__ratelimited(vdev->log, vdev->guest_rl, LOG_WARN,
			 "%s: guest error: %s; device needs reset", vdev->ops->name, why);
	if (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev->transport->config_interrupt(vdev->transport_ctx);
}

static int virtio__start_queues(struct virtio_dev *vdev, const char **why)
{
	bool event_idx = virtio__has_feature(vdev, VIRTIO_RING_F_EVENT_IDX);
	bool indirect = virtio__has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC);

	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		struct virtq *vq = &vdev->vqs[i];

		if (vq->enabled && virtq__start(vq, vdev->mem, event_idx, indirect, why))
			return -1;
	}
	return 0;
}

/* FEATURES_OK is only kept when the driver accepted a subset with VERSION_1 (§2.2). */
static bool virtio__features_acceptable(const struct virtio_dev *vdev)
{
	return !(vdev->driver_features & ~vdev->device_features) &&
	       virtio__has_feature(vdev, VIRTIO_F_VERSION_1);
}

void virtio__set_status(struct virtio_dev *vdev, uint8_t status)
{
	uint8_t added = status & ~vdev->status;
	const char *why;

	if (status == 0) {
		virtio__reset(vdev);
		return;
	}
	/* A device that needs a reset takes nothing but the reset. */
	if (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	/* The driver cannot clear bits without a reset, nor set NEEDS_RESET. */
	status = (uint8_t)((status | vdev->status) & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
		 (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !virtio__features_acceptable(vdev))
		status &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		vdev->status = status & (uint8_t)~VIRTIO_CONFIG_S_DRIVER_OK;
		virtio__needs_reset(vdev, "DRIVER_OK without FEATURES_OK");
		return;
	}
	vdev->status = status;
	if (!(added & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	if (virtio__start_queues(vdev, &why)) {
		virtio__needs_reset(vdev, why);
		return;
	}
	if (vdev->ops->activate && vdev->ops->activate(vdev))
		virtio__needs_reset(vdev, "device could not be activated");
}

void virtio__queue_done(struct virtio_dev *vdev, unsigned int q)
{
	if (virtq__should_interrupt(&vdev->vqs[q]))
		vdev->transport->queue_interrupt(vdev->transport_ctx, q);
}

void virtio__config_changed(struct virtio_dev *vdev)
{
	vdev->config_generation++;
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev->transport->config_interrupt(vdev->transport_ctx);
}

void virtio__notify(struct virtio_dev *vdev, unsigned int q)
{
	pthread_mutex_lock(&vdev->lock);
	if (q < vdev->nr_queues && vdev->vqs[q].desc && virtio__driver_ok(vdev))
		vdev->ops->queue_notify(vdev, q);
	pthread_mutex_unlock(&vdev->lock);
}

void virtio__enable_queue(struct virtio_dev *vdev, unsigned int q)
{
	struct virtq *vq = &vdev->vqs[q];
	const char *why;

	if (vq->enabled)
		return;
	vq->enabled = true;
	/* Queues enabled before DRIVER_OK start with the device; later ones now. */
	if ((vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    virtq__start(vq, vdev->mem, virtio__has_feature(vdev, VIRTIO_RING_F_EVENT_IDX),
			 virtio__has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC), &why))
		virtio__needs_reset(vdev, why);
}

void virtio__process_queue(struct virtio_dev *vdev, unsigned int q,
			   int (*handle)(struct virtio_dev *vdev, struct virtq_chain *chain,
					 const char **why))
{
	struct virtq *vq = &vdev->vqs[q];
	unsigned int budget = vq->size;
	struct virtq_chain chain;
	bool pushed = false;
	const char *why;
	int ret;

	do {
		while (virtio__driver_ok(vdev) && (ret = virtq__pop(vq, &chain, &why)) == 0) {
			ret = handle(vdev, &chain, &why);
			if (ret == VIRTIO_REQ_BAD) {
				ret = -EINVAL; /* not to be taken for an empty queue */
				break;
			}
			if (ret != VIRTIO_REQ_DEFERRED) {
				virtq__push(vq, chain.head, (uint32_t)ret);
				pushed = true;
			}
			/* One queue's worth per notification, so one guest cannot hold the loop. */
			if (!--budget) {
				ret = -EAGAIN;
				break;
			}
		}
		if (!virtio__driver_ok(vdev))
			break;
		if (ret == -EAGAIN) {
			if (vdev->transport->renotify)
				vdev->transport->renotify(vdev->transport_ctx, q);
			break;
		}
		if (ret != -ENOENT) {
			virtio__needs_reset(vdev, why);
			break;
		}
	} while (virtq__enable_notify(vq));
	if (pushed)
		virtio__queue_done(vdev, q);
}
