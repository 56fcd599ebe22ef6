// SPDX-License-Identifier: MIT
/* guest/core agreements: the transition table and the request table. */
#include "rc_agreement.h"
#include <linux/virtio_resource.h>

/* rc_next[from][ev] = to + 1; 0 marks an illegal pair. */
#define TO(s) ((uint8_t)((s) + 1))

static const uint8_t rc_next[RC_NR_STATES][RC_NR_EVENTS] = {
	[RC_S_NONE] = {
		[RC_EV_REQUEST] = TO(RC_S_REQUESTED),
	},
	[RC_S_REQUESTED] = {
		[RC_EV_GRANT] = TO(RC_S_GRANTED),
		[RC_EV_DENY] = TO(RC_S_DENIED),
		[RC_EV_OFFER] = TO(RC_S_OFFERED),
		[RC_EV_EXPIRE] = TO(RC_S_EXPIRED), /* no answer before the deadline */
	},
	[RC_S_OFFERED] = {
		[RC_EV_ACCEPT] = TO(RC_S_GRANTED),
		[RC_EV_DECLINE] = TO(RC_S_DECLINED),
		[RC_EV_EXPIRE] = TO(RC_S_EXPIRED), /* the offer lapsed */
	},
	[RC_S_GRANTED] = {
		[RC_EV_GRANT] = TO(RC_S_GRANTED), /* more: REST_LATER, or the answer to an ACCEPT */
		[RC_EV_EXPIRE] = TO(RC_S_EXPIRED), /* the lease ended */
		[RC_EV_RELEASE] = TO(RC_S_RELEASED),
		[RC_EV_RELEASE_PART] = TO(RC_S_GRANTED),
		[RC_EV_RECLAIM] = TO(RC_S_RECLAIMED),
		[RC_EV_RECLAIM_PART] = TO(RC_S_GRANTED),
		[RC_EV_RENEGOTIATE] = TO(RC_S_RENEGOTIATING),
	},
	[RC_S_RENEGOTIATING] = {
		[RC_EV_GRANT] = TO(RC_S_GRANTED), /* the new amount */
		[RC_EV_DENY] = TO(RC_S_GRANTED), /* the old amount stays */
		[RC_EV_OFFER] = TO(RC_S_OFFERED),
		[RC_EV_EXPIRE] = TO(RC_S_GRANTED), /* no answer: the old amount stays */
		[RC_EV_RELEASE] = TO(RC_S_RELEASED),
		[RC_EV_RECLAIM] = TO(RC_S_RECLAIMED),
		[RC_EV_RECLAIM_PART] = TO(RC_S_RENEGOTIATING),
	},
	/* DENIED, DECLINED, EXPIRED, RELEASED, RECLAIMED: terminal. */
};

int rc_transition(enum rc_state from, enum rc_event ev, enum rc_state *to)
{
	uint8_t n;

	if ((unsigned int)from >= RC_NR_STATES || (unsigned int)ev >= RC_NR_EVENTS)
		return RC_EORDER;
	n = rc_next[from][ev];
	if (!n)
		return RC_EORDER;
	*to = (enum rc_state)(n - 1);
	return 0;
}

bool rc_state_terminal(enum rc_state s)
{
	return s == RC_S_DENIED || s == RC_S_DECLINED || s == RC_S_EXPIRED || s == RC_S_RELEASED ||
	       s == RC_S_RECLAIMED;
}

const char *rc_state_name(enum rc_state s)
{
	static const char *const names[RC_NR_STATES] = {
		[RC_S_NONE] = "none",		[RC_S_REQUESTED] = "requested",
		[RC_S_OFFERED] = "offered",	[RC_S_GRANTED] = "granted",
		[RC_S_DENIED] = "denied",	[RC_S_DECLINED] = "declined",
		[RC_S_EXPIRED] = "expired",	[RC_S_RELEASED] = "released",
		[RC_S_RECLAIMED] = "reclaimed", [RC_S_RENEGOTIATING] = "renegotiating",
	};

	return (unsigned int)s < RC_NR_STATES ? names[s] : "?";
}

const char *rc_event_name(enum rc_event ev)
{
	static const char *const names[RC_NR_EVENTS] = {
		[RC_EV_REQUEST] = "request",
		[RC_EV_GRANT] = "grant",
		[RC_EV_DENY] = "deny",
		[RC_EV_OFFER] = "offer",
		[RC_EV_ACCEPT] = "accept",
		[RC_EV_DECLINE] = "decline",
		[RC_EV_EXPIRE] = "expire",
		[RC_EV_RELEASE] = "release",
		[RC_EV_RELEASE_PART] = "release-part",
		[RC_EV_RECLAIM] = "reclaim",
		[RC_EV_RECLAIM_PART] = "reclaim-part",
		[RC_EV_RENEGOTIATE] = "renegotiate",
	};

	return (unsigned int)ev < RC_NR_EVENTS ? names[ev] : "?";
}

int rc_event_of_type(uint16_t type, enum rc_event *ev)
{
	switch (type) {
	case VIRTIO_RESOURCE_T_REQUEST:
		*ev = RC_EV_REQUEST;
		return 0;
	case VIRTIO_RESOURCE_A_GRANT:
	case VIRTIO_RESOURCE_EV_GRANT:
		*ev = RC_EV_GRANT;
		return 0;
	case VIRTIO_RESOURCE_A_DENY:
		*ev = RC_EV_DENY;
		return 0;
	case VIRTIO_RESOURCE_A_OFFER:
	case VIRTIO_RESOURCE_EV_OFFER:
		*ev = RC_EV_OFFER;
		return 0;
	case VIRTIO_RESOURCE_T_ACCEPT:
		*ev = RC_EV_ACCEPT;
		return 0;
	case VIRTIO_RESOURCE_T_DECLINE:
		*ev = RC_EV_DECLINE;
		return 0;
	case VIRTIO_RESOURCE_T_RELEASE:
		*ev = RC_EV_RELEASE; /* RELEASE_PART when the amount is below the agreement */
		return 0;
	case VIRTIO_RESOURCE_EV_RECLAIM:
		*ev = RC_EV_RECLAIM; /* RECLAIM_PART when the amount is below the agreement */
		return 0;
	case VIRTIO_RESOURCE_T_RENEGOTIATE:
	case VIRTIO_RESOURCE_EV_RENEGOTIATE:
		*ev = RC_EV_RENEGOTIATE;
		return 0;
	}
	return RC_ENOENT;
}

/* ---- the table ---- */

static uint64_t deadline(uint64_t now_ns, uint32_t ms)
{
	uint64_t d = (uint64_t)ms * 1000000u;

	if (!ms)
		return 0;
	return now_ns > RC_U64_MAX - d ? RC_U64_MAX : now_ns + d;
}

int rc_table_init(struct rc_table *t, struct rc_entry *storage, uint32_t cap)
{
	uint32_t i;

	if (!t || (!storage && cap))
		return RC_EINVAL;
	t->e = storage;
	t->cap = cap;
	t->used = 0;
	t->seq = 0;
	for (i = 0; i < cap; i++) {
		storage[i].state = RC_S_NONE;
		storage[i].txn = 0;
	}
	return 0;
}

int rc_table_find(struct rc_table *t, uint64_t txn, struct rc_entry **out)
{
	uint32_t i;

	if (!txn)
		return RC_ENOENT;
	for (i = 0; i < t->cap; i++) {
		if (t->e[i].state != RC_S_NONE && t->e[i].txn == txn) {
			*out = &t->e[i];
			return 0;
		}
	}
	return RC_ENOENT;
}

int rc_table_evict(struct rc_table *t)
{
	struct rc_entry *old = NULL;
	uint32_t i;

	for (i = 0; i < t->cap; i++) {
		struct rc_entry *e = &t->e[i];

		if (rc_state_terminal(e->state) && (!old || e->seq < old->seq))
			old = e;
	}
	if (!old)
		return RC_ENOENT;
	old->state = RC_S_NONE;
	old->txn = 0;
	t->used--;
	return 0;
}

int rc_table_add(struct rc_table *t, const struct rc_entry *req, uint64_t now_ns,
		 struct rc_entry **out)
{
	struct rc_entry *e = NULL;
	enum rc_state to;
	uint32_t i;

	if (!req->txn)
		return RC_EINVAL;
	if (!req->amount || req->minimum > req->amount)
		return RC_ERANGE;
	if (!rc_table_find(t, req->txn, &e))
		return RC_EORDER;
	if (rc_transition(RC_S_NONE, RC_EV_REQUEST, &to))
		return RC_EORDER;
	if (t->used == t->cap && rc_table_evict(t))
		return RC_EBUSY;
	for (i = 0; i < t->cap && t->e[i].state != RC_S_NONE; i++)
		;
	if (i == t->cap)
		return RC_EBUSY;
	e = &t->e[i];
	e->txn = req->txn;
	e->app_id = req->app_id;
	e->pid = req->pid;
	for (i = 0; i < RC_COMM_LEN - 1; i++)
		e->comm[i] = req->comm[i];
	e->comm[RC_COMM_LEN - 1] = 0;
	e->kind = req->kind;
	e->urgency = req->urgency;
	e->latency = req->latency;
	e->deadline_ms = req->deadline_ms;
	e->duration_ms = req->duration_ms;
	e->amount = req->amount;
	e->minimum = req->minimum;
	e->projected = req->projected;
	e->granted = 0;
	e->proposed = 0;
	e->state = to;
	e->reopened = false;
	e->last.type = e->last.reason = 0;
	e->last.status = e->last.retry_after_ms = 0;
	e->offer_id = 0;
	e->created_ns = e->updated_ns = now_ns;
	e->expires_ns = deadline(now_ns, req->deadline_ms);
	e->lease_end_ns = 0;
	e->seq = ++t->seq;
	t->used++;
	if (out)
		*out = e;
	return 0;
}

/* Check ev's data against e; nothing is changed here. */
static int check_update(const struct rc_entry *e, enum rc_event ev, const struct rc_update *u)
{
	switch (ev) {
	case RC_EV_GRANT:
		return u->amount ? 0 : RC_ERANGE;
	case RC_EV_ACCEPT:
	case RC_EV_DECLINE:
		return u->offer_id == e->offer_id ? 0 : RC_ENOENT;
	case RC_EV_RELEASE_PART:
	case RC_EV_RECLAIM_PART:
		return u->amount && u->amount < e->granted ? 0 : RC_ERANGE;
	default:
		return 0;
	}
}

int rc_table_apply(struct rc_table *t, uint64_t txn, enum rc_event ev, const struct rc_update *u,
		   uint64_t now_ns)
{
	static const struct rc_update none;
	struct rc_entry *e;
	enum rc_state to;
	int err;

	err = rc_table_find(t, txn, &e);
	if (err)
		return err;
	if (!u)
		u = &none;
	err = rc_transition(e->state, ev, &to);
	if (!err)
		err = check_update(e, ev, u);
	if (err)
		return err;

	switch (ev) {
	case RC_EV_GRANT:
	case RC_EV_ACCEPT:
		e->granted = u->amount;
		e->lease_end_ns = deadline(now_ns, u->timeout_ms);
		break;
	case RC_EV_OFFER:
		e->offer_id = u->offer_id;
		e->expires_ns = deadline(now_ns, u->timeout_ms);
		break;
	case RC_EV_RELEASE_PART:
	case RC_EV_RECLAIM_PART:
		e->granted = u->amount;
		break;
	case RC_EV_RELEASE:
	case RC_EV_RECLAIM:
		e->granted = 0;
		break;
	case RC_EV_RENEGOTIATE:
		e->proposed = u->amount;
		e->expires_ns = deadline(now_ns, u->timeout_ms);
		break;
	default:
		break;
	}
	/* A declined or lapsed renegotiation offer leaves the agreement as it was. */
	if (e->reopened && e->state == RC_S_OFFERED && (ev == RC_EV_DECLINE || ev == RC_EV_EXPIRE))
		to = RC_S_GRANTED;
	if (to == RC_S_RENEGOTIATING)
		e->reopened = true;
	else if (to != RC_S_OFFERED)
		e->reopened = false;
	if (to != RC_S_RENEGOTIATING && to != RC_S_OFFERED)
		e->proposed = 0;
	if (u->answer.type)
		e->last = u->answer;
	e->state = to;
	e->updated_ns = now_ns;
	e->seq = ++t->seq;
	return 0;
}

int rc_table_expire(struct rc_table *t, uint64_t now_ns)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < t->cap; i++) {
		struct rc_entry *e = &t->e[i];
		uint64_t when;

		if (e->state == RC_S_GRANTED)
			when = e->lease_end_ns;
		else if (e->state == RC_S_REQUESTED || e->state == RC_S_OFFERED ||
			 e->state == RC_S_RENEGOTIATING)
			when = e->expires_ns;
		else
			continue;
		if (when && now_ns >= when &&
		    !rc_table_apply(t, e->txn, RC_EV_EXPIRE, NULL, now_ns))
			n++;
	}
	return n;
}

int rc_table_remove(struct rc_table *t, uint64_t txn)
{
	struct rc_entry *e;
	int err = rc_table_find(t, txn, &e);

	if (err)
		return err;
	e->state = RC_S_NONE;
	e->txn = 0;
	t->used--;
	return 0;
}

int rc_table_next(struct rc_table *t, uint32_t *idx, struct rc_entry **out)
{
	for (; *idx < t->cap; (*idx)++) {
		if (t->e[*idx].state != RC_S_NONE) {
			*out = &t->e[(*idx)++];
			return 0;
		}
	}
	return RC_ENOENT;
}
