// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accord/irq.h"

static void irq__add_irqchip(struct irq_router *r, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &r->entries[r->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

void irq__init(struct irq_router *r, int vm_fd)
{
	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	pthread_mutex_init(&r->lock, NULL);
	/* What KVM sets up with KVM_CREATE_IRQCHIP: ISA IRQs on both PICs and the IOAPIC. */
	for (uint32_t gsi = 0; gsi < IRQ_IOAPIC_PINS; gsi++) {
		if (gsi < 8)
			irq__add_irqchip(r, gsi, KVM_IRQCHIP_PIC_MASTER, gsi);
		else if (gsi < 16)
			irq__add_irqchip(r, gsi, KVM_IRQCHIP_PIC_SLAVE, gsi - 8);
		irq__add_irqchip(r, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	}
	r->next_gsi = IRQ_FIRST_MSI_GSI;
}

void irq__exit(struct irq_router *r)
{
	pthread_mutex_destroy(&r->lock);
}

static int irq__commit(struct irq_router *r)
{
	struct kvm_irq_routing *table;
	int ret = 0;

	table = calloc(1, sizeof(*table) + r->nr * sizeof(table->entries[0]));
	if (!table)
		return -ENOMEM;
	table->nr = r->nr;
	memcpy(table->entries, r->entries, r->nr * sizeof(table->entries[0]));
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, table))
		ret = -errno;
	free(table);
	return ret;
}

int irq__alloc_msi(struct irq_router *r, uint32_t *gsi)
{
	struct kvm_irq_routing_entry *e;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (r->nr == IRQ_MAX_ROUTES) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	e = &r->entries[r->nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = r->next_gsi++;
	/* An all-zero MSI until the guest programs its vector. */
	e->type = KVM_IRQ_ROUTING_MSI;
	*gsi = e->gsi;
out_unlock:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq__set_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&r->lock);
	for (unsigned int i = 0; i < r->nr; i++) {
		struct kvm_irq_routing_entry *e = &r->entries[i];

		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		if (e->u.msi.address_lo == (uint32_t)addr &&
		    e->u.msi.address_hi == (uint32_t)(addr >> 32) && e->u.msi.data == data) {
			ret = 0;
			break;
		}
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		ret = irq__commit(r);
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq__irqfd(struct irq_router *r, int efd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)efd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(r->vm_fd, KVM_IRQFD, &irqfd) ? -errno : 0;
}

int irq__set_shared_line(struct irq_router *r, uint32_t gsi, bool level)
{
	struct kvm_irq_level line = { .irq = gsi };
	bool change;
	int ret = 0;

	if (gsi >= IRQ_IOAPIC_PINS)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (level) {
		change = r->line_asserted[gsi]++ == 0;
	} else {
		change = r->line_asserted[gsi] && --r->line_asserted[gsi] == 0;
	}
	line.level = level;
	if (change && ioctl(r->vm_fd, KVM_IRQ_LINE, &line))
		ret = -errno;
	pthread_mutex_unlock(&r->lock);
	return ret;
}
