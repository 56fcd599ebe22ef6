/* SPDX-License-Identifier: MIT */
/* A small QMP client for tests: commands, replies and events, with timeouts. */
#ifndef ACCORD_TEST_QMP_CLIENT_H
#define ACCORD_TEST_QMP_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>

#define QMPC_MAX_EVENTS 256

struct qmp_client {
	int fd;
	char buf[1 << 20];
	size_t len;
	struct json_object *events[QMPC_MAX_EVENTS]; /* seen, not yet waited for */
	unsigned int nr_events;
};

/* Connect (retrying until @timeout_s while the socket appears), negotiate capabilities. */
bool qmpc_connect(struct qmp_client *c, const char *path, int timeout_s);
/* Only connect, with the same retries: the greeting is left unread. */
bool qmpc_open(struct qmp_client *c, const char *path, int timeout_s);
/* The next raw line, "\n" included (malloc'd), or NULL after @timeout_ms or at EOF. */
char *qmpc_read_line(struct qmp_client *c, int timeout_ms);
void qmpc_close(struct qmp_client *c);
/* Send @json and return its reply ({"return":...} or {"error":...}), or NULL on timeout. */
struct json_object *qmpc_execute(struct qmp_client *c, const char *json, int timeout_s);
/* The next event called @name (earlier ones are kept for later calls), or NULL. */
struct json_object *qmpc_wait_event(struct qmp_client *c, const char *name, int timeout_s);
/* A member of an object by a dotted path ("return.memory.granted"), or NULL. */
struct json_object *qmpc_get(struct json_object *o, const char *path);

#endif
