// SPDX-License-Identifier: MIT
/*
 * The inventory's three forms: the flattened device tree the guest reads
 * (libfdt's sequential-write API; docs/inventory.md has the schema), that
 * blob printed as DTS source (what `dtc -I dtb -O dts` prints, and that
 * dtc reads back), and JSON (also what the control socket answers).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libfdt.h>

#include "accord/inventory.h"

/* ---- the flattened device tree ---- */

/* Every property name, each stored once in the strings block. */
static const char *const fdt_prop_names[] = {
	"compatible",
	"accord,generation",
	"#address-cells",
	"#size-cells",
	"reg",
	"accord,package",
	"accord,core",
	"accord,thread",
	"accord,numa-node",
	"accord,online",
	"accord,allocated",
	"accord,total",
	"accord,size",
	"accord,bdf",
	"vendor-id",
	"device-id",
	"class-code",
	"accord,memory-max",
	"accord,memory-granted",
	"accord,memory-reserved",
	"accord,vcpus-max",
	"accord,vcpus-granted",
	"accord,granule",
};

#define COMPATIBLE    "accord,hardware-description"
#define CPU_NAME_MAX  16 /* "cpu@1fff" */
#define NODE_NAME_MAX 16 /* "node@3ff" */
#define PCI_NAME_MAX  32 /* "device@ffffffff,ff,1f.7" */

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* A property in the structure block: tag, length, name offset, value. */
static size_t fdt_prop_bytes(size_t len)
{
	return 3 * sizeof(fdt32_t) + align4(len);
}

/* A node's begin and end tags and its name. */
static size_t fdt_node_bytes(size_t name_max)
{
	return 2 * sizeof(fdt32_t) + align4(name_max + 1);
}

size_t inventory__fdt_size_bound(const struct host_inventory *inv)
{
	size_t u32 = fdt_prop_bytes(4), u64 = fdt_prop_bytes(8), n;

	/* Header, the empty reserve map, FDT_END. */
	n = sizeof(struct fdt_header) + sizeof(struct fdt_reserve_entry) + sizeof(fdt32_t);
	for (size_t i = 0; i < sizeof(fdt_prop_names) / sizeof(fdt_prop_names[0]); i++)
		n += strlen(fdt_prop_names[i]) + 1;
	/* Root, cpus, memory, pci, allocation. */
	n += fdt_node_bytes(0) + fdt_prop_bytes(sizeof(COMPATIBLE)) + u32;
	n += fdt_node_bytes(4) + 2 * u32;
	n += (size_t)inv->nr_cpus * (fdt_node_bytes(CPU_NAME_MAX) + 7 * u32);
	n += fdt_node_bytes(6) + 2 * u32 + u64;
	n += (size_t)inv->nr_nodes * (fdt_node_bytes(NODE_NAME_MAX) + u32 + u64);
	n += fdt_node_bytes(3) + 2 * u32;
	n += (size_t)inv->nr_pci *
	     (fdt_node_bytes(PCI_NAME_MAX) + fdt_prop_bytes(INVENTORY_BDF_MAX) + fdt_prop_bytes(8) +
	      3 * u32);
	n += fdt_node_bytes(10) + 4 * u64 + 2 * u32;
	return n;
}

static int fdt_cpus(void *fdt, const struct host_inventory *inv,
		    const struct inventory_alloc *alloc)
{
	int ret = fdt_begin_node(fdt, "cpus");

	if (!ret)
		ret = fdt_property_u32(fdt, "#address-cells", 1);
	if (!ret)
		ret = fdt_property_u32(fdt, "#size-cells", 0);
	for (unsigned int i = 0; !ret && i < inv->nr_cpus; i++) {
		const struct inventory_cpu *cpu = &inv->cpus[i];
		char name[CPU_NAME_MAX + 1];

		snprintf(name, sizeof(name), "cpu@%x", cpu->id);
		ret = fdt_begin_node(fdt, name);
		if (!ret)
			ret = fdt_property_u32(fdt, "reg", cpu->id);
		if (!ret)
			ret = fdt_property_u32(fdt, "accord,package", cpu->package);
		if (!ret)
			ret = fdt_property_u32(fdt, "accord,core", cpu->core);
		if (!ret)
			ret = fdt_property_u32(fdt, "accord,thread", cpu->thread);
		if (!ret)
			ret = fdt_property_u32(fdt, "accord,numa-node", cpu->node);
		if (!ret)
			ret = fdt_property_u32(fdt, "accord,online", cpu->online);
		if (!ret)
			ret = fdt_property_u32(fdt, "accord,allocated",
					       inventory__cpuset_test(&alloc->cpus, cpu->id));
		if (!ret)
			ret = fdt_end_node(fdt);
	}
	if (!ret)
		ret = fdt_end_node(fdt);
	return ret;
}

static int fdt_memory(void *fdt, const struct host_inventory *inv)
{
	int ret = fdt_begin_node(fdt, "memory");

	if (!ret)
		ret = fdt_property_u32(fdt, "#address-cells", 1);
	if (!ret)
		ret = fdt_property_u32(fdt, "#size-cells", 0);
	if (!ret)
		ret = fdt_property_u64(fdt, "accord,total", inv->mem_total);
	for (unsigned int i = 0; !ret && i < inv->nr_nodes; i++) {
		char name[NODE_NAME_MAX + 1];

		snprintf(name, sizeof(name), "node@%x", inv->nodes[i].id);
		ret = fdt_begin_node(fdt, name);
		if (!ret)
			ret = fdt_property_u32(fdt, "reg", inv->nodes[i].id);
		if (!ret)
			ret = fdt_property_u64(fdt, "accord,size", inv->nodes[i].mem_size);
		if (!ret)
			ret = fdt_end_node(fdt);
	}
	if (!ret)
		ret = fdt_end_node(fdt);
	return ret;
}

static int fdt_pci(void *fdt, const struct host_inventory *inv)
{
	int ret = fdt_begin_node(fdt, "pci");

	if (!ret)
		ret = fdt_property_u32(fdt, "#address-cells", 2);
	if (!ret)
		ret = fdt_property_u32(fdt, "#size-cells", 0);
	for (unsigned int i = 0; !ret && i < inv->nr_pci; i++) {
		const struct inventory_pci *d = &inv->pci[i];
		uint64_t reg = (uint64_t)d->domain << 32 |
			       (unsigned int)(d->bus << 8 | d->dev << 3 | d->fn);
		char name[PCI_NAME_MAX + 1], bdf[INVENTORY_BDF_MAX];

		/* The device tree's unit-address characters exclude ':'. */
		if (d->domain)
			snprintf(name, sizeof(name), "device@%x,%x,%x.%x", d->domain, d->bus,
				 d->dev, d->fn);
		else
			snprintf(name, sizeof(name), "device@%x,%x.%x", d->bus, d->dev, d->fn);
		inventory__pci_bdf(d, bdf);
		ret = fdt_begin_node(fdt, name);
		if (!ret)
			ret = fdt_property_u64(fdt, "reg", reg);
		if (!ret)
			ret = fdt_property_string(fdt, "accord,bdf", bdf);
		if (!ret)
			ret = fdt_property_u32(fdt, "vendor-id", d->vendor);
		if (!ret)
			ret = fdt_property_u32(fdt, "device-id", d->device);
		if (!ret)
			ret = fdt_property_u32(fdt, "class-code", d->class_code);
		if (!ret)
			ret = fdt_end_node(fdt);
	}
	if (!ret)
		ret = fdt_end_node(fdt);
	return ret;
}

static int fdt_allocation(void *fdt, const struct inventory_alloc *alloc)
{
	int ret = fdt_begin_node(fdt, "allocation");

	if (!ret)
		ret = fdt_property_u64(fdt, "accord,memory-max", alloc->mem_max);
	if (!ret)
		ret = fdt_property_u64(fdt, "accord,memory-granted", alloc->mem_granted);
	if (!ret)
		ret = fdt_property_u64(fdt, "accord,memory-reserved", alloc->mem_reserved);
	if (!ret)
		ret = fdt_property_u32(fdt, "accord,vcpus-max", alloc->vcpus_max);
	if (!ret)
		ret = fdt_property_u32(fdt, "accord,vcpus-granted", alloc->vcpus_granted);
	if (!ret)
		ret = fdt_property_u64(fdt, "accord,granule", alloc->granule);
	if (!ret)
		ret = fdt_end_node(fdt);
	return ret;
}

int inventory__to_fdt(const struct host_inventory *inv, const struct inventory_alloc *alloc,
		      void *buf, size_t cap, struct acc_err *err)
{
	int size = cap > INT_MAX ? INT_MAX : (int)cap;
	int ret;

	ret = fdt_create(buf, size);
	if (!ret)
		ret = fdt_finish_reservemap(buf);
	if (!ret)
		ret = fdt_begin_node(buf, "");
	if (!ret)
		ret = fdt_property_string(buf, "compatible", COMPATIBLE);
	if (!ret)
		ret = fdt_property_u32(buf, "accord,generation", alloc->generation);
	if (!ret)
		ret = fdt_cpus(buf, inv, alloc);
	if (!ret)
		ret = fdt_memory(buf, inv);
	if (!ret)
		ret = fdt_pci(buf, inv);
	if (!ret)
		ret = fdt_allocation(buf, alloc);
	if (!ret)
		ret = fdt_end_node(buf);
	if (!ret)
		ret = fdt_finish(buf);
	if (ret == -FDT_ERR_NOSPACE)
		return acc_errf(err, ENOSPC, "inventory: %zu bytes are not enough (%zu needed)",
				cap, inventory__fdt_size_bound(inv));
	if (ret)
		return acc_errf(err, EINVAL, "inventory: libfdt: %s", fdt_strerror(ret));
	return (int)fdt_totalsize(buf);
}

/* ---- DTS ---- */

#define DTS_MAX_DEPTH 32

static void indent(FILE *f, int depth)
{
	for (int i = 0; i < depth; i++)
		fputc('\t', f);
}

/* NUL-terminated printable strings, none empty: shown as "a", "b". */
static bool is_string_list(const char *v, int len)
{
	if (len < 2 || v[len - 1] || !v[0])
		return false;
	for (int i = 0; i < len; i++) {
		if (!v[i] ? i + 1 < len && !v[i + 1] : v[i] < 0x20 || v[i] >= 0x7f)
			return false;
	}
	return true;
}

static void print_strings(FILE *f, const char *v, int len)
{
	for (int i = 0; i < len; i++) {
		if (i == 0 || !v[i - 1])
			fputs(i ? ", \"" : "\"", f);
		if (!v[i]) {
			fputc('"', f);
		} else {
			if (v[i] == '"' || v[i] == '\\')
				fputc('\\', f);
			fputc(v[i], f);
		}
	}
}

static void print_value(FILE *f, const void *val, int len)
{
	const unsigned char *b = val;

	if (is_string_list(val, len)) {
		print_strings(f, val, len);
	} else if (len % 4 == 0) {
		fputc('<', f);
		for (int i = 0; i < len; i += 4) {
			fdt32_t cell;

			memcpy(&cell, b + i, sizeof(cell));
			fprintf(f, "%s0x%02x", i ? " " : "", fdt32_to_cpu(cell));
		}
		fputc('>', f);
	} else {
		fputc('[', f);
		for (int i = 0; i < len; i++)
			fprintf(f, "%s%02x", i ? " " : "", b[i]);
		fputc(']', f);
	}
}

static int print_node(FILE *f, const void *fdt, int node, int depth)
{
	const char *name;
	int prop, child, ret;

	if (depth > DTS_MAX_DEPTH)
		return -ELOOP;
	name = fdt_get_name(fdt, node, NULL);
	if (!name)
		return -EINVAL;
	indent(f, depth);
	fprintf(f, "%s {\n", depth ? name : "/");
	fdt_for_each_property_offset(prop, fdt, node)
	{
		const char *pname;
		const void *val;
		int len;

		val = fdt_getprop_by_offset(fdt, prop, &pname, &len);
		if (!val)
			return -EINVAL;
		indent(f, depth + 1);
		fputs(pname, f);
		if (len) {
			fputs(" = ", f);
			print_value(f, val, len);
		}
		fputs(";\n", f);
	}
	if (prop != -FDT_ERR_NOTFOUND)
		return -EINVAL;
	fdt_for_each_subnode(child, fdt, node)
	{
		fputc('\n', f);
		ret = print_node(f, fdt, child, depth + 1);
		if (ret)
			return ret;
	}
	if (child != -FDT_ERR_NOTFOUND)
		return -EINVAL;
	indent(f, depth);
	fputs("};\n", f);
	return 0;
}

int inventory__print_dts(FILE *f, const void *blob, size_t size)
{
	int ret;

	if (size < sizeof(struct fdt_header) || fdt_check_full(blob, size))
		return -EINVAL;
	fputs("/dts-v1/;\n\n", f);
	ret = print_node(f, blob, 0, 0);
	if (!ret && (fflush(f) || ferror(f)))
		ret = -EIO;
	return ret;
}

/* ---- JSON ---- */

/* Add @val (NULL: out of memory) as @key; false if that failed. */
static bool put(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return false;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

static bool append(struct json_object *array, struct json_object *val)
{
	if (!val)
		return false;
	if (json_object_array_add(array, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* A topology value, or null when the host does not report it. */
static bool put_id(struct json_object *obj, const char *key, uint32_t v)
{
	if (v == INVENTORY_UNKNOWN)
		return !json_object_object_add(obj, key, NULL);
	return put(obj, key, json_object_new_uint64(v));
}

static struct json_object *cpu_json(const struct inventory_cpu *cpu,
				    const struct inventory_alloc *alloc)
{
	struct json_object *o = json_object_new_object();
	bool ok = o;

	ok = ok && put(o, "id", json_object_new_uint64(cpu->id));
	ok = ok && put_id(o, "package", cpu->package);
	ok = ok && put_id(o, "core", cpu->core);
	ok = ok && put_id(o, "thread", cpu->thread);
	ok = ok && put_id(o, "numa-node", cpu->node);
	ok = ok && put(o, "online", json_object_new_boolean(cpu->online));
	ok = ok && put(o, "allocated",
		       json_object_new_boolean(inventory__cpuset_test(&alloc->cpus, cpu->id)));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *memory_json(const struct host_inventory *inv)
{
	struct json_object *o = json_object_new_object(), *nodes = NULL;
	bool ok = o;

	ok = ok && put(o, "total", json_object_new_uint64(inv->mem_total));
	ok = ok && put(o, "nodes", nodes = json_object_new_array());
	for (unsigned int i = 0; ok && i < inv->nr_nodes; i++) {
		struct json_object *n = json_object_new_object();

		ok = append(nodes, n);
		ok = ok && put(n, "id", json_object_new_uint64(inv->nodes[i].id));
		ok = ok && put(n, "size", json_object_new_uint64(inv->nodes[i].mem_size));
	}
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *pci_json(const struct inventory_pci *d)
{
	struct json_object *o = json_object_new_object();
	char bdf[INVENTORY_BDF_MAX];
	bool ok = o;

	inventory__pci_bdf(d, bdf);
	ok = ok && put(o, "bdf", json_object_new_string(bdf));
	ok = ok && put(o, "vendor-id", json_object_new_uint64(d->vendor));
	ok = ok && put(o, "device-id", json_object_new_uint64(d->device));
	ok = ok && put(o, "class-code", json_object_new_uint64(d->class_code));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *alloc_json(const struct inventory_alloc *a)
{
	struct json_object *o = json_object_new_object();
	bool ok = o;

	ok = ok && put(o, "memory-max", json_object_new_uint64(a->mem_max));
	ok = ok && put(o, "memory-granted", json_object_new_uint64(a->mem_granted));
	ok = ok && put(o, "memory-reserved", json_object_new_uint64(a->mem_reserved));
	ok = ok && put(o, "vcpus-max", json_object_new_uint64(a->vcpus_max));
	ok = ok && put(o, "vcpus-granted", json_object_new_uint64(a->vcpus_granted));
	ok = ok && put(o, "granule", json_object_new_uint64(a->granule));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *inventory__to_json(const struct host_inventory *inv,
				       const struct inventory_alloc *alloc)
{
	struct json_object *o = json_object_new_object(), *cpus = NULL, *pci = NULL;
	bool ok = o;

	/* Each part joins @o as soon as it exists, so one put frees everything. */
	ok = ok && put(o, "generation", json_object_new_uint64(alloc->generation));
	ok = ok && put(o, "truncated", json_object_new_boolean(inv->truncated));
	ok = ok && put(o, "cpus", cpus = json_object_new_array());
	for (unsigned int i = 0; ok && i < inv->nr_cpus; i++)
		ok = append(cpus, cpu_json(&inv->cpus[i], alloc));
	ok = ok && put(o, "memory", memory_json(inv));
	ok = ok && put(o, "pci", pci = json_object_new_array());
	for (unsigned int i = 0; ok && i < inv->nr_pci; i++)
		ok = append(pci, pci_json(&inv->pci[i]));
	ok = ok && put(o, "allocation", alloc_json(alloc));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int inventory__print_json(FILE *f, const struct host_inventory *inv,
			  const struct inventory_alloc *alloc)
{
	struct json_object *o = inventory__to_json(inv, alloc);
	const char *s;
	int ret = 0;

	if (!o)
		return -ENOMEM;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		ret = -ENOMEM;
	else if (fprintf(f, "%s\n", s) < 0 || fflush(f))
		ret = -EIO;
	json_object_put(o);
	return ret;
}

/* ---- accord inventory ---- */

int inventory__print_host(FILE *f, const char *sysroot, enum inventory_format format,
			  struct acc_err *err)
{
	struct inventory_alloc alloc;
	struct host_inventory *inv;
	size_t cap;
	void *blob;
	int ret;

	inv = malloc(sizeof(*inv));
	if (!inv)
		return acc_errf(err, ENOMEM, "inventory: out of memory");
	ret = inventory__scan(sysroot, inv, err);
	if (ret)
		goto free_inv;
	inventory__host_alloc(inv, &alloc);
	if (format == INVENTORY_FORMAT_JSON) {
		ret = inventory__print_json(f, inv, &alloc);
		if (ret)
			acc_errf(err, -ret, "inventory: printing JSON: %s", strerror(-ret));
		goto free_inv;
	}

	cap = inventory__fdt_size_bound(inv);
	blob = malloc(cap);
	if (!blob) {
		ret = acc_errf(err, ENOMEM, "inventory: out of memory");
		goto free_inv;
	}
	ret = inventory__to_fdt(inv, &alloc, blob, cap, err);
	if (ret >= 0) {
		ret = inventory__print_dts(f, blob, (size_t)ret);
		if (ret)
			acc_errf(err, -ret, "inventory: printing DTS: %s", strerror(-ret));
	}
	free(blob);
free_inv:
	free(inv);
	return ret;
}
