/* SPDX-License-Identifier: MIT */
/*
 * The guest-physical memory map of an accord x86 machine. RAM starts at 0
 * and runs up to 3 GiB; the rest continues above 4 GiB, leaving the 32-bit
 * MMIO hole (PCI BARs, IOAPIC, LAPIC) free.
 *
 *   0x00500  GDT                  0x06000  PVH start info, modules, memmap
 *   0x07000  boot_params          0x09000  page tables (PML4, PDPT, 4 PDs)
 *   0x20000  kernel command line  0x9fc00  MP floating pointer and table
 *   0x100000 kernel (bzImage payload / ELF segments at their addresses)
 *   initrd at the top of RAM below 3 GiB
 */
#ifndef ACCORD_LAYOUT_H
#define ACCORD_LAYOUT_H

#define LAYOUT_GDT	    0x500ull
#define LAYOUT_PVH_INFO	    0x6000ull
#define LAYOUT_PVH_INFO_END 0x7000ull
#define LAYOUT_BOOT_PARAMS  0x7000ull
#define LAYOUT_PML4	    0x9000ull
#define LAYOUT_PDPT	    0xa000ull
#define LAYOUT_PD	    0xb000ull /* four pages: identity map of 0-4 GiB */
#define LAYOUT_PD_COUNT	    4
#define LAYOUT_CMDLINE	    0x20000ull
#define LAYOUT_CMDLINE_MAX  0x1000ull /* including the terminating NUL */
#define LAYOUT_EBDA	    0x9fc00ull
#define LAYOUT_MPTABLE	    LAYOUT_EBDA
#define LAYOUT_MPTABLE_MAX  0x2000ull
#define LAYOUT_BIOS_END	    0x100000ull
#define LAYOUT_HIMEM	    0x100000ull
#define LAYOUT_MMIO_HOLE    0xc0000000ull
#define LAYOUT_PCI_MMIO	    LAYOUT_MMIO_HOLE /* BARs, assigned upwards */
#define LAYOUT_PCI_MMIO_END 0xfec00000ull
#define LAYOUT_HIGH_RAM	    0x100000000ull
#define LAYOUT_IOAPIC	    0xfec00000ull
#define LAYOUT_LAPIC	    0xfee00000ull
/* KVM on Intel needs three pages for the real-mode TSS and one for EPT's identity map. */
#define LAYOUT_KVM_IDENTITY 0xfeffc000ull
#define LAYOUT_KVM_TSS	    0xfeffd000ull

/* BIOS data area fields that the MP spec's search starts from. */
#define BDA_EBDA_SEGMENT 0x40e
#define BDA_BASE_MEM_KB	 0x413

#endif
