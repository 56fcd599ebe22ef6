// SPDX-License-Identifier: MIT
/*
 * The modern virtio-pci transport (virtio 1.x, section 4.1): find the
 * devices on bus 0 (vendor 0x1af4, device 0x1040 + type), walk their
 * capabilities for the common, notify, ISR and device structures and for
 * MSI-X, assign any BAR the firmware left at 0 (from 0xe0000000 up, or
 * pci-mmio=ADDR), map the
 * structures, then reset, negotiate features, set up queues with one MSI-X
 * vector each and set DRIVER_OK.
 *
 * With virtio-irq=intx MSI-X stays disabled and every vector register holds
 * VIRTIO_MSI_NO_VECTOR: the function raises INTA#, which the MP table's I/O
 * interrupt entry for its slot routes to an IOAPIC pin. The probe programs
 * that pin's redirection entry (polarity and trigger from the entry's flags)
 * and its interrupt handler reads the ISR, which deasserts the line. As on
 * any (possibly shared) level-triggered line, an interrupt whose ISR read
 * returns 0 is not the device's: it is counted as spurious and ignored.
 */
#include "virtio.h"

#define VIRTIO_VENDOR	   0x1af4
#define VIRTIO_PCI_MODERN  0x1040
#define VIRTIO_NO_VECTOR   0xffff
#define MSI_ADDR	   0xfee00000U
#define MSIX_ENTRY_SIZE	   16
#define MSIX_CTRL_ENABLE   0x8000
#define MSIX_CTRL_MASK_ALL 0x4000
#define MP_ALL_IOAPICS	   0xff
/* INTx: more spurious (ISR 0) interrupts than this per queue interrupt is a storm. */
#define INTX_SPURIOUS_MAX 4

/* PCI configuration space. */
#define PCI_COMMAND	   0x04
#define PCI_BAR0	   0x10
#define PCI_CAP_PTR	   0x34
#define PCI_INTR	   0x3c /* interrupt line (byte 0x3c) and pin (0x3d) */
#define PCI_STATUS_CAPS	   0x10 /* in the upper half of dword 0x04 */
#define PCI_CMD_MEM	   0x0002
#define PCI_CMD_MASTER	   0x0004
#define PCI_CMD_INTX_OFF   0x0400
#define PCI_CAP_ID_VNDR	   0x09
#define PCI_CAP_ID_MSIX	   0x11
#define PCI_BAR_IO	   0x1
#define PCI_BAR_64	   0x4
#define PCI_BAR_TYPE_MASK  0x6
#define PCI_BAR_FLAGS_MASK 0xfU

/* virtio_pci_cap.cfg_type */
#define CAP_COMMON  1
#define CAP_NOTIFY  2
#define CAP_ISR	    3
#define CAP_DEVICE  4
#define CAP_PCI_CFG 5
#define NR_CAPS	    6

/* struct virtio_pci_common_cfg */
#define CC_DFSELECT	0x00
#define CC_DF		0x04
#define CC_GFSELECT	0x08
#define CC_GF		0x0c
#define CC_MSIX_CONFIG	0x10
#define CC_NUM_QUEUES	0x12
#define CC_STATUS	0x14
#define CC_GENERATION	0x15
#define CC_Q_SELECT	0x16
#define CC_Q_SIZE	0x18
#define CC_Q_MSIX	0x1a
#define CC_Q_ENABLE	0x1c
#define CC_Q_NOTIFY_OFF 0x1e
#define CC_Q_DESC	0x20
#define CC_Q_DRIVER	0x28
#define CC_Q_DEVICE	0x30
#define CC_LEN		0x38

#define RESET_POLLS 100000

struct cap {
	bool found;
	uint8_t bar;
	uint32_t off, len;
};

static uint64_t next_bar; /* 0: pci_bar_base() */
static unsigned int next_vector = IRQ_VECTOR_BASE;

const char *virtio_check_name(const struct virtio_dev *d, const char *what)
{
	static char name[32];

	probe_snprintf(name, sizeof(name), "virtio-%s-%s", d->name, what);
	return name;
}

static uint32_t cfg(const struct virtio_dev *d, unsigned int off)
{
	return pci_cfg_read(d->dev, d->fn, off);
}

/* Zero the memory BARs (memory decoding off) so that bar_addr assigns them. */
static void clear_bars(const struct virtio_dev *d)
{
	uint16_t cmd = cfg(d, PCI_COMMAND);

	pci_cfg_write16(d->dev, d->fn, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
	for (unsigned int i = 0; i < 6; i++) {
		uint32_t lo = cfg(d, PCI_BAR0 + 4 * i);

		if (lo & PCI_BAR_IO)
			continue;
		pci_cfg_write(d->dev, d->fn, PCI_BAR0 + 4 * i, 0);
		if ((lo & PCI_BAR_TYPE_MASK) == PCI_BAR_64 && i < 5)
			pci_cfg_write(d->dev, d->fn, PCI_BAR0 + 4 * ++i, 0);
	}
}

/*
 * The address of memory BAR bir. One that reads 0 is sized (all ones
 * written, memory decoding off) and assigned the next size-aligned address
 * from pci_bar_base(). *assigned counts the BARs the probe placed.
 */
static bool bar_addr(struct virtio_dev *d, unsigned int bir, uint64_t *out, unsigned int *assigned)
{
	unsigned int off = PCI_BAR0 + 4 * bir;
	uint32_t lo, hi = 0;
	bool is64;
	uint64_t addr, mask, size;
	uint16_t cmd;

	if (bir > 5)
		return false;
	if (d->bar[bir]) {
		*out = d->bar[bir];
		return true;
	}
	lo = cfg(d, off);
	is64 = (lo & PCI_BAR_TYPE_MASK) == PCI_BAR_64;
	if ((lo & PCI_BAR_IO) || (is64 && bir == 5))
		return false;
	if (is64)
		hi = cfg(d, off + 4);
	addr = ((uint64_t)hi << 32) | (lo & ~PCI_BAR_FLAGS_MASK);
	if (!addr) {
		cmd = cfg(d, PCI_COMMAND);
		pci_cfg_write16(d->dev, d->fn, PCI_COMMAND, cmd & ~PCI_CMD_MEM);
		pci_cfg_write(d->dev, d->fn, off, 0xffffffff);
		mask = 0xffffffff00000000UL | (cfg(d, off) & ~PCI_BAR_FLAGS_MASK);
		if (is64) {
			pci_cfg_write(d->dev, d->fn, off + 4, 0xffffffff);
			mask = ((uint64_t)cfg(d, off + 4) << 32) | (uint32_t)mask;
		}
		size = ~mask + 1;
		if (!(uint32_t)mask || (size & (size - 1)))
			return false; /* the BAR is absent, or its size no power of two */
		if (!next_bar)
			next_bar = pci_bar_base();
		addr = (next_bar + size - 1) & ~(size - 1);
		if (!is64 && addr + size > 0x100000000UL)
			return false;
		next_bar = addr + size;
		pci_cfg_write(d->dev, d->fn, off, (uint32_t)addr);
		if (is64)
			pci_cfg_write(d->dev, d->fn, off + 4, addr >> 32);
		pci_cfg_write16(d->dev, d->fn, PCI_COMMAND, cmd);
		(*assigned)++;
	}
	d->bar[bir] = addr;
	*out = addr;
	return true;
}

/* Map cap c and return its address in *out (0 if absent). */
static bool map_cap(struct virtio_dev *d, const struct cap *c, uint64_t *out,
		    unsigned int *assigned)
{
	uint64_t base;

	*out = 0;
	if (!c->found)
		return true;
	if (!bar_addr(d, c->bar, &base, assigned) || !paging_map(base + c->off, c->len, true))
		return false;
	*out = base + c->off;
	return true;
}

static unsigned int walk_caps(struct virtio_dev *d, struct cap *caps, uint32_t *msix_tbl)
{
	unsigned int ptr, n = 0;

	if (!(cfg(d, PCI_COMMAND) >> 16 & PCI_STATUS_CAPS))
		return 0;
	ptr = cfg(d, PCI_CAP_PTR) & 0xfc;
	for (unsigned int i = 0; ptr >= 0x40 && i < 48; i++, n++) {
		uint32_t h = cfg(d, ptr);
		unsigned int id = h & 0xff, len = h >> 16 & 0xff, type = h >> 24;

		if (id == PCI_CAP_ID_VNDR && type && type < NR_CAPS && !caps[type].found &&
		    len >= 16) {
			struct cap *c = &caps[type];

			c->bar = cfg(d, ptr + 4) & 0xff;
			c->off = cfg(d, ptr + 8);
			c->len = cfg(d, ptr + 12);
			/* The first of each type the driver can use wins. */
			c->found = c->bar <= 5 && (type != CAP_NOTIFY || len >= 20);
			if (type == CAP_NOTIFY && c->found)
				d->notify_mult = cfg(d, ptr + 16);
		} else if (id == PCI_CAP_ID_MSIX && !d->msix_cap) {
			d->msix_cap = ptr;
			d->msix_size = (h >> 16 & 0x7ff) + 1;
			*msix_tbl = cfg(d, ptr + 4);
		}
		ptr = h >> 8 & 0xfc;
	}
	return n;
}

/* "barN+0xOFF", or "-" for a structure the device does not have. */
static const char *cap_str(char *buf, size_t size, const struct cap *c)
{
	if (!c->found)
		return "-";
	probe_snprintf(buf, size, "bar%u+0x%x", c->bar, c->off);
	return buf;
}

/* Capabilities, BARs, mappings, command register. Reports virtio-NAME-pci. */
static bool setup_pci(struct virtio_dev *d, bool reassign)
{
	struct cap caps[NR_CAPS] = { 0 };
	char s[4][24];
	uint32_t msix_tbl = 0;
	unsigned int assigned = 0, ncaps;
	uint64_t tbl_base = 0;
	uint16_t cmd;
	bool ok;

	if (reassign)
		clear_bars(d);
	ncaps = walk_caps(d, caps, &msix_tbl);
	/* MSI-X is optional only for a driver that uses INTx. */
	ok = caps[CAP_COMMON].found && caps[CAP_NOTIFY].found && caps[CAP_ISR].found &&
	     caps[CAP_COMMON].len >= CC_LEN && (d->msix_cap || d->intx);
	if (d->type != VIRTIO_ID_RNG)
		ok = ok && caps[CAP_DEVICE].found;
	ok = ok && map_cap(d, &caps[CAP_COMMON], &d->common, &assigned) &&
	     map_cap(d, &caps[CAP_NOTIFY], &d->notify, &assigned) &&
	     map_cap(d, &caps[CAP_ISR], &d->isr, &assigned) &&
	     map_cap(d, &caps[CAP_DEVICE], &d->device, &assigned) &&
	     (!d->msix_cap ||
	      (bar_addr(d, msix_tbl & 7, &tbl_base, &assigned) &&
	       paging_map(tbl_base + (msix_tbl & ~7U), d->msix_size * MSIX_ENTRY_SIZE, true)));
	d->msix_table = tbl_base + (msix_tbl & ~7U);
	d->notify_len = caps[CAP_NOTIFY].len;
	d->device_len = caps[CAP_DEVICE].len;
	if (ok) {
		cmd = cfg(d, PCI_COMMAND) | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_OFF;
		if (d->intx)
			cmd &= ~PCI_CMD_INTX_OFF;
		pci_cfg_write16(d->dev, d->fn, PCI_COMMAND, cmd);
	}
	for (unsigned int i = 0; i < 6; i++) {
		if (d->bar[i])
			pr("virtio %s bar%u 0x%lx", d->name, i, d->bar[i]);
	}
	check(virtio_check_name(d, "pci"), ok,
	      "00:%02x.%u, %u caps: common %s, notify %s x%u, isr %s, device %s, pci-cfg %s, "
	      "msix %u entries bar%u+0x%x, %u bars assigned%s",
	      d->dev, d->fn, ncaps, cap_str(s[0], sizeof(s[0]), &caps[CAP_COMMON]),
	      cap_str(s[1], sizeof(s[1]), &caps[CAP_NOTIFY]), d->notify_mult,
	      cap_str(s[2], sizeof(s[2]), &caps[CAP_ISR]),
	      cap_str(s[3], sizeof(s[3]), &caps[CAP_DEVICE]),
	      caps[CAP_PCI_CFG].found ? "yes" : "no", d->msix_cap ? d->msix_size : 0, msix_tbl & 7,
	      msix_tbl & ~7U, assigned, d->intx ? ", intx enabled" : "");
	return ok;
}

/*
 * MSI-X table entries 0..n-1 get the next IDT vectors, delivered to this
 * CPU's LAPIC (physical destination mode, fixed delivery, edge).
 */
static bool setup_msix(struct virtio_dev *d, unsigned int n, unsigned int *vectors)
{
	uint16_t ctrl;
	uint32_t dest;

	if (!irq_init() || next_vector + n > IRQ_VECTOR_TIMER)
		return false;
	dest = lapic_id();
	for (unsigned int i = 0; i < n; i++) {
		uint64_t e = d->msix_table + i * MSIX_ENTRY_SIZE;

		vectors[i] = next_vector++;
		mmio_write32(e + 0, MSI_ADDR | dest << 12);
		mmio_write32(e + 4, 0);
		mmio_write32(e + 8, vectors[i]);
		mmio_write32(e + 12, 0); /* unmasked */
	}
	ctrl = cfg(d, d->msix_cap) >> 16;
	pci_cfg_write16(d->dev, d->fn, d->msix_cap + 2,
			(ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASK_ALL);
	return true;
}

static const char *polarity_name(uint16_t flags)
{
	static const char *const names[] = { "low (PCI default)", "high", "reserved", "low" };

	return names[MP_POLARITY(flags)];
}

static const char *trigger_name(uint16_t flags)
{
	static const char *const names[] = { "level (PCI default)", "edge", "reserved", "level" };

	return names[MP_TRIGGER(flags)];
}

/*
 * INTx: clear the MSI-X enable bit, find the IOAPIC pin of the function's
 * interrupt pin in the MP table and program its redirection entry: fixed
 * delivery to this CPU (physical), a new IDT vector, polarity and trigger
 * mode from the entry's flags (PCI's defaults: active low, level), unmasked.
 * On failure it reports virtio-NAME-intx.
 */
static bool intx_start(struct virtio_dev *d)
{
	const struct mp_irq *e = NULL;
	unsigned int pin, nr_pins = 0;
	uint16_t ctrl, flags;
	char why[96] = "";

	if (d->msix_cap) {
		ctrl = cfg(d, d->msix_cap) >> 16;
		if (ctrl & MSIX_CTRL_ENABLE)
			pci_cfg_write16(d->dev, d->fn, d->msix_cap + 2, ctrl & ~MSIX_CTRL_ENABLE);
	}
	d->intx_reg = cfg(d, PCI_INTR);
	pin = d->intx_reg >> 8 & 0xff;
	if (pin < 1 || pin > 4)
		probe_snprintf(why, sizeof(why), "interrupt pin register reads %u", pin);
	else if (!d->mp->found)
		probe_snprintf(why, sizeof(why), "no MP table to route INT%c#", 'A' + pin - 1);
	else if (!(e = mptable_pci_irq(d->mp, d->dev, pin)))
		probe_snprintf(why, sizeof(why),
			       "no MP I/O interrupt entry for PCI bus id %d irq 0x%x (INT%c#)%s",
			       d->mp->pci_bus, d->dev << 2 | (pin - 1), 'A' + pin - 1,
			       d->mp->irqs_truncated ? ", entries truncated" : "");
	else if (e->dst_apic != d->mp->ioapic_id && e->dst_apic != MP_ALL_IOAPICS)
		probe_snprintf(why, sizeof(why), "MP entry routes to I/O APIC %u, not %u",
			       e->dst_apic, d->mp->ioapic_id);
	else if (MP_POLARITY(e->flags) == MP_FLAGS_RESERVED ||
		 MP_TRIGGER(e->flags) == MP_FLAGS_RESERVED)
		probe_snprintf(why, sizeof(why), "MP entry flags 0x%x are reserved values",
			       e->flags);
	else if (!irq_init() || !ioapic_init(d->mp->ioapic_addr, &nr_pins))
		probe_snprintf(why, sizeof(why), "cannot map the I/O APIC at 0x%x",
			       d->mp->ioapic_addr);
	else if (e->dst_irq >= nr_pins)
		probe_snprintf(why, sizeof(why), "MP entry names pin %u, the I/O APIC has %u",
			       e->dst_irq, nr_pins);
	else if (next_vector >= IRQ_VECTOR_TIMER)
		probe_snprintf(why, sizeof(why), "no free IDT vector");
	if (why[0]) {
		check(virtio_check_name(d, "intx"), false, "%s", why);
		return false;
	}
	flags = e->flags;
	d->intx_mp = e;
	d->intx_pin = e->dst_irq;
	d->intx_vector = next_vector++;
	d->intx_entry = d->intx_vector | (uint64_t)lapic_id() << 56;
	if (MP_POLARITY(flags) != MP_POLARITY_HIGH)
		d->intx_entry |= IOAPIC_POLARITY_LOW;
	if (MP_TRIGGER(flags) != MP_TRIGGER_EDGE)
		d->intx_entry |= IOAPIC_LEVEL;
	irq_intx_attach(d->intx_vector, d->isr);
	ioapic_set_entry(d->intx_pin, d->intx_entry);
	d->intx_readback = ioapic_entry(d->intx_pin);
	d->intx_on = true;
	return true;
}

/*
 * Mask the pin again and report virtio-NAME-intx: the route, and that queue
 * interrupts came in with ISR bit 0 set. Interrupts whose ISR read 0 are not
 * ours (another source on a shared line, or a stale repeat: nested KVM
 * delivers each level interrupt once more after the EOI); they are counted
 * and tolerated up to INTX_SPURIOUS_MAX per queue interrupt.
 */
static void intx_finish(struct virtio_dev *d)
{
	/* The entry as written, without the read-only status bits. */
	const uint64_t ro = 0x1000 | IOAPIC_REMOTE_IRR;
	const struct mp_irq *e = d->intx_mp;
	unsigned int line = d->intx_reg & 0xff, dest = d->intx_entry >> 56;
	uint64_t last, masked;
	struct intx_counts c;
	uint16_t ctrl = d->msix_cap ? cfg(d, d->msix_cap) >> 16 : 0;
	char note[48] = "";
	bool storm, ok;

	/*
	 * Let a repeat the LAPIC still holds (after an interrupt-driven last
	 * request) arrive and be counted before remote IRR is read, and once
	 * more after masking, as free_irq's synchronize_irq would.
	 */
	irq_drain();
	last = ioapic_entry(d->intx_pin);
	ioapic_set_entry(d->intx_pin, d->intx_entry | IOAPIC_MASKED);
	masked = ioapic_entry(d->intx_pin);
	irq_drain();
	irq_intx_detach(&c);
	d->intx_on = false;
	storm = c.none > INTX_SPURIOUS_MAX * c.queue;
	if (!c.queue)
		probe_snprintf(note, sizeof(note), "; NO QUEUE INTERRUPT");
	else if (storm)
		probe_snprintf(note, sizeof(note), "; STORM: over %u per queue interrupt",
			       INTX_SPURIOUS_MAX);
	ok = line == d->intx_pin && (d->intx_readback & ~ro) == d->intx_entry && c.queue &&
	     !storm && !(last & IOAPIC_REMOTE_IRR) && (masked & IOAPIC_MASKED) &&
	     !(ctrl & MSIX_CTRL_ENABLE);
	check(virtio_check_name(d, "intx"), ok,
	      "INT%c# of 00:%02x.%u: MP bus %u irq 0x%x flags 0x%x -> I/O APIC %u pin %u "
	      "(interrupt line %u %s): active %s, %s, vector 0x%x, dest apic %u, entry 0x%lx "
	      "reads 0x%lx; %u interrupts: %u queue, %u config, %u spurious (ISR 0, ignored%s); "
	      "LAPIC: %u not in service on entry, %u pending after the EOI; at the end remote "
	      "IRR %u, %s, msix %s",
	      'A' + (int)(d->intx_reg >> 8 & 0xff) - 1, d->dev, d->fn, e->src_bus, e->src_irq,
	      e->flags, e->dst_apic, d->intx_pin, line, line == d->intx_pin ? "agrees" : "DIFFERS",
	      polarity_name(e->flags), trigger_name(e->flags), d->intx_vector, dest, d->intx_entry,
	      d->intx_readback, c.total, c.queue, c.config, c.none, note, c.not_in_service,
	      c.pending_after_eoi, !!(last & IOAPIC_REMOTE_IRR),
	      masked & IOAPIC_MASKED ? "masked again" : "NOT MASKED",
	      ctrl & MSIX_CTRL_ENABLE ? "ENABLED" : "off");
}

static uint8_t status_read(const struct virtio_dev *d)
{
	return mmio_read8(d->common + CC_STATUS);
}

static void status_set(struct virtio_dev *d, uint8_t bits)
{
	d->status |= bits;
	mmio_write8(d->common + CC_STATUS, d->status);
}

static bool reset(struct virtio_dev *d)
{
	mmio_write8(d->common + CC_STATUS, 0);
	d->status = 0;
	for (unsigned int i = 0; i < RESET_POLLS; i++) {
		if (!status_read(d))
			return true;
		cpu_relax();
	}
	return false;
}

static void write64(uint64_t addr, uint64_t v)
{
	mmio_write32(addr, (uint32_t)v);
	mmio_write32(addr + 4, v >> 32);
}

/* Negotiate: the transport bits the probe handles plus the device's wanted. */
static bool negotiate(struct virtio_dev *d, uint64_t wanted)
{
	uint8_t st;
	bool ok;

	status_set(d, VIRTIO_S_ACKNOWLEDGE);
	status_set(d, VIRTIO_S_DRIVER);
	mmio_write32(d->common + CC_DFSELECT, 0);
	d->offered = mmio_read32(d->common + CC_DF);
	mmio_write32(d->common + CC_DFSELECT, 1);
	d->offered |= (uint64_t)mmio_read32(d->common + CC_DF) << 32;
	d->features = d->offered &
		      (wanted | VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC);
	if (!(d->offered & VIRTIO_F_VERSION_1)) {
		status_set(d, VIRTIO_S_FAILED);
		check(virtio_check_name(d, "features"), false,
		      "device offers 0x%lx without VERSION_1", d->offered);
		return false;
	}
	mmio_write32(d->common + CC_GFSELECT, 0);
	mmio_write32(d->common + CC_GF, (uint32_t)d->features);
	mmio_write32(d->common + CC_GFSELECT, 1);
	mmio_write32(d->common + CC_GF, d->features >> 32);
	status_set(d, VIRTIO_S_FEATURES_OK);
	st = status_read(d);
	ok = st & VIRTIO_S_FEATURES_OK;
	check(virtio_check_name(d, "features"), ok,
	      "device 0x%lx, driver 0x%lx (event-idx %s, indirect %s), status 0x%x %s", d->offered,
	      d->features, d->features & VIRTIO_F_EVENT_IDX ? "on" : "off",
	      d->features & VIRTIO_F_INDIRECT_DESC ? "on" : "off", st,
	      ok ? "keeps FEATURES_OK" : "dropped FEATURES_OK");
	if (!ok)
		status_set(d, VIRTIO_S_FAILED);
	return ok;
}

static bool setup_queue(struct virtio_dev *d, struct virtqueue *vq, uint16_t q, uint16_t entry,
			unsigned int vector, char *why, size_t why_len)
{
	uint16_t max, size, noff, msix;

	mmio_write16(d->common + CC_Q_SELECT, q);
	max = mmio_read16(d->common + CC_Q_SIZE);
	size = max < VQ_SIZE_MAX ? max : VQ_SIZE_MAX;
	if (!vq_init(vq, q, size, d->features)) {
		probe_snprintf(why, why_len, "queue %u: max size %u", q, max);
		return false;
	}
	mmio_write16(d->common + CC_Q_SIZE, size);
	write64(d->common + CC_Q_DESC, vq_addr_desc(vq));
	write64(d->common + CC_Q_DRIVER, vq_addr_avail(vq));
	write64(d->common + CC_Q_DEVICE, vq_addr_used(vq));
	mmio_write16(d->common + CC_Q_MSIX, entry);
	msix = mmio_read16(d->common + CC_Q_MSIX);
	noff = mmio_read16(d->common + CC_Q_NOTIFY_OFF);
	if (msix != entry) {
		probe_snprintf(why, why_len, "queue %u: msix vector reads 0x%x, wrote 0x%x", q,
			       msix, entry);
		return false;
	}
	if ((uint64_t)noff * d->notify_mult + 2 > d->notify_len) {
		probe_snprintf(why, why_len, "queue %u: notify off %u x%u past the cap (%u bytes)",
			       q, noff, d->notify_mult, d->notify_len);
		return false;
	}
	vq->notify = d->notify + (uint64_t)noff * d->notify_mult;
	vq->vector = vector;
	vq->intx = d->intx;
	mmio_write16(d->common + CC_Q_ENABLE, 1);
	if (entry == VIRTIO_NO_VECTOR)
		probe_snprintf(why, why_len,
			       "queue %u size %u (max %u) no msix, intx vector 0x%x notify +0x%lx",
			       q, size, max, vector, vq->notify - d->notify);
	else
		probe_snprintf(why, why_len,
			       "queue %u size %u (max %u) msix %u vector 0x%x notify +0x%lx", q,
			       size, max, entry, vector, vq->notify - d->notify);
	return true;
}

#define MAX_QUEUES VIRTIO_RESOURCE_NR_QUEUES /* the most any device here has */

/*
 * Interrupt sources for the configuration (*cfg_entry) and for each queue
 * (entries[q], written to the device, and vq_vec[q], the IDT vector).
 * MSI-X: entry 0 for configuration changes and one per queue; with too few
 * entries the queues get them and the configuration none. INTx: every
 * register says VIRTIO_MSI_NO_VECTOR, and one vector serves them all.
 */
static bool assign_vectors(struct virtio_dev *d, unsigned int nvq, uint16_t *cfg_entry,
			   uint16_t *entries, unsigned int *vq_vec, char *why, size_t why_len)
{
	unsigned int vectors[MAX_QUEUES + 1] = { 0 }, nvec, first;
	bool ok;

	if (d->intx) {
		ok = intx_start(d);
		for (unsigned int q = 0; q < nvq; q++) {
			entries[q] = VIRTIO_NO_VECTOR;
			vq_vec[q] = d->intx_vector;
		}
		*cfg_entry = VIRTIO_NO_VECTOR;
		d->config_vector = d->intx_vector;
		if (!ok)
			probe_snprintf(why, why_len, "no INTx route");
		return ok;
	}
	nvec = d->msix_size > nvq ? nvq + 1 : nvq;
	first = nvec > nvq ? 1 : 0;
	ok = d->msix_size >= nvq && setup_msix(d, nvec, vectors);
	for (unsigned int q = 0; q < nvq; q++) {
		entries[q] = first + q;
		vq_vec[q] = vectors[first + q];
	}
	*cfg_entry = first ? 0 : VIRTIO_NO_VECTOR;
	d->config_vector = first ? vectors[0] : 0;
	if (!ok)
		probe_snprintf(why, why_len, "cannot set up %u msi-x vectors (%u entries)", nvec,
			       d->msix_size);
	return ok;
}

/*
 * Device initialisation (virtio 1.x, 3.1.1) with nvq queues. Reports
 * virtio-NAME-reset, -features and -queues (interrupt sources and
 * DRIVER_OK); with INTx, virtio-NAME-intx if there is no route.
 */
bool virtio_start(struct virtio_dev *d, uint64_t wanted, struct virtqueue *vqs, unsigned int nvq)
{
	unsigned int vq_vec[MAX_QUEUES] = { 0 };
	uint16_t num_queues, cfg_entry = VIRTIO_NO_VECTOR, cfgv, entries[MAX_QUEUES] = { 0 };
	char why[96] = "";
	uint8_t st;
	bool ok;

	ok = reset(d);
	check(virtio_check_name(d, "reset"), ok, "status 0x%x after writing 0", status_read(d));
	if (!ok || !negotiate(d, wanted))
		return false;

	if (nvq > MAX_QUEUES) {
		probe_snprintf(why, sizeof(why), "%u queues, the probe drives %u", nvq, MAX_QUEUES);
		ok = false;
	} else {
		ok = assign_vectors(d, nvq, &cfg_entry, entries, vq_vec, why, sizeof(why));
	}
	mmio_write16(d->common + CC_MSIX_CONFIG, cfg_entry);
	cfgv = mmio_read16(d->common + CC_MSIX_CONFIG);
	num_queues = mmio_read16(d->common + CC_NUM_QUEUES);
	if (ok && cfgv != cfg_entry) {
		probe_snprintf(why, sizeof(why), "config msix vector reads 0x%x, wrote 0x%x", cfgv,
			       cfg_entry);
		ok = false;
	} else if (ok && num_queues < nvq) {
		probe_snprintf(why, sizeof(why), "%u queues, need %u", num_queues, nvq);
		ok = false;
	}
	for (unsigned int q = 0; ok && q < nvq; q++)
		ok = setup_queue(d, &vqs[q], q, entries[q], vq_vec[q], why, sizeof(why));
	if (ok)
		status_set(d, VIRTIO_S_DRIVER_OK);
	st = status_read(d);
	ok = ok && st == d->status;
	check(virtio_check_name(d, "queues"), ok,
	      "%s; config vector 0x%x%s, %u of %u queues set up, status 0x%x", why,
	      d->config_vector, d->intx ? " (intx)" : "", nvq, num_queues, st);
	if (!ok) {
		status_set(d, VIRTIO_S_FAILED);
		if (d->intx_on)
			intx_finish(d);
	}
	return ok;
}

/* Reset the device: it stops using our memory. With INTx, mask the pin first. */
void virtio_stop(struct virtio_dev *d)
{
	if (d->intx_on)
		intx_finish(d);
	if (!reset(d))
		pr("virtio %s did not reset (status 0x%x)", d->name, status_read(d));
}

uint8_t virtio_cfg_generation(const struct virtio_dev *d)
{
	return mmio_read8(d->common + CC_GENERATION);
}

uint32_t virtio_cfg_read32(const struct virtio_dev *d, unsigned int off)
{
	if (!d->device || off + 4 > d->device_len)
		return 0;
	return mmio_read32(d->device + off);
}

uint8_t virtio_status(const struct virtio_dev *d)
{
	return status_read(d);
}

/* The first function on bus 0 with device id 0x1040 + type. */
static bool find_fn(unsigned int type, unsigned int *devp, unsigned int *fnp)
{
	for (unsigned int dev = 0; dev < 32; dev++) {
		unsigned int nfn = 1;

		for (unsigned int fn = 0; fn < nfn; fn++) {
			uint32_t id = pci_cfg_read(dev, fn, 0);

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			if (fn == 0 && (pci_cfg_read(dev, 0, 0x0c) >> 16 & 0x80))
				nfn = 8;
			if ((id & 0xffff) == VIRTIO_VENDOR &&
			    id >> 16 == VIRTIO_PCI_MODERN + type) {
				*devp = dev;
				*fnp = fn;
				return true;
			}
		}
	}
	return false;
}

/*
 * Read n dwords of the device configuration of the first device of this
 * type, between two equal config_generation values, without driving it
 * (no reset, no status change): memory decoding is turned on if needed and
 * a BAR left at 0 is assigned. False if there is no such device or its
 * structures cannot be reached.
 */
bool virtio_peek_config(unsigned int type, unsigned int off, uint32_t *v, unsigned int n)
{
	struct virtio_dev d = { .name = "peek", .type = type };
	struct cap caps[NR_CAPS] = { 0 };
	uint32_t msix_tbl = 0;
	unsigned int assigned = 0;
	uint16_t cmd;

	if (!find_fn(type, &d.dev, &d.fn))
		return false;
	walk_caps(&d, caps, &msix_tbl);
	if (!caps[CAP_COMMON].found || !caps[CAP_DEVICE].found ||
	    !map_cap(&d, &caps[CAP_COMMON], &d.common, &assigned) ||
	    !map_cap(&d, &caps[CAP_DEVICE], &d.device, &assigned))
		return false;
	d.device_len = caps[CAP_DEVICE].len;
	cmd = cfg(&d, PCI_COMMAND);
	if (!(cmd & PCI_CMD_MEM))
		pci_cfg_write16(d.dev, d.fn, PCI_COMMAND, cmd | PCI_CMD_MEM);
	for (unsigned int tries = 0; tries < 8; tries++) {
		uint8_t gen = virtio_cfg_generation(&d);

		for (unsigned int i = 0; i < n; i++)
			v[i] = virtio_cfg_read32(&d, off + 4 * i);
		if (virtio_cfg_generation(&d) == gen)
			return true;
	}
	return false;
}

static const struct {
	unsigned int type, expect;
	const char *name;
} kinds[] = {
	{ VIRTIO_ID_RNG, VIRTIO_EXPECT_RNG, "rng" },
	{ VIRTIO_ID_BLK, VIRTIO_EXPECT_BLK, "blk" },
	/* Driven only with resource=LIST (expected then); last: it may stay active. */
	{ VIRTIO_ID_RESOURCE, 0, "resource" },
};
#define NR_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/*
 * The first function on bus 0 with each supported device type; returns how
 * many the probe will drive (the resource device only with resource=LIST).
 */
static unsigned int scan(struct virtio_dev *devs, const struct options *opt)
{
	unsigned int n = 0;

	for (unsigned int dev = 0; dev < 32; dev++) {
		unsigned int nfn = 1;

		for (unsigned int fn = 0; fn < nfn; fn++) {
			uint32_t id = pci_cfg_read(dev, fn, 0);

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			if (fn == 0 && (pci_cfg_read(dev, 0, 0x0c) >> 16 & 0x80))
				nfn = 8;
			if ((id & 0xffff) != VIRTIO_VENDOR)
				continue;
			for (unsigned int k = 0; k < NR_KINDS; k++) {
				if (id >> 16 != VIRTIO_PCI_MODERN + kinds[k].type)
					continue;
				if (devs[k].name) {
					pr("virtio %s at 00:%02x.%u ignored (one per type)",
					   kinds[k].name, dev, fn);
					continue;
				}
				devs[k].name = kinds[k].name;
				devs[k].type = kinds[k].type;
				devs[k].dev = dev;
				devs[k].fn = fn;
				if (kinds[k].type != VIRTIO_ID_RESOURCE || opt->nr_resource)
					n++;
			}
		}
	}
	return n;
}

void virtio_run(const struct bootinfo *bi, const struct options *opt, const struct mpinfo *mp)
{
	static struct virtio_dev devs[NR_KINDS];

	if (!opt->virtio)
		return;
	if (!scan(devs, opt) && !opt->expect_virtio && !opt->nr_resource)
		pr("virtio none found");
	for (unsigned int k = 0; k < NR_KINDS; k++) {
		struct virtio_dev *d = &devs[k];
		bool resource = kinds[k].type == VIRTIO_ID_RESOURCE;

		if (resource && !opt->nr_resource)
			continue; /* listed by the PCI scan, not driven */
		if (!d->name) {
			struct virtio_dev absent = { .name = kinds[k].name };

			if ((opt->expect_virtio & kinds[k].expect) || resource)
				check(virtio_check_name(&absent, "pci"), false,
				      "no %04x:%04x on bus 0 (%s)", VIRTIO_VENDOR,
				      VIRTIO_PCI_MODERN + kinds[k].type,
				      resource ? "resource=" : "expect-virtio");
			continue;
		}
		pr("virtio %s 00:%02x.%u %04x:%04x", d->name, d->dev, d->fn, VIRTIO_VENDOR,
		   VIRTIO_PCI_MODERN + d->type);
		d->intx = opt->virtio_intx;
		d->mp = mp;
		if (!setup_pci(d, opt->virtio_reassign))
			continue;
		if (d->type == VIRTIO_ID_RNG)
			virtio_rng_run(d, opt);
		else if (d->type == VIRTIO_ID_BLK)
			virtio_blk_run(d, opt);
		else
			virtio_resource_run(d, bi, opt, mp);
	}
}
