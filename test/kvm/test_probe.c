// SPDX-License-Identifier: MIT
/*
 * KVM integration: accord boots the probe guest on /dev/kvm and the probe
 * checks what accord presents; the guest's ways of ending a VM map to the
 * documented exit statuses; bad invocations fail with one clear line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define PROBE_TIMEOUT_S 60

/* accord's documented exit statuses (accord run --help). */
enum {
	STATUS_START_FAILED = 1,
	STATUS_PROBE_FAILED = 2, /* the probe's own convention */
	STATUS_REBOOT = 120,
	STATUS_TRIPLE_FAULT = 121,
};

static void dump(const struct accord_run *r)
{
	fprintf(stderr, "--- console ---\n%s--- stderr ---\n%s--- status %d%s\n", r->console,
		r->err, r->status, r->timed_out ? " (timed out)" : "");
}

static void run_probe(struct accord_run *r, const char *kernel, const char *cpus, const char *mem,
		      const char *cmdline)
{
	const char *args[] = { "--kernel", kernel,	"--cpus", cpus, "--memory",
			       mem,	   "--cmdline", cmdline,  NULL };

	harness_run(r, args, PROBE_TIMEOUT_S, NULL, HARNESS_AS_IS);
}

/* Show what happened before an assertion about the exit status fails. */
static void expect_status(const struct accord_run *r, int status)
{
	if (r->status != status || r->timed_out)
		dump(r);
	ck_assert(!r->timed_out);
	ck_assert_int_eq(r->status, status);
}

static void assert_probe_passed(const struct accord_run *r)
{
	expect_status(r, 0);
	ck_assert_ptr_nonnull(strstr(r->console, "probe: result:"));
	ck_assert_int_eq(harness_count(r->console, " FAIL"), 0);
	ck_assert_int_gt(harness_count(r->console, "probe: check "), 0);
}

START_TEST(test_probe_passes_with_one_cpu_and_64M)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "1", "64M", "expect-mem=64M expect-cpus=1");
	assert_probe_passed(&r);
	ck_assert_ptr_nonnull(strstr(r.console, "pvh"));
	harness_free(&r);
}
END_TEST

START_TEST(test_probe_passes_with_four_cpus_and_1G)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "4", "1G", "expect-mem=1G expect-cpus=4");
	assert_probe_passed(&r);
	harness_free(&r);
}
END_TEST

START_TEST(test_probe_passes_with_memory_above_the_4G_hole)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "2", "3584M", "expect-mem=3584M expect-cpus=2");
	assert_probe_passed(&r);
	harness_free(&r);
}
END_TEST

START_TEST(test_probe_bzimage_boots_through_the_64bit_protocol)
{
	struct accord_run r;

	run_probe(&r, PROBE_BZIMAGE, "2", "128M", "expect-mem=128M expect-cpus=2");
	assert_probe_passed(&r);
	ck_assert_ptr_nonnull(strstr(r.console, "linux64"));
	ck_assert_ptr_nonnull(strstr(r.console, "expect-mem=128M expect-cpus=2"));
	harness_free(&r);
}
END_TEST

START_TEST(test_probe_reports_a_cpu_count_mismatch_as_failure)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "2", "128M", "expect-cpus=3");
	expect_status(&r, STATUS_PROBE_FAILED);
	ck_assert_int_gt(harness_count(r.console, " FAIL"), 0);
	harness_free(&r);
}
END_TEST

START_TEST(test_probe_reports_a_memory_size_mismatch_as_failure)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "1", "128M", "expect-mem=256M");
	expect_status(&r, STATUS_PROBE_FAILED);
	ck_assert_int_gt(harness_count(r.console, " FAIL"), 0);
	harness_free(&r);
}
END_TEST

START_TEST(test_guest_triple_fault_gives_status_121)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "1", "64M", "action=triple-fault");
	expect_status(&r, STATUS_TRIPLE_FAULT);
	ck_assert_ptr_nonnull(strstr(r.err, "triple fault"));
	harness_free(&r);
}
END_TEST

START_TEST(test_guest_reboot_request_gives_status_120)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "1", "64M", "action=reboot");
	expect_status(&r, STATUS_REBOOT);
	harness_free(&r);
}
END_TEST

START_TEST(test_guest_poweroff_gives_status_0)
{
	struct accord_run r;
	const char *args[] = { "--kernel",    PROBE_ELF, "--cmdline", "action=poweroff",
			       "--log-level", "debug",	 NULL };

	harness_run(&r, args, PROBE_TIMEOUT_S, NULL, HARNESS_AS_IS);
	expect_status(&r, 0);
	ck_assert_ptr_nonnull(strstr(r.err, "powered off"));
	harness_free(&r);
}
END_TEST

START_TEST(test_debug_exit_value_becomes_the_exit_status)
{
	struct accord_run r;

	run_probe(&r, PROBE_ELF, "1", "64M", "action=exit:42");
	expect_status(&r, 42);
	harness_free(&r);
}
END_TEST

static void assert_start_failure(const char *const args[], const char *message,
				 enum harness_isolation iso)
{
	struct accord_run r;

	harness_run(&r, args, 20, NULL, iso);
	if (r.status != STATUS_START_FAILED || !strstr(r.err, message))
		dump(&r);
	ck_assert_int_eq(r.status, STATUS_START_FAILED);
	ck_assert_ptr_nonnull(strstr(r.err, message));
	/* One line naming the problem, nothing else. */
	ck_assert_int_eq(harness_count(r.err, "\n"), 1);
	ck_assert_str_eq(r.console, "");
	harness_free(&r);
}

START_TEST(test_missing_kernel_file_is_named)
{
	const char *args[] = { "--kernel", "/nonexistent/vmlinux", NULL };

	assert_start_failure(args, "kernel '/nonexistent/vmlinux': No such file or directory",
			     HARNESS_AS_IS);
}
END_TEST

START_TEST(test_kernel_that_is_neither_bzimage_nor_elf_is_rejected)
{
	const char *args[] = { "--kernel", "/etc/passwd", NULL };

	assert_start_failure(args, "neither a bzImage nor an ELF64 kernel", HARNESS_AS_IS);
}
END_TEST

START_TEST(test_missing_initrd_file_is_named)
{
	const char *args[] = { "--kernel", PROBE_ELF, "--initrd", "/nonexistent/initrd", NULL };

	assert_start_failure(args, "initrd '/nonexistent/initrd'", HARNESS_AS_IS);
}
END_TEST

START_TEST(test_unknown_option_is_rejected)
{
	const char *args[] = { "--kernel", PROBE_ELF, "--frobnicate", NULL };

	assert_start_failure(args, "unknown option '--frobnicate'", HARNESS_AS_IS);
}
END_TEST

START_TEST(test_memory_beyond_the_host_is_rejected)
{
	const char *args[] = { "--kernel", PROBE_ELF, "--memory", "900G", NULL };

	assert_start_failure(args, "more than the host's", HARNESS_AS_IS);
}
END_TEST

START_TEST(test_memory_too_small_for_the_kernel_is_rejected)
{
	const char *args[] = { "--kernel", DEBIAN_VMLINUX, "--memory", "16M", NULL };

	/* Debian's vmlinux loads at 16 MiB: it cannot fit. */
	ck_assert_msg(access(DEBIAN_VMLINUX, R_OK) == 0, "%s is missing: run scripts/debian-kernel",
		      DEBIAN_VMLINUX);
	assert_start_failure(args, "outside guest RAM", HARNESS_AS_IS);
}
END_TEST

START_TEST(test_no_permission_on_dev_kvm_is_explained)
{
	const char *args[] = { "--kernel", PROBE_ELF, NULL };

	assert_start_failure(args, "no permission to open /dev/kvm", HARNESS_UNPRIVILEGED);
}
END_TEST

START_TEST(test_missing_dev_kvm_is_explained)
{
	const char *args[] = { "--kernel", PROBE_ELF, NULL };

	assert_start_failure(args, "/dev/kvm does not exist", HARNESS_NO_DEV);
}
END_TEST

static Suite *probe_suite(void)
{
	Suite *s = suite_create("kvm_probe");
	TCase *boot = tcase_create("boot");
	TCase *ends = tcase_create("ends");
	TCase *bad = tcase_create("bad_input");

	tcase_set_timeout(boot, 4 * PROBE_TIMEOUT_S);
	tcase_add_test(boot, test_probe_passes_with_one_cpu_and_64M);
	tcase_add_test(boot, test_probe_passes_with_four_cpus_and_1G);
	tcase_add_test(boot, test_probe_passes_with_memory_above_the_4G_hole);
	tcase_add_test(boot, test_probe_bzimage_boots_through_the_64bit_protocol);
	tcase_add_test(boot, test_probe_reports_a_cpu_count_mismatch_as_failure);
	tcase_add_test(boot, test_probe_reports_a_memory_size_mismatch_as_failure);
	suite_add_tcase(s, boot);

	tcase_set_timeout(ends, 2 * PROBE_TIMEOUT_S);
	tcase_add_test(ends, test_guest_triple_fault_gives_status_121);
	tcase_add_test(ends, test_guest_reboot_request_gives_status_120);
	tcase_add_test(ends, test_guest_poweroff_gives_status_0);
	tcase_add_test(ends, test_debug_exit_value_becomes_the_exit_status);
	suite_add_tcase(s, ends);

	tcase_set_timeout(bad, 60);
	tcase_add_test(bad, test_missing_kernel_file_is_named);
	tcase_add_test(bad, test_kernel_that_is_neither_bzimage_nor_elf_is_rejected);
	tcase_add_test(bad, test_missing_initrd_file_is_named);
	tcase_add_test(bad, test_unknown_option_is_rejected);
	tcase_add_test(bad, test_memory_beyond_the_host_is_rejected);
	tcase_add_test(bad, test_memory_too_small_for_the_kernel_is_rejected);
	tcase_add_test(bad, test_no_permission_on_dev_kvm_is_explained);
	tcase_add_test(bad, test_missing_dev_kvm_is_explained);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(probe_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
