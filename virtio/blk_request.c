// SPDX-License-Identifier: MIT
/* Decoding virtio-blk requests: header, data segments and status byte, all checked. */
#include <endian.h>
#include <string.h>

#include "accord/virtio_blk.h"

struct blk_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_segment {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

#define BLK_WRITE_ZEROES_UNMAP 0x1

static uint8_t *status_byte(const struct virtq_chain *c)
{
	const struct virtq_buf *last;

	for (unsigned int i = c->nr_out + c->nr_in; i > c->nr_out; i--) {
		last = &c->bufs[i - 1];
		if (last->len)
			return last->addr + last->len - 1;
	}
	return NULL;
}

/* Gather [skip, skip+len) of the readable or writable buffers into an iovec. */
static unsigned int gather(const struct virtq_chain *c, bool writable, uint64_t skip, uint64_t len,
			   struct iovec *iov)
{
	unsigned int first = writable ? c->nr_out : 0,
		     end = first + (writable ? c->nr_in : c->nr_out);
	unsigned int n = 0;

	for (unsigned int i = first; i < end && len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		uint64_t take;

		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		take = b->len - skip < len ? b->len - skip : len;
		iov[n].iov_base = b->addr + skip;
		iov[n].iov_len = take;
		n++;
		len -= take;
		skip = 0;
	}
	return n;
}

static int answer(struct blk_request *req, uint8_t status)
{
	req->op = BLK_OP_NONE;
	req->status = status;
	return 0;
}

/* Is [sector, sector + bytes/512) inside the image, with whole sectors? */
static bool range_ok(const struct blk_limits *lim, uint64_t sector, uint64_t bytes)
{
	return bytes % BLK_SECTOR_SIZE == 0 && sector <= lim->capacity &&
	       bytes / BLK_SECTOR_SIZE <= lim->capacity - sector;
}

static int decode_segment(const struct virtq_chain *c, const struct blk_limits *lim,
			  struct blk_request *req, uint64_t data_len, bool discard)
{
	struct blk_segment seg;

	/* One segment (max_*_seg is 1), sitting right after the header. */
	if (data_len != sizeof(seg) ||
	    virtq__read(c, sizeof(struct blk_header), &seg, sizeof(seg)) != sizeof(seg))
		return answer(req, VIRTIO_BLK_S_IOERR);
	seg.sector = le64toh(seg.sector);
	seg.num_sectors = le32toh(seg.num_sectors);
	seg.flags = le32toh(seg.flags);
	if ((discard && seg.flags) || (seg.flags & ~BLK_WRITE_ZEROES_UNMAP))
		return answer(req, VIRTIO_BLK_S_UNSUPP);
	if (!seg.num_sectors || seg.num_sectors > BLK_MAX_DISCARD_SECTORS ||
	    !range_ok(lim, seg.sector, (uint64_t)seg.num_sectors * BLK_SECTOR_SIZE))
		return answer(req, VIRTIO_BLK_S_IOERR);
	req->op = discard ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
	req->unmap = seg.flags & BLK_WRITE_ZEROES_UNMAP;
	req->offset = seg.sector * BLK_SECTOR_SIZE;
	req->len = (uint64_t)seg.num_sectors * BLK_SECTOR_SIZE;
	return 0;
}

int blk__decode(const struct virtq_chain *c, const struct blk_limits *lim, struct blk_request *req,
		const char **why)
{
	struct blk_header h;
	uint64_t out_data, in_data;

	memset(req, 0, offsetof(struct blk_request, iov));
	req->status_byte = status_byte(c);
	if (!req->status_byte) {
		*why = "virtio-blk request has no status byte";
		return VIRTIO_REQ_BAD;
	}
	if (virtq__read(c, 0, &h, sizeof(h)) != sizeof(h))
		return answer(req, VIRTIO_BLK_S_IOERR);
	h.type = le32toh(h.type);
	h.sector = le64toh(h.sector);
	out_data = c->out_len - sizeof(h);
	in_data = c->in_len - 1; /* everything writable but the status byte */

	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		if (out_data || !range_ok(lim, h.sector, in_data))
			return answer(req, VIRTIO_BLK_S_IOERR);
		req->op = BLK_OP_READ;
		req->offset = h.sector * BLK_SECTOR_SIZE;
		req->len = in_data;
		req->niov = gather(c, true, 0, in_data, req->iov);
		break;
	case VIRTIO_BLK_T_OUT:
		if (lim->readonly || in_data || !range_ok(lim, h.sector, out_data))
			return answer(req, VIRTIO_BLK_S_IOERR);
		req->op = BLK_OP_WRITE;
		req->offset = h.sector * BLK_SECTOR_SIZE;
		req->len = out_data;
		req->niov = gather(c, false, sizeof(h), out_data, req->iov);
		break;
	case VIRTIO_BLK_T_FLUSH:
		req->op = lim->readonly ? BLK_OP_NONE : BLK_OP_FLUSH;
		break;
	case VIRTIO_BLK_T_GET_ID:
		req->op = BLK_OP_GET_ID;
		req->len = in_data < VIRTIO_BLK_ID_BYTES ? in_data : VIRTIO_BLK_ID_BYTES;
		req->niov = gather(c, true, 0, req->len, req->iov);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if ((h.type == VIRTIO_BLK_T_DISCARD ? !lim->discard : !lim->write_zeroes))
			return answer(req, VIRTIO_BLK_S_UNSUPP);
		if (lim->readonly || in_data)
			return answer(req, VIRTIO_BLK_S_IOERR);
		return decode_segment(c, lim, req, out_data, h.type == VIRTIO_BLK_T_DISCARD);
	default:
		return answer(req, VIRTIO_BLK_S_UNSUPP);
	}
	req->status = VIRTIO_BLK_S_OK;
	return 0;
}
