/* SPDX-License-Identifier: MIT */
/* ELF64 x86-64 kernels (vmlinux and the probe): parse, find the PVH note, load. */
#ifndef ACCORD_ELF_KERNEL_H
#define ACCORD_ELF_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/error.h"
#include "accord/guest_mem.h"

#define ELF_MAX_LOAD 16

struct elf_segment {
	uint64_t offset;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
};

struct elf_kernel {
	uint64_t entry;
	bool has_pvh;
	uint32_t pvh_entry;
	unsigned int nr_segs;
	struct elf_segment segs[ELF_MAX_LOAD];
	uint64_t lowest;  /* lowest paddr of any segment */
	uint64_t highest; /* end of the highest segment */
};

bool elf__is_elf(const uint8_t *buf, size_t len);
int elf__parse(const uint8_t *buf, size_t len, struct elf_kernel *k, struct acc_err *err);
/* Copy the segments into guest RAM; every byte must land in RAM above 1 MiB. */
int elf__load(const uint8_t *buf, const struct elf_kernel *k, const struct guest_mem *m,
	      struct acc_err *err);

#endif
