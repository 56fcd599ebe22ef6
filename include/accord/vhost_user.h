/* SPDX-License-Identifier: MIT */
/*
 * The device side of vhost-user (QEMU's docs/interop/vhost-user.rst): one
 * accord virtio device served on a Unix socket to a front end, here User-mode
 * Linux's virtio_uml. The front end owns the driver and the memory; it
 * passes its memory as files (SET_MEM_TABLE), describes each ring, and hands
 * over an eventfd per queue for notifications (kick) and a file for
 * interrupts (call). Config changes go back on the backend channel
 * (SET_BACKEND_REQ_FD). The device code is the same as under virtio-pci.
 *
 * vhost-user has no status register: SET_FEATURES stands for FEATURES_OK,
 * the first enabled ring for DRIVER_OK, and disabling every ring for the
 * driver going away (a reset). Every message is checked; a front end that
 * breaks the protocol is answered with an error or disconnected.
 */
#ifndef ACCORD_VHOST_USER_H
#define ACCORD_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "accord/eventloop.h"
#include "accord/guest_mem.h"
#include "accord/log.h"
#include "accord/virtio.h"

/* Wire values (vhost-user.rst). */
#define VHOST_USER_VERSION	       0x1
#define VHOST_USER_VERSION_MASK	       0x3
#define VHOST_USER_FLAG_REPLY	       (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY     (1u << 3)
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VHOST_USER_VRING_INDEX_MASK    0xffu
#define VHOST_USER_VRING_NOFD_MASK     (1u << 8)

#define VHOST_USER_PROTOCOL_F_MQ	  0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK	  3
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ 5
#define VHOST_USER_PROTOCOL_F_CONFIG	  9

enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
};

#define VHOST_USER_BACKEND_CONFIG_CHANGE_MSG 2

#define VHOST_USER_MAX_FDS     8
#define VHOST_USER_CONFIG_MAX  256 /* config bytes in one GET/SET_CONFIG */
#define VHOST_USER_PAYLOAD_MAX 512 /* larger than any request accord takes */

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
} __attribute__((packed));

struct vhost_user_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
} __attribute__((packed));

struct vhost_user_mem_table {
	uint32_t num;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MAX_FDS];
} __attribute__((packed));

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VHOST_USER_CONFIG_MAX];
} __attribute__((packed));

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union {
		uint64_t u64;
		struct vhost_user_vring_state state;
		struct vhost_user_vring_addr addr;
		struct vhost_user_mem_table mem;
		struct vhost_user_config config;
		uint8_t bytes[VHOST_USER_PAYLOAD_MAX];
	};
} __attribute__((packed));

struct vhost_user;

struct vhost_user_vring {
	struct event_handler kick; /* fd -1: none */
	struct vhost_user *vu;
	unsigned int index;
	int call_fd;
	int err_fd;
	bool has_base;
	uint16_t base;
};

/* One mapping of a front end's memory file. */
struct vhost_user_map {
	void *addr;
	size_t len;
	int fd;
	uint64_t user_addr; /* the front end's address of the region's first byte */
};

struct vhost_user_env {
	struct event_loop *loop;
	const struct acc_log *log;
	struct ratelimit *guest_rl;
};

struct vhost_user {
	struct virtio_dev *vdev;
	struct vhost_user_env env;
	struct guest_mem mem; /* what the device reads and writes */
	struct vhost_user_map maps[GUEST_MEM_MAX_REGIONS];
	struct sockaddr_un addr;
	struct event_handler listener;
	struct event_handler conn; /* fd -1: no front end */
	int backend_fd;		   /* backend-initiated channel, -1: none */
	uint64_t protocol_features;
	bool has_protocol_features; /* the front end acked VHOST_USER_F_PROTOCOL_FEATURES */
	bool needs_drop;	    /* the device raised NEEDS_RESET: drop the front end */
	struct vhost_user_vring vrings[VIRTIO_MAX_QUEUES];
	unsigned long messages;
	unsigned long connections;
};

/*
 * Set up @vu's memory before the device exists, so the device can be
 * created with vhost_user__mem(@vu): front-end regions may lie below @span.
 */
void vhost_user__prepare(struct vhost_user *vu, uint64_t span);
static inline struct guest_mem *vhost_user__mem(struct vhost_user *vu)
{
	return &vu->mem;
}
/* Serve @vdev on a new socket at @path (which must not exist yet). */
int vhost_user__init(struct vhost_user *vu, struct virtio_dev *vdev, const char *path,
		     const struct vhost_user_env *env, struct acc_err *err);
/* Drop the front end, stop the device, unmap its memory, remove the socket. */
void vhost_user__exit(struct vhost_user *vu);
/* Take @fd as the front end's connection (a socketpair end in tests). */
int vhost_user__attach(struct vhost_user *vu, int fd);
/* Is @fd an eventfd (what a kick file must be)? */
bool vhost_user__is_eventfd(int fd);
/* Handle the next message from the front end: 0, or -errno after which it was dropped. */
int vhost_user__handle_one(struct vhost_user *vu);

#endif
