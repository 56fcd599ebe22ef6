// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "accord/eventloop.h"

#define EVENTLOOP_BATCH 16

int eventloop__init(struct event_loop *el)
{
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	return el->epfd < 0 ? -errno : 0;
}

void eventloop__exit(struct event_loop *el)
{
	if (el->epfd >= 0)
		close(el->epfd);
	el->epfd = -1;
}

int eventloop__add(struct event_loop *el, struct event_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(el->epfd, EPOLL_CTL_ADD, h->fd, &ev) ? -errno : 0;
}

int eventloop__del(struct event_loop *el, struct event_handler *h)
{
	return epoll_ctl(el->epfd, EPOLL_CTL_DEL, h->fd, NULL) ? -errno : 0;
}

int eventloop__run_once(struct event_loop *el, int timeout_ms)
{
	struct epoll_event evs[EVENTLOOP_BATCH];
	int n;

	n = epoll_wait(el->epfd, evs, EVENTLOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct event_handler *h = evs[i].data.ptr;

		h->fn(h, evs[i].events);
	}
	return n;
}
