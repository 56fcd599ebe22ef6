// SPDX-License-Identifier: MIT
/*
 * QMP conformance against a live socket (see qmp_conformance.h). Requests go
 * out as raw bytes, so input can be malformed or split anywhere; every line
 * that comes back must be one JSON object in ASCII ending in CRLF, and every
 * event among the lines must have the spec's shape and reach only clients
 * past negotiation.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qmp_client.h"
#include "qmp_conformance.h"

#define CONNECT_S  10
#define REPLY_MS   10000 /* for an answer that must come */
#define QUIET_MS   200	 /* for one that must not */
#define PAUSE_US   50000 /* between the parts of a split request */
#define MAX_ERRORS 16	 /* answers to one piece of bad input */

/* One connection; the client's 1 MiB buffer is why it lives on the heap. */
struct conn {
	struct qmp_client c;
	bool negotiated;
};

static bool has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* ---- single messages ---- */

struct json_object *qmp_expect_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s' in %s", key,
		      json_object_to_json_string(o));
	return v;
}

struct json_object *qmp_expect_line(const char *line)
{
	struct json_object *o;

	for (const char *p = line; *p; p++)
		ck_assert_msg((unsigned char)*p < 0x80, "output is not ASCII: %s", line);
	o = json_tokener_parse(line);
	ck_assert_msg(o && json_object_is_type(o, json_type_object), "not a JSON object: %s", line);
	return o;
}

void qmp_expect_id(struct json_object *msg, const char *id_json, bool id_optional)
{
	struct json_object *want, *got = NULL;

	if (!id_json) {
		ck_assert_msg(!has(msg, "id"), "an id nobody sent: %s",
			      json_object_to_json_string(msg));
		return;
	}
	if (!json_object_object_get_ex(msg, "id", &got)) {
		ck_assert_msg(id_optional, "id %s not echoed: %s", id_json,
			      json_object_to_json_string(msg));
		return;
	}
	want = json_tokener_parse(id_json);
	ck_assert_msg(json_object_equal(got, want), "id %s echoed as %s", id_json,
		      json_object_to_json_string(got));
	json_object_put(want);
}

void qmp_expect_error(struct json_object *msg, const char *cls, const char *desc,
		      const char *id_json, bool id_optional)
{
	struct json_object *e;
	const char *text;

	ck_assert_msg(!has(msg, "return"), "success where an error is due: %s",
		      json_object_to_json_string(msg));
	e = qmp_expect_member(msg, "error");
	ck_assert_msg(!strcmp(json_object_get_string(qmp_expect_member(e, "class")), cls),
		      "class is not %s: %s", cls, json_object_to_json_string(msg));
	ck_assert_msg(json_object_is_type(qmp_expect_member(e, "desc"), json_type_string),
		      "desc: %s", json_object_to_json_string(msg));
	text = json_object_get_string(qmp_expect_member(e, "desc"));
	ck_assert_msg(!desc || !strcmp(text, desc), "desc '%s', not '%s'", text, desc);
	qmp_expect_id(msg, id_json, id_optional);
	json_object_put(msg);
}

struct json_object *qmp_expect_return(struct json_object *msg, const char *id_json)
{
	struct json_object *ret;

	ck_assert_msg(!has(msg, "error"), "error: %s", json_object_to_json_string(msg));
	ret = json_object_get(qmp_expect_member(msg, "return"));
	qmp_expect_id(msg, id_json, false);
	json_object_put(msg);
	return ret;
}

void qmp_expect_empty_return(struct json_object *msg, const char *id_json)
{
	struct json_object *ret = qmp_expect_return(msg, id_json);

	ck_assert_msg(json_object_is_type(ret, json_type_object) &&
			      json_object_object_length(ret) == 0,
		      "return is %s, not {}", json_object_to_json_string(ret));
	json_object_put(ret);
}

void qmp_expect_event(struct json_object *msg)
{
	struct json_object *ts, *sec, *usec, *data;
	struct timespec now;
	int64_t s, us;

	ck_assert_msg(json_object_is_type(qmp_expect_member(msg, "event"), json_type_string),
		      "event name: %s", json_object_to_json_string(msg));
	ts = qmp_expect_member(msg, "timestamp");
	sec = qmp_expect_member(ts, "seconds");
	usec = qmp_expect_member(ts, "microseconds");
	ck_assert_msg(json_object_is_type(sec, json_type_int) &&
			      json_object_is_type(usec, json_type_int),
		      "timestamp: %s", json_object_to_json_string(msg));
	s = json_object_get_int64(sec);
	us = json_object_get_int64(usec);
	/* -1 and -1 when the server could not read the clock. */
	if (s != -1 || us != -1) {
		clock_gettime(CLOCK_REALTIME, &now);
		ck_assert_msg(s <= now.tv_sec && s > now.tv_sec - 60, "event %lld s from now",
			      (long long)(s - now.tv_sec));
		ck_assert_msg(us >= 0 && us < 1000000, "microseconds %lld", (long long)us);
	}
	if (json_object_object_get_ex(msg, "data", &data))
		ck_assert_msg(json_object_is_type(data, json_type_object), "event data: %s",
			      json_object_to_json_string(msg));
}

/* ---- one connection ---- */

static struct conn *conn_open(const char *path)
{
	struct conn *k = calloc(1, sizeof(*k));

	ck_assert_ptr_nonnull(k);
	ck_assert_msg(qmpc_open(&k->c, path, CONNECT_S), "cannot connect to %s", path);
	return k;
}

static void conn_close(struct conn *k)
{
	qmpc_close(&k->c);
	free(k);
}

static void conn_send(struct conn *k, const char *bytes)
{
	size_t len = strlen(bytes);
	ssize_t n;

	while (len) {
		n = send(k->c.fd, bytes, len, MSG_NOSIGNAL);
		ck_assert_msg(n > 0, "send failed");
		bytes += n;
		len -= (size_t)n;
	}
}

/* A request for @name with @id_json (NULL: no id), then a newline. */
static void send_cmd(struct conn *k, const char *name, const char *id_json)
{
	char req[512];

	if (id_json)
		snprintf(req, sizeof(req), "{\"execute\": \"%s\", \"id\": %s}\n", name, id_json);
	else
		snprintf(req, sizeof(req), "{\"execute\": \"%s\"}\n", name);
	conn_send(k, req);
}

/* The next line, checked, or NULL if none comes within @timeout_ms. */
static struct json_object *conn_line(struct conn *k, int timeout_ms)
{
	char *line = qmpc_read_line(&k->c, timeout_ms);
	struct json_object *o;
	size_t len;

	if (!line)
		return NULL;
	len = strlen(line);
	ck_assert_msg(len >= 2 && line[len - 2] == '\r', "line does not end in CRLF: %s", line);
	line[len - 2] = '\0';
	o = qmp_expect_line(line);
	free(line);
	if (has(o, "event")) {
		ck_assert_msg(k->negotiated, "event during negotiation: %s",
			      json_object_to_json_string(o));
		qmp_expect_event(o);
	}
	return o;
}

/* The next line that is not an event; one must come. */
static struct json_object *conn_reply(struct conn *k)
{
	struct json_object *o;

	for (;;) {
		o = conn_line(k, REPLY_MS);
		ck_assert_msg(o != NULL, "no reply within %d ms", REPLY_MS);
		if (!has(o, "event"))
			return o;
		json_object_put(o);
	}
}

/* Nothing but events for a while. */
static void expect_quiet(struct conn *k, int ms)
{
	struct json_object *o;

	while ((o = conn_line(k, ms))) {
		ck_assert_msg(has(o, "event"), "unexpected %s", json_object_to_json_string(o));
		json_object_put(o);
	}
}

static void expect_error(struct conn *k, const char *cls, const char *id_json, bool id_optional)
{
	qmp_expect_error(conn_reply(k), cls, NULL, id_json, id_optional);
}

static void expect_ok(struct conn *k, const char *id_json)
{
	json_object_put(qmp_expect_return(conn_reply(k), id_json));
}

/* {"QMP": {"version": OBJECT, "capabilities": [STRING...]}}; the version is the caller's. */
static struct json_object *expect_greeting(struct conn *k)
{
	struct json_object *g = conn_line(k, REPLY_MS), *qmp, *caps, *ver;

	ck_assert_msg(g != NULL, "no greeting");
	qmp = qmp_expect_member(g, "QMP");
	ck_assert(json_object_is_type(qmp, json_type_object));
	ver = qmp_expect_member(qmp, "version");
	ck_assert_msg(json_object_is_type(ver, json_type_object), "version: %s",
		      json_object_to_json_string(g));
	caps = qmp_expect_member(qmp, "capabilities");
	ck_assert_msg(json_object_is_type(caps, json_type_array), "capabilities: %s",
		      json_object_to_json_string(g));
	for (size_t i = 0; i < json_object_array_length(caps); i++)
		ck_assert(
			json_object_is_type(json_object_array_get_idx(caps, i), json_type_string));
	ver = json_object_get(ver);
	json_object_put(g);
	return ver;
}

static void conn_negotiate(struct conn *k)
{
	send_cmd(k, "qmp_capabilities", NULL);
	qmp_expect_empty_return(conn_reply(k), NULL);
	k->negotiated = true;
}

/* Connected, greeted and in command mode. */
static struct conn *conn_ready(const char *path)
{
	struct conn *k = conn_open(path);

	json_object_put(expect_greeting(k));
	conn_negotiate(k);
	return k;
}

/* The greeting comes unasked, and its version is what query-version returns. */
static void check_greeting(const char *path)
{
	struct conn *k = conn_open(path);
	struct json_object *ver = expect_greeting(k), *ret;

	expect_quiet(k, QUIET_MS);
	conn_negotiate(k);
	send_cmd(k, "query-version", "1");
	ret = qmp_expect_return(conn_reply(k), "1");
	ck_assert_msg(json_object_equal(ret, ver), "greeting version %s, query-version %s",
		      json_object_to_json_string(ver), json_object_to_json_string(ret));
	json_object_put(ret);
	json_object_put(ver);
	conn_close(k);
}

/* Only qmp_capabilities runs until it has; then everything but it runs. */
static void check_negotiation(const char *path, const char *query)
{
	struct conn *k = conn_open(path);

	json_object_put(expect_greeting(k));
	send_cmd(k, query, "1");
	expect_error(k, "CommandNotFound", "1", false);
	send_cmd(k, "query-version", NULL);
	expect_error(k, "CommandNotFound", NULL, false);
	send_cmd(k, "no-such-command", "\"x\"");
	expect_error(k, "CommandNotFound", "\"x\"", false);
	send_cmd(k, "qmp_capabilities", "{\"n\": 2}");
	qmp_expect_empty_return(conn_reply(k), "{\"n\": 2}");
	k->negotiated = true;
	send_cmd(k, query, "3");
	expect_ok(k, "3");
	/* Valid exactly when first connecting (qapi/control.json); QEMU's class. */
	send_cmd(k, "qmp_capabilities", "4");
	expect_error(k, "CommandNotFound", "4", false);
	send_cmd(k, query, "5");
	expect_ok(k, "5");
	conn_close(k);
}

/* Any JSON value as an id comes back equal, on successes and errors alike. */
static void check_ids(const char *path, const char *query)
{
	static const char *const ids[] = {
		"0",
		"42",
		"-7",
		"1.5",
		"18446744073709551615",
		"\"abc\"",
		"\"\"",
		"\"caf\\u00e9 \\u2603 \\ud83d\\ude00\"",
		"\"caf\xc3\xa9\"",
		"{\"a\": [1, \"x\"], \"b\": null, \"c\": {\"d\": true}}",
		"{}",
		"[1, \"two\", {\"three\": 3}]",
		"true",
		"false",
		"null",
	};
	struct conn *k = conn_ready(path);

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		send_cmd(k, query, ids[i]);
		expect_ok(k, ids[i]);
		send_cmd(k, "no-such-command", ids[i]);
		expect_error(k, "CommandNotFound", ids[i], false);
	}
	/* No id sent, none returned. */
	send_cmd(k, query, NULL);
	expect_ok(k, NULL);
	send_cmd(k, "no-such-command", NULL);
	expect_error(k, "CommandNotFound", NULL, false);
	conn_close(k);
}

/* After bad input: GenericErrors without ids, then @query answers as usual. */
static void expect_recovery(struct conn *k, const char *query, const char *id_json)
{
	struct json_object *r;
	int errors = 1;

	expect_error(k, "GenericError", NULL, false);
	send_cmd(k, query, id_json);
	while (!has((r = conn_reply(k)), "id")) {
		ck_assert_msg(++errors <= MAX_ERRORS, "no end of errors after bad input");
		qmp_expect_error(r, "GenericError", NULL, NULL, false);
	}
	json_object_put(qmp_expect_return(r, id_json));
}

/* Malformed JSON is answered with an error and the connection goes on. */
static void check_malformed(const char *path, const char *query)
{
	static const char *const bad[] = {
		"{ \"execute\": }\n", /* the spec's own example */
		"{\"execute\" \"x\"}\n",
		"{\"execute\": \"x\",}\n",
		"{\"execute\": [1 2]}\n",
		"}\n",
		"@#!garbage\n",
		/* Unfinished, then the spec's reset: a control character, or 0xff. */
		"{\"execute\": \n\x01\n",
		"{\"execute\": \"\xff\n",
	};
	struct conn *k = conn_ready(path);
	char id[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conn_send(k, bad[i]);
		snprintf(id, sizeof(id), "%zu", i);
		expect_recovery(k, query, id);
	}
	conn_close(k);
}

/* @text with every '@' replaced by @name. */
static void fill_name(char *out, size_t size, const char *text, const char *name)
{
	size_t n = 0, len = strlen(name);

	for (; *text; text++) {
		ck_assert_uint_lt(n + len + 1, size);
		if (*text == '@') {
			memcpy(out + n, name, len);
			n += len;
		} else {
			out[n++] = *text;
		}
	}
	out[n] = '\0';
}

/*
 * A request is a JSON object with a string "execute" and an object
 * "arguments", and nothing else but "id". The spec lets an error come before
 * the id is read, so the id is optional on some.
 */
static void check_request_shape(const char *path, const char *query)
{
	static const struct {
		const char *text; /* '@': the query command */
		const char *id_json;
		bool id_optional;
	} bad[] = {
		{ "[1, 2]", NULL, false },
		{ "[{\"execute\": \"@\", \"id\": 1}]", NULL, false },
		{ "\"execute\"", NULL, false },
		{ "42", NULL, false },
		{ "null", NULL, false },
		{ "{}", NULL, false },
		{ "{\"id\": 2}", "2", true },
		{ "{\"execute\": 42, \"id\": 3}", "3", true },
		{ "{\"execute\": [\"@\"], \"id\": 4}", "4", true },
		{ "{\"execute\": null, \"id\": 5}", "5", true },
		{ "{\"execute\": \"@\", \"arguments\": [1], \"id\": 6}", "6", true },
		{ "{\"execute\": \"@\", \"arguments\": \"x\", \"id\": 7}", "7", true },
		{ "{\"execute\": \"@\", \"bogus\": true, \"id\": 8}", "8", true },
		/* An argument the command does not know, the built-in commands included. */
		{ "{\"execute\": \"@\", \"arguments\": {\"bogus\": 1}, \"id\": 9}", "9", false },
		{ "{\"execute\": \"query-version\", \"arguments\": {\"b\": 1}, \"id\": 11}", "11",
		  false },
		{ "{\"execute\": \"query-commands\", \"arguments\": {\"b\": 1}, \"id\": 12}", "12",
		  false },
		/* \u0000 is refused, not taken for the end of a name. */
		{ "{\"execute\": \"@\\u0000x\", \"id\": 13}", NULL, true },
		{ "{\"execute\": \"@\", \"id\": 14, \"id\\u0000z\": 15}", NULL, true },
		/* Half a surrogate pair is refused like a raw surrogate (found by fuzz_qmp). */
		{ "{\"execute\": \"@\", \"id\": \"caf\\ud800\"}", NULL, true },
		{ "{\"execute\": \"@\", \"id\": \"\\udc00x\"}", NULL, true },
		{ "{\"execute\": \"@\", \"id\": \"\\ud83dx\\ude00\"}", NULL, true },
	};
	struct conn *k = conn_ready(path);
	char req[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fill_name(req, sizeof(req), bad[i].text, query);
		conn_send(k, req);
		conn_send(k, "\n");
		expect_error(k, "GenericError", bad[i].id_json, bad[i].id_optional);
	}
	/* Members in any order; "arguments" may be {}. */
	fill_name(req, sizeof(req), "{\"arguments\": {}, \"id\": 10, \"execute\": \"@\"}\n", query);
	conn_send(k, req);
	expect_ok(k, "10");
	/* A whole pair is one character (U+1F600), echoed as it came. */
	fill_name(req, sizeof(req), "{\"execute\": \"@\", \"id\": \"\\ud83d\\ude00\"}\n", query);
	conn_send(k, req);
	expect_ok(k, "\"\xf0\x9f\x98\x80\"");
	conn_close(k);
}

/*
 * A request split over several writes, even inside a UTF-8 character, is one
 * request, answered once its closing brace is in.
 */
static void check_split(const char *path, const char *query)
{
	const char *const parts[] = { "{\"exec", "ute\": \"", query, "\", \"id\": \"caf\xc3",
				      "\xa9\"",	 "}" };
	struct conn *k = conn_ready(path);

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (i)
			expect_quiet(k, PAUSE_US / 1000);
		conn_send(k, parts[i]);
	}
	expect_ok(k, "\"caf\\u00e9\"");
	conn_send(k, "\r\n");
	expect_quiet(k, QUIET_MS);
	conn_close(k);
}

/* Several requests in one write are answered in issue order. */
static void check_pipelined(const char *path, const char *query)
{
	char req[1024];
	struct conn *k = conn_ready(path);

	snprintf(req, sizeof(req),
		 "{\"execute\": \"%s\", \"id\": 1}\n{\"execute\": \"no-such-command\", \"id\": 2}"
		 "{\"execute\": \"%s\", \"id\": 3} {\"execute\": \"%s\", \"id\": 4}\r\n",
		 query, query, query);
	conn_send(k, req);
	expect_ok(k, "1");
	expect_error(k, "CommandNotFound", "2", false);
	expect_ok(k, "3");
	expect_ok(k, "4");
	conn_close(k);
}

/* Two clients negotiate and interleave; each gets its own answers only. */
static void check_two_clients(const char *path, const char *query)
{
	struct conn *a = conn_open(path), *b = conn_open(path);
	char head[256];

	json_object_put(expect_greeting(a));
	json_object_put(expect_greeting(b));
	conn_negotiate(a);
	/* b is still negotiating while a is in command mode. */
	send_cmd(b, query, "\"b0\"");
	expect_error(b, "CommandNotFound", "\"b0\"", false);
	send_cmd(a, query, "\"a0\"");
	expect_ok(a, "\"a0\"");
	conn_negotiate(b);
	/* a's request is split around b's. */
	snprintf(head, sizeof(head), "{\"execute\": \"%s\", ", query);
	conn_send(a, head);
	send_cmd(b, query, "\"b1\"");
	conn_send(a, "\"id\": \"a1\"}\n");
	send_cmd(b, "no-such-command", "\"b2\"");
	send_cmd(a, query, "\"a2\"");
	send_cmd(b, query, "\"b3\"");
	expect_ok(b, "\"b1\"");
	expect_error(b, "CommandNotFound", "\"b2\"", false);
	expect_ok(b, "\"b3\"");
	expect_ok(a, "\"a1\"");
	expect_ok(a, "\"a2\"");
	expect_quiet(a, QUIET_MS);
	expect_quiet(b, QUIET_MS);
	conn_close(a);
	conn_close(b);
}

/* Clients that go away in the middle of things do not disturb another. */
static void check_disconnects(const char *path, const char *query)
{
	struct conn *a = conn_ready(path), *k;
	char req[256];

	/* Mid-request. */
	k = conn_ready(path);
	snprintf(req, sizeof(req), "{\"execute\": \"%s\", \"id\": ", query);
	conn_send(k, req);
	conn_close(k);
	/* Before reading its reply. */
	k = conn_ready(path);
	send_cmd(k, query, "1");
	conn_close(k);
	/* Before reading the greeting, and mid-request before negotiating. */
	conn_close(conn_open(path));
	k = conn_open(path);
	conn_send(k, "{\"execute\": \"qmp_capa");
	conn_close(k);
	usleep(PAUSE_US);
	send_cmd(a, query, "\"a\"");
	expect_ok(a, "\"a\"");
	expect_quiet(a, QUIET_MS);
	/* New clients are still served. */
	k = conn_ready(path);
	send_cmd(k, query, "2");
	expect_ok(k, "2");
	conn_close(k);
	conn_close(a);
}

void qmp_conformance_check(const char *socket_path, const char *query_command)
{
	check_greeting(socket_path);
	check_negotiation(socket_path, query_command);
	check_ids(socket_path, query_command);
	check_malformed(socket_path, query_command);
	check_request_shape(socket_path, query_command);
	check_split(socket_path, query_command);
	check_pipelined(socket_path, query_command);
	check_two_clients(socket_path, query_command);
	check_disconnects(socket_path, query_command);
}

void qmp_conformance_check_event(const char *socket_path, const char *trigger, const char *event)
{
	struct conn *waiting = conn_open(socket_path), *k = conn_ready(socket_path);
	struct json_object *o, *reply = NULL;
	bool seen = false;

	json_object_put(expect_greeting(waiting));
	conn_send(k, trigger);
	conn_send(k, "\n");
	/* The event may come before the reply or after it. */
	while (!reply || !seen) {
		o = conn_line(k, REPLY_MS);
		ck_assert_msg(o != NULL, "%s: no %s within %d ms", trigger, reply ? event : "reply",
			      REPLY_MS);
		if (!has(o, "event")) {
			ck_assert_msg(!reply, "a second reply: %s", json_object_to_json_string(o));
			ck_assert_msg(has(o, "return"), "%s: %s", trigger,
				      json_object_to_json_string(o));
			reply = o;
			continue;
		}
		seen |= !strcmp(json_object_get_string(qmp_expect_member(o, "event")), event);
		json_object_put(o);
	}
	json_object_put(reply);
	/* Not delivered in negotiation mode, nor kept for later. */
	expect_quiet(waiting, QUIET_MS);
	conn_negotiate(waiting);
	while ((o = conn_line(waiting, QUIET_MS))) {
		ck_assert_msg(strcmp(json_object_get_string(qmp_expect_member(o, "event")), event),
			      "%s kept for after negotiation", event);
		json_object_put(o);
	}
	conn_close(waiting);
	conn_close(k);
}
