// SPDX-License-Identifier: MIT
/*
 * KVM integration: the sandbox of a running VM, read from /proc. Every
 * thread of accord (the event loop and each vCPU) runs under its seccomp
 * filter with no capabilities and no_new_privs; --seccomp off leaves the
 * filters out but still drops the capabilities; a bad value is named.
 * (The filters' contents are checked by unit_host's sandbox tests.)
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TIMEOUT_S 60

/* The value of "Field:" in a /proc status file, or "(missing)". */
static char *status_field(const char *status, const char *field, char *out, size_t len)
{
	char key[64];
	const char *p;

	/* Name is the first line; every other field follows a newline. */
	snprintf(key, sizeof(key), "\n%s:", field);
	if (!strncmp(status, key + 1, strlen(key + 1))) {
		p = status + strlen(key + 1);
	} else if ((p = strstr(status, key))) {
		p += strlen(key);
	} else {
		snprintf(out, len, "(missing)");
		return out;
	}
	p += strspn(p, " \t");
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
	return out;
}

/*
 * Check every thread of @pid (KVM may attach its own, such as
 * kvm-nx-lpage-recovery, which inherit the same); returns how many vCPU
 * threads there were.
 */
static int check_threads(pid_t pid, const char *seccomp, const char *filters)
{
	char dir[64], path[384], val[64];
	struct dirent *e;
	int vcpus = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char *text;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		text = harness_slurp(path);
		ck_assert_msg(!strcmp(status_field(text, "Seccomp", val, sizeof(val)), seccomp),
			      "thread %s: Seccomp %s, not %s", e->d_name, val, seccomp);
		ck_assert_msg(
			!strcmp(status_field(text, "Seccomp_filters", val, sizeof(val)), filters),
			"thread %s: Seccomp_filters %s, not %s", e->d_name, val, filters);
		ck_assert_str_eq(status_field(text, "NoNewPrivs", val, sizeof(val)), "1");
		ck_assert_str_eq(status_field(text, "CapEff", val, sizeof(val)),
				 "0000000000000000");
		ck_assert_str_eq(status_field(text, "CapPrm", val, sizeof(val)),
				 "0000000000000000");
		ck_assert_str_eq(status_field(text, "CapBnd", val, sizeof(val)),
				 "0000000000000000");
		if (!strncmp(status_field(text, "Name", val, sizeof(val)), "vcpu", 4))
			vcpus++;
		free(text);
	}
	closedir(d);
	return vcpus;
}

/* Boot the idle probe with two vCPUs and @seccomp; check its threads; stop it. */
static void check_running_vm(const char *seccomp, const char *mode, const char *filters)
{
	const char *args[] = { "--kernel", PROBE_ELF,	"--cpus", "2", "--cmdline",
			       "idle",	   "--seccomp", seccomp,  NULL };
	struct accord_proc p;
	struct accord_run r;

	harness_start(&p, args, HARNESS_AS_IS);
	ck_assert(harness_wait_console(&p, "probe: resource idle", TIMEOUT_S));
	ck_assert_int_eq(check_threads(p.pid, mode, filters), 2);
	kill(p.pid, SIGTERM);
	harness_finish(&p, &r, TIMEOUT_S, NULL);
	ck_assert_msg(r.status == 128 + SIGTERM, "status %d; stderr:\n%s", r.status, r.err);
	ck_assert_ptr_null(strstr(r.err, "seccomp"));
	harness_free(&r);
}

START_TEST(test_every_thread_runs_filtered_without_capabilities)
{
	check_running_vm("on", "2", "1");
}
END_TEST

START_TEST(test_log_mode_filters_too)
{
	check_running_vm("log", "2", "1");
}
END_TEST

START_TEST(test_seccomp_off_still_drops_capabilities)
{
	check_running_vm("off", "0", "0");
}
END_TEST

START_TEST(test_bad_seccomp_value_is_named)
{
	const char *args[] = { "--kernel", PROBE_ELF, "--seccomp", "maybe", NULL };
	struct accord_run r;

	harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "--seccomp: 'maybe' is not on, log or off"));
	harness_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm_sandbox");
	TCase *tc = tcase_create("sandbox");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 3 * TIMEOUT_S);
	tcase_add_test(tc, test_every_thread_runs_filtered_without_capabilities);
	tcase_add_test(tc, test_log_mode_filters_too);
	tcase_add_test(tc, test_seccomp_off_still_drops_capabilities);
	tcase_add_test(tc, test_bad_seccomp_value_is_named);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
