// SPDX-License-Identifier: MIT
/*
 * accord top: every VM registered on a broker, redrawn each interval. A
 * frame is rendered as plain text from three operator commands (query-vms,
 * query-ledger, query-requests), then painted on the terminal's alternate
 * screen line by line, cut to its width. The broker is not trusted: its text
 * is printed with control and non-ASCII bytes replaced, and a reply of the
 * wrong shape ends the view. The connection is accord ctl's (src/ctl.c).
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "accord/clock.h"
#include "accord/ctl.h"
#include "accord/top.h"

#define TOP_CELL	    160 /* bytes of a table cell, NUL included */
#define TOP_MAX_ROWS	    128 /* VMs listed; the rest are counted */
#define TOP_MAX_COLS	    16	/* cells of a table row */
#define TOP_INTERVAL_MIN_MS 100
#define TOP_DEFAULT_COLS    80
#define TOP_DEFAULT_ROWS    24

#define TOP_ENTER "\033[?1049h\033[?25l" /* the alternate screen, no cursor */
#define TOP_LEAVE "\033[?25h\033[?1049l"

static const char top_usage[] =
	"Usage: accord top [--interval SECONDS] [--once] [--timeout SECONDS] BROKER_SOCKET\n"
	"\n"
	"Show every VM registered on a broker (accord hostd), redrawn every interval:\n"
	"the pool and what is free, a row per VM (memory allocation and maximum, used,\n"
	"forecast, being handed back, held by open offers and promised, vCPUs, weight,\n"
	"fair share, decision counts), then the broker's latest decisions.\n"
	"\n"
	"Options:\n"
	"  --interval SEC  redraw every SEC seconds, e.g. 1 or 0.5 (default 1, at least\n"
	"                  0.1)\n"
	"  --once          print one frame as plain text and exit (what happens anyway\n"
	"                  when stdout is not a terminal)\n"
	"  --timeout SEC   give up on a broker that does not answer within SEC seconds\n"
	"                  (default 10)\n"
	"  -h, --help      show this help\n"
	"\n"
	"Keys: q quits; so do Ctrl-C and SIGTERM.\n"
	"\n"
	"Exit status: 0 done; 2 a usage error, no broker, or the broker went away.\n";

struct top_opts {
	const char *socket;
	int64_t interval_ms;
	int64_t timeout_ms;
	bool once;
	bool help;
};

/* Set by the signal handler, read by the loop. */
static volatile sig_atomic_t top_quit;	  /* SIGINT, SIGTERM, SIGHUP */
static volatile sig_atomic_t top_resized; /* SIGWINCH */

static const int top_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
#define TOP_NR_SIGNALS (sizeof(top_signals) / sizeof(top_signals[0]))

/* The terminal's state before the view, to put back. */
struct top_term {
	FILE *out;
	bool keys; /* stdin is a terminal, read key by key */
	struct termios saved;
	struct sigaction old[TOP_NR_SIGNALS];
	sigset_t old_mask;
};

/* The live view. */
struct top_view {
	const struct top_opts *opts;
	struct ctl_conn *conn;
	struct json_object *limit; /* query-requests' arguments */
	struct top_data data;
	struct top_term term;
};

static int64_t top_now_ms(void)
{
	return (int64_t)(clock__monotonic_ns() / 1000000);
}

/* ---- reading the broker's replies ---- */

/* @o.@key (then .@sub): false if a member is missing; *@v is NULL for null. */
static bool top_find(struct json_object *o, const char *key, const char *sub,
		     struct json_object **v)
{
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, v))
		return false;
	if (!sub)
		return true;
	return json_object_is_type(*v, json_type_object) && json_object_object_get_ex(*v, sub, v);
}

static bool top_u64(struct json_object *o, const char *key, const char *sub, uint64_t *n)
{
	struct json_object *v;

	if (!top_find(o, key, sub, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return false;
	*n = json_object_get_uint64(v);
	return true;
}

static const char *top_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!top_find(o, key, NULL, &v) || !json_object_is_type(v, json_type_string))
		return "?";
	return json_object_get_string(v);
}

void top__size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	double v;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu%s", (unsigned long long)bytes, bytes ? " B" : "");
		return;
	}
	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes >> (10 * (u + 1)))
		u++;
	if (!(bytes & ((1ull << (10 * u)) - 1))) {
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes >> (10 * u)), units[u]);
		return;
	}
	v = (double)bytes / (double)(1ull << (10 * u));
	if (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* @o.@key(.@sub) as a size (@mem) or a count; "-" for null (not known yet), "?" if bad. */
static void top_amount(char *buf, size_t len, struct json_object *o, const char *key,
		       const char *sub, bool mem)
{
	struct json_object *v;
	uint64_t n;

	if (top_find(o, key, sub, &v) && !v)
		snprintf(buf, len, "-");
	else if (!top_u64(o, key, sub, &n))
		snprintf(buf, len, "?");
	else if (mem)
		top__size(n, buf, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)n);
}

/* "A/B" from @o.@key.@a and @o.@key.@b. */
static void top_pair(char *cell, struct json_object *o, const char *key, const char *a,
		     const char *b, bool mem)
{
	char x[TOP_CELL / 2], y[TOP_CELL / 2];

	top_amount(x, sizeof(x), o, key, a, mem);
	top_amount(y, sizeof(y), o, key, b, mem);
	snprintf(cell, TOP_CELL, "%s/%s", x, y);
}

/* ---- the frame ---- */

/*
 * @nr_rows rows (the first holds the heads) of @nr_cols cells, columns two
 * spaces apart; the columns whose bit is set in @right are right-aligned,
 * the last one is not padded.
 */
static void top_table(FILE *f, char (*cells)[TOP_CELL], unsigned int nr_rows, unsigned int nr_cols,
		      unsigned int right)
{
	int width[TOP_MAX_COLS] = { 0 };
	unsigned int r, c;
	const char *s;

	for (r = 0; r < nr_rows; r++) {
		for (c = 0; c < nr_cols; c++) {
			if ((int)strlen(cells[r * nr_cols + c]) > width[c])
				width[c] = (int)strlen(cells[r * nr_cols + c]);
		}
	}
	for (r = 0; r < nr_rows; r++) {
		for (c = 0; c < nr_cols; c++) {
			s = cells[r * nr_cols + c];
			if (right & (1u << c))
				fprintf(f, "%*s", width[c], s);
			else
				fprintf(f, "%-*s", c + 1 < nr_cols ? width[c] : 0, s);
			fputs(c + 1 < nr_cols ? "  " : "\n", f);
		}
	}
}

static void top_header(FILE *f, const char *socket, struct json_object *ledger, time_t now)
{
	static const char *const kinds[] = { "memory", "vcpus" };
	struct json_object *consistent;
	char when[32] = "?", pool[TOP_CELL / 2], free_[TOP_CELL / 2];
	uint64_t p, charged, n;
	struct tm tm;
	unsigned int k;

	if (localtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "accord top: %s  %s\n", socket, when);
	fputs("pool:", f);
	for (k = 0; k < 2; k++) {
		top_amount(pool, sizeof(pool), ledger, "pool", kinds[k], !k);
		if (top_u64(ledger, "pool", kinds[k], &p) &&
		    top_u64(ledger, "charged", kinds[k], &charged)) {
			n = p > charged ? p - charged : 0;
			if (k)
				snprintf(free_, sizeof(free_), "%llu", (unsigned long long)n);
			else
				top__size(n, free_, sizeof(free_));
		} else {
			snprintf(free_, sizeof(free_), "?");
		}
		fprintf(f, "%s %s %s (%s free)", k ? "," : "", kinds[k], pool, free_);
	}
	for (k = 0; k < 2; k++) {
		if (top_u64(ledger, "overcommit", kinds[k], &n) && n) {
			top_amount(pool, sizeof(pool), ledger, "overcommit", kinds[k], !k);
			fprintf(f, ", %s overcommitted by %s", kinds[k], pool);
		}
	}
	top_amount(pool, sizeof(pool), ledger, "vms", NULL, false);
	consistent = json_object_object_get(ledger, "consistent");
	fprintf(f, "; %s VMs; ledger %s\n", pool,
		!json_object_is_type(consistent, json_type_boolean) ? "?"
		: json_object_get_boolean(consistent)		    ? "consistent"
								    : "INCONSISTENT");
}

static const char *const top_vm_heads[] = {
	"NAME", "ID",	 "MEMORY/MAX", "USED",	     "FORECAST", "RETURNING", "HELD/PROMISED",
	"PEND", "VCPUS", "WEIGHT",     "FAIR SHARE", "GRANTS",	 "DENIES",    "OFFERS",
};
#define TOP_VM_COLS  (sizeof(top_vm_heads) / sizeof(top_vm_heads[0]))
#define TOP_VM_RIGHT 0x3ffeu /* all but the name */
_Static_assert(TOP_VM_COLS <= TOP_MAX_COLS, "a table row has at most TOP_MAX_COLS cells");

static void top_vm_row(char (*cell)[TOP_CELL], struct json_object *vm)
{
	char mem[TOP_CELL / 2], cpus[TOP_CELL / 2];

	snprintf(cell[0], TOP_CELL, "%s", top_str(vm, "name"));
	top_amount(cell[1], TOP_CELL, vm, "id", NULL, false);
	top_pair(cell[2], vm, "memory", "allocation", "max", true);
	top_amount(cell[3], TOP_CELL, vm, "memory", "used", true);
	top_amount(cell[4], TOP_CELL, vm, "memory", "forecast", true);
	top_amount(cell[5], TOP_CELL, vm, "memory", "returning", true);
	top_pair(cell[6], vm, "memory", "held", "promised", true);
	top_amount(cell[7], TOP_CELL, vm, "pending", NULL, false);
	top_pair(cell[8], vm, "vcpus", "allocation", "max", false);
	top_amount(cell[9], TOP_CELL, vm, "weight", NULL, false);
	top_amount(mem, sizeof(mem), vm, "memory", "fair-share", true);
	top_amount(cpus, sizeof(cpus), vm, "vcpus", "fair-share", false);
	snprintf(cell[10], TOP_CELL, "%s/%s", mem, cpus);
	top_amount(cell[11], TOP_CELL, vm, "decisions", "grants", false);
	top_amount(cell[12], TOP_CELL, vm, "decisions", "denies", false);
	top_amount(cell[13], TOP_CELL, vm, "decisions", "offers", false);
}

static const char *const top_decision_heads[] = {
	"TIME", "VM", "VERDICT", "KIND", "AMOUNT", "WHY",
};
#define TOP_DECISION_COLS  (sizeof(top_decision_heads) / sizeof(top_decision_heads[0]))
#define TOP_DECISION_RIGHT 0x10u /* the amount */

static void top_decision_row(char (*cell)[TOP_CELL], struct json_object *r)
{
	bool mem = !strcmp(top_str(r, "kind"), "memory");
	char amount[TOP_CELL / 2], later[TOP_CELL / 2];
	uint64_t ms, retry;
	struct tm tm;
	time_t t;

	snprintf(cell[0], TOP_CELL, "?");
	if (top_u64(r, "time-ms", NULL, &ms)) {
		t = (time_t)(ms / 1000);
		if (localtime_r(&t, &tm))
			strftime(cell[0], TOP_CELL, "%H:%M:%S", &tm);
	}
	snprintf(cell[1], TOP_CELL, "%s", top_str(r, "vm"));
	snprintf(cell[2], TOP_CELL, "%s", top_str(r, "event"));
	snprintf(cell[3], TOP_CELL, "%s", top_str(r, "kind"));
	top_amount(amount, sizeof(amount), r, "amount", NULL, mem);
	if (top_u64(r, "later", NULL, &ms) && ms) {
		top_amount(later, sizeof(later), r, "later", NULL, mem);
		snprintf(cell[4], TOP_CELL, "%.60s +%.60s later", amount, later);
	} else {
		snprintf(cell[4], TOP_CELL, "%s", amount);
	}
	if (top_u64(r, "retry-after-ms", NULL, &retry) && retry)
		snprintf(cell[5], TOP_CELL, "%.100s (retry in %.1f s)", top_str(r, "why"),
			 (double)retry / 1000);
	else
		snprintf(cell[5], TOP_CELL, "%s", top_str(r, "why"));
}

/* A table of @list (at most TOP_MAX_ROWS of it, the last ones if @tail) made by @row. */
static int top_list(FILE *f, struct json_object *list, const char *const *heads,
		    unsigned int nr_cols, unsigned int right, bool tail,
		    void (*row)(char (*cell)[TOP_CELL], struct json_object *o))
{
	size_t n = json_object_array_length(list), first = 0, i;
	char(*cells)[TOP_CELL];
	unsigned int c;

	if (n > TOP_MAX_ROWS)
		first = tail ? n - TOP_MAX_ROWS : 0;
	cells = calloc(((n - first < TOP_MAX_ROWS ? n - first : TOP_MAX_ROWS) + 1) * nr_cols,
		       sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	for (c = 0; c < nr_cols; c++)
		snprintf(cells[c], TOP_CELL, "%s", heads[c]);
	for (i = 0; i + first < n && i < TOP_MAX_ROWS; i++)
		row(cells + (i + 1) * nr_cols, json_object_array_get_idx(list, first + i));
	top_table(f, cells, (unsigned int)i + 1, nr_cols, right);
	if (n > TOP_MAX_ROWS)
		fprintf(f, "(%zu more)\n", n - TOP_MAX_ROWS);
	free(cells);
	return 0;
}

/* What a terminal shows as it is: printable ASCII and line ends. */
static void top_clean(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\n' && (s[i] < 0x20 || s[i] > 0x7e))
			s[i] = '?';
	}
}

int top__render(FILE *f, const char *socket, const struct top_data *d, time_t now)
{
	size_t len = 0;
	char *text = NULL;
	FILE *m;
	int ret;

	if (!json_object_is_type(d->vms, json_type_array) ||
	    !json_object_is_type(d->ledger, json_type_object) ||
	    !json_object_is_type(d->requests, json_type_array))
		return -EPROTO;
	m = open_memstream(&text, &len);
	if (!m)
		return -ENOMEM;
	top_header(m, socket, d->ledger, now);
	fputc('\n', m);
	if (!json_object_array_length(d->vms))
		fputs("no VMs are registered\n", m);
	ret = json_object_array_length(d->vms) ? top_list(m, d->vms, top_vm_heads, TOP_VM_COLS,
							  TOP_VM_RIGHT, false, top_vm_row)
					       : 0;
	fputs("\nrecent decisions\n", m);
	if (!ret && !json_object_array_length(d->requests))
		fputs("none yet\n", m);
	else if (!ret)
		ret = top_list(m, d->requests, top_decision_heads, TOP_DECISION_COLS,
			       TOP_DECISION_RIGHT, true, top_decision_row);
	if (fclose(m) && !ret)
		ret = -ENOMEM;
	if (!ret) {
		top_clean(text, len);
		if (fwrite(text, 1, len, f) != len)
			ret = -EIO;
	}
	free(text);
	return ret;
}

void top__paint(FILE *out, const char *text, unsigned int cols, unsigned int rows)
{
	unsigned int row = 0;
	const char *nl;
	size_t len;

	fputs("\033[H", out);
	for (; *text && row < rows; row++) {
		nl = strchr(text, '\n');
		len = nl ? (size_t)(nl - text) : strlen(text);
		fwrite(text, 1, len < cols ? len : cols, out);
		/* A full line is left alone: clearing there would take its last column. */
		if (len < cols)
			fputs("\033[K", out);
		/* No line end on the last row, which would scroll the screen. */
		if (row + 1 < rows)
			fputs("\r\n", out);
		text += len + (nl != NULL);
	}
	if (row < rows)
		fputs("\033[J", out);
}

/* ---- the broker ---- */

static void top_data_put(struct top_data *d)
{
	json_object_put(d->vms);
	json_object_put(d->ledger);
	json_object_put(d->requests);
	memset(d, 0, sizeof(*d));
}

static int top_query(struct top_view *v, const char *command, struct json_object *args,
		     json_type type, struct json_object **out, struct acc_err *err)
{
	int ret = ctl__execute(v->conn, command, args, v->opts->timeout_ms, out, err);

	if (ret)
		return ret;
	if (json_object_is_type(*out, type))
		return 0;
	json_object_put(*out);
	*out = NULL;
	return acc_errf(err, EPROTO, "the reply to %s is not %s", command,
			type == json_type_array ? "a list" : "an object");
}

static int top_fetch(struct top_view *v, struct acc_err *err)
{
	struct top_data *d = &v->data;
	int ret;

	top_data_put(d);
	ret = top_query(v, "query-vms", NULL, json_type_array, &d->vms, err);
	if (!ret)
		ret = top_query(v, "query-ledger", NULL, json_type_object, &d->ledger, err);
	if (!ret)
		ret = top_query(v, "query-requests", v->limit, json_type_array, &d->requests, err);
	return ret;
}

/* ---- the terminal ---- */

static void top_on_signal(int sig)
{
	if (sig == SIGWINCH)
		top_resized = 1;
	else
		top_quit = 1;
}

/* The signals are blocked but while the loop waits (ppoll), so none is missed. */
static void top_term_enter(struct top_term *t, FILE *out)
{
	struct sigaction sa = { .sa_handler = top_on_signal };
	struct termios raw;
	sigset_t block;
	unsigned int i;

	memset(t, 0, sizeof(*t));
	t->out = out;
	top_quit = 0;
	top_resized = 0;
	sigemptyset(&block);
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < TOP_NR_SIGNALS; i++)
		sigaddset(&block, top_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &t->old_mask);
	for (i = 0; i < TOP_NR_SIGNALS; i++)
		sigaction(top_signals[i], &sa, &t->old[i]);
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &t->saved)) {
		raw = t->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		t->keys = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	fputs(TOP_ENTER, out);
	fflush(out);
}

static void top_term_leave(struct top_term *t)
{
	unsigned int i;

	fputs(TOP_LEAVE, t->out);
	fflush(t->out);
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	/* Unblocked first: a signal still pending comes to our handler, not the default. */
	sigprocmask(SIG_SETMASK, &t->old_mask, NULL);
	for (i = 0; i < TOP_NR_SIGNALS; i++)
		sigaction(top_signals[i], &t->old[i], NULL);
}

static int top_draw(struct top_view *v, struct acc_err *err)
{
	unsigned int cols = TOP_DEFAULT_COLS, rows = TOP_DEFAULT_ROWS;
	FILE *out = v->term.out, *m;
	struct winsize ws;
	size_t len = 0;
	char *text = NULL;
	int ret;

	if (!ioctl(fileno(out), TIOCGWINSZ, &ws) && ws.ws_col && ws.ws_row) {
		cols = ws.ws_col;
		rows = ws.ws_row;
	}
	m = open_memstream(&text, &len);
	if (!m)
		return acc_errf(err, ENOMEM, "out of memory");
	ret = top__render(m, v->opts->socket, &v->data, time(NULL));
	if (fclose(m) && !ret)
		ret = -ENOMEM;
	if (!ret)
		top__paint(out, text, cols, rows);
	free(text);
	if (ret)
		return acc_errf(err, -ret, "cannot draw: %s", strerror(-ret));
	if (fflush(out) || ferror(out))
		return acc_errf(err, EIO, "cannot write the output: %s", strerror(errno));
	return 0;
}

/*
 * Until @deadline: drop the events the broker sends (seeing at once if it
 * goes), redraw on a resize, read keys. 1 to quit, 0 at the deadline, or a
 * negative errno.
 */
static int top_wait(struct top_view *v, int64_t deadline, struct acc_err *err)
{
	struct pollfd pfd[2] = {
		{ .fd = ctl__fd(v->conn), .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	struct timespec ts;
	int64_t left;
	int n, ret;
	char key;

	for (;;) {
		if (top_quit)
			return 1;
		if (top_resized) {
			top_resized = 0;
			ret = top_draw(v, err);
			if (ret)
				return ret;
		}
		left = deadline - top_now_ms();
		if (left <= 0)
			return 0;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		n = ppoll(pfd, v->term.keys ? 2 : 1, &ts, &v->term.old_mask);
		if (n < 0 && errno != EINTR)
			return acc_errf(err, errno, "poll: %s", strerror(errno));
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			ret = ctl__drain(v->conn, err);
			if (ret)
				return ret;
		}
		if (v->term.keys && pfd[1].revents) {
			if (read(STDIN_FILENO, &key, 1) != 1)
				pfd[1].fd = -1; /* no more keys */
			else if (key == 'q' || key == 'Q')
				return 1;
		}
	}
}

static int top_live(struct top_view *v, FILE *out, struct acc_err *err)
{
	int64_t next;
	int ret;

	top_term_enter(&v->term, out);
	do {
		next = top_now_ms() + v->opts->interval_ms;
		ret = top_fetch(v, err);
		if (!ret)
			ret = top_draw(v, err);
		if (!ret)
			ret = top_wait(v, next, err);
	} while (!ret);
	top_term_leave(&v->term);
	return ret > 0 ? 0 : ret;
}

static int top_once(struct top_view *v, FILE *out, struct acc_err *err)
{
	int ret = top_fetch(v, err);

	if (ret)
		return ret;
	ret = top__render(out, v->opts->socket, &v->data, time(NULL));
	if (ret)
		return acc_errf(err, -ret, "cannot draw: %s", strerror(-ret));
	if (fflush(out) || ferror(out))
		return acc_errf(err, EIO, "cannot write the output: %s", strerror(errno));
	return 0;
}

/* ---- the command ---- */

static int top_option(struct top_opts *o, int argc, char **argv, int *i, struct acc_err *err)
{
	const char *opt = argv[*i];
	bool *flag = !strcmp(opt, "--once")			    ? &o->once
		     : !strcmp(opt, "-h") || !strcmp(opt, "--help") ? &o->help
								    : NULL;
	int ret;

	if (flag) {
		*flag = true;
		return 0;
	}
	if (strcmp(opt, "--interval") && strcmp(opt, "--timeout"))
		return acc_errf(err, EINVAL, "unknown option '%s' (see 'accord top --help')", opt);
	if (*i + 1 >= argc)
		return acc_errf(err, EINVAL, "%s needs a value", opt);
	++*i;
	if (!strcmp(opt, "--timeout"))
		return ctl__parse_seconds(opt, argv[*i], &o->timeout_ms, err);
	ret = ctl__parse_seconds(opt, argv[*i], &o->interval_ms, err);
	if (!ret && o->interval_ms < TOP_INTERVAL_MIN_MS)
		ret = acc_errf(err, EINVAL, "--interval: '%s' is less than 0.1", argv[*i]);
	return ret;
}

static int top_parse(int argc, char **argv, struct top_opts *o, struct acc_err *err)
{
	bool options = true;
	int i, ret;

	memset(o, 0, sizeof(*o));
	o->interval_ms = TOP_INTERVAL_MS;
	o->timeout_ms = CTL_TIMEOUT_MS;
	for (i = 0; i < argc && !o->help; i++) {
		if (options && !strcmp(argv[i], "--")) {
			options = false;
			continue;
		}
		if (options && argv[i][0] == '-' && argv[i][1]) {
			ret = top_option(o, argc, argv, &i, err);
			if (ret)
				return ret;
			continue;
		}
		if (o->socket)
			return acc_errf(err, EINVAL,
					"one BROKER_SOCKET only, but '%s' is given too", argv[i]);
		o->socket = argv[i];
	}
	if (!o->socket && !o->help)
		return acc_errf(err, EINVAL, "no BROKER_SOCKET given (see 'accord top --help')");
	return 0;
}

/* "accord top: [FIRST: ]WHAT" on one line, whatever the text holds. */
static void top_complain(FILE *f, const char *first, const char *what)
{
	char line[ACC_ERR_MSG_MAX + 512];
	size_t len;

	len = (size_t)snprintf(line, sizeof(line), "accord top: %s%s%s", first ? first : "",
			       first ? ": " : "", what);
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	for (size_t i = 0; i < len; i++) {
		if (line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	}
	fprintf(f, "%s\n", line);
}

int top__main(int argc, char **argv, FILE *out, FILE *err_out)
{
	struct acc_err err = { "" };
	struct top_opts o;
	struct top_view v;
	int ret;

	if (top_parse(argc, argv, &o, &err)) {
		top_complain(err_out, NULL, err.msg);
		return TOP_EXIT_FAILED;
	}
	if (o.help) {
		fputs(top_usage, out);
		return TOP_EXIT_OK;
	}
	memset(&v, 0, sizeof(v));
	v.opts = &o;
	v.limit = json_object_new_object();
	if (!v.limit ||
	    json_object_object_add(v.limit, "limit", json_object_new_int(TOP_REQUESTS))) {
		json_object_put(v.limit);
		top_complain(err_out, NULL, "out of memory");
		return TOP_EXIT_FAILED;
	}
	ret = ctl__open(o.socket, o.timeout_ms, &v.conn, &err);
	if (!ret) {
		ret = !o.once && isatty(fileno(out)) ? top_live(&v, out, &err)
						     : top_once(&v, out, &err);
		ctl__close(v.conn);
	}
	top_data_put(&v.data);
	json_object_put(v.limit);
	if (ret == -ECONNRESET || ret == -EPIPE)
		snprintf(err.msg, sizeof(err.msg),
			 "the broker went away (it closed the connection)");
	if (ret)
		top_complain(err_out, o.socket, err.msg);
	return ret ? TOP_EXIT_FAILED : TOP_EXIT_OK;
}
