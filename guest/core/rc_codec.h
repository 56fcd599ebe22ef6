/* SPDX-License-Identifier: MIT */
/*
 * guest/core codec: every message of the virtio-resource wire ABI
 * (include/uapi/linux/virtio_resource.h) as a host-order struct, with an
 * encoder and a validating decoder for each.
 *
 *   size_t rc_encode_X(void *buf, size_t cap, const struct rc_X *m);
 *	Writes the little-endian message and returns its length (hdr.len is
 *	computed, m->hdr.len is ignored; reserved fields are written as 0).
 *	Returns 0 when cap is too small or m cannot be represented (too many
 *	alternatives or ranges, a payload or path too long). Encoders do not
 *	check content, so tests can build messages a decoder must refuse.
 *
 *   int rc_decode_X(const void *buf, size_t len, struct rc_X *m);
 *	buf holds len bytes from the other side. The message is the first
 *	hdr.len of them (a virtio buffer may be larger). Every length, offset,
 *	enum, flag and reserved field is checked before use; on any error the
 *	function returns a negative RC_E* code and *m is unspecified. Pointer
 *	fields of a decoded message (payload, path, data) point into buf.
 *
 * The common header checks (rc_decode_hdr): at least a header's worth of
 * bytes (RC_ETRUNC), hdr.len at least the header (RC_EMALFORMED) and at most
 * len (RC_ETRUNC), flags 0 (RC_EFLAGS), status 0 in anything but an answer
 * and a known status in answers (RC_ERANGE). Each decoder then requires one
 * of its own types (RC_ETYPE) and its exact size (RC_EMALFORMED).
 */
#ifndef ACCORD_GUEST_CORE_RC_CODEC_H
#define ACCORD_GUEST_CORE_RC_CODEC_H

#include "rc_types.h"
#include <linux/virtio_resource.h>

struct rc_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint64_t txn;
	uint32_t app_id;
	uint32_t status;
};

struct rc_hello { /* T_HELLO */
	struct rc_hdr hdr;
	uint32_t version;
	uint64_t mem_rate;
};

struct rc_welcome { /* A_WELCOME */
	struct rc_hdr hdr;
	uint32_t version;
	uint32_t guest_id;
};

struct rc_request { /* T_REQUEST */
	struct rc_hdr hdr;
	uint16_t kind;
	uint8_t urgency;
	uint8_t latency;
	uint32_t deadline_ms;
	uint64_t amount;
	uint64_t minimum;
	uint64_t projected;
	uint32_t duration_ms;
};

struct rc_renegotiate { /* T_RENEGOTIATE, EV_RENEGOTIATE */
	struct rc_hdr hdr;
	uint16_t kind;
	uint32_t deadline_ms;
	uint64_t amount;
};

struct rc_grant { /* A_GRANT, EV_GRANT */
	struct rc_hdr hdr;
	uint16_t kind;
	uint32_t lease_ms;
	uint64_t amount;
	uint64_t allocation;
};

struct rc_deny { /* A_DENY */
	struct rc_hdr hdr;
	uint16_t kind;
	uint16_t reason;
	uint32_t retry_after_ms;
	uint64_t allocation;
};

struct rc_alternative {
	uint16_t kind;
	uint16_t type;
	uint32_t delay_ms;
	uint64_t amount;
};

struct rc_offer { /* A_OFFER, EV_OFFER */
	struct rc_hdr hdr;
	uint32_t offer_id;
	uint32_t expires_ms;
	uint32_t nr_alternatives; /* 1..VIRTIO_RESOURCE_MAX_ALTERNATIVES */
	struct rc_alternative alt[VIRTIO_RESOURCE_MAX_ALTERNATIVES];
};

struct rc_accept { /* T_ACCEPT */
	struct rc_hdr hdr;
	uint32_t offer_id;
	uint32_t choices;
};

struct rc_decline { /* T_DECLINE */
	struct rc_hdr hdr;
	uint32_t offer_id;
};

struct rc_release { /* T_RELEASE */
	struct rc_hdr hdr;
	uint16_t kind;
	uint64_t amount;
};

struct rc_range {
	uint64_t addr;
	uint64_t len;
};

struct rc_ranges { /* T_RESERVE, T_UNRESERVE; about 1 KiB: not for a kernel stack */
	struct rc_hdr hdr;
	uint32_t nr_ranges; /* 1..VIRTIO_RESOURCE_MAX_RANGES */
	struct rc_range range[VIRTIO_RESOURCE_MAX_RANGES];
};

struct rc_ack { /* A_ACK */
	struct rc_hdr hdr;
	uint64_t mem_granted;
	uint64_t mem_reserved;
	uint32_t vcpus_granted;
};

struct rc_error { /* A_ERROR */
	struct rc_hdr hdr;
	uint32_t detail;
};

struct rc_ev_allocation { /* EV_INVENTORY, EV_ALLOCATION */
	struct rc_hdr hdr;
	uint32_t generation;
	uint32_t vcpus_granted;
	uint64_t mem_granted;
};

struct rc_ev_reclaim { /* EV_RECLAIM */
	struct rc_hdr hdr;
	uint16_t kind;
	uint32_t deadline_ms;
	uint64_t amount;
	uint64_t target;
};

struct rc_stats { /* T_STATS */
	struct rc_hdr hdr;
	uint64_t timestamp_ns;
	uint64_t mem_total;
	uint64_t mem_available;
	uint64_t mem_committed;
	uint64_t mem_forecast;
	uint32_t psi_mem_milli;	 /* 0..1000 (0.1% units) */
	uint32_t psi_cpu_milli;	 /* 0..1000 */
	uint32_t cpu_util_milli; /* 0..1000 */
	uint32_t runqueue_milli;
	uint32_t vcpu_forecast_milli;
};

struct rc_message { /* T_MESSAGE, EV_MESSAGE */
	struct rc_hdr hdr;
	uint32_t dest;
	uint32_t source;
	const uint8_t *payload;
	uint32_t payload_len;
};

struct rc_file_open { /* T_FILE_OPEN */
	struct rc_hdr hdr;
	uint32_t flags;
	uint32_t path_len; /* 1..VIRTIO_RESOURCE_MAX_PATH, no NUL inside */
	const char *path;  /* not NUL-terminated */
};

struct rc_file_op { /* T_FILE_READ, T_FILE_STAT, T_FILE_CLOSE */
	struct rc_hdr hdr;
	uint32_t handle;
	uint32_t len;	 /* READ: 1..VIRTIO_RESOURCE_MAX_READ; otherwise 0 */
	uint64_t offset; /* READ; otherwise 0 */
};

struct rc_file { /* A_FILE */
	struct rc_hdr hdr;
	uint32_t handle;
	uint32_t mode;
	uint64_t size;
	uint64_t mtime_ns;
};

struct rc_data { /* A_DATA (at most VIRTIO_RESOURCE_MAX_READ bytes), A_INVENTORY */
	struct rc_hdr hdr;
	const uint8_t *data;
	uint32_t data_len;
};

/* The header alone; rc_peek_type() also refuses unknown types (RC_EUNSUPPORTED). */
int rc_decode_hdr(const void *buf, size_t len, struct rc_hdr *h);
int rc_peek_type(const void *buf, size_t len, uint16_t *type);
bool rc_type_known(uint16_t type);
bool rc_type_is_answer(uint16_t type);
bool rc_kind_known(uint16_t kind);

/* Header-only messages (T_GET_INVENTORY). */
size_t rc_encode_bare(void *buf, size_t cap, const struct rc_hdr *h);
int rc_decode_bare(const void *buf, size_t len, struct rc_hdr *h);

size_t rc_encode_hello(void *buf, size_t cap, const struct rc_hello *m);
int rc_decode_hello(const void *buf, size_t len, struct rc_hello *m);
size_t rc_encode_welcome(void *buf, size_t cap, const struct rc_welcome *m);
int rc_decode_welcome(const void *buf, size_t len, struct rc_welcome *m);
size_t rc_encode_request(void *buf, size_t cap, const struct rc_request *m);
int rc_decode_request(const void *buf, size_t len, struct rc_request *m);
size_t rc_encode_renegotiate(void *buf, size_t cap, const struct rc_renegotiate *m);
int rc_decode_renegotiate(const void *buf, size_t len, struct rc_renegotiate *m);
size_t rc_encode_grant(void *buf, size_t cap, const struct rc_grant *m);
int rc_decode_grant(const void *buf, size_t len, struct rc_grant *m);
size_t rc_encode_deny(void *buf, size_t cap, const struct rc_deny *m);
int rc_decode_deny(const void *buf, size_t len, struct rc_deny *m);
size_t rc_encode_offer(void *buf, size_t cap, const struct rc_offer *m);
int rc_decode_offer(const void *buf, size_t len, struct rc_offer *m);
size_t rc_encode_accept(void *buf, size_t cap, const struct rc_accept *m);
int rc_decode_accept(const void *buf, size_t len, struct rc_accept *m);
size_t rc_encode_decline(void *buf, size_t cap, const struct rc_decline *m);
int rc_decode_decline(const void *buf, size_t len, struct rc_decline *m);
size_t rc_encode_release(void *buf, size_t cap, const struct rc_release *m);
int rc_decode_release(const void *buf, size_t len, struct rc_release *m);

/*
 * RESERVE/UNRESERVE. granule: 0 to skip the alignment check, otherwise a
 * power of two (RC_EINVAL if not) that every addr and len must be a multiple
 * of (RC_EALIGN). Every range is non-empty and addr + len must not wrap
 * (RC_EOVERFLOW); nr_ranges is 1..MAX_RANGES (RC_ERANGE) and hdr.len is
 * exactly the header plus nr_ranges ranges (RC_EMALFORMED).
 */
size_t rc_encode_ranges(void *buf, size_t cap, const struct rc_ranges *m);
int rc_decode_ranges(const void *buf, size_t len, uint64_t granule, struct rc_ranges *m);

size_t rc_encode_ack(void *buf, size_t cap, const struct rc_ack *m);
int rc_decode_ack(const void *buf, size_t len, struct rc_ack *m);
size_t rc_encode_error(void *buf, size_t cap, const struct rc_error *m);
int rc_decode_error(const void *buf, size_t len, struct rc_error *m);
size_t rc_encode_ev_allocation(void *buf, size_t cap, const struct rc_ev_allocation *m);
int rc_decode_ev_allocation(const void *buf, size_t len, struct rc_ev_allocation *m);
size_t rc_encode_ev_reclaim(void *buf, size_t cap, const struct rc_ev_reclaim *m);
int rc_decode_ev_reclaim(const void *buf, size_t len, struct rc_ev_reclaim *m);
size_t rc_encode_stats(void *buf, size_t cap, const struct rc_stats *m);
int rc_decode_stats(const void *buf, size_t len, struct rc_stats *m);

/*
 * max_message: the largest message accepted, header included (the device's
 * config max_message); 0 means no limit beyond len. Larger: RC_ETOOBIG.
 */
size_t rc_encode_message(void *buf, size_t cap, const struct rc_message *m);
int rc_decode_message(const void *buf, size_t len, uint32_t max_message, struct rc_message *m);

size_t rc_encode_file_open(void *buf, size_t cap, const struct rc_file_open *m);
int rc_decode_file_open(const void *buf, size_t len, struct rc_file_open *m);
size_t rc_encode_file_op(void *buf, size_t cap, const struct rc_file_op *m);
int rc_decode_file_op(const void *buf, size_t len, struct rc_file_op *m);
size_t rc_encode_file(void *buf, size_t cap, const struct rc_file *m);
int rc_decode_file(const void *buf, size_t len, struct rc_file *m);
size_t rc_encode_data(void *buf, size_t cap, const struct rc_data *m);
int rc_decode_data(const void *buf, size_t len, struct rc_data *m);

/*
 * The host's check of an ACCEPT against the offer it made for the same txn:
 * same transaction and offer id (RC_ENOENT), and only alternatives that
 * exist (RC_ERANGE).
 */
int rc_accept_check(const struct rc_accept *a, const struct rc_offer *o);

/* Everything the host sends a guest: answers and events, decoded by type. */
union rc_body {
	struct rc_welcome welcome;
	struct rc_grant grant;
	struct rc_deny deny;
	struct rc_offer offer;
	struct rc_ack ack;
	struct rc_error error;
	struct rc_file file;
	struct rc_data data;
	struct rc_ev_allocation allocation;
	struct rc_ev_reclaim reclaim;
	struct rc_renegotiate renegotiate;
	struct rc_message message;
};

/*
 * Decode an answer or an event (a host -> guest type) into *h and *u by its
 * type; RC_ETYPE for a type the host never sends. max_message as for
 * rc_decode_message().
 */
int rc_decode_from_host(const void *buf, size_t len, uint32_t max_message, struct rc_hdr *h,
			union rc_body *u);

/* Names for logs and reports ("A_GRANT", "memory"; "none" for 0, "unknown" otherwise). */
const char *rc_type_name(uint16_t type);
const char *rc_kind_name(uint16_t kind);

/* The wire status (enum virtio_resource_status) to answer an rc_err with. */
uint32_t rc_status_of(int err);

#endif /* ACCORD_GUEST_CORE_RC_CODEC_H */
