// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_virtio runner): the modern virtio-pci transport, played
 * as a driver through PCI config space and the MMIO bus. Ioeventfds, irqfds
 * and MSI routes need a real VM, so every test creates one on /dev/kvm
 * (without vCPUs); a missing /dev/kvm fails the tests.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_pci.h>

#include "accord/bus.h"
#include "accord/eventloop.h"
#include "accord/irq.h"
#include "accord/pci.h"
#include "accord/virtio_blk.h"
#include "accord/virtio_pci.h"
#include "accord/virtio_rng.h"

#include "virtio_test.h"

#define RNG_BAR	  0xc0000000ull
#define BLK_BAR	  0xc0004000ull
#define RNG_RING  0x1000
#define BLK_RING  0x5000
#define BLK_REQ	  0x20000
#define XTRA_BAR  0xc0008000ull
#define XTRA_RING 0x30000
#define QSIZE	  16

static const uint8_t S_ACK_DRIVER = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
static const uint8_t S_ALL = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

static int kvm_fd = -1, vm_fd = -1;
static struct irq_router irq;
static struct bus mmio;
static struct pci_bus pci;
static struct event_loop loop;
static uint8_t *ram;
static struct guest_mem mem;
static struct acc_log tlog;
static struct ratelimit rl;
static struct virtio_rng rng;
static struct virtio_blk blk;
static char path[64];
static int image_fd = -1;
static struct virtio_pci vp_rng, vp_blk;
static struct vring_drv d_rng, d_blk;
/* A third device for the tests that need one (see extra_rng). */
static struct virtio_rng rng_extra;
static struct virtio_pci vp_extra;
static struct vring_drv d_extra;
static bool have_extra;

static void vpci_setup(void)
{
	struct virtio_blk_opts opts = { .path = path };
	struct acc_err err = { { 0 } };
	struct virtio_pci_env env;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	ck_assert_msg(kvm_fd >= 0, "/dev/kvm: %s", strerror(errno));
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	ck_assert_msg(vm_fd >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	ck_assert_int_eq(ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0), 0);
	irq__init(&irq, vm_fd);
	ck_assert_int_eq(bus__init(&mmio), 0);
	ck_assert_int_eq(pci__init(&pci, NULL), 0);
	ck_assert_int_eq(eventloop__init(&loop), 0);
	ram = calloc(1, TEST_RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	guest_mem__init_buffer(&mem, ram, TEST_RAM_SIZE);
	test_log__init(&tlog, &rl);
	virtio_rng__init(&rng, &mem, &tlog, &rl);
	image_fd = make_image(path, sizeof(path), 0x10000);
	ck_assert_msg(virtio_blk__init(&blk, &opts, &loop, &mem, &tlog, &rl, &err) == 0, "%s",
		      err.msg);
	unlink(path);
	env = (struct virtio_pci_env){ vm_fd, &mmio, &loop, &irq, &tlog };
	ck_assert_msg(virtio_pci__init(&vp_rng, &rng.vdev, &pci, -1, PCI_CLASS_OTHERS, RNG_BAR,
				       &env, &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(virtio_pci__init(&vp_blk, &blk.vdev, &pci, -1, PCI_CLASS_STORAGE_SCSI,
				       BLK_BAR, &env, &err) == 0,
		      "%s", err.msg);
	vring_drv__init(&d_rng, ram, QSIZE, RNG_RING);
	vring_drv__init(&d_blk, ram, QSIZE, BLK_RING);
}

static void vpci_teardown(void)
{
	if (have_extra) {
		virtio_pci__exit(&vp_extra);
		virtio_rng__exit(&rng_extra);
		have_extra = false;
	}
	virtio_pci__exit(&vp_blk);
	virtio_pci__exit(&vp_rng);
	virtio_blk__exit(&blk);
	virtio_rng__exit(&rng);
	eventloop__exit(&loop);
	pci__exit(&pci);
	bus__exit(&mmio);
	irq__exit(&irq);
	close(vm_fd);
	close(kvm_fd);
	close(image_fd);
	ratelimit__destroy(&rl);
	free(ram);
	ram = NULL;
}

/* ---- the driver's accessors ---- */

static unsigned int slot_of(struct virtio_pci *vp)
{
	for (unsigned int i = 0; i < PCI_SLOTS; i++)
		if (pci.slots[i] == &vp->pci)
			return i;
	ck_abort_msg("device not on the bus");
	return 0;
}

static uint32_t cfg_rd(struct virtio_pci *vp, unsigned int off, unsigned int len)
{
	return pci__config_read(&pci, pci__address(0, slot_of(vp), 0, 0), off, len);
}

static void cfg_wr(struct virtio_pci *vp, unsigned int off, unsigned int len, uint32_t v)
{
	pci__config_write(&pci, pci__address(0, slot_of(vp), 0, 0), off, len, v);
}

/* BAR 0 where config space says it is. */
static uint64_t bar(struct virtio_pci *vp)
{
	return ((uint64_t)cfg_rd(vp, PCI_BAR0 + 4, 4) << 32 | cfg_rd(vp, PCI_BAR0, 4)) & ~0xfull;
}

static uint64_t rd(struct virtio_pci *vp, uint64_t off, unsigned int len)
{
	uint64_t v = 0;

	ck_assert_int_eq(bus__access(&mmio, bar(vp) + off, &v, len, false), 0);
	return v;
}

static void wr(struct virtio_pci *vp, uint64_t off, unsigned int len, uint64_t v)
{
	ck_assert_int_eq(bus__access(&mmio, bar(vp) + off, &v, len, true), 0);
}

static struct vring_drv *ring_of(struct virtio_pci *vp)
{
	if (vp == &vp_rng)
		return &d_rng;
	return vp == &vp_blk ? &d_blk : &d_extra;
}

/* Reset, negotiate (all but EVENT_IDX), set up queue 0 with @qvec and DRIVER_OK. */
static void driver_ok(struct virtio_pci *vp, uint16_t cfgvec, uint16_t qvec)
{
	struct vring_drv *d = ring_of(vp);
	uint32_t lo, hi;

	wr(vp, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(vp, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(vp, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER);
	wr(vp, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	lo = (uint32_t)rd(vp, VIRTIO_PCI_COMMON_DF, 4) & ~(1u << VIRTIO_RING_F_EVENT_IDX);
	wr(vp, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	hi = (uint32_t)rd(vp, VIRTIO_PCI_COMMON_DF, 4);
	wr(vp, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(vp, VIRTIO_PCI_COMMON_GF, 4, lo);
	wr(vp, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(vp, VIRTIO_PCI_COMMON_GF, 4, hi);
	wr(vp, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(rd(vp, VIRTIO_PCI_COMMON_STATUS, 1),
			  S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(vp, VIRTIO_PCI_COMMON_MSIX, 2, cfgvec);
	memset(ram + d->desc_gpa, 0, 0x3000);
	vring_drv__init(d, ram, QSIZE, d->desc_gpa);
	wr(vp, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(vp, VIRTIO_PCI_COMMON_Q_SIZE, 2, QSIZE);
	wr(vp, VIRTIO_PCI_COMMON_Q_MSIX, 2, qvec);
	wr(vp, VIRTIO_PCI_COMMON_Q_DESCLO, 4, d->desc_gpa);
	wr(vp, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
	wr(vp, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, d->avail_gpa);
	wr(vp, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
	wr(vp, VIRTIO_PCI_COMMON_Q_USEDLO, 4, d->used_gpa);
	wr(vp, VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
	wr(vp, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	wr(vp, VIRTIO_PCI_COMMON_STATUS, 1, S_ALL);
	ck_assert_uint_eq(rd(vp, VIRTIO_PCI_COMMON_STATUS, 1), S_ALL);
}

/* Where descriptor @head of @vp's ring points: 256 bytes right after the rings. */
static uint64_t buf_gpa(struct virtio_pci *vp, uint16_t head)
{
	return ring_of(vp)->desc_gpa + 0x3000 + head * 0x100u;
}

/* A 64-byte request for random bytes at descriptor @head. */
static void rng_post_to(struct virtio_pci *vp, uint16_t head)
{
	drv__desc(ring_of(vp), head, buf_gpa(vp, head), 64, VRING_DESC_F_WRITE, 0);
	drv__post(ring_of(vp), head);
}

static void rng_post(uint16_t head)
{
	rng_post_to(&vp_rng, head);
}

/* A one-sector write of @fill at @sector: descriptors 0-2. */
static void blk_post_write(uint64_t sector, uint8_t fill)
{
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_OUT),
				       .sector = htole64(sector) };

	memcpy(ram + BLK_REQ, &h, sizeof(h));
	ram[BLK_REQ + 0x10] = 0xff;
	memset(ram + BLK_REQ + 0x200, fill, 512);
	drv__desc(&d_blk, 0, BLK_REQ, 16, VRING_DESC_F_NEXT, 1);
	drv__desc(&d_blk, 1, BLK_REQ + 0x200, 512, VRING_DESC_F_NEXT, 2);
	drv__desc(&d_blk, 2, BLK_REQ + 0x10, 1, VRING_DESC_F_WRITE, 0);
	drv__post(&d_blk, 0);
}

/* Notify queue 0 through its notify register and run the event loop until @n are used. */
static void kick_and_wait(struct virtio_pci *vp, uint16_t n)
{
	wr(vp, VPCI_NOTIFY_OFF, 2, 0);
	for (int i = 0; i < 50 && drv__used_idx(ring_of(vp)) != n; i++)
		ck_assert_int_ge(eventloop__run_once(&loop, 100), 0);
	ck_assert_uint_eq(drv__used_idx(ring_of(vp)), n);
}

static void msix_control(struct virtio_pci *vp, uint16_t ctrl)
{
	cfg_wr(vp, VPCI_CAP_MSIX + 2, 2, ctrl);
}

static void msix_entry(struct virtio_pci *vp, unsigned int v, uint32_t addr, uint32_t data,
		       bool masked)
{
	uint64_t e = VPCI_MSIX_TABLE_OFF + v * 16u;

	wr(vp, e, 4, addr);
	wr(vp, e + 4, 4, 0);
	wr(vp, e + 8, 4, data);
	wr(vp, e + 12, 4, masked ? MSIX_ENTRY_CTRL_MASK : 0);
}

/*
 * KVM's irqfd consumes the eventfd counter as soon as it is signalled, so
 * to see deliveries the test unbinds the vector's irqfd and reads the count.
 */
static void observe(struct virtio_pci *vp, unsigned int v)
{
	ck_assert_int_eq(irq__irqfd(&irq, vp->vector_efd[v], vp->vector_gsi[v], false), 0);
}

static uint64_t fired(struct virtio_pci *vp, unsigned int v)
{
	uint64_t n = 0;

	if (read(vp->vector_efd[v], &n, sizeof(n)) < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		return 0;
	}
	return n;
}

static const struct kvm_irq_routing_entry *route(uint32_t gsi)
{
	for (unsigned int i = 0; i < irq.nr; i++)
		if (irq.entries[i].gsi == gsi)
			return &irq.entries[i];
	ck_abort_msg("no route for GSI %u", gsi);
	return NULL;
}

/* Can a new ioeventfd be placed at @addr (len 2)? 0, or KVM's -errno. */
static int ioeventfd_probe(uint64_t addr)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	struct kvm_ioeventfd io = { .addr = addr, .len = 2, .fd = efd };
	int ret = ioctl(vm_fd, KVM_IOEVENTFD, &io) ? -errno : 0;

	if (!ret) {
		io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
		ck_assert_int_eq(ioctl(vm_fd, KVM_IOEVENTFD, &io), 0);
	}
	close(efd);
	return ret;
}

/* ---- config space ---- */

START_TEST(test_pci_config_ids_revision_class_and_interrupt_pin)
{
	struct virtio_pci *vps[] = { &vp_rng, &vp_blk };
	static const uint16_t ids[] = { 0x1044, 0x1042 };
	static const uint32_t classes[] = { PCI_CLASS_OTHERS, PCI_CLASS_STORAGE_SCSI };

	for (unsigned int i = 0; i < 2; i++) {
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_DEVICE_ID, 2), ids[i]);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_CLASS_REVISION, 1), 1);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_CLASS_REVISION, 4) >> 8, classes[i]);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_SUBSYSTEM_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_SUBSYSTEM_ID, 2), ids[i]);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_HEADER_TYPE, 1), 0);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
				  PCI_STATUS_CAP_LIST);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_INTERRUPT_PIN, 1), 1);
		ck_assert_uint_eq(cfg_rd(vps[i], PCI_INTERRUPT_LINE, 1), pci__intx_gsi(1 + i));
		ck_assert_uint_eq(vps[i]->intx_gsi, pci__intx_gsi(1 + i));
	}
}
END_TEST

/* One vendor capability: its place in the list and what it points at in BAR 0. */
static unsigned int expect_vcap(struct virtio_pci *vp, unsigned int at, unsigned int cap_len,
				uint8_t type, uint32_t offset, uint32_t length)
{
	ck_assert_uint_eq(cfg_rd(vp, at + VIRTIO_PCI_CAP_VNDR, 1), PCI_CAP_ID_VNDR);
	ck_assert_uint_eq(cfg_rd(vp, at + VIRTIO_PCI_CAP_LEN, 1), cap_len);
	ck_assert_uint_eq(cfg_rd(vp, at + VIRTIO_PCI_CAP_CFG_TYPE, 1), type);
	ck_assert_uint_eq(cfg_rd(vp, at + VIRTIO_PCI_CAP_BAR, 1), 0);
	if (type != VIRTIO_PCI_CAP_PCI_CFG) {
		ck_assert_uint_eq(cfg_rd(vp, at + VIRTIO_PCI_CAP_OFFSET, 4), offset);
		ck_assert_uint_eq(cfg_rd(vp, at + VIRTIO_PCI_CAP_LENGTH, 4), length);
	}
	return cfg_rd(vp, at + VIRTIO_PCI_CAP_NEXT, 1);
}

START_TEST(test_pci_capability_list_has_the_virtio_structures_and_msix)
{
	struct virtio_pci *vps[] = { &vp_rng, &vp_blk };

	for (unsigned int i = 0; i < 2; i++) {
		struct virtio_pci *vp = vps[i];
		unsigned int next;

		ck_assert_uint_eq(cfg_rd(vp, PCI_CAPABILITY_LIST, 1), VPCI_CAP_COMMON);
		next = expect_vcap(vp, VPCI_CAP_COMMON, 16, VIRTIO_PCI_CAP_COMMON_CFG,
				   VPCI_COMMON_OFF, VPCI_COMMON_LEN);
		ck_assert_uint_eq(next, VPCI_CAP_NOTIFY);
		next = expect_vcap(vp, next, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF, 4);
		ck_assert_uint_eq(cfg_rd(vp, VPCI_CAP_NOTIFY + 16, 4), VPCI_NOTIFY_MULT);
		ck_assert_uint_eq(next, VPCI_CAP_ISR);
		next = expect_vcap(vp, next, 16, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1);
		if (vp == &vp_blk) {
			/* rng has no device config, so no device capability. */
			ck_assert_uint_eq(next, VPCI_CAP_DEVICE);
			next = expect_vcap(vp, next, 16, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF,
					   sizeof(struct virtio_blk_config));
		}
		ck_assert_uint_eq(next, VPCI_CAP_PCICFG);
		next = expect_vcap(vp, next, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
		ck_assert_uint_eq(next, VPCI_CAP_MSIX);
		ck_assert_uint_eq(cfg_rd(vp, VPCI_CAP_MSIX, 1), PCI_CAP_ID_MSIX);
		ck_assert_uint_eq(cfg_rd(vp, VPCI_CAP_MSIX + 1, 1), 0);
		ck_assert_uint_eq(cfg_rd(vp, VPCI_CAP_MSIX + 2, 2), VPCI_MSIX_VECTORS - 1);
		ck_assert_uint_eq(cfg_rd(vp, VPCI_CAP_MSIX + 4, 4), VPCI_MSIX_TABLE_OFF);
		ck_assert_uint_eq(cfg_rd(vp, VPCI_CAP_MSIX + 8, 4), VPCI_MSIX_PBA_OFF);
	}
}
END_TEST

START_TEST(test_pci_bar0_sizing_reports_a_16k_64bit_memory_bar)
{
	uint64_t v;

	ck_assert_uint_eq(cfg_rd(&vp_blk, PCI_BAR0, 4), (uint32_t)BLK_BAR | 0x4);
	cfg_wr(&vp_blk, PCI_COMMAND, 2, PCI_COMMAND_MASTER); /* decoding off, as Linux sizes */
	ck_assert_int_eq(bus__access(&mmio, BLK_BAR, &v, 4, false), -ENOENT);
	cfg_wr(&vp_blk, PCI_BAR0, 4, 0xffffffff);
	cfg_wr(&vp_blk, PCI_BAR0 + 4, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_rd(&vp_blk, PCI_BAR0, 4), 0xffffc004);
	ck_assert_uint_eq(cfg_rd(&vp_blk, PCI_BAR0 + 4, 4), 0xffffffff);
	cfg_wr(&vp_blk, PCI_BAR0, 4, (uint32_t)BLK_BAR);
	cfg_wr(&vp_blk, PCI_BAR0 + 4, 4, 0);
	cfg_wr(&vp_blk, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	ck_assert_uint_eq(vp_blk.bar_addr, BLK_BAR);
	/* The rng's BAR was never touched. */
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
}
END_TEST

START_TEST(test_pci_bar_relocation_moves_registers_and_notify)
{
	const uint64_t new_bar = 0xd0000000;
	uint64_t v;

	ck_assert_int_eq(ioeventfd_probe(RNG_BAR + VPCI_NOTIFY_OFF), -EEXIST);
	cfg_wr(&vp_rng, PCI_BAR0, 4, (uint32_t)new_bar);
	ck_assert_uint_eq(bar(&vp_rng), new_bar);
	ck_assert_int_eq(bus__access(&mmio, RNG_BAR, &v, 4, false), -ENOENT);
	ck_assert_int_eq(bus__access(&mmio, RNG_BAR + VPCI_NOTIFY_OFF, &v, 2, true), -ENOENT);
	ck_assert_int_eq(bus__access(&mmio, new_bar + VIRTIO_PCI_COMMON_NUMQ, &v, 2, false), 0);
	ck_assert_uint_eq(v & 0xffff, 1);
	/* The notify ioeventfd moved with it. */
	ck_assert_int_eq(ioeventfd_probe(RNG_BAR + VPCI_NOTIFY_OFF), 0);
	ck_assert_int_eq(ioeventfd_probe(new_bar + VPCI_NOTIFY_OFF), -EEXIST);
	/* And the device works there. */
	driver_ok(&vp_rng, VIRTIO_MSI_NO_VECTOR, VIRTIO_MSI_NO_VECTOR);
	rng_post(0);
	kick_and_wait(&vp_rng, 1);
	ck_assert_uint_eq(drv__used_len(&d_rng, 0), 64);
	/* Moving onto the other device's BAR fails and leaves it unmapped. */
	cfg_wr(&vp_rng, PCI_BAR0, 4, (uint32_t)BLK_BAR);
	ck_assert_uint_eq(vp_rng.bar_addr, 0);
	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
}
END_TEST

/* ---- common configuration ---- */

START_TEST(test_common_device_features_are_64_bit_with_version_1)
{
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_DF, 4),
			  1u << VIRTIO_RING_F_INDIRECT_DESC | 1u << VIRTIO_RING_F_EVENT_IDX);
	wr(&vp_rng, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_DF, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(&vp_rng, VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_DF, 4), 0);
	/* 8-byte read of select + features (lo dword then hi dword). */
	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_DFSELECT, 8),
			  (uint64_t)(uint32_t)blk.vdev.device_features << 32);
	ck_assert_uint_ne(rd(&vp_blk, VIRTIO_PCI_COMMON_DF, 4) & 1u << VIRTIO_BLK_F_FLUSH, 0);
}
END_TEST

START_TEST(test_common_driver_features_read_back_and_freeze_at_features_ok)
{
	wr(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GF, 4, 1u << VIRTIO_RING_F_INDIRECT_DESC);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GF, 4, 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_GF, 4), 1);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_GF, 4), 1u << VIRTIO_RING_F_INDIRECT_DESC);
	ck_assert_uint_eq(rng.vdev.driver_features,
			  1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC);
	wr(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1),
			  S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GF, 4, 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_GF, 4), 1u << VIRTIO_RING_F_INDIRECT_DESC);
}
END_TEST

START_TEST(test_common_features_ok_refused_without_version_1_or_with_unoffered)
{
	wr(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GF, 4, 1u << VIRTIO_RING_F_EVENT_IDX);
	wr(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1), S_ACK_DRIVER);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GF, 4, 1u << VIRTIO_RING_F_EVENT_IDX | 1u << 0);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GF, 4, 1);
	wr(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1), S_ACK_DRIVER);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GF, 4, 1u << VIRTIO_RING_F_EVENT_IDX);
	wr(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1, S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1),
			  S_ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}
END_TEST

START_TEST(test_common_queue_registers_read_back_and_freeze_once_enabled)
{
	static const struct {
		unsigned int off;
		uint32_t v;
	} regs[] = {
		{ VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000 },	 { VIRTIO_PCI_COMMON_Q_DESCHI, 0x1 },
		{ VIRTIO_PCI_COMMON_Q_AVAILLO, 0x2000 }, { VIRTIO_PCI_COMMON_Q_AVAILHI, 0x2 },
		{ VIRTIO_PCI_COMMON_Q_USEDLO, 0x3000 },	 { VIRTIO_PCI_COMMON_Q_USEDHI, 0x3 },
	};

	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_Q_SIZE, 2), BLK_QUEUE_SIZE);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2, 64);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	for (unsigned int i = 0; i < 6; i++)
		wr(&vp_rng, regs[i].off, 4, regs[i].v);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	for (unsigned int i = 0; i < 6; i++)
		ck_assert_uint_eq(rd(&vp_rng, regs[i].off, 4), regs[i].v);
	ck_assert_uint_eq(rng.vdev.vqs[0].desc_gpa, 0x100001000ull);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	/* Enabled: size and addresses are frozen, the vector is not. */
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2, 32);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x9000);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2, 2);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x1000);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
	/* Wrong widths are ignored. */
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 4, 3);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_SELECT, 1, 5);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2), 2);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
}
END_TEST

START_TEST(test_common_queue_select_out_of_range_reads_zeros_and_ignores_writes)
{
	static const uint16_t sel[] = { 1, VIRTIO_MAX_QUEUES, 0xffff };

	for (unsigned int i = 0; i < 3; i++) {
		wr(&vp_rng, VIRTIO_PCI_COMMON_Q_SELECT, 2, sel[i]);
		ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SELECT, 2), sel[i]);
		wr(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
		wr(&vp_rng, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x4000);
		wr(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		for (unsigned int off = VIRTIO_PCI_COMMON_Q_SIZE; off < VPCI_COMMON_LEN; off += 2)
			ck_assert_uint_eq(rd(&vp_rng, off, 2), 0);
	}
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	for (unsigned int q = 1; q < VIRTIO_MAX_QUEUES; q++)
		ck_assert(!rng.vdev.vqs[q].enabled);
}
END_TEST

START_TEST(test_common_msix_vector_past_the_table_reads_back_no_vector)
{
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2, VPCI_MSIX_VECTORS);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2, VPCI_MSIX_VECTORS - 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2), VPCI_MSIX_VECTORS - 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(&vp_rng, VIRTIO_PCI_COMMON_MSIX, 2, 100);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(&vp_rng, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_MSIX, 2), 0);
}
END_TEST

START_TEST(test_common_config_generation_and_device_config)
{
	const unsigned int seg_max = offsetof(struct virtio_blk_config, seg_max);
	const uint32_t blk_cfg = sizeof(struct virtio_blk_config);

	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_CFGGENERATION, 1), 0);
	pthread_mutex_lock(&blk.vdev.lock);
	virtio__config_changed(&blk.vdev);
	pthread_mutex_unlock(&blk.vdev.lock);
	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_CFGGENERATION, 1), 1);
	ck_assert_uint_eq(rd(&vp_blk, VPCI_DEVICE_OFF, 8), 0x10000 / 512);
	ck_assert_uint_eq(rd(&vp_blk, VPCI_DEVICE_OFF + seg_max, 4), BLK_SEG_MAX);
	/* Past the end of the device config: zeros. */
	ck_assert_uint_eq(rd(&vp_blk, VPCI_DEVICE_OFF + blk_cfg - 2, 4), 0);
	ck_assert_uint_eq(rd(&vp_blk, VPCI_DEVICE_OFF + blk_cfg, 4), 0);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_DEVICE_OFF, 4), 0);
}
END_TEST

START_TEST(test_common_status_zero_resets_everything)
{
	driver_ok(&vp_rng, 0, 1);
	wr(&vp_rng, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	wr(&vp_rng, VIRTIO_PCI_COMMON_Q_SELECT, 2, 3);
	wr(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_DFSELECT, 4), 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_GF, 4), 0);
	wr(&vp_rng, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_GF, 4), 0);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_SIZE, 2), VIRTQ_MAX_SIZE);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	for (unsigned int off = VIRTIO_PCI_COMMON_Q_DESCLO; off <= VIRTIO_PCI_COMMON_Q_USEDHI;
	     off += 4)
		ck_assert_uint_eq(rd(&vp_rng, off, 4), 0);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_ISR_OFF, 1), 0);
	/* A notify after the reset is ignored. */
	rng_post(0);
	wr(&vp_rng, VPCI_NOTIFY_OFF, 2, 0);
	ck_assert_int_ge(eventloop__run_once(&loop, 100), 0);
	ck_assert_uint_eq(drv__used_idx(&d_rng), 0);
}
END_TEST

/* ---- MSI-X and INTx ---- */

START_TEST(test_msix_table_entries_read_back_and_start_masked)
{
	const uint64_t e2 = VPCI_MSIX_TABLE_OFF + 2 * 16;

	for (unsigned int v = 0; v < VPCI_MSIX_VECTORS; v++) {
		ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_TABLE_OFF + v * 16u, 8), 0);
		ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_TABLE_OFF + v * 16u + 12, 4), 1);
	}
	wr(&vp_rng, e2, 8, 0x00000001fee01000ull);
	wr(&vp_rng, e2 + 8, 4, 0x4062);
	wr(&vp_rng, e2 + 12, 4, 0xfffffffe); /* only the mask bit is writable */
	ck_assert_uint_eq(rd(&vp_rng, e2, 4), 0xfee01000);
	ck_assert_uint_eq(rd(&vp_rng, e2 + 4, 4), 1);
	ck_assert_uint_eq(rd(&vp_rng, e2 + 8, 4), 0x4062);
	ck_assert_uint_eq(rd(&vp_rng, e2 + 12, 4), 0);
	wr(&vp_rng, e2 + 8, 2, 0x1111); /* not a dword: ignored */
	wr(&vp_rng, e2 + 6, 4, 0x2222); /* misaligned: ignored */
	ck_assert_uint_eq(rd(&vp_rng, e2 + 8, 4), 0x4062);
	ck_assert_uint_eq(rd(&vp_rng, e2 + 4, 4), 1);
	/* Past the last entry: all ones; the PBA is clear. */
	ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_TABLE_OFF + VPCI_MSIX_VECTORS * 16u, 4),
			  0xffffffff);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_PBA_OFF, 8), 0);
}
END_TEST

START_TEST(test_msix_unmasked_vector_routes_its_gsi_and_masked_changes_wait)
{
	const struct kvm_irq_routing_entry *e = route(vp_blk.vector_gsi[1]);

	msix_control(&vp_blk, MSIX_CTRL_ENABLE);
	ck_assert(vp_blk.msix_enabled);
	msix_entry(&vp_blk, 1, 0xfee01000, 0x4051, false);
	ck_assert_uint_eq(e->type, KVM_IRQ_ROUTING_MSI);
	ck_assert_uint_eq(e->u.msi.address_lo, 0xfee01000);
	ck_assert_uint_eq(e->u.msi.address_hi, 0);
	ck_assert_uint_eq(e->u.msi.data, 0x4051);
	/* A masked entry can be rewritten; its route follows when it is unmasked. */
	wr(&vp_blk, VPCI_MSIX_TABLE_OFF + 16 + 12, 4, MSIX_ENTRY_CTRL_MASK);
	wr(&vp_blk, VPCI_MSIX_TABLE_OFF + 16, 4, 0xfee02000);
	wr(&vp_blk, VPCI_MSIX_TABLE_OFF + 16 + 8, 4, 0x4052);
	ck_assert_uint_eq(e->u.msi.address_lo, 0xfee01000);
	ck_assert_uint_eq(e->u.msi.data, 0x4051);
	wr(&vp_blk, VPCI_MSIX_TABLE_OFF + 16 + 12, 4, 0);
	ck_assert_uint_eq(e->u.msi.address_lo, 0xfee02000);
	ck_assert_uint_eq(e->u.msi.data, 0x4052);
	/* Each vector has its own GSI above the IOAPIC's. */
	for (unsigned int v = 0; v < VPCI_MSIX_VECTORS; v++)
		ck_assert_uint_ge(vp_blk.vector_gsi[v], IRQ_FIRST_MSI_GSI);
	ck_assert_uint_ne(vp_blk.vector_gsi[1], vp_rng.vector_gsi[1]);
}
END_TEST

START_TEST(test_msix_unmasked_vector_fires_on_a_queue_interrupt)
{
	observe(&vp_rng, 1);
	observe(&vp_rng, 0);
	msix_control(&vp_rng, MSIX_CTRL_ENABLE);
	msix_entry(&vp_rng, 1, 0xfee00000, 0x4041, false);
	driver_ok(&vp_rng, 0, 1);
	rng_post(0);
	kick_and_wait(&vp_rng, 1);
	ck_assert_uint_eq(fired(&vp_rng, 1), 1);
	ck_assert_uint_eq(fired(&vp_rng, 0), 0);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_ISR_OFF, 1), 0); /* MSI-X: no queue bit in the ISR */
	ck_assert(!vp_rng.intx_level);
}
END_TEST

START_TEST(test_msix_masked_vector_sets_the_pba_bit_and_unmasking_delivers)
{
	observe(&vp_rng, 1);
	msix_control(&vp_rng, MSIX_CTRL_ENABLE);
	msix_entry(&vp_rng, 1, 0xfee00000, 0x4041, true);
	driver_ok(&vp_rng, VIRTIO_MSI_NO_VECTOR, 1);
	rng_post(0);
	kick_and_wait(&vp_rng, 1);
	ck_assert_uint_eq(fired(&vp_rng, 1), 0);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_PBA_OFF, 8), 1u << 1);
	wr(&vp_rng, VPCI_MSIX_TABLE_OFF + 16 + 12, 4, 0);
	ck_assert_uint_eq(fired(&vp_rng, 1), 1);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_PBA_OFF, 8), 0);
}
END_TEST

START_TEST(test_msix_function_mask_holds_interrupts_until_cleared)
{
	observe(&vp_rng, 1);
	msix_control(&vp_rng, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	msix_entry(&vp_rng, 1, 0xfee00000, 0x4041, false);
	driver_ok(&vp_rng, VIRTIO_MSI_NO_VECTOR, 1);
	rng_post(0);
	kick_and_wait(&vp_rng, 1);
	ck_assert_uint_eq(fired(&vp_rng, 1), 0);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_PBA_OFF, 1), 1u << 1);
	msix_control(&vp_rng, MSIX_CTRL_ENABLE);
	ck_assert_uint_eq(fired(&vp_rng, 1), 1);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_MSIX_PBA_OFF, 1), 0);
}
END_TEST

START_TEST(test_intx_isr_is_read_to_clear)
{
	driver_ok(&vp_rng, VIRTIO_MSI_NO_VECTOR, VIRTIO_MSI_NO_VECTOR);
	rng_post(0);
	kick_and_wait(&vp_rng, 1);
	ck_assert(vp_rng.intx_level);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_ISR_OFF, 1), VPCI_ISR_QUEUE);
	ck_assert(!vp_rng.intx_level);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_ISR_OFF, 1), 0);
	/* With INTx disabled in the command register the line stays low, the ISR still says why. */
	cfg_wr(&vp_rng, PCI_COMMAND, 2,
	       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	rng_post(1);
	kick_and_wait(&vp_rng, 2);
	ck_assert(!vp_rng.intx_level);
	cfg_wr(&vp_rng, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ck_assert(vp_rng.intx_level);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_ISR_OFF, 1), VPCI_ISR_QUEUE);
	ck_assert(!vp_rng.intx_level);
}
END_TEST

/* Another rng in @slot, with BAR 0 at XTRA_BAR. */
static void extra_rng(int slot)
{
	struct virtio_pci_env env = { vm_fd, &mmio, &loop, &irq, &tlog };
	struct acc_err err = { { 0 } };

	virtio_rng__init(&rng_extra, &mem, &tlog, &rl);
	ck_assert_msg(virtio_pci__init(&vp_extra, &rng_extra.vdev, &pci, slot, PCI_CLASS_OTHERS,
				       XTRA_BAR, &env, &err) == 0,
		      "%s", err.msg);
	have_extra = true;
	vring_drv__init(&d_extra, ram, QSIZE, XTRA_RING);
}

/* The line into IOAPIC pin @gsi: KVM keeps it in the IRR bit while the pin is masked. */
static bool ioapic_line(unsigned int gsi)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	ck_assert_int_eq(ioctl(vm_fd, KVM_GET_IRQCHIP, &chip), 0);
	return chip.chip.ioapic.irr & (1u << gsi);
}

START_TEST(test_intx_shared_line_stays_asserted_while_any_device_on_it_asserts)
{
	extra_rng(9); /* INTA# of slots 1 and 9 both go to IOAPIC pin 17 */
	ck_assert_uint_eq(vp_extra.intx_gsi, vp_rng.intx_gsi);
	driver_ok(&vp_rng, VIRTIO_MSI_NO_VECTOR, VIRTIO_MSI_NO_VECTOR);
	driver_ok(&vp_extra, VIRTIO_MSI_NO_VECTOR, VIRTIO_MSI_NO_VECTOR);
	ck_assert(!ioapic_line(vp_rng.intx_gsi));
	rng_post(0);
	kick_and_wait(&vp_rng, 1);
	ck_assert(ioapic_line(vp_rng.intx_gsi));
	rng_post_to(&vp_extra, 0);
	kick_and_wait(&vp_extra, 1);
	/* The slot-9 device's driver handles its interrupt; the rng's is still pending. */
	ck_assert_uint_eq(rd(&vp_extra, VPCI_ISR_OFF, 1), VPCI_ISR_QUEUE);
	ck_assert_msg(ioapic_line(vp_rng.intx_gsi),
		      "pin %u went low while the slot-1 device still asserts INTx (ISR 0x%x)",
		      vp_rng.intx_gsi, vp_rng.isr);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_ISR_OFF, 1), VPCI_ISR_QUEUE);
	ck_assert(!ioapic_line(vp_rng.intx_gsi));
}
END_TEST

/* ---- the VIRTIO_PCI_CAP_PCI_CFG window ---- */

static void window(struct virtio_pci *vp, uint32_t offset, uint32_t length)
{
	cfg_wr(vp, VPCI_CAP_PCICFG + VIRTIO_PCI_CAP_BAR, 1, 0);
	cfg_wr(vp, VPCI_CAP_PCICFG + VIRTIO_PCI_CAP_OFFSET, 4, offset);
	cfg_wr(vp, VPCI_CAP_PCICFG + VIRTIO_PCI_CAP_LENGTH, 4, length);
}

START_TEST(test_pci_cfg_window_reaches_the_common_config_through_config_space)
{
	const unsigned int data = VPCI_CAP_PCICFG + 16;

	window(&vp_blk, VIRTIO_PCI_COMMON_DF, 4);
	ck_assert_uint_eq(cfg_rd(&vp_blk, data, 4), (uint32_t)blk.vdev.device_features);
	window(&vp_blk, VIRTIO_PCI_COMMON_DFSELECT, 4);
	cfg_wr(&vp_blk, data, 4, 1);
	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	window(&vp_blk, VIRTIO_PCI_COMMON_DF, 4);
	ck_assert_uint_eq(cfg_rd(&vp_blk, data, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
	window(&vp_blk, VIRTIO_PCI_COMMON_NUMQ, 2);
	ck_assert_uint_eq(cfg_rd(&vp_blk, data, 2), 1);
	window(&vp_blk, VIRTIO_PCI_COMMON_STATUS, 1);
	cfg_wr(&vp_blk, data, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	ck_assert_uint_eq(blk.vdev.status, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* A window with a bad length or alignment does nothing. */
	window(&vp_blk, VIRTIO_PCI_COMMON_STATUS, 3);
	cfg_wr(&vp_blk, data, 4, 0);
	ck_assert_uint_eq(blk.vdev.status, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* Notifications go through the window too, but not from a misaligned offset. */
	window(&vp_blk, VPCI_NOTIFY_OFF + 1, 2);
	cfg_wr(&vp_blk, data, 2, 0);
	ck_assert_int_eq(eventloop__run_once(&loop, 0), 0);
	window(&vp_blk, VPCI_NOTIFY_OFF, 2);
	cfg_wr(&vp_blk, data, 2, 0);
	ck_assert_int_eq(eventloop__run_once(&loop, 0), 1);
}
END_TEST

/* ---- a hostile guest on one device ---- */

START_TEST(test_looping_chain_kills_only_its_device_and_the_other_keeps_working)
{
	uint8_t sector[512];

	for (unsigned int i = 0; i < 2; i++) {
		struct virtio_pci *vp = i ? &vp_blk : &vp_rng;

		observe(vp, 0);
		observe(vp, 1);
		msix_control(vp, MSIX_CTRL_ENABLE);
		msix_entry(vp, 0, 0xfee00000, 0x4030 + i, false);
		msix_entry(vp, 1, 0xfee00000, 0x4040 + i, false);
		driver_ok(vp, 0, 1);
	}
	/* Device A (rng): a chain whose next points back at itself. */
	drv__desc(&d_rng, 0, buf_gpa(&vp_rng, 0), 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	drv__post(&d_rng, 0);
	wr(&vp_rng, VPCI_NOTIFY_OFF, 2, 0);
	ck_assert_int_eq(eventloop__run_once(&loop, 1000), 1);
	ck_assert_uint_eq(rd(&vp_rng, VIRTIO_PCI_COMMON_STATUS, 1),
			  S_ALL | VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(fired(&vp_rng, 0), 1);
	ck_assert_uint_eq(fired(&vp_rng, 1), 0);
	ck_assert_uint_eq(rd(&vp_rng, VPCI_ISR_OFF, 1), VIRTIO_PCI_ISR_CONFIG);
	ck_assert_uint_eq(drv__used_idx(&d_rng), 0);
	/* Device B (blk) still completes a request. */
	blk_post_write(7, 0xc3);
	kick_and_wait(&vp_blk, 1);
	ck_assert_uint_eq(ram[BLK_REQ + 0x10], VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(fired(&vp_blk, 1), 1);
	ck_assert_uint_eq(fired(&vp_blk, 0), 0);
	ck_assert_uint_eq(rd(&vp_blk, VIRTIO_PCI_COMMON_STATUS, 1), S_ALL);
	ck_assert_int_eq(pread(image_fd, sector, 512, 7 * 512), 512);
	for (unsigned int i = 0; i < 512; i++)
		ck_assert_uint_eq(sector[i], 0xc3);
	/* A stays dead until the driver resets it, then works again. */
	rng_post(1);
	wr(&vp_rng, VPCI_NOTIFY_OFF, 2, 0);
	ck_assert_int_eq(eventloop__run_once(&loop, 1000), 1);
	ck_assert_uint_eq(drv__used_idx(&d_rng), 0);
	driver_ok(&vp_rng, 0, 1);
	rng_post(1);
	kick_and_wait(&vp_rng, 1);
	ck_assert_uint_eq(drv__used_len(&d_rng, 0), 64);
	ck_assert_uint_eq(fired(&vp_rng, 1), 1);
}
END_TEST

Suite *virtio_pci_suite(void)
{
	Suite *s = suite_create("virtio-pci");
	TCase *tc = tcase_create("config space");

	tcase_add_checked_fixture(tc, vpci_setup, vpci_teardown);
	tcase_add_test(tc, test_pci_config_ids_revision_class_and_interrupt_pin);
	tcase_add_test(tc, test_pci_capability_list_has_the_virtio_structures_and_msix);
	tcase_add_test(tc, test_pci_bar0_sizing_reports_a_16k_64bit_memory_bar);
	tcase_add_test(tc, test_pci_bar_relocation_moves_registers_and_notify);
	tcase_add_test(tc, test_pci_cfg_window_reaches_the_common_config_through_config_space);
	suite_add_tcase(s, tc);

	tc = tcase_create("common config");
	tcase_add_checked_fixture(tc, vpci_setup, vpci_teardown);
	tcase_add_test(tc, test_common_device_features_are_64_bit_with_version_1);
	tcase_add_test(tc, test_common_driver_features_read_back_and_freeze_at_features_ok);
	tcase_add_test(tc, test_common_features_ok_refused_without_version_1_or_with_unoffered);
	tcase_add_test(tc, test_common_queue_registers_read_back_and_freeze_once_enabled);
	tcase_add_test(tc, test_common_queue_select_out_of_range_reads_zeros_and_ignores_writes);
	tcase_add_test(tc, test_common_msix_vector_past_the_table_reads_back_no_vector);
	tcase_add_test(tc, test_common_config_generation_and_device_config);
	tcase_add_test(tc, test_common_status_zero_resets_everything);
	suite_add_tcase(s, tc);

	tc = tcase_create("interrupts");
	tcase_add_checked_fixture(tc, vpci_setup, vpci_teardown);
	tcase_add_test(tc, test_msix_table_entries_read_back_and_start_masked);
	tcase_add_test(tc, test_msix_unmasked_vector_routes_its_gsi_and_masked_changes_wait);
	tcase_add_test(tc, test_msix_unmasked_vector_fires_on_a_queue_interrupt);
	tcase_add_test(tc, test_msix_masked_vector_sets_the_pba_bit_and_unmasking_delivers);
	tcase_add_test(tc, test_msix_function_mask_holds_interrupts_until_cleared);
	tcase_add_test(tc, test_intx_isr_is_read_to_clear);
	tcase_add_test(tc, test_intx_shared_line_stays_asserted_while_any_device_on_it_asserts);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile guest");
	tcase_add_checked_fixture(tc, vpci_setup, vpci_teardown);
	tcase_add_test(tc, test_looping_chain_kills_only_its_device_and_the_other_keeps_working);
	suite_add_tcase(s, tc);
	return s;
}
