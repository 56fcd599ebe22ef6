// SPDX-License-Identifier: MIT
/*
 * accord's virtio-resource device (0x1af4:0x1079, include/uapi/linux/
 * virtio_resource.h), driven with resource=LIST: five queues (requests,
 * events, statistics, messages, files), the configuration read between
 * equal generations, HELLO first, then the scenarios in the order listed
 * (resource_mem.c, resource_scen.c), and with `idle` last, serving the
 * host's events until the VM is stopped (resource_idle, after the report).
 *
 * Every message is built and checked with guest/core's codec; the probe's
 * outgoing requests are kept in guest/core's rc_table, one entry per
 * transaction, updated with each answer. A request's answer is written back
 * into the writable part of its own chain; the event queue keeps
 * RES_EVENT_BUFS buffers posted and re-posts each one once consumed.
 */
#include "resource.h"

#define RES_FEATURES                                                                \
	((1ULL << VIRTIO_RESOURCE_F_MEMORY) | (1ULL << VIRTIO_RESOURCE_F_VCPU) |    \
	 (1ULL << VIRTIO_RESOURCE_F_STATS) | (1ULL << VIRTIO_RESOURCE_F_MESSAGES) | \
	 (1ULL << VIRTIO_RESOURCE_F_FILES))
#define CFG_OFF(f) offsetof(struct virtio_resource_config, f)
#define CFG_DWORDS (sizeof(struct virtio_resource_config) / 4)
/* How long idle halts at most between looks at the queues (µs). */
#define IDLE_HALT_US 100000

static struct res res;
static struct rc_entry table_storage[RES_TABLE_CAP];
static uint8_t msg_buf[RES_MSG_MAX] __attribute__((aligned(64)));
static uint8_t answer_buf[RES_ANSWER_MAX] __attribute__((aligned(64), section(".noinit")));
static uint8_t event_buf[RES_EVENT_BUFS][RES_EVENT_LEN] __attribute__((aligned(64)));

static const char *const scenario_names[RES_NR_SCENARIOS] = {
	[RES_INVENTORY] = "inventory", [RES_BALLOON] = "balloon", [RES_TOUCH] = "touch",
	[RES_GRANT] = "grant",	       [RES_OFFER] = "offer",	  [RES_DENY] = "deny",
	[RES_ORDER] = "order",	       [RES_VCPU] = "vcpu",	  [RES_STATS] = "stats",
	[RES_MESSAGE] = "message",     [RES_FILE] = "file",	  [RES_IDLE] = "idle",
};

int resource_scenario(const char *name, size_t len)
{
	for (int i = 0; i < RES_NR_SCENARIOS; i++) {
		if (strlen(scenario_names[i]) == len && !memcmp(scenario_names[i], name, len))
			return i;
	}
	return -1;
}

uint8_t *res_msg_buf(void)
{
	return msg_buf;
}

const uint8_t *res_answer_buf(void)
{
	return answer_buf;
}

uint64_t res_txn(struct res *r)
{
	return r->next_txn++;
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* The TSC rate: CPUID 0x15 (crystal ratio) or 0x16 (base MHz), else 3 GHz. */
static uint64_t tsc_mhz(void)
{
	uint32_t a, b, c, d, max;

	cpuid(0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, &a, &b, &c, &d);
		if (a && b && c)
			return (uint64_t)c * b / a / 1000000;
	}
	if (max >= 0x16) {
		cpuid(0x16, &a, &b, &c, &d);
		if (a & 0xffff)
			return a & 0xffff;
	}
	return 3000;
}

uint64_t res_now_ns(struct res *r)
{
	return rdtsc() * 1000 / r->tsc_mhz;
}

/* ---- names ---- */

const char *res_status_name(uint32_t status)
{
	static const char *const names[] = { "OK",    "MALFORMED", "ORDER",   "UNSUPPORTED",
					     "NOENT", "FORBIDDEN", "TOO_BIG", "BUSY",
					     "IO",    "RANGE" };

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "status?";
}

const char *res_alt_name(uint16_t type)
{
	static const char *const names[] = { "alt?", "PART_NOW", "REST_LATER", "OTHER_KIND",
					     "MIGRATE" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "alt?";
}

static const char *deny_name(uint16_t reason)
{
	static const char *const names[] = { "reason?", "ABOVE_MAX", "HOST_LIMIT",
					     "POLICY",	"RATE",	     "UNSUPPORTED" };

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "reason?";
}

/* ---- answers ---- */

/* Decode what came back (len bytes of buf) by its type. */
void res_decode(const void *buf, int len, struct res_answer *a)
{
	a->len = len;
	memset(&a->hdr, 0, sizeof(a->hdr));
	a->err = len < 0 ? RC_EINVAL : rc_decode_from_host(buf, (size_t)len, 0, &a->hdr, &a->u);
}

bool res_is(const struct res_answer *a, uint16_t type)
{
	return a->len >= 0 && !a->err && a->hdr.type == type;
}

/* One line about an answer (a static buffer: use it before the next call). */
const char *res_answer_str(const struct res_answer *a)
{
	static char s[160];

	if (a->len < 0)
		return "no completion";
	if (a->err) {
		probe_snprintf(s, sizeof(s), "%s (%u bytes) does not decode: %s",
			       rc_type_name(a->hdr.type), a->len, rc_strerror(a->err));
		return s;
	}
	switch (a->hdr.type) {
	case VIRTIO_RESOURCE_A_GRANT:
	case VIRTIO_RESOURCE_EV_GRANT:
		if (a->u.grant.kind == VIRTIO_RESOURCE_K_MEMORY)
			probe_snprintf(
				s, sizeof(s),
				"%s txn %lu memory %lu MiB (allocation %lu MiB, lease %u ms)",
				rc_type_name(a->hdr.type), a->hdr.txn, MiB(a->u.grant.amount),
				MiB(a->u.grant.allocation), a->u.grant.lease_ms);
		else
			probe_snprintf(s, sizeof(s),
				       "%s txn %lu %s %lu (allocation %lu, lease %u ms)",
				       rc_type_name(a->hdr.type), a->hdr.txn,
				       rc_kind_name(a->u.grant.kind), a->u.grant.amount,
				       a->u.grant.allocation, a->u.grant.lease_ms);
		break;
	case VIRTIO_RESOURCE_A_DENY:
		probe_snprintf(s, sizeof(s),
			       "A_DENY txn %lu %s reason %s retry after %u ms (allocation %lu%s)",
			       a->hdr.txn, rc_kind_name(a->u.deny.kind),
			       deny_name(a->u.deny.reason), a->u.deny.retry_after_ms,
			       a->u.deny.kind == VIRTIO_RESOURCE_K_MEMORY
				       ? MiB(a->u.deny.allocation)
				       : a->u.deny.allocation,
			       a->u.deny.kind == VIRTIO_RESOURCE_K_MEMORY ? " MiB" : "");
		break;
	case VIRTIO_RESOURCE_A_OFFER:
		probe_snprintf(s, sizeof(s),
			       "A_OFFER txn %lu id %u, %u alternatives, expires %u ms", a->hdr.txn,
			       a->u.offer.offer_id, a->u.offer.nr_alternatives,
			       a->u.offer.expires_ms);
		break;
	case VIRTIO_RESOURCE_A_ACK:
		probe_snprintf(s, sizeof(s),
			       "A_ACK txn %lu (granted %lu MiB, reserved %lu MiB, %u vcpus)",
			       a->hdr.txn, MiB(a->u.ack.mem_granted), MiB(a->u.ack.mem_reserved),
			       a->u.ack.vcpus_granted);
		break;
	case VIRTIO_RESOURCE_A_ERROR:
		probe_snprintf(s, sizeof(s), "A_ERROR txn %lu status %s detail %u", a->hdr.txn,
			       res_status_name(a->hdr.status), a->u.error.detail);
		break;
	default:
		probe_snprintf(s, sizeof(s), "%s txn %lu, %u bytes", rc_type_name(a->hdr.type),
			       a->hdr.txn, a->len);
	}
	return s;
}

/*
 * One message on queue q (request, message or file queue): msg readable,
 * the answer written into answer_buf; waits for it (interrupt-driven).
 * Returns the used length, or -1 if the chain did not come back.
 */
int res_call(struct res *r, unsigned int q, const void *msg, size_t len, struct res_answer *a)
{
	return res_call_flags(r, q, msg, len, a, 0);
}

/* The same with vq_run's flags (VQ_POLL | VQ_NO_QUIET: at CPL 3). */
int res_call_flags(struct res *r, unsigned int q, const void *msg, size_t len, struct res_answer *a,
		   unsigned int flags)
{
	struct vq_buf bufs[2] = { { (void *)msg, (uint32_t)len, false },
				  { answer_buf, RES_ANSWER_MAX, true } };
	struct vq_result vr;
	int used = -1;

	if (vq_run(&r->vq[q], bufs, 2, flags, &vr))
		used = (int)(vr.len > RES_ANSWER_MAX ? RES_ANSWER_MAX : vr.len);
	res_decode(answer_buf, used, a);
	return used;
}

/* A message without an answer (statistics): true if the chain came back. */
bool res_send(struct res *r, unsigned int q, const void *msg, size_t len, uint32_t *used)
{
	struct vq_buf b = { (void *)msg, (uint32_t)len, false };
	struct vq_result vr;
	bool ok = vq_run(&r->vq[q], &b, 1, 0, &vr);

	*used = vr.len;
	return ok;
}

/* ---- configuration ---- */

/* Read the configuration between two equal config_generation values. */
bool res_read_config(struct res *r)
{
	uint8_t raw[sizeof(struct virtio_resource_config)];
	struct res_cfg *c = &r->cfg;
	bool stable = false;

	for (unsigned int tries = 0; tries < 8 && !stable; tries++) {
		uint8_t gen = virtio_cfg_generation(r->d);

		for (unsigned int i = 0; i < CFG_DWORDS; i++)
			rc_put_le32(raw + 4 * i, virtio_cfg_read32(r->d, 4 * i));
		stable = virtio_cfg_generation(r->d) == gen;
	}
	c->version = rc_get_le32(raw + CFG_OFF(version));
	c->guest_id = rc_get_le32(raw + CFG_OFF(guest_id));
	c->generation = rc_get_le32(raw + CFG_OFF(generation));
	c->inventory_size = rc_get_le32(raw + CFG_OFF(inventory_size));
	c->mem_granule = rc_get_le64(raw + CFG_OFF(mem_granule));
	c->mem_max = rc_get_le64(raw + CFG_OFF(mem_max));
	c->mem_granted = rc_get_le64(raw + CFG_OFF(mem_granted));
	c->mem_reserved = rc_get_le64(raw + CFG_OFF(mem_reserved));
	c->vcpus_max = rc_get_le32(raw + CFG_OFF(vcpus_max));
	c->vcpus_granted = rc_get_le32(raw + CFG_OFF(vcpus_granted));
	c->max_message = rc_get_le32(raw + CFG_OFF(max_message));
	c->max_outstanding = rc_get_le32(raw + CFG_OFF(max_outstanding));
	return stable;
}

/* vcpus_granted from the device's configuration, without driving it; -1 if none. */
int resource_vcpus_granted(void)
{
	uint32_t v[2];

	if (!virtio_peek_config(VIRTIO_ID_RESOURCE, CFG_OFF(vcpus_max), v, 2) || !v[0] ||
	    v[1] > v[0])
		return -1;
	return (int)v[1];
}

/* ---- the request table ---- */

/* The probe's T_REQUEST: a new txn, urgency NORMAL, latency INTERACTIVE, deadline 1 s. */
void res_request_init(struct res *r, struct rc_request *q, uint16_t kind, uint64_t amount,
		      uint64_t minimum, uint64_t projected)
{
	memset(q, 0, sizeof(*q));
	q->hdr.type = VIRTIO_RESOURCE_T_REQUEST;
	q->hdr.txn = res_txn(r);
	q->hdr.app_id = RES_APP_ID;
	q->kind = kind;
	q->urgency = VIRTIO_RESOURCE_U_NORMAL;
	q->latency = VIRTIO_RESOURCE_L_INTERACTIVE;
	q->deadline_ms = RES_DEADLINE_MS;
	q->amount = amount;
	q->minimum = minimum;
	q->projected = projected;
}

/*
 * REQUEST kind: amount on top of the allocation, urgency NORMAL, latency
 * INTERACTIVE, deadline 1 s; a new table entry, updated with the answer.
 * Returns the transaction id.
 */
uint64_t res_request(struct res *r, uint16_t kind, uint64_t amount, uint64_t minimum,
		     uint64_t projected, struct res_answer *a)
{
	struct rc_request q;
	struct rc_entry e = { 0 }, *out;
	size_t len;

	res_request_init(r, &q, kind, amount, minimum, projected);
	e.txn = q.hdr.txn;
	e.app_id = q.hdr.app_id;
	memcpy(e.comm, "probe", 6);
	e.kind = kind;
	e.urgency = q.urgency;
	e.latency = q.latency;
	e.deadline_ms = q.deadline_ms;
	e.amount = amount;
	e.minimum = minimum;
	e.projected = projected;
	if (rc_table_add(&r->table, &e, res_now_ns(r), &out))
		pr("resource table: cannot add txn %lu", e.txn);
	len = rc_encode_request(msg_buf, sizeof(msg_buf), &q);
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, msg_buf, len, a);
	res_table_answer(r, q.hdr.txn, a);
	return q.hdr.txn;
}

/* Apply an answer (or EV_GRANT) for txn to the table. */
void res_table_answer(struct res *r, uint64_t txn, const struct res_answer *a)
{
	struct rc_update u = { 0 };
	enum rc_event ev;
	struct rc_entry *e;
	int err;

	if (a->len < 0 || a->err || rc_table_find(&r->table, txn, &e))
		return;
	u.answer.type = a->hdr.type;
	u.answer.status = a->hdr.status;
	switch (a->hdr.type) {
	case VIRTIO_RESOURCE_A_GRANT:
	case VIRTIO_RESOURCE_EV_GRANT:
		/* The answer to an ACCEPT completes the offer; otherwise a grant. */
		ev = e->state == RC_S_OFFERED ? RC_EV_ACCEPT : RC_EV_GRANT;
		u.amount = a->u.grant.amount;
		u.offer_id = e->offer_id;
		u.timeout_ms = a->u.grant.lease_ms;
		break;
	case VIRTIO_RESOURCE_A_DENY:
		ev = RC_EV_DENY;
		u.answer.reason = a->u.deny.reason;
		u.answer.retry_after_ms = a->u.deny.retry_after_ms;
		break;
	case VIRTIO_RESOURCE_A_OFFER:
		ev = RC_EV_OFFER;
		u.offer_id = a->u.offer.offer_id;
		u.timeout_ms = a->u.offer.expires_ms;
		break;
	case VIRTIO_RESOURCE_A_ERROR:
		/* The host refused the message: the transaction never opened. */
		if (e->state == RC_S_REQUESTED)
			rc_table_remove(&r->table, txn);
		return;
	default:
		return;
	}
	err = rc_table_apply(&r->table, txn, ev, &u, res_now_ns(r));
	if (err)
		pr("resource table: txn %lu: %s in state %s: %s", txn, rc_event_name(ev),
		   rc_state_name(e->state), rc_strerror(err));
}

static void print_table(struct res *r)
{
	struct rc_entry *e;
	uint32_t idx;

	rc_table_for_each(&r->table, idx, e) {
		pr("resource table txn %lu kind %s amount %lu state %s (minimum %lu, granted %lu, "
		   "last answer %s)",
		   e->txn, rc_kind_name(e->kind), e->amount, rc_state_name(e->state), e->minimum,
		   e->granted, e->last.type ? rc_type_name(e->last.type) : "none");
	}
}

/* ---- events ---- */

static void show_generation(struct res *r)
{
	if (!res_read_config(r) || r->cfg.generation == r->gen_shown)
		return;
	r->gen_shown = r->cfg.generation;
	pr("resource generation %u: granted %lu MiB, %u vcpus", r->cfg.generation,
	   MiB(r->cfg.mem_granted), r->cfg.vcpus_granted);
}

static void handle_event(struct res *r, const uint8_t *buf, uint32_t len)
{
	struct rc_ev_allocation al;
	struct rc_ev_reclaim rec;
	struct rc_renegotiate rn;
	struct rc_message m;
	struct res_answer a;
	uint16_t type = 0;
	int err;

	err = rc_peek_type(buf, len, &type);
	switch (err ? 0 : type) {
	case VIRTIO_RESOURCE_EV_ALLOCATION:
	case VIRTIO_RESOURCE_EV_INVENTORY:
		err = rc_decode_ev_allocation(buf, len, &al);
		if (!err)
			show_generation(r);
		break;
	case VIRTIO_RESOURCE_EV_RECLAIM:
		err = rc_decode_ev_reclaim(buf, len, &rec);
		if (!err)
			res_on_reclaim(r, &rec);
		break;
	case VIRTIO_RESOURCE_EV_RENEGOTIATE:
		err = rc_decode_renegotiate(buf, len, &rn);
		if (!err)
			res_on_renegotiate(r, &rn);
		break;
	case VIRTIO_RESOURCE_EV_MESSAGE:
		err = rc_decode_message(buf, len, r->cfg.max_message, &m);
		if (!err)
			res_on_message(r, &m);
		break;
	case VIRTIO_RESOURCE_EV_GRANT:
		res_decode(buf, (int)len, &a);
		err = a.err;
		if (!err) {
			pr("resource grant txn %lu: %s %lu, allocation %lu", a.hdr.txn,
			   rc_kind_name(a.u.grant.kind), a.u.grant.amount, a.u.grant.allocation);
			res_table_answer(r, a.hdr.txn, &a);
		}
		break;
	default:
		if (!err)
			pr("resource event %s (%u bytes): not handled", rc_type_name(type), len);
		break;
	}
	if (err)
		pr("resource event %s (%u bytes) refused: %s", rc_type_name(type), len,
		   rc_strerror(err));
}

/*
 * Handle every event the device returned (re-posting each buffer) and a
 * configuration change. Interrupts stay disabled.
 */
void res_poll_events(struct res *r)
{
	struct virtqueue *vq = &r->vq[VIRTIO_RESOURCE_Q_EVENT];
	uint32_t id, len;

	while (vq_get_buf(vq, &id, &len)) {
		if (id >= RES_EVENT_BUFS) {
			pr("resource event in unknown buffer %u", id);
			continue;
		}
		handle_event(r, event_buf[id], len < RES_EVENT_LEN ? len : RES_EVENT_LEN);
		vq_add_buf(vq, id, event_buf[id], RES_EVENT_LEN, true);
	}
	/* After the events, which say more (a reclaim comes with a new generation). */
	if (r->d->config_vector && irq_count(r->d->config_vector) != r->cfg_irqs) {
		r->cfg_irqs = irq_count(r->d->config_vector);
		show_generation(r);
	}
}

/*
 * Take the events without handling them and post their buffers again
 * (bench=grant: at CPL 3, the allocation changes it causes itself).
 * Returns how many.
 */
unsigned int res_discard_events(struct res *r)
{
	struct virtqueue *vq = &r->vq[VIRTIO_RESOURCE_Q_EVENT];
	unsigned int n = 0;
	uint32_t id, len;

	while (vq_get_buf(vq, &id, &len)) {
		if (id < RES_EVENT_BUFS)
			vq_add_buf(vq, id, event_buf[id], RES_EVENT_LEN, true);
		n++;
	}
	return n;
}

/* ---- bring-up ---- */

static bool config_check(struct res *r)
{
	struct res_cfg *c = &r->cfg;
	bool stable = res_read_config(r);
	bool ok = stable && c->version == VIRTIO_RESOURCE_VERSION && rc_is_pow2(c->mem_granule) &&
		  c->mem_granted <= c->mem_max && c->mem_reserved <= c->mem_max &&
		  c->vcpus_granted <= c->vcpus_max && c->max_message >= 64;

	check("resource-config", ok,
	      "version %u, guest %u, generation %u, inventory %u bytes, granule %lu KiB, memory "
	      "granted %lu of %lu MiB (%lu MiB reserved), vcpus %u of %u, max message %u, max "
	      "outstanding %u%s",
	      c->version, c->guest_id, c->generation, c->inventory_size, c->mem_granule >> 10,
	      MiB(c->mem_granted), MiB(c->mem_max), MiB(c->mem_reserved), c->vcpus_granted,
	      c->vcpus_max, c->max_message, c->max_outstanding,
	      stable ? "" : ", generation never stable");
	r->gen_shown = c->generation;
	return ok;
}

static bool hello(struct res *r)
{
	struct rc_hello h = { 0 };
	struct rc_hdr inv = { 0 };
	struct res_answer a;
	size_t len;
	bool ok;

	/* order: anything before HELLO is out of order. */
	for (unsigned int i = 0; i < r->opt->nr_resource; i++) {
		if (r->opt->resource[i] != RES_ORDER || r->pre_hello_sent)
			continue;
		inv.type = VIRTIO_RESOURCE_T_GET_INVENTORY;
		inv.txn = res_txn(r);
		len = rc_encode_bare(msg_buf, sizeof(msg_buf), &inv);
		res_call(r, VIRTIO_RESOURCE_Q_REQUEST, msg_buf, len, &r->pre_hello);
		r->pre_hello_sent = true;
	}
	h.hdr.type = VIRTIO_RESOURCE_T_HELLO;
	h.hdr.txn = res_txn(r);
	h.version = VIRTIO_RESOURCE_VERSION;
	h.mem_rate = RES_MEM_RATE;
	len = rc_encode_hello(msg_buf, sizeof(msg_buf), &h);
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, msg_buf, len, &a);
	ok = res_is(&a, VIRTIO_RESOURCE_A_WELCOME) && a.hdr.txn == h.hdr.txn &&
	     a.u.welcome.version == VIRTIO_RESOURCE_VERSION &&
	     a.u.welcome.guest_id == r->cfg.guest_id;
	if (ok)
		check("resource-hello", true,
		      "version 1, mem rate %lu MiB/s: A_WELCOME version %u, "
		      "guest id %u",
		      MiB(h.mem_rate), a.u.welcome.version, a.u.welcome.guest_id);
	else
		check("resource-hello", false, "version 1: %s", res_answer_str(&a));
	return ok;
}

static void run_scenario(struct res *r, enum resource_scenario sc)
{
	switch (sc) {
	case RES_INVENTORY:
		res_inventory(r);
		break;
	case RES_BALLOON:
		res_balloon(r);
		break;
	case RES_TOUCH:
		res_touch(r);
		break;
	case RES_GRANT:
		res_grant(r);
		break;
	case RES_OFFER:
		res_offer(r);
		break;
	case RES_DENY:
		res_deny(r);
		break;
	case RES_ORDER:
		res_order(r);
		break;
	case RES_VCPU:
		res_vcpu(r);
		break;
	case RES_STATS:
		res_stats(r);
		break;
	case RES_MESSAGE:
		res_message(r);
		break;
	case RES_FILE:
		res_file(r);
		break;
	case RES_IDLE:
	case RES_NR_SCENARIOS:
		break;
	}
}

void virtio_resource_run(struct virtio_dev *d, const struct bootinfo *bi, const struct options *opt,
			 const struct mpinfo *mp)
{
	struct res *r = &res;
	unsigned int posted = 0, ran = 0;

	memset(r, 0, sizeof(*r));
	r->d = d;
	r->bi = bi;
	r->opt = opt;
	r->mp = mp;
	r->next_txn = 1;
	r->tsc_mhz = tsc_mhz();
	rc_table_init(&r->table, table_storage, RES_TABLE_CAP);
	if (!virtio_start(d, RES_FEATURES, r->vq, VIRTIO_RESOURCE_NR_QUEUES))
		return;
	for (uint16_t i = 0; i < RES_EVENT_BUFS; i++)
		posted += vq_add_buf(&r->vq[VIRTIO_RESOURCE_Q_EVENT], i, event_buf[i],
				     RES_EVENT_LEN, true);
	if (d->config_vector)
		r->cfg_irqs = irq_count(d->config_vector);
	if (!config_check(r) || posted != RES_EVENT_BUFS || !hello(r)) {
		virtio_stop(d);
		return;
	}
	pr("resource driver up: features 0x%lx, %u event buffers of %u bytes posted, tsc %lu MHz",
	   d->features, posted, RES_EVENT_LEN, r->tsc_mhz);
	res_mem_init(r);
	for (unsigned int i = 0; i < opt->nr_resource; i++) {
		if (opt->resource[i] == RES_IDLE)
			continue;
		run_scenario(r, opt->resource[i]);
		res_poll_events(r);
		ran++;
	}
	if (opt->bench & BENCH_GRANT)
		res_bench_grant(r);
	if (ran)
		print_table(r);
	if (!opt->resource_idle) {
		virtio_stop(d);
		return;
	}
	r->up = true; /* resource_idle serves it after the report */
}

/*
 * idle: serve the host until the VM is stopped. Halts with interrupts
 * enabled (bounded by the LAPIC timer) and handles events and configuration
 * changes after each wake-up. Returns only if the device is not up.
 */
void resource_idle(void)
{
	struct res *r = &res;

	if (!r->up) {
		pr("resource idle: the device is not up, not serving");
		return;
	}
	pr("resource idle");
	for (;;) {
		res_poll_events(r);
		irq_halt(IDLE_HALT_US);
	}
}
