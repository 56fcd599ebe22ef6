// SPDX-License-Identifier: MIT
/*
 * guest/core codec, part 1: the header, error codes, and the negotiation
 * messages (hello, request, renegotiate, grant, deny, offer, accept,
 * decline, release). rc_codec_xfer.c has the rest.
 */
#include "rc_codec_priv.h"

const char *rc_strerror(int err)
{
	switch (err) {
	case RC_OK:
		return "success";
	case RC_EMALFORMED:
		return "malformed";
	case RC_ETRUNC:
		return "truncated";
	case RC_EFLAGS:
		return "flags set";
	case RC_ETYPE:
		return "wrong message type";
	case RC_EUNSUPPORTED:
		return "unsupported";
	case RC_ERANGE:
		return "out of range";
	case RC_EALIGN:
		return "misaligned";
	case RC_EOVERFLOW:
		return "overflow";
	case RC_ETOOBIG:
		return "too big";
	case RC_ENOSPC:
		return "no space";
	case RC_EORDER:
		return "out of order";
	case RC_EBUSY:
		return "busy";
	case RC_ENOENT:
		return "not found";
	case RC_EINVAL:
		return "invalid argument";
	case RC_EVERSION:
		return "unsupported version";
	}
	return "unknown error";
}

uint32_t rc_status_of(int err)
{
	switch (err) {
	case RC_OK:
		return VIRTIO_RESOURCE_S_OK;
	case RC_ERANGE:
		return VIRTIO_RESOURCE_S_RANGE;
	case RC_EUNSUPPORTED:
	case RC_EVERSION:
		return VIRTIO_RESOURCE_S_UNSUPPORTED;
	case RC_ETOOBIG:
		return VIRTIO_RESOURCE_S_TOO_BIG;
	case RC_EORDER:
		return VIRTIO_RESOURCE_S_ORDER;
	case RC_EBUSY:
	case RC_ENOSPC:
		return VIRTIO_RESOURCE_S_BUSY;
	case RC_ENOENT:
		return VIRTIO_RESOURCE_S_NOENT;
	}
	return VIRTIO_RESOURCE_S_MALFORMED;
}

void rc_codec_zero(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = 0;
}

bool rc_codec_is_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

bool rc_type_known(uint16_t type)
{
	return (type >= VIRTIO_RESOURCE_T_HELLO && type <= VIRTIO_RESOURCE_T_RENEGOTIATE) ||
	       (type >= VIRTIO_RESOURCE_EV_INVENTORY && type <= VIRTIO_RESOURCE_EV_MESSAGE) ||
	       (type >= VIRTIO_RESOURCE_A_WELCOME && type <= VIRTIO_RESOURCE_A_DATA) ||
	       type == VIRTIO_RESOURCE_T_STATS || type == VIRTIO_RESOURCE_T_MESSAGE ||
	       (type >= VIRTIO_RESOURCE_T_FILE_OPEN && type <= VIRTIO_RESOURCE_T_FILE_CLOSE);
}

bool rc_type_is_answer(uint16_t type)
{
	return type >= VIRTIO_RESOURCE_A_WELCOME && type <= VIRTIO_RESOURCE_A_DATA;
}

bool rc_kind_known(uint16_t kind)
{
	return kind >= VIRTIO_RESOURCE_K_MEMORY && kind <= VIRTIO_RESOURCE_K_IO_BANDWIDTH;
}

int rc_decode_hdr(const void *buf, size_t len, struct rc_hdr *h)
{
	const uint8_t *b = buf;

	if (!b || len < RC_HDR_SIZE)
		return RC_ETRUNC;
	h->type = RC_GET16(b, hdr, type);
	h->flags = RC_GET16(b, hdr, flags);
	h->len = RC_GET32(b, hdr, len);
	h->txn = RC_GET64(b, hdr, txn);
	h->app_id = RC_GET32(b, hdr, app_id);
	h->status = RC_GET32(b, hdr, status);
	if (h->len < RC_HDR_SIZE)
		return RC_EMALFORMED;
	if (h->len > len)
		return RC_ETRUNC;
	if (h->flags)
		return RC_EFLAGS;
	if (rc_type_is_answer(h->type)) {
		if (h->status > VIRTIO_RESOURCE_S_RANGE)
			return RC_ERANGE;
	} else if (h->status) {
		return RC_EMALFORMED;
	}
	return 0;
}

int rc_peek_type(const void *buf, size_t len, uint16_t *type)
{
	struct rc_hdr h;
	int err = rc_decode_hdr(buf, len, &h);

	if (err)
		return err;
	if (!rc_type_known(h.type))
		return RC_EUNSUPPORTED;
	*type = h.type;
	return 0;
}

size_t rc_codec_start(void *buf, size_t cap, const struct rc_hdr *h, size_t size)
{
	uint8_t *b = buf;

	if (!b || cap < size || size > RC_U32_MAX)
		return 0;
	rc_codec_zero(b, size);
	RC_PUT16(b, hdr, type, h->type);
	RC_PUT16(b, hdr, flags, h->flags);
	RC_PUT32(b, hdr, len, (uint32_t)size);
	RC_PUT64(b, hdr, txn, h->txn);
	RC_PUT32(b, hdr, app_id, h->app_id);
	RC_PUT32(b, hdr, status, h->status);
	return size;
}

int rc_codec_fixed(const uint8_t *b, size_t len, struct rc_hdr *h, size_t size, uint16_t t1,
		   uint16_t t2)
{
	int err = rc_decode_hdr(b, len, h);

	if (err)
		return err;
	if (h->type != t1 && h->type != t2)
		return RC_ETYPE;
	if (h->len != size)
		return RC_EMALFORMED;
	return 0;
}

size_t rc_encode_bare(void *buf, size_t cap, const struct rc_hdr *h)
{
	return rc_codec_start(buf, cap, h, RC_HDR_SIZE);
}

int rc_decode_bare(const void *buf, size_t len, struct rc_hdr *h)
{
	return rc_codec_fixed(buf, len, h, RC_HDR_SIZE, VIRTIO_RESOURCE_T_GET_INVENTORY,
			      VIRTIO_RESOURCE_T_GET_INVENTORY);
}

size_t rc_encode_hello(void *buf, size_t cap, const struct rc_hello *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(hello));
	uint8_t *b = buf;

	if (n) {
		RC_PUT32(b, hello, version, m->version);
		RC_PUT64(b, hello, mem_rate, m->mem_rate);
	}
	return n;
}

int rc_decode_hello(const void *buf, size_t len, struct rc_hello *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(hello), VIRTIO_RESOURCE_T_HELLO,
				 VIRTIO_RESOURCE_T_HELLO);

	if (err)
		return err;
	if (RC_GET32(b, hello, reserved))
		return RC_EMALFORMED;
	m->version = RC_GET32(b, hello, version);
	m->mem_rate = RC_GET64(b, hello, mem_rate);
	return m->version ? 0 : RC_EVERSION;
}

size_t rc_encode_welcome(void *buf, size_t cap, const struct rc_welcome *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(welcome));
	uint8_t *b = buf;

	if (n) {
		RC_PUT32(b, welcome, version, m->version);
		RC_PUT32(b, welcome, guest_id, m->guest_id);
	}
	return n;
}

int rc_decode_welcome(const void *buf, size_t len, struct rc_welcome *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(welcome), VIRTIO_RESOURCE_A_WELCOME,
				 VIRTIO_RESOURCE_A_WELCOME);

	if (err)
		return err;
	m->version = RC_GET32(b, welcome, version);
	m->guest_id = RC_GET32(b, welcome, guest_id);
	return 0;
}

size_t rc_encode_request(void *buf, size_t cap, const struct rc_request *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(request));
	uint8_t *b = buf;

	if (n) {
		RC_PUT16(b, request, kind, m->kind);
		b[RC_OFF(request, urgency)] = m->urgency;
		b[RC_OFF(request, latency)] = m->latency;
		RC_PUT32(b, request, deadline_ms, m->deadline_ms);
		RC_PUT64(b, request, amount, m->amount);
		RC_PUT64(b, request, minimum, m->minimum);
		RC_PUT64(b, request, projected, m->projected);
		RC_PUT32(b, request, duration_ms, m->duration_ms);
	}
	return n;
}

int rc_decode_request(const void *buf, size_t len, struct rc_request *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(request), VIRTIO_RESOURCE_T_REQUEST,
				 VIRTIO_RESOURCE_T_REQUEST);

	if (err)
		return err;
	if (RC_GET32(b, request, reserved))
		return RC_EMALFORMED;
	m->kind = RC_GET16(b, request, kind);
	m->urgency = b[RC_OFF(request, urgency)];
	m->latency = b[RC_OFF(request, latency)];
	m->deadline_ms = RC_GET32(b, request, deadline_ms);
	m->amount = RC_GET64(b, request, amount);
	m->minimum = RC_GET64(b, request, minimum);
	m->projected = RC_GET64(b, request, projected);
	m->duration_ms = RC_GET32(b, request, duration_ms);
	if (!rc_kind_known(m->kind))
		return RC_EUNSUPPORTED;
	if (m->urgency > VIRTIO_RESOURCE_U_CRITICAL || m->latency > VIRTIO_RESOURCE_L_REALTIME)
		return RC_ERANGE;
	if (!m->amount || m->minimum > m->amount)
		return RC_ERANGE;
	return 0;
}

size_t rc_encode_renegotiate(void *buf, size_t cap, const struct rc_renegotiate *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(renegotiate));
	uint8_t *b = buf;

	if (n) {
		RC_PUT16(b, renegotiate, kind, m->kind);
		RC_PUT32(b, renegotiate, deadline_ms, m->deadline_ms);
		RC_PUT64(b, renegotiate, amount, m->amount);
	}
	return n;
}

int rc_decode_renegotiate(const void *buf, size_t len, struct rc_renegotiate *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(renegotiate), VIRTIO_RESOURCE_T_RENEGOTIATE,
				 VIRTIO_RESOURCE_EV_RENEGOTIATE);

	if (err)
		return err;
	if (RC_GET16(b, renegotiate, reserved))
		return RC_EMALFORMED;
	m->kind = RC_GET16(b, renegotiate, kind);
	m->deadline_ms = RC_GET32(b, renegotiate, deadline_ms);
	m->amount = RC_GET64(b, renegotiate, amount);
	return rc_kind_known(m->kind) ? 0 : RC_EUNSUPPORTED;
}

size_t rc_encode_grant(void *buf, size_t cap, const struct rc_grant *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(grant));
	uint8_t *b = buf;

	if (n) {
		RC_PUT16(b, grant, kind, m->kind);
		RC_PUT32(b, grant, lease_ms, m->lease_ms);
		RC_PUT64(b, grant, amount, m->amount);
		RC_PUT64(b, grant, allocation, m->allocation);
	}
	return n;
}

int rc_decode_grant(const void *buf, size_t len, struct rc_grant *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(grant), VIRTIO_RESOURCE_A_GRANT,
				 VIRTIO_RESOURCE_EV_GRANT);

	if (err)
		return err;
	if (RC_GET16(b, grant, reserved))
		return RC_EMALFORMED;
	m->kind = RC_GET16(b, grant, kind);
	m->lease_ms = RC_GET32(b, grant, lease_ms);
	m->amount = RC_GET64(b, grant, amount);
	m->allocation = RC_GET64(b, grant, allocation);
	return rc_kind_known(m->kind) ? 0 : RC_EUNSUPPORTED;
}

size_t rc_encode_deny(void *buf, size_t cap, const struct rc_deny *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(deny));
	uint8_t *b = buf;

	if (n) {
		RC_PUT16(b, deny, kind, m->kind);
		RC_PUT16(b, deny, reason, m->reason);
		RC_PUT32(b, deny, retry_after_ms, m->retry_after_ms);
		RC_PUT64(b, deny, allocation, m->allocation);
	}
	return n;
}

int rc_decode_deny(const void *buf, size_t len, struct rc_deny *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(deny), VIRTIO_RESOURCE_A_DENY,
				 VIRTIO_RESOURCE_A_DENY);

	if (err)
		return err;
	m->kind = RC_GET16(b, deny, kind);
	m->reason = RC_GET16(b, deny, reason);
	m->retry_after_ms = RC_GET32(b, deny, retry_after_ms);
	m->allocation = RC_GET64(b, deny, allocation);
	if (!rc_kind_known(m->kind))
		return RC_EUNSUPPORTED;
	if (m->reason < VIRTIO_RESOURCE_D_ABOVE_MAX || m->reason > VIRTIO_RESOURCE_D_UNSUPPORTED)
		return RC_ERANGE;
	return 0;
}

size_t rc_encode_offer(void *buf, size_t cap, const struct rc_offer *m)
{
	size_t n, i, off;
	uint8_t *b = buf;

	if (m->nr_alternatives > VIRTIO_RESOURCE_MAX_ALTERNATIVES)
		return 0;
	n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(offer));
	if (!n)
		return 0;
	RC_PUT32(b, offer, offer_id, m->offer_id);
	RC_PUT32(b, offer, expires_ms, m->expires_ms);
	RC_PUT32(b, offer, nr_alternatives, m->nr_alternatives);
	for (i = 0; i < m->nr_alternatives; i++) {
		off = RC_OFF(offer, alt) + i * RC_SZ(alternative);
		RC_PUT16(b + off, alternative, kind, m->alt[i].kind);
		RC_PUT16(b + off, alternative, type, m->alt[i].type);
		RC_PUT32(b + off, alternative, delay_ms, m->alt[i].delay_ms);
		RC_PUT64(b + off, alternative, amount, m->alt[i].amount);
	}
	return n;
}

int rc_decode_offer(const void *buf, size_t len, struct rc_offer *m)
{
	const uint8_t *b = buf;
	size_t i, off;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(offer), VIRTIO_RESOURCE_A_OFFER,
				 VIRTIO_RESOURCE_EV_OFFER);

	if (err)
		return err;
	if (RC_GET32(b, offer, reserved))
		return RC_EMALFORMED;
	m->offer_id = RC_GET32(b, offer, offer_id);
	m->expires_ms = RC_GET32(b, offer, expires_ms);
	m->nr_alternatives = RC_GET32(b, offer, nr_alternatives);
	if (!m->nr_alternatives || m->nr_alternatives > VIRTIO_RESOURCE_MAX_ALTERNATIVES)
		return RC_ERANGE;
	for (i = 0; i < VIRTIO_RESOURCE_MAX_ALTERNATIVES; i++) {
		struct rc_alternative *a = &m->alt[i];

		off = RC_OFF(offer, alt) + i * RC_SZ(alternative);
		if (i >= m->nr_alternatives) {
			/* Unused slots must be zero, so every byte has one meaning. */
			if (!rc_codec_is_zero(b + off, RC_SZ(alternative)))
				return RC_EMALFORMED;
			a->kind = a->type = 0;
			a->delay_ms = 0;
			a->amount = 0;
			continue;
		}
		a->kind = RC_GET16(b + off, alternative, kind);
		a->type = RC_GET16(b + off, alternative, type);
		a->delay_ms = RC_GET32(b + off, alternative, delay_ms);
		a->amount = RC_GET64(b + off, alternative, amount);
		if (!rc_kind_known(a->kind))
			return RC_EUNSUPPORTED;
		if (a->type < VIRTIO_RESOURCE_ALT_PART_NOW || a->type > VIRTIO_RESOURCE_ALT_MIGRATE)
			return RC_ERANGE;
	}
	return 0;
}

size_t rc_encode_accept(void *buf, size_t cap, const struct rc_accept *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(accept));
	uint8_t *b = buf;

	if (n) {
		RC_PUT32(b, accept, offer_id, m->offer_id);
		RC_PUT32(b, accept, choices, m->choices);
	}
	return n;
}

int rc_decode_accept(const void *buf, size_t len, struct rc_accept *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(accept), VIRTIO_RESOURCE_T_ACCEPT,
				 VIRTIO_RESOURCE_T_ACCEPT);

	if (err)
		return err;
	m->offer_id = RC_GET32(b, accept, offer_id);
	m->choices = RC_GET32(b, accept, choices);
	if (!m->choices || m->choices >> VIRTIO_RESOURCE_MAX_ALTERNATIVES)
		return RC_ERANGE;
	return 0;
}

int rc_accept_check(const struct rc_accept *a, const struct rc_offer *o)
{
	if (a->hdr.txn != o->hdr.txn || a->offer_id != o->offer_id)
		return RC_ENOENT;
	if (o->nr_alternatives > VIRTIO_RESOURCE_MAX_ALTERNATIVES || !a->choices ||
	    a->choices >> o->nr_alternatives)
		return RC_ERANGE;
	return 0;
}

size_t rc_encode_decline(void *buf, size_t cap, const struct rc_decline *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(decline));

	if (n)
		RC_PUT32((uint8_t *)buf, decline, offer_id, m->offer_id);
	return n;
}

int rc_decode_decline(const void *buf, size_t len, struct rc_decline *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(decline), VIRTIO_RESOURCE_T_DECLINE,
				 VIRTIO_RESOURCE_T_DECLINE);

	if (err)
		return err;
	if (RC_GET32(b, decline, reserved))
		return RC_EMALFORMED;
	m->offer_id = RC_GET32(b, decline, offer_id);
	return 0;
}

size_t rc_encode_release(void *buf, size_t cap, const struct rc_release *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(release));
	uint8_t *b = buf;

	if (n) {
		RC_PUT16(b, release, kind, m->kind);
		RC_PUT64(b, release, amount, m->amount);
	}
	return n;
}

int rc_decode_release(const void *buf, size_t len, struct rc_release *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(release), VIRTIO_RESOURCE_T_RELEASE,
				 VIRTIO_RESOURCE_T_RELEASE);

	if (err)
		return err;
	if (RC_GET16(b, release, reserved) || RC_GET32(b, release, reserved2))
		return RC_EMALFORMED;
	m->kind = RC_GET16(b, release, kind);
	m->amount = RC_GET64(b, release, amount);
	if (!rc_kind_known(m->kind))
		return RC_EUNSUPPORTED;
	return m->amount ? 0 : RC_ERANGE;
}

int rc_decode_from_host(const void *buf, size_t len, uint32_t max_message, struct rc_hdr *h,
			union rc_body *u)
{
	int err = rc_decode_hdr(buf, len, h);

	if (err)
		return err;
	switch (h->type) {
	case VIRTIO_RESOURCE_A_WELCOME:
		return rc_decode_welcome(buf, len, &u->welcome);
	case VIRTIO_RESOURCE_A_GRANT:
	case VIRTIO_RESOURCE_EV_GRANT:
		return rc_decode_grant(buf, len, &u->grant);
	case VIRTIO_RESOURCE_A_DENY:
		return rc_decode_deny(buf, len, &u->deny);
	case VIRTIO_RESOURCE_A_OFFER:
	case VIRTIO_RESOURCE_EV_OFFER:
		return rc_decode_offer(buf, len, &u->offer);
	case VIRTIO_RESOURCE_A_ACK:
		return rc_decode_ack(buf, len, &u->ack);
	case VIRTIO_RESOURCE_A_ERROR:
		return rc_decode_error(buf, len, &u->error);
	case VIRTIO_RESOURCE_A_FILE:
		return rc_decode_file(buf, len, &u->file);
	case VIRTIO_RESOURCE_A_DATA:
	case VIRTIO_RESOURCE_A_INVENTORY:
		return rc_decode_data(buf, len, &u->data);
	case VIRTIO_RESOURCE_EV_INVENTORY:
	case VIRTIO_RESOURCE_EV_ALLOCATION:
		return rc_decode_ev_allocation(buf, len, &u->allocation);
	case VIRTIO_RESOURCE_EV_RECLAIM:
		return rc_decode_ev_reclaim(buf, len, &u->reclaim);
	case VIRTIO_RESOURCE_EV_RENEGOTIATE:
		return rc_decode_renegotiate(buf, len, &u->renegotiate);
	case VIRTIO_RESOURCE_EV_MESSAGE:
		return rc_decode_message(buf, len, max_message, &u->message);
	}
	return RC_ETYPE;
}

const char *rc_type_name(uint16_t type)
{
	switch (type) {
	case 0:
		return "none";
	case VIRTIO_RESOURCE_T_HELLO:
		return "HELLO";
	case VIRTIO_RESOURCE_T_GET_INVENTORY:
		return "GET_INVENTORY";
	case VIRTIO_RESOURCE_T_REQUEST:
		return "REQUEST";
	case VIRTIO_RESOURCE_T_ACCEPT:
		return "ACCEPT";
	case VIRTIO_RESOURCE_T_DECLINE:
		return "DECLINE";
	case VIRTIO_RESOURCE_T_RELEASE:
		return "RELEASE";
	case VIRTIO_RESOURCE_T_RESERVE:
		return "RESERVE";
	case VIRTIO_RESOURCE_T_UNRESERVE:
		return "UNRESERVE";
	case VIRTIO_RESOURCE_T_RENEGOTIATE:
		return "RENEGOTIATE";
	case VIRTIO_RESOURCE_EV_INVENTORY:
		return "EV_INVENTORY";
	case VIRTIO_RESOURCE_EV_ALLOCATION:
		return "EV_ALLOCATION";
	case VIRTIO_RESOURCE_EV_RECLAIM:
		return "EV_RECLAIM";
	case VIRTIO_RESOURCE_EV_GRANT:
		return "EV_GRANT";
	case VIRTIO_RESOURCE_EV_OFFER:
		return "EV_OFFER";
	case VIRTIO_RESOURCE_EV_RENEGOTIATE:
		return "EV_RENEGOTIATE";
	case VIRTIO_RESOURCE_EV_MESSAGE:
		return "EV_MESSAGE";
	case VIRTIO_RESOURCE_A_WELCOME:
		return "A_WELCOME";
	case VIRTIO_RESOURCE_A_ACK:
		return "A_ACK";
	case VIRTIO_RESOURCE_A_GRANT:
		return "A_GRANT";
	case VIRTIO_RESOURCE_A_DENY:
		return "A_DENY";
	case VIRTIO_RESOURCE_A_OFFER:
		return "A_OFFER";
	case VIRTIO_RESOURCE_A_ERROR:
		return "A_ERROR";
	case VIRTIO_RESOURCE_A_INVENTORY:
		return "A_INVENTORY";
	case VIRTIO_RESOURCE_A_FILE:
		return "A_FILE";
	case VIRTIO_RESOURCE_A_DATA:
		return "A_DATA";
	case VIRTIO_RESOURCE_T_STATS:
		return "STATS";
	case VIRTIO_RESOURCE_T_MESSAGE:
		return "MESSAGE";
	case VIRTIO_RESOURCE_T_FILE_OPEN:
		return "FILE_OPEN";
	case VIRTIO_RESOURCE_T_FILE_READ:
		return "FILE_READ";
	case VIRTIO_RESOURCE_T_FILE_STAT:
		return "FILE_STAT";
	case VIRTIO_RESOURCE_T_FILE_CLOSE:
		return "FILE_CLOSE";
	}
	return "unknown";
}

const char *rc_kind_name(uint16_t kind)
{
	switch (kind) {
	case VIRTIO_RESOURCE_K_MEMORY:
		return "memory";
	case VIRTIO_RESOURCE_K_VCPU:
		return "vcpus";
	case VIRTIO_RESOURCE_K_IO_BANDWIDTH:
		return "io-bandwidth";
	}
	return "unknown";
}
