// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource: the event queue and configuration changes. The driver
 * keeps VRES_EVENT_BUFS writable buffers of VRES_EVENT_LEN bytes posted on
 * eventq; the host writes one event into each. The queue's callback and
 * config_changed only queue work; the work items decode the events with
 * guest/core, act on them and post each buffer again.
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio.h>

#include "vres.h"

int vres_events_alloc(struct vres *vr)
{
	unsigned int i;

	for (i = 0; i < VRES_EVENT_BUFS; i++) {
		vr->event_buf[i] = kmalloc(VRES_EVENT_LEN, GFP_KERNEL);
		if (!vr->event_buf[i])
			return -ENOMEM;
	}
	return 0;
}

/* After the reset and del_vqs: the device holds none of them any more. */
void vres_events_free(struct vres *vr)
{
	unsigned int i;

	for (i = 0; i < VRES_EVENT_BUFS; i++) {
		kfree(vr->event_buf[i]);
		vr->event_buf[i] = NULL;
	}
}

/* Under the event channel's lock, which serialises every use of eventq. */
static int vres_event_add(struct vres *vr, void *buf)
{
	struct scatterlist sg;

	sg_init_one(&sg, buf, VRES_EVENT_LEN);
	return virtqueue_add_inbuf(vr->chan[VIRTIO_RESOURCE_Q_EVENT].vq, &sg, 1, buf,
				   GFP_KERNEL);
}

/* Post every event buffer (probe, after DRIVER_OK). */
int vres_events_post(struct vres *vr)
{
	struct vres_chan *ch = &vr->chan[VIRTIO_RESOURCE_Q_EVENT];
	unsigned int i;
	int err = 0;

	mutex_lock(&ch->lock);
	for (i = 0; i < VRES_EVENT_BUFS && !err; i++)
		err = vres_event_add(vr, vr->event_buf[i]);
	virtqueue_kick(ch->vq);
	mutex_unlock(&ch->lock);
	return err;
}

void vres_event_done(struct virtqueue *vq)
{
	struct vres *vr = vq->vdev->priv;

	vres_queue_work(vr, &vr->event_work);
}

static void vres_on_message(struct vres *vr, const struct rc_message *m)
{
	dev_dbg(&vr->vdev->dev, "message txn %llu from %u: %u bytes\n", m->hdr.txn, m->source,
		m->payload_len);
	/* Kept for the device node's readers. */
	vres_cdev_message(vr, m);
}

/* The counter an event adds to. */
static unsigned long *vres_event_counter(struct vres_counters *c, const struct vres_answer *a)
{
	if (a->err)
		return &c->ev_refused;
	switch (a->hdr.type) {
	case VIRTIO_RESOURCE_EV_INVENTORY:
	case VIRTIO_RESOURCE_EV_ALLOCATION:
		return &c->ev_allocation;
	case VIRTIO_RESOURCE_EV_GRANT:
		return &c->ev_grant;
	case VIRTIO_RESOURCE_EV_OFFER:
		return &c->ev_offer;
	case VIRTIO_RESOURCE_EV_RECLAIM:
		return &c->ev_reclaim;
	case VIRTIO_RESOURCE_EV_RENEGOTIATE:
		return &c->ev_renegotiate;
	case VIRTIO_RESOURCE_EV_MESSAGE:
		return &c->ev_message;
	default:
		return &c->ev_refused;
	}
}

static void vres_event_handle(struct vres *vr, const void *buf, unsigned int len)
{
	struct vres_answer a;

	vres_decode(buf, len, &a);
	mutex_lock(&vr->lock);
	vr->count.events++;
	(*vres_event_counter(&vr->count, &a))++;
	mutex_unlock(&vr->lock);
	if (a.err) {
		dev_warn_ratelimited(&vr->vdev->dev, "event %s (%u bytes) refused: %s\n",
				     rc_type_name(a.hdr.type), len, rc_strerror(a.err));
		return;
	}
	switch (a.hdr.type) {
	case VIRTIO_RESOURCE_EV_INVENTORY:
	case VIRTIO_RESOURCE_EV_ALLOCATION:
		/* The configuration says it all; its interrupt may come later. */
		vres_queue_work(vr, &vr->config_work);
		break;
	case VIRTIO_RESOURCE_EV_GRANT:
	case VIRTIO_RESOURCE_EV_OFFER:
		/*
		 * A promised part, or an offer (defined, never sent by this
		 * host: recorded and left to lapse). neg_lock applies it after
		 * the answer that opened the transaction.
		 */
		mutex_lock(&vr->neg_lock);
		mutex_lock(&vr->lock);
		vres_table_answer(vr, a.hdr.txn, &a);
		mutex_unlock(&vr->lock);
		if (a.hdr.type == VIRTIO_RESOURCE_EV_GRANT)
			vres_cdev_agreement(vr, a.hdr.txn);
		mutex_unlock(&vr->neg_lock);
		break;
	case VIRTIO_RESOURCE_EV_RECLAIM:
		vres_on_reclaim(vr, &a.u.reclaim);
		break;
	case VIRTIO_RESOURCE_EV_RENEGOTIATE:
		vres_on_renegotiate(vr, &a.u.renegotiate);
		break;
	case VIRTIO_RESOURCE_EV_MESSAGE:
		vres_on_message(vr, &a.u.message);
		break;
	default:
		dev_warn_ratelimited(&vr->vdev->dev, "%s on the event queue\n",
				     rc_type_name(a.hdr.type));
		break;
	}
}

void vres_event_work(struct work_struct *work)
{
	struct vres *vr = container_of(work, struct vres, event_work);
	struct vres_chan *ch = &vr->chan[VIRTIO_RESOURCE_Q_EVENT];
	unsigned int len;
	void *buf;
	int err;

	for (;;) {
		mutex_lock(&ch->lock);
		buf = virtqueue_get_buf(ch->vq, &len);
		mutex_unlock(&ch->lock);
		if (!buf)
			break;
		/* Handlers may talk to the host: no eventq lock held meanwhile. */
		vres_event_handle(vr, buf, min_t(unsigned int, len, VRES_EVENT_LEN));
		mutex_lock(&ch->lock);
		err = vres_event_add(vr, buf);
		virtqueue_kick(ch->vq);
		mutex_unlock(&ch->lock);
		if (err)
			dev_err_ratelimited(&vr->vdev->dev, "event buffer lost: %d\n", err);
	}
}

void vres_config_work(struct work_struct *work)
{
	struct vres *vr = container_of(work, struct vres, config_work);

	mutex_lock(&vr->lock);
	vr->count.refreshes++;
	mutex_unlock(&vr->lock);
	vres_refresh(vr);
	/* The grant may have moved: the balloon and the vCPUs follow it. */
	vres_balloon_adjust(vr);
	vres_hotplug_adjust(vr);
}
