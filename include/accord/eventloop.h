/* SPDX-License-Identifier: MIT */
/* The event-loop thread's epoll set: file descriptors and their handlers. */
#ifndef ACCORD_EVENTLOOP_H
#define ACCORD_EVENTLOOP_H

#include <stdint.h>

struct event_handler {
	int fd;
	void (*fn)(struct event_handler *h, uint32_t events);
	void *ctx;
};

struct event_loop {
	int epfd;
};

int eventloop__init(struct event_loop *el);
void eventloop__exit(struct event_loop *el);
/* @h must stay valid until removed; @events are EPOLLIN etc. */
int eventloop__add(struct event_loop *el, struct event_handler *h, uint32_t events);
int eventloop__del(struct event_loop *el, struct event_handler *h);
/* Wait up to @timeout_ms (-1: forever) and run the handlers of ready fds. */
int eventloop__run_once(struct event_loop *el, int timeout_ms);

#endif
