// SPDX-License-Identifier: MIT
/*
 * Unit tests: the boot data accord writes for a guest (e820 map, MP table,
 * PVH start info, boot_params). The runner's other suites: CPU state and
 * guest memory (test_cpu.c), ELF (test_elf.c), bzImage (test_bzimage.c) and
 * the loader (test_loader.c).
 */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accord/bootparams.h"
#include "accord/e820.h"
#include "accord/guest_mem.h"
#include "accord/layout.h"
#include "accord/mptable.h"
#include "accord/pvh.h"

#include "boot_test.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* ---- e820 ---- */

static void check_range(const struct e820_map *map, unsigned int i, uint64_t addr, uint64_t size,
			uint32_t type)
{
	ck_assert_uint_lt(i, map->nr);
	ck_assert_uint_eq(map->r[i].addr, addr);
	ck_assert_uint_eq(map->r[i].size, size);
	ck_assert_uint_eq(map->r[i].type, type);
}

/* Every map starts with base memory and the reserved EBDA/BIOS area. */
static void check_low_ranges(const struct e820_map *map)
{
	check_range(map, 0, 0, 0x9fc00, E820_RAM);
	check_range(map, 1, 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED);
}

START_TEST(test_e820_64m_has_base_reserved_and_high_memory)
{
	struct e820_map map;

	e820__build(64 * MiB, &map);
	ck_assert_uint_eq(map.nr, 3);
	check_low_ranges(&map);
	check_range(&map, 2, MiB, 63 * MiB, E820_RAM);
	ck_assert_uint_eq(e820__ram_total(&map), 0x9fc00 + 63 * MiB);
}
END_TEST

START_TEST(test_e820_3g_fills_low_memory_up_to_the_hole)
{
	struct e820_map map;

	e820__build(3 * GiB, &map);
	ck_assert_uint_eq(map.nr, 3);
	check_low_ranges(&map);
	check_range(&map, 2, MiB, 3 * GiB - MiB, E820_RAM);
	ck_assert_uint_eq(e820__ram_total(&map), 0x9fc00 + 3 * GiB - MiB);
}
END_TEST

START_TEST(test_e820_4g_puts_the_last_gigabyte_above_4g)
{
	struct e820_map map;

	e820__build(4 * GiB, &map);
	ck_assert_uint_eq(map.nr, 4);
	check_low_ranges(&map);
	check_range(&map, 2, MiB, 3 * GiB - MiB, E820_RAM);
	check_range(&map, 3, 4 * GiB, 1 * GiB, E820_RAM);
	ck_assert_uint_eq(e820__ram_total(&map), 0x9fc00 + 4 * GiB - MiB);
}
END_TEST

START_TEST(test_e820_6g_skips_the_mmio_hole)
{
	struct e820_map map;

	e820__build(6 * GiB, &map);
	ck_assert_uint_eq(map.nr, 4);
	check_low_ranges(&map);
	check_range(&map, 2, MiB, 3 * GiB - MiB, E820_RAM);
	check_range(&map, 3, 4 * GiB, 3 * GiB, E820_RAM);
	ck_assert_uint_eq(e820__ram_total(&map), 0x9fc00 + 6 * GiB - MiB);
	for (unsigned int i = 0; i < map.nr; i++) {
		uint64_t end = map.r[i].addr + map.r[i].size;

		ck_assert(end <= LAYOUT_MMIO_HOLE || map.r[i].addr >= LAYOUT_HIGH_RAM);
	}
}
END_TEST

START_TEST(test_e820_ram_total_ignores_reserved_ranges)
{
	struct e820_map map = { 3,
				{ { 0, 0x1000, E820_RAM },
				  { 0x1000, 0x5000, E820_RESERVED },
				  { 0x6000, 0x2000, E820_RAM } } };

	ck_assert_uint_eq(e820__ram_total(&map), 0x3000);
}
END_TEST

/* ---- MP table ---- */

#define MP_BUF 0x2000

static uint8_t sum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

static long write_mp(uint8_t *buf, unsigned int ncpus)
{
	memset(buf, 0xaa, MP_BUF);
	return mptable__write(buf, MP_BUF, (uint32_t)LAYOUT_MPTABLE, ncpus);
}

START_TEST(test_mptable_size_formula)
{
	/*
	 * floating 16 + header 44 + 20/CPU + 2 buses of 8 + IOAPIC 8 + 16 ISA,
	 * 31 PCI slot and 2 local interrupt entries of 8
	 */
	ck_assert_uint_eq(mptable__size(1), 496);
	ck_assert_uint_eq(mptable__size(4), 556);
	ck_assert_uint_eq(mptable__size(254), 5556);
}
END_TEST

START_TEST(test_mptable_floating_pointer_and_checksums)
{
	uint8_t buf[MP_BUF];
	const struct mp_floating *mpf = (const void *)buf;
	const struct mp_config *mpc = (const void *)(buf + sizeof(*mpf));

	ck_assert_int_eq(write_mp(buf, 4), (long)mptable__size(4));
	ck_assert_mem_eq(mpf->signature, "_MP_", 4);
	ck_assert_uint_eq(mpf->physptr, LAYOUT_MPTABLE + 16);
	ck_assert_uint_eq(mpf->length, 1);
	ck_assert_uint_eq(mpf->spec_rev, 4);
	ck_assert_uint_eq(sum8(mpf, 16), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(mpf->feature[i], 0);

	ck_assert_mem_eq(mpc->signature, "PCMP", 4);
	ck_assert_uint_eq(mpc->length, mptable__size(4) - 16);
	ck_assert_uint_eq(mpc->spec_rev, 4);
	ck_assert_uint_eq(mpc->lapic, LAYOUT_LAPIC);
	ck_assert_uint_eq(mpc->count, 4 + 2 + 1 + 16 + 31 + 2);
	ck_assert_uint_eq(mpc->ext_length, 0);
	ck_assert_uint_eq(sum8(mpc, mpc->length), 0);
	/* Nothing is written past the table. */
	ck_assert_uint_eq(buf[mptable__size(4)], 0xaa);
}
END_TEST

START_TEST(test_mptable_checksum_of_known_bytes)
{
	static const uint8_t bytes[] = { 1, 2, 3 };

	ck_assert_uint_eq(mptable__checksum(bytes, 3), 0xfa);
	ck_assert_uint_eq(mptable__checksum(bytes, 0), 0);
}
END_TEST

/* Walk the entries: processors are 20 bytes, every other entry 8. */
static void check_mp_entries(const uint8_t *buf, unsigned int ncpus)
{
	const struct mp_config *mpc = (const void *)(buf + 16);
	const uint8_t *p = (const uint8_t *)(mpc + 1), *end = (const uint8_t *)mpc + mpc->length;
	unsigned int cpus = 0, buses = 0, ioapics = 0, intsrc = 0, lint = 0;

	for (unsigned int n = 0; n < mpc->count; n++) {
		ck_assert(p < end);
		switch (p[0]) {
		case MP_PROCESSOR: {
			const struct mp_processor *c = (const void *)p;

			ck_assert_uint_eq(c->apic_id, cpus);
			ck_assert_uint_eq(c->apic_ver, MP_APIC_VERSION);
			ck_assert_uint_eq(c->flags,
					  cpus == 0 ? MP_CPU_ENABLED | MP_CPU_BSP : MP_CPU_ENABLED);
			cpus++;
			p += sizeof(*c);
			break;
		}
		case MP_BUS: {
			const struct mp_bus *b = (const void *)p;

			/* PCI bus 0 first, then ISA. */
			ck_assert_uint_eq(b->bus_id, buses == 0 ? MP_BUS_ID_PCI : MP_BUS_ID_ISA);
			ck_assert_mem_eq(b->bus_type, buses == 0 ? "PCI   " : "ISA   ", 6);
			buses++;
			p += sizeof(*b);
			break;
		}
		case MP_IOAPIC: {
			const struct mp_ioapic *io = (const void *)p;

			ck_assert_uint_eq(io->apic_id, ncpus);
			ck_assert_uint_eq(io->apic_ver, MP_IOAPIC_VERSION);
			ck_assert_uint_eq(io->flags, 1);
			ck_assert_uint_eq(io->address, LAYOUT_IOAPIC);
			ioapics++;
			p += sizeof(*io);
			break;
		}
		case MP_INTSRC: {
			const struct mp_intsrc *s = (const void *)p;

			ck_assert_uint_eq(s->irq_type, MP_IRQ_INT);
			ck_assert_uint_eq(s->dst_apic, ncpus);
			if (intsrc < MP_ISA_IRQS) {
				ck_assert_uint_eq(s->irq_flags, 0);
				ck_assert_uint_eq(s->src_bus, MP_BUS_ID_ISA);
				ck_assert_uint_eq(s->src_irq, intsrc);
				ck_assert_uint_eq(s->dst_irq, intsrc);
			} else {
				/* INTA# of slot n, active low, level, on pin 16 + n % 8. */
				unsigned int slot = intsrc - MP_ISA_IRQS + 1;

				ck_assert_uint_eq(s->irq_flags, MP_IRQ_PCI_FLAGS);
				ck_assert_uint_eq(s->src_bus, MP_BUS_ID_PCI);
				ck_assert_uint_eq(s->src_irq, slot << 2);
				ck_assert_uint_eq(s->dst_irq, 16 + slot % 8);
			}
			intsrc++;
			p += sizeof(*s);
			break;
		}
		case MP_LINTSRC: {
			const struct mp_intsrc *s = (const void *)p;

			ck_assert_uint_eq(s->irq_type, lint == 0 ? MP_IRQ_EXTINT : MP_IRQ_NMI);
			ck_assert_uint_eq(s->dst_apic, MP_ALL_APICS);
			ck_assert_uint_eq(s->dst_irq, lint);
			lint++;
			p += sizeof(*s);
			break;
		}
		default:
			ck_abort_msg("unexpected MP entry type %u", p[0]);
		}
	}
	ck_assert_ptr_eq(p, end);
	ck_assert_uint_eq(cpus, ncpus);
	ck_assert_uint_eq(buses, 2);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(intsrc, MP_ISA_IRQS + MP_PCI_SLOTS - 1);
	ck_assert_uint_eq(lint, 2);
}

START_TEST(test_mptable_one_cpu_is_the_bsp)
{
	uint8_t buf[MP_BUF];

	ck_assert_int_eq(write_mp(buf, 1), 496);
	check_mp_entries(buf, 1);
}
END_TEST

START_TEST(test_mptable_cpus_ioapic_and_isa_interrupts)
{
	uint8_t buf[MP_BUF];

	ck_assert_int_eq(write_mp(buf, 4), 556);
	check_mp_entries(buf, 4);
}
END_TEST

START_TEST(test_mptable_254_cpus_fit_and_ioapic_id_follows_them)
{
	uint8_t buf[MP_BUF];
	const struct mp_config *mpc = (const void *)(buf + 16);

	ck_assert_int_eq(write_mp(buf, 254), 5556);
	check_mp_entries(buf, 254);
	ck_assert_uint_eq(sum8(mpc, mpc->length), 0);
}
END_TEST

START_TEST(test_mptable_without_room_is_enospc)
{
	uint8_t buf[MP_BUF];

	memset(buf, 0xaa, sizeof(buf));
	ck_assert_int_eq(mptable__write(buf, mptable__size(2) - 1, 0x9fc00, 2), -ENOSPC);
	ck_assert_uint_eq(buf[0], 0xaa);
	ck_assert_int_eq(mptable__write(buf, sizeof(buf), 0x9fc00, 0), -ENOSPC);
	ck_assert_int_eq(mptable__write(buf, sizeof(buf), 0x9fc00, 255), -ENOSPC);
	ck_assert_int_eq(mptable__write(buf, mptable__size(2), 0x9fc00, 2), (long)mptable__size(2));
}
END_TEST

/* ---- PVH start info ---- */

/* A guest whose RAM starts out as 0xaa, to see what is written. */
static void small_guest_init(struct guest *g, uint64_t size)
{
	guest_init(g, size);
	memset(g->buf, 0xaa, size);
}

START_TEST(test_pvh_start_info_with_initrd_and_memory_map)
{
	struct guest g;
	struct e820_map map;
	struct boot_args args = { 0x20000, 0x3000000, 0x1234, &map };
	const struct hvm_start_info *si;
	const struct hvm_modlist_entry *mod;
	const struct hvm_memmap_table_entry *mm;
	const uint8_t *end;

	small_guest_init(&g, MiB);
	e820__build(64 * MiB, &map);
	ck_assert_int_eq(pvh__write_start_info(&g.m, 0x6000, 0x7000, &args), 0);
	si = (const void *)(g.buf + 0x6000);
	mod = (const void *)(g.buf + 0x6000 + 56);
	mm = (const void *)(g.buf + 0x6000 + 56 + 32);
	ck_assert_uint_eq(si->magic, HVM_START_MAGIC);
	ck_assert_uint_eq(si->version, 1);
	ck_assert_uint_eq(si->flags, 0);
	ck_assert_uint_eq(si->cmdline_paddr, 0x20000);
	ck_assert_uint_eq(si->rsdp_paddr, 0);
	ck_assert_uint_eq(si->nr_modules, 1);
	ck_assert_uint_eq(si->modlist_paddr, 0x6000 + 56);
	ck_assert_uint_eq(mod->paddr, 0x3000000);
	ck_assert_uint_eq(mod->size, 0x1234);
	ck_assert_uint_eq(mod->cmdline_paddr, 0);
	ck_assert_uint_eq(si->memmap_paddr, 0x6000 + 56 + 32);
	ck_assert_uint_eq(si->memmap_entries, 3);
	for (unsigned int i = 0; i < 3; i++) {
		ck_assert_uint_eq(mm[i].addr, map.r[i].addr);
		ck_assert_uint_eq(mm[i].size, map.r[i].size);
		ck_assert_uint_eq(mm[i].type, map.r[i].type);
		ck_assert_uint_eq(mm[i].reserved, 0);
	}
	/* The rest of the area is cleared, and nothing beyond it is touched. */
	for (end = (const uint8_t *)(mm + 3); end < g.buf + 0x7000; end++)
		ck_assert_uint_eq(*end, 0);
	ck_assert_uint_eq(g.buf[0x7000], 0xaa);
	ck_assert_uint_eq(g.buf[0x5fff], 0xaa);
	guest_free(&g);
}
END_TEST

START_TEST(test_pvh_start_info_without_initrd_has_no_modules)
{
	struct guest g;
	struct e820_map map;
	struct boot_args args = { 0x20000, 0, 0, &map };
	const struct hvm_start_info *si;

	small_guest_init(&g, MiB);
	e820__build(6 * GiB, &map);
	ck_assert_int_eq(pvh__write_start_info(&g.m, 0x6000, 0x7000, &args), 0);
	si = (const void *)(g.buf + 0x6000);
	ck_assert_uint_eq(si->nr_modules, 0);
	ck_assert_uint_eq(si->modlist_paddr, 0);
	ck_assert_uint_eq(si->memmap_entries, 4);
	guest_free(&g);
}
END_TEST

START_TEST(test_pvh_start_info_that_does_not_fit_is_enospc)
{
	struct guest g;
	struct e820_map map;
	struct boot_args args = { 0x20000, 0, 0, &map };
	uint64_t need = 56 + 32 + 3 * 24;

	small_guest_init(&g, MiB);
	e820__build(64 * MiB, &map);
	ck_assert_int_eq(pvh__write_start_info(&g.m, 0x6000, 0x6000 + need - 1, &args), -ENOSPC);
	ck_assert_uint_eq(g.buf[0x6000], 0xaa);
	ck_assert_int_eq(pvh__write_start_info(&g.m, 0x6000, 0x6000 + need, &args), 0);
	guest_free(&g);
}
END_TEST

START_TEST(test_pvh_start_info_outside_ram_is_efault)
{
	struct guest g;
	struct e820_map map;
	struct boot_args args = { 0x20000, 0, 0, &map };

	small_guest_init(&g, 0x6800);
	e820__build(64 * MiB, &map);
	ck_assert_int_eq(pvh__write_start_info(&g.m, 0x6000, 0x7000, &args), -EFAULT);
	guest_free(&g);
}
END_TEST

/* ---- boot_params ---- */

static void bzimage_setup_header(struct setup_header *h)
{
	memset(h, 0, sizeof(*h));
	h->setup_sects = 27;
	h->boot_flag = BOOT_FLAG_MAGIC;
	h->header = BOOT_HDR_MAGIC;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 2047;
	h->init_size = 0x1234000;
	h->type_of_loader = 0x42; /* must be overwritten */
}

START_TEST(test_bootparams_from_bzimage_header)
{
	struct boot_params *bp = malloc(sizeof(*bp));
	struct setup_header h;
	struct e820_map map;
	struct boot_args args = { 0x20000, 0x3ffe000, 0x1801, &map };

	bzimage_setup_header(&h);
	e820__build(64 * MiB, &map);
	memset(bp, 0xaa, sizeof(*bp));
	bootparams__build(bp, &h, sizeof(h), &args);
	ck_assert_uint_eq(bp->hdr.setup_sects, 27);
	ck_assert_uint_eq(bp->hdr.boot_flag, BOOT_FLAG_MAGIC);
	ck_assert_uint_eq(bp->hdr.header, BOOT_HDR_MAGIC);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.xloadflags, XLF_KERNEL_64);
	ck_assert_uint_eq(bp->hdr.cmdline_size, 2047);
	ck_assert_uint_eq(bp->hdr.init_size, 0x1234000);
	ck_assert_uint_eq(bp->hdr.type_of_loader, BOOT_LOADER_UNDEFINED);
	ck_assert_uint_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	ck_assert_uint_eq(bp->hdr.heap_end_ptr, 0xfe00);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, 0x20000);
	ck_assert_uint_eq(bp->ext_cmd_line_ptr, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0x3ffe000);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0x1801);
	ck_assert_uint_eq(bp->ext_ramdisk_image, 0);
	ck_assert_uint_eq(bp->ext_ramdisk_size, 0);
	ck_assert_uint_eq(bp->e820_entries, 3);
	for (unsigned int i = 0; i < 3; i++) {
		ck_assert_uint_eq(bp->e820_table[i].addr, map.r[i].addr);
		ck_assert_uint_eq(bp->e820_table[i].size, map.r[i].size);
		ck_assert_uint_eq(bp->e820_table[i].type, map.r[i].type);
	}
	/* Everything else starts out zero. */
	ck_assert_uint_eq(bp->e820_table[3].size, 0);
	ck_assert_uint_eq(bp->acpi_rsdp_addr, 0);
	ck_assert_uint_eq(bp->screen_info.orig_video_isVGA, 0);
	free(bp);
}
END_TEST

START_TEST(test_bootparams_high_addresses_use_ext_fields)
{
	struct boot_params *bp = malloc(sizeof(*bp));
	struct setup_header h;
	struct e820_map map;
	struct boot_args args = { 0x123456000ull, 0x2fedcb000ull, 0x100001000ull, &map };

	bzimage_setup_header(&h);
	e820__build(16 * GiB, &map);
	bootparams__build(bp, &h, sizeof(h), &args);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, 0x23456000);
	ck_assert_uint_eq(bp->ext_cmd_line_ptr, 1);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0xfedcb000);
	ck_assert_uint_eq(bp->ext_ramdisk_image, 2);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0x1000);
	ck_assert_uint_eq(bp->ext_ramdisk_size, 1);
	ck_assert_uint_eq(bp->e820_entries, 4);
	ck_assert_uint_eq(bp->e820_table[3].addr, 4 * GiB);
	ck_assert_uint_eq(bp->e820_table[3].size, 13 * GiB);
	free(bp);
}
END_TEST

START_TEST(test_bootparams_copies_only_the_declared_header_length)
{
	struct boot_params *bp = malloc(sizeof(*bp));
	struct setup_header h;
	struct e820_map map;
	struct boot_args args = { 0x20000, 0, 0, &map };

	bzimage_setup_header(&h);
	e820__build(64 * MiB, &map);
	bootparams__build(bp, &h, offsetof(struct setup_header, init_size), &args);
	ck_assert_uint_eq(bp->hdr.cmdline_size, 2047);
	ck_assert_uint_eq(bp->hdr.init_size, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0);
	free(bp);
}
END_TEST

START_TEST(test_bootparams_clamps_an_overlong_header)
{
	struct boot_params *bp = malloc(sizeof(*bp));
	uint8_t raw[sizeof(struct setup_header) + 64];
	struct e820_map map;
	struct boot_args args = { 0x20000, 0, 0, &map };

	memset(raw, 0x5a, sizeof(raw));
	bzimage_setup_header((struct setup_header *)raw);
	e820__build(64 * MiB, &map);
	memset(bp, 0, sizeof(*bp));
	bootparams__build(bp, raw, sizeof(raw), &args);
	ck_assert_uint_eq(bp->hdr.init_size, 0x1234000);
	/* The bytes after the header in boot_params are not overwritten. */
	ck_assert_uint_eq(((uint8_t *)bp)[0x1f1 + sizeof(struct setup_header)], 0);
	free(bp);
}
END_TEST

START_TEST(test_bootparams_for_elf_kernel_fakes_a_header)
{
	struct boot_params *bp = malloc(sizeof(*bp));
	struct e820_map map;
	struct boot_args args = { 0x20000, 0, 0, &map };

	e820__build(64 * MiB, &map);
	memset(bp, 0xaa, sizeof(*bp));
	bootparams__build(bp, NULL, 0, &args);
	ck_assert_uint_eq(bp->hdr.boot_flag, BOOT_FLAG_MAGIC);
	ck_assert_uint_eq(bp->hdr.header, BOOT_HDR_MAGIC);
	ck_assert_uint_eq(bp->hdr.version, 0x020f);
	ck_assert_uint_eq(bp->hdr.kernel_alignment, 0x1000000);
	ck_assert_uint_eq(bp->hdr.type_of_loader, BOOT_LOADER_UNDEFINED);
	ck_assert_uint_eq(bp->hdr.loadflags, CAN_USE_HEAP);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, 0x20000);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, 0);
	ck_assert_uint_eq(bp->hdr.setup_sects, 0);
	ck_assert_uint_eq(bp->e820_entries, 3);
	free(bp);
}
END_TEST

static Suite *tables_suite(void)
{
	Suite *s = suite_create("boot tables");
	TCase *tc = tcase_create("e820");

	tcase_add_test(tc, test_e820_64m_has_base_reserved_and_high_memory);
	tcase_add_test(tc, test_e820_3g_fills_low_memory_up_to_the_hole);
	tcase_add_test(tc, test_e820_4g_puts_the_last_gigabyte_above_4g);
	tcase_add_test(tc, test_e820_6g_skips_the_mmio_hole);
	tcase_add_test(tc, test_e820_ram_total_ignores_reserved_ranges);
	suite_add_tcase(s, tc);

	tc = tcase_create("mptable");
	tcase_add_test(tc, test_mptable_size_formula);
	tcase_add_test(tc, test_mptable_floating_pointer_and_checksums);
	tcase_add_test(tc, test_mptable_checksum_of_known_bytes);
	tcase_add_test(tc, test_mptable_one_cpu_is_the_bsp);
	tcase_add_test(tc, test_mptable_cpus_ioapic_and_isa_interrupts);
	tcase_add_test(tc, test_mptable_254_cpus_fit_and_ioapic_id_follows_them);
	tcase_add_test(tc, test_mptable_without_room_is_enospc);
	suite_add_tcase(s, tc);

	tc = tcase_create("pvh");
	tcase_add_test(tc, test_pvh_start_info_with_initrd_and_memory_map);
	tcase_add_test(tc, test_pvh_start_info_without_initrd_has_no_modules);
	tcase_add_test(tc, test_pvh_start_info_that_does_not_fit_is_enospc);
	tcase_add_test(tc, test_pvh_start_info_outside_ram_is_efault);
	suite_add_tcase(s, tc);

	tc = tcase_create("bootparams");
	tcase_add_test(tc, test_bootparams_from_bzimage_header);
	tcase_add_test(tc, test_bootparams_high_addresses_use_ext_fields);
	tcase_add_test(tc, test_bootparams_copies_only_the_declared_header_length);
	tcase_add_test(tc, test_bootparams_clamps_an_overlong_header);
	tcase_add_test(tc, test_bootparams_for_elf_kernel_fakes_a_header);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tables_suite());
	int failed;

	srunner_add_suite(sr, cpu_suite());
	srunner_add_suite(sr, elf_suite());
	srunner_add_suite(sr, bzimage_suite());
	srunner_add_suite(sr, loader_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
