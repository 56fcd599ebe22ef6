/* SPDX-License-Identifier: MIT */
/*
 * The bzImage's boot sector and one setup sector (1024 bytes, assembled on
 * its own and turned into a flat binary). mkbzimage fills the setup header at
 * 0x1f1; this file supplies only the real-mode entry for loaders that use the
 * 16-bit boot protocol (QEMU's linuxboot option ROM, qboot). It does what
 * Linux's setup does, in brief: it builds a zero page (setup header copy and
 * the BIOS e820 map) at offset 0x1000 of the setup segment, switches to flat
 * 32-bit protected mode and jumps to code32_start (0x100000) with ESI
 * pointing at that zero page. Loaders using the 32- or 64-bit protocol never
 * run this code.
 *
 * The loader enters at setup_seg:0x200 with CS = setup_seg + 0x20 and
 * DS = ES = SS = setup_seg. All data below is DS-relative: OFF(x) is x's
 * offset in this file, which is its offset in the setup segment.
 */
#define OFF(x) ((x) - _start)

#define ZP          0x1000 /* zero page, DS-relative */
#define ZP_E820_NR  0x1e8
#define ZP_E820     0x2d0
#define E820_MAX    128
#define HDR_START   0x1f1
#define HDR_END     0x270
#define SMAP        0x534d4150
#define BOOT_CS     0x10
#define BOOT_DS     0x18
#define CODE32_START 0x100000

	.code16
	.text
	.globl _start
_start:
	.org	0x200
	jmp	setup16			/* the header's "jump" field */

	.org	HDR_END
setup16:
	cli
	cld
	movw	%ds, %ax
	movw	%ax, %es

	/* Fast A20 gate. */
	inb	$0x92, %al
	orb	$0x02, %al
	andb	$0xfe, %al
	outb	%al, $0x92

	/* Zero page: cleared, then the setup header the loader filled in. */
	movw	$ZP, %di
	xorw	%ax, %ax
	movw	$0x800, %cx
	rep stosw
	movw	$HDR_START, %si
	movw	$(ZP + HDR_START), %di
	movw	$(HDR_END - HDR_START), %cx
	rep movsb

	/* BIOS e820 map (int 0x15, eax 0xe820) into the zero page. */
	xorl	%ebx, %ebx
	xorw	%bp, %bp
	movw	$(ZP + ZP_E820), %di
1:	movl	$0xe820, %eax
	movl	$SMAP, %edx
	movl	$20, %ecx
	int	$0x15
	jc	2f
	cmpl	$SMAP, %eax
	jne	2f
	incw	%bp
	addw	$20, %di
	cmpw	$E820_MAX, %bp
	jae	2f
	testl	%ebx, %ebx
	jnz	1b
2:	movw	%bp, %ax
	movb	%al, (ZP + ZP_E820_NR)

	/* ESI = linear address of the zero page; patch the GDT base. */
	xorl	%esi, %esi
	movw	%ds, %si
	shll	$4, %esi
	leal	OFF(gdt)(%esi), %eax
	movl	%eax, OFF(gdt_ptr) + 2
	addl	$ZP, %esi

	cli
	lgdtl	OFF(gdt_ptr)
	movl	%cr0, %eax
	orb	$1, %al
	movl	%eax, %cr0
	movw	$BOOT_DS, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	ljmpl	$BOOT_CS, $CODE32_START

	.p2align 3
gdt:
	.quad	0
	.quad	0
	.quad	0x00cf9b000000ffff	/* 0x10: flat 32-bit code */
	.quad	0x00cf93000000ffff	/* 0x18: flat data */
gdt_end:
gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	0			/* linear base, patched above */

	.org	0x400
