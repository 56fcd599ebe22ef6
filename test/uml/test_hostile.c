// SPDX-License-Identifier: MIT
/*
 * The guest driver against a hostile host: bad_backend serves a
 * virtio-resource device that sends malformed configurations, answers and
 * events (see its header), and the default guest (scripts/guest-image)
 * loads and unloads virtio_resource.ko twelve times against it. The module
 * must reject all of it without an oops: no Oops, BUG, WARNING, general
 * protection fault, call trace, KASAN or refcount report in dmesg or on
 * the console, every rmmod succeeds (the module is gone at the end), and
 * nothing of bad_backend or UML is left when bad_backend has exited.
 * Evidence that the faults reached the driver: some probes are refused
 * (bad configurations, bad WELCOMEs), some bind and then meet garbage, and
 * the driver logs its rejections.
 *
 * UML_HOSTILE_LINUX and UML_HOSTILE_INITRAMFS override the guest (a module
 * built by hand: scripts/build-module uml, scripts/uml-initramfs).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "accord/tmpfile.h"
#include "uml_util.h"

#define PROBES		12
#define BACKEND_TIMEOUT "200" /* bad_backend kills UML after this */
#define RUN_TIMEOUT_S	260   /* and the test kills bad_backend after this */
#define OOPS_PATTERN	"Oops|BUG:|WARNING:|general protection|Call Trace|KASAN|refcount"

/*
 * The guest's script, after "probes=N": load the module, look at what it
 * made, drive requests, messages and files through it, unload it, N times;
 * then count dmesg's complaints.
 */
static const char script[] =
	"i=0\n"
	"bound=0\n"
	"while [ $i -lt $probes ]; do\n"
	"	i=$((i + 1))\n"
	"	insmod /lib/modules/virtio_resource.ko || echo \"hostile: insmod $i failed\"\n"
	"	sleep 1\n"
	"	if ls /sys/bus/virtio/drivers/virtio_resource | grep -q '^virtio'; then\n"
	"		bound=$((bound + 1))\n"
	"		echo \"hostile: probe $i bound\"\n"
	"	else\n"
	"		echo \"hostile: probe $i refused\"\n"
	"	fi\n"
	"	for f in /sys/kernel/debug/virtio_resource/*/state; do\n"
	"		[ -r \"$f\" ] && cat \"$f\" >/dev/null && echo \"hostile: state $i read\"\n"
	"	done\n"
	"	for f in /sys/kernel/debug/virtio_resource/*/request; do\n"
	"		echo 'memory 4194304' 2>/dev/null >\"$f\"\n"
	"		echo 'vcpus 2' 2>/dev/null >\"$f\"\n"
	"	done\n"
	"	if [ -e /dev/virtio-resource ] && command -v resctl >/dev/null; then\n"
	"		timeout 5 resctl request memory 4M --accept --timeout 2s\n"
	"		timeout 5 resctl send hostile host\n"
	"		timeout 5 resctl cat motd\n"
	"		timeout 5 resctl recv --timeout 200ms\n"
	"	fi >/dev/null 2>&1\n"
	"	sleep 0.5\n"
	"	if lsmod | grep -q '^virtio_resource '; then\n"
	"		rmmod virtio_resource || echo \"hostile: rmmod $i failed\"\n"
	"	fi\n"
	"done\n"
	"if lsmod | grep -q '^virtio_resource '; then\n"
	"	echo 'hostile: module still loaded'\n"
	"else\n"
	"	echo 'hostile: module unloaded'\n"
	"fi\n"
	"echo \"hostile: probes $i bound $bound\"\n"
	"echo \"hostile: oopses $(dmesg | grep -cE '" OOPS_PATTERN "')\"\n"
	"exit 0\n";

struct run {
	int status;
	bool timed_out;
	bool leftovers; /* bad_backend's or UML's process group outlived it */
	char *out;	/* the guest's console and bad_backend's summary */
	char *err;
};
static const char *guest_file(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v && *v ? v : dflt;
}

static void run_backend(struct run *r)
{
	const char *linux_bin = guest_file("UML_HOSTILE_LINUX", GUEST_LINUX);
	const char *initramfs = guest_file("UML_HOSTILE_INITRAMFS", GUEST_INITRAMFS);
	char dir[64], out[96], err[96], *full, *b64, *cmdline;
	const char *p;
	double start;
	int wstatus = 0;
	pid_t pid, uml_pgid = 0;

	memset(r, 0, sizeof(*r));
	ck_assert_msg(access(linux_bin, X_OK) == 0, "%s is missing: run scripts/guest-image",
		      linux_bin);
	ck_assert_msg(access(initramfs, R_OK) == 0, "%s is missing: run scripts/guest-image",
		      initramfs);
	ck_assert_int_eq(acc_mkdtemp(dir, sizeof(dir), "/tmp", "accord-hostile"), 0);
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	ck_assert_int_gt(asprintf(&full, "probes=%d\n%s", PROBES, script), 0);
	b64 = uml_base64(full);
	ck_assert_int_gt(
		asprintf(&cmdline, "accord.module=off log_buf_len=1M accord.run=b64:%s", b64), 0);

	start = uml_now_s();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(90);
		execl(BAD_BACKEND, BAD_BACKEND, "-t", BACKEND_TIMEOUT, linux_bin, initramfs,
		      cmdline, (char *)NULL);
		_exit(91);
	}
	setpgid(pid, pid);
	for (;;) {
		pid_t w = waitpid(pid, &wstatus, WNOHANG);

		if (w == pid)
			break;
		ck_assert_int_eq(w, 0);
		if (uml_now_s() - start > RUN_TIMEOUT_S) {
			r->timed_out = true;
			kill(-pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			break;
		}
		usleep(20 * 1000);
	}
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r->out = uml_slurp(out);
	r->err = uml_slurp(err);
	p = strstr(r->err, "bad_backend: UML is process group ");
	if (p)
		uml_pgid = (pid_t)atoi(p + strlen("bad_backend: UML is process group "));
	r->leftovers =
		uml_group_left(pid, 3000) || (uml_pgid > 0 && uml_group_left(uml_pgid, 3000));
	uml_remove_tree(dir);
	free(cmdline);
	free(b64);
	free(full);
	fprintf(stderr, "uml_hostile: bad_backend status %d in %.1f s%s\n", r->status,
		uml_now_s() - start, r->timed_out ? " (timed out, killed)" : "");
}

/* Lines of @text matching @pattern (extended regex), except the kernel command line. */
static int count_lines(const char *text, const char *pattern, bool print)
{
	regex_t re;
	int n = 0;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		char *copy = strndup(line, len);

		if (!strstr(copy, "accord.run=") && regexec(&re, copy, 0, NULL, 0) == 0) {
			n++;
			if (print)
				fprintf(stderr, "uml_hostile: %s\n", copy);
		}
		free(copy);
		line += len + (line[len] == '\n');
	}
	regfree(&re);
	return n;
}

static void dump(const struct run *r)
{
	fprintf(stderr, "--- console ---\n%s\n--- stderr ---\n%s\n", r->out, r->err);
}

/* What follows @key in @text. */
static const char *after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	ck_assert_msg(p, "no \"%s\" in the output", key);
	return p + strlen(key);
}

START_TEST(test_the_module_rejects_a_hostile_device_without_an_oops)
{
	struct run r;
	long probes, bound, oopses, sessions, answers, inventory, events, rejections;
	bool clean, reached;
	int console_oopses;

	run_backend(&r);
	if (r.timed_out || r.status != 0 || !strstr(r.out, "hostile: oopses ") ||
	    !strstr(r.out, "bad_backend: sessions="))
		dump(&r);
	ck_assert(!r.timed_out);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(!r.leftovers, "processes of bad_backend or UML were left behind");

	ck_assert_int_eq(sscanf(after(r.out, "hostile: probes "), "%ld bound %ld", &probes, &bound),
			 2);
	ck_assert_int_eq(sscanf(after(r.out, "hostile: oopses "), "%ld", &oopses), 1);
	ck_assert_int_eq(sscanf(after(r.out, "bad_backend: sessions="),
				"%ld answers=%ld inventory_answers=%ld valid=%*d events=%ld",
				&sessions, &answers, &inventory, &events),
			 4);
	console_oopses = count_lines(r.out, OOPS_PATTERN, true);
	/* The driver's own complaints: dev_* lines of a virtio_resource device. */
	rejections = count_lines(r.out,
				 "virtio_resource virtio[0-9]+: .*(refused|does not decode|"
				 "unexpected|cannot|malformed|needs a reset|no hardware)",
				 false);
	fprintf(stderr,
		"uml_hostile: %ld probes, %ld bound; device sessions %ld, bad answers %ld + %ld "
		"inventory, events %ld; %ld rejections logged; dmesg %ld, console %d oops lines\n",
		probes, bound, sessions, answers, inventory, events, rejections, oopses,
		console_oopses);
	clean = oopses == 0 && console_oopses == 0 && strstr(r.out, "hostile: module unloaded\n") &&
		!strstr(r.out, "hostile: rmmod ");
	/* The faults reached the driver: probes were refused, others bound and met garbage. */
	reached = probes == PROBES && sessions >= PROBES && bound >= 1 && bound < probes &&
		  strstr(r.out, "hostile: state ") && answers + inventory > PROBES && events > 0 &&
		  rejections >= probes - bound;
	if (!clean || !reached)
		dump(&r);
	ck_assert_int_eq(oopses, 0);
	ck_assert_int_eq(console_oopses, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "hostile: module unloaded\n"));
	ck_assert_ptr_null(strstr(r.out, "hostile: rmmod "));
	ck_assert_int_eq(probes, PROBES);
	ck_assert_int_ge(sessions, PROBES);
	ck_assert_int_ge(bound, 1);
	ck_assert_int_lt(bound, probes);
	ck_assert_ptr_nonnull(strstr(r.out, "hostile: state "));
	ck_assert_int_gt(answers + inventory, PROBES);
	ck_assert_int_gt(events, 0);
	ck_assert_int_ge(rejections, probes - bound);
	free(r.out);
	free(r.err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uml_hostile");
	TCase *tc = tcase_create("hostile");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, RUN_TIMEOUT_S + 30);
	tcase_add_test(tc, test_the_module_rejects_a_hostile_device_without_an_oops);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
