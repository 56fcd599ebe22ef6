/* SPDX-License-Identifier: MIT */
/*
 * QMP conformance, checked with Check assertions against a live server's
 * socket: the rules of QEMU's QMP specification (docs/interop/qmp-spec.rst)
 * that hold whatever commands the server has.
 */
#ifndef ACCORD_TEST_QMP_CONFORMANCE_H
#define ACCORD_TEST_QMP_CONFORMANCE_H

#include <json-c/json.h>
#include <stdbool.h>

/*
 * The greeting, negotiation mode, ids, errors, bad input, split and
 * pipelined input, and clients side by side, each on fresh connections.
 * @query_command names a command that takes no arguments and succeeds.
 */
void qmp_conformance_check(const char *socket_path, const char *query_command);

/*
 * @trigger (one JSON request) succeeds and makes the server emit @event: a
 * negotiated client gets it in the spec's shape, a client still in
 * negotiation gets nothing.
 */
void qmp_conformance_check_event(const char *socket_path, const char *trigger, const char *event);

/*
 * Checks of single messages, for tests with a transport of their own.
 * @id_json is the id @msg must echo (NULL: it has none); with @id_optional it
 * may also have none.
 */
/* A line from the server, without its CRLF: ASCII, one JSON object (returned). */
struct json_object *qmp_expect_line(const char *line);
/* The member @key of @o (borrowed), which must be there. */
struct json_object *qmp_expect_member(struct json_object *o, const char *key);
void qmp_expect_id(struct json_object *msg, const char *id_json, bool id_optional);
/* {"event": NAME, "timestamp" of the last minute, "data": OBJECT (optional)}. */
void qmp_expect_event(struct json_object *msg);
/* These take ownership of @msg. {"error": {"class": @cls, "desc": @desc (NULL: any)}}: */
void qmp_expect_error(struct json_object *msg, const char *cls, const char *desc,
		      const char *id_json, bool id_optional);
/* {"return": VALUE}: VALUE, for the caller to put. */
struct json_object *qmp_expect_return(struct json_object *msg, const char *id_json);
/* {"return": {}}. */
void qmp_expect_empty_return(struct json_object *msg, const char *id_json);

#endif
