/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with the VM's name. A logger is plain data owned by the
 * machine; guest-triggered messages go through a rate limit so a guest
 * cannot flood the host's logs.
 */
#ifndef ACCORD_LOG_H
#define ACCORD_LOG_H

#include <stdint.h>
#include <pthread.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

struct acc_log {
	char prefix[80];
	enum log_level level;
};

struct ratelimit {
	pthread_mutex_t lock;
	uint64_t interval_ns;
	unsigned int burst;
	uint64_t window_start_ns;
	unsigned int printed;
	unsigned int suppressed;
};

void log__init(struct acc_log *log, const char *name, enum log_level level);
void log__printf(const struct acc_log *log, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* At most @burst messages per @interval_ms; later ones are counted and reported. */
void ratelimit__init(struct ratelimit *rl, unsigned int interval_ms, unsigned int burst);
void ratelimit__destroy(struct ratelimit *rl);
void log__ratelimited(const struct acc_log *log, struct ratelimit *rl, enum log_level level,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_err(log, ...)   log__printf(log, LOG_ERROR, __VA_ARGS__)
#define log_warn(log, ...)  log__printf(log, LOG_WARN, __VA_ARGS__)
#define log_info(log, ...)  log__printf(log, LOG_INFO, __VA_ARGS__)
#define log_debug(log, ...) log__printf(log, LOG_DEBUG, __VA_ARGS__)

#endif
