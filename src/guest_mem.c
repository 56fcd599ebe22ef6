// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accord/guest_mem.h"
#include "accord/layout.h"

static uint64_t low_size_for(uint64_t size)
{
	return size < LAYOUT_MMIO_HOLE ? size : LAYOUT_MMIO_HOLE;
}

/* The KVM layout: [0, low) and, past the hole, [4 GiB, 4 GiB + rest). */
static void guest_mem__layout(struct guest_mem *m, uint8_t *host, uint64_t size, int fd)
{
	uint64_t low = low_size_for(size);

	guest_mem__init_empty(m, size > low ? LAYOUT_HIGH_RAM + (size - low) : low);
	m->host = host;
	m->fd = fd;
	m->low_size = low;
	guest_mem__add_region(m, 0, low, host, fd, 0);
	if (size > low)
		guest_mem__add_region(m, LAYOUT_HIGH_RAM, size - low, host + low, fd, low);
}

int guest_mem__create(struct guest_mem *m, uint64_t size, struct acc_err *err)
{
	void *host;
	int fd, ret;

	fd = memfd_create("accord-ram", MFD_CLOEXEC);
	if (fd < 0)
		return acc_errf(err, errno, "guest memory: memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = acc_errf(err, errno, "guest memory: cannot size %llu MiB: %s",
			       (unsigned long long)(size >> 20), strerror(errno));
		goto close_fd;
	}
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (host == MAP_FAILED) {
		ret = acc_errf(err, errno, "guest memory: cannot map %llu MiB: %s",
			       (unsigned long long)(size >> 20), strerror(errno));
		goto close_fd;
	}
	/* Guest RAM has no business in accord's core dumps. */
	madvise(host, size, MADV_DONTDUMP);
	guest_mem__layout(m, host, size, fd);
	return 0;

close_fd:
	close(fd);
	return ret;
}

void guest_mem__init_buffer(struct guest_mem *m, void *buf, uint64_t size)
{
	guest_mem__layout(m, buf, size, -1);
}

void guest_mem__init_empty(struct guest_mem *m, uint64_t span)
{
	memset(m, 0, sizeof(*m));
	m->span = span;
	m->fd = -1;
}

int guest_mem__add_region(struct guest_mem *m, uint64_t gpa, uint64_t size, void *host, int fd,
			  uint64_t fd_offset)
{
	struct guest_mem_region *r;

	if (!size || gpa + size < gpa || gpa + size > m->span)
		return -EINVAL;
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		r = &m->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EINVAL;
	}
	if (m->nr_regions == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	m->regions[m->nr_regions++] = (struct guest_mem_region){ gpa, size, host, fd, fd_offset };
	m->size += size;
	return 0;
}

void guest_mem__clear_regions(struct guest_mem *m)
{
	m->nr_regions = 0;
	m->size = 0;
}

void guest_mem__destroy(struct guest_mem *m)
{
	if (m->fd >= 0) {
		munmap(m->host, m->size);
		close(m->fd);
	}
	guest_mem__init_empty(m, 0);
}

static const struct guest_mem_region *guest_mem__region(const struct guest_mem *m, uint64_t gpa,
							uint64_t len)
{
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		const struct guest_mem_region *r = &m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

void *guest_mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct guest_mem_region *r = guest_mem__region(m, gpa, len);

	return r ? r->host + (gpa - r->gpa) : NULL;
}

int guest_mem__write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = guest_mem__ptr(m, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem__discard(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct guest_mem_region *r = guest_mem__region(m, gpa, len);

	if (!r)
		return -ERANGE;
	if (r->fd < 0) {
		memset(r->host + (gpa - r->gpa), 0, len);
		return 0;
	}
	/* Punching the file frees the pages and drops them from every mapping. */
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(r->fd_offset + (gpa - r->gpa)), (off_t)len))
		return -errno;
	return 0;
}

int64_t guest_mem__file_bytes(const struct guest_mem *m)
{
	int64_t total = 0;

	for (unsigned int i = 0; i < m->nr_regions; i++) {
		bool seen = false;
		struct stat st;

		/* Regions of one file share its blocks: count each file once. */
		for (unsigned int j = 0; j < i; j++)
			seen |= m->regions[j].fd == m->regions[i].fd;
		if (seen || m->regions[i].fd < 0)
			continue;
		if (fstat(m->regions[i].fd, &st))
			return -errno;
		total += (int64_t)st.st_blocks * 512;
	}
	return total;
}
