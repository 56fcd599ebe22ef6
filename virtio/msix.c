// SPDX-License-Identifier: MIT
/*
 * Interrupts of a virtio-pci function: MSI-X vectors as irqfds on MSI
 * routes (masking and the PBA emulated here), or INTx with the ISR register
 * when the driver has not enabled MSI-X.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/virtio_pci.h>

#include "accord/virtio_pci.h"

int vpci_msix__init(struct virtio_pci *vp, struct acc_err *err)
{
	int ret;

	for (unsigned int v = 0; v < VPCI_MSIX_VECTORS; v++)
		vp->vector_efd[v] = -1;
	for (unsigned int v = 0; v < VPCI_MSIX_VECTORS; v++) {
		vp->msix[v].ctrl = MSIX_ENTRY_CTRL_MASK;
		ret = irq__alloc_msi(vp->env.irq, &vp->vector_gsi[v]);
		if (ret)
			goto fail;
		vp->vector_efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->vector_efd[v] < 0) {
			ret = -errno;
			goto fail;
		}
		ret = irq__irqfd(vp->env.irq, vp->vector_efd[v], vp->vector_gsi[v], true);
		if (ret) {
			close(vp->vector_efd[v]);
			vp->vector_efd[v] = -1;
			goto fail;
		}
	}
	return 0;
fail:
	vpci_msix__exit(vp);
	return acc_errf(err, -ret, "MSI-X vectors: %s", strerror(-ret));
}

void vpci_msix__exit(struct virtio_pci *vp)
{
	for (unsigned int v = 0; v < VPCI_MSIX_VECTORS; v++) {
		if (vp->vector_efd[v] < 0)
			continue;
		irq__irqfd(vp->env.irq, vp->vector_efd[v], vp->vector_gsi[v], false);
		close(vp->vector_efd[v]);
		vp->vector_efd[v] = -1;
	}
}

static void vpci_intx__set(struct virtio_pci *vp, bool level)
{
	int ret;

	if (vp->intx_disabled)
		level = false;
	if (level == vp->intx_level)
		return;
	vp->intx_level = level;
	/* Slots 8 apart share a pin: the router keeps it up while any asserts. */
	ret = irq__set_shared_line(vp->env.irq, vp->intx_gsi, level);
	if (ret)
		log__ratelimited(vp->env.log, vp->vdev->guest_rl, LOG_ERROR,
				 "%s: INTx on pin %u: %s", vp->vdev->ops->name, vp->intx_gsi,
				 strerror(-ret));
}

void vpci_intx__update(struct virtio_pci *vp)
{
	vpci_intx__set(vp, !vp->msix_enabled && vp->isr != 0);
}

uint8_t vpci_intx__read_isr(struct virtio_pci *vp)
{
	uint8_t isr = vp->isr;

	/* Reading the ISR acknowledges it and deasserts INTx (§4.1.4.5). */
	vp->isr = 0;
	vpci_intx__set(vp, false);
	return isr;
}

static void vpci_msix__fire(struct virtio_pci *vp, uint16_t vector)
{
	uint64_t one = 1;

	if (write(vp->vector_efd[vector], &one, sizeof(one)) < 0)
		log_err(vp->env.log, "%s: irqfd write: %s", vp->vdev->ops->name, strerror(errno));
}

static bool vpci_msix__masked(const struct virtio_pci *vp, uint16_t vector)
{
	return vp->msix_masked || (vp->msix[vector].ctrl & MSIX_ENTRY_CTRL_MASK);
}

void vpci_msix__signal(struct virtio_pci *vp, uint16_t vector)
{
	if (!vp->msix_enabled) {
		/* INTx: the ISR tells the driver why; queue bit or config bit set by caller. */
		vpci_intx__set(vp, vp->isr != 0);
		return;
	}
	if (vector >= VPCI_MSIX_VECTORS)
		return;
	if (vpci_msix__masked(vp, vector)) {
		vp->msix_pending |= 1ull << vector;
		return;
	}
	vpci_msix__fire(vp, vector);
}

/* Point the vector's GSI at what the guest programmed. */
static void vpci_msix__route(struct virtio_pci *vp, uint16_t vector)
{
	const struct msix_entry *e = &vp->msix[vector];
	uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;
	int ret;

	ret = irq__set_msi(vp->env.irq, vp->vector_gsi[vector], addr, e->data);
	if (ret)
		log__ratelimited(vp->env.log, vp->vdev->guest_rl, LOG_ERROR,
				 "%s: MSI route for vector %u: %s", vp->vdev->ops->name, vector,
				 strerror(-ret));
}

/* Deliver what became pending while a vector was masked. */
static void vpci_msix__flush_pending(struct virtio_pci *vp)
{
	for (uint16_t v = 0; v < VPCI_MSIX_VECTORS; v++) {
		if ((vp->msix_pending & (1ull << v)) && !vpci_msix__masked(vp, v)) {
			vp->msix_pending &= ~(1ull << v);
			vpci_msix__fire(vp, v);
		}
	}
}

void vpci_msix__control(struct virtio_pci *vp, uint16_t ctrl)
{
	bool was_enabled = vp->msix_enabled;

	vp->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
	vp->msix_masked = ctrl & MSIX_CTRL_MASKALL;
	if (vp->msix_enabled && !was_enabled) {
		/* Switching to MSI-X takes the device off the INTx line. */
		vpci_intx__set(vp, false);
		for (uint16_t v = 0; v < VPCI_MSIX_VECTORS; v++)
			vpci_msix__route(vp, v);
	}
	if (vp->msix_enabled)
		vpci_msix__flush_pending(vp);
}

void vpci_msix__table_read(struct virtio_pci *vp, uint64_t offset, void *data, unsigned int len)
{
	uint8_t table[VPCI_MSIX_VECTORS * sizeof(struct msix_entry)];

	memcpy(table, vp->msix, sizeof(table));
	if (offset + len > sizeof(table)) {
		memset(data, 0xff, len);
		return;
	}
	memcpy(data, table + offset, len);
}

void vpci_msix__table_write(struct virtio_pci *vp, uint64_t offset, const void *data,
			    unsigned int len)
{
	unsigned int vector = (unsigned int)(offset / sizeof(struct msix_entry));
	struct msix_entry before;
	uint8_t *entry;

	/* Dword or qword accesses within one entry (PCI spec 6.8.2). */
	if (vector >= VPCI_MSIX_VECTORS || (len != 4 && len != 8) || (offset & (len - 1)))
		return;
	before = vp->msix[vector];
	entry = (uint8_t *)&vp->msix[vector];
	memcpy(entry + offset % sizeof(struct msix_entry), data, len);
	vp->msix[vector].ctrl &= MSIX_ENTRY_CTRL_MASK;
	if (memcmp(&before, &vp->msix[vector], sizeof(before)) == 0)
		return;
	/* Routes follow the table while the vector can fire; masked ones wait. */
	if (!(vp->msix[vector].ctrl & MSIX_ENTRY_CTRL_MASK))
		vpci_msix__route(vp, (uint16_t)vector);
	if (vp->msix_enabled)
		vpci_msix__flush_pending(vp);
}

void vpci_msix__pba_read(struct virtio_pci *vp, uint64_t offset, void *data, unsigned int len)
{
	uint8_t pba[8];

	memcpy(pba, &vp->msix_pending, sizeof(pba));
	if (offset + len > sizeof(pba)) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, pba + offset, len);
}
