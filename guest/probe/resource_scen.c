// SPDX-License-Identifier: MIT
/*
 * virtio-resource scenarios other than memory: the hardware description
 * (parsed with guest/core's rc_inventory_parse), a denial, messages out of
 * order or malformed, a vCPU grant that unparks an AP, statistics samples,
 * a message to the host, files from the host's share, and the answer to a
 * message from the host (an echo).
 */
#include "resource.h"

#define DETAIL_LEN 640
/* Waits for the AP's check-in, in TSC cycles. */
#define PARKED_WAIT  (1UL << 25) /* ~10 ms after each SIPI: it must not come */
#define GRANTED_WAIT (1UL << 31) /* ~0.7 s */
#define FILE_READ    256
#define PROBE_HELLO  "hello from the probe"
#define ECHO_PREFIX  "echo: "

static struct rc_inventory inv __attribute__((section(".noinit")));
static char detail[DETAIL_LEN];
static uint8_t payload[RES_MSG_MAX];

void res_inventory(struct res *r)
{
	struct rc_hdr h = { 0 };
	struct res_answer a;
	uint32_t cfg_size;
	int err;
	bool ok;

	res_read_config(r);
	cfg_size = r->cfg.inventory_size;
	h.type = VIRTIO_RESOURCE_T_GET_INVENTORY;
	h.txn = res_txn(r);
	h.app_id = RES_APP_ID;
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, res_msg_buf(),
		 rc_encode_bare(res_msg_buf(), RES_MSG_MAX, &h), &a);
	if (!res_is(&a, VIRTIO_RESOURCE_A_INVENTORY) || a.hdr.txn != h.txn) {
		check("resource-inventory", false, "GET_INVENTORY txn %lu (config: %u bytes): %s",
		      h.txn, cfg_size, res_answer_str(&a));
		return;
	}
	err = rc_inventory_parse(&inv, a.u.data.data, a.u.data.data_len);
	res_read_config(r);
	if (err) {
		check("resource-inventory", false, "A_INVENTORY of %u bytes does not parse: %s",
		      a.u.data.data_len, rc_strerror(err));
		return;
	}
	pr("resource inventory gen %u: %u host cpus, %lu MiB host memory, %u pci devices, granted "
	   "%lu MiB of %lu MiB, %u of %u vcpus",
	   inv.generation, inv.cpus_found, MiB(inv.mem_total), inv.pci_found,
	   MiB(inv.alloc.memory_granted), MiB(inv.alloc.memory_max), inv.alloc.vcpus_granted,
	   inv.alloc.vcpus_max);
	ok = inv.generation == r->cfg.generation && a.u.data.data_len == r->cfg.inventory_size &&
	     inv.alloc.memory_max == r->cfg.mem_max &&
	     inv.alloc.memory_granted == r->cfg.mem_granted &&
	     inv.alloc.memory_reserved == r->cfg.mem_reserved &&
	     inv.alloc.vcpus_max == r->cfg.vcpus_max &&
	     inv.alloc.vcpus_granted == r->cfg.vcpus_granted &&
	     inv.alloc.granule == r->cfg.mem_granule;
	check("resource-inventory", ok,
	      "%u bytes (config %u), generation %u (config %u), %u cpus online, %u allocated, "
	      "%u memory nodes%s; allocation: memory %lu/%lu MiB granted, %lu MiB reserved "
	      "(config %lu/%lu, %lu), vcpus %u/%u (config %u/%u), granule %lu KiB%s",
	      a.u.data.data_len, r->cfg.inventory_size, inv.generation, r->cfg.generation,
	      inv.cpus_online, inv.cpus_allocated, inv.mem_nodes_found,
	      inv.truncated ? ", truncated" : "", MiB(inv.alloc.memory_granted),
	      MiB(inv.alloc.memory_max), MiB(inv.alloc.memory_reserved), MiB(r->cfg.mem_granted),
	      MiB(r->cfg.mem_max), MiB(r->cfg.mem_reserved), inv.alloc.vcpus_granted,
	      inv.alloc.vcpus_max, r->cfg.vcpus_granted, r->cfg.vcpus_max, inv.alloc.granule >> 10,
	      ok ? ", agrees with the config" : ", DISAGREES");
}

void res_deny(struct res *r)
{
	struct res_answer a;
	uint64_t amount, txn;
	bool ok;

	res_read_config(r);
	amount = 2 * r->cfg.mem_max;
	txn = res_request(r, VIRTIO_RESOURCE_K_MEMORY, amount, amount, r->cfg.mem_granted + amount,
			  &a);
	ok = res_is(&a, VIRTIO_RESOURCE_A_DENY) && a.hdr.txn == txn &&
	     a.u.deny.kind == VIRTIO_RESOURCE_K_MEMORY &&
	     a.u.deny.reason == VIRTIO_RESOURCE_D_ABOVE_MAX &&
	     a.u.deny.allocation == r->cfg.mem_granted;
	check("resource-deny", ok, "REQUEST memory %lu MiB, minimum the same (2 x max) txn %lu: %s",
	      MiB(amount), txn, res_answer_str(&a));
}

static bool is_error(const struct res_answer *a, uint32_t status)
{
	return res_is(a, VIRTIO_RESOURCE_A_ERROR) && a->hdr.status == status;
}

void res_order(struct res *r)
{
	struct rc_accept acc = { 0 };
	struct rc_request q = { 0 };
	struct rc_hdr h = { 0 };
	struct res_answer a;
	bool ok = true, one;
	uint8_t st;
	size_t len;

	detail[0] = 0;
	one = r->pre_hello_sent && is_error(&r->pre_hello, VIRTIO_RESOURCE_S_ORDER);
	probe_append(detail, sizeof(detail), "GET_INVENTORY before HELLO: %s%s",
		     r->pre_hello_sent ? res_answer_str(&r->pre_hello) : "not sent",
		     one ? "" : " (WANT ORDER)");
	ok = ok && one;

	/* ACCEPT for a transaction that was never offered. */
	acc.hdr.type = VIRTIO_RESOURCE_T_ACCEPT;
	acc.hdr.txn = res_txn(r);
	acc.offer_id = 1;
	acc.choices = 1;
	len = rc_encode_accept(res_msg_buf(), RES_MSG_MAX, &acc);
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, res_msg_buf(), len, &a);
	one = is_error(&a, VIRTIO_RESOURCE_S_ORDER) && a.hdr.txn == acc.hdr.txn;
	probe_append(detail, sizeof(detail), "; ACCEPT txn %lu never offered: %s%s", acc.hdr.txn,
		     res_answer_str(&a), one ? "" : " (WANT ORDER)");
	ok = ok && one;

	/* A REQUEST whose hdr.len is shorter than a request (the buffer is whole). */
	q.hdr.type = VIRTIO_RESOURCE_T_REQUEST;
	q.hdr.txn = res_txn(r);
	q.kind = VIRTIO_RESOURCE_K_MEMORY;
	q.amount = q.minimum = r->granule;
	len = rc_encode_request(res_msg_buf(), RES_MSG_MAX, &q);
	rc_put_le32(res_msg_buf() + offsetof(struct virtio_resource_hdr, len), 40);
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, res_msg_buf(), len, &a);
	one = is_error(&a, VIRTIO_RESOURCE_S_MALFORMED);
	probe_append(detail, sizeof(detail), "; REQUEST with hdr.len 40 of %zu: %s%s", len,
		     res_answer_str(&a), one ? "" : " (WANT MALFORMED)");
	ok = ok && one;

	/* And the device still answers. */
	h.type = VIRTIO_RESOURCE_T_GET_INVENTORY;
	h.txn = res_txn(r);
	res_call(r, VIRTIO_RESOURCE_Q_REQUEST, res_msg_buf(),
		 rc_encode_bare(res_msg_buf(), RES_MSG_MAX, &h), &a);
	one = res_is(&a, VIRTIO_RESOURCE_A_INVENTORY) && a.hdr.txn == h.txn;
	st = virtio_status(r->d);
	probe_append(detail, sizeof(detail), "; then GET_INVENTORY txn %lu: %s; status 0x%x%s",
		     h.txn, res_answer_str(&a), st,
		     st & VIRTIO_S_NEEDS_RESET ? " (NEEDS_RESET)" : "");
	ok = ok && one && !(st & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED));
	check("resource-order", ok, "%s", detail);
}

static bool mp_has_apic(const struct mpinfo *mp, unsigned int apic)
{
	for (unsigned int i = 0; i < mp->nr_cpus; i++) {
		if (mp->cpu_apic[i] == apic)
			return true;
	}
	return false;
}

/*
 * vcpu: the first vCPU not granted is parked: INIT/SIPI to it must not make
 * it check in; once REQUEST 1 vCPU is granted the host unparks it, and
 * INIT/SIPI (as ap-wake sends) brings it to the trampoline.
 */
void res_vcpu(struct res *r)
{
	volatile uint32_t *counter;
	uint32_t before, parked, after;
	const char *why = "";
	struct res_answer a;
	unsigned int apic;
	uint64_t txn;
	bool early, woke, ok;

	if (!(r->d->features & (1ULL << VIRTIO_RESOURCE_F_VCPU))) {
		check("resource-vcpu", false, "the device does not offer VIRTIO_RESOURCE_F_VCPU");
		return;
	}
	res_read_config(r);
	if (r->cfg.vcpus_granted >= r->cfg.vcpus_max) {
		check("resource-vcpu", true, "all %u vcpus granted: nothing to ask for",
		      r->cfg.vcpus_max);
		return;
	}
	apic = r->cfg.vcpus_granted; /* accord: APIC ID = vCPU index */
	if (!r->mp->found || !mp_has_apic(r->mp, apic)) {
		check("resource-vcpu", false,
		      "apic id %u is not in the MP table (needed to wake it)", apic);
		return;
	}
	counter = smp_ap_prepare(r->bi, &why);
	if (!counter) {
		check("resource-vcpu", false, "%s", why);
		return;
	}
	before = *counter;
	early = smp_wake_ap(apic, counter, PARKED_WAIT);
	parked = *counter;
	txn = res_request(r, VIRTIO_RESOURCE_K_VCPU, 1, 1, r->cfg.vcpus_granted + 1, &a);
	ok = res_is(&a, VIRTIO_RESOURCE_A_GRANT) && a.hdr.txn == txn &&
	     a.u.grant.kind == VIRTIO_RESOURCE_K_VCPU && a.u.grant.amount == 1 &&
	     a.u.grant.allocation == r->cfg.vcpus_granted + 1;
	if (!ok) {
		check("resource-vcpu", false,
		      "apic id %u %s while parked; REQUEST vcpus 1 txn %lu: %s", apic,
		      early ? "CHECKED IN" : "did not check in", txn, res_answer_str(&a));
		return;
	}
	woke = smp_wake_ap(apic, counter, GRANTED_WAIT);
	after = *counter;
	res_read_config(r);
	ok = !early && woke && r->cfg.vcpus_granted == a.u.grant.allocation;
	if (woke)
		pr("ap apic id %u checked in after the grant", apic);
	check("resource-vcpu", ok,
	      "apic id %u: INIT/SIPI while parked: %s (counter %u -> %u in ~20 ms); REQUEST vcpus "
	      "1 txn %lu: %s; config %u vcpus; INIT/SIPI: %s (counter %u%s)",
	      apic, early ? "CHECKED IN" : "no check-in", before, parked, txn, res_answer_str(&a),
	      r->cfg.vcpus_granted, woke ? "checked in" : "DID NOT CHECK IN", after,
	      after > parked + 1 ? ", the INIT/SIPI sent while parked ran on unpark" : "");
}

void res_stats(struct res *r)
{
	struct rc_stats s;
	unsigned int sent = 0;
	uint32_t used = 0, used_max = 0;

	res_read_config(r);
	for (unsigned int i = 0; i < 3; i++) {
		size_t len;

		memset(&s, 0, sizeof(s));
		s.hdr.type = VIRTIO_RESOURCE_T_STATS;
		s.hdr.txn = res_txn(r);
		s.timestamp_ns = res_now_ns(r);
		s.mem_total = r->cfg.mem_granted;
		s.mem_committed = r->cfg.mem_granted / 2 + i * (4UL << 20);
		s.mem_available = s.mem_total - s.mem_committed;
		s.mem_forecast = s.mem_committed + (8UL << 20);
		s.psi_mem_milli = 10 * i;
		s.psi_cpu_milli = 5;
		s.cpu_util_milli = 250 + 100 * i;
		s.runqueue_milli = 500 + 250 * i;
		s.vcpu_forecast_milli = 1000 * r->cfg.vcpus_granted;
		len = rc_encode_stats(res_msg_buf(), RES_MSG_MAX, &s);
		if (len && res_send(r, VIRTIO_RESOURCE_Q_STATS, res_msg_buf(), len, &used))
			sent++;
		if (used > used_max)
			used_max = used;
	}
	check("resource-stats", sent == 3 && !used_max,
	      "%u of 3 samples of %zu bytes returned, used length %u (none written), last: total "
	      "%lu MiB, committed %lu MiB, forecast %lu MiB, cpu %u/1000",
	      sent, sizeof(struct virtio_resource_stats), used_max, MiB(s.mem_total),
	      MiB(s.mem_committed), MiB(s.mem_forecast), s.cpu_util_milli);
}

static bool send_message(struct res *r, const void *data, uint32_t len, struct res_answer *a,
			 uint64_t *txn)
{
	struct rc_message m = { 0 };
	size_t n;

	m.hdr.type = VIRTIO_RESOURCE_T_MESSAGE;
	m.hdr.txn = *txn = res_txn(r);
	m.hdr.app_id = RES_APP_ID;
	m.dest = VIRTIO_RESOURCE_DEST_HOST;
	m.payload = data;
	m.payload_len = len;
	n = rc_encode_message(res_msg_buf(), RES_MSG_MAX, &m);
	if (!n)
		return false;
	res_call(r, VIRTIO_RESOURCE_Q_MESSAGE, res_msg_buf(), n, a);
	return res_is(a, VIRTIO_RESOURCE_A_ACK) && a->hdr.txn == *txn;
}

void res_message(struct res *r)
{
	struct res_answer a;
	uint64_t txn;
	bool ok;

	if (!(r->d->features & (1ULL << VIRTIO_RESOURCE_F_MESSAGES))) {
		check("resource-message", false, "the device does not offer F_MESSAGES");
		return;
	}
	ok = send_message(r, PROBE_HELLO, sizeof(PROBE_HELLO) - 1, &a, &txn);
	check("resource-message", ok, "MESSAGE txn %lu to the host \"%s\": %s", txn, PROBE_HELLO,
	      res_answer_str(&a));
}

/* Up to n bytes of s as printable text (others as '.') in out, up to a newline. */
static void printable(char *out, size_t size, const uint8_t *s, size_t n, bool one_line)
{
	size_t i;

	for (i = 0; i < n && i + 1 < size; i++) {
		if (one_line && (s[i] == '\n' || s[i] == '\r'))
			break;
		out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? (char)s[i] : '.';
	}
	out[i] = 0;
}

static void file_open(struct res *r, const char *path, struct res_answer *a, uint64_t *txn)
{
	struct rc_file_open o = { 0 };

	o.hdr.type = VIRTIO_RESOURCE_T_FILE_OPEN;
	o.hdr.txn = *txn = res_txn(r);
	o.path = path;
	o.path_len = (uint32_t)strlen(path);
	res_call(r, VIRTIO_RESOURCE_Q_FILE, res_msg_buf(),
		 rc_encode_file_open(res_msg_buf(), RES_MSG_MAX, &o), a);
}

static void file_op(struct res *r, uint16_t type, uint32_t handle, uint32_t len,
		    struct res_answer *a, uint64_t *txn)
{
	struct rc_file_op op = { 0 };

	op.hdr.type = type;
	op.hdr.txn = *txn = res_txn(r);
	op.handle = handle;
	op.len = len;
	res_call(r, VIRTIO_RESOURCE_Q_FILE, res_msg_buf(),
		 rc_encode_file_op(res_msg_buf(), RES_MSG_MAX, &op), a);
}

/* resource-file=NAME: open, read 256 bytes at 0, stat, close. */
static bool file_named(struct res *r, const char *name)
{
	struct res_answer a;
	char line[96];
	uint64_t txn, size;
	uint32_t handle;
	bool ok;

	file_open(r, name, &a, &txn);
	if (!res_is(&a, VIRTIO_RESOURCE_A_FILE) || a.hdr.txn != txn) {
		probe_append(detail, sizeof(detail), "FILE_OPEN \"%s\": %s", name,
			     res_answer_str(&a));
		return false;
	}
	handle = a.u.file.handle;
	size = a.u.file.size;
	probe_append(detail, sizeof(detail),
		     "FILE_OPEN \"%s\": A_FILE handle %u, %lu bytes, mode 0x%x", name, handle, size,
		     a.u.file.mode);
	file_op(r, VIRTIO_RESOURCE_T_FILE_READ, handle, FILE_READ, &a, &txn);
	ok = res_is(&a, VIRTIO_RESOURCE_A_DATA) && a.hdr.txn == txn &&
	     a.u.data.data_len == (size < FILE_READ ? size : FILE_READ);
	if (res_is(&a, VIRTIO_RESOURCE_A_DATA)) {
		uint32_t n = a.u.data.data_len, zeros = 0;

		/* A file whose bytes are all 0 is not what one shares: the data got lost. */
		for (uint32_t i = 0; i < n; i++)
			zeros += !a.u.data.data[i];
		ok = ok && (!n || zeros < n);
		printable(line, sizeof(line), a.u.data.data, n, true);
		pr("resource file %s: %lu bytes: \"%s\"", name, size, line);
		probe_append(detail, sizeof(detail), "; FILE_READ %u at 0: A_DATA %u bytes%s",
			     FILE_READ, n, n && zeros == n ? " ALL ZERO" : "");
	} else {
		probe_append(detail, sizeof(detail), "; FILE_READ %u at 0: %s", FILE_READ,
			     res_answer_str(&a));
	}
	file_op(r, VIRTIO_RESOURCE_T_FILE_STAT, handle, 0, &a, &txn);
	ok = res_is(&a, VIRTIO_RESOURCE_A_FILE) && a.u.file.size == size && ok;
	probe_append(detail, sizeof(detail), "; FILE_STAT: %s",
		     res_is(&a, VIRTIO_RESOURCE_A_FILE) ? "A_FILE" : res_answer_str(&a));
	if (res_is(&a, VIRTIO_RESOURCE_A_FILE))
		probe_append(detail, sizeof(detail), " %lu bytes", a.u.file.size);
	file_op(r, VIRTIO_RESOURCE_T_FILE_CLOSE, handle, 0, &a, &txn);
	ok = res_is(&a, VIRTIO_RESOURCE_A_ACK) && a.hdr.txn == txn && ok;
	probe_append(detail, sizeof(detail), "; FILE_CLOSE: %s",
		     res_is(&a, VIRTIO_RESOURCE_A_ACK) ? "A_ACK" : res_answer_str(&a));
	return ok;
}

static bool file_refused(struct res *r, const char *path, uint32_t status)
{
	struct res_answer a;
	uint64_t txn;
	bool ok;

	file_open(r, path, &a, &txn);
	ok = is_error(&a, status) && a.hdr.txn == txn;
	probe_append(detail, sizeof(detail), "; FILE_OPEN \"%s\": %s%s", path,
		     res_is(&a, VIRTIO_RESOURCE_A_ERROR) ? res_status_name(a.hdr.status)
							 : res_answer_str(&a),
		     ok ? "" : " (WANT ERROR)");
	return ok;
}

void res_file(struct res *r)
{
	const char *name = r->opt->resource_file;
	bool ok = true;

	if (!(r->d->features & (1ULL << VIRTIO_RESOURCE_F_FILES))) {
		check("resource-file", false,
		      "the device does not offer F_FILES (accord shares no directory: --share)");
		return;
	}
	detail[0] = 0;
	if (name[0])
		ok = file_named(r, name);
	else
		probe_append(detail, sizeof(detail), "no resource-file=NAME");
	ok = file_refused(r, "../etc/passwd", VIRTIO_RESOURCE_S_FORBIDDEN) && ok;
	ok = file_refused(r, "no-such-file", VIRTIO_RESOURCE_S_NOENT) && ok;
	check("resource-file", ok, "%s", detail);
}

/* EV_MESSAGE: print it, and answer the host with "echo: <payload>". */
void res_on_message(struct res *r, const struct rc_message *m)
{
	static char text[256];
	uint32_t room = r->cfg.max_message - sizeof(struct virtio_resource_message);
	uint32_t n = m->payload_len, pre = sizeof(ECHO_PREFIX) - 1;
	struct res_answer a;
	uint64_t txn;

	printable(text, sizeof(text), m->payload, n, false);
	pr("resource message \"%s\"", text);
	if (room > sizeof(payload))
		room = sizeof(payload);
	if (n > room - pre)
		n = room - pre;
	memcpy(payload, ECHO_PREFIX, pre);
	memcpy(payload + pre, m->payload, n);
	if (!send_message(r, payload, pre + n, &a, &txn))
		pr("resource message echo (txn %lu) FAILED: %s", txn, res_answer_str(&a));
}

/*
 * bench=grant, at CPL 3: one granule of memory asked for (T_REQUEST, polled)
 * until the host's A_GRANT is back, timed; then released again (T_RELEASE,
 * A_ACK, not timed) so every iteration asks the same of the same state. The
 * granule stays reserved throughout, so the release is always allowed. The
 * request table is left alone (it would fill up), and the allocation events
 * the two cause are taken and dropped (untimed), as a driver keeps its event
 * queue stocked.
 */
static bool op_grant(void *ctx, uint64_t *cycles)
{
	struct res *r = ctx;
	struct rc_request q;
	struct rc_release rel = { 0 };
	struct res_answer a;
	uint8_t *buf = res_msg_buf();
	uint64_t t0;
	size_t len;

	res_request_init(r, &q, VIRTIO_RESOURCE_K_MEMORY, r->granule, r->granule, 0);
	len = rc_encode_request(buf, RES_MSG_MAX, &q);
	t0 = rdtsc();
	res_call_flags(r, VIRTIO_RESOURCE_Q_REQUEST, buf, len, &a, VQ_POLL | VQ_NO_QUIET);
	*cycles = rdtsc() - t0;
	if (!res_is(&a, VIRTIO_RESOURCE_A_GRANT) || a.hdr.txn != q.hdr.txn ||
	    a.u.grant.amount != q.amount)
		return false;
	rel.hdr.type = VIRTIO_RESOURCE_T_RELEASE;
	rel.hdr.txn = q.hdr.txn;
	rel.hdr.app_id = RES_APP_ID;
	rel.kind = VIRTIO_RESOURCE_K_MEMORY;
	rel.amount = q.amount;
	len = rc_encode_release(buf, RES_MSG_MAX, &rel);
	res_call_flags(r, VIRTIO_RESOURCE_Q_REQUEST, buf, len, &a, VQ_POLL | VQ_NO_QUIET);
	res_discard_events(r);
	return res_is(&a, VIRTIO_RESOURCE_A_ACK) && a.hdr.txn == rel.hdr.txn;
}

void res_bench_grant(struct res *r)
{
	if (!r->granule || res_mem_reserved(r) < r->granule) {
		check("bench-grant", false, "needs reserved memory (resource=balloon first)");
		return;
	}
	bench_run("grant", "request-to-grant", r->opt->bench_iters, op_grant, r);
}
