// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accord/clock.h"
#include "accord/log.h"

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warning",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log__init(struct acc_log *log, const char *name, enum log_level level)
{
	if (name && *name)
		snprintf(log->prefix, sizeof(log->prefix), "accord[%s]", name);
	else
		snprintf(log->prefix, sizeof(log->prefix), "accord");
	log->level = level;
}

static void __attribute__((format(printf, 3, 0)))
log__vprintf(const struct acc_log *log, enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level > log->level)
		return;
	/* One write per line so lines from different threads do not interleave. */
	n = snprintf(line, sizeof(line), "%s: %s: ", log->prefix, level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void log__printf(const struct acc_log *log, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log__vprintf(log, level, fmt, ap);
	va_end(ap);
}

void ratelimit__init(struct ratelimit *rl, unsigned int interval_ms, unsigned int burst)
{
	memset(rl, 0, sizeof(*rl));
	pthread_mutex_init(&rl->lock, NULL);
	rl->interval_ns = (uint64_t)interval_ms * 1000000ull;
	rl->burst = burst;
}

void ratelimit__destroy(struct ratelimit *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

void log__ratelimited(const struct acc_log *log, struct ratelimit *rl, enum log_level level,
		      const char *fmt, ...)
{
	unsigned int suppressed = 0;
	int allowed;
	uint64_t now = clock__monotonic_ns();
	va_list ap;

	pthread_mutex_lock(&rl->lock);
	if (now - rl->window_start_ns >= rl->interval_ns) {
		suppressed = rl->suppressed;
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	allowed = rl->printed < rl->burst;
	if (allowed)
		rl->printed++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&rl->lock);

	if (suppressed)
		log__printf(log, level, "%u similar messages suppressed", suppressed);
	if (!allowed)
		return;
	va_start(ap, fmt);
	log__vprintf(log, level, fmt, ap);
	va_end(ap);
}
