// SPDX-License-Identifier: MIT
/*
 * The modern virtio-pci transport: config space and capabilities, BAR 0
 * mapping (which moves when the guest reprograms the BAR), the common
 * configuration structure, and notifications through ioeventfds.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/virtio_pci.h>

#include "accord/virtio_pci.h"

/* Highest guest-physical address a BAR may be mapped at (x86 MAXPHYADDR floor). */
#define VPCI_MAX_BAR_END (1ull << 46)

static uint16_t vpci_vector_or_none(uint16_t v)
{
	return v < VPCI_MSIX_VECTORS ? v : VIRTIO_MSI_NO_VECTOR;
}

/* The common configuration structure as the driver sees it now (§4.1.4.3). */
static void vpci_common_image(struct virtio_pci *vp, uint8_t *img)
{
	struct virtio_dev *vdev = vp->vdev;
	uint16_t q = vp->queue_select;
	const struct virtq *vq = q < vdev->nr_queues ? &vdev->vqs[q] : NULL;
	uint32_t df =
		vp->dfselect < 2 ? (uint32_t)(vdev->device_features >> (32 * vp->dfselect)) : 0;
	uint32_t gf =
		vp->gfselect < 2 ? (uint32_t)(vdev->driver_features >> (32 * vp->gfselect)) : 0;

	memset(img, 0, VPCI_COMMON_LEN);
	pci__put_le(img + VIRTIO_PCI_COMMON_DFSELECT, vp->dfselect, 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_DF, df, 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_GFSELECT, vp->gfselect, 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_GF, gf, 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_MSIX, vp->msix_config, 2);
	pci__put_le(img + VIRTIO_PCI_COMMON_NUMQ, vdev->nr_queues, 2);
	img[VIRTIO_PCI_COMMON_STATUS] = vdev->status;
	img[VIRTIO_PCI_COMMON_CFGGENERATION] = vdev->config_generation;
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	if (!vq)
		return;
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_SIZE, vq->size, 2);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_MSIX, vq->msix_vector, 2);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_ENABLE, vq->enabled, 2);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_NOFF, q, 2);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)vq->desc_gpa, 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_DESCHI, (uint32_t)(vq->desc_gpa >> 32), 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)vq->avail_gpa, 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_AVAILHI, (uint32_t)(vq->avail_gpa >> 32), 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)vq->used_gpa, 4);
	pci__put_le(img + VIRTIO_PCI_COMMON_Q_USEDHI, (uint32_t)(vq->used_gpa >> 32), 4);
}

static void set_half(uint64_t *v, bool high, uint32_t half)
{
	if (high)
		*v = (*v & 0xffffffffull) | (uint64_t)half << 32;
	else
		*v = (*v & ~0xffffffffull) | half;
}

static void vpci_queue_write(struct virtio_pci *vp, struct virtq *vq, unsigned int off, uint32_t v)
{
	struct virtio_dev *vdev = vp->vdev;

	/* Queue fields are frozen once the queue is enabled (§4.1.4.3.2). */
	if (vq->enabled && off != VIRTIO_PCI_COMMON_Q_MSIX)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		vq->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		vq->msix_vector = vpci_vector_or_none((uint16_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (v == 1)
			virtio__enable_queue(vdev, (unsigned int)(vq - vdev->vqs));
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_half(&vq->desc_gpa, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_half(&vq->avail_gpa, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_half(&vq->used_gpa, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
		break;
	}
}

static void vpci_reset_transport(struct virtio_pci *vp)
{
	vp->dfselect = 0;
	vp->gfselect = 0;
	vp->queue_select = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->isr = 0;
	vpci_intx__update(vp);
}

static void vpci_common_write(struct virtio_pci *vp, unsigned int off, uint32_t v, unsigned int len)
{
	struct virtio_dev *vdev = vp->vdev;
	uint16_t q = vp->queue_select;
	static const uint8_t width[VPCI_COMMON_LEN] = {
		[VIRTIO_PCI_COMMON_DFSELECT] = 4,  [VIRTIO_PCI_COMMON_GFSELECT] = 4,
		[VIRTIO_PCI_COMMON_GF] = 4,	   [VIRTIO_PCI_COMMON_MSIX] = 2,
		[VIRTIO_PCI_COMMON_STATUS] = 1,	   [VIRTIO_PCI_COMMON_Q_SELECT] = 2,
		[VIRTIO_PCI_COMMON_Q_SIZE] = 2,	   [VIRTIO_PCI_COMMON_Q_MSIX] = 2,
		[VIRTIO_PCI_COMMON_Q_ENABLE] = 2,  [VIRTIO_PCI_COMMON_Q_DESCLO] = 4,
		[VIRTIO_PCI_COMMON_Q_DESCHI] = 4,  [VIRTIO_PCI_COMMON_Q_AVAILLO] = 4,
		[VIRTIO_PCI_COMMON_Q_AVAILHI] = 4, [VIRTIO_PCI_COMMON_Q_USEDLO] = 4,
		[VIRTIO_PCI_COMMON_Q_USEDHI] = 4,
	};

	/* Writable fields only, at their natural width (§4.1.3.1); the rest is ignored. */
	if (off >= VPCI_COMMON_LEN || width[off] != len)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->gfselect < 2 && !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_half(&vdev->driver_features, vp->gfselect == 1, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->msix_config = vpci_vector_or_none((uint16_t)v);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio__set_status(vdev, (uint8_t)v);
		if (!v)
			vpci_reset_transport(vp);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = (uint16_t)v;
		break;
	default:
		if (q < vdev->nr_queues)
			vpci_queue_write(vp, &vdev->vqs[q], off, v);
		break;
	}
}

void virtio_pci__bar_read(struct virtio_pci *vp, uint64_t offset, void *data, unsigned int len)
{
	struct virtio_dev *vdev = vp->vdev;
	uint8_t img[VPCI_COMMON_LEN];

	memset(data, 0, len);
	pthread_mutex_lock(&vdev->lock);
	if (offset < VPCI_COMMON_OFF + VPCI_COMMON_LEN) {
		if (offset + len <= VPCI_COMMON_LEN) {
			vpci_common_image(vp, img);
			memcpy(data, img + offset, len);
		}
	} else if (offset == VPCI_ISR_OFF) {
		*(uint8_t *)data = vpci_intx__read_isr(vp);
	} else if (offset >= VPCI_DEVICE_OFF && offset - VPCI_DEVICE_OFF < vdev->config_size) {
		if (offset - VPCI_DEVICE_OFF + len <= vdev->config_size && vdev->ops->config_read)
			vdev->ops->config_read(vdev, (uint32_t)(offset - VPCI_DEVICE_OFF), data,
					       len);
	} else if (offset >= VPCI_MSIX_TABLE_OFF && offset < VPCI_MSIX_PBA_OFF) {
		vpci_msix__table_read(vp, offset - VPCI_MSIX_TABLE_OFF, data, len);
	} else if (offset >= VPCI_MSIX_PBA_OFF) {
		vpci_msix__pba_read(vp, offset - VPCI_MSIX_PBA_OFF, data, len);
	}
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_pci__bar_write(struct virtio_pci *vp, uint64_t offset, const void *data,
			   unsigned int len)
{
	struct virtio_dev *vdev = vp->vdev;
	uint64_t one = 1;

	if (offset >= VPCI_NOTIFY_OFF && offset < VPCI_MSIX_TABLE_OFF) {
		unsigned int q = (unsigned int)((offset - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT);

		/* Not absorbed by the ioeventfd (odd width): hand it to the event loop. */
		if (q < vdev->nr_queues && write(vp->notify_efd[q], &one, sizeof(one)) < 0)
			log_err(vp->env.log, "%s: notify: %s", vdev->ops->name, strerror(errno));
		return;
	}
	pthread_mutex_lock(&vdev->lock);
	if (offset < VPCI_COMMON_OFF + VPCI_COMMON_LEN) {
		vpci_common_write(vp, (unsigned int)offset, pci__get_le(data, len > 4 ? 4 : len),
				  len);
	} else if (offset >= VPCI_DEVICE_OFF && offset - VPCI_DEVICE_OFF < vdev->config_size) {
		if (offset - VPCI_DEVICE_OFF + len <= vdev->config_size && vdev->ops->config_write)
			vdev->ops->config_write(vdev, (uint32_t)(offset - VPCI_DEVICE_OFF), data,
						len);
	} else if (offset >= VPCI_MSIX_TABLE_OFF && offset < VPCI_MSIX_PBA_OFF) {
		vpci_msix__table_write(vp, offset - VPCI_MSIX_TABLE_OFF, data, len);
	}
	pthread_mutex_unlock(&vdev->lock);
}

static void vpci_bus_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	virtio_pci__bar_read(dev, offset, data, len);
}

static void vpci_bus_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	virtio_pci__bar_write(dev, offset, data, len);
}

static const struct bus_ops vpci_bus_ops = {
	.read = vpci_bus_read,
	.write = vpci_bus_write,
};

static int vpci_ioeventfd(struct virtio_pci *vp, unsigned int q, uint64_t bar, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = bar + VPCI_NOTIFY_OFF + q * VPCI_NOTIFY_MULT,
		.len = 2,
		.fd = vp->notify_efd[q],
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	return ioctl(vp->env.vm_fd, KVM_IOEVENTFD, &io) ? -errno : 0;
}

static void vpci_unmap(struct virtio_pci *vp)
{
	if (!vp->bar_addr)
		return;
	for (unsigned int q = 0; q < vp->vdev->nr_queues; q++)
		vpci_ioeventfd(vp, q, vp->bar_addr, false);
	bus__unregister(vp->env.mmio, vp->bar_addr);
	vp->bar_addr = 0;
}

static int vpci_map(struct virtio_pci *vp, uint64_t addr)
{
	int ret;

	ret = bus__register(vp->env.mmio, addr, VPCI_BAR_SIZE, &vpci_bus_ops, vp);
	if (ret)
		return ret;
	for (unsigned int q = 0; q < vp->vdev->nr_queues; q++) {
		ret = vpci_ioeventfd(vp, q, addr, true);
		if (ret) {
			while (q--)
				vpci_ioeventfd(vp, q, addr, false);
			bus__unregister(vp->env.mmio, addr);
			return ret;
		}
	}
	vp->bar_addr = addr;
	return 0;
}

/* Follow the BAR and the command register's memory-enable bit. */
static void vpci_update_mapping(struct virtio_pci *vp)
{
	uint16_t cmd = (uint16_t)pci__dev_read(&vp->pci, PCI_COMMAND, 2);
	uint64_t lo = pci__dev_read(&vp->pci, PCI_BAR0, 4),
		 hi = pci__dev_read(&vp->pci, PCI_BAR0 + 4, 4);
	uint64_t addr = (hi << 32 | lo) & ~0xfull;
	bool valid = (cmd & PCI_COMMAND_MEMORY) && addr && addr + VPCI_BAR_SIZE <= VPCI_MAX_BAR_END;
	int ret;

	pthread_mutex_lock(&vp->map_lock);
	if (valid && addr == vp->bar_addr)
		goto out_unlock;
	vpci_unmap(vp);
	if (valid) {
		ret = vpci_map(vp, addr);
		if (ret)
			log__ratelimited(vp->env.log, vp->vdev->guest_rl, LOG_WARN,
					 "%s: cannot map BAR 0 at 0x%llx: %s", vp->vdev->ops->name,
					 (unsigned long long)addr, strerror(-ret));
	}
out_unlock:
	pthread_mutex_unlock(&vp->map_lock);
}

static bool touches(unsigned int off, unsigned int len, unsigned int start, unsigned int n)
{
	return off < start + n && start < off + len;
}

/* The VIRTIO_PCI_CAP_PCI_CFG window: a BAR access through config space (§4.1.4.9). */
static bool vpci_cfg_window(struct virtio_pci *vp, uint32_t *bar_off, unsigned int *len)
{
	const uint8_t *cap = &vp->pci.cfg[VPCI_CAP_PCICFG];
	uint32_t length = pci__get_le(cap + VIRTIO_PCI_CAP_LENGTH, 4);

	*bar_off = pci__get_le(cap + VIRTIO_PCI_CAP_OFFSET, 4);
	*len = length;
	return cap[VIRTIO_PCI_CAP_BAR] == 0 && (length == 1 || length == 2 || length == 4) &&
	       *bar_off % length == 0 && *bar_off < VPCI_BAR_SIZE;
}

static void vpci_config_read(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	struct virtio_pci *vp = dev->priv;
	unsigned int data = VPCI_CAP_PCICFG + 16, n;
	uint32_t bar_off, v = 0;

	if (!touches(offset, len, data, 4) || !vpci_cfg_window(vp, &bar_off, &n))
		return;
	virtio_pci__bar_read(vp, bar_off, &v, n);
	pci__put_le(&dev->cfg[data], v, 4);
}

static void vpci_config_written(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	struct virtio_pci *vp = dev->priv;
	unsigned int data = VPCI_CAP_PCICFG + 16, n;
	uint32_t bar_off, v;

	if (touches(offset, len, PCI_COMMAND, 2) || touches(offset, len, PCI_BAR0, 8))
		vpci_update_mapping(vp);
	if (touches(offset, len, PCI_COMMAND, 2) || touches(offset, len, VPCI_CAP_MSIX + 2, 2)) {
		uint16_t cmd = (uint16_t)pci__dev_read(dev, PCI_COMMAND, 2);
		uint16_t ctrl = (uint16_t)pci__dev_read(dev, VPCI_CAP_MSIX + 2, 2);

		pthread_mutex_lock(&vp->vdev->lock);
		vp->intx_disabled = cmd & PCI_COMMAND_INTX_DISABLE;
		vpci_msix__control(vp, ctrl);
		vpci_intx__update(vp);
		pthread_mutex_unlock(&vp->vdev->lock);
	}
	if (touches(offset, len, data, 4)) {
		pthread_mutex_lock(&dev->bus->lock);
		bool ok = vpci_cfg_window(vp, &bar_off, &n);
		v = pci__get_le(&dev->cfg[data], 4);
		pthread_mutex_unlock(&dev->bus->lock);
		if (ok)
			virtio_pci__bar_write(vp, bar_off, &v, n);
	}
}

static const struct pci_device_ops vpci_pci_ops = {
	.config_read = vpci_config_read,
	.config_written = vpci_config_written,
};

static void vpci_add_cap(struct pci_device *dev, unsigned int at, unsigned int next,
			 unsigned int cap_len, uint8_t type, uint32_t offset, uint32_t length)
{
	uint8_t *c = &dev->cfg[at];

	c[0] = PCI_CAP_ID_VNDR;
	c[1] = (uint8_t)next;
	c[2] = (uint8_t)cap_len;
	c[3] = type;
	c[4] = 0; /* BAR 0 */
	pci__put_le(c + VIRTIO_PCI_CAP_OFFSET, offset, 4);
	pci__put_le(c + VIRTIO_PCI_CAP_LENGTH, length, 4);
}

static void vpci_build_config(struct virtio_pci *vp, uint32_t class_code, uint64_t bar_addr)
{
	struct pci_device *dev = &vp->pci;
	struct virtio_dev *vdev = vp->vdev;
	uint16_t id = VIRTIO_PCI_DEVICE_BASE + vdev->ops->device_id;
	uint8_t *c;

	pci__device_init(dev, VIRTIO_PCI_VENDOR, id, class_code, 1 /* modern */);
	pci__put_le(&dev->cfg[PCI_SUBSYSTEM_VENDOR_ID], VIRTIO_PCI_VENDOR, 2);
	pci__put_le(&dev->cfg[PCI_SUBSYSTEM_ID], id, 2);
	pci__put_le(&dev->cfg[PCI_STATUS], PCI_STATUS_CAP_LIST, 2);
	dev->cfg[PCI_CAPABILITY_LIST] = VPCI_CAP_COMMON;
	dev->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	dev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)vp->intx_gsi;

	/* BAR 0: 64-bit memory; the size is what the guest cannot write. */
	pci__put_le(&dev->cfg[PCI_BAR0], (uint32_t)bar_addr | PCI_BASE_ADDRESS_MEM_TYPE_64, 4);
	pci__put_le(&dev->cfg[PCI_BAR0 + 4], (uint32_t)(bar_addr >> 32), 4);
	pci__put_le(&dev->wmask[PCI_BAR0], ~(VPCI_BAR_SIZE - 1), 4);
	pci__put_le(&dev->wmask[PCI_BAR0 + 4], 0xffffffffu, 4);
	/* As firmware leaves it: memory decoding and bus mastering on. */
	pci__put_le(&dev->cfg[PCI_COMMAND], PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);

	vpci_add_cap(dev, VPCI_CAP_COMMON, VPCI_CAP_NOTIFY, 16, VIRTIO_PCI_CAP_COMMON_CFG,
		     VPCI_COMMON_OFF, VPCI_COMMON_LEN);
	vpci_add_cap(dev, VPCI_CAP_NOTIFY, VPCI_CAP_ISR, 20, VIRTIO_PCI_CAP_NOTIFY_CFG,
		     VPCI_NOTIFY_OFF, vdev->nr_queues * VPCI_NOTIFY_MULT);
	pci__put_le(&dev->cfg[VPCI_CAP_NOTIFY + 16], VPCI_NOTIFY_MULT, 4);
	/* A device without config space has no device capability (Linux rejects length 0). */
	vpci_add_cap(dev, VPCI_CAP_ISR, vdev->config_size ? VPCI_CAP_DEVICE : VPCI_CAP_PCICFG, 16,
		     VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1);
	if (vdev->config_size)
		vpci_add_cap(dev, VPCI_CAP_DEVICE, VPCI_CAP_PCICFG, 16, VIRTIO_PCI_CAP_DEVICE_CFG,
			     VPCI_DEVICE_OFF, vdev->config_size);
	vpci_add_cap(dev, VPCI_CAP_PCICFG, VPCI_CAP_MSIX, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
	/* The driver picks the BAR window: bar, offset, length and the data itself. */
	memset(&dev->wmask[VPCI_CAP_PCICFG + VIRTIO_PCI_CAP_BAR], 0xff, 1);
	memset(&dev->wmask[VPCI_CAP_PCICFG + VIRTIO_PCI_CAP_OFFSET], 0xff, 8);
	memset(&dev->wmask[VPCI_CAP_PCICFG + 16], 0xff, 4);

	c = &dev->cfg[VPCI_CAP_MSIX];
	c[0] = PCI_CAP_ID_MSIX;
	c[1] = 0;
	pci__put_le(c + 2, VPCI_MSIX_VECTORS - 1, 2);
	pci__put_le(c + 4, VPCI_MSIX_TABLE_OFF | 0 /* BAR 0 */, 4);
	pci__put_le(c + 8, VPCI_MSIX_PBA_OFF | 0, 4);
	pci__put_le(&dev->wmask[VPCI_CAP_MSIX + 2], MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL, 2);

	dev->ops = &vpci_pci_ops;
	dev->priv = vp;
}

static void vpci_queue_interrupt(void *ctx, unsigned int q)
{
	struct virtio_pci *vp = ctx;

	if (!vp->msix_enabled)
		vp->isr |= VPCI_ISR_QUEUE;
	vpci_msix__signal(vp, vp->vdev->vqs[q].msix_vector);
}

static void vpci_config_interrupt(void *ctx)
{
	struct virtio_pci *vp = ctx;

	vp->isr |= VIRTIO_PCI_ISR_CONFIG;
	vpci_msix__signal(vp, vp->msix_config);
}

static void vpci_renotify(void *ctx, unsigned int q)
{
	struct virtio_pci *vp = ctx;
	uint64_t one = 1;

	if (q < VIRTIO_MAX_QUEUES && vp->notify_efd[q] >= 0 &&
	    write(vp->notify_efd[q], &one, sizeof(one)) < 0)
		log_err(vp->env.log, "%s: notify: %s", vp->vdev->ops->name, strerror(errno));
}

static const struct virtio_transport_ops vpci_transport_ops = {
	.queue_interrupt = vpci_queue_interrupt,
	.config_interrupt = vpci_config_interrupt,
	.renotify = vpci_renotify,
};

static void vpci_on_notify(struct event_handler *h, uint32_t events)
{
	struct vpci_notify *n = (struct vpci_notify *)h;
	uint64_t count;

	if (read(h->fd, &count, sizeof(count)) < 0)
		return;
	virtio__notify(n->vp->vdev, n->queue);
}

static void vpci_close_notify(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (vp->notify_efd[q] < 0)
			continue;
		eventloop__del(vp->env.loop, &vp->notify[q].h);
		close(vp->notify_efd[q]);
		vp->notify_efd[q] = -1;
	}
}

static int vpci_open_notify(struct virtio_pci *vp)
{
	int ret;

	for (unsigned int q = 0; q < vp->vdev->nr_queues; q++) {
		vp->notify_efd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->notify_efd[q] < 0)
			return -errno;
		vp->notify[q] =
			(struct vpci_notify){ { vp->notify_efd[q], vpci_on_notify, vp }, vp, q };
		ret = eventloop__add(vp->env.loop, &vp->notify[q].h, EPOLLIN);
		if (ret) {
			close(vp->notify_efd[q]);
			vp->notify_efd[q] = -1;
			return ret;
		}
	}
	return 0;
}

int virtio_pci__init(struct virtio_pci *vp, struct virtio_dev *vdev, struct pci_bus *pci, int slot,
		     uint32_t class_code, uint64_t bar_addr, const struct virtio_pci_env *env,
		     struct acc_err *err)
{
	int ret;

	memset(vp, 0, sizeof(*vp));
	vp->vdev = vdev;
	vp->env = *env;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&vp->map_lock, NULL);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->notify_efd[q] = -1;
	if (vdev->config_size > VPCI_DEVICE_MAX || (bar_addr & (VPCI_BAR_SIZE - 1))) {
		ret = acc_errf(err, EINVAL, "%s: bad config size or BAR address", vdev->ops->name);
		goto destroy_lock;
	}
	ret = pci__add_device(pci, &vp->pci, slot);
	if (ret < 0) {
		ret = acc_errf(err, -ret, "%s: no free PCI slot", vdev->ops->name);
		goto destroy_lock;
	}
	vp->intx_gsi = pci__intx_gsi((unsigned int)ret);
	vpci_build_config(vp, class_code, bar_addr);
	virtio__set_transport(vdev, &vpci_transport_ops, vp);

	ret = vpci_msix__init(vp, err);
	if (ret)
		goto remove_device;
	ret = vpci_open_notify(vp);
	if (ret) {
		acc_errf(err, -ret, "%s: notification eventfds: %s", vdev->ops->name,
			 strerror(-ret));
		goto close_notify;
	}
	vpci_update_mapping(vp);
	if (!vp->bar_addr) {
		ret = acc_errf(err, EBUSY, "%s: cannot map BAR 0 at 0x%llx", vdev->ops->name,
			       (unsigned long long)bar_addr);
		goto close_notify;
	}
	return 0;

close_notify:
	vpci_close_notify(vp);
	vpci_msix__exit(vp);
remove_device:
	pci__remove_device(pci, &vp->pci);
destroy_lock:
	pthread_mutex_destroy(&vp->map_lock);
	return ret;
}

void virtio_pci__exit(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->map_lock);
	vpci_unmap(vp);
	pthread_mutex_unlock(&vp->map_lock);
	vpci_close_notify(vp);
	vpci_msix__exit(vp);
	pci__remove_device(vp->pci.bus, &vp->pci);
	pthread_mutex_destroy(&vp->map_lock);
}
