// SPDX-License-Identifier: MIT
/*
 * The control socket (see qmp.h).
 *
 * Each client has an input buffer in which a small scanner finds where each
 * JSON value ends, counting brackets outside strings as QEMU's JSON streamer
 * does. Each complete value is parsed by the client's json-c tokener and
 * dispatched; the replies to everything one read brought leave in one
 * write. The scanner is also what lets the server skip the rest of a request
 * that grew past QMP_MAX_REQUEST, and start afresh after a byte that can
 * never be JSON (a control character, 0xfe, 0xff), which is how the QMP
 * specification tells clients to reset the server's parser.
 *
 * Output is written by our own serializer in QEMU's layout ({"a": 1, "b":
 * [1, 2]}) straight into the client's output buffer, escaping everything
 * outside printable ASCII as QEMU does.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "accord/qmp.h"
#include "accord/qmp_args.h"

#define QMP_BUF_MIN	    4096
#define QMP_IN_MAX	    (QMP_MAX_REQUEST + QMP_BUF_MIN)
#define QMP_READS_PER_EVENT 4 /* full reads before other fds get their turn */
/*
 * Unsent output above which a client's further requests wait (its input is
 * neither read nor parsed) until it reads: a client that pipelines many
 * requests is slowed, not dropped. Only events, which do not wait, can push
 * a client that does not read past QMP_MAX_OUTPUT.
 */
#define QMP_OUTPUT_PAUSE   (QMP_MAX_OUTPUT / 4)
#define QMP_JSON_DEPTH	   64
#define QMP_LISTEN_BACKLOG 32
#define QMP_TOKEN_SHOWN	   32 /* bytes of a bad token quoted in an error */

_Static_assert(QMP_PATH_MAX == sizeof(((struct sockaddr_un *)0)->sun_path), "QMP_PATH_MAX");

#define qmp_log(s, level, ...)                                     \
	do {                                                       \
		if ((s)->log)                                      \
			log__printf((s)->log, level, __VA_ARGS__); \
	} while (0)

/* A byte buffer; [off, len) is pending, at most @max bytes of it. */
struct qmp_buf {
	char *p;
	size_t off;
	size_t len;
	size_t cap;
	size_t max;
	bool failed; /* a put did not fit (over @max, or out of memory) */
};

/* Where the scanner is in the value it is delimiting. */
enum qmp_scan {
	SCAN_IDLE,   /* between values */
	SCAN_NESTED, /* inside brackets, outside strings */
	SCAN_STRING,
	SCAN_ESCAPE, /* after a backslash in a string */
	SCAN_BARE,   /* a top-level number or keyword */
};

struct qmp_client {
	struct event_handler h;
	struct qmp_server *srv;
	struct json_tokener *tok;
	struct qmp_buf in;
	struct qmp_buf out;
	size_t start; /* first byte of the value being scanned, in @in */
	size_t scan;  /* next byte to scan */
	unsigned int depth;
	enum qmp_scan state;
	uint32_t events; /* what the loop watches */
	unsigned int slot;
	bool discarding; /* skipping the rest of an over-long request */
	bool negotiated;
	bool eof;
	bool dead;   /* to be freed by its own handler */
	void *owner; /* a peer's owner (qmp__client_bind), else NULL */
	void (*gone)(void *owner);
};

struct qmp_event {
	struct qmp_event *next;
	struct json_object *data;
	long long sec;
	long long usec;
	char name[];
};

static const char *const qmp_class_names[] = {
	[QMP_ERROR_GENERIC] = "GenericError",
	[QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
	[QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
	[QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
	[QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

int qmp__errorf(struct qmp_error *e, enum qmp_error_class cls, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->cls = cls;
		va_start(ap, fmt);
		vsnprintf(e->err.msg, sizeof(e->err.msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

/* ---- buffers and the serializer ---- */

static bool buf_reserve(struct qmp_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	if (b->len - b->off + n > b->max)
		goto fail;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return true;
	}
	cap = b->cap ? b->cap : QMP_BUF_MIN;
	while (cap - b->len < n)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	p = realloc(b->p, cap);
	if (!p)
		goto fail;
	b->p = p;
	b->cap = cap;
	return true;
fail:
	b->failed = true;
	return false;
}

/* Give back what a burst made a buffer grow to, once it is empty. */
static void buf_shrink(struct qmp_buf *b)
{
	char *p;

	if (b->len != b->off || b->cap <= QMP_BUF_MIN)
		return;
	b->off = b->len = 0;
	p = realloc(b->p, QMP_BUF_MIN);
	if (p) {
		b->p = p;
		b->cap = QMP_BUF_MIN;
	}
}

static void buf_put(struct qmp_buf *b, const void *s, size_t n)
{
	if (buf_reserve(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

#define buf_put_lit(b, lit) buf_put(b, lit, sizeof(lit) - 1)

static void buf_puts(struct qmp_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_printf(struct qmp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void buf_printf(struct qmp_buf *b, const char *fmt, ...)
{
	size_t room = 128;
	va_list ap;
	int n;

	for (int tries = 0; tries < 2; tries++) {
		if (!buf_reserve(b, room))
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		room = (size_t)n + 1;
	}
}

/* The code point of the UTF-8 sequence at @s; its length, 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static void buf_put_uescape(struct qmp_buf *b, uint32_t u)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[6] = "\\u";

	for (int i = 0; i < 4; i++)
		e[2 + i] = hex[(u >> (12 - 4 * i)) & 15];
	buf_put(b, e, sizeof(e));
}

/* A JSON string in ASCII: QEMU's escapes; invalid UTF-8 becomes U+FFFD. */
static void buf_put_string(struct qmp_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, len;
	uint32_t cp;

	buf_put_lit(b, "\"");
	while (i < n) {
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x7f; run++) {
			if (s[run] == '"' || s[run] == '\\')
				break;
		}
		if (run > i) {
			buf_put(b, s + i, run - i);
			i = run;
			continue;
		}
		switch (s[i]) {
		case '"':
			buf_put_lit(b, "\\\"");
			break;
		case '\\':
			buf_put_lit(b, "\\\\");
			break;
		case '\b':
			buf_put_lit(b, "\\b");
			break;
		case '\f':
			buf_put_lit(b, "\\f");
			break;
		case '\n':
			buf_put_lit(b, "\\n");
			break;
		case '\r':
			buf_put_lit(b, "\\r");
			break;
		case '\t':
			buf_put_lit(b, "\\t");
			break;
		default:
			len = utf8_decode(s + i, n - i, &cp);
			if (!len) {
				cp = 0xfffd;
				len = 1;
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				buf_put_uescape(b, 0xd800 | (cp >> 10));
				buf_put_uescape(b, 0xdc00 | (cp & 0x3ff));
			} else {
				buf_put_uescape(b, cp);
			}
			i += len;
			continue;
		}
		i++;
	}
	buf_put_lit(b, "\"");
}

static void buf_put_json(struct qmp_buf *b, struct json_object *o)
{
	size_t len, i, n;
	const char *s;
	int64_t v;
	bool first;

	switch (json_object_get_type(o)) {
	case json_type_null:
		buf_put_lit(b, "null");
		break;
	case json_type_boolean:
		if (json_object_get_boolean(o))
			buf_put_lit(b, "true");
		else
			buf_put_lit(b, "false");
		break;
	case json_type_int:
		/* json-c saturates a uint64 past INT64_MAX in get_int64. */
		v = json_object_get_int64(o);
		if (v == INT64_MAX)
			buf_printf(b, "%" PRIu64, json_object_get_uint64(o));
		else
			buf_printf(b, "%" PRId64, v);
		break;
	case json_type_double:
		/* Keeps the text a parsed number came with, 1e400 (inf) included. */
		s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
		/* A NaN or infinity made here is a word ("Infinity"), not JSON. */
		if (!isfinite(json_object_get_double(o)) &&
		    !(s[*s == '-'] >= '0' && s[*s == '-'] <= '9')) {
			buf_put_lit(b, "null");
			break;
		}
		buf_put(b, s, len);
		break;
	case json_type_string:
		buf_put_string(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		n = json_object_array_length(o);
		buf_put_lit(b, "[");
		for (i = 0; i < n; i++) {
			if (i)
				buf_put_lit(b, ", ");
			buf_put_json(b, json_object_array_get_idx(o, i));
		}
		buf_put_lit(b, "]");
		break;
	case json_type_object:
		first = true;
		buf_put_lit(b, "{");
		json_object_object_foreach(o, key, val) {
			if (!first)
				buf_put_lit(b, ", ");
			first = false;
			buf_put_string(b, key, strlen(key));
			buf_put_lit(b, ": ");
			buf_put_json(b, val);
		}
		buf_put_lit(b, "}");
		break;
	}
}

/* ---- replies ---- */

static void reply_id(struct qmp_buf *b, struct json_object *id, bool has_id)
{
	if (has_id) {
		buf_put_lit(b, ", \"id\": ");
		buf_put_json(b, id);
	}
}

/* @raw (JSON text) or @ret (NULL: {}) is the return value. */
static void reply_return(struct qmp_client *c, struct json_object *ret, const char *raw,
			 size_t raw_len, struct json_object *id, bool has_id)
{
	struct qmp_buf *b = &c->out;

	buf_put_lit(b, "{\"return\": ");
	if (raw)
		buf_put(b, raw, raw_len);
	else if (ret)
		buf_put_json(b, ret);
	else
		buf_put_lit(b, "{}");
	reply_id(b, id, has_id);
	buf_put_lit(b, "}\r\n");
}

static void reply_error(struct qmp_client *c, enum qmp_error_class cls, const char *desc,
			struct json_object *id, bool has_id)
{
	struct qmp_buf *b = &c->out;

	if ((unsigned int)cls >= sizeof(qmp_class_names) / sizeof(qmp_class_names[0]))
		cls = QMP_ERROR_GENERIC;
	buf_put_lit(b, "{\"error\": {\"class\": \"");
	buf_puts(b, qmp_class_names[cls]);
	buf_put_lit(b, "\", \"desc\": ");
	buf_put_string(b, desc, strlen(desc));
	buf_put_lit(b, "}");
	reply_id(b, id, has_id);
	buf_put_lit(b, "}\r\n");
}

static void reply_errorf(struct qmp_client *c, enum qmp_error_class cls, struct json_object *id,
			 bool has_id, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void reply_errorf(struct qmp_client *c, enum qmp_error_class cls, struct json_object *id,
			 bool has_id, const char *fmt, ...)
{
	char desc[ACC_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	reply_error(c, cls, desc, id, has_id);
}

/* ---- commands ---- */

static int qmp_cmd_capabilities(struct qmp_client *c, struct json_object *args, struct qmp_error *e)
{
	struct json_object *cap;
	const char *name;
	size_t i;

	/* QEMU answers a second negotiation so, and stays in command mode. */
	if (c->negotiated)
		return qmp__errorf(e, QMP_ERROR_COMMAND_NOT_FOUND, EINVAL,
				   "Capabilities negotiation is already complete, command ignored");
	if (!args)
		goto done;
	json_object_object_foreach(args, key, val) {
		if (strcmp(key, "enable"))
			return qmp__errorf(e, QMP_ERROR_GENERIC, EINVAL,
					   "Parameter '%s' is unexpected", key);
		if (!json_object_is_type(val, json_type_array))
			return qmp__errorf(e, QMP_ERROR_GENERIC, EINVAL,
					   "Invalid parameter type for 'enable', expected: array");
		/* We offer no capability, so any element is refused. */
		for (i = 0; i < json_object_array_length(val); i++) {
			cap = json_object_array_get_idx(val, i);
			if (!json_object_is_type(cap, json_type_string))
				return qmp__errorf(e, QMP_ERROR_GENERIC, EINVAL,
						   "Invalid parameter type for 'enable[%zu]', "
						   "expected: string",
						   i);
			name = json_object_get_string(cap);
			if (!strcmp(name, "oob"))
				return qmp__errorf(e, QMP_ERROR_GENERIC, EINVAL,
						   "Capability oob not available");
			return qmp__errorf(e, QMP_ERROR_GENERIC, EINVAL,
					   "Parameter 'enable[%zu]' does not accept value '%s'", i,
					   name);
		}
	}
done:
	c->negotiated = true;
	return 0;
}

/* The built-ins and the table's commands; with @c, only those the gate lets @c run. */
static void put_commands(struct qmp_buf *b, const struct qmp_server *s, const struct qmp_client *c)
{
	static const char *const builtins[] = { "qmp_capabilities", "query-commands",
						"query-version" };
	const size_t nr_builtins = sizeof(builtins) / sizeof(builtins[0]);
	struct qmp_error e;
	const char *name;

	buf_put_lit(b, "[");
	for (size_t i = 0; i < nr_builtins + s->nr_cmds; i++) {
		if (i < nr_builtins) {
			name = builtins[i];
		} else {
			name = s->cmds[i - nr_builtins].name;
			if (c && s->gate && s->gate(s->ctx, c, &s->cmds[i - nr_builtins], &e) < 0)
				continue;
		}
		if (i)
			buf_put_lit(b, ", ");
		buf_put_lit(b, "{\"name\": ");
		buf_put_string(b, name, strlen(name));
		buf_put_lit(b, "}");
	}
	buf_put_lit(b, "]");
}

static void reply_commands(struct qmp_client *c, struct json_object *id, bool has_id)
{
	struct qmp_server *s = c->srv;
	struct qmp_buf b = { .max = SIZE_MAX };

	if (!s->gate) {
		reply_return(c, NULL, s->commands_json, s->commands_len, id, has_id);
		return;
	}
	put_commands(&b, s, c);
	if (b.failed)
		reply_error(c, QMP_ERROR_GENERIC, "out of memory", id, has_id);
	else
		reply_return(c, NULL, b.p, b.len, id, has_id);
	free(b.p);
}

static const struct qmp_command *qmp_find(const struct qmp_server *s, const char *name)
{
	for (size_t i = 0; i < s->nr_cmds; i++) {
		if (!strcmp(s->cmds[i].name, name))
			return &s->cmds[i];
	}
	return NULL;
}

/* A handler may have changed the shared empty arguments object: renew it. */
static struct json_object *qmp_empty_args(struct qmp_server *s)
{
	struct json_object *o;

	if (json_object_object_length(s->empty_args) == 0)
		return s->empty_args;
	o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_put(s->empty_args);
	s->empty_args = o;
	return o;
}

static void qmp_run(struct qmp_client *c, const char *name, struct json_object *args,
		    struct json_object *id, bool has_id)
{
	struct qmp_server *s = c->srv;
	const struct qmp_command *cmd;
	struct json_object *ret = NULL;
	struct qmp_error e;
	int rc;

	e.cls = QMP_ERROR_GENERIC;
	e.err.msg[0] = '\0';
	if (!strcmp(name, "qmp_capabilities")) {
		rc = qmp_cmd_capabilities(c, args, &e);
	} else if (!strcmp(name, "query-version") || !strcmp(name, "query-commands")) {
		/* No arguments: unknown keys are refused, as for every command. */
		rc = args ? qmp_args__none(args, &e) : 0;
		if (!rc) {
			if (name[6] == 'v')
				reply_return(c, NULL, s->version_json, s->version_len, id, has_id);
			else
				reply_commands(c, id, has_id);
			return;
		}
	} else {
		cmd = qmp_find(s, name);
		if (!cmd) {
			reply_errorf(c, QMP_ERROR_COMMAND_NOT_FOUND, id, has_id,
				     "The command %s has not been found", name);
			return;
		}
		if (!args)
			args = qmp_empty_args(s);
		if (!args) {
			reply_error(c, QMP_ERROR_GENERIC, "out of memory", id, has_id);
			return;
		}
		rc = s->gate ? s->gate(s->ctx, c, cmd, &e) : 0;
		if (rc >= 0) {
			s->caller = c;
			rc = cmd->fn(s->ctx, args, &ret, &e);
			s->caller = NULL;
		}
	}
	if (rc < 0)
		reply_error(c, e.cls, e.err.msg[0] ? e.err.msg : strerror(-rc), id, has_id);
	else
		reply_return(c, ret, NULL, 0, id, has_id);
	json_object_put(ret);
}

/* Check a parsed request as QEMU's qmp_dispatch does, then run it. */
static void qmp_dispatch(struct qmp_client *c, struct json_object *req)
{
	struct json_object *id = NULL, *exec = NULL, *args = NULL;
	const char *name;
	bool has_id;

	if (!json_object_is_type(req, json_type_object)) {
		reply_error(c, QMP_ERROR_GENERIC, "QMP input must be a JSON object", NULL, false);
		return;
	}
	has_id = json_object_object_get_ex(req, "id", &id);
	json_object_object_foreach(req, key, val) {
		if (!strcmp(key, "execute")) {
			if (!json_object_is_type(val, json_type_string)) {
				reply_error(c, QMP_ERROR_GENERIC,
					    "QMP input member 'execute' must be a string", id,
					    has_id);
				return;
			}
			exec = val;
		} else if (!strcmp(key, "arguments")) {
			if (!json_object_is_type(val, json_type_object)) {
				reply_error(c, QMP_ERROR_GENERIC,
					    "QMP input member 'arguments' must be an object", id,
					    has_id);
				return;
			}
			args = val;
		} else if (strcmp(key, "id")) {
			reply_errorf(c, QMP_ERROR_GENERIC, id, has_id,
				     "QMP input member '%s' is unexpected", key);
			return;
		}
	}
	if (!exec) {
		reply_error(c, QMP_ERROR_GENERIC, "QMP input lacks member 'execute'", id, has_id);
		return;
	}
	name = json_object_get_string(exec);
	if (!c->negotiated && strcmp(name, "qmp_capabilities")) {
		reply_error(c, QMP_ERROR_COMMAND_NOT_FOUND,
			    "Expecting capabilities negotiation with 'qmp_capabilities'", id,
			    has_id);
		return;
	}
	qmp_run(c, name, args, id, has_id);
}

/* ---- input ---- */

static const char *qmp_parse_error(enum json_tokener_error jerr)
{
	/* QEMU's messages where its parser has the same complaint. */
	switch (jerr) {
	case json_tokener_error_depth:
		return "JSON nesting depth limit exceeded";
	case json_tokener_error_parse_null:
	case json_tokener_error_parse_boolean:
		return "JSON parse error, invalid keyword";
	case json_tokener_error_parse_number:
		return "JSON parse error, invalid number";
	case json_tokener_error_parse_array:
		return "JSON parse error, expected separator in list";
	case json_tokener_error_parse_object_key_name:
		return "JSON parse error, key is not a string in object";
	case json_tokener_error_parse_object_key_sep:
		return "JSON parse error, missing : in object pair";
	case json_tokener_error_parse_object_value_sep:
		return "JSON parse error, expected separator in dict";
	case json_tokener_error_parse_string:
		return "JSON parse error, invalid escape sequence in string";
	case json_tokener_error_parse_utf8_string:
		return "JSON parse error, invalid UTF-8 sequence in string";
	case json_tokener_error_size:
		return "JSON token size limit exceeded";
	default:
		return "JSON parse error, expecting value";
	}
}

/* The value of the four hex digits at @p, or -1. */
static long qmp_hex4(const char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int d = p[i] >= '0' && p[i] <= '9'   ? p[i] - '0'
			: p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10
			: p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 10
						     : -1;

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * Escapes json-c takes that the server does not: "\u0000" (C strings would
 * end there) and a surrogate that is not half of a pair (as raw UTF-8
 * surrogates are refused). NULL, or why the value is refused.
 */
static const char *qmp_bad_escape(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		long cp, low;

		if (p[i] != '\\')
			continue;
		if (p[i + 1] != 'u' || i + 5 >= len || (cp = qmp_hex4(p + i + 2)) < 0) {
			i++; /* the escaped character is not a backslash of its own */
			continue;
		}
		if (!cp)
			return "JSON parse error, \\u0000 is not supported";
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return "JSON parse error, a \\u escape of half a surrogate pair";
		if (cp >= 0xd800 && cp <= 0xdbff) {
			low = i + 11 < len && p[i + 6] == '\\' && p[i + 7] == 'u'
				      ? qmp_hex4(p + i + 8)
				      : -1;
			if (low < 0xdc00 || low > 0xdfff)
				return "JSON parse error, a \\u escape of half a surrogate pair";
			i += 6; /* the low half is part of this escape */
		}
		i += 5;
	}
	return NULL;
}

/*
 * UTF-8 that json-c's check lets through (it looks at the form only):
 * overlong forms, surrogates, code points past U+10FFFF.
 */
static bool qmp_bad_utf8(const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	uint32_t cp;
	size_t n;

	for (size_t i = 0; i < len; i += n) {
		n = utf8_decode(s + i, len - i, &cp);
		if (!n)
			return true;
	}
	return false;
}

/* The scanner found a value at [start, @end): parse and run it. */
static void qmp_client_value(struct qmp_client *c, size_t end, bool bare)
{
	const char *p = c->in.p + c->start;
	size_t len = end - c->start;
	enum json_tokener_error jerr;
	struct json_object *req;
	const char *bad;

	c->state = SCAN_IDLE;
	if (c->discarding) {
		c->discarding = false;
		return;
	}
	bad = qmp_bad_escape(p, len);
	if (bad) {
		reply_error(c, QMP_ERROR_GENERIC, bad, NULL, false);
		return;
	}
	json_tokener_reset(c->tok);
	req = json_tokener_parse_ex(c->tok, p, (int)len);
	jerr = json_tokener_get_error(c->tok);
	/* A number only ends at the next byte: give it one. */
	if (bare && jerr == json_tokener_continue) {
		req = json_tokener_parse_ex(c->tok, " ", 1);
		jerr = json_tokener_get_error(c->tok);
	}
	if (jerr != json_tokener_success) {
		json_object_put(req);
		if (bare && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			reply_errorf(c, QMP_ERROR_GENERIC, NULL, false,
				     "JSON parse error, invalid keyword '%.*s'",
				     (int)(len < QMP_TOKEN_SHOWN ? len : QMP_TOKEN_SHOWN), p);
		else
			reply_error(c, QMP_ERROR_GENERIC, qmp_parse_error(jerr), NULL, false);
		return;
	}
	if (qmp_bad_utf8(p, len)) {
		json_object_put(req);
		reply_error(c, QMP_ERROR_GENERIC,
			    qmp_parse_error(json_tokener_error_parse_utf8_string), NULL, false);
		return;
	}
	qmp_dispatch(c, req);
	json_object_put(req);
}

/* A byte that is never JSON: drop the value it is in (the spec's reset). */
static void qmp_client_stray(struct qmp_client *c, unsigned char ch)
{
	c->state = SCAN_IDLE;
	if (c->discarding) {
		c->discarding = false;
		return;
	}
	if (ch > 0x20 && ch < 0x7f)
		reply_errorf(c, QMP_ERROR_GENERIC, NULL, false, "JSON parse error, stray '%c'", ch);
	else
		reply_errorf(c, QMP_ERROR_GENERIC, NULL, false, "JSON parse error, stray '\\x%02x'",
			     ch);
}

static bool qmp_is_ws(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Bytes JSON text never holds outside strings (nor, but for TAB, inside). */
static bool qmp_is_stray(unsigned char ch)
{
	return (ch < 0x20 && !qmp_is_ws(ch)) || ch >= 0xfe;
}

static bool qmp_ends_bare(unsigned char ch)
{
	return qmp_is_ws(ch) || qmp_is_stray(ch) || strchr("{}[]\",:", ch);
}

static bool qmp_client_backed_up(const struct qmp_client *c)
{
	return c->out.len - c->out.off >= QMP_OUTPUT_PAUSE;
}

static void qmp_client_scan(struct qmp_client *c)
{
	unsigned char *b = (unsigned char *)c->in.p;
	size_t i = c->scan;
	unsigned char ch;

	while (i < c->in.len && !c->dead && !c->out.failed && !qmp_client_backed_up(c)) {
		ch = b[i];
		switch (c->state) {
		case SCAN_IDLE:
			if (qmp_is_ws(ch))
				break;
			c->start = i;
			if (ch == '{' || ch == '[') {
				c->depth = 1;
				c->state = SCAN_NESTED;
			} else if (ch == '"') {
				c->depth = 0;
				c->state = SCAN_STRING;
			} else if (qmp_is_stray(ch)) {
				qmp_client_stray(c, ch);
			} else if (qmp_ends_bare(ch)) {
				/* A lone '}', ']', ',' or ':': the parser says what is wrong. */
				qmp_client_value(c, i + 1, false);
			} else {
				c->state = SCAN_BARE;
			}
			break;
		case SCAN_NESTED:
			if (ch == '"') {
				c->state = SCAN_STRING;
			} else if (ch == '{' || ch == '[') {
				c->depth++;
			} else if (ch == '}' || ch == ']') {
				if (--c->depth == 0)
					qmp_client_value(c, i + 1, false);
			} else if (qmp_is_stray(ch)) {
				qmp_client_stray(c, ch);
			}
			break;
		case SCAN_STRING:
			if (ch == '"') {
				if (c->depth)
					c->state = SCAN_NESTED;
				else
					qmp_client_value(c, i + 1, false);
			} else if (ch == '\\') {
				c->state = SCAN_ESCAPE;
			} else if (ch < 0x20 || ch >= 0xfe) {
				qmp_client_stray(c, ch);
			}
			break;
		case SCAN_ESCAPE:
			if (ch < 0x20 || ch >= 0xfe)
				qmp_client_stray(c, ch);
			else
				c->state = SCAN_STRING;
			break;
		case SCAN_BARE:
			if (qmp_ends_bare(ch)) {
				qmp_client_value(c, i, true);
				continue; /* look at @ch again, between values */
			}
			break;
		}
		i++;
		if (c->state != SCAN_IDLE && !c->discarding && i - c->start > QMP_MAX_REQUEST) {
			/* Answer now, then skip the rest of it; the client stays. */
			reply_error(c, QMP_ERROR_GENERIC, "JSON token size limit exceeded", NULL,
				    false);
			c->discarding = true;
		}
	}

	/*
	 * Keep only the unfinished value and what was not scanned yet (the
	 * client's output backed up), at the start of the buffer.
	 */
	if (c->state == SCAN_IDLE || c->discarding) {
		memmove(b, b + i, c->in.len - i);
		c->in.len -= i;
		c->scan = 0;
		buf_shrink(&c->in);
	} else {
		if (c->start) {
			memmove(b, b + c->start, c->in.len - c->start);
			c->in.len -= c->start;
			i -= c->start;
		}
		c->scan = i;
	}
	c->start = 0;
}

/* ---- clients ---- */

static void qmp_client_free(struct qmp_client *c)
{
	struct qmp_server *s = c->srv;

	if (c->gone)
		c->gone(c->owner);

	eventloop__del(s->loop, &c->h);
	close(c->h.fd);
	json_tokener_free(c->tok);
	free(c->in.p);
	free(c->out.p);
	s->clients[c->slot] = NULL;
	s->nr_clients--;
	free(c);
}

/* Outside the client's own handler: make the loop call it so it frees itself. */
static void qmp_client_kill(struct qmp_client *c)
{
	c->dead = true;
	shutdown(c->h.fd, SHUT_RDWR);
}

static void qmp_client_watch(struct qmp_client *c, uint32_t events)
{
	/* eventloop.h has no modify; this is the slow path of a full socket. */
	eventloop__del(c->srv->loop, &c->h);
	if (eventloop__add(c->srv->loop, &c->h, events))
		qmp_client_kill(c);
	c->events = events;
}

static void qmp_client_flush(struct qmp_client *c)
{
	struct qmp_buf *b = &c->out;
	uint32_t want;
	ssize_t n;

	if (c->dead)
		return;
	if (b->failed) {
		qmp_log(c->srv, LOG_INFO,
			"control socket: dropping a client that reads too slowly");
		qmp_client_kill(c);
		return;
	}
	while (b->off < b->len) {
		n = send(c->h.fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				qmp_client_kill(c);
			break;
		}
		b->off += (size_t)n;
	}
	if (c->dead)
		return;
	if (b->off == b->len) {
		b->off = b->len = 0;
		buf_shrink(b);
	}
	want = (c->eof || qmp_client_backed_up(c) ? 0 : EPOLLIN) | (b->off < b->len ? EPOLLOUT : 0);
	if (want && want != c->events)
		qmp_client_watch(c, want);
}

static void qmp_client_read(struct qmp_client *c)
{
	size_t room;
	ssize_t n;

	for (int i = 0; i < QMP_READS_PER_EVENT && !qmp_client_backed_up(c); i++) {
		if (!buf_reserve(&c->in, QMP_BUF_MIN)) {
			c->dead = true;
			return;
		}
		room = c->in.cap - c->in.len;
		n = read(c->h.fd, c->in.p + c->in.len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			return;
		}
		if (n == 0) {
			c->eof = true;
			return;
		}
		c->in.len += (size_t)n;
		qmp_client_scan(c);
		if (c->dead || c->out.failed || (size_t)n < room)
			return;
	}
}

static void qmp_client_on_event(struct event_handler *h, uint32_t events)
{
	struct qmp_client *c = h->ctx;

	if (events & EPOLLERR)
		c->dead = true;
	if (!c->dead && !c->eof && (events & (EPOLLIN | EPOLLHUP)))
		qmp_client_read(c);
	qmp_client_flush(c);
	/* The client read enough: take up the requests that waited. */
	if (!c->dead && !qmp_client_backed_up(c) && c->scan < c->in.len) {
		qmp_client_scan(c);
		qmp_client_flush(c);
	}
	/* After EOF, stay until the replies are out. */
	if (c->dead || (c->eof && c->out.off == c->out.len))
		qmp_client_free(c);
}

static void qmp_client_new(struct qmp_server *s, int fd)
{
	struct qmp_client *c;
	unsigned int slot;
	ssize_t n;

	if (s->nr_clients == s->max_clients) {
		char too_many[160];
		int len;

		qmp_log(s, LOG_INFO, "control socket: refusing a client, %u are connected",
			s->max_clients);
		len = snprintf(too_many, sizeof(too_many),
			       "{\"error\": {\"class\": \"GenericError\", \"desc\": \"too many "
			       "control clients (at most %u)\"}}\r\n",
			       s->max_clients);
		/* Best effort: a fresh socket's buffer takes it, or the client is gone. */
		n = send(fd, too_many, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
		close(fd);
		return;
	}
	for (slot = 0; s->clients[slot]; slot++)
		;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto close_fd;
	c->tok = json_tokener_new_ex(QMP_JSON_DEPTH);
	if (!c->tok)
		goto free_client;
	json_tokener_set_flags(c->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	c->srv = s;
	c->slot = slot;
	c->in.max = QMP_IN_MAX;
	c->out.max = QMP_MAX_OUTPUT;
	c->h = (struct event_handler){ fd, qmp_client_on_event, c };
	c->events = EPOLLIN;
	if (eventloop__add(s->loop, &c->h, EPOLLIN))
		goto free_tokener;
	s->clients[slot] = c;
	s->nr_clients++;
	buf_put(&c->out, s->greeting, s->greeting_len);
	qmp_client_flush(c);
	return;

free_tokener:
	json_tokener_free(c->tok);
free_client:
	free(c);
close_fd:
	qmp_log(s, LOG_WARN, "control socket: cannot take a client: out of memory");
	close(fd);
}

/*
 * The socket is 0600, so only its owner (and root) can connect; check the
 * peer anyway, in case the file's mode or directory was changed, or the
 * listening socket was passed on: the control socket is operator-only.
 */
static bool qmp_peer_allowed(const struct qmp_server *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred)) {
		qmp_log(s, LOG_WARN, "control socket: refused a client: SO_PEERCRED: %s",
			strerror(errno));
		return false;
	}
	if (cred.uid == geteuid() || cred.uid == 0)
		return true;
	qmp_log(s, LOG_WARN,
		"control socket: refused process %d of uid %u: only uid %u and root may connect",
		(int)cred.pid, (unsigned int)cred.uid, (unsigned int)geteuid());
	return false;
}

static void qmp_on_accept(struct event_handler *h, uint32_t events)
{
	struct qmp_server *s = h->ctx;
	int fd;

	for (;;) {
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				qmp_log(s, LOG_WARN, "control socket: accept: %s", strerror(errno));
			return;
		}
		if (!qmp_peer_allowed(s, fd)) {
			close(fd);
			continue;
		}
		qmp_client_new(s, fd);
	}
}

/* ---- events ---- */

/* An event timestamped now, owning @data (freed on failure). */
static struct qmp_event *qmp_event_new(const char *name, size_t len, struct json_object *data)
{
	struct qmp_event *ev = malloc(sizeof(*ev) + len + 1);
	struct timespec ts;

	if (!ev) {
		json_object_put(data);
		return NULL;
	}
	ev->next = NULL;
	ev->data = data;
	ev->sec = -1;
	ev->usec = -1;
	if (!clock_gettime(CLOCK_REALTIME, &ts)) {
		ev->sec = ts.tv_sec;
		ev->usec = ts.tv_nsec / 1000;
	}
	memcpy(ev->name, name, len + 1);
	return ev;
}

static void qmp_event_format(struct qmp_buf *b, const struct qmp_event *ev)
{
	buf_printf(b, "{\"timestamp\": {\"seconds\": %lld, \"microseconds\": %lld}, \"event\": ",
		   ev->sec, ev->usec);
	buf_put_string(b, ev->name, strlen(ev->name));
	if (ev->data) {
		buf_put_lit(b, ", \"data\": ");
		buf_put_json(b, ev->data);
	}
	buf_put_lit(b, "}\r\n");
}

static void qmp_deliver_events(struct qmp_server *s)
{
	struct qmp_buf line = { .max = SIZE_MAX };
	struct qmp_event *ev, *next;
	struct qmp_client *c;
	unsigned long dropped;
	unsigned int i;
	bool any = false;

	pthread_mutex_lock(&s->lock);
	ev = s->ev_head;
	s->ev_head = NULL;
	s->ev_tail = &s->ev_head;
	s->nr_pending = 0;
	dropped = s->nr_dropped;
	s->nr_dropped = 0;
	pthread_mutex_unlock(&s->lock);

	if (dropped)
		qmp_log(s, LOG_WARN, "control socket: %lu events dropped, the queue was full",
			dropped);
	for (i = 0; i < QMP_CLIENTS_LIMIT; i++) {
		c = s->clients[i];
		any |= c && c->negotiated && !c->dead && !c->owner;
	}
	for (; ev; ev = next) {
		next = ev->next;
		if (any) {
			line.len = 0;
			qmp_event_format(&line, ev);
			for (i = 0; i < QMP_CLIENTS_LIMIT && !line.failed; i++) {
				c = s->clients[i];
				if (c && c->negotiated && !c->dead && !c->owner)
					buf_put(&c->out, line.p, line.len);
			}
		}
		json_object_put(ev->data);
		free(ev);
	}
	free(line.p);
	for (i = 0; i < QMP_CLIENTS_LIMIT; i++) {
		c = s->clients[i];
		if (c && (c->out.off < c->out.len || c->out.failed))
			qmp_client_flush(c);
	}
}

static void qmp_on_events(struct event_handler *h, uint32_t events)
{
	struct qmp_server *s = h->ctx;
	uint64_t n;

	if (read(s->event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		qmp_log(s, LOG_WARN, "control socket: event eventfd: %s", strerror(errno));
	qmp_deliver_events(s);
}

void qmp__event(struct qmp_server *s, const char *name, struct json_object *data)
{
	size_t len = strlen(name);
	struct qmp_event *ev;
	uint64_t one = 1;
	ssize_t n;

	ev = qmp_event_new(name, len, data);
	if (!ev)
		return;

	pthread_mutex_lock(&s->lock);
	if (s->nr_pending >= QMP_MAX_PENDING_EVENTS) {
		s->nr_dropped++;
		pthread_mutex_unlock(&s->lock);
		json_object_put(data);
		free(ev);
		return;
	}
	*s->ev_tail = ev;
	s->ev_tail = &ev->next;
	s->nr_pending++;
	pthread_mutex_unlock(&s->lock);
	/* Fails only if the counter is saturated, when the loop is woken anyway. */
	n = write(s->event_fd, &one, sizeof(one));
	(void)n;
}

void qmp__set_max_clients(struct qmp_server *s, unsigned int n)
{
	s->max_clients = n < 1 ? 1 : n > QMP_CLIENTS_LIMIT ? QMP_CLIENTS_LIMIT : n;
}

void qmp__set_gate(struct qmp_server *s, qmp_gate gate)
{
	s->gate = gate;
}

/* ---- peers ---- */

struct qmp_client *qmp__caller(struct qmp_server *s)
{
	return s->caller;
}

void qmp__client_bind(struct qmp_client *c, void *owner, void (*gone)(void *owner))
{
	c->owner = owner;
	c->gone = gone;
}

void *qmp__client_owner(const struct qmp_client *c)
{
	return c->owner;
}

void qmp__event_to(struct qmp_client *c, const char *name, struct json_object *data)
{
	struct qmp_event *ev;
	size_t len = strlen(name);

	ev = qmp_event_new(name, len, data);
	if (!ev)
		return;
	if (c->negotiated && !c->dead) {
		qmp_event_format(&c->out, ev);
		/* Inside its own handler the reply follows and the handler flushes both. */
		if (c->srv->caller != c)
			qmp_client_flush(c);
	}
	json_object_put(ev->data);
	free(ev);
}

/* ---- setting up ---- */

static int qmp_build_text(struct qmp_server *s)
{
	struct qmp_buf b = { .max = SIZE_MAX };
	unsigned int major = 0, minor = 0, micro = 0;

	sscanf(ACCORD_VERSION, "%u.%u.%u", &major, &minor, &micro);
	buf_printf(&b, "{\"accord\": {\"major\": %u, \"minor\": %u, \"micro\": %u}, ", major, minor,
		   micro);
	buf_put_lit(&b, "\"package\": \"\"}");
	if (b.failed)
		goto fail;
	s->version_json = b.p;
	s->version_len = b.len;

	b = (struct qmp_buf){ .max = SIZE_MAX };
	buf_put_lit(&b, "{\"QMP\": {\"version\": ");
	buf_put(&b, s->version_json, s->version_len);
	buf_put_lit(&b, ", \"capabilities\": []}}\r\n");
	if (b.failed)
		goto fail;
	s->greeting = b.p;
	s->greeting_len = b.len;

	b = (struct qmp_buf){ .max = SIZE_MAX };
	put_commands(&b, s, NULL);
	if (b.failed)
		goto fail;
	s->commands_json = b.p;
	s->commands_len = b.len;
	return 0;
fail:
	free(b.p);
	return -ENOMEM;
}

/* An existing socket nobody listens on is left over from a dead VMM: remove it. */
static int qmp_clear_stale(const char *path, const struct sockaddr_un *addr, struct acc_err *err)
{
	struct stat st;
	int fd, ret, e;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		return acc_errf(err, errno, "control socket %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return acc_errf(err, EEXIST,
				"control socket %s: the path exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return acc_errf(err, errno, "control socket %s: %s", path, strerror(errno));
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	e = errno;
	close(fd);
	/* EAGAIN: a listener whose backlog is full. */
	if (!ret || e == EAGAIN || e == EINPROGRESS)
		return acc_errf(err, EADDRINUSE, "socket %s is in use", path);
	if (e != ECONNREFUSED)
		return acc_errf(err, e, "control socket %s: cannot tell whether it is in use: %s",
				path, strerror(e));
	if (unlink(path) && errno != ENOENT)
		return acc_errf(err, errno, "control socket %s: removing the stale socket: %s",
				path, strerror(errno));
	return 0;
}

/* Unlink the socket file if it is still the one we bound. */
static void qmp_unlink(struct qmp_server *s)
{
	struct stat st;

	if (!lstat(s->path, &st) && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
		unlink(s->path);
}

static int qmp_listen(struct qmp_server *s, struct acc_err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, ret, e;

	memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
	ret = qmp_clear_stale(s->path, &addr, err);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return acc_errf(err, errno, "control socket %s: %s", s->path, strerror(errno));
	/* Born 0600: no window in which another user could connect. */
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	e = errno;
	umask(old);
	if (ret) {
		if (e == EADDRINUSE)
			ret = acc_errf(err, e, "socket %s is in use", s->path);
		else
			ret = acc_errf(err, e, "control socket %s: bind: %s", s->path, strerror(e));
		goto close_fd;
	}
	if (chmod(s->path, 0600) || lstat(s->path, &st)) {
		ret = acc_errf(err, errno, "control socket %s: %s", s->path, strerror(errno));
		goto unlink_path;
	}
	if (!S_ISSOCK(st.st_mode) || (st.st_mode & 0777) != 0600) {
		ret = acc_errf(err, EPERM, "control socket %s: mode %o, not 0600", s->path,
			       st.st_mode & 0777);
		goto unlink_path;
	}
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	if (listen(fd, QMP_LISTEN_BACKLOG)) {
		ret = acc_errf(err, errno, "control socket %s: listen: %s", s->path,
			       strerror(errno));
		goto unlink_path;
	}
	s->listen_fd = fd;
	return 0;

unlink_path:
	unlink(s->path);
close_fd:
	close(fd);
	return ret;
}

static void qmp_free_text(struct qmp_server *s)
{
	free(s->greeting);
	free(s->version_json);
	free(s->commands_json);
	json_object_put(s->empty_args);
}

int qmp__init(struct qmp_server *s, const char *path, struct event_loop *loop,
	      const struct qmp_command *cmds, size_t nr_cmds, void *ctx, const struct acc_log *log,
	      struct acc_err *err)
{
	size_t len = strlen(path);
	int ret;

	memset(s, 0, sizeof(*s));
	s->max_clients = QMP_MAX_CLIENTS;
	s->listen_fd = -1;
	s->event_fd = -1;
	s->loop = loop;
	s->cmds = cmds;
	s->nr_cmds = nr_cmds;
	s->ctx = ctx;
	s->log = log;
	s->ev_tail = &s->ev_head;
	if (!len)
		return acc_errf(err, EINVAL, "control socket: empty path");
	if (len >= QMP_PATH_MAX)
		return acc_errf(err, ENAMETOOLONG,
				"control socket path is too long (%zu bytes, at most %d): %s", len,
				QMP_PATH_MAX - 1, path);
	memcpy(s->path, path, len + 1);

	s->empty_args = json_object_new_object();
	if (!s->empty_args || qmp_build_text(s)) {
		ret = acc_errf(err, ENOMEM, "control socket: out of memory");
		goto free_text;
	}
	ret = -pthread_mutex_init(&s->lock, NULL);
	if (ret) {
		acc_errf(err, -ret, "control socket: mutex: %s", strerror(-ret));
		goto free_text;
	}
	ret = qmp_listen(s, err);
	if (ret)
		goto destroy_lock;
	s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->event_fd < 0) {
		ret = acc_errf(err, errno, "control socket: eventfd: %s", strerror(errno));
		goto remove_socket;
	}
	s->listen_h = (struct event_handler){ s->listen_fd, qmp_on_accept, s };
	ret = eventloop__add(loop, &s->listen_h, EPOLLIN);
	if (ret) {
		acc_errf(err, -ret, "control socket: epoll: %s", strerror(-ret));
		goto close_event_fd;
	}
	s->event_h = (struct event_handler){ s->event_fd, qmp_on_events, s };
	ret = eventloop__add(loop, &s->event_h, EPOLLIN);
	if (ret) {
		acc_errf(err, -ret, "control socket: epoll: %s", strerror(-ret));
		goto del_listen;
	}
	return 0;

del_listen:
	eventloop__del(loop, &s->listen_h);
close_event_fd:
	close(s->event_fd);
remove_socket:
	qmp_unlink(s);
	close(s->listen_fd);
destroy_lock:
	pthread_mutex_destroy(&s->lock);
free_text:
	qmp_free_text(s);
	return ret;
}

void qmp__exit(struct qmp_server *s)
{
	struct qmp_client *c;
	unsigned int i;

	/* Last words: queued events, then whatever the sockets take without waiting. */
	qmp_deliver_events(s);
	for (i = 0; i < QMP_CLIENTS_LIMIT; i++) {
		c = s->clients[i];
		if (!c)
			continue;
		qmp_client_flush(c);
		qmp_client_free(c);
	}
	eventloop__del(s->loop, &s->event_h);
	eventloop__del(s->loop, &s->listen_h);
	close(s->event_fd);
	qmp_unlink(s);
	close(s->listen_fd);
	pthread_mutex_destroy(&s->lock);
	qmp_free_text(s);
	s->event_fd = -1;
	s->listen_fd = -1;
}
