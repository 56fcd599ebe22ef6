/* SPDX-License-Identifier: MIT */
/* Shared by the parts of the unit_exit runner: a crafted kvm_run mapping. */
#ifndef ACCORD_TEST_EXIT_TEST_H
#define ACCORD_TEST_EXIT_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "accord/exit.h"

/* Three pages, as KVM maps them: kvm_run, then the PIO data page at 4096. */
#define RUN_SIZE   (3 * 4096)
#define PIO_OFFSET 4096

extern struct kvm_run *run; /* RUN_SIZE zeroed bytes */
extern struct vcpu_exit ex;

void run_setup(void);
void run_teardown(void);
uint8_t *run_bytes(uint64_t off);
void set_io(uint8_t dir, uint16_t port, uint8_t size, uint32_t count, uint64_t off);
void set_mmio(uint64_t addr, uint32_t len, bool write);

Suite *handle_suite(void); /* test_vcpu_exit.c */

#endif
