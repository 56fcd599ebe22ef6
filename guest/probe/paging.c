// SPDX-License-Identifier: MIT
/*
 * Identity mappings beyond the first GiB (which start.S maps up front), made
 * on demand with 2 MiB pages from a small static pool of page tables. The
 * probe calls paging_map() before it touches an address; nothing is mapped
 * that it does not use, which keeps the work at CPL0 small.
 */
#include "probe.h"

#define PTE_P	 0x001UL
#define PTE_W	 0x002UL
#define PTE_U	 0x004UL /* CPL 3 too (user.c) */
#define PTE_PWT	 0x008UL
#define PTE_PCD	 0x010UL
#define PTE_PS	 0x080UL
#define PTE_ADDR 0x000ffffffffff000UL

#define PAGE_2M	   (1UL << 21)
#define POOL_PAGES 16
/* The lower half of a 48-bit address space: identity maps stay canonical. */
#define MAP_LIMIT (1UL << 47)

static uint64_t pool[POOL_PAGES][512] __attribute__((aligned(4096), section(".noinit")));
static unsigned int pool_used;

static uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

/* The table that entry idx of table points to, allocated if absent. */
static uint64_t *next_table(uint64_t *table, unsigned int idx)
{
	uint64_t *t;

	if (!(table[idx] & PTE_P)) {
		if (pool_used == POOL_PAGES)
			return NULL;
		t = pool[pool_used++];
		memset(t, 0, 4096);
		table[idx] = (uintptr_t)t | PTE_P | PTE_W | PTE_U;
	}
	if (table[idx] & PTE_PS)
		return NULL;
	return phys(table[idx] & PTE_ADDR);
}

bool paging_map(uint64_t addr, uint64_t len, bool uncached)
{
	uint64_t *pml4 = phys(read_cr3() & PTE_ADDR);
	uint64_t a, end = addr + (len ? len : 1);

	if (end < addr || end > MAP_LIMIT)
		return false;
	for (a = addr & ~(PAGE_2M - 1); a < end; a += PAGE_2M) {
		uint64_t *pdpt, *pd, *pde;

		pdpt = next_table(pml4, (a >> 39) & 511);
		if (!pdpt)
			return false;
		pd = next_table(pdpt, (a >> 30) & 511);
		if (!pd)
			return false;
		pde = &pd[(a >> 21) & 511];
		if (*pde & PTE_P)
			continue;
		*pde = a | PTE_P | PTE_W | PTE_U | PTE_PS | (uncached ? PTE_PCD | PTE_PWT : 0);
		__asm__ volatile("invlpg (%0)" : : "r"(a) : "memory");
	}
	return true;
}
