/* SPDX-License-Identifier: MIT */
/*
 * The VMM's sandbox once the VM runs (docs/SECURITY.md): capabilities are
 * dropped, and each thread enters a seccomp allowlist for its role, built
 * once with libseccomp before any thread starts. A system call outside the
 * list stops accord with one line naming the call and the thread
 * (--seccomp log lets it through and the kernel logs it instead).
 */
#ifndef ACCORD_SANDBOX_H
#define ACCORD_SANDBOX_H

#include <linux/filter.h>
#include <sys/types.h>

#include "accord/error.h"

enum sandbox_mode {
	SANDBOX_ON,  /* a call outside the allowlist stops accord */
	SANDBOX_LOG, /* allowed, and logged by the kernel (dmesg, audit) */
	SANDBOX_OFF,
};

enum sandbox_role {
	SANDBOX_VCPU,	    /* KVM_RUN and the device emulation behind its exits */
	SANDBOX_EVENT_LOOP, /* devices, vhost-user, the control socket, the broker link */
	SANDBOX_NR_ROLES,
};

/*
 * LeakSanitizer stops the world with clone and ptrace at exit, which no
 * allowlist permits: sanitizer builds start with the filters off.
 */
#ifdef ACCORD_SANITIZER_BUILD
#define SANDBOX_DEFAULT_MODE SANDBOX_OFF
#define SANDBOX_DEFAULT_NAME "off in this sanitizer build, else on"
#else
#define SANDBOX_DEFAULT_MODE SANDBOX_ON
#define SANDBOX_DEFAULT_NAME "on"
#endif

/* The exit status when the filter stops accord: what a shell shows for SIGSYS. */
#define SANDBOX_EXIT_STATUS (128 + 31)

/* System call numbers the stop message can name (x86-64 has about 460). */
#define SANDBOX_NR_CALL_NAMES 512

struct sandbox {
	enum sandbox_mode mode;
	struct sock_fprog prog[SANDBOX_NR_ROLES];
	char *call_names[SANDBOX_NR_CALL_NAMES];
};

/* "on", "log" or "off"; -EINVAL otherwise. */
int sandbox__parse_mode(const char *v, enum sandbox_mode *mode);
const char *sandbox__mode_name(enum sandbox_mode mode);
/*
 * Build the filters for @mode and install the SIGSYS reporter; nothing to
 * build when off. One sandbox per process: the reporter reads it.
 */
int sandbox__init(struct sandbox *sb, enum sandbox_mode mode, struct acc_err *err);
void sandbox__destroy(struct sandbox *sb);
/* Another user to become: uid and gid, no supplementary groups. */
struct sandbox_user {
	uid_t uid;
	gid_t gid;
};

/*
 * Give up every capability (effective, permitted, inheritable, ambient and
 * the bounding set) in the calling thread, but keep those in @keep (a mask
 * of 1 << CAP_*, not with @as) effective and permitted, after becoming @as
 * unless it is NULL;
 * threads and children started afterwards inherit no more. A non-NULL @as
 * needs CAP_SETUID and CAP_SETGID and a single-threaded process, such as a
 * child before exec. Sets no_new_privs.
 */
int sandbox__drop_privileges(const struct sandbox_user *as, uint64_t keep, struct acc_err *err);
/* Confine the calling thread to @role's allowlist; a no-op when off. */
int sandbox__enter(const struct sandbox *sb, enum sandbox_role role);

#endif
