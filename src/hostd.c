// SPDX-License-Identifier: MIT
/*
 * The broker daemon: one event loop serving the QMP socket that VMs
 * register on and operators use, a timer that lets the ledger keep its
 * promises and lapse what expired, and the links between registered VMs
 * and their ledger entries. Decisions are the ledger's (src/ledger.c,
 * src/arbiter.c); this file carries them out.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "accord/clock.h"
#include "accord/stop.h"
#include "hostd_priv.h"

static int64_t hostd_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct hostd_link *hostd_link_of(struct hostd *hd, const struct ledger_vm *vm)
{
	return vm ? hd->links[vm - hd->ledger.vms] : NULL;
}

struct ledger_vm *hostd_vm_of(struct hostd *hd, const struct hostd_link *link)
{
	return link ? ledger__find(&hd->ledger, link->id) : NULL;
}

void hostd_emit(struct hostd *hd, const char *name, struct json_object *data)
{
	if (hd->qmp_up)
		qmp__event(&hd->qmp, name, data);
	else
		json_object_put(data);
}

struct json_object *hostd_kinds_json(const uint64_t *v)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
		json_object_object_add(o, ledger__kind_name(k), json_object_new_uint64(v[k]));
	return o;
}

struct json_object *hostd_record_json(const struct hostd_record *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "time-ms", json_object_new_int64(r->time_ms));
	json_object_object_add(o, "vm", json_object_new_string(r->vm));
	json_object_object_add(o, "event", json_object_new_string(r->what));
	json_object_object_add(o, "kind", json_object_new_string(ledger__kind_name(r->kind)));
	json_object_object_add(o, "txn", json_object_new_uint64(r->txn));
	json_object_object_add(o, "amount", json_object_new_uint64(r->amount));
	if (r->later)
		json_object_object_add(o, "later", json_object_new_uint64(r->later));
	json_object_object_add(o, "allocation", json_object_new_uint64(r->allocation));
	if (r->reason) {
		json_object_object_add(o, "reason", json_object_new_int(r->reason));
		json_object_object_add(o, "retry-after-ms", json_object_new_int64(r->retry_ms));
	}
	json_object_object_add(o, "why", json_object_new_string(r->why));
	return o;
}

void hostd_record(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn,
		  const char *what, uint64_t amount, uint64_t later, uint16_t reason,
		  uint32_t retry_ms, const char *why)
{
	struct hostd_record *r;

	if (hd->hist_count < HOSTD_HISTORY) {
		r = &hd->history[(hd->hist_head + hd->hist_count++) % HOSTD_HISTORY];
	} else {
		r = &hd->history[hd->hist_head];
		hd->hist_head = (hd->hist_head + 1) % HOSTD_HISTORY;
	}
	memset(r, 0, sizeof(*r));
	r->time_ms = hostd_wall_ms();
	snprintf(r->vm, sizeof(r->vm), "%s", vm->name);
	r->kind = kind;
	r->txn = txn;
	r->what = what;
	r->amount = amount;
	r->later = later;
	r->allocation = vm->k[kind].alloc;
	r->reason = reason;
	r->retry_ms = retry_ms;
	snprintf(r->why, sizeof(r->why), "%s", why);
	/* VMs decide how often this happens: their lines share a rate limit. */
	log__ratelimited(&hd->log, &hd->vm_rl, LOG_INFO, "%s %s %s %llu%s: %s", vm->name, what,
			 ledger__kind_name(kind), (unsigned long long)amount,
			 later ? " (+ later)" : "", why);
	hostd_emit(hd, what, hostd_record_json(r));
}

/* ---- actions ---- */

static const char *const hostd_action_events[] = {
	[LEDGER_ACT_RECLAIM] = "VM_RECLAIM",
	[LEDGER_ACT_DELIVER] = "VM_DELIVER",
	[LEDGER_ACT_EXPAND] = "VM_EXPAND",
};

static const char *const hostd_action_records[] = {
	[LEDGER_ACT_RECLAIM] = "RECLAIM",
	[LEDGER_ACT_DELIVER] = "GRANT",
	[LEDGER_ACT_EXPAND] = "EXPAND",
};

void hostd_apply(struct hostd *hd, const struct ledger_actions *acts, const char *why)
{
	if (acts->dropped)
		log_err(&hd->log, "%u ledger actions did not fit; the ledger and VMs may differ",
			acts->dropped);
	for (unsigned int i = 0; i < acts->nr; i++) {
		const struct ledger_action *a = &acts->a[i];
		struct ledger_vm *vm = ledger__find(&hd->ledger, a->vm_id);
		struct hostd_link *link = hostd_link_of(hd, vm);
		struct json_object *data;

		if (!vm || !link)
			continue;
		data = json_object_new_object();
		json_object_object_add(data, "kind",
				       json_object_new_string(ledger__kind_name(a->kind)));
		json_object_object_add(data, "amount", json_object_new_uint64(a->amount));
		json_object_object_add(data, "target", json_object_new_uint64(a->target));
		if (a->txn)
			json_object_object_add(data, "txn", json_object_new_uint64(a->txn));
		if (a->type == LEDGER_ACT_RECLAIM && hd->ledger.cfg.rate[a->kind])
			json_object_object_add(
				data, "rate", json_object_new_uint64(hd->ledger.cfg.rate[a->kind]));
		qmp__event_to(link->client, hostd_action_events[a->type], data);
		hostd_record(hd, vm, a->kind, a->txn, hostd_action_records[a->type], a->amount, 0,
			     0, 0, a->type == LEDGER_ACT_DELIVER ? "a promise kept" : why);
	}
}

/* ---- messages between VMs ---- */

void hostd_msg_finish(struct hostd *hd, struct hostd_msg *m, const char *status)
{
	struct ledger_vm *from = ledger__find(&hd->ledger, m->from), *to;
	struct hostd_link *link = hostd_link_of(hd, from);
	struct json_object *data;

	to = ledger__find(&hd->ledger, m->to);
	if (to && hostd_link_of(hd, to) && hostd_link_of(hd, to)->msgs_in_flight)
		hostd_link_of(hd, to)->msgs_in_flight--;
	if (strcmp(status, "delivered"))
		hd->msgs_failed++;
	if (link) {
		data = json_object_new_object();
		json_object_object_add(data, "seq", json_object_new_uint64(m->seq));
		json_object_object_add(data, "txn", json_object_new_uint64(m->txn));
		json_object_object_add(data, "status", json_object_new_string(status));
		qmp__event_to(link->client, "VM_MESSAGE_STATUS", data);
	}
	memset(m, 0, sizeof(*m));
}

void hostd_msgs_end(struct hostd *hd, uint32_t id, const char *status)
{
	for (unsigned int i = 0; i < HOSTD_MAX_MSGS; i++) {
		struct hostd_msg *m = &hd->msgs[i];

		if (!m->used)
			continue;
		if (m->to == id)
			hostd_msg_finish(hd, m, status);
		else if (m->from == id)
			memset(m, 0, sizeof(*m)); /* nobody waits for it any more */
	}
}

void hostd_msgs_expire(struct hostd *hd, uint64_t now_ns)
{
	for (unsigned int i = 0; i < HOSTD_MAX_MSGS; i++) {
		if (hd->msgs[i].used && hd->msgs[i].deadline_ns <= now_ns)
			hostd_msg_finish(hd, &hd->msgs[i], "timeout");
	}
}

/* ---- links ---- */

void hostd_link_gone(void *owner)
{
	struct hostd_link *link = owner;
	struct hostd *hd = link->hd;
	struct ledger_vm *vm = hostd_vm_of(hd, link);
	struct json_object *data;
	uint64_t returned[LEDGER_NR_KINDS];

	if (vm) {
		for (unsigned int k = 0; k < LEDGER_NR_KINDS; k++)
			returned[k] = ledger__charge(vm, k);
		hostd_msgs_end(hd, vm->id, "gone");
		data = json_object_new_object();
		json_object_object_add(data, "vm", json_object_new_string(vm->name));
		json_object_object_add(data, "id", json_object_new_int64(vm->id));
		json_object_object_add(data, "returned", hostd_kinds_json(returned));
		log_info(&hd->log, "%s departed: %llu MiB and %llu vCPUs back in the pool",
			 vm->name, (unsigned long long)(returned[LEDGER_MEM] >> 20),
			 (unsigned long long)returned[LEDGER_VCPU]);
		hostd_emit(hd, "VM_DEPARTED", data);
		hd->links[vm - hd->ledger.vms] = NULL;
		ledger__unregister(&hd->ledger, vm);
	}
	free(link);
}

/* ---- the loop ---- */

static void hostd_tick(struct hostd *hd)
{
	struct ledger_actions acts;
	uint64_t now = clock__monotonic_ns();

	memset(&acts, 0, sizeof(acts));
	ledger__tick(&hd->ledger, now, &acts);
	hostd_apply(hd, &acts, "the pool needs it back");
	hostd_msgs_expire(hd, now);
}

static void hostd_on_timer(struct event_handler *h, uint32_t events)
{
	struct hostd *hd = h->ctx;
	uint64_t n;

	if (read(hd->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn(&hd->log, "timer: %s", strerror(errno));
	hostd_tick(hd);
}

static void hostd_on_stop(struct event_handler *h, uint32_t events)
{
	struct hostd *hd = h->ctx;
	uint64_t n;

	if (read(hd->stop_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn(&hd->log, "stop: %s", strerror(errno));
	hd->stopping = true;
}

static void hostd_on_signal(struct event_handler *h, uint32_t events)
{
	struct hostd *hd = h->ctx;
	struct signalfd_siginfo si;

	if (read(hd->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info(&hd->log, "stopping on %s; registered VMs keep running",
		 strsignal((int)si.ssi_signo));
	hd->stopping = true;
}

void hostd__stop(struct hostd *hd)
{
	uint64_t one = 1;
	ssize_t n = write(hd->stop_fd, &one, sizeof(one));

	(void)n; /* a saturated counter wakes the loop anyway */
}

int hostd__run(struct hostd *hd)
{
	while (!hd->stopping) {
		int ret = eventloop__run_once(&hd->loop, -1);

		if (ret < 0 && ret != -EINTR) {
			log_err(&hd->log, "event loop: %s", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int hostd_add_fd(struct hostd *hd, struct event_handler *h, int fd,
			void (*fn)(struct event_handler *, uint32_t), struct acc_err *err)
{
	*h = (struct event_handler){ fd, fn, hd };
	if (eventloop__add(&hd->loop, h, EPOLLIN))
		return acc_errf(err, errno ? errno : EIO, "event loop: %s", strerror(errno));
	return 0;
}

/*
 * A registered VM's connection runs register-vm and the vm-* commands (and
 * the QMP built-ins); the operators' commands are for other connections.
 */
static int hostd_gate(void *ctx, const struct qmp_client *c, const struct qmp_command *cmd,
		      struct qmp_error *err)
{
	struct hostd *hd = ctx;

	/* hd->cmds holds the operators' commands first (hostd_commands). */
	if (!qmp__client_owner(c) || cmd >= hd->cmds + hostd_nr_ops_commands)
		return 0;
	return qmp__errorf(err, QMP_ERROR_GENERIC, EPERM,
			   "a VM's connection may use only the vm-* commands; %s is for operators",
			   cmd->name);
}

static struct qmp_command *hostd_commands(void)
{
	struct qmp_command *cmds =
		calloc(hostd_nr_vm_commands + hostd_nr_ops_commands, sizeof(*cmds));

	if (!cmds)
		return NULL;
	memcpy(cmds, hostd_ops_commands, hostd_nr_ops_commands * sizeof(*cmds));
	memcpy(cmds + hostd_nr_ops_commands, hostd_vm_commands,
	       hostd_nr_vm_commands * sizeof(*cmds));
	return cmds;
}

static void hostd_free(struct hostd *hd)
{
	if (hd->sig_fd >= 0)
		close(hd->sig_fd);
	if (hd->stop_fd >= 0)
		close(hd->stop_fd);
	if (hd->timer_fd >= 0)
		close(hd->timer_fd);
	ratelimit__destroy(&hd->vm_rl);
	free(hd->cmds);
	free(hd);
}

int hostd__create(struct hostd **out, const struct hostd_config *cfg, struct acc_err *err)
{
	struct itimerspec period = { { 0, HOSTD_TICK_MS * 1000000L },
				     { 0, HOSTD_TICK_MS * 1000000L } };
	struct ledger_config lcfg = cfg->ledger;
	struct hostd *hd;
	sigset_t sigs;
	int ret;

	hd = calloc(1, sizeof(*hd));
	if (!hd)
		return acc_errf(err, ENOMEM, "out of memory");
	hd->cfg = *cfg;
	hd->timer_fd = hd->stop_fd = hd->sig_fd = -1;
	snprintf(hd->socket_path, sizeof(hd->socket_path), "%s", cfg->socket);
	hd->cfg.socket = hd->socket_path;
	log__init(&hd->log, "hostd", (enum log_level)cfg->log_level);
	ratelimit__init(&hd->vm_rl, 1000, 20);
	hd->started_ns = clock__monotonic_ns();
	hd->next_seq = 1;
	/* Resumes are believed only while the VMs of the last broker come back. */
	lcfg.resume_until_ns = hd->started_ns + (uint64_t)cfg->resume_window_s * 1000000000ull;
	ret = ledger__init(&hd->ledger, &lcfg, err);
	if (ret)
		goto free_hostd;
	ret = eventloop__init(&hd->loop);
	if (ret) {
		acc_errf(err, -ret, "event loop: %s", strerror(-ret));
		goto free_hostd;
	}
	hd->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	hd->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hd->timer_fd < 0 || hd->stop_fd < 0 ||
	    timerfd_settime(hd->timer_fd, 0, &period, NULL)) {
		ret = acc_errf(err, errno, "timer: %s", strerror(errno));
		goto exit_loop;
	}
	ret = hostd_add_fd(hd, &hd->timer_h, hd->timer_fd, hostd_on_timer, err);
	if (!ret)
		ret = hostd_add_fd(hd, &hd->stop_h, hd->stop_fd, hostd_on_stop, err);
	if (ret)
		goto exit_loop;
	if (cfg->handle_signals) {
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &sigs, NULL);
		hd->sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
		if (hd->sig_fd < 0) {
			ret = acc_errf(err, errno, "signalfd: %s", strerror(errno));
			goto exit_loop;
		}
		ret = hostd_add_fd(hd, &hd->sig_h, hd->sig_fd, hostd_on_signal, err);
		if (ret)
			goto exit_loop;
	}
	hd->cmds = hostd_commands();
	if (!hd->cmds) {
		ret = acc_errf(err, ENOMEM, "out of memory");
		goto exit_loop;
	}
	ret = qmp__init(&hd->qmp, cfg->socket, &hd->loop, hd->cmds,
			hostd_nr_vm_commands + hostd_nr_ops_commands, hd, &hd->log, err);
	if (ret)
		goto exit_loop;
	qmp__set_max_clients(&hd->qmp, HOSTD_MAX_CLIENTS);
	qmp__set_gate(&hd->qmp, hostd_gate);
	hd->qmp_up = true;
	log_info(&hd->log, "serving %s: %llu MiB and %llu vCPUs to share", cfg->socket,
		 (unsigned long long)(cfg->ledger.pool[LEDGER_MEM] >> 20),
		 (unsigned long long)cfg->ledger.pool[LEDGER_VCPU]);
	*out = hd;
	return 0;

exit_loop:
	eventloop__exit(&hd->loop);
free_hostd:
	hostd_free(hd);
	return ret;
}

void hostd__destroy(struct hostd *hd)
{
	if (!hd)
		return;
	/* Links go with their clients (hostd_link_gone); VMs will register again. */
	hd->qmp_up = false;
	qmp__exit(&hd->qmp);
	eventloop__exit(&hd->loop);
	hostd_free(hd);
}

int hostd__main(int argc, char **argv)
{
	struct hostd_config cfg;
	struct acc_err err;
	struct hostd *hd;
	int ret;

	if (hostd__parse_args(argc, argv, &cfg, &err)) {
		fprintf(stderr, "accord: hostd: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	if (cfg.help) {
		fputs(hostd_usage, stdout);
		return 0;
	}
	cfg.handle_signals = true;
	if (hostd__create(&hd, &cfg, &err)) {
		fprintf(stderr, "accord: hostd: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	ret = hostd__run(hd);
	hostd__destroy(hd);
	return ret ? EXIT_STATUS_INTERNAL : 0;
}
