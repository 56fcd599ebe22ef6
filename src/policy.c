// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>
#include <linux/virtio_resource.h>

#include "accord/policy.h"

uint64_t policy__round_up(uint64_t v, uint64_t unit)
{
	uint64_t r;

	if (unit <= 1)
		return v;
	r = v % unit;
	if (!r)
		return v;
	return v > UINT64_MAX - (unit - r) ? UINT64_MAX - UINT64_MAX % unit : v + (unit - r);
}

static uint64_t headroom(uint64_t limit, uint64_t used)
{
	return limit > used ? limit - used : 0;
}

uint64_t policy__available(const struct policy_state *st)
{
	uint64_t committed = st->granted + st->pending;
	uint64_t by_max = headroom(st->max, committed), by_pool = headroom(st->pool, committed);

	return by_max < by_pool ? by_max : by_pool;
}

void policy__decide(const struct policy_state *st, const struct policy_request *req,
		    struct policy_decision *d)
{
	uint64_t by_max = headroom(st->max, st->granted + st->pending);
	uint64_t available = policy__available(st);

	memset(d, 0, sizeof(*d));
	if (req->minimum > by_max) {
		d->verdict = POLICY_DENY;
		d->deny_reason = VIRTIO_RESOURCE_D_ABOVE_MAX;
		snprintf(d->why, sizeof(d->why), "minimum %llu exceeds the %llu left below max",
			 (unsigned long long)req->minimum, (unsigned long long)by_max);
	} else if (req->amount <= available) {
		d->verdict = POLICY_GRANT;
		d->amount = req->amount;
		snprintf(d->why, sizeof(d->why), "%llu fits in %llu available",
			 (unsigned long long)req->amount, (unsigned long long)available);
	} else if (available && req->minimum <= available) {
		/* Part now; the rest (never past max) once the host has room again. */
		uint64_t want = req->amount < by_max ? req->amount : by_max;

		d->verdict = POLICY_OFFER;
		d->amount = available;
		d->later = want - available;
		snprintf(d->why, sizeof(d->why), "only %llu of %llu available now",
			 (unsigned long long)available, (unsigned long long)req->amount);
	} else {
		d->verdict = POLICY_DENY;
		d->deny_reason = VIRTIO_RESOURCE_D_HOST_LIMIT;
		d->retry_after_ms = POLICY_RETRY_MS;
		snprintf(d->why, sizeof(d->why), "minimum %llu exceeds the %llu the host can give",
			 (unsigned long long)req->minimum, (unsigned long long)available);
	}
}
