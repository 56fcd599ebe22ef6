/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * learns its CPUs, its IOAPIC and the ISA interrupt wiring.
 */
#ifndef ACCORD_MPTABLE_H
#define ACCORD_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MP_FLOATING_SIG	  "_MP_"
#define MP_CONFIG_SIG	  "PCMP"
#define MP_APIC_VERSION	  0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_ISA_IRQS	  16

enum mp_entry_type {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_INTSRC = 3,
	MP_LINTSRC = 4,
};

struct mp_floating {
	char signature[4];
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mp_config {
	char signature[4];
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags; /* bit 0 enabled, bit 1 bootstrap processor */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;
	uint32_t address;
} __attribute__((packed));

struct mp_intsrc {
	uint8_t type;
	uint8_t irq_type;
	uint16_t irq_flags;
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_irq;
} __attribute__((packed));

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP     0x02
#define MP_IRQ_INT     0
#define MP_IRQ_NMI     1
#define MP_IRQ_EXTINT  3
#define MP_BUS_ID_PCI  0
#define MP_BUS_ID_ISA  1
/* PCI interrupts: active low, level triggered (MP spec table 4-10). */
#define MP_IRQ_PCI_FLAGS 0x0f
#define MP_PCI_SLOTS	 32
#define MP_ALL_APICS	 0xff

/* Bytes needed for @ncpus. */
size_t mptable__size(unsigned int ncpus);
/*
 * Write the floating pointer and configuration table for @ncpus into @buf,
 * which will sit at guest-physical @gpa. Returns the bytes used or -ENOSPC.
 */
long mptable__write(void *buf, size_t len, uint32_t gpa, unsigned int ncpus);
uint8_t mptable__checksum(const void *p, size_t len);

#endif
