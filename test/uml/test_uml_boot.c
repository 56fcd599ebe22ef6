// SPDX-License-Identifier: MIT
/*
 * User-mode Linux boots accord's initramfs as an ordinary process: the
 * kernel of scripts/uml-kernel (build/uml/linux) with the initramfs of
 * scripts/uml-initramfs. Its /init runs what accord.run= names and powers
 * off; the UML process exits with that command's status (/proc/exitcode).
 *
 * The runner below is self-contained on purpose, so that the UML tests of
 * the later steps (the vhost-user backend, the Linux module) can start from
 * it: stdin from /dev/null, the console (con0) on stdout and UML's own host
 * messages on stderr, both into files; its umid directory (pid file and
 * mconsole socket) in a private temporary directory; a timeout. UML makes
 * itself a session leader and runs every guest process as a host process of
 * its own, so the whole process group is killed at the end and the test
 * checks that none of it is left.
 *
 * UML runs with the host's address-space randomisation off (setarch -R):
 * with it, the kernel counts the random gap between its binary and its heap
 * as memory and spends up to ~20 MiB of mem= on struct pages for it, so
 * MemTotal would change from boot to boot (44 to 58 MiB of mem=64M here).
 * The console is a tty: it ends lines with CR LF, and the runner drops the CRs.
 *
 * Wall-clock times are printed, never asserted on (DESIGN.md §7).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "accord/tmpfile.h"
#include "uml_util.h"

#define BOOT_TIMEOUT_S 60
#define MEM_MIB	       64

struct uml_run {
	int status;	/* exit status, or 128+signal */
	bool timed_out; /* the runner had to kill it */
	bool leftovers; /* some of its process group outlived it */
	double seconds; /* from fork to exit */
	char *out;	/* the console: kernel log and /init's output */
	char *err;	/* UML's messages about the host */
};
/* Kill what is left of process group @pgid and wait until it is gone. */
/*
 * Boot UML with accord.run=@run (and @extra, may be NULL, on the command
 * line) and wait up to @timeout_s for it to power off.
 */
static void uml_boot(struct uml_run *r, const char *run, const char *extra, int timeout_s)
{
	char dir[64], out[96], err[96];
	char mem[32], initrd[4096], umldir[96], runarg[4096];
	const char *argv[16];
	int n = 0, wstatus = 0;
	double start;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	ck_assert_msg(access(UML_LINUX, X_OK) == 0, "%s is missing: run scripts/uml-kernel",
		      UML_LINUX);
	ck_assert_msg(access(UML_INITRAMFS, R_OK) == 0, "%s is missing: run scripts/uml-initramfs",
		      UML_INITRAMFS);
	ck_assert_int_eq(acc_mkdtemp(dir, sizeof(dir), "/tmp", "accord-uml"), 0);
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	snprintf(mem, sizeof(mem), "mem=%dM", MEM_MIB);
	snprintf(initrd, sizeof(initrd), "initrd=%s", UML_INITRAMFS);
	snprintf(umldir, sizeof(umldir), "uml_dir=%s", dir);
	snprintf(runarg, sizeof(runarg), "accord.run=%s", run);

	argv[n++] = UML_LINUX;
	argv[n++] = mem;
	argv[n++] = initrd;
	argv[n++] = umldir;
	/* The console on stdout; no other consoles or serial lines (they would take ptys). */
	argv[n++] = "con=null";
	argv[n++] = "ssl=null";
	argv[n++] = "con0=null,fd:1";
	argv[n++] = "console=tty0";
	if (extra)
		argv[n++] = extra;
	argv[n++] = runarg;
	argv[n] = NULL;

	start = uml_now_s();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		/* Its own process group at once, so the parent can always kill all of it. */
		setpgid(0, 0);
		personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(90);
		execv(UML_LINUX, (char *const *)argv);
		_exit(91);
	}
	setpgid(pid, pid); /* whichever of the two runs first */

	for (;;) {
		pid_t w = waitpid(pid, &wstatus, WNOHANG);

		if (w == pid)
			break;
		ck_assert_int_eq(w, 0);
		if (uml_now_s() - start > timeout_s) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			break;
		}
		usleep(5 * 1000);
	}
	r->seconds = uml_now_s() - start;
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r->leftovers = uml_group_left(pid, 0);
	r->out = uml_slurp(out);
	r->err = uml_slurp(err);
	uml_remove_tree(dir);

	fprintf(stderr, "uml_boot: accord.run=%s: status %d in %.2f s%s\n", run, r->status,
		r->seconds, r->timed_out ? " (timed out, killed)" : "");
}

static void uml_free(struct uml_run *r)
{
	free(r->out);
	free(r->err);
}

static void dump(const struct uml_run *r)
{
	fprintf(stderr, "--- console ---\n%s\n--- stderr ---\n%s\n", r->out, r->err);
}

/* The kernel came up, ran /init, and /init powered it off after the command. */
static void assert_clean_run(const struct uml_run *r, int status)
{
	char line[64];

	snprintf(line, sizeof(line), "accord-uml: exit %d\n", status);
	if (r->timed_out || r->status != status || !strstr(r->out, line))
		dump(r);
	ck_assert(!r->timed_out);
	ck_assert_ptr_nonnull(strstr(r->out, "Linux version 6.1."));
	ck_assert_ptr_nonnull(strstr(r->out, "accord-uml: init running\n"));
	ck_assert_ptr_nonnull(strstr(r->out, line));
	ck_assert_ptr_nonnull(strstr(r->out, "reboot: System halted"));
	ck_assert_int_eq(r->status, status);
	ck_assert_msg(!r->leftovers, "UML left processes behind after powering off");
}

START_TEST(test_boots_to_init_and_reports_the_system)
{
	struct uml_run r;
	const char *p;
	long total_kb;

	uml_boot(&r, "sysinfo", NULL, BOOT_TIMEOUT_S);
	assert_clean_run(&r, 0);
	/* The kernel is the UML build of Debian's 6.1. */
	ck_assert_ptr_nonnull(strstr(r.out, "sysinfo: uname 6.1."));
	ck_assert_ptr_nonnull(strstr(r.out, "sysinfo: cpu User Mode Linux\n"));
	/* mem=64M, less the kernel's own image and reservations. */
	p = strstr(r.out, "sysinfo: MemTotal:");
	ck_assert_ptr_nonnull(p);
	total_kb = strtol(p + strlen("sysinfo: MemTotal:"), NULL, 10);
	ck_assert_int_gt(total_kb, MEM_MIB * 1024 * 3 / 4);
	ck_assert_int_le(total_kb, MEM_MIB * 1024);
	/* PSI (the estimator samples it) and the file systems /init mounts. */
	ck_assert_ptr_nonnull(strstr(r.out, "sysinfo: psi memory some avg10="));
	ck_assert_ptr_nonnull(strstr(r.out, "sysinfo: psi memory full avg10="));
	ck_assert_ptr_nonnull(strstr(r.out, "sysinfo: file systems mounted\n"));
	uml_free(&r);
}
END_TEST

START_TEST(test_runs_a_base64_script_and_exits_with_its_status)
{
	/*
	 * This script, through `base64 -w0`:
	 *   echo "b64 says $((6 * 7))"
	 *   grep -o "accord.run=[^ ]*" /proc/cmdline | wc -l
	 *   exit 7
	 */
	const char *script =
		"ZWNobyAiYjY0IHNheXMgJCgoNiAqIDcpKSIKZ3JlcCAtbyAiYWNjb3JkLnJ1bj1bXiBdKiIg"
		"L3Byb2MvY21kbGluZSB8IHdjIC1sCmV4aXQgNwo=";
	char run[512];
	struct uml_run r;

	snprintf(run, sizeof(run), "b64:%s", script);
	uml_boot(&r, run, NULL, BOOT_TIMEOUT_S);
	assert_clean_run(&r, 7);
	ck_assert_ptr_nonnull(strstr(r.out, "b64 says 42\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "\n1\n"));
	uml_free(&r);
}
END_TEST

START_TEST(test_runs_one_command_with_comma_separated_arguments)
{
	struct uml_run r;

	uml_boot(&r, "uname,-s,-r", NULL, BOOT_TIMEOUT_S);
	assert_clean_run(&r, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\nLinux 6.1."));
	uml_free(&r);

	/* A command that is not there: the shell's 127, and still a clean power-off. */
	uml_boot(&r, "no-such-command", NULL, BOOT_TIMEOUT_S);
	assert_clean_run(&r, 127);
	uml_free(&r);

	/* Not base64: /init says so and powers off with 125. */
	uml_boot(&r, "b64:!!!", NULL, BOOT_TIMEOUT_S);
	assert_clean_run(&r, 125);
	ck_assert_ptr_nonnull(strstr(r.out, "accord-uml: accord.run= is not valid base64"));
	uml_free(&r);
}
END_TEST

START_TEST(test_a_guest_that_hangs_is_killed_with_all_its_processes)
{
	struct uml_run r;

	uml_boot(&r, "sleep,600", NULL, 5);
	ck_assert(r.timed_out);
	ck_assert_int_eq(r.status, 128 + SIGKILL);
	/* The guest's sleep was a host process too; the runner killed it with the kernel. */
	ck_assert_ptr_nonnull(strstr(r.out, "accord-uml: init running\n"));
	ck_assert_ptr_null(strstr(r.out, "accord-uml: exit"));
	uml_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uml_boot");
	TCase *tc = tcase_create("boot");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 3 * BOOT_TIMEOUT_S + 30);
	tcase_add_test(tc, test_boots_to_init_and_reports_the_system);
	tcase_add_test(tc, test_runs_a_base64_script_and_exits_with_its_status);
	tcase_add_test(tc, test_runs_one_command_with_comma_separated_arguments);
	tcase_add_test(tc, test_a_guest_that_hangs_is_killed_with_all_its_processes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
