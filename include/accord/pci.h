/* SPDX-License-Identifier: MIT */
/*
 * PCI bus 0 behind configuration mechanism #1 (ports 0xcf8/0xcfc). Each
 * device's config space is plain bytes with a mask of guest-writable bits,
 * so BAR sizing and the command register work without per-device code.
 */
#ifndef ACCORD_PCI_H
#define ACCORD_PCI_H

#include <pthread.h>
#include <stdint.h>

#include "accord/bus.h"
#include "accord/stop.h"

#define PCI_CONF1_ADDR_PORT 0xcf8
#define PCI_CONF1_DATA_PORT 0xcfc
#define PCI_CONF1_ENABLE    0x80000000u
#define PCI_CFG_SIZE	    256
#define PCI_SLOTS	    32

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_CLASS_REVISION	0x08
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_IO		 0x1
#define PCI_COMMAND_MEMORY	 0x2
#define PCI_COMMAND_MASTER	 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400

#define PCI_STATUS_CAP_LIST	     0x10
#define PCI_CAPABILITY_LIST	     0x34
#define PCI_CAP_ID_MSIX		     0x11
#define PCI_CAP_ID_VNDR		     0x09
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x04

#define PCI_CLASS_BRIDGE_HOST  0x060000
#define PCI_CLASS_STORAGE_SCSI 0x010000
#define PCI_CLASS_OTHERS       0xff0000

/* INTA# of slot s is wired to IOAPIC pin 16 + s % 8 (the MP table says so). */
#define PCI_INTX_FIRST_GSI 16
static inline unsigned int pci__intx_gsi(unsigned int slot)
{
	return PCI_INTX_FIRST_GSI + slot % 8;
}

/* Intel's ID for a virtual PCIe host bridge, as Firecracker and Cloud Hypervisor use. */
#define ACCORD_HOST_BRIDGE_VENDOR 0x8086
#define ACCORD_HOST_BRIDGE_DEVICE 0x0d57

struct pci_device;

struct pci_device_ops {
	/* Before a guest read of config space: refresh bytes that are computed (bus lock held). */
	void (*config_read)(struct pci_device *dev, unsigned int offset, unsigned int len);
	/* After a guest write to config space has been applied (bus lock not held). */
	void (*config_written)(struct pci_device *dev, unsigned int offset, unsigned int len);
};

struct pci_bus;

struct pci_device {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	const struct pci_device_ops *ops;
	void *priv;
	struct pci_bus *bus; /* set by pci__add_device */
};

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t config_address;
	struct pci_device *slots[PCI_SLOTS];
	struct pci_device host_bridge;
	/* The reset control register shares the 0xcf8 dword (byte 0xcf9). */
	struct stop_sink *reset_sink;
};

int pci__init(struct pci_bus *pci, struct stop_sink *reset_sink);
void pci__exit(struct pci_bus *pci);
int pci__register_ports(struct pci_bus *pci, struct bus *pio);
/* Put @dev in @slot, or the first free slot when @slot < 0; returns the slot. */
int pci__add_device(struct pci_bus *pci, struct pci_device *dev, int slot);
void pci__remove_device(struct pci_bus *pci, struct pci_device *dev);
void pci__device_init(struct pci_device *dev, uint16_t vendor, uint16_t device, uint32_t class_code,
		      uint8_t revision);

/* Read @len bytes of @dev's config space under the bus lock (for device code). */
uint32_t pci__dev_read(struct pci_device *dev, unsigned int offset, unsigned int len);
void pci__put_le(uint8_t *p, uint32_t v, unsigned int len);
uint32_t pci__get_le(const uint8_t *p, unsigned int len);

uint32_t pci__config_read(struct pci_bus *pci, uint32_t address, unsigned int offset,
			  unsigned int len);
void pci__config_write(struct pci_bus *pci, uint32_t address, unsigned int offset, unsigned int len,
		       uint32_t val);

static inline uint32_t pci__address(unsigned int bus, unsigned int dev, unsigned int fn,
				    unsigned int reg)
{
	return PCI_CONF1_ENABLE | (bus & 0xff) << 16 | (dev & 0x1f) << 11 | (fn & 7) << 8 |
	       (reg & 0xfc);
}

extern const struct bus_ops pci_conf1_addr_ops;
extern const struct bus_ops pci_conf1_data_ops;

#endif
