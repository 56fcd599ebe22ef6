/* SPDX-License-Identifier: MIT */
/* Shared by the parts of the unit_broker runner: a ledger built the same way everywhere. */
#ifndef ACCORD_TEST_LEDGER_TEST_H
#define ACCORD_TEST_LEDGER_TEST_H

#include <check.h>
#include <errno.h>
#include <string.h>

#include "accord/ledger.h"

#define MiB  (1ull << 20)
#define GRAN (2 * MiB)
#define SEC  1000000000ull
#define MS   1000000ull

Suite *ledger_suite(void);     /* test_ledger.c */
Suite *ledger_sim_suite(void); /* test_ledger_sim.c */
Suite *hostd_suite(void);      /* test_hostd.c */

static inline struct ledger_config lt_config(uint64_t mem_pool, uint64_t cpus, uint64_t mem_rate)
{
	struct ledger_config c = { 0 };

	c.pool[LEDGER_MEM] = mem_pool;
	c.pool[LEDGER_VCPU] = cpus;
	c.unit[LEDGER_MEM] = GRAN;
	c.unit[LEDGER_VCPU] = 1;
	c.rate[LEDGER_MEM] = mem_rate;
	c.rate[LEDGER_VCPU] = 0;
	c.buffer_pct = LEDGER_DEFAULT_BUFFER;
	return c;
}

static inline void lt_init(struct ledger *l, uint64_t mem_pool, uint64_t cpus, uint64_t mem_rate)
{
	struct ledger_config c = lt_config(mem_pool, cpus, mem_rate);
	struct acc_err err;

	ck_assert_msg(ledger__init(l, &c, &err) == 0, "%s", err.msg);
}

/* Register @name with @alloc of @max memory and one of four vCPUs; fails the test on error. */
static inline struct ledger_vm *lt_add(struct ledger *l, const char *name, uint64_t max,
				       uint64_t alloc, uint64_t now)
{
	struct ledger_registration reg = { 0 };
	struct ledger_vm *vm = NULL;
	struct acc_err err;
	int ret;

	reg.name = name;
	reg.driver = true;
	reg.max[LEDGER_MEM] = max;
	reg.alloc[LEDGER_MEM] = alloc;
	reg.max[LEDGER_VCPU] = 4;
	reg.alloc[LEDGER_VCPU] = 1;
	ret = ledger__register(l, &reg, now, &vm, &err);
	ck_assert_msg(ret == 0, "register %s: %s", name, err.msg);
	return vm;
}

static inline void lt_check(const struct ledger *l)
{
	struct acc_err err;

	ck_assert_msg(ledger__check(l, &err) == 0, "ledger broken: %s", err.msg);
}

#endif
