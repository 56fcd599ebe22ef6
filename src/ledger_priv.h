/* SPDX-License-Identifier: MIT */
/* Shared by src/ledger.c and src/arbiter.c; not part of the ledger's interface. */
#ifndef ACCORD_LEDGER_PRIV_H
#define ACCORD_LEDGER_PRIV_H

#include "accord/ledger.h"

/* Every registered VM of @l (the ledger's own array; a const ledger is only read). */
#define ledger_for_each_vm(l, vm)                                      \
	for (struct ledger_vm *vm = (struct ledger_vm *)(l)->vms;      \
	     vm < (struct ledger_vm *)(l)->vms + LEDGER_MAX_VMS; vm++) \
		if (vm->used)

uint64_t ledger_floor(const struct ledger *l, const struct ledger_vm *vm, enum ledger_kind kind);
/* What open offers (now and later) and promises may still add to @vm's allocation. */
uint64_t ledger_outstanding(const struct ledger_vm *vm, enum ledger_kind kind);
uint64_t ledger_offered_later(const struct ledger_vm *vm, enum ledger_kind kind);
uint64_t ledger_returning(const struct ledger *l, enum ledger_kind kind);
void ledger_settle(struct ledger *l, enum ledger_kind kind);
/* Raise @vm's allocation; what it was still handing back shrinks to fit its max. */
void ledger_grow(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t amount);

/* Free room @vm may have now: the pool less every charge and every claim but its earmarks. */
uint64_t ledger_room_for(const struct ledger *l, const struct ledger_vm *vm, enum ledger_kind kind);
void ledger_drop_earmarks(struct ledger_vm *vm, enum ledger_kind kind);
/* No room for another action: a change that needs one waits (for the next tick). */
static inline bool ledger_acts_full(const struct ledger_actions *acts)
{
	return acts && acts->nr == LEDGER_MAX_ACTIONS;
}

void ledger_act(struct ledger_actions *acts, enum ledger_action_type type,
		const struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn, uint64_t amount,
		uint64_t target);
/* Lower @vm's allocation by @amount now; the guest hands it back (memory) or it is parked. */
void ledger_start_reclaim(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind,
			  uint64_t amount, struct ledger_actions *acts);
/* Reclaim what the pool (and the claims on it) no longer covers. */
void ledger_fit_pool(struct ledger *l, enum ledger_kind kind, struct ledger_actions *acts);

#endif
