// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accord/stop.h"
#include "accord/uml.h"

#define UML_CONSOLE_IN_FD  3
#define UML_CONSOLE_OUT_FD 4

/* Append one formatted argument; -E2BIG when @buf or @argv is full. */
static int add_arg(char **argv, unsigned int *n, char *buf, size_t cap, size_t *used,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int add_arg(char **argv, unsigned int *n, char *buf, size_t cap, size_t *used,
		   const char *fmt, ...)
{
	va_list ap;
	int len;

	if (*n + 1 >= UML_MAX_ARGS || *used >= cap)
		return -E2BIG;
	va_start(ap, fmt);
	len = vsnprintf(buf + *used, cap - *used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= cap - *used)
		return -E2BIG;
	argv[(*n)++] = buf + *used;
	argv[*n] = NULL;
	*used += (size_t)len + 1;
	return 0;
}

int uml__build_argv(const struct uml_spawn *s, char **argv, char *buf, size_t cap)
{
	unsigned int n = 0;
	size_t used = 0;
	const char *p;
	int ret;

	ret = add_arg(argv, &n, buf, cap, &used, "%s", s->kernel);
	if (!ret)
		ret = add_arg(argv, &n, buf, cap, &used, "mem=%lluM",
			      (unsigned long long)(s->mem_size >> 20));
	if (!ret && s->initrd)
		ret = add_arg(argv, &n, buf, cap, &used, "initrd=%s", s->initrd);
	if (!ret && s->run_dir)
		ret = add_arg(argv, &n, buf, cap, &used, "uml_dir=%s", s->run_dir);
	/* con0 on accord's pipes; no other consoles or serial lines (they would take ptys). */
	if (!ret)
		ret = add_arg(argv, &n, buf, cap, &used, "con=null");
	if (!ret)
		ret = add_arg(argv, &n, buf, cap, &used, "ssl=null");
	if (!ret)
		ret = add_arg(argv, &n, buf, cap, &used, "con0=fd:%d,fd:%d", UML_CONSOLE_IN_FD,
			      UML_CONSOLE_OUT_FD);
	if (!ret)
		ret = add_arg(argv, &n, buf, cap, &used, "console=tty0");
	for (unsigned int i = 0; !ret && i < s->nr_devices; i++)
		ret = add_arg(argv, &n, buf, cap, &used, "virtio_uml.device=%s:%u",
			      s->devices[i].socket, s->devices[i].virtio_id);
	/* UML takes its kernel command line as words. */
	for (p = s->cmdline ? s->cmdline : ""; !ret && *p;) {
		size_t len;

		p += strspn(p, " \t\n");
		len = strcspn(p, " \t\n");
		if (len)
			ret = add_arg(argv, &n, buf, cap, &used, "%.*s", (int)len, p);
		p += len;
	}
	return ret;
}

/* The child's credentials: another user (--runas), and no capabilities either way. */
static void uml__child_creds(const struct uml_spawn *s, pid_t parent)
{
	struct acc_err err;

	if (sandbox__drop_privileges(s->runas ? &s->user : NULL, 0, &err)) {
		dprintf(STDERR_FILENO, "accord: uml: %s\n", err.msg);
		_exit(127);
	}
	/* What UML leaves in the run directory stays removable by accord, of its group. */
	if (s->runas) {
		umask(007);
		/* And its memory file goes there: TMPDIR may be closed to that user. */
		if (s->run_dir && setenv("TMPDIR", s->run_dir, 1))
			_exit(127);
	}
	/* A change of credentials clears the death signal: set it afterwards. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
}

static void uml__child(const struct uml_spawn *s, char **argv, int in_fd, int out_fd, pid_t parent)
{
	sigset_t none;
	int null_fd;

	/* Its own group at once, so accord can always stop all of it. */
	setpgid(0, 0);
	uml__child_creds(s, parent);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Ignored signals stay ignored across exec; UML expects the defaults. */
	signal(SIGPIPE, SIG_DFL);
	/*
	 * Without address-space randomisation: UML counts the random gap between
	 * its binary and its heap as memory and would report a different MemTotal
	 * on every boot.
	 */
	personality((unsigned long)personality(0xffffffff) | ADDR_NO_RANDOMIZE);
	/* Out of the way of 0..4 first, so that no dup2 below overwrites the other. */
	in_fd = fcntl(in_fd, F_DUPFD, 10);
	out_fd = fcntl(out_fd, F_DUPFD, 10);
	null_fd = open("/dev/null", O_RDONLY);
	if (in_fd < 0 || out_fd < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 ||
	    dup2(in_fd, UML_CONSOLE_IN_FD) < 0 || dup2(out_fd, UML_CONSOLE_OUT_FD) < 0)
		_exit(127);
	if (syscall(SYS_close_range, UML_CONSOLE_OUT_FD + 1, ~0u, 0)) {
		for (int fd = UML_CONSOLE_OUT_FD + 1; fd < 1024; fd++)
			close(fd);
	}
	execv(argv[0], argv);
	dprintf(STDERR_FILENO, "accord: uml: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int uml__spawn(struct uml_child *c, const struct uml_spawn *s, struct acc_err *err)
{
	char *argv[UML_MAX_ARGS + 1];
	char buf[8192];
	int in[2], out[2], ret;
	pid_t parent;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->pidfd = c->console_in = c->console_out = -1;
	if (uml__build_argv(s, argv, buf, sizeof(buf)))
		return acc_errf(err, E2BIG, "uml: the kernel command line is too long");
	if (pipe2(in, O_CLOEXEC))
		return acc_errf(err, errno, "uml: pipe: %s", strerror(errno));
	if (pipe2(out, O_CLOEXEC)) {
		ret = acc_errf(err, errno, "uml: pipe: %s", strerror(errno));
		goto close_in;
	}
	parent = getpid();
	c->pid = fork();
	if (c->pid < 0) {
		ret = acc_errf(err, errno, "uml: fork: %s", strerror(errno));
		goto close_out;
	}
	if (c->pid == 0)
		uml__child(s, argv, in[0], out[1], parent);
	setpgid(c->pid, c->pid); /* whichever of the two runs first */
	close(in[0]);
	close(out[1]);
	c->console_in = in[1];
	c->console_out = out[0];
	fcntl(c->console_in, F_SETFL, O_NONBLOCK);
	fcntl(c->console_out, F_SETFL, O_NONBLOCK);
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0) {
		ret = acc_errf(err, errno, "uml: pidfd_open: %s", strerror(errno));
		uml__stop(c, 0);
		uml__close(c);
		return ret;
	}
	return 0;

close_out:
	close(out[0]);
	close(out[1]);
close_in:
	close(in[0]);
	close(in[1]);
	return ret;
}

int uml__reap(struct uml_child *c)
{
	pid_t w;

	if (c->reaped)
		return 0;
	w = waitpid(c->pid, &c->wait_status, WNOHANG);
	if (w < 0)
		return -errno;
	if (w == 0)
		return -EAGAIN;
	c->reaped = true;
	/* Guest processes left behind in its group go with it. */
	kill(-c->pid, SIGKILL);
	return 0;
}

int uml__exit_status(const struct uml_child *c)
{
	if (!c->reaped)
		return EXIT_STATUS_INTERNAL;
	if (WIFEXITED(c->wait_status))
		return WEXITSTATUS(c->wait_status);
	return EXIT_STATUS_KVM_ERROR;
}

void uml__stop(struct uml_child *c, int grace_ms)
{
	struct pollfd pfd = { c->pidfd, POLLIN, 0 };

	if (c->pid <= 0 || c->reaped)
		return;
	/* UML cleans up on SIGTERM (its helpers, its files); a stuck one is killed. */
	kill(-c->pid, SIGTERM);
	if (c->pidfd >= 0 && grace_ms > 0)
		poll(&pfd, 1, grace_ms);
	if (uml__reap(c)) {
		/* Not waited for if it cannot be killed: PDEATHSIG ends it with accord. */
		if (kill(-c->pid, SIGKILL) && errno != ESRCH)
			return;
		waitpid(c->pid, &c->wait_status, 0);
		c->reaped = true;
		kill(-c->pid, SIGKILL);
	}
}

void uml__close(struct uml_child *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->console_in >= 0)
		close(c->console_in);
	if (c->console_out >= 0)
		close(c->console_out);
	c->pidfd = c->console_in = c->console_out = -1;
}
