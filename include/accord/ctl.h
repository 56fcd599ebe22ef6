/* SPDX-License-Identifier: MIT */
/*
 * `accord ctl`: a command-line client for the control sockets in QMP framing
 * (a VM's --api-socket, the broker's socket), for people and for scripts. It
 * sends one command and prints its return value as JSON, or prints the
 * events the socket sends, one JSON object a line. docs/ctl.md describes it.
 */
#ifndef ACCORD_CTL_H
#define ACCORD_CTL_H

#include <stdio.h>

#include "accord/error.h"

struct json_object;

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

#endif
