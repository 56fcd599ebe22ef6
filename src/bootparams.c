// SPDX-License-Identifier: MIT
#include <string.h>

#include "accord/bootparams.h"

void bootparams__build(struct boot_params *bp, const void *hdr, size_t hdr_len,
		       const struct boot_args *args)
{
	struct setup_header *h = &bp->hdr;
	unsigned int n = args->e820->nr;

	memset(bp, 0, sizeof(*bp));
	if (hdr) {
		if (hdr_len > sizeof(*h))
			hdr_len = sizeof(*h);
		memcpy(h, hdr, hdr_len);
	} else {
		/* An ELF kernel has no header of its own; say what a bzImage would. */
		h->boot_flag = BOOT_FLAG_MAGIC;
		h->header = BOOT_HDR_MAGIC;
		h->version = 0x020f;
		h->kernel_alignment = 0x1000000;
	}
	h->type_of_loader = BOOT_LOADER_UNDEFINED;
	h->loadflags |= CAN_USE_HEAP;
	h->heap_end_ptr = 0xfe00;
	h->cmd_line_ptr = (uint32_t)args->cmdline_gpa;
	bp->ext_cmd_line_ptr = (uint32_t)(args->cmdline_gpa >> 32);
	if (args->initrd_size) {
		h->ramdisk_image = (uint32_t)args->initrd_gpa;
		h->ramdisk_size = (uint32_t)args->initrd_size;
		bp->ext_ramdisk_image = (uint32_t)(args->initrd_gpa >> 32);
		bp->ext_ramdisk_size = (uint32_t)(args->initrd_size >> 32);
	}
	if (n > E820_MAX_ENTRIES_ZEROPAGE)
		n = E820_MAX_ENTRIES_ZEROPAGE;
	for (unsigned int i = 0; i < n; i++) {
		bp->e820_table[i].addr = args->e820->r[i].addr;
		bp->e820_table[i].size = args->e820->r[i].size;
		bp->e820_table[i].type = args->e820->r[i].type;
	}
	bp->e820_entries = (uint8_t)n;
}
