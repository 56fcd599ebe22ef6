// SPDX-License-Identifier: MIT
/*
 * The host inventory, read from sysfs and procfs below a root directory
 * (docs/inventory.md). inventory_print.c encodes it.
 *
 * Every file is untrusted text: it is read with a size limit, parsed
 * strictly, and anything malformed is refused with a message naming it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accord/inventory.h"
#include "linux/virtio_resource.h"
#include "rc_types.h"

/* The longest file read: a list of 4096 scattered CPUs fits. */
#define TEXT_MAX (64 * 1024)

#define CPU_DIR	 "sys/devices/system/cpu"
#define NODE_DIR "sys/devices/system/node"
#define PCI_DIR	 "sys/bus/pci/devices"

struct scan {
	int rootfd;
	const char *root; /* for messages: the root without its trailing slashes */
	int root_len;
	char *text; /* TEXT_MAX + 1 bytes and a NUL */
	size_t text_len;
	struct acc_err *err;
	struct inventory_cpuset present;
	struct inventory_cpuset online;
	struct inventory_cpuset list; /* scratch */
	uint64_t node_ids[INVENTORY_NODE_ID_LIMIT / 64];
	int16_t cpu_index[INVENTORY_CPU_ID_LIMIT]; /* host id -> inv->cpus[], or -1 */
};

/* ---- CPU sets ---- */

void inventory__cpuset_zero(struct inventory_cpuset *set)
{
	memset(set, 0, sizeof(*set));
}

void inventory__alloc_from_config(struct inventory_alloc *alloc,
				  const struct virtio_resource_config *cfg)
{
	memset(alloc, 0, sizeof(*alloc));
	alloc->generation = cfg->generation;
	alloc->mem_max = cfg->mem_max;
	alloc->mem_granted = cfg->mem_granted;
	alloc->mem_reserved = cfg->mem_reserved;
	alloc->granule = cfg->mem_granule;
	alloc->vcpus_max = cfg->vcpus_max;
	alloc->vcpus_granted = cfg->vcpus_granted;
}

void inventory__cpuset_set(struct inventory_cpuset *set, unsigned int cpu)
{
	if (cpu < INVENTORY_CPU_ID_LIMIT)
		set->bits[cpu / 64] |= 1ull << (cpu % 64);
}

bool inventory__cpuset_test(const struct inventory_cpuset *set, unsigned int cpu)
{
	return cpu < INVENTORY_CPU_ID_LIMIT && (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

void inventory__cpuset_from_affinity(struct inventory_cpuset *set, const cpu_set_t *mask,
				     size_t setsize)
{
	inventory__cpuset_zero(set);
	for (unsigned int cpu = 0; cpu < setsize * 8 && cpu < INVENTORY_CPU_ID_LIMIT; cpu++)
		if (CPU_ISSET_S(cpu, setsize, mask))
			inventory__cpuset_set(set, cpu);
}

/* The lowest CPU in @set, or INVENTORY_CPU_ID_LIMIT when it is empty. */
static unsigned int cpuset_first(const struct inventory_cpuset *set)
{
	for (unsigned int i = 0; i < INVENTORY_CPU_ID_LIMIT / 64; i++)
		if (set->bits[i])
			return i * 64 + (unsigned int)__builtin_ctzll(set->bits[i]);
	return INVENTORY_CPU_ID_LIMIT;
}

static bool cpuset_subset(const struct inventory_cpuset *a, const struct inventory_cpuset *b,
			  unsigned int *extra)
{
	for (unsigned int cpu = 0; cpu < INVENTORY_CPU_ID_LIMIT; cpu++) {
		if (inventory__cpuset_test(a, cpu) && !inventory__cpuset_test(b, cpu)) {
			*extra = cpu;
			return false;
		}
	}
	return true;
}

/* ---- reading files ---- */

/* Up to 24 bytes of @s, with anything unprintable shown as '?'. */
static const char *excerpt(const char *s, size_t len, char out[32])
{
	size_t n = len < 24 ? len : 24, i;

	for (i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	strcpy(out + i, len > n ? "..." : "");
	return out;
}

static int file_errf(struct scan *sc, const char *rel, int errnum, const char *what)
{
	return acc_errf(sc->err, errnum, "%.*s/%s: %s", sc->root_len, sc->root, rel, what);
}

/* The failed call's errno, in a message naming @rel. */
static int file_errno(struct scan *sc, const char *rel)
{
	int errnum = errno;

	return file_errf(sc, rel, errnum, strerror(errnum));
}

/* The text of @rel, or -errno: -ENOENT when it does not exist. */
static int read_text(struct scan *sc, const char *rel)
{
	struct stat st;
	size_t len = 0;
	int fd, ret;

	fd = openat(sc->rootfd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return file_errno(sc, rel);
	if (fstat(fd, &st)) {
		ret = file_errno(sc, rel);
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = file_errf(sc, rel, EINVAL, "not a regular file");
		goto close_fd;
	}
	for (;;) {
		ssize_t n = read(fd, sc->text + len, TEXT_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = file_errno(sc, rel);
			goto close_fd;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TEXT_MAX) {
			ret = file_errf(sc, rel, EFBIG, "longer than 64 KiB");
			goto close_fd;
		}
	}
	sc->text[len] = '\0';
	sc->text_len = len;
	ret = 0;
close_fd:
	close(fd);
	return ret;
}

/* "@fmt" below the root, built into @buf. */
static int __attribute__((format(printf, 4, 5)))
rel_path(struct scan *sc, char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return acc_errf(sc->err, ENAMETOOLONG, "path too long under %.*s", sc->root_len,
				sc->root);
	return 0;
}

static bool path_exists(struct scan *sc, const char *rel)
{
	struct stat st;

	return !fstatat(sc->rootfd, rel, &st, 0);
}

/* ---- parsing ---- */

static void chomp(const char *s, size_t *len)
{
	if (*len && s[*len - 1] == '\n')
		(*len)--;
}

/* A decimal number at *@p (at least one digit) no larger than @max. */
static int take_dec(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* "0x" and 1 to 8 hex digits, then an optional newline, no larger than @max. */
static int parse_hex_file(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	chomp(s, &len);
	if (len < 3 || len > 10 || s[0] != '0' || s[1] != 'x')
		return -EINVAL;
	for (size_t i = 2; i < len; i++) {
		int d = rc_hex_digit(s[i]);

		if (d < 0)
			return -EINVAL;
		v = v * 16 + (uint64_t)d;
	}
	if (v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* A topology id: a decimal number or -1 (unknown), then an optional newline. */
static int parse_id_file(const char *s, size_t len, uint32_t *out)
{
	const char *p = s, *end;
	uint64_t v;
	int ret;

	chomp(s, &len);
	end = s + len;
	if (len == 2 && !memcmp(s, "-1", 2)) {
		*out = INVENTORY_UNKNOWN;
		return 0;
	}
	ret = take_dec(&p, end, INVENTORY_UNKNOWN - 1, &v);
	if (ret)
		return ret;
	if (p != end)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* A kernel CPU list ("0-3,8,10-11"), then an optional newline; "" is empty. */
static int parse_cpulist(const char *s, size_t len, struct inventory_cpuset *set)
{
	const char *p = s, *end;
	int ret;

	inventory__cpuset_zero(set);
	chomp(s, &len);
	end = s + len;
	if (!len)
		return 0;
	for (;;) {
		uint64_t first, last;

		ret = take_dec(&p, end, UINT32_MAX, &first);
		if (ret)
			return ret;
		last = first;
		if (p < end && *p == '-') {
			p++;
			ret = take_dec(&p, end, UINT32_MAX, &last);
			if (ret)
				return ret;
			if (last < first)
				return -EINVAL;
		}
		if (last >= INVENTORY_CPU_ID_LIMIT)
			return -ERANGE;
		for (uint64_t cpu = first; cpu <= last; cpu++)
			inventory__cpuset_set(set, (unsigned int)cpu);
		if (p == end)
			return 0;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
}

static int parse_errf(struct scan *sc, const char *rel, int ret, const char *what)
{
	char ex[32];

	excerpt(sc->text, sc->text_len, ex);
	if (ret == -ERANGE)
		return acc_errf(sc->err, ERANGE, "%.*s/%s: '%s' is out of range", sc->root_len,
				sc->root, rel, ex);
	return acc_errf(sc->err, EINVAL, "%.*s/%s: '%s' is not %s", sc->root_len, sc->root, rel, ex,
			what);
}

static int read_cpulist(struct scan *sc, const char *rel, struct inventory_cpuset *set)
{
	int ret = read_text(sc, rel);

	if (ret)
		return ret;
	ret = parse_cpulist(sc->text, sc->text_len, set);
	if (ret)
		return parse_errf(sc, rel, ret, "a CPU list");
	return 0;
}

static int read_id(struct scan *sc, const char *rel, uint32_t *out)
{
	int ret = read_text(sc, rel);

	if (ret)
		return ret;
	ret = parse_id_file(sc->text, sc->text_len, out);
	if (ret)
		return parse_errf(sc, rel, ret, "a number");
	return 0;
}

static int read_hex(struct scan *sc, const char *rel, uint32_t max, uint32_t *out)
{
	int ret = read_text(sc, rel);

	if (ret)
		return ret;
	ret = parse_hex_file(sc->text, sc->text_len, max, out);
	if (ret)
		return parse_errf(sc, rel, ret, "a hex number");
	return 0;
}

/*
 * The "@key <spaces> N kB" line of a meminfo file in bytes. -ENOENT without
 * such a line.
 */
static int parse_meminfo(const char *s, size_t len, const char *key, uint64_t *bytes)
{
	const char *end = s + len;
	size_t klen = strlen(key);

	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *p = s + klen;
		uint64_t kb;
		int ret;

		if (!eol)
			eol = end;
		if ((size_t)(eol - s) < klen || memcmp(s, key, klen)) {
			s = eol + 1;
			continue;
		}
		if (p == eol || *p != ' ')
			return -EINVAL;
		while (p < eol && *p == ' ')
			p++;
		ret = take_dec(&p, eol, UINT64_MAX / 1024, &kb);
		if (ret)
			return ret;
		if (eol - p != 3 || memcmp(p, " kB", 3))
			return -EINVAL;
		*bytes = kb * 1024;
		return 0;
	}
	return -ENOENT;
}

static int read_meminfo(struct scan *sc, const char *rel, const char *key, uint64_t *bytes)
{
	int ret = read_text(sc, rel);

	if (ret)
		return ret;
	ret = parse_meminfo(sc->text, sc->text_len, key, bytes);
	if (ret == -ENOENT)
		return acc_errf(sc->err, EINVAL, "%.*s/%s: no '%s' line", sc->root_len, sc->root,
				rel, key);
	if (ret == -ERANGE)
		return acc_errf(sc->err, ERANGE, "%.*s/%s: '%s' is out of range", sc->root_len,
				sc->root, rel, key);
	if (ret)
		return acc_errf(sc->err, EINVAL, "%.*s/%s: malformed '%s' line", sc->root_len,
				sc->root, rel, key);
	return 0;
}

/* ---- CPUs ---- */

static int scan_topology(struct scan *sc, struct inventory_cpu *cpu)
{
	char rel[128];
	int ret;

	ret = rel_path(sc, rel, sizeof(rel), CPU_DIR "/cpu%u/topology", cpu->id);
	if (ret)
		return ret;
	/* Offline CPUs have no topology directory. */
	if (!path_exists(sc, rel))
		return 0;

	ret = rel_path(sc, rel, sizeof(rel), CPU_DIR "/cpu%u/topology/physical_package_id",
		       cpu->id);
	if (!ret)
		ret = read_id(sc, rel, &cpu->package);
	if (!ret)
		ret = rel_path(sc, rel, sizeof(rel), CPU_DIR "/cpu%u/topology/core_id", cpu->id);
	if (!ret)
		ret = read_id(sc, rel, &cpu->core);
	if (!ret)
		ret = rel_path(sc, rel, sizeof(rel), CPU_DIR "/cpu%u/topology/thread_siblings_list",
			       cpu->id);
	if (!ret)
		ret = read_cpulist(sc, rel, &sc->list);
	if (ret)
		return ret;
	if (!inventory__cpuset_test(&sc->list, cpu->id))
		return acc_errf(sc->err, EINVAL, "%.*s/%s: does not list cpu%u itself",
				sc->root_len, sc->root, rel, cpu->id);
	cpu->thread = 0;
	for (unsigned int i = 0; i < cpu->id; i++)
		cpu->thread += inventory__cpuset_test(&sc->list, i);
	return 0;
}

static int scan_cpus(struct scan *sc, struct host_inventory *inv)
{
	struct inventory_cpuset possible;
	unsigned int extra;
	int ret;

	ret = read_cpulist(sc, CPU_DIR "/present", &sc->present);
	if (ret)
		return ret;
	if (!inventory__cpuset_test(&sc->present, cpuset_first(&sc->present)))
		return acc_errf(sc->err, EINVAL, "%.*s/%s/present: no CPUs", sc->root_len, sc->root,
				CPU_DIR);
	ret = read_cpulist(sc, CPU_DIR "/online", &sc->online);
	if (ret)
		return ret;
	if (!cpuset_subset(&sc->online, &sc->present, &extra))
		return acc_errf(sc->err, EINVAL, "%.*s/%s/online: cpu%u is not present",
				sc->root_len, sc->root, CPU_DIR, extra);
	ret = read_cpulist(sc, CPU_DIR "/possible", &possible);
	if (!ret && !cpuset_subset(&sc->present, &possible, &extra))
		return acc_errf(sc->err, EINVAL,
				"%.*s/%s/possible: cpu%u is present but not possible", sc->root_len,
				sc->root, CPU_DIR, extra);
	if (ret && ret != -ENOENT)
		return ret;

	memset(sc->cpu_index, 0xff, sizeof(sc->cpu_index));
	for (unsigned int id = 0; id < INVENTORY_CPU_ID_LIMIT; id++) {
		struct inventory_cpu *cpu;

		if (!inventory__cpuset_test(&sc->present, id))
			continue;
		if (inv->nr_cpus == INVENTORY_MAX_CPUS) {
			inv->truncated = true;
			break;
		}
		cpu = &inv->cpus[inv->nr_cpus];
		cpu->id = id;
		cpu->package = cpu->core = cpu->thread = INVENTORY_UNKNOWN;
		cpu->node = INVENTORY_UNKNOWN;
		cpu->online = inventory__cpuset_test(&sc->online, id);
		ret = scan_topology(sc, cpu);
		if (ret)
			return ret;
		sc->cpu_index[id] = (int16_t)inv->nr_cpus++;
	}
	return 0;
}

/* ---- NUMA nodes ---- */

/* "node" and a decimal number without leading zeros; -1 for other names. */
static int64_t node_dir_id(const char *name)
{
	const char *p = name + 4, *end;
	uint64_t id;

	if (strncmp(name, "node", 4) || (p[0] == '0' && p[1]))
		return -1;
	end = p + strlen(p);
	if (take_dec(&p, end, UINT32_MAX, &id) || p != end)
		return -1;
	return (int64_t)id;
}

/* Which node ids have a directory; 0 or -errno. */
static int list_dir_nodes(struct scan *sc, const char *rel, unsigned int *count)
{
	struct dirent *de;
	DIR *dir;
	int fd, ret = 0;

	*count = 0;
	fd = openat(sc->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return file_errno(sc, rel);
	dir = fdopendir(fd);
	if (!dir) {
		ret = file_errno(sc, rel);
		close(fd);
		return ret;
	}
	while ((de = readdir(dir))) {
		int64_t id = node_dir_id(de->d_name);

		if (id < 0)
			continue;
		if (id >= INVENTORY_NODE_ID_LIMIT) {
			ret = acc_errf(sc->err, ERANGE, "%.*s/%s/%s: node id out of range",
				       sc->root_len, sc->root, rel, de->d_name);
			break;
		}
		sc->node_ids[id / 64] |= 1ull << (id % 64);
		(*count)++;
	}
	closedir(dir);
	return ret;
}

/* The node of a CPU that no node's cpulist names, from its cpuN/nodeM link. */
static int cpu_node_link(struct scan *sc, struct inventory_cpu *cpu)
{
	struct dirent *de;
	char rel[64];
	DIR *dir;
	int fd, ret;

	ret = rel_path(sc, rel, sizeof(rel), CPU_DIR "/cpu%u", cpu->id);
	if (ret)
		return ret;
	fd = openat(sc->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return 0;
	}
	while ((de = readdir(dir))) {
		int64_t id = node_dir_id(de->d_name);

		if (id >= 0 && id < INVENTORY_NODE_ID_LIMIT &&
		    (sc->node_ids[id / 64] >> (id % 64)) & 1) {
			cpu->node = (uint32_t)id;
			break;
		}
	}
	closedir(dir);
	return 0;
}

static int scan_node(struct scan *sc, struct host_inventory *inv, uint32_t id)
{
	struct inventory_node *node = &inv->nodes[inv->nr_nodes];
	char rel[128], key[32];
	int ret;

	ret = rel_path(sc, rel, sizeof(rel), NODE_DIR "/node%u/cpulist", id);
	if (!ret)
		ret = read_cpulist(sc, rel, &sc->list);
	if (ret)
		return ret;
	for (unsigned int c = 0; c < INVENTORY_CPU_ID_LIMIT; c++) {
		struct inventory_cpu *cpu;

		if (!inventory__cpuset_test(&sc->list, c) || sc->cpu_index[c] < 0)
			continue;
		cpu = &inv->cpus[sc->cpu_index[c]];
		if (cpu->node != INVENTORY_UNKNOWN)
			return acc_errf(sc->err, EINVAL, "%.*s/%s: cpu%u is also in node%u",
					sc->root_len, sc->root, rel, c, cpu->node);
		cpu->node = id;
	}
	snprintf(key, sizeof(key), "Node %u MemTotal:", id);
	ret = rel_path(sc, rel, sizeof(rel), NODE_DIR "/node%u/meminfo", id);
	if (!ret)
		ret = read_meminfo(sc, rel, key, &node->mem_size);
	if (ret)
		return ret;
	node->id = id;
	inv->nr_nodes++;
	return 0;
}

static int scan_nodes(struct scan *sc, struct host_inventory *inv)
{
	unsigned int count = 0;
	int ret;

	if (path_exists(sc, NODE_DIR)) {
		ret = list_dir_nodes(sc, NODE_DIR, &count);
		if (ret)
			return ret;
	}
	if (!count) {
		/* No NUMA: one node holds everything. */
		inv->nr_nodes = 1;
		inv->nodes[0].id = 0;
		inv->nodes[0].mem_size = inv->mem_total;
		for (unsigned int i = 0; i < inv->nr_cpus; i++)
			inv->cpus[i].node = 0;
		return 0;
	}
	for (uint32_t id = 0; id < INVENTORY_NODE_ID_LIMIT; id++) {
		if (!((sc->node_ids[id / 64] >> (id % 64)) & 1))
			continue;
		if (inv->nr_nodes == INVENTORY_MAX_NODES) {
			inv->truncated = true;
			break;
		}
		ret = scan_node(sc, inv, id);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < inv->nr_cpus; i++) {
		if (inv->cpus[i].node != INVENTORY_UNKNOWN)
			continue;
		ret = cpu_node_link(sc, &inv->cpus[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- PCI ---- */

/* A hex field of exactly @digits digits (any number up to 8 when 0). */
static int take_hex(const char **p, int digits, uint32_t *out)
{
	const char *s = *p;
	uint32_t v = 0;
	int n = 0;

	while (rc_hex_digit(*s) >= 0 && (digits ? n < digits : n < 8)) {
		v = v * 16 + (uint32_t)rc_hex_digit(*s++);
		n++;
	}
	if (!n || (digits && n != digits))
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

void inventory__pci_bdf(const struct inventory_pci *d, char buf[INVENTORY_BDF_MAX])
{
	snprintf(buf, INVENTORY_BDF_MAX, "%04x:%02x:%02x.%x", d->domain, d->bus, d->dev, d->fn);
}

/* A kernel PCI device name ("0000:00:1f.2"), exactly as the kernel writes it. */
static int parse_bdf(const char *name, struct inventory_pci *d)
{
	uint32_t domain, bus, dev, fn;
	const char *p = name;
	char canon[INVENTORY_BDF_MAX];

	if (take_hex(&p, 0, &domain) || *p++ != ':' || take_hex(&p, 2, &bus) || *p++ != ':' ||
	    take_hex(&p, 2, &dev) || *p++ != '.' || take_hex(&p, 1, &fn) || *p)
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->domain = domain;
	d->bus = (uint8_t)bus;
	d->dev = (uint8_t)dev;
	d->fn = (uint8_t)fn;
	inventory__pci_bdf(d, canon);
	return strcmp(canon, name) ? -EINVAL : 0;
}

/* The order of PCI devices: domain, bus, device, function. */
static uint64_t pci_key(const struct inventory_pci *d)
{
	return (uint64_t)d->domain << 32 | (uint64_t)d->bus << 8 | (uint64_t)d->dev << 3 | d->fn;
}

/* Insert @d in order, keeping the lowest addresses when full. */
static void pci_insert(struct host_inventory *inv, const struct inventory_pci *d)
{
	unsigned int i = inv->nr_pci;

	if (i == INVENTORY_MAX_PCI) {
		inv->truncated = true;
		if (pci_key(&inv->pci[i - 1]) < pci_key(d))
			return;
		i--;
	} else {
		inv->nr_pci++;
	}
	for (; i > 0 && pci_key(&inv->pci[i - 1]) > pci_key(d); i--)
		inv->pci[i] = inv->pci[i - 1];
	inv->pci[i] = *d;
}

static int scan_pci_device(struct scan *sc, struct inventory_pci *d)
{
	char bdf[INVENTORY_BDF_MAX], rel[128];
	uint32_t v;
	int ret;

	inventory__pci_bdf(d, bdf);
	ret = rel_path(sc, rel, sizeof(rel), PCI_DIR "/%s/vendor", bdf);
	if (!ret)
		ret = read_hex(sc, rel, 0xffff, &v);
	if (ret)
		return ret;
	d->vendor = (uint16_t)v;
	ret = rel_path(sc, rel, sizeof(rel), PCI_DIR "/%s/device", bdf);
	if (!ret)
		ret = read_hex(sc, rel, 0xffff, &v);
	if (ret)
		return ret;
	d->device = (uint16_t)v;
	ret = rel_path(sc, rel, sizeof(rel), PCI_DIR "/%s/class", bdf);
	if (!ret)
		ret = read_hex(sc, rel, 0xffffff, &d->class_code);
	return ret;
}

static int scan_pci(struct scan *sc, struct host_inventory *inv)
{
	struct dirent *de;
	DIR *dir;
	int fd, ret = 0;

	fd = openat(sc->rootfd, PCI_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return file_errno(sc, PCI_DIR);
	dir = fdopendir(fd);
	if (!dir) {
		ret = file_errno(sc, PCI_DIR);
		close(fd);
		return ret;
	}
	while ((de = readdir(dir))) {
		struct inventory_pci d;
		char ex[32];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (parse_bdf(de->d_name, &d)) {
			excerpt(de->d_name, strlen(de->d_name), ex);
			ret = acc_errf(sc->err, EINVAL, "%.*s/%s: '%s' is not a PCI address",
				       sc->root_len, sc->root, PCI_DIR, ex);
			goto close_dir;
		}
		pci_insert(inv, &d);
	}
	for (unsigned int i = 0; i < inv->nr_pci; i++) {
		ret = scan_pci_device(sc, &inv->pci[i]);
		if (ret)
			goto close_dir;
	}
close_dir:
	closedir(dir);
	return ret;
}

/* ---- the scan ---- */

int inventory__scan(const char *sysroot, struct host_inventory *inv, struct acc_err *err)
{
	struct scan *sc;
	int ret;

	memset(inv, 0, sizeof(*inv));
	if (!sysroot || !*sysroot)
		sysroot = "/";
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return acc_errf(err, ENOMEM, "inventory: out of memory");
	sc->err = err;
	sc->root = sysroot;
	sc->root_len = (int)strnlen(sysroot, PATH_MAX);
	while (sc->root_len > 0 && sysroot[sc->root_len - 1] == '/')
		sc->root_len--;
	sc->text = malloc(TEXT_MAX + 2);
	if (!sc->text) {
		ret = acc_errf(err, ENOMEM, "inventory: out of memory");
		goto free_scan;
	}
	sc->rootfd = open(sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sc->rootfd < 0) {
		ret = errno;
		ret = acc_errf(err, ret, "%s: %s", sysroot, strerror(ret));
		goto free_text;
	}

	ret = read_meminfo(sc, "proc/meminfo", "MemTotal:", &inv->mem_total);
	if (!ret)
		ret = scan_cpus(sc, inv);
	if (!ret)
		ret = scan_nodes(sc, inv);
	if (!ret)
		ret = scan_pci(sc, inv);
	if (ret)
		memset(inv, 0, sizeof(*inv));

	close(sc->rootfd);
free_text:
	free(sc->text);
free_scan:
	free(sc);
	return ret;
}

void inventory__host_alloc(const struct host_inventory *inv, struct inventory_alloc *alloc)
{
	memset(alloc, 0, sizeof(*alloc));
	alloc->mem_max = inv->mem_total;
	alloc->granule = INVENTORY_DEFAULT_GRANULE;
	for (unsigned int i = 0; i < inv->nr_cpus; i++)
		alloc->vcpus_max += inv->cpus[i].online;
}
