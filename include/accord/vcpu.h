/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads. Each runs KVM_RUN, decodes the exit and dispatches it to the
 * port or MMIO bus; anything that ends the VM goes to the stop sink. Another
 * thread stops a vCPU with vcpu__kick.
 */
#ifndef ACCORD_VCPU_H
#define ACCORD_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <linux/kvm.h>

#include "accord/bus.h"
#include "accord/error.h"
#include "accord/exit.h"
#include "accord/log.h"
#include "accord/sandbox.h"
#include "accord/stop.h"

/* What every vCPU of a machine shares. */
struct vcpu_env {
	struct bus *pio;
	struct bus *mmio;
	struct stop_sink *stop;
	const struct acc_log *log;
	struct ratelimit *guest_rl; /* for guest-triggered messages */
	atomic_bool *stopping;
	size_t run_size;
	const struct sandbox *sandbox; /* each vCPU thread enters its allowlist */
};

struct vcpu {
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	const struct vcpu_env *env;
	/* A parked vCPU exists for the guest but its thread does not enter KVM_RUN. */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	bool parked;
};

/* The signal that interrupts KVM_RUN; blocked everywhere but in vCPU threads. */
#define VCPU_KICK_SIGNAL SIGUSR1

int vcpu__create(struct vcpu *vcpu, int vm_fd, unsigned int id, const struct vcpu_env *env,
		 struct acc_err *err);
void vcpu__destroy(struct vcpu *vcpu);
int vcpu__start(struct vcpu *vcpu, struct acc_err *err);
void vcpu__kick(struct vcpu *vcpu);
/* Stop running @vcpu (it leaves KVM_RUN at once) or let it run again. */
void vcpu__set_parked(struct vcpu *vcpu, bool parked);
bool vcpu__is_parked(struct vcpu *vcpu);
void vcpu__join(struct vcpu *vcpu);
/* Install the no-op handler for VCPU_KICK_SIGNAL (once per process is enough). */
int vcpu__install_kick_handler(void);

/* Handle one decoded exit; false when the vCPU must stop running. */
bool vcpu__handle_exit(struct vcpu *vcpu, const struct vcpu_exit *exit);

#endif
