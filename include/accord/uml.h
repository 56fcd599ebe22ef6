/* SPDX-License-Identifier: MIT */
/*
 * A User-mode Linux guest as a child process: its kernel binary started with
 * the guest's memory, initrd and command line, one virtio_uml device per
 * vhost-user socket accord serves, and its console (con0) on two pipes that
 * accord relays to its own console. The child runs in a process group of its
 * own (UML runs each guest process as a host process), dies with accord
 * (PDEATHSIG), is stopped as a group, and keeps no capabilities; with
 * --runas it runs as another user.
 */
#ifndef ACCORD_UML_H
#define ACCORD_UML_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "accord/error.h"
#include "accord/sandbox.h"

#define UML_MAX_DEVICES 12
/* Room above mem= for UML's physical memory (see machine__new_virtio). */
#define UML_MEM_SLACK (256ull << 20)
#define UML_MAX_ARGS  (16 + UML_MAX_DEVICES + 128)

struct uml_device {
	const char *socket;
	unsigned int virtio_id;
};

struct uml_spawn {
	const char *kernel;
	const char *initrd; /* NULL: none */
	const char *cmdline;
	uint64_t mem_size;
	const char *run_dir; /* UML's uml_dir (pid file, mconsole socket) */
	struct uml_device devices[UML_MAX_DEVICES];
	unsigned int nr_devices;
	bool runas; /* run as @user (accord must be root); capabilities go either way */
	struct sandbox_user user;
};

struct uml_child {
	pid_t pid;	 /* also its process group */
	int pidfd;	 /* readable when it exits */
	int console_in;	 /* accord writes the guest's console input here */
	int console_out; /* and reads its console output here */
	bool reaped;
	int wait_status;
};

/*
 * The argument vector for @s into @argv (UML_MAX_ARGS entries, strings in
 * @buf of @cap bytes), console on file descriptors 3 (in) and 4 (out).
 * Pure, for tests; -E2BIG when it does not fit.
 */
int uml__build_argv(const struct uml_spawn *s, char **argv, char *buf, size_t cap);
int uml__spawn(struct uml_child *c, const struct uml_spawn *s, struct acc_err *err);
/* After the pidfd turned readable: collect the exit status. */
int uml__reap(struct uml_child *c);
/* accord's exit status for how the child ended (see `accord run --help`). */
int uml__exit_status(const struct uml_child *c);
/* Stop the child's whole group (SIGTERM, then SIGKILL after @grace_ms) and reap it. */
void uml__stop(struct uml_child *c, int grace_ms);
/* Close what is left (after uml__stop). */
void uml__close(struct uml_child *c);

#endif
