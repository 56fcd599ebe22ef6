// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_resource runner): the virtio-resource device, host side,
 * driven without KVM. Guest RAM is a 64 MiB memfd; the test is the guest
 * driver: it encodes messages with guest/core's codec, posts them on the
 * device's queues with a writable answer buffer, notifies, and decodes what
 * the device wrote back. Fake host operations record vCPU changes, the
 * hardware descriptions asked for and the control-socket events.
 *
 * Every test starts from: 64 MiB of RAM of which 32 MiB are granted, a pool
 * of 48 MiB; 4 vCPUs of which 2 run, a pool of 3; guest id 7. The guest
 * starts with all 64 MiB usable and must reserve the 32 MiB it was not
 * granted before it may give anything back (rt_comply).
 *
 * Tests named ..._bug_... fail on purpose: they pin down a defect of the
 * device that the report describes (file, line, proposed fix).
 */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/virtio_resource.h>

#include "accord/resource.h"
#include "rc_codec.h"
#include "rc_inventory.h"

#include "resource_test.h"
#include "valgrind_test.h"

struct rt rt;
static struct json_object *rt_requests; /* the last requests view, put at teardown */

/* ---- fixtures ---- */

struct resource_opts rt_opts(void)
{
	return (struct resource_opts){ .guest_id = RT_GUEST_ID,
				       .mem_max = RT_RAM,
				       .mem_granted = RT_MEM_GRANTED,
				       .mem_pool = RT_MEM_POOL,
				       .vcpus_max = RT_VCPUS_MAX,
				       .vcpus_granted = RT_VCPUS,
				       .vcpus_pool = RT_VCPUS_POOL };
}

/* Guest memory, the fake machine and the device: virtio_resource__init's result. */
static int rt_init(const struct resource_opts *o, long describe_result, struct acc_err *err)
{
	struct resource_host_ops host = { fake_host__set_vcpus, fake_host__describe,
					  fake_host__event, &rt.host };

	ck_assert_msg(guest_mem__create(&rt.mem, RT_RAM, err) == 0, "%s", err->msg);
	test_log__init(&rt.log, &rt.rl);
	if (getenv("RT_LOG")) /* RT_LOG=1: the device's log, guest errors included */
		log__init(&rt.log, "unit", LOG_DEBUG);
	fake_host__init(&rt.host);
	rt.host.describe_result = describe_result;
	rt.r = calloc(1, sizeof(*rt.r));
	ck_assert_ptr_nonnull(rt.r);
	return virtio_resource__init(rt.r, o, &host, &rt.mem, &rt.log, &rt.rl, err);
}

void rt_start(const struct resource_opts *o, bool driver_ok)
{
	struct acc_err err = { { 0 } };

	ck_assert_msg(rt_init(o, 0, &err) == 0, "%s", err.msg);
	virtio__set_transport(&rt.r->vdev, irq_rec__ops(), &rt.irq);
	if (driver_ok)
		rt_driver_ok();
}

void rt_clear(void)
{
	memset(&rt, 0, sizeof(rt));
	rt.mem.fd = -1;
	rt.share.root_fd = -1;
	rt_requests = NULL;
}

static void setup(void)
{
	struct resource_opts o = rt_opts();

	rt_clear();
	rt_start(&o, true);
}

static void setup_no_driver(void)
{
	struct resource_opts o = rt_opts();

	rt_clear();
	rt_start(&o, false);
}

/* Many vCPUs exist (the device never runs them): room for 128 agreements. */
static void setup_many_vcpus(void)
{
	struct resource_opts o = rt_opts();

	o.vcpus_max = 1000;
	o.vcpus_granted = 1;
	o.vcpus_pool = 1000;
	rt_clear();
	rt_start(&o, true);
}

/* A share: hello.txt, sub/inner.txt, dir/, and a symlink to a file outside it. */
static void setup_share(void)
{
	struct resource_opts o = rt_opts();
	struct acc_err err = { { 0 } };
	char dir[512];

	rt_clear();
	fake_init(&rt.tree, "res");
	fake_write(&rt.tree, "share/hello.txt", "hello, world\n");
	fake_write(&rt.tree, "share/sub/inner.txt", "inner");
	fake_write(&rt.tree, "outside.txt", "secret");
	fake_symlink(&rt.tree, "share/link_out", "../outside.txt");
	fake_mkdirs(&rt.tree, "share/dir", 1);
	ck_assert_msg(share__open_root(&rt.share, fake_path(&rt.tree, "share", dir, sizeof(dir)),
				       &err) == 0,
		      "%s", err.msg);
	rt.has_share = true;
	o.share = &rt.share;
	rt_start(&o, true);
}

void rt_teardown(void)
{
	if (rt_requests)
		json_object_put(rt_requests);
	rt_requests = NULL;
	if (rt.r) {
		virtio_resource__exit(rt.r);
		free(rt.r);
		rt.r = NULL;
	}
	fake_host__exit(&rt.host);
	if (rt.has_share)
		share__close_root(&rt.share);
	fake_cleanup(&rt.tree);
	guest_mem__destroy(&rt.mem);
	ratelimit__destroy(&rt.rl);
}

/* ---- helpers ---- */

/* The guest hands back what it was not granted: usable == granted (32 MiB). */
static void rt_comply(void)
{
	struct rc_ack a = rt_expect_ack(rt_reserve(RT_MEM_GRANTED, RT_RAM - RT_MEM_GRANTED));

	ck_assert_uint_eq(a.mem_reserved, RT_RAM - RT_MEM_GRANTED);
	ck_assert_uint_eq(resource__mem_usable(rt.r), rt.r->mem.granted);
}

void rt_hello_ok(void)
{
	ck_assert_uint_eq(rt_answer_type(rt_hello(1000, 256 * MiB)), VIRTIO_RESOURCE_A_WELCOME);
}

/* A value of the allocation view: @kind is "memory" or "vcpus". */
static uint64_t rt_alloc(const char *kind, const char *key)
{
	struct json_object *o = resource__allocation_json(rt.r);
	uint64_t v = rt_json_u64(rt_json_get(o, kind), key);

	json_object_put(o);
	return v;
}

/* The requests view's entry for @txn, or NULL (valid until the next call). */
static struct json_object *rt_request_json(uint64_t txn)
{
	if (rt_requests)
		json_object_put(rt_requests);
	rt_requests = resource__requests_json(rt.r);
	for (size_t i = 0; i < json_object_array_length(rt_requests); i++) {
		struct json_object *e = json_object_array_get_idx(rt_requests, i);

		if (rt_json_u64(e, "txn") == txn)
			return e;
	}
	return NULL;
}

static void rt_ev_refill(void)
{
	unsigned int out = (uint16_t)(rt.ev_posted - rt.ev_seen);

	if (out < RT_QSIZE)
		rt_ev_post(RT_QSIZE - out);
}

/*
 * Read every event delivered so far and keep the queue stocked. Returns how
 * many were of @type; the last of them is copied to @out (when not NULL).
 */
static unsigned int rt_ev_scan(uint16_t type, uint8_t *out, uint32_t *out_len)
{
	unsigned int n = 0;
	const uint8_t *ev;
	uint32_t len;

	while ((ev = rt_ev_next(&len))) {
		struct rc_hdr h;

		ck_assert_int_eq(rc_decode_hdr(ev, len, &h), 0);
		if (h.type != type)
			continue;
		n++;
		if (out) {
			memcpy(out, ev, len);
			*out_len = len;
		}
	}
	rt_ev_refill();
	return n;
}

static struct rc_ev_allocation rt_ev_allocation(const uint8_t *ev, uint32_t len)
{
	struct rc_ev_allocation a;

	ck_assert_int_eq(rc_decode_ev_allocation(ev, len, &a), 0);
	ck_assert_uint_eq(a.hdr.type, VIRTIO_RESOURCE_EV_ALLOCATION);
	return a;
}

static void rt_fill(uint64_t gpa, uint64_t len, uint8_t byte)
{
	memset(rt_ram(gpa), byte, len);
}

static bool rt_all(uint64_t gpa, uint64_t len, uint8_t byte)
{
	const uint8_t *p = rt_ram(gpa);

	for (uint64_t i = 0; i < len; i++) {
		if (p[i] != byte)
			return false;
	}
	return true;
}

/* An offer for txn 1: 24 MiB asked with 32 granted of a 48 MiB pool. */
static struct rc_offer rt_offer_24(uint64_t txn)
{
	struct rc_offer o =
		rt_expect_offer(rt_request(txn, VIRTIO_RESOURCE_K_MEMORY, 24 * MiB, 2 * MiB));

	ck_assert_uint_eq(o.nr_alternatives, 2);
	ck_assert_uint_eq(o.alt[0].amount, 16 * MiB);
	ck_assert_uint_eq(o.alt[1].amount, 8 * MiB);
	return o;
}

/* ---- identity, config, init ---- */

START_TEST(test_device_identity_features_and_config)
{
	struct virtio_resource_config c = rt_config();
	uint64_t f = rt.r->vdev.device_features;
	uint32_t gen = 0xffffffff;
	uint64_t granule = 0;

	ck_assert_uint_eq(rt.r->vdev.ops->device_id, VIRTIO_ID_RESOURCE);
	ck_assert_uint_eq(VIRTIO_ID_RESOURCE, 57);
	ck_assert_uint_eq(rt.r->vdev.nr_queues, VIRTIO_RESOURCE_NR_QUEUES);
	ck_assert_uint_eq(rt.r->vdev.config_size, sizeof(struct virtio_resource_config));
	ck_assert_uint_ne(f & (1ull << VIRTIO_F_VERSION_1), 0);
	ck_assert_uint_ne(f & (1ull << VIRTIO_RESOURCE_F_MEMORY), 0);
	ck_assert_uint_ne(f & (1ull << VIRTIO_RESOURCE_F_VCPU), 0);
	ck_assert_uint_ne(f & (1ull << VIRTIO_RESOURCE_F_STATS), 0);
	ck_assert_uint_ne(f & (1ull << VIRTIO_RESOURCE_F_MESSAGES), 0);
	ck_assert_uint_eq(f & (1ull << VIRTIO_RESOURCE_F_FILES), 0); /* no share */

	ck_assert_uint_eq(c.version, VIRTIO_RESOURCE_VERSION);
	ck_assert_uint_eq(c.guest_id, RT_GUEST_ID);
	ck_assert_uint_eq(c.generation, 0);
	ck_assert_uint_gt(c.inventory_size, 0);
	ck_assert_uint_eq(c.inventory_size, (uint64_t)rt.r->inventory_len);
	ck_assert_uint_eq(c.mem_granule, 2 * MiB);
	ck_assert_uint_eq(c.mem_max, RT_RAM);
	ck_assert_uint_eq(c.mem_granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(c.mem_reserved, 0);
	ck_assert_uint_eq(c.vcpus_max, RT_VCPUS_MAX);
	ck_assert_uint_eq(c.vcpus_granted, RT_VCPUS);
	ck_assert_uint_eq(c.max_message, 4096);
	ck_assert_uint_eq(c.max_outstanding, 64);
	ck_assert_uint_eq(c.max_app_outstanding, 8);
	ck_assert_uint_eq(c.max_app_agreements, 64);

	/* The transport reads the same bytes (little-endian on x86). */
	rt.r->vdev.ops->config_read(&rt.r->vdev,
				    offsetof(struct virtio_resource_config, generation), &gen,
				    sizeof(gen));
	ck_assert_uint_eq(gen, 0);
	rt.r->vdev.ops->config_read(&rt.r->vdev,
				    offsetof(struct virtio_resource_config, mem_granule), &granule,
				    sizeof(granule));
	ck_assert_uint_eq(granule, 2 * MiB);

	/* The description was built once, for this allocation; no vCPU change yet. */
	ck_assert_uint_eq(rt.host.describe_calls, 1);
	ck_assert_uint_eq(rt.host.last_cfg.mem_granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(rt.host.set_vcpus_calls, 0);
	ck_assert(!rt.r->hello);
}
END_TEST

START_TEST(test_init_fails_when_the_hardware_cannot_be_described)
{
	struct resource_opts o = rt_opts();
	struct acc_err err = { { 0 } };

	rt_clear();
	ck_assert_int_eq(rt_init(&o, -EIO, &err), -EIO);
	ck_assert_str_ne(err.msg, "");
	ck_assert_uint_eq(rt.host.describe_calls, 1);
	free(rt.r); /* init freed everything it had */
	rt.r = NULL;
	rt_teardown();
}
END_TEST

/* ---- HELLO, ordering ---- */

START_TEST(test_request_before_hello_is_order)
{
	struct rc_hdr h = { .type = VIRTIO_RESOURCE_T_GET_INVENTORY, .txn = 2 };
	uint8_t buf[64];
	struct rc_error e;

	e = rt_expect_error(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB, 2 * MiB),
			    VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(e.hdr.txn, 1);
	ck_assert_uint_eq(e.hdr.app_id, 3);
	e = rt_expect_error(rt_call(buf, rc_encode_bare(buf, sizeof(buf), &h)),
			    VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(e.hdr.txn, 2);
	rt_expect_error(rt_reserve(32 * MiB, 2 * MiB), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_VCPU, 1), VIRTIO_RESOURCE_S_ORDER);

	ck_assert_uint_eq(rt.r->table.used, 0);
	ck_assert_uint_eq(rt.r->memres.reserved, 0);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(rt.r->vcpu.granted, RT_VCPUS);
	ck_assert(!rt_needs_reset());
}
END_TEST

START_TEST(test_hello_is_welcomed)
{
	struct rc_hello h = { .hdr = { .type = VIRTIO_RESOURCE_T_HELLO, .txn = 9 },
			      .version = VIRTIO_RESOURCE_VERSION,
			      .mem_rate = 256 * MiB };
	struct rc_welcome w;
	struct rc_error e;
	struct json_object *o;
	uint8_t buf[64];
	size_t n;
	long len;

	len = rt_hello(9, 256 * MiB);
	ck_assert_int_eq(len, sizeof(struct virtio_resource_welcome));
	ck_assert_int_eq(rc_decode_welcome(rt_answer(), (size_t)len, &w), 0);
	ck_assert_uint_eq(w.hdr.type, VIRTIO_RESOURCE_A_WELCOME);
	ck_assert_uint_eq(w.hdr.txn, 9);
	ck_assert_uint_eq(w.hdr.status, VIRTIO_RESOURCE_S_OK);
	ck_assert_uint_eq(w.version, VIRTIO_RESOURCE_VERSION);
	ck_assert_uint_eq(w.guest_id, RT_GUEST_ID);
	ck_assert(rt.r->hello);
	ck_assert_uint_eq(rt.r->mem_rate, 256 * MiB);
	o = resource__allocation_json(rt.r);
	ck_assert(json_object_get_boolean(rt_json_get(o, "driver")));
	json_object_put(o);

	/* Another version: UNSUPPORTED, the rate unchanged. */
	h.version = 2;
	h.mem_rate = 1;
	n = rc_encode_hello(buf, sizeof(buf), &h);
	e = rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_UNSUPPORTED);
	ck_assert_uint_eq(e.hdr.txn, 9);
	ck_assert_uint_eq(rt.r->mem_rate, 256 * MiB);
	/* Version 0 is refused by the decoder the same way. */
	h.version = 0;
	n = rc_encode_hello(buf, sizeof(buf), &h);
	rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_UNSUPPORTED);
	/* A reserved field set: MALFORMED, without the txn (the message was not decoded). */
	h.version = VIRTIO_RESOURCE_VERSION;
	n = rc_encode_hello(buf, sizeof(buf), &h);
	buf[offsetof(struct virtio_resource_hello, reserved)] = 1;
	e = rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_MALFORMED);
	ck_assert_uint_eq(e.hdr.txn, 0);
	/* A rate of 0: the host assumes 1 GiB/s. HELLO may be repeated. */
	ck_assert_uint_eq(rt_answer_type(rt_hello(10, 0)), VIRTIO_RESOURCE_A_WELCOME);
	ck_assert_uint_eq(rt.r->mem_rate, RES_DEFAULT_MEM_RATE);
	/* Like every answer, the WELCOME echoes the app id (the fuzzer's find). */
	h.hdr.txn = 11;
	h.hdr.app_id = 5;
	n = rc_encode_hello(buf, sizeof(buf), &h);
	len = rt_call(buf, n);
	ck_assert_int_eq(rc_decode_welcome(rt_answer(), (size_t)len, &w), 0);
	ck_assert_uint_eq(w.hdr.txn, 11);
	ck_assert_uint_eq(w.hdr.app_id, 5);
}
END_TEST

START_TEST(test_get_inventory_answers_the_description)
{
	struct rc_hdr h = { .type = VIRTIO_RESOURCE_T_GET_INVENTORY, .txn = 4 };
	struct rc_inventory *inv = calloc(1, sizeof(*inv));
	uint8_t buf[64];
	struct rc_data d;
	struct rc_error e;
	size_t n = rc_encode_bare(buf, sizeof(buf), &h);
	long len;

	ck_assert_ptr_nonnull(inv);
	ck_assert_uint_eq(n, sizeof(struct virtio_resource_hdr));
	rt_hello_ok();
	len = rt_post(VIRTIO_RESOURCE_Q_REQUEST, buf, n, RT_IN_MAX);
	ck_assert_uint_eq(rt_answer_type(len), VIRTIO_RESOURCE_A_INVENTORY);
	ck_assert_int_eq(rc_decode_data(rt_answer(), (size_t)len, &d), 0);
	ck_assert_uint_eq(d.hdr.txn, 4);
	ck_assert_uint_eq(d.data_len, rt_config().inventory_size);
	ck_assert_int_eq(rc_inventory_parse(inv, d.data, d.data_len), 0);
	ck_assert_uint_eq(inv->generation, 0);
	ck_assert_uint_eq(inv->nr_cpus, 2);
	ck_assert_uint_eq(inv->alloc.memory_max, RT_RAM);
	ck_assert_uint_eq(inv->alloc.memory_granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(inv->alloc.vcpus_max, RT_VCPUS_MAX);
	ck_assert_uint_eq(inv->alloc.vcpus_granted, RT_VCPUS);
	ck_assert_uint_eq(inv->alloc.granule, 2 * MiB);

	/* After a change the description is rebuilt for the new generation. */
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB, 2 * MiB));
	len = rt_post(VIRTIO_RESOURCE_Q_REQUEST, buf, n, RT_IN_MAX);
	ck_assert_int_eq(rc_decode_data(rt_answer(), (size_t)len, &d), 0);
	ck_assert_int_eq(rc_inventory_parse(inv, d.data, d.data_len), 0);
	ck_assert_uint_eq(inv->generation, 1);
	ck_assert_uint_eq(inv->alloc.memory_granted, RT_MEM_GRANTED + 4 * MiB);
	ck_assert_uint_eq(rt_config().generation, 1);

	/* An answer buffer too small for it: TOO_BIG. */
	e = rt_expect_error(rt_post(VIRTIO_RESOURCE_Q_REQUEST, buf, n, 64),
			    VIRTIO_RESOURCE_S_TOO_BIG);
	ck_assert_uint_eq(e.hdr.txn, 4);
	/* Trailing bytes in a bare message: MALFORMED. */
	h.txn = 5;
	n = rc_encode_bare(buf, sizeof(buf), &h);
	buf[4] = 32; /* hdr.len */
	rt_expect_error(rt_post(VIRTIO_RESOURCE_Q_REQUEST, buf, 32, RT_IN_MAX),
			VIRTIO_RESOURCE_S_MALFORMED);
	ck_assert(!rt_needs_reset());
	free(inv);
}
END_TEST

/* ---- REQUEST ---- */

START_TEST(test_request_granted_within_the_pool)
{
	struct rc_ev_allocation a;
	struct json_object *ev, *e;
	unsigned int irq_before;
	uint8_t evbuf[RES_EVENT_MAX];
	uint32_t evlen;
	struct rc_grant g;

	rt_hello_ok();
	rt_ev_post(8);
	irq_before = rt.irq.config;
	g = rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	ck_assert_uint_eq(g.hdr.txn, 1);
	ck_assert_uint_eq(g.hdr.app_id, 3);
	ck_assert_uint_eq(g.kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(g.amount, 8 * MiB);
	ck_assert_uint_eq(g.allocation, 40 * MiB);
	ck_assert_uint_eq(g.lease_ms, 0);

	/* The allocation changed: config, generation, interrupt, event, description. */
	ck_assert_uint_eq(rt_config().mem_granted, 40 * MiB);
	ck_assert_uint_eq(rt_config().generation, 1);
	ck_assert_uint_eq(rt.irq.config, irq_before + 1);
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_ALLOCATION, evbuf, &evlen), 1);
	a = rt_ev_allocation(evbuf, evlen);
	ck_assert_uint_eq(a.generation, 1);
	ck_assert_uint_eq(a.mem_granted, 40 * MiB);
	ck_assert_uint_eq(a.vcpus_granted, RT_VCPUS);
	ck_assert_uint_eq(rt.host.describe_calls, 2);
	ck_assert_uint_eq(rt.host.last_cfg.generation, 1);
	ck_assert_uint_eq(rt.host.last_cfg.mem_granted, 40 * MiB);
	ck_assert_uint_eq(rt.host.vcpus, RT_VCPUS);

	/* Control-socket events. */
	ev = rt_host_last("GRANT");
	ck_assert_uint_eq(rt_json_u64(ev, "txn"), 1);
	ck_assert_uint_eq(rt_json_u64(ev, "app-id"), 3);
	ck_assert_str_eq(rt_json_str(ev, "kind"), "memory");
	ck_assert_uint_eq(rt_json_u64(ev, "amount"), 8 * MiB);
	ck_assert_uint_eq(rt_json_u64(ev, "allocation"), 40 * MiB);
	ck_assert_str_ne(rt_json_str(ev, "reason"), "");
	ev = rt_host_last("ALLOCATION_CHANGED");
	ck_assert_uint_eq(rt_json_u64(ev, "generation"), 1);
	ck_assert_uint_eq(rt_json_u64(ev, "memory-granted"), 40 * MiB);
	ck_assert_uint_eq(rt_json_u64(ev, "vcpus-granted"), RT_VCPUS);
	ck_assert_str_eq(rt_json_str(ev, "reason"), "grant");

	/* The agreement. */
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	e = rt_request_json(1);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(rt_json_str(e, "state"), "granted");
	ck_assert_uint_eq(rt_json_u64(e, "app-id"), 3);
	ck_assert_str_eq(rt_json_str(e, "kind"), "memory");
	ck_assert_uint_eq(rt_json_u64(e, "amount"), 8 * MiB);
	ck_assert_uint_eq(rt_json_u64(e, "minimum"), 2 * MiB);
	ck_assert_uint_eq(rt_json_u64(e, "granted"), 8 * MiB);
	ck_assert_uint_eq(rt_json_u64(e, "urgency"), VIRTIO_RESOURCE_U_NORMAL);
	ck_assert_uint_eq(rt_json_u64(e, "latency"), VIRTIO_RESOURCE_L_INTERACTIVE);
	ck_assert_uint_eq(rt_json_u64(e, "deadline-ms"), 0);
	ck_assert_uint_eq(rt_json_u64(e, "last-answer"), VIRTIO_RESOURCE_A_GRANT);

	/* Amounts are rounded up to whole granules. */
	g = rt_expect_grant(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 3 * MiB, 1 * MiB));
	ck_assert_uint_eq(g.amount, 4 * MiB);
	ck_assert_uint_eq(g.allocation, 44 * MiB);
	ck_assert_uint_eq(rt_entry(2)->amount, 4 * MiB);
	ck_assert_uint_eq(rt_entry(2)->minimum, 2 * MiB);
	ck_assert_uint_eq(rt_alloc("memory", "granted"), 44 * MiB);
}
END_TEST

START_TEST(test_vcpu_request_runs_the_new_vcpu)
{
	struct rc_grant g;
	struct rc_deny d;

	rt_hello_ok();
	g = rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	ck_assert_uint_eq(g.kind, VIRTIO_RESOURCE_K_VCPU);
	ck_assert_uint_eq(g.amount, 1);
	ck_assert_uint_eq(g.allocation, 3);
	ck_assert_uint_eq(rt.host.vcpus, 3);
	ck_assert_uint_eq(rt_config().vcpus_granted, 3);
	ck_assert_str_eq(rt_json_str(rt_host_last("GRANT"), "kind"), "vcpus");
	/* The pool (3) is reached; one more exists (4). */
	d = rt_expect_deny(rt_request(2, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	ck_assert_uint_eq(d.retry_after_ms, POLICY_RETRY_MS);
	ck_assert_uint_eq(d.allocation, 3);
	/* Two more do not exist. */
	d = rt_expect_deny(rt_request(3, VIRTIO_RESOURCE_K_VCPU, 2, 2));
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_ABOVE_MAX);
	ck_assert_uint_eq(d.retry_after_ms, 0);
	ck_assert_uint_eq(rt.r->vcpu.granted, 3);
}
END_TEST

START_TEST(test_request_denied_above_max)
{
	struct rc_deny d;
	struct rc_entry *e;

	rt_hello_ok();
	d = rt_expect_deny(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 40 * MiB, 40 * MiB));
	ck_assert_uint_eq(d.hdr.txn, 1);
	ck_assert_uint_eq(d.hdr.app_id, 3);
	ck_assert_uint_eq(d.kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_ABOVE_MAX);
	ck_assert_uint_eq(d.retry_after_ms, 0);
	ck_assert_uint_eq(d.allocation, RT_MEM_GRANTED);
	rt_expect_state(1, RC_S_DENIED, 0);
	e = rt_entry(1);
	ck_assert_uint_eq(e->last.type, VIRTIO_RESOURCE_A_DENY);
	ck_assert_uint_eq(e->last.reason, VIRTIO_RESOURCE_D_ABOVE_MAX);
	ck_assert_uint_eq(rt_host_count("DENY"), 1);
	ck_assert_uint_eq(rt_json_u64(rt_host_last("DENY"), "amount"), 40 * MiB);
	ck_assert_uint_eq(rt_host_count("ALLOCATION_CHANGED"), 0);
	ck_assert_uint_eq(rt_config().generation, 0);
	ck_assert_str_eq(rt_json_str(rt_request_json(1), "state"), "denied");
}
END_TEST

START_TEST(test_request_denied_at_the_host_limit)
{
	struct rc_deny d;

	rt_hello_ok();
	/* 16 MiB are left in the pool; at least 18 are wanted. */
	d = rt_expect_deny(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 20 * MiB, 18 * MiB));
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	ck_assert_uint_eq(d.retry_after_ms, POLICY_RETRY_MS);
	ck_assert_uint_eq(d.allocation, RT_MEM_GRANTED);
	rt_expect_state(1, RC_S_DENIED, 0);
	ck_assert_uint_eq(rt_entry(1)->last.retry_after_ms, POLICY_RETRY_MS);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
}
END_TEST

START_TEST(test_request_of_a_kind_not_negotiable_here)
{
	struct rc_request q = { .hdr = { .type = VIRTIO_RESOURCE_T_REQUEST, .txn = 2 },
				.kind = 9,
				.amount = 1,
				.minimum = 1 };
	uint8_t buf[128];
	struct rc_deny d;
	size_t n;

	rt_hello_ok();
	/* I/O bandwidth is a known kind the host does not negotiate yet. */
	d = rt_expect_deny(rt_request(1, VIRTIO_RESOURCE_K_IO_BANDWIDTH, 1000, 1000));
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_UNSUPPORTED);
	ck_assert_uint_eq(d.kind, VIRTIO_RESOURCE_K_IO_BANDWIDTH);
	ck_assert_uint_eq(d.allocation, 0);
	ck_assert_uint_eq(rt.r->table.used, 0); /* no agreement was opened */
	/* An unknown kind is refused by the decoder. */
	n = rc_encode_request(buf, sizeof(buf), &q);
	rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_UNSUPPORTED);
	ck_assert_uint_eq(rt.r->table.used, 0);
}
END_TEST

START_TEST(test_request_offered_part_now_rest_later)
{
	struct rc_offer o;
	struct rc_entry *e;
	struct rc_deny d;

	rt_hello_ok();
	o = rt_expect_offer(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 24 * MiB, 2 * MiB));
	ck_assert_uint_eq(o.hdr.txn, 1);
	ck_assert_uint_eq(o.hdr.app_id, 3);
	ck_assert_uint_ge(o.offer_id, 1);
	ck_assert_uint_eq(o.expires_ms, RES_OFFER_EXPIRES_MS);
	ck_assert_uint_eq(o.nr_alternatives, 2);
	ck_assert_uint_eq(o.alt[0].kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(o.alt[0].type, VIRTIO_RESOURCE_ALT_PART_NOW);
	ck_assert_uint_eq(o.alt[0].delay_ms, 0);
	ck_assert_uint_eq(o.alt[0].amount, 16 * MiB);
	ck_assert_uint_eq(o.alt[1].kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(o.alt[1].type, VIRTIO_RESOURCE_ALT_REST_LATER);
	ck_assert_uint_eq(o.alt[1].delay_ms, POLICY_LATER_DELAY_MS);
	ck_assert_uint_eq(o.alt[1].amount, 8 * MiB);

	rt_expect_state(1, RC_S_OFFERED, 0);
	e = rt_entry(1);
	ck_assert_uint_eq(e->offer_id, o.offer_id);
	ck_assert_uint_eq(e->last.type, VIRTIO_RESOURCE_A_OFFER);
	/* The part now is held for this offer; nothing is granted yet. */
	ck_assert_uint_eq(rt.r->mem.pending, 16 * MiB);
	ck_assert_uint_eq(rt_alloc("memory", "pending"), 16 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(rt_config().generation, 0);
	ck_assert_uint_eq(rt_json_u64(rt_host_last("OFFER"), "amount"), 16 * MiB);
	ck_assert_str_eq(rt_json_str(rt_request_json(1), "state"), "offered");
	/* While it is held, nothing is left for others. */
	d = rt_expect_deny(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB));
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	/* Once declined, a new offer has a new id. */
	rt_expect_ack(rt_decline(1, o.offer_id));
	ck_assert_uint_gt(rt_offer_24(3).offer_id, o.offer_id);
}
END_TEST

START_TEST(test_duplicate_txn_is_order)
{
	struct rc_error e;

	rt_hello_ok();
	rt_expect_grant(rt_request(5, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB, 2 * MiB));
	e = rt_expect_error(rt_request(5, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB, 2 * MiB),
			    VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(e.hdr.txn, 5);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 4 * MiB);
	rt_expect_state(5, RC_S_GRANTED, 4 * MiB);
	/* A denied transaction's id stays used too. */
	rt_expect_deny(rt_request(6, VIRTIO_RESOURCE_K_MEMORY, 60 * MiB, 60 * MiB));
	rt_expect_error(rt_request(6, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB),
			VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(6, RC_S_DENIED, 0);
	/* txn 0 names no transaction. */
	rt_expect_error(rt_request(0, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB),
			VIRTIO_RESOURCE_S_MALFORMED);
	ck_assert_uint_eq(rt.r->table.used, 2);
}
END_TEST

/* ---- ACCEPT / DECLINE ---- */

START_TEST(test_accept_with_part_now_grants)
{
	struct rc_offer o;
	struct rc_grant g;

	rt_hello_ok();
	rt_ev_post(8);
	o = rt_offer_24(1);
	g = rt_expect_grant(rt_accept(1, o.offer_id, 1));
	ck_assert_uint_eq(g.hdr.txn, 1);
	ck_assert_uint_eq(g.kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(g.amount, 16 * MiB);
	ck_assert_uint_eq(g.allocation, 48 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 16 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	ck_assert_uint_eq(rt.r->mem.granted, 48 * MiB);
	ck_assert_uint_eq(rt_config().generation, 1);
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_ALLOCATION, NULL, NULL), 1);
	ck_assert_str_eq(rt_json_str(rt_host_last("GRANT"), "reason"), "offer accepted");
	for (unsigned int i = 0; i < RES_MAX_DEFERRED; i++)
		ck_assert_uint_eq(rt.r->deferred[i].txn, 0);
	/* The offer is gone. */
	rt_expect_error(rt_accept(1, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_error(rt_decline(1, o.offer_id), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(1, RC_S_GRANTED, 16 * MiB);
}
END_TEST

START_TEST(test_accept_without_part_now_is_range)
{
	struct rc_offer o;

	rt_hello_ok();
	o = rt_offer_24(1);
	rt_expect_error(rt_accept(1, o.offer_id, 2), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_state(1, RC_S_OFFERED, 0);
	ck_assert_uint_eq(rt.r->mem.pending, 16 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	/* The offer still stands. */
	ck_assert_uint_eq(rt_expect_grant(rt_accept(1, o.offer_id, 1)).amount, 16 * MiB);
}
END_TEST

START_TEST(test_accept_and_decline_errors_change_nothing)
{
	struct rc_offer o;

	rt_hello_ok();
	rt_expect_grant(rt_request(7, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	o = rt_offer_24(1);
	rt_expect_error(rt_accept(99, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_error(rt_accept(0, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_error(rt_accept(7, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER); /* not offered */
	rt_expect_error(rt_accept(1, o.offer_id + 1, 1), VIRTIO_RESOURCE_S_NOENT);
	rt_expect_error(rt_accept(1, o.offer_id, 4), VIRTIO_RESOURCE_S_RANGE); /* no alt 2 */
	rt_expect_error(rt_accept(1, o.offer_id, 0), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_accept(1, o.offer_id, 16), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_decline(1, o.offer_id + 1), VIRTIO_RESOURCE_S_NOENT);
	rt_expect_error(rt_decline(99, o.offer_id), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(1, RC_S_OFFERED, 0);
	rt_expect_state(7, RC_S_GRANTED, 1);
	ck_assert_uint_eq(rt.r->mem.pending, 16 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert(!rt_needs_reset());
}
END_TEST

START_TEST(test_decline_frees_the_held_amount)
{
	struct rc_offer o;
	struct rc_ack a;

	rt_hello_ok();
	o = rt_offer_24(1);
	a = rt_expect_ack(rt_decline(1, o.offer_id));
	ck_assert_uint_eq(a.hdr.txn, 1);
	ck_assert_uint_eq(a.mem_granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(a.mem_reserved, 0);
	ck_assert_uint_eq(a.vcpus_granted, RT_VCPUS);
	rt_expect_state(1, RC_S_DECLINED, 0);
	ck_assert_uint_eq(rt_entry(1)->last.type, VIRTIO_RESOURCE_A_ACK);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	ck_assert_str_eq(rt_json_str(rt_request_json(1), "state"), "declined");
	/* What it held is available again. */
	ck_assert_uint_eq(
		rt_expect_grant(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB, 16 * MiB))
			.allocation,
		48 * MiB);
	rt_expect_error(rt_accept(1, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
}
END_TEST

START_TEST(test_offer_lapses_after_ten_seconds)
{
	uint64_t now = clock__monotonic_ns();
	struct rc_offer o;
	struct rc_entry *e;

	rt_hello_ok();
	o = rt_offer_24(1);
	e = rt_entry(1);
	ck_assert_uint_ge(e->expires_ns, now + (RES_OFFER_EXPIRES_MS - 100) * 1000000ull);
	ck_assert_uint_le(e->expires_ns, clock__monotonic_ns() + RES_OFFER_EXPIRES_MS * 1000000ull);
	/* Ten seconds pass (the clock is CLOCK_MONOTONIC: move the expiry instead). */
	e->expires_ns = 1;
	rt_expect_error(rt_accept(1, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(1, RC_S_EXPIRED, 0);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert_str_eq(rt_json_str(rt_request_json(1), "state"), "expired");
	ck_assert_uint_eq(
		rt_expect_grant(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB, 16 * MiB)).amount,
		16 * MiB);
}
END_TEST

/*
 * Found with fuzz_resource: set-allocation up to the max while an offer was
 * open, then ACCEPT: the grant went past the VM's max (80 of 64 MiB).
 */
START_TEST(test_an_offer_the_max_has_no_room_for_any_more_lapses)
{
	struct acc_err err = { { 0 } };
	uint64_t max = RT_RAM;
	struct rc_offer o;

	rt_hello_ok();
	o = rt_offer_24(1);
	ck_assert_int_eq(resource__set_allocation(rt.r, &max, NULL, &err), 0);
	rt_expect_error(rt_accept(1, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(1, RC_S_EXPIRED, 0);
	ck_assert_uint_eq(rt.r->mem.granted, RT_RAM);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	ck_assert_uint_eq(rt_config().mem_granted, RT_RAM);
}
END_TEST

/*
 * Agreement 1 holds 8 MiB; agreement 2 is offered 8 now and 8 later, and
 * accepts both: 48 MiB granted, 8 MiB promised. The guest has reserved all
 * it was not granted.
 */
static struct rc_offer rt_two_agreements_with_a_promise(void)
{
	struct rc_offer o;
	struct rc_grant g;

	rt_hello_ok();
	rt_comply();
	rt_ev_post(RT_QSIZE);
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	o = rt_expect_offer(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB, 2 * MiB));
	ck_assert_uint_eq(o.alt[0].amount, 8 * MiB);
	ck_assert_uint_eq(o.alt[1].type, VIRTIO_RESOURCE_ALT_REST_LATER);
	ck_assert_uint_eq(o.alt[1].amount, 8 * MiB);
	g = rt_expect_grant(rt_accept(2, o.offer_id, 3));
	ck_assert_uint_eq(g.amount, 8 * MiB);
	ck_assert_uint_eq(g.allocation, 48 * MiB);
	rt_expect_state(2, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 8 * MiB); /* the promise */
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_GRANT, NULL, NULL), 0);
	return o;
}

START_TEST(test_rest_later_arrives_as_ev_grant_when_room_appears)
{
	uint8_t evbuf[RES_EVENT_MAX];
	struct rc_grant g;
	struct rc_ack a;
	uint32_t evlen;

	rt_two_agreements_with_a_promise();
	/* Agreement 1 is given back (reserved first): room for the promise. */
	rt_expect_ack(rt_reserve(24 * MiB, 8 * MiB));
	a = rt_expect_ack(rt_release(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB));
	ck_assert_uint_eq(a.mem_granted, 48 * MiB); /* 40 after the release, 48 with the promise */
	rt_expect_state(1, RC_S_RELEASED, 0);
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_GRANT, evbuf, &evlen), 1);
	ck_assert_int_eq(rc_decode_grant(evbuf, evlen, &g), 0);
	ck_assert_uint_eq(g.hdr.type, VIRTIO_RESOURCE_EV_GRANT);
	ck_assert_uint_eq(g.hdr.txn, 2);
	ck_assert_uint_eq(g.kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(g.amount, 16 * MiB); /* the agreement's amount now */
	ck_assert_uint_eq(g.allocation, 48 * MiB);
	rt_expect_state(2, RC_S_GRANTED, 16 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 48 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	for (unsigned int i = 0; i < RES_MAX_DEFERRED; i++)
		ck_assert_uint_eq(rt.r->deferred[i].txn, 0);
	ck_assert_str_eq(rt_json_str(rt_host_last("GRANT"), "reason"),
			 "the rest of an accepted offer");
	ck_assert_str_eq(rt_json_str(rt_host_last("ALLOCATION_CHANGED"), "reason"),
			 "deferred grant");
}
END_TEST

START_TEST(test_bug_deferred_part_of_a_released_agreement_is_still_granted)
{
	rt_two_agreements_with_a_promise();
	/* The guest gives agreement 2 back entirely: its promise ends with it. */
	rt_expect_ack(rt_reserve(24 * MiB, 8 * MiB));
	rt_expect_ack(rt_release(2, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB));
	rt_expect_state(2, RC_S_RELEASED, 0);
	ck_assert_msg(rt_ev_scan(VIRTIO_RESOURCE_EV_GRANT, NULL, NULL) == 0,
		      "EV_GRANT sent for a released agreement");
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
}
END_TEST

START_TEST(test_bug_deferred_grant_takes_what_an_open_offer_holds)
{
	struct rc_offer a, b;
	struct rc_grant g;

	rt_hello_ok();
	rt_comply();
	a = rt_offer_24(1); /* 16 now (held), 8 later */
	/* The guest gives 8 MiB back, and gets an offer for a second request. */
	rt_expect_ack(rt_reserve(24 * MiB, 8 * MiB));
	rt_expect_ack(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB));
	b = rt_expect_offer(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB, 2 * MiB));
	ck_assert_uint_eq(b.alt[0].amount, 8 * MiB); /* held: 16 + 8 = 48 - 24 */
	/* Accepting the first offer with its rest must not eat the second's hold. */
	g = rt_expect_grant(rt_accept(1, a.offer_id, 3));
	ck_assert_uint_eq(g.amount, 16 * MiB);
	g = rt_expect_grant(rt_accept(2, b.offer_id, 1));
	ck_assert_msg(rt.r->mem.granted <= rt.r->mem.pool,
		      "granted %llu MiB, more than the pool's %llu MiB",
		      (unsigned long long)(rt.r->mem.granted >> 20),
		      (unsigned long long)(rt.r->mem.pool >> 20));
	ck_assert_uint_le(g.allocation, RT_MEM_POOL);
}
END_TEST

/* ---- RELEASE ---- */

START_TEST(test_release_only_after_reserving)
{
	struct rc_ack a;
	struct rc_ev_allocation ev;
	uint8_t evbuf[RES_EVENT_MAX];
	uint32_t evlen;
	struct json_object *o;

	rt_hello_ok();
	rt_ev_post(8);
	/* Usable (64) is above what would be left (30): the guest must reserve first. */
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB), VIRTIO_RESOURCE_S_ORDER);
	rt_comply();
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB), VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(rt_config().generation, 0);

	rt_expect_ack(rt_reserve(30 * MiB, 2 * MiB));
	a = rt_expect_ack(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB));
	ck_assert_uint_eq(a.mem_granted, 30 * MiB);
	ck_assert_uint_eq(a.mem_reserved, 34 * MiB);
	ck_assert_uint_eq(a.vcpus_granted, RT_VCPUS);
	ck_assert_uint_eq(rt_config().mem_granted, 30 * MiB);
	ck_assert_uint_eq(rt_config().generation, 1);
	ck_assert_uint_eq(rt.host.set_vcpus_calls, 1);
	ck_assert_uint_eq(rt.host.vcpus, RT_VCPUS);
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_ALLOCATION, evbuf, &evlen), 1);
	ev = rt_ev_allocation(evbuf, evlen);
	ck_assert_uint_eq(ev.mem_granted, 30 * MiB);
	o = rt_host_last("RELEASE");
	ck_assert_uint_eq(rt_json_u64(o, "amount"), 2 * MiB);
	ck_assert_uint_eq(rt_json_u64(o, "allocation"), 30 * MiB);
	ck_assert_str_eq(rt_json_str(rt_host_last("ALLOCATION_CHANGED"), "reason"), "release");
	ck_assert_uint_eq(rt_alloc("memory", "granted"), 30 * MiB);
	ck_assert_uint_eq(rt_alloc("memory", "usable"), 30 * MiB);

	/* Whole granules only; a guest keeps at least one; 0 is refused by the decoder. */
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 3 * MiB), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 30 * MiB), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 0), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_IO_BANDWIDTH, 1),
			VIRTIO_RESOURCE_S_UNSUPPORTED);

	/* vCPUs: parked at once; the last one stays. */
	a = rt_expect_ack(rt_release(0, VIRTIO_RESOURCE_K_VCPU, 1));
	ck_assert_uint_eq(a.vcpus_granted, 1);
	ck_assert_uint_eq(rt.host.vcpus, 1);
	rt_expect_error(rt_release(0, VIRTIO_RESOURCE_K_VCPU, 1), VIRTIO_RESOURCE_S_RANGE);
	ck_assert_uint_eq(rt.r->vcpu.granted, 1);
}
END_TEST

START_TEST(test_release_of_one_agreement_or_the_newest_first)
{
	rt_hello_ok();
	rt_comply();
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	rt_expect_grant(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB, 2 * MiB));
	ck_assert_uint_eq(rt.r->mem.granted, 44 * MiB);
	rt_expect_ack(rt_reserve(20 * MiB, 12 * MiB)); /* usable 20 */

	/* Part of agreement 1 (RELEASE_PART: it stays granted). */
	rt_expect_ack(rt_release(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB));
	rt_expect_state(1, RC_S_GRANTED, 4 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB);
	/* More than the agreement holds, another kind, an unknown agreement. */
	rt_expect_error(rt_release(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_error(rt_release(2, VIRTIO_RESOURCE_K_VCPU, 1), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_error(rt_release(99, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB), VIRTIO_RESOURCE_S_NOENT);
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB);
	ck_assert_uint_eq(rt.r->vcpu.granted, RT_VCPUS);

	/* txn 0: the newest agreement goes first, then part of the next. */
	rt_expect_ack(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 6 * MiB));
	rt_expect_state(2, RC_S_RELEASED, 0);
	rt_expect_state(1, RC_S_GRANTED, 2 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 34 * MiB);
	/* Beyond every agreement: the rest comes out of the boot allocation. */
	rt_expect_ack(rt_release(0, VIRTIO_RESOURCE_K_MEMORY, 14 * MiB));
	rt_expect_state(1, RC_S_RELEASED, 0);
	ck_assert_uint_eq(rt.r->mem.granted, 20 * MiB);
	ck_assert_str_eq(rt_json_str(rt_request_json(2), "state"), "released");
}
END_TEST

/* ---- RESERVE / UNRESERVE ---- */

START_TEST(test_reserve_refusals_change_nothing)
{
	static const struct {
		uint64_t second[2]; /* the bad range, after a good one */
		uint32_t status;
	} bad[] = {
		{ { 11 * MiB, 2 * MiB }, VIRTIO_RESOURCE_S_MALFORMED }, /* misaligned address */
		{ { 10 * MiB, 3 * MiB }, VIRTIO_RESOURCE_S_MALFORMED }, /* misaligned length */
		{ { 64 * MiB, 2 * MiB }, VIRTIO_RESOURCE_S_RANGE },	/* past the end of RAM */
		{ { 62 * MiB, 4 * MiB }, VIRTIO_RESOURCE_S_RANGE },	/* across the end */
		{ { 4ull << 30, 2 * MiB }, VIRTIO_RESOURCE_S_RANGE }, /* where high RAM would be */
		{ { 8 * MiB, 4 * MiB }, VIRTIO_RESOURCE_S_ORDER },    /* overlaps the first */
		{ { 20 * MiB, 2 * MiB }, VIRTIO_RESOURCE_S_ORDER },   /* already reserved */
		{ { 10 * MiB, 0 }, VIRTIO_RESOURCE_S_RANGE },	      /* empty */
		{ { -(2 * MiB), 2 * MiB }, VIRTIO_RESOURCE_S_MALFORMED }, /* ends at 2^64 */
	};
	uint64_t before;

	rt_hello_ok();
	rt_expect_ack(rt_reserve(20 * MiB, 2 * MiB));
	rt_fill(8 * MiB, 2 * MiB, 0x5a);
	before = rt_mem_allocated();
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t r[4] = { 8 * MiB, 2 * MiB, bad[i].second[0], bad[i].second[1] };
		struct rc_error e = rt_expect_error(rt_ranges(true, 2, r), bad[i].status);

		ck_assert_msg(e.hdr.status == bad[i].status, "case %u", i);
		ck_assert_msg(rt.r->memres.reserved == 2 * MiB, "case %u reserved something", i);
		ck_assert_msg(!memres__is_reserved(&rt.r->memres, 8 * MiB), "case %u", i);
		ck_assert_msg(rt_all(8 * MiB, 2 * MiB, 0x5a), "case %u punched the good range", i);
	}
	ck_assert_uint_ge(rt_mem_allocated(), before);
	/* No ranges, too many ranges. */
	rt_expect_error(rt_ranges(true, 0, NULL), VIRTIO_RESOURCE_S_RANGE);
	/* Taking back what is not reserved. */
	rt_expect_error(rt_unreserve(8 * MiB, 2 * MiB), VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(rt.r->memres.reserved, 2 * MiB);
	ck_assert_uint_eq(rt_config().mem_reserved, 2 * MiB);
	ck_assert(!rt_needs_reset());
}
END_TEST

START_TEST(test_reserve_gives_the_pages_back_to_the_host)
{
	uint64_t r[4] = { 32 * MiB, 4 * MiB, 36 * MiB, 4 * MiB };
	uint64_t before, after;
	struct rc_ack a;

	rt_hello_ok();
	rt_fill(32 * MiB, 8 * MiB, 0x5a);
	before = rt_mem_allocated();
	ck_assert_uint_ge(before, 8 * MiB);
	a = rt_expect_ack(rt_ranges(true, 2, r));
	ck_assert_uint_eq(a.mem_reserved, 8 * MiB);
	ck_assert_uint_eq(a.mem_granted, RT_MEM_GRANTED);
	/* Measured before reading: a read of a punched shmem page allocates it again. */
	after = rt_mem_allocated();
	ck_assert_msg(after + 8 * MiB <= before, "allocated %llu KiB before, %llu KiB after",
		      (unsigned long long)(before >> 10), (unsigned long long)(after >> 10));
	ck_assert(rt_all(32 * MiB, 8 * MiB, 0));
	ck_assert(memres__is_reserved(&rt.r->memres, 32 * MiB));
	ck_assert(memres__is_reserved(&rt.r->memres, 38 * MiB));
	ck_assert(!memres__is_reserved(&rt.r->memres, 40 * MiB));
	ck_assert(!memres__is_reserved(&rt.r->memres, 30 * MiB));
	ck_assert_uint_eq(rt_config().mem_reserved, 8 * MiB);
	ck_assert_uint_eq(rt_alloc("memory", "reserved"), 8 * MiB);
	ck_assert_uint_eq(rt_alloc("memory", "usable"), 56 * MiB);
	ck_assert_uint_eq(rt_alloc("memory", "granule"), 2 * MiB);
}
END_TEST

START_TEST(test_unreserve_only_up_to_the_grant)
{
	uint64_t r[4] = { 32 * MiB, 2 * MiB, 34 * MiB, 4 * MiB };
	struct rc_ack a;

	rt_hello_ok();
	rt_expect_ack(rt_reserve(32 * MiB, 8 * MiB)); /* usable 56, granted 32 */
	rt_expect_error(rt_unreserve(32 * MiB, 2 * MiB), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_ack(rt_reserve(40 * MiB, 24 * MiB)); /* usable 32 == granted */
	rt_expect_error(rt_unreserve(32 * MiB, 2 * MiB), VIRTIO_RESOURCE_S_RANGE);
	/* A grant of 4 MiB: exactly 4 MiB may come back, in one message or two. */
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB, 4 * MiB));
	rt_expect_error(rt_ranges(false, 2, r), VIRTIO_RESOURCE_S_RANGE); /* 6 MiB */
	ck_assert_uint_eq(rt.r->memres.reserved, 32 * MiB);
	rt_fill(32 * MiB, 2 * MiB, 0x77); /* the guest may touch reserved pages */
	a = rt_expect_ack(rt_unreserve(32 * MiB, 2 * MiB));
	ck_assert_uint_eq(a.mem_reserved, 30 * MiB);
	ck_assert(!memres__is_reserved(&rt.r->memres, 32 * MiB));
	rt_expect_ack(rt_unreserve(34 * MiB, 2 * MiB));
	rt_expect_error(rt_unreserve(36 * MiB, 2 * MiB), VIRTIO_RESOURCE_S_RANGE);
	ck_assert_uint_eq(resource__mem_usable(rt.r), rt.r->mem.granted);
}
END_TEST

/* ---- RENEGOTIATE ---- */

START_TEST(test_renegotiate_up_down_and_refusals)
{
	struct rc_grant g;
	struct rc_deny d;
	uint32_t gen;

	rt_hello_ok();
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	/* Up, within the pool. */
	g = rt_expect_grant(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB));
	ck_assert_uint_eq(g.hdr.txn, 1);
	ck_assert_uint_eq(g.amount, 16 * MiB);
	ck_assert_uint_eq(g.allocation, 48 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 16 * MiB);
	ck_assert_uint_eq(rt_config().generation, 2);
	/* Up, beyond the pool: denied, the old amount stays. */
	d = rt_expect_deny(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 24 * MiB));
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	ck_assert_uint_eq(d.retry_after_ms, POLICY_RETRY_MS);
	ck_assert_uint_eq(d.allocation, 48 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 16 * MiB);
	ck_assert_uint_eq(rt_entry(1)->last.type, VIRTIO_RESOURCE_A_DENY);
	ck_assert_uint_eq(rt.r->mem.granted, 48 * MiB);
	/* Down without reserving first. */
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB),
			VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(1, RC_S_GRANTED, 16 * MiB);
	/* Down after reserving. */
	rt_expect_ack(rt_reserve(40 * MiB, 24 * MiB)); /* usable 40 */
	g = rt_expect_grant(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB));
	ck_assert_uint_eq(g.amount, 8 * MiB);
	ck_assert_uint_eq(g.allocation, 40 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_str_eq(rt_json_str(rt_host_last("ALLOCATION_CHANGED"), "reason"),
			 "renegotiation");
	/* The same amount: granted, nothing changes. */
	gen = rt_config().generation;
	ck_assert_uint_eq(
		rt_expect_grant(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB)).amount,
		8 * MiB);
	ck_assert_uint_eq(rt_config().generation, gen);
	/* Refusals. */
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 3 * MiB),
			VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 0), VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_VCPU, 1), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_error(rt_renegotiate(99, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB),
			VIRTIO_RESOURCE_S_NOENT);
	rt_expect_deny(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 60 * MiB, 60 * MiB));
	rt_expect_error(rt_renegotiate(2, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB),
			VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB);
}
END_TEST

START_TEST(test_bug_renegotiate_above_max_is_denied_as_host_limit)
{
	struct rc_deny d;

	rt_hello_ok();
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	/* 40 + 32 more would pass the VM's 64 MiB: retrying cannot help. */
	d = rt_expect_deny(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 40 * MiB));
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_ABOVE_MAX);
	ck_assert_uint_eq(d.retry_after_ms, 0);
}
END_TEST

/* ---- RENEGOTIATE from the host (EV_RENEGOTIATE) ---- */

/* The host proposes @amount for agreement 1 (8 MiB); returns the event. */
static struct rc_renegotiate rt_host_proposes(uint64_t amount)
{
	struct acc_err err = { { 0 } };
	struct rc_renegotiate rn;
	struct json_object *o;
	const uint8_t *ev;
	uint32_t len;

	ck_assert_msg(resource__renegotiate(rt.r, 1, amount, &err) == 0, "%s", err.msg);
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_RENEGOTIATE, &len);
	ck_assert_int_eq(rc_decode_renegotiate(ev, len, &rn), 0);
	ck_assert_uint_eq(rn.hdr.type, VIRTIO_RESOURCE_EV_RENEGOTIATE);
	ck_assert_uint_eq(rn.hdr.txn, 1); /* the guest's agreement */
	ck_assert_uint_eq(rn.hdr.app_id, 3);
	ck_assert_uint_eq(rn.kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(rn.deadline_ms, RES_RENEGOTIATE_MS);
	ck_assert_uint_eq(rn.amount, amount);
	rt_expect_state(1, RC_S_RENEGOTIATING, 8 * MiB);
	ck_assert_uint_eq(rt_entry(1)->proposed, amount);
	o = rt_host_last("RENEGOTIATE");
	ck_assert_uint_eq(rt_json_u64(o, "txn"), 1);
	ck_assert_str_eq(rt_json_str(o, "kind"), "memory");
	ck_assert_uint_eq(rt_json_u64(o, "from"), 8 * MiB);
	ck_assert_uint_eq(rt_json_u64(o, "to"), amount);
	ck_assert_str_eq(rt_json_str(rt_request_json(1), "state"), "renegotiating");
	return rn;
}

static void rt_agreement_of_8(void)
{
	rt_hello_ok();
	rt_comply();
	rt_ev_post(RT_QSIZE);
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	rt_expect_ack(rt_unreserve(32 * MiB, 8 * MiB)); /* the guest uses what it got */
	ck_assert_uint_eq(resource__mem_usable(rt.r), 40 * MiB);
	rt_ev_drain();
	rt_ev_refill();
}

START_TEST(test_host_renegotiation_accepted_after_reserving)
{
	struct rc_grant g;

	rt_agreement_of_8();
	rt_host_proposes(4 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB); /* nothing changes before the answer */
	/* Accepting a lower amount needs the pages reserved first; the proposal stays. */
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB),
			VIRTIO_RESOURCE_S_ORDER);
	rt_expect_state(1, RC_S_RENEGOTIATING, 8 * MiB);
	/* Neither the old nor the proposed amount: RANGE. */
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 6 * MiB),
			VIRTIO_RESOURCE_S_RANGE);
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_VCPU, 1), VIRTIO_RESOURCE_S_ORDER);
	/* While it is open the agreement cannot be released by txn. */
	rt_expect_error(rt_release(1, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB), VIRTIO_RESOURCE_S_ORDER);
	rt_expect_ack(rt_reserve(36 * MiB, 4 * MiB)); /* usable 36 */
	g = rt_expect_grant(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB));
	ck_assert_uint_eq(g.hdr.txn, 1);
	ck_assert_uint_eq(g.amount, 4 * MiB);
	ck_assert_uint_eq(g.allocation, 36 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 4 * MiB);
	ck_assert_uint_eq(rt_config().mem_granted, 36 * MiB);
	ck_assert_str_eq(rt_json_str(rt_host_last("GRANT"), "reason"),
			 "the guest accepted the host's renegotiation");
	ck_assert_str_eq(rt_json_str(rt_host_last("ALLOCATION_CHANGED"), "reason"),
			 "renegotiation");
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_ALLOCATION, NULL, NULL), 1);
}
END_TEST

START_TEST(test_host_renegotiation_up_accepted_or_declined)
{
	struct rc_grant g;
	struct rc_ack a;
	uint32_t gen;

	rt_agreement_of_8();
	rt_host_proposes(16 * MiB); /* 8 more: exactly what the pool has left */
	/* Declining: the current amount; the agreement keeps it. */
	gen = rt_config().generation;
	a = rt_expect_ack(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB));
	ck_assert_uint_eq(a.hdr.txn, 1);
	ck_assert_uint_eq(a.mem_granted, 40 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(rt_json_u64(rt_host_last("DENY"), "amount"), 8 * MiB);
	ck_assert_str_eq(rt_json_str(rt_host_last("DENY"), "reason"),
			 "the guest declined the host's renegotiation");
	ck_assert_uint_eq(rt_config().generation, gen);
	/* Proposed again and accepted. */
	rt_host_proposes(16 * MiB);
	g = rt_expect_grant(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB));
	ck_assert_uint_eq(g.amount, 16 * MiB);
	ck_assert_uint_eq(g.allocation, 48 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 16 * MiB);
}
END_TEST

START_TEST(test_host_renegotiation_does_not_hold_the_room)
{
	rt_agreement_of_8();
	rt_host_proposes(16 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	/* Another request takes the 8 MiB the proposal needs... */
	rt_expect_grant(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 8 * MiB));
	/* ...so accepting it is BUSY, and the proposal stays open. */
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB),
			VIRTIO_RESOURCE_S_BUSY);
	rt_expect_state(1, RC_S_RENEGOTIATING, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 48 * MiB);
}
END_TEST

START_TEST(test_host_renegotiation_lapses_after_its_deadline)
{
	struct rc_entry *e;

	rt_agreement_of_8();
	rt_host_proposes(4 * MiB);
	e = rt_entry(1);
	ck_assert_uint_le(e->expires_ns, clock__monotonic_ns() + RES_RENEGOTIATE_MS * 1000000ull);
	ck_assert_uint_gt(e->expires_ns, clock__monotonic_ns());
	e->expires_ns = 1; /* ten seconds pass */
	ck_assert_str_eq(rt_json_str(rt_request_json(1), "state"), "granted");
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB);
	/* A late answer is the guest's own renegotiation now: down needs reserving. */
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB),
			VIRTIO_RESOURCE_S_ORDER);
}
END_TEST

/*
 * Found with fuzz_resource: a reclaim passes a renegotiating agreement over,
 * so the agreement (8 MiB) can hold more than the grant (2 MiB). Lowering
 * it by 4 MiB then wrapped the grant to nearly 2^64 bytes.
 */
START_TEST(test_renegotiating_down_past_the_grant_after_a_reclaim_is_range)
{
	struct acc_err err = { { 0 } };

	rt_agreement_of_8();
	rt_host_proposes(4 * MiB);
	ck_assert_int_eq(resource__reclaim(rt.r, 38 * MiB, &err), 0);
	ck_assert_uint_eq(rt.r->mem.granted, 2 * MiB);
	rt_expect_state(1, RC_S_RENEGOTIATING, 8 * MiB);
	rt_expect_ack(rt_reserve(2 * MiB, 38 * MiB)); /* usable 2 MiB: the guest complies */
	/* Accepting would take 4 MiB from a 2 MiB grant; the proposal stays open. */
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB),
			VIRTIO_RESOURCE_S_RANGE);
	rt_expect_state(1, RC_S_RENEGOTIATING, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 2 * MiB);
	/* Declined, the agreement is the guest's to renegotiate: the same limit holds. */
	rt_expect_ack(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB));
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB),
			VIRTIO_RESOURCE_S_RANGE);
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, 2 * MiB);
	ck_assert_uint_eq(rt_config().mem_granted, 2 * MiB);
}
END_TEST

START_TEST(test_host_renegotiation_refusals)
{
	struct acc_err err = { { 0 } };

	rt_agreement_of_8();
	ck_assert_int_eq(resource__renegotiate(rt.r, 99, 4 * MiB, &err), -ENOENT);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(resource__renegotiate(rt.r, 1, 0, &err), -ERANGE);
	ck_assert_int_eq(resource__renegotiate(rt.r, 1, 3 * MiB, &err), -ERANGE);
	ck_assert_int_eq(resource__renegotiate(rt.r, 1, 8 * MiB, &err), -ERANGE); /* the same */
	ck_assert_int_eq(resource__renegotiate(rt.r, 1, 18 * MiB, &err),
			 -ERANGE); /* past the pool */
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(rt_host_count("RENEGOTIATE"), 0);
	/* One proposal at a time. */
	rt_host_proposes(4 * MiB);
	ck_assert_int_eq(resource__renegotiate(rt.r, 1, 6 * MiB, &err), -ENOENT);
	/* A denied request is no agreement. */
	rt_expect_deny(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 60 * MiB, 60 * MiB));
	ck_assert_int_eq(resource__renegotiate(rt.r, 2, 4 * MiB, &err), -ENOENT);
}
END_TEST

START_TEST(test_host_renegotiation_needs_room_in_the_event_queue)
{
	struct acc_err err = { { 0 } };

	rt_hello_ok();
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	/* The grant queued one EV_ALLOCATION; fill the backlog with messages. */
	while (rt.r->ev_count < RES_MAX_EVENTS)
		ck_assert_int_eq(resource__send_message(rt.r, "x", 1, &err), 0);
	ck_assert_int_eq(resource__renegotiate(rt.r, 1, 4 * MiB, &err), -ENOBUFS);
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
}
END_TEST

/* ---- host-initiated: reclaim, set-allocation ---- */

START_TEST(test_reclaim_asks_the_guest_and_completes_when_it_reserved)
{
	const uint8_t *ev;
	struct rc_ev_reclaim rc;
	struct rc_ev_allocation a;
	struct acc_err err = { { 0 } };
	struct json_object *o;
	uint32_t evlen;

	ck_assert_uint_eq(rt_answer_type(rt_hello(1, 8 * MiB)), VIRTIO_RESOURCE_A_WELCOME);
	rt_ev_post(RT_QSIZE);
	rt_comply();
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	rt_ev_scan(0, NULL, NULL);

	ck_assert_int_eq(resource__reclaim(rt.r, 12 * MiB, &err), 0);
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_RECLAIM, &evlen);
	ck_assert_int_eq(rc_decode_ev_reclaim(ev, evlen, &rc), 0);
	ck_assert_uint_ne(rc.hdr.txn & RES_HOST_TXN, 0);
	ck_assert_uint_eq(rc.kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(rc.amount, 12 * MiB);
	ck_assert_uint_eq(rc.target, 28 * MiB);
	ck_assert_uint_ge(rc.deadline_ms, RES_MIN_RECLAIM_MS);
	ck_assert_uint_ge(rc.deadline_ms, 1500); /* 12 MiB at 8 MiB/s */
	/* The grant is lowered at once, and the guest told. */
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_ALLOCATION, &evlen);
	a = rt_ev_allocation(ev, evlen);
	ck_assert_uint_eq(a.mem_granted, 28 * MiB);
	ck_assert_ptr_null(rt_ev_next(&evlen));
	rt_ev_refill();
	ck_assert_uint_eq(rt_config().mem_granted, 28 * MiB);
	rt_expect_state(1, RC_S_RECLAIMED, 0); /* newest agreements first */
	o = rt_host_last("RECLAIM");
	ck_assert_uint_eq(rt_json_u64(o, "txn"), rc.hdr.txn);
	ck_assert_str_eq(rt_json_str(o, "kind"), "memory");
	ck_assert_uint_eq(rt_json_u64(o, "amount"), 12 * MiB);
	ck_assert_uint_eq(rt_json_u64(o, "target"), 28 * MiB);
	ck_assert_uint_eq(rt_json_u64(o, "deadline-ms"), rc.deadline_ms);
	ck_assert_str_eq(rt_json_str(rt_host_last("ALLOCATION_CHANGED"), "reason"), "reclaim");
	o = resource__allocation_json(rt.r);
	ck_assert(json_object_get_boolean(rt_json_get(rt_json_get(o, "memory"), "reclaiming")));
	json_object_put(o);

	/* The guest complies in two steps; only the second completes the reclaim. */
	rt_expect_ack(rt_reserve(30 * MiB, 2 * MiB));
	ck_assert_uint_eq(rt_host_count("RECLAIM_COMPLETED"), 0);
	rt_expect_ack(rt_reserve(28 * MiB, 2 * MiB));
	ck_assert_uint_eq(rt_host_count("RECLAIM_COMPLETED"), 1);
	o = rt_host_last("RECLAIM_COMPLETED");
	ck_assert_uint_eq(rt_json_u64(o, "txn"), rc.hdr.txn);
	ck_assert_uint_eq(rt_json_u64(o, "memory-granted"), 28 * MiB);
	ck_assert_uint_eq(rt_json_u64(o, "memory-reserved"), 36 * MiB);
	ck_assert_uint_eq(rt_alloc("memory", "reclaiming"), 0);
	/* More reserving completes nothing twice. */
	rt_expect_ack(rt_reserve(26 * MiB, 2 * MiB));
	ck_assert_uint_eq(rt_host_count("RECLAIM_COMPLETED"), 1);

	/* Refused: not whole granules, nothing, all of it. */
	ck_assert_int_eq(resource__reclaim(rt.r, 0, &err), -EINVAL);
	ck_assert_int_eq(resource__reclaim(rt.r, 1 * MiB, &err), -EINVAL);
	ck_assert_int_eq(resource__reclaim(rt.r, 28 * MiB, &err), -ERANGE);
	ck_assert_str_ne(err.msg, "");
	ck_assert_uint_eq(rt.r->mem.granted, 28 * MiB);
}
END_TEST

START_TEST(test_reclaim_lowers_an_agreement_in_part_and_sends_ev_allocation)
{
	uint8_t evbuf[RES_EVENT_MAX];
	struct acc_err err = { { 0 } };
	struct rc_ev_allocation a;
	uint32_t evlen;

	rt_hello_ok();
	rt_ev_post(RT_QSIZE);
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	rt_ev_scan(0, NULL, NULL);
	ck_assert_int_eq(resource__reclaim(rt.r, 4 * MiB, &err), 0);
	rt_expect_state(1, RC_S_GRANTED, 4 * MiB); /* RECLAIM_PART */
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_ALLOCATION, evbuf, &evlen), 1);
	a = rt_ev_allocation(evbuf, evlen);
	ck_assert_uint_eq(a.generation, 2);
	ck_assert_uint_eq(a.mem_granted, 36 * MiB);
	ck_assert_uint_eq(rt.host.last_cfg.mem_granted, 36 * MiB);
}
END_TEST

START_TEST(test_bug_reclaim_deadline_is_shorter_than_amount_over_rate)
{
	static const struct {
		uint64_t rate, amount;
	} cases[] = {
		{ 3000000, 4 * MiB }, /* 1398.1 ms needed */
		{ 900, 2 * MiB },     /* under 1000 B/s */
	};
	struct acc_err err = { { 0 } };

	rt_ev_post(RT_QSIZE);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t evbuf[RES_EVENT_MAX];
		struct rc_ev_reclaim rc;
		uint32_t evlen;

		ck_assert_uint_eq(rt_answer_type(rt_hello(1, cases[i].rate)),
				  VIRTIO_RESOURCE_A_WELCOME);
		ck_assert_int_eq(resource__reclaim(rt.r, cases[i].amount, &err), 0);
		ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_RECLAIM, evbuf, &evlen), 1);
		ck_assert_int_eq(rc_decode_ev_reclaim(evbuf, evlen, &rc), 0);
		ck_assert_msg((unsigned __int128)rc.deadline_ms * cases[i].rate >=
				      (unsigned __int128)cases[i].amount * 1000,
			      "%llu bytes at %llu B/s need %llu ms; the deadline is %u ms",
			      (unsigned long long)cases[i].amount,
			      (unsigned long long)cases[i].rate,
			      (unsigned long long)((cases[i].amount * 1000 + cases[i].rate - 1) /
						   cases[i].rate),
			      rc.deadline_ms);
	}
}
END_TEST

START_TEST(test_reclaim_the_guest_already_meets_completes_at_once)
{
	struct acc_err err = { { 0 } };

	rt_hello_ok();
	rt_comply();
	rt_expect_ack(rt_reserve(24 * MiB, 8 * MiB));		     /* usable 24 of 32 granted */
	ck_assert_int_eq(resource__reclaim(rt.r, 4 * MiB, &err), 0); /* to 28 */
	ck_assert_uint_eq(rt_host_count("RECLAIM"), 1);
	ck_assert_msg(rt_host_count("RECLAIM_COMPLETED") == 1,
		      "usable %llu MiB is already below the target %llu MiB",
		      (unsigned long long)(resource__mem_usable(rt.r) >> 20),
		      (unsigned long long)(rt.r->mem.granted >> 20));
	ck_assert_uint_eq(rt_alloc("memory", "reclaiming"), 0);
}
END_TEST

START_TEST(test_set_allocation_back_up_completes_an_open_reclaim)
{
	struct acc_err err = { { 0 } };
	uint64_t mem = RT_MEM_GRANTED;

	rt_hello_ok();
	rt_comply();
	ck_assert_int_eq(resource__reclaim(rt.r, 4 * MiB, &err), 0);
	ck_assert_uint_eq(rt_host_count("RECLAIM_COMPLETED"), 0);
	ck_assert_uint_eq(rt_alloc("memory", "reclaiming"), 1);
	/* The operator changes its mind: the guest already uses no more than that. */
	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, NULL, &err), 0);
	ck_assert_uint_eq(rt_host_count("RECLAIM_COMPLETED"), 1);
	ck_assert_uint_eq(rt_alloc("memory", "reclaiming"), 0);
	ck_assert_uint_eq(rt_config().mem_granted, RT_MEM_GRANTED);
}
END_TEST

START_TEST(test_set_allocation_up_tells_the_guest)
{
	uint64_t mem = 40 * MiB, bad;
	unsigned int vcpus = 3, nv;
	struct acc_err err = { { 0 } };
	uint8_t evbuf[RES_EVENT_MAX];
	struct rc_ev_allocation a;
	unsigned int irq = rt.irq.config;
	uint8_t vgen = rt.r->vdev.config_generation;
	uint32_t evlen;

	rt_hello_ok();
	rt_ev_post(RT_QSIZE);
	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, &vcpus, &err), 0);
	ck_assert_uint_eq(rt_ev_scan(VIRTIO_RESOURCE_EV_ALLOCATION, evbuf, &evlen), 1);
	a = rt_ev_allocation(evbuf, evlen);
	ck_assert_uint_eq(a.hdr.txn, 0);
	ck_assert_uint_eq(a.generation, 1);
	ck_assert_uint_eq(a.mem_granted, 40 * MiB);
	ck_assert_uint_eq(a.vcpus_granted, 3);
	ck_assert_uint_eq(rt_config().generation, 1);
	ck_assert_uint_eq(rt_config().mem_granted, 40 * MiB);
	ck_assert_uint_eq(rt_config().vcpus_granted, 3);
	ck_assert_uint_eq(rt.irq.config, irq + 1);
	ck_assert_uint_eq(rt.r->vdev.config_generation, (uint8_t)(vgen + 1));
	ck_assert_uint_eq(rt.host.vcpus, 3);
	ck_assert_uint_eq(rt.host.last_cfg.generation, 1);
	ck_assert_str_eq(rt_json_str(rt_host_last("ALLOCATION_CHANGED"), "reason"),
			 "set-allocation");
	/* vCPUs alone. */
	nv = 4;
	ck_assert_int_eq(resource__set_allocation(rt.r, NULL, &nv, &err), 0);
	ck_assert_uint_eq(rt.host.vcpus, 4);
	ck_assert_uint_eq(rt_config().generation, 2);
	/* The same values change nothing. */
	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, &nv, &err), 0);
	ck_assert_uint_eq(rt_config().generation, 2);
	/* Refused, with nothing changed. */
	bad = 3 * MiB;
	ck_assert_int_eq(resource__set_allocation(rt.r, &bad, NULL, &err), -EINVAL);
	bad = 0;
	ck_assert_int_eq(resource__set_allocation(rt.r, &bad, NULL, &err), -ERANGE);
	bad = 66 * MiB;
	ck_assert_int_eq(resource__set_allocation(rt.r, &bad, NULL, &err), -ERANGE);
	nv = 0;
	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, &nv, &err), -ERANGE);
	nv = 5;
	ck_assert_int_eq(resource__set_allocation(rt.r, NULL, &nv, &err), -ERANGE);
	ck_assert_str_ne(err.msg, "");
	ck_assert_uint_eq(rt_config().generation, 2);
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB);
	ck_assert_uint_eq(rt.r->vcpu.granted, 4);
	/* The operator may go past the pool. */
	mem = 64 * MiB;
	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, NULL, &err), 0);
	ck_assert_uint_eq(rt.r->mem.granted, 64 * MiB);
}
END_TEST

START_TEST(test_set_allocation_down_reclaims)
{
	uint64_t mem = 24 * MiB;
	unsigned int vcpus = 1;
	struct acc_err err = { { 0 } };
	const uint8_t *ev;
	struct rc_ev_reclaim rc;
	struct rc_ev_allocation a;
	uint32_t evlen;

	rt_hello_ok();
	rt_ev_post(RT_QSIZE);
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	rt_ev_scan(0, NULL, NULL);
	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, &vcpus, &err), 0);
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_RECLAIM, &evlen);
	ck_assert_int_eq(rc_decode_ev_reclaim(ev, evlen, &rc), 0);
	ck_assert_uint_eq(rc.amount, 8 * MiB);
	ck_assert_uint_eq(rc.target, 24 * MiB);
	/* Memory and vCPUs each bump the generation, with an event each. */
	a = rt_ev_allocation(rt_ev_expect(VIRTIO_RESOURCE_EV_ALLOCATION, &evlen), evlen);
	ck_assert_uint_eq(a.generation, 2);
	ck_assert_uint_eq(a.mem_granted, 24 * MiB);
	ck_assert_uint_eq(a.vcpus_granted, 3);
	a = rt_ev_allocation(rt_ev_expect(VIRTIO_RESOURCE_EV_ALLOCATION, &evlen), evlen);
	ck_assert_uint_eq(a.generation, 3);
	ck_assert_uint_eq(a.vcpus_granted, 1);
	ck_assert_uint_eq(rt_config().generation, 3);
	ck_assert_uint_eq(rt_config().mem_granted, 24 * MiB);
	ck_assert_uint_eq(rt_config().vcpus_granted, 1);
	ck_assert_uint_eq(rt.host.vcpus, 1);
	rt_expect_state(1, RC_S_RECLAIMED, 0);
	ck_assert_str_eq(rt_json_str(rt_request_json(1), "state"), "reclaimed");
}
END_TEST

/* ---- the event queue ---- */

START_TEST(test_events_wait_for_buffers_and_at_most_64_are_kept)
{
	struct acc_err err = { { 0 } };
	unsigned int got = 0;

	for (unsigned int i = 0; i < 70; i++) {
		char text[16];
		int ret;

		snprintf(text, sizeof(text), "msg %02u", i);
		ret = resource__send_message(rt.r, text, strlen(text), &err);
		ck_assert_int_eq(ret, i < RES_MAX_EVENTS ? 0 : -ENOBUFS);
	}
	ck_assert_uint_eq(rt.r->ev_count, RES_MAX_EVENTS);
	ck_assert_uint_eq(drv__used_idx(&rt.q[VIRTIO_RESOURCE_Q_EVENT]), 0);
	while (got < 70) {
		const uint8_t *ev;
		uint32_t len;
		unsigned int before = got;

		rt_ev_post(RT_QSIZE);
		while ((ev = rt_ev_next(&len))) {
			struct rc_message m;
			char text[16];

			ck_assert_int_eq(rc_decode_message(ev, len, RES_MAX_MESSAGE, &m), 0);
			snprintf(text, sizeof(text), "msg %02u", got);
			ck_assert_uint_eq(m.payload_len, strlen(text));
			ck_assert_mem_eq(m.payload, text, m.payload_len);
			got++;
		}
		if (got == before)
			break;
	}
	ck_assert_uint_eq(got, RES_MAX_EVENTS); /* the oldest 64, in order */
	ck_assert_uint_eq(rt.r->ev_count, 0);
	ck_assert_uint_gt(rt.irq.queue[VIRTIO_RESOURCE_Q_EVENT], 0);
	/* With buffers posted, an event goes out at once. */
	ck_assert_int_eq(resource__send_message(rt.r, "now", 3, &err), 0);
	ck_assert_uint_eq(rt_ev_drain(), 1);
	ck_assert_uint_eq(rt.r->ev_count, 0);
}
END_TEST

START_TEST(test_events_raised_before_driver_ok_go_out_on_activate)
{
	uint64_t mem = 40 * MiB;
	struct acc_err err = { { 0 } };
	struct rc_ev_allocation a;
	const uint8_t *ev;
	uint32_t len;

	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, NULL, &err), 0);
	ck_assert_uint_eq(rt.r->ev_count, 1);
	ck_assert_uint_eq(rt.irq.config, 0); /* no interrupt before DRIVER_OK */
	rt_driver_start(4);
	ck_assert_uint_eq(rt.r->ev_count, 0);
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_ALLOCATION, &len);
	a = rt_ev_allocation(ev, len);
	ck_assert_uint_eq(a.generation, 1);
	ck_assert_uint_eq(a.mem_granted, 40 * MiB);
	ck_assert_ptr_null(rt_ev_next(&len));
}
END_TEST

START_TEST(test_event_buffer_too_small_needs_reset)
{
	uint64_t mem = 40 * MiB;
	struct acc_err err = { { 0 } };

	rt_ev_post_len(1, 16);
	ck_assert_int_eq(resource__set_allocation(rt.r, &mem, NULL, &err), 0);
	ck_assert(rt_needs_reset());
	ck_assert_uint_eq(rt.r->ev_count, 1); /* kept for the next driver */
	ck_assert_uint_eq(drv__used_idx(&rt.q[VIRTIO_RESOURCE_Q_EVENT]), 0);
}
END_TEST

/* ---- statistics ---- */

static long rt_stats(uint64_t ts, uint32_t psi_mem)
{
	struct rc_stats s = { .hdr = { .type = VIRTIO_RESOURCE_T_STATS },
			      .timestamp_ns = ts,
			      .mem_total = 64 * MiB,
			      .mem_available = 20 * MiB,
			      .mem_committed = 30 * MiB,
			      .mem_forecast = 36 * MiB,
			      .psi_mem_milli = psi_mem,
			      .psi_cpu_milli = 12,
			      .cpu_util_milli = 750,
			      .runqueue_milli = 1500,
			      .vcpu_forecast_milli = 2500 };
	uint8_t buf[128];
	size_t n = rc_encode_stats(buf, sizeof(buf), &s);

	ck_assert_uint_eq(n, sizeof(struct virtio_resource_stats));
	return rt_post(VIRTIO_RESOURCE_Q_STATS, buf, n, 0);
}

START_TEST(test_statistics_ring_keeps_the_last_256)
{
	struct json_object *o, *list, *e;

	/* Statistics need no HELLO; they get no answer. */
	for (uint64_t ts = 1; ts <= 257; ts++)
		ck_assert_int_eq(rt_stats(ts, 5), 0);
	o = resource__stats_json(rt.r);
	list = rt_json_get(o, "samples");
	ck_assert_uint_eq(json_object_array_length(list), RES_STATS_RING);
	ck_assert_uint_eq(rt_json_u64(json_object_array_get_idx(list, 0), "timestamp-ns"), 2);
	e = json_object_array_get_idx(list, RES_STATS_RING - 1);
	ck_assert_uint_eq(rt_json_u64(e, "timestamp-ns"), 257);
	ck_assert_uint_eq(rt_json_u64(e, "mem-total"), 64 * MiB);
	ck_assert_uint_eq(rt_json_u64(e, "mem-available"), 20 * MiB);
	ck_assert_uint_eq(rt_json_u64(e, "mem-committed"), 30 * MiB);
	ck_assert_uint_eq(rt_json_u64(e, "mem-forecast"), 36 * MiB);
	ck_assert_uint_eq(rt_json_u64(e, "psi-mem"), 5);
	ck_assert_uint_eq(rt_json_u64(e, "psi-cpu"), 12);
	ck_assert_uint_eq(rt_json_u64(e, "cpu-util"), 750);
	ck_assert_uint_eq(rt_json_u64(e, "runqueue"), 1500);
	ck_assert_uint_eq(rt_json_u64(e, "vcpu-forecast"), 2500);
	ck_assert_uint_eq(rt_json_u64(o, "dropped"), 0);
	json_object_put(o);

	/* Malformed samples are dropped and counted. */
	ck_assert_int_eq(rt_stats(300, 1001), 0);
	ck_assert_int_eq(rt_post(VIRTIO_RESOURCE_Q_STATS, "garbage!", 8, 0), 0);
	o = resource__stats_json(rt.r);
	ck_assert_uint_eq(rt_json_u64(o, "dropped"), 2);
	list = rt_json_get(o, "samples");
	ck_assert_uint_eq(json_object_array_length(list), RES_STATS_RING);
	ck_assert_uint_eq(
		rt_json_u64(json_object_array_get_idx(list, RES_STATS_RING - 1), "timestamp-ns"),
		257);
	json_object_put(o);
	ck_assert(!rt_needs_reset());
}
END_TEST

/* ---- messages ---- */

START_TEST(test_messages_to_the_host)
{
	static const uint8_t binary[] = { 0x00, 0x01, 0xff, 'a' };
	static char big[RES_MAX_MESSAGE];
	struct json_object *o;
	struct rc_error e;
	struct rc_ack a;

	rt_hello_ok();
	a = rt_expect_ack(rt_message(11, VIRTIO_RESOURCE_DEST_HOST, "hello host", 10));
	ck_assert_uint_eq(a.hdr.txn, 11);
	ck_assert_uint_eq(a.mem_granted, RT_MEM_GRANTED);
	o = rt_host_last("MESSAGE");
	ck_assert_uint_eq(rt_json_u64(o, "source"), RT_GUEST_ID);
	ck_assert_uint_eq(rt_json_u64(o, "txn"), 11);
	ck_assert_str_eq(rt_json_str(o, "data"), "hello host");
	/* Anything but printable ASCII is shown as hex. */
	rt_expect_ack(rt_message(12, VIRTIO_RESOURCE_DEST_HOST, binary, sizeof(binary)));
	ck_assert_str_eq(rt_json_str(rt_host_last("MESSAGE"), "data"), "0001ff61");
	rt_expect_ack(rt_message(13, VIRTIO_RESOURCE_DEST_HOST, "", 0));
	ck_assert_str_eq(rt_json_str(rt_host_last("MESSAGE"), "data"), "");
	/* The largest message: 4096 bytes with its header. */
	memset(big, 'x', sizeof(big));
	rt_expect_ack(rt_message(14, VIRTIO_RESOURCE_DEST_HOST, big,
				 RES_MAX_MESSAGE - sizeof(struct virtio_resource_message)));
	ck_assert_uint_eq(strlen(rt_json_str(rt_host_last("MESSAGE"), "data")),
			  RES_MAX_MESSAGE - sizeof(struct virtio_resource_message));
	ck_assert_uint_eq(rt_host_count("MESSAGE"), 4);
	/* One byte more: the host reads 4096 bytes and finds it truncated. */
	rt_expect_error(rt_message(15, VIRTIO_RESOURCE_DEST_HOST, big,
				   RES_MAX_MESSAGE - sizeof(struct virtio_resource_message) + 1),
			VIRTIO_RESOURCE_S_MALFORMED);
	/* Other VMs need the broker. */
	e = rt_expect_error(rt_message(16, 3, "hi", 2), VIRTIO_RESOURCE_S_NOENT);
	ck_assert_uint_eq(e.hdr.txn, 16);
	ck_assert_uint_eq(rt_host_count("MESSAGE"), 4);
	ck_assert(!rt_needs_reset());
}
END_TEST

START_TEST(test_messages_to_the_guest)
{
	static char big[RES_MAX_MESSAGE];
	struct acc_err err = { { 0 } };
	struct rc_message m;
	const uint8_t *ev;
	uint32_t len;

	rt_ev_post(4);
	ck_assert_int_eq(resource__send_message(rt.r, "ping", 4, &err), 0);
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_MESSAGE, &len);
	ck_assert_int_eq(rc_decode_message(ev, len, RES_MAX_MESSAGE, &m), 0);
	ck_assert_uint_ne(m.hdr.txn & RES_HOST_TXN, 0);
	ck_assert_uint_eq(m.dest, RT_GUEST_ID);
	ck_assert_uint_eq(m.source, VIRTIO_RESOURCE_DEST_HOST);
	ck_assert_uint_eq(m.payload_len, 4);
	ck_assert_mem_eq(m.payload, "ping", 4);
	ck_assert_int_eq(
		resource__send_message(
			rt.r, big, RES_MAX_MESSAGE - sizeof(struct virtio_resource_message), &err),
		0);
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_MESSAGE, &len);
	ck_assert_uint_eq(len, RES_MAX_MESSAGE);
	ck_assert_int_eq(
		resource__send_message(rt.r, big,
				       RES_MAX_MESSAGE - sizeof(struct virtio_resource_message) + 1,
				       &err),
		-E2BIG);
}
END_TEST

/* ---- files ---- */

static long rt_file_open(uint64_t txn, const char *path)
{
	struct rc_file_open m = { .hdr = { .type = VIRTIO_RESOURCE_T_FILE_OPEN, .txn = txn },
				  .path_len = (uint32_t)strlen(path),
				  .path = path };
	uint8_t buf[2048];
	size_t n = rc_encode_file_open(buf, sizeof(buf), &m);

	ck_assert_uint_gt(n, 0);
	return rt_post(VIRTIO_RESOURCE_Q_FILE, buf, n, 4096);
}

static long rt_file_op(uint16_t type, uint32_t handle, uint32_t len, uint64_t offset, uint32_t cap)
{
	struct rc_file_op m = {
		.hdr = { .type = type, .txn = 77 }, .handle = handle, .len = len, .offset = offset
	};
	uint8_t buf[64];
	size_t n = rc_encode_file_op(buf, sizeof(buf), &m);

	ck_assert_uint_gt(n, 0);
	return rt_post(VIRTIO_RESOURCE_Q_FILE, buf, n, cap);
}

static struct rc_file rt_expect_file(long len)
{
	struct rc_file f;

	ck_assert_msg(len > 0, "no answer");
	ck_assert_msg(rt_answer_type(len) == VIRTIO_RESOURCE_A_FILE, "answer of type %u",
		      rt_answer_type(len));
	ck_assert_int_eq(rc_decode_file(rt_answer(), (size_t)len, &f), 0);
	return f;
}

START_TEST(test_files_open_stat_close)
{
	struct rc_file f, st;
	struct rc_data d;
	long len;

	ck_assert_uint_ne(rt.r->vdev.device_features & (1ull << VIRTIO_RESOURCE_F_FILES), 0);
	rt_hello_ok();
	f = rt_expect_file(rt_file_open(5, "hello.txt"));
	ck_assert_uint_eq(f.hdr.txn, 5);
	ck_assert_uint_ne(f.handle, 0);
	ck_assert_uint_eq(f.size, 13);
	ck_assert(S_ISREG(f.mode));
	ck_assert_uint_gt(f.mtime_ns, 0);

	/* READ answers A_DATA of the length read: short at the end of the file. */
	len = rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, f.handle, 5, 7, 4096);
	ck_assert_uint_eq(rt_answer_type(len), VIRTIO_RESOURCE_A_DATA);
	ck_assert_int_eq(rc_decode_data(rt_answer(), (size_t)len, &d), 0);
	ck_assert_uint_eq(d.hdr.txn, 77);
	ck_assert_uint_eq(d.data_len, 5);
	len = rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, f.handle, 100, 0, 4096);
	ck_assert_int_eq(rc_decode_data(rt_answer(), (size_t)len, &d), 0);
	ck_assert_uint_eq(d.data_len, 13);
	len = rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, f.handle, 10, 100, 4096);
	ck_assert_int_eq(rc_decode_data(rt_answer(), (size_t)len, &d), 0);
	ck_assert_uint_eq(d.data_len, 0);
	/* More than the answer buffer holds. */
	rt_expect_error(rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, f.handle, 100, 0, 64),
			VIRTIO_RESOURCE_S_TOO_BIG);
	/* More than a READ may ask for. */
	rt_expect_error(rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, f.handle,
				   VIRTIO_RESOURCE_MAX_READ + 1, 0, 4096),
			VIRTIO_RESOURCE_S_TOO_BIG);

	st = rt_expect_file(rt_file_op(VIRTIO_RESOURCE_T_FILE_STAT, f.handle, 0, 0, 4096));
	ck_assert_uint_eq(st.handle, f.handle);
	ck_assert_uint_eq(st.size, 13);
	ck_assert_uint_eq(st.mode, f.mode);
	rt_expect_ack(rt_file_op(VIRTIO_RESOURCE_T_FILE_CLOSE, f.handle, 0, 0, 4096));
	/* A closed handle is no handle. */
	rt_expect_error(rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, f.handle, 5, 0, 4096),
			VIRTIO_RESOURCE_S_MALFORMED);
	rt_expect_error(rt_file_op(VIRTIO_RESOURCE_T_FILE_CLOSE, f.handle, 0, 0, 4096),
			VIRTIO_RESOURCE_S_MALFORMED);
	/* STAT with a length: refused by the decoder. */
	rt_expect_error(rt_file_op(VIRTIO_RESOURCE_T_FILE_STAT, f.handle, 5, 0, 4096),
			VIRTIO_RESOURCE_S_MALFORMED);
	f = rt_expect_file(rt_file_open(6, "sub/inner.txt"));
	ck_assert_uint_eq(f.size, 5);
	ck_assert(!rt_needs_reset());
}
END_TEST

/* The bytes of the file, not zeros (the encoder clears the answer before copying data in). */
START_TEST(test_file_read_answers_the_bytes)
{
	struct rc_file f;
	struct rc_data d;
	long len;

	rt_hello_ok();
	f = rt_expect_file(rt_file_open(5, "hello.txt"));
	len = rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, f.handle, 5, 7, 4096);
	ck_assert_int_eq(rc_decode_data(rt_answer(), (size_t)len, &d), 0);
	ck_assert_uint_eq(d.data_len, 5);
	ck_assert_mem_eq(d.data, "world", 5);
}
END_TEST

START_TEST(test_files_outside_the_share_or_missing)
{
	struct rc_error e;

	rt_hello_ok();
	e = rt_expect_error(rt_file_open(1, "../outside.txt"), VIRTIO_RESOURCE_S_FORBIDDEN);
	ck_assert_uint_eq(e.hdr.txn, 1);
	rt_expect_error(rt_file_open(2, "link_out"), VIRTIO_RESOURCE_S_FORBIDDEN);
	rt_expect_error(rt_file_open(3, "/etc/passwd"), VIRTIO_RESOURCE_S_FORBIDDEN);
	rt_expect_error(rt_file_open(4, "dir"), VIRTIO_RESOURCE_S_FORBIDDEN);
	e = rt_expect_error(rt_file_open(5, "missing.txt"), VIRTIO_RESOURCE_S_NOENT);
	ck_assert_uint_eq(e.hdr.txn, 5);
	/* A message type that is no file operation. */
	rt_expect_error(rt_post(VIRTIO_RESOURCE_Q_FILE,
				"\x01\x00\x00\x00\x18\x00\x00\x00"
				"\x00\x00\x00\x00\x00\x00\x00\x00"
				"\x00\x00\x00\x00\x00\x00\x00\x00",
				24, 64),
			VIRTIO_RESOURCE_S_MALFORMED);
	ck_assert(!rt_needs_reset());
}
END_TEST

/* Every queue waits for HELLO: a file request before it is out of order. */
START_TEST(test_file_queue_needs_hello_first)
{
	rt_expect_error(rt_file_open(1, "hello.txt"), VIRTIO_RESOURCE_S_ORDER);
	rt_hello_ok();
	rt_expect_file(rt_file_open(2, "hello.txt"));
}
END_TEST

START_TEST(test_files_without_a_share_are_unsupported)
{
	ck_assert_uint_eq(rt.r->vdev.device_features & (1ull << VIRTIO_RESOURCE_F_FILES), 0);
	rt_expect_error(rt_file_open(1, "hello.txt"), VIRTIO_RESOURCE_S_UNSUPPORTED);
	rt_expect_error(rt_file_op(VIRTIO_RESOURCE_T_FILE_READ, 1, 5, 0, 4096),
			VIRTIO_RESOURCE_S_UNSUPPORTED);
}
END_TEST

/* ---- malformed input ---- */

START_TEST(test_types_that_do_not_belong_on_requestq_are_unsupported)
{
	uint8_t buf[128];
	struct rc_hdr h = { .txn = 5 };
	struct rc_stats s = { .hdr = { .type = VIRTIO_RESOURCE_T_STATS, .txn = 6 } };
	struct rc_error e;

	rt_hello_ok();
	/* Defined types that are no request: UNSUPPORTED, the txn echoed. */
	e = rt_expect_error(rt_call(buf, rc_encode_stats(buf, sizeof(buf), &s)),
			    VIRTIO_RESOURCE_S_UNSUPPORTED);
	ck_assert_uint_eq(e.hdr.txn, 6);
	h.type = VIRTIO_RESOURCE_EV_OFFER;
	e = rt_expect_error(rt_call(buf, rc_encode_bare(buf, sizeof(buf), &h)),
			    VIRTIO_RESOURCE_S_UNSUPPORTED);
	ck_assert_uint_eq(e.hdr.txn, 5);
	h.type = VIRTIO_RESOURCE_A_GRANT;
	rt_expect_error(rt_call(buf, rc_encode_bare(buf, sizeof(buf), &h)),
			VIRTIO_RESOURCE_S_UNSUPPORTED);
	h.type = VIRTIO_RESOURCE_T_FILE_OPEN;
	rt_expect_error(rt_call(buf, rc_encode_bare(buf, sizeof(buf), &h)),
			VIRTIO_RESOURCE_S_UNSUPPORTED);
	ck_assert(!rt_needs_reset());
}
END_TEST

START_TEST(test_malformed_bodies_get_error_answers)
{
	struct rc_request q = { .hdr = { .type = VIRTIO_RESOURCE_T_REQUEST, .txn = 1 },
				.kind = VIRTIO_RESOURCE_K_MEMORY,
				.amount = 2 * MiB,
				.minimum = 2 * MiB };
	uint8_t buf[256], good[128];
	struct rc_error e;
	size_t n;

	rt_hello_ok();
	n = rc_encode_request(good, sizeof(good), &q);
	ck_assert_uint_eq(n, sizeof(struct virtio_resource_request));
	/* The wrong size for its type (the buffer may be longer than hdr.len). */
	memcpy(buf, good, n);
	buf[4] = 60;
	e = rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_MALFORMED);
	ck_assert_uint_eq(e.hdr.txn, 0); /* not decoded: no txn */
	ck_assert_uint_eq(e.detail, (uint32_t)-RC_EMALFORMED);
	/* A reserved field. */
	memcpy(buf, good, n);
	buf[offsetof(struct virtio_resource_request, reserved)] = 1;
	rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_MALFORMED);
	/* Fields out of range. */
	q.amount = 0;
	rt_expect_error(rt_call(buf, rc_encode_request(buf, sizeof(buf), &q)),
			VIRTIO_RESOURCE_S_RANGE);
	q.amount = 2 * MiB;
	q.minimum = 4 * MiB;
	rt_expect_error(rt_call(buf, rc_encode_request(buf, sizeof(buf), &q)),
			VIRTIO_RESOURCE_S_RANGE);
	q.minimum = 0;
	q.urgency = 9;
	rt_expect_error(rt_call(buf, rc_encode_request(buf, sizeof(buf), &q)),
			VIRTIO_RESOURCE_S_RANGE);
	/* A message followed by more bytes in its buffer is fine. */
	memcpy(buf, good, n);
	memset(buf + n, 0xcc, 32);
	rt_expect_grant(rt_call(buf, n + 32));
	ck_assert(!rt_needs_reset());
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 2 * MiB);
}
END_TEST

/*
 * Bad headers (too short, hdr.len wrong, flags, a status, an unknown type,
 * longer than max_message, random bytes) are answered with an error: the
 * answer is built, but resource__handle_request still returns
 * VIRTIO_REQ_BAD because rc_peek_type()'s error stays in ret.
 */
START_TEST(test_bug_bad_headers_on_requestq_need_reset_instead_of_an_answer)
{
	struct rc_request q = { .hdr = { .type = VIRTIO_RESOURCE_T_REQUEST, .txn = 1 },
				.kind = VIRTIO_RESOURCE_K_MEMORY,
				.amount = 2 * MiB,
				.minimum = 2 * MiB };
	static uint8_t big[RES_MAX_MESSAGE + 100];
	uint8_t buf[256], good[128];
	struct rc_hdr h = { .type = 200, .txn = 5 };
	uint32_t seed = 12345;
	size_t n;

	rt_hello_ok();
	n = rc_encode_request(good, sizeof(good), &q);
	/* Types the ABI does not define: UNSUPPORTED (the header is not trusted: txn 0). */
	ck_assert_uint_eq(rt_expect_error(rt_call(buf, rc_encode_bare(buf, sizeof(buf), &h)),
					  VIRTIO_RESOURCE_S_UNSUPPORTED)
				  .hdr.txn,
			  0);
	h.type = 10;
	rt_expect_error(rt_call(buf, rc_encode_bare(buf, sizeof(buf), &h)),
			VIRTIO_RESOURCE_S_UNSUPPORTED);
	/* Shorter than a header; hdr.len below a header or beyond the buffer. */
	rt_expect_error(rt_call(good, 10), VIRTIO_RESOURCE_S_MALFORMED);
	memcpy(buf, good, n);
	buf[4] = 23;
	rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_MALFORMED);
	buf[4] = 100;
	rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_MALFORMED);
	/* Flags, or a status in a request. */
	memcpy(buf, good, n);
	buf[2] = 1;
	rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_MALFORMED);
	memcpy(buf, good, n);
	buf[20] = 1;
	rt_expect_error(rt_call(buf, n), VIRTIO_RESOURCE_S_MALFORMED);
	/* Longer than max_message: the host reads 4096 bytes, so it is truncated. */
	memcpy(big, good, n);
	big[4] = (uint8_t)(sizeof(big) & 0xff);
	big[5] = (uint8_t)(sizeof(big) >> 8);
	rt_expect_error(rt_call(big, sizeof(big)), VIRTIO_RESOURCE_S_MALFORMED);
	/* Random bytes of every length. */
	for (unsigned int i = 0; i < 300; i++) {
		size_t len = 1 + i % 200;

		for (size_t j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			buf[j] = (uint8_t)(seed >> 16);
		}
		ck_assert_uint_eq(rt_answer_type(rt_call(buf, len)), VIRTIO_RESOURCE_A_ERROR);
	}
	ck_assert(!rt_needs_reset());
	ck_assert_uint_eq(rt.r->table.used, 0);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(rt.r->memres.reserved, 0);
	rt_expect_grant(rt_call(good, n));
}
END_TEST

START_TEST(test_chain_without_room_for_an_answer_needs_reset)
{
	uint8_t buf[64];

	rt_hello_ok();
	ck_assert_int_eq(rt_post(VIRTIO_RESOURCE_Q_REQUEST, buf, 24, 0), RT_NO_ANSWER);
	ck_assert(rt_needs_reset());
	ck_assert_uint_gt(rt.irq.config, 0);
	/* After a reset: 31 writable bytes cannot hold an error answer either. */
	rt_device_reset();
	rt_driver_ok();
	ck_assert(!rt_needs_reset());
	ck_assert(!rt.r->hello);
	ck_assert_int_eq(rt_post(VIRTIO_RESOURCE_Q_REQUEST, buf, 24, 31), RT_NO_ANSWER);
	ck_assert(rt_needs_reset());
	/* The same rule on the message and file queues. */
	rt_device_reset();
	rt_driver_ok();
	ck_assert_int_eq(rt_post(VIRTIO_RESOURCE_Q_MESSAGE, buf, 24, 0), RT_NO_ANSWER);
	ck_assert(rt_needs_reset());
	rt_device_reset();
	rt_driver_ok();
	ck_assert_int_eq(rt_post(VIRTIO_RESOURCE_Q_FILE, buf, 24, 16), RT_NO_ANSWER);
	ck_assert(rt_needs_reset());
}
END_TEST

START_TEST(test_bug_answer_that_does_not_fit_still_changes_the_allocation)
{
	long len;

	rt_hello_ok();
	/* Room for an error answer (32 bytes), not for a grant (48). */
	{
		struct rc_request q = { .hdr = { .type = VIRTIO_RESOURCE_T_REQUEST, .txn = 1 },
					.kind = VIRTIO_RESOURCE_K_MEMORY,
					.amount = 4 * MiB,
					.minimum = 2 * MiB };
		uint8_t buf[128];
		size_t n = rc_encode_request(buf, sizeof(buf), &q);

		len = rt_post(VIRTIO_RESOURCE_Q_REQUEST, buf, n, 40);
	}
	ck_assert_msg(rt.r->mem.granted == RT_MEM_GRANTED,
		      "granted %llu MiB though the guest never got an answer (%s)",
		      (unsigned long long)(rt.r->mem.granted >> 20),
		      len == RT_NO_ANSWER ? "NEEDS_RESET" : "answered");
	ck_assert(!rt_needs_reset());
	rt_expect_error(len, VIRTIO_RESOURCE_S_TOO_BIG);
}
END_TEST

/* ---- the agreement table's limits ---- */

START_TEST(test_table_full_of_live_agreements_is_busy)
{
	struct rc_error e;

	rt_hello_ok();
	/* One terminal entry, then 127 live ones of four applications: the table (128) is full. */
	rt_expect_deny(rt_request(1000, VIRTIO_RESOURCE_K_VCPU, 2000, 2000));
	for (uint64_t txn = 1; txn <= RES_TABLE_SIZE - 1; txn++)
		rt_expect_grant(rt_request_app(txn, txn % 4, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	ck_assert_uint_eq(rt.r->table.used, RES_TABLE_SIZE);
	/* The terminal entry makes room. */
	rt_expect_grant(rt_request_app(RES_TABLE_SIZE, 0, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	ck_assert_int_eq(rc_table_find(&rt.r->table, 1000, &(struct rc_entry *){ NULL }),
			 RC_ENOENT);
	/* Now every entry is live: BUSY, nothing granted. */
	e = rt_expect_error(rt_request(RES_TABLE_SIZE + 1, VIRTIO_RESOURCE_K_VCPU, 1, 1),
			    VIRTIO_RESOURCE_S_BUSY);
	ck_assert_uint_eq(e.hdr.txn, RES_TABLE_SIZE + 1);
	ck_assert_uint_eq(rt.r->vcpu.granted, 1 + RES_TABLE_SIZE);
	ck_assert_uint_eq(rt.host.vcpus, 1 + RES_TABLE_SIZE);
	/* The backlog of events for a guest that posts no buffers stays bounded. */
	ck_assert_uint_eq(rt.r->ev_count, RES_MAX_EVENTS);
}
END_TEST

/* How often the device decided @key ("grants", ...), as query-allocation shows it. */
static uint64_t rt_decisions(const char *key)
{
	struct json_object *o = resource__allocation_json(rt.r), *d = rt_json_get(o, "decisions");
	uint64_t n = rt_json_u64(d, key);

	json_object_put(o);
	return n;
}

START_TEST(test_one_application_keeps_at_most_64_agreements)
{
	struct rc_error e;

	rt_hello_ok();
	for (uint64_t txn = 1; txn <= RES_MAX_APP_AGREEMENTS; txn++)
		rt_expect_grant(rt_request_app(txn, 7, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	/* The 65th of application 7 is BUSY and changes nothing... */
	e = rt_expect_error(rt_request_app(100, 7, VIRTIO_RESOURCE_K_VCPU, 1, 1),
			    VIRTIO_RESOURCE_S_BUSY);
	ck_assert_uint_eq(e.hdr.txn, 100);
	ck_assert_uint_eq(e.hdr.app_id, 7);
	ck_assert_int_eq(rc_table_find(&rt.r->table, 100, &(struct rc_entry *){ NULL }), RC_ENOENT);
	ck_assert_uint_eq(rt.r->vcpu.granted, 1 + RES_MAX_APP_AGREEMENTS);
	/* ...while the table has room for other applications and the driver. */
	rt_expect_grant(rt_request_app(101, 8, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	rt_expect_grant(rt_request_app(102, 0, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	/* An agreement given back makes room for application 7 again. */
	rt_expect_ack(rt_release(1, VIRTIO_RESOURCE_K_VCPU, 1));
	rt_expect_grant(rt_request_app(103, 7, VIRTIO_RESOURCE_K_VCPU, 1, 1));
	ck_assert_uint_eq(rt_decisions("grants"), RES_MAX_APP_AGREEMENTS + 3);
	ck_assert_uint_eq(rt_decisions("releases"), 1);
	ck_assert_uint_eq(rt_decisions("over-limit"), 1);
	ck_assert_uint_eq(rt_decisions("denials"), 0);
	ck_assert_uint_eq(rt_decisions("offers"), 0);
	/* 68 decisions within far less than the 5 s window: most were not logged one by one. */
	ck_assert_uint_gt(rt.r->decision_rl.suppressed, 0);
}
END_TEST

/*
 * Found with fuzz_resource: set-allocation passes a renegotiating vCPU
 * agreement over; accepting the host's lower proposal then left 0 vCPUs.
 */
START_TEST(test_renegotiating_vcpus_down_past_the_grant_is_range)
{
	struct acc_err err = { { 0 } };
	unsigned int one = 1;

	rt_hello_ok();
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_VCPU, 4, 4));
	ck_assert_uint_eq(rt.r->vcpu.granted, 5);
	ck_assert_int_eq(resource__renegotiate(rt.r, 1, 2, &err), 0);
	ck_assert_int_eq(resource__set_allocation(rt.r, NULL, &one, &err), 0);
	rt_expect_state(1, RC_S_RENEGOTIATING, 4);
	ck_assert_uint_eq(rt.r->vcpu.granted, 1);
	rt_expect_error(rt_renegotiate(1, VIRTIO_RESOURCE_K_VCPU, 2), VIRTIO_RESOURCE_S_RANGE);
	ck_assert_uint_eq(rt.r->vcpu.granted, 1);
	ck_assert_uint_eq(rt.host.vcpus, 1);
	rt_expect_state(1, RC_S_RENEGOTIATING, 4);
}
END_TEST

/* ---- reset ---- */

START_TEST(test_reset_keeps_the_allocation_forgets_reservations_and_starts_a_new_driver)
{
	struct acc_err err = { { 0 } };

	rt_hello_ok();
	rt_expect_grant(rt_request(1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB, 2 * MiB));
	rt_expect_ack(rt_reserve(40 * MiB, 4 * MiB));
	ck_assert_int_eq(resource__send_message(rt.r, "x", 1, &err), 0);
	ck_assert_uint_gt(rt.r->ev_count, 0);
	rt_device_reset();
	ck_assert(!rt.r->hello);
	ck_assert_uint_eq(rt.r->ev_count, 0); /* the old driver's events are gone */
	ck_assert_uint_eq(rt.r->mem.granted, 40 * MiB);
	ck_assert_uint_eq(rt.r->memres.reserved, 0);
	ck_assert_uint_eq(rt_config().mem_reserved, 0);
	rt_driver_ok();
	rt_expect_error(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB),
			VIRTIO_RESOURCE_S_ORDER);
	rt_hello_ok();
	/* The old driver's granules are the new one's to reserve again. */
	rt_expect_ack(rt_reserve(40 * MiB, 4 * MiB));
	rt_expect_grant(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB));
	ck_assert_uint_eq(rt_config().mem_granted, 42 * MiB);
}
END_TEST

START_TEST(test_bug_reset_keeps_the_old_drivers_offer_holding_the_pool)
{
	rt_hello_ok();
	rt_offer_24(1);
	ck_assert_uint_eq(rt.r->mem.pending, 16 * MiB);
	rt_device_reset();
	rt_driver_ok();
	rt_hello_ok();
	/* Nobody can accept the old offer any more. */
	ck_assert_msg(rt.r->mem.pending == 0, "%llu MiB still held for a driver that is gone",
		      (unsigned long long)(rt.r->mem.pending >> 20));
	rt_expect_grant(rt_request(2, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB, 16 * MiB));
}
END_TEST

/* ---- the control socket's views ---- */

START_TEST(test_allocation_view)
{
	struct json_object *o, *m, *v;

	rt_hello_ok();
	rt_offer_24(1);
	rt_expect_ack(rt_reserve(40 * MiB, 4 * MiB));
	o = resource__allocation_json(rt.r);
	ck_assert_uint_eq(rt_json_u64(o, "guest-id"), RT_GUEST_ID);
	ck_assert_uint_eq(rt_json_u64(o, "generation"), 0);
	ck_assert(json_object_get_boolean(rt_json_get(o, "driver")));
	m = rt_json_get(o, "memory");
	ck_assert_uint_eq(rt_json_u64(m, "max"), RT_RAM);
	ck_assert_uint_eq(rt_json_u64(m, "pool"), RT_MEM_POOL);
	ck_assert_uint_eq(rt_json_u64(m, "granted"), RT_MEM_GRANTED);
	ck_assert_uint_eq(rt_json_u64(m, "pending"), 16 * MiB);
	ck_assert_uint_eq(rt_json_u64(m, "reserved"), 4 * MiB);
	ck_assert_uint_eq(rt_json_u64(m, "usable"), 60 * MiB);
	ck_assert_uint_eq(rt_json_u64(m, "granule"), 2 * MiB);
	ck_assert(!json_object_get_boolean(rt_json_get(m, "reclaiming")));
	v = rt_json_get(o, "vcpus");
	ck_assert_uint_eq(rt_json_u64(v, "max"), RT_VCPUS_MAX);
	ck_assert_uint_eq(rt_json_u64(v, "pool"), RT_VCPUS_POOL);
	ck_assert_uint_eq(rt_json_u64(v, "granted"), RT_VCPUS);
	ck_assert_uint_eq(rt_json_u64(v, "pending"), 0);
	json_object_put(o);
}
END_TEST

Suite *resource_suite(void)
{
	Suite *s = suite_create("resource");
	TCase *tc = tcase_create("device");
	TCase *tc_init = tcase_create("init");
	TCase *tc_nodrv = tcase_create("before-driver-ok");
	TCase *tc_vcpus = tcase_create("many-vcpus");
	TCase *tc_files;

	tcase_add_checked_fixture(tc, setup, rt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_device_identity_features_and_config);
	tcase_add_test(tc, test_request_before_hello_is_order);
	tcase_add_test(tc, test_hello_is_welcomed);
	tcase_add_test(tc, test_get_inventory_answers_the_description);
	tcase_add_test(tc, test_request_granted_within_the_pool);
	tcase_add_test(tc, test_vcpu_request_runs_the_new_vcpu);
	tcase_add_test(tc, test_request_denied_above_max);
	tcase_add_test(tc, test_request_denied_at_the_host_limit);
	tcase_add_test(tc, test_request_of_a_kind_not_negotiable_here);
	tcase_add_test(tc, test_request_offered_part_now_rest_later);
	tcase_add_test(tc, test_duplicate_txn_is_order);
	tcase_add_test(tc, test_accept_with_part_now_grants);
	tcase_add_test(tc, test_accept_without_part_now_is_range);
	tcase_add_test(tc, test_accept_and_decline_errors_change_nothing);
	tcase_add_test(tc, test_decline_frees_the_held_amount);
	tcase_add_test(tc, test_offer_lapses_after_ten_seconds);
	tcase_add_test(tc, test_an_offer_the_max_has_no_room_for_any_more_lapses);
	tcase_add_test(tc, test_rest_later_arrives_as_ev_grant_when_room_appears);
	tcase_add_test(tc, test_bug_deferred_part_of_a_released_agreement_is_still_granted);
	tcase_add_test(tc, test_bug_deferred_grant_takes_what_an_open_offer_holds);
	tcase_add_test(tc, test_release_only_after_reserving);
	tcase_add_test(tc, test_release_of_one_agreement_or_the_newest_first);
	tcase_add_test(tc, test_reserve_refusals_change_nothing);
	tcase_add_test(tc, test_reserve_gives_the_pages_back_to_the_host);
	tcase_add_test(tc, test_unreserve_only_up_to_the_grant);
	tcase_add_test(tc, test_renegotiate_up_down_and_refusals);
	tcase_add_test(tc, test_bug_renegotiate_above_max_is_denied_as_host_limit);
	tcase_add_test(tc, test_host_renegotiation_accepted_after_reserving);
	tcase_add_test(tc, test_host_renegotiation_up_accepted_or_declined);
	tcase_add_test(tc, test_host_renegotiation_does_not_hold_the_room);
	tcase_add_test(tc, test_host_renegotiation_lapses_after_its_deadline);
	tcase_add_test(tc, test_renegotiating_down_past_the_grant_after_a_reclaim_is_range);
	tcase_add_test(tc, test_host_renegotiation_refusals);
	tcase_add_test(tc, test_host_renegotiation_needs_room_in_the_event_queue);
	tcase_add_test(tc, test_reclaim_asks_the_guest_and_completes_when_it_reserved);
	tcase_add_test(tc, test_reclaim_lowers_an_agreement_in_part_and_sends_ev_allocation);
	tcase_add_test(tc, test_bug_reclaim_deadline_is_shorter_than_amount_over_rate);
	tcase_add_test(tc, test_reclaim_the_guest_already_meets_completes_at_once);
	tcase_add_test(tc, test_set_allocation_back_up_completes_an_open_reclaim);
	tcase_add_test(tc, test_set_allocation_up_tells_the_guest);
	tcase_add_test(tc, test_set_allocation_down_reclaims);
	tcase_add_test(tc, test_events_wait_for_buffers_and_at_most_64_are_kept);
	tcase_add_test(tc, test_event_buffer_too_small_needs_reset);
	tcase_add_test(tc, test_statistics_ring_keeps_the_last_256);
	tcase_add_test(tc, test_messages_to_the_host);
	tcase_add_test(tc, test_messages_to_the_guest);
	tcase_add_test(tc, test_files_without_a_share_are_unsupported);
	tcase_add_test(tc, test_types_that_do_not_belong_on_requestq_are_unsupported);
	tcase_add_test(tc, test_malformed_bodies_get_error_answers);
	tcase_add_test(tc, test_bug_bad_headers_on_requestq_need_reset_instead_of_an_answer);
	tcase_add_test(tc, test_chain_without_room_for_an_answer_needs_reset);
	tcase_add_test(tc, test_bug_answer_that_does_not_fit_still_changes_the_allocation);
	tcase_add_test(
		tc, test_reset_keeps_the_allocation_forgets_reservations_and_starts_a_new_driver);
	tcase_add_test(tc, test_bug_reset_keeps_the_old_drivers_offer_holding_the_pool);
	tcase_add_test(tc, test_allocation_view);
	suite_add_tcase(s, tc);

	tcase_add_test(tc_init, test_init_fails_when_the_hardware_cannot_be_described);
	suite_add_tcase(s, tc_init);

	tcase_add_checked_fixture(tc_nodrv, setup_no_driver, rt_teardown);
	tcase_add_test(tc_nodrv, test_events_raised_before_driver_ok_go_out_on_activate);
	suite_add_tcase(s, tc_nodrv);

	tcase_add_checked_fixture(tc_vcpus, setup_many_vcpus, rt_teardown);
	tcase_set_timeout(tc_vcpus, 60);
	tcase_add_test(tc_vcpus, test_table_full_of_live_agreements_is_busy);
	tcase_add_test(tc_vcpus, test_one_application_keeps_at_most_64_agreements);
	tcase_add_test(tc_vcpus, test_renegotiating_vcpus_down_past_the_grant_is_range);
	suite_add_tcase(s, tc_vcpus);

	/* A share needs openat2; the share suite checks its absence is reported. */
	if (valgrind_lacks_openat2()) {
		fprintf(stderr,
			"resource: valgrind has no openat2; the file queue is not tested\n");
		return s;
	}
	tc_files = tcase_create("files");
	tcase_add_checked_fixture(tc_files, setup_share, rt_teardown);
	tcase_add_test(tc_files, test_files_open_stat_close);
	tcase_add_test(tc_files, test_file_queue_needs_hello_first);
	tcase_add_test(tc_files, test_file_read_answers_the_bytes);
	tcase_add_test(tc_files, test_files_outside_the_share_or_missing);
	suite_add_tcase(s, tc_files);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(resource_suite());
	int failed;

	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, resource_broker_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
