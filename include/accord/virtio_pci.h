/* SPDX-License-Identifier: MIT */
/*
 * Modern virtio-pci transport (virtio 1.x §4.1): one 64-bit memory BAR
 * holding the common, ISR, device and notify structures, the MSI-X table
 * and PBA. Notifications arrive through ioeventfds on the event loop;
 * interrupts leave through irqfds (MSI-X) or the INTx line.
 */
#ifndef ACCORD_VIRTIO_PCI_H
#define ACCORD_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "accord/bus.h"
#include "accord/eventloop.h"
#include "accord/irq.h"
#include "accord/pci.h"
#include "accord/virtio.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040

/* Layout of BAR 0. */
#define VPCI_BAR_SIZE	    0x4000u
#define VPCI_COMMON_OFF	    0x0000u
#define VPCI_COMMON_LEN	    0x0040u
#define VPCI_ISR_OFF	    0x0100u
#define VPCI_DEVICE_OFF	    0x0200u
#define VPCI_DEVICE_MAX	    0x0e00u
#define VPCI_NOTIFY_OFF	    0x1000u
#define VPCI_NOTIFY_MULT    4u
#define VPCI_MSIX_TABLE_OFF 0x2000u
#define VPCI_MSIX_PBA_OFF   0x3000u
#define VPCI_MSIX_VECTORS   (VIRTIO_MAX_QUEUES + 1)
#define VPCI_ISR_QUEUE	    0x1 /* ISR bit 0; bit 1 is VIRTIO_PCI_ISR_CONFIG */

/* Capability list in config space. */
#define VPCI_CAP_COMMON 0x40
#define VPCI_CAP_NOTIFY 0x50
#define VPCI_CAP_ISR	0x64
#define VPCI_CAP_DEVICE 0x74
#define VPCI_CAP_PCICFG 0x84
#define VPCI_CAP_MSIX	0x98

#define MSIX_CTRL_ENABLE     0x8000
#define MSIX_CTRL_MASKALL    0x4000
#define MSIX_ENTRY_CTRL_MASK 0x1

/* What the transport needs from the machine. */
struct virtio_pci_env {
	int vm_fd;
	struct bus *mmio;
	struct event_loop *loop;
	struct irq_router *irq;
	const struct acc_log *log;
};

struct msix_entry {
	uint32_t addr_lo;
	uint32_t addr_hi;
	uint32_t data;
	uint32_t ctrl;
};

struct virtio_pci;

struct vpci_notify {
	struct event_handler h;
	struct virtio_pci *vp;
	unsigned int queue;
};

struct virtio_pci {
	struct pci_device pci;
	struct virtio_dev *vdev;
	struct virtio_pci_env env;
	unsigned int intx_gsi;

	/* Register state, guarded by vdev->lock. */
	uint32_t dfselect;
	uint32_t gfselect;
	uint16_t queue_select;
	uint16_t msix_config;
	uint8_t isr;
	bool intx_level;
	bool intx_disabled; /* the command register's INTx disable bit */
	bool msix_enabled;
	bool msix_masked;
	struct msix_entry msix[VPCI_MSIX_VECTORS];
	uint64_t msix_pending;
	int vector_efd[VPCI_MSIX_VECTORS];
	uint32_t vector_gsi[VPCI_MSIX_VECTORS];

	/* Where BAR 0 is mapped (0: nowhere), guarded by map_lock. */
	pthread_mutex_t map_lock;
	uint64_t bar_addr;
	int notify_efd[VIRTIO_MAX_QUEUES];
	struct vpci_notify notify[VIRTIO_MAX_QUEUES];
};

/*
 * Make @vdev a PCI function in @slot (-1: any) of @pci with BAR 0 at
 * @bar_addr (firmware-style initial assignment; the guest may move it).
 */
int virtio_pci__init(struct virtio_pci *vp, struct virtio_dev *vdev, struct pci_bus *pci, int slot,
		     uint32_t class_code, uint64_t bar_addr, const struct virtio_pci_env *env,
		     struct acc_err *err);
void virtio_pci__exit(struct virtio_pci *vp);

/* BAR 0 accesses (exported for tests that play the driver). */
void virtio_pci__bar_read(struct virtio_pci *vp, uint64_t offset, void *data, unsigned int len);
void virtio_pci__bar_write(struct virtio_pci *vp, uint64_t offset, const void *data,
			   unsigned int len);

/* MSI-X and INTx (virtio/msix.c); called with vdev->lock held. */
void vpci_msix__signal(struct virtio_pci *vp, uint16_t vector);
void vpci_msix__table_read(struct virtio_pci *vp, uint64_t offset, void *data, unsigned int len);
void vpci_msix__table_write(struct virtio_pci *vp, uint64_t offset, const void *data,
			    unsigned int len);
void vpci_msix__pba_read(struct virtio_pci *vp, uint64_t offset, void *data, unsigned int len);
/* The MSI-X capability's control word changed. */
void vpci_msix__control(struct virtio_pci *vp, uint16_t ctrl);
uint8_t vpci_intx__read_isr(struct virtio_pci *vp);
/* Re-evaluate the INTx line (ISR, MSI-X enable, INTx disable). */
void vpci_intx__update(struct virtio_pci *vp);
int vpci_msix__init(struct virtio_pci *vp, struct acc_err *err);
void vpci_msix__exit(struct virtio_pci *vp);

#endif
