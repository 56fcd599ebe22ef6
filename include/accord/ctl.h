/* SPDX-License-Identifier: MIT */
/*
 * `accord ctl`: a command-line client for the control sockets in QMP framing
 * (a VM's --api-socket, the broker's socket), for people and for scripts. It
 * sends one command and prints its return value as JSON, or prints the
 * events the socket sends, one JSON object a line. docs/ctl.md describes it.
 */
#ifndef ACCORD_CTL_H
#define ACCORD_CTL_H

#include <stdint.h>
#include <stdio.h>

#include "accord/error.h"

struct json_object;
struct ctl_conn;

/* Exit statuses of `accord ctl`. */
#define CTL_EXIT_OK	 0
#define CTL_EXIT_QMP	 1 /* the server answered the command with an error */
#define CTL_EXIT_FAILED	 2 /* usage, connection, protocol, timeout or output failure */
#define CTL_EXIT_NO_MORE 3 /* --events --count N: fewer than N came before the timeout */

#define CTL_LINE_MAX	   (4u << 20) /* a line from the server, "\r\n" included */
#define CTL_TIMEOUT_MS	   10000      /* --timeout's default for a command */
#define CTL_GREETING_MS	   10000      /* the greeting and negotiation, at the most */
#define CTL_TIMEOUT_MAX_MS (365ll * 24 * 3600 * 1000)

/*
 * `accord ctl` itself: @argv holds the @argc words after "ctl". Prints on
 * @out and @err_out; returns the exit status (CTL_EXIT_*), never exits.
 */
int ctl__main(int argc, char **argv, FILE *out, FILE *err_out);

/*
 * Build the "arguments" object from KEY=VALUE and KEY:=JSON words (docs/ctl.md
 * says how a VALUE is read). 0 with *@args set (the caller puts it), or a
 * negative errno with @err naming the word.
 */
int ctl__arguments(char *const *words, int nr_words, struct json_object **args,
		   struct acc_err *err);

/*
 * "10", "0.5": decimal seconds, more than 0 and at most a year, into *@ms (at
 * least 1); @opt names the option in @err.
 */
int ctl__parse_seconds(const char *opt, const char *s, int64_t *ms, struct acc_err *err);

/*
 * The client's connection, for other commands (accord top): connect to @path,
 * read the greeting and negotiate within @timeout_ms (and CTL_GREETING_MS).
 * The server is checked as `accord ctl` checks it. 0 or a negative errno.
 */
int ctl__open(const char *path, int64_t timeout_ms, struct ctl_conn **conn, struct acc_err *err);
/*
 * Run @command with @args (NULL: none) within @timeout_ms, skipping events:
 * 0 with *@ret its return value (the caller puts it); -EREMOTEIO for an
 * error reply ("COMMAND: CLASS: DESC" in @err); else a negative errno.
 */
int ctl__execute(struct ctl_conn *c, const char *command, struct json_object *args,
		 int64_t timeout_ms, struct json_object **ret, struct acc_err *err);
/*
 * Read and drop what the server sent unasked (events) without waiting:
 * 0, or a negative errno (-ECONNRESET: the server closed the connection).
 */
int ctl__drain(struct ctl_conn *c, struct acc_err *err);
/* The socket, to poll for input between commands. */
int ctl__fd(const struct ctl_conn *c);
void ctl__close(struct ctl_conn *c);

#endif
