/* SPDX-License-Identifier: MIT */
/*
 * guest/core FDT reader: a small read-only flattened-device-tree parser
 * (Linux modules on x86 cannot use libfdt). The blob comes from the other
 * side and is untrusted.
 *
 * rc_fdt_init() validates the header and walks the whole structure block
 * once: balanced BEGIN_NODE/END_NODE, a single root, properties only inside
 * nodes and before their subnodes, every property value and name in bounds,
 * NUL-terminated names, nesting at most RC_FDT_MAX_DEPTH, an END token.
 * It records the block bounds in struct rc_fdt, and every later call checks
 * against those recorded bounds again (never against the blob's header), so
 * even a blob that changes after rc_fdt_init() cannot make a call read
 * outside [blob, blob + len).
 *
 * Node offsets are ints >= 0 that the reader handed out (offsets of
 * BEGIN_NODE tokens inside the structure block); anything else is refused
 * with RC_EINVAL. Functions returning a node offset return it, or a
 * negative RC_E* code (RC_ENOENT when there is no such node). Values are
 * big-endian, as in every FDT.
 */
#ifndef ACCORD_GUEST_CORE_RC_FDT_H
#define ACCORD_GUEST_CORE_RC_FDT_H

#include "rc_types.h"

#define RC_FDT_MAGIC	 0xd00dfeedu
#define RC_FDT_MAX_DEPTH 16 /* nodes open at once, the root included */

struct rc_fdt {
	const uint8_t *blob;
	uint32_t size;	     /* totalsize, no more than the buffer */
	uint32_t struct_off; /* the structure block, inside size */
	uint32_t struct_size;
	uint32_t strings_off; /* the strings block, inside size */
	uint32_t strings_size;
	uint32_t root; /* the root node's offset */
};

/* Check the blob and fill *f. len is the buffer's size. */
int rc_fdt_init(struct rc_fdt *f, const void *blob, size_t len);
/* The same checks without keeping a context. */
int rc_fdt_check(const void *blob, size_t len);

int rc_fdt_root(const struct rc_fdt *f);
int rc_fdt_first_subnode(const struct rc_fdt *f, int parent);
int rc_fdt_next_subnode(const struct rc_fdt *f, int node);
/*
 * The child called name: an exact match, or, when name has no '@', also a
 * child called "name@<unit-address>" (the first one).
 */
int rc_fdt_subnode(const struct rc_fdt *f, int parent, const char *name);

/* The node's name (without NUL; "" for the root). */
int rc_fdt_get_name(const struct rc_fdt *f, int node, const char **name, uint32_t *len);

/* A property's value and length; RC_ENOENT when the node has none of that name. */
int rc_fdt_getprop(const struct rc_fdt *f, int node, const char *name, const void **val,
		   uint32_t *len);
/* One cell (exactly 4 bytes) or two cells, high first (exactly 8); else RC_EMALFORMED. */
int rc_fdt_prop_u32(const struct rc_fdt *f, int node, const char *name, uint32_t *v);
int rc_fdt_prop_u64(const struct rc_fdt *f, int node, const char *name, uint64_t *v);
/* One NUL-terminated string with no NUL inside; *len excludes the NUL. */
int rc_fdt_prop_string(const struct rc_fdt *f, int node, const char *name, const char **s,
		       uint32_t *len);
/* 0 if the string-list property name contains str, RC_ENOENT if not. */
int rc_fdt_prop_has_string(const struct rc_fdt *f, int node, const char *name, const char *str);

#define rc_fdt_for_each_subnode(node, f, parent)                        \
	for ((node) = rc_fdt_first_subnode((f), (parent)); (node) >= 0; \
	     (node) = rc_fdt_next_subnode((f), (node)))

#endif /* ACCORD_GUEST_CORE_RC_FDT_H */
