// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "accord/qmp_args.h"

static const char *qmp_type_name(json_type t)
{
	switch (t) {
	case json_type_int:
		return "integer";
	case json_type_string:
		return "string";
	case json_type_boolean:
		return "boolean";
	case json_type_array:
		return "array";
	default:
		return "object";
	}
}

int qmp_args__check(struct json_object *args, const struct qmp_arg *spec, size_t n,
		    struct qmp_error *err)
{
	json_object_object_foreach(args, key, val) {
		size_t i;

		for (i = 0; i < n && strcmp(spec[i].name, key); i++)
			;
		if (i == n)
			return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
					   "Parameter '%s' is unexpected", key);
		if (!json_object_is_type(val, spec[i].type))
			return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
					   "Invalid parameter type for '%s', expected: %s", key,
					   qmp_type_name(spec[i].type));
	}
	for (size_t i = 0; i < n; i++) {
		if (spec[i].required && !json_object_object_get_ex(args, spec[i].name, NULL))
			return qmp__errorf(err, QMP_ERROR_GENERIC, EINVAL,
					   "Parameter '%s' is missing", spec[i].name);
	}
	return 0;
}

int qmp_args__none(struct json_object *args, struct qmp_error *err)
{
	return qmp_args__check(args, NULL, 0, err);
}

int qmp_args__u64(struct json_object *args, const char *name, uint64_t *out, bool *present,
		  struct qmp_error *err)
{
	struct json_object *v;

	*present = json_object_object_get_ex(args, name, &v);
	if (!*present)
		return 0;
	/* json-c keeps integers as int64, and those past INT64_MAX as uint64. */
	if (json_object_get_int64(v) < 0)
		return qmp__errorf(err, QMP_ERROR_GENERIC, ERANGE,
				   "Parameter '%s' must not be negative", name);
	*out = json_object_get_uint64(v);
	return 0;
}

const char *qmp_args__str(struct json_object *args, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(args, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
