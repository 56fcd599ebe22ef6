// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_broker runner): a simulation of 16 VMs on one broker
 * with randomized request storms, offers taken and declined, releases,
 * reclaims handed back at random speeds, forecasts, operator changes,
 * departures, arrivals and broker restarts. Each simulated VM keeps its own
 * view of what it holds, built only from the ledger's answers and actions,
 * as a real VM would; after every step the ledger's invariant must hold and
 * both views must agree. The seeds are fixed, so a failure is reproducible
 * (LEDGER_SIM_SEED=N runs one seed).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/virtio_resource.h>

#include "ledger_test.h"

#define SIM_VMS	     16
#define SIM_STEPS    6000
#define SIM_OFFERS   LEDGER_MAX_HOLDS
#define SIM_PROMISES LEDGER_MAX_PROMISES

struct sim_offer {
	bool used;
	enum ledger_kind kind;
	uint64_t txn, now, later, expires_ns;
};

struct sim_promise {
	bool used;
	enum ledger_kind kind;
	uint64_t txn, amount;
};

struct sim_vm {
	bool live;
	char name[16];
	uint32_t id;
	uint64_t max[LEDGER_NR_KINDS];
	uint64_t granted[LEDGER_NR_KINDS];
	uint64_t returning; /* memory */
	uint64_t next_txn;
	struct sim_offer offers[SIM_OFFERS];
	struct sim_promise promises[SIM_PROMISES];
};

struct sim {
	struct ledger l;
	struct sim_vm vm[SIM_VMS];
	uint64_t now;
	uint64_t rng;
	unsigned int step, names;
	uint64_t grants, offers, denies, deliveries, reclaims, restarts, promises;
};

static uint64_t rnd(struct sim *s, uint64_t n)
{
	/* xorshift64*: deterministic per seed. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return n ? (s->rng * 2685821657736338717ull) % n : 0;
}

static struct ledger_vm *lvm(struct sim *s, struct sim_vm *v)
{
	struct ledger_vm *vm = ledger__find(&s->l, v->id);

	ck_assert_msg(vm && !strcmp(vm->name, v->name), "step %u: %s lost its ledger entry",
		      s->step, v->name);
	return vm;
}

static uint64_t unit(const struct sim *s, enum ledger_kind k)
{
	return s->l.cfg.unit[k];
}

static void sim_register(struct sim *s, struct sim_vm *v, bool resume)
{
	struct ledger_registration reg = { 0 };
	struct ledger_vm *vm;
	struct acc_err err;

	reg.name = v->name;
	reg.resume = resume;
	reg.driver = true;
	reg.want_id = resume ? v->id : 0;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		reg.max[k] = v->max[k];
		reg.alloc[k] = v->granted[k];
	}
	reg.returning[LEDGER_MEM] = v->returning;
	if (ledger__register(&s->l, &reg, s->now, &vm, &err)) {
		ck_assert_msg(!resume, "step %u: resume of %s refused: %s", s->step, v->name,
			      err.msg);
		v->live = false;
		return;
	}
	v->id = vm->id;
	v->live = true;
}

static void sim_new_vm(struct sim *s, struct sim_vm *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "vm%u", s->names++);
	v->max[LEDGER_MEM] = (64 + rnd(s, 448)) / 2 * 2 * MiB;
	v->max[LEDGER_VCPU] = 1 + rnd(s, 8);
	/* Sixteen boot allocations fit the pool; what they grow to does not. */
	v->granted[LEDGER_MEM] = (1 + rnd(s, 24)) * GRAN;
	v->granted[LEDGER_VCPU] = 1;
	v->next_txn = 1;
	sim_register(s, v, false);
}

static struct sim_promise *promise_of(struct sim_vm *v, enum ledger_kind k, uint64_t txn)
{
	for (unsigned int i = 0; i < SIM_PROMISES; i++) {
		if (v->promises[i].used && v->promises[i].kind == k && v->promises[i].txn == txn)
			return &v->promises[i];
	}
	return NULL;
}

static struct sim_vm *sim_by_id(struct sim *s, uint32_t id)
{
	for (unsigned int i = 0; i < SIM_VMS; i++) {
		if (s->vm[i].live && s->vm[i].id == id)
			return &s->vm[i];
	}
	ck_abort_msg("step %u: an action for unknown VM %u", s->step, id);
	return NULL;
}

/* A guest never holds more than it has: what it was handing back shrinks as grants come. */
static void sim_fit(struct sim_vm *v)
{
	uint64_t room = v->max[LEDGER_MEM] - v->granted[LEDGER_MEM];

	if (v->returning > room)
		v->returning = room;
}

/* What a VM does with the broker's actions. */
static void sim_apply(struct sim *s, const struct ledger_actions *acts)
{
	ck_assert_uint_eq(acts->dropped, 0);
	for (unsigned int i = 0; i < acts->nr; i++) {
		const struct ledger_action *a = &acts->a[i];
		struct sim_vm *v = sim_by_id(s, a->vm_id);
		struct sim_promise *p;

		switch (a->type) {
		case LEDGER_ACT_RECLAIM:
			ck_assert_uint_gt(a->amount, 0);
			ck_assert_uint_lt(a->amount, v->granted[a->kind]);
			v->granted[a->kind] -= a->amount;
			if (a->kind == LEDGER_MEM)
				v->returning += a->amount;
			s->reclaims++;
			break;
		case LEDGER_ACT_DELIVER:
			p = promise_of(v, a->kind, a->txn);
			ck_assert_msg(p, "step %u: %s got a delivery it was never promised",
				      s->step, v->name);
			ck_assert_uint_le(a->amount, p->amount);
			p->amount -= a->amount;
			if (!p->amount)
				p->used = false;
			v->granted[a->kind] += a->amount;
			s->deliveries++;
			break;
		case LEDGER_ACT_EXPAND:
			v->granted[a->kind] += a->amount;
			break;
		}
		ck_assert_uint_eq(v->granted[a->kind], a->target);
		sim_fit(v);
	}
}

static void sim_check(struct sim *s)
{
	uint64_t sum[LEDGER_NR_KINDS] = { 0 };
	struct acc_err err;

	ck_assert_msg(ledger__check(&s->l, &err) == 0, "step %u: %s", s->step, err.msg);
	for (unsigned int i = 0; i < SIM_VMS; i++) {
		struct sim_vm *v = &s->vm[i];
		struct ledger_vm *vm;

		if (!v->live)
			continue;
		vm = lvm(s, v);
		for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
			ck_assert_msg(vm->k[k].alloc == v->granted[k],
				      "step %u: %s %s: ledger %llu, VM %llu", s->step, v->name,
				      ledger__kind_name(k), (unsigned long long)vm->k[k].alloc,
				      (unsigned long long)v->granted[k]);
			ck_assert_uint_le(v->granted[k], v->max[k]);
			sum[k] += ledger__charge(vm, k);
		}
		ck_assert_uint_eq(vm->k[LEDGER_MEM].returning, v->returning);
	}
	/* What the VMs really hold never passes the pool, except what resuming VMs brought. */
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		ck_assert_uint_le(sum[k], s->l.cfg.pool[k] + ledger__overcommit(&s->l, k));
}

static struct sim_vm *pick(struct sim *s)
{
	for (unsigned int tries = 0; tries < 64; tries++) {
		struct sim_vm *v = &s->vm[rnd(s, SIM_VMS)];

		if (v->live)
			return v;
	}
	return NULL;
}

static void op_request(struct sim *s, struct sim_vm *v)
{
	enum ledger_kind k = rnd(s, 5) ? LEDGER_MEM : LEDGER_VCPU;
	struct ledger_request req = { k, v->next_txn++, 0, 0, (uint8_t)rnd(s, 4) };
	struct ledger_actions acts = { 0 };
	struct policy_decision d;
	uint64_t granted = v->granted[k];

	req.amount = (1 + rnd(s, k == LEDGER_MEM ? 96 : 3)) * unit(s, k);
	req.minimum = (1 + rnd(s, req.amount / unit(s, k))) * unit(s, k);
	ledger__decide(&s->l, lvm(s, v), &req, s->now, &d, &acts);
	sim_apply(s, &acts);
	switch (d.verdict) {
	case POLICY_GRANT:
		ck_assert_uint_le(d.amount, req.amount);
		ck_assert_uint_ge(d.amount, req.minimum);
		v->granted[k] = granted + d.amount;
		sim_fit(v);
		s->grants++;
		break;
	case POLICY_OFFER:
		ck_assert_uint_ge(d.amount, req.minimum);
		ck_assert_uint_le(d.amount + d.later, req.amount);
		for (unsigned int i = 0; i < SIM_OFFERS; i++) {
			if (!v->offers[i].used) {
				v->offers[i] =
					(struct sim_offer){ true,    k,
							    req.txn, d.amount,
							    d.later, s->now + LEDGER_HOLD_MS * MS };
				break;
			}
		}
		s->offers++;
		break;
	case POLICY_DENY:
		ck_assert_uint_eq(v->granted[k], granted);
		s->denies++;
		break;
	}
}

static void op_answer_offer(struct sim *s, struct sim_vm *v)
{
	struct sim_offer *o = NULL;
	struct ledger_vm *vm = lvm(s, v);
	struct acc_err err;
	uint64_t later;
	int ret;

	for (unsigned int i = 0; i < SIM_OFFERS && !o; i++) {
		if (v->offers[i].used)
			o = &v->offers[i];
	}
	if (!o)
		return;
	o->used = false;
	if (!rnd(s, 4)) {
		ret = ledger__decline(&s->l, vm, o->kind, o->txn);
		ck_assert_int_eq(ret, o->expires_ns <= s->now ? -ENOENT : 0);
		return;
	}
	later = rnd(s, 2) ? o->later : 0;
	ret = ledger__accept(&s->l, vm, o->kind, o->txn, o->now, later, s->now, &err);
	if (o->expires_ns <= s->now) {
		ck_assert_int_eq(ret, -ENOENT); /* the hold lapsed with the offer */
		return;
	}
	if (ret == -ENOSPC)
		return; /* no promise slot: the VM refuses the accept */
	ck_assert_msg(ret == 0, "step %u: accept: %s", s->step, err.msg);
	v->granted[o->kind] += o->now;
	sim_fit(v);
	if (later) {
		for (unsigned int i = 0; i < SIM_PROMISES; i++) {
			if (!v->promises[i].used) {
				v->promises[i] =
					(struct sim_promise){ true, o->kind, o->txn, later };
				s->promises++;
				break;
			}
		}
	}
}

static void op_release(struct sim *s, struct sim_vm *v)
{
	enum ledger_kind k = rnd(s, 3) ? LEDGER_MEM : LEDGER_VCPU;
	uint64_t u = unit(s, k), amount;
	struct acc_err err;

	if (v->granted[k] <= u)
		return;
	amount = (1 + rnd(s, v->granted[k] / u - 1)) * u;
	ck_assert_int_eq(ledger__release(&s->l, lvm(s, v), k, amount, &err), 0);
	v->granted[k] -= amount;
}

static void op_hand_back(struct sim *s, struct sim_vm *v)
{
	if (!v->returning)
		return;
	v->returning = rnd(s, 2) ? 0 : rnd(s, v->returning / GRAN) * GRAN;
	ledger__returning(&s->l, lvm(s, v), LEDGER_MEM, v->returning);
}

static void op_usage(struct sim *s, struct sim_vm *v)
{
	uint64_t cap = v->granted[LEDGER_MEM] + 64 * MiB;

	ledger__usage(&s->l, lvm(s, v), LEDGER_MEM, rnd(s, cap), rnd(s, cap));
	ledger__usage(&s->l, lvm(s, v), LEDGER_VCPU, rnd(s, 2), rnd(s, v->max[LEDGER_VCPU]));
}

static void op_tick(struct sim *s)
{
	struct ledger_actions acts = { 0 };

	s->now += rnd(s, 3000) * MS;
	ledger__tick(&s->l, s->now, &acts);
	sim_apply(s, &acts);
}

static void op_operator(struct sim *s, struct sim_vm *v)
{
	struct ledger_actions acts = { 0 };
	struct ledger_vm *vm = lvm(s, v);
	struct ledger_config c = s->l.cfg;
	struct ledger_policy p;
	struct acc_err err;
	int ret = 0;

	switch (rnd(s, 4)) {
	case 0:
		ret = ledger__set_allocation(&s->l, vm, LEDGER_MEM,
					     (1 + rnd(s, v->max[LEDGER_MEM] / GRAN)) * GRAN, s->now,
					     &acts, &err);
		break;
	case 1:
		ret = ledger__reclaim(&s->l, vm, LEDGER_MEM, (1 + rnd(s, 32)) * GRAN, s->now, &acts,
				      &err);
		break;
	case 2:
		p.weight = 1 + (uint32_t)rnd(s, 400);
		p.floor[LEDGER_MEM] = rnd(s, v->max[LEDGER_MEM] / GRAN / 2) * GRAN;
		p.floor[LEDGER_VCPU] = rnd(s, 2);
		ret = ledger__set_policy(&s->l, vm, &p, &err);
		break;
	default:
		c.pool[LEDGER_MEM] = (512 + rnd(s, 2048)) / 2 * 2 * MiB;
		c.pool[LEDGER_VCPU] = 16 + rnd(s, 32);
		c.rate[LEDGER_MEM] = rnd(s, 2) ? 0 : (1 + rnd(s, 256)) * GRAN;
		c.buffer_pct = (uint32_t)rnd(s, 50);
		ret = ledger__configure(&s->l, &c, s->now, &acts, &err);
		break;
	}
	ck_assert_msg(ret == 0 || ret == -ERANGE || ret == -ENOSPC || ret == -EINVAL,
		      "step %u: operator: %d %s", s->step, ret, err.msg);
	sim_apply(s, &acts);
}

/* The broker restarts: VMs drop their offers and promises and register again. */
static void op_restart(struct sim *s)
{
	struct ledger_config c = s->l.cfg;
	uint64_t held[LEDGER_NR_KINDS] = { 0 };

	ck_assert_int_eq(ledger__init(&s->l, &c, NULL), 0);
	for (unsigned int i = 0; i < SIM_VMS; i++) {
		struct sim_vm *v = &s->vm[i];

		if (!v->live)
			continue;
		memset(v->offers, 0, sizeof(v->offers));
		memset(v->promises, 0, sizeof(v->promises));
		sim_register(s, v, true);
		for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
			held[k] += v->granted[k] + (k == LEDGER_MEM ? v->returning : 0);
	}
	/* The new ledger holds exactly what the VMs hold: nothing twice, nothing lost. */
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		ck_assert_uint_eq(ledger__charged(&s->l, k), held[k]);
	s->restarts++;
}

static void sim_run(uint64_t seed)
{
	static struct sim s;
	uint64_t excess[LEDGER_NR_KINDS];
	bool trace = getenv("LEDGER_SIM_TRACE") != NULL;

	memset(&s, 0, sizeof(s));
	s.rng = seed * 0x9e3779b97f4a7c15ull + 1;
	lt_init(&s.l, 1024 * MiB, 32, 256 * MiB);
	for (unsigned int i = 0; i < SIM_VMS; i++)
		sim_new_vm(&s, &s.vm[i]);
	for (s.step = 0; s.step < SIM_STEPS; s.step++) {
		struct sim_vm *v = pick(&s);
		uint64_t op = rnd(&s, 100);
		bool may_grow_excess = false;

		if (trace)
			fprintf(stderr, "step %u: op %llu on %s\n", s.step, (unsigned long long)op,
				v ? v->name : "-");
		for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
			excess[k] = ledger__overcommit(&s.l, k);
		if (op >= 99) {
			op_restart(&s);
			may_grow_excess = true;
		} else if (!v) {
			op_tick(&s);
		} else if (op < 40) {
			op_request(&s, v);
		} else if (op < 55) {
			op_answer_offer(&s, v);
		} else if (op < 63) {
			op_release(&s, v);
		} else if (op < 73) {
			op_hand_back(&s, v);
		} else if (op < 83) {
			op_usage(&s, v);
		} else if (op < 93) {
			op_tick(&s);
		} else if (op < 97) {
			op_operator(&s, v);
			may_grow_excess = true;
		} else {
			ledger__unregister(&s.l, lvm(&s, v));
			v->live = false;
			sim_new_vm(&s, v);
		}
		sim_check(&s);
		for (unsigned int k = 0; !may_grow_excess && k < LEDGER_NR_KINDS; k++)
			ck_assert_msg(ledger__overcommit(&s.l, k) <= excess[k],
				      "step %u: the ledger granted past the pool", s.step);
	}
	if (trace)
		fprintf(stderr,
			"grants %llu offers %llu denies %llu deliveries %llu reclaims %llu "
			"restarts %llu promises %llu\n",
			(unsigned long long)s.grants, (unsigned long long)s.offers,
			(unsigned long long)s.denies, (unsigned long long)s.deliveries,
			(unsigned long long)s.reclaims, (unsigned long long)s.restarts,
			(unsigned long long)s.promises);
	/* The storm exercised every path. */
	ck_assert_uint_gt(s.grants, 0);
	ck_assert_uint_gt(s.offers, 0);
	ck_assert_uint_gt(s.denies, 0);
	ck_assert_uint_gt(s.deliveries, 0);
	ck_assert_uint_gt(s.reclaims, 0);
	ck_assert_uint_gt(s.restarts, 0);
}

START_TEST(test_storms_keep_the_invariant)
{
	const char *one = getenv("LEDGER_SIM_SEED");

	if (one) {
		sim_run(strtoull(one, NULL, 0));
		return;
	}
	sim_run((uint64_t)_i + 1);
}
END_TEST

Suite *ledger_sim_suite(void)
{
	Suite *s = suite_create("ledger-sim");
	TCase *tc = tcase_create("storms");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_storms_keep_the_invariant, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}
