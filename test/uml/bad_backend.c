// SPDX-License-Identifier: MIT
/*
 * bad_backend: a hostile virtio-resource device, for tests only
 * (test/uml/test_hostile.c). It serves device 57 over vhost-user to a
 * User-mode Linux child as accord does, but breaks the protocol on purpose
 * and deterministically (counters, no clock or randomness in the choices),
 * so that successive probes of the guest driver meet different faults:
 * each driver session (from its first config read to the next device
 * reset) gets the next configuration of sessions[], every chain on the
 * answered queues the next answer of a rotation (enum answer), and a timer
 * fills the posted event buffers with malformed events (enum event) and
 * raises config interrupts, every third with a configuration that is wrong.
 *
 *   bad_backend [-t SECONDS] [-m MIB] [-k SECONDS] KERNEL INITRD CMDLINE
 *
 * With -k the device behaves instead (the first, valid configuration of
 * sessions[] for every session, valid answers, no events) but for one
 * thing: it never answers a T_REQUEST, whose chain stays with the device.
 * The -k SECONDS after the first such chain arrived, the backend dies as
 * far as the guest can tell: it closes the vhost-user connection and the
 * backend channel and removes its socket, while UML runs on.
 *
 * The UML console goes to stdout, then a line "bad_backend: sessions=...".
 * Exits with UML's status, or 124 when the timeout (default 240 s) killed
 * it. The socket and UML's files live in a private temporary directory,
 * removed at exit, and nothing of UML's process group is left.
 */
#include <endian.h>
#include <errno.h>
#include <ftw.h>
#include <libfdt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "accord/inventory.h"
#include "accord/uml.h"
#include "accord/vhost_user.h"
#include "accord/virtio.h"
#include "linux/virtio_resource.h"
#include "rc_inventory.h"
#include "accord/tmpfile.h"

#define MEM_MAX	     (1ull << 30)
#define GRANULE	     (2ull << 20)
#define INV_SIZE     32768 /* inventory_size of the valid configurations */
#define FDT_DEPTH    1500  /* nodes of the deeply nested tree */
#define TICK_MS	     250
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* version, granule, granted, inventory_size and max_message vary; the rest is fixed. */
#define CFG(ver, gran, granted, inv, msg)                                       \
	{                                                                       \
		ver, 7, 0, inv, gran, MEM_MAX, granted, 0, 2, 1, msg, 64, 8, 64 \
	}
#define CFG_OK CFG(1, GRANULE, MEM_MAX, INV_SIZE, 4096)

/* One entry per driver session, in order, then again from the start. */
static const struct {
	const char *name;
	bool hello_ok; /* HELLO gets a valid WELCOME, otherwise the next answer of the rotation */
	struct virtio_resource_config cfg;
} sessions[] = {
	{ "valid", true, CFG_OK },
	{ "version 2", true, CFG(2, GRANULE, MEM_MAX, INV_SIZE, 4096) },
	{ "valid, HELLO in the rotation", false, CFG_OK },
	{ "granule of 3 MiB", true, CFG(1, 3 << 20, MEM_MAX, INV_SIZE, 4096) },
	{ "granted 4 MiB below the maximum", true,
	  CFG(1, GRANULE, MEM_MAX - 2 * GRANULE, INV_SIZE, 4096) },
	{ "granted above the maximum", true, CFG(1, GRANULE, MEM_MAX + GRANULE, INV_SIZE, 4096) },
	{ "inventory_size 0", true, CFG(1, GRANULE, MEM_MAX, 0, 4096) },
	{ "inventory_size 1 GiB", true, CFG(1, GRANULE, MEM_MAX, 1u << 30, 4096) },
	{ "valid, HELLO in the rotation", false, CFG_OK },
	{ "max_message 0", true, CFG(1, GRANULE, MEM_MAX, INV_SIZE, 0) },
	{ "granted 4 MiB below the maximum", true,
	  CFG(1, GRANULE, MEM_MAX - 2 * GRANULE, INV_SIZE, 4096) },
	{ "valid", true, CFG_OK },
};

/* Answers: what a correct host would answer, but for what the comment says. */
enum answer {
	A_VALID,
	A_SHORT,	/* 13 bytes, less than a header */
	A_LEN_BIG,	/* hdr.len 64 bytes more than written */
	A_LEN_SMALL,	/* hdr.len 8 bytes less than written */
	A_TYPE_UNKNOWN, /* type 0x4242 */
	A_TYPE_REQUEST, /* T_REQUEST, a request type */
	A_FLAGS,	/* flags 0x8000 */
	A_TXN,		/* a txn the driver did not use */
	A_WELCOME_V99,	/* A_WELCOME of version 99 */
	A_INV_GARBAGE,	/* A_INVENTORY: the FDT magic, then noise */
	A_INV_TRUNC,	/* A_INVENTORY: half of a valid tree */
	A_INV_PAST,	/* A_INVENTORY: totalsize or the structure block past the data */
	A_INV_NESTED,	/* A_INVENTORY: FDT_DEPTH nested nodes */
	A_GRANT_KIND,	/* A_GRANT of kind 0x99 */
	A_GRANT_HUGE,	/* A_GRANT of 2^64 - 1 bytes */
	A_OFFER_ODD,	/* A_OFFER: all of memory now, 2^40 vCPUs after 49 days */
	A_ERROR_STATUS, /* A_ERROR with status 77 */
	A_TOO_BIG,	/* A_ERROR TOO_BIG: the driver asks again */
	A_ZERO,		/* nothing written, used length 0 */
	A_USED_LIE,	/* used length 1 MiB past the chain */
};

static const enum answer answer_rotation[] = {
	A_SHORT,	A_LEN_BIG,    A_TYPE_UNKNOWN, A_VALID,	      A_LEN_SMALL,
	A_TYPE_REQUEST, A_FLAGS,      A_TXN,	      A_WELCOME_V99,  A_GRANT_KIND,
	A_VALID,	A_GRANT_HUGE, A_OFFER_ODD,    A_ERROR_STATUS, A_ZERO,
	A_TOO_BIG,	A_USED_LIE,   A_VALID,	      A_INV_GARBAGE,  A_INV_NESTED,
};
/* GET_INVENTORY has its own, mostly broken descriptions; T_REQUEST odd grants and offers. */
static const enum answer inventory_rotation[] = {
	A_INV_GARBAGE, A_INV_TRUNC, A_VALID, A_INV_PAST, A_INV_PAST, A_INV_NESTED,
	A_TOO_BIG,     A_LEN_SMALL, A_TXN,   A_VALID,	 A_ZERO,     A_USED_LIE,
};
static const enum answer request_rotation[] = {
	A_OFFER_ODD, A_VALID, A_GRANT_HUGE, A_VALID, A_GRANT_KIND, A_TXN, A_TOO_BIG,
};

/* Events, in this order. */
enum event {
	E_UNKNOWN,	  /* type 0x55 */
	E_RECLAIM_HUGE,	  /* EV_RECLAIM of 2^63 bytes within 1 ms */
	E_RECLAIM_TARGET, /* EV_RECLAIM to a target above the maximum */
	E_RECLAIM_KIND,	  /* EV_RECLAIM of kind 0x77 */
	E_MESSAGE_LEN,	  /* EV_MESSAGE whose hdr.len says 4000 of 40 bytes */
	E_MESSAGE,	  /* a valid EV_MESSAGE */
	E_ALLOCATION,	  /* EV_ALLOCATION 1000 generations on, granting more than exists */
	E_GRANT_STRANGER, /* EV_GRANT for a txn never asked for */
	E_GRANT_KIND,	  /* EV_GRANT for the last granted request, of another kind */
	E_RENEGOTIATE,	  /* EV_RENEGOTIATE of the last granted request down to 0 */
	E_OFFER_ALTS,	  /* EV_OFFER with 5 alternatives */
	E_TRUNCATED,	  /* 10 bytes of a header */
	E_ZERO,		  /* nothing written, used length 0 */
	E_USED_LIE,	  /* an EV_ALLOCATION with a used length past the buffer */
	E_COUNT,
};

union msg {
	void *p;
	struct virtio_resource_hdr *hdr;
	struct virtio_resource_welcome *welcome;
	struct virtio_resource_grant *grant;
	struct virtio_resource_offer *offer;
	struct virtio_resource_ack *ack;
	struct virtio_resource_error *error;
	struct virtio_resource_ev_reclaim *reclaim;
	struct virtio_resource_ev_allocation *allocation;
	struct virtio_resource_renegotiate *renegotiate;
	struct virtio_resource_message *message;
};

struct bad {
	struct virtio_dev vdev;
	struct vhost_user vu;
	struct virtio_resource_config cfg;
	unsigned int session; /* index in sessions[] */
	bool fresh;	      /* the next config read starts a session */
	unsigned int sessions, answers, inv_answers, req_answers, valid, events, changes, ticks;
	unsigned int drop_s;	 /* -k: a valid host that parks requests, then dies */
	unsigned int parked;	 /* T_REQUEST chains kept unanswered */
	struct timespec drop_at; /* when the connection goes (-k, after the first park) */
	bool dropped;
	uint64_t last_txn;  /* the driver's newest */
	uint64_t grant_txn; /* the last request granted (validly or 2^64 - 1 bytes) */
	uint8_t out[INV_SIZE + 4096] __attribute__((aligned(8)));
};

static struct bad bad;
static struct host_inventory host; /* two CPUs, one node */
static struct rc_inventory parsed;
static char dir[64];

static void bad__config_read(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	struct bad *b = vdev->priv;
	uint32_t gen = b->cfg.generation + 1;

	if (b->fresh) {
		b->fresh = false;
		b->session = b->drop_s ? 0 : b->sessions % ARRAY_LEN(sessions);
		b->sessions++;
		b->cfg = sessions[b->session].cfg;
		b->cfg.generation = gen;
		b->last_txn = b->grant_txn = 0; /* the driver numbers from 1 again */
		fprintf(stderr, "bad_backend: session %u: %s\n", b->sessions,
			sessions[b->session].name);
	}
	memcpy(data, (const uint8_t *)&b->cfg + offset, len);
}

static void bad__reset(struct virtio_dev *vdev)
{
	((struct bad *)vdev->priv)->fresh = true;
}

/* ---- messages ---- */

/* Start a message in b->out: its header, the rest of the largest fixed message zeroed. */
static struct virtio_resource_hdr *put(struct bad *b, uint16_t type, uint32_t len, uint64_t txn,
				       uint32_t status)
{
	memset(b->out, 0, sizeof(struct virtio_resource_offer));
	*(struct virtio_resource_hdr *)b->out =
		(struct virtio_resource_hdr){ type, 0, len, txn, 0, status };
	return (struct virtio_resource_hdr *)b->out;
}

static void be32_at(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static size_t bad__fdt_valid(struct bad *b, uint8_t *buf)
{
	struct inventory_alloc a = { .generation = b->cfg.generation,
				     .mem_max = b->cfg.mem_max,
				     .mem_granted = b->cfg.mem_granted,
				     .granule = GRANULE,
				     .vcpus_max = 2,
				     .vcpus_granted = 1 };
	struct acc_err err;
	int n;

	inventory__cpuset_set(&a.cpus, 0);
	inventory__cpuset_set(&a.cpus, 1);
	n = inventory__to_fdt(&host, &a, buf, INV_SIZE, &err);
	return n > 0 ? (size_t)n : 0;
}

static size_t bad__fdt_nested(uint8_t *buf)
{
	int ret = fdt_create(buf, INV_SIZE);

	ret = ret ? ret : fdt_finish_reservemap(buf);
	for (int i = 0; !ret && i <= FDT_DEPTH; i++)
		ret = fdt_begin_node(buf, i ? "n" : "");
	for (int i = 0; !ret && i <= FDT_DEPTH; i++)
		ret = fdt_end_node(buf);
	ret = ret ? ret : fdt_finish(buf);
	return ret ? 0 : fdt_totalsize(buf);
}

/* A_INVENTORY with a description that is valid or broken as @f says; its length. */
static size_t bad__inventory(struct bad *b, enum answer f, uint64_t txn)
{
	struct virtio_resource_hdr *h = put(b, VIRTIO_RESOURCE_A_INVENTORY, 0, txn, 0);
	uint8_t *fdt = b->out + sizeof(*h);
	uint32_t x = 2463534242u + b->inv_answers;
	size_t len = 1024;

	if (f == A_INV_NESTED) {
		len = bad__fdt_nested(fdt);
	} else if (f == A_INV_GARBAGE) {
		for (size_t i = 0; i < len; i += 4) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			be32_at(fdt + i, x);
		}
		be32_at(fdt, FDT_MAGIC);
	} else {
		len = bad__fdt_valid(b, fdt);
		if (f == A_INV_TRUNC)
			len /= 2; /* the tree's header still says the whole size */
		else if (f == A_INV_PAST && b->inv_answers % 2)
			be32_at(fdt + 4, 0x40000000); /* totalsize */
		else if (f == A_INV_PAST)
			be32_at(fdt + 36, 0xfffffff0); /* size_dt_struct */
	}
	h->len = (uint32_t)(sizeof(*h) + len);
	return h->len;
}

/* The answer a well-behaved host could give to @rq, in b->out; its length. */
static size_t bad__valid(struct bad *b, const struct virtio_resource_request *rq)
{
	union msg m = { b->out };
	uint64_t txn = rq->hdr.txn;

	switch (rq->hdr.type) {
	case VIRTIO_RESOURCE_T_HELLO:
		put(b, VIRTIO_RESOURCE_A_WELCOME, sizeof(*m.welcome), txn, 0);
		m.welcome->version = VIRTIO_RESOURCE_VERSION;
		m.welcome->guest_id = b->cfg.guest_id;
		return sizeof(*m.welcome);
	case VIRTIO_RESOURCE_T_GET_INVENTORY:
		return bad__inventory(b, A_VALID, txn);
	case VIRTIO_RESOURCE_T_REQUEST:
		put(b, VIRTIO_RESOURCE_A_GRANT, sizeof(*m.grant), txn, 0);
		m.grant->kind = rq->kind;
		m.grant->amount = m.grant->allocation = rq->amount;
		return sizeof(*m.grant);
	case VIRTIO_RESOURCE_T_RESERVE:
	case VIRTIO_RESOURCE_T_UNRESERVE:
	case VIRTIO_RESOURCE_T_MESSAGE:
		put(b, VIRTIO_RESOURCE_A_ACK, sizeof(*m.ack), txn, 0);
		m.ack->mem_granted = b->cfg.mem_granted;
		m.ack->mem_reserved = b->cfg.mem_reserved;
		m.ack->vcpus_granted = b->cfg.vcpus_granted;
		return sizeof(*m.ack);
	}
	put(b, VIRTIO_RESOURCE_A_ERROR, sizeof(*m.error), txn, VIRTIO_RESOURCE_S_UNSUPPORTED);
	return sizeof(*m.error);
}

/* The answer to @rq with fault @f, in b->out; the bytes to write. */
static size_t bad__build(struct bad *b, enum answer f, const struct virtio_resource_request *rq)
{
	union msg m = { b->out };
	uint64_t txn = rq->hdr.txn;
	size_t len;

	switch (f) {
	case A_WELCOME_V99:
		put(b, VIRTIO_RESOURCE_A_WELCOME, sizeof(*m.welcome), txn, 0);
		m.welcome->version = 99;
		return sizeof(*m.welcome);
	case A_INV_GARBAGE:
	case A_INV_TRUNC:
	case A_INV_PAST:
	case A_INV_NESTED:
		return bad__inventory(b, f, txn);
	case A_GRANT_KIND:
	case A_GRANT_HUGE:
		put(b, VIRTIO_RESOURCE_A_GRANT, sizeof(*m.grant), txn, 0);
		m.grant->kind = f == A_GRANT_KIND ? 0x99 : VIRTIO_RESOURCE_K_MEMORY;
		m.grant->amount = m.grant->allocation = f == A_GRANT_KIND ? 1 : UINT64_MAX;
		return sizeof(*m.grant);
	case A_OFFER_ODD:
		put(b, VIRTIO_RESOURCE_A_OFFER, sizeof(*m.offer), txn, 0);
		m.offer->offer_id = UINT32_MAX;
		m.offer->nr_alternatives = 2;
		m.offer->alt[0] = (struct virtio_resource_alternative){
			VIRTIO_RESOURCE_K_MEMORY, VIRTIO_RESOURCE_ALT_PART_NOW, 0, UINT64_MAX
		};
		m.offer->alt[1] =
			(struct virtio_resource_alternative){ VIRTIO_RESOURCE_K_VCPU,
							      VIRTIO_RESOURCE_ALT_REST_LATER,
							      UINT32_MAX, 1ull << 40 };
		return sizeof(*m.offer);
	case A_ERROR_STATUS:
	case A_TOO_BIG:
		put(b, VIRTIO_RESOURCE_A_ERROR, sizeof(*m.error), txn,
		    f == A_TOO_BIG ? VIRTIO_RESOURCE_S_TOO_BIG : 77);
		return sizeof(*m.error);
	default:
		break;
	}
	len = bad__valid(b, rq);
	if (f == A_LEN_BIG)
		m.hdr->len += 64;
	if (f == A_LEN_SMALL)
		m.hdr->len -= 8;
	if (f == A_TYPE_UNKNOWN)
		m.hdr->type = 0x4242;
	if (f == A_TYPE_REQUEST)
		m.hdr->type = VIRTIO_RESOURCE_T_REQUEST;
	if (f == A_FLAGS)
		m.hdr->flags = 0x8000;
	if (f == A_TXN)
		m.hdr->txn ^= 0x5a5a0000;
	return f == A_SHORT ? 13 : len;
}

/* -k: keep a T_REQUEST chain; the first one sets the time the connection goes. */
static int bad__park(struct bad *b, uint64_t txn)
{
	if (!b->parked++) {
		clock_gettime(CLOCK_MONOTONIC, &b->drop_at);
		b->drop_at.tv_sec += b->drop_s;
	}
	fprintf(stderr, "bad_backend: T_REQUEST txn %llu parked\n", (unsigned long long)txn);
	return VIRTIO_REQ_DEFERRED;
}

/* Every chain on the answered queues: read the message, write a (bad) answer. */
static int bad__answer(struct virtio_dev *vdev, struct virtq_chain *chain, const char **why)
{
	struct bad *b = vdev->priv;
	struct virtio_resource_request rq = { 0 }; /* the most of a message looked at */
	uint64_t wrote;
	enum answer f;
	size_t len;

	virtq__read(chain, 0, &rq, sizeof(rq));
	if (rq.hdr.txn > b->last_txn && !(rq.hdr.txn >> 63))
		b->last_txn = rq.hdr.txn;
	if (b->drop_s && rq.hdr.type == VIRTIO_RESOURCE_T_REQUEST)
		return bad__park(b, rq.hdr.txn);
	if (b->drop_s || (rq.hdr.type == VIRTIO_RESOURCE_T_HELLO && sessions[b->session].hello_ok))
		f = A_VALID;
	else if (rq.hdr.type == VIRTIO_RESOURCE_T_GET_INVENTORY)
		f = inventory_rotation[b->inv_answers++ % ARRAY_LEN(inventory_rotation)];
	else if (rq.hdr.type == VIRTIO_RESOURCE_T_REQUEST)
		f = request_rotation[b->req_answers++ % ARRAY_LEN(request_rotation)];
	else
		f = answer_rotation[b->answers++ % ARRAY_LEN(answer_rotation)];
	b->valid += f == A_VALID;
	if (rq.hdr.type == VIRTIO_RESOURCE_T_REQUEST && (f == A_VALID || f == A_GRANT_HUGE))
		b->grant_txn = rq.hdr.txn;
	len = bad__build(b, f, &rq);
	((struct virtio_resource_hdr *)b->out)->app_id = rq.hdr.app_id;
	wrote = virtq__write(chain, 0, b->out, len);
	if (f == A_USED_LIE)
		return (int)(chain->in_len + (1u << 20));
	return f == A_ZERO ? 0 : (int)wrote;
}

static void bad__queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	/* Events come from the timer: eventq kicks only post buffers. */
	if (q != VIRTIO_RESOURCE_Q_EVENT)
		virtio__process_queue(vdev, q, bad__answer);
}

static size_t bad__build_event(struct bad *b, enum event f)
{
	union msg m = { b->out };
	uint64_t host_txn = (1ull << 63) | b->events,
		 last = b->grant_txn ? b->grant_txn : b->last_txn;

	switch (f) {
	case E_UNKNOWN:
		put(b, 0x55, sizeof(*m.hdr), host_txn, 0);
		return sizeof(*m.hdr);
	case E_RECLAIM_HUGE:
	case E_RECLAIM_TARGET:
	case E_RECLAIM_KIND:
		put(b, VIRTIO_RESOURCE_EV_RECLAIM, sizeof(*m.reclaim), host_txn, 0);
		m.reclaim->kind = f == E_RECLAIM_KIND ? 0x77 : VIRTIO_RESOURCE_K_MEMORY;
		m.reclaim->deadline_ms = f == E_RECLAIM_HUGE ? 1 : 100;
		m.reclaim->amount = f == E_RECLAIM_HUGE ? 1ull << 63 : GRANULE;
		m.reclaim->target = f == E_RECLAIM_TARGET ? UINT64_MAX : 0;
		return sizeof(*m.reclaim);
	case E_MESSAGE_LEN:
	case E_MESSAGE:
		put(b, VIRTIO_RESOURCE_EV_MESSAGE, f == E_MESSAGE ? sizeof(*m.message) + 8 : 4000,
		    host_txn, 0);
		memcpy(m.message->payload, "hostile!", 8);
		return sizeof(*m.message) + 8;
	case E_ALLOCATION:
	case E_USED_LIE:
		b->cfg.generation += 1000;
		put(b, VIRTIO_RESOURCE_EV_ALLOCATION, sizeof(*m.allocation), 0, 0);
		m.allocation->generation = b->cfg.generation;
		m.allocation->vcpus_granted = 1000;
		m.allocation->mem_granted = UINT64_MAX;
		return sizeof(*m.allocation);
	case E_GRANT_STRANGER:
	case E_GRANT_KIND:
		put(b, VIRTIO_RESOURCE_EV_GRANT, sizeof(*m.grant),
		    f == E_GRANT_KIND ? last : 0xdeadbeef, 0);
		m.grant->kind =
			f == E_GRANT_KIND ? VIRTIO_RESOURCE_K_VCPU : VIRTIO_RESOURCE_K_MEMORY;
		m.grant->amount = 1ull << 30;
		m.grant->allocation = UINT64_MAX;
		return sizeof(*m.grant);
	case E_RENEGOTIATE:
		put(b, VIRTIO_RESOURCE_EV_RENEGOTIATE, sizeof(*m.renegotiate), last, 0);
		m.renegotiate->kind = VIRTIO_RESOURCE_K_MEMORY;
		m.renegotiate->deadline_ms = 10;
		return sizeof(*m.renegotiate);
	case E_OFFER_ALTS:
		put(b, VIRTIO_RESOURCE_EV_OFFER, sizeof(*m.offer), last, 0);
		m.offer->nr_alternatives = VIRTIO_RESOURCE_MAX_ALTERNATIVES + 1;
		return sizeof(*m.offer);
	case E_TRUNCATED:
		put(b, VIRTIO_RESOURCE_EV_ALLOCATION, sizeof(*m.allocation), 0, 0);
		return 10;
	default:
		return 0;
	}
}

/* Fill one posted event buffer, if the driver has one. */
static void bad__event(struct bad *b)
{
	struct virtq *vq = &b->vdev.vqs[VIRTIO_RESOURCE_Q_EVENT];
	enum event f = (enum event)(b->events % E_COUNT);
	struct virtq_chain chain;
	const char *why;
	uint64_t used;
	int ret;

	ret = virtq__pop(vq, &chain, &why);
	if (ret) {
		if (ret != -ENOENT)
			virtio__needs_reset(&b->vdev, why);
		return;
	}
	used = virtq__write(&chain, 0, b->out, bad__build_event(b, f));
	used = f == E_ZERO ? 0 : f == E_USED_LIE ? chain.in_len + 100 : used;
	b->events++;
	virtq__push(vq, chain.head, (uint32_t)used);
	virtio__queue_done(&b->vdev, VIRTIO_RESOURCE_Q_EVENT);
}

/* Every tick two events; every fourth tick a config interrupt, every third of those wrong. */
static void bad__on_tick(struct event_handler *h, uint32_t events)
{
	struct bad *b = h->ctx;
	uint64_t n;

	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&b->vdev.lock);
	if (!b->drop_s && !b->fresh && b->vdev.vqs[VIRTIO_RESOURCE_Q_EVENT].desc &&
	    virtio__driver_ok(&b->vdev)) {
		bad__event(b);
		bad__event(b);
		if (++b->ticks % 4 == 0) {
			b->cfg.mem_granted = sessions[b->session].cfg.mem_granted;
			if (++b->changes % 3 == 0)
				b->cfg.mem_granted = b->cfg.mem_max + GRANULE;
			b->cfg.generation++;
			virtio__config_changed(&b->vdev);
		}
	}
	pthread_mutex_unlock(&b->vdev.lock);
}

static const struct virtio_dev_ops bad_ops = {
	.name = "bad-resource",
	.device_id = VIRTIO_ID_RESOURCE,
	.config_read = bad__config_read,
	.reset = bad__reset,
	.queue_notify = bad__queue_notify,
};

/* ---- the UML child ---- */

static struct uml_child child;
static bool child_gone;

static void on_console(struct event_handler *h, uint32_t events)
{
	char buf[4096];
	ssize_t n, w;

	while ((n = read(h->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n; off += w) {
			w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
			if (w <= 0)
				return; /* nobody reads stdout: drop it */
		}
	}
}

static void on_exit_fd(struct event_handler *h, uint32_t events)
{
	child_gone = uml__reap(&child) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void remove_dir(void)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what)
{
	fprintf(stderr, "bad_backend: %s\n", what);
	exit(1);
}

/* -k: once the time has come, go away as a backend that died would. */
static void bad__maybe_drop(struct bad *b)
{
	struct timespec now;

	if (!b->parked || b->dropped)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < b->drop_at.tv_sec ||
	    (now.tv_sec == b->drop_at.tv_sec && now.tv_nsec < b->drop_at.tv_nsec))
		return;
	fprintf(stderr, "bad_backend: closing the vhost-user connection with %u requests parked\n",
		b->parked);
	vhost_user__exit(&b->vu);
	b->dropped = true;
}

int main(int argc, char **argv)
{
	uint64_t features = (1ull << VIRTIO_RESOURCE_F_MEMORY) | (1ull << VIRTIO_RESOURCE_F_VCPU) |
			    (1ull << VIRTIO_RESOURCE_F_STATS) |
			    (1ull << VIRTIO_RESOURCE_F_MESSAGES) |
			    (1ull << VIRTIO_RESOURCE_F_FILES);
	struct itimerspec its = { { 0, TICK_MS * 1000000L }, { 0, TICK_MS * 1000000L } };
	struct event_handler tick, exit_h, console_h;
	struct uml_spawn spawn = { .mem_size = 64ull << 20, .run_dir = dir, .nr_devices = 1 };
	struct vhost_user_env env;
	struct event_loop loop;
	struct ratelimit rl;
	struct acc_log log;
	struct acc_err err;
	time_t timeout = 240, deadline;
	char sock[96];
	int opt, status;
	size_t len;

	while ((opt = getopt(argc, argv, "t:m:k:")) != -1) {
		if (opt == 't')
			timeout = atoi(optarg);
		else if (opt == 'k' && atoi(optarg) > 0)
			bad.drop_s = (unsigned int)atoi(optarg);
		else if (opt == 'm')
			spawn.mem_size = strtoull(optarg, NULL, 0) << 20;
		else
			optind = argc + 1;
	}
	if (argc - optind != 3)
		die("usage: bad_backend [-t SECONDS] [-m MIB] [-k SECONDS] KERNEL INITRD CMDLINE");
	spawn.kernel = argv[optind];
	spawn.initrd = argv[optind + 1];
	spawn.cmdline = argv[optind + 2];
	signal(SIGPIPE, SIG_IGN);

	/* The valid description must be valid, or the test proves nothing. */
	host = (struct host_inventory){ .mem_total = 8ull << 30, .nr_cpus = 2, .nr_nodes = 1 };
	host.cpus[0] = (struct inventory_cpu){ 0, 0, 0, 0, 0, true };
	host.cpus[1] = (struct inventory_cpu){ 1, 0, 1, 0, 0, true };
	host.nodes[0] = (struct inventory_node){ 0, host.mem_total };
	len = bad__fdt_valid(&bad, bad.out);
	if (!len || rc_inventory_parse(&parsed, bad.out, len) || !bad__fdt_nested(bad.out))
		die("cannot build the device trees");

	if (acc_mkdtemp(dir, sizeof(dir), "/tmp", "bad-backend"))
		die("cannot make a temporary directory");
	atexit(remove_dir);
	snprintf(sock, sizeof(sock), "%s/resource.sock", dir);
	log__init(&log, "bad_backend", LOG_WARN);
	ratelimit__init(&rl, 5000, 10);
	if (eventloop__init(&loop))
		die("epoll");
	bad.fresh = true;
	vhost_user__prepare(&bad.vu, spawn.mem_size + UML_MEM_SLACK);
	virtio__init(&bad.vdev, &bad_ops, &bad, features, VIRTIO_RESOURCE_NR_QUEUES, 256,
		     sizeof(struct virtio_resource_config), vhost_user__mem(&bad.vu), &log, &rl);
	env = (struct vhost_user_env){ &loop, &log, &rl };
	if (vhost_user__init(&bad.vu, &bad.vdev, sock, &env, &err))
		die(err.msg);
	tick = (struct event_handler){ timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
				       bad__on_tick, &bad };
	if (tick.fd < 0 || timerfd_settime(tick.fd, 0, &its, NULL) ||
	    eventloop__add(&loop, &tick, EPOLLIN))
		die("timer");

	spawn.devices[0] = (struct uml_device){ sock, VIRTIO_ID_RESOURCE };
	if (uml__spawn(&child, &spawn, &err))
		die(err.msg);
	fprintf(stderr, "bad_backend: UML is process group %d\n", (int)child.pid);
	exit_h = (struct event_handler){ child.pidfd, on_exit_fd, NULL };
	console_h = (struct event_handler){ child.console_out, on_console, NULL };
	eventloop__add(&loop, &exit_h, EPOLLIN);
	eventloop__add(&loop, &console_h, EPOLLIN);
	deadline = time(NULL) + timeout;
	while (!child_gone && time(NULL) < deadline) {
		eventloop__run_once(&loop, 100);
		bad__maybe_drop(&bad);
	}
	if (child_gone) {
		status = uml__exit_status(&child);
	} else {
		fprintf(stderr, "bad_backend: timed out after %d s; stopping UML\n", (int)timeout);
		uml__stop(&child, 1000);
		status = 124;
	}
	on_console(&console_h, EPOLLIN); /* its last words */
	uml__close(&child);
	/* UML's guest processes were host processes in its group: wait until none is left. */
	for (int i = 0; i < 200 && kill(-child.pid, 0) == 0; i++) {
		kill(-child.pid, SIGKILL);
		usleep(10 * 1000);
	}
	printf("\nbad_backend: sessions=%u answers=%u inventory_answers=%u valid=%u events=%u "
	       "config_changes=%u parked=%u dropped=%d status=%d\n",
	       bad.sessions, bad.answers + bad.req_answers, bad.inv_answers, bad.valid, bad.events,
	       bad.changes, bad.parked, bad.dropped, status);
	vhost_user__exit(&bad.vu);
	virtio__exit(&bad.vdev);
	close(tick.fd);
	eventloop__exit(&loop);
	ratelimit__destroy(&rl);
	return status;
}
