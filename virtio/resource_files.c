// SPDX-License-Identifier: MIT
/* virtio-resource's file queue: read-only access to the operator's --share directory. */
#include <errno.h>
#include <string.h>

#include "accord/resource.h"
#include "accord/share.h"

static size_t file_answer(uint32_t handle, const struct share_stat *st, const struct rc_hdr *h,
			  uint8_t *out, size_t cap)
{
	struct rc_file f = { 0 };

	f.hdr.type = VIRTIO_RESOURCE_A_FILE;
	f.hdr.txn = h->txn;
	f.hdr.app_id = h->app_id;
	f.handle = handle;
	f.mode = st->mode;
	f.size = st->size;
	f.mtime_ns = st->mtime_ns;
	return rc_encode_file(out, cap, &f);
}

/* An answer carrying the share's own status (NOENT, FORBIDDEN...) rather than an rc_err. */
static size_t file_error(const struct rc_hdr *h, long ret, uint8_t *out, size_t cap)
{
	struct rc_error e = { 0 };

	e.hdr.type = VIRTIO_RESOURCE_A_ERROR;
	e.hdr.txn = h->txn;
	e.hdr.app_id = h->app_id;
	e.hdr.status = share__status(ret);
	e.detail = (uint32_t)-ret;
	return rc_encode_error(out, cap, &e);
}

int resource__file_op(struct virtio_resource *r, const uint8_t *msg, size_t len, uint16_t type,
		      uint8_t *out, size_t cap, size_t *out_len)
{
	struct share_stat st;
	struct rc_file_open o;
	struct rc_file_op op;
	uint32_t handle;
	long ret;

	if (!r->share) {
		*out_len = resource__answer_error(r, NULL, RC_EUNSUPPORTED, out, cap);
		return 0;
	}
	if (type == VIRTIO_RESOURCE_T_FILE_OPEN) {
		ret = rc_decode_file_open(msg, len, &o);
		if (ret) {
			*out_len = resource__answer_error(r, NULL, (int)ret, out, cap);
			return 0;
		}
		ret = share__open(r->share, o.path, o.path_len, &handle, &st);
		log_debug(r->vdev.log, "virtio-resource: guest opens '%.*s': %s", (int)o.path_len,
			  o.path, ret ? strerror((int)-ret) : "ok");
		*out_len = ret ? file_error(&o.hdr, ret, out, cap)
			       : file_answer(handle, &st, &o.hdr, out, cap);
		return 0;
	}
	ret = rc_decode_file_op(msg, len, &op);
	if (ret) {
		*out_len = resource__answer_error(r, NULL, (int)ret, out, cap);
		return 0;
	}
	switch (type) {
	case VIRTIO_RESOURCE_T_FILE_READ: {
		struct rc_data d = { 0 };
		uint8_t *data = r->file_buf;

		if (op.len + sizeof(struct virtio_resource_hdr) > cap) {
			*out_len = resource__answer_error(r, &op.hdr, RC_ETOOBIG, out, cap);
			return 0;
		}
		/* Its own buffer: the encoder clears the answer before copying the data in. */
		ret = share__read(r->share, op.handle, op.offset, op.len, data);
		if (ret < 0) {
			*out_len = file_error(&op.hdr, ret, out, cap);
			return 0;
		}
		d.hdr.type = VIRTIO_RESOURCE_A_DATA;
		d.hdr.txn = op.hdr.txn;
		d.hdr.app_id = op.hdr.app_id;
		d.data = data;
		d.data_len = (uint32_t)ret;
		*out_len = rc_encode_data(out, cap, &d);
		return 0;
	}
	case VIRTIO_RESOURCE_T_FILE_STAT:
		ret = share__stat(r->share, op.handle, &st);
		*out_len = ret ? file_error(&op.hdr, ret, out, cap)
			       : file_answer(op.handle, &st, &op.hdr, out, cap);
		return 0;
	case VIRTIO_RESOURCE_T_FILE_CLOSE: {
		struct rc_ack a = { 0 };

		ret = share__close(r->share, op.handle);
		if (ret) {
			*out_len = file_error(&op.hdr, ret, out, cap);
			return 0;
		}
		a.hdr.type = VIRTIO_RESOURCE_A_ACK;
		a.hdr.txn = op.hdr.txn;
		a.hdr.app_id = op.hdr.app_id;
		a.mem_granted = r->mem.granted;
		a.mem_reserved = r->memres.reserved;
		a.vcpus_granted = (uint32_t)r->vcpu.granted;
		*out_len = rc_encode_ack(out, cap, &a);
		return 0;
	}
	}
	*out_len = resource__answer_error(r, &op.hdr, RC_EUNSUPPORTED, out, cap);
	return 0;
}
