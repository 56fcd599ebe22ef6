// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_resource runner): the host policy, a pure function of
 * what exists (max), what the host gives this VM at most (pool), what is
 * granted and what is promised (pending). policy__round_up, policy__available
 * and policy__decide, with their edges: exact fits, saturation, zero.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <linux/virtio_resource.h>

#include "accord/policy.h"

#include "resource_test.h"

#define G (2ull << 20) /* the memory granule */

static struct policy_state st(uint64_t max, uint64_t pool, uint64_t granted, uint64_t pending)
{
	return (struct policy_state){ max, pool, granted, pending, G };
}

static struct policy_decision decide(const struct policy_state *s, uint64_t amount,
				     uint64_t minimum)
{
	struct policy_request req = { amount, minimum };
	struct policy_decision d;

	memset(&d, 0xa5, sizeof(d));
	policy__decide(s, &req, &d);
	ck_assert_msg(d.why[0] != '\0', "every decision has a reason");
	ck_assert_msg(memchr(d.why, '\0', sizeof(d.why)) != NULL, "the reason is terminated");
	return d;
}

static void expect_grant(const struct policy_decision *d, uint64_t amount)
{
	ck_assert_int_eq(d->verdict, POLICY_GRANT);
	ck_assert_uint_eq(d->amount, amount);
	ck_assert_uint_eq(d->later, 0);
	ck_assert_uint_eq(d->deny_reason, 0);
	ck_assert_uint_eq(d->retry_after_ms, 0);
}

static void expect_deny(const struct policy_decision *d, uint16_t reason, uint32_t retry)
{
	ck_assert_int_eq(d->verdict, POLICY_DENY);
	ck_assert_uint_eq(d->deny_reason, reason);
	ck_assert_uint_eq(d->retry_after_ms, retry);
	ck_assert_uint_eq(d->amount, 0);
	ck_assert_uint_eq(d->later, 0);
}

static void expect_offer(const struct policy_decision *d, uint64_t now, uint64_t later)
{
	ck_assert_int_eq(d->verdict, POLICY_OFFER);
	ck_assert_uint_eq(d->amount, now);
	ck_assert_uint_eq(d->later, later);
	ck_assert_uint_eq(d->deny_reason, 0);
}

/* ---- policy__round_up ---- */

START_TEST(test_round_up_to_whole_granules)
{
	ck_assert_uint_eq(policy__round_up(0, G), 0);
	ck_assert_uint_eq(policy__round_up(1, G), G);
	ck_assert_uint_eq(policy__round_up(G - 1, G), G);
	ck_assert_uint_eq(policy__round_up(G, G), G);
	ck_assert_uint_eq(policy__round_up(G + 1, G), 2 * G);
	ck_assert_uint_eq(policy__round_up(7 * G, G), 7 * G);
	/* Units need not be powers of two. */
	ck_assert_uint_eq(policy__round_up(7, 3), 9);
	ck_assert_uint_eq(policy__round_up(9, 3), 9);
	ck_assert_uint_eq(policy__round_up(1, 1000), 1000);
}
END_TEST

START_TEST(test_round_up_unit_zero_or_one_is_the_identity)
{
	static const uint64_t v[] = { 0, 1, 3, G + 1, UINT64_MAX };

	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_uint_eq(policy__round_up(v[i], 0), v[i]);
		ck_assert_uint_eq(policy__round_up(v[i], 1), v[i]);
	}
}
END_TEST

START_TEST(test_round_up_saturates_at_the_largest_multiple)
{
	uint64_t top = UINT64_MAX - UINT64_MAX % G; /* the largest multiple of G */

	ck_assert_uint_eq(top % G, 0);
	ck_assert_uint_eq(policy__round_up(top, G), top);
	ck_assert_uint_eq(policy__round_up(top - 1, G), top);
	ck_assert_uint_eq(policy__round_up(top + 1, G), top); /* would wrap to 0 */
	ck_assert_uint_eq(policy__round_up(UINT64_MAX, G), top);
	/* A unit that divides 2^64 - 1 leaves UINT64_MAX as its own multiple. */
	ck_assert_uint_eq(policy__round_up(UINT64_MAX, 3), UINT64_MAX);
	ck_assert_uint_eq(policy__round_up(UINT64_MAX - 1, 3), UINT64_MAX);
	/* An odd unit near the top: never past UINT64_MAX, never wrapping. */
	ck_assert_uint_eq(policy__round_up(UINT64_MAX - 2, 10), UINT64_MAX - UINT64_MAX % 10);
	ck_assert_uint_eq(policy__round_up(UINT64_MAX, UINT64_MAX), UINT64_MAX);
	ck_assert_uint_eq(policy__round_up(1, UINT64_MAX), UINT64_MAX);
}
END_TEST

/* ---- policy__available ---- */

START_TEST(test_available_is_the_smaller_headroom)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 0);

	ck_assert_uint_eq(policy__available(&s), 16 * G); /* the pool limits */
	s.pool = 100 * G;
	ck_assert_uint_eq(policy__available(&s), 32 * G); /* the max limits */
	s.pool = 32 * G;
	ck_assert_uint_eq(policy__available(&s), 0); /* exactly at the pool */
	s.pool = 0;
	ck_assert_uint_eq(policy__available(&s), 0);
}
END_TEST

START_TEST(test_available_counts_pending)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 10 * G);

	ck_assert_uint_eq(policy__available(&s), 6 * G);
	s.pending = 16 * G;
	ck_assert_uint_eq(policy__available(&s), 0);
	s.pending = 20 * G; /* promised beyond the pool: nothing, not a wrap */
	ck_assert_uint_eq(policy__available(&s), 0);
}
END_TEST

START_TEST(test_available_is_zero_when_granted_above_the_limits)
{
	/* The operator may set an allocation above the pool (set-allocation). */
	struct policy_state s = st(64 * G, 48 * G, 50 * G, 0);

	ck_assert_uint_eq(policy__available(&s), 0);
	s = st(64 * G, 100 * G, 70 * G, 0);
	ck_assert_uint_eq(policy__available(&s), 0);
	s = st(0, 0, 0, 0);
	ck_assert_uint_eq(policy__available(&s), 0);
}
END_TEST

/* ---- policy__decide ---- */

START_TEST(test_decide_grants_within_the_pool)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 0);
	struct policy_decision d;

	d = decide(&s, 4 * G, G);
	expect_grant(&d, 4 * G);
	d = decide(&s, 16 * G, 16 * G); /* exactly what is available */
	expect_grant(&d, 16 * G);
	d = decide(&s, 1, 0); /* the policy does not round: the device does */
	expect_grant(&d, 1);
}
END_TEST

START_TEST(test_decide_denies_above_max)
{
	struct policy_state s = st(64 * G, 100 * G, 32 * G, 0);
	struct policy_decision d;

	d = decide(&s, 33 * G, 33 * G); /* one granule more than exists */
	expect_deny(&d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
	d = decide(&s, UINT64_MAX, UINT64_MAX);
	expect_deny(&d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
	/* Pending counts towards the max too. */
	s.pending = 30 * G;
	d = decide(&s, 3 * G, 3 * G);
	expect_deny(&d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
	/* ABOVE_MAX wins over HOST_LIMIT when both hold. */
	s = st(64 * G, 32 * G, 32 * G, 0);
	d = decide(&s, 40 * G, 40 * G);
	expect_deny(&d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
}
END_TEST

START_TEST(test_decide_denies_at_the_host_limit_with_a_retry)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 0);
	struct policy_decision d;

	d = decide(&s, 20 * G, 17 * G); /* below max, above what the pool has left */
	expect_deny(&d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
	/* Nothing left at all: denied even when any amount would help. */
	s.granted = 48 * G;
	d = decide(&s, G, 0);
	expect_deny(&d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
	d = decide(&s, G, G);
	expect_deny(&d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
}
END_TEST

START_TEST(test_decide_offers_part_now_and_the_rest_later)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 0);
	struct policy_decision d;

	d = decide(&s, 24 * G, 2 * G);
	expect_offer(&d, 16 * G, 8 * G);
	/* The minimum may equal what is available. */
	d = decide(&s, 24 * G, 16 * G);
	expect_offer(&d, 16 * G, 8 * G);
	/* One more than available: the whole rest comes later. */
	d = decide(&s, 17 * G, G);
	expect_offer(&d, 16 * G, G);
}
END_TEST

START_TEST(test_decide_offer_never_promises_past_max)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 0);
	struct policy_decision d;

	/* Asked for more than exists, with a minimum that fits: capped at max. */
	d = decide(&s, 100 * G, 2 * G);
	expect_offer(&d, 16 * G, 16 * G);
	ck_assert_uint_le(s.granted + d.amount + d.later, s.max);
	d = decide(&s, UINT64_MAX, G);
	expect_offer(&d, 16 * G, 16 * G);
	ck_assert_uint_le(s.granted + d.amount + d.later, s.max);
}
END_TEST

START_TEST(test_decide_counts_pending_against_the_pool)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 12 * G);
	struct policy_decision d;

	d = decide(&s, 4 * G, G);
	expect_grant(&d, 4 * G);
	d = decide(&s, 5 * G, G);
	expect_offer(&d, 4 * G, G);
	ck_assert_uint_le(s.granted + s.pending + d.amount + d.later, s.max);
	d = decide(&s, 5 * G, 5 * G);
	expect_deny(&d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
	/* Everything promised: the next request waits. */
	s.pending = 16 * G;
	d = decide(&s, G, G);
	expect_deny(&d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
	/* The rest later is capped by max minus granted and pending. */
	s = st(64 * G, 48 * G, 32 * G, 10 * G);
	d = decide(&s, 40 * G, G);
	expect_offer(&d, 6 * G, 16 * G);
	ck_assert_uint_eq(s.granted + s.pending + d.amount + d.later, s.max);
}
END_TEST

START_TEST(test_decide_zero_and_unit_edges)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 0);
	struct policy_decision d;

	/* The device never asks for 0 (its decoder refuses it); the policy grants nothing. */
	d = decide(&s, 0, 0);
	expect_grant(&d, 0);
	/* vCPUs: unit 1, small numbers. */
	s = (struct policy_state){ 4, 3, 2, 0, 1 };
	d = decide(&s, 1, 1);
	expect_grant(&d, 1);
	d = decide(&s, 2, 1);
	expect_offer(&d, 1, 1);
	d = decide(&s, 2, 2);
	expect_deny(&d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
	d = decide(&s, 3, 3);
	expect_deny(&d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
	/* A VM at its max: nothing left, above max. */
	s = (struct policy_state){ 4, 4, 4, 0, 1 };
	d = decide(&s, 1, 1);
	expect_deny(&d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
	/* A zero-sized VM (no memory at all) refuses everything but 0. */
	s = st(0, 0, 0, 0);
	d = decide(&s, G, G);
	expect_deny(&d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
	d = decide(&s, G, 0);
	expect_deny(&d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
}
END_TEST

START_TEST(test_decide_is_pure)
{
	struct policy_state s = st(64 * G, 48 * G, 32 * G, 4 * G), copy = s;
	struct policy_decision a, b;

	a = decide(&s, 24 * G, 2 * G);
	b = decide(&s, 24 * G, 2 * G);
	ck_assert_mem_eq(&s, &copy, sizeof(s));
	ck_assert_int_eq(a.verdict, b.verdict);
	ck_assert_uint_eq(a.amount, b.amount);
	ck_assert_uint_eq(a.later, b.later);
	ck_assert_str_eq(a.why, b.why);
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, test_round_up_to_whole_granules);
	tcase_add_test(tc, test_round_up_unit_zero_or_one_is_the_identity);
	tcase_add_test(tc, test_round_up_saturates_at_the_largest_multiple);
	tcase_add_test(tc, test_available_is_the_smaller_headroom);
	tcase_add_test(tc, test_available_counts_pending);
	tcase_add_test(tc, test_available_is_zero_when_granted_above_the_limits);
	tcase_add_test(tc, test_decide_grants_within_the_pool);
	tcase_add_test(tc, test_decide_denies_above_max);
	tcase_add_test(tc, test_decide_denies_at_the_host_limit_with_a_retry);
	tcase_add_test(tc, test_decide_offers_part_now_and_the_rest_later);
	tcase_add_test(tc, test_decide_offer_never_promises_past_max);
	tcase_add_test(tc, test_decide_counts_pending_against_the_pool);
	tcase_add_test(tc, test_decide_zero_and_unit_edges);
	tcase_add_test(tc, test_decide_is_pure);
	suite_add_tcase(s, tc);
	return s;
}
