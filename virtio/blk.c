// SPDX-License-Identifier: MIT
/*
 * virtio-blk's I/O: requests become io_uring operations on the image; their
 * completions arrive through an eventfd on the event loop, where they are
 * answered in the used ring.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accord/virtio_blk.h"

#define BLK_RING_ENTRIES 256

static int blk_submit(struct virtio_blk *blk, struct blk_inflight *io, uint64_t offset,
		      uint64_t len, bool unmap)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&blk->ring);
	int mode = FALLOC_FL_KEEP_SIZE;

	if (!sqe)
		return -EBUSY;
	switch (io->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, blk->fd, io->iov, io->niov, offset);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, blk->fd, io->iov, io->niov, offset);
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, blk->fd, IORING_FSYNC_DATASYNC);
		/* Cover every write submitted before it, not only completed ones. */
		sqe->flags |= IOSQE_IO_DRAIN;
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		/* Zeroing keeps the blocks unless the driver allowed unmapping. */
		if (io->op == BLK_OP_WRITE_ZEROES && blk->zero_range && !unmap)
			mode |= FALLOC_FL_ZERO_RANGE;
		else
			mode |= FALLOC_FL_PUNCH_HOLE;
		io_uring_prep_fallocate(sqe, blk->fd, mode, offset, len);
		break;
	default:
		return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, io->head);
	return 0;
}

static int blk_handle(struct virtio_dev *vdev, struct virtq_chain *chain, const char **why)
{
	struct virtio_blk *blk = vdev->priv;
	struct blk_request req;
	struct blk_inflight *io;
	int ret;

	ret = blk__decode(chain, &blk->lim, &req, why);
	if (ret)
		return ret;
	if (req.op == BLK_OP_GET_ID) {
		uint64_t off = 0;

		for (unsigned int i = 0; i < req.niov; i++) {
			memcpy(req.iov[i].iov_base, blk->serial + off, req.iov[i].iov_len);
			off += req.iov[i].iov_len;
		}
		*req.status_byte = VIRTIO_BLK_S_OK;
		return (int)req.len + 1;
	}
	if (req.op == BLK_OP_NONE) {
		*req.status_byte = req.status;
		return 1;
	}
	if (!blk->inflight || chain->head >= blk->inflight_size ||
	    blk->inflight[chain->head].busy) {
		*why = "virtio-blk chain head reused while in flight";
		return VIRTIO_REQ_BAD;
	}
	io = &blk->inflight[chain->head];
	io->head = chain->head;
	io->op = req.op;
	io->status_byte = req.status_byte;
	io->expect = req.op == BLK_OP_READ || req.op == BLK_OP_WRITE ? req.len : 0;
	io->written = 1 + (req.op == BLK_OP_READ ? (uint32_t)req.len : 0);
	io->niov = req.niov;
	memcpy(io->iov, req.iov, req.niov * sizeof(req.iov[0]));
	if (blk_submit(blk, io, req.offset, req.len, req.unmap)) {
		*req.status_byte = VIRTIO_BLK_S_IOERR;
		return 1;
	}
	io->busy = true;
	blk->nr_inflight++;
	return VIRTIO_REQ_DEFERRED;
}

static void blk_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_blk *blk = vdev->priv;
	int ret;

	virtio__process_queue(vdev, q, blk_handle);
	ret = io_uring_submit(&blk->ring);
	if (ret < 0)
		log__ratelimited(vdev->log, vdev->guest_rl, LOG_ERROR,
				 "virtio-blk %s: io_uring_submit: %s", blk->path, strerror(-ret));
}

/* Answer one finished operation; with @answer false (a reset) just forget it. */
static void blk_complete(struct virtio_blk *blk, struct io_uring_cqe *cqe, bool answer)
{
	uint64_t head = io_uring_cqe_get_data64(cqe);
	struct blk_inflight *io;
	bool ok;

	if (!blk->inflight || head >= blk->inflight_size || !blk->inflight[head].busy)
		return;
	io = &blk->inflight[head];
	io->busy = false;
	blk->nr_inflight--;
	if (!answer)
		return;
	ok = cqe->res >= 0 && (uint64_t)cqe->res == io->expect;
	if (!ok)
		log__ratelimited(blk->vdev.log, blk->vdev.guest_rl, LOG_WARN,
				 "virtio-blk %s: I/O error: %s", blk->path,
				 cqe->res < 0 ? strerror(-cqe->res) : "short transfer");
	*io->status_byte = ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	virtq__push(&blk->vdev.vqs[0], io->head, ok ? io->written : 1);
}

static void blk_on_completion(struct event_handler *h, uint32_t events)
{
	struct virtio_blk *blk = h->ctx;
	struct io_uring_cqe *cqe;
	uint64_t count;
	bool any = false;

	if (read(blk->ring_efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&blk->vdev.lock);
	while (io_uring_peek_cqe(&blk->ring, &cqe) == 0) {
		blk_complete(blk, cqe, virtio__driver_ok(&blk->vdev));
		io_uring_cqe_seen(&blk->ring, cqe);
		any = true;
	}
	if (any && virtio__driver_ok(&blk->vdev))
		virtio__queue_done(&blk->vdev, 0);
	pthread_mutex_unlock(&blk->vdev.lock);
}

static int blk_activate(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->priv;

	/* Heads are below the queue size, which virtq__start bounded by queue_max. */
	blk->inflight_size = vdev->queue_max;
	blk->inflight = calloc(blk->inflight_size, sizeof(*blk->inflight));
	return blk->inflight ? 0 : -ENOMEM;
}

/* Nothing may write guest memory after a reset: wait for what is in flight. */
static void blk_reset(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->priv;
	struct io_uring_cqe *cqe;

	while (blk->nr_inflight) {
		/* Submits anything still queued, so the wait cannot be for nothing. */
		if (io_uring_submit_and_wait(&blk->ring, 1) < 0 ||
		    io_uring_peek_cqe(&blk->ring, &cqe))
			break;
		blk_complete(blk, cqe, false);
		io_uring_cqe_seen(&blk->ring, cqe);
	}
	free(blk->inflight);
	blk->inflight = NULL;
	blk->inflight_size = 0;
}

static void blk_config_read(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	struct virtio_blk *blk = vdev->priv;

	memcpy(data, (const uint8_t *)&blk->config + offset, len);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.config_read = blk_config_read,
	.activate = blk_activate,
	.reset = blk_reset,
	.queue_notify = blk_queue_notify,
};

static int blk_open(struct virtio_blk *blk, const struct virtio_blk_opts *opts, uint64_t *size,
		    struct acc_err *err)
{
	struct flock lock = { .l_type = opts->readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;

	blk->fd = open(opts->path, (opts->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (blk->fd < 0)
		return acc_errf(err, errno, "disk '%s': %s", opts->path, strerror(errno));
	if (fstat(blk->fd, &st))
		return acc_errf(err, errno, "disk '%s': %s", opts->path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(blk->fd, BLKGETSIZE64, size))
			return acc_errf(err, errno, "disk '%s': %s", opts->path, strerror(errno));
	} else {
		return acc_errf(err, EINVAL, "disk '%s': not a regular file or block device",
				opts->path);
	}
	/* Two writers on one image corrupt it; QEMU refuses the same way. */
	if (fcntl(blk->fd, F_OFD_SETLK, &lock))
		return acc_errf(err, errno == EAGAIN || errno == EACCES ? EBUSY : errno,
				"disk '%s': in use by another process", opts->path);
	if (*size < BLK_SECTOR_SIZE)
		return acc_errf(err, EINVAL, "disk '%s': smaller than one 512-byte sector",
				opts->path);
	/* Probe hole punching and zeroing past the end, where they change nothing. */
	if (!opts->readonly) {
		blk->lim.discard = !fallocate(blk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					      (off_t)*size, 4096);
		/* Zeroing past the end preallocates there: punch it out again. */
		blk->zero_range = !fallocate(blk->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					     (off_t)*size, 4096);
		if (blk->zero_range)
			fallocate(blk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)*size,
				  4096);
		blk->lim.write_zeroes = blk->lim.discard || blk->zero_range;
	}
	return 0;
}

static void blk_fill_config(struct virtio_blk *blk, uint64_t size)
{
	struct virtio_blk_config *c = &blk->config;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(size / BLK_SECTOR_SIZE);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(BLK_SECTOR_SIZE);
	c->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
	c->max_discard_seg = htole32(1);
	c->discard_sector_alignment = htole32(1);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
	c->max_write_zeroes_seg = htole32(1);
	c->write_zeroes_may_unmap = 1;
	blk->lim.capacity = size / BLK_SECTOR_SIZE;
}

int virtio_blk__init(struct virtio_blk *blk, const struct virtio_blk_opts *opts,
		     struct event_loop *loop, const struct guest_mem *mem,
		     const struct acc_log *log, struct ratelimit *guest_rl, struct acc_err *err)
{
	uint64_t size = 0, features;
	const char *base;
	int ret;

	memset(blk, 0, sizeof(*blk));
	blk->ring_efd = -1;
	blk->loop = loop;
	snprintf(blk->path, sizeof(blk->path), "%s", opts->path);
	blk->lim.readonly = opts->readonly;
	ret = blk_open(blk, opts, &size, err);
	if (ret)
		goto close_fd;
	blk_fill_config(blk, size);
	/* The ID is at most 20 bytes, NUL-padded; not NUL-terminated when full. */
	base = opts->serial ? opts->serial : strrchr(opts->path, '/');
	base = opts->serial ? base : (base ? base + 1 : opts->path);
	memcpy(blk->serial, base, strnlen(base, sizeof(blk->serial)));

	ret = -io_uring_queue_init(BLK_RING_ENTRIES, &blk->ring, 0);
	if (ret) {
		acc_errf(err, ret, "disk '%s': io_uring: %s", opts->path, strerror(ret));
		ret = -ret;
		goto close_fd;
	}
	blk->ring_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (blk->ring_efd < 0 || io_uring_register_eventfd(&blk->ring, blk->ring_efd)) {
		ret = acc_errf(err, errno, "disk '%s': io_uring eventfd", opts->path);
		goto exit_ring;
	}
	blk->ring_handler = (struct event_handler){ blk->ring_efd, blk_on_completion, blk };
	ret = eventloop__add(loop, &blk->ring_handler, EPOLLIN);
	if (ret) {
		acc_errf(err, -ret, "disk '%s': epoll: %s", opts->path, strerror(-ret));
		goto exit_ring;
	}

	features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		   (1ull << VIRTIO_BLK_F_FLUSH);
	if (opts->readonly)
		features |= 1ull << VIRTIO_BLK_F_RO;
	if (blk->lim.discard)
		features |= 1ull << VIRTIO_BLK_F_DISCARD;
	if (blk->lim.write_zeroes)
		features |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	virtio__init(&blk->vdev, &blk_ops, blk, features, 1, BLK_QUEUE_SIZE, sizeof(blk->config),
		     mem, log, guest_rl);
	return 0;

exit_ring:
	if (blk->ring_efd >= 0)
		close(blk->ring_efd);
	io_uring_queue_exit(&blk->ring);
close_fd:
	if (blk->fd >= 0)
		close(blk->fd);
	return ret;
}

void virtio_blk__exit(struct virtio_blk *blk)
{
	pthread_mutex_lock(&blk->vdev.lock);
	blk_reset(&blk->vdev);
	pthread_mutex_unlock(&blk->vdev.lock);
	eventloop__del(blk->loop, &blk->ring_handler);
	close(blk->ring_efd);
	io_uring_queue_exit(&blk->ring);
	close(blk->fd);
	virtio__exit(&blk->vdev);
}
