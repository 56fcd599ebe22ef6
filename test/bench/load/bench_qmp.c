// SPDX-License-Identifier: MIT
/* The load generators' QMP connection (see bench_qmp.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "accord/clock.h"
#include "bench_qmp.h"

#define BQMP_BUF_MIN 4096
#define BQMP_IN_MAX  (BQMP_MAX_LINE + BQMP_BUF_MIN) /* a longest line, its "\r\n" and more */

int bqmp__connect(struct bqmp *c, const char *path, struct acc_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { BQMP_TIMEOUT_MS / 1000, 0 };
	int fd, ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return acc_errf(err, ENAMETOOLONG, "%s: the path is too long for a socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->tok = json_tokener_new();
	if (!c->tok)
		return acc_errf(err, ENOMEM, "out of memory");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = acc_errf(err, errno, "socket: %s", strerror(errno));
		goto free_tokener;
	}
	/*
	 * A blocking connect waits while the server's backlog is full (a
	 * nonblocking one to a Unix socket fails with EAGAIN instead); the
	 * send timeout bounds that wait.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = acc_errf(err, errno, "connect: %s",
			       errno == EAGAIN ? "the server does not accept connections"
					       : strerror(errno));
		goto close_fd;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) {
		ret = acc_errf(err, errno, "fcntl: %s", strerror(errno));
		goto close_fd;
	}
	c->fd = fd;
	return 0;

close_fd:
	close(fd);
free_tokener:
	json_tokener_free(c->tok);
	c->tok = NULL;
	return ret;
}

void bqmp__close(struct bqmp *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	json_object_put(c->last);
	c->last = NULL;
	if (c->tok)
		json_tokener_free(c->tok);
	c->tok = NULL;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->in_off = c->in_scan = c->in_len = c->in_cap = 0;
	c->out_off = c->out_len = c->out_cap = 0;
}

/* ---- output ---- */

static int out_append(struct bqmp *c, const char *buf, size_t len, struct acc_err *err)
{
	size_t pending = c->out_len - c->out_off, cap;
	char *p;

	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	if (pending + len > c->out_cap) {
		cap = c->out_cap ? c->out_cap : BQMP_BUF_MIN;
		while (cap < pending + len)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return acc_errf(err, ENOMEM, "out of memory");
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

bool bqmp__pending_out(const struct bqmp *c)
{
	return c->out_off < c->out_len;
}

/* After a failed send or read: 1 to try again (EINTR), 0 if it would block, else the error. */
static int io_failed(struct acc_err *err)
{
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	return acc_errf(err, errno == ECONNRESET ? EPIPE : errno,
			"the server closed the connection (%s)", strerror(errno));
}

int bqmp__flush(struct bqmp *c, struct acc_err *err)
{
	ssize_t n;
	int ret;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			ret = io_failed(err);
			if (ret > 0)
				continue;
			return ret;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

int bqmp__send(struct bqmp *c, const char *buf, size_t len, struct acc_err *err)
{
	int ret = out_append(c, buf, len, err);

	return ret ? ret : bqmp__flush(c, err);
}

int bqmp__execute(struct bqmp *c, const char *name, struct json_object *args, int64_t id,
		  bool with_id, struct acc_err *err)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	int ret;

	if (!o)
		return acc_errf(err, ENOMEM, "out of memory");
	json_object_object_add(o, "execute", json_object_new_string(name));
	if (args)
		json_object_object_add(o, "arguments", json_object_get(args));
	if (with_id)
		json_object_object_add(o, "id", json_object_new_int64(id));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	ret = text ? out_append(c, text, strlen(text), err)
		   : acc_errf(err, ENOMEM, "out of memory");
	if (!ret)
		ret = out_append(c, "\r\n", 2, err);
	json_object_put(o);
	return ret ? ret : bqmp__flush(c, err);
}

/* ---- input ---- */

/* Room for at least BQMP_BUF_MIN more bytes, unless the buffer is at its limit. */
static int in_reserve(struct bqmp *c, struct acc_err *err)
{
	size_t cap;
	char *p;

	if (c->in_off) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_scan -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_cap - c->in_len >= BQMP_BUF_MIN || c->in_cap == BQMP_IN_MAX)
		return 0;
	cap = c->in_cap ? c->in_cap * 2 : BQMP_BUF_MIN;
	if (cap > BQMP_IN_MAX)
		cap = BQMP_IN_MAX;
	p = realloc(c->in, cap);
	if (!p)
		return acc_errf(err, ENOMEM, "out of memory");
	c->in = p;
	c->in_cap = cap;
	return 0;
}

int bqmp__fill(struct bqmp *c, struct acc_err *err)
{
	size_t room;
	ssize_t n;
	int ret;

	for (;;) {
		ret = in_reserve(c, err);
		if (ret)
			return ret;
		room = c->in_cap - c->in_len;
		if (!room)
			return 0; /* full of one unfinished line: bqmp__next refuses it */
		n = read(c->fd, c->in + c->in_len, room);
		if (n < 0) {
			ret = io_failed(err);
			if (ret > 0)
				continue;
			return ret;
		}
		if (n == 0) {
			c->eof = true;
			return -EPIPE;
		}
		c->in_len += (size_t)n;
		/* Level-triggered epoll says when more comes; no extra read to see EAGAIN. */
		if ((size_t)n < room)
			return 0;
	}
}

static int classify(struct json_object *o, struct bqmp_msg *m)
{
	struct json_object *v;

	memset(m, 0, sizeof(*m));
	if (json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_int)) {
		m->has_id = true;
		m->id = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(o, "return", &m->value)) {
		m->kind = BQMP_RETURN;
	} else if (json_object_object_get_ex(o, "error", &m->value)) {
		m->kind = BQMP_ERROR;
	} else if (json_object_object_get_ex(o, "event", &v) &&
		   json_object_is_type(v, json_type_string)) {
		m->kind = BQMP_EVENT;
		m->event = json_object_get_string(v);
		json_object_object_get_ex(o, "data", &m->value);
	} else if (json_object_object_get_ex(o, "QMP", &m->value)) {
		m->kind = BQMP_GREETING;
	} else {
		return -EPROTO;
	}
	return 0;
}

int bqmp__next(struct bqmp *c, struct bqmp_msg *m, struct acc_err *err)
{
	struct json_object *o;
	char *line, *nl;
	size_t len, end;

	json_object_put(c->last);
	c->last = NULL;
	for (;;) {
		nl = c->in_len > c->in_scan
			     ? memchr(c->in + c->in_scan, '\n', c->in_len - c->in_scan)
			     : NULL;
		if (!nl) {
			c->in_scan = c->in_len;
			/* Room for the '\r' before the '\n' yet to come. */
			if (c->in_len - c->in_off > BQMP_MAX_LINE + 1)
				return acc_errf(err, EMSGSIZE,
						"the server sent a line longer than %d bytes",
						BQMP_MAX_LINE);
			return 0;
		}
		line = c->in + c->in_off;
		len = (size_t)(nl - line);
		c->in_off = c->in_scan = (size_t)(nl - c->in) + 1;
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (len > BQMP_MAX_LINE)
			return acc_errf(err, EMSGSIZE,
					"the server sent a line longer than %d bytes",
					BQMP_MAX_LINE);
		if (len)
			break;
	}
	json_tokener_reset(c->tok);
	o = json_tokener_parse_ex(c->tok, line, (int)len);
	end = json_tokener_get_parse_end(c->tok);
	if (!o || json_tokener_get_error(c->tok) != json_tokener_success || end != len ||
	    !json_object_is_type(o, json_type_object) || classify(o, m)) {
		json_object_put(o);
		return acc_errf(err, EPROTO,
				"the server sent a line that is not a QMP message: %.*s",
				(int)(len < 60 ? len : 60), line);
	}
	c->last = o;
	return 1;
}

/* ---- blocking helpers ---- */

int bqmp__wait(struct bqmp *c, struct bqmp_msg *m, int timeout_ms, struct acc_err *err)
{
	uint64_t deadline = clock__monotonic_ns() + (uint64_t)timeout_ms * 1000000;
	struct pollfd pfd;
	uint64_t now;
	int ret;

	for (;;) {
		ret = bqmp__next(c, m, err);
		if (ret)
			return ret < 0 ? ret : 0;
		if (c->eof)
			return acc_errf(err, EPIPE, "the server closed the connection");
		now = clock__monotonic_ns();
		if (now >= deadline)
			return acc_errf(err, ETIMEDOUT, "no answer in %d ms", timeout_ms);
		pfd = (struct pollfd){ c->fd, POLLIN | (bqmp__pending_out(c) ? POLLOUT : 0), 0 };
		ret = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (ret < 0 && errno != EINTR)
			return acc_errf(err, errno, "poll: %s", strerror(errno));
		if (ret <= 0)
			continue;
		if (pfd.revents & POLLOUT) {
			ret = bqmp__flush(c, err);
			if (ret)
				return ret;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ret = bqmp__fill(c, err);
			if (ret && ret != -EPIPE)
				return ret;
		}
	}
}

const char *bqmp__error_desc(const struct bqmp_msg *m)
{
	struct json_object *d;

	if (m->value && json_object_object_get_ex(m->value, "desc", &d) &&
	    json_object_is_type(d, json_type_string))
		return json_object_get_string(d);
	return "?";
}

int bqmp__call(struct bqmp *c, const char *name, struct json_object *args, struct bqmp_msg *m,
	       struct acc_err *err)
{
	int ret = bqmp__execute(c, name, args, 0, false, err);

	while (!ret) {
		ret = bqmp__wait(c, m, BQMP_TIMEOUT_MS, err);
		if (ret)
			break;
		if (m->kind == BQMP_RETURN)
			return 0;
		if (m->kind == BQMP_ERROR)
			return acc_errf(err, EREMOTEIO, "%s: %s", name, bqmp__error_desc(m));
		if (m->kind == BQMP_GREETING)
			return acc_errf(err, EPROTO, "%s: a second greeting", name);
	}
	acc_err_prefix(err, "%s: ", name);
	return ret;
}

int bqmp__handshake(struct bqmp *c, struct acc_err *err)
{
	struct bqmp_msg m;
	int ret = bqmp__wait(c, &m, BQMP_TIMEOUT_MS, err);

	if (ret == -ETIMEDOUT)
		return acc_errf(err, ETIMEDOUT,
				"no greeting in %d ms (QEMU's -qmp socket serves one client at a "
				"time)",
				BQMP_TIMEOUT_MS);
	if (ret) {
		acc_err_prefix(err, "greeting: ");
		return ret;
	}
	/* accord sends an error instead of the greeting when it has too many clients. */
	if (m.kind == BQMP_ERROR)
		return acc_errf(err, ECONNREFUSED, "the server refused the connection: %s",
				bqmp__error_desc(&m));
	if (m.kind != BQMP_GREETING)
		return acc_errf(err, EPROTO, "the server did not start with a QMP greeting");
	return bqmp__call(c, "qmp_capabilities", NULL, &m, err);
}
