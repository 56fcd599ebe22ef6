// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core agreements. The full state x
 * event grid is checked against a table written out here independently of
 * rc_agreement.c, then the request table: adding, duplicates, a full table,
 * eviction of terminal entries oldest-first, events with their data,
 * renegotiation, deadlines and leases.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "rc_agreement.h"
#include "rc_codec.h"

Suite *core_agreement_suite(void);

#define OK(x) ck_assert_int_eq((x), 0)

/* Short names for the expected table. */
#define NO -1
#define RQ RC_S_REQUESTED
#define OF RC_S_OFFERED
#define GR RC_S_GRANTED
#define DN RC_S_DENIED
#define DC RC_S_DECLINED
#define EX RC_S_EXPIRED
#define RL RC_S_RELEASED
#define RC RC_S_RECLAIMED
#define RN RC_S_RENEGOTIATING

/*
 * Rows: states in enum order. Columns: REQUEST GRANT DENY OFFER ACCEPT
 * DECLINE EXPIRE RELEASE RELEASE_PART RECLAIM RECLAIM_PART RENEGOTIATE.
 */
static const int expected[RC_NR_STATES][RC_NR_EVENTS] = {
	/* NONE */ { RQ, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO },
	/* REQUESTED */ { NO, GR, DN, OF, NO, NO, EX, NO, NO, NO, NO, NO },
	/* OFFERED */ { NO, NO, NO, NO, GR, DC, EX, NO, NO, NO, NO, NO },
	/* GRANTED */ { NO, GR, NO, NO, NO, NO, EX, RL, GR, RC, GR, RN },
	/* DENIED */ { NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO },
	/* DECLINED */ { NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO },
	/* EXPIRED */ { NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO },
	/* RELEASED */ { NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO },
	/* RECLAIMED */ { NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO },
	/* RENEGOTIATING */ { NO, GR, GR, OF, NO, NO, GR, RL, NO, RC, RN, NO },
};

START_TEST(test_agreement_full_transition_grid)
{
	int legal = 0;

	for (int s = 0; s < RC_NR_STATES; s++) {
		for (int e = 0; e < RC_NR_EVENTS; e++) {
			enum rc_state to = (enum rc_state)77;
			int err = rc_transition((enum rc_state)s, (enum rc_event)e, &to);

			if (expected[s][e] == NO) {
				ck_assert_msg(err == RC_EORDER, "%s + %s allowed",
					      rc_state_name((enum rc_state)s),
					      rc_event_name((enum rc_event)e));
				ck_assert_int_eq(to, 77); /* untouched */
			} else {
				ck_assert_msg(err == 0 && (int)to == expected[s][e],
					      "%s + %s -> %s", rc_state_name((enum rc_state)s),
					      rc_event_name((enum rc_event)e), rc_state_name(to));
				legal++;
			}
		}
		/* Terminal states are exactly those with no way out. */
		bool none = true;
		for (int e = 0; e < RC_NR_EVENTS; e++)
			none &= expected[s][e] == NO;
		ck_assert_int_eq(rc_state_terminal((enum rc_state)s), none && s != RC_S_NONE);
	}
	ck_assert_int_eq(legal, 1 + 4 + 3 + 7 + 7);
	/* Out-of-range values. */
	enum rc_state to;
	ck_assert_int_eq(rc_transition(RC_NR_STATES, RC_EV_REQUEST, &to), RC_EORDER);
	ck_assert_int_eq(rc_transition(RC_S_NONE, RC_NR_EVENTS, &to), RC_EORDER);
	ck_assert_int_eq(rc_transition((enum rc_state) - 1, RC_EV_GRANT, &to), RC_EORDER);
	ck_assert_int_eq(rc_transition(RC_S_REQUESTED, (enum rc_event) - 1, &to), RC_EORDER);
}
END_TEST

START_TEST(test_agreement_names_and_message_types)
{
	enum rc_event ev;

	for (int s = 0; s < RC_NR_STATES; s++)
		for (int t = 0; t < s; t++)
			ck_assert_str_ne(rc_state_name((enum rc_state)s),
					 rc_state_name((enum rc_state)t));
	for (int e = 0; e < RC_NR_EVENTS; e++)
		for (int f = 0; f < e; f++)
			ck_assert_str_ne(rc_event_name((enum rc_event)e),
					 rc_event_name((enum rc_event)f));
	ck_assert_str_eq(rc_state_name(RC_NR_STATES), "?");
	ck_assert_str_eq(rc_event_name(RC_NR_EVENTS), "?");

	OK(rc_event_of_type(VIRTIO_RESOURCE_T_REQUEST, &ev));
	ck_assert_int_eq(ev, RC_EV_REQUEST);
	OK(rc_event_of_type(VIRTIO_RESOURCE_EV_GRANT, &ev));
	ck_assert_int_eq(ev, RC_EV_GRANT);
	OK(rc_event_of_type(VIRTIO_RESOURCE_A_OFFER, &ev));
	ck_assert_int_eq(ev, RC_EV_OFFER);
	OK(rc_event_of_type(VIRTIO_RESOURCE_EV_RECLAIM, &ev));
	ck_assert_int_eq(ev, RC_EV_RECLAIM);
	OK(rc_event_of_type(VIRTIO_RESOURCE_EV_RENEGOTIATE, &ev));
	ck_assert_int_eq(ev, RC_EV_RENEGOTIATE);
	ck_assert_int_eq(rc_event_of_type(VIRTIO_RESOURCE_T_STATS, &ev), RC_ENOENT);
	ck_assert_int_eq(rc_event_of_type(VIRTIO_RESOURCE_A_ACK, &ev), RC_ENOENT);
}
END_TEST

/* ---- the table ---- */

#define CAP 4
static struct rc_entry storage[CAP];
static struct rc_table t;

static struct rc_entry req(uint64_t txn, uint64_t amount)
{
	struct rc_entry r;

	memset(&r, 0, sizeof(r));
	r.txn = txn;
	r.app_id = 3;
	r.pid = 4242;
	memcpy(r.comm, "postgres-worker-x", RC_COMM_LEN); /* 16 bytes, no NUL */
	r.kind = VIRTIO_RESOURCE_K_MEMORY;
	r.urgency = VIRTIO_RESOURCE_U_HIGH;
	r.latency = VIRTIO_RESOURCE_L_INTERACTIVE;
	r.deadline_ms = 2000;
	r.duration_ms = 60000;
	r.amount = amount;
	r.minimum = amount / 2;
	r.projected = amount * 3;
	return r;
}

static void setup(void)
{
	memset(storage, 0x5a, sizeof(storage));
	OK(rc_table_init(&t, storage, CAP));
}

static struct rc_entry *get(uint64_t txn)
{
	struct rc_entry *e = NULL;

	OK(rc_table_find(&t, txn, &e));
	return e;
}

static int apply(uint64_t txn, enum rc_event ev, uint64_t amount, uint32_t offer, uint64_t now)
{
	struct rc_update u = { .amount = amount, .offer_id = offer };

	return rc_table_apply(&t, txn, ev, &u, now);
}

START_TEST(test_table_add_find_and_duplicates)
{
	struct rc_entry r = req(10, 1000), *e;

	OK(rc_table_add(&t, &r, 5, &e));
	ck_assert_uint_eq(t.used, 1);
	ck_assert_int_eq(e->state, RC_S_REQUESTED);
	ck_assert_str_eq(e->comm, "postgres-worker"); /* cut to 15 bytes and a NUL */
	ck_assert_uint_eq(e->pid, 4242);
	ck_assert_uint_eq(e->minimum, 500);
	ck_assert_uint_eq(e->projected, 3000);
	ck_assert_uint_eq(e->urgency, VIRTIO_RESOURCE_U_HIGH);
	ck_assert_uint_eq(e->created_ns, 5);
	ck_assert_uint_eq(e->expires_ns, 5 + 2000000000ull);
	ck_assert_ptr_eq(get(10), e);
	ck_assert_int_eq(rc_table_find(&t, 11, &e), RC_ENOENT);
	ck_assert_int_eq(rc_table_find(&t, 0, &e), RC_ENOENT);

	ck_assert_int_eq(rc_table_add(&t, &r, 6, NULL), RC_EORDER);
	r = req(0, 1000);
	ck_assert_int_eq(rc_table_add(&t, &r, 6, NULL), RC_EINVAL);
	r = req(11, 0);
	ck_assert_int_eq(rc_table_add(&t, &r, 6, NULL), RC_ERANGE);
	r = req(11, 10);
	r.minimum = 11;
	ck_assert_int_eq(rc_table_add(&t, &r, 6, NULL), RC_ERANGE);
	/* A terminal entry still holds its txn. */
	OK(apply(10, RC_EV_DENY, 0, 0, 7));
	r = req(10, 5);
	ck_assert_int_eq(rc_table_add(&t, &r, 8, NULL), RC_EORDER);
	ck_assert_uint_eq(t.used, 1);
}
END_TEST

START_TEST(test_table_full_and_eviction_oldest_first)
{
	struct rc_entry r;
	uint32_t idx;
	struct rc_entry *e;
	int n = 0;

	for (uint64_t txn = 1; txn <= CAP; txn++) {
		r = req(txn, 100);
		OK(rc_table_add(&t, &r, txn, NULL));
	}
	r = req(99, 100);
	ck_assert_int_eq(rc_table_add(&t, &r, 10, NULL), RC_EBUSY);
	ck_assert_int_eq(rc_table_evict(&t), RC_ENOENT);
	/* Live but GRANTED entries are not evictable either. */
	OK(apply(1, RC_EV_GRANT, 100, 0, 11));
	ck_assert_int_eq(rc_table_add(&t, &r, 12, NULL), RC_EBUSY);

	/* Finish 3 first, then 2: 3 is the oldest terminal entry. */
	OK(apply(3, RC_EV_DENY, 0, 0, 13));
	OK(apply(2, RC_EV_EXPIRE, 0, 0, 14));
	OK(rc_table_add(&t, &r, 15, NULL));
	ck_assert_int_eq(rc_table_find(&t, 3, &e), RC_ENOENT);
	ck_assert_int_eq(get(2)->state, RC_S_EXPIRED);
	r = req(100, 100);
	OK(rc_table_add(&t, &r, 16, NULL));
	ck_assert_int_eq(rc_table_find(&t, 2, &e), RC_ENOENT);
	ck_assert_uint_eq(t.used, CAP);
	ck_assert_int_eq(rc_table_add(&t, &(struct rc_entry){ .txn = 101, .amount = 1 }, 17, NULL),
			 RC_EBUSY);

	rc_table_for_each(&t, idx, e) n++;
	ck_assert_int_eq(n, CAP);
	OK(rc_table_remove(&t, 100));
	ck_assert_int_eq(rc_table_remove(&t, 100), RC_ENOENT);
	n = 0;
	rc_table_for_each(&t, idx, e)
	{
		ck_assert_uint_ne(e->txn, 100);
		n++;
	}
	ck_assert_int_eq(n, CAP - 1);

	/* A table without room at all. */
	struct rc_table empty;
	OK(rc_table_init(&empty, NULL, 0));
	ck_assert_int_eq(rc_table_add(&empty, &r, 1, NULL), RC_EBUSY);
	ck_assert_int_eq(rc_table_init(&empty, NULL, 3), RC_EINVAL);
}
END_TEST

START_TEST(test_table_events_carry_their_data)
{
	struct rc_entry r = req(7, 1000), *e;
	struct rc_update u = { .amount = 800, .timeout_ms = 1000 };

	OK(rc_table_add(&t, &r, 0, &e));
	/* Bad data changes nothing. */
	ck_assert_int_eq(apply(7, RC_EV_GRANT, 0, 0, 1), RC_ERANGE);
	ck_assert_int_eq(rc_table_apply(&t, 7, RC_EV_GRANT, NULL, 1), RC_ERANGE);
	ck_assert_int_eq(e->state, RC_S_REQUESTED);
	ck_assert_int_eq(apply(7, RC_EV_ACCEPT, 1, 0, 1), RC_EORDER);
	ck_assert_int_eq(apply(8, RC_EV_GRANT, 1, 0, 1), RC_ENOENT);
	u.answer = (struct rc_answer){ VIRTIO_RESOURCE_A_GRANT, 0, VIRTIO_RESOURCE_S_OK, 0 };
	OK(rc_table_apply(&t, 7, RC_EV_GRANT, &u, 10));
	ck_assert_int_eq(e->state, RC_S_GRANTED);
	ck_assert_uint_eq(e->granted, 800);
	ck_assert_uint_eq(e->lease_end_ns, 10 + 1000000000ull);
	ck_assert_uint_eq(e->last.type, VIRTIO_RESOURCE_A_GRANT);
	ck_assert_uint_eq(e->updated_ns, 10);

	/* Partial reclaim and release lower the amount and stay GRANTED. */
	ck_assert_int_eq(apply(7, RC_EV_RECLAIM_PART, 800, 0, 11), RC_ERANGE);
	ck_assert_int_eq(apply(7, RC_EV_RECLAIM_PART, 0, 0, 11), RC_ERANGE);
	OK(apply(7, RC_EV_RECLAIM_PART, 600, 0, 11));
	ck_assert_uint_eq(e->granted, 600);
	OK(apply(7, RC_EV_RELEASE_PART, 100, 0, 12));
	ck_assert_uint_eq(e->granted, 100);
	ck_assert_int_eq(e->state, RC_S_GRANTED);
	/* More later (REST_LATER), then the whole agreement goes back. */
	OK(apply(7, RC_EV_GRANT, 900, 0, 13));
	ck_assert_uint_eq(e->granted, 900);
	ck_assert_uint_eq(e->lease_end_ns, 0);
	OK(apply(7, RC_EV_RECLAIM, 0, 0, 14));
	ck_assert_int_eq(e->state, RC_S_RECLAIMED);
	ck_assert_uint_eq(e->granted, 0);
	ck_assert_int_eq(apply(7, RC_EV_GRANT, 1, 0, 15), RC_EORDER);
}
END_TEST

START_TEST(test_table_offers)
{
	struct rc_entry r = req(1, 1000), *e;

	OK(rc_table_add(&t, &r, 0, &e));
	OK(apply(1, RC_EV_OFFER, 0, 55, 1));
	ck_assert_int_eq(e->state, RC_S_OFFERED);
	ck_assert_uint_eq(e->offer_id, 55);
	ck_assert_int_eq(apply(1, RC_EV_ACCEPT, 400, 54, 2), RC_ENOENT);
	ck_assert_int_eq(apply(1, RC_EV_DECLINE, 0, 56, 2), RC_ENOENT);
	ck_assert_int_eq(e->state, RC_S_OFFERED);
	OK(apply(1, RC_EV_ACCEPT, 400, 55, 2));
	ck_assert_int_eq(e->state, RC_S_GRANTED);
	ck_assert_uint_eq(e->granted, 400);

	r = req(2, 1000);
	OK(rc_table_add(&t, &r, 0, &e));
	OK(apply(2, RC_EV_OFFER, 0, 56, 1));
	OK(apply(2, RC_EV_DECLINE, 0, 56, 2));
	ck_assert_int_eq(e->state, RC_S_DECLINED);
}
END_TEST

START_TEST(test_table_renegotiation)
{
	struct rc_entry r = req(1, 1000), *e;

	OK(rc_table_add(&t, &r, 0, &e));
	OK(apply(1, RC_EV_GRANT, 1000, 0, 1));
	/* Denied: the old amount stays. */
	OK(apply(1, RC_EV_RENEGOTIATE, 2000, 0, 2));
	ck_assert_int_eq(e->state, RC_S_RENEGOTIATING);
	ck_assert_uint_eq(e->proposed, 2000);
	OK(apply(1, RC_EV_DENY, 0, 0, 3));
	ck_assert_int_eq(e->state, RC_S_GRANTED);
	ck_assert_uint_eq(e->granted, 1000);
	ck_assert_uint_eq(e->proposed, 0);
	/* Granted: the new amount. */
	OK(apply(1, RC_EV_RENEGOTIATE, 1500, 0, 4));
	OK(apply(1, RC_EV_GRANT, 1500, 0, 5));
	ck_assert_int_eq(e->state, RC_S_GRANTED);
	ck_assert_uint_eq(e->granted, 1500);
	/* An offer made during renegotiation, declined: the agreement stays as it was. */
	OK(apply(1, RC_EV_RENEGOTIATE, 4000, 0, 6));
	OK(apply(1, RC_EV_OFFER, 0, 9, 7));
	ck_assert_int_eq(e->state, RC_S_OFFERED);
	OK(apply(1, RC_EV_DECLINE, 0, 9, 8));
	ck_assert_int_eq(e->state, RC_S_GRANTED);
	ck_assert_uint_eq(e->granted, 1500);
	/* ... or accepted. */
	OK(apply(1, RC_EV_RENEGOTIATE, 4000, 0, 9));
	OK(apply(1, RC_EV_OFFER, 0, 10, 10));
	OK(apply(1, RC_EV_ACCEPT, 3000, 10, 11));
	ck_assert_int_eq(e->state, RC_S_GRANTED);
	ck_assert_uint_eq(e->granted, 3000);
	/* A partial reclaim while renegotiating. */
	OK(apply(1, RC_EV_RENEGOTIATE, 4000, 0, 12));
	OK(apply(1, RC_EV_RECLAIM_PART, 2000, 0, 13));
	ck_assert_int_eq(e->state, RC_S_RENEGOTIATING);
	ck_assert_uint_eq(e->granted, 2000);
	ck_assert_int_eq(apply(1, RC_EV_RENEGOTIATE, 1, 0, 14), RC_EORDER);
	OK(apply(1, RC_EV_RELEASE, 0, 0, 15));
	ck_assert_int_eq(e->state, RC_S_RELEASED);
	ck_assert(!e->reopened);

	/* A fresh request's offer, declined, is final. */
	r = req(2, 10);
	OK(rc_table_add(&t, &r, 20, &e));
	OK(apply(2, RC_EV_OFFER, 0, 1, 21));
	OK(apply(2, RC_EV_EXPIRE, 0, 0, 22));
	ck_assert_int_eq(e->state, RC_S_EXPIRED);
}
END_TEST

START_TEST(test_table_deadlines_and_leases)
{
	const uint64_t ms = 1000000;
	struct rc_entry r;
	struct rc_update u = { 0 };

	r = req(1, 10); /* deadline 2000 ms */
	OK(rc_table_add(&t, &r, 0, NULL));
	r = req(2, 10);
	r.deadline_ms = 0; /* none */
	OK(rc_table_add(&t, &r, 0, NULL));
	r = req(3, 10);
	OK(rc_table_add(&t, &r, 0, NULL));
	u.amount = 10;
	u.timeout_ms = 500; /* a lease */
	OK(rc_table_apply(&t, 3, RC_EV_GRANT, &u, 100 * ms));
	r = req(4, 10);
	OK(rc_table_add(&t, &r, 0, NULL));
	u.timeout_ms = 100; /* the offer's expiry */
	u.offer_id = 8;
	OK(rc_table_apply(&t, 4, RC_EV_OFFER, &u, 100 * ms));

	ck_assert_int_eq(rc_table_expire(&t, 199 * ms), 0);
	ck_assert_int_eq(rc_table_expire(&t, 200 * ms), 1); /* the offer */
	ck_assert_int_eq(get(4)->state, RC_S_EXPIRED);
	ck_assert_int_eq(rc_table_expire(&t, 600 * ms), 1); /* the lease */
	ck_assert_int_eq(get(3)->state, RC_S_EXPIRED);
	ck_assert_int_eq(rc_table_expire(&t, 2000 * ms), 1); /* the request's deadline */
	ck_assert_int_eq(get(1)->state, RC_S_EXPIRED);
	ck_assert_int_eq(rc_table_expire(&t, UINT64_MAX), 0);
	ck_assert_int_eq(get(2)->state, RC_S_REQUESTED);

	/* A renegotiation that times out keeps the agreement. */
	OK(rc_table_remove(&t, 1));
	r = req(5, 10);
	OK(rc_table_add(&t, &r, 0, NULL));
	u = (struct rc_update){ .amount = 10 };
	OK(rc_table_apply(&t, 5, RC_EV_GRANT, &u, 0));
	u = (struct rc_update){ .amount = 20, .timeout_ms = 50 };
	OK(rc_table_apply(&t, 5, RC_EV_RENEGOTIATE, &u, 1000 * ms));
	ck_assert_int_eq(rc_table_expire(&t, 1050 * ms), 1);
	ck_assert_int_eq(get(5)->state, RC_S_GRANTED);
	ck_assert_uint_eq(get(5)->granted, 10);
	/* A deadline far in the future saturates instead of wrapping. */
	u = (struct rc_update){ .amount = 10, .timeout_ms = 0xffffffffu };
	OK(rc_table_apply(&t, 5, RC_EV_GRANT, &u, UINT64_MAX - 5));
	ck_assert_uint_eq(get(5)->lease_end_ns, UINT64_MAX);
}
END_TEST

Suite *core_agreement_suite(void)
{
	Suite *s = suite_create("core agreements");
	TCase *tc = tcase_create("state machine");
	TCase *tt = tcase_create("request table");

	tcase_add_test(tc, test_agreement_full_transition_grid);
	tcase_add_test(tc, test_agreement_names_and_message_types);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tt, setup, NULL);
	tcase_add_test(tt, test_table_add_find_and_duplicates);
	tcase_add_test(tt, test_table_full_and_eviction_oldest_first);
	tcase_add_test(tt, test_table_events_carry_their_data);
	tcase_add_test(tt, test_table_offers);
	tcase_add_test(tt, test_table_renegotiation);
	tcase_add_test(tt, test_table_deadlines_and_leases);
	suite_add_tcase(s, tt);
	return s;
}
