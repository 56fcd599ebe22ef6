// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource: the queues that carry the driver's messages (request,
 * statistics, message and file queues), HELLO, the hardware description,
 * and requests kept in guest/core's agreement table.
 *
 * Each message is one chain: the message (device-readable), then room for
 * the answer (device-writable), which the host writes into the same chain.
 * A chain owns its buffers. When the device has not returned it by the
 * timeout, or the device is going away, the caller gets an error and the
 * chain stays with the queue: a later call, or remove after the reset,
 * frees it. The caller's own buffers are never handed to the device. A
 * device its transport broke (virtio_break_device: the vhost-user backend
 * or the PCI device went away) answers nothing more: calls fail with
 * -ENODEV, at once or as soon as remove wakes them.
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "vres.h"

struct vres_chain {
	struct list_head node;	/* on chan->reaped once back */
	void *out;		/* kmalloc'd copy of the message */
	void *in;		/* kvmalloc'd answer room, or NULL */
	size_t room;
	unsigned int used;
	bool done;
};

static void vres_chain_free(struct vres_chain *c)
{
	kvfree(c->in);
	kfree(c->out);
	kfree(c);
}

void vres_chan_done(struct virtqueue *vq)
{
	struct vres *vr = vq->vdev->priv;

	wake_up(&vr->chan[vq->index].wait);
}

void vres_chans_wake(struct vres *vr)
{
	unsigned int q;

	for (q = 0; q < VIRTIO_RESOURCE_NR_QUEUES; q++)
		wake_up_all(&vr->chan[q].wait);
}

/* Free the chains that came back after their call gave up on them. Under ch->lock. */
static void vres_chan_free_reaped(struct vres_chan *ch)
{
	struct vres_chain *c, *next;

	list_for_each_entry_safe(c, next, &ch->reaped, node) {
		list_del(&c->node);
		vres_chain_free(c);
	}
}

/*
 * After the reset: free every chain the device still held (used or not,
 * detach_unused_buf returns each one) and those it gave back late.
 */
void vres_chans_reap(struct vres *vr)
{
	struct vres_chain *c;
	unsigned int q;

	for (q = 0; q < VIRTIO_RESOURCE_NR_QUEUES; q++) {
		struct vres_chan *ch = &vr->chan[q];

		if (q == VIRTIO_RESOURCE_Q_EVENT || !ch->vq)
			continue;
		while ((c = virtqueue_detach_unused_buf(ch->vq)))
			vres_chain_free(c);
		vres_chan_free_reaped(ch);
	}
}

/*
 * Take back what the device returned (no sleeping: this runs as a wait
 * condition). Chains of earlier calls that timed out go on ch->reaped.
 */
static bool vres_chan_collect(struct vres_chan *ch, struct vres_chain *mine)
{
	struct vres_chain *c;
	unsigned int len;

	while ((c = virtqueue_get_buf(ch->vq, &len))) {
		c->used = len;
		c->done = true;
		if (c != mine)
			list_add(&c->node, &ch->reaped);
	}
	return mine->done;
}

static bool vres_stopping(struct vres *vr)
{
	return READ_ONCE(vr->stopping);
}

/* Has the transport broken the device? virtio_break_device breaks every queue at once. */
bool vres_broken(struct vres *vr)
{
	return virtqueue_is_broken(vr->chan[VIRTIO_RESOURCE_Q_REQUEST].vq);
}

/* The answer room as a scatterlist: one entry, or one per page of a vmalloc area. */
static struct scatterlist *vres_sg_room(void *buf, size_t len, struct scatterlist *one,
					unsigned int *nents)
{
	struct scatterlist *sg = one;
	unsigned int i, n = 1;

	if (is_vmalloc_addr(buf))
		n = DIV_ROUND_UP(offset_in_page(buf) + len, PAGE_SIZE);
	if (n > 1) {
		sg = kmalloc_array(n, sizeof(*sg), GFP_KERNEL);
		if (!sg)
			return NULL;
	}
	sg_init_table(sg, n);
	if (!is_vmalloc_addr(buf)) {
		sg_set_buf(sg, buf, len);
	} else {
		for (i = 0; i < n; i++) {
			size_t off = offset_in_page(buf);
			size_t chunk = min_t(size_t, len, PAGE_SIZE - off);

			sg_set_page(&sg[i], vmalloc_to_page(buf), chunk, off);
			buf += chunk;
			len -= chunk;
		}
	}
	*nents = n;
	return sg;
}

static int vres_chain_add(struct vres_chan *ch, struct vres_chain *c, size_t len)
{
	struct scatterlist out, in_one, *in = NULL, *sgs[2];
	unsigned int nents = 0;
	int err;

	sg_init_one(&out, c->out, len);
	sgs[0] = &out;
	if (c->room) {
		in = vres_sg_room(c->in, c->room, &in_one, &nents);
		if (!in)
			return -ENOMEM;
		sgs[1] = in;
	}
	err = virtqueue_add_sgs(ch->vq, sgs, 1, c->room ? 1 : 0, c, GFP_KERNEL);
	if (in && in != &in_one)
		kfree(in);
	if (err)
		return err;
	virtqueue_kick(ch->vq);
	return 0;
}

/*
 * Send @len bytes of @msg on queue @q and wait for the device to return the
 * chain. With @cap > 0 the chain has room for an answer (at least
 * VRES_ROOM_MIN bytes) and up to @cap bytes of it are copied to @ans.
 * Returns the used length (at most the room) or a negative errno.
 */
int vres_call(struct vres *vr, unsigned int q, const void *msg, size_t len, void *ans,
	      size_t cap)
{
	struct vres_chan *ch;
	struct vres_chain *c;
	long left;
	int ret;

	if (q >= VIRTIO_RESOURCE_NR_QUEUES || q == VIRTIO_RESOURCE_Q_EVENT || !len)
		return -EINVAL;
	ch = &vr->chan[q];
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	c->out = kmemdup(msg, len, GFP_KERNEL);
	if (cap) {
		c->room = max_t(size_t, cap, VRES_ROOM_MIN);
		c->in = kvzalloc(c->room, GFP_KERNEL);
	}
	if (!c->out || (cap && !c->in)) {
		vres_chain_free(c);
		return -ENOMEM;
	}

	mutex_lock(&ch->lock);
	ch->calls++;
	if (vres_broken(vr)) {
		ret = -ENODEV;
		goto out_free;
	}
	if (vres_stopping(vr)) {
		ret = -ESHUTDOWN;
		goto out_free;
	}
	ret = vres_chain_add(ch, c, len);
	if (ret) {
		ch->errors++;
		if (vres_broken(vr))
			ret = -ENODEV;
		goto out_free;
	}
	left = wait_event_timeout(ch->wait, vres_chan_collect(ch, c) || vres_stopping(vr) ||
				  vres_broken(vr), msecs_to_jiffies(VRES_CALL_TIMEOUT_MS));
	if (!c->done) {
		/* The device still owns the chain: it is freed when it comes back. */
		ch->errors++;
		if (vres_broken(vr))
			ret = -ENODEV;
		else
			ret = left ? -ESHUTDOWN : -ETIMEDOUT;
		c = NULL;
		goto out_free;
	}
	ret = min_t(unsigned int, c->used, c->room);
	if (cap)
		memcpy(ans, c->in, min_t(size_t, ret, cap));
out_free:
	vres_chan_free_reaped(ch);
	mutex_unlock(&ch->lock);
	if (c)
		vres_chain_free(c);
	if (ret == -ETIMEDOUT)
		dev_warn_ratelimited(&vr->vdev->dev, "queue %u: no answer in %u ms\n", q,
				     VRES_CALL_TIMEOUT_MS);
	else if (ret == -ENODEV && !c)
		dev_warn_ratelimited(&vr->vdev->dev,
				     "queue %u: the device went away with the call in flight\n", q);
	return ret;
}

/* Decode an answer or event by its type; the message is the first hdr.len of @len bytes. */
void vres_decode(const void *buf, size_t len, struct vres_answer *a)
{
	memset(&a->hdr, 0, sizeof(a->hdr));
	a->err = rc_decode_from_host(buf, len, VRES_EVENT_LEN, &a->hdr, &a->u);
}

/* A call on the request queue whose answer fits @cap bytes of @ans, decoded into @a. */
static int vres_ask(struct vres *vr, const void *msg, size_t len, void *ans, size_t cap,
		    struct vres_answer *a)
{
	int used;

	if (!len)
		return -EINVAL;
	used = vres_call(vr, VIRTIO_RESOURCE_Q_REQUEST, msg, len, ans, cap);
	if (used < 0)
		return used;
	vres_decode(ans, used, a);
	return 0;
}

static void vres_log_refusal(struct vres *vr, const char *what, u64 txn,
			     const struct vres_answer *a)
{
	struct device *dev = &vr->vdev->dev;

	if (a->err)
		dev_warn_ratelimited(dev, "%s txn %llu: the answer does not decode: %s\n", what,
				     txn, rc_strerror(a->err));
	else if (a->hdr.type == VIRTIO_RESOURCE_A_ERROR)
		dev_warn_ratelimited(dev, "%s txn %llu: refused, status %u detail %u\n", what,
				     txn, a->hdr.status, a->u.error.detail);
	else
		dev_warn_ratelimited(dev, "%s txn %llu: unexpected %s (txn %llu)\n", what, txn,
				     rc_type_name(a->hdr.type), a->hdr.txn);
}

int vres_hello(struct vres *vr)
{
	struct rc_hello h = { };
	struct vres_answer a;
	u8 msg[VRES_MSG_MAX], ans[VRES_ROOM_MIN];
	u32 guest_id;
	int err;

	h.hdr.type = VIRTIO_RESOURCE_T_HELLO;
	h.hdr.txn = vres_txn(vr);
	h.version = VIRTIO_RESOURCE_VERSION;
	h.mem_rate = vr->mem_rate;
	err = vres_ask(vr, msg, rc_encode_hello(msg, sizeof(msg), &h), ans, sizeof(ans), &a);
	if (err) {
		dev_err(&vr->vdev->dev, "HELLO: %d\n", err);
		return err;
	}
	if (a.err || a.hdr.type != VIRTIO_RESOURCE_A_WELCOME || a.hdr.txn != h.hdr.txn ||
	    a.u.welcome.version != VIRTIO_RESOURCE_VERSION) {
		vres_log_refusal(vr, "HELLO", h.hdr.txn, &a);
		return -EPROTO;
	}
	mutex_lock(&vr->lock);
	vr->welcome_version = a.u.welcome.version;
	vr->welcome_guest_id = a.u.welcome.guest_id;
	guest_id = vr->cfg.guest_id;
	mutex_unlock(&vr->lock);
	if (a.u.welcome.guest_id != guest_id)
		dev_warn(&vr->vdev->dev, "WELCOME says guest %u, the configuration %u\n",
			 a.u.welcome.guest_id, guest_id);
	return 0;
}

/*
 * GET_INVENTORY with room for @size bytes of description, parsed into
 * inv_next. -EAGAIN: the description outgrew @size; -EBADMSG: it does not
 * parse (*parse_err says why).
 */
static int vres_inventory_read(struct vres *vr, u32 size, u32 *bytes, int *parse_err)
{
	size_t cap = sizeof(struct virtio_resource_hdr) + size;
	struct rc_hdr h = { };
	struct vres_answer a;
	u8 msg[VRES_MSG_MAX];
	void *ans;
	int err;

	ans = kvmalloc(max_t(size_t, cap, VRES_ROOM_MIN), GFP_KERNEL);
	if (!ans)
		return -ENOMEM;
	h.type = VIRTIO_RESOURCE_T_GET_INVENTORY;
	h.txn = vres_txn(vr);
	err = vres_ask(vr, msg, rc_encode_bare(msg, sizeof(msg), &h), ans,
		       max_t(size_t, cap, VRES_ROOM_MIN), &a);
	if (err)
		goto out;
	if (!a.err && a.hdr.type == VIRTIO_RESOURCE_A_ERROR &&
	    a.hdr.status == VIRTIO_RESOURCE_S_TOO_BIG) {
		err = -EAGAIN; /* the description grew since the configuration was read */
		goto out;
	}
	if (a.err || a.hdr.type != VIRTIO_RESOURCE_A_INVENTORY || a.hdr.txn != h.txn) {
		vres_log_refusal(vr, "GET_INVENTORY", h.txn, &a);
		err = -EPROTO;
		goto out;
	}
	*bytes = a.u.data.data_len;
	*parse_err = rc_inventory_parse(vr->inv_next, a.u.data.data, a.u.data.data_len);
	if (*parse_err)
		err = -EBADMSG;
out:
	kvfree(ans);
	return err;
}

/*
 * Read the configuration and, when the description is older than it, the
 * description. The parse happens in inv_next, which then becomes inv.
 */
int vres_refresh(struct vres *vr)
{
	struct device *dev = &vr->vdev->dev;
	struct vres_cfg cfg;
	unsigned int tries;
	bool stale = false, reset = false;
	int err, parse_err = 0;
	u32 bytes = 0;

	mutex_lock(&vr->refresh_lock);
	for (tries = 0; tries < 3; tries++) {
		parse_err = 0;
		err = vres_config_read(vr->vdev, &cfg);
		if (!err)
			err = vres_config_check(&cfg);
		if (err) {
			dev_warn_ratelimited(dev, "configuration refused: %d\n", err);
			break;
		}
		reset = vr->vdev->config->get_status(vr->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET;
		mutex_lock(&vr->lock);
		vr->cfg = cfg;
		if (reset && !vr->needs_reset)
			dev_err(dev, "the device needs a reset\n");
		vr->needs_reset = reset;
		stale = !vr->inv_valid || vr->inv->generation != cfg.generation;
		mutex_unlock(&vr->lock);
		if (!stale || reset)
			break;
		err = vres_inventory_read(vr, cfg.inventory_size, &bytes, &parse_err);
		if (err != -EAGAIN)
			break;
	}
	if (!err && stale && !reset) {
		mutex_lock(&vr->lock);
		swap(vr->inv, vr->inv_next);
		vr->inv_valid = true;
		vr->inv_bytes = bytes;
		vr->count.inventory_reads++;
		mutex_unlock(&vr->lock);
	}
	mutex_lock(&vr->lock);
	vr->inv_err = err;
	vr->inv_parse_err = parse_err;
	mutex_unlock(&vr->lock);
	mutex_unlock(&vr->refresh_lock);
	if (parse_err)
		dev_warn_ratelimited(dev, "hardware description of %u bytes refused: %s\n",
				     bytes, rc_strerror(parse_err));
	return err;
}

/* ---- the agreement table ---- */

/* guest/core's table errors as errnos. */
static int vres_errno(int rc)
{
	switch (rc) {
	case RC_OK:
		return 0;
	case RC_EBUSY:
		return -EBUSY;
	case RC_ERANGE:
		return -ERANGE;
	case RC_ENOENT:
		return -ENOENT;
	default:
		return -EINVAL;
	}
}

/* Apply an answer (or EV_GRANT) for @txn to the table. Under vr->lock. */
/*
 * The most of @kind this guest can hold: a grant beyond it, or of another
 * kind than was asked, is a broken host and is not believed. Under lock.
 */
static u64 vres_kind_max(const struct vres *vr, u16 kind)
{
	if (kind == VIRTIO_RESOURCE_K_MEMORY)
		return vr->cfg.mem_max;
	if (kind == VIRTIO_RESOURCE_K_VCPU)
		return vr->cfg.vcpus_max;
	return 0;
}

void vres_table_answer(struct vres *vr, u64 txn, const struct vres_answer *a)
{
	struct rc_update u = { };
	enum rc_event ev;
	struct rc_entry *e;
	int err;

	if (a->err || rc_table_find(&vr->table, txn, &e))
		return;
	u.answer.type = a->hdr.type;
	u.answer.status = a->hdr.status;
	switch (a->hdr.type) {
	case VIRTIO_RESOURCE_A_GRANT:
	case VIRTIO_RESOURCE_EV_GRANT:
		if (a->u.grant.kind != e->kind || !a->u.grant.amount ||
		    a->u.grant.amount > vres_kind_max(vr, e->kind)) {
			dev_warn_ratelimited(&vr->vdev->dev,
					     "txn %llu: grant of %llu (kind %u) refused: not what was asked or more than exists\n",
					     txn, a->u.grant.amount, a->u.grant.kind);
			vr->count.ev_refused++;
			return;
		}
		/* The answer to an ACCEPT completes the offer; otherwise a grant. */
		ev = e->state == RC_S_OFFERED ? RC_EV_ACCEPT : RC_EV_GRANT;
		u.amount = a->u.grant.amount;
		u.offer_id = e->offer_id;
		u.timeout_ms = a->u.grant.lease_ms;
		break;
	case VIRTIO_RESOURCE_A_DENY:
		ev = RC_EV_DENY;
		u.answer.reason = a->u.deny.reason;
		u.answer.retry_after_ms = a->u.deny.retry_after_ms;
		break;
	case VIRTIO_RESOURCE_A_OFFER:
	case VIRTIO_RESOURCE_EV_OFFER:
		ev = RC_EV_OFFER;
		u.offer_id = a->u.offer.offer_id;
		u.timeout_ms = a->u.offer.expires_ms;
		break;
	case VIRTIO_RESOURCE_A_ACK:
		/* A declined offer, or a declined host renegotiation (the old amount stays). */
		if (e->state == RC_S_OFFERED) {
			ev = RC_EV_DECLINE;
			u.offer_id = e->offer_id;
		} else {
			ev = RC_EV_DENY;
		}
		break;
	case VIRTIO_RESOURCE_A_ERROR:
		/* The host refused the message: a request never opened. */
		if (e->state == RC_S_REQUESTED)
			rc_table_remove(&vr->table, txn);
		return;
	default:
		return;
	}
	err = rc_table_apply(&vr->table, txn, ev, &u, ktime_get_ns());
	if (err)
		dev_warn_ratelimited(&vr->vdev->dev, "txn %llu: %s in state %s: %s\n", txn,
				     rc_event_name(ev), rc_state_name(e->state),
				     rc_strerror(err));
}

/*
 * ACCEPT the alternatives @choices (bit i: alternative i) of offer
 * @offer_id for @txn, or DECLINE it when @choices is 0; the answer is
 * applied to the table and left in @a. Under neg_lock.
 */
static int vres_offer_send(struct vres *vr, u64 txn, u32 offer_id, u32 choices,
			   struct vres_answer *a)
{
	struct rc_accept acc = { };
	struct rc_decline dec = { };
	u8 msg[VRES_MSG_MAX], ans[VRES_ROOM_MIN];
	struct rc_entry *e;
	u32 app_id = 0;
	size_t len;
	int err;

	/* The answer goes out for the application that asked. */
	mutex_lock(&vr->lock);
	if (!rc_table_find(&vr->table, txn, &e))
		app_id = e->app_id;
	mutex_unlock(&vr->lock);
	if (choices) {
		acc.hdr.type = VIRTIO_RESOURCE_T_ACCEPT;
		acc.hdr.txn = txn;
		acc.hdr.app_id = app_id;
		acc.offer_id = offer_id;
		acc.choices = choices;
		len = rc_encode_accept(msg, sizeof(msg), &acc);
	} else {
		dec.hdr.type = VIRTIO_RESOURCE_T_DECLINE;
		dec.hdr.txn = txn;
		dec.hdr.app_id = app_id;
		dec.offer_id = offer_id;
		len = rc_encode_decline(msg, sizeof(msg), &dec);
	}
	err = vres_ask(vr, msg, len, ans, sizeof(ans), a);
	if (err)
		return err;
	if (a->err || a->hdr.txn != txn || a->hdr.type == VIRTIO_RESOURCE_A_ERROR)
		vres_log_refusal(vr, choices ? "ACCEPT" : "DECLINE", txn, a);
	mutex_lock(&vr->lock);
	vres_table_answer(vr, txn, a);
	mutex_unlock(&vr->lock);
	return 0;
}

/* Every PART_NOW and REST_LATER alternative of an offer, as ACCEPT's choices. */
u32 vres_offer_choices(const struct rc_offer *o)
{
	u32 i, choices = 0;

	for (i = 0; i < o->nr_alternatives && i < VIRTIO_RESOURCE_MAX_ALTERNATIVES; i++) {
		if (o->alt[i].type == VIRTIO_RESOURCE_ALT_PART_NOW ||
		    o->alt[i].type == VIRTIO_RESOURCE_ALT_REST_LATER)
			choices |= 1U << i;
	}
	return choices;
}

/* Accept an offer whole (what is there now and what comes later), or decline it. */
static int vres_answer_offer(struct vres *vr, u64 txn, const struct rc_offer *o)
{
	struct vres_answer a;

	return vres_offer_send(vr, txn, o->offer_id, vres_offer_choices(o), &a);
}

/* An application's answer to an offer (vres_offer_send), in its own exchange. */
int vres_offer_reply(struct vres *vr, u64 txn, u32 offer_id, u32 choices, struct vres_answer *a)
{
	int err;

	mutex_lock(&vr->neg_lock);
	err = vres_offer_send(vr, txn, offer_id, choices, a);
	mutex_unlock(&vr->neg_lock);
	return err;
}

/*
 * The host lowers agreements of @kind newest first when it takes @amount
 * back (a reclaim) or is given it back without a txn (a release with txn
 * 0); the table follows it the same way. Under neg_lock and lock.
 */
static void vres_table_lower(struct vres *vr, u16 kind, u64 amount, bool reclaim)
{
	u64 now = ktime_get_ns();

	while (amount) {
		struct rc_entry *e, *newest = NULL;
		struct rc_update u = { };
		u32 idx;

		rc_table_for_each(&vr->table, idx, e) {
			if (e->kind == kind && e->state == RC_S_GRANTED &&
			    (!newest || e->created_ns > newest->created_ns))
				newest = e;
		}
		if (!newest)
			break; /* the rest came with the boot allocation */
		if (amount >= newest->granted) {
			amount -= newest->granted;
			rc_table_apply(&vr->table, newest->txn,
				       reclaim ? RC_EV_RECLAIM : RC_EV_RELEASE, &u, now);
		} else {
			u.amount = newest->granted - amount;
			amount = 0;
			rc_table_apply(&vr->table, newest->txn,
				       reclaim ? RC_EV_RECLAIM_PART : RC_EV_RELEASE_PART, &u, now);
		}
	}
}

/*
 * T_RELEASE @amount of agreement @txn (of @kind, asked for by @app_id); on
 * A_ACK the table follows (released, or released in part). The answer is
 * left in @a. Memory goes back only after its pages were reserved (the host
 * answers ORDER otherwise).
 */
int vres_release_agreement(struct vres *vr, u64 txn, u32 app_id, u16 kind, u64 amount,
			   struct vres_answer *a)
{
	struct rc_release r = { };
	struct rc_update u = { };
	struct rc_entry *e;
	u8 msg[VRES_MSG_MAX], ans[VRES_ROOM_MIN];
	int err;

	r.hdr.type = VIRTIO_RESOURCE_T_RELEASE;
	r.hdr.txn = txn;
	r.hdr.app_id = app_id;
	r.kind = kind;
	r.amount = amount;
	mutex_lock(&vr->neg_lock);
	err = vres_ask(vr, msg, rc_encode_release(msg, sizeof(msg), &r), ans, sizeof(ans), a);
	if (err)
		goto out;
	if (a->err || a->hdr.txn != txn || a->hdr.type != VIRTIO_RESOURCE_A_ACK) {
		vres_log_refusal(vr, "RELEASE", txn, a);
		goto out;
	}
	mutex_lock(&vr->lock);
	if (!txn) {
		vres_table_lower(vr, kind, amount, false);
	} else if (!rc_table_find(&vr->table, txn, &e) && e->state == RC_S_GRANTED) {
		u.answer.type = a->hdr.type;
		if (amount >= e->granted) {
			rc_table_apply(&vr->table, txn, RC_EV_RELEASE, &u, ktime_get_ns());
		} else {
			u.amount = e->granted - amount;
			rc_table_apply(&vr->table, txn, RC_EV_RELEASE_PART, &u, ktime_get_ns());
		}
	}
	mutex_unlock(&vr->lock);
out:
	mutex_unlock(&vr->neg_lock);
	return err;
}

/*
 * Ask for more of req->kind: a new transaction in the table (req gives the
 * request's fields; its txn is set here), T_REQUEST, and the answer applied.
 * An offer is accepted. Returns 0 once the host answered, whatever it said
 * (the table has the outcome), or a negative errno.
 */
int vres_request(struct vres *vr, struct rc_entry *req)
{
	struct vres_answer a;

	req->txn = 0;
	return vres_request_answer(vr, req, &a, true);
}

/*
 * vres_request() with the answer to T_REQUEST left in @a, a txn chosen by
 * the caller (req->txn; 0: a new one) and, unless @take_offer, an offer
 * left open for the caller to accept or decline (vres_offer_reply()).
 */
int vres_request_answer(struct vres *vr, struct rc_entry *req, struct vres_answer *answer,
			bool take_offer)
{
	struct vres_answer a = { .err = RC_EINVAL }; /* none yet */
	struct rc_request q = { };
	struct rc_entry *e;
	u8 msg[VRES_MSG_MAX], ans[VRES_ROOM_MIN];
	int err;

	mutex_lock(&vr->neg_lock);
	if (!req->txn)
		req->txn = vres_txn(vr);
	mutex_lock(&vr->lock);
	rc_table_expire(&vr->table, ktime_get_ns());
	err = vres_errno(rc_table_add(&vr->table, req, ktime_get_ns(), &e));
	vr->count.requests++;
	mutex_unlock(&vr->lock);
	if (err)
		goto out;

	q.hdr.type = VIRTIO_RESOURCE_T_REQUEST;
	q.hdr.txn = req->txn;
	q.hdr.app_id = req->app_id;
	q.kind = req->kind;
	q.urgency = req->urgency;
	q.latency = req->latency;
	q.deadline_ms = req->deadline_ms;
	q.amount = req->amount;
	q.minimum = req->minimum;
	q.projected = req->projected;
	q.duration_ms = req->duration_ms;
	err = vres_ask(vr, msg, rc_encode_request(msg, sizeof(msg), &q), ans, sizeof(ans), &a);
	if (err) {
		/* After a timeout the host may have opened it; otherwise it never did. */
		if (err != -ETIMEDOUT) {
			mutex_lock(&vr->lock);
			rc_table_remove(&vr->table, q.hdr.txn);
			mutex_unlock(&vr->lock);
		}
		goto out;
	}
	if (a.err || a.hdr.txn != q.hdr.txn || a.hdr.type == VIRTIO_RESOURCE_A_ERROR)
		vres_log_refusal(vr, "REQUEST", q.hdr.txn, &a);
	mutex_lock(&vr->lock);
	vres_table_answer(vr, q.hdr.txn, &a);
	mutex_unlock(&vr->lock);
	if (take_offer && !a.err && a.hdr.type == VIRTIO_RESOURCE_A_OFFER &&
	    a.hdr.txn == q.hdr.txn)
		err = vres_answer_offer(vr, q.hdr.txn, &a.u.offer);
out:
	mutex_unlock(&vr->neg_lock);
	*answer = a;
	return err;
}

/*
 * The host reopens an agreement (EV_RENEGOTIATE). The driver accepts more;
 * it accepts less memory once the balloon has reserved the difference (the
 * host checks usable against the lowered grant), and otherwise declines by
 * answering with the current amount. Fewer vCPUs are declined.
 */
void vres_on_renegotiate(struct vres *vr, const struct rc_renegotiate *ev)
{
	struct rc_renegotiate rn = { };
	struct rc_update u = { };
	struct vres_answer a;
	struct rc_entry *e;
	u8 msg[VRES_MSG_MAX], ans[VRES_ROOM_MIN];
	u64 held = 0;
	int err;

	/* Less memory: reserve the difference first, outside neg_lock. */
	if (ev->kind == VIRTIO_RESOURCE_K_MEMORY) {
		mutex_lock(&vr->lock);
		if (!rc_table_find(&vr->table, ev->hdr.txn, &e) && e->kind == ev->kind &&
		    e->state == RC_S_GRANTED && ev->amount < e->granted &&
		    e->granted <= vr->cfg.mem_max)
			held = e->granted - ev->amount;
		mutex_unlock(&vr->lock);
		if (held && vres_balloon_hold(vr, held)) {
			vres_balloon_unhold(vr, held);
			held = 0;
		}
	}

	mutex_lock(&vr->neg_lock);
	mutex_lock(&vr->lock);
	err = rc_table_find(&vr->table, ev->hdr.txn, &e);
	if (!err && e->kind != ev->kind)
		err = RC_EORDER;
	if (!err) {
		u.amount = ev->amount;
		u.timeout_ms = ev->deadline_ms;
		u.answer.type = ev->hdr.type;
		err = rc_table_apply(&vr->table, ev->hdr.txn, RC_EV_RENEGOTIATE, &u,
				     ktime_get_ns());
	}
	if (!err) {
		rn.hdr.type = VIRTIO_RESOURCE_T_RENEGOTIATE;
		rn.hdr.txn = ev->hdr.txn;
		rn.hdr.app_id = e->app_id;
		rn.kind = e->kind;
		rn.amount = ev->amount >= e->granted || held ? ev->amount : e->granted;
	}
	mutex_unlock(&vr->lock);
	if (err) {
		/* Not an agreement of this driver's: the proposal lapses. */
		dev_warn_ratelimited(&vr->vdev->dev, "EV_RENEGOTIATE txn %llu: %s\n",
				     ev->hdr.txn, rc_strerror(err));
		goto out;
	}
	err = vres_ask(vr, msg, rc_encode_renegotiate(msg, sizeof(msg), &rn), ans, sizeof(ans),
		       &a);
	if (err)
		goto out;
	if (a.err || a.hdr.txn != rn.hdr.txn || a.hdr.type == VIRTIO_RESOURCE_A_ERROR)
		vres_log_refusal(vr, "RENEGOTIATE", rn.hdr.txn, &a);
	mutex_lock(&vr->lock);
	vres_table_answer(vr, rn.hdr.txn, &a);
	mutex_unlock(&vr->lock);
out:
	mutex_unlock(&vr->neg_lock);
	/* Accepted: the grant came down to usable. Otherwise the balloon deflates. */
	if (held)
		vres_balloon_unhold(vr, held);
}

/*
 * The host takes memory back (EV_RECLAIM). It has already lowered the
 * grant and its agreements, newest first; the table follows it the same
 * way. The balloon then reserves pages until usable is within the new
 * grant, by the deadline (vres_balloon_reclaim); reclaim_pending stays
 * set until it is met.
 */
void vres_on_reclaim(struct vres *vr, const struct rc_ev_reclaim *ev)
{
	mutex_lock(&vr->neg_lock);
	mutex_lock(&vr->lock);
	if (ev->kind == VIRTIO_RESOURCE_K_MEMORY)
		vres_table_lower(vr, ev->kind, ev->amount, true);
	vr->reclaim = *ev;
	vr->reclaim_pending = true;
	mutex_unlock(&vr->lock);
	mutex_unlock(&vr->neg_lock);
	dev_info_ratelimited(&vr->vdev->dev,
			     "reclaim txn %llu: %llu bytes within %u ms (target %llu)\n",
			     ev->hdr.txn, ev->amount, ev->deadline_ms, ev->target);
	vres_balloon_reclaim(vr, ev);
}
