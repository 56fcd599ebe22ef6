// SPDX-License-Identifier: MIT
/*
 * Arbitration over the broker's ledger: answering a VM's request (grant,
 * offer part now and the rest later, or deny with a retry time and room
 * earmarked for the retry), reclaiming from VMs with slack or above their
 * fair share, keeping promises as room appears, and pacing every VM's
 * allocation with a token bucket. Pure: time is an argument and effects on
 * VMs come back as actions.
 */
#include <stdio.h>
#include <string.h>
#include <linux/virtio_resource.h>

#include "accord/ledger.h"
#include "ledger_priv.h"

static uint64_t round_down(uint64_t v, uint64_t unit)
{
	return v - v % unit;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void ledger_act(struct ledger_actions *acts, enum ledger_action_type type,
		const struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn, uint64_t amount,
		uint64_t target)
{
	if (!acts)
		return;
	if (acts->nr == LEDGER_MAX_ACTIONS) {
		acts->dropped++;
		return;
	}
	acts->a[acts->nr++] = (struct ledger_action){ type, vm->id, kind, txn, amount, target };
}

static uint64_t earmarked(const struct ledger_vm *vm, enum ledger_kind kind)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++) {
		const struct ledger_promise *p = &vm->k[kind].promises[i];

		if (p->used && !p->txn)
			n += p->amount;
	}
	return n;
}

void ledger_drop_earmarks(struct ledger_vm *vm, enum ledger_kind kind)
{
	for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++) {
		struct ledger_promise *p = &vm->k[kind].promises[i];

		if (p->used && !p->txn)
			memset(p, 0, sizeof(*p));
	}
}

uint64_t ledger_room_for(const struct ledger *l, const struct ledger_vm *vm, enum ledger_kind kind)
{
	uint64_t used = ledger__charged(l, kind) + ledger__claimed(l, kind);

	if (vm)
		used -= earmarked(vm, kind);
	return l->cfg.pool[kind] > used ? l->cfg.pool[kind] - used : 0;
}

/* Room once every reclaim in flight has landed. */
static uint64_t future_room_for(const struct ledger *l, const struct ledger_vm *vm,
				enum ledger_kind kind)
{
	uint64_t used = ledger__charged(l, kind) - ledger_returning(l, kind) +
			ledger__claimed(l, kind) - earmarked(vm, kind);

	return l->cfg.pool[kind] > used ? l->cfg.pool[kind] - used : 0;
}

/* ---- the rate bucket ---- */

static uint64_t bucket_size(const struct ledger *l, enum ledger_kind kind)
{
	uint64_t rate = l->cfg.rate[kind];

	return rate > l->cfg.unit[kind] ? rate : l->cfg.unit[kind];
}

static void bucket_fill(const struct ledger *l, struct ledger_share *s, enum ledger_kind kind,
			uint64_t now_ns)
{
	uint64_t rate = l->cfg.rate[kind], add;

	if (!rate || now_ns <= s->tokens_ns)
		return;
	add = (uint64_t)min_u64(
		(uint64_t)(((unsigned __int128)rate * (now_ns - s->tokens_ns)) / 1000000000u),
		bucket_size(l, kind));
	if (!add)
		return;
	s->tokens = min_u64(s->tokens + add, bucket_size(l, kind));
	s->tokens_ns = now_ns;
}

/* What the bucket lets @s grow by now, in whole units. */
static uint64_t bucket_allows(const struct ledger *l, struct ledger_share *s, enum ledger_kind kind,
			      uint64_t now_ns)
{
	if (!l->cfg.rate[kind])
		return UINT64_MAX;
	bucket_fill(l, s, kind, now_ns);
	return round_down(s->tokens, l->cfg.unit[kind]);
}

static void bucket_take(const struct ledger *l, struct ledger_share *s, enum ledger_kind kind,
			uint64_t amount)
{
	if (l->cfg.rate[kind])
		s->tokens = s->tokens > amount ? s->tokens - amount : 0;
}

/* Milliseconds for @amount to pass at the rate (at least LEDGER_MIN_RETRY_MS). */
static uint32_t rate_ms(const struct ledger *l, enum ledger_kind kind, uint64_t amount)
{
	uint64_t rate = l->cfg.rate[kind], ms;

	ms = rate ? (uint64_t)(((unsigned __int128)amount * 1000 + rate - 1) / rate) : 0;
	if (ms < LEDGER_MIN_RETRY_MS)
		ms = LEDGER_MIN_RETRY_MS;
	return ms > 600000 ? 600000 : (uint32_t)ms;
}

/* ---- reclaims ---- */

void ledger_start_reclaim(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind,
			  uint64_t amount, struct ledger_actions *acts)
{
	struct ledger_share *s = &vm->k[kind];

	s->alloc -= amount;
	/* Memory stays charged until the guest hands it back; a vCPU is parked at once. */
	if (kind == LEDGER_MEM)
		s->returning += amount;
	vm->count.reclaims++;
	vm->count.reclaimed[kind] += amount;
	l->count.reclaims++;
	l->count.reclaimed[kind] += amount;
	ledger_act(acts, LEDGER_ACT_RECLAIM, vm, kind, 0, amount, s->alloc);
	if (kind != LEDGER_MEM)
		ledger_settle(l, kind);
}

struct victim {
	struct ledger_vm *vm;
	uint64_t amount; /* what may be taken */
	uint64_t order;	 /* larger first */
};

static void victims_sort(struct victim *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		struct victim x = v[i];
		unsigned int j = i;

		for (; j && v[j - 1].order < x.order; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/*
 * Find up to @need (whole units) to reclaim for @requester (NULL: for the
 * pool): first slack by forecast, then, with @fair, what VMs hold above
 * their fair share. Reclaims them when @execute; returns the amount found.
 */
static uint64_t ledger_plan(struct ledger *l, const struct ledger_vm *requester,
			    enum ledger_kind kind, uint64_t need, bool fair, bool execute,
			    struct ledger_actions *acts)
{
	struct victim v[LEDGER_MAX_VMS];
	uint64_t taken[LEDGER_MAX_VMS] = { 0 }, found = 0, unit = l->cfg.unit[kind];
	unsigned int n;

	need = policy__round_up(need, unit);
	for (int stage = 0; stage < (fair ? 2 : 1) && found < need; stage++) {
		n = 0;
		ledger_for_each_vm(l, vm) {
			uint64_t idx = (uint64_t)(vm - l->vms), avail, keep;

			if (vm == requester || !vm->driver || ledger__promised(vm, kind))
				continue;
			if (stage == 0) {
				avail = ledger__slack(l, vm, kind);
				v[n].order = avail;
			} else {
				keep = ledger__fair_share(l, vm, kind);
				if (keep < ledger_floor(l, vm, kind))
					keep = ledger_floor(l, vm, kind);
				avail = vm->k[kind].alloc > keep ? vm->k[kind].alloc - keep : 0;
				avail = avail > taken[idx] ? avail - taken[idx] : 0;
				/* Furthest above its share for its weight first. */
				v[n].order = avail * LEDGER_MAX_WEIGHT / vm->policy.weight;
			}
			avail = round_down(avail, unit);
			if (!avail)
				continue;
			v[n].vm = vm;
			v[n].amount = avail;
			n++;
		}
		victims_sort(v, n);
		for (unsigned int i = 0; i < n && found < need; i++) {
			uint64_t take = min_u64(v[i].amount, need - found);

			taken[v[i].vm - l->vms] += take;
			found += take;
		}
	}
	if (execute) {
		for (unsigned int i = 0; i < LEDGER_MAX_VMS && !ledger_acts_full(acts); i++) {
			if (taken[i])
				ledger_start_reclaim(l, &l->vms[i], kind, taken[i], acts);
		}
	}
	return found;
}

void ledger_fit_pool(struct ledger *l, enum ledger_kind kind, struct ledger_actions *acts)
{
	uint64_t held = ledger__charged(l, kind) - ledger_returning(l, kind);
	uint64_t wanted = held + ledger__claimed(l, kind), pool = l->cfg.pool[kind];

	if (wanted <= pool)
		return;
	/* Claims wait for slack; more held than the pool reclaims fair shares too. */
	ledger_plan(l, NULL, kind, wanted - pool, held > pool, true, acts);
}

/* ---- requests ---- */

static struct ledger_promise *promise_slot(struct ledger_vm *vm, enum ledger_kind kind)
{
	for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++) {
		if (!vm->k[kind].promises[i].used)
			return &vm->k[kind].promises[i];
	}
	return NULL;
}

static struct ledger_hold *hold_slot(struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn)
{
	for (unsigned int i = 0; i < LEDGER_MAX_HOLDS; i++) {
		if (vm->k[kind].holds[i].txn == txn)
			return NULL; /* one offer per transaction */
	}
	for (unsigned int i = 0; i < LEDGER_MAX_HOLDS; i++) {
		if (!vm->k[kind].holds[i].txn)
			return &vm->k[kind].holds[i];
	}
	return NULL;
}

static void deny(struct ledger *l, struct ledger_vm *vm, struct policy_decision *d, uint16_t reason,
		 uint32_t retry_ms)
{
	d->verdict = POLICY_DENY;
	d->deny_reason = reason;
	d->retry_after_ms = retry_ms;
	vm->count.denies++;
	l->count.denies++;
}

void ledger__decide(struct ledger *l, struct ledger_vm *vm, const struct ledger_request *req,
		    uint64_t now_ns, struct policy_decision *d, struct ledger_actions *acts)
{
	enum ledger_kind k = req->kind;
	struct ledger_share *s = &vm->k[k];
	uint64_t unit = l->cfg.unit[k], amount, minimum, by_max, want, room, future, now_part;
	uint64_t short_by, reclaimable, total, later, reclaim, allows;
	const char *kname = ledger__kind_name(k);
	struct ledger_hold *hold;
	bool fair;

	memset(d, 0, sizeof(*d));
	amount = policy__round_up(req->amount, unit);
	minimum = min_u64(policy__round_up(req->minimum, unit), amount);
	if (!minimum)
		minimum = unit;
	/* This request's earmarks are its own room, not more on top. */
	by_max = s->max - min_u64(s->max, s->alloc + ledger_outstanding(vm, k) - earmarked(vm, k));
	if (!amount || minimum > by_max) {
		deny(l, vm, d, VIRTIO_RESOURCE_D_ABOVE_MAX, 0);
		snprintf(d->why, sizeof(d->why), "%s: minimum %llu exceeds the %llu left below max",
			 kname, (unsigned long long)minimum, (unsigned long long)by_max);
		return;
	}
	want = min_u64(amount, by_max);
	room = ledger_room_for(l, vm, k);
	allows = bucket_allows(l, s, k, now_ns);
	now_part = round_down(min_u64(min_u64(want, room), allows), unit);
	if (now_part == want) {
		ledger_grow(l, vm, k, want);
		bucket_take(l, s, k, want);
		ledger_drop_earmarks(vm, k);
		d->verdict = POLICY_GRANT;
		d->amount = want;
		vm->count.grants++;
		vm->count.granted[k] += want;
		l->count.grants++;
		l->count.granted[k] += want;
		snprintf(d->why, sizeof(d->why), "%s: %llu fits in %llu free", kname,
			 (unsigned long long)want, (unsigned long long)room);
		return;
	}

	/* Not all of it now: what reclaims in flight and new ones can free. */
	future = future_room_for(l, vm, k);
	fair = s->alloc + want <= ledger__fair_share(l, vm, k) ||
	       req->urgency >= VIRTIO_RESOURCE_U_CRITICAL;
	short_by = want > future ? want - future : 0;
	reclaimable = short_by ? ledger_plan(l, vm, k, short_by, fair, false, NULL) : 0;
	total = round_down(min_u64(want, future + reclaimable), unit);
	later = total > now_part ? total - now_part : 0;
	reclaim = total > future ? total - future : 0;

	if (now_part >= minimum && now_part) {
		hold = hold_slot(vm, k, req->txn);
		if (!hold) {
			deny(l, vm, d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
			snprintf(d->why, sizeof(d->why), "%s: too many offers are open", kname);
			return;
		}
		*hold = (struct ledger_hold){ req->txn, now_part, later,
					      now_ns + LEDGER_HOLD_MS * 1000000ull };
		bucket_take(l, s, k, now_part);
		ledger_drop_earmarks(vm, k);
		if (reclaim)
			ledger_plan(l, vm, k, reclaim, fair, true, acts);
		d->verdict = POLICY_OFFER;
		d->amount = now_part;
		d->later = later;
		vm->count.offers++;
		l->count.offers++;
		snprintf(d->why, sizeof(d->why), "%s: %llu of %llu now (%s), %llu later%s", kname,
			 (unsigned long long)now_part, (unsigned long long)want,
			 now_part == room ? "all that is free" : "the rate limit",
			 (unsigned long long)later, reclaim ? " from reclaims" : "");
		return;
	}
	if (total >= minimum) {
		/* Room is coming (reclaims, or the rate): keep it for this VM's retry. */
		struct ledger_promise *p;
		bool by_rate = room >= minimum;
		uint32_t retry = by_rate ? rate_ms(l, k, minimum - min_u64(minimum, allows))
					 : rate_ms(l, k, total - min_u64(total, room));

		if (reclaim)
			ledger_plan(l, vm, k, reclaim, fair, true, acts);
		ledger_drop_earmarks(vm, k);
		p = promise_slot(vm, k);
		if (p)
			*p = (struct ledger_promise){
				true, 0, total, now_ns,
				now_ns + ((uint64_t)retry + LEDGER_EARMARK_MS) * 1000000ull
			};
		deny(l, vm, d, by_rate ? VIRTIO_RESOURCE_D_RATE : VIRTIO_RESOURCE_D_HOST_LIMIT,
		     retry);
		snprintf(d->why, sizeof(d->why), "%s: %llu kept for a retry in %u ms (%s)", kname,
			 (unsigned long long)total, retry,
			 by_rate   ? "the rate limit"
			 : reclaim ? "reclaiming"
				   : "room is returning");
		return;
	}
	deny(l, vm, d, VIRTIO_RESOURCE_D_HOST_LIMIT, POLICY_RETRY_MS);
	snprintf(d->why, sizeof(d->why), "%s: minimum %llu exceeds the %llu the host can free",
		 kname, (unsigned long long)minimum, (unsigned long long)total);
}

/* ---- time ---- */

struct claim {
	struct ledger_vm *vm;
	struct ledger_promise *p;
};

static void ledger_expire(struct ledger *l, enum ledger_kind kind, uint64_t now_ns)
{
	ledger_for_each_vm(l, vm) {
		struct ledger_share *s = &vm->k[kind];

		bucket_fill(l, s, kind, now_ns);
		for (unsigned int i = 0; i < LEDGER_MAX_HOLDS; i++) {
			if (s->holds[i].txn && s->holds[i].expires_ns <= now_ns)
				memset(&s->holds[i], 0, sizeof(s->holds[i]));
		}
		for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++) {
			struct ledger_promise *p = &s->promises[i];

			if (p->used && !p->txn && p->expires_ns <= now_ns)
				memset(p, 0, sizeof(*p));
		}
	}
	ledger_settle(l, kind);
}

/* Keep promises oldest first, in whole units, as room and the owner's rate allow. */
static void ledger_keep_promises(struct ledger *l, enum ledger_kind kind, uint64_t now_ns,
				 struct ledger_actions *acts)
{
	struct claim c[LEDGER_MAX_VMS * LEDGER_MAX_PROMISES];
	uint64_t charged = ledger__charged(l, kind), pool = l->cfg.pool[kind], unit;
	uint64_t avail = pool > charged ? pool - charged : 0;
	unsigned int n = 0;

	unit = l->cfg.unit[kind];
	ledger_for_each_vm(l, vm) {
		for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++) {
			if (vm->k[kind].promises[i].used)
				c[n++] = (struct claim){ vm, &vm->k[kind].promises[i] };
		}
	}
	for (unsigned int i = 1; i < n; i++) {
		struct claim x = c[i];
		unsigned int j = i;

		for (; j && c[j - 1].p->since_ns > x.p->since_ns; j--)
			c[j] = c[j - 1];
		c[j] = x;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct ledger_share *s = &c[i].vm->k[kind];
		struct ledger_promise *p = c[i].p;
		uint64_t part;

		if (p->txn && !ledger_acts_full(acts)) {
			part = round_down(min_u64(min_u64(p->amount, avail),
						  bucket_allows(l, s, kind, now_ns)),
					  unit);
			if (part) {
				ledger_grow(l, c[i].vm, kind, part);
				bucket_take(l, s, kind, part);
				p->amount -= part;
				avail -= part;
				c[i].vm->count.deliveries++;
				c[i].vm->count.granted[kind] += part;
				l->count.deliveries++;
				l->count.granted[kind] += part;
				ledger_act(acts, LEDGER_ACT_DELIVER, c[i].vm, kind, p->txn, part,
					   s->alloc);
				if (!p->amount) {
					memset(p, 0, sizeof(*p));
					continue;
				}
			}
		}
		/* First come, first served: what is left of this claim waits before later ones. */
		avail -= min_u64(avail, p->amount);
	}
}

void ledger__tick(struct ledger *l, uint64_t now_ns, struct ledger_actions *acts)
{
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		ledger_expire(l, k, now_ns);
		ledger_keep_promises(l, k, now_ns, acts);
		ledger_fit_pool(l, k, acts);
	}
}
