// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accord/guest_mem.h"
#include "accord/layout.h"

static uint64_t low_size_for(uint64_t size)
{
	return size < LAYOUT_MMIO_HOLE ? size : LAYOUT_MMIO_HOLE;
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
	m->host = host;
	m->size = size;
	m->low_size = low_size_for(size);
	m->fd = fd;
	return 0;

close_fd:
	close(fd);
	return ret;
}

void guest_mem__init_buffer(struct guest_mem *m, void *buf, uint64_t size)
{
	m->host = buf;
	m->size = size;
	m->low_size = low_size_for(size);
	m->fd = -1;
}

void guest_mem__destroy(struct guest_mem *m)
{
	if (m->fd >= 0) {
		munmap(m->host, m->size);
		close(m->fd);
	}
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

void *guest_mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (gpa < m->low_size) {
		if (len > m->low_size - gpa)
			return NULL;
		return m->host + gpa;
	}
	if (gpa >= LAYOUT_HIGH_RAM) {
		uint64_t off = gpa - LAYOUT_HIGH_RAM, high = m->size - m->low_size;

		if (off >= high || len > high - off)
			return NULL;
		return m->host + m->low_size + off;
	}
	return NULL;
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
	uint8_t *p = guest_mem__ptr(m, gpa, len);

	if (!p)
		return -ERANGE;
	if (m->fd < 0) {
		memset(p, 0, len);
		return 0;
	}
	/* Punching the memfd frees the pages and drops them from every mapping. */
	if (fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(p - m->host),
		      (off_t)len))
		return -errno;
	return 0;
}
