// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_top runner): `accord top` against a real broker (the
 * accord binary's hostd, a child process) with three fake VMs registered
 * over its socket. One frame is checked as plain text (top__main into a
 * memory stream, and the binary writing into a pipe); the live view is run
 * in a tmux session and read back with capture-pane: the table, a change
 * showing up, rows cut to a narrower window, the terminal put back after q
 * and after the broker goes away. tmux must be installed (scripts/setup-deps).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accord/tmpfile.h"
#include "accord/top.h"

#include "../kvm/qmp_client.h"

#ifndef ACCORD_BIN
#error "ACCORD_BIN: the accord binary's path (test/unit/CMakeLists.txt)"
#endif

#define MiB	   (1ull << 20)
#define NR_VMS	   3
#define WAIT_MS	   10000
#define TMUX_PANE  "top"
#define CAPTURE_SZ 65536

static const char *const vm_names[NR_VMS] = { "alpha", "beta", "gamma" };
static const unsigned int vm_mib[NR_VMS] = { 64, 128, 256 };

static struct {
	char dir[256];
	char sock[300];
	char tmux_sock[300];
	pid_t broker;
	struct qmp_client *op;
	struct qmp_client *vms[NR_VMS];
	bool tmux_used;
} tx;

/* ---- the broker and its VMs ---- */

static struct qmp_client *connect_client(void)
{
	struct qmp_client *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	ck_assert_msg(qmpc_connect(c, tx.sock, 5), "cannot connect to the broker at %s", tx.sock);
	return c;
}

/* @c runs @json; its "return" must come back. */
static void must_return(struct qmp_client *c, const char *json)
{
	struct json_object *reply = qmpc_execute(c, json, 5);

	ck_assert_msg(reply && qmpc_get(reply, "return"), "%s -> %s", json,
		      reply ? json_object_to_json_string(reply) : "nothing");
	json_object_put(reply);
}

static void register_vm(unsigned int i)
{
	char json[512];

	tx.vms[i] = connect_client();
	snprintf(json, sizeof(json),
		 "{\"execute\": \"register-vm\", \"arguments\": {\"name\": \"%s\","
		 " \"driver\": true, \"memory\": {\"max\": %llu, \"granted\": %llu},"
		 " \"vcpus\": {\"max\": 4, \"granted\": 1}}}",
		 vm_names[i], 512 * MiB, vm_mib[i] * MiB);
	must_return(tx.vms[i], json);
}

static void setup(void)
{
	ck_assert_int_eq(acc_mkdtemp(tx.dir, sizeof(tx.dir), "/tmp", "accord-top"), 0);
	snprintf(tx.sock, sizeof(tx.sock), "%s/hostd.sock", tx.dir);
	snprintf(tx.tmux_sock, sizeof(tx.tmux_sock), "%s/tmux.sock", tx.dir);
	tx.tmux_used = false;
	tx.broker = fork();
	ck_assert_int_ge(tx.broker, 0);
	if (!tx.broker) {
		/* Gone with the test, even one that fails before its teardown. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(ACCORD_BIN, "accord", "hostd", "--socket", tx.sock, "--pool",
		      "memory=1G,cpus=8", "--log-level", "error", (char *)NULL);
		_exit(127);
	}
	tx.op = connect_client();
	for (unsigned int i = 0; i < NR_VMS; i++)
		register_vm(i);
}

static void drop_client(struct qmp_client **c)
{
	if (!*c)
		return;
	qmpc_close(*c);
	free(*c);
	*c = NULL;
}

static int tmux(char *out, size_t cap, const char *first, ...);

static void teardown(void)
{
	if (tx.tmux_used)
		tmux(NULL, 0, "kill-server", NULL);
	drop_client(&tx.op);
	for (unsigned int i = 0; i < NR_VMS; i++)
		drop_client(&tx.vms[i]);
	if (tx.broker > 0) {
		kill(tx.broker, SIGTERM);
		waitpid(tx.broker, NULL, 0);
		tx.broker = 0;
	}
	unlink(tx.sock);
	unlink(tx.tmux_sock);
	rmdir(tx.dir);
}

/* ---- running accord top ---- */

struct result {
	int status;
	char *out;
	char *err;
	size_t out_len, err_len;
};

/* top__main on the NULL-terminated @words, into memory streams. */
static void run_top(struct result *r, const char *const *words)
{
	FILE *out = open_memstream(&r->out, &r->out_len);
	FILE *err = open_memstream(&r->err, &r->err_len);
	int argc = 0;

	ck_assert(out && err);
	while (words[argc])
		argc++;
	r->status = top__main(argc, (char **)words, out, err);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_int_eq(fclose(err), 0);
}

static void free_result(struct result *r)
{
	free(r->out);
	free(r->err);
}

static void assert_one_line(const char *text, const char *part)
{
	ck_assert_msg(!strncmp(text, "accord top: ", 12), "'%s'", text);
	ck_assert_msg(strstr(text, part), "'%s' does not say '%s'", text, part);
	ck_assert_msg(strchr(text, '\n') == text + strlen(text) - 1, "not one line: '%s'", text);
}

/* The line of @frame that starts with @start, copied into @line. */
static bool line_of(const char *frame, const char *start, char *line, size_t cap)
{
	size_t n = strlen(start), len;

	for (const char *p = frame; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, start, n))
			continue;
		len = strcspn(p, "\n");
		snprintf(line, cap, "%.*s", (int)(len < cap ? len : cap - 1), p);
		return true;
	}
	return false;
}

/* Every VM's row holds its name and its allocation out of 512 MiB. */
static void assert_vm_rows(const char *frame)
{
	char line[512], alloc[64];

	ck_assert_msg(strstr(frame, "accord top: ") && strstr(frame, tx.sock), "%s", frame);
	ck_assert_msg(strstr(frame, "pool: memory 1 GiB"), "%s", frame);
	for (unsigned int i = 0; i < NR_VMS; i++) {
		ck_assert_msg(line_of(frame, vm_names[i], line, sizeof(line)), "no %s in\n%s",
			      vm_names[i], frame);
		snprintf(alloc, sizeof(alloc), " %u MiB/512 MiB ", vm_mib[i]);
		ck_assert_msg(strstr(line, alloc), "'%s' lacks '%s'", line, alloc);
	}
}

START_TEST(test_once_lists_every_vm)
{
	const char *const words[] = { "--once", tx.sock, NULL };
	struct json_object *reply;
	struct result r = { 0 };
	char line[512];

	reply = qmpc_execute(tx.vms[0],
			     "{\"execute\": \"vm-request\", \"arguments\": {\"txn\": 7,"
			     " \"kind\": \"memory\", \"amount\": 33554432}}",
			     5);
	ck_assert_str_eq(json_object_get_string(qmpc_get(reply, "return.verdict")), "GRANT");
	json_object_put(reply);
	must_return(tx.vms[1], "{\"execute\": \"vm-usage\", \"arguments\": {\"memory-used\":"
			       " 104857600, \"memory-forecast\": 115343360}}");
	run_top(&r, words);
	ck_assert_msg(r.status == TOP_EXIT_OK, "%d: %s", r.status, r.err);
	ck_assert_uint_eq(r.err_len, 0);
	ck_assert_msg(!strchr(r.out, '\033'), "escape codes in\n%s", r.out);
	ck_assert_msg(line_of(r.out, "alpha", line, sizeof(line)) &&
			      strstr(line, " 96 MiB/512 MiB "),
		      "%s", r.out);
	ck_assert_msg(line_of(r.out, "beta", line, sizeof(line)) && strstr(line, "100 MiB") &&
			      strstr(line, "110 MiB"),
		      "%s", r.out);
	ck_assert_msg(strstr(r.out, "(544 MiB free)") && strstr(r.out, "3 VMs") &&
			      strstr(r.out, "ledger consistent"),
		      "%s", r.out);
	ck_assert_msg(strstr(r.out, "recent decisions\n") &&
			      line_of(r.out, "TIME ", line, sizeof(line)),
		      "%s", r.out);
	ck_assert_msg(strstr(r.out, "  alpha  GRANT  ") && strstr(r.out, " 32 MiB  "), "%s", r.out);
	free_result(&r);
}
END_TEST

/* The binary, stdout a pipe and no --once: one plain frame, exit 0. */
START_TEST(test_not_a_terminal_prints_one_frame)
{
	static char frame[CAPTURE_SZ];
	char cmd[1024];
	size_t len;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' top --interval 0.2 '%s'", ACCORD_BIN, tx.sock);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	len = fread(frame, 1, sizeof(frame) - 1, p);
	frame[len] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(!strchr(frame, '\033'), "escape codes in\n%s", frame);
	assert_vm_rows(frame);
	ck_assert_int_eq((int)(strstr(frame, "accord top: ") - frame), 0);
	ck_assert_ptr_null(strstr(strstr(frame, "accord top: ") + 1, "accord top: "));
}
END_TEST

START_TEST(test_unreachable_broker_exits_2)
{
	char missing[400];
	const char *const once[] = { "--once", missing, NULL };
	const char *const live[] = { "--interval", "0.5", missing, NULL };
	struct result r = { 0 };

	snprintf(missing, sizeof(missing), "%s/nobody.sock", tx.dir);
	run_top(&r, once);
	ck_assert_int_eq(r.status, TOP_EXIT_FAILED);
	ck_assert_uint_eq(r.out_len, 0);
	assert_one_line(r.err, "cannot connect");
	ck_assert_ptr_nonnull(strstr(r.err, missing));
	free_result(&r);
	memset(&r, 0, sizeof(r));
	run_top(&r, live);
	ck_assert_int_eq(r.status, TOP_EXIT_FAILED);
	assert_one_line(r.err, "cannot connect");
	free_result(&r);
}
END_TEST

/* ---- tmux ---- */

/* tmux on the test's own server with @first and the further words; its exit status. */
static int tmux(char *out, size_t cap, const char *first, ...)
{
	const char *argv[32] = { "tmux", "-S", tx.tmux_sock, "-f", "/dev/null" };
	int argc = 5, fds[2], status;
	char sink[256];
	size_t len = 0;
	ssize_t n;
	va_list ap;
	pid_t pid;

	va_start(ap, first);
	for (const char *w = first; w && argc < 31; w = va_arg(ap, const char *))
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		unsetenv("TMUX");
		execvp("tmux", (char **)argv);
		_exit(127);
	}
	close(fds[1]);
	/* Without @out, what tmux prints is read and dropped. */
	while ((n = out ? read(fds[0], out + len, cap - 1 - len)
			: read(fds[0], sink, sizeof(sink))) > 0)
		len += out ? (size_t)n : 0;
	close(fds[0]);
	if (out)
		out[len] = '\0';
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void tmux_required(void)
{
	char version[64];

	ck_assert_msg(tmux(version, sizeof(version), "-V", NULL) == 0,
		      "tmux is missing: scripts/setup-deps installs it");
}

/*
 * accord top --interval 0.2 in a 160x40 pane; a shell then says how it
 * exited and stays, so the pane shows what top left behind.
 */
static void tmux_start(void)
{
	char cmd[1024];

	tmux_required();
	snprintf(cmd, sizeof(cmd), "'%s' top --interval 0.2 '%s'; echo \"exit=$?\"; sleep 60",
		 ACCORD_BIN, tx.sock);
	tx.tmux_used = true;
	ck_assert_int_eq(tmux(NULL, 0, "new-session", "-d", "-s", TMUX_PANE, "-x", "160", "-y",
			      "40", cmd, NULL),
			 0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Capture the pane into @screen until @check holds (true), or give up (false). */
static bool tmux_until(char *screen, bool (*check)(const char *screen, const void *arg),
		       const void *arg)
{
	int64_t deadline = now_ms() + WAIT_MS;

	do {
		ck_assert_int_eq(
			tmux(screen, CAPTURE_SZ, "capture-pane", "-p", "-t", TMUX_PANE, NULL), 0);
		if (check(screen, arg))
			return true;
		usleep(50 * 1000);
	} while (now_ms() < deadline);
	return false;
}

static bool has(const char *screen, const void *part)
{
	return strstr(screen, part) != NULL;
}

/* "#{alternate_on} #{cursor_flag}" of the pane. */
static void tmux_modes(char *modes, size_t cap)
{
	ck_assert_int_eq(tmux(modes, cap, "display-message", "-p", "-t", TMUX_PANE,
			      "#{alternate_on} #{cursor_flag}", NULL),
			 0);
}

static bool all_vms_shown(const char *screen, const void *arg)
{
	char line[512];

	(void)arg;
	for (unsigned int i = 0; i < NR_VMS; i++) {
		if (!line_of(screen, vm_names[i], line, sizeof(line)))
			return false;
	}
	return strstr(screen, "accord top: ") != NULL;
}

/* The row of @arg ("beta 192 MiB/512 MiB") has the value. */
static bool row_shows(const char *screen, const void *arg)
{
	const char *const *want = arg;
	char line[512];

	return line_of(screen, want[0], line, sizeof(line)) && strstr(line, want[1]);
}

/* No line is wider than 60 columns and the rows follow their heads unwrapped. */
static bool cut_to_60(const char *screen, const void *arg)
{
	const char *p = strstr(screen, "\nNAME "), *line;

	(void)arg;
	for (line = screen; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		if (strcspn(line, "\n") > 60)
			return false;
	}
	return p && !strncmp(strchr(p + 1, '\n') + 1, "alpha ", 6);
}

START_TEST(test_tmux_live_view)
{
	static char screen[CAPTURE_SZ];
	const char *const beta_192[] = { "beta", " 192 MiB/512 MiB " };
	const char *const alpha_80[] = { "alpha", " 80 MiB/512 MiB " };
	char modes[64];

	tmux_start();
	ck_assert_msg(tmux_until(screen, all_vms_shown, NULL), "%s", screen);
	assert_vm_rows(screen);
	ck_assert_msg(strstr(screen, "recent decisions"), "%s", screen);
	tmux_modes(modes, sizeof(modes));
	ck_assert_str_eq(modes, "1 0\n");

	/* A change shows up at the next redraw. */
	must_return(tx.op, "{\"execute\": \"set-allocation\", \"arguments\": {\"vm\": \"beta\","
			   " \"memory\": 201326592}}");
	ck_assert_msg(tmux_until(screen, row_shows, beta_192), "%s", screen);

	/* A narrower window: rows are cut, not wrapped. */
	ck_assert_int_eq(
		tmux(NULL, 0, "resize-window", "-t", TMUX_PANE, "-x", "60", "-y", "40", NULL), 0);
	must_return(tx.op, "{\"execute\": \"set-allocation\", \"arguments\": {\"vm\": \"alpha\","
			   " \"memory\": 83886080}}");
	ck_assert_msg(tmux_until(screen, row_shows, alpha_80), "%s", screen);
	ck_assert_msg(tmux_until(screen, cut_to_60, NULL), "%s", screen);

	/* q: the terminal is as it was, and the exit status 0. */
	ck_assert_int_eq(tmux(NULL, 0, "send-keys", "-t", TMUX_PANE, "q", NULL), 0);
	ck_assert_msg(tmux_until(screen, has, "exit=0"), "%s", screen);
	ck_assert_ptr_null(strstr(screen, "alpha"));
	tmux_modes(modes, sizeof(modes));
	ck_assert_str_eq(modes, "0 1\n");
}
END_TEST

START_TEST(test_tmux_broker_gone_exits_2)
{
	static char screen[CAPTURE_SZ];
	char modes[64], line[512];

	tmux_start();
	ck_assert_msg(tmux_until(screen, all_vms_shown, NULL), "%s", screen);
	kill(tx.broker, SIGKILL);
	ck_assert_int_eq(waitpid(tx.broker, NULL, 0), tx.broker);
	tx.broker = 0;
	ck_assert_msg(tmux_until(screen, has, "exit=2"), "%s", screen);
	ck_assert_msg(line_of(screen, "accord top: ", line, sizeof(line)), "%s", screen);
	ck_assert_msg(strstr(line, tx.sock) && strstr(line, "the broker went away"), "%s", line);
	ck_assert_ptr_null(strstr(screen, "alpha"));
	tmux_modes(modes, sizeof(modes));
	ck_assert_str_eq(modes, "0 1\n");
}
END_TEST

/* ---- without a broker ---- */

START_TEST(test_usage)
{
	const char *const none[] = { NULL };
	const char *const two[] = { "a.sock", "b.sock", NULL };
	const char *const fast[] = { "--interval", "0.05", "a.sock", NULL };
	const char *const odd[] = { "--interval", "soon", "a.sock", NULL };
	const char *const unknown[] = { "--delay", "1", "a.sock", NULL };
	const char *const bare[] = { "a.sock", "--timeout", NULL };
	const char *const help[] = { "--help", NULL };
	const struct {
		const char *const *words;
		const char *says;
	} bad[] = {
		{ none, "no BROKER_SOCKET" }, { two, "'b.sock'" },
		{ fast, "less than 0.1" },    { odd, "--interval: 'soon'" },
		{ unknown, "'--delay'" },     { bare, "--timeout needs a value" },
	};
	struct result r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		run_top(&r, bad[i].words);
		ck_assert_int_eq(r.status, TOP_EXIT_FAILED);
		assert_one_line(r.err, bad[i].says);
		free_result(&r);
	}
	memset(&r, 0, sizeof(r));
	run_top(&r, help);
	ck_assert_int_eq(r.status, TOP_EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "Usage: accord top "));
	free_result(&r);
}
END_TEST

START_TEST(test_sizes)
{
	const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ 512, "512 B" },
		{ 2 * MiB, "2 MiB" },
		{ 1536 * MiB, "1.5 GiB" },
		{ 1024 * MiB - 1, "1.0 GiB" },
		{ 100 * MiB + 512 * 1024, "100.5 MiB" },
		{ UINT64_MAX, "16.0 EiB" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		top__size(cases[i].bytes, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].text);
	}
}
END_TEST

/* What top__paint writes for @text on a @cols x @rows terminal (the caller frees it). */
static char *painted(const char *text, unsigned int cols, unsigned int rows)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	top__paint(f, text, cols, rows);
	ck_assert_int_eq(fclose(f), 0);
	return out;
}

START_TEST(test_paint_cuts_and_clears)
{
	char *a = painted("abcdef\nxy\n", 4, 3), *b = painted("one\ntwo\nthree\n", 10, 2);

	/* A full line is not cleared; the rows left over are. */
	ck_assert_str_eq(a, "\033[Habcd\r\nxy\033[K\r\n\033[J");
	/* Two rows: the third line is left out and the bottom row gets no line end. */
	ck_assert_str_eq(b, "\033[Hone\033[K\r\ntwo\033[K");
	free(a);
	free(b);
}
END_TEST

/* Text from the broker reaches the screen without its control bytes. */
START_TEST(test_render_untrusted_text)
{
	struct top_data d = {
		.vms = json_tokener_parse(
			"[{\"name\": \"ev\\u001b[2Jil\", \"id\": 1, \"memory\": {\"max\": -1}}]"),
		.ledger = json_tokener_parse("{\"pool\": {\"memory\": 1073741824}}"),
		.requests = json_tokener_parse("[{\"vm\": \"x\\u0007\", \"why\": \"\\u00e9\"}]"),
	};
	struct top_data bad = { .vms = d.ledger, .ledger = d.ledger, .requests = d.requests };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(top__render(f, "s\033ck", &d, 0), 0);
	ck_assert_int_eq(top__render(f, "s", &bad, 0), -EPROTO);
	fclose(f);
	ck_assert_msg(!strchr(text, '\033') && !strchr(text, '\a'), "%s", text);
	ck_assert_msg(strstr(text, "ev?[2Jil") && strstr(text, "s?ck") && strstr(text, "x?"), "%s",
		      text);
	ck_assert_msg(strstr(text, "?/?"), "a bad maximum is shown as '?': %s", text);
	free(text);
	json_object_put(d.vms);
	json_object_put(d.ledger);
	json_object_put(d.requests);
}
END_TEST

int main(void)
{
	/* The first five run each with a broker and three VMs; the rest alone. */
	const TTest *const tests[] = {
		test_once_lists_every_vm,
		test_not_a_terminal_prints_one_frame,
		test_unreachable_broker_exits_2,
		test_tmux_live_view,
		test_tmux_broker_gone_exits_2,
		test_usage,
		test_sizes,
		test_paint_cuts_and_clears,
		test_render_untrusted_text,
	};
	Suite *s = suite_create("accord top");
	TCase *broker = tcase_create("broker"), *alone = tcase_create("alone");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(broker, setup, teardown);
	tcase_set_timeout(broker, 60);
	suite_add_tcase(s, broker);
	suite_add_tcase(s, alone);
	sr = srunner_create(s);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tcase_add_test(i < 5 ? broker : alone, tests[i]);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
