// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord/tmpfile.h"

/* mkdtemp(3) and mkstemp(3) replace the last six characters, which must be 'X'. */
#define TMP_RANDOM_LEN 6

static int tmp_template(char *buf, size_t cap, const char *dir, const char *prefix)
{
	int n = snprintf(buf, cap, "%s/%s-", dir, prefix);

	if (n < 0 || (size_t)n + TMP_RANDOM_LEN >= cap)
		return -ENAMETOOLONG;
	memset(buf + n, 'X', TMP_RANDOM_LEN);
	buf[n + TMP_RANDOM_LEN] = '\0';
	return 0;
}

int acc_mkdtemp(char *buf, size_t cap, const char *dir, const char *prefix)
{
	int ret = tmp_template(buf, cap, dir, prefix);

	if (ret)
		return ret;
	return mkdtemp(buf) ? 0 : -errno;
}

int acc_mkstemp(char *buf, size_t cap, const char *dir, const char *prefix)
{
	int ret = tmp_template(buf, cap, dir, prefix), fd;

	if (ret)
		return ret;
	fd = mkstemp(buf);
	return fd >= 0 ? fd : -errno;
}
