/* SPDX-License-Identifier: MIT */
/*
 * Temporary directory trees for the unit_host runner: a fake host root
 * (sys/, proc/) for the inventory, and a share for the file tests.
 */
#ifndef ACCORD_TEST_FAKE_SYSFS_H
#define ACCORD_TEST_FAKE_SYSFS_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "accord/tmpfile.h"

struct fake_tree {
	char root[256];
};

static inline void fake_init(struct fake_tree *t, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	int ret = acc_mkdtemp(t->root, sizeof(t->root), tmp && *tmp ? tmp : "/tmp", tag);

	ck_assert_msg(ret == 0, "mkdtemp: %s", strerror(-ret));
}

/* @rel below the root, in @buf. */
static inline const char *fake_path(const struct fake_tree *t, const char *rel, char *buf,
				    size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", t->root, rel);

	ck_assert(n > 0 && (size_t)n < cap);
	return buf;
}

/* Create the parent directories of @rel (and @rel itself if @self). */
static inline void fake_mkdirs(const struct fake_tree *t, const char *rel, int self)
{
	char path[4096];
	char *p;

	fake_path(t, rel, path, sizeof(path));
	for (p = path + strlen(t->root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		ck_assert_msg(!mkdir(path, 0755) || errno == EEXIST, "mkdir %s: %s", path,
			      strerror(errno));
		*p = '/';
	}
	if (self)
		ck_assert_msg(!mkdir(path, 0755) || errno == EEXIST, "mkdir %s: %s", path,
			      strerror(errno));
}

/* Write @len bytes of @data to @rel, creating directories on the way. */
static inline void fake_write_len(const struct fake_tree *t, const char *rel, const char *data,
				  size_t len)
{
	char path[4096];
	int fd;

	fake_mkdirs(t, rel, 0);
	fake_path(t, rel, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static inline void fake_write(const struct fake_tree *t, const char *rel, const char *data)
{
	fake_write_len(t, rel, data, strlen(data));
}

/* fake_write(t, rel, data) with a printf-style @rel. */
static inline void __attribute__((format(printf, 3, 4)))
fake_writef(const struct fake_tree *t, const char *data, const char *fmt, ...)
{
	char rel[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	fake_write(t, rel, data);
}

static inline void fake_symlink(const struct fake_tree *t, const char *rel, const char *target)
{
	char path[4096];

	fake_mkdirs(t, rel, 0);
	ck_assert_msg(!symlink(target, fake_path(t, rel, path, sizeof(path))), "symlink %s: %s",
		      path, strerror(errno));
}

static inline int fake_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove @rel (a file or a whole tree; "" for the root itself). */
static inline void fake_remove(const struct fake_tree *t, const char *rel)
{
	char path[4096];

	if (*rel)
		fake_path(t, rel, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", t->root);
	nftw(path, fake_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fake_cleanup(struct fake_tree *t)
{
	if (t->root[0])
		fake_remove(t, "");
	t->root[0] = '\0';
}

/* The number of open file descriptors of this process. */
static inline int fake_count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

Suite *inventory_suite(void); /* test_inventory.c */
Suite *share_suite(void);     /* test_share.c */
Suite *sandbox_suite(void);   /* test_sandbox.c */

#endif
