// SPDX-License-Identifier: MIT
/*
 * Unit tests: `accord ctl` (ctl__main) against a real control socket served
 * on an event-loop thread, and against scripted fake servers (a listening
 * socket and a thread that plays a script) for what a real one never sends.
 */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "accord/ctl.h"
#include "accord/eventloop.h"
#include "accord/log.h"
#include "accord/qmp.h"
#include "accord/tmpfile.h"

#define MAX_WORDS 32
#define MAX_STEPS 16
#define WAIT_MS	  10000 /* the longest a fake server waits for the client */
#define HOLD_MS	  20000 /* the longest it holds a silent connection open */

#define GREETING "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"
#define CAPS_OK	 "{\"return\": {}, \"id\": 1}\r\n"

/* What a fake server does, step by step, with its one client. */
enum step_kind {
	STEP_END,
	STEP_SEND, /* send the text */
	STEP_RECV, /* read one line (kept in fx.request) */
	STEP_READ, /* one read() once input is there (kept in fx.request) */
	STEP_HUGE, /* send 5 MiB without a newline */
	STEP_HOLD, /* wait until the client closes */
};

struct step {
	enum step_kind kind;
	const char *text;
	size_t len; /* of text; 0: strlen */
};

// clang-format off
#define SEND(t)	    { STEP_SEND, (t), 0 }
#define SEND_ALL(t) { STEP_SEND, (t), sizeof(t) - 1 } /* NUL bytes and all */
#define RECV	    { STEP_RECV, NULL, 0 }
#define READ	    { STEP_READ, NULL, 0 }
#define HUGE	    { STEP_HUGE, NULL, 0 }
#define HOLD	    { STEP_HOLD, NULL, 0 }
#define END	    { STEP_END, NULL, 0 }
// clang-format on
/* The greeting, then qmp_capabilities read and answered. */
#define NEGOTIATE SEND(GREETING), RECV, SEND(CAPS_OK)

struct fixture {
	char path[96]; /* the socket, real or fake, in dir */
	char dir[64];
	/* The real server, on loop_thread. */
	struct qmp_server srv;
	struct event_loop loop;
	struct acc_log log;
	pthread_t loop_thread;
	atomic_bool stop_loop;
	bool server_up;
	pthread_t emitter;
	atomic_bool stop_emitter;
	bool emitter_up;
	int fake_fd;
	pthread_t fake_thread;
	struct step script[MAX_STEPS];
	bool fake_up;
	char request[4096]; /* the last line a fake server read */
	char *out;
	char *err;
	size_t out_len;
	size_t err_len;
};

static struct fixture fx;

/* ---- the real server's commands ---- */

static int cmd_echo(void *ctx, struct json_object *args, struct json_object **ret,
		    struct qmp_error *err)
{
	*ret = json_object_get(args);
	return 0;
}

static int cmd_nothing(void *ctx, struct json_object *args, struct json_object **ret,
		       struct qmp_error *err)
{
	return 0;
}

/* Its desc has a newline: ctl prints it on one line all the same. */
static int cmd_fail(void *ctx, struct json_object *args, struct json_object **ret,
		    struct qmp_error *err)
{
	return qmp__errorf(err, QMP_ERROR_DEVICE_NOT_FOUND, ENODEV, "Device 'vda' is gone\n(%s)",
			   "unplugged");
}

/* An event queued while the command runs; the loop sends it after the reply. */
static int cmd_emit(void *ctx, struct json_object *args, struct json_object **ret,
		    struct qmp_error *err)
{
	qmp__event(ctx, "EMITTED", NULL);
	*ret = json_object_new_object();
	json_object_object_add(*ret, "emitted", json_object_new_boolean(1));
	return 0;
}

static int cmd_slow(void *ctx, struct json_object *args, struct json_object **ret,
		    struct qmp_error *err)
{
	usleep(1000 * 1000);
	return 0;
}

static const struct qmp_command test_cmds[] = {
	{ "echo", cmd_echo }, { "nothing", cmd_nothing }, { "fail", cmd_fail },
	{ "emit", cmd_emit }, { "slow", cmd_slow },
};

/* ---- fixture ---- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.fake_fd = -1;
	ck_assert_int_eq(acc_mkdtemp(fx.dir, sizeof(fx.dir), "/tmp", "ctl-test"), 0);
	snprintf(fx.path, sizeof(fx.path), "%s/ctl.sock", fx.dir);
	log__init(&fx.log, "ctl-test", LOG_ERROR);
	ck_assert_int_eq(eventloop__init(&fx.loop), 0);
}

static void teardown(void)
{
	if (fx.emitter_up) {
		atomic_store(&fx.stop_emitter, true);
		pthread_join(fx.emitter, NULL);
	}
	if (fx.server_up) {
		atomic_store(&fx.stop_loop, true);
		pthread_join(fx.loop_thread, NULL);
		qmp__exit(&fx.srv);
	}
	if (fx.fake_up)
		pthread_join(fx.fake_thread, NULL);
	if (fx.fake_fd >= 0)
		close(fx.fake_fd);
	eventloop__exit(&fx.loop);
	free(fx.out);
	free(fx.err);
	unlink(fx.path);
	rmdir(fx.dir);
}

static void *loop_main(void *arg)
{
	while (!atomic_load(&fx.stop_loop))
		eventloop__run_once(&fx.loop, 10);
	return NULL;
}

static void start_server(void)
{
	struct acc_err err = { "" };
	int ret;

	ret = qmp__init(&fx.srv, fx.path, &fx.loop, test_cmds,
			sizeof(test_cmds) / sizeof(test_cmds[0]), &fx.srv, &fx.log, &err);
	ck_assert_msg(ret == 0, "qmp__init: %d %s", ret, err.msg);
	fx.server_up = true;
	ck_assert_int_eq(pthread_create(&fx.loop_thread, NULL, loop_main, NULL), 0);
}

/* GRANT and TICK events, one every 10 ms each, until teardown. */
static void *emitter_main(void *arg)
{
	struct json_object *data;
	int n = 0;

	while (!atomic_load(&fx.stop_emitter)) {
		data = json_object_new_object();
		json_object_object_add(data, "n", json_object_new_int(n++));
		qmp__event(&fx.srv, n % 2 ? "GRANT" : "TICK", data);
		usleep(5 * 1000);
	}
	return NULL;
}

static void start_emitter(void)
{
	fx.emitter_up = true;
	ck_assert_int_eq(pthread_create(&fx.emitter, NULL, emitter_main, NULL), 0);
}

/* ---- fake servers ---- */

static void fake_send(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Wait for input; false when @ms pass first. */
static bool fake_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static void fake_recv_line(int fd)
{
	size_t len = 0;
	char ch;

	while (len + 1 < sizeof(fx.request) && fake_wait(fd, WAIT_MS) && read(fd, &ch, 1) == 1 &&
	       ch != '\n')
		fx.request[len++] = ch;
	fx.request[len] = '\0';
}

/* What one read() returns: a server that acts on the first complete object sees this much. */
static void fake_read_once(int fd)
{
	ssize_t n = 0;

	if (fake_wait(fd, WAIT_MS))
		n = read(fd, fx.request, sizeof(fx.request) - 1);
	fx.request[n > 0 ? n : 0] = '\0';
}

static void fake_huge(int fd)
{
	static char chunk[64 * 1024];
	size_t sent;

	memset(chunk, 'x', sizeof(chunk));
	for (sent = 0; sent < 5 * 1024 * 1024; sent += sizeof(chunk)) {
		if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0)
			return;
	}
}

static void fake_hold(int fd)
{
	char buf[256];

	while (fake_wait(fd, HOLD_MS) && read(fd, buf, sizeof(buf)) > 0)
		;
}

static void *fake_main(void *arg)
{
	const struct step *s;
	int fd;

	if (!fake_wait(fx.fake_fd, WAIT_MS))
		return NULL;
	fd = accept4(fx.fake_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (s = fx.script; s->kind != STEP_END; s++) {
		if (s->kind == STEP_SEND)
			fake_send(fd, s->text, s->len ? s->len : strlen(s->text));
		else if (s->kind == STEP_RECV)
			fake_recv_line(fd);
		else if (s->kind == STEP_READ)
			fake_read_once(fd);
		else if (s->kind == STEP_HUGE)
			fake_huge(fd);
		else
			fake_hold(fd);
	}
	close(fd);
	return NULL;
}

/* Listen at fx.path and play @script (copied) to the first client. */
static void start_fake(const struct step *script)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int i;

	for (i = 0; script[i].kind != STEP_END; i++) {
		ck_assert_int_lt(i, MAX_STEPS - 1);
		fx.script[i] = script[i];
	}
	fx.script[i].kind = STEP_END;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx.path);
	fx.fake_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fx.fake_fd, 0);
	ck_assert_int_eq(bind(fx.fake_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fx.fake_fd, 4), 0);
	fx.fake_up = true;
	ck_assert_int_eq(pthread_create(&fx.fake_thread, NULL, fake_main, NULL), 0);
}

/* ---- running accord ctl ---- */

/* ctl__main on @argv; its output lands in fx.out and fx.err. */
static int run_argv(int argc, const char **argv)
{
	FILE *out, *err;
	int status;

	free(fx.out);
	free(fx.err);
	fx.out = fx.err = NULL;
	out = open_memstream(&fx.out, &fx.out_len);
	err = open_memstream(&fx.err, &fx.err_len);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	status = ctl__main(argc, (char **)argv, out, err);
	fclose(out);
	fclose(err);
	return status;
}

/* ctl__main on the NULL-terminated words. */
static int run(const char *first, ...)
{
	const char *argv[MAX_WORDS + 1];
	int argc = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *w = first; w; w = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, MAX_WORDS);
		argv[argc++] = w;
	}
	va_end(ap);
	argv[argc] = NULL;
	return run_argv(argc, argv);
}

#define CTL(...) run(__VA_ARGS__, NULL)

/* The exit status is @status, and stderr holds @needle (NULL: nothing). */
static void expect_status(int got, int status, const char *needle)
{
	ck_assert_msg(got == status, "exit %d, want %d; stderr: %s", got, status, fx.err);
	if (!needle) {
		ck_assert_msg(fx.err_len == 0, "unexpected stderr: %s", fx.err);
		return;
	}
	ck_assert_msg(strstr(fx.err, needle), "stderr '%s' lacks '%s'", fx.err, needle);
	ck_assert_msg(!strncmp(fx.err, "accord ctl: ", 12), "stderr '%s' lacks the prefix", fx.err);
	ck_assert_msg(strchr(fx.err, '\n') == fx.err + fx.err_len - 1, "not one line: '%s'",
		      fx.err);
}

static void expect_out(const char *want)
{
	ck_assert_str_eq(fx.out, want);
}

/* ---- a command and its return value ---- */

START_TEST(test_return_value_is_printed_indented)
{
	start_server();
	expect_status(CTL(fx.path, "echo", "a=1", "b:={\"c\":[true]}"), CTL_EXIT_OK, NULL);
	expect_out("{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [\n      true\n    ]\n  }\n}\n");
}
END_TEST

START_TEST(test_compact_prints_one_line)
{
	start_server();
	expect_status(CTL(fx.path, "--compact", "echo", "a=1", "b:={\"c\":[true]}"), CTL_EXIT_OK,
		      NULL);
	expect_out("{\"a\":1,\"b\":{\"c\":[true]}}\n");
	/* Options may come after the command too. */
	expect_status(CTL(fx.path, "echo", "--compact", "a=/x"), CTL_EXIT_OK, NULL);
	expect_out("{\"a\":\"/x\"}\n");
	/* "--" ends the options. */
	expect_status(CTL(fx.path, "--compact", "echo", "--", "-x=1"), CTL_EXIT_OK, NULL);
	expect_out("{\"-x\":1}\n");
}
END_TEST

START_TEST(test_empty_return_is_braces)
{
	start_server();
	expect_status(CTL(fx.path, "nothing"), CTL_EXIT_OK, NULL);
	expect_out("{}\n");
}
END_TEST

START_TEST(test_builtin_query_version)
{
	start_server();
	expect_status(CTL(fx.path, "--compact", "query-version"), CTL_EXIT_OK, NULL);
	ck_assert_ptr_nonnull(strstr(fx.out, "{\"accord\":{\"major\":"));
}
END_TEST

START_TEST(test_event_after_the_reply_is_ignored)
{
	start_server();
	expect_status(CTL(fx.path, "emit"), CTL_EXIT_OK, NULL);
	expect_out("{\n  \"emitted\": true\n}\n");
}
END_TEST

/* ---- KEY=VALUE ---- */

START_TEST(test_values_json_size_or_string)
{
	start_server();
	expect_status(CTL(fx.path, "--compact", "echo", "n=42", "neg=-7", "f=1.5", "mem=128M",
			  "g=1G", "k=512KiB", "t=8tb", "s=hello", "yes=true", "no=false", "z=null",
			  "o={\"a\":[1,2]}", "l=[1,\"x\"]", "q=\"128M\"", "e=", "zero=0123",
			  "nan=NaN", "frac=1.5G", "spaced=a b", "eq=a=b"),
		      CTL_EXIT_OK, NULL);
	expect_out("{\"n\":42,\"neg\":-7,\"f\":1.5,\"mem\":134217728,\"g\":1073741824,"
		   "\"k\":524288,\"t\":8796093022208,\"s\":\"hello\",\"yes\":true,\"no\":false,"
		   "\"z\":null,\"o\":{\"a\":[1,2]},\"l\":[1,\"x\"],\"q\":\"128M\",\"e\":\"\","
		   "\"zero\":\"0123\",\"nan\":\"NaN\",\"frac\":\"1.5G\",\"spaced\":\"a b\","
		   "\"eq\":\"a=b\"}\n");
}
END_TEST

START_TEST(test_colon_equals_forces_json)
{
	start_server();
	expect_status(CTL(fx.path, "--compact", "echo", "a:=5", "b:={}", "c:=\"s\""), CTL_EXIT_OK,
		      NULL);
	expect_out("{\"a\":5,\"b\":{},\"c\":\"s\"}\n");
	expect_status(CTL(fx.path, "echo", "a:=hello"), CTL_EXIT_FAILED, "a: 'hello' is not JSON");
	expect_status(CTL(fx.path, "echo", "a:=128M"), CTL_EXIT_FAILED, "is not JSON");
	ck_assert_int_eq(fx.out_len, 0);
}
END_TEST

START_TEST(test_args_gives_the_whole_object)
{
	start_server();
	expect_status(
		CTL(fx.path, "--compact", "--args", "{\"x\": [1, \"y\"], \"m\": \"2G\"}", "echo"),
		CTL_EXIT_OK, NULL);
	expect_out("{\"x\":[1,\"y\"],\"m\":\"2G\"}\n");
}
END_TEST

START_TEST(test_bad_arguments_are_usage_errors)
{
	/* No server: none of these may get as far as connecting. */
	expect_status(CTL(fx.path, "echo", "a=1", "a=2"), CTL_EXIT_FAILED,
		      "argument 'a' is given twice");
	expect_status(CTL(fx.path, "echo", "a=1", "a:=2"), CTL_EXIT_FAILED, "given twice");
	expect_status(CTL(fx.path, "echo", "a=1", "oops"), CTL_EXIT_FAILED,
		      "'oops' is not KEY=VALUE");
	expect_status(CTL(fx.path, "echo", "=5"), CTL_EXIT_FAILED, "'=5' has no KEY");
	expect_status(CTL(fx.path, "echo", "n=99999999999999999999"), CTL_EXIT_FAILED,
		      "n: '99999999999999999999' is out of the range");
	expect_status(CTL(fx.path, "echo", "m=99999999999999T"), CTL_EXIT_FAILED,
		      "m: '99999999999999T' is too large");
	expect_status(CTL(fx.path, "--args", "{\"a\":1}", "echo", "b=2"), CTL_EXIT_FAILED,
		      "--args and KEY=VALUE ('b=2') do not go together");
	expect_status(CTL(fx.path, "--args", "[1]", "echo"), CTL_EXIT_FAILED,
		      "--args: not a JSON object");
	expect_status(CTL(fx.path, "--args", "{", "echo"), CTL_EXIT_FAILED, "--args: not JSON");
}
END_TEST

START_TEST(test_arguments_without_a_server)
{
	char *words[] = { "a=1", "b=64k", "c=x", "d:=[]" };
	struct acc_err err = { "" };
	struct json_object *args;

	ck_assert_int_eq(ctl__arguments(words, 4, &args, &err), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN),
			 "{\"a\":1,\"b\":65536,\"c\":\"x\",\"d\":[]}");
	json_object_put(args);
	ck_assert_int_eq(ctl__arguments(words, 0, &args, &err), 0);
	ck_assert_int_eq(json_object_object_length(args), 0);
	json_object_put(args);
}
END_TEST

/* ---- usage ---- */

START_TEST(test_help_prints_usage)
{
	expect_status(CTL("--help"), CTL_EXIT_OK, NULL);
	ck_assert_ptr_nonnull(strstr(fx.out, "Usage: accord ctl [OPTIONS] SOCKET COMMAND"));
	ck_assert_ptr_nonnull(
		strstr(fx.out, "accord ctl /run/vm1.sock set-allocation memory=256M"));
	ck_assert_ptr_nonnull(strstr(fx.out, "--filter GRANT --count 1 --timeout 30"));
	expect_status(CTL(fx.path, "echo", "-h"), CTL_EXIT_OK, NULL);
	ck_assert_ptr_nonnull(strstr(fx.out, "Usage: accord ctl"));
}
END_TEST

START_TEST(test_usage_errors_name_the_problem)
{
	expect_status(CTL(NULL), CTL_EXIT_FAILED, "no SOCKET given");
	expect_status(CTL(fx.path), CTL_EXIT_FAILED, "no COMMAND given");
	expect_status(CTL(fx.path, "echo", "--bogus"), CTL_EXIT_FAILED, "unknown option '--bogus'");
	expect_status(CTL(fx.path, "echo", "--timeout"), CTL_EXIT_FAILED,
		      "--timeout needs a value");
	expect_status(CTL(fx.path, "--timeout", "abc", "echo"), CTL_EXIT_FAILED,
		      "--timeout: 'abc' is not a number of seconds");
	expect_status(CTL(fx.path, "--timeout", "0", "echo"), CTL_EXIT_FAILED,
		      "'0' is not more than 0");
	expect_status(CTL(fx.path, "--timeout", "-1", "echo"), CTL_EXIT_FAILED,
		      "not a number of seconds");
	expect_status(CTL(fx.path, "--timeout", "1", "--timeout", "2", "echo"), CTL_EXIT_FAILED,
		      "--timeout is given twice");
	expect_status(CTL(fx.path, "echo", "--count", "1"), CTL_EXIT_FAILED,
		      "--count and --filter go with --events");
	expect_status(CTL(fx.path, "--events", "echo"), CTL_EXIT_FAILED,
		      "--events takes no COMMAND, but 'echo' is given");
	expect_status(CTL(fx.path, "--events", "--count", "0"), CTL_EXIT_FAILED, "--count: ");
	expect_status(CTL(fx.path, "--events", "--args", "{}"), CTL_EXIT_FAILED,
		      "--args goes with a COMMAND");
	ck_assert_int_eq(fx.out_len, 0);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_error_reply_exits_1_with_class_and_desc)
{
	start_server();
	expect_status(CTL(fx.path, "fail"), CTL_EXIT_QMP, "DeviceNotFound");
	ck_assert_str_eq(fx.err, "accord ctl: DeviceNotFound: Device 'vda' is gone (unplugged)\n");
	ck_assert_int_eq(fx.out_len, 0);
}
END_TEST

START_TEST(test_unknown_command_is_command_not_found)
{
	start_server();
	expect_status(CTL(fx.path, "no-such-command"), CTL_EXIT_QMP, "CommandNotFound");
	ck_assert_str_eq(fx.err,
			 "accord ctl: CommandNotFound: The command no-such-command has not been "
			 "found\n");
}
END_TEST

START_TEST(test_no_socket_exits_2)
{
	char missing[160], msg[256];

	snprintf(missing, sizeof(missing), "%s/missing.sock", fx.dir);
	snprintf(msg, sizeof(msg), "accord ctl: %s: cannot connect: No such file or directory\n",
		 missing);
	expect_status(CTL(missing, "query-version"), CTL_EXIT_FAILED, "cannot connect");
	ck_assert_str_eq(fx.err, msg);
}
END_TEST

START_TEST(test_socket_nobody_listens_on_exits_2)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx.path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	expect_status(CTL(fx.path, "query-version"), CTL_EXIT_FAILED, "Connection refused");
}
END_TEST

START_TEST(test_unwritable_output_exits_2)
{
	const char *argv[] = { fx.path, "query-version" };
	FILE *full, *err;

	start_server();
	full = fopen("/dev/full", "w");
	err = open_memstream(&fx.err, &fx.err_len);
	ck_assert_ptr_nonnull(full);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(ctl__main(2, (char **)argv, full, err), CTL_EXIT_FAILED);
	fclose(full);
	fclose(err);
	ck_assert_str_eq(fx.err, "accord ctl: cannot write the output: No space left on device\n");
}
END_TEST

START_TEST(test_timeout_bounds_a_slow_command)
{
	double t0;

	start_server();
	t0 = now();
	expect_status(CTL(fx.path, "--timeout", "0.2", "slow"), CTL_EXIT_FAILED,
		      "timed out after 0.2 s waiting for the reply to slow");
	ck_assert_double_lt(now() - t0, 0.9);
}
END_TEST

/* ---- fake servers ---- */

START_TEST(test_events_before_the_reply_are_skipped)
{
	static const struct step script[] = {
		NEGOTIATE,
		RECV,
		/* An event, an empty line, another event and the reply in one write. */
		SEND("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"EARLY\"}"
		     "\r\n\r\n"),
		SEND("{\"event\": \"LATE\", \"data\": {}}\n{\"return\": {\"ok\": true}, \"id\": "
		     "2}\r\n"),
		HOLD,
		END,
	};

	start_fake(script);
	expect_status(CTL(fx.path, "set-allocation", "memory=256M"), CTL_EXIT_OK, NULL);
	expect_out("{\n  \"ok\": true\n}\n");
	ck_assert_str_eq(fx.request, "{\"execute\":\"set-allocation\","
				     "\"arguments\":{\"memory\":268435456},\"id\":2}\r");
}
END_TEST

/*
 * A server may act on a request as soon as the object is complete and, for
 * quit, be gone right after its reply: the request and its line end go in
 * one write, and the reply is read although the server closed at once.
 */
START_TEST(test_request_line_is_one_write_and_a_closing_server_is_answered)
{
	static const struct step script[] = {
		NEGOTIATE,
		READ,
		SEND("{\"return\": {}, \"id\": 2}\r\n"),
		END,
	};

	start_fake(script);
	expect_status(CTL(fx.path, "quit"), CTL_EXIT_OK, NULL);
	expect_out("{}\n");
	ck_assert_str_eq(fx.request, "{\"execute\":\"quit\",\"id\":2}\r\n");
}
END_TEST

/* Servers that break the protocol; ctl names the problem and exits 2. */
static const struct broken_case {
	struct step script[MAX_STEPS];
	const char *msg;
} broken_cases[] = {
	{ { SEND("garbage\r\n"), HOLD },
	  "malformed line while waiting for the greeting (unexpected character): 'garbage'" },
	{ { SEND("{\"hello\": 1}\r\n"), HOLD }, "malformed greeting: no \"QMP\" object" },
	{ { SEND("{\"error\": {\"class\": \"GenericError\", \"desc\": \"too\\nmany\"}}\r\n") },
	  "refused: GenericError: too many" },
	{ { NEGOTIATE, RECV }, "connection closed while waiting for the reply to query-status" },
	{ { NEGOTIATE, RECV, SEND("{\"return\": 1, \"id\": 2") },
	  "connection closed while waiting for the reply to query-status" },
	{ { NEGOTIATE, RECV, HUGE, HOLD }, "a line longer than 4 MiB" },
	{ { NEGOTIATE, RECV, SEND("{\"return\": 1, \"id\": 7}\r\n"), HOLD },
	  "the reply to query-status carries another request's id" },
	{ { NEGOTIATE, RECV, SEND("{\"error\": \"no class\"}\r\n"), HOLD },
	  "is neither a return value nor an error with class and desc" },
	{ { NEGOTIATE, RECV, SEND("{\"error\": {\"class\": \"GenericError\"}, \"id\": 2}\r\n"),
	    HOLD },
	  "is neither a return value nor an error with class and desc" },
	{ { NEGOTIATE, RECV, SEND("{\"surprise\": true}\r\n"), HOLD },
	  "is neither a return value nor an error with class and desc" },
	{ { NEGOTIATE, RECV, SEND("[1, 2]\r\n"), HOLD }, "(not an object): '[1, 2]'" },
	{ { NEGOTIATE, RECV, SEND("{\"return\": NaN}\r\n"), HOLD }, "(NaN or Infinity)" },
	{ { NEGOTIATE, RECV, SEND("{\"return\": 1} trailing\r\n"), HOLD },
	  "(unexpected character): '{\"return\": 1} trailing'" },
	{ { NEGOTIATE, RECV, SEND("{\"return\": \"\\u0000\xff\"}\r\n"), HOLD },
	  "(invalid utf-8 string)" },
	{ { NEGOTIATE, RECV, SEND_ALL("{\"return\": 1}\0{}\r\n"), HOLD }, "(a NUL byte): " },
	{ { NEGOTIATE, RECV,
	    SEND("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\r\n"),
	    HOLD },
	  "(nesting too deep)" },
};

START_TEST(test_broken_server_exits_2)
{
	const struct broken_case *c = &broken_cases[_i];

	start_fake(c->script);
	expect_status(CTL(fx.path, "query-status"), CTL_EXIT_FAILED, c->msg);
	ck_assert_msg(!strncmp(fx.err + 12, fx.path, strlen(fx.path)), "no socket in '%s'", fx.err);
	ck_assert_int_eq(fx.out_len, 0);
}
END_TEST

/* ---- events ---- */

START_TEST(test_events_count_and_filter)
{
	struct json_object *ev, *name;
	char *line, *save;
	int n = 0;

	start_server();
	start_emitter();
	expect_status(
		CTL(fx.path, "--events", "--filter", "GRANT", "--count", "3", "--timeout", "10"),
		CTL_EXIT_OK, NULL);
	for (line = strtok_r(fx.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ev = json_tokener_parse(line);
		ck_assert_msg(ev, "not JSON: %s", line);
		ck_assert_msg(!strchr(line, ' '), "not compact: %s", line);
		ck_assert(json_object_object_get_ex(ev, "event", &name));
		ck_assert_str_eq(json_object_get_string(name), "GRANT");
		ck_assert(json_object_object_get_ex(ev, "timestamp", NULL));
		ck_assert(json_object_object_get_ex(ev, "data", NULL));
		json_object_put(ev);
		n++;
	}
	ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_events_two_filters_and_no_filter)
{
	start_server();
	start_emitter();
	expect_status(
		CTL(fx.path, "--events", "--filter", "TICK", "--filter", "GRANT", "--count", "4"),
		CTL_EXIT_OK, NULL);
	ck_assert_ptr_nonnull(strstr(fx.out, "\"event\":\"TICK\""));
	ck_assert_ptr_nonnull(strstr(fx.out, "\"event\":\"GRANT\""));
	expect_status(CTL("--events", "--count", "2", fx.path), CTL_EXIT_OK, NULL);
	ck_assert_ptr_nonnull(strchr(fx.out, '\n'));
	ck_assert_ptr_eq(strchr(strchr(fx.out, '\n') + 1, '\n'), fx.out + fx.out_len - 1);
}
END_TEST

START_TEST(test_events_timeout_without_count_exits_0)
{
	double t0;

	start_server();
	start_emitter();
	t0 = now();
	expect_status(CTL(fx.path, "--events", "--filter", "NEVER", "--timeout", "0.3"),
		      CTL_EXIT_OK, NULL);
	ck_assert_double_ge(now() - t0, 0.25);
	ck_assert_double_lt(now() - t0, 3);
	ck_assert_int_eq(fx.out_len, 0);
}
END_TEST

START_TEST(test_events_count_not_reached_exits_3)
{
	start_server();
	start_emitter();
	expect_status(
		CTL(fx.path, "--events", "--filter", "NEVER", "--count", "1", "--timeout", "0.3"),
		CTL_EXIT_NO_MORE, "timed out after 0.3 s waiting for events (0 of 1 came)");
}
END_TEST

START_TEST(test_events_server_close_exits_2)
{
	static const struct step script[] = {
		NEGOTIATE,
		SEND("{\"event\": \"ONE\", \"data\": {\"a\": 1}}\r\n"),
		END,
	};

	start_fake(script);
	expect_status(CTL(fx.path, "--events"), CTL_EXIT_FAILED,
		      "connection closed while waiting for events");
	expect_out("{\"event\":\"ONE\",\"data\":{\"a\":1}}\n");
}
END_TEST

/*
 * Servers that fall silent: ctl gives up when it should, saying so. Without
 * --timeout, --events has none, but the greeting must still come within 10 s.
 */
static const struct silent_case {
	bool greets;
	double secs;
	const char *words[4];
	const char *msg;
} silent_cases[] = {
	{ false,
	  0.5,
	  { "--timeout", "0.5", "query-status" },
	  "timed out after 0.5 s waiting for the greeting" },
	{ true,
	  0.3,
	  { "--timeout", "0.3", "query-status" },
	  "timed out after 0.3 s waiting for the reply to qmp_capabilities" },
	{ false,
	  0.2,
	  { "--events", "--timeout", "0.2" },
	  "timed out after 0.2 s waiting for the greeting" },
	{ false, 10, { "--events" }, "timed out after 10 s waiting for the greeting" },
};

START_TEST(test_silent_server_times_out)
{
	static const struct step greets[] = { SEND(GREETING), HOLD, END };
	static const struct step mute[] = { HOLD, END };
	const struct silent_case *c = &silent_cases[_i];
	const char *argv[6] = { fx.path };
	int argc = 1;
	double t0;

	start_fake(c->greets ? greets : mute);
	for (int i = 0; i < 4 && c->words[i]; i++)
		argv[argc++] = c->words[i];
	t0 = now();
	expect_status(run_argv(argc, argv), CTL_EXIT_FAILED, c->msg);
	ck_assert_double_ge(now() - t0, c->secs * 0.9);
	ck_assert_double_lt(now() - t0, c->secs + 2);
}
END_TEST

static TCase *add_tcase(Suite *s, const char *name, const TTest *const *tests, size_t n)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return tc;
}

#define NR(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	const TTest *const commands[] = {
		test_return_value_is_printed_indented,
		test_compact_prints_one_line,
		test_empty_return_is_braces,
		test_builtin_query_version,
		test_event_after_the_reply_is_ignored,
		test_values_json_size_or_string,
		test_colon_equals_forces_json,
		test_args_gives_the_whole_object,
		test_bad_arguments_are_usage_errors,
		test_arguments_without_a_server,
		test_help_prints_usage,
		test_usage_errors_name_the_problem,
	};
	const TTest *const failures[] = {
		test_error_reply_exits_1_with_class_and_desc,
		test_unknown_command_is_command_not_found,
		test_no_socket_exits_2,
		test_socket_nobody_listens_on_exits_2,
		test_timeout_bounds_a_slow_command,
		test_unwritable_output_exits_2,
		test_events_before_the_reply_are_skipped,
		test_request_line_is_one_write_and_a_closing_server_is_answered,
	};
	const TTest *const events[] = {
		test_events_count_and_filter,
		test_events_two_filters_and_no_filter,
		test_events_timeout_without_count_exits_0,
		test_events_count_not_reached_exits_3,
		test_events_server_close_exits_2,
	};
	Suite *s = suite_create("accord ctl");
	SRunner *sr;
	TCase *tc;
	int failed;

	add_tcase(s, "commands", commands, NR(commands));
	tc = add_tcase(s, "failures", failures, NR(failures));
	tcase_add_loop_test(tc, test_broken_server_exits_2, 0, (int)NR(broken_cases));
	tcase_add_loop_test(tc, test_silent_server_times_out, 0, (int)NR(silent_cases));
	add_tcase(s, "events", events, NR(events));

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
