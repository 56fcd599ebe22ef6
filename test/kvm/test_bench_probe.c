// SPDX-License-Identifier: MIT
/*
 * The probe's benchmark modes, which scripts/bench times (never judged
 * here): action=exit-now and halt-now end or stop the guest before it does
 * anything; bench=exits,rng,grant run their loops at CPL 3 and report
 * complete figures; the same probe drives QEMU's microvm PCIe host through
 * ECAM (pci-ecam=, pci-mmio=), which the side-by-side runs need; malformed
 * benchmark options fail the cmdline check.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accord/tmpfile.h"
#include "harness.h"

#define TIMEOUT_S 60
#define QEMU	  "qemu-system-x86_64"

static void dump(const struct accord_run *r)
{
	fprintf(stderr, "--- console ---\n%s--- stderr ---\n%s--- status %d%s\n", r->console,
		r->err, r->status, r->timed_out ? " (timed out)" : "");
}

static void run(struct accord_run *r, const char *mem, const char *cmdline, bool rng)
{
	const char *args[] = { "--kernel",  PROBE_ELF, "--memory",	     mem,
			       "--cmdline", cmdline,   rng ? "--rng" : NULL, NULL };

	harness_run(r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	if (r->status || r->timed_out)
		dump(r);
}

/* "probe: bench NAME WHAT iterations N cycles min A p50 B ..." with N iterations and A <= B. */
static void assert_figures(const char *console, const char *name, unsigned long iters)
{
	unsigned long n, min, p50, p90, p99, max, mean;
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "probe: bench %s ", name);
	p = strstr(console, key);
	ck_assert_msg(p, "no figures for %s", name);
	p = strstr(p, " iterations ");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p,
				" iterations %lu cycles min %lu p50 %lu p90 %lu p99 %lu max %lu "
				"mean %lu",
				&n, &min, &p50, &p90, &p99, &max, &mean),
			 7);
	ck_assert_uint_eq(n, iters);
	ck_assert(min > 0 && min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= max);
	ck_assert(mean >= min && mean <= max);
	snprintf(key, sizeof(key), "check bench-%s ok", name);
	ck_assert_msg(strstr(console, key), "%s did not complete", name);
}

START_TEST(test_exit_now_exits_zero_before_printing_anything)
{
	struct accord_run r;

	run(&r, "64M", "pci=off action=exit-now", false);
	ck_assert_int_eq(r.status, 0);
	ck_assert(!r.timed_out);
	ck_assert_str_eq(r.console, "");
	harness_free(&r);
}
END_TEST

START_TEST(test_halt_now_keeps_the_vm_up_silently)
{
	const char *args[] = { "--kernel",  PROBE_ELF,	       "--memory", "64M",
			       "--cmdline", "action=halt-now", NULL };
	struct accord_proc p;
	struct accord_run r;

	harness_start(&p, args, HARNESS_AS_IS);
	sleep(1);
	/* Still running after a second (waitpid would have reaped an exit). */
	ck_assert_int_eq(waitpid(p.pid, &p.wstatus, WNOHANG), 0);
	harness_finish(&p, &r, harness_age_s(&p) + 1, "");
	ck_assert_str_eq(r.console, "");
	harness_free(&r);
}
END_TEST

START_TEST(test_floors_and_rng_round_trips_complete_at_cpl3)
{
	struct accord_run r;

	run(&r, "64M", "mptable=off smp=off bench=exits,rng bench-iters=300", true);
	ck_assert_int_eq(r.status, 0);
	assert_figures(r.console, "mmio-exit", 300);
	assert_figures(r.console, "ioeventfd", 300);
	assert_figures(r.console, "rng", 300);
	ck_assert_int_eq(harness_count(r.console, " FAIL"), 0);
	harness_free(&r);
}
END_TEST

START_TEST(test_mmio_exit_floor_runs_without_a_virtio_device)
{
	struct accord_run r;

	run(&r, "64M", "mptable=off smp=off bench=exits bench-iters=100 bench-mmio=0xd0001000",
	    false);
	ck_assert_int_eq(r.status, 0);
	assert_figures(r.console, "mmio-exit", 100);
	ck_assert_ptr_null(strstr(r.console, "bench ioeventfd"));
	harness_free(&r);
}
END_TEST

START_TEST(test_request_to_grant_round_trips_release_what_they_got)
{
	struct accord_run r;

	run(&r, "64M,max=256M", "mptable=off smp=off resource=balloon bench=grant bench-iters=200",
	    false);
	ck_assert_int_eq(r.status, 0);
	assert_figures(r.console, "grant", 200);
	ck_assert_int_eq(harness_count(r.console, " FAIL"), 0);
	/* The loop kept its event queue stocked: the host dropped none of its events. */
	ck_assert_ptr_null(strstr(r.err, "event dropped"));
	/* Each grant was released: the device's summary at exit counts as many of each. */
	{
		const char *sum = strstr(r.err, "virtio-resource: decisions: ");
		unsigned long long grants, releases;

		ck_assert_msg(sum, "no decision summary in:\n%s", r.err);
		ck_assert_int_eq(sscanf(sum,
					"virtio-resource: decisions: %llu grants, %*u denials, "
					"%*u offers, %llu releases",
					&grants, &releases),
				 2);
		ck_assert_uint_ge(grants, 200);
		ck_assert_uint_eq(releases, grants);
	}
	harness_free(&r);
}
END_TEST

START_TEST(test_grant_benchmark_without_reserved_memory_fails_its_check)
{
	struct accord_run r;

	run(&r, "64M,max=256M", "mptable=off smp=off resource=inventory bench=grant", false);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.console, "check bench-grant FAIL (needs reserved memory"));
	harness_free(&r);
}
END_TEST

static const char *const bad_options[] = {
	"bench=fast",
	"bench=rng,",
	"bench-iters=0",
	"bench-iters=65537",
	"bench-mmio=0xd0000010",
	"pci-ecam=0",
	"pci-mmio=nowhere",
	"bench=",
};

START_TEST(test_malformed_benchmark_options_fail_the_cmdline_check)
{
	struct accord_run r;
	char cmdline[128], want[96];

	snprintf(cmdline, sizeof(cmdline), "mptable=off pci=off virtio=off %s", bad_options[_i]);
	run(&r, "64M", cmdline, false);
	ck_assert_int_eq(r.status, 2);
	snprintf(want, sizeof(want), "check cmdline FAIL (bad option \"%s\")", bad_options[_i]);
	ck_assert_msg(strstr(r.console, want), "no '%s' in:\n%s", want, r.console);
	harness_free(&r);
}
END_TEST

/*
 * Run QEMU's microvm (machine: its -machine value) on the probe with cmdline
 * and the extra arguments, to its exit within TIMEOUT_S; its serial port in
 * *console. Returns QEMU's exit code.
 */
static int run_qemu(const char *machine, const char *cmdline, const char *const extra[],
		    char **console)
{
	char path[128], serial[160];
	const char *argv[32] = { QEMU,
				 "-machine",
				 machine,
				 "-accel",
				 "kvm",
				 "-m",
				 "64M",
				 "-display",
				 "none",
				 "-nodefaults",
				 "-no-user-config",
				 "-no-reboot",
				 "-device",
				 "isa-debug-exit,iobase=0xf4,iosize=1" };
	unsigned int n = 14;
	int fd = acc_mkstemp(path, sizeof(path), "/tmp", "accord-qemu"), status = -1;
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(serial, sizeof(serial), "file:%s", path);
	for (unsigned int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n++] = "-serial";
	argv[n++] = serial;
	argv[n++] = "-kernel";
	argv[n++] = PROBE_ELF;
	argv[n++] = "-append";
	argv[n++] = cmdline;
	argv[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execvp(QEMU, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < TIMEOUT_S * 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(10000);
		if (i + 1 == TIMEOUT_S * 100) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	*console = harness_slurp(path);
	unlink(path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 127,
		      QEMU " did not run (scripts/setup-deps installs qemu-system-x86)");
	return WEXITSTATUS(status);
}

START_TEST(test_probe_drives_qemu_microvm_pcie_through_ecam)
{
	static const char *const rng[] = { "-device", "virtio-rng-pci,disable-legacy=on", NULL };
	char *console;

	run_qemu("microvm,pcie=on",
		 "mptable=off smp=off expect-virtio=rng pci-ecam=0xe0000000 pci-mmio=0xc0000000 "
		 "bench=exits,rng bench-iters=200",
		 rng, &console);
	ck_assert_msg(strstr(console, "check pci-ecam ok"), "%s", console);
	ck_assert_ptr_nonnull(strstr(console, "check pci-host-bridge ok (00:00.0 1b36:0008"));
	/* BARs left at 0 by QEMU's firmware, placed in its 32-bit window. */
	ck_assert_ptr_nonnull(strstr(console, "probe: virtio rng bar4 0xc0"));
	ck_assert_ptr_nonnull(strstr(console, "check virtio-rng-poll ok"));
	ck_assert_ptr_nonnull(strstr(console, "check virtio-rng-data ok"));
	assert_figures(console, "mmio-exit", 200);
	assert_figures(console, "ioeventfd", 200);
	assert_figures(console, "rng", 200);
	free(console);
}
END_TEST

START_TEST(test_exit_now_ends_qemu_with_the_pass_status)
{
	char *console;

	/* isa-debug-exit: status 0 becomes QEMU's exit code (0 << 1) | 1. */
	ck_assert_int_eq(run_qemu("microvm", "action=exit-now", NULL, &console), 1);
	ck_assert_str_eq(console, "");
	free(console);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm_bench");
	TCase *modes = tcase_create("modes");
	TCase *qemu = tcase_create("qemu");
	SRunner *sr;
	int failed;

	tcase_set_timeout(modes, 2 * TIMEOUT_S);
	tcase_add_test(modes, test_exit_now_exits_zero_before_printing_anything);
	tcase_add_test(modes, test_halt_now_keeps_the_vm_up_silently);
	tcase_add_test(modes, test_floors_and_rng_round_trips_complete_at_cpl3);
	tcase_add_test(modes, test_mmio_exit_floor_runs_without_a_virtio_device);
	tcase_add_test(modes, test_request_to_grant_round_trips_release_what_they_got);
	tcase_add_test(modes, test_grant_benchmark_without_reserved_memory_fails_its_check);
	tcase_add_loop_test(modes, test_malformed_benchmark_options_fail_the_cmdline_check, 0,
			    (int)(sizeof(bad_options) / sizeof(bad_options[0])));
	suite_add_tcase(s, modes);
	tcase_set_timeout(qemu, 2 * TIMEOUT_S);
	tcase_add_test(qemu, test_probe_drives_qemu_microvm_pcie_through_ecam);
	tcase_add_test(qemu, test_exit_now_ends_qemu_with_the_pass_status);
	suite_add_tcase(s, qemu);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
