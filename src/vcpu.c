// SPDX-License-Identifier: MIT
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accord/vcpu.h"

int vcpu__create(struct vcpu *vcpu, int vm_fd, unsigned int id, const struct vcpu_env *env,
		 struct acc_err *err)
{
	void *run;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->id = id;
	vcpu->env = env;
	pthread_mutex_init(&vcpu->park_lock, NULL);
	pthread_cond_init(&vcpu->park_cond, NULL);
	vcpu->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return acc_errf(err, errno, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	run = mmap(NULL, env->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED) {
		int e = errno;

		close(vcpu->fd);
		vcpu->fd = -1;
		return acc_errf(err, e, "vCPU %u: cannot map kvm_run: %s", id, strerror(e));
	}
	vcpu->run = run;
	return 0;
}

void vcpu__destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->env->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
	pthread_cond_destroy(&vcpu->park_cond);
	pthread_mutex_destroy(&vcpu->park_lock);
}

static void vcpu__kick_handler(int sig)
{
	(void)sig;
}

int vcpu__install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu__kick_handler;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return -EINTR. */
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

static void vcpu__stop(struct vcpu *vcpu, enum vm_stop_reason reason, int code)
{
	vcpu->env->stop->stop(vcpu->env->stop->ctx, reason, code);
}

static unsigned long long vcpu__rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		return 0;
	return regs.rip;
}

static void vcpu__handle_io(struct vcpu *vcpu, const struct vcpu_exit *exit)
{
	const struct vcpu_env *env = vcpu->env;

	for (uint32_t i = 0; i < exit->io.count; i++) {
		uint8_t *data = exit->io.data + (size_t)i * exit->io.size;

		if (!bus__access(env->pio, exit->io.port, data, exit->io.size, exit->io.write))
			continue;
		if (!exit->io.write)
			memset(data, 0xff, exit->io.size);
		log__ratelimited(env->log, env->guest_rl, LOG_DEBUG,
				 "vCPU %u: unhandled port %s 0x%x (%u bytes)", vcpu->id,
				 exit->io.write ? "write" : "read", exit->io.port, exit->io.size);
	}
}

static void vcpu__handle_mmio(struct vcpu *vcpu, const struct vcpu_exit *exit)
{
	const struct vcpu_env *env = vcpu->env;

	if (!bus__access(env->mmio, exit->mmio.addr, exit->mmio.data, exit->mmio.len,
			 exit->mmio.write))
		return;
	/* Unassigned addresses read as all ones and ignore writes, as on a PC. */
	if (!exit->mmio.write)
		memset(exit->mmio.data, 0xff, exit->mmio.len);
	log__ratelimited(env->log, env->guest_rl, LOG_DEBUG,
			 "vCPU %u: unhandled MMIO %s at 0x%llx (%u bytes)", vcpu->id,
			 exit->mmio.write ? "write" : "read", (unsigned long long)exit->mmio.addr,
			 exit->mmio.len);
}

bool vcpu__handle_exit(struct vcpu *vcpu, const struct vcpu_exit *exit)
{
	const struct acc_log *log = vcpu->env->log;

	switch (exit->kind) {
	case VCPU_EXIT_IO:
		vcpu__handle_io(vcpu, exit);
		return true;
	case VCPU_EXIT_MMIO:
		vcpu__handle_mmio(vcpu, exit);
		return true;
	case VCPU_EXIT_HLT:
	case VCPU_EXIT_INTR:
		return true;
	case VCPU_EXIT_SHUTDOWN:
		log_err(log, "vCPU %u: triple fault at RIP 0x%llx", vcpu->id, vcpu__rip(vcpu));
		vcpu__stop(vcpu, VM_STOP_TRIPLE_FAULT, 0);
		return false;
	case VCPU_EXIT_INTERNAL_ERROR:
		log_err(log, "vCPU %u: KVM internal error, suberror %u, at RIP 0x%llx", vcpu->id,
			exit->internal.suberror, vcpu__rip(vcpu));
		vcpu__stop(vcpu, VM_STOP_KVM_ERROR, 0);
		return false;
	case VCPU_EXIT_FAIL_ENTRY:
		log_err(log, "vCPU %u: VM entry failed, hardware reason 0x%llx", vcpu->id,
			(unsigned long long)exit->fail_entry.hw_reason);
		vcpu__stop(vcpu, VM_STOP_KVM_ERROR, 0);
		return false;
	case VCPU_EXIT_SYSTEM_EVENT:
		if (exit->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vcpu__stop(vcpu, VM_STOP_POWEROFF, 0);
		} else if (exit->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vcpu__stop(vcpu, VM_STOP_REBOOT, 0);
		} else {
			log_err(log, "vCPU %u: system event %u", vcpu->id, exit->system_event.type);
			vcpu__stop(vcpu, VM_STOP_KVM_ERROR, 0);
		}
		return false;
	case VCPU_EXIT_UNKNOWN:
		log_err(log, "vCPU %u: unexpected KVM exit reason %u", vcpu->id, exit->reason);
		vcpu__stop(vcpu, VM_STOP_KVM_ERROR, 0);
		return false;
	case VCPU_EXIT_MALFORMED:
		log_err(log, "vCPU %u: malformed KVM exit (reason %u)", vcpu->id, exit->reason);
		vcpu__stop(vcpu, VM_STOP_INTERNAL_ERROR, 0);
		return false;
	}
	return false;
}

/* Block while parked; true when the VM stops meanwhile. */
static bool vcpu__wait_unparked(struct vcpu *vcpu)
{
	bool stopping;

	/* The common case, on every entry into the guest: not parked, no lock taken. */
	if (!__atomic_load_n(&vcpu->parked, __ATOMIC_ACQUIRE))
		return false;
	pthread_mutex_lock(&vcpu->park_lock);
	while (vcpu->parked && !atomic_load(vcpu->env->stopping))
		pthread_cond_wait(&vcpu->park_cond, &vcpu->park_lock);
	stopping = atomic_load(vcpu->env->stopping);
	pthread_mutex_unlock(&vcpu->park_lock);
	return stopping;
}

void vcpu__set_parked(struct vcpu *vcpu, bool parked)
{
	pthread_mutex_lock(&vcpu->park_lock);
	__atomic_store_n(&vcpu->parked, parked, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vcpu->park_cond);
	pthread_mutex_unlock(&vcpu->park_lock);
	/* A running vCPU leaves KVM_RUN and then waits in vcpu__wait_unparked. */
	if (parked && vcpu->started) {
		vcpu->run->immediate_exit = 1;
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	}
}

bool vcpu__is_parked(struct vcpu *vcpu)
{
	bool parked;

	pthread_mutex_lock(&vcpu->park_lock);
	parked = vcpu->parked;
	pthread_mutex_unlock(&vcpu->park_lock);
	return parked;
}

static void *vcpu__thread(void *arg)
{
	struct vcpu *vcpu = arg;
	const struct vcpu_env *env = vcpu->env;
	struct vcpu_exit exit;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (env->sandbox) {
		int ret = sandbox__enter(env->sandbox, SANDBOX_VCPU);

		if (ret) {
			log_err(env->log, "vCPU %u: cannot enter its seccomp filter: %s", vcpu->id,
				strerror(-ret));
			vcpu__stop(vcpu, VM_STOP_INTERNAL_ERROR, 0);
			return NULL;
		}
	}

	while (!atomic_load(env->stopping)) {
		if (vcpu__wait_unparked(vcpu))
			break;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			log_err(env->log, "vCPU %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vcpu__stop(vcpu, VM_STOP_KVM_ERROR, 0);
			break;
		}
		exit__decode(vcpu->run, env->run_size, &exit);
		if (!vcpu__handle_exit(vcpu, &exit))
			break;
	}
	return NULL;
}

int vcpu__start(struct vcpu *vcpu, struct acc_err *err)
{
	char name[16];
	int ret;

	ret = pthread_create(&vcpu->thread, NULL, vcpu__thread, vcpu);
	if (ret)
		return acc_errf(err, ret, "vCPU %u: cannot start thread: %s", vcpu->id,
				strerror(ret));
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(vcpu->thread, name);
	vcpu->started = true;
	return 0;
}

void vcpu__kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/* immediate_exit covers a kick that lands just before KVM_RUN. */
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	/* A parked vCPU sleeps on its condition variable instead. */
	pthread_mutex_lock(&vcpu->park_lock);
	pthread_cond_broadcast(&vcpu->park_cond);
	pthread_mutex_unlock(&vcpu->park_lock);
}

void vcpu__join(struct vcpu *vcpu)
{
	if (vcpu->started)
		pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}
