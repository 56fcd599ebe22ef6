// SPDX-License-Identifier: MIT
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_ARGS 32
#define NOBODY	 65534

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap + 1);

	ck_assert_ptr_nonnull(buf);
	if (!f) {
		buf[0] = '\0';
		return buf;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static bool file_contains(const char *path, const char *needle)
{
	char *text = slurp(path);
	bool found = strstr(text, needle) != NULL;

	free(text);
	return found;
}

static void copy_executable(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	close(out);
}

static void child_isolate(enum harness_isolation iso)
{
	if (iso == HARNESS_UNPRIVILEGED) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(90);
	} else if (iso == HARNESS_NO_DEV) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/dev", "tmpfs", 0, "size=64k"))
			_exit(91);
	}
}

void harness_run(struct accord_run *r, const char *const args[], int timeout_s, const char *until,
		 enum harness_isolation iso)
{
	char dir[] = "/tmp/accord-test-XXXXXX", console[64], errpath[64], console_opt[80];
	char bin[4096];
	const char *argv[MAX_ARGS + 6];
	struct timespec start, now;
	bool signalled = false;
	int n = 0, wstatus, fd;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* The unprivileged child must be able to write its console file there. */
	if (iso == HARNESS_UNPRIVILEGED)
		chmod(dir, 0777);
	snprintf(console, sizeof(console), "%s/console", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	snprintf(console_opt, sizeof(console_opt), "file=%s", console);

	/* nobody may not be able to reach the build tree (a clone under /root). */
	if (iso == HARNESS_UNPRIVILEGED) {
		snprintf(bin, sizeof(bin), "%s/accord", dir);
		copy_executable(ACCORD_BIN, bin);
	} else {
		snprintf(bin, sizeof(bin), "%s", ACCORD_BIN);
	}
	argv[n++] = bin;
	argv[n++] = "run";
	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(n, MAX_ARGS);
		argv[n++] = args[i];
	}
	argv[n++] = "--console";
	argv[n++] = console_opt;
	argv[n] = NULL;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(92);
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
			_exit(93);
		child_isolate(iso);
		execv(bin, (char *const *)argv);
		_exit(94);
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t w = waitpid(pid, &wstatus, WNOHANG);

		if (w == pid)
			break;
		ck_assert_int_eq(w, 0);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout_s) {
			r->timed_out = true;
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			break;
		}
		if (until && !signalled && file_contains(console, until)) {
			kill(pid, SIGTERM);
			signalled = true;
		}
		usleep(50 * 1000);
	}
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r->console = slurp(console);
	r->err = slurp(errpath);
	unlink(console);
	unlink(errpath);
	if (iso == HARNESS_UNPRIVILEGED)
		unlink(bin);
	rmdir(dir);
}

void harness_free(struct accord_run *r)
{
	free(r->console);
	free(r->err);
	r->console = r->err = NULL;
}

int harness_count(const char *text, const char *needle)
{
	int count = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		count++;
	return count;
}
