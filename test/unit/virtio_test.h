/* SPDX-License-Identifier: MIT */
/*
 * Shared by the parts of the unit_virtio runner. The test plays the virtio
 * driver: it writes descriptors and rings into a calloc'd buffer that the
 * device sees as guest RAM, and reads back what the device answered.
 */
#ifndef ACCORD_TEST_VIRTIO_TEST_H
#define ACCORD_TEST_VIRTIO_TEST_H

#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_ring.h>

#include "accord/guest_mem.h"
#include "accord/log.h"
#include "accord/virtio.h"
#include "accord/tmpfile.h"

#define TEST_RAM_SIZE 0x100000u /* guest RAM: 1 MiB at guest-physical 0 */

/* The driver's half of one split virtqueue; the rings take base .. base + 0x3000. */
struct vring_drv {
	uint8_t *ram;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t avail_idx;
};

static inline void vring_drv__init(struct vring_drv *d, uint8_t *ram, uint16_t size, uint64_t base)
{
	d->ram = ram;
	d->size = size;
	d->desc_gpa = base;
	d->avail_gpa = base + 0x1000;
	d->used_gpa = base + 0x2000;
	d->avail_idx = 0;
}

/* Descriptor @i of the table at @table_gpa (the ring's or an indirect one). */
static inline void put_desc(uint8_t *ram, uint64_t table_gpa, uint16_t i, uint64_t addr,
			    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)(ram + table_gpa) + i;

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static inline void drv__desc(struct vring_drv *d, uint16_t i, uint64_t addr, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	put_desc(d->ram, d->desc_gpa, i, addr, len, flags, next);
}

static inline struct vring_avail *drv__avail(const struct vring_drv *d)
{
	return (struct vring_avail *)(d->ram + d->avail_gpa);
}

static inline struct vring_used *drv__used(const struct vring_drv *d)
{
	return (struct vring_used *)(d->ram + d->used_gpa);
}

/* Make the chain at @head available and publish the new index. */
static inline void drv__post(struct vring_drv *d, uint16_t head)
{
	struct vring_avail *a = drv__avail(d);

	a->ring[d->avail_idx % d->size] = htole16(head);
	d->avail_idx++;
	__atomic_store_n(&a->idx, htole16(d->avail_idx), __ATOMIC_RELEASE);
}

static inline uint16_t drv__used_idx(const struct vring_drv *d)
{
	return le16toh(__atomic_load_n(&drv__used(d)->idx, __ATOMIC_ACQUIRE));
}

static inline uint32_t drv__used_id(const struct vring_drv *d, uint16_t i)
{
	return le32toh(drv__used(d)->ring[i % d->size].id);
}

static inline uint32_t drv__used_len(const struct vring_drv *d, uint16_t i)
{
	return le32toh(drv__used(d)->ring[i % d->size].len);
}

/* The event-index fields that follow the rings (VIRTIO_RING_F_EVENT_IDX). */
static inline void drv__set_used_event(const struct vring_drv *d, uint16_t v)
{
	drv__avail(d)->ring[d->size] = htole16(v);
}

static inline uint16_t drv__avail_event(const struct vring_drv *d)
{
	uint16_t v;

	memcpy(&v, &drv__used(d)->ring[d->size], sizeof(v));
	return le16toh(v);
}

static inline void drv__set_avail_event(const struct vring_drv *d, uint16_t v)
{
	v = htole16(v);
	memcpy(&drv__used(d)->ring[d->size], &v, sizeof(v));
}

/* A transport that counts the interrupts a device raises. */
struct irq_rec {
	unsigned int queue[VIRTIO_MAX_QUEUES];
	unsigned int config;
};

static inline void irq_rec__queue(void *ctx, unsigned int q)
{
	((struct irq_rec *)ctx)->queue[q]++;
}

static inline void irq_rec__config(void *ctx)
{
	((struct irq_rec *)ctx)->config++;
}

static inline const struct virtio_transport_ops *irq_rec__ops(void)
{
	static const struct virtio_transport_ops ops = { .queue_interrupt = irq_rec__queue,
							 .config_interrupt = irq_rec__config };

	return &ops;
}

/* Guest errors are logged as warnings; keep the test output to real errors. */
static inline void test_log__init(struct acc_log *log, struct ratelimit *rl)
{
	log__init(log, "unit", LOG_ERROR);
	ratelimit__init(rl, 1000, 10);
}

/* The byte an image file holds at @off: differs between neighbouring sectors. */
static inline uint8_t image_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512 + 1);
}

/*
 * A temporary image of @size bytes filled with image_byte(); @path receives
 * its name. Returns a descriptor the test reads the image back through, so
 * the caller can unlink the file as soon as the device has opened it.
 */
static inline int make_image(char *path, size_t path_len, size_t size)
{
	uint8_t *buf = malloc(size);
	int fd;

	ck_assert_ptr_nonnull(buf);
	fd = acc_mkstemp(path, path_len, "/tmp", "acc-vio");
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < size; i++)
		buf[i] = image_byte(i);
	ck_assert_int_eq(pwrite(fd, buf, size, 0), (ssize_t)size);
	free(buf);
	return fd;
}

Suite *virtq_suite(void);      /* test_virtq.c */
Suite *blk_suite(void);	       /* test_blk.c */
Suite *virtio_pci_suite(void); /* test_virtio_pci.c */
Suite *vhost_user_suite(void); /* test_vhost_user.c */

#endif
