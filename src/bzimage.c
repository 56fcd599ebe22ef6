// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <asm/bootparam.h>

#include "accord/bootparams.h"
#include "accord/bzimage.h"

#define OFF(field) (BOOT_HDR_OFFSET + offsetof(struct setup_header, field))

static uint32_t rd(const uint8_t *buf, size_t off, size_t size)
{
	uint32_t v = 0;

	memcpy(&v, buf + off, size);
	return v;
}

#define HDR(buf, field) rd(buf, OFF(field), sizeof(((struct setup_header *)0)->field))

bool bzimage__is_bzimage(const uint8_t *buf, size_t len)
{
	return len >= OFF(header) + 4 && HDR(buf, boot_flag) == BOOT_FLAG_MAGIC &&
	       HDR(buf, header) == BOOT_HDR_MAGIC;
}

int bzimage__parse(const uint8_t *buf, size_t len, struct bzimage *bz, struct acc_err *err)
{
	size_t setup_len, hdr_end, syssize_bytes;
	unsigned int setup_sects;

	memset(bz, 0, sizeof(*bz));
	if (!bzimage__is_bzimage(buf, len))
		return acc_errf(err, ENOEXEC, "not a bzImage (no HdrS setup header)");
	if (len < BOOT_HDR_OFFSET + sizeof(struct setup_header))
		return acc_errf(err, ENOEXEC, "bzImage setup header is truncated");
	bz->version = (uint16_t)HDR(buf, version);
	if (bz->version < BZIMAGE_MIN_VERSION)
		return acc_errf(
			err, ENOEXEC,
			"boot protocol %u.%02u is older than 2.12, which the 64-bit entry needs",
			bz->version >> 8, bz->version & 0xff);
	if (!(HDR(buf, xloadflags) & XLF_KERNEL_64))
		return acc_errf(err, ENOEXEC, "bzImage has no 64-bit entry point");
	if (!(HDR(buf, loadflags) & LOADED_HIGH))
		return acc_errf(err, ENOEXEC, "bzImage is not loaded high (zImage?)");

	/* The jump at 0x200 skips the header: its end is 0x202 + the jump offset. */
	hdr_end = 0x202 + buf[0x201];
	bz->hdr = buf + BOOT_HDR_OFFSET;
	bz->hdr_len = hdr_end - BOOT_HDR_OFFSET;
	if (bz->hdr_len > sizeof(struct setup_header))
		bz->hdr_len = sizeof(struct setup_header);

	setup_sects = HDR(buf, setup_sects);
	if (!setup_sects)
		setup_sects = 4;
	setup_len = (size_t)(setup_sects + 1) * 512;
	if (setup_len >= len)
		return acc_errf(err, ENOEXEC,
				"bzImage is truncated: no kernel after %zu setup bytes", setup_len);
	bz->payload = buf + setup_len;
	bz->payload_len = len - setup_len;
	syssize_bytes = (size_t)HDR(buf, syssize) * 16;
	if (syssize_bytes > bz->payload_len)
		return acc_errf(
			err, ENOEXEC,
			"bzImage is truncated: header declares %zu kernel bytes, file has %zu",
			syssize_bytes, bz->payload_len);
	if (bz->payload_len <= BZIMAGE_ENTRY64)
		return acc_errf(err, ENOEXEC, "bzImage kernel is too short for its 64-bit entry");

	bz->load_addr = BZIMAGE_LOAD_ADDR;
	bz->init_size = HDR(buf, init_size);
	bz->pref_address = (uint64_t)rd(buf, OFF(pref_address), 4) |
			   (uint64_t)rd(buf, OFF(pref_address) + 4, 4) << 32;
	bz->initrd_addr_max = HDR(buf, initrd_addr_max);
	bz->cmdline_size = HDR(buf, cmdline_size);
	return 0;
}

uint64_t bzimage__mem_end(const struct bzimage *bz)
{
	uint64_t base = bz->pref_address > bz->load_addr ? bz->pref_address : bz->load_addr;
	uint64_t size = bz->init_size > bz->payload_len ? bz->init_size : bz->payload_len;

	return base + size;
}
