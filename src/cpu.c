// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accord/cpu.h"
#include "accord/layout.h"

#define X86_CR0_PE  0x1ull
#define X86_CR0_ET  0x10ull
#define X86_CR0_NE  0x20ull
#define X86_CR0_PG  0x80000000ull
#define X86_CR4_PAE 0x20ull
#define EFER_LME    0x100ull
#define EFER_LMA    0x400ull
#define PTE_PRESENT 0x1ull
#define PTE_RW	    0x2ull
#define PTE_PS	    0x80ull

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING 0x1ull

#define APIC_LVT0	 0x350
#define APIC_LVT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

/* Flat 4 GiB descriptors: long-mode code, 32-bit code, data, busy TSS. */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA   0x00cf93000000ffffull
#define GDT_TSS	   0x00008b0000000067ull

uint64_t cpu__gdt_entry(enum boot_mode mode, unsigned int index)
{
	switch (index) {
	case GDT_SEL_CODE >> 3:
		return mode == BOOT_LINUX64 ? GDT_CODE64 : GDT_CODE32;
	case GDT_SEL_DATA >> 3:
		return GDT_DATA;
	case GDT_SEL_TSS >> 3:
		return GDT_TSS;
	default:
		return 0;
	}
}

int cpu__write_boot_tables(const struct guest_mem *m, enum boot_mode mode)
{
	uint64_t gdt[GDT_ENTRIES], *pml4, *pdpt, *pd;

	for (unsigned int i = 0; i < GDT_ENTRIES; i++)
		gdt[i] = cpu__gdt_entry(mode, i);
	if (guest_mem__write(m, LAYOUT_GDT, gdt, sizeof(gdt)))
		return -EFAULT;
	if (mode != BOOT_LINUX64)
		return 0;

	pml4 = guest_mem__ptr(m, LAYOUT_PML4, 4096);
	pdpt = guest_mem__ptr(m, LAYOUT_PDPT, 4096);
	pd = guest_mem__ptr(m, LAYOUT_PD, 4096 * LAYOUT_PD_COUNT);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_RW;
	for (unsigned int i = 0; i < LAYOUT_PD_COUNT; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096ull) | PTE_PRESENT | PTE_RW;
	/* 2 MiB pages identity-map 0-4 GiB: kernel, boot_params, initrd, APICs. */
	for (uint64_t i = 0; i < 512ull * LAYOUT_PD_COUNT; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	return 0;
}

void cpu__segment_from_gdt(uint64_t desc, uint16_t selector, struct kvm_segment *seg)
{
	uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));

	memset(seg, 0, sizeof(*seg));
	seg->base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24);
	seg->g = (desc >> 55) & 1;
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->selector = selector;
	seg->type = (desc >> 40) & 0xf;
	seg->s = (desc >> 44) & 1;
	seg->dpl = (desc >> 45) & 3;
	seg->present = (desc >> 47) & 1;
	seg->avl = (desc >> 52) & 1;
	seg->l = (desc >> 53) & 1;
	seg->db = (desc >> 54) & 1;
	seg->unusable = !seg->present;
}

void cpu__boot_sregs(enum boot_mode mode, struct kvm_sregs *sregs)
{
	struct kvm_segment code, data, tss;

	cpu__segment_from_gdt(cpu__gdt_entry(mode, GDT_SEL_CODE >> 3), GDT_SEL_CODE, &code);
	cpu__segment_from_gdt(cpu__gdt_entry(mode, GDT_SEL_DATA >> 3), GDT_SEL_DATA, &data);
	cpu__segment_from_gdt(cpu__gdt_entry(mode, GDT_SEL_TSS >> 3), GDT_SEL_TSS, &tss);
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = tss;
	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = GDT_ENTRIES * 8 - 1;
	/* No IDT: an exception before the kernel installs one is a triple fault. */
	sregs->idt.base = 0;
	sregs->idt.limit = 0;

	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	sregs->cr4 = 0;
	sregs->efer = 0;
	sregs->cr3 = 0;
	if (mode == BOOT_LINUX64) {
		sregs->cr0 |= X86_CR0_PG;
		sregs->cr3 = LAYOUT_PML4;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer = EFER_LME | EFER_LMA;
	}
}

void cpu__boot_regs(const struct boot_entry *entry, struct kvm_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2;
	regs->rip = entry->rip;
	regs->rsp = BOOT_STACK;
	if (entry->mode == BOOT_LINUX64)
		regs->rsi = entry->boot_info;
	else
		regs->rbx = entry->boot_info;
}

static unsigned int order_of(unsigned int n)
{
	unsigned int order = 0;

	while ((1u << order) < n)
		order++;
	return order;
}

void cpu__cpuid_fixup(struct kvm_cpuid2 *cpuid, unsigned int id, unsigned int ncpus)
{
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) | ((ncpus & 0xff) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: more than one logical CPU */
			e->ecx |= 1u << 31;	    /* running under a hypervisor */
			break;
		case 4:
			/* Every vCPU is one core of a single package; the field has 6 bits. */
			e->eax = (e->eax & 0x03ffffffu) | ((ncpus > 64 ? 63 : ncpus - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1u << 8; /* SMT level */
			} else if (e->index == 1) {
				e->eax = order_of(ncpus);
				e->ebx = ncpus;
				e->ecx = 1 | 2u << 8; /* core level */
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		default:
			break;
		}
	}
}

static int cpu__set_cpuid(int kvm_fd, int vcpu_fd, unsigned int id, unsigned int ncpus,
			  struct acc_err *err)
{
	unsigned int nent = 256;
	struct kvm_cpuid2 *cpuid;
	int ret;

	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return acc_errf(err, ENOMEM, "CPUID: out of memory");
		cpuid->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		ret = errno;
		free(cpuid);
		if (ret != E2BIG || nent >= 4096)
			return acc_errf(err, ret, "KVM_GET_SUPPORTED_CPUID: %s", strerror(ret));
		nent *= 2;
	}
	cpu__cpuid_fixup(cpuid, id, ncpus);
	ret = ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid)
		      ? acc_errf(err, errno, "KVM_SET_CPUID2: %s", strerror(errno))
		      : 0;
	free(cpuid);
	return ret;
}

static void cpu__set_msrs(int vcpu_fd, const struct acc_log *log)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	};
	enum { NR = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	/* kvm_msrs ends in a flexible array: give it room for NR entries. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + NR * sizeof(struct kvm_msr_entry)];
	} msrs;
	int n;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = NR;
	for (unsigned int i = 0; i < NR; i++) {
		msrs.hdr.entries[i].index = boot_msrs[i].index;
		msrs.hdr.entries[i].data = boot_msrs[i].data;
	}
	/* Reset values; a KVM that refuses one still boots a guest correctly. */
	n = ioctl(vcpu_fd, KVM_SET_MSRS, &msrs);
	if (n != NR)
		log_debug(log, "KVM_SET_MSRS set %d of %d boot MSRs", n, (int)NR);
}

static int cpu__set_lapic(int vcpu_fd, struct acc_err *err)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[APIC_LVT1];

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic))
		return acc_errf(err, errno, "KVM_GET_LAPIC: %s", strerror(errno));
	/* Virtual-wire mode: the PIC on LINT0, NMI on LINT1, as a BIOS leaves it. */
	*lvt0 = (*lvt0 & ~0x700u) | APIC_MODE_EXTINT << 8;
	*lvt1 = (*lvt1 & ~0x700u) | APIC_MODE_NMI << 8;
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic))
		return acc_errf(err, errno, "KVM_SET_LAPIC: %s", strerror(errno));
	return 0;
}

static int cpu__set_boot_regs(int vcpu_fd, const struct boot_entry *entry, struct acc_err *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs))
		return acc_errf(err, errno, "KVM_GET_SREGS: %s", strerror(errno));
	cpu__boot_sregs(entry->mode, &sregs);
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs))
		return acc_errf(err, errno, "KVM_SET_SREGS: %s", strerror(errno));
	cpu__boot_regs(entry, &regs);
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs))
		return acc_errf(err, errno, "KVM_SET_REGS: %s", strerror(errno));
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu))
		return acc_errf(err, errno, "KVM_SET_FPU: %s", strerror(errno));
	return 0;
}

int cpu__init_vcpu(int kvm_fd, int vcpu_fd, unsigned int id, unsigned int ncpus,
		   const struct boot_entry *entry, const struct acc_log *log, struct acc_err *err)
{
	int ret;

	ret = cpu__set_cpuid(kvm_fd, vcpu_fd, id, ncpus, err);
	if (ret)
		return ret;
	cpu__set_msrs(vcpu_fd, log);
	ret = cpu__set_lapic(vcpu_fd, err);
	if (ret)
		return ret;
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC. */
	if (entry)
		ret = cpu__set_boot_regs(vcpu_fd, entry, err);
	return ret;
}
