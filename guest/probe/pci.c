// SPDX-License-Identifier: MIT
/*
 * PCI configuration space, bus 0: mechanism #1 (0xcf8/0xcfc), or with
 * pci-ecam=ADDR the memory-mapped (ECAM) space at ADDR, as QEMU's
 * `-machine microvm,pcie=on` has it (no 0xcf8 there). The address register
 * must read back (or the ECAM space answer), bus 0 is listed, and 00:00.0
 * must be a host bridge. The accessors are shared with the virtio driver.
 */
#include "probe.h"

#define CFG_ENABLE	  0x80000000U
#define CLASS_HOST_BRIDGE 0x0600
#define ECAM_BUS_SIZE	  (1UL << 20)

/* Set once by pci_setup from the command line; 0 until then or without pci-ecam. */
static uint64_t ecam;
static uint64_t bar_base = PCI_MMIO_DEFAULT;

void pci_setup(const struct options *opt)
{
	bar_base = opt->pci_mmio;
	if (opt->pci_ecam && paging_map(opt->pci_ecam, ECAM_BUS_SIZE, true))
		ecam = opt->pci_ecam;
}

/* Where BARs the firmware left at 0 go (pci-mmio=ADDR). */
uint64_t pci_bar_base(void)
{
	return bar_base;
}

static uint64_t ecam_addr(unsigned int dev, unsigned int fn, unsigned int off)
{
	return ecam + ((uint64_t)dev << 15 | fn << 12 | (off & 0xffc));
}

uint32_t pci_cfg_read(unsigned int dev, unsigned int fn, unsigned int off)
{
	if (ecam)
		return mmio_read32(ecam_addr(dev, fn, off));
	outl(PCI_CONFIG_ADDR, CFG_ENABLE | dev << 11 | fn << 8 | (off & 0xfc));
	return inl(PCI_CONFIG_DATA);
}

void pci_cfg_write(unsigned int dev, unsigned int fn, unsigned int off, uint32_t v)
{
	if (ecam) {
		mmio_write32(ecam_addr(dev, fn, off), v);
		return;
	}
	outl(PCI_CONFIG_ADDR, CFG_ENABLE | dev << 11 | fn << 8 | (off & 0xfc));
	outl(PCI_CONFIG_DATA, v);
}

void pci_cfg_write16(unsigned int dev, unsigned int fn, unsigned int off, uint16_t v)
{
	if (ecam) {
		mmio_write16(ecam_addr(dev, fn, off) + (off & 2), v);
		return;
	}
	outl(PCI_CONFIG_ADDR, CFG_ENABLE | dev << 11 | fn << 8 | (off & 0xfc));
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

/* Configuration mechanism #1 answers, or the ECAM space has 00:00.0. */
static bool access_check(void)
{
	uint32_t addr;

	if (ecam) {
		addr = pci_cfg_read(0, 0, 0);
		check("pci-ecam", (addr & 0xffff) != 0xffff && (addr & 0xffff),
		      "00:00.0 at 0x%lx reads 0x%08x", ecam, addr);
		return (addr & 0xffff) != 0xffff && (addr & 0xffff);
	}
	outl(PCI_CONFIG_ADDR, CFG_ENABLE);
	addr = inl(PCI_CONFIG_ADDR);
	outl(PCI_CONFIG_ADDR, 0);
	check("pci-mech1", addr == CFG_ENABLE, "address register reads back 0x%08x", addr);
	return addr == CFG_ENABLE;
}

void pci_run(void)
{
	uint32_t host_id = 0xffffffff, host_class = 0;
	unsigned int found = 0;

	if (!access_check()) {
		check("pci-host-bridge", false, "no configuration space");
		return;
	}

	for (unsigned int dev = 0; dev < 32; dev++) {
		unsigned int nfn = 1;

		for (unsigned int fn = 0; fn < nfn; fn++) {
			uint32_t id = pci_cfg_read(dev, fn, 0x00), class;

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			class = pci_cfg_read(dev, fn, 0x08) >> 8;
			if (fn == 0 && (pci_cfg_read(dev, 0, 0x0c) >> 16 & 0x80))
				nfn = 8;
			if (dev == 0 && fn == 0) {
				host_id = id;
				host_class = class;
			}
			found++;
			pr("pci 00:%02x.%u %04x:%04x class %06x", dev, fn, id & 0xffff, id >> 16,
			   class);
		}
	}
	if (!ecam)
		outl(PCI_CONFIG_ADDR, 0);

	if (host_id == 0xffffffff)
		check("pci-host-bridge", false, "no device at 00:00.0 (%u devices on bus 0)",
		      found);
	else
		check("pci-host-bridge", host_class >> 8 == CLASS_HOST_BRIDGE,
		      "00:00.0 %04x:%04x class %06x, %u devices on bus 0", host_id & 0xffff,
		      host_id >> 16, host_class, found);
}
