/* SPDX-License-Identifier: MIT */
/*
 * The broker's ledger: one host's pool of memory and vCPUs, what each
 * registered VM holds of it, and the arbitration between them. Pure (time is
 * an argument, effects come back as actions for the caller to carry out), so
 * every rule can be driven by unit tests and by a simulation that checks the
 * invariant after every step.
 *
 * What a VM is charged for a kind (its "charge") is what it holds now or may
 * hold without asking again: its allocation, what it is still handing back
 * after a reclaim, and what open offers hold for it. The ledger never lets
 * the charges add up to more than the pool; a grant, an offer, an accepted
 * offer and a delivered promise are all checked against that. Promises (the
 * "rest later" of accepted offers) and earmarks (room being freed for a VM
 * that was told to retry) are claims on room that reclaims are freeing; they
 * are delivered only when the room is really there.
 *
 * Arbitration: each VM has a weight and a floor per kind. A VM's fair share
 * is its floor plus the rest of the pool split by weight. Room comes, in
 * order, from what is free, from VMs whose forecast shows slack (allocation
 * above the larger of the floor and the forecast plus the buffer), and, for a
 * VM below its fair share, from VMs above theirs (down to the share, never
 * below the floor). Any VM's allocation grows no faster than the rate
 * (a token bucket); more than the bucket holds is offered as part now and
 * the rest later.
 */
#ifndef ACCORD_LEDGER_H
#define ACCORD_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "accord/error.h"
#include "accord/policy.h"

enum ledger_kind {
	LEDGER_MEM,
	LEDGER_VCPU,
	LEDGER_NR_KINDS,
};

#define LEDGER_MAX_VMS	      64
#define LEDGER_MAX_NAME	      63
#define LEDGER_MAX_HOLDS      16 /* open offers per VM and kind */
#define LEDGER_MAX_PROMISES   16 /* promises and earmarks per VM and kind */
#define LEDGER_MAX_ACTIONS    (2 * LEDGER_MAX_VMS)
#define LEDGER_DEFAULT_WEIGHT 100
#define LEDGER_MAX_WEIGHT     10000
#define LEDGER_DEFAULT_BUFFER 20     /* percent over forecast demand, as Hyper-V keeps */
#define LEDGER_HOLD_MS	      15000u /* an offer's hold outlives the guest's view of it */
#define LEDGER_EARMARK_MS     10000u /* room freed for a denied VM waits this long past retry */
#define LEDGER_MIN_RETRY_MS   1000u
/* Any amount or pool, so that sums over every VM's holdings cannot wrap. */
#define LEDGER_MAX_AMOUNT (1ull << 48)

struct ledger_config {
	uint64_t pool[LEDGER_NR_KINDS];
	uint64_t unit[LEDGER_NR_KINDS]; /* amounts are whole multiples */
	uint64_t rate[LEDGER_NR_KINDS]; /* most a VM's allocation moves per second */
	uint32_t buffer_pct;		/* kept above forecast demand */
	/*
	 * The end of the recovery window (on now_ns's clock): registrations
	 * with resume are believed before it, checked like a new VM's from
	 * then on. 0: always believed (a ledger without a broker start;
	 * hostd always sets it).
	 */
	uint64_t resume_until_ns;
};

struct ledger_policy {
	uint32_t weight; /* 1..LEDGER_MAX_WEIGHT */
	uint64_t floor[LEDGER_NR_KINDS];
};

/* Room held for an open offer's part now. */
struct ledger_hold {
	uint64_t txn; /* 0: free slot */
	uint64_t amount;
	uint64_t later; /* what the offer promises if accepted */
	uint64_t expires_ns;
};

/* A claim on room being freed: a promise (txn != 0) or an earmark (txn 0). */
struct ledger_promise {
	bool used;
	uint64_t txn;
	uint64_t amount;
	uint64_t since_ns;
	uint64_t expires_ns; /* earmarks only */
};

struct ledger_share {
	uint64_t max;	    /* what exists for the VM */
	uint64_t alloc;	    /* granted */
	uint64_t returning; /* reclaimed, not yet handed back */
	uint64_t used;	    /* the guest's latest usage (0: unknown) */
	uint64_t forecast;  /* the guest's latest forecast */
	bool has_forecast;
	uint64_t tokens;    /* the rate bucket, in units of the kind */
	uint64_t tokens_ns; /* when it was last filled */
	struct ledger_hold holds[LEDGER_MAX_HOLDS];
	struct ledger_promise promises[LEDGER_MAX_PROMISES];
};

struct ledger_counters {
	uint64_t grants, denies, offers, accepts, declines, reclaims, deliveries, releases;
	uint64_t granted[LEDGER_NR_KINDS];   /* amounts */
	uint64_t reclaimed[LEDGER_NR_KINDS]; /* amounts */
};

struct ledger_vm {
	bool used;
	uint32_t id; /* the guest id the broker gave it, never reused while it lives */
	char name[LEDGER_MAX_NAME + 1];
	bool driver; /* the guest driver answers (reclaims can be asked of it) */
	struct ledger_policy policy;
	struct ledger_share k[LEDGER_NR_KINDS];
	struct ledger_counters count;
};

struct ledger {
	struct ledger_config cfg;
	struct ledger_vm vms[LEDGER_MAX_VMS];
	unsigned int nr_vms;
	uint32_t next_id;
	/* Charges above the pool that resuming VMs brought with them; only shrinks. */
	uint64_t excess[LEDGER_NR_KINDS];
	struct ledger_counters count;
};

/* What a VM reports when it registers (again, after a broker restart: resume). */
struct ledger_registration {
	const char *name;
	bool resume; /* it says it held its allocation before this broker started */
	bool driver;
	uint32_t want_id; /* a resuming VM keeps its id if it is free (0: any) */
	uint64_t max[LEDGER_NR_KINDS];
	uint64_t alloc[LEDGER_NR_KINDS];
	uint64_t returning[LEDGER_NR_KINDS];
	bool has_policy; /* else the defaults: weight 100, floor = what it boots with */
	struct ledger_policy policy;
};

enum ledger_action_type {
	LEDGER_ACT_RECLAIM, /* ask @vm to hand back @amount (its allocation is already lowered) */
	LEDGER_ACT_DELIVER, /* a promise is kept: @amount more for agreement @txn */
	LEDGER_ACT_EXPAND,  /* operator growth of @vm's allocation by @amount */
};

struct ledger_action {
	enum ledger_action_type type;
	uint32_t vm_id;
	enum ledger_kind kind;
	uint64_t txn;
	uint64_t amount;
	uint64_t target; /* the allocation afterwards */
};

struct ledger_actions {
	unsigned int nr;
	unsigned int dropped; /* did not fit; changes that need an action wait for room instead */
	struct ledger_action a[LEDGER_MAX_ACTIONS];
};

struct ledger_request {
	enum ledger_kind kind;
	uint64_t txn;
	uint64_t amount;  /* wanted on top of the allocation */
	uint64_t minimum; /* the least that helps */
	uint8_t urgency;  /* enum virtio_resource_urgency */
};

/* Start empty with @cfg (pool, units, rates, buffer). */
int ledger__init(struct ledger *l, const struct ledger_config *cfg, struct acc_err *err);

/*
 * A new VM must fit the free pool, and all floors the pool. A resuming VM
 * keeps what it says it holds, unchecked, while the ledger recovers
 * (ledger__recovering); what that puts above the pool is the overcommit,
 * which reclaims bring back (ledger__tick). After the window a resume is
 * checked like a new VM.
 */
int ledger__register(struct ledger *l, const struct ledger_registration *reg, uint64_t now_ns,
		     struct ledger_vm **out, struct acc_err *err);
/* Registrations with resume are believed at @now_ns (cfg.resume_until_ns). */
bool ledger__recovering(const struct ledger *l, uint64_t now_ns);
/* The VM is gone: everything it held or was promised goes back to the pool. */
void ledger__unregister(struct ledger *l, struct ledger_vm *vm);
struct ledger_vm *ledger__find(struct ledger *l, uint32_t id);
struct ledger_vm *ledger__find_name(struct ledger *l, const char *name);
/* A VM name: 1 to LEDGER_MAX_NAME letters, digits, '-', '_' or '.'. */
int ledger__check_name(const char *name, struct acc_err *err);

/*
 * Answer a request from @vm. GRANT: the allocation grew by d->amount.
 * OFFER: d->amount is held until accept/decline/expiry, d->later is the
 * promise if accepted. DENY: nothing changed, except that room a retry can
 * have may be earmarked and reclaims asked for (in @acts).
 */
void ledger__decide(struct ledger *l, struct ledger_vm *vm, const struct ledger_request *req,
		    uint64_t now_ns, struct policy_decision *d, struct ledger_actions *acts);
/* The guest took an offer: @now from its hold, @later as a promise. */
int ledger__accept(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn,
		   uint64_t now_amount, uint64_t later, uint64_t now_ns, struct acc_err *err);
/* The guest declined an offer, or it lapsed at the VM. */
int ledger__decline(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn);
/* The guest gave back @amount (a release, an accepted renegotiation down). */
int ledger__release(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t amount,
		    struct acc_err *err);
/* What the VM still has to hand back of its reclaims (it only goes down). */
void ledger__returning(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind,
		       uint64_t returning);
/* A promise the VM no longer wants (its agreement ended). */
void ledger__cancel(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn);
/* The guest's usage and forecast, from its statistics. */
void ledger__usage(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t used,
		   uint64_t forecast);

/* Operator: set @vm's allocation of @kind (growth needs free room; shrinking reclaims). */
int ledger__set_allocation(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind,
			   uint64_t target, uint64_t now_ns, struct ledger_actions *acts,
			   struct acc_err *err);
/* Operator: reclaim @amount from @vm. */
int ledger__reclaim(struct ledger *l, struct ledger_vm *vm, enum ledger_kind kind, uint64_t amount,
		    uint64_t now_ns, struct ledger_actions *acts, struct acc_err *err);
int ledger__set_policy(struct ledger *l, struct ledger_vm *vm, const struct ledger_policy *p,
		       struct acc_err *err);
/* Operator: resize the pool, rates or buffer; a smaller pool reclaims what no longer fits. */
int ledger__configure(struct ledger *l, const struct ledger_config *cfg, uint64_t now_ns,
		      struct ledger_actions *acts, struct acc_err *err);

/*
 * Time passes: lapsed holds and earmarks give back their room, promises
 * are kept where room and rate allow (DELIVER actions), and reclaims are
 * asked for the room that promises and earmarks still wait for.
 */
void ledger__tick(struct ledger *l, uint64_t now_ns, struct ledger_actions *acts);

/* Sums for views and the invariant. */
uint64_t ledger__charge(const struct ledger_vm *vm, enum ledger_kind kind);
uint64_t ledger__charged(const struct ledger *l, enum ledger_kind kind);
uint64_t ledger__claimed(const struct ledger *l, enum ledger_kind kind);
uint64_t ledger__fair_share(const struct ledger *l, const struct ledger_vm *vm,
			    enum ledger_kind kind);
uint64_t ledger__slack(const struct ledger *l, const struct ledger_vm *vm, enum ledger_kind kind);
uint64_t ledger__promised(const struct ledger_vm *vm, enum ledger_kind kind);
uint64_t ledger__held(const struct ledger_vm *vm, enum ledger_kind kind);
/* More than the pool, inherited from VMs that resumed after a restart (0 normally). */
uint64_t ledger__overcommit(const struct ledger *l, enum ledger_kind kind);

/* Check every rule of the ledger; 0, or -EFAULT with the first broken one in @err. */
int ledger__check(const struct ledger *l, struct acc_err *err);

const char *ledger__kind_name(enum ledger_kind kind);
int ledger__kind_parse(const char *name, enum ledger_kind *kind);

#endif
