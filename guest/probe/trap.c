// SPDX-License-Identifier: MIT
/*
 * Exceptions and device interrupts. The IDT covers vectors 0-0x4f: 0-31 are
 * exceptions (stubs in start.S); any exception is unexpected, is reported,
 * and the probe exits with status 3. 32-0x3f are not present (#NP). 0x40-0x4f
 * are device interrupts: irq_handler counts each vector and writes the LAPIC
 * EOI. Interrupts stay disabled except inside irq_wait (sti; hlt).
 */
#include "probe.h"

#define KERNEL_CS  0x08
#define NR_VECTORS (IRQ_VECTOR_BASE + NR_IRQS)
#define NR_IRQS	   16
#define GATE_INTR  0x8e /* present, DPL 0, 64-bit interrupt gate */

#define LAPIC_ID_REG   0x020
#define LAPIC_EOI      0x0b0
#define LAPIC_SVR      0x0f0
#define LAPIC_LVT_TMR  0x320
#define LAPIC_TMR_INIT 0x380
#define LAPIC_TMR_DIV  0x3e0
#define SVR_ENABLE     0x100
#define LVT_MASKED     0x10000
#define TMR_DIV_1      0x0b
/* One-shot wake-up for irq_wait: 10 ms at KVM's 1 GHz LAPIC bus clock. */
#define TMR_TICKS 10000000U

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

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

extern const char isr_stubs[], irq_stubs[];
void trap_handler(struct trap_frame *f);
void irq_handler(uint64_t vector);

static struct idt_gate idt[NR_VECTORS] __attribute__((aligned(16)));
static volatile uint32_t irq_counts[NR_IRQS];
static bool irq_ready;

static void set_gate(unsigned int v, uint64_t a)
{
	idt[v].off_lo = a;
	idt[v].sel = KERNEL_CS;
	idt[v].type = GATE_INTR;
	idt[v].off_mid = a >> 16;
	idt[v].off_hi = a >> 32;
}

void trap_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uintptr_t)idt };

	for (unsigned int v = 0; v < 32; v++)
		set_gate(v, (uintptr_t)isr_stubs + 16 * v);
	for (unsigned int i = 0; i < NR_IRQS; i++)
		set_gate(IRQ_VECTOR_BASE + i, (uintptr_t)irq_stubs + 16 * i);
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

void irq_handler(uint64_t vector)
{
	irq_counts[(vector - IRQ_VECTOR_BASE) % NR_IRQS]++;
	if (vector != IRQ_VECTOR_SPURIOUS)
		mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

uint32_t irq_count(unsigned int vector)
{
	return irq_counts[(vector - IRQ_VECTOR_BASE) % NR_IRQS];
}

/*
 * Make the LAPIC deliver interrupts: mask the 8259s (firmware may have left
 * the PIT unmasked on IRQ0, which would arrive as exception vector 8), map
 * the LAPIC and software-enable it with the spurious vector 0x4f.
 */
bool irq_init(void)
{
	if (irq_ready)
		return true;
	if (!paging_map(LAPIC_BASE, 4096, true))
		return false;
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, LVT_MASKED | IRQ_VECTOR_TIMER);
	mmio_write32(LAPIC_BASE + LAPIC_TMR_DIV, TMR_DIV_1);
	mmio_write32(LAPIC_BASE + LAPIC_SVR, SVR_ENABLE | IRQ_VECTOR_SPURIOUS);
	irq_ready = true;
	return true;
}

uint32_t lapic_id(void)
{
	return mmio_read32(LAPIC_BASE + LAPIC_ID_REG) >> 24;
}

/*
 * Halt with interrupts enabled until vector's count differs from since, or
 * about cycles TSC ticks pass. A one-shot LAPIC timer ends each hlt after at
 * most 10 ms, so a lost interrupt cannot hang the probe. Returns with
 * interrupts disabled; true if the count changed.
 */
bool irq_wait(unsigned int vector, uint32_t since, uint64_t cycles)
{
	uint64_t t0 = rdtsc();
	bool seen = false;

	mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, IRQ_VECTOR_TIMER);
	for (unsigned int i = 0; i < 100000; i++) {
		__asm__ volatile("cli" ::: "memory");
		if (irq_count(vector) != since) {
			seen = true;
			break;
		}
		if (rdtsc() - t0 > cycles)
			break;
		mmio_write32(LAPIC_BASE + LAPIC_TMR_INIT, TMR_TICKS);
		/* sti's one-instruction shadow: no wake-up is lost before hlt. */
		__asm__ volatile("sti; hlt" ::: "memory");
	}
	__asm__ volatile("cli" ::: "memory");
	mmio_write32(LAPIC_BASE + LAPIC_TMR_INIT, 0);
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, LVT_MASKED | IRQ_VECTOR_TIMER);
	return seen;
}
