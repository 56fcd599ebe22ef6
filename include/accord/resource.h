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

#define RES_GRANULE	     (2ull << 20)
#define RES_MAX_MESSAGE	     4096u
#define RES_MAX_OUTSTANDING  64u
#define RES_TABLE_SIZE	     128u
#define RES_MAX_OFFERS	     16u
#define RES_MAX_DEFERRED     16u
#define RES_MAX_EVENTS	     64u
#define RES_EVENT_MAX	     (RES_MAX_MESSAGE + 64u)
#define RES_STATS_RING	     256u
#define RES_INVENTORY_MAX    (256u << 10) /* the largest hardware description */
#define RES_OFFER_EXPIRES_MS 10000u
#define RES_DEFAULT_MEM_RATE (1ull << 30) /* bytes/s, until the guest says */
#define RES_MIN_RECLAIM_MS   1000u
#define RES_RENEGOTIATE_MS   10000u /* how long the guest has to answer the host */
/* Host-opened transactions have the top bit set, so they never meet the guest's. */
#define RES_HOST_TXN (1ull << 63)

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
	struct share *share; /* NULL: no file queue */
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
/* A device reset: offers, promises and the agreement table go with the old driver. */
void resource__forget_agreements(struct virtio_resource *r);
/* Deliver promised REST_LATER parts the host now has room for. */
void resource__satisfy_deferred(struct virtio_resource *r);
void resource__shrink_agreements(struct virtio_resource *r, uint16_t kind, uint64_t amount,
				 bool reclaim);
/* Close the open reclaim once the guest uses no more than its grant. */
void resource__check_reclaim_done(struct virtio_resource *r);

#endif
