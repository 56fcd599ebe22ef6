// SPDX-License-Identifier: MIT
/* Unit tests (unit_cli runner): sizes, whole numbers and size formatting. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "accord/size.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

Suite *numbers_suite(void);

static struct acc_err err;

/* ---- size__parse, uint__parse, size__format ---- */

static int size_of(const char *s, uint64_t unit, uint64_t *out)
{
	memset(&err, 0, sizeof(err));
	return size__parse(s, unit, out, &err);
}

START_TEST(test_size_bare_number_uses_default_unit)
{
	uint64_t v = 0;

	ck_assert_int_eq(size_of("64", MiB, &v), 0);
	ck_assert_uint_eq(v, 64 * MiB);
	ck_assert_int_eq(size_of("64", 1, &v), 0);
	ck_assert_uint_eq(v, 64);
	ck_assert_int_eq(size_of("0", MiB, &v), 0);
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_size_units_are_binary_and_case_insensitive)
{
	static const struct {
		const char *s;
		uint64_t v;
	} cases[] = {
		{ "1k", 1024 },
		{ "1K", 1024 },
		{ "1KB", 1024 },
		{ "1KiB", 1024 },
		{ "1kib", 1024 },
		{ "3m", 3 * MiB },
		{ "3MiB", 3 * MiB },
		{ "2G", 2 * GiB },
		{ "2gb", 2 * GiB },
		{ "5T", 5ull << 40 },
		{ "1P", 1ull << 50 },
		{ "15E", 15ull << 60 },
		{ "512B", 512 },
		{ "512b", 512 },
		{ "17179869183G", ((1ull << 34) - 1) << 30 },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;

		ck_assert_msg(size_of(cases[i].s, MiB, &v) == 0, "'%s' was rejected: %s",
			      cases[i].s, err.msg);
		ck_assert_uint_eq(v, cases[i].v);
	}
}
END_TEST

START_TEST(test_size_garbage_is_rejected_and_output_untouched)
{
	static const char *const bad[] = { "",	 "M",	"1.5G",	 "1 G", "-1",	"+1",
					   "1X", "1Ki", "1KiBB", "1BB", "0x10", " 1" };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 77;
		char expected[128];

		snprintf(expected, sizeof(expected), "'%s' is not a size (use e.g. 512M or 2G)",
			 bad[i]);
		ck_assert_int_eq(size_of(bad[i], MiB, &v), -EINVAL);
		ck_assert_str_eq(err.msg, expected);
		ck_assert_uint_eq(v, 77);
	}
}
END_TEST

START_TEST(test_size_overflow_is_rejected)
{
	uint64_t v = 77;

	ck_assert_int_eq(size_of("18446744073709551615", 1, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	v = 77;
	ck_assert_int_eq(size_of("18446744073709551616", 1, &v), -ERANGE);
	ck_assert_str_eq(err.msg, "'18446744073709551616' is too large");
	ck_assert_int_eq(size_of("16E", 1, &v), -ERANGE);
	ck_assert_int_eq(size_of("17179869184G", 1, &v), -ERANGE);
	ck_assert_int_eq(size_of("17592186044416", MiB, &v), -ERANGE);
	ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(test_uint_in_range_is_parsed)
{
	uint64_t v = 0;

	ck_assert_int_eq(uint__parse("42", 0, 100, &v, &err), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(uint__parse("1", 1, 254, &v, &err), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(uint__parse("254", 1, 254, &v, &err), 0);
	ck_assert_uint_eq(v, 254);
	ck_assert_int_eq(uint__parse("007", 0, 10, &v, &err), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(uint__parse("18446744073709551615", 0, UINT64_MAX, &v, &err), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(test_uint_out_of_range_is_rejected)
{
	uint64_t v = 77;

	ck_assert_int_eq(uint__parse("0", 1, 10, &v, &err), -ERANGE);
	ck_assert_str_eq(err.msg, "'0' is out of range (1 to 10)");
	ck_assert_int_eq(uint__parse("11", 1, 10, &v, &err), -ERANGE);
	ck_assert_str_eq(err.msg, "'11' is out of range (1 to 10)");
	ck_assert_int_eq(uint__parse("18446744073709551616", 0, UINT64_MAX, &v, &err), -ERANGE);
	ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(test_uint_that_is_not_a_number_is_rejected)
{
	static const char *const bad[] = { "", "abc", "12a", "-1", "+1", " 1", "1 ", "0x1" };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 77;
		char expected[64];

		snprintf(expected, sizeof(expected), "'%s' is not a whole number", bad[i]);
		ck_assert_int_eq(uint__parse(bad[i], 0, 100, &v, &err), -EINVAL);
		ck_assert_str_eq(err.msg, expected);
		ck_assert_uint_eq(v, 77);
	}
}
END_TEST

START_TEST(test_size_format_uses_largest_exact_unit)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ 1023, "1023" },
		{ 1024, "1K" },
		{ 1025 * 1024, "1025K" },
		{ 1536 * 1024, "1536K" },
		{ 128 * MiB, "128M" },
		{ 1536 * MiB, "1536M" },
		{ 2 * GiB, "2G" },
		{ 3ull << 40, "3T" },
		{ 1ull << 50, "1P" },
		{ 1ull << 60, "1E" },
		{ 1ull << 62, "4E" },
		{ UINT64_MAX, "18446744073709551615" },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];

		size__format(cases[i].v, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].s);
	}
}
END_TEST

START_TEST(test_size_format_truncates_to_buffer)
{
	char buf[3] = { 'x', 'x', 'x' };

	size__format(128 * MiB, buf, sizeof(buf));
	ck_assert_str_eq(buf, "12");
}
END_TEST

START_TEST(test_size_format_round_trips_through_parse)
{
	static const uint64_t sizes[] = { 8 * MiB, 129 * MiB, 3 * GiB, 1ull << 40, 4096 };

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char buf[32];
		uint64_t v = 0;

		size__format(sizes[i], buf, sizeof(buf));
		ck_assert_int_eq(size_of(buf, 1, &v), 0);
		ck_assert_uint_eq(v, sizes[i]);
	}
}
END_TEST

Suite *numbers_suite(void)
{
	Suite *s = suite_create("sizes and numbers");
	TCase *tc = tcase_create("size__parse");

	tcase_add_test(tc, test_size_bare_number_uses_default_unit);
	tcase_add_test(tc, test_size_units_are_binary_and_case_insensitive);
	tcase_add_test(tc, test_size_garbage_is_rejected_and_output_untouched);
	tcase_add_test(tc, test_size_overflow_is_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("uint__parse");
	tcase_add_test(tc, test_uint_in_range_is_parsed);
	tcase_add_test(tc, test_uint_out_of_range_is_rejected);
	tcase_add_test(tc, test_uint_that_is_not_a_number_is_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("size__format");
	tcase_add_test(tc, test_size_format_uses_largest_exact_unit);
	tcase_add_test(tc, test_size_format_truncates_to_buffer);
	tcase_add_test(tc, test_size_format_round_trips_through_parse);
	suite_add_tcase(s, tc);
	return s;
}
