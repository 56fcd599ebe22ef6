// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_broker runner): the broker's ledger and arbitration, one
 * rule at a time: grants within the pool, registration, offers and their
 * holds, reclaim from slack, floors, fair shares, the rate limit, promises,
 * departures, operator changes, and that the invariant check catches a
 * broken ledger.
 */
#include <check.h>
#include <linux/virtio_resource.h>

#include "ledger_test.h"

static struct ledger l;

static struct policy_decision ask(struct ledger_vm *vm, uint64_t txn, uint64_t amount,
				  uint64_t minimum, uint64_t now, struct ledger_actions *acts)
{
	struct ledger_request req = { LEDGER_MEM, txn, amount, minimum, VIRTIO_RESOURCE_U_NORMAL };
	struct policy_decision d;

	memset(acts, 0, sizeof(*acts));
	ledger__decide(&l, vm, &req, now, &d, acts);
	ck_assert_msg(d.why[0], "every decision has a reason");
	lt_check(&l);
	return d;
}

static const struct ledger_action *find_act(const struct ledger_actions *a,
					    enum ledger_action_type type, uint32_t vm_id)
{
	for (unsigned int i = 0; i < a->nr; i++) {
		if (a->a[i].type == type && a->a[i].vm_id == vm_id)
			return &a->a[i];
	}
	return NULL;
}

START_TEST(test_grant_within_the_pool_and_deny_beyond)
{
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *a;

	ck_assert_int_eq(ledger__init(&l, &(struct ledger_config){ 0 }, NULL), -EINVAL);
	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "a", 512 * MiB, 64 * MiB, 0);
	d = ask(a, 1, 100 * MiB, 100 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_GRANT);
	ck_assert_uint_eq(d.amount, 100 * MiB);
	ck_assert_uint_eq(a->k[LEDGER_MEM].alloc, 164 * MiB);
	/* 92 MiB free: a minimum above it is denied, nothing else changes. */
	d = ask(a, 2, 200 * MiB, 100 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(d.deny_reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	ck_assert_uint_eq(acts.nr, 0);
	ck_assert_uint_eq(ledger__charged(&l, LEDGER_MEM), 164 * MiB);
	/* Above what the VM has at all. */
	d = ask(a, 3, 400 * MiB, 400 * MiB, 0, &acts);
	ck_assert_uint_eq(d.deny_reason, VIRTIO_RESOURCE_D_ABOVE_MAX);
}
END_TEST

START_TEST(test_registration_needs_room_unless_resuming)
{
	struct ledger_registration reg = { 0 };
	struct ledger_vm *vm, *b;
	struct acc_err err;

	lt_init(&l, 128 * MiB, 4, 0);
	lt_add(&l, "a", 256 * MiB, 100 * MiB, 0);
	reg.name = "b";
	reg.max[LEDGER_MEM] = 256 * MiB;
	reg.alloc[LEDGER_MEM] = 64 * MiB;
	reg.max[LEDGER_VCPU] = 2;
	reg.alloc[LEDGER_VCPU] = 1;
	ck_assert_int_eq(ledger__register(&l, &reg, 0, &vm, &err), -ENOSPC);
	ck_assert_msg(strstr(err.msg, "memory pool has 28 MiB") || strstr(err.msg, "29360128"),
		      "%s", err.msg);
	reg.name = "a";
	reg.alloc[LEDGER_MEM] = 2 * MiB;
	ck_assert_int_eq(ledger__register(&l, &reg, 0, &vm, &err), -EEXIST);
	reg.name = "bad name";
	ck_assert_int_eq(ledger__register(&l, &reg, 0, &vm, &err), -EINVAL);
	/* Amounts large enough to wrap the sums are refused, even for a resuming VM. */
	reg.name = "huge";
	reg.resume = true;
	reg.max[LEDGER_MEM] = 1ull << 62;
	reg.alloc[LEDGER_MEM] = 1ull << 61;
	ck_assert_int_eq(ledger__register(&l, &reg, 0, &vm, &err), -ERANGE);
	reg.resume = false;
	reg.max[LEDGER_MEM] = 256 * MiB;
	/* A VM that already held 64 MiB before a broker restart keeps it. */
	reg.name = "b";
	reg.alloc[LEDGER_MEM] = 64 * MiB;
	reg.resume = true;
	reg.want_id = 9;
	ck_assert_int_eq(ledger__register(&l, &reg, 0, &b, &err), 0);
	ck_assert_uint_eq(b->id, 9);
	ck_assert_uint_eq(ledger__overcommit(&l, LEDGER_MEM), 36 * MiB);
	lt_check(&l);
	/* Nothing is granted while the pool is over, and the excess shrinks as it comes back. */
	ck_assert_int_eq(ledger__release(&l, b, LEDGER_MEM, 20 * MiB, &err), 0);
	ck_assert_uint_eq(ledger__overcommit(&l, LEDGER_MEM), 16 * MiB);
	ck_assert_int_eq(ledger__release(&l, b, LEDGER_MEM, 40 * MiB, &err), 0);
	ck_assert_uint_eq(ledger__overcommit(&l, LEDGER_MEM), 0);
	lt_check(&l);
}
END_TEST

/* A resume is believed only in the recovery window; what it brings past the pool is reclaimed. */
START_TEST(test_resume_believed_only_in_the_recovery_window)
{
	const uint64_t until = 30000 * MS;
	struct ledger_registration reg = { 0 };
	const struct ledger_action *act;
	struct ledger_actions acts = { 0 };
	struct ledger_vm *a, *b, *vm;
	struct acc_err err;

	lt_init(&l, 128 * MiB, 4, 0);
	l.cfg.resume_until_ns = until;
	a = lt_add(&l, "a", 256 * MiB, 100 * MiB, 0);
	reg.name = "b";
	reg.resume = true;
	reg.max[LEDGER_MEM] = 256 * MiB;
	reg.alloc[LEDGER_MEM] = 64 * MiB;
	reg.max[LEDGER_VCPU] = 4;
	reg.alloc[LEDGER_VCPU] = 1;
	/* In the window, b keeps its 64 MiB with 28 free: 36 over, said in the overcommit. */
	ck_assert(ledger__recovering(&l, until - 1));
	ck_assert_int_eq(ledger__register(&l, &reg, until - 1, &b, &err), 0);
	ck_assert_uint_eq(ledger__overcommit(&l, LEDGER_MEM), 36 * MiB);
	lt_check(&l);
	/* The next tick reclaims it from a, above its fair share of 64 MiB. */
	ledger__tick(&l, until - 1, &acts);
	act = find_act(&acts, LEDGER_ACT_RECLAIM, a->id);
	ck_assert_ptr_nonnull(act);
	ck_assert_uint_eq(act->amount, 36 * MiB);
	ck_assert_ptr_null(find_act(&acts, LEDGER_ACT_RECLAIM, b->id));
	ledger__returning(&l, a, LEDGER_MEM, 0);
	ck_assert_uint_eq(ledger__overcommit(&l, LEDGER_MEM), 0);
	lt_check(&l);
	/* From the end of the window a resume is a new VM: it must fit. */
	ledger__unregister(&l, b);
	ck_assert(!ledger__recovering(&l, until));
	reg.alloc[LEDGER_MEM] = 66 * MiB;
	ck_assert_int_eq(ledger__register(&l, &reg, until, &vm, &err), -ENOSPC);
	ck_assert_msg(strstr(err.msg, "has 67108864 free") && strstr(err.msg, "recovery window"),
		      "%s", err.msg);
	reg.alloc[LEDGER_MEM] = 64 * MiB;
	reg.has_policy = true;
	reg.policy = (struct ledger_policy){ 100, { 64 * MiB, 4 } };
	ck_assert_int_eq(ledger__register(&l, &reg, until, &vm, &err), -ENOSPC);
	ck_assert_msg(strstr(err.msg, "vcpus floors"), "%s", err.msg);
	reg.policy.floor[LEDGER_VCPU] = 1;
	ck_assert_int_eq(ledger__register(&l, &reg, until, &vm, &err), 0);
	ck_assert_uint_eq(ledger__overcommit(&l, LEDGER_MEM), 0);
	lt_check(&l);
}
END_TEST

START_TEST(test_offer_holds_room_until_accepted_declined_or_lapsed)
{
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *a, *b;
	struct acc_err err;

	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "a", 512 * MiB, 128 * MiB, 0);
	b = lt_add(&l, "b", 512 * MiB, 64 * MiB, 0);
	/* 64 MiB free, a asks 100 (at least 32): part now, nothing later (b has no forecast). */
	d = ask(a, 7, 100 * MiB, 32 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_OFFER);
	ck_assert_uint_eq(d.amount, 64 * MiB);
	ck_assert_uint_eq(d.later, 0);
	ck_assert_uint_eq(ledger__held(a, LEDGER_MEM), 64 * MiB);
	/* The hold is charged: b gets nothing meanwhile. */
	d = ask(b, 1, 2 * MiB, 2 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	/* Accepting turns the hold into the allocation, with no change of charge. */
	ck_assert_int_eq(ledger__accept(&l, a, LEDGER_MEM, 7, 32 * MiB, 0, 0, &err), -ERANGE);
	ck_assert_int_eq(ledger__accept(&l, a, LEDGER_MEM, 7, 64 * MiB, 0, 0, &err), 0);
	ck_assert_uint_eq(a->k[LEDGER_MEM].alloc, 192 * MiB);
	ck_assert_int_eq(ledger__accept(&l, a, LEDGER_MEM, 7, 64 * MiB, 0, 0, &err), -ENOENT);
	lt_check(&l);
	/* Declined and lapsed offers give their room back. */
	ck_assert_int_eq(ledger__release(&l, a, LEDGER_MEM, 64 * MiB, &err), 0);
	d = ask(b, 2, 100 * MiB, 10 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_OFFER);
	ck_assert_int_eq(ledger__decline(&l, b, LEDGER_MEM, 2), 0);
	ck_assert_uint_eq(ledger__held(b, LEDGER_MEM), 0);
	d = ask(b, 3, 100 * MiB, 10 * MiB, SEC, &acts);
	ck_assert_int_eq(d.verdict, POLICY_OFFER);
	ledger__tick(&l, SEC + LEDGER_HOLD_MS * MS - 1, &acts);
	ck_assert_uint_eq(ledger__held(b, LEDGER_MEM), 64 * MiB);
	ledger__tick(&l, SEC + LEDGER_HOLD_MS * MS, &acts);
	ck_assert_uint_eq(ledger__held(b, LEDGER_MEM), 0);
	lt_check(&l);
}
END_TEST

START_TEST(test_reclaim_from_an_idle_vm_before_denying)
{
	struct ledger_actions acts;
	const struct ledger_action *r;
	struct policy_decision d;
	struct ledger_vm *a, *idle;
	struct acc_err err;

	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "busy", 512 * MiB, 64 * MiB, 0);
	idle = lt_add(&l, "idle", 512 * MiB, 192 * MiB, 0);
	/* The idle VM forecasts 40 MiB: it keeps 48 (40 + 20%), 144 are slack. */
	ledger__usage(&l, idle, LEDGER_MEM, 30 * MiB, 40 * MiB);
	ck_assert_uint_eq(ledger__slack(&l, idle, LEDGER_MEM), 144 * MiB);
	/* Nothing free: a's request is denied for now, but the room is being freed for it. */
	d = ask(a, 1, 128 * MiB, 64 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(d.deny_reason, VIRTIO_RESOURCE_D_HOST_LIMIT);
	ck_assert_uint_ge(d.retry_after_ms, LEDGER_MIN_RETRY_MS);
	r = find_act(&acts, LEDGER_ACT_RECLAIM, idle->id);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->amount, 128 * MiB);
	ck_assert_uint_eq(r->target, 64 * MiB);
	ck_assert_uint_eq(idle->k[LEDGER_MEM].returning, 128 * MiB);
	/* Still charged while the guest hands it back: the retry is denied without a new reclaim.
	 */
	d = ask(a, 2, 128 * MiB, 64 * MiB, SEC, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(acts.nr, 0);
	/* Handed back: a third VM cannot take the room earmarked for a... */
	ledger__returning(&l, idle, LEDGER_MEM, 0);
	d = ask(idle, 9, 2 * MiB, 2 * MiB, SEC, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	/* ...and a's retry is granted. */
	d = ask(a, 3, 128 * MiB, 64 * MiB, 2 * SEC, &acts);
	ck_assert_int_eq(d.verdict, POLICY_GRANT);
	ck_assert_uint_eq(a->k[LEDGER_MEM].alloc, 192 * MiB);
	ck_assert_uint_eq(ledger__claimed(&l, LEDGER_MEM), 0);
	ck_assert_int_eq(ledger__release(&l, a, LEDGER_MEM, 2 * MiB, &err), 0);
	lt_check(&l);
}
END_TEST

START_TEST(test_offer_part_now_rest_after_reclaim)
{
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *a, *idle;
	struct acc_err err;

	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "a", 512 * MiB, 64 * MiB, 0);
	idle = lt_add(&l, "idle", 512 * MiB, 160 * MiB, 0);
	ledger__usage(&l, idle, LEDGER_MEM, 10 * MiB, 20 * MiB); /* keeps 24 MiB */
	d = ask(a, 5, 128 * MiB, 16 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_OFFER);
	ck_assert_uint_eq(d.amount, 32 * MiB);
	ck_assert_uint_eq(d.later, 96 * MiB);
	ck_assert_ptr_nonnull(find_act(&acts, LEDGER_ACT_RECLAIM, idle->id));
	ck_assert_int_eq(ledger__accept(&l, a, LEDGER_MEM, 5, 32 * MiB, 96 * MiB, 0, &err), 0);
	/* The promise waits for the room... */
	ledger__tick(&l, SEC, &acts);
	ck_assert_ptr_null(find_act(&acts, LEDGER_ACT_DELIVER, a->id));
	/* ...part of it comes back, part is delivered, the rest when the rest comes. */
	ledger__returning(&l, idle, LEDGER_MEM, 40 * MiB);
	memset(&acts, 0, sizeof(acts));
	ledger__tick(&l, 2 * SEC, &acts);
	ck_assert_ptr_nonnull(find_act(&acts, LEDGER_ACT_DELIVER, a->id));
	ck_assert_uint_eq(find_act(&acts, LEDGER_ACT_DELIVER, a->id)->amount, 56 * MiB);
	ck_assert_uint_eq(find_act(&acts, LEDGER_ACT_DELIVER, a->id)->txn, 5);
	ledger__returning(&l, idle, LEDGER_MEM, 0);
	memset(&acts, 0, sizeof(acts));
	ledger__tick(&l, 3 * SEC, &acts);
	ck_assert_uint_eq(find_act(&acts, LEDGER_ACT_DELIVER, a->id)->amount, 40 * MiB);
	ck_assert_uint_eq(a->k[LEDGER_MEM].alloc, 192 * MiB);
	ck_assert_uint_eq(ledger__promised(a, LEDGER_MEM), 0);
	ck_assert_uint_eq(ledger__charged(&l, LEDGER_MEM), 256 * MiB);
	lt_check(&l);
}
END_TEST

START_TEST(test_floor_and_forecast_limit_reclaim)
{
	struct ledger_policy p = { LEDGER_DEFAULT_WEIGHT, { 96 * MiB, 0 } };
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *a, *b;
	struct acc_err err;

	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "a", 512 * MiB, 64 * MiB, 0);
	b = lt_add(&l, "b", 512 * MiB, 192 * MiB, 0);
	ck_assert_int_eq(ledger__set_policy(&l, b, &p, &err), 0);
	ledger__usage(&l, b, LEDGER_MEM, 0, 2 * MiB);
	ck_assert_uint_eq(ledger__slack(&l, b, LEDGER_MEM), 96 * MiB);
	/* Unknown forecasts are never slack; a VM without its driver cannot hand back. */
	b->driver = false;
	ck_assert_uint_eq(ledger__slack(&l, b, LEDGER_MEM), 0);
	d = ask(a, 1, 64 * MiB, 64 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(acts.nr, 0);
	b->driver = true;
	d = ask(a, 2, 128 * MiB, 128 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(acts.nr, 0); /* 96 reclaimable cannot meet a minimum of 128 */
	d = ask(a, 3, 128 * MiB, 64 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(find_act(&acts, LEDGER_ACT_RECLAIM, b->id)->target, 96 * MiB);
	/* A floor above what would fit the pool is refused. */
	p.floor[LEDGER_MEM] = 256 * MiB;
	ck_assert_int_eq(ledger__set_policy(&l, b, &p, &err), -ENOSPC);
	lt_check(&l);
}
END_TEST

START_TEST(test_fair_share_by_weight)
{
	struct ledger_policy heavy = { 300, { 0, 0 } };
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *a, *b;
	struct acc_err err;

	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "a", 512 * MiB, 32 * MiB, 0);
	b = lt_add(&l, "b", 512 * MiB, 224 * MiB, 0);
	ck_assert_int_eq(ledger__set_policy(&l, a, &heavy, &err), 0);
	/* Shares: 2 MiB floors, then 252 MiB split 3:1 (rounded down to granules). */
	ck_assert_uint_eq(ledger__fair_share(&l, a, LEDGER_MEM), 2 * MiB + 188 * MiB);
	ck_assert_uint_eq(ledger__fair_share(&l, b, LEDGER_MEM), 2 * MiB + 62 * MiB);
	/* b is busy (no slack), but above its share: a, below its own, gets room from b. */
	ledger__usage(&l, b, LEDGER_MEM, 200 * MiB, 200 * MiB);
	d = ask(a, 1, 64 * MiB, 64 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(find_act(&acts, LEDGER_ACT_RECLAIM, b->id)->amount, 64 * MiB);
	/* Past its share a gets nothing from b's share. */
	ledger__returning(&l, b, LEDGER_MEM, 0);
	d = ask(a, 2, 64 * MiB, 64 * MiB, SEC, &acts);
	ck_assert_int_eq(d.verdict, POLICY_GRANT);
	d = ask(a, 3, 128 * MiB, 128 * MiB, SEC, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(acts.nr, 0);
	lt_check(&l);
}
END_TEST

START_TEST(test_rate_limit_paces_growth)
{
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *a;
	struct acc_err err;
	uint64_t delivered = 0;

	lt_init(&l, 1024 * MiB, 4, 64 * MiB);
	a = lt_add(&l, "a", 1024 * MiB, 64 * MiB, 0);
	/* A full bucket: 64 MiB now, the rest later, one second's worth at a time. */
	d = ask(a, 1, 256 * MiB, 32 * MiB, 0, &acts);
	ck_assert_int_eq(d.verdict, POLICY_OFFER);
	ck_assert_uint_eq(d.amount, 64 * MiB);
	ck_assert_uint_eq(d.later, 192 * MiB);
	ck_assert_int_eq(ledger__accept(&l, a, LEDGER_MEM, 1, 64 * MiB, 192 * MiB, 0, &err), 0);
	for (uint64_t t = 250 * MS; t <= 3 * SEC; t += 250 * MS) {
		memset(&acts, 0, sizeof(acts));
		ledger__tick(&l, t, &acts);
		for (unsigned int i = 0; i < acts.nr; i++)
			delivered += acts.a[i].amount;
		/* Never ahead of the rate. */
		ck_assert_uint_le(delivered, t * 64 / SEC * MiB);
		lt_check(&l);
	}
	ck_assert_uint_eq(delivered, 192 * MiB);
	/* An empty bucket denies a small request with the time it takes to refill. */
	d = ask(a, 2, 64 * MiB, 64 * MiB, 3 * SEC, &acts);
	ck_assert_int_eq(d.verdict, POLICY_DENY);
	ck_assert_uint_eq(d.deny_reason, VIRTIO_RESOURCE_D_RATE);
	ck_assert_uint_eq(d.retry_after_ms, 1000);
}
END_TEST

START_TEST(test_departure_returns_everything)
{
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *a, *b;
	struct acc_err err;

	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "a", 512 * MiB, 64 * MiB, 0);
	b = lt_add(&l, "b", 512 * MiB, 64 * MiB, 0);
	d = ask(a, 1, 200 * MiB, 2 * MiB, 0, &acts); /* offer: holds 128 */
	ck_assert_int_eq(d.verdict, POLICY_OFFER);
	ck_assert_int_eq(ledger__reclaim(&l, b, LEDGER_MEM, 32 * MiB, 0, &acts, &err), 0);
	ledger__unregister(&l, a);
	ck_assert_uint_eq(ledger__charged(&l, LEDGER_MEM), 64 * MiB);
	ck_assert_ptr_null(ledger__find_name(&l, "a"));
	ledger__unregister(&l, b);
	ck_assert_uint_eq(ledger__charged(&l, LEDGER_MEM), 0);
	ck_assert_uint_eq(l.nr_vms, 0);
	lt_check(&l);
}
END_TEST

START_TEST(test_operator_changes)
{
	struct ledger_config c = lt_config(256 * MiB, 4, 0);
	struct ledger_actions acts = { 0 };
	struct ledger_vm *a, *b;
	struct acc_err err;

	ledger__init(&l, &c, NULL);
	a = lt_add(&l, "a", 512 * MiB, 64 * MiB, 0);
	b = lt_add(&l, "b", 512 * MiB, 128 * MiB, 0);
	ck_assert_int_eq(ledger__set_allocation(&l, a, LEDGER_MEM, 160 * MiB, 0, &acts, &err),
			 -ENOSPC);
	ck_assert_int_eq(ledger__set_allocation(&l, a, LEDGER_MEM, 128 * MiB, 0, &acts, &err), 0);
	ck_assert_uint_eq(acts.a[0].type, LEDGER_ACT_EXPAND);
	ck_assert_int_eq(ledger__set_allocation(&l, a, LEDGER_MEM, 3 * MiB, 0, &acts, &err),
			 -ERANGE);
	memset(&acts, 0, sizeof(acts));
	ck_assert_int_eq(ledger__set_allocation(&l, b, LEDGER_MEM, 64 * MiB, 0, &acts, &err), 0);
	ck_assert_uint_eq(acts.a[0].type, LEDGER_ACT_RECLAIM);
	ck_assert_uint_eq(b->k[LEDGER_MEM].returning, 64 * MiB);
	ledger__returning(&l, b, LEDGER_MEM, 0);
	/* A smaller pool: what is above it is reclaimed from those above their shares. */
	c.pool[LEDGER_MEM] = 128 * MiB;
	memset(&acts, 0, sizeof(acts));
	ck_assert_int_eq(ledger__configure(&l, &c, 0, &acts, &err), 0);
	ck_assert_uint_eq(ledger__overcommit(&l, LEDGER_MEM), 64 * MiB);
	ck_assert_ptr_nonnull(find_act(&acts, LEDGER_ACT_RECLAIM, a->id));
	lt_check(&l);
	c.pool[LEDGER_MEM] = 2 * MiB;
	ck_assert_int_eq(ledger__configure(&l, &c, 0, &acts, &err), -ENOSPC);
	ck_assert_uint_eq(l.cfg.pool[LEDGER_MEM], 128 * MiB);
	/* vCPUs are parked at once: no charge lingers. */
	memset(&acts, 0, sizeof(acts));
	ck_assert_int_eq(ledger__set_allocation(&l, a, LEDGER_VCPU, 3, 0, &acts, &err), 0);
	ck_assert_int_eq(ledger__reclaim(&l, a, LEDGER_VCPU, 2, 0, &acts, &err), 0);
	ck_assert_uint_eq(a->k[LEDGER_VCPU].alloc, 1);
	ck_assert_uint_eq(ledger__charged(&l, LEDGER_VCPU), 2);
}
END_TEST

START_TEST(test_check_catches_a_broken_ledger)
{
	struct ledger_vm *a, *b;
	struct acc_err err;

	lt_init(&l, 256 * MiB, 4, 0);
	a = lt_add(&l, "a", 512 * MiB, 64 * MiB, 0);
	b = lt_add(&l, "b", 512 * MiB, 64 * MiB, 0);
	lt_check(&l);
	a->k[LEDGER_MEM].alloc += 200 * MiB;
	ck_assert_int_eq(ledger__check(&l, &err), -EFAULT);
	ck_assert_msg(strstr(err.msg, "charged in a pool"), "%s", err.msg);
	a->k[LEDGER_MEM].alloc -= 200 * MiB;
	b->k[LEDGER_MEM].alloc += 1;
	ck_assert_int_eq(ledger__check(&l, &err), -EFAULT);
	b->k[LEDGER_MEM].alloc -= 1;
	b->id = a->id;
	ck_assert_int_eq(ledger__check(&l, &err), -EFAULT);
}
END_TEST

Suite *ledger_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_grant_within_the_pool_and_deny_beyond);
	tcase_add_test(tc, test_registration_needs_room_unless_resuming);
	tcase_add_test(tc, test_resume_believed_only_in_the_recovery_window);
	tcase_add_test(tc, test_offer_holds_room_until_accepted_declined_or_lapsed);
	tcase_add_test(tc, test_reclaim_from_an_idle_vm_before_denying);
	tcase_add_test(tc, test_offer_part_now_rest_after_reclaim);
	tcase_add_test(tc, test_floor_and_forecast_limit_reclaim);
	tcase_add_test(tc, test_fair_share_by_weight);
	tcase_add_test(tc, test_rate_limit_paces_growth);
	tcase_add_test(tc, test_departure_returns_everything);
	tcase_add_test(tc, test_operator_changes);
	tcase_add_test(tc, test_check_catches_a_broken_ledger);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ledger_suite());
	int failed;

	srunner_add_suite(sr, ledger_sim_suite());
	srunner_add_suite(sr, hostd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
