// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_boot runner): bzImages built in memory, valid, truncated
 * and corrupt, through bzimage__parse.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accord/bootparams.h"
#include "accord/bzimage.h"
#include "accord/elf_kernel.h"

#include "boot_test.h"

static struct acc_err err;

/* ---- bzImages ---- */

struct setup_header *bzhdr(struct bz_img *b)
{
	return (struct setup_header *)(b->buf + BOOT_HDR_OFFSET);
}

uint8_t bz_byte(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

void make_bz(struct bz_img *b)
{
	struct setup_header *h = bzhdr(b);

	memset(b, 0, sizeof(*b));
	b->len = BZ_LEN;
	h->setup_sects = 4;
	h->boot_flag = BOOT_FLAG_MAGIC;
	h->jump = 0x6aeb; /* jmp over the header, which ends at 0x26c */
	h->header = BOOT_HDR_MAGIC;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->syssize = BZ_PAYLOAD_LEN / 16;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->pref_address = 0x1000000;
	h->init_size = 0x200000;
	for (size_t i = 0; i < BZ_PAYLOAD_LEN; i++)
		b->buf[BZ_SETUP_LEN + i] = bz_byte(i);
}

static int parse_bz(struct bz_img *b, struct bzimage *bz)
{
	memset(&err, 0, sizeof(err));
	return bzimage__parse(b->buf, b->len, bz, &err);
}

#define ck_assert_bz_error(b, expected)                        \
	do {                                                   \
		struct bzimage bz_;                            \
		ck_assert_int_eq(parse_bz(b, &bz_), -ENOEXEC); \
		ck_assert_str_eq(err.msg, expected);           \
	} while (0)

START_TEST(test_bzimage_valid_is_parsed)
{
	struct bz_img b;
	struct bzimage bz;

	make_bz(&b);
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
	ck_assert_uint_eq(bz.version, 0x020f);
	ck_assert_ptr_eq(bz.hdr, b.buf + 0x1f1);
	ck_assert_uint_eq(bz.hdr_len, 0x26c - 0x1f1);
	ck_assert_ptr_eq(bz.payload, b.buf + BZ_SETUP_LEN);
	ck_assert_uint_eq(bz.payload_len, BZ_PAYLOAD_LEN);
	ck_assert_uint_eq(bz.load_addr, BZIMAGE_LOAD_ADDR);
	ck_assert_uint_eq(bz.pref_address, 0x1000000);
	ck_assert_uint_eq(bz.init_size, 0x200000);
	ck_assert_uint_eq(bz.initrd_addr_max, 0x7fffffff);
	ck_assert_uint_eq(bz.cmdline_size, 2047);
}
END_TEST

START_TEST(test_bzimage_64bit_pref_address_is_read_whole)
{
	struct bz_img b;
	struct bzimage bz;

	make_bz(&b);
	bzhdr(&b)->pref_address = 0x123456789000ull;
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
	ck_assert_uint_eq(bz.pref_address, 0x123456789000ull);
}
END_TEST

START_TEST(test_bzimage_mem_end_covers_init_size_at_pref_address)
{
	struct bz_img b;
	struct bzimage bz;

	make_bz(&b);
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
	ck_assert_uint_eq(bzimage__mem_end(&bz), 0x1000000 + 0x200000);
	/* No preferred address and an init_size smaller than the payload. */
	bzhdr(&b)->pref_address = 0;
	bzhdr(&b)->init_size = 0x100;
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
	ck_assert_uint_eq(bzimage__mem_end(&bz), 0x100000 + BZ_PAYLOAD_LEN);
}
END_TEST

START_TEST(test_bzimage_detection)
{
	struct bz_img b;
	struct elf_img e;

	make_bz(&b);
	ck_assert(bzimage__is_bzimage(b.buf, b.len));
	ck_assert(!bzimage__is_bzimage(b.buf, 0x205));
	ck_assert(bzimage__is_bzimage(b.buf, 0x206));
	make_elf(&e, false, 0, 0);
	ck_assert(!bzimage__is_bzimage(e.buf, e.len));
	bzhdr(&b)->boot_flag = 0x55aa;
	ck_assert(!bzimage__is_bzimage(b.buf, b.len));
}
END_TEST

START_TEST(test_bzimage_missing_hdrs_is_rejected)
{
	struct bz_img b;

	make_bz(&b);
	bzhdr(&b)->header = 0x53726449; /* "IdrS" */
	ck_assert_bz_error(&b, "not a bzImage (no HdrS setup header)");
}
END_TEST

START_TEST(test_bzimage_truncated_setup_header_is_rejected)
{
	struct bz_img b;

	make_bz(&b);
	b.len = 0x1f1 + 0x40;
	ck_assert_bz_error(&b, "bzImage setup header is truncated");
}
END_TEST

START_TEST(test_bzimage_old_protocol_version_is_rejected)
{
	struct bz_img b;
	struct bzimage bz;

	make_bz(&b);
	bzhdr(&b)->version = 0x020b;
	ck_assert_bz_error(&b,
			   "boot protocol 2.11 is older than 2.12, which the 64-bit entry needs");
	bzhdr(&b)->version = 0x020c;
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
}
END_TEST

START_TEST(test_bzimage_without_64bit_entry_is_rejected)
{
	struct bz_img b;

	make_bz(&b);
	bzhdr(&b)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	ck_assert_bz_error(&b, "bzImage has no 64-bit entry point");
}
END_TEST

START_TEST(test_bzimage_not_loaded_high_is_rejected)
{
	struct bz_img b;

	make_bz(&b);
	bzhdr(&b)->loadflags = 0;
	ck_assert_bz_error(&b, "bzImage is not loaded high (zImage?)");
}
END_TEST

START_TEST(test_bzimage_syssize_larger_than_file_is_rejected)
{
	struct bz_img b;

	make_bz(&b);
	bzhdr(&b)->syssize = BZ_PAYLOAD_LEN / 16 + 1;
	ck_assert_bz_error(&b, "bzImage is truncated: header declares 4112 kernel bytes, "
			       "file has 4096");
	/* The same image cut short. */
	make_bz(&b);
	b.len -= 16;
	ck_assert_bz_error(&b, "bzImage is truncated: header declares 4096 kernel bytes, "
			       "file has 4080");
}
END_TEST

START_TEST(test_bzimage_setup_sects_past_eof_is_rejected)
{
	struct bz_img b;

	make_bz(&b);
	bzhdr(&b)->setup_sects = 20;
	ck_assert_bz_error(&b, "bzImage is truncated: no kernel after 10752 setup bytes");
	/* Setup code that ends exactly at the end of the file. */
	bzhdr(&b)->setup_sects = 12;
	ck_assert_bz_error(&b, "bzImage is truncated: no kernel after 6656 setup bytes");
}
END_TEST

START_TEST(test_bzimage_zero_setup_sects_means_four)
{
	struct bz_img b;
	struct bzimage bz;

	make_bz(&b);
	bzhdr(&b)->setup_sects = 0;
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
	ck_assert_ptr_eq(bz.payload, b.buf + BZ_SETUP_LEN);
}
END_TEST

START_TEST(test_bzimage_payload_shorter_than_64bit_entry_is_rejected)
{
	struct bz_img b;

	make_bz(&b);
	b.len = BZ_SETUP_LEN + BZIMAGE_ENTRY64;
	bzhdr(&b)->syssize = BZIMAGE_ENTRY64 / 16;
	ck_assert_bz_error(&b, "bzImage kernel is too short for its 64-bit entry");
}
END_TEST

START_TEST(test_bzimage_header_length_follows_the_jump)
{
	struct bz_img b;
	struct bzimage bz;

	make_bz(&b);
	b.buf[0x201] = 0x40;
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
	ck_assert_uint_eq(bz.hdr_len, 0x202 + 0x40 - 0x1f1);
	/* A jump past the end of the structure is clamped to it. */
	b.buf[0x201] = 0x7f;
	ck_assert_int_eq(parse_bz(&b, &bz), 0);
	ck_assert_uint_eq(bz.hdr_len, sizeof(struct setup_header));
}
END_TEST

Suite *bzimage_suite(void)
{
	Suite *s = suite_create("bzimage");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_bzimage_valid_is_parsed);
	tcase_add_test(tc, test_bzimage_64bit_pref_address_is_read_whole);
	tcase_add_test(tc, test_bzimage_mem_end_covers_init_size_at_pref_address);
	tcase_add_test(tc, test_bzimage_detection);
	tcase_add_test(tc, test_bzimage_missing_hdrs_is_rejected);
	tcase_add_test(tc, test_bzimage_truncated_setup_header_is_rejected);
	tcase_add_test(tc, test_bzimage_old_protocol_version_is_rejected);
	tcase_add_test(tc, test_bzimage_without_64bit_entry_is_rejected);
	tcase_add_test(tc, test_bzimage_not_loaded_high_is_rejected);
	tcase_add_test(tc, test_bzimage_syssize_larger_than_file_is_rejected);
	tcase_add_test(tc, test_bzimage_setup_sects_past_eof_is_rejected);
	tcase_add_test(tc, test_bzimage_zero_setup_sects_means_four);
	tcase_add_test(tc, test_bzimage_payload_shorter_than_64bit_entry_is_rejected);
	tcase_add_test(tc, test_bzimage_header_length_follows_the_jump);
	suite_add_tcase(s, tc);
	return s;
}
