/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM as devices see it: a few regions of guest-physical addresses,
 * each backed by a file (so ballooned ranges can be punched out and other
 * processes can map it) and mapped into accord.
 *
 * Under KVM accord makes the memory itself: one memfd, mapped once, whose
 * low part sits at guest-physical 0 and whose rest continues at 4 GiB after
 * the MMIO hole. Under vhost-user the front end (User-mode Linux) owns the
 * memory and passes its files in VHOST_USER_SET_MEM_TABLE; each region is
 * then a separate mapping of the front end's file.
 */
#ifndef ACCORD_GUEST_MEM_H
#define ACCORD_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "accord/error.h"

#define GUEST_MEM_MAX_REGIONS 8

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;	    /* valid for size bytes */
	int fd;		    /* -1: anonymous (a caller's buffer) */
	uint64_t fd_offset; /* where gpa lies in fd */
};

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t size;	   /* bytes of RAM in all regions */
	uint64_t low_size; /* bytes at guest-physical 0 (the KVM layout) */
	uint64_t span;	   /* every RAM address lies below this */
	/* The KVM layout's one mapping and memfd (NULL / -1 otherwise). */
	uint8_t *host;
	int fd;
};

int guest_mem__create(struct guest_mem *m, uint64_t size, struct acc_err *err);
/* Wrap an existing buffer, for tests of code that writes guest memory. */
void guest_mem__init_buffer(struct guest_mem *m, void *buf, uint64_t size);
/* An empty memory that regions are added to later; @span bounds their addresses. */
void guest_mem__init_empty(struct guest_mem *m, uint64_t span);
/*
 * Add a region; the caller keeps owning @host and @fd. -EINVAL when it is
 * empty, wraps, passes the span or overlaps another; -ENOSPC when full.
 */
int guest_mem__add_region(struct guest_mem *m, uint64_t gpa, uint64_t size, void *host, int fd,
			  uint64_t fd_offset);
/* Forget every region (what they map is the caller's to release). */
void guest_mem__clear_regions(struct guest_mem *m);
void guest_mem__destroy(struct guest_mem *m);
/* Host pointer for [gpa, gpa+len) when it lies in one RAM region, else NULL. */
void *guest_mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Copy into guest memory; -EFAULT when the range is not RAM. */
int guest_mem__write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
/* Give [gpa, gpa+len) back to the host: the pages read as zero afterwards. */
int guest_mem__discard(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* Host memory the backing files hold now (allocated blocks), in bytes; -errno. */
int64_t guest_mem__file_bytes(const struct guest_mem *m);
/* Highest guest-physical address + 1 of the RAM below the hole. */
static inline uint64_t guest_mem__low_end(const struct guest_mem *m)
{
	return m->low_size;
}

#endif
