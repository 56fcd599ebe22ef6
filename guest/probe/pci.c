// SPDX-License-Identifier: MIT
/*
 * PCI configuration mechanism #1 (0xcf8/0xcfc): the address register must
 * read back, bus 0 is listed, and 00:00.0 must be a host bridge. The
 * accessors (bus 0 only) are shared with the virtio driver.
 */
#include "probe.h"

#define CFG_ENABLE	  0x80000000U
#define CLASS_HOST_BRIDGE 0x0600

uint32_t pci_cfg_read(unsigned int dev, unsigned int fn, unsigned int off)
{
	outl(PCI_CONFIG_ADDR, CFG_ENABLE | dev << 11 | fn << 8 | (off & 0xfc));
	return inl(PCI_CONFIG_DATA);
}

void pci_cfg_write(unsigned int dev, unsigned int fn, unsigned int off, uint32_t v)
{
	outl(PCI_CONFIG_ADDR, CFG_ENABLE | dev << 11 | fn << 8 | (off & 0xfc));
	outl(PCI_CONFIG_DATA, v);
}

void pci_cfg_write16(unsigned int dev, unsigned int fn, unsigned int off, uint16_t v)
{
	outl(PCI_CONFIG_ADDR, CFG_ENABLE | dev << 11 | fn << 8 | (off & 0xfc));
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

void pci_run(void)
{
	uint32_t host_id = 0xffffffff, host_class = 0, addr;
	unsigned int found = 0;

	outl(PCI_CONFIG_ADDR, CFG_ENABLE);
	addr = inl(PCI_CONFIG_ADDR);
	outl(PCI_CONFIG_ADDR, 0);
	check("pci-mech1", addr == CFG_ENABLE, "address register reads back 0x%08x", addr);
	if (addr != CFG_ENABLE) {
		check("pci-host-bridge", false, "no configuration mechanism #1");
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
	outl(PCI_CONFIG_ADDR, 0);

	if (host_id == 0xffffffff)
		check("pci-host-bridge", false, "no device at 00:00.0 (%u devices on bus 0)",
		      found);
	else
		check("pci-host-bridge", host_class >> 8 == CLASS_HOST_BRIDGE,
		      "00:00.0 %04x:%04x class %06x, %u devices on bus 0", host_id & 0xffff,
		      host_id >> 16, host_class, found);
}
