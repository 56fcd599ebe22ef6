/* SPDX-License-Identifier: MIT */
/*
 * The host's policy for one VM and one kind of resource: given what exists,
 * what the host may give and what is granted, answer a request with a
 * grant, a denial or an offer. Pure: every decision can be unit-tested and
 * carries a one-line reason for the log.
 */
#ifndef ACCORD_POLICY_H
#define ACCORD_POLICY_H

#include <stdint.h>

struct policy_state {
	uint64_t max;	  /* what exists for the VM */
	uint64_t pool;	  /* the most the host grants the VM */
	uint64_t granted; /* the VM's allocation */
	uint64_t pending; /* promised for later (accepted REST_LATER parts) */
	uint64_t unit;	  /* amounts are whole multiples of this */
};

struct policy_request {
	uint64_t amount;  /* wanted on top of the allocation */
	uint64_t minimum; /* the least that helps */
};

enum policy_verdict {
	POLICY_GRANT,
	POLICY_DENY,
	POLICY_OFFER,
};

#define POLICY_RETRY_MS	      5000u /* after a denial for lack of room */
#define POLICY_LATER_DELAY_MS 2000u /* hint for when a REST_LATER part may come */

struct policy_decision {
	enum policy_verdict verdict;
	uint64_t amount;	 /* GRANT: granted; OFFER: the part offered now */
	uint64_t later;		 /* OFFER: the rest, once the host has room (0: none) */
	uint16_t deny_reason;	 /* enum virtio_resource_deny_reason */
	uint32_t retry_after_ms; /* DENY */
	char why[128];
};

/* Round @v up to a whole number of @unit; saturates instead of wrapping. */
uint64_t policy__round_up(uint64_t v, uint64_t unit);
/* What the VM can still be given now, within its max and the host's pool. */
uint64_t policy__available(const struct policy_state *st);
void policy__decide(const struct policy_state *st, const struct policy_request *req,
		    struct policy_decision *d);

#endif
