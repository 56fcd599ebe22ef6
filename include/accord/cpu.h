/* SPDX-License-Identifier: MIT */
/*
 * Initial x86 vCPU state: descriptor tables and page tables in guest memory,
 * register values for each boot protocol, CPUID topology and MSRs. The
 * builders are pure so tests check them without /dev/kvm.
 */
#ifndef ACCORD_CPU_H
#define ACCORD_CPU_H

#include <stdint.h>
#include <linux/kvm.h>

#include "accord/error.h"
#include "accord/guest_mem.h"
#include "accord/log.h"

enum boot_mode {
	BOOT_LINUX64, /* 64-bit long mode, RSI = boot_params */
	BOOT_PVH32,   /* 32-bit protected mode, paging off, EBX = hvm_start_info */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t boot_info;
};

#define GDT_SEL_CODE 0x10 /* __BOOT_CS */
#define GDT_SEL_DATA 0x18 /* __BOOT_DS */
#define GDT_SEL_TSS  0x20
#define GDT_ENTRIES  5
#define BOOT_STACK   0x8ff0ull

/* Write the GDT (and, for long mode, identity page tables for 0-4 GiB). */
int cpu__write_boot_tables(const struct guest_mem *m, enum boot_mode mode);
uint64_t cpu__gdt_entry(enum boot_mode mode, unsigned int index);
void cpu__segment_from_gdt(uint64_t desc, uint16_t selector, struct kvm_segment *seg);
void cpu__boot_sregs(enum boot_mode mode, struct kvm_sregs *sregs);
void cpu__boot_regs(const struct boot_entry *entry, struct kvm_regs *regs);
/* Make CPUID describe vCPU @id of @ncpus: APIC ids and topology leaves. */
void cpu__cpuid_fixup(struct kvm_cpuid2 *cpuid, unsigned int id, unsigned int ncpus);

/* Apply CPUID, MSRs, FPU and LAPIC state; with @entry, the boot registers too. */
int cpu__init_vcpu(int kvm_fd, int vcpu_fd, unsigned int id, unsigned int ncpus,
		   const struct boot_entry *entry, const struct acc_log *log, struct acc_err *err);

#endif
