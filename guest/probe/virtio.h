/* SPDX-License-Identifier: MIT */
/*
 * The probe's virtio driver: the modern virtio-pci transport with MSI-X or
 * INTx (virtio_pci.c), split virtqueues (virtqueue.c) and three devices
 * (virtio_rng.c, virtio_blk.c, and accord's virtio-resource in
 * virtio_resource.c with resource_*.c). One request is in flight per queue;
 * an event queue keeps several device-writable buffers posted.
 */
#ifndef PROBE_VIRTIO_H
#define PROBE_VIRTIO_H

#include "probe.h"
#include <linux/virtio_resource.h>

/* Device status bits. */
#define VIRTIO_S_ACKNOWLEDGE 0x01
#define VIRTIO_S_DRIVER	     0x02
#define VIRTIO_S_DRIVER_OK   0x04
#define VIRTIO_S_FEATURES_OK 0x08
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED	     0x80

/* Transport feature bits. */
#define VIRTIO_F_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_EVENT_IDX     (1ULL << 29)
#define VIRTIO_F_VERSION_1     (1ULL << 32)

/* Device types (PCI device id 0x1040 + type). */
#define VIRTIO_ID_BLK 2
#define VIRTIO_ID_RNG 4
/* VIRTIO_ID_RESOURCE (57): accord's resource device, from its uapi header. */

#define VQ_SIZE_MAX 16 /* the probe's queue size: min(device max, this) */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

/* ring[size] is used_event (VIRTIO_F_EVENT_IDX). */
struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VQ_SIZE_MAX + 1];
};

#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/* avail_event (VIRTIO_F_EVENT_IDX) follows ring[size - 1]. */
struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[VQ_SIZE_MAX];
	uint16_t avail_event; /* where it is when size is VQ_SIZE_MAX */
};

#define VRING_USED_F_NO_NOTIFY 1

struct virtqueue {
	uint16_t index, size;
	uint16_t avail_idx, last_used, next_desc;
	uint16_t late; /* requests given up on that the device may still return */
	bool event_idx, indirect;
	bool intx;			 /* vector is an INTx source (may be spurious) */
	unsigned int vector;		 /* IDT vector of its interrupt, 0 if none */
	uint64_t notify;		 /* MMIO address of its notification register */
	struct vring_desc *desc, *table; /* ring and indirect table */
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
};

/* One buffer of a request: device-readable, or device-writable if dev_writes. */
struct vq_buf {
	void *addr;
	uint32_t len;
	bool dev_writes;
};

#define VQ_POLL	    0x1 /* cli and poll the used ring, no interrupt requested */
#define VQ_INDIRECT 0x2 /* the chain goes in an indirect descriptor table */
#define VQ_NO_QUIET 0x4 /* VQ_POLL: return at completion, no wait for a wrong interrupt (CPL 3) */

struct vq_result {
	bool done;	    /* the used ring returned a chain (not a late one) */
	bool id_ok;	    /* ... with the head we posted */
	bool notified;	    /* we notified the device (event index allowed it) */
	bool intx;	    /* the queue's vector is INTx: spurious counts */
	uint32_t len;	    /* bytes the device says it wrote */
	uint32_t irqs;	    /* queue interrupts meanwhile (INTx: ISR bit 0 set) */
	uint32_t spurious;  /* INTx interrupts meanwhile whose ISR read 0 */
	uint32_t late;	    /* used entries of earlier, given-up requests skipped */
	unsigned int ndesc; /* descriptors used in the ring */
};

struct virtio_dev {
	const char *name; /* "rng", "blk" */
	unsigned int type, dev, fn;
	uint64_t bar[6]; /* assigned and mapped BAR addresses, 0 if not yet */
	uint64_t common, isr, device, notify;
	uint32_t device_len, notify_len, notify_mult;
	unsigned int msix_cap, msix_size;
	uint64_t msix_table;
	unsigned int config_vector; /* IDT vector, 0 if none */
	uint64_t offered, features;
	uint32_t status;
	/* virtio-irq=intx: INTA# through the IOAPIC pin the MP table names */
	bool intx, intx_on; /* INTx mode; the IOAPIC entry is programmed */
	const struct mpinfo *mp;
	unsigned int intx_pin, intx_vector; /* IOAPIC pin, IDT vector */
	uint32_t intx_reg;		    /* config dword 0x3c: line, pin */
	const struct mp_irq *intx_mp;	    /* the MP table's entry */
	uint64_t intx_entry, intx_readback; /* redirection entry written, read */
};

/* virtio_pci.c */
bool virtio_start(struct virtio_dev *d, uint64_t wanted, struct virtqueue *vqs, unsigned int nvq);
void virtio_stop(struct virtio_dev *d);
uint8_t virtio_cfg_generation(const struct virtio_dev *d);
uint32_t virtio_cfg_read32(const struct virtio_dev *d, unsigned int off);
uint8_t virtio_status(const struct virtio_dev *d);
const char *virtio_check_name(const struct virtio_dev *d, const char *what);

/* virtqueue.c */
bool vq_init(struct virtqueue *vq, uint16_t index, uint16_t size, uint64_t features);
bool vq_run(struct virtqueue *vq, const struct vq_buf *bufs, unsigned int n, unsigned int flags,
	    struct vq_result *r);
/*
 * Buffers the device fills on its own time (an event queue): post one as
 * descriptor id without waiting, take used entries as they come. Such a
 * queue asks for an interrupt at every used entry; it is not used with vq_run.
 */
bool vq_add_buf(struct virtqueue *vq, uint16_t id, void *addr, uint32_t len, bool dev_writes);
bool vq_get_buf(struct virtqueue *vq, uint32_t *id, uint32_t *len);
uint64_t vq_addr_desc(const struct virtqueue *vq);
uint64_t vq_addr_avail(const struct virtqueue *vq);
uint64_t vq_addr_used(const struct virtqueue *vq);

/* virtio_rng.c, virtio_blk.c, virtio_resource.c */
void virtio_rng_run(struct virtio_dev *d, const struct options *opt);
void virtio_blk_run(struct virtio_dev *d, const struct options *opt);
void virtio_resource_run(struct virtio_dev *d, const struct bootinfo *bi, const struct options *opt,
			 const struct mpinfo *mp);

#endif /* PROBE_VIRTIO_H */
