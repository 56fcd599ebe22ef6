// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "accord/cli.h"
#include "accord/log.h"
#include "accord/size.h"

const char cli_usage[] =
	"Usage: accord COMMAND [OPTIONS]\n"
	"\n"
	"accord is a KVM virtual machine monitor whose guests negotiate their resources.\n"
	"\n"
	"Commands:\n"
	"  run        boot a virtual machine (see 'accord run --help')\n"
	"  hostd      run the broker that shares this host between VMs ('accord hostd --help')\n"
	"  ctl        send a command to a VM's or the broker's socket ('accord ctl --help')\n"
	"  top        watch every VM on a broker, live ('accord top --help')\n"
	"  inventory  print this host's hardware description (see 'accord inventory --help')\n"
	"  help       show this help\n"
	"  version    print the version\n";

const char cli_run_usage[] =
	"Usage: accord run [--kernel PATH] [OPTIONS]\n"
	"\n"
	"Boot a virtual machine on /dev/kvm, or a User-mode Linux guest whose devices\n"
	"accord serves over vhost-user.\n"
	"\n"
	"Options:\n"
	"  --accel kvm|uml|auto what runs the guest (default auto): kvm runs an x86\n"
	"                       kernel on /dev/kvm; uml starts a User-mode Linux kernel\n"
	"                       as a child process and serves its devices over\n"
	"                       vhost-user; auto takes kvm for an x86 kernel, and for a\n"
	"                       User-mode Linux kernel or the default guest takes kvm\n"
	"                       only where a quick calibration shows KVM running guest\n"
	"                       kernel code at speed, else uml (it says which and why)\n"
	"  --kernel PATH        guest kernel: a bzImage (64-bit boot protocol), an ELF64\n"
	"                       image (vmlinux; a PVH entry note is used when present) or,\n"
	"                       with uml, a User-mode Linux kernel binary. Without it the\n"
	"                       default guest boots: Linux with the virtio_resource module,\n"
	"                       resctl and a demo workload (scripts/guest-image builds it)\n"
	"  --initrd PATH        initial ramdisk loaded for the kernel\n"
	"  --cmdline STR        kernel command line (at most 4095 bytes)\n"
	"  --memory SIZE[,max=MAX]\n"
	"                       guest RAM, e.g. 512M or 2G; a bare number is MiB (default\n"
	"                       128M; a multiple of 1M, from 8M up to the host's RAM). With\n"
	"                       max, the guest has MAX of RAM of which SIZE is granted at\n"
	"                       boot; it reserves the rest (in 2M granules) until granted\n"
	"  --cpus N[,max=M]     vCPUs, 1 to 254 (default 1); with max, M vCPUs exist and N\n"
	"                       run, the others stay parked until granted\n"
	"  --pool memory=SIZE,cpus=N\n"
	"                       what this VM's own policy grants at most (default: its max)\n"
	"  --broker PATH[,weight=N][,memory-floor=SIZE][,vcpus-floor=N]\n"
	"                       let the host's broker (accord hostd --socket PATH) decide;\n"
	"                       needs --name, the VM's name at the broker (default weight\n"
	"                       100; floors: what the VM keeps when the host is short)\n"
	"  --share DIR          a directory the guest may read through the resource device\n"
	"  --api-socket PATH    control socket (QMP framing, JSON), created with mode 0600\n"
	"  --console MODE       the guest console (COM1, or UML's con0): stdio (default),\n"
	"                       file=PATH, or none\n"
	"  --rng                a virtio-rng device fed from the host's getrandom()\n"
	"  --disk PATH[,readonly=on|off][,serial=ID]\n"
	"                       a virtio-blk device on a raw image or block device\n"
	"                       (up to 8; ID is at most 20 bytes, default: the file name)\n"
	"  --name NAME          name used in log messages\n"
	"  --log-level LEVEL    error, warn, info (default) or debug\n"
	"  --seccomp on|log|off system-call allowlists per thread once the VM runs\n"
	"                       (default " SANDBOX_DEFAULT_NAME
	"): on stops accord with a message\n"
	"                       naming a call outside the list (exit status 159), log lets\n"
	"                       it through and the kernel logs it (dmesg), off is for\n"
	"                       debugging (and the default of sanitizer builds, whose leak\n"
	"                       check needs calls no list allows).\n"
	"                       Capabilities are dropped before the guest starts either way\n"
	"  --runas USER|UID:GID with --accel uml, the User-mode Linux process runs as this\n"
	"                       user (its primary group, no supplementary groups) instead\n"
	"                       of accord's; accord must start as root. Not root itself.\n"
	"  -h, --help           show this help\n"
	"\n"
	"On a terminal the console is in raw mode; press Ctrl-a x to stop the VM and\n"
	"Ctrl-a Ctrl-a to send Ctrl-a to the guest.\n"
	"\n"
	"Guest devices: COM1 8250 UART (I/O 0x3f8, IRQ 4), PCI host bridge on ports\n"
	"0xcf8/0xcfc, debug-exit port 0xf4, reset on 0x64 (0xfe) and 0xcf9,\n"
	"power-off on 0x604 (SLP_EN, bit 13). virtio devices are modern-only\n"
	"virtio-pci functions on bus 0 with MSI-X, from slot 1 in option order.\n"
	"\n"
	"Exit status:\n"
	"  0        the guest powered off, or wrote 0 to the debug-exit port\n"
	"  N        the guest wrote N (1-255, low byte) to the debug-exit port 0xf4;\n"
	"           with uml, the User-mode Linux process exited with N\n"
	"  1        accord could not start the VM (the message says why)\n"
	"  120      the guest asked for a reboot (accord stops the VM instead)\n"
	"  121      the guest triple-faulted (KVM shutdown exit)\n"
	"  122      KVM reported an internal error or a failed VM entry; with uml,\n"
	"           the User-mode Linux process was killed by a signal\n"
	"  123      accord hit an internal error while the VM ran\n"
	"  128+SIG  accord was stopped by signal SIG (e.g. 130 for SIGINT, 143 for\n"
	"           SIGTERM) or by Ctrl-a x (130)\n"
	"  159      a thread made a system call outside its seccomp allowlist\n";

enum run_opt {
	OPT_ACCEL,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_CONSOLE,
	OPT_NAME,
	OPT_LOG_LEVEL,
	OPT_RNG,
	OPT_DISK,
	OPT_SHARE,
	OPT_API_SOCKET,
	OPT_POOL,
	OPT_BROKER,
	OPT_SECCOMP,
	OPT_RUNAS,
	OPT_HELP,
};

struct opt_desc {
	const char *name;
	enum run_opt id;
	bool takes_value;
};

static const struct opt_desc run_opts[] = {
	{ "kernel", OPT_KERNEL, true },	  { "initrd", OPT_INITRD, true },
	{ "cmdline", OPT_CMDLINE, true }, { "memory", OPT_MEMORY, true },
	{ "cpus", OPT_CPUS, true },	  { "console", OPT_CONSOLE, true },
	{ "name", OPT_NAME, true },	  { "log-level", OPT_LOG_LEVEL, true },
	{ "rng", OPT_RNG, false },	  { "disk", OPT_DISK, true },
	{ "share", OPT_SHARE, true },	  { "api-socket", OPT_API_SOCKET, true },
	{ "pool", OPT_POOL, true },	  { "help", OPT_HELP, false },
	{ "accel", OPT_ACCEL, true },	  { "broker", OPT_BROKER, true },
	{ "seccomp", OPT_SECCOMP, true }, { "runas", OPT_RUNAS, true },
};

static const struct opt_desc *opt__find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(run_opts) / sizeof(run_opts[0]); i++) {
		if (strlen(run_opts[i].name) == len && !strncmp(run_opts[i].name, name, len))
			return &run_opts[i];
	}
	return NULL;
}

const char *cli__run_option(unsigned int i)
{
	return i < sizeof(run_opts) / sizeof(run_opts[0]) ? run_opts[i].name : NULL;
}

static int parse_console(const char *v, struct run_config *cfg, struct acc_err *err)
{
	if (!strcmp(v, "stdio")) {
		cfg->console = CONSOLE_STDIO;
	} else if (!strcmp(v, "none")) {
		cfg->console = CONSOLE_NONE;
	} else if (!strncmp(v, "file=", 5)) {
		if (!v[5])
			return acc_errf(err, EINVAL, "--console: file= needs a path");
		cfg->console = CONSOLE_FILE;
		cfg->console_path = v + 5;
	} else {
		return acc_errf(err, EINVAL, "--console: '%s' is not stdio, file=PATH or none", v);
	}
	return 0;
}

/* "VALUE[,max=MAX]": split off the max= part, if any. */
static int split_max(const char *opt, const char *v, char *first, size_t cap, const char **max,
		     struct acc_err *err)
{
	const char *comma = strchr(v, ',');
	size_t len = comma ? (size_t)(comma - v) : strlen(v);

	if (len >= cap)
		return acc_errf(err, EINVAL, "%s: '%s' is too long", opt, v);
	memcpy(first, v, len);
	first[len] = '\0';
	*max = NULL;
	if (!comma)
		return 0;
	if (strncmp(comma + 1, "max=", 4) || !comma[5])
		return acc_errf(err, EINVAL, "%s: '%s' should be VALUE or VALUE,max=MAX", opt,
				comma + 1);
	*max = comma + 5;
	return 0;
}

static int parse_mem_size(const char *v, const struct host_limits *limits, uint64_t *out,
			  struct acc_err *err)
{
	uint64_t size, max = RUN_MAX_MEM_SIZE;
	int ret;

	ret = size__parse(v, 1ull << 20, &size, err);
	if (ret) {
		acc_err_prefix(err, "--memory: ");
		return ret;
	}
	if (size < RUN_MIN_MEM_SIZE)
		return acc_errf(err, ERANGE, "--memory: %s is less than the minimum of 8M", v);
	if (size % RUN_MEM_ALIGN)
		return acc_errf(err, EINVAL, "--memory: %s is not a multiple of 1M", v);
	if (limits && limits->mem_size && limits->mem_size < max)
		max = limits->mem_size;
	if (size > max)
		return acc_errf(err, ERANGE, "--memory: %s is more than the host's %llu MiB", v,
				(unsigned long long)(max >> 20));
	*out = size;
	return 0;
}

static int parse_memory(const char *v, const struct host_limits *limits, struct run_config *cfg,
			struct acc_err *err)
{
	const char *max_str;
	uint64_t size, max;
	char first[64];
	int ret;

	ret = split_max("--memory", v, first, sizeof(first), &max_str, err);
	if (!ret)
		ret = parse_mem_size(first, limits, &size, err);
	if (ret)
		return ret;
	max = size;
	if (max_str) {
		ret = parse_mem_size(max_str, limits, &max, err);
		if (ret)
			return ret;
		if (max < size)
			return acc_errf(err, ERANGE, "--memory: max=%s is less than %s", max_str,
					first);
		if ((max - size) % RUN_MEM_GRANULE)
			return acc_errf(err, EINVAL,
					"--memory: max minus size must be a multiple of 2M");
	}
	cfg->mem_size = max;
	cfg->mem_grant = size;
	return 0;
}

static int parse_cpu_count(const char *v, const struct host_limits *limits, unsigned int *out,
			   struct acc_err *err)
{
	unsigned int max = RUN_MAX_CPUS;
	uint64_t n;
	int ret;

	if (limits && limits->max_cpus && limits->max_cpus < max)
		max = limits->max_cpus;
	ret = uint__parse(v, 1, max, &n, err);
	if (ret) {
		acc_err_prefix(err, "--cpus: ");
		return ret;
	}
	*out = (unsigned int)n;
	return 0;
}

static int parse_cpus(const char *v, const struct host_limits *limits, struct run_config *cfg,
		      struct acc_err *err)
{
	unsigned int n, max;
	const char *max_str;
	char first[32];
	int ret;

	ret = split_max("--cpus", v, first, sizeof(first), &max_str, err);
	if (!ret)
		ret = parse_cpu_count(first, limits, &n, err);
	if (ret)
		return ret;
	max = n;
	if (max_str) {
		ret = parse_cpu_count(max_str, limits, &max, err);
		if (ret)
			return ret;
		if (max < n)
			return acc_errf(err, ERANGE, "--cpus: max=%s is less than %s", max_str,
					first);
	}
	cfg->cpus = max;
	cfg->cpus_grant = n;
	return 0;
}

int cli__parse_kinds(const char *opt, const char *v, uint64_t *memory, uint64_t *cpus,
		     uint64_t min_cpus, struct acc_err *err)
{
	const char *p = v;

	do {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[64];
		int ret;

		if (len >= sizeof(item))
			return acc_errf(err, EINVAL, "%s: '%s' is too long", opt, p);
		memcpy(item, p, len);
		item[len] = '\0';
		if (!strncmp(item, "memory=", 7)) {
			ret = size__parse(item + 7, 1ull << 20, memory, err);
		} else if (!strncmp(item, "cpus=", 5)) {
			ret = uint__parse(item + 5, min_cpus, RUN_MAX_CPUS, cpus, err);
		} else {
			return acc_errf(err, EINVAL, "%s: '%s' is not memory=SIZE or cpus=N", opt,
					item);
		}
		if (ret) {
			acc_err_prefix(err, "%s: ", opt);
			return ret;
		}
		p = comma ? comma + 1 : NULL;
	} while (p);
	return 0;
}

/* UID:GID, or USER (a name in the password database); never root. */
static int parse_runas(const char *v, struct run_config *cfg, struct acc_err *err)
{
	unsigned long long uid, gid;
	struct passwd pw, *found = NULL;
	size_t cap = 1024;
	char *buf = NULL, *end;
	int ret;

	if (!*v)
		return acc_errf(err, EINVAL, "--runas: empty user");
	errno = 0;
	uid = strtoull(v, &end, 10);
	if (end != v && *end == ':' && end[1] >= '0' && end[1] <= '9' && !errno) {
		gid = strtoull(end + 1, &end, 10);
		if (errno || *end || uid >= UINT32_MAX || gid >= UINT32_MAX)
			return acc_errf(err, EINVAL, "--runas: '%s' is not USER or UID:GID", v);
	} else {
		/* Names may start with a digit; a long NSS entry needs a bigger buffer. */
		do {
			char *grown = realloc(buf, cap);

			if (!grown) {
				free(buf);
				return acc_errf(err, ENOMEM, "--runas: out of memory");
			}
			buf = grown;
			ret = getpwnam_r(v, &pw, buf, cap, &found);
			cap *= 2;
		} while (ret == ERANGE && cap <= (1u << 20));
		if (ret || !found) {
			free(buf);
			if (!ret && strchr(v, ':'))
				return acc_errf(err, EINVAL, "--runas: '%s' is not USER or UID:GID",
						v);
			return acc_errf(err, ret ? ret : ENOENT, "--runas: no user '%s'%s%s", v,
					ret ? ": " : "", ret ? strerror(ret) : "");
		}
		uid = found->pw_uid;
		gid = found->pw_gid;
		free(buf);
	}
	if (!uid || !gid)
		return acc_errf(err, EINVAL,
				"--runas: '%s' has uid or gid 0; the guest must not be root", v);
	cfg->runas = true;
	cfg->runas_uid = (uid_t)uid;
	cfg->runas_gid = (gid_t)gid;
	return 0;
}

/* PATH[,weight=N][,memory-floor=SIZE][,vcpus-floor=N] */
static int parse_broker(const char *v, struct run_config *cfg, struct acc_err *err)
{
	struct broker_opts *b = &cfg->broker;
	const char *comma = strchr(v, ','), *p;
	size_t len = comma ? (size_t)(comma - v) : strlen(v);
	uint64_t n;
	int ret = 0;

	if (!len)
		return acc_errf(err, EINVAL, "--broker: empty path");
	if (len >= sizeof(cfg->broker_path))
		return acc_errf(err, ENAMETOOLONG, "--broker: the socket path is longer than %zu",
				sizeof(cfg->broker_path) - 1);
	memset(b, 0, sizeof(*b));
	memcpy(cfg->broker_path, v, len);
	cfg->broker_path[len] = '\0';
	b->path = cfg->broker_path;
	for (p = comma; p && !ret; p = strchr(p + 1, ',')) {
		const char *key = p + 1, *end = strchr(key, ',');
		size_t klen = end ? (size_t)(end - key) : strlen(key);
		char item[64];

		if (klen >= sizeof(item))
			return acc_errf(err, EINVAL, "--broker: '%.*s' is too long", (int)klen,
					key);
		memcpy(item, key, klen);
		item[klen] = '\0';
		if (!strncmp(item, "weight=", 7)) {
			ret = uint__parse(item + 7, 1, 10000, &n, err);
			b->weight = (uint32_t)n;
		} else if (!strncmp(item, "memory-floor=", 13)) {
			ret = size__parse(item + 13, 1ull << 20, &b->mem_floor, err);
			b->has_mem_floor = true;
		} else if (!strncmp(item, "vcpus-floor=", 12)) {
			ret = uint__parse(item + 12, 0, RUN_MAX_CPUS, &n, err);
			b->vcpus_floor = (unsigned int)n;
			b->has_vcpus_floor = true;
		} else {
			return acc_errf(err, EINVAL,
					"--broker: '%s' is not weight=N, memory-floor=SIZE or "
					"vcpus-floor=N",
					item);
		}
	}
	if (ret)
		acc_err_prefix(err, "--broker: ");
	return ret;
}

/* memory=SIZE,cpus=N: the most this VM's own host policy grants (no broker). */
static int parse_pool(const char *v, struct run_config *cfg, struct acc_err *err)
{
	uint64_t cpus = cfg->pool_cpus;
	int ret = cli__parse_kinds("--pool", v, &cfg->pool_mem, &cpus, 1, err);

	cfg->pool_cpus = (unsigned int)cpus;
	return ret;
}

int cli__parse_log_level(const char *v, int *level, struct acc_err *err)
{
	static const char *const names[] = {
		[LOG_ERROR] = "error",
		[LOG_WARN] = "warn",
		[LOG_INFO] = "info",
		[LOG_DEBUG] = "debug",
	};

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if (!strcmp(v, names[i])) {
			*level = i;
			return 0;
		}
	}
	return acc_errf(err, EINVAL, "--log-level: '%s' is not error, warn, info or debug", v);
}

static int parse_onoff(const char *v, bool *out)
{
	if (!strcmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* PATH[,readonly=on|off][,serial=ID]; paths containing commas are not supported. */
static int parse_disk(const char *v, struct run_config *cfg, struct acc_err *err)
{
	struct disk_config *d;
	const char *p = strchr(v, ','), *opt;
	size_t len = p ? (size_t)(p - v) : strlen(v);

	if (cfg->nr_disks == RUN_MAX_DISKS)
		return acc_errf(err, E2BIG, "--disk: at most %d disks", RUN_MAX_DISKS);
	if (!len)
		return acc_errf(err, EINVAL, "--disk: empty path");
	if (len >= RUN_MAX_PATH)
		return acc_errf(err, ENAMETOOLONG, "--disk: path is too long");
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	memcpy(d->path, v, len);
	for (opt = p; opt; opt = p) {
		const char *key = opt + 1, *eq;
		size_t klen;
		char val[64];

		p = strchr(key, ',');
		klen = p ? (size_t)(p - key) : strlen(key);
		eq = memchr(key, '=', klen);
		if (!eq || (size_t)(key + klen - eq - 1) >= sizeof(val))
			return acc_errf(err, EINVAL, "--disk: '%.*s' is not KEY=VALUE", (int)klen,
					key);
		memcpy(val, eq + 1, (size_t)(key + klen - eq - 1));
		val[key + klen - eq - 1] = '\0';
		if (!strncmp(key, "readonly=", 9)) {
			if (parse_onoff(val, &d->readonly))
				return acc_errf(err, EINVAL, "--disk: readonly must be on or off");
		} else if (!strncmp(key, "serial=", 7)) {
			if (strlen(val) > RUN_MAX_SERIAL)
				return acc_errf(err, EINVAL,
						"--disk: serial is longer than %d bytes",
						RUN_MAX_SERIAL);
			strcpy(d->serial, val);
			d->has_serial = true;
		} else {
			return acc_errf(err, EINVAL, "--disk: unknown option '%.*s'",
					(int)(eq - key), key);
		}
	}
	cfg->nr_disks++;
	return 0;
}

static int apply_opt(const struct opt_desc *o, const char *v, const struct host_limits *limits,
		     struct run_config *cfg, struct acc_err *err)
{
	switch (o->id) {
	case OPT_ACCEL:
		if (!strcmp(v, "kvm"))
			cfg->accel = ACCEL_KVM;
		else if (!strcmp(v, "uml"))
			cfg->accel = ACCEL_UML;
		else if (!strcmp(v, "auto"))
			cfg->accel = ACCEL_AUTO;
		else
			return acc_errf(err, EINVAL, "--accel: '%s' is not kvm, uml or auto", v);
		break;
	case OPT_KERNEL:
		if (!*v)
			return acc_errf(err, EINVAL, "--kernel: empty path");
		cfg->kernel = v;
		break;
	case OPT_INITRD:
		cfg->initrd = v;
		break;
	case OPT_CMDLINE:
		if (strlen(v) > RUN_MAX_CMDLINE)
			return acc_errf(err, E2BIG, "--cmdline: %zu bytes is longer than %d",
					strlen(v), RUN_MAX_CMDLINE);
		cfg->cmdline = v;
		break;
	case OPT_MEMORY:
		return parse_memory(v, limits, cfg, err);
	case OPT_CPUS:
		return parse_cpus(v, limits, cfg, err);
	case OPT_CONSOLE:
		return parse_console(v, cfg, err);
	case OPT_NAME:
		if (!*v || strlen(v) > RUN_MAX_NAME)
			return acc_errf(err, EINVAL, "--name: must be 1 to %d characters",
					RUN_MAX_NAME);
		for (const char *p = v; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return acc_errf(err, EINVAL,
						"--name: control characters are not allowed");
		}
		cfg->name = v;
		break;
	case OPT_LOG_LEVEL:
		return cli__parse_log_level(v, &cfg->log_level, err);
	case OPT_SECCOMP:
		if (sandbox__parse_mode(v, &cfg->seccomp))
			return acc_errf(err, EINVAL, "--seccomp: '%s' is not on, log or off", v);
		break;
	case OPT_RUNAS:
		return parse_runas(v, cfg, err);
	case OPT_RNG:
		cfg->rng = true;
		break;
	case OPT_DISK:
		return parse_disk(v, cfg, err);
	case OPT_SHARE:
		if (!*v)
			return acc_errf(err, EINVAL, "--share: empty path");
		cfg->share = v;
		break;
	case OPT_API_SOCKET:
		if (!*v)
			return acc_errf(err, EINVAL, "--api-socket: empty path");
		cfg->api_socket = v;
		break;
	case OPT_POOL:
		return parse_pool(v, cfg, err);
	case OPT_BROKER:
		return parse_broker(v, cfg, err);
	case OPT_HELP:
		cfg->help = true;
		break;
	}
	return 0;
}

int cli__parse_run(int argc, char *const argv[], const struct host_limits *limits,
		   struct run_config *cfg, struct acc_err *err)
{
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = RUN_DEFAULT_MEM_SIZE;
	cfg->mem_grant = RUN_DEFAULT_MEM_SIZE;
	cfg->cpus = 1;
	cfg->cpus_grant = 1;
	cfg->console = CONSOLE_STDIO;
	cfg->cmdline = "";
	cfg->log_level = LOG_INFO;
	cfg->seccomp = SANDBOX_DEFAULT_MODE;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *value = NULL;
		const struct opt_desc *o;
		size_t len;

		if (!strcmp(arg, "-h")) {
			cfg->help = true;
			continue;
		}
		if (strncmp(arg, "--", 2) || !arg[2])
			return acc_errf(err, EINVAL, "unexpected argument '%s'", arg);
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = opt__find(name, len);
		if (!o)
			return acc_errf(err, EINVAL, "unknown option '--%.*s' (see --help)",
					(int)len, name);
		if (o->takes_value) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return acc_errf(err, EINVAL, "option '--%s' needs a value",
						o->name);
		} else if (eq) {
			return acc_errf(err, EINVAL, "option '--%s' takes no value", o->name);
		}
		ret = apply_opt(o, value, limits, cfg, err);
		if (ret)
			return ret;
	}
	if (cfg->help)
		return 0;
	if (cfg->initrd && !cfg->kernel)
		return acc_errf(err, EINVAL,
				"--initrd needs --kernel (the default guest has its own)");
	if (cfg->initrd && !*cfg->initrd)
		return acc_errf(err, EINVAL, "--initrd: empty path");
	if (cfg->broker.path && !cfg->name)
		return acc_errf(err, EINVAL, "--broker needs --name: the broker knows VMs by name");
	if (cfg->broker.path && (cfg->pool_mem || cfg->pool_cpus))
		return acc_errf(
			err, EINVAL,
			"--pool and --broker exclude each other: the broker's pool applies");
	return 0;
}
