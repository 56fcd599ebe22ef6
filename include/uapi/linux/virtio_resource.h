/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-resource: the wire ABI of accord's resource negotiation device,
 * shared by the VMM, its vhost-user backend, the probe guest and the Linux
 * driver. docs/protocol.md describes every message and the rules the host
 * enforces.
 *
 * Copyright (c) 2026 The accord developers
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are
 * met: 1. Redistributions of source code must retain the above copyright
 * notice, this list of conditions and the following disclaimer. 2.
 * Redistributions in binary form must reproduce the above copyright notice,
 * this list of conditions and the following disclaimer in the documentation
 * and/or other materials provided with the distribution. 3. Neither the name
 * of the copyright holder nor the names of its contributors may be used to
 * endorse or promote products derived from this software without specific
 * prior written permission. THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT
 * HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES ARE
 * DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE
 * LIABLE FOR ANY DAMAGES ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE.
 */
#ifndef _UAPI_LINUX_VIRTIO_RESOURCE_H
#define _UAPI_LINUX_VIRTIO_RESOURCE_H

#include <linux/types.h>

/* No standard ID exists; counted down from 63, below crosvm's 61-63. */
#define VIRTIO_ID_RESOURCE		57
#define VIRTIO_RESOURCE_VERSION		1

/* Feature bits. */
#define VIRTIO_RESOURCE_F_MEMORY	0 /* memory requests, reservations, reclaim */
#define VIRTIO_RESOURCE_F_VCPU		1 /* vCPU requests; ungranted vCPUs are parked */
#define VIRTIO_RESOURCE_F_STATS		2 /* the statistics queue */
#define VIRTIO_RESOURCE_F_MESSAGES	3 /* the message queue and message events */
#define VIRTIO_RESOURCE_F_FILES		4 /* the file queue (a host directory, read-only) */

/* Queues, each with one direction. */
#define VIRTIO_RESOURCE_Q_REQUEST	0 /* guest -> host; the answer is written back in the chain */
#define VIRTIO_RESOURCE_Q_EVENT		1 /* host -> guest; the driver keeps writable buffers posted */
#define VIRTIO_RESOURCE_Q_STATS		2 /* guest -> host; samples, no answer */
#define VIRTIO_RESOURCE_Q_MESSAGE	3 /* guest -> host messages; status written back */
#define VIRTIO_RESOURCE_Q_FILE		4 /* guest -> host file operations; answer written back */
#define VIRTIO_RESOURCE_NR_QUEUES	5

struct virtio_resource_config {
	__le32 version;		/* VIRTIO_RESOURCE_VERSION */
	__le32 guest_id;	/* this VM's id at the host */
	__le32 generation;	/* of the hardware description; a change raises a config interrupt */
	__le32 inventory_size;	/* bytes of the description (a flattened device tree) */
	__le64 mem_granule;	/* reservations are whole, aligned granules of this size */
	__le64 mem_max;		/* guest RAM that exists (bytes) */
	__le64 mem_granted;	/* guest RAM the guest may use (bytes) */
	__le64 mem_reserved;	/* guest RAM the guest has handed back (bytes) */
	__le32 vcpus_max;	/* vCPUs that exist */
	__le32 vcpus_granted;	/* vCPUs the guest may run */
	__le32 max_message;	/* largest message, header included */
	__le32 max_outstanding;	/* open transactions the host keeps per guest */
	__le32 max_app_outstanding; /* ... of them for one application (hdr.app_id) */
	__le32 max_app_agreements;  /* agreements one application keeps, open or granted */
};

/* Message types. */
enum virtio_resource_type {
	/* requestq: guest -> host */
	VIRTIO_RESOURCE_T_HELLO		= 1,
	VIRTIO_RESOURCE_T_GET_INVENTORY	= 2,
	VIRTIO_RESOURCE_T_REQUEST	= 3,
	VIRTIO_RESOURCE_T_ACCEPT	= 4,
	VIRTIO_RESOURCE_T_DECLINE	= 5,
	VIRTIO_RESOURCE_T_RELEASE	= 6,
	VIRTIO_RESOURCE_T_RESERVE	= 7,
	VIRTIO_RESOURCE_T_UNRESERVE	= 8,
	VIRTIO_RESOURCE_T_RENEGOTIATE	= 9,
	/* eventq: host -> guest */
	VIRTIO_RESOURCE_EV_INVENTORY	= 32,
	VIRTIO_RESOURCE_EV_ALLOCATION	= 33,
	VIRTIO_RESOURCE_EV_RECLAIM	= 34,
	VIRTIO_RESOURCE_EV_GRANT	= 35,
	VIRTIO_RESOURCE_EV_OFFER	= 36,
	VIRTIO_RESOURCE_EV_RENEGOTIATE	= 37,
	VIRTIO_RESOURCE_EV_MESSAGE	= 38,
	/* answers, written back in the guest's chain */
	VIRTIO_RESOURCE_A_WELCOME	= 64,
	VIRTIO_RESOURCE_A_ACK		= 65,
	VIRTIO_RESOURCE_A_GRANT		= 66,
	VIRTIO_RESOURCE_A_DENY		= 67,
	VIRTIO_RESOURCE_A_OFFER		= 68,
	VIRTIO_RESOURCE_A_ERROR		= 69,
	VIRTIO_RESOURCE_A_INVENTORY	= 70,
	VIRTIO_RESOURCE_A_FILE		= 71,
	VIRTIO_RESOURCE_A_DATA		= 72,
	/* statsq */
	VIRTIO_RESOURCE_T_STATS		= 96,
	/* messageq */
	VIRTIO_RESOURCE_T_MESSAGE	= 112,
	/* fileq */
	VIRTIO_RESOURCE_T_FILE_OPEN	= 128,
	VIRTIO_RESOURCE_T_FILE_READ	= 129,
	VIRTIO_RESOURCE_T_FILE_STAT	= 130,
	VIRTIO_RESOURCE_T_FILE_CLOSE	= 131,
};

/* hdr.status in answers. */
enum virtio_resource_status {
	VIRTIO_RESOURCE_S_OK		= 0,
	VIRTIO_RESOURCE_S_MALFORMED	= 1, /* lengths, fields or ranges are wrong */
	VIRTIO_RESOURCE_S_ORDER		= 2, /* not allowed in the transaction's state */
	VIRTIO_RESOURCE_S_UNSUPPORTED	= 3, /* type or kind not offered */
	VIRTIO_RESOURCE_S_NOENT		= 4, /* no such file */
	VIRTIO_RESOURCE_S_FORBIDDEN	= 5, /* path outside the share */
	VIRTIO_RESOURCE_S_TOO_BIG	= 6,
	VIRTIO_RESOURCE_S_BUSY		= 7, /* too many open transactions or files */
	VIRTIO_RESOURCE_S_IO		= 8,
	VIRTIO_RESOURCE_S_RANGE		= 9, /* amount or address outside what is allowed */
};

/* Resource kinds. */
enum virtio_resource_kind {
	VIRTIO_RESOURCE_K_MEMORY	= 1, /* bytes */
	VIRTIO_RESOURCE_K_VCPU		= 2, /* vCPUs */
	VIRTIO_RESOURCE_K_IO_BANDWIDTH	= 3, /* bytes per second (reserved for later) */
};

enum virtio_resource_urgency {
	VIRTIO_RESOURCE_U_LOW		= 0,
	VIRTIO_RESOURCE_U_NORMAL	= 1,
	VIRTIO_RESOURCE_U_HIGH		= 2,
	VIRTIO_RESOURCE_U_CRITICAL	= 3, /* the guest fails without it */
};

enum virtio_resource_latency {
	VIRTIO_RESOURCE_L_BATCH		= 0,
	VIRTIO_RESOURCE_L_INTERACTIVE	= 1,
	VIRTIO_RESOURCE_L_REALTIME	= 2,
};

enum virtio_resource_deny_reason {
	VIRTIO_RESOURCE_D_ABOVE_MAX	= 1, /* more than the VM's maximum */
	VIRTIO_RESOURCE_D_HOST_LIMIT	= 2, /* the host has no more to give */
	VIRTIO_RESOURCE_D_POLICY	= 3, /* the host's policy refuses it */
	VIRTIO_RESOURCE_D_RATE		= 4, /* asked again too soon */
	VIRTIO_RESOURCE_D_UNSUPPORTED	= 5, /* kind not negotiable here */
};

enum virtio_resource_alt_type {
	VIRTIO_RESOURCE_ALT_PART_NOW	= 1, /* this much now */
	VIRTIO_RESOURCE_ALT_REST_LATER	= 2, /* this much after delay_ms, as an EV_GRANT */
	VIRTIO_RESOURCE_ALT_OTHER_KIND	= 3, /* a different resource instead */
	VIRTIO_RESOURCE_ALT_MIGRATE	= 4, /* a move to another host that has it */
};

/*
 * Every message starts with this header. Fields named reserved, flags and
 * unused offer slots must be 0; a receiver refuses the message otherwise.
 * T_GET_INVENTORY is a header alone; A_INVENTORY is a header followed by
 * the flattened device tree (hdr.len - 24 bytes).
 */
struct virtio_resource_hdr {
	__le16 type;
	__le16 flags;	/* none defined; must be 0 */
	__le32 len;	/* bytes of the whole message, header included */
	__le64 txn;	/* transaction id, chosen by the side that opens it */
	__le32 app_id;	/* 0: the driver itself; otherwise the requesting application */
	__le32 status;	/* answers: enum virtio_resource_status; requests: 0 */
};

struct virtio_resource_hello {
	struct virtio_resource_hdr hdr;
	__le32 version;		/* the driver's protocol version */
	__le32 reserved;
	__le64 mem_rate;	/* fastest the guest changes its reservation (bytes/s) */
};

struct virtio_resource_welcome {
	struct virtio_resource_hdr hdr;
	__le32 version;		/* the version both use */
	__le32 guest_id;
};

struct virtio_resource_request {
	struct virtio_resource_hdr hdr;
	__le16 kind;
	__u8 urgency;
	__u8 latency;
	__le32 deadline_ms;	/* an answer later than this is useless (0: none) */
	__le64 amount;		/* wanted, on top of the current allocation */
	__le64 minimum;		/* the least that helps */
	__le64 projected;	/* the forecast demand behind the request */
	__le32 duration_ms;	/* how long it is needed (0: indefinitely) */
	__le32 reserved;
};

/* RENEGOTIATE (guest) and EV_RENEGOTIATE (host): change a granted agreement. */
struct virtio_resource_renegotiate {
	struct virtio_resource_hdr hdr; /* txn: the agreement */
	__le16 kind;
	__le16 reserved;
	__le32 deadline_ms;
	__le64 amount;		/* the agreement's proposed new amount */
};

/*
 * A_GRANT and EV_GRANT. amount is the agreement's amount after this grant
 * (for a new request, what was granted; after a renegotiation or a
 * REST_LATER delivery, the new total of that agreement).
 */
struct virtio_resource_grant {
	struct virtio_resource_hdr hdr;
	__le16 kind;
	__le16 reserved;
	__le32 lease_ms;	/* 0: until released or reclaimed */
	__le64 amount;		/* the agreement's amount now */
	__le64 allocation;	/* the guest's total of this kind now */
};

struct virtio_resource_deny {
	struct virtio_resource_hdr hdr;
	__le16 kind;
	__le16 reason;		/* enum virtio_resource_deny_reason */
	__le32 retry_after_ms;
	__le64 allocation;
};

struct virtio_resource_alternative {
	__le16 kind;
	__le16 type;		/* enum virtio_resource_alt_type */
	__le32 delay_ms;
	__le64 amount;
};

#define VIRTIO_RESOURCE_MAX_ALTERNATIVES 4

struct virtio_resource_offer {
	struct virtio_resource_hdr hdr;
	__le32 offer_id;
	__le32 expires_ms;	/* the offer lapses after this */
	__le32 nr_alternatives;
	__le32 reserved;
	struct virtio_resource_alternative alt[VIRTIO_RESOURCE_MAX_ALTERNATIVES];
};

/* ACCEPT picks alternatives by bit (e.g. PART_NOW and REST_LATER together). */
struct virtio_resource_accept {
	struct virtio_resource_hdr hdr; /* txn: the request that was offered */
	__le32 offer_id;
	__le32 choices;		/* bit i: alternative i */
};

struct virtio_resource_decline {
	struct virtio_resource_hdr hdr;
	__le32 offer_id;
	__le32 reserved;
};

struct virtio_resource_release {
	struct virtio_resource_hdr hdr; /* txn: the agreement, or 0 for the allocation */
	__le16 kind;
	__le16 reserved;
	__le32 reserved2;
	__le64 amount;
};

/* A guest-physical range, in whole granules. */
struct virtio_resource_range {
	__le64 addr;
	__le64 len;
};

#define VIRTIO_RESOURCE_MAX_RANGES 64

/* RESERVE: pages the guest stopped using; UNRESERVE: pages it takes back. */
struct virtio_resource_ranges {
	struct virtio_resource_hdr hdr; /* txn: a reclaim being answered, or 0 */
	__le32 nr_ranges;
	__le32 reserved;
	struct virtio_resource_range range[];
};

struct virtio_resource_ack {
	struct virtio_resource_hdr hdr;
	__le64 mem_granted;
	__le64 mem_reserved;
	__le32 vcpus_granted;
	__le32 reserved;
};

struct virtio_resource_error {
	struct virtio_resource_hdr hdr;
	__le32 detail;		/* which field was wrong (implementation-defined) */
	__le32 reserved;
};

/* EV_INVENTORY and EV_ALLOCATION. */
struct virtio_resource_ev_allocation {
	struct virtio_resource_hdr hdr;
	__le32 generation;
	__le32 vcpus_granted;
	__le64 mem_granted;
};

struct virtio_resource_ev_reclaim {
	struct virtio_resource_hdr hdr; /* txn: the host's reclaim transaction */
	__le16 kind;
	__le16 reserved;
	__le32 deadline_ms;	/* at least amount / the guest's advertised rate */
	__le64 amount;		/* to hand back */
	__le64 target;		/* the allocation afterwards */
};

struct virtio_resource_stats {
	struct virtio_resource_hdr hdr;
	__le64 timestamp_ns;	/* guest monotonic clock */
	__le64 mem_total;
	__le64 mem_available;
	__le64 mem_committed;
	__le64 mem_forecast;	/* the estimator's demand a horizon ahead */
	__le32 psi_mem_milli;	/* memory stall, some avg10, in 0.1% units */
	__le32 psi_cpu_milli;
	__le32 cpu_util_milli;	/* busy share of the granted vCPUs, in 0.1% units */
	__le32 runqueue_milli;	/* runnable tasks per vCPU x 1000 */
	__le32 vcpu_forecast_milli;
	__le32 reserved;
};

#define VIRTIO_RESOURCE_DEST_HOST 0
/*
 * T_MESSAGE to another VM, by name, through the host's broker: the payload
 * starts with the VM's name and a NUL. An EV_MESSAGE whose source is not
 * DEST_HOST came from another VM and starts with that VM's name and a NUL.
 */
#define VIRTIO_RESOURCE_DEST_NAMED 0xffffffffu
#define VIRTIO_RESOURCE_MAX_NAME   64 /* a VM name, NUL included */

/* T_MESSAGE (guest -> host) and EV_MESSAGE (host -> guest). */
struct virtio_resource_message {
	struct virtio_resource_hdr hdr;
	__le32 dest;		/* VIRTIO_RESOURCE_DEST_HOST, or a VM id via the broker */
	__le32 source;		/* filled in by the host */
	__u8 payload[];		/* hdr.len - sizeof(this) bytes */
};

struct virtio_resource_file_open {
	struct virtio_resource_hdr hdr;
	__le32 flags;		/* none defined; must be 0 */
	__le32 path_len;	/* bytes of path, without a NUL */
	char path[];		/* relative to the share */
};

struct virtio_resource_file_op {
	struct virtio_resource_hdr hdr; /* READ, STAT, CLOSE */
	__le32 handle;
	__le32 len;		/* READ: bytes wanted */
	__le64 offset;		/* READ */
};

struct virtio_resource_file {
	struct virtio_resource_hdr hdr; /* A_FILE: answers OPEN and STAT */
	__le32 handle;
	__le32 mode;		/* file type and permission bits */
	__le64 size;
	__le64 mtime_ns;
};

/* A_DATA answers READ: hdr.len - sizeof(struct virtio_resource_hdr) bytes follow. */

#define VIRTIO_RESOURCE_MAX_READ	65536
#define VIRTIO_RESOURCE_MAX_PATH	1024

#ifdef __KERNEL__
#include <linux/build_bug.h>
#define VIRTIO_RESOURCE_ASSERT_SIZE(t, n) static_assert(sizeof(t) == (n), #t)
#else
#define VIRTIO_RESOURCE_ASSERT_SIZE(t, n) _Static_assert(sizeof(t) == (n), #t)
#endif
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_config, 72);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_hdr, 24);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_hello, 40);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_welcome, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_request, 64);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_renegotiate, 40);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_grant, 48);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_deny, 40);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_alternative, 16);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_offer, 104);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_accept, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_decline, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_release, 40);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_range, 16);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_ranges, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_ack, 48);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_error, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_ev_allocation, 40);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_ev_reclaim, 48);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_stats, 88);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_message, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_file_open, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_file_op, 40);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_file, 48);

#endif /* _UAPI_LINUX_VIRTIO_RESOURCE_H */
