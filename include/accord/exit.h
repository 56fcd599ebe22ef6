/* SPDX-License-Identifier: MIT */
/*
 * Decoding of KVM_RUN exits into a tagged value, as a pure function of the
 * shared kvm_run page: tests feed it crafted pages without /dev/kvm.
 */
#ifndef ACCORD_EXIT_H
#define ACCORD_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

enum vcpu_exit_kind {
	VCPU_EXIT_IO,
	VCPU_EXIT_MMIO,
	VCPU_EXIT_HLT,
	VCPU_EXIT_SHUTDOWN,
	VCPU_EXIT_INTERNAL_ERROR,
	VCPU_EXIT_FAIL_ENTRY,
	VCPU_EXIT_SYSTEM_EVENT,
	VCPU_EXIT_INTR,
	VCPU_EXIT_UNKNOWN,
	/* The kernel handed us something inconsistent; never trust it. */
	VCPU_EXIT_MALFORMED,
};

struct vcpu_exit {
	enum vcpu_exit_kind kind;
	uint32_t reason; /* the raw exit_reason */
	union {
		struct {
			bool write;
			uint16_t port;
			uint8_t size;
			uint32_t count;
			uint8_t *data; /* size * count bytes inside the run page */
		} io;
		struct {
			bool write;
			uint64_t addr;
			uint8_t len;
			uint8_t *data;
		} mmio;
		struct {
			uint32_t suberror;
			uint32_t ndata;
			uint64_t data[4];
		} internal;
		struct {
			uint64_t hw_reason;
			uint32_t cpu;
		} fail_entry;
		struct {
			uint32_t type;
		} system_event;
	};
};

int exit__decode(struct kvm_run *run, size_t run_size, struct vcpu_exit *out);
const char *exit__kind_name(enum vcpu_exit_kind kind);

#endif
