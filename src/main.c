// SPDX-License-Identifier: MIT
/* accord: the command-line entry point. The only place that exits. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "accord/accel.h"
#include "accord/cli.h"
#include "accord/ctl.h"
#include "accord/hostd.h"
#include "accord/log.h"
#include "accord/vm.h"
#include "accord/inventory.h"
#include "accord/machine.h"
#include "accord/top.h"

static void host_limits(struct host_limits *limits)
{
	struct sysinfo si;

	memset(limits, 0, sizeof(*limits));
	if (!sysinfo(&si))
		limits->mem_size = (uint64_t)si.totalram * si.mem_unit;
	limits->max_cpus = RUN_MAX_CPUS;
}

static int run_main(int argc, char **argv)
{
	struct host_limits limits;
	struct run_config cfg;
	struct machine machine;
	struct acc_err err;
	bool kernel_given;
	char why[256];
	int status;

	host_limits(&limits);
	if (cli__parse_run(argc, argv, &limits, &cfg, &err)) {
		fprintf(stderr, "accord: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	if (cfg.help) {
		fputs(cli_run_usage, stdout);
		return 0;
	}
	kernel_given = cfg.kernel != NULL;
	if (accel__choose(&cfg, KVM_DEVICE_PATH, why, sizeof(why), &err)) {
		fprintf(stderr, "accord: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	/* An x86 kernel can only mean kvm; any other choice is worth a line. */
	if (cfg.log_level >= LOG_INFO && (cfg.accel == ACCEL_UML || !kernel_given))
		fprintf(stderr, "accord: %s\n", why);
	if (!kernel_given && accel__default_guest(&cfg, &err)) {
		fprintf(stderr, "accord: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	if (machine__create(&machine, &cfg, &err)) {
		fprintf(stderr, "accord: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	status = machine__run(&machine);
	machine__destroy(&machine);
	return status;
}

static const char inventory_usage[] =
	"Usage: accord inventory [--format dts|json]\n"
	"\n"
	"Print this host's hardware as a guest is told it (docs/inventory.md): CPUs with\n"
	"their topology and NUMA node, memory per node, PCI devices, and an allocation\n"
	"of the host's totals with nothing granted.\n"
	"\n"
	"Options:\n"
	"  --format FMT     dts (default, what 'dtc -I dtb -O dts' prints) or json\n"
	"  --sysroot DIR    read DIR/sys and DIR/proc instead of /sys and /proc (for testing)\n"
	"  -h, --help       show this help\n";

static int inventory_main(int argc, char **argv)
{
	enum inventory_format format = INVENTORY_FORMAT_DTS;
	const char *sysroot = "";
	struct acc_err err;

	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *value = i + 1 < argc ? argv[++i] : NULL;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			fputs(inventory_usage, stdout);
			return 0;
		}
		if (strcmp(opt, "--format") && strcmp(opt, "--sysroot")) {
			fprintf(stderr, "accord: inventory: unknown option '%s'\n", opt);
			return EXIT_STATUS_START_FAILED;
		}
		if (!value) {
			fprintf(stderr, "accord: inventory: %s needs a value\n", opt);
			return EXIT_STATUS_START_FAILED;
		}
		if (!strcmp(opt, "--sysroot")) {
			sysroot = value;
		} else if (!strcmp(value, "dts") || !strcmp(value, "json")) {
			format = !strcmp(value, "json") ? INVENTORY_FORMAT_JSON
							: INVENTORY_FORMAT_DTS;
		} else {
			fprintf(stderr, "accord: inventory: --format: '%s' is not dts or json\n",
				value);
			return EXIT_STATUS_START_FAILED;
		}
	}
	if (inventory__print_host(stdout, sysroot, format, &err)) {
		fprintf(stderr, "accord: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	/* A closed peer (a guest's pipe, a QMP client) is an error to handle, not death. */
	signal(SIGPIPE, SIG_IGN);

	if (!cmd) {
		fputs(cli_usage, stderr);
		return EXIT_STATUS_START_FAILED;
	}
	if (!strcmp(cmd, "run"))
		return run_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "inventory"))
		return inventory_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "hostd"))
		return hostd__main(argc - 2, argv + 2);
	if (!strcmp(cmd, "ctl"))
		return ctl__main(argc - 2, argv + 2, stdout, stderr);
	if (!strcmp(cmd, "top"))
		return top__main(argc - 2, argv + 2, stdout, stderr);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(cli_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("accord %s\n", ACCORD_VERSION);
		return 0;
	}
	fprintf(stderr, "accord: unknown command '%s' (see 'accord --help')\n", cmd);
	return EXIT_STATUS_START_FAILED;
}
