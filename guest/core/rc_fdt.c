// SPDX-License-Identifier: MIT
/*
 * guest/core FDT reader (see rc_fdt.h). Layout (devicetree specification
 * v0.4, chapter 5): a 40-byte big-endian header, the memory reservation
 * map, the structure block (4-byte tokens) and the strings block.
 */
#include "rc_fdt.h"

#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_NOP	       4u
#define FDT_END	       9u

#define FDT_HDR_SIZE 40u

/* Header fields (byte offsets). */
#define H_MAGIC	       0
#define H_TOTALSIZE    4
#define H_OFF_STRUCT   8
#define H_OFF_STRINGS  12
#define H_OFF_RSVMAP   16
#define H_VERSION      20
#define H_LAST_COMP    24
#define H_SIZE_STRINGS 32
#define H_SIZE_STRUCT  36

/* One token of the structure block, decoded and bounds-checked. */
struct rc_tag {
	uint32_t tag;
	uint32_t next;	   /* offset of the following token */
	uint32_t name_off; /* BEGIN_NODE: the name; PROP: the value */
	uint32_t name_len; /* BEGIN_NODE: name bytes; PROP: value bytes */
	uint32_t nameoff;  /* PROP: the name's offset in the strings block */
};

static uint32_t align4(uint32_t v)
{
	return (v + 3u) & ~3u;
}

static const uint8_t *sblock(const struct rc_fdt *f)
{
	return f->blob + f->struct_off;
}

/* Read the token at off; every byte it covers lies inside the structure block. */
static int read_tag(const struct rc_fdt *f, uint32_t off, struct rc_tag *t)
{
	const uint8_t *s = sblock(f);
	uint32_t size = f->struct_size, i;
	uint64_t end;

	if ((off & 3u) || off > size || size - off < 4)
		return RC_EMALFORMED;
	t->tag = rc_get_be32(s + off);
	t->next = off + 4;
	switch (t->tag) {
	case FDT_BEGIN_NODE:
		t->name_off = off + 4;
		for (i = off + 4; i < size && s[i]; i++)
			;
		if (i >= size)
			return RC_EMALFORMED;
		t->name_len = i - (off + 4);
		end = align4(i + 1);
		break;
	case FDT_PROP:
		if (size - off < 12)
			return RC_EMALFORMED;
		t->name_len = rc_get_be32(s + off + 4);
		t->nameoff = rc_get_be32(s + off + 8);
		t->name_off = off + 12;
		if (t->name_len > size - (off + 12))
			return RC_EMALFORMED;
		end = ((uint64_t)off + 12 + t->name_len + 3) & ~(uint64_t)3;
		break;
	case FDT_END_NODE:
	case FDT_NOP:
	case FDT_END:
		return 0;
	default:
		return RC_EMALFORMED;
	}
	if (end > size)
		return RC_EMALFORMED;
	t->next = (uint32_t)end;
	return 0;
}

/* A property name: NUL-terminated inside the strings block. */
static int prop_name(const struct rc_fdt *f, uint32_t nameoff, const char **name)
{
	const uint8_t *s = f->blob + f->strings_off;
	uint32_t i;

	if (nameoff >= f->strings_size)
		return RC_EMALFORMED;
	for (i = nameoff; i < f->strings_size && s[i]; i++)
		;
	if (i >= f->strings_size)
		return RC_EMALFORMED;
	*name = (const char *)s + nameoff;
	return 0;
}

static bool streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* The walk behind rc_fdt_init(): one pass over the whole structure block. */
static int walk(struct rc_fdt *f)
{
	uint32_t off = 0, depth = 0, had_child = 0;
	bool seen_root = false;
	struct rc_tag t;
	const char *name;
	int err;

	for (;;) {
		err = read_tag(f, off, &t);
		if (err)
			return err;
		switch (t.tag) {
		case FDT_BEGIN_NODE:
			if (!depth) {
				if (seen_root)
					return RC_EMALFORMED;
				seen_root = true;
				f->root = off;
			}
			if (depth >= RC_FDT_MAX_DEPTH)
				return RC_ETOOBIG;
			had_child |= 1u << depth;
			depth++;
			had_child &= ~(1u << depth);
			break;
		case FDT_END_NODE:
			if (!depth)
				return RC_EMALFORMED;
			had_child &= ~(1u << depth);
			depth--;
			break;
		case FDT_PROP:
			/* Properties belong to a node and come before its subnodes. */
			if (!depth || (had_child & (1u << depth)))
				return RC_EMALFORMED;
			err = prop_name(f, t.nameoff, &name);
			if (err)
				return err;
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			return depth || !seen_root ? RC_EMALFORMED : 0;
		}
		off = t.next;
	}
}

static int check_header(struct rc_fdt *f, const uint8_t *b, size_t len)
{
	uint32_t total, version, off, size, i;

	if (!b || len < FDT_HDR_SIZE)
		return RC_ETRUNC;
	if (rc_get_be32(b + H_MAGIC) != RC_FDT_MAGIC)
		return RC_EMALFORMED;
	version = rc_get_be32(b + H_VERSION);
	if (version < 16 || rc_get_be32(b + H_LAST_COMP) > 17)
		return RC_EVERSION;
	total = rc_get_be32(b + H_TOTALSIZE);
	if (total < FDT_HDR_SIZE)
		return RC_EMALFORMED;
	if (total > len)
		return RC_ETRUNC;
	if (total > 0x7fffffffu)
		return RC_ETOOBIG;
	f->blob = b;
	f->size = total;

	/* The memory reservation map: 16-byte entries up to an all-zero one. */
	off = rc_get_be32(b + H_OFF_RSVMAP);
	if (off & 7u)
		return RC_EALIGN;
	if (off < FDT_HDR_SIZE || off > total)
		return RC_EMALFORMED;
	for (i = off;; i += 16) {
		if (total - i < 16)
			return RC_EMALFORMED;
		if (!rc_get_be32(b + i) && !rc_get_be32(b + i + 4) && !rc_get_be32(b + i + 8) &&
		    !rc_get_be32(b + i + 12))
			break;
	}

	off = rc_get_be32(b + H_OFF_STRUCT);
	if (off & 3u)
		return RC_EALIGN;
	if (off < FDT_HDR_SIZE || off > total)
		return RC_EMALFORMED;
	/* Version 16 has no size_dt_struct: the block may run to the end. */
	size = version >= 17 ? rc_get_be32(b + H_SIZE_STRUCT) : total - off;
	if (size > total - off)
		return RC_EMALFORMED;
	f->struct_off = off;
	f->struct_size = size;

	off = rc_get_be32(b + H_OFF_STRINGS);
	size = rc_get_be32(b + H_SIZE_STRINGS);
	if (off < FDT_HDR_SIZE || off > total || size > total - off)
		return RC_EMALFORMED;
	f->strings_off = off;
	f->strings_size = size;
	return 0;
}

int rc_fdt_init(struct rc_fdt *f, const void *blob, size_t len)
{
	int err;

	f->blob = NULL;
	f->size = f->struct_off = f->struct_size = 0;
	f->strings_off = f->strings_size = f->root = 0;
	err = check_header(f, blob, len);
	if (!err)
		err = walk(f);
	if (err)
		f->blob = NULL; /* every later call refuses an unchecked context */
	return err;
}

int rc_fdt_check(const void *blob, size_t len)
{
	struct rc_fdt f;

	return rc_fdt_init(&f, blob, len);
}

/* Check a node offset handed in by a caller; fill *t with its BEGIN_NODE. */
static int node_tag(const struct rc_fdt *f, int node, struct rc_tag *t)
{
	if (!f || !f->blob || node < 0 || ((uint32_t)node & 3u) || f->struct_size < 4 ||
	    (uint32_t)node > f->struct_size - 4)
		return RC_EINVAL;
	if (rc_get_be32(sblock(f) + node) != FDT_BEGIN_NODE)
		return RC_EINVAL;
	return read_tag(f, (uint32_t)node, t);
}

int rc_fdt_root(const struct rc_fdt *f)
{
	struct rc_tag t;
	int err = node_tag(f, f ? (int)f->root : -1, &t);

	return err ? err : (int)f->root;
}

/*
 * From off, the offset of a token inside some node, skip properties, NOPs
 * and whole subtrees: return the next BEGIN_NODE at this level, RC_ENOENT at
 * the END_NODE that closes the level, or an error. Offsets only grow, so
 * the loop ends within struct_size / 4 steps.
 */
static int next_at_level(const struct rc_fdt *f, uint32_t off)
{
	uint32_t depth = 0;
	struct rc_tag t;
	int err;

	for (;;) {
		err = read_tag(f, off, &t);
		if (err)
			return err;
		switch (t.tag) {
		case FDT_BEGIN_NODE:
			if (!depth)
				return (int)off;
			depth++;
			break;
		case FDT_END_NODE:
			if (!depth)
				return RC_ENOENT;
			depth--;
			break;
		case FDT_END:
			return RC_EMALFORMED;
		}
		off = t.next;
	}
}

/* Past a node's END_NODE: the offset of the token that follows it. */
static int skip_node(const struct rc_fdt *f, int node)
{
	uint32_t depth = 0, off = (uint32_t)node;
	struct rc_tag t;
	int err;

	for (;;) {
		err = read_tag(f, off, &t);
		if (err)
			return err;
		if (t.tag == FDT_BEGIN_NODE) {
			depth++;
		} else if (t.tag == FDT_END_NODE) {
			if (!depth)
				return RC_EMALFORMED;
			if (!--depth)
				return (int)t.next;
		} else if (t.tag == FDT_END) {
			return RC_EMALFORMED;
		}
		off = t.next;
	}
}

int rc_fdt_first_subnode(const struct rc_fdt *f, int parent)
{
	struct rc_tag t;
	int err = node_tag(f, parent, &t);

	return err ? err : next_at_level(f, t.next);
}

int rc_fdt_next_subnode(const struct rc_fdt *f, int node)
{
	struct rc_tag t;
	int off, err = node_tag(f, node, &t);

	if (err)
		return err;
	off = skip_node(f, node);
	return off < 0 ? off : next_at_level(f, (uint32_t)off);
}

int rc_fdt_get_name(const struct rc_fdt *f, int node, const char **name, uint32_t *len)
{
	struct rc_tag t;
	int err = node_tag(f, node, &t);

	if (err)
		return err;
	*name = (const char *)sblock(f) + t.name_off;
	*len = t.name_len;
	return 0;
}

/* Whether a node name (n bytes) matches what rc_fdt_subnode() looks for. */
static bool name_matches(const char *n, uint32_t len, const char *want)
{
	bool has_at = false;
	uint32_t i;

	for (i = 0; want[i]; i++) {
		if (i >= len || n[i] != want[i])
			return false;
		has_at |= want[i] == '@';
	}
	return i == len || (!has_at && n[i] == '@');
}

int rc_fdt_subnode(const struct rc_fdt *f, int parent, const char *name)
{
	const char *n;
	uint32_t len;
	int node, err;

	if (!name)
		return RC_EINVAL;
	rc_fdt_for_each_subnode(node, f, parent) {
		err = rc_fdt_get_name(f, node, &n, &len);
		if (err)
			return err;
		if (name_matches(n, len, name))
			return node;
	}
	return node; /* RC_ENOENT at the end of the list, or an error */
}

int rc_fdt_getprop(const struct rc_fdt *f, int node, const char *name, const void **val,
		   uint32_t *len)
{
	struct rc_tag t;
	const char *pn;
	uint32_t off;
	int err = node_tag(f, node, &t);

	if (err)
		return err;
	if (!name)
		return RC_EINVAL;
	/* Properties come first; the first subnode or the node's end stops the search. */
	for (off = t.next;; off = t.next) {
		err = read_tag(f, off, &t);
		if (err)
			return err;
		if (t.tag == FDT_NOP)
			continue;
		if (t.tag != FDT_PROP)
			return t.tag == FDT_END ? RC_EMALFORMED : RC_ENOENT;
		err = prop_name(f, t.nameoff, &pn);
		if (err)
			return err;
		if (streq(pn, name)) {
			*val = sblock(f) + t.name_off;
			*len = t.name_len;
			return 0;
		}
	}
}

int rc_fdt_prop_u32(const struct rc_fdt *f, int node, const char *name, uint32_t *v)
{
	const void *p;
	uint32_t len;
	int err = rc_fdt_getprop(f, node, name, &p, &len);

	if (err)
		return err;
	if (len != 4)
		return RC_EMALFORMED;
	*v = rc_get_be32(p);
	return 0;
}

int rc_fdt_prop_u64(const struct rc_fdt *f, int node, const char *name, uint64_t *v)
{
	const uint8_t *p;
	const void *pv;
	uint32_t len;
	int err = rc_fdt_getprop(f, node, name, &pv, &len);

	if (err)
		return err;
	if (len != 8)
		return RC_EMALFORMED;
	p = pv;
	*v = (uint64_t)rc_get_be32(p) << 32 | rc_get_be32(p + 4);
	return 0;
}

int rc_fdt_prop_string(const struct rc_fdt *f, int node, const char *name, const char **s,
		       uint32_t *len)
{
	const char *p;
	const void *pv;
	uint32_t n, i;
	int err = rc_fdt_getprop(f, node, name, &pv, &n);

	if (err)
		return err;
	p = pv;
	if (!n)
		return RC_EMALFORMED;
	for (i = 0; i < n - 1; i++)
		if (!p[i])
			return RC_EMALFORMED;
	if (p[n - 1])
		return RC_EMALFORMED;
	*s = p;
	*len = n - 1;
	return 0;
}

int rc_fdt_prop_has_string(const struct rc_fdt *f, int node, const char *name, const char *str)
{
	const char *p;
	const void *pv;
	uint32_t n, i, start = 0, j;
	int err = rc_fdt_getprop(f, node, name, &pv, &n);

	if (err)
		return err;
	p = pv;
	if (!n || p[n - 1])
		return RC_EMALFORMED;
	for (i = 0; i < n; i++) {
		if (p[i])
			continue;
		/* p[start..i) is one string of the list. */
		for (j = 0; start + j < i && str[j] && p[start + j] == str[j]; j++)
			;
		if (start + j == i && !str[j])
			return 0;
		start = i + 1;
	}
	return RC_ENOENT;
}
