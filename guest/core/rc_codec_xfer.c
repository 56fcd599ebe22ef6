// SPDX-License-Identifier: MIT
/*
 * guest/core codec, part 2: memory ranges, acknowledgements and errors,
 * host events, statistics, messages and file transfer.
 */
#include "rc_codec_priv.h"

static void rc_copy(uint8_t *d, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = s[i];
}

size_t rc_encode_ranges(void *buf, size_t cap, const struct rc_ranges *m)
{
	size_t n, i, off;
	uint8_t *b = buf;

	if (m->nr_ranges > VIRTIO_RESOURCE_MAX_RANGES)
		return 0;
	n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(ranges) + m->nr_ranges * RC_SZ(range));
	if (!n)
		return 0;
	RC_PUT32(b, ranges, nr_ranges, m->nr_ranges);
	for (i = 0; i < m->nr_ranges; i++) {
		off = RC_OFF(ranges, range) + i * RC_SZ(range);
		RC_PUT64(b + off, range, addr, m->range[i].addr);
		RC_PUT64(b + off, range, len, m->range[i].len);
	}
	return n;
}

int rc_decode_ranges(const void *buf, size_t len, uint64_t granule, struct rc_ranges *m)
{
	const uint8_t *b = buf;
	uint64_t mask = granule ? granule - 1 : 0;
	size_t i, off;
	int err;

	if (granule && !rc_is_pow2(granule))
		return RC_EINVAL;
	err = rc_decode_hdr(b, len, &m->hdr);
	if (err)
		return err;
	if (m->hdr.type != VIRTIO_RESOURCE_T_RESERVE && m->hdr.type != VIRTIO_RESOURCE_T_UNRESERVE)
		return RC_ETYPE;
	if (m->hdr.len < RC_SZ(ranges))
		return RC_EMALFORMED;
	if (RC_GET32(b, ranges, reserved))
		return RC_EMALFORMED;
	m->nr_ranges = RC_GET32(b, ranges, nr_ranges);
	if (!m->nr_ranges || m->nr_ranges > VIRTIO_RESOURCE_MAX_RANGES)
		return RC_ERANGE;
	/* nr_ranges <= 64, so this cannot overflow. */
	if (m->hdr.len != RC_SZ(ranges) + m->nr_ranges * RC_SZ(range))
		return RC_EMALFORMED;
	for (i = 0; i < m->nr_ranges; i++) {
		struct rc_range *r = &m->range[i];

		off = RC_OFF(ranges, range) + i * RC_SZ(range);
		r->addr = RC_GET64(b + off, range, addr);
		r->len = RC_GET64(b + off, range, len);
		if (!r->len)
			return RC_ERANGE;
		if (r->addr + r->len < r->addr)
			return RC_EOVERFLOW;
		if ((r->addr | r->len) & mask)
			return RC_EALIGN;
	}
	return 0;
}

size_t rc_encode_ack(void *buf, size_t cap, const struct rc_ack *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(ack));
	uint8_t *b = buf;

	if (n) {
		RC_PUT64(b, ack, mem_granted, m->mem_granted);
		RC_PUT64(b, ack, mem_reserved, m->mem_reserved);
		RC_PUT32(b, ack, vcpus_granted, m->vcpus_granted);
	}
	return n;
}

int rc_decode_ack(const void *buf, size_t len, struct rc_ack *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(ack), VIRTIO_RESOURCE_A_ACK,
				 VIRTIO_RESOURCE_A_ACK);

	if (err)
		return err;
	if (RC_GET32(b, ack, reserved))
		return RC_EMALFORMED;
	m->mem_granted = RC_GET64(b, ack, mem_granted);
	m->mem_reserved = RC_GET64(b, ack, mem_reserved);
	m->vcpus_granted = RC_GET32(b, ack, vcpus_granted);
	return 0;
}

size_t rc_encode_error(void *buf, size_t cap, const struct rc_error *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(error));

	if (n)
		RC_PUT32((uint8_t *)buf, error, detail, m->detail);
	return n;
}

int rc_decode_error(const void *buf, size_t len, struct rc_error *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(error), VIRTIO_RESOURCE_A_ERROR,
				 VIRTIO_RESOURCE_A_ERROR);

	if (err)
		return err;
	if (RC_GET32(b, error, reserved))
		return RC_EMALFORMED;
	m->detail = RC_GET32(b, error, detail);
	return 0;
}

size_t rc_encode_ev_allocation(void *buf, size_t cap, const struct rc_ev_allocation *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(ev_allocation));
	uint8_t *b = buf;

	if (n) {
		RC_PUT32(b, ev_allocation, generation, m->generation);
		RC_PUT32(b, ev_allocation, vcpus_granted, m->vcpus_granted);
		RC_PUT64(b, ev_allocation, mem_granted, m->mem_granted);
	}
	return n;
}

int rc_decode_ev_allocation(const void *buf, size_t len, struct rc_ev_allocation *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(ev_allocation),
				 VIRTIO_RESOURCE_EV_INVENTORY, VIRTIO_RESOURCE_EV_ALLOCATION);

	if (err)
		return err;
	m->generation = RC_GET32(b, ev_allocation, generation);
	m->vcpus_granted = RC_GET32(b, ev_allocation, vcpus_granted);
	m->mem_granted = RC_GET64(b, ev_allocation, mem_granted);
	return 0;
}

size_t rc_encode_ev_reclaim(void *buf, size_t cap, const struct rc_ev_reclaim *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(ev_reclaim));
	uint8_t *b = buf;

	if (n) {
		RC_PUT16(b, ev_reclaim, kind, m->kind);
		RC_PUT32(b, ev_reclaim, deadline_ms, m->deadline_ms);
		RC_PUT64(b, ev_reclaim, amount, m->amount);
		RC_PUT64(b, ev_reclaim, target, m->target);
	}
	return n;
}

int rc_decode_ev_reclaim(const void *buf, size_t len, struct rc_ev_reclaim *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(ev_reclaim), VIRTIO_RESOURCE_EV_RECLAIM,
				 VIRTIO_RESOURCE_EV_RECLAIM);

	if (err)
		return err;
	if (RC_GET16(b, ev_reclaim, reserved))
		return RC_EMALFORMED;
	m->kind = RC_GET16(b, ev_reclaim, kind);
	m->deadline_ms = RC_GET32(b, ev_reclaim, deadline_ms);
	m->amount = RC_GET64(b, ev_reclaim, amount);
	m->target = RC_GET64(b, ev_reclaim, target);
	if (!rc_kind_known(m->kind))
		return RC_EUNSUPPORTED;
	return m->amount ? 0 : RC_ERANGE;
}

size_t rc_encode_stats(void *buf, size_t cap, const struct rc_stats *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(stats));
	uint8_t *b = buf;

	if (n) {
		RC_PUT64(b, stats, timestamp_ns, m->timestamp_ns);
		RC_PUT64(b, stats, mem_total, m->mem_total);
		RC_PUT64(b, stats, mem_available, m->mem_available);
		RC_PUT64(b, stats, mem_committed, m->mem_committed);
		RC_PUT64(b, stats, mem_forecast, m->mem_forecast);
		RC_PUT32(b, stats, psi_mem_milli, m->psi_mem_milli);
		RC_PUT32(b, stats, psi_cpu_milli, m->psi_cpu_milli);
		RC_PUT32(b, stats, cpu_util_milli, m->cpu_util_milli);
		RC_PUT32(b, stats, runqueue_milli, m->runqueue_milli);
		RC_PUT32(b, stats, vcpu_forecast_milli, m->vcpu_forecast_milli);
	}
	return n;
}

int rc_decode_stats(const void *buf, size_t len, struct rc_stats *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(stats), VIRTIO_RESOURCE_T_STATS,
				 VIRTIO_RESOURCE_T_STATS);

	if (err)
		return err;
	if (RC_GET32(b, stats, reserved))
		return RC_EMALFORMED;
	m->timestamp_ns = RC_GET64(b, stats, timestamp_ns);
	m->mem_total = RC_GET64(b, stats, mem_total);
	m->mem_available = RC_GET64(b, stats, mem_available);
	m->mem_committed = RC_GET64(b, stats, mem_committed);
	m->mem_forecast = RC_GET64(b, stats, mem_forecast);
	m->psi_mem_milli = RC_GET32(b, stats, psi_mem_milli);
	m->psi_cpu_milli = RC_GET32(b, stats, psi_cpu_milli);
	m->cpu_util_milli = RC_GET32(b, stats, cpu_util_milli);
	m->runqueue_milli = RC_GET32(b, stats, runqueue_milli);
	m->vcpu_forecast_milli = RC_GET32(b, stats, vcpu_forecast_milli);
	if (m->psi_mem_milli > 1000 || m->psi_cpu_milli > 1000 || m->cpu_util_milli > 1000)
		return RC_ERANGE;
	return 0;
}

size_t rc_encode_message(void *buf, size_t cap, const struct rc_message *m)
{
	size_t n;
	uint8_t *b = buf;

	if (m->payload_len && !m->payload)
		return 0;
	if (m->payload_len > RC_U32_MAX - RC_SZ(message))
		return 0;
	n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(message) + m->payload_len);
	if (!n)
		return 0;
	RC_PUT32(b, message, dest, m->dest);
	RC_PUT32(b, message, source, m->source);
	rc_copy(b + RC_OFF(message, payload), m->payload, m->payload_len);
	return n;
}

int rc_decode_message(const void *buf, size_t len, uint32_t max_message, struct rc_message *m)
{
	const uint8_t *b = buf;
	int err = rc_decode_hdr(b, len, &m->hdr);

	if (err)
		return err;
	if (m->hdr.type != VIRTIO_RESOURCE_T_MESSAGE && m->hdr.type != VIRTIO_RESOURCE_EV_MESSAGE)
		return RC_ETYPE;
	if (m->hdr.len < RC_SZ(message))
		return RC_EMALFORMED;
	if (max_message && m->hdr.len > max_message)
		return RC_ETOOBIG;
	m->dest = RC_GET32(b, message, dest);
	m->source = RC_GET32(b, message, source);
	m->payload = b + RC_OFF(message, payload);
	m->payload_len = m->hdr.len - (uint32_t)RC_SZ(message);
	return 0;
}

size_t rc_encode_file_open(void *buf, size_t cap, const struct rc_file_open *m)
{
	size_t n;
	uint8_t *b = buf;

	if ((m->path_len && !m->path) || m->path_len > RC_U32_MAX - RC_SZ(file_open))
		return 0;
	n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(file_open) + m->path_len);
	if (!n)
		return 0;
	RC_PUT32(b, file_open, flags, m->flags);
	RC_PUT32(b, file_open, path_len, m->path_len);
	rc_copy(b + RC_OFF(file_open, path), (const uint8_t *)m->path, m->path_len);
	return n;
}

int rc_decode_file_open(const void *buf, size_t len, struct rc_file_open *m)
{
	const uint8_t *b = buf;
	uint32_t i;
	int err = rc_decode_hdr(b, len, &m->hdr);

	if (err)
		return err;
	if (m->hdr.type != VIRTIO_RESOURCE_T_FILE_OPEN)
		return RC_ETYPE;
	if (m->hdr.len < RC_SZ(file_open))
		return RC_EMALFORMED;
	m->flags = RC_GET32(b, file_open, flags);
	m->path_len = RC_GET32(b, file_open, path_len);
	if (m->flags)
		return RC_EFLAGS;
	if (!m->path_len || m->path_len > VIRTIO_RESOURCE_MAX_PATH)
		return RC_ERANGE;
	if (m->hdr.len - RC_SZ(file_open) != m->path_len)
		return RC_EMALFORMED;
	m->path = (const char *)b + RC_OFF(file_open, path);
	for (i = 0; i < m->path_len; i++)
		if (!m->path[i])
			return RC_EMALFORMED;
	return 0;
}

size_t rc_encode_file_op(void *buf, size_t cap, const struct rc_file_op *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(file_op));
	uint8_t *b = buf;

	if (n) {
		RC_PUT32(b, file_op, handle, m->handle);
		RC_PUT32(b, file_op, len, m->len);
		RC_PUT64(b, file_op, offset, m->offset);
	}
	return n;
}

int rc_decode_file_op(const void *buf, size_t len, struct rc_file_op *m)
{
	const uint8_t *b = buf;
	int err = rc_decode_hdr(b, len, &m->hdr);

	if (err)
		return err;
	if (m->hdr.type < VIRTIO_RESOURCE_T_FILE_READ || m->hdr.type > VIRTIO_RESOURCE_T_FILE_CLOSE)
		return RC_ETYPE;
	if (m->hdr.len != RC_SZ(file_op))
		return RC_EMALFORMED;
	m->handle = RC_GET32(b, file_op, handle);
	m->len = RC_GET32(b, file_op, len);
	m->offset = RC_GET64(b, file_op, offset);
	if (m->hdr.type != VIRTIO_RESOURCE_T_FILE_READ)
		return m->len || m->offset ? RC_EMALFORMED : 0;
	if (!m->len)
		return RC_ERANGE;
	if (m->len > VIRTIO_RESOURCE_MAX_READ)
		return RC_ETOOBIG;
	if (m->offset + m->len < m->offset)
		return RC_EOVERFLOW;
	return 0;
}

size_t rc_encode_file(void *buf, size_t cap, const struct rc_file *m)
{
	size_t n = rc_codec_start(buf, cap, &m->hdr, RC_SZ(file));
	uint8_t *b = buf;

	if (n) {
		RC_PUT32(b, file, handle, m->handle);
		RC_PUT32(b, file, mode, m->mode);
		RC_PUT64(b, file, size, m->size);
		RC_PUT64(b, file, mtime_ns, m->mtime_ns);
	}
	return n;
}

int rc_decode_file(const void *buf, size_t len, struct rc_file *m)
{
	const uint8_t *b = buf;
	int err = rc_codec_fixed(b, len, &m->hdr, RC_SZ(file), VIRTIO_RESOURCE_A_FILE,
				 VIRTIO_RESOURCE_A_FILE);

	if (err)
		return err;
	m->handle = RC_GET32(b, file, handle);
	m->mode = RC_GET32(b, file, mode);
	m->size = RC_GET64(b, file, size);
	m->mtime_ns = RC_GET64(b, file, mtime_ns);
	return 0;
}

size_t rc_encode_data(void *buf, size_t cap, const struct rc_data *m)
{
	size_t n;

	if ((m->data_len && !m->data) || m->data_len > RC_U32_MAX - RC_HDR_SIZE)
		return 0;
	n = rc_codec_start(buf, cap, &m->hdr, RC_HDR_SIZE + m->data_len);
	if (n)
		rc_copy((uint8_t *)buf + RC_HDR_SIZE, m->data, m->data_len);
	return n;
}

int rc_decode_data(const void *buf, size_t len, struct rc_data *m)
{
	const uint8_t *b = buf;
	int err = rc_decode_hdr(b, len, &m->hdr);

	if (err)
		return err;
	if (m->hdr.type != VIRTIO_RESOURCE_A_DATA && m->hdr.type != VIRTIO_RESOURCE_A_INVENTORY)
		return RC_ETYPE;
	m->data = b + RC_HDR_SIZE;
	m->data_len = m->hdr.len - (uint32_t)RC_HDR_SIZE;
	if (m->hdr.type == VIRTIO_RESOURCE_A_DATA && m->data_len > VIRTIO_RESOURCE_MAX_READ)
		return RC_ETOOBIG;
	return 0;
}
