// SPDX-License-Identifier: MIT
/* Demand traces: the CSV reader and writer (trace.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

const char *ev_kind_name(enum ev_kind kind)
{
	return kind == EV_KIND_MEMORY ? "memory" : "cpu";
}

const char *ev_kind_column(enum ev_kind kind)
{
	return kind == EV_KIND_MEMORY ? "memory_bytes" : "cpu_milli";
}

int ev_kind_parse(const char *s, enum ev_kind *kind)
{
	if (!strcmp(s, "memory"))
		*kind = EV_KIND_MEMORY;
	else if (!strcmp(s, "cpu"))
		*kind = EV_KIND_CPU;
	else
		return -EINVAL;
	return 0;
}

uint64_t ev_granule(enum ev_kind kind)
{
	return kind == EV_KIND_MEMORY ? 2 * EV_MIB : 1000;
}

uint64_t ev_round_up(enum ev_kind kind, uint64_t v)
{
	uint64_t g = ev_granule(kind);

	/* v <= EV_VALUE_MAX in every caller, so the sum cannot wrap. */
	v = (v + g - 1) / g * g;
	return v < g ? g : v;
}

int ev_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned int)(s[i] - '0');
		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int ev_parse_seconds(const char *s, size_t len, uint64_t *ns)
{
	const char *dot = memchr(s, '.', len);
	size_t whole_len = dot ? (size_t)(dot - s) : len;
	uint64_t whole, frac = 0, scale = EV_NS_PER_S;
	size_t i;
	int ret;

	ret = ev_parse_u64(s, whole_len, EV_TIME_MAX_NS / EV_NS_PER_S, &whole);
	if (ret)
		return ret;
	if (dot) {
		size_t frac_len = len - whole_len - 1;

		if (!frac_len || frac_len > 9)
			return -EINVAL;
		for (i = 0; i < frac_len; i++) {
			char c = dot[1 + i];

			if (c < '0' || c > '9')
				return -EINVAL;
			scale /= 10;
			frac += (uint64_t)(c - '0') * scale;
		}
	}
	if (whole * EV_NS_PER_S > EV_TIME_MAX_NS - frac)
		return -ERANGE;
	*ns = whole * EV_NS_PER_S + frac;
	return 0;
}

void ev_format_seconds(uint64_t ns, char *buf, size_t len)
{
	uint64_t frac = ns % EV_NS_PER_S;
	int digits = 9;

	if (!frac) {
		snprintf(buf, len, "%" PRIu64, (uint64_t)(ns / EV_NS_PER_S));
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, len, "%" PRIu64 ".%0*" PRIu64, (uint64_t)(ns / EV_NS_PER_S), digits, frac);
}

void trace__init(struct trace *tr, enum ev_kind kind)
{
	memset(tr, 0, sizeof(*tr));
	tr->kind = kind;
}

void trace__free(struct trace *tr)
{
	free(tr->t_ns);
	free(tr->value);
	tr->t_ns = tr->value = NULL;
	tr->n = tr->cap = 0;
}

static int trace__grow(struct trace *tr)
{
	size_t cap = tr->cap ? tr->cap * 2 : 1024;
	uint64_t *t, *v;

	if (cap > EV_SAMPLES_MAX)
		cap = EV_SAMPLES_MAX;
	t = realloc(tr->t_ns, cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	tr->t_ns = t;
	v = realloc(tr->value, cap * sizeof(*v));
	if (!v)
		return -ENOMEM; /* t_ns stays valid and larger; trace__free frees it */
	tr->value = v;
	tr->cap = cap;
	return 0;
}

int trace__append(struct trace *tr, uint64_t t_ns, uint64_t value, struct acc_err *err)
{
	char now[32], prev[32];
	int ret;

	if (tr->n && t_ns <= tr->t_ns[tr->n - 1]) {
		ev_format_seconds(t_ns, now, sizeof(now));
		ev_format_seconds(tr->t_ns[tr->n - 1], prev, sizeof(prev));
		return acc_errf(err, EINVAL, "time %s s is not after the previous sample's %s s",
				now, prev);
	}
	if (value > EV_VALUE_MAX)
		return acc_errf(err, ERANGE, "value %" PRIu64 " is above the maximum 2^48", value);
	if (tr->n == EV_SAMPLES_MAX)
		return acc_errf(err, E2BIG, "more than %u samples", EV_SAMPLES_MAX);
	if (tr->n == tr->cap) {
		ret = trace__grow(tr);
		if (ret)
			return acc_errf(err, -ret, "out of memory at sample %zu", tr->n);
	}
	tr->t_ns[tr->n] = t_ns;
	tr->value[tr->n] = value;
	tr->n++;
	return 0;
}

/*
 * One line into @buf without its "\n" or "\r\n": 1, or 0 at the end of the
 * file. A line longer than EV_LINE_MAX or holding a NUL is refused as soon
 * as it is seen, so a hostile file never makes us buffer more.
 */
static int line__read(FILE *f, char *buf, size_t *len)
{
	size_t n = 0;
	int c;

	for (;;) {
		c = getc(f);
		if (c == EOF) {
			if (ferror(f))
				return -EIO;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			return -EILSEQ;
		if (n == EV_LINE_MAX + 1)
			return -E2BIG; /* one spare for a '\r' before the '\n' */
		buf[n++] = (char)c;
	}
	if (c == EOF && !n)
		return 0;
	if (n && buf[n - 1] == '\r')
		n--;
	if (n > EV_LINE_MAX)
		return -E2BIG;
	buf[n] = '\0';
	*len = n;
	return 1;
}

static int trace__header(const char *line, enum ev_kind *kind)
{
	if (!strcmp(line, "t_s,memory_bytes"))
		*kind = EV_KIND_MEMORY;
	else if (!strcmp(line, "t_s,cpu_milli"))
		*kind = EV_KIND_CPU;
	else
		return -EINVAL;
	return 0;
}

/* "SECONDS,VALUE" into a sample; the message says which field is wrong and why. */
static int trace__sample(const char *line, size_t len, uint64_t *t_ns, uint64_t *value,
			 struct acc_err *err)
{
	const char *comma = memchr(line, ',', len);
	size_t t_len, v_len;
	int ret;

	if (!comma)
		return acc_errf(err, EINVAL, "expected SECONDS,VALUE");
	t_len = (size_t)(comma - line);
	v_len = len - t_len - 1;
	if (memchr(comma + 1, ',', v_len))
		return acc_errf(err, EINVAL, "more than two fields");
	if (t_len && line[0] == '-')
		return acc_errf(err, EINVAL, "negative time");
	ret = ev_parse_seconds(line, t_len, t_ns);
	if (ret == -ERANGE)
		return acc_errf(err, ERANGE, "time out of range (at most %llu s)",
				EV_TIME_MAX_NS / EV_NS_PER_S);
	if (ret)
		return acc_errf(err, EINVAL, "time is not a number of seconds");
	if (v_len && comma[1] == '-')
		return acc_errf(err, EINVAL, "negative value");
	ret = ev_parse_u64(comma + 1, v_len, EV_VALUE_MAX, value);
	if (ret == -ERANGE)
		return acc_errf(err, ERANGE, "value out of range (at most 2^48)");
	if (ret)
		return acc_errf(err, EINVAL, "value is not a whole number");
	return 0;
}

int trace__read(FILE *f, const char *name, struct trace *tr, struct acc_err *err)
{
	char line[EV_LINE_MAX + 2];
	bool have_header = false;
	struct acc_err why;
	unsigned long lineno = 0;
	enum ev_kind kind;
	uint64_t t_ns = 0, value = 0;
	size_t len;
	int ret;

	trace__init(tr, EV_KIND_MEMORY);
	for (;;) {
		ret = line__read(f, line, &len);
		if (!ret)
			break;
		lineno++;
		if (ret == -E2BIG) {
			ret = acc_errf(err, E2BIG, "%s:%lu: line longer than %d characters", name,
				       lineno, EV_LINE_MAX);
			goto free_trace;
		}
		if (ret == -EILSEQ) {
			ret = acc_errf(err, EILSEQ, "%s:%lu: NUL byte", name, lineno);
			goto free_trace;
		}
		if (ret < 0) {
			ret = acc_errf(err, -ret, "%s:%lu: read error", name, lineno);
			goto free_trace;
		}
		if (line[0] == '#')
			continue;
		if (!len) {
			ret = acc_errf(err, EINVAL, "%s:%lu: empty line", name, lineno);
			goto free_trace;
		}
		if (!have_header) {
			if (trace__header(line, &kind)) {
				ret = acc_errf(err, EINVAL,
					       "%s:%lu: expected the header t_s,memory_bytes or "
					       "t_s,cpu_milli",
					       name, lineno);
				goto free_trace;
			}
			tr->kind = kind;
			have_header = true;
			continue;
		}
		ret = trace__sample(line, len, &t_ns, &value, &why);
		if (!ret)
			ret = trace__append(tr, t_ns, value, &why);
		if (ret) {
			acc_errf(err, -ret, "%s:%lu: %s", name, lineno, why.msg);
			goto free_trace;
		}
	}
	if (!have_header) {
		ret = acc_errf(err, EINVAL, "%s: no header line", name);
		goto free_trace;
	}
	if (!tr->n) {
		ret = acc_errf(err, EINVAL, "%s: no samples", name);
		goto free_trace;
	}
	return 0;

free_trace:
	trace__free(tr);
	return ret;
}

int trace__write(FILE *f, const struct trace *tr, const char *comment)
{
	char t[32];
	size_t i;

	if (comment)
		fprintf(f, "# %s\n", comment);
	fprintf(f, "t_s,%s\n", ev_kind_column(tr->kind));
	for (i = 0; i < tr->n; i++) {
		ev_format_seconds(tr->t_ns[i], t, sizeof(t));
		fprintf(f, "%s,%" PRIu64 "\n", t, tr->value[i]);
	}
	return ferror(f) ? -EIO : 0;
}

uint64_t trace__period_ms(const struct trace *tr)
{
	uint64_t span, ms;

	if (tr->n < 2)
		return 0;
	span = tr->t_ns[tr->n - 1] - tr->t_ns[0];
	/* Rounded to the nearest ms: 10 s samples give exactly 10000. */
	ms = (span / (tr->n - 1) + EV_NS_PER_MS / 2) / EV_NS_PER_MS;
	return ms ? ms : 1;
}

uint64_t trace__max(const struct trace *tr)
{
	uint64_t max = 0;
	size_t i;

	for (i = 0; i < tr->n; i++)
		if (tr->value[i] > max)
			max = tr->value[i];
	return max;
}
