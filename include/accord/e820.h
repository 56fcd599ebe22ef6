/* SPDX-License-Identifier: MIT */
#ifndef ACCORD_E820_H
#define ACCORD_E820_H

#include <stdint.h>

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_MAX      8

struct e820_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct e820_map {
	unsigned int nr;
	struct e820_range r[E820_MAX];
};

/* The memory map of a guest with @mem_size bytes of RAM (see layout.h). */
void e820__build(uint64_t mem_size, struct e820_map *map);
uint64_t e820__ram_total(const struct e820_map *map);

#endif
