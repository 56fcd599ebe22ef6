/* SPDX-License-Identifier: MIT */
/*
 * guest/core agreements: the state machine of one negotiated transaction,
 * which both sides enforce, and a fixed-capacity table of them keyed by
 * transaction id (the guest's outgoing-request table; the host's view of a
 * guest's open transactions).
 *
 *   NONE --REQUEST--> REQUESTED --GRANT--> GRANTED --RELEASE--> RELEASED
 *                        |  |                 |  ^  --RECLAIM--> RECLAIMED
 *                     DENY  OFFER     RENEGOTIATE |  --EXPIRE--> EXPIRED (lease)
 *                        v  v                 v   |
 *                  DENIED  OFFERED      RENEGOTIATING (GRANT: new amount;
 *                          |  |  \ACCEPT-> GRANTED     DENY/EXPIRE: old amount)
 *                    DECLINE  EXPIRE
 *
 * rc_transition() holds the complete table (rc_agreement.c, rc_next[]);
 * README.md lists it. Terminal states (DENIED, DECLINED, EXPIRED, RELEASED,
 * RECLAIMED) accept no event.
 */
#ifndef ACCORD_GUEST_CORE_RC_AGREEMENT_H
#define ACCORD_GUEST_CORE_RC_AGREEMENT_H

#include "rc_types.h"

enum rc_state {
	RC_S_NONE,
	RC_S_REQUESTED,
	RC_S_OFFERED,
	RC_S_GRANTED,
	RC_S_DENIED,
	RC_S_DECLINED,
	RC_S_EXPIRED,
	RC_S_RELEASED,
	RC_S_RECLAIMED,
	RC_S_RENEGOTIATING,
	RC_NR_STATES
};

enum rc_event {
	RC_EV_REQUEST,
	RC_EV_GRANT,
	RC_EV_DENY,
	RC_EV_OFFER,
	RC_EV_ACCEPT,
	RC_EV_DECLINE,
	RC_EV_EXPIRE,
	RC_EV_RELEASE,	    /* the guest gives the whole agreement back */
	RC_EV_RELEASE_PART, /* the guest gives part back; stays GRANTED */
	RC_EV_RECLAIM,	    /* the host takes the whole agreement back */
	RC_EV_RECLAIM_PART, /* the host lowers the amount; stays GRANTED */
	RC_EV_RENEGOTIATE,  /* either side reopens a GRANTED agreement */
	RC_NR_EVENTS
};

/* *to = the state after ev in from; RC_EORDER for every illegal pair. */
int rc_transition(enum rc_state from, enum rc_event ev, enum rc_state *to);
bool rc_state_terminal(enum rc_state s);
const char *rc_state_name(enum rc_state s);
const char *rc_event_name(enum rc_event ev);
/* The event a message type stands for (RC_ENOENT for types that are none). */
int rc_event_of_type(uint16_t type, enum rc_event *ev);

/* The last answer the transaction got (hdr.type, hdr.status, deny fields). */
struct rc_answer {
	uint16_t type;
	uint16_t reason;
	uint32_t status;
	uint32_t retry_after_ms;
};

#define RC_COMM_LEN 16

struct rc_entry {
	uint64_t txn; /* never 0 */
	uint32_t app_id;
	uint32_t pid;
	char comm[RC_COMM_LEN]; /* NUL-padded; always NUL-terminated in the table */
	uint16_t kind;
	uint8_t urgency;
	uint8_t latency;
	uint32_t deadline_ms; /* 0: none */
	uint32_t duration_ms; /* 0: indefinitely */
	uint64_t amount;      /* requested */
	uint64_t minimum;
	uint64_t projected;
	uint64_t granted;    /* the agreement's amount now */
	uint64_t proposed;   /* RENEGOTIATING: the new amount asked for */
	enum rc_state state; /* RC_S_NONE: a free slot */
	bool reopened;	     /* an open offer belongs to a renegotiation */
	struct rc_answer last;
	uint32_t offer_id;
	uint64_t created_ns;
	uint64_t updated_ns;
	uint64_t expires_ns;   /* REQUESTED/OFFERED/RENEGOTIATING: deadline (0: none) */
	uint64_t lease_end_ns; /* GRANTED: end of the lease (0: none) */
	uint64_t seq;	       /* order of the last change, for eviction */
};

struct rc_table {
	struct rc_entry *e;
	uint32_t cap;
	uint32_t used;
	uint64_t seq;
};

/* What an event carries; fields an event does not use are ignored. */
struct rc_update {
	/*
	 * GRANT, ACCEPT, RELEASE_PART, RECLAIM_PART: the agreement's amount
	 * afterwards (GRANT: > 0; the PART events: below the current amount,
	 * above 0). RENEGOTIATE: the proposed new amount.
	 */
	uint64_t amount;
	uint32_t offer_id;   /* OFFER: recorded; ACCEPT, DECLINE: must match */
	uint32_t timeout_ms; /* OFFER: expires_ms; GRANT/ACCEPT: lease_ms; RENEGOTIATE: deadline */
	struct rc_answer answer; /* recorded as the last answer when answer.type != 0 */
};

int rc_table_init(struct rc_table *t, struct rc_entry *storage, uint32_t cap);
/*
 * Open a transaction: copies the request fields of req (txn, app_id, pid,
 * comm, kind, urgency, latency, deadline_ms, duration_ms, amount, minimum,
 * projected) into a new REQUESTED entry. When the table is full the least
 * recently changed terminal entry is evicted; RC_EBUSY if none is terminal.
 * RC_EORDER if txn is already in the table (terminal or not), RC_EINVAL for
 * txn 0, RC_ERANGE unless amount > 0 and minimum <= amount.
 */
int rc_table_add(struct rc_table *t, const struct rc_entry *req, uint64_t now_ns,
		 struct rc_entry **out);
int rc_table_find(struct rc_table *t, uint64_t txn, struct rc_entry **out);
/*
 * Apply ev to txn (RC_ENOENT if absent, RC_EORDER if illegal in its state,
 * RC_ERANGE for a bad amount, RC_ENOENT for a wrong offer id); on error the
 * entry is unchanged. An offer made while renegotiating that is declined or
 * lapses leaves the old agreement GRANTED (where rc_transition() alone says
 * DECLINED/EXPIRED).
 */
int rc_table_apply(struct rc_table *t, uint64_t txn, enum rc_event ev, const struct rc_update *u,
		   uint64_t now_ns);
/* Apply EXPIRE to every entry whose deadline or lease has passed; returns how many. */
int rc_table_expire(struct rc_table *t, uint64_t now_ns);
int rc_table_remove(struct rc_table *t, uint64_t txn);
/* Remove the least recently changed terminal entry (RC_ENOENT if none). */
int rc_table_evict(struct rc_table *t);
/* Iterate: *idx starts at 0; returns 0 with *out, or RC_ENOENT at the end. */
int rc_table_next(struct rc_table *t, uint32_t *idx, struct rc_entry **out);

#define rc_table_for_each(t, idx, e) for ((idx) = 0; !rc_table_next((t), &(idx), &(e));)

#endif /* ACCORD_GUEST_CORE_RC_AGREEMENT_H */
