// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_virtio runner): split virtqueues and the transport-
 * independent virtio core, with the test writing the driver's rings into
 * guest memory. Hostile chains must be refused without touching anything
 * outside guest RAM; the device then goes NEEDS_RESET.
 * virtio-blk is in test_blk.c, the PCI transport in test_virtio_pci.c.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accord/guest_mem.h"
#include "accord/virtio.h"
#include "accord/virtqueue.h"

#include "virtio_test.h"

#define QSIZE	  8
#define RING_GPA  0x1000
#define TABLE_GPA 0x8000
#define DATA_GPA  0x10000

static uint8_t *ram;
static struct guest_mem mem;
static struct vring_drv d;
static struct virtq vq;
static struct virtq_chain c;

static void vq_setup(void)
{
	ram = calloc(1, TEST_RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	guest_mem__init_buffer(&mem, ram, TEST_RAM_SIZE);
	vring_drv__init(&d, ram, QSIZE, RING_GPA);
	virtq__reset(&vq, QSIZE);
	vq.desc_gpa = d.desc_gpa;
	vq.avail_gpa = d.avail_gpa;
	vq.used_gpa = d.used_gpa;
}

static void vq_teardown(void)
{
	free(ram);
	ram = NULL;
}

static void start(bool event_idx, bool indirect)
{
	const char *why = NULL;

	ck_assert_int_eq(virtq__start(&vq, &mem, event_idx, indirect, &why), 0);
}

static void pop_ok(void)
{
	const char *why = NULL;

	ck_assert_msg(virtq__pop(&vq, &c, &why) == 0, "refused: %s", why);
}

/* The chain's shape: head, buffer counts and total lengths each way. */
static void expect_chain(uint16_t head, unsigned int nr_out, unsigned int nr_in, uint64_t out_len,
			 uint64_t in_len)
{
	ck_assert_uint_eq(c.head, head);
	ck_assert_uint_eq(c.nr_out, nr_out);
	ck_assert_uint_eq(c.nr_in, nr_in);
	ck_assert_uint_eq(c.out_len, out_len);
	ck_assert_uint_eq(c.in_len, in_len);
}

static void expect_buf(unsigned int i, uint64_t gpa, uint32_t len)
{
	ck_assert_ptr_eq(c.bufs[i].addr, ram + gpa);
	ck_assert_uint_eq(c.bufs[i].len, len);
}

/* The chain is refused for @why_expected and left in the ring: the device stops there. */
static void pop_refused(int err, const char *why_expected)
{
	const char *why = NULL;
	uint16_t before = vq.last_avail;

	ck_assert_int_eq(virtq__pop(&vq, &c, &why), err);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, why_expected);
	ck_assert_uint_eq(vq.last_avail, before);
}

/* ---- virtq__start ---- */

START_TEST(test_start_rejects_queue_sizes_that_are_not_powers_of_two_up_to_256)
{
	static const uint16_t bad[] = { 0, 3, 6, 100, 512, 0x8000 };
	static const uint16_t good[] = { 1, 2, 128, 256 };
	const char *why;

	virtq__reset(&vq, VIRTQ_MAX_SIZE);
	vq.desc_gpa = d.desc_gpa;
	vq.avail_gpa = d.avail_gpa;
	vq.used_gpa = d.used_gpa;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vq.size = bad[i];
		why = NULL;
		ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EINVAL);
		ck_assert_str_eq(why, "queue size is not a power of two up to the maximum");
	}
	for (unsigned int i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		vq.size = good[i];
		ck_assert_msg(virtq__start(&vq, &mem, false, false, &why) == 0,
			      "size %u refused: %s", good[i], why);
	}
}
END_TEST

START_TEST(test_start_rejects_a_size_above_what_the_device_offers)
{
	const char *why = NULL;

	vq.size = 2 * QSIZE; /* the device offered QSIZE */
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EINVAL);
	ck_assert_str_eq(why, "queue size is not a power of two up to the maximum");
	vq.size = QSIZE / 2;
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), 0);
}
END_TEST

START_TEST(test_start_rejects_misaligned_rings)
{
	const char *why = NULL;

	vq.desc_gpa = RING_GPA + 8; /* descriptors: 16-byte aligned */
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EINVAL);
	ck_assert_str_eq(why, "ring address is misaligned");
	vq.desc_gpa = RING_GPA + 16;
	vq.avail_gpa = d.avail_gpa + 1; /* available ring: 2 */
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EINVAL);
	vq.avail_gpa = d.avail_gpa + 2;
	vq.used_gpa = d.used_gpa + 2; /* used ring: 4 */
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EINVAL);
	vq.used_gpa = d.used_gpa + 4;
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), 0);
}
END_TEST

START_TEST(test_start_rejects_rings_outside_ram_including_event_fields)
{
	const char *why = NULL;
	const uint64_t end = TEST_RAM_SIZE;

	/* desc: 16 * 8 = 128 bytes; avail: 6 + 2 * 8 = 22; used: 6 + 8 * 8 = 70. */
	vq.desc_gpa = end - 128;
	vq.avail_gpa = end - 160;
	vq.used_gpa = end - 240;
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), 0);
	vq.desc_gpa = end - 112;
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EFAULT);
	ck_assert_str_eq(why, "ring lies outside guest RAM");
	vq.desc_gpa = d.desc_gpa;
	vq.avail_gpa = end - 20; /* used_event would be the last 2 bytes past RAM */
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EFAULT);
	vq.avail_gpa = d.avail_gpa;
	vq.used_gpa = end - 68; /* avail_event past RAM */
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EFAULT);
	vq.used_gpa = 0xfee00000; /* in the MMIO hole, not RAM */
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EFAULT);
	vq.used_gpa = 0xfffffffffffffff0ull;
	ck_assert_int_eq(virtq__start(&vq, &mem, false, false, &why), -EFAULT);
}
END_TEST

/* ---- virtq__pop: well-formed chains ---- */

START_TEST(test_pop_single_readable_descriptor)
{
	const char *why = NULL;

	start(false, false);
	drv__desc(&d, 3, DATA_GPA, 100, 0, 0);
	drv__post(&d, 3);
	pop_ok();
	expect_chain(3, 1, 0, 100, 0);
	expect_buf(0, DATA_GPA, 100);
	ck_assert_uint_eq(vq.last_avail, 1);
	ck_assert_int_eq(virtq__pop(&vq, &c, &why), -ENOENT);
}
END_TEST

START_TEST(test_pop_chain_lists_readable_then_writable_buffers_with_lengths)
{
	start(false, false);
	drv__desc(&d, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 5);
	drv__desc(&d, 5, DATA_GPA + 0x100, 512, VRING_DESC_F_NEXT, 2);
	drv__desc(&d, 2, DATA_GPA + 0x400, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 7);
	drv__desc(&d, 7, DATA_GPA + 0x800, 1, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	pop_ok();
	expect_chain(0, 2, 2, 528, 513);
	expect_buf(0, DATA_GPA, 16);
	expect_buf(1, DATA_GPA + 0x100, 512);
	expect_buf(2, DATA_GPA + 0x400, 512);
	expect_buf(3, DATA_GPA + 0x800, 1);
}
END_TEST

START_TEST(test_pop_indirect_table_follows_next_within_the_table)
{
	start(false, true);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	put_desc(ram, TABLE_GPA, 2, DATA_GPA + 0x100, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 1);
	put_desc(ram, TABLE_GPA, 1, DATA_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	drv__desc(&d, 4, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 4);
	pop_ok();
	expect_chain(4, 1, 2, 16, 513);
	expect_buf(0, DATA_GPA, 16);
	expect_buf(1, DATA_GPA + 0x100, 512);
	expect_buf(2, DATA_GPA + 0x400, 1);
}
END_TEST

START_TEST(test_pop_direct_descriptors_then_an_indirect_table)
{
	start(false, true);
	drv__desc(&d, 6, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA + 0x100, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 1);
	put_desc(ram, TABLE_GPA, 1, DATA_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 6);
	pop_ok();
	expect_chain(6, 1, 2, 16, 513);
	expect_buf(2, DATA_GPA + 0x400, 1);
}
END_TEST

START_TEST(test_pop_chain_of_exactly_queue_size_descriptors_is_accepted)
{
	start(false, false);
	for (uint16_t i = 0; i < QSIZE; i++)
		drv__desc(&d, i, DATA_GPA + i * 16u, 16, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0,
			  (uint16_t)(i + 1));
	drv__post(&d, 0);
	pop_ok();
	expect_chain(0, QSIZE, 0, QSIZE * 16, 0);
	expect_buf(QSIZE - 1, DATA_GPA + (QSIZE - 1) * 16, 16);
}
END_TEST

/*
 * Linux puts a whole request in one indirect table of up to seg_max + 2
 * entries, which is the queue size for virtio-blk (seg_max = size - 2). The
 * table holds the chain; the descriptor pointing at it is not a buffer.
 */
START_TEST(test_pop_indirect_table_of_queue_size_entries_is_accepted)
{
	const char *why = NULL;
	int ret;

	start(false, true);
	for (uint16_t i = 0; i < QSIZE; i++)
		put_desc(ram, TABLE_GPA, i, DATA_GPA + i * 16u, 16,
			 i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	drv__desc(&d, 0, TABLE_GPA, QSIZE * 16, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	ret = virtq__pop(&vq, &c, &why);
	ck_assert_msg(ret == 0, "a %u-entry indirect table in a %u-entry queue was refused: %s",
		      QSIZE, QSIZE, why ? why : "?");
	ck_assert_uint_eq(c.nr_out, QSIZE);
}
END_TEST

START_TEST(test_pop_and_push_keep_going_across_16_bit_index_wraparound)
{
	start(false, false);
	for (uint16_t i = 0; i < QSIZE; i++)
		drv__desc(&d, i, DATA_GPA + i * 16u, 16, VRING_DESC_F_WRITE, 0);
	for (unsigned int n = 0; n < 70000; n++) {
		drv__post(&d, (uint16_t)(n % QSIZE));
		pop_ok();
		ck_assert_uint_eq(c.head, n % QSIZE);
		virtq__push(&vq, c.head, 16);
	}
	ck_assert_uint_eq(vq.last_avail, (uint16_t)70000);
	ck_assert_uint_eq(drv__used_idx(&d), (uint16_t)70000);
	ck_assert_uint_eq(drv__used_id(&d, (uint16_t)69999), 69999 % QSIZE);
}
END_TEST

/* ---- virtq__pop: hostile chains ---- */

START_TEST(test_pop_refuses_a_chain_whose_next_points_back)
{
	start(false, false);
	drv__desc(&d, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	drv__desc(&d, 2, DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "descriptor chain loops or is too long");
	drv__desc(&d, 0, DATA_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0); /* itself */
	pop_refused(-EINVAL, "descriptor chain loops or is too long");
}
END_TEST

START_TEST(test_pop_refuses_a_chain_longer_than_the_queue_size)
{
	/* Only an indirect table can hold more distinct descriptors than the ring. */
	start(false, true);
	for (uint16_t i = 0; i <= QSIZE; i++)
		put_desc(ram, TABLE_GPA, i, DATA_GPA, 16, i < QSIZE ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	drv__desc(&d, 0, TABLE_GPA, (QSIZE + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "descriptor chain loops or is too long");
}
END_TEST

START_TEST(test_pop_refuses_head_or_next_index_at_or_past_the_queue_size)
{
	start(false, false);
	drv__desc(&d, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, QSIZE);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "next index out of range");
	drv__avail(&d)->ring[0] = htole16(QSIZE);
	pop_refused(-EINVAL, "chain head out of range");
	drv__avail(&d)->ring[0] = htole16(0xffff);
	pop_refused(-EINVAL, "chain head out of range");
}
END_TEST

START_TEST(test_pop_refuses_avail_index_moving_by_more_than_the_queue_size)
{
	start(false, false);
	drv__desc(&d, 0, DATA_GPA, 16, 0, 0);
	drv__avail(&d)->idx = htole16(QSIZE + 1);
	pop_refused(-EINVAL, "available index moved by more than the queue size");
	drv__avail(&d)->idx = htole16(0xffff); /* "backwards" is a huge jump too */
	pop_refused(-EINVAL, "available index moved by more than the queue size");
	/* Exactly a full ring is fine. */
	drv__avail(&d)->idx = htole16(QSIZE);
	for (unsigned int i = 0; i < QSIZE; i++)
		pop_ok();
}
END_TEST

START_TEST(test_pop_refuses_a_buffer_outside_guest_ram_or_wrapping_past_2_64)
{
	start(false, false);
	drv__desc(&d, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, TEST_RAM_SIZE - 8, 16, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	pop_refused(-EFAULT, "buffer lies outside guest RAM");
	drv__desc(&d, 1, 0xd0000000, 1, VRING_DESC_F_WRITE, 0); /* the MMIO hole */
	pop_refused(-EFAULT, "buffer lies outside guest RAM");
	drv__desc(&d, 1, DATA_GPA, 0xffffffff, VRING_DESC_F_WRITE, 0);
	pop_refused(-EFAULT, "buffer lies outside guest RAM");
	/* addr + len wraps past 2^64. */
	drv__desc(&d, 1, 0xfffffffffffff000ull, 0x2000, VRING_DESC_F_WRITE, 0);
	pop_refused(-EFAULT, "buffer lies outside guest RAM");
	drv__desc(&d, 1, 0xffffffffffffffffull, 2, VRING_DESC_F_WRITE, 0);
	pop_refused(-EFAULT, "buffer lies outside guest RAM");
}
END_TEST

START_TEST(test_pop_refuses_a_readable_descriptor_after_a_writable_one)
{
	start(false, true);
	drv__desc(&d, 0, DATA_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, DATA_GPA, 16, 0, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "readable descriptor after a writable one");
	/* The same across the step into an indirect table. */
	drv__desc(&d, 1, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, 0, 0);
	pop_refused(-EINVAL, "readable descriptor after a writable one");
}
END_TEST

START_TEST(test_pop_refuses_indirect_without_the_feature)
{
	start(false, false);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, 0, 0);
	drv__desc(&d, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
}
END_TEST

START_TEST(test_pop_refuses_a_nested_indirect_table)
{
	start(false, true);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(ram, TABLE_GPA, 1, TABLE_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(ram, TABLE_GPA + 0x100, 0, DATA_GPA, 16, 0, 0);
	drv__desc(&d, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "nested indirect descriptor");
}
END_TEST

START_TEST(test_pop_refuses_an_indirect_length_that_is_not_a_multiple_of_16)
{
	start(false, true);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, 0, 0);
	drv__desc(&d, 0, TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "indirect table length is not a multiple of 16");
	drv__desc(&d, 0, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	pop_refused(-EINVAL, "indirect table length is not a multiple of 16");
}
END_TEST

START_TEST(test_pop_refuses_an_indirect_descriptor_with_next)
{
	start(false, true);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, 0, 0);
	drv__desc(&d, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, DATA_GPA, 16, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "indirect descriptor also has NEXT");
}
END_TEST

START_TEST(test_pop_refuses_an_indirect_table_outside_guest_ram)
{
	start(false, true);
	drv__desc(&d, 0, TEST_RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	pop_refused(-EFAULT, "indirect table lies outside guest RAM");
	drv__desc(&d, 0, 0xfffffffffffffff0ull, 32, VRING_DESC_F_INDIRECT, 0);
	pop_refused(-EFAULT, "indirect table lies outside guest RAM");
}
END_TEST

START_TEST(test_pop_refuses_an_indirect_next_past_the_table)
{
	start(false, true);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
	put_desc(ram, TABLE_GPA, 2, DATA_GPA, 16, 0, 0); /* there, but not in the table */
	drv__desc(&d, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "indirect next index out of range");
}
END_TEST

START_TEST(test_pop_refuses_a_loop_inside_an_indirect_table)
{
	start(false, true);
	put_desc(ram, TABLE_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(ram, TABLE_GPA, 1, DATA_GPA, 16, VRING_DESC_F_NEXT, 0);
	drv__desc(&d, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	drv__post(&d, 0);
	pop_refused(-EINVAL, "descriptor chain loops or is too long");
}
END_TEST

/* ---- push, interrupts, notifications, copying ---- */

START_TEST(test_push_writes_id_and_length_and_publishes_the_index)
{
	start(false, false);
	virtq__push(&vq, 5, 77);
	ck_assert_uint_eq(drv__used_idx(&d), 1);
	ck_assert_uint_eq(drv__used_id(&d, 0), 5);
	ck_assert_uint_eq(drv__used_len(&d, 0), 77);
	for (uint32_t i = 1; i <= QSIZE; i++)
		virtq__push(&vq, (uint16_t)i, i * 10);
	/* The ninth entry went back to slot 0. */
	ck_assert_uint_eq(drv__used_idx(&d), QSIZE + 1);
	ck_assert_uint_eq(drv__used_id(&d, 0), QSIZE);
	ck_assert_uint_eq(drv__used_len(&d, 0), QSIZE * 10);
	ck_assert_uint_eq(drv__used_id(&d, 1), 1);
}
END_TEST

START_TEST(test_should_interrupt_without_event_idx_follows_no_interrupt_flag)
{
	start(false, false);
	drv__set_used_event(&d, 0x1234); /* means nothing without EVENT_IDX */
	virtq__push(&vq, 0, 1);
	ck_assert(virtq__should_interrupt(&vq));
	drv__avail(&d)->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	virtq__push(&vq, 0, 1);
	ck_assert(!virtq__should_interrupt(&vq));
	drv__avail(&d)->flags = 0;
	ck_assert(virtq__should_interrupt(&vq));
}
END_TEST

START_TEST(test_should_interrupt_with_event_idx_fires_when_used_passes_used_event)
{
	start(true, false);
	drv__avail(&d)->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT); /* ignored with EVENT_IDX */
	virtq__push(&vq, 0, 1);
	ck_assert(virtq__should_interrupt(&vq)); /* the first one always goes */
	drv__set_used_event(&d, 2);		 /* "interrupt once entry 2 is used" */
	virtq__push(&vq, 0, 1);			 /* used idx 2: entry 1 done */
	ck_assert(!virtq__should_interrupt(&vq));
	virtq__push(&vq, 0, 1); /* used idx 3: entry 2 done */
	ck_assert(virtq__should_interrupt(&vq));
	virtq__push(&vq, 0, 1);
	ck_assert(!virtq__should_interrupt(&vq)); /* already told about entry 2 */
	/* A batch that steps over the event index interrupts once. */
	drv__set_used_event(&d, 5);
	virtq__push(&vq, 0, 1);
	virtq__push(&vq, 0, 1);
	virtq__push(&vq, 0, 1);
	ck_assert(virtq__should_interrupt(&vq));
	/* Nothing new since the last check: nothing to say. */
	ck_assert(!virtq__should_interrupt(&vq));
}
END_TEST

START_TEST(test_should_interrupt_with_event_idx_across_wraparound)
{
	start(true, false);
	drv__set_used_event(&d, 0x8000);
	while (vq.used_idx != 0xfffe) {
		virtq__push(&vq, 0, 1);
		virtq__should_interrupt(&vq);
	}
	drv__set_used_event(&d, 0xffff);
	virtq__push(&vq, 0, 1); /* used idx 0xffff */
	ck_assert(!virtq__should_interrupt(&vq));
	virtq__push(&vq, 0, 1); /* used idx 0x0000: entry 0xffff done */
	ck_assert_uint_eq(drv__used_idx(&d), 0);
	ck_assert(virtq__should_interrupt(&vq));
	drv__set_used_event(&d, 1);
	virtq__push(&vq, 0, 1);
	ck_assert(!virtq__should_interrupt(&vq));
	virtq__push(&vq, 0, 1);
	ck_assert(virtq__should_interrupt(&vq));
}
END_TEST

START_TEST(test_enable_notify_writes_avail_event_and_reports_late_buffers)
{
	start(true, false);
	drv__desc(&d, 0, DATA_GPA, 16, 0, 0);
	drv__post(&d, 0);
	drv__post(&d, 0);
	pop_ok();
	pop_ok();
	ck_assert(!virtq__enable_notify(&vq));
	ck_assert_uint_eq(drv__avail_event(&d), 2);
	drv__post(&d, 0); /* arrives after the device looked */
	ck_assert(virtq__enable_notify(&vq));
	pop_ok();
	ck_assert(!virtq__enable_notify(&vq));
	ck_assert_uint_eq(drv__avail_event(&d), 3);
}
END_TEST

START_TEST(test_enable_notify_without_event_idx_leaves_avail_event_alone)
{
	start(false, false);
	drv__set_avail_event(&d, 0xabcd);
	ck_assert(!virtq__enable_notify(&vq));
	drv__post(&d, 0);
	ck_assert(virtq__enable_notify(&vq));
	ck_assert_uint_eq(drv__avail_event(&d), 0xabcd);
}
END_TEST

START_TEST(test_read_spans_readable_buffers_from_an_offset)
{
	char out[16];

	start(false, false);
	memcpy(ram + DATA_GPA, "abc", 3);
	memcpy(ram + DATA_GPA + 0x10, "defgh", 5);
	memcpy(ram + DATA_GPA + 0x20, "ijkl", 4);
	memcpy(ram + DATA_GPA + 0x30, "WXYZ", 4);
	drv__desc(&d, 0, DATA_GPA, 3, VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, DATA_GPA + 0x10, 5, VRING_DESC_F_NEXT, 2);
	drv__desc(&d, 2, DATA_GPA + 0x20, 4, VRING_DESC_F_NEXT, 3);
	drv__desc(&d, 3, DATA_GPA + 0x30, 4, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	pop_ok();
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(virtq__read(&c, 2, out, 7), 7);
	ck_assert_str_eq(out, "cdefghi");
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(virtq__read(&c, 8, out, sizeof(out)), 4); /* never the writable part */
	ck_assert_str_eq(out, "ijkl");
	ck_assert_uint_eq(virtq__read(&c, 12, out, 4), 0);
	ck_assert_uint_eq(virtq__read(&c, ~0ull, out, 4), 0);
}
END_TEST

START_TEST(test_write_spans_writable_buffers_from_an_offset)
{
	start(false, false);
	memset(ram + DATA_GPA, '.', 0x40);
	drv__desc(&d, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, DATA_GPA + 0x10, 2, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	drv__desc(&d, 2, DATA_GPA + 0x20, 6, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	drv__desc(&d, 3, DATA_GPA + 0x30, 3, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	pop_ok();
	ck_assert_uint_eq(virtq__write(&c, 1, "12345678", 8), 8);
	ck_assert_mem_eq(ram + DATA_GPA, "....", 4); /* the readable buffer is not written */
	ck_assert_mem_eq(ram + DATA_GPA + 0x10, ".1.", 3);
	ck_assert_mem_eq(ram + DATA_GPA + 0x20, "234567.", 7);
	ck_assert_mem_eq(ram + DATA_GPA + 0x30, "8...", 4);
	ck_assert_uint_eq(virtq__write(&c, 9, "abcdef", 6), 2); /* only 11 bytes writable */
	ck_assert_mem_eq(ram + DATA_GPA + 0x30, "8ab.", 4);
	ck_assert_uint_eq(virtq__write(&c, 11, "x", 1), 0);
}
END_TEST

/* ---- the virtio core: status, features, queue processing, NEEDS_RESET ---- */

static struct virtio_dev vdev;
static struct irq_rec rec;
static struct acc_log tlog;
static struct ratelimit rl;
static unsigned int handled;

/* Writable-only chains are answered with their length; a readable buffer is a protocol error. */
static int core_handle(struct virtio_dev *v, struct virtq_chain *chain, const char **why)
{
	handled++;
	if (chain->nr_out) {
		*why = "test device: readable buffer";
		return VIRTIO_REQ_BAD;
	}
	return (int)chain->in_len;
}

static void core_notify(struct virtio_dev *v, unsigned int q)
{
	virtio__process_queue(v, q, core_handle);
}

static const struct virtio_dev_ops core_ops = {
	.name = "virtio-test",
	.device_id = 63,
	.queue_notify = core_notify,
};

static void core_setup(void)
{
	vq_setup();
	test_log__init(&tlog, &rl);
	memset(&rec, 0, sizeof(rec));
	handled = 0;
	virtio__init(&vdev, &core_ops, NULL, 1ull << 5, 1, QSIZE, 0, &mem, &tlog, &rl);
	virtio__set_transport(&vdev, irq_rec__ops(), &rec);
	vdev.vqs[0].desc_gpa = d.desc_gpa;
	vdev.vqs[0].avail_gpa = d.avail_gpa;
	vdev.vqs[0].used_gpa = d.used_gpa;
}

static void core_teardown(void)
{
	virtio__exit(&vdev);
	ratelimit__destroy(&rl);
	vq_teardown();
}

static const uint8_t ACK_DRIVER = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

/* Negotiate @features, enable queue 0 and set DRIVER_OK, as a driver does. */
static void core_driver_ok(uint64_t features)
{
	pthread_mutex_lock(&vdev.lock);
	virtio__set_status(&vdev, ACK_DRIVER);
	vdev.driver_features = features;
	virtio__set_status(&vdev, ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	virtio__enable_queue(&vdev, 0);
	virtio__set_status(&vdev,
			   ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pthread_mutex_unlock(&vdev.lock);
}

START_TEST(test_core_driver_ok_without_accepted_features_needs_reset_quietly)
{
	virtio__set_status(&vdev, ACK_DRIVER);
	vdev.driver_features = 1ull << 5; /* no VERSION_1 */
	virtio__set_status(&vdev, ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(vdev.status, ACK_DRIVER);
	virtio__set_status(&vdev, ACK_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert_uint_eq(vdev.status, ACK_DRIVER | VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rec.config, 0); /* not DRIVER_OK: no interrupt */
	ck_assert_ptr_null(vdev.vqs[0].desc);
}
END_TEST

START_TEST(test_core_driver_cannot_clear_status_bits_or_set_needs_reset)
{
	const uint8_t all = ACK_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

	core_driver_ok(1ull << VIRTIO_F_VERSION_1);
	pthread_mutex_lock(&vdev.lock);
	virtio__set_status(&vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	ck_assert_uint_eq(vdev.status, all);
	virtio__set_status(&vdev, all | VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(vdev.status, all);
	virtio__needs_reset(&vdev, "test");
	virtio__set_status(&vdev, all);
	ck_assert_uint_eq(vdev.status, all | VIRTIO_CONFIG_S_NEEDS_RESET);
	pthread_mutex_unlock(&vdev.lock);
	ck_assert_uint_eq(rec.config, 1);
}
END_TEST

START_TEST(test_core_ring_outside_ram_at_driver_ok_needs_reset_and_interrupts)
{
	vdev.vqs[0].used_gpa = TEST_RAM_SIZE;
	core_driver_ok(1ull << VIRTIO_F_VERSION_1);
	ck_assert_uint_ne(vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	ck_assert(!virtio__driver_ok(&vdev));
	ck_assert_uint_eq(rec.config, 1);
	virtio__notify(&vdev, 0);
	ck_assert_uint_eq(handled, 0);
}
END_TEST

START_TEST(test_core_a_batch_of_chains_gets_one_queue_interrupt)
{
	core_driver_ok(1ull << VIRTIO_F_VERSION_1);
	for (uint16_t i = 0; i < 3; i++) {
		drv__desc(&d, i, DATA_GPA + i * 0x100u, 0x40u + i, VRING_DESC_F_WRITE, 0);
		drv__post(&d, i);
	}
	virtio__notify(&vdev, 0);
	ck_assert_uint_eq(handled, 3);
	ck_assert_uint_eq(drv__used_idx(&d), 3);
	ck_assert_uint_eq(drv__used_len(&d, 2), 0x42);
	ck_assert_uint_eq(rec.queue[0], 1);
	ck_assert_uint_eq(rec.config, 0);
}
END_TEST

START_TEST(test_core_malformed_chain_needs_reset_once_and_stops_the_queue)
{
	core_driver_ok(1ull << VIRTIO_F_VERSION_1);
	drv__desc(&d, 0, DATA_GPA, 16, VRING_DESC_F_WRITE, 0);
	drv__desc(&d, 1, DATA_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	drv__post(&d, 0);
	drv__post(&d, 1); /* loops */
	drv__post(&d, 0);
	virtio__notify(&vdev, 0);
	ck_assert_uint_eq(vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rec.config, 1);
	/* The chain before the bad one was answered; nothing after it. */
	ck_assert_uint_eq(handled, 1);
	ck_assert_uint_eq(drv__used_idx(&d), 1);
	drv__post(&d, 1);
	virtio__notify(&vdev, 0);
	ck_assert_uint_eq(handled, 1);
	ck_assert_uint_eq(rec.config, 1);
}
END_TEST

START_TEST(test_core_chain_the_device_rejects_needs_reset_and_stops_the_queue)
{
	core_driver_ok(1ull << VIRTIO_F_VERSION_1);
	drv__desc(&d, 0, DATA_GPA, 16, 0, 0); /* readable: the test device refuses it */
	drv__desc(&d, 1, DATA_GPA, 16, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	drv__post(&d, 1);
	virtio__notify(&vdev, 0);
	ck_assert_msg(vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET,
		      "status 0x%x: VIRTIO_REQ_BAD did not mark NEEDS_RESET", vdev.status);
	ck_assert_uint_eq(rec.config, 1);
	/* Nothing after the refused chain is looked at, and it is not answered. */
	ck_assert_uint_eq(handled, 1);
	ck_assert_uint_eq(drv__used_idx(&d), 0);
}
END_TEST

Suite *virtq_suite(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *tc = tcase_create("start and pop");

	tcase_add_checked_fixture(tc, vq_setup, vq_teardown);
	tcase_add_test(tc, test_start_rejects_queue_sizes_that_are_not_powers_of_two_up_to_256);
	tcase_add_test(tc, test_start_rejects_a_size_above_what_the_device_offers);
	tcase_add_test(tc, test_start_rejects_misaligned_rings);
	tcase_add_test(tc, test_start_rejects_rings_outside_ram_including_event_fields);
	tcase_add_test(tc, test_pop_single_readable_descriptor);
	tcase_add_test(tc, test_pop_chain_lists_readable_then_writable_buffers_with_lengths);
	tcase_add_test(tc, test_pop_indirect_table_follows_next_within_the_table);
	tcase_add_test(tc, test_pop_direct_descriptors_then_an_indirect_table);
	tcase_add_test(tc, test_pop_chain_of_exactly_queue_size_descriptors_is_accepted);
	tcase_add_test(tc, test_pop_indirect_table_of_queue_size_entries_is_accepted);
	tcase_add_test(tc, test_pop_and_push_keep_going_across_16_bit_index_wraparound);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile chains");
	tcase_add_checked_fixture(tc, vq_setup, vq_teardown);
	tcase_add_test(tc, test_pop_refuses_a_chain_whose_next_points_back);
	tcase_add_test(tc, test_pop_refuses_a_chain_longer_than_the_queue_size);
	tcase_add_test(tc, test_pop_refuses_head_or_next_index_at_or_past_the_queue_size);
	tcase_add_test(tc, test_pop_refuses_avail_index_moving_by_more_than_the_queue_size);
	tcase_add_test(tc, test_pop_refuses_a_buffer_outside_guest_ram_or_wrapping_past_2_64);
	tcase_add_test(tc, test_pop_refuses_a_readable_descriptor_after_a_writable_one);
	tcase_add_test(tc, test_pop_refuses_indirect_without_the_feature);
	tcase_add_test(tc, test_pop_refuses_a_nested_indirect_table);
	tcase_add_test(tc, test_pop_refuses_an_indirect_length_that_is_not_a_multiple_of_16);
	tcase_add_test(tc, test_pop_refuses_an_indirect_descriptor_with_next);
	tcase_add_test(tc, test_pop_refuses_an_indirect_table_outside_guest_ram);
	tcase_add_test(tc, test_pop_refuses_an_indirect_next_past_the_table);
	tcase_add_test(tc, test_pop_refuses_a_loop_inside_an_indirect_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("push, interrupts and copies");
	tcase_add_checked_fixture(tc, vq_setup, vq_teardown);
	tcase_add_test(tc, test_push_writes_id_and_length_and_publishes_the_index);
	tcase_add_test(tc, test_should_interrupt_without_event_idx_follows_no_interrupt_flag);
	tcase_add_test(tc, test_should_interrupt_with_event_idx_fires_when_used_passes_used_event);
	tcase_add_test(tc, test_should_interrupt_with_event_idx_across_wraparound);
	tcase_add_test(tc, test_enable_notify_writes_avail_event_and_reports_late_buffers);
	tcase_add_test(tc, test_enable_notify_without_event_idx_leaves_avail_event_alone);
	tcase_add_test(tc, test_read_spans_readable_buffers_from_an_offset);
	tcase_add_test(tc, test_write_spans_writable_buffers_from_an_offset);
	suite_add_tcase(s, tc);

	tc = tcase_create("virtio core");
	tcase_add_checked_fixture(tc, core_setup, core_teardown);
	tcase_add_test(tc, test_core_driver_ok_without_accepted_features_needs_reset_quietly);
	tcase_add_test(tc, test_core_driver_cannot_clear_status_bits_or_set_needs_reset);
	tcase_add_test(tc, test_core_ring_outside_ram_at_driver_ok_needs_reset_and_interrupts);
	tcase_add_test(tc, test_core_a_batch_of_chains_gets_one_queue_interrupt);
	tcase_add_test(tc, test_core_malformed_chain_needs_reset_once_and_stops_the_queue);
	tcase_add_test(tc, test_core_chain_the_device_rejects_needs_reset_and_stops_the_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(virtq_suite());
	int failed;

	srunner_add_suite(sr, blk_suite());
	srunner_add_suite(sr, virtio_pci_suite());
	srunner_add_suite(sr, vhost_user_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
