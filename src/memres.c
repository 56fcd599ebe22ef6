// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accord/memres.h"

/* Granule index of @gpa in guest-physical space (the hole is indexed too, never RAM). */
static uint64_t memres__index(const struct mem_reservations *r, uint64_t gpa)
{
	return gpa / r->granule;
}

static bool memres__test(const struct mem_reservations *r, uint64_t i)
{
	return r->bitmap[i / 64] & (1ull << (i % 64));
}

static void memres__assign(struct mem_reservations *r, uint64_t i, bool set)
{
	if (set)
		r->bitmap[i / 64] |= 1ull << (i % 64);
	else
		r->bitmap[i / 64] &= ~(1ull << (i % 64));
}

int memres__init(struct mem_reservations *r, const struct guest_mem *mem, uint64_t granule)
{
	uint64_t span = mem->span;

	memset(r, 0, sizeof(*r));
	if (!granule || (granule & (granule - 1)) || granule % 4096)
		return -EINVAL;
	r->mem = mem;
	r->granule = granule;
	r->nr_granules = (span + granule - 1) / granule;
	r->bitmap = calloc((r->nr_granules + 63) / 64, sizeof(uint64_t));
	return r->bitmap ? 0 : -ENOMEM;
}

void memres__clear(struct mem_reservations *r)
{
	memset(r->bitmap, 0, (r->nr_granules + 63) / 64 * sizeof(uint64_t));
	r->reserved = 0;
}

void memres__exit(struct mem_reservations *r)
{
	free(r->bitmap);
	r->bitmap = NULL;
}

/* The range must be whole granules of RAM, inside one RAM region. */
static int memres__check(const struct mem_reservations *r, uint64_t gpa, uint64_t len)
{
	if (!len || gpa % r->granule || len % r->granule || gpa + len < gpa)
		return -EINVAL;
	if (!guest_mem__ptr(r->mem, gpa, len))
		return -ERANGE;
	return 0;
}

bool memres__is_reserved(const struct mem_reservations *r, uint64_t gpa)
{
	uint64_t i = memres__index(r, gpa);

	return i < r->nr_granules && memres__test(r, i);
}

/* Every granule of [gpa, gpa+len) is in the state @reserved; -EEXIST/-ENOENT if not. */
static int memres__check_all(const struct mem_reservations *r, uint64_t gpa, uint64_t len,
			     bool reserved)
{
	uint64_t first = memres__index(r, gpa), n;
	int ret;

	ret = memres__check(r, gpa, len);
	if (ret)
		return ret;
	n = len / r->granule;
	for (uint64_t i = 0; i < n; i++) {
		if (memres__test(r, first + i) != reserved)
			return reserved ? -ENOENT : -EEXIST;
	}
	return 0;
}

int memres__check_free(const struct mem_reservations *r, uint64_t gpa, uint64_t len)
{
	return memres__check_all(r, gpa, len, false);
}

int memres__check_reserved(const struct mem_reservations *r, uint64_t gpa, uint64_t len)
{
	return memres__check_all(r, gpa, len, true);
}

int memres__reserve(struct mem_reservations *r, uint64_t gpa, uint64_t len)
{
	uint64_t first = memres__index(r, gpa), n = len / r->granule;
	int ret;

	ret = memres__check_free(r, gpa, len);
	if (ret)
		return ret;
	ret = guest_mem__discard(r->mem, gpa, len);
	if (ret)
		return ret;
	for (uint64_t i = 0; i < n; i++)
		memres__assign(r, first + i, true);
	r->reserved += len;
	return 0;
}

int memres__unreserve(struct mem_reservations *r, uint64_t gpa, uint64_t len)
{
	uint64_t first = memres__index(r, gpa), n = len / r->granule;
	int ret;

	ret = memres__check_reserved(r, gpa, len);
	if (ret)
		return ret;
	for (uint64_t i = 0; i < n; i++)
		memres__assign(r, first + i, false);
	r->reserved -= len;
	return 0;
}
