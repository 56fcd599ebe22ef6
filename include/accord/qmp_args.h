/* SPDX-License-Identifier: MIT */
/*
 * Checking a QMP command's "arguments" the way QEMU does, with QEMU's
 * wording: every member known and of its type, the required ones present.
 * Shared by the VM's control socket and the broker's.
 */
#ifndef ACCORD_QMP_ARGS_H
#define ACCORD_QMP_ARGS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/qmp.h"

struct qmp_arg {
	const char *name;
	json_type type;
	bool required;
};

#define QMP_ARGS_COUNT(spec) (sizeof(spec) / sizeof((spec)[0]))

int qmp_args__check(struct json_object *args, const struct qmp_arg *spec, size_t n,
		    struct qmp_error *err);
/* No arguments at all. */
int qmp_args__none(struct json_object *args, struct qmp_error *err);
/* A non-negative integer argument; *@present says whether it was given. */
int qmp_args__u64(struct json_object *args, const char *name, uint64_t *out, bool *present,
		  struct qmp_error *err);
/* A string argument, or NULL when absent. */
const char *qmp_args__str(struct json_object *args, const char *name);

#endif
