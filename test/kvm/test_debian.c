// SPDX-License-Identifier: MIT
/*
 * accord loads Debian's own kernel (the uncompressed vmlinux, through its
 * PVH entry) and it runs far enough to print its banner on COM1. Linux
 * cannot finish booting on this nested KVM (DESIGN.md §2); the banner proves
 * the loader, the memory map, the MP table and the UART.
 *
 * earlyprintk=ttyS0 joins console=ttyS0 because the regular console only
 * registers after SLUB is set up, and SLUB's cmpxchg16b is one of the
 * instructions the nested KVM here cannot emulate (a KVM internal error).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define BANNER_TIMEOUT_S 120
#define STATUS_SIGTERM	 (128 + 15)

START_TEST(test_debian_kernel_prints_its_banner_on_the_serial_console)
{
	const char *args[] = { "--kernel",  DEBIAN_VMLINUX,
			       "--memory",  "256M",
			       "--cpus",    "2",
			       "--cmdline", "console=ttyS0 earlyprintk=ttyS0",
			       NULL };
	struct accord_run r;

	ck_assert_msg(access(DEBIAN_VMLINUX, R_OK) == 0, "%s is missing: run scripts/debian-kernel",
		      DEBIAN_VMLINUX);
	/* Stop once the kernel has parsed the MP table, a few lines after the banner. */
	harness_run(&r, args, BANNER_TIMEOUT_S, "Processors: 2", HARNESS_AS_IS);
	if (!strstr(r.console, "Linux version"))
		fprintf(stderr, "--- console ---\n%s\n--- stderr ---\n%s\n", r.console, r.err);
	ck_assert_ptr_nonnull(strstr(r.console, "Linux version"));
	/* The kernel saw the memory map and the MP table accord built. */
	ck_assert_ptr_nonnull(
		strstr(r.console, "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable"));
	ck_assert_ptr_nonnull(strstr(r.console, "MPTABLE: OEM ID: ACCORD"));
	/* The test ended the VM with SIGTERM, and accord said so in its status. */
	ck_assert(!r.timed_out);
	ck_assert_int_eq(r.status, STATUS_SIGTERM);
	harness_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm_debian");
	TCase *tc = tcase_create("banner");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, BANNER_TIMEOUT_S + 30);
	tcase_add_test(tc, test_debian_kernel_prints_its_banner_on_the_serial_console);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
