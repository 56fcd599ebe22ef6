// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource: the driver of accord's resource negotiation device
 * (virtio device 57, modern only, five queues). Shaped like virtio_balloon
 * and virtio_mem: probe sets the device up and says HELLO, queue callbacks
 * and configuration changes only queue work, and remove unwinds in the
 * reverse order (stop the work, reset, delete the queues, free).
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "vres.h"

#define VRES_CONFIG_TRIES 64

static ulong mem_rate;
module_param(mem_rate, ulong, 0444);
MODULE_PARM_DESC(mem_rate,
		 "fastest the guest changes its memory reservation, bytes/s (0: the estimator's rate limit)");

struct dentry *vres_debugfs_root;

u64 vres_txn(struct vres *vr)
{
	return atomic64_inc_return(&vr->next_txn);
}

static u32 vres_config_generation(struct virtio_device *vdev)
{
	return vdev->config->generation ? vdev->config->generation(vdev) : 0;
}

/* The whole configuration between two equal generations (-EAGAIN if never). */
int vres_config_read(struct virtio_device *vdev, struct vres_cfg *c)
{
	unsigned int tries;
	u32 gen;

	for (tries = 0; tries < VRES_CONFIG_TRIES; tries++) {
		gen = vres_config_generation(vdev);
		virtio_cread_le(vdev, struct virtio_resource_config, version, &c->version);
		virtio_cread_le(vdev, struct virtio_resource_config, guest_id, &c->guest_id);
		virtio_cread_le(vdev, struct virtio_resource_config, generation,
				&c->generation);
		virtio_cread_le(vdev, struct virtio_resource_config, inventory_size,
				&c->inventory_size);
		virtio_cread_le(vdev, struct virtio_resource_config, mem_granule,
				&c->mem_granule);
		virtio_cread_le(vdev, struct virtio_resource_config, mem_max, &c->mem_max);
		virtio_cread_le(vdev, struct virtio_resource_config, mem_granted,
				&c->mem_granted);
		virtio_cread_le(vdev, struct virtio_resource_config, mem_reserved,
				&c->mem_reserved);
		virtio_cread_le(vdev, struct virtio_resource_config, vcpus_max, &c->vcpus_max);
		virtio_cread_le(vdev, struct virtio_resource_config, vcpus_granted,
				&c->vcpus_granted);
		virtio_cread_le(vdev, struct virtio_resource_config, max_message,
				&c->max_message);
		virtio_cread_le(vdev, struct virtio_resource_config, max_outstanding,
				&c->max_outstanding);
		if (vres_config_generation(vdev) == gen)
			return 0;
	}
	return -EAGAIN;
}

/* What the driver relies on; the host is not trusted to keep it. */
int vres_config_check(const struct vres_cfg *c)
{
	if (c->version != VIRTIO_RESOURCE_VERSION)
		return -EPROTONOSUPPORT;
	if (!rc_is_pow2(c->mem_granule) || c->mem_granted > c->mem_max ||
	    c->mem_reserved > c->mem_max || c->vcpus_granted > c->vcpus_max ||
	    c->max_message < VRES_MSG_MAX || c->inventory_size > VRES_INVENTORY_MAX)
		return -EINVAL;
	return 0;
}

/* Queue work unless remove has begun (callbacks may run in interrupt context). */
void vres_queue_work(struct vres *vr, struct work_struct *work)
{
	unsigned long flags;

	spin_lock_irqsave(&vr->stop_lock, flags);
	if (!vr->stopping)
		queue_work(system_freezable_wq, work);
	spin_unlock_irqrestore(&vr->stop_lock, flags);
}

/* No new work, wake every waiter, and wait for the work that runs. */
static void vres_stop(struct vres *vr)
{
	spin_lock_irq(&vr->stop_lock);
	vr->stopping = true;
	spin_unlock_irq(&vr->stop_lock);
	vres_chans_wake(vr);
	cancel_work_sync(&vr->event_work);
	cancel_work_sync(&vr->config_work);
}

static int vres_find_vqs(struct vres *vr)
{
	static const char * const names[VIRTIO_RESOURCE_NR_QUEUES] = {
		[VIRTIO_RESOURCE_Q_REQUEST] = "request",
		[VIRTIO_RESOURCE_Q_EVENT] = "event",
		[VIRTIO_RESOURCE_Q_STATS] = "stats",
		[VIRTIO_RESOURCE_Q_MESSAGE] = "message",
		[VIRTIO_RESOURCE_Q_FILE] = "file",
	};
	vq_callback_t *callbacks[VIRTIO_RESOURCE_NR_QUEUES];
	struct virtqueue *vqs[VIRTIO_RESOURCE_NR_QUEUES];
	unsigned int i;
	int err;

	for (i = 0; i < VIRTIO_RESOURCE_NR_QUEUES; i++)
		callbacks[i] = vres_chan_done;
	callbacks[VIRTIO_RESOURCE_Q_EVENT] = vres_event_done;
	err = virtio_find_vqs(vr->vdev, VIRTIO_RESOURCE_NR_QUEUES, vqs, callbacks, names,
			      NULL);
	if (err)
		return err;
	for (i = 0; i < VIRTIO_RESOURCE_NR_QUEUES; i++)
		vr->chan[i].vq = vqs[i];
	return 0;
}

static void vres_free(struct vres *vr)
{
	vres_hotplug_free(vr);
	vres_events_free(vr);
	kfree(vr->table_storage);
	kvfree(vr->inv_next);
	kvfree(vr->inv);
	kfree(vr);
}

static struct vres *vres_alloc(struct virtio_device *vdev)
{
	struct vres *vr;
	unsigned int i;

	vr = kzalloc(sizeof(*vr), GFP_KERNEL);
	if (!vr)
		return NULL;
	vr->vdev = vdev;
	for (i = 0; i < VIRTIO_RESOURCE_NR_QUEUES; i++) {
		mutex_init(&vr->chan[i].lock);
		init_waitqueue_head(&vr->chan[i].wait);
		INIT_LIST_HEAD(&vr->chan[i].reaped);
	}
	spin_lock_init(&vr->stop_lock);
	INIT_WORK(&vr->event_work, vres_event_work);
	INIT_WORK(&vr->config_work, vres_config_work);
	atomic64_set(&vr->next_txn, 0);
	mutex_init(&vr->refresh_lock);
	mutex_init(&vr->neg_lock);
	mutex_init(&vr->lock);
	/* About 29 KiB each: never on a stack. */
	vr->inv = kvzalloc(sizeof(*vr->inv), GFP_KERNEL);
	vr->inv_next = kvzalloc(sizeof(*vr->inv_next), GFP_KERNEL);
	vr->table_storage = kcalloc(VRES_TABLE_CAP, sizeof(*vr->table_storage), GFP_KERNEL);
	if (!vr->inv || !vr->inv_next || !vr->table_storage || vres_events_alloc(vr)) {
		vres_free(vr);
		return NULL;
	}
	rc_table_init(&vr->table, vr->table_storage, VRES_TABLE_CAP);
	vres_balloon_init(vr);
	vres_estimator_init(vr);
	vres_hotplug_init(vr);
	return vr;
}

/* The estimators the next step samples; their rate limit is what HELLO advertises. */
static int vres_estimators_init(struct vres *vr)
{
	struct rc_est_config c;
	int err;

	rc_est_config_memory(&c);
	vres_estimator_tune(&c, VIRTIO_RESOURCE_K_MEMORY);
	c.granule = vr->cfg.mem_granule;
	if (mem_rate)
		c.max_rate = min_t(u64, mem_rate, RC_EST_MAX_RATE);
	err = rc_est_init(&vr->est_mem, &c);
	if (err)
		return err;
	vr->mem_rate = c.max_rate;
	rc_est_config_vcpu(&c);
	vres_estimator_tune(&c, VIRTIO_RESOURCE_K_VCPU);
	return rc_est_init(&vr->est_vcpu, &c);
}

static int virtio_resource_probe(struct virtio_device *vdev)
{
	struct device *dev = &vdev->dev;
	struct vres_cfg cfg;
	struct vres *vr;
	int err;

	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(dev, "the device is not modern (VIRTIO_F_VERSION_1)\n");
		return -ENODEV;
	}
	if (!vdev->config->get) {
		dev_err(dev, "the transport cannot read the configuration\n");
		return -EINVAL;
	}
	vr = vres_alloc(vdev);
	if (!vr)
		return -ENOMEM;
	vdev->priv = vr;

	err = vres_config_read(vdev, &vr->cfg);
	if (!err)
		err = vres_config_check(&vr->cfg);
	if (err) {
		dev_err(dev, "configuration refused (version %u): %d\n", vr->cfg.version, err);
		goto err_free;
	}
	err = vres_estimators_init(vr);
	if (err) {
		dev_err(dev, "estimator: %s\n", rc_strerror(err));
		err = -EINVAL;
		goto err_free;
	}
	err = vres_find_vqs(vr);
	if (err) {
		dev_err(dev, "cannot find the %u queues: %d\n", VIRTIO_RESOURCE_NR_QUEUES, err);
		goto err_free;
	}

	virtio_device_ready(vdev);
	/* Before the events: a host message queued for the driver is kept for the node. */
	vres_cdev_init(vr);
	err = vres_events_post(vr);
	if (err) {
		dev_err(dev, "cannot post event buffers: %d\n", err);
		goto err_reset;
	}
	err = vres_hello(vr);
	if (err)
		goto err_reset;
	/* Without a description the driver still serves events; a change retries. */
	err = vres_refresh(vr);
	if (err)
		dev_warn(dev, "no hardware description yet: %d\n", err);
	/* The boot grant first (protocol.md §6.3), then vCPUs and the estimator. */
	vres_balloon_start(vr);
	vres_hotplug_start(vr);
	vres_estimator_start(vr);

	vres_debugfs_add(vr);
	vres_cdev_add(vr);
	mutex_lock(&vr->lock);
	cfg = vr->cfg;
	mutex_unlock(&vr->lock);
	dev_info(dev,
		 "guest %u, generation %u: memory %llu of %llu MiB granted (%llu MiB reserved), %u of %u vcpus\n",
		 cfg.guest_id, cfg.generation, cfg.mem_granted >> 20, cfg.mem_max >> 20,
		 cfg.mem_reserved >> 20, cfg.vcpus_granted, cfg.vcpus_max);
	return 0;

err_reset:
	vres_stop(vr);
	vres_cdev_remove(vr);
	virtio_reset_device(vdev);
	vres_chans_reap(vr);
	vdev->config->del_vqs(vdev);
err_free:
	vres_free(vr);
	vdev->priv = NULL;
	return err;
}

static void virtio_resource_remove(struct virtio_device *vdev)
{
	struct vres *vr = vdev->priv;

	/*
	 * A device the transport broke (its backend died) answers nothing
	 * more: the calls waiting for it fail now, the steps below at once.
	 */
	if (vres_broken(vr)) {
		dev_warn(&vdev->dev, "the device went away (its transport broke it): calls fail\n");
		vres_chans_wake(vr);
	}
	/* The balloon takes back what the grant allows while the device answers. */
	vres_estimator_stop(vr);
	vres_balloon_stop(vr);
	vres_hotplug_stop(vr);
	/* Waiters give up first, so that debugfs writers return promptly. */
	vres_stop(vr);
	/* The node goes first: open files get -ENODEV from now on. */
	vres_cdev_remove(vr);
	vres_debugfs_remove(vr);
	virtio_reset_device(vdev);
	vres_chans_reap(vr);
	vdev->config->del_vqs(vdev);
	/* Every page the balloon still holds goes back to the kernel. */
	vres_balloon_free(vr);
	vres_free(vr);
	vdev->priv = NULL;
}

static void virtio_resource_config_changed(struct virtio_device *vdev)
{
	struct vres *vr = vdev->priv;

	vres_queue_work(vr, &vr->config_work);
}

static unsigned int vres_features[] = {
	VIRTIO_RESOURCE_F_MEMORY,
	VIRTIO_RESOURCE_F_VCPU,
	VIRTIO_RESOURCE_F_STATS,
	VIRTIO_RESOURCE_F_MESSAGES,
	VIRTIO_RESOURCE_F_FILES,
};

static const struct virtio_device_id vres_id_table[] = {
	{ VIRTIO_ID_RESOURCE, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vres_id_table);

static struct virtio_driver virtio_resource_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = vres_id_table,
	.feature_table = vres_features,
	.feature_table_size = ARRAY_SIZE(vres_features),
	.probe = virtio_resource_probe,
	.remove = virtio_resource_remove,
	.config_changed = virtio_resource_config_changed,
};

static int __init virtio_resource_init(void)
{
	int err;

	vres_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	err = register_virtio_driver(&virtio_resource_driver);
	if (err)
		debugfs_remove_recursive(vres_debugfs_root);
	return err;
}

static void __exit virtio_resource_exit(void)
{
	unregister_virtio_driver(&virtio_resource_driver);
	debugfs_remove_recursive(vres_debugfs_root);
}

module_init(virtio_resource_init);
module_exit(virtio_resource_exit);

MODULE_DESCRIPTION("accord virtio-resource: negotiate memory and vCPUs with the host");
MODULE_LICENSE("GPL");
