// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_core runner): guest/core codec round trips. Every message
 * type is encoded and decoded back, checked against the ABI header's sizes,
 * against hand-written golden bytes, and against every buffer capacity and
 * length short of the message. Malformed input is in test_core_codec_bad.c.
 */
#include <check.h>
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rc_codec.h"

Suite *core_codec_suite(void);

union anymsg {
	struct rc_hdr hdr;
	struct rc_hello hello;
	struct rc_welcome welcome;
	struct rc_request request;
	struct rc_renegotiate renegotiate;
	struct rc_grant grant;
	struct rc_deny deny;
	struct rc_offer offer;
	struct rc_accept accept;
	struct rc_decline decline;
	struct rc_release release;
	struct rc_ranges ranges;
	struct rc_ack ack;
	struct rc_error error;
	struct rc_ev_allocation ev_allocation;
	struct rc_ev_reclaim ev_reclaim;
	struct rc_stats stats;
	struct rc_file_op file_op;
	struct rc_file file;
};

#define WRAP(x)                                                         \
	static size_t enc_##x(void *b, size_t c, const union anymsg *m) \
	{                                                               \
		return rc_encode_##x(b, c, &m->x);                      \
	}                                                               \
	static int dec_##x(const void *b, size_t l, union anymsg *m)    \
	{                                                               \
		return rc_decode_##x(b, l, &m->x);                      \
	}

WRAP(hello)
WRAP(welcome)
WRAP(request)
WRAP(renegotiate)
WRAP(grant)
WRAP(deny)
WRAP(offer)
WRAP(accept)
WRAP(decline)
WRAP(release)
WRAP(ack)
WRAP(error)
WRAP(ev_allocation)
WRAP(ev_reclaim)
WRAP(stats)
WRAP(file_op)
WRAP(file)

static size_t enc_bare(void *b, size_t c, const union anymsg *m)
{
	return rc_encode_bare(b, c, &m->hdr);
}

static int dec_bare(const void *b, size_t l, union anymsg *m)
{
	return rc_decode_bare(b, l, &m->hdr);
}

static size_t enc_ranges(void *b, size_t c, const union anymsg *m)
{
	return rc_encode_ranges(b, c, &m->ranges);
}

static int dec_ranges(const void *b, size_t l, union anymsg *m)
{
	return rc_decode_ranges(b, l, 4096, &m->ranges);
}

static void hdr(union anymsg *m, uint16_t type, uint32_t status)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = type;
	m->hdr.txn = 0x1122334455667788ull;
	m->hdr.app_id = 0xa0b0c0d0;
	m->hdr.status = status;
}

static void fill_bare(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_GET_INVENTORY, 0);
}

static void fill_hello(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_HELLO, 0);
	m->hello.version = VIRTIO_RESOURCE_VERSION;
	m->hello.mem_rate = 256ull << 20;
}

static void fill_welcome(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_A_WELCOME, VIRTIO_RESOURCE_S_OK);
	m->welcome.version = 1;
	m->welcome.guest_id = 0xdeadbeef;
}

static void fill_request(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_REQUEST, 0);
	m->request.kind = VIRTIO_RESOURCE_K_MEMORY;
	m->request.urgency = VIRTIO_RESOURCE_U_CRITICAL;
	m->request.latency = VIRTIO_RESOURCE_L_REALTIME;
	m->request.deadline_ms = 1500;
	m->request.amount = 1ull << 40;
	m->request.minimum = 1ull << 30;
	m->request.projected = 0xfedcba9876543210ull;
	m->request.duration_ms = 0xffffffffu;
}

static void fill_renegotiate(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_EV_RENEGOTIATE, 0);
	m->renegotiate.kind = VIRTIO_RESOURCE_K_VCPU;
	m->renegotiate.deadline_ms = 77;
	m->renegotiate.amount = 3;
}

static void fill_grant(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_A_GRANT, VIRTIO_RESOURCE_S_OK);
	m->grant.kind = VIRTIO_RESOURCE_K_IO_BANDWIDTH;
	m->grant.lease_ms = 60000;
	m->grant.amount = 123456789;
	m->grant.allocation = 987654321;
}

static void fill_deny(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_A_DENY, VIRTIO_RESOURCE_S_RANGE);
	m->deny.kind = VIRTIO_RESOURCE_K_MEMORY;
	m->deny.reason = VIRTIO_RESOURCE_D_UNSUPPORTED;
	m->deny.retry_after_ms = 5000;
	m->deny.allocation = 1ull << 33;
}

static void fill_offer(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_EV_OFFER, 0);
	m->offer.offer_id = 42;
	m->offer.expires_ms = 10000;
	m->offer.nr_alternatives = 3;
	m->offer.alt[0] = (struct rc_alternative){ VIRTIO_RESOURCE_K_MEMORY,
						   VIRTIO_RESOURCE_ALT_PART_NOW, 0, 1ull << 30 };
	m->offer.alt[1] =
		(struct rc_alternative){ VIRTIO_RESOURCE_K_MEMORY, VIRTIO_RESOURCE_ALT_REST_LATER,
					 30000, 1ull << 31 };
	m->offer.alt[2] = (struct rc_alternative){ VIRTIO_RESOURCE_K_VCPU,
						   VIRTIO_RESOURCE_ALT_MIGRATE, 1, 2 };
}

static void fill_accept(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_ACCEPT, 0);
	m->accept.offer_id = 42;
	m->accept.choices = 0x3;
}

static void fill_decline(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_DECLINE, 0);
	m->decline.offer_id = 43;
}

static void fill_release(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_RELEASE, 0);
	m->release.kind = VIRTIO_RESOURCE_K_MEMORY;
	m->release.amount = 64ull << 20;
}

static void fill_ranges(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_UNRESERVE, 0);
	m->ranges.nr_ranges = 3;
	m->ranges.range[0] = (struct rc_range){ 0x100000000ull, 0x200000 };
	m->ranges.range[1] = (struct rc_range){ 0x0, 0x1000 };
	m->ranges.range[2] = (struct rc_range){ 0xffffffffffffe000ull, 0x1000 };
}

static void fill_ack(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_A_ACK, VIRTIO_RESOURCE_S_OK);
	m->ack.mem_granted = 3ull << 30;
	m->ack.mem_reserved = 1ull << 29;
	m->ack.vcpus_granted = 7;
}

static void fill_error(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_A_ERROR, VIRTIO_RESOURCE_S_MALFORMED);
	m->error.detail = 0x55aa;
}

static void fill_ev_allocation(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_EV_ALLOCATION, 0);
	m->ev_allocation.generation = 9;
	m->ev_allocation.vcpus_granted = 4;
	m->ev_allocation.mem_granted = 5ull << 30;
}

static void fill_ev_reclaim(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_EV_RECLAIM, 0);
	m->ev_reclaim.kind = VIRTIO_RESOURCE_K_MEMORY;
	m->ev_reclaim.deadline_ms = 4000;
	m->ev_reclaim.amount = 1ull << 30;
	m->ev_reclaim.target = 3ull << 30;
}

static void fill_stats(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_STATS, 0);
	m->stats.timestamp_ns = 123456789012345ull;
	m->stats.mem_total = 4ull << 30;
	m->stats.mem_available = 1ull << 30;
	m->stats.mem_committed = 5ull << 30;
	m->stats.mem_forecast = 3ull << 30;
	m->stats.psi_mem_milli = 1000;
	m->stats.psi_cpu_milli = 1;
	m->stats.cpu_util_milli = 999;
	m->stats.runqueue_milli = 12345;
	m->stats.vcpu_forecast_milli = 2500;
}

static void fill_file_op(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_T_FILE_READ, 0);
	m->file_op.handle = 3;
	m->file_op.len = VIRTIO_RESOURCE_MAX_READ;
	m->file_op.offset = 1ull << 40;
}

static void fill_file(union anymsg *m)
{
	hdr(m, VIRTIO_RESOURCE_A_FILE, VIRTIO_RESOURCE_S_OK);
	m->file.handle = 3;
	m->file.mode = 0100644;
	m->file.size = 1ull << 35;
	m->file.mtime_ns = 1700000000123456789ull;
}

struct fixed_case {
	const char *name;
	size_t size; /* on the wire */
	void (*fill)(union anymsg *m);
	size_t (*enc)(void *b, size_t c, const union anymsg *m);
	int (*dec)(const void *b, size_t l, union anymsg *m);
};

#define CASE(x, size)                                \
	{                                            \
#x, size, fill_##x, enc_##x, dec_##x \
	}

static const struct fixed_case cases[] = {
	CASE(bare, sizeof(struct virtio_resource_hdr)),
	CASE(hello, sizeof(struct virtio_resource_hello)),
	CASE(welcome, sizeof(struct virtio_resource_welcome)),
	CASE(request, sizeof(struct virtio_resource_request)),
	CASE(renegotiate, sizeof(struct virtio_resource_renegotiate)),
	CASE(grant, sizeof(struct virtio_resource_grant)),
	CASE(deny, sizeof(struct virtio_resource_deny)),
	CASE(offer, sizeof(struct virtio_resource_offer)),
	CASE(accept, sizeof(struct virtio_resource_accept)),
	CASE(decline, sizeof(struct virtio_resource_decline)),
	CASE(release, sizeof(struct virtio_resource_release)),
	CASE(ranges,
	     sizeof(struct virtio_resource_ranges) + 3 * sizeof(struct virtio_resource_range)),
	CASE(ack, sizeof(struct virtio_resource_ack)),
	CASE(error, sizeof(struct virtio_resource_error)),
	CASE(ev_allocation, sizeof(struct virtio_resource_ev_allocation)),
	CASE(ev_reclaim, sizeof(struct virtio_resource_ev_reclaim)),
	CASE(stats, sizeof(struct virtio_resource_stats)),
	CASE(file_op, sizeof(struct virtio_resource_file_op)),
	CASE(file, sizeof(struct virtio_resource_file)),
};

/* A copy of n bytes on the heap, exactly n long, so valgrind sees any overread. */
static uint8_t *exact(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, n);
	return p;
}

START_TEST(test_codec_round_trip_every_fixed_message)
{
	const struct fixed_case *c = &cases[_i];
	union anymsg in, out;
	uint8_t buf[2048];
	struct virtio_resource_hdr wire;
	uint16_t type = 0;
	uint8_t *copy;
	size_t n;

	c->fill(&in);
	memset(buf, 0xee, sizeof(buf));
	n = c->enc(buf, sizeof(buf), &in);
	ck_assert_msg(n == c->size, "%s: encoded %zu bytes, the ABI says %zu", c->name, n, c->size);
	ck_assert_uint_eq(buf[n], 0xee); /* nothing written past the message */

	/* The header, read through the ABI struct. */
	memcpy(&wire, buf, sizeof(wire));
	ck_assert_uint_eq(le16toh(wire.type), in.hdr.type);
	ck_assert_uint_eq(le16toh(wire.flags), 0);
	ck_assert_uint_eq(le32toh(wire.len), n);
	ck_assert_uint_eq(le64toh(wire.txn), in.hdr.txn);
	ck_assert_uint_eq(le32toh(wire.app_id), in.hdr.app_id);
	ck_assert_uint_eq(le32toh(wire.status), in.hdr.status);

	copy = exact(buf, n);
	memset(&out, 0, sizeof(out));
	ck_assert_msg(c->dec(copy, n, &out) == 0, "%s does not decode", c->name);
	in.hdr.len = (uint32_t)n;
	ck_assert_msg(memcmp(&in, &out, sizeof(in)) == 0, "%s changed in the round trip", c->name);
	ck_assert_int_eq(rc_peek_type(copy, n, &type), 0);
	ck_assert_uint_eq(type, in.hdr.type);

	/* A larger buffer (a virtio chain longer than the message) is fine. */
	ck_assert_int_eq(c->dec(buf, sizeof(buf), &out), 0);
	free(copy);
}
END_TEST

START_TEST(test_codec_encoders_refuse_every_short_buffer)
{
	const struct fixed_case *c = &cases[_i];
	union anymsg in;
	uint8_t buf[2048];
	size_t cap;

	c->fill(&in);
	for (cap = 0; cap < c->size; cap++) {
		memset(buf, 0xee, sizeof(buf));
		ck_assert_msg(c->enc(buf, cap, &in) == 0, "%s fit in %zu bytes", c->name, cap);
		ck_assert_uint_eq(buf[0], 0xee);
	}
	ck_assert_uint_eq(c->enc(buf, c->size, &in), c->size);
	ck_assert_uint_eq(c->enc(NULL, 4096, &in), 0);
}
END_TEST

START_TEST(test_codec_decoders_refuse_every_truncation)
{
	const struct fixed_case *c = &cases[_i];
	union anymsg in, out;
	uint8_t buf[2048], *copy;
	size_t len;

	c->fill(&in);
	ck_assert_uint_eq(c->enc(buf, sizeof(buf), &in), c->size);
	/* Cut short: fewer bytes than hdr.len (or than a header). */
	for (len = 0; len < c->size; len++) {
		copy = exact(buf, len);
		ck_assert_msg(c->dec(copy, len, &out) == RC_ETRUNC, "%s cut to %zu", c->name, len);
		free(copy);
	}
	/* hdr.len one more or one less than the type's size. */
	rc_put_le32(buf + 4, (uint32_t)c->size + 1);
	ck_assert_int_eq(c->dec(buf, c->size + 1, &out), RC_EMALFORMED);
	rc_put_le32(buf + 4, (uint32_t)c->size - 1);
	ck_assert_int_eq(c->dec(buf, c->size, &out), RC_EMALFORMED);
	rc_put_le32(buf + 4, 23);
	ck_assert_int_eq(c->dec(buf, c->size, &out), RC_EMALFORMED);
	rc_put_le32(buf + 4, 0xffffffffu);
	ck_assert_int_eq(c->dec(buf, c->size, &out), RC_ETRUNC);
}
END_TEST

START_TEST(test_codec_decoders_check_type_flags_and_status)
{
	const struct fixed_case *c = &cases[_i];
	union anymsg in, out;
	uint8_t buf[2048];
	bool answer;

	c->fill(&in);
	ck_assert_uint_eq(c->enc(buf, sizeof(buf), &in), c->size);
	answer = rc_type_is_answer(in.hdr.type);

	rc_put_le16(buf + 2, 1); /* flags */
	ck_assert_int_eq(c->dec(buf, c->size, &out), RC_EFLAGS);
	rc_put_le16(buf + 2, 0x8000);
	ck_assert_int_eq(c->dec(buf, c->size, &out), RC_EFLAGS);
	rc_put_le16(buf + 2, 0);

	/* Status: only answers carry one, and only a known one. */
	rc_put_le32(buf + 20, answer ? VIRTIO_RESOURCE_S_RANGE + 1 : 1);
	ck_assert_int_eq(c->dec(buf, c->size, &out), answer ? RC_ERANGE : RC_EMALFORMED);
	rc_put_le32(buf + 20, in.hdr.status);

	/* Every other type, known or not, is refused. */
	for (uint32_t t = 0; t < 0x10000; t++) {
		bool mine = t == in.hdr.type;

		if (c->dec == dec_grant)
			mine |= t == VIRTIO_RESOURCE_A_GRANT || t == VIRTIO_RESOURCE_EV_GRANT;
		if (c->dec == dec_offer)
			mine |= t == VIRTIO_RESOURCE_A_OFFER || t == VIRTIO_RESOURCE_EV_OFFER;
		if (c->dec == dec_renegotiate)
			mine |= t == VIRTIO_RESOURCE_T_RENEGOTIATE ||
				t == VIRTIO_RESOURCE_EV_RENEGOTIATE;
		if (c->dec == dec_ranges)
			mine |= t == VIRTIO_RESOURCE_T_RESERVE || t == VIRTIO_RESOURCE_T_UNRESERVE;
		if (c->dec == dec_ev_allocation)
			mine |= t == VIRTIO_RESOURCE_EV_INVENTORY ||
				t == VIRTIO_RESOURCE_EV_ALLOCATION;
		if (c->dec == dec_file_op)
			mine |= t >= VIRTIO_RESOURCE_T_FILE_READ &&
				t <= VIRTIO_RESOURCE_T_FILE_CLOSE;
		if (mine)
			continue;
		rc_put_le16(buf, (uint16_t)t);
		/* A non-answer type with a status is refused for the status first. */
		rc_put_le32(buf + 20, rc_type_is_answer((uint16_t)t) ? in.hdr.status : 0);
		ck_assert_msg(c->dec(buf, c->size, &out) == RC_ETYPE, "%s took type %u", c->name,
			      t);
	}
}
END_TEST

Suite *core_codec_suite(void)
{
	Suite *s = suite_create("core codec");
	TCase *tc = tcase_create("round trips");
	int n = (int)(sizeof(cases) / sizeof(cases[0]));

	tcase_add_loop_test(tc, test_codec_round_trip_every_fixed_message, 0, n);
	tcase_add_loop_test(tc, test_codec_encoders_refuse_every_short_buffer, 0, n);
	tcase_add_loop_test(tc, test_codec_decoders_refuse_every_truncation, 0, n);
	tcase_add_loop_test(tc, test_codec_decoders_check_type_flags_and_status, 0, n);
	suite_add_tcase(s, tc);
	return s;
}
