// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core's FDT reader against blobs that
 * libfdt builds: a good tree read node by node and compared with libfdt's
 * own reading, every prefix, corrupted headers, deep nesting, and offsets
 * the reader never handed out. Hostile structure blocks and random flips
 * are in test_core_fdt_bad.c. Every blob handed to the reader is a heap
 * copy of exactly the length passed, so valgrind would report any read
 * outside it.
 */
#include <check.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rc_fdt.h"

Suite *core_fdt_suite(void);
void build_tree(void);
extern uint8_t tree[4096];
extern size_t tree_len;

#define OK(x) ck_assert_int_eq((x), 0)

uint8_t tree[4096]; /* also used by test_core_fdt_bad.c */
size_t tree_len;

/* The reference tree, with libfdt's sequential-write API. */
void build_tree(void)
{
	void *b = tree;

	OK(fdt_create(b, sizeof(tree)));
	OK(fdt_add_reservemap_entry(b, 0x1000, 0x2000));
	OK(fdt_finish_reservemap(b));
	OK(fdt_begin_node(b, ""));
	OK(fdt_property_string(b, "compatible", "accord,test"));
	OK(fdt_property(b, "list", "a\0bb\0ccc", 9));
	OK(fdt_property_u32(b, "u32", 0xdeadbeef));
	OK(fdt_property_u64(b, "u64", 0x0123456789abcdefull));
	OK(fdt_property(b, "empty", NULL, 0));
	OK(fdt_property(b, "odd", "abc", 3));
	OK(fdt_property(b, "nul-inside", "ab\0cd", 6));
	OK(fdt_begin_node(b, "cpus"));
	OK(fdt_property_u32(b, "#address-cells", 1));
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "cpu@%d", i);
		OK(fdt_begin_node(b, name));
		OK(fdt_property_u32(b, "reg", (uint32_t)i));
		OK(fdt_end_node(b));
	}
	OK(fdt_begin_node(b, "cpu-map"));
	OK(fdt_end_node(b));
	OK(fdt_end_node(b));
	OK(fdt_begin_node(b, "pci@fe000000"));
	OK(fdt_begin_node(b, "device@0,1"));
	OK(fdt_property_string(b, "compatible", "x"));
	OK(fdt_end_node(b));
	OK(fdt_end_node(b));
	OK(fdt_begin_node(b, "pcie"));
	OK(fdt_end_node(b));
	OK(fdt_begin_node(b, "empty-node"));
	OK(fdt_end_node(b));
	OK(fdt_end_node(b));
	OK(fdt_finish(b));
	tree_len = fdt_totalsize(b);
	OK(fdt_check_header(b));
}

static uint8_t *exact(const void *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, n);
	return p;
}

static int check_copy(const void *blob, size_t len)
{
	uint8_t *p = exact(blob, len);
	int err = rc_fdt_check(p, len);

	free(p);
	return err;
}

static void name_is(const struct rc_fdt *f, int node, const char *want)
{
	const char *n;
	uint32_t len;

	OK(rc_fdt_get_name(f, node, &n, &len));
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(n, want, len);
	ck_assert_int_eq(n[len], 0);
}

START_TEST(test_fdt_reads_a_good_tree)
{
	struct rc_fdt f;
	uint8_t *b;
	const void *v;
	const char *s;
	uint32_t len, u32;
	uint64_t u64;
	int root, cpus, node, n = 0;

	build_tree();
	b = exact(tree, tree_len);
	OK(rc_fdt_init(&f, b, tree_len));
	root = rc_fdt_root(&f);
	ck_assert_int_ge(root, 0);
	name_is(&f, root, "");
	OK(rc_fdt_prop_string(&f, root, "compatible", &s, &len));
	ck_assert_str_eq(s, "accord,test");
	ck_assert_uint_eq(len, 11);
	OK(rc_fdt_prop_u32(&f, root, "u32", &u32));
	ck_assert_uint_eq(u32, 0xdeadbeef);
	OK(rc_fdt_prop_u64(&f, root, "u64", &u64));
	ck_assert_uint_eq(u64, 0x0123456789abcdefull);
	OK(rc_fdt_getprop(&f, root, "empty", &v, &len));
	ck_assert_uint_eq(len, 0);
	OK(rc_fdt_getprop(&f, root, "odd", &v, &len));
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(v, "abc", 3);
	ck_assert_int_eq(rc_fdt_getprop(&f, root, "missing", &v, &len), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_getprop(&f, root, "u3", &v, &len), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_getprop(&f, root, "u32x", &v, &len), RC_ENOENT);
	/* Wrong sizes and bad strings. */
	ck_assert_int_eq(rc_fdt_prop_u32(&f, root, "u64", &u32), RC_EMALFORMED);
	ck_assert_int_eq(rc_fdt_prop_u64(&f, root, "u32", &u64), RC_EMALFORMED);
	ck_assert_int_eq(rc_fdt_prop_u32(&f, root, "empty", &u32), RC_EMALFORMED);
	ck_assert_int_eq(rc_fdt_prop_string(&f, root, "empty", &s, &len), RC_EMALFORMED);
	ck_assert_int_eq(rc_fdt_prop_string(&f, root, "odd", &s, &len), RC_EMALFORMED);
	ck_assert_int_eq(rc_fdt_prop_string(&f, root, "nul-inside", &s, &len), RC_EMALFORMED);
	ck_assert_int_eq(rc_fdt_prop_string(&f, root, "list", &s, &len), RC_EMALFORMED);
	/* String lists. */
	OK(rc_fdt_prop_has_string(&f, root, "list", "a"));
	OK(rc_fdt_prop_has_string(&f, root, "list", "bb"));
	OK(rc_fdt_prop_has_string(&f, root, "list", "ccc"));
	ck_assert_int_eq(rc_fdt_prop_has_string(&f, root, "list", "b"), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_prop_has_string(&f, root, "list", "cc"), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_prop_has_string(&f, root, "list", "abb"), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_prop_has_string(&f, root, "list", ""), RC_ENOENT);
	OK(rc_fdt_prop_has_string(&f, root, "compatible", "accord,test"));
	ck_assert_int_eq(rc_fdt_prop_has_string(&f, root, "odd", "abc"), RC_EMALFORMED);

	/* Children in order; cpu@N by unit address; "pci" finds pci@fe000000, not pcie. */
	cpus = rc_fdt_subnode(&f, root, "cpus");
	ck_assert_int_ge(cpus, 0);
	rc_fdt_for_each_subnode(node, &f, cpus)
	{
		char want[16];

		if (n < 4) {
			snprintf(want, sizeof(want), "cpu@%d", n);
			name_is(&f, node, want);
			OK(rc_fdt_prop_u32(&f, node, "reg", &u32));
			ck_assert_uint_eq(u32, (uint32_t)n);
		} else {
			name_is(&f, node, "cpu-map");
		}
		n++;
	}
	ck_assert_int_eq(node, RC_ENOENT);
	ck_assert_int_eq(n, 5);
	node = rc_fdt_subnode(&f, cpus, "cpu");
	name_is(&f, node, "cpu@0");
	node = rc_fdt_subnode(&f, cpus, "cpu@2");
	name_is(&f, node, "cpu@2");
	ck_assert_int_eq(rc_fdt_subnode(&f, cpus, "cpu@"), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_subnode(&f, cpus, "cpu@5"), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_subnode(&f, cpus, "cp"), RC_ENOENT);
	node = rc_fdt_subnode(&f, root, "pci");
	name_is(&f, node, "pci@fe000000");
	node = rc_fdt_subnode(&f, node, "device");
	name_is(&f, node, "device@0,1");
	node = rc_fdt_subnode(&f, root, "pcie");
	name_is(&f, node, "pcie");
	node = rc_fdt_subnode(&f, root, "empty-node");
	ck_assert_int_eq(rc_fdt_first_subnode(&f, node), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_next_subnode(&f, node), RC_ENOENT);
	ck_assert_int_eq(rc_fdt_getprop(&f, node, "compatible", &v, &len), RC_ENOENT);
	/* A node's properties are its own, not its children's. */
	ck_assert_int_eq(rc_fdt_getprop(&f, cpus, "reg", &v, &len), RC_ENOENT);
	free(b);
}
END_TEST

/* Walk libfdt's view and ours side by side: same nodes, same properties, same bytes. */
START_TEST(test_fdt_agrees_with_libfdt)
{
	struct rc_fdt f;
	int lnode, depth = 0, nodes = 0, props = 0;
	uint8_t *b;

	build_tree();
	b = exact(tree, tree_len);
	OK(rc_fdt_init(&f, b, tree_len));
	int path[RC_FDT_MAX_DEPTH];
	path[0] = rc_fdt_root(&f);
	for (lnode = 0; lnode >= 0 && depth >= 0; lnode = fdt_next_node(b, lnode, &depth)) {
		const char *lname = fdt_get_name(b, lnode, NULL);
		int mine, poff;

		if (depth == 0) {
			mine = path[0];
		} else {
			/* libfdt's node is the child of path[depth - 1] with this exact name. */
			mine = rc_fdt_subnode(&f, path[depth - 1], lname);
			ck_assert_int_ge(mine, 0);
			path[depth] = mine;
		}
		/* Offsets are relative to the structure block in both readers. */
		ck_assert_int_eq(mine, lnode);
		name_is(&f, mine, lname);
		nodes++;
		fdt_for_each_property_offset(poff, b, lnode)
		{
			const char *pname;
			int llen;
			const void *lval = fdt_getprop_by_offset(b, poff, &pname, &llen);
			const void *val;
			uint32_t len;

			OK(rc_fdt_getprop(&f, mine, pname, &val, &len));
			ck_assert_ptr_eq(val, lval);
			ck_assert_uint_eq(len, (uint32_t)llen);
			props++;
		}
	}
	ck_assert_int_eq(nodes, 11);
	ck_assert_int_eq(props, 13);
	free(b);
}
END_TEST

START_TEST(test_fdt_every_prefix_is_refused)
{
	uint8_t *b;

	build_tree();
	for (size_t len = 0; len < tree_len; len++)
		ck_assert_msg(check_copy(tree, len) == RC_ETRUNC, "prefix %zu accepted", len);
	OK(check_copy(tree, tree_len));

	/* The same prefixes with a header that claims exactly what is there. */
	b = malloc(tree_len);
	for (size_t len = 40; len < tree_len; len++) {
		uint32_t off_struct, off_strings, size_strings;

		memcpy(b, tree, tree_len);
		fdt_set_totalsize(b, (uint32_t)len);
		off_struct = fdt_off_dt_struct(b);
		off_strings = fdt_off_dt_strings(b);
		size_strings = fdt_size_dt_strings(b);
		if (off_struct > len)
			fdt_set_off_dt_struct(b, (uint32_t)len);
		if (fdt_off_dt_struct(b) + fdt_size_dt_struct(b) > len)
			fdt_set_size_dt_struct(b, (uint32_t)len - fdt_off_dt_struct(b));
		if (off_strings > len)
			fdt_set_off_dt_strings(b, (uint32_t)len);
		if (fdt_off_dt_strings(b) + size_strings > len)
			fdt_set_size_dt_strings(b, (uint32_t)len - fdt_off_dt_strings(b));
		ck_assert_msg(check_copy(b, len) < 0, "clipped to %zu accepted", len);
	}
	free(b);
}
END_TEST

static void set32(uint8_t *b, size_t off, uint32_t v)
{
	b[off] = (uint8_t)(v >> 24);
	b[off + 1] = (uint8_t)(v >> 16);
	b[off + 2] = (uint8_t)(v >> 8);
	b[off + 3] = (uint8_t)v;
}

START_TEST(test_fdt_corrupted_headers)
{
	static const struct {
		size_t field;
		int64_t value;
		int err;
	} cases[] = {
		{ 0, 0xd00dfeee, RC_EMALFORMED }, /* magic */
		{ 0, 0xedfe0dd0, RC_EMALFORMED }, /* magic, other byte order */
		{ 20, 15, RC_EVERSION },	  /* version */
		{ 20, 1, RC_EVERSION },
		{ 24, 18, RC_EVERSION }, /* last_comp_version */
		{ 24, 0xffffffff, RC_EVERSION },
		{ 4, 0xffffffff, RC_ETRUNC }, /* totalsize */
		{ 4, 39, RC_EMALFORMED },
		{ 4, 0, RC_EMALFORMED },
		{ 8, 4, RC_EMALFORMED }, /* off_dt_struct inside the header */
		{ 8, 0xfffffffc, RC_EMALFORMED },
		{ 8, 57, RC_EALIGN },
		{ 36, 0xffffffff, RC_EMALFORMED }, /* size_dt_struct */
		{ 36, 0xfffffffc, RC_EMALFORMED },
		{ 12, 0, RC_EMALFORMED }, /* off_dt_strings */
		{ 12, 0xffffffff, RC_EMALFORMED },
		{ 32, 0xffffffff, RC_EMALFORMED }, /* size_dt_strings */
		{ 32, 0x7fffffff, RC_EMALFORMED },
		{ 16, 44, RC_EALIGN }, /* off_mem_rsvmap */
		{ 16, 0, RC_EMALFORMED },
		{ 16, 0xfffffff8, RC_EMALFORMED },
	};
	uint8_t b[4096];

	build_tree();
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(b, tree, tree_len);
		set32(b, cases[i].field, (uint32_t)cases[i].value);
		ck_assert_msg(check_copy(b, tree_len) == cases[i].err, "header +%zu = %#llx: %d",
			      cases[i].field, (unsigned long long)cases[i].value,
			      check_copy(b, tree_len));
	}
	/* Sizes that run one byte past the blob. */
	memcpy(b, tree, tree_len);
	fdt_set_size_dt_struct(b, (uint32_t)tree_len - fdt_off_dt_struct(b) + 1);
	ck_assert_int_eq(check_copy(b, tree_len), RC_EMALFORMED);
	memcpy(b, tree, tree_len);
	fdt_set_size_dt_strings(b, (uint32_t)tree_len - fdt_off_dt_strings(b) + 1);
	ck_assert_int_eq(check_copy(b, tree_len), RC_EMALFORMED);
	/* The reservation map with no terminator before the end. */
	memcpy(b, tree, tree_len);
	fdt_set_off_mem_rsvmap(b, ((uint32_t)tree_len - 8) & ~7u);
	memset(b + fdt_off_mem_rsvmap(b), 0xff, tree_len - fdt_off_mem_rsvmap(b));
	ck_assert_int_eq(check_copy(b, tree_len), RC_EMALFORMED);
	/* Version 16 (no size_dt_struct) is read; the buffer may be larger than totalsize. */
	memcpy(b, tree, tree_len);
	fdt_set_version(b, 16);
	OK(check_copy(b, tree_len));
	OK(check_copy(tree, sizeof(tree)));
	ck_assert_int_eq(rc_fdt_check(NULL, 100), RC_ETRUNC);
}
END_TEST

static size_t build_deep(uint8_t *b, size_t cap, int depth)
{
	OK(fdt_create(b, (int)cap));
	OK(fdt_finish_reservemap(b));
	OK(fdt_begin_node(b, ""));
	for (int i = 1; i < depth; i++) {
		OK(fdt_begin_node(b, "n"));
		OK(fdt_property_u32(b, "reg", (uint32_t)i));
	}
	for (int i = 0; i < depth; i++)
		OK(fdt_end_node(b));
	OK(fdt_finish(b));
	return fdt_totalsize(b);
}

START_TEST(test_fdt_depth_is_bounded)
{
	uint8_t b[8192];
	struct rc_fdt f;
	size_t n;
	int node;
	uint32_t reg;

	n = build_deep(b, sizeof(b), RC_FDT_MAX_DEPTH);
	OK(rc_fdt_init(&f, b, n));
	node = rc_fdt_root(&f);
	for (int i = 1; i < RC_FDT_MAX_DEPTH; i++) {
		node = rc_fdt_subnode(&f, node, "n");
		ck_assert_int_ge(node, 0);
		OK(rc_fdt_prop_u32(&f, node, "reg", &reg));
		ck_assert_uint_eq(reg, (uint32_t)i);
	}
	ck_assert_int_eq(rc_fdt_first_subnode(&f, node), RC_ENOENT);
	n = build_deep(b, sizeof(b), RC_FDT_MAX_DEPTH + 1);
	ck_assert_int_eq(check_copy(b, n), RC_ETOOBIG);
	n = build_deep(b, sizeof(b), 200);
	ck_assert_int_eq(check_copy(b, n), RC_ETOOBIG);
}
END_TEST

START_TEST(test_fdt_refuses_offsets_it_did_not_hand_out)
{
	struct rc_fdt f, bad = { 0 };
	const void *v;
	const char *s;
	uint32_t len;
	int root, cpus;

	build_tree();
	OK(rc_fdt_init(&f, tree, tree_len));
	root = rc_fdt_root(&f);
	cpus = rc_fdt_subnode(&f, root, "cpus");
	const int offsets[] = { -1,
				-4,
				root + 1,
				root + 2,
				root + 4,
				cpus + 8,
				(int)f.struct_size,
				(int)f.struct_size - 4,
				0x7ffffffc,
				(int)0x80000000u };
	for (unsigned int i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		int o = offsets[i];

		ck_assert_int_eq(rc_fdt_first_subnode(&f, o), RC_EINVAL);
		ck_assert_int_eq(rc_fdt_next_subnode(&f, o), RC_EINVAL);
		ck_assert_int_eq(rc_fdt_subnode(&f, o, "cpus"), RC_EINVAL);
		ck_assert_int_eq(rc_fdt_get_name(&f, o, &s, &len), RC_EINVAL);
		ck_assert_int_eq(rc_fdt_getprop(&f, o, "reg", &v, &len), RC_EINVAL);
	}
	/* A context that was never checked, or whose check failed. */
	ck_assert_int_eq(rc_fdt_root(&bad), RC_EINVAL);
	ck_assert_int_eq(rc_fdt_root(NULL), RC_EINVAL);
	ck_assert_int_eq(rc_fdt_init(&bad, tree, 39), RC_ETRUNC);
	ck_assert_int_eq(rc_fdt_first_subnode(&bad, root), RC_EINVAL);
	ck_assert_int_eq(rc_fdt_getprop(&f, root, NULL, &v, &len), RC_EINVAL);
	ck_assert_int_eq(rc_fdt_subnode(&f, root, NULL), RC_EINVAL);
}
END_TEST

Suite *core_fdt_suite(void)
{
	Suite *s = suite_create("core fdt");
	TCase *tc = tcase_create("reader");

	tcase_add_test(tc, test_fdt_reads_a_good_tree);
	tcase_add_test(tc, test_fdt_agrees_with_libfdt);
	tcase_add_test(tc, test_fdt_every_prefix_is_refused);
	tcase_add_test(tc, test_fdt_corrupted_headers);
	tcase_add_test(tc, test_fdt_depth_is_bounded);
	tcase_add_test(tc, test_fdt_refuses_offsets_it_did_not_hand_out);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
