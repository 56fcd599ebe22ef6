// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_boot runner): ELF64 kernels built in memory, valid,
 * truncated and corrupt, through elf__parse and elf__load; and the image
 * builders the other boot tests share (boot_test.h).
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "accord/elf_kernel.h"
#include "accord/pvh.h"

#include "boot_test.h"

#define MiB (1ull << 20)

static struct acc_err err;

/* ---- a guest backed by a calloc'd buffer ---- */

void guest_init(struct guest *g, uint64_t size)
{
	g->buf = calloc(1, size);
	ck_assert_ptr_nonnull(g->buf);
	guest_mem__init_buffer(&g->m, g->buf, size);
}

void guest_free(struct guest *g)
{
	free(g->buf);
}

/* ---- ELF images ---- */

Elf64_Ehdr *ehdr(struct elf_img *img)
{
	return (Elf64_Ehdr *)img->buf;
}

Elf64_Phdr *phdr(struct elf_img *img, unsigned int i)
{
	return (Elf64_Phdr *)(img->buf + ELF_PHOFF + i * sizeof(Elf64_Phdr));
}

static Elf64_Nhdr *nhdr(struct elf_img *img, size_t off)
{
	return (Elf64_Nhdr *)(img->buf + off);
}

uint8_t elf_byte(size_t i)
{
	return (uint8_t)(i * 7 + 1);
}

/*
 * One PT_LOAD of ELF_DATA_LEN bytes (ELF_MEMSZ in memory) at ELF_PADDR and a
 * PT_NOTE holding a GNU build-id note, then (with @pvh) the Xen PVH entry
 * note with a @descsz-byte descriptor.
 */
void make_elf(struct elf_img *img, bool pvh, uint32_t descsz, uint64_t pvh_entry)
{
	Elf64_Ehdr *eh = ehdr(img);
	Elf64_Phdr *load = phdr(img, 0), *note = phdr(img, 1);
	size_t notes = GNU_NOTE_LEN;

	memset(img, 0, sizeof(*img));
	img->len = ELF_LEN;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ELF_ENTRY;
	eh->e_phoff = ELF_PHOFF;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;

	*load = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | PF_X,
			      .p_offset = ELF_DATA_OFF,
			      .p_vaddr = 0xffffffff81000000ull,
			      .p_paddr = ELF_PADDR,
			      .p_filesz = ELF_DATA_LEN,
			      .p_memsz = ELF_MEMSZ,
			      .p_align = 0x1000 };
	for (size_t i = 0; i < ELF_DATA_LEN; i++)
		img->buf[ELF_DATA_OFF + i] = elf_byte(i);

	*nhdr(img, ELF_NOTE_OFF) = (Elf64_Nhdr){ 4, 8, NT_GNU_BUILD_ID };
	memcpy(img->buf + ELF_NOTE_OFF + 12, "GNU", 4);
	memcpy(img->buf + ELF_NOTE_OFF + 16, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	if (pvh) {
		*nhdr(img, XEN_NOTE_OFF) = (Elf64_Nhdr){ 4, descsz, XEN_ELFNOTE_PHYS32_ENTRY };
		memcpy(img->buf + XEN_NOTE_OFF + 12, "Xen", 4);
		memcpy(img->buf + XEN_NOTE_OFF + 16, &pvh_entry, descsz <= 8 ? descsz : 8);
		notes += 16 + ((descsz + 3) & ~3u);
	}
	*note = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = notes, .p_align = 4
	};
}

static int parse_elf(struct elf_img *img, struct elf_kernel *k)
{
	memset(&err, 0, sizeof(err));
	return elf__parse(img->buf, img->len, k, &err);
}

#define ck_assert_elf_error(img, errnum, expected)                \
	do {                                                      \
		struct elf_kernel k_;                             \
		ck_assert_int_eq(parse_elf(img, &k_), -(errnum)); \
		ck_assert_str_eq(err.msg, expected);              \
	} while (0)

START_TEST(test_elf_with_pvh_note_is_parsed)
{
	struct elf_img img;
	struct elf_kernel k;

	make_elf(&img, true, 4, PVH_ENTRY);
	ck_assert(elf__is_elf(img.buf, img.len));
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert_uint_eq(k.entry, ELF_ENTRY);
	ck_assert(k.has_pvh);
	ck_assert_uint_eq(k.pvh_entry, PVH_ENTRY);
	ck_assert_uint_eq(k.nr_segs, 1);
	ck_assert_uint_eq(k.segs[0].offset, ELF_DATA_OFF);
	ck_assert_uint_eq(k.segs[0].paddr, ELF_PADDR);
	ck_assert_uint_eq(k.segs[0].filesz, ELF_DATA_LEN);
	ck_assert_uint_eq(k.segs[0].memsz, ELF_MEMSZ);
	ck_assert_uint_eq(k.lowest, ELF_PADDR);
	ck_assert_uint_eq(k.highest, ELF_PADDR + ELF_MEMSZ);
}
END_TEST

START_TEST(test_elf_without_pvh_note_has_no_pvh_entry)
{
	struct elf_img img;
	struct elf_kernel k;

	make_elf(&img, false, 0, 0);
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert(!k.has_pvh);
	ck_assert_uint_eq(k.pvh_entry, 0);
	ck_assert_uint_eq(k.entry, ELF_ENTRY);
	/* Without any note segment at all. */
	ehdr(&img)->e_phnum = 1;
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert(!k.has_pvh);
}
END_TEST

START_TEST(test_elf_pvh_note_with_8_byte_desc)
{
	struct elf_img img;
	struct elf_kernel k;

	make_elf(&img, true, 8, 0x1000000);
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert(k.has_pvh);
	ck_assert_uint_eq(k.pvh_entry, 0x1000000);
}
END_TEST

START_TEST(test_elf_pvh_entry_above_4g_is_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 8, 0x100000000ull);
	ck_assert_elf_error(&img, EINVAL, "PVH entry 0x100000000 is above 4 GiB");
}
END_TEST

START_TEST(test_elf_pvh_note_of_odd_size_is_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 2, PVH_ENTRY);
	ck_assert_elf_error(&img, EINVAL, "PVH entry note has 2 bytes, not 4 or 8");
}
END_TEST

START_TEST(test_elf_other_vendors_type_18_note_is_ignored)
{
	struct elf_img img;
	struct elf_kernel k;

	make_elf(&img, true, 4, PVH_ENTRY);
	memcpy(img.buf + XEN_NOTE_OFF + 12, "Xyz", 4);
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert(!k.has_pvh);
}
END_TEST

START_TEST(test_elf_without_magic_is_not_elf)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	img.len = 3;
	ck_assert(!elf__is_elf(img.buf, img.len));
	ck_assert_elf_error(&img, ENOEXEC, "not an ELF file");
	img.len = ELF_LEN;
	img.buf[1] = 'X';
	ck_assert(!elf__is_elf(img.buf, img.len));
	ck_assert_elf_error(&img, ENOEXEC, "not an ELF file");
}
END_TEST

START_TEST(test_elf_truncated_header_is_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 4, PVH_ENTRY);
	img.len = sizeof(Elf64_Ehdr) - 1;
	ck_assert(elf__is_elf(img.buf, img.len));
	ck_assert_elf_error(&img, ENOEXEC, "ELF header is truncated");
}
END_TEST

START_TEST(test_elf_truncated_program_headers_are_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 4, PVH_ENTRY);
	img.len = ELF_PHOFF + 2 * sizeof(Elf64_Phdr) - 1;
	ck_assert_elf_error(&img, ENOEXEC, "ELF program headers run past the end of the file");
	make_elf(&img, true, 4, PVH_ENTRY);
	ehdr(&img)->e_phoff = UINT64_MAX - 8;
	ck_assert_elf_error(&img, ENOEXEC, "ELF program headers run past the end of the file");
}
END_TEST

START_TEST(test_elf_malformed_program_header_table_is_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 4, PVH_ENTRY);
	ehdr(&img)->e_phentsize = 32;
	ck_assert_elf_error(&img, ENOEXEC, "ELF program header table is malformed");
	make_elf(&img, true, 4, PVH_ENTRY);
	ehdr(&img)->e_phnum = 0;
	ck_assert_elf_error(&img, ENOEXEC, "ELF program header table is malformed");
}
END_TEST

START_TEST(test_elf_segment_offset_past_eof_is_rejected)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_offset = ELF_LEN + 0x100;
	ck_assert_elf_error(&img, EINVAL, "segment at offset 2304 runs past the end of the file");
}
END_TEST

START_TEST(test_elf_segment_data_past_eof_is_rejected)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_filesz = ELF_LEN - ELF_DATA_OFF + 1;
	ck_assert_elf_error(&img, EINVAL, "segment at offset 1536 runs past the end of the file");
	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_filesz = UINT64_MAX;
	phdr(&img, 0)->p_memsz = UINT64_MAX;
	ck_assert_elf_error(&img, EINVAL, "segment at offset 1536 runs past the end of the file");
}
END_TEST

START_TEST(test_elf_filesz_larger_than_memsz_is_rejected)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_memsz = ELF_DATA_LEN - 1;
	ck_assert_elf_error(&img, EINVAL, "segment file size exceeds its memory size");
}
END_TEST

START_TEST(test_elf_segment_address_wrap_is_rejected)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_paddr = 0xfffffffffffff000ull;
	ck_assert_elf_error(&img, EINVAL, "segment address wraps around");
}
END_TEST

START_TEST(test_elf_wrong_class_or_byte_order_is_rejected)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	ehdr(&img)->e_ident[EI_CLASS] = ELFCLASS32;
	ck_assert_elf_error(&img, ENOEXEC, "not a 64-bit little-endian ELF file");
	make_elf(&img, false, 0, 0);
	ehdr(&img)->e_ident[EI_DATA] = ELFDATA2MSB;
	ck_assert_elf_error(&img, ENOEXEC, "not a 64-bit little-endian ELF file");
}
END_TEST

START_TEST(test_elf_wrong_machine_is_rejected)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	ehdr(&img)->e_machine = EM_386;
	ck_assert_elf_error(&img, ENOEXEC, "ELF machine 3 is not x86-64");
	ehdr(&img)->e_machine = EM_AARCH64;
	ck_assert_elf_error(&img, ENOEXEC, "ELF machine 183 is not x86-64");
}
END_TEST

START_TEST(test_elf_wrong_type_is_rejected)
{
	struct elf_img img;

	make_elf(&img, false, 0, 0);
	ehdr(&img)->e_type = ET_DYN;
	ck_assert_elf_error(&img, ENOEXEC, "ELF type 3 is not an executable");
	ehdr(&img)->e_type = ET_REL;
	ck_assert_elf_error(&img, ENOEXEC, "ELF type 1 is not an executable");
}
END_TEST

START_TEST(test_elf_note_name_overrunning_segment_is_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 4, PVH_ENTRY);
	nhdr(&img, ELF_NOTE_OFF)->n_namesz = 100;
	ck_assert_elf_error(&img, EINVAL, "ELF note at offset 1280 overruns its segment");
}
END_TEST

START_TEST(test_elf_note_desc_overrunning_segment_is_rejected)
{
	struct elf_img img;

	/* The segment ends inside the PVH note's descriptor. */
	make_elf(&img, true, 4, PVH_ENTRY);
	phdr(&img, 1)->p_filesz -= 4;
	ck_assert_elf_error(&img, EINVAL, "ELF note at offset 1304 overruns its segment");
	/* A descriptor size that would wrap a 32-bit computation. */
	make_elf(&img, true, 4, PVH_ENTRY);
	nhdr(&img, XEN_NOTE_OFF)->n_descsz = 0xfffffffe;
	ck_assert_elf_error(&img, EINVAL, "ELF note at offset 1304 overruns its segment");
}
END_TEST

START_TEST(test_elf_note_segment_past_eof_is_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 4, PVH_ENTRY);
	phdr(&img, 1)->p_filesz = ELF_LEN;
	ck_assert_elf_error(&img, ENOEXEC, "note segment runs past the end of the file");
}
END_TEST

START_TEST(test_elf_without_loadable_segments_is_rejected)
{
	struct elf_img img;

	make_elf(&img, true, 4, PVH_ENTRY);
	phdr(&img, 0)->p_memsz = 0;
	phdr(&img, 0)->p_filesz = 0;
	ck_assert_elf_error(&img, ENOEXEC, "ELF file has nothing to load");
	phdr(&img, 0)->p_type = PT_NULL;
	phdr(&img, 0)->p_memsz = ELF_MEMSZ;
	ck_assert_elf_error(&img, ENOEXEC, "ELF file has nothing to load");
}
END_TEST

START_TEST(test_elf_more_than_16_segments_is_rejected)
{
	struct elf_img img;
	struct elf_kernel k;

	make_elf(&img, false, 0, 0);
	for (unsigned int i = 1; i < 17; i++) {
		*phdr(&img, i) = *phdr(&img, 0);
		phdr(&img, i)->p_paddr = ELF_PADDR + i * 0x10000ull;
	}
	ehdr(&img)->e_phnum = 16;
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert_uint_eq(k.nr_segs, 16);
	ehdr(&img)->e_phnum = 17;
	ck_assert_elf_error(&img, E2BIG, "more than 16 loadable segments");
}
END_TEST

START_TEST(test_elf_segment_bounds_and_empty_segments)
{
	struct elf_img img;
	struct elf_kernel k;

	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_paddr = 0x400000;
	/* An empty PT_LOAD, then one below the first. */
	*phdr(&img, 1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_paddr = 0x100, .p_offset = 0 };
	*phdr(&img, 2) = *phdr(&img, 0);
	phdr(&img, 2)->p_paddr = 0x200000;
	phdr(&img, 2)->p_memsz = 0x1000;
	ehdr(&img)->e_phnum = 3;
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert_uint_eq(k.nr_segs, 2);
	ck_assert_uint_eq(k.lowest, 0x200000);
	ck_assert_uint_eq(k.highest, 0x400000 + ELF_MEMSZ);
}
END_TEST

START_TEST(test_elf_load_copies_segment_and_zeroes_bss)
{
	struct elf_img img;
	struct elf_kernel k;
	struct guest g;

	guest_init(&g, 4 * MiB);
	memset(g.buf + ELF_PADDR, 0xcc, ELF_MEMSZ + 1);
	make_elf(&img, true, 4, PVH_ENTRY);
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert_int_eq(elf__load(img.buf, &k, &g.m, &err), 0);
	for (size_t i = 0; i < ELF_DATA_LEN; i++)
		ck_assert_uint_eq(g.buf[ELF_PADDR + i], elf_byte(i));
	for (size_t i = ELF_DATA_LEN; i < ELF_MEMSZ; i++)
		ck_assert_uint_eq(g.buf[ELF_PADDR + i], 0);
	ck_assert_uint_eq(g.buf[ELF_PADDR + ELF_MEMSZ], 0xcc);
	guest_free(&g);
}
END_TEST

START_TEST(test_elf_load_segment_below_1m_is_rejected)
{
	struct elf_img img;
	struct elf_kernel k;
	struct guest g;

	guest_init(&g, 4 * MiB);
	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_paddr = 0xf0000;
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert_int_eq(elf__load(img.buf, &k, &g.m, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "segment at 0xf0000 is below 1 MiB");
	guest_free(&g);
}
END_TEST

START_TEST(test_elf_load_segment_outside_ram_is_rejected)
{
	struct elf_img img;
	struct elf_kernel k;
	struct guest g;

	guest_init(&g, 4 * MiB);
	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_paddr = 4 * MiB;
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert_int_eq(elf__load(img.buf, &k, &g.m, &err), -ENOMEM);
	ck_assert_str_eq(err.msg,
			 "segment at 0x400000-0x403000 is outside guest RAM (more --memory?)");
	/* Straddling the end of RAM. */
	phdr(&img, 0)->p_paddr = 4 * MiB - 0x1000;
	ck_assert_int_eq(parse_elf(&img, &k), 0);
	ck_assert_int_eq(elf__load(img.buf, &k, &g.m, &err), -ENOMEM);
	ck_assert_str_eq(err.msg,
			 "segment at 0x3ff000-0x402000 is outside guest RAM (more --memory?)");
	guest_free(&g);
}
END_TEST

Suite *elf_suite(void)
{
	Suite *s = suite_create("elf");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_elf_with_pvh_note_is_parsed);
	tcase_add_test(tc, test_elf_without_pvh_note_has_no_pvh_entry);
	tcase_add_test(tc, test_elf_pvh_note_with_8_byte_desc);
	tcase_add_test(tc, test_elf_pvh_entry_above_4g_is_rejected);
	tcase_add_test(tc, test_elf_pvh_note_of_odd_size_is_rejected);
	tcase_add_test(tc, test_elf_other_vendors_type_18_note_is_ignored);
	tcase_add_test(tc, test_elf_without_magic_is_not_elf);
	tcase_add_test(tc, test_elf_truncated_header_is_rejected);
	tcase_add_test(tc, test_elf_truncated_program_headers_are_rejected);
	tcase_add_test(tc, test_elf_malformed_program_header_table_is_rejected);
	tcase_add_test(tc, test_elf_segment_offset_past_eof_is_rejected);
	tcase_add_test(tc, test_elf_segment_data_past_eof_is_rejected);
	tcase_add_test(tc, test_elf_filesz_larger_than_memsz_is_rejected);
	tcase_add_test(tc, test_elf_segment_address_wrap_is_rejected);
	tcase_add_test(tc, test_elf_wrong_class_or_byte_order_is_rejected);
	tcase_add_test(tc, test_elf_wrong_machine_is_rejected);
	tcase_add_test(tc, test_elf_wrong_type_is_rejected);
	tcase_add_test(tc, test_elf_note_name_overrunning_segment_is_rejected);
	tcase_add_test(tc, test_elf_note_desc_overrunning_segment_is_rejected);
	tcase_add_test(tc, test_elf_note_segment_past_eof_is_rejected);
	tcase_add_test(tc, test_elf_without_loadable_segments_is_rejected);
	tcase_add_test(tc, test_elf_more_than_16_segments_is_rejected);
	tcase_add_test(tc, test_elf_segment_bounds_and_empty_segments);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, test_elf_load_copies_segment_and_zeroes_bss);
	tcase_add_test(tc, test_elf_load_segment_below_1m_is_rejected);
	tcase_add_test(tc, test_elf_load_segment_outside_ram_is_rejected);
	suite_add_tcase(s, tc);
	return s;
}
