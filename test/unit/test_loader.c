// SPDX-License-Identifier: MIT
/*
 * Unit tests: the loader end to end, from images in memory into a
 * buffer-backed guest_mem, and from files.
 */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accord/bootparams.h"
#include "accord/e820.h"
#include "accord/layout.h"
#include "accord/loader.h"
#include "accord/mptable.h"
#include "accord/pvh.h"

#include "boot_test.h"
#include "accord/tmpfile.h"

#define MiB	      (1ull << 20)
#define GUEST_SIZE    (64 * MiB)
#define BZ_KERNEL_END 0x1200000ull /* pref_address 16 MiB + init_size 2 MiB */

static struct acc_err err;

static int load(struct guest *g, const void *kernel, size_t kernel_len, const void *initrd,
		size_t initrd_len, const char *cmdline, unsigned int ncpus, struct boot_entry *e)
{
	struct boot_image img = { kernel, kernel_len, initrd, initrd_len, cmdline, ncpus, NULL };

	memset(&err, 0, sizeof(err));
	memset(e, 0xa5, sizeof(*e));
	return loader__load_image(&g->m, &img, e, &err);
}

static const struct boot_params *boot_params_of(struct guest *g)
{
	return (const struct boot_params *)(g->buf + LAYOUT_BOOT_PARAMS);
}

static void check_e820_copy(const struct boot_params *bp, uint64_t mem_size)
{
	struct e820_map map;

	e820__build(mem_size, &map);
	ck_assert_uint_eq(bp->e820_entries, map.nr);
	for (unsigned int i = 0; i < map.nr; i++) {
		ck_assert_uint_eq(bp->e820_table[i].addr, map.r[i].addr);
		ck_assert_uint_eq(bp->e820_table[i].size, map.r[i].size);
		ck_assert_uint_eq(bp->e820_table[i].type, map.r[i].type);
	}
}

START_TEST(test_load_bzimage_enters_long_mode_at_0x100200)
{
	static const char cmdline[] = "console=ttyS0 panic=-1";
	struct bz_img b;
	struct boot_entry e;
	struct guest g;
	const struct boot_params *bp;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, cmdline, 1, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_LINUX64);
	ck_assert_uint_eq(e.rip, 0x100200);
	ck_assert_uint_eq(e.boot_info, LAYOUT_BOOT_PARAMS);
	for (size_t i = 0; i < BZ_PAYLOAD_LEN; i++)
		ck_assert_uint_eq(g.buf[0x100000 + i], bz_byte(i));
	ck_assert_mem_eq(g.buf + LAYOUT_CMDLINE, cmdline, sizeof(cmdline));

	bp = boot_params_of(&g);
	ck_assert_uint_eq(bp->hdr.header, BOOT_HDR_MAGIC);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.setup_sects, 4);
	ck_assert_uint_eq(bp->hdr.init_size, 0x200000);
	ck_assert_uint_eq(bp->hdr.type_of_loader, BOOT_LOADER_UNDEFINED);
	ck_assert_uint_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	ck_assert_uint_eq(bp->ext_cmd_line_ptr, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0);
	check_e820_copy(bp, GUEST_SIZE);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_writes_mp_table_and_bios_data_area)
{
	struct bz_img b;
	struct boot_entry e;
	struct guest g;
	const struct mp_floating *mpf;
	const struct mp_config *mpc;
	uint16_t ebda_seg, base_kb;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, "", 4, &e), 0);
	memcpy(&ebda_seg, g.buf + BDA_EBDA_SEGMENT, 2);
	memcpy(&base_kb, g.buf + BDA_BASE_MEM_KB, 2);
	ck_assert_uint_eq(ebda_seg, 0x9fc0);
	ck_assert_uint_eq(base_kb, 639);
	mpf = (const void *)(g.buf + LAYOUT_MPTABLE);
	mpc = (const void *)(g.buf + LAYOUT_MPTABLE + sizeof(*mpf));
	ck_assert_mem_eq(mpf->signature, "_MP_", 4);
	ck_assert_uint_eq(mpf->physptr, LAYOUT_MPTABLE + sizeof(*mpf));
	ck_assert_uint_eq(mptable__checksum(mpf, sizeof(*mpf)), 0);
	ck_assert_mem_eq(mpc->signature, "PCMP", 4);
	ck_assert_uint_eq(mpc->count, 4 + 2 + 1 + 16 + 31 + 2);
	ck_assert_uint_eq(mptable__checksum(mpc, mpc->length), 0);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_bzimage_writes_gdt_and_page_tables)
{
	struct bz_img b;
	struct boot_entry e;
	struct guest g;
	uint64_t v;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, "", 1, &e), 0);
	memcpy(&v, g.buf + LAYOUT_GDT + GDT_SEL_CODE, 8);
	ck_assert_uint_eq(v, 0x00af9b000000ffffull);
	memcpy(&v, g.buf + LAYOUT_PML4, 8);
	ck_assert_uint_eq(v, LAYOUT_PDPT | 3);
	memcpy(&v, g.buf + LAYOUT_PD + 8, 8);
	ck_assert_uint_eq(v, 0x200000 | 0x83);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_elf_with_pvh_note_enters_32bit_pvh)
{
	struct elf_img img;
	struct boot_entry e;
	struct guest g;
	const struct hvm_start_info *si;
	const struct hvm_memmap_table_entry *mm;
	uint64_t v;

	guest_init(&g, GUEST_SIZE);
	make_elf(&img, true, 4, PVH_ENTRY);
	ck_assert_int_eq(load(&g, img.buf, img.len, NULL, 0, "quiet", 2, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_PVH32);
	ck_assert_uint_eq(e.rip, PVH_ENTRY);
	ck_assert_uint_eq(e.boot_info, LAYOUT_PVH_INFO);
	for (size_t i = 0; i < ELF_DATA_LEN; i++)
		ck_assert_uint_eq(g.buf[ELF_PADDR + i], elf_byte(i));
	si = (const void *)(g.buf + LAYOUT_PVH_INFO);
	ck_assert_uint_eq(si->magic, HVM_START_MAGIC);
	ck_assert_uint_eq(si->version, 1);
	ck_assert_uint_eq(si->cmdline_paddr, LAYOUT_CMDLINE);
	ck_assert_str_eq((const char *)g.buf + LAYOUT_CMDLINE, "quiet");
	ck_assert_uint_eq(si->nr_modules, 0);
	ck_assert_uint_eq(si->memmap_entries, 3);
	mm = (const void *)(g.buf + si->memmap_paddr);
	ck_assert_uint_eq(mm[2].addr, 0x100000);
	ck_assert_uint_eq(mm[2].size, GUEST_SIZE - 0x100000);
	ck_assert_uint_eq(mm[2].type, E820_RAM);
	memcpy(&v, g.buf + LAYOUT_GDT + GDT_SEL_CODE, 8);
	ck_assert_uint_eq(v, 0x00cf9b000000ffffull);
	/* No boot_params and no page tables for a PVH entry. */
	v = UINT64_MAX;
	memcpy(&v, g.buf + LAYOUT_BOOT_PARAMS + 0x1f1, 8);
	ck_assert_uint_eq(v, 0);
	memcpy(&v, g.buf + LAYOUT_PML4, 8);
	ck_assert_uint_eq(v, 0);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_elf_without_note_enters_long_mode_at_e_entry)
{
	struct elf_img img;
	struct boot_entry e;
	struct guest g;
	const struct boot_params *bp;

	guest_init(&g, GUEST_SIZE);
	make_elf(&img, false, 0, 0);
	ck_assert_int_eq(load(&g, img.buf, img.len, NULL, 0, "root=/dev/vda", 1, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_LINUX64);
	ck_assert_uint_eq(e.rip, ELF_ENTRY);
	ck_assert_uint_eq(e.boot_info, LAYOUT_BOOT_PARAMS);
	bp = boot_params_of(&g);
	ck_assert_uint_eq(bp->hdr.header, BOOT_HDR_MAGIC);
	ck_assert_uint_eq(bp->hdr.boot_flag, BOOT_FLAG_MAGIC);
	ck_assert_uint_eq(bp->hdr.type_of_loader, BOOT_LOADER_UNDEFINED);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	ck_assert_str_eq((const char *)g.buf + LAYOUT_CMDLINE, "root=/dev/vda");
	check_e820_copy(bp, GUEST_SIZE);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_null_cmdline_is_empty)
{
	struct bz_img b;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	memset(g.buf + LAYOUT_CMDLINE, 'x', 16);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, NULL, 1, &e), 0);
	ck_assert_uint_eq(g.buf[LAYOUT_CMDLINE], 0);
	ck_assert_uint_eq(g.buf[LAYOUT_CMDLINE + 1], 'x');
	ck_assert_uint_eq(boot_params_of(&g)->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	guest_free(&g);
}
END_TEST

static uint8_t *make_initrd(size_t len)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + 3);
	return p;
}

START_TEST(test_load_initrd_page_aligned_at_top_of_low_ram)
{
	size_t len = 0x1801;
	uint8_t *initrd = make_initrd(len);
	struct bz_img b;
	struct boot_entry e;
	struct guest g;
	const struct boot_params *bp;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, initrd, len, "", 1, &e), 0);
	bp = boot_params_of(&g);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0x3ffe000);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, len);
	ck_assert_uint_eq(bp->ext_ramdisk_image, 0);
	ck_assert_uint_ge(bp->hdr.ramdisk_image, BZ_KERNEL_END);
	ck_assert_mem_eq(g.buf + 0x3ffe000, initrd, len);
	free(initrd);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_initrd_for_pvh_kernel_is_a_module)
{
	size_t len = 0x3000;
	uint8_t *initrd = make_initrd(len);
	struct elf_img img;
	struct boot_entry e;
	struct guest g;
	const struct hvm_start_info *si;
	const struct hvm_modlist_entry *mod;

	guest_init(&g, GUEST_SIZE);
	make_elf(&img, true, 4, PVH_ENTRY);
	ck_assert_int_eq(load(&g, img.buf, img.len, initrd, len, "", 1, &e), 0);
	si = (const void *)(g.buf + LAYOUT_PVH_INFO);
	ck_assert_uint_eq(si->nr_modules, 1);
	mod = (const void *)(g.buf + si->modlist_paddr);
	ck_assert_uint_eq(mod->paddr, GUEST_SIZE - len);
	ck_assert_uint_eq(mod->size, len);
	ck_assert_mem_eq(g.buf + GUEST_SIZE - len, initrd, len);
	free(initrd);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_initrd_stays_below_initrd_addr_max)
{
	size_t len = 0x1000;
	uint8_t *initrd = make_initrd(len);
	struct bz_img b;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	bzhdr(&b)->initrd_addr_max = 0x2000fff;
	ck_assert_int_eq(load(&g, b.buf, b.len, initrd, len, "", 1, &e), 0);
	ck_assert_uint_eq(boot_params_of(&g)->hdr.ramdisk_image, 0x2000000);
	free(initrd);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_initrd_filling_all_ram_above_kernel_fits)
{
	size_t len = GUEST_SIZE - BZ_KERNEL_END;
	uint8_t *initrd = make_initrd(len);
	struct bz_img b;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, initrd, len, "", 1, &e), 0);
	ck_assert_uint_eq(boot_params_of(&g)->hdr.ramdisk_image, BZ_KERNEL_END);
	free(initrd);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_initrd_too_large_is_rejected)
{
	size_t len = GUEST_SIZE - BZ_KERNEL_END + 1;
	uint8_t *initrd = make_initrd(len);
	struct bz_img b;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, initrd, len, "", 1, &e), -ENOMEM);
	ck_assert_str_eq(err.msg, "initrd of 47104 KiB does not fit between the kernel and the "
				  "top of RAM (more --memory)");
	free(initrd);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_initrd_larger_than_ram_is_rejected)
{
	size_t len = GUEST_SIZE + 4096;
	uint8_t *initrd = calloc(1, len);
	struct elf_img img;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_elf(&img, true, 4, PVH_ENTRY);
	ck_assert_int_eq(load(&g, img.buf, img.len, initrd, len, "", 1, &e), -ENOMEM);
	ck_assert_str_eq(err.msg, "initrd of 65540 KiB does not fit between the kernel and the "
				  "top of RAM (more --memory)");
	free(initrd);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_cmdline_longer_than_bzimage_limit_is_rejected)
{
	struct bz_img b;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	bzhdr(&b)->cmdline_size = 16;
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, "0123456789abcdef", 1, &e), 0);
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, "0123456789abcdefg", 1, &e), -E2BIG);
	ck_assert_str_eq(err.msg, "command line of 17 bytes exceeds the kernel's limit of 16");
	guest_free(&g);
}
END_TEST

START_TEST(test_load_cmdline_limit_for_elf_is_4095)
{
	char *line = malloc(4097);
	struct elf_img img;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_elf(&img, false, 0, 0);
	memset(line, 'c', 4096);
	line[4096] = '\0';
	ck_assert_int_eq(load(&g, img.buf, img.len, NULL, 0, line, 1, &e), -E2BIG);
	ck_assert_str_eq(err.msg, "command line of 4096 bytes exceeds the kernel's limit of 4095");
	line[4095] = '\0';
	ck_assert_int_eq(load(&g, img.buf, img.len, NULL, 0, line, 1, &e), 0);
	ck_assert_uint_eq(g.buf[LAYOUT_CMDLINE + 4094], 'c');
	ck_assert_uint_eq(g.buf[LAYOUT_CMDLINE + 4095], 0);
	free(line);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_garbage_is_neither_bzimage_nor_elf)
{
	static const uint8_t garbage[4096] = { 'M', 'Z', 0x90 };
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	ck_assert_int_eq(load(&g, garbage, sizeof(garbage), NULL, 0, "", 1, &e), -ENOEXEC);
	ck_assert_str_eq(err.msg, "neither a bzImage nor an ELF64 kernel");
	ck_assert_int_eq(load(&g, garbage, 2, NULL, 0, "", 1, &e), -ENOEXEC);
	ck_assert_str_eq(err.msg, "neither a bzImage nor an ELF64 kernel");
	guest_free(&g);
}
END_TEST

START_TEST(test_load_bzimage_needing_more_ram_is_rejected)
{
	struct bz_img b;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	bzhdr(&b)->init_size = 0x4000000;
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, "", 1, &e), -ENOMEM);
	ck_assert_str_eq(err.msg, "the kernel needs 80 MiB of RAM to decompress (more --memory)");
	guest_free(&g);
}
END_TEST

START_TEST(test_load_corrupt_images_report_the_parser_error)
{
	struct bz_img b;
	struct elf_img img;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	bzhdr(&b)->syssize = 0xffff;
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, "", 1, &e), -ENOEXEC);
	ck_assert_str_eq(err.msg, "bzImage is truncated: header declares 1048560 kernel bytes, "
				  "file has 4096");
	make_elf(&img, false, 0, 0);
	phdr(&img, 0)->p_paddr = GUEST_SIZE;
	ck_assert_int_eq(load(&g, img.buf, img.len, NULL, 0, "", 1, &e), -ENOMEM);
	ck_assert_str_eq(err.msg,
			 "segment at 0x4000000-0x4003000 is outside guest RAM (more --memory?)");
	guest_free(&g);
}
END_TEST

START_TEST(test_load_with_zero_cpus_is_rejected)
{
	struct bz_img b;
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	ck_assert_int_eq(load(&g, b.buf, b.len, NULL, 0, "", 0, &e), -ENOSPC);
	ck_assert_str_eq(err.msg, "MP table for 0 CPUs does not fit");
	guest_free(&g);
}
END_TEST

/* ---- loader__load_files ---- */

static char tmpdir[64];

static void tmpdir_setup(void)
{
	ck_assert_int_eq(acc_mkdtemp(tmpdir, sizeof(tmpdir), "/tmp", "accord-unit"), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void tmpdir_teardown(void)
{
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char paths[4][128];
	static unsigned int next;
	char *path = paths[next++ % 4];
	FILE *f;

	snprintf(path, sizeof(paths[0]), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static int load_files(struct guest *g, const char *kernel, const char *initrd, struct boot_entry *e)
{
	memset(&err, 0, sizeof(err));
	return loader__load_files(&g->m, kernel, initrd, "console=ttyS0", 1, e, &err);
}

#define expect_msg(fmt, path)                                      \
	do {                                                       \
		char expected_[ACC_ERR_MSG_MAX];                   \
		snprintf(expected_, sizeof(expected_), fmt, path); \
		ck_assert_str_eq(err.msg, expected_);              \
	} while (0)

START_TEST(test_load_files_boots_bzimage_with_initrd)
{
	static const char initrd_data[] = "070701 initramfs";
	struct bz_img b;
	struct boot_entry e;
	struct guest g;
	const char *kernel, *initrd;

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	kernel = write_file("bzImage", b.buf, b.len);
	initrd = write_file("initrd", initrd_data, sizeof(initrd_data));
	ck_assert_int_eq(load_files(&g, kernel, initrd, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_LINUX64);
	ck_assert_uint_eq(e.rip, 0x100200);
	ck_assert_uint_eq(boot_params_of(&g)->hdr.ramdisk_size, sizeof(initrd_data));
	ck_assert_mem_eq(g.buf + boot_params_of(&g)->hdr.ramdisk_image, initrd_data,
			 sizeof(initrd_data));
	ck_assert_str_eq((const char *)g.buf + LAYOUT_CMDLINE, "console=ttyS0");
	guest_free(&g);
}
END_TEST

START_TEST(test_load_files_missing_kernel_names_the_file)
{
	struct boot_entry e;
	struct guest g;
	char path[128];

	guest_init(&g, GUEST_SIZE);
	snprintf(path, sizeof(path), "%s/no-such-kernel", tmpdir);
	ck_assert_int_eq(load_files(&g, path, NULL, &e), -ENOENT);
	expect_msg("kernel '%s': No such file or directory", path);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_files_directory_is_not_a_regular_file)
{
	struct boot_entry e;
	struct guest g;

	guest_init(&g, GUEST_SIZE);
	ck_assert_int_eq(load_files(&g, tmpdir, NULL, &e), -EINVAL);
	expect_msg("kernel '%s': not a regular file", tmpdir);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_files_empty_kernel_is_rejected)
{
	struct boot_entry e;
	struct guest g;
	const char *path;

	guest_init(&g, GUEST_SIZE);
	path = write_file("empty", "", 0);
	ck_assert_int_eq(load_files(&g, path, NULL, &e), -EINVAL);
	expect_msg("kernel '%s': file is empty", path);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_files_bad_initrd_names_the_initrd)
{
	struct bz_img b;
	struct boot_entry e;
	struct guest g;
	const char *kernel, *empty;
	char missing[128];

	guest_init(&g, GUEST_SIZE);
	make_bz(&b);
	kernel = write_file("bzImage", b.buf, b.len);
	snprintf(missing, sizeof(missing), "%s/no-such-initrd", tmpdir);
	ck_assert_int_eq(load_files(&g, kernel, missing, &e), -ENOENT);
	expect_msg("initrd '%s': No such file or directory", missing);
	empty = write_file("empty-initrd", "", 0);
	ck_assert_int_eq(load_files(&g, kernel, empty, &e), -EINVAL);
	expect_msg("initrd '%s': file is empty", empty);
	guest_free(&g);
}
END_TEST

START_TEST(test_load_files_image_errors_name_the_kernel)
{
	static const uint8_t garbage[512] = { 0x7f, 'E', 'L' };
	struct boot_entry e;
	struct guest g;
	const char *path;

	guest_init(&g, GUEST_SIZE);
	path = write_file("garbage", garbage, sizeof(garbage));
	ck_assert_int_eq(load_files(&g, path, NULL, &e), -ENOEXEC);
	expect_msg("kernel '%s': neither a bzImage nor an ELF64 kernel", path);
	guest_free(&g);
}
END_TEST

Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("image");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_load_bzimage_enters_long_mode_at_0x100200);
	tcase_add_test(tc, test_load_writes_mp_table_and_bios_data_area);
	tcase_add_test(tc, test_load_bzimage_writes_gdt_and_page_tables);
	tcase_add_test(tc, test_load_elf_with_pvh_note_enters_32bit_pvh);
	tcase_add_test(tc, test_load_elf_without_note_enters_long_mode_at_e_entry);
	tcase_add_test(tc, test_load_null_cmdline_is_empty);
	tcase_add_test(tc, test_load_initrd_page_aligned_at_top_of_low_ram);
	tcase_add_test(tc, test_load_initrd_for_pvh_kernel_is_a_module);
	tcase_add_test(tc, test_load_initrd_stays_below_initrd_addr_max);
	tcase_add_test(tc, test_load_initrd_filling_all_ram_above_kernel_fits);
	tcase_add_test(tc, test_load_initrd_too_large_is_rejected);
	tcase_add_test(tc, test_load_initrd_larger_than_ram_is_rejected);
	tcase_add_test(tc, test_load_cmdline_longer_than_bzimage_limit_is_rejected);
	tcase_add_test(tc, test_load_cmdline_limit_for_elf_is_4095);
	tcase_add_test(tc, test_load_garbage_is_neither_bzimage_nor_elf);
	tcase_add_test(tc, test_load_bzimage_needing_more_ram_is_rejected);
	tcase_add_test(tc, test_load_corrupt_images_report_the_parser_error);
	tcase_add_test(tc, test_load_with_zero_cpus_is_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_load_files_boots_bzimage_with_initrd);
	tcase_add_test(tc, test_load_files_missing_kernel_names_the_file);
	tcase_add_test(tc, test_load_files_directory_is_not_a_regular_file);
	tcase_add_test(tc, test_load_files_empty_kernel_is_rejected);
	tcase_add_test(tc, test_load_files_bad_initrd_names_the_initrd);
	tcase_add_test(tc, test_load_files_image_errors_name_the_kernel);
	suite_add_tcase(s, tc);
	return s;
}
