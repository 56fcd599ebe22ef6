// SPDX-License-Identifier: MIT
/* guest/core inventory: accord's hardware description (see rc_inventory.h). */
#include "rc_inventory.h"
#include "rc_fdt.h"

/* Whether a node is called prefix, or prefix@<unit-address>. */
static bool node_is(const struct rc_fdt *f, int node, const char *prefix)
{
	const char *n;
	uint32_t len, i;

	if (rc_fdt_get_name(f, node, &n, &len))
		return false;
	for (i = 0; prefix[i]; i++)
		if (i >= len || n[i] != prefix[i])
			return false;
	return i == len || n[i] == '@';
}

static int flag_prop(const struct rc_fdt *f, int node, const char *name, bool *v)
{
	uint32_t x;
	int err = rc_fdt_prop_u32(f, node, name, &x);

	if (err)
		return err;
	if (x > 1)
		return RC_ERANGE;
	*v = x;
	return 0;
}

static int parse_cpu(const struct rc_fdt *f, int node, struct rc_inv_cpu *c)
{
	int err;

	err = rc_fdt_prop_u32(f, node, "reg", &c->host_id);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "accord,package", &c->package);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "accord,core", &c->core);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "accord,thread", &c->thread);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "accord,numa-node", &c->numa_node);
	if (!err)
		err = flag_prop(f, node, "accord,online", &c->online);
	if (!err)
		err = flag_prop(f, node, "accord,allocated", &c->allocated);
	return err;
}

static int parse_cpus(const struct rc_fdt *f, int root, struct rc_inventory *inv)
{
	struct rc_inv_cpu c;
	int cpus, node, err;

	cpus = rc_fdt_subnode(f, root, "cpus");
	if (cpus == RC_ENOENT)
		return 0;
	if (cpus < 0)
		return cpus;
	rc_fdt_for_each_subnode(node, f, cpus) {
		if (!node_is(f, node, "cpu"))
			continue;
		/* Every node is checked, also those that do not fit. */
		err = parse_cpu(f, node, &c);
		if (err)
			return err;
		inv->cpus_found++;
		inv->cpus_online += c.online;
		inv->cpus_allocated += c.allocated;
		if (inv->nr_cpus < RC_INV_MAX_CPUS)
			inv->cpus[inv->nr_cpus++] = c;
		else
			inv->truncated = true;
	}
	return node == RC_ENOENT ? 0 : node;
}

static int parse_memory(const struct rc_fdt *f, int root, struct rc_inventory *inv)
{
	struct rc_inv_mem_node m;
	int mem, node, err;

	mem = rc_fdt_subnode(f, root, "memory");
	if (mem == RC_ENOENT)
		return 0;
	if (mem < 0)
		return mem;
	inv->has_memory = true;
	err = rc_fdt_prop_u64(f, mem, "accord,total", &inv->mem_total);
	if (err)
		return err;
	rc_fdt_for_each_subnode(node, f, mem) {
		if (!node_is(f, node, "node"))
			continue;
		err = rc_fdt_prop_u32(f, node, "reg", &m.id);
		if (!err)
			err = rc_fdt_prop_u64(f, node, "accord,size", &m.size);
		if (err)
			return err;
		inv->mem_nodes_found++;
		if (inv->nr_mem_nodes < RC_INV_MAX_MEM_NODES)
			inv->mem_nodes[inv->nr_mem_nodes++] = m;
		else
			inv->truncated = true;
	}
	return node == RC_ENOENT ? 0 : node;
}

/* n hex digits at s into *v. */
static bool hex_field(const char *s, uint32_t n, uint32_t *v)
{
	uint32_t i;
	int d;

	*v = 0;
	for (i = 0; i < n; i++) {
		d = rc_hex_digit(s[i]);
		if (d < 0)
			return false;
		*v = *v << 4 | (uint32_t)d;
	}
	return true;
}

/* "DDDD:BB:DD.F", the form Linux prints (lspci -D). */
/* "DDDD:BB:dd.f", where the domain has 4 to 8 hex digits (VMD domains are 0x10000 and up). */
static int parse_bdf(const char *s, uint32_t len, struct rc_inv_pci *p)
{
	uint32_t domain, bus, dev, fn, d;

	if (len < 12 || len > 16)
		return RC_EMALFORMED;
	d = len - 8; /* digits of the domain */
	if (s[d] != ':' || s[d + 3] != ':' || s[d + 6] != '.')
		return RC_EMALFORMED;
	if (!hex_field(s, d, &domain) || !hex_field(s + d + 1, 2, &bus) ||
	    !hex_field(s + d + 4, 2, &dev) || !hex_field(s + d + 7, 1, &fn))
		return RC_EMALFORMED;
	if (dev > 31 || fn > 7)
		return RC_EMALFORMED;
	p->domain = domain;
	p->bus = (uint8_t)bus;
	p->dev = (uint8_t)dev;
	p->fn = (uint8_t)fn;
	return 0;
}

static int parse_pci_dev(const struct rc_fdt *f, int node, struct rc_inv_pci *p)
{
	uint32_t vendor, device, class, len;
	const char *bdf;
	int err;

	err = rc_fdt_prop_string(f, node, "accord,bdf", &bdf, &len);
	if (!err)
		err = parse_bdf(bdf, len, p);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "vendor-id", &vendor);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "device-id", &device);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "class-code", &class);
	if (err)
		return err;
	if (vendor > 0xffff || device > 0xffff || class > 0xffffff)
		return RC_ERANGE;
	p->vendor_id = (uint16_t)vendor;
	p->device_id = (uint16_t)device;
	p->class_code = class;
	return 0;
}

static int parse_pci(const struct rc_fdt *f, int root, struct rc_inventory *inv)
{
	struct rc_inv_pci p;
	int pci, node, err;

	pci = rc_fdt_subnode(f, root, "pci");
	if (pci == RC_ENOENT)
		return 0;
	if (pci < 0)
		return pci;
	rc_fdt_for_each_subnode(node, f, pci) {
		if (!node_is(f, node, "device"))
			continue;
		err = parse_pci_dev(f, node, &p);
		if (err)
			return err;
		inv->pci_found++;
		if (inv->nr_pci < RC_INV_MAX_PCI)
			inv->pci[inv->nr_pci++] = p;
		else
			inv->truncated = true;
	}
	return node == RC_ENOENT ? 0 : node;
}

static int parse_alloc(const struct rc_fdt *f, int root, struct rc_inv_alloc *a)
{
	int node, err;

	node = rc_fdt_subnode(f, root, "allocation");
	if (node < 0)
		return node; /* RC_ENOENT: the allocation is required */
	err = rc_fdt_prop_u64(f, node, "accord,memory-max", &a->memory_max);
	if (!err)
		err = rc_fdt_prop_u64(f, node, "accord,memory-granted", &a->memory_granted);
	if (!err)
		err = rc_fdt_prop_u64(f, node, "accord,memory-reserved", &a->memory_reserved);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "accord,vcpus-max", &a->vcpus_max);
	if (!err)
		err = rc_fdt_prop_u32(f, node, "accord,vcpus-granted", &a->vcpus_granted);
	if (!err)
		err = rc_fdt_prop_u64(f, node, "accord,granule", &a->granule);
	if (err)
		return err;
	if (a->memory_granted > a->memory_max || a->memory_reserved > a->memory_max ||
	    a->vcpus_granted > a->vcpus_max || !rc_is_pow2(a->granule))
		return RC_ERANGE;
	return 0;
}

int rc_inventory_parse(struct rc_inventory *inv, const void *blob, size_t len)
{
	struct rc_fdt f;
	int root, err;

	if (!inv)
		return RC_EINVAL;
	inv->generation = 0;
	inv->truncated = false;
	inv->nr_cpus = inv->cpus_found = inv->cpus_online = inv->cpus_allocated = 0;
	inv->has_memory = false;
	inv->mem_total = 0;
	inv->nr_mem_nodes = inv->mem_nodes_found = 0;
	inv->nr_pci = inv->pci_found = 0;

	err = rc_fdt_init(&f, blob, len);
	if (err)
		return err;
	root = rc_fdt_root(&f);
	if (root < 0)
		return root;
	err = rc_fdt_prop_has_string(&f, root, "compatible", RC_INV_COMPATIBLE);
	if (err)
		return err == RC_ENOENT ? RC_EUNSUPPORTED : err;
	err = rc_fdt_prop_u32(&f, root, "accord,generation", &inv->generation);
	if (!err)
		err = parse_alloc(&f, root, &inv->alloc);
	if (!err)
		err = parse_cpus(&f, root, inv);
	if (!err)
		err = parse_memory(&f, root, inv);
	if (!err)
		err = parse_pci(&f, root, inv);
	return err;
}
