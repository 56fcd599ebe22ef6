/* SPDX-License-Identifier: MIT */
/*
 * The control socket: JSON in QEMU's QMP framing over a Unix stream socket,
 * served on the event loop.
 *
 * A client is greeted with {"QMP": {"version": ..., "capabilities": []}} and
 * must send {"execute": "qmp_capabilities"} before anything else. Requests
 * are {"execute": NAME, "arguments": {...}, "id": ANY}; every request gets
 * one reply line, {"return": ...} or {"error": {"class": ..., "desc": ...}},
 * with the request's "id" echoed. Events, {"event": NAME, "data": {...},
 * "timestamp": {"seconds": S, "microseconds": U}}, go to every client past
 * negotiation. Lines end in "\r\n"; output is ASCII (other characters are
 * \u-escaped), as in QEMU. Input is strict RFC 8259 JSON in UTF-8 (QEMU's
 * single-quoted strings are not accepted).
 *
 * The server has the built-in commands qmp_capabilities, query-commands and
 * query-version; the VMM supplies the others through a table.
 */
#ifndef ACCORD_QMP_H
#define ACCORD_QMP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accord/error.h"
#include "accord/eventloop.h"
#include "accord/log.h"

struct json_object;
struct qmp_client;
struct qmp_event;

#define QMP_MAX_CLIENTS	       16  /* by default */
#define QMP_CLIENTS_LIMIT      128 /* with qmp__set_max_clients (a broker's VMs and operators) */
#define QMP_MAX_REQUEST	       (64 * 1024)   /* one request, in bytes */
#define QMP_MAX_OUTPUT	       (1024 * 1024) /* unsent bytes before a client is dropped */
#define QMP_MAX_PENDING_EVENTS 1024	     /* queued by qmp__event, not yet sent */
#define QMP_PATH_MAX	       108	     /* sizeof(sockaddr_un.sun_path) */

/* QEMU's error classes (QapiErrorClass). */
enum qmp_error_class {
	QMP_ERROR_GENERIC,	     /* "GenericError" */
	QMP_ERROR_COMMAND_NOT_FOUND, /* "CommandNotFound" */
	QMP_ERROR_DEVICE_NOT_ACTIVE, /* "DeviceNotActive" */
	QMP_ERROR_DEVICE_NOT_FOUND,  /* "DeviceNotFound" */
	QMP_ERROR_KVM_MISSING_CAP,   /* "KVMMissingCap" */
};

/* What a failing handler reports: the class (GenericError unless set) and the desc. */
struct qmp_error {
	enum qmp_error_class cls;
	struct acc_err err;
};

/* Set @e's class and message; returns -@errnum, for "return qmp__errorf(...)". */
int qmp__errorf(struct qmp_error *e, enum qmp_error_class cls, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A command, run on the event-loop thread. @args is the request's
 * "arguments" object ({} when absent), borrowed for the call. Return 0 and
 * set *@ret to the "return" value (ownership passes to the server; NULL
 * means {}), or a negative errno with @err filled: its message is the desc
 * (strerror when empty), its class the error class. Handlers may call
 * acc_err functions with &err->err; @err starts as GenericError, empty.
 */
typedef int (*qmp_handler)(void *ctx, struct json_object *args, struct json_object **ret,
			   struct qmp_error *err);

struct qmp_command {
	const char *name;
	qmp_handler fn;
};

/*
 * Asked before @c runs @cmd, a command of the table (the built-ins are
 * always allowed): 0 lets it run; a negative errno with @err filled refuses
 * it with that error. query-commands lists for @c only what its gate lets
 * it run, so a gate must not change anything. Loop thread only.
 */
typedef int (*qmp_gate)(void *ctx, const struct qmp_client *c, const struct qmp_command *cmd,
			struct qmp_error *err);

/* Plain data owned by the caller; the fields are the server's. */
struct qmp_server {
	struct event_loop *loop;
	const struct qmp_command *cmds;
	size_t nr_cmds;
	qmp_gate gate; /* NULL: every client may run every command */
	void *ctx;
	const struct acc_log *log;
	char path[QMP_PATH_MAX];
	dev_t sock_dev; /* the socket file we created, unlinked only if still there */
	ino_t sock_ino;
	int listen_fd;
	int event_fd;
	struct event_handler listen_h;
	struct event_handler event_h;
	struct qmp_client *clients[QMP_CLIENTS_LIMIT];
	unsigned int nr_clients;
	unsigned int max_clients;
	struct qmp_client *caller; /* whose request runs now */
	/*
	 * Precomputed output: the greeting line and two built-in return values
	 * (query-commands' is built per call when there is a gate).
	 */
	char *greeting;
	size_t greeting_len;
	char *version_json;
	size_t version_len;
	char *commands_json;
	size_t commands_len;
	struct json_object *empty_args; /* passed when a request has no "arguments" */
	/* Events from any thread, handed to the loop through event_fd. */
	pthread_mutex_t lock;
	struct qmp_event *ev_head;
	struct qmp_event **ev_tail;
	unsigned int nr_pending;
	unsigned long nr_dropped;
};

/*
 * Listen on a Unix socket at @path (mode 0600) and serve it on @loop.
 * @cmds (kept, not copied) adds commands to the built-in ones; @ctx is passed
 * to their handlers; @log must outlive the server. An existing socket
 * nobody listens on is replaced; a live one, or any other file, is an error.
 * Call on the loop's thread while nothing else changes the process umask.
 */
int qmp__init(struct qmp_server *s, const char *path, struct event_loop *loop,
	      const struct qmp_command *cmds, size_t nr_cmds, void *ctx, const struct acc_log *log,
	      struct acc_err *err);
/* Close every client, stop listening and unlink the socket. Not from a handler. */
void qmp__exit(struct qmp_server *s);
/*
 * Queue an event for the clients past negotiation, timestamped now. Takes
 * ownership of @data (may be NULL: no "data" member). Thread-safe; the loop
 * sends it. Not after qmp__exit has begun.
 */
void qmp__event(struct qmp_server *s, const char *name, struct json_object *data);

/* Take up to @n clients at once (at most QMP_CLIENTS_LIMIT). */
void qmp__set_max_clients(struct qmp_server *s, unsigned int n);
/* Decide per client which commands of the table it may run (see qmp_gate). */
void qmp__set_gate(struct qmp_server *s, qmp_gate gate);

/* ---- clients that are peers (a broker's VMs), loop thread only ---- */

/* The client whose request the running handler serves (NULL outside a handler). */
struct qmp_client *qmp__caller(struct qmp_server *s);
/*
 * Make @c a peer owned by @owner: it no longer gets the broadcast events,
 * only those sent to it with qmp__event_to, and @gone(@owner) runs once
 * when it disconnects (or the server exits).
 */
void qmp__client_bind(struct qmp_client *c, void *owner, void (*gone)(void *owner));
void *qmp__client_owner(const struct qmp_client *c);
/* Send one event to @c now. Takes ownership of @data (may be NULL). */
void qmp__event_to(struct qmp_client *c, const char *name, struct json_object *data);

#endif
