// SPDX-License-Identifier: MIT
/*
 * One host, many VMs, for real: `accord hostd` and three User-mode Linux
 * guests (the default guest image: driver, resctl, memhog) that register
 * with it through `accord run --broker`.
 *
 *  - A workload in alpha grows; the broker meets it by reclaiming from the
 *    idle beta. The broker's events, beta's control socket and the ledger
 *    show each step. A message sent with `resctl send --to gamma` in alpha
 *    arrives in gamma. `accord top` under tmux shows all three VMs.
 *  - A VM killed while the broker holds an offer for it returns everything;
 *    a broker that restarts rebuilds its ledger from the VM that is left,
 *    which registers again by itself, and both sides agree afterwards.
 *  - A guest (UML's process) killed while its request waits at a stopped
 *    broker: accord exits with one line naming the guest's death, and the
 *    broker, once it runs again, keeps nothing for that VM while the other
 *    VM keeps its allocation and still negotiates.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accord/stop.h"
#include "accord/tmpfile.h"
#include "harness.h"
#include "qmp_client.h"
#include "uml_util.h"

#define MiB	    (1ull << 20)
#define BOOT_S	    120 /* a guest boots and runs its script */
#define DMESG_CHECK "echo \"T: oops=$(dmesg | grep -cE 'Oops|BUG:|WARNING:|Call Trace')\"\n"
#define MAX_VMS	    3

struct bt {
	char dir[64];
	char sock[96];
	char log[96];
	pid_t hostd;
	struct qmp_client *op; /* an operator on the broker: decisions arrive as events */
	struct accord_proc vm[MAX_VMS];
	bool started[MAX_VMS];
	char vm_sock[MAX_VMS][96];
};

static struct bt bt;

/* ---- the broker ---- */

static void hostd_start(const char *pool)
{
	bt.hostd = fork();
	ck_assert_int_ge(bt.hostd, 0);
	if (!bt.hostd) {
		FILE *f = freopen(bt.log, "a", stderr);

		(void)f;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(ACCORD_BIN, "accord", "hostd", "--socket", bt.sock, "--pool", pool,
		      (char *)NULL);
		_exit(127);
	}
	bt.op = calloc(1, sizeof(*bt.op));
	ck_assert_ptr_nonnull(bt.op);
	ck_assert_msg(qmpc_connect(bt.op, bt.sock, 10), "the broker did not come up");
}

static void hostd_kill(void)
{
	if (bt.op) {
		qmpc_close(bt.op);
		free(bt.op);
		bt.op = NULL;
	}
	if (bt.hostd > 0) {
		kill(bt.hostd, SIGKILL);
		waitpid(bt.hostd, NULL, 0);
	}
	bt.hostd = 0;
}

/* The reply's "return" (the test fails on an error or no reply); caller puts @reply. */
static struct json_object *must(struct qmp_client *c, const char *json, struct json_object **reply)
{
	struct json_object *ret;

	*reply = qmpc_execute(c, json, 10);
	ck_assert_msg(*reply, "no reply to %s", json);
	ret = qmpc_get(*reply, "return");
	ck_assert_msg(ret, "%s: %s", json, json_object_to_json_string(*reply));
	return ret;
}

static uint64_t u64(struct json_object *o, const char *path)
{
	struct json_object *v = qmpc_get(o, path);

	ck_assert_msg(v, "no %s in %s", path, json_object_to_json_string(o));
	return json_object_get_uint64(v);
}

/* The broker's entry for VM @name in query-vms (NULL if absent); caller puts @reply. */
static struct json_object *broker_vm(const char *name, struct json_object **reply)
{
	struct json_object *vms = must(bt.op, "{\"execute\": \"query-vms\"}", reply);

	for (size_t i = 0; i < json_object_array_length(vms); i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i), *n;

		if (json_object_object_get_ex(vm, "name", &n) &&
		    !strcmp(json_object_get_string(n), name))
			return vm;
	}
	return NULL;
}

static unsigned int broker_nr_vms(void)
{
	struct json_object *reply, *vms = must(bt.op, "{\"execute\": \"query-vms\"}", &reply);
	unsigned int n = (unsigned int)json_object_array_length(vms);

	json_object_put(reply);
	return n;
}

static bool wait_nr_vms(unsigned int n, int timeout_s)
{
	double end = uml_now_s() + timeout_s;

	while (uml_now_s() < end) {
		if (broker_nr_vms() == n)
			return true;
		usleep(200 * 1000);
	}
	return false;
}

/* VM @name's driver reported usage with a forecast to the broker. */
static bool wait_forecast(const char *name, int timeout_s)
{
	double end = uml_now_s() + timeout_s;
	bool ready = false;

	while (!ready && uml_now_s() < end) {
		struct json_object *reply, *vm = broker_vm(name, &reply), *driver;

		ready = vm && json_object_object_get_ex(vm, "driver", &driver) &&
			json_object_get_boolean(driver) && u64(vm, "memory.forecast") > 0;
		json_object_put(reply);
		if (!ready)
			usleep(250 * 1000);
	}
	return ready;
}

/* The memory the broker's decision history says it granted VM @name. */
static uint64_t broker_granted_memory(const char *name)
{
	struct json_object *reply, *hist = must(bt.op, "{\"execute\": \"query-requests\"}", &reply);
	uint64_t sum = 0;

	for (size_t i = 0; i < json_object_array_length(hist); i++) {
		struct json_object *d = json_object_array_get_idx(hist, i);
		struct json_object *vm = qmpc_get(d, "vm"), *what = qmpc_get(d, "event");
		struct json_object *kind = qmpc_get(d, "kind");

		if (vm && what && kind && !strcmp(json_object_get_string(vm), name) &&
		    !strcmp(json_object_get_string(what), "GRANT") &&
		    !strcmp(json_object_get_string(kind), "memory"))
			sum += u64(d, "amount");
	}
	json_object_put(reply);
	return sum;
}

/* The ledger adds up and never holds more than the pool. */
static void assert_ledger_consistent(void)
{
	struct json_object *reply, *l = must(bt.op, "{\"execute\": \"query-ledger\"}", &reply);
	struct json_object *ok = qmpc_get(l, "consistent");

	ck_assert_msg(ok && json_object_get_boolean(ok), "ledger: %s",
		      json_object_to_json_string(l));
	json_object_put(reply);
}

/* The ledger is consistent and holds @memory charged and nothing claimed (no open offers). */
static void assert_ledger_holds(uint64_t memory)
{
	struct json_object *reply, *l = must(bt.op, "{\"execute\": \"query-ledger\"}", &reply);

	ck_assert_uint_eq(u64(l, "charged.memory"), memory);
	ck_assert_uint_eq(u64(l, "claimed.memory"), 0);
	json_object_put(reply);
	assert_ledger_consistent();
}

/* The next broker event @name about VM @vm (others are dropped), or NULL. */
static struct json_object *wait_vm_event(const char *name, const char *vm, int timeout_s)
{
	double end = uml_now_s() + timeout_s;

	while (uml_now_s() < end) {
		struct json_object *ev = qmpc_wait_event(bt.op, name, (int)(end - uml_now_s()) + 1);
		struct json_object *who = ev ? qmpc_get(ev, "data.vm") : NULL;

		if (!ev)
			return NULL;
		if (who && !strcmp(json_object_get_string(who), vm))
			return ev;
		json_object_put(ev);
	}
	return NULL;
}

/* ---- the VMs ---- */

static void vm_start(unsigned int i, const char *name, const char *memory, const char *script,
		     const char *extra_cmdline)
{
	char *full, *b64, *cmdline;
	const char *args[] = { "--accel",   "uml",	"--name", name,		  "--memory",
			       memory,	    "--broker", bt.sock,  "--api-socket", bt.vm_sock[i],
			       "--cmdline", NULL,	NULL };

	char dir[sizeof(bt.dir)];

	memcpy(dir, bt.dir, sizeof(dir)); /* not formatted into its own struct */
	snprintf(bt.vm_sock[i], sizeof(bt.vm_sock[i]), "%s/%s.sock", dir, name);
	ck_assert_int_gt(asprintf(&full, "%s\n%s", script, DMESG_CHECK), 0);
	b64 = uml_base64(full);
	ck_assert_int_gt(asprintf(&cmdline, "accord.run=b64:%s %s", b64, extra_cmdline), 0);
	args[11] = cmdline;
	harness_start(&bt.vm[i], args, HARNESS_AS_IS);
	bt.started[i] = true;
	free(full);
	free(b64);
	free(cmdline);
}

static struct qmp_client *vm_connect(unsigned int i)
{
	struct qmp_client *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(qmpc_connect(c, bt.vm_sock[i], 20), "no control socket %s", bt.vm_sock[i]);
	return c;
}

static void client_drop(struct qmp_client *c)
{
	qmpc_close(c);
	free(c);
}

static char *vm_console(unsigned int i)
{
	return uml_slurp(bt.vm[i].console);
}

static bool console_has(unsigned int i, const char *needle)
{
	char *text = vm_console(i);
	bool found = strstr(text, needle) != NULL;

	free(text);
	return found;
}

/* "T: key=VALUE" from VM @i's console, or @missing. */
static long long tval(unsigned int i, const char *key, long long missing)
{
	char needle[64], *text = vm_console(i);
	const char *p = text, *hit = NULL;
	long long v;

	snprintf(needle, sizeof(needle), "T: %s=", key);
	while ((p = strstr(p, needle))) {
		hit = p + strlen(needle);
		p = hit;
	}
	v = hit ? strtoll(hit, NULL, 0) : missing;
	free(text);
	return v;
}

static void vm_dump(unsigned int i)
{
	char *text = vm_console(i), *err = uml_slurp(bt.vm[i].errpath);

	fprintf(stderr, "--- vm %u console ---\n%s--- vm %u stderr ---\n%s", i, text, i, err);
	free(text);
	free(err);
}

/* quit over the control socket; the VM exits 0. */
static void vm_quit(unsigned int i)
{
	struct qmp_client *c = vm_connect(i);
	struct json_object *reply;
	struct accord_run r;

	must(c, "{\"execute\": \"quit\"}", &reply);
	json_object_put(reply);
	client_drop(c);
	harness_finish(&bt.vm[i], &r, harness_age_s(&bt.vm[i]) + 30, NULL);
	bt.started[i] = false;
	if (r.status || r.timed_out)
		fprintf(stderr, "--- console ---\n%s--- stderr ---\n%s", r.console, r.err);
	ck_assert_int_eq(r.status, 0);
	ck_assert(!r.timed_out);
	harness_free(&r);
}

/* Tell VM @i's script to go on: it waits in `resctl recv --wait`. */
static void vm_go(unsigned int i)
{
	struct qmp_client *c = vm_connect(i);
	struct json_object *reply;

	must(c, "{\"execute\": \"send-message\", \"arguments\": {\"data\": \"go\"}}", &reply);
	json_object_put(reply);
	client_drop(c);
}

/* VM @i's device forwarded a request and waits for the broker's answer. */
static bool wait_request_waiting(unsigned int i, int timeout_s)
{
	struct qmp_client *c = vm_connect(i);
	double end = uml_now_s() + timeout_s;
	bool waiting = false;

	while (!waiting && uml_now_s() < end) {
		struct json_object *reply;
		struct json_object *reqs = must(c, "{\"execute\": \"query-requests\"}", &reply);

		for (size_t k = 0; k < json_object_array_length(reqs) && !waiting; k++) {
			struct json_object *st =
				qmpc_get(json_object_array_get_idx(reqs, k), "state");

			waiting = st && !strcmp(json_object_get_string(st), "requested");
		}
		json_object_put(reply);
		if (!waiting)
			usleep(100 * 1000);
	}
	client_drop(c);
	return waiting;
}

static void setup(void)
{
	memset(&bt, 0, sizeof(bt));
	ck_assert_int_eq(acc_mkdtemp(bt.dir, sizeof(bt.dir), "/tmp", "accord-broker"), 0);
	snprintf(bt.sock, sizeof(bt.sock), "%s/hostd.sock", bt.dir);
	snprintf(bt.log, sizeof(bt.log), "%s/hostd.log", bt.dir);
}

static void teardown(void)
{
	struct accord_run r;

	for (unsigned int i = 0; i < MAX_VMS; i++) {
		if (!bt.started[i])
			continue;
		harness_finish(&bt.vm[i], &r, 1, "");
		harness_free(&r);
	}
	hostd_kill();
	uml_remove_tree(bt.dir);
}

/* ---- accord top under tmux ---- */

/* Run a shell command and return its output (malloc'd). */
static char *capture(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *out = calloc(1, 1 << 16);
	size_t len = 0, n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(out);
	while (len < (1 << 16) - 1 && (n = fread(out + len, 1, (1 << 16) - 1 - len, f)) > 0)
		len += n;
	pclose(f);
	return out;
}

static void assert_top_shows(const char *const names[], unsigned int n)
{
	char cmd[1024], *screen = NULL;
	double end;
	bool all = false;

	ck_assert_msg(system("tmux -V > /dev/null 2>&1") == 0,
		      "tmux is missing: scripts/setup-deps installs it");
	snprintf(cmd, sizeof(cmd),
		 "tmux -S %s/tmux.sock new-session -d -s top -x 160 -y 40 "
		 "'%s top --interval 0.5 %s; sleep 60'",
		 bt.dir, ACCORD_BIN, bt.sock);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "tmux -S %s/tmux.sock capture-pane -p -t top", bt.dir);
	for (end = uml_now_s() + 15; !all && uml_now_s() < end; usleep(300 * 1000)) {
		free(screen);
		screen = capture(cmd);
		all = strstr(screen, "accord top") != NULL;
		for (unsigned int i = 0; i < n && all; i++)
			all = strstr(screen, names[i]) != NULL;
	}
	snprintf(cmd, sizeof(cmd), "tmux -S %s/tmux.sock kill-server", bt.dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(all, "accord top under tmux shows:\n%s", screen);
	free(screen);
}

/* ---- the tests ---- */

START_TEST(test_three_guests_share_a_host_reclaim_and_messages)
{
	static const char *const names[] = { "alpha", "beta", "gamma" };
	/* alpha grows past its boot allocation, then tells gamma. */
	static const char alpha[] = "sleep 3\n"
				    "memhog --rate 8M --max 160M --hold 1 --interval 2\n"
				    "echo \"T: memhog=$?\"\n"
				    "resctl send --to gamma hello from alpha\n"
				    "echo \"T: send=$?\"\n"
				    "resctl send --to nobody hi\n"
				    "echo \"T: unknown=$?\"\n"
				    "echo \"T: done=1\"\n"
				    "sleep 600\n";
	static const char gamma[] = "resctl recv --wait --timeout 300s\n"
				    "echo \"T: recv=$?\"\n"
				    "sleep 600\n";
	struct json_object *reply, *vm, *ev;
	struct qmp_client *beta_ctl;
	uint64_t beta_before, alpha_mem, beta_mem;

	hostd_start("memory=512M,cpus=4");
	/* beta holds most of the pool and does nothing with it. */
	vm_start(1, "beta", "384M", "sleep 600\n", "");
	vm_start(2, "gamma", "64M", gamma, "virtio_resource.estimator_ms=0");
	ck_assert_msg(wait_nr_vms(2, 30), "beta and gamma did not register");
	beta_ctl = vm_connect(1);
	/* Slack is what a forecast shows: beta's driver must have reported one. */
	ck_assert_msg(wait_forecast("beta", 60), "beta reported no forecast to the broker");
	vm = broker_vm("beta", &reply);
	ck_assert_ptr_nonnull(vm);
	beta_before = u64(vm, "memory.allocation");
	ck_assert_uint_eq(beta_before, 384 * MiB);
	json_object_put(reply);
	vm_start(0, "alpha", "64M,max=256M", alpha, "");
	ck_assert_msg(wait_nr_vms(3, 30), "alpha did not register");

	/* The operator's view: all three, by name, in query-status and in top. */
	vm = must(bt.op, "{\"execute\": \"query-status\"}", &reply);
	for (unsigned int i = 0; i < 3; i++)
		ck_assert_msg(strstr(json_object_to_json_string(vm), names[i]), "%s missing: %s",
			      names[i], json_object_to_json_string(vm));
	json_object_put(reply);
	assert_top_shows(names, 3);

	/* The workload runs to the end: what it needed came from beta. */
	for (double end = uml_now_s() + BOOT_S; uml_now_s() < end && tval(0, "done", 0) != 1;)
		usleep(500 * 1000);
	if (tval(0, "done", 0) != 1 || tval(0, "memhog", -1) != 0) {
		vm_dump(0);
		vm_dump(1);
	}
	ck_assert_int_eq(tval(0, "memhog", -1), 0);
	ev = wait_vm_event("RECLAIM", "beta", 5);
	ck_assert_msg(ev, "no RECLAIM of beta among the broker's events");
	ck_assert_uint_gt(u64(ev, "data.amount"), 0);
	json_object_put(ev);
	ev = qmpc_wait_event(beta_ctl, "RECLAIM_COMPLETED", 30);
	ck_assert_msg(ev, "beta's control socket shows no completed reclaim");
	json_object_put(ev);
	vm = broker_vm("alpha", &reply);
	alpha_mem = u64(vm, "memory.allocation");
	json_object_put(reply);
	vm = broker_vm("beta", &reply);
	beta_mem = u64(vm, "memory.allocation");
	ck_assert_uint_gt(u64(vm, "decisions.reclaims"), 0);
	json_object_put(reply);
	ck_assert_uint_gt(alpha_mem, 64 * MiB);
	ck_assert_uint_lt(beta_mem, beta_before);
	if (alpha_mem + beta_mem + 64 * MiB > 512 * MiB) {
		vm = must(bt.op, "{\"execute\": \"query-vms\"}", &reply);
		fprintf(stderr, "%s\n", json_object_to_json_string(vm));
		json_object_put(reply);
		vm = must(bt.op, "{\"execute\": \"query-ledger\"}", &reply);
		fprintf(stderr, "%s\n", json_object_to_json_string(vm));
		json_object_put(reply);
	}
	ck_assert_uint_le(alpha_mem + beta_mem + 64 * MiB, 512 * MiB);
	/* beta's own view agrees with the broker's. */
	vm = must(beta_ctl, "{\"execute\": \"query-allocation\"}", &reply);
	ck_assert_uint_eq(u64(vm, "memory.granted"), beta_mem);
	json_object_put(reply);
	assert_ledger_consistent();

	/* The message reached gamma; an unknown name was refused to the sender. */
	ck_assert_int_eq(tval(0, "send", -1), 0);
	ck_assert_int_eq(tval(0, "unknown", -1), 1);
	ck_assert(console_has(0, "no VM named 'nobody'"));
	for (double end = uml_now_s() + 20; uml_now_s() < end && tval(2, "recv", -1) < 0;)
		usleep(300 * 1000);
	if (!console_has(2, "from alpha: hello from alpha"))
		vm_dump(2);
	ck_assert(console_has(2, "from alpha: hello from alpha"));
	ck_assert_int_eq(tval(2, "recv", -1), 0);

	client_drop(beta_ctl);
	for (unsigned int i = 0; i < 3; i++)
		vm_quit(i);
	/* Every VM that left gave its grants back. */
	ck_assert(wait_nr_vms(0, 10));
	assert_ledger_holds(0);
}
END_TEST

START_TEST(test_a_vm_killed_mid_negotiation_and_a_broker_restart)
{
	/* victim asks for more than is free: the broker offers part and reclaims from keeper. */
	static const char victim[] = "sleep 2\n"
				     "resctl request memory 160M --min 32M --hold 120s\n"
				     "sleep 600\n";
	struct json_object *reply, *vm, *ev;
	struct qmp_client *keeper_ctl;
	uint64_t keeper_mem, keeper_vcpus;
	pid_t victim_guest;

	hostd_start("memory=256M,cpus=4");
	vm_start(0, "keeper", "128M", "sleep 600\n", "");
	ck_assert(wait_nr_vms(1, 30));
	vm_start(1, "victim", "64M,max=256M", victim, "virtio_resource.estimator_ms=0");
	ck_assert(wait_nr_vms(2, 30));
	ev = wait_vm_event("OFFER", "victim", BOOT_S);
	if (!ev)
		vm_dump(1);
	ck_assert_msg(ev, "the broker made victim no offer");
	json_object_put(ev);

	/* Killed while its offer is open: what it held and had goes back. */
	victim_guest = uml_kernel_pid(bt.vm[1].pid);
	kill(bt.vm[1].pid, SIGKILL);
	ev = wait_vm_event("VM_DEPARTED", "victim", 10);
	ck_assert_msg(ev, "victim did not depart");
	json_object_put(ev);
	{
		struct accord_run r;

		harness_finish(&bt.vm[1], &r, harness_age_s(&bt.vm[1]) + 10, NULL);
		harness_free(&r);
		bt.started[1] = false;
	}
	/* A SIGKILLed accord cannot stop what is left of its guest: the test does. */
	if (victim_guest > 0)
		kill(-victim_guest, SIGKILL);
	ck_assert_uint_eq(broker_nr_vms(), 1);
	vm = broker_vm("keeper", &reply);
	keeper_mem = u64(vm, "memory.allocation") + u64(vm, "memory.returning");
	json_object_put(reply);
	assert_ledger_holds(keeper_mem);

	/* The broker dies and comes back: keeper registers again by itself. */
	hostd_kill();
	hostd_start("memory=256M,cpus=4");
	ck_assert_msg(wait_nr_vms(1, 10), "keeper did not register again");
	keeper_ctl = vm_connect(0);
	/* Let keeper finish what a reclaim left, then both sides must agree. */
	sleep(2);
	vm = must(keeper_ctl, "{\"execute\": \"query-allocation\"}", &reply);
	keeper_mem = u64(vm, "memory.granted");
	keeper_vcpus = u64(vm, "vcpus.granted");
	json_object_put(reply);
	vm = must(keeper_ctl, "{\"execute\": \"query-status\"}", &reply);
	ck_assert_str_eq(json_object_get_string(qmpc_get(vm, "broker.state")), "up");
	json_object_put(reply);
	vm = broker_vm("keeper", &reply);
	ck_assert_ptr_nonnull(vm);
	ck_assert_uint_eq(u64(vm, "memory.allocation"), keeper_mem);
	ck_assert_uint_eq(u64(vm, "vcpus.allocation"), keeper_vcpus);
	json_object_put(reply);
	assert_ledger_consistent();

	/* The link works both ways again: the broker's reclaim reaches keeper. */
	vm = must(bt.op,
		  "{\"execute\": \"reclaim\", \"arguments\": {\"vm\": \"keeper\","
		  " \"memory\": 33554432}}",
		  &reply);
	json_object_put(reply);
	ev = qmpc_wait_event(keeper_ctl, "RECLAIM", 10);
	ck_assert_msg(ev, "keeper saw no reclaim from the restarted broker");
	ck_assert_uint_eq(u64(ev, "data.target"), keeper_mem - 32 * MiB);
	json_object_put(ev);
	/* And its own operator is sent to the broker. */
	vm = NULL;
	reply = qmpc_execute(keeper_ctl,
			     "{\"execute\": \"set-allocation\", \"arguments\": {\"memory\": "
			     "67108864}}",
			     10);
	ck_assert_ptr_nonnull(reply);
	ck_assert_ptr_nonnull(strstr(json_object_to_json_string(reply), "broker"));
	ck_assert_ptr_nonnull(qmpc_get(reply, "error"));
	json_object_put(reply);
	client_drop(keeper_ctl);
	vm_quit(0);
	ck_assert(wait_nr_vms(0, 10));
	assert_ledger_consistent();
}
END_TEST

START_TEST(test_a_guest_killed_while_its_request_waits_at_the_broker)
{
	/* Each guest asks for 32 MiB when the test says go. */
	static const char asker[] = "echo \"T: ready=1\"\n"
				    "resctl recv --wait --timeout 300s\n"
				    "resctl request memory 32M\n"
				    "echo \"T: request=$?\"\n"
				    "sleep 600\n";
	struct json_object *reply, *vm, *ev;
	struct accord_run r;
	bool waiting;
	pid_t guest;
	char *line;

	hostd_start("memory=256M,cpus=4");
	vm_start(0, "keeper", "128M,max=256M", asker, "virtio_resource.estimator_ms=0");
	vm_start(1, "victim", "64M,max=256M", asker, "virtio_resource.estimator_ms=0");
	ck_assert(wait_nr_vms(2, 30));
	for (unsigned int i = 0; i < 2; i++) {
		if (!harness_wait_console(&bt.vm[i], "T: ready=1", BOOT_S))
			vm_dump(i);
		ck_assert_msg(tval(i, "ready", 0) == 1, "vm %u's guest did not come up", i);
	}

	/* The broker stops; victim's request leaves the guest and waits for it. */
	ck_assert_int_eq(kill(bt.hostd, SIGSTOP), 0);
	vm_go(1);
	waiting = wait_request_waiting(1, 30);
	if (!waiting)
		vm_dump(1);
	ck_assert_msg(waiting, "victim's request never reached its device");
	ck_assert_msg(tval(1, "request", -1) == -1, "victim's request was answered");

	/* The guest dies under a live accord: one line says so, and accord ends without the broker.
	 */
	guest = uml_kernel_pid(bt.vm[1].pid);
	ck_assert_msg(guest > 0, "no User-mode Linux child under accord %d", (int)bt.vm[1].pid);
	ck_assert_int_eq(kill(guest, SIGKILL), 0);
	harness_finish(&bt.vm[1], &r, harness_age_s(&bt.vm[1]) + 30, NULL);
	bt.started[1] = false;
	ck_assert_msg(!r.timed_out, "accord outlived its guest:\n%s", r.err);
	ck_assert_msg(r.status == EXIT_STATUS_KVM_ERROR, "status %d:\n%s", r.status, r.err);
	ck_assert_msg(harness_count(r.err, "error:") == 1, "stderr: %s", r.err);
	line = strstr(r.err, "error:");
	line = strndup(line, strcspn(line, "\n"));
	ck_assert_msg(strstr(line, "User-mode Linux guest") &&
			      strstr(line, "killed by SIGKILL (9)"),
		      "%s", line);
	free(line);
	harness_free(&r);
	/* SIGKILL reaches the group's processes one by one: give them a moment. */
	for (int i = 0; i < 50 && uml_group_running(guest); i++)
		usleep(100 * 1000);
	ck_assert_msg(!uml_group_running(guest), "UML's processes outlived accord");

	/* The broker runs again: victim departs and nothing stays with it. */
	ck_assert_int_eq(kill(bt.hostd, SIGCONT), 0);
	ev = wait_vm_event("VM_DEPARTED", "victim", 10);
	ck_assert_msg(ev, "victim did not depart");
	/* What it booted with, and whatever the broker granted the request nobody waits for. */
	ck_assert_uint_eq(u64(ev, "data.returned.memory"),
			  64 * MiB + broker_granted_memory("victim"));
	json_object_put(ev);
	ck_assert(wait_nr_vms(1, 10));
	vm = broker_vm("keeper", &reply);
	ck_assert_ptr_nonnull(vm);
	ck_assert_uint_eq(u64(vm, "memory.allocation"), 128 * MiB);
	ck_assert_uint_eq(u64(vm, "memory.returning"), 0);
	json_object_put(reply);
	assert_ledger_holds(128 * MiB);

	/* keeper negotiates as before: its request is granted from what victim left. */
	vm_go(0);
	for (double end = uml_now_s() + 30; uml_now_s() < end && tval(0, "request", -1) < 0;)
		usleep(200 * 1000);
	if (tval(0, "request", -1) != 0)
		vm_dump(0);
	ck_assert_int_eq(tval(0, "request", -1), 0);
	vm = broker_vm("keeper", &reply);
	ck_assert_uint_eq(u64(vm, "memory.allocation"), 160 * MiB);
	json_object_put(reply);
	{
		struct qmp_client *c = vm_connect(0);

		vm = must(c, "{\"execute\": \"query-allocation\"}", &reply);
		ck_assert_uint_eq(u64(vm, "memory.granted"), 160 * MiB);
		json_object_put(reply);
		client_drop(c);
	}
	assert_ledger_holds(160 * MiB);
	vm_quit(0);
	ck_assert(wait_nr_vms(0, 10));
	assert_ledger_holds(0);
}
END_TEST

static Suite *broker_suite(void)
{
	Suite *s = suite_create("uml-broker");
	TCase *tc = tcase_create("three guests");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 400);
	tcase_add_test(tc, test_three_guests_share_a_host_reclaim_and_messages);
	tcase_add_test(tc, test_a_vm_killed_mid_negotiation_and_a_broker_restart);
	tcase_add_test(tc, test_a_guest_killed_while_its_request_waits_at_the_broker);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(broker_suite());
	int failed;

	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
