/* SPDX-License-Identifier: MIT */
/*
 * A nonblocking QMP client connection for the load generators: one Unix
 * socket, a line buffer, queued output and a json-c tokener, driven either
 * by the caller's epoll loop (bqmp__fill, bqmp__next, bqmp__flush) or with
 * blocking helpers for set-up and checks (bqmp__wait, bqmp__call,
 * bqmp__handshake).
 *
 * test/kvm/qmp_client.c is not reused: it blocks in poll() per call and
 * carries a 1 MiB buffer inline, which fits a test's one connection but not
 * 64 connections on one epoll thread.
 */
#ifndef ACCORD_BENCH_QMP_H
#define ACCORD_BENCH_QMP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/error.h"

#define BQMP_MAX_LINE	(64 * 1024) /* longer lines from the server are refused */
#define BQMP_TIMEOUT_MS 5000	    /* connect and blocking calls */

enum bqmp_kind {
	BQMP_RETURN,   /* {"return": ...} */
	BQMP_ERROR,    /* {"error": {"class": ..., "desc": ...}} */
	BQMP_EVENT,    /* {"event": NAME, "data": ...} */
	BQMP_GREETING, /* {"QMP": ...} */
};

/* One line from the server. The objects belong to the connection until its next message. */
struct bqmp_msg {
	enum bqmp_kind kind;
	struct json_object *value; /* "return", "error", the event's "data" (may be NULL), "QMP" */
	const char *event;	   /* the event's name */
	bool has_id;
	int64_t id;
};

struct bqmp {
	int fd;
	char *in; /* [in_off, in_len) unread; no '\n' in [in_off, in_scan) */
	size_t in_off;
	size_t in_scan;
	size_t in_len;
	size_t in_cap;
	char *out; /* [out_off, out_len) unsent */
	size_t out_off;
	size_t out_len;
	size_t out_cap;
	bool eof;
	struct json_tokener *tok;
	struct json_object *last; /* the line behind the last message handed out */
};

/* Connect to @path (waiting at most BQMP_TIMEOUT_MS); the socket is then nonblocking. */
int bqmp__connect(struct bqmp *c, const char *path, struct acc_err *err);
/* Close and free everything (safe on a zeroed or closed connection). */
void bqmp__close(struct bqmp *c);

/* Queue @len bytes and write what the socket takes now. */
int bqmp__send(struct bqmp *c, const char *buf, size_t len, struct acc_err *err);
/* Queue one request line: {"execute": @name[, "arguments": @args][, "id": @id]}. */
int bqmp__execute(struct bqmp *c, const char *name, struct json_object *args, int64_t id,
		  bool with_id, struct acc_err *err);
/* Write queued output; bqmp__pending_out says whether some is left (wait for EPOLLOUT). */
int bqmp__flush(struct bqmp *c, struct acc_err *err);
bool bqmp__pending_out(const struct bqmp *c);

/*
 * Read what the socket holds now. 0 when it would block; -EPIPE when the
 * server closed the connection (lines already read stay available).
 */
int bqmp__fill(struct bqmp *c, struct acc_err *err);
/*
 * The next complete line, parsed: 1 and *@m set, 0 when no whole line is
 * buffered, or a negative errno (a line over BQMP_MAX_LINE, not a JSON
 * object, or none of the four kinds).
 */
int bqmp__next(struct bqmp *c, struct bqmp_msg *m, struct acc_err *err);

/* Block for the next message (at most @timeout_ms): -ETIMEDOUT, -EPIPE, ... */
int bqmp__wait(struct bqmp *c, struct bqmp_msg *m, int timeout_ms, struct acc_err *err);
/*
 * Run @name (no "id") and wait for its answer, skipping events: 0 with *@m
 * the "return", or -EREMOTEIO with the server's desc in @err.
 */
int bqmp__call(struct bqmp *c, const char *name, struct json_object *args, struct bqmp_msg *m,
	       struct acc_err *err);
/* Read the greeting and negotiate (qmp_capabilities). */
int bqmp__handshake(struct bqmp *c, struct acc_err *err);

/* The "desc" of an error answer ("?" when it has none). */
const char *bqmp__error_desc(const struct bqmp_msg *m);

#endif
