// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the VM's control socket. A client's bytes go through the real
 * path: a Unix socket, the event loop, src/qmp.c's reader, scanner, parser
 * and dispatcher, src/qmp_args.c, and src/control.c's command table. The
 * commands run against a machine without KVM: a virtio-resource device whose
 * guest driver never came up (so allocation changes, reclaims, proposals and
 * messages run for real, and their events reach the socket) and a guest that
 * holds two granted agreements (txn 1: 8 MiB, txn 2: one vCPU).
 *
 * Input: a flags byte (see FLAG_*), then what the client sends. In it, "@@"
 * ends a write: the server reads what came before and the loop runs until it
 * is quiet before the rest is sent. "@@#" and a digit d instead adds a flood
 * of the byte before it (flood_sizes[d]: around the 64 KiB request limit and
 * past it) when that byte makes long tokens or values, else of "x"; "@@*"
 * repeats the write so far up to 16 KiB (a long pipeline). Neither ends the
 * write. The client sends at most SEND_BURST bytes before it reads the
 * replies, as a client that keeps up with them does. Every input gets a
 * fresh machine, server and connection, all freed and closed at its end.
 * FUZZ_QMP_TRACE=1 in the environment prints the conversation.
 *
 * Checks beyond "no crash" (abort on a violation):
 *  - the first line is the greeting; every line ends in CRLF, is printable
 *    ASCII and one JSON object: a reply ({"return"} or {"error": {"class",
 *    "desc"}}, maybe "id") or an event ({"event", "timestamp", "data"});
 *  - nothing but qmp_capabilities succeeds before negotiation, no event
 *    comes before it, and the client is never dropped while it reads;
 *  - the replies are those QMP's framing rules give the whole stream at once
 *    (plan), however the writes split it: one per value or stray byte, in
 *    order, each echoing its request's "id"; malformed requests, unknown
 *    commands and commands before negotiation fail; well-formed queries
 *    without arguments succeed; successes keep the allocation within its
 *    limits and do what was asked;
 *  - after the client's EOF the server sends its replies, closes the
 *    connection and frees the client; no descriptor outlives the input
 *    (LeakSanitizer sees the memory).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "accord/control.h"
#include "accord/inventory.h"
#include "accord/machine.h"
#include "accord/qmp.h"
#include "accord/resource.h"
#include "accord/tmpfile.h"
#include "rc_agreement.h"

#define MiB (1ull << 20)

/* The VM: what exists, what is granted at boot, what its policy may grant. */
#define VM_MEM	       (64 * MiB)
#define VM_MEM_GRANTED (32 * MiB)
#define VM_MEM_POOL    (48 * MiB)
#define VM_CPUS	       4u
#define VM_CPUS_GRANT  2u
#define VM_CPUS_POOL   3u
#define VM_NAME	       "vm1"
#define BROKER_PATH    "/run/accord/broker.sock"

#define FLAG_BROKER	 0x01 /* --broker: the allocation commands are refused */
#define FLAG_UML	 0x02 /* --accel uml */
#define FLAG_NAMED	 0x04 /* --name */
#define FLAG_HANGUP	 0x08 /* the client closes at the end instead of reading on */
#define FLAG_LINK_SHIFT	 4    /* two bits: the broker link's state */
#define FLAG_LINK_FAILED 3    /* that state value: down, with the broker's refusal */

#define MARK	      '@'
#define MAX_FLOODS    4
#define MAX_REPEATS   2
#define REPEAT_TO     (16u << 10)  /* a repeated write grows to this size */
#define STREAM_MAX    (128u << 10) /* every byte may cost a reply: keep runs short */
#define PUMP_MAX      100000	   /* loop runs without settling before it counts as a hang */
#define FD_SPAN	      64	   /* descriptors checked, from the input's first free one */
#define MAX_PROPOSALS 16

/*
 * Bytes sent before the client reads the replies. The server answers all a
 * read burst brought before it writes, and drops a client with more than
 * QMP_MAX_OUTPUT unsent; with at most ~85 bytes of reply per byte of input
 * (an error per stray byte), 8 KiB keeps a client that reads everything
 * clear of that, as a client reading on its own thread would be.
 */
#define SEND_BURST (8 * 1024)

static const size_t flood_sizes[10] = {
	1024,
	4095,
	4096,
	16384,
	QMP_MAX_REQUEST - 64,
	QMP_MAX_REQUEST - 1,
	QMP_MAX_REQUEST,
	QMP_MAX_REQUEST + 1,
	QMP_MAX_REQUEST + 64,
	QMP_MAX_REQUEST + 4096, /* past the server's input buffer */
};

static const char *const class_names[] = { "GenericError", "CommandNotFound", "DeviceNotActive",
					   "DeviceNotFound", "KVMMissingCap" };

/* control.c's commands that take no arguments and cannot fail on this machine. */
static const char *const plain_queries[] = { "query-status",	 "query-inventory",
					     "query-allocation", "query-requests",
					     "query-stats",	 "quit" };

static bool trace; /* FUZZ_QMP_TRACE set: the conversation goes to stderr */
static const char *tmp_dir;
static char sock_dir[64]; /* the input's, made and removed with it */
static char sock_path[96];

struct bytes {
	uint8_t *p;
	size_t len;
	size_t cap;
};

/* One session: the machine, its server, and the client's view of it. */
struct session {
	uint8_t flags;
	struct machine *m;
	struct virtio_resource *res;
	const struct qmp_command *cmds; /* the server's table, kept past control__stop */
	size_t nr_cmds;
	int fd; /* the client's end */
	bool quit;
	bool eof;
	struct json_tokener *tok; /* checks the server's lines */
	struct bytes in;	  /* received, not yet a whole line */
	bool greeted;
	bool negotiated;
	size_t nr_replies;
	struct bytes last; /* a line seen to be an error without id */

	/* What the stream must get (plan): one entry per reply. */
	struct json_object **reqs; /* the request; NULL: an error without id */
	size_t nr_reqs;
	uint64_t mem_granted; /* as the last allocation view said */
	struct {
		uint64_t txn, amount;
	} proposals[MAX_PROPOSALS]; /* renegotiations whose event is due */
	unsigned int nr_proposals;
};

static void remove_dir(void)
{
	if (!sock_dir[0])
		return;
	unlink(sock_path);
	rmdir(sock_dir);
	sock_dir[0] = '\0';
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_qmp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* Leave no directory behind for each finding. */
	remove_dir();
	abort();
}

/* Room for @n more bytes at b->p + b->len. */
static void bytes_reserve(struct bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;

	if (b->cap - b->len >= n)
		return;
	while (cap - b->len < n)
		cap *= 2;
	b->p = realloc(b->p, cap);
	if (!b->p)
		die("out of memory");
	b->cap = cap;
}

static void bytes_put(struct bytes *b, const void *p, size_t n)
{
	bytes_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static bool is_ws(uint8_t ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* ---- JSON helpers (json-c's NULL is JSON null) ---- */

static bool has(struct json_object *o, const char *key, struct json_object **v)
{
	return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, v);
}

static struct json_object *member(struct json_object *o, const char *key, json_type type,
				  const char *what)
{
	struct json_object *v = NULL;

	if (!has(o, key, &v) || !json_object_is_type(v, type))
		die("%s: no '%s' of type %d in %s", what, key, type, json_object_to_json_string(o));
	return v;
}

static uint64_t member_u64(struct json_object *o, const char *key, const char *what)
{
	return json_object_get_uint64(member(o, key, json_type_int, what));
}

static bool is_empty_object(struct json_object *o)
{
	return json_object_is_type(o, json_type_object) && !json_object_object_length(o);
}

/* ---- the input ---- */

/* A byte whose flood makes a long token or value, not a reply per byte (a stray byte, "}"). */
static bool makes_long_values(uint8_t ch)
{
	return (ch && strchr("[{ \t\\.-+", ch)) || (ch >= '0' && ch <= '9') ||
	       ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || (ch >= 0x80 && ch < 0xfe);
}

/*
 * Turn the script into the byte stream and where its writes end (@cuts,
 * ascending, the last at the stream's end).
 */
static void build_stream(const uint8_t *p, size_t n, struct bytes *out, size_t *cuts,
			 size_t *nr_cuts)
{
	unsigned int floods = 0, repeats = 0;
	size_t start = 0; /* where the current write began */

	*nr_cuts = 0;
	for (size_t i = 0; i < n;) {
		if (p[i] != MARK || i + 1 == n || p[i + 1] != MARK) {
			bytes_put(out, p + i++, 1);
			continue;
		}
		i += 2;
		if (i + 1 < n && p[i] == '#' && p[i + 1] >= '0' && p[i + 1] <= '9') {
			size_t len = flood_sizes[p[i + 1] - '0'];
			uint8_t ch = out->len ? out->p[out->len - 1] : 'x';

			if (!makes_long_values(ch))
				ch = 'x';
			i += 2;
			if (floods++ >= MAX_FLOODS || out->len + len > STREAM_MAX)
				continue;
			bytes_reserve(out, len);
			memset(out->p + out->len, ch, len);
			out->len += len;
		} else if (i < n && p[i] == '*') {
			size_t len = out->len - start;

			i++;
			if (!len || repeats++ >= MAX_REPEATS)
				continue;
			while (out->len - start < REPEAT_TO && out->len + len <= STREAM_MAX) {
				bytes_reserve(out, len);
				memcpy(out->p + out->len, out->p + start, len);
				out->len += len;
			}
		} else if (out->len > start) {
			cuts[(*nr_cuts)++] = out->len;
			start = out->len;
		}
	}
	if (out->len > start || !*nr_cuts)
		cuts[(*nr_cuts)++] = out->len;
}

/* The code point of a "\\u" escape (four hex digits) at @p (@n bytes left), or -1. */
static long escape_at(const uint8_t *p, size_t n)
{
	char hex[5] = { 0 }, *end;
	long v;

	if (n < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	memcpy(hex, p + 2, 4);
	for (int k = 0; k < 4; k++) {
		if (!isxdigit((unsigned char)hex[k]))
			return -1;
	}
	v = strtol(hex, &end, 16);
	return *end ? -1 : v;
}

/*
 * An escape the server refuses: "\\u0000" (C strings would end there), or
 * half of a surrogate pair (like raw UTF-8 surrogates).
 */
static bool has_bad_escape(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		long cp;

		if (p[i] != '\\')
			continue;
		cp = escape_at(p + i, n - i);
		if (cp < 0) {
			i++;
			continue;
		}
		if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
			return true;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			long low = escape_at(p + i + 6, n - i - 6); /* n - i >= 6 here */

			if (low < 0xdc00 || low > 0xdfff)
				return true;
			i += 6;
		}
		i += 5;
	}
	return false;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool valid_utf8(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp, min;
		size_t len;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			len = 2;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			len = 3;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			len = 4;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* Bytes that are never JSON: the spec's way to reset the server's parser. */
static bool is_stray(uint8_t ch)
{
	return (ch < 0x20 && !is_ws(ch)) || ch >= 0xfe;
}

/* The request a value's text makes; NULL when its answer is an error without id. */
static struct json_object *request_of(struct json_tokener *tok, const uint8_t *p, size_t n,
				      bool bare)
{
	struct json_object *req;

	/* A top-level number or keyword is never an object, whatever it parses to. */
	if (bare || has_bad_escape(p, n) || !valid_utf8(p, n))
		return NULL;
	json_tokener_reset(tok);
	req = json_tokener_parse_ex(tok, (const char *)p, (int)n);
	if (json_tokener_get_error(tok) == json_tokener_success)
		return req;
	json_object_put(req);
	return NULL;
}

enum model_state { M_IDLE, M_NESTED, M_STRING, M_ESCAPE, M_BARE };

/*
 * The replies the stream must get, one entry each, from QMP's framing rules
 * applied to all of it at once: values are delimited as QEMU's JSON streamer
 * does (brackets counted outside strings; a top-level number or keyword ends
 * at the next byte that cannot continue it), a stray byte drops the value it
 * is in and is answered, a value past QMP_MAX_REQUEST is answered once and
 * skipped to its end, and what EOF cuts off is not answered. The server does
 * the same a read at a time; any difference is a reply lost, added or given
 * to the wrong request.
 */
static void plan(struct session *s, const uint8_t *p, size_t n)
{
	enum model_state st = M_IDLE;
	unsigned int depth = 0;
	bool discarding = false;
	struct json_tokener *tok;
	size_t start = 0, i = 0;

	s->reqs = calloc(n + 1, sizeof(*s->reqs));
	tok = json_tokener_new_ex(64);
	if (!s->reqs || !tok)
		die("out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	while (i < n) {
		uint8_t ch = p[i];
		bool end = false, stray = false;

		switch (st) {
		case M_IDLE:
			if (is_ws(ch))
				break;
			start = i;
			if (ch == '{' || ch == '[') {
				depth = 1;
				st = M_NESTED;
			} else if (ch == '"') {
				depth = 0;
				st = M_STRING;
			} else if (is_stray(ch)) {
				stray = true;
			} else if (strchr("}],:", ch)) {
				end = true;
			} else {
				st = M_BARE;
			}
			break;
		case M_NESTED:
			if (ch == '"')
				st = M_STRING;
			else if (ch == '{' || ch == '[')
				depth++;
			else if (ch == '}' || ch == ']')
				end = !--depth;
			else
				stray = is_stray(ch);
			break;
		case M_STRING:
			if (ch == '"') {
				if (depth)
					st = M_NESTED;
				else
					end = true;
			} else if (ch == '\\') {
				st = M_ESCAPE;
			} else {
				stray = ch < 0x20 || ch >= 0xfe;
			}
			break;
		case M_ESCAPE:
			st = M_STRING;
			stray = ch < 0x20 || ch >= 0xfe;
			break;
		case M_BARE:
			if (is_ws(ch) || is_stray(ch) || strchr("{}[]\",:", ch)) {
				/* It ends before @ch, which starts what comes next. */
				if (!discarding)
					s->reqs[s->nr_reqs++] =
						request_of(tok, p + start, i - start, true);
				discarding = false;
				st = M_IDLE;
				continue;
			}
			break;
		}
		i++;
		if (end || stray) {
			if (!discarding)
				s->reqs[s->nr_reqs++] =
					end ? request_of(tok, p + start, i - start, false) : NULL;
			discarding = false;
			st = M_IDLE;
		}
		if (st != M_IDLE && !discarding && i - start > QMP_MAX_REQUEST) {
			s->reqs[s->nr_reqs++] = NULL;
			discarding = true;
		}
	}
	json_tokener_free(tok);
}

/* ---- the machine ---- */

static void fake_set_vcpus(void *ctx, unsigned int granted)
{
}

/* machine.c's describe: the host inventory with this allocation, as an FDT. */
static long fake_describe(void *ctx, const struct virtio_resource_config *cfg, void *buf,
			  size_t cap)
{
	struct machine *m = ctx;
	struct inventory_alloc alloc;
	struct acc_err err;

	machine__inventory_alloc(m, cfg, &alloc);
	return inventory__to_fdt(m->inventory, &alloc, buf, cap, &err);
}

/* machine.c's event: the device's events go to the control socket. */
static void fake_event(void *ctx, const char *name, struct json_object *data)
{
	struct machine *m = ctx;

	if (m->qmp)
		qmp__event(m->qmp, name, data);
	else
		json_object_put(data);
}

/* The quit command: the machine's loop ends after the handlers now running. */
static void fake_stop(void *ctx, enum vm_stop_reason reason, int code)
{
	struct session *s = ctx;

	s->quit = true;
}

/* What a guest's REQUEST answered with A_GRANT leaves in the device's table. */
static void fake_agreement(struct virtio_resource *r, uint64_t txn, uint16_t kind, uint64_t amount)
{
	struct rc_entry req = {
		.txn = txn, .kind = kind, .amount = amount, .minimum = amount, .urgency = 1
	};
	struct rc_update u = { .amount = amount };
	uint64_t now = clock__monotonic_ns();

	if (rc_table_add(&r->table, &req, now, NULL) ||
	    rc_table_apply(&r->table, txn, RC_EV_GRANT, &u, now))
		die("cannot seed agreement %llu", (unsigned long long)txn);
}

static void machine_up(struct session *s)
{
	static const struct resource_host_ops ops = { fake_set_vcpus, fake_describe, fake_event,
						      NULL };
	struct resource_host_ops host = ops;
	struct resource_opts opts = {
		.guest_id = 1,
		.mem_max = VM_MEM,
		.mem_granted = VM_MEM_GRANTED,
		.mem_pool = VM_MEM_POOL,
		.vcpus_max = VM_CPUS,
		.vcpus_granted = VM_CPUS_GRANT,
		.vcpus_pool = VM_CPUS_POOL,
	};
	struct acc_err err = { "" };
	struct machine_virtio *mv;
	const struct guest_mem *mem;
	struct host_inventory *inv;
	struct machine *m;
	unsigned int link = (s->flags >> FLAG_LINK_SHIFT) & 3;

	m = s->m = calloc(1, sizeof(*m));
	inv = calloc(1, sizeof(*inv));
	mv = calloc(1, sizeof(*mv));
	s->res = calloc(1, sizeof(*s->res));
	if (!m || !inv || !mv || !s->res)
		die("out of memory");
	m->cfg.accel = s->flags & FLAG_UML ? ACCEL_UML : ACCEL_KVM;
	m->cfg.name = s->flags & FLAG_NAMED ? VM_NAME : NULL;
	m->cfg.mem_size = VM_MEM;
	m->cfg.mem_grant = VM_MEM_GRANTED;
	m->cfg.cpus = VM_CPUS;
	m->cfg.cpus_grant = VM_CPUS_GRANT;
	m->cfg.api_socket = sock_path;
	log__init(&m->log, m->cfg.name, LOG_ERROR);
	ratelimit__init(&m->guest_rl, 1000, 10);
	m->stop_sink = (struct stop_sink){ fake_stop, s };
	if (s->flags & FLAG_BROKER) {
		m->has_broker = true;
		snprintf(m->broker.path, sizeof(m->broker.path), "%s", BROKER_PATH);
		snprintf(m->broker.name, sizeof(m->broker.name), "%s", VM_NAME);
		m->broker.guest_id = 1;
		m->broker.fd = m->broker.timer_fd = -1;
		if (link == FLAG_LINK_FAILED)
			snprintf(m->broker.failure, sizeof(m->broker.failure),
				 "a VM named %s is registered already", VM_NAME);
		else
			m->broker.state = (enum broker_link_state)link;
	}

	/* A host with two CPUs and one NUMA node. */
	inv->mem_total = 1ull << 30;
	inv->nr_cpus = 2;
	for (unsigned int i = 0; i < 2; i++)
		inv->cpus[i] = (struct inventory_cpu){ i, 0, i, 0, 0, true };
	inv->nr_nodes = 1;
	inv->nodes[0] = (struct inventory_node){ 0, 1ull << 30 };
	m->inventory = inv;

	/* The device's slot and memory, as machine__new_virtio makes them. */
	if (m->cfg.accel == ACCEL_UML) {
		vhost_user__prepare(&mv->vu, VM_MEM + UML_MEM_SLACK);
		mem = vhost_user__mem(&mv->vu);
	} else {
		guest_mem__init_empty(&m->vm.mem, VM_MEM);
		mem = &m->vm.mem;
	}
	m->virtio[m->nr_virtio++] = mv;
	host.ctx = m;
	if (virtio_resource__init(s->res, &opts, &host, mem, &m->log, &m->guest_rl, &err))
		die("virtio_resource__init: %s", err.msg);
	m->resource = s->res;
	mv->dev = s->res;
	fake_agreement(s->res, 1, VIRTIO_RESOURCE_K_MEMORY, 8 * MiB);
	fake_agreement(s->res, 2, VIRTIO_RESOURCE_K_VCPU, 1);
	s->mem_granted = VM_MEM_GRANTED;

	if (eventloop__init(&m->loop))
		die("epoll: %s", strerror(errno));
	if (control__start(m, &err))
		die("control__start: %s", err.msg);
	s->cmds = m->qmp->cmds;
	s->nr_cmds = m->qmp->nr_cmds;
}

static void machine_down(struct session *s)
{
	struct machine *m = s->m;

	control__stop(m);
	eventloop__exit(&m->loop);
	virtio_resource__exit(s->res);
	free(s->res);
	free(m->virtio[0]);
	free(m->inventory);
	ratelimit__destroy(&m->guest_rl);
	free(m);
}

/* ---- checking what the server says ---- */

static bool is_command(struct session *s, const char *name)
{
	if (!strcmp(name, "qmp_capabilities") || !strcmp(name, "query-commands") ||
	    !strcmp(name, "query-version"))
		return true;
	for (size_t i = 0; i < s->nr_cmds; i++) {
		if (!strcmp(s->cmds[i].name, name))
			return true;
	}
	return false;
}

static bool is_one_of(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(list[i], name))
			return true;
	}
	return false;
}

static void check_greeting(struct json_object *g)
{
	struct json_object *qmp = member(g, "QMP", json_type_object, "greeting"), *ver, *acc;

	ver = member(qmp, "version", json_type_object, "greeting");
	acc = member(ver, "accord", json_type_object, "greeting");
	member(acc, "major", json_type_int, "greeting");
	member(acc, "minor", json_type_int, "greeting");
	member(acc, "micro", json_type_int, "greeting");
	if (json_object_object_length(g) != 1 || json_object_object_length(qmp) != 2 ||
	    strcmp(json_object_get_string(member(ver, "package", json_type_string, "greeting")),
		   "") ||
	    json_object_array_length(member(qmp, "capabilities", json_type_array, "greeting")))
		die("greeting: %s", json_object_to_json_string(g));
}

/* An allocation view (query-allocation, set-allocation, reclaim): within its limits. */
static void check_allocation(struct session *s, struct json_object *a)
{
	struct json_object *mem = member(a, "memory", json_type_object, "allocation");
	struct json_object *cpu = member(a, "vcpus", json_type_object, "allocation");
	uint64_t granted = member_u64(mem, "granted", "allocation");
	uint64_t vcpus = member_u64(cpu, "granted", "allocation");

	if (member_u64(mem, "max", "allocation") != VM_MEM ||
	    member_u64(mem, "granule", "allocation") != RES_GRANULE || granted % RES_GRANULE ||
	    granted < RES_GRANULE || granted > VM_MEM ||
	    member_u64(mem, "usable", "allocation") > VM_MEM ||
	    member_u64(cpu, "max", "allocation") != VM_CPUS || vcpus < 1 || vcpus > VM_CPUS)
		die("allocation out of its limits: %s", json_object_to_json_string(a));
	s->mem_granted = granted;
}

static void check_status(struct session *s, struct json_object *st)
{
	bool uml = s->flags & FLAG_UML;
	struct json_object *name = NULL, *broker = NULL;

	if (strcmp(json_object_get_string(member(st, "status", json_type_string, "status")),
		   "running") ||
	    member_u64(st, "vcpus", "status") != VM_CPUS ||
	    member_u64(st, "memory", "status") != VM_MEM ||
	    strcmp(json_object_get_string(member(st, "accelerator", json_type_string, "status")),
		   uml ? "uml" : "kvm") ||
	    !has(st, "name", &name) || !has(st, "broker", &broker) ||
	    (s->flags & FLAG_NAMED ? !json_object_is_type(name, json_type_string) ||
					     strcmp(json_object_get_string(name), VM_NAME)
				   : !!name) ||
	    !(s->flags & FLAG_BROKER) != !broker)
		die("query-status: %s", json_object_to_json_string(st));
	if (broker &&
	    strcmp(json_object_get_string(member(broker, "socket", json_type_string, "broker")),
		   BROKER_PATH))
		die("query-status: %s", json_object_to_json_string(st));
}

/* A successful command's return value, against what it was asked. */
static void check_return(struct session *s, const char *name, struct json_object *args,
			 struct json_object *ret)
{
	struct json_object *v;
	uint64_t before = s->mem_granted;

	if (!strcmp(name, "query-status")) {
		check_status(s, ret);
	} else if (!strcmp(name, "query-allocation")) {
		check_allocation(s, ret);
	} else if (!strcmp(name, "set-allocation")) {
		check_allocation(s, ret);
		if (has(args, "memory", &v) &&
		    json_object_get_uint64(v) !=
			    member_u64(member(ret, "memory", json_type_object, "set-allocation"),
				       "granted", "set-allocation"))
			die("set-allocation did not grant the memory asked for: %s",
			    json_object_to_json_string(ret));
		if (has(args, "vcpus", &v) &&
		    json_object_get_uint64(v) !=
			    member_u64(member(ret, "vcpus", json_type_object, "set-allocation"),
				       "granted", "set-allocation"))
			die("set-allocation did not grant the vCPUs asked for: %s",
			    json_object_to_json_string(ret));
	} else if (!strcmp(name, "reclaim")) {
		check_allocation(s, ret);
		v = member(args, "memory", json_type_int, "reclaim");
		if (s->mem_granted + json_object_get_uint64(v) != before)
			die("reclaim of %s: granted %llu, then %llu", json_object_to_json_string(v),
			    (unsigned long long)before, (unsigned long long)s->mem_granted);
	} else if (!strcmp(name, "renegotiate")) {
		if (!is_empty_object(ret))
			die("renegotiate returned %s", json_object_to_json_string(ret));
		if (s->nr_proposals < MAX_PROPOSALS) {
			s->proposals[s->nr_proposals].txn = member_u64(args, "txn", "renegotiate");
			s->proposals[s->nr_proposals++].amount =
				member_u64(args, "amount", "renegotiate");
		}
	} else if (!strcmp(name, "send-message") || !strcmp(name, "quit")) {
		if (!is_empty_object(ret))
			die("%s returned %s", name, json_object_to_json_string(ret));
	} else if (!strcmp(name, "query-commands")) {
		size_t n = json_object_array_length(ret);

		if (!json_object_is_type(ret, json_type_array) || n != 3 + s->nr_cmds)
			die("query-commands: %s", json_object_to_json_string(ret));
		for (size_t i = 0; i < n; i++) {
			v = json_object_array_get_idx(ret, i);
			if (json_object_object_length(v) != 1 ||
			    !is_command(s, json_object_get_string(member(
						   v, "name", json_type_string, "commands"))))
				die("query-commands: %s", json_object_to_json_string(ret));
		}
	} else if (!strcmp(name, "query-version")) {
		v = member(ret, "accord", json_type_object, "query-version");
		member(v, "major", json_type_int, "query-version");
	} else if (!strcmp(name, "query-requests")) {
		if (!json_object_is_type(ret, json_type_array) ||
		    json_object_array_length(ret) > RES_TABLE_SIZE)
			die("query-requests: %s", json_object_to_json_string(ret));
	}
}

/* An error that names a transaction must name the one asked about. */
static void check_error_txn(struct json_object *args, const char *desc)
{
	static const char prefix[] = "no granted agreement with txn ";
	struct json_object *txn;

	if (strncmp(desc, prefix, sizeof(prefix) - 1) || !has(args, "txn", &txn))
		return;
	if (strtoull(desc + sizeof(prefix) - 1, NULL, 10) != json_object_get_uint64(txn))
		die("renegotiate of txn %s answered: %s", json_object_to_json_string(txn), desc);
}

/* What qmp_capabilities accepts: no arguments, or "enable" with no capability. */
static bool caps_args_ok(struct json_object *args)
{
	if (!args)
		return true;
	json_object_object_foreach(args, key, val) {
		if (strcmp(key, "enable") || !json_object_is_type(val, json_type_array) ||
		    json_object_array_length(val))
			return false;
	}
	return true;
}

/* A reply, against what the model says its request was. */
static void check_against_request(struct session *s, struct json_object *msg, bool ok,
				  struct json_object *ret, const char *cls, const char *desc)
{
	struct json_object *req, *id = NULL, *rid = NULL, *exec = NULL, *args = NULL;
	bool has_id = has(msg, "id", &id), want_id, has_exec = false, well_formed = true;
	bool plain;
	const char *name;

	if (s->nr_replies >= s->nr_reqs)
		die("a reply to no request: %s", json_object_to_json_string(msg));
	req = s->reqs[s->nr_replies];
	want_id = has(req, "id", &rid);
	if (has_id != want_id || (has_id && !json_object_equal(id, rid)))
		die("reply %zu: id %s for the request's %s", s->nr_replies,
		    has_id ? json_object_to_json_string(id) : "(none)",
		    want_id ? json_object_to_json_string(rid) : "(none)");
	if (!json_object_is_type(req, json_type_object)) {
		if (ok)
			die("a value that is no request succeeded: %s",
			    json_object_to_json_string(msg));
		return;
	}
	json_object_object_foreach(req, key, val) {
		if (!strcmp(key, "execute")) {
			has_exec = true;
			exec = val;
			well_formed &= json_object_is_type(val, json_type_string);
		} else if (!strcmp(key, "arguments")) {
			args = val;
			well_formed &= json_object_is_type(val, json_type_object);
		} else if (strcmp(key, "id")) {
			well_formed = false;
		}
	}
	if (!has_exec || !well_formed) {
		if (ok)
			die("a malformed request succeeded: %s", json_object_to_json_string(req));
		return;
	}
	name = json_object_get_string(exec);
	if (!s->negotiated) {
		bool caps = !strcmp(name, "qmp_capabilities");

		if (ok != (caps && caps_args_ok(args)) || (!caps && strcmp(cls, "CommandNotFound")))
			die("before negotiation, %s: %s", json_object_to_json_string(req),
			    json_object_to_json_string(msg));
		return;
	}
	if (!is_command(s, name) || !strcmp(name, "qmp_capabilities")) {
		if (ok || strcmp(cls, "CommandNotFound"))
			die("%s: %s", json_object_to_json_string(req),
			    json_object_to_json_string(msg));
		return;
	}
	plain = !strcmp(name, "query-version") || !strcmp(name, "query-commands") ||
		is_one_of(name, plain_queries, sizeof(plain_queries) / sizeof(plain_queries[0]));
	if (plain && ok != (!args || !json_object_object_length(args)))
		die("%s: %s", json_object_to_json_string(req), json_object_to_json_string(msg));
	if (ok && (s->flags & FLAG_BROKER) &&
	    (!strcmp(name, "set-allocation") || !strcmp(name, "reclaim") ||
	     !strcmp(name, "renegotiate")))
		die("with a broker, %s succeeded", name);
	if (ok)
		check_return(s, name, args, ret);
	else if (!strcmp(name, "renegotiate"))
		check_error_txn(args, desc);
}

static void check_reply(struct session *s, struct json_object *msg)
{
	struct json_object *ret = NULL, *err = NULL;
	bool ok = has(msg, "return", &ret), failed = has(msg, "error", &err);
	bool has_id = has(msg, "id", NULL);
	const char *cls = NULL, *desc = NULL;

	if (ok == failed || json_object_object_length(msg) != 1 + has_id)
		die("not a reply: %s", json_object_to_json_string(msg));
	if (failed) {
		cls = json_object_get_string(member(err, "class", json_type_string, "error"));
		desc = json_object_get_string(member(err, "desc", json_type_string, "error"));
		if (json_object_object_length(err) != 2 || !*desc ||
		    !is_one_of(cls, class_names, sizeof(class_names) / sizeof(class_names[0])))
			die("error: %s", json_object_to_json_string(msg));
	}
	if (ok && !s->negotiated && !is_empty_object(ret))
		die("success before negotiation: %s", json_object_to_json_string(msg));
	check_against_request(s, msg, ok, ret, cls, desc);
	if (ok)
		s->negotiated = true;
	s->nr_replies++;
}

static void check_event(struct session *s, struct json_object *ev)
{
	struct json_object *ts = member(ev, "timestamp", json_type_object, "event"), *data = NULL;
	const char *name = json_object_get_string(member(ev, "event", json_type_string, "event"));
	bool has_data = has(ev, "data", &data);
	int64_t usec = json_object_get_int64(member(ts, "microseconds", json_type_int, "event"));

	if (json_object_object_length(ev) != 2 + has_data || json_object_object_length(ts) != 2 ||
	    json_object_get_int64(member(ts, "seconds", json_type_int, "event")) <= 0 || usec < 0 ||
	    usec > 999999 || (has_data && !json_object_is_type(data, json_type_object)))
		die("event: %s", json_object_to_json_string(ev));
	if (!s->negotiated)
		die("an event before negotiation: %s", json_object_to_json_string(ev));
	if (!strcmp(name, "ALLOCATION_CHANGED")) {
		uint64_t mem = member_u64(data, "memory-granted", "event");
		uint64_t vcpus = member_u64(data, "vcpus-granted", "event");

		if (mem < RES_GRANULE || mem > VM_MEM || mem % RES_GRANULE || vcpus < 1 ||
		    vcpus > VM_CPUS)
			die("allocation out of its limits: %s", json_object_to_json_string(ev));
	} else if (!strcmp(name, "RENEGOTIATE")) {
		uint64_t txn = member_u64(data, "txn", "event");
		uint64_t to = member_u64(data, "to", "event");
		unsigned int i;

		for (i = 0; i < s->nr_proposals; i++) {
			if (s->proposals[i].txn == txn && s->proposals[i].amount == to)
				break;
		}
		if (i == s->nr_proposals)
			die("a proposal nobody made: %s", json_object_to_json_string(ev));
		s->proposals[i] = s->proposals[--s->nr_proposals];
	}
}

/* One line from the server, "\r\n" included. */
static void check_line(struct session *s, const char *p, size_t len)
{
	struct json_object *o;
	bool anonymous;

	if (trace)
		fprintf(stderr, "<- %.*s", (int)len, p);
	if (len < 2 || p[len - 2] != '\r')
		die("a line not ended by CRLF: %.*s", (int)len, p);
	len -= 2;
	for (size_t i = 0; i < len; i++) {
		if ((uint8_t)p[i] < 0x20 || (uint8_t)p[i] > 0x7e)
			die("byte 0x%02x at %zu is not printable ASCII: %.*s", (uint8_t)p[i], i,
			    (int)len, p);
	}
	/* Floods of stray bytes bring runs of one error: checked once, counted each time. */
	anonymous = s->nr_replies < s->nr_reqs && !s->reqs[s->nr_replies];
	if (anonymous && s->last.len == len && !memcmp(s->last.p, p, len)) {
		s->nr_replies++;
		return;
	}
	json_tokener_reset(s->tok);
	o = json_tokener_parse_ex(s->tok, p, (int)len);
	if (json_tokener_get_error(s->tok) != json_tokener_success ||
	    json_tokener_get_parse_end(s->tok) != len || !json_object_is_type(o, json_type_object))
		die("not one JSON object: %.*s", (int)len, p);
	if (!s->greeted) {
		check_greeting(o);
	} else if (has(o, "event", NULL)) {
		check_event(s, o);
	} else {
		check_reply(s, o);
		if (anonymous) {
			s->last.len = 0;
			bytes_put(&s->last, p, len);
		}
	}
	s->greeted = true;
	json_object_put(o);
}

/* ---- the client ---- */

/* Take what has arrived and check its whole lines; false when nothing came. */
static bool client_read(struct session *s)
{
	bool got = false;
	char *p, *nl;
	ssize_t n;

	while (s->fd >= 0 && !s->eof) {
		bytes_reserve(&s->in, 65536);
		n = recv(s->fd, s->in.p + s->in.len, s->in.cap - s->in.len, MSG_DONTWAIT);
		if (n > 0) {
			s->in.len += (size_t)n;
			got = true;
		} else if (n == 0) {
			s->eof = true;
		} else if (errno == EAGAIN) {
			break;
		} else if (errno != EINTR) {
			die("recv: %s", strerror(errno));
		}
	}
	p = (char *)s->in.p;
	while ((nl = memchr(p, '\n', s->in.len - (size_t)(p - (char *)s->in.p)))) {
		check_line(s, p, (size_t)(nl - p) + 1);
		p = nl + 1;
	}
	s->in.len -= (size_t)(p - (char *)s->in.p);
	memmove(s->in.p, p, s->in.len);
	return got;
}

/* Run the loop and read what comes back until neither has anything more. */
static void pump(struct session *s)
{
	for (unsigned int i = 0; i < PUMP_MAX; i++) {
		int n = eventloop__run_once(&s->m->loop, 0);
		bool got;

		if (n < 0)
			die("event loop: %s", strerror(-n));
		got = client_read(s);
		/* After quit the machine's loop ends with the handlers of this round. */
		if (s->quit || (!n && !got))
			return;
	}
	die("the server does not settle");
}

static void client_connect(struct session *s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect %s: %s", sock_path, strerror(errno));
	pump(s);
	if (!s->greeted)
		die("no greeting");
}

/* One write: all of it goes, the loop running whenever the socket is full. */
static void client_send(struct session *s, const uint8_t *p, size_t len)
{
	unsigned int stuck = 0;
	size_t burst = 0;
	ssize_t n;

	if (trace)
		fprintf(stderr, "-> %.*s\n", (int)len, (const char *)p);
	while (len && !s->quit) {
		n = send(s->fd, p, len < SEND_BURST - burst ? len : SEND_BURST - burst,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			burst += (size_t)n;
			stuck = 0;
			if (burst < SEND_BURST)
				continue;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno != EAGAIN) {
			die("send: %s (the server dropped a client that reads)", strerror(errno));
		} else if (++stuck == PUMP_MAX) {
			die("the server stopped reading");
		}
		burst = 0;
		pump(s);
	}
	if (!s->quit)
		pump(s);
	if (s->eof && !s->quit)
		die("the server hung up on a client that reads");
}

/* The end of the session: the client's EOF, its hanging up, or the VM quitting. */
static void client_finish(struct session *s)
{
	unsigned int i;

	if (s->quit) {
		/* machine__run returns and machine__destroy stops the server. */
		client_read(s);
		control__stop(s->m);
		for (i = 0; !s->eof; i++) {
			if (!client_read(s) && !s->eof && i)
				die("the connection stays open after the server exited");
		}
		/* Its last words are what the socket took without waiting: maybe a part line. */
		s->in.len = 0;
	} else if (s->flags & FLAG_HANGUP) {
		close(s->fd);
		s->fd = -1;
		for (i = 0; s->m->qmp->nr_clients; i++) {
			if (i == PUMP_MAX)
				die("a client that hung up is never freed");
			eventloop__run_once(&s->m->loop, 0);
		}
		return;
	} else {
		shutdown(s->fd, SHUT_WR);
		for (i = 0; !s->eof; i++) {
			if (i == PUMP_MAX)
				die("no EOF after the client's");
			eventloop__run_once(&s->m->loop, 0);
			client_read(s);
		}
		if (s->m->qmp->nr_clients)
			die("the server closed the connection but kept the client");
	}
	if (s->in.len)
		die("an unterminated line: %.*s", (int)s->in.len, (char *)s->in.p);
	if (!s->quit && s->nr_replies != s->nr_reqs)
		die("%zu replies to %zu requests", s->nr_replies, s->nr_reqs);
}

/* ---- the driver ---- */

/* Which of the descriptors from @first on are open (libFuzzer keeps some of its own). */
static uint64_t open_fds(int first)
{
	struct pollfd pfd[FD_SPAN];
	uint64_t set = 0;

	/* One call for all of them: a closed descriptor comes back POLLNVAL. */
	for (int i = 0; i < FD_SPAN; i++)
		pfd[i] = (struct pollfd){ .fd = first + i };
	if (poll(pfd, FD_SPAN, 0) < 0)
		die("poll: %s", strerror(errno));
	for (int i = 0; i < FD_SPAN; i++) {
		if (!(pfd[i].revents & POLLNVAL))
			set |= 1ull << i;
	}
	return set;
}

static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("/dev/null: %s", strerror(errno));
	close(fd);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	trace = getenv("FUZZ_QMP_TRACE");
	tmp_dir = getenv("TMPDIR");
	/* A socket path has 108 bytes at most. */
	if (!tmp_dir || !*tmp_dir || strlen(tmp_dir) > 40)
		tmp_dir = "/tmp";
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session s = { .fd = -1 };
	struct bytes stream = { 0 };
	size_t nr_cuts, off = 0;
	size_t *cuts;
	uint64_t fds;
	int first_fd, ret;

	if (!size)
		return 0;
	first_fd = lowest_free_fd();
	fds = open_fds(first_fd);
	ret = acc_mkdtemp(sock_dir, sizeof(sock_dir), tmp_dir, "fuzz_qmp");
	if (ret)
		die("a directory in %s: %s", tmp_dir, strerror(-ret));
	snprintf(sock_path, sizeof(sock_path), "%s/qmp.sock", sock_dir);
	s.flags = data[0];
	cuts = malloc((size / 2 + 2) * sizeof(*cuts));
	s.tok = json_tokener_new_ex(2 * 64);
	if (!cuts || !s.tok)
		die("out of memory");
	json_tokener_set_flags(s.tok, JSON_TOKENER_STRICT);
	bytes_reserve(&stream, 1); /* never a NULL buffer, even when empty */
	build_stream(data + 1, size - 1, &stream, cuts, &nr_cuts);
	plan(&s, stream.p, stream.len);
	if (trace)
		fprintf(stderr, "flags %#x, %zu writes, %zu replies due\n", s.flags, nr_cuts,
			s.nr_reqs);

	machine_up(&s);
	client_connect(&s);
	for (size_t i = 0; i < nr_cuts && !s.quit; i++) {
		client_send(&s, stream.p + off, cuts[i] - off);
		off = cuts[i];
	}
	client_finish(&s);
	machine_down(&s);
	remove_dir();

	if (s.fd >= 0)
		close(s.fd);
	for (size_t i = 0; i < s.nr_reqs; i++)
		json_object_put(s.reqs[i]);
	free(s.reqs);
	free(s.in.p);
	free(s.last.p);
	free(stream.p);
	free(cuts);
	json_tokener_free(s.tok);
	if (open_fds(first_fd) != fds)
		die("descriptors %#llx were open before the input, %#llx after (from %d on)",
		    (unsigned long long)fds, (unsigned long long)open_fds(first_fd), first_fd);
	return 0;
}
