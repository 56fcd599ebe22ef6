/* SPDX-License-Identifier: MIT */
/* The VM's control socket: the QMP command table of `accord run --api-socket`. */
#ifndef ACCORD_CONTROL_H
#define ACCORD_CONTROL_H

#include "accord/error.h"

struct machine;

/* Listen on cfg.api_socket; commands run on the machine's event loop. */
int control__start(struct machine *m, struct acc_err *err);
void control__stop(struct machine *m);

#endif
