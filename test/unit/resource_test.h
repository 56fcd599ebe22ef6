/* SPDX-License-Identifier: MIT */
/*
 * Shared by the parts of the unit_resource runner. The virtio-resource
 * tests play the guest driver against the real device without KVM: guest
 * RAM is a real memfd (guest_mem__create), the rings and buffers live in
 * its first granule, a fake transport counts interrupts, and fake host
 * operations record what the device asks of the machine around it.
 *
 * Guest-physical layout (all inside granule 0, which the tests never
 * reserve):
 *   0x10000 + q * 0x4000   queue q: descriptors, +0x1000 avail, +0x2000 used
 *   0x40000                the message a test posts (up to 256 KiB)
 *   0x80000                the writable answer buffer (up to 512 KiB)
 *   0x100000 + i * 0x2000  event buffer i (one per eventq descriptor)
 */
#ifndef ACCORD_TEST_RESOURCE_TEST_H
#define ACCORD_TEST_RESOURCE_TEST_H

#include <check.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/virtio_resource.h>

#include "accord/inventory.h"
#include "accord/resource.h"
#include "accord/share.h"
#include "rc_codec.h"

#include "fake_sysfs.h"
#include "virtio_test.h"

#define MiB (1ull << 20)

/* The device every test starts from (rt_setup). */
#define RT_RAM	       (64 * MiB)
#define RT_MEM_GRANTED (32 * MiB)
#define RT_MEM_POOL    (48 * MiB)
#define RT_VCPUS_MAX   4u
#define RT_VCPUS       2u
#define RT_VCPUS_POOL  3u
#define RT_GUEST_ID    7u
#define RT_QSIZE       16
#define RT_RING_GPA(q) (0x10000ull + (uint64_t)(q)*0x4000ull)
#define RT_OUT_GPA     0x40000ull
#define RT_OUT_MAX     0x40000u
#define RT_IN_GPA      0x80000ull
#define RT_IN_MAX      0x80000u
#define RT_EV_GPA      0x100000ull
#define RT_EV_SLOT     0x2000u
#define RT_HOST_EVENTS 1024
#define RT_NO_ANSWER   (-1) /* the device took no chain back: NEEDS_RESET */

/* What the device asked of the machine. */
struct fake_host {
	unsigned int set_vcpus_calls;
	unsigned int vcpus; /* the last count set_vcpus was given */
	unsigned int describe_calls;
	struct virtio_resource_config last_cfg; /* what describe was last given */
	long describe_result;			/* 0: describe works; else returned as is */
	unsigned int nr_events;			/* control-socket events, in order */
	char names[RT_HOST_EVENTS][32];
	struct json_object *data[RT_HOST_EVENTS];
	struct host_inventory *inv; /* two CPUs, one NUMA node */
};

struct rt {
	struct guest_mem mem;
	struct virtio_resource *r;
	struct fake_host host;
	struct acc_log log;
	struct ratelimit rl;
	struct irq_rec irq;
	struct vring_drv q[VIRTIO_RESOURCE_NR_QUEUES];
	uint16_t ev_posted; /* eventq buffers posted so far */
	uint16_t ev_seen;   /* eventq buffers the test has read back */
	struct fake_tree tree;
	struct share share;
	bool has_share;
};

extern struct rt rt; /* test_resource.c */

Suite *resource_suite(void);	    /* test_resource.c */
Suite *policy_suite(void);	    /* test_policy.c */
Suite *resource_broker_suite(void); /* test_resource_broker.c */

/* test_resource.c's fixture parts, shared by the other files of the runner. */
struct resource_opts rt_opts(void);
void rt_clear(void);
void rt_start(const struct resource_opts *o, bool driver_ok);
void rt_teardown(void);
void rt_hello_ok(void);

/* ---- the fake machine ---- */

static inline void fake_host__set_vcpus(void *ctx, unsigned int granted)
{
	struct fake_host *h = ctx;

	h->set_vcpus_calls++;
	h->vcpus = granted;
}

/* The machine's describe: the fake inventory with this allocation, as an FDT. */
static inline long fake_host__describe(void *ctx, const struct virtio_resource_config *cfg,
				       void *buf, size_t cap)
{
	struct fake_host *h = ctx;
	struct inventory_alloc alloc;
	struct acc_err err;

	h->describe_calls++;
	h->last_cfg = *cfg;
	if (h->describe_result)
		return h->describe_result;
	inventory__alloc_from_config(&alloc, cfg);
	inventory__cpuset_set(&alloc.cpus, 0);
	return inventory__to_fdt(h->inv, &alloc, buf, cap, &err);
}

static inline void fake_host__event(void *ctx, const char *name, struct json_object *data)
{
	struct fake_host *h = ctx;

	if (h->nr_events == RT_HOST_EVENTS) {
		json_object_put(data);
		return;
	}
	snprintf(h->names[h->nr_events], sizeof(h->names[0]), "%s", name);
	h->data[h->nr_events++] = data;
}

static inline void fake_host__init(struct fake_host *h)
{
	memset(h, 0, sizeof(*h));
	h->inv = calloc(1, sizeof(*h->inv));
	ck_assert_ptr_nonnull(h->inv);
	h->inv->mem_total = 1ull << 30;
	h->inv->nr_cpus = 2;
	for (unsigned int i = 0; i < 2; i++)
		h->inv->cpus[i] = (struct inventory_cpu){ i, 0, i, 0, 0, true };
	h->inv->nr_nodes = 1;
	h->inv->nodes[0] = (struct inventory_node){ 0, 1ull << 30 };
}

static inline void fake_host__exit(struct fake_host *h)
{
	for (unsigned int i = 0; i < h->nr_events; i++)
		json_object_put(h->data[i]);
	h->nr_events = 0;
	free(h->inv);
	h->inv = NULL;
}

/* How many events called @name the device emitted. */
static inline unsigned int rt_host_count(const char *name)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < rt.host.nr_events; i++)
		n += !strcmp(rt.host.names[i], name);
	return n;
}

/* The data of the last event called @name (fails the test if there is none). */
static inline struct json_object *rt_host_last(const char *name)
{
	for (unsigned int i = rt.host.nr_events; i-- > 0;) {
		if (!strcmp(rt.host.names[i], name))
			return rt.host.data[i];
	}
	ck_abort_msg("no %s event", name);
	return NULL;
}

/* A member of a JSON object (fails the test if it is missing). */
static inline struct json_object *rt_json_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s' in %s", key,
		      json_object_to_json_string(o));
	return v;
}

static inline uint64_t rt_json_u64(struct json_object *o, const char *key)
{
	return json_object_get_uint64(rt_json_get(o, key));
}

static inline const char *rt_json_str(struct json_object *o, const char *key)
{
	return json_object_get_string(rt_json_get(o, key));
}

/* ---- guest memory and the driver's side of the queues ---- */

static inline uint8_t *rt_ram(uint64_t gpa)
{
	return rt.mem.host + gpa;
}

static inline bool rt_needs_reset(void)
{
	return rt.r->vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/*
 * The driver's start: every feature offered, every queue enabled, @pre_events
 * event buffers made available before DRIVER_OK (without a notification),
 * then DRIVER_OK.
 */
static inline void rt_driver_start(unsigned int pre_events)
{
	struct virtio_dev *v = &rt.r->vdev;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	memset(rt_ram(RT_RING_GPA(0)), 0, VIRTIO_RESOURCE_NR_QUEUES * 0x4000);
	rt.ev_posted = rt.ev_seen = 0;
	pthread_mutex_lock(&v->lock);
	virtio__set_status(v, s);
	v->driver_features = v->device_features;
	virtio__set_status(v, s | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < VIRTIO_RESOURCE_NR_QUEUES; q++) {
		struct vring_drv *d = &rt.q[q];

		vring_drv__init(d, rt.mem.host, RT_QSIZE, RT_RING_GPA(q));
		v->vqs[q].size = RT_QSIZE;
		v->vqs[q].desc_gpa = d->desc_gpa;
		v->vqs[q].avail_gpa = d->avail_gpa;
		v->vqs[q].used_gpa = d->used_gpa;
		virtio__enable_queue(v, q);
	}
	for (unsigned int i = 0; i < pre_events && i < RT_QSIZE; i++) {
		struct vring_drv *d = &rt.q[VIRTIO_RESOURCE_Q_EVENT];

		drv__desc(d, (uint16_t)i, RT_EV_GPA + i * RT_EV_SLOT, RES_EVENT_MAX,
			  VRING_DESC_F_WRITE, 0);
		drv__post(d, (uint16_t)i);
		rt.ev_posted++;
	}
	virtio__set_status(v, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pthread_mutex_unlock(&v->lock);
	ck_assert(virtio__driver_ok(v));
}

static inline void rt_driver_ok(void)
{
	rt_driver_start(0);
}

/* A device reset by the driver (status 0), as a driver that unloads does. */
static inline void rt_device_reset(void)
{
	pthread_mutex_lock(&rt.r->vdev.lock);
	virtio__set_status(&rt.r->vdev, 0);
	pthread_mutex_unlock(&rt.r->vdev.lock);
}

/*
 * Post @len bytes of @msg on queue @q, followed by @cap writable bytes (none
 * when 0), and notify. Returns the length the device wrote, or RT_NO_ANSWER
 * when it kept the chain (a chain it refused: NEEDS_RESET).
 */
static inline long rt_post(unsigned int q, const void *msg, size_t len, uint32_t cap)
{
	struct vring_drv *d = &rt.q[q];
	uint16_t before = drv__used_idx(d);

	ck_assert_uint_le(len, RT_OUT_MAX);
	ck_assert_uint_le(cap, RT_IN_MAX);
	memcpy(rt_ram(RT_OUT_GPA), msg, len);
	memset(rt_ram(RT_IN_GPA), 0xee, cap);
	drv__desc(d, 0, RT_OUT_GPA, (uint32_t)len, cap ? VRING_DESC_F_NEXT : 0, 1);
	if (cap)
		drv__desc(d, 1, RT_IN_GPA, cap, VRING_DESC_F_WRITE, 0);
	drv__post(d, 0);
	virtio__notify(&rt.r->vdev, q);
	if (drv__used_idx(d) == before)
		return RT_NO_ANSWER;
	ck_assert_uint_eq(drv__used_idx(d), (uint16_t)(before + 1));
	ck_assert_uint_eq(drv__used_id(d, before), 0);
	return drv__used_len(d, before);
}

/* The answer buffer (what the device wrote back). */
static inline const uint8_t *rt_answer(void)
{
	return rt_ram(RT_IN_GPA);
}

/* A request on requestq with room for any answer but an inventory. */
static inline long rt_call(const void *msg, size_t len)
{
	return rt_post(VIRTIO_RESOURCE_Q_REQUEST, msg, len, 4096);
}

/* The answer's type (after checking its header). */
static inline uint16_t rt_answer_type(long len)
{
	struct rc_hdr h;

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(rc_decode_hdr(rt_answer(), (size_t)len, &h), 0);
	ck_assert_uint_eq(h.len, (uint64_t)len);
	return h.type;
}

/* The answer is an A_ERROR with @status; returns it decoded. */
static inline struct rc_error rt_expect_error(long len, uint32_t status)
{
	struct rc_error e;

	ck_assert_msg(len > 0, "no answer (NEEDS_RESET: %d)", rt_needs_reset());
	ck_assert_uint_eq(rt_answer_type(len), VIRTIO_RESOURCE_A_ERROR);
	ck_assert_int_eq(rc_decode_error(rt_answer(), (size_t)len, &e), 0);
	ck_assert_msg(e.hdr.status == status, "status %u, expected %u (detail %u: %s)",
		      e.hdr.status, status, e.detail, rc_strerror(-(int)e.detail));
	return e;
}

/* ---- the event queue ---- */

/* Post @n writable event buffers of @len bytes and notify eventq. */
static inline void rt_ev_post_len(unsigned int n, uint32_t len)
{
	struct vring_drv *d = &rt.q[VIRTIO_RESOURCE_Q_EVENT];

	ck_assert_uint_le((uint16_t)(rt.ev_posted - rt.ev_seen) + n, RT_QSIZE);
	ck_assert_uint_le(len, RT_EV_SLOT);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t slot = rt.ev_posted % RT_QSIZE;

		drv__desc(d, slot, RT_EV_GPA + slot * RT_EV_SLOT, len, VRING_DESC_F_WRITE, 0);
		drv__post(d, slot);
		rt.ev_posted++;
	}
	virtio__notify(&rt.r->vdev, VIRTIO_RESOURCE_Q_EVENT);
}

static inline void rt_ev_post(unsigned int n)
{
	rt_ev_post_len(n, RES_EVENT_MAX);
}

/* The next event the device delivered (NULL if none); @len gets its length. */
static inline const uint8_t *rt_ev_next(uint32_t *len)
{
	struct vring_drv *d = &rt.q[VIRTIO_RESOURCE_Q_EVENT];
	uint32_t id;

	if (rt.ev_seen == drv__used_idx(d))
		return NULL;
	id = drv__used_id(d, rt.ev_seen);
	*len = drv__used_len(d, rt.ev_seen);
	rt.ev_seen++;
	ck_assert_uint_lt(id, RT_QSIZE);
	return rt_ram(RT_EV_GPA + id * RT_EV_SLOT);
}

/* The next event, which must be of @type. */
static inline const uint8_t *rt_ev_expect(uint16_t type, uint32_t *len)
{
	const uint8_t *ev = rt_ev_next(len);
	struct rc_hdr h;

	ck_assert_msg(ev != NULL, "no event of type %u", type);
	ck_assert_int_eq(rc_decode_hdr(ev, *len, &h), 0);
	ck_assert_uint_eq(h.len, *len);
	ck_assert_msg(h.type == type, "event of type %u, expected %u", h.type, type);
	return ev;
}

/* Read back every event delivered so far; returns how many there were. */
static inline unsigned int rt_ev_drain(void)
{
	unsigned int n = 0;
	uint32_t len;

	while (rt_ev_next(&len))
		n++;
	return n;
}

/* ---- messages the driver sends ---- */

static inline long rt_hello(uint64_t txn, uint64_t mem_rate)
{
	struct rc_hello h = { .hdr = { .type = VIRTIO_RESOURCE_T_HELLO, .txn = txn },
			      .version = VIRTIO_RESOURCE_VERSION,
			      .mem_rate = mem_rate };
	uint8_t buf[64];
	size_t n = rc_encode_hello(buf, sizeof(buf), &h);

	ck_assert_uint_gt(n, 0);
	return rt_call(buf, n);
}

/* A request of application @app_id. */
static inline long rt_request_app(uint64_t txn, uint32_t app_id, uint16_t kind, uint64_t amount,
				  uint64_t minimum)
{
	struct rc_request q = {
		.hdr = { .type = VIRTIO_RESOURCE_T_REQUEST, .txn = txn, .app_id = app_id },
		.kind = kind,
		.urgency = VIRTIO_RESOURCE_U_NORMAL,
		.latency = VIRTIO_RESOURCE_L_INTERACTIVE,
		.deadline_ms = 0,
		.amount = amount,
		.minimum = minimum,
		.projected = amount * 2,
		.duration_ms = 0
	};
	uint8_t buf[128];
	size_t n = rc_encode_request(buf, sizeof(buf), &q);

	ck_assert_uint_gt(n, 0);
	return rt_call(buf, n);
}

/* A request of application 3. */
static inline long rt_request(uint64_t txn, uint16_t kind, uint64_t amount, uint64_t minimum)
{
	return rt_request_app(txn, 3, kind, amount, minimum);
}

static inline long rt_message(uint64_t txn, uint32_t dest, const void *payload, uint32_t len)
{
	static uint8_t buf[RES_MAX_MESSAGE * 2];
	struct rc_message m = { .hdr = { .type = VIRTIO_RESOURCE_T_MESSAGE, .txn = txn },
				.dest = dest,
				.payload = payload,
				.payload_len = len };
	size_t n = rc_encode_message(buf, sizeof(buf), &m);

	ck_assert_uint_gt(n, 0);
	return rt_post(VIRTIO_RESOURCE_Q_MESSAGE, buf, n, 64);
}

static inline long rt_accept(uint64_t txn, uint32_t offer_id, uint32_t choices)
{
	struct rc_accept a = { .hdr = { .type = VIRTIO_RESOURCE_T_ACCEPT, .txn = txn },
			       .offer_id = offer_id,
			       .choices = choices };
	uint8_t buf[64];
	size_t n = rc_encode_accept(buf, sizeof(buf), &a);

	ck_assert_uint_gt(n, 0);
	return rt_call(buf, n);
}

static inline long rt_decline(uint64_t txn, uint32_t offer_id)
{
	struct rc_decline dc = { .hdr = { .type = VIRTIO_RESOURCE_T_DECLINE, .txn = txn },
				 .offer_id = offer_id };
	uint8_t buf[64];
	size_t n = rc_encode_decline(buf, sizeof(buf), &dc);

	ck_assert_uint_gt(n, 0);
	return rt_call(buf, n);
}

static inline long rt_release(uint64_t txn, uint16_t kind, uint64_t amount)
{
	struct rc_release rel = { .hdr = { .type = VIRTIO_RESOURCE_T_RELEASE, .txn = txn },
				  .kind = kind,
				  .amount = amount };
	uint8_t buf[64];
	size_t n = rc_encode_release(buf, sizeof(buf), &rel);

	ck_assert_uint_gt(n, 0);
	return rt_call(buf, n);
}

static inline long rt_renegotiate(uint64_t txn, uint16_t kind, uint64_t amount)
{
	struct rc_renegotiate rn = { .hdr = { .type = VIRTIO_RESOURCE_T_RENEGOTIATE, .txn = txn },
				     .kind = kind,
				     .amount = amount };
	uint8_t buf[64];
	size_t n = rc_encode_renegotiate(buf, sizeof(buf), &rn);

	ck_assert_uint_gt(n, 0);
	return rt_call(buf, n);
}

/* RESERVE (or UNRESERVE) @n ranges given as address, length pairs. */
static inline long rt_ranges(bool reserve, unsigned int n, const uint64_t *addr_len)
{
	static struct rc_ranges m;
	static uint8_t buf[sizeof(struct virtio_resource_ranges) +
			   VIRTIO_RESOURCE_MAX_RANGES * sizeof(struct virtio_resource_range)];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.hdr.type = reserve ? VIRTIO_RESOURCE_T_RESERVE : VIRTIO_RESOURCE_T_UNRESERVE;
	m.nr_ranges = n;
	for (unsigned int i = 0; i < n; i++)
		m.range[i] = (struct rc_range){ addr_len[2 * i], addr_len[2 * i + 1] };
	len = rc_encode_ranges(buf, sizeof(buf), &m);
	ck_assert_uint_gt(len, 0);
	return rt_call(buf, len);
}

static inline long rt_reserve(uint64_t addr, uint64_t len)
{
	uint64_t r[2] = { addr, len };

	return rt_ranges(true, 1, r);
}

static inline long rt_unreserve(uint64_t addr, uint64_t len)
{
	uint64_t r[2] = { addr, len };

	return rt_ranges(false, 1, r);
}

/* The answer is an A_ACK; returns it decoded. */
static inline struct rc_ack rt_expect_ack(long len)
{
	struct rc_ack a;

	ck_assert_msg(len > 0, "no answer");
	ck_assert_msg(rt_answer_type(len) == VIRTIO_RESOURCE_A_ACK, "answer of type %u",
		      rt_answer_type(len));
	ck_assert_int_eq(rc_decode_ack(rt_answer(), (size_t)len, &a), 0);
	return a;
}

static inline struct rc_grant rt_expect_grant(long len)
{
	struct rc_grant g;

	ck_assert_msg(len > 0, "no answer");
	ck_assert_msg(rt_answer_type(len) == VIRTIO_RESOURCE_A_GRANT, "answer of type %u",
		      rt_answer_type(len));
	ck_assert_int_eq(rc_decode_grant(rt_answer(), (size_t)len, &g), 0);
	return g;
}

static inline struct rc_deny rt_expect_deny(long len)
{
	struct rc_deny d;

	ck_assert_msg(len > 0, "no answer");
	ck_assert_msg(rt_answer_type(len) == VIRTIO_RESOURCE_A_DENY, "answer of type %u",
		      rt_answer_type(len));
	ck_assert_int_eq(rc_decode_deny(rt_answer(), (size_t)len, &d), 0);
	return d;
}

static inline struct rc_offer rt_expect_offer(long len)
{
	struct rc_offer o;

	ck_assert_msg(len > 0, "no answer");
	ck_assert_msg(rt_answer_type(len) == VIRTIO_RESOURCE_A_OFFER, "answer of type %u",
		      rt_answer_type(len));
	ck_assert_int_eq(rc_decode_offer(rt_answer(), (size_t)len, &o), 0);
	return o;
}

/* ---- the device's state ---- */

/* The agreement @txn in the device's table (fails the test if absent). */
static inline struct rc_entry *rt_entry(uint64_t txn)
{
	struct rc_entry *e = NULL;

	ck_assert_msg(rc_table_find(&rt.r->table, txn, &e) == 0, "txn %llu is not in the table",
		      (unsigned long long)txn);
	return e;
}

static inline void rt_expect_state(uint64_t txn, enum rc_state s, uint64_t granted)
{
	struct rc_entry *e = rt_entry(txn);

	ck_assert_msg(e->state == s, "txn %llu is %s, expected %s", (unsigned long long)txn,
		      rc_state_name(e->state), rc_state_name(s));
	ck_assert_uint_eq(e->granted, granted);
}

static inline struct virtio_resource_config rt_config(void)
{
	struct virtio_resource_config c;

	resource__config(rt.r, &c);
	return c;
}

/* The memfd's allocated bytes. */
static inline uint64_t rt_mem_allocated(void)
{
	struct stat s;

	ck_assert_int_eq(fstat(rt.mem.fd, &s), 0);
	return (uint64_t)s.st_blocks * 512;
}

#endif
