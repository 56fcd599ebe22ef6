// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the virtio-resource device, host side (virtio/resource.c,
 * resource_negotiate.c, resource_control.c, resource_files.c and, through a
 * fake broker, resource_broker.c), and guest/core's codec (rc_codec*.c).
 *
 * The target plays the machine around the device as the unit tests do
 * (test/unit/resource_test.h): no KVM, guest RAM is a memfd, the target is
 * the guest driver writing descriptors and rings into it, and it is the
 * host: the machine's describe and set_vcpus, the control socket's commands
 * (refused with a broker, as src/control.c does) and the broker.
 *
 * Input: an 8-byte header choosing the VM (RAM size and layout, grants and
 * pools, a share, broker mode, features the driver refuses; see setup()),
 * then operations, each an opcode byte and its arguments (enum op; missing
 * bytes read as 0): raw bytes posted on a queue in a chosen chain shape
 * with a chosen answer room; messages built with the codec from a few bytes
 * (HELLO, REQUEST, ACCEPT, RELEASE, RESERVE, RENEGOTIATE, files...), so a
 * granted, released or renegotiated agreement is a few mutations away;
 * event buffers; set-allocation, reclaim, renegotiate, send-message and the
 * views; the broker's answers, deliveries, changes and messages; time
 * passing; device resets; and OP_REPEAT, which runs an operation up to 257
 * times so tables, offers, promises and backlogs fill up. Every input
 * builds a new device and frees it.
 *
 * Checks (abort()):
 *   - the device takes back only chains it was given; the used length fits
 *     the writable room; nothing is written past it or into readable
 *     buffers; the answer decodes with guest/core's decoder, re-encodes to
 *     the same bytes, is one the message may get and echoes its txn;
 *   - a chain is answered, parked for the broker, or the device went
 *     NEEDS_RESET (docs/protocol.md §6.14); a parked chain is not lost;
 *   - an A_ERROR or A_DENY, or a refused control command, changes no grant,
 *     reservation or generation; A_GRANT, A_DENY and A_ACK carry the
 *     allocation in effect; an offer stays within the VM's maximum;
 *   - grants are whole units between one unit and the VM's maximum, pending
 *     is what open offers and promises hold, reservations match their
 *     bitmap, the generation never goes back, the table is sane, and with a
 *     broker the device holds exactly what the broker handed out;
 *   - events decode and are ones this host sends; EV_ALLOCATION generations
 *     grow; a description the guest reads parses and matches the grant;
 *   - a reset leaves no HELLO, reservation, backlog, agreement or waiting call;
 *   - every message the codec decodes (the guest's and the device's)
 *     re-encodes to the same bytes; no file descriptor outlives its input.
 *
 * Determinism: this file defines clock__monotonic_ns(), so the library's
 * src/clock.c is not linked in. The clock restarts for every input, ticks
 * 1 us a call and jumps when an operation lets time pass, which makes offer
 * and renegotiation deadlines reachable without sleeping. Made once: the
 * RAM memfd (only the device's reservations, which punch, and the driver,
 * which clears its area as it starts, write to it), the share directory
 * (removed at exit; a crash leaves it behind) and the host inventory.
 *
 * ACCORD_FUZZ_TRACE=1 prints every operation, answer and event on stderr:
 *   ACCORD_FUZZ_TRACE=1 build/asan/test/fuzz/fuzz_resource crash-...
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_resource.h>
#include <linux/virtio_ring.h>

#include "accord/clock.h"
#include "accord/guest_mem.h"
#include "accord/inventory.h"
#include "accord/resource.h"
#include "accord/share.h"
#include "accord/tmpfile.h"
#include "rc_codec.h"
#include "rc_inventory.h"

#define MiB	  (1ull << 20)
#define MAX_RAM	  (128 * MiB)
#define HIGH_GPA  (4ull << 30) /* the split layout's second region */
#define GUEST_ID  7u
#define MAX_OPS	  512
#define MAX_STEPS 512 /* operations with OP_REPEAT's rounds */

/*
 * The driver's area: granule 0, which the target's own RESERVEs never name
 * (raw ones may; the driver then stops using its rings until a reset).
 *   RING_GPA(q)    queue q: descriptors, +0x1000 avail, +0x2000 used
 *   INDIRECT_GPA   slot s's indirect table at + s * 0x80
 *   OUT_GPA        slot s's message at + s * OUT_SLOT
 *   IN_GPA         slot s's answer room at + s * IN_SLOT
 *   EV_GPA         event buffer i at + i * EV_SLOT
 */
#define QSIZE	     256
#define RING_GPA(q)  ((uint64_t)(q)*0x4000)
#define INDIRECT_GPA 0x14000ull
#define NR_SLOTS     20
#define SLOT_DESCS   8 /* ring descriptors per slot */
#define OUT_GPA	     0x18000ull
#define OUT_SLOT     0x2000u
#define IN_GPA	     (OUT_GPA + NR_SLOTS * OUT_SLOT)
#define IN_SLOT	     0x11000u /* an A_DATA of 65536 bytes, its header and the guard */
#define EV_GPA	     (IN_GPA + NR_SLOTS * IN_SLOT)
#define EV_SLOT	     0x1100u
#define EV_SLOTS     16
#define AREA_END     (EV_GPA + EV_SLOTS * EV_SLOT)
#define CANARY	     0xee
#define GUARD	     16 /* canary bytes past every writable buffer */
#define NR_CALLS     64 /* awaited broker calls remembered for answers */

_Static_assert(AREA_END <= RES_GRANULE, "the driver's area is granule 0");
_Static_assert((NR_SLOTS * SLOT_DESCS) <= QSIZE, "slots fit the descriptor table");

/* A chain posted on requestq, statsq, messageq or fileq. */
struct slot {
	bool busy;
	bool parked; /* the device waits for the broker's answer */
	uint8_t q;
	uint16_t head;
	uint32_t msg_len;  /* readable bytes */
	uint32_t room;	   /* writable bytes */
	uint32_t fill;	   /* bytes of the room area that hold the canary */
	uint16_t msg_type; /* what rc_peek_type says of the message (0: nothing) */
	uint64_t txn;
	uint32_t app_id;
	uint64_t seq;
};

struct evbuf {
	bool busy;
	uint32_t len;
};

/* What the driver learnt about one of its transactions. */
struct memo {
	uint64_t txn;
	uint32_t offer_id;
	uint64_t granted;
	uint64_t proposed;
};

/* What must not change when the device refuses something. */
struct snap {
	uint64_t mem, vcpus, reserved;
	uint32_t generation;
};

/* Made once. */
static struct {
	bool ready;
	bool trace;	       /* ACCORD_FUZZ_TRACE set: operations, answers and events on stderr */
	struct guest_mem base; /* the memfd every input's RAM is carved from */
	struct host_inventory *inv;
	size_t fdt_cap; /* enough for any description of inv */
	uint8_t *fdt;	/* the last description made */
	char dir[256];	/* the share's parent */
	char share[300];
	struct acc_log log;
	uint8_t canary[IN_SLOT + GUARD];
	struct rc_inventory parsed;
	uint8_t enc[4096];     /* re-encoded messages */
	uint8_t msg[OUT_SLOT]; /* messages being built */
	uint8_t slot_msg[NR_SLOTS][OUT_SLOT];
} st;

/* One input's world. */
static struct {
	const uint8_t *p;
	size_t n;

	uint64_t ram;
	unsigned int vcpus_max;
	bool split, broker, away;
	struct guest_mem mem;
	struct share share;
	bool has_share;
	struct ratelimit rl;
	struct virtio_resource *r;

	uint16_t avail_idx[VIRTIO_RESOURCE_NR_QUEUES];
	uint16_t used_seen[VIRTIO_RESOURCE_NR_QUEUES];
	bool renotify[VIRTIO_RESOURCE_NR_QUEUES];
	struct slot slots[NR_SLOTS];
	struct evbuf ev[EV_SLOTS];
	bool area_punched;
	bool next_set;
	uint8_t next_shape, next_cap;
	struct memo memo[256];
	unsigned int rep;   /* the round of OP_REPEAT (0: none) */
	unsigned int steps; /* operations run, repeated ones included */
	uint32_t ev_generation;

	struct snap snap;
	uint32_t generation;

	struct resource_broker_call calls[NR_CALLS];
	unsigned int nr_calls;
	/*
	 * What the broker has given the VM (memory, vCPUs): its answers and
	 * moves add, the device's RELEASE reports take away. The device must
	 * hold exactly that (docs/broker.md: the two never drift); a link
	 * that went down registers again with the device's own numbers.
	 */
	uint64_t view[2];
} fz;

/* ---- the clock ---- */

#define CLOCK_START (1000ull * 1000000000ull)

static uint64_t fake_now;

uint64_t clock__monotonic_ns(void)
{
	fake_now += 1000;
	return fake_now;
}

/* ---- the input ---- */

static uint8_t get8(void)
{
	if (!fz.n)
		return 0;
	fz.n--;
	return *fz.p++;
}

static uint16_t get16(void)
{
	uint16_t v = get8();

	return (uint16_t)(v | get8() << 8);
}

static uint32_t get32(void)
{
	uint32_t v = get16();

	return v | (uint32_t)get16() << 16;
}

/* Up to @len bytes of input into @dst, zeros for what is missing. */
static void get_bytes(void *dst, size_t len)
{
	size_t k = len < fz.n ? len : fz.n;

	memcpy(dst, fz.p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	fz.p += k;
	fz.n -= k;
}

static uint64_t unit_of(uint16_t kind)
{
	return kind == VIRTIO_RESOURCE_K_VCPU ? 1 : RES_GRANULE;
}

/* The broker's view of @kind (NULL: a kind it does not hand out). */
static uint64_t *view_of(uint16_t kind)
{
	if (kind == VIRTIO_RESOURCE_K_MEMORY || kind == VIRTIO_RESOURCE_K_VCPU)
		return &fz.view[kind - VIRTIO_RESOURCE_K_MEMORY];
	return NULL;
}

/* The broker registers the VM (again): it takes the device's numbers. */
static void view_sync(void)
{
	fz.view[0] = fz.r->mem.granted;
	fz.view[1] = fz.r->vcpu.granted;
}

/* 0..3: memory, vCPUs, I/O bandwidth, or any kind value (unknown ones too). */
static uint16_t kind_of(uint8_t b)
{
	static const uint16_t kinds[] = { VIRTIO_RESOURCE_K_MEMORY, VIRTIO_RESOURCE_K_VCPU,
					  VIRTIO_RESOURCE_K_IO_BANDWIDTH };

	return (b & 3) < 3 ? kinds[b & 3] : (uint16_t)(b >> 2);
}

/* Whole units mostly; bit 7: not whole (memory) or far too many (vCPUs); 0xff: all ones. */
static uint64_t amount_of(uint16_t kind, uint8_t b)
{
	uint64_t unit = unit_of(kind);

	if (b == 0xff)
		return UINT64_MAX;
	if (b & 0x80)
		return unit > 1 ? (b & 0x7f) * unit + 4096 : (uint64_t)(b & 0x7f) << 24;
	return b * unit;
}

/*
 * Small guest txns, 0 included, moved on by each round of OP_REPEAT;
 * 0xf0..0xff look like the host's own.
 */
static uint64_t txn_of(uint8_t b)
{
	return b >= 0xf0 ? RES_HOST_TXN | ((b & 0xfu) + fz.rep) : b + (uint64_t)fz.rep;
}

/* What the driver knows of @txn (NULL: nothing); @add: make room to learn it. */
static struct memo *memo_of(uint64_t txn, bool add)
{
	struct memo *m = &fz.memo[(txn ^ txn >> 56) % 256];

	if (m->txn == txn)
		return m;
	if (!add)
		return NULL;
	*m = (struct memo){ .txn = txn };
	return m;
}

/* Granule @g of RAM past the driver's area, in address order (past the end: not RAM). */
static uint64_t granule_gpa(uint64_t g)
{
	uint64_t low = fz.split ? fz.ram / 2 : fz.ram, n_low = low / RES_GRANULE;

	g += 1;
	return g < n_low ? g * RES_GRANULE : HIGH_GPA + (g - n_low) * RES_GRANULE;
}

/* ---- checks ---- */

/*
 * memcmp() without libFuzzer's comparison hooks and coverage: the checks
 * compare up to 64 KiB per answer, which the hooks would make the slowest
 * part of a run for no gain in guidance.
 */
__attribute__((no_sanitize("coverage"))) static bool same_bytes(const void *a, const void *b,
								size_t n)
{
	const uint8_t *x = a, *y = b;
	uint64_t u, v;

	for (; n >= 8; n -= 8, x += 8, y += 8) {
		__builtin_memcpy(&u, x, 8);
		__builtin_memcpy(&v, y, 8);
		if (u != v)
			return false;
	}
	for (; n; n--)
		if (*x++ != *y++)
			return false;
	return true;
}

static uint64_t granted_of(uint16_t kind)
{
	struct policy_state *s = resource__kind_state(fz.r, kind);

	return s ? s->granted : 0;
}

static uint64_t max_of(uint16_t kind)
{
	struct policy_state *s = resource__kind_state(fz.r, kind);

	return s ? s->max : 0;
}

static void snap_take(struct snap *s)
{
	s->mem = fz.r->mem.granted;
	s->vcpus = fz.r->vcpu.granted;
	s->reserved = fz.r->memres.reserved;
	s->generation = fz.r->generation;
}

static bool snap_same(const struct snap *s)
{
	struct snap now;

	snap_take(&now);
	return now.mem == s->mem && now.vcpus == s->vcpus && now.reserved == s->reserved &&
	       now.generation == s->generation;
}

/* If the codec decodes @len bytes as the type they claim, encoding that gives them back. */
static void roundtrip(const uint8_t *b, size_t len)
{
	union {
		struct rc_hdr bare;
		struct rc_hello hello;
		struct rc_request request;
		struct rc_accept accept;
		struct rc_decline decline;
		struct rc_release release;
		struct rc_ranges ranges;
		struct rc_renegotiate renegotiate;
		struct rc_stats stats;
		struct rc_message message;
		struct rc_file_open open;
		struct rc_file_op op;
	} m;
	union rc_body u;
	struct rc_hdr h;
	uint8_t *o = st.enc;
	size_t n = 0, cap = sizeof(st.enc);

	/* Longer ones only add a byte copy of their payload: not worth checking again. */
	if (rc_decode_hdr(b, len, &h) || h.len > 1024)
		return;
	switch (h.type) {
	case VIRTIO_RESOURCE_T_HELLO:
		if (rc_decode_hello(b, len, &m.hello))
			return;
		n = rc_encode_hello(o, cap, &m.hello);
		break;
	case VIRTIO_RESOURCE_T_GET_INVENTORY:
		if (rc_decode_bare(b, len, &m.bare))
			return;
		n = rc_encode_bare(o, cap, &m.bare);
		break;
	case VIRTIO_RESOURCE_T_REQUEST:
		if (rc_decode_request(b, len, &m.request))
			return;
		n = rc_encode_request(o, cap, &m.request);
		break;
	case VIRTIO_RESOURCE_T_ACCEPT:
		if (rc_decode_accept(b, len, &m.accept))
			return;
		n = rc_encode_accept(o, cap, &m.accept);
		break;
	case VIRTIO_RESOURCE_T_DECLINE:
		if (rc_decode_decline(b, len, &m.decline))
			return;
		n = rc_encode_decline(o, cap, &m.decline);
		break;
	case VIRTIO_RESOURCE_T_RELEASE:
		if (rc_decode_release(b, len, &m.release))
			return;
		n = rc_encode_release(o, cap, &m.release);
		break;
	case VIRTIO_RESOURCE_T_RESERVE:
	case VIRTIO_RESOURCE_T_UNRESERVE:
		if (rc_decode_ranges(b, len, 0, &m.ranges))
			return;
		n = rc_encode_ranges(o, cap, &m.ranges);
		break;
	case VIRTIO_RESOURCE_T_RENEGOTIATE:
		if (rc_decode_renegotiate(b, len, &m.renegotiate))
			return;
		n = rc_encode_renegotiate(o, cap, &m.renegotiate);
		break;
	case VIRTIO_RESOURCE_T_STATS:
		if (rc_decode_stats(b, len, &m.stats))
			return;
		n = rc_encode_stats(o, cap, &m.stats);
		break;
	case VIRTIO_RESOURCE_T_MESSAGE:
		if (rc_decode_message(b, len, 0, &m.message))
			return;
		n = rc_encode_message(o, cap, &m.message);
		break;
	case VIRTIO_RESOURCE_T_FILE_OPEN:
		if (rc_decode_file_open(b, len, &m.open))
			return;
		n = rc_encode_file_open(o, cap, &m.open);
		break;
	case VIRTIO_RESOURCE_T_FILE_READ:
	case VIRTIO_RESOURCE_T_FILE_STAT:
	case VIRTIO_RESOURCE_T_FILE_CLOSE:
		if (rc_decode_file_op(b, len, &m.op))
			return;
		n = rc_encode_file_op(o, cap, &m.op);
		break;
	default:
		/* What the host sends: the guest driver's decoders. */
		if (rc_decode_from_host(b, len, 0, &h, &u))
			return;
		switch (h.type) {
		case VIRTIO_RESOURCE_A_WELCOME:
			n = rc_encode_welcome(o, cap, &u.welcome);
			break;
		case VIRTIO_RESOURCE_A_GRANT:
		case VIRTIO_RESOURCE_EV_GRANT:
			n = rc_encode_grant(o, cap, &u.grant);
			break;
		case VIRTIO_RESOURCE_A_DENY:
			n = rc_encode_deny(o, cap, &u.deny);
			break;
		case VIRTIO_RESOURCE_A_OFFER:
		case VIRTIO_RESOURCE_EV_OFFER:
			n = rc_encode_offer(o, cap, &u.offer);
			break;
		case VIRTIO_RESOURCE_A_ACK:
			n = rc_encode_ack(o, cap, &u.ack);
			break;
		case VIRTIO_RESOURCE_A_ERROR:
			n = rc_encode_error(o, cap, &u.error);
			break;
		case VIRTIO_RESOURCE_A_FILE:
			n = rc_encode_file(o, cap, &u.file);
			break;
		case VIRTIO_RESOURCE_A_DATA:
		case VIRTIO_RESOURCE_A_INVENTORY:
			n = rc_encode_data(o, cap, &u.data);
			break;
		case VIRTIO_RESOURCE_EV_INVENTORY:
		case VIRTIO_RESOURCE_EV_ALLOCATION:
			n = rc_encode_ev_allocation(o, cap, &u.allocation);
			break;
		case VIRTIO_RESOURCE_EV_RECLAIM:
			n = rc_encode_ev_reclaim(o, cap, &u.reclaim);
			break;
		case VIRTIO_RESOURCE_EV_RENEGOTIATE:
			n = rc_encode_renegotiate(o, cap, &u.renegotiate);
			break;
		case VIRTIO_RESOURCE_EV_MESSAGE:
			n = rc_encode_message(o, cap, &u.message);
			break;
		default:
			abort(); /* decoded a type rc_decode_from_host does not know */
		}
	}
	if (n != h.len || !same_bytes(o, b, n))
		abort();
}

__attribute__((no_sanitize("coverage"))) static void check_kind(const struct policy_state *s,
								uint64_t max, uint64_t unit)
{
	if (s->max != max || s->unit != unit)
		abort();
	/* The VM keeps at least one unit, never more than exists, in whole units. */
	if (s->granted < unit || s->granted > s->max || s->granted % unit)
		abort();
}

/*
 * The device's state after every operation. Not instrumented for coverage:
 * it walks every table after every step, and its branches guide nothing.
 */
__attribute__((no_sanitize("coverage"))) static void check_state(void)
{
	struct virtio_resource *r = fz.r;
	uint64_t pending[2] = { 0, 0 }, bits = 0;
	struct rc_entry *e;
	uint32_t used = 0;

	check_kind(&r->mem, fz.ram, RES_GRANULE);
	check_kind(&r->vcpu, fz.vcpus_max, 1);
	/* Pending is exactly what open offers hold and what promises still owe. */
	for (unsigned int i = 0; i < RES_MAX_OFFERS; i++) {
		const struct res_offer *o = &r->offers[i];

		if (!o->txn)
			continue;
		if (o->offer.alt[0].type != VIRTIO_RESOURCE_ALT_PART_NOW ||
		    (o->offer.alt[0].kind != VIRTIO_RESOURCE_K_MEMORY &&
		     o->offer.alt[0].kind != VIRTIO_RESOURCE_K_VCPU))
			abort();
		pending[o->offer.alt[0].kind - 1] += o->offer.alt[0].amount;
		if (rc_table_find(&r->table, o->txn, &e))
			abort(); /* an offer for a transaction the table forgot */
	}
	for (unsigned int i = 0; i < RES_MAX_DEFERRED; i++) {
		const struct res_deferred *d = &r->deferred[i];

		if (!d->txn)
			continue;
		if ((d->kind != VIRTIO_RESOURCE_K_MEMORY && d->kind != VIRTIO_RESOURCE_K_VCPU) ||
		    !d->amount)
			abort();
		pending[d->kind - 1] += d->amount;
	}
	if (r->mem.pending != pending[0] || r->vcpu.pending != pending[1])
		abort();
	for (uint64_t i = 0; i < (r->memres.nr_granules + 63) / 64; i++)
		bits += (uint64_t)__builtin_popcountll(r->memres.bitmap[i]);
	if (bits * RES_GRANULE != r->memres.reserved || r->memres.reserved > fz.ram)
		abort();
	if (r->generation < fz.generation || r->ev_count > RES_MAX_EVENTS)
		abort();
	fz.generation = r->generation;
	if (r->table.used > RES_TABLE_SIZE)
		abort();
	if (fz.broker && !fz.away &&
	    (fz.view[0] != r->mem.granted || fz.view[1] != r->vcpu.granted))
		abort(); /* the device and the broker disagree on what the VM holds */
	for (unsigned int i = 0; i < RES_TABLE_SIZE; i++) {
		e = &r->entries[i];
		if (e->state == RC_S_NONE)
			continue;
		used++;
		if (!e->txn || e->state >= RC_NR_STATES)
			abort();
		if ((e->state == RC_S_GRANTED || e->state == RC_S_RENEGOTIATING) && !e->granted)
			abort();
	}
	if (used != r->table.used)
		abort();
}

/* A description the guest reads: it parses and describes the allocation in effect. */
static void check_inventory(const struct rc_data *d)
{
	const struct rc_inv_alloc *a = &st.parsed.alloc;

	if (rc_inventory_parse(&st.parsed, d->data, d->data_len))
		abort();
	if (st.parsed.generation != fz.r->generation || a->memory_max != fz.r->mem.max ||
	    a->memory_granted != fz.r->mem.granted || a->vcpus_max != fz.r->vcpu.max ||
	    a->vcpus_granted != fz.r->vcpu.granted || a->granule != RES_GRANULE)
		abort();
}

/* May a message of type @mt on queue @q be answered with type @at? */
static bool answer_allowed(unsigned int q, uint16_t mt, uint16_t at)
{
	if (at == VIRTIO_RESOURCE_A_ERROR)
		return true;
	if (q == VIRTIO_RESOURCE_Q_MESSAGE)
		return mt == VIRTIO_RESOURCE_T_MESSAGE && at == VIRTIO_RESOURCE_A_ACK;
	if (q == VIRTIO_RESOURCE_Q_FILE) {
		switch (mt) {
		case VIRTIO_RESOURCE_T_FILE_OPEN:
		case VIRTIO_RESOURCE_T_FILE_STAT:
			return at == VIRTIO_RESOURCE_A_FILE;
		case VIRTIO_RESOURCE_T_FILE_READ:
			return at == VIRTIO_RESOURCE_A_DATA;
		case VIRTIO_RESOURCE_T_FILE_CLOSE:
			return at == VIRTIO_RESOURCE_A_ACK;
		}
		return false;
	}
	switch (mt) {
	case VIRTIO_RESOURCE_T_HELLO:
		return at == VIRTIO_RESOURCE_A_WELCOME;
	case VIRTIO_RESOURCE_T_GET_INVENTORY:
		return at == VIRTIO_RESOURCE_A_INVENTORY;
	case VIRTIO_RESOURCE_T_REQUEST:
		return at == VIRTIO_RESOURCE_A_GRANT || at == VIRTIO_RESOURCE_A_DENY ||
		       at == VIRTIO_RESOURCE_A_OFFER;
	case VIRTIO_RESOURCE_T_ACCEPT:
		return at == VIRTIO_RESOURCE_A_GRANT;
	case VIRTIO_RESOURCE_T_DECLINE:
	case VIRTIO_RESOURCE_T_RELEASE:
	case VIRTIO_RESOURCE_T_RESERVE:
	case VIRTIO_RESOURCE_T_UNRESERVE:
		return at == VIRTIO_RESOURCE_A_ACK;
	case VIRTIO_RESOURCE_T_RENEGOTIATE:
		return at == VIRTIO_RESOURCE_A_GRANT || at == VIRTIO_RESOURCE_A_DENY ||
		       at == VIRTIO_RESOURCE_A_ACK;
	}
	return false;
}

/* The answer in a chain the device used: @b, @len bytes. */
static void check_answer(const struct slot *s, const uint8_t *b, uint32_t len)
{
	const uint8_t *msg = st.slot_msg[s - fz.slots];
	union rc_body u;
	struct rc_hdr h;

	if (s->q == VIRTIO_RESOURCE_Q_STATS) {
		if (len)
			abort(); /* samples get no answer */
		return;
	}
	if (!len || rc_decode_from_host(b, len, RES_MAX_MESSAGE, &h, &u) || h.len != len)
		abort();
	roundtrip(b, len);
	if (st.trace)
		fprintf(stderr, "  q%u %s txn %llu -> %s status %u (%u bytes)\n", s->q,
			rc_type_name(s->msg_type), (unsigned long long)s->txn, rc_type_name(h.type),
			h.status, len);
	if (!answer_allowed(s->q, s->msg_type, h.type))
		abort();
	/* Answers echo the message's txn and app id; errors may not have decoded them. */
	if (h.type != VIRTIO_RESOURCE_A_ERROR ? h.txn != s->txn || h.app_id != s->app_id
					      : h.txn && h.txn != s->txn)
		abort();
	if ((h.type == VIRTIO_RESOURCE_A_ERROR || h.type == VIRTIO_RESOURCE_A_DENY) &&
	    !snap_same(&fz.snap))
		abort(); /* a refusal changed the allocation */
	switch (h.type) {
	case VIRTIO_RESOURCE_A_WELCOME:
		if (u.welcome.version != VIRTIO_RESOURCE_VERSION || u.welcome.guest_id != GUEST_ID)
			abort();
		break;
	case VIRTIO_RESOURCE_A_GRANT:
		if (u.grant.allocation != granted_of(u.grant.kind) || !u.grant.amount)
			abort();
		memo_of(h.txn, true)->granted = u.grant.amount;
		break;
	case VIRTIO_RESOURCE_A_DENY:
		if (u.deny.allocation != granted_of(u.deny.kind))
			abort();
		break;
	case VIRTIO_RESOURCE_A_OFFER: {
		uint64_t sum = 0;

		for (uint32_t i = 0; i < u.offer.nr_alternatives; i++)
			sum += u.offer.alt[i].amount;
		if (u.offer.alt[0].type != VIRTIO_RESOURCE_ALT_PART_NOW || !u.offer.alt[0].amount ||
		    granted_of(u.offer.alt[0].kind) + sum > max_of(u.offer.alt[0].kind))
			abort();
		memo_of(h.txn, true)->offer_id = u.offer.offer_id;
		break;
	}
	case VIRTIO_RESOURCE_A_ACK:
		if (u.ack.mem_granted != fz.r->mem.granted ||
		    u.ack.mem_reserved != fz.r->memres.reserved ||
		    u.ack.vcpus_granted != fz.r->vcpu.granted)
			abort();
		break;
	case VIRTIO_RESOURCE_A_INVENTORY:
		if (!fz.rep) /* once per OP_REPEAT: parsing is slow */
			check_inventory(&u.data);
		break;
	case VIRTIO_RESOURCE_A_DATA: {
		struct rc_file_op op;

		if (rc_decode_file_op(msg, s->msg_len, &op) || u.data.data_len > op.len)
			abort();
		break;
	}
	}
}

/* An event the device delivered: @b, @len bytes. */
static void check_event(const uint8_t *b, uint32_t len)
{
	union rc_body u;
	struct rc_hdr h;

	if (!len || rc_decode_from_host(b, len, RES_MAX_MESSAGE, &h, &u) || h.len != len)
		abort();
	roundtrip(b, len);
	if (st.trace)
		fprintf(stderr, "  event %s txn %llu (%u bytes)\n", rc_type_name(h.type),
			(unsigned long long)h.txn, len);
	switch (h.type) {
	case VIRTIO_RESOURCE_EV_ALLOCATION:
		if (u.allocation.generation <= fz.ev_generation ||
		    u.allocation.generation > fz.r->generation ||
		    u.allocation.mem_granted > fz.ram || u.allocation.mem_granted < RES_GRANULE ||
		    !u.allocation.vcpus_granted || u.allocation.vcpus_granted > fz.vcpus_max)
			abort();
		fz.ev_generation = u.allocation.generation;
		break;
	case VIRTIO_RESOURCE_EV_RECLAIM:
		if (!(h.txn & RES_HOST_TXN) || u.reclaim.kind != VIRTIO_RESOURCE_K_MEMORY ||
		    u.reclaim.target < RES_GRANULE || u.reclaim.target > fz.ram ||
		    u.reclaim.deadline_ms < RES_MIN_RECLAIM_MS)
			abort();
		break;
	case VIRTIO_RESOURCE_EV_GRANT:
		if (!u.grant.amount || u.grant.allocation > max_of(u.grant.kind))
			abort();
		memo_of(h.txn, true)->granted = u.grant.amount;
		break;
	case VIRTIO_RESOURCE_EV_RENEGOTIATE:
		if (!u.renegotiate.amount || u.renegotiate.deadline_ms != RES_RENEGOTIATE_MS)
			abort();
		memo_of(h.txn, true)->proposed = u.renegotiate.amount;
		break;
	case VIRTIO_RESOURCE_EV_MESSAGE:
		if (!(h.txn & RES_HOST_TXN) || u.message.dest != GUEST_ID)
			abort();
		break;
	default:
		abort(); /* EV_INVENTORY and EV_OFFER are not sent by this host, answers never */
	}
}

/* ---- the driver's rings ---- */

static uint8_t *ram(uint64_t gpa)
{
	return st.base.host + gpa; /* the driver's area lies in the first region */
}

static void put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)ram(table) + i;

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static void avail_push(unsigned int q, uint16_t head)
{
	struct vring_avail *a = (struct vring_avail *)ram(RING_GPA(q) + 0x1000);

	a->ring[fz.avail_idx[q] % QSIZE] = htole16(head);
	fz.avail_idx[q]++;
	__atomic_store_n(&a->idx, htole16(fz.avail_idx[q]), __ATOMIC_RELEASE);
}

static struct vring_used *used_ring(unsigned int q)
{
	return (struct vring_used *)ram(RING_GPA(q) + 0x2000);
}

static bool needs_reset(void)
{
	return fz.r->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Reserving the driver's area zeroes its rings: the driver gives up on them until a reset. */
static void note_punch(void)
{
	if (memres__is_reserved(&fz.r->memres, 0))
		fz.area_punched = true;
}

static bool driver_can_post(void)
{
	return virtio__driver_ok(&fz.r->vdev) && !fz.area_punched;
}

/* Take back what the device used on queue @q. */
static void collect(unsigned int q)
{
	struct vring_used *u = used_ring(q);
	uint16_t idx = le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));

	note_punch();
	if ((uint16_t)(idx - fz.used_seen[q]) >
	    (q == VIRTIO_RESOURCE_Q_EVENT ? EV_SLOTS : NR_SLOTS)) {
		if (!fz.area_punched)
			abort(); /* more used than was ever posted */
		fz.used_seen[q] = idx;
		return;
	}
	while (fz.used_seen[q] != idx) {
		struct vring_used_elem e = u->ring[fz.used_seen[q] % QSIZE];
		uint32_t id = le32toh(e.id), len = le32toh(e.len);

		fz.used_seen[q]++;
		if (q == VIRTIO_RESOURCE_Q_EVENT) {
			const uint8_t *b = ram(EV_GPA + (uint64_t)id * EV_SLOT);

			if (fz.area_punched) {
				if (id < EV_SLOTS)
					fz.ev[id].busy = false;
				continue;
			}
			if (id >= EV_SLOTS || !fz.ev[id].busy || len > fz.ev[id].len)
				abort();
			fz.ev[id].busy = false;
			if (!same_bytes(b + len, st.canary, fz.ev[id].len + GUARD - len))
				abort(); /* written past the event */
			check_event(b, len);
			continue;
		}
		struct slot *s = NULL;

		for (unsigned int i = 0; i < NR_SLOTS && !s; i++) {
			if (fz.slots[i].busy && fz.slots[i].q == q && fz.slots[i].head == id)
				s = &fz.slots[i];
		}
		if (!s) {
			if (fz.area_punched)
				continue;
			abort(); /* a chain the device was not given */
		}
		s->busy = false;
		if (fz.area_punched)
			continue;
		unsigned int i = (unsigned int)(s - fz.slots);
		const uint8_t *in = ram(IN_GPA + (uint64_t)i * IN_SLOT);

		if (len > s->room || !same_bytes(in + len, st.canary, s->fill + GUARD - len))
			abort(); /* more than the room, or written past what it says */
		if (!same_bytes(ram(OUT_GPA + (uint64_t)i * OUT_SLOT), st.slot_msg[i], s->msg_len))
			abort(); /* wrote into the readable part */
		check_answer(s, in, len);
	}
}

static void collect_all(void)
{
	for (unsigned int q = 0; q < VIRTIO_RESOURCE_NR_QUEUES; q++)
		collect(q);
}

/* Notify @q as a transport would, and again while the device asks to be called back. */
static void notify(unsigned int q)
{
	virtio__notify(&fz.r->vdev, q);
	for (unsigned int round = 0; round < 4; round++) {
		bool again = false;

		for (unsigned int i = 0; i < VIRTIO_RESOURCE_NR_QUEUES; i++) {
			if (fz.renotify[i]) {
				fz.renotify[i] = false;
				again = true;
				virtio__notify(&fz.r->vdev, i);
			}
		}
		if (!again)
			break;
	}
}

/* The device's waiting call for the chain at @head on @q, if it keeps one. */
static const struct res_waiting *waiting_for(unsigned int q, uint16_t head)
{
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++) {
		const struct res_waiting *w = &fz.r->waiting[i];

		if (w->used && w->parked && w->queue == q && w->chain && w->chain->head == head)
			return w;
	}
	return NULL;
}

/* Parked chains stay with the device until answered, or until a reset took the rings. */
static void check_parked(void)
{
	for (unsigned int i = 0; i < NR_SLOTS; i++) {
		struct slot *s = &fz.slots[i];
		const struct res_waiting *w;

		if (!s->busy || !s->parked)
			continue;
		w = waiting_for(s->q, s->head);
		if (w && w->seq == s->seq)
			continue;
		if (virtio__driver_ok(&fz.r->vdev) && !fz.area_punched)
			abort(); /* dropped without an answer */
		s->busy = false;
	}
}

/* One descriptor of a chain being built. */
struct dspec {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

/*
 * A chain's shape: bits 0-1 the message in 1, 2 or 3 descriptors or none;
 * bits 2-3 the room in 1 or 2 descriptors, none, or marked readable; bit 4
 * an indirect table; bit 5 the room first; bit 6 one buffer outside RAM;
 * bit 7 a loop.
 */
static void post(unsigned int q, const void *msg, size_t len, uint32_t room, uint8_t shape)
{
	struct dspec rd[3], wr[2], d[6];
	unsigned int nr = 0, nw = 0, n = 0, i;
	uint64_t out, in, table;
	uint32_t writable = 0, readable = 0;
	struct slot *s = NULL;
	uint16_t head;

	if (!driver_can_post())
		return;
	for (i = 0; i < NR_SLOTS && !s; i++) {
		if (!fz.slots[i].busy)
			s = &fz.slots[i];
	}
	if (!s)
		return;
	i = (unsigned int)(s - fz.slots);
	head = (uint16_t)(i * SLOT_DESCS);
	out = OUT_GPA + (uint64_t)i * OUT_SLOT;
	in = IN_GPA + (uint64_t)i * IN_SLOT;
	table = INDIRECT_GPA + (uint64_t)i * 0x80;
	if (len > OUT_SLOT)
		len = OUT_SLOT;
	if (room > IN_SLOT - GUARD)
		room = IN_SLOT - GUARD;
	memcpy(ram(out), msg, len);
	memcpy(st.slot_msg[i], msg, len);
	memset(ram(in), CANARY, room + GUARD);

	switch (shape & 3) {
	case 0:
		rd[nr++] = (struct dspec){ out, (uint32_t)len, 0 };
		break;
	case 1:
		rd[nr++] = (struct dspec){ out, (uint32_t)len / 2, 0 };
		rd[nr++] = (struct dspec){ out + len / 2, (uint32_t)(len - len / 2), 0 };
		break;
	case 2:
		rd[nr++] = (struct dspec){ out, (uint32_t)len / 3, 0 };
		rd[nr++] = (struct dspec){ out + len / 3, (uint32_t)len / 3, 0 };
		rd[nr++] =
			(struct dspec){ out + 2 * (len / 3), (uint32_t)(len - 2 * (len / 3)), 0 };
		break;
	}
	switch ((shape >> 2) & 3) {
	case 0:
		wr[nw++] = (struct dspec){ in, room, VRING_DESC_F_WRITE };
		break;
	case 1:
		wr[nw++] = (struct dspec){ in, room / 2, VRING_DESC_F_WRITE };
		wr[nw++] = (struct dspec){ in + room / 2, room - room / 2, VRING_DESC_F_WRITE };
		break;
	case 3:
		wr[nw++] = (struct dspec){ in, room, 0 };
		break;
	}
	for (unsigned int k = 0; k < nr; k++)
		readable += rd[k].len;
	for (unsigned int k = 0; k < nw; k++)
		writable += wr[k].flags ? wr[k].len : 0;
	if (shape & 0x20) {
		memcpy(d, wr, nw * sizeof(wr[0]));
		memcpy(d + nw, rd, nr * sizeof(rd[0]));
	} else {
		memcpy(d, rd, nr * sizeof(rd[0]));
		memcpy(d + nr, wr, nw * sizeof(wr[0]));
	}
	n = nr + nw;
	if (!n)
		d[n++] = (struct dspec){ out, 0, 0 };
	if (shape & 0x40)
		d[n - 1].addr = 1ull << 40;
	if (shape & 0x10) {
		for (unsigned int k = 0; k < n; k++)
			put_desc(table, (uint16_t)k, d[k].addr, d[k].len,
				 d[k].flags | (k + 1 < n || (shape & 0x80) ? VRING_DESC_F_NEXT : 0),
				 (uint16_t)(k + 1 < n ? k + 1 : 0));
		put_desc(RING_GPA(q), head, table, n * 16, VRING_DESC_F_INDIRECT, 0);
	} else {
		for (unsigned int k = 0; k < n; k++)
			put_desc(RING_GPA(q), (uint16_t)(head + k), d[k].addr, d[k].len,
				 d[k].flags | (k + 1 < n || (shape & 0x80) ? VRING_DESC_F_NEXT : 0),
				 (uint16_t)(k + 1 < n ? head + k + 1 : head));
	}

	*s = (struct slot){ .busy = true, .q = (uint8_t)q, .head = head };
	s->msg_len = readable;
	s->room = writable;
	s->fill = room;
	if (rc_peek_type(msg, readable < RES_MAX_MESSAGE ? readable : RES_MAX_MESSAGE,
			 &s->msg_type))
		s->msg_type = 0;
	if (readable >= sizeof(struct virtio_resource_hdr)) {
		/* What the device would echo; the header's own checks do not matter here. */
		memcpy(&s->txn, (const uint8_t *)msg + 8, sizeof(s->txn));
		memcpy(&s->app_id, (const uint8_t *)msg + 16, sizeof(s->app_id));
		s->txn = le64toh(s->txn);
		s->app_id = le32toh(s->app_id);
	}
	roundtrip(msg, len);

	avail_push(q, head);
	notify(q);
	collect_all();
	if (!s->busy || needs_reset())
		return;
	/* Unanswered: only a chain parked for the broker may wait. */
	const struct res_waiting *w = waiting_for(q, head);

	if (!fz.broker || !w)
		abort();
	s->parked = true;
	s->seq = w->seq;
}

/* Room for the answer: the default for the message, or what OP_CHAIN chose. */
static uint32_t room_of(uint8_t sel, uint32_t dflt)
{
	static const uint32_t rooms[] = { 0, 0, 16, 31, 32, 33, 47, 48, 103, 104, 1024, 4096 };
	uint32_t inv = (uint32_t)fz.r->inventory_len + sizeof(struct virtio_resource_hdr);

	sel &= 15;
	if (!sel)
		return dflt;
	if (sel < 12)
		return rooms[sel];
	return sel == 12 ? inv : sel == 13 ? inv - 1 : sel == 14 ? 65559 : 65560;
}

/* Post a message the target built, in the shape OP_CHAIN chose last (if any). */
static void post_built(unsigned int q, size_t len, uint32_t dflt_room)
{
	uint8_t shape = fz.next_set ? fz.next_shape : 0;
	uint32_t room = room_of(fz.next_set ? fz.next_cap : 0, dflt_room);

	fz.next_set = false;
	if (len)
		post(q, st.msg, len, room, shape);
}

/* Post up to @n event buffers of @len bytes (readable ones, or outside RAM, when asked). */
static void post_events(unsigned int n, uint32_t len, bool readable, bool outside)
{
	for (unsigned int i = 0; i < EV_SLOTS && n; i++) {
		uint64_t gpa = EV_GPA + (uint64_t)i * EV_SLOT;

		if (fz.ev[i].busy)
			continue;
		memset(ram(gpa), CANARY, len + GUARD);
		put_desc(RING_GPA(VIRTIO_RESOURCE_Q_EVENT), (uint16_t)i, outside ? 1ull << 40 : gpa,
			 len, readable ? 0 : VRING_DESC_F_WRITE, 0);
		avail_push(VIRTIO_RESOURCE_Q_EVENT, (uint16_t)i);
		fz.ev[i] = (struct evbuf){ true, len };
		n--;
	}
}

/* Features the driver refuses: the device's bits, EVENT_IDX, INDIRECT_DESC, VERSION_1. */
static uint64_t refused(uint8_t drop)
{
	static const unsigned int bits[8] = {
		VIRTIO_RESOURCE_F_MEMORY,    VIRTIO_RESOURCE_F_VCPU,  VIRTIO_RESOURCE_F_STATS,
		VIRTIO_RESOURCE_F_MESSAGES,  VIRTIO_RESOURCE_F_FILES, VIRTIO_RING_F_EVENT_IDX,
		VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_F_VERSION_1,
	};
	uint64_t mask = 0;

	for (unsigned int i = 0; i < 8; i++) {
		if (drop & (1u << i))
			mask |= 1ull << bits[i];
	}
	return mask;
}

/* The driver's start on a reset device: features, queues, @pre event buffers, DRIVER_OK. */
static void driver_start(uint8_t drop, unsigned int pre)
{
	struct virtio_dev *v = &fz.r->vdev;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	if (v->status)
		return;
	/* Rings and indirect tables start out zero; buffers are filled as they are posted. */
	memset(ram(0), 0, OUT_GPA);
	memset(fz.avail_idx, 0, sizeof(fz.avail_idx));
	memset(fz.used_seen, 0, sizeof(fz.used_seen));
	memset(fz.slots, 0, sizeof(fz.slots));
	memset(fz.ev, 0, sizeof(fz.ev));
	fz.area_punched = false;
	pthread_mutex_lock(&v->lock);
	virtio__set_status(v, s);
	v->driver_features = v->device_features & ~refused(drop);
	virtio__set_status(v, s | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < VIRTIO_RESOURCE_NR_QUEUES; q++) {
		v->vqs[q].size = QSIZE;
		v->vqs[q].desc_gpa = RING_GPA(q);
		v->vqs[q].avail_gpa = RING_GPA(q) + 0x1000;
		v->vqs[q].used_gpa = RING_GPA(q) + 0x2000;
		virtio__enable_queue(v, q);
	}
	post_events(pre, RES_EVENT_MAX, false, false);
	virtio__set_status(v, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pthread_mutex_unlock(&v->lock);
}

/* A device reset by the driver: everything in flight is gone, transactions start over. */
static void device_reset(void)
{
	pthread_mutex_lock(&fz.r->vdev.lock);
	virtio__set_status(&fz.r->vdev, 0);
	pthread_mutex_unlock(&fz.r->vdev.lock);
	if (fz.r->hello || fz.r->memres.reserved || fz.r->ev_count || fz.r->table.used)
		abort(); /* §6.15: HELLO again, no reservations, backlog or agreements */
	for (unsigned int i = 0; i < RES_MAX_WAITING; i++) {
		if (fz.r->waiting[i].used)
			abort();
	}
	memset(fz.slots, 0, sizeof(fz.slots));
	memset(fz.ev, 0, sizeof(fz.ev));
	memset(fz.memo, 0, sizeof(fz.memo));
}

/* ---- the machine, the control socket and the broker ---- */

static void host_set_vcpus(void *ctx, unsigned int granted)
{
	if (!granted || granted > fz.vcpus_max)
		abort();
}

/*
 * The machine's describe, as test/unit/resource_test.h's. The last result
 * is kept: most inputs start from the same allocation, and libfdt's
 * string lookups go through the memcmp() hooks that make them slow here.
 */
static long host_describe(void *ctx, const struct virtio_resource_config *cfg, void *buf,
			  size_t cap)
{
	static struct {
		struct inventory_alloc alloc;
		long len;
	} last = { .len = -1 };
	struct inventory_alloc alloc;
	struct acc_err err;

	if (cfg->mem_granted > cfg->mem_max || cfg->mem_reserved > cfg->mem_max ||
	    !cfg->vcpus_granted || cfg->vcpus_granted > cfg->vcpus_max)
		abort();
	inventory__alloc_from_config(&alloc, cfg);
	inventory__cpuset_set(&alloc.cpus, 0);
	if (last.len >= 0 && (size_t)last.len <= cap &&
	    same_bytes(&alloc, &last.alloc, sizeof(alloc))) {
		memcpy(buf, st.fdt, (size_t)last.len);
		return last.len;
	}
	/* The description is about 1 KiB: do not make the writer clear the device's 256. */
	last.alloc = alloc;
	last.len = inventory__to_fdt(st.inv, &alloc, st.fdt, st.fdt_cap, &err);
	if (last.len < 0 || (size_t)last.len > cap)
		abort();
	memcpy(buf, st.fdt, (size_t)last.len);
	return last.len;
}

static void host_event(void *ctx, const char *name, struct json_object *data)
{
	if (!name || !*name || !json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN))
		abort();
	json_object_put(data);
}

static void irq_queue(void *ctx, unsigned int q)
{
}

static void irq_config(void *ctx)
{
}

static void irq_renotify(void *ctx, unsigned int q)
{
	if (q < VIRTIO_RESOURCE_NR_QUEUES)
		fz.renotify[q] = true;
}

static int broker_call(void *ctx, const struct resource_broker_call *c)
{
	if (fz.away)
		return -ENOTCONN;
	switch (c->what) {
	case RES_CALL_MESSAGE:
		/* A name, and at least a byte after its NUL. */
		if (!c->to || !*c->to || strlen(c->to) >= VIRTIO_RESOURCE_MAX_NAME || !c->len)
			abort();
		__attribute__((fallthrough));
	case RES_CALL_REQUEST:
	case RES_CALL_ACCEPT:
		if (!c->seq)
			abort();
		fz.calls[fz.nr_calls % NR_CALLS] = *c;
		fz.calls[fz.nr_calls % NR_CALLS].to = NULL; /* the guest's buffer, gone after */
		fz.calls[fz.nr_calls % NR_CALLS].data = NULL;
		fz.nr_calls++;
		break;
	case RES_CALL_RELEASE:
		if (!view_of(c->kind))
			abort();
		*view_of(c->kind) -= c->amount;
		break;
	default:
		break;
	}
	return 0;
}

/* ---- operations ---- */

enum op {
	OP_RAW,		   /* queue, shape, room, length, bytes */
	OP_HELLO,	   /* version, rate, txn */
	OP_INVENTORY,	   /* txn */
	OP_REQUEST,	   /* txn, kind, amount, minimum, urgency/latency */
	OP_ACCEPT,	   /* txn, offer id (0: the one the driver got), choices */
	OP_DECLINE,	   /* txn, offer id */
	OP_RELEASE,	   /* txn, kind, amount */
	OP_RENEGOTIATE,	   /* txn, kind, how, amount */
	OP_RANGES,	   /* unreserve and count, then start and length per range */
	OP_FILE_OPEN,	   /* path (a known one, or bytes) */
	OP_FILE_OP,	   /* type, handle, length, offset */
	OP_MESSAGE,	   /* destination, length, bytes */
	OP_STATS,	   /* values */
	OP_EVENTS,	   /* count, size, flags */
	OP_CHAIN,	   /* shape and room of the next built message */
	OP_SET_ALLOC,	   /* which, memory, vCPUs */
	OP_RECLAIM,	   /* memory */
	OP_HOST_RENEG,	   /* txn, amount */
	OP_HOST_MESSAGE,   /* length, bytes */
	OP_VIEWS,	   /* which */
	OP_TIME,	   /* how long, in 100 ms */
	OP_RESET,	   /* restart, features refused */
	OP_START,	   /* features refused */
	OP_CONFIG,	   /* offset, size */
	OP_NOTIFY,	   /* queue */
	OP_BROKER_ANSWER,  /* which call, verdict and error, amount, later */
	OP_BROKER_DELIVER, /* txn, kind, amount */
	OP_BROKER_CHANGE,  /* kind and direction, amount */
	OP_BROKER_MESSAGE, /* sender id, name, length, bytes */
	OP_BROKER_LOST,	   /* the link went down: waiting calls are answered */
	OP_BROKER_AWAY,	   /* the broker stops (or starts again) answering calls */
	OP_REPEAT,	   /* rounds, then an operation run that often (txns move on) */
	NR_OPS
};

static void op_raw(void)
{
	static const unsigned int queues[4] = { VIRTIO_RESOURCE_Q_REQUEST, VIRTIO_RESOURCE_Q_STATS,
						VIRTIO_RESOURCE_Q_MESSAGE, VIRTIO_RESOURCE_Q_FILE };
	unsigned int q = queues[get8() & 3];
	uint8_t shape = get8(), room = get8();
	size_t len = get16() % (2 * RES_MAX_MESSAGE);
	uint32_t dflt = q == VIRTIO_RESOURCE_Q_FILE    ? 65560
			: q == VIRTIO_RESOURCE_Q_STATS ? 0
						       : 4096;

	get_bytes(st.msg, len);
	post(q, st.msg, len, room_of(room, dflt), shape);
}

static void op_hello(void)
{
	uint8_t v = get8(), rate = get8(), t = get8();
	struct rc_hello h = { .hdr = { .type = VIRTIO_RESOURCE_T_HELLO, .txn = txn_of(t) } };

	h.version = v ? v - 1u : VIRTIO_RESOURCE_VERSION; /* 1: version 0, 3: version 2 */
	h.mem_rate = rate ? 1ull << (rate % 64) : 0;
	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_hello(st.msg, OUT_SLOT, &h), 4096);
}

static void op_inventory(void)
{
	struct rc_hdr h = { .type = VIRTIO_RESOURCE_T_GET_INVENTORY, .txn = txn_of(get8()) };
	uint32_t room = (uint32_t)fz.r->inventory_len + sizeof(struct virtio_resource_hdr);

	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_bare(st.msg, OUT_SLOT, &h), room);
}

static void op_request(void)
{
	uint8_t t = get8(), k = get8(), a = get8(), m = get8(), ul = get8();
	struct rc_request q = { .hdr = { .type = VIRTIO_RESOURCE_T_REQUEST, .txn = txn_of(t) } };

	q.hdr.app_id = ul >> 6;
	q.kind = kind_of(k);
	q.urgency = ul & 3;
	q.latency = (ul >> 2) % 3;
	if (ul & 0x20) { /* out of range */
		q.urgency = 4;
		q.latency = 3;
	}
	q.deadline_ms = (ul & 0x10) ? 1000 : 0;
	q.amount = amount_of(q.kind, a);
	q.minimum = amount_of(q.kind, m);
	q.projected = q.amount * 2;
	q.duration_ms = k >> 4;
	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_request(st.msg, OUT_SLOT, &q), 4096);
}

static uint32_t offer_id_of(uint64_t txn, uint8_t sel)
{
	struct memo *mm = memo_of(txn, false);

	return sel ? sel : mm ? mm->offer_id : 0;
}

static void op_accept(void)
{
	uint8_t t = get8(), id = get8(), choices = get8();
	struct rc_accept a = { .hdr = { .type = VIRTIO_RESOURCE_T_ACCEPT, .txn = txn_of(t) } };

	a.offer_id = offer_id_of(a.hdr.txn, id);
	a.choices = choices ? choices : 3; /* 0: the part now and the rest later */
	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_accept(st.msg, OUT_SLOT, &a), 4096);
}

static void op_decline(void)
{
	uint8_t t = get8(), id = get8();
	struct rc_decline dc = { .hdr = { .type = VIRTIO_RESOURCE_T_DECLINE, .txn = txn_of(t) } };

	dc.offer_id = offer_id_of(dc.hdr.txn, id);
	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_decline(st.msg, OUT_SLOT, &dc), 4096);
}

static void op_release(void)
{
	uint8_t t = get8(), k = get8(), a = get8();
	struct rc_release rel = { .hdr = { .type = VIRTIO_RESOURCE_T_RELEASE, .txn = txn_of(t) } };

	rel.kind = kind_of(k);
	rel.amount = amount_of(rel.kind, a);
	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_release(st.msg, OUT_SLOT, &rel), 4096);
}

static void op_renegotiate(void)
{
	uint8_t t = get8(), k = get8(), how = get8(), a = get8();
	struct rc_renegotiate rn = { .hdr = { .type = VIRTIO_RESOURCE_T_RENEGOTIATE,
					      .txn = txn_of(t) } };
	struct memo *mm = memo_of(rn.hdr.txn, false);

	rn.kind = kind_of(k);
	rn.deadline_ms = how >> 2;
	/* 1: accept the host's proposal; 2: decline it (the current amount); else @a units. */
	if ((how & 3) == 1 && mm)
		rn.amount = mm->proposed;
	else if ((how & 3) == 2 && mm)
		rn.amount = mm->granted;
	else
		rn.amount = amount_of(rn.kind, a);
	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_renegotiate(st.msg, OUT_SLOT, &rn), 4096);
}

static void op_ranges(void)
{
	static struct rc_ranges m;
	uint8_t how = get8();

	memset(&m, 0, sizeof(m));
	m.hdr.type = how & 1 ? VIRTIO_RESOURCE_T_UNRESERVE : VIRTIO_RESOURCE_T_RESERVE;
	m.hdr.txn = (how & 0x80) ? RES_HOST_TXN | 1 : 0;
	m.nr_ranges = 1 + ((how >> 1) & 7);
	for (uint32_t i = 0; i < m.nr_ranges; i++) {
		uint8_t start = get8(), count = get8();

		/* Granules past the driver's area; the last of them may leave RAM. */
		m.range[i].addr = granule_gpa(start);
		m.range[i].len = (uint64_t)count * RES_GRANULE;
	}
	post_built(VIRTIO_RESOURCE_Q_REQUEST, rc_encode_ranges(st.msg, OUT_SLOT, &m), 4096);
}

static void op_file_open(void)
{
	static const char *const paths[] = {
		"hello.txt",	  "sub/inner.txt", "big.bin",	       "empty",	      "dir",
		"link_in",	  "link_out",	   "link_abs",	       "fifo",	      "missing",
		"../outside.txt", "/etc/hostname", "sub/../hello.txt", "sub/../../x", ".",
	};
	uint8_t sel = get8();
	struct rc_file_open o = { .hdr = { .type = VIRTIO_RESOURCE_T_FILE_OPEN, .txn = sel } };
	char path[VIRTIO_RESOURCE_MAX_PATH + 8];

	if (sel < sizeof(paths) / sizeof(paths[0])) {
		o.path = paths[sel];
		o.path_len = (uint32_t)strlen(paths[sel]);
	} else {
		/* Bytes of the input, up to one more than a path may have. */
		o.path_len = get16() % (VIRTIO_RESOURCE_MAX_PATH + 2);
		get_bytes(path, o.path_len);
		o.path = path;
	}
	post_built(VIRTIO_RESOURCE_Q_FILE, rc_encode_file_open(st.msg, OUT_SLOT, &o), 64);
}

static void op_file_op(void)
{
	uint8_t type = get8(), handle = get8();
	uint16_t len = get16();
	uint32_t offset = get32();
	struct rc_file_op op = { .hdr = { .type = (uint16_t)(VIRTIO_RESOURCE_T_FILE_READ +
							     (type & 3) % 3),
					  .txn = type } };

	op.handle = handle + fz.rep;
	if (op.hdr.type == VIRTIO_RESOURCE_T_FILE_READ) {
		/* 0: the largest read; bit 15 of the offset's word: far out. */
		op.len = len ? len : VIRTIO_RESOURCE_MAX_READ;
		op.offset = (type & 4) ? (uint64_t)offset << 32 : offset;
		if (type & 8)
			op.len = VIRTIO_RESOURCE_MAX_READ + 1;
	} else if (type & 8) {
		op.len = len; /* must be 0 there */
	}
	post_built(VIRTIO_RESOURCE_Q_FILE, rc_encode_file_op(st.msg, OUT_SLOT, &op),
		   op.hdr.type == VIRTIO_RESOURCE_T_FILE_READ ? 65560 : 64);
}

static void op_message(void)
{
	static uint8_t payload[RES_MAX_MESSAGE];
	uint8_t dest = get8(), len = get8();
	struct rc_message m = { .hdr = { .type = VIRTIO_RESOURCE_T_MESSAGE, .txn = dest } };

	m.dest = dest & 1 ? VIRTIO_RESOURCE_DEST_NAMED : (dest & 2 ? dest : 0);
	m.source = dest & 4;
	m.payload_len = len;
	if (dest & 8)
		m.payload_len = (uint32_t)len * 16 + 15; /* up to past the largest message */
	if (m.payload_len > sizeof(payload))
		m.payload_len = sizeof(payload);
	get_bytes(payload, m.payload_len);
	m.payload = payload;
	post_built(VIRTIO_RESOURCE_Q_MESSAGE, rc_encode_message(st.msg, OUT_SLOT, &m), 64);
}

static void op_stats(void)
{
	uint8_t a = get8(), b = get8(), c = get8();
	struct rc_stats s = { .hdr = { .type = VIRTIO_RESOURCE_T_STATS } };

	s.timestamp_ns = fake_now;
	s.mem_total = fz.ram;
	s.mem_available = (uint64_t)a * MiB;
	s.mem_committed = (uint64_t)b * MiB;
	s.mem_forecast = (uint64_t)c * MiB;
	s.psi_mem_milli = a * 5u; /* past 1000 is refused */
	s.psi_cpu_milli = b * 4u;
	s.cpu_util_milli = c * 4u;
	s.runqueue_milli = a * 100u;
	s.vcpu_forecast_milli = b * 100u;
	post_built(VIRTIO_RESOURCE_Q_STATS, rc_encode_stats(st.msg, OUT_SLOT, &s), 0);
}

static void op_events(void)
{
	static const uint32_t lens[8] = { RES_EVENT_MAX, 4096, 48, 47, 40, 39, 24, 0 };
	uint8_t n = get8(), how = get8();

	if (!driver_can_post())
		return;
	post_events(1 + (n & 15), lens[how & 7], how & 8, how & 32);
	if (!(how & 16))
		notify(VIRTIO_RESOURCE_Q_EVENT);
}

/* A refused command changes nothing; an accepted one what it says. */
static void check_command(int ret, const struct snap *before)
{
	if (ret && !snap_same(before))
		abort();
}

static void op_set_alloc(void)
{
	uint8_t which = get8(), m = get8(), v = get8();
	uint64_t mem = (uint64_t)m * RES_GRANULE + ((which & 4) ? 4096 : 0);
	unsigned int vcpus = v;
	struct acc_err err;
	struct snap before;
	int ret;

	if (fz.broker)
		return; /* refused by the control socket: the broker decides */
	snap_take(&before);
	ret = resource__set_allocation(fz.r, which & 1 ? &mem : NULL, which & 2 ? &vcpus : NULL,
				       &err);
	check_command(ret, &before);
	if (!ret && (((which & 1) && fz.r->mem.granted != mem) ||
		     ((which & 2) && fz.r->vcpu.granted != vcpus)))
		abort();
}

static void op_reclaim(void)
{
	uint8_t m = get8();
	uint64_t mem =
		(m & 0x80) ? (uint64_t)(m & 0x7f) * RES_GRANULE + 4096 : (uint64_t)m * RES_GRANULE;
	struct acc_err err;
	struct snap before;
	int ret;

	if (fz.broker)
		return;
	snap_take(&before);
	ret = resource__reclaim(fz.r, mem, &err);
	check_command(ret, &before);
	if (!ret && fz.r->mem.granted != before.mem - mem)
		abort();
}

static void op_host_reneg(void)
{
	uint64_t txn = txn_of(get8());
	uint8_t a = get8();
	struct rc_entry *e = NULL;
	uint16_t kind = VIRTIO_RESOURCE_K_MEMORY;
	struct acc_err err;
	struct snap before;
	int ret;

	if (fz.broker)
		return;
	if (!rc_table_find(&fz.r->table, txn, &e))
		kind = e->kind;
	snap_take(&before);
	ret = resource__renegotiate(fz.r, txn, amount_of(kind, a), &err);
	check_command(ret, &before);
	if (!ret && (rc_table_find(&fz.r->table, txn, &e) || e->state != RC_S_RENEGOTIATING ||
		     e->proposed != amount_of(kind, a)))
		abort();
}

static void op_host_message(void)
{
	static uint8_t data[RES_MAX_MESSAGE + 64];
	size_t len = get16() % sizeof(data);
	struct acc_err err;

	get_bytes(data, len);
	resource__send_message(fz.r, data, len, &err);
}

static void op_views(void)
{
	uint8_t which = get8();
	struct json_object *o;
	struct resource_broker_state bs;
	struct virtio_resource_config c;

	if (which & 1) {
		o = resource__allocation_json(fz.r);
		json_object_to_json_string(o);
		json_object_put(o);
	}
	if (which & 2) {
		o = resource__requests_json(fz.r);
		json_object_to_json_string(o);
		json_object_put(o);
	}
	if (which & 4) {
		o = resource__stats_json(fz.r);
		json_object_to_json_string(o);
		json_object_put(o);
	}
	resource__broker_state(fz.r, &bs);
	resource__config(fz.r, &c);
	if (bs.mem_granted != fz.r->mem.granted || bs.vcpus_granted != fz.r->vcpu.granted ||
	    c.generation != fz.r->generation || c.mem_granted != fz.r->mem.granted ||
	    c.mem_reserved != fz.r->memres.reserved || c.inventory_size != fz.r->inventory_len)
		abort();
}

static void op_config(void)
{
	uint8_t off = get8() % sizeof(struct virtio_resource_config), size = get8();
	uint32_t len = 1u << (size & 3);
	uint8_t buf[8];

	if (off + len > sizeof(struct virtio_resource_config))
		len = sizeof(struct virtio_resource_config) - off;
	fz.r->vdev.ops->config_read(&fz.r->vdev, off, buf, len);
}

static void op_broker_answer(void)
{
	static const int errors[8] = { 0, 0, 0, 0, 0, RC_ENOENT, RC_EBUSY, RC_EMALFORMED };
	uint8_t which = get8(), v = get8(), a = get8(), l = get8();
	const struct resource_broker_call *c;
	struct resource_broker_answer ans;
	unsigned int n = fz.nr_calls < NR_CALLS ? fz.nr_calls : NR_CALLS;
	uint64_t unit;

	if (!fz.broker || fz.away || !n)
		return;
	/* As the broker link does: the call's own fields, the broker's decision. */
	c = &fz.calls[(fz.nr_calls - 1 - (which + fz.rep) % n) % NR_CALLS];
	unit = unit_of(c->kind);
	memset(&ans, 0, sizeof(ans));
	ans.what = c->what;
	ans.seq = c->seq;
	ans.txn = c->txn;
	ans.kind = c->kind;
	ans.amount = c->amount;
	ans.later = c->later;
	ans.error = errors[(v >> 2) & 7];
	ans.d.verdict = (enum policy_verdict)(v % 3);
	switch (ans.d.verdict) {
	case POLICY_GRANT:
		ans.d.amount = a ? amount_of(c->kind, a) : c->amount;
		break;
	case POLICY_OFFER:
		ans.d.amount = a ? amount_of(c->kind, a) : c->amount / unit / 2 * unit;
		ans.d.later = l ? amount_of(c->kind, l) : c->amount - ans.d.amount;
		break;
	case POLICY_DENY:
		ans.d.deny_reason = (uint16_t)(VIRTIO_RESOURCE_D_ABOVE_MAX + (v >> 5) % 5);
		ans.d.retry_after_ms = a * 100u;
		break;
	}
	snprintf(ans.d.why, sizeof(ans.d.why), "fuzz broker");
	/* What the broker hands out now; the device gives back what it cannot use. */
	if (!ans.error && view_of(ans.kind)) {
		if (ans.what == RES_CALL_REQUEST && ans.d.verdict == POLICY_GRANT)
			*view_of(ans.kind) += ans.d.amount;
		else if (ans.what == RES_CALL_ACCEPT)
			*view_of(ans.kind) += ans.amount;
	}
	resource__broker_answer(fz.r, &ans);
}

static void op_broker_deliver(void)
{
	uint8_t t = get8(), k = get8(), a = get8();
	uint16_t kind = k & 1 ? VIRTIO_RESOURCE_K_VCPU : VIRTIO_RESOURCE_K_MEMORY;

	if (!fz.broker || fz.away)
		return;
	*view_of(kind) += amount_of(kind, a);
	resource__broker_deliver(fz.r, txn_of(t), kind, amount_of(kind, a));
}

static void op_broker_change(void)
{
	uint8_t k = get8(), a = get8();
	uint16_t kind = k & 1 ? VIRTIO_RESOURCE_K_VCPU : VIRTIO_RESOURCE_K_MEMORY;
	struct acc_err err;
	struct snap before;

	int ret;

	if (k & 4)
		kind = VIRTIO_RESOURCE_K_IO_BANDWIDTH;
	if (!fz.broker || fz.away)
		return;
	snap_take(&before);
	ret = resource__broker_change(fz.r, kind, k & 2, amount_of(kind, a), &err);
	check_command(ret, &before);
	if (!ret && (k & 2))
		*view_of(kind) += amount_of(kind, a);
	else if (!ret)
		*view_of(kind) -= amount_of(kind, a);
}

static void op_broker_message(void)
{
	static const char *const names[4] = {
		"alpha",
		"b",
		"",
		"a-name-of-sixty-three-bytes-which-is-the-longest-a-vm-has-1234",
	};
	static uint8_t data[RES_MAX_MESSAGE];
	uint8_t id = get8(), sel = get8(), len = get8();
	size_t n = (size_t)len * 17 % sizeof(data);

	get_bytes(data, n);
	if (fz.broker && !fz.away)
		resource__broker_message(fz.r, id + 1u, names[sel & 3], data, n);
}

static void op_reset(void)
{
	uint8_t how = get8(), drop = get8();

	device_reset();
	if (how & 1)
		driver_start(drop, how & 2 ? 0 : 8);
}

static void run_op(uint8_t code);

/* One operation and the checks after it. */
static void step(uint8_t code)
{
	if (st.trace)
		fprintf(stderr, "op %u%s\n", code % NR_OPS,
			needs_reset() ? " (device needs reset)" : "");
	fz.steps++;
	snap_take(&fz.snap);
	run_op(code);
	collect_all();
	check_parked();
	check_state();
}

/*
 * Run the next operation 2 to 257 times on the same bytes, its txns moved
 * on by one each round: tables, offers, promises, open files and the
 * event backlog fill up in a few bytes of input.
 */
static void op_repeat(void)
{
	unsigned int rounds = 2 + get8();
	uint8_t code = get8();
	const uint8_t *p = fz.p;
	size_t n = fz.n;

	if (code % NR_OPS == OP_REPEAT || fz.rep)
		return;
	for (unsigned int i = 0; i < rounds && fz.steps < MAX_STEPS; i++) {
		fz.p = p;
		fz.n = n;
		fz.rep = i;
		step(code);
	}
	fz.rep = 0;
}

static void run_op(uint8_t code)
{
	switch (code % NR_OPS) {
	case OP_RAW:
		op_raw();
		break;
	case OP_HELLO:
		op_hello();
		break;
	case OP_INVENTORY:
		op_inventory();
		break;
	case OP_REQUEST:
		op_request();
		break;
	case OP_ACCEPT:
		op_accept();
		break;
	case OP_DECLINE:
		op_decline();
		break;
	case OP_RELEASE:
		op_release();
		break;
	case OP_RENEGOTIATE:
		op_renegotiate();
		break;
	case OP_RANGES:
		op_ranges();
		break;
	case OP_FILE_OPEN:
		op_file_open();
		break;
	case OP_FILE_OP:
		op_file_op();
		break;
	case OP_MESSAGE:
		op_message();
		break;
	case OP_STATS:
		op_stats();
		break;
	case OP_EVENTS:
		op_events();
		break;
	case OP_CHAIN:
		fz.next_shape = get8();
		fz.next_cap = get8();
		fz.next_set = true;
		break;
	case OP_SET_ALLOC:
		op_set_alloc();
		break;
	case OP_RECLAIM:
		op_reclaim();
		break;
	case OP_HOST_RENEG:
		op_host_reneg();
		break;
	case OP_HOST_MESSAGE:
		op_host_message();
		break;
	case OP_VIEWS:
		op_views();
		break;
	case OP_TIME:
		fake_now += ((uint64_t)get8() + 1) * 100 * 1000000;
		break;
	case OP_RESET:
		op_reset();
		break;
	case OP_START:
		driver_start(get8(), 8);
		break;
	case OP_CONFIG:
		op_config();
		break;
	case OP_NOTIFY:
		notify(get8() % VIRTIO_RESOURCE_NR_QUEUES);
		break;
	case OP_BROKER_ANSWER:
		op_broker_answer();
		break;
	case OP_BROKER_DELIVER:
		op_broker_deliver();
		break;
	case OP_BROKER_CHANGE:
		op_broker_change();
		break;
	case OP_BROKER_MESSAGE:
		op_broker_message();
		break;
	case OP_BROKER_LOST:
		if (fz.broker && !fz.away) {
			resource__broker_lost(fz.r);
			view_sync(); /* the link comes back and registers again */
		}
		break;
	case OP_BROKER_AWAY:
		fz.away = !fz.away;
		if (!fz.away)
			view_sync();
		break;
	case OP_REPEAT:
		op_repeat();
		break;
	}
}

/* ---- made once ---- */

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", st.dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static const char *const share_files[] = {
	"share/hello.txt", "share/sub/inner.txt", "share/big.bin", "share/empty", "share/link_in",
	"share/link_out",  "share/link_abs",	  "share/fifo",	   "outside.txt",
};
static const char *const share_dirs[] = { "share/sub", "share/dir", "share" };

static void remove_share(void)
{
	char path[512];

	for (size_t i = 0; i < sizeof(share_files) / sizeof(share_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", st.dir, share_files[i]);
		unlink(path);
	}
	for (size_t i = 0; i < sizeof(share_dirs) / sizeof(share_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", st.dir, share_dirs[i]);
		rmdir(path);
	}
	rmdir(st.dir);
}

/*
 * The share: two small files, one larger than a read, an empty one, a
 * directory, symlinks inside and out, a FIFO; and a file next to it.
 */
static void make_share(void)
{
	const char *tmp = getenv("TMPDIR");
	static uint8_t big[70000];
	char path[512], target[512];

	if (acc_mkdtemp(st.dir, sizeof(st.dir), tmp && *tmp ? tmp : "/tmp", "acc-fuzz-res"))
		abort();
	atexit(remove_share);
	for (size_t i = sizeof(share_dirs) / sizeof(share_dirs[0]); i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", st.dir, share_dirs[i]);
		if (mkdir(path, 0700))
			abort();
	}
	snprintf(st.share, sizeof(st.share), "%s/share", st.dir);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + i / 512);
	write_file("share/hello.txt", "hello, world\n", 13);
	write_file("share/sub/inner.txt", "inner", 5);
	write_file("share/big.bin", big, sizeof(big));
	write_file("share/empty", "", 0);
	write_file("outside.txt", "secret", 6);
	snprintf(path, sizeof(path), "%s/share/link_in", st.dir);
	if (symlink("hello.txt", path))
		abort();
	snprintf(path, sizeof(path), "%s/share/link_out", st.dir);
	if (symlink("../outside.txt", path))
		abort();
	snprintf(path, sizeof(path), "%s/share/link_abs", st.dir);
	snprintf(target, sizeof(target), "%s/outside.txt", st.dir);
	if (symlink(target, path))
		abort();
	snprintf(path, sizeof(path), "%s/share/fifo", st.dir);
	if (mkfifo(path, 0600))
		abort();
}

static void setup_once(void)
{
	struct acc_err err;

	if (guest_mem__create(&st.base, MAX_RAM, &err))
		abort();
	st.inv = calloc(1, sizeof(*st.inv));
	if (!st.inv)
		abort();
	st.inv->mem_total = 1ull << 30;
	st.inv->nr_cpus = 2;
	for (unsigned int i = 0; i < 2; i++)
		st.inv->cpus[i] = (struct inventory_cpu){ i, 0, i, 0, 0, true };
	st.inv->nr_nodes = 1;
	st.inv->nodes[0] = (struct inventory_node){ 0, 1ull << 30 };
	st.fdt_cap = inventory__fdt_size_bound(st.inv);
	st.fdt = malloc(st.fdt_cap);
	if (!st.fdt)
		abort();
	/* Guest errors are warnings and info: keep the output to real errors. */
	log__init(&st.log, "fuzz", LOG_ERROR);
	memset(st.canary, CANARY, sizeof(st.canary));
	st.trace = getenv("ACCORD_FUZZ_TRACE");
	make_share();
	st.ready = true;
}

/* The lowest free descriptor: a leak between two calls moves it. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		abort();
	close(fd);
	return fd;
}

/* ---- one input ---- */

/*
 * The header: flags (bit 0 a share, 1 broker mode, 2 RAM split around a
 * hole, 3 no driver at first, 4 no event buffers at first), RAM (64, 128,
 * 16 or 32 MiB), memory granted (granules, 0: half), memory pool (0: max),
 * vCPUs (0: 4), vCPUs granted (0: half), vCPU pool (0: max), features the
 * driver refuses.
 */
static void setup(const uint8_t *h)
{
	static const uint64_t rams[4] = { 64 * MiB, 128 * MiB, 16 * MiB, 32 * MiB };
	static const struct virtio_transport_ops transport = {
		.queue_interrupt = irq_queue,
		.config_interrupt = irq_config,
		.renotify = irq_renotify,
	};
	static const struct resource_broker_ops broker = { broker_call, NULL };
	struct resource_host_ops host = { host_set_vcpus, host_describe, host_event, NULL };
	struct resource_opts o = { .guest_id = GUEST_ID };
	uint64_t granules;
	struct acc_err err;

	fz.ram = rams[h[1] & 3];
	fz.split = h[0] & 4;
	fz.broker = h[0] & 2;
	granules = fz.ram / RES_GRANULE;
	/*
	 * Nothing but the device's reservations (which punch) and the driver
	 * (in granule 0, cleared as it starts) writes guest RAM: every input
	 * finds the same bytes without punching all of it again.
	 */
	if (h[0] & 8)
		memset(st.base.host, 0, OUT_GPA); /* driver_start() does it otherwise */
	if (fz.split) {
		guest_mem__init_empty(&fz.mem, HIGH_GPA + fz.ram / 2);
		if (guest_mem__add_region(&fz.mem, 0, fz.ram / 2, st.base.host, st.base.fd, 0) ||
		    guest_mem__add_region(&fz.mem, HIGH_GPA, fz.ram / 2, st.base.host + fz.ram / 2,
					  st.base.fd, fz.ram / 2))
			abort();
	} else {
		guest_mem__init_empty(&fz.mem, fz.ram);
		if (guest_mem__add_region(&fz.mem, 0, fz.ram, st.base.host, st.base.fd, 0))
			abort();
	}
	o.mem_max = fz.ram;
	o.mem_granted = (h[2] ? (h[2] - 1u) % granules + 1 : granules / 2) * RES_GRANULE;
	o.mem_pool = (uint64_t)h[3] * RES_GRANULE;
	fz.vcpus_max = h[4] ? h[4] : 4;
	o.vcpus_max = fz.vcpus_max;
	o.vcpus_granted = h[5] ? (h[5] - 1u) % fz.vcpus_max + 1 : (fz.vcpus_max + 1) / 2;
	o.vcpus_pool = h[6];
	if (h[0] & 1) {
		if (share__open_root(&fz.share, st.share, &err))
			abort();
		fz.has_share = true;
		o.share = &fz.share;
	}
	if (fz.broker)
		o.broker = &broker;
	ratelimit__init(&fz.rl, 1000, 10);
	fz.r = calloc(1, sizeof(*fz.r));
	if (!fz.r || virtio_resource__init(fz.r, &o, &host, &fz.mem, &st.log, &fz.rl, &err))
		abort();
	virtio__set_transport(&fz.r->vdev, &transport, NULL);
	if (!(h[0] & 8))
		driver_start(h[7], h[0] & 16 ? 0 : 8);
}

static void teardown(void)
{
	virtio_resource__exit(fz.r);
	free(fz.r);
	fz.r = NULL;
	if (fz.has_share)
		share__close_root(&fz.share);
	ratelimit__destroy(&fz.rl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t header[8] = { 0 };
	int fd;

	if (!st.ready)
		setup_once();
	fd = lowest_free_fd();
	memset(&fz, 0, sizeof(fz));
	fake_now = CLOCK_START;
	memcpy(header, data, size < sizeof(header) ? size : sizeof(header));
	fz.p = data + (size < sizeof(header) ? size : sizeof(header));
	fz.n = size - (size_t)(fz.p - data);
	setup(header);
	view_sync();
	collect_all();
	check_state();
	for (unsigned int ops = 0; fz.n && ops < MAX_OPS && fz.steps < MAX_STEPS; ops++)
		step(get8());
	teardown();
	if (lowest_free_fd() != fd)
		abort(); /* a descriptor outlived its device */
	return 0;
}
