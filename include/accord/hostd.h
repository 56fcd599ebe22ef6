/* SPDX-License-Identifier: MIT */
/*
 * `accord hostd`: the broker that owns one host's pool. VMs started with
 * `accord run --broker PATH` register on its socket and ask it for what
 * their guests request; operators use the same socket (QMP framing) to see
 * and steer every VM. docs/broker.md describes the commands and events.
 */
#ifndef ACCORD_HOSTD_H
#define ACCORD_HOSTD_H

#include <stdbool.h>

#include "accord/error.h"
#include "accord/ledger.h"

struct hostd;

struct hostd_config {
	const char *socket;
	struct ledger_config ledger;
	/* Seconds after the start in which a resuming VM's word is believed (--resume-window). */
	unsigned int resume_window_s;
	int log_level;	     /* enum log_level */
	bool handle_signals; /* SIGINT/SIGTERM stop it (the command; tests stop it themselves) */
	bool help;
};

extern const char hostd_usage[];

/* Parse the arguments after "hostd". Pure; 0 or -errno with @err filled. */
int hostd__parse_args(int argc, char *const argv[], struct hostd_config *cfg, struct acc_err *err);

/* Listen on cfg->socket; nothing runs until hostd__run. */
int hostd__create(struct hostd **out, const struct hostd_config *cfg, struct acc_err *err);
/* Serve until stopped (a signal, or hostd__stop); returns 0 or -errno. */
int hostd__run(struct hostd *hd);
/* From any thread: make hostd__run return. */
void hostd__stop(struct hostd *hd);
/* Close every connection and remove the socket. */
void hostd__destroy(struct hostd *hd);

/* The whole command: parse, create, run, destroy; returns the exit status. */
int hostd__main(int argc, char **argv);

#endif
