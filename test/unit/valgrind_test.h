/* SPDX-License-Identifier: MIT */
/*
 * Unit suites run under valgrind too (the memcheck_* tests). Debian 12's
 * valgrind 3.19 does not know openat2 (system call 437), and its own system
 * calls are in no seccomp allowlist: suites that need either test what they
 * can there and say so.
 */
#ifndef ACCORD_TEST_VALGRIND_H
#define ACCORD_TEST_VALGRIND_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

static inline bool valgrind_lacks_openat2(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	long fd;

	if (!RUNNING_ON_VALGRIND)
		return false;
	fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
	if (fd >= 0) {
		close((int)fd);
		return false;
	}
	return errno == ENOSYS;
}

static inline bool under_valgrind(void)
{
	return RUNNING_ON_VALGRIND;
}

#endif
