// SPDX-License-Identifier: MIT
/*
 * Intel MultiProcessor Specification 1.4 tables: find the floating pointer,
 * verify checksums, and collect processors, I/O APICs, the PCI bus and the
 * I/O interrupt assignments (for virtio-irq=intx).
 */
#include "probe.h"

#define MPF_SIGNATURE  0x5f504d5f /* "_MP_" */
#define MPC_SIGNATURE  0x504d4350 /* "PCMP" */
#define BDA_EBDA_SEG   0x40e
#define BDA_BASE_KB    0x413
#define BIOS_ROM_START 0xf0000UL
#define BIOS_ROM_SIZE  0x10000UL

#define MP_PROCESSOR 0
#define MP_BUS	     1
#define MP_IOAPIC    2
#define MP_IOINTR    3
#define MP_LINTR     4

#define CPU_ENABLED 0x01
#define CPU_BSP	    0x02

struct mpf {
	uint32_t signature;
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_header {
	uint32_t signature;
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_ptr;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t id;
	char bus_type[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t ver;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irq_type;
	uint16_t flags;
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_irq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16, "mpf layout");
_Static_assert(sizeof(struct mpc_header) == 44, "mpc header layout");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc processor entry layout");
_Static_assert(sizeof(struct mpc_bus) == 8, "mpc bus entry layout");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "mpc interrupt entry layout");

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* The first floating pointer signature in [base, base + len), or 0. */
static uint64_t scan(uint64_t base, uint64_t len)
{
	for (uint64_t a = base; a + 16 <= base + len; a += 16) {
		if (*(volatile uint32_t *)phys(a) == MPF_SIGNATURE)
			return a;
	}
	return 0;
}

static uint64_t find_mpf(const char **where)
{
	uint16_t ebda_seg = *(volatile uint16_t *)phys(BDA_EBDA_SEG);
	uint64_t base_kb = *(volatile uint16_t *)phys(BDA_BASE_KB);
	uint64_t ebda = (uint64_t)ebda_seg << 4;
	uint64_t base_top = base_kb >= 1 && base_kb <= 640 ? base_kb << 10 : 0xa0000;
	uint64_t a = 0;

	if (ebda >= 0x400 && ebda < 0xa0000 && (a = scan(ebda, 1024)))
		*where = "ebda";
	else if ((a = scan(base_top - 1024, 1024)))
		*where = "top of base memory";
	else if ((a = scan(BIOS_ROM_START, BIOS_ROM_SIZE)))
		*where = "bios rom";
	return a;
}

/*
 * Parse the configuration table at addr into mp. Returns false if it is
 * unusable; *conforms is cleared for a usable table that breaks the spec
 * (an entry count that disagrees with the entries in its length: entries
 * are walked by length, as Linux does). why says what was found or wrong.
 */
static bool parse_table(uint64_t addr, struct mpinfo *mp, bool *conforms, char *why, size_t why_len)
{
	const struct mpc_header *h = phys(addr);
	const uint8_t *p, *end;
	uint32_t seen[8] = { 0 };
	unsigned int disabled = 0, n = 0;

	if (!paging_map(addr, sizeof(*h), false) || h->signature != MPC_SIGNATURE) {
		probe_snprintf(why, why_len, "no PCMP signature at 0x%lx", addr);
		return false;
	}
	if (h->length < sizeof(*h) || !paging_map(addr, h->length + h->ext_length, false)) {
		probe_snprintf(why, why_len, "bad table length %u", h->length);
		return false;
	}
	if (sum(phys(addr), h->length)) {
		probe_snprintf(why, why_len, "configuration table checksum wrong");
		return false;
	}
	if (h->ext_length &&
	    (uint8_t)(sum(phys(addr + h->length), h->ext_length) + h->ext_checksum)) {
		probe_snprintf(why, why_len, "extended table checksum wrong");
		return false;
	}
	mp->lapic_addr = h->lapic;
	mp->bsp_apic = -1;
	mp->pci_bus = -1;
	p = (const uint8_t *)(h + 1);
	end = (const uint8_t *)phys(addr) + h->length;
	for (; p < end; n++) {
		size_t len = *p == MP_PROCESSOR ? sizeof(struct mpc_cpu) : 8;

		if (p + len > end || *p > MP_LINTR) {
			probe_snprintf(why, why_len, "entry %u (type %u) runs past the table", n,
				       *p);
			return false;
		}
		if (*p == MP_PROCESSOR) {
			const struct mpc_cpu *c = (const void *)p;

			if (!(c->flags & CPU_ENABLED)) {
				disabled++;
			} else if (mp->nr_cpus < MP_MAX_CPUS) {
				if (seen[c->apic_id / 32] & 1U << (c->apic_id % 32))
					mp->dup_apic = true;
				seen[c->apic_id / 32] |= 1U << (c->apic_id % 32);
				mp->cpu_apic[mp->nr_cpus] = c->apic_id;
				mp->cpu_bsp[mp->nr_cpus] = c->flags & CPU_BSP;
				mp->nr_cpus++;
				if (c->flags & CPU_BSP) {
					mp->nr_bsp++;
					mp->bsp_apic = c->apic_id;
				}
			}
		} else if (*p == MP_IOAPIC) {
			const struct mpc_ioapic *io = (const void *)p;

			if ((io->flags & 1) && !mp->nr_ioapic++) {
				mp->ioapic_id = io->id;
				mp->ioapic_addr = io->addr;
			}
		} else if (*p == MP_BUS) {
			const struct mpc_bus *b = (const void *)p;

			/* Like Linux: the first PCI bus entry is PCI bus 0. */
			if (mp->pci_bus < 0 && !memcmp(b->bus_type, "PCI   ", 6))
				mp->pci_bus = b->id;
		} else if (*p == MP_IOINTR) {
			const struct mpc_intsrc *e = (const void *)p;

			if (mp->nr_irqs < MP_MAX_IRQS)
				mp->irqs[mp->nr_irqs++] = (struct mp_irq){
					e->irq_type, e->flags,	  e->src_bus,
					e->src_irq,  e->dst_apic, e->dst_irq,
				};
			else
				mp->irqs_truncated = true;
		}
		p += len;
	}
	*conforms = n == h->count;
	probe_snprintf(why, why_len,
		       "table at 0x%lx, rev 1.%u, %u bytes, %u entries (header: %u), %u cpus "
		       "(%u disabled), lapic 0x%x",
		       addr, h->spec_rev, h->length, n, h->count, mp->nr_cpus + disabled, disabled,
		       h->lapic);
	return true;
}

static void check_cpus(const struct options *opt, const struct mpinfo *mp)
{
	bool ok = mp->nr_cpus >= 1 && mp->nr_bsp == 1 && !mp->dup_apic;
	char expect[32] = "";

	if (opt->has_expect_cpus) {
		ok = ok && mp->nr_cpus == opt->expect_cpus;
		probe_snprintf(expect, sizeof(expect), ", expected %u", opt->expect_cpus);
	}
	if (mp->dup_apic)
		check("mptable-cpus", false, "%u cpus, apic ids not unique%s", mp->nr_cpus, expect);
	else
		check("mptable-cpus", ok, "%u cpus, %u bsp (apic id %d), apic ids unique%s",
		      mp->nr_cpus, mp->nr_bsp, mp->bsp_apic, expect);
}

/*
 * The I/O interrupt entry for pin (1 = INTA#) of device dev on PCI bus 0:
 * source bus the PCI bus, source IRQ dev << 2 | (pin - 1), vectored (INT).
 */
const struct mp_irq *mptable_pci_irq(const struct mpinfo *mp, unsigned int dev, unsigned int pin)
{
	uint8_t src = dev << 2 | (pin - 1);

	if (!mp->found || mp->pci_bus < 0 || pin < 1 || pin > 4)
		return NULL;
	for (unsigned int i = 0; i < mp->nr_irqs; i++) {
		const struct mp_irq *e = &mp->irqs[i];

		if (e->irq_type == MP_IRQ_INT && e->src_bus == mp->pci_bus && e->src_irq == src)
			return e;
	}
	return NULL;
}

void mptable_run(const struct options *opt, struct mpinfo *mp)
{
	const char *where = "";
	const struct mpf *f;
	bool conforms = true;
	char why[160];
	uint64_t a;

	memset(mp, 0, sizeof(*mp));
	a = find_mpf(&where);
	if (!a) {
		check("mptable", false,
		      "no _MP_ floating pointer in the ebda, base memory or bios rom");
		return;
	}
	f = phys(a);
	if (f->length != 1 || sum(phys(a), 16)) {
		check("mptable", false, "floating pointer at 0x%lx (%s): bad length or checksum", a,
		      where);
		return;
	}
	if (f->feature[0]) {
		check("mptable", false,
		      "floating pointer at 0x%lx asks for default configuration %u", a,
		      f->feature[0]);
		return;
	}
	if (!parse_table(f->physptr, mp, &conforms, why, sizeof(why))) {
		check("mptable", false, "floating pointer at 0x%lx (%s): %s", a, where, why);
		return;
	}
	mp->found = true;
	check("mptable", conforms, "floating pointer at 0x%lx (%s), %s", a, where, why);
	check_cpus(opt, mp);
	if (mp->nr_ioapic)
		check("mptable-ioapic", true, "%u ioapic, id %u at 0x%x", mp->nr_ioapic,
		      mp->ioapic_id, mp->ioapic_addr);
	else
		check("mptable-ioapic", false, "no enabled ioapic entry");
}
