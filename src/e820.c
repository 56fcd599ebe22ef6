// SPDX-License-Identifier: MIT
#include "accord/e820.h"
#include "accord/layout.h"

static void e820__add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size && map->nr < E820_MAX)
		map->r[map->nr++] = (struct e820_range){ addr, size, type };
}

void e820__build(uint64_t mem_size, struct e820_map *map)
{
	uint64_t low_end = mem_size < LAYOUT_MMIO_HOLE ? mem_size : LAYOUT_MMIO_HOLE;

	map->nr = 0;
	/* Base memory up to the EBDA, which holds the MP table. */
	e820__add(map, 0, LAYOUT_EBDA, E820_RAM);
	/* EBDA, VGA window and BIOS area: backed by RAM but not the guest's to use. */
	e820__add(map, LAYOUT_EBDA, LAYOUT_BIOS_END - LAYOUT_EBDA, E820_RESERVED);
	if (low_end > LAYOUT_HIMEM)
		e820__add(map, LAYOUT_HIMEM, low_end - LAYOUT_HIMEM, E820_RAM);
	if (mem_size > low_end)
		e820__add(map, LAYOUT_HIGH_RAM, mem_size - low_end, E820_RAM);
}

uint64_t e820__ram_total(const struct e820_map *map)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < map->nr; i++) {
		if (map->r[i].type == E820_RAM)
			total += map->r[i].size;
	}
	return total;
}
