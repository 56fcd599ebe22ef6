// SPDX-License-Identifier: MIT
/*
 * accord-bench: accord and QEMU side by side, booting the same probe ELF
 * (QEMU: -machine microvm, PVH). Each run starts both, in alternating order,
 * so drift on the machine touches both alike.
 *
 *   launch     exec to exit of a probe that exits at once (action=exit-now)
 *   memory     peak RSS minus the guest RAM touched, with the guest halted
 *              at once (action=halt-now): VmHWM minus the Rss of the guest
 *              RAM mapping (the one mapping of exactly the guest's size)
 *   virtqueue  the probe at CPL 3: 64-byte virtio-rng requests, polled, and
 *              the floors in the same VM (bench=exits,rng)
 *   control    status queries per second and their latency, 1 and 8 clients
 *              (qmp-load against accord's --api-socket and QEMU's -qmp)
 * and, accord alone, request-to-grant round trips on the resource device.
 */
#include "bench.h"
#include "bench_argv.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GUEST_MEM     "64M"
#define GUEST_MEM_KB  (64L << 10)
#define VM_TIMEOUT_MS 30000
#define QEMU_MICROVM_LEAN \
	"microvm,x-option-roms=off,isa-serial=off,rtc=off,pit=off,pic=off,acpi=off"
#define QEMU_PCIE_ARGS "pci-ecam=0xe0000000 pci-mmio=0xc0000000"

enum vmm { VMM_ACCORD, VMM_QEMU, NR_VMM };

static const char *const vmm_names[NR_VMM] = { "accord", "qemu" };

static const char *probe_path(const struct bench_ctx *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/guest/probe/probe.elf", c->build_dir);
	return buf;
}

/*
 * The VMM's command line for the probe with cmdline; console: a file for
 * the probe's report, or NULL for none. pcie: QEMU needs its PCIe host
 * (microvm has no PCI otherwise) for virtio-pci devices.
 */
static void vm_argv(const struct bench_ctx *c, enum vmm v, struct argv_buf *a, const char *mem,
		    const char *cmdline, const char *console, bool pcie)
{
	char probe[512];

	probe_path(c, probe, sizeof(probe));
	if (v == VMM_ACCORD) {
		argv_add(a, "%s/accord", c->build_dir);
		argv_add(a, "run");
		argv_add(a, "--accel");
		argv_add(a, "kvm");
		argv_add(a, "--kernel");
		argv_add(a, "%s", probe);
		argv_add(a, "--memory");
		argv_add(a, "%s", mem);
		argv_add(a, "--console");
		if (console)
			argv_add(a, "file=%s", console);
		else
			argv_add(a, "none");
		argv_add(a, "--log-level");
		argv_add(a, "warn");
		argv_add(a, "--cmdline");
		argv_add(a, "%s", cmdline);
		return;
	}
	argv_add(a, "%s", c->qemu);
	argv_add(a, "-machine");
	if (pcie)
		argv_add(a, "microvm,pcie=on,x-option-roms=off,rtc=off"); /* PCIe needs ACPI */
	else if (console)
		argv_add(a, "microvm,x-option-roms=off,rtc=off,pit=off,pic=off,acpi=off");
	else
		argv_add(a, QEMU_MICROVM_LEAN);
	argv_add(a, "-accel");
	argv_add(a, "kvm");
	argv_add(a, "-m");
	argv_add(a, "%s", mem);
	argv_add(a, "-display");
	argv_add(a, "none");
	argv_add(a, "-nodefaults");
	argv_add(a, "-no-user-config");
	argv_add(a, "-no-reboot");
	argv_add(a, "-device");
	argv_add(a, "isa-debug-exit,iobase=0xf4,iosize=1");
	if (console) {
		argv_add(a, "-serial");
		argv_add(a, "file:%s", console);
	}
	argv_add(a, "-kernel");
	argv_add(a, "%s", probe);
	argv_add(a, "-append");
	if (pcie)
		argv_add(a, "%s %s", cmdline, QEMU_PCIE_ARGS);
	else
		argv_add(a, "%s", cmdline);
}

/* The probe's "everything passed" as the VMM's exit code (QEMU: (status << 1) | 1). */
static int pass_code(enum vmm v)
{
	return v == VMM_ACCORD ? 0 : 1;
}

static struct bench_series *vmm_series(struct bench_ctx *c, const char *group, enum vmm v,
				       const char *title, const char *unit)
{
	char id[64];

	snprintf(id, sizeof(id), "%s.%s", group, vmm_names[v]);
	return bench_series(c, group, id, title, unit);
}

static bool have_qemu(struct bench_ctx *c, const char *group, const char *title, const char *unit)
{
	if (c->qemu)
		return true;
	bench_skip(vmm_series(c, group, VMM_QEMU, title, unit),
		   "qemu-system-x86_64 not found (scripts/setup-deps installs it)");
	return false;
}

static void out_path(const struct bench_ctx *c, char *buf, size_t len, const char *what, enum vmm v)
{
	snprintf(buf, len, "%s/%s-%s.out", c->tmp_dir, what, vmm_names[v]);
}

/* Show what a failed VM printed, briefly. */
static void log_failure(const struct bench_ctx *c, const char *what, enum vmm v, const char *path,
			int code)
{
	char *text = bench_slurp(path);
	size_t len = text ? strlen(text) : 0;

	bench_log(c, "%s under %s: exit code %d; last output: %s", what, vmm_names[v], code,
		  len > 600 ? text + len - 600
		  : text    ? text
			    : "(none)");
	free(text);
}

int bench_vmm_launch(struct bench_ctx *c)
{
	static const char title[] = "launch to exit (probe exits at once)";
	unsigned int runs = c->smoke ? 2 : c->runs * 2;
	int ret = 0;

	have_qemu(c, "launch", title, "ms");
	for (unsigned int r = 0; r < runs && !ret; r++) {
		for (unsigned int k = 0; k < NR_VMM; k++) {
			enum vmm v = (enum vmm)((r + k) % NR_VMM);
			struct bench_series *s = vmm_series(c, "launch", v, title, "ms");
			struct argv_buf a = { 0 };
			struct bench_child ch;
			char out[512];

			if (v == VMM_QEMU && !c->qemu)
				continue;
			vm_argv(c, v, &a, GUEST_MEM, "action=exit-now", NULL, false);
			bench_set_command(s, a.v);
			out_path(c, out, sizeof(out), "launch", v);
			ret = bench_spawn(a.v, out, &ch);
			if (ret)
				break;
			if (bench_wait(&ch, VM_TIMEOUT_MS)) {
				bench_kill(&ch);
				ret = -ETIMEDOUT;
			} else if (bench_exit_code(&ch) != pass_code(v)) {
				ret = -EIO;
			}
			if (ret) {
				log_failure(c, "launch", v, out, bench_exit_code(&ch));
				break;
			}
			bench_add(s, ch.wall_ms);
		}
	}
	return ret;
}

/* Sum of Rss over the writable mappings of exactly size_kb (the guest's RAM). */
static long guest_rss_kb(pid_t pid, long size_kb)
{
	char path[64], *text, *line, *save = NULL;
	long rss = 0, size = -1;
	bool writable = false;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	text = bench_slurp(path);
	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char perms[8];

		if (sscanf(line, "%*x-%*x %7s", perms) == 1 && strchr(line, '-') &&
		    strchr("0123456789abcdef", line[0])) {
			writable = perms[0] == 'r' && perms[1] == 'w';
			size = -1;
		} else if (!strncmp(line, "Size:", 5)) {
			size = strtol(line + 5, NULL, 10);
		} else if (!strncmp(line, "Rss:", 4) && writable && size == size_kb) {
			rss += strtol(line + 4, NULL, 10);
		}
	}
	free(text);
	return rss;
}

/* utime + stime of pid in clock ticks; -1 if gone. */
static long cpu_ticks(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long ut = 0, st = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	text = bench_slurp(path);
	p = text ? strrchr(text, ')') : NULL;
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
		free(text);
		return -1;
	}
	free(text);
	return (long)(ut + st);
}

/* Wait until the process has used no CPU for 100 ms (its guest halted), at most 5 s. */
static void wait_quiet(pid_t pid)
{
	long last = -2;

	for (int i = 0; i < 50; i++) {
		long now;

		usleep(100000);
		now = cpu_ticks(pid);
		if (now < 0 || now == last)
			return;
		last = now;
	}
}

int bench_vmm_memory(struct bench_ctx *c)
{
	static const char title[] = "VMM memory overhead (peak RSS minus guest RAM touched)";
	unsigned int runs = c->smoke ? 1 : c->runs;
	int ret = 0;

	have_qemu(c, "memory", title, "MiB");
	for (unsigned int r = 0; r < runs && !ret; r++) {
		for (unsigned int k = 0; k < NR_VMM; k++) {
			enum vmm v = (enum vmm)((r + k) % NR_VMM);
			struct bench_series *s = vmm_series(c, "memory", v, title, "MiB");
			struct bench_series *g = vmm_series(
				c, "memory_guest", v, "guest RAM touched (subtracted)", "MiB");
			struct argv_buf a = { 0 };
			struct bench_child ch;
			long hwm, guest;
			char out[512];

			if (v == VMM_QEMU && !c->qemu)
				continue;
			vm_argv(c, v, &a, GUEST_MEM, "action=halt-now", NULL, false);
			bench_set_command(s, a.v);
			bench_set_command(g, a.v);
			out_path(c, out, sizeof(out), "memory", v);
			ret = bench_spawn(a.v, out, &ch);
			if (ret)
				break;
			wait_quiet(ch.pid);
			hwm = bench_status_kb(ch.pid, "VmHWM:");
			guest = guest_rss_kb(ch.pid, GUEST_MEM_KB);
			bench_kill(&ch);
			if (hwm < 0 || guest < 0) {
				log_failure(c, "memory", v, out, bench_exit_code(&ch));
				ret = -EIO;
				break;
			}
			bench_add(s, (double)(hwm - guest) / 1024);
			bench_add(g, (double)guest / 1024);
		}
	}
	return ret;
}

/* A "probe: bench NAME ..." line's figures, in cycles. */
struct probe_bench {
	unsigned long iters, min, p50, p90, p99, max, mean;
};

static bool parse_bench(const char *report, const char *name, struct probe_bench *b)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "probe: bench %s ", name);
	p = strstr(report, key);
	if (!p)
		return false;
	p = strstr(p, " iterations ");
	return p &&
	       sscanf(p, " iterations %lu cycles min %lu p50 %lu p90 %lu p99 %lu max %lu mean %lu",
		      &b->iters, &b->min, &b->p50, &b->p90, &b->p99, &b->max, &b->mean) == 7;
}

static double cycles_us(const struct bench_ctx *c, unsigned long cycles)
{
	return (double)cycles / c->tsc_hz * 1e6;
}

/* Run the probe with cmdline and collect its report (NULL on failure, logged). */
static char *run_probe(struct bench_ctx *c, enum vmm v, const char *what, const char *mem,
		       const char *cmdline, bool device, const char *const extra[],
		       struct argv_buf *a)
{
	struct bench_child ch;
	char out[512], console[512];
	char *report = NULL;

	out_path(c, out, sizeof(out), what, v);
	snprintf(console, sizeof(console), "%s/%s-%s.console", c->tmp_dir, what, vmm_names[v]);
	vm_argv(c, v, a, mem, cmdline, console, device && v == VMM_QEMU);
	for (unsigned int i = 0; extra && extra[i]; i++)
		argv_add(a, "%s", extra[i]);
	if (bench_spawn(a->v, out, &ch))
		return NULL;
	if (bench_wait(&ch, VM_TIMEOUT_MS)) {
		bench_kill(&ch);
		log_failure(c, what, v, out, -1);
		return NULL;
	}
	report = bench_slurp(console);
	if (!report || !strstr(report, "probe: result:")) {
		log_failure(c, what, v, out, bench_exit_code(&ch));
		free(report);
		return NULL;
	}
	return report;
}

/* Add a probe benchmark's p50 and p99 (microseconds) to group_p50/_p99. */
static int add_probe_figures(struct bench_ctx *c, enum vmm v, const char *report, const char *name,
			     const char *group, const char *title, const char *cmd_from)
{
	struct probe_bench b;
	char g50[48], g99[48], t50[160], t99[160];
	struct bench_series *s50, *s99;
	char check[64];

	snprintf(check, sizeof(check), "check bench-%s ok", name);
	if (!parse_bench(report, name, &b) || !strstr(report, check)) {
		bench_log(c, "%s under %s: no complete \"bench %s\" figures in the report", group,
			  vmm_names[v], name);
		return -EIO;
	}
	snprintf(g50, sizeof(g50), "%s_p50", group);
	snprintf(g99, sizeof(g99), "%s_p99", group);
	snprintf(t50, sizeof(t50), "%s, p50", title);
	snprintf(t99, sizeof(t99), "%s, p99", title);
	s50 = vmm_series(c, g50, v, t50, "us");
	s99 = vmm_series(c, g99, v, t99, "us");
	bench_add(s50, cycles_us(c, b.p50));
	bench_add(s99, cycles_us(c, b.p99));
	if (s50 && s99) {
		snprintf(s50->command, sizeof(s50->command), "%s", cmd_from);
		snprintf(s99->command, sizeof(s99->command), "%s", cmd_from);
	}
	return 0;
}

int bench_vmm_virtqueue(struct bench_ctx *c)
{
	static const char *const accord_rng[] = { "--rng", NULL };
	static const char *const qemu_rng[] = { "-device", "virtio-rng-pci,disable-legacy=on",
						NULL };
	unsigned int runs = c->smoke ? 1 : c->runs;
	unsigned int iters = c->smoke ? 200 : 20000;
	char cmdline[256];
	int ret = 0;

	snprintf(cmdline, sizeof(cmdline), "mptable=off smp=off bench=exits,rng bench-iters=%u",
		 iters);
	have_qemu(c, "rng_p50", "virtio-rng 64-byte round trip, polled at CPL 3, p50", "us");
	for (unsigned int r = 0; r < runs && !ret; r++) {
		for (unsigned int k = 0; k < NR_VMM && !ret; k++) {
			enum vmm v = (enum vmm)((r + k) % NR_VMM);
			struct argv_buf a = { 0 };
			char cmd[BENCH_CMD_MAX];
			char *report;

			if (v == VMM_QEMU && !c->qemu)
				continue;
			report = run_probe(c, v, "virtqueue", GUEST_MEM, cmdline, true,
					   v == VMM_ACCORD ? accord_rng : qemu_rng, &a);
			if (!report) {
				ret = -EIO;
				break;
			}
			bench_format_command(a.v, cmd, sizeof(cmd));
			ret = add_probe_figures(c, v, report, "rng", "rng",
						"virtio-rng 64-byte round trip, polled at CPL 3",
						cmd);
			if (!ret)
				ret = add_probe_figures(
					c, v, report, "ioeventfd", "floor_ioeventfd",
					"floor: a bare ioeventfd notify (empty queue)", cmd);
			if (!ret)
				ret = add_probe_figures(
					c, v, report, "mmio-exit", "floor_exit",
					"floor: a bare userspace exit (unclaimed MMIO write)", cmd);
			free(report);
		}
	}
	return ret;
}

int bench_accord_grant(struct bench_ctx *c)
{
	unsigned int runs = c->smoke ? 1 : c->runs;
	unsigned int iters = c->smoke ? 100 : 5000;
	char cmdline[256];
	int ret = 0;

	snprintf(cmdline, sizeof(cmdline),
		 "mptable=off smp=off resource=balloon bench=grant bench-iters=%u", iters);
	for (unsigned int r = 0; r < runs && !ret; r++) {
		struct argv_buf a = { 0 };
		char cmd[BENCH_CMD_MAX];
		char *report =
			run_probe(c, VMM_ACCORD, "grant", "64M,max=256M", cmdline, true, NULL, &a);

		if (!report)
			return -EIO;
		bench_format_command(a.v, cmd, sizeof(cmd));
		ret = add_probe_figures(
			c, VMM_ACCORD, report, "grant", "grant",
			"request-to-grant round trip (probe on KVM, polled at CPL 3)", cmd);
		free(report);
	}
	return ret;
}

/*
 * The control benchmark runs the VMM and qmp-load on the same CPU: on this
 * machine a wake-up across cores costs more than the request (p50 ~60 us
 * against ~14 us on one core), and which placement the scheduler picks would
 * otherwise decide the figure. Both VMMs get the same placement.
 */
#define CONTROL_CPU  0
#define QMP_CLIENTS  8
#define QMP_SOCK_MAX 8 /* QEMU: one client per -qmp socket, so one socket per client */

struct load_figures {
	double rps, p50, p99;
};

/* qmp-load with clients connections over the first nsock of socks. */
static int run_qmp_load(struct bench_ctx *c, char socks[][512], unsigned int nsock,
			unsigned int clients, struct load_figures *f, char *cmd, size_t cmd_len)
{
	struct argv_buf a = { 0 };
	struct json_object *j = NULL, *v;
	char *out = NULL;
	int code;

	argv_add(&a, "%s/test/bench/load/qmp-load", c->build_dir);
	for (unsigned int i = 0; i < nsock; i++) {
		argv_add(&a, "--socket");
		argv_add(&a, "%s", socks[i]);
	}
	argv_add(&a, "--clients");
	argv_add(&a, "%u", clients);
	argv_add(&a, "--duration");
	argv_add(&a, "%s", c->smoke ? "0.5" : "3");
	argv_add(&a, "--warmup");
	argv_add(&a, "%s", c->smoke ? "0.1" : "0.5");
	bench_format_command(a.v, cmd, cmd_len);
	code = bench_run_capture_on(a.v, 60000, CONTROL_CPU, &out);
	if (code == 0 && out)
		j = json_tokener_parse(out);
	if (!j || !json_object_object_get_ex(j, "rps", &v)) {
		bench_log(c, "qmp-load against %s: exit %d, output: %s", socks[0], code,
			  out ? out : "(none)");
		json_object_put(j);
		free(out);
		return -EIO;
	}
	f->rps = json_object_get_double(v);
	f->p50 = json_object_object_get_ex(j, "p50_us", &v) ? json_object_get_double(v) : 0;
	f->p99 = json_object_object_get_ex(j, "p99_us", &v) ? json_object_get_double(v) : 0;
	json_object_put(j);
	free(out);
	return 0;
}

static void add_control(struct bench_ctx *c, enum vmm v, unsigned int clients,
			const struct load_figures *f, const char *cmd)
{
	static const char *const what[3] = { "rps", "p50", "p99" };
	const double val[3] = { f->rps, f->p50, f->p99 };

	for (unsigned int i = 0; i < 3; i++) {
		char group[32], title[128];
		struct bench_series *s;

		snprintf(group, sizeof(group), "qmp%u_%s", clients, what[i]);
		if (i == 0)
			snprintf(title, sizeof(title), "status queries per second, %u client%s",
				 clients, clients > 1 ? "s" : "");
		else
			snprintf(title, sizeof(title), "status query latency, %u client%s, %s",
				 clients, clients > 1 ? "s" : "", what[i]);
		s = vmm_series(c, group, v, title, i ? "us" : "req/s");
		bench_add(s, val[i]);
		if (s)
			snprintf(s->command, sizeof(s->command), "%s", cmd);
	}
}

/* One VMM with a halted guest and its control socket(s); both client counts against it. */
static int control_run(struct bench_ctx *c, enum vmm v)
{
	static const unsigned int clients[] = { 1, QMP_CLIENTS };
	char socks[QMP_SOCK_MAX][512], out[512], vm_cmd[BENCH_CMD_MAX];
	unsigned int nsock = v == VMM_ACCORD ? 1 : QMP_SOCK_MAX;
	struct argv_buf a = { 0 };
	struct bench_child ch;
	int ret;

	out_path(c, out, sizeof(out), "control", v);
	vm_argv(c, v, &a, GUEST_MEM, "action=halt-now", NULL, false);
	for (unsigned int i = 0; i < nsock; i++) {
		snprintf(socks[i], sizeof(socks[i]), "%s/control-%s-%u.sock", c->tmp_dir,
			 vmm_names[v], i);
		unlink(socks[i]);
		if (v == VMM_ACCORD) {
			argv_add(&a, "--api-socket");
			argv_add(&a, "%s", socks[i]);
		} else {
			argv_add(&a, "-qmp");
			argv_add(&a, "unix:%s,server=on,wait=off", socks[i]);
		}
	}
	bench_format_command(a.v, vm_cmd, sizeof(vm_cmd));
	ret = bench_spawn_on(a.v, out, CONTROL_CPU, &ch);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < nsock; i++) {
		if (!bench_wait_socket(socks[i], 10000)) {
			log_failure(c, "control", v, out, -1);
			ret = -EIO;
			goto kill_vm;
		}
	}
	for (unsigned int i = 0; i < 2 && !ret; i++) {
		char load_cmd[BENCH_CMD_MAX], cmd[BENCH_CMD_MAX];
		struct load_figures f;

		ret = run_qmp_load(c, socks, clients[i] < nsock ? clients[i] : nsock, clients[i],
				   &f, load_cmd, sizeof(load_cmd));
		if (ret)
			break;
		snprintf(cmd, sizeof(cmd), "taskset -c %d %.900s &  taskset -c %d %.900s",
			 CONTROL_CPU, vm_cmd, CONTROL_CPU, load_cmd);
		add_control(c, v, clients[i], &f, cmd);
	}
kill_vm:
	bench_kill(&ch);
	return ret;
}

int bench_vmm_control(struct bench_ctx *c)
{
	unsigned int runs = c->smoke ? 1 : c->runs;
	int ret = 0;

	have_qemu(c, "qmp1_rps", "status queries per second, 1 client", "req/s");
	for (unsigned int r = 0; r < runs && !ret; r++) {
		for (unsigned int k = 0; k < NR_VMM && !ret; k++) {
			enum vmm v = (enum vmm)((r + k) % NR_VMM);

			if (v == VMM_QEMU && !c->qemu)
				continue;
			ret = control_run(c, v);
		}
	}
	return ret;
}
