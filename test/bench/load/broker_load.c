// SPDX-License-Identifier: MIT
/*
 * broker-load: how many decisions the broker (accord hostd) makes per
 * second with N VMs asking at once, and how long each takes.
 *
 * Each simulated VM is one connection that registers as a VM process would
 * (register-vm) and then runs a closed loop: vm-request for a few 2 MiB
 * units of memory; a GRANT is given back with vm-release, an OFFER is
 * declined with vm-decline, a DENY is followed by the next request. The
 * broker's moves are answered as a VM would: VM_RECLAIM of memory is handed
 * back at once (vm-returning 0), VM_DELIVER (a kept promise) is released,
 * VM_EXPAND is taken. So the pool never runs dry and every VM is back at
 * its registered allocation when the run ends. Only one call per VM is in
 * flight; the latency kept is that of vm-request.
 *
 * After the window the VMs finish what they were doing, and an operator
 * connection checks the ledger (query-ledger's invariant) and that the
 * broker's view of every VM (query-vms) is what the VM believes it holds;
 * then the VMs disconnect and the broker must see them depart.
 *
 * One epoll thread drives every VM: 64 threads on two cores would measure
 * the client's scheduler, not the broker (see qmp_load.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "accord/clock.h"
#include "bench_qmp.h"
#include "samples.h"

#define BL_MAX_VMS	 128 /* the broker takes 64 (LEDGER_MAX_VMS) */
#define BL_EVENTS	 64
#define BL_DRAIN_MS	 5000
#define BL_DEPART_MS	 3000
#define BL_MAX_UNITS	 8 /* a request asks for 1 to 8 units */
#define BL_MEM_MAX	 (1ull << 30)
#define BL_MEM_GRANTED	 (64ull << 20)
#define BL_VCPUS_MAX	 4
#define BL_VCPUS_GRANTED 1
#define BL_WEIGHT	 100

enum { MEM, VCPUS, NR_KINDS };

static const char *const kind_names[NR_KINDS] = { "memory", "vcpus" };

static const char broker_load_usage[] =
	"Usage: broker-load --socket PATH [--vms N] [--duration S] [--warmup S]\n"
	"\n"
	"Simulate N VMs (default 64) against an accord broker (accord hostd): each\n"
	"registers, then asks for memory in a closed loop, gives grants back and\n"
	"declines offers. Prints one JSON line with the decisions per second and the\n"
	"vm-request latency; exits 1 if the ledger is inconsistent afterwards, on an\n"
	"error answer or a lost connection.\n"
	"\n"
	"  --socket PATH        the broker's socket (accord hostd --socket)\n"
	"  --vms N              simulated VMs (default 64; the broker takes 64)\n"
	"  --duration S         measured seconds (default 5)\n"
	"  --warmup S           seconds run first and not measured (default 0.5)\n"
	"  -h, --help           show this help\n";

struct broker_load_opts {
	const char *socket;
	unsigned int vms;
	double duration;
	double warmup;
	bool help;
};

enum bl_call { CALL_NONE, CALL_REQUEST, CALL_RELEASE, CALL_DECLINE, CALL_RETURNING };

struct bl_vm {
	struct bqmp q;
	char name[32];
	enum bl_call call; /* in flight */
	int64_t id;	   /* of the call in flight */
	uint64_t sent_ns;
	uint64_t txn; /* of the last request */
	uint64_t rng;
	uint64_t alloc[NR_KINDS];   /* what the VM believes it holds */
	uint64_t release[NR_KINDS]; /* to give back */
	uint64_t release_txn;
	uint64_t decline_txn; /* an offer to decline (0: none) */
	bool report_returning;
	bool want_out;
};

struct bl_counts {
	uint64_t decisions;
	uint64_t grants;
	uint64_t denials;
	uint64_t offers;
	uint64_t reclaims; /* events over the whole run */
	uint64_t deliveries;
	uint64_t expands;
	uint64_t errors;
};

struct bl_run {
	struct broker_load_opts opt;
	int epfd;
	struct bl_vm *vms;
	unsigned int nr_open;
	uint64_t unit; /* of memory, from register-vm */
	struct samples lat;
	uint64_t start_ns;
	uint64_t end_ns;
	struct bl_counts n;
	struct acc_err first_error;
	bool stopping;
	bool consistent;
	bool agree;
	bool departed;
};

static int parse_args(int argc, char **argv, struct broker_load_opts *o, struct acc_err *err)
{
	uint64_t v;
	int ret = 0;

	*o = (struct broker_load_opts){ .vms = 64, .duration = 5, .warmup = 0.5 };
	for (int i = 1; i < argc && !ret; i++) {
		const char *opt = argv[i], *val;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			o->help = true;
			return 0;
		}
		if (strcmp(opt, "--socket") && strcmp(opt, "--vms") && strcmp(opt, "--duration") &&
		    strcmp(opt, "--warmup"))
			return acc_errf(err, EINVAL, "unknown option '%s' (see --help)", opt);
		if (i + 1 == argc)
			return acc_errf(err, EINVAL, "%s needs a value", opt);
		val = argv[++i];
		if (!strcmp(opt, "--socket")) {
			o->socket = val;
		} else if (!strcmp(opt, "--vms")) {
			ret = bench__parse_uint(opt, val, 1, BL_MAX_VMS, &v, err);
			o->vms = (unsigned int)v;
		} else if (!strcmp(opt, "--duration")) {
			ret = bench__parse_seconds(opt, val, 0.001, 86400, &o->duration, err);
		} else {
			ret = bench__parse_seconds(opt, val, 0, 3600, &o->warmup, err);
		}
	}
	if (!ret && !o->socket)
		return acc_errf(err, EINVAL, "--socket PATH is required");
	return ret;
}

/* xorshift64*: each VM's own sequence of request sizes. */
static uint64_t vm_random(struct bl_vm *v)
{
	v->rng ^= v->rng >> 12;
	v->rng ^= v->rng << 25;
	v->rng ^= v->rng >> 27;
	return v->rng * 0x2545f4914f6cdd1dull;
}

static struct json_object *kind_args(unsigned int kind, uint64_t txn)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "txn", json_object_new_uint64(txn));
	json_object_object_add(a, "kind", json_object_new_string(kind_names[kind]));
	return a;
}

static int vm_call(struct bl_vm *v, enum bl_call call, const char *name, struct json_object *args,
		   struct acc_err *err)
{
	int ret;

	v->call = call;
	v->id++;
	v->sent_ns = clock__monotonic_ns();
	ret = bqmp__execute(&v->q, name, args, v->id, true, err);
	json_object_put(args);
	return ret;
}

/* Start the VM's next call, if it has none in flight and something to do. */
static int vm_next(struct bl_run *r, struct bl_vm *v, struct acc_err *err)
{
	struct json_object *a;
	uint64_t units;

	if (v->call != CALL_NONE)
		return 0;
	if (v->report_returning) {
		v->report_returning = false;
		a = json_object_new_object();
		json_object_object_add(a, "memory", json_object_new_uint64(0));
		return vm_call(v, CALL_RETURNING, "vm-returning", a, err);
	}
	for (unsigned int k = 0; k < NR_KINDS; k++) {
		if (!v->release[k])
			continue;
		a = kind_args(k, v->release_txn);
		json_object_object_add(a, "amount", json_object_new_uint64(v->release[k]));
		v->release[k] = 0;
		return vm_call(v, CALL_RELEASE, "vm-release", a, err);
	}
	if (v->decline_txn) {
		a = kind_args(MEM, v->decline_txn);
		v->decline_txn = 0;
		return vm_call(v, CALL_DECLINE, "vm-decline", a, err);
	}
	if (r->stopping)
		return 0;
	units = 1 + vm_random(v) % BL_MAX_UNITS;
	a = kind_args(MEM, ++v->txn);
	json_object_object_add(a, "amount", json_object_new_uint64(units * r->unit));
	json_object_object_add(a, "minimum", json_object_new_uint64(r->unit));
	return vm_call(v, CALL_REQUEST, "vm-request", a, err);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

static int kind_of(struct json_object *o)
{
	const char *name = get_str(o, "kind");

	return !strcmp(name, "memory") ? MEM : !strcmp(name, "vcpus") ? VCPUS : -1;
}

/* The broker's moves: events addressed to this VM alone. */
static void vm_event(struct bl_run *r, struct bl_vm *v, const struct bqmp_msg *m)
{
	int kind = kind_of(m->value);

	if (kind < 0)
		return; /* VM_MESSAGE and the like: nobody sends messages here */
	if (!strcmp(m->event, "VM_RECLAIM")) {
		/* The allocation is lowered already; memory is handed back at once. */
		r->n.reclaims++;
		v->alloc[kind] = get_u64(m->value, "target");
		if (kind == MEM)
			v->report_returning = true;
	} else if (!strcmp(m->event, "VM_DELIVER")) {
		/* A promise kept: take it, and give it back so the pool stays full. */
		r->n.deliveries++;
		v->alloc[kind] = get_u64(m->value, "target");
		v->release[kind] += get_u64(m->value, "amount");
		v->release_txn = get_u64(m->value, "txn");
	} else if (!strcmp(m->event, "VM_EXPAND")) {
		r->n.expands++;
		v->alloc[kind] = get_u64(m->value, "target");
	}
}

static void vm_allocation(struct bl_vm *v, struct json_object *ret)
{
	struct json_object *x;

	for (unsigned int k = 0; k < NR_KINDS; k++) {
		if (ret && json_object_object_get_ex(ret, kind_names[k], &x))
			v->alloc[k] = json_object_get_uint64(x);
	}
}

static int vm_decision(struct bl_run *r, struct bl_vm *v, struct json_object *ret, uint64_t now,
		       struct acc_err *err)
{
	const char *verdict = get_str(ret, "verdict");
	bool measured = now >= r->start_ns && now <= r->end_ns;

	v->alloc[MEM] = get_u64(ret, "allocation");
	if (!strcmp(verdict, "GRANT")) {
		v->release[MEM] += get_u64(ret, "amount");
		v->release_txn = v->txn;
		r->n.grants += measured;
	} else if (!strcmp(verdict, "OFFER")) {
		v->decline_txn = v->txn;
		r->n.offers += measured;
	} else if (!strcmp(verdict, "DENY")) {
		r->n.denials += measured;
	} else {
		return acc_errf(err, EPROTO, "%s: vm-request: verdict '%s'", v->name, verdict);
	}
	if (measured) {
		r->n.decisions++;
		if (samples__add(&r->lat, now - v->sent_ns))
			return acc_errf(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int vm_input(struct bl_run *r, struct bl_vm *v, uint64_t now, struct acc_err *err)
{
	enum bl_call call;
	struct bqmp_msg m;
	int ret;

	while ((ret = bqmp__next(&v->q, &m, err)) > 0) {
		if (m.kind == BQMP_EVENT) {
			vm_event(r, v, &m);
		} else {
			if (m.kind == BQMP_GREETING || v->call == CALL_NONE || !m.has_id ||
			    m.id != v->id)
				return acc_errf(err, EPROTO, "%s: an answer that matches no call",
						v->name);
			call = v->call;
			v->call = CALL_NONE;
			ret = 0;
			if (m.kind == BQMP_ERROR) {
				if (!r->n.errors++)
					acc_errf(&r->first_error, EREMOTEIO, "%s: %s", v->name,
						 bqmp__error_desc(&m));
			} else if (call == CALL_REQUEST) {
				ret = vm_decision(r, v, m.value, now, err);
			} else if (call != CALL_RETURNING) {
				vm_allocation(v, m.value);
			}
			if (ret)
				return ret;
		}
		ret = vm_next(r, v, err);
		if (ret)
			return ret;
	}
	return ret;
}

static int vm_watch(struct bl_run *r, struct bl_vm *v, struct acc_err *err)
{
	bool want = bqmp__pending_out(&v->q);
	struct epoll_event ev = { EPOLLIN | (want ? EPOLLOUT : 0), { .ptr = v } };

	if (want == v->want_out)
		return 0;
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, v->q.fd, &ev))
		return acc_errf(err, errno, "epoll: %s", strerror(errno));
	v->want_out = want;
	return 0;
}

static int vm_io(struct bl_run *r, struct bl_vm *v, uint32_t events, struct acc_err *err)
{
	int ret = 0, fill;

	if (events & EPOLLOUT)
		ret = bqmp__flush(&v->q, err);
	if (!ret && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		fill = bqmp__fill(&v->q, err);
		if (fill && fill != -EPIPE)
			return fill;
		ret = vm_input(r, v, clock__monotonic_ns(), err);
		if (!ret && fill)
			ret = acc_errf(err, EPIPE, "%s: the broker closed the connection", v->name);
	}
	return ret ? ret : vm_watch(r, v, err);
}

static int vm_register(struct bl_run *r, struct bl_vm *v, unsigned int i, struct acc_err *err)
{
	struct json_object *a = json_object_new_object(), *share, *unit;
	struct bqmp_msg m;
	int ret;

	snprintf(v->name, sizeof(v->name), "bench-vm-%02u", i);
	v->rng = 0x9e3779b97f4a7c15ull * (i + 1);
	json_object_object_add(a, "name", json_object_new_string(v->name));
	share = json_object_new_object();
	json_object_object_add(share, "max", json_object_new_uint64(BL_MEM_MAX));
	json_object_object_add(share, "granted", json_object_new_uint64(BL_MEM_GRANTED));
	json_object_object_add(a, "memory", share);
	share = json_object_new_object();
	json_object_object_add(share, "max", json_object_new_uint64(BL_VCPUS_MAX));
	json_object_object_add(share, "granted", json_object_new_uint64(BL_VCPUS_GRANTED));
	json_object_object_add(a, "vcpus", share);
	json_object_object_add(a, "weight", json_object_new_uint64(BL_WEIGHT));
	ret = bqmp__call(&v->q, "register-vm", a, &m, err);
	json_object_put(a);
	if (ret) {
		acc_err_prefix(err, "%s: ", v->name);
		return ret;
	}
	v->alloc[MEM] = BL_MEM_GRANTED;
	v->alloc[VCPUS] = BL_VCPUS_GRANTED;
	if (!r->unit && json_object_object_get_ex(m.value, "unit", &unit))
		r->unit = get_u64(unit, "memory");
	if (!r->unit)
		return acc_errf(err, EPROTO, "register-vm: no memory unit in the answer");
	return 0;
}

static int open_vms(struct bl_run *r, struct acc_err *err)
{
	struct epoll_event ev;
	int ret;

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return acc_errf(err, errno, "epoll: %s", strerror(errno));
	r->vms = calloc(r->opt.vms, sizeof(*r->vms));
	if (!r->vms)
		return acc_errf(err, ENOMEM, "out of memory");
	for (unsigned int i = 0; i < r->opt.vms; i++) {
		struct bl_vm *v = &r->vms[i];

		ret = bqmp__connect(&v->q, r->opt.socket, err);
		if (ret)
			return ret;
		r->nr_open++;
		ret = bqmp__handshake(&v->q, err);
		if (!ret)
			ret = vm_register(r, v, i, err);
		if (ret)
			return ret;
		ev = (struct epoll_event){ EPOLLIN, { .ptr = v } };
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, v->q.fd, &ev))
			return acc_errf(err, errno, "epoll: %s", strerror(errno));
	}
	return 0;
}

static void close_vms(struct bl_run *r)
{
	for (unsigned int i = 0; i < r->nr_open; i++)
		bqmp__close(&r->vms[i].q);
	r->nr_open = 0;
}

static bool all_idle(const struct bl_run *r)
{
	for (unsigned int i = 0; i < r->opt.vms; i++) {
		const struct bl_vm *v = &r->vms[i];

		if (v->call != CALL_NONE || v->report_returning || v->release[MEM] ||
		    v->release[VCPUS] || v->decline_txn || bqmp__pending_out(&v->q))
			return false;
	}
	return true;
}

static int run_loop(void *ctx, struct acc_err *err)
{
	struct bl_run *r = ctx;
	struct epoll_event evs[BL_EVENTS];
	uint64_t now, until, drain_end;
	int n, ret;

	now = clock__monotonic_ns();
	r->start_ns = now + (uint64_t)(r->opt.warmup * 1e9);
	r->end_ns = r->start_ns + (uint64_t)(r->opt.duration * 1e9);
	drain_end = r->end_ns + BL_DRAIN_MS * 1000000ull;
	for (unsigned int i = 0; i < r->opt.vms; i++) {
		ret = vm_next(r, &r->vms[i], err);
		if (!ret)
			ret = vm_watch(r, &r->vms[i], err);
		if (ret)
			return ret;
	}
	for (;;) {
		now = clock__monotonic_ns();
		if (now >= r->end_ns)
			r->stopping = true;
		/* After the window: until every VM has given back what it got. */
		if (r->stopping && all_idle(r))
			return 0;
		if (now >= drain_end)
			return acc_errf(err, ETIMEDOUT,
					"the broker left calls unanswered for %d ms", BL_DRAIN_MS);
		until = now < r->start_ns ? r->start_ns : now < r->end_ns ? r->end_ns : drain_end;
		n = epoll_wait(r->epfd, evs, BL_EVENTS, (int)((until - now + 999999) / 1000000));
		if (n < 0 && errno != EINTR)
			return acc_errf(err, errno, "epoll: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			ret = vm_io(r, evs[i].data.ptr, evs[i].events, err);
			if (ret)
				return ret;
		}
	}
}

static struct bl_vm *find_vm(struct bl_run *r, const char *name)
{
	for (unsigned int i = 0; i < r->opt.vms; i++) {
		if (!strcmp(r->vms[i].name, name))
			return &r->vms[i];
	}
	return NULL;
}

/* Does the broker see each VM holding what the VM believes, with nothing held or returning? */
static int check_vms(struct bl_run *r, struct bqmp *op, struct acc_err *err)
{
	unsigned int seen = 0;
	struct json_object *e, *share;
	struct bqmp_msg m;
	struct bl_vm *v;
	size_t n;
	int ret;

	ret = bqmp__call(op, "query-vms", NULL, &m, err);
	if (ret)
		return ret;
	r->agree = json_object_is_type(m.value, json_type_array);
	n = r->agree ? json_object_array_length(m.value) : 0;
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(m.value, i);
		v = find_vm(r, get_str(e, "name"));
		if (!v)
			continue;
		seen++;
		for (unsigned int k = 0; k < NR_KINDS; k++) {
			if (!json_object_object_get_ex(e, kind_names[k], &share) ||
			    get_u64(share, "allocation") != v->alloc[k] || get_u64(share, "held") ||
			    get_u64(share, "returning")) {
				fprintf(stderr,
					"broker-load: %s: the broker has %s %s, the VM believes "
					"%llu\n",
					v->name, kind_names[k], json_object_to_json_string(share),
					(unsigned long long)v->alloc[k]);
				r->agree = false;
			}
		}
	}
	if (seen != r->opt.vms)
		r->agree = false;
	return 0;
}

/* How many of our VMs the broker still lists. */
static int count_registered(struct bl_run *r, struct bqmp *op, unsigned int *count,
			    struct acc_err *err)
{
	struct json_object *vms;
	struct bqmp_msg m;
	size_t n;
	int ret;

	ret = bqmp__call(op, "query-status", NULL, &m, err);
	if (ret)
		return ret;
	*count = 0;
	if (!json_object_object_get_ex(m.value, "vms", &vms) ||
	    !json_object_is_type(vms, json_type_array))
		return acc_errf(err, EPROTO, "query-status: no 'vms' list");
	n = json_object_array_length(vms);
	for (size_t i = 0; i < n; i++)
		*count += find_vm(r, get_str(json_object_array_get_idx(vms, i), "name")) != NULL;
	return 0;
}

/*
 * Operators' view after the run: the ledger's invariant, each VM's entry;
 * then the VMs leave and must be gone from the broker.
 */
static int check_broker(struct bl_run *r, struct acc_err *err)
{
	uint64_t deadline;
	struct json_object *c;
	unsigned int count;
	struct bqmp op;
	struct bqmp_msg m;
	int ret;

	ret = bqmp__connect(&op, r->opt.socket, err);
	if (ret)
		return ret;
	ret = bqmp__handshake(&op, err);
	if (!ret)
		ret = bqmp__call(&op, "query-ledger", NULL, &m, err);
	if (ret)
		goto close_op;
	r->consistent =
		json_object_object_get_ex(m.value, "consistent", &c) && json_object_get_boolean(c);
	ret = check_vms(r, &op, err);
	if (ret)
		goto close_op;
	close_vms(r);
	deadline = clock__monotonic_ns() + BL_DEPART_MS * 1000000ull;
	do {
		ret = count_registered(r, &op, &count, err);
		if (ret || !count)
			break;
		usleep(10000);
	} while (clock__monotonic_ns() < deadline);
	r->departed = !ret && !count;
	/* The departures must leave the ledger consistent too. */
	if (!ret)
		ret = bqmp__call(&op, "query-ledger", NULL, &m, err);
	if (!ret)
		r->consistent &= json_object_object_get_ex(m.value, "consistent", &c) &&
				 json_object_get_boolean(c);
close_op:
	bqmp__close(&op);
	return ret;
}

static void report(struct bl_run *r, const struct bench_usage *u)
{
	struct json_object *o = json_object_new_object();
	double secs = (double)(r->end_ns - r->start_ns) / 1e9;

	json_object_object_add(o, "vms", json_object_new_int64(r->opt.vms));
	json_object_object_add(o, "decisions", json_object_new_uint64(r->n.decisions));
	json_object_object_add(o, "grants", json_object_new_uint64(r->n.grants));
	json_object_object_add(o, "denials", json_object_new_uint64(r->n.denials));
	json_object_object_add(o, "offers", json_object_new_uint64(r->n.offers));
	bench__json_fixed(o, "duration_s", secs, 3);
	bench__json_fixed(o, "decisions_per_s", (double)r->n.decisions / secs, 1);
	samples__json_us(&r->lat, o, "p50_us", 50);
	samples__json_us(&r->lat, o, "p99_us", 99);
	json_object_object_add(o, "reclaims", json_object_new_uint64(r->n.reclaims));
	json_object_object_add(o, "deliveries", json_object_new_uint64(r->n.deliveries));
	json_object_object_add(o, "errors", json_object_new_uint64(r->n.errors));
	json_object_object_add(o, "ledger_consistent", json_object_new_boolean(r->consistent));
	json_object_object_add(o, "vms_agree", json_object_new_boolean(r->agree));
	json_object_object_add(o, "departed", json_object_new_boolean(r->departed));
	bench__json_cpu(o, u);
	bench__json_print(o);
	json_object_put(o);
}

int main(int argc, char **argv)
{
	struct bl_run r = { .epfd = -1 };
	struct bench_usage u = { 0, 0 };
	struct acc_err err;
	int ret;

	if (parse_args(argc, argv, &r.opt, &err)) {
		fprintf(stderr, "broker-load: %s\n", err.msg);
		return 2;
	}
	if (r.opt.help) {
		fputs(broker_load_usage, stdout);
		return 0;
	}
	ret = open_vms(&r, &err);
	if (!ret) {
		ret = bench__timed(run_loop, &r, &u, &err);
	}
	if (!ret)
		ret = check_broker(&r, &err);
	close_vms(&r);
	free(r.vms);
	if (r.epfd >= 0)
		close(r.epfd);
	if (ret) {
		fprintf(stderr, "broker-load: %s: %s\n", r.opt.socket, err.msg);
		samples__free(&r.lat);
		return 1;
	}
	report(&r, &u);
	samples__free(&r.lat);
	if (r.n.errors)
		fprintf(stderr, "broker-load: %llu error answers, the first: %s\n",
			(unsigned long long)r.n.errors, r.first_error.msg);
	if (!r.consistent)
		fprintf(stderr, "broker-load: the broker's ledger is not consistent\n");
	if (!r.agree)
		fprintf(stderr, "broker-load: the broker's view of the VMs differs from theirs\n");
	if (!r.departed)
		fprintf(stderr, "broker-load: the broker still lists VMs that disconnected\n");
	return r.n.errors || !r.consistent || !r.agree || !r.departed ? 1 : 0;
}
