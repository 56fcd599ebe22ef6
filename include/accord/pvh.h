/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot ABI (Xen's hvm_start_info, version 1): a kernel with a
 * XEN_ELFNOTE_PHYS32_ENTRY note is entered in 32-bit protected mode with
 * EBX pointing at this structure.
 */
#ifndef ACCORD_PVH_H
#define ACCORD_PVH_H

#include <stdint.h>

#include "accord/e820.h"
#include "accord/guest_mem.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

struct boot_args {
	uint64_t cmdline_gpa; /* 0: none */
	uint64_t initrd_gpa;
	uint64_t initrd_size; /* 0: none */
	const struct e820_map *e820;
};

/* Write start info, module list and memory map at @gpa; returns -EFAULT/-ENOSPC. */
int pvh__write_start_info(const struct guest_mem *m, uint64_t gpa, uint64_t end,
			  const struct boot_args *args);

#endif
