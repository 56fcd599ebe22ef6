/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading: puts a bzImage or ELF kernel, its initrd and command line
 * into guest RAM along with the memory map, MP table and boot tables, and
 * says where and how the boot vCPU starts.
 */
#ifndef ACCORD_LOADER_H
#define ACCORD_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "accord/cpu.h"
#include "accord/error.h"
#include "accord/guest_mem.h"

struct boot_image {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* NULL: none */
	size_t initrd_len;
	const char *cmdline;
	unsigned int ncpus;
	const char *kernel_name; /* for messages about the kernel; may be NULL */
};

int loader__load_image(const struct guest_mem *m, const struct boot_image *img,
		       struct boot_entry *entry, struct acc_err *err);

/* The same from files; messages name the file ("kernel 'x': ..."). */
int loader__load_files(const struct guest_mem *m, const char *kernel_path, const char *initrd_path,
		       const char *cmdline, unsigned int ncpus, struct boot_entry *entry,
		       struct acc_err *err);

#endif
