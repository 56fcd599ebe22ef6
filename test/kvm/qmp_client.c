// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp_client.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for a whole line in the buffer: its length with the "\n", or 0 at the deadline or EOF. */
static size_t fill_line(struct qmp_client *c, long deadline)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		long left = deadline - now_ms();
		ssize_t r;

		if (nl)
			return (size_t)(nl - c->buf) + 1;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 || c->len == sizeof(c->buf) - 1)
			return 0;
		r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (r <= 0)
			return 0;
		c->len += (size_t)r;
	}
}

static void consume(struct qmp_client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* The next line from the server, parsed; NULL at the deadline or on EOF. */
static struct json_object *read_message(struct qmp_client *c, long deadline)
{
	struct json_object *o;
	size_t n;

	while ((n = fill_line(c, deadline))) {
		c->buf[n - 1] = '\0';
		o = json_tokener_parse(c->buf);
		consume(c, n);
		if (o)
			return o;
	}
	return NULL;
}

char *qmpc_read_line(struct qmp_client *c, int timeout_ms)
{
	size_t n = fill_line(c, now_ms() + timeout_ms);
	char *line;

	if (!n)
		return NULL;
	line = strndup(c->buf, n);
	consume(c, n);
	return line;
}

static void keep_event(struct qmp_client *c, struct json_object *o)
{
	if (c->nr_events < QMPC_MAX_EVENTS)
		c->events[c->nr_events++] = o;
	else
		json_object_put(o);
}

bool qmpc_open(struct qmp_client *c, const char *path, int timeout_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long deadline = now_ms() + timeout_s * 1000L;

	memset(c, 0, sizeof(*c));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return false;
		if (!connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
			return true;
		close(c->fd);
		c->fd = -1;
		if (now_ms() > deadline)
			return false;
		usleep(20 * 1000);
	}
}

bool qmpc_connect(struct qmp_client *c, const char *path, int timeout_s)
{
	long deadline = now_ms() + timeout_s * 1000L;
	struct json_object *o;

	if (!qmpc_open(c, path, timeout_s))
		return false;
	o = read_message(c, deadline);
	if (!o || !json_object_object_get_ex(o, "QMP", NULL)) {
		json_object_put(o);
		return false;
	}
	json_object_put(o);
	o = qmpc_execute(c, "{\"execute\":\"qmp_capabilities\"}", timeout_s);
	if (!o || !json_object_object_get_ex(o, "return", NULL)) {
		json_object_put(o);
		return false;
	}
	json_object_put(o);
	return true;
}

void qmpc_close(struct qmp_client *c)
{
	for (unsigned int i = 0; i < c->nr_events; i++)
		json_object_put(c->events[i]);
	c->nr_events = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

struct json_object *qmpc_execute(struct qmp_client *c, const char *json, int timeout_s)
{
	long deadline = now_ms() + timeout_s * 1000L;
	size_t len = strlen(json);
	struct json_object *o;
	char *line = malloc(len + 1);
	ssize_t sent;

	/*
	 * One write: the server acts on a complete object, so after a quit a
	 * separate newline could meet a closed socket.
	 */
	if (!line)
		return NULL;
	memcpy(line, json, len);
	line[len] = '\n';
	sent = send(c->fd, line, len + 1, MSG_NOSIGNAL);
	free(line);
	if (sent != (ssize_t)(len + 1))
		return NULL;
	while ((o = read_message(c, deadline))) {
		if (!json_object_object_get_ex(o, "event", NULL))
			return o;
		keep_event(c, o);
	}
	return NULL;
}

static bool is_event(struct json_object *o, const char *name)
{
	struct json_object *ev;

	return json_object_object_get_ex(o, "event", &ev) &&
	       !strcmp(json_object_get_string(ev), name);
}

struct json_object *qmpc_wait_event(struct qmp_client *c, const char *name, int timeout_s)
{
	long deadline = now_ms() + timeout_s * 1000L;
	struct json_object *o;

	for (unsigned int i = 0; i < c->nr_events; i++) {
		if (is_event(c->events[i], name)) {
			o = c->events[i];
			memmove(&c->events[i], &c->events[i + 1],
				(c->nr_events - i - 1) * sizeof(c->events[0]));
			c->nr_events--;
			return o;
		}
	}
	while ((o = read_message(c, deadline))) {
		if (is_event(o, name))
			return o;
		keep_event(c, o);
	}
	return NULL;
}

struct json_object *qmpc_get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (dot ? 1 : 0);
	}
	return o;
}
