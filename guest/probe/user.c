// SPDX-License-Identifier: MIT
/*
 * CPL 3 for the benchmarks: a 64-bit TSS whose RSP0 is the stack that an
 * exception at CPL 3 lands on, which is also the way back (user_call in
 * start.S does the switches). Every page is mapped user-accessible
 * and CPL 3 runs with IOPL 3, so any probe code that neither halts nor
 * touches control registers or MSRs runs there unchanged.
 */
#include "probe.h"

#define TSS_SEL	      0x30
#define TSS_AVAILABLE 0x89 /* present, DPL 0, available 64-bit TSS */

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS layout");

extern uint64_t gdt_tss[2];
extern char trap_stack_top[];

static struct tss64 tss __attribute__((aligned(16)));
static bool user_ready;

void user_init(void)
{
	uint64_t base = (uintptr_t)&tss, limit = sizeof(tss) - 1;

	if (user_ready)
		return;
	tss.rsp[0] = (uintptr_t)trap_stack_top;
	tss.iomap_base = sizeof(tss); /* no I/O bitmap: IOPL 3 decides */
	gdt_tss[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)TSS_AVAILABLE << 40 |
		     ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt_tss[1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(TSS_SEL) : "memory");
	user_ready = true;
}
