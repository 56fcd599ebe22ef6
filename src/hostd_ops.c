// SPDX-License-Identifier: MIT
/*
 * The broker's operator commands: status with the registered VMs, each
 * VM's allocation, usage, forecast, fair share and slack, the ledger,
 * the decisions with their history, the policy (weights, floors, buffer,
 * rates, pool), host-initiated allocation changes and reclaims, messages to
 * a guest, and the Prometheus text of it all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord/base64.h"
#include "accord/qmp_args.h"
#include "hostd_priv.h"

static struct ledger_vm *named_vm(struct hostd *hd, struct json_object *args, struct qmp_error *err)
{
	const char *name = qmp_args__str(args, "vm");
	struct ledger_vm *vm = name ? ledger__find_name(&hd->ledger, name) : NULL;

	if (!vm)
		qmp__errorf(err, QMP_ERROR_DEVICE_NOT_FOUND, ENOENT,
			    "no VM named '%s' is registered", name ? name : "");
	return vm;
}

static struct json_object *share_json(struct hostd *hd, const struct ledger_vm *vm,
				      enum ledger_kind k)
{
	const struct ledger_share *s = &vm->k[k];
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "max", json_object_new_uint64(s->max));
	json_object_object_add(o, "allocation", json_object_new_uint64(s->alloc));
	json_object_object_add(o, "returning", json_object_new_uint64(s->returning));
	json_object_object_add(o, "held", json_object_new_uint64(ledger__held(vm, k)));
	json_object_object_add(o, "promised", json_object_new_uint64(ledger__promised(vm, k)));
	json_object_object_add(o, "used", s->has_forecast ? json_object_new_uint64(s->used) : NULL);
	json_object_object_add(o, "forecast",
			       s->has_forecast ? json_object_new_uint64(s->forecast) : NULL);
	json_object_object_add(o, "floor", json_object_new_uint64(vm->policy.floor[k]));
	json_object_object_add(o, "fair-share",
			       json_object_new_uint64(ledger__fair_share(&hd->ledger, vm, k)));
	json_object_object_add(o, "slack",
			       json_object_new_uint64(ledger__slack(&hd->ledger, vm, k)));
	return o;
}

static struct json_object *counters_json(const struct ledger_counters *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "grants", json_object_new_uint64(c->grants));
	json_object_object_add(o, "denies", json_object_new_uint64(c->denies));
	json_object_object_add(o, "offers", json_object_new_uint64(c->offers));
	json_object_object_add(o, "accepts", json_object_new_uint64(c->accepts));
	json_object_object_add(o, "declines", json_object_new_uint64(c->declines));
	json_object_object_add(o, "reclaims", json_object_new_uint64(c->reclaims));
	json_object_object_add(o, "deliveries", json_object_new_uint64(c->deliveries));
	json_object_object_add(o, "releases", json_object_new_uint64(c->releases));
	json_object_object_add(o, "granted", hostd_kinds_json(c->granted));
	json_object_object_add(o, "reclaimed", hostd_kinds_json(c->reclaimed));
	return o;
}

struct json_object *hostd_vm_json(struct hostd *hd, const struct ledger_vm *vm)
{
	struct hostd_link *link = hostd_link_of(hd, vm);
	struct json_object *o = json_object_new_object();
	unsigned int pending = 0;

	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		for (unsigned int i = 0; i < LEDGER_MAX_HOLDS; i++)
			pending += vm->k[k].holds[i].txn != 0;
		for (unsigned int i = 0; i < LEDGER_MAX_PROMISES; i++)
			pending += vm->k[k].promises[i].used;
	}
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "id", json_object_new_int64(vm->id));
	json_object_object_add(o, "driver", json_object_new_boolean(vm->driver));
	json_object_object_add(o, "weight", json_object_new_int64(vm->policy.weight));
	json_object_object_add(
		o, "registered-ms",
		json_object_new_uint64(
			link ? (clock__monotonic_ns() - link->registered_ns) / 1000000 : 0));
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		json_object_object_add(o, ledger__kind_name(k), share_json(hd, vm, k));
	json_object_object_add(o, "pending", json_object_new_int64(pending));
	json_object_object_add(o, "decisions", counters_json(&vm->count));
	if (link) {
		json_object_object_add(o, "messages-sent", json_object_new_uint64(link->msgs_sent));
		json_object_object_add(o, "messages-received",
				       json_object_new_uint64(link->msgs_received));
	}
	return o;
}

static int cmd_query_status(void *ctx, struct json_object *args, struct json_object **ret,
			    struct qmp_error *err)
{
	struct hostd *hd = ctx;
	struct json_object *o, *vms;
	uint64_t charged[LEDGER_NR_KINDS], free_[LEDGER_NR_KINDS], now = clock__monotonic_ns();

	if (qmp_args__none(args, err))
		return -EINVAL;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		charged[k] = ledger__charged(&hd->ledger, k);
		free_[k] = hd->ledger.cfg.pool[k] > charged[k] ? hd->ledger.cfg.pool[k] - charged[k]
							       : 0;
	}
	vms = json_object_new_array();
	for (unsigned int i = 0; i < LEDGER_MAX_VMS; i++) {
		const struct ledger_vm *vm = &hd->ledger.vms[i];
		struct json_object *v;

		if (!vm->used)
			continue;
		v = json_object_new_object();
		json_object_object_add(v, "name", json_object_new_string(vm->name));
		json_object_object_add(v, "id", json_object_new_int64(vm->id));
		json_object_object_add(v, "memory",
				       json_object_new_uint64(vm->k[LEDGER_MEM].alloc));
		json_object_object_add(v, "vcpus",
				       json_object_new_uint64(vm->k[LEDGER_VCPU].alloc));
		json_object_array_add(vms, v);
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("running"));
	json_object_object_add(o, "running", json_object_new_boolean(1));
	json_object_object_add(o, "role", json_object_new_string("broker"));
	json_object_object_add(o, "uptime-ms",
			       json_object_new_uint64((now - hd->started_ns) / 1000000));
	json_object_object_add(o, "recovering",
			       json_object_new_boolean(ledger__recovering(&hd->ledger, now)));
	json_object_object_add(o, "pool", hostd_kinds_json(hd->ledger.cfg.pool));
	json_object_object_add(o, "charged", hostd_kinds_json(charged));
	json_object_object_add(o, "free", hostd_kinds_json(free_));
	json_object_object_add(o, "vms", vms);
	*ret = o;
	return 0;
}

static int cmd_query_vms(void *ctx, struct json_object *args, struct json_object **ret,
			 struct qmp_error *err)
{
	struct hostd *hd = ctx;
	struct json_object *list;

	if (qmp_args__none(args, err))
		return -EINVAL;
	list = json_object_new_array();
	for (unsigned int i = 0; i < LEDGER_MAX_VMS; i++) {
		if (hd->ledger.vms[i].used)
			json_object_array_add(list, hostd_vm_json(hd, &hd->ledger.vms[i]));
	}
	*ret = list;
	return 0;
}

static int cmd_query_ledger(void *ctx, struct json_object *args, struct json_object **ret,
			    struct qmp_error *err)
{
	struct hostd *hd = ctx;
	struct ledger *l = &hd->ledger;
	uint64_t charged[LEDGER_NR_KINDS], claimed[LEDGER_NR_KINDS], over[LEDGER_NR_KINDS];
	uint64_t sum[LEDGER_NR_KINDS] = { 0 };
	struct json_object *o;
	struct acc_err check;

	if (qmp_args__none(args, err))
		return -EINVAL;
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		charged[k] = ledger__charged(l, k);
		claimed[k] = ledger__claimed(l, k);
		over[k] = ledger__overcommit(l, k);
		for (unsigned int i = 0; i < LEDGER_MAX_VMS; i++) {
			if (l->vms[i].used)
				sum[k] += l->vms[i].k[k].alloc;
		}
	}
	o = json_object_new_object();
	json_object_object_add(o, "pool", hostd_kinds_json(l->cfg.pool));
	json_object_object_add(o, "allocated", hostd_kinds_json(sum));
	json_object_object_add(o, "charged", hostd_kinds_json(charged));
	json_object_object_add(o, "claimed", hostd_kinds_json(claimed));
	json_object_object_add(o, "overcommit", hostd_kinds_json(over));
	json_object_object_add(o, "vms", json_object_new_int64(l->nr_vms));
	json_object_object_add(o, "decisions", counters_json(&l->count));
	json_object_object_add(o, "consistent", json_object_new_boolean(!ledger__check(l, &check)));
	*ret = o;
	return 0;
}

static int cmd_query_requests(void *ctx, struct json_object *args, struct json_object **ret,
			      struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "vm", json_type_string, false },
		{ "limit", json_type_int, false },
	};
	struct hostd *hd = ctx;
	const char *vm = qmp_args__str(args, "vm");
	struct json_object *list;
	uint64_t limit = HOSTD_HISTORY;
	bool present;
	unsigned int skip = 0, match = 0;

	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    qmp_args__u64(args, "limit", &limit, &present, err))
		return -EINVAL;
	for (unsigned int i = 0; i < hd->hist_count; i++)
		match += !vm || !strcmp(hd->history[(hd->hist_head + i) % HOSTD_HISTORY].vm, vm);
	if (match > limit)
		skip = match - (unsigned int)limit;
	list = json_object_new_array();
	for (unsigned int i = 0; i < hd->hist_count; i++) {
		const struct hostd_record *r = &hd->history[(hd->hist_head + i) % HOSTD_HISTORY];

		if (vm && strcmp(r->vm, vm))
			continue;
		if (skip) {
			skip--;
			continue;
		}
		json_object_array_add(list, hostd_record_json(r));
	}
	*ret = list;
	return 0;
}

static struct json_object *policy_json(struct hostd *hd)
{
	struct json_object *o = json_object_new_object(), *vms = json_object_new_array();

	json_object_object_add(o, "pool", hostd_kinds_json(hd->ledger.cfg.pool));
	json_object_object_add(o, "rate", hostd_kinds_json(hd->ledger.cfg.rate));
	json_object_object_add(o, "buffer", json_object_new_int64(hd->ledger.cfg.buffer_pct));
	json_object_object_add(o, "resume-window", json_object_new_int64(hd->cfg.resume_window_s));
	for (unsigned int i = 0; i < LEDGER_MAX_VMS; i++) {
		const struct ledger_vm *vm = &hd->ledger.vms[i];
		struct json_object *v;

		if (!vm->used)
			continue;
		v = json_object_new_object();
		json_object_object_add(v, "name", json_object_new_string(vm->name));
		json_object_object_add(v, "weight", json_object_new_int64(vm->policy.weight));
		json_object_object_add(v, "floor", hostd_kinds_json(vm->policy.floor));
		json_object_array_add(vms, v);
	}
	json_object_object_add(o, "vms", vms);
	return o;
}

static int cmd_query_policy(void *ctx, struct json_object *args, struct json_object **ret,
			    struct qmp_error *err)
{
	if (qmp_args__none(args, err))
		return -EINVAL;
	*ret = policy_json(ctx);
	return 0;
}

static int cmd_set_vm_policy(void *ctx, struct json_object *args, struct json_object **ret,
			     struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "vm", json_type_string, true },
		{ "weight", json_type_int, false },
		{ "memory-floor", json_type_int, false },
		{ "vcpus-floor", json_type_int, false },
	};
	struct hostd *hd = ctx;
	struct ledger_policy p;
	struct ledger_vm *vm;
	uint64_t weight;
	bool has_w, has_m, has_v;
	int rc;

	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err))
		return -EINVAL;
	vm = named_vm(hd, args, err);
	if (!vm)
		return -ENOENT;
	p = vm->policy;
	weight = p.weight;
	if (qmp_args__u64(args, "weight", &weight, &has_w, err) ||
	    qmp_args__u64(args, "memory-floor", &p.floor[LEDGER_MEM], &has_m, err) ||
	    qmp_args__u64(args, "vcpus-floor", &p.floor[LEDGER_VCPU], &has_v, err))
		return -EINVAL;
	p.weight = weight <= LEDGER_MAX_WEIGHT ? (uint32_t)weight : 0;
	rc = ledger__set_policy(&hd->ledger, vm, &p, &err->err);
	if (rc)
		return rc;
	*ret = policy_json(hd);
	hostd_emit(hd, "POLICY_CHANGED", policy_json(hd));
	return 0;
}

static int cmd_set_host_policy(void *ctx, struct json_object *args, struct json_object **ret,
			       struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "buffer", json_type_int, false },	{ "memory-rate", json_type_int, false },
		{ "vcpus-rate", json_type_int, false }, { "memory-pool", json_type_int, false },
		{ "vcpus-pool", json_type_int, false },
	};
	struct hostd *hd = ctx;
	struct ledger_config c = hd->ledger.cfg;
	struct ledger_actions acts;
	uint64_t buffer = c.buffer_pct;
	bool present, pool_changed;
	int rc;

	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    qmp_args__u64(args, "buffer", &buffer, &present, err) ||
	    qmp_args__u64(args, "memory-rate", &c.rate[LEDGER_MEM], &present, err) ||
	    qmp_args__u64(args, "vcpus-rate", &c.rate[LEDGER_VCPU], &present, err) ||
	    qmp_args__u64(args, "memory-pool", &c.pool[LEDGER_MEM], &present, err) ||
	    qmp_args__u64(args, "vcpus-pool", &c.pool[LEDGER_VCPU], &present, err))
		return -EINVAL;
	c.buffer_pct = buffer <= 1000 ? (uint32_t)buffer : 1001;
	pool_changed = memcmp(c.pool, hd->ledger.cfg.pool, sizeof(c.pool)) != 0;
	memset(&acts, 0, sizeof(acts));
	rc = ledger__configure(&hd->ledger, &c, clock__monotonic_ns(), &acts, &err->err);
	if (rc)
		return rc;
	hostd_apply(hd, &acts, "the pool shrank");
	if (pool_changed)
		hostd_emit(hd, "INVENTORY_CHANGED", hostd_kinds_json(c.pool));
	hostd_emit(hd, "POLICY_CHANGED", policy_json(hd));
	*ret = policy_json(hd);
	return 0;
}

static int cmd_set_allocation(void *ctx, struct json_object *args, struct json_object **ret,
			      struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "vm", json_type_string, true },
		{ "memory", json_type_int, false },
		{ "vcpus", json_type_int, false },
	};
	struct hostd *hd = ctx;
	struct ledger_actions acts;
	struct ledger_vm *vm;
	uint64_t v[LEDGER_NR_KINDS];
	bool has[LEDGER_NR_KINDS];
	int rc = 0;

	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    qmp_args__u64(args, "memory", &v[LEDGER_MEM], &has[LEDGER_MEM], err) ||
	    qmp_args__u64(args, "vcpus", &v[LEDGER_VCPU], &has[LEDGER_VCPU], err))
		return -EINVAL;
	vm = named_vm(hd, args, err);
	if (!vm)
		return -ENOENT;
	if (!has[LEDGER_MEM] && !has[LEDGER_VCPU])
		return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
				   "set-allocation needs 'memory' or 'vcpus'");
	memset(&acts, 0, sizeof(acts));
	for (unsigned int k = 0; k < LEDGER_NR_KINDS && !rc; k++) {
		if (has[k])
			rc = ledger__set_allocation(&hd->ledger, vm, k, v[k], clock__monotonic_ns(),
						    &acts, &err->err);
	}
	/* What the first kind changed stands even if the second is refused. */
	hostd_apply(hd, &acts, "the operator's allocation");
	if (rc)
		return rc;
	*ret = hostd_vm_json(hd, vm);
	return 0;
}

static int cmd_reclaim(void *ctx, struct json_object *args, struct json_object **ret,
		       struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "vm", json_type_string, true },
		{ "memory", json_type_int, true },
	};
	struct hostd *hd = ctx;
	struct ledger_actions acts;
	struct ledger_vm *vm;
	uint64_t mem = 0;
	bool present;
	int rc;

	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    qmp_args__u64(args, "memory", &mem, &present, err))
		return -EINVAL;
	vm = named_vm(hd, args, err);
	if (!vm)
		return -ENOENT;
	memset(&acts, 0, sizeof(acts));
	rc = ledger__reclaim(&hd->ledger, vm, LEDGER_MEM, mem, clock__monotonic_ns(), &acts,
			     &err->err);
	if (rc)
		return rc;
	hostd_apply(hd, &acts, "the operator's reclaim");
	*ret = hostd_vm_json(hd, vm);
	return 0;
}

static int cmd_send_message(void *ctx, struct json_object *args, struct json_object **ret,
			    struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "vm", json_type_string, true },
		{ "data", json_type_string, true },
	};
	struct hostd *hd = ctx;
	struct json_object *ev;
	struct ledger_vm *vm;
	const char *data;
	size_t len;
	char *b64;

	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err))
		return -EINVAL;
	vm = named_vm(hd, args, err);
	if (!vm)
		return -ENOENT;
	data = qmp_args__str(args, "data");
	len = strlen(data);
	if (!len || len > HOSTD_MAX_PAYLOAD)
		return qmp__errorf(err, QMP_ERROR_GENERIC, E2BIG, "a message carries 1 to %d bytes",
				   HOSTD_MAX_PAYLOAD);
	b64 = malloc(BASE64_ENCODED_SIZE(len));
	if (!b64)
		return qmp__errorf(err, QMP_ERROR_GENERIC, ENOMEM, "out of memory");
	base64__encode(data, len, b64);
	ev = json_object_new_object();
	json_object_object_add(ev, "seq", json_object_new_uint64(0));
	json_object_object_add(ev, "from", json_object_new_string("host"));
	json_object_object_add(ev, "from-id", json_object_new_int64(0));
	json_object_object_add(ev, "data", json_object_new_string(b64));
	free(b64);
	qmp__event_to(hostd_link_of(hd, vm)->client, "VM_MESSAGE", ev);
	return 0;
}

static int cmd_query_metrics(void *ctx, struct json_object *args, struct json_object **ret,
			     struct qmp_error *err)
{
	struct json_object *o;
	char *text;

	if (qmp_args__none(args, err))
		return -EINVAL;
	text = hostd_metrics(ctx);
	if (!text)
		return qmp__errorf(err, QMP_ERROR_GENERIC, ENOMEM, "out of memory");
	o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string("prometheus-text-0.0.4"));
	json_object_object_add(o, "text", json_object_new_string(text));
	free(text);
	*ret = o;
	return 0;
}

static int cmd_quit(void *ctx, struct json_object *args, struct json_object **ret,
		    struct qmp_error *err)
{
	struct hostd *hd = ctx;

	if (qmp_args__none(args, err))
		return -EINVAL;
	log_info(&hd->log, "quit: stopping; registered VMs keep running");
	hd->stopping = true;
	return 0;
}

/* ---- Prometheus text ---- */

static void metric_head(FILE *t, const char *name, const char *type, const char *help)
{
	fprintf(t, "# HELP accord_%s %s\n# TYPE accord_%s %s\n", name, help, name, type);
}

/* One gauge per VM and kind, each the value @value gives. */
static void metric_vms(FILE *t, struct hostd *hd, const char *name, const char *help,
		       uint64_t (*value)(struct hostd *hd, const struct ledger_vm *vm,
					 enum ledger_kind k))
{
	metric_head(t, name, "gauge", help);
	for (unsigned int i = 0; i < LEDGER_MAX_VMS; i++) {
		const struct ledger_vm *vm = &hd->ledger.vms[i];

		if (!vm->used)
			continue;
		for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
			fprintf(t, "accord_%s{vm=\"%s\",kind=\"%s\"} %llu\n", name, vm->name,
				ledger__kind_name(k), (unsigned long long)value(hd, vm, k));
	}
}

static uint64_t m_alloc(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind k)
{
	return vm->k[k].alloc;
}

static uint64_t m_returning(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind k)
{
	return vm->k[k].returning;
}

static uint64_t m_used(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind k)
{
	return vm->k[k].used;
}

static uint64_t m_forecast(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind k)
{
	return vm->k[k].forecast;
}

static uint64_t m_slack(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind k)
{
	return ledger__slack(&hd->ledger, vm, k);
}

static uint64_t m_share(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind k)
{
	return ledger__fair_share(&hd->ledger, vm, k);
}

static void metric_decisions(FILE *t, const char *vm, const struct ledger_counters *c)
{
	const struct {
		const char *name;
		uint64_t v;
	} d[] = {
		{ "grant", c->grants },	      { "deny", c->denies },
		{ "offer", c->offers },	      { "accept", c->accepts },
		{ "decline", c->declines },   { "reclaim", c->reclaims },
		{ "deliver", c->deliveries }, { "release", c->releases },
	};

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (vm)
			fprintf(t, "accord_vm_decisions_total{vm=\"%s\",decision=\"%s\"} %llu\n",
				vm, d[i].name, (unsigned long long)d[i].v);
		else
			fprintf(t, "accord_decisions_total{decision=\"%s\"} %llu\n", d[i].name,
				(unsigned long long)d[i].v);
	}
}

char *hostd_metrics(struct hostd *hd)
{
	struct ledger *l = &hd->ledger;
	size_t len = 0;
	char *text = NULL;
	FILE *t = open_memstream(&text, &len);

	if (!t)
		return NULL;

	metric_head(t, "pool", "gauge", "What the broker may hand out (bytes; vCPUs).");
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		fprintf(t, "accord_pool{kind=\"%s\"} %llu\n", ledger__kind_name(k),
			(unsigned long long)l->cfg.pool[k]);
	metric_head(t, "charged", "gauge",
		    "Held by VMs: allocations, reclaims in flight, open offers.");
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		fprintf(t, "accord_charged{kind=\"%s\"} %llu\n", ledger__kind_name(k),
			(unsigned long long)ledger__charged(l, k));
	metric_head(t, "vms", "gauge", "Registered VMs.");
	fprintf(t, "accord_vms %u\n", l->nr_vms);
	metric_vms(t, hd, "vm_allocation", "A VM's allocation.", m_alloc);
	metric_vms(t, hd, "vm_returning", "Reclaimed from a VM, not yet handed back.", m_returning);
	metric_vms(t, hd, "vm_used", "A guest's latest usage.", m_used);
	metric_vms(t, hd, "vm_forecast", "A guest's latest forecast demand.", m_forecast);
	metric_vms(t, hd, "vm_slack", "Allocation above forecast plus buffer and floor.", m_slack);
	metric_vms(t, hd, "vm_fair_share", "Floor plus a weighted share of the rest.", m_share);
	metric_head(t, "decisions_total", "counter", "Broker decisions since it started.");
	metric_decisions(t, NULL, &l->count);
	metric_head(t, "vm_decisions_total", "counter", "Decisions for a VM while registered.");
	for (unsigned int i = 0; i < LEDGER_MAX_VMS; i++) {
		if (l->vms[i].used)
			metric_decisions(t, l->vms[i].name, &l->vms[i].count);
	}
	metric_head(t, "granted_total", "counter", "Granted since the broker started.");
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		fprintf(t, "accord_granted_total{kind=\"%s\"} %llu\n", ledger__kind_name(k),
			(unsigned long long)l->count.granted[k]);
	metric_head(t, "reclaimed_total", "counter", "Reclaimed since the broker started.");
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		fprintf(t, "accord_reclaimed_total{kind=\"%s\"} %llu\n", ledger__kind_name(k),
			(unsigned long long)l->count.reclaimed[k]);
	metric_head(t, "messages_total", "counter", "VM-to-VM messages routed and failed.");
	fprintf(t, "accord_messages_total{result=\"routed\"} %llu\n",
		(unsigned long long)hd->msgs_routed);
	fprintf(t, "accord_messages_total{result=\"failed\"} %llu\n",
		(unsigned long long)hd->msgs_failed);
	if (ferror(t)) {
		fclose(t);
		free(text);
		return NULL;
	}
	if (fclose(t)) {
		free(text);
		return NULL;
	}
	return text;
}

const struct qmp_command hostd_ops_commands[] = {
	{ "query-status", cmd_query_status },	  { "query-vms", cmd_query_vms },
	{ "query-ledger", cmd_query_ledger },	  { "query-requests", cmd_query_requests },
	{ "query-policy", cmd_query_policy },	  { "query-metrics", cmd_query_metrics },
	{ "set-vm-policy", cmd_set_vm_policy },	  { "set-host-policy", cmd_set_host_policy },
	{ "set-allocation", cmd_set_allocation }, { "reclaim", cmd_reclaim },
	{ "send-message", cmd_send_message },	  { "quit", cmd_quit },
};
const unsigned int hostd_nr_ops_commands = QMP_ARGS_COUNT(hostd_ops_commands);
