// SPDX-License-Identifier: MIT
/*
 * virtio-resource memory: the guest has mem_max bytes of RAM but may use
 * only mem_granted. The probe keeps one watermark over the granule-aligned
 * RAM above its floor (16 MiB, above its image, page tables and rings): it
 * uses RAM below the watermark, and has reserved (given to the host)
 * everything from the watermark up. RESERVE lowers the watermark (highest
 * granules first), UNRESERVE raises it (lowest reserved granules first), so
 * every message is a few whole-granule ranges, one per RAM range crossed.
 *
 *   balloon  reserve (mem_max - mem_reserved) - mem_granted from the top
 *   touch    write every 4 KiB page the probe may use above the floor
 *   grant    REQUEST 32 MiB -> A_GRANT; UNRESERVE it; pages read 0, then
 *            written and read back
 *   offer    REQUEST 64 MiB -> A_OFFER; ACCEPT its PART_NOW alternative
 *            -> A_GRANT; UNRESERVE and write it as for grant
 *   reclaim  (an EV_RECLAIM, in any scenario or idle) RESERVE amount from
 *            the top of the used memory, hdr.txn = the reclaim's txn
 *   renegotiate  (an EV_RENEGOTIATE of a memory agreement) a decrease:
 *            RESERVE the difference from the top, then T_RENEGOTIATE with
 *            the proposed amount; an increase: T_RENEGOTIATE, then
 *            UNRESERVE the difference as for grant; anything else is
 *            declined with the agreement's current amount
 */
#include "resource.h"

#define PAGE	  4096UL
#define PATTERN	  0x5a3c0f1e2d4b6987UL
#define GRANT_ASK (32UL << 20)
#define OFFER_ASK (64UL << 20)
#define MIN_ASK	  (2UL << 20)

static struct rc_ranges ranges; /* about 1 KiB: not on the stack */

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void res_mem_init(struct res *r)
{
	uint64_t img_end = (uintptr_t)__image_end;
	bool truncated = false;

	r->granule = r->cfg.mem_granule;
	r->floor = align_up(img_end > RES_FLOOR ? img_end : RES_FLOOR, r->granule);
	r->nr_pieces = 0;
	for (unsigned int i = 0; i < r->bi->nr_mem; i++) {
		const struct memrange *m = &r->bi->mem[i];
		uint64_t s, e;
		unsigned int j;

		if (m->type != E820_RAM)
			continue;
		s = align_up(m->addr > r->floor ? m->addr : r->floor, r->granule);
		e = align_down(m->addr + m->size, r->granule);
		if (e <= s)
			continue;
		if (r->nr_pieces == RES_MAX_PIECES) {
			truncated = true;
			break;
		}
		/* Keep them sorted. */
		for (j = r->nr_pieces; j && r->piece[j - 1].start > s; j--)
			r->piece[j] = r->piece[j - 1];
		r->piece[j] = (struct res_piece){ s, e };
		r->nr_pieces++;
	}
	r->wm = r->nr_pieces ? r->piece[r->nr_pieces - 1].end : r->floor;
	pr("resource memory: %u ram ranges above %lu MiB (floor), top 0x%lx%s", r->nr_pieces,
	   MiB(r->floor), r->wm, truncated ? ", more ranges ignored" : "");
	if (r->cfg.mem_reserved)
		pr("resource memory: the host already holds %lu MiB reserved; the probe starts "
		   "as if it held none",
		   MiB(r->cfg.mem_reserved));
}

/* Bytes above the floor from the watermark up (what the probe reserved). */
uint64_t res_mem_reserved(const struct res *r)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < r->nr_pieces; i++) {
		const struct res_piece *p = &r->piece[i];

		if (p->end > r->wm)
			n += p->end - (p->start > r->wm ? p->start : r->wm);
	}
	return n;
}

/* Bytes above the floor below the watermark (what the probe could reserve). */
static uint64_t mem_unreserved(const struct res *r)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < r->nr_pieces; i++) {
		const struct res_piece *p = &r->piece[i];

		if (p->start < r->wm)
			n += min64(p->end, r->wm) - p->start;
	}
	return n;
}

/*
 * The address below which the probe may use memory: the watermark, but no
 * more above the floor than the grant leaves (the floor counts as used).
 */
static uint64_t mem_use_limit(const struct res *r)
{
	uint64_t budget = r->cfg.mem_granted > r->floor ? r->cfg.mem_granted - r->floor : 0;
	uint64_t limit = r->floor;

	for (unsigned int i = 0; i < r->nr_pieces && budget; i++) {
		const struct res_piece *p = &r->piece[i];
		uint64_t hi = min64(p->end, r->wm), n;

		if (p->start >= hi)
			break;
		n = min64(hi - p->start, budget);
		limit = p->start + n;
		budget -= n;
	}
	return limit;
}

/* Ranges to reserve amount below the watermark, highest first. */
static uint64_t plan_lower(const struct res *r, uint64_t amount, struct rc_ranges *m,
			   uint64_t *new_wm)
{
	uint64_t wm = r->wm, got = 0;

	m->nr_ranges = 0;
	for (int i = (int)r->nr_pieces - 1; i >= 0 && got < amount; i--) {
		const struct res_piece *p = &r->piece[i];
		uint64_t hi = min64(p->end, wm), take;

		if (p->start >= hi)
			continue;
		take = min64(hi - p->start, amount - got);
		m->range[m->nr_ranges++] = (struct rc_range){ hi - take, take };
		wm = hi - take;
		got += take;
	}
	*new_wm = wm;
	return got;
}

/* Ranges to take back amount from the watermark up, lowest first. */
static uint64_t plan_raise(const struct res *r, uint64_t amount, struct rc_ranges *m,
			   uint64_t *new_wm)
{
	uint64_t wm = r->wm, got = 0;

	m->nr_ranges = 0;
	for (unsigned int i = 0; i < r->nr_pieces && got < amount; i++) {
		const struct res_piece *p = &r->piece[i];
		uint64_t lo = p->start > wm ? p->start : wm, give;

		if (lo >= p->end)
			continue;
		give = min64(p->end - lo, amount - got);
		m->range[m->nr_ranges++] = (struct rc_range){ lo, give };
		wm = lo + give;
		got += give;
	}
	*new_wm = wm;
	return got;
}

/* "0xA-0xB, ..." (inclusive ends) of the planned ranges. */
static const char *ranges_str(const struct rc_ranges *m)
{
	static char s[320];
	size_t n = 0;

	s[0] = 0;
	for (uint32_t i = 0; i < m->nr_ranges && n + 48 < sizeof(s); i++) {
		probe_snprintf(s + n, sizeof(s) - n, "%s0x%lx-0x%lx", i ? ", " : "",
			       m->range[i].addr, m->range[i].addr + m->range[i].len - 1);
		n = strlen(s);
	}
	return s;
}

/*
 * RESERVE (lower the watermark) or UNRESERVE (raise it) amount bytes, in one
 * message with hdr.txn = txn (0: a new one). The watermark moves only once
 * the host acknowledged. Returns the bytes moved (0 if none could be
 * planned or the answer was not A_ACK; a says which).
 */
static uint64_t move_wm(struct res *r, bool reserve, uint64_t amount, uint64_t txn,
			struct res_answer *a)
{
	uint64_t new_wm, got;
	size_t len;

	memset(a, 0, sizeof(*a));
	a->len = -1;
	amount = align_down(amount, r->granule);
	got = reserve ? plan_lower(r, amount, &ranges, &new_wm)
		      : plan_raise(r, amount, &ranges, &new_wm);
	if (!got)
		return 0;
	memset(&ranges.hdr, 0, sizeof(ranges.hdr));
	ranges.hdr.type = reserve ? VIRTIO_RESOURCE_T_RESERVE : VIRTIO_RESOURCE_T_UNRESERVE;
	ranges.hdr.txn = txn ? txn : res_txn(r);
	ranges.hdr.app_id = RES_APP_ID;
	len = rc_encode_ranges(res_msg_buf(), RES_MSG_MAX, &ranges);
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, res_msg_buf(), len, a);
	if (!res_is(a, VIRTIO_RESOURCE_A_ACK) || a->hdr.txn != ranges.hdr.txn)
		return 0;
	r->wm = new_wm;
	return got;
}

void res_balloon(struct res *r)
{
	struct res_cfg *c = &r->cfg;
	uint64_t usable, want, got, before;
	struct res_answer a;
	bool ok;

	res_read_config(r);
	usable = c->mem_max - c->mem_reserved;
	want = align_down(usable > c->mem_granted ? usable - c->mem_granted : 0, r->granule);
	if (!want) {
		check("resource-balloon", true,
		      "nothing to reserve: %lu MiB usable, %lu MiB granted", MiB(usable),
		      MiB(c->mem_granted));
		return;
	}
	if (want > mem_unreserved(r)) {
		check("resource-balloon", false,
		      "%lu MiB to reserve, only %lu MiB of ram above the floor (%lu MiB)",
		      MiB(want), MiB(mem_unreserved(r)), MiB(r->floor));
		return;
	}
	before = c->mem_reserved;
	got = move_wm(r, true, want, 0, &a);
	ok = got == want && a.u.ack.mem_reserved == before + want &&
	     a.u.ack.mem_granted == c->mem_granted;
	if (got)
		pr("resource reserved %lu MiB", MiB(got));
	res_read_config(r);
	check("resource-balloon", ok && c->mem_reserved == before + want,
	      "max %lu MiB - granted %lu MiB: RESERVE %lu MiB from the top in %u ranges (%s): %s; "
	      "config reserved %lu MiB, the probe uses ram below 0x%lx",
	      MiB(c->mem_max), MiB(c->mem_granted), MiB(want), ranges.nr_ranges,
	      ranges_str(&ranges), res_answer_str(&a), MiB(c->mem_reserved), r->wm);
}

/* One write per 4 KiB page, its own address: four instructions a page. */
static void touch_range(uint64_t a, uint64_t end)
{
	__asm__ volatile("1:\n\t"
			 "movq %0, (%0)\n\t"
			 "addq $4096, %0\n\t"
			 "cmpq %1, %0\n\t"
			 "jb 1b"
			 : "+r"(a)
			 : "r"(end)
			 : "memory", "cc");
}

void res_touch(struct res *r)
{
	uint64_t limit, bytes = 0, t0, cycles, bad = 0, first = 0;
	unsigned int spans = 0;

	res_read_config(r);
	limit = mem_use_limit(r);
	t0 = rdtsc();
	for (unsigned int i = 0; i < r->nr_pieces; i++) {
		const struct res_piece *p = &r->piece[i];
		uint64_t hi = min64(p->end, limit);

		if (p->start >= hi)
			continue;
		if (!paging_map(p->start, hi - p->start, false)) {
			check("resource-touch", false, "cannot map 0x%lx-0x%lx", p->start, hi - 1);
			return;
		}
		touch_range(p->start, hi);
		if (*(volatile uint64_t *)phys(p->start) != p->start ||
		    *(volatile uint64_t *)phys(hi - PAGE) != hi - PAGE)
			bad++;
		if (!spans++)
			first = p->start;
		bytes += hi - p->start;
	}
	cycles = rdtsc() - t0;
	pr("resource touched %lu MiB", MiB(bytes));
	check("resource-touch", !bad,
	      "%lu pages in %u ranges from 0x%lx up to 0x%lx (granted %lu MiB, floor %lu MiB), "
	      "%lu Mcycles (%lu cycles a page)%s",
	      bytes / PAGE, spans, first, limit, MiB(r->cfg.mem_granted), MiB(r->floor),
	      cycles >> 20, bytes ? cycles / (bytes / PAGE) : 0,
	      bad ? ", A RANGE DID NOT READ BACK" : ", first and last pages read back");
}

/*
 * UNRESERVE amount (or what is reserved, if less), lowest reserved first;
 * then every page must read 0 (the host punched it), and is written and
 * read back. Describes the outcome in out.
 */
static bool take_back(struct res *r, uint64_t amount, char *out, size_t n)
{
	uint64_t give = min64(amount, res_mem_reserved(r)), got, before, pages = 0;
	uint64_t not_zero = 0, bad = 0;
	struct res_answer a;

	if (!give) {
		probe_snprintf(out, n, "nothing reserved to take back (run balloon first)");
		return true;
	}
	res_read_config(r);
	before = r->cfg.mem_reserved;
	got = move_wm(r, false, give, 0, &a);
	if (got != give || a.u.ack.mem_reserved != before - give) {
		probe_snprintf(out, n, "UNRESERVE %lu MiB (%s): %s, reserved %lu MiB before",
			       MiB(give), ranges_str(&ranges), res_answer_str(&a), MiB(before));
		return false;
	}
	for (uint32_t i = 0; i < ranges.nr_ranges; i++) {
		uint64_t s = ranges.range[i].addr, e = s + ranges.range[i].len;

		if (!paging_map(s, e - s, false)) {
			probe_snprintf(out, n, "cannot map 0x%lx-0x%lx", s, e - 1);
			return false;
		}
		for (uint64_t p = s; p < e; p += PAGE) {
			volatile uint64_t *q = phys(p);

			not_zero += *q != 0;
			*q = p ^ PATTERN;
			bad += *q != (p ^ PATTERN);
			pages++;
		}
	}
	probe_snprintf(out, n,
		       "UNRESERVE %lu MiB (%s): %s; %lu pages read 0 before (%lu did not), written "
		       "and read back (%lu bad)",
		       MiB(give), ranges_str(&ranges), res_answer_str(&a), pages - not_zero,
		       not_zero, bad);
	return !not_zero && !bad;
}

void res_grant(struct res *r)
{
	static char why[400];
	struct res_answer a;
	uint64_t before, txn;
	bool ok;

	res_read_config(r);
	before = r->cfg.mem_granted;
	txn = res_request(r, VIRTIO_RESOURCE_K_MEMORY, GRANT_ASK, MIN_ASK, before + GRANT_ASK, &a);
	ok = res_is(&a, VIRTIO_RESOURCE_A_GRANT) && a.hdr.txn == txn &&
	     a.u.grant.kind == VIRTIO_RESOURCE_K_MEMORY && a.u.grant.amount == GRANT_ASK &&
	     a.u.grant.allocation == before + GRANT_ASK;
	if (!ok) {
		check("resource-grant", false, "REQUEST memory 32 MiB (minimum 2 MiB) txn %lu: %s",
		      txn, res_answer_str(&a));
		return;
	}
	res_read_config(r);
	ok = r->cfg.mem_granted == before + GRANT_ASK;
	ok = take_back(r, a.u.grant.amount, why, sizeof(why)) && ok;
	check("resource-grant", ok,
	      "REQUEST memory 32 MiB (minimum 2 MiB, projected %lu MiB) txn %lu: A_GRANT %lu MiB, "
	      "allocation %lu MiB (config %lu MiB); %s",
	      MiB(before + GRANT_ASK), txn, MiB(a.u.grant.amount), MiB(a.u.grant.allocation),
	      MiB(r->cfg.mem_granted), why);
}

static const char *alt_str(const struct rc_offer *o)
{
	static char s[256];
	size_t n = 0;

	s[0] = 0;
	for (uint32_t i = 0; i < o->nr_alternatives; i++) {
		const struct rc_alternative *alt = &o->alt[i];
		bool mem = alt->kind == VIRTIO_RESOURCE_K_MEMORY;

		probe_snprintf(s + n, sizeof(s) - n, "%salt %u %s %s %lu%s", i ? ", " : "", i,
			       res_alt_name(alt->type), rc_kind_name(alt->kind),
			       mem ? MiB(alt->amount) : alt->amount, mem ? " MiB" : "");
		n = strlen(s);
		if (alt->delay_ms)
			probe_snprintf(s + n, sizeof(s) - n, " after %u ms", alt->delay_ms);
		n = strlen(s);
	}
	return s;
}

void res_offer(struct res *r)
{
	static char why[400];
	struct rc_accept acc = { 0 };
	struct rc_offer o;
	struct res_answer a;
	uint64_t before, txn, part = 0;
	int now = -1;
	bool ok;

	res_read_config(r);
	before = r->cfg.mem_granted;
	txn = res_request(r, VIRTIO_RESOURCE_K_MEMORY, OFFER_ASK, MIN_ASK, before + OFFER_ASK, &a);
	if (!res_is(&a, VIRTIO_RESOURCE_A_OFFER) || a.hdr.txn != txn) {
		check("resource-offer", false,
		      "REQUEST memory 64 MiB (minimum 2 MiB) txn %lu: %s (an offer needs a pool "
		      "smaller than what is asked)",
		      txn, res_answer_str(&a));
		return;
	}
	o = a.u.offer;
	pr("resource offer txn %lu id %u (expires in %u ms): %s", txn, o.offer_id, o.expires_ms,
	   alt_str(&o));
	for (uint32_t i = 0; i < o.nr_alternatives; i++) {
		if (o.alt[i].type == VIRTIO_RESOURCE_ALT_PART_NOW && now < 0) {
			now = (int)i;
			part = o.alt[i].amount;
		}
	}
	if (now < 0) {
		check("resource-offer", false, "offer %u has no PART_NOW alternative: %s",
		      o.offer_id, alt_str(&o));
		return;
	}
	acc.hdr.type = VIRTIO_RESOURCE_T_ACCEPT;
	acc.hdr.txn = txn;
	acc.hdr.app_id = RES_APP_ID;
	acc.offer_id = o.offer_id;
	acc.choices = 1U << now;
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, res_msg_buf(),
		 rc_encode_accept(res_msg_buf(), RES_MSG_MAX, &acc), &a);
	res_table_answer(r, txn, &a);
	ok = res_is(&a, VIRTIO_RESOURCE_A_GRANT) && a.hdr.txn == txn && a.u.grant.amount == part &&
	     a.u.grant.allocation == before + part;
	if (!ok) {
		check("resource-offer", false,
		      "offer %u: %s; ACCEPT choices 0x%x (PART_NOW %lu MiB): %s", o.offer_id,
		      alt_str(&o), acc.choices, MiB(part), res_answer_str(&a));
		return;
	}
	ok = take_back(r, part, why, sizeof(why));
	res_read_config(r);
	ok = ok && r->cfg.mem_granted == before + part;
	check("resource-offer", ok,
	      "REQUEST memory 64 MiB txn %lu: A_OFFER id %u: %s; ACCEPT choices 0x%x: A_GRANT %lu "
	      "MiB, allocation %lu MiB (config %lu MiB); %s",
	      txn, o.offer_id, alt_str(&o), acc.choices, MiB(a.u.grant.amount),
	      MiB(a.u.grant.allocation), MiB(r->cfg.mem_granted), why);
}

/* The host takes memory back from the newest agreements first: so does the table. */
static void table_reclaim(struct res *r, uint64_t amount)
{
	while (amount) {
		struct rc_entry *e, *newest = NULL;
		struct rc_update u = { 0 };
		uint32_t idx;

		rc_table_for_each (&r->table, idx, e) {
			if (e->kind == VIRTIO_RESOURCE_K_MEMORY && e->state == RC_S_GRANTED &&
			    (!newest || e->created_ns > newest->created_ns))
				newest = e;
		}
		if (!newest)
			return;
		if (amount >= newest->granted) {
			amount -= newest->granted;
			rc_table_apply(&r->table, newest->txn, RC_EV_RECLAIM, &u, res_now_ns(r));
		} else {
			u.amount = newest->granted - amount;
			amount = 0;
			rc_table_apply(&r->table, newest->txn, RC_EV_RECLAIM_PART, &u,
				       res_now_ns(r));
		}
	}
}

/*
 * EV_RECLAIM: RESERVE amount bytes from the top of the memory the probe
 * uses (touched or taken back), in a message carrying the reclaim's txn.
 * The highest reclaimed granule must read 0 afterwards (one page: reading
 * brings a page back on the host).
 */
void res_on_reclaim(struct res *r, const struct rc_ev_reclaim *ev)
{
	uint64_t amount = align_down(ev->amount, r->granule), have = mem_unreserved(r), got;
	struct res_answer a;
	uint64_t v = 0, top;

	if (ev->kind != VIRTIO_RESOURCE_K_MEMORY) {
		pr("resource reclaim txn %lu of %s %lu: not handled", ev->hdr.txn,
		   rc_kind_name(ev->kind), ev->amount);
		return;
	}
	if (amount > have)
		amount = have;
	got = amount ? move_wm(r, true, amount, ev->hdr.txn, &a) : 0;
	if (!got) {
		pr("resource reclaim txn %lu of %lu MiB FAILED: %lu MiB above the floor to give, "
		   "RESERVE: %s",
		   ev->hdr.txn, MiB(ev->amount), MiB(have),
		   amount ? res_answer_str(&a) : "not sent");
		return;
	}
	table_reclaim(r, got);
	top = ranges.range[0].addr + ranges.range[0].len - PAGE;
	if (paging_map(top, PAGE, false))
		v = *(volatile uint64_t *)phys(top);
	pr("resource reclaimed %lu MiB (txn %lu): %s; deadline %u ms, target %lu MiB; %s; highest "
	   "reclaimed page reads 0x%lx%s%s",
	   MiB(got), ev->hdr.txn, ranges_str(&ranges), ev->deadline_ms, MiB(ev->target),
	   res_answer_str(&a), v, v ? " (NOT PUNCHED)" : "",
	   got < ev->amount ? "; LESS THAN ASKED" : "");
}

/* ---- EV_RENEGOTIATE: the host reopens a granted agreement ---- */

/* "16 MiB" for memory, "2 vcpus" otherwise (a static buffer per slot, 0-2). */
static const char *amount_str(uint16_t kind, uint64_t v, unsigned int slot)
{
	static char s[3][32];

	if (kind == VIRTIO_RESOURCE_K_MEMORY)
		probe_snprintf(s[slot], sizeof(s[slot]), "%lu MiB", MiB(v));
	else
		probe_snprintf(s[slot], sizeof(s[slot]), "%lu %s", v, rc_kind_name(kind));
	return s[slot];
}

/* T_RENEGOTIATE for ev's agreement with amount; the host's answer in a. */
static void renegotiate_answer(struct res *r, const struct rc_renegotiate *ev, uint64_t amount,
			       struct res_answer *a)
{
	struct rc_renegotiate m = { 0 };
	size_t len;

	m.hdr.type = VIRTIO_RESOURCE_T_RENEGOTIATE;
	m.hdr.txn = ev->hdr.txn;
	m.hdr.app_id = ev->hdr.app_id;
	m.kind = ev->kind;
	m.deadline_ms = RES_DEADLINE_MS;
	m.amount = amount;
	len = rc_encode_renegotiate(res_msg_buf(), RES_MSG_MAX, &m);
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, res_msg_buf(), len, a);
}

/* "A_GRANT OK (txn ...)": the answer's type and status, then what it says. */
static const char *answer_brief(const struct res_answer *a)
{
	static char s[200];
	const char *type = rc_type_name(a->hdr.type), *rest;
	size_t n = strlen(type);

	if (a->len < 0 || a->err)
		return res_answer_str(a);
	rest = res_answer_str(a);
	if (!memcmp(rest, type, n) && rest[n] == ' ')
		rest += n + 1;
	probe_snprintf(s, sizeof(s), "%s %s (%s)", type, res_status_name(a->hdr.status), rest);
	return s;
}

/* "table: state S, amount G, last answer T" of txn's entry. */
static const char *table_str(struct res *r, uint64_t txn)
{
	static char s[96];
	struct rc_entry *e;

	if (rc_table_find(&r->table, txn, &e))
		return "not in the table";
	probe_snprintf(s, sizeof(s), "table: state %s, amount %s, last answer %s",
		       rc_state_name(e->state), amount_str(e->kind, e->granted, 2),
		       e->last.type ? rc_type_name(e->last.type) : "none");
	return s;
}

/*
 * Apply the host's answer to a renegotiation to the table entry (which went
 * RENEGOTIATING on the event): A_GRANT sets the new amount, A_ACK (a
 * decline) keeps the old one; a refusal leaves the proposal to lapse at the
 * host's deadline, which the probe records at once (EXPIRE: the old amount).
 */
static void renegotiate_table(struct res *r, uint64_t txn, const struct res_answer *a)
{
	struct rc_update u = { 0 };
	struct rc_entry *e;
	int err;

	if (rc_table_find(&r->table, txn, &e) || e->state != RC_S_RENEGOTIATING)
		return;
	if (res_is(a, VIRTIO_RESOURCE_A_GRANT)) {
		res_table_answer(r, txn, a);
		return;
	}
	u.answer.type = a->len >= 0 && !a->err ? a->hdr.type : 0;
	u.answer.status = a->hdr.status;
	err = rc_table_apply(&r->table, txn,
			     res_is(a, VIRTIO_RESOURCE_A_ACK) ? RC_EV_DENY : RC_EV_EXPIRE, &u,
			     res_now_ns(r));
	if (err)
		pr("resource table: txn %lu: renegotiation answer in state %s: %s", txn,
		   rc_state_name(e->state), rc_strerror(err));
}

/* Decline: answer with the agreement's current amount (0 if the probe has none). */
static void renegotiate_decline(struct res *r, const struct rc_renegotiate *ev, uint64_t cur,
				const char *why)
{
	struct res_answer a;

	renegotiate_answer(r, ev, cur, &a);
	renegotiate_table(r, ev->hdr.txn, &a);
	pr("resource renegotiation txn %lu to %s declined (%s), answered %s: %s; %s", ev->hdr.txn,
	   amount_str(ev->kind, ev->amount, 0), why, amount_str(ev->kind, cur, 1), answer_brief(&a),
	   table_str(r, ev->hdr.txn));
}

/*
 * EV_RENEGOTIATE: the host proposes a new amount for a granted agreement.
 * Memory is accepted: a decrease first RESERVEs the difference (highest
 * granules first, as for a reclaim) so the host can take it, an increase
 * UNRESERVEs it (lowest reserved first) once granted, and the pages taken
 * back must read 0. A vCPU agreement, one the probe does not hold, or a
 * decrease it cannot reserve is declined with the current amount.
 */
void res_on_renegotiate(struct res *r, const struct rc_renegotiate *ev)
{
	static char why[400];
	struct rc_update u = { 0 };
	struct res_answer a, ra;
	struct rc_entry *e;
	uint64_t cur, want = ev->amount, diff, got = 0;
	bool ok = true;

	if (rc_table_find(&r->table, ev->hdr.txn, &e)) {
		renegotiate_decline(r, ev, 0, "not an agreement of the probe");
		return;
	}
	cur = e->granted;
	if (e->state != RC_S_GRANTED || e->kind != ev->kind) {
		renegotiate_decline(r, ev, cur,
				    e->kind != ev->kind ? "another kind" : "not granted");
		return;
	}
	u.amount = want;
	u.timeout_ms = ev->deadline_ms;
	if (rc_table_apply(&r->table, ev->hdr.txn, RC_EV_RENEGOTIATE, &u, res_now_ns(r))) {
		renegotiate_decline(r, ev, cur, "the table refuses it");
		return;
	}
	if (ev->kind != VIRTIO_RESOURCE_K_MEMORY) {
		renegotiate_decline(r, ev, cur, "the probe renegotiates memory only");
		return;
	}
	diff = want > cur ? want - cur : cur - want;
	if (!want || !diff || diff % r->granule) {
		renegotiate_decline(r, ev, cur, "not a whole number of granules");
		return;
	}
	why[0] = 0;
	if (want < cur) {
		if (mem_unreserved(r) < diff) {
			renegotiate_decline(r, ev, cur, "too little memory above the floor");
			return;
		}
		got = move_wm(r, true, diff, 0, &ra);
		if (got != diff) {
			renegotiate_decline(r, ev, cur, "the RESERVE failed");
			pr("resource renegotiation txn %lu: RESERVE %lu MiB: %s", ev->hdr.txn,
			   MiB(diff), res_answer_str(&ra));
			return;
		}
		probe_snprintf(why, sizeof(why), "RESERVE %lu MiB first (%s): %s", MiB(diff),
			       ranges_str(&ranges), res_answer_str(&ra));
	}
	renegotiate_answer(r, ev, want, &a);
	renegotiate_table(r, ev->hdr.txn, &a);
	ok = res_is(&a, VIRTIO_RESOURCE_A_GRANT) && a.hdr.txn == ev->hdr.txn &&
	     a.u.grant.amount == want;
	if (!ok && got) {
		/* Refused: the reserved difference is the probe's again. */
		size_t n = strlen(why);

		move_wm(r, false, got, 0, &ra);
		probe_snprintf(why + n, sizeof(why) - n, "; UNRESERVE it again: %s",
			       res_answer_str(&ra));
	} else if (ok && want > cur) {
		ok = take_back(r, diff, why, sizeof(why));
	}
	res_read_config(r);
	pr("resource renegotiated txn %lu to %lu MiB: %s; %s; config granted %lu MiB, reserved "
	   "%lu MiB; %s%s",
	   ev->hdr.txn, MiB(want), answer_brief(&a), why, MiB(r->cfg.mem_granted),
	   MiB(r->cfg.mem_reserved), table_str(r, ev->hdr.txn), ok ? "" : " (FAILED)");
}
