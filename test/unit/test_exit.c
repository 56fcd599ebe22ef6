// SPDX-License-Identifier: MIT
/*
 * Unit tests: decoding KVM_RUN exits from crafted kvm_run pages (no
 * /dev/kvm). Handling them with vcpu__handle_exit, and the exit status of
 * every stop reason, are in test_vcpu_exit.c.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accord/exit.h"

#include "exit_test.h"

struct kvm_run *run;
struct vcpu_exit ex;

void run_setup(void)
{
	run = calloc(1, RUN_SIZE);
	ck_assert_ptr_nonnull(run);
	memset(&ex, 0x5a, sizeof(ex));
}

void run_teardown(void)
{
	free(run);
}

uint8_t *run_bytes(uint64_t off)
{
	return (uint8_t *)run + off;
}

void set_io(uint8_t dir, uint16_t port, uint8_t size, uint32_t count, uint64_t off)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = dir;
	run->io.port = port;
	run->io.size = size;
	run->io.count = count;
	run->io.data_offset = off;
}

void set_mmio(uint64_t addr, uint32_t len, bool write)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = addr;
	run->mmio.len = len;
	run->mmio.is_write = write;
}

static int decode(void)
{
	return exit__decode(run, RUN_SIZE, &ex);
}

#define ck_assert_malformed(reason_)                            \
	do {                                                    \
		ck_assert_int_eq(decode(), -EINVAL);            \
		ck_assert_int_eq(ex.kind, VCPU_EXIT_MALFORMED); \
		ck_assert_uint_eq(ex.reason, reason_);          \
	} while (0)

/* ---- port I/O ---- */

START_TEST(test_io_out_points_at_data_in_the_run_page)
{
	set_io(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, PIO_OFFSET);
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_IO);
	ck_assert_uint_eq(ex.reason, KVM_EXIT_IO);
	ck_assert(ex.io.write);
	ck_assert_uint_eq(ex.io.port, 0x3f8);
	ck_assert_uint_eq(ex.io.size, 1);
	ck_assert_uint_eq(ex.io.count, 1);
	ck_assert_ptr_eq(ex.io.data, run_bytes(PIO_OFFSET));
}
END_TEST

START_TEST(test_io_in_of_each_size)
{
	static const uint8_t sizes[] = { 1, 2, 4 };

	for (unsigned int i = 0; i < 3; i++) {
		set_io(KVM_EXIT_IO_IN, 0xcfc, sizes[i], 1, PIO_OFFSET + 8);
		ck_assert_int_eq(decode(), 0);
		ck_assert_int_eq(ex.kind, VCPU_EXIT_IO);
		ck_assert(!ex.io.write);
		ck_assert_uint_eq(ex.io.port, 0xcfc);
		ck_assert_uint_eq(ex.io.size, sizes[i]);
		ck_assert_ptr_eq(ex.io.data, run_bytes(PIO_OFFSET + 8));
	}
}
END_TEST

START_TEST(test_string_io_with_count_above_one)
{
	set_io(KVM_EXIT_IO_OUT, 0x1f0, 2, 256, PIO_OFFSET);
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_IO);
	ck_assert_uint_eq(ex.io.count, 256);
	ck_assert_uint_eq(ex.io.size, 2);
	/* Exactly filling the rest of the mapping is allowed. */
	set_io(KVM_EXIT_IO_IN, 0x1f0, 4, (RUN_SIZE - PIO_OFFSET) / 4, PIO_OFFSET);
	ck_assert_int_eq(decode(), 0);
	ck_assert_uint_eq(ex.io.count, 2048);
}
END_TEST

START_TEST(test_io_of_size_3_0_or_8_is_malformed)
{
	set_io(KVM_EXIT_IO_OUT, 0x80, 3, 1, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(KVM_EXIT_IO_OUT, 0x80, 0, 1, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(KVM_EXIT_IO_OUT, 0x80, 8, 1, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
}
END_TEST

START_TEST(test_io_with_count_0_is_malformed)
{
	set_io(KVM_EXIT_IO_IN, 0x80, 1, 0, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
}
END_TEST

START_TEST(test_io_with_direction_above_1_is_malformed)
{
	set_io(2, 0x80, 1, 1, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(0xff, 0x80, 1, 1, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
}
END_TEST

START_TEST(test_io_data_offset_outside_the_page_is_malformed)
{
	/* Pointing back into struct kvm_run itself. */
	set_io(KVM_EXIT_IO_IN, 0x80, 1, 1, 0);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(KVM_EXIT_IO_IN, 0x80, 1, 1, sizeof(struct kvm_run) - 1);
	ck_assert_malformed(KVM_EXIT_IO);
	/* Past the end of the mapping. */
	set_io(KVM_EXIT_IO_IN, 0x80, 1, 1, RUN_SIZE);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(KVM_EXIT_IO_IN, 0x80, 1, 1, RUN_SIZE + 4096);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(KVM_EXIT_IO_IN, 0x80, 1, 1, UINT64_MAX);
	ck_assert_malformed(KVM_EXIT_IO);
	/* The first byte after struct kvm_run is fine. */
	set_io(KVM_EXIT_IO_IN, 0x80, 1, 1, sizeof(struct kvm_run));
	ck_assert_int_eq(decode(), 0);
}
END_TEST

START_TEST(test_io_size_times_count_past_the_page_is_malformed)
{
	set_io(KVM_EXIT_IO_OUT, 0x80, 4, (RUN_SIZE - PIO_OFFSET) / 4 + 1, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(KVM_EXIT_IO_OUT, 0x80, 4, 1, RUN_SIZE - 3);
	ck_assert_malformed(KVM_EXIT_IO);
	/* A count whose product with the size would wrap 32 bits. */
	set_io(KVM_EXIT_IO_OUT, 0x80, 4, 0x40000001, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
	set_io(KVM_EXIT_IO_OUT, 0x80, 4, UINT32_MAX, PIO_OFFSET);
	ck_assert_malformed(KVM_EXIT_IO);
}
END_TEST

/* ---- MMIO ---- */

START_TEST(test_mmio_of_every_length_from_1_to_8)
{
	for (uint32_t len = 1; len <= 8; len++) {
		set_mmio(0xfee00300, len, len & 1);
		ck_assert_int_eq(decode(), 0);
		ck_assert_int_eq(ex.kind, VCPU_EXIT_MMIO);
		ck_assert_uint_eq(ex.reason, KVM_EXIT_MMIO);
		ck_assert_uint_eq(ex.mmio.addr, 0xfee00300);
		ck_assert_uint_eq(ex.mmio.len, len);
		ck_assert_int_eq(ex.mmio.write, len & 1);
		ck_assert_ptr_eq(ex.mmio.data, run->mmio.data);
	}
}
END_TEST

START_TEST(test_mmio_of_length_0_or_9_is_malformed)
{
	set_mmio(0xd0000000, 0, false);
	ck_assert_malformed(KVM_EXIT_MMIO);
	set_mmio(0xd0000000, 9, true);
	ck_assert_malformed(KVM_EXIT_MMIO);
	set_mmio(0xd0000000, UINT32_MAX, true);
	ck_assert_malformed(KVM_EXIT_MMIO);
}
END_TEST

START_TEST(test_mmio_wrapping_the_address_space_is_malformed)
{
	set_mmio(UINT64_MAX - 1, 4, false);
	ck_assert_malformed(KVM_EXIT_MMIO);
	set_mmio(UINT64_MAX - 4, 4, false);
	ck_assert_int_eq(decode(), 0);
}
END_TEST

/* ---- other exits ---- */

START_TEST(test_simple_exits_decode_to_their_kind)
{
	static const struct {
		uint32_t reason;
		enum vcpu_exit_kind kind;
	} cases[] = {
		{ KVM_EXIT_HLT, VCPU_EXIT_HLT },
		{ KVM_EXIT_SHUTDOWN, VCPU_EXIT_SHUTDOWN },
		{ KVM_EXIT_INTR, VCPU_EXIT_INTR },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run->exit_reason = cases[i].reason;
		ck_assert_int_eq(decode(), 0);
		ck_assert_int_eq(ex.kind, cases[i].kind);
		ck_assert_uint_eq(ex.reason, cases[i].reason);
	}
}
END_TEST

START_TEST(test_internal_error_keeps_suberror_and_data)
{
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->internal.ndata = 2;
	run->internal.data[0] = 0x1111;
	run->internal.data[1] = 0x2222;
	run->internal.data[2] = 0x3333;
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_INTERNAL_ERROR);
	ck_assert_uint_eq(ex.internal.suberror, KVM_INTERNAL_ERROR_EMULATION);
	ck_assert_uint_eq(ex.internal.ndata, 2);
	ck_assert_uint_eq(ex.internal.data[0], 0x1111);
	ck_assert_uint_eq(ex.internal.data[1], 0x2222);
	ck_assert_uint_eq(ex.internal.data[2], 0);
	ck_assert_uint_eq(ex.internal.data[3], 0);
}
END_TEST

START_TEST(test_internal_error_ndata_is_clamped_to_4)
{
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = 1;
	run->internal.ndata = 0xffffffff;
	for (unsigned int i = 0; i < 16; i++)
		run->internal.data[i] = 100 + i;
	ck_assert_int_eq(decode(), 0);
	ck_assert_uint_eq(ex.internal.ndata, 4);
	for (unsigned int i = 0; i < 4; i++)
		ck_assert_uint_eq(ex.internal.data[i], 100 + i);
}
END_TEST

START_TEST(test_fail_entry_keeps_hardware_reason_and_cpu)
{
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = 0x80000021;
	run->fail_entry.cpu = 3;
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_FAIL_ENTRY);
	ck_assert_uint_eq(ex.fail_entry.hw_reason, 0x80000021);
	ck_assert_uint_eq(ex.fail_entry.cpu, 3);
}
END_TEST

START_TEST(test_system_event_keeps_its_type)
{
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_SYSTEM_EVENT);
	ck_assert_uint_eq(ex.system_event.type, KVM_SYSTEM_EVENT_RESET);
}
END_TEST

START_TEST(test_unknown_exit_reason_is_reported_not_malformed)
{
	run->exit_reason = 9999;
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_UNKNOWN);
	ck_assert_uint_eq(ex.reason, 9999);
	run->exit_reason = KVM_EXIT_DEBUG;
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_UNKNOWN);
	ck_assert_uint_eq(ex.reason, KVM_EXIT_DEBUG);
}
END_TEST

START_TEST(test_run_size_smaller_than_kvm_run_is_malformed)
{
	run->exit_reason = KVM_EXIT_HLT;
	ck_assert_int_eq(exit__decode(run, sizeof(struct kvm_run) - 1, &ex), -EINVAL);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_MALFORMED);
	ck_assert_uint_eq(ex.reason, KVM_EXIT_HLT);
	ck_assert_int_eq(exit__decode(run, sizeof(struct kvm_run), &ex), 0);
	ck_assert_int_eq(ex.kind, VCPU_EXIT_HLT);
}
END_TEST

START_TEST(test_decode_clears_previous_contents)
{
	run->exit_reason = KVM_EXIT_HLT;
	ck_assert_int_eq(decode(), 0);
	ck_assert_uint_eq(ex.io.port, 0);
	ck_assert_ptr_null(ex.io.data);
	ck_assert_uint_eq(ex.internal.ndata, 0);
}
END_TEST

START_TEST(test_exit_kind_names)
{
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_IO), "io");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_MMIO), "mmio");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_HLT), "hlt");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_SHUTDOWN), "shutdown");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_INTERNAL_ERROR), "internal-error");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_FAIL_ENTRY), "fail-entry");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_SYSTEM_EVENT), "system-event");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_INTR), "intr");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_UNKNOWN), "unknown");
	ck_assert_str_eq(exit__kind_name(VCPU_EXIT_MALFORMED), "malformed");
	ck_assert_str_eq(exit__kind_name((enum vcpu_exit_kind)99), "?");
	ck_assert_str_eq(exit__kind_name((enum vcpu_exit_kind) - 1), "?");
}
END_TEST

static Suite *decode_suite(void)
{
	Suite *s = suite_create("exit decoding");
	TCase *tc = tcase_create("io");

	tcase_add_checked_fixture(tc, run_setup, run_teardown);
	tcase_add_test(tc, test_io_out_points_at_data_in_the_run_page);
	tcase_add_test(tc, test_io_in_of_each_size);
	tcase_add_test(tc, test_string_io_with_count_above_one);
	tcase_add_test(tc, test_io_of_size_3_0_or_8_is_malformed);
	tcase_add_test(tc, test_io_with_count_0_is_malformed);
	tcase_add_test(tc, test_io_with_direction_above_1_is_malformed);
	tcase_add_test(tc, test_io_data_offset_outside_the_page_is_malformed);
	tcase_add_test(tc, test_io_size_times_count_past_the_page_is_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("mmio");
	tcase_add_checked_fixture(tc, run_setup, run_teardown);
	tcase_add_test(tc, test_mmio_of_every_length_from_1_to_8);
	tcase_add_test(tc, test_mmio_of_length_0_or_9_is_malformed);
	tcase_add_test(tc, test_mmio_wrapping_the_address_space_is_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("other");
	tcase_add_checked_fixture(tc, run_setup, run_teardown);
	tcase_add_test(tc, test_simple_exits_decode_to_their_kind);
	tcase_add_test(tc, test_internal_error_keeps_suberror_and_data);
	tcase_add_test(tc, test_internal_error_ndata_is_clamped_to_4);
	tcase_add_test(tc, test_fail_entry_keeps_hardware_reason_and_cpu);
	tcase_add_test(tc, test_system_event_keeps_its_type);
	tcase_add_test(tc, test_unknown_exit_reason_is_reported_not_malformed);
	tcase_add_test(tc, test_run_size_smaller_than_kvm_run_is_malformed);
	tcase_add_test(tc, test_decode_clears_previous_contents);
	tcase_add_test(tc, test_exit_kind_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(decode_suite());
	int failed;

	srunner_add_suite(sr, handle_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
