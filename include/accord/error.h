/* SPDX-License-Identifier: MIT */
/*
 * Error reporting for untrusted input: a function that rejects input fills
 * an acc_err with one line naming the problem and returns a negative errno.
 */
#ifndef ACCORD_ERROR_H
#define ACCORD_ERROR_H

#include <stddef.h>

#define ACC_ERR_MSG_MAX 256

struct acc_err {
	char msg[ACC_ERR_MSG_MAX];
};

/* Format the message into @e (if non-NULL) and return -@errnum. */
int acc_errf(struct acc_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message with more context ("kernel: " ...). */
void acc_err_prefix(struct acc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
