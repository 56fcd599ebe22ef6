// SPDX-License-Identifier: MIT
/* accord-bench: child processes, their output, and waiting on them. */
#include "bench.h"

#include "accord/tmpfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

double bench_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double since_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

int bench_spawn(const char *const argv[], const char *out_path, struct bench_child *ch)
{
	return bench_spawn_on(argv, out_path, -1, ch);
}

int bench_spawn_on(const char *const argv[], const char *out_path, int cpu, struct bench_child *ch)
{
	int out, in;

	memset(ch, 0, sizeof(*ch));
	out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		int err = -errno;

		close(out);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &ch->started);
	ch->pid = fork();
	if (ch->pid == 0) {
		/* Its own process group, so that everything it starts can be killed. */
		setpgid(0, 0);
		if (cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				_exit(126);
		}
		dup2(in, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in);
	close(out);
	if (ch->pid < 0)
		return -errno;
	setpgid(ch->pid, ch->pid);
	return 0;
}

static int reap(struct bench_child *ch, int flags)
{
	pid_t r;

	if (ch->reaped)
		return 0;
	do
		r = wait4(ch->pid, &ch->status, flags, &ch->ru);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	ch->wall_ms = since_ms(&ch->started);
	ch->reaped = true;
	return 0;
}

int bench_wait(struct bench_child *ch, int timeout_ms)
{
	double end = bench_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = reap(ch, WNOHANG);
		if (ret != -ETIMEDOUT || bench_now_ms() >= end)
			return ret;
		usleep(200);
	}
}

void bench_kill(struct bench_child *ch)
{
	if (!ch->pid || ch->reaped)
		return;
	kill(-ch->pid, SIGKILL);
	kill(ch->pid, SIGKILL);
	reap(ch, 0);
}

int bench_exit_code(const struct bench_child *ch)
{
	if (WIFEXITED(ch->status))
		return WEXITSTATUS(ch->status);
	return WIFSIGNALED(ch->status) ? 128 + WTERMSIG(ch->status) : -1;
}

char *bench_slurp(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (!buf || fd < 0)
		goto fail;
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				goto fail;
			buf = bigger;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

bool bench_wait_text(struct bench_child *ch, const char *path, const char *needle, int timeout_ms)
{
	double end = bench_now_ms() + timeout_ms;

	for (;;) {
		char *text = bench_slurp(path);
		bool found = text && strstr(text, needle);

		free(text);
		if (found)
			return true;
		if (reap(ch, WNOHANG) == 0 || bench_now_ms() >= end)
			return false;
		usleep(2000);
	}
}

bool bench_wait_socket(const char *path, int timeout_ms)
{
	double end = bench_now_ms() + timeout_ms;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path))
		return false;
	strcpy(addr.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool up = fd >= 0 && !connect(fd, (struct sockaddr *)&addr, sizeof(addr));

		if (fd >= 0)
			close(fd);
		if (up)
			return true;
		if (bench_now_ms() >= end)
			return false;
		usleep(2000);
	}
}

int bench_run_capture(const char *const argv[], int timeout_ms, char **out)
{
	return bench_run_capture_on(argv, timeout_ms, -1, out);
}

int bench_run_capture_on(const char *const argv[], int timeout_ms, int cpu, char **out)
{
	char path[128];
	struct bench_child ch;
	int fd = acc_mkstemp(path, sizeof(path), "/tmp", "accord-bench-out"), ret;

	*out = NULL;
	if (fd < 0)
		return fd;
	close(fd);
	ret = bench_spawn_on(argv, path, cpu, &ch);
	if (ret)
		goto remove_file;
	ret = bench_wait(&ch, timeout_ms);
	if (ret) {
		bench_kill(&ch);
		goto remove_file;
	}
	*out = bench_slurp(path);
	ret = bench_exit_code(&ch);
remove_file:
	unlink(path);
	return ret;
}

long bench_status_kb(pid_t pid, const char *field)
{
	char path[64], *text, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	text = bench_slurp(path);
	if (text && (p = strstr(text, field)))
		kb = strtol(p + strlen(field), NULL, 10);
	free(text);
	return kb;
}
