// SPDX-License-Identifier: MIT
/*
 * The broker's ledger: registration, the accounting of what each VM holds,
 * operator changes, and the invariant. Arbitration (requests, promises,
 * reclaims) is in src/arbiter.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "accord/ledger.h"
#include "ledger_priv.h"

static const char *const ledger_kind_names[LEDGER_NR_KINDS] = {
	[LEDGER_MEM] = "memory",
	[LEDGER_VCPU] = "vcpus",
};

const char *ledger__kind_name(enum ledger_kind kind)
{
	return kind < LEDGER_NR_KINDS ? ledger_kind_names[kind] : "unknown";
}

int ledger__kind_parse(const char *name, enum ledger_kind *kind)
{
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		if (!strcmp(name, ledger_kind_names[k])) {
			*kind = k;
			return 0;
		}
	}
	return -EINVAL;
}

static int ledger_check_config(const struct ledger_config *cfg, struct acc_err *err)
{
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		const char *name = ledger_kind_names[k];

		if (!cfg->unit[k])
			return acc_errf(err, EINVAL, "the %s unit must not be 0", name);
		if (!cfg->pool[k] || cfg->pool[k] % cfg->unit[k] ||
		    cfg->pool[k] > LEDGER_MAX_AMOUNT)
			return acc_errf(
				err, EINVAL,
				"the %s pool must be a positive multiple of %llu, at most 2^48",
				name, (unsigned long long)cfg->unit[k]);
		if (cfg->rate[k] && cfg->rate[k] < cfg->unit[k])
			return acc_errf(err, EINVAL,
					"the %s rate must be 0 (none) or at least %llu/s", name,
					(unsigned long long)cfg->unit[k]);
	}
	if (cfg->buffer_pct > 1000)
		return acc_errf(err, EINVAL, "the buffer must be between 0 and 1000%%");
	return 0;
}

int ledger__init(struct ledger *l, const struct ledger_config *cfg, struct acc_err *err)
{
	int ret = ledger_check_config(cfg, err);

	if (ret)
		return ret;
	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->next_id = 1;
	return 0;
}

/* ---- sums ---- */

uint64_t ledger__held(const struct ledger_vm *vm, enum ledger_kind kind)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < LEDGER_MAX_HOLDS; i++)
		n += vm->k[kind].holds[i].amount;
	return n;
}

uint64_t ledger_offered_later(const struct ledger_vm *vm, enum ledger_kind kind)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < LEDGER_MAX_HOLDS; i++)
		n += vm->k[kind].holds[i].later;
	return n;
}

uint64_t ledger__promised(const struct ledger_vm *vm, enum ledger_kind kind)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++) {
		if (vm->k[kind].promises[i].used)
			n += vm->k[kind].promises[i].amount;
	}
	return n;
}

uint64_t ledger_outstanding(const struct ledger_vm *vm, enum ledger_kind kind)
{
	return ledger__held(vm, kind) + ledger_offered_later(vm, kind) + ledger__promised(vm, kind);
}

uint64_t ledger__charge(const struct ledger_vm *vm, enum ledger_kind kind)
{
	return vm->k[kind].alloc + vm->k[kind].returning + ledger__held(vm, kind);
}

uint64_t ledger__charged(const struct ledger *l, enum ledger_kind kind)
{
	uint64_t n = 0;

	ledger_for_each_vm(l, vm)
		n += ledger__charge(vm, kind);
	return n;
}

uint64_t ledger__claimed(const struct ledger *l, enum ledger_kind kind)
{
	uint64_t n = 0;

	ledger_for_each_vm(l, vm)
		n += ledger__promised(vm, kind);
	return n;
}

uint64_t ledger_returning(const struct ledger *l, enum ledger_kind kind)
{
	uint64_t n = 0;

	ledger_for_each_vm(l, vm)
		n += vm->k[kind].returning;
	return n;
}

uint64_t ledger__overcommit(const struct ledger *l, enum ledger_kind kind)
{
	return l->excess[kind];
}

uint64_t ledger_floor(const struct ledger *l, const struct ledger_vm *vm, enum ledger_kind kind)
{
	/* A guest keeps at least one unit: one granule, one vCPU. */
	return vm->policy.floor[kind] > l->cfg.unit[kind] ? vm->policy.floor[kind]
							  : l->cfg.unit[kind];
}

uint64_t ledger__fair_share(const struct ledger *l, const struct ledger_vm *vm,
			    enum ledger_kind kind)
{
	uint64_t floors = 0, weights = 0, rest, share;

	ledger_for_each_vm(l, v) {
		floors += ledger_floor(l, v, kind);
		weights += v->policy.weight;
	}
	rest = l->cfg.pool[kind] > floors ? l->cfg.pool[kind] - floors : 0;
	share = weights ? (uint64_t)((unsigned __int128)rest * vm->policy.weight / weights) : 0;
	share -= share % l->cfg.unit[kind];
	return ledger_floor(l, vm, kind) + share;
}

/* What the guest needs by its own forecast, with the buffer on top (unknown: all it has). */
static uint64_t ledger_need(const struct ledger *l, const struct ledger_vm *vm,
			    enum ledger_kind kind)
{
	const struct ledger_share *s = &vm->k[kind];
	uint64_t demand = s->forecast > s->used ? s->forecast : s->used, need;

	if (!s->has_forecast || !vm->driver)
		return s->alloc;
	need = (uint64_t)((unsigned __int128)demand * (100 + l->cfg.buffer_pct) / 100);
	return policy__round_up(need, l->cfg.unit[kind]);
}

uint64_t ledger__slack(const struct ledger *l, const struct ledger_vm *vm, enum ledger_kind kind)
{
	uint64_t keep = ledger_need(l, vm, kind), floor = ledger_floor(l, vm, kind);

	if (keep < floor)
		keep = floor;
	return vm->k[kind].alloc > keep ? vm->k[kind].alloc - keep : 0;
}

void ledger_grow(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t amount)
{
	struct ledger_share *s = &vm->k[kind];

	s->alloc += amount;
	/* A guest never holds more than it has: a grant covers what it was handing back. */
	if (s->returning > s->max - s->alloc) {
		s->returning = s->max - s->alloc;
		ledger_settle(l, kind);
	}
}

/* Charges went down: whatever a resume or a smaller pool left above the pool shrinks. */
void ledger_settle(struct ledger *l, enum ledger_kind kind)
{
	uint64_t charged = ledger__charged(l, kind), pool = l->cfg.pool[kind];
	uint64_t over = charged > pool ? charged - pool : 0;

	if (l->excess[kind] > over)
		l->excess[kind] = over;
}

static void ledger_note_excess(struct ledger *l, enum ledger_kind kind)
{
	uint64_t charged = ledger__charged(l, kind), pool = l->cfg.pool[kind];

	if (charged > pool && charged - pool > l->excess[kind])
		l->excess[kind] = charged - pool;
}

/* ---- registration ---- */

struct ledger_vm *ledger__find(struct ledger *l, uint32_t id)
{
	ledger_for_each_vm(l, vm) {
		if (vm->id == id)
			return vm;
	}
	return NULL;
}

struct ledger_vm *ledger__find_name(struct ledger *l, const char *name)
{
	ledger_for_each_vm(l, vm) {
		if (!strcmp(vm->name, name))
			return vm;
	}
	return NULL;
}

int ledger__check_name(const char *name, struct acc_err *err)
{
	size_t n = name ? strlen(name) : 0;

	if (!n || n > LEDGER_MAX_NAME)
		return acc_errf(err, EINVAL, "a VM name has 1 to %d characters", LEDGER_MAX_NAME);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_' && c != '.')
			return acc_errf(err, EINVAL,
					"VM name '%s': only letters, digits, '-', '_' and '.'",
					name);
	}
	return 0;
}

static int ledger_check_policy(const struct ledger *l, const struct ledger_policy *p,
			       const uint64_t *max, struct acc_err *err)
{
	if (p->weight < 1 || p->weight > LEDGER_MAX_WEIGHT)
		return acc_errf(err, ERANGE, "weight must be between 1 and %d", LEDGER_MAX_WEIGHT);
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		if (p->floor[k] % l->cfg.unit[k])
			return acc_errf(err, EINVAL, "the %s floor must be a multiple of %llu",
					ledger_kind_names[k], (unsigned long long)l->cfg.unit[k]);
		if (max && p->floor[k] > max[k])
			return acc_errf(err, ERANGE, "the %s floor is above what the VM has",
					ledger_kind_names[k]);
	}
	return 0;
}

/* The floors of all VMs, with @p in place of @vm's (or added when @vm is NULL), fit the pool. */
static int ledger_check_floors(const struct ledger *l, const struct ledger_vm *skip,
			       const struct ledger_policy *p, struct acc_err *err)
{
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		uint64_t floors = p->floor[k] > l->cfg.unit[k] ? p->floor[k] : l->cfg.unit[k];

		ledger_for_each_vm(l, v) {
			if (v != skip)
				floors += ledger_floor(l, v, k);
		}
		if (floors > l->cfg.pool[k])
			return acc_errf(err, ENOSPC,
					"the %s floors would add up to more than the pool",
					ledger_kind_names[k]);
	}
	return 0;
}

static uint32_t ledger_new_id(struct ledger *l, uint32_t want)
{
	uint32_t id;

	if (want && !ledger__find(l, want)) {
		if (want >= l->next_id)
			l->next_id = want + 1;
		return want;
	}
	do {
		id = l->next_id++;
		if (!l->next_id)
			l->next_id = 1;
	} while (!id || ledger__find(l, id));
	return id;
}

bool ledger__recovering(const struct ledger *l, uint64_t now_ns)
{
	return !l->cfg.resume_until_ns || now_ns < l->cfg.resume_until_ns;
}

int ledger__register(struct ledger *l, const struct ledger_registration *reg, uint64_t now_ns,
		     struct ledger_vm **out, struct acc_err *err)
{
	struct ledger_policy policy = { LEDGER_DEFAULT_WEIGHT, { 0 } };
	/* Only while the broker recovers from a restart: later, anyone could say so. */
	bool resume = reg->resume && ledger__recovering(l, now_ns);
	struct ledger_vm *vm = NULL;
	int ret;

	ret = ledger__check_name(reg->name, err);
	if (ret)
		return ret;
	if (ledger__find_name(l, reg->name))
		return acc_errf(err, EEXIST, "a VM named '%s' is already registered", reg->name);
	if (reg->has_policy)
		policy = reg->policy;
	ret = ledger_check_policy(l, &policy, reg->max, err);
	if (ret)
		return ret;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		uint64_t unit = l->cfg.unit[k];

		if (reg->max[k] > LEDGER_MAX_AMOUNT)
			return acc_errf(err, ERANGE, "%s: the VM's max is above 2^48",
					ledger_kind_names[k]);
		if (!reg->max[k] || reg->max[k] % unit || reg->alloc[k] % unit ||
		    reg->returning[k] % unit)
			return acc_errf(err, EINVAL, "%s amounts must be multiples of %llu",
					ledger_kind_names[k], (unsigned long long)unit);
		if (!reg->alloc[k] || reg->alloc[k] > reg->max[k] ||
		    reg->returning[k] > reg->max[k] - reg->alloc[k])
			return acc_errf(err, ERANGE,
					"%s: the allocation must be between %llu and the VM's max",
					ledger_kind_names[k], (unsigned long long)unit);
		/* A new VM must fit; one that held its allocation before keeps it. */
		if (!resume) {
			uint64_t used = ledger__charged(l, k) + ledger__claimed(l, k);
			uint64_t room = l->cfg.pool[k] > used ? l->cfg.pool[k] - used : 0;

			if (reg->alloc[k] + reg->returning[k] > room)
				return acc_errf(err, ENOSPC,
						"the host's %s pool has %llu free, the VM boots "
						"with %llu%s",
						ledger_kind_names[k], (unsigned long long)room,
						(unsigned long long)reg->alloc[k],
						reg->resume ? " (a resume is believed only in the "
							      "broker's recovery window)"
							    : "");
		}
	}
	if (!resume) {
		ret = ledger_check_floors(l, NULL, &policy, err);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < LEDGER_MAX_VMS && !vm; i++) {
		if (!l->vms[i].used)
			vm = &l->vms[i];
	}
	if (!vm)
		return acc_errf(err, ENOSPC, "the broker has %d VMs already", LEDGER_MAX_VMS);
	memset(vm, 0, sizeof(*vm));
	vm->used = true;
	vm->id = ledger_new_id(l, reg->want_id);
	snprintf(vm->name, sizeof(vm->name), "%s", reg->name);
	vm->driver = reg->driver;
	vm->policy = policy;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		struct ledger_share *s = &vm->k[k];

		s->max = reg->max[k];
		s->alloc = reg->alloc[k];
		s->returning = reg->returning[k];
		s->tokens = l->cfg.rate[k];
		s->tokens_ns = now_ns;
	}
	l->nr_vms++;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		ledger_note_excess(l, k);
	*out = vm;
	return 0;
}

void ledger__unregister(struct ledger *l, struct ledger_vm *vm)
{
	if (!vm || !vm->used)
		return;
	memset(vm, 0, sizeof(*vm));
	l->nr_vms--;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		ledger_settle(l, k);
}

/* ---- what VMs report ---- */

static struct ledger_hold *ledger_hold_find(struct ledger_vm *vm, enum ledger_kind kind,
					    uint64_t txn)
{
	for (unsigned int i = 0; i < LEDGER_MAX_HOLDS; i++) {
		if (vm->k[kind].holds[i].txn == txn && txn)
			return &vm->k[kind].holds[i];
	}
	return NULL;
}

int ledger__accept(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn,
		   uint64_t now_amount, uint64_t later, uint64_t now_ns, struct acc_err *err)
{
	struct ledger_hold *h = ledger_hold_find(vm, kind, txn);
	struct ledger_promise *p = NULL;

	if (!h)
		return acc_errf(err, ENOENT, "no open offer for txn %llu", (unsigned long long)txn);
	if (now_amount != h->amount || later > h->later)
		return acc_errf(err, ERANGE, "txn %llu: the offer was %llu now and %llu later",
				(unsigned long long)txn, (unsigned long long)h->amount,
				(unsigned long long)h->later);
	if (later) {
		for (unsigned int i = 0; i < LEDGER_MAX_PROMISES && !p; i++) {
			if (!vm->k[kind].promises[i].used)
				p = &vm->k[kind].promises[i];
		}
		if (!p)
			return acc_errf(err, ENOSPC, "too many promises are open for '%s'",
					vm->name);
		*p = (struct ledger_promise){ true, txn, later, now_ns, 0 };
	}
	/* The hold becomes the allocation: the charge does not change. */
	ledger_grow(l, vm, kind, h->amount);
	memset(h, 0, sizeof(*h));
	vm->count.accepts++;
	l->count.accepts++;
	return 0;
}

int ledger__decline(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn)
{
	struct ledger_hold *h = ledger_hold_find(vm, kind, txn);

	if (!h)
		return -ENOENT;
	memset(h, 0, sizeof(*h));
	vm->count.declines++;
	l->count.declines++;
	ledger_settle(l, kind);
	return 0;
}

int ledger__release(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t amount,
		    struct acc_err *err)
{
	struct ledger_share *s = &vm->k[kind];

	if (!amount || amount % l->cfg.unit[kind] || amount > s->alloc)
		return acc_errf(err, ERANGE, "'%s' holds %llu %s; cannot give back %llu", vm->name,
				(unsigned long long)s->alloc, ledger_kind_names[kind],
				(unsigned long long)amount);
	s->alloc -= amount;
	vm->count.releases++;
	l->count.releases++;
	ledger_settle(l, kind);
	return 0;
}

void ledger__returning(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind,
		       uint64_t returning)
{
	struct ledger_share *s = &vm->k[kind];

	returning -= returning % l->cfg.unit[kind];
	if (returning < s->returning) {
		s->returning = returning;
		ledger_settle(l, kind);
	}
}

void ledger__cancel(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn)
{
	for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++) {
		struct ledger_promise *p = &vm->k[kind].promises[i];

		if (p->used && p->txn == txn && txn)
			memset(p, 0, sizeof(*p));
	}
}

void ledger__usage(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t used,
		   uint64_t forecast)
{
	vm->k[kind].used = used;
	vm->k[kind].forecast = forecast;
	vm->k[kind].has_forecast = true;
}

/* ---- the operator ---- */

int ledger__set_allocation(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind,
			   uint64_t target, uint64_t now_ns, struct ledger_actions *acts,
			   struct acc_err *err)
{
	struct ledger_share *s = &vm->k[kind];
	uint64_t unit = l->cfg.unit[kind], room;

	if (target % unit || target < unit || target > s->max)
		return acc_errf(err, ERANGE,
				"%s for '%s' must be a multiple of %llu from %llu to %llu",
				ledger_kind_names[kind], vm->name, (unsigned long long)unit,
				(unsigned long long)unit, (unsigned long long)s->max);
	if (target < s->alloc)
		return ledger__reclaim(l, vm, kind, s->alloc - target, now_ns, acts, err);
	if (target == s->alloc)
		return 0;
	if (target > s->max - ledger_outstanding(vm, kind))
		return acc_errf(err, ERANGE, "'%s' has offers or promises open for %llu more %s",
				vm->name, (unsigned long long)ledger_outstanding(vm, kind),
				ledger_kind_names[kind]);
	room = ledger_room_for(l, vm, kind);
	if (target - s->alloc > room)
		return acc_errf(err, ENOSPC, "the %s pool has %llu free for '%s', not %llu",
				ledger_kind_names[kind], (unsigned long long)room, vm->name,
				(unsigned long long)(target - s->alloc));
	ledger_drop_earmarks(vm, kind);
	ledger_act(acts, LEDGER_ACT_EXPAND, vm, kind, 0, target - s->alloc, target);
	ledger_grow(l, vm, kind, target - s->alloc);
	return 0;
}

int ledger__reclaim(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t amount,
		    uint64_t now_ns, struct ledger_actions *acts, struct acc_err *err)
{
	uint64_t unit = l->cfg.unit[kind];

	if (!amount || amount % unit || amount >= vm->k[kind].alloc)
		return acc_errf(err, ERANGE,
				"'%s' holds %llu %s: reclaim a multiple of %llu that leaves some",
				vm->name, (unsigned long long)vm->k[kind].alloc,
				ledger_kind_names[kind], (unsigned long long)unit);
	ledger_start_reclaim(l, vm, kind, amount, acts);
	return 0;
}

int ledger__set_policy(struct ledger *l, struct ledger_vm *vm, const struct ledger_policy *p,
		       struct acc_err *err)
{
	uint64_t max[LEDGER_NR_KINDS];
	int ret;

	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		max[k] = vm->k[k].max;
	ret = ledger_check_policy(l, p, max, err);
	if (!ret)
		ret = ledger_check_floors(l, vm, p, err);
	if (ret)
		return ret;
	vm->policy = *p;
	return 0;
}

int ledger__configure(struct ledger *l, const struct ledger_config *cfg, uint64_t now_ns,
		      struct ledger_actions *acts, struct acc_err *err)
{
	struct ledger_config old = l->cfg;
	int ret;

	ret = ledger_check_config(cfg, err);
	if (ret)
		return ret;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		if (cfg->unit[k] != old.unit[k])
			return acc_errf(err, EINVAL, "the %s unit cannot change",
					ledger_kind_names[k]);
	}
	l->cfg = *cfg;
	ret = ledger_check_floors(l, NULL, &(struct ledger_policy){ 1, { 0 } }, err);
	if (ret) {
		l->cfg = old;
		return acc_errf(err, ENOSPC, "the VMs' floors add up to more than that pool");
	}
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		ledger_note_excess(l, k);
		ledger_fit_pool(l, k, acts);
	}
	return 0;
}

/* ---- the invariant ---- */

int ledger__check(const struct ledger *l, struct acc_err *err)
{
	unsigned int nr = 0;

	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		uint64_t charged = ledger__charged(l, k), pool = l->cfg.pool[k];

		if (charged > pool + l->excess[k])
			return acc_errf(err, EFAULT, "%s: %llu charged in a pool of %llu (+%llu)",
					ledger_kind_names[k], (unsigned long long)charged,
					(unsigned long long)pool, (unsigned long long)l->excess[k]);
	}
	for (unsigned int i = 0; i < LEDGER_MAX_VMS; i++) {
		const struct ledger_vm *vm = &l->vms[i];

		if (!vm->used)
			continue;
		nr++;
		for (unsigned int j = i + 1; j < LEDGER_MAX_VMS; j++) {
			if (l->vms[j].used &&
			    (l->vms[j].id == vm->id || !strcmp(l->vms[j].name, vm->name)))
				return acc_errf(err, EFAULT, "two VMs share id %u or name '%s'",
						vm->id, vm->name);
		}
		for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
			const struct ledger_share *s = &vm->k[k];
			uint64_t unit = l->cfg.unit[k];

			if (s->alloc + ledger_outstanding(vm, k) > s->max ||
			    s->alloc + s->returning > s->max)
				return acc_errf(err, EFAULT, "'%s' %s: more than its max of %llu",
						vm->name, ledger_kind_names[k],
						(unsigned long long)s->max);
			if (s->alloc % unit || s->returning % unit)
				return acc_errf(err, EFAULT, "'%s' %s: not whole units", vm->name,
						ledger_kind_names[k]);
			for (unsigned int h = 0; h < LEDGER_MAX_HOLDS; h++) {
				const struct ledger_hold *hd = &s->holds[h];

				if (hd->txn ? !hd->amount || hd->amount % unit
					    : hd->amount || hd->later)
					return acc_errf(err, EFAULT, "'%s' %s: a bad hold",
							vm->name, ledger_kind_names[k]);
			}
			for (unsigned int p = 0; p < LEDGER_MAX_PROMISES; p++) {
				const struct ledger_promise *pr = &s->promises[p];

				if (pr->used && (!pr->amount || pr->amount % unit))
					return acc_errf(err, EFAULT, "'%s' %s: a bad promise",
							vm->name, ledger_kind_names[k]);
			}
		}
	}
	if (nr != l->nr_vms)
		return acc_errf(err, EFAULT, "%u VMs counted, %u recorded", nr, l->nr_vms);
	return 0;
}
