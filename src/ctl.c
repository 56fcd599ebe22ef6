// SPDX-License-Identifier: MIT
/*
 * accord ctl: one command, or a watch of events, over a control socket in
 * QMP framing. The server is not trusted: every line is bounded, parsed
 * strictly and checked for shape, and every wait has a deadline (poll).
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "accord/clock.h"
#include "accord/ctl.h"
#include "accord/size.h"

#define CTL_BUF_MIN    4096
#define CTL_JSON_DEPTH 64
#define CTL_RETRY_MS   10 /* between connects while the listener's backlog is full */
#define CTL_QUOTED     32 /* bytes of a bad line quoted in an error */
#define CTL_ID_CAPS    1
#define CTL_ID_COMMAND 2

#define CTL_JSON_FLAGS	  (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define CTL_PRINT_PRETTY  (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED)
#define CTL_PRINT_COMPACT JSON_C_TO_STRING_PLAIN

static const char ctl_usage[] =
	"Usage: accord ctl [OPTIONS] SOCKET COMMAND [KEY=VALUE ...]\n"
	"       accord ctl [OPTIONS] SOCKET --events [--count N] [--filter NAME]...\n"
	"\n"
	"Send one command to a control socket in QMP framing (a VM's --api-socket, the\n"
	"broker's socket) and print its return value as JSON; or print the events the\n"
	"socket sends, one JSON object a line.\n"
	"\n"
	"Arguments:\n"
	"  KEY=VALUE       VALUE is JSON if it parses as JSON (256, true, null, \"text\",\n"
	"                  {...}, [...]); else a size with a binary unit (K, M, G, T,\n"
	"                  then B or iB if you like: 128M, 1G, 512KiB), sent in bytes;\n"
	"                  else a string. Each KEY once.\n"
	"  KEY:=JSON       VALUE must be JSON\n"
	"\n"
	"Options:\n"
	"  --args JSON     the whole arguments object instead of KEY=VALUE words\n"
	"  --compact       print the return value on one line (default: indented)\n"
	"  --timeout SEC   give up after SEC seconds, e.g. 10 or 0.5 (default 10; with\n"
	"                  --events none). The greeting must come within 10 s.\n"
	"  --events        print events (compact, one a line) instead of a command\n"
	"  --count N       with --events: stop after N events\n"
	"  --filter NAME   with --events: only events called NAME (may be repeated)\n"
	"  -h, --help      show this help\n"
	"  --              end of the options (they may come anywhere before it)\n"
	"\n"
	"Exit status: 0 done (also when the timeout ends --events without --count);\n"
	"1 the command failed, printed as 'accord ctl: CLASS: DESC'; 2 a usage error,\n"
	"no connection, a broken or closed connection, or the timeout; 3 --events\n"
	"--count N saw fewer than N events before the timeout.\n"
	"\n"
	"Examples:\n"
	"  accord ctl /run/vm1.sock query-status\n"
	"  accord ctl /run/vm1.sock set-allocation memory=256M\n"
	"  accord ctl /run/hostd.sock --events --filter GRANT --count 1 --timeout 30\n";

struct ctl_opts {
	const char *socket;
	const char *command;
	const char *args_json; /* --args */
	char **pos;	       /* the words that are not options, in order */
	int nr_pos;
	const char **filters;
	int nr_filters;
	int64_t timeout_ms; /* -1: none */
	uint64_t count;	    /* 0: no --count */
	bool timeout_given;
	bool events;
	bool compact;
	bool help;
};

/* One connection. Deadlines are CLOCK_MONOTONIC milliseconds, -1 for none. */
struct ctl_conn {
	const char *path;
	int fd;
	char *buf;
	size_t off;  /* start of the unread bytes */
	size_t scan; /* unread bytes already searched for '\n' */
	size_t len;
	size_t cap;
	struct json_tokener *tok;
	int64_t start;
	int64_t deadline; /* the whole exchange */
	int64_t hello;	  /* connecting, the greeting and negotiation */
};

static int64_t ctl_now_ms(void)
{
	return (int64_t)(clock__monotonic_ns() / 1000000);
}

/* ---- JSON text ---- */

/* json-c takes NaN and Infinity, which are not JSON. */
static bool ctl_json_finite(struct json_object *v)
{
	size_t i, n;

	switch (json_object_get_type(v)) {
	case json_type_double:
		return isfinite(json_object_get_double(v));
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (!ctl_json_finite(json_object_array_get_idx(v, i)))
				return false;
		}
		return true;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (!ctl_json_finite(val))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

/*
 * Parse all of @text (NUL-terminated, @len bytes) as one JSON value: 0 with
 * *@out set (NULL for null), or -EINVAL with *@why saying what was wrong.
 */
static int ctl_json_parse(struct json_tokener *tok, const char *text, size_t len,
			  struct json_object **out, const char **why)
{
	enum json_tokener_error jerr;
	struct json_object *v;

	*out = NULL;
	if (len >= INT_MAX || memchr(text, '\0', len)) {
		*why = len >= INT_MAX ? "too long" : "a NUL byte";
		return -EINVAL;
	}
	json_tokener_reset(tok);
	/* The NUL ends a number that would otherwise wait for more text. */
	v = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		*why = json_tokener_error_desc(jerr);
		return -EINVAL;
	}
	if (json_tokener_get_parse_end(tok) < len) {
		json_object_put(v);
		*why = "text after the value";
		return -EINVAL;
	}
	if (!ctl_json_finite(v)) {
		json_object_put(v);
		*why = "NaN or Infinity";
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static struct json_tokener *ctl_tokener(void)
{
	struct json_tokener *tok = json_tokener_new_ex(CTL_JSON_DEPTH);

	if (tok)
		json_tokener_set_flags(tok, CTL_JSON_FLAGS);
	return tok;
}

/* @s quoted for a message: at most CTL_QUOTED bytes, unprintable ones as '?'. */
static void ctl_quote(char *dst, size_t cap, const char *s, size_t len)
{
	char shown[CTL_QUOTED + 1];
	size_t i, n = len < CTL_QUOTED ? len : CTL_QUOTED;

	for (i = 0; i < n; i++)
		shown[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	shown[n] = '\0';
	snprintf(dst, cap, "'%s'%s", shown, len > n ? "..." : "");
}

/* ---- arguments ---- */

/* json-c saturates integers it cannot hold: keep only those it holds exactly. */
static bool ctl_int_exact(struct json_object *v, const char *text)
{
	const char *shown;
	size_t n;

	if (!json_object_is_type(v, json_type_int))
		return true;
	text += strspn(text, " \t\r\n");
	n = strcspn(text, " \t\r\n");
	shown = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (n == 2 && !strncmp(text, "-0", 2))
		return true;
	return strlen(shown) == n && !strncmp(shown, text, n);
}

/* "128M", "1G", "512KiB": digits, then K, M, G or T (size__parse reads the rest). */
static bool ctl_looks_like_size(const char *text)
{
	size_t digits = strspn(text, "0123456789");

	return digits && text[digits] && strchr("KMGTkmgt", text[digits]);
}

/* VALUE of KEY=VALUE (@json: of KEY:=JSON) into *@val. */
static int ctl_value(struct json_tokener *tok, const char *key, const char *text, bool json,
		     struct json_object **val, struct acc_err *err)
{
	struct acc_err size_err;
	const char *why;
	uint64_t bytes;
	int ret;

	if (!ctl_json_parse(tok, text, strlen(text), val, &why)) {
		if (ctl_int_exact(*val, text))
			return 0;
		json_object_put(*val);
		return acc_errf(err, ERANGE, "%s: '%s' is out of the range of 64-bit integers", key,
				text);
	}
	if (json)
		return acc_errf(err, EINVAL, "%s: '%s' is not JSON (%s)", key, text, why);
	if (ctl_looks_like_size(text)) {
		ret = size__parse(text, 1, &bytes, &size_err);
		if (ret == -ERANGE)
			return acc_errf(err, ERANGE, "%s: %s", key, size_err.msg);
		if (!ret) {
			*val = bytes > INT64_MAX ? json_object_new_uint64(bytes)
						 : json_object_new_int64((int64_t)bytes);
			goto made;
		}
	}
	*val = json_object_new_string(text);
made:
	return *val ? 0 : acc_errf(err, ENOMEM, "out of memory");
}

/* One KEY=VALUE or KEY:=JSON word into @args. */
static int ctl_add_word(struct json_object *args, struct json_tokener *tok, const char *word,
			struct acc_err *err)
{
	const char *eq = strchr(word, '=');
	struct json_object *val;
	bool json;
	size_t klen;
	char *key;
	int ret;

	if (!eq)
		return acc_errf(err, EINVAL, "'%s' is not KEY=VALUE", word);
	klen = (size_t)(eq - word);
	json = klen && word[klen - 1] == ':';
	if (json)
		klen--;
	if (!klen)
		return acc_errf(err, EINVAL, "'%s' has no KEY before '='", word);
	key = strndup(word, klen);
	if (!key)
		return acc_errf(err, ENOMEM, "out of memory");
	if (json_object_object_get_ex(args, key, NULL)) {
		ret = acc_errf(err, EINVAL, "argument '%s' is given twice", key);
		goto free_key;
	}
	ret = ctl_value(tok, key, eq + 1, json, &val, err);
	if (ret)
		goto free_key;
	if (json_object_object_add(args, key, val)) {
		json_object_put(val);
		ret = acc_errf(err, ENOMEM, "out of memory");
	}
free_key:
	free(key);
	return ret;
}

int ctl__arguments(char *const *words, int nr_words, struct json_object **args, struct acc_err *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	int i, ret = 0;

	tok = ctl_tokener();
	if (!tok)
		return acc_errf(err, ENOMEM, "out of memory");
	obj = json_object_new_object();
	if (!obj) {
		ret = acc_errf(err, ENOMEM, "out of memory");
		goto free_tok;
	}
	for (i = 0; i < nr_words && !ret; i++)
		ret = ctl_add_word(obj, tok, words[i], err);
	if (ret)
		json_object_put(obj);
	else
		*args = obj;
free_tok:
	json_tokener_free(tok);
	return ret;
}

/* --args JSON: an object. */
static int ctl_args_json(const char *text, struct json_object **args, struct acc_err *err)
{
	struct json_tokener *tok;
	const char *why;
	int ret;

	tok = ctl_tokener();
	if (!tok)
		return acc_errf(err, ENOMEM, "out of memory");
	ret = ctl_json_parse(tok, text, strlen(text), args, &why);
	if (ret)
		acc_errf(err, EINVAL, "--args: not JSON (%s)", why);
	else if (!json_object_is_type(*args, json_type_object))
		ret = acc_errf(err, EINVAL, "--args: not a JSON object");
	if (ret) {
		json_object_put(*args);
		*args = NULL;
	}
	json_tokener_free(tok);
	return ret;
}

/* ---- options ---- */

int ctl__parse_seconds(const char *opt, const char *s, int64_t *ms, struct acc_err *err)
{
	size_t whole = strspn(s, "0123456789"), frac = 0;
	double v;

	if (s[whole] == '.')
		frac = strspn(s + whole + 1, "0123456789") + 1;
	if (s[whole + frac] || whole + frac == 0 || (frac == 1 && !whole))
		return acc_errf(err, EINVAL, "%s: '%s' is not a number of seconds (e.g. 10 or 0.5)",
				opt, s);
	v = strtod(s, NULL);
	if (!(v > 0))
		return acc_errf(err, EINVAL, "%s: '%s' is not more than 0", opt, s);
	if (v * 1000 > (double)CTL_TIMEOUT_MAX_MS)
		return acc_errf(err, ERANGE, "%s: '%s' is more than a year", opt, s);
	*ms = (int64_t)(v * 1000);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

static int ctl_option(struct ctl_opts *o, int argc, char **argv, int *i, struct acc_err *err)
{
	const char *opt = argv[*i], *value;

	if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
		o->help = true;
		return 0;
	}
	if (!strcmp(opt, "--compact")) {
		o->compact = true;
		return 0;
	}
	if (!strcmp(opt, "--events")) {
		o->events = true;
		return 0;
	}
	if (strcmp(opt, "--args") && strcmp(opt, "--timeout") && strcmp(opt, "--count") &&
	    strcmp(opt, "--filter"))
		return acc_errf(err, EINVAL, "unknown option '%s' (see 'accord ctl --help')", opt);
	if (*i + 1 >= argc)
		return acc_errf(err, EINVAL, "%s needs a value", opt);
	value = argv[++*i];
	if (!strcmp(opt, "--filter")) {
		o->filters[o->nr_filters++] = value;
		return 0;
	}
	if ((!strcmp(opt, "--args") && o->args_json) ||
	    (!strcmp(opt, "--timeout") && o->timeout_given) ||
	    (!strcmp(opt, "--count") && o->count))
		return acc_errf(err, EINVAL, "%s is given twice", opt);
	if (!strcmp(opt, "--args")) {
		o->args_json = value;
		return 0;
	}
	if (!strcmp(opt, "--timeout")) {
		o->timeout_given = true;
		return ctl__parse_seconds(opt, value, &o->timeout_ms, err);
	}
	if (uint__parse(value, 1, UINT32_MAX, &o->count, err)) {
		acc_err_prefix(err, "--count: ");
		return -EINVAL;
	}
	return 0;
}

/* Which words are what, and whether they go together. */
static int ctl_check(struct ctl_opts *o, struct acc_err *err)
{
	if (o->nr_pos < 1)
		return acc_errf(err, EINVAL, "no SOCKET given (see 'accord ctl --help')");
	o->socket = o->pos[0];
	if (o->events) {
		if (o->nr_pos > 1)
			return acc_errf(err, EINVAL, "--events takes no COMMAND, but '%s' is given",
					o->pos[1]);
		if (o->args_json)
			return acc_errf(err, EINVAL, "--args goes with a COMMAND, not --events");
		if (!o->timeout_given)
			o->timeout_ms = -1;
		return 0;
	}
	if (o->nr_pos < 2)
		return acc_errf(err, EINVAL, "no COMMAND given (see 'accord ctl --help')");
	o->command = o->pos[1];
	if (o->count || o->nr_filters)
		return acc_errf(err, EINVAL, "--count and --filter go with --events");
	if (o->args_json && o->nr_pos > 2)
		return acc_errf(err, EINVAL, "--args and KEY=VALUE ('%s') do not go together",
				o->pos[2]);
	if (!o->timeout_given)
		o->timeout_ms = CTL_TIMEOUT_MS;
	return 0;
}

static void ctl_opts_free(struct ctl_opts *o)
{
	free(o->pos);
	free(o->filters);
}

static int ctl_parse(int argc, char **argv, struct ctl_opts *o, struct acc_err *err)
{
	bool options = true;
	int i, ret = 0;

	memset(o, 0, sizeof(*o));
	o->pos = calloc((size_t)argc + 1, sizeof(*o->pos));
	o->filters = calloc((size_t)argc + 1, sizeof(*o->filters));
	if (!o->pos || !o->filters) {
		ret = acc_errf(err, ENOMEM, "out of memory");
		goto free_opts;
	}
	for (i = 0; i < argc && !o->help; i++) {
		if (options && !strcmp(argv[i], "--"))
			options = false;
		else if (options && argv[i][0] == '-' && argv[i][1])
			ret = ctl_option(o, argc, argv, &i, err);
		else
			o->pos[o->nr_pos++] = argv[i];
		if (ret)
			goto free_opts;
	}
	if (o->help)
		return 0;
	ret = ctl_check(o, err);
	if (!ret)
		return 0;
free_opts:
	ctl_opts_free(o);
	return ret;
}

/* ---- the connection ---- */

static int ctl_timed_out(const struct ctl_conn *c, int64_t deadline, const char *what,
			 struct acc_err *err)
{
	return acc_errf(err, ETIMEDOUT, "timed out after %g s waiting for %s",
			(double)(deadline - c->start) / 1000, what);
}

/* Wait until the socket has @events or the deadline passes. */
static int ctl_wait(struct ctl_conn *c, short events, int64_t deadline, const char *what,
		    struct acc_err *err)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int64_t left;
	int n, ms;

	for (;;) {
		ms = -1;
		if (deadline >= 0) {
			left = deadline - ctl_now_ms();
			if (left <= 0)
				return ctl_timed_out(c, deadline, what, err);
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0; /* POLLHUP and POLLERR too: the read or send says what */
		if (n < 0 && errno != EINTR)
			return acc_errf(err, errno, "poll: %s", strerror(errno));
	}
}

static int ctl_send(struct ctl_conn *c, const char *data, size_t len, int64_t deadline,
		    const char *what, struct acc_err *err)
{
	ssize_t n;
	int ret;

	while (len) {
		n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			return acc_errf(err, errno, "connection closed while sending %s", what);
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return acc_errf(err, errno, "send: %s", strerror(errno));
		ret = ctl_wait(c, POLLOUT, deadline, what, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* Read more of the stream into the buffer, which has room for a line. */
static int ctl_fill(struct ctl_conn *c, int64_t deadline, const char *what, struct acc_err *err)
{
	size_t cap;
	ssize_t n;
	char *p;
	int ret;

	if (c->off) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == c->cap) {
		cap = c->cap * 2 < CTL_LINE_MAX ? c->cap * 2 : CTL_LINE_MAX;
		p = realloc(c->buf, cap);
		if (!p)
			return acc_errf(err, ENOMEM, "out of memory");
		c->buf = p;
		c->cap = cap;
	}
	for (;;) {
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			return 0;
		}
		if (n == 0 || errno == ECONNRESET)
			return acc_errf(err, ECONNRESET, "connection closed while waiting for %s",
					what);
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return acc_errf(err, errno, "read: %s", strerror(errno));
		ret = ctl_wait(c, POLLIN, deadline, what, err);
		if (ret)
			return ret;
	}
}

/* The next line, NUL-terminated without its "\r\n"; valid until the next read. */
static int ctl_read_line(struct ctl_conn *c, int64_t deadline, const char *what, char **line,
			 size_t *len, struct acc_err *err)
{
	char *start, *nl;
	int ret;

	for (;;) {
		start = c->buf + c->off;
		nl = memchr(start + c->scan, '\n', c->len - c->off - c->scan);
		if (nl)
			break;
		c->scan = c->len - c->off;
		if (c->scan >= CTL_LINE_MAX)
			return acc_errf(err, EMSGSIZE,
					"the server sent a line longer than %u MiB while we waited "
					"for %s",
					CTL_LINE_MAX >> 20, what);
		ret = ctl_fill(c, deadline, what, err);
		if (ret)
			return ret;
	}
	c->off = (size_t)(nl + 1 - c->buf);
	c->scan = 0;
	if (nl > start && nl[-1] == '\r')
		nl--;
	*nl = '\0';
	*line = start;
	*len = (size_t)(nl - start);
	return 0;
}

/* The next non-empty line, which must be a JSON object. */
static int ctl_read_object(struct ctl_conn *c, int64_t deadline, const char *what,
			   struct json_object **obj, struct acc_err *err)
{
	char quoted[CTL_QUOTED * 4];
	char *line = NULL;
	const char *why;
	size_t len = 0;
	int ret;

	do {
		ret = ctl_read_line(c, deadline, what, &line, &len, err);
		if (ret)
			return ret;
	} while (strspn(line, " \t") == len);
	ret = ctl_json_parse(c->tok, line, len, obj, &why);
	if (!ret && !json_object_is_type(*obj, json_type_object)) {
		json_object_put(*obj);
		why = "not an object";
		ret = -EPROTO;
	}
	if (ret) {
		ctl_quote(quoted, sizeof(quoted), line, len);
		return acc_errf(err, EPROTO, "malformed line while waiting for %s (%s): %s", what,
				why, quoted);
	}
	return 0;
}

/* A QMP error reply's class and desc, both strings; false if it is not one. */
static bool ctl_error_of(struct json_object *reply, const char **cls, const char **desc)
{
	struct json_object *e, *c, *d;

	if (!json_object_object_get_ex(reply, "error", &e) ||
	    !json_object_object_get_ex(e, "class", &c) ||
	    !json_object_is_type(c, json_type_string) ||
	    !json_object_object_get_ex(e, "desc", &d) || !json_object_is_type(d, json_type_string))
		return false;
	*cls = json_object_get_string(c);
	*desc = json_object_get_string(d);
	return true;
}

/*
 * Send {"execute": @name, "arguments": @args (if any), "id": @id} and wait for
 * its reply, skipping events. *@reply is {"return": ...} or a well-formed
 * {"error": ...}; anything else is an error.
 */
static int ctl_request(struct ctl_conn *c, int64_t deadline, const char *name,
		       struct json_object *args, int id, struct json_object **reply,
		       struct acc_err *err)
{
	struct json_object *req, *obj, *rid;
	const char *text, *cls, *desc;
	char what[96], *line;
	size_t len;
	int ret;

	snprintf(what, sizeof(what), "the reply to %.64s", name);
	req = json_object_new_object();
	if (!req || json_object_object_add(req, "execute", json_object_new_string(name)) ||
	    (args && json_object_object_add(req, "arguments", json_object_get(args))) ||
	    json_object_object_add(req, "id", json_object_new_int(id))) {
		ret = acc_errf(err, ENOMEM, "out of memory");
		goto put_req;
	}
	text = json_object_to_json_string_length(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	/*
	 * One send for the line: the server acts on a complete object before
	 * its line end, and after a quit it may be gone by a second send.
	 */
	line = malloc(len + 2);
	if (!line) {
		ret = acc_errf(err, ENOMEM, "out of memory");
		goto put_req;
	}
	memcpy(line, text, len);
	memcpy(line + len, "\r\n", 2);
	ret = ctl_send(c, line, len + 2, deadline, name, err);
	free(line);
	if (ret)
		goto put_req;
	for (;;) {
		ret = ctl_read_object(c, deadline, what, &obj, err);
		if (ret)
			goto put_req;
		if (json_object_object_get_ex(obj, "return", NULL) ||
		    ctl_error_of(obj, &cls, &desc))
			break;
		if (!json_object_object_get_ex(obj, "event", NULL)) {
			json_object_put(obj);
			ret = acc_errf(err, EPROTO,
				       "%s is neither a return value nor an error with class "
				       "and desc",
				       what);
			goto put_req;
		}
		json_object_put(obj);
	}
	if (json_object_object_get_ex(obj, "id", &rid) &&
	    (!json_object_is_type(rid, json_type_int) || json_object_get_int64(rid) != id)) {
		json_object_put(obj);
		ret = acc_errf(err, EPROTO, "%s carries another request's id", what);
		goto put_req;
	}
	*reply = obj;
put_req:
	json_object_put(req);
	return ret;
}

/* The greeting: {"QMP": {...}}, or the error of a server that turns us away. */
static int ctl_greeting(struct ctl_conn *c, struct acc_err *err)
{
	const char *cls, *desc;
	struct json_object *g, *qmp;
	int ret = 0;

	ret = ctl_read_object(c, c->hello, "the greeting", &g, err);
	if (ret)
		return ret;
	if (ctl_error_of(g, &cls, &desc))
		ret = acc_errf(err, ECONNREFUSED, "refused: %s: %s", cls, desc);
	else if (!json_object_object_get_ex(g, "QMP", &qmp) ||
		 !json_object_is_type(qmp, json_type_object))
		ret = acc_errf(err, EPROTO, "malformed greeting: no \"QMP\" object");
	json_object_put(g);
	return ret;
}

static int ctl_dial(struct ctl_conn *c, struct acc_err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(c->path);

	if (!len)
		return acc_errf(err, EINVAL, "the socket path is empty");
	if (len >= sizeof(addr.sun_path))
		return acc_errf(err, ENAMETOOLONG, "the socket path is longer than %zu bytes",
				sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, c->path, len);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return acc_errf(err, errno, "socket: %s", strerror(errno));
	while (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		if (errno != EAGAIN)
			return acc_errf(err, errno, "cannot connect: %s", strerror(errno));
		/* The listener's backlog is full. */
		if (ctl_now_ms() >= c->hello)
			return ctl_timed_out(c, c->hello, "the server to accept", err);
		poll(NULL, 0, CTL_RETRY_MS);
	}
	return 0;
}

static void ctl_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	json_tokener_free(c->tok);
	c->tok = NULL;
	free(c->buf);
	c->buf = NULL;
}

/* Connect, read the greeting and negotiate; on failure nothing is left open. */
static int ctl_connect(struct ctl_conn *c, const char *path, int64_t timeout_ms,
		       struct acc_err *err)
{
	struct json_object *reply;
	const char *cls, *desc;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = path;
	c->start = ctl_now_ms();
	c->deadline = timeout_ms < 0 ? -1 : c->start + timeout_ms;
	c->hello = c->start + CTL_GREETING_MS;
	if (c->deadline >= 0 && c->deadline < c->hello)
		c->hello = c->deadline;
	c->cap = CTL_BUF_MIN;
	c->buf = malloc(c->cap);
	c->tok = ctl_tokener();
	if (!c->buf || !c->tok) {
		ret = acc_errf(err, ENOMEM, "out of memory");
		goto close_conn;
	}
	ret = ctl_dial(c, err);
	if (!ret)
		ret = ctl_greeting(c, err);
	if (!ret)
		ret = ctl_request(c, c->hello, "qmp_capabilities", NULL, CTL_ID_CAPS, &reply, err);
	if (ret)
		goto close_conn;
	if (ctl_error_of(reply, &cls, &desc))
		ret = acc_errf(err, EPROTO, "qmp_capabilities failed: %s: %s", cls, desc);
	json_object_put(reply);
	if (!ret)
		return 0;
close_conn:
	ctl_close(c);
	return ret;
}

/* ---- the connection for other commands ---- */

int ctl__open(const char *path, int64_t timeout_ms, struct ctl_conn **conn, struct acc_err *err)
{
	struct ctl_conn *c = malloc(sizeof(*c));
	int ret;

	if (!c)
		return acc_errf(err, ENOMEM, "out of memory");
	ret = ctl_connect(c, path, timeout_ms, err);
	if (ret) {
		free(c);
		return ret;
	}
	*conn = c;
	return 0;
}

int ctl__execute(struct ctl_conn *c, const char *command, struct json_object *args,
		 int64_t timeout_ms, struct json_object **ret, struct acc_err *err)
{
	struct json_object *reply;
	const char *cls, *desc;
	int rc;

	c->start = ctl_now_ms();
	rc = ctl_request(c, c->start + timeout_ms, command, args, CTL_ID_COMMAND, &reply, err);
	if (rc)
		return rc;
	if (ctl_error_of(reply, &cls, &desc)) {
		rc = acc_errf(err, EREMOTEIO, "%s: %s: %s", command, cls, desc);
	} else {
		json_object_object_get_ex(reply, "return", ret);
		json_object_get(*ret);
	}
	json_object_put(reply);
	return rc;
}

int ctl__drain(struct ctl_conn *c, struct acc_err *err)
{
	char *nl;
	int ret;

	for (;;) {
		if (c->len - c->off >= CTL_LINE_MAX)
			return acc_errf(err, EMSGSIZE, "the server sent a line longer than %u MiB",
					CTL_LINE_MAX >> 20);
		/* A deadline already passed: read what is there, wait for nothing. */
		ret = ctl_fill(c, 0, "events", err);
		if (ret)
			return ret == -ETIMEDOUT ? 0 : ret;
		nl = memrchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl) {
			c->off = (size_t)(nl + 1 - c->buf);
			c->scan = 0;
		}
	}
}

int ctl__fd(const struct ctl_conn *c)
{
	return c->fd;
}

void ctl__close(struct ctl_conn *c)
{
	if (!c)
		return;
	ctl_close(c);
	free(c);
}

/* ---- output ---- */

/* @s as it may stand in a one-line message: control characters become spaces. */
static void ctl_put_line(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

/* "accord ctl: FIRST: SECOND" (SECOND may be NULL) as one line on @f. */
static void ctl_complain(FILE *f, const char *first, const char *second)
{
	fputs("accord ctl: ", f);
	ctl_put_line(f, first);
	if (second) {
		fputs(": ", f);
		ctl_put_line(f, second);
	}
	fputc('\n', f);
}

static int ctl_print(FILE *out, FILE *err_out, struct json_object *v, int flags)
{
	fputs(json_object_to_json_string_ext(v, flags | JSON_C_TO_STRING_NOSLASHESCAPE), out);
	fputc('\n', out);
	if (fflush(out) || ferror(out)) {
		ctl_complain(err_out, "cannot write the output", strerror(errno));
		return -EIO;
	}
	return 0;
}

static bool ctl_is_empty(struct json_object *v)
{
	if (json_object_is_type(v, json_type_object))
		return json_object_object_length(v) == 0;
	if (json_object_is_type(v, json_type_array))
		return json_object_array_length(v) == 0;
	return false;
}

/* Print the reply's return value, or its error; the exit status. */
static int ctl_report(struct json_object *reply, bool compact, FILE *out, FILE *err_out)
{
	const char *cls, *desc;
	struct json_object *ret;
	int flags;

	if (ctl_error_of(reply, &cls, &desc)) {
		ctl_complain(err_out, cls, desc);
		return CTL_EXIT_QMP;
	}
	json_object_object_get_ex(reply, "return", &ret);
	/* json-c prints an empty object indented as "{\n}". */
	flags = compact || ctl_is_empty(ret) ? CTL_PRINT_COMPACT : CTL_PRINT_PRETTY;
	return ctl_print(out, err_out, ret, flags) ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}

/* ---- the two modes ---- */

static int ctl_call(const struct ctl_opts *o, FILE *out, FILE *err_out)
{
	struct json_object *args = NULL, *reply;
	struct acc_err err = { "" };
	struct ctl_conn c;
	int ret, status;

	if (o->args_json)
		ret = ctl_args_json(o->args_json, &args, &err);
	else if (o->nr_pos > 2)
		ret = ctl__arguments(o->pos + 2, o->nr_pos - 2, &args, &err);
	else
		ret = 0;
	if (ret) {
		ctl_complain(err_out, err.msg, NULL);
		return CTL_EXIT_FAILED;
	}
	ret = ctl_connect(&c, o->socket, o->timeout_ms, &err);
	if (ret)
		goto put_args;
	ret = ctl_request(&c, c.deadline, o->command, args, CTL_ID_COMMAND, &reply, &err);
	ctl_close(&c);
	if (ret)
		goto put_args;
	status = ctl_report(reply, o->compact, out, err_out);
	json_object_put(reply);
put_args:
	json_object_put(args);
	if (ret) {
		ctl_complain(err_out, o->socket, err.msg);
		return CTL_EXIT_FAILED;
	}
	return status;
}

static bool ctl_wanted(const struct ctl_opts *o, struct json_object *ev)
{
	struct json_object *name;
	int i;

	if (!json_object_object_get_ex(ev, "event", &name) ||
	    !json_object_is_type(name, json_type_string))
		return false;
	if (!o->nr_filters)
		return true;
	for (i = 0; i < o->nr_filters; i++) {
		if (!strcmp(json_object_get_string(name), o->filters[i]))
			return true;
	}
	return false;
}

static int ctl_watch(const struct ctl_opts *o, FILE *out, FILE *err_out)
{
	struct acc_err err = { "" };
	struct json_object *ev;
	struct ctl_conn c;
	uint64_t seen = 0;
	int ret, failed = 0;
	size_t len;

	ret = ctl_connect(&c, o->socket, o->timeout_ms, &err);
	if (ret)
		goto report;
	while (!failed && (!o->count || seen < o->count)) {
		ret = ctl_read_object(&c, c.deadline, "events", &ev, &err);
		if (ret)
			break;
		if (ctl_wanted(o, ev)) {
			seen++;
			failed = ctl_print(out, err_out, ev, CTL_PRINT_COMPACT);
		}
		json_object_put(ev);
	}
	ctl_close(&c);
	if (failed)
		return CTL_EXIT_FAILED;
	/* The timeout ends an open-ended watch. */
	if (!ret || (ret == -ETIMEDOUT && !o->count))
		return CTL_EXIT_OK;
	if (ret == -ETIMEDOUT) {
		len = strlen(err.msg);
		snprintf(err.msg + len, sizeof(err.msg) - len, " (%llu of %llu came)",
			 (unsigned long long)seen, (unsigned long long)o->count);
		ctl_complain(err_out, o->socket, err.msg);
		return CTL_EXIT_NO_MORE;
	}
report:
	ctl_complain(err_out, o->socket, err.msg);
	return CTL_EXIT_FAILED;
}

int ctl__main(int argc, char **argv, FILE *out, FILE *err_out)
{
	struct acc_err err = { "" };
	struct ctl_opts o;
	int status;

	if (ctl_parse(argc, argv, &o, &err)) {
		ctl_complain(err_out, err.msg, NULL);
		return CTL_EXIT_FAILED;
	}
	if (o.help) {
		fputs(ctl_usage, out);
		status = CTL_EXIT_OK;
	} else if (o.events) {
		status = ctl_watch(&o, out, err_out);
	} else {
		status = ctl_call(&o, out, err_out);
	}
	ctl_opts_free(&o);
	return status;
}
