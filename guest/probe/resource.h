/* SPDX-License-Identifier: MIT */
/*
 * The probe's driver for accord's virtio-resource device, shared by
 * virtio_resource.c (device, queues, answers, events, the scenario list and
 * idle), resource_mem.c (memory: balloon, touch, grant, offer, reclaim,
 * renegotiation) and resource_scen.c (the other scenarios). Messages are
 * built and checked with guest/core's codec; the outgoing requests live in
 * guest/core's rc_table.
 */
#ifndef PROBE_RESOURCE_H
#define PROBE_RESOURCE_H

#include "virtio.h"
#include "rc_agreement.h"
#include "rc_codec.h"
#include "rc_inventory.h"

#define RES_FLOOR	(16UL << 20) /* the probe never reserves or touches below this */
#define RES_EVENT_BUFS	4	     /* eventq buffers kept posted */
#define RES_EVENT_LEN	4160	     /* the host's largest event (RES_EVENT_MAX) */
#define RES_MSG_MAX	4096	     /* the largest message the probe sends */
#define RES_ANSWER_MAX	(128U << 10) /* writable room for an answer (an inventory) */
#define RES_TABLE_CAP	32
#define RES_MAX_PIECES	16 /* granule-aligned RAM ranges above the floor */
#define RES_APP_ID	0  /* the driver itself */
#define RES_MEM_RATE	(1ULL << 30)
#define RES_DEADLINE_MS 1000
#define MiB(x)		((x) >> 20)

/* The device configuration (struct virtio_resource_config), host order. */
struct res_cfg {
	uint32_t version, guest_id, generation, inventory_size;
	uint64_t mem_granule, mem_max, mem_granted, mem_reserved;
	uint32_t vcpus_max, vcpus_granted, max_message, max_outstanding;
};

/* A decoded answer (or event). */
struct res_answer {
	int len;	   /* used length; -1: the device did not return the chain */
	int err;	   /* 0 or the decoder's RC_E* */
	struct rc_hdr hdr; /* valid unless len < 0 or err from the header */
	union rc_body u;
};

struct res_piece {
	uint64_t start, end; /* granule-aligned, start >= floor */
};

struct res {
	struct virtio_dev *d;
	const struct bootinfo *bi;
	const struct options *opt;
	const struct mpinfo *mp;
	struct virtqueue vq[VIRTIO_RESOURCE_NR_QUEUES];
	bool up; /* HELLO was welcomed: idle may serve */
	struct res_cfg cfg;
	uint32_t cfg_irqs;  /* configuration interrupts handled */
	uint32_t gen_shown; /* the generation last printed */
	uint64_t next_txn;  /* the probe's transaction ids: 1, 2, ... */
	uint64_t tsc_mhz;   /* for timestamps */
	struct rc_table table;
	struct res_answer pre_hello; /* order: GET_INVENTORY sent before HELLO */
	bool pre_hello_sent;

	/*
	 * Memory above the floor, as granule-aligned RAM pieces (ascending).
	 * One watermark: the probe uses RAM below wm, and everything from wm
	 * up is reserved (given to the host). Reserving lowers it (highest
	 * granules first), unreserving raises it (lowest reserved first).
	 */
	uint64_t granule, floor;
	unsigned int nr_pieces;
	struct res_piece piece[RES_MAX_PIECES];
	uint64_t wm;
};

/* virtio_resource.c */
uint64_t res_txn(struct res *r);
uint64_t res_now_ns(struct res *r);
bool res_read_config(struct res *r);
int res_call(struct res *r, unsigned int q, const void *msg, size_t len, struct res_answer *a);
int res_call_flags(struct res *r, unsigned int q, const void *msg, size_t len, struct res_answer *a,
		   unsigned int flags);
bool res_send(struct res *r, unsigned int q, const void *msg, size_t len, uint32_t *used);
uint8_t *res_msg_buf(void);
const uint8_t *res_answer_buf(void);
void res_decode(const void *buf, int len, struct res_answer *a);
const char *res_answer_str(const struct res_answer *a);
const char *res_status_name(uint32_t status);
const char *res_alt_name(uint16_t type);
bool res_is(const struct res_answer *a, uint16_t type);
void res_request_init(struct res *r, struct rc_request *q, uint16_t kind, uint64_t amount,
		      uint64_t minimum, uint64_t projected);
uint64_t res_request(struct res *r, uint16_t kind, uint64_t amount, uint64_t minimum,
		     uint64_t projected, struct res_answer *a);
void res_table_answer(struct res *r, uint64_t txn, const struct res_answer *a);
void res_poll_events(struct res *r);
unsigned int res_discard_events(struct res *r);

/* resource_mem.c */
void res_mem_init(struct res *r);
uint64_t res_mem_reserved(const struct res *r);
void res_balloon(struct res *r);
void res_touch(struct res *r);
void res_grant(struct res *r);
void res_offer(struct res *r);
void res_on_reclaim(struct res *r, const struct rc_ev_reclaim *ev);
void res_on_renegotiate(struct res *r, const struct rc_renegotiate *ev);

/* resource_scen.c */
void res_inventory(struct res *r);
void res_deny(struct res *r);
void res_order(struct res *r);
void res_vcpu(struct res *r);
void res_stats(struct res *r);
void res_message(struct res *r);
void res_file(struct res *r);
void res_on_message(struct res *r, const struct rc_message *m);
void res_bench_grant(struct res *r);

#endif /* PROBE_RESOURCE_H */
