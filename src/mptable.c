// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "accord/layout.h"
#include "accord/mptable.h"
#include "accord/pci.h"

/* Local interrupt entries share the I/O interrupt entry layout. */
#define MP_NR_LINT 2

size_t mptable__size(unsigned int ncpus)
{
	return sizeof(struct mp_floating) + sizeof(struct mp_config) +
	       ncpus * sizeof(struct mp_processor) + 2 * sizeof(struct mp_bus) +
	       sizeof(struct mp_ioapic) +
	       (MP_ISA_IRQS + MP_PCI_SLOTS - 1 + MP_NR_LINT) * sizeof(struct mp_intsrc);
}

uint8_t mptable__checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)-sum;
}

long mptable__write(void *buf, size_t len, uint32_t gpa, unsigned int ncpus)
{
	size_t need = mptable__size(ncpus);
	struct mp_floating *mpf = buf;
	struct mp_config *mpc = (struct mp_config *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint16_t count = 0;

	if (ncpus == 0 || ncpus > 254 || need > len)
		return -ENOSPC;
	memset(buf, 0, need);

	for (unsigned int i = 0; i < ncpus; i++, count++) {
		struct mp_processor *cpu = (struct mp_processor *)p;

		cpu->type = MP_PROCESSOR;
		cpu->apic_id = (uint8_t)i;
		cpu->apic_ver = MP_APIC_VERSION;
		cpu->flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		cpu->signature = 0x600; /* family 6 */
		cpu->features = 0x201;	/* FPU, APIC */
		p += sizeof(*cpu);
	}

	struct mp_bus *bus = (struct mp_bus *)p;
	bus->type = MP_BUS;
	bus->bus_id = MP_BUS_ID_PCI;
	memcpy(bus->bus_type, "PCI   ", 6);
	p += sizeof(*bus);
	count++;

	bus = (struct mp_bus *)p;
	bus->type = MP_BUS;
	bus->bus_id = MP_BUS_ID_ISA;
	memcpy(bus->bus_type, "ISA   ", 6);
	p += sizeof(*bus);
	count++;

	struct mp_ioapic *ioapic = (struct mp_ioapic *)p;
	ioapic->type = MP_IOAPIC;
	ioapic->apic_id = ioapic_id;
	ioapic->apic_ver = MP_IOAPIC_VERSION;
	ioapic->flags = 1;
	ioapic->address = (uint32_t)LAYOUT_IOAPIC;
	p += sizeof(*ioapic);
	count++;

	/* KVM's default routing wires ISA IRQ n to IOAPIC pin n. */
	for (unsigned int irq = 0; irq < MP_ISA_IRQS; irq++, count++) {
		struct mp_intsrc *src = (struct mp_intsrc *)p;

		src->type = MP_INTSRC;
		src->irq_type = MP_IRQ_INT;
		src->src_bus = MP_BUS_ID_ISA;
		src->src_irq = (uint8_t)irq;
		src->dst_apic = ioapic_id;
		src->dst_irq = (uint8_t)irq;
		p += sizeof(*src);
	}

	/* INTA# of every slot but the host bridge's, wired as pci__intx_gsi() says. */
	for (unsigned int slot = 1; slot < MP_PCI_SLOTS; slot++, count++) {
		struct mp_intsrc *src = (struct mp_intsrc *)p;

		src->type = MP_INTSRC;
		src->irq_type = MP_IRQ_INT;
		src->irq_flags = MP_IRQ_PCI_FLAGS;
		src->src_bus = MP_BUS_ID_PCI;
		src->src_irq = (uint8_t)(slot << 2); /* device number, pin INTA# */
		src->dst_apic = ioapic_id;
		src->dst_irq = (uint8_t)pci__intx_gsi(slot);
		p += sizeof(*src);
	}

	/* The 8259's output on every LINT0, NMI on every LINT1. */
	for (unsigned int lint = 0; lint < MP_NR_LINT; lint++, count++) {
		struct mp_intsrc *src = (struct mp_intsrc *)p;

		src->type = MP_LINTSRC;
		src->irq_type = lint ? MP_IRQ_NMI : MP_IRQ_EXTINT;
		src->src_bus = MP_BUS_ID_ISA;
		src->dst_apic = MP_ALL_APICS;
		src->dst_irq = (uint8_t)lint;
		p += sizeof(*src);
	}

	memcpy(mpc->signature, MP_CONFIG_SIG, 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec_rev = 4;
	memcpy(mpc->oem, "ACCORD  ", 8);
	memcpy(mpc->product, "ACCORD VM   ", 12);
	mpc->count = count;
	mpc->lapic = (uint32_t)LAYOUT_LAPIC;
	mpc->checksum = mptable__checksum(mpc, mpc->length);

	memcpy(mpf->signature, MP_FLOATING_SIG, 4);
	mpf->physptr = gpa + (uint32_t)sizeof(*mpf);
	mpf->length = 1;
	mpf->spec_rev = 4;
	mpf->checksum = mptable__checksum(mpf, sizeof(*mpf));
	return (long)need;
}
