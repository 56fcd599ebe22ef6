// SPDX-License-Identifier: MIT
/*
 * Real Linux, real driver, real backend: accord runs the default guest
 * (scripts/guest-image: User-mode Linux, virtio_resource.ko, resctl, memhog)
 * with --accel uml and serves its resource device over vhost-user. Each test
 * gives the guest a shell script (accord.run=b64:...) that prints "T: key=value"
 * lines, and talks to accord over the control socket where the behaviour is
 * the host's:
 *
 *  - the driver loads and reads the hardware description; resctl shows it;
 *  - a growing workload makes the estimator ask before the workload fails,
 *    and the grant shows in MemTotal and on the socket;
 *  - applications' requests through /dev/virtio-resource get GRANT, DENY or
 *    OFFER as the host policy says, and land in the request table;
 *  - a reclaim over the socket inflates the balloon and the host-side memory
 *    file (UML's physical memory, passed over vhost-user) shrinks;
 *  - unloading returns every balloon page; reloading works.
 *
 * Every script ends by counting oopses and warnings in dmesg.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accord/tmpfile.h"
#include "harness.h"
#include "uml_util.h"
#include "qmp_client.h"

#define TIMEOUT_S 120
#define MiB	  (1ll << 20)

/* Appended to every script: the kernel's complaints, counted. */
#define DMESG_CHECK                                                                           \
	"echo \"T: oops=$(dmesg | grep -cE 'Oops|BUG:|WARNING:|Call Trace|general protection" \
	"|refcount_t')\"\n"

/* "accord.run=b64:..." plus @extra kernel parameters. */
static char *guest_cmdline(const char *script, const char *extra)
{
	char *full, *b64, *line;

	ck_assert_int_gt(asprintf(&full, "%s\n%s", script, DMESG_CHECK), 0);
	b64 = uml_base64(full);
	ck_assert_int_gt(asprintf(&line, "accord.run=b64:%s %s", b64, extra ? extra : ""), 0);
	free(full);
	free(b64);
	return line;
}

static void dump(const struct accord_run *r)
{
	fprintf(stderr, "--- console ---\n%s--- stderr ---\n%s--- status %d%s\n", r->console,
		r->err, r->status, r->timed_out ? " (timed out)" : "");
}

/* The value of the last "T: key=VALUE" line, or @missing. */
static long long tval(const char *console, const char *key, long long missing)
{
	char needle[64];
	const char *p = console, *hit = NULL;

	snprintf(needle, sizeof(needle), "T: %s=", key);
	while ((p = strstr(p, needle))) {
		hit = p + strlen(needle);
		p = hit;
	}
	return hit ? strtoll(hit, NULL, 0) : missing;
}

/* The guest ran its script to the end, without an oops, and powered off. */
static void assert_clean(const struct accord_run *r)
{
	if (r->timed_out || r->status || tval(r->console, "oops", -1) != 0)
		dump(r);
	ck_assert(!r->timed_out);
	ck_assert_int_eq(r->status, 0);
	ck_assert_ptr_nonnull(strstr(r->console, "accord-uml: exit 0"));
	ck_assert_int_eq(tval(r->console, "oops", -1), 0);
}

static void run_guest(struct accord_run *r, const char *memory, const char *script,
		      const char *extra, const char *more_arg, const char *more_val)
{
	char *cmdline = guest_cmdline(script, extra);
	const char *args[] = { "--accel", "uml",    "--memory", memory, "--cmdline",
			       cmdline,	  more_arg, more_val,	NULL };

	harness_run(r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	free(cmdline);
}

START_TEST(test_the_driver_loads_and_reads_the_hardware_description)
{
	static const char script[] = "resctl info\n"
				     "echo \"T: resctl=$?\"\n"
				     "echo \"T: valid=$(sed -n 's/^inventory.valid: //p' "
				     "/sys/kernel/debug/virtio_resource/*/state)\"\n"
				     "echo \"T: cpus=$(sed -n 's/^inventory.cpus: //p' "
				     "/sys/kernel/debug/virtio_resource/*/state)\"\n"
				     "ls -l /dev/virtio-resource && echo \"T: node=1\"\n";
	struct accord_run r;

	run_guest(&r, "128M", script, "virtio_resource.estimator_ms=0", NULL, NULL);
	assert_clean(&r);
	ck_assert_int_eq(tval(r.console, "resctl", -1), 0);
	ck_assert_int_eq(tval(r.console, "valid", -1), 1);
	ck_assert_int_eq(tval(r.console, "cpus", -1), sysconf(_SC_NPROCESSORS_CONF));
	ck_assert_int_eq(tval(r.console, "node", -1), 1);
	/* resctl shows the allocation the host gave. */
	ck_assert_ptr_nonnull(strstr(r.console, "memory: 128 MiB granted of 128 MiB"));
	ck_assert_ptr_nonnull(strstr(r.err, "guest driver says hello"));
	harness_free(&r);
}
END_TEST

START_TEST(test_a_growing_workload_makes_the_estimator_ask_before_it_fails)
{
	static const char script[] =
		"echo \"T: total_before=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)\"\n"
		"memhog --rate 16M --max 192M --hold 1 --interval 2\n"
		"echo \"T: memhog=$?\"\n"
		"echo \"T: total_after=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)\"\n"
		"resctl table\n";
	char dir[64], sock[96], *cmdline;
	struct qmp_client *qc = calloc(1, sizeof(*qc));
	struct json_object *ev, *alloc;
	struct accord_proc p;
	struct accord_run r;
	long long granted;

	ck_assert_ptr_nonnull(qc);
	ck_assert_int_eq(acc_mkdtemp(dir, sizeof(dir), "/tmp", "accord-uml"), 0);
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	cmdline = guest_cmdline(script, "virtio_resource.estimator_ms=200");
	{
		const char *args[] = { "--accel",      "uml",	    "--memory",
				       "64M,max=512M", "--cmdline", cmdline,
				       "--api-socket", sock,	    NULL };

		harness_start(&p, args, HARNESS_AS_IS);
	}
	ck_assert(qmpc_connect(qc, sock, 30));
	/* The driver asks on its own (app-id 0) and the host grants. */
	ev = qmpc_wait_event(qc, "GRANT", 60);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(json_object_get_int64(qmpc_get(ev, "data.app-id")), 0);
	json_object_put(ev);
	/* And the socket shows the grant. */
	alloc = qmpc_execute(qc, "{\"execute\":\"query-allocation\"}", 10);
	ck_assert_ptr_nonnull(alloc);
	granted = json_object_get_int64(qmpc_get(alloc, "return.memory.granted"));
	json_object_put(alloc);
	ck_assert_int_gt(granted, 64 * MiB);
	harness_finish(&p, &r, TIMEOUT_S, NULL);
	assert_clean(&r);
	ck_assert_int_eq(tval(r.console, "memhog", -1), 0);
	/* The grant shows in the guest: MemTotal grew by most of what was asked. */
	ck_assert_int_ge(tval(r.console, "total_after", 0) - tval(r.console, "total_before", 0),
			 100 * 1024);
	qmpc_close(qc);
	free(qc);
	free(cmdline);
	rmdir(dir);
	harness_free(&r);
}
END_TEST

START_TEST(test_applications_get_grant_deny_and_offer_as_the_policy_says)
{
	/* 64 MiB granted of 256, pool 160: 96 left to give. */
	static const char script[] = "resctl request memory 32M --latency batch\n"
				     "echo \"T: grant=$?\"\n"
				     "resctl request memory 1G\n"
				     "echo \"T: deny=$?\"\n"
				     "resctl request memory 128M --min 16M --urgency high\n"
				     "echo \"T: offer=$?\"\n"
				     "resctl table\n"
				     "echo \"T: rows=$(resctl table | grep -c resctl)\"\n"
				     "cat /sys/kernel/debug/virtio_resource/*/requests\n";
	struct accord_run r;

	run_guest(&r, "64M,max=256M", script, "virtio_resource.estimator_ms=0", "--pool",
		  "memory=160M");
	assert_clean(&r);
	ck_assert_int_eq(tval(r.console, "grant", -1), 0);
	ck_assert_int_eq(tval(r.console, "deny", -1), 3);
	ck_assert_int_eq(tval(r.console, "offer", -1), 4);
	ck_assert_int_ge(tval(r.console, "rows", -1), 3);
	ck_assert_ptr_nonnull(strstr(r.console, "GRANT"));
	ck_assert_ptr_nonnull(strstr(r.console, "DENY"));
	ck_assert_ptr_nonnull(strstr(r.console, "OFFER"));
	/* The host's side of the same three decisions. */
	ck_assert_ptr_nonnull(strstr(r.err, ": GRANT ("));
	ck_assert_ptr_nonnull(strstr(r.err, ": DENY ("));
	ck_assert_ptr_nonnull(strstr(r.err, ": OFFER ("));
	harness_free(&r);
}
END_TEST

static long long file_bytes(struct qmp_client *qc)
{
	struct json_object *rep = qmpc_execute(qc, "{\"execute\":\"query-status\"}", 10);
	long long v;

	ck_assert_ptr_nonnull(rep);
	v = json_object_get_int64(qmpc_get(rep, "return.memory-file-bytes"));
	json_object_put(rep);
	return v;
}

START_TEST(test_a_host_reclaim_inflates_the_balloon_and_the_memory_file_shrinks)
{
	/* Touch most of RAM first, so that the balloon's pages are backed on the host. */
	static const char script[] =
		"memhog --rate 256M --max 180M\n"
		"echo \"T: total_before=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)\"\n"
		"echo T: ready\n"
		"i=0; while [ $i -lt 100 ] && ! grep -q reclaim_done /tmp/mark 2>/dev/null; do\n"
		"  sleep 0.2; i=$((i+1)); cat /proc/meminfo > /dev/null\n"
		"  r=$(sed -n 's/^config.mem_reserved: //p' "
		"/sys/kernel/debug/virtio_resource/*/state)\n"
		"  [ \"$r\" -ge 134217728 ] && echo reclaim_done > /tmp/mark\n"
		"done\n"
		"echo \"T: reserved=$r\"\n"
		"echo \"T: total_after=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)\"\n";
	char dir[64], sock[96], *cmdline;
	struct qmp_client *qc = calloc(1, sizeof(*qc));
	struct json_object *rep, *ev;
	long long before, after;
	struct accord_proc p;
	struct accord_run r;

	ck_assert_ptr_nonnull(qc);
	ck_assert_int_eq(acc_mkdtemp(dir, sizeof(dir), "/tmp", "accord-uml"), 0);
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	cmdline = guest_cmdline(script, "virtio_resource.estimator_ms=0");
	{
		const char *args[] = { "--accel", "uml",	  "--memory", "256M", "--cmdline",
				       cmdline,	  "--api-socket", sock,	      NULL };

		harness_start(&p, args, HARNESS_AS_IS);
	}
	ck_assert(qmpc_connect(qc, sock, 30));
	ck_assert(harness_wait_console(&p, "T: ready", 60));
	before = file_bytes(qc);
	rep = qmpc_execute(qc, "{\"execute\":\"reclaim\",\"arguments\":{\"memory\":134217728}}",
			   10);
	ck_assert_ptr_nonnull(qmpc_get(rep, "return"));
	json_object_put(rep);
	ev = qmpc_wait_event(qc, "RECLAIM_COMPLETED", 60);
	ck_assert_ptr_nonnull(ev);
	json_object_put(ev);
	after = file_bytes(qc);
	fprintf(stderr, "uml_module: memory file %lld MiB before the reclaim, %lld MiB after\n",
		before / MiB, after / MiB);
	harness_finish(&p, &r, TIMEOUT_S, NULL);
	assert_clean(&r);
	ck_assert_int_ge(tval(r.console, "reserved", 0), 128 * MiB);
	ck_assert_int_ge(tval(r.console, "total_before", 0) - tval(r.console, "total_after", 0),
			 128 * 1024);
	/* Most of the 128 MiB the guest handed back left the host's file. */
	ck_assert_int_ge(before - after, 96 * MiB);
	qmpc_close(qc);
	free(qc);
	free(cmdline);
	rmdir(dir);
	harness_free(&r);
}
END_TEST

START_TEST(test_unloading_returns_every_balloon_page_and_reloading_works)
{
	/* 64 MiB granted of 256: the driver balloons 192 MiB at load. */
	static const char script[] =
		"t() { awk '/^MemTotal/ {print $2}' /proc/meminfo; }\n"
		"echo \"T: before=$(t)\"\n"
		"insmod /lib/modules/virtio_resource.ko estimator_ms=0 || exit 1\n"
		"echo \"T: loaded=$(t)\"\n"
		"rmmod virtio_resource || exit 1\n"
		"echo \"T: unloaded=$(t)\"\n"
		"insmod /lib/modules/virtio_resource.ko estimator_ms=0 || exit 1\n"
		"echo \"T: reloaded=$(t)\"\n"
		"resctl info\n"
		"echo \"T: resctl=$?\"\n"
		"rmmod virtio_resource || exit 1\n"
		"echo \"T: unloaded2=$(t)\"\n"
		"lsmod | grep -q virtio_resource; echo \"T: gone=$?\"\n";
	struct accord_run r;
	long long before;

	run_guest(&r, "64M,max=256M", script, "accord.module=off", NULL, NULL);
	assert_clean(&r);
	before = tval(r.console, "before", -1);
	ck_assert_int_gt(before, 0);
	/* Loaded: the balloon holds what is above the grant. */
	ck_assert_int_le(tval(r.console, "loaded", 0), before - 180 * 1024);
	/* Unloaded: every page back, to the kB. */
	ck_assert_int_eq(tval(r.console, "unloaded", -1), before);
	ck_assert_int_eq(tval(r.console, "reloaded", -1), tval(r.console, "loaded", 0));
	ck_assert_int_eq(tval(r.console, "resctl", -1), 0);
	ck_assert_int_eq(tval(r.console, "unloaded2", -1), before);
	ck_assert_int_eq(tval(r.console, "gone", -1), 1);
	harness_free(&r);
}
END_TEST

/* A line "Key:\tVALUE" of /proc/PID/status, as a number in @base (-1: none). */
static long long proc_status(pid_t pid, const char *key, int base)
{
	char path[64], *text, *p;
	long long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = harness_slurp(path);
	p = strstr(text, key);
	if (p && p[strlen(key)] == ':')
		v = strtoll(p + strlen(key) + 1, NULL, base);
	free(text);
	return v;
}

START_TEST(test_runas_runs_the_guest_process_as_another_user_without_capabilities)
{
	static const char script[] = "echo \"T: ready=1\"\n"
				     "resctl info >/dev/null\n"
				     "echo \"T: resctl=$?\"\n"
				     "sleep 600\n";
	char *cmdline = guest_cmdline(script, "virtio_resource.estimator_ms=0");
	const char *args[] = { "--accel", "uml",     "--memory", "128M", "--cmdline",
			       cmdline,	  "--runas", "nobody",	 NULL };
	struct accord_proc p;
	struct accord_run r;
	pid_t uml;

	if (geteuid()) {
		fprintf(stderr, "uml_module: --runas needs root; this run is not\n");
		free(cmdline);
		return;
	}
	harness_start(&p, args, HARNESS_AS_IS);
	ck_assert_msg(harness_wait_console(&p, "T: ready=1", TIMEOUT_S), "the guest did not start");
	uml = uml_kernel_pid(p.pid);
	ck_assert_int_gt(uml, 0);
	/* The guest's process: nobody, no groups, no capabilities, no way to gain any. */
	ck_assert_int_eq(proc_status(uml, "Uid", 10), 65534);
	ck_assert_int_eq(proc_status(uml, "Gid", 10), 65534);
	ck_assert_int_eq(proc_status(uml, "CapEff", 16), 0);
	ck_assert_int_eq(proc_status(uml, "CapPrm", 16), 0);
	ck_assert_int_eq(proc_status(uml, "CapBnd", 16), 0);
	ck_assert_int_eq(proc_status(uml, "CapInh", 16), 0);
	ck_assert_int_eq(proc_status(uml, "CapAmb", 16), 0);
	ck_assert_int_eq(proc_status(uml, "NoNewPrivs", 10), 1);
	/* No supplementary groups; effective, saved and file-system uids too. */
	{
		char path[64], *text, *groups, *ids;
		int real, eff, saved, fs;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)uml);
		text = harness_slurp(path);
		groups = strstr(text, "\nGroups:");
		ids = strstr(text, "\nUid:");
		ck_assert(groups && ids);
		groups += strlen("\nGroups:");
		ck_assert_msg(groups[strspn(groups, " \t")] == '\n', "supplementary groups: %.40s",
			      groups);
		ck_assert_int_eq(sscanf(ids, "\nUid: %d %d %d %d", &real, &eff, &saved, &fs), 4);
		ck_assert(real == 65534 && eff == 65534 && saved == 65534 && fs == 65534);
		free(text);
	}
	/* accord stays root with one capability: CAP_KILL, to stop a guest of another user. */
	ck_assert_int_eq(proc_status(p.pid, "Uid", 10), 0);
	ck_assert_int_eq(proc_status(p.pid, "CapEff", 16), 1ll << 5);
	ck_assert_int_eq(proc_status(p.pid, "CapBnd", 16), 0);
	/* The device works across the two users (vhost-user socket, memory file)... */
	ck_assert_msg(harness_wait_console(&p, "T: resctl=", TIMEOUT_S), "resctl did not run");
	/* ...and SIGTERM stops the VM, the guest of another user with it. */
	harness_finish(&p, &r, TIMEOUT_S, "T: resctl=");
	if (r.timed_out || r.status != 143 || tval(r.console, "resctl", -1) != 0)
		dump(&r);
	ck_assert(!r.timed_out);
	ck_assert_int_eq(r.status, 143);
	ck_assert_int_eq(tval(r.console, "resctl", -1), 0);
	for (int i = 0; i < 50 && uml_group_running(uml); i++)
		usleep(100 * 1000);
	ck_assert_msg(!uml_group_running(uml), "the guest's processes outlived accord");
	harness_free(&r);
	free(cmdline);
}
END_TEST

START_TEST(test_runas_root_and_unknown_users_are_refused)
{
	static const char *const bad[][2] = {
		{ "root", "has uid or gid 0" },
		{ "0:0", "has uid or gid 0" },
		{ "no-such-user-here", "no user 'no-such-user-here'" },
		{ "12:", "is not USER or UID:GID" },
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = { "--accel", "uml", "--runas", bad[i][0], NULL };
		struct accord_run r;

		harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
		ck_assert_int_eq(r.status, 1);
		ck_assert_msg(strstr(r.err, bad[i][1]), "--runas %s: %s", bad[i][0], r.err);
		harness_free(&r);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uml_module");
	TCase *tc = tcase_create("driver");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, TIMEOUT_S + 60);
	tcase_add_test(tc, test_the_driver_loads_and_reads_the_hardware_description);
	tcase_add_test(tc, test_a_growing_workload_makes_the_estimator_ask_before_it_fails);
	tcase_add_test(tc, test_applications_get_grant_deny_and_offer_as_the_policy_says);
	tcase_add_test(tc, test_a_host_reclaim_inflates_the_balloon_and_the_memory_file_shrinks);
	tcase_add_test(tc, test_unloading_returns_every_balloon_page_and_reloading_works);
	tcase_add_test(tc, test_runas_runs_the_guest_process_as_another_user_without_capabilities);
	tcase_add_test(tc, test_runas_root_and_unknown_users_are_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
