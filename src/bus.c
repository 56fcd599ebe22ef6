// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accord/bus.h"

int bus__init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus__exit(struct bus *bus)
{
	free(bus->regions);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first region whose base is greater than @addr. */
static unsigned int bus__upper(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (bus->regions[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus__register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		  void *dev)
{
	unsigned int i;
	int ret = 0;

	if (!len || base + len - 1 < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = bus__upper(bus, base);
	if ((i > 0 && bus->regions[i - 1].base + bus->regions[i - 1].len > base) ||
	    (i < bus->nr && bus->regions[i].base <= base + len - 1)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_region *r = realloc(bus->regions, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		bus->regions = r;
		bus->cap = cap;
	}
	memmove(&bus->regions[i + 1], &bus->regions[i], (bus->nr - i) * sizeof(bus->regions[0]));
	bus->regions[i] = (struct bus_region){ base, len, ops, dev };
	bus->nr++;
out_unlock:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus__unregister(struct bus *bus, uint64_t base)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus__upper(bus, base);
	if (i > 0 && bus->regions[i - 1].base == base) {
		i--;
		memmove(&bus->regions[i], &bus->regions[i + 1],
			(bus->nr - i - 1) * sizeof(bus->regions[0]));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus__access(struct bus *bus, uint64_t addr, void *data, unsigned int len, bool write)
{
	const struct bus_region *r;
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_rdlock(&bus->lock);
	i = bus__upper(bus, addr);
	if (i == 0)
		goto out_unlock;
	r = &bus->regions[i - 1];
	/* The whole access must fall inside one region. */
	if (addr - r->base >= r->len || len > r->len - (addr - r->base))
		goto out_unlock;
	if (write) {
		if (r->ops->write)
			r->ops->write(r->dev, addr - r->base, data, len);
	} else if (r->ops->read) {
		r->ops->read(r->dev, addr - r->base, data, len);
	} else {
		memset(data, 0xff, len);
	}
	ret = 0;
out_unlock:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}
