// SPDX-License-Identifier: MIT
/*
 * The VM's side of the broker: a nonblocking QMP client on the VM's event
 * loop. Commands go out one JSON object a line with an "id"; the broker's
 * answers are matched by it, and its targeted events (VM_RECLAIM,
 * VM_DELIVER, VM_EXPAND, VM_MESSAGE) are applied to the device. Nothing
 * the broker sends is trusted further than the device's own checks.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "accord/base64.h"
#include "accord/broker_link.h"
#include "accord/clock.h"
#include "accord/ledger.h"
#include "accord/qmp_args.h"

static void link_down(struct broker_link *l, const char *why);

/* The device's kinds by the broker's names for them (src/ledger.c). */
static const char *kind_name(uint16_t kind)
{
	return ledger__kind_name(kind == VIRTIO_RESOURCE_K_VCPU ? LEDGER_VCPU : LEDGER_MEM);
}

static int kind_parse(const char *name, uint16_t *kind)
{
	enum ledger_kind k;

	if (!name || ledger__kind_parse(name, &k))
		return -EINVAL;
	*kind = k == LEDGER_VCPU ? VIRTIO_RESOURCE_K_VCPU : VIRTIO_RESOURCE_K_MEMORY;
	return 0;
}

/* ---- output ---- */

static void link_want_out(struct broker_link *l, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = &l->io };

	if (l->want_out == on || l->fd < 0)
		return;
	if (!epoll_ctl(l->loop->epfd, EPOLL_CTL_MOD, l->fd, &ev))
		l->want_out = on;
}

static int link_flush(struct broker_link *l)
{
	while (l->out_len) {
		ssize_t n = send(l->fd, l->out, l->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -errno;
		memmove(l->out, l->out + n, l->out_len - (size_t)n);
		l->out_len -= (size_t)n;
	}
	link_want_out(l, l->out_len != 0);
	return 0;
}

/* Queue command @cmd with @args (taken) and send what the socket takes; returns its id. */
static uint64_t link_send(struct broker_link *l, const char *cmd, struct json_object *args)
{
	struct json_object *o = json_object_new_object();
	uint64_t id = ++l->next_id;
	const char *text;
	size_t len;

	json_object_object_add(o, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(o, "arguments", args);
	json_object_object_add(o, "id", json_object_new_uint64(id));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	if (l->out_len + len + 1 > BROKER_LINK_OUT_MAX) {
		json_object_put(o);
		link_down(l, "the broker does not read what the VM sends");
		return 0;
	}
	memcpy(l->out + l->out_len, text, len);
	l->out[l->out_len + len] = '\n';
	l->out_len += len + 1;
	json_object_put(o);
	if (link_flush(l)) {
		link_down(l, "cannot write to the broker");
		return 0;
	}
	return id;
}

static struct json_object *kind_args(uint64_t txn, uint16_t kind)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "txn", json_object_new_uint64(txn));
	json_object_object_add(a, "kind", json_object_new_string(kind_name(kind)));
	return a;
}

/* ---- the device's calls ---- */

static struct json_object *call_args(const struct resource_broker_call *c, const char **cmd)
{
	struct json_object *a = kind_args(c->txn, c->kind);
	char *b64;

	switch (c->what) {
	case RES_CALL_REQUEST:
		*cmd = "vm-request";
		json_object_object_add(a, "amount", json_object_new_uint64(c->amount));
		json_object_object_add(a, "minimum", json_object_new_uint64(c->minimum));
		json_object_object_add(a, "urgency", json_object_new_int(c->urgency));
		break;
	case RES_CALL_ACCEPT:
		*cmd = "vm-accept";
		json_object_object_add(a, "now", json_object_new_uint64(c->amount));
		json_object_object_add(a, "later", json_object_new_uint64(c->later));
		break;
	case RES_CALL_DECLINE:
		*cmd = "vm-decline";
		break;
	case RES_CALL_CANCEL:
		*cmd = "vm-cancel";
		break;
	case RES_CALL_RELEASE:
		*cmd = "vm-release";
		json_object_object_add(a, "amount", json_object_new_uint64(c->amount));
		break;
	case RES_CALL_MESSAGE:
		*cmd = "vm-message";
		json_object_object_del(a, "kind");
		b64 = malloc(BASE64_ENCODED_SIZE(c->len));
		if (!b64) {
			json_object_put(a);
			return NULL;
		}
		base64__encode(c->data, c->len, b64);
		json_object_object_add(a, "to", json_object_new_string(c->to));
		json_object_object_add(a, "data", json_object_new_string(b64));
		free(b64);
		break;
	}
	return a;
}

static bool call_awaited(enum res_call what)
{
	return what == RES_CALL_REQUEST || what == RES_CALL_ACCEPT || what == RES_CALL_MESSAGE;
}

/* Called by the device with its lock held: only sends. */
static int link_call(void *ctx, const struct resource_broker_call *c)
{
	struct broker_link *l = ctx;
	struct broker_call_rec *rec = NULL;
	struct json_object *args;
	const char *cmd = NULL;
	uint64_t id;

	if (l->state != BROKER_LINK_UP)
		return -ENOTCONN;
	if (call_awaited(c->what)) {
		for (unsigned int i = 0; i < BROKER_LINK_MAX_CALLS && !rec; i++) {
			if (!l->calls[i].id)
				rec = &l->calls[i];
		}
		if (!rec)
			return -EBUSY;
	}
	args = call_args(c, &cmd);
	if (!args)
		return -ENOMEM;
	id = link_send(l, cmd, args);
	if (!id)
		return -ENOTCONN;
	if (rec)
		*rec = (struct broker_call_rec){
			id,
			{ .what = c->what,
			  .seq = c->seq,
			  .txn = c->txn,
			  .kind = c->kind,
			  .amount = c->amount,
			  .later = c->later },
		};
	return 0;
}

struct resource_broker_ops broker_link__ops(struct broker_link *l)
{
	return (struct resource_broker_ops){ link_call, l };
}

/* ---- answers ---- */

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

static int decision_parse(struct json_object *ret, struct policy_decision *d)
{
	const char *verdict = qmp_args__str(ret, "verdict"), *why = qmp_args__str(ret, "why");

	memset(d, 0, sizeof(*d));
	if (!verdict)
		return -EPROTO;
	if (!strcmp(verdict, "GRANT"))
		d->verdict = POLICY_GRANT;
	else if (!strcmp(verdict, "DENY"))
		d->verdict = POLICY_DENY;
	else if (!strcmp(verdict, "OFFER"))
		d->verdict = POLICY_OFFER;
	else
		return -EPROTO;
	d->amount = get_u64(ret, "amount");
	d->later = get_u64(ret, "later");
	d->deny_reason = (uint16_t)get_u64(ret, "reason");
	d->retry_after_ms = (uint32_t)get_u64(ret, "retry-after-ms");
	snprintf(d->why, sizeof(d->why), "broker: %s", why ? why : verdict);
	return 0;
}

/* An error answer as a device status: an unknown VM is "no entry", the rest "busy". */
static int error_rc(struct json_object *error)
{
	const char *cls = qmp_args__str(error, "class");

	return cls && !strcmp(cls, "DeviceNotFound") ? RC_ENOENT : RC_EBUSY;
}

static void on_registered(struct broker_link *l, struct json_object *ret, struct json_object *error)
{
	uint64_t id;

	if (error) {
		const char *desc = qmp_args__str(error, "desc");

		snprintf(l->failure, sizeof(l->failure), "the broker refused VM '%s': %s", l->name,
			 desc ? desc : "no reason given");
		/* Said once per refusal streak: the VM runs on unmanaged meanwhile. */
		if (l->registered_once && !l->refused)
			log_warn(l->log, "%s; the VM runs on its current allocation and retries",
				 l->failure);
		l->refused = true;
		link_down(l, l->failure);
		return;
	}
	id = get_u64(ret, "id");
	if (!id || id > UINT32_MAX || (l->registered_once && id != l->guest_id)) {
		snprintf(l->failure, sizeof(l->failure),
			 "the broker gave VM '%s' id %llu (it had %u)", l->name,
			 (unsigned long long)id, l->guest_id);
		link_down(l, l->failure);
		return;
	}
	l->guest_id = (uint32_t)id;
	l->failure[0] = '\0';
	l->refused = false;
	l->state = BROKER_LINK_UP;
	l->reported_valid = false;
	log_info(l->log, "%s with the broker at %s as VM %u",
		 l->registered_once ? "registered again" : "registered", l->path, l->guest_id);
	l->registered_once = true;
}

static void on_answer(struct broker_link *l, uint64_t id, struct json_object *ret,
		      struct json_object *error)
{
	struct resource_broker_answer a;

	if (id == l->register_id) {
		on_registered(l, ret, error);
		return;
	}
	for (unsigned int i = 0; i < BROKER_LINK_MAX_CALLS; i++) {
		struct broker_call_rec *rec = &l->calls[i];

		if (rec->id != id)
			continue;
		a = rec->answer;
		rec->id = 0;
		if (error)
			a.error = error_rc(error);
		else if (a.what == RES_CALL_REQUEST && decision_parse(ret, &a.d))
			a.error = RC_EMALFORMED;
		if (l->res)
			resource__broker_answer(l->res, &a);
		return;
	}
	/* A report's answer: only a refusal is worth a word. */
	if (error) {
		const char *desc = qmp_args__str(error, "desc");

		log__ratelimited(l->log, &l->rl, LOG_WARN, "the broker refused a report: %s",
				 desc ? desc : "no reason given");
	}
}

/* ---- the broker's moves ---- */

static void on_message(struct broker_link *l, struct json_object *data)
{
	const char *from = qmp_args__str(data, "from"), *b64 = qmp_args__str(data, "data"), *status;
	uint64_t seq = get_u64(data, "seq"), from_id = get_u64(data, "from-id");
	uint8_t payload[RES_MAX_MESSAGE];
	struct json_object *args;
	long len = -EINVAL;
	int ret;

	if (from && b64 && strlen(from) < VIRTIO_RESOURCE_MAX_NAME && from_id &&
	    from_id <= UINT32_MAX)
		len = base64__decode(b64, strlen(b64), payload, sizeof(payload));
	if (len <= 0)
		ret = -EINVAL;
	else
		ret = resource__broker_message(l->res, (uint32_t)from_id, from, payload,
					       (size_t)len);
	status = !ret ? "delivered" : ret == -ENOBUFS ? "full" : "refused";
	if (ret)
		log__ratelimited(l->log, &l->rl, LOG_INFO, "a message from %s was %s: %s",
				 from ? from : "?", status, strerror(-ret));
	args = json_object_new_object();
	json_object_object_add(args, "seq", json_object_new_uint64(seq));
	json_object_object_add(args, "status", json_object_new_string(status));
	link_send(l, "vm-message-done", args);
}

static void on_event(struct broker_link *l, const char *name, struct json_object *data)
{
	uint16_t kind;
	struct acc_err err;

	if (!l->res || l->state != BROKER_LINK_UP)
		return;
	if (!strcmp(name, "VM_MESSAGE")) {
		on_message(l, data);
		return;
	}
	if (!strcmp(name, "VM_MESSAGE_STATUS")) {
		log_debug(l->log, "message txn %llu: %s", (unsigned long long)get_u64(data, "txn"),
			  qmp_args__str(data, "status") ? qmp_args__str(data, "status") : "?");
		return;
	}
	if (kind_parse(qmp_args__str(data, "kind"), &kind)) {
		log__ratelimited(l->log, &l->rl, LOG_WARN, "the broker sent %s without a kind",
				 name);
		return;
	}
	if (!strcmp(name, "VM_DELIVER")) {
		resource__broker_deliver(l->res, get_u64(data, "txn"), kind,
					 get_u64(data, "amount"));
	} else if (!strcmp(name, "VM_RECLAIM") || !strcmp(name, "VM_EXPAND")) {
		bool grow = name[3] == 'E';

		log_info(l->log, "the broker %s %s by %llu", grow ? "grows" : "reclaims",
			 kind_name(kind), (unsigned long long)get_u64(data, "amount"));
		if (resource__broker_change(l->res, kind, grow, get_u64(data, "amount"), &err))
			log_err(l->log, "broker %s: %s", name, err.msg);
	}
}

static void on_line(struct broker_link *l, const char *line)
{
	struct json_object *o = json_tokener_parse(line), *ret = NULL, *error = NULL, *id, *data;
	const char *event;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		link_down(l, "the broker sent something that is not a JSON object");
		return;
	}
	event = qmp_args__str(o, "event");
	if (event) {
		if (!json_object_object_get_ex(o, "data", &data) ||
		    !json_object_is_type(data, json_type_object))
			data = NULL;
		if (data)
			on_event(l, event, data);
	} else if (json_object_object_get_ex(o, "id", &id) &&
		   (json_object_object_get_ex(o, "return", &ret) ||
		    json_object_object_get_ex(o, "error", &error))) {
		on_answer(l, json_object_get_uint64(id), ret, error);
	}
	/* The greeting and answers without an id (qmp_capabilities has one) need nothing. */
	json_object_put(o);
}

static void link_read(struct broker_link *l)
{
	for (;;) {
		ssize_t n = recv(l->fd, l->in + l->in_len, BROKER_LINK_IN_MAX - l->in_len,
				 MSG_DONTWAIT);
		char *start, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			link_down(l, n ? "cannot read from the broker" : "the broker went away");
			return;
		}
		l->in_len += (size_t)n;
		start = l->in;
		while (l->fd >= 0 &&
		       (nl = memchr(start, '\n', l->in_len - (size_t)(start - l->in)))) {
			*nl = '\0';
			on_line(l, start);
			start = nl + 1;
		}
		if (l->fd < 0)
			return;
		l->in_len -= (size_t)(start - l->in);
		memmove(l->in, start, l->in_len);
		if (l->in_len == BROKER_LINK_IN_MAX) {
			link_down(l, "the broker sent a line longer than 256 KiB");
			return;
		}
	}
}

/* After a link went down: what waited for the broker is answered; offers and promises lapse. */
static void link_settle(struct broker_link *l)
{
	if (!l->lost)
		return;
	l->lost = false;
	if (l->res)
		resource__broker_lost(l->res);
}

static void link_on_io(struct event_handler *h, uint32_t events)
{
	struct broker_link *l = h->ctx;

	if (l->fd < 0 || h->fd != l->fd)
		return; /* closed earlier in this round of events */
	if (events & EPOLLOUT && link_flush(l))
		link_down(l, "cannot write to the broker");
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		link_read(l);
	link_settle(l);
}

/* ---- connecting and registering ---- */

static struct json_object *share_json(uint64_t max, uint64_t granted, uint64_t returning)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "max", json_object_new_uint64(max));
	json_object_object_add(o, "granted", json_object_new_uint64(granted));
	json_object_object_add(o, "returning", json_object_new_uint64(returning));
	return o;
}

static void link_register(struct broker_link *l)
{
	struct json_object *a = json_object_new_object();
	struct resource_broker_state s = l->boot;

	if (l->res)
		resource__broker_state(l->res, &s);
	json_object_object_add(a, "name", json_object_new_string(l->name));
	json_object_object_add(a, "resume", json_object_new_boolean(l->registered_once));
	json_object_object_add(a, "driver", json_object_new_boolean(s.driver));
	if (l->registered_once)
		json_object_object_add(a, "guest-id", json_object_new_int64(l->guest_id));
	json_object_object_add(a, "memory", share_json(s.mem_max, s.mem_granted, s.mem_returning));
	json_object_object_add(a, "vcpus", share_json(s.vcpus_max, s.vcpus_granted, 0));
	if (l->opts.weight)
		json_object_object_add(a, "weight", json_object_new_int64(l->opts.weight));
	if (l->opts.has_mem_floor)
		json_object_object_add(a, "memory-floor",
				       json_object_new_uint64(l->opts.mem_floor));
	if (l->opts.has_vcpus_floor)
		json_object_object_add(a, "vcpus-floor",
				       json_object_new_int64(l->opts.vcpus_floor));
	l->register_id = link_send(l, "register-vm", a);
}

static int link_connect(struct broker_link *l)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memcpy(addr.sun_path, l->path, strlen(l->path) + 1);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) && errno != EINPROGRESS) {
		ret = -errno;
		close(fd);
		return ret;
	}
	l->fd = fd;
	l->io = (struct event_handler){ fd, link_on_io, l };
	l->want_out = false;
	ret = eventloop__add(l->loop, &l->io, EPOLLIN);
	if (ret) {
		close(fd);
		l->fd = -1;
		return ret;
	}
	l->in_len = l->out_len = 0;
	l->state = BROKER_LINK_REGISTERING;
	link_send(l, "qmp_capabilities", NULL);
	if (l->fd >= 0)
		link_register(l);
	return l->fd >= 0 ? 0 : -ECONNRESET;
}

static void link_down(struct broker_link *l, const char *why)
{
	bool was_up = l->state == BROKER_LINK_UP;

	if (l->fd >= 0) {
		eventloop__del(l->loop, &l->io);
		close(l->fd);
	}
	l->fd = -1;
	l->state = BROKER_LINK_DOWN;
	l->in_len = l->out_len = 0;
	l->register_id = 0;
	memset(l->calls, 0, sizeof(l->calls));
	l->retry_at_ns = clock__monotonic_ns() + BROKER_LINK_RETRY_MS * 1000000ull;
	if (was_up) {
		log_warn(l->log, "lost the broker at %s (%s); reconnecting every %d ms", l->path,
			 why, BROKER_LINK_RETRY_MS);
		/* This may run inside a device call (its lock held): the device hears later. */
		l->lost = true;
	} else if (l->registered_once) {
		log__ratelimited(l->log, &l->rl, LOG_DEBUG, "broker at %s: %s", l->path, why);
	}
}

/* What the broker should know: memory being handed back, and the guest's usage. */
static void link_report(struct broker_link *l, uint64_t now)
{
	struct resource_broker_state s;
	struct json_object *a;

	resource__broker_state(l->res, &s);
	if (!l->reported_valid || s.mem_returning != l->reported.mem_returning) {
		a = json_object_new_object();
		json_object_object_add(a, "memory", json_object_new_uint64(s.mem_returning));
		link_send(l, "vm-returning", a);
	}
	if (l->state == BROKER_LINK_UP && now >= l->usage_at_ns &&
	    (!l->reported_valid || s.driver != l->reported.driver ||
	     (s.have_usage &&
	      (s.mem_used != l->reported.mem_used || s.mem_forecast != l->reported.mem_forecast ||
	       s.vcpus_used != l->reported.vcpus_used ||
	       s.vcpus_forecast != l->reported.vcpus_forecast)))) {
		a = json_object_new_object();
		json_object_object_add(a, "memory-used", json_object_new_uint64(s.mem_used));
		json_object_object_add(a, "memory-forecast",
				       json_object_new_uint64(s.mem_forecast));
		if (s.have_usage) {
			json_object_object_add(a, "vcpus-used",
					       json_object_new_int64(s.vcpus_used));
			json_object_object_add(a, "vcpus-forecast",
					       json_object_new_int64(s.vcpus_forecast));
		}
		json_object_object_add(a, "driver", json_object_new_boolean(s.driver));
		link_send(l, "vm-usage", a);
		l->usage_at_ns = now + BROKER_LINK_USAGE_MS * 1000000ull;
	}
	if (l->state == BROKER_LINK_UP) {
		l->reported = s;
		l->reported_valid = true;
	}
}

static void link_on_tick(struct event_handler *h, uint32_t events)
{
	struct broker_link *l = h->ctx;
	uint64_t expirations, now = clock__monotonic_ns();
	int ret;

	if (read(h->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	link_settle(l);
	if (l->state == BROKER_LINK_DOWN && l->registered_once && now >= l->retry_at_ns) {
		ret = link_connect(l);
		if (ret)
			link_down(l, strerror(-ret));
	}
	if (l->state == BROKER_LINK_UP && l->res)
		link_report(l, now);
	link_settle(l);
}

int broker_link__start(struct broker_link *l, const struct broker_opts *opts, const char *name,
		       const struct resource_broker_state *boot, struct event_loop *loop,
		       const struct acc_log *log, struct acc_err *err)
{
	struct itimerspec period = { { 0, BROKER_LINK_RETRY_MS * 1000000L },
				     { 0, BROKER_LINK_RETRY_MS * 1000000L } };
	uint64_t deadline;
	int ret;

	memset(l, 0, sizeof(*l));
	l->fd = l->timer_fd = -1;
	l->opts = *opts;
	l->loop = loop;
	l->log = log;
	l->boot = *boot;
	if (strlen(opts->path) >= sizeof(l->path))
		return acc_errf(err, ENAMETOOLONG, "--broker: the socket path is too long");
	if (!name || !*name || strlen(name) >= sizeof(l->name))
		return acc_errf(
			err, EINVAL,
			"--broker needs --name (1 to %zu bytes): the broker knows VMs by name",
			sizeof(l->name) - 1);
	strcpy(l->path, opts->path);
	strcpy(l->name, name);
	l->opts.path = l->path;
	ratelimit__init(&l->rl, 5000, 5);
	l->in = malloc(BROKER_LINK_IN_MAX);
	l->out = malloc(BROKER_LINK_OUT_MAX);
	if (!l->in || !l->out) {
		ret = acc_errf(err, ENOMEM, "out of memory");
		goto free_buffers;
	}
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->timer_fd < 0 || timerfd_settime(l->timer_fd, 0, &period, NULL)) {
		ret = acc_errf(err, errno, "timerfd: %s", strerror(errno));
		goto close_timer;
	}
	l->tick = (struct event_handler){ l->timer_fd, link_on_tick, l };
	ret = eventloop__add(loop, &l->tick, EPOLLIN);
	if (ret) {
		acc_errf(err, -ret, "event loop: %s", strerror(-ret));
		goto close_timer;
	}
	ret = link_connect(l);
	if (ret) {
		acc_errf(err, -ret, "--broker %s: %s", l->path, strerror(-ret));
		goto del_timer;
	}
	deadline = clock__monotonic_ns() + BROKER_LINK_REGISTER_MS * 1000000ull;
	while (l->state == BROKER_LINK_REGISTERING && clock__monotonic_ns() < deadline) {
		ret = eventloop__run_once(loop, 100);
		if (ret < 0)
			break;
	}
	if (l->state != BROKER_LINK_UP) {
		ret = l->failure[0] ? acc_errf(err, EPERM, "%s", l->failure)
				    : acc_errf(err, ETIMEDOUT,
					       "--broker %s: no answer to register-vm in %d s",
					       l->path, BROKER_LINK_REGISTER_MS / 1000);
		goto close_link;
	}
	return 0;

close_link:
	if (l->fd >= 0) {
		eventloop__del(loop, &l->io);
		close(l->fd);
	}
del_timer:
	eventloop__del(loop, &l->tick);
close_timer:
	if (l->timer_fd >= 0)
		close(l->timer_fd);
free_buffers:
	free(l->in);
	free(l->out);
	ratelimit__destroy(&l->rl);
	l->in = l->out = NULL;
	l->fd = l->timer_fd = -1;
	return ret;
}

void broker_link__attach(struct broker_link *l, struct virtio_resource *r)
{
	l->res = r;
}

void broker_link__stop(struct broker_link *l)
{
	if (!l->in)
		return;
	if (l->fd >= 0) {
		/* Send what is queued (a last release) before the broker sees us go. */
		link_flush(l);
		eventloop__del(l->loop, &l->io);
		close(l->fd);
	}
	eventloop__del(l->loop, &l->tick);
	close(l->timer_fd);
	free(l->in);
	free(l->out);
	ratelimit__destroy(&l->rl);
	l->in = l->out = NULL;
	l->fd = l->timer_fd = -1;
	l->res = NULL;
}

struct json_object *broker_link__json(const struct broker_link *l)
{
	static const char *const states[] = { "down", "registering", "up" };
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "socket", json_object_new_string(l->path));
	json_object_object_add(o, "state", json_object_new_string(states[l->state]));
	json_object_object_add(o, "guest-id", json_object_new_int64(l->guest_id));
	if (l->failure[0])
		json_object_object_add(o, "failure", json_object_new_string(l->failure));
	return o;
}
