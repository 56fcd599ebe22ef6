// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_devices runner): the port/MMIO bus, and PCI
 * configuration mechanism #1 with the host bridge, device slots and the
 * reset control register at 0xcf9.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "accord/bus.h"
#include "accord/pci.h"
#include "accord/stop.h"
#include "accord/sysdev.h"

#include "devices_test.h"

/* ---- bus ---- */

struct test_dev {
	uint64_t offset;
	unsigned int len, reads, writes;
	uint8_t last[8];
};

static void dev_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	struct test_dev *d = dev;

	d->reads++;
	d->offset = offset;
	d->len = len;
	for (unsigned int i = 0; i < len; i++)
		((uint8_t *)data)[i] = (uint8_t)(0x10 + offset + i);
}

static void dev_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct test_dev *d = dev;

	d->writes++;
	d->offset = offset;
	d->len = len;
	memcpy(d->last, data, len);
}

static const struct bus_ops dev_ops = { dev_read, dev_write };
static const struct bus_ops write_only_ops = { NULL, dev_write };
static const struct bus_ops read_only_ops = { dev_read, NULL };

START_TEST(test_bus_dispatches_with_region_relative_offsets)
{
	struct bus b;
	struct test_dev a = { 0 }, c = { 0 };
	uint8_t data[4] = { 1, 2, 3, 4 };

	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(bus__register(&b, 0x100, 0x10, &dev_ops, &a), 0);
	ck_assert_int_eq(bus__register(&b, 0x40, 0x8, &dev_ops, &c), 0);
	ck_assert_int_eq(bus__access(&b, 0x104, data, 4, true), 0);
	ck_assert_uint_eq(a.writes, 1);
	ck_assert_uint_eq(a.offset, 4);
	ck_assert_uint_eq(a.len, 4);
	ck_assert_mem_eq(a.last, "\x01\x02\x03\x04", 4);
	ck_assert_int_eq(bus__access(&b, 0x46, data, 2, false), 0);
	ck_assert_uint_eq(c.reads, 1);
	ck_assert_uint_eq(c.offset, 6);
	ck_assert_uint_eq(data[0], 0x16);
	ck_assert_uint_eq(data[1], 0x17);
	ck_assert_uint_eq(a.reads, 0);
	bus__exit(&b);
}
END_TEST

START_TEST(test_bus_overlapping_registration_is_eexist)
{
	struct bus b;
	struct test_dev d = { 0 };

	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(bus__register(&b, 0x100, 0x10, &dev_ops, &d), 0);
	ck_assert_int_eq(bus__register(&b, 0x10f, 2, &dev_ops, &d), -EEXIST);
	ck_assert_int_eq(bus__register(&b, 0xf0, 0x11, &dev_ops, &d), -EEXIST);
	ck_assert_int_eq(bus__register(&b, 0x104, 4, &dev_ops, &d), -EEXIST);
	ck_assert_int_eq(bus__register(&b, 0x0, 0x1000, &dev_ops, &d), -EEXIST);
	ck_assert_int_eq(bus__register(&b, 0x100, 1, &dev_ops, &d), -EEXIST);
	/* Adjacent regions are fine. */
	ck_assert_int_eq(bus__register(&b, 0xf0, 0x10, &dev_ops, &d), 0);
	ck_assert_int_eq(bus__register(&b, 0x110, 0x10, &dev_ops, &d), 0);
	ck_assert_uint_eq(b.nr, 3);
	bus__exit(&b);
}
END_TEST

START_TEST(test_bus_empty_or_wrapping_region_is_einval)
{
	struct bus b;
	struct test_dev d = { 0 };

	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(bus__register(&b, 0x100, 0, &dev_ops, &d), -EINVAL);
	ck_assert_int_eq(bus__register(&b, UINT64_MAX, 2, &dev_ops, &d), -EINVAL);
	ck_assert_int_eq(bus__register(&b, UINT64_MAX, 1, &dev_ops, &d), 0);
	ck_assert_uint_eq(b.nr, 1);
	bus__exit(&b);
}
END_TEST

START_TEST(test_bus_unregister_removes_only_that_region)
{
	struct bus b;
	struct test_dev a = { 0 }, c = { 0 };
	uint8_t v = 0;

	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(bus__register(&b, 0x100, 0x10, &dev_ops, &a), 0);
	ck_assert_int_eq(bus__register(&b, 0x200, 0x10, &dev_ops, &c), 0);
	ck_assert_int_eq(bus__unregister(&b, 0x104), -ENOENT);
	ck_assert_int_eq(bus__unregister(&b, 0x300), -ENOENT);
	ck_assert_int_eq(bus__unregister(&b, 0x100), 0);
	ck_assert_int_eq(bus__access(&b, 0x100, &v, 1, false), -ENOENT);
	ck_assert_int_eq(bus__access(&b, 0x200, &v, 1, false), 0);
	ck_assert_uint_eq(c.reads, 1);
	ck_assert_int_eq(bus__unregister(&b, 0x100), -ENOENT);
	/* The space is free again. */
	ck_assert_int_eq(bus__register(&b, 0x100, 0x100, &dev_ops, &a), 0);
	bus__exit(&b);
}
END_TEST

START_TEST(test_bus_access_outside_any_region_is_enoent)
{
	struct bus b;
	struct test_dev d = { 0 };
	uint8_t data[8];

	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(bus__access(&b, 0x100, data, 1, false), -ENOENT);
	ck_assert_int_eq(bus__register(&b, 0x100, 4, &dev_ops, &d), 0);
	ck_assert_int_eq(bus__register(&b, 0x108, 4, &dev_ops, &d), 0);
	ck_assert_int_eq(bus__access(&b, 0xff, data, 1, false), -ENOENT);
	ck_assert_int_eq(bus__access(&b, 0x104, data, 1, false), -ENOENT);
	/* Straddling the end of a region, even into the next one. */
	ck_assert_int_eq(bus__access(&b, 0x102, data, 4, false), -ENOENT);
	ck_assert_int_eq(bus__access(&b, 0x106, data, 4, true), -ENOENT);
	ck_assert_int_eq(bus__access(&b, 0x10a, data, 8, false), -ENOENT);
	ck_assert_uint_eq(d.reads + d.writes, 0);
	ck_assert_int_eq(bus__access(&b, 0x100, data, 4, false), 0);
	ck_assert_int_eq(bus__access(&b, 0x10b, data, 1, false), 0);
	ck_assert_int_eq(bus__access(&b, 0x10c, data, 1, false), -ENOENT);
	bus__exit(&b);
}
END_TEST

START_TEST(test_bus_missing_ops_read_all_ones_and_ignore_writes)
{
	struct bus b;
	struct test_dev d = { 0 };
	uint8_t data[4] = { 0 };

	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(bus__register(&b, 0x10, 4, &write_only_ops, &d), 0);
	ck_assert_int_eq(bus__register(&b, 0x20, 4, &read_only_ops, &d), 0);
	ck_assert_int_eq(bus__access(&b, 0x10, data, 4, false), 0);
	ck_assert_mem_eq(data, "\xff\xff\xff\xff", 4);
	ck_assert_int_eq(bus__access(&b, 0x20, data, 2, true), 0);
	ck_assert_uint_eq(d.writes, 0);
	ck_assert_uint_eq(d.reads, 0);
	bus__exit(&b);
}
END_TEST

START_TEST(test_bus_many_regions_in_any_order)
{
	static const uint64_t bases[] = { 0x900, 0x100,	 0x500,	 0x1300, 0x0,	0x700,	0x1100,
					  0x300, 0xb00,	 0x1500, 0xd00,	 0x200, 0x1700, 0xf00,
					  0x400, 0x1900, 0x600,	 0x1b00, 0x800, 0xa00 };
	enum { N = sizeof(bases) / sizeof(bases[0]) };
	struct test_dev devs[N];
	struct bus b;

	memset(devs, 0, sizeof(devs));
	ck_assert_int_eq(bus__init(&b), 0);
	for (unsigned int i = 0; i < N; i++)
		ck_assert_int_eq(bus__register(&b, bases[i], 0x80, &dev_ops, &devs[i]), 0);
	ck_assert_uint_eq(b.nr, N);
	for (unsigned int i = 1; i < b.nr; i++)
		ck_assert_uint_gt(b.regions[i].base, b.regions[i - 1].base);
	for (unsigned int i = 0; i < N; i++) {
		uint8_t v = 0x5a;

		ck_assert_int_eq(bus__access(&b, bases[i] + 0x7f, &v, 1, true), 0);
		ck_assert_uint_eq(devs[i].writes, 1);
		ck_assert_uint_eq(devs[i].offset, 0x7f);
		ck_assert_int_eq(bus__access(&b, bases[i] + 0x80, &v, 1, true), -ENOENT);
	}
	bus__exit(&b);
}
END_TEST

/* ---- PCI ---- */

static struct pci_bus pci;
static struct bus pio;
static struct stop_rec stops;
static struct stop_sink sink = { record_stop, &stops };

static void pci_setup(void)
{
	memset(&stops, 0, sizeof(stops));
	ck_assert_int_eq(pci__init(&pci, &sink), 0);
	ck_assert_int_eq(bus__init(&pio), 0);
	ck_assert_int_eq(pci__register_ports(&pci, &pio), 0);
}

static void pci_teardown(void)
{
	bus__exit(&pio);
	pci__exit(&pci);
}

static void out(uint16_t port, uint32_t v, unsigned int len)
{
	ck_assert_int_eq(bus__access(&pio, port, &v, len, true), 0);
}

static uint32_t in(uint16_t port, unsigned int len)
{
	uint32_t v = 0;

	ck_assert_int_eq(bus__access(&pio, port, &v, len, false), 0);
	return v;
}

static uint32_t cfg_read(unsigned int bus, unsigned int dev, unsigned int fn, unsigned int reg)
{
	out(PCI_CONF1_ADDR_PORT, pci__address(bus, dev, fn, reg), 4);
	return in(PCI_CONF1_DATA_PORT, 4);
}

START_TEST(test_pci_address_register_masks_reserved_bits)
{
	out(PCI_CONF1_ADDR_PORT, 0xffffffff, 4);
	ck_assert_uint_eq(in(PCI_CONF1_ADDR_PORT, 4), 0x80fffffc);
	out(PCI_CONF1_ADDR_PORT, 0x80001234, 4);
	ck_assert_uint_eq(in(PCI_CONF1_ADDR_PORT, 4), 0x80001234);
	out(PCI_CONF1_ADDR_PORT, 0x7f000003, 4);
	ck_assert_uint_eq(in(PCI_CONF1_ADDR_PORT, 4), 0);
}
END_TEST

START_TEST(test_pci_linux_type1_probe_sees_mechanism_1)
{
	/* pci_check_type1(): a byte write to 0xcfb must not disturb the dword. */
	out(0xcfb, 0x01, 1);
	out(PCI_CONF1_ADDR_PORT, 0x80000000, 4);
	ck_assert_uint_eq(in(PCI_CONF1_ADDR_PORT, 4), 0x80000000);
	ck_assert_uint_eq(in(PCI_CONF1_ADDR_PORT, 1), 0xff);
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_pci_host_bridge_ids_at_00_00_0)
{
	ck_assert_uint_eq(cfg_read(0, 0, 0, PCI_VENDOR_ID), 0x0d578086);
	ck_assert_uint_eq(cfg_read(0, 0, 0, PCI_CLASS_REVISION), 0x06000000);
	ck_assert_uint_eq(cfg_read(0, 0, 0, 0x0c), 0);
	ck_assert_uint_eq(cfg_read(0, 0, 0, PCI_BAR0), 0);
	ck_assert_uint_eq(cfg_read(0, 0, 0, 0xfc), 0);
}
END_TEST

START_TEST(test_pci_absent_devices_read_all_ones)
{
	ck_assert_uint_eq(cfg_read(0, 1, 0, PCI_VENDOR_ID), 0xffffffff);
	ck_assert_uint_eq(cfg_read(0, 31, 0, PCI_VENDOR_ID), 0xffffffff);
	ck_assert_uint_eq(cfg_read(0, 0, 1, PCI_VENDOR_ID), 0xffffffff);
	ck_assert_uint_eq(cfg_read(0, 0, 7, PCI_VENDOR_ID), 0xffffffff);
	ck_assert_uint_eq(cfg_read(1, 0, 0, PCI_VENDOR_ID), 0xffffffff);
	ck_assert_uint_eq(cfg_read(255, 0, 0, PCI_VENDOR_ID), 0xffffffff);
	/* The enable bit clear. */
	out(PCI_CONF1_ADDR_PORT, 0, 4);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 4), 0xffffffff);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 2), 0xffff);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT + 3, 1), 0xff);
}
END_TEST

START_TEST(test_pci_byte_and_word_reads_at_offsets)
{
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 0, 0, 0), 4);
	ck_assert_uint_eq(in(0xcfc, 1), 0x86);
	ck_assert_uint_eq(in(0xcfd, 1), 0x80);
	ck_assert_uint_eq(in(0xcfe, 1), 0x57);
	ck_assert_uint_eq(in(0xcff, 1), 0x0d);
	ck_assert_uint_eq(in(0xcfc, 2), 0x8086);
	ck_assert_uint_eq(in(0xcfe, 2), 0x0d57);
	ck_assert_uint_eq(in(0xcfd, 2), 0x5780);
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 0, 0, PCI_CLASS_REVISION), 4);
	ck_assert_uint_eq(in(0xcff, 1), 0x06);
	ck_assert_uint_eq(in(0xcfe, 1), 0x00);
	/* pci_sanity_check() reads the class as a word at 0x0a. */
	ck_assert_uint_eq(in(0xcfe, 2), 0x0600);
	/* A dword at 0xcfd would cross the data port. */
	{
		uint32_t v;

		ck_assert_int_eq(bus__access(&pio, 0xcfd, &v, 4, false), -ENOENT);
	}
}
END_TEST

START_TEST(test_pci_config_access_past_256_bytes_is_all_ones)
{
	uint32_t addr = pci__address(0, 0, 0, 0xfc);

	ck_assert_uint_eq(pci__config_read(&pci, addr, 0, 4), 0);
	ck_assert_uint_eq(pci__config_read(&pci, addr, 3, 2), 0xffff);
	ck_assert_uint_eq(pci__config_read(&pci, addr, 2, 4), 0xffffffff);
	ck_assert_uint_eq(pci__config_read(&pci, addr, 0, 3), 0xffffff);
}
END_TEST

START_TEST(test_pci_vendor_and_device_ids_are_read_only)
{
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 0, 0, 0), 4);
	out(PCI_CONF1_DATA_PORT, 0x12345678, 4);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 4), 0x0d578086);
	out(PCI_CONF1_DATA_PORT, 0xffff, 2);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 4), 0x0d578086);
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 0, 0, PCI_CLASS_REVISION), 4);
	out(PCI_CONF1_DATA_PORT, 0, 4);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 4), 0x06000000);
}
END_TEST

START_TEST(test_pci_command_register_write_mask)
{
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 0, 0, PCI_COMMAND), 4);
	out(PCI_CONF1_DATA_PORT, 0xffff, 2);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 2), 0x0407);
	/* Status (the upper word) stays zero. */
	out(PCI_CONF1_DATA_PORT, 0xffffffff, 4);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 4), 0x00000407);
	out(PCI_CONF1_DATA_PORT + 1, 0x00, 1);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 2), 0x0007);
	out(PCI_CONF1_DATA_PORT, 0x0002, 2);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 2), PCI_COMMAND_MEMORY);
}
END_TEST

START_TEST(test_pci_host_bridge_interrupt_line_is_read_only)
{
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 0, 0, PCI_INTERRUPT_LINE), 4);
	out(PCI_CONF1_DATA_PORT, 0x0b, 1);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 1), 0);
}
END_TEST

struct written_rec {
	unsigned int calls, offset, len;
};

static void config_written(struct pci_device *dev, unsigned int offset, unsigned int len)
{
	struct written_rec *w = dev->priv;

	w->calls++;
	w->offset = offset;
	w->len = len;
}

static const struct pci_device_ops written_ops = { .config_written = config_written };

START_TEST(test_pci_add_device_allocates_slots)
{
	static struct pci_device devs[PCI_SLOTS];

	for (int i = 0; i < 4; i++)
		pci__device_init(&devs[i], 0x1af4, (uint16_t)(0x1040 + i), 0x020000, 1);
	ck_assert_int_eq(pci__add_device(&pci, &devs[0], -1), 1);
	ck_assert_int_eq(pci__add_device(&pci, &devs[1], -1), 2);
	ck_assert_int_eq(pci__add_device(&pci, &devs[2], 5), 5);
	ck_assert_int_eq(pci__add_device(&pci, &devs[3], 5), -EBUSY);
	ck_assert_int_eq(pci__add_device(&pci, &devs[3], 0), -EBUSY);
	ck_assert_int_eq(pci__add_device(&pci, &devs[3], PCI_SLOTS), -EINVAL);
	ck_assert_int_eq(pci__add_device(&pci, &devs[3], -1), 3);
	for (int i = 4; i < PCI_SLOTS; i++) {
		if (i == 5)
			continue;
		ck_assert_int_eq(pci__add_device(&pci, &devs[i], -1), i);
	}
	ck_assert_int_eq(pci__add_device(&pci, &devs[4], -1), -ENOSPC);

	ck_assert_uint_eq(cfg_read(0, 1, 0, PCI_VENDOR_ID), 0x10401af4);
	ck_assert_uint_eq(cfg_read(0, 5, 0, PCI_VENDOR_ID), 0x10421af4);
	ck_assert_uint_eq(cfg_read(0, 5, 0, PCI_CLASS_REVISION), 0x02000001);
	ck_assert_uint_eq(cfg_read(0, 5, 1, PCI_VENDOR_ID), 0xffffffff);
}
END_TEST

START_TEST(test_pci_device_interrupt_line_is_writable_and_reported)
{
	struct pci_device dev;
	struct written_rec w = { 0 };

	pci__device_init(&dev, 0x1af4, 0x1041, 0x020000, 0);
	dev.ops = &written_ops;
	dev.priv = &w;
	dev.cfg[PCI_INTERRUPT_PIN] = 1;
	ck_assert_int_eq(pci__add_device(&pci, &dev, 3), 3);
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 3, 0, PCI_INTERRUPT_LINE), 4);
	out(PCI_CONF1_DATA_PORT, 0x020b, 2);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 2), 0x010b);
	ck_assert_uint_eq(w.calls, 1);
	ck_assert_uint_eq(w.offset, PCI_INTERRUPT_LINE);
	ck_assert_uint_eq(w.len, 2);
	out(PCI_CONF1_ADDR_PORT, pci__address(0, 3, 0, PCI_COMMAND), 4);
	out(PCI_CONF1_DATA_PORT + 1, 0x04, 1);
	ck_assert_uint_eq(w.offset, PCI_COMMAND + 1);
	ck_assert_uint_eq(w.len, 1);
	ck_assert_uint_eq(in(PCI_CONF1_DATA_PORT, 2), PCI_COMMAND_INTX_DISABLE);
}
END_TEST

START_TEST(test_pci_reset_control_at_0xcf9_reboots)
{
	uint8_t v = 0x02;

	/* Through the address port's ops, as the bus dispatches 0xcf9. */
	pci_conf1_addr_ops.write(&pci, 1, &v, 1);
	ck_assert_uint_eq(stops.calls, 0);
	v = 0x06;
	pci_conf1_addr_ops.write(&pci, 1, &v, 1);
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_REBOOT);
	ck_assert_int_eq(stops.code, 0);
	/* And from the port bus. */
	out(RESET_CTL_PORT, 0x0e, 1);
	ck_assert_uint_eq(stops.calls, 2);
	ck_assert_int_eq(stops.reason, VM_STOP_REBOOT);
	/* Writes at other bytes of the dword do nothing. */
	out(0xcfa, 0x06, 1);
	ck_assert_uint_eq(stops.calls, 2);
}
END_TEST

Suite *bus_pci_suite(void)
{
	Suite *s = suite_create("bus and pci");
	TCase *tc = tcase_create("bus");

	tcase_add_test(tc, test_bus_dispatches_with_region_relative_offsets);
	tcase_add_test(tc, test_bus_overlapping_registration_is_eexist);
	tcase_add_test(tc, test_bus_empty_or_wrapping_region_is_einval);
	tcase_add_test(tc, test_bus_unregister_removes_only_that_region);
	tcase_add_test(tc, test_bus_access_outside_any_region_is_enoent);
	tcase_add_test(tc, test_bus_missing_ops_read_all_ones_and_ignore_writes);
	tcase_add_test(tc, test_bus_many_regions_in_any_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("pci");
	tcase_add_checked_fixture(tc, pci_setup, pci_teardown);
	tcase_add_test(tc, test_pci_address_register_masks_reserved_bits);
	tcase_add_test(tc, test_pci_linux_type1_probe_sees_mechanism_1);
	tcase_add_test(tc, test_pci_host_bridge_ids_at_00_00_0);
	tcase_add_test(tc, test_pci_absent_devices_read_all_ones);
	tcase_add_test(tc, test_pci_byte_and_word_reads_at_offsets);
	tcase_add_test(tc, test_pci_config_access_past_256_bytes_is_all_ones);
	tcase_add_test(tc, test_pci_vendor_and_device_ids_are_read_only);
	tcase_add_test(tc, test_pci_command_register_write_mask);
	tcase_add_test(tc, test_pci_host_bridge_interrupt_line_is_read_only);
	tcase_add_test(tc, test_pci_add_device_allocates_slots);
	tcase_add_test(tc, test_pci_device_interrupt_line_is_writable_and_reported);
	tcase_add_test(tc, test_pci_reset_control_at_0xcf9_reboots);
	suite_add_tcase(s, tc);
	return s;
}
