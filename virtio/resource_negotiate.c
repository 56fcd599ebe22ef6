// SPDX-License-Identifier: MIT
/*
 * virtio-resource negotiation: requests answered by the host policy with a
 * grant, a denial or an offer; accepting and declining offers; releases and
 * renegotiation; and the memory reservations that give pages back to the
 * host. Every transition is checked against guest/core's agreement table,
 * so a message out of order gets an ORDER error and changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <json-c/json.h>
#include <string.h>

#include "accord/resource.h"

struct policy_state *resource__kind_state(struct virtio_resource *r, uint16_t kind)
{
	switch (kind) {
	case VIRTIO_RESOURCE_K_MEMORY:
		return &r->mem;
	case VIRTIO_RESOURCE_K_VCPU:
		return &r->vcpu;
	default:
		return NULL;
	}
}

/* The name of @d in events and logs ("GRANT", ...). */
static const char *res_decision_name(enum res_decision d)
{
	static const char *const names[RES_NR_DECISIONS] = {
		[RES_D_GRANT] = "GRANT",     [RES_D_DENY] = "DENY", [RES_D_OFFER] = "OFFER",
		[RES_D_RELEASE] = "RELEASE", [RES_D_BUSY] = "BUSY",
	};

	return d < RES_NR_DECISIONS ? names[d] : "?";
}

/* A decision: counted, an event for the control socket, a log line unless the guest floods. */
static void res_decision_event(struct virtio_resource *r, enum res_decision what,
			       const struct rc_hdr *h, uint16_t kind, uint64_t amount,
			       uint64_t allocation, const char *why)
{
	struct json_object *data = json_object_new_object();
	const char *name = res_decision_name(what);

	r->decisions[what]++;
	json_object_object_add(data, "txn", json_object_new_uint64(h->txn));
	json_object_object_add(data, "app-id", json_object_new_int64(h->app_id));
	json_object_object_add(data, "kind", json_object_new_string(rc_kind_name(kind)));
	json_object_object_add(data, "amount", json_object_new_uint64(amount));
	json_object_object_add(data, "allocation", json_object_new_uint64(allocation));
	json_object_object_add(data, "reason", json_object_new_string(why));
	log__ratelimited(r->vdev.log, &r->decision_rl, LOG_INFO,
			 "virtio-resource: txn %llu %s %llu: %s (%s)", (unsigned long long)h->txn,
			 rc_kind_name(kind), (unsigned long long)amount, name, why);
	resource__emit(r, name, data);
}

/* ---- offers held for their transaction ---- */

static struct res_offer *offer_find(struct virtio_resource *r, uint64_t txn)
{
	for (unsigned int i = 0; i < RES_MAX_OFFERS; i++) {
		if (r->offers[i].txn == txn)
			return &r->offers[i];
	}
	return NULL;
}

/* What an offer holds back from others while it is open: its PART_NOW amount. */
static uint64_t offer_held(const struct rc_offer *o)
{
	for (uint32_t i = 0; i < o->nr_alternatives; i++) {
		if (o->alt[i].type == VIRTIO_RESOURCE_ALT_PART_NOW)
			return o->alt[i].amount;
	}
	return 0;
}

static void offer_drop(struct virtio_resource *r, struct res_offer *o)
{
	struct policy_state *st = resource__kind_state(r, o->offer.alt[0].kind);

	if (st)
		st->pending -= offer_held(&o->offer);
	memset(o, 0, sizeof(*o));
}

/* An offer ends untaken: a broker frees what it holds for it. */
static void offer_lapse(struct virtio_resource *r, struct res_offer *o)
{
	resource__broker_call(r, &(struct resource_broker_call){
					 .what = RES_CALL_DECLINE,
					 .txn = o->txn,
					 .kind = o->offer.alt[0].kind,
				 });
	offer_drop(r, o);
}

/* A promise ends unkept (its agreement ended, or the driver went away). */
static void deferred_drop(struct virtio_resource *r, struct res_deferred *d)
{
	struct policy_state *st = resource__kind_state(r, d->kind);

	if (st)
		st->pending -= d->amount;
	resource__broker_call(r, &(struct resource_broker_call){
					 .what = RES_CALL_CANCEL,
					 .txn = d->txn,
					 .kind = d->kind,
				 });
	memset(d, 0, sizeof(*d));
}

void resource__drop_promises(struct virtio_resource *r)
{
	for (unsigned int i = 0; i < RES_MAX_DEFERRED; i++) {
		if (r->deferred[i].txn)
			deferred_drop(r, &r->deferred[i]);
	}
}

void resource__forget_agreements(struct virtio_resource *r)
{
	/* Promises go with the driver they were made to; the allocation itself stays. */
	resource__drop_promises(r);
	resource__drop_offers(r);
	rc_table_init(&r->table, r->entries, RES_TABLE_SIZE);
}

void resource__forget_offer(struct virtio_resource *r, uint64_t txn)
{
	struct res_offer *o = txn ? offer_find(r, txn) : NULL;

	if (!o)
		return;
	rc_table_apply(&r->table, txn, RC_EV_EXPIRE, NULL, clock__monotonic_ns());
	offer_drop(r, o);
}

void resource__drop_offers(struct virtio_resource *r)
{
	for (unsigned int i = 0; i < RES_MAX_OFFERS; i++) {
		struct res_offer *o = &r->offers[i];

		if (!o->txn)
			continue;
		rc_table_apply(&r->table, o->txn, RC_EV_EXPIRE, NULL, clock__monotonic_ns());
		offer_lapse(r, o);
	}
}

/* Offers whose transaction lapsed give back what they held. */
static void resource__expire(struct virtio_resource *r)
{
	struct rc_entry *e;

	rc_table_expire(&r->table, clock__monotonic_ns());
	for (unsigned int i = 0; i < RES_MAX_OFFERS; i++) {
		struct res_offer *o = &r->offers[i];

		if (o->txn && (rc_table_find(&r->table, o->txn, &e) || e->state != RC_S_OFFERED))
			offer_lapse(r, o);
	}
}

/* ---- deferred (REST_LATER) grants ---- */

static uint64_t res_room(struct virtio_resource *r, const struct policy_state *st, uint16_t kind)
{
	uint64_t limit = st->max < st->pool ? st->max : st->pool, used = st->granted;

	/* What open offers hold is not room. */
	for (unsigned int i = 0; i < RES_MAX_OFFERS; i++) {
		if (r->offers[i].txn && r->offers[i].offer.alt[0].kind == kind)
			used += offer_held(&r->offers[i].offer);
	}
	return limit > used ? limit - used : 0;
}

/* Deliver promised parts, oldest first, as the host gets room (not @skip's yet). */
/* A promise ends with its agreement. */
static bool deferred_alive(struct virtio_resource *r, struct res_deferred *d)
{
	struct rc_entry *e;

	if (!rc_table_find(&r->table, d->txn, &e) && e->state == RC_S_GRANTED)
		return true;
	deferred_drop(r, d);
	return false;
}

/* Deliver @amount of promise @d now (all of it, or part when a broker says so). */
static void deferred_deliver(struct virtio_resource *r, struct res_deferred *d, uint64_t amount)
{
	struct policy_state *st = resource__kind_state(r, d->kind);
	struct rc_update u = { 0 };
	struct rc_grant g = { 0 };
	struct rc_entry *e;
	size_t len;

	st->granted += amount;
	st->pending -= amount;
	/* The agreement grows by the promised part (GRANTED + GRANT). */
	g.amount = amount;
	if (!rc_table_find(&r->table, d->txn, &e) && e->state == RC_S_GRANTED) {
		u.amount = e->granted + amount;
		u.answer.type = VIRTIO_RESOURCE_EV_GRANT;
		if (!rc_table_apply(&r->table, d->txn, RC_EV_GRANT, &u, clock__monotonic_ns()))
			g.amount = u.amount;
	}
	g.hdr.type = VIRTIO_RESOURCE_EV_GRANT;
	g.hdr.txn = d->txn;
	g.kind = d->kind;
	g.allocation = st->granted;
	len = rc_encode_grant(r->scratch, r->scratch_len, &g);
	if (len)
		resource__queue_event(r, r->scratch, len);
	res_decision_event(r, RES_D_GRANT, &g.hdr, d->kind, amount, st->granted,
			   "the rest of an accepted offer");
	d->amount -= amount;
	if (!d->amount)
		memset(d, 0, sizeof(*d));
	resource__changed(r, "deferred grant");
}

static void resource__satisfy_deferred_except(struct virtio_resource *r, uint64_t skip)
{
	for (unsigned int i = 0; i < RES_MAX_DEFERRED; i++) {
		struct res_deferred *d = &r->deferred[i];
		struct policy_state *st = resource__kind_state(r, d->kind);

		if (!d->txn || !st || d->txn == skip || !deferred_alive(r, d))
			continue;
		/* A broker keeps its promises itself (resource__broker_deliver). */
		if (!r->broker.call && d->amount <= res_room(r, st, d->kind))
			deferred_deliver(r, d, d->amount);
	}
}

void resource__broker_deliver(struct virtio_resource *r, uint64_t txn, uint16_t kind,
			      uint64_t amount)
{
	struct res_deferred *d = NULL;
	struct policy_state *st;

	pthread_mutex_lock(&r->vdev.lock);
	for (unsigned int i = 0; i < RES_MAX_DEFERRED && txn; i++) {
		if (r->deferred[i].txn == txn && r->deferred[i].kind == kind)
			d = &r->deferred[i];
	}
	st = resource__kind_state(r, kind);
	/* Whole units only, as for the broker's decisions (decision_valid()). */
	if (d && deferred_alive(r, d) && amount && amount <= d->amount && st &&
	    !(amount % st->unit) && amount <= st->max - st->granted) {
		deferred_deliver(r, d, amount);
	} else {
		/* No promise to keep (it ended here first): the broker takes it back. */
		log_info(r->vdev.log, "virtio-resource: txn %llu: no promise for %llu; given back",
			 (unsigned long long)txn, (unsigned long long)amount);
		resource__broker_call(r, &(struct resource_broker_call){ .what = RES_CALL_RELEASE,
									 .txn = txn,
									 .kind = kind,
									 .amount = amount });
	}
	pthread_mutex_unlock(&r->vdev.lock);
}

static bool deferred_free_slot(const struct virtio_resource *r)
{
	for (unsigned int i = 0; i < RES_MAX_DEFERRED; i++) {
		if (!r->deferred[i].txn)
			return true;
	}
	return false;
}

void resource__satisfy_deferred(struct virtio_resource *r)
{
	resource__satisfy_deferred_except(r, 0);
}

static int deferred_add(struct virtio_resource *r, uint64_t txn, uint16_t kind, uint64_t amount)
{
	for (unsigned int i = 0; i < RES_MAX_DEFERRED; i++) {
		if (!r->deferred[i].txn) {
			r->deferred[i] = (struct res_deferred){ txn, kind, amount };
			return 0;
		}
	}
	return RC_EBUSY;
}

/* ---- answers ---- */

static size_t answer_grant(struct virtio_resource *r, const struct rc_hdr *h, uint16_t kind,
			   uint64_t amount, uint64_t allocation, uint8_t *out, size_t cap)
{
	struct rc_grant g = { 0 };

	g.hdr.type = VIRTIO_RESOURCE_A_GRANT;
	g.hdr.txn = h->txn;
	g.hdr.app_id = h->app_id;
	g.kind = kind;
	g.amount = amount;
	g.allocation = allocation;
	return rc_encode_grant(out, cap, &g);
}

static size_t answer_deny(const struct rc_hdr *h, uint16_t kind, uint16_t reason, uint32_t retry_ms,
			  uint64_t allocation, uint8_t *out, size_t cap)
{
	struct rc_deny d = { 0 };

	d.hdr.type = VIRTIO_RESOURCE_A_DENY;
	d.hdr.txn = h->txn;
	d.hdr.app_id = h->app_id;
	d.kind = kind;
	d.reason = reason;
	d.retry_after_ms = retry_ms;
	d.allocation = allocation;
	return rc_encode_deny(out, cap, &d);
}

size_t resource__answer_ack(struct virtio_resource *r, const struct rc_hdr *h, uint8_t *out,
			    size_t cap)
{
	struct rc_ack a = { 0 };

	a.hdr.type = VIRTIO_RESOURCE_A_ACK;
	a.hdr.txn = h->txn;
	a.hdr.app_id = h->app_id;
	a.mem_granted = r->mem.granted;
	a.mem_reserved = r->memres.reserved;
	a.vcpus_granted = (uint32_t)r->vcpu.granted;
	return rc_encode_ack(out, cap, &a);
}

/*
 * Whether a new request of @app_id fits the limits (§6.13): open
 * transactions of the guest and of the application, and the agreements the
 * application keeps.
 */
static bool res_request_fits(struct virtio_resource *r, uint32_t app_id)
{
	unsigned int open = 0, app_open = 0, app_live = 0;
	struct rc_entry *e;
	uint32_t idx;

	rc_table_for_each(&r->table, idx, e) {
		bool live = !rc_state_terminal(e->state);
		bool is_open = live && e->state != RC_S_GRANTED;

		open += is_open;
		if (e->app_id == app_id) {
			app_open += is_open;
			app_live += live;
		}
	}
	return open < RES_MAX_OUTSTANDING && app_open < RES_MAX_APP_OUTSTANDING &&
	       app_live < RES_MAX_APP_AGREEMENTS;
}

/* ---- REQUEST ---- */

static size_t negotiate_request(struct virtio_resource *r, const uint8_t *msg, size_t len,
				uint8_t *out, size_t cap, int *parked)
{
	struct policy_decision d;
	struct rc_entry req = { 0 }, *e;
	struct policy_state *st;
	struct rc_request q;
	int ret;

	ret = rc_decode_request(msg, len, &q);
	if (ret)
		return resource__answer_error(r, NULL, ret, out, cap);
	st = resource__kind_state(r, q.kind);
	if (!st) {
		res_decision_event(r, RES_D_DENY, &q.hdr, q.kind, q.amount, 0,
				   "kind not negotiable here");
		return answer_deny(&q.hdr, q.kind, VIRTIO_RESOURCE_D_UNSUPPORTED, 0, 0, out, cap);
	}
	if (!res_request_fits(r, q.hdr.app_id)) {
		r->decisions[RES_D_BUSY]++;
		return resource__answer_error(r, &q.hdr, RC_EBUSY, out, cap);
	}
	req.txn = q.hdr.txn;
	req.app_id = q.hdr.app_id;
	req.kind = q.kind;
	req.urgency = q.urgency;
	req.latency = q.latency;
	req.deadline_ms = q.deadline_ms;
	req.duration_ms = q.duration_ms;
	req.amount = policy__round_up(q.amount, st->unit);
	req.minimum = policy__round_up(q.minimum, st->unit);
	req.projected = q.projected;
	ret = rc_table_add(&r->table, &req, clock__monotonic_ns(), &e);
	if (ret)
		return resource__answer_error(r, &q.hdr, ret, out, cap);
	if (r->broker.call) {
		struct res_waiting w = { .what = RES_CALL_REQUEST,
					 .queue = VIRTIO_RESOURCE_Q_REQUEST,
					 .hdr = q.hdr,
					 .kind = q.kind,
					 .amount = req.amount };

		if (resource__ask_broker(
			    r, &w,
			    &(struct resource_broker_call){ .what = RES_CALL_REQUEST,
							    .txn = q.hdr.txn,
							    .kind = q.kind,
							    .urgency = q.urgency,
							    .amount = req.amount,
							    .minimum = req.minimum })) {
			*parked = RES_PARKED;
			return 0;
		}
		resource__retry_decision(&d, "the host's broker is not reachable");
	} else {
		policy__decide(st, &(struct policy_request){ req.amount, req.minimum }, &d);
	}
	return resource__decided(r, &q.hdr, q.kind, req.amount, &d, out, cap);
}

static size_t decided_deny(struct virtio_resource *r, const struct rc_hdr *h, uint16_t kind,
			   uint64_t asked, uint16_t reason, uint32_t retry_ms, const char *why,
			   uint8_t *out, size_t cap)
{
	struct policy_state *st = resource__kind_state(r, kind);
	struct rc_update u = { 0 };

	u.answer = (struct rc_answer){ VIRTIO_RESOURCE_A_DENY, reason, 0, retry_ms };
	rc_table_apply(&r->table, h->txn, RC_EV_DENY, &u, clock__monotonic_ns());
	res_decision_event(r, RES_D_DENY, h, kind, asked, st->granted, why);
	return answer_deny(h, kind, reason, retry_ms, st->granted, out, cap);
}

size_t resource__decided(struct virtio_resource *r, const struct rc_hdr *h, uint16_t kind,
			 uint64_t asked, const struct policy_decision *d, uint8_t *out, size_t cap)
{
	struct policy_state *st = resource__kind_state(r, kind);
	struct rc_update u = { 0 };
	struct res_offer *slot;
	struct rc_offer *o;

	switch (d->verdict) {
	case POLICY_GRANT:
		st->granted += d->amount;
		u.amount = d->amount;
		u.answer.type = VIRTIO_RESOURCE_A_GRANT;
		rc_table_apply(&r->table, h->txn, RC_EV_GRANT, &u, clock__monotonic_ns());
		res_decision_event(r, RES_D_GRANT, h, kind, d->amount, st->granted, d->why);
		resource__changed(r, "grant");
		return answer_grant(r, h, kind, d->amount, st->granted, out, cap);
	case POLICY_DENY:
		return decided_deny(r, h, kind, asked, d->deny_reason, d->retry_after_ms, d->why,
				    out, cap);
	case POLICY_OFFER:
		break;
	}

	slot = offer_find(r, 0);
	if (!slot) {
		/* A broker holds room for its offer until it hears otherwise. */
		resource__broker_call(r, &(struct resource_broker_call){ .what = RES_CALL_DECLINE,
									 .txn = h->txn,
									 .kind = kind });
		return decided_deny(r, h, kind, asked, VIRTIO_RESOURCE_D_HOST_LIMIT,
				    POLICY_RETRY_MS, "too many offers are open", out, cap);
	}
	o = &slot->offer;
	memset(o, 0, sizeof(*o));
	o->hdr.type = VIRTIO_RESOURCE_A_OFFER;
	o->hdr.txn = h->txn;
	o->hdr.app_id = h->app_id;
	o->offer_id = r->next_offer_id++;
	o->expires_ms = RES_OFFER_EXPIRES_MS;
	o->alt[0] = (struct rc_alternative){ kind, VIRTIO_RESOURCE_ALT_PART_NOW, 0, d->amount };
	o->nr_alternatives = 1;
	if (d->later)
		o->alt[o->nr_alternatives++] =
			(struct rc_alternative){ kind, VIRTIO_RESOURCE_ALT_REST_LATER,
						 POLICY_LATER_DELAY_MS, d->later };
	slot->txn = h->txn;
	st->pending += d->amount; /* held for this offer until it is taken or lapses */
	u.offer_id = o->offer_id;
	u.timeout_ms = o->expires_ms;
	u.answer.type = VIRTIO_RESOURCE_A_OFFER;
	rc_table_apply(&r->table, h->txn, RC_EV_OFFER, &u, clock__monotonic_ns());
	res_decision_event(r, RES_D_OFFER, h, kind, d->amount, st->granted, d->why);
	return rc_encode_offer(out, cap, o);
}

/* ---- ACCEPT / DECLINE ---- */

static size_t negotiate_accept(struct virtio_resource *r, const uint8_t *msg, size_t len,
			       uint8_t *out, size_t cap, int *parked)
{
	uint64_t now_part = 0, later = 0;
	struct res_offer *slot;
	struct res_waiting w;
	struct rc_accept a;
	int ret;

	ret = rc_decode_accept(msg, len, &a);
	if (ret)
		return resource__answer_error(r, NULL, ret, out, cap);
	slot = a.hdr.txn ? offer_find(r, a.hdr.txn) : NULL;
	if (!slot)
		return resource__answer_error(r, &a.hdr, RC_EORDER, out, cap);
	ret = rc_accept_check(&a, &slot->offer);
	if (ret)
		return resource__answer_error(r, &a.hdr, ret, out, cap);
	for (uint32_t i = 0; i < slot->offer.nr_alternatives; i++) {
		const struct rc_alternative *alt = &slot->offer.alt[i];

		if (!(a.choices & (1u << i)))
			continue;
		if (alt->type == VIRTIO_RESOURCE_ALT_PART_NOW)
			now_part = alt->amount;
		else if (alt->type == VIRTIO_RESOURCE_ALT_REST_LATER)
			later = alt->amount;
	}
	/* An agreement starts with something granted: the part now must be chosen. */
	if (!now_part)
		return resource__answer_error(r, &a.hdr, RC_ERANGE, out, cap);
	/* A promise the host could not keep track of must not be accepted. */
	if (later && !deferred_free_slot(r))
		return resource__answer_error(r, &a.hdr, RC_EBUSY, out, cap);
	w = (struct res_waiting){ .what = RES_CALL_ACCEPT,
				  .queue = VIRTIO_RESOURCE_Q_REQUEST,
				  .hdr = a.hdr,
				  .kind = slot->offer.alt[0].kind,
				  .amount = now_part,
				  .later = later,
				  .offer_id = a.offer_id };
	if (r->broker.call) {
		/* The broker turns its hold into the allocation first; no broker: the offer is
		 * void. */
		if (!resource__ask_broker(r, &w,
					  &(struct resource_broker_call){ .what = RES_CALL_ACCEPT,
									  .txn = a.hdr.txn,
									  .kind = w.kind,
									  .amount = now_part,
									  .later = later }))
			return resource__answer_error(r, &a.hdr, RC_EBUSY, out, cap);
		*parked = RES_PARKED;
		return 0;
	}
	len = resource__accepted(r, &w, out, cap);
	return len ? len : resource__answer_error(r, &a.hdr, RC_EORDER, out, cap);
}

/* Apply an accepted offer: 0 bytes when it lapsed meanwhile (the caller answers). */
size_t resource__accepted(struct virtio_resource *r, const struct res_waiting *w, uint8_t *out,
			  size_t cap)
{
	struct policy_state *st = resource__kind_state(r, w->kind);
	struct res_offer *slot = offer_find(r, w->hdr.txn);
	struct rc_update u = { 0 };

	/*
	 * Since the offer was made, other grants (the operator's, or a broker's
	 * overlapping offers) may have left no room under the max for its part
	 * now, and promise slots may have filled up while the broker answered.
	 * The offer lapses; with a broker, the caller gives back what it moved.
	 */
	if (slot && st &&
	    (w->amount > st->max - st->granted || (w->later && !deferred_free_slot(r)))) {
		resource__forget_offer(r, w->hdr.txn);
		return 0;
	}
	u.amount = w->amount;
	u.offer_id = w->offer_id;
	u.answer.type = VIRTIO_RESOURCE_A_GRANT;
	if (!slot || !st ||
	    rc_table_apply(&r->table, w->hdr.txn, RC_EV_ACCEPT, &u, clock__monotonic_ns()))
		return 0;
	offer_drop(r, slot); /* gives back what it held */
	st->granted += w->amount;
	if (w->later) {
		deferred_add(r, w->hdr.txn, w->kind, w->later);
		st->pending += w->later;
	}
	res_decision_event(r, RES_D_GRANT, &w->hdr, w->kind, w->amount, st->granted,
			   "offer accepted");
	resource__changed(r, "offer accepted");
	/* This txn's own promise waits: its EV_GRANT must not overtake this answer. */
	resource__satisfy_deferred_except(r, w->hdr.txn);
	return answer_grant(r, &w->hdr, w->kind, w->amount, st->granted, out, cap);
}

static size_t negotiate_decline(struct virtio_resource *r, const uint8_t *msg, size_t len,
				uint8_t *out, size_t cap)
{
	struct rc_update u = { 0 };
	struct res_offer *slot;
	struct rc_decline dc;
	int ret;

	ret = rc_decode_decline(msg, len, &dc);
	if (ret)
		return resource__answer_error(r, NULL, ret, out, cap);
	slot = dc.hdr.txn ? offer_find(r, dc.hdr.txn) : NULL;
	if (!slot)
		return resource__answer_error(r, &dc.hdr, RC_EORDER, out, cap);
	u.offer_id = dc.offer_id;
	u.answer.type = VIRTIO_RESOURCE_A_ACK;
	ret = rc_table_apply(&r->table, dc.hdr.txn, RC_EV_DECLINE, &u, clock__monotonic_ns());
	if (ret)
		return resource__answer_error(r, &dc.hdr, ret, out, cap);
	offer_lapse(r, slot);
	log__ratelimited(r->vdev.log, r->vdev.guest_rl, LOG_INFO,
			 "virtio-resource: txn %llu: offer declined",
			 (unsigned long long)dc.hdr.txn);
	return resource__answer_ack(r, &dc.hdr, out, cap);
}

/* ---- shrinking: releases and reclaims, newest agreements first ---- */

void resource__shrink_agreements(struct virtio_resource *r, uint16_t kind, uint64_t amount,
				 bool reclaim)
{
	uint64_t now = clock__monotonic_ns();

	while (amount) {
		struct rc_entry *e, *newest = NULL;
		struct rc_update u = { 0 };
		uint32_t idx;

		rc_table_for_each(&r->table, idx, e) {
			if (e->kind == kind && e->state == RC_S_GRANTED &&
			    (!newest || e->created_ns > newest->created_ns))
				newest = e;
		}
		/* What is left came with the boot allocation, not an agreement. */
		if (!newest)
			return;
		if (amount >= newest->granted) {
			amount -= newest->granted;
			rc_table_apply(&r->table, newest->txn,
				       reclaim ? RC_EV_RECLAIM : RC_EV_RELEASE, &u, now);
		} else {
			u.amount = newest->granted - amount;
			amount = 0;
			rc_table_apply(&r->table, newest->txn,
				       reclaim ? RC_EV_RECLAIM_PART : RC_EV_RELEASE_PART, &u, now);
		}
	}
}

/* Memory can only leave the grant once the guest reserved it (it no longer uses it). */
static bool mem_release_ready(const struct virtio_resource *r, uint64_t new_granted)
{
	return resource__mem_usable(r) <= new_granted;
}

/*
 * Any decrease of a grant by @by (a release, a renegotiation down): the
 * grant keeps one unit (a granule, a vCPU) whatever an agreement holds, and
 * memory given back must be reserved first. 0, or the status to answer.
 */
static int decrease_allowed(const struct virtio_resource *r, const struct policy_state *st,
			    uint16_t kind, uint64_t by)
{
	if (by > st->granted - st->unit)
		return RC_ERANGE;
	if (kind == VIRTIO_RESOURCE_K_MEMORY && !mem_release_ready(r, st->granted - by))
		return RC_EORDER;
	return 0;
}

static size_t negotiate_release(struct virtio_resource *r, const uint8_t *msg, size_t len,
				uint8_t *out, size_t cap)
{
	struct policy_state *st;
	struct rc_update u = { 0 };
	struct rc_release rel;
	struct rc_entry *e;
	int ret;

	ret = rc_decode_release(msg, len, &rel);
	if (ret)
		return resource__answer_error(r, NULL, ret, out, cap);
	st = resource__kind_state(r, rel.kind);
	if (!st)
		return resource__answer_error(r, &rel.hdr, RC_EUNSUPPORTED, out, cap);
	ret = !rel.amount || rel.amount % st->unit ? RC_ERANGE
						   : decrease_allowed(r, st, rel.kind, rel.amount);
	if (ret)
		return resource__answer_error(r, &rel.hdr, ret, out, cap);
	if (rel.hdr.txn) {
		/* Releasing (part of) one agreement. */
		ret = rc_table_find(&r->table, rel.hdr.txn, &e);
		if (!ret &&
		    (e->state != RC_S_GRANTED || e->kind != rel.kind || rel.amount > e->granted))
			ret = RC_EORDER;
		if (!ret) {
			u.amount = e->granted - rel.amount;
			u.answer.type = VIRTIO_RESOURCE_A_ACK;
			ret = rc_table_apply(&r->table, rel.hdr.txn,
					     u.amount ? RC_EV_RELEASE_PART : RC_EV_RELEASE, &u,
					     clock__monotonic_ns());
		}
		if (ret)
			return resource__answer_error(r, &rel.hdr, ret, out, cap);
	} else {
		resource__shrink_agreements(r, rel.kind, rel.amount, false);
	}
	st->granted -= rel.amount;
	resource__broker_call(r, &(struct resource_broker_call){ .what = RES_CALL_RELEASE,
								 .txn = rel.hdr.txn,
								 .kind = rel.kind,
								 .amount = rel.amount });
	res_decision_event(r, RES_D_RELEASE, &rel.hdr, rel.kind, rel.amount, st->granted,
			   "given back by the guest");
	resource__changed(r, "release");
	resource__satisfy_deferred(r);
	return resource__answer_ack(r, &rel.hdr, out, cap);
}

/* ---- RENEGOTIATE (the guest reopens a granted agreement) ---- */

/*
 * The guest's answer to the host's EV_RENEGOTIATE: the proposed amount
 * accepts it, the current amount declines it, anything else is refused and
 * the proposal stays open until its deadline.
 */
static size_t answer_host_renegotiation(struct virtio_resource *r, const struct rc_renegotiate *rn,
					struct rc_entry *e, uint8_t *out, size_t cap)
{
	struct policy_state *st = resource__kind_state(r, rn->kind);
	uint64_t cur = e->granted, want = e->proposed, now = clock__monotonic_ns();
	struct rc_update u = { 0 };
	int ret;

	if (rn->amount == cur) {
		u.answer.type = VIRTIO_RESOURCE_A_ACK;
		rc_table_apply(&r->table, rn->hdr.txn, RC_EV_DENY, &u, now);
		res_decision_event(r, RES_D_DENY, &rn->hdr, rn->kind, cur, st->granted,
				   "the guest declined the host's renegotiation");
		return resource__answer_ack(r, &rn->hdr, out, cap);
	}
	if (rn->amount != want)
		return resource__answer_error(r, &rn->hdr, RC_ERANGE, out, cap);
	/* A reclaim may have passed the agreement over since the host proposed. */
	ret = want < cur ? decrease_allowed(r, st, rn->kind, cur - want) : 0;
	if (ret)
		return resource__answer_error(r, &rn->hdr, ret, out, cap);
	if (want > cur && policy__available(st) < want - cur)
		return resource__answer_error(r, &rn->hdr, RC_EBUSY, out, cap);
	u.amount = want;
	u.answer.type = VIRTIO_RESOURCE_A_GRANT;
	rc_table_apply(&r->table, rn->hdr.txn, RC_EV_GRANT, &u, now);
	st->granted = st->granted - cur + want;
	res_decision_event(r, RES_D_GRANT, &rn->hdr, rn->kind, want, st->granted,
			   "the guest accepted the host's renegotiation");
	resource__changed(r, "renegotiation");
	resource__satisfy_deferred(r);
	return answer_grant(r, &rn->hdr, rn->kind, want, st->granted, out, cap);
}

/* The guest's own renegotiation of @txn waits for the broker: it is no host proposal. */
static bool renegotiation_waits(const struct virtio_resource *r, uint64_t txn)
{
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++) {
		const struct res_waiting *w = &r->waiting[i];

		if (w->used && w->renegotiate && w->hdr.txn == txn)
			return true;
	}
	return false;
}

static size_t negotiate_renegotiate(struct virtio_resource *r, const uint8_t *msg, size_t len,
				    uint8_t *out, size_t cap, int *parked)
{
	struct policy_decision d = { 0 };
	struct rc_update u = { 0 };
	struct rc_renegotiate rn;
	struct policy_state *st;
	struct rc_entry *e;
	uint64_t cur, want, now = clock__monotonic_ns();
	int ret;

	ret = rc_decode_renegotiate(msg, len, &rn);
	if (ret)
		return resource__answer_error(r, NULL, ret, out, cap);
	ret = rc_table_find(&r->table, rn.hdr.txn, &e);
	if (!ret && e->kind == rn.kind && e->state == RC_S_RENEGOTIATING &&
	    !renegotiation_waits(r, rn.hdr.txn))
		return answer_host_renegotiation(r, &rn, e, out, cap);
	if (!ret && (e->state != RC_S_GRANTED || e->kind != rn.kind))
		ret = RC_EORDER;
	st = resource__kind_state(r, rn.kind);
	if (!ret && (!st || !rn.amount || rn.amount % st->unit))
		ret = RC_ERANGE;
	if (ret)
		return resource__answer_error(r, &rn.hdr, ret, out, cap);
	cur = e->granted;
	want = rn.amount;
	ret = want < cur ? decrease_allowed(r, st, rn.kind, cur - want) : 0;
	if (ret)
		return resource__answer_error(r, &rn.hdr, ret, out, cap);
	u.amount = want;
	rc_table_apply(&r->table, rn.hdr.txn, RC_EV_RENEGOTIATE, &u, now);
	if (want > cur && r->broker.call) {
		struct res_waiting w = { .what = RES_CALL_REQUEST,
					 .queue = VIRTIO_RESOURCE_Q_REQUEST,
					 .hdr = rn.hdr,
					 .kind = rn.kind,
					 .amount = want,
					 .renegotiate = true };

		if (resource__ask_broker(r, &w,
					 &(struct resource_broker_call){ .what = RES_CALL_REQUEST,
									 .txn = rn.hdr.txn,
									 .kind = rn.kind,
									 .urgency = e->urgency,
									 .amount = want - cur,
									 .minimum = want - cur })) {
			*parked = RES_PARKED;
			return 0;
		}
		resource__retry_decision(&d, "the host's broker is not reachable");
	} else if (want > cur) {
		policy__decide(st, &(struct policy_request){ want - cur, want - cur }, &d);
	} else {
		d.verdict = POLICY_GRANT;
		d.amount = 0;
	}
	return resource__renegotiated(r, &rn.hdr, rn.kind, want, &d, out, cap);
}

/* Apply the decision on growing (or keep/shrink) a RENEGOTIATING agreement to @want. */
size_t resource__renegotiated(struct virtio_resource *r, const struct rc_hdr *h, uint16_t kind,
			      uint64_t want, const struct policy_decision *d, uint8_t *out,
			      size_t cap)
{
	struct policy_state *st = resource__kind_state(r, kind);
	uint64_t now = clock__monotonic_ns(), cur;
	struct rc_update u = { 0 };
	struct rc_entry *e;

	if (rc_table_find(&r->table, h->txn, &e) || e->state != RC_S_RENEGOTIATING)
		return 0;
	cur = e->granted;
	if (want > cur && (d->verdict != POLICY_GRANT || d->amount != want - cur)) {
		/* A denial keeps its reason; an offer is not made: no room now. */
		uint16_t reason =
			d->verdict == POLICY_DENY ? d->deny_reason : VIRTIO_RESOURCE_D_HOST_LIMIT;
		uint32_t retry = d->verdict == POLICY_DENY ? d->retry_after_ms : POLICY_RETRY_MS;

		u.answer = (struct rc_answer){ VIRTIO_RESOURCE_A_DENY, reason, 0, retry };
		rc_table_apply(&r->table, h->txn, RC_EV_DENY, &u, now);
		res_decision_event(r, RES_D_DENY, h, kind, want - cur, st->granted,
				   "renegotiation: no room for more");
		return answer_deny(h, kind, reason, retry, st->granted, out, cap);
	}
	u.amount = want;
	u.answer.type = VIRTIO_RESOURCE_A_GRANT;
	rc_table_apply(&r->table, h->txn, RC_EV_GRANT, &u, now);
	st->granted = st->granted - cur + want;
	if (want < cur)
		resource__broker_call(r, &(struct resource_broker_call){ .what = RES_CALL_RELEASE,
									 .txn = h->txn,
									 .kind = kind,
									 .amount = cur - want });
	res_decision_event(r, RES_D_GRANT, h, kind, want, st->granted, "renegotiated");
	if (want != cur)
		resource__changed(r, "renegotiation");
	resource__satisfy_deferred(r);
	return answer_grant(r, h, kind, want, st->granted, out, cap);
}

/* ---- RESERVE / UNRESERVE ---- */

static bool ranges_overlap(const struct rc_ranges *m)
{
	for (uint32_t i = 0; i < m->nr_ranges; i++) {
		for (uint32_t j = i + 1; j < m->nr_ranges; j++) {
			const struct rc_range *a = &m->range[i], *b = &m->range[j];

			if (a->addr < b->addr + b->len && b->addr < a->addr + a->len)
				return true;
		}
	}
	return false;
}

static int errno_to_rc(int err)
{
	switch (err) {
	case -EEXIST:
	case -ENOENT:
		return RC_EORDER;
	case -ERANGE:
		return RC_ERANGE;
	case -EINVAL:
		return RC_EALIGN;
	}
	return RC_EMALFORMED;
}

void resource__check_reclaim_done(struct virtio_resource *r)
{
	struct json_object *data;

	if (!r->reclaim_txn || resource__mem_usable(r) > r->mem.granted)
		return;
	data = json_object_new_object();
	json_object_object_add(data, "txn", json_object_new_uint64(r->reclaim_txn));
	json_object_object_add(data, "memory-granted", json_object_new_uint64(r->mem.granted));
	json_object_object_add(data, "memory-reserved", json_object_new_uint64(r->memres.reserved));
	log_info(r->vdev.log, "virtio-resource: reclaim %llu complete, %llu MiB reserved",
		 (unsigned long long)(r->reclaim_txn & ~RES_HOST_TXN),
		 (unsigned long long)(r->memres.reserved >> 20));
	resource__emit(r, "RECLAIM_COMPLETED", data);
	r->reclaim_txn = 0;
}

static size_t negotiate_ranges(struct virtio_resource *r, const uint8_t *msg, size_t len,
			       bool reserve, uint8_t *out, size_t cap)
{
	struct rc_ranges ranges; /* about 1 KiB: fine on the event-loop thread's stack */
	uint64_t total = 0;
	int ret;

	ret = rc_decode_ranges(msg, len, RES_GRANULE, &ranges);
	if (!ret && ranges_overlap(&ranges))
		ret = RC_EORDER;
	for (uint32_t i = 0; !ret && i < ranges.nr_ranges; i++) {
		const struct rc_range *g = &ranges.range[i];
		int e = reserve ? memres__check_free(&r->memres, g->addr, g->len)
				: memres__check_reserved(&r->memres, g->addr, g->len);

		if (e)
			ret = errno_to_rc(e);
		total += g->len;
	}
	/* Taking pages back is only allowed within the grant. */
	if (!ret && !reserve && resource__mem_usable(r) + total > r->mem.granted)
		ret = RC_ERANGE;
	if (ret)
		return resource__answer_error(
			r, ret == RC_EMALFORMED || ret == RC_ETRUNC ? NULL : &ranges.hdr, ret, out,
			cap);
	for (uint32_t i = 0; i < ranges.nr_ranges; i++) {
		const struct rc_range *g = &ranges.range[i];

		ret = reserve ? memres__reserve(&r->memres, g->addr, g->len)
			      : memres__unreserve(&r->memres, g->addr, g->len);
		if (ret) {
			log_err(r->vdev.log, "virtio-resource: cannot release guest memory: %s",
				strerror(-ret));
			return resource__answer_error(r, &ranges.hdr, RC_EMALFORMED, out, cap);
		}
	}
	log_debug(r->vdev.log, "virtio-resource: guest %s %llu MiB (now %llu MiB reserved)",
		  reserve ? "reserved" : "took back", (unsigned long long)(total >> 20),
		  (unsigned long long)(r->memres.reserved >> 20));
	if (reserve)
		resource__check_reclaim_done(r);
	return resource__answer_ack(r, &ranges.hdr, out, cap);
}

int resource__negotiate(struct virtio_resource *r, const uint8_t *msg, size_t len, uint16_t type,
			uint8_t *out, size_t cap, size_t *out_len)
{
	int parked = 0;

	resource__expire(r);
	switch (type) {
	case VIRTIO_RESOURCE_T_REQUEST:
		*out_len = negotiate_request(r, msg, len, out, cap, &parked);
		break;
	case VIRTIO_RESOURCE_T_ACCEPT:
		*out_len = negotiate_accept(r, msg, len, out, cap, &parked);
		break;
	case VIRTIO_RESOURCE_T_DECLINE:
		*out_len = negotiate_decline(r, msg, len, out, cap);
		break;
	case VIRTIO_RESOURCE_T_RELEASE:
		*out_len = negotiate_release(r, msg, len, out, cap);
		break;
	case VIRTIO_RESOURCE_T_RENEGOTIATE:
		*out_len = negotiate_renegotiate(r, msg, len, out, cap, &parked);
		break;
	case VIRTIO_RESOURCE_T_RESERVE:
	case VIRTIO_RESOURCE_T_UNRESERVE:
		*out_len =
			negotiate_ranges(r, msg, len, type == VIRTIO_RESOURCE_T_RESERVE, out, cap);
		break;
	default: {
		struct rc_hdr h;

		*out_len = resource__answer_error(r, rc_decode_hdr(msg, len, &h) ? NULL : &h,
						  RC_EUNSUPPORTED, out, cap);
		break;
	}
	}
	return parked;
}
