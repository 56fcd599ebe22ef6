// SPDX-License-Identifier: MIT
/*
 * mkbzimage: wrap the probe ELF into a bzImage (Linux x86 boot protocol
 * 2.15). A host tool.
 *
 *   mkbzimage PROBE.ELF SETUP.BIN OUT.BZIMAGE
 *
 * The output is SETUP.BIN (boot sector and one setup sector, 1024 bytes) with
 * the setup header filled in at 0x1f1, followed by the protected-mode payload:
 * the ELF's PT_LOAD segments laid out flat from their load address 0x100000.
 * The 64-bit entry is at payload offset 0x200, as the protocol requires.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_ADDR   0x100000UL
#define SETUP_SIZE  1024
#define ENTRY64_OFF 0x200

#define LOADED_HIGH   0x01
#define XLF_KERNEL_64 0x0001

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "mkbzimage: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		die("cannot read %s", path);
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n)
		die("cannot read %s", path);
	fclose(f);
	*len = n;
	return buf;
}

static void put16(unsigned char *p, unsigned int off, uint16_t v)
{
	p[off] = v;
	p[off + 1] = v >> 8;
}

static void put32(unsigned char *p, unsigned int off, uint32_t v)
{
	put16(p, off, v);
	put16(p, off + 2, v >> 16);
}

static void put64(unsigned char *p, unsigned int off, uint64_t v)
{
	put32(p, off, v);
	put32(p, off + 4, v >> 32);
}

/* Lay the PT_LOAD segments out flat; returns the payload, sets its sizes. */
static unsigned char *flatten(const unsigned char *elf, size_t len, const char *path,
			      size_t *file_size, size_t *mem_size)
{
	const Elf64_Ehdr *eh = (const void *)elf;
	uint64_t file_end = LOAD_ADDR, mem_end = LOAD_ADDR, low = UINT64_MAX;
	unsigned char *flat = NULL;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64)
		die("%s: not an x86-64 ELF64 file", path);
	if (eh->e_entry != LOAD_ADDR + ENTRY64_OFF)
		die("%s: entry point is not load address + 0x200", path);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len)
		die("%s: bad program headers", path);

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i < eh->e_phnum; i++) {
			const Elf64_Phdr *ph = (const void *)(elf + eh->e_phoff + i * sizeof(*ph));

			if (ph->p_type != PT_LOAD || !ph->p_memsz)
				continue;
			if (ph->p_offset + ph->p_filesz > len || ph->p_filesz > ph->p_memsz ||
			    ph->p_paddr < LOAD_ADDR || ph->p_paddr + ph->p_memsz > 0x40000000)
				die("%s: bad PT_LOAD segment", path);
			if (pass == 0) {
				if (ph->p_paddr < low)
					low = ph->p_paddr;
				if (ph->p_paddr + ph->p_filesz > file_end)
					file_end = ph->p_paddr + ph->p_filesz;
				if (ph->p_paddr + ph->p_memsz > mem_end)
					mem_end = ph->p_paddr + ph->p_memsz;
			} else {
				memcpy(flat + (ph->p_paddr - LOAD_ADDR), elf + ph->p_offset,
				       ph->p_filesz);
			}
		}
		if (pass == 0) {
			if (low != LOAD_ADDR)
				die("%s: lowest PT_LOAD segment is not at 0x100000", path);
			*file_size = (file_end - LOAD_ADDR + 15) & ~15UL;
			*mem_size = mem_end - LOAD_ADDR;
			flat = calloc(1, *file_size);
			if (!flat)
				die("%s: out of memory", path);
		}
	}
	return flat;
}

int main(int argc, char **argv)
{
	size_t elf_len, setup_len, payload, mem_size;
	unsigned char *elf, *setup, *flat;
	FILE *out;

	if (argc != 4) {
		fprintf(stderr, "usage: mkbzimage PROBE.ELF SETUP.BIN OUT.BZIMAGE\n");
		return 2;
	}
	elf = read_file(argv[1], &elf_len);
	setup = read_file(argv[2], &setup_len);
	if (setup_len != SETUP_SIZE || setup[0x200] != 0xeb)
		die("%s: want 1024 bytes with a short jump at 0x200", argv[2]);
	flat = flatten(elf, elf_len, argv[1], &payload, &mem_size);

	/* The setup header (Documentation/arch/x86/boot.rst), except the jump. */
	setup[0x1f1] = SETUP_SIZE / 512 - 1;		  /* setup_sects */
	put16(setup, 0x1f2, 0);				  /* root_flags */
	put32(setup, 0x1f4, payload / 16);		  /* syssize */
	put16(setup, 0x1f8, 0);				  /* ram_size */
	put16(setup, 0x1fa, 0xffff);			  /* vid_mode: normal */
	put16(setup, 0x1fc, 0);				  /* root_dev */
	put16(setup, 0x1fe, 0xaa55);			  /* boot_flag */
	memcpy(setup + 0x202, "HdrS", 4);		  /* header */
	put16(setup, 0x206, 0x020f);			  /* version 2.15 */
	put32(setup, 0x208, 0);				  /* realmode_swtch */
	put16(setup, 0x20c, 0x1000);			  /* start_sys_seg */
	put16(setup, 0x20e, 0);				  /* kernel_version */
	setup[0x210] = 0;				  /* type_of_loader */
	setup[0x211] = LOADED_HIGH;			  /* loadflags */
	put16(setup, 0x212, 0);				  /* setup_move_size */
	put32(setup, 0x214, LOAD_ADDR);			  /* code32_start */
	put32(setup, 0x218, 0);				  /* ramdisk_image */
	put32(setup, 0x21c, 0);				  /* ramdisk_size */
	put32(setup, 0x220, 0);				  /* bootsect_kludge */
	put16(setup, 0x224, 0);				  /* heap_end_ptr */
	put32(setup, 0x228, 0);				  /* cmd_line_ptr */
	put32(setup, 0x22c, 0x7fffffff);		  /* initrd_addr_max */
	put32(setup, 0x230, 0x200000);			  /* kernel_alignment */
	setup[0x234] = 0;				  /* relocatable_kernel */
	setup[0x235] = 21;				  /* min_alignment */
	put16(setup, 0x236, XLF_KERNEL_64);		  /* xloadflags */
	put32(setup, 0x238, 2047);			  /* cmdline_size */
	put32(setup, 0x23c, 0);				  /* hardware_subarch */
	put64(setup, 0x240, 0);				  /* hardware_subarch_data */
	put32(setup, 0x248, 0);				  /* payload_offset */
	put32(setup, 0x24c, 0);				  /* payload_length */
	put64(setup, 0x250, 0);				  /* setup_data */
	put64(setup, 0x258, LOAD_ADDR);			  /* pref_address */
	put32(setup, 0x260, (mem_size + 4095) & ~4095UL); /* init_size */
	put32(setup, 0x264, 0);				  /* handover_offset */
	put32(setup, 0x268, 0);				  /* kernel_info_offset */

	out = fopen(argv[3], "wb");
	if (!out || fwrite(setup, 1, SETUP_SIZE, out) != SETUP_SIZE ||
	    fwrite(flat, 1, payload, out) != payload || fclose(out))
		die("cannot write %s", argv[3]);
	free(elf);
	free(setup);
	free(flat);
	return 0;
}
