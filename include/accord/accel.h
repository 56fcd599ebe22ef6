/* SPDX-License-Identifier: MIT */
/*
 * Which accelerator runs the guest: KVM (the guest's kernel on the CPU), or
 * User-mode Linux (the guest's kernel as a host process, its devices served
 * over vhost-user). `--accel auto` measures how fast KVM runs guest kernel
 * code here: nested setups that interpret it (about 1 us an instruction)
 * cannot boot Linux, so auto takes User-mode Linux there.
 */
#ifndef ACCORD_ACCEL_H
#define ACCORD_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/cli.h"
#include "accord/error.h"

/* Above this many nanoseconds per guest kernel instruction KVM is not "at speed". */
#define ACCEL_KVM_MAX_NS_PER_INSN 20.0

struct accel_calibration {
	bool kvm_usable;    /* /dev/kvm opened and a VM ran */
	double ns_per_insn; /* guest ring-0 code, measured */
	char why_not[160];  /* when !kvm_usable */
};

/* Run a short ring-0 loop in a throw-away VM and time it. */
void accel__calibrate(const char *kvm_path, struct accel_calibration *cal);
/* Is @path a User-mode Linux kernel (a host program), rather than an x86 guest kernel? */
int accel__is_uml_kernel(const char *path, bool *is_uml, struct acc_err *err);
/*
 * Resolve cfg->accel (auto becomes kvm or uml) and write one line saying
 * what was chosen and why into @why.
 */
int accel__choose(struct run_config *cfg, const char *kvm_path, char *why, size_t why_len,
		  struct acc_err *err);

/*
 * No --kernel: point cfg at the default guest for cfg->accel (resolved),
 * from $ACCORD_GUEST_DIR or the guest-image directory beside accord.
 */
int accel__default_guest(struct run_config *cfg, struct acc_err *err);

#endif
