// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "accord/pvh.h"

int pvh__write_start_info(const struct guest_mem *m, uint64_t gpa, uint64_t end,
			  const struct boot_args *args)
{
	uint64_t mod_gpa = gpa + sizeof(struct hvm_start_info);
	uint64_t map_gpa = mod_gpa + sizeof(struct hvm_modlist_entry);
	uint64_t map_len = args->e820->nr * sizeof(struct hvm_memmap_table_entry);
	struct hvm_memmap_table_entry *map;
	struct hvm_modlist_entry *mod;
	struct hvm_start_info *si;

	if (map_gpa + map_len > end)
		return -ENOSPC;
	si = guest_mem__ptr(m, gpa, end - gpa);
	if (!si)
		return -EFAULT;
	memset(si, 0, end - gpa);
	mod = (struct hvm_modlist_entry *)(si + 1);
	map = (struct hvm_memmap_table_entry *)(mod + 1);

	si->magic = HVM_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = args->cmdline_gpa;
	if (args->initrd_size) {
		mod->paddr = args->initrd_gpa;
		mod->size = args->initrd_size;
		si->nr_modules = 1;
		si->modlist_paddr = mod_gpa;
	}
	for (unsigned int i = 0; i < args->e820->nr; i++) {
		map[i].addr = args->e820->r[i].addr;
		map[i].size = args->e820->r[i].size;
		map[i].type = args->e820->r[i].type;
	}
	si->memmap_paddr = map_gpa;
	si->memmap_entries = args->e820->nr;
	return 0;
}
