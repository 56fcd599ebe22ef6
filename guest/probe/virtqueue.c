// SPDX-License-Identifier: MIT
/*
 * Split virtqueues, one request in flight at a time. Each queue lives in one
 * page of .bss: descriptors at +0, the available ring at +256, the used ring
 * at +512, an indirect descriptor table at +1024. Chains start where the
 * previous one ended, so heads and descriptor indices move around the table.
 *
 * Interrupt suppression: with VIRTIO_F_EVENT_IDX the driver writes used_event
 * (the used index after which it wants an interrupt) and notifies only when
 * the device's avail_event says so; without it, VRING_AVAIL_F_NO_INTERRUPT
 * and VRING_USED_F_NO_NOTIFY.
 */
#include "virtio.h"

#define VQ_PAGES     8 /* rng 1, blk 1, resource 5 */
#define OFF_AVAIL    256
#define OFF_USED     512
#define OFF_INDIRECT 1024

/* About 3 s at ~3 GHz; the loops also stop after a fixed count. */
#define WAIT_CYCLES (1UL << 33)
#define POLL_LOOPS  4000000U
/* After a polled completion: time for a (wrong) interrupt to arrive. */
#define QUIET_CYCLES (1UL << 22)

static uint8_t vq_pages[VQ_PAGES][4096] __attribute__((aligned(4096)));
static unsigned int vq_pages_used;

bool vq_init(struct virtqueue *vq, uint16_t index, uint16_t size, uint64_t features)
{
	uint8_t *page;

	if (vq_pages_used == VQ_PAGES || !size || size > VQ_SIZE_MAX)
		return false;
	page = vq_pages[vq_pages_used++];
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->size = size;
	vq->event_idx = features & VIRTIO_F_EVENT_IDX;
	vq->indirect = features & VIRTIO_F_INDIRECT_DESC;
	vq->desc = (struct vring_desc *)page;
	vq->avail = (volatile struct vring_avail *)(page + OFF_AVAIL);
	vq->used = (volatile struct vring_used *)(page + OFF_USED);
	vq->table = (struct vring_desc *)(page + OFF_INDIRECT);
	return true;
}

uint64_t vq_addr_desc(const struct virtqueue *vq)
{
	return (uintptr_t)vq->desc;
}

uint64_t vq_addr_avail(const struct virtqueue *vq)
{
	return (uintptr_t)vq->avail;
}

uint64_t vq_addr_used(const struct virtqueue *vq)
{
	return (uintptr_t)vq->used;
}

/* Should an index moving from old to new trigger an event at event_idx? */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

static void fill(struct vring_desc *d, const struct vq_buf *b, uint16_t next, bool last)
{
	d->addr = (uintptr_t)b->addr;
	d->len = b->len;
	d->flags = (b->dev_writes ? VRING_DESC_F_WRITE : 0) | (last ? 0 : VRING_DESC_F_NEXT);
	d->next = last ? 0 : next;
}

/* Post the chain and notify the device if it wants to be told. */
static uint16_t post(struct virtqueue *vq, const struct vq_buf *bufs, unsigned int n,
		     unsigned int flags, struct vq_result *r)
{
	uint16_t head = vq->next_desc, old = vq->avail_idx;
	volatile uint16_t *used_event = &vq->avail->ring[vq->size];
	volatile uint16_t *avail_event = (volatile uint16_t *)&vq->used->ring[vq->size];

	if (flags & VQ_INDIRECT) {
		for (unsigned int i = 0; i < n; i++)
			fill(&vq->table[i], &bufs[i], i + 1, i + 1 == n);
		vq->desc[head].addr = (uintptr_t)vq->table;
		vq->desc[head].len = n * sizeof(struct vring_desc);
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		r->ndesc = 1;
	} else {
		for (unsigned int i = 0; i < n; i++)
			fill(&vq->desc[(head + i) % vq->size], &bufs[i], (head + i + 1) % vq->size,
			     i + 1 == n);
		r->ndesc = n;
	}
	vq->next_desc = (head + r->ndesc) % vq->size;

	/* Ask for an interrupt at the next used entry, or for none. */
	if (vq->event_idx) {
		vq->avail->flags = 0;
		*used_event = (flags & VQ_POLL) ? (uint16_t)(vq->last_used - 1) : vq->last_used;
	} else {
		vq->avail->flags = (flags & VQ_POLL) ? VRING_AVAIL_F_NO_INTERRUPT : 0;
	}
	vq->avail->ring[old % vq->size] = head;
	barrier(); /* x86 keeps stores in order: the entry before the index */
	vq->avail->idx = ++vq->avail_idx;
	mb(); /* the index must be visible before we read avail_event/flags */

	if (vq->event_idx)
		r->notified = need_event(*avail_event, vq->avail_idx, old);
	else
		r->notified = !(vq->used->flags & VRING_USED_F_NO_NOTIFY);
	if (r->notified)
		mmio_write16(vq->notify, vq->index);
	return head;
}

/*
 * Post a one-descriptor buffer as descriptor id, and ask for an interrupt at
 * the next used entry. Notifies the device if it wants to be told.
 */
bool vq_add_buf(struct virtqueue *vq, uint16_t id, void *addr, uint32_t len, bool dev_writes)
{
	struct vq_buf b = { addr, len, dev_writes };
	volatile uint16_t *used_event = &vq->avail->ring[vq->size];
	volatile uint16_t *avail_event = (volatile uint16_t *)&vq->used->ring[vq->size];
	uint16_t old = vq->avail_idx;
	bool notify;

	if (id >= vq->size)
		return false;
	fill(&vq->desc[id], &b, 0, true);
	if (vq->event_idx)
		*used_event = vq->last_used;
	else
		vq->avail->flags = 0;
	vq->avail->ring[old % vq->size] = id;
	barrier();
	vq->avail->idx = ++vq->avail_idx;
	mb();
	if (vq->event_idx)
		notify = need_event(*avail_event, vq->avail_idx, old);
	else
		notify = !(vq->used->flags & VRING_USED_F_NO_NOTIFY);
	if (notify)
		mmio_write16(vq->notify, vq->index);
	return true;
}

/*
 * The next used entry, if there is one. used_event follows, so the device
 * interrupts at the next entry; the fence orders that store before the
 * caller's next look at the used index (else an entry the device adds in
 * between would neither interrupt nor be seen).
 */
bool vq_get_buf(struct virtqueue *vq, uint32_t *id, uint32_t *len)
{
	volatile struct vring_used_elem *e;

	if (vq->used->idx == vq->last_used)
		return false;
	barrier(); /* the index before the entry */
	e = &vq->used->ring[vq->last_used % vq->size];
	*id = e->id;
	*len = e->len;
	vq->last_used++;
	if (vq->event_idx)
		vq->avail->ring[vq->size] = vq->last_used;
	mb();
	return true;
}

/*
 * Take used entries until the one for head: true once an entry that is not a
 * late one (of a request given up on earlier) was taken, in r.
 */
static bool reap(struct virtqueue *vq, uint16_t head, struct vq_result *r)
{
	while (vq->used->idx != vq->last_used) {
		volatile struct vring_used_elem *e = &vq->used->ring[vq->last_used % vq->size];
		uint32_t id, len;

		barrier(); /* x86 keeps loads in order: the index before the entry */
		id = e->id;
		len = e->len;
		vq->last_used++;
		if (id != head && vq->late) {
			vq->late--;
			r->late++;
			continue;
		}
		r->done = true;
		r->len = len;
		r->id_ok = id == head;
		return true;
	}
	return false;
}

/*
 * Run one request: post it, notify, and wait until the used ring returns it
 * (completion is decided by the used ring and the entry's id, never by
 * interrupts alone). Interrupt-driven, it also waits for a queue interrupt
 * (halting until one; on INTx an interrupt whose ISR read 0 is not one);
 * under VQ_POLL it polls with interrupts off, then leaves a short window for
 * a (wrong) queue interrupt (not with VQ_NO_QUIET, which benchmarks use: the
 * wait halts, which CPL 3 cannot). A request that does not complete (or whose entry
 * had another id) stays in flight, and an entry with another id that comes
 * later is skipped as its. True if the chain came back with our head.
 */
bool vq_run(struct virtqueue *vq, const struct vq_buf *bufs, unsigned int n, unsigned int flags,
	    struct vq_result *r)
{
	uint32_t since, spurious;
	bool poll = (flags & VQ_POLL) || !vq->vector;
	uint16_t head;
	uint64_t t0;

	memset(r, 0, sizeof(*r));
	if (!n || n > VQ_SIZE_MAX || (!(flags & VQ_INDIRECT) && n > vq->size))
		return false;
	if ((flags & VQ_INDIRECT) && !vq->indirect)
		return false;
	since = vq->vector ? irq_count(vq->vector) : 0;
	spurious = vq->vector ? irq_spurious(vq->vector) : 0;
	head = post(vq, bufs, n, flags, r);

	t0 = rdtsc();
	for (unsigned int i = 0; i < POLL_LOOPS; i++) {
		bool irq = vq->vector && irq_count(vq->vector) != since;
		uint64_t spent;

		if ((r->done || reap(vq, head, r)) && (poll || irq))
			break;
		spent = rdtsc() - t0;
		if (spent > WAIT_CYCLES)
			break;
		if (poll || irq) /* polling, or the used ring lags the interrupt */
			cpu_relax();
		else
			irq_wait(vq->vector, since, WAIT_CYCLES - spent);
	}
	/* A device that ignored the suppression interrupts now or soon. */
	if (poll && vq->vector && r->done && !(flags & VQ_NO_QUIET))
		irq_wait(vq->vector, since, QUIET_CYCLES);
	if (vq->vector) {
		r->irqs = irq_count(vq->vector) - since;
		r->spurious = irq_spurious(vq->vector) - spurious;
		r->intx = vq->intx;
	}
	if (!r->done || !r->id_ok)
		vq->late++; /* ours is still the device's: skip its entry if it comes */
	return r->done && r->id_ok;
}
