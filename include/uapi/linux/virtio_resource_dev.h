/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-resource device node: the ABI between applications and the Linux
 * driver virtio_resource.ko (guest/linux/vres_cdev.c), on /dev/virtio-resource
 * (further devices: /dev/virtio-resource1, 2, ...). The wire protocol behind
 * it is include/uapi/linux/virtio_resource.h and docs/protocol.md.
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
 *
 * Rules for every ioctl:
 *
 *  - Each struct starts with its own size: userspace sets it to
 *    sizeof(struct ...) (-EINVAL otherwise). Fields marked "in" are
 *    checked (unknown flags, reserved fields that are not 0 and values out
 *    of range: -EINVAL); fields marked "out" are ignored on input and
 *    written by the driver. Buffers are __u64 user addresses.
 *  - Every open file is an application with its own id (app_id, sent to
 *    the host in each of its requests). The node is for the machine's
 *    owner (mode 0600 unless udev says otherwise): any open file may
 *    accept, decline, release or query any request by its id.
 *  - After the device goes away (unbind, reset, module removal is refused
 *    while the node is open) every call on an open file fails with -ENODEV.
 *
 * Requests (REQUEST) ask the host for memory (bytes) or vCPUs. Each one is
 * recorded in the driver's request table (TABLE; debugfs
 * virtio_resource/<device>/requests) with the caller's pid and comm, its
 * parameters, its state and the last answer. Its id is its transaction id
 * at the host. A blocking call returns when the host answered (0 for
 * GRANT, DENY and OFFER alike: answer.state says which) or fails with the
 * answer filled in (-EPROTO, -EBUSY...). A non-blocking call (flag
 * VIRTIO_RESOURCE_DEV_F_NONBLOCK or O_NONBLOCK on the file) returns 0 at
 * once with answer.id and state PENDING; the answer then arrives as a
 * read() record on the same file (poll() says POLLIN). A blocking call that
 * times out (-ETIMEDOUT) or is interrupted (-EINTR) still has answer.id set
 * and turns into a non-blocking one. ACCEPT, DECLINE and RELEASE work the
 * same way.
 *
 * An OFFER (A_OFFER: part_now available now, rest_later after
 * rest_delay_ms) stands for offer_expires_ms; ACCEPT or DECLINE it, or it
 * lapses (state EXPIRED). Agreements outlive the file that asked for them
 * unless requested with VIRTIO_RESOURCE_DEV_F_RELEASE_ON_CLOSE; releasing
 * memory needs the driver to have handed the pages back first (the host
 * answers ORDER otherwise: -EBUSY).
 *
 * read() returns one record (struct virtio_resource_dev_event) per call:
 * the answer to a non-blocking call of this file, a later grant of one of
 * its agreements (EV_GRANT, a REST_LATER part), or a message from the host.
 * Messages are kept per device (at most 64, the oldest dropped) and a read
 * takes one: with several readers each gets some. A buffer smaller than the
 * next record: -EINVAL. write() sends its bytes to the host as one message.
 *
 * Files (FILE_OPEN/READ/STAT/CLOSE) read the host's shared directory; the
 * handles belong to the open file and are closed with it.
 */
#ifndef _UAPI_LINUX_VIRTIO_RESOURCE_DEV_H
#define _UAPI_LINUX_VIRTIO_RESOURCE_DEV_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/virtio_resource.h>

#define VIRTIO_RESOURCE_DEV_NAME	"virtio-resource"
#define VIRTIO_RESOURCE_DEV_VERSION	1

/* Flags of a request and of ACCEPT, DECLINE and RELEASE. */
#define VIRTIO_RESOURCE_DEV_F_NONBLOCK		(1U << 0) /* answer: a read() record */
#define VIRTIO_RESOURCE_DEV_F_RELEASE_ON_CLOSE	(1U << 1) /* REQUEST: released on close */
#define VIRTIO_RESOURCE_DEV_F_ACCEPT_OFFER	(1U << 2) /* REQUEST: accept offers whole */

/* The state of a request. */
enum virtio_resource_dev_state {
	VIRTIO_RESOURCE_DEV_S_PENDING		= 1, /* queued, or sent and not answered */
	VIRTIO_RESOURCE_DEV_S_GRANTED		= 2,
	VIRTIO_RESOURCE_DEV_S_DENIED		= 3,
	VIRTIO_RESOURCE_DEV_S_OFFERED		= 4, /* waits for ACCEPT or DECLINE */
	VIRTIO_RESOURCE_DEV_S_ACCEPTED		= 5, /* granted through an accepted offer */
	VIRTIO_RESOURCE_DEV_S_DECLINED		= 6,
	VIRTIO_RESOURCE_DEV_S_RELEASED		= 7,
	VIRTIO_RESOURCE_DEV_S_EXPIRED		= 8, /* an offer lapsed */
	VIRTIO_RESOURCE_DEV_S_RECLAIMED		= 9, /* the host took it back */
	VIRTIO_RESOURCE_DEV_S_RENEGOTIATING	= 10,
	VIRTIO_RESOURCE_DEV_S_FAILED		= 11, /* A_ERROR or no answer: error says why */
};

/* The outcome of a request or of the last call about it. */
struct virtio_resource_dev_answer {
	__u64 id;		/* the request (its transaction id) */
	__u32 state;		/* enum virtio_resource_dev_state */
	__s32 error;		/* 0, or a negative errno: why the call failed */
	__u16 type;		/* the last answer: VIRTIO_RESOURCE_A_*, _EV_GRANT; 0: none */
	__u16 reason;		/* A_DENY: enum virtio_resource_deny_reason */
	__u32 status;		/* A_ERROR: enum virtio_resource_status */
	__u32 retry_after_ms;	/* A_DENY: 0 means asking again will not help */
	__u32 lease_ms;		/* A_GRANT: 0 until released or reclaimed */
	__u64 granted;		/* the agreement's amount now */
	__u64 allocation;	/* the guest's total of the kind, per the last answer */
	__u32 offer_id;		/* OFFERED: the host's offer */
	__u32 offer_expires_ms;
	__u64 part_now;		/* OFFERED: what is there now */
	__u64 rest_later;	/* OFFERED: what comes later (0: nothing) */
	__u32 rest_delay_ms;
	__u16 alternatives;	/* OFFERED: how many the offer has (ACCEPT's choices) */
	__u16 kind;		/* the request's VIRTIO_RESOURCE_K_* */
};

/* VIRTIO_RESOURCE_DEV_IOC_REQUEST */
struct virtio_resource_dev_request {
	__u32 size;		/* in */
	__u32 flags;		/* in: VIRTIO_RESOURCE_DEV_F_* */
	__u16 kind;		/* in: VIRTIO_RESOURCE_K_MEMORY (bytes) or _K_VCPU */
	__u8 urgency;		/* in: enum virtio_resource_urgency */
	__u8 latency;		/* in: enum virtio_resource_latency */
	__u32 deadline_ms;	/* in: an answer later than this is useless (0: none) */
	__u64 amount;		/* in: wanted on top of the allocation, > 0 */
	__u64 minimum;		/* in: the least that helps, <= amount */
	__u64 projected;	/* in: forecast demand (0: the grant now + amount) */
	__u32 duration_ms;	/* in: how long it is needed (0: indefinitely) */
	__u32 timeout_ms;	/* in: blocking: longest wait (0: 30 s; at most 600000) */
	struct virtio_resource_dev_answer answer; /* out */
};

/* ACCEPT, DECLINE, RELEASE and QUERY of the request id. */
struct virtio_resource_dev_op {
	__u32 size;		/* in */
	__u32 flags;		/* in: VIRTIO_RESOURCE_DEV_F_NONBLOCK (QUERY: 0) */
	__u64 id;		/* in */
	__u64 amount;		/* in: RELEASE: how much (0: all of it); others 0 */
	__u32 choices;		/* in: ACCEPT: bit i picks alternative i (0: all); others 0 */
	__u32 timeout_ms;	/* in: as in a request */
	struct virtio_resource_dev_answer answer; /* out */
};

/* One row of the request table. */
struct virtio_resource_dev_entry {
	__u32 app_id;		/* the open file that asked */
	__u32 pid;		/* its process (thread group) id, in the initial namespace */
	char comm[16];		/* its command name, NUL-terminated */
	__u16 kind;
	__u8 urgency;
	__u8 latency;
	__u32 flags;		/* the request's VIRTIO_RESOURCE_DEV_F_* */
	__u32 deadline_ms;
	__u32 duration_ms;
	__u64 amount;
	__u64 minimum;
	__u64 projected;
	__u64 created_ns;	/* CLOCK_MONOTONIC */
	__u64 answered_ns;	/* the host's first answer (0: none yet) */
	__u64 updated_ns;	/* the last change */
	__u32 open;		/* 1 while the application has the node open */
	__u32 busy;		/* 1 while a call about it is queued or with the host */
	struct virtio_resource_dev_answer answer;
};

/* VIRTIO_RESOURCE_DEV_IOC_TABLE: the request table, oldest first. */
struct virtio_resource_dev_table {
	__u32 size;		/* in */
	__u32 entry_size;	/* in: sizeof(struct virtio_resource_dev_entry) */
	__u32 count;		/* in: room at entries; out: rows written */
	__u32 total;		/* out: rows in the table */
	__u64 entries;		/* in: user address of count rows */
	__u64 now_ns;		/* out: CLOCK_MONOTONIC when the table was read */
	__u32 capacity;		/* out: the most rows the table keeps */
	__u32 reserved;		/* in: 0 */
};

/* VIRTIO_RESOURCE_DEV_IOC_INFO: the device, the allocation and the host. */
struct virtio_resource_dev_info {
	__u32 size;		/* in */
	__u32 app_id;		/* out: this open file's */
	char device[16];	/* out: the virtio device ("virtio0") */
	__u64 features;		/* out: negotiated feature bits */
	__u32 guest_id;		/* out: the configuration space, as last read */
	__u32 generation;
	__u64 mem_granule;
	__u64 mem_max;
	__u64 mem_granted;
	__u64 mem_reserved;
	__u32 vcpus_max;
	__u32 vcpus_granted;
	__u32 max_message;
	__u32 max_outstanding;
	__u32 inventory_valid;	/* out: 1 when the fields below are known */
	__u32 host_cpus;	/* out: the hardware description */
	__u32 host_cpus_online;
	__u32 host_pci_devices;
	__u64 host_mem_total;
	__u32 agreements;	/* out: transactions in the driver's agreement table */
	__u32 requests;		/* out: rows in the request table */
	__u32 messages;		/* out: host messages waiting to be read */
	__u32 messages_dropped;	/* out: host messages dropped, the queue being full */
	__u32 needs_reset;	/* out: the device needs a reset */
	__u32 reserved;		/* in: 0 */
};

/*
 * VIRTIO_RESOURCE_DEV_IOC_SEND: a message (T_MESSAGE) to the host, or with
 * dest VIRTIO_RESOURCE_DEST_NAMED to another VM through the host's broker:
 * the payload then starts with that VM's name and a NUL. -ENOENT: no VM of
 * that name; -EAGAIN: its queue is full or the broker is away.
 */
struct virtio_resource_dev_message {
	__u32 size;		/* in */
	__u32 dest;		/* in: VIRTIO_RESOURCE_DEST_HOST or _NAMED */
	__u32 len;		/* in: payload bytes, 1..max_message - 32 */
	__u32 flags;		/* in: 0 */
	__u64 data;		/* in: user address of the payload */
	__u64 txn;		/* out: the message's transaction id */
};

#define VIRTIO_RESOURCE_DEV_MAX_PAYLOAD	4064 /* 4096 - sizeof(struct virtio_resource_message) */

/* FILE_OPEN, FILE_READ, FILE_STAT, FILE_CLOSE: the host's shared directory. */
struct virtio_resource_dev_file {
	__u32 size;		/* in */
	__u32 handle;		/* OPEN: out; others: in */
	__u32 flags;		/* in: 0 */
	__u32 len;		/* OPEN: path bytes, 1..1024 (no NUL); READ: in: bytes */
				/* wanted, 1..65536; out: read (0: end of file) */
	__u64 offset;		/* in: READ: where (offset + len < 2^63) */
	__u64 buf;		/* in: OPEN: the path; READ: where the data goes */
	__u32 mode;		/* out: OPEN, STAT: file type and permission bits */
	__u32 reserved;		/* in: 0 */
	__u64 file_size;	/* out: OPEN, STAT */
	__u64 mtime_ns;		/* out: OPEN, STAT */
};

#define VIRTIO_RESOURCE_DEV_MAX_FILES	16 /* open per file of the node */

/* read() records. */
#define VIRTIO_RESOURCE_DEV_EV_ANSWER	1 /* answer: a call's outcome or an EV_GRANT */
#define VIRTIO_RESOURCE_DEV_EV_MESSAGE	2 /* message, then message.len bytes of payload */

struct virtio_resource_dev_event {
	__u32 size;		/* bytes of the record, payload included */
	__u16 type;		/* VIRTIO_RESOURCE_DEV_EV_* */
	__u16 reserved;
	__u64 time_ns;		/* CLOCK_MONOTONIC when it happened */
	union {
		struct virtio_resource_dev_answer answer;
		struct {
			__u64 txn;	/* the host's transaction */
			__u32 source;	/* 0: the host */
			__u32 len;	/* payload bytes after the record's 96 */
		} message;
	};
};

#define VIRTIO_RESOURCE_DEV_EVENT_MAX \
	(sizeof(struct virtio_resource_dev_event) + VIRTIO_RESOURCE_DEV_MAX_PAYLOAD)

#define VIRTIO_RESOURCE_DEV_IOC_MAGIC	0xBA
#define VIRTIO_RESOURCE_DEV_IOC_INFO \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x00, struct virtio_resource_dev_info)
#define VIRTIO_RESOURCE_DEV_IOC_REQUEST \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x01, struct virtio_resource_dev_request)
#define VIRTIO_RESOURCE_DEV_IOC_ACCEPT \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x02, struct virtio_resource_dev_op)
#define VIRTIO_RESOURCE_DEV_IOC_DECLINE \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x03, struct virtio_resource_dev_op)
#define VIRTIO_RESOURCE_DEV_IOC_RELEASE \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x04, struct virtio_resource_dev_op)
#define VIRTIO_RESOURCE_DEV_IOC_QUERY \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x05, struct virtio_resource_dev_op)
#define VIRTIO_RESOURCE_DEV_IOC_TABLE \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x06, struct virtio_resource_dev_table)
#define VIRTIO_RESOURCE_DEV_IOC_SEND \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x07, struct virtio_resource_dev_message)
#define VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x08, struct virtio_resource_dev_file)
#define VIRTIO_RESOURCE_DEV_IOC_FILE_READ \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x09, struct virtio_resource_dev_file)
#define VIRTIO_RESOURCE_DEV_IOC_FILE_STAT \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x0a, struct virtio_resource_dev_file)
#define VIRTIO_RESOURCE_DEV_IOC_FILE_CLOSE \
	_IOWR(VIRTIO_RESOURCE_DEV_IOC_MAGIC, 0x0b, struct virtio_resource_dev_file)

VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_answer, 80);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_request, 128);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_op, 112);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_entry, 176);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_table, 40);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_info, 136);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_message, 32);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_file, 56);
VIRTIO_RESOURCE_ASSERT_SIZE(struct virtio_resource_dev_event, 96);

#endif /* _UAPI_LINUX_VIRTIO_RESOURCE_DEV_H */
