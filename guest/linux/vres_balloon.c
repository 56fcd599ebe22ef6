// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource: the balloon. Memory goes back to the host in granules
 * (cfg.mem_granule, 2 MiB): the driver allocates a granule as one
 * high-order block, tells the host its guest-physical range with
 * T_RESERVE, and takes it out of the kernel's managed pages, so MemTotal
 * shrinks (as virtio_balloon does without DEFLATE_ON_OOM). T_UNRESERVE
 * takes granules back within the grant; the pages are then freed to the
 * kernel again.
 *
 * The goal is usable (mem_max - mem_reserved, the host's count) equal to
 * the grant less what the driver holds back on purpose (@hold: pages
 * reserved before a T_RELEASE or an accepted renegotiation). The work item
 * inflates towards it at no more than the mem_rate HELLO advertised, and
 * within an EV_RECLAIM's deadline; it deflates at once when the grant
 * rises. Probe meets the boot grant at once (protocol.md §6.3, §6.7).
 *
 * Every page is given back to the kernel on remove: what the grant allows
 * is taken back with T_UNRESERVE first, the rest is freed while the host
 * still counts it as reserved (reservations outlive the driver, §6.15).
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "vres.h"

#define VRES_BALLOON_TICK_MS	100	/* paced inflation: one step per tick */
#define VRES_BALLOON_RETRY_MS	1000	/* after an allocation or host failure */
#define VRES_BALLOON_FLOOR	(16ULL << 20)	/* MemAvailable the balloon leaves */
/* How a step inflates. */
enum vres_pace {
	VRES_AT_ONCE,		/* as fast as the allocator allows (probe, holds) */
	VRES_PACED,		/* by the rate and a reclaim's deadline */
	VRES_NO_INFLATE,	/* only deflate (remove) */
};

#define VRES_RANGES_MSG		(sizeof(struct virtio_resource_ranges) + \
				 VIRTIO_RESOURCE_MAX_RANGES * sizeof(struct virtio_resource_range))

/* The message scratch: an rc_ranges is about 1 KiB, never on the stack. */
struct vres_balloon_scratch {
	struct rc_ranges ranges;
	u8 msg[VRES_RANGES_MSG];
};

static struct vres_balloon *vres_b(struct vres *vr)
{
	return &vr->balloon;
}

void vres_balloon_init(struct vres *vr)
{
	struct vres_balloon *b = vres_b(vr);

	mutex_init(&b->lock);
	INIT_LIST_HEAD(&b->pages);
	INIT_DELAYED_WORK(&b->work, vres_balloon_work);
}

/* Queue the work after @ms unless it is stopped (remove) or was never started. */
static void vres_balloon_kick(struct vres *vr, unsigned int ms)
{
	struct vres_balloon *b = vres_b(vr);
	unsigned long flags;

	spin_lock_irqsave(&vr->stop_lock, flags);
	if (b->running)
		mod_delayed_work(system_freezable_wq, &b->work, msecs_to_jiffies(ms));
	spin_unlock_irqrestore(&vr->stop_lock, flags);
}

/* As above, but never brings a queued run closer (a retry stays a retry). */
static void vres_balloon_later(struct vres *vr, unsigned int ms)
{
	struct vres_balloon *b = vres_b(vr);
	unsigned long flags;

	spin_lock_irqsave(&vr->stop_lock, flags);
	if (b->running)
		queue_delayed_work(system_freezable_wq, &b->work, msecs_to_jiffies(ms));
	spin_unlock_irqrestore(&vr->stop_lock, flags);
}

/* The live configuration (reservations change it without an interrupt). */
static int vres_balloon_cfg(struct vres *vr, struct vres_cfg *c)
{
	int err;

	err = vres_config_read(vr->vdev, c);
	if (!err)
		err = vres_config_check(c);
	if (!err && c->mem_granule != vr->balloon.granule)
		err = -EINVAL; /* the granule is fixed for the device's life */
	if (!err && (vr->vdev->config->get_status(vr->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET))
		err = -ESHUTDOWN;
	return err;
}

/* The ranges of the next RESERVE/UNRESERVE. Under the balloon's lock. */
struct rc_ranges *vres_ranges_scratch(struct vres *vr)
{
	lockdep_assert_held(&vr->balloon.lock);
	return &vr->balloon.scratch->ranges;
}

/*
 * Send T_RESERVE or T_UNRESERVE for @r (filled by the caller: nr_ranges and
 * range[]) and decode the answer into @a. An A_ACK updates the configuration
 * copy. Under the balloon's lock (the scratch is its).
 */
int vres_ranges_send(struct vres *vr, u16 type, u64 txn, struct rc_ranges *r,
		     struct vres_answer *a)
{
	struct vres_balloon_scratch *s = vr->balloon.scratch;
	u8 ans[VRES_ROOM_MIN];
	size_t len;
	int used;

	lockdep_assert_held(&vr->balloon.lock);
	r->hdr.type = type;
	r->hdr.txn = txn;
	r->hdr.app_id = 0;
	len = rc_encode_ranges(s->msg, sizeof(s->msg), r);
	if (!len)
		return -EINVAL;
	used = vres_call(vr, VIRTIO_RESOURCE_Q_REQUEST, s->msg, len, ans, sizeof(ans));
	if (used < 0)
		return used;
	vres_decode(ans, used, a);
	if (!a->err && a->hdr.type == VIRTIO_RESOURCE_A_ACK) {
		mutex_lock(&vr->lock);
		vr->cfg.mem_granted = a->u.ack.mem_granted;
		vr->cfg.mem_reserved = a->u.ack.mem_reserved;
		mutex_unlock(&vr->lock);
		return 0;
	}
	if (!a->err && a->hdr.type == VIRTIO_RESOURCE_A_ERROR)
		return 0;
	dev_warn_ratelimited(&vr->vdev->dev, "%s: unexpected answer %s: %s\n",
			     rc_type_name(type), rc_type_name(a->hdr.type),
			     a->err ? rc_strerror(a->err) : "");
	return -EPROTO;
}

static bool vres_acked(const struct vres_answer *a)
{
	return !a->err && a->hdr.type == VIRTIO_RESOURCE_A_ACK;
}

static bool vres_refused(const struct vres_answer *a, u32 status)
{
	return !a->err && a->hdr.type == VIRTIO_RESOURCE_A_ERROR && a->hdr.status == status;
}

/* The ranges of the granules on @list (physically adjacent ones merged). */
static void vres_balloon_ranges(struct vres *vr, struct list_head *list, struct rc_ranges *r)
{
	u64 granule = vr->balloon.granule;
	struct rc_range *last = NULL;
	struct page *page;

	r->nr_ranges = 0;
	list_for_each_entry(page, list, lru) {
		u64 addr = page_to_phys(page);

		if (last && last->addr + last->len == addr) {
			last->len += granule;
			continue;
		}
		last = &r->range[r->nr_ranges++];
		last->addr = addr;
		last->len = granule;
	}
}

static void vres_balloon_count(struct vres *vr, long granules, unsigned long *counter,
			       unsigned long n)
{
	mutex_lock(&vr->lock);
	vr->balloon.granules += granules;
	if (counter)
		*counter += n;
	mutex_unlock(&vr->lock);
}

/* Reserved at the host: out of the kernel's managed pages, into the balloon. */
static void vres_balloon_commit(struct vres *vr, struct page *page)
{
	struct vres_balloon *b = vres_b(vr);

	adjust_managed_page_count(page, -(1L << b->order));
	list_add(&page->lru, &b->pages);
}

/* Back to the kernel: managed again, then freed. */
static void vres_balloon_release_page(struct vres *vr, struct page *page)
{
	struct vres_balloon *b = vres_b(vr);

	adjust_managed_page_count(page, 1L << b->order);
	__free_pages(page, b->order);
}

static void vres_balloon_free_list(struct vres *vr, struct list_head *list)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, list, lru) {
		list_del(&page->lru);
		__free_pages(page, vr->balloon.order);
	}
}

/*
 * One granule the allocator can spare, aligned to the granule, or NULL:
 * never below VRES_BALLOON_FLOOR of MemAvailable (the host does not
 * enforce a reclaim's deadline; a guest squeezed to nothing fails).
 */
static struct page *vres_balloon_alloc_granule(struct vres *vr)
{
	struct vres_balloon *b = vres_b(vr);
	struct page *page;

	if (((u64)si_mem_available() << PAGE_SHIFT) < VRES_BALLOON_FLOOR + b->granule)
		return NULL;
	page = alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_NORETRY | __GFP_NOWARN |
			   __GFP_NOMEMALLOC, b->order);
	if (page && !IS_ALIGNED(page_to_phys(page), vr->balloon.granule)) {
		__free_pages(page, b->order); /* buddy blocks are aligned: never here */
		page = NULL;
	}
	return page;
}

/*
 * A batch the host refused as a whole with ORDER holds a granule it has
 * reserved already (a previous driver's, which remove gave back to the
 * kernel): one message per granule sorts them out. Those the host has
 * are ours to keep; the others are freed when refused.
 */
static unsigned long vres_balloon_reserve_each(struct vres *vr, struct list_head *batch,
					       u64 txn)
{
	struct vres_balloon *b = vres_b(vr);
	struct rc_ranges *r = &b->scratch->ranges;
	unsigned long done = 0, found = 0;
	struct page *page, *next;
	struct vres_answer a;
	int err;

	list_for_each_entry_safe(page, next, batch, lru) {
		list_del(&page->lru);
		r->nr_ranges = 1;
		r->range[0].addr = page_to_phys(page);
		r->range[0].len = vr->balloon.granule;
		err = vres_ranges_send(vr, VIRTIO_RESOURCE_T_RESERVE, txn, r, &a);
		if (!err && (vres_acked(&a) || vres_refused(&a, VIRTIO_RESOURCE_S_ORDER))) {
			if (!vres_acked(&a))
				found++;
			vres_balloon_commit(vr, page);
			done++;
			continue;
		}
		__free_pages(page, b->order);
	}
	mutex_lock(&vr->lock);
	b->granules += done;
	b->inflated += done;
	b->found_reserved += found;
	if (done)
		b->inflations++;
	mutex_unlock(&vr->lock);
	return done;
}

/*
 * Reserve up to @n granules (T_RESERVE carries at most 64 ranges, so
 * batches of 64). Returns how many were reserved; fewer when the allocator
 * has none to spare or the host refused (the pages are freed again).
 */
static unsigned long vres_balloon_inflate(struct vres *vr, unsigned long n, u64 txn)
{
	struct vres_balloon *b = vres_b(vr);
	unsigned long done = 0, want, k;
	struct vres_answer a;
	struct page *page, *next;
	LIST_HEAD(batch);
	int err;

	lockdep_assert_held(&b->lock);
	while (done < n) {
		want = min_t(unsigned long, n - done, VIRTIO_RESOURCE_MAX_RANGES);
		for (k = 0; k < want; k++) {
			page = vres_balloon_alloc_granule(vr);
			if (!page)
				break;
			list_add_tail(&page->lru, &batch);
		}
		if (k < want)
			vres_balloon_count(vr, 0, &b->alloc_failures, 1);
		if (!k)
			break;
		vres_balloon_ranges(vr, &batch, &b->scratch->ranges);
		err = vres_ranges_send(vr, VIRTIO_RESOURCE_T_RESERVE, txn, &b->scratch->ranges, &a);
		if (!err && vres_acked(&a)) {
			list_for_each_entry_safe(page, next, &batch, lru) {
				list_del(&page->lru);
				vres_balloon_commit(vr, page);
			}
			mutex_lock(&vr->lock);
			b->granules += k;
			b->inflated += k;
			b->inflations++;
			mutex_unlock(&vr->lock);
			done += k;
		} else if (!err && k > 1 && vres_refused(&a, VIRTIO_RESOURCE_S_ORDER)) {
			done += vres_balloon_reserve_each(vr, &batch, txn);
		} else {
			/* Refused, or no answer: the pages stay the kernel's. */
			vres_balloon_free_list(vr, &batch);
			vres_balloon_count(vr, 0, &b->host_failures, 1);
			dev_warn_ratelimited(&vr->vdev->dev,
					     "balloon: RESERVE of %lu granules failed: %d status %u\n",
					     k, err, err ? 0 : a.hdr.status);
			break;
		}
		if (k < want)
			break; /* the allocator has nothing more to spare now */
	}
	return done;
}

/*
 * Take up to @n granules back with T_UNRESERVE and free them to the
 * kernel. Returns how many; fewer when the balloon is empty or the host
 * refused (those pages stay in the balloon).
 */
static unsigned long vres_balloon_deflate(struct vres *vr, unsigned long n)
{
	struct vres_balloon *b = vres_b(vr);
	unsigned long done = 0, want, k;
	struct page *page, *next;
	struct vres_answer a;
	LIST_HEAD(batch);
	int err;

	lockdep_assert_held(&b->lock);
	while (done < n && !list_empty(&b->pages)) {
		want = min_t(unsigned long, n - done, VIRTIO_RESOURCE_MAX_RANGES);
		for (k = 0; k < want && !list_empty(&b->pages); k++)
			list_move_tail(b->pages.next, &batch);
		vres_balloon_ranges(vr, &batch, &b->scratch->ranges);
		err = vres_ranges_send(vr, VIRTIO_RESOURCE_T_UNRESERVE, 0, &b->scratch->ranges, &a);
		if (err || !vres_acked(&a)) {
			list_splice(&batch, &b->pages);
			vres_balloon_count(vr, 0, &b->host_failures, 1);
			dev_warn_ratelimited(&vr->vdev->dev,
					     "balloon: UNRESERVE of %lu granules failed: %d status %u\n",
					     k, err, err ? 0 : a.hdr.status);
			break;
		}
		list_for_each_entry_safe(page, next, &batch, lru) {
			list_del(&page->lru);
			vres_balloon_release_page(vr, page);
		}
		mutex_lock(&vr->lock);
		b->granules -= k;
		b->deflated += k;
		b->deflations++;
		mutex_unlock(&vr->lock);
		done += k;
	}
	return done;
}

/* Every page back to the kernel without asking the host (it is gone or broken). */
static void vres_balloon_empty(struct vres *vr, const char *why)
{
	struct vres_balloon *b = vres_b(vr);
	unsigned long n = 0;
	struct page *page, *next;

	lockdep_assert_held(&b->lock);
	list_for_each_entry_safe(page, next, &b->pages, lru) {
		list_del(&page->lru);
		vres_balloon_release_page(vr, page);
		n++;
	}
	if (!n)
		return;
	mutex_lock(&vr->lock);
	b->granules -= n;
	b->returned_reserved += n;
	mutex_unlock(&vr->lock);
	dev_info(&vr->vdev->dev, "balloon: %lu MiB back to the kernel (%s), still reserved at the host\n",
		 (n * (unsigned long)(vr->balloon.granule >> 10)) >> 10, why);
}

/* How many granules the rate (and a reclaim's deadline) allow this tick. */
static unsigned long vres_balloon_pace(struct vres *vr, unsigned long want, u64 now)
{
	struct vres_balloon *b = vres_b(vr);
	u64 granule = vr->balloon.granule, rate, cap, dt, end;
	unsigned long allowed, ticks;

	mutex_lock(&vr->lock);
	rate = vr->mem_rate;
	end = b->reclaim_end_ns;
	mutex_unlock(&vr->lock);
	if (!rate)
		return want;
	/* A token bucket: never faster than the rate, with a burst of one tick. */
	cap = max_t(u64, granule, div_u64(rate * VRES_BALLOON_TICK_MS, MSEC_PER_SEC));
	if (!b->credit_ns)
		b->credit_ns = now;
	dt = min_t(u64, now - b->credit_ns, NSEC_PER_SEC);
	dt = div_u64(rate * div_u64(dt, NSEC_PER_USEC), USEC_PER_SEC);
	b->credit = min_t(u64, cap, b->credit + dt);
	b->credit_ns = now;
	allowed = div64_u64(b->credit, granule);
	/* Spread a reclaim over its deadline, slower than the rate if it allows. */
	if (end > now) {
		ticks = div64_u64(end - now, VRES_BALLOON_TICK_MS * NSEC_PER_MSEC) + 1;
		want = DIV_ROUND_UP(want, ticks);
	}
	return min(want, allowed);
}

/*
 * One step towards usable == granted - hold: inflate (as @pace says) or
 * deflate. Returns the delay in ms before the next step, or 0 when the
 * balloon is where it should be.
 */
static unsigned int vres_balloon_step(struct vres *vr, enum vres_pace pace)
{
	struct vres_balloon *b = vres_b(vr);
	struct vres_cfg c;
	u64 usable, goal, granule, txn = 0, now = ktime_get_ns();
	unsigned long n, done;
	bool reclaim;
	int err;

	lockdep_assert_held(&b->lock);
	err = vres_balloon_cfg(vr, &c);
	if (err == -ESHUTDOWN) {
		vres_balloon_empty(vr, "the device needs a reset");
		return 0;
	}
	if (err)
		return VRES_BALLOON_RETRY_MS;
	granule = c.mem_granule;
	usable = c.mem_max - c.mem_reserved;
	goal = c.mem_granted > b->hold ? c.mem_granted - b->hold : 0;
	mutex_lock(&vr->lock);
	reclaim = vr->reclaim_pending;
	if (reclaim)
		txn = vr->reclaim.hdr.txn;
	mutex_unlock(&vr->lock);

	if (usable < goal) {
		n = div64_u64(goal - usable, granule);
		done = vres_balloon_deflate(vr, n);
		if (done < n && list_empty(&b->pages))
			done += div64_u64(vres_hotplug_mem_add(vr, (n - done) * granule), granule);
		usable += done * granule;
	} else if (usable > goal && pace != VRES_NO_INFLATE) {
		unsigned long most = div64_u64(c.mem_max - min(goal, c.mem_max), granule), held;

		n = DIV_ROUND_UP_ULL(usable - goal, granule);
		/*
		 * The host's mem_reserved says how far to go; the balloon's own
		 * count bounds it, so a host that forgets what it acknowledged
		 * cannot drain the guest.
		 */
		mutex_lock(&vr->lock);
		held = b->granules;
		mutex_unlock(&vr->lock);
		if (held >= most) {
			dev_warn_ratelimited(&vr->vdev->dev,
					     "balloon: the host reports %llu MiB reserved, the balloon holds %lu MiB: not inflating further\n",
					     c.mem_reserved >> 20,
					     (held * (unsigned long)(granule >> 10)) >> 10);
			return VRES_BALLOON_RETRY_MS;
		}
		n = min(n, most - held);
		if (pace == VRES_PACED)
			n = vres_balloon_pace(vr, n, now);
		if (!n)
			return VRES_BALLOON_TICK_MS;
		done = vres_balloon_inflate(vr, n, txn);
		if (pace == VRES_PACED)
			b->credit -= min_t(u64, b->credit, done * granule);
		usable -= min_t(u64, usable, done * granule);
		if (done < n)
			return VRES_BALLOON_RETRY_MS;
	}
	/* Compliant (usable <= granted): a reclaim is met. */
	if (reclaim && usable <= c.mem_granted) {
		mutex_lock(&vr->lock);
		if (vr->reclaim_pending && vr->reclaim.hdr.txn == txn) {
			vr->reclaim_pending = false;
			b->reclaim_end_ns = 0;
			b->reclaims++;
		}
		mutex_unlock(&vr->lock);
		dev_info(&vr->vdev->dev, "balloon: reclaim %llu met: %llu MiB usable of %llu granted\n",
			 txn & ~(1ULL << 63), usable >> 20, c.mem_granted >> 20);
	}
	if (usable > goal)
		return pace == VRES_PACED ? VRES_BALLOON_TICK_MS : VRES_BALLOON_RETRY_MS;
	return 0;
}

void vres_balloon_work(struct work_struct *work)
{
	struct vres_balloon *b = container_of(to_delayed_work(work), struct vres_balloon, work);
	struct vres *vr = container_of(b, struct vres, balloon);
	unsigned int next = 0;

	mutex_lock(&b->lock);
	if (b->enabled && !b->stopped)
		next = vres_balloon_step(vr, VRES_PACED);
	mutex_unlock(&b->lock);
	if (next)
		vres_balloon_later(vr, next);
}

/* Probe, after HELLO and the first configuration read: meet the grant at once. */
void vres_balloon_start(struct vres *vr)
{
	struct vres_balloon *b = vres_b(vr);
	struct device *dev = &vr->vdev->dev;
	unsigned int next = 0;
	u64 granule;

	mutex_lock(&vr->lock);
	granule = vr->cfg.mem_granule;
	mutex_unlock(&vr->lock);
	if (!virtio_has_feature(vr->vdev, VIRTIO_RESOURCE_F_MEMORY))
		return;
	if (granule < PAGE_SIZE || get_order(granule) >= MAX_ORDER) {
		dev_warn(dev, "balloon: a granule of %llu bytes is not one allocation here: off\n",
			 granule);
		return;
	}
	b->scratch = kzalloc(sizeof(*b->scratch), GFP_KERNEL);
	if (!b->scratch)
		return; /* the allocator has said so; no balloon */
	mutex_lock(&b->lock);
	b->granule = granule;
	b->order = get_order(granule);
	b->enabled = true;
	/* From here on changes queue the work, which waits for this first step. */
	spin_lock_irq(&vr->stop_lock);
	b->running = true;
	spin_unlock_irq(&vr->stop_lock);
	vres_hotplug_mem_start(vr);
	next = vres_balloon_step(vr, VRES_AT_ONCE);
	mutex_unlock(&b->lock);
	mutex_lock(&vr->lock);
	dev_info(dev, "balloon: %lu MiB reserved, %llu MiB usable of %llu MiB granted\n",
		 (b->granules * (unsigned long)(granule >> 10)) >> 10,
		 (vr->cfg.mem_max - vr->cfg.mem_reserved) >> 20, vr->cfg.mem_granted >> 20);
	mutex_unlock(&vr->lock);
	if (next)
		vres_balloon_kick(vr, next);
}

/* A configuration change: the grant may have moved either way. */
void vres_balloon_adjust(struct vres *vr)
{
	vres_balloon_kick(vr, 0);
}

/*
 * EV_RECLAIM (vres_on_reclaim has lowered the table): the host lowered the
 * grant already; inflate until usable <= the target, spread over
 * three quarters of the deadline, never faster than mem_rate.
 */
void vres_balloon_reclaim(struct vres *vr, const struct rc_ev_reclaim *ev)
{
	struct vres_balloon *b = vres_b(vr);
	u64 now = ktime_get_ns();

	mutex_lock(&vr->lock);
	b->reclaim_end_ns = now + div_u64((u64)ev->deadline_ms * 3 * NSEC_PER_MSEC, 4);
	mutex_unlock(&vr->lock);
	vres_balloon_kick(vr, 0);
}

/*
 * Bring the balloon to the grant now (the estimator after a grant, or
 * before asking): deflate, or hot-add memory. Returns 0, or -ENODEV
 * without a balloon.
 */
int vres_balloon_sync(struct vres *vr)
{
	struct vres_balloon *b = vres_b(vr);
	unsigned int next = 0;
	int err = -ENODEV;

	mutex_lock(&b->lock);
	if (b->enabled && !b->stopped) {
		next = vres_balloon_step(vr, VRES_PACED);
		err = 0;
	}
	mutex_unlock(&b->lock);
	if (next)
		vres_balloon_later(vr, next);
	return err;
}

/*
 * Keep @bytes (whole granules) below the grant: reserve until usable <=
 * granted - @bytes, at once. Every hold is paired with
 * vres_balloon_unhold(), whatever it returned; in between the work leaves
 * the pages reserved. Returns 0 once usable got there (the caller may give
 * the memory back: T_RELEASE, or a lower renegotiated amount), -ENOMEM
 * when the allocator could not spare the pages, -ENODEV without a balloon.
 */
int vres_balloon_hold(struct vres *vr, u64 bytes)
{
	struct vres_balloon *b = vres_b(vr);
	struct vres_cfg c;
	int err = -ENODEV;

	mutex_lock(&b->lock);
	if (b->enabled && !b->stopped) {
		b->hold += bytes;
		vres_balloon_step(vr, VRES_AT_ONCE);
		err = vres_balloon_cfg(vr, &c);
		if (!err && c.mem_max - c.mem_reserved + b->hold > c.mem_granted)
			err = -ENOMEM;
	}
	mutex_unlock(&b->lock);
	if (!err) {
		mutex_lock(&vr->lock);
		b->holds++;
		mutex_unlock(&vr->lock);
	}
	return err;
}

/* The end of a hold: the memory went back to the host, or the work deflates it. */
void vres_balloon_unhold(struct vres *vr, u64 bytes)
{
	struct vres_balloon *b = vres_b(vr);

	mutex_lock(&b->lock);
	b->hold -= min(b->hold, bytes);
	mutex_unlock(&b->lock);
	vres_balloon_kick(vr, 0);
}

/*
 * Remove, before the device is stopped: no more inflation, then take back
 * what the grant allows with T_UNRESERVE and free it.
 */
void vres_balloon_stop(struct vres *vr)
{
	struct vres_balloon *b = vres_b(vr);
	unsigned long n;

	spin_lock_irq(&vr->stop_lock);
	b->running = false;
	spin_unlock_irq(&vr->stop_lock);
	cancel_delayed_work_sync(&b->work);
	mutex_lock(&b->lock);
	if (b->enabled && !b->stopped) {
		b->hold = 0;
		vres_balloon_step(vr, VRES_NO_INFLATE); /* up to the grant */
		mutex_lock(&vr->lock);
		n = b->granules;
		mutex_unlock(&vr->lock);
		if (n)
			dev_info(&vr->vdev->dev,
				 "balloon: the grant keeps %lu MiB reserved at the host\n",
				 (n * (unsigned long)(vr->balloon.granule >> 10)) >> 10);
	}
	b->stopped = true;
	mutex_unlock(&b->lock);
}

/* After the reset: every page still in the balloon goes back to the kernel. */
void vres_balloon_free(struct vres *vr)
{
	struct vres_balloon *b = vres_b(vr);

	mutex_lock(&b->lock);
	vres_balloon_empty(vr, "the driver is going away");
	b->enabled = false;
	mutex_unlock(&b->lock);
	kfree(b->scratch);
	b->scratch = NULL;
}

/* debugfs state lines. Under vr->lock. */
void vres_balloon_show(struct seq_file *s, struct vres *vr)
{
	const struct vres_balloon *b = &vr->balloon;
	unsigned long pages = b->granules << b->order;

	seq_printf(s, "balloon.enabled: %d\n", b->enabled);
	seq_printf(s, "balloon.granules: %lu\n", b->granules);
	seq_printf(s, "balloon.pages: %lu\n", pages);
	seq_printf(s, "balloon.bytes: %llu\n", (u64)pages << PAGE_SHIFT);
	/* Under the balloon's lock, read without it: only shown. */
	seq_printf(s, "balloon.held: %llu\n", data_race(b->hold));
	seq_printf(s, "balloon.inflations: %lu\n", b->inflations);
	seq_printf(s, "balloon.deflations: %lu\n", b->deflations);
	seq_printf(s, "balloon.inflated_granules: %lu\n", b->inflated);
	seq_printf(s, "balloon.deflated_granules: %lu\n", b->deflated);
	seq_printf(s, "balloon.failures: %lu\n", b->alloc_failures + b->host_failures);
	seq_printf(s, "balloon.alloc_failures: %lu\n", b->alloc_failures);
	seq_printf(s, "balloon.host_failures: %lu\n", b->host_failures);
	seq_printf(s, "balloon.found_reserved: %lu\n", b->found_reserved);
	seq_printf(s, "balloon.returned_reserved: %lu\n", b->returned_reserved);
	seq_printf(s, "balloon.reclaims_met: %lu\n", b->reclaims);
	seq_printf(s, "balloon.holds: %lu\n", b->holds);
}
