/* SPDX-License-Identifier: MIT */
/* Shared by the parts of the unit_devices runner. */
#ifndef ACCORD_TEST_DEVICES_TEST_H
#define ACCORD_TEST_DEVICES_TEST_H

#include <check.h>

#include "accord/stop.h"

/* A stop sink that records what it was asked. */
struct stop_rec {
	unsigned int calls;
	enum vm_stop_reason reason;
	int code;
};

static inline void record_stop(void *ctx, enum vm_stop_reason reason, int code)
{
	struct stop_rec *r = ctx;

	r->calls++;
	r->reason = reason;
	r->code = code;
}

Suite *uart_suite(void);    /* test_uart.c */
Suite *bus_pci_suite(void); /* test_pci.c */

#endif
