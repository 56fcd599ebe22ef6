// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_host runner): the sandbox's filters and capability drop,
 * each in a child process that enters them (a filter cannot be left). A
 * call outside a role's list stops the child with status 159 and one line
 * naming the call and the thread; allowed calls work; log mode lets a
 * forbidden call through. Under valgrind, whose own system calls no list
 * allows, only the mode names are tested.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accord/sandbox.h"
#include "fake_sysfs.h"
#include "valgrind_test.h"

struct child_result {
	int status; /* exit status, or 128 + signal */
	char err[512];
};

/* What the child does once confined; its return value is its exit status. */
typedef int (*confined_fn)(void);

static void run_confined(enum sandbox_mode mode, enum sandbox_role role, confined_fn fn,
			 struct child_result *r)
{
	int pipefd[2], ws;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sandbox sb;
		struct acc_err err;

		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		if (sandbox__init(&sb, mode, &err)) {
			fprintf(stderr, "init: %s\n", err.msg);
			_exit(90);
		}
		if (sandbox__enter(&sb, role))
			_exit(91);
		_exit(fn());
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], r->err + len, sizeof(r->err) - 1 - len)) > 0)
		len += (size_t)n;
	r->err[len] = '\0';
	close(pipefd[0]);
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void expect_stopped(const struct child_result *r, const char *thread, const char *call)
{
	char want[96];

	ck_assert_msg(r->status == SANDBOX_EXIT_STATUS, "status %d, stderr: %s", r->status, r->err);
	snprintf(want, sizeof(want), "the %s thread made system call ", thread);
	ck_assert_msg(strstr(r->err, want), "'%s' not in: %s", want, r->err);
	snprintf(want, sizeof(want), "(%s), which its allowlist does not permit", call);
	ck_assert_msg(strstr(r->err, want), "'%s' not in: %s", want, r->err);
	/* One line. */
	ck_assert_ptr_eq(strchr(r->err, '\n'), r->err + strlen(r->err) - 1);
}

static int open_inet_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
}

static int open_file(void)
{
	return open("/dev/null", O_RDONLY) >= 0 ? 0 : 1;
}

static int map_executable(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
			       MAP_FAILED
		       ? 1
		       : 0;
}

static int inject_terminal_input(void)
{
	char c = 'x';

	(void)ioctl(STDIN_FILENO, TIOCSTI, &c);
	return 0;
}

static int start_a_process(void)
{
	return fork() >= 0 ? 0 : 1;
}

/* What the event loop does all day must keep working. */
static int event_loop_work(void)
{
	int fds[2];
	char buf[4] = "ping";
	void *p;

	if (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0)
		return 10;
	if (pipe2(fds, O_CLOEXEC) || write(fds[1], buf, 4) != 4 || read(fds[0], buf, 4) != 4)
		return 12;
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 13;
	memset(p, 1, 1 << 20);
	if (munmap(p, 1 << 20))
		return 14;
	free(malloc(1 << 22)); /* malloc's own mmap and munmap */
	if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
		return 15;
	return 0;
}

START_TEST(test_event_loop_keeps_what_it_needs)
{
	struct child_result r;

	run_confined(SANDBOX_ON, SANDBOX_EVENT_LOOP, event_loop_work, &r);
	ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
}
END_TEST

START_TEST(test_event_loop_opens_no_network_socket)
{
	struct child_result r;

	run_confined(SANDBOX_ON, SANDBOX_EVENT_LOOP, open_inet_socket, &r);
	expect_stopped(&r, "event-loop", "socket");
}
END_TEST

START_TEST(test_no_thread_maps_executable_memory)
{
	struct child_result r;

	run_confined(SANDBOX_ON, SANDBOX_EVENT_LOOP, map_executable, &r);
	expect_stopped(&r, "event-loop", "mmap");
	run_confined(SANDBOX_ON, SANDBOX_VCPU, map_executable, &r);
	expect_stopped(&r, "vCPU", "mmap");
}
END_TEST

START_TEST(test_terminal_injection_is_refused)
{
	struct child_result r;

	run_confined(SANDBOX_ON, SANDBOX_EVENT_LOOP, inject_terminal_input, &r);
	expect_stopped(&r, "event-loop", "ioctl");
}
END_TEST

START_TEST(test_vcpu_thread_opens_no_file)
{
	struct child_result r;

	run_confined(SANDBOX_ON, SANDBOX_VCPU, open_file, &r);
	expect_stopped(&r, "vCPU", "openat");
}
END_TEST

START_TEST(test_no_thread_starts_a_process)
{
	struct child_result r;

	run_confined(SANDBOX_ON, SANDBOX_EVENT_LOOP, start_a_process, &r);
	expect_stopped(&r, "event-loop", "clone");
	run_confined(SANDBOX_ON, SANDBOX_VCPU, start_a_process, &r);
	expect_stopped(&r, "vCPU", "clone");
}
END_TEST

START_TEST(test_log_mode_lets_the_call_through)
{
	struct child_result r;

	run_confined(SANDBOX_LOG, SANDBOX_EVENT_LOOP, open_inet_socket, &r);
	ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "");
}
END_TEST

START_TEST(test_off_filters_nothing)
{
	struct child_result r;

	run_confined(SANDBOX_OFF, SANDBOX_VCPU, open_file, &r);
	ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
}
END_TEST

static int drop_and_check(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
	struct acc_err err;

	if (sandbox__drop_privileges(NULL, 0, &err))
		return 20;
	if (syscall(SYS_capget, &hdr, caps))
		return 21;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		if (caps[i].effective || caps[i].permitted || caps[i].inheritable)
			return 22;
	}
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return 23;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 24;
	/* Root without capabilities: no chroot, no raw I/O ports. */
	if (chroot("/") == 0 || errno != EPERM)
		return 25;
	return 0;
}

START_TEST(test_drop_privileges_leaves_no_capability)
{
	struct child_result r;

	run_confined(SANDBOX_OFF, SANDBOX_EVENT_LOOP, drop_and_check, &r);
	ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
}
END_TEST

START_TEST(test_mode_names)
{
	enum sandbox_mode m;

	ck_assert_int_eq(sandbox__parse_mode("on", &m), 0);
	ck_assert_int_eq(m, SANDBOX_ON);
	ck_assert_int_eq(sandbox__parse_mode("log", &m), 0);
	ck_assert_int_eq(m, SANDBOX_LOG);
	ck_assert_int_eq(sandbox__parse_mode("off", &m), 0);
	ck_assert_int_eq(m, SANDBOX_OFF);
	ck_assert_int_eq(sandbox__parse_mode("ON", &m), -EINVAL);
	ck_assert_int_eq(sandbox__parse_mode("", &m), -EINVAL);
	ck_assert_str_eq(sandbox__mode_name(SANDBOX_LOG), "log");
}
END_TEST

Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("seccomp");

	tcase_add_test(tc, test_mode_names);
	if (under_valgrind()) {
		fprintf(stderr, "sandbox: under valgrind only the mode names are tested\n");
		suite_add_tcase(s, tc);
		return s;
	}
	tcase_add_test(tc, test_event_loop_keeps_what_it_needs);
	tcase_add_test(tc, test_event_loop_opens_no_network_socket);
	tcase_add_test(tc, test_no_thread_maps_executable_memory);
	tcase_add_test(tc, test_terminal_injection_is_refused);
	tcase_add_test(tc, test_vcpu_thread_opens_no_file);
	tcase_add_test(tc, test_no_thread_starts_a_process);
	tcase_add_test(tc, test_log_mode_lets_the_call_through);
	tcase_add_test(tc, test_off_filters_nothing);
	tcase_add_test(tc, test_drop_privileges_leaves_no_capability);
	suite_add_tcase(s, tc);
	return s;
}
