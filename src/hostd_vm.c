// SPDX-License-Identifier: MIT
/*
 * The broker's commands for VMs: a VM process registers once on its
 * connection (which then carries only that VM's events), forwards its
 * guest's requests and what became of offers, reports releases, what it
 * still hands back after reclaims and its guest's usage, and routes
 * messages to other VMs by name. A VM's word is checked like a guest's:
 * it can change only its own entry and never past what the ledger allows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_resource.h>

#include "accord/base64.h"
#include "accord/qmp_args.h"
#include "hostd_priv.h"

static struct ledger_vm *caller_vm(struct hostd *hd, struct hostd_link **linkp,
				   struct qmp_error *err)
{
	struct qmp_client *c = qmp__caller(&hd->qmp);
	struct hostd_link *link = c ? qmp__client_owner(c) : NULL;
	struct ledger_vm *vm = hostd_vm_of(hd, link);

	if (!vm)
		qmp__errorf(err, QMP_ERROR_GENERIC, EPERM,
			    "only a registered VM may use this command (register-vm first)");
	if (linkp)
		*linkp = link;
	return vm;
}

static int get_kind(struct json_object *args, enum ledger_kind *kind, struct qmp_error *err)
{
	const char *name = qmp_args__str(args, "kind");

	if (!name || ledger__kind_parse(name, kind))
		return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
				   "Parameter 'kind' must be 'memory' or 'vcpus'");
	return 0;
}

static int get_u64(struct json_object *args, const char *name, uint64_t *v, struct qmp_error *err)
{
	bool present;

	return qmp_args__u64(args, name, v, &present, err);
}

static struct json_object *allocation_json(const struct ledger_vm *vm)
{
	uint64_t v[LEDGER_NR_KINDS];

	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		v[k] = vm->k[k].alloc;
	return hostd_kinds_json(v);
}

/* ---- register-vm ---- */

static int get_share(struct json_object *args, const char *name, enum ledger_kind k,
		     struct ledger_registration *reg, struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "max", json_type_int, true },
		{ "granted", json_type_int, true },
		{ "returning", json_type_int, false },
	};
	struct json_object *o;

	json_object_object_get_ex(args, name, &o);
	if (qmp_args__check(o, spec, QMP_ARGS_COUNT(spec), err)) {
		acc_err_prefix(&err->err, "%s: ", name);
		return -EINVAL;
	}
	if (get_u64(o, "max", &reg->max[k], err) || get_u64(o, "granted", &reg->alloc[k], err) ||
	    get_u64(o, "returning", &reg->returning[k], err))
		return -EINVAL;
	return 0;
}

static int cmd_register_vm(void *ctx, struct json_object *args, struct json_object **ret,
			   struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "name", json_type_string, true },	 { "resume", json_type_boolean, false },
		{ "driver", json_type_boolean, false },	 { "guest-id", json_type_int, false },
		{ "memory", json_type_object, true },	 { "vcpus", json_type_object, true },
		{ "weight", json_type_int, false },	 { "memory-floor", json_type_int, false },
		{ "vcpus-floor", json_type_int, false },
	};
	struct hostd *hd = ctx;
	struct qmp_client *c = qmp__caller(&hd->qmp);
	struct ledger_registration reg = { 0 };
	struct hostd_link *link;
	struct json_object *v, *data, *o;
	struct ledger_vm *vm;
	uint64_t id = 0, weight = LEDGER_DEFAULT_WEIGHT, now = clock__monotonic_ns();
	uint64_t before[LEDGER_NR_KINDS], over[LEDGER_NR_KINDS];
	bool has_weight, has_mf, has_vf, resumed, grew = false;
	int rc;

	if (qmp__client_owner(c))
		return qmp__errorf(err, QMP_ERROR_GENERIC, EEXIST,
				   "this connection has registered a VM already");
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    get_share(args, "memory", LEDGER_MEM, &reg, err) ||
	    get_share(args, "vcpus", LEDGER_VCPU, &reg, err) ||
	    get_u64(args, "guest-id", &id, err) ||
	    qmp_args__u64(args, "weight", &weight, &has_weight, err) ||
	    qmp_args__u64(args, "memory-floor", &reg.policy.floor[LEDGER_MEM], &has_mf, err) ||
	    qmp_args__u64(args, "vcpus-floor", &reg.policy.floor[LEDGER_VCPU], &has_vf, err))
		return -EINVAL;
	reg.name = qmp_args__str(args, "name");
	reg.resume = json_object_object_get_ex(args, "resume", &v) && json_object_get_boolean(v);
	reg.driver = json_object_object_get_ex(args, "driver", &v) && json_object_get_boolean(v);
	reg.want_id = id <= UINT32_MAX ? (uint32_t)id : 0;
	reg.has_policy = true;
	reg.policy.weight = weight <= LEDGER_MAX_WEIGHT ? (uint32_t)weight : 0;
	/* The ledger believes a resume only in the recovery window (ledger__register). */
	resumed = reg.resume && ledger__recovering(&hd->ledger, now);
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		before[k] = ledger__overcommit(&hd->ledger, k);
	link = calloc(1, sizeof(*link));
	if (!link)
		return qmp__errorf(err, QMP_ERROR_GENERIC, ENOMEM, "out of memory");
	rc = ledger__register(&hd->ledger, &reg, now, &vm, &err->err);
	if (rc) {
		free(link);
		return rc;
	}
	link->hd = hd;
	link->client = c;
	link->id = vm->id;
	link->registered_ns = now;
	hd->links[vm - hd->ledger.vms] = link;
	qmp__client_bind(c, link, hostd_link_gone);

	data = json_object_new_object();
	json_object_object_add(data, "vm", json_object_new_string(vm->name));
	json_object_object_add(data, "id", json_object_new_int64(vm->id));
	json_object_object_add(data, "resume", json_object_new_boolean(resumed));
	json_object_object_add(data, "allocation", allocation_json(vm));
	log_info(&hd->log, "%s %sregistered as VM %u%s: %llu MiB, %llu vCPUs", vm->name,
		 resumed ? "re-" : "", vm->id,
		 reg.resume && !resumed ? " (a resume after the recovery window, checked)" : "",
		 (unsigned long long)(vm->k[LEDGER_MEM].alloc >> 20),
		 (unsigned long long)vm->k[LEDGER_VCPU].alloc);
	/* What a resume brought past the pool is said aloud, and reclaimed (ledger__tick). */
	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++) {
		over[k] = ledger__overcommit(&hd->ledger, k);
		grew |= over[k] > before[k];
	}
	if (grew) {
		json_object_object_add(data, "overcommit", hostd_kinds_json(over));
		log__ratelimited(&hd->log, &hd->vm_rl, LOG_WARN,
				 "%s resumed past the pool (now %llu MiB and %llu vCPUs over); "
				 "reclaiming the excess",
				 vm->name, (unsigned long long)(over[LEDGER_MEM] >> 20),
				 (unsigned long long)over[LEDGER_VCPU]);
	}
	hostd_emit(hd, "VM_REGISTERED", data);

	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(vm->id));
	json_object_object_add(o, "pool", hostd_kinds_json(hd->ledger.cfg.pool));
	json_object_object_add(o, "rate", hostd_kinds_json(hd->ledger.cfg.rate));
	json_object_object_add(o, "unit", hostd_kinds_json(hd->ledger.cfg.unit));
	*ret = o;
	return 0;
}

/* ---- negotiation ---- */

static const char *const verdict_names[] = {
	[POLICY_GRANT] = "GRANT",
	[POLICY_DENY] = "DENY",
	[POLICY_OFFER] = "OFFER",
};

static int cmd_vm_request(void *ctx, struct json_object *args, struct json_object **ret,
			  struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "txn", json_type_int, true },		 { "kind", json_type_string, true },
		{ "amount", json_type_int, true },	 { "minimum", json_type_int, false },
		{ "urgency", json_type_int, false },	 { "latency", json_type_int, false },
		{ "deadline-ms", json_type_int, false }, { "projected", json_type_int, false },
	};
	struct hostd *hd = ctx;
	struct ledger_request req = { 0 };
	struct ledger_actions acts;
	struct policy_decision d;
	struct ledger_vm *vm;
	struct json_object *o;
	uint64_t urgency = VIRTIO_RESOURCE_U_NORMAL, ignored;

	vm = caller_vm(hd, NULL, err);
	if (!vm)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    get_kind(args, &req.kind, err) || get_u64(args, "txn", &req.txn, err) ||
	    get_u64(args, "amount", &req.amount, err) ||
	    get_u64(args, "minimum", &req.minimum, err) ||
	    get_u64(args, "urgency", &urgency, err) || get_u64(args, "latency", &ignored, err) ||
	    get_u64(args, "deadline-ms", &ignored, err) ||
	    get_u64(args, "projected", &ignored, err))
		return -EINVAL;
	if (urgency > VIRTIO_RESOURCE_U_CRITICAL)
		return qmp__errorf(err, QMP_ERROR_GENERIC, ERANGE, "urgency is 0 to 3");
	req.urgency = (uint8_t)urgency;
	memset(&acts, 0, sizeof(acts));
	ledger__decide(&hd->ledger, vm, &req, clock__monotonic_ns(), &d, &acts);
	/* A denial is recorded with what was asked. */
	hostd_record(hd, vm, req.kind, req.txn, verdict_names[d.verdict],
		     d.verdict == POLICY_DENY ? req.amount : d.amount, d.later, d.deny_reason,
		     d.retry_after_ms, d.why);
	hostd_apply(hd, &acts, "room for another VM's request");
	o = json_object_new_object();
	json_object_object_add(o, "verdict", json_object_new_string(verdict_names[d.verdict]));
	json_object_object_add(o, "amount", json_object_new_uint64(d.amount));
	json_object_object_add(o, "later", json_object_new_uint64(d.later));
	json_object_object_add(o, "reason", json_object_new_int(d.deny_reason));
	json_object_object_add(o, "retry-after-ms", json_object_new_int64(d.retry_after_ms));
	json_object_object_add(o, "why", json_object_new_string(d.why));
	json_object_object_add(o, "allocation", json_object_new_uint64(vm->k[req.kind].alloc));
	*ret = o;
	return 0;
}

static int cmd_vm_accept(void *ctx, struct json_object *args, struct json_object **ret,
			 struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "txn", json_type_int, true },
		{ "kind", json_type_string, true },
		{ "now", json_type_int, true },
		{ "later", json_type_int, false },
	};
	struct hostd *hd = ctx;
	uint64_t txn = 0, now = 0, later = 0;
	enum ledger_kind kind;
	struct ledger_vm *vm;
	int rc;

	vm = caller_vm(hd, NULL, err);
	if (!vm)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) || get_kind(args, &kind, err) ||
	    get_u64(args, "txn", &txn, err) || get_u64(args, "now", &now, err) ||
	    get_u64(args, "later", &later, err))
		return -EINVAL;
	rc = ledger__accept(&hd->ledger, vm, kind, txn, now, later, clock__monotonic_ns(),
			    &err->err);
	if (rc)
		return rc;
	hostd_record(hd, vm, kind, txn, "ACCEPT", now, later, 0, 0, "the guest took the offer");
	*ret = allocation_json(vm);
	return 0;
}

/* Commands that name a kind and a transaction of the caller's. */
static int vm_kind_txn(struct hostd *hd, struct json_object *args, struct ledger_vm **vm,
		       enum ledger_kind *kind, uint64_t *txn, struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "txn", json_type_int, true },
		{ "kind", json_type_string, true },
	};

	*vm = caller_vm(hd, NULL, err);
	if (!*vm)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) || get_kind(args, kind, err) ||
	    get_u64(args, "txn", txn, err))
		return -EINVAL;
	return 0;
}

static int cmd_vm_decline(void *ctx, struct json_object *args, struct json_object **ret,
			  struct qmp_error *err)
{
	struct hostd *hd = ctx;
	enum ledger_kind kind;
	struct ledger_vm *vm;
	uint64_t txn = 0;
	int rc = vm_kind_txn(hd, args, &vm, &kind, &txn, err);

	if (rc)
		return rc;
	/* An offer that lapsed here first is already gone: nothing to give back. */
	if (!ledger__decline(&hd->ledger, vm, kind, txn))
		hostd_record(hd, vm, kind, txn, "DECLINE", 0, 0, 0, 0,
			     "the guest declined, or the offer lapsed");
	*ret = allocation_json(vm);
	return 0;
}

static int cmd_vm_cancel(void *ctx, struct json_object *args, struct json_object **ret,
			 struct qmp_error *err)
{
	struct hostd *hd = ctx;
	enum ledger_kind kind;
	struct ledger_vm *vm;
	uint64_t txn = 0;
	int rc = vm_kind_txn(hd, args, &vm, &kind, &txn, err);

	if (rc)
		return rc;
	ledger__cancel(&hd->ledger, vm, kind, txn);
	return 0;
}

static int cmd_vm_release(void *ctx, struct json_object *args, struct json_object **ret,
			  struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "kind", json_type_string, true },
		{ "amount", json_type_int, true },
		{ "txn", json_type_int, false },
	};
	struct hostd *hd = ctx;
	uint64_t amount = 0, txn = 0;
	enum ledger_kind kind;
	struct ledger_vm *vm;
	int rc;

	vm = caller_vm(hd, NULL, err);
	if (!vm)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) || get_kind(args, &kind, err) ||
	    get_u64(args, "amount", &amount, err) || get_u64(args, "txn", &txn, err))
		return -EINVAL;
	rc = ledger__release(&hd->ledger, vm, kind, amount, &err->err);
	if (rc)
		return rc;
	hostd_record(hd, vm, kind, txn, "RELEASE", amount, 0, 0, 0, "given back by the guest");
	*ret = allocation_json(vm);
	return 0;
}

static int cmd_vm_returning(void *ctx, struct json_object *args, struct json_object **ret,
			    struct qmp_error *err)
{
	static const struct qmp_arg spec[] = { { "memory", json_type_int, true } };
	struct hostd *hd = ctx;
	struct ledger_vm *vm;
	uint64_t mem = 0, before;

	vm = caller_vm(hd, NULL, err);
	if (!vm)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    get_u64(args, "memory", &mem, err))
		return -EINVAL;
	before = vm->k[LEDGER_MEM].returning;
	ledger__returning(&hd->ledger, vm, LEDGER_MEM, mem);
	if (vm->k[LEDGER_MEM].returning < before)
		hostd_record(hd, vm, LEDGER_MEM, 0, "RETURNED",
			     before - vm->k[LEDGER_MEM].returning, 0, 0, 0,
			     "handed back after a reclaim");
	return 0;
}

static int cmd_vm_usage(void *ctx, struct json_object *args, struct json_object **ret,
			struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "memory-used", json_type_int, true }, { "memory-forecast", json_type_int, true },
		{ "vcpus-used", json_type_int, false }, { "vcpus-forecast", json_type_int, false },
		{ "driver", json_type_boolean, false },
	};
	struct hostd *hd = ctx;
	uint64_t mu = 0, mf = 0, vu = 0, vf = 0;
	bool has_vu, has_vf;
	struct json_object *v;
	struct ledger_vm *vm;

	vm = caller_vm(hd, NULL, err);
	if (!vm)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    get_u64(args, "memory-used", &mu, err) || get_u64(args, "memory-forecast", &mf, err) ||
	    qmp_args__u64(args, "vcpus-used", &vu, &has_vu, err) ||
	    qmp_args__u64(args, "vcpus-forecast", &vf, &has_vf, err))
		return -EINVAL;
	ledger__usage(&hd->ledger, vm, LEDGER_MEM, mu, mf);
	if (has_vu || has_vf)
		ledger__usage(&hd->ledger, vm, LEDGER_VCPU, vu, vf);
	if (json_object_object_get_ex(args, "driver", &v))
		vm->driver = json_object_get_boolean(v);
	return 0;
}

/* ---- messages ---- */

static struct hostd_msg *msg_slot(struct hostd *hd)
{
	for (unsigned int i = 0; i < HOSTD_MAX_MSGS; i++) {
		if (!hd->msgs[i].used)
			return &hd->msgs[i];
	}
	return NULL;
}

static int cmd_vm_message(void *ctx, struct json_object *args, struct json_object **ret,
			  struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "to", json_type_string, true },
		{ "data", json_type_string, true },
		{ "txn", json_type_int, false },
	};
	struct hostd *hd = ctx;
	struct hostd_link *from_link, *to_link;
	struct ledger_vm *from, *to;
	const char *to_name, *data;
	struct json_object *ev, *o;
	uint8_t payload[HOSTD_MAX_PAYLOAD];
	long bytes;
	struct hostd_msg *m;
	uint64_t txn = 0;
	size_t len;

	from = caller_vm(hd, &from_link, err);
	if (!from)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    get_u64(args, "txn", &txn, err))
		return -EINVAL;
	to_name = qmp_args__str(args, "to");
	data = qmp_args__str(args, "data");
	len = strlen(data);
	/* Checked here, so a receiver is never handed what it cannot decode. */
	bytes = len ? base64__decode(data, len, payload, sizeof(payload)) : -EINVAL;
	if (bytes <= 0)
		return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
				   "'data' must be base64 of 1 to %d bytes", HOSTD_MAX_PAYLOAD);
	to = ledger__find_name(&hd->ledger, to_name);
	to_link = hostd_link_of(hd, to);
	if (!to || !to_link)
		return qmp__errorf(err, QMP_ERROR_DEVICE_NOT_FOUND, ENOENT,
				   "no VM named '%s' is registered", to_name);
	if (to_link->msgs_in_flight >= HOSTD_MSG_WINDOW)
		return qmp__errorf(err, QMP_ERROR_GENERIC, EBUSY,
				   "the message queue of '%s' is full", to_name);
	m = msg_slot(hd);
	if (!m)
		return qmp__errorf(err, QMP_ERROR_GENERIC, EBUSY,
				   "the broker's message table is full");
	*m = (struct hostd_msg){
		true,	  hd->next_seq++, txn,
		from->id, to->id,	  clock__monotonic_ns() + HOSTD_MSG_TIMEOUT_MS * 1000000ull
	};
	to_link->msgs_in_flight++;
	to_link->msgs_received++;
	from_link->msgs_sent++;
	hd->msgs_routed++;
	ev = json_object_new_object();
	json_object_object_add(ev, "seq", json_object_new_uint64(m->seq));
	json_object_object_add(ev, "from", json_object_new_string(from->name));
	json_object_object_add(ev, "from-id", json_object_new_int64(from->id));
	json_object_object_add(ev, "data", json_object_new_string(data));
	qmp__event_to(to_link->client, "VM_MESSAGE", ev);
	ev = json_object_new_object();
	json_object_object_add(ev, "from", json_object_new_string(from->name));
	json_object_object_add(ev, "to", json_object_new_string(to->name));
	json_object_object_add(ev, "bytes", json_object_new_int64(bytes));
	hostd_emit(hd, "MESSAGE", ev);
	o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_uint64(m->seq));
	*ret = o;
	return 0;
}

static int cmd_vm_message_done(void *ctx, struct json_object *args, struct json_object **ret,
			       struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "seq", json_type_int, true },
		{ "status", json_type_string, true },
	};
	struct hostd *hd = ctx;
	const char *status;
	struct ledger_vm *vm;
	uint64_t seq = 0;

	vm = caller_vm(hd, NULL, err);
	if (!vm)
		return -EPERM;
	if (qmp_args__check(args, spec, QMP_ARGS_COUNT(spec), err) ||
	    get_u64(args, "seq", &seq, err))
		return -EINVAL;
	status = qmp_args__str(args, "status");
	if (strcmp(status, "delivered") && strcmp(status, "full") && strcmp(status, "refused"))
		return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
				   "'status' is delivered, full or refused");
	for (unsigned int i = 0; i < HOSTD_MAX_MSGS; i++) {
		struct hostd_msg *m = &hd->msgs[i];

		/* Only the destination answers for its messages. */
		if (m->used && m->seq == seq && m->to == vm->id) {
			hostd_msg_finish(hd, m, status);
			return 0;
		}
	}
	return qmp__errorf(err, QMP_ERROR_GENERIC, ENOENT, "no message %llu on its way to '%s'",
			   (unsigned long long)seq, vm->name);
}

const struct qmp_command hostd_vm_commands[] = {
	{ "register-vm", cmd_register_vm },   { "vm-request", cmd_vm_request },
	{ "vm-accept", cmd_vm_accept },	      { "vm-decline", cmd_vm_decline },
	{ "vm-cancel", cmd_vm_cancel },	      { "vm-release", cmd_vm_release },
	{ "vm-returning", cmd_vm_returning }, { "vm-usage", cmd_vm_usage },
	{ "vm-message", cmd_vm_message },     { "vm-message-done", cmd_vm_message_done },
};
const unsigned int hostd_nr_vm_commands = QMP_ARGS_COUNT(hostd_vm_commands);
