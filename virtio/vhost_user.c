// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "accord/vhost_user.h"

/* A front end that stops halfway through a message is dropped after this. */
#define VHOST_USER_IO_TIMEOUT_MS 2000

#define VHOST_USER_PROTOCOL_FEATURES                                                      \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG))

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The front end broke the protocol: say so (rate-limited) and give an error. */
static int vu_bad(struct vhost_user *vu, const char *what)
{
	log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN, "%s: vhost-user: %s",
			 vu->vdev->ops->name, what);
	return -EINVAL;
}

/* --- the transport: interrupts out of the device --- */

static void vu_queue_interrupt(void *ctx, unsigned int q)
{
	struct vhost_user *vu = ctx;
	uint64_t one = 1;
	int fd = q < VIRTIO_MAX_QUEUES ? vu->vrings[q].call_fd : -1;

	ssize_t n;

	if (fd < 0)
		return;
	/*
	 * virtio_uml's call "pipe" is a socketpair: never block on it (the device
	 * lock is held) nor die of SIGPIPE; an eventfd takes a plain write.
	 */
	n = send(fd, &one, sizeof(one), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && errno == ENOTSOCK)
		n = write(fd, &one, sizeof(one));
	/* A full buffer already holds an interrupt the front end has not read. */
	if (n < 0 && errno != EAGAIN)
		log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN,
				 "%s: vhost-user: call of queue %u: %s", vu->vdev->ops->name, q,
				 strerror(errno));
}

static void vu_config_interrupt(void *ctx)
{
	struct vhost_user *vu = ctx;
	struct vhost_user_hdr hdr = { VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, VHOST_USER_VERSION, 0 };

	/* virtio__needs_reset ends here too: drop the front end later, not under the lock. */
	if (vu->vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		vu->needs_drop = true;
	if (vu->backend_fd < 0 || !(vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)))
		return;
	/* Never wait for the front end here: the device lock is held. */
	if (send(vu->backend_fd, &hdr, sizeof(hdr), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(hdr))
		log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN,
				 "%s: vhost-user: config change not delivered: %s",
				 vu->vdev->ops->name, strerror(errno));
}

static void vu_renotify(void *ctx, unsigned int q)
{
	struct vhost_user *vu = ctx;
	uint64_t one = 1;

	if (q < VIRTIO_MAX_QUEUES && vu->vrings[q].kick.fd >= 0 &&
	    write(vu->vrings[q].kick.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN,
				 "%s: vhost-user: renotify: %s", vu->vdev->ops->name,
				 strerror(errno));
}

static const struct virtio_transport_ops vu_transport_ops = {
	.queue_interrupt = vu_queue_interrupt,
	.config_interrupt = vu_config_interrupt,
	.renotify = vu_renotify,
};

/* --- notifications into the device --- */

static void vu_check_needs_reset(struct vhost_user *vu);

static void vu_on_kick(struct event_handler *h, uint32_t events)
{
	struct vhost_user_vring *vr = h->ctx;
	uint64_t count;
	ssize_t n = read(h->fd, &count, sizeof(count));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != sizeof(count)) {
		/* Not an eventfd after all, or gone: stop polling it rather than spin. */
		eventloop__del(vr->vu->env.loop, h);
		return;
	}
	virtio__notify(vr->vu->vdev, vr->index);
	/* Only when the device raised NEEDS_RESET: no second lock per notification. */
	if (vr->vu->needs_drop)
		vu_check_needs_reset(vr->vu);
}

/* Only an eventfd makes sense as a kick file (and cannot stall a read). */
bool vhost_user__is_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}

static void vu_stop_kick(struct vhost_user *vu, struct vhost_user_vring *vr)
{
	if (vr->kick.fd < 0)
		return;
	eventloop__del(vu->env.loop, &vr->kick);
	close_fd(&vr->kick.fd);
}

static void vu_vring_clear(struct vhost_user *vu, struct vhost_user_vring *vr)
{
	vu_stop_kick(vu, vr);
	close_fd(&vr->call_fd);
	close_fd(&vr->err_fd);
	vr->has_base = false;
}

/* --- memory --- */

static void vu_unmap_memory(struct vhost_user *vu)
{
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		struct vhost_user_map *map = &vu->maps[i];

		if (map->addr)
			munmap(map->addr, map->len);
		close_fd(&map->fd);
		map->addr = NULL;
	}
	guest_mem__clear_regions(&vu->mem);
}

/* Front-end address -> guest-physical, for ring addresses (VRING_ADDR). */
static int vu_user_to_gpa(const struct vhost_user *vu, uint64_t user, uint64_t *gpa)
{
	for (unsigned int i = 0; i < vu->mem.nr_regions; i++) {
		const struct guest_mem_region *r = &vu->mem.regions[i];
		uint64_t start = vu->maps[i].user_addr;

		if (user >= start && user - start < r->size) {
			*gpa = r->gpa + (user - start);
			return 0;
		}
	}
	return -EFAULT;
}

static bool vu_rings_running(const struct vhost_user *vu)
{
	for (unsigned int i = 0; i < vu->vdev->nr_queues; i++) {
		if (vu->vdev->vqs[i].desc)
			return true;
	}
	return false;
}

static int vu_set_mem_table(struct vhost_user *vu, const struct vhost_user_msg *msg, int *fds,
			    unsigned int nr_fds)
{
	const struct vhost_user_mem_table *t = &msg->mem;
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	/* virtio_uml always sends room for two regions, whatever num says. */
	if (msg->hdr.size < offsetof(struct vhost_user_mem_table, regions) || !t->num ||
	    t->num > GUEST_MEM_MAX_REGIONS ||
	    msg->hdr.size < offsetof(struct vhost_user_mem_table, regions) +
				    t->num * sizeof(struct vhost_user_mem_region))
		return vu_bad(vu, "SET_MEM_TABLE: bad region count or size");
	if (nr_fds != t->num)
		return vu_bad(vu, "SET_MEM_TABLE: one file per region expected");
	/* Rings in use point into the old mappings. */
	if (vu_rings_running(vu)) {
		virtio__needs_reset(vu->vdev, "memory table replaced under running rings");
		return -EBUSY;
	}
	vu_unmap_memory(vu);
	for (unsigned int i = 0; i < t->num; i++) {
		const struct vhost_user_mem_region *reg = &t->regions[i];
		uint64_t skew = reg->mmap_offset % (uint64_t)page;
		struct vhost_user_map *map = &vu->maps[i];
		void *addr;

		struct stat st;

		if (!reg->size || reg->size > SIZE_MAX - skew || reg->mmap_offset > INT64_MAX ||
		    reg->user_addr + reg->size < reg->user_addr) {
			ret = vu_bad(vu, "SET_MEM_TABLE: region size or offset out of range");
			goto unmap;
		}
		/* Past the end of its file a region would be SIGBUS at the first access. */
		if (fstat(fds[i], &st) || !S_ISREG(st.st_mode) ||
		    reg->size > (uint64_t)st.st_size ||
		    reg->mmap_offset > (uint64_t)st.st_size - reg->size) {
			ret = vu_bad(vu, "SET_MEM_TABLE: region is not inside a regular file");
			goto unmap;
		}
		addr = mmap(NULL, reg->size + skew, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i],
			    (off_t)(reg->mmap_offset - skew));
		if (addr == MAP_FAILED) {
			ret = -errno;
			log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN,
					 "%s: vhost-user: cannot map a memory region: %s",
					 vu->vdev->ops->name, strerror(-ret));
			goto unmap;
		}
		madvise(addr, reg->size + skew, MADV_DONTDUMP);
		*map = (struct vhost_user_map){ addr, reg->size + skew, fds[i], reg->user_addr };
		fds[i] = -1;
		ret = guest_mem__add_region(&vu->mem, reg->guest_addr, reg->size,
					    (uint8_t *)addr + skew, map->fd, reg->mmap_offset);
		if (ret) {
			ret = vu_bad(vu, "SET_MEM_TABLE: region overlaps another or lies past "
					 "the guest's memory");
			goto unmap;
		}
	}
	return 0;

unmap:
	vu_unmap_memory(vu);
	return ret;
}

/* --- rings --- */

static struct vhost_user_vring *vu_vring(struct vhost_user *vu, uint32_t index)
{
	if (index >= vu->vdev->nr_queues) {
		vu_bad(vu, "ring index out of range");
		return NULL;
	}
	return &vu->vrings[index];
}

static void vu_apply_base(struct vhost_user_vring *vr, struct virtq *vq)
{
	if (vq->desc && vr->has_base)
		vq->last_avail = vr->base;
}

/* Enabling a ring stands for DRIVER_OK: vhost-user carries no status. */
static int vu_enable_ring(struct vhost_user *vu, struct vhost_user_vring *vr)
{
	struct virtio_dev *vdev = vu->vdev;
	struct virtq *vq = &vdev->vqs[vr->index];

	if (!(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return vu_bad(vu, "ring enabled before the features were set");
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) {
		virtio__enable_queue(vdev, vr->index);
	} else {
		vq->enabled = true;
		virtio__set_status(vdev, vdev->status | VIRTIO_CONFIG_S_DRIVER_OK);
	}
	vu_apply_base(vr, vq);
	return (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET) ? -EINVAL : 0;
}

/* A stopped ring forgets its rings; with every ring stopped the driver is gone. */
static void vu_disable_ring(struct vhost_user *vu, struct vhost_user_vring *vr)
{
	struct virtio_dev *vdev = vu->vdev;
	bool any = false;

	virtq__reset(&vdev->vqs[vr->index], vdev->queue_max);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		any |= vdev->vqs[i].enabled;
	if (!any && vdev->status)
		virtio__reset(vdev);
}

static int vu_set_vring_fd(struct vhost_user *vu, const struct vhost_user_msg *msg, int *fds,
			   unsigned int nr_fds)
{
	struct vhost_user_vring *vr;
	bool nofd;
	int fd;

	if (msg->hdr.size != sizeof(uint64_t))
		return vu_bad(vu, "ring file message of the wrong size");
	if (msg->u64 & ~(uint64_t)(VHOST_USER_VRING_INDEX_MASK | VHOST_USER_VRING_NOFD_MASK))
		return vu_bad(vu, "ring file message with unknown flags");
	vr = vu_vring(vu, (uint32_t)(msg->u64 & VHOST_USER_VRING_INDEX_MASK));
	if (!vr)
		return -EINVAL;
	nofd = msg->u64 & VHOST_USER_VRING_NOFD_MASK;
	if (nofd != (nr_fds == 0) || nr_fds > 1)
		return vu_bad(vu, "ring file message: file missing or unexpected");
	fd = nofd ? -1 : fds[0];
	switch (msg->hdr.request) {
	case VHOST_USER_SET_VRING_KICK:
		if (nofd)
			return vu_bad(vu, "polling rings (no kick file) are not supported");
		if (!vhost_user__is_eventfd(fd))
			return vu_bad(vu, "kick file is not an eventfd");
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		vu_stop_kick(vu, vr);
		vr->kick = (struct event_handler){ fd, vu_on_kick, vr };
		if (eventloop__add(vu->env.loop, &vr->kick, EPOLLIN)) {
			vr->kick.fd = -1;
			return vu_bad(vu, "kick file cannot be polled");
		}
		fds[0] = -1;
		/*
		 * Without protocol features a kick file starts the ring (vhost-user.rst);
		 * a new one for a running ring only replaces the file, or the ring
		 * would go back to its base and complete its chains again.
		 */
		if (!vu->has_protocol_features && !vu->vdev->vqs[vr->index].enabled)
			return vu_enable_ring(vu, vr);
		return 0;
	case VHOST_USER_SET_VRING_CALL:
		close_fd(&vr->call_fd);
		if (fd >= 0)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		vr->call_fd = fd;
		break;
	default: /* VHOST_USER_SET_VRING_ERR */
		close_fd(&vr->err_fd);
		vr->err_fd = fd;
		break;
	}
	if (!nofd)
		fds[0] = -1;
	return 0;
}

static int vu_vring_state(struct vhost_user *vu, struct vhost_user_msg *msg, bool *reply)
{
	struct virtio_dev *vdev = vu->vdev;
	struct vhost_user_vring *vr;
	struct virtq *vq;
	uint32_t num = msg->state.num;

	if (msg->hdr.size != sizeof(msg->state))
		return vu_bad(vu, "ring state message of the wrong size");
	vr = vu_vring(vu, msg->state.index);
	if (!vr)
		return -EINVAL;
	vq = &vdev->vqs[vr->index];
	switch (msg->hdr.request) {
	case VHOST_USER_SET_VRING_NUM:
		if (vq->desc)
			return vu_bad(vu, "SET_VRING_NUM on a running ring");
		if (!num || (num & (num - 1)) || num > vq->max_size)
			return vu_bad(vu, "SET_VRING_NUM: size is not a power of two up to the "
					  "maximum");
		vq->size = (uint16_t)num;
		return 0;
	case VHOST_USER_SET_VRING_BASE:
		if (vq->desc || num > UINT16_MAX)
			return vu_bad(vu, "SET_VRING_BASE on a running ring or out of range");
		vr->base = (uint16_t)num;
		vr->has_base = true;
		return 0;
	case VHOST_USER_GET_VRING_BASE:
		/* Stops the ring (vhost-user.rst) and tells where it stopped. */
		msg->state.num = vq->desc ? vq->last_avail : vr->base;
		vu_stop_kick(vu, vr);
		if (vq->enabled || vq->desc)
			vu_disable_ring(vu, vr);
		*reply = true;
		return 0;
	default: /* VHOST_USER_SET_VRING_ENABLE */
		if (num > 1)
			return vu_bad(vu, "SET_VRING_ENABLE: not 0 or 1");
		if (num && !vq->enabled)
			return vu_enable_ring(vu, vr);
		if (!num && vq->enabled)
			vu_disable_ring(vu, vr);
		return 0;
	}
}

static int vu_set_vring_addr(struct vhost_user *vu, const struct vhost_user_msg *msg)
{
	const struct vhost_user_vring_addr *a = &msg->addr;
	struct vhost_user_vring *vr;
	struct virtq *vq;
	uint64_t desc, avail, used;

	if (msg->hdr.size != sizeof(*a))
		return vu_bad(vu, "SET_VRING_ADDR of the wrong size");
	vr = vu_vring(vu, a->index);
	if (!vr)
		return -EINVAL;
	vq = &vu->vdev->vqs[vr->index];
	if (vq->desc)
		return vu_bad(vu, "SET_VRING_ADDR on a running ring");
	if (a->flags)
		return vu_bad(vu, "SET_VRING_ADDR: logging is not supported");
	if (vu_user_to_gpa(vu, a->desc, &desc) || vu_user_to_gpa(vu, a->avail, &avail) ||
	    vu_user_to_gpa(vu, a->used, &used))
		return vu_bad(vu, "SET_VRING_ADDR: a ring lies outside the memory table");
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	return 0;
}

/* --- features and config --- */

static int vu_set_features(struct vhost_user *vu, uint64_t features)
{
	struct virtio_dev *vdev = vu->vdev;

	vu->has_protocol_features = features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	features &= ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	/* Features are only set by a driver starting over: the old one is gone. */
	if (vdev->status)
		virtio__reset(vdev);
	vdev->driver_features = features;
	virtio__set_status(vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					 VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return vu_bad(vu, "SET_FEATURES: features the device does not offer, or no "
				  "VERSION_1");
	return 0;
}

static int vu_config(struct vhost_user *vu, struct vhost_user_msg *msg, bool *reply)
{
	struct virtio_dev *vdev = vu->vdev;
	struct vhost_user_config *c = &msg->config;
	bool get = msg->hdr.request == VHOST_USER_GET_CONFIG;
	bool fits = msg->hdr.size >= offsetof(struct vhost_user_config, payload) &&
		    c->size <= VHOST_USER_CONFIG_MAX &&
		    msg->hdr.size == offsetof(struct vhost_user_config, payload) + c->size &&
		    c->offset <= vdev->config_size && c->size <= vdev->config_size - c->offset;

	if (get) {
		*reply = true;
		/* An answer without payload tells the front end the read failed. */
		if (!fits) {
			msg->hdr.size = offsetof(struct vhost_user_config, payload);
			c->size = 0;
			return vu_bad(vu, "GET_CONFIG outside the config space");
		}
		if (vdev->ops->config_read && c->size)
			vdev->ops->config_read(vdev, c->offset, c->payload, c->size);
		else
			memset(c->payload, 0, c->size);
		return 0;
	}
	if (!fits)
		return vu_bad(vu, "SET_CONFIG outside the config space");
	if (vdev->ops->config_write && c->size)
		vdev->ops->config_write(vdev, c->offset, c->payload, c->size);
	return 0;
}

/* --- messages --- */

static int vu_dispatch(struct vhost_user *vu, struct vhost_user_msg *msg, int *fds,
		       unsigned int nr_fds, bool *reply)
{
	struct virtio_dev *vdev = vu->vdev;
	bool u64_ok = msg->hdr.size == sizeof(uint64_t);

	switch (msg->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		msg->u64 = vdev->device_features | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
		msg->hdr.size = sizeof(uint64_t);
		*reply = true;
		return 0;
	case VHOST_USER_SET_FEATURES:
		if (!u64_ok)
			return vu_bad(vu, "SET_FEATURES of the wrong size");
		return vu_set_features(vu, msg->u64);
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		msg->u64 = VHOST_USER_PROTOCOL_FEATURES;
		msg->hdr.size = sizeof(uint64_t);
		*reply = true;
		return 0;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		if (!u64_ok || (msg->u64 & ~VHOST_USER_PROTOCOL_FEATURES))
			return vu_bad(vu, "SET_PROTOCOL_FEATURES: unknown features or wrong size");
		vu->protocol_features = msg->u64;
		return 0;
	case VHOST_USER_GET_QUEUE_NUM:
		msg->u64 = vdev->nr_queues;
		msg->hdr.size = sizeof(uint64_t);
		*reply = true;
		return 0;
	case VHOST_USER_SET_OWNER:
		return 0;
	case VHOST_USER_RESET_OWNER:
		virtio__reset(vdev);
		return 0;
	case VHOST_USER_SET_MEM_TABLE:
		return vu_set_mem_table(vu, msg, fds, nr_fds);
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		return vu_vring_state(vu, msg, reply);
	case VHOST_USER_SET_VRING_ADDR:
		return vu_set_vring_addr(vu, msg);
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return vu_set_vring_fd(vu, msg, fds, nr_fds);
	case VHOST_USER_SET_BACKEND_REQ_FD:
		if (nr_fds != 1 || msg->hdr.size)
			return vu_bad(vu, "SET_BACKEND_REQ_FD without exactly one file");
		close_fd(&vu->backend_fd);
		vu->backend_fd = fds[0];
		fds[0] = -1;
		return 0;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return vu_config(vu, msg, reply);
	default:
		return vu_bad(vu, "request accord does not implement");
	}
}

static int vu_recv(struct vhost_user *vu, struct vhost_user_msg *msg, int *fds,
		   unsigned int *nr_fds)
{
	char control[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))];
	struct iovec iov = { &msg->hdr, sizeof(msg->hdr) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control,
			     .msg_controllen = sizeof(control) };
	struct cmsghdr *cm;
	ssize_t n;

	*nr_fds = 0;
	memset(control, 0, sizeof(control));
	n = recvmsg(vu->conn.fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	/* A failed recvmsg leaves the control buffer as it was: no files came. */
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			unsigned int k = (unsigned int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (unsigned int i = 0; i < k && *nr_fds < VHOST_USER_MAX_FDS; i++)
				memcpy(&fds[(*nr_fds)++], CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(int));
		}
	}
	if (n == 0)
		return -ECONNRESET;
	if (n != sizeof(msg->hdr) || (mh.msg_flags & MSG_CTRUNC))
		return vu_bad(vu, "truncated message header or too many files");
	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    (msg->hdr.flags & ~(VHOST_USER_VERSION_MASK | VHOST_USER_FLAG_NEED_REPLY)))
		return vu_bad(vu, "unknown version or flags");
	if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX)
		return vu_bad(vu, "payload larger than any request");
	if (!msg->hdr.size)
		return 0;
	n = recv(vu->conn.fd, msg->bytes, msg->hdr.size, MSG_WAITALL);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)msg->hdr.size)
		return vu_bad(vu, "truncated payload");
	return 0;
}

static int vu_send_reply(struct vhost_user *vu, struct vhost_user_msg *msg)
{
	size_t len = sizeof(msg->hdr) + msg->hdr.size;

	msg->hdr.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY;
	if (send(vu->conn.fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

static void vu_disconnect(struct vhost_user *vu)
{
	struct virtio_dev *vdev = vu->vdev;

	if (vu->conn.fd < 0)
		return;
	eventloop__del(vu->env.loop, &vu->conn);
	close_fd(&vu->conn.fd);
	pthread_mutex_lock(&vdev->lock);
	virtio__reset(vdev);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vu_vring_clear(vu, &vu->vrings[i]);
	close_fd(&vu->backend_fd);
	vu_unmap_memory(vu);
	vu->protocol_features = 0;
	vu->has_protocol_features = false;
	vu->needs_drop = false;
	pthread_mutex_unlock(&vdev->lock);
}

/*
 * virtio_uml keeps the status itself and never reads NEEDS_RESET: a device
 * that needs a reset drops the connection, so that the guest sees its
 * device fail instead of waiting forever.
 */
static void vu_check_needs_reset(struct vhost_user *vu)
{
	bool broken;

	pthread_mutex_lock(&vu->vdev->lock);
	broken = vu->vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET;
	pthread_mutex_unlock(&vu->vdev->lock);
	if (broken && vu->conn.fd >= 0) {
		log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN,
				 "%s: vhost-user: the device needs a reset; dropping the front end",
				 vu->vdev->ops->name);
		vu_disconnect(vu);
	}
}

int vhost_user__handle_one(struct vhost_user *vu)
{
	struct vhost_user_msg msg;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nr_fds;
	bool reply = false, need_ack;
	int ret;

	memset(&msg, 0, sizeof(msg));
	ret = vu_recv(vu, &msg, fds, &nr_fds);
	if (ret)
		goto drop;
	vu->messages++;
	log_debug(vu->env.log, "%s: vhost-user: request %u, %u bytes, %u files",
		  vu->vdev->ops->name, msg.hdr.request, msg.hdr.size, nr_fds);
	/*
	 * REPLY_ACK: a front end that asks gets an answer (as libvhost-user does),
	 * also for the SET_PROTOCOL_FEATURES that negotiates REPLY_ACK itself.
	 */
	need_ack = msg.hdr.flags & VHOST_USER_FLAG_NEED_REPLY;
	pthread_mutex_lock(&vu->vdev->lock);
	ret = vu_dispatch(vu, &msg, fds, nr_fds, &reply);
	pthread_mutex_unlock(&vu->vdev->lock);
	for (unsigned int i = 0; i < nr_fds; i++)
		close_fd(&fds[i]);
	if (reply) {
		ret = vu_send_reply(vu, &msg);
	} else if (need_ack) {
		/* REPLY_ACK: 0 for success, anything else a failure. */
		msg.u64 = ret ? 1 : 0;
		msg.hdr.size = sizeof(uint64_t);
		ret = vu_send_reply(vu, &msg);
	} else {
		ret = 0; /* the error was logged; the front end did not ask */
	}
	if (ret)
		vu_disconnect(vu);
	else
		vu_check_needs_reset(vu);
	return ret;

drop:
	for (unsigned int i = 0; i < nr_fds; i++)
		close_fd(&fds[i]);
	if (ret != -ECONNRESET)
		log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN,
				 "%s: vhost-user: dropping the front end: %s", vu->vdev->ops->name,
				 strerror(-ret));
	vu_disconnect(vu);
	return ret;
}

static void vu_on_conn(struct event_handler *h, uint32_t events)
{
	vhost_user__handle_one(h->ctx);
}

int vhost_user__attach(struct vhost_user *vu, int fd)
{
	struct timeval tv = { VHOST_USER_IO_TIMEOUT_MS / 1000,
			      (VHOST_USER_IO_TIMEOUT_MS % 1000) * 1000 };
	int ret;

	if (vu->conn.fd >= 0)
		return -EBUSY;
	/* Messages come whole; the timeouts only bound a front end that stalls mid-way. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	vu->conn = (struct event_handler){ fd, vu_on_conn, vu };
	ret = eventloop__add(vu->env.loop, &vu->conn, EPOLLIN);
	if (ret) {
		vu->conn.fd = -1;
		return ret;
	}
	vu->connections++;
	return 0;
}

static void vu_on_listener(struct event_handler *h, uint32_t events)
{
	struct vhost_user *vu = h->ctx;
	int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* One front end at a time; a second one is turned away. */
	if (vhost_user__attach(vu, fd)) {
		log__ratelimited(vu->env.log, vu->env.guest_rl, LOG_WARN,
				 "%s: vhost-user: refusing a second front end",
				 vu->vdev->ops->name);
		close(fd);
	}
}

void vhost_user__prepare(struct vhost_user *vu, uint64_t span)
{
	memset(vu, 0, sizeof(*vu));
	guest_mem__init_empty(&vu->mem, span);
	vu->listener.fd = vu->conn.fd = vu->backend_fd = -1;
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		vu->maps[i].fd = -1;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct vhost_user_vring *vr = &vu->vrings[i];

		vr->kick.fd = vr->call_fd = vr->err_fd = -1;
		vr->vu = vu;
		vr->index = i;
	}
}

int vhost_user__init(struct vhost_user *vu, struct virtio_dev *vdev, const char *path,
		     const struct vhost_user_env *env, struct acc_err *err)
{
	int fd, ret;

	vu->vdev = vdev;
	vu->env = *env;
	virtio__set_transport(vdev, &vu_transport_ops, vu);
	if (!path)
		return 0; /* tests attach a socketpair */
	if (strlen(path) >= sizeof(vu->addr.sun_path))
		return acc_errf(err, ENAMETOOLONG, "vhost-user socket path too long: %s", path);
	vu->addr.sun_family = AF_UNIX;
	strcpy(vu->addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return acc_errf(err, errno, "vhost-user socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&vu->addr, sizeof(vu->addr)) || listen(fd, 1)) {
		ret = acc_errf(err, errno, "vhost-user socket %s: %s", path, strerror(errno));
		goto close_socket;
	}
	vu->listener = (struct event_handler){ fd, vu_on_listener, vu };
	ret = eventloop__add(env->loop, &vu->listener, EPOLLIN);
	if (ret) {
		acc_errf(err, -ret, "epoll: %s", strerror(-ret));
		goto unlink_socket;
	}
	return 0;

unlink_socket:
	unlink(path);
close_socket:
	close(fd);
	vu->listener.fd = -1;
	return ret;
}

void vhost_user__exit(struct vhost_user *vu)
{
	if (!vu->vdev)
		return;
	vu_disconnect(vu);
	if (vu->listener.fd >= 0) {
		eventloop__del(vu->env.loop, &vu->listener);
		close_fd(&vu->listener.fd);
		unlink(vu->addr.sun_path);
	}
}
