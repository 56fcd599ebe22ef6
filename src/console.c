// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "accord/console.h"

/*
 * What a fatal-signal handler needs to give the terminal back: the only
 * process-wide state in accord, because a handler has no other way to it.
 */
static struct termios crash_termios;
static volatile sig_atomic_t crash_termios_valid;

static void console__crash_handler(int sig)
{
	if (crash_termios_valid)
		tcsetattr(STDIN_FILENO, TCSANOW, &crash_termios);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void console__install_crash_handlers(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = console__crash_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

static int console__make_raw(struct console *c, struct acc_err *err)
{
	struct termios raw;

	if (tcgetattr(c->in_fd, &c->saved))
		return acc_errf(err, errno, "console: tcgetattr: %s", strerror(errno));
	raw = c->saved;
	cfmakeraw(&raw);
	/* Keep output post-processing so host-side messages stay readable. */
	raw.c_oflag |= OPOST | ONLCR;
	crash_termios = c->saved;
	crash_termios_valid = 1;
	console__install_crash_handlers();
	if (tcsetattr(c->in_fd, TCSANOW, &raw)) {
		crash_termios_valid = 0;
		return acc_errf(err, errno, "console: tcsetattr: %s", strerror(errno));
	}
	c->raw = true;
	return 0;
}

int console__open(struct console *c, enum console_mode mode, const char *path,
		  const struct acc_log *log, struct acc_err *err)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->in_fd = -1;
	c->out_fd = -1;
	c->log = log;
	switch (mode) {
	case CONSOLE_NONE:
		return 0;
	case CONSOLE_FILE:
		c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0)
			return acc_errf(err, errno, "console file '%s': %s", path, strerror(errno));
		c->owns_out_fd = true;
		return 0;
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		/* Without a readable stdin the guest simply gets no input. */
		if (fcntl(c->in_fd, F_GETFL) < 0) {
			c->in_fd = -1;
			return 0;
		}
		if (isatty(c->in_fd))
			return console__make_raw(c, err);
		return 0;
	}
	return acc_errf(err, EINVAL, "console: unknown mode");
}

void console__close(struct console *c)
{
	if (c->raw) {
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
		crash_termios_valid = 0;
		c->raw = false;
	}
	if (c->owns_out_fd && c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
}

void console__output(void *ctx, const uint8_t *buf, unsigned int len)
{
	struct console *c = ctx;

	while (len && c->out_fd >= 0 && !c->output_failed) {
		ssize_t n = write(c->out_fd, buf, len);

		/* Only the stop kick interrupts a vCPU thread: drop the output and stop. */
		if (n < 0 && errno == EINTR)
			return;
		if (n <= 0) {
			/* A closed terminal or full disk must not stop the guest. */
			log_warn(c->log, "console output failed: %s; discarding further output",
				 n < 0 ? strerror(errno) : "short write");
			c->output_failed = true;
			return;
		}
		buf += n;
		len -= (unsigned int)n;
	}
}

unsigned int console__filter_input(struct console *c, const uint8_t *in, unsigned int len,
				   uint8_t *out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < len; i++) {
		uint8_t ch = in[i];

		if (!c->raw) {
			out[n++] = ch;
			continue;
		}
		if (!c->escape_pending) {
			if (ch == CONSOLE_ESCAPE)
				c->escape_pending = true;
			else
				out[n++] = ch;
			continue;
		}
		c->escape_pending = false;
		if (ch == CONSOLE_ESCAPE) {
			out[n++] = ch;
		} else if (ch == 'x' || ch == 'X') {
			if (c->stop)
				c->stop->stop(c->stop->ctx, VM_STOP_SIGNAL, SIGINT);
		} else if (ch == 'h' || ch == '?') {
			static const char help[] = "\r\nC-a x    stop the VM\r\n"
						   "C-a C-a  send C-a to the guest\r\n";

			console__output(c, (const uint8_t *)help, sizeof(help) - 1);
		}
	}
	return n;
}

static void console__on_input(struct event_handler *h, uint32_t events)
{
	struct console *c = h->ctx;
	uint8_t buf[256], out[256];
	ssize_t n;

	n = read(c->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input (or an error): keep the VM running without it. */
		eventloop__del(c->el, h);
		return;
	}
	n = console__filter_input(c, buf, (unsigned int)n, out);
	if (n > 0 && c->sink.input(c->sink.ctx, out, (unsigned int)n) < (unsigned int)n)
		log_warn(c->log, "console input overran the guest's input buffer");
}

int console__attach(struct console *c, struct event_loop *el, const struct console_sink *sink,
		    struct stop_sink *stop)
{
	int ret;

	c->sink = *sink;
	c->stop = stop;
	if (c->in_fd < 0)
		return 0;
	c->el = el;
	c->input = (struct event_handler){ c->in_fd, console__on_input, c };
	ret = eventloop__add(el, &c->input, EPOLLIN);
	/* Files and /dev/null cannot be polled: they have no interactive input. */
	if (ret == -EPERM)
		ret = 0;
	return ret;
}
