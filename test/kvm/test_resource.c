// SPDX-License-Identifier: MIT
/*
 * KVM integration for the virtio-resource device: the probe guest reads the
 * hardware description, negotiates memory (grant, offer, denial), gets a
 * vCPU unparked, sends statistics and messages and reads a shared file; in
 * idle mode the test drives it through the control socket: a reclaim gives
 * memory back to the host (accord's RSS drops), a set-allocation reaches the
 * guest as a config interrupt with a new generation, and a message makes a
 * round trip. The idle VM's control socket is held to the QMP specification
 * (qmp_conformance.c).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "qmp_client.h"
#include "qmp_conformance.h"
#include "accord/tmpfile.h"

#define TIMEOUT_S 90
#define MiB	  (1ull << 20)

static void dump(const struct accord_run *r)
{
	fprintf(stderr, "--- console ---\n%s--- stderr ---\n%s--- status %d%s\n", r->console,
		r->err, r->status, r->timed_out ? " (timed out)" : "");
}

static char *make_share(void)
{
	char *dir = malloc(64), path[256];
	FILE *f;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(acc_mkdtemp(dir, 64, "/tmp", "accord-share"), 0);
	snprintf(path, sizeof(path), "%s/hello.txt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("hello from the host share\nsecond line\n", f);
	fclose(f);
	return dir;
}

static void remove_share(char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/hello.txt", dir);
	unlink(path);
	rmdir(dir);
	free(dir);
}

START_TEST(test_probe_negotiates_with_the_host)
{
	char *share = make_share();
	const char *args[] = { "--kernel",
			       PROBE_ELF,
			       "--memory",
			       "64M,max=256M",
			       "--pool",
			       "memory=128M",
			       "--cpus",
			       "1,max=2",
			       "--share",
			       share,
			       "--cmdline",
			       "resource=inventory,balloon,touch,grant,offer,deny,order,vcpu,stats,"
			       "message,file resource-file=hello.txt",
			       NULL };
	static const char *const checks[] = { "inventory", "balloon", "grant", "offer",	  "deny",
					      "order",	   "vcpu",    "stats", "message", "file" };
	struct accord_run r;
	char line[64];

	harness_run(&r, args, TIMEOUT_S, NULL, HARNESS_AS_IS);
	if (r.status || strstr(r.console, " FAIL"))
		dump(&r);
	ck_assert(!r.timed_out);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_null(strstr(r.console, " FAIL"));
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		snprintf(line, sizeof(line), "check resource-%s ok", checks[i]);
		ck_assert_msg(strstr(r.console, line), "no '%s' in the probe's report", line);
	}
	/* The guest read the shared file through the device. */
	ck_assert_ptr_nonnull(strstr(r.console, "hello from the host share"));
	/* The host logged every decision with its reason. */
	ck_assert_ptr_nonnull(strstr(r.err, ": GRANT ("));
	ck_assert_ptr_nonnull(strstr(r.err, ": OFFER ("));
	ck_assert_ptr_nonnull(strstr(r.err, ": DENY ("));
	harness_free(&r);
	remove_share(share);
}
END_TEST

static uint64_t get_u64(struct json_object *o, const char *path)
{
	struct json_object *v = qmpc_get(o, path);

	ck_assert_msg(v, "no %s in %s", path, json_object_to_json_string(o));
	return (uint64_t)json_object_get_int64(v);
}

static struct json_object *execute_ok(struct qmp_client *c, const char *json)
{
	struct json_object *o = qmpc_execute(c, json, 10);

	ck_assert_msg(o && qmpc_get(o, "return"), "%s -> %s", json,
		      o ? json_object_to_json_string(o) : "(no reply)");
	return o;
}

START_TEST(test_host_reclaims_changes_allocation_and_messages_the_guest)
{
	char sock[128], cmd[256];
	const char *args[] = { "--kernel",
			       PROBE_ELF,
			       "--memory",
			       "224M,max=256M",
			       "--api-socket",
			       sock,
			       "--cmdline",
			       "resource=inventory,balloon,touch,grant,idle",
			       NULL };
	const uint64_t reclaim = 64 * MiB;
	struct json_object *o, *ev;
	struct qmp_client c;
	struct accord_proc p;
	struct accord_run r;
	long rss_before, rss_after;
	uint64_t gen, txn;
	struct stat st;

	snprintf(sock, sizeof(sock), "/tmp/accord-qmp-%d.sock", (int)getpid());
	harness_start(&p, args, HARNESS_AS_IS);
	ck_assert_msg(harness_wait_console(&p, "probe: resource idle", TIMEOUT_S),
		      "the probe never went idle");
	ck_assert(qmpc_connect(&c, sock, 10));
	/* The control socket is the operator's alone. */
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	/* The host reopens the guest's 32 MiB agreement and proposes 16 MiB; the guest agrees. */
	o = execute_ok(&c, "{\"execute\":\"query-requests\"}");
	ck_assert_uint_eq(json_object_array_length(qmpc_get(o, "return")), 1);
	txn = get_u64(json_object_array_get_idx(qmpc_get(o, "return"), 0), "txn");
	ck_assert_str_eq(json_object_get_string(qmpc_get(
				 json_object_array_get_idx(qmpc_get(o, "return"), 0), "state")),
			 "granted");
	json_object_put(o);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"renegotiate\",\"arguments\":{\"txn\":%llu,\"amount\":%llu}}",
		 (unsigned long long)txn, (unsigned long long)(16 * MiB));
	json_object_put(execute_ok(&c, cmd));
	ev = qmpc_wait_event(&c, "GRANT", 20);
	ck_assert_msg(ev, "the guest never answered the renegotiation");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.reason")),
			 "the guest accepted the host's renegotiation");
	ck_assert_uint_eq(get_u64(ev, "data.amount"), 16 * MiB);
	json_object_put(ev);
	o = execute_ok(&c, "{\"execute\":\"query-allocation\"}");
	ck_assert_uint_eq(get_u64(o, "return.memory.granted"), 240 * MiB);
	ck_assert_uint_eq(get_u64(o, "return.memory.reserved"), 16 * MiB);
	json_object_put(o);

	/* Reclaim: the guest reserves touched pages and the host punches them out. */
	rss_before = harness_rss_kb(p.pid);
	snprintf(cmd, sizeof(cmd), "{\"execute\":\"reclaim\",\"arguments\":{\"memory\":%llu}}",
		 (unsigned long long)reclaim);
	json_object_put(execute_ok(&c, cmd));
	ev = qmpc_wait_event(&c, "RECLAIM_COMPLETED", 30);
	ck_assert_msg(ev, "no RECLAIM_COMPLETED event");
	json_object_put(ev);
	rss_after = harness_rss_kb(p.pid);
	ck_assert_msg(rss_before - rss_after >= (long)(reclaim * 8 / 10 / 1024),
		      "RSS fell by %ld KiB of %llu KiB reclaimed", rss_before - rss_after,
		      (unsigned long long)(reclaim / 1024));
	o = execute_ok(&c, "{\"execute\":\"query-allocation\"}");
	ck_assert_uint_eq(get_u64(o, "return.memory.granted"), 240 * MiB - reclaim);
	ck_assert_uint_ge(get_u64(o, "return.memory.reserved"), 16 * MiB + reclaim);
	gen = get_u64(o, "return.generation");
	json_object_put(o);

	/* Give some back: a new generation, seen by the guest through a config interrupt. */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"set-allocation\",\"arguments\":{\"memory\":%llu}}",
		 (unsigned long long)(240 * MiB - reclaim / 2));
	o = execute_ok(&c, cmd);
	ck_assert_uint_eq(get_u64(o, "return.generation"), gen + 1);
	json_object_put(o);
	snprintf(cmd, sizeof(cmd), "probe: resource generation %llu", (unsigned long long)gen + 1);
	ck_assert_msg(harness_wait_console(&p, cmd, 20), "the guest did not see generation %llu",
		      (unsigned long long)gen + 1);

	/* A message round trip: host -> guest -> host. */
	json_object_put(
		execute_ok(&c, "{\"execute\":\"send-message\",\"arguments\":{\"data\":\"ping\"}}"));
	ev = qmpc_wait_event(&c, "MESSAGE", 20);
	ck_assert_msg(ev, "no MESSAGE event from the guest");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.data")), "echo: ping");
	json_object_put(ev);

	/* Bad requests get QMP errors and change nothing. */
	o = qmpc_execute(&c, "{\"execute\":\"reclaim\",\"arguments\":{\"memory\":\"lots\"}}", 10);
	ck_assert_ptr_nonnull(qmpc_get(o, "error"));
	json_object_put(o);
	o = qmpc_execute(&c, "{\"execute\":\"reclaim\",\"arguments\":{\"memory\":1099511627776}}",
			 10);
	ck_assert_ptr_nonnull(qmpc_get(o, "error"));
	json_object_put(o);

	json_object_put(execute_ok(&c, "{\"execute\":\"quit\"}"));
	qmpc_close(&c);
	harness_finish(&p, &r, 20, NULL);
	if (r.status)
		dump(&r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.console, "probe: resource reclaimed"));
	ck_assert_int_ne(access(sock, F_OK), 0); /* the socket is gone after quit */
	harness_free(&r);
}
END_TEST

/* `--cmdline idle`: the probe sets the device up and waits until the operator quits. */
START_TEST(test_idle_probe_waits_for_quit)
{
	char sock[128];
	const char *args[] = { "--kernel", PROBE_ELF, "--api-socket", sock, "--cmdline",
			       "idle",	   NULL };
	struct qmp_client c;
	struct accord_proc p;
	struct accord_run r;
	struct json_object *o;

	snprintf(sock, sizeof(sock), "/tmp/accord-idle-%d.sock", (int)getpid());
	harness_start(&p, args, HARNESS_AS_IS);
	ck_assert(harness_wait_console(&p, "probe: resource idle", TIMEOUT_S));
	ck_assert(qmpc_connect(&c, sock, 10));
	o = execute_ok(&c, "{\"execute\":\"query-allocation\"}");
	ck_assert(json_object_get_boolean(qmpc_get(o, "return.driver")));
	json_object_put(o);
	/* The VM's socket follows the QMP specification; the guest's echo is an event. */
	qmp_conformance_check(sock, "query-status");
	qmp_conformance_check_event(
		sock, "{\"execute\": \"send-message\", \"arguments\": {\"data\": \"ping\"}}",
		"MESSAGE");
	json_object_put(execute_ok(&c, "{\"execute\":\"quit\"}"));
	qmpc_close(&c);
	harness_finish(&p, &r, 20, NULL);
	ck_assert_int_eq(r.status, 0);
	harness_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvm_resource");
	TCase *tc = tcase_create("resource");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 2 * TIMEOUT_S);
	tcase_add_test(tc, test_probe_negotiates_with_the_host);
	tcase_add_test(tc, test_host_reclaims_changes_allocation_and_messages_the_guest);
	tcase_add_test(tc, test_idle_probe_waits_for_quit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
