// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_broker runner): the broker daemon over its real socket,
 * served by a thread. Test clients play VM processes (register-vm and the
 * vm-* commands) and operators; they check what each side is told: replies,
 * the events only a VM gets, the broadcast events operators get, and the
 * ledger after departures and a broker restart. The socket is held to the
 * QMP specification (qmp_conformance.c).
 */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accord/hostd.h"
#include "accord/tmpfile.h"

#include "../kvm/qmp_client.h"
#include "../kvm/qmp_conformance.h"
#include "ledger_test.h"

static struct {
	char dir[256];
	char sock[300];
	struct hostd *hd;
	pthread_t thread;
	bool running;
} hx;

static void *hostd_thread(void *arg)
{
	hostd__run(arg);
	return NULL;
}

static void hx_start(void)
{
	struct hostd_config cfg;
	struct acc_err err;
	char *argv[] = { "--socket", hx.sock,	 "--pool",	"memory=256M,cpus=8",
			 "--rate",   "memory=0", "--log-level", "error" };

	ck_assert_msg(hostd__parse_args(8, argv, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_msg(hostd__create(&hx.hd, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pthread_create(&hx.thread, NULL, hostd_thread, hx.hd), 0);
	hx.running = true;
}

static void hx_stop(void)
{
	if (!hx.running)
		return;
	hostd__stop(hx.hd);
	pthread_join(hx.thread, NULL);
	hostd__destroy(hx.hd);
	hx.running = false;
}

static void setup(void)
{
	ck_assert_int_eq(acc_mkdtemp(hx.dir, sizeof(hx.dir), "/tmp", "accord-hostd"), 0);
	snprintf(hx.sock, sizeof(hx.sock), "%s/hostd.sock", hx.dir);
	hx_start();
}

static void teardown(void)
{
	hx_stop();
	unlink(hx.sock);
	rmdir(hx.dir);
}

static struct qmp_client *client(void)
{
	struct qmp_client *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	ck_assert(qmpc_connect(c, hx.sock, 5));
	return c;
}

static void drop(struct qmp_client *c)
{
	qmpc_close(c);
	free(c);
}

/* Run @fmt and return its "return" value (kept alive by the caller's put of @reply). */
static struct json_object *run(struct qmp_client *c, struct json_object **reply, const char *fmt,
			       ...) __attribute__((format(printf, 3, 4)));

static struct json_object *run(struct qmp_client *c, struct json_object **reply, const char *fmt,
			       ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	*reply = qmpc_execute(c, cmd, 5);
	ck_assert_msg(*reply != NULL, "no reply to %s", cmd);
	return qmpc_get(*reply, "return");
}

static void expect_ok(struct qmp_client *c, const char *cmd)
{
	struct json_object *r = qmpc_execute(c, cmd, 5);

	ck_assert_msg(r && qmpc_get(r, "return"), "%s: %s", cmd,
		      r ? json_object_to_json_string(r) : "no reply");
	json_object_put(r);
}

/* The command fails with @cls and a desc containing @part. */
static void expect_error(struct qmp_client *c, const char *cmd, const char *cls, const char *part)
{
	struct json_object *r = qmpc_execute(c, cmd, 5);
	const char *desc;

	ck_assert_msg(r && qmpc_get(r, "error"), "%s: %s", cmd,
		      r ? json_object_to_json_string(r) : "no reply");
	ck_assert_str_eq(json_object_get_string(qmpc_get(r, "error.class")), cls);
	desc = json_object_get_string(qmpc_get(r, "error.desc"));
	ck_assert_msg(strstr(desc, part), "'%s' does not say '%s'", desc, part);
	json_object_put(r);
}

static struct qmp_client *vm(const char *name, uint64_t mem, bool resume)
{
	struct qmp_client *c = client();
	char cmd[512];

	snprintf(
		cmd, sizeof(cmd),
		"{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"%s\", \"driver\": true,"
		" \"resume\": %s, \"memory\": {\"max\": %llu, \"granted\": %llu},"
		" \"vcpus\": {\"max\": 2, \"granted\": 1}}}",
		name, resume ? "true" : "false", (unsigned long long)(512 * MiB),
		(unsigned long long)mem);
	expect_ok(c, cmd);
	return c;
}

static uint64_t u64(struct json_object *o, const char *path)
{
	struct json_object *v = qmpc_get(o, path);

	ck_assert_msg(v != NULL, "no %s in %s", path, json_object_to_json_string(o));
	return json_object_get_uint64(v);
}

START_TEST(test_registration_and_status_by_name)
{
	struct qmp_client *op = client(), *a = vm("web", 64 * MiB, false), *b;
	struct json_object *r, *ret, *ev;

	b = vm("db", 32 * MiB, false);
	ev = qmpc_wait_event(op, "VM_REGISTERED", 5);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.vm")), "web");
	json_object_put(ev);
	ret = run(op, &r, "{\"execute\": \"query-status\"}");
	ck_assert_uint_eq(json_object_array_length(qmpc_get(ret, "vms")), 2);
	ck_assert_str_eq(json_object_get_string(qmpc_get(
				 json_object_array_get_idx(qmpc_get(ret, "vms"), 0), "name")),
			 "web");
	ck_assert_uint_eq(u64(ret, "free.memory"), 160 * MiB);
	json_object_put(r);
	/* A name is one VM's; a connection registers once; operators cannot act as VMs. */
	drop(vm("ok2", 2 * MiB, false));
	expect_error(b,
		     "{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"x\","
		     " \"memory\": {\"max\": 4194304, \"granted\": 2097152},"
		     " \"vcpus\": {\"max\": 1, \"granted\": 1}}}",
		     "GenericError", "registered a VM already");
	expect_error(op,
		     "{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"web\","
		     " \"memory\": {\"max\": 4194304, \"granted\": 2097152},"
		     " \"vcpus\": {\"max\": 1, \"granted\": 1}}}",
		     "GenericError", "already registered");
	expect_error(op,
		     "{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"big\","
		     " \"memory\": {\"max\": 1073741824, \"granted\": 536870912},"
		     " \"vcpus\": {\"max\": 1, \"granted\": 1}}}",
		     "GenericError", "pool has");
	expect_error(op,
		     "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 1, \"kind\": "
		     "\"memory\", \"amount\": 2097152}}",
		     "GenericError", "register-vm first");
	expect_error(a, "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 1}}",
		     "GenericError", "'kind' is missing");
	drop(a);
	drop(b);
	drop(op);
}
END_TEST

START_TEST(test_workload_met_by_reclaim_from_an_idle_vm)
{
	struct qmp_client *op = client(), *busy = vm("busy", 64 * MiB, false);
	struct qmp_client *idle = vm("idle", 192 * MiB, false);
	struct json_object *r, *ret, *ev;

	/* The idle guest forecasts 40 MiB; the busy one needs 128 more. */
	expect_ok(idle, "{\"execute\": \"vm-usage\", \"arguments\": {\"memory-used\": 31457280,"
			" \"memory-forecast\": 41943040}}");
	ret = run(busy, &r,
		  "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 5, \"kind\": \"memory\","
		  " \"amount\": 134217728, \"minimum\": 67108864}}");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ret, "verdict")), "DENY");
	ck_assert_uint_ge(u64(ret, "retry-after-ms"), 1000);
	json_object_put(r);
	/* Only the idle VM is asked to hand memory back; the operator sees every step. */
	ev = qmpc_wait_event(idle, "VM_RECLAIM", 5);
	ck_assert_ptr_nonnull(ev);
	ck_assert_uint_eq(u64(ev, "data.amount"), 128 * MiB);
	ck_assert_uint_eq(u64(ev, "data.target"), 64 * MiB);
	json_object_put(ev);
	ck_assert_ptr_null(qmpc_wait_event(busy, "VM_RECLAIM", 1));
	/* A VM's connection carries its own events, not the operators' broadcast. */
	ck_assert_ptr_null(qmpc_wait_event(idle, "RECLAIM", 1));
	ck_assert_ptr_null(qmpc_wait_event(busy, "DENY", 0));
	ev = qmpc_wait_event(op, "DENY", 5);
	ck_assert_ptr_nonnull(ev);
	json_object_put(ev);
	ev = qmpc_wait_event(op, "RECLAIM", 5);
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.vm")), "idle");
	json_object_put(ev);
	/* Handed back: the retry is granted. */
	expect_ok(idle, "{\"execute\": \"vm-returning\", \"arguments\": {\"memory\": 0}}");
	ret = run(busy, &r,
		  "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 6, \"kind\": \"memory\","
		  " \"amount\": 134217728, \"minimum\": 67108864}}");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ret, "verdict")), "GRANT");
	ck_assert_uint_eq(u64(ret, "allocation"), 192 * MiB);
	json_object_put(r);
	ev = qmpc_wait_event(op, "GRANT", 5);
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.vm")), "busy");
	json_object_put(ev);
	ret = run(op, &r, "{\"execute\": \"query-ledger\"}");
	ck_assert_uint_eq(u64(ret, "charged.memory"), 256 * MiB);
	ck_assert(json_object_get_boolean(qmpc_get(ret, "consistent")));
	json_object_put(r);
	ret = run(op, &r, "{\"execute\": \"query-requests\", \"arguments\": {\"vm\": \"busy\"}}");
	ck_assert_uint_eq(json_object_array_length(ret), 2); /* the DENY, then the GRANT */
	json_object_put(r);
	drop(busy);
	drop(idle);
	drop(op);
}
END_TEST

START_TEST(test_departure_returns_grants)
{
	struct qmp_client *op = client(), *a = vm("a", 64 * MiB, false),
			  *b = vm("b", 64 * MiB, false);
	struct json_object *r, *ret, *ev;

	ret = run(a, &r,
		  "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 1, \"kind\": \"memory\","
		  " \"amount\": 200000000, \"minimum\": 2097152}}");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ret, "verdict")), "OFFER");
	json_object_put(r);
	/* a dies with its offer open: everything it held is free again. */
	drop(a);
	ev = qmpc_wait_event(op, "VM_DEPARTED", 5);
	ck_assert_ptr_nonnull(ev);
	ck_assert_uint_eq(u64(ev, "data.returned.memory"), 192 * MiB);
	json_object_put(ev);
	ret = run(op, &r, "{\"execute\": \"query-ledger\"}");
	ck_assert_uint_eq(u64(ret, "charged.memory"), 64 * MiB);
	json_object_put(r);
	drop(b);
	drop(op);
}
END_TEST

START_TEST(test_messages_routed_by_name)
{
	struct qmp_client *a = vm("alpha", 8 * MiB, false), *b = vm("beta", 8 * MiB, false);
	struct json_object *r, *ret, *ev;
	uint64_t seq;

	ret = run(a, &r,
		  "{\"execute\": \"vm-message\", \"arguments\": {\"to\": \"beta\", \"data\":"
		  " \"aGVsbG8=\", \"txn\": 9}}");
	seq = u64(ret, "seq");
	json_object_put(r);
	ev = qmpc_wait_event(b, "VM_MESSAGE", 5);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.from")), "alpha");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.data")), "aGVsbG8=");
	ck_assert_uint_eq(u64(ev, "data.seq"), seq);
	json_object_put(ev);
	/* Only the receiver can say what became of it; the sender hears. */
	expect_error(a,
		     "{\"execute\": \"vm-message-done\", \"arguments\": {\"seq\": 1, \"status\":"
		     " \"delivered\"}}",
		     "GenericError", "no message");
	ret = run(b, &r,
		  "{\"execute\": \"vm-message-done\", \"arguments\": {\"seq\": %llu,"
		  " \"status\": \"delivered\"}}",
		  (unsigned long long)seq);
	json_object_put(r);
	ev = qmpc_wait_event(a, "VM_MESSAGE_STATUS", 5);
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.status")), "delivered");
	ck_assert_uint_eq(u64(ev, "data.txn"), 9);
	json_object_put(ev);
	/* Unknown names, bad data and a full queue are refused at once. */
	expect_error(a,
		     "{\"execute\": \"vm-message\", \"arguments\": {\"to\": \"gamma\","
		     " \"data\": \"aGk=\"}}",
		     "DeviceNotFound", "no VM named 'gamma'");
	expect_error(a,
		     "{\"execute\": \"vm-message\", \"arguments\": {\"to\": \"beta\","
		     " \"data\": \"abc\"}}",
		     "GenericError", "base64");
	for (int i = 0; i < 16; i++)
		expect_ok(a, "{\"execute\": \"vm-message\", \"arguments\": {\"to\": \"beta\","
			     " \"data\": \"aGk=\"}}");
	expect_error(a,
		     "{\"execute\": \"vm-message\", \"arguments\": {\"to\": \"beta\","
		     " \"data\": \"aGk=\"}}",
		     "GenericError", "queue of 'beta' is full");
	/* The receiver goes: what it never answered fails back to the sender. */
	drop(b);
	ev = qmpc_wait_event(a, "VM_MESSAGE_STATUS", 5);
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.status")), "gone");
	json_object_put(ev);
	drop(a);
}
END_TEST

START_TEST(test_restart_rebuilds_the_ledger_from_the_vms)
{
	struct qmp_client *a = vm("a", 64 * MiB, false), *b = vm("b", 64 * MiB, false), *op;
	struct json_object *r, *ret;

	ret = run(a, &r,
		  "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 1, \"kind\": \"memory\","
		  " \"amount\": 67108864}}");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ret, "verdict")), "GRANT");
	json_object_put(r);
	drop(a);
	drop(b);
	hx_stop();
	hx_start();
	/* The VMs come back with what they hold: 128 + 64 MiB, nothing granted twice. */
	a = vm("a", 128 * MiB, true);
	b = vm("b", 64 * MiB, true);
	op = client();
	ret = run(op, &r, "{\"execute\": \"query-ledger\"}");
	ck_assert_uint_eq(u64(ret, "charged.memory"), 192 * MiB);
	ck_assert_uint_eq(u64(ret, "overcommit.memory"), 0);
	json_object_put(r);
	ret = run(b, &r,
		  "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 2, \"kind\": \"memory\","
		  " \"amount\": 134217728, \"minimum\": 134217728}}");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ret, "verdict")), "DENY");
	json_object_put(r);
	drop(a);
	drop(b);
	drop(op);
}
END_TEST

START_TEST(test_operator_policy_allocation_and_metrics)
{
	struct qmp_client *op = client(), *a = vm("a", 64 * MiB, false);
	struct json_object *r, *ret, *ev;
	const char *text;

	expect_ok(op, "{\"execute\": \"set-vm-policy\", \"arguments\": {\"vm\": \"a\", \"weight\":"
		      " 300, \"memory-floor\": 33554432}}");
	expect_error(op, "{\"execute\": \"set-vm-policy\", \"arguments\": {\"vm\": \"zz\"}}",
		     "DeviceNotFound", "no VM named 'zz'");
	expect_error(op,
		     "{\"execute\": \"set-vm-policy\", \"arguments\": {\"vm\": \"a\","
		     " \"weight\": 0}}",
		     "GenericError", "weight");
	ret = run(op, &r,
		  "{\"execute\": \"set-allocation\", \"arguments\": {\"vm\": \"a\","
		  " \"memory\": 33554432}}");
	ck_assert_uint_eq(u64(ret, "memory.allocation"), 32 * MiB);
	json_object_put(r);
	ev = qmpc_wait_event(a, "VM_RECLAIM", 5);
	ck_assert_uint_eq(u64(ev, "data.target"), 32 * MiB);
	json_object_put(ev);
	expect_error(op,
		     "{\"execute\": \"set-host-policy\", \"arguments\": {\"memory-pool\":"
		     " 1048576}}",
		     "GenericError", "multiple");
	expect_ok(op, "{\"execute\": \"set-host-policy\", \"arguments\": {\"buffer\": 30,"
		      " \"memory-pool\": 134217728}}");
	ev = qmpc_wait_event(op, "INVENTORY_CHANGED", 5);
	ck_assert_uint_eq(u64(ev, "data.memory"), 128 * MiB);
	json_object_put(ev);
	ret = run(op, &r, "{\"execute\": \"query-metrics\"}");
	text = json_object_get_string(qmpc_get(ret, "text"));
	ck_assert_ptr_nonnull(strstr(text, "accord_pool{kind=\"memory\"} 134217728\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "accord_vm_allocation{vm=\"a\",kind=\"memory\"} 33554432\n"));
	ck_assert_ptr_nonnull(strstr(text, "accord_decisions_total{decision=\"reclaim\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE accord_vm_decisions_total counter\n"));
	json_object_put(r);
	drop(a);
	drop(op);
}
END_TEST

/* The broker's socket follows the QMP specification, events included. */
START_TEST(test_qmp_conformance)
{
	qmp_conformance_check(hx.sock, "query-status");
	qmp_conformance_check_event(
		hx.sock, "{\"execute\": \"set-host-policy\", \"arguments\": {\"buffer\": 30}}",
		"POLICY_CHANGED");
}
END_TEST

START_TEST(test_command_line)
{
	struct hostd_config cfg;
	struct acc_err err;
	char *ok[] = { "--socket", "/tmp/x.sock",	"--pool",   "memory=1G,cpus=4",
		       "--rate",   "memory=64M,cpus=1", "--buffer", "25" };
	char *no_pool[] = { "--socket", "/tmp/x.sock" };
	char *odd[] = { "--socket", "/tmp/x.sock", "--pool", "memory=3M,cpus=1" };
	char *unknown[] = { "--sock", "x" };
	char *help[] = { "--help" };

	ck_assert_int_eq(hostd__parse_args(8, ok, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.ledger.pool[LEDGER_MEM], 1024 * MiB);
	ck_assert_uint_eq(cfg.ledger.pool[LEDGER_VCPU], 4);
	ck_assert_uint_eq(cfg.ledger.rate[LEDGER_MEM], 64 * MiB);
	ck_assert_uint_eq(cfg.ledger.buffer_pct, 25);
	ck_assert_int_eq(hostd__parse_args(2, no_pool, &cfg, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "--pool"));
	ck_assert_int_eq(hostd__parse_args(4, odd, &cfg, &err), -EINVAL);
	ck_assert_int_eq(hostd__parse_args(2, unknown, &cfg, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "'--sock'"));
	ck_assert_int_eq(hostd__parse_args(1, help, &cfg, &err), 0);
	ck_assert(cfg.help);
}
END_TEST

Suite *hostd_suite(void)
{
	Suite *s = suite_create("hostd");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_registration_and_status_by_name);
	tcase_add_test(tc, test_workload_met_by_reclaim_from_an_idle_vm);
	tcase_add_test(tc, test_departure_returns_grants);
	tcase_add_test(tc, test_messages_routed_by_name);
	tcase_add_test(tc, test_restart_rebuilds_the_ledger_from_the_vms);
	tcase_add_test(tc, test_operator_policy_allocation_and_metrics);
	tcase_add_test(tc, test_qmp_conformance);
	suite_add_tcase(s, tc);
	tc = tcase_create("command line");
	tcase_add_test(tc, test_command_line);
	suite_add_tcase(s, tc);
	return s;
}
