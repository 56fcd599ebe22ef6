/* SPDX-License-Identifier: MIT */
/* Runs build/accord as a child process the way a user would, and collects what it did. */
#ifndef ACCORD_TEST_HARNESS_H
#define ACCORD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum harness_isolation {
	HARNESS_AS_IS,
	HARNESS_UNPRIVILEGED, /* run as nobody: /dev/kvm is root-only */
	HARNESS_NO_DEV,	      /* private mount namespace with an empty /dev */
};

struct accord_run {
	int status;	/* exit status, or 128+signal if it was killed */
	bool timed_out; /* the harness had to kill it */
	char *console;	/* what the guest wrote to COM1 (NUL-terminated) */
	char *err;	/* what accord wrote to stderr */
};

/* A running accord, for tests that talk to it while it runs. */
struct accord_proc {
	pid_t pid;
	int wstatus;
	bool exited;
	enum harness_isolation iso;
	struct timespec started;
	char dir[64];
	char console[96];
	char errpath[96];
	char bin[4096];
};

void harness_start(struct accord_proc *p, const char *const args[], enum harness_isolation iso);
/* Wait until the console shows @needle (false on timeout or exit). */
bool harness_wait_console(struct accord_proc *p, const char *needle, int timeout_s);
/* Seconds since @p started: harness_finish's @timeout_s counts from then. */
int harness_age_s(const struct accord_proc *p);
/* Wait for the exit (SIGTERM once @until shows, SIGKILL @timeout_s after the start) and collect. */
void harness_finish(struct accord_proc *p, struct accord_run *r, int timeout_s, const char *until);
/* The process's resident set in KiB, or -1. */
long harness_rss_kb(pid_t pid);

/*
 * Run `accord run ARGS... --console file=TMP` and wait up to @timeout_s.
 * When @until is non-NULL, send SIGTERM as soon as the console shows it.
 */
void harness_run(struct accord_run *r, const char *const args[], int timeout_s, const char *until,
		 enum harness_isolation iso);
void harness_free(struct accord_run *r);
/* A file's whole text, malloc'd ("" if it cannot be opened). */
char *harness_slurp(const char *path);
/* Lines of @text that contain @needle. */
int harness_count(const char *text, const char *needle);

#endif
