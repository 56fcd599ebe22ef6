// SPDX-License-Identifier: MIT
/*
 * Fuzz target: split-virtqueue chain walking (virtio/virtqueue.c).
 *
 * The input is a small header (queue size, features, ring offsets, how many
 * chains to take) followed by the bytes of guest RAM, rings, descriptors and
 * indirect tables included, all written by a hostile driver. RAM is one
 * region or two with a hole between them. Whatever the bytes, every chain the
 * device accepts must lie inside guest RAM and within the chain limit, and
 * copying through it must stay within its buffers; anything else aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accord/guest_mem.h"
#include "accord/virtqueue.h"

#define RAM_SIZE 0x4000u
#define HOLE	 0x1000u /* the second region starts this far past the first */

struct fuzz_header {
	uint8_t size_log2;
	uint8_t flags; /* bit 0 event_idx, 1 indirect, 2 two regions */
	uint16_t desc_off;
	uint16_t avail_off;
	uint16_t used_off;
	uint8_t pops;
	uint8_t write_len;
} __attribute__((packed));

static void check_chain(const struct virtq_chain *c, const uint8_t *ram, size_t ram_len,
			const uint8_t *ram2, size_t ram2_len)
{
	uint64_t out = 0, in = 0;

	if (c->nr_out + c->nr_in > VIRTQ_CHAIN_MAX)
		abort();
	for (unsigned int i = 0; i < c->nr_out + c->nr_in; i++) {
		const uint8_t *p = c->bufs[i].addr;
		size_t len = c->bufs[i].len;
		bool in_first = p >= ram && p + len <= ram + ram_len;
		bool in_second = ram2 && p >= ram2 && p + len <= ram2 + ram2_len;

		if (!in_first && !in_second)
			abort();
		if (i < c->nr_out)
			out += len;
		else
			in += len;
	}
	if (out != c->out_len || in != c->in_len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t scratch[4096];
	struct fuzz_header h;
	struct guest_mem mem;
	struct virtq vq;
	struct virtq_chain *chain;
	uint8_t *ram, *ram2 = NULL;
	size_t ram_len = RAM_SIZE, ram2_len = 0;
	const char *why = NULL;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);

	ram = calloc(1, RAM_SIZE);
	chain = malloc(sizeof(*chain));
	if (!ram || !chain)
		abort();
	memcpy(ram, data, size < RAM_SIZE ? size : RAM_SIZE);
	if (h.flags & 4) {
		/* Two regions with a hole: chains must not run across it. */
		ram_len = RAM_SIZE / 2;
		ram2_len = RAM_SIZE / 2;
		ram2 = ram + ram_len;
		guest_mem__init_empty(&mem, 2 * RAM_SIZE);
		if (guest_mem__add_region(&mem, 0, ram_len, ram, -1, 0) ||
		    guest_mem__add_region(&mem, ram_len + HOLE, ram2_len, ram2, -1, 0))
			abort();
	} else {
		guest_mem__init_buffer(&mem, ram, RAM_SIZE);
	}

	virtq__reset(&vq, VIRTQ_MAX_SIZE);
	vq.size = (uint16_t)(1u << (h.size_log2 % 10)); /* 1..512: 512 must be refused */
	vq.desc_gpa = h.desc_off;
	vq.avail_gpa = h.avail_off;
	vq.used_gpa = h.used_off;
	if (virtq__start(&vq, &mem, h.flags & 1, h.flags & 2, &why))
		goto free_ram;

	for (unsigned int n = 0; n < h.pops; n++) {
		uint64_t got, put;
		int ret = virtq__pop(&vq, chain, &why);

		if (ret)
			break;
		check_chain(chain, ram, ram_len, ram2, ram2_len);
		got = virtq__read(chain, n, scratch, sizeof(scratch));
		if (got > sizeof(scratch) || got > chain->out_len)
			abort();
		put = virtq__write(chain, n % 7, scratch, h.write_len);
		if (put > h.write_len || put > chain->in_len)
			abort();
		virtq__push(&vq, chain->head, (uint32_t)put);
		(void)virtq__should_interrupt(&vq);
		(void)virtq__enable_notify(&vq);
	}
free_ram:
	free(chain);
	free(ram);
	return 0;
}
