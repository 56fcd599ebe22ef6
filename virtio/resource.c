// SPDX-License-Identifier: MIT
/*
 * virtio-resource, host side: config space, queue dispatch, the event queue
 * (host -> guest, with a bounded backlog while the guest has no buffer
 * posted), HELLO, the hardware description, statistics and messages.
 * Negotiation lives in resource_negotiate.c, host-initiated changes and the
 * control socket's views in resource_control.c, files in resource_files.c.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accord/resource.h"
#include "accord/share.h"

#define RES_ANSWER_MIN sizeof(struct virtio_resource_error)
/* Messages and files are answered with an ACK or A_FILE: no action without room for it. */
#define RES_ACK_MIN sizeof(struct virtio_resource_ack)

uint64_t resource__mem_usable(const struct virtio_resource *r)
{
	return r->mem.max - r->memres.reserved;
}

void resource__emit(struct virtio_resource *r, const char *name, struct json_object *data)
{
	if (r->host.event)
		r->host.event(r->host.ctx, name, data);
	else
		json_object_put(data);
}

static void resource__fill_config(const struct virtio_resource *r, struct virtio_resource_config *c)
{
	memset(c, 0, sizeof(*c));
	c->version = VIRTIO_RESOURCE_VERSION;
	c->guest_id = r->guest_id;
	c->generation = r->generation;
	c->inventory_size = (uint32_t)(r->inventory_len > 0 ? r->inventory_len : 0);
	c->mem_granule = RES_GRANULE;
	c->mem_max = r->mem.max;
	c->mem_granted = r->mem.granted;
	c->mem_reserved = r->memres.reserved;
	c->vcpus_max = (uint32_t)r->vcpu.max;
	c->vcpus_granted = (uint32_t)r->vcpu.granted;
	c->max_message = RES_MAX_MESSAGE;
	c->max_outstanding = RES_MAX_OUTSTANDING;
	c->max_app_outstanding = RES_MAX_APP_OUTSTANDING;
	c->max_app_agreements = RES_MAX_APP_AGREEMENTS;
}

void resource__config(struct virtio_resource *r, struct virtio_resource_config *c)
{
	pthread_mutex_lock(&r->vdev.lock);
	resource__fill_config(r, c);
	pthread_mutex_unlock(&r->vdev.lock);
}

/* Rebuild the description for the current allocation (host byte order in, FDT out). */
static void resource__describe(struct virtio_resource *r)
{
	struct virtio_resource_config c;

	resource__fill_config(r, &c);
	r->inventory_len = r->host.describe ? r->host.describe(r->host.ctx, &c, r->inventory,
							       RES_INVENTORY_MAX)
					    : -ENOSYS;
	if (r->inventory_len < 0)
		log_err(r->vdev.log, "virtio-resource: cannot describe the hardware: %s",
			strerror((int)-r->inventory_len));
}

void resource__changed(struct virtio_resource *r, const char *why)
{
	struct rc_ev_allocation ev = { 0 };
	struct json_object *data;
	size_t len;

	r->generation++;
	resource__describe(r);
	ev.hdr.type = VIRTIO_RESOURCE_EV_ALLOCATION;
	ev.generation = r->generation;
	ev.vcpus_granted = (uint32_t)r->vcpu.granted;
	ev.mem_granted = r->mem.granted;
	len = rc_encode_ev_allocation(r->scratch, r->scratch_len, &ev);
	if (len)
		resource__queue_event(r, r->scratch, len);
	if (r->host.set_vcpus)
		r->host.set_vcpus(r->host.ctx, (unsigned int)r->vcpu.granted);
	virtio__config_changed(&r->vdev);
	data = json_object_new_object();
	json_object_object_add(data, "generation", json_object_new_int64(r->generation));
	json_object_object_add(data, "memory-granted", json_object_new_uint64(r->mem.granted));
	json_object_object_add(data, "vcpus-granted", json_object_new_uint64(r->vcpu.granted));
	json_object_object_add(data, "reason", json_object_new_string(why));
	resource__emit(r, "ALLOCATION_CHANGED", data);
}

/* ---- the event queue ---- */

/* Put one event into a posted eventq buffer; false when none is posted. */
static bool resource__post_event(struct virtio_resource *r, const uint8_t *msg, uint32_t len)
{
	struct virtq *vq = &r->vdev.vqs[VIRTIO_RESOURCE_Q_EVENT];
	struct virtq_chain chain;
	const char *why;
	int ret;

	if (!vq->desc || !virtio__driver_ok(&r->vdev))
		return false;
	ret = virtq__pop(vq, &chain, &why);
	if (ret == -ENOENT)
		return false;
	if (ret) {
		virtio__needs_reset(&r->vdev, why);
		return false;
	}
	if (chain.nr_out || chain.in_len < len) {
		/* A buffer that cannot hold an event is a driver bug. */
		virtio__needs_reset(&r->vdev, "event buffer is not writable or too small");
		return false;
	}
	virtq__write(&chain, 0, msg, len);
	virtq__push(vq, chain.head, len);
	virtio__queue_done(&r->vdev, VIRTIO_RESOURCE_Q_EVENT);
	return true;
}

void resource__deliver_events(struct virtio_resource *r)
{
	while (r->ev_count) {
		struct res_event *e = &r->events[r->ev_head];

		if (!resource__post_event(r, e->buf, e->len))
			return;
		r->ev_head = (r->ev_head + 1) % RES_MAX_EVENTS;
		r->ev_count--;
	}
}

int resource__queue_event(struct virtio_resource *r, const void *msg, size_t len)
{
	struct res_event *e;

	if (len > RES_EVENT_MAX)
		return -E2BIG;
	resource__deliver_events(r);
	if (!r->ev_count && resource__post_event(r, msg, (uint32_t)len))
		return 0;
	if (r->ev_count == RES_MAX_EVENTS) {
		log__ratelimited(
			r->vdev.log, r->vdev.guest_rl, LOG_WARN,
			"virtio-resource: the guest posts no event buffers; event dropped");
		return -ENOBUFS;
	}
	e = &r->events[(r->ev_head + r->ev_count) % RES_MAX_EVENTS];
	memcpy(e->buf, msg, len);
	e->len = (uint32_t)len;
	r->ev_count++;
	return 0;
}

/* ---- answers ---- */

size_t resource__answer_error(struct virtio_resource *r, const struct rc_hdr *req, int rc_err,
			      void *buf, size_t cap)
{
	struct rc_error e = { 0 };

	e.hdr.type = VIRTIO_RESOURCE_A_ERROR;
	e.hdr.txn = req ? req->txn : 0;
	e.hdr.app_id = req ? req->app_id : 0;
	e.hdr.status = rc_status_of(rc_err);
	e.detail = (uint32_t)-rc_err;
	log__ratelimited(r->vdev.log, r->vdev.guest_rl, LOG_INFO,
			 "virtio-resource: refused a message of type %u: %s", req ? req->type : 0,
			 rc_strerror(rc_err));
	return rc_encode_error(buf, cap, &e);
}

static int resource__hello(struct virtio_resource *r, const uint8_t *msg, size_t len, uint8_t *out,
			   size_t cap, size_t *out_len)
{
	struct rc_welcome w = { 0 };
	struct rc_hello h;
	int ret;

	ret = rc_decode_hello(msg, len, &h);
	if (!ret && h.version != VIRTIO_RESOURCE_VERSION)
		ret = RC_EVERSION;
	if (ret) {
		*out_len = resource__answer_error(r, ret == RC_EVERSION ? &h.hdr : NULL, ret, out,
						  cap);
		return 0;
	}
	r->hello = true;
	r->mem_rate = h.mem_rate ? h.mem_rate : RES_DEFAULT_MEM_RATE;
	w.hdr.type = VIRTIO_RESOURCE_A_WELCOME;
	w.hdr.txn = h.hdr.txn;
	w.hdr.app_id = h.hdr.app_id;
	w.version = VIRTIO_RESOURCE_VERSION;
	w.guest_id = r->guest_id;
	*out_len = rc_encode_welcome(out, cap, &w);
	log__ratelimited(r->vdev.log, r->vdev.guest_rl, LOG_INFO,
			 "virtio-resource: guest driver says hello (changes at most %llu MiB/s)",
			 (unsigned long long)(r->mem_rate >> 20));
	return 0;
}

static int resource__get_inventory(struct virtio_resource *r, const uint8_t *msg, size_t len,
				   uint8_t *out, size_t cap, size_t *out_len)
{
	struct rc_data d = { 0 };
	struct rc_hdr h;
	int ret;

	ret = rc_decode_bare(msg, len, &h);
	if (ret) {
		*out_len = resource__answer_error(r, NULL, ret, out, cap);
		return 0;
	}
	if (r->inventory_len < 0)
		ret = RC_ENOENT;
	else if ((size_t)r->inventory_len + sizeof(struct virtio_resource_hdr) > cap)
		ret = RC_ETOOBIG;
	if (ret) {
		*out_len = resource__answer_error(r, &h, ret, out, cap);
		return 0;
	}
	d.hdr.type = VIRTIO_RESOURCE_A_INVENTORY;
	d.hdr.txn = h.txn;
	d.data = r->inventory;
	d.data_len = (uint32_t)r->inventory_len;
	*out_len = rc_encode_data(out, cap, &d);
	return 0;
}

/*
 * One request chain: the message in the readable part, the answer into the
 * writable part. A chain without room for even an error answer is a driver bug.
 */
static int resource__handle_request(struct virtio_dev *vdev, struct virtq_chain *chain,
				    const char **why)
{
	struct virtio_resource *r = vdev->priv;
	size_t len, cap = chain->in_len < r->scratch_len ? (size_t)chain->in_len : r->scratch_len;
	size_t out_len = 0;
	uint8_t *msg;
	uint16_t type = 0;
	int ret;

	if (chain->in_len < RES_ANSWER_MIN) {
		*why = "virtio-resource request has no room for an answer";
		return VIRTIO_REQ_BAD;
	}
	len = chain->out_len < RES_MAX_MESSAGE ? (size_t)chain->out_len : RES_MAX_MESSAGE;
	msg = r->scratch + r->scratch_len; /* the message copy lives after the answer area */
	len = virtq__read(chain, 0, msg, len);
	ret = rc_peek_type(msg, len, &type);
	if (ret) {
		out_len = resource__answer_error(r, NULL, ret, r->scratch, cap);
		ret = 0; /* answered: not a reason for NEEDS_RESET */
	} else if (type == VIRTIO_RESOURCE_T_HELLO) {
		ret = resource__hello(r, msg, len, r->scratch, cap, &out_len);
	} else if (!r->hello) {
		struct rc_hdr h;

		rc_decode_hdr(msg, len, &h);
		out_len = resource__answer_error(r, &h, RC_EORDER, r->scratch, cap);
	} else if (type == VIRTIO_RESOURCE_T_GET_INVENTORY) {
		ret = resource__get_inventory(r, msg, len, r->scratch, cap, &out_len);
	} else if (cap < (type == VIRTIO_RESOURCE_T_REQUEST
				  ? sizeof(struct virtio_resource_offer)
				  : sizeof(struct virtio_resource_grant))) {
		/* Act only when the answer can be written (an OFFER is the largest). */
		struct rc_hdr h;

		rc_decode_hdr(msg, len, &h);
		out_len = resource__answer_error(r, &h, RC_ETOOBIG, r->scratch, cap);
	} else {
		ret = resource__negotiate(r, msg, len, type, r->scratch, cap, &out_len);
		if (ret == RES_PARKED) {
			resource__park(r, chain);
			return VIRTIO_REQ_DEFERRED;
		}
	}
	if (ret || !out_len) {
		*why = "virtio-resource answer does not fit the chain";
		return VIRTIO_REQ_BAD;
	}
	virtq__write(chain, 0, r->scratch, out_len);
	return (int)out_len;
}

static int resource__handle_stats(struct virtio_dev *vdev, struct virtq_chain *chain,
				  const char **why)
{
	struct virtio_resource *r = vdev->priv;
	uint8_t buf[sizeof(struct virtio_resource_stats)];
	struct rc_stats s;
	size_t len;

	len = virtq__read(chain, 0, buf, sizeof(buf));
	if (rc_decode_stats(buf, len, &s)) {
		r->stats_dropped++;
		log__ratelimited(vdev->log, vdev->guest_rl, LOG_INFO,
				 "virtio-resource: malformed statistics sample dropped");
		return 0;
	}
	r->stats[(r->stats_head + r->stats_count) % RES_STATS_RING] = s;
	if (r->stats_count < RES_STATS_RING)
		r->stats_count++;
	else
		r->stats_head = (r->stats_head + 1) % RES_STATS_RING;
	return 0;
}

static struct json_object *resource__payload_json(const uint8_t *p, uint32_t len)
{
	static const char hex[] = "0123456789abcdef";
	bool text = true;
	char *s;
	struct json_object *o;

	for (uint32_t i = 0; i < len; i++)
		text = text && p[i] >= 0x20 && p[i] < 0x7f;
	if (text)
		return json_object_new_string_len((const char *)p, (int)len);
	s = malloc(2 * (size_t)len + 1);
	if (!s)
		return NULL;
	for (uint32_t i = 0; i < len; i++) {
		s[2 * i] = hex[p[i] >> 4];
		s[2 * i + 1] = hex[p[i] & 15];
	}
	s[2 * len] = '\0';
	o = json_object_new_string(s);
	free(s);
	return o;
}

static int resource__handle_message(struct virtio_dev *vdev, struct virtq_chain *chain,
				    const char **why)
{
	struct virtio_resource *r = vdev->priv;
	uint8_t *msg = r->scratch + r->scratch_len;
	struct json_object *data;
	struct rc_message m;
	size_t len, out_len = 0;
	int ret;

	if (chain->in_len < RES_ACK_MIN) {
		*why = "virtio-resource message has no room for a status";
		return VIRTIO_REQ_BAD;
	}
	len = virtq__read(chain, 0, msg, RES_MAX_MESSAGE);
	ret = rc_decode_message(msg, len, RES_MAX_MESSAGE, &m);
	if (!ret && !virtio__has_feature(vdev, VIRTIO_RESOURCE_F_MESSAGES))
		ret = RC_EUNSUPPORTED;
	else if (!ret && !r->hello)
		ret = RC_EORDER; /* HELLO first, on every queue */
	if (!ret && m.dest == VIRTIO_RESOURCE_DEST_NAMED) {
		/* To another VM: the broker routes it, and the chain waits for its word. */
		size_t cap =
			chain->in_len < r->scratch_len ? (size_t)chain->in_len : r->scratch_len;

		if (resource__message_to_vm(r, &m, r->scratch, cap, &out_len) == RES_PARKED) {
			resource__park(r, chain);
			return VIRTIO_REQ_DEFERRED;
		}
	} else if (!ret && m.dest != VIRTIO_RESOURCE_DEST_HOST) {
		ret = RC_ENOENT; /* other VMs are addressed by name */
	}
	if (out_len) {
		/* answered above */
	} else if (ret) {
		out_len = resource__answer_error(
			r, ret == RC_ENOENT || ret == RC_EORDER ? &m.hdr : NULL, ret, r->scratch,
			chain->in_len);
	} else {
		data = json_object_new_object();
		json_object_object_add(data, "source", json_object_new_int64(r->guest_id));
		json_object_object_add(data, "txn", json_object_new_uint64(m.hdr.txn));
		json_object_object_add(data, "data",
				       resource__payload_json(m.payload, m.payload_len));
		resource__emit(r, "MESSAGE", data);
		out_len = resource__answer_ack(r, &m.hdr, r->scratch, chain->in_len);
	}
	if (!out_len) {
		*why = "virtio-resource message status does not fit the chain";
		return VIRTIO_REQ_BAD;
	}
	virtq__write(chain, 0, r->scratch, out_len);
	return (int)out_len;
}

static int resource__handle_file(struct virtio_dev *vdev, struct virtq_chain *chain,
				 const char **why)
{
	struct virtio_resource *r = vdev->priv;
	uint8_t *msg = r->scratch + r->scratch_len;
	size_t len, out_len = 0, cap;
	uint16_t type = 0;
	int ret;

	if (chain->in_len < RES_ACK_MIN) {
		*why = "virtio-resource file request has no room for an answer";
		return VIRTIO_REQ_BAD;
	}
	cap = chain->in_len < r->scratch_len ? (size_t)chain->in_len : r->scratch_len;
	len = virtq__read(chain, 0, msg, RES_MAX_MESSAGE);
	ret = rc_peek_type(msg, len, &type);
	if (!ret && !virtio__has_feature(vdev, VIRTIO_RESOURCE_F_FILES))
		ret = RC_EUNSUPPORTED;
	else if (!ret && !r->hello)
		ret = RC_EORDER; /* HELLO first, on every queue */
	if (ret)
		out_len = resource__answer_error(r, NULL, ret, r->scratch, cap);
	else
		resource__file_op(r, msg, len, type, r->scratch, cap, &out_len);
	if (!out_len) {
		*why = "virtio-resource file answer does not fit the chain";
		return VIRTIO_REQ_BAD;
	}
	virtq__write(chain, 0, r->scratch, out_len);
	return (int)out_len;
}

static void resource__queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_resource *r = vdev->priv;

	switch (q) {
	case VIRTIO_RESOURCE_Q_REQUEST:
		virtio__process_queue(vdev, q, resource__handle_request);
		break;
	case VIRTIO_RESOURCE_Q_EVENT:
		resource__deliver_events(r);
		break;
	case VIRTIO_RESOURCE_Q_STATS:
		virtio__process_queue(vdev, q, resource__handle_stats);
		break;
	case VIRTIO_RESOURCE_Q_MESSAGE:
		virtio__process_queue(vdev, q, resource__handle_message);
		break;
	case VIRTIO_RESOURCE_Q_FILE:
		virtio__process_queue(vdev, q, resource__handle_file);
		break;
	}
}

static void resource__config_read(struct virtio_dev *vdev, uint32_t offset, void *data,
				  uint32_t len)
{
	struct virtio_resource *r = vdev->priv;
	struct virtio_resource_config c;

	resource__fill_config(r, &c);
	memcpy(data, (const uint8_t *)&c + offset, len);
}

static int resource__activate(struct virtio_dev *vdev)
{
	struct virtio_resource *r = vdev->priv;

	/* Events raised before the driver was ready go out as soon as it posts buffers. */
	resource__deliver_events(r);
	return 0;
}

static void resource__reset(struct virtio_dev *vdev)
{
	struct virtio_resource *r = vdev->priv;

	/*
	 * A new driver starts over with fresh transaction ids. The allocation
	 * stays; the reservations do not: the driver that held them is gone and
	 * its balloon pages went back to the guest's kernel, so the next driver
	 * reserves from scratch (as at boot) down to the grant.
	 */
	r->hello = false;
	memres__clear(&r->memres);
	r->ev_head = r->ev_count = 0;
	resource__unpark_all(r);
	resource__forget_agreements(r);
	if (r->share)
		share__close_all(r->share);
}

static const struct virtio_dev_ops resource_ops = {
	.name = "virtio-resource",
	.device_id = VIRTIO_ID_RESOURCE,
	.config_read = resource__config_read,
	.activate = resource__activate,
	.reset = resource__reset,
	.queue_notify = resource__queue_notify,
};

int virtio_resource__init(struct virtio_resource *r, const struct resource_opts *opts,
			  const struct resource_host_ops *host, const struct guest_mem *mem,
			  const struct acc_log *log, struct ratelimit *guest_rl,
			  struct acc_err *err)
{
	uint64_t features = (1ull << VIRTIO_RESOURCE_F_MEMORY) | (1ull << VIRTIO_RESOURCE_F_VCPU) |
			    (1ull << VIRTIO_RESOURCE_F_STATS) |
			    (1ull << VIRTIO_RESOURCE_F_MESSAGES);
	int ret;

	memset(r, 0, sizeof(*r));
	r->host = *host;
	r->guest_id = opts->guest_id;
	r->mem = (struct policy_state){ opts->mem_max,
					opts->mem_pool ? opts->mem_pool : opts->mem_max,
					opts->mem_granted, 0, RES_GRANULE };
	r->vcpu = (struct policy_state){ opts->vcpus_max,
					 opts->vcpus_pool ? opts->vcpus_pool : opts->vcpus_max,
					 opts->vcpus_granted, 0, 1 };
	r->mem_rate = RES_DEFAULT_MEM_RATE;
	r->next_offer_id = 1;
	r->next_host_txn = RES_HOST_TXN | 1;
	r->share = opts->share;
	if (r->share)
		features |= 1ull << VIRTIO_RESOURCE_F_FILES;
	if (rc_table_init(&r->table, r->entries, RES_TABLE_SIZE))
		return acc_errf(err, EINVAL, "virtio-resource: agreement table");
	ret = memres__init(&r->memres, mem, RES_GRANULE);
	if (ret)
		return acc_errf(err, -ret, "virtio-resource: reservations: %s", strerror(-ret));
	ratelimit__init(&r->decision_rl, RES_DECISION_LOG_MS, RES_DECISION_LOG_BURST);
	if (opts->broker) {
		r->broker = *opts->broker;
		for (unsigned int i = 0; i < RES_MAX_WAITING; i++) {
			r->waiting[i].chain = malloc(sizeof(*r->waiting[i].chain));
			if (!r->waiting[i].chain) {
				ret = acc_errf(err, ENOMEM, "virtio-resource: out of memory");
				goto free_buffers;
			}
		}
	}
	r->events = calloc(RES_MAX_EVENTS, sizeof(*r->events));
	r->stats = calloc(RES_STATS_RING, sizeof(*r->stats));
	r->inventory = malloc(RES_INVENTORY_MAX);
	if (r->share && !(r->file_buf = malloc(VIRTIO_RESOURCE_MAX_READ))) {
		ret = acc_errf(err, ENOMEM, "virtio-resource: out of memory");
		goto free_buffers;
	}
	/* Answers (up to an inventory) and, after them, the incoming message. */
	r->scratch_len = RES_INVENTORY_MAX + sizeof(struct virtio_resource_hdr);
	r->scratch = malloc(r->scratch_len + RES_MAX_MESSAGE);
	if (!r->events || !r->stats || !r->inventory || !r->scratch) {
		ret = acc_errf(err, ENOMEM, "virtio-resource: out of memory");
		goto free_buffers;
	}
	virtio__init(&r->vdev, &resource_ops, r, features, VIRTIO_RESOURCE_NR_QUEUES,
		     VIRTQ_MAX_SIZE, sizeof(struct virtio_resource_config), mem, log, guest_rl);
	resource__describe(r);
	if (r->inventory_len < 0) {
		ret = acc_errf(err, (int)-r->inventory_len,
			       "virtio-resource: cannot describe the host's hardware");
		goto exit_virtio;
	}
	return 0;

exit_virtio:
	virtio__exit(&r->vdev);
free_buffers:
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++)
		free(r->waiting[i].chain);
	free(r->file_buf);
	free(r->scratch);
	free(r->inventory);
	free(r->stats);
	free(r->events);
	ratelimit__destroy(&r->decision_rl);
	memres__exit(&r->memres);
	return ret;
}

/* The decisions of the device's life in one line: the log lines of a flood are partly suppressed.
 */
static void resource__log_decisions(struct virtio_resource *r)
{
	const uint64_t *n = r->decisions;

	if (!n[RES_D_GRANT] && !n[RES_D_DENY] && !n[RES_D_OFFER] && !n[RES_D_RELEASE] &&
	    !n[RES_D_BUSY])
		return;
	log_info(r->vdev.log,
		 "virtio-resource: decisions: %llu grants, %llu denials, %llu offers, "
		 "%llu releases, %llu requests over a limit",
		 (unsigned long long)n[RES_D_GRANT], (unsigned long long)n[RES_D_DENY],
		 (unsigned long long)n[RES_D_OFFER], (unsigned long long)n[RES_D_RELEASE],
		 (unsigned long long)n[RES_D_BUSY]);
}

void virtio_resource__exit(struct virtio_resource *r)
{
	resource__log_decisions(r);
	virtio__exit(&r->vdev);
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++)
		free(r->waiting[i].chain);
	free(r->file_buf);
	free(r->scratch);
	free(r->inventory);
	free(r->stats);
	free(r->events);
	ratelimit__destroy(&r->decision_rl);
	memres__exit(&r->memres);
}
