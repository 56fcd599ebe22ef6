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
#include <sys/socket.h>
#include <time.h>
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

/* A broker that believes resumes for @window seconds after it starts. */
static void hx_start_window(const char *window)
{
	struct hostd_config cfg;
	struct acc_err err;
	char *argv[] = {
		"--socket", hx.sock,	   "--pool", "memory=256M,cpus=8", "--rate",
		"memory=0", "--log-level", "error",  "--resume-window",	   (char *)window
	};

	ck_assert_msg(hostd__parse_args(10, argv, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_msg(hostd__create(&hx.hd, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pthread_create(&hx.thread, NULL, hostd_thread, hx.hd), 0);
	hx.running = true;
}

/* A window no test outlives: none depends on how fast it runs. */
static void hx_start(void)
{
	hx_start_window("3600");
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

/* Whether query-commands' return value @list names @name. */
static bool lists(struct json_object *list, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *cmd = json_object_array_get_idx(list, i);

		if (!strcmp(json_object_get_string(qmpc_get(cmd, "name")), name))
			return true;
	}
	return false;
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

/* Once it registered, a VM's connection is refused the operators' commands. */
START_TEST(test_vm_connection_runs_only_vm_commands)
{
	static const char *const operators_only[] = {
		"{\"execute\": \"reclaim\", \"arguments\": {\"vm\": \"b\", \"memory\": 2097152}}",
		"{\"execute\": \"quit\"}",
		"{\"execute\": \"query-vms\"}",
		"{\"execute\": \"set-host-policy\", \"arguments\": {\"memory-pool\": 2097152}}",
		"{\"execute\": \"send-message\", \"arguments\": {\"vm\": \"b\", \"data\": \"hi\"}}",
	};
	struct qmp_client *op = client(), *a = vm("a", 64 * MiB, false),
			  *b = vm("b", 64 * MiB, false);
	struct json_object *r, *ret;

	for (size_t i = 0; i < sizeof(operators_only) / sizeof(operators_only[0]); i++)
		expect_error(a, operators_only[i], "GenericError",
			     "a VM's connection may use only the vm-* commands");
	/* None of it happened: the broker runs, b was not asked for anything. */
	ret = run(op, &r, "{\"execute\": \"query-status\"}");
	ck_assert_uint_eq(u64(ret, "pool.memory"), 256 * MiB);
	ck_assert_uint_eq(u64(ret, "charged.memory"), 128 * MiB);
	json_object_put(r);
	ck_assert_ptr_null(qmpc_wait_event(b, "VM_RECLAIM", 0));
	ck_assert_ptr_null(qmpc_wait_event(b, "VM_MESSAGE", 0));
	/* The VM keeps its own commands and the built-ins, and is told only of those. */
	ret = run(a, &r,
		  "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 1, \"kind\": \"memory\","
		  " \"amount\": 2097152}}");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ret, "verdict")), "GRANT");
	json_object_put(r);
	expect_ok(a, "{\"execute\": \"query-version\"}");
	ret = run(a, &r, "{\"execute\": \"query-commands\"}");
	ck_assert(lists(ret, "vm-request") && lists(ret, "register-vm"));
	ck_assert(lists(ret, "query-commands") && lists(ret, "qmp_capabilities"));
	ck_assert(!lists(ret, "quit") && !lists(ret, "query-vms") && !lists(ret, "reclaim"));
	json_object_put(r);
	/* A connection that did not register is an operator's: everything is there. */
	ret = run(op, &r, "{\"execute\": \"query-commands\"}");
	ck_assert(lists(ret, "quit") && lists(ret, "query-vms") && lists(ret, "vm-request"));
	json_object_put(r);
	expect_ok(op, operators_only[0]);
	json_object_put(qmpc_wait_event(b, "VM_RECLAIM", 5));
	expect_ok(op, "{\"execute\": \"query-vms\"}");
	drop(a);
	drop(b);
	drop(op);
}
END_TEST

/*
 * After a restart a VM's resume is believed in the recovery window, even
 * past the pool (said aloud, then reclaimed); after it, checked like a new VM.
 */
START_TEST(test_resume_believed_only_in_the_recovery_window)
{
	struct qmp_client *op = client(), *a = vm("a", 200 * MiB, true), *b, *c;
	struct json_object *r, *ret, *ev;

	b = vm("b", 100 * MiB, true);
	ret = run(op, &r, "{\"execute\": \"query-status\"}");
	ck_assert(json_object_get_boolean(qmpc_get(ret, "recovering")));
	json_object_put(r);
	json_object_put(qmpc_wait_event(op, "VM_REGISTERED", 5)); /* a: it fits */
	ev = qmpc_wait_event(op, "VM_REGISTERED", 5);
	ck_assert_str_eq(json_object_get_string(qmpc_get(ev, "data.vm")), "b");
	ck_assert(json_object_get_boolean(qmpc_get(ev, "data.resume")));
	ck_assert_uint_eq(u64(ev, "data.overcommit.memory"), 44 * MiB);
	json_object_put(ev);
	ret = run(op, &r, "{\"execute\": \"query-ledger\"}");
	ck_assert_uint_eq(u64(ret, "charged.memory"), 300 * MiB);
	ck_assert_uint_eq(u64(ret, "overcommit.memory"), 44 * MiB);
	ck_assert(json_object_get_boolean(qmpc_get(ret, "consistent")));
	json_object_put(r);
	/* The excess is reclaimed from a, above its fair share; a new VM waits for room. */
	ev = qmpc_wait_event(a, "VM_RECLAIM", 5);
	ck_assert_ptr_nonnull(ev);
	ck_assert_uint_eq(u64(ev, "data.amount"), 44 * MiB);
	json_object_put(ev);
	expect_error(op,
		     "{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"c\","
		     " \"memory\": {\"max\": 4194304, \"granted\": 2097152},"
		     " \"vcpus\": {\"max\": 1, \"granted\": 1}}}",
		     "GenericError", "pool has 0 free");
	expect_ok(a, "{\"execute\": \"vm-returning\", \"arguments\": {\"memory\": 0}}");
	ret = run(op, &r, "{\"execute\": \"query-ledger\"}");
	ck_assert_uint_eq(u64(ret, "overcommit.memory"), 0);
	json_object_put(r);
	drop(a);
	drop(b);
	drop(op);

	/* A broker whose window is over (0 s: at once) checks every resume like a new VM. */
	hx_stop();
	hx_start_window("0");
	op = client();
	c = client();
	expect_error(c,
		     "{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"a\", \"resume\":"
		     " true, \"memory\": {\"max\": 536870912, \"granted\": 314572800},"
		     " \"vcpus\": {\"max\": 2, \"granted\": 1}}}",
		     "GenericError", "recovery window");
	a = vm("a", 200 * MiB, true);
	ev = qmpc_wait_event(op, "VM_REGISTERED", 5);
	ck_assert(!json_object_get_boolean(qmpc_get(ev, "data.resume")));
	ck_assert_ptr_null(qmpc_get(ev, "data.overcommit"));
	json_object_put(ev);
	expect_error(c,
		     "{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"b\", \"resume\":"
		     " true, \"memory\": {\"max\": 536870912, \"granted\": 104857600},"
		     " \"vcpus\": {\"max\": 2, \"granted\": 1}}}",
		     "GenericError", "pool has 58720256 free");
	ret = run(op, &r, "{\"execute\": \"query-status\"}");
	ck_assert(!json_object_get_boolean(qmpc_get(ret, "recovering")));
	ck_assert_uint_eq(u64(ret, "charged.memory"), 200 * MiB);
	json_object_put(r);
	drop(c);
	drop(a);
	drop(op);
}
END_TEST

/*
 * A VM that pipelines requests as fast as the socket takes them does not
 * starve another: the broker reads a bounded amount from each connection per
 * turn. Order is measured in the operators' event stream, which has every
 * decision in the order the broker made them.
 */
#define FLOOD_PAIRS 4000 /* vm-request and vm-release of 2 MiB, txn 1..N */

struct flood {
	struct qmp_client *vm, *op;
	char *script;
	size_t script_len;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started; /* the flood's reader saw a reply */
	bool write_failed;
	unsigned int replies; /* to the flood, errors included */
	unsigned int errors;
	unsigned int decisions; /* the flood's, seen by the operator */
	unsigned int before;	/* of them, before quiet's GRANT */
	uint64_t last_grant;	/* the txn of the flood's last GRANT seen */
	bool gap;		/* a flood GRANT missing before quiet's: events were dropped */
	bool quiet_granted;
	bool quiet_released; /* after the flood: the end of the stream */
};

static void *flood_writer(void *arg)
{
	struct flood *f = arg;

	for (size_t off = 0; off < f->script_len;) {
		size_t n = f->script_len - off < 65536 ? f->script_len - off : 65536;
		ssize_t sent = send(f->vm->fd, f->script + off, n, MSG_NOSIGNAL);

		if (sent <= 0) {
			f->write_failed = true;
			break;
		}
		off += (size_t)sent;
	}
	return NULL;
}

static void *flood_reader(void *arg)
{
	struct flood *f = arg;
	char *line;

	while (f->replies < 2 * FLOOD_PAIRS && (line = qmpc_read_line(f->vm, 20000))) {
		bool reply = !strncmp(line, "{\"return\"", 9),
		     error = !strncmp(line, "{\"error\"", 8);

		free(line);
		if (!reply && !error)
			continue; /* an event */
		f->errors += error;
		if (f->replies++ == 0) {
			pthread_mutex_lock(&f->lock);
			f->started = true;
			pthread_cond_signal(&f->cond);
			pthread_mutex_unlock(&f->lock);
		}
	}
	return NULL;
}

/* The operator's connection: it must keep reading, or the broker drops it. */
static void *flood_watcher(void *arg)
{
	struct flood *f = arg;
	char *line;

	while (!f->quiet_released && (line = qmpc_read_line(f->op, 20000))) {
		struct json_object *o = json_tokener_parse(line);
		const char *name = json_object_get_string(qmpc_get(o, "event"));
		const char *vm = json_object_get_string(qmpc_get(o, "data.vm"));

		if (name && vm && !strcmp(vm, "flood")) {
			f->decisions++;
			f->before += !f->quiet_granted;
			if (!strcmp(name, "GRANT")) {
				uint64_t txn = json_object_get_uint64(qmpc_get(o, "data.txn"));

				f->gap |= !f->quiet_granted && txn != f->last_grant + 1;
				f->last_grant = txn;
			}
		} else if (name && vm && !strcmp(vm, "quiet")) {
			f->quiet_granted |= !strcmp(name, "GRANT");
			f->quiet_released |= !strcmp(name, "RELEASE");
		}
		json_object_put(o);
		free(line);
	}
	return NULL;
}

START_TEST(test_a_flooding_vm_does_not_starve_another)
{
	struct qmp_client *quiet = vm("quiet", 64 * MiB, false);
	struct flood f = { .vm = vm("flood", 64 * MiB, false), .op = client() };
	pthread_t writer, reader, watcher;
	struct json_object *r, *ret;
	struct timespec deadline;
	size_t cap = FLOOD_PAIRS * 200;
	bool started;

	f.script = malloc(cap);
	ck_assert_ptr_nonnull(f.script);
	for (unsigned int i = 1; i <= FLOOD_PAIRS; i++)
		f.script_len += (size_t)snprintf(
			f.script + f.script_len, cap - f.script_len,
			"{\"execute\": \"vm-request\", \"arguments\": {\"txn\": %u, \"kind\":"
			" \"memory\", \"amount\": 2097152}}\n"
			"{\"execute\": \"vm-release\", \"arguments\": {\"txn\": %u, \"kind\":"
			" \"memory\", \"amount\": 2097152}}\n",
			i, i);
	ck_assert_uint_lt(f.script_len, cap);
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	ck_assert_int_eq(pthread_create(&watcher, NULL, flood_watcher, &f), 0);
	ck_assert_int_eq(pthread_create(&reader, NULL, flood_reader, &f), 0);
	ck_assert_int_eq(pthread_create(&writer, NULL, flood_writer, &f), 0);

	/* Once the flood is under way, quiet asks once. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 60;
	pthread_mutex_lock(&f.lock);
	while (!f.started && pthread_cond_timedwait(&f.cond, &f.lock, &deadline) == 0)
		;
	started = f.started;
	pthread_mutex_unlock(&f.lock);
	ck_assert_msg(started, "the flood got no reply");
	ret = run(quiet, &r,
		  "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 1, \"kind\": \"memory\","
		  " \"amount\": 2097152}}");
	ck_assert_str_eq(json_object_get_string(qmpc_get(ret, "verdict")), "GRANT");
	json_object_put(r);

	pthread_join(writer, NULL);
	pthread_join(reader, NULL);
	/* Every flood decision was made before its reply: quiet's release is the last event. */
	expect_ok(quiet, "{\"execute\": \"vm-release\", \"arguments\": {\"txn\": 1, \"kind\":"
			 " \"memory\", \"amount\": 2097152}}");
	pthread_join(watcher, NULL);
	fprintf(stderr,
		"flood: %u of the flood's %u decisions came before quiet's GRANT (operator saw "
		"%u)\n",
		f.before, 2 * FLOOD_PAIRS, f.decisions);
	ck_assert(!f.write_failed);
	ck_assert_uint_eq(f.replies, 2 * FLOOD_PAIRS);
	ck_assert_uint_eq(f.errors, 0);
	/*
	 * Up to quiet's GRANT the operator saw every flood GRANT in order (the
	 * broker drops events for a reader that falls behind, later ones do not
	 * matter), so the count is the broker's order.
	 */
	ck_assert(f.quiet_granted);
	ck_assert_msg(!f.gap, "events were dropped before quiet's GRANT");
	ck_assert_uint_gt(f.before, 0);
	ck_assert_uint_lt(f.before, FLOOD_PAIRS);
	pthread_cond_destroy(&f.cond);
	pthread_mutex_destroy(&f.lock);
	free(f.script);
	drop(f.vm);
	drop(f.op);
	drop(quiet);
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
	char *strict[] = { "--socket",	       "/tmp/x.sock",	  "--pool",
			   "memory=2M,cpus=1", "--resume-window", "0" };
	char *long_window[] = { "--socket",	    "/tmp/x.sock",     "--pool",
				"memory=2M,cpus=1", "--resume-window", "3601" };
	char *help[] = { "--help" };

	ck_assert_int_eq(hostd__parse_args(8, ok, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.ledger.pool[LEDGER_MEM], 1024 * MiB);
	ck_assert_uint_eq(cfg.ledger.pool[LEDGER_VCPU], 4);
	ck_assert_uint_eq(cfg.ledger.rate[LEDGER_MEM], 64 * MiB);
	ck_assert_uint_eq(cfg.ledger.buffer_pct, 25);
	ck_assert_uint_eq(cfg.resume_window_s, 30);
	ck_assert_int_eq(hostd__parse_args(6, strict, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.resume_window_s, 0);
	ck_assert_int_eq(hostd__parse_args(6, long_window, &cfg, &err), -ERANGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--resume-window"));
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
	tcase_add_test(tc, test_vm_connection_runs_only_vm_commands);
	tcase_add_test(tc, test_resume_believed_only_in_the_recovery_window);
	tcase_add_test(tc, test_a_flooding_vm_does_not_starve_another);
	tcase_add_test(tc, test_qmp_conformance);
	suite_add_tcase(s, tc);
	tc = tcase_create("command line");
	tcase_add_test(tc, test_command_line);
	suite_add_tcase(s, tc);
	return s;
}
