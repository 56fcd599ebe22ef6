// SPDX-License-Identifier: MIT
/*
 * virtio-resource in broker mode: the device forwards requests, accepted
 * offers, grown agreements and messages to a fake broker and parks the
 * guest's chain until the answer; it reports releases, declines and ended
 * promises; it applies the broker's reclaims, growth and promised parts;
 * and what the broker gave but the device can no longer use goes back.
 */
#include <stdlib.h>

#include "resource_test.h"

#define FB_MAX_CALLS 64

/* The broker as the device sees it: a record of calls, up or away. */
struct fake_broker {
	bool away;
	unsigned int nr;
	struct resource_broker_call calls[FB_MAX_CALLS];
	char to[FB_MAX_CALLS][VIRTIO_RESOURCE_MAX_NAME];
	char data[FB_MAX_CALLS][64];
};

static struct fake_broker fb;

static int fake_broker_call(void *ctx, const struct resource_broker_call *c)
{
	struct fake_broker *b = ctx;

	if (b->away)
		return -ENOTCONN;
	ck_assert_uint_lt(b->nr, FB_MAX_CALLS);
	b->calls[b->nr] = *c;
	if (c->what == RES_CALL_MESSAGE) {
		snprintf(b->to[b->nr], sizeof(b->to[0]), "%s", c->to);
		snprintf(b->data[b->nr], sizeof(b->data[0]), "%.*s", (int)c->len,
			 (const char *)c->data);
	}
	b->nr++;
	return 0;
}

static const struct resource_broker_ops fake_broker_ops = { fake_broker_call, &fb };

static void setup_broker(void)
{
	struct resource_opts o = rt_opts();

	memset(&fb, 0, sizeof(fb));
	rt_clear();
	o.mem_pool = 0; /* the broker's pool applies, not a local one */
	o.vcpus_pool = 0;
	o.broker = &fake_broker_ops;
	rt_start(&o, true);
	rt_hello_ok();
}

/* The last call the device made, which must be @what. */
static const struct resource_broker_call *fb_last(enum res_call what)
{
	const struct resource_broker_call *c;

	ck_assert_uint_gt(fb.nr, 0);
	c = &fb.calls[fb.nr - 1];
	ck_assert_msg(c->what == what, "last call %d, expected %d", c->what, what);
	return c;
}

/* The answer the device pushed since @before (0 when it pushed none). */
static long rt_pushed(unsigned int q, uint16_t before)
{
	struct vring_drv *d = &rt.q[q];

	if (drv__used_idx(d) == before)
		return 0;
	ck_assert_uint_eq(drv__used_idx(d), (uint16_t)(before + 1));
	return drv__used_len(d, before);
}

static uint16_t rt_used(unsigned int q)
{
	return drv__used_idx(&rt.q[q]);
}

static void fb_answer(const struct resource_broker_call *c, enum policy_verdict v, uint64_t amount,
		      uint64_t later, int error)
{
	struct resource_broker_answer a = { .what = c->what,
					    .seq = c->seq,
					    .txn = c->txn,
					    .kind = c->kind,
					    .amount = c->amount,
					    .later = c->later,
					    .error = error };

	a.d.verdict = v;
	a.d.amount = amount;
	a.d.later = later;
	if (v == POLICY_DENY) {
		a.d.deny_reason = VIRTIO_RESOURCE_D_HOST_LIMIT;
		a.d.retry_after_ms = 3000;
	}
	snprintf(a.d.why, sizeof(a.d.why), "fake broker");
	resource__broker_answer(rt.r, &a);
}

/* A request the device parks; returns the call it forwarded. */
static struct resource_broker_call rt_parked_request(uint64_t txn, uint64_t amount,
						     uint64_t minimum)
{
	unsigned int calls = fb.nr;

	ck_assert_int_eq(rt_request(txn, VIRTIO_RESOURCE_K_MEMORY, amount, minimum), RT_NO_ANSWER);
	ck_assert(!rt_needs_reset());
	ck_assert_uint_eq(fb.nr, calls + 1);
	return *fb_last(RES_CALL_REQUEST);
}

START_TEST(test_a_request_waits_for_the_broker_and_its_grant_applies)
{
	struct resource_broker_call c;
	uint16_t before;
	struct rc_grant g;

	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	c = rt_parked_request(1, 8 * MiB, 2 * MiB);
	ck_assert_uint_eq(c.txn, 1);
	ck_assert_uint_eq(c.kind, VIRTIO_RESOURCE_K_MEMORY);
	ck_assert_uint_eq(c.amount, 8 * MiB);
	ck_assert_uint_eq(c.minimum, 2 * MiB);
	ck_assert_uint_eq(c.urgency, VIRTIO_RESOURCE_U_NORMAL);
	ck_assert_uint_ne(c.seq, 0);
	/* Nothing moves until the broker speaks. */
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	rt_expect_state(1, RC_S_REQUESTED, 0);

	fb_answer(&c, POLICY_GRANT, 8 * MiB, 0, 0);
	g = rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(g.hdr.txn, 1);
	ck_assert_uint_eq(g.hdr.app_id, 3);
	ck_assert_uint_eq(g.amount, 8 * MiB);
	ck_assert_uint_eq(g.allocation, RT_MEM_GRANTED + 8 * MiB);
	rt_expect_state(1, RC_S_GRANTED, 8 * MiB);
	ck_assert_uint_eq(rt_config().mem_granted, RT_MEM_GRANTED + 8 * MiB);
	ck_assert_str_eq(rt_json_str(rt_host_last("GRANT"), "reason"), "fake broker");
	/* A second answer to the same call finds nothing waiting: it goes back. */
	fb_answer(&c, POLICY_GRANT, 8 * MiB, 0, 0);
	ck_assert_uint_eq(fb_last(RES_CALL_RELEASE)->amount, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 8 * MiB);
}
END_TEST

/* One application cannot hold every slot for the broker's answers. */
START_TEST(test_one_application_keeps_at_most_8_requests_at_the_broker)
{
	struct resource_broker_call first = { 0 };
	unsigned int calls;
	uint16_t before;

	for (uint64_t txn = 1; txn <= RES_MAX_APP_OUTSTANDING; txn++) {
		calls = fb.nr;
		ck_assert_int_eq(rt_request_app(txn, 7, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB),
				 RT_NO_ANSWER);
		ck_assert_uint_eq(fb.nr, calls + 1);
		if (txn == 1)
			first = *fb_last(RES_CALL_REQUEST);
	}
	/* The ninth is BUSY at once and never reaches the broker. */
	calls = fb.nr;
	rt_expect_error(rt_request_app(50, 7, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB),
			VIRTIO_RESOURCE_S_BUSY);
	ck_assert_uint_eq(fb.nr, calls);
	/* Another application still gets its request to the broker. */
	ck_assert_int_eq(rt_request_app(51, 8, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB),
			 RT_NO_ANSWER);
	ck_assert_uint_eq(fb_last(RES_CALL_REQUEST)->txn, 51);
	/* An answer frees a slot of application 7. */
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&first, POLICY_GRANT, 2 * MiB, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_int_eq(rt_request_app(52, 7, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB),
			 RT_NO_ANSWER);
	ck_assert_uint_eq(fb_last(RES_CALL_REQUEST)->txn, 52);
}
END_TEST

START_TEST(test_a_denial_keeps_the_brokers_reason_and_retry)
{
	struct resource_broker_call c = rt_parked_request(2, 8 * MiB, 8 * MiB);
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	struct rc_deny d;

	fb_answer(&c, POLICY_DENY, 0, 0, 0);
	d = rt_expect_deny(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	ck_assert_uint_eq(d.retry_after_ms, 3000);
	ck_assert_uint_eq(d.allocation, RT_MEM_GRANTED);
	rt_expect_state(2, RC_S_DENIED, 0);
}
END_TEST

START_TEST(test_an_offer_accepted_waits_for_the_broker_and_promises_come_from_it)
{
	struct resource_broker_call c = rt_parked_request(3, 8 * MiB, 2 * MiB), a;
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	unsigned int calls;
	uint32_t len;
	struct rc_offer o;
	struct rc_grant g;

	fb_answer(&c, POLICY_OFFER, 4 * MiB, 4 * MiB, 0);
	o = rt_expect_offer(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(o.nr_alternatives, 2);
	ck_assert_uint_eq(o.alt[0].amount, 4 * MiB);
	ck_assert_uint_eq(o.alt[1].amount, 4 * MiB);

	ck_assert_int_eq(rt_accept(3, o.offer_id, 3), RT_NO_ANSWER);
	a = *fb_last(RES_CALL_ACCEPT);
	ck_assert_uint_eq(a.txn, 3);
	ck_assert_uint_eq(a.amount, 4 * MiB);
	ck_assert_uint_eq(a.later, 4 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&a, POLICY_GRANT, 0, 0, 0);
	g = rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(g.amount, 4 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 4 * MiB);

	/* Room freed elsewhere does not keep a broker's promise: only the broker does. */
	rt_ev_post(8);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 4 * MiB);
	rt_ev_drain();
	resource__broker_deliver(rt.r, 3, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 6 * MiB);
	rt_expect_state(3, RC_S_GRANTED, 6 * MiB);
	ck_assert_ptr_nonnull(rt_ev_expect(VIRTIO_RESOURCE_EV_GRANT, &len));
	resource__broker_deliver(rt.r, 3, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB);
	rt_expect_state(3, RC_S_GRANTED, 8 * MiB);
	/* Kept in full: a further delivery has no promise and goes back. */
	calls = fb.nr;
	resource__broker_deliver(rt.r, 3, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB);
	ck_assert_uint_eq(fb.nr, calls + 1);
	ck_assert_uint_eq(fb_last(RES_CALL_RELEASE)->amount, 2 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 8 * MiB);
}
END_TEST

START_TEST(test_an_accept_the_broker_refuses_is_order_and_the_offer_is_gone)
{
	struct resource_broker_call c = rt_parked_request(4, 8 * MiB, 2 * MiB), a;
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	struct rc_offer o;

	fb_answer(&c, POLICY_OFFER, 4 * MiB, 0, 0);
	o = rt_expect_offer(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_int_eq(rt_accept(4, o.offer_id, 1), RT_NO_ANSWER);
	a = *fb_last(RES_CALL_ACCEPT);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&a, POLICY_GRANT, 0, 0, RC_ENOENT);
	rt_expect_error(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before), VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	rt_expect_error(rt_accept(4, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
}
END_TEST

START_TEST(test_answers_that_come_after_a_reset_are_given_back)
{
	struct resource_broker_call c1, c2;
	unsigned int calls;

	c1 = rt_parked_request(5, 8 * MiB, 2 * MiB);
	rt_device_reset();
	rt_driver_ok();
	rt_hello_ok();
	c2 = rt_parked_request(5, 6 * MiB, 2 * MiB); /* the new driver reuses txn 5 */
	calls = fb.nr;
	fb_answer(&c1, POLICY_GRANT, 8 * MiB, 0, 0);
	ck_assert_uint_eq(fb.nr, calls + 1);
	ck_assert_uint_eq(fb_last(RES_CALL_RELEASE)->amount, 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	/* The new driver's request still waits for its own answer. */
	rt_expect_state(5, RC_S_REQUESTED, 0);
	fb_answer(&c2, POLICY_OFFER, 2 * MiB, 0, 0);
	rt_expect_state(5, RC_S_OFFERED, 0);
	/* An offer the driver never saw is declined back. */
	rt_device_reset();
	ck_assert_uint_eq(fb_last(RES_CALL_DECLINE)->txn, 5);
	rt_driver_ok();
	rt_hello_ok();
	c1 = rt_parked_request(6, 8 * MiB, 2 * MiB);
	rt_device_reset();
	fb_answer(&c1, POLICY_OFFER, 2 * MiB, 0, 0);
	ck_assert_uint_eq(fb_last(RES_CALL_DECLINE)->txn, 6);
}
END_TEST

START_TEST(test_a_broker_answer_that_does_not_fit_is_denied_and_given_back)
{
	struct resource_broker_call c = rt_parked_request(7, 8 * MiB, 2 * MiB);
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);

	/* More than asked, or not whole granules: refused, and handed back. */
	fb_answer(&c, POLICY_GRANT, 16 * MiB, 0, 0);
	rt_expect_deny(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(fb_last(RES_CALL_RELEASE)->amount, 16 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
	c = rt_parked_request(8, 8 * MiB, 2 * MiB);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&c, POLICY_OFFER, 1 * MiB, 0, 0);
	rt_expect_deny(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(fb_last(RES_CALL_DECLINE)->txn, 8);
	/* Beyond what exists for the VM. */
	c = rt_parked_request(9, RT_RAM, 2 * MiB);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&c, POLICY_GRANT, RT_RAM, 0, 0);
	rt_expect_deny(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);
}
END_TEST

START_TEST(test_without_the_broker_requests_are_denied_with_a_short_retry)
{
	struct resource_broker_call c = rt_parked_request(10, 8 * MiB, 2 * MiB);
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	struct rc_offer o;
	struct rc_deny d;

	/* The broker goes away: the waiting request is answered at once. */
	fb.away = true;
	resource__broker_lost(rt.r);
	d = rt_expect_deny(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(d.hdr.txn, 10);
	ck_assert_uint_eq(d.reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	ck_assert_uint_eq(d.retry_after_ms, RES_NO_BROKER_RETRY_MS);
	d = rt_expect_deny(rt_request(11, VIRTIO_RESOURCE_K_MEMORY, 2 * MiB, 2 * MiB));
	ck_assert_uint_eq(d.retry_after_ms, RES_NO_BROKER_RETRY_MS);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED);

	/* Offers lapse with the broker that made them. */
	fb.away = false;
	c = rt_parked_request(12, 8 * MiB, 2 * MiB);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&c, POLICY_OFFER, 4 * MiB, 0, 0);
	o = rt_expect_offer(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	fb.away = true;
	resource__broker_lost(rt.r);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	rt_expect_error(rt_accept(12, o.offer_id, 1), VIRTIO_RESOURCE_S_ORDER);
}
END_TEST

START_TEST(test_releases_and_declines_are_reported)
{
	struct resource_broker_call c = rt_parked_request(13, 8 * MiB, 2 * MiB);
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	const struct resource_broker_call *r;
	struct rc_offer o;

	fb_answer(&c, POLICY_GRANT, 8 * MiB, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	/* The guest hands memory back once it reserved it. */
	rt_expect_ack(rt_reserve(RT_MEM_GRANTED + 8 * MiB, RT_RAM - RT_MEM_GRANTED - 8 * MiB));
	rt_expect_ack(rt_reserve(RT_MEM_GRANTED + 4 * MiB, 4 * MiB));
	rt_expect_ack(rt_release(13, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB));
	r = fb_last(RES_CALL_RELEASE);
	ck_assert_uint_eq(r->txn, 13);
	ck_assert_uint_eq(r->amount, 4 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 4 * MiB);

	c = rt_parked_request(14, 8 * MiB, 2 * MiB);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&c, POLICY_OFFER, 2 * MiB, 0, 0);
	o = rt_expect_offer(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	rt_expect_ack(rt_decline(14, o.offer_id));
	ck_assert_uint_eq(fb_last(RES_CALL_DECLINE)->txn, 14);
}
END_TEST

START_TEST(test_growing_an_agreement_asks_the_broker_for_the_difference)
{
	struct resource_broker_call c = rt_parked_request(15, 4 * MiB, 2 * MiB);
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	struct rc_grant g;

	fb_answer(&c, POLICY_GRANT, 4 * MiB, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_int_eq(rt_renegotiate(15, VIRTIO_RESOURCE_K_MEMORY, 10 * MiB), RT_NO_ANSWER);
	c = *fb_last(RES_CALL_REQUEST);
	ck_assert_uint_eq(c.txn, 15);
	ck_assert_uint_eq(c.amount, 6 * MiB);
	ck_assert_uint_eq(c.minimum, 6 * MiB);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&c, POLICY_GRANT, 6 * MiB, 0, 0);
	g = rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(g.amount, 10 * MiB);
	rt_expect_state(15, RC_S_GRANTED, 10 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 10 * MiB);

	/* Growth is whole or nothing: an offer is declined back and the guest denied. */
	ck_assert_int_eq(rt_renegotiate(15, VIRTIO_RESOURCE_K_MEMORY, 16 * MiB), RT_NO_ANSWER);
	c = *fb_last(RES_CALL_REQUEST);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&c, POLICY_OFFER, 2 * MiB, 0, 0);
	rt_expect_deny(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(fb_last(RES_CALL_DECLINE)->txn, 15);
	rt_expect_state(15, RC_S_GRANTED, 10 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 10 * MiB);
}
END_TEST

/*
 * Found with fuzz_resource: a second RENEGOTIATE while the broker decides the
 * first was taken for the answer to a host proposal and granted from the
 * local pool, behind the broker's back.
 */
START_TEST(test_renegotiating_again_while_the_broker_decides_is_order)
{
	struct resource_broker_call c = rt_parked_request(16, 4 * MiB, 2 * MiB);
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	unsigned int calls;

	fb_answer(&c, POLICY_GRANT, 4 * MiB, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_int_eq(rt_renegotiate(16, VIRTIO_RESOURCE_K_MEMORY, 10 * MiB), RT_NO_ANSWER);
	c = *fb_last(RES_CALL_REQUEST);
	calls = fb.nr;
	rt_expect_error(rt_renegotiate(16, VIRTIO_RESOURCE_K_MEMORY, 10 * MiB),
			VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(fb.nr, calls);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 4 * MiB);
	rt_expect_state(16, RC_S_RENEGOTIATING, 4 * MiB);
	/* The broker's word still decides. */
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&c, POLICY_GRANT, 6 * MiB, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	rt_expect_state(16, RC_S_GRANTED, 10 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 10 * MiB);
}
END_TEST

/*
 * Found with fuzz_resource: a promised part that is not whole units was
 * delivered, and the memory grant was no longer a multiple of the granule.
 */
START_TEST(test_a_delivery_of_part_of_a_unit_goes_back)
{
	struct resource_broker_call c = rt_parked_request(3, 8 * MiB, 2 * MiB);
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	struct rc_offer o;

	fb_answer(&c, POLICY_OFFER, 4 * MiB, 4 * MiB, 0);
	o = rt_expect_offer(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_int_eq(rt_accept(3, o.offer_id, 3), RT_NO_ANSWER);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(fb_last(RES_CALL_ACCEPT), POLICY_GRANT, 0, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	resource__broker_deliver(rt.r, 3, VIRTIO_RESOURCE_K_MEMORY, 4096);
	ck_assert_uint_eq(fb_last(RES_CALL_RELEASE)->amount, 4096);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 4 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 4 * MiB);
	/* The promise still stands for whole units. */
	resource__broker_deliver(rt.r, 3, VIRTIO_RESOURCE_K_MEMORY, 4 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 8 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	rt_expect_state(3, RC_S_GRANTED, 8 * MiB);
}
END_TEST

/*
 * Found with fuzz_resource: each of the broker's offers fit the VM's max when
 * it was made, but not both; accepting the second took the grant past it.
 */
START_TEST(test_an_accept_past_the_max_lapses_and_goes_back)
{
	struct resource_broker_call c;
	uint32_t offer_id[2];
	uint16_t before;

	for (unsigned int i = 0; i < 2; i++) {
		c = rt_parked_request(1 + i, 24 * MiB, 2 * MiB);
		before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
		fb_answer(&c, POLICY_OFFER, 20 * MiB, 0, 0);
		offer_id[i] =
			rt_expect_offer(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before)).offer_id;
	}
	ck_assert_int_eq(rt_accept(1, offer_id[0], 1), RT_NO_ANSWER);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(fb_last(RES_CALL_ACCEPT), POLICY_GRANT, 0, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 20 * MiB);
	/* 20 more would make 72 of 64 MiB. */
	ck_assert_int_eq(rt_accept(2, offer_id[1], 1), RT_NO_ANSWER);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(fb_last(RES_CALL_ACCEPT), POLICY_GRANT, 0, 0, 0);
	rt_expect_error(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before), VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(fb_last(RES_CALL_RELEASE)->amount, 20 * MiB);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED + 20 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, 0);
	rt_expect_state(2, RC_S_EXPIRED, 0);
}
END_TEST

/*
 * Found with fuzz_resource: promise slots can fill up while the broker
 * answers an ACCEPT. The promise was not recorded but its amount stayed
 * pending for good. Now the offer lapses and what the broker moved goes back.
 */
START_TEST(test_an_accept_answered_when_promise_slots_filled_up_lapses)
{
	struct resource_opts o = rt_opts();
	struct resource_broker_call c, a[2];
	uint32_t offer_id[2];
	uint16_t before;

	/* Little granted, so 17 offers with a part later fit the VM's 64 MiB. */
	rt_teardown();
	memset(&fb, 0, sizeof(fb));
	rt_clear();
	o.mem_granted = 2 * MiB;
	o.mem_pool = 0;
	o.vcpus_pool = 0;
	o.broker = &fake_broker_ops;
	rt_start(&o, true);
	rt_hello_ok();
	for (uint64_t txn = 1; txn <= RES_MAX_DEFERRED + 1; txn++) {
		c = rt_parked_request(txn, 4 * MiB, 2 * MiB);
		before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
		fb_answer(&c, POLICY_OFFER, 2 * MiB, 2 * MiB, 0);
		offer_id[txn % 2] =
			rt_expect_offer(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before)).offer_id;
		if (txn >= RES_MAX_DEFERRED)
			continue; /* the last two are accepted together below */
		ck_assert_int_eq(rt_accept(txn, offer_id[txn % 2], 3), RT_NO_ANSWER);
		before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
		fb_answer(fb_last(RES_CALL_ACCEPT), POLICY_GRANT, 0, 0, 0);
		rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	}
	/* One promise slot is free: both ACCEPTs go to the broker. */
	ck_assert_int_eq(rt_accept(16, offer_id[0], 3), RT_NO_ANSWER);
	a[0] = *fb_last(RES_CALL_ACCEPT);
	ck_assert_int_eq(rt_accept(17, offer_id[1], 3), RT_NO_ANSWER);
	a[1] = *fb_last(RES_CALL_ACCEPT);
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&a[0], POLICY_GRANT, 0, 0, 0);
	rt_expect_grant(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before));
	ck_assert_uint_eq(rt.r->mem.granted, 2 * MiB + 16 * 2 * MiB);
	/* The second finds every slot taken. */
	before = rt_used(VIRTIO_RESOURCE_Q_REQUEST);
	fb_answer(&a[1], POLICY_GRANT, 0, 0, 0);
	rt_expect_error(rt_pushed(VIRTIO_RESOURCE_Q_REQUEST, before), VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(fb.calls[fb.nr - 2].what, RES_CALL_RELEASE);
	ck_assert_uint_eq(fb.calls[fb.nr - 2].amount, 2 * MiB);
	ck_assert_uint_eq(fb_last(RES_CALL_CANCEL)->txn, 17);
	ck_assert_uint_eq(rt.r->mem.granted, 2 * MiB + 16 * 2 * MiB);
	ck_assert_uint_eq(rt.r->mem.pending, RES_MAX_DEFERRED * 2 * MiB); /* the 16 promises */
	rt_expect_state(17, RC_S_EXPIRED, 0);
}
END_TEST

START_TEST(test_the_brokers_reclaims_and_growth_change_the_allocation)
{
	struct acc_err err = { { 0 } };
	uint32_t len;

	rt_ev_post(8);
	ck_assert_int_eq(
		resource__broker_change(rt.r, VIRTIO_RESOURCE_K_MEMORY, false, 8 * MiB, &err), 0);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED - 8 * MiB);
	ck_assert_ptr_nonnull(rt_ev_expect(VIRTIO_RESOURCE_EV_RECLAIM, &len));
	ck_assert_int_eq(resource__broker_change(rt.r, VIRTIO_RESOURCE_K_VCPU, true, 1, &err), 0);
	ck_assert_uint_eq(rt.r->vcpu.granted, RT_VCPUS + 1);
	ck_assert_uint_eq(rt.host.vcpus, RT_VCPUS + 1);
	/* Moves the VM cannot make are refused and change nothing. */
	ck_assert_int_eq(resource__broker_change(rt.r, VIRTIO_RESOURCE_K_VCPU, true, 2, &err),
			 -ERANGE);
	ck_assert_int_eq(resource__broker_change(rt.r, VIRTIO_RESOURCE_K_MEMORY, false,
						 RT_MEM_GRANTED, &err),
			 -ERANGE);
	ck_assert_int_eq(resource__broker_change(rt.r, VIRTIO_RESOURCE_K_MEMORY, true, MiB, &err),
			 -ERANGE);
	ck_assert_uint_eq(rt.r->mem.granted, RT_MEM_GRANTED - 8 * MiB);
	ck_assert_uint_eq(rt.r->vcpu.granted, RT_VCPUS + 1);
}
END_TEST

START_TEST(test_messages_to_other_vms_go_through_the_broker_by_name)
{
	static const char named[] = "beta\0hello";
	uint16_t before = rt_used(VIRTIO_RESOURCE_Q_MESSAGE);
	unsigned int calls;
	struct resource_broker_call c;
	struct rc_message m;
	const uint8_t *ev;
	uint32_t len;

	ck_assert_int_eq(rt_message(20, VIRTIO_RESOURCE_DEST_NAMED, named, sizeof(named) - 1),
			 RT_NO_ANSWER);
	c = *fb_last(RES_CALL_MESSAGE);
	ck_assert_str_eq(fb.to[fb.nr - 1], "beta");
	ck_assert_str_eq(fb.data[fb.nr - 1], "hello");
	ck_assert_uint_eq(c.len, 5);
	fb_answer(&c, POLICY_GRANT, 0, 0, 0);
	ck_assert_uint_eq(rt_expect_ack(rt_pushed(VIRTIO_RESOURCE_Q_MESSAGE, before)).hdr.txn, 20);

	/* An unknown name and a full queue come back as NOENT and BUSY. */
	before = rt_used(VIRTIO_RESOURCE_Q_MESSAGE);
	rt_message(21, VIRTIO_RESOURCE_DEST_NAMED, named, sizeof(named) - 1);
	fb_answer(fb_last(RES_CALL_MESSAGE), POLICY_GRANT, 0, 0, RC_ENOENT);
	rt_expect_error(rt_pushed(VIRTIO_RESOURCE_Q_MESSAGE, before), VIRTIO_RESOURCE_S_NOENT);
	before = rt_used(VIRTIO_RESOURCE_Q_MESSAGE);
	rt_message(22, VIRTIO_RESOURCE_DEST_NAMED, named, sizeof(named) - 1);
	fb_answer(fb_last(RES_CALL_MESSAGE), POLICY_GRANT, 0, 0, RC_EBUSY);
	rt_expect_error(rt_pushed(VIRTIO_RESOURCE_Q_MESSAGE, before), VIRTIO_RESOURCE_S_BUSY);
	/* A name without its NUL, an empty name, or nothing after the name. */
	rt_expect_error(rt_message(23, VIRTIO_RESOURCE_DEST_NAMED, "beta", 4),
			VIRTIO_RESOURCE_S_MALFORMED);
	rt_expect_error(rt_message(24, VIRTIO_RESOURCE_DEST_NAMED, "\0hi", 3),
			VIRTIO_RESOURCE_S_MALFORMED);
	rt_expect_error(rt_message(25, VIRTIO_RESOURCE_DEST_NAMED, "beta", 5),
			VIRTIO_RESOURCE_S_MALFORMED);
	/* A name no VM can have (bytes the broker's JSON would refuse) is not sent. */
	calls = fb.nr;
	rt_expect_error(rt_message(27, VIRTIO_RESOURCE_DEST_NAMED, "b\xffta\0hi", 7),
			VIRTIO_RESOURCE_S_NOENT);
	rt_expect_error(rt_message(28, VIRTIO_RESOURCE_DEST_NAMED, "a b\0hi", 6),
			VIRTIO_RESOURCE_S_NOENT);
	ck_assert_uint_eq(fb.nr, calls);
	/* The broker away: try again later. */
	fb.away = true;
	rt_expect_error(rt_message(26, VIRTIO_RESOURCE_DEST_NAMED, named, sizeof(named) - 1),
			VIRTIO_RESOURCE_S_BUSY);

	/* Another VM's message arrives with its sender's id and name. */
	rt_ev_post(2);
	ck_assert_int_eq(resource__broker_message(rt.r, 9, "alpha", "hi", 2), 0);
	ev = rt_ev_expect(VIRTIO_RESOURCE_EV_MESSAGE, &len);
	ck_assert_int_eq(rc_decode_message(ev, len, RES_MAX_MESSAGE, &m), 0);
	ck_assert_uint_eq(m.source, 9);
	ck_assert_uint_eq(m.dest, RT_GUEST_ID);
	ck_assert_uint_eq(m.payload_len, 8);
	ck_assert_mem_eq(m.payload, "alpha\0hi", 8);
	/* A guest that takes no events has a full queue: one buffer left, then the backlog. */
	for (unsigned int i = 0; i < 1 + RES_MAX_EVENTS; i++)
		ck_assert_int_eq(resource__broker_message(rt.r, 9, "alpha", "hi", 2), 0);
	ck_assert_int_eq(resource__broker_message(rt.r, 9, "alpha", "hi", 2), -ENOBUFS);
}
END_TEST

START_TEST(test_a_guest_without_a_driver_refuses_other_vms_messages)
{
	rt_device_reset();
	ck_assert_int_eq(resource__broker_message(rt.r, 9, "alpha", "hi", 2), -EOPNOTSUPP);
}
END_TEST

Suite *resource_broker_suite(void)
{
	Suite *s = suite_create("resource-broker");
	TCase *tc = tcase_create("broker");

	tcase_add_checked_fixture(tc, setup_broker, rt_teardown);
	tcase_add_test(tc, test_a_request_waits_for_the_broker_and_its_grant_applies);
	tcase_add_test(tc, test_one_application_keeps_at_most_8_requests_at_the_broker);
	tcase_add_test(tc, test_a_denial_keeps_the_brokers_reason_and_retry);
	tcase_add_test(tc, test_an_offer_accepted_waits_for_the_broker_and_promises_come_from_it);
	tcase_add_test(tc, test_an_accept_the_broker_refuses_is_order_and_the_offer_is_gone);
	tcase_add_test(tc, test_answers_that_come_after_a_reset_are_given_back);
	tcase_add_test(tc, test_a_broker_answer_that_does_not_fit_is_denied_and_given_back);
	tcase_add_test(tc, test_without_the_broker_requests_are_denied_with_a_short_retry);
	tcase_add_test(tc, test_releases_and_declines_are_reported);
	tcase_add_test(tc, test_growing_an_agreement_asks_the_broker_for_the_difference);
	tcase_add_test(tc, test_renegotiating_again_while_the_broker_decides_is_order);
	tcase_add_test(tc, test_an_accept_answered_when_promise_slots_filled_up_lapses);
	tcase_add_test(tc, test_an_accept_past_the_max_lapses_and_goes_back);
	tcase_add_test(tc, test_a_delivery_of_part_of_a_unit_goes_back);
	tcase_add_test(tc, test_the_brokers_reclaims_and_growth_change_the_allocation);
	tcase_add_test(tc, test_messages_to_other_vms_go_through_the_broker_by_name);
	tcase_add_test(tc, test_a_guest_without_a_driver_refuses_other_vms_messages);
	suite_add_tcase(s, tc);
	return s;
}
