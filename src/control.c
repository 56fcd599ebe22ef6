// SPDX-License-Identifier: MIT
/*
 * The VM's control socket commands (QMP framing in src/qmp.c): status,
 * inventory, allocation, agreements, statistics, host-initiated changes,
 * messages, quit. Handlers run on the event-loop thread; argument types are
 * checked the way QEMU checks them, with QEMU's wording.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "accord/control.h"
#include "accord/inventory.h"
#include "accord/machine.h"
#include "accord/qmp.h"
#include "accord/qmp_args.h"
#include "accord/resource.h"

static int cmd_query_status(void *ctx, struct json_object *args, struct json_object **ret,
			    struct qmp_error *err)
{
	struct machine *m = ctx;
	const struct guest_mem *mem;
	struct json_object *o;
	int64_t file_bytes;

	if (qmp_args__none(args, err))
		return -EINVAL;
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("running"));
	json_object_object_add(o, "running", json_object_new_boolean(1));
	json_object_object_add(o, "name", m->cfg.name ? json_object_new_string(m->cfg.name) : NULL);
	json_object_object_add(o, "vcpus", json_object_new_int64(m->cfg.cpus));
	json_object_object_add(o, "memory", json_object_new_uint64(m->cfg.mem_size));
	json_object_object_add(o, "accelerator",
			       json_object_new_string(m->cfg.accel == ACCEL_UML ? "uml" : "kvm"));
	/* Host memory the guest's RAM file holds: reservations punch it. */
	mem = machine__device_mem(m, 0);
	file_bytes = mem && mem->nr_regions ? guest_mem__file_bytes(mem) : -ENODEV;
	json_object_object_add(o, "memory-file-bytes",
			       file_bytes >= 0 ? json_object_new_int64(file_bytes) : NULL);
	json_object_object_add(o, "broker", m->has_broker ? broker_link__json(&m->broker) : NULL);
	*ret = o;
	return 0;
}

static int cmd_query_inventory(void *ctx, struct json_object *args, struct json_object **ret,
			       struct qmp_error *err)
{
	struct machine *m = ctx;
	struct inventory_alloc alloc;

	if (qmp_args__none(args, err))
		return -EINVAL;
	machine__inventory_alloc(m, NULL, &alloc);
	*ret = inventory__to_json(m->inventory, &alloc);
	return *ret ? 0 : qmp__errorf(err, QMP_ERROR_GENERIC, ENOMEM, "out of memory");
}

static int cmd_query_allocation(void *ctx, struct json_object *args, struct json_object **ret,
				struct qmp_error *err)
{
	struct machine *m = ctx;

	if (qmp_args__none(args, err))
		return -EINVAL;
	*ret = resource__allocation_json(m->resource);
	return 0;
}

static int cmd_query_requests(void *ctx, struct json_object *args, struct json_object **ret,
			      struct qmp_error *err)
{
	struct machine *m = ctx;

	if (qmp_args__none(args, err))
		return -EINVAL;
	*ret = resource__requests_json(m->resource);
	return 0;
}

static int cmd_query_stats(void *ctx, struct json_object *args, struct json_object **ret,
			   struct qmp_error *err)
{
	struct machine *m = ctx;

	if (qmp_args__none(args, err))
		return -EINVAL;
	*ret = resource__stats_json(m->resource);
	return 0;
}

/* With a broker the host's changes are the broker's: one ledger, one place to change it. */
static int refuse_with_broker(struct machine *m, struct qmp_error *err)
{
	if (!m->has_broker)
		return 0;
	return qmp__errorf(err, QMP_ERROR_GENERIC, EPERM,
			   "the broker at %s decides this VM's allocation: use accord ctl %s "
			   "set-allocation or reclaim with vm=%s",
			   m->broker.path, m->broker.path, m->broker.name);
}

static int cmd_set_allocation(void *ctx, struct json_object *args, struct json_object **ret,
			      struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "memory", json_type_int, false },
		{ "vcpus", json_type_int, false },
	};
	struct machine *m = ctx;
	uint64_t mem = 0, vcpus = 0;
	bool has_mem, has_vcpus;
	unsigned int n;
	int ret_code;

	if (qmp_args__check(args, spec, 2, err) ||
	    qmp_args__u64(args, "memory", &mem, &has_mem, err) ||
	    qmp_args__u64(args, "vcpus", &vcpus, &has_vcpus, err))
		return -EINVAL;
	if (!has_mem && !has_vcpus)
		return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
				   "set-allocation needs 'memory' or 'vcpus'");
	if (refuse_with_broker(m, err))
		return -EPERM;
	n = vcpus > UINT32_MAX ? UINT32_MAX : (unsigned int)vcpus;
	ret_code = resource__set_allocation(m->resource, has_mem ? &mem : NULL,
					    has_vcpus ? &n : NULL, &err->err);
	if (ret_code)
		return ret_code;
	*ret = resource__allocation_json(m->resource);
	return 0;
}

static int cmd_reclaim(void *ctx, struct json_object *args, struct json_object **ret,
		       struct qmp_error *err)
{
	static const struct qmp_arg spec[] = { { "memory", json_type_int, true } };
	struct machine *m = ctx;
	uint64_t mem = 0;
	bool present;
	int ret_code;

	if (qmp_args__check(args, spec, 1, err) ||
	    qmp_args__u64(args, "memory", &mem, &present, err))
		return -EINVAL;
	if (refuse_with_broker(m, err))
		return -EPERM;
	ret_code = resource__reclaim(m->resource, mem, &err->err);
	if (ret_code)
		return ret_code;
	*ret = resource__allocation_json(m->resource);
	return 0;
}

static int cmd_renegotiate(void *ctx, struct json_object *args, struct json_object **ret,
			   struct qmp_error *err)
{
	static const struct qmp_arg spec[] = {
		{ "txn", json_type_int, true },
		{ "amount", json_type_int, true },
	};
	struct machine *m = ctx;
	uint64_t txn = 0, amount = 0;
	bool present;

	if (qmp_args__check(args, spec, 2, err) ||
	    qmp_args__u64(args, "txn", &txn, &present, err) ||
	    qmp_args__u64(args, "amount", &amount, &present, err))
		return -EINVAL;
	if (refuse_with_broker(m, err))
		return -EPERM;
	return resource__renegotiate(m->resource, txn, amount, &err->err);
}

static int cmd_send_message(void *ctx, struct json_object *args, struct json_object **ret,
			    struct qmp_error *err)
{
	static const struct qmp_arg spec[] = { { "data", json_type_string, true } };
	struct machine *m = ctx;
	struct json_object *v;

	if (qmp_args__check(args, spec, 1, err))
		return -EINVAL;
	json_object_object_get_ex(args, "data", &v);
	return resource__send_message(m->resource, json_object_get_string(v),
				      (size_t)json_object_get_string_len(v), &err->err);
}

static int cmd_quit(void *ctx, struct json_object *args, struct json_object **ret,
		    struct qmp_error *err)
{
	struct machine *m = ctx;

	if (qmp_args__none(args, err))
		return -EINVAL;
	m->stop_sink.stop(m->stop_sink.ctx, VM_STOP_QUIT, 0);
	return 0;
}

static const struct qmp_command control_commands[] = {
	{ "query-status", cmd_query_status },
	{ "query-inventory", cmd_query_inventory },
	{ "query-allocation", cmd_query_allocation },
	{ "query-requests", cmd_query_requests },
	{ "query-stats", cmd_query_stats },
	{ "set-allocation", cmd_set_allocation },
	{ "reclaim", cmd_reclaim },
	{ "renegotiate", cmd_renegotiate },
	{ "send-message", cmd_send_message },
	{ "quit", cmd_quit },
};

int control__start(struct machine *m, struct acc_err *err)
{
	m->qmp = calloc(1, sizeof(*m->qmp));
	if (!m->qmp)
		return acc_errf(err, ENOMEM, "out of memory");
	return qmp__init(m->qmp, m->cfg.api_socket, &m->loop, control_commands,
			 sizeof(control_commands) / sizeof(control_commands[0]), m, &m->log, err);
}

void control__stop(struct machine *m)
{
	if (!m->qmp)
		return;
	qmp__exit(m->qmp);
	free(m->qmp);
	m->qmp = NULL;
}
