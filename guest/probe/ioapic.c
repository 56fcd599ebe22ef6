// SPDX-License-Identifier: MIT
/*
 * The I/O APIC (82093AA): an index register (IOREGSEL, +0x00) and a data
 * window (IOWIN, +0x10). Register 0x01 holds the version and the highest
 * redirection entry; entry n is registers 0x10 + 2n (low dword: vector,
 * delivery and destination mode, polarity, remote IRR, trigger, mask) and
 * 0x11 + 2n (high dword: destination in bits 31:24).
 */
#include "probe.h"

#define IOREGSEL   0x00
#define IOWIN	   0x10
#define IOAPIC_VER 0x01
#define IOAPIC_RTE 0x10

static uint64_t base;

static uint32_t ioapic_read(unsigned int reg)
{
	mmio_write32(base + IOREGSEL, reg);
	return mmio_read32(base + IOWIN);
}

static void ioapic_write(unsigned int reg, uint32_t v)
{
	mmio_write32(base + IOREGSEL, reg);
	mmio_write32(base + IOWIN, v);
}

/* Map the I/O APIC at addr; *nr_pins is its number of redirection entries. */
bool ioapic_init(uint64_t addr, unsigned int *nr_pins)
{
	if (!addr || !paging_map(addr, IOWIN + 4, true))
		return false;
	base = addr;
	*nr_pins = (ioapic_read(IOAPIC_VER) >> 16 & 0xff) + 1;
	return true;
}

uint64_t ioapic_entry(unsigned int pin)
{
	return ioapic_read(IOAPIC_RTE + 2 * pin) | (uint64_t)ioapic_read(IOAPIC_RTE + 2 * pin + 1)
							   << 32;
}

/* Masked while the destination changes, then the low dword as given. */
void ioapic_set_entry(unsigned int pin, uint64_t entry)
{
	ioapic_write(IOAPIC_RTE + 2 * pin, IOAPIC_MASKED);
	ioapic_write(IOAPIC_RTE + 2 * pin + 1, entry >> 32);
	ioapic_write(IOAPIC_RTE + 2 * pin, (uint32_t)entry);
}
