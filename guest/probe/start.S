/* SPDX-License-Identifier: MIT */
/*
 * Entry points, GDT, boot page tables, exception entry points and the AP trampoline.
 *
 * The image is linked and loaded at 0x100000 and runs identity mapped.
 *   0x100000  linux32_entry: 32-bit boot protocol (code32_start), ESI = boot_params
 *   pvh_entry                PVH (Xen PHYS32_ENTRY note), EBX = hvm_start_info
 *   0x100200  linux64_entry: 64-bit boot protocol and ELF e_entry, RSI = boot_params
 * The 32-bit entries build long mode on the tables below; the 64-bit entry
 * switches to them at once, since a loader may map less than the probe needs.
 */

#define KERNEL_CS 0x08 /* 64-bit code */
#define KERNEL_DS 0x10 /* flat data */
#define USER_DS	  0x23 /* flat data, DPL 3 (GDT 0x20, RPL 3) */
#define USER_CS	  0x2b /* 64-bit code, DPL 3 (GDT 0x28, RPL 3) */
/* CPL 3 runs with IOPL 3 (port I/O, cli/sti) and interrupts off. */
#define USER_RFLAGS 0x3002

#define ENTRY_PVH     0
#define ENTRY_LINUX64 1
#define ENTRY_LINUX32 2

#define CR0_PE    (1 << 0)
#define CR0_PG    (1 << 31)
#define CR4_PAE   (1 << 5)
#define MSR_EFER  0xc0000080
#define EFER_LME  (1 << 8)

#define PTE_P  0x001
#define PTE_W  0x002
#define PTE_U  0x004 /* CPL 3 may use it: user_call runs probe code there */
#define PTE_PS 0x080

#define STACK_SIZE 16384

	.code32
	.section .text.head, "ax"
	.globl linux32_entry
linux32_entry:
	cli
	cld
	movl	$ENTRY_LINUX32, boot_entry
	movl	%esi, boot_ptr
	jmp	common32

	.globl pvh_entry
pvh_entry:
	cli
	cld
	movl	$ENTRY_PVH, boot_entry
	movl	%ebx, boot_ptr

common32:
	lgdt	gdt_desc		/* 32-bit lgdt reads limit and low base */
	movl	$KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$stack_top, %esp

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmpl	$KERNEL_CS, $common64

	.org	0x200
	.code64
	.globl linux64_entry
linux64_entry:
	cli
	cld
	movl	$ENTRY_LINUX64, boot_entry(%rip)
	movq	%rsi, boot_ptr(%rip)
	lgdt	gdt_desc(%rip)
	leaq	pml4(%rip), %rax
	movq	%rax, %cr3
	movl	$KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	leaq	stack_top(%rip), %rsp
	pushq	$KERNEL_CS
	leaq	common64(%rip), %rax
	pushq	%rax
	lretq

common64:
	movl	$KERNEL_DS, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	leaq	stack_top(%rip), %rsp
	/* Zero .bss (small; the stack and page pool live in .noinit). */
	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq
	call	probe_main
1:	cli
	hlt
	jmp	1b

/* Exception entry points: 16 bytes each, so vector v enters at isr_entries + 16 * v. */
	.text
	.p2align 4
	.globl isr_entries
isr_entries:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.p2align 4
	.if (\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq	$0			/* no error code: push a dummy */
	.endif
	pushq	$\v
	jmp	isr_common
	.endr

isr_common:
	movq	%rsp, %rdi		/* struct trap_frame; RSI: see user_call */
	andq	$-16, %rsp
	call	trap_handler
1:	cli
	hlt
	jmp	1b

/*
 * Device interrupt entry points for vectors 0x40-0x4f, 16 bytes each: save the
 * caller-saved registers, call irq_handler(vector) (which counts the vector
 * and writes the LAPIC EOI) and return. The frame (5 words), the vector and
 * 9 registers leave RSP 8 bytes off 16-byte alignment, hence the extra 8.
 */
	.text
	.p2align 4
	.globl irq_entries
irq_entries:
	.irp v, 0x40,0x41,0x42,0x43,0x44,0x45,0x46,0x47,0x48,0x49,0x4a,0x4b,0x4c,0x4d,0x4e,0x4f
	.p2align 4
	pushq	$\v
	jmp	irq_common
	.endr

irq_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	72(%rsp), %rdi
	subq	$8, %rsp
	cld
	call	irq_handler
	addq	$8, %rsp
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$8, %rsp
	iretq

/*
 * uint64_t user_call(uint64_t (*fn)(void *), void *arg): run fn(arg) at CPL 3
 * on the user stack and return what it returns. The way back is the ud2 at
 * user_exit: trap_handler recognises the #UD there (taken on the TSS's RSP0
 * stack), drops its frame and calls user_resume with RSI, fn's result,
 * which resumes the kernel stack saved here. Neither int n nor syscall
 * returns to CPL 0 under the development machine's nested KVM (int n raises
 * #UD; syscall arrives at LSTAR still at CPL 3), but exceptions do.
 */
	.text
	.globl	user_call, user_exit, user_resume
user_call:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, user_saved_rsp(%rip)
	pushq	$USER_DS
	leaq	user_stack_top(%rip), %rax
	pushq	%rax
	pushq	$USER_RFLAGS
	pushq	$USER_CS
	leaq	user_start(%rip), %rax
	pushq	%rax
	movq	%rdi, %rax
	movq	%rsi, %rdi
	iretq
user_start:
	call	*%rax
	movq	%rax, %rsi
user_exit:
	ud2
1:	jmp	1b

/* void user_resume(uint64_t result), from trap_handler at CPL 0. */
user_resume:
	movl	$KERNEL_DS, %eax	/* the exception loaded a null SS; CPL 3 nulled DS, ES */
	movl	%eax, %ss
	movl	%eax, %ds
	movl	%eax, %es
	movq	user_saved_rsp(%rip), %rsp
	movq	%rdi, %rax
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret

/*
 * AP trampoline, copied to a page below 1 MiB and started there by SIPI in
 * real mode (CS = page >> 4, IP = 0). It counts itself in and halts.
 */
	.section .rodata
	.code16
	.globl ap_tramp_start, ap_tramp_counter, ap_tramp_end
ap_tramp_start:
	cli
	movw	%cs, %ax
	movw	%ax, %ds
	lock incl (ap_tramp_counter - ap_tramp_start)
1:	hlt
	jmp	1b
	.p2align 2
ap_tramp_counter:
	.long	0
ap_tramp_end:
	.code64

/* PVH entry note. QEMU reads the descriptor of a 64-bit ELF as 8 bytes, so an
 * empty note follows to keep the upper half zero. */
	.section .note.Xen, "a", @note
	.p2align 2
	.long	4			/* namesz */
	.long	4			/* descsz */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	pvh_entry
	.long	0, 0, 0			/* empty note: namesz, descsz, type */

	.data
	.globl boot_entry, boot_ptr
	.p2align 3
boot_ptr:
	.quad	0
boot_entry:
	.long	0

	.p2align 4
gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code, accessed */
	.quad	0x00cf93000000ffff	/* 0x10: flat data, accessed */
	.quad	0x00cf9b000000ffff	/* 0x18: 32-bit code, accessed */
	.quad	0x00cff3000000ffff	/* 0x20: flat data, DPL 3 */
	.quad	0x00affb000000ffff	/* 0x28: 64-bit code, DPL 3 */
	.globl	gdt_tss
gdt_tss:
	.quad	0, 0			/* 0x30: the TSS (user.c fills it in) */
gdt_end:
	.p2align 3
	.word	0, 0, 0
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

/* Boot page tables: the first GiB identity mapped with 2 MiB pages. Further
 * mappings are added on demand by paging.c from its own pool. */
	.section .data.pagetables, "aw"
	.p2align 12
	.globl pml4
pml4:
	.quad	pdpt + PTE_P + PTE_W + PTE_U
	.fill	511, 8, 0
pdpt:
	.quad	pd0 + PTE_P + PTE_W + PTE_U
	.fill	511, 8, 0
pd0:
	.set	.Lpd_i, 0
	.rept	512
	.quad	(.Lpd_i << 21) + PTE_P + PTE_W + PTE_U + PTE_PS
	.set	.Lpd_i, .Lpd_i + 1
	.endr

	.section .noinit, "aw", @nobits
	.p2align 12
stack:
	.skip	STACK_SIZE
stack_top:
	.globl	user_stack_top, trap_stack_top
user_stack:
	.skip	STACK_SIZE
user_stack_top:
trap_stack:				/* TSS RSP0: interrupts and exceptions from CPL 3 */
	.skip	STACK_SIZE
trap_stack_top:
	.p2align 3
user_saved_rsp:
	.skip	8

	.section .note.GNU-stack, "", @progbits
