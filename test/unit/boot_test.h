/* SPDX-License-Identifier: MIT */
/*
 * Shared by the parts of the unit_boot runner: kernel images built in
 * memory (test_elf.c, test_bzimage.c), a buffer-backed guest, and the suites.
 */
#ifndef ACCORD_TEST_BOOT_TEST_H
#define ACCORD_TEST_BOOT_TEST_H

#include <check.h>
#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/bootparams.h"
#include "accord/guest_mem.h"

/* A guest whose RAM is a calloc'd buffer. */
struct guest {
	uint8_t *buf;
	struct guest_mem m;
};

void guest_init(struct guest *g, uint64_t size);
void guest_free(struct guest *g);

/*
 * An ELF64 kernel: one PT_LOAD of ELF_DATA_LEN bytes (ELF_MEMSZ in memory)
 * at ELF_PADDR, entry ELF_ENTRY, and a PT_NOTE with a GNU build-id note and
 * optionally the Xen PVH entry note.
 */
#define ELF_LEN	     0x800
#define ELF_PHOFF    0x40
#define ELF_NOTE_OFF 0x500 /* 1280 */
#define ELF_DATA_OFF 0x600
#define ELF_DATA_LEN 0x200
#define ELF_PADDR    0x100000
#define ELF_MEMSZ    0x3000
#define ELF_ENTRY    0x100010
#define PVH_ENTRY    0x100020
#define GNU_NOTE_LEN 24				   /* header, "GNU\0", 8-byte build id */
#define XEN_NOTE_OFF (ELF_NOTE_OFF + GNU_NOTE_LEN) /* 1304 */

struct elf_img {
	_Alignas(8) uint8_t buf[ELF_LEN];
	size_t len;
};

void make_elf(struct elf_img *img, bool pvh, uint32_t descsz, uint64_t pvh_entry);
Elf64_Ehdr *ehdr(struct elf_img *img);
Elf64_Phdr *phdr(struct elf_img *img, unsigned int i);
uint8_t elf_byte(size_t i);

/*
 * A bzImage, protocol 2.15: 4 setup sectors, a 4 KiB payload, preferred
 * address 16 MiB, init_size 2 MiB, initrd_addr_max 0x7fffffff, cmdline_size 2047.
 */
#define BZ_SETUP_LEN   0xa00 /* (4 setup sectors + boot sector) * 512 */
#define BZ_PAYLOAD_LEN 0x1000
#define BZ_LEN	       (BZ_SETUP_LEN + BZ_PAYLOAD_LEN)

struct bz_img {
	uint8_t buf[BZ_LEN];
	size_t len;
};

void make_bz(struct bz_img *b);
struct setup_header *bzhdr(struct bz_img *b);
uint8_t bz_byte(size_t i);

Suite *cpu_suite(void);
Suite *elf_suite(void);
Suite *bzimage_suite(void);
Suite *loader_suite(void);

#endif
