// SPDX-License-Identifier: MIT
/*
 * Exceptions and device interrupts. The IDT covers vectors 0-0x4f: 0-31 are
 * exceptions (entry points in start.S); any exception is unexpected, is reported,
 * and the probe exits with status 3. 32-0x3f are not present (#NP). 0x40-0x4f
 * are device interrupts: irq_handler counts each vector and writes the LAPIC
 * EOI. Interrupts stay disabled except inside irq_wait (sti; hlt). An
 * exception at CPL 3 (user.c) arrives on the TSS's RSP0 stack.
 *
 * One vector at a time can be an INTx source (a level-triggered IOAPIC pin,
 * possibly shared): the handler reads the device's ISR byte first, which
 * acknowledges the interrupt and deasserts the line, and only then writes the
 * EOI (which lets the IOAPIC deliver the pin again if it is still asserted).
 * Only an interrupt whose ISR had bit 0 set is a queue interrupt and counts
 * for irq_count; one whose ISR read 0 was not raised by the device (another
 * source on the line, or a stale repeat: nested KVM delivers each level
 * interrupt once more after the EOI) and is counted as spurious and otherwise
 * ignored, as Linux's handler returns IRQ_NONE. For the report it also notes
 * whether the LAPIC had the vector in service (ISR) on entry and pending again
 * (IRR) after the EOI.
 */
#include "probe.h"

#define KERNEL_CS  0x08
#define NR_VECTORS (IRQ_VECTOR_BASE + NR_IRQS)
#define NR_IRQS	   16
#define GATE_INTR  0x8e /* present, DPL 0, 64-bit interrupt gate */

#define LAPIC_ID_REG   0x020
#define LAPIC_EOI      0x0b0
#define LAPIC_SVR      0x0f0
#define LAPIC_ISR      0x100 /* 8 registers, 0x10 apart, 32 vectors each */
#define LAPIC_IRR      0x200
#define LAPIC_LVT_TMR  0x320
#define LAPIC_TMR_INIT 0x380
#define LAPIC_TMR_DIV  0x3e0
#define SVR_ENABLE     0x100
#define LVT_MASKED     0x10000
#define TMR_DIV_1      0x0b
/* One-shot wake-up for irq_wait: 10 ms at KVM's 1 GHz LAPIC bus clock. */
#define TMR_TICKS 10000000U
/* irq_drain's halt: 100 us. */
#define DRAIN_TICKS 100000U

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

extern const char isr_entries[], irq_entries[], user_exit[];
void trap_handler(struct trap_frame *f, uint64_t rsi);
__attribute__((noreturn)) void user_resume(uint64_t result);
void irq_handler(uint64_t vector);

static struct idt_gate idt[NR_VECTORS] __attribute__((aligned(16)));
static volatile uint32_t irq_counts[NR_IRQS];
static bool irq_ready;
static unsigned int intx_vector;
static uint64_t intx_isr;
static volatile struct intx_counts intx;

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
		set_gate(v, (uintptr_t)isr_entries + 16 * v);
	for (unsigned int i = 0; i < NR_IRQS; i++)
		set_gate(IRQ_VECTOR_BASE + i, (uintptr_t)irq_entries + 16 * i);
	__asm__ volatile("lidt %0" : : "m"(desc));
}

/* rsi: the interrupted code's RSI, which carries user_call's result to user_exit. */
void trap_handler(struct trap_frame *f, uint64_t rsi)
{
	static bool busy;
	uint64_t cr2;

	if (f->vector == 6 && f->rip == (uintptr_t)user_exit && (f->cs & 3) == 3)
		user_resume(rsi);

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
	if (vector == intx_vector) {
		uint64_t reg = LAPIC_BASE + vector / 32 * 0x10;
		uint32_t bit = 1U << vector % 32;
		uint8_t isr;

		if (!(mmio_read32(reg + LAPIC_ISR) & bit))
			intx.not_in_service++;
		isr = mmio_read8(intx_isr);
		mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
		if (mmio_read32(reg + LAPIC_IRR) & bit)
			intx.pending_after_eoi++;
		intx.total++;
		if (isr & 1) {
			intx.queue++;
			irq_counts[(vector - IRQ_VECTOR_BASE) % NR_IRQS]++;
		}
		if (isr & 2)
			intx.config++;
		if (!isr)
			intx.none++;
		return;
	}
	irq_counts[(vector - IRQ_VECTOR_BASE) % NR_IRQS]++;
	if (vector != IRQ_VECTOR_SPURIOUS)
		mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

/* Interrupts on vector come from a device whose ISR byte is at isr. */
void irq_intx_attach(unsigned int vector, uint64_t isr)
{
	intx_isr = isr;
	memset((void *)&intx, 0, sizeof(intx));
	intx_vector = vector;
}

/* Stop reading the ISR; *c gets what the handler counted. */
void irq_intx_detach(struct intx_counts *c)
{
	intx_vector = 0;
	memcpy(c, (const void *)&intx, sizeof(*c));
}

/*
 * Interrupts on vector that the source claimed: every one on an MSI-X
 * vector, on the INTx vector only those whose ISR read had bit 0 (queue) set.
 */
uint32_t irq_count(unsigned int vector)
{
	return irq_counts[(vector - IRQ_VECTOR_BASE) % NR_IRQS];
}

/* Interrupts on the INTx vector whose ISR read 0 (not ours); 0 elsewhere. */
uint32_t irq_spurious(unsigned int vector)
{
	return intx_vector && vector == intx_vector ? intx.none : 0;
}

/*
 * Halt once with interrupts enabled, for at most about 100 us: an interrupt
 * the LAPIC holds pending (such as the repeat of a level interrupt) is taken
 * now. (On the development machine an `sti; nop; cli` window is not enough:
 * the pending vector is delivered only at a halt.)
 */
void irq_drain(void)
{
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, IRQ_VECTOR_TIMER);
	mmio_write32(LAPIC_BASE + LAPIC_TMR_INIT, DRAIN_TICKS);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	mmio_write32(LAPIC_BASE + LAPIC_TMR_INIT, 0);
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, LVT_MASKED | IRQ_VECTOR_TIMER);
}

/*
 * Halt once with interrupts enabled until an interrupt, or for at most about
 * us microseconds (the LAPIC timer, at KVM's 1 GHz bus clock). Returns with
 * interrupts disabled. A caller that checked for work with interrupts
 * disabled loses no wake-up: an interrupt pending since then is taken in
 * sti's shadow, at the hlt.
 */
void irq_halt(uint32_t us)
{
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, IRQ_VECTOR_TIMER);
	mmio_write32(LAPIC_BASE + LAPIC_TMR_INIT, us * 1000U);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	mmio_write32(LAPIC_BASE + LAPIC_TMR_INIT, 0);
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TMR, LVT_MASKED | IRQ_VECTOR_TIMER);
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
 * Halt with interrupts enabled until vector's count (irq_count: on the INTx
 * vector, queue interrupts only) differs from since, or about cycles TSC
 * ticks pass. A spurious interrupt just wakes the hlt, which resumes. A
 * one-shot LAPIC timer ends each hlt after at most 10 ms, so a lost interrupt
 * cannot hang the probe. Returns with interrupts disabled; true if the count
 * changed.
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
