/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.x §5.2) on a raw image file or block device, with the
 * I/O done through io_uring on the event-loop thread. Request decoding is a
 * pure function so that hostile requests can be unit-tested.
 */
#ifndef ACCORD_VIRTIO_BLK_H
#define ACCORD_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <liburing.h>
#include <linux/virtio_blk.h>

#include "accord/error.h"
#include "accord/eventloop.h"
#include "accord/virtio.h"

#define BLK_SECTOR_SIZE		512u
#define BLK_QUEUE_SIZE		256u
#define BLK_SEG_MAX		(BLK_QUEUE_SIZE - 2)
#define BLK_MAX_DISCARD_SECTORS 0x3fffffu

enum blk_op {
	BLK_OP_NONE, /* answered at once with the decoded status */
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
	BLK_OP_GET_ID,
	BLK_OP_DISCARD,
	BLK_OP_WRITE_ZEROES,
};

/* What a request asks for, after every check. */
struct blk_request {
	enum blk_op op;
	uint8_t status; /* for BLK_OP_NONE */
	uint8_t *status_byte;
	uint64_t offset; /* bytes into the image */
	uint64_t len;	 /* bytes of data (read, write) or of the range (discard, zeroes) */
	bool unmap;	 /* write zeroes may deallocate */
	unsigned int niov;
	struct iovec iov[VIRTQ_CHAIN_MAX];
};

struct blk_limits {
	uint64_t capacity; /* sectors */
	bool readonly;
	bool discard;
	bool write_zeroes;
};

/*
 * Decode @chain. Returns 0 with @req filled (op NONE carries the status to
 * answer with), or VIRTIO_REQ_BAD when there is no status byte to answer in.
 */
int blk__decode(const struct virtq_chain *chain, const struct blk_limits *lim,
		struct blk_request *req, const char **why);

struct blk_inflight {
	uint16_t head;
	bool busy;
	enum blk_op op;
	uint8_t *status_byte;
	uint64_t expect;  /* bytes the operation must transfer */
	uint32_t written; /* for the used ring on success */
	unsigned int niov;
	struct iovec iov[VIRTQ_CHAIN_MAX];
};

struct virtio_blk_opts {
	const char *path;
	bool readonly;
	const char *serial; /* NULL: derived from the file name */
};

struct virtio_blk {
	struct virtio_dev vdev;
	struct virtio_blk_config config;
	struct blk_limits lim;
	int fd;
	bool zero_range; /* FALLOC_FL_ZERO_RANGE works (else holes are punched) */
	char serial[VIRTIO_BLK_ID_BYTES];
	char path[256];
	struct io_uring ring;
	int ring_efd;
	struct event_handler ring_handler;
	struct event_loop *loop;
	unsigned int nr_inflight;
	struct blk_inflight *inflight; /* one slot per descriptor head, while active */
	uint16_t inflight_size;
};

int virtio_blk__init(struct virtio_blk *blk, const struct virtio_blk_opts *opts,
		     struct event_loop *loop, const struct guest_mem *mem,
		     const struct acc_log *log, struct ratelimit *guest_rl, struct acc_err *err);
void virtio_blk__exit(struct virtio_blk *blk);

#endif
