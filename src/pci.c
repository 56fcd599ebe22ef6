// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "accord/pci.h"
#include "accord/sysdev.h"

void pci__put_le(uint8_t *p, uint32_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t pci__get_le(const uint8_t *p, unsigned int len)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

void pci__device_init(struct pci_device *dev, uint16_t vendor, uint16_t device, uint32_t class_code,
		      uint8_t revision)
{
	memset(dev->cfg, 0, sizeof(dev->cfg));
	memset(dev->wmask, 0, sizeof(dev->wmask));
	pci__put_le(&dev->cfg[PCI_VENDOR_ID], vendor, 2);
	pci__put_le(&dev->cfg[PCI_DEVICE_ID], device, 2);
	pci__put_le(&dev->cfg[PCI_CLASS_REVISION], class_code << 8 | revision, 4);
	pci__put_le(&dev->wmask[PCI_COMMAND],
		    PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			    PCI_COMMAND_INTX_DISABLE,
		    2);
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci__init(struct pci_bus *pci, struct stop_sink *reset_sink)
{
	memset(pci, 0, sizeof(*pci));
	pthread_mutex_init(&pci->lock, NULL);
	pci->reset_sink = reset_sink;
	pci__device_init(&pci->host_bridge, ACCORD_HOST_BRIDGE_VENDOR, ACCORD_HOST_BRIDGE_DEVICE,
			 PCI_CLASS_BRIDGE_HOST, 0);
	/* A host bridge has no interrupt line to program. */
	pci->host_bridge.wmask[PCI_INTERRUPT_LINE] = 0;
	pci->slots[0] = &pci->host_bridge;
	pci->host_bridge.bus = pci;
	return 0;
}

void pci__exit(struct pci_bus *pci)
{
	pthread_mutex_destroy(&pci->lock);
}

int pci__add_device(struct pci_bus *pci, struct pci_device *dev, int slot)
{
	int ret = -ENOSPC;

	if (slot >= PCI_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&pci->lock);
	if (slot >= 0) {
		ret = pci->slots[slot] ? -EBUSY : slot;
	} else {
		for (int i = 0; i < PCI_SLOTS; i++) {
			if (!pci->slots[i]) {
				ret = i;
				break;
			}
		}
	}
	if (ret >= 0) {
		pci->slots[ret] = dev;
		dev->bus = pci;
	}
	pthread_mutex_unlock(&pci->lock);
	return ret;
}

void pci__remove_device(struct pci_bus *pci, struct pci_device *dev)
{
	pthread_mutex_lock(&pci->lock);
	for (int i = 0; i < PCI_SLOTS; i++) {
		if (pci->slots[i] == dev)
			pci->slots[i] = NULL;
	}
	pthread_mutex_unlock(&pci->lock);
}

/* The device @address selects on bus 0, function 0, or NULL. */
static struct pci_device *pci__lookup(struct pci_bus *pci, uint32_t address)
{
	unsigned int bus = (address >> 16) & 0xff, slot = (address >> 11) & 0x1f;
	unsigned int fn = (address >> 8) & 7;

	if (!(address & PCI_CONF1_ENABLE) || bus != 0 || fn != 0)
		return NULL;
	return pci->slots[slot];
}

uint32_t pci__dev_read(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	uint32_t v;

	pthread_mutex_lock(&dev->bus->lock);
	v = pci__get_le(&dev->cfg[offset], len);
	pthread_mutex_unlock(&dev->bus->lock);
	return v;
}

uint32_t pci__config_read(struct pci_bus *pci, uint32_t address, unsigned int offset,
			  unsigned int len)
{
	unsigned int reg = (address & 0xfc) + offset;
	struct pci_device *dev;
	uint32_t v = 0xffffffffu >> (32 - 8 * len);

	if (len != 1 && len != 2 && len != 4)
		return v;
	if (reg + len > PCI_CFG_SIZE)
		return v;
	pthread_mutex_lock(&pci->lock);
	dev = pci__lookup(pci, address);
	if (dev) {
		if (dev->ops && dev->ops->config_read)
			dev->ops->config_read(dev, reg, len);
		v = pci__get_le(&dev->cfg[reg], len);
	}
	pthread_mutex_unlock(&pci->lock);
	return v;
}

void pci__config_write(struct pci_bus *pci, uint32_t address, unsigned int offset, unsigned int len,
		       uint32_t val)
{
	unsigned int reg = (address & 0xfc) + offset;
	struct pci_device *dev;

	if ((len != 1 && len != 2 && len != 4) || reg + len > PCI_CFG_SIZE)
		return;
	pthread_mutex_lock(&pci->lock);
	dev = pci__lookup(pci, address);
	if (dev) {
		for (unsigned int i = 0; i < len; i++) {
			uint8_t m = dev->wmask[reg + i], b = (uint8_t)(val >> (8 * i));

			dev->cfg[reg + i] = (uint8_t)((dev->cfg[reg + i] & ~m) | (b & m));
		}
	}
	pthread_mutex_unlock(&pci->lock);
	if (dev && dev->ops && dev->ops->config_written)
		dev->ops->config_written(dev, reg, len);
}

static void conf1_addr_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
	struct pci_bus *pci = opaque;

	if (offset == 0 && len == 4) {
		pthread_mutex_lock(&pci->lock);
		pci__put_le(data, pci->config_address, 4);
		pthread_mutex_unlock(&pci->lock);
	} else {
		memset(data, 0xff, len);
	}
}

static void conf1_addr_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct pci_bus *pci = opaque;

	if (offset == 0 && len == 4) {
		pthread_mutex_lock(&pci->lock);
		/* Bits 1:0 and 30:24 are reserved and read back as zero. */
		pci->config_address = pci__get_le(data, 4) & 0x80fffffcu;
		pthread_mutex_unlock(&pci->lock);
	} else if (offset == RESET_CTL_PORT - PCI_CONF1_ADDR_PORT && len == 1 && pci->reset_sink) {
		sysdev__reset_control(pci->reset_sink, *(const uint8_t *)data);
	}
}

const struct bus_ops pci_conf1_addr_ops = {
	.read = conf1_addr_read,
	.write = conf1_addr_write,
};

static uint32_t conf1_current_address(struct pci_bus *pci)
{
	uint32_t a;

	pthread_mutex_lock(&pci->lock);
	a = pci->config_address;
	pthread_mutex_unlock(&pci->lock);
	return a;
}

static void conf1_data_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
	struct pci_bus *pci = opaque;

	pci__put_le(data,
		    pci__config_read(pci, conf1_current_address(pci), (unsigned int)offset, len),
		    len);
}

static void conf1_data_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	struct pci_bus *pci = opaque;

	pci__config_write(pci, conf1_current_address(pci), (unsigned int)offset, len,
			  pci__get_le(data, len));
}

const struct bus_ops pci_conf1_data_ops = {
	.read = conf1_data_read,
	.write = conf1_data_write,
};

int pci__register_ports(struct pci_bus *pci, struct bus *pio)
{
	int ret;

	ret = bus__register(pio, PCI_CONF1_ADDR_PORT, 4, &pci_conf1_addr_ops, pci);
	if (ret)
		return ret;
	return bus__register(pio, PCI_CONF1_DATA_PORT, 4, &pci_conf1_data_ops, pci);
}
