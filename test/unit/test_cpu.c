// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_boot runner): GDT, segment and register values for both
 * boot modes, the boot page tables, the CPUID topology fixup, and the
 * bounds of guest memory.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "accord/cpu.h"
#include "accord/guest_mem.h"
#include "accord/layout.h"

#include "boot_test.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* A guest whose RAM starts out as 0xaa, to see what is written. */
static void small_guest_init(struct guest *g, uint64_t size)
{
	guest_init(g, size);
	memset(g->buf, 0xaa, size);
}

/* ---- GDT, segments, registers ---- */

START_TEST(test_gdt_entries_for_each_mode)
{
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_LINUX64, 0), 0);
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_LINUX64, 1), 0);
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_LINUX64, 2), 0x00af9b000000ffffull);
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_PVH32, 2), 0x00cf9b000000ffffull);
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_LINUX64, 3), 0x00cf93000000ffffull);
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_PVH32, 3), 0x00cf93000000ffffull);
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_LINUX64, 4), 0x00008b0000000067ull);
	ck_assert_uint_eq(cpu__gdt_entry(BOOT_PVH32, 5), 0);
}
END_TEST

START_TEST(test_segment_from_long_mode_code_descriptor)
{
	struct kvm_segment s;

	cpu__segment_from_gdt(cpu__gdt_entry(BOOT_LINUX64, 2), GDT_SEL_CODE, &s);
	ck_assert_uint_eq(s.base, 0);
	ck_assert_uint_eq(s.limit, 0xffffffff);
	ck_assert_uint_eq(s.selector, 0x10);
	ck_assert_uint_eq(s.type, 0xb);
	ck_assert_uint_eq(s.s, 1);
	ck_assert_uint_eq(s.dpl, 0);
	ck_assert_uint_eq(s.present, 1);
	ck_assert_uint_eq(s.l, 1);
	ck_assert_uint_eq(s.db, 0);
	ck_assert_uint_eq(s.g, 1);
	ck_assert_uint_eq(s.avl, 0);
	ck_assert_uint_eq(s.unusable, 0);
}
END_TEST

START_TEST(test_segment_from_32bit_code_and_data_descriptors)
{
	struct kvm_segment s;

	cpu__segment_from_gdt(cpu__gdt_entry(BOOT_PVH32, 2), GDT_SEL_CODE, &s);
	ck_assert_uint_eq(s.l, 0);
	ck_assert_uint_eq(s.db, 1);
	ck_assert_uint_eq(s.type, 0xb);
	ck_assert_uint_eq(s.limit, 0xffffffff);
	cpu__segment_from_gdt(cpu__gdt_entry(BOOT_PVH32, 3), GDT_SEL_DATA, &s);
	ck_assert_uint_eq(s.selector, 0x18);
	ck_assert_uint_eq(s.type, 0x3);
	ck_assert_uint_eq(s.s, 1);
	ck_assert_uint_eq(s.db, 1);
	ck_assert_uint_eq(s.l, 0);
	ck_assert_uint_eq(s.g, 1);
	ck_assert_uint_eq(s.present, 1);
}
END_TEST

START_TEST(test_segment_from_tss_descriptor_is_byte_granular)
{
	struct kvm_segment s;

	cpu__segment_from_gdt(cpu__gdt_entry(BOOT_LINUX64, 4), GDT_SEL_TSS, &s);
	ck_assert_uint_eq(s.type, 0xb);
	ck_assert_uint_eq(s.s, 0);
	ck_assert_uint_eq(s.g, 0);
	ck_assert_uint_eq(s.limit, 0x67);
	ck_assert_uint_eq(s.present, 1);
	ck_assert_uint_eq(s.selector, 0x20);
}
END_TEST

START_TEST(test_segment_base_limit_dpl_and_unusable_bits)
{
	/* base 0x12345678, limit 0x54321 (bytes), DPL 3, AVL, not present, data RW. */
	uint64_t desc = 0x12ull << 56 | 0x1ull << 52 | 0x5ull << 48 | 0x3ull << 45 | 0x1ull << 44 |
			0x2ull << 40 | 0x345678ull << 16 | 0x4321;
	struct kvm_segment s;

	cpu__segment_from_gdt(desc, 0x2b, &s);
	ck_assert_uint_eq(s.base, 0x12345678);
	ck_assert_uint_eq(s.limit, 0x54321);
	ck_assert_uint_eq(s.g, 0);
	ck_assert_uint_eq(s.dpl, 3);
	ck_assert_uint_eq(s.avl, 1);
	ck_assert_uint_eq(s.type, 2);
	ck_assert_uint_eq(s.present, 0);
	ck_assert_uint_eq(s.unusable, 1);
	ck_assert_uint_eq(s.selector, 0x2b);
}
END_TEST

START_TEST(test_boot_sregs_for_long_mode)
{
	struct kvm_sregs sr;

	memset(&sr, 0x5a, sizeof(sr));
	cpu__boot_sregs(BOOT_LINUX64, &sr);
	ck_assert_uint_eq(sr.cr0, 0x80000031); /* PG | NE | ET | PE */
	ck_assert_uint_eq(sr.cr3, LAYOUT_PML4);
	ck_assert_uint_eq(sr.cr4, 0x20);   /* PAE */
	ck_assert_uint_eq(sr.efer, 0x500); /* LMA | LME */
	ck_assert_uint_eq(sr.cs.l, 1);
	ck_assert_uint_eq(sr.cs.db, 0);
	ck_assert_uint_eq(sr.cs.selector, GDT_SEL_CODE);
	ck_assert_uint_eq(sr.ds.selector, GDT_SEL_DATA);
	ck_assert_uint_eq(sr.es.selector, GDT_SEL_DATA);
	ck_assert_uint_eq(sr.fs.selector, GDT_SEL_DATA);
	ck_assert_uint_eq(sr.gs.selector, GDT_SEL_DATA);
	ck_assert_uint_eq(sr.ss.selector, GDT_SEL_DATA);
	ck_assert_uint_eq(sr.ss.type, 3);
	ck_assert_uint_eq(sr.tr.selector, GDT_SEL_TSS);
	ck_assert_uint_eq(sr.tr.type, 0xb);
	ck_assert_uint_eq(sr.gdt.base, LAYOUT_GDT);
	ck_assert_uint_eq(sr.gdt.limit, GDT_ENTRIES * 8 - 1);
	ck_assert_uint_eq(sr.idt.base, 0);
	ck_assert_uint_eq(sr.idt.limit, 0);
}
END_TEST

START_TEST(test_boot_sregs_for_pvh_protected_mode)
{
	struct kvm_sregs sr;

	memset(&sr, 0x5a, sizeof(sr));
	cpu__boot_sregs(BOOT_PVH32, &sr);
	ck_assert_uint_eq(sr.cr0, 0x31); /* NE | ET | PE, paging off */
	ck_assert_uint_eq(sr.cr3, 0);
	ck_assert_uint_eq(sr.cr4, 0);
	ck_assert_uint_eq(sr.efer, 0);
	ck_assert_uint_eq(sr.cs.l, 0);
	ck_assert_uint_eq(sr.cs.db, 1);
	ck_assert_uint_eq(sr.cs.selector, GDT_SEL_CODE);
	ck_assert_uint_eq(sr.ds.selector, GDT_SEL_DATA);
	ck_assert_uint_eq(sr.ds.db, 1);
	ck_assert_uint_eq(sr.gdt.base, LAYOUT_GDT);
}
END_TEST

START_TEST(test_boot_regs_linux64_pass_boot_params_in_rsi)
{
	struct boot_entry e = { BOOT_LINUX64, 0x100200, LAYOUT_BOOT_PARAMS };
	struct kvm_regs r;

	memset(&r, 0x5a, sizeof(r));
	cpu__boot_regs(&e, &r);
	ck_assert_uint_eq(r.rip, 0x100200);
	ck_assert_uint_eq(r.rsi, LAYOUT_BOOT_PARAMS);
	ck_assert_uint_eq(r.rbx, 0);
	ck_assert_uint_eq(r.rsp, BOOT_STACK);
	ck_assert_uint_eq(r.rflags, 2);
	ck_assert_uint_eq(r.rax, 0);
	ck_assert_uint_eq(r.rbp, 0);
}
END_TEST

START_TEST(test_boot_regs_pvh_pass_start_info_in_rbx)
{
	struct boot_entry e = { BOOT_PVH32, 0x1000020, LAYOUT_PVH_INFO };
	struct kvm_regs r;

	memset(&r, 0x5a, sizeof(r));
	cpu__boot_regs(&e, &r);
	ck_assert_uint_eq(r.rip, 0x1000020);
	ck_assert_uint_eq(r.rbx, LAYOUT_PVH_INFO);
	ck_assert_uint_eq(r.rsi, 0);
	ck_assert_uint_eq(r.rsp, BOOT_STACK);
	ck_assert_uint_eq(r.rflags, 2);
}
END_TEST

/* ---- boot tables in guest memory ---- */

START_TEST(test_boot_tables_long_mode_identity_map_4g)
{
	struct guest g;
	const uint64_t *gdt, *pml4, *pdpt, *pd;

	small_guest_init(&g, MiB);
	ck_assert_int_eq(cpu__write_boot_tables(&g.m, BOOT_LINUX64), 0);
	gdt = (const void *)(g.buf + LAYOUT_GDT);
	for (unsigned int i = 0; i < GDT_ENTRIES; i++)
		ck_assert_uint_eq(gdt[i], cpu__gdt_entry(BOOT_LINUX64, i));
	pml4 = (const void *)(g.buf + LAYOUT_PML4);
	pdpt = (const void *)(g.buf + LAYOUT_PDPT);
	pd = (const void *)(g.buf + LAYOUT_PD);
	ck_assert_uint_eq(pml4[0], 0xa003);
	for (unsigned int i = 1; i < 512; i++)
		ck_assert_uint_eq(pml4[i], 0);
	ck_assert_uint_eq(pdpt[0], 0xb003);
	ck_assert_uint_eq(pdpt[1], 0xc003);
	ck_assert_uint_eq(pdpt[2], 0xd003);
	ck_assert_uint_eq(pdpt[3], 0xe003);
	for (unsigned int i = 4; i < 512; i++)
		ck_assert_uint_eq(pdpt[i], 0);
	for (uint64_t i = 0; i < 2048; i++)
		ck_assert_uint_eq(pd[i], (i << 21) | 0x83);
	ck_assert_uint_eq(pd[2047], 0xffe00083ull);
	/* The page after the four page directories is left alone. */
	ck_assert_uint_eq(g.buf[LAYOUT_PD + 4 * 4096], 0xaa);
	guest_free(&g);
}
END_TEST

START_TEST(test_boot_tables_pvh_write_only_the_gdt)
{
	struct guest g;
	const uint64_t *gdt;

	small_guest_init(&g, MiB);
	ck_assert_int_eq(cpu__write_boot_tables(&g.m, BOOT_PVH32), 0);
	gdt = (const void *)(g.buf + LAYOUT_GDT);
	ck_assert_uint_eq(gdt[2], 0x00cf9b000000ffffull);
	ck_assert_uint_eq(gdt[3], 0x00cf93000000ffffull);
	ck_assert_uint_eq(g.buf[LAYOUT_PML4], 0xaa);
	ck_assert_uint_eq(g.buf[LAYOUT_PD], 0xaa);
	guest_free(&g);
}
END_TEST

START_TEST(test_boot_tables_without_room_for_page_tables_is_efault)
{
	struct guest g;

	small_guest_init(&g, 0x9000);
	ck_assert_int_eq(cpu__write_boot_tables(&g.m, BOOT_LINUX64), -EFAULT);
	ck_assert_int_eq(cpu__write_boot_tables(&g.m, BOOT_PVH32), 0);
	guest_free(&g);
	small_guest_init(&g, 0x400);
	ck_assert_int_eq(cpu__write_boot_tables(&g.m, BOOT_PVH32), -EFAULT);
	guest_free(&g);
}
END_TEST

/* ---- CPUID ---- */

static struct kvm_cpuid2 *make_cpuid(void)
{
	static const struct kvm_cpuid_entry2 entries[] = {
		{ .function = 0, .eax = 0x1f, .ebx = 0x756e6547 },
		{ .function = 1, .eax = 0x906ea, .ebx = 0xaabb0800, .ecx = 0x1, .edx = 0x1 },
		{ .function = 4, .index = 0, .eax = 0xfc004121 },
		{ .function = 0xb, .index = 0, .eax = 9, .ebx = 9, .ecx = 9, .edx = 9 },
		{ .function = 0xb, .index = 1, .eax = 9, .ebx = 9, .ecx = 9, .edx = 9 },
		{ .function = 0xb, .index = 2, .eax = 9, .ebx = 9, .ecx = 9, .edx = 9 },
		{ .function = 0x1f, .index = 1, .eax = 9, .ebx = 9, .ecx = 9, .edx = 9 },
	};
	/* Static storage: a failing assertion must not leak it. */
	static _Alignas(struct kvm_cpuid2) uint8_t raw[sizeof(struct kvm_cpuid2) + sizeof(entries)];
	struct kvm_cpuid2 *c = (struct kvm_cpuid2 *)raw;

	memset(raw, 0, sizeof(raw));
	c->nent = sizeof(entries) / sizeof(entries[0]);
	memcpy(c->entries, entries, sizeof(entries));
	return c;
}

START_TEST(test_cpuid_leaf1_has_apic_id_and_logical_count)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpu__cpuid_fixup(c, 3, 4);
	ck_assert_uint_eq(c->entries[1].ebx, 0x03040800);
	ck_assert_uint_eq(c->entries[1].edx, 0x1 | 1u << 28);
	ck_assert_uint_eq(c->entries[1].ecx, 0x1 | 1u << 31);
	ck_assert_uint_eq(c->entries[1].eax, 0x906ea);
	/* Leaf 0 is left alone. */
	ck_assert_uint_eq(c->entries[0].eax, 0x1f);
	ck_assert_uint_eq(c->entries[0].ebx, 0x756e6547);
}
END_TEST

START_TEST(test_cpuid_single_cpu_has_no_htt)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpu__cpuid_fixup(c, 0, 1);
	ck_assert_uint_eq(c->entries[1].ebx, 0x00010800);
	ck_assert_uint_eq(c->entries[1].edx, 0x1);
	ck_assert_uint_eq(c->entries[2].eax, 0x00004121);
	ck_assert_uint_eq(c->entries[4].eax, 0);
	ck_assert_uint_eq(c->entries[4].ebx, 1);
}
END_TEST

START_TEST(test_cpuid_leaf4_counts_cores_per_package)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpu__cpuid_fixup(c, 1, 4);
	ck_assert_uint_eq(c->entries[2].eax, 0x00004121 | 3u << 26);
}
END_TEST

START_TEST(test_cpuid_leaf4_core_count_saturates_above_64_cpus)
{
	struct kvm_cpuid2 *c = make_cpuid();

	/* EAX[31:26] is six bits: 100 vCPUs must not wrap to 36 cores. */
	cpu__cpuid_fixup(c, 1, 100);
	ck_assert_uint_eq(c->entries[2].eax >> 26, 63);
	ck_assert_uint_eq(c->entries[2].eax & 0x03ffffff, 0x00004121);
}
END_TEST

START_TEST(test_cpuid_leaf_b_x2apic_id_and_level_counts)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpu__cpuid_fixup(c, 3, 5);
	/* Level 0: SMT, one thread per core. */
	ck_assert_uint_eq(c->entries[3].eax, 0);
	ck_assert_uint_eq(c->entries[3].ebx, 1);
	ck_assert_uint_eq(c->entries[3].ecx, 0x100);
	ck_assert_uint_eq(c->entries[3].edx, 3);
	/* Level 1: cores, 5 of them, 3 bits of APIC id. */
	ck_assert_uint_eq(c->entries[4].eax, 3);
	ck_assert_uint_eq(c->entries[4].ebx, 5);
	ck_assert_uint_eq(c->entries[4].ecx, 0x201);
	ck_assert_uint_eq(c->entries[4].edx, 3);
	/* Level 2: invalid, but it still reports the x2APIC id. */
	ck_assert_uint_eq(c->entries[5].eax, 0);
	ck_assert_uint_eq(c->entries[5].ebx, 0);
	ck_assert_uint_eq(c->entries[5].ecx, 2);
	ck_assert_uint_eq(c->entries[5].edx, 3);
	/* Leaf 0x1f is treated like 0xb. */
	ck_assert_uint_eq(c->entries[6].eax, 3);
	ck_assert_uint_eq(c->entries[6].ebx, 5);
	ck_assert_uint_eq(c->entries[6].edx, 3);
}
END_TEST

START_TEST(test_cpuid_power_of_two_cpu_count_shift)
{
	struct kvm_cpuid2 *c = make_cpuid();

	cpu__cpuid_fixup(c, 7, 8);
	ck_assert_uint_eq(c->entries[4].eax, 3);
	ck_assert_uint_eq(c->entries[4].ebx, 8);
	ck_assert_uint_eq(c->entries[1].ebx >> 24, 7);
}
END_TEST

/* ---- guest memory bounds ---- */

START_TEST(test_guest_mem_ptr_low_ram_bounds)
{
	static uint8_t buf[64 * 1024];
	struct guest_mem m;
	uint8_t src[4] = { 1, 2, 3, 4 };

	guest_mem__init_buffer(&m, buf, sizeof(buf));
	ck_assert_uint_eq(m.low_size, sizeof(buf));
	ck_assert_int_eq(m.fd, -1);
	ck_assert_uint_eq(guest_mem__low_end(&m), sizeof(buf));
	ck_assert_ptr_eq(guest_mem__ptr(&m, 0, sizeof(buf)), buf);
	ck_assert_ptr_eq(guest_mem__ptr(&m, 0xffff, 1), buf + 0xffff);
	ck_assert_ptr_eq(guest_mem__ptr(&m, 0x1000, 0), buf + 0x1000);
	ck_assert_ptr_null(guest_mem__ptr(&m, 0xffff, 2));
	ck_assert_ptr_null(guest_mem__ptr(&m, 0x10000, 1));
	ck_assert_ptr_null(guest_mem__ptr(&m, 0x1000, UINT64_MAX));
	ck_assert_ptr_null(guest_mem__ptr(&m, UINT64_MAX, 1));
	ck_assert_ptr_null(guest_mem__ptr(&m, LAYOUT_HIGH_RAM, 1));
	ck_assert_int_eq(guest_mem__write(&m, 0xfffc, src, 4), 0);
	ck_assert_mem_eq(buf + 0xfffc, src, 4);
	ck_assert_int_eq(guest_mem__write(&m, 0xfffd, src, 4), -EFAULT);
}
END_TEST

START_TEST(test_guest_mem_ptr_hole_and_high_ram)
{
	/* Address space only: guest_mem__ptr never touches the memory. */
	uint64_t size = 6 * GiB;
	uint8_t *host =
		mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct guest_mem m;

	ck_assert_ptr_ne(host, MAP_FAILED);
	guest_mem__init_buffer(&m, host, size);
	ck_assert_uint_eq(m.low_size, 3 * GiB);
	ck_assert_ptr_eq(guest_mem__ptr(&m, 3 * GiB - 1, 1), host + 3 * GiB - 1);
	ck_assert_ptr_null(guest_mem__ptr(&m, 3 * GiB - 1, 2));
	ck_assert_ptr_null(guest_mem__ptr(&m, 3 * GiB, 1));
	ck_assert_ptr_null(guest_mem__ptr(&m, LAYOUT_IOAPIC, 4));
	ck_assert_ptr_null(guest_mem__ptr(&m, 4 * GiB - 1, 1));
	ck_assert_ptr_eq(guest_mem__ptr(&m, 4 * GiB, 1), host + 3 * GiB);
	ck_assert_ptr_eq(guest_mem__ptr(&m, 4 * GiB, 3 * GiB), host + 3 * GiB);
	ck_assert_ptr_eq(guest_mem__ptr(&m, 7 * GiB - 1, 1), host + 6 * GiB - 1);
	ck_assert_ptr_null(guest_mem__ptr(&m, 7 * GiB - 1, 2));
	ck_assert_ptr_null(guest_mem__ptr(&m, 7 * GiB, 1));
	ck_assert_ptr_null(guest_mem__ptr(&m, 4 * GiB + 1, UINT64_MAX));
	ck_assert_ptr_null(guest_mem__ptr(&m, UINT64_MAX, 1));
	munmap(host, size);
}
END_TEST

START_TEST(test_guest_mem_destroy_of_buffer_leaves_it_alone)
{
	uint8_t *buf = malloc(4096);
	struct guest_mem m;

	buf[0] = 0x42;
	guest_mem__init_buffer(&m, buf, 4096);
	guest_mem__destroy(&m);
	ck_assert_ptr_null(m.host);
	ck_assert_int_eq(m.fd, -1);
	ck_assert_uint_eq(buf[0], 0x42);
	free(buf);
}
END_TEST

Suite *cpu_suite(void)
{
	Suite *s = suite_create("cpu and memory");
	TCase *tc = tcase_create("registers");

	tcase_add_test(tc, test_gdt_entries_for_each_mode);
	tcase_add_test(tc, test_segment_from_long_mode_code_descriptor);
	tcase_add_test(tc, test_segment_from_32bit_code_and_data_descriptors);
	tcase_add_test(tc, test_segment_from_tss_descriptor_is_byte_granular);
	tcase_add_test(tc, test_segment_base_limit_dpl_and_unusable_bits);
	tcase_add_test(tc, test_boot_sregs_for_long_mode);
	tcase_add_test(tc, test_boot_sregs_for_pvh_protected_mode);
	tcase_add_test(tc, test_boot_regs_linux64_pass_boot_params_in_rsi);
	tcase_add_test(tc, test_boot_regs_pvh_pass_start_info_in_rbx);
	suite_add_tcase(s, tc);

	tc = tcase_create("boot tables");
	tcase_add_test(tc, test_boot_tables_long_mode_identity_map_4g);
	tcase_add_test(tc, test_boot_tables_pvh_write_only_the_gdt);
	tcase_add_test(tc, test_boot_tables_without_room_for_page_tables_is_efault);
	suite_add_tcase(s, tc);

	tc = tcase_create("cpuid");
	tcase_add_test(tc, test_cpuid_leaf1_has_apic_id_and_logical_count);
	tcase_add_test(tc, test_cpuid_single_cpu_has_no_htt);
	tcase_add_test(tc, test_cpuid_leaf4_counts_cores_per_package);
	tcase_add_test(tc, test_cpuid_leaf4_core_count_saturates_above_64_cpus);
	tcase_add_test(tc, test_cpuid_leaf_b_x2apic_id_and_level_counts);
	tcase_add_test(tc, test_cpuid_power_of_two_cpu_count_shift);
	suite_add_tcase(s, tc);

	tc = tcase_create("guest_mem");
	tcase_add_test(tc, test_guest_mem_ptr_low_ram_bounds);
	tcase_add_test(tc, test_guest_mem_ptr_hole_and_high_ram);
	tcase_add_test(tc, test_guest_mem_destroy_of_buffer_leaves_it_alone);
	suite_add_tcase(s, tc);
	return s;
}
