// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a hostile vhost-user front end (the UML kernel's
 * virtio_uml as the backend sees it) against virtio/vhost_user.c. The input
 * is a script of socket writes, files passed with them, writes into the
 * front end's RAM and kicks. Every input starts from a fresh backend, device,
 * event loop and socketpair, and ends with everything closed, unmapped and
 * freed; the number of open files must be the same before and after, and no
 * mapping of the harness's memfds may survive.
 *
 * The backend's end of the socketpair is non-blocking: a front end that
 * stops halfway through a message is then seen at once, as the backend sees
 * it after its two-second receive timeout (a short read), and no input can
 * stall the harness. Nothing else runs: no threads, no timers.
 *
 * Input: one preamble byte, then operations until the input ends (a field cut
 * short by the end of the input reads as zeros). Numbers are little-endian.
 *
 *   preamble  bit 0 clear: virtio-rng (1 queue, no config space);
 *             set: a probe device with 1 + bits 1-3 queues of at most
 *             1 << min(bits 4-7, 8) entries; for the probe, one more byte
 *             gives the config space size (twice its value, 0-510 bytes)
 *   op % 9:
 *   0 MSG     req:u8 mode:u8 FILES len:u16 [size:u16] [split:u8]
 *             [flags:u8] payload[len]: sends header {req, flags, size} and
 *             the payload, then the backend handles one message. By default
 *             flags is VERSION (| NEED_REPLY when mode bit 0 is set) and
 *             size is len; mode bit 1: the size field follows and goes in
 *             the header instead (a lie); bit 2: the message goes out in two
 *             writes cut at byte split (the files with the first); bit 3:
 *             flags are sent as given; bit 4: not handled yet.
 *   1 RAW     FILES len:u16 bytes[len]: one write, not handled
 *   2 HANDLE  the backend handles one message (if still connected)
 *   3 KICK    n:u8: handle what is pending, signal the harness's eventfd
 *             n % count, and run the event loop a few rounds (the kick
 *             walks the ring in the mapped memory; renotify kicks again)
 *   4 RAM     off:u16 len:u8 bytes[len]: write into the front end's RAM
 *             (a 64 KiB memfd) at off, as the driver writes its rings
 *   5 RECONNECT  shut the front end's writes, let the backend read up to
 *             the end (it must drop the front end), attach a new socketpair
 *   6 CONFIG  the device changes its config space (config interrupt)
 *   7 LOOP    run the event loop once
 *   8 DEAF    the front end reads no more replies (shutdown SHUT_RD): the
 *             backend must drop it at the first reply it owes
 *
 *   FILES     n:u8 (n % 11 files, beyond VHOST_USER_MAX_FDS on purpose)
 *             then one kind:u8 each; kind & 7:
 *             0, 7 the RAM memfd
 *             1  an eventfd the harness keeps for KICK: a new one when
 *                kind >> 3 is 0 or past the kept ones, else kept one
 *                (kind >> 3) - 1 again
 *             2  one end of a new socketpair (the harness keeps the other)
 *             3  a new memfd of kind >> 3 pages (0-31)
 *             4  the read end of a pipe (no writer)
 *             5  the write end of a pipe (the harness keeps the reader)
 *             6  a memfd of kind >> 3 pages sealed against writing
 *
 * Checks (abort on violation), after every message the backend handles:
 *  - framing: the bytes the backend consumed (FIONREAD on a duplicate of its
 *    socket) are a whole valid message exactly when it returns 0; a broken
 *    header is not read past; after an error the front end is dropped;
 *  - a reply comes exactly when due (GET_*, or NEED_REPLY as REPLY_ACK), is
 *    the only one, has the reply flags, the request's code and the size of
 *    its kind; features, queue count, ring base and config bytes match the
 *    device; the REPLY_ACK value is the one the request must get (the
 *    harness knows which files came with it: those of the write whose first
 *    byte lies in the header, as AF_UNIX delivers them);
 *  - a message refused for its size, files, ring index, flags or range
 *    leaves the backend's state untouched; a refused memory table leaves
 *    none or the old one; accepted ones took effect; no message moves a
 *    running ring;
 *  - the backend's state is consistent: the regions and their mappings
 *    agree (a mapping shows its file's bytes at the region's offset),
 *    started rings lie in the current mappings, rings past the device's
 *    queue count are never touched, kick files are eventfds, no file is
 *    held twice, a running device negotiated VERSION_1 and only offered
 *    features, and a device that needs a reset has dropped the front end,
 *    leaving no file, mapping or ring behind;
 *  - the probe device sees config accesses only inside its space, queue
 *    notifications only while activated, and chain buffers only inside the
 *    mapped regions; it can fail activation (config byte 0 = 0xa5) and
 *    refuse a chain (first readable byte 0xee) to reach NEEDS_RESET;
 *  - config interrupts reach the backend channel exactly when negotiated.
 *
 * virtio-rng fills buffers from getrandom(2): an input whose buffers overlap
 * its rings is not deterministic; the probe device writes a fixed pattern.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accord/eventloop.h"
#include "accord/vhost_user.h"
#include "accord/virtio_rng.h"

#define RAM_SIZE	  0x10000u
#define SPAN		  0x1000000u /* regions may lie anywhere below 16 MiB */
#define MEMFD_NAME	  "vu-fuzz"
#define MAX_MADE	  96 /* files made for attachments per input */
#define MAX_KEPT	  32 /* eventfds and peers the harness keeps */
#define SHADOW_MAX	  (1u << 20)
#define MAX_RECS	  4096
#define REPLY_MAX	  4096
#define PROBE_CONFIG_MAX  512
#define PROBE_FEATURES	  0x5ull
#define PROBE_FAIL_ACTIVE 0xa5
#define PROBE_BAD_CHAIN	  0xee
#define LOOP_ROUNDS	  4

/* What accord implements of the protocol features its header names. */
#define KNOWN_PROTOCOL_FEATURES                                                           \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG))

#define CONFIG_HDR offsetof(struct vhost_user_config, payload)

#define check(cond)                                                                             \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "fuzz_vhost_user: %s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                                               \
			abort();                                                                \
		}                                                                               \
	} while (0)

struct input {
	const uint8_t *p;
	size_t left;
};

struct probe {
	struct virtio_dev vdev;
	uint8_t config[PROBE_CONFIG_MAX];
	bool active;
};

struct peer {
	int fd;
	ino_t sent_ino; /* the inode of the end the backend got */
};

struct files {
	int fd[16];
	bool owned[16];
	uint8_t kind[16];
	unsigned int n;
};

/* A write that carried files: they go to the read that takes its first byte. */
struct write_rec {
	size_t start;
	unsigned int n;
	uint8_t kind[16];
};

/* What a refused message must leave as it was. */
struct snap {
	struct vhost_user_vring vrings[VIRTIO_MAX_QUEUES];
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	struct vhost_user_map maps[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint8_t status;
	uint64_t driver_features;
	uint64_t protocol_features;
	bool has_protocol_features;
	int backend_fd;
	uint8_t config[PROBE_CONFIG_MAX];
};

static struct fuzz_state {
	struct event_loop loop;
	struct acc_log log;
	struct ratelimit rl;
	struct vhost_user vu;
	struct virtio_rng rng;
	struct probe probe;
	struct virtio_dev *vdev;
	bool is_probe;
	int fe; /* the front end's end of the socketpair */
	int ram_fd;
	uint8_t *ram;
	int evfds[MAX_KEPT];
	unsigned int nr_evfds;
	struct peer peers[MAX_KEPT];
	unsigned int nr_peers;
	unsigned int nr_made;
	bool mapped;
	struct snap before;
	bool expect_drop; /* the last message must make the device need a reset */
	bool deaf;	  /* the front end reads no more replies */
	/* Everything written on this connection, to see what the backend read. */
	size_t sent, consumed;
	unsigned int nr_recs, next_rec;
	struct write_rec recs[MAX_RECS];
	uint8_t shadow[SHADOW_MAX];
} fz;

static long page_size;

/* --- input --- */

static uint8_t in_u8(struct input *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

static uint16_t in_u16(struct input *in)
{
	uint16_t lo = in_u8(in);

	return (uint16_t)(lo | in_u8(in) << 8);
}

/* Up to @len bytes into @dst, zero-filled past the end of the input. */
static void in_bytes(struct input *in, void *dst, size_t len)
{
	size_t n = len < in->left ? len : in->left;

	memcpy(dst, in->p, n);
	memset((uint8_t *)dst + n, 0, len - n);
	in->p += n;
	in->left -= n;
}

/* --- accounting of files and mappings --- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	check(d);
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* No mapping of a harness memfd may outlive the input. */
static void check_no_mappings(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	check(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "/memfd:" MEMFD_NAME)) {
			fprintf(stderr, "fuzz_vhost_user: mapping left behind: %s", line);
			abort();
		}
	}
	fclose(f);
}

static ino_t fd_ino(int fd)
{
	struct stat st;

	check(!fstat(fd, &st));
	return st.st_ino;
}

/* --- the probe device --- */

static struct probe *to_probe(struct virtio_dev *vdev)
{
	return vdev->priv;
}

static void probe_config_check(struct virtio_dev *vdev, uint32_t offset, uint32_t len)
{
	/* The transport promises accesses inside the config space, and never empty ones. */
	check(len && offset <= vdev->config_size && len <= vdev->config_size - offset);
}

static void probe_config_read(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	probe_config_check(vdev, offset, len);
	memcpy(data, to_probe(vdev)->config + offset, len);
}

static void probe_config_write(struct virtio_dev *vdev, uint32_t offset, const void *data,
			       uint32_t len)
{
	probe_config_check(vdev, offset, len);
	memcpy(to_probe(vdev)->config + offset, data, len);
	/* A device that answers a write with an interrupt, from under the message. */
	if (!offset)
		virtio__config_changed(vdev);
}

static int probe_activate(struct virtio_dev *vdev)
{
	struct probe *p = to_probe(vdev);

	check(!p->active);
	if (vdev->config_size && p->config[0] == PROBE_FAIL_ACTIVE)
		return -EIO;
	p->active = true;
	return 0;
}

static void probe_reset(struct virtio_dev *vdev)
{
	to_probe(vdev)->active = false;
}

/* Every buffer must lie inside one region the backend mapped now. */
static void check_buf(const struct virtq_buf *b)
{
	const struct guest_mem *m = &fz.vu.mem;

	for (unsigned int i = 0; i < m->nr_regions; i++) {
		const struct guest_mem_region *r = &m->regions[i];

		if (b->addr >= r->host && b->len <= r->size &&
		    (uint64_t)(b->addr - r->host) <= r->size - b->len)
			return;
	}
	check(!"chain buffer outside the mapped regions");
}

static int probe_handle(struct virtio_dev *vdev, struct virtq_chain *chain, const char **why)
{
	static const uint8_t pattern[4096] = { [0 ... 4095] = 0x5a };
	uint8_t first = 0;

	for (unsigned int i = 0; i < chain->nr_out + chain->nr_in; i++)
		check_buf(&chain->bufs[i]);
	if (virtq__read(chain, 0, &first, 1) == 1 && first == PROBE_BAD_CHAIN) {
		*why = "probe: refused chain";
		return VIRTIO_REQ_BAD;
	}
	return (int)virtq__write(chain, 0, pattern, sizeof(pattern));
}

static void probe_notify(struct virtio_dev *vdev, unsigned int q)
{
	check(to_probe(vdev)->active && q < vdev->nr_queues && vdev->vqs[q].desc);
	virtio__process_queue(vdev, q, probe_handle);
}

static const struct virtio_dev_ops probe_ops = {
	.name = "probe",
	.device_id = 0xfff0,
	.config_read = probe_config_read,
	.config_write = probe_config_write,
	.activate = probe_activate,
	.reset = probe_reset,
	.queue_notify = probe_notify,
};

/* --- the backend's state --- */

static void take_snap(struct snap *s)
{
	struct vhost_user *vu = &fz.vu;
	struct virtio_dev *vdev = fz.vdev;

	memcpy(s->vrings, vu->vrings, sizeof(s->vrings));
	memcpy(s->vqs, vdev->vqs, sizeof(s->vqs));
	memcpy(s->regions, vu->mem.regions, sizeof(s->regions));
	memcpy(s->maps, vu->maps, sizeof(s->maps));
	s->nr_regions = vu->mem.nr_regions;
	s->status = vdev->status;
	s->driver_features = vdev->driver_features;
	s->protocol_features = vu->protocol_features;
	s->has_protocol_features = vu->has_protocol_features;
	s->backend_fd = vu->backend_fd;
	memcpy(s->config, fz.probe.config, sizeof(s->config));
}

static void check_unchanged(const struct snap *s)
{
	struct snap now;

	take_snap(&now);
	check(!memcmp(s->vrings, now.vrings, sizeof(now.vrings)));
	check(!memcmp(s->vqs, now.vqs, sizeof(now.vqs)));
	check(s->nr_regions == now.nr_regions);
	check(!memcmp(s->regions, now.regions, sizeof(now.regions)));
	check(!memcmp(s->maps, now.maps, sizeof(now.maps)));
	check(s->status == now.status && s->driver_features == now.driver_features);
	check(s->protocol_features == now.protocol_features);
	check(s->has_protocol_features == now.has_protocol_features);
	check(s->backend_fd == now.backend_fd);
	check(!memcmp(s->config, now.config, sizeof(now.config)));
}

/* A dropped front end leaves nothing behind. */
static void check_released(void)
{
	struct vhost_user *vu = &fz.vu;
	struct virtio_dev *vdev = fz.vdev;

	check(vu->conn.fd == -1 && vu->backend_fd == -1);
	check(!vu->protocol_features && !vu->has_protocol_features);
	check(vu->mem.nr_regions == 0);
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		check(!vu->maps[i].addr && vu->maps[i].fd == -1);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct vhost_user_vring *vr = &vu->vrings[i];

		check(vr->kick.fd == -1 && vr->call_fd == -1 && vr->err_fd == -1 && !vr->has_base);
	}
	check(vdev->status == 0);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		check(!vdev->vqs[i].desc && !vdev->vqs[i].enabled);
	check(!fz.probe.active);
}

/* The mapping must show the file's bytes at the region's offset. */
static void check_region_bytes(const struct guest_mem_region *r)
{
	uint64_t at[2] = { 0, r->size - 1 };

	for (unsigned int i = 0; i < 2; i++) {
		uint8_t b;

		check(pread(r->fd, &b, 1, (off_t)(r->fd_offset + at[i])) == 1);
		check(b == r->host[at[i]]);
	}
}

/* Every file the backend holds, once: none may be owned twice (and closed twice). */
static void check_fds_unique(void)
{
	struct vhost_user *vu = &fz.vu;
	int fds[3 + GUEST_MEM_MAX_REGIONS + 3 * VIRTIO_MAX_QUEUES];
	unsigned int n = 0;

	fds[n++] = vu->conn.fd;
	fds[n++] = vu->backend_fd;
	fds[n++] = vu->listener.fd;
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		fds[n++] = vu->maps[i].fd;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		fds[n++] = vu->vrings[i].kick.fd;
		fds[n++] = vu->vrings[i].call_fd;
		fds[n++] = vu->vrings[i].err_fd;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		check(fcntl(fds[i], F_GETFD) >= 0);
		for (unsigned int j = i + 1; j < n; j++)
			check(fds[i] != fds[j]);
	}
}

static void check_state(void)
{
	struct vhost_user *vu = &fz.vu;
	struct virtio_dev *vdev = fz.vdev;
	const struct guest_mem *m = &vu->mem;

	if (vu->conn.fd < 0) {
		check_released();
		return;
	}
	check_fds_unique();
	check(m->nr_regions <= GUEST_MEM_MAX_REGIONS);
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		const struct vhost_user_map *map = &vu->maps[i];
		const struct guest_mem_region *r = &m->regions[i];

		if (i >= m->nr_regions) {
			check(!map->addr && map->fd == -1);
			continue;
		}
		fz.mapped = true;
		check(map->addr && map->fd >= 0 && r->fd == map->fd);
		check(r->host >= (uint8_t *)map->addr &&
		      r->host - (uint8_t *)map->addr < (ptrdiff_t)page_size);
		check((size_t)(r->host - (uint8_t *)map->addr) + r->size == map->len);
		check(r->gpa + r->size <= SPAN);
		check_region_bytes(r);
	}
	check(!(vu->protocol_features & ~KNOWN_PROTOCOL_FEATURES));
	/* virtio_uml cannot see NEEDS_RESET: such a device must have dropped it. */
	check(!(vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET));
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) {
		check(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK);
		check(!(vdev->driver_features & ~vdev->device_features));
		check(vdev->driver_features & (1ull << VIRTIO_F_VERSION_1));
		check(!fz.is_probe || fz.probe.active);
	}
	check(!fz.probe.active || (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK));
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		const struct vhost_user_vring *vr = &vu->vrings[q];
		const struct virtq *vq = &vdev->vqs[q];

		if (q >= vdev->nr_queues) {
			check(vr->kick.fd == -1 && vr->call_fd == -1 && vr->err_fd == -1);
			check(!vr->has_base);
			continue;
		}
		check(vr->kick.fd == -1 || vhost_user__is_eventfd(vr->kick.fd));
		check(vq->enabled == !!vq->desc);
		if (!vq->desc)
			continue;
		check(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK);
		check(vq->size && !(vq->size & (vq->size - 1)) && vq->size <= vq->max_size);
		/* Started rings point into the mappings of the current table. */
		check((void *)vq->desc == guest_mem__ptr(m, vq->desc_gpa, 16ull * vq->size));
		check((void *)vq->avail == guest_mem__ptr(m, vq->avail_gpa, 6 + 2ull * vq->size));
		check((void *)vq->used == guest_mem__ptr(m, vq->used_gpa, 6 + 8ull * vq->size));
	}
}

/* --- the front end's files --- */

static int make_memfd(unsigned int pages, bool sealed)
{
	int fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC | (sealed ? MFD_ALLOW_SEALING : 0));

	check(fd >= 0);
	check(!ftruncate(fd, (off_t)pages * page_size));
	if (sealed)
		check(!fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW));
	return fd;
}

static void keep_peer(int fd, int sent)
{
	fz.peers[fz.nr_peers++] = (struct peer){ fd, fd_ino(sent) };
}

/* One file to pass, or -1; *@owned: the harness closes it once sent. */
static int make_file(uint8_t kind, bool *owned)
{
	unsigned int arg = kind >> 3;
	int sv[2];

	*owned = true;
	if (fz.nr_made >= MAX_MADE)
		return -1;
	switch (kind & 7) {
	case 1:
		*owned = false;
		if (arg && arg - 1 < fz.nr_evfds)
			return fz.evfds[arg - 1];
		if (fz.nr_evfds == MAX_KEPT)
			return -1;
		fz.nr_made++;
		fz.evfds[fz.nr_evfds] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		check(fz.evfds[fz.nr_evfds] >= 0);
		return fz.evfds[fz.nr_evfds++];
	case 2:
		if (fz.nr_peers == MAX_KEPT)
			return -1;
		fz.nr_made++;
		check(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
		keep_peer(sv[0], sv[1]);
		return sv[1];
	case 3:
	case 6:
		fz.nr_made++;
		return make_memfd(arg, (kind & 7) == 6);
	case 4:
	case 5:
		if ((kind & 7) == 5 && fz.nr_peers == MAX_KEPT)
			return -1;
		fz.nr_made++;
		check(!pipe2(sv, O_CLOEXEC | O_NONBLOCK));
		if ((kind & 7) == 4) {
			check(!close(sv[1]));
			return sv[0];
		}
		keep_peer(sv[0], sv[1]);
		return sv[1];
	default:
		*owned = false;
		return fz.ram_fd;
	}
}

static void read_files(struct input *in, struct files *f)
{
	unsigned int want = in_u8(in) % 11;

	f->n = 0;
	for (unsigned int i = 0; i < want; i++) {
		uint8_t kind = in_u8(in);
		bool owned;
		int fd = make_file(kind, &owned);

		if (fd < 0)
			continue;
		f->fd[f->n] = fd;
		f->kind[f->n] = kind;
		f->owned[f->n++] = owned;
	}
}

static void close_files(struct files *f)
{
	for (unsigned int i = 0; i < f->n; i++) {
		if (f->owned[i])
			check(!close(f->fd[i]));
	}
	f->n = 0;
}

/* --- the socket --- */

/* One write from the front end; what the kernel took is remembered. */
static void fe_write(const void *buf, size_t len, const struct files *f)
{
	char control[CMSG_SPACE(16 * sizeof(int))];
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len > SHADOW_MAX - fz.sent)
		len = iov.iov_len = SHADOW_MAX - fz.sent;
	if (!len)
		return;
	if (f && f->n && fz.nr_recs < MAX_RECS) {
		struct cmsghdr *cm;

		memset(control, 0, sizeof(control));
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(f->n * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(f->n * sizeof(int));
		memcpy(CMSG_DATA(cm), f->fd, f->n * sizeof(int));
	}
	n = sendmsg(fz.fe, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n <= 0)
		return; /* the backend is gone or its buffer full: nothing was sent */
	if (mh.msg_control) {
		struct write_rec *r = &fz.recs[fz.nr_recs++];

		r->start = fz.sent;
		r->n = f->n;
		memcpy(r->kind, f->kind, sizeof(r->kind));
	}
	memcpy(fz.shadow + fz.sent, buf, (size_t)n);
	fz.sent += (size_t)n;
}

static size_t fe_drain(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = recv(fd, buf + got, cap - got, MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	return got;
}

static void connect_fe(void)
{
	int sv[2];

	check(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
	fz.fe = sv[0];
	check(!vhost_user__attach(&fz.vu, sv[1]));
	fz.sent = fz.consumed = 0;
	fz.nr_recs = fz.next_rec = 0;
	fz.deaf = false;
	check_state();
}

/* --- one message, checked --- */

enum reply_kind { R_NONE, R_ACK, R_U64, R_STATE, R_CONFIG };

static bool rings_running(const struct snap *b)
{
	for (unsigned int i = 0; i < fz.vdev->nr_queues; i++) {
		if (b->vqs[i].desc)
			return true;
	}
	return false;
}

/* The front end's address in the table @b had, as accord must translate it. */
static bool user_to_gpa(const struct snap *b, uint64_t user, uint64_t *gpa)
{
	for (unsigned int i = 0; i < b->nr_regions; i++) {
		uint64_t start = b->maps[i].user_addr;

		if (user >= start && user - start < b->regions[i].size) {
			*gpa = b->regions[i].gpa + (user - start);
			return true;
		}
	}
	return false;
}

static bool config_fits(const struct vhost_user_msg *m)
{
	const struct vhost_user_config *c = &m->config;
	uint32_t space = fz.vdev->config_size;

	return m->hdr.size >= CONFIG_HDR && c->size <= VHOST_USER_CONFIG_MAX &&
	       m->hdr.size == CONFIG_HDR + (uint64_t)c->size && c->offset <= space &&
	       c->size <= space - c->offset;
}

/* The files that came with a message, as the backend received them. */
struct got_files {
	unsigned int n;
	const uint8_t *kind;
	bool truncated; /* more than VHOST_USER_MAX_FDS: MSG_CTRUNC */
};

/* Bytes of a file the harness made, or -1 when it is not a regular file. */
static int64_t file_size(uint8_t kind)
{
	switch (kind & 7) {
	case 3:
	case 6:
		return (int64_t)(kind >> 3) * page_size;
	case 0:
	case 7:
		return RAM_SIZE;
	default:
		return -1;
	}
}

/* SET_MEM_TABLE's rules (vhost_user.h, guest_mem.h) on the regions alone. */
static bool mem_table_ok(const struct vhost_user_mem_table *t, const uint8_t *kind)
{
	for (unsigned int i = 0; i < t->num; i++) {
		const struct vhost_user_mem_region *r = &t->regions[i];
		int64_t fsize = file_size(kind[i]);

		if (!r->size || r->mmap_offset > INT64_MAX || r->user_addr + r->size < r->user_addr)
			return false;
		/* Inside a regular file, which must be mappable for writing. */
		if (fsize < 0 || r->size > (uint64_t)fsize ||
		    r->mmap_offset > (uint64_t)fsize - r->size || (kind[i] & 7) == 6)
			return false;
		if (r->guest_addr + r->size < r->guest_addr || r->guest_addr + r->size > SPAN)
			return false;
		for (unsigned int j = 0; j < i; j++) {
			const struct vhost_user_mem_region *o = &t->regions[j];

			if (r->guest_addr < o->guest_addr + o->size &&
			    o->guest_addr < r->guest_addr + r->size)
				return false;
		}
	}
	return true;
}

/*
 * What @m must get: the answer it must give as a REPLY_ACK would (0, 1, or
 * -1 when it depends on whether the device's rings start), and whether a
 * refusal must leave the state as it was.
 */
static int expect(const struct vhost_user_msg *m, const struct snap *b, const struct got_files *f,
		  bool *unchanged)
{
	uint32_t size = m->hdr.size, index;
	unsigned int nq = fz.vdev->nr_queues;
	const struct virtq *vq;
	uint64_t v = m->u64, gpa;
	bool nofd;

	*unchanged = true;
	fz.expect_drop = false;
	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_SET_OWNER:
		return 0;
	case VHOST_USER_GET_CONFIG:
		return config_fits(m) ? 0 : 1;
	case VHOST_USER_SET_CONFIG:
		*unchanged = !config_fits(m);
		return *unchanged ? 1 : 0;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		if (size != 8 || (v & ~KNOWN_PROTOCOL_FEATURES))
			return 1;
		*unchanged = false;
		return 0;
	case VHOST_USER_SET_FEATURES:
		if (size != 8)
			return 1;
		*unchanged = false;
		v &= ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
		return (v & ~fz.vdev->device_features) || !(v & (1ull << VIRTIO_F_VERSION_1));
	case VHOST_USER_SET_MEM_TABLE:
		if (size < 8 || !m->mem.num || m->mem.num > GUEST_MEM_MAX_REGIONS ||
		    size < 8 + m->mem.num * sizeof(struct vhost_user_mem_region) ||
		    f->n != m->mem.num)
			return 1;
		*unchanged = false;
		/* Running rings: refused, and the device needs a reset. */
		if (rings_running(b)) {
			fz.expect_drop = true;
			return 1;
		}
		return mem_table_ok(&m->mem, f->kind) ? 0 : 1;
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		if (size != 8 || m->state.index >= nq)
			return 1;
		vq = &b->vqs[m->state.index];
		v = m->state.num;
		if (m->hdr.request == VHOST_USER_SET_VRING_NUM &&
		    (vq->desc || !v || (v & (v - 1)) || v > vq->max_size))
			return 1;
		if (m->hdr.request == VHOST_USER_SET_VRING_BASE && (vq->desc || v > UINT16_MAX))
			return 1;
		if (m->hdr.request == VHOST_USER_SET_VRING_ENABLE) {
			if (v > 1 ||
			    (v && !vq->enabled && !(b->status & VIRTIO_CONFIG_S_FEATURES_OK)))
				return 1;
			if (v == vq->enabled)
				return 0; /* nothing to do */
			*unchanged = false;
			return v ? -1 : 0;
		}
		*unchanged = false;
		return 0;
	case VHOST_USER_SET_VRING_ADDR:
		index = m->addr.index;
		if (size != sizeof(m->addr) || index >= nq || b->vqs[index].desc || m->addr.flags ||
		    !user_to_gpa(b, m->addr.desc, &gpa) || !user_to_gpa(b, m->addr.avail, &gpa) ||
		    !user_to_gpa(b, m->addr.used, &gpa))
			return 1;
		*unchanged = false;
		return 0;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		nofd = v & VHOST_USER_VRING_NOFD_MASK;
		if (size != 8 ||
		    (v & ~(uint64_t)(VHOST_USER_VRING_INDEX_MASK | VHOST_USER_VRING_NOFD_MASK)) ||
		    (v & VHOST_USER_VRING_INDEX_MASK) >= nq || nofd != !f->n || f->n > 1)
			return 1;
		if (m->hdr.request != VHOST_USER_SET_VRING_KICK) {
			*unchanged = false;
			return 0;
		}
		/* Only an eventfd kicks; no kick file means polling, which accord does not do. */
		if (nofd || (f->kind[0] & 7) != 1)
			return 1;
		*unchanged = false;
		if (b->has_protocol_features)
			return 0;
		/* Without protocol features the kick starts the ring. */
		return (b->status & VIRTIO_CONFIG_S_FEATURES_OK) ? -1 : 1;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		if (size || f->n != 1)
			return 1;
		*unchanged = false;
		return 0;
	case VHOST_USER_RESET_OWNER:
		*unchanged = false;
		return 0;
	default:
		return 1; /* a request the backend does not handle: refused */
	}
}

static enum reply_kind reply_kind(const struct vhost_user_msg *m)
{
	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
		return R_U64;
	case VHOST_USER_GET_CONFIG:
		return R_CONFIG;
	case VHOST_USER_GET_VRING_BASE:
		if (m->hdr.size == 8 && m->state.index < fz.vdev->nr_queues)
			return R_STATE;
		break;
	}
	return (m->hdr.flags & VHOST_USER_FLAG_NEED_REPLY) ? R_ACK : R_NONE;
}

static void check_reply(const struct vhost_user_msg *m, const struct snap *b, const uint8_t *buf,
			size_t got, int *ack)
{
	enum reply_kind kind = reply_kind(m);
	struct vhost_user_msg r;
	const struct vhost_user_config *c = &m->config;

	if (kind == R_NONE) {
		check(!got);
		return;
	}
	/* Exactly one reply, whole. */
	check(got >= sizeof(r.hdr) && got <= sizeof(r));
	memset(&r, 0, sizeof(r));
	memcpy(&r, buf, got);
	check(got == sizeof(r.hdr) + r.hdr.size);
	check(r.hdr.request == m->hdr.request);
	check(r.hdr.flags == (VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY));
	switch (kind) {
	case R_ACK:
		check(r.hdr.size == 8 && r.u64 <= 1);
		*ack = (int)r.u64;
		break;
	case R_U64:
		check(r.hdr.size == 8);
		if (m->hdr.request == VHOST_USER_GET_FEATURES)
			check(r.u64 == (fz.vdev->device_features |
					(1ull << VHOST_USER_F_PROTOCOL_FEATURES)));
		else if (m->hdr.request == VHOST_USER_GET_QUEUE_NUM)
			check(r.u64 == fz.vdev->nr_queues);
		else
			check(!(r.u64 & ~KNOWN_PROTOCOL_FEATURES) &&
			      (r.u64 & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)));
		break;
	case R_STATE: {
		const struct virtq *vq = &b->vqs[m->state.index];

		check(r.hdr.size == sizeof(r.state) && r.state.index == m->state.index);
		check(r.state.num == (vq->desc ? vq->last_avail : b->vrings[m->state.index].base));
		break;
	}
	case R_CONFIG:
		check(r.config.offset == c->offset && r.config.flags == c->flags);
		if (!config_fits(m)) {
			/* An answer without payload: the read failed. */
			check(r.hdr.size == CONFIG_HDR && r.config.size == 0);
			break;
		}
		check(r.hdr.size == m->hdr.size && r.config.size == c->size);
		if (fz.is_probe)
			check(!memcmp(r.config.payload, fz.probe.config + c->offset, c->size));
		break;
	default:
		break;
	}
}

/* What an accepted or refused message must have done. */
static void check_effect(const struct vhost_user_msg *m, const struct snap *b, int ok)
{
	struct vhost_user *vu = &fz.vu;
	struct virtio_dev *vdev = fz.vdev;
	uint32_t index = m->state.index;
	uint64_t v = m->u64;

	if (m->hdr.request == VHOST_USER_GET_VRING_BASE && reply_kind(m) == R_STATE) {
		/* GET_VRING_BASE stops the ring. */
		check(vu->vrings[index].kick.fd == -1);
		check(!vdev->vqs[index].enabled && !vdev->vqs[index].desc);
		return;
	}
	if (ok < 0)
		return;
	if (ok) {
		if (m->hdr.request == VHOST_USER_SET_MEM_TABLE)
			check(!vu->mem.nr_regions ||
			      (vu->mem.nr_regions == b->nr_regions &&
			       !memcmp(vu->mem.regions, b->regions, sizeof(b->regions))));
		/* Features refused (not for their size): the driver starts over without. */
		if (m->hdr.request == VHOST_USER_SET_FEATURES && m->hdr.size == 8)
			check(!(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK));
		return;
	}
	switch (m->hdr.request) {
	case VHOST_USER_RESET_OWNER:
		check(vdev->status == 0);
		break;
	case VHOST_USER_SET_FEATURES:
		check(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK);
		check(vdev->driver_features == (v & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES)));
		check(vu->has_protocol_features ==
		      !!(v & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)));
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		check(vu->protocol_features == v);
		break;
	case VHOST_USER_SET_MEM_TABLE:
		check(vu->mem.nr_regions == m->mem.num);
		for (unsigned int i = 0; i < m->mem.num; i++) {
			const struct vhost_user_mem_region *want = &m->mem.regions[i];
			const struct guest_mem_region *r = &vu->mem.regions[i];

			check(r->gpa == want->guest_addr && r->size == want->size);
			check(r->fd_offset == want->mmap_offset);
			check(vu->maps[i].user_addr == want->user_addr);
		}
		break;
	case VHOST_USER_SET_VRING_NUM:
		check(vdev->vqs[index].size == m->state.num);
		break;
	case VHOST_USER_SET_VRING_BASE:
		check(vu->vrings[index].has_base && vu->vrings[index].base == m->state.num);
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		check(vdev->vqs[index].enabled == !!m->state.num);
		check(!!vdev->vqs[index].desc == !!m->state.num);
		break;
	case VHOST_USER_SET_VRING_ADDR: {
		const struct virtq *vq = &vdev->vqs[m->addr.index];
		uint64_t gpa = 0;

		check(user_to_gpa(b, m->addr.desc, &gpa) && vq->desc_gpa == gpa);
		check(user_to_gpa(b, m->addr.avail, &gpa) && vq->avail_gpa == gpa);
		check(user_to_gpa(b, m->addr.used, &gpa) && vq->used_gpa == gpa);
		break;
	}
	case VHOST_USER_SET_VRING_KICK:
		index = v & VHOST_USER_VRING_INDEX_MASK;
		check(vu->vrings[index].kick.fd >= 0);
		/* Without protocol features the kick file starts the ring. */
		if (!b->has_protocol_features)
			check(vdev->vqs[index].desc);
		break;
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		index = v & VHOST_USER_VRING_INDEX_MASK;
		if (m->hdr.request == VHOST_USER_SET_VRING_CALL)
			check((vu->vrings[index].call_fd == -1) ==
			      !!(v & VHOST_USER_VRING_NOFD_MASK));
		else
			check((vu->vrings[index].err_fd == -1) ==
			      !!(v & VHOST_USER_VRING_NOFD_MASK));
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		check(vu->backend_fd >= 0);
		break;
	case VHOST_USER_SET_CONFIG:
		if (fz.is_probe)
			check(!memcmp(fz.probe.config + m->config.offset, m->config.payload,
				      m->config.size));
		break;
	default:
		break;
	}
}

/* Only the device moves a running ring: no message may rewind or advance it. */
static void check_running_rings(const struct snap *b)
{
	for (unsigned int q = 0; q < fz.vdev->nr_queues; q++) {
		const struct virtq *vq = &fz.vdev->vqs[q];

		if (!b->vqs[q].desc || vq->desc != b->vqs[q].desc)
			continue;
		check(vq->last_avail == b->vqs[q].last_avail);
		check(vq->used_idx == b->vqs[q].used_idx);
	}
}

static bool valid_header(const struct vhost_user_hdr *h)
{
	return (h->flags & VHOST_USER_VERSION_MASK) == VHOST_USER_VERSION &&
	       !(h->flags & ~(VHOST_USER_VERSION_MASK | VHOST_USER_FLAG_NEED_REPLY)) &&
	       h->size <= VHOST_USER_PAYLOAD_MAX;
}

/* The files of the first write that begins inside the header the backend read. */
static void files_of(size_t start, size_t hdr_len, struct got_files *f)
{
	*f = (struct got_files){ 0, NULL, false };
	while (fz.next_rec < fz.nr_recs && fz.recs[fz.next_rec].start < start)
		fz.next_rec++;
	if (fz.next_rec == fz.nr_recs || fz.recs[fz.next_rec].start >= start + hdr_len)
		return;
	if (fz.recs[fz.next_rec].n > VHOST_USER_MAX_FDS) {
		f->truncated = true;
		return;
	}
	f->n = fz.recs[fz.next_rec].n;
	f->kind = fz.recs[fz.next_rec].kind;
}

static void handle(void)
{
	static uint8_t replies[REPLY_MAX];
	struct vhost_user_msg m;
	struct snap *b = &fz.before;
	int dupfd, pending = 0, left = 0, ret, ack, want;
	struct got_files f;
	size_t used, got;
	bool whole, unchanged;

	if (fz.vu.conn.fd < 0)
		return;
	/* A second reference to the backend's socket shows what it consumed, even once dropped. */
	dupfd = fcntl(fz.vu.conn.fd, F_DUPFD_CLOEXEC, 0);
	check(dupfd >= 0);
	check(!ioctl(dupfd, FIONREAD, &pending));
	check((size_t)pending == fz.sent - fz.consumed);
	take_snap(b);
	ret = vhost_user__handle_one(&fz.vu);
	check(!ioctl(dupfd, FIONREAD, &left));
	close(dupfd);
	check(left <= pending);
	used = (size_t)(pending - left);
	check(used <= sizeof(m));
	memset(&m, 0, sizeof(m));
	memcpy(&m, fz.shadow + fz.consumed, used);
	files_of(fz.consumed, used < sizeof(m.hdr) ? used : sizeof(m.hdr), &f);
	fz.consumed += used;
	got = fe_drain(fz.fe, replies, sizeof(replies));

	whole = used >= sizeof(m.hdr) && valid_header(&m.hdr) &&
		used == sizeof(m.hdr) + m.hdr.size && !f.truncated;
	if (!whole || (fz.deaf && reply_kind(&m) != R_NONE)) {
		/*
		 * A broken header is not read past; a short message or too many
		 * files, and a reply the front end no longer reads, drop it.
		 */
		check(used <= sizeof(m.hdr) || valid_header(&m.hdr));
		check(ret < 0 && !got);
		check_released();
		return;
	}
	/* The reply cannot fail: the harness reads every one. */
	check(ret == 0);
	want = expect(&m, b, &f, &unchanged);
	ack = want;
	check_reply(&m, b, replies, got, &ack);
	if (want >= 0)
		check(ack == want);
	if (fz.vu.conn.fd < 0) {
		/* Only a device that went NEEDS_RESET drops a front end that kept the rules. */
		check(m.hdr.request == VHOST_USER_SET_MEM_TABLE ||
		      m.hdr.request == VHOST_USER_SET_VRING_KICK ||
		      m.hdr.request == VHOST_USER_SET_VRING_ENABLE);
		check_released();
		return;
	}
	/* A new table under running rings makes the device need a reset: dropped above. */
	check(!fz.expect_drop);
	if (ack >= 0 && unchanged)
		check_unchanged(b);
	check_effect(&m, b, ack);
	check_running_rings(b);
	check_state();
}

/* What EPOLLIN on the connection would do: the pending messages, each checked. */
static void handle_pending(void)
{
	int pending = 0;

	for (unsigned int i = 0; i < 1024 && fz.vu.conn.fd >= 0; i++) {
		check(!ioctl(fz.vu.conn.fd, FIONREAD, &pending));
		if (!pending)
			break;
		handle();
	}
}

static void run_loop(unsigned int rounds)
{
	handle_pending();
	for (unsigned int i = 0; i < rounds; i++) {
		if (eventloop__run_once(&fz.loop, 0) <= 0)
			break;
	}
	check_state();
}

/* --- operations --- */

static void op_msg(struct input *in)
{
	static uint8_t buf[sizeof(struct vhost_user_hdr) + 0x10000];
	struct vhost_user_hdr h = { in_u8(in), VHOST_USER_VERSION, 0 };
	uint8_t mode = in_u8(in), split = 0;
	struct files f;
	uint16_t len;
	size_t total;

	if (mode & 1)
		h.flags |= VHOST_USER_FLAG_NEED_REPLY;
	read_files(in, &f);
	len = in_u16(in);
	h.size = len;
	if (mode & 2)
		h.size = in_u16(in);
	if (mode & 4)
		split = in_u8(in);
	if (mode & 8)
		h.flags = in_u8(in);
	memcpy(buf, &h, sizeof(h));
	in_bytes(in, buf + sizeof(h), len);
	total = sizeof(h) + len;
	if (split && split < total) {
		fe_write(buf, split, &f);
		fe_write(buf + split, total - split, NULL);
	} else {
		fe_write(buf, total, &f);
	}
	close_files(&f);
	if (!(mode & 16))
		handle();
}

static void op_raw(struct input *in)
{
	static uint8_t buf[0x10000];
	struct files f;
	uint16_t len;

	read_files(in, &f);
	len = in_u16(in);
	in_bytes(in, buf, len);
	fe_write(buf, len, &f);
	close_files(&f);
}

static void op_kick(struct input *in)
{
	uint8_t n = in_u8(in);
	uint64_t one = 1;

	handle_pending();
	if (fz.nr_evfds)
		check(write(fz.evfds[n % fz.nr_evfds], &one, sizeof(one)) == sizeof(one));
	run_loop(LOOP_ROUNDS);
}

static void op_ram(struct input *in)
{
	uint16_t off = in_u16(in);
	uint8_t len = in_u8(in), buf[256];

	in_bytes(in, buf, len);
	if (len > RAM_SIZE - off)
		len = (uint8_t)(RAM_SIZE - off);
	memcpy(fz.ram + off, buf, len);
}

static void op_reconnect(void)
{
	/* The backend reads what is left, then meets the end of the stream. */
	shutdown(fz.fe, SHUT_WR);
	while (fz.vu.conn.fd >= 0)
		handle(); /* each reads at least a byte or drops the front end */
	check_released();
	check(!close(fz.fe));
	connect_fe();
}

static void op_config(void)
{
	static uint8_t buf[REPLY_MAX];
	struct vhost_user *vu = &fz.vu;
	struct vhost_user_hdr h;
	ino_t ino = 0;
	bool want;

	for (unsigned int i = 0; i < fz.nr_peers; i++)
		fe_drain(fz.peers[i].fd, buf, sizeof(buf));
	pthread_mutex_lock(&fz.vdev->lock);
	virtio__config_changed(fz.vdev);
	pthread_mutex_unlock(&fz.vdev->lock);
	want = vu->backend_fd >= 0 &&
	       (vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)) &&
	       (fz.vdev->status & VIRTIO_CONFIG_S_DRIVER_OK);
	if (vu->backend_fd >= 0) {
		struct stat st;

		check(!fstat(vu->backend_fd, &st));
		want &= S_ISSOCK(st.st_mode);
		ino = st.st_ino;
	}
	for (unsigned int i = 0; i < fz.nr_peers; i++) {
		size_t got = fe_drain(fz.peers[i].fd, buf, sizeof(buf));

		if (!want || fz.peers[i].sent_ino != ino) {
			check(!got);
			continue;
		}
		/* One CONFIG_CHANGE_MSG, nothing else and no reply wanted. */
		check(got == sizeof(h));
		memcpy(&h, buf, sizeof(h));
		check(h.request == VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
		check(h.flags == VHOST_USER_VERSION && h.size == 0);
	}
	check_state();
}

/* --- one input --- */

static void setup(struct input *in)
{
	struct vhost_user_env env = { &fz.loop, &fz.log, &fz.rl };
	uint8_t dev = in_u8(in);

	check(!eventloop__init(&fz.loop));
	log__init(&fz.log, "fuzz", LOG_ERROR);
	ratelimit__init(&fz.rl, 1000, 10);
	vhost_user__prepare(&fz.vu, SPAN);
	fz.is_probe = dev & 1;
	if (fz.is_probe) {
		unsigned int shift = dev >> 4 > 8 ? 8 : dev >> 4;
		uint32_t config_size = 2u * in_u8(in);

		for (unsigned int i = 0; i < PROBE_CONFIG_MAX; i++)
			fz.probe.config[i] = (uint8_t)(i * 37 + 1);
		virtio__init(&fz.probe.vdev, &probe_ops, &fz.probe, PROBE_FEATURES,
			     1 + ((dev >> 1) & 7), (uint16_t)(1u << shift), config_size,
			     vhost_user__mem(&fz.vu), &fz.log, &fz.rl);
		fz.vdev = &fz.probe.vdev;
	} else {
		virtio_rng__init(&fz.rng, vhost_user__mem(&fz.vu), &fz.log, &fz.rl);
		fz.vdev = &fz.rng.vdev;
	}
	check(!vhost_user__init(&fz.vu, fz.vdev, NULL, &env, NULL));
	fz.ram_fd = make_memfd(RAM_SIZE / (unsigned int)page_size, false);
	fz.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fz.ram_fd, 0);
	check(fz.ram != MAP_FAILED);
	connect_fe();
}

static void teardown(void)
{
	/* A front end that goes away: the backend reads to the end and drops it. */
	shutdown(fz.fe, SHUT_WR);
	while (fz.vu.conn.fd >= 0)
		handle();
	vhost_user__exit(&fz.vu);
	check_released();
	if (fz.is_probe)
		virtio__exit(&fz.probe.vdev);
	else
		virtio_rng__exit(&fz.rng);
	/* The harness's files are still its own: the backend closed none of them. */
	check(!close(fz.fe));
	for (unsigned int i = 0; i < fz.nr_evfds; i++)
		check(!close(fz.evfds[i]));
	for (unsigned int i = 0; i < fz.nr_peers; i++)
		check(!close(fz.peers[i].fd));
	check(!munmap(fz.ram, RAM_SIZE));
	check(!close(fz.ram_fd));
	ratelimit__destroy(&fz.rl);
	eventloop__exit(&fz.loop);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* As accord's main: a call or backend file whose reader is gone is EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	page_size = sysconf(_SC_PAGESIZE);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	int fds = count_fds();
	bool mapped;

	memset(&fz, 0, offsetof(struct fuzz_state, shadow));
	setup(&in);
	while (in.left) {
		switch (in_u8(&in) % 9) {
		case 0:
			op_msg(&in);
			break;
		case 1:
			op_raw(&in);
			break;
		case 2:
			handle();
			break;
		case 3:
			op_kick(&in);
			break;
		case 4:
			op_ram(&in);
			break;
		case 5:
			op_reconnect();
			break;
		case 6:
			op_config();
			break;
		case 7:
			run_loop(1);
			break;
		default:
			shutdown(fz.fe, SHUT_RD);
			fz.deaf = true;
			break;
		}
	}
	mapped = fz.mapped;
	teardown();
	check(count_fds() == fds);
	if (mapped)
		check_no_mappings();
	return 0;
}
