// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource on x86-64: memory hot-add and vCPU online/offline.
 *
 * Memory. accord's x86 machine puts RAM at guest-physical 0 up to 3 GiB
 * and the rest from 4 GiB (include/accord/layout.h); mem_max of it exists.
 * RAM the kernel does not know (booted with mem=, or left out of its boot
 * memory map) is found at probe in whole memory blocks
 * (memory_block_size_bytes()) and reserved at the host, so it counts as
 * handed back. When the grant covers more than the kernel has and the
 * balloon is empty, such blocks are taken back (T_UNRESERVE) and added
 * with add_memory_driver_managed() as "System RAM (virtio_resource)", as
 * virtio_mem does; the kernel's auto-online policy (memhp_default_state=
 * or a udev rule) onlines them. Added memory stays when the driver goes
 * away (the resource name is then left allocated, as virtio_mem leaves
 * its own).
 *
 * vCPUs. The host runs vCPUs 0 .. vcpus_granted - 1 and parks the others;
 * logical CPU n is vCPU n (accord's MP table lists them in order). When
 * the grant rises, the CPUs below it that are offline are brought up with
 * add_cpu(). A CPU the host has parked cannot be taken down (its hotplug
 * thread never runs), so the driver only offlines CPUs itself before it
 * releases them (the estimator, vres_hotplug_cpus_down()); CPUs the host
 * parked while online are counted and reported.
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/bitmap.h>
#include <linux/cpu.h>
#include <linux/ioport.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/numa.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/virtio.h>

#include "vres.h"

#define VRES_X86_LOW_END	0xc0000000ULL	/* LAYOUT_MMIO_HOLE */
#define VRES_X86_HIGH_RAM	0x100000000ULL	/* LAYOUT_HIGH_RAM */
#define VRES_HP_BLOCKS_MAX	8192		/* 1 TiB of 128 MiB blocks */

struct vres_hotplug {
	struct vres *vr;
	struct work_struct cpu_work;
	bool running;			/* under vr->stop_lock: cpu_work may be queued */

	/* Memory, under the balloon's lock. */
	const char *name;		/* the resource name; leaked once memory is added */
	u64 block;			/* memory_block_size_bytes() */
	unsigned int nr_blocks;		/* absent blocks found at probe */
	u64 *addr;			/* their addresses */
	unsigned long *reserved;	/* reserved at the host by this driver */
	unsigned long *added;		/* added to the kernel */
	bool stuck_offline;		/* added memory did not come online */

	/* Under vr->lock (debugfs). */
	unsigned long mem_absent;	/* bytes of blocks found absent */
	unsigned long mem_added;	/* blocks added */
	unsigned long mem_failures;
	unsigned long cpus_up, cpus_down, cpu_failures;
	unsigned int parked_online;	/* online CPUs at or above the grant */
};

static void vres_hotplug_cpu_work(struct work_struct *work);

void vres_hotplug_init(struct vres *vr)
{
	struct vres_hotplug *hp;

	hp = kzalloc(sizeof(*hp), GFP_KERNEL);
	if (!hp)
		return; /* no hotplug: the balloon alone */
	hp->vr = vr;
	INIT_WORK(&hp->cpu_work, vres_hotplug_cpu_work);
	vr->hotplug = hp;
}

bool vres_hotplug_cpus(struct vres *vr)
{
	return IS_ENABLED(CONFIG_HOTPLUG_CPU) && vr->hotplug;
}

/* ---- memory ---- */

#ifdef CONFIG_MEMORY_HOTPLUG

/* The end of guest RAM below 4 GiB and above it, for @max bytes of RAM. */
static void vres_x86_ram(u64 max, u64 *low_end, u64 *high_end)
{
	*low_end = min(max, VRES_X86_LOW_END);
	*high_end = VRES_X86_HIGH_RAM + (max - *low_end);
}

/* Whole blocks of [start, end) that the kernel has no System RAM in. */
static void vres_hotplug_scan(struct vres_hotplug *hp, u64 start, u64 end,
			      const struct range *pluggable)
{
	u64 a;

	for (a = round_up(start, hp->block); a + hp->block <= end; a += hp->block) {
		if (hp->nr_blocks == VRES_HP_BLOCKS_MAX)
			return;
		if (a < pluggable->start || a + hp->block - 1 > pluggable->end)
			continue;
		if (region_intersects(a, hp->block, IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
		    REGION_DISJOINT)
			continue;
		hp->addr[hp->nr_blocks++] = a;
	}
}

/* Reserve blocks [first, first + n) at the host in one message (n <= 64). */
static int vres_hotplug_reserve(struct vres *vr, unsigned int first, unsigned int n, u16 type,
				struct rc_ranges *r)
{
	struct vres_hotplug *hp = vr->hotplug;
	struct vres_answer a;
	unsigned int i;
	int err;

	r->nr_ranges = n;
	for (i = 0; i < n; i++) {
		r->range[i].addr = hp->addr[first + i];
		r->range[i].len = hp->block;
	}
	err = vres_ranges_send(vr, type, 0, r, &a);
	if (err)
		return err;
	if (a.err)
		return -EPROTO;
	if (a.hdr.type != VIRTIO_RESOURCE_A_ACK)
		return a.hdr.status == VIRTIO_RESOURCE_S_ORDER ? -EEXIST : -EPROTO;
	return 0;
}

/*
 * The host refused blocks [first, first + n) as a whole: some granule is
 * reserved already (by a driver before this one). One block at a time,
 * then one granule at a time; a block is ours once all of it is reserved.
 */
static void vres_hotplug_reserve_each(struct vres *vr, unsigned int first, unsigned int n,
				      u64 granule, struct rc_ranges *r)
{
	struct vres_hotplug *hp = vr->hotplug;
	struct vres_answer a;
	unsigned int i;
	bool ok;
	u64 g;

	for (i = first; i < first + n; i++) {
		ok = !vres_hotplug_reserve(vr, i, 1, VIRTIO_RESOURCE_T_RESERVE, r);
		for (g = 0; g < hp->block && !ok; g += granule) {
			r->nr_ranges = 1;
			r->range[0].addr = hp->addr[i] + g;
			r->range[0].len = granule;
			if (vres_ranges_send(vr, VIRTIO_RESOURCE_T_RESERVE, 0, r, &a) || a.err ||
			    (a.hdr.type != VIRTIO_RESOURCE_A_ACK &&
			     a.hdr.status != VIRTIO_RESOURCE_S_ORDER))
				break;
			ok = g + granule == hp->block;
		}
		if (ok)
			set_bit(i, hp->reserved);
	}
}

/*
 * Probe, under the balloon's lock: find the absent blocks and reserve them.
 * A block the host refuses as a whole (some of it reserved already, by a
 * driver before this one) is reserved granule by granule.
 */
void vres_hotplug_mem_start(struct vres *vr)
{
	struct vres_hotplug *hp = vr->hotplug;
	struct range pluggable;
	struct rc_ranges *r;
	u64 max, low_end, high_end, granule;
	unsigned int i, n;
	int err;

	if (!hp)
		return;
	mutex_lock(&vr->lock);
	max = vr->cfg.mem_max;
	granule = vr->cfg.mem_granule;
	mutex_unlock(&vr->lock);
	hp->block = memory_block_size_bytes();
	if (!hp->block || hp->block % granule)
		return;
	hp->name = kstrdup("System RAM (virtio_resource)", GFP_KERNEL);
	hp->addr = kcalloc(VRES_HP_BLOCKS_MAX, sizeof(*hp->addr), GFP_KERNEL);
	hp->reserved = bitmap_zalloc(VRES_HP_BLOCKS_MAX, GFP_KERNEL);
	hp->added = bitmap_zalloc(VRES_HP_BLOCKS_MAX, GFP_KERNEL);
	if (!hp->name || !hp->addr || !hp->reserved || !hp->added)
		goto err_free;
	pluggable = mhp_get_pluggable_range(true);
	vres_x86_ram(max, &low_end, &high_end);
	vres_hotplug_scan(hp, 0, low_end, &pluggable);
	if (high_end > VRES_X86_HIGH_RAM)
		vres_hotplug_scan(hp, VRES_X86_HIGH_RAM, high_end, &pluggable);
	if (!hp->nr_blocks)
		goto err_free;

	r = vres_ranges_scratch(vr);
	for (i = 0; i < hp->nr_blocks; i += n) {
		n = min_t(unsigned int, hp->nr_blocks - i, VIRTIO_RESOURCE_MAX_RANGES);
		err = vres_hotplug_reserve(vr, i, n, VIRTIO_RESOURCE_T_RESERVE, r);
		if (!err)
			bitmap_set(hp->reserved, i, n);
		else if (err == -EEXIST)
			vres_hotplug_reserve_each(vr, i, n, granule, r);
		else
			break;
	}
	mutex_lock(&vr->lock);
	hp->mem_absent = (unsigned long)bitmap_weight(hp->reserved, hp->nr_blocks) *
			 (unsigned long)hp->block;
	mutex_unlock(&vr->lock);
	dev_info(&vr->vdev->dev, "hotplug: %llu MiB the kernel does not have, %lu MiB reserved\n",
		 (hp->nr_blocks * hp->block) >> 20, hp->mem_absent >> 20);
	return;

err_free:
	bitmap_free(hp->added);
	bitmap_free(hp->reserved);
	kfree(hp->addr);
	kfree(hp->name);
	hp->added = NULL;
	hp->reserved = NULL;
	hp->addr = NULL;
	hp->name = NULL;
	hp->nr_blocks = 0;
}

/*
 * Under the balloon's lock, the balloon empty: take back and add whole
 * blocks while @bytes covers one. Returns the bytes added.
 */
u64 vres_hotplug_mem_add(struct vres *vr, u64 bytes)
{
	struct vres_hotplug *hp = vr->hotplug;
	unsigned long before;
	u64 added = 0;
	unsigned int i;
	int nid, err;

	if (!hp || !hp->nr_blocks || hp->stuck_offline)
		return 0;
	for (i = 0; i < hp->nr_blocks && bytes - added >= hp->block; i++) {
		if (!test_bit(i, hp->reserved) || test_bit(i, hp->added))
			continue;
		err = vres_hotplug_reserve(vr, i, 1, VIRTIO_RESOURCE_T_UNRESERVE,
					   vres_ranges_scratch(vr));
		if (err)
			break; /* the grant does not cover it (RANGE), or no answer */
		clear_bit(i, hp->reserved);
		before = totalram_pages();
		nid = memory_add_physaddr_to_nid(hp->addr[i]);
		err = add_memory_driver_managed(nid, hp->addr[i], hp->block, hp->name, MHP_NONE);
		if (err) {
			dev_warn(&vr->vdev->dev, "hotplug: adding %llu MiB at %#llx: %d\n",
				 hp->block >> 20, hp->addr[i], err);
			if (!vres_hotplug_reserve(vr, i, 1, VIRTIO_RESOURCE_T_RESERVE,
						  vres_ranges_scratch(vr)))
				set_bit(i, hp->reserved);
			mutex_lock(&vr->lock);
			hp->mem_failures++;
			mutex_unlock(&vr->lock);
			break;
		}
		set_bit(i, hp->added);
		added += hp->block;
		mutex_lock(&vr->lock);
		hp->mem_added++;
		mutex_unlock(&vr->lock);
		if (totalram_pages() == before) {
			/* The policy leaves it offline: asking for more would not help. */
			hp->stuck_offline = true;
			dev_warn(&vr->vdev->dev,
				 "hotplug: added memory stays offline (boot with memhp_default_state=online)\n");
			break;
		}
	}
	return added;
}

#else /* !CONFIG_MEMORY_HOTPLUG */

void vres_hotplug_mem_start(struct vres *vr)
{
}

u64 vres_hotplug_mem_add(struct vres *vr, u64 bytes)
{
	return 0;
}

#endif /* CONFIG_MEMORY_HOTPLUG */

/* ---- vCPUs ---- */

/* Bring up the offline CPUs below the grant; count online ones above it. */
static void vres_hotplug_cpu_work(struct work_struct *work)
{
	struct vres_hotplug *hp = container_of(work, struct vres_hotplug, cpu_work);
	struct vres *vr = hp->vr;
	unsigned int cpu, granted, parked = 0;
	unsigned long up = 0, failed = 0;
	int err;

	mutex_lock(&vr->lock);
	granted = vr->cfg.vcpus_granted;
	mutex_unlock(&vr->lock);
	for_each_present_cpu(cpu) {
		if (cpu >= granted) {
			parked += cpu_online(cpu);
			continue;
		}
		if (cpu_online(cpu))
			continue;
		err = add_cpu(cpu);
		if (err) {
			failed++;
			dev_warn_ratelimited(&vr->vdev->dev, "hotplug: cpu %u up: %d\n", cpu, err);
		} else {
			up++;
		}
	}
	mutex_lock(&vr->lock);
	hp->cpus_up += up;
	hp->cpu_failures += failed;
	if (parked && parked != hp->parked_online)
		dev_warn(&vr->vdev->dev, "hotplug: %u online CPUs are above the grant of %u (parked)\n",
			 parked, granted);
	hp->parked_online = parked;
	mutex_unlock(&vr->lock);
}

/* A configuration change: the vCPU grant may have moved. */
void vres_hotplug_adjust(struct vres *vr)
{
	struct vres_hotplug *hp = vr->hotplug;
	unsigned long flags;

	if (!vres_hotplug_cpus(vr))
		return;
	spin_lock_irqsave(&vr->stop_lock, flags);
	if (hp->running)
		queue_work(system_freezable_wq, &hp->cpu_work);
	spin_unlock_irqrestore(&vr->stop_lock, flags);
}

/*
 * Take every CPU from @keep up offline (the highest first), before their
 * vCPUs are released. 0 when all are offline.
 */
int vres_hotplug_cpus_down(struct vres *vr, unsigned int keep)
{
	struct vres_hotplug *hp = vr->hotplug;
	unsigned long down = 0;
	int cpu, err = 0;

	if (!vres_hotplug_cpus(vr) || !keep)
		return -EOPNOTSUPP;
	for (cpu = nr_cpu_ids - 1; cpu >= (int)keep && !err; cpu--) {
		if (!cpu_present(cpu) || !cpu_online(cpu))
			continue;
		err = remove_cpu(cpu);
		if (!err)
			down++;
	}
	mutex_lock(&vr->lock);
	hp->cpus_down += down;
	if (err)
		hp->cpu_failures++;
	mutex_unlock(&vr->lock);
	return err;
}

/* ---- lifetime ---- */

void vres_hotplug_start(struct vres *vr)
{
	struct vres_hotplug *hp = vr->hotplug;

	if (!hp)
		return;
	spin_lock_irq(&vr->stop_lock);
	hp->running = true;
	spin_unlock_irq(&vr->stop_lock);
	vres_hotplug_adjust(vr);
}

void vres_hotplug_stop(struct vres *vr)
{
	struct vres_hotplug *hp = vr->hotplug;

	if (!hp)
		return;
	spin_lock_irq(&vr->stop_lock);
	hp->running = false;
	spin_unlock_irq(&vr->stop_lock);
	cancel_work_sync(&hp->cpu_work);
}

void vres_hotplug_free(struct vres *vr)
{
	struct vres_hotplug *hp = vr->hotplug;

	if (!hp)
		return;
	/* Added memory keeps its resource, and the resource its name. */
	if (hp->added && !bitmap_empty(hp->added, hp->nr_blocks))
		hp->name = NULL;
	bitmap_free(hp->added);
	bitmap_free(hp->reserved);
	kfree(hp->addr);
	kfree(hp->name);
	kfree(hp);
	vr->hotplug = NULL;
}

/* debugfs state lines. Under vr->lock. */
void vres_hotplug_show(struct seq_file *s, struct vres *vr)
{
	const struct vres_hotplug *hp = vr->hotplug;

	if (!hp)
		return;
	seq_printf(s, "hotplug.block: %llu\n", hp->block);
	seq_printf(s, "hotplug.mem_absent: %lu\n", hp->mem_absent);
	seq_printf(s, "hotplug.mem_blocks_added: %lu\n", hp->mem_added);
	seq_printf(s, "hotplug.mem_failures: %lu\n", hp->mem_failures);
	seq_printf(s, "hotplug.cpus_up: %lu\n", hp->cpus_up);
	seq_printf(s, "hotplug.cpus_down: %lu\n", hp->cpus_down);
	seq_printf(s, "hotplug.cpu_failures: %lu\n", hp->cpu_failures);
	seq_printf(s, "hotplug.parked_online: %u\n", hp->parked_online);
}
