// SPDX-License-Identifier: MIT
/*
 * virtio-resource, the operator's side: host-initiated allocation changes
 * and reclaims, messages to the guest, and JSON views of the allocation,
 * the agreements and the statistics for the control socket. These run on
 * the event-loop thread and take the device lock themselves.
 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "accord/resource.h"

/* Ask the guest to hand back memory down to @target (it reserves pages to comply). */
int resource__start_reclaim(struct virtio_resource *r, uint64_t target)
{
	struct rc_ev_reclaim ev = { 0 };
	struct json_object *data;
	uint64_t amount = r->mem.granted - target, ms;
	size_t len;

	/* No faster than the guest said it can go, and never instantly. */
	/* amount / rate, rounded up, in ms (a product that cannot overflow). */
	ms = r->mem_rate ? (uint64_t)(((unsigned __int128)amount * 1000 + r->mem_rate - 1) /
				      r->mem_rate)
			 : 0;
	if (ms < RES_MIN_RECLAIM_MS)
		ms = RES_MIN_RECLAIM_MS;
	if (ms > UINT32_MAX)
		ms = UINT32_MAX;
	ev.hdr.type = VIRTIO_RESOURCE_EV_RECLAIM;
	ev.hdr.txn = r->next_host_txn++;
	ev.kind = VIRTIO_RESOURCE_K_MEMORY;
	ev.deadline_ms = (uint32_t)ms;
	ev.amount = amount;
	ev.target = target;
	len = rc_encode_ev_reclaim(r->scratch, r->scratch_len, &ev);
	if (!len || resource__queue_event(r, r->scratch, len))
		return -ENOBUFS;
	resource__shrink_agreements(r, VIRTIO_RESOURCE_K_MEMORY, amount, true);
	r->mem.granted = target;
	/* The host wants this memory: the guest's requests must not win it straight back. */
	if (r->mem.pool > target)
		r->mem.pool = target;
	r->reclaim_txn = ev.hdr.txn;
	r->reclaim_target = target;
	data = json_object_new_object();
	json_object_object_add(data, "txn", json_object_new_uint64(ev.hdr.txn));
	json_object_object_add(data, "kind", json_object_new_string("memory"));
	json_object_object_add(data, "amount", json_object_new_uint64(amount));
	json_object_object_add(data, "target", json_object_new_uint64(target));
	json_object_object_add(data, "deadline-ms", json_object_new_uint64(ms));
	log_info(r->vdev.log, "virtio-resource: reclaiming %llu MiB (to %llu MiB) within %llu ms",
		 (unsigned long long)(amount >> 20), (unsigned long long)(target >> 20),
		 (unsigned long long)ms);
	resource__emit(r, "RECLAIM", data);
	resource__changed(r, "reclaim");
	/* A guest already within the new grant has nothing to hand back. */
	resource__check_reclaim_done(r);
	return 0;
}

static int resource__check_mem(struct virtio_resource *r, uint64_t mem, struct acc_err *err)
{
	if (mem % RES_GRANULE)
		return acc_errf(err, EINVAL, "memory must be a multiple of 2 MiB");
	if (mem < RES_GRANULE || mem > r->mem.max)
		return acc_errf(err, ERANGE, "memory must be between 2 MiB and the VM's %llu MiB",
				(unsigned long long)(r->mem.max >> 20));
	return 0;
}

int resource__set_allocation(struct virtio_resource *r, const uint64_t *mem,
			     const unsigned int *vcpus, struct acc_err *err)
{
	bool changed = false;
	int ret = 0;

	pthread_mutex_lock(&r->vdev.lock);
	if (mem)
		ret = resource__check_mem(r, *mem, err);
	if (!ret && vcpus && (*vcpus < 1 || *vcpus > r->vcpu.max))
		ret = acc_errf(err, ERANGE, "vcpus must be between 1 and the VM's %llu",
			       (unsigned long long)r->vcpu.max);
	if (ret)
		goto out_unlock;
	if (mem && *mem < r->mem.granted) {
		ret = resource__start_reclaim(r, *mem);
		if (ret) {
			acc_errf(err, -ret, "the guest's event queue is full");
			goto out_unlock;
		}
	} else if (mem && *mem > r->mem.granted) {
		r->mem.granted = *mem;
		if (r->mem.pool < *mem)
			r->mem.pool = *mem;
		changed = true;
	}
	if (vcpus && *vcpus != r->vcpu.granted) {
		if (*vcpus < r->vcpu.granted)
			resource__shrink_agreements(r, VIRTIO_RESOURCE_K_VCPU,
						    r->vcpu.granted - *vcpus, true);
		r->vcpu.granted = *vcpus;
		/* The operator's allocation bounds what the guest's own requests may reach. */
		r->vcpu.pool = *vcpus;
		changed = true;
	}
	if (changed) {
		resource__changed(r, "set-allocation");
		resource__check_reclaim_done(r);
		resource__satisfy_deferred(r);
	}
out_unlock:
	pthread_mutex_unlock(&r->vdev.lock);
	return ret;
}

int resource__reclaim(struct virtio_resource *r, uint64_t mem, struct acc_err *err)
{
	uint64_t target;
	int ret;

	pthread_mutex_lock(&r->vdev.lock);
	if (!mem || mem % RES_GRANULE) {
		ret = acc_errf(err, EINVAL, "memory must be a positive multiple of 2 MiB");
	} else if (mem >= r->mem.granted) {
		ret = acc_errf(err, ERANGE, "the guest holds only %llu MiB",
			       (unsigned long long)(r->mem.granted >> 20));
	} else {
		target = r->mem.granted - mem;
		ret = resource__start_reclaim(r, target);
		if (ret)
			acc_errf(err, -ret, "the guest's event queue is full");
	}
	pthread_mutex_unlock(&r->vdev.lock);
	return ret;
}

int resource__renegotiate(struct virtio_resource *r, uint64_t txn, uint64_t amount,
			  struct acc_err *err)
{
	struct rc_renegotiate ev = { 0 };
	struct rc_update u = { 0 };
	struct json_object *data;
	struct policy_state *st;
	struct rc_entry *e;
	size_t len;
	int ret = 0;

	pthread_mutex_lock(&r->vdev.lock);
	rc_table_expire(&r->table, clock__monotonic_ns());
	if (rc_table_find(&r->table, txn, &e) || e->state != RC_S_GRANTED) {
		ret = acc_errf(err, ENOENT, "no granted agreement with txn %llu",
			       (unsigned long long)txn);
		goto out_unlock;
	}
	st = e->kind == VIRTIO_RESOURCE_K_MEMORY ? &r->mem : &r->vcpu;
	if (!amount || amount % st->unit || amount == e->granted ||
	    (amount > e->granted && policy__available(st) < amount - e->granted)) {
		ret = acc_errf(
			err, ERANGE,
			"amount must differ from %llu, be a multiple of %llu and fit the pool",
			(unsigned long long)e->granted, (unsigned long long)st->unit);
		goto out_unlock;
	}
	ev.hdr.type = VIRTIO_RESOURCE_EV_RENEGOTIATE;
	ev.hdr.txn = txn;
	ev.hdr.app_id = e->app_id;
	ev.kind = e->kind;
	ev.deadline_ms = RES_RENEGOTIATE_MS;
	ev.amount = amount;
	len = rc_encode_renegotiate(r->scratch, r->scratch_len, &ev);
	if (!len || resource__queue_event(r, r->scratch, len)) {
		ret = acc_errf(err, ENOBUFS, "the guest's event queue is full");
		goto out_unlock;
	}
	u.amount = amount;
	u.timeout_ms = RES_RENEGOTIATE_MS;
	rc_table_apply(&r->table, txn, RC_EV_RENEGOTIATE, &u, clock__monotonic_ns());
	data = json_object_new_object();
	json_object_object_add(data, "txn", json_object_new_uint64(txn));
	json_object_object_add(data, "kind", json_object_new_string(rc_kind_name(e->kind)));
	json_object_object_add(data, "from", json_object_new_uint64(e->granted));
	json_object_object_add(data, "to", json_object_new_uint64(amount));
	log_info(r->vdev.log, "virtio-resource: txn %llu: the host proposes %llu instead of %llu",
		 (unsigned long long)txn, (unsigned long long)amount,
		 (unsigned long long)e->granted);
	resource__emit(r, "RENEGOTIATE", data);
out_unlock:
	pthread_mutex_unlock(&r->vdev.lock);
	return ret;
}

int resource__send_message(struct virtio_resource *r, const void *data, size_t len,
			   struct acc_err *err)
{
	struct rc_message m = { 0 };
	size_t n;
	int ret;

	if (len > RES_MAX_MESSAGE - sizeof(struct virtio_resource_message))
		return acc_errf(err, E2BIG, "a message carries at most %zu bytes",
				RES_MAX_MESSAGE - sizeof(struct virtio_resource_message));
	pthread_mutex_lock(&r->vdev.lock);
	m.hdr.type = VIRTIO_RESOURCE_EV_MESSAGE;
	m.hdr.txn = r->next_host_txn++;
	m.dest = r->guest_id;
	m.source = VIRTIO_RESOURCE_DEST_HOST;
	m.payload = data;
	m.payload_len = (uint32_t)len;
	n = rc_encode_message(r->scratch, r->scratch_len, &m);
	ret = n ? resource__queue_event(r, r->scratch, n) : -EINVAL;
	pthread_mutex_unlock(&r->vdev.lock);
	if (ret)
		return acc_errf(err, -ret, "the guest's event queue is full");
	return 0;
}

/* ---- views ---- */

static struct json_object *kind_json(const struct policy_state *st)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "max", json_object_new_uint64(st->max));
	json_object_object_add(o, "pool", json_object_new_uint64(st->pool));
	json_object_object_add(o, "granted", json_object_new_uint64(st->granted));
	json_object_object_add(o, "pending", json_object_new_uint64(st->pending));
	return o;
}

/* How often the device decided each way, over its life. */
static struct json_object *decisions_json(const struct virtio_resource *r)
{
	static const char *const keys[RES_NR_DECISIONS] = {
		[RES_D_GRANT] = "grants",     [RES_D_DENY] = "denials",	   [RES_D_OFFER] = "offers",
		[RES_D_RELEASE] = "releases", [RES_D_BUSY] = "over-limit",
	};
	struct json_object *o = json_object_new_object();

	for (unsigned int d = 0; d < RES_NR_DECISIONS; d++)
		json_object_object_add(o, keys[d], json_object_new_uint64(r->decisions[d]));
	return o;
}

struct json_object *resource__allocation_json(struct virtio_resource *r)
{
	struct json_object *o = json_object_new_object(), *mem;

	pthread_mutex_lock(&r->vdev.lock);
	mem = kind_json(&r->mem);
	json_object_object_add(mem, "reserved", json_object_new_uint64(r->memres.reserved));
	json_object_object_add(mem, "usable", json_object_new_uint64(resource__mem_usable(r)));
	json_object_object_add(mem, "granule", json_object_new_uint64(RES_GRANULE));
	json_object_object_add(mem, "reclaiming", json_object_new_boolean(r->reclaim_txn != 0));
	json_object_object_add(o, "guest-id", json_object_new_int64(r->guest_id));
	json_object_object_add(o, "generation", json_object_new_int64(r->generation));
	json_object_object_add(o, "driver", json_object_new_boolean(r->hello));
	json_object_object_add(o, "memory", mem);
	json_object_object_add(o, "vcpus", kind_json(&r->vcpu));
	json_object_object_add(o, "decisions", decisions_json(r));
	pthread_mutex_unlock(&r->vdev.lock);
	return o;
}

struct json_object *resource__requests_json(struct virtio_resource *r)
{
	struct json_object *list = json_object_new_array();
	struct rc_entry *e;
	uint32_t idx;

	pthread_mutex_lock(&r->vdev.lock);
	rc_table_expire(&r->table, clock__monotonic_ns());
	rc_table_for_each(&r->table, idx, e) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "txn", json_object_new_uint64(e->txn));
		json_object_object_add(o, "app-id", json_object_new_int64(e->app_id));
		json_object_object_add(o, "kind", json_object_new_string(rc_kind_name(e->kind)));
		json_object_object_add(o, "amount", json_object_new_uint64(e->amount));
		json_object_object_add(o, "minimum", json_object_new_uint64(e->minimum));
		json_object_object_add(o, "granted", json_object_new_uint64(e->granted));
		json_object_object_add(o, "urgency", json_object_new_int(e->urgency));
		json_object_object_add(o, "latency", json_object_new_int(e->latency));
		json_object_object_add(o, "deadline-ms", json_object_new_int64(e->deadline_ms));
		json_object_object_add(o, "state", json_object_new_string(rc_state_name(e->state)));
		json_object_object_add(o, "last-answer", json_object_new_int(e->last.type));
		json_object_array_add(list, o);
	}
	pthread_mutex_unlock(&r->vdev.lock);
	return list;
}

struct json_object *resource__stats_json(struct virtio_resource *r)
{
	struct json_object *o = json_object_new_object(), *list = json_object_new_array();

	pthread_mutex_lock(&r->vdev.lock);
	for (unsigned int i = 0; i < r->stats_count; i++) {
		const struct rc_stats *s = &r->stats[(r->stats_head + i) % RES_STATS_RING];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "timestamp-ns", json_object_new_uint64(s->timestamp_ns));
		json_object_object_add(e, "mem-total", json_object_new_uint64(s->mem_total));
		json_object_object_add(e, "mem-available",
				       json_object_new_uint64(s->mem_available));
		json_object_object_add(e, "mem-committed",
				       json_object_new_uint64(s->mem_committed));
		json_object_object_add(e, "mem-forecast", json_object_new_uint64(s->mem_forecast));
		json_object_object_add(e, "psi-mem", json_object_new_int64(s->psi_mem_milli));
		json_object_object_add(e, "psi-cpu", json_object_new_int64(s->psi_cpu_milli));
		json_object_object_add(e, "cpu-util", json_object_new_int64(s->cpu_util_milli));
		json_object_object_add(e, "runqueue", json_object_new_int64(s->runqueue_milli));
		json_object_object_add(e, "vcpu-forecast",
				       json_object_new_int64(s->vcpu_forecast_milli));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "samples", list);
	json_object_object_add(o, "dropped", json_object_new_uint64(r->stats_dropped));
	pthread_mutex_unlock(&r->vdev.lock);
	return o;
}
