/* SPDX-License-Identifier: MIT */
/*
 * A VM's connection to its host's broker (`accord run --broker PATH`): a
 * QMP client on the VM's event loop. It registers the VM before its guest
 * starts, forwards what the virtio-resource device asks or reports, hands
 * the broker's answers and moves (reclaims, promised parts, growth, other
 * VMs' messages) to the device, and reports the guest's usage. When the
 * broker goes away the device answers what waits and the link reconnects
 * every 500 ms, re-registering with what the VM holds (docs/broker.md).
 */
#ifndef ACCORD_BROKER_LINK_H
#define ACCORD_BROKER_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "accord/cli.h"
#include "accord/error.h"
#include "accord/eventloop.h"
#include "accord/log.h"
#include "accord/resource.h"

#define BROKER_LINK_RETRY_MS	500
#define BROKER_LINK_REGISTER_MS 5000 /* how long `accord run` waits to register */
#define BROKER_LINK_USAGE_MS	1000 /* usage reports at most this often */
#define BROKER_LINK_MAX_CALLS	(RES_MAX_WAITING + 16)
#define BROKER_LINK_IN_MAX	(256u << 10) /* one line from the broker */
#define BROKER_LINK_OUT_MAX	(1u << 20)   /* unsent commands before the link is dropped */

enum broker_link_state {
	BROKER_LINK_DOWN,
	BROKER_LINK_REGISTERING,
	BROKER_LINK_UP,
};

struct broker_call_rec {
	uint64_t id;			      /* 0: free */
	struct resource_broker_answer answer; /* what, seq, txn, kind, amounts of the call */
};

struct broker_link {
	struct broker_opts opts;
	char path[108];
	char name[64];
	struct event_loop *loop;
	const struct acc_log *log;
	struct ratelimit rl;
	struct virtio_resource *res;	   /* NULL until the device exists */
	struct resource_broker_state boot; /* what the VM holds before the device exists */

	enum broker_link_state state;
	bool lost;	      /* went down; the device has not heard yet */
	bool registered_once; /* later registrations resume */
	bool refused;	      /* the last registration was refused (warned once) */
	uint32_t guest_id;
	int fd;
	struct event_handler io;
	bool want_out; /* EPOLLOUT is on */
	int timer_fd;
	struct event_handler tick;
	uint64_t retry_at_ns;

	char *in;
	size_t in_len;
	char *out;
	size_t out_len;
	uint64_t next_id;
	uint64_t register_id;
	struct broker_call_rec calls[BROKER_LINK_MAX_CALLS];

	uint64_t usage_at_ns;
	struct resource_broker_state reported;
	bool reported_valid;
	char failure[256]; /* the broker's word on a refused registration */
};

/*
 * Connect and register VM @name holding @boot, waiting up to
 * BROKER_LINK_REGISTER_MS on @loop; on failure @err says why (the broker's
 * own message when it refused). The link then keeps itself up on @loop.
 */
int broker_link__start(struct broker_link *l, const struct broker_opts *opts, const char *name,
		       const struct resource_broker_state *boot, struct event_loop *loop,
		       const struct acc_log *log, struct acc_err *err);
/* What the device calls to reach the broker through @l (for its resource_opts). */
struct resource_broker_ops broker_link__ops(struct broker_link *l);
/* From now on the broker's answers and moves go to @r. */
void broker_link__attach(struct broker_link *l, struct virtio_resource *r);
void broker_link__stop(struct broker_link *l);

/* JSON view for the VM's control socket (caller owns it). */
struct json_object *broker_link__json(const struct broker_link *l);

#endif
