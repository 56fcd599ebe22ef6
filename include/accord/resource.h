/* SPDX-License-Identifier: MIT */
/*
 * The virtio-resource device, host side: the guest's allocation of memory
 * and vCPUs, its open agreements, reservations with their real effect on
 * host memory, host-initiated changes, statistics, messages and files. The
 * wire format is include/uapi/linux/virtio_resource.h; docs/protocol.md
 * describes the rules enforced here.
 */
#ifndef ACCORD_RESOURCE_H
#define ACCORD_RESOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_resource.h>

#include "rc_agreement.h"
#include "rc_codec.h"
#include "accord/clock.h"
#include "accord/memres.h"
#include "accord/policy.h"
#include "accord/virtio.h"

struct json_object;
struct share;

#define RES_GRANULE	    (2ull << 20)
#define RES_MAX_MESSAGE	    4096u
#define RES_MAX_OUTSTANDING 64u
/* One application cannot take the guest's share of the table alone. */
#define RES_MAX_APP_OUTSTANDING 8u
#define RES_MAX_APP_AGREEMENTS	64u
#define RES_TABLE_SIZE		128u
#define RES_MAX_OFFERS		16u
#define RES_MAX_DEFERRED	16u
#define RES_MAX_EVENTS		64u
#define RES_EVENT_MAX		(RES_MAX_MESSAGE + 64u)
#define RES_STATS_RING		256u
#define RES_INVENTORY_MAX	(256u << 10) /* the largest hardware description */
#define RES_OFFER_EXPIRES_MS	10000u
#define RES_DEFAULT_MEM_RATE	(1ull << 30) /* bytes/s, until the guest says */
#define RES_MIN_RECLAIM_MS	1000u
#define RES_RENEGOTIATE_MS	10000u /* how long the guest has to answer the host */
/* Host-opened transactions have the top bit set, so they never meet the guest's. */
#define RES_HOST_TXN	       (1ull << 63)
#define RES_MAX_WAITING	       16u   /* calls waiting for the broker's answer */
#define RES_NO_BROKER_RETRY_MS 1000u /* a guest asking while the broker is away */
#define RES_PARKED	       1     /* resource__negotiate: the answer comes from the broker */
/* Decision log lines: a guest can trigger them at will, so at most this many per window. */
#define RES_DECISION_LOG_MS    5000u
#define RES_DECISION_LOG_BURST 20u

/* What the device decided or refused, counted for query-allocation and the exit summary. */
enum res_decision {
	RES_D_GRANT,
	RES_D_DENY,
	RES_D_OFFER,
	RES_D_RELEASE,
	RES_D_BUSY, /* a request over a limit of §6.13 */
	RES_NR_DECISIONS
};

/* What the device asks of the machine around it. */
struct resource_host_ops {
	/* Run vCPUs 0..granted-1 and park the rest. */
	void (*set_vcpus)(void *ctx, unsigned int granted);
	/* Write the hardware description for @r's allocation; returns bytes or -errno. */
	long (*describe)(void *ctx, const struct virtio_resource_config *cfg, void *buf,
			 size_t cap);
	/* A control-socket event (takes ownership of @data). */
	void (*event)(void *ctx, const char *name, struct json_object *data);
	void *ctx;
};

/*
 * Broker mode: what the device asks of the broker or tells it. Calls that
 * await an answer (REQUEST, ACCEPT, MESSAGE) park the guest's chain until
 * resource__broker_answer; the others are reports.
 */
enum res_call {
	RES_CALL_REQUEST, /* txn, kind, amount on top, minimum, urgency */
	RES_CALL_ACCEPT,  /* txn, kind, amount now, later */
	RES_CALL_MESSAGE, /* txn, to, data, len */
	RES_CALL_DECLINE, /* txn, kind: an offer is declined or lapsed */
	RES_CALL_RELEASE, /* txn (0: none), kind, amount given back */
	RES_CALL_CANCEL,  /* txn, kind: a promise ended with its agreement */
};

struct resource_broker_call {
	enum res_call what;
	uint64_t seq; /* awaited calls: the device's number for it, echoed in the answer */
	uint64_t txn;
	uint16_t kind;
	uint8_t urgency;
	uint64_t amount;
	uint64_t minimum;
	uint64_t later;
	const char *to;
	const void *data;
	size_t len;
};

struct resource_broker_ops {
	/*
	 * Called with the device lock held; must not call back into the
	 * device. 0: sent (an awaited call's answer comes later); -ENOTCONN:
	 * no broker now; another -errno: could not be sent.
	 */
	int (*call)(void *ctx, const struct resource_broker_call *call);
	void *ctx;
};

/* The broker's answer to an awaited call. */
struct resource_broker_answer {
	enum res_call what;
	uint64_t seq; /* the call's */
	uint64_t txn;
	uint16_t kind;
	uint64_t amount;	  /* ACCEPT: the part now the call asked for */
	uint64_t later;		  /* ACCEPT */
	int error;		  /* 0, or an RC_E* code: the broker refused the call */
	struct policy_decision d; /* RES_CALL_REQUEST */
};

/* What the VM tells the broker about itself (registration, reports). */
struct resource_broker_state {
	uint64_t mem_max, mem_granted, mem_returning, mem_used, mem_forecast;
	unsigned int vcpus_max, vcpus_granted, vcpus_used, vcpus_forecast;
	bool driver;
	bool have_usage; /* the guest sent statistics */
};

struct res_waiting {
	bool used;
	uint64_t seq;
	bool parked; /* the chain is held (false: still being handled) */
	enum res_call what;
	uint16_t queue;
	struct rc_hdr hdr; /* the guest's message: txn and app-id for the answer */
	uint16_t kind;
	uint64_t amount; /* REQUEST: asked; RENEGOTIATE: the new amount; ACCEPT: now */
	uint64_t later;	 /* ACCEPT */
	uint32_t offer_id;
	bool renegotiate; /* a REQUEST for a granted agreement's growth */
	struct virtq_chain *chain;
};

struct res_offer {
	uint64_t txn; /* 0: free slot */
	struct rc_offer offer;
};

struct res_deferred {
	uint64_t txn; /* 0: free slot */
	uint16_t kind;
	uint64_t amount;
};

struct res_event {
	uint32_t len;
	uint8_t buf[RES_EVENT_MAX];
};

struct res_message {
	uint32_t source;
	uint32_t len;
	uint8_t data[RES_MAX_MESSAGE];
};

struct resource_opts {
	uint32_t guest_id;
	uint64_t mem_max;
	uint64_t mem_granted;
	uint64_t mem_pool;
	unsigned int vcpus_max;
	unsigned int vcpus_granted;
	unsigned int vcpus_pool;
	struct share *share;			  /* NULL: no file queue */
	const struct resource_broker_ops *broker; /* NULL: the local policy decides */
};

struct virtio_resource {
	struct virtio_dev vdev;
	struct resource_host_ops host;

	/* All below is guarded by vdev.lock. */
	uint32_t guest_id;
	uint32_t generation;
	bool hello;
	uint64_t mem_rate;
	struct policy_state mem;
	struct policy_state vcpu;
	struct mem_reservations memres;
	uint64_t reclaim_txn; /* the open memory reclaim, 0: none */
	uint64_t reclaim_target;

	struct rc_table table;
	struct rc_entry entries[RES_TABLE_SIZE];
	struct res_offer offers[RES_MAX_OFFERS];
	struct res_deferred deferred[RES_MAX_DEFERRED];
	uint32_t next_offer_id;
	uint64_t next_host_txn;

	struct resource_broker_ops broker; /* call NULL: no broker */
	struct res_waiting waiting[RES_MAX_WAITING];
	struct res_waiting *parking; /* the slot the chain being handled goes to */
	uint64_t next_call_seq;

	uint64_t decisions[RES_NR_DECISIONS];
	struct ratelimit decision_rl;

	struct res_event *events; /* ring of events waiting for an eventq buffer */
	unsigned int ev_head, ev_count;

	struct rc_stats *stats; /* ring of the latest samples */
	unsigned int stats_head, stats_count;
	uint64_t stats_dropped;

	struct share *share;
	uint8_t *file_buf;  /* VIRTIO_RESOURCE_MAX_READ bytes, with a share */
	uint8_t *inventory; /* the description of the current generation */
	long inventory_len;
	uint8_t *scratch; /* answers are built here before going into the chain */
	size_t scratch_len;
};

int virtio_resource__init(struct virtio_resource *r, const struct resource_opts *opts,
			  const struct resource_host_ops *host, const struct guest_mem *mem,
			  const struct acc_log *log, struct ratelimit *guest_rl,
			  struct acc_err *err);
void virtio_resource__exit(struct virtio_resource *r);

/* Host-initiated changes (control socket). Lock held by the caller? No: these lock. */
int resource__set_allocation(struct virtio_resource *r, const uint64_t *mem,
			     const unsigned int *vcpus, struct acc_err *err);
int resource__reclaim(struct virtio_resource *r, uint64_t mem, struct acc_err *err);
/* Propose a new amount for a granted agreement (EV_RENEGOTIATE). */
int resource__renegotiate(struct virtio_resource *r, uint64_t txn, uint64_t amount,
			  struct acc_err *err);
int resource__send_message(struct virtio_resource *r, const void *data, size_t len,
			   struct acc_err *err);
/* The config space as the guest would read it now (host byte order). */
void resource__config(struct virtio_resource *r, struct virtio_resource_config *c);
/* JSON views for the control socket (caller owns the result). */
struct json_object *resource__allocation_json(struct virtio_resource *r);
struct json_object *resource__requests_json(struct virtio_resource *r);
struct json_object *resource__stats_json(struct virtio_resource *r);

/*
 * Broker mode (virtio/resource_broker.c), from the VM's event loop; these
 * lock. An answer or a delivery the device can no longer use is given back
 * to the broker by the device itself.
 */
void resource__broker_answer(struct virtio_resource *r, const struct resource_broker_answer *a);
/* A promised part arrives (VM_DELIVER). */
void resource__broker_deliver(struct virtio_resource *r, uint64_t txn, uint16_t kind,
			      uint64_t amount);
/* The broker changes the allocation by @amount (VM_RECLAIM, VM_EXPAND). */
int resource__broker_change(struct virtio_resource *r, uint16_t kind, bool grow, uint64_t amount,
			    struct acc_err *err);
/* Another VM's message (VM_MESSAGE): 0 delivered, -ENOBUFS full, -EOPNOTSUPP refused. */
int resource__broker_message(struct virtio_resource *r, uint32_t from_id, const char *from,
			     const void *data, size_t len);
/* The broker went away: waiting calls are answered, offers and promises lapse. */
void resource__broker_lost(struct virtio_resource *r);
void resource__broker_state(struct virtio_resource *r, struct resource_broker_state *s);

/* Internal to virtio/resource*.c, with vdev.lock held. */
/* The allocation state of @kind (NULL: a kind this device does not negotiate). */
struct policy_state *resource__kind_state(struct virtio_resource *r, uint16_t kind);
/* A denial the guest may retry in RES_NO_BROKER_RETRY_MS (no broker, or its refusal). */
void resource__retry_decision(struct policy_decision *d, const char *why);
/* Send @c to the broker; -ENOTCONN when there is none now. */
int resource__broker_call(struct virtio_resource *r, const struct resource_broker_call *c);
/*
 * Send awaited call @c and keep @w in a waiting slot for its answer; false
 * (nothing sent) when the slots are taken or there is no broker now.
 */
bool resource__ask_broker(struct virtio_resource *r, const struct res_waiting *w,
			  const struct resource_broker_call *c);
/* Lapse an offer or a promise without telling anyone (the broker forgot it already). */
void resource__forget_offer(struct virtio_resource *r, uint64_t txn);
/* Park @chain in the slot resource__wait_slot gave (VIRTIO_REQ_DEFERRED follows). */
void resource__park(struct virtio_resource *r, const struct virtq_chain *chain);
/* Drop every waiting call without answering (a reset: the rings are gone). */
void resource__unpark_all(struct virtio_resource *r);
/* The decision for a request, applied: GRANT, DENY or OFFER; returns the answer's length. */
size_t resource__decided(struct virtio_resource *r, const struct rc_hdr *h, uint16_t kind,
			 uint64_t asked, const struct policy_decision *d, uint8_t *out, size_t cap);
size_t resource__accepted(struct virtio_resource *r, const struct res_waiting *w, uint8_t *out,
			  size_t cap);
size_t resource__renegotiated(struct virtio_resource *r, const struct rc_hdr *h, uint16_t kind,
			      uint64_t want, const struct policy_decision *d, uint8_t *out,
			      size_t cap);
size_t resource__answer_ack(struct virtio_resource *r, const struct rc_hdr *h, uint8_t *out,
			    size_t cap);
/* Broker mode, the message queue: a message to a VM by name (RES_PARKED or answered). */
int resource__message_to_vm(struct virtio_resource *r, const struct rc_message *m, uint8_t *out,
			    size_t cap, size_t *out_len);
int resource__start_reclaim(struct virtio_resource *r, uint64_t target);

/* Internal to virtio/resource*.c, with vdev.lock held. */
void resource__changed(struct virtio_resource *r, const char *why);
int resource__queue_event(struct virtio_resource *r, const void *msg, size_t len);
void resource__deliver_events(struct virtio_resource *r);
void resource__emit(struct virtio_resource *r, const char *name, struct json_object *data);
size_t resource__answer_error(struct virtio_resource *r, const struct rc_hdr *req, int rc_err,
			      void *buf, size_t cap);
int resource__negotiate(struct virtio_resource *r, const uint8_t *msg, size_t len, uint16_t type,
			uint8_t *out, size_t cap, size_t *out_len);
int resource__file_op(struct virtio_resource *r, const uint8_t *msg, size_t len, uint16_t type,
		      uint8_t *out, size_t cap, size_t *out_len);
uint64_t resource__mem_usable(const struct virtio_resource *r);
/* A device reset: open offers lapse and give back what they held. */
void resource__drop_offers(struct virtio_resource *r);
/* Promises (accepted REST_LATER parts) end unkept. */
void resource__drop_promises(struct virtio_resource *r);
/* A device reset: offers, promises and the agreement table go with the old driver. */
void resource__forget_agreements(struct virtio_resource *r);
/* Deliver promised REST_LATER parts the host now has room for. */
void resource__satisfy_deferred(struct virtio_resource *r);
void resource__shrink_agreements(struct virtio_resource *r, uint16_t kind, uint64_t amount,
				 bool reclaim);
/* Close the open reclaim once the guest uses no more than its grant. */
void resource__check_reclaim_done(struct virtio_resource *r);

#endif
