// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_resource: /sys/kernel/debug/virtio_resource/<device>/
 *
 *   state    (read) the configuration, HELLO's outcome, a summary of the
 *            hardware description, the estimators, counters, and the
 *            outgoing request table, one "key: value" per line
 *   request  (write, root) "memory BYTES [MINIMUM]" or "vcpus N [MINIMUM]":
 *            a REQUEST through the agreement table, for the driver itself
 *            (applications use /dev/virtio-resource, vres_cdev.c, whose
 *            request table is the "requests" file here)
 *
 * Copyright (c) 2026 The accord developers
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/virtio.h>

#include "vres.h"

#define VRES_REQUEST_LINE 64

static void vres_show_config(struct seq_file *s, const struct vres_cfg *c)
{
	seq_printf(s, "config.version: %u\n", c->version);
	seq_printf(s, "config.guest_id: %u\n", c->guest_id);
	seq_printf(s, "config.generation: %u\n", c->generation);
	seq_printf(s, "config.inventory_size: %u\n", c->inventory_size);
	seq_printf(s, "config.mem_granule: %llu\n", c->mem_granule);
	seq_printf(s, "config.mem_max: %llu\n", c->mem_max);
	seq_printf(s, "config.mem_granted: %llu\n", c->mem_granted);
	seq_printf(s, "config.mem_reserved: %llu\n", c->mem_reserved);
	seq_printf(s, "config.vcpus_max: %u\n", c->vcpus_max);
	seq_printf(s, "config.vcpus_granted: %u\n", c->vcpus_granted);
	seq_printf(s, "config.max_message: %u\n", c->max_message);
	seq_printf(s, "config.max_outstanding: %u\n", c->max_outstanding);
}

static void vres_show_inventory(struct seq_file *s, const struct vres *vr)
{
	const struct rc_inventory *inv = vr->inv;

	seq_printf(s, "inventory.valid: %d\n", vr->inv_valid);
	seq_printf(s, "inventory.error: %d%s%s\n", vr->inv_err,
		   vr->inv_parse_err ? " " : "",
		   vr->inv_parse_err ? rc_strerror(vr->inv_parse_err) : "");
	if (!vr->inv_valid)
		return;
	seq_printf(s, "inventory.bytes: %u\n", vr->inv_bytes);
	seq_printf(s, "inventory.generation: %u\n", inv->generation);
	seq_printf(s, "inventory.truncated: %d\n", inv->truncated);
	seq_printf(s, "inventory.cpus: %u\n", inv->cpus_found);
	seq_printf(s, "inventory.cpus_online: %u\n", inv->cpus_online);
	seq_printf(s, "inventory.cpus_allocated: %u\n", inv->cpus_allocated);
	if (inv->has_memory) {
		seq_printf(s, "inventory.mem_total: %llu\n", inv->mem_total);
		seq_printf(s, "inventory.mem_nodes: %u\n", inv->mem_nodes_found);
	}
	seq_printf(s, "inventory.pci_devices: %u\n", inv->pci_found);
	seq_printf(s, "inventory.memory_max: %llu\n", inv->alloc.memory_max);
	seq_printf(s, "inventory.memory_granted: %llu\n", inv->alloc.memory_granted);
	seq_printf(s, "inventory.memory_reserved: %llu\n", inv->alloc.memory_reserved);
	seq_printf(s, "inventory.vcpus_max: %u\n", inv->alloc.vcpus_max);
	seq_printf(s, "inventory.vcpus_granted: %u\n", inv->alloc.vcpus_granted);
	seq_printf(s, "inventory.granule: %llu\n", inv->alloc.granule);
}

static void vres_show_counters(struct seq_file *s, const struct vres *vr)
{
	const struct vres_counters *c = &vr->count;
	unsigned int q;

	seq_printf(s, "count.refreshes: %lu\n", c->refreshes);
	seq_printf(s, "count.inventory_reads: %lu\n", c->inventory_reads);
	seq_printf(s, "count.events: %lu\n", c->events);
	seq_printf(s, "count.ev_allocation: %lu\n", c->ev_allocation);
	seq_printf(s, "count.ev_reclaim: %lu\n", c->ev_reclaim);
	seq_printf(s, "count.ev_grant: %lu\n", c->ev_grant);
	seq_printf(s, "count.ev_offer: %lu\n", c->ev_offer);
	seq_printf(s, "count.ev_renegotiate: %lu\n", c->ev_renegotiate);
	seq_printf(s, "count.ev_message: %lu\n", c->ev_message);
	seq_printf(s, "count.ev_refused: %lu\n", c->ev_refused);
	seq_printf(s, "count.requests: %lu\n", c->requests);
	for (q = 0; q < VIRTIO_RESOURCE_NR_QUEUES; q++) {
		unsigned long calls, errors;

		if (q == VIRTIO_RESOURCE_Q_EVENT)
			continue;
		/* Counted under the queue's lock, read without it: only statistics. */
		calls = data_race(vr->chan[q].calls);
		/* As above. */
		errors = data_race(vr->chan[q].errors);
		seq_printf(s, "queue%u: calls=%lu errors=%lu\n", q, calls, errors);
	}
}

static void vres_show_table(struct seq_file *s, struct vres *vr)
{
	struct rc_entry *e;
	u32 idx;

	seq_printf(s, "requests: %u\n", vr->table.used);
	rc_table_for_each(&vr->table, idx, e) {
		seq_printf(s,
			   "request: txn=%llu app=%u pid=%u comm=%s kind=%s amount=%llu minimum=%llu projected=%llu granted=%llu state=%s",
			   e->txn, e->app_id, e->pid, e->comm, rc_kind_name(e->kind), e->amount,
			   e->minimum, e->projected, e->granted, rc_state_name(e->state));
		if (e->state == RC_S_RENEGOTIATING)
			seq_printf(s, " proposed=%llu", e->proposed);
		if (e->offer_id)
			seq_printf(s, " offer=%u", e->offer_id);
		seq_printf(s, " last=%s status=%u", rc_type_name(e->last.type),
			   e->last.status);
		if (e->last.type == VIRTIO_RESOURCE_A_DENY)
			seq_printf(s, " reason=%u retry_after_ms=%u", e->last.reason,
				   e->last.retry_after_ms);
		seq_putc(s, '\n');
	}
}

static int vres_state_show(struct seq_file *s, void *unused)
{
	struct vres *vr = s->private;

	mutex_lock(&vr->lock);
	rc_table_expire(&vr->table, ktime_get_ns());
	seq_printf(s, "device: %s\n", dev_name(&vr->vdev->dev));
	seq_printf(s, "features: 0x%llx\n", vr->vdev->features);
	seq_printf(s, "needs_reset: %d\n", vr->needs_reset);
	vres_show_config(s, &vr->cfg);
	seq_printf(s, "hello.version: %u\n", vr->welcome_version);
	seq_printf(s, "hello.guest_id: %u\n", vr->welcome_guest_id);
	seq_printf(s, "hello.mem_rate: %llu\n", vr->mem_rate);
	vres_show_inventory(s, vr);
	seq_printf(s, "estimator.memory: samples=%llu forecast=%llu\n", vr->est_mem.samples,
		   rc_est_forecast(&vr->est_mem));
	seq_printf(s, "estimator.vcpus: samples=%llu forecast_milli=%llu\n",
		   vr->est_vcpu.samples, rc_est_forecast(&vr->est_vcpu));
	if (vr->reclaim_pending)
		seq_printf(s, "reclaim: txn=%llu amount=%llu target=%llu deadline_ms=%u\n",
			   vr->reclaim.hdr.txn, vr->reclaim.amount, vr->reclaim.target,
			   vr->reclaim.deadline_ms);
	vres_balloon_show(s, vr);
	vres_estimator_show(s, vr);
	vres_hotplug_show(s, vr);
	vres_show_counters(s, vr);
	vres_show_table(s, vr);
	mutex_unlock(&vr->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vres_state);

static ssize_t vres_request_write(struct file *file, const char __user *ubuf, size_t count,
				  loff_t *ppos)
{
	struct vres *vr = file->private_data;
	char line[VRES_REQUEST_LINE], kind[16];
	struct rc_entry req = { };
	u64 amount, minimum, have;
	int n, err;

	if (count >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, count))
		return -EFAULT;
	line[count] = '\0';
	n = sscanf(line, "%15s %llu %llu", kind, &amount, &minimum);
	if (n < 2)
		return -EINVAL;
	if (n == 2)
		minimum = amount;
	mutex_lock(&vr->lock);
	if (!strcmp(kind, "memory")) {
		req.kind = VIRTIO_RESOURCE_K_MEMORY;
		have = vr->cfg.mem_granted;
	} else if (!strcmp(kind, "vcpus")) {
		req.kind = VIRTIO_RESOURCE_K_VCPU;
		have = vr->cfg.vcpus_granted;
	} else {
		have = 0;
	}
	mutex_unlock(&vr->lock);
	if (!req.kind)
		return -EINVAL;
	req.pid = task_tgid_nr(current);
	get_task_comm(req.comm, current);
	req.urgency = VIRTIO_RESOURCE_U_NORMAL;
	req.latency = VIRTIO_RESOURCE_L_INTERACTIVE;
	req.amount = amount;
	req.minimum = minimum;
	req.projected = have + amount;
	err = vres_request(vr, &req);
	return err ? err : count;
}

static const struct file_operations vres_request_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vres_request_write,
	.llseek = no_llseek,
};

void vres_debugfs_add(struct vres *vr)
{
	vr->debugfs = debugfs_create_dir(dev_name(&vr->vdev->dev), vres_debugfs_root);
	debugfs_create_file("state", 0444, vr->debugfs, vr, &vres_state_fops);
	debugfs_create_file("request", 0200, vr->debugfs, vr, &vres_request_fops);
}

void vres_debugfs_remove(struct vres *vr)
{
	debugfs_remove_recursive(vr->debugfs);
	vr->debugfs = NULL;
}
