// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource: the estimator timer. Every estimator_ms a delayed work
 * samples the kernel (memory in use, committed memory, CPU time, the load
 * average), feeds guest/core's estimators (vr->est_mem in bytes,
 * vr->est_vcpu in milli-vCPUs), sends the sample on statsq (T_STATS) and
 * acts on the forecast:
 *
 *   - memory demand (MemTotal - MemAvailable) forecast above what the
 *     kernel has less headroom_mb, or MemAvailable below the headroom
 *     within two periods at the last period's growth: first the balloon
 *     gives back what the grant covers (deflate, or hot-add on x86-64),
 *     then T_REQUEST asks the host for the rest, at least one estimator
 *     step (128 MiB), with an urgency that grows as MemAvailable runs out;
 *   - demand below the allocation for release_hold_s in a row
 *     (rc_est_decide's hysteresis, never faster than its rate limit): the
 *     balloon reserves part of the slack and T_RELEASE gives it back;
 *   - vCPUs (only where CPUs can be hot-plugged, vres_hotplug.c): ask when
 *     the forecast exceeds the grant; release after taking the highest
 *     CPUs offline.
 *
 * PSI: 6.1 exports neither psi_system nor a reader of it to modules, and
 * /proc/pressure/ cannot be read with kernel_read() (no read_iter). The
 * root cgroup's memory.pressure and cpu.pressure show psi_system too, and
 * cgroupfs can: the estimator mounts cgroup2 privately (vfs_kern_mount, in
 * no namespace, invisible to the guest) and reads "some avg10" there. Where
 * the kernel has no PSI or no cgroups, or psi=0, the figures are 0. Memory
 * stalls above psi_ask_permille are need, however much looks available.
 * nr_running() is not exported either: runqueue_milli is the 1-minute load
 * average (avenrun, which counts uninterruptible tasks too) per online CPU.
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/cpumask.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/jiffies.h>
#include <linux/kernel_stat.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/loadavg.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>
#include <linux/virtio_config.h>

#include "vres.h"

static unsigned int estimator_ms = 1000;
module_param(estimator_ms, uint, 0444);
MODULE_PARM_DESC(estimator_ms, "estimator sample period in ms (0: no estimator and no statistics)");

static unsigned int headroom_mb = 32;
module_param(headroom_mb, uint, 0644);
MODULE_PARM_DESC(headroom_mb, "MemAvailable to keep free; memory is asked for before it runs lower (MiB)");

static unsigned int release_hold_s = 300;
module_param(release_hold_s, uint, 0444);
MODULE_PARM_DESC(release_hold_s,
		 "seconds demand stays below the allocation before memory is given back");

#define VRES_EST_MIN_MS		50	/* a shorter estimator_ms is taken as this */
#define VRES_EST_DEFAULT_MS	10000	/* guest/core's defaults assume one sample per 10 s */
#define VRES_EST_MEM_HORIZON_MS	10000	/* how far ahead the memory trend is projected */
#define VRES_EST_DENIED_MS	10000	/* after a denial that gave no retry time */

static struct vres_estimator *vres_e(struct vres *vr)
{
	return &vr->estimator;
}

/* The sample period in ms; 0: no estimator. */
static unsigned int vres_period_ms(void)
{
	return estimator_ms ? max_t(unsigned int, estimator_ms, VRES_EST_MIN_MS) : 0;
}

/*
 * guest/core's defaults are per sample, for one sample every 10 s: keep
 * their times (a 24 h half-life, 2 min vCPU horizon) at estimator_ms, with
 * a 10 s memory horizon (not 5 min: a start-up burst would ask for minutes
 * of its growth, and memory arrives in milliseconds) and release_hold_s
 * below the band before a release.
 */
void vres_estimator_tune(struct rc_est_config *c, u16 kind)
{
	u64 ms = vres_period_ms() ? vres_period_ms() : VRES_EST_DEFAULT_MS;
	u64 v;

	v = div64_u64((u64)c->half_life * VRES_EST_DEFAULT_MS, ms);
	c->half_life = clamp_t(u64, v, 1, RC_EST_MAX_HALF);
	if (kind == VIRTIO_RESOURCE_K_MEMORY)
		v = div64_u64(VRES_EST_MEM_HORIZON_MS, ms);
	else
		v = div64_u64((u64)c->horizon * VRES_EST_DEFAULT_MS, ms);
	c->horizon = clamp_t(u64, v, 1, RC_EST_MAX_HORIZON);
	v = div64_u64((u64)release_hold_s * MSEC_PER_SEC, ms);
	c->release_after = clamp_t(u64, v, 1, U32_MAX);
}

void vres_estimator_init(struct vres *vr)
{
	INIT_DELAYED_WORK(&vres_e(vr)->work, vres_estimator_work);
}

/* What the kernel says now. */
struct vres_sample {
	u64 total;		/* MemTotal: what the kernel manages (the balloon is out) */
	u64 available;		/* MemAvailable */
	u64 committed;		/* Committed_AS */
	u64 used;		/* total - available: the demand sampled */
	u64 growth;		/* of used since the last sample, or 0 */
	u32 cpu_util_milli;	/* busy share of the online CPUs since the last sample */
	u32 runqueue_milli;	/* load average per online CPU */
	u32 vcpu_demand_milli;	/* busy CPUs or the load, whichever is higher */
	u32 psi_mem_milli;	/* stalled on memory, some avg10, in 0.1% units */
	u32 psi_cpu_milli;
	unsigned int online;
};

static unsigned int psi_ask_permille = 100;
module_param(psi_ask_permille, uint, 0644);
MODULE_PARM_DESC(psi_ask_permille,
		 "memory stall (PSI some avg10, 0.1% units) that makes the estimator ask (0: never)");

/* A private cgroup2 mount for the root's *.pressure files, or NULL. */
static struct vfsmount *vres_psi_mount(void)
{
	struct file_system_type *fs = get_fs_type("cgroup2");
	struct vfsmount *mnt;

	if (!fs)
		return NULL;
	mnt = vfs_kern_mount(fs, 0, "cgroup2", NULL);
	module_put(fs->owner);
	return IS_ERR(mnt) ? NULL : mnt;
}

/* "some avg10=12.34 ..." of @name under @mnt, in 0.1% units; 0 when unknown. */
static u32 vres_psi_some(struct vfsmount *mnt, const char *name)
{
	unsigned int whole, frac;
	struct file *f;
	loff_t pos = 0;
	char buf[128];
	ssize_t n;

	if (!mnt)
		return 0;
	f = file_open_root_mnt(mnt, name, O_RDONLY, 0);
	if (IS_ERR(f))
		return 0;
	n = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	fput(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "some avg10=%u.%u", &whole, &frac) != 2 || whole > 100 || frac > 99)
		return 0;
	return min(whole * 10 + frac / 10, 1000U);
}

/* Busy CPU time of every CPU (offline ones do not move), in ns. */
static u64 vres_cpu_busy_ns(void)
{
	struct kernel_cpustat kcs;
	u64 busy = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		kcpustat_cpu_fetch(&kcs, cpu);
		busy += kcs.cpustat[CPUTIME_USER] + kcs.cpustat[CPUTIME_NICE] +
			kcs.cpustat[CPUTIME_SYSTEM] + kcs.cpustat[CPUTIME_IRQ] +
			kcs.cpustat[CPUTIME_SOFTIRQ] + kcs.cpustat[CPUTIME_STEAL];
	}
	return busy;
}

static void vres_sample_take(struct vres_estimator *es, struct vres_sample *smp, u64 now)
{
	struct sysinfo si;
	u64 busy, load_milli;

	si_meminfo(&si);
	smp->total = (u64)si.totalram * si.mem_unit;
	smp->available = (u64)si_mem_available() << PAGE_SHIFT;
	smp->committed = (u64)vm_memory_committed() << PAGE_SHIFT;
	smp->used = smp->total > smp->available ? smp->total - smp->available : 0;
	smp->growth = smp->used > es->prev_used ? smp->used - es->prev_used : 0;
	es->prev_used = smp->used;

	smp->online = max(num_online_cpus(), 1U);
	busy = vres_cpu_busy_ns();
	smp->cpu_util_milli = 0;
	if (es->cpu_ns && now > es->cpu_ns && busy >= es->cpu_busy_ns)
		smp->cpu_util_milli = min_t(u64, 1000,
					    div64_u64((busy - es->cpu_busy_ns) * 1000,
						      (now - es->cpu_ns) * smp->online));
	es->cpu_busy_ns = busy;
	es->cpu_ns = now;
	load_milli = ((u64)READ_ONCE(avenrun[0]) * 1000) >> FSHIFT;
	smp->runqueue_milli = min_t(u64, U32_MAX, div_u64(load_milli, smp->online));
	smp->vcpu_demand_milli = min_t(u64, U32_MAX,
				       max_t(u64, (u64)smp->cpu_util_milli * smp->online,
					     load_milli));
	smp->psi_mem_milli = vres_psi_some(es->psi_mnt, "memory.pressure");
	smp->psi_cpu_milli = vres_psi_some(es->psi_mnt, "cpu.pressure");
}

/* CRITICAL below a quarter of the headroom, HIGH below it, NORMAL for a forecast. */
static u8 vres_urgency(u64 available, u64 headroom)
{
	if (available < headroom / 4)
		return VIRTIO_RESOURCE_U_CRITICAL;
	if (available < headroom)
		return VIRTIO_RESOURCE_U_HIGH;
	return VIRTIO_RESOURCE_U_NORMAL;
}

/*
 * T_REQUEST @amount of @kind (@minimum at least) through the agreement
 * table. Returns the amount granted now (0: denied, refused or no answer)
 * and sets *retry_ms after a denial.
 */
static u64 vres_estimator_request(struct vres *vr, u16 kind, u64 amount, u64 minimum,
				  u64 projected, u8 urgency, u32 deadline_ms, u32 *retry_ms)
{
	struct vres_estimator *es = vres_e(vr);
	struct rc_entry req = { };
	struct rc_entry *e;
	u64 granted = 0;
	int err;

	req.kind = kind;
	req.urgency = urgency;
	req.latency = VIRTIO_RESOURCE_L_INTERACTIVE;
	req.deadline_ms = deadline_ms;
	req.amount = amount;
	req.minimum = min(minimum, amount);
	req.projected = projected;
	strscpy(req.comm, "estimator", sizeof(req.comm));
	*retry_ms = 0;
	err = vres_request(vr, &req);
	mutex_lock(&vr->lock);
	es->asks++;
	if (kind == VIRTIO_RESOURCE_K_MEMORY)
		es->asked += amount;
	else
		es->vcpus_asked += amount;
	if (err) {
		es->failures++;
	} else if (!rc_table_find(&vr->table, req.txn, &e)) {
		if (e->state == RC_S_GRANTED) {
			granted = e->granted;
			es->grants++;
		} else if (e->state == RC_S_DENIED) {
			es->denials++;
			*retry_ms = e->last.retry_after_ms ? e->last.retry_after_ms :
							     VRES_EST_DENIED_MS;
		}
	}
	if (kind == VIRTIO_RESOURCE_K_MEMORY)
		es->granted += granted;
	else
		es->vcpus_granted += granted;
	mutex_unlock(&vr->lock);
	if (err)
		dev_warn_ratelimited(&vr->vdev->dev, "estimator: %s request: %d\n",
				     rc_kind_name(kind), err);
	return granted;
}

/* T_RELEASE @amount of @kind from the allocation as a whole (txn 0). */
static bool vres_estimator_release(struct vres *vr, u16 kind, u64 amount)
{
	struct vres_estimator *es = vres_e(vr);
	struct vres_answer a;
	bool ok;
	int err;

	err = vres_release_agreement(vr, 0, 0, kind, amount, &a);
	ok = !err && !a.err && a.hdr.type == VIRTIO_RESOURCE_A_ACK;
	mutex_lock(&vr->lock);
	if (ok) {
		es->releases++;
		if (kind == VIRTIO_RESOURCE_K_MEMORY)
			es->released += amount;
		else
			es->vcpus_released += amount;
	} else {
		es->failures++;
	}
	mutex_unlock(&vr->lock);
	return ok;
}

/* More memory: what the grant covers first, then the host. */
static void vres_estimator_grow(struct vres *vr, const struct vres_sample *smp, u64 want,
				u64 need_now, u64 forecast, u64 now)
{
	struct vres_estimator *es = vres_e(vr);
	u64 headroom = (u64)READ_ONCE(headroom_mb) << 20;
	u64 granule, room, amount, minimum, got, step;
	struct sysinfo si;
	u32 deadline_ms = 0, retry_ms;
	s64 trend;
	u8 urgency;

	vres_balloon_sync(vr);
	si_meminfo(&si);
	got = (u64)si.totalram * si.mem_unit;
	got = got > smp->total ? got - smp->total : 0;
	if (got) {
		mutex_lock(&vr->lock);
		es->deflated += got;
		mutex_unlock(&vr->lock);
	}
	if (got >= want || now < es->ask_after_ns)
		return;
	want -= got;
	need_now = need_now > got ? need_now - got : 0;

	mutex_lock(&vr->lock);
	granule = vr->cfg.mem_granule;
	room = vr->cfg.mem_max - vr->cfg.mem_granted;
	step = vr->est_mem.cfg.min_step;
	trend = rc_est_trend(&vr->est_mem);
	mutex_unlock(&vr->lock);
	room = round_down(room, granule);
	if (!room)
		return; /* everything that exists is granted */
	amount = min(round_up(max(want, step), granule), room);
	minimum = clamp_t(u64, round_up(need_now, granule), granule, amount);
	urgency = vres_urgency(smp->available, headroom);
	/* When it runs out at the present trend; later answers are useless then. */
	if (urgency > VIRTIO_RESOURCE_U_NORMAL && trend > 0)
		deadline_ms = clamp_t(u64, div64_u64(smp->available, trend) * vres_period_ms(),
				      vres_period_ms(), 60000);
	mutex_lock(&vr->lock);
	es->urgency = urgency;
	mutex_unlock(&vr->lock);

	if (vres_estimator_request(vr, VIRTIO_RESOURCE_K_MEMORY, amount, minimum, forecast,
				   urgency, deadline_ms, &retry_ms))
		vres_balloon_sync(vr); /* the EV_ALLOCATION would do it too, later */
	if (retry_ms)
		es->ask_after_ns = now + (u64)retry_ms * NSEC_PER_MSEC;
}

/* Less memory: reserve @amount below the grant, then give it back. */
static void vres_estimator_shrink(struct vres *vr, u64 amount)
{
	u64 granule, granted;

	mutex_lock(&vr->lock);
	granule = vr->cfg.mem_granule;
	granted = vr->cfg.mem_granted;
	mutex_unlock(&vr->lock);
	amount = round_down(amount, granule);
	if (granted <= granule)
		return;
	amount = min(amount, granted - granule); /* the host leaves one granule */
	if (!amount)
		return;
	if (!vres_balloon_hold(vr, amount))
		vres_estimator_release(vr, VIRTIO_RESOURCE_K_MEMORY, amount);
	vres_balloon_unhold(vr, amount);
}

static void vres_estimator_memory(struct vres *vr, const struct vres_sample *smp, s64 delta,
				  u64 forecast, u64 now)
{
	u64 headroom = (u64)READ_ONCE(headroom_mb) << 20;
	u64 soon = smp->used + 2 * smp->growth + headroom;
	u64 need_now = 0;

	/*
	 * MemAvailable below the headroom is reason enough, whatever the
	 * forecast; so is the last period's growth repeated twice (the
	 * smoothed trend lags a sudden start).
	 */
	if (soon > smp->total)
		need_now = soon - smp->total;
	/* Stalling on memory is need too, however much looks available. */
	if (!need_now && psi_ask_permille && smp->psi_mem_milli > psi_ask_permille)
		need_now = headroom;
	if (delta > 0 || need_now)
		vres_estimator_grow(vr, smp, max_t(u64, delta > 0 ? delta : 0, need_now),
				    need_now, forecast, now);
	else if (delta < 0)
		vres_estimator_shrink(vr, -delta);
}

/* vCPUs, only where they can be taken offline and brought back. */
static void vres_estimator_vcpus(struct vres *vr, const struct vres_sample *smp, s64 delta,
				 u64 forecast, u64 now)
{
	struct vres_estimator *es = vres_e(vr);
	u32 granted, vmax, n, retry_ms;

	if (!delta || !vres_hotplug_cpus(vr))
		return;
	mutex_lock(&vr->lock);
	granted = vr->cfg.vcpus_granted;
	vmax = vr->cfg.vcpus_max;
	mutex_unlock(&vr->lock);
	if (delta > 0) {
		n = min_t(u64, DIV_ROUND_UP_ULL(delta, 1000), vmax - granted);
		if (!n || now < es->vcpu_ask_after_ns)
			return;
		vres_estimator_request(vr, VIRTIO_RESOURCE_K_VCPU, n, 1, forecast,
				       smp->runqueue_milli > 2000 ? VIRTIO_RESOURCE_U_HIGH :
								    VIRTIO_RESOURCE_U_NORMAL,
				       0, &retry_ms);
		if (retry_ms)
			es->vcpu_ask_after_ns = now + (u64)retry_ms * NSEC_PER_MSEC;
		return;
	}
	n = min_t(u64, div64_u64(-delta, 1000), granted ? granted - 1 : 0);
	/* The host parks vCPUs above the grant at once: offline them first. */
	if (n && !vres_hotplug_cpus_down(vr, granted - n))
		vres_estimator_release(vr, VIRTIO_RESOURCE_K_VCPU, n);
}

static void vres_estimator_stats(struct vres *vr, const struct vres_sample *smp, u64 now,
				 u64 mem_forecast, u64 vcpu_forecast)
{
	struct vres_estimator *es = vres_e(vr);
	struct rc_stats st = { };
	u8 msg[VRES_MSG_MAX];
	size_t len;
	int err;

	if (!virtio_has_feature(vr->vdev, VIRTIO_RESOURCE_F_STATS))
		return;
	st.hdr.type = VIRTIO_RESOURCE_T_STATS;
	st.timestamp_ns = now;
	st.mem_total = smp->total;
	st.mem_available = smp->available;
	st.mem_committed = smp->committed;
	st.mem_forecast = mem_forecast;
	st.psi_mem_milli = smp->psi_mem_milli;
	st.psi_cpu_milli = smp->psi_cpu_milli;
	st.cpu_util_milli = smp->cpu_util_milli;
	st.runqueue_milli = smp->runqueue_milli;
	st.vcpu_forecast_milli = min_t(u64, vcpu_forecast, U32_MAX);
	len = rc_encode_stats(msg, sizeof(msg), &st);
	err = len ? vres_call(vr, VIRTIO_RESOURCE_Q_STATS, msg, len, NULL, 0) : -EINVAL;
	mutex_lock(&vr->lock);
	if (err < 0)
		es->stats_failed++;
	else
		es->stats_sent++;
	mutex_unlock(&vr->lock);
}

static void vres_estimator_tick(struct vres *vr)
{
	struct vres_estimator *es = vres_e(vr);
	u64 headroom = (u64)READ_ONCE(headroom_mb) << 20;
	u64 now = ktime_get_ns(), mem_fc, vcpu_fc, have;
	struct vres_sample smp;
	s64 mem_delta = 0, vcpu_delta = 0;
	bool needs_reset;

	vres_sample_take(es, &smp, now);
	mutex_lock(&vr->lock);
	rc_est_sample(&vr->est_mem, smp.used, now);
	rc_est_sample(&vr->est_vcpu, smp.vcpu_demand_milli, now);
	mem_fc = rc_est_forecast(&vr->est_mem);
	vcpu_fc = rc_est_forecast(&vr->est_vcpu);
	/* What demand may grow to: what the kernel has, less the headroom. */
	have = smp.total > headroom ? smp.total - headroom : 0;
	rc_est_decide(&vr->est_mem, have, now, &mem_delta);
	if (vres_hotplug_cpus(vr))
		rc_est_decide(&vr->est_vcpu, (u64)vr->cfg.vcpus_granted * 1000, now, &vcpu_delta);
	needs_reset = vr->needs_reset;
	es->total = smp.total;
	es->available = smp.available;
	es->committed = smp.committed;
	es->used = smp.used;
	es->cpu_util_milli = smp.cpu_util_milli;
	es->runqueue_milli = smp.runqueue_milli;
	es->psi_mem_milli = smp.psi_mem_milli;
	es->psi_cpu_milli = smp.psi_cpu_milli;
	es->vcpu_demand_milli = smp.vcpu_demand_milli;
	es->mem_delta = mem_delta;
	es->ticks++;
	mutex_unlock(&vr->lock);
	if (needs_reset)
		return; /* the device takes nothing but a reset */

	if (virtio_has_feature(vr->vdev, VIRTIO_RESOURCE_F_MEMORY))
		vres_estimator_memory(vr, &smp, mem_delta, mem_fc, now);
	if (virtio_has_feature(vr->vdev, VIRTIO_RESOURCE_F_VCPU))
		vres_estimator_vcpus(vr, &smp, vcpu_delta, vcpu_fc, now);
	vres_estimator_stats(vr, &smp, now, mem_fc, vcpu_fc);
}

void vres_estimator_work(struct work_struct *work)
{
	struct vres_estimator *es = container_of(to_delayed_work(work), struct vres_estimator,
						 work);
	struct vres *vr = container_of(es, struct vres, estimator);

	vres_estimator_tick(vr);
	spin_lock_irq(&vr->stop_lock);
	if (es->running)
		queue_delayed_work(system_freezable_wq, &es->work,
				   msecs_to_jiffies(vres_period_ms()));
	spin_unlock_irq(&vr->stop_lock);
}

/* Probe, after the balloon met the grant: the first sample at once. */
void vres_estimator_start(struct vres *vr)
{
	struct vres_estimator *es = vres_e(vr);

	if (!vres_period_ms())
		return;
	es->psi_mnt = vres_psi_mount();
	spin_lock_irq(&vr->stop_lock);
	es->running = true;
	queue_delayed_work(system_freezable_wq, &es->work, 0);
	spin_unlock_irq(&vr->stop_lock);
}

/* Remove, first of all: the estimator uses the balloon and the queues. */
void vres_estimator_stop(struct vres *vr)
{
	struct vres_estimator *es = vres_e(vr);

	spin_lock_irq(&vr->stop_lock);
	es->running = false;
	spin_unlock_irq(&vr->stop_lock);
	cancel_delayed_work_sync(&es->work);
	if (es->psi_mnt)
		kern_unmount(es->psi_mnt);
	es->psi_mnt = NULL;
}

/* debugfs state lines. Under vr->lock. */
void vres_estimator_show(struct seq_file *s, struct vres *vr)
{
	const struct vres_estimator *es = &vr->estimator;

	seq_printf(s, "estimator.period_ms: %u\n", vres_period_ms());
	seq_printf(s, "estimator.headroom: %llu\n", (u64)READ_ONCE(headroom_mb) << 20);
	seq_printf(s, "estimator.ticks: %lu\n", es->ticks);
	seq_printf(s, "estimator.mem_total: %llu\n", es->total);
	seq_printf(s, "estimator.mem_available: %llu\n", es->available);
	seq_printf(s, "estimator.mem_committed: %llu\n", es->committed);
	seq_printf(s, "estimator.mem_used: %llu\n", es->used);
	seq_printf(s, "estimator.mem_trend: %lld\n", rc_est_trend(&vr->est_mem));
	seq_printf(s, "estimator.mem_decision: %lld\n", es->mem_delta);
	seq_printf(s, "estimator.cpu_util_milli: %u\n", es->cpu_util_milli);
	seq_printf(s, "estimator.runqueue_milli: %u\n", es->runqueue_milli);
	seq_printf(s, "estimator.vcpu_demand_milli: %u\n", es->vcpu_demand_milli);
	seq_printf(s, "estimator.psi: %s\n", es->psi_mnt ? "cgroup2" : "none");
	seq_printf(s, "estimator.psi_mem_milli: %u\n", es->psi_mem_milli);
	seq_printf(s, "estimator.psi_cpu_milli: %u\n", es->psi_cpu_milli);
	seq_printf(s, "estimator.urgency: %u\n", es->urgency);
	seq_printf(s, "estimator.asks: %lu\n", es->asks);
	seq_printf(s, "estimator.grants: %lu\n", es->grants);
	seq_printf(s, "estimator.denials: %lu\n", es->denials);
	seq_printf(s, "estimator.releases: %lu\n", es->releases);
	seq_printf(s, "estimator.failures: %lu\n", es->failures);
	seq_printf(s, "estimator.mem_asked: %llu\n", es->asked);
	seq_printf(s, "estimator.mem_granted: %llu\n", es->granted);
	seq_printf(s, "estimator.mem_released: %llu\n", es->released);
	seq_printf(s, "estimator.mem_deflated: %llu\n", es->deflated);
	seq_printf(s, "estimator.vcpus_asked: %llu\n", es->vcpus_asked);
	seq_printf(s, "estimator.vcpus_granted: %llu\n", es->vcpus_granted);
	seq_printf(s, "estimator.vcpus_released: %llu\n", es->vcpus_released);
	seq_printf(s, "estimator.stats_sent: %lu\n", es->stats_sent);
	seq_printf(s, "estimator.stats_failed: %lu\n", es->stats_failed);
}
