/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one memfd (so later vhost-user backends can map it and ballooned
 * ranges can be punched out), mapped once into accord. The low part sits at
 * guest-physical 0, anything beyond the 3 GiB hole continues at 4 GiB.
 */
#ifndef ACCORD_GUEST_MEM_H
#define ACCORD_GUEST_MEM_H

#include <stdint.h>

#include "accord/error.h"

struct guest_mem {
	uint8_t *host;
	uint64_t size;
	uint64_t low_size; /* bytes at guest-physical 0 */
	int fd;		   /* -1 when the memory is a caller's buffer (tests) */
};

int guest_mem__create(struct guest_mem *m, uint64_t size, struct acc_err *err);
/* Wrap an existing buffer, for tests of code that writes guest memory. */
void guest_mem__init_buffer(struct guest_mem *m, void *buf, uint64_t size);
void guest_mem__destroy(struct guest_mem *m);
/* Host pointer for [gpa, gpa+len) when it lies in one RAM range, else NULL. */
void *guest_mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Copy into guest memory; -EFAULT when the range is not RAM. */
int guest_mem__write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
/* Give [gpa, gpa+len) back to the host: the pages read as zero afterwards. */
int guest_mem__discard(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Highest guest-physical address + 1 of the RAM below the hole. */
static inline uint64_t guest_mem__low_end(const struct guest_mem *m)
{
	return m->low_size;
}

#endif
