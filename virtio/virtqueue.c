// SPDX-License-Identifier: MIT
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "accord/virtqueue.h"

#define DESC_SIZE sizeof(struct vring_desc)

void virtq__reset(struct virtq *vq, uint16_t max_size)
{
	memset(vq, 0, sizeof(*vq));
	vq->max_size = max_size;
	vq->size = max_size;
	vq->msix_vector = 0xffff; /* VIRTIO_MSI_NO_VECTOR */
}

static bool power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

int virtq__start(struct virtq *vq, const struct guest_mem *mem, bool event_idx, bool indirect,
		 const char **why)
{
	uint64_t n = vq->size;

	if (!power_of_two(n) || n > VIRTQ_MAX_SIZE || n > vq->max_size) {
		*why = "queue size is not a power of two up to the maximum";
		return -EINVAL;
	}
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3)) {
		*why = "ring address is misaligned";
		return -EINVAL;
	}
	/* The event fields sit after each ring; map them whether used or not. */
	vq->desc = guest_mem__ptr(mem, vq->desc_gpa, n * DESC_SIZE);
	vq->avail = guest_mem__ptr(mem, vq->avail_gpa, 6 + 2 * n);
	vq->used = guest_mem__ptr(mem, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		/* A queue counts as started by its rings: leave none half set. */
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		*why = "ring lies outside guest RAM";
		return -EFAULT;
	}
	vq->mem = mem;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->last_avail = 0;
	vq->used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	vq->signalled_used_valid = false;
	return 0;
}

static uint16_t *used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event(struct virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

static int chain_add(struct virtq_chain *c, const struct virtq *vq, const struct vring_desc *d,
		     const char **why)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	bool write = le16toh(d->flags) & VRING_DESC_F_WRITE;
	uint8_t *p;

	if (c->nr_out + c->nr_in == VIRTQ_CHAIN_MAX) {
		*why = "descriptor chain is too long";
		return -EINVAL;
	}
	if (!write && c->nr_in) {
		*why = "readable descriptor after a writable one";
		return -EINVAL;
	}
	p = guest_mem__ptr(vq->mem, addr, len);
	if (!p) {
		*why = "buffer lies outside guest RAM";
		return -EFAULT;
	}
	c->bufs[c->nr_out + c->nr_in] = (struct virtq_buf){ p, len };
	if (write) {
		c->nr_in++;
		c->in_len += len;
	} else {
		c->nr_out++;
		c->out_len += len;
	}
	return 0;
}

/* Walk an indirect table (§2.7.5.3): no nesting, every entry inside the table. */
static int chain_indirect(struct virtq_chain *c, const struct virtq *vq, const struct vring_desc *d,
			  unsigned int *budget, const char **why)
{
	uint32_t len = le32toh(d->len);
	const struct vring_desc *table;
	unsigned int n = len / DESC_SIZE, i = 0;
	int ret;

	if (!vq->indirect) {
		*why = "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
		return -EINVAL;
	}
	if (!len || len % DESC_SIZE) {
		*why = "indirect table length is not a multiple of 16";
		return -EINVAL;
	}
	if (le16toh(d->flags) & VRING_DESC_F_NEXT) {
		*why = "indirect descriptor also has NEXT";
		return -EINVAL;
	}
	table = guest_mem__ptr(vq->mem, le64toh(d->addr), len);
	if (!table) {
		*why = "indirect table lies outside guest RAM";
		return -EFAULT;
	}
	for (;;) {
		struct vring_desc e;

		if (!(*budget)--) {
			*why = "descriptor chain loops or is too long";
			return -EINVAL;
		}
		memcpy(&e, &table[i], sizeof(e));
		if (le16toh(e.flags) & VRING_DESC_F_INDIRECT) {
			*why = "nested indirect descriptor";
			return -EINVAL;
		}
		ret = chain_add(c, vq, &e, why);
		if (ret)
			return ret;
		if (!(le16toh(e.flags) & VRING_DESC_F_NEXT))
			return 0;
		i = le16toh(e.next);
		if (i >= n) {
			*why = "indirect next index out of range";
			return -EINVAL;
		}
	}
}

int virtq__pop(struct virtq *vq, struct virtq_chain *chain, const char **why)
{
	uint16_t avail_idx, head, i;
	unsigned int budget = vq->size;
	int ret;

	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	if (avail_idx == vq->last_avail)
		return -ENOENT;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		*why = "available index moved by more than the queue size";
		return -EINVAL;
	}
	head = le16toh(vq->avail->ring[vq->last_avail % vq->size]);
	if (head >= vq->size) {
		*why = "chain head out of range";
		return -EINVAL;
	}
	chain->head = head;
	chain->nr_out = chain->nr_in = 0;
	chain->out_len = chain->in_len = 0;

	for (i = head;;) {
		struct vring_desc d;

		if (!budget--) {
			*why = "descriptor chain loops or is too long";
			return -EINVAL;
		}
		/* One copy: the driver may rewrite the descriptor while we look. */
		memcpy(&d, &vq->desc[i], sizeof(d));
		if (le16toh(d.flags) & VRING_DESC_F_INDIRECT) {
			/* The table may hold a whole queue's worth; its pointer is not counted. */
			budget++;
			ret = chain_indirect(chain, vq, &d, &budget, why);
			if (ret)
				return ret;
			break;
		}
		ret = chain_add(chain, vq, &d, why);
		if (ret)
			return ret;
		if (!(le16toh(d.flags) & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= vq->size) {
			*why = "next index out of range";
			return -EINVAL;
		}
	}
	vq->last_avail++;
	return 0;
}

void virtq__push(struct virtq *vq, uint16_t head, uint32_t written)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->size];

	e->id = htole32(head);
	e->len = htole32(written);
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

bool virtq__should_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, new_idx = vq->used_idx, event;
	bool valid = vq->signalled_used_valid;

	/* The used index must be visible before we read the driver's wishes. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(le16toh(vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = new_idx;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	event = le16toh(__atomic_load_n(used_event(vq), __ATOMIC_RELAXED));
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq__enable_notify(struct virtq *vq)
{
	if (vq->event_idx)
		__atomic_store_n(avail_event(vq), htole16(vq->last_avail), __ATOMIC_RELAXED);
	/* Publish the event index before looking for buffers added meanwhile. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE)) != vq->last_avail;
}

/* Copy between @buf and [offset, offset+len) of bufs[first..end) of @chain. */
static uint64_t virtq__copy(const struct virtq_chain *chain, unsigned int first, unsigned int end,
			    uint64_t offset, uint8_t *buf, uint64_t len, bool to_guest)
{
	uint64_t done = 0;

	for (unsigned int i = first; i < end && done < len; i++) {
		const struct virtq_buf *b = &chain->bufs[i];
		uint64_t n;

		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		n = b->len - offset;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(b->addr + offset, buf + done, n);
		else
			memcpy(buf + done, b->addr + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}

uint64_t virtq__read(const struct virtq_chain *chain, uint64_t offset, void *dst, uint64_t len)
{
	return virtq__copy(chain, 0, chain->nr_out, offset, dst, len, false);
}

uint64_t virtq__write(const struct virtq_chain *chain, uint64_t offset, const void *src,
		      uint64_t len)
{
	return virtq__copy(chain, chain->nr_out, chain->nr_out + chain->nr_in, offset,
			   (uint8_t *)src, len, true);
}
