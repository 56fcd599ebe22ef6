/* SPDX-License-Identifier: MIT */
/*
 * The VM's GSI routing table. KVM_SET_GSI_ROUTING replaces the whole table,
 * so the router keeps KVM's default irqchip routes (GSI 0-23) and adds MSI
 * routes above them, one GSI per MSI-X vector that a guest programs.
 */
#ifndef ACCORD_IRQ_H
#define ACCORD_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define IRQ_IOAPIC_PINS	  24
#define IRQ_MAX_ROUTES	  256
#define IRQ_FIRST_MSI_GSI IRQ_IOAPIC_PINS

struct irq_router {
	int vm_fd;
	pthread_mutex_t lock;
	unsigned int nr;
	uint32_t next_gsi;
	struct kvm_irq_routing_entry entries[IRQ_MAX_ROUTES];
	/* Level-triggered sources asserting each IOAPIC pin (shared PCI INTx). */
	unsigned int line_asserted[IRQ_IOAPIC_PINS];
};

/* Start from KVM's default routes; nothing is sent to KVM until a change. */
void irq__init(struct irq_router *r, int vm_fd);
void irq__exit(struct irq_router *r);
/* A new GSI for an MSI (its route is set by irq__set_msi). */
int irq__alloc_msi(struct irq_router *r, uint32_t *gsi);
int irq__set_msi(struct irq_router *r, uint32_t gsi, uint64_t addr, uint32_t data);
/*
 * One source's level on a shared line: the pin stays asserted while any
 * source asserts it. Each source must only report changes of its own level.
 */
int irq__set_shared_line(struct irq_router *r, uint32_t gsi, bool level);
/* Bind @efd to @gsi (KVM_IRQFD) or unbind it. */
int irq__irqfd(struct irq_router *r, int efd, uint32_t gsi, bool assign);

#endif
