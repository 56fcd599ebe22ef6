// SPDX-License-Identifier: MIT
/*
 * qmp-load: how many requests a QMP socket answers per second, and how fast.
 *
 * N connections each run a closed loop of one command (query-status by
 * default): send it, wait for its answer, send it again. Answers that
 * arrive in the measured window (after the warm-up) are counted and their
 * latencies kept; events are skipped. The same client code runs against
 * accord's VM socket, the broker's socket and QEMU's -qmp socket.
 *
 * All connections are driven by one epoll thread. This machine has two
 * cores and the server under test has one event-loop thread: a client
 * thread per connection would make the client need as many cores as it has
 * connections, and the run would measure the scheduler juggling them
 * against the server. One thread takes every ready answer in one wakeup and
 * sends the next request at once, so it needs at most the other core, and
 * the figures are the server's. The JSON line reports the client's own CPU
 * use so that a run where the client was the bottleneck shows it.
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

#define QL_MAX_CLIENTS 1024
#define QL_MAX_SOCKETS 64
#define QL_EVENTS      64

static const char qmp_load_usage[] =
	"Usage: qmp-load --socket PATH [--clients N] [--duration S] [--warmup S]\n"
	"                [--command NAME] [--max-requests N]\n"
	"\n"
	"Measure how many requests a QMP socket answers per second: N connections\n"
	"each send NAME (default query-status), wait for its answer and send it\n"
	"again. Prints one JSON line; exits 1 on an error answer or a lost connection.\n"
	"\n"
	"  --socket PATH        the QMP socket (accord run --api-socket, accord hostd\n"
	"                       --socket, QEMU -qmp unix:PATH,server=on,wait=off);\n"
	"                       given more than once, client i uses socket i mod count\n"
	"                       (QEMU's -qmp serves one client: give it one per client)\n"
	"  --clients N          connections (default 1)\n"
	"  --duration S         measured seconds (default 5)\n"
	"  --warmup S           seconds run first and not measured (default 0.5)\n"
	"  --command NAME       the command, without arguments (default query-status)\n"
	"  --max-requests N     stop after N measured answers (default: no limit)\n"
	"  -h, --help           show this help\n";

struct qmp_load_opts {
	const char *sockets[QL_MAX_SOCKETS];
	unsigned int nr_sockets;
	unsigned int clients;
	double duration;
	double warmup;
	const char *command;
	uint64_t max_requests; /* 0: no limit */
	bool help;
};

struct ql_client {
	struct bqmp q;
	const char *path;
	int64_t id;	  /* of the request in flight */
	uint64_t sent_ns; /* when it was sent */
	bool waiting;
	bool want_out; /* EPOLLOUT is watched */
};

struct ql_run {
	struct qmp_load_opts opt;
	int epfd;
	struct ql_client *clients;
	unsigned int nr_open;
	struct samples lat;
	uint64_t start_ns; /* the measured window */
	uint64_t end_ns;
	uint64_t last_ns; /* the last measured answer */
	uint64_t answers; /* in the window, errors included */
	uint64_t errors;  /* error answers, warm-up included */
	struct acc_err first_error;
	bool stop;
};

static int parse_args(int argc, char **argv, struct qmp_load_opts *o, struct acc_err *err)
{
	uint64_t v;
	int ret = 0;

	*o = (struct qmp_load_opts){ .clients = 1, .duration = 5, .warmup = 0.5 };
	o->command = "query-status";
	for (int i = 1; i < argc && !ret; i++) {
		const char *opt = argv[i], *val;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			o->help = true;
			return 0;
		}
		if (strcmp(opt, "--socket") && strcmp(opt, "--clients") &&
		    strcmp(opt, "--duration") && strcmp(opt, "--warmup") &&
		    strcmp(opt, "--command") && strcmp(opt, "--max-requests"))
			return acc_errf(err, EINVAL, "unknown option '%s' (see --help)", opt);
		if (i + 1 == argc)
			return acc_errf(err, EINVAL, "%s needs a value", opt);
		val = argv[++i];
		if (!strcmp(opt, "--socket")) {
			if (o->nr_sockets == QL_MAX_SOCKETS)
				return acc_errf(err, EINVAL, "--socket: at most %d",
						QL_MAX_SOCKETS);
			o->sockets[o->nr_sockets++] = val;
		} else if (!strcmp(opt, "--clients")) {
			ret = bench__parse_uint(opt, val, 1, QL_MAX_CLIENTS, &v, err);
			o->clients = (unsigned int)v;
		} else if (!strcmp(opt, "--duration")) {
			ret = bench__parse_seconds(opt, val, 0.001, 86400, &o->duration, err);
		} else if (!strcmp(opt, "--warmup")) {
			ret = bench__parse_seconds(opt, val, 0, 3600, &o->warmup, err);
		} else if (!strcmp(opt, "--command")) {
			if (!*val)
				return acc_errf(err, EINVAL, "--command: the name is empty");
			o->command = val;
		} else {
			ret = bench__parse_uint(opt, val, 1, UINT64_MAX, &o->max_requests, err);
		}
	}
	if (!ret && !o->nr_sockets)
		return acc_errf(err, EINVAL, "--socket PATH is required");
	return ret;
}

static int client_send(struct ql_run *r, struct ql_client *c, struct acc_err *err)
{
	c->id++;
	c->waiting = true;
	c->sent_ns = clock__monotonic_ns();
	return bqmp__execute(&c->q, r->opt.command, NULL, c->id, true, err);
}

/* Watch EPOLLOUT only while output waits (the slow path: requests are small). */
static int client_watch(struct ql_run *r, struct ql_client *c, struct acc_err *err)
{
	bool want = bqmp__pending_out(&c->q);
	struct epoll_event ev = { EPOLLIN | (want ? EPOLLOUT : 0), { .ptr = c } };

	if (want == c->want_out)
		return 0;
	if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->q.fd, &ev))
		return acc_errf(err, errno, "epoll: %s", strerror(errno));
	c->want_out = want;
	return 0;
}

static void note_error(struct ql_run *r, const struct bqmp_msg *m)
{
	if (!r->errors++)
		acc_errf(&r->first_error, EREMOTEIO, "%s", bqmp__error_desc(m));
}

/* Everything @c's last read brought, received at @now. */
static int client_input(struct ql_run *r, struct ql_client *c, uint64_t now, struct acc_err *err)
{
	struct bqmp_msg m;
	int ret;

	while ((ret = bqmp__next(&c->q, &m, err)) > 0) {
		if (m.kind == BQMP_EVENT)
			continue;
		if (m.kind == BQMP_GREETING || !c->waiting || !m.has_id || m.id != c->id)
			return acc_errf(err, EPROTO, "an answer that matches no request");
		c->waiting = false;
		if (m.kind == BQMP_ERROR)
			note_error(r, &m);
		if (now >= r->start_ns && now <= r->end_ns) {
			r->answers++;
			r->last_ns = now;
			if (m.kind == BQMP_RETURN && samples__add(&r->lat, now - c->sent_ns))
				return acc_errf(err, ENOMEM, "out of memory");
			if (r->opt.max_requests && r->answers >= r->opt.max_requests)
				r->stop = true;
		}
		if (now >= r->end_ns)
			r->stop = true;
		if (r->stop)
			return 0;
		ret = client_send(r, c, err);
		if (ret)
			return ret;
	}
	return ret;
}

static int client_event(struct ql_run *r, struct ql_client *c, uint32_t events, struct acc_err *err)
{
	int ret = 0, fill = 0;

	if (events & EPOLLOUT)
		ret = bqmp__flush(&c->q, err);
	if (!ret && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		fill = bqmp__fill(&c->q, err);
		if (fill && fill != -EPIPE)
			return fill;
		/* Answers that came before the close still count. */
		ret = client_input(r, c, clock__monotonic_ns(), err);
		if (!ret && fill)
			ret = acc_errf(err, EPIPE, "the server closed a connection");
	}
	return ret ? ret : client_watch(r, c, err);
}

static int open_clients(struct ql_run *r, struct acc_err *err)
{
	struct epoll_event ev;
	int ret;

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return acc_errf(err, errno, "epoll: %s", strerror(errno));
	r->clients = calloc(r->opt.clients, sizeof(*r->clients));
	if (!r->clients)
		return acc_errf(err, ENOMEM, "out of memory");
	for (unsigned int i = 0; i < r->opt.clients; i++) {
		struct ql_client *c = &r->clients[i];

		const char *path = r->opt.sockets[i % r->opt.nr_sockets];

		c->path = path;
		ret = bqmp__connect(&c->q, path, err);
		if (!ret) {
			r->nr_open++;
			ret = bqmp__handshake(&c->q, err);
		}
		if (ret) {
			acc_err_prefix(err, "%s: client %u: ", path, i + 1);
			return ret;
		}
		ev = (struct epoll_event){ EPOLLIN, { .ptr = c } };
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->q.fd, &ev))
			return acc_errf(err, errno, "epoll: %s", strerror(errno));
	}
	return 0;
}

static void close_clients(struct ql_run *r)
{
	for (unsigned int i = 0; i < r->nr_open; i++)
		bqmp__close(&r->clients[i].q);
	free(r->clients);
	if (r->epfd >= 0)
		close(r->epfd);
}

static int run_loop(void *ctx, struct acc_err *err)
{
	struct ql_run *r = ctx;
	struct epoll_event evs[QL_EVENTS];
	uint64_t now, until;
	int n, ret;

	now = clock__monotonic_ns();
	r->start_ns = now + (uint64_t)(r->opt.warmup * 1e9);
	r->end_ns = r->start_ns + (uint64_t)(r->opt.duration * 1e9);
	for (unsigned int i = 0; i < r->opt.clients; i++) {
		ret = client_send(r, &r->clients[i], err);
		if (!ret)
			ret = client_watch(r, &r->clients[i], err);
		if (ret) {
			acc_err_prefix(err, "%s: ", r->clients[i].path);
			return ret;
		}
	}
	while (!r->stop) {
		now = clock__monotonic_ns();
		if (now >= r->end_ns)
			break;
		until = now < r->start_ns ? r->start_ns : r->end_ns;
		n = epoll_wait(r->epfd, evs, QL_EVENTS, (int)((until - now + 999999) / 1000000));
		if (n < 0 && errno != EINTR)
			return acc_errf(err, errno, "epoll: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct ql_client *c = evs[i].data.ptr;

			ret = client_event(r, c, evs[i].events, err);
			if (ret) {
				acc_err_prefix(err, "%s: ", c->path);
				return ret;
			}
		}
	}
	return 0;
}

static void report(struct ql_run *r, const struct bench_usage *u)
{
	struct json_object *o = json_object_new_object();
	uint64_t end =
		r->opt.max_requests && r->answers >= r->opt.max_requests ? r->last_ns : r->end_ns;
	double secs = end > r->start_ns ? (double)(end - r->start_ns) / 1e9 : 0;

	json_object_object_add(o, "clients", json_object_new_int64(r->opt.clients));
	json_object_object_add(o, "command", json_object_new_string(r->opt.command));
	json_object_object_add(o, "requests", json_object_new_uint64(r->lat.n));
	json_object_object_add(o, "errors", json_object_new_uint64(r->errors));
	bench__json_fixed(o, "duration_s", secs, 3);
	bench__json_fixed(o, "rps", secs > 0 ? (double)r->lat.n / secs : 0, 1);
	samples__json_us(&r->lat, o, "p50_us", 50);
	samples__json_us(&r->lat, o, "p90_us", 90);
	samples__json_us(&r->lat, o, "p99_us", 99);
	samples__json_us(&r->lat, o, "min_us", 0);
	samples__json_us(&r->lat, o, "max_us", 100);
	bench__json_cpu(o, u);
	bench__json_print(o);
	json_object_put(o);
}

int main(int argc, char **argv)
{
	struct ql_run r = { .epfd = -1 };
	struct bench_usage u = { 0, 0 };
	struct acc_err err;
	int ret;

	if (parse_args(argc, argv, &r.opt, &err)) {
		fprintf(stderr, "qmp-load: %s\n", err.msg);
		return 2;
	}
	if (r.opt.help) {
		fputs(qmp_load_usage, stdout);
		return 0;
	}
	ret = open_clients(&r, &err);
	if (!ret) {
		ret = bench__timed(run_loop, &r, &u, &err);
	}
	close_clients(&r);
	if (ret) {
		fprintf(stderr, "qmp-load: %s\n", err.msg);
		samples__free(&r.lat);
		return 1;
	}
	report(&r, &u);
	samples__free(&r.lat);
	if (r.errors) {
		fprintf(stderr, "qmp-load: %llu error answers to %s, the first: %s\n",
			(unsigned long long)r.errors, r.opt.command, r.first_error.msg);
		return 1;
	}
	return 0;
}
