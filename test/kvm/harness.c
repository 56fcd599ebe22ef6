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
#include "accord/tmpfile.h"

#define MAX_ARGS 32
#define NOBODY	 65534

char *harness_slurp(const char *path)
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
	char *text = harness_slurp(path);
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

void harness_start(struct accord_proc *p, const char *const args[], enum harness_isolation iso)
{
	const char *argv[MAX_ARGS + 6];
	char console_opt[128];
	int n = 0, fd;

	memset(p, 0, sizeof(*p));
	p->iso = iso;
	ck_assert_int_eq(acc_mkdtemp(p->dir, sizeof(p->dir), "/tmp", "accord-test"), 0);
	/* The unprivileged child must be able to write its console file there. */
	if (iso == HARNESS_UNPRIVILEGED)
		chmod(p->dir, 0777);
	snprintf(p->console, sizeof(p->console), "%s/console", p->dir);
	snprintf(p->errpath, sizeof(p->errpath), "%s/stderr", p->dir);
	snprintf(console_opt, sizeof(console_opt), "file=%s", p->console);

	/* nobody may not be able to reach the build tree (a clone under /root). */
	if (iso == HARNESS_UNPRIVILEGED) {
		snprintf(p->bin, sizeof(p->bin), "%s/accord", p->dir);
		copy_executable(ACCORD_BIN, p->bin);
	} else {
		snprintf(p->bin, sizeof(p->bin), "%s", ACCORD_BIN);
	}
	argv[n++] = p->bin;
	argv[n++] = "run";
	for (int i = 0; args[i]; i++) {
		ck_assert_int_lt(n, MAX_ARGS);
		argv[n++] = args[i];
	}
	argv[n++] = "--console";
	argv[n++] = console_opt;
	argv[n] = NULL;

	clock_gettime(CLOCK_MONOTONIC, &p->started);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		fd = open(p->errpath, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(92);
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
			_exit(93);
		child_isolate(iso);
		execv(p->bin, (char *const *)argv);
		_exit(94);
	}
}

int harness_age_s(const struct accord_proc *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)(now.tv_sec - p->started.tv_sec);
}

bool harness_wait_console(struct accord_proc *p, const char *needle, int timeout_s)
{
	for (;;) {
		if (file_contains(p->console, needle))
			return true;
		if (harness_age_s(p) >= timeout_s ||
		    waitpid(p->pid, &p->wstatus, WNOHANG) == p->pid) {
			p->exited = p->exited || harness_age_s(p) < timeout_s;
			return file_contains(p->console, needle);
		}
		usleep(20 * 1000);
	}
}

void harness_finish(struct accord_proc *p, struct accord_run *r, int timeout_s, const char *until)
{
	bool signalled = false;

	memset(r, 0, sizeof(*r));
	while (!p->exited) {
		pid_t w = waitpid(p->pid, &p->wstatus, WNOHANG);

		if (w == p->pid)
			break;
		ck_assert_int_eq(w, 0);
		if (harness_age_s(p) >= timeout_s) {
			r->timed_out = true;
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &p->wstatus, 0);
			break;
		}
		if (until && !signalled && file_contains(p->console, until)) {
			kill(p->pid, SIGTERM);
			signalled = true;
		}
		usleep(50 * 1000);
	}
	r->status = WIFEXITED(p->wstatus) ? WEXITSTATUS(p->wstatus) : 128 + WTERMSIG(p->wstatus);
	r->console = harness_slurp(p->console);
	r->err = harness_slurp(p->errpath);
	unlink(p->console);
	unlink(p->errpath);
	if (p->iso == HARNESS_UNPRIVILEGED)
		unlink(p->bin);
	rmdir(p->dir);
}

void harness_run(struct accord_run *r, const char *const args[], int timeout_s, const char *until,
		 enum harness_isolation iso)
{
	struct accord_proc p;

	harness_start(&p, args, iso);
	harness_finish(&p, r, timeout_s, until);
}

long harness_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
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
