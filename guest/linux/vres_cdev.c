// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource: /dev/virtio-resource, the device node of applications
 * (include/uapi/linux/virtio_resource_dev.h says what each call does).
 *
 * Requests, and the answers to offers and releases about them, are rows of
 * a request table (256 rows; the oldest finished ones make room). A call
 * queues its row on the node's work item, which sends the queued calls one
 * after the other through the driver's agreement table (vres_call.c); a
 * blocking caller waits for its row, interruptibly and for a bounded time,
 * and a non-blocking one gets a read() record when the row is done. Host
 * messages (EV_MESSAGE) wait in a queue of 64 until a reader takes them.
 * Messages to the host and file operations are sent by the caller itself.
 *
 * Lifetime: struct vres_cdev is reference counted, one reference held by
 * the driver until remove and one by each open file. Remove (after the
 * driver stopped its work and woke every caller waiting for the device)
 * deregisters the node, marks it dead and wakes its waiters, stops the work
 * item, then takes the gate for writing, which waits for the callers that
 * use the device, and clears vr. Open files then get -ENODEV; the last one
 * to close frees the rest.
 *
 * Locks, in this order: gate (read: a call that uses cd->vr), the driver's
 * neg_lock, cd->lock (the table, the queue, the messages, the files'
 * counters), the driver's lock. cd->lock is never held while waiting for
 * the device; cd->vr is stable under either cd->lock or the gate.
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/math64.h>
#include <linux/miscdevice.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include <linux/virtio_resource_dev.h>

#include "vres.h"

#define VRES_CDEV_ROWS		256	/* rows of the request table */
#define VRES_CDEV_FILE_CALLS	16	/* calls one open file may have queued */
#define VRES_CDEV_MESSAGES	64	/* host messages kept for readers */
#define VRES_CDEV_WAIT_MS	30000	/* a blocking call's wait unless told */
#define VRES_CDEV_WAIT_MAX_MS	600000
#define VRES_CDEV_FH_OPENING	U32_MAX	/* a handle slot whose FILE_OPEN is under way */
#define VRES_CDEV_REQ_FLAGS	(VIRTIO_RESOURCE_DEV_F_NONBLOCK | \
				 VIRTIO_RESOURCE_DEV_F_RELEASE_ON_CLOSE | \
				 VIRTIO_RESOURCE_DEV_F_ACCEPT_OFFER)

enum vres_op {
	VRES_OP_NONE,
	VRES_OP_REQUEST,
	VRES_OP_ACCEPT,
	VRES_OP_DECLINE,
	VRES_OP_RELEASE,
};

/* An open file of the node: one application. */
struct vres_cfile {
	struct vres_cdev *cd;
	u32 app_id;
	unsigned int calls;	/* its calls queued or under way */
	unsigned int unread;	/* rows with a record for it */
	u32 fh[VIRTIO_RESOURCE_DEV_MAX_FILES]; /* the host's file handles (0: free slot) */
};

/* A row of the request table: an application's request and what became of it. */
struct vres_ureq {
	struct list_head node;		/* cd->rows, oldest first */
	struct list_head qnode;		/* cd->queue while op waits for the work */
	struct vres_cfile *owner;	/* the file that asked; NULL once it closed */
	struct vres_cfile *notify;	/* has a record to read (unread) */
	bool unread;
	bool accepted;			/* granted through an accepted offer */
	bool close_released;		/* RELEASE_ON_CLOSE was queued */
	enum vres_op op;		/* the call queued or under way (waiters READ_ONCE it) */
	struct vres_cfile *op_file;	/* the file that made that call, while open */
	bool op_notify;			/* ... wants a record when it is done */
	u32 op_choices;
	u64 op_amount;
	unsigned int waiters;		/* blocking callers: the row is not evicted */
	u32 choices_all;		/* OFFERED: every PART_NOW and REST_LATER */
	struct virtio_resource_dev_entry e; /* the row; e.answer its state */
	struct virtio_resource_dev_answer res; /* the outcome of the last call */
	u64 res_ns;
};

/* A message from the host, until a reader takes it. */
struct vres_umsg {
	struct list_head node;
	u64 time_ns;
	u64 txn;
	u32 source;
	u32 len;
	u8 data[];
};

struct vres_cdev {
	struct kref ref;		/* the driver's until remove, and one per open file */
	struct miscdevice misc;
	char name[24];
	int index;			/* of the node's name; -1 until it is registered */
	struct dentry *debugfs;		/* the requests file */
	struct rw_semaphore gate;	/* read: a call uses vr; write: remove clears it */
	struct work_struct work;	/* sends the queued calls */
	wait_queue_head_t wait;		/* rows done, records, messages, remove */

	struct mutex lock;		/* everything below */
	struct vres *vr;		/* NULL after remove */
	bool dead;			/* remove has begun (READ_ONCE in wait conditions) */
	u32 next_app_id;
	struct list_head rows;
	unsigned int nr_rows;
	struct list_head queue;
	struct list_head msgs;
	unsigned int nr_msgs;
	unsigned long msgs_dropped;
};

/* What the work item sends for one row, copied out of it. */
struct vres_job {
	enum vres_op op;
	struct rc_entry req;	/* REQUEST */
	bool accept_offer;
	u32 offer_id;		/* ACCEPT, DECLINE */
	u32 choices;
	u64 amount;		/* RELEASE */
	int err;
	struct vres_answer a;
	bool second;		/* an offer accepted at once: err2 and a2 answer the ACCEPT */
	int err2;
	struct vres_answer a2;
};

static DEFINE_IDA(vres_cdev_ida);

static const char * const vres_cdev_state_names[] = {
	[VIRTIO_RESOURCE_DEV_S_PENDING] = "pending",
	[VIRTIO_RESOURCE_DEV_S_GRANTED] = "granted",
	[VIRTIO_RESOURCE_DEV_S_DENIED] = "denied",
	[VIRTIO_RESOURCE_DEV_S_OFFERED] = "offered",
	[VIRTIO_RESOURCE_DEV_S_ACCEPTED] = "accepted",
	[VIRTIO_RESOURCE_DEV_S_DECLINED] = "declined",
	[VIRTIO_RESOURCE_DEV_S_RELEASED] = "released",
	[VIRTIO_RESOURCE_DEV_S_EXPIRED] = "expired",
	[VIRTIO_RESOURCE_DEV_S_RECLAIMED] = "reclaimed",
	[VIRTIO_RESOURCE_DEV_S_RENEGOTIATING] = "renegotiating",
	[VIRTIO_RESOURCE_DEV_S_FAILED] = "failed",
};

static const char *vres_cdev_state_name(u32 state)
{
	if (state < ARRAY_SIZE(vres_cdev_state_names) && vres_cdev_state_names[state])
		return vres_cdev_state_names[state];
	return "unknown";
}

/* A host status (A_ERROR) as an errno. */
static int vres_cdev_status_errno(u32 status)
{
	switch (status) {
	case VIRTIO_RESOURCE_S_MALFORMED:
		return -EINVAL;
	case VIRTIO_RESOURCE_S_ORDER:
		return -EBUSY;
	case VIRTIO_RESOURCE_S_UNSUPPORTED:
		return -EOPNOTSUPP;
	case VIRTIO_RESOURCE_S_NOENT:
		return -ENOENT;
	case VIRTIO_RESOURCE_S_FORBIDDEN:
		return -EACCES;
	case VIRTIO_RESOURCE_S_TOO_BIG:
		return -EFBIG;
	case VIRTIO_RESOURCE_S_BUSY:
		return -EAGAIN;
	case VIRTIO_RESOURCE_S_IO:
		return -EIO;
	case VIRTIO_RESOURCE_S_RANGE:
		return -ERANGE;
	default:
		return -EPROTO;
	}
}

/* The driver's errors as the node reports them: a device going away is -ENODEV. */
static int vres_cdev_errno(int err)
{
	return err == -ESHUTDOWN ? -ENODEV : err;
}

static void vres_cdev_free(struct kref *ref)
{
	struct vres_cdev *cd = container_of(ref, struct vres_cdev, ref);
	struct vres_ureq *u, *un;
	struct vres_umsg *m, *mn;

	list_for_each_entry_safe(u, un, &cd->rows, node)
		kfree(u);
	list_for_each_entry_safe(m, mn, &cd->msgs, node)
		kfree(m);
	kfree(cd);
}

/* The device, for a call that talks to it: NULL, or held until vres_cdev_put_vr(). */
static struct vres *vres_cdev_get_vr(struct vres_cdev *cd)
{
	down_read(&cd->gate);
	if (cd->vr && !READ_ONCE(cd->dead))
		return cd->vr;
	up_read(&cd->gate);
	return NULL;
}

static void vres_cdev_put_vr(struct vres_cdev *cd)
{
	up_read(&cd->gate);
}

/* ---- the request table (under cd->lock) ---- */

static bool vres_ureq_held(const struct vres_ureq *u)
{
	return u->e.answer.state == VIRTIO_RESOURCE_DEV_S_GRANTED ||
	       u->e.answer.state == VIRTIO_RESOURCE_DEV_S_ACCEPTED;
}

/* Nothing more can happen to it: it may make room for a new row. */
static bool vres_ureq_finished(const struct vres_ureq *u)
{
	if (u->op != VRES_OP_NONE || u->waiters)
		return false;
	switch (u->e.answer.state) {
	case VIRTIO_RESOURCE_DEV_S_DENIED:
	case VIRTIO_RESOURCE_DEV_S_DECLINED:
	case VIRTIO_RESOURCE_DEV_S_RELEASED:
	case VIRTIO_RESOURCE_DEV_S_EXPIRED:
	case VIRTIO_RESOURCE_DEV_S_RECLAIMED:
	case VIRTIO_RESOURCE_DEV_S_FAILED:
		return true;
	default:
		return false;
	}
}

static struct vres_ureq *vres_cdev_find(struct vres_cdev *cd, u64 id)
{
	struct vres_ureq *u;

	list_for_each_entry(u, &cd->rows, node) {
		if (u->e.answer.id == id)
			return u;
	}
	return NULL;
}

static void vres_ureq_unread(struct vres_ureq *u)
{
	if (u->unread) {
		WRITE_ONCE(u->notify->unread, u->notify->unread - 1);
		u->unread = false;
		u->notify = NULL;
	}
}

/* Give @f a record of the row's last outcome (one per row; the newest wins). */
static void vres_ureq_notify(struct vres_ureq *u, struct vres_cfile *f)
{
	vres_ureq_unread(u);
	u->notify = f;
	u->unread = true;
	WRITE_ONCE(f->unread, f->unread + 1);
}

static u32 vres_cdev_state_of(const struct vres_ureq *u, enum rc_state s)
{
	switch (s) {
	case RC_S_REQUESTED:
		return VIRTIO_RESOURCE_DEV_S_PENDING;
	case RC_S_OFFERED:
		return VIRTIO_RESOURCE_DEV_S_OFFERED;
	case RC_S_GRANTED:
		return u->accepted ? VIRTIO_RESOURCE_DEV_S_ACCEPTED : VIRTIO_RESOURCE_DEV_S_GRANTED;
	case RC_S_DENIED:
		return VIRTIO_RESOURCE_DEV_S_DENIED;
	case RC_S_DECLINED:
		return VIRTIO_RESOURCE_DEV_S_DECLINED;
	case RC_S_EXPIRED:
		return VIRTIO_RESOURCE_DEV_S_EXPIRED;
	case RC_S_RELEASED:
		return VIRTIO_RESOURCE_DEV_S_RELEASED;
	case RC_S_RECLAIMED:
		return VIRTIO_RESOURCE_DEV_S_RECLAIMED;
	case RC_S_RENEGOTIATING:
		return VIRTIO_RESOURCE_DEV_S_RENEGOTIATING;
	default:
		return 0;
	}
}

/*
 * Follow the driver's agreement table, which events change too (a grant
 * delivered later, a reclaim, a renegotiation, an offer that lapsed).
 * Under cd->lock and vr->lock.
 */
static void vres_ureq_sync(struct vres_ureq *u, struct rc_table *t)
{
	struct virtio_resource_dev_answer *r = &u->e.answer;
	struct rc_entry *e;
	u32 state;

	if (r->state == VIRTIO_RESOURCE_DEV_S_FAILED || u->op == VRES_OP_REQUEST ||
	    rc_table_find(t, r->id, &e))
		return;
	state = vres_cdev_state_of(u, e->state);
	if (!state || (state == r->state && e->granted == r->granted))
		return;
	r->state = state;
	r->granted = e->granted;
	u->e.updated_ns = e->updated_ns;
}

static void vres_cdev_sync(struct vres_cdev *cd)
{
	struct vres *vr = cd->vr;
	struct vres_ureq *u;

	if (!vr)
		return;
	mutex_lock(&vr->lock);
	rc_table_expire(&vr->table, ktime_get_ns());
	list_for_each_entry(u, &cd->rows, node)
		vres_ureq_sync(u, &vr->table);
	mutex_unlock(&vr->lock);
}

static void vres_cdev_sync_one(struct vres_cdev *cd, struct vres_ureq *u)
{
	struct vres *vr = cd->vr;

	if (!vr)
		return;
	mutex_lock(&vr->lock);
	rc_table_expire(&vr->table, ktime_get_ns());
	vres_ureq_sync(u, &vr->table);
	mutex_unlock(&vr->lock);
}

static void vres_ureq_free(struct vres_cdev *cd, struct vres_ureq *u)
{
	vres_ureq_unread(u);
	list_del(&u->node);
	cd->nr_rows--;
	kfree(u);
}

/* Add a row, dropping the oldest finished one when the table is full. */
static int vres_cdev_insert(struct vres_cdev *cd, struct vres_ureq *nu)
{
	struct vres_ureq *u;

	if (cd->nr_rows >= VRES_CDEV_ROWS) {
		struct vres_ureq *victim = NULL;

		vres_cdev_sync(cd);
		list_for_each_entry(u, &cd->rows, node) {
			if (vres_ureq_finished(u)) {
				victim = u;
				break;
			}
		}
		if (!victim)
			return -EBUSY;
		vres_ureq_free(cd, victim);
	}
	list_add_tail(&nu->node, &cd->rows);
	cd->nr_rows++;
	return 0;
}

/* Queue @op about @u for the work item; @f made the call (NULL: the node itself). */
static void vres_cdev_queue(struct vres_cdev *cd, struct vres_ureq *u, enum vres_op op,
			    struct vres_cfile *f, bool notify, u32 choices, u64 amount)
{
	WRITE_ONCE(u->op, op);
	u->op_file = f;
	u->op_notify = notify;
	u->op_choices = choices;
	u->op_amount = amount;
	if (f)
		f->calls++;
	list_add_tail(&u->qnode, &cd->queue);
	queue_work(system_unbound_wq, &cd->work);
}

/* ---- the work item: one call at a time ---- */

static u64 vres_ack_allocation(const struct rc_ack *ack, u16 kind)
{
	return kind == VIRTIO_RESOURCE_K_MEMORY ? ack->mem_granted : ack->vcpus_granted;
}

static void vres_ureq_offer(struct vres_ureq *u, const struct rc_offer *o)
{
	struct virtio_resource_dev_answer *r = &u->e.answer;
	u32 i;

	r->offer_id = o->offer_id;
	r->offer_expires_ms = o->expires_ms;
	r->alternatives = o->nr_alternatives;
	r->part_now = 0;
	r->rest_later = 0;
	r->rest_delay_ms = 0;
	for (i = 0; i < o->nr_alternatives && i < VIRTIO_RESOURCE_MAX_ALTERNATIVES; i++) {
		if (o->alt[i].type == VIRTIO_RESOURCE_ALT_PART_NOW) {
			r->part_now += o->alt[i].amount;
		} else if (o->alt[i].type == VIRTIO_RESOURCE_ALT_REST_LATER) {
			r->rest_later += o->alt[i].amount;
			r->rest_delay_ms = o->alt[i].delay_ms;
		}
	}
	u->choices_all = vres_offer_choices(o);
}

/*
 * The outcome of @op about @u: the device's @err, or the answer @a. The row
 * changes when the host agreed to something; a refused ACCEPT, DECLINE or
 * RELEASE only fails the call (u->res). Under cd->lock.
 */
static void vres_ureq_apply(struct vres_ureq *u, enum vres_op op, int err,
			    const struct vres_answer *a, u64 amount, u64 now)
{
	struct virtio_resource_dev_answer *r = &u->e.answer;
	u16 type = 0;
	u32 status = 0;

	if (!err && a->err)
		err = -EPROTO;
	if (!err) {
		type = a->hdr.type;
		if (type == VIRTIO_RESOURCE_A_ERROR) {
			status = a->hdr.status;
			err = vres_cdev_status_errno(status);
		} else if (a->hdr.txn != r->id) {
			err = -EPROTO;
		}
	}
	if (err)
		goto failed;

	switch (op) {
	case VRES_OP_REQUEST:
		if (type == VIRTIO_RESOURCE_A_GRANT) {
			r->state = VIRTIO_RESOURCE_DEV_S_GRANTED;
			r->granted = a->u.grant.amount;
			r->allocation = a->u.grant.allocation;
			r->lease_ms = a->u.grant.lease_ms;
		} else if (type == VIRTIO_RESOURCE_A_DENY) {
			r->state = VIRTIO_RESOURCE_DEV_S_DENIED;
			r->reason = a->u.deny.reason;
			r->retry_after_ms = a->u.deny.retry_after_ms;
			r->allocation = a->u.deny.allocation;
		} else if (type == VIRTIO_RESOURCE_A_OFFER) {
			r->state = VIRTIO_RESOURCE_DEV_S_OFFERED;
			vres_ureq_offer(u, &a->u.offer);
		} else {
			err = -EPROTO;
		}
		break;
	case VRES_OP_ACCEPT:
		if (type == VIRTIO_RESOURCE_A_GRANT) {
			r->state = VIRTIO_RESOURCE_DEV_S_ACCEPTED;
			r->granted = a->u.grant.amount;
			r->allocation = a->u.grant.allocation;
			r->lease_ms = a->u.grant.lease_ms;
			u->accepted = true;
		} else {
			err = -EPROTO;
		}
		break;
	case VRES_OP_DECLINE:
		if (type == VIRTIO_RESOURCE_A_ACK) {
			r->state = VIRTIO_RESOURCE_DEV_S_DECLINED;
			r->allocation = vres_ack_allocation(&a->u.ack, u->e.kind);
		} else {
			err = -EPROTO;
		}
		break;
	case VRES_OP_RELEASE:
		if (type == VIRTIO_RESOURCE_A_ACK) {
			r->granted = amount >= r->granted ? 0 : r->granted - amount;
			if (!r->granted)
				r->state = VIRTIO_RESOURCE_DEV_S_RELEASED;
			r->allocation = vres_ack_allocation(&a->u.ack, u->e.kind);
		} else {
			err = -EPROTO;
		}
		break;
	default:
		err = -EINVAL;
		break;
	}
	if (err)
		goto failed;
	r->type = type;
	r->status = 0;
	r->error = 0;
	if (type != VIRTIO_RESOURCE_A_DENY) {
		r->reason = 0;
		r->retry_after_ms = 0;
	}
	if (!u->e.answered_ns)
		u->e.answered_ns = now;
	u->e.updated_ns = now;
	u->res = *r;
	return;

failed:
	if (op == VRES_OP_REQUEST) {
		/* Never opened at the host, or its fate is unknown: the row ends. */
		r->state = VIRTIO_RESOURCE_DEV_S_FAILED;
		r->error = vres_cdev_errno(err);
		r->type = type;
		r->status = status;
		if (type && !u->e.answered_ns)
			u->e.answered_ns = now;
		u->e.updated_ns = now;
	}
	u->res = *r;
	u->res.error = vres_cdev_errno(err);
	u->res.type = type;
	u->res.status = status;
}

static void vres_cdev_job_init(struct vres_job *job, const struct vres_ureq *u)
{
	const struct virtio_resource_dev_entry *e = &u->e;

	memset(job, 0, sizeof(*job));
	job->op = u->op;
	job->req.txn = e->answer.id;
	job->req.app_id = e->app_id;
	job->req.pid = e->pid;
	memcpy(job->req.comm, e->comm, sizeof(job->req.comm));
	job->req.kind = e->kind;
	job->req.urgency = e->urgency;
	job->req.latency = e->latency;
	job->req.deadline_ms = e->deadline_ms;
	job->req.duration_ms = e->duration_ms;
	job->req.amount = e->amount;
	job->req.minimum = e->minimum;
	job->req.projected = e->projected;
	job->accept_offer = e->flags & VIRTIO_RESOURCE_DEV_F_ACCEPT_OFFER;
	job->offer_id = e->answer.offer_id;
	job->choices = u->op_choices;
	job->amount = u->op_amount;
}

/* Send the call (no cd->lock held: the driver waits for the device). */
static void vres_cdev_job_run(struct vres *vr, struct vres_job *job)
{
	const struct vres_answer *a = &job->a;
	const struct rc_entry *r = &job->req;

	switch (job->op) {
	case VRES_OP_REQUEST:
		job->err = vres_request_answer(vr, &job->req, &job->a, false);
		if (job->err || !job->accept_offer || a->err ||
		    a->hdr.type != VIRTIO_RESOURCE_A_OFFER || a->hdr.txn != r->txn ||
		    !vres_offer_choices(&a->u.offer))
			break;
		job->second = true;
		job->err2 = vres_offer_reply(vr, r->txn, a->u.offer.offer_id,
					     vres_offer_choices(&a->u.offer), &job->a2);
		break;
	case VRES_OP_ACCEPT:
		job->err = vres_offer_reply(vr, r->txn, job->offer_id, job->choices, &job->a);
		break;
	case VRES_OP_DECLINE:
		job->err = vres_offer_reply(vr, r->txn, job->offer_id, 0, &job->a);
		break;
	case VRES_OP_RELEASE:
		/* Memory goes back once the balloon holds it (protocol.md §6.4). */
		if (r->kind == VIRTIO_RESOURCE_K_MEMORY) {
			job->err = vres_balloon_hold(vr, job->amount);
			if (!job->err)
				job->err = vres_release_agreement(vr, r->txn, r->app_id, r->kind,
								  job->amount, &job->a);
			vres_balloon_unhold(vr, job->amount);
		} else {
			job->err = vres_release_agreement(vr, r->txn, r->app_id, r->kind,
							  job->amount, &job->a);
		}
		break;
	default:
		job->err = -EINVAL;
		break;
	}
}

/* The call is done: record it, tell whoever waits. Under cd->lock. */
static void vres_cdev_job_done(struct vres_cdev *cd, struct vres_ureq *u, struct vres_job *job)
{
	u64 now = ktime_get_ns();

	vres_ureq_apply(u, job->op, job->err, &job->a, job->amount, now);
	if (job->second)
		vres_ureq_apply(u, VRES_OP_ACCEPT, job->err2, &job->a2, 0, now);
	WRITE_ONCE(u->op, VRES_OP_NONE);
	vres_cdev_sync_one(cd, u);
	u->res.state = u->e.answer.state;
	u->res.granted = u->e.answer.granted;
	u->res_ns = now;
	if (u->op_file) {
		u->op_file->calls--;
		if (u->op_notify)
			vres_ureq_notify(u, u->op_file);
	}
	u->op_file = NULL;
	/* Its application left while it was being granted. */
	if ((u->e.flags & VIRTIO_RESOURCE_DEV_F_RELEASE_ON_CLOSE) && !u->owner &&
	    !u->close_released && vres_ureq_held(u) && !cd->dead) {
		u->close_released = true;
		vres_cdev_queue(cd, u, VRES_OP_RELEASE, NULL, false, 0, u->e.answer.granted);
	}
}

static void vres_cdev_work(struct work_struct *work)
{
	struct vres_cdev *cd = container_of(work, struct vres_cdev, work);
	struct vres_job job;
	struct vres_ureq *u;
	struct vres *vr;

	for (;;) {
		mutex_lock(&cd->lock);
		u = list_first_entry_or_null(&cd->queue, struct vres_ureq, qnode);
		if (!u || cd->dead) {
			mutex_unlock(&cd->lock);
			return;
		}
		list_del_init(&u->qnode);
		vres_cdev_job_init(&job, u);
		vr = cd->vr;
		mutex_unlock(&cd->lock);

		/* The row stays: rows with a call under way are never dropped. */
		vres_cdev_job_run(vr, &job);

		mutex_lock(&cd->lock);
		vres_cdev_job_done(cd, u, &job);
		mutex_unlock(&cd->lock);
		wake_up_all(&cd->wait);
	}
}

/*
 * Wait for the call about @u that @f queued (u->waiters counted for it) and
 * put its outcome in @out. Interrupted or timed out, the call goes on and
 * its outcome comes as a read() record.
 */
static int vres_cdev_wait(struct vres_cfile *f, struct vres_ureq *u, u32 timeout_ms,
			  struct virtio_resource_dev_answer *out)
{
	struct vres_cdev *cd = f->cd;
	long left;
	int err;

	left = wait_event_interruptible_timeout(cd->wait,
						READ_ONCE(u->op) == VRES_OP_NONE ||
						READ_ONCE(cd->dead),
						msecs_to_jiffies(timeout_ms ? timeout_ms :
								 VRES_CDEV_WAIT_MS));
	mutex_lock(&cd->lock);
	u->waiters--;
	if (u->op == VRES_OP_NONE) {
		*out = u->res;
		err = out->error;
	} else {
		*out = u->e.answer;
		if (cd->dead) {
			err = -ENODEV;
		} else {
			err = left < 0 ? -EINTR : -ETIMEDOUT;
			if (u->op_file == f)
				u->op_notify = true;
		}
	}
	mutex_unlock(&cd->lock);
	return err;
}

/*
 * Copy the caller's struct (@r, @len bytes at @arg) back with its id first,
 * so that an interrupted caller can still find its row; then, unless
 * @nonblock, wait for the answer into @answer and copy @r back again.
 */
static int vres_cdev_reply_wait(struct vres_cfile *f, struct vres_ureq *u, void __user *arg,
				void *r, size_t len, u32 timeout_ms,
				struct virtio_resource_dev_answer *answer, bool nonblock)
{
	struct vres_cdev *cd = f->cd;
	int err;

	err = copy_to_user(arg, r, len) ? -EFAULT : 0;
	if (nonblock)
		return err;
	if (err) {
		mutex_lock(&cd->lock);
		u->waiters--;
		mutex_unlock(&cd->lock);
		return err;
	}
	err = vres_cdev_wait(f, u, timeout_ms, answer);
	if (copy_to_user(arg, r, len))
		return -EFAULT;
	return err;
}

/* ---- ioctls ---- */

static long vres_cdev_ioc_info(struct vres_cfile *f, void __user *arg)
{
	struct vres_cdev *cd = f->cd;
	struct virtio_resource_dev_info in;
	struct vres *vr;

	if (copy_from_user(&in, arg, sizeof(in)))
		return -EFAULT;
	if (in.size != sizeof(in) || in.reserved)
		return -EINVAL;
	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	in.app_id = f->app_id;
	vr = vres_cdev_get_vr(cd);
	if (!vr)
		return -ENODEV;
	strscpy(in.device, dev_name(&vr->vdev->dev), sizeof(in.device));
	in.features = vr->vdev->features;
	mutex_lock(&cd->lock);
	in.requests = cd->nr_rows;
	in.messages = cd->nr_msgs;
	in.messages_dropped = cd->msgs_dropped;
	mutex_unlock(&cd->lock);
	mutex_lock(&vr->lock);
	in.guest_id = vr->cfg.guest_id;
	in.generation = vr->cfg.generation;
	in.mem_granule = vr->cfg.mem_granule;
	in.mem_max = vr->cfg.mem_max;
	in.mem_granted = vr->cfg.mem_granted;
	in.mem_reserved = vr->cfg.mem_reserved;
	in.vcpus_max = vr->cfg.vcpus_max;
	in.vcpus_granted = vr->cfg.vcpus_granted;
	in.max_message = vr->cfg.max_message;
	in.max_outstanding = vr->cfg.max_outstanding;
	in.inventory_valid = vr->inv_valid;
	if (vr->inv_valid) {
		in.host_cpus = vr->inv->cpus_found;
		in.host_cpus_online = vr->inv->cpus_online;
		in.host_pci_devices = vr->inv->pci_found;
		if (vr->inv->has_memory)
			in.host_mem_total = vr->inv->mem_total;
	}
	in.agreements = vr->table.used;
	in.needs_reset = vr->needs_reset;
	mutex_unlock(&vr->lock);
	vres_cdev_put_vr(cd);
	return copy_to_user(arg, &in, sizeof(in)) ? -EFAULT : 0;
}

static int vres_cdev_check_request(struct vres *vr, const struct virtio_resource_dev_request *r)
{
	unsigned int feature;

	if (r->size != sizeof(*r) || (r->flags & ~VRES_CDEV_REQ_FLAGS) || !r->amount ||
	    r->minimum > r->amount || r->urgency > VIRTIO_RESOURCE_U_CRITICAL ||
	    r->latency > VIRTIO_RESOURCE_L_REALTIME || r->timeout_ms > VRES_CDEV_WAIT_MAX_MS)
		return -EINVAL;
	if (r->kind == VIRTIO_RESOURCE_K_MEMORY)
		feature = VIRTIO_RESOURCE_F_MEMORY;
	else if (r->kind == VIRTIO_RESOURCE_K_VCPU)
		feature = VIRTIO_RESOURCE_F_VCPU;
	else
		return -EINVAL;
	if (!virtio_has_feature(vr->vdev, feature))
		return -EOPNOTSUPP;
	return 0;
}

static long vres_cdev_ioc_request(struct vres_cfile *f, void __user *arg, bool nonblock)
{
	struct vres_cdev *cd = f->cd;
	struct virtio_resource_dev_request r;
	struct virtio_resource_dev_entry *e;
	struct vres_ureq *u;
	struct vres *vr;
	int err;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (r.size != sizeof(r))
		return -EINVAL;
	nonblock = nonblock || (r.flags & VIRTIO_RESOURCE_DEV_F_NONBLOCK);
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	INIT_LIST_HEAD(&u->qnode);
	vr = vres_cdev_get_vr(cd);
	if (!vr) {
		kfree(u);
		return -ENODEV;
	}
	err = vres_cdev_check_request(vr, &r);
	if (err)
		goto out_free;

	e = &u->e;
	e->app_id = f->app_id;
	e->pid = task_tgid_nr(current);
	get_task_comm(e->comm, current);
	e->kind = r.kind;
	e->urgency = r.urgency;
	e->latency = r.latency;
	e->flags = r.flags;
	e->deadline_ms = r.deadline_ms;
	e->duration_ms = r.duration_ms;
	e->amount = r.amount;
	e->minimum = r.minimum;
	e->projected = r.projected;
	if (!e->projected) {
		mutex_lock(&vr->lock);
		e->projected = r.kind == VIRTIO_RESOURCE_K_MEMORY ? vr->cfg.mem_granted :
			       vr->cfg.vcpus_granted;
		mutex_unlock(&vr->lock);
		if (check_add_overflow(e->projected, r.amount, &e->projected))
			e->projected = U64_MAX;
	}
	e->created_ns = ktime_get_ns();
	e->updated_ns = e->created_ns;
	e->answer.id = vres_txn(vr);
	e->answer.state = VIRTIO_RESOURCE_DEV_S_PENDING;
	e->answer.kind = r.kind;
	u->owner = f;

	mutex_lock(&cd->lock);
	err = f->calls >= VRES_CDEV_FILE_CALLS ? -EBUSY : vres_cdev_insert(cd, u);
	if (err) {
		mutex_unlock(&cd->lock);
		goto out_free;
	}
	vres_cdev_queue(cd, u, VRES_OP_REQUEST, f, nonblock, 0, 0);
	if (!nonblock)
		u->waiters++;
	r.answer = e->answer;
	mutex_unlock(&cd->lock);
	vres_cdev_put_vr(cd);

	return vres_cdev_reply_wait(f, u, arg, &r, sizeof(r), r.timeout_ms, &r.answer, nonblock);

out_free:
	vres_cdev_put_vr(cd);
	kfree(u);
	return err;
}

/*
 * May @cmd be made about @u now? Fills the call's choices and amount; a
 * part of a memory agreement is whole granules of @granule. Under cd->lock.
 */
static int vres_cdev_check_op(struct vres_ureq *u, unsigned int cmd,
			      struct virtio_resource_dev_op *o, u64 granule)
{
	const struct virtio_resource_dev_answer *r = &u->e.answer;

	if (u->op != VRES_OP_NONE)
		return -EBUSY;
	switch (cmd) {
	case VIRTIO_RESOURCE_DEV_IOC_ACCEPT:
	case VIRTIO_RESOURCE_DEV_IOC_DECLINE:
		if (r->state != VIRTIO_RESOURCE_DEV_S_OFFERED)
			return -EINVAL;
		if (cmd == VIRTIO_RESOURCE_DEV_IOC_DECLINE)
			return 0;
		if (o->choices >= 1U << min_t(u16, r->alternatives,
					      VIRTIO_RESOURCE_MAX_ALTERNATIVES))
			return -EINVAL;
		if (!o->choices)
			o->choices = u->choices_all;
		return o->choices ? 0 : -EINVAL;
	case VIRTIO_RESOURCE_DEV_IOC_RELEASE:
		if (!vres_ureq_held(u) || o->amount > r->granted || (o->amount && granule &&
								     o->amount % granule))
			return -EINVAL;
		if (!o->amount)
			o->amount = r->granted;
		return 0;
	default:
		return -EINVAL;
	}
}

static long vres_cdev_ioc_op(struct vres_cfile *f, unsigned int cmd, void __user *arg,
			     bool nonblock)
{
	struct vres_cdev *cd = f->cd;
	struct virtio_resource_dev_op o;
	struct vres_ureq *u;
	enum vres_op op;
	u64 granule = 0;
	int err;

	if (copy_from_user(&o, arg, sizeof(o)))
		return -EFAULT;
	if (o.size != sizeof(o) || (o.flags & ~VIRTIO_RESOURCE_DEV_F_NONBLOCK) ||
	    o.timeout_ms > VRES_CDEV_WAIT_MAX_MS)
		return -EINVAL;
	switch (cmd) {
	case VIRTIO_RESOURCE_DEV_IOC_ACCEPT:
		op = VRES_OP_ACCEPT;
		if (o.amount)
			return -EINVAL;
		break;
	case VIRTIO_RESOURCE_DEV_IOC_DECLINE:
		op = VRES_OP_DECLINE;
		if (o.amount || o.choices)
			return -EINVAL;
		break;
	case VIRTIO_RESOURCE_DEV_IOC_RELEASE:
		op = VRES_OP_RELEASE;
		if (o.choices)
			return -EINVAL;
		break;
	default: /* QUERY */
		op = VRES_OP_NONE;
		if (o.flags || o.amount || o.choices || o.timeout_ms)
			return -EINVAL;
		break;
	}
	nonblock = nonblock || (o.flags & VIRTIO_RESOURCE_DEV_F_NONBLOCK);

	mutex_lock(&cd->lock);
	if (cd->dead) {
		err = -ENODEV;
		goto out_unlock;
	}
	u = vres_cdev_find(cd, o.id);
	if (!u) {
		err = -ENOENT;
		goto out_unlock;
	}
	vres_cdev_sync_one(cd, u);
	if (u->e.kind == VIRTIO_RESOURCE_K_MEMORY && cd->vr) {
		mutex_lock(&cd->vr->lock);
		granule = cd->vr->cfg.mem_granule;
		mutex_unlock(&cd->vr->lock);
	}
	if (op == VRES_OP_NONE) {
		o.answer = u->e.answer;
		mutex_unlock(&cd->lock);
		return copy_to_user(arg, &o, sizeof(o)) ? -EFAULT : 0;
	}
	err = f->calls >= VRES_CDEV_FILE_CALLS ? -EBUSY : vres_cdev_check_op(u, cmd, &o, granule);
	if (err)
		goto out_unlock;
	vres_cdev_queue(cd, u, op, f, nonblock, o.choices, o.amount);
	if (!nonblock)
		u->waiters++;
	o.answer = u->e.answer;
	mutex_unlock(&cd->lock);

	return vres_cdev_reply_wait(f, u, arg, &o, sizeof(o), o.timeout_ms, &o.answer, nonblock);

out_unlock:
	mutex_unlock(&cd->lock);
	return err;
}

static long vres_cdev_ioc_table(struct vres_cfile *f, void __user *arg)
{
	struct vres_cdev *cd = f->cd;
	struct virtio_resource_dev_entry *rows = NULL;
	struct virtio_resource_dev_table t;
	struct vres_ureq *u;
	u32 n, i = 0;
	int err = 0;

	if (copy_from_user(&t, arg, sizeof(t)))
		return -EFAULT;
	if (t.size != sizeof(t) || t.entry_size != sizeof(*rows) || t.reserved ||
	    (t.count && !t.entries))
		return -EINVAL;
	n = min_t(u32, t.count, VRES_CDEV_ROWS);
	if (n) {
		rows = kvcalloc(n, sizeof(*rows), GFP_KERNEL);
		if (!rows)
			return -ENOMEM;
	}
	mutex_lock(&cd->lock);
	if (cd->dead) {
		mutex_unlock(&cd->lock);
		err = -ENODEV;
		goto out;
	}
	vres_cdev_sync(cd);
	list_for_each_entry(u, &cd->rows, node) {
		if (i == n)
			break;
		rows[i] = u->e;
		rows[i].open = !!u->owner;
		rows[i].busy = u->op != VRES_OP_NONE;
		i++;
	}
	t.total = cd->nr_rows;
	mutex_unlock(&cd->lock);
	t.count = i;
	t.capacity = VRES_CDEV_ROWS;
	t.now_ns = ktime_get_ns();
	if ((i && copy_to_user(u64_to_user_ptr(t.entries), rows, i * sizeof(*rows))) ||
	    copy_to_user(arg, &t, sizeof(t)))
		err = -EFAULT;
out:
	kvfree(rows);
	return err;
}

/* T_MESSAGE to @dest; too long for the device: -EMSGSIZE. */
static int vres_cdev_send(struct vres_cdev *cd, u32 dest, const void __user *data, u32 len,
			  u64 *txn)
{
	struct rc_message m = { };
	struct vres_answer a;
	u8 ans[VRES_ROOM_MIN];
	void *payload = NULL, *msg = NULL;
	struct vres *vr;
	size_t n, size;
	u32 max;
	int used, err;

	vr = vres_cdev_get_vr(cd);
	if (!vr)
		return -ENODEV;
	if (!virtio_has_feature(vr->vdev, VIRTIO_RESOURCE_F_MESSAGES)) {
		err = -EOPNOTSUPP;
		goto out;
	}
	mutex_lock(&vr->lock);
	max = min_t(u32, vr->cfg.max_message, VRES_EVENT_LEN) -
	      sizeof(struct virtio_resource_message);
	mutex_unlock(&vr->lock);
	if (!len || len > max) {
		err = -EMSGSIZE;
		goto out;
	}
	payload = memdup_user(data, len);
	if (IS_ERR(payload)) {
		err = PTR_ERR(payload);
		payload = NULL;
		goto out;
	}
	size = sizeof(struct virtio_resource_message) + len;
	msg = kmalloc(size, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	m.hdr.type = VIRTIO_RESOURCE_T_MESSAGE;
	m.hdr.txn = vres_txn(vr);
	m.dest = dest;
	m.payload = payload;
	m.payload_len = len;
	n = rc_encode_message(msg, size, &m);
	used = vres_call(vr, VIRTIO_RESOURCE_Q_MESSAGE, msg, n, ans, sizeof(ans));
	if (used < 0) {
		err = vres_cdev_errno(used);
		goto out;
	}
	vres_decode(ans, used, &a);
	if (a.err)
		err = -EPROTO;
	else if (a.hdr.type == VIRTIO_RESOURCE_A_ERROR)
		err = vres_cdev_status_errno(a.hdr.status);
	else if (a.hdr.type != VIRTIO_RESOURCE_A_ACK || a.hdr.txn != m.hdr.txn)
		err = -EPROTO;
	else
		err = 0;
	*txn = m.hdr.txn;
out:
	vres_cdev_put_vr(cd);
	kfree(msg);
	kfree(payload);
	return err;
}

static long vres_cdev_ioc_send(struct vres_cfile *f, void __user *arg)
{
	struct virtio_resource_dev_message m;
	int err;

	if (copy_from_user(&m, arg, sizeof(m)))
		return -EFAULT;
	if (m.size != sizeof(m) || m.flags || !m.len || m.len > VIRTIO_RESOURCE_DEV_MAX_PAYLOAD ||
	    !m.data)
		return -EINVAL;
	err = vres_cdev_send(f->cd, m.dest, u64_to_user_ptr(m.data), m.len, &m.txn);
	if (err)
		return err;
	return copy_to_user(arg, &m, sizeof(m)) ? -EFAULT : 0;
}

/* ---- files of the host's share ---- */

/* One call on fileq: @msg (transaction @txn), then an answer of type @want in @cap bytes. */
static int vres_cdev_file_call(struct vres *vr, const void *msg, size_t len, u64 txn, void *ans,
			       size_t cap, struct vres_answer *a, u16 want)
{
	int used;

	if (!len)
		return -EINVAL;
	used = vres_call(vr, VIRTIO_RESOURCE_Q_FILE, msg, len, ans, cap);
	if (used < 0)
		return vres_cdev_errno(used);
	vres_decode(ans, used, a);
	if (a->err)
		return -EPROTO;
	if (a->hdr.type == VIRTIO_RESOURCE_A_ERROR)
		return vres_cdev_status_errno(a->hdr.status);
	if (a->hdr.type != want || a->hdr.txn != txn)
		return -EPROTO;
	return 0;
}

static int vres_cdev_file_op(struct vres *vr, u16 type, u32 handle, u32 len, u64 offset,
			     void *ans, size_t cap, struct vres_answer *a, u16 want)
{
	struct rc_file_op op = { };
	u8 msg[VRES_MSG_MAX];
	int err;

	op.hdr.type = type;
	op.hdr.txn = vres_txn(vr);
	op.handle = handle;
	op.len = len;
	op.offset = offset;
	err = vres_cdev_file_call(vr, msg, rc_encode_file_op(msg, sizeof(msg), &op), op.hdr.txn,
				  ans, cap, a, want);
	/* An unknown handle: the host forgot it (a reset), or never had it. */
	return err == -EINVAL ? -EBADF : err;
}

static int vres_cdev_file_open(struct vres *vr, struct virtio_resource_dev_file *fl)
{
	struct rc_file_open o = { };
	struct vres_answer a;
	u8 ans[VRES_ROOM_MIN];
	char *path;
	void *msg;
	size_t cap = sizeof(struct virtio_resource_file_open) + fl->len;
	int err;

	path = memdup_user(u64_to_user_ptr(fl->buf), fl->len);
	if (IS_ERR(path))
		return PTR_ERR(path);
	msg = kmalloc(cap, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = -EINVAL;
	if (memchr(path, '\0', fl->len))
		goto out;
	o.hdr.type = VIRTIO_RESOURCE_T_FILE_OPEN;
	o.hdr.txn = vres_txn(vr);
	o.path = path;
	o.path_len = fl->len;
	err = vres_cdev_file_call(vr, msg, rc_encode_file_open(msg, cap, &o), o.hdr.txn, ans,
				  sizeof(ans), &a, VIRTIO_RESOURCE_A_FILE);
	if (err == -EAGAIN)
		err = -EMFILE; /* the host's 16 open files */
	if (!err && (!a.u.file.handle || a.u.file.handle == VRES_CDEV_FH_OPENING))
		err = -EPROTO;
	if (err)
		goto out;
	fl->handle = a.u.file.handle;
	fl->mode = a.u.file.mode;
	fl->file_size = a.u.file.size;
	fl->mtime_ns = a.u.file.mtime_ns;
out:
	kfree(msg);
	kfree(path);
	return err;
}

static int vres_cdev_file_read(struct vres *vr, struct virtio_resource_dev_file *fl)
{
	size_t cap = sizeof(struct virtio_resource_hdr) + fl->len;
	struct vres_answer a;
	void *ans;
	int err;

	ans = kvmalloc(max_t(size_t, cap, VRES_ROOM_MIN), GFP_KERNEL);
	if (!ans)
		return -ENOMEM;
	err = vres_cdev_file_op(vr, VIRTIO_RESOURCE_T_FILE_READ, fl->handle, fl->len, fl->offset,
				ans, cap, &a, VIRTIO_RESOURCE_A_DATA);
	if (!err && a.u.data.data_len > fl->len)
		err = -EPROTO;
	if (!err && a.u.data.data_len &&
	    copy_to_user(u64_to_user_ptr(fl->buf), a.u.data.data, a.u.data.data_len))
		err = -EFAULT;
	if (!err)
		fl->len = a.u.data.data_len;
	kvfree(ans);
	return err;
}

static int vres_cdev_file_close(struct vres *vr, u32 handle)
{
	struct vres_answer a;
	u8 ans[VRES_ROOM_MIN];

	return vres_cdev_file_op(vr, VIRTIO_RESOURCE_T_FILE_CLOSE, handle, 0, 0, ans, sizeof(ans),
				 &a, VIRTIO_RESOURCE_A_ACK);
}

/* The slot of @handle among @f's (-1: not one of its handles). Under cd->lock. */
static int vres_cfile_slot(const struct vres_cfile *f, u32 handle)
{
	int i;

	for (i = 0; i < VIRTIO_RESOURCE_DEV_MAX_FILES; i++) {
		if (f->fh[i] == handle)
			return i;
	}
	return -1;
}

static int vres_cdev_check_file(unsigned int cmd, const struct virtio_resource_dev_file *fl)
{
	if (fl->size != sizeof(*fl) || fl->flags || fl->reserved)
		return -EINVAL;
	switch (cmd) {
	case VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN:
		if (!fl->len || fl->len > VIRTIO_RESOURCE_MAX_PATH || fl->offset || !fl->buf)
			return -EINVAL;
		return 0;
	case VIRTIO_RESOURCE_DEV_IOC_FILE_READ:
		if (!fl->len || fl->len > VIRTIO_RESOURCE_MAX_READ || !fl->buf ||
		    fl->offset > (u64)S64_MAX - fl->len)
			return -EINVAL;
		break;
	default: /* STAT, CLOSE */
		if (fl->len || fl->offset || fl->buf)
			return -EINVAL;
		break;
	}
	if (!fl->handle || fl->handle == VRES_CDEV_FH_OPENING)
		return -EBADF;
	return 0;
}

static long vres_cdev_ioc_file(struct vres_cfile *f, unsigned int cmd, void __user *arg)
{
	struct vres_cdev *cd = f->cd;
	struct virtio_resource_dev_file fl;
	struct vres_answer a;
	u8 ans[VRES_ROOM_MIN];
	struct vres *vr;
	int slot, err;

	if (copy_from_user(&fl, arg, sizeof(fl)))
		return -EFAULT;
	err = vres_cdev_check_file(cmd, &fl);
	if (err)
		return err;
	vr = vres_cdev_get_vr(cd);
	if (!vr)
		return -ENODEV;
	if (!virtio_has_feature(vr->vdev, VIRTIO_RESOURCE_F_FILES)) {
		err = -EOPNOTSUPP;
		goto out;
	}
	mutex_lock(&cd->lock);
	slot = vres_cfile_slot(f, cmd == VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN ? 0 : fl.handle);
	if (slot >= 0 && cmd == VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN)
		f->fh[slot] = VRES_CDEV_FH_OPENING;
	else if (slot >= 0 && cmd == VIRTIO_RESOURCE_DEV_IOC_FILE_CLOSE)
		f->fh[slot] = 0;
	mutex_unlock(&cd->lock);
	if (slot < 0) {
		err = cmd == VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN ? -EMFILE : -EBADF;
		goto out;
	}

	switch (cmd) {
	case VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN:
		err = vres_cdev_file_open(vr, &fl);
		mutex_lock(&cd->lock);
		f->fh[slot] = err ? 0 : fl.handle;
		mutex_unlock(&cd->lock);
		break;
	case VIRTIO_RESOURCE_DEV_IOC_FILE_READ:
		err = vres_cdev_file_read(vr, &fl);
		break;
	case VIRTIO_RESOURCE_DEV_IOC_FILE_STAT:
		err = vres_cdev_file_op(vr, VIRTIO_RESOURCE_T_FILE_STAT, fl.handle, 0, 0, ans,
					sizeof(ans), &a, VIRTIO_RESOURCE_A_FILE);
		if (!err) {
			fl.mode = a.u.file.mode;
			fl.file_size = a.u.file.size;
			fl.mtime_ns = a.u.file.mtime_ns;
		}
		break;
	default: /* CLOSE: the slot is free whatever the host says */
		err = vres_cdev_file_close(vr, fl.handle);
		break;
	}
	if (!err && copy_to_user(arg, &fl, sizeof(fl)))
		err = -EFAULT;
out:
	vres_cdev_put_vr(cd);
	return err;
}

static long vres_cdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vres_cfile *f = file->private_data;
	void __user *uarg = (void __user *)arg;
	bool nonblock = file->f_flags & O_NONBLOCK;

	switch (cmd) {
	case VIRTIO_RESOURCE_DEV_IOC_INFO:
		return vres_cdev_ioc_info(f, uarg);
	case VIRTIO_RESOURCE_DEV_IOC_REQUEST:
		return vres_cdev_ioc_request(f, uarg, nonblock);
	case VIRTIO_RESOURCE_DEV_IOC_ACCEPT:
	case VIRTIO_RESOURCE_DEV_IOC_DECLINE:
	case VIRTIO_RESOURCE_DEV_IOC_RELEASE:
	case VIRTIO_RESOURCE_DEV_IOC_QUERY:
		return vres_cdev_ioc_op(f, cmd, uarg, nonblock);
	case VIRTIO_RESOURCE_DEV_IOC_TABLE:
		return vres_cdev_ioc_table(f, uarg);
	case VIRTIO_RESOURCE_DEV_IOC_SEND:
		return vres_cdev_ioc_send(f, uarg);
	case VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN:
	case VIRTIO_RESOURCE_DEV_IOC_FILE_READ:
	case VIRTIO_RESOURCE_DEV_IOC_FILE_STAT:
	case VIRTIO_RESOURCE_DEV_IOC_FILE_CLOSE:
		return vres_cdev_ioc_file(f, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

/* ---- read, write, poll, open, release ---- */

static bool vres_cfile_ready(const struct vres_cfile *f)
{
	return READ_ONCE(f->unread) || READ_ONCE(f->cd->nr_msgs) || READ_ONCE(f->cd->dead);
}

/* The next record for @f into @buf: its size, 0 if none, or a negative errno. Under cd->lock. */
static ssize_t vres_cdev_read_one(struct vres_cfile *f, char __user *buf, size_t count)
{
	struct vres_cdev *cd = f->cd;
	struct virtio_resource_dev_event ev = { };
	struct vres_umsg *m;
	struct vres_ureq *u;

	if (f->unread) {
		list_for_each_entry(u, &cd->rows, node) {
			if (!u->unread || u->notify != f)
				continue;
			if (count < sizeof(ev))
				return -EINVAL;
			ev.size = sizeof(ev);
			ev.type = VIRTIO_RESOURCE_DEV_EV_ANSWER;
			ev.time_ns = u->res_ns;
			ev.answer = u->res;
			if (copy_to_user(buf, &ev, sizeof(ev)))
				return -EFAULT;
			vres_ureq_unread(u);
			return sizeof(ev);
		}
	}
	m = list_first_entry_or_null(&cd->msgs, struct vres_umsg, node);
	if (!m)
		return 0;
	if (count < sizeof(ev) + m->len)
		return -EINVAL;
	ev.size = sizeof(ev) + m->len;
	ev.type = VIRTIO_RESOURCE_DEV_EV_MESSAGE;
	ev.time_ns = m->time_ns;
	ev.message.txn = m->txn;
	ev.message.source = m->source;
	ev.message.len = m->len;
	if (copy_to_user(buf, &ev, sizeof(ev)) || copy_to_user(buf + sizeof(ev), m->data, m->len))
		return -EFAULT;
	list_del(&m->node);
	WRITE_ONCE(cd->nr_msgs, cd->nr_msgs - 1);
	kfree(m);
	return ev.size;
}

static ssize_t vres_cdev_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct vres_cfile *f = file->private_data;
	struct vres_cdev *cd = f->cd;
	ssize_t ret;

	for (;;) {
		mutex_lock(&cd->lock);
		ret = cd->dead ? -ENODEV : vres_cdev_read_one(f, buf, count);
		mutex_unlock(&cd->lock);
		if (ret)
			return ret;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(cd->wait, vres_cfile_ready(f)))
			return -ERESTARTSYS;
	}
}

/* write(): the bytes go to the host as one message. */
static ssize_t vres_cdev_write(struct file *file, const char __user *buf, size_t count,
			       loff_t *ppos)
{
	struct vres_cfile *f = file->private_data;
	u64 txn;
	int err;

	if (!count)
		return 0;
	if (count > VIRTIO_RESOURCE_DEV_MAX_PAYLOAD)
		return -EMSGSIZE;
	err = vres_cdev_send(f->cd, VIRTIO_RESOURCE_DEST_HOST, buf, count, &txn);
	return err ? err : count;
}

static __poll_t vres_cdev_poll(struct file *file, poll_table *wait)
{
	struct vres_cfile *f = file->private_data;
	struct vres_cdev *cd = f->cd;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &cd->wait, wait);
	if (READ_ONCE(cd->dead))
		return EPOLLERR | EPOLLHUP;
	if (READ_ONCE(f->unread) || READ_ONCE(cd->nr_msgs))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static int vres_cdev_open(struct inode *inode, struct file *file)
{
	/* misc_open() put the miscdevice here and holds misc_mtx: remove waits for it. */
	struct vres_cdev *cd = container_of(file->private_data, struct vres_cdev, misc);
	struct vres_cfile *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	mutex_lock(&cd->lock);
	if (cd->dead) {
		mutex_unlock(&cd->lock);
		kfree(f);
		return -ENODEV;
	}
	f->app_id = cd->next_app_id++;
	if (!cd->next_app_id)
		cd->next_app_id = 1; /* 0 is the driver itself */
	kref_get(&cd->ref);
	mutex_unlock(&cd->lock);
	f->cd = cd;
	file->private_data = f;
	return stream_open(inode, file);
}

/*
 * The application leaves: its host files are closed, its rows stay as
 * history, its agreements stay with the guest (releasable by id) unless
 * asked for with RELEASE_ON_CLOSE, and nothing points at it any more.
 */
static int vres_cdev_release(struct inode *inode, struct file *file)
{
	struct vres_cfile *f = file->private_data;
	struct vres_cdev *cd = f->cd;
	struct vres_ureq *u;
	struct vres *vr;
	int i;

	vr = vres_cdev_get_vr(cd);
	if (vr) {
		for (i = 0; i < VIRTIO_RESOURCE_DEV_MAX_FILES; i++) {
			if (f->fh[i] && f->fh[i] != VRES_CDEV_FH_OPENING)
				vres_cdev_file_close(vr, f->fh[i]);
		}
	}
	mutex_lock(&cd->lock);
	vres_cdev_sync(cd);
	list_for_each_entry(u, &cd->rows, node) {
		if (u->notify == f)
			vres_ureq_unread(u);
		if (u->op_file == f)
			u->op_file = NULL;
		if (u->owner != f)
			continue;
		u->owner = NULL;
		if ((u->e.flags & VIRTIO_RESOURCE_DEV_F_RELEASE_ON_CLOSE) && !cd->dead &&
		    u->op == VRES_OP_NONE && vres_ureq_held(u) && !u->close_released) {
			u->close_released = true;
			vres_cdev_queue(cd, u, VRES_OP_RELEASE, NULL, false, 0,
					u->e.answer.granted);
		}
	}
	mutex_unlock(&cd->lock);
	if (vr)
		vres_cdev_put_vr(cd);
	kfree(f);
	kref_put(&cd->ref, vres_cdev_free);
	return 0;
}

static const struct file_operations vres_cdev_fops = {
	.owner = THIS_MODULE,
	.open = vres_cdev_open,
	.release = vres_cdev_release,
	.read = vres_cdev_read,
	.write = vres_cdev_write,
	.poll = vres_cdev_poll,
	.unlocked_ioctl = vres_cdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

/* ---- debugfs: virtio_resource/<device>/requests ---- */

static int vres_cdev_requests_show(struct seq_file *s, void *unused)
{
	struct vres_cdev *cd = s->private;
	u64 now = ktime_get_ns();
	struct vres_ureq *u;

	mutex_lock(&cd->lock);
	vres_cdev_sync(cd);
	seq_printf(s, "node: /dev/%s\n", cd->name);
	seq_printf(s, "requests: %u of %u\n", cd->nr_rows, VRES_CDEV_ROWS);
	seq_printf(s, "messages: %u dropped=%lu\n", cd->nr_msgs, cd->msgs_dropped);
	list_for_each_entry(u, &cd->rows, node) {
		const struct virtio_resource_dev_entry *e = &u->e;
		const struct virtio_resource_dev_answer *r = &e->answer;

		seq_printf(s,
			   "request: id=%llu app=%u pid=%u comm=%s kind=%s amount=%llu minimum=%llu projected=%llu urgency=%u latency=%u deadline_ms=%u duration_ms=%u flags=0x%x state=%s answer=%s granted=%llu allocation=%llu",
			   r->id, e->app_id, e->pid, e->comm, rc_kind_name(e->kind), e->amount,
			   e->minimum, e->projected, e->urgency, e->latency, e->deadline_ms,
			   e->duration_ms, e->flags, vres_cdev_state_name(r->state),
			   rc_type_name(r->type), r->granted, r->allocation);
		if (r->type == VIRTIO_RESOURCE_A_DENY)
			seq_printf(s, " reason=%u retry_after_ms=%u", r->reason, r->retry_after_ms);
		if (r->type == VIRTIO_RESOURCE_A_ERROR)
			seq_printf(s, " status=%u", r->status);
		if (r->offer_id)
			seq_printf(s, " offer=%u part_now=%llu rest_later=%llu rest_delay_ms=%u",
				   r->offer_id, r->part_now, r->rest_later, r->rest_delay_ms);
		if (r->error)
			seq_printf(s, " error=%d", r->error);
		seq_printf(s, " age_ms=%llu", div_u64(now - e->created_ns, NSEC_PER_MSEC));
		if (e->answered_ns)
			seq_printf(s, " answered_us=%llu",
				   div_u64(e->answered_ns - e->created_ns, NSEC_PER_USEC));
		seq_printf(s, " open=%d busy=%d\n", !!u->owner, u->op != VRES_OP_NONE);
	}
	mutex_unlock(&cd->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vres_cdev_requests);

/* ---- the driver's side ---- */

/* EV_MESSAGE: kept for readers (the oldest dropped when 64 wait). */
void vres_cdev_message(struct vres *vr, const struct rc_message *m)
{
	struct vres_cdev *cd = READ_ONCE(vr->cdev);
	u32 len = min_t(u32, m->payload_len, VIRTIO_RESOURCE_DEV_MAX_PAYLOAD);
	struct vres_umsg *um, *old;

	if (!cd)
		return;
	um = kmalloc(struct_size(um, data, len), GFP_KERNEL);
	if (!um)
		return;
	um->time_ns = ktime_get_ns();
	um->txn = m->hdr.txn;
	um->source = m->source;
	um->len = len;
	memcpy(um->data, m->payload, len);
	mutex_lock(&cd->lock);
	if (cd->nr_msgs >= VRES_CDEV_MESSAGES) {
		old = list_first_entry(&cd->msgs, struct vres_umsg, node);
		list_del(&old->node);
		kfree(old);
		cd->msgs_dropped++;
		WRITE_ONCE(cd->nr_msgs, cd->nr_msgs - 1);
	}
	list_add_tail(&um->node, &cd->msgs);
	WRITE_ONCE(cd->nr_msgs, cd->nr_msgs + 1);
	mutex_unlock(&cd->lock);
	wake_up_all(&cd->wait);
}

/* The agreement @txn grew (EV_GRANT: a REST_LATER part); its application hears of it. */
void vres_cdev_agreement(struct vres *vr, u64 txn)
{
	struct vres_cdev *cd = READ_ONCE(vr->cdev);
	struct vres_ureq *u;

	if (!cd)
		return;
	mutex_lock(&cd->lock);
	u = vres_cdev_find(cd, txn);
	if (u && u->op == VRES_OP_NONE) {
		vres_cdev_sync_one(cd, u);
		u->e.answer.type = VIRTIO_RESOURCE_EV_GRANT;
		u->e.updated_ns = ktime_get_ns();
		u->res = u->e.answer;
		u->res_ns = u->e.updated_ns;
		if (u->owner)
			vres_ureq_notify(u, u->owner);
	}
	mutex_unlock(&cd->lock);
	wake_up_all(&cd->wait);
}

/* Probe, before the event buffers are posted: host messages are kept from now on. */
void vres_cdev_init(struct vres *vr)
{
	struct vres_cdev *cd;

	cd = kzalloc(sizeof(*cd), GFP_KERNEL);
	if (!cd)
		return; /* no node; the allocator has said why */
	kref_init(&cd->ref);
	init_rwsem(&cd->gate);
	INIT_WORK(&cd->work, vres_cdev_work);
	init_waitqueue_head(&cd->wait);
	mutex_init(&cd->lock);
	INIT_LIST_HEAD(&cd->rows);
	INIT_LIST_HEAD(&cd->queue);
	INIT_LIST_HEAD(&cd->msgs);
	cd->vr = vr;
	cd->next_app_id = 1;
	cd->index = -1;
	WRITE_ONCE(vr->cdev, cd);
}

/* The end of probe (after debugfs): the node appears. A failure is logged. */
void vres_cdev_add(struct vres *vr)
{
	struct device *dev = &vr->vdev->dev;
	struct vres_cdev *cd = vr->cdev;
	int err, index;

	if (!cd)
		return;
	index = ida_alloc(&vres_cdev_ida, GFP_KERNEL);
	if (index < 0) {
		err = index;
		goto err;
	}
	if (index)
		snprintf(cd->name, sizeof(cd->name), "%s%d", VIRTIO_RESOURCE_DEV_NAME, index);
	else
		strscpy(cd->name, VIRTIO_RESOURCE_DEV_NAME, sizeof(cd->name));
	cd->misc.minor = MISC_DYNAMIC_MINOR;
	cd->misc.name = cd->name;
	cd->misc.fops = &vres_cdev_fops;
	cd->misc.parent = dev;
	cd->misc.mode = 0600;
	err = misc_register(&cd->misc);
	if (err) {
		ida_free(&vres_cdev_ida, index);
		goto err;
	}
	cd->index = index;
	cd->debugfs = debugfs_create_file("requests", 0444, vr->debugfs, cd,
					  &vres_cdev_requests_fops);
	dev_info(dev, "device node /dev/%s\n", cd->name);
	return;

err:
	dev_warn(dev, "no device node: %d\n", err);
}

/*
 * Remove, after the driver stopped its work items and woke the callers that
 * wait for the device (whose calls now fail at once).
 */
void vres_cdev_remove(struct vres *vr)
{
	struct vres_cdev *cd = vr->cdev;
	struct vres_ureq *u, *next;

	if (!cd)
		return;
	if (cd->index >= 0) {
		debugfs_remove(cd->debugfs);
		misc_deregister(&cd->misc);
	}
	mutex_lock(&cd->lock);
	WRITE_ONCE(cd->dead, true);
	mutex_unlock(&cd->lock);
	wake_up_all(&cd->wait);
	cancel_work_sync(&cd->work);

	down_write(&cd->gate);
	mutex_lock(&cd->lock);
	list_for_each_entry_safe(u, next, &cd->queue, qnode) {
		/* Calls that were never sent. */
		list_del_init(&u->qnode);
		vres_ureq_apply(u, u->op, -ENODEV, NULL, 0, ktime_get_ns());
		if (u->op_file)
			u->op_file->calls--;
		u->op_file = NULL;
		WRITE_ONCE(u->op, VRES_OP_NONE);
	}
	cd->vr = NULL;
	mutex_unlock(&cd->lock);
	up_write(&cd->gate);
	wake_up_all(&cd->wait);

	WRITE_ONCE(vr->cdev, NULL);
	if (cd->index >= 0)
		ida_free(&vres_cdev_ida, cd->index);
	kref_put(&cd->ref, vres_cdev_free);
}
