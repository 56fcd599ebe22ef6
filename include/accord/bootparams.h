/* SPDX-License-Identifier: MIT */
/* The Linux x86 "zero page" (struct boot_params) for the 64-bit boot protocol. */
#ifndef ACCORD_BOOTPARAMS_H
#define ACCORD_BOOTPARAMS_H

#include <stddef.h>
#include <asm/bootparam.h>

#include "accord/pvh.h"

#define BOOT_HDR_MAGIC	      0x53726448u /* "HdrS" */
#define BOOT_FLAG_MAGIC	      0xaa55
#define BOOT_LOADER_UNDEFINED 0xff
#define BOOT_HDR_OFFSET	      0x1f1

/*
 * Fill @bp for a kernel whose setup header is @hdr (@hdr_len bytes as the
 * image declares it), or for an ELF kernel when @hdr is NULL.
 */
void bootparams__build(struct boot_params *bp, const void *hdr, size_t hdr_len,
		       const struct boot_args *args);

#endif
