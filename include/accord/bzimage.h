/* SPDX-License-Identifier: MIT */
/* bzImage kernels, booted through the Linux 64-bit boot protocol. */
#ifndef ACCORD_BZIMAGE_H
#define ACCORD_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/error.h"

#define BZIMAGE_MIN_VERSION 0x020c /* 2.12: xloadflags and the 64-bit entry */
#define BZIMAGE_ENTRY64	    0x200  /* startup_64 is 512 bytes into the payload */
#define BZIMAGE_LOAD_ADDR   0x100000ull

struct bzimage {
	const uint8_t *hdr; /* the setup header, at file offset 0x1f1 */
	size_t hdr_len;
	uint16_t version;
	const uint8_t *payload; /* the protected-mode kernel */
	size_t payload_len;
	uint64_t load_addr;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
};

bool bzimage__is_bzimage(const uint8_t *buf, size_t len);
int bzimage__parse(const uint8_t *buf, size_t len, struct bzimage *bz, struct acc_err *err);
/* Guest-physical end of the memory the kernel needs while it decompresses. */
uint64_t bzimage__mem_end(const struct bzimage *bz);

#endif
