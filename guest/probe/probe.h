/* SPDX-License-Identifier: MIT */
/*
 * The probe guest: a freestanding x86-64 program that checks what a VMM
 * presents to it (memory map, MP table, APs, LAPIC, PCI) and reports on
 * COM1, then leaves through the debug-exit port. See README.md.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the image is linked and loaded (identity mapped). */
#define PROBE_LOAD_ADDR 0x100000UL

/* How the probe was entered (set by start.S, see boot_entry). */
#define ENTRY_PVH     0
#define ENTRY_LINUX64 1
#define ENTRY_LINUX32 2

/* Standard PC devices the probe talks to. */
#define COM1_BASE	0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define I8042_CMD_PORT	0x64
#define RESET_CTL_PORT	0xcf9
#define PM1A_CNT_PORT	0x604
#define PCI_CONFIG_ADDR 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define LAPIC_BASE	0xfee00000UL

/* Exit statuses written to the debug-exit port. */
#define EXIT_PASS      0
#define EXIT_FAIL      2
#define EXIT_EXCEPTION 3
#define EXIT_ACTION    4 /* a reboot/poweroff action did not take effect */

/* e820 / PVH memory map types. */
#define E820_RAM      1
#define E820_RESERVED 2

#define MEM_MAX	    128
#define CMDLINE_MAX 2048

struct memrange {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* What the loader told us, copied out of its structures. */
struct bootinfo {
	int entry;
	uint64_t ptr;  /* hvm_start_info or boot_params */
	bool ptr_ok;   /* PVH magic matched / boot_params pointer present */
	char desc[80]; /* one line about the boot structure */
	char cmdline[CMDLINE_MAX];
	unsigned int nr_mem;
	bool mem_truncated;
	struct memrange mem[MEM_MAX];
};

enum action {
	ACTION_EXIT_NOW, /* exit 0 before anything else (launch benchmarks) */
	ACTION_HALT_NOW, /* halt before anything else (memory benchmarks) */
	ACTION_EXIT,
	ACTION_EXIT_STATUS,
	ACTION_EXCEPTION,
	ACTION_TRIPLE_FAULT,
	ACTION_REBOOT,
	ACTION_POWEROFF,
};

/* Virtio devices the probe drives (expect-virtio=...). */
#define VIRTIO_EXPECT_RNG 0x1
#define VIRTIO_EXPECT_BLK 0x2

/* resource=LIST: the scenarios, in order (see virtio_resource.c). */
enum resource_scenario {
	RES_INVENTORY,
	RES_BALLOON,
	RES_TOUCH,
	RES_GRANT,
	RES_OFFER,
	RES_DENY,
	RES_ORDER,
	RES_VCPU,
	RES_STATS,
	RES_MESSAGE,
	RES_FILE,
	RES_IDLE, /* never returns; must come last */
	RES_NR_SCENARIOS
};
#define RES_LIST_MAX 24
#define RES_FILE_MAX 128

/* bench=LIST: benchmarks run at CPL 3 (bench.c) */
#define BENCH_EXITS	    0x1 /* the floors: a bare userspace exit, a bare ioeventfd notify */
#define BENCH_RNG	    0x2 /* virtio-rng round trips, polled */
#define BENCH_GRANT	    0x4 /* virtio-resource request-to-grant round trips */
#define BENCH_ITERS_DEFAULT 2000
#define BENCH_ITERS_MAX	    65536
#define BENCH_MMIO_DEFAULT  0xd0000000UL /* no device there under accord or QEMU */
#define PCI_MMIO_DEFAULT    0xe0000000UL /* where the probe assigns BARs left at 0 */

struct options {
	bool smp, pci, mptable;
	bool virtio, virtio_reassign;
	bool virtio_intx;	    /* virtio-irq=intx: INTx through the IOAPIC, not MSI-X */
	unsigned int expect_virtio; /* VIRTIO_EXPECT_* */
	uint64_t blk_seed;
	unsigned int nr_resource;	  /* resource=LIST, 0: the device is not driven */
	uint8_t resource[RES_LIST_MAX];	  /* enum resource_scenario */
	bool resource_idle;		  /* the list ends with idle */
	char resource_file[RES_FILE_MAX]; /* resource-file=NAME */
	unsigned int bench;		  /* BENCH_* */
	unsigned int bench_iters;	  /* measured iterations of each */
	uint64_t bench_mmio;		  /* the userspace-exit floor's address */
	uint64_t pci_ecam;		  /* 0: configuration mechanism #1 */
	uint64_t pci_mmio;		  /* base for BARs the probe assigns */
	bool has_expect_mem, has_expect_cpus;
	uint64_t expect_mem;
	unsigned int expect_cpus;
	enum action action;
	unsigned int exit_status;
	unsigned int nr_known;
	char bad[64]; /* first malformed option, empty if none */
};

#define MP_MAX_CPUS 256
#define MP_MAX_IRQS 96 /* I/O interrupt entries kept */

/* An I/O interrupt assignment entry (MP spec 4.3.4). */
struct mp_irq {
	uint8_t irq_type; /* 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
	uint16_t flags;	  /* polarity (bits 1:0), trigger mode (bits 3:2) */
	uint8_t src_bus, src_irq, dst_apic, dst_irq;
};

#define MP_IRQ_INT	     0
#define MP_POLARITY(f)	     ((unsigned int)(f)&3)
#define MP_TRIGGER(f)	     ((unsigned int)(f) >> 2 & 3)
#define MP_POLARITY_CONFORMS 0
#define MP_POLARITY_HIGH     1
#define MP_POLARITY_LOW	     3
#define MP_TRIGGER_CONFORMS  0
#define MP_TRIGGER_EDGE	     1
#define MP_TRIGGER_LEVEL     3
#define MP_FLAGS_RESERVED    2 /* either field */

struct mpinfo {
	bool found; /* a valid floating pointer and configuration table */
	uint32_t lapic_addr;
	unsigned int nr_cpus; /* enabled processor entries */
	uint8_t cpu_apic[MP_MAX_CPUS];
	bool cpu_bsp[MP_MAX_CPUS];
	unsigned int nr_bsp;
	bool dup_apic;
	int bsp_apic; /* -1 when there is no BSP entry */
	unsigned int nr_ioapic;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	int pci_bus; /* bus id of the first PCI bus entry (PCI bus 0), -1 if none */
	unsigned int nr_irqs;
	bool irqs_truncated;
	struct mp_irq irqs[MP_MAX_IRQS];
};

/* Port and memory access. */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* A pointer to physical (identity-mapped) memory. The empty asm hides the
 * constant from the compiler, which would flag low addresses as NULL+n. */
static inline void *phys(uint64_t addr)
{
	__asm__("" : "+r"(addr));
	return (void *)(uintptr_t)addr;
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	return *(volatile uint8_t *)phys(addr);
}

static inline uint16_t mmio_read16(uint64_t addr)
{
	return *(volatile uint16_t *)phys(addr);
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	*(volatile uint8_t *)phys(addr) = v;
}

static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	*(volatile uint16_t *)phys(addr) = v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)phys(addr);
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)phys(addr) = v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Compiler barrier, and a full fence (orders a store before a later load). */
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Linker symbols (probe.ld) and start.S data. */
extern char __image_start[], __image_end[];
extern uint32_t boot_entry;
extern uint64_t boot_ptr;

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strlcpy(char *d, const char *s, size_t size);
size_t mem_mismatch(const void *a, const void *b, size_t n);
bool parse_u64(const char *s, size_t len, uint64_t *out, bool allow_suffix);
void delay_cycles(uint64_t cycles);

/* uart.c */
void uart_init(void);
void uart_putc(char c);
void uart_flush(void);

/* fmt.c */
void probe_vprintf(const char *fmt, va_list ap);
void probe_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_start(void);
void pr_end(void);
void probe_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void probe_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void probe_append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* main.c */
void check(const char *name, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* trap.c: exceptions, and device interrupts on IDT vectors 0x40-0x4f */
#define IRQ_VECTOR_BASE	    0x40
#define IRQ_VECTOR_TIMER    0x4e /* LAPIC timer: bounds irq_wait's hlt */
#define IRQ_VECTOR_SPURIOUS 0x4f
void trap_init(void);
bool irq_init(void);
uint32_t lapic_id(void);
uint32_t irq_count(unsigned int vector);
uint32_t irq_spurious(unsigned int vector);
void irq_drain(void);
void irq_halt(uint32_t us);
bool irq_wait(unsigned int vector, uint32_t since, uint64_t cycles);

/*
 * An INTx source on a vector: the handler reads its ISR byte before the EOI;
 * irq_count counts only queue interrupts (ISR bit 0), irq_spurious ISR 0.
 */
struct intx_counts {
	uint32_t total;		    /* interrupts on the vector */
	uint32_t queue;		    /* ... whose ISR read had bit 0 (queue) set */
	uint32_t config;	    /* ... bit 1 (configuration change) */
	uint32_t none;		    /* ... ISR 0: not ours (spurious or stale), ignored */
	uint32_t not_in_service;    /* ... with the vector clear in the LAPIC ISR */
	uint32_t pending_after_eoi; /* ... with it set in the LAPIC IRR after the EOI */
};
void irq_intx_attach(unsigned int vector, uint64_t isr);
void irq_intx_detach(struct intx_counts *c);

/* ioapic.c: redirection entries of the I/O APIC at addr */
#define IOAPIC_POLARITY_LOW 0x2000
#define IOAPIC_REMOTE_IRR   0x4000
#define IOAPIC_LEVEL	    0x8000
#define IOAPIC_MASKED	    0x10000
bool ioapic_init(uint64_t addr, unsigned int *nr_pins);
uint64_t ioapic_entry(unsigned int pin);
void ioapic_set_entry(unsigned int pin, uint64_t entry);

/* action.c */
__attribute__((noreturn)) void probe_exit(unsigned int status);
__attribute__((noreturn)) void action_run(const struct options *opt, unsigned int status);

/* user.c, start.S: run fn(arg) at CPL 3 (IOPL 3, interrupts off) */
void user_init(void);
uint64_t user_call(uint64_t (*fn)(void *), void *arg);

/* paging.c */
bool paging_map(uint64_t addr, uint64_t len, bool uncached);

/* bootinfo.c */
enum action early_action(void);
void bootinfo_parse(struct bootinfo *bi);
void options_parse(const char *cmdline, struct options *opt);
const char *entry_name(int entry);
const char *memtype_name(uint32_t type);

/* memcheck.c */
bool mem_is_ram(const struct bootinfo *bi, uint64_t addr, uint64_t len);
void memcheck_run(const struct bootinfo *bi, const struct options *opt);

/* mptable.c */
void mptable_run(const struct options *opt, struct mpinfo *mp);
const struct mp_irq *mptable_pci_irq(const struct mpinfo *mp, unsigned int dev, unsigned int pin);

/* smp.c */
void lapic_check(const struct mpinfo *mp);
void smp_run(const struct bootinfo *bi, const struct mpinfo *mp, int granted);
volatile uint32_t *smp_ap_prepare(const struct bootinfo *bi, const char **why);
bool smp_wake_ap(uint8_t apic_id, volatile uint32_t *counter, uint64_t wait);

/* pci.c */
void pci_setup(const struct options *opt);
uint64_t pci_bar_base(void);
uint32_t pci_cfg_read(unsigned int dev, unsigned int fn, unsigned int off);
void pci_cfg_write(unsigned int dev, unsigned int fn, unsigned int off, uint32_t v);
void pci_cfg_write16(unsigned int dev, unsigned int fn, unsigned int off, uint16_t v);
void pci_run(void);

/* virtio_pci.c */
void virtio_run(const struct bootinfo *bi, const struct options *opt, const struct mpinfo *mp);
bool virtio_peek_config(unsigned int type, unsigned int off, uint32_t *v, unsigned int n);

/* bench.c: op runs at CPL 3 and says how many TSC cycles its timed part took */
typedef bool (*bench_op)(void *ctx, uint64_t *cycles);
bool bench_run(const char *name, const char *what, unsigned int iters, bench_op op, void *ctx);
void bench_exits(const struct options *opt, uint64_t notify, uint16_t queue);
bool bench_exits_ran(void);

/* virtio_resource.c: accord's resource device (resource=LIST) */
int resource_scenario(const char *name, size_t len);
int resource_vcpus_granted(void);
void resource_idle(void);

#endif /* PROBE_H */
