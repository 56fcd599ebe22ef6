// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core's FDT reader against hostile
 * blobs: structure blocks assembled by hand to break every rule the check
 * enforces, a random byte-flip loop over the reference tree of
 * test_core_fdt.c, and a blob the other side rewrites after it was checked.
 * The reader must refuse, or answer with data inside the blob; blobs are
 * exact-length heap copies so valgrind sees any read outside.
 */
#include <check.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rc_fdt.h"

Suite *core_fdt_bad_suite(void);
void build_tree(void); /* test_core_fdt.c */
extern uint8_t tree[4096];
extern size_t tree_len;

#define OK(x) ck_assert_int_eq((x), 0)

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

static void set32(uint8_t *b, size_t off, uint32_t v)
{
	b[off] = (uint8_t)(v >> 24);
	b[off + 1] = (uint8_t)(v >> 16);
	b[off + 2] = (uint8_t)(v >> 8);
	b[off + 3] = (uint8_t)v;
}

/* ---- hand-assembled structure blocks ---- */

struct raw {
	uint8_t s[1024];
	size_t n;
};

static void tok(struct raw *r, uint32_t v)
{
	set32(r->s, r->n, v);
	r->n += 4;
}

static void begin(struct raw *r, const char *name)
{
	size_t l = strlen(name) + 1;

	tok(r, FDT_BEGIN_NODE);
	memcpy(r->s + r->n, name, l);
	r->n += (l + 3) & ~(size_t)3;
}

static void prop(struct raw *r, uint32_t nameoff, const void *val, uint32_t len)
{
	tok(r, FDT_PROP);
	tok(r, len);
	tok(r, nameoff);
	memcpy(r->s + r->n, val, len);
	r->n += (len + 3) & ~3u;
}

/* Header, empty reservation map, the structure block, the strings block. */
static size_t raw_blob(uint8_t *out, const struct raw *r, const char *strings, size_t slen)
{
	size_t total = 56 + r->n + slen;

	memset(out, 0, total);
	set32(out, 0, 0xd00dfeed);
	set32(out, 4, (uint32_t)total);
	set32(out, 8, 56);
	set32(out, 12, (uint32_t)(56 + r->n));
	set32(out, 16, 40);
	set32(out, 20, 17);
	set32(out, 24, 16);
	set32(out, 32, (uint32_t)slen);
	set32(out, 36, (uint32_t)r->n);
	memcpy(out + 56, r->s, r->n);
	memcpy(out + 56 + r->n, strings, slen);
	return total;
}

static const char strs[] = "reg\0name"; /* "reg" at 0, "name" at 4 */

static int raw_check(const struct raw *r)
{
	uint8_t b[2048];

	return check_copy(b, raw_blob(b, r, strs, sizeof(strs)));
}

START_TEST(test_fdt_corrupted_structure_blocks)
{
	static const uint8_t v4[4] = { 0, 0, 0, 7 };
	struct raw r;

#define RAW(...)                          \
	do {                              \
		memset(&r, 0, sizeof(r)); \
		__VA_ARGS__;              \
	} while (0)

	/* Sanity: a minimal good tree, with NOPs anywhere. */
	RAW(begin(&r, ""); prop(&r, 0, v4, 4); begin(&r, "a"); tok(&r, FDT_END_NODE);
	    tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	OK(raw_check(&r));
	RAW(tok(&r, FDT_NOP); begin(&r, ""); tok(&r, FDT_NOP); prop(&r, 4, v4, 4); tok(&r, FDT_NOP);
	    tok(&r, FDT_END_NODE); tok(&r, FDT_NOP); tok(&r, FDT_END));
	OK(raw_check(&r));

	/* Missing END, nothing at all, only END. */
	RAW(begin(&r, ""); tok(&r, FDT_END_NODE));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW((void)0);
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	/* Unbalanced: a node left open, an END_NODE too many, END inside a node. */
	RAW(begin(&r, ""); begin(&r, "a"); tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(begin(&r, ""); tok(&r, FDT_END_NODE); tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	/* Two roots; a property outside any node; a property after a subnode. */
	RAW(begin(&r, ""); tok(&r, FDT_END_NODE); begin(&r, ""); tok(&r, FDT_END_NODE);
	    tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(prop(&r, 0, v4, 4); begin(&r, ""); tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(begin(&r, ""); begin(&r, "a"); tok(&r, FDT_END_NODE); prop(&r, 0, v4, 4);
	    tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	/* An unknown token. */
	RAW(begin(&r, ""); tok(&r, 5); tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	/* A property whose length runs past the block, or up to its very end. */
	RAW(begin(&r, ""); tok(&r, FDT_PROP); tok(&r, 1000); tok(&r, 0); tok(&r, FDT_END_NODE);
	    tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(begin(&r, ""); tok(&r, FDT_PROP); tok(&r, 0xfffffffc); tok(&r, 0);
	    tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(begin(&r, ""); tok(&r, FDT_PROP); tok(&r, 8); tok(&r, 0); tok(&r, FDT_END_NODE);
	    tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	/* A property header cut by the end of the block. */
	RAW(begin(&r, ""); tok(&r, FDT_PROP); tok(&r, 0));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	/* Name offsets: past the strings block, or onto a string with no NUL. */
	RAW(begin(&r, ""); prop(&r, sizeof(strs), v4, 4); tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	RAW(begin(&r, ""); prop(&r, 0xffffffff, v4, 4); tok(&r, FDT_END_NODE); tok(&r, FDT_END));
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
	{
		uint8_t b[2048];
		size_t n;

		RAW(begin(&r, ""); prop(&r, 4, v4, 4); tok(&r, FDT_END_NODE); tok(&r, FDT_END));
		n = raw_blob(b, &r, strs, sizeof(strs) - 1); /* "name" loses its NUL */
		ck_assert_int_eq(check_copy(b, n), RC_EMALFORMED);
		n = raw_blob(b, &r, strs, sizeof(strs));
		OK(check_copy(b, n));
		/* A block size that cuts the END token in half. */
		set32(b, 36, (uint32_t)r.n - 2);
		ck_assert_int_eq(check_copy(b, n), RC_EMALFORMED);
	}
	/* A node name with no NUL before the end of the block. */
	RAW(tok(&r, FDT_BEGIN_NODE); memcpy(r.s + r.n, "abcdefgh", 8); r.n += 8);
	ck_assert_int_eq(raw_check(&r), RC_EMALFORMED);
#undef RAW
}
END_TEST

/* ---- robustness: random flips, and a blob that changes after the check ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void in_bounds(const void *p, size_t n, const uint8_t *b, size_t len)
{
	ck_assert((const uint8_t *)p >= b);
	ck_assert((const uint8_t *)p + n <= b + len);
}

/* Everything a reader could ask of one node; all answers must lie inside the blob. */
static void visit(const struct rc_fdt *f, int node, const uint8_t *b, size_t len)
{
	static const char *const names[] = { "compatible", "reg", "u32", "u64", "list", "odd" };
	const char *s;
	const void *v;
	uint32_t n, u32;
	uint64_t u64;

	if (!rc_fdt_get_name(f, node, &s, &n))
		in_bounds(s, n + 1, b, len);
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!rc_fdt_getprop(f, node, names[i], &v, &n))
			in_bounds(v, n, b, len);
		if (!rc_fdt_prop_string(f, node, names[i], &s, &n))
			in_bounds(s, n + 1, b, len);
		(void)rc_fdt_prop_u32(f, node, names[i], &u32);
		(void)rc_fdt_prop_u64(f, node, names[i], &u64);
		(void)rc_fdt_prop_has_string(f, node, names[i], "a");
	}
	(void)rc_fdt_subnode(f, node, "cpu");
}

/* Depth-first over every node, without recursion; bounded in steps. */
static int walk_all(const struct rc_fdt *f, const uint8_t *b, size_t len)
{
	int stack[64], sp = 0, node = rc_fdt_root(f), n = 0, next;

	if (node < 0)
		return node;
	for (;;) {
		visit(f, node, b, len);
		if (++n > 10000)
			return n;
		next = rc_fdt_first_subnode(f, node);
		if (next >= 0 && sp < 64) {
			stack[sp++] = node;
			node = next;
			continue;
		}
		for (;;) {
			if (!sp)
				return n;
			next = rc_fdt_next_subnode(f, node);
			if (next >= 0) {
				node = next;
				break;
			}
			node = stack[--sp];
		}
	}
}

START_TEST(test_fdt_random_byte_flips)
{
	int accepted = 0, rejected = 0;

	build_tree();
	rng_state = 0x2545f4914f6cdd1dull;
	for (int i = 0; i < 4000; i++) {
		uint8_t *b = exact(tree, tree_len);
		struct rc_fdt f;
		int flips = 1 + (int)(rng() % 8);

		for (int k = 0; k < flips; k++) {
			size_t at = rng() % tree_len;

			/* Half the time aim at the structure block's tokens. */
			if (k == 0 && (rng() & 1))
				at = fdt_off_dt_struct(tree) +
				     (rng() % fdt_size_dt_struct(tree) & ~3ul) + 3;
			b[at] ^= (uint8_t)(1u << (rng() % 8));
		}
		if (rc_fdt_init(&f, b, tree_len)) {
			rejected++;
		} else {
			accepted++;
			ck_assert_int_gt(walk_all(&f, b, tree_len), 0);
		}
		free(b);
	}
	ck_assert_int_gt(accepted, 100);
	ck_assert_int_gt(rejected, 100);
}
END_TEST

START_TEST(test_fdt_blob_changed_after_the_check)
{
	build_tree();
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 2000; i++) {
		uint8_t *b = exact(tree, tree_len);
		struct rc_fdt f;

		OK(rc_fdt_init(&f, b, tree_len));
		/* The other side rewrites bytes (even the header) after the check. */
		for (int k = 0; k < 1 + (int)(rng() % 16); k++)
			b[rng() % tree_len] = (uint8_t)rng();
		if (i % 2)
			memset(b + fdt_off_dt_struct(tree) + (rng() % 64) * 4, 0xff, 8);
		walk_all(&f, b, tree_len);
		free(b);
	}
}
END_TEST

Suite *core_fdt_bad_suite(void)
{
	Suite *s = suite_create("core fdt: hostile blobs");
	TCase *tc = tcase_create("hostile");

	tcase_add_test(tc, test_fdt_corrupted_structure_blocks);
	tcase_add_test(tc, test_fdt_random_byte_flips);
	tcase_add_test(tc, test_fdt_blob_changed_after_the_check);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
