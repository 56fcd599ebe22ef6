// SPDX-License-Identifier: MIT
/*
 * virtio-resource in broker mode (`accord run --broker`): the host's broker
 * decides requests for every VM of the host. A request, an accepted offer,
 * a grown agreement or a message to another VM is forwarded and its chain
 * parked until the broker answers on the VM's event loop; releases, declines
 * and ended promises are reported. The broker's own moves (reclaims,
 * promised parts, growth, messages from other VMs) come in here too. What
 * the broker gave but the device can no longer use (its guest reset or the
 * offer lapsed meanwhile) is given straight back, so the two never drift.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord/ledger.h"
#include "accord/resource.h"

int resource__broker_call(struct virtio_resource *r, const struct resource_broker_call *c)
{
	return r->broker.call ? r->broker.call(r->broker.ctx, c) : -ENOTCONN;
}

bool resource__ask_broker(struct virtio_resource *r, const struct res_waiting *w,
			  const struct resource_broker_call *c)
{
	struct resource_broker_call call = *c;
	struct res_waiting *slot = NULL;
	struct virtq_chain *chain;

	for (unsigned int i = 0; i < RES_MAX_WAITING && !slot; i++) {
		if (!r->waiting[i].used)
			slot = &r->waiting[i];
	}
	if (!slot || !slot->chain)
		return false;
	call.seq = ++r->next_call_seq;
	if (resource__broker_call(r, &call))
		return false;
	chain = slot->chain;
	*slot = *w;
	slot->chain = chain;
	slot->seq = call.seq;
	slot->used = true;
	slot->parked = false;
	r->parking = slot;
	return true;
}

void resource__park(struct virtio_resource *r, const struct virtq_chain *chain)
{
	struct res_waiting *w = r->parking;

	/* Only the descriptors in use are copied: the chain is about 4 KiB. */
	w->chain->head = chain->head;
	w->chain->nr_out = chain->nr_out;
	w->chain->nr_in = chain->nr_in;
	w->chain->out_len = chain->out_len;
	w->chain->in_len = chain->in_len;
	memcpy(w->chain->bufs, chain->bufs,
	       (chain->nr_out + chain->nr_in) * sizeof(chain->bufs[0]));
	w->parked = true;
	r->parking = NULL;
}

void resource__unpark_all(struct virtio_resource *r)
{
	/* The rings went with the reset: answers that come later are given back. */
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++) {
		r->waiting[i].used = false;
		r->waiting[i].parked = false;
	}
	r->parking = NULL;
}

static struct res_waiting *waiting_find(struct virtio_resource *r, uint64_t seq)
{
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++) {
		if (r->waiting[i].used && r->waiting[i].parked && r->waiting[i].seq == seq)
			return &r->waiting[i];
	}
	return NULL;
}

/* Hand the answer in @r->scratch back in @w's chain and free the slot. */
static void waiting_finish(struct virtio_resource *r, struct res_waiting *w, size_t len)
{
	struct virtq *vq = &r->vdev.vqs[w->queue];

	if (len && virtio__driver_ok(&r->vdev) && vq->desc) {
		virtq__write(w->chain, 0, r->scratch, len);
		virtq__push(vq, w->chain->head, (uint32_t)len);
		virtio__queue_done(&r->vdev, w->queue);
	}
	w->used = false;
	w->parked = false;
}

static size_t waiting_cap(const struct virtio_resource *r, const struct res_waiting *w)
{
	return w->chain->in_len < r->scratch_len ? (size_t)w->chain->in_len : r->scratch_len;
}

/* Give back what the broker's answer moved, when the device cannot use it. */
static void give_back(struct virtio_resource *r, const struct resource_broker_answer *a)
{
	struct resource_broker_call c = { .txn = a->txn, .kind = a->kind };

	if (a->error)
		return;
	switch (a->what) {
	case RES_CALL_REQUEST:
		if (a->d.verdict == POLICY_GRANT && a->d.amount) {
			c.what = RES_CALL_RELEASE;
			c.amount = a->d.amount;
		} else if (a->d.verdict == POLICY_OFFER) {
			c.what = RES_CALL_DECLINE;
		} else {
			return;
		}
		break;
	case RES_CALL_ACCEPT:
		c.what = RES_CALL_RELEASE;
		c.amount = a->amount;
		resource__broker_call(r, &c);
		if (!a->later)
			return;
		c.what = RES_CALL_CANCEL;
		c.amount = 0;
		break;
	default:
		return;
	}
	log_info(r->vdev.log,
		 "virtio-resource: txn %llu: the broker's answer came too late; given back",
		 (unsigned long long)a->txn);
	resource__broker_call(r, &c);
}

/* A broker decision the device can apply: whole units, within what was asked and the max. */
static bool decision_valid(const struct policy_state *st, uint64_t asked,
			   const struct policy_decision *d)
{
	switch (d->verdict) {
	case POLICY_GRANT:
		return d->amount && !(d->amount % st->unit) && d->amount <= asked &&
		       d->amount <= st->max - st->granted;
	case POLICY_OFFER:
		return d->amount && !(d->amount % st->unit) && !(d->later % st->unit) &&
		       d->amount <= asked && d->later <= asked - d->amount &&
		       d->amount + d->later <= st->max - st->granted;
	case POLICY_DENY:
		return true;
	}
	return false;
}

void resource__retry_decision(struct policy_decision *d, const char *why)
{
	memset(d, 0, sizeof(*d));
	d->verdict = POLICY_DENY;
	d->deny_reason = VIRTIO_RESOURCE_D_HOST_LIMIT;
	d->retry_after_ms = RES_NO_BROKER_RETRY_MS;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

static void refused_decision(struct policy_decision *d, int rc_err)
{
	char why[96];

	snprintf(why, sizeof(why), "the broker refused the request: %s", rc_strerror(rc_err));
	resource__retry_decision(d, why);
}

static size_t answer_request(struct virtio_resource *r, struct res_waiting *w,
			     const struct resource_broker_answer *a, size_t cap)
{
	struct policy_state *st = resource__kind_state(r, w->kind);
	struct policy_decision d = a->d;
	uint64_t asked = w->amount;
	struct rc_entry *e;
	size_t len;

	if (w->renegotiate) {
		/* Growth of a granted agreement: only the difference was asked for. */
		if (rc_table_find(&r->table, w->hdr.txn, &e) || e->state != RC_S_RENEGOTIATING) {
			give_back(r, a);
			return resource__answer_error(r, &w->hdr, RC_EORDER, r->scratch, cap);
		}
		asked = w->amount - e->granted;
	}
	if (a->error) {
		refused_decision(&d, a->error);
	} else if (!decision_valid(st, asked, &d) ||
		   (w->renegotiate && d.verdict == POLICY_GRANT && d.amount != asked)) {
		log_err(r->vdev.log,
			"virtio-resource: txn %llu: the broker's answer does not fit this VM; "
			"given back",
			(unsigned long long)w->hdr.txn);
		give_back(r, a);
		refused_decision(&d, RC_ERANGE);
	}
	if (!w->renegotiate)
		return resource__decided(r, &w->hdr, w->kind, w->amount, &d, r->scratch, cap);
	if (d.verdict == POLICY_OFFER) {
		/* Growth is granted whole or not at all. */
		give_back(r, &(struct resource_broker_answer){ .what = RES_CALL_REQUEST,
							       .txn = a->txn,
							       .kind = a->kind,
							       .d = d });
	}
	len = resource__renegotiated(r, &w->hdr, w->kind, w->amount, &d, r->scratch, cap);
	return len ? len : resource__answer_error(r, &w->hdr, RC_EORDER, r->scratch, cap);
}

void resource__broker_answer(struct virtio_resource *r, const struct resource_broker_answer *a)
{
	struct res_waiting *w;
	size_t len = 0, cap;

	pthread_mutex_lock(&r->vdev.lock);
	w = waiting_find(r, a->seq);
	if (!w || w->what != a->what) {
		give_back(r, a);
		goto out_unlock;
	}
	cap = waiting_cap(r, w);
	switch (a->what) {
	case RES_CALL_REQUEST:
		len = answer_request(r, w, a, cap);
		break;
	case RES_CALL_ACCEPT:
		if (a->error) {
			/* The broker let the offer go: it lapsed there first. */
			resource__forget_offer(r, w->hdr.txn);
			len = resource__answer_error(r, &w->hdr, RC_EORDER, r->scratch, cap);
			break;
		}
		len = resource__accepted(r, w, r->scratch, cap);
		if (!len) {
			give_back(r, a);
			len = resource__answer_error(r, &w->hdr, RC_EORDER, r->scratch, cap);
		}
		break;
	case RES_CALL_MESSAGE:
		len = a->error ? resource__answer_error(r, &w->hdr, a->error, r->scratch, cap)
			       : resource__answer_ack(r, &w->hdr, r->scratch, cap);
		break;
	default:
		break;
	}
	waiting_finish(r, w, len);
out_unlock:
	pthread_mutex_unlock(&r->vdev.lock);
}

void resource__broker_lost(struct virtio_resource *r)
{
	pthread_mutex_lock(&r->vdev.lock);
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++) {
		struct res_waiting *w = &r->waiting[i];
		struct policy_decision d = { 0 };
		size_t cap, len = 0;

		if (!w->used || !w->parked)
			continue;
		cap = waiting_cap(r, w);
		resource__retry_decision(&d, "the host's broker went away");
		if (w->what == RES_CALL_REQUEST && !w->renegotiate)
			len = resource__decided(r, &w->hdr, w->kind, w->amount, &d, r->scratch,
						cap);
		else if (w->what == RES_CALL_REQUEST)
			len = resource__renegotiated(r, &w->hdr, w->kind, w->amount, &d, r->scratch,
						     cap);
		if (!len)
			len = resource__answer_error(r, &w->hdr, RC_EBUSY, r->scratch, cap);
		waiting_finish(r, w, len);
	}
	/* The broker forgets its offers and promises to a VM that left; so does the device. */
	resource__drop_offers(r);
	resource__drop_promises(r);
	pthread_mutex_unlock(&r->vdev.lock);
}

int resource__broker_change(struct virtio_resource *r, uint16_t kind, bool grow, uint64_t amount,
			    struct acc_err *err)
{
	struct policy_state *st = resource__kind_state(r, kind);
	int ret = 0;

	pthread_mutex_lock(&r->vdev.lock);
	if (!st || !amount || amount % st->unit ||
	    (grow ? amount > st->max - st->granted : amount >= st->granted)) {
		ret = acc_errf(err, ERANGE, "cannot %s %s by %llu (allocation %llu, max %llu)",
			       grow ? "grow" : "shrink", rc_kind_name(kind),
			       (unsigned long long)amount,
			       (unsigned long long)(st ? st->granted : 0),
			       (unsigned long long)(st ? st->max : 0));
		goto out_unlock;
	}
	if (kind == VIRTIO_RESOURCE_K_MEMORY && !grow) {
		/* The allocation drops now; the guest reserves pages to catch up. */
		if (resource__start_reclaim(r, st->granted - amount)) {
			resource__shrink_agreements(r, kind, amount, true);
			st->granted -= amount;
			resource__changed(r, "reclaim by the broker");
			log_warn(r->vdev.log,
				 "virtio-resource: the guest's event queue is full; it learns of "
				 "the reclaim from its configuration");
		}
		goto out_unlock;
	}
	if (grow) {
		st->granted += amount;
	} else {
		resource__shrink_agreements(r, kind, amount, true);
		st->granted -= amount;
	}
	resource__changed(r, grow ? "growth from the broker" : "reclaim by the broker");
out_unlock:
	pthread_mutex_unlock(&r->vdev.lock);
	return ret;
}

int resource__broker_message(struct virtio_resource *r, uint32_t from_id, const char *from,
			     const void *data, size_t len)
{
	size_t name_len = strlen(from) + 1, n;
	struct rc_message m = { 0 };
	uint8_t *payload;
	int ret;

	if (name_len > VIRTIO_RESOURCE_MAX_NAME || !len ||
	    name_len + len > RES_MAX_MESSAGE - sizeof(struct virtio_resource_message))
		return -EMSGSIZE;
	payload = malloc(name_len + len);
	if (!payload)
		return -ENOMEM;
	memcpy(payload, from, name_len);
	memcpy(payload + name_len, data, len);
	pthread_mutex_lock(&r->vdev.lock);
	if (!virtio__has_feature(&r->vdev, VIRTIO_RESOURCE_F_MESSAGES) || !r->hello) {
		ret = -EOPNOTSUPP;
		goto out_unlock;
	}
	m.hdr.type = VIRTIO_RESOURCE_EV_MESSAGE;
	m.hdr.txn = r->next_host_txn++;
	m.dest = r->guest_id;
	m.source = from_id;
	m.payload = payload;
	m.payload_len = (uint32_t)(name_len + len);
	n = rc_encode_message(r->scratch, r->scratch_len, &m);
	ret = n ? resource__queue_event(r, r->scratch, n) : -EINVAL;
out_unlock:
	pthread_mutex_unlock(&r->vdev.lock);
	free(payload);
	return ret;
}

int resource__message_to_vm(struct virtio_resource *r, const struct rc_message *m, uint8_t *out,
			    size_t cap, size_t *out_len)
{
	const uint8_t *nul =
		memchr(m->payload, '\0',
		       m->payload_len < VIRTIO_RESOURCE_MAX_NAME ? m->payload_len
								 : VIRTIO_RESOURCE_MAX_NAME);
	struct res_waiting w = { .what = RES_CALL_MESSAGE,
				 .queue = VIRTIO_RESOURCE_Q_MESSAGE,
				 .hdr = m->hdr };
	struct acc_err err;
	size_t name_len;
	int rc_err;

	/* A name, its NUL, and at least one byte of message. */
	if (!nul || nul == m->payload || nul + 1 == m->payload + m->payload_len) {
		*out_len = resource__answer_error(r, &m->hdr, RC_EMALFORMED, out, cap);
		return 0;
	}
	/*
	 * A name no VM can have names none; checked here because bytes the
	 * broker's JSON parser refuses would leave the call unanswered.
	 */
	if (ledger__check_name((const char *)m->payload, &err)) {
		*out_len = resource__answer_error(r, &m->hdr, RC_ENOENT, out, cap);
		return 0;
	}
	name_len = (size_t)(nul - m->payload);
	if (resource__ask_broker(
		    r, &w,
		    &(struct resource_broker_call){ .what = RES_CALL_MESSAGE,
						    .txn = m->hdr.txn,
						    .to = (const char *)m->payload,
						    .data = nul + 1,
						    .len = m->payload_len - name_len - 1 }))
		return RES_PARKED;
	/* No broker at all: no VM to reach; a broker away or busy: try again. */
	rc_err = r->broker.call ? RC_EBUSY : RC_ENOENT;
	*out_len = resource__answer_error(r, &m->hdr, rc_err, out, cap);
	return 0;
}

void resource__broker_state(struct virtio_resource *r, struct resource_broker_state *s)
{
	uint64_t usable;

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&r->vdev.lock);
	usable = resource__mem_usable(r);
	s->mem_max = r->mem.max;
	s->mem_granted = r->mem.granted;
	s->mem_returning = usable > r->mem.granted ? usable - r->mem.granted : 0;
	s->vcpus_max = (unsigned int)r->vcpu.max;
	s->vcpus_granted = (unsigned int)r->vcpu.granted;
	s->driver = r->hello;
	if (r->stats_count) {
		const struct rc_stats *st =
			&r->stats[(r->stats_head + r->stats_count - 1) % RES_STATS_RING];

		s->have_usage = true;
		s->mem_used =
			st->mem_total > st->mem_available ? st->mem_total - st->mem_available : 0;
		s->mem_forecast = st->mem_forecast;
		/* Busy vCPUs and the forecast, rounded up to whole vCPUs. */
		s->vcpus_used =
			(unsigned int)(((uint64_t)st->cpu_util_milli * r->vcpu.granted + 999) /
				       1000);
		s->vcpus_forecast = (st->vcpu_forecast_milli + 999) / 1000;
	}
	pthread_mutex_unlock(&r->vdev.lock);
}
