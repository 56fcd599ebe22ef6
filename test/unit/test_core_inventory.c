// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core inventory, on hardware
 * descriptions built with libfdt in the schema of guest/core/README.md:
 * a full tree, more entries than fit, optional nodes left out, unknown
 * nodes, and every required piece missing or malformed.
 */
#include <check.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rc_inventory.h"

Suite *core_inventory_suite(void);

#define OK(x) ck_assert_int_eq((x), 0)
#define GiB   (1ull << 30)

struct knobs {
	int cpus, mem_nodes, pci; /* < 0: leave the node out */
	const char *compatible;	  /* NULL: no compatible property */
	bool generation, alloc, mem_total, odd;
	int alloc_bad;	 /* 1 one-cell memory-max, 2 no granule, 3 granted > max, 4 granule 3,
			    5 vcpus granted > max, 6 reserved > max */
	int cpu_bad;	 /* 1 no reg, 2 online 2, 3 reg of 8 bytes, 4 no numa-node, 5 allocated 7 */
	const char *bdf; /* of device 0 */
	uint32_t vendor; /* of device 0 */
	uint32_t class;	 /* of device 0 */
};

static struct knobs defaults(void)
{
	return (struct knobs){ .cpus = 4,
			       .mem_nodes = 2,
			       .pci = 3,
			       .compatible = RC_INV_COMPATIBLE,
			       .generation = true,
			       .alloc = true,
			       .mem_total = true,
			       .vendor = 0x8086,
			       .class = 0x020000 };
}

static void u64prop(void *b, const char *name, uint64_t v)
{
	OK(fdt_property_u64(b, name, v));
}

static size_t build(void *b, size_t cap, const struct knobs *k)
{
	char name[64];

	OK(fdt_create(b, (int)cap));
	OK(fdt_finish_reservemap(b));
	OK(fdt_begin_node(b, ""));
	if (k->compatible)
		OK(fdt_property_string(b, "compatible", k->compatible));
	if (k->generation)
		OK(fdt_property_u32(b, "accord,generation", 7));
	if (k->odd)
		OK(fdt_property_string(b, "model", "something else"));
	if (k->cpus >= 0) {
		OK(fdt_begin_node(b, "cpus"));
		OK(fdt_property_u32(b, "#address-cells", 1));
		OK(fdt_property_u32(b, "#size-cells", 0));
		for (int i = 0; i < k->cpus; i++) {
			snprintf(name, sizeof(name), "cpu@%d", 100 + i);
			OK(fdt_begin_node(b, name));
			if (i == 0 && k->cpu_bad == 3)
				u64prop(b, "reg", 100);
			else if (!(i == 0 && k->cpu_bad == 1))
				OK(fdt_property_u32(b, "reg", 100 + (uint32_t)i));
			OK(fdt_property_u32(b, "accord,package", (uint32_t)i / 8));
			OK(fdt_property_u32(b, "accord,core", (uint32_t)(i / 2) % 4));
			OK(fdt_property_u32(b, "accord,thread", (uint32_t)i % 2));
			if (!(i == 0 && k->cpu_bad == 4))
				OK(fdt_property_u32(b, "accord,numa-node", (uint32_t)i / 16));
			OK(fdt_property_u32(b, "accord,online",
					    i == 0 && k->cpu_bad == 2 ? 2 : i % 3 != 0));
			OK(fdt_property_u32(b, "accord,allocated",
					    i == 0 && k->cpu_bad == 5 ? 7 : i < 2));
			OK(fdt_end_node(b));
		}
		if (k->odd) {
			OK(fdt_begin_node(b, "cpu-map"));
			OK(fdt_property_u32(b, "reg", 1));
			OK(fdt_end_node(b));
		}
		OK(fdt_end_node(b));
	}
	if (k->mem_nodes >= 0) {
		OK(fdt_begin_node(b, "memory"));
		if (k->mem_total)
			u64prop(b, "accord,total", 6 * GiB);
		for (int j = 0; j < k->mem_nodes; j++) {
			snprintf(name, sizeof(name), "node@%d", j);
			OK(fdt_begin_node(b, name));
			OK(fdt_property_u32(b, "reg", (uint32_t)j));
			u64prop(b, "accord,size", (uint64_t)(j + 1) * GiB);
			OK(fdt_end_node(b));
		}
		OK(fdt_end_node(b));
	}
	if (k->pci >= 0) {
		OK(fdt_begin_node(b, "pci"));
		for (int d = 0; d < k->pci; d++) {
			char bdf[32];

			snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%x", d / 64, d % 32,
				 (d / 32) % 2);
			snprintf(name, sizeof(name), "device@%s", bdf);
			OK(fdt_begin_node(b, name));
			OK(fdt_property_string(b, "accord,bdf", d == 0 && k->bdf ? k->bdf : bdf));
			OK(fdt_property_u32(b, "vendor-id", d == 0 ? k->vendor : 0x1af4));
			OK(fdt_property_u32(b, "device-id", 0x1000 + (uint32_t)d));
			OK(fdt_property_u32(b, "class-code", d == 0 ? k->class : 0x010000));
			OK(fdt_end_node(b));
		}
		OK(fdt_end_node(b));
	}
	if (k->odd) {
		OK(fdt_begin_node(b, "chosen"));
		OK(fdt_property_string(b, "bootargs", "x"));
		OK(fdt_end_node(b));
	}
	if (k->alloc) {
		OK(fdt_begin_node(b, "allocation"));
		if (k->alloc_bad == 1)
			OK(fdt_property_u32(b, "accord,memory-max", 4));
		else
			u64prop(b, "accord,memory-max", 4 * GiB);
		u64prop(b, "accord,memory-granted", k->alloc_bad == 3 ? 5 * GiB : 2 * GiB);
		u64prop(b, "accord,memory-reserved", k->alloc_bad == 6 ? 5 * GiB : GiB);
		OK(fdt_property_u32(b, "accord,vcpus-max", 8));
		OK(fdt_property_u32(b, "accord,vcpus-granted", k->alloc_bad == 5 ? 9 : 2));
		if (k->alloc_bad != 2)
			u64prop(b, "accord,granule", k->alloc_bad == 4 ? 3 : 2 << 20);
		OK(fdt_end_node(b));
	}
	OK(fdt_end_node(b));
	OK(fdt_finish(b));
	return fdt_totalsize(b);
}

static struct rc_inventory *inv;
static uint8_t *blob;
#define BLOB_CAP (1024 * 1024)

static void setup(void)
{
	inv = malloc(sizeof(*inv));
	blob = malloc(BLOB_CAP);
	ck_assert_ptr_nonnull(inv);
	ck_assert_ptr_nonnull(blob);
}

static void teardown(void)
{
	free(inv);
	free(blob);
}

static int parse(const struct knobs *k)
{
	size_t n = build(blob, BLOB_CAP, k);

	memset(inv, 0xa5, sizeof(*inv));
	return rc_inventory_parse(inv, blob, n);
}

START_TEST(test_inventory_full_tree)
{
	struct knobs k = defaults();

	OK(parse(&k));
	ck_assert_uint_eq(inv->generation, 7);
	ck_assert(!inv->truncated);
	ck_assert_uint_eq(inv->nr_cpus, 4);
	ck_assert_uint_eq(inv->cpus_found, 4);
	ck_assert_uint_eq(inv->cpus_online, 2); /* 1 and 2 */
	ck_assert_uint_eq(inv->cpus_allocated, 2);
	for (uint32_t i = 0; i < 4; i++) {
		const struct rc_inv_cpu *c = &inv->cpus[i];

		ck_assert_uint_eq(c->host_id, 100 + i);
		ck_assert_uint_eq(c->package, i / 8);
		ck_assert_uint_eq(c->core, (i / 2) % 4);
		ck_assert_uint_eq(c->thread, i % 2);
		ck_assert_uint_eq(c->numa_node, 0);
		ck_assert_int_eq(c->online, i % 3 != 0);
		ck_assert_int_eq(c->allocated, i < 2);
	}
	ck_assert(inv->has_memory);
	ck_assert_uint_eq(inv->mem_total, 6 * GiB);
	ck_assert_uint_eq(inv->nr_mem_nodes, 2);
	ck_assert_uint_eq(inv->mem_nodes[1].id, 1);
	ck_assert_uint_eq(inv->mem_nodes[1].size, 2 * GiB);
	ck_assert_uint_eq(inv->nr_pci, 3);
	ck_assert_uint_eq(inv->pci[0].vendor_id, 0x8086);
	ck_assert_uint_eq(inv->pci[0].class_code, 0x020000);
	ck_assert_uint_eq(inv->pci[2].domain, 0);
	ck_assert_uint_eq(inv->pci[2].bus, 0);
	ck_assert_uint_eq(inv->pci[2].dev, 2);
	ck_assert_uint_eq(inv->pci[2].fn, 0);
	ck_assert_uint_eq(inv->pci[2].vendor_id, 0x1af4);
	ck_assert_uint_eq(inv->pci[2].device_id, 0x1002);
	ck_assert_uint_eq(inv->alloc.memory_max, 4 * GiB);
	ck_assert_uint_eq(inv->alloc.memory_granted, 2 * GiB);
	ck_assert_uint_eq(inv->alloc.memory_reserved, GiB);
	ck_assert_uint_eq(inv->alloc.vcpus_max, 8);
	ck_assert_uint_eq(inv->alloc.vcpus_granted, 2);
	ck_assert_uint_eq(inv->alloc.granule, 2 << 20);
}
END_TEST

START_TEST(test_inventory_truncates_what_does_not_fit)
{
	struct knobs k = defaults();

	k.cpus = RC_INV_MAX_CPUS + 76;
	k.mem_nodes = RC_INV_MAX_MEM_NODES + 4;
	k.pci = RC_INV_MAX_PCI + 6;
	OK(parse(&k));
	ck_assert(inv->truncated);
	ck_assert_uint_eq(inv->nr_cpus, RC_INV_MAX_CPUS);
	ck_assert_uint_eq(inv->cpus_found, 1100);
	ck_assert_uint_eq(inv->cpus_online, 733); /* i % 3 != 0 over all 1100 */
	ck_assert_uint_eq(inv->cpus_allocated, 2);
	ck_assert_uint_eq(inv->cpus[1023].host_id, 1123);
	ck_assert_uint_eq(inv->cpus[1023].numa_node, 63);
	ck_assert_uint_eq(inv->nr_mem_nodes, RC_INV_MAX_MEM_NODES);
	ck_assert_uint_eq(inv->mem_nodes_found, RC_INV_MAX_MEM_NODES + 4);
	ck_assert_uint_eq(inv->mem_nodes[63].size, 64 * GiB);
	ck_assert_uint_eq(inv->nr_pci, RC_INV_MAX_PCI);
	ck_assert_uint_eq(inv->pci_found, RC_INV_MAX_PCI + 6);
	ck_assert_uint_eq(inv->pci[255].bus, 3);
	ck_assert_uint_eq(inv->pci[255].dev, 31);
	ck_assert_uint_eq(inv->pci[255].fn, 1);

	/* Exactly at capacity is not truncated. */
	k.cpus = RC_INV_MAX_CPUS;
	k.mem_nodes = RC_INV_MAX_MEM_NODES;
	k.pci = RC_INV_MAX_PCI;
	OK(parse(&k));
	ck_assert(!inv->truncated);
	ck_assert_uint_eq(inv->nr_cpus, RC_INV_MAX_CPUS);
	ck_assert_uint_eq(inv->cpus_found, RC_INV_MAX_CPUS);
}
END_TEST

START_TEST(test_inventory_optional_and_unknown_nodes)
{
	struct knobs k = defaults();

	k.cpus = k.mem_nodes = k.pci = -1;
	OK(parse(&k));
	ck_assert_uint_eq(inv->nr_cpus + inv->cpus_found + inv->nr_pci + inv->nr_mem_nodes, 0);
	ck_assert(!inv->has_memory);
	ck_assert(!inv->truncated);
	ck_assert_uint_eq(inv->alloc.vcpus_max, 8);

	/* Empty container nodes. */
	k.cpus = k.mem_nodes = k.pci = 0;
	OK(parse(&k));
	ck_assert(inv->has_memory);
	ck_assert_uint_eq(inv->nr_mem_nodes, 0);

	/* Unknown nodes and properties are ignored. */
	k = defaults();
	k.odd = true;
	OK(parse(&k));
	ck_assert_uint_eq(inv->nr_cpus, 4);
	ck_assert_uint_eq(inv->cpus_found, 4);
}
END_TEST

START_TEST(test_inventory_required_pieces)
{
	static const struct {
		int alloc_bad, err;
	} alloc[] = { { 1, RC_EMALFORMED }, { 2, RC_ENOENT }, { 3, RC_ERANGE },
		      { 4, RC_ERANGE },	    { 5, RC_ERANGE }, { 6, RC_ERANGE } };
	static const struct {
		int cpu_bad, err;
	} cpu[] = { { 1, RC_ENOENT },
		    { 2, RC_ERANGE },
		    { 3, RC_EMALFORMED },
		    { 4, RC_ENOENT },
		    { 5, RC_ERANGE } };
	struct knobs k;

	k = defaults();
	k.alloc = false;
	ck_assert_int_eq(parse(&k), RC_ENOENT);
	for (unsigned int i = 0; i < sizeof(alloc) / sizeof(alloc[0]); i++) {
		k = defaults();
		k.alloc_bad = alloc[i].alloc_bad;
		ck_assert_msg(parse(&k) == alloc[i].err, "allocation case %d", alloc[i].alloc_bad);
	}
	for (unsigned int i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++) {
		k = defaults();
		k.cpu_bad = cpu[i].cpu_bad;
		ck_assert_msg(parse(&k) == cpu[i].err, "cpu case %d", cpu[i].cpu_bad);
	}
	k = defaults();
	k.compatible = NULL;
	ck_assert_int_eq(parse(&k), RC_EUNSUPPORTED);
	k.compatible = "accord,hardware-descriptio";
	ck_assert_int_eq(parse(&k), RC_EUNSUPPORTED);
	k = defaults();
	k.generation = false;
	ck_assert_int_eq(parse(&k), RC_ENOENT);
	k = defaults();
	k.mem_total = false;
	ck_assert_int_eq(parse(&k), RC_ENOENT);
	k = defaults();
	k.vendor = 0x10000;
	ck_assert_int_eq(parse(&k), RC_ERANGE);
	k = defaults();
	k.class = 0x1000000;
	ck_assert_int_eq(parse(&k), RC_ERANGE);
	ck_assert_int_eq(rc_inventory_parse(NULL, blob, 100), RC_EINVAL);
}
END_TEST

START_TEST(test_inventory_pci_addresses)
{
	static const char *const bad[] = { "",
					   "0000:00:1f",
					   "0000:00:1f.",
					   "0000:00:20.0",
					   "0000:00:1f.8",
					   "000:00:1f.2",
					   "0000-00:1f.2",
					   "0000:00-1f.2",
					   "0000:00:1f:2",
					   "0000:0g:1f.2",
					   " 000:00:1f.2",
					   "0000:00:1f.2 ",
					   "000000000:00:1f.2" };
	struct knobs k = defaults();

	k.bdf = "abCD:Fe:1f.7";
	OK(parse(&k));
	ck_assert_uint_eq(inv->pci[0].domain, 0xabcd);
	ck_assert_uint_eq(inv->pci[0].bus, 0xfe);
	ck_assert_uint_eq(inv->pci[0].dev, 0x1f);
	ck_assert_uint_eq(inv->pci[0].fn, 7);
	/* Domains past 0xffff (Intel VMD) print with more digits. */
	k.bdf = "10000:e1:00.0";
	OK(parse(&k));
	ck_assert_uint_eq(inv->pci[0].domain, 0x10000);
	ck_assert_uint_eq(inv->pci[0].bus, 0xe1);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k.bdf = bad[i];
		ck_assert_msg(parse(&k) == RC_EMALFORMED, "'%s' accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_inventory_refuses_broken_blobs)
{
	struct knobs k = defaults();
	size_t n = build(blob, BLOB_CAP, &k);

	for (size_t len = 0; len < n; len += 7) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, blob, len);
		ck_assert_int_eq(rc_inventory_parse(inv, copy, len), RC_ETRUNC);
		free(copy);
	}
	blob[0] ^= 1;
	ck_assert_int_eq(rc_inventory_parse(inv, blob, n), RC_EMALFORMED);
}
END_TEST

Suite *core_inventory_suite(void)
{
	Suite *s = suite_create("core inventory");
	TCase *tc = tcase_create("inventory");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_inventory_full_tree);
	tcase_add_test(tc, test_inventory_truncates_what_does_not_fit);
	tcase_add_test(tc, test_inventory_optional_and_unknown_nodes);
	tcase_add_test(tc, test_inventory_required_pieces);
	tcase_add_test(tc, test_inventory_pci_addresses);
	tcase_add_test(tc, test_inventory_refuses_broken_blobs);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
