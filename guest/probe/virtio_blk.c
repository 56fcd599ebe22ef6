// SPDX-License-Identifier: MIT
/*
 * virtio-blk (device type 2): configuration, GET_ID, then writes and reads
 * on fixed sectors with a pattern a host test can check in the image:
 *   byte[k] = (uint8_t)(k * 7 + seed * 13 + (k >> 9)), k from the write's start
 * 2048-2055 with seed S (blk-seed=S, default 1), 4096-4103 with S+1, and with
 * VIRTIO_BLK_F_WRITE_ZEROES 6144-6145 with S then 6144 zeroed. Discard (if
 * offered) hits 6152-6159, which the host must not check. Every write is
 * reported as "blk wrote sectors A-B seed S". A read-only device must refuse
 * a write with IOERR; every device must refuse a read at its capacity.
 */
#include "virtio.h"

#define BLK_F_SEG_MAX	   (1ULL << 2)
#define BLK_F_RO	   (1ULL << 5)
#define BLK_F_BLK_SIZE	   (1ULL << 6)
#define BLK_F_FLUSH	   (1ULL << 9)
#define BLK_F_DISCARD	   (1ULL << 13)
#define BLK_F_WRITE_ZEROES (1ULL << 14)
#define BLK_FEATURES                                                               \
	(BLK_F_SEG_MAX | BLK_F_RO | BLK_F_BLK_SIZE | BLK_F_FLUSH | BLK_F_DISCARD | \
	 BLK_F_WRITE_ZEROES)

#define BLK_T_IN	   0
#define BLK_T_OUT	   1
#define BLK_T_FLUSH	   4
#define BLK_T_GET_ID	   8
#define BLK_T_DISCARD	   11
#define BLK_T_WRITE_ZEROES 13

#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2
#define BLK_S_UNSET  0xff /* our marker: the device did not write the status */

/* struct virtio_blk_config */
#define CFG_CAPACITY	     0
#define CFG_SEG_MAX	     12
#define CFG_BLK_SIZE	     20
#define CFG_MAX_DISCARD_SECT 36
#define CFG_MAX_WZ_SECT	     48

#define SECTOR	   512
#define IO_SECTORS 8
#define IO_BYTES   (IO_SECTORS * SECTOR)
#define ID_LEN	   20
#define SPLIT	   1536 /* first data descriptor of a two-segment request */

#define SECT_A	     2048UL /* seed S */
#define SECT_B	     4096UL /* seed S+1 */
#define SECT_Z	     6144UL /* 2 sectors seed S, then the first zeroed */
#define SECT_DISCARD 6152UL

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk {
	struct virtio_dev *d;
	struct virtqueue vq;
	uint64_t capacity, seed;
	uint32_t blk_size, seg_max, max_discard, max_wz;
	unsigned int nseg; /* data descriptors for a two-segment request */
};

static struct blk_hdr hdr;
static struct blk_range range;
static uint8_t blk_status;
static uint8_t wbuf[IO_BYTES] __attribute__((aligned(64)));
static uint8_t rbuf[IO_BYTES] __attribute__((aligned(64)));
static char serial[ID_LEN + 1];
static char desc[192];

static void pattern(uint8_t *p, uint32_t n, uint64_t seed)
{
	uint8_t c = seed * 13;

	for (uint32_t k = 0; k < n; k++)
		p[k] = k * 7 + c + (k >> 9);
}

static const char *status_name(int st)
{
	switch (st) {
	case -1:
		return "no completion";
	case BLK_S_OK:
		return "OK";
	case BLK_S_IOERR:
		return "IOERR";
	case BLK_S_UNSUPP:
		return "UNSUPP";
	case BLK_S_UNSET:
		return "not written";
	}
	return "invalid";
}

/*
 * One request: header, len bytes of data in nseg (0-2) descriptors, status.
 * True if it completed with status want, with an interrupt unless VQ_POLL
 * and without one under VQ_POLL. The result is described in desc.
 */
static bool run(struct blk *b, uint32_t type, uint64_t sector, void *data, uint32_t len,
		unsigned int nseg, unsigned int flags, uint8_t want)
{
	bool dev_writes = type == BLK_T_IN || type == BLK_T_GET_ID;
	struct vq_buf bufs[4];
	unsigned int n = 0;
	uint32_t writable = 1 + (dev_writes ? len : 0);
	struct vq_result r;
	int st;
	bool ok;

	if (!b->vq.indirect)
		flags &= ~VQ_INDIRECT;
	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	blk_status = BLK_S_UNSET;
	bufs[n++] = (struct vq_buf){ &hdr, sizeof(hdr), false };
	if (nseg == 2) {
		bufs[n++] = (struct vq_buf){ data, SPLIT, dev_writes };
		bufs[n++] = (struct vq_buf){ (uint8_t *)data + SPLIT, len - SPLIT, dev_writes };
	} else if (nseg == 1) {
		bufs[n++] = (struct vq_buf){ data, len, dev_writes };
	}
	bufs[n++] = (struct vq_buf){ &blk_status, 1, true };
	st = vq_run(&b->vq, bufs, n, flags, &r) ? blk_status : -1;
	ok = st == want && ((flags & VQ_POLL) ? !r.irqs : r.irqs) && r.len <= writable;
	probe_snprintf(desc, sizeof(desc),
		       "status %s, %s, %s, %u data desc, used len %u of %u, %u irqs%s%s",
		       status_name(st), flags & VQ_POLL ? "polled" : "interrupt",
		       flags & VQ_INDIRECT ? "indirect" : "direct", nseg, r.len, writable, r.irqs,
		       r.intx ? " (queue)" : "", r.done && !r.id_ok ? ", wrong id" : "");
	if (r.intx)
		probe_snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc),
			       ", %u spurious (ISR 0, ignored)", r.spurious);
	if (r.late)
		probe_snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc),
			       ", %u late completions skipped", r.late);
	return ok;
}

static bool read_config(struct blk *b, const struct virtio_dev *d)
{
	unsigned int tries;
	uint8_t gen = 0;
	bool stable = false;

	for (tries = 1; tries <= 8 && !stable; tries++) {
		gen = virtio_cfg_generation(d);
		b->capacity = virtio_cfg_read32(d, CFG_CAPACITY) |
			      (uint64_t)virtio_cfg_read32(d, CFG_CAPACITY + 4) << 32;
		b->seg_max = d->features & BLK_F_SEG_MAX ? virtio_cfg_read32(d, CFG_SEG_MAX) : 0;
		b->blk_size = d->features & BLK_F_BLK_SIZE ? virtio_cfg_read32(d, CFG_BLK_SIZE) : 0;
		b->max_discard = d->features & BLK_F_DISCARD
					 ? virtio_cfg_read32(d, CFG_MAX_DISCARD_SECT)
					 : 0;
		b->max_wz = d->features & BLK_F_WRITE_ZEROES ? virtio_cfg_read32(d, CFG_MAX_WZ_SECT)
							     : 0;
		stable = virtio_cfg_generation(d) == gen;
	}
	b->nseg = (d->features & BLK_F_SEG_MAX) && b->seg_max < 2 ? 1 : 2;
	pr("blk capacity %lu sectors, blk_size %u, seg_max %u,%s%s%s%s", b->capacity, b->blk_size,
	   b->seg_max, d->features & BLK_F_RO ? " ro" : " rw",
	   d->features & BLK_F_FLUSH ? " flush" : "", d->features & BLK_F_DISCARD ? " discard" : "",
	   d->features & BLK_F_WRITE_ZEROES ? " write-zeroes" : "");
	check("virtio-blk-config", stable && b->capacity,
	      "capacity %lu sectors (%lu KiB), generation %u, %u reads", b->capacity,
	      b->capacity / 2, gen, tries - 1);
	return stable;
}

static void get_id(struct blk *b)
{
	bool ok;

	memset(serial, 0, sizeof(serial));
	ok = run(b, BLK_T_GET_ID, 0, serial, ID_LEN, 1, 0, BLK_S_OK);
	for (unsigned int i = 0; i < ID_LEN && serial[i]; i++) {
		if (serial[i] < 0x20 || serial[i] > 0x7e)
			serial[i] = '?';
	}
	check("virtio-blk-id", ok, "serial \"%s\", %s", serial, desc);
	if (ok)
		pr("blk serial \"%s\"", serial);
}

static bool write_seed(struct blk *b, const char *name, uint64_t sector, uint32_t nsect,
		       uint64_t seed, unsigned int nseg, unsigned int flags)
{
	bool ok;

	pattern(wbuf, nsect * SECTOR, seed);
	ok = run(b, BLK_T_OUT, sector, wbuf, nsect * SECTOR, nseg, flags, BLK_S_OK);
	check(name, ok, "sectors %lu-%lu seed %lu, %s", sector, sector + nsect - 1, seed, desc);
	if (ok)
		pr("blk wrote sectors %lu-%lu seed %lu", sector, sector + nsect - 1, seed);
	return ok;
}

/* Read nsect sectors and compare with want (NULL: status only). */
static void read_cmp(struct blk *b, const char *name, uint64_t sector, uint32_t nsect,
		     const uint8_t *want, unsigned int nseg, unsigned int flags)
{
	uint32_t len = nsect * SECTOR;
	size_t off = len;
	bool ok;

	memset(rbuf, 0xa5, len);
	ok = run(b, BLK_T_IN, sector, rbuf, len, nseg, flags, BLK_S_OK);
	if (want)
		off = mem_mismatch(rbuf, want, len);
	if (off == len)
		check(name, ok, "sectors %lu-%lu %s, %s", sector, sector + nsect - 1,
		      want ? "match" : "read", desc);
	else
		check(name, false, "sectors %lu-%lu: byte %zu reads 0x%02x, want 0x%02x, %s",
		      sector, sector + nsect - 1, off, rbuf[off], want[off], desc);
}

static void range_req(struct blk *b, const char *name, uint32_t type, uint64_t sector,
		      uint32_t nsect, unsigned int flags)
{
	bool ok;

	range.sector = sector;
	range.num_sectors = nsect;
	range.flags = 0;
	ok = run(b, type, 0, &range, sizeof(range), 1, flags, BLK_S_OK);
	check(name, ok, "sectors %lu-%lu, %s", sector, sector + nsect - 1, desc);
	if (ok)
		pr("blk %s sectors %lu-%lu", type == BLK_T_DISCARD ? "discarded" : "zeroed", sector,
		   sector + nsect - 1);
}

static void writes(struct blk *b, uint64_t features)
{
	bool zeroes = features & BLK_F_WRITE_ZEROES && b->max_wz;
	bool discard = features & BLK_F_DISCARD && b->max_discard;
	uint64_t need = zeroes || discard ? SECT_DISCARD + IO_SECTORS : SECT_B + IO_SECTORS;

	if (b->capacity < need) {
		check("virtio-blk-capacity", false, "%lu sectors, the writes need %lu", b->capacity,
		      need);
		return;
	}
	if (write_seed(b, "virtio-blk-write-2048", SECT_A, IO_SECTORS, b->seed, b->nseg, 0)) {
		if (features & BLK_F_FLUSH) {
			bool ok = run(b, BLK_T_FLUSH, 0, NULL, 0, 0, 0, BLK_S_OK);

			check("virtio-blk-flush", ok, "%s", desc);
		}
		read_cmp(b, "virtio-blk-read-2048", SECT_A, IO_SECTORS, wbuf, 1,
			 VQ_POLL | VQ_INDIRECT);
	}
	if (write_seed(b, "virtio-blk-write-4096", SECT_B, IO_SECTORS, b->seed + 1, 1, VQ_POLL))
		read_cmp(b, "virtio-blk-read-4096", SECT_B, IO_SECTORS, wbuf, b->nseg, VQ_INDIRECT);
	if (zeroes && write_seed(b, "virtio-blk-write-6144", SECT_Z, 2, b->seed, 1, VQ_POLL)) {
		range_req(b, "virtio-blk-write-zeroes", BLK_T_WRITE_ZEROES, SECT_Z, 1, 0);
		memset(wbuf, 0, SECTOR); /* expect: sector 6144 zero, 6145 the pattern */
		read_cmp(b, "virtio-blk-read-6144", SECT_Z, 2, wbuf, 1, VQ_POLL | VQ_INDIRECT);
	}
	if (discard)
		range_req(b, "virtio-blk-discard", BLK_T_DISCARD, SECT_DISCARD,
			  b->max_discard < IO_SECTORS ? b->max_discard : IO_SECTORS, VQ_POLL);
}

void virtio_blk_run(struct virtio_dev *d, const struct options *opt)
{
	static struct blk b;
	bool ok;

	b.d = d;
	b.seed = opt->blk_seed;
	if (!virtio_start(d, BLK_FEATURES, &b.vq, 1))
		return;
	if (!read_config(&b, d)) {
		virtio_stop(d);
		return;
	}
	get_id(&b);
	if (d->features & BLK_F_RO) {
		pr("blk read-only: no writes");
		pattern(wbuf, IO_BYTES, b.seed);
		ok = run(&b, BLK_T_OUT, SECT_A, wbuf, IO_BYTES, 1, VQ_POLL, BLK_S_IOERR);
		check("virtio-blk-ro", ok, "write to sectors 2048-2055 refused: %s", desc);
		if (b.capacity >= SECT_A + IO_SECTORS)
			read_cmp(&b, "virtio-blk-read-2048", SECT_A, IO_SECTORS, NULL, 1,
				 VQ_POLL | VQ_INDIRECT);
	} else {
		writes(&b, d->features);
	}
	ok = run(&b, BLK_T_IN, b.capacity, rbuf, SECTOR, 1, VQ_POLL, BLK_S_IOERR);
	check("virtio-blk-beyond-end", ok, "read of sector %lu (= capacity): %s", b.capacity, desc);
	virtio_stop(d);
}
