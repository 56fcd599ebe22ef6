// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_virtio runner): virtio-blk. First blk__decode, the pure
 * request decoder, on chains built in test memory; then the device end to
 * end without KVM: a temporary image, io_uring completions on a real event
 * loop, and the test playing the driver through the virtio core.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "accord/eventloop.h"
#include "accord/virtio.h"
#include "accord/virtio_blk.h"

#include "virtio_test.h"

/* ---- blk__decode ---- */

static struct virtq_chain c;
static struct blk_request req;
static struct blk_limits lim;
static uint8_t status;

static void decode_setup(void)
{
	memset(&c, 0, sizeof(c));
	memset(&req, 0xaa, sizeof(req));
	lim = (struct blk_limits){ .capacity = 100 };
	status = 0xff;
}

/* Append a buffer; readable ones must all come before the writable ones. */
static void add(void *p, uint32_t len, bool writable)
{
	c.bufs[c.nr_out + c.nr_in] = (struct virtq_buf){ p, len };
	if (writable) {
		c.nr_in++;
		c.in_len += len;
	} else {
		c.nr_out++;
		c.out_len += len;
	}
}

static struct virtio_blk_outhdr hdr(uint32_t type, uint64_t sector)
{
	return (struct virtio_blk_outhdr){ .type = htole32(type), .sector = htole64(sector) };
}

static int decode(void)
{
	const char *why = NULL;

	return blk__decode(&c, &lim, &req, &why);
}

/* A request of @type at @sector with @len bytes of data, readable or not, then the status. */
static void simple(struct virtio_blk_outhdr *h, uint32_t type, uint64_t sector, void *data,
		   uint32_t len, bool writable)
{
	memset(&c, 0, sizeof(c));
	*h = hdr(type, sector);
	add(h, sizeof(*h), false);
	if (len)
		add(data, len, writable);
	add(&status, 1, true);
}

/* Decoded into I/O: @op on [@offset, @offset + @len) through @niov iovecs. */
static void expect_io(enum blk_op op, uint64_t offset, uint64_t len, unsigned int niov)
{
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(req.op, op);
	ck_assert_uint_eq(req.status, VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(req.offset, offset);
	ck_assert_uint_eq(req.len, len);
	ck_assert_uint_eq(req.niov, niov);
}

static void expect_iov(unsigned int i, const void *base, size_t len)
{
	ck_assert_ptr_eq(req.iov[i].iov_base, base);
	ck_assert_uint_eq(req.iov[i].iov_len, len);
}

static void expect_answer(uint8_t s)
{
	ck_assert_int_eq(decode(), 0);
	ck_assert_int_eq(req.op, BLK_OP_NONE);
	ck_assert_uint_eq(req.status, s);
	ck_assert_ptr_eq(req.status_byte, &status);
}

START_TEST(test_decode_read_with_data_split_across_descriptors)
{
	static uint8_t d0[512], d1[1024];
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_IN, 7);

	add(&h, sizeof(h), false);
	add(d0, sizeof(d0), true);
	add(d1, sizeof(d1), true);
	add(&status, 1, true);
	expect_io(BLK_OP_READ, 7 * 512, 1536, 2);
	expect_iov(0, d0, 512);
	expect_iov(1, d1, 1024);
	ck_assert_ptr_eq(req.status_byte, &status);
}
END_TEST

START_TEST(test_decode_write_with_header_split_and_data_sharing_its_descriptor)
{
	static uint8_t raw[16 + 1024];
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_OUT, 0x123456789ull);

	lim.capacity = 0x200000000ull;
	memcpy(raw, &h, sizeof(h));
	add(raw, 10, false);
	add(raw + 10, 6 + 512, false);
	add(raw + 528, 512, false);
	add(&status, 1, true);
	expect_io(BLK_OP_WRITE, 0x123456789ull * 512, 1024, 2);
	expect_iov(0, raw + 16, 512);
	expect_iov(1, raw + 528, 512);
	ck_assert_ptr_eq(req.status_byte, &status);
}
END_TEST

START_TEST(test_decode_status_byte_at_the_end_of_the_data_descriptor)
{
	static uint8_t buf[513];
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_IN, 99);

	add(&h, sizeof(h), false);
	add(buf, sizeof(buf), true);
	expect_io(BLK_OP_READ, 99 * 512, 512, 1);
	expect_iov(0, buf, 512);
	ck_assert_ptr_eq(req.status_byte, buf + 512);
}
END_TEST

START_TEST(test_decode_without_a_status_byte_is_bad)
{
	static uint8_t buf[512];
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_OUT, 0);
	const char *why = NULL;

	add(&h, sizeof(h), false);
	add(buf, sizeof(buf), false);
	ck_assert_int_eq(blk__decode(&c, &lim, &req, &why), VIRTIO_REQ_BAD);
	ck_assert_str_eq(why, "virtio-blk request has no status byte");
	add(buf, 0, true); /* an empty writable buffer holds no status either */
	ck_assert_int_eq(blk__decode(&c, &lim, &req, &why), VIRTIO_REQ_BAD);
}
END_TEST

START_TEST(test_decode_header_shorter_than_16_bytes_is_ioerr)
{
	struct virtio_blk_outhdr h = hdr(VIRTIO_BLK_T_IN, 0);

	add(&h, 15, false);
	add(&status, 1, true);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_decode_read_or_write_past_capacity_is_ioerr)
{
	static uint8_t data[1024];
	struct virtio_blk_outhdr h;

	for (uint32_t type = VIRTIO_BLK_T_IN; type <= VIRTIO_BLK_T_OUT; type++) {
		bool in = type == VIRTIO_BLK_T_IN;

		simple(&h, type, 99, data, 1024, in); /* one sector too many */
		expect_answer(VIRTIO_BLK_S_IOERR);
		simple(&h, type, 100, data, 512, in); /* sector == capacity */
		expect_answer(VIRTIO_BLK_S_IOERR);
		simple(&h, type, 101, data, 512, in); /* capacity - sector would wrap */
		expect_answer(VIRTIO_BLK_S_IOERR);
		simple(&h, type, UINT64_MAX / 512 + 1, data, 512, in); /* sector * 512 wraps to 0 */
		expect_answer(VIRTIO_BLK_S_IOERR);
		simple(&h, type, UINT64_MAX, data, 512, in); /* sector + 1 wraps to 0 */
		expect_answer(VIRTIO_BLK_S_IOERR);
		simple(&h, type, 99, data, 512, in); /* the last sector is fine */
		expect_io(in ? BLK_OP_READ : BLK_OP_WRITE, 99 * 512, 512, 1);
	}
}
END_TEST

START_TEST(test_decode_length_not_a_multiple_of_512_is_ioerr)
{
	static uint8_t data[1024];
	struct virtio_blk_outhdr h;

	simple(&h, VIRTIO_BLK_T_IN, 0, data, 100, true);
	expect_answer(VIRTIO_BLK_S_IOERR);
	simple(&h, VIRTIO_BLK_T_OUT, 0, data, 513, false);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_decode_write_on_a_readonly_disk_is_ioerr)
{
	static uint8_t data[512];
	struct virtio_blk_outhdr h;

	lim.readonly = true;
	simple(&h, VIRTIO_BLK_T_OUT, 0, data, 512, false);
	expect_answer(VIRTIO_BLK_S_IOERR);
	simple(&h, VIRTIO_BLK_T_IN, 0, data, 512, true); /* reading stays fine */
	expect_io(BLK_OP_READ, 0, 512, 1);
}
END_TEST

START_TEST(test_decode_data_in_the_wrong_direction_is_ioerr)
{
	static uint8_t data[512], more[512];
	struct virtio_blk_outhdr h;

	simple(&h, VIRTIO_BLK_T_IN, 0, data, 512, false); /* read into readable memory */
	expect_answer(VIRTIO_BLK_S_IOERR);
	simple(&h, VIRTIO_BLK_T_OUT, 0, data, 512, true); /* write from writable memory */
	expect_answer(VIRTIO_BLK_S_IOERR);
	memset(&c, 0, sizeof(c)); /* a read with some readable data as well */
	h = hdr(VIRTIO_BLK_T_IN, 0);
	add(&h, sizeof(h), false);
	add(data, 512, false);
	add(more, 512, true);
	add(&status, 1, true);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_decode_flush_is_io_but_answered_at_once_on_a_readonly_disk)
{
	struct virtio_blk_outhdr h;

	simple(&h, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
	expect_io(BLK_OP_FLUSH, 0, 0, 0);
	ck_assert_ptr_eq(req.status_byte, &status);
	lim.readonly = true;
	expect_answer(VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_decode_get_id_is_clamped_to_20_bytes)
{
	static uint8_t id[64], a[10], b[30];
	struct virtio_blk_outhdr h;

	simple(&h, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id), true);
	expect_io(BLK_OP_GET_ID, 0, VIRTIO_BLK_ID_BYTES, 1);
	expect_iov(0, id, 20);
	simple(&h, VIRTIO_BLK_T_GET_ID, 0, id, 8, true);
	expect_io(BLK_OP_GET_ID, 0, 8, 1);
	expect_iov(0, id, 8);
	memset(&c, 0, sizeof(c));
	add(&h, sizeof(h), false);
	add(a, sizeof(a), true);
	add(b, sizeof(b), true);
	add(&status, 1, true);
	expect_io(BLK_OP_GET_ID, 0, 20, 2);
	expect_iov(0, a, 10);
	expect_iov(1, b, 10);
}
END_TEST

/* A discard or write-zeroes request: header and @n segments in one readable buffer. */
static void segments(uint32_t type, const struct virtio_blk_discard_write_zeroes *seg,
		     unsigned int n)
{
	static uint8_t raw[16 + 4 * sizeof(*seg)];
	struct virtio_blk_outhdr h = hdr(type, 0);

	memset(&c, 0, sizeof(c));
	memcpy(raw, &h, sizeof(h));
	memcpy(raw + 16, seg, n * sizeof(*seg));
	add(raw, 16 + n * (uint32_t)sizeof(*seg), false);
	add(&status, 1, true);
}

static struct virtio_blk_discard_write_zeroes seg(uint64_t sector, uint32_t num, uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){ .sector = htole64(sector),
							 .num_sectors = htole32(num),
							 .flags = htole32(flags) };
}

START_TEST(test_decode_discard_and_write_zeroes_are_unsupp_when_not_offered)
{
	struct virtio_blk_discard_write_zeroes s = seg(0, 1, 0);

	segments(VIRTIO_BLK_T_DISCARD, &s, 1);
	expect_answer(VIRTIO_BLK_S_UNSUPP);
	segments(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1);
	expect_answer(VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(test_decode_discard_segment_gives_byte_offset_and_length)
{
	struct virtio_blk_discard_write_zeroes s = seg(8, 16, 0);

	lim.discard = true;
	segments(VIRTIO_BLK_T_DISCARD, &s, 1);
	expect_io(BLK_OP_DISCARD, 8 * 512, 16 * 512, 0);
	ck_assert(!req.unmap);
	ck_assert_ptr_eq(req.status_byte, &status);
}
END_TEST

START_TEST(test_decode_write_zeroes_carries_the_unmap_flag)
{
	struct virtio_blk_discard_write_zeroes s = seg(90, 10, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);

	lim.write_zeroes = true;
	segments(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1);
	expect_io(BLK_OP_WRITE_ZEROES, 90 * 512, 10 * 512, 0);
	ck_assert(req.unmap);
	s = seg(0, 1, 0);
	segments(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1);
	expect_io(BLK_OP_WRITE_ZEROES, 0, 512, 0);
	ck_assert(!req.unmap);
}
END_TEST

START_TEST(test_decode_two_segments_are_ioerr)
{
	struct virtio_blk_discard_write_zeroes s[2] = { seg(0, 1, 0), seg(4, 1, 0) };

	lim.discard = lim.write_zeroes = true;
	segments(VIRTIO_BLK_T_DISCARD, s, 2);
	expect_answer(VIRTIO_BLK_S_IOERR);
	segments(VIRTIO_BLK_T_WRITE_ZEROES, s, 2);
	expect_answer(VIRTIO_BLK_S_IOERR);
	segments(VIRTIO_BLK_T_DISCARD, s, 0);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_decode_discard_with_flags_or_unknown_flags_are_unsupp)
{
	struct virtio_blk_discard_write_zeroes s = seg(0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);

	lim.discard = lim.write_zeroes = true;
	segments(VIRTIO_BLK_T_DISCARD, &s, 1);
	expect_answer(VIRTIO_BLK_S_UNSUPP);
	s = seg(0, 1, 0x2);
	segments(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1);
	expect_answer(VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(test_decode_segment_empty_too_long_or_past_capacity_is_ioerr)
{
	struct virtio_blk_discard_write_zeroes big_disk[] = {
		seg(0, 0, 0),
		seg(0, BLK_MAX_DISCARD_SECTORS + 1, 0),
		seg(UINT64_MAX / 512 + 1, 1, 0),
	};
	struct virtio_blk_discard_write_zeroes small_disk[] = { seg(90, 11, 0), seg(100, 1, 0) };

	lim.discard = true;
	lim.capacity = 0x10000000;
	for (unsigned int i = 0; i < sizeof(big_disk) / sizeof(big_disk[0]); i++) {
		segments(VIRTIO_BLK_T_DISCARD, &big_disk[i], 1);
		expect_answer(VIRTIO_BLK_S_IOERR);
	}
	lim.capacity = 100;
	for (unsigned int i = 0; i < sizeof(small_disk) / sizeof(small_disk[0]); i++) {
		segments(VIRTIO_BLK_T_DISCARD, &small_disk[i], 1);
		expect_answer(VIRTIO_BLK_S_IOERR);
	}
}
END_TEST

START_TEST(test_decode_discard_on_a_readonly_disk_is_ioerr)
{
	struct virtio_blk_discard_write_zeroes s = seg(0, 1, 0);

	lim.discard = lim.readonly = true;
	segments(VIRTIO_BLK_T_DISCARD, &s, 1);
	expect_answer(VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_decode_unknown_types_are_unsupp)
{
	static const uint32_t types[] = { 2, 3, 10, 14, 99, 0x80000000u };
	static uint8_t data[512];
	struct virtio_blk_outhdr h;

	for (unsigned int i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		simple(&h, types[i], 0, data, 512, true);
		expect_answer(VIRTIO_BLK_S_UNSUPP);
	}
}
END_TEST

/* ---- virtio-blk end to end ---- */

#define QSIZE	   16
#define RING_GPA   0x1000
#define REQ_GPA	   0x10000
#define IMAGE_SIZE 0x10000u /* 128 sectors */

static uint8_t *ram;
static struct guest_mem mem;
static struct vring_drv d;
static struct event_loop loop;
static struct virtio_blk blk;
static struct acc_log tlog;
static struct ratelimit rl;
static struct irq_rec rec;
static char path[64];
static int image_fd = -1;

static const uint8_t S_ALL = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			     VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;

/* Request slot @s: header at +0, status at +0x10, up to 12 KiB of data at +0x1000. */
static uint64_t slot_gpa(unsigned int s)
{
	return REQ_GPA + s * 0x4000ull;
}

static uint8_t *slot_data(unsigned int s)
{
	return ram + slot_gpa(s) + 0x1000;
}

static uint8_t slot_status(unsigned int s)
{
	return ram[slot_gpa(s) + 0x10];
}

/* Descriptors 3s..3s+2: header, data (if @len), status; returns the head. */
static uint16_t post(unsigned int s, uint32_t type, uint64_t sector, uint32_t len)
{
	struct virtio_blk_outhdr h = hdr(type, sector);
	uint16_t head = (uint16_t)(3 * s);
	uint16_t data_flags = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;

	memcpy(ram + slot_gpa(s), &h, sizeof(h));
	ram[slot_gpa(s) + 0x10] = 0xff;
	drv__desc(&d, head, slot_gpa(s), 16, VRING_DESC_F_NEXT, head + (len ? 1 : 2));
	drv__desc(&d, head + 1, slot_gpa(s) + 0x1000, len, data_flags | VRING_DESC_F_NEXT,
		  head + 2);
	drv__desc(&d, head + 2, slot_gpa(s) + 0x10, 1, VRING_DESC_F_WRITE, 0);
	drv__post(&d, head);
	return head;
}

static void notify(void)
{
	virtio__notify(&blk.vdev, 0);
}

/* Run the event loop until the used ring holds @n entries. */
static void wait_used(uint16_t n)
{
	for (int i = 0; i < 50 && drv__used_idx(&d) != n; i++)
		ck_assert_int_ge(eventloop__run_once(&loop, 100), 0);
	ck_assert_uint_eq(drv__used_idx(&d), n);
}

static void blk_driver_ok(void)
{
	struct virtio_dev *v = &blk.vdev;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	memset(ram + RING_GPA, 0, 0x3000);
	vring_drv__init(&d, ram, QSIZE, RING_GPA);
	pthread_mutex_lock(&v->lock);
	virtio__set_status(v, s);
	v->driver_features = v->device_features;
	virtio__set_status(v, s | VIRTIO_CONFIG_S_FEATURES_OK);
	v->vqs[0].size = QSIZE;
	v->vqs[0].desc_gpa = d.desc_gpa;
	v->vqs[0].avail_gpa = d.avail_gpa;
	v->vqs[0].used_gpa = d.used_gpa;
	virtio__enable_queue(v, 0);
	virtio__set_status(v, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	pthread_mutex_unlock(&v->lock);
	ck_assert_uint_eq(v->status, S_ALL);
}

static void e2e_start(bool readonly)
{
	struct virtio_blk_opts opts = { .path = path, .readonly = readonly };
	struct acc_err err = { { 0 } };

	ram = calloc(1, TEST_RAM_SIZE);
	ck_assert_ptr_nonnull(ram);
	guest_mem__init_buffer(&mem, ram, TEST_RAM_SIZE);
	test_log__init(&tlog, &rl);
	memset(&rec, 0, sizeof(rec));
	image_fd = make_image(path, sizeof(path), IMAGE_SIZE);
	ck_assert_int_eq(eventloop__init(&loop), 0);
	ck_assert_msg(virtio_blk__init(&blk, &opts, &loop, &mem, &tlog, &rl, &err) == 0, "%s",
		      err.msg);
	unlink(path); /* nothing left behind, even when a test fails */
	virtio__set_transport(&blk.vdev, irq_rec__ops(), &rec);
	blk_driver_ok();
}

static void e2e_setup(void)
{
	e2e_start(false);
}

static void e2e_setup_readonly(void)
{
	e2e_start(true);
}

static void e2e_teardown(void)
{
	virtio_blk__exit(&blk);
	eventloop__exit(&loop);
	close(image_fd);
	ratelimit__destroy(&rl);
	free(ram);
	ram = NULL;
}

/* The image's bytes [off, off + len) as they are on disk now. */
static uint8_t *image_read(uint64_t off, size_t len)
{
	static uint8_t buf[0x4000];

	ck_assert_uint_le(len, sizeof(buf));
	ck_assert_int_eq(pread(image_fd, buf, len, (off_t)off), (ssize_t)len);
	return buf;
}

START_TEST(test_blk_config_and_features_describe_the_image)
{
	ck_assert_uint_eq(le64toh(blk.config.capacity), IMAGE_SIZE / 512);
	ck_assert_uint_eq(le32toh(blk.config.seg_max), BLK_SEG_MAX);
	ck_assert_uint_eq(le32toh(blk.config.blk_size), 512);
	ck_assert_uint_ne(blk.vdev.device_features & (1ull << VIRTIO_BLK_F_FLUSH), 0);
	ck_assert_uint_eq(blk.vdev.device_features & (1ull << VIRTIO_BLK_F_RO), 0);
	ck_assert_uint_eq(blk.vdev.queue_max, BLK_QUEUE_SIZE);
}
END_TEST

START_TEST(test_blk_write_lands_at_sector_times_512_in_the_image)
{
	uint16_t head;
	uint8_t *img;

	for (unsigned int i = 0; i < 1024; i++)
		slot_data(0)[i] = (uint8_t)(0x5a ^ i);
	head = post(0, VIRTIO_BLK_T_OUT, 3, 1024);
	notify();
	wait_used(1);
	ck_assert_uint_eq(drv__used_id(&d, 0), head);
	ck_assert_uint_eq(drv__used_len(&d, 0), 1);
	ck_assert_uint_eq(slot_status(0), VIRTIO_BLK_S_OK);
	ck_assert_uint_ge(rec.queue[0], 1);
	img = image_read(3 * 512 - 1, 1026);
	ck_assert_uint_eq(img[0], image_byte(3 * 512 - 1));
	ck_assert_mem_eq(img + 1, slot_data(0), 1024);
	ck_assert_uint_eq(img[1025], image_byte(5 * 512));
}
END_TEST

START_TEST(test_blk_read_returns_the_image_bytes)
{
	uint16_t head = post(1, VIRTIO_BLK_T_IN, 5, 2048);

	notify();
	wait_used(1);
	ck_assert_uint_eq(drv__used_id(&d, 0), head);
	ck_assert_uint_eq(drv__used_len(&d, 0), 2049);
	ck_assert_uint_eq(slot_status(1), VIRTIO_BLK_S_OK);
	for (unsigned int i = 0; i < 2048; i++)
		ck_assert_uint_eq(slot_data(1)[i], image_byte(5 * 512 + i));
}
END_TEST

START_TEST(test_blk_flush_and_get_id_complete_ok)
{
	const char *base = strrchr(path, '/') + 1;
	size_t n = strlen(base);

	ck_assert_uint_lt(n, VIRTIO_BLK_ID_BYTES);
	memset(slot_data(1), 0xee, 64);
	post(0, VIRTIO_BLK_T_FLUSH, 0, 0);
	post(1, VIRTIO_BLK_T_GET_ID, 0, 64);
	notify();
	wait_used(2);
	ck_assert_uint_eq(slot_status(0), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(slot_status(1), VIRTIO_BLK_S_OK);
	/* The file name, NUL-padded to 20 bytes, and nothing past them. */
	ck_assert_mem_eq(slot_data(1), base, n);
	for (size_t i = n; i < VIRTIO_BLK_ID_BYTES; i++)
		ck_assert_uint_eq(slot_data(1)[i], 0);
	ck_assert_uint_eq(slot_data(1)[VIRTIO_BLK_ID_BYTES], 0xee);
	for (uint16_t i = 0; i < 2; i++)
		ck_assert_uint_eq(drv__used_len(&d, i), drv__used_id(&d, i) == 3 ? 21 : 1);
}
END_TEST

START_TEST(test_blk_request_past_the_end_completes_with_ioerr_at_once)
{
	uint16_t head = post(0, VIRTIO_BLK_T_IN, IMAGE_SIZE / 512, 512);

	notify();
	ck_assert_uint_eq(drv__used_idx(&d), 1);
	ck_assert_uint_eq(drv__used_id(&d, 0), head);
	ck_assert_uint_eq(drv__used_len(&d, 0), 1);
	ck_assert_uint_eq(slot_status(0), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(blk.vdev.status, S_ALL);
}
END_TEST

START_TEST(test_blk_mixed_batch_completes_each_request_on_its_own)
{
	memset(slot_data(0), 0x11, 512);
	post(0, VIRTIO_BLK_T_OUT, 127, 512);
	post(1, VIRTIO_BLK_T_OUT, 128, 512);
	post(2, VIRTIO_BLK_T_IN, 0, 512);
	post(3, 1234, 0, 0);
	notify();
	wait_used(4);
	ck_assert_uint_eq(slot_status(0), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(slot_status(1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(slot_status(2), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(slot_status(3), VIRTIO_BLK_S_UNSUPP);
	ck_assert_mem_eq(image_read(127 * 512, 512), slot_data(0), 512);
	ck_assert_uint_eq(slot_data(2)[511], image_byte(511));
}
END_TEST

START_TEST(test_blk_readonly_disk_offers_ro_and_rejects_writes)
{
	uint8_t *img;

	ck_assert_uint_ne(blk.vdev.device_features & (1ull << VIRTIO_BLK_F_RO), 0);
	memset(slot_data(0), 0x77, 512);
	post(0, VIRTIO_BLK_T_OUT, 0, 512);
	post(1, VIRTIO_BLK_T_IN, 0, 512);
	post(2, VIRTIO_BLK_T_FLUSH, 0, 0);
	notify();
	wait_used(3);
	ck_assert_uint_eq(slot_status(0), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(slot_status(1), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(slot_status(2), VIRTIO_BLK_S_OK);
	img = image_read(0, 512);
	for (unsigned int i = 0; i < 512; i++)
		ck_assert_uint_eq(img[i], image_byte(i));
}
END_TEST

START_TEST(test_blk_looping_chain_needs_reset_and_the_device_recovers_after_reset)
{
	drv__desc(&d, 0, slot_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, slot_gpa(0) + 0x10, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	drv__post(&d, 0);
	notify();
	ck_assert_uint_eq(blk.vdev.status, S_ALL | VIRTIO_CONFIG_S_NEEDS_RESET);
	ck_assert_uint_eq(rec.config, 1);
	ck_assert_uint_eq(drv__used_idx(&d), 0);
	/* Dead until reset: new requests are not looked at. */
	post(1, VIRTIO_BLK_T_IN, 0, 512);
	notify();
	ck_assert_int_ge(eventloop__run_once(&loop, 0), 0);
	ck_assert_uint_eq(drv__used_idx(&d), 0);
	ck_assert_uint_eq(slot_status(1), 0xff);
	pthread_mutex_lock(&blk.vdev.lock);
	virtio__set_status(&blk.vdev, 0);
	pthread_mutex_unlock(&blk.vdev.lock);
	blk_driver_ok();
	post(1, VIRTIO_BLK_T_IN, 2, 512);
	notify();
	wait_used(1);
	ck_assert_uint_eq(slot_status(1), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(slot_data(1)[0], image_byte(1024));
}
END_TEST

START_TEST(test_blk_request_without_status_byte_needs_reset)
{
	drv__desc(&d, 0, slot_gpa(0), 16, VRING_DESC_F_NEXT, 1);
	drv__desc(&d, 1, slot_gpa(0) + 0x1000, 512, 0, 0);
	drv__post(&d, 0);
	post(1, VIRTIO_BLK_T_FLUSH, 0, 0);
	notify();
	ck_assert_int_ge(eventloop__run_once(&loop, 100), 0);
	ck_assert_msg(blk.vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET,
		      "status 0x%x: a chain without a status byte did not mark NEEDS_RESET",
		      blk.vdev.status);
	ck_assert_uint_eq(rec.config, 1);
	ck_assert_uint_eq(drv__used_idx(&d), 0);
}
END_TEST

START_TEST(test_blk_reset_with_io_in_flight_waits_for_it)
{
	uint16_t used_before;

	for (unsigned int i = 0; i < 0x3000; i++)
		slot_data(0)[i] = (uint8_t)(i * 13);
	post(0, VIRTIO_BLK_T_OUT, 10, 0x3000);
	notify();
	ck_assert_uint_eq(blk.nr_inflight, 1);
	used_before = drv__used_idx(&d);
	pthread_mutex_lock(&blk.vdev.lock);
	virtio__set_status(&blk.vdev, 0);
	pthread_mutex_unlock(&blk.vdev.lock);
	/* The write finished before the reset returned, and was not answered. */
	ck_assert_uint_eq(blk.nr_inflight, 0);
	ck_assert_ptr_null(blk.inflight);
	ck_assert_uint_eq(blk.vdev.status, 0);
	ck_assert_mem_eq(image_read(10 * 512, 0x3000), slot_data(0), 0x3000);
	ck_assert_uint_eq(drv__used_idx(&d), used_before);
	ck_assert_uint_eq(slot_status(0), 0xff);
	/* Its completion event, if still pending, finds nothing to do. */
	ck_assert_int_ge(eventloop__run_once(&loop, 0), 0);
	ck_assert_uint_eq(drv__used_idx(&d), used_before);
	ck_assert_uint_eq(slot_status(0), 0xff);
}
END_TEST

Suite *blk_suite(void)
{
	Suite *s = suite_create("virtio-blk");
	TCase *tc = tcase_create("decode");

	tcase_add_checked_fixture(tc, decode_setup, NULL);
	tcase_add_test(tc, test_decode_read_with_data_split_across_descriptors);
	tcase_add_test(tc, test_decode_write_with_header_split_and_data_sharing_its_descriptor);
	tcase_add_test(tc, test_decode_status_byte_at_the_end_of_the_data_descriptor);
	tcase_add_test(tc, test_decode_without_a_status_byte_is_bad);
	tcase_add_test(tc, test_decode_header_shorter_than_16_bytes_is_ioerr);
	tcase_add_test(tc, test_decode_read_or_write_past_capacity_is_ioerr);
	tcase_add_test(tc, test_decode_length_not_a_multiple_of_512_is_ioerr);
	tcase_add_test(tc, test_decode_write_on_a_readonly_disk_is_ioerr);
	tcase_add_test(tc, test_decode_data_in_the_wrong_direction_is_ioerr);
	tcase_add_test(tc, test_decode_flush_is_io_but_answered_at_once_on_a_readonly_disk);
	tcase_add_test(tc, test_decode_get_id_is_clamped_to_20_bytes);
	tcase_add_test(tc, test_decode_discard_and_write_zeroes_are_unsupp_when_not_offered);
	tcase_add_test(tc, test_decode_discard_segment_gives_byte_offset_and_length);
	tcase_add_test(tc, test_decode_write_zeroes_carries_the_unmap_flag);
	tcase_add_test(tc, test_decode_two_segments_are_ioerr);
	tcase_add_test(tc, test_decode_discard_with_flags_or_unknown_flags_are_unsupp);
	tcase_add_test(tc, test_decode_segment_empty_too_long_or_past_capacity_is_ioerr);
	tcase_add_test(tc, test_decode_discard_on_a_readonly_disk_is_ioerr);
	tcase_add_test(tc, test_decode_unknown_types_are_unsupp);
	suite_add_tcase(s, tc);

	tc = tcase_create("end to end");
	tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_add_test(tc, test_blk_config_and_features_describe_the_image);
	tcase_add_test(tc, test_blk_write_lands_at_sector_times_512_in_the_image);
	tcase_add_test(tc, test_blk_read_returns_the_image_bytes);
	tcase_add_test(tc, test_blk_flush_and_get_id_complete_ok);
	tcase_add_test(tc, test_blk_request_past_the_end_completes_with_ioerr_at_once);
	tcase_add_test(tc, test_blk_mixed_batch_completes_each_request_on_its_own);
	tcase_add_test(tc, test_blk_looping_chain_needs_reset_and_the_device_recovers_after_reset);
	tcase_add_test(tc, test_blk_request_without_status_byte_needs_reset);
	tcase_add_test(tc, test_blk_reset_with_io_in_flight_waits_for_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("end to end, read-only");
	tcase_add_checked_fixture(tc, e2e_setup_readonly, e2e_teardown);
	tcase_add_test(tc, test_blk_readonly_disk_offers_ro_and_rejects_writes);
	suite_add_tcase(s, tc);
	return s;
}
