/* SPDX-License-Identifier: MIT */
/*
 * An address space (port I/O or MMIO) of device regions. Lookups come from
 * vCPU threads; registration may happen while the guest runs (PCI BARs), so
 * a read-write lock guards the sorted region table.
 */
#ifndef ACCORD_BUS_H
#define ACCORD_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* @offset is relative to the region base; @len is 1, 2, 4 or 8. */
	void (*read)(void *dev, uint64_t offset, void *data, unsigned int len);
	void (*write)(void *dev, uint64_t offset, const void *data, unsigned int len);
};

struct bus_region {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *dev;
};

struct bus {
	pthread_rwlock_t lock;
	struct bus_region *regions;
	unsigned int nr;
	unsigned int cap;
};

int bus__init(struct bus *bus);
void bus__exit(struct bus *bus);
/* -EEXIST when [base, base+len) overlaps a registered region. */
int bus__register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		  void *dev);
int bus__unregister(struct bus *bus, uint64_t base);
/* Dispatch an access; -ENOENT when no region covers it (the caller decides). */
int bus__access(struct bus *bus, uint64_t addr, void *data, unsigned int len, bool write);

#endif
