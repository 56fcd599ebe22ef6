// SPDX-License-Identifier: MIT
/*
 * Memory map checks: the map itself (present, sorted, no overlaps, no RAM in
 * the legacy 0xa0000-0xfffff hole, the probe's image inside RAM), that RAM is
 * backed where the map says (the last 8 bytes of every RAM range hold a
 * written value) and not past it, and optionally its total size.
 */
#include "probe.h"

#define LEGACY_HOLE_START 0xa0000UL
#define LEGACY_HOLE_END	  0x100000UL
#define LOW_MEM_END	  0x100000UL

#define PATTERN 0xa5c35a3c0f1e2d4bUL

static uint64_t range_end(const struct memrange *r)
{
	return r->addr + r->size;
}

/* Is [addr, addr + len) covered by RAM ranges (possibly several)? */
bool mem_is_ram(const struct bootinfo *bi, uint64_t addr, uint64_t len)
{
	uint64_t cur = addr, end = addr + len;

	while (cur < end) {
		unsigned int i;

		for (i = 0; i < bi->nr_mem; i++) {
			const struct memrange *r = &bi->mem[i];

			if (r->type == E820_RAM && r->addr <= cur && cur < range_end(r))
				break;
		}
		if (i == bi->nr_mem)
			return false;
		cur = range_end(&bi->mem[i]);
	}
	return true;
}

/* Empty entries are ignored; the rest must be sorted and must not overlap. */
static void check_map(const struct bootinfo *bi)
{
	const struct memrange *prev = NULL;
	const char *problem = NULL;
	unsigned int empty = 0;
	uint64_t at = 0;

	if (!bi->nr_mem)
		problem = "no memory map";
	else if (bi->mem_truncated)
		problem = "more entries than the probe reads";
	for (unsigned int i = 0; !problem && i < bi->nr_mem; i++) {
		const struct memrange *r = &bi->mem[i];

		at = r->addr;
		if (!r->size) {
			empty++;
			continue;
		}
		if (range_end(r) < r->addr)
			problem = "range wraps at";
		else if (prev && r->addr < prev->addr)
			problem = "not sorted at";
		else if (prev && r->addr < range_end(prev))
			problem = "overlap at";
		prev = r;
	}
	if (problem)
		check("memmap", false, "%s 0x%lx", problem, at);
	else
		check("memmap", true, "%u entries, sorted, no overlaps%s", bi->nr_mem,
		      empty ? ", empty entries ignored" : "");
}

static void check_legacy_hole(const struct bootinfo *bi)
{
	for (unsigned int i = 0; i < bi->nr_mem; i++) {
		const struct memrange *r = &bi->mem[i];

		if (r->type == E820_RAM && r->addr < LEGACY_HOLE_END &&
		    range_end(r) > LEGACY_HOLE_START) {
			check("memmap-legacy-hole", false,
			      "ram 0x%lx-0x%lx overlaps 0xa0000-0xfffff", r->addr,
			      range_end(r) - 1);
			return;
		}
	}
	check("memmap-legacy-hole", true, "0xa0000-0xfffff is not ram");
}

static void check_image(const struct bootinfo *bi)
{
	uint64_t start = (uintptr_t)__image_start, end = (uintptr_t)__image_end;

	check("memmap-image", mem_is_ram(bi, start, end - start), "image 0x%lx-0x%lx %s", start,
	      end - 1, mem_is_ram(bi, start, end - start) ? "in ram" : "not in ram");
}

/* Write a value at addr and read it back; the old value is restored. */
static bool reads_back(uint64_t addr, uint64_t *seen)
{
	volatile uint64_t *p = phys(addr);
	uint64_t old = *p, want = PATTERN ^ addr;

	*p = want;
	*seen = *p;
	*p = old;
	return *seen == want;
}

static void check_backing(const struct bootinfo *bi)
{
	unsigned int tested = 0, bad = 0;
	uint64_t top = 0, bad_addr = 0, seen = 0;
	bool backed;

	for (unsigned int i = 0; i < bi->nr_mem; i++) {
		const struct memrange *r = &bi->mem[i];
		uint64_t a = range_end(r) - 8;

		if (r->type != E820_RAM || r->size < 8)
			continue;
		if (range_end(r) > top)
			top = range_end(r);
		tested++;
		if (!paging_map(a, 8, false) || !reads_back(a, &seen)) {
			if (!bad++)
				bad_addr = a;
		}
	}
	if (bad)
		check("mem-readback", false, "%u of %u ram ranges fail, first at 0x%lx", bad,
		      tested, bad_addr);
	else
		check("mem-readback", tested > 0, "last 8 bytes of %u ram ranges read back",
		      tested);

	if (!top) {
		check("mem-unbacked", false, "no ram in the map");
		return;
	}
	/* The first address past the highest RAM range that no map entry covers
	 * (a reserved range right after RAM may well be backed). */
	for (bool moved = true; moved;) {
		moved = false;
		for (unsigned int i = 0; i < bi->nr_mem; i++) {
			if (bi->mem[i].addr <= top && top < range_end(&bi->mem[i])) {
				top = range_end(&bi->mem[i]);
				moved = true;
			}
		}
	}
	if (!paging_map(top, 8, true)) {
		check("mem-unbacked", false, "cannot map 0x%lx", top);
		return;
	}
	backed = reads_back(top, &seen);
	check("mem-unbacked", !backed, "write at 0x%lx (end of map) read back 0x%lx", top, seen);
}

/*
 * expect-mem=SIZE: the RAM the VMM was given, as the map describes it. The
 * rule: the sizes of all RAM ranges, plus the parts of non-RAM ranges that
 * lie below 1 MiB, must add up to SIZE. A VMM keeps the low MiB as guest
 * memory but reports its top (EBDA, BIOS area) as reserved, e.g. RAM
 * 0-0x9fc00 and reserved 0x9fc00-0x100000; the legacy hole missing from a
 * map is not counted. Above 1 MiB, only RAM ranges count.
 */
static void check_size(const struct bootinfo *bi, uint64_t expect)
{
	uint64_t ram = 0, low = 0;

	for (unsigned int i = 0; i < bi->nr_mem; i++) {
		const struct memrange *r = &bi->mem[i];

		if (r->type == E820_RAM)
			ram += r->size;
		else if (r->addr < LOW_MEM_END)
			low += (range_end(r) < LOW_MEM_END ? range_end(r) : LOW_MEM_END) - r->addr;
	}
	check("mem-size", ram + low == expect,
	      "ram 0x%lx + reserved below 1 MiB 0x%lx = 0x%lx, expected 0x%lx", ram, low, ram + low,
	      expect);
}

void memcheck_run(const struct bootinfo *bi, const struct options *opt)
{
	check_map(bi);
	check_legacy_hole(bi);
	check_image(bi);
	check_backing(bi);
	if (opt->has_expect_mem)
		check_size(bi, opt->expect_mem);
}
