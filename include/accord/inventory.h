/* SPDX-License-Identifier: MIT */
/*
 * The host's hardware inventory: CPUs with their topology and NUMA node,
 * NUMA nodes with their memory, PCI devices. Read from sysfs and procfs
 * (every file is untrusted text: bounded reads, strict parsing), encoded as
 * the flattened device tree the guest reads through the virtio-resource
 * device, and printed as DTS or JSON. docs/inventory.md describes the
 * schema.
 */
#ifndef ACCORD_INVENTORY_H
#define ACCORD_INVENTORY_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "accord/error.h"

/* What one inventory holds; more is dropped (highest ids first) and flagged. */
#define INVENTORY_MAX_CPUS  1024
#define INVENTORY_MAX_NODES 64
#define INVENTORY_MAX_PCI   256

/* Host CPU ids and NUMA node ids must be below these (Linux's own maxima). */
#define INVENTORY_CPU_ID_LIMIT	8192
#define INVENTORY_NODE_ID_LIMIT 1024

/* "ffffffff:ff:1f.7" and its NUL fit. */
#define INVENTORY_BDF_MAX 24

/* A topology value the host does not report (an offline CPU has none). */
#define INVENTORY_UNKNOWN 0xffffffffu

/* The allocation granule `accord inventory` shows; a VM's device sets its own. */
#define INVENTORY_DEFAULT_GRANULE (2ull << 20)

/* A set of host CPU ids. */
struct inventory_cpuset {
	uint64_t bits[INVENTORY_CPU_ID_LIMIT / 64];
};

struct inventory_cpu {
	uint32_t id;	  /* the host's CPU number */
	uint32_t package; /* physical_package_id, or INVENTORY_UNKNOWN */
	uint32_t core;	  /* core_id, or INVENTORY_UNKNOWN */
	uint32_t thread;  /* index in its core's thread_siblings_list, or INVENTORY_UNKNOWN */
	uint32_t node;	  /* NUMA node, or INVENTORY_UNKNOWN */
	bool online;
};

struct inventory_node {
	uint32_t id;
	uint64_t mem_size; /* bytes */
};

struct inventory_pci {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
	uint16_t vendor;
	uint16_t device;
	uint32_t class_code; /* base class, subclass, programming interface */
};

struct host_inventory {
	uint64_t mem_total; /* bytes, /proc/meminfo MemTotal */
	unsigned int nr_cpus;
	unsigned int nr_nodes;
	unsigned int nr_pci;
	bool truncated;					  /* more CPUs, nodes or devices than fit */
	struct inventory_cpu cpus[INVENTORY_MAX_CPUS];	  /* present CPUs, by id */
	struct inventory_node nodes[INVENTORY_MAX_NODES]; /* by id */
	struct inventory_pci pci[INVENTORY_MAX_PCI];	  /* by domain, bus, device, function */
};

/* One VM's share of the host, as the guest is told. */
struct inventory_alloc {
	uint32_t generation;
	uint64_t mem_max;
	uint64_t mem_granted;
	uint64_t mem_reserved;
	uint64_t granule;
	uint32_t vcpus_max;
	uint32_t vcpus_granted;
	struct inventory_cpuset cpus; /* host CPUs this VM may run on */
};

struct virtio_resource_config;

/* @alloc as the device's config space states it (no CPUs set). */
void inventory__alloc_from_config(struct inventory_alloc *alloc,
				  const struct virtio_resource_config *cfg);

enum inventory_format {
	INVENTORY_FORMAT_DTS,
	INVENTORY_FORMAT_JSON,
};

/*
 * Read the inventory of the host whose root directory is @sysroot ("" or
 * "/" for this machine; tests build fake trees). Returns 0, or -errno with
 * @err naming the file that could not be read or parsed.
 */
int inventory__scan(const char *sysroot, struct host_inventory *inv, struct acc_err *err);

/* An allocation of the host's totals with nothing granted (`accord inventory`). */
void inventory__host_alloc(const struct host_inventory *inv, struct inventory_alloc *alloc);

/* Bytes that are always enough for inventory__to_fdt() of @inv. */
size_t inventory__fdt_size_bound(const struct host_inventory *inv);

/*
 * Encode @inv and @alloc as a flattened device tree in @buf. Returns the
 * blob's size, or -ENOSPC (with @err) when @cap is too small.
 */
int inventory__to_fdt(const struct host_inventory *inv, const struct inventory_alloc *alloc,
		      void *buf, size_t cap, struct acc_err *err);

/* Print the blob (@size bytes available at @blob) as DTS source. 0 or -errno. */
int inventory__print_dts(FILE *f, const void *blob, size_t size);

/* The inventory as a JSON object (the caller puts it), or NULL without memory. */
struct json_object *inventory__to_json(const struct host_inventory *inv,
				       const struct inventory_alloc *alloc);

/* Print inventory__to_json() pretty-printed, with a final newline. 0 or -errno. */
int inventory__print_json(FILE *f, const struct host_inventory *inv,
			  const struct inventory_alloc *alloc);

/* `accord inventory`: scan @sysroot and print it with inventory__host_alloc(). */
int inventory__print_host(FILE *f, const char *sysroot, enum inventory_format format,
			  struct acc_err *err);

/* The kernel's name for a PCI device: "0000:00:1f.2". */
void inventory__pci_bdf(const struct inventory_pci *d, char buf[INVENTORY_BDF_MAX]);

void inventory__cpuset_zero(struct inventory_cpuset *set);
void inventory__cpuset_set(struct inventory_cpuset *set, unsigned int cpu);
bool inventory__cpuset_test(const struct inventory_cpuset *set, unsigned int cpu);
/* From a sched_getaffinity() mask of @setsize bytes (CPU_ALLOC_SIZE). */
void inventory__cpuset_from_affinity(struct inventory_cpuset *set, const cpu_set_t *mask,
				     size_t setsize);

#endif
