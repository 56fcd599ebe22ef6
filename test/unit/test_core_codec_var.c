// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core codec, the variable-length
 * messages (ranges, messages, file paths, data), golden bytes written by
 * hand from the ABI header, the host's check of an ACCEPT against its
 * offer, and the header and error helpers.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rc_codec.h"

Suite *core_codec_var_suite(void);

/* A copy of n bytes on the heap, exactly n long, so valgrind sees any overread. */
static uint8_t *exact(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, n);
	return p;
}

/* Hand-assembled little-endian bytes: the layout is what the ABI says, not what offsetof says. */
START_TEST(test_codec_golden_bytes)
{
	static const uint8_t request[64] = {
		0x03, 0x00, 0x00, 0x00,
		0x40, 0x00, 0x00, 0x00, /* type 3, flags, len 64 */
		0x88, 0x77, 0x66, 0x55,
		0x44, 0x33, 0x22, 0x11, /* txn */
		0xd0, 0xc0, 0xb0, 0xa0,
		0x00, 0x00, 0x00, 0x00, /* app_id, status */
		0x01, 0x00, 0x03, 0x02,
		0xdc, 0x05, 0x00, 0x00, /* kind, urgency, latency, deadline */
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x01, 0x00, 0x00, /* amount 2^40 */
		0x00, 0x00, 0x00, 0x40,
		0x00, 0x00, 0x00, 0x00, /* minimum 2^30 */
		0x10, 0x32, 0x54, 0x76,
		0x98, 0xba, 0xdc, 0xfe, /* projected */
		0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00, /* duration, reserved */
	};
	static const uint8_t ranges[48] = {
		0x08, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, /* type 8, len 48 */
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* txn 1 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* nr_ranges 1 */
		0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, /* addr 0x100200000 */
		0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, /* len 4 MiB */
	};
	struct rc_request m = {
		.hdr = { .type = VIRTIO_RESOURCE_T_REQUEST,
			 .txn = 0x1122334455667788ull,
			 .app_id = 0xa0b0c0d0 },
		.kind = VIRTIO_RESOURCE_K_MEMORY,
		.urgency = VIRTIO_RESOURCE_U_CRITICAL,
		.latency = VIRTIO_RESOURCE_L_REALTIME,
		.deadline_ms = 1500,
		.amount = 1ull << 40,
		.minimum = 1ull << 30,
		.projected = 0xfedcba9876543210ull,
		.duration_ms = 0xffffffffu,
	};
	struct rc_ranges r;
	uint8_t buf[128];

	ck_assert_uint_eq(rc_encode_request(buf, sizeof(buf), &m), 64);
	ck_assert_mem_eq(buf, request, 64);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(rc_decode_request(request, sizeof(request), &m), 0);
	ck_assert_uint_eq(m.amount, 1ull << 40);
	ck_assert_uint_eq(m.deadline_ms, 1500);
	ck_assert_uint_eq(m.urgency, VIRTIO_RESOURCE_U_CRITICAL);

	ck_assert_int_eq(rc_decode_ranges(ranges, sizeof(ranges), 2 << 20, &r), 0);
	ck_assert_uint_eq(r.hdr.type, VIRTIO_RESOURCE_T_UNRESERVE);
	ck_assert_uint_eq(r.nr_ranges, 1);
	ck_assert_uint_eq(r.range[0].addr, 0x100200000ull);
	ck_assert_uint_eq(r.range[0].len, 4 << 20);
	ck_assert_uint_eq(rc_encode_ranges(buf, sizeof(buf), &r), 48);
	ck_assert_mem_eq(buf, ranges, 48);
}
END_TEST

START_TEST(test_codec_ranges_up_to_the_maximum)
{
	struct rc_ranges *in = calloc(1, sizeof(*in)), *out = calloc(1, sizeof(*out));
	size_t size = sizeof(struct virtio_resource_ranges) +
		      VIRTIO_RESOURCE_MAX_RANGES * sizeof(struct virtio_resource_range);
	uint8_t *buf = malloc(size + 16), *copy;

	in->hdr.type = VIRTIO_RESOURCE_T_RESERVE;
	for (uint32_t n = 1; n <= VIRTIO_RESOURCE_MAX_RANGES; n++) {
		in->nr_ranges = n;
		in->range[n - 1].addr = (uint64_t)n << 21;
		in->range[n - 1].len = 1ull << 21;
		size = rc_encode_ranges(buf, size + 16, in);
		ck_assert_uint_eq(size, 32 + 16 * n);
		copy = exact(buf, size);
		ck_assert_int_eq(rc_decode_ranges(copy, size, 1ull << 21, out), 0);
		ck_assert_uint_eq(out->nr_ranges, n);
		ck_assert_mem_eq(out->range, in->range, n * sizeof(in->range[0]));
		free(copy);
		size = 32 + 16 * VIRTIO_RESOURCE_MAX_RANGES;
	}
	in->nr_ranges = VIRTIO_RESOURCE_MAX_RANGES + 1;
	ck_assert_uint_eq(rc_encode_ranges(buf, size + 16, in), 0);
	free(buf);
	free(in);
	free(out);
}
END_TEST

START_TEST(test_codec_message_payload_round_trip)
{
	static const char text[] = "hello from the guest\0with a NUL";
	struct rc_message in = { 0 }, out;
	uint8_t buf[256], *copy;
	size_t n;

	in.hdr.type = VIRTIO_RESOURCE_T_MESSAGE;
	in.hdr.txn = 5;
	in.dest = 7;
	in.source = 0;
	in.payload = (const uint8_t *)text;
	in.payload_len = sizeof(text);
	n = rc_encode_message(buf, sizeof(buf), &in);
	ck_assert_uint_eq(n, 32 + sizeof(text));
	copy = exact(buf, n);
	ck_assert_int_eq(rc_decode_message(copy, n, 0, &out), 0);
	ck_assert_uint_eq(out.dest, 7);
	ck_assert_uint_eq(out.payload_len, sizeof(text));
	ck_assert_ptr_eq(out.payload, copy + 32);
	ck_assert_mem_eq(out.payload, text, sizeof(text));
	ck_assert_int_eq(rc_decode_message(copy, n, (uint32_t)n, &out), 0);
	free(copy);

	/* An empty message and an event from the host. */
	in.hdr.type = VIRTIO_RESOURCE_EV_MESSAGE;
	in.payload = NULL;
	in.payload_len = 0;
	in.source = 3;
	ck_assert_uint_eq(rc_encode_message(buf, sizeof(buf), &in), 32);
	ck_assert_int_eq(rc_decode_message(buf, 32, 64, &out), 0);
	ck_assert_uint_eq(out.payload_len, 0);
	ck_assert_uint_eq(out.source, 3);

	/* Encoders refuse short buffers and a missing payload. */
	in.payload_len = 10;
	ck_assert_uint_eq(rc_encode_message(buf, sizeof(buf), &in), 0);
	in.payload = (const uint8_t *)text;
	ck_assert_uint_eq(rc_encode_message(buf, 41, &in), 0);
	ck_assert_uint_eq(rc_encode_message(buf, 42, &in), 42);
}
END_TEST

START_TEST(test_codec_file_open_and_data_round_trip)
{
	static const char path[] = "dir/file.txt";
	struct rc_file_open fo = { 0 }, fo2;
	struct rc_data d = { 0 }, d2;
	uint8_t buf[512], *copy, blob[300];
	size_t n;

	fo.hdr.type = VIRTIO_RESOURCE_T_FILE_OPEN;
	fo.path = path;
	fo.path_len = (uint32_t)strlen(path);
	n = rc_encode_file_open(buf, sizeof(buf), &fo);
	ck_assert_uint_eq(n, 32 + strlen(path));
	copy = exact(buf, n);
	ck_assert_int_eq(rc_decode_file_open(copy, n, &fo2), 0);
	ck_assert_uint_eq(fo2.path_len, strlen(path));
	ck_assert_mem_eq(fo2.path, path, strlen(path));
	free(copy);
	ck_assert_uint_eq(rc_encode_file_open(buf, n - 1, &fo), 0);

	for (unsigned int i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	d.hdr.type = VIRTIO_RESOURCE_A_DATA;
	d.data = blob;
	d.data_len = sizeof(blob);
	n = rc_encode_data(buf, sizeof(buf), &d);
	ck_assert_uint_eq(n, 24 + sizeof(blob));
	copy = exact(buf, n);
	ck_assert_int_eq(rc_decode_data(copy, n, &d2), 0);
	ck_assert_uint_eq(d2.data_len, sizeof(blob));
	ck_assert_mem_eq(d2.data, blob, sizeof(blob));
	free(copy);

	/* Other file operations. */
	for (uint16_t t = VIRTIO_RESOURCE_T_FILE_STAT; t <= VIRTIO_RESOURCE_T_FILE_CLOSE; t++) {
		struct rc_file_op op = { .hdr.type = t, .handle = 9 }, op2;

		ck_assert_uint_eq(rc_encode_file_op(buf, sizeof(buf), &op), 40);
		ck_assert_int_eq(rc_decode_file_op(buf, 40, &op2), 0);
		ck_assert_uint_eq(op2.handle, 9);
		ck_assert_uint_eq(op2.hdr.type, t);
	}
}
END_TEST

START_TEST(test_codec_accept_checked_against_the_offer)
{
	struct rc_offer o = { .hdr = { .type = VIRTIO_RESOURCE_EV_OFFER, .txn = 9 },
			      .offer_id = 42,
			      .nr_alternatives = 3 };
	struct rc_accept a = { .hdr = { .type = VIRTIO_RESOURCE_T_ACCEPT, .txn = 9 },
			       .offer_id = 42,
			       .choices = 0x3 };

	ck_assert_int_eq(rc_accept_check(&a, &o), 0);
	a.choices = 0x4;
	ck_assert_int_eq(rc_accept_check(&a, &o), 0);
	a.choices = 0x8; /* alternative 3 does not exist */
	ck_assert_int_eq(rc_accept_check(&a, &o), RC_ERANGE);
	a.choices = 0;
	ck_assert_int_eq(rc_accept_check(&a, &o), RC_ERANGE);
	a.choices = 1;
	a.offer_id = 41;
	ck_assert_int_eq(rc_accept_check(&a, &o), RC_ENOENT);
	a.offer_id = 42;
	a.hdr.txn++;
	ck_assert_int_eq(rc_accept_check(&a, &o), RC_ENOENT);
}
END_TEST

START_TEST(test_codec_peek_and_error_helpers)
{
	uint8_t buf[64] = { 0 };
	struct rc_hdr h = { .type = VIRTIO_RESOURCE_T_STATS };
	uint16_t type = 0;
	unsigned int known = 0;

	ck_assert_uint_eq(rc_encode_bare(buf, sizeof(buf), &h), 24);
	ck_assert_int_eq(rc_peek_type(buf, 24, &type), 0);
	ck_assert_uint_eq(type, VIRTIO_RESOURCE_T_STATS);
	ck_assert_int_eq(rc_peek_type(buf, 23, &type), RC_ETRUNC);
	ck_assert_int_eq(rc_peek_type(NULL, 24, &type), RC_ETRUNC);
	rc_put_le16(buf, 0);
	ck_assert_int_eq(rc_peek_type(buf, 24, &type), RC_EUNSUPPORTED);
	rc_put_le16(buf, 10);
	ck_assert_int_eq(rc_peek_type(buf, 24, &type), RC_EUNSUPPORTED);
	for (uint32_t t = 0; t < 0x10000; t++)
		known += rc_type_known((uint16_t)t);
	ck_assert_uint_eq(known, 9 + 7 + 9 + 1 + 1 + 4); /* the ABI's 31 types */

	/* Every error code has its own name and maps onto a wire status. */
	for (int e = RC_EVERSION; e <= 0; e++) {
		for (int f = RC_EVERSION; f < e; f++)
			ck_assert_str_ne(rc_strerror(e), rc_strerror(f));
		ck_assert_uint_le(rc_status_of(e), VIRTIO_RESOURCE_S_RANGE);
	}
	ck_assert_uint_eq(rc_status_of(0), VIRTIO_RESOURCE_S_OK);
	ck_assert_uint_eq(rc_status_of(RC_EMALFORMED), VIRTIO_RESOURCE_S_MALFORMED);
	ck_assert_uint_eq(rc_status_of(RC_EALIGN), VIRTIO_RESOURCE_S_MALFORMED);
	ck_assert_uint_eq(rc_status_of(RC_ERANGE), VIRTIO_RESOURCE_S_RANGE);
	ck_assert_uint_eq(rc_status_of(RC_EORDER), VIRTIO_RESOURCE_S_ORDER);
	ck_assert_uint_eq(rc_status_of(RC_EUNSUPPORTED), VIRTIO_RESOURCE_S_UNSUPPORTED);
	ck_assert_uint_eq(rc_status_of(RC_ETOOBIG), VIRTIO_RESOURCE_S_TOO_BIG);
	ck_assert_uint_eq(rc_status_of(RC_EBUSY), VIRTIO_RESOURCE_S_BUSY);
	ck_assert_str_eq(rc_strerror(-1000), "unknown error");
}
END_TEST

Suite *core_codec_var_suite(void)
{
	Suite *s = suite_create("core codec: variable messages and helpers");
	TCase *tc = tcase_create("variable");

	tcase_add_test(tc, test_codec_golden_bytes);
	tcase_add_test(tc, test_codec_ranges_up_to_the_maximum);
	tcase_add_test(tc, test_codec_message_payload_round_trip);
	tcase_add_test(tc, test_codec_file_open_and_data_round_trip);
	tcase_add_test(tc, test_codec_accept_checked_against_the_offer);
	tcase_add_test(tc, test_codec_peek_and_error_helpers);
	suite_add_tcase(s, tc);
	return s;
}
