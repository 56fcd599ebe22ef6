// SPDX-License-Identifier: MIT
/*
 * Fuzz target: guest/core's FDT reader (rc_fdt.c) and the inventory parser
 * on top of it (rc_inventory.c), which a guest runs on the host's hardware
 * description. The blob is an exact-length heap copy so ASan sees any read
 * past it. Whatever the reader accepts, every name and value it hands out
 * must lie inside the blob; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rc_fdt.h"
#include "rc_inventory.h"

#define WALK_DEPTH 20 /* deeper than the reader allows, to check its limit */

static const char *const prop_names[] = { "compatible",
					  "reg",
					  "#address-cells",
					  "accord,bdf",
					  "accord,online",
					  "accord,size",
					  "accord,granule",
					  "accord,memory-max",
					  "" };

static void inside(const struct rc_fdt *f, const void *p, uint32_t len)
{
	const uint8_t *b = p;

	if (b < f->blob || b + len > f->blob + f->size)
		abort();
}

static void walk(const struct rc_fdt *f, int node, unsigned int depth)
{
	const char *name, *s;
	const void *val;
	uint32_t len, u32;
	uint64_t u64;
	int child;

	if (depth > WALK_DEPTH)
		return;
	if (!rc_fdt_get_name(f, node, &name, &len))
		inside(f, name, len);
	for (unsigned int i = 0; i < sizeof(prop_names) / sizeof(prop_names[0]); i++) {
		if (!rc_fdt_getprop(f, node, prop_names[i], &val, &len))
			inside(f, val, len);
		if (!rc_fdt_prop_string(f, node, prop_names[i], &s, &len))
			inside(f, s, len + 1);
		(void)rc_fdt_prop_u32(f, node, prop_names[i], &u32);
		(void)rc_fdt_prop_u64(f, node, prop_names[i], &u64);
		(void)rc_fdt_prop_has_string(f, node, prop_names[i], "accord,resource");
	}
	(void)rc_fdt_subnode(f, node, "cpus");
	(void)rc_fdt_subnode(f, node, "cpu@0");
	rc_fdt_for_each_subnode(child, f, node)
		walk(f, child, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rc_inventory inv; /* 29 KiB: not on the stack */
	struct rc_fdt f;
	uint8_t *blob = malloc(size ? size : 1);

	if (!blob)
		abort();
	memcpy(blob, data, size);
	if (rc_fdt_check(blob, size) != rc_fdt_init(&f, blob, size))
		abort();
	if (!rc_fdt_init(&f, blob, size)) {
		if (f.size > size)
			abort();
		walk(&f, rc_fdt_root(&f), 0);
	}
	(void)rc_inventory_parse(&inv, blob, size);
	free(blob);
	return 0;
}
