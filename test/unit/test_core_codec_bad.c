// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core codec against malformed input:
 * bad enums, reserved fields, impossible amounts, overflowing, misaligned or
 * too many ranges, paths with NULs, oversized payloads, and random bytes.
 * Buffers are heap copies of exactly the length passed, so running the
 * suite under valgrind catches any read past the end.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rc_codec.h"

Suite *core_codec_bad_suite(void);

#define OFF(s, f) offsetof(struct virtio_resource_##s, f)

static uint8_t buf[4096];

static void start(uint16_t type, size_t size)
{
	memset(buf, 0, sizeof(buf));
	rc_put_le16(buf, type);
	rc_put_le32(buf + 4, (uint32_t)size);
	rc_put_le64(buf + 8, 99);
}

static void good_request(void)
{
	start(VIRTIO_RESOURCE_T_REQUEST, 64);
	rc_put_le16(buf + OFF(request, kind), VIRTIO_RESOURCE_K_MEMORY);
	rc_put_le64(buf + OFF(request, amount), 100);
	rc_put_le64(buf + OFF(request, minimum), 100);
}

START_TEST(test_bad_request_fields)
{
	struct rc_request m;

	good_request();
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), 0);
	for (uint16_t kind = 0; kind < 300; kind++) {
		rc_put_le16(buf + OFF(request, kind), kind);
		ck_assert_int_eq(rc_decode_request(buf, 64, &m),
				 kind >= 1 && kind <= 3 ? 0 : RC_EUNSUPPORTED);
	}
	good_request();
	buf[OFF(request, urgency)] = VIRTIO_RESOURCE_U_CRITICAL + 1;
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), RC_ERANGE);
	good_request();
	buf[OFF(request, latency)] = VIRTIO_RESOURCE_L_REALTIME + 1;
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), RC_ERANGE);
	buf[OFF(request, latency)] = 0xff;
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), RC_ERANGE);
	good_request();
	rc_put_le64(buf + OFF(request, amount), 0);
	rc_put_le64(buf + OFF(request, minimum), 0);
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), RC_ERANGE);
	rc_put_le64(buf + OFF(request, amount), 99);
	rc_put_le64(buf + OFF(request, minimum), 100);
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), RC_ERANGE);
	rc_put_le64(buf + OFF(request, minimum), 0); /* "any amount helps" */
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), 0);
	rc_put_le32(buf + OFF(request, reserved), 1);
	ck_assert_int_eq(rc_decode_request(buf, 64, &m), RC_EMALFORMED);
}
END_TEST

/* Every reserved field of every message must be zero. */
START_TEST(test_bad_reserved_fields)
{
	static const struct {
		uint16_t type;
		size_t size, off, width;
	} cases[] = {
		{ VIRTIO_RESOURCE_T_HELLO, 40, OFF(hello, reserved), 4 },
		{ VIRTIO_RESOURCE_T_REQUEST, 64, OFF(request, reserved), 4 },
		{ VIRTIO_RESOURCE_T_RENEGOTIATE, 40, OFF(renegotiate, reserved), 2 },
		{ VIRTIO_RESOURCE_A_GRANT, 48, OFF(grant, reserved), 2 },
		{ VIRTIO_RESOURCE_A_OFFER, 104, OFF(offer, reserved), 4 },
		{ VIRTIO_RESOURCE_T_DECLINE, 32, OFF(decline, reserved), 4 },
		{ VIRTIO_RESOURCE_T_RELEASE, 40, OFF(release, reserved), 2 },
		{ VIRTIO_RESOURCE_T_RELEASE, 40, OFF(release, reserved2), 4 },
		{ VIRTIO_RESOURCE_T_RESERVE, 48, OFF(ranges, reserved), 4 },
		{ VIRTIO_RESOURCE_A_ACK, 48, OFF(ack, reserved), 4 },
		{ VIRTIO_RESOURCE_A_ERROR, 32, OFF(error, reserved), 4 },
		{ VIRTIO_RESOURCE_EV_RECLAIM, 48, OFF(ev_reclaim, reserved), 2 },
		{ VIRTIO_RESOURCE_T_STATS, 88, OFF(stats, reserved), 4 },
	};
	union {
		struct rc_hello hello;
		struct rc_request request;
		struct rc_renegotiate renegotiate;
		struct rc_grant grant;
		struct rc_offer offer;
		struct rc_decline decline;
		struct rc_release release;
		struct rc_ranges ranges;
		struct rc_ack ack;
		struct rc_error error;
		struct rc_ev_reclaim ev_reclaim;
		struct rc_stats stats;
	} m;

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t byte = 0; byte < cases[i].width; byte++) {
			int err = -100;

			start(cases[i].type, cases[i].size);
			/* Valid content otherwise. */
			rc_put_le16(buf + 24, VIRTIO_RESOURCE_K_MEMORY);
			switch (cases[i].type) {
			case VIRTIO_RESOURCE_T_HELLO:
				rc_put_le32(buf + OFF(hello, version), 1);
				break;
			case VIRTIO_RESOURCE_T_REQUEST:
				rc_put_le64(buf + OFF(request, amount), 1);
				break;
			case VIRTIO_RESOURCE_A_OFFER:
				rc_put_le32(buf + OFF(offer, nr_alternatives), 1);
				rc_put_le16(buf + OFF(offer, alt), 1);
				rc_put_le16(buf + OFF(offer, alt) + 2, 1);
				break;
			case VIRTIO_RESOURCE_T_RELEASE:
				rc_put_le64(buf + OFF(release, amount), 1);
				break;
			case VIRTIO_RESOURCE_T_RESERVE:
				rc_put_le32(buf + OFF(ranges, nr_ranges), 1);
				rc_put_le64(buf + OFF(ranges, range) + 8, 4096);
				break;
			case VIRTIO_RESOURCE_EV_RECLAIM:
				rc_put_le64(buf + OFF(ev_reclaim, amount), 1);
				break;
			case VIRTIO_RESOURCE_T_STATS:
				rc_put_le16(buf + 24, 0);
				break;
			}
			for (int pass = 0; pass < 2; pass++) {
				switch (cases[i].type) {
				case VIRTIO_RESOURCE_T_HELLO:
					err = rc_decode_hello(buf, cases[i].size, &m.hello);
					break;
				case VIRTIO_RESOURCE_T_REQUEST:
					err = rc_decode_request(buf, cases[i].size, &m.request);
					break;
				case VIRTIO_RESOURCE_T_RENEGOTIATE:
					err = rc_decode_renegotiate(buf, cases[i].size,
								    &m.renegotiate);
					break;
				case VIRTIO_RESOURCE_A_GRANT:
					err = rc_decode_grant(buf, cases[i].size, &m.grant);
					break;
				case VIRTIO_RESOURCE_A_OFFER:
					err = rc_decode_offer(buf, cases[i].size, &m.offer);
					break;
				case VIRTIO_RESOURCE_T_DECLINE:
					err = rc_decode_decline(buf, cases[i].size, &m.decline);
					break;
				case VIRTIO_RESOURCE_T_RELEASE:
					err = rc_decode_release(buf, cases[i].size, &m.release);
					break;
				case VIRTIO_RESOURCE_T_RESERVE:
					err = rc_decode_ranges(buf, cases[i].size, 4096, &m.ranges);
					break;
				case VIRTIO_RESOURCE_A_ACK:
					err = rc_decode_ack(buf, cases[i].size, &m.ack);
					break;
				case VIRTIO_RESOURCE_A_ERROR:
					err = rc_decode_error(buf, cases[i].size, &m.error);
					break;
				case VIRTIO_RESOURCE_EV_RECLAIM:
					err = rc_decode_ev_reclaim(buf, cases[i].size,
								   &m.ev_reclaim);
					break;
				case VIRTIO_RESOURCE_T_STATS:
					err = rc_decode_stats(buf, cases[i].size, &m.stats);
					break;
				}
				/* First pass: valid; second: one reserved byte set. */
				ck_assert_msg(err == (pass ? RC_EMALFORMED : 0),
					      "type %u reserved +%zu pass %d: %d", cases[i].type,
					      cases[i].off + byte, pass, err);
				buf[cases[i].off + byte] = 0x01;
			}
		}
	}
}
END_TEST

START_TEST(test_bad_answer_enums)
{
	struct rc_deny d;
	struct rc_grant g;
	struct rc_hello h;

	start(VIRTIO_RESOURCE_A_DENY, 40);
	rc_put_le16(buf + OFF(deny, kind), VIRTIO_RESOURCE_K_VCPU);
	for (uint16_t r = 0; r < 100; r++) {
		rc_put_le16(buf + OFF(deny, reason), r);
		ck_assert_int_eq(rc_decode_deny(buf, 40, &d), r >= 1 && r <= 5 ? 0 : RC_ERANGE);
	}
	rc_put_le16(buf + OFF(deny, reason), 1);
	rc_put_le16(buf + OFF(deny, kind), 4);
	ck_assert_int_eq(rc_decode_deny(buf, 40, &d), RC_EUNSUPPORTED);

	start(VIRTIO_RESOURCE_EV_GRANT, 48);
	ck_assert_int_eq(rc_decode_grant(buf, 48, &g), RC_EUNSUPPORTED); /* kind 0 */
	rc_put_le16(buf + OFF(grant, kind), 1);
	ck_assert_int_eq(rc_decode_grant(buf, 48, &g), 0);
	rc_put_le32(buf + 20, 1); /* an event carries no status */
	ck_assert_int_eq(rc_decode_grant(buf, 48, &g), RC_EMALFORMED);

	start(VIRTIO_RESOURCE_T_HELLO, 40);
	ck_assert_int_eq(rc_decode_hello(buf, 40, &h), RC_EVERSION);
}
END_TEST

static void good_offer(void)
{
	start(VIRTIO_RESOURCE_A_OFFER, 104);
	rc_put_le32(buf + OFF(offer, nr_alternatives), 2);
	for (int i = 0; i < 2; i++) {
		uint8_t *a = buf + OFF(offer, alt) + 16 * i;

		rc_put_le16(a, VIRTIO_RESOURCE_K_MEMORY);
		rc_put_le16(a + 2, VIRTIO_RESOURCE_ALT_PART_NOW + i);
		rc_put_le64(a + 8, 4096);
	}
}

START_TEST(test_bad_offer_and_accept)
{
	struct rc_offer o;
	struct rc_accept a;

	good_offer();
	ck_assert_int_eq(rc_decode_offer(buf, 104, &o), 0);
	ck_assert_uint_eq(o.nr_alternatives, 2);
	for (uint32_t n = 0; n < 10; n++) {
		rc_put_le32(buf + OFF(offer, nr_alternatives), n);
		if (n == 0 || n > VIRTIO_RESOURCE_MAX_ALTERNATIVES)
			ck_assert_int_eq(rc_decode_offer(buf, 104, &o), RC_ERANGE);
	}
	rc_put_le32(buf + OFF(offer, nr_alternatives), 0xffffffffu);
	ck_assert_int_eq(rc_decode_offer(buf, 104, &o), RC_ERANGE);
	/* Three alternatives but the third is empty: bad kind. */
	good_offer();
	rc_put_le32(buf + OFF(offer, nr_alternatives), 3);
	ck_assert_int_eq(rc_decode_offer(buf, 104, &o), RC_EUNSUPPORTED);
	/* Alternative types. */
	for (uint16_t t = 0; t < 8; t++) {
		good_offer();
		rc_put_le16(buf + OFF(offer, alt) + 16 + 2, t);
		ck_assert_int_eq(rc_decode_offer(buf, 104, &o), t >= 1 && t <= 4 ? 0 : RC_ERANGE);
	}
	/* Unused slots must be zero, every byte of them. */
	for (size_t b = 32; b < 64; b++) {
		good_offer();
		buf[OFF(offer, alt) + b] = 0x80;
		ck_assert_int_eq(rc_decode_offer(buf, 104, &o), RC_EMALFORMED);
	}

	start(VIRTIO_RESOURCE_T_ACCEPT, 32);
	rc_put_le32(buf + OFF(accept, offer_id), 1);
	for (uint32_t c = 0; c < 64; c++) {
		rc_put_le32(buf + OFF(accept, choices), c);
		ck_assert_int_eq(rc_decode_accept(buf, 32, &a), c >= 1 && c < 16 ? 0 : RC_ERANGE);
	}
	rc_put_le32(buf + OFF(accept, choices), 0x80000001u);
	ck_assert_int_eq(rc_decode_accept(buf, 32, &a), RC_ERANGE);
}
END_TEST

static void ranges_msg(uint32_t nr, uint64_t addr, uint64_t len)
{
	start(VIRTIO_RESOURCE_T_RESERVE, 32 + 16 * (size_t)nr);
	rc_put_le32(buf + OFF(ranges, nr_ranges), nr);
	for (uint32_t i = 0; i < nr && 32 + 16 * (size_t)i + 16 <= sizeof(buf); i++) {
		rc_put_le64(buf + 32 + 16 * i, addr + (uint64_t)i * len);
		rc_put_le64(buf + 32 + 16 * i + 8, len);
	}
}

static int dec_ranges(size_t len, uint64_t granule)
{
	static struct rc_ranges r;
	uint8_t *copy = malloc(len);
	int err;

	memcpy(copy, buf, len);
	err = rc_decode_ranges(copy, len, granule, &r);
	free(copy);
	return err;
}

START_TEST(test_bad_ranges)
{
	const uint64_t g = 2 << 20;

	ranges_msg(64, 0, g);
	ck_assert_int_eq(dec_ranges(32 + 16 * 64, g), 0);
	ranges_msg(65, 0, g); /* too many */
	ck_assert_int_eq(dec_ranges(32 + 16 * 65, g), RC_ERANGE);
	ranges_msg(0, 0, g); /* none */
	ck_assert_int_eq(dec_ranges(32, g), RC_ERANGE);
	ranges_msg(0x10000001u, 0, g); /* 32 + 16 * n wraps in 32 bits */
	rc_put_le32(buf + 4, 48);
	ck_assert_int_eq(dec_ranges(48, g), RC_ERANGE);

	/* nr_ranges and hdr.len disagree. */
	ranges_msg(3, 0, g);
	rc_put_le32(buf + OFF(ranges, nr_ranges), 2);
	ck_assert_int_eq(dec_ranges(80, g), RC_EMALFORMED);
	rc_put_le32(buf + OFF(ranges, nr_ranges), 4);
	ck_assert_int_eq(dec_ranges(80, g), RC_EMALFORMED);
	ranges_msg(1, 0, g);
	rc_put_le32(buf + 4, 56);
	ck_assert_int_eq(dec_ranges(56, g), RC_EMALFORMED);
	rc_put_le32(buf + 4, 31); /* shorter than its fixed part */
	ck_assert_int_eq(dec_ranges(48, g), RC_EMALFORMED);

	/* Overflow: addr + len wraps (also when only by one byte). */
	ranges_msg(1, 0xffffffffffe00000ull, g);
	ck_assert_int_eq(dec_ranges(48, g), RC_EOVERFLOW);
	ranges_msg(1, 0xfffffffffffff000ull, 0x1000); /* ends at 2^64: addr + len wraps to 0 */
	ck_assert_int_eq(dec_ranges(48, 0x1000), RC_EOVERFLOW);
	ranges_msg(1, 0xffffffffffffe000ull, 0x1000); /* the highest page that does not wrap */
	ck_assert_int_eq(dec_ranges(48, 0x1000), 0);
	ranges_msg(1, 0xffffffffffc00000ull, g);
	ck_assert_int_eq(dec_ranges(48, g), 0);
	ranges_msg(1, 1, 0xffffffffffffffffull);
	ck_assert_int_eq(dec_ranges(48, 0), RC_EOVERFLOW);

	/* Alignment of addr and len, and the granule itself. */
	ranges_msg(1, g + 4096, g);
	ck_assert_int_eq(dec_ranges(48, g), RC_EALIGN);
	ck_assert_int_eq(dec_ranges(48, 4096), 0);
	ck_assert_int_eq(dec_ranges(48, 0), 0); /* no granule: not checked */
	ranges_msg(1, g, g + 1);
	ck_assert_int_eq(dec_ranges(48, g), RC_EALIGN);
	ranges_msg(2, 0, g);
	rc_put_le64(buf + 48, 3 * g + 512); /* the second range's addr */
	ck_assert_int_eq(dec_ranges(64, g), RC_EALIGN);
	ranges_msg(1, 0, g);
	ck_assert_int_eq(dec_ranges(48, 3 << 20), RC_EINVAL);
	ranges_msg(1, 0, 0); /* an empty range */
	ck_assert_int_eq(dec_ranges(48, 0), RC_ERANGE);

	/* Wrong type. */
	ranges_msg(1, 0, g);
	rc_put_le16(buf, VIRTIO_RESOURCE_T_RELEASE);
	ck_assert_int_eq(dec_ranges(48, g), RC_ETYPE);
}
END_TEST

START_TEST(test_bad_messages_and_files)
{
	struct rc_message m;
	struct rc_file_open fo;
	struct rc_file_op op;
	struct rc_data d;
	struct rc_stats st;

	start(VIRTIO_RESOURCE_T_MESSAGE, 100);
	ck_assert_int_eq(rc_decode_message(buf, 100, 100, &m), 0);
	ck_assert_int_eq(rc_decode_message(buf, 100, 99, &m), RC_ETOOBIG);
	ck_assert_int_eq(rc_decode_message(buf, 99, 0, &m), RC_ETRUNC);
	rc_put_le32(buf + 4, 31);
	ck_assert_int_eq(rc_decode_message(buf, 100, 0, &m), RC_EMALFORMED);
	rc_put_le16(buf, VIRTIO_RESOURCE_T_STATS);
	rc_put_le32(buf + 4, 100);
	ck_assert_int_eq(rc_decode_message(buf, 100, 0, &m), RC_ETYPE);

	start(VIRTIO_RESOURCE_T_FILE_OPEN, 32 + 5);
	rc_put_le32(buf + OFF(file_open, path_len), 5);
	memcpy(buf + 32, "a/b/c", 5);
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), 0);
	buf[34] = 0; /* a NUL inside the path */
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), RC_EMALFORMED);
	buf[34] = 'b';
	buf[36] = 0; /* a NUL at its end */
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), RC_EMALFORMED);
	buf[36] = 'c';
	rc_put_le32(buf + OFF(file_open, path_len), 4); /* path_len does not match */
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), RC_EMALFORMED);
	rc_put_le32(buf + OFF(file_open, path_len), 6);
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), RC_EMALFORMED);
	rc_put_le32(buf + OFF(file_open, path_len), 0xffffffffu);
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), RC_ERANGE);
	rc_put_le32(buf + OFF(file_open, path_len), 0);
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), RC_ERANGE);
	rc_put_le32(buf + OFF(file_open, path_len), 5);
	rc_put_le32(buf + OFF(file_open, flags), 1);
	ck_assert_int_eq(rc_decode_file_open(buf, 37, &fo), RC_EFLAGS);
	/* The longest path allowed, and one more. */
	start(VIRTIO_RESOURCE_T_FILE_OPEN, 32 + VIRTIO_RESOURCE_MAX_PATH);
	memset(buf + 32, 'x', VIRTIO_RESOURCE_MAX_PATH + 1);
	rc_put_le32(buf + OFF(file_open, path_len), VIRTIO_RESOURCE_MAX_PATH);
	ck_assert_int_eq(rc_decode_file_open(buf, 32 + VIRTIO_RESOURCE_MAX_PATH, &fo), 0);
	rc_put_le32(buf + 4, 33 + VIRTIO_RESOURCE_MAX_PATH);
	rc_put_le32(buf + OFF(file_open, path_len), VIRTIO_RESOURCE_MAX_PATH + 1);
	ck_assert_int_eq(rc_decode_file_open(buf, 33 + VIRTIO_RESOURCE_MAX_PATH, &fo), RC_ERANGE);

	start(VIRTIO_RESOURCE_T_FILE_READ, 40);
	ck_assert_int_eq(rc_decode_file_op(buf, 40, &op), RC_ERANGE); /* len 0 */
	rc_put_le32(buf + OFF(file_op, len), VIRTIO_RESOURCE_MAX_READ + 1);
	ck_assert_int_eq(rc_decode_file_op(buf, 40, &op), RC_ETOOBIG);
	rc_put_le32(buf + OFF(file_op, len), 4096);
	rc_put_le64(buf + OFF(file_op, offset), 0xfffffffffffff001ull);
	ck_assert_int_eq(rc_decode_file_op(buf, 40, &op), RC_EOVERFLOW);
	rc_put_le64(buf + OFF(file_op, offset), 0xffffffffffffe000ull);
	ck_assert_int_eq(rc_decode_file_op(buf, 40, &op), 0);
	rc_put_le16(buf, VIRTIO_RESOURCE_T_FILE_STAT); /* STAT has no length or offset */
	ck_assert_int_eq(rc_decode_file_op(buf, 40, &op), RC_EMALFORMED);
	rc_put_le16(buf, VIRTIO_RESOURCE_T_FILE_OPEN);
	ck_assert_int_eq(rc_decode_file_op(buf, 40, &op), RC_ETYPE);

	start(VIRTIO_RESOURCE_A_DATA, 24 + VIRTIO_RESOURCE_MAX_READ + 1);
	{
		uint8_t *big = calloc(1, 24 + VIRTIO_RESOURCE_MAX_READ + 1);

		memcpy(big, buf, 24);
		ck_assert_int_eq(rc_decode_data(big, 24 + VIRTIO_RESOURCE_MAX_READ + 1, &d),
				 RC_ETOOBIG);
		rc_put_le16(big, VIRTIO_RESOURCE_A_INVENTORY); /* no limit but the buffer */
		ck_assert_int_eq(rc_decode_data(big, 24 + VIRTIO_RESOURCE_MAX_READ + 1, &d), 0);
		ck_assert_uint_eq(d.data_len, VIRTIO_RESOURCE_MAX_READ + 1);
		free(big);
	}

	start(VIRTIO_RESOURCE_T_STATS, 88);
	ck_assert_int_eq(rc_decode_stats(buf, 88, &st), 0);
	rc_put_le32(buf + OFF(stats, cpu_util_milli), 1001);
	ck_assert_int_eq(rc_decode_stats(buf, 88, &st), RC_ERANGE);

	start(VIRTIO_RESOURCE_EV_RECLAIM, 48);
	rc_put_le16(buf + OFF(ev_reclaim, kind), 1);
	{
		struct rc_ev_reclaim r;
		struct rc_release rel;

		ck_assert_int_eq(rc_decode_ev_reclaim(buf, 48, &r), RC_ERANGE); /* amount 0 */
		start(VIRTIO_RESOURCE_T_RELEASE, 40);
		rc_put_le16(buf + OFF(release, kind), 1);
		ck_assert_int_eq(rc_decode_release(buf, 40, &rel), RC_ERANGE);
	}
}
END_TEST

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random bytes with a plausible header: every decoder returns, in bounds. */
START_TEST(test_bad_random_bytes_never_crash)
{
	static const uint16_t types[] = { 1,  2,  3,  4,  5,   6,   7,	 8,   9,  32, 33,
					  34, 35, 36, 37, 38,  64,  65,	 66,  67, 68, 69,
					  70, 71, 72, 96, 112, 128, 129, 130, 131 };
	union {
		struct rc_hdr h;
		struct rc_ranges r;
		struct rc_offer o;
		struct rc_request q;
		struct rc_message m;
		struct rc_file_open f;
		struct rc_data d;
		struct rc_stats s;
	} m;
	int ok = 0;

	for (int i = 0; i < 20000; i++) {
		size_t len = rng() % 1200, j;
		uint8_t *p = malloc(len ? len : 1);

		for (j = 0; j < len; j++)
			p[j] = (uint8_t)rng();
		if (len >= 24 && (rng() & 3)) {
			rc_put_le16(p, types[rng() % (sizeof(types) / sizeof(types[0]))]);
			rc_put_le16(p + 2, 0);
			rc_put_le32(p + 4, (uint32_t)(rng() % (len + 1)));
			rc_put_le32(p + 20, (uint32_t)(rng() % 2));
			if (len >= 32 && (rng() & 1))
				rc_put_le32(p + 24, (uint32_t)(rng() % 70));
		}
		ok += !rc_decode_bare(p, len, &m.h);
		ok += !rc_decode_request(p, len, &m.q);
		ok += !rc_decode_offer(p, len, &m.o);
		ok += !rc_decode_ranges(p, len, rng() & 1 ? 4096 : 0, &m.r);
		ok += !rc_decode_stats(p, len, &m.s);
		if (!rc_decode_message(p, len, 0, &m.m)) {
			ok++;
			ck_assert(m.m.payload + m.m.payload_len <= p + len);
		}
		if (!rc_decode_file_open(p, len, &m.f)) {
			ok++;
			ck_assert((const uint8_t *)m.f.path + m.f.path_len <= p + len);
		}
		if (!rc_decode_data(p, len, &m.d)) {
			ok++;
			ck_assert(m.d.data + m.d.data_len <= p + len);
		}
		free(p);
	}
	ck_assert_int_gt(ok, 0); /* the generator does reach the decoders' success paths */
}
END_TEST

Suite *core_codec_bad_suite(void)
{
	Suite *s = suite_create("core codec: malformed input");
	TCase *tc = tcase_create("malformed");

	tcase_add_test(tc, test_bad_request_fields);
	tcase_add_test(tc, test_bad_reserved_fields);
	tcase_add_test(tc, test_bad_answer_enums);
	tcase_add_test(tc, test_bad_offer_and_accept);
	tcase_add_test(tc, test_bad_ranges);
	tcase_add_test(tc, test_bad_messages_and_files);
	tcase_add_test(tc, test_bad_random_bytes_never_crash);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
