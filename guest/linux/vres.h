/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio_resource: the Linux driver of accord's resource negotiation device
 * (include/uapi/linux/virtio_resource.h, docs/protocol.md). This header is
 * shared by the driver's files:
 *
 *   vres_main.c     module, probe/remove, configuration space
 *   vres_call.c     the answered queues: one chain per message, HELLO,
 *                   GET_INVENTORY, requests and the agreement table
 *   vres_event.c    the event queue and configuration changes (work items)
 *   vres_debugfs.c  /sys/kernel/debug/virtio_resource/<device>/
 *
 * Messages are built and checked with guest/core (rc_codec.h), the
 * hardware description is parsed with rc_inventory.h and outgoing
 * transactions live in guest/core's agreement table (rc_agreement.h).
 */
#ifndef _VRES_H
#define _VRES_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "rc_agreement.h"
#include "rc_codec.h"
#include "rc_estimator.h"
#include "rc_inventory.h"

struct dentry;
struct virtio_device;
struct virtqueue;

#define VRES_EVENT_BUFS		8	/* eventq buffers kept posted */
#define VRES_EVENT_LEN		4096	/* the largest event (protocol.md §5.1) */
#define VRES_ROOM_MIN		128	/* answer room: A_OFFER (104) and all others */
#define VRES_MSG_MAX		128	/* the driver's own messages, on the stack */
#define VRES_INVENTORY_MAX	(256U << 10)	/* protocol.md §6.13 */
#define VRES_TABLE_CAP		64	/* the host's max_outstanding */
#define VRES_CALL_TIMEOUT_MS	10000	/* the host answers at once */

/* The configuration space (struct virtio_resource_config), CPU order. */
struct vres_cfg {
	u32 version;
	u32 guest_id;
	u32 generation;
	u32 inventory_size;
	u64 mem_granule;
	u64 mem_max;
	u64 mem_granted;
	u64 mem_reserved;
	u32 vcpus_max;
	u32 vcpus_granted;
	u32 max_message;
	u32 max_outstanding;
};

/* One queue that carries the driver's messages (all but eventq). */
struct vres_chan {
	struct virtqueue *vq;
	struct mutex lock;		/* one chain in flight at a time */
	wait_queue_head_t wait;		/* woken by the queue's callback */
	struct list_head reaped;	/* late chains to free, under lock */
	unsigned long calls;
	unsigned long errors;		/* timeouts and refused adds */
};

/* A decoded answer or event. */
struct vres_answer {
	int err;		/* 0 or the decoder's RC_E* */
	struct rc_hdr hdr;	/* valid unless err came from the header */
	union rc_body u;
};

struct vres_counters {
	unsigned long refreshes;	/* config interrupts and EV_ALLOCATIONs handled */
	unsigned long inventory_reads;
	unsigned long events;		/* every event the device returned */
	unsigned long ev_allocation;
	unsigned long ev_reclaim;
	unsigned long ev_grant;
	unsigned long ev_offer;
	unsigned long ev_renegotiate;
	unsigned long ev_message;
	unsigned long ev_refused;	/* did not decode, or unknown */
	unsigned long requests;
};

struct vres {
	struct virtio_device *vdev;
	struct vres_chan chan[VIRTIO_RESOURCE_NR_QUEUES]; /* [Q_EVENT]: vq and lock */
	void *event_buf[VRES_EVENT_BUFS];

	/* Callbacks queue work only while !stopping; remove sets it first. */
	spinlock_t stop_lock;
	bool stopping;
	struct work_struct event_work;
	struct work_struct config_work;

	atomic64_t next_txn;		/* the driver's transaction ids: 1, 2, ... */
	struct mutex refresh_lock;	/* one configuration/inventory refresh */
	struct mutex neg_lock;		/* one negotiation exchange at a time */

	/* Everything below is under lock (debugfs reads it). */
	struct mutex lock;
	struct vres_cfg cfg;
	bool needs_reset;
	u32 welcome_version;
	u32 welcome_guest_id;
	u64 mem_rate;			/* advertised in HELLO, bytes/s */
	struct rc_inventory *inv;	/* valid when inv_valid */
	struct rc_inventory *inv_next;	/* parse target, under refresh_lock */
	bool inv_valid;
	int inv_err;			/* the last refresh's -errno */
	int inv_parse_err;		/* its RC_E* when the description did not parse */
	u32 inv_bytes;
	struct rc_table table;
	struct rc_entry *table_storage;
	bool reclaim_pending;		/* no balloon yet: remembered, not met */
	struct rc_ev_reclaim reclaim;
	struct rc_est est_mem;		/* sampled by the next step's timer */
	struct rc_est est_vcpu;
	struct vres_counters count;

	struct dentry *debugfs;
};

/* vres_main.c */
extern struct dentry *vres_debugfs_root;
int vres_config_read(struct virtio_device *vdev, struct vres_cfg *c);
int vres_config_check(const struct vres_cfg *c);
void vres_queue_work(struct vres *vr, struct work_struct *work);
u64 vres_txn(struct vres *vr);

/* vres_call.c */
int vres_call(struct vres *vr, unsigned int q, const void *msg, size_t len,
	      void *ans, size_t cap);
void vres_chan_done(struct virtqueue *vq);
void vres_chans_wake(struct vres *vr);
void vres_chans_reap(struct vres *vr);
void vres_decode(const void *buf, size_t len, struct vres_answer *a);
int vres_hello(struct vres *vr);
int vres_refresh(struct vres *vr);
int vres_request(struct vres *vr, struct rc_entry *req);
void vres_table_answer(struct vres *vr, u64 txn, const struct vres_answer *a);
void vres_on_renegotiate(struct vres *vr, const struct rc_renegotiate *ev);
void vres_on_reclaim(struct vres *vr, const struct rc_ev_reclaim *ev);

/* vres_event.c */
int vres_events_alloc(struct vres *vr);
void vres_events_free(struct vres *vr);
int vres_events_post(struct vres *vr);
void vres_event_done(struct virtqueue *vq);
void vres_event_work(struct work_struct *work);
void vres_config_work(struct work_struct *work);

/* vres_debugfs.c */
void vres_debugfs_add(struct vres *vr);
void vres_debugfs_remove(struct vres *vr);

#endif /* _VRES_H */
