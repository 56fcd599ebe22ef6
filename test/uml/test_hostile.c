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
 * Then the backend dies under a bound module in use (bad_backend -k: a
 * valid host that keeps every T_REQUEST unanswered, then closes its
 * vhost-user connection while UML runs on). virtio_uml breaks the device
 * and unregisters it, which runs the driver's remove. A request written to
 * debugfs (waiting for the host's answer) and one through resctl (waiting
 * behind it in the module) must both fail with ENODEV, not time out or
 * hang; the driver must say that the device went away and that a call was
 * in flight; the device is unbound, its node gone and rmmod succeeds; and
 * neither dmesg nor the console has an oops. User-mode Linux 6.1's own
 * transport warns when its backend is gone (vu_interrupt reads the dead
 * call files, vu_del_vqs cannot send its last messages): those WARNINGs
 * and their call traces are counted apart, any other one fails the test.
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

#define PROBES		  12
#define BACKEND_TIMEOUT_S 200 /* bad_backend kills UML after this */
#define RUN_GRACE_S	  60  /* and the test kills bad_backend this much later */
#define DEAD_TIMEOUT_S	  90  /* the same for the dead backend's run */
#define DEAD_AFTER_S	  4   /* the backend dies this long after the first request */
#define OOPS_PATTERN	  "Oops|BUG:|WARNING:|general protection|Call Trace|KASAN|refcount"
/* The reports of User-mode Linux's transport when its backend is gone (see above). */
#define UML_GONE_PATTERN \
	"WARNING: .* at arch/um/drivers/virtio_uml\\.c:[0-9]+ (vu_interrupt|vu_del_vqs)\\+"

/*
 * The guest's script, after "probes=N": load the module, look at what it
 * made, drive requests, messages and files through it, unload it, N times;
 * then count dmesg's complaints.
 */
static const char hostile_script[] =
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

/*
 * The dead backend's guest: bind the module, start two requests the host
 * keeps (debugfs, then resctl behind it), say how and when each ended,
 * wait for the device to be unbound, unload the module and print dmesg's
 * reports between "dead: dmesg {" and "dead: dmesg }".
 */
static const char dead_script[] =
	"bound() { ls /sys/bus/virtio/drivers/virtio_resource | grep -q '^virtio'; }\n"
	"insmod /lib/modules/virtio_resource.ko || echo 'dead: insmod failed'\n"
	"sleep 1\n"
	"dev=$(ls /sys/bus/virtio/drivers/virtio_resource | grep '^virtio')\n"
	"echo \"dead: bound $dev\"\n"
	"req=/sys/kernel/debug/virtio_resource/$dev/request\n"
	"t0=$(date +%s)\n"
	"(\n"
	"	err=$(echo 'memory 4194304' 2>&1 >\"$req\")\n"
	"	echo \"dead: debugfs request: status $? after $(($(date +%s) - t0)) s: $err\"\n"
	") &\n"
	"sleep 0.5\n"
	"(\n"
	"	out=$(resctl request memory 4M --timeout 60s 2>&1)\n"
	"	echo \"dead: resctl request: status $? after $(($(date +%s) - t0)) s: $out\"\n"
	") &\n"
	"wait\n"
	"i=0\n"
	"while bound && [ $i -lt 20 ]; do\n"
	"	sleep 0.5\n"
	"	i=$((i + 1))\n"
	"done\n"
	"if bound; then\n"
	"	echo 'dead: still bound'\n"
	"else\n"
	"	echo 'dead: unbound'\n"
	"fi\n"
	"[ -e /dev/virtio-resource ] && echo 'dead: device node left'\n"
	"rmmod virtio_resource && echo 'dead: rmmod ok'\n"
	"lsmod | grep -q '^virtio_resource ' && echo 'dead: module still loaded'\n"
	"echo 'dead: dmesg {'\n"
	"dmesg | grep -E 'cut here|end trace|virtio_resource|" OOPS_PATTERN "'\n"
	"echo 'dead: dmesg }'\n"
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

/*
 * bad_backend with @script as the guest's accord.run=, a timeout of
 * @timeout_s and, unless @dead_after_s is 0, -k @dead_after_s. The test
 * kills it RUN_GRACE_S after its own timeout.
 */
static void run_backend(struct run *r, const char *script, int timeout_s, int dead_after_s)
{
	const char *linux_bin = guest_file("UML_HOSTILE_LINUX", GUEST_LINUX);
	const char *initramfs = guest_file("UML_HOSTILE_INITRAMFS", GUEST_INITRAMFS);
	char dir[64], out[96], err[96], timeout[16], dead_after[16], *b64, *cmdline;
	const char *argv[10], **arg = argv, *p;
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
	b64 = uml_base64(script);
	ck_assert_int_gt(
		asprintf(&cmdline, "accord.module=off log_buf_len=1M accord.run=b64:%s", b64), 0);
	snprintf(timeout, sizeof(timeout), "%d", timeout_s);
	snprintf(dead_after, sizeof(dead_after), "%d", dead_after_s);
	*arg++ = BAD_BACKEND;
	*arg++ = "-t";
	*arg++ = timeout;
	if (dead_after_s) {
		*arg++ = "-k";
		*arg++ = dead_after;
	}
	*arg++ = linux_bin;
	*arg++ = initramfs;
	*arg++ = cmdline;
	*arg = NULL;

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
		execv(BAD_BACKEND, (char *const *)argv);
		_exit(91);
	}
	setpgid(pid, pid);
	for (;;) {
		pid_t w = waitpid(pid, &wstatus, WNOHANG);

		if (w == pid)
			break;
		ck_assert_int_eq(w, 0);
		if (uml_now_s() - start > timeout_s + RUN_GRACE_S) {
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
	fprintf(stderr, "uml_hostile: bad_backend status %d in %.1f s%s\n", r->status,
		uml_now_s() - start, r->timed_out ? " (timed out, killed)" : "");
}

/*
 * Lines of @text matching @pattern (extended regex), except the kernel
 * command line. Unless @uml_gone is NULL, the WARNINGs of UML_GONE_PATTERN
 * and the call traces of their reports (up to "---[ end trace") are counted
 * there instead.
 */
static int count_lines(const char *text, const char *pattern, bool print, int *uml_gone)
{
	regex_t re, gone;
	bool in_gone = false;
	int n = 0;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(regcomp(&gone, UML_GONE_PATTERN, REG_EXTENDED | REG_NOSUB), 0);
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		char *copy = strndup(line, len);

		if (uml_gone && regexec(&gone, copy, 0, NULL, 0) == 0) {
			(*uml_gone)++;
			in_gone = true;
		} else if (in_gone && strstr(copy, "---[ end trace")) {
			in_gone = false;
		} else if (!strstr(copy, "accord.run=") && regexec(&re, copy, 0, NULL, 0) == 0 &&
			   !(in_gone && strstr(copy, "Call Trace"))) {
			n++;
			if (print)
				fprintf(stderr, "uml_hostile: %s\n", copy);
		}
		free(copy);
		line += len + (line[len] == '\n');
	}
	regfree(&gone);
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

/* The rest of the line after @key in @text (malloc'd). */
static char *rest_of_line(const char *text, const char *key)
{
	const char *p = after(text, key);

	return strndup(p, strcspn(p, "\n"));
}

/* The lines of @text between the line @begin and the line @end (malloc'd). */
static char *section(const char *text, const char *begin, const char *end)
{
	const char *p = after(text, begin), *q = strstr(p, end);

	ck_assert_msg(q, "no \"%s\" in the output", end);
	return strndup(p, (size_t)(q - p));
}

START_TEST(test_the_module_rejects_a_hostile_device_without_an_oops)
{
	struct run r;
	long probes, bound, oopses, sessions, answers, inventory, events, rejections;
	bool clean, reached;
	int console_oopses;
	char *script;

	ck_assert_int_gt(asprintf(&script, "probes=%d\n%s", PROBES, hostile_script), 0);
	run_backend(&r, script, BACKEND_TIMEOUT_S, 0);
	free(script);
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
	console_oopses = count_lines(r.out, OOPS_PATTERN, true, NULL);
	/* The driver's own complaints: dev_* lines of a virtio_resource device. */
	rejections = count_lines(r.out,
				 "virtio_resource virtio[0-9]+: .*(refused|does not decode|"
				 "unexpected|cannot|malformed|needs a reset|no hardware)",
				 false, NULL);
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

START_TEST(test_the_module_survives_its_backend_dying)
{
	const char *went = "virtio_resource virtio[0-9]+: the device went away \\(",
		   *in_flight = "virtio_resource virtio[0-9]+: queue [0-9]+: the device went away "
				"with the call in flight";
	int dbg_status = -1, ctl_status = -1;
	int oopses, dmesg_oopses, gone = 0, dmesg_gone = 0, reports, dmesg_reports, cut;
	long parked = -1, dropped = -1;
	char *dmesg, *dbg, *ctl;
	struct run r;
	bool clean;

	run_backend(&r, dead_script, DEAD_TIMEOUT_S, DEAD_AFTER_S);
	if (r.timed_out || r.status != 0 || !strstr(r.out, "dead: dmesg }") ||
	    !strstr(r.out, "bad_backend: sessions="))
		dump(&r);
	ck_assert(!r.timed_out);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(!r.leftovers, "processes of bad_backend or UML were left behind");

	ck_assert_int_eq(sscanf(after(r.out, " parked="), "%ld dropped=%ld", &parked, &dropped), 2);
	dbg = rest_of_line(r.out, "dead: debugfs request: status ");
	ctl = rest_of_line(r.out, "dead: resctl request: status ");
	ck_assert_int_eq(sscanf(dbg, "%d", &dbg_status), 1);
	ck_assert_int_eq(sscanf(ctl, "%d", &ctl_status), 1);
	dmesg = section(r.out, "dead: dmesg {\n", "dead: dmesg }");
	/* The console and, printed on it at the end, the guest's dmesg. */
	oopses = count_lines(r.out, OOPS_PATTERN, true, &gone);
	dmesg_oopses = count_lines(dmesg, OOPS_PATTERN, false, &dmesg_gone);
	reports = count_lines(r.out, went, false, NULL);
	dmesg_reports = count_lines(dmesg, went, true, NULL);
	cut = count_lines(dmesg, in_flight, true, NULL);
	fprintf(stderr,
		"uml_hostile: dead backend: %ld requests kept, connection closed %ld; debugfs "
		"request: status %s; resctl request: status %s; device gone reported %d times on "
		"the console and %d in dmesg, a call cut %d; oops lines %d (dmesg %d); UML's "
		"transport warned %d times (dmesg %d)\n",
		parked, dropped, dbg, ctl, reports - dmesg_reports, dmesg_reports, cut, oopses,
		dmesg_oopses, gone, dmesg_gone);
	clean = oopses == 0 && strstr(r.out, "dead: unbound\n") &&
		strstr(r.out, "dead: rmmod ok\n") && !strstr(r.out, "dead: device node left") &&
		!strstr(r.out, "dead: module still");
	if (!clean || parked < 1 || dropped != 1 || dbg_status == 0 || ctl_status == 0 ||
	    !strstr(dbg, "No such device") || !strstr(ctl, "No such device") ||
	    reports - dmesg_reports < 1 || dmesg_reports < 1 || cut < 1)
		dump(&r);
	/* The backend died with the module's request in its hands, UML running on. */
	ck_assert_ptr_nonnull(strstr(r.out, "dead: bound virtio"));
	ck_assert_int_ge(parked, 1);
	ck_assert_int_eq(dropped, 1);
	/* Both callers got an error that says the device is gone (not a timeout). */
	ck_assert_int_ne(dbg_status, 0);
	ck_assert_ptr_nonnull(strstr(dbg, "No such device"));
	ck_assert_int_ne(ctl_status, 0);
	ck_assert_ptr_nonnull(strstr(ctl, "No such device"));
	/* The module said so, on the console and in dmesg. */
	ck_assert_int_ge(reports - dmesg_reports, 1);
	ck_assert_int_ge(dmesg_reports, 1);
	ck_assert_int_ge(cut, 1);
	/* No oops, the device unbound, its node gone, the module unloaded. */
	ck_assert_int_eq(oopses, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "dead: unbound\n"));
	ck_assert_ptr_null(strstr(r.out, "dead: device node left"));
	ck_assert_ptr_nonnull(strstr(r.out, "dead: rmmod ok\n"));
	ck_assert_ptr_null(strstr(r.out, "dead: module still loaded"));
	free(dmesg);
	free(ctl);
	free(dbg);
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

	tcase_set_timeout(tc, BACKEND_TIMEOUT_S + RUN_GRACE_S + 30);
	tcase_add_test(tc, test_the_module_rejects_a_hostile_device_without_an_oops);
	tcase_add_test(tc, test_the_module_survives_its_backend_dying);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
