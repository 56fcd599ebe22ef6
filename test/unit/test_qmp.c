// SPDX-License-Identifier: MIT
/*
 * Unit tests: the control socket, driven over real Unix sockets in a temporary
 * directory. The test thread is both the clients and the event loop: it runs
 * eventloop__run_once between client actions, so every step is deterministic.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accord/eventloop.h"
#include "accord/log.h"
#include "accord/qmp.h"
#include "accord/qmp_args.h"
#include "accord/tmpfile.h"

#include "../kvm/qmp_conformance.h"

#define CL_BUF (2 * 1024 * 1024)

struct cl {
	int fd;
	size_t len;
	char *buf;
};

struct fixture {
	char dir[64];
	char path[96];
	struct event_loop loop;
	struct qmp_server srv;
	struct acc_log log;
	int calls; /* the handlers' context */
	bool up;
};

static struct fixture fx;

/* ---- the VMM's side: a command table ---- */

static int cmd_echo(void *ctx, struct json_object *args, struct json_object **ret,
		    struct qmp_error *err)
{
	(*(int *)ctx)++;
	*ret = json_object_get(args);
	return 0;
}

static int cmd_nothing(void *ctx, struct json_object *args, struct json_object **ret,
		       struct qmp_error *err)
{
	(*(int *)ctx)++;
	return 0;
}

static int cmd_fail_device(void *ctx, struct json_object *args, struct json_object **ret,
			   struct qmp_error *err)
{
	return qmp__errorf(err, QMP_ERROR_DEVICE_NOT_FOUND, ENODEV, "Device '%s' not found", "vda");
}

static int cmd_fail_plain(void *ctx, struct json_object *args, struct json_object **ret,
			  struct qmp_error *err)
{
	return -EIO;
}

static int cmd_fail_acc(void *ctx, struct json_object *args, struct json_object **ret,
			struct qmp_error *err)
{
	return acc_errf(&err->err, EINVAL, "bad %s", "thing");
}

static int cmd_big(void *ctx, struct json_object *args, struct json_object **ret,
		   struct qmp_error *err)
{
	static char big[300 * 1024];

	memset(big, 'x', sizeof(big));
	*ret = json_object_new_string_len(big, sizeof(big));
	return 0;
}

/* Its "n" argument as qmp_args__u64 reads it. */
static int cmd_u64(void *ctx, struct json_object *args, struct json_object **ret,
		   struct qmp_error *err)
{
	static const struct qmp_arg spec[] = { { "n", json_type_int, true } };
	uint64_t n = 0;
	bool present;

	if (qmp_args__check(args, spec, 1, err) || qmp_args__u64(args, "n", &n, &present, err))
		return -EINVAL;
	*ret = json_object_new_uint64(n);
	return 0;
}

/* Doubles that JSON cannot hold, made by the handler. */
static int cmd_nonfinite(void *ctx, struct json_object *args, struct json_object **ret,
			 struct qmp_error *err)
{
	*ret = json_object_new_array();
	json_object_array_add(*ret, json_object_new_double(INFINITY));
	json_object_array_add(*ret, json_object_new_double(-INFINITY));
	json_object_array_add(*ret, json_object_new_double(NAN));
	json_object_array_add(*ret, json_object_new_double(0.5));
	return 0;
}

static const struct qmp_command test_cmds[] = {
	{ "echo", cmd_echo },
	{ "nothing", cmd_nothing },
	{ "fail-device", cmd_fail_device },
	{ "fail-plain", cmd_fail_plain },
	{ "fail-acc", cmd_fail_acc },
	{ "big", cmd_big },
	{ "u64", cmd_u64 },
	{ "nonfinite", cmd_nonfinite },
};

#define NR_TEST_CMDS (sizeof(test_cmds) / sizeof(test_cmds[0]))

/* ---- fixture ---- */

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	ck_assert_int_eq(acc_mkdtemp(fx.dir, sizeof(fx.dir), "/tmp", "qmp-test"), 0);
	snprintf(fx.path, sizeof(fx.path), "%s/qmp.sock", fx.dir);
	log__init(&fx.log, "qmp-test", LOG_ERROR);
	ck_assert_int_eq(eventloop__init(&fx.loop), 0);
}

static void teardown(void)
{
	char p[160];

	if (fx.up)
		qmp__exit(&fx.srv);
	fx.up = false;
	eventloop__exit(&fx.loop);
	unlink(fx.path);
	snprintf(p, sizeof(p), "%s/other", fx.dir);
	unlink(p);
	rmdir(fx.dir);
}

static void start(void)
{
	struct acc_err err = { "" };
	int ret;

	ret = qmp__init(&fx.srv, fx.path, &fx.loop, test_cmds, NR_TEST_CMDS, &fx.calls, &fx.log,
			&err);
	ck_assert_msg(ret == 0, "qmp__init: %d %s", ret, err.msg);
	fx.up = true;
}

static void pump(int n)
{
	for (int i = 0; i < n; i++)
		eventloop__run_once(&fx.loop, 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- clients ---- */

static struct cl *cl_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct cl *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->buf = malloc(CL_BUF);
	ck_assert_ptr_nonnull(c->buf);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx.path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	pump(2);
	return c;
}

static void cl_close(struct cl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

/* Send everything, running the loop whenever the socket is full. */
static void cl_send_len(struct cl *c, const void *data, size_t len)
{
	const char *p = data;
	double end = now() + 10;
	ssize_t n;

	while (len) {
		n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			ck_assert_msg(errno == EAGAIN, "send: %s", strerror(errno));
			ck_assert_msg(now() < end, "send timed out");
			eventloop__run_once(&fx.loop, 1);
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	pump(2);
}

static void cl_send(struct cl *c, const char *s)
{
	cl_send_len(c, s, strlen(s));
}

/* Receive what is there; false at EOF. */
static bool cl_fill(struct cl *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, CL_BUF - c->len, MSG_DONTWAIT);

	if (n == 0)
		return false;
	if (n > 0)
		c->len += (size_t)n;
	else
		ck_assert_msg(errno == EAGAIN || errno == ECONNRESET, "recv: %s", strerror(errno));
	return !(n < 0 && errno == ECONNRESET);
}

/* The next line without its "\r\n" (malloc'd), or NULL at EOF. */
static char *cl_line(struct cl *c)
{
	double end = now() + 5;
	char *nl, *line;
	size_t n;

	for (;;) {
		nl = memchr(c->buf, '\n', c->len);
		if (nl)
			break;
		eventloop__run_once(&fx.loop, 1);
		if (!cl_fill(c) && !memchr(c->buf, '\n', c->len))
			return NULL;
		ck_assert_msg(now() < end, "no reply within 5 s (have %zu bytes)", c->len);
	}
	n = (size_t)(nl - c->buf);
	ck_assert_msg(n > 0 && c->buf[n - 1] == '\r', "line not terminated by CRLF");
	line = malloc(n);
	memcpy(line, c->buf, n - 1);
	line[n - 1] = '\0';
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	return line;
}

/* Nothing more arrives while the loop runs a while. */
static void cl_expect_silence(struct cl *c)
{
	for (int i = 0; i < 20; i++) {
		eventloop__run_once(&fx.loop, 1);
		cl_fill(c);
	}
	ck_assert_msg(c->len == 0, "unexpected output: %.*s", (int)c->len, c->buf);
}

/* The connection ends (after any pending lines the caller did not want). */
static void cl_expect_eof(struct cl *c)
{
	double end = now() + 5;

	for (;;) {
		eventloop__run_once(&fx.loop, 1);
		if (!cl_fill(c))
			return;
		ck_assert_msg(now() < end, "connection still open");
	}
}

static struct json_object *cl_reply(struct cl *c)
{
	struct json_object *o;
	char *line = cl_line(c);

	ck_assert_ptr_nonnull(line);
	o = qmp_expect_line(line);
	free(line);
	return o;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	return qmp_expect_member(o, key);
}

static bool has_member(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* The next reply is an error of @cls with @desc (NULL: any) and @id_json (NULL: none). */
static void expect_error(struct cl *c, const char *cls, const char *desc, const char *id_json)
{
	qmp_expect_error(cl_reply(c), cls, desc, id_json, false);
}

/* The next reply is a success; its "return" value is handed to the caller. */
static struct json_object *expect_return(struct cl *c, const char *id_json)
{
	return qmp_expect_return(cl_reply(c), id_json);
}

static void expect_empty_return(struct cl *c, const char *id_json)
{
	qmp_expect_empty_return(cl_reply(c), id_json);
}

static void expect_greeting(struct cl *c)
{
	struct json_object *g = cl_reply(c), *qmp, *ver;

	qmp = member(g, "QMP");
	ver = member(qmp, "version");
	ck_assert(json_object_is_type(member(ver, "accord"), json_type_object));
	ck_assert(json_object_is_type(member(qmp, "capabilities"), json_type_array));
	json_object_put(g);
}

static struct cl *cl_negotiated(void)
{
	struct cl *c = cl_connect();

	expect_greeting(c);
	cl_send(c, "{\"execute\": \"qmp_capabilities\"}\n");
	expect_empty_return(c, NULL);
	return c;
}

/* ---- the protocol ---- */

START_TEST(test_greeting)
{
	unsigned int major = 99, minor = 99, micro = 99;
	struct json_object *g, *qmp, *ver, *acc;
	struct cl *c;
	char *line;

	start();
	c = cl_connect();
	line = cl_line(c);
	ck_assert_ptr_nonnull(line);
	g = json_tokener_parse(line);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(json_object_object_length(g), 1);
	qmp = member(g, "QMP");
	ck_assert_int_eq(json_object_object_length(qmp), 2);
	ck_assert_int_eq(json_object_array_length(member(qmp, "capabilities")), 0);
	ver = member(qmp, "version");
	ck_assert_str_eq(json_object_get_string(member(ver, "package")), "");
	acc = member(ver, "accord");
	sscanf(ACCORD_VERSION, "%u.%u.%u", &major, &minor, &micro);
	ck_assert_int_eq(json_object_get_int(member(acc, "major")), major);
	ck_assert_int_eq(json_object_get_int(member(acc, "minor")), minor);
	ck_assert_int_eq(json_object_get_int(member(acc, "micro")), micro);
	/* Nothing else until the client speaks. */
	cl_expect_silence(c);
	json_object_put(g);
	free(line);
	cl_close(c);
}
END_TEST

START_TEST(test_negotiation_is_enforced)
{
	struct json_object *ret;
	struct cl *c;

	start();
	c = cl_connect();
	expect_greeting(c);
	cl_send(c, "{\"execute\": \"query-version\", \"id\": 1}");
	expect_error(c, "CommandNotFound",
		     "Expecting capabilities negotiation with 'qmp_capabilities'", "1");
	cl_send(c, "{\"execute\": \"echo\"}");
	expect_error(c, "CommandNotFound",
		     "Expecting capabilities negotiation with 'qmp_capabilities'", NULL);
	cl_send(c, "{\"execute\": \"no-such-command\", \"id\": \"x\"}");
	expect_error(c, "CommandNotFound",
		     "Expecting capabilities negotiation with 'qmp_capabilities'", "\"x\"");
	ck_assert_int_eq(fx.calls, 0);
	/* A capability we do not offer fails, and leaves negotiation open. */
	cl_send(c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
	expect_error(c, "GenericError", "Capability oob not available", NULL);
	cl_send(c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"bogus\": 1}}");
	expect_error(c, "GenericError", "Parameter 'bogus' is unexpected", NULL);
	cl_send(c, "{\"execute\": \"query-version\"}");
	expect_error(c, "CommandNotFound", NULL, NULL);

	cl_send(c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": []}, "
		   "\"id\": 5}");
	expect_empty_return(c, "5");
	cl_send(c, "{\"execute\": \"query-version\", \"id\": 2}");
	ret = expect_return(c, "2");
	ck_assert(json_object_is_type(member(ret, "accord"), json_type_object));
	json_object_put(ret);
	cl_close(c);
}
END_TEST

START_TEST(test_capabilities_twice)
{
	struct cl *c;

	start();
	c = cl_negotiated();
	/* QEMU: CommandNotFound, and the session stays in command mode. */
	cl_send(c, "{\"execute\": \"qmp_capabilities\", \"id\": 3}");
	expect_error(c, "CommandNotFound",
		     "Capabilities negotiation is already complete, command ignored", "3");
	cl_send(c, "{\"execute\": \"nothing\"}");
	expect_empty_return(c, NULL);
	ck_assert_int_eq(fx.calls, 1);
	cl_close(c);
}
END_TEST

START_TEST(test_id_is_echoed)
{
	static const char *const ids[] = {
		"42",
		"-7",
		"1.5",
		"\"abc\"",
		"\"\"",
		"null",
		"true",
		"[1, \"two\", {}]",
		"{\"a\": [1, \"x\"], \"b\": null, \"c\": {\"d\": \"\\u00e9\\n\"}}",
		"18446744073709551615",
	};
	char req[256];
	struct cl *c;

	start();
	c = cl_negotiated();
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(req, sizeof(req), "{\"execute\": \"nothing\", \"id\": %s}", ids[i]);
		cl_send(c, req);
		expect_empty_return(c, ids[i]);
		/* Errors echo it too, whatever member comes first. */
		snprintf(req, sizeof(req), "{\"id\": %s, \"execute\": \"no-such\"}", ids[i]);
		cl_send(c, req);
		expect_error(c, "CommandNotFound", "The command no-such has not been found",
			     ids[i]);
		snprintf(req, sizeof(req), "{\"execute\": \"nothing\", \"bad\": 1, \"id\": %s}",
			 ids[i]);
		cl_send(c, req);
		expect_error(c, "GenericError", "QMP input member 'bad' is unexpected", ids[i]);
	}
	cl_close(c);
}
END_TEST

/* A number past a double's range is still the id the client sent (fuzz_qmp found null). */
START_TEST(test_id_past_double_range_is_echoed)
{
	struct cl *c;
	char *line;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"execute\": \"nothing\", \"id\": 1e400}");
	line = cl_line(c);
	ck_assert_str_eq(line, "{\"return\": {}, \"id\": 1e400}");
	free(line);
	cl_send(c, "{\"execute\": \"no-such\", \"id\": [-1E999, 2.5e-400]}");
	line = cl_line(c);
	ck_assert_ptr_nonnull(strstr(line, "\"id\": [-1E999, 2.5e-400]}"));
	free(line);
	/* Those a handler makes have no JSON form: null. */
	cl_send(c, "{\"execute\": \"nonfinite\"}");
	line = cl_line(c);
	ck_assert_str_eq(line, "{\"return\": [null, null, null, 0.5]}");
	free(line);
	cl_close(c);
}
END_TEST

/*
 * UTF-8 that json-c's own check lets through is refused like any invalid
 * UTF-8, before a handler sees it (fuzz_qmp found an id that came back
 * changed).
 */
START_TEST(test_invalid_utf8_forms_are_refused)
{
	static const char *const bad[] = {
		"\xc0\xaf",	    /* overlong "/" */
		"\xe0\x80\xaf",	    /* overlong, 3 bytes */
		"\xf0\x8f\x98\x80", /* overlong, 4 bytes */
		"\xed\xa0\x80",	    /* a surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\xf5\x80\x80\x80", /* a lead byte UTF-8 never uses */
	};
	struct json_object *ret;
	char req[128];
	struct cl *c;

	start();
	c = cl_negotiated();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(req, sizeof(req), "{\"execute\": \"echo\", \"id\": \"a%sb\"}", bad[i]);
		cl_send(c, req);
		expect_error(c, "GenericError",
			     "JSON parse error, invalid UTF-8 sequence in string", NULL);
		snprintf(req, sizeof(req), "{\"execute\": \"echo\", \"arguments\": {\"k%s\": 1}}",
			 bad[i]);
		cl_send(c, req);
		expect_error(c, "GenericError",
			     "JSON parse error, invalid UTF-8 sequence in string", NULL);
	}
	ck_assert_int_eq(fx.calls, 0);
	/* The longest and highest valid forms pass. */
	cl_send(c,
		"{\"execute\": \"echo\", \"arguments\": {\"s\": \"\xf4\x8f\xbf\xbf\xef\xbf\xbd\"}, "
		"\"id\": \"\xf0\x9f\x98\x80\"}");
	ret = expect_return(c, "\"\\ud83d\\ude00\"");
	ck_assert_str_eq(json_object_get_string(member(ret, "s")), "\xf4\x8f\xbf\xbf\xef\xbf\xbd");
	json_object_put(ret);
	cl_close(c);
}
END_TEST

START_TEST(test_unknown_command)
{
	struct cl *c;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"execute\": \"query-status\", \"id\": 1}");
	expect_error(c, "CommandNotFound", "The command query-status has not been found", "1");
	/* Non-ASCII names come back \u-escaped, and decode to the same text. */
	cl_send(c, "{\"execute\": \"caf\xc3\xa9\xf0\x9f\x98\x80\"}");
	expect_error(c, "CommandNotFound",
		     "The command caf\xc3\xa9\xf0\x9f\x98\x80 has not been found", NULL);
	cl_close(c);
}
END_TEST

START_TEST(test_malformed_json)
{
	char deep[256];
	struct cl *c;
	size_t len;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"execute\": }");
	expect_error(c, "GenericError", "JSON parse error, expecting value", NULL);
	cl_send(c, "{\"execute\" \"nothing\"}");
	expect_error(c, "GenericError", "JSON parse error, missing : in object pair", NULL);
	cl_send(c, "{\"execute\": \"nothing\" \"id\": 1}");
	expect_error(c, "GenericError", "JSON parse error, expected separator in dict", NULL);
	cl_send(c, "{execute: 1}");
	expect_error(c, "GenericError", "JSON parse error, key is not a string in object", NULL);
	cl_send(c, "{\"execute\": \"nothing\", \"id\": [1 2]}");
	expect_error(c, "GenericError", "JSON parse error, expected separator in list", NULL);
	cl_send(c, "{\"execute\": \"nothing\",}");
	expect_error(c, "GenericError", NULL, NULL);
	cl_send(c, "{\"execute\": \"a\\qb\"}");
	expect_error(c, "GenericError", "JSON parse error, invalid escape sequence in string",
		     NULL);
	cl_send(c, "}");
	expect_error(c, "GenericError", "JSON parse error, expecting value", NULL);
	cl_send(c, "{\"execute\": \"nothing\", \"id\": tru}");
	expect_error(c, "GenericError", "JSON parse error, invalid keyword", NULL);
	cl_send(c, "hello ");
	expect_error(c, "GenericError", "JSON parse error, invalid keyword 'hello'", NULL);
	/* Invalid UTF-8 in a string. */
	cl_send(c, "{\"execute\": \"noth\xc3\x28ing\"}");
	expect_error(c, "GenericError", "JSON parse error, invalid UTF-8 sequence in string", NULL);
	/* Too deep. */
	len = (size_t)sprintf(deep, "{\"execute\": \"echo\", \"arguments\": {\"a\": ");
	memset(deep + len, '[', 70);
	memset(deep + len + 70, ']', 70);
	strcpy(deep + len + 140, "}}");
	cl_send(c, deep);
	expect_error(c, "GenericError", "JSON nesting depth limit exceeded", NULL);
	/* The connection still works, and nothing ran. */
	ck_assert_int_eq(fx.calls, 0);
	cl_send(c, "{\"execute\": \"nothing\", \"id\": 9}");
	expect_empty_return(c, "9");
	cl_close(c);
}
END_TEST

START_TEST(test_input_must_be_an_object)
{
	struct cl *c;

	start();
	c = cl_negotiated();
	cl_send(c, "[1, 2]");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	cl_send(c, "[{\"execute\": \"nothing\", \"id\": 1}]");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	cl_send(c, "42\n");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	cl_send(c, "-1.5e3 ");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	cl_send(c, "\"a string\"");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	cl_send(c, "null\r\n");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	/* A number directly followed by an object: two values. */
	cl_send(c, "7{\"execute\": \"nothing\", \"id\": 2}");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	expect_empty_return(c, "2");
	ck_assert_int_eq(fx.calls, 1);
	cl_close(c);
}
END_TEST

START_TEST(test_request_members)
{
	struct cl *c;

	start();
	c = cl_negotiated();
	cl_send(c, "{}");
	expect_error(c, "GenericError", "QMP input lacks member 'execute'", NULL);
	cl_send(c, "{\"arguments\": {}, \"id\": 4}");
	expect_error(c, "GenericError", "QMP input lacks member 'execute'", "4");
	cl_send(c, "{\"execute\": 1, \"id\": 7}");
	expect_error(c, "GenericError", "QMP input member 'execute' must be a string", "7");
	cl_send(c, "{\"execute\": null}");
	expect_error(c, "GenericError", "QMP input member 'execute' must be a string", NULL);
	cl_send(c, "{\"execute\": [\"nothing\"]}");
	expect_error(c, "GenericError", "QMP input member 'execute' must be a string", NULL);
	cl_send(c, "{\"execute\": \"nothing\", \"arguments\": [1]}");
	expect_error(c, "GenericError", "QMP input member 'arguments' must be an object", NULL);
	cl_send(c, "{\"execute\": \"nothing\", \"arguments\": null, \"id\": 8}");
	expect_error(c, "GenericError", "QMP input member 'arguments' must be an object", "8");
	cl_send(c, "{\"execute\": \"nothing\", \"foo\": 1}");
	expect_error(c, "GenericError", "QMP input member 'foo' is unexpected", NULL);
	/* We offer no out-of-band capability, so exec-oob is just unexpected. */
	cl_send(c, "{\"exec-oob\": \"nothing\"}");
	expect_error(c, "GenericError", "QMP input member 'exec-oob' is unexpected", NULL);
	ck_assert_int_eq(fx.calls, 0);
	cl_close(c);
}
END_TEST

START_TEST(test_two_objects_in_one_write)
{
	char req[64];
	struct cl *c;
	char *batch;
	size_t len = 0;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"execute\": \"nothing\", \"id\": 1}{\"execute\": \"nothing\", \"id\": 2}");
	expect_empty_return(c, "1");
	expect_empty_return(c, "2");
	/* A pipeline of 200, answered in order. */
	batch = malloc(200 * sizeof(req));
	for (int i = 0; i < 200; i++) {
		snprintf(req, sizeof(req), "{\"execute\":\"nothing\",\"id\":%d}\n", i);
		memcpy(batch + len, req, strlen(req));
		len += strlen(req);
	}
	cl_send_len(c, batch, len);
	for (int i = 0; i < 200; i++) {
		snprintf(req, sizeof(req), "%d", i);
		expect_empty_return(c, req);
	}
	ck_assert_int_eq(fx.calls, 202);
	free(batch);
	cl_close(c);
}
END_TEST

START_TEST(test_one_object_byte_by_byte)
{
	const char *req = "  {\"execute\": \"echo\", \"arguments\": {\"s\": \"a}b{c\\\"]\"}, "
			  "\"id\": {\"k\": [1, 2]}}\r\n";
	size_t last = (size_t)(strrchr(req, '}') - req);
	struct json_object *ret;
	struct cl *c;

	start();
	c = cl_negotiated();

	for (size_t i = 0; req[i]; i++) {
		cl_send_len(c, req + i, 1);
		ck_assert_int_eq(fx.calls, i >= last);
	}
	ret = expect_return(c, "{\"k\": [1, 2]}");
	ck_assert_str_eq(json_object_get_string(member(ret, "s")), "a}b{c\"]");
	json_object_put(ret);
	/* A top-level number split too: it ends only at the next byte. */
	cl_send(c, "12");
	cl_expect_silence(c);
	cl_send(c, "3 ");
	expect_error(c, "GenericError", "QMP input must be a JSON object", NULL);
	cl_close(c);
}
END_TEST

START_TEST(test_over_long_request_then_a_good_one)
{
	size_t pad = QMP_MAX_REQUEST + 10000, len;
	struct cl *c;
	char *req;

	start();
	c = cl_negotiated();
	req = malloc(pad + 256);
	len = (size_t)sprintf(req, "{\"execute\": \"echo\", \"arguments\": {\"pad\": \"");
	/* Brackets and escaped quotes in the string must not end it early. */
	for (size_t i = 0; i < pad; i++)
		req[len++] = "a{[}]\\\"b"[i % 8];
	len += (size_t)sprintf(req + len, "\"}, \"id\": 1}{\"execute\": \"nothing\", \"id\": 2}");
	cl_send_len(c, req, len);
	expect_error(c, "GenericError", "JSON token size limit exceeded", NULL);
	expect_empty_return(c, "2");
	ck_assert_int_eq(fx.calls, 1);
	/* Still connected and in command mode. */
	cl_send(c, "{\"execute\": \"nothing\", \"id\": 3}");
	expect_empty_return(c, "3");
	/* Just under the limit is fine. */
	len = (size_t)sprintf(req, "{\"execute\": \"echo\", \"arguments\": {\"p\": \"");
	while (len < QMP_MAX_REQUEST - 10)
		req[len++] = 'z';
	len += (size_t)sprintf(req + len, "\"}}");
	ck_assert_uint_le(len, QMP_MAX_REQUEST);
	cl_send_len(c, req, len);
	json_object_put(expect_return(c, NULL));
	free(req);
	cl_close(c);
}
END_TEST

START_TEST(test_seventeenth_client_is_refused)
{
	struct cl *cls[QMP_MAX_CLIENTS], *extra;
	struct json_object *r;

	start();
	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		cls[i] = cl_connect();
		expect_greeting(cls[i]);
	}
	ck_assert_uint_eq(fx.srv.nr_clients, QMP_MAX_CLIENTS);
	extra = cl_connect();
	r = cl_reply(extra);
	ck_assert_str_eq(json_object_get_string(member(member(r, "error"), "class")),
			 "GenericError");
	ck_assert_ptr_nonnull(
		strstr(json_object_get_string(member(member(r, "error"), "desc")), "too many"));
	json_object_put(r);
	cl_expect_eof(extra);
	cl_close(extra);
	ck_assert_uint_eq(fx.srv.nr_clients, QMP_MAX_CLIENTS);
	/* The others still work; a freed slot takes a new client. */
	cl_send(cls[15], "{\"execute\": \"qmp_capabilities\"}");
	expect_empty_return(cls[15], NULL);
	cl_close(cls[0]);
	pump(4);
	ck_assert_uint_eq(fx.srv.nr_clients, QMP_MAX_CLIENTS - 1);
	cls[0] = cl_connect();
	expect_greeting(cls[0]);
	ck_assert_uint_eq(fx.srv.nr_clients, QMP_MAX_CLIENTS);
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		cl_close(cls[i]);
	pump(4);
	ck_assert_uint_eq(fx.srv.nr_clients, 0);
}
END_TEST

START_TEST(test_client_gone_mid_request)
{
	struct cl *a, *b;

	start();
	a = cl_negotiated();
	b = cl_negotiated();
	cl_send(a, "{\"execute\": \"echo\", \"argum");
	cl_close(a);
	pump(4);
	ck_assert_uint_eq(fx.srv.nr_clients, 1);
	ck_assert_int_eq(fx.calls, 0);
	cl_send(b, "{\"execute\": \"nothing\", \"id\": 1}");
	expect_empty_return(b, "1");
	cl_close(b);
}
END_TEST

START_TEST(test_half_closed_client_gets_its_replies)
{
	struct cl *c;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"execute\": \"nothing\", \"id\": 1}{\"execute\": \"echo\", \"id\": 2}");
	shutdown(c->fd, SHUT_WR);
	expect_empty_return(c, "1");
	expect_empty_return(c, "2");
	cl_expect_eof(c);
	ck_assert_uint_eq(fx.srv.nr_clients, 0);
	cl_close(c);
}
END_TEST

START_TEST(test_garbage_on_one_client_does_not_disturb_another)
{
	struct json_object *ret;
	struct cl *bad, *good;

	start();
	bad = cl_negotiated();
	good = cl_negotiated();
	cl_send(bad, "\xff");
	cl_send(good, "{\"execute\": \"nothing\", \"id\": 1}");
	cl_send(bad, "{\"execute\": \"nothing\", \"id\": \x01");
	cl_send(good, "{\"execute\": \"echo\", \"arguments\": {\"x\": 1}, \"id\": 2}");
	cl_send(bad, "\xfe\xfe garbage ]]]} {\"execute\": \"no");
	expect_empty_return(good, "1");
	ret = expect_return(good, "2");
	ck_assert_int_eq(json_object_get_int(member(ret, "x")), 1);
	json_object_put(ret);

	expect_error(bad, "GenericError", "JSON parse error, stray '\\xff'", NULL);
	expect_error(bad, "GenericError", "JSON parse error, stray '\\x01'", NULL);
	expect_error(bad, "GenericError", "JSON parse error, stray '\\xfe'", NULL);
	expect_error(bad, "GenericError", "JSON parse error, stray '\\xfe'", NULL);
	expect_error(bad, "GenericError", "JSON parse error, invalid keyword 'garbage'", NULL);
	for (int i = 0; i < 4; i++)
		expect_error(bad, "GenericError", "JSON parse error, expecting value", NULL);
	/* The partial request at the end completes normally. */
	cl_send(bad, "thing\", \"id\": 3}");
	expect_empty_return(bad, "3");
	/* A control character is the spec's way to reset a confused parser. */
	cl_send(bad,
		"{\"execute\": \"nothing\", \"id\": [[\x1b{\"execute\": \"nothing\", \"id\": 4}");
	expect_error(bad, "GenericError", "JSON parse error, stray '\\x1b'", NULL);
	expect_empty_return(bad, "4");
	cl_send(good, "{\"execute\": \"nothing\", \"id\": 5}");
	expect_empty_return(good, "5");
	ck_assert_uint_eq(fx.srv.nr_clients, 2);
	cl_close(bad);
	cl_close(good);
}
END_TEST

/*
 * A careless operator opened the socket to everyone: another user's process
 * still gets no greeting, only a closed connection; root's clients go on.
 */
START_TEST(test_other_users_are_refused)
{
	double end;
	pid_t pid;
	int ws = 0;

	if (geteuid() != 0)
		return; /* only root can become another user for the test */
	start();
	ck_assert_int_eq(chmod(fx.dir, 0755), 0);
	ck_assert_int_eq(chmod(fx.path, 0666), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		char buf[256];
		ssize_t n;
		int fd;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx.path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			_exit(2);
		alarm(10);
		n = read(fd, buf, sizeof(buf));
		_exit(n == 0 ? 0 : 1); /* 1: it was greeted */
	}
	end = now() + 10;
	while (waitpid(pid, &ws, WNOHANG) == 0) {
		ck_assert_msg(now() < end, "the other user's client is still waiting");
		eventloop__run_once(&fx.loop, 10);
	}
	ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child status %#x", ws);
	ck_assert_uint_eq(fx.srv.nr_clients, 0);
	cl_close(cl_negotiated());
}
END_TEST

/* An event carrying a 64 KiB string. */
static struct json_object *big_event_data(void)
{
	static char text[64 * 1024];
	struct json_object *data = json_object_new_object();

	memset(text, 'e', sizeof(text));
	json_object_object_add(data, "text", json_object_new_string_len(text, sizeof(text)));
	return data;
}

/* Events do not wait for a reader: one that never reads is dropped at 1 MiB. */
START_TEST(test_slow_reader_is_dropped)
{
	struct cl *slow, *good;
	int one = 1;

	start();
	slow = cl_negotiated();
	good = cl_negotiated();
	setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	for (int i = 0; i < 64 && fx.srv.nr_clients == 2; i++) {
		qmp__event(&fx.srv, "BIG", big_event_data());
		pump(4);
		free(cl_line(good)); /* the good client reads each one */
	}
	pump(8);
	ck_assert_uint_eq(fx.srv.nr_clients, 1);
	cl_send(good, "{\"execute\": \"nothing\", \"id\": 1}");
	expect_empty_return(good, "1");
	cl_close(slow);
	cl_close(good);
}
END_TEST

/*
 * Requests do wait: a client that pipelines 16 requests of 300 KiB replies
 * without reading is paused, not dropped; others are served meanwhile, and
 * it gets every reply, in order, once it reads.
 */
START_TEST(test_pipelining_client_waits_for_its_replies)
{
	struct cl *slow, *good;
	char reqs[16 * 64];
	size_t len = 0;
	int one = 1;

	start();
	slow = cl_negotiated();
	good = cl_negotiated();
	setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	for (int i = 0; i < 16; i++)
		len += (size_t)snprintf(reqs + len, sizeof(reqs) - len,
					"{\"execute\": \"big\", \"id\": %d}\n", i);
	cl_send_len(slow, reqs, len);
	pump(16);
	ck_assert_uint_eq(fx.srv.nr_clients, 2);
	cl_send(good, "{\"execute\": \"nothing\", \"id\": 1}");
	expect_empty_return(good, "1");
	for (int i = 0; i < 16; i++) {
		char id[16];
		struct json_object *ret;

		snprintf(id, sizeof(id), "%d", i);
		ret = expect_return(slow, id);
		ck_assert_uint_eq(json_object_get_string_len(ret), 300 * 1024);
		json_object_put(ret);
	}
	ck_assert_uint_eq(fx.srv.nr_clients, 2);
	cl_close(slow);
	cl_close(good);
}
END_TEST

/* ---- commands ---- */

START_TEST(test_handler_errors)
{
	struct cl *c;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"execute\": \"fail-device\", \"id\": \"d\"}");
	expect_error(c, "DeviceNotFound", "Device 'vda' not found", "\"d\"");
	cl_send(c, "{\"execute\": \"fail-plain\"}");
	expect_error(c, "GenericError", strerror(EIO), NULL);
	cl_send(c, "{\"execute\": \"fail-acc\", \"arguments\": {\"a\": 1}}");
	expect_error(c, "GenericError", "bad thing", NULL);
	cl_close(c);
}
END_TEST

START_TEST(test_handler_arguments_and_return)
{
	struct json_object *ret, *want;
	struct cl *c;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"arguments\": {\"n\": 1, \"s\": \"\\u00e9\", \"l\": [true, null, 2.25], "
		   "\"o\": {}}, \"execute\": \"echo\"}");
	ret = expect_return(c, NULL);
	want = json_tokener_parse(
		"{\"n\": 1, \"s\": \"\xc3\xa9\", \"l\": [true, null, 2.25], \"o\": {}}");
	ck_assert_msg(json_object_equal(ret, want), "echo gave %s",
		      json_object_to_json_string(ret));
	json_object_put(want);
	json_object_put(ret);
	/* No "arguments": the handler gets {}, and keeps getting a fresh {}. */
	cl_send(c, "{\"execute\": \"echo\"}");
	expect_empty_return(c, NULL);
	cl_send(c, "{\"execute\": \"echo\"}");
	expect_empty_return(c, NULL);
	ck_assert_int_eq(fx.calls, 3);
	cl_close(c);
}
END_TEST

START_TEST(test_query_commands_and_version)
{
	struct json_object *ret, *e;
	bool seen[NR_TEST_CMDS + 3] = { false };
	const char *builtins[] = { "qmp_capabilities", "query-commands", "query-version" };
	const char *name;
	struct cl *c;
	size_t n;

	start();
	c = cl_negotiated();
	cl_send(c, "{\"execute\": \"query-commands\", \"id\": 1}");
	ret = expect_return(c, "1");
	ck_assert(json_object_is_type(ret, json_type_array));
	n = json_object_array_length(ret);
	ck_assert_uint_eq(n, NR_TEST_CMDS + 3);
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(ret, i);
		ck_assert_int_eq(json_object_object_length(e), 1);
		name = json_object_get_string(member(e, "name"));
		for (size_t j = 0; j < NR_TEST_CMDS + 3; j++) {
			if (!strcmp(name, j < 3 ? builtins[j] : test_cmds[j - 3].name))
				seen[j] = true;
		}
	}
	for (size_t j = 0; j < NR_TEST_CMDS + 3; j++)
		ck_assert_msg(seen[j], "command %zu not listed", j);
	json_object_put(ret);

	cl_send(c, "{\"execute\": \"query-version\"}");
	ret = expect_return(c, NULL);
	ck_assert_str_eq(json_object_get_string(member(ret, "package")), "");
	e = member(ret, "accord");
	ck_assert(json_object_is_type(member(e, "major"), json_type_int));
	ck_assert(json_object_is_type(member(e, "minor"), json_type_int));
	ck_assert(json_object_is_type(member(e, "micro"), json_type_int));
	json_object_put(ret);
	cl_close(c);
}
END_TEST

/* Integers past INT64_MAX (json-c keeps them as uint64) are read whole. */
START_TEST(test_u64_argument_past_int64_max)
{
	static const struct {
		const char *json;
		uint64_t want;
	} ok[] = {
		{ "0", 0 },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775808", 9223372036854775808ull },
		{ "18446744073709551615", UINT64_MAX },
	};
	struct json_object *ret;
	char req[128];
	struct cl *c;

	start();
	c = cl_negotiated();
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(req, sizeof(req), "{\"execute\": \"u64\", \"arguments\": {\"n\": %s}}",
			 ok[i].json);
		cl_send(c, req);
		ret = expect_return(c, NULL);
		ck_assert_msg(json_object_get_uint64(ret) == ok[i].want, "%s read as %s",
			      ok[i].json, json_object_to_json_string(ret));
		json_object_put(ret);
	}
	cl_send(c, "{\"execute\": \"u64\", \"arguments\": {\"n\": -1}}");
	expect_error(c, "GenericError", "Parameter 'n' must not be negative", NULL);
	cl_send(c, "{\"execute\": \"u64\", \"arguments\": {\"n\": -9223372036854775808}}");
	expect_error(c, "GenericError", "Parameter 'n' must not be negative", NULL);
	cl_close(c);
}
END_TEST

/* ---- events ---- */

struct thread_event {
	struct qmp_server *srv;
};

static void *raise_from_thread(void *arg)
{
	struct thread_event *t = arg;
	struct json_object *data = json_object_new_object();

	json_object_object_add(data, "from", json_object_new_string("thread"));
	qmp__event(t->srv, "THREAD_EVENT", data);
	return NULL;
}

static void expect_event(struct cl *c, const char *name, const char *data_json)
{
	struct json_object *ev = cl_reply(c), *want;

	qmp_expect_event(ev);
	ck_assert_str_eq(json_object_get_string(member(ev, "event")), name);
	ck_assert_int_ne(json_object_get_int64(member(member(ev, "timestamp"), "seconds")), -1);
	if (data_json) {
		want = json_tokener_parse(data_json);
		ck_assert_msg(json_object_equal(member(ev, "data"), want), "data %s",
			      json_object_to_json_string(member(ev, "data")));
		json_object_put(want);
	} else {
		ck_assert(!has_member(ev, "data"));
	}
	json_object_put(ev);
}

START_TEST(test_events_reach_negotiated_clients_only)
{
	struct thread_event t = { &fx.srv };
	struct json_object *data;
	struct cl *a, *b, *fresh;
	pthread_t th;

	start();
	a = cl_negotiated();
	b = cl_negotiated();
	fresh = cl_connect();
	expect_greeting(fresh);

	data = json_object_new_object();
	json_object_object_add(data, "reason", json_object_new_string("host-request"));
	json_object_object_add(data, "n", json_object_new_int(3));
	qmp__event(&fx.srv, "RESOURCE_CHANGED", data);
	qmp__event(&fx.srv, "POWERDOWN", NULL);
	ck_assert_int_eq(pthread_create(&th, NULL, raise_from_thread, &t), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	pump(4);

	for (int i = 0; i < 2; i++) {
		struct cl *c = i ? b : a;

		expect_event(c, "RESOURCE_CHANGED", "{\"reason\": \"host-request\", \"n\": 3}");
		expect_event(c, "POWERDOWN", NULL);
		expect_event(c, "THREAD_EVENT", "{\"from\": \"thread\"}");
	}
	/* The client still negotiating saw none; its next line is its reply. */
	cl_expect_silence(fresh);
	cl_send(fresh, "{\"execute\": \"qmp_capabilities\"}");
	expect_empty_return(fresh, NULL);
	/* After negotiation it gets them too. */
	qmp__event(&fx.srv, "LATER", NULL);
	pump(2);
	expect_event(fresh, "LATER", NULL);
	expect_event(a, "LATER", NULL);
	expect_event(b, "LATER", NULL);
	cl_close(a);
	cl_close(b);
	cl_close(fresh);
}
END_TEST

START_TEST(test_events_without_clients_and_at_exit)
{
	struct cl *c;

	start();
	/* Nobody listens: dropped quietly, nothing leaks. */
	qmp__event(&fx.srv, "NOBODY", json_object_new_object());
	pump(2);
	/* Queued but not yet delivered when the server goes: still sent. */
	c = cl_negotiated();
	qmp__event(&fx.srv, "SHUTDOWN", json_object_new_object());
	qmp__exit(&fx.srv);
	fx.up = false;
	expect_event(c, "SHUTDOWN", "{}");
	cl_expect_eof(c);
	cl_close(c);
}
END_TEST

/* ---- the socket file ---- */

START_TEST(test_socket_mode_is_0600)
{
	struct stat st;
	mode_t old, cur;

	old = umask(0);
	start();
	cur = umask(old);
	ck_assert_uint_eq(cur, 0); /* restored after bind */
	ck_assert_int_eq(lstat(fx.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	qmp__exit(&fx.srv);
	fx.up = false;
	ck_assert_int_eq(lstat(fx.path, &st), -1); /* unlinked */
}
END_TEST

START_TEST(test_stale_socket_is_replaced)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	struct cl *c;
	int fd;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx.path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd); /* the file stays, with nobody behind it */
	ck_assert_int_eq(lstat(fx.path, &st), 0);
	start();
	c = cl_connect();
	expect_greeting(c);
	cl_close(c);
}
END_TEST

START_TEST(test_live_socket_is_refused)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct acc_err err = { "" };
	struct qmp_server other;
	char want[256];
	int fd, probe;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx.path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(qmp__init(&other, fx.path, &fx.loop, NULL, 0, NULL, &fx.log, &err),
			 -EADDRINUSE);
	snprintf(want, sizeof(want), "socket %s is in use", fx.path);
	ck_assert_str_eq(err.msg, want);
	/* The listener is untouched. */
	probe = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(probe, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(probe);
	close(fd);

	/* A live accord server, too. */
	unlink(fx.path);
	start();
	ck_assert_int_eq(qmp__init(&other, fx.path, &fx.loop, NULL, 0, NULL, &fx.log, &err),
			 -EADDRINUSE);
	ck_assert_str_eq(err.msg, want);
	pump(4);
	ck_assert_uint_eq(fx.srv.nr_clients, 0); /* its probe came and went */
	ck_assert_int_eq(access(fx.path, F_OK), 0);
}
END_TEST

START_TEST(test_other_files_are_refused_and_kept)
{
	struct acc_err err = { "" };
	struct qmp_server other;
	char buf[32] = "";
	char dir[160];
	int fd;

	fd = open(fx.path, O_CREAT | O_WRONLY | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep me", 7), 7);
	close(fd);
	ck_assert_int_eq(qmp__init(&other, fx.path, &fx.loop, NULL, 0, NULL, &fx.log, &err),
			 -EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a socket"));
	fd = open(fx.path, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "keep me");
	close(fd);
	unlink(fx.path);

	/* A directory, too. */
	snprintf(dir, sizeof(dir), "%s/other", fx.dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(qmp__init(&other, dir, &fx.loop, NULL, 0, NULL, &fx.log, &err), -EEXIST);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_path_too_long)
{
	struct acc_err err = { "" };
	struct qmp_server other;
	char path[300];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(qmp__init(&other, path, &fx.loop, NULL, 0, NULL, &fx.log, &err),
			 -ENAMETOOLONG);
	ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
	path[QMP_PATH_MAX] = '\0'; /* one byte over */
	ck_assert_int_eq(qmp__init(&other, path, &fx.loop, NULL, 0, NULL, &fx.log, &err),
			 -ENAMETOOLONG);
	ck_assert_int_eq(qmp__init(&other, "", &fx.loop, NULL, 0, NULL, &fx.log, &err), -EINVAL);
}
END_TEST

static Suite *qmp_suite(void)
{
	Suite *s = suite_create("control socket");
	TCase *tc = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_greeting);
	tcase_add_test(tc, test_negotiation_is_enforced);
	tcase_add_test(tc, test_capabilities_twice);
	tcase_add_test(tc, test_id_is_echoed);
	tcase_add_test(tc, test_id_past_double_range_is_echoed);
	tcase_add_test(tc, test_invalid_utf8_forms_are_refused);
	tcase_add_test(tc, test_unknown_command);
	tcase_add_test(tc, test_malformed_json);
	tcase_add_test(tc, test_input_must_be_an_object);
	tcase_add_test(tc, test_request_members);
	tcase_add_test(tc, test_two_objects_in_one_write);
	tcase_add_test(tc, test_one_object_byte_by_byte);
	tcase_add_test(tc, test_over_long_request_then_a_good_one);
	tcase_add_test(tc, test_seventeenth_client_is_refused);
	tcase_add_test(tc, test_client_gone_mid_request);
	tcase_add_test(tc, test_half_closed_client_gets_its_replies);
	tcase_add_test(tc, test_garbage_on_one_client_does_not_disturb_another);
	tcase_add_test(tc, test_other_users_are_refused);
	tcase_add_test(tc, test_slow_reader_is_dropped);
	tcase_add_test(tc, test_pipelining_client_waits_for_its_replies);
	suite_add_tcase(s, tc);

	tc = tcase_create("commands and events");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_handler_errors);
	tcase_add_test(tc, test_handler_arguments_and_return);
	tcase_add_test(tc, test_query_commands_and_version);
	tcase_add_test(tc, test_u64_argument_past_int64_max);
	tcase_add_test(tc, test_events_reach_negotiated_clients_only);
	tcase_add_test(tc, test_events_without_clients_and_at_exit);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_socket_mode_is_0600);
	tcase_add_test(tc, test_stale_socket_is_replaced);
	tcase_add_test(tc, test_live_socket_is_refused);
	tcase_add_test(tc, test_other_files_are_refused_and_kept);
	tcase_add_test(tc, test_path_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(qmp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
