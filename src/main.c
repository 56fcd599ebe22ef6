// SPDX-License-Identifier: MIT
/* accord: the command-line entry point. The only place that exits. */
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "accord/cli.h"
#include "accord/machine.h"

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
	if (machine__create(&machine, &cfg, &err)) {
		fprintf(stderr, "accord: %s\n", err.msg);
		return EXIT_STATUS_START_FAILED;
	}
	status = machine__run(&machine);
	machine__destroy(&machine);
	return status;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(cli_usage, stderr);
		return EXIT_STATUS_START_FAILED;
	}
	if (!strcmp(cmd, "run"))
		return run_main(argc - 2, argv + 2);
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
