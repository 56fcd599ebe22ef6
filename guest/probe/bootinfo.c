// SPDX-License-Identifier: MIT
/*
 * What the loader hands over: PVH's hvm_start_info (EBX) or Linux's
 * boot_params (ESI/RSI). Both are copied into struct bootinfo at once, since
 * the probe later writes to low memory (the AP trampoline).
 */
#include "probe.h"

/* xen/include/public/arch-x86/hvm/start_info.h */
#define XEN_HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "hvm_memmap_table_entry layout");

/* Linux Documentation/arch/x86/boot.rst and zero-page.rst. */
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES	    0x1e8
#define BP_HDR_HEADER	    0x202
#define BP_HDR_VERSION	    0x206
#define BP_CMD_LINE_PTR	    0x228
#define BP_E820_TABLE	    0x2d0
#define BP_E820_MAX	    128
#define BP_SIZE		    0x1000

struct boot_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

static uint32_t rd32(uint64_t base, unsigned int off)
{
	return *(volatile uint32_t *)phys(base + off);
}

static void copy_cmdline(struct bootinfo *bi, uint64_t addr)
{
	if (!addr || !paging_map(addr, CMDLINE_MAX, false))
		return;
	strlcpy(bi->cmdline, phys(addr), sizeof(bi->cmdline));
}

static void add_mem(struct bootinfo *bi, uint64_t addr, uint64_t size, uint32_t type)
{
	if (bi->nr_mem == MEM_MAX) {
		bi->mem_truncated = true;
		return;
	}
	bi->mem[bi->nr_mem].addr = addr;
	bi->mem[bi->nr_mem].size = size;
	bi->mem[bi->nr_mem].type = type;
	bi->nr_mem++;
}

static void parse_pvh(struct bootinfo *bi)
{
	const struct hvm_start_info *si = phys(bi->ptr);
	const struct hvm_memmap_entry *e;
	uint32_t i, n;

	if (!bi->ptr || !paging_map(bi->ptr, sizeof(*si), false)) {
		probe_snprintf(bi->desc, sizeof(bi->desc), "no hvm_start_info (ebx 0x%lx)",
			       bi->ptr);
		return;
	}
	if (si->magic != XEN_HVM_START_MAGIC) {
		probe_snprintf(bi->desc, sizeof(bi->desc), "bad hvm_start_info magic 0x%x at 0x%lx",
			       si->magic, bi->ptr);
		return;
	}
	bi->ptr_ok = true;
	probe_snprintf(bi->desc, sizeof(bi->desc), "hvm_start_info v%u at 0x%lx, %u memmap entries",
		       si->version, bi->ptr, si->version >= 1 ? si->memmap_entries : 0);
	copy_cmdline(bi, si->cmdline_paddr);
	if (si->version < 1 || !si->memmap_paddr)
		return;
	n = si->memmap_entries;
	if (n > MEM_MAX) {
		n = MEM_MAX;
		bi->mem_truncated = true;
	}
	if (!paging_map(si->memmap_paddr, (uint64_t)n * sizeof(*e), false))
		return;
	e = phys(si->memmap_paddr);
	for (i = 0; i < n; i++)
		add_mem(bi, e[i].addr, e[i].size, e[i].type);
}

static void parse_linux(struct bootinfo *bi)
{
	const struct boot_e820_entry *e;
	uint64_t cmdline;
	uint32_t hdr;
	unsigned int i, n;

	if (!bi->ptr || !paging_map(bi->ptr, BP_SIZE, false)) {
		probe_snprintf(bi->desc, sizeof(bi->desc), "no boot_params (rsi 0x%lx)", bi->ptr);
		return;
	}
	bi->ptr_ok = true;
	hdr = rd32(bi->ptr, BP_HDR_HEADER);
	n = *(volatile uint8_t *)phys(bi->ptr + BP_E820_ENTRIES);
	if (hdr == 0x53726448) /* "HdrS" */
		probe_snprintf(bi->desc, sizeof(bi->desc),
			       "boot_params at 0x%lx, header HdrS %u.%02x, %u e820 entries",
			       bi->ptr, rd32(bi->ptr, BP_HDR_VERSION) >> 8 & 0xff,
			       rd32(bi->ptr, BP_HDR_VERSION) & 0xff, n);
	else
		probe_snprintf(bi->desc, sizeof(bi->desc),
			       "boot_params at 0x%lx, no HdrS magic, %u e820 entries", bi->ptr, n);

	cmdline = (uint64_t)rd32(bi->ptr, BP_EXT_CMD_LINE_PTR) << 32;
	cmdline |= rd32(bi->ptr, BP_CMD_LINE_PTR);
	copy_cmdline(bi, cmdline);

	if (n > BP_E820_MAX) {
		n = BP_E820_MAX;
		bi->mem_truncated = true;
	}
	e = phys(bi->ptr + BP_E820_TABLE);
	for (i = 0; i < n; i++)
		add_mem(bi, e[i].addr, e[i].size, e[i].type);
}

/*
 * The loader's command line where it lies, if the boot tables' first GiB
 * maps it (nothing is mapped or copied this early), else NULL.
 */
static const char *raw_cmdline(void)
{
	const uint64_t limit = 1UL << 30;
	uint64_t p = 0;

	if (!boot_ptr || boot_ptr + BP_SIZE > limit)
		return NULL;
	if (boot_entry == ENTRY_PVH) {
		const struct hvm_start_info *si = phys(boot_ptr);

		if (si->magic == XEN_HVM_START_MAGIC)
			p = si->cmdline_paddr;
	} else {
		p = (uint64_t)rd32(boot_ptr, BP_EXT_CMD_LINE_PTR) << 32 |
		    rd32(boot_ptr, BP_CMD_LINE_PTR);
	}
	return p && p + CMDLINE_MAX <= limit ? phys(p) : NULL;
}

/*
 * action=exit-now or action=halt-now, looked for before anything else runs
 * (the launch and memory benchmarks time a guest that does nothing);
 * ACTION_EXIT for anything else.
 */
enum action early_action(void)
{
	static const char want[] = "action=";
	const char *p = raw_cmdline();
	enum action found = ACTION_EXIT;
	size_t len;

	for (size_t i = 0; p && p[i] && i < CMDLINE_MAX; i += len) {
		while (p[i] == ' ' && i < CMDLINE_MAX)
			i++;
		for (len = 0; p[i + len] && p[i + len] != ' ' && i + len < CMDLINE_MAX; len++)
			;
		if (len != sizeof(want) + 7 || memcmp(p + i, want, sizeof(want) - 1))
			continue;
		if (!memcmp(p + i + sizeof(want) - 1, "exit-now", 8))
			found = ACTION_EXIT_NOW;
		else if (!memcmp(p + i + sizeof(want) - 1, "halt-now", 8))
			found = ACTION_HALT_NOW;
	}
	return found;
}

void bootinfo_parse(struct bootinfo *bi)
{
	bi->entry = boot_entry;
	bi->ptr = boot_ptr;
	if (bi->entry == ENTRY_PVH)
		parse_pvh(bi);
	else
		parse_linux(bi);
}

const char *entry_name(int entry)
{
	switch (entry) {
	case ENTRY_PVH:
		return "pvh";
	case ENTRY_LINUX64:
		return "linux64";
	case ENTRY_LINUX32:
		return "linux32";
	}
	return "unknown";
}

const char *memtype_name(uint32_t type)
{
	static const char *const names[] = { "type 0", "ram",	   "reserved", "acpi",
					     "nvs",    "unusable", "disabled", "pmem" };

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "other";
}

/* Is token tok (len bytes) "key=..."? Returns the value or NULL. */
static const char *opt_value(const char *tok, size_t len, const char *key, size_t *vlen)
{
	size_t k = strlen(key);

	if (len <= k || memcmp(tok, key, k) || tok[k] != '=')
		return NULL;
	*vlen = len - k - 1;
	return tok + k + 1;
}

static bool opt_bool(const char *v, size_t n, bool *out)
{
	if (n == 2 && !memcmp(v, "on", 2))
		*out = true;
	else if (n == 3 && !memcmp(v, "off", 3))
		*out = false;
	else
		return false;
	return true;
}

static bool opt_action(const char *v, size_t n, struct options *opt)
{
	uint64_t status;

	if (n == 4 && !memcmp(v, "exit", 4))
		opt->action = ACTION_EXIT;
	else if (n == 8 && !memcmp(v, "exit-now", 8))
		opt->action = ACTION_EXIT_NOW;
	else if (n == 8 && !memcmp(v, "halt-now", 8))
		opt->action = ACTION_HALT_NOW;
	else if (n > 5 && !memcmp(v, "exit:", 5) && parse_u64(v + 5, n - 5, &status, false) &&
		 status <= 255) {
		opt->action = ACTION_EXIT_STATUS;
		opt->exit_status = status;
	} else if (n == 9 && !memcmp(v, "exception", 9))
		opt->action = ACTION_EXCEPTION;
	else if (n == 12 && !memcmp(v, "triple-fault", 12))
		opt->action = ACTION_TRIPLE_FAULT;
	else if (n == 6 && !memcmp(v, "reboot", 6))
		opt->action = ACTION_REBOOT;
	else if (n == 8 && !memcmp(v, "poweroff", 8))
		opt->action = ACTION_POWEROFF;
	else
		return false;
	return true;
}

/* expect-virtio=rng,blk: a comma list of device names. */
static bool opt_expect_virtio(const char *v, size_t n, struct options *opt)
{
	while (n) {
		size_t w = 0;

		while (w < n && v[w] != ',')
			w++;
		if (w == 3 && !memcmp(v, "rng", 3))
			opt->expect_virtio |= VIRTIO_EXPECT_RNG;
		else if (w == 3 && !memcmp(v, "blk", 3))
			opt->expect_virtio |= VIRTIO_EXPECT_BLK;
		else
			return false;
		if (w < n && w + 1 == n)
			return false; /* trailing comma */
		v += w + (w < n);
		n -= w + (w < n);
	}
	return true;
}

/* resource=off or resource=NAME,NAME,...: scenarios in order, idle only last. */
static bool opt_resource(const char *v, size_t n, struct options *opt)
{
	opt->nr_resource = 0;
	opt->resource_idle = false;
	if (n == 3 && !memcmp(v, "off", 3))
		return true;
	while (n) {
		size_t w = 0;
		int sc;

		while (w < n && v[w] != ',')
			w++;
		sc = resource_scenario(v, w);
		/* unknown, too many, after idle, or a trailing comma: none at all */
		if (sc < 0 || opt->nr_resource == RES_LIST_MAX || opt->resource_idle ||
		    (w < n && w + 1 == n)) {
			opt->nr_resource = 0;
			opt->resource_idle = false;
			return false;
		}
		opt->resource[opt->nr_resource++] = sc;
		opt->resource_idle = sc == RES_IDLE;
		v += w + (w < n);
		n -= w + (w < n);
	}
	return opt->nr_resource > 0;
}

/* bench=exits,rng,grant */
static bool opt_bench(const char *v, size_t n, struct options *opt)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} names[] = { { "exits", BENCH_EXITS }, { "rng", BENCH_RNG }, { "grant", BENCH_GRANT } };

	opt->bench = 0;
	while (n) {
		size_t w = 0, k;

		while (w < n && v[w] != ',')
			w++;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			if (w == strlen(names[k].name) && !memcmp(v, names[k].name, w))
				break;
		}
		if (k == sizeof(names) / sizeof(names[0]) || (w < n && w + 1 == n)) {
			opt->bench = 0;
			return false;
		}
		opt->bench |= names[k].bit;
		v += w + (w < n);
		n -= w + (w < n);
	}
	return opt->bench != 0;
}

/* An MMIO address below the 47-bit identity-map limit, page aligned. */
static bool opt_addr(const char *v, size_t n, uint64_t *out)
{
	return parse_u64(v, n, out, false) && *out && !(*out & 0xfff) && *out < (1UL << 47);
}

/* virtio-irq=msix|intx */
static bool opt_irq(const char *v, size_t n, bool *intx)
{
	if (n == 4 && !memcmp(v, "msix", 4))
		*intx = false;
	else if (n == 4 && !memcmp(v, "intx", 4))
		*intx = true;
	else
		return false;
	return true;
}

static bool parse_token(const char *tok, size_t len, struct options *opt)
{
	const char *v;
	uint64_t num;
	size_t n;

	if ((v = opt_value(tok, len, "smp", &n)))
		return opt_bool(v, n, &opt->smp);
	if ((v = opt_value(tok, len, "pci", &n)))
		return opt_bool(v, n, &opt->pci);
	if ((v = opt_value(tok, len, "mptable", &n)))
		return opt_bool(v, n, &opt->mptable);
	if ((v = opt_value(tok, len, "virtio", &n)))
		return opt_bool(v, n, &opt->virtio);
	if ((v = opt_value(tok, len, "virtio-reassign", &n)))
		return opt_bool(v, n, &opt->virtio_reassign);
	if ((v = opt_value(tok, len, "virtio-irq", &n)))
		return opt_irq(v, n, &opt->virtio_intx);
	if ((v = opt_value(tok, len, "expect-virtio", &n)))
		return opt_expect_virtio(v, n, opt);
	if ((v = opt_value(tok, len, "resource", &n)))
		return opt_resource(v, n, opt);
	/* A bare "idle": set the device up and serve the host until the VM is stopped. */
	if (len == 4 && !memcmp(tok, "idle", 4))
		return opt_resource("inventory,idle", 14, opt);
	if ((v = opt_value(tok, len, "resource-file", &n))) {
		if (!n || n >= sizeof(opt->resource_file))
			return false;
		memcpy(opt->resource_file, v, n);
		opt->resource_file[n] = 0;
		return true;
	}
	if ((v = opt_value(tok, len, "bench", &n)))
		return opt_bench(v, n, opt);
	if ((v = opt_value(tok, len, "bench-iters", &n))) {
		if (!parse_u64(v, n, &num, false) || !num || num > BENCH_ITERS_MAX)
			return false;
		opt->bench_iters = num;
		return true;
	}
	if ((v = opt_value(tok, len, "bench-mmio", &n)))
		return opt_addr(v, n, &opt->bench_mmio);
	if ((v = opt_value(tok, len, "pci-ecam", &n)))
		return opt_addr(v, n, &opt->pci_ecam);
	if ((v = opt_value(tok, len, "pci-mmio", &n)))
		return opt_addr(v, n, &opt->pci_mmio);
	if ((v = opt_value(tok, len, "blk-seed", &n)))
		return parse_u64(v, n, &opt->blk_seed, false) && opt->blk_seed <= UINT32_MAX;
	if ((v = opt_value(tok, len, "action", &n)))
		return opt_action(v, n, opt);
	if ((v = opt_value(tok, len, "expect-mem", &n))) {
		opt->has_expect_mem = parse_u64(v, n, &opt->expect_mem, true);
		return opt->has_expect_mem;
	}
	if ((v = opt_value(tok, len, "expect-cpus", &n))) {
		opt->has_expect_cpus = parse_u64(v, n, &num, false) && num && num <= MP_MAX_CPUS;
		opt->expect_cpus = num;
		return opt->has_expect_cpus;
	}
	return true; /* not ours: ignored */
}

static bool is_known(const char *tok, size_t len)
{
	static const char *const keys[] = {
		"smp=",		"pci=",	     "mptable=",	 "action=",	   "expect-mem=",
		"expect-cpus=", "virtio=",   "virtio-reassign=", "expect-virtio=", "blk-seed=",
		"virtio-irq=",	"resource=", "resource-file=",	 "bench=",	   "bench-iters=",
		"bench-mmio=",	"pci-ecam=", "pci-mmio="
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t k = strlen(keys[i]);

		if (len >= k && !memcmp(tok, keys[i], k))
			return true;
	}
	return len == 4 && !memcmp(tok, "idle", 4);
}

void options_parse(const char *cmdline, struct options *opt)
{
	const char *p = cmdline;

	memset(opt, 0, sizeof(*opt));
	opt->smp = opt->pci = opt->mptable = opt->virtio = true;
	opt->blk_seed = 1;
	opt->action = ACTION_EXIT;
	opt->bench_iters = BENCH_ITERS_DEFAULT;
	opt->bench_mmio = BENCH_MMIO_DEFAULT;
	opt->pci_mmio = PCI_MMIO_DEFAULT;
	while (*p) {
		const char *tok;
		size_t len = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		tok = p;
		while (p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\n')
			len++;
		p += len;
		if (!len)
			continue;
		if (is_known(tok, len))
			opt->nr_known++;
		if (!parse_token(tok, len, opt) && !opt->bad[0])
			strlcpy(opt->bad, tok,
				len + 1 < sizeof(opt->bad) ? len + 1 : sizeof(opt->bad));
	}
}
