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
 *   vres_cdev.c     /dev/virtio-resource: requests, messages and files for
 *                   applications (include/uapi/linux/virtio_resource_dev.h)
 *   vres_balloon.c  the balloon: granules reserved at the host (T_RESERVE)
 *   vres_estimator.c the estimator timer: samples, T_STATS, asks and releases
 *   vres_hotplug.c  x86-64: memory hot-add and vCPU online/offline
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
struct seq_file;
struct vres_balloon_scratch;
struct vres_cdev;
struct vres_hotplug;
struct virtio_device;
struct virtqueue;
struct vfsmount;

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

/*
 * The balloon (vres_balloon.c): granules handed back to the host. Under
 * its lock (taken before neg_lock) unless noted.
 */
struct vres_balloon {
	struct mutex lock;		/* one change at a time */
	struct list_head pages;		/* each granule's first page, newest first */
	struct delayed_work work;	/* meets the grant, paced */
	struct vres_balloon_scratch *scratch;	/* the RESERVE/UNRESERVE message */
	u64 granule;
	unsigned int order;		/* a granule's allocation order */
	bool enabled;			/* F_MEMORY and a granule the allocator makes */
	bool stopped;			/* remove has deflated it */
	bool running;			/* under vres.stop_lock: work may be queued */
	u64 hold;			/* kept below the grant on purpose (bytes) */
	u64 credit;			/* bytes the rate allows now */
	u64 credit_ns;
	/* Under vres.lock (debugfs): */
	u64 reclaim_end_ns;		/* finish a reclaim by then (0: none) */
	unsigned long granules;		/* in the balloon now */
	unsigned long inflated, deflated;	/* granules, ever */
	unsigned long inflations, deflations;	/* messages the host acknowledged */
	unsigned long alloc_failures, host_failures;
	unsigned long found_reserved;	/* granules the host had reserved already */
	unsigned long returned_reserved;	/* freed while the host keeps them reserved */
	unsigned long reclaims, holds;
};

/* The estimator timer (vres_estimator.c). Its work owns the fields, except: */
struct vres_estimator {
	struct delayed_work work;
	struct vfsmount *psi_mnt;	/* private cgroup2 mount for PSI, or NULL */
	bool running;			/* under vres.stop_lock */
	u64 cpu_busy_ns, cpu_ns;	/* CPU time at the last sample */
	u64 prev_used;			/* memory in use at the last sample */
	u64 ask_after_ns, vcpu_ask_after_ns;	/* after a denial */
	/* Under vres.lock (debugfs): the last sample and counters. */
	u64 total, available, committed, used;
	u32 cpu_util_milli, runqueue_milli, vcpu_demand_milli;
	u32 psi_mem_milli, psi_cpu_milli;
	s64 mem_delta;			/* rc_est_decide's last answer */
	u8 urgency;			/* of the last memory request */
	unsigned long ticks, asks, grants, denials, releases, failures;
	unsigned long stats_sent, stats_failed;
	u64 asked, granted, released, deflated;	/* memory, bytes */
	u64 vcpus_asked, vcpus_granted, vcpus_released;
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
	bool reclaim_pending;		/* until the balloon meets it */
	struct rc_ev_reclaim reclaim;
	struct rc_est est_mem;		/* sampled by the estimator timer */
	struct rc_est est_vcpu;
	struct vres_counters count;

	struct dentry *debugfs;
	struct vres_cdev *cdev;		/* the device node, or NULL (vres_cdev.c) */
	struct vres_balloon balloon;
	struct vres_estimator estimator;
	struct vres_hotplug *hotplug;	/* x86-64 (vres_hotplug.c), or NULL */
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
bool vres_broken(struct vres *vr);
void vres_decode(const void *buf, size_t len, struct vres_answer *a);
int vres_hello(struct vres *vr);
int vres_refresh(struct vres *vr);
int vres_request(struct vres *vr, struct rc_entry *req);
int vres_request_answer(struct vres *vr, struct rc_entry *req, struct vres_answer *answer,
			bool take_offer);
u32 vres_offer_choices(const struct rc_offer *o);
int vres_offer_reply(struct vres *vr, u64 txn, u32 offer_id, u32 choices, struct vres_answer *a);
int vres_release_agreement(struct vres *vr, u64 txn, u32 app_id, u16 kind, u64 amount,
			   struct vres_answer *a);
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

/* vres_cdev.c */
void vres_cdev_init(struct vres *vr);
void vres_cdev_add(struct vres *vr);
void vres_cdev_remove(struct vres *vr);
void vres_cdev_message(struct vres *vr, const struct rc_message *m);
void vres_cdev_agreement(struct vres *vr, u64 txn);

/* vres_balloon.c */
void vres_balloon_init(struct vres *vr);
void vres_balloon_start(struct vres *vr);
void vres_balloon_stop(struct vres *vr);
void vres_balloon_free(struct vres *vr);
void vres_balloon_work(struct work_struct *work);
void vres_balloon_adjust(struct vres *vr);
void vres_balloon_reclaim(struct vres *vr, const struct rc_ev_reclaim *ev);
int vres_balloon_sync(struct vres *vr);
int vres_balloon_hold(struct vres *vr, u64 bytes);
void vres_balloon_unhold(struct vres *vr, u64 bytes);
struct rc_ranges *vres_ranges_scratch(struct vres *vr);
int vres_ranges_send(struct vres *vr, u16 type, u64 txn, struct rc_ranges *r,
		     struct vres_answer *a);
void vres_balloon_show(struct seq_file *s, struct vres *vr);

/* vres_estimator.c */
void vres_estimator_tune(struct rc_est_config *c, u16 kind);
void vres_estimator_init(struct vres *vr);
void vres_estimator_start(struct vres *vr);
void vres_estimator_stop(struct vres *vr);
void vres_estimator_work(struct work_struct *work);
void vres_estimator_show(struct seq_file *s, struct vres *vr);

/* vres_hotplug.c: x86-64 only (not User-mode Linux) */
#if IS_ENABLED(CONFIG_X86_64) && !IS_ENABLED(CONFIG_UML)
void vres_hotplug_init(struct vres *vr);
void vres_hotplug_start(struct vres *vr);
void vres_hotplug_stop(struct vres *vr);
void vres_hotplug_free(struct vres *vr);
void vres_hotplug_adjust(struct vres *vr);
bool vres_hotplug_cpus(struct vres *vr);
int vres_hotplug_cpus_down(struct vres *vr, unsigned int keep);
void vres_hotplug_mem_start(struct vres *vr);
u64 vres_hotplug_mem_add(struct vres *vr, u64 bytes);
void vres_hotplug_show(struct seq_file *s, struct vres *vr);
#else
static inline void vres_hotplug_init(struct vres *vr) { }
static inline void vres_hotplug_start(struct vres *vr) { }
static inline void vres_hotplug_stop(struct vres *vr) { }
static inline void vres_hotplug_free(struct vres *vr) { }
static inline void vres_hotplug_adjust(struct vres *vr) { }
static inline bool vres_hotplug_cpus(struct vres *vr) { return false; }
static inline int vres_hotplug_cpus_down(struct vres *vr, unsigned int keep)
{
	return -EOPNOTSUPP;
}

static inline void vres_hotplug_mem_start(struct vres *vr) { }
static inline u64 vres_hotplug_mem_add(struct vres *vr, u64 bytes) { return 0; }
static inline void vres_hotplug_show(struct seq_file *s, struct vres *vr) { }
#endif

#endif /* _VRES_H */
