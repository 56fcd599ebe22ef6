// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "accord/error.h"

int acc_errf(struct acc_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

void acc_err_prefix(struct acc_err *e, const char *fmt, ...)
{
	char prefix[ACC_ERR_MSG_MAX];
	char old[ACC_ERR_MSG_MAX];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* A long message loses its tail, never its prefix. */
	size_t n = strnlen(prefix, sizeof(e->msg) - 1);

	memcpy(e->msg, prefix, n);
	snprintf(e->msg + n, sizeof(e->msg) - n, "%s", old);
}
