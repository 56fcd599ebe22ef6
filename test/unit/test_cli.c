// SPDX-License-Identifier: MIT
/* Unit tests: `accord run` option parsing (sizes and numbers: test_size.c). */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accord/cli.h"
#include "accord/log.h"
#include "accord/size.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* A made-up host: 16 GiB of RAM and 8 CPUs. */
static const struct host_limits host = { 16 * GiB, 8 };
static struct run_config cfg;
static struct acc_err err;

static int parse_with(const struct host_limits *lim, char *const *argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(&err, 0, sizeof(err));
	return cli__parse_run(argc, argv, lim, &cfg, &err);
}

#define PARSE(...)	    parse_with(&host, (char *const[]){ __VA_ARGS__, NULL })
#define PARSE_LIM(lim, ...) parse_with(lim, (char *const[]){ __VA_ARGS__, NULL })
#define ck_assert_error(ret, errnum, expected)       \
	do {                                         \
		ck_assert_int_eq(ret, -(errnum));    \
		ck_assert_str_eq(err.msg, expected); \
	} while (0)

/* ---- defaults and every option ---- */

START_TEST(test_defaults_when_only_kernel_is_given)
{
	ck_assert_int_eq(PARSE("--kernel", "vmlinux"), 0);
	ck_assert_str_eq(cfg.kernel, "vmlinux");
	ck_assert_ptr_null(cfg.initrd);
	ck_assert_str_eq(cfg.cmdline, "");
	ck_assert_ptr_null(cfg.name);
	ck_assert_uint_eq(cfg.mem_size, RUN_DEFAULT_MEM_SIZE);
	ck_assert_uint_eq(cfg.mem_size, 128 * MiB);
	ck_assert_uint_eq(cfg.cpus, 1);
	ck_assert_int_eq(cfg.console, CONSOLE_STDIO);
	ck_assert_ptr_null(cfg.console_path);
	ck_assert_int_eq(cfg.log_level, LOG_INFO);
	ck_assert(!cfg.help);
}
END_TEST

START_TEST(test_every_option_in_separate_value_form)
{
	ck_assert_int_eq(PARSE("--kernel", "bzImage", "--initrd", "initrd.img", "--cmdline",
			       "console=ttyS0 quiet", "--memory", "512M", "--cpus", "4",
			       "--console", "none", "--name", "web-1", "--log-level", "debug"),
			 0);
	ck_assert_str_eq(cfg.kernel, "bzImage");
	ck_assert_str_eq(cfg.initrd, "initrd.img");
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
	ck_assert_uint_eq(cfg.mem_size, 512 * MiB);
	ck_assert_uint_eq(cfg.cpus, 4);
	ck_assert_int_eq(cfg.console, CONSOLE_NONE);
	ck_assert_str_eq(cfg.name, "web-1");
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	ck_assert(!cfg.help);
}
END_TEST

START_TEST(test_every_option_in_equals_form)
{
	ck_assert_int_eq(PARSE("--kernel=bzImage", "--initrd=initrd.img",
			       "--cmdline=root=/dev/vda rw", "--memory=2G", "--cpus=8",
			       "--console=file=/tmp/serial.log", "--name=db", "--log-level=warn"),
			 0);
	ck_assert_str_eq(cfg.kernel, "bzImage");
	ck_assert_str_eq(cfg.initrd, "initrd.img");
	/* Only the first '=' separates the option from its value. */
	ck_assert_str_eq(cfg.cmdline, "root=/dev/vda rw");
	ck_assert_uint_eq(cfg.mem_size, 2 * GiB);
	ck_assert_uint_eq(cfg.cpus, 8);
	ck_assert_int_eq(cfg.console, CONSOLE_FILE);
	ck_assert_str_eq(cfg.console_path, "/tmp/serial.log");
	ck_assert_str_eq(cfg.name, "db");
	ck_assert_int_eq(cfg.log_level, LOG_WARN);
}
END_TEST

START_TEST(test_memory_bare_number_is_mebibytes)
{
	ck_assert_int_eq(PARSE("--kernel=k", "--memory", "1536"), 0);
	ck_assert_uint_eq(cfg.mem_size, 1536 * MiB);
}
END_TEST

START_TEST(test_memory_accepts_unit_spellings)
{
	ck_assert_int_eq(PARSE("--kernel=k", "--memory=1g"), 0);
	ck_assert_uint_eq(cfg.mem_size, 1 * GiB);
	ck_assert_int_eq(PARSE("--kernel=k", "--memory=1536MiB"), 0);
	ck_assert_uint_eq(cfg.mem_size, 1536 * MiB);
	ck_assert_int_eq(PARSE("--kernel=k", "--memory=65536K"), 0);
	ck_assert_uint_eq(cfg.mem_size, 64 * MiB);
	ck_assert_int_eq(PARSE("--kernel=k", "--memory=8M"), 0);
	ck_assert_uint_eq(cfg.mem_size, RUN_MIN_MEM_SIZE);
}
END_TEST

START_TEST(test_memory_equal_to_host_is_accepted)
{
	ck_assert_int_eq(PARSE("--kernel=k", "--memory=16G"), 0);
	ck_assert_uint_eq(cfg.mem_size, 16 * GiB);
}
END_TEST

START_TEST(test_without_host_limits_builtin_maxima_apply)
{
	static const struct host_limits unknown = { 0, 0 };

	ck_assert_int_eq(PARSE_LIM(NULL, "--kernel=k", "--memory=1T", "--cpus=254"), 0);
	ck_assert_uint_eq(cfg.mem_size, RUN_MAX_MEM_SIZE);
	ck_assert_uint_eq(cfg.cpus, RUN_MAX_CPUS);
	/* Zero in a field means the host's value is unknown. */
	ck_assert_int_eq(PARSE_LIM(&unknown, "--kernel=k", "--memory=1T", "--cpus=254"), 0);
	ck_assert_uint_eq(cfg.mem_size, RUN_MAX_MEM_SIZE);
	ck_assert_uint_eq(cfg.cpus, RUN_MAX_CPUS);
	ck_assert_error(PARSE_LIM(&unknown, "--kernel=k", "--cpus=255"), ERANGE,
			"--cpus: '255' is out of range (1 to 254)");
}
END_TEST

START_TEST(test_console_modes)
{
	ck_assert_int_eq(PARSE("--kernel=k", "--console=none", "--console", "stdio"), 0);
	ck_assert_int_eq(cfg.console, CONSOLE_STDIO);
	ck_assert_int_eq(PARSE("--kernel=k", "--console", "none"), 0);
	ck_assert_int_eq(cfg.console, CONSOLE_NONE);
	ck_assert_int_eq(PARSE("--kernel=k", "--console", "file=out.txt"), 0);
	ck_assert_int_eq(cfg.console, CONSOLE_FILE);
	ck_assert_str_eq(cfg.console_path, "out.txt");
}
END_TEST

START_TEST(test_every_log_level_name)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	static const int levels[] = { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(PARSE("--kernel=k", "--log-level", (char *)names[i]), 0);
		ck_assert_int_eq(cfg.log_level, levels[i]);
	}
}
END_TEST

START_TEST(test_last_occurrence_of_an_option_wins)
{
	ck_assert_int_eq(PARSE("--kernel=a", "--cpus=2", "--kernel=b", "--cpus", "3"), 0);
	ck_assert_str_eq(cfg.kernel, "b");
	ck_assert_uint_eq(cfg.cpus, 3);
}
END_TEST

START_TEST(test_name_of_63_characters_is_accepted)
{
	char name[64];

	memset(name, 'n', 63);
	name[63] = '\0';
	ck_assert_int_eq(PARSE("--kernel=k", "--name", name), 0);
	ck_assert_str_eq(cfg.name, name);
}
END_TEST

START_TEST(test_cmdline_of_4095_bytes_is_accepted)
{
	char *line = malloc(RUN_MAX_CMDLINE + 1);

	memset(line, 'c', RUN_MAX_CMDLINE);
	line[RUN_MAX_CMDLINE] = '\0';
	ck_assert_int_eq(PARSE("--kernel=k", "--cmdline", line), 0);
	ck_assert_uint_eq(strlen(cfg.cmdline), 4095);
	free(line);
}
END_TEST

START_TEST(test_long_help_needs_no_kernel)
{
	ck_assert_int_eq(PARSE("--help"), 0);
	ck_assert(cfg.help);
	ck_assert_ptr_null(cfg.kernel);
}
END_TEST

START_TEST(test_short_help_among_other_options)
{
	ck_assert_int_eq(PARSE("--cpus=2", "-h"), 0);
	ck_assert(cfg.help);
	ck_assert_uint_eq(cfg.cpus, 2);
}
END_TEST

START_TEST(test_usage_texts_name_every_option)
{
	char opt[64];
	unsigned int i;

	/* Every option the parser knows is documented in --help. */
	for (i = 0; cli__run_option(i); i++) {
		snprintf(opt, sizeof(opt), "--%s", cli__run_option(i));
		ck_assert_msg(strstr(cli_run_usage, opt), "%s is missing from --help", opt);
	}
	ck_assert_uint_ge(i, 11);
	ck_assert_ptr_nonnull(strstr(cli_usage, "run"));
}
END_TEST

/* ---- bad input ---- */

START_TEST(test_unknown_option_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--bogus"), EINVAL,
			"unknown option '--bogus' (see --help)");
	ck_assert_error(PARSE("--kernel=k", "--bogus=3"), EINVAL,
			"unknown option '--bogus' (see --help)");
	/* A prefix of a real option is not an abbreviation. */
	ck_assert_error(PARSE("--kernel=k", "--mem=1G"), EINVAL,
			"unknown option '--mem' (see --help)");
	ck_assert_error(PARSE("--KERNEL=k"), EINVAL, "unknown option '--KERNEL' (see --help)");
}
END_TEST

START_TEST(test_malformed_arguments_are_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "vmlinux"), EINVAL, "unexpected argument 'vmlinux'");
	ck_assert_error(PARSE("-k", "vmlinux"), EINVAL, "unexpected argument '-k'");
	ck_assert_error(PARSE("--kernel=k", "--"), EINVAL, "unexpected argument '--'");
	ck_assert_error(PARSE("--kernel=k", "-"), EINVAL, "unexpected argument '-'");
	ck_assert_error(PARSE("--kernel=k", ""), EINVAL, "unexpected argument ''");
}
END_TEST

START_TEST(test_help_with_a_value_is_rejected)
{
	ck_assert_error(PARSE("--help=yes"), EINVAL, "option '--help' takes no value");
}
END_TEST

START_TEST(test_every_option_without_its_value_is_rejected)
{
	static const char *const opts[] = { "kernel", "initrd",	 "cmdline", "memory",
					    "cpus",   "console", "name",    "log-level" };

	for (unsigned int i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char arg[32], expected[64];

		snprintf(arg, sizeof(arg), "--%s", opts[i]);
		snprintf(expected, sizeof(expected), "option '--%s' needs a value", opts[i]);
		ck_assert_error(PARSE("--kernel=k", arg), EINVAL, expected);
	}
}
END_TEST

START_TEST(test_memory_that_is_not_a_size_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--memory=lots"), EINVAL,
			"--memory: 'lots' is not a size (use e.g. 512M or 2G)");
	ck_assert_error(PARSE("--kernel=k", "--memory=1.5G"), EINVAL,
			"--memory: '1.5G' is not a size (use e.g. 512M or 2G)");
	ck_assert_error(PARSE("--kernel=k", "--memory=12Q"), EINVAL,
			"--memory: '12Q' is not a size (use e.g. 512M or 2G)");
	ck_assert_error(PARSE("--kernel=k", "--memory=-512M"), EINVAL,
			"--memory: '-512M' is not a size (use e.g. 512M or 2G)");
	ck_assert_error(PARSE("--kernel=k", "--memory="), EINVAL,
			"--memory: '' is not a size (use e.g. 512M or 2G)");
	ck_assert_error(PARSE("--kernel=k", "--memory", "512 M"), EINVAL,
			"--memory: '512 M' is not a size (use e.g. 512M or 2G)");
}
END_TEST

START_TEST(test_memory_above_host_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--memory=17G"), ERANGE,
			"--memory: 17G is more than the host's 16384 MiB");
	ck_assert_error(PARSE("--kernel=k", "--memory", "16385"), ERANGE,
			"--memory: 16385 is more than the host's 16384 MiB");
}
END_TEST

START_TEST(test_memory_above_builtin_maximum_is_rejected)
{
	static const struct host_limits huge = { 4ull << 40, 0 };

	ck_assert_error(PARSE_LIM(&huge, "--kernel=k", "--memory=1025G"), ERANGE,
			"--memory: 1025G is more than the host's 1048576 MiB");
}
END_TEST

START_TEST(test_memory_that_overflows_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--memory=99999999999999999999"), ERANGE,
			"--memory: '99999999999999999999' is too large");
	ck_assert_error(PARSE("--kernel=k", "--memory=16E"), ERANGE,
			"--memory: '16E' is too large");
	/* A bare number is MiB: 2^44 MiB does not fit in 64 bits. */
	ck_assert_error(PARSE("--kernel=k", "--memory=17592186044416"), ERANGE,
			"--memory: '17592186044416' is too large");
}
END_TEST

START_TEST(test_memory_below_minimum_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--memory=4M"), ERANGE,
			"--memory: 4M is less than the minimum of 8M");
	ck_assert_error(PARSE("--kernel=k", "--memory=0"), ERANGE,
			"--memory: 0 is less than the minimum of 8M");
}
END_TEST

START_TEST(test_memory_not_a_multiple_of_1m_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--memory=8193K"), EINVAL,
			"--memory: 8193K is not a multiple of 1M");
}
END_TEST

START_TEST(test_cpus_out_of_range_is_rejected)
{
	static const struct host_limits many = { 16 * GiB, 1024 };

	ck_assert_error(PARSE("--kernel=k", "--cpus=0"), ERANGE,
			"--cpus: '0' is out of range (1 to 8)");
	ck_assert_error(PARSE("--kernel=k", "--cpus=9"), ERANGE,
			"--cpus: '9' is out of range (1 to 8)");
	/* A host with more CPUs than xAPIC ids still stops at 254. */
	ck_assert_error(PARSE_LIM(&many, "--kernel=k", "--cpus=255"), ERANGE,
			"--cpus: '255' is out of range (1 to 254)");
	ck_assert_error(PARSE("--kernel=k", "--cpus=99999999999999999999999"), ERANGE,
			"--cpus: '99999999999999999999999' is out of range (1 to 8)");
}
END_TEST

START_TEST(test_cpus_not_a_number_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--cpus=two"), EINVAL,
			"--cpus: 'two' is not a whole number");
	ck_assert_error(PARSE("--kernel=k", "--cpus=2x"), EINVAL,
			"--cpus: '2x' is not a whole number");
	ck_assert_error(PARSE("--kernel=k", "--cpus=-1"), EINVAL,
			"--cpus: '-1' is not a whole number");
	ck_assert_error(PARSE("--kernel=k", "--cpus="), EINVAL, "--cpus: '' is not a whole number");
}
END_TEST

START_TEST(test_bad_console_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--console=tty"), EINVAL,
			"--console: 'tty' is not stdio, file=PATH or none");
	ck_assert_error(PARSE("--kernel=k", "--console", "STDIO"), EINVAL,
			"--console: 'STDIO' is not stdio, file=PATH or none");
	ck_assert_error(PARSE("--kernel=k", "--console="), EINVAL,
			"--console: '' is not stdio, file=PATH or none");
	ck_assert_error(PARSE("--kernel=k", "--console=file="), EINVAL,
			"--console: file= needs a path");
}
END_TEST

START_TEST(test_broker_with_its_options)
{
	ck_assert_int_eq(PARSE("--kernel=k", "--name", "web", "--broker", "/run/h.sock"), 0);
	ck_assert_str_eq(cfg.broker.path, "/run/h.sock");
	ck_assert_uint_eq(cfg.broker.weight, 0);
	ck_assert(!cfg.broker.has_mem_floor && !cfg.broker.has_vcpus_floor);
	ck_assert_int_eq(PARSE("--kernel=k", "--name=web",
			       "--broker=/h.sock,weight=250,memory-floor=512M,vcpus-floor=1"),
			 0);
	ck_assert_str_eq(cfg.broker.path, "/h.sock");
	ck_assert_uint_eq(cfg.broker.weight, 250);
	ck_assert(cfg.broker.has_mem_floor && cfg.broker.has_vcpus_floor);
	ck_assert_uint_eq(cfg.broker.mem_floor, 512 * MiB);
	ck_assert_uint_eq(cfg.broker.vcpus_floor, 1);
}
END_TEST

START_TEST(test_bad_broker_options_are_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--broker=/h.sock"), EINVAL,
			"--broker needs --name: the broker knows VMs by name");
	ck_assert_error(PARSE("--kernel=k", "--name=a", "--broker=,weight=2"), EINVAL,
			"--broker: empty path");
	ck_assert_error(PARSE("--kernel=k", "--name=a", "--broker=/h,speed=2"), EINVAL,
			"--broker: 'speed=2' is not weight=N, memory-floor=SIZE or vcpus-floor=N");
	ck_assert_int_eq(PARSE("--kernel=k", "--name=a", "--broker=/h,weight=0"), -ERANGE);
	ck_assert_int_eq(PARSE("--kernel=k", "--name=a", "--broker=/h,memory-floor=lots"), -EINVAL);
	ck_assert_error(PARSE("--kernel=k", "--name=a", "--broker=/h", "--pool", "memory=1G"),
			EINVAL,
			"--pool and --broker exclude each other: the broker's pool applies");
}
END_TEST

START_TEST(test_cmdline_too_long_is_rejected)
{
	char *line = malloc(RUN_MAX_CMDLINE + 2);

	memset(line, 'c', RUN_MAX_CMDLINE + 1);
	line[RUN_MAX_CMDLINE + 1] = '\0';
	ck_assert_error(PARSE("--kernel=k", "--cmdline", line), E2BIG,
			"--cmdline: 4096 bytes is longer than 4095");
	free(line);
}
END_TEST

START_TEST(test_bad_name_is_rejected)
{
	char name[65];

	memset(name, 'n', 64);
	name[64] = '\0';
	ck_assert_error(PARSE("--kernel=k", "--name", name), EINVAL,
			"--name: must be 1 to 63 characters");
	ck_assert_error(PARSE("--kernel=k", "--name="), EINVAL,
			"--name: must be 1 to 63 characters");
	ck_assert_error(PARSE("--kernel=k", "--name=a\tb"), EINVAL,
			"--name: control characters are not allowed");
	ck_assert_error(PARSE("--kernel=k", "--name=vm\x1b[2J"), EINVAL,
			"--name: control characters are not allowed");
	ck_assert_error(PARSE("--kernel=k", "--name=del\x7f"), EINVAL,
			"--name: control characters are not allowed");
}
END_TEST

START_TEST(test_bad_log_level_is_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--log-level=verbose"), EINVAL,
			"--log-level: 'verbose' is not error, warn, info or debug");
	ck_assert_error(PARSE("--kernel=k", "--log-level", "INFO"), EINVAL,
			"--log-level: 'INFO' is not error, warn, info or debug");
	ck_assert_error(PARSE("--kernel=k", "--log-level=3"), EINVAL,
			"--log-level: '3' is not error, warn, info or debug");
}
END_TEST

START_TEST(test_no_kernel_means_the_default_guest)
{
	ck_assert_int_eq(PARSE("--memory=1G"), 0);
	ck_assert_ptr_null(cfg.kernel);
	ck_assert_int_eq(cfg.accel, ACCEL_AUTO);
	ck_assert_error(PARSE("--initrd=i"), EINVAL,
			"--initrd needs --kernel (the default guest has its own)");
}
END_TEST

START_TEST(test_accel_is_parsed_and_checked)
{
	ck_assert_int_eq(PARSE("--accel=uml"), 0);
	ck_assert_int_eq(cfg.accel, ACCEL_UML);
	ck_assert_int_eq(PARSE("--accel", "kvm"), 0);
	ck_assert_int_eq(cfg.accel, ACCEL_KVM);
	ck_assert_int_eq(PARSE("--accel", "auto"), 0);
	ck_assert_int_eq(cfg.accel, ACCEL_AUTO);
	ck_assert_error(PARSE("--accel=tcg"), EINVAL, "--accel: 'tcg' is not kvm, uml or auto");
}
END_TEST

START_TEST(test_empty_kernel_and_initrd_paths_are_rejected)
{
	ck_assert_error(PARSE("--kernel="), EINVAL, "--kernel: empty path");
	ck_assert_error(PARSE("--kernel=k", "--initrd", ""), EINVAL, "--initrd: empty path");
}
END_TEST

START_TEST(test_error_without_err_struct_still_returns_errno)
{
	char *argv[] = { "--cpus=0", NULL };

	ck_assert_int_eq(cli__parse_run(1, argv, &host, &cfg, NULL), -ERANGE);
}
END_TEST

/* ---- virtio devices ---- */

START_TEST(test_rng_and_disks_in_option_order)
{
	ck_assert_int_eq(PARSE("--kernel=k", "--rng", "--disk", "/a.img", "--disk",
			       "/b.img,readonly=on,serial=disk-b", "--disk=/c.img,readonly=off"),
			 0);
	ck_assert(cfg.rng);
	ck_assert_uint_eq(cfg.nr_disks, 3);
	ck_assert_str_eq(cfg.disks[0].path, "/a.img");
	ck_assert(!cfg.disks[0].readonly);
	ck_assert(!cfg.disks[0].has_serial);
	ck_assert_str_eq(cfg.disks[1].path, "/b.img");
	ck_assert(cfg.disks[1].readonly);
	ck_assert(cfg.disks[1].has_serial);
	ck_assert_str_eq(cfg.disks[1].serial, "disk-b");
	ck_assert_str_eq(cfg.disks[2].path, "/c.img");
	ck_assert(!cfg.disks[2].readonly);
}
END_TEST

START_TEST(test_no_devices_by_default)
{
	ck_assert_int_eq(PARSE("--kernel=k"), 0);
	ck_assert(!cfg.rng);
	ck_assert_uint_eq(cfg.nr_disks, 0);
}
END_TEST

START_TEST(test_serial_of_20_bytes_is_accepted)
{
	ck_assert_int_eq(PARSE("--kernel=k", "--disk=/a,serial=01234567890123456789"), 0);
	ck_assert_str_eq(cfg.disks[0].serial, "01234567890123456789");
}
END_TEST

START_TEST(test_bad_disk_options_are_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--disk="), EINVAL, "--disk: empty path");
	ck_assert_error(PARSE("--kernel=k", "--disk=,readonly=on"), EINVAL, "--disk: empty path");
	ck_assert_error(PARSE("--kernel=k", "--disk=/a,readonly=maybe"), EINVAL,
			"--disk: readonly must be on or off");
	ck_assert_error(PARSE("--kernel=k", "--disk=/a,cache=none"), EINVAL,
			"--disk: unknown option 'cache'");
	ck_assert_error(PARSE("--kernel=k", "--disk=/a,readonly"), EINVAL,
			"--disk: 'readonly' is not KEY=VALUE");
	ck_assert_error(PARSE("--kernel=k", "--disk=/a,"), EINVAL, "--disk: '' is not KEY=VALUE");
	ck_assert_error(PARSE("--kernel=k", "--disk=/a,serial=012345678901234567890"), EINVAL,
			"--disk: serial is longer than 20 bytes");
	ck_assert_error(PARSE("--kernel=k", "--rng=on"), EINVAL, "option '--rng' takes no value");
}
END_TEST

START_TEST(test_more_than_eight_disks_are_rejected)
{
	ck_assert_error(PARSE("--kernel=k", "--disk=/1", "--disk=/2", "--disk=/3", "--disk=/4",
			      "--disk=/5", "--disk=/6", "--disk=/7", "--disk=/8", "--disk=/9"),
			E2BIG, "--disk: at most 8 disks");
}
END_TEST

START_TEST(test_disk_path_too_long_is_rejected)
{
	static char arg[RUN_MAX_PATH + 16];

	memset(arg, 'a', sizeof(arg) - 1);
	memcpy(arg, "--disk=/", 8);
	ck_assert_error(PARSE("--kernel=k", arg), ENAMETOOLONG, "--disk: path is too long");
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("cli options");
	TCase *tc = tcase_create("valid");

	tcase_add_test(tc, test_defaults_when_only_kernel_is_given);
	tcase_add_test(tc, test_every_option_in_separate_value_form);
	tcase_add_test(tc, test_every_option_in_equals_form);
	tcase_add_test(tc, test_memory_bare_number_is_mebibytes);
	tcase_add_test(tc, test_memory_accepts_unit_spellings);
	tcase_add_test(tc, test_memory_equal_to_host_is_accepted);
	tcase_add_test(tc, test_without_host_limits_builtin_maxima_apply);
	tcase_add_test(tc, test_console_modes);
	tcase_add_test(tc, test_every_log_level_name);
	tcase_add_test(tc, test_last_occurrence_of_an_option_wins);
	tcase_add_test(tc, test_name_of_63_characters_is_accepted);
	tcase_add_test(tc, test_cmdline_of_4095_bytes_is_accepted);
	tcase_add_test(tc, test_long_help_needs_no_kernel);
	tcase_add_test(tc, test_short_help_among_other_options);
	tcase_add_test(tc, test_usage_texts_name_every_option);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_test(tc, test_unknown_option_is_rejected);
	tcase_add_test(tc, test_malformed_arguments_are_rejected);
	tcase_add_test(tc, test_help_with_a_value_is_rejected);
	tcase_add_test(tc, test_every_option_without_its_value_is_rejected);
	tcase_add_test(tc, test_memory_that_is_not_a_size_is_rejected);
	tcase_add_test(tc, test_memory_above_host_is_rejected);
	tcase_add_test(tc, test_memory_above_builtin_maximum_is_rejected);
	tcase_add_test(tc, test_memory_that_overflows_is_rejected);
	tcase_add_test(tc, test_memory_below_minimum_is_rejected);
	tcase_add_test(tc, test_memory_not_a_multiple_of_1m_is_rejected);
	tcase_add_test(tc, test_cpus_out_of_range_is_rejected);
	tcase_add_test(tc, test_cpus_not_a_number_is_rejected);
	tcase_add_test(tc, test_bad_console_is_rejected);
	tcase_add_test(tc, test_broker_with_its_options);
	tcase_add_test(tc, test_bad_broker_options_are_rejected);
	tcase_add_test(tc, test_cmdline_too_long_is_rejected);
	tcase_add_test(tc, test_bad_name_is_rejected);
	tcase_add_test(tc, test_bad_log_level_is_rejected);
	tcase_add_test(tc, test_no_kernel_means_the_default_guest);
	tcase_add_test(tc, test_accel_is_parsed_and_checked);
	tcase_add_test(tc, test_empty_kernel_and_initrd_paths_are_rejected);
	tcase_add_test(tc, test_error_without_err_struct_still_returns_errno);
	tcase_add_test(tc, test_rng_and_disks_in_option_order);
	tcase_add_test(tc, test_no_devices_by_default);
	tcase_add_test(tc, test_serial_of_20_bytes_is_accepted);
	tcase_add_test(tc, test_bad_disk_options_are_rejected);
	tcase_add_test(tc, test_more_than_eight_disks_are_rejected);
	tcase_add_test(tc, test_disk_path_too_long_is_rejected);
	suite_add_tcase(s, tc);
	return s;
}

Suite *numbers_suite(void); /* test_size.c */

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	srunner_add_suite(sr, numbers_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
