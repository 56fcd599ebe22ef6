/* SPDX-License-Identifier: MIT */
/*
 * Guest memory reservations (balloon semantics): granules the guest hands
 * back are punched out of the memfd, so the host gets the pages back; ones
 * it takes back again fault in as fresh zero pages.
 */
#ifndef ACCORD_MEMRES_H
#define ACCORD_MEMRES_H

#include <stdbool.h>
#include <stdint.h>

#include "accord/guest_mem.h"

struct mem_reservations {
	const struct guest_mem *mem;
	uint64_t granule;
	uint64_t nr_granules; /* of the guest-physical span, holes included */
	uint64_t *bitmap;     /* one bit per granule of guest-physical space */
	uint64_t reserved;    /* bytes */
};

int memres__init(struct mem_reservations *r, const struct guest_mem *mem, uint64_t granule);
void memres__exit(struct mem_reservations *r);
/* Forget every reservation: the guest owns all its memory again (a device reset). */
void memres__clear(struct mem_reservations *r);
/*
 * Reserve [gpa, gpa+len): whole granules of RAM, none reserved yet.
 * -EINVAL misaligned or empty, -ERANGE not RAM, -EEXIST already reserved.
 */
int memres__reserve(struct mem_reservations *r, uint64_t gpa, uint64_t len);
/* Could [gpa, gpa+len) be reserved now? (The same checks, nothing changed.) */
int memres__check_free(const struct mem_reservations *r, uint64_t gpa, uint64_t len);
/* Is every granule of [gpa, gpa+len) reserved? */
int memres__check_reserved(const struct mem_reservations *r, uint64_t gpa, uint64_t len);
/* Give back [gpa, gpa+len): every granule must be reserved (-ENOENT otherwise). */
int memres__unreserve(struct mem_reservations *r, uint64_t gpa, uint64_t len);
bool memres__is_reserved(const struct mem_reservations *r, uint64_t gpa);

#endif
