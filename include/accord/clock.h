/* SPDX-License-Identifier: MIT */
/* The monotonic clock every timeout, deadline and rate in accord is measured on. */
#ifndef ACCORD_CLOCK_H
#define ACCORD_CLOCK_H

#include <stdint.h>

uint64_t clock__monotonic_ns(void);

#endif
