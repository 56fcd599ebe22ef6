// SPDX-License-Identifier: MIT
/*
 * Exceptions: an IDT for vectors 0-31 pointing at the stubs in start.S. Any
 * exception is unexpected; it is reported and the probe exits with status 3.
 * Vectors past 31 are beyond the IDT limit and arrive as #GP.
 */
#include "probe.h"

#define KERNEL_CS  0x08
#define NR_VECTORS 32
#define GATE_INTR  0x8e /* present, DPL 0, 64-bit interrupt gate */

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct trap_frame {
	uint64_t vector;
	uint64_t error;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
};

extern const char isr_stubs[];
void trap_handler(struct trap_frame *f);

static struct idt_gate idt[NR_VECTORS] __attribute__((aligned(16)));

void trap_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uintptr_t)idt };

	for (unsigned int v = 0; v < NR_VECTORS; v++) {
		uint64_t a = (uintptr_t)isr_stubs + 16 * v;

		idt[v].off_lo = a;
		idt[v].sel = KERNEL_CS;
		idt[v].type = GATE_INTR;
		idt[v].off_mid = a >> 16;
		idt[v].off_hi = a >> 32;
	}
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void trap_handler(struct trap_frame *f)
{
	static bool busy;
	uint64_t cr2;

	if (busy) /* faulted while reporting: just leave */
		probe_exit(EXIT_EXCEPTION);
	busy = true;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	pr("exception %lu at RIP 0x%lx (error 0x%lx, cr2 0x%lx, rsp 0x%lx)", f->vector, f->rip,
	   f->error, cr2, f->rsp);
	probe_exit(EXIT_EXCEPTION);
}
