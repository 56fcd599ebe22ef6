// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_host runner): the host inventory read from fake sysfs
 * trees, its device tree (checked with libfdt and dtc), DTS and JSON.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>
#include <libfdt.h>

#include "accord/inventory.h"
#include "fake_sysfs.h"

#define CPU  "sys/devices/system/cpu"
#define NODE "sys/devices/system/node"
#define PCI  "sys/bus/pci/devices"
#define KiB  1024ull

static struct fake_tree tree;
static struct host_inventory *inv;
static struct acc_err err;

static void setup(void)
{
	fake_init(&tree, "sysfs");
	inv = calloc(1, sizeof(*inv));
	ck_assert_ptr_nonnull(inv);
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	fake_cleanup(&tree);
	free(inv);
}

/*
 * 2 packages x 2 cores x 2 threads numbered as x86 Linux does (cpu0-3 are
 * the first threads, cpu4-7 their siblings); package p is NUMA node p.
 */
static void build_host(bool numa, bool pci)
{
	fake_remove(&tree, "sys");
	fake_remove(&tree, "proc");
	fake_write(
		&tree, "proc/meminfo",
		"MemTotal:        8388608 kB\nMemFree:         1234 kB\nMemAvailable:    99 kB\n");
	fake_write(&tree, CPU "/possible", "0-15\n");
	fake_write(&tree, CPU "/present", "0-7\n");
	fake_write(&tree, CPU "/online", "0-7\n");
	fake_write(&tree, CPU "/offline", "8-15\n");
	for (unsigned int cpu = 0; cpu < 8; cpu++) {
		unsigned int first = cpu % 4, pkg = first / 2, core = first % 2;
		char text[32];

		snprintf(text, sizeof(text), "%u\n", pkg);
		fake_writef(&tree, text, CPU "/cpu%u/topology/physical_package_id", cpu);
		snprintf(text, sizeof(text), "%u\n", core);
		fake_writef(&tree, text, CPU "/cpu%u/topology/core_id", cpu);
		snprintf(text, sizeof(text), "%u,%u\n", first, first + 4);
		fake_writef(&tree, text, CPU "/cpu%u/topology/thread_siblings_list", cpu);
		fake_writef(&tree, "1\n", CPU "/cpu%u/online", cpu);
		if (numa) {
			char rel[128], target[64];

			snprintf(rel, sizeof(rel), CPU "/cpu%u/node%u", cpu, pkg);
			snprintf(target, sizeof(target), "../../node/node%u", pkg);
			fake_symlink(&tree, rel, target);
		}
	}
	if (numa) {
		fake_write(&tree, NODE "/possible", "0-1\n");
		fake_write(&tree, NODE "/online", "0-1\n");
		fake_write(&tree, NODE "/has_cpu", "0-1\n");
		fake_write(&tree, NODE "/node0/cpulist", "0-1,4-5\n");
		fake_write(&tree, NODE "/node0/meminfo",
			   "Node 0 MemTotal:        4194304 kB\nNode 0 MemFree:          100 kB\n");
		fake_write(&tree, NODE "/node1/cpulist", "2-3,6-7\n");
		fake_write(&tree, NODE "/node1/meminfo",
			   "Node 1 MemFree:          100 kB\nNode 1 MemTotal:        3145728 kB\n");
	}
	if (pci) {
		/* Created out of order: the scan sorts them. */
		fake_write(&tree, PCI "/0000:03:00.0/vendor", "0x1af4\n");
		fake_write(&tree, PCI "/0000:03:00.0/device", "0x1041\n");
		fake_write(&tree, PCI "/0000:03:00.0/class", "0x020000\n");
		fake_write(&tree, PCI "/0000:00:1f.2/vendor", "0x8086\n");
		fake_write(&tree, PCI "/0000:00:1f.2/device", "0x2922\n");
		fake_write(&tree, PCI "/0000:00:1f.2/class", "0x010601\n");
		fake_write(&tree, PCI "/0000:00:00.0/vendor", "0x8086\n");
		fake_write(&tree, PCI "/0000:00:00.0/device", "0x1237\n");
		fake_write(&tree, PCI "/0000:00:00.0/class", "0x060000\n");
	}
}

static void scan_ok(void)
{
	int ret = inventory__scan(tree.root, inv, &err);

	ck_assert_msg(ret == 0, "scan failed: %d %s", ret, err.msg);
}

static void expect_scan_error(int errnum, const char *needle)
{
	int ret = inventory__scan(tree.root, inv, &err);

	ck_assert_msg(ret == -errnum, "expected -%d, got %d (%s)", errnum, ret, err.msg);
	ck_assert_msg(strstr(err.msg, needle), "'%s' does not name '%s'", err.msg, needle);
	ck_assert_uint_eq(inv->nr_cpus, 0);
	ck_assert_uint_eq(inv->nr_nodes, 0);
}

/* ---- scanning ---- */

START_TEST(test_scan_two_packages_two_nodes_three_devices)
{
	build_host(true, true);
	scan_ok();

	ck_assert_uint_eq(inv->mem_total, 8388608 * KiB);
	ck_assert(!inv->truncated);
	ck_assert_uint_eq(inv->nr_cpus, 8);
	for (unsigned int i = 0; i < 8; i++) {
		const struct inventory_cpu *cpu = &inv->cpus[i];

		ck_assert_uint_eq(cpu->id, i);
		ck_assert_uint_eq(cpu->package, (i % 4) / 2);
		ck_assert_uint_eq(cpu->core, i % 2);
		ck_assert_uint_eq(cpu->thread, i / 4);
		ck_assert_uint_eq(cpu->node, (i % 4) / 2);
		ck_assert(cpu->online);
	}
	ck_assert_uint_eq(inv->nr_nodes, 2);
	ck_assert_uint_eq(inv->nodes[0].id, 0);
	ck_assert_uint_eq(inv->nodes[0].mem_size, 4194304 * KiB);
	ck_assert_uint_eq(inv->nodes[1].id, 1);
	ck_assert_uint_eq(inv->nodes[1].mem_size, 3145728 * KiB);

	ck_assert_uint_eq(inv->nr_pci, 3);
	ck_assert_uint_eq(inv->pci[0].bus, 0);
	ck_assert_uint_eq(inv->pci[0].dev, 0);
	ck_assert_uint_eq(inv->pci[0].vendor, 0x8086);
	ck_assert_uint_eq(inv->pci[0].device, 0x1237);
	ck_assert_uint_eq(inv->pci[0].class_code, 0x060000);
	ck_assert_uint_eq(inv->pci[1].dev, 0x1f);
	ck_assert_uint_eq(inv->pci[1].fn, 2);
	ck_assert_uint_eq(inv->pci[1].device, 0x2922);
	ck_assert_uint_eq(inv->pci[1].class_code, 0x010601);
	ck_assert_uint_eq(inv->pci[2].domain, 0);
	ck_assert_uint_eq(inv->pci[2].bus, 3);
	ck_assert_uint_eq(inv->pci[2].vendor, 0x1af4);
	ck_assert_uint_eq(inv->pci[2].device, 0x1041);
	ck_assert_uint_eq(inv->pci[2].class_code, 0x020000);
}
END_TEST

START_TEST(test_scan_without_node_dir_is_one_node)
{
	build_host(false, false);
	scan_ok();
	ck_assert_uint_eq(inv->nr_nodes, 1);
	ck_assert_uint_eq(inv->nodes[0].id, 0);
	ck_assert_uint_eq(inv->nodes[0].mem_size, inv->mem_total);
	for (unsigned int i = 0; i < inv->nr_cpus; i++)
		ck_assert_uint_eq(inv->cpus[i].node, 0);
	ck_assert_uint_eq(inv->nr_pci, 0);

	/* A node directory with no nodeN inside means the same. */
	fake_write(&tree, NODE "/possible", "0\n");
	scan_ok();
	ck_assert_uint_eq(inv->nr_nodes, 1);
	ck_assert_uint_eq(inv->nodes[0].mem_size, inv->mem_total);
}
END_TEST

START_TEST(test_scan_offline_cpu_without_topology)
{
	build_host(true, true);
	fake_write(&tree, CPU "/online", "0-6\n");
	fake_remove(&tree, CPU "/cpu7/topology");
	/* Offline CPUs leave their node's cpulist; the cpu7/node1 link remains. */
	fake_write(&tree, NODE "/node1/cpulist", "2-3,6\n");
	scan_ok();
	ck_assert_uint_eq(inv->nr_cpus, 8);
	ck_assert(inv->cpus[6].online);
	ck_assert(!inv->cpus[7].online);
	ck_assert_uint_eq(inv->cpus[7].package, INVENTORY_UNKNOWN);
	ck_assert_uint_eq(inv->cpus[7].core, INVENTORY_UNKNOWN);
	ck_assert_uint_eq(inv->cpus[7].thread, INVENTORY_UNKNOWN);
	ck_assert_uint_eq(inv->cpus[7].node, 1);

	/* Without the link either, the node is unknown. */
	fake_remove(&tree, CPU "/cpu7/node1");
	scan_ok();
	ck_assert_uint_eq(inv->cpus[7].node, INVENTORY_UNKNOWN);

	/* And a present CPU without any directory is all unknown. */
	fake_remove(&tree, CPU "/cpu7");
	scan_ok();
	ck_assert_uint_eq(inv->nr_cpus, 8);
	ck_assert_uint_eq(inv->cpus[7].core, INVENTORY_UNKNOWN);
}
END_TEST

START_TEST(test_scan_sparse_ids_and_unknown_package)
{
	build_host(true, false);
	fake_write(&tree, CPU "/present", "0-1,4-5\n");
	fake_write(&tree, CPU "/online", "0,4-5\n");
	fake_write(&tree, CPU "/cpu4/topology/physical_package_id", "-1\n");
	/* Node 1 becomes node 2; no CPU of it is present. */
	fake_remove(&tree, NODE "/node1");
	fake_write(&tree, NODE "/node2/cpulist", "\n");
	fake_write(&tree, NODE "/node2/meminfo", "Node 2 MemTotal: 0 kB\n");
	scan_ok();
	ck_assert_uint_eq(inv->nr_cpus, 4);
	ck_assert_uint_eq(inv->cpus[2].id, 4);
	ck_assert_uint_eq(inv->cpus[2].package, INVENTORY_UNKNOWN);
	ck_assert_uint_eq(inv->cpus[2].thread, 1);
	ck_assert(!inv->cpus[1].online);
	ck_assert_uint_eq(inv->nr_nodes, 2);
	ck_assert_uint_eq(inv->nodes[1].id, 2);
	ck_assert_uint_eq(inv->nodes[1].mem_size, 0);
}
END_TEST

struct bad_file {
	const char *file;
	const char *text;
	size_t len; /* 0: strlen(text) */
	int errnum;
	const char *needle; /* NULL: the file's name */
};

static const struct bad_file bad_files[] = {
	{ CPU "/cpu2/topology/core_id", "abc\n", 0, EINVAL, NULL },
	{ CPU "/cpu2/topology/core_id", "", 0, EINVAL, NULL },
	{ CPU "/cpu2/topology/core_id", "\n", 0, EINVAL, NULL },
	{ CPU "/cpu2/topology/core_id", "99999999999999999999\n", 0, ERANGE, NULL },
	{ CPU "/cpu2/topology/core_id", "4294967295\n", 0, ERANGE, NULL },
	{ CPU "/cpu2/topology/core_id", "1 \n", 0, EINVAL, NULL },
	{ CPU "/cpu2/topology/core_id", "+1\n", 0, EINVAL, NULL },
	{ CPU "/cpu2/topology/core_id", "1\n\n", 0, EINVAL, NULL },
	{ CPU "/cpu2/topology/core_id", "0x1\n", 0, EINVAL, NULL },
	{ CPU "/cpu2/topology/core_id", "1\0", 2, EINVAL, NULL },
	{ CPU "/cpu2/topology/physical_package_id", "-2\n", 0, EINVAL, NULL },
	{ CPU "/cpu3/topology/thread_siblings_list", "2,6\n", 0, EINVAL, "itself" },
	{ CPU "/cpu3/topology/thread_siblings_list", "3,7-\n", 0, EINVAL, NULL },
	{ CPU "/online", "3-1\n", 0, EINVAL, NULL },
	{ CPU "/online", "0-3,\n", 0, EINVAL, NULL },
	{ CPU "/online", ",0-3\n", 0, EINVAL, NULL },
	{ CPU "/online", "0--3\n", 0, EINVAL, NULL },
	{ CPU "/online", "0 - 3\n", 0, EINVAL, NULL },
	{ CPU "/online", "0-4294967296\n", 0, ERANGE, NULL },
	{ CPU "/online", "0-99999\n", 0, ERANGE, NULL },
	{ CPU "/online", "0-8\n", 0, EINVAL, "cpu8 is not present" },
	{ CPU "/present", "", 0, EINVAL, "no CPUs" },
	{ CPU "/possible", "0-3\n", 0, EINVAL, "cpu4 is present but not possible" },
	{ NODE "/node1/cpulist", "1-3,6-7\n", 0, EINVAL, "cpu1 is also in node0" },
	{ NODE "/node1/cpulist", "x\n", 0, EINVAL, NULL },
	{ NODE "/node1/meminfo", "Node 0 MemTotal: 5 kB\n", 0, EINVAL, "no 'Node 1 MemTotal:'" },
	{ NODE "/node1/meminfo", "Node 1 MemTotal:  12 MB\n", 0, EINVAL, NULL },
	{ NODE "/node1/meminfo", "Node 1 MemTotal:\n", 0, EINVAL, NULL },
	{ "proc/meminfo", "MemFree: 5 kB\n", 0, EINVAL, "no 'MemTotal:'" },
	{ "proc/meminfo", "", 0, EINVAL, NULL },
	{ "proc/meminfo", "MemTotal: 18446744073709551615 kB\n", 0, ERANGE, NULL },
	{ "proc/meminfo", "MemTotal:5 kB\n", 0, EINVAL, NULL },
	{ "proc/meminfo", "MemTotal: 5 kB extra\n", 0, EINVAL, NULL },
	{ PCI "/0000:00:1f.2/vendor", "8086\n", 0, EINVAL, NULL },
	{ PCI "/0000:00:1f.2/vendor", "0x\n", 0, EINVAL, NULL },
	{ PCI "/0000:00:1f.2/vendor", "0x18086\n", 0, ERANGE, NULL },
	{ PCI "/0000:00:1f.2/device", "0xzz\n", 0, EINVAL, NULL },
	{ PCI "/0000:00:1f.2/class", "0x1000000\n", 0, ERANGE, NULL },
	{ PCI "/0000:00:1f.2/class", "0x0106010000\n", 0, EINVAL, NULL },
};

START_TEST(test_scan_refuses_malformed_files)
{
	for (unsigned int i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad_file *b = &bad_files[i];
		int ret;

		build_host(true, true);
		fake_write_len(&tree, b->file, b->text, b->len ? b->len : strlen(b->text));
		ret = inventory__scan(tree.root, inv, &err);
		ck_assert_msg(ret == -b->errnum, "case %u (%s = '%s'): expected -%d, got %d (%s)",
			      i, b->file, b->text, b->errnum, ret, err.msg);
		ck_assert_msg(strstr(err.msg, b->file), "case %u: '%s' does not name %s", i,
			      err.msg, b->file);
		if (b->needle)
			ck_assert_msg(strstr(err.msg, b->needle), "case %u: '%s' does not say '%s'",
				      i, err.msg, b->needle);
		ck_assert_uint_eq(inv->nr_cpus, 0);
	}
}
END_TEST

START_TEST(test_scan_refuses_missing_and_odd_files)
{
	char path[4096];

	build_host(true, true);
	fake_remove(&tree, CPU "/cpu5/topology/core_id");
	expect_scan_error(ENOENT, CPU "/cpu5/topology/core_id");

	build_host(true, true);
	fake_remove(&tree, NODE "/node1/meminfo");
	expect_scan_error(ENOENT, NODE "/node1/meminfo");

	build_host(true, true);
	fake_remove(&tree, PCI "/0000:03:00.0/class");
	expect_scan_error(ENOENT, PCI "/0000:03:00.0/class");

	build_host(true, true);
	fake_remove(&tree, CPU "/present");
	expect_scan_error(ENOENT, CPU "/present");

	build_host(true, true);
	fake_remove(&tree, "proc/meminfo");
	expect_scan_error(ENOENT, "proc/meminfo");

	/* A FIFO must not block the scan, a directory is not a file. */
	build_host(true, true);
	fake_remove(&tree, CPU "/cpu1/topology/core_id");
	ck_assert(
		!mkfifo(fake_path(&tree, CPU "/cpu1/topology/core_id", path, sizeof(path)), 0644));
	expect_scan_error(EINVAL, "not a regular file");
	fake_remove(&tree, CPU "/cpu1/topology/core_id");
	fake_mkdirs(&tree, CPU "/cpu1/topology/core_id", 1);
	expect_scan_error(EINVAL, CPU "/cpu1/topology/core_id");
}
END_TEST

START_TEST(test_scan_refuses_overlong_file)
{
	size_t len = 70000;
	char *text = malloc(len);

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < len; i += 2)
		memcpy(text + i, "0,", 2);
	build_host(true, false);
	fake_write_len(&tree, CPU "/online", text, len);
	expect_scan_error(EFBIG, CPU "/online");
	free(text);
}
END_TEST

START_TEST(test_scan_refuses_bad_pci_names)
{
	static const char *const bad[] = {
		"bogus",       "0000:00:1F.2",	"0000:00:20.0",	 "0000:00:1f.8",
		"0000:0:1f.2", "0000:00:1f.2x", "00000:00:1f.2", ":00:1f.2",
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char rel[128];

		build_host(false, true);
		snprintf(rel, sizeof(rel), PCI "/%s/vendor", bad[i]);
		fake_write(&tree, rel, "0x8086\n");
		expect_scan_error(EINVAL, bad[i]);
	}

	/* A domain above 0xffff is fine (VMD). */
	build_host(false, true);
	fake_write(&tree, PCI "/10000:e1:00.0/vendor", "0x144d\n");
	fake_write(&tree, PCI "/10000:e1:00.0/device", "0xa808\n");
	fake_write(&tree, PCI "/10000:e1:00.0/class", "0x010802\n");
	scan_ok();
	ck_assert_uint_eq(inv->nr_pci, 4);
	ck_assert_uint_eq(inv->pci[3].domain, 0x10000);
	ck_assert_uint_eq(inv->pci[3].bus, 0xe1);
}
END_TEST

START_TEST(test_scan_missing_root)
{
	char path[4096];

	fake_path(&tree, "nowhere", path, sizeof(path));
	ck_assert_int_eq(inventory__scan(path, inv, &err), -ENOENT);
	ck_assert_msg(strstr(err.msg, "nowhere"), "%s", err.msg);
}
END_TEST

START_TEST(test_scan_truncates_cpus_and_devices)
{
	build_host(false, false);
	/* 1100 CPUs without directories: the first 1024 are kept. */
	fake_write(&tree, CPU "/possible", "0-1099\n");
	fake_write(&tree, CPU "/present", "0-1099\n");
	fake_write(&tree, CPU "/online", "0-1099\n");
	scan_ok();
	ck_assert(inv->truncated);
	ck_assert_uint_eq(inv->nr_cpus, INVENTORY_MAX_CPUS);
	ck_assert_uint_eq(inv->cpus[INVENTORY_MAX_CPUS - 1].id, INVENTORY_MAX_CPUS - 1);

	/* 300 devices, made from the highest address down: the lowest 256 stay. */
	fake_write(&tree, CPU "/present", "0-7\n");
	fake_write(&tree, CPU "/online", "0-7\n");
	for (int i = 299; i >= 0; i--) {
		char rel[128];

		snprintf(rel, sizeof(rel), PCI "/0000:%02x:%02x.%x/vendor", i / 32, i % 32, 0);
		fake_write(&tree, rel, "0x1af4\n");
		snprintf(rel, sizeof(rel), PCI "/0000:%02x:%02x.%x/device", i / 32, i % 32, 0);
		fake_write(&tree, rel, "0x1000\n");
		snprintf(rel, sizeof(rel), PCI "/0000:%02x:%02x.%x/class", i / 32, i % 32, 0);
		fake_write(&tree, rel, "0x020000\n");
	}
	scan_ok();
	ck_assert(inv->truncated);
	ck_assert_uint_eq(inv->nr_pci, INVENTORY_MAX_PCI);
	for (unsigned int i = 0; i < INVENTORY_MAX_PCI; i++) {
		ck_assert_uint_eq(inv->pci[i].bus, i / 32);
		ck_assert_uint_eq(inv->pci[i].dev, i % 32);
	}
}
END_TEST

START_TEST(test_scan_truncates_nodes)
{
	build_host(false, false);
	for (unsigned int n = 0; n < 70; n++) {
		char text[64];

		snprintf(text, sizeof(text), "Node %u MemTotal: %u kB\n", n, n + 1);
		fake_writef(&tree, text, NODE "/node%u/meminfo", n);
		fake_writef(&tree, "\n", NODE "/node%u/cpulist", n);
	}
	fake_write(&tree, NODE "/node0/cpulist", "0-7\n");
	scan_ok();
	ck_assert(inv->truncated);
	ck_assert_uint_eq(inv->nr_nodes, INVENTORY_MAX_NODES);
	ck_assert_uint_eq(inv->nodes[63].id, 63);
	ck_assert_uint_eq(inv->nodes[63].mem_size, 64 * KiB);

	fake_write(&tree, NODE "/node1024/cpulist", "\n");
	expect_scan_error(ERANGE, "node1024");
}
END_TEST

START_TEST(test_scan_this_machine)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n_online = 0;

	ck_assert_msg(inventory__scan("", inv, &err) == 0, "%s", err.msg);
	ck_assert_uint_ge(inv->nr_cpus, 1);
	for (unsigned int i = 0; i < inv->nr_cpus; i++) {
		n_online += inv->cpus[i].online;
		if (inv->cpus[i].online) {
			ck_assert_uint_ne(inv->cpus[i].core, INVENTORY_UNKNOWN);
			ck_assert_uint_ne(inv->cpus[i].thread, INVENTORY_UNKNOWN);
			ck_assert_uint_ne(inv->cpus[i].node, INVENTORY_UNKNOWN);
		}
	}
	ck_assert_int_eq(n_online, online);
	ck_assert_uint_gt(inv->mem_total, 0);
	ck_assert_uint_ge(inv->nr_nodes, 1);

	ck_assert_msg(inventory__scan("/", inv, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(inv->cpus[0].id, 0);
}
END_TEST

/* ---- the device tree ---- */

static int node_at(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	ck_assert_msg(off >= 0, "%s: %s", path, fdt_strerror(off));
	return off;
}

static uint32_t prop_u32(const void *fdt, const char *path, const char *name)
{
	const void *v;
	fdt32_t cell;
	int len;

	v = fdt_getprop(fdt, node_at(fdt, path), name, &len);
	ck_assert_msg(v && len == 4, "%s %s: %d", path, name, len);
	memcpy(&cell, v, 4);
	return fdt32_to_cpu(cell);
}

/* Two cells, the high one first. */
static uint64_t prop_u64(const void *fdt, const char *path, const char *name)
{
	const unsigned char *v;
	uint64_t x = 0;
	int len;

	v = fdt_getprop(fdt, node_at(fdt, path), name, &len);
	ck_assert_msg(v && len == 8, "%s %s: %d", path, name, len);
	for (int i = 0; i < 8; i++)
		x = x << 8 | v[i];
	return x;
}

static const char *prop_str(const void *fdt, const char *path, const char *name)
{
	const char *v;
	int len;

	v = fdt_getprop(fdt, node_at(fdt, path), name, &len);
	ck_assert_msg(v && len > 0 && v[len - 1] == '\0' && strlen(v) == (size_t)len - 1, "%s %s",
		      path, name);
	return v;
}

static int count_subnodes(const void *fdt, const char *path)
{
	int n = 0, child;

	fdt_for_each_subnode(child, fdt, node_at(fdt, path))
	{
		n++;
	}
	return n;
}

static void test_alloc(struct inventory_alloc *alloc)
{
	memset(alloc, 0, sizeof(*alloc));
	alloc->generation = 7;
	alloc->mem_max = 6ull << 30;
	alloc->mem_granted = (4ull << 30) + 4096;
	alloc->mem_reserved = 1ull << 33;
	alloc->granule = 2ull << 20;
	alloc->vcpus_max = 4;
	alloc->vcpus_granted = 2;
	inventory__cpuset_set(&alloc->cpus, 1);
	inventory__cpuset_set(&alloc->cpus, 4);
}

/* The standard host's blob, malloc'd; its size in *@size. */
static void *standard_blob(const struct inventory_alloc *alloc, int *size)
{
	size_t cap;
	void *blob;

	build_host(true, true);
	scan_ok();
	cap = inventory__fdt_size_bound(inv);
	blob = malloc(cap);
	ck_assert_ptr_nonnull(blob);
	*size = inventory__to_fdt(inv, alloc, blob, cap, &err);
	ck_assert_msg(*size > 0, "%d %s", *size, err.msg);
	ck_assert_uint_le((size_t)*size, cap);
	ck_assert_int_eq(fdt_check_full(blob, (size_t)*size), 0);
	ck_assert_uint_eq(fdt_totalsize(blob), (uint32_t)*size);
	return blob;
}

START_TEST(test_fdt_round_trip)
{
	struct inventory_alloc alloc;
	void *fdt;
	int size;

	test_alloc(&alloc);
	fdt = standard_blob(&alloc, &size);

	ck_assert_str_eq(prop_str(fdt, "/", "compatible"), "accord,hardware-description");
	ck_assert_uint_eq(prop_u32(fdt, "/", "accord,generation"), 7);

	ck_assert_int_eq(count_subnodes(fdt, "/cpus"), 8);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus", "#address-cells"), 1);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus", "#size-cells"), 0);
	for (unsigned int i = 0; i < 8; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
		ck_assert_uint_eq(prop_u32(fdt, path, "reg"), i);
		ck_assert_uint_eq(prop_u32(fdt, path, "accord,package"), (i % 4) / 2);
		ck_assert_uint_eq(prop_u32(fdt, path, "accord,core"), i % 2);
		ck_assert_uint_eq(prop_u32(fdt, path, "accord,thread"), i / 4);
		ck_assert_uint_eq(prop_u32(fdt, path, "accord,numa-node"), (i % 4) / 2);
		ck_assert_uint_eq(prop_u32(fdt, path, "accord,online"), 1);
		ck_assert_uint_eq(prop_u32(fdt, path, "accord,allocated"), i == 1 || i == 4);
	}

	ck_assert_int_eq(count_subnodes(fdt, "/memory"), 2);
	ck_assert_uint_eq(prop_u64(fdt, "/memory", "accord,total"), 8388608 * KiB);
	ck_assert_uint_eq(prop_u32(fdt, "/memory/node@0", "reg"), 0);
	ck_assert_uint_eq(prop_u64(fdt, "/memory/node@0", "accord,size"), 4194304 * KiB);
	ck_assert_uint_eq(prop_u32(fdt, "/memory/node@1", "reg"), 1);
	ck_assert_uint_eq(prop_u64(fdt, "/memory/node@1", "accord,size"), 3145728 * KiB);

	ck_assert_int_eq(count_subnodes(fdt, "/pci"), 3);
	ck_assert_str_eq(prop_str(fdt, "/pci/device@0,0.0", "accord,bdf"), "0000:00:00.0");
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@0,0.0", "vendor-id"), 0x8086);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@0,0.0", "device-id"), 0x1237);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@0,0.0", "class-code"), 0x060000);
	ck_assert_str_eq(prop_str(fdt, "/pci/device@0,1f.2", "accord,bdf"), "0000:00:1f.2");
	ck_assert_uint_eq(prop_u64(fdt, "/pci/device@0,1f.2", "reg"), 0xfa);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@0,1f.2", "vendor-id"), 0x8086);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@0,1f.2", "device-id"), 0x2922);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@0,1f.2", "class-code"), 0x010601);
	ck_assert_str_eq(prop_str(fdt, "/pci/device@3,0.0", "accord,bdf"), "0000:03:00.0");
	ck_assert_uint_eq(prop_u64(fdt, "/pci/device@3,0.0", "reg"), 0x300);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@3,0.0", "vendor-id"), 0x1af4);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@3,0.0", "device-id"), 0x1041);
	ck_assert_uint_eq(prop_u32(fdt, "/pci/device@3,0.0", "class-code"), 0x020000);

	ck_assert_uint_eq(prop_u64(fdt, "/allocation", "accord,memory-max"), 6ull << 30);
	ck_assert_uint_eq(prop_u64(fdt, "/allocation", "accord,memory-granted"),
			  (4ull << 30) + 4096);
	ck_assert_uint_eq(prop_u64(fdt, "/allocation", "accord,memory-reserved"), 1ull << 33);
	ck_assert_uint_eq(prop_u32(fdt, "/allocation", "accord,vcpus-max"), 4);
	ck_assert_uint_eq(prop_u32(fdt, "/allocation", "accord,vcpus-granted"), 2);
	ck_assert_uint_eq(prop_u64(fdt, "/allocation", "accord,granule"), 2ull << 20);
	free(fdt);
}
END_TEST

START_TEST(test_fdt_unknown_values_and_domains)
{
	struct inventory_alloc alloc;
	void *fdt;
	int size;

	build_host(true, true);
	fake_write(&tree, CPU "/online", "0-6\n");
	fake_remove(&tree, CPU "/cpu7");
	fake_write(&tree, NODE "/node1/cpulist", "2-3,6\n");
	fake_write(&tree, PCI "/10000:e1:00.0/vendor", "0x144d\n");
	fake_write(&tree, PCI "/10000:e1:00.0/device", "0xa808\n");
	fake_write(&tree, PCI "/10000:e1:00.0/class", "0x010802\n");
	scan_ok();
	memset(&alloc, 0, sizeof(alloc));
	fdt = malloc(inventory__fdt_size_bound(inv));
	size = inventory__to_fdt(inv, &alloc, fdt, inventory__fdt_size_bound(inv), &err);
	ck_assert_msg(size > 0, "%s", err.msg);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus/cpu@7", "accord,online"), 0);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus/cpu@7", "accord,package"), INVENTORY_UNKNOWN);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus/cpu@7", "accord,numa-node"), INVENTORY_UNKNOWN);
	ck_assert_uint_eq(prop_u32(fdt, "/cpus/cpu@7", "accord,allocated"), 0);
	ck_assert_str_eq(prop_str(fdt, "/pci/device@10000,e1,0.0", "accord,bdf"), "10000:e1:00.0");
	ck_assert_uint_eq(prop_u64(fdt, "/pci/device@10000,e1,0.0", "reg"),
			  0x10000ull << 32 | 0xe100);
	free(fdt);
}
END_TEST

START_TEST(test_fdt_allocated_from_affinity)
{
	struct inventory_alloc alloc;
	size_t setsize = CPU_ALLOC_SIZE(2048);
	cpu_set_t *mask = CPU_ALLOC(2048);
	void *fdt;
	int size;

	ck_assert_ptr_nonnull(mask);
	CPU_ZERO_S(setsize, mask);
	CPU_SET_S(0, setsize, mask);
	CPU_SET_S(5, setsize, mask);
	CPU_SET_S(2000, setsize, mask);
	memset(&alloc, 0, sizeof(alloc));
	inventory__cpuset_from_affinity(&alloc.cpus, mask, setsize);
	CPU_FREE(mask);
	ck_assert(inventory__cpuset_test(&alloc.cpus, 2000));
	ck_assert(!inventory__cpuset_test(&alloc.cpus, 1));
	ck_assert(!inventory__cpuset_test(&alloc.cpus, INVENTORY_CPU_ID_LIMIT));

	fdt = standard_blob(&alloc, &size);
	for (unsigned int i = 0; i < 8; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
		ck_assert_uint_eq(prop_u32(fdt, path, "accord,allocated"), i == 0 || i == 5);
	}
	free(fdt);
}
END_TEST

START_TEST(test_fdt_buffer_too_small)
{
	struct inventory_alloc alloc;
	unsigned char *buf;
	void *fdt;
	int size;

	test_alloc(&alloc);
	fdt = standard_blob(&alloc, &size);
	buf = malloc((size_t)size);
	for (int cap = 0; cap < size; cap++) {
		int ret = inventory__to_fdt(inv, &alloc, buf, (size_t)cap, &err);

		ck_assert_msg(ret == -ENOSPC, "cap %d: %d", cap, ret);
	}
	ck_assert_msg(strstr(err.msg, "not enough"), "%s", err.msg);
	ck_assert_int_eq(inventory__to_fdt(inv, &alloc, buf, (size_t)size, &err), size);
	ck_assert_mem_eq(buf, fdt, (size_t)size);
	free(buf);
	free(fdt);
}
END_TEST

START_TEST(test_fdt_size_bound_holds_when_full)
{
	struct inventory_alloc alloc;
	size_t cap;
	void *fdt;
	int size;

	memset(inv, 0, sizeof(*inv));
	memset(&alloc, 0xff, sizeof(alloc));
	inv->mem_total = UINT64_MAX;
	inv->nr_cpus = INVENTORY_MAX_CPUS;
	for (unsigned int i = 0; i < INVENTORY_MAX_CPUS; i++)
		inv->cpus[i] = (struct inventory_cpu){ INVENTORY_CPU_ID_LIMIT - 1 - i,
						       UINT32_MAX,
						       UINT32_MAX,
						       UINT32_MAX,
						       UINT32_MAX,
						       true };
	inv->nr_nodes = INVENTORY_MAX_NODES;
	for (unsigned int i = 0; i < INVENTORY_MAX_NODES; i++)
		inv->nodes[i] =
			(struct inventory_node){ INVENTORY_NODE_ID_LIMIT - 1 - i, UINT64_MAX };
	inv->nr_pci = INVENTORY_MAX_PCI;
	for (unsigned int i = 0; i < INVENTORY_MAX_PCI; i++)
		inv->pci[i] = (struct inventory_pci){ UINT32_MAX - i, 0xff,   0x1f,    7,
						      0xffff,	      0xffff, 0xffffff };
	cap = inventory__fdt_size_bound(inv);
	fdt = malloc(cap);
	size = inventory__to_fdt(inv, &alloc, fdt, cap, &err);
	ck_assert_msg(size > 0, "bound %zu: %s", cap, err.msg);
	ck_assert_int_eq(fdt_check_full(fdt, (size_t)size), 0);
	/* The bound is close, not wildly generous. */
	ck_assert_uint_le(cap, (size_t)size + (size_t)size / 4);
	free(fdt);
}
END_TEST

/* ---- DTS, checked against dtc ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void spill(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert(f);
	ck_assert(fwrite(data, 1, len, f) == len);
	fclose(f);
}

/* Run a shell command; its stderr must be empty (dtc warnings count as failures). */
static void run_clean(const char *cmd, const char *errfile)
{
	char full[8192];
	char *errtext;
	int st;

	snprintf(full, sizeof(full), "%s 2>%s", cmd, errfile);
	st = system(full);
	errtext = slurp(errfile, NULL);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "'%s' failed: %s", cmd,
		      errtext);
	ck_assert_msg(!*errtext, "'%s' complained: %s", cmd, errtext);
	free(errtext);
}

/* Two device trees with the same nodes and properties in the same order. */
static void assert_fdt_equal(const void *a, int na, const void *b, int nb)
{
	int pa, pb, ca, cb;

	ck_assert_str_eq(fdt_get_name(a, na, NULL), fdt_get_name(b, nb, NULL));
	pa = fdt_first_property_offset(a, na);
	pb = fdt_first_property_offset(b, nb);
	while (pa >= 0 && pb >= 0) {
		const char *name_a, *name_b;
		const void *va, *vb;
		int la, lb;

		va = fdt_getprop_by_offset(a, pa, &name_a, &la);
		vb = fdt_getprop_by_offset(b, pb, &name_b, &lb);
		ck_assert_str_eq(name_a, name_b);
		ck_assert_int_eq(la, lb);
		ck_assert_mem_eq(va, vb, (size_t)la);
		pa = fdt_next_property_offset(a, pa);
		pb = fdt_next_property_offset(b, pb);
	}
	ck_assert_int_eq(pa, pb);
	ca = fdt_first_subnode(a, na);
	cb = fdt_first_subnode(b, nb);
	while (ca >= 0 && cb >= 0) {
		assert_fdt_equal(a, ca, b, cb);
		ca = fdt_next_subnode(a, ca);
		cb = fdt_next_subnode(b, cb);
	}
	ck_assert_int_eq(ca, cb);
}

START_TEST(test_dts_matches_dtc_and_parses_back)
{
	char dtb[512], ours[512], theirs[512], back[512], errf[512], cmd[2048];
	struct inventory_alloc alloc;
	char *ours_text, *theirs_text;
	void *fdt, *back_fdt;
	FILE *f;
	int size;

	test_alloc(&alloc);
	fdt = standard_blob(&alloc, &size);
	fake_path(&tree, "inv.dtb", dtb, sizeof(dtb));
	fake_path(&tree, "ours.dts", ours, sizeof(ours));
	fake_path(&tree, "theirs.dts", theirs, sizeof(theirs));
	fake_path(&tree, "back.dtb", back, sizeof(back));
	fake_path(&tree, "dtc.err", errf, sizeof(errf));
	spill(dtb, fdt, (size_t)size);

	/* dtc reads the blob without a warning. */
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o %s %s", theirs, dtb);
	run_clean(cmd, errf);

	/* Our DTS is what dtc prints... */
	f = fopen(ours, "w");
	ck_assert(f);
	ck_assert_int_eq(inventory__print_dts(f, fdt, (size_t)size), 0);
	fclose(f);
	ours_text = slurp(ours, NULL);
	theirs_text = slurp(theirs, NULL);
	ck_assert_str_eq(ours_text, theirs_text);
	ck_assert(strstr(ours_text, "accord,bdf = \"0000:00:1f.2\";"));
	ck_assert(strstr(ours_text, "\t\tcpu@4 {\n"));

	/* ... and compiles back to the same tree. */
	snprintf(cmd, sizeof(cmd), "dtc -I dts -O dtb -o %s %s", back, ours);
	run_clean(cmd, errf);
	back_fdt = slurp(back, NULL);
	ck_assert_int_eq(fdt_check_header(back_fdt), 0);
	assert_fdt_equal(fdt, 0, back_fdt, 0);

	free(back_fdt);
	free(ours_text);
	free(theirs_text);
	free(fdt);
}
END_TEST

START_TEST(test_dts_values_and_garbage)
{
	static char blob[1024];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	/* Empty, bytes, cells and string lists, printed as dtc does. */
	ck_assert_int_eq(fdt_create(blob, sizeof(blob)), 0);
	ck_assert_int_eq(fdt_finish_reservemap(blob), 0);
	ck_assert_int_eq(fdt_begin_node(blob, ""), 0);
	ck_assert_int_eq(fdt_property(blob, "empty", NULL, 0), 0);
	ck_assert_int_eq(fdt_property(blob, "bytes", "\x01\x02\xff", 3), 0);
	ck_assert_int_eq(fdt_property(blob, "list", "a\0b\"c\\\0", 7), 0);
	ck_assert_int_eq(fdt_property(blob, "notstr", "ab\0\0", 4), 0);
	ck_assert_int_eq(fdt_end_node(blob), 0);
	ck_assert_int_eq(fdt_finish(blob), 0);
	f = open_memstream(&text, &len);
	ck_assert_int_eq(inventory__print_dts(f, blob, sizeof(blob)), 0);
	fclose(f);
	ck_assert_str_eq(text, "/dts-v1/;\n\n/ {\n\tempty;\n\tbytes = [01 02 ff];\n"
			       "\tlist = \"a\", \"b\\\"c\\\\\";\n\tnotstr = <0x61620000>;\n};\n");
	free(text);

	/* Not a device tree. */
	memset(blob, 0x5a, sizeof(blob));
	f = open_memstream(&text, &len);
	ck_assert_int_eq(inventory__print_dts(f, blob, sizeof(blob)), -EINVAL);
	ck_assert_int_eq(inventory__print_dts(f, blob, 8), -EINVAL);
	fclose(f);
	free(text);
}
END_TEST

/* ---- JSON ---- */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s'", key);
	return v;
}

START_TEST(test_json_contents)
{
	struct json_object *o, *cpus, *cpu, *mem, *nodes, *pci, *a, *parsed;
	struct inventory_alloc alloc;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	build_host(true, true);
	fake_write(&tree, CPU "/online", "0-6\n");
	fake_remove(&tree, CPU "/cpu7");
	fake_write(&tree, NODE "/node1/cpulist", "2-3,6\n");
	scan_ok();
	test_alloc(&alloc);
	o = inventory__to_json(inv, &alloc);
	ck_assert_ptr_nonnull(o);

	ck_assert_int_eq(json_object_get_int(get(o, "generation")), 7);
	ck_assert(!json_object_get_boolean(get(o, "truncated")));
	cpus = get(o, "cpus");
	ck_assert_uint_eq(json_object_array_length(cpus), 8);
	cpu = json_object_array_get_idx(cpus, 6);
	ck_assert_int_eq(json_object_get_int(get(cpu, "id")), 6);
	ck_assert_int_eq(json_object_get_int(get(cpu, "package")), 1);
	ck_assert_int_eq(json_object_get_int(get(cpu, "core")), 0);
	ck_assert_int_eq(json_object_get_int(get(cpu, "thread")), 1);
	ck_assert_int_eq(json_object_get_int(get(cpu, "numa-node")), 1);
	ck_assert(json_object_get_boolean(get(cpu, "online")));
	ck_assert(!json_object_get_boolean(get(cpu, "allocated")));
	cpu = json_object_array_get_idx(cpus, 4);
	ck_assert(json_object_get_boolean(get(cpu, "allocated")));
	cpu = json_object_array_get_idx(cpus, 7);
	ck_assert_ptr_null(get(cpu, "package"));
	ck_assert_ptr_null(get(cpu, "numa-node"));
	ck_assert(!json_object_get_boolean(get(cpu, "online")));

	mem = get(o, "memory");
	ck_assert_uint_eq(json_object_get_uint64(get(mem, "total")), 8388608 * KiB);
	nodes = get(mem, "nodes");
	ck_assert_uint_eq(json_object_array_length(nodes), 2);
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(nodes, 1), "id")), 1);
	ck_assert_uint_eq(json_object_get_uint64(get(json_object_array_get_idx(nodes, 1), "size")),
			  3145728 * KiB);

	pci = get(o, "pci");
	ck_assert_uint_eq(json_object_array_length(pci), 3);
	ck_assert_str_eq(json_object_get_string(get(json_object_array_get_idx(pci, 1), "bdf")),
			 "0000:00:1f.2");
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(pci, 1), "vendor-id")),
			 0x8086);
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(pci, 2), "device-id")),
			 0x1041);
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(pci, 0), "class-code")),
			 0x060000);

	a = get(o, "allocation");
	ck_assert_uint_eq(json_object_get_uint64(get(a, "memory-max")), 6ull << 30);
	ck_assert_uint_eq(json_object_get_uint64(get(a, "memory-granted")), (4ull << 30) + 4096);
	ck_assert_uint_eq(json_object_get_uint64(get(a, "memory-reserved")), 1ull << 33);
	ck_assert_int_eq(json_object_get_int(get(a, "vcpus-max")), 4);
	ck_assert_int_eq(json_object_get_int(get(a, "vcpus-granted")), 2);
	ck_assert_uint_eq(json_object_get_uint64(get(a, "granule")), 2ull << 20);

	/* The printer writes the same object. */
	f = open_memstream(&text, &len);
	ck_assert_int_eq(inventory__print_json(f, inv, &alloc), 0);
	fclose(f);
	ck_assert(len > 0 && text[len - 1] == '\n');
	parsed = json_tokener_parse(text);
	ck_assert_ptr_nonnull(parsed);
	ck_assert(json_object_equal(parsed, o));
	json_object_put(parsed);
	json_object_put(o);
	free(text);
}
END_TEST

START_TEST(test_print_host_formats)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	build_host(true, true);
	f = open_memstream(&text, &len);
	ck_assert_msg(inventory__print_host(f, tree.root, INVENTORY_FORMAT_DTS, &err) == 0, "%s",
		      err.msg);
	fclose(f);
	ck_assert(!strncmp(text, "/dts-v1/;\n", 10));
	ck_assert(strstr(text, "accord,memory-max = <0x02 0x00>;"));
	ck_assert(strstr(text, "accord,memory-granted = <0x00 0x00>;"));
	ck_assert(strstr(text, "accord,vcpus-max = <0x08>;"));
	ck_assert(strstr(text, "accord,granule = <0x00 0x200000>;"));
	ck_assert(!strstr(text, "accord,allocated = <0x01>"));
	free(text);

	f = open_memstream(&text, &len);
	ck_assert_msg(inventory__print_host(f, tree.root, INVENTORY_FORMAT_JSON, &err) == 0, "%s",
		      err.msg);
	fclose(f);
	ck_assert(strstr(text, "\"vcpus-max\": 8"));
	ck_assert(strstr(text, "\"bdf\": \"0000:03:00.0\""));
	free(text);

	fake_remove(&tree, "proc/meminfo");
	f = open_memstream(&text, &len);
	ck_assert_int_eq(inventory__print_host(f, tree.root, INVENTORY_FORMAT_JSON, &err), -ENOENT);
	fclose(f);
	ck_assert(strstr(err.msg, "proc/meminfo"));
	free(text);
}
END_TEST

Suite *inventory_suite(void)
{
	Suite *s = suite_create("inventory");
	TCase *tc = tcase_create("scan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_scan_two_packages_two_nodes_three_devices);
	tcase_add_test(tc, test_scan_without_node_dir_is_one_node);
	tcase_add_test(tc, test_scan_offline_cpu_without_topology);
	tcase_add_test(tc, test_scan_sparse_ids_and_unknown_package);
	tcase_add_test(tc, test_scan_refuses_malformed_files);
	tcase_add_test(tc, test_scan_refuses_missing_and_odd_files);
	tcase_add_test(tc, test_scan_refuses_overlong_file);
	tcase_add_test(tc, test_scan_refuses_bad_pci_names);
	tcase_add_test(tc, test_scan_missing_root);
	tcase_add_test(tc, test_scan_truncates_cpus_and_devices);
	tcase_add_test(tc, test_scan_truncates_nodes);
	tcase_add_test(tc, test_scan_this_machine);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdt");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_fdt_round_trip);
	tcase_add_test(tc, test_fdt_unknown_values_and_domains);
	tcase_add_test(tc, test_fdt_allocated_from_affinity);
	tcase_add_test(tc, test_fdt_buffer_too_small);
	tcase_add_test(tc, test_fdt_size_bound_holds_when_full);
	tcase_add_test(tc, test_dts_matches_dtc_and_parses_back);
	tcase_add_test(tc, test_dts_values_and_garbage);
	tcase_add_test(tc, test_json_contents);
	tcase_add_test(tc, test_print_host_formats);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(inventory_suite());
	int failed;

	srunner_add_suite(sr, share_suite());
	srunner_add_suite(sr, sandbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
