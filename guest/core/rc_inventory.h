/* SPDX-License-Identifier: MIT */
/*
 * guest/core inventory: accord's hardware description (a flattened device
 * tree, schema in guest/core/README.md) parsed into fixed-capacity structs.
 * When the tree lists more CPUs, memory nodes or PCI devices than fit, the
 * first ones are kept, the *_found counters still count all of them, and
 * truncated is set.
 */
#ifndef ACCORD_GUEST_CORE_RC_INVENTORY_H
#define ACCORD_GUEST_CORE_RC_INVENTORY_H

#include "rc_types.h"

#define RC_INV_COMPATIBLE "accord,hardware-description"
/* The host's own limits (docs/inventory.md): 1024 CPUs, 64 NUMA nodes, 256 PCI devices. */
#define RC_INV_MAX_CPUS	     1024
#define RC_INV_MAX_MEM_NODES 64
#define RC_INV_MAX_PCI	     256

struct rc_inv_cpu {
	uint32_t host_id; /* reg */
	uint32_t package;
	uint32_t core;
	uint32_t thread;
	uint32_t numa_node;
	bool online;
	bool allocated;
};

struct rc_inv_mem_node {
	uint32_t id; /* reg */
	uint64_t size;
};

struct rc_inv_pci {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev; /* 0..31 */
	uint8_t fn;  /* 0..7 */
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code; /* 24 bits */
};

struct rc_inv_alloc {
	uint64_t memory_max;
	uint64_t memory_granted;  /* <= memory_max */
	uint64_t memory_reserved; /* <= memory_max */
	uint64_t granule;	  /* a power of two */
	uint32_t vcpus_max;
	uint32_t vcpus_granted; /* <= vcpus_max */
};

/* About 29 KiB: allocate it (kmalloc/vmalloc in the kernel), never on a stack. */
struct rc_inventory {
	uint32_t generation;
	bool truncated;

	uint32_t nr_cpus;    /* stored in cpus[] */
	uint32_t cpus_found; /* in the tree; the counts below cover all of them */
	uint32_t cpus_online;
	uint32_t cpus_allocated;
	struct rc_inv_cpu cpus[RC_INV_MAX_CPUS];

	bool has_memory; /* the memory node is optional */
	uint64_t mem_total;
	uint32_t nr_mem_nodes;
	uint32_t mem_nodes_found;
	struct rc_inv_mem_node mem_nodes[RC_INV_MAX_MEM_NODES];

	uint32_t nr_pci;
	uint32_t pci_found;
	struct rc_inv_pci pci[RC_INV_MAX_PCI];

	struct rc_inv_alloc alloc;
};

/*
 * Check the blob (rc_fdt_init) and parse it. Errors: anything rc_fdt_init
 * returns; RC_EUNSUPPORTED when the root is not compatible with
 * RC_INV_COMPATIBLE; RC_ENOENT when a required node or property is missing
 * (the allocation node, a cpu's reg, ...); RC_EMALFORMED for a property of
 * the wrong size or a bad "accord,bdf"; RC_ERANGE for values out of range
 * (a flag other than 0/1, granted above max, a granule not a power of two).
 * On error *inv is unspecified.
 */
int rc_inventory_parse(struct rc_inventory *inv, const void *blob, size_t len);

#endif /* ACCORD_GUEST_CORE_RC_INVENTORY_H */
