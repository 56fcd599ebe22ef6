/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing for `accord run`. Pure: no files are opened and no
 * process state is touched, so every bad input can be unit-tested.
 */
#ifndef ACCORD_CLI_H
#define ACCORD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "accord/error.h"
#include "accord/sandbox.h"

enum accel_mode {
	ACCEL_AUTO, /* resolved by accel__choose() before the machine is built */
	ACCEL_KVM,
	ACCEL_UML,
};

enum console_mode {
	CONSOLE_STDIO,
	CONSOLE_FILE,
	CONSOLE_NONE,
};

#define RUN_MAX_DISKS  8
#define RUN_MAX_PATH   4096
#define RUN_MAX_SERIAL 20

struct disk_config {
	char path[RUN_MAX_PATH];
	bool readonly;
	bool has_serial;
	char serial[RUN_MAX_SERIAL + 1];
};

/* PATH[,weight=N][,memory-floor=SIZE][,vcpus-floor=N] of `accord run --broker`. */
struct broker_opts {
	const char *path;
	uint32_t weight; /* 0: the broker's default */
	uint64_t mem_floor;
	unsigned int vcpus_floor;
	bool has_mem_floor, has_vcpus_floor;
};

struct run_config {
	enum accel_mode accel;
	const char *kernel; /* NULL: the default guest (accel__choose fills it in) */
	const char *initrd;
	const char *cmdline;
	const char *name;
	uint64_t mem_size;	 /* guest RAM that exists (the max) */
	uint64_t mem_grant;	 /* what the guest may use at boot; the rest it reserves */
	unsigned int cpus;	 /* vCPUs that exist */
	unsigned int cpus_grant; /* vCPUs that run at boot; the rest are parked */
	uint64_t pool_mem;	 /* what this VM's host policy can grant (0: mem_size) */
	unsigned int pool_cpus;	 /* likewise for vCPUs (0: cpus) */
	const char *share;	 /* directory shared read-only with the guest */
	const char *api_socket;
	struct broker_opts broker; /* path NULL: no broker */
	char broker_path[108];	   /* broker.path points here */
	enum console_mode console;
	const char *console_path;
	int log_level; /* enum log_level */
	enum sandbox_mode seccomp;
	bool runas; /* --runas: the User-mode Linux process runs as runas_uid:gid */
	uid_t runas_uid;
	gid_t runas_gid;
	bool rng;
	unsigned int nr_disks;
	struct disk_config disks[RUN_MAX_DISKS];
	bool help;
	/* Storage for the default guest's paths (kernel/initrd point here then). */
	char default_kernel[RUN_MAX_PATH];
	char default_initrd[RUN_MAX_PATH];
};

/* What the host can give; the caller measures it, tests make it up. */
struct host_limits {
	uint64_t mem_size;
	unsigned int max_cpus;
};

#define RUN_DEFAULT_MEM_SIZE (128ull << 20)
#define RUN_MIN_MEM_SIZE     (8ull << 20)
#define RUN_MAX_MEM_SIZE     (1ull << 40)
#define RUN_MEM_ALIGN	     (1ull << 20)
/* Reservations move whole 2 MiB granules, so max - size must be a multiple. */
#define RUN_MEM_GRANULE (2ull << 20)
#define RUN_MAX_CMDLINE 4095
#define RUN_MAX_NAME	63
/* xAPIC ids are 8 bits, 0xff is broadcast, and the IOAPIC takes one id. */
#define RUN_MAX_CPUS 254

/* Parse the arguments after "run". Returns 0 or -errno with @err filled. */
int cli__parse_run(int argc, char *const argv[], const struct host_limits *limits,
		   struct run_config *cfg, struct acc_err *err);

/*
 * "memory=SIZE,cpus=N" (either or both; a bare SIZE is in MiB): fills what
 * is given. @opt names the option in messages.
 */
int cli__parse_kinds(const char *opt, const char *v, uint64_t *memory, uint64_t *cpus,
		     uint64_t min_cpus, struct acc_err *err);

/* error, warn, info or debug (enum log_level). */
int cli__parse_log_level(const char *v, int *level, struct acc_err *err);

/* The name of `accord run` option @i (without "--"), or NULL past the last. */
const char *cli__run_option(unsigned int i);

extern const char cli_usage[];
extern const char cli_run_usage[];

#endif
