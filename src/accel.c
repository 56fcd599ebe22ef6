// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "accord/accel.h"

#define CAL_MEM_SIZE 0x10000
#define CAL_CODE     0x1000
/* Loop rounds: about 40k instructions, ~40 ms where KVM interprets ring 0. */
#define CAL_ROUNDS_SHORT 4000u
#define CAL_ROUNDS_LONG	 24000u
#define CAL_TRIES	 3

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Real mode at CAL_CODE: mov ecx, rounds; 1: dec ecx; jnz 1b; hlt. */
static void cal_code(uint8_t *mem, uint32_t rounds)
{
	static const uint8_t tail[] = { 0x66, 0x49, 0x75, 0xfc, 0xf4 };
	uint8_t *p = mem + CAL_CODE;

	p[0] = 0x66;
	p[1] = 0xb9;
	memcpy(p + 2, &rounds, sizeof(rounds));
	memcpy(p + 6, tail, sizeof(tail));
}

/* Time one run of the loop from reset state to HLT; <0 on failure. */
static double cal_run(int vcpu_fd, struct kvm_run *run, uint8_t *mem, uint32_t rounds)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	double start;

	cal_code(mem, rounds);
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs))
		return -1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs))
		return -1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = CAL_CODE;
	regs.rflags = 0x2;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs))
		return -1;
	start = now_ns();
	do {
		if (ioctl(vcpu_fd, KVM_RUN, 0) && errno != EINTR)
			return -1;
	} while (run->exit_reason == KVM_EXIT_INTR);
	return run->exit_reason == KVM_EXIT_HLT ? now_ns() - start : -1;
}

void accel__calibrate(const char *kvm_path, struct accel_calibration *cal)
{
	struct kvm_userspace_memory_region slot = { 0 };
	int kvm_fd, vm_fd = -1, vcpu_fd = -1, run_size;
	struct kvm_run *run = MAP_FAILED;
	double short_ns, long_ns;
	uint8_t *mem;

	memset(cal, 0, sizeof(*cal));
	kvm_fd = open(kvm_path, O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		snprintf(cal->why_not, sizeof(cal->why_not), "%s: %s", kvm_path, strerror(errno));
		return;
	}
	mem = mmap(NULL, CAL_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		goto fail;
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		goto unmap_mem;
	slot.memory_size = CAL_MEM_SIZE;
	slot.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot))
		goto close_vm;
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu_fd < 0 || run_size < (int)sizeof(*run))
		goto close_vcpu;
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);
	if (run == MAP_FAILED)
		goto close_vcpu;
	/*
	 * Two lengths, so that the cost of entering the guest cancels out; a
	 * warm-up run first, then the best of a few, so that one preemption of
	 * the host thread does not pass for a slow CPU.
	 */
	short_ns = long_ns = -1;
	if (cal_run(vcpu_fd, run, mem, CAL_ROUNDS_SHORT) >= 0) {
		for (int i = 0; i < CAL_TRIES; i++) {
			double s = cal_run(vcpu_fd, run, mem, CAL_ROUNDS_SHORT);
			double l = cal_run(vcpu_fd, run, mem, CAL_ROUNDS_LONG);

			if (s < 0 || l < 0) {
				long_ns = -1;
				break;
			}
			short_ns = short_ns < 0 || s < short_ns ? s : short_ns;
			long_ns = long_ns < 0 || l < long_ns ? l : long_ns;
		}
	}
	if (long_ns < 0) {
		snprintf(cal->why_not, sizeof(cal->why_not),
			 "the calibration guest did not run to its HLT");
		goto unmap_run;
	}
	cal->kvm_usable = true;
	cal->ns_per_insn = (long_ns > short_ns ? long_ns - short_ns : 0) /
			   (2.0 * (CAL_ROUNDS_LONG - CAL_ROUNDS_SHORT));
unmap_run:
	munmap(run, (size_t)run_size);
close_vcpu:
	if (vcpu_fd >= 0)
		close(vcpu_fd);
close_vm:
	close(vm_fd);
unmap_mem:
	munmap(mem, CAL_MEM_SIZE);
fail:
	if (!cal->kvm_usable && !cal->why_not[0])
		snprintf(cal->why_not, sizeof(cal->why_not), "cannot set up a VM: %s",
			 strerror(errno));
	close(kvm_fd);
}

int accel__is_uml_kernel(const char *path, bool *is_uml, struct acc_err *err)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, ret = 0;

	*is_uml = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return acc_errf(err, errno, "kernel '%s': %s", path, strerror(errno));
	/* A host program has an ELF interpreter; vmlinux and bzImage have none. */
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph))
		goto out;
	for (unsigned int i = 0; i < eh.e_phnum && i < 64; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			break;
		if (ph.p_type == PT_INTERP) {
			*is_uml = true;
			break;
		}
	}
out:
	close(fd);
	return ret;
}

/* The directory holding the default guest (scripts/guest-image). */
static int default_guest_dir(char *dir, size_t cap, struct acc_err *err)
{
	const char *env = getenv("ACCORD_GUEST_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		if ((size_t)snprintf(dir, cap, "%s", env) >= cap)
			return acc_errf(err, ENAMETOOLONG, "ACCORD_GUEST_DIR is too long");
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return acc_errf(err, errno, "cannot find accord's own path: %s", strerror(errno));
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if ((size_t)snprintf(dir, cap, "%s/guest-image", exe) >= cap)
		return acc_errf(err, ENAMETOOLONG, "accord's path is too long");
	return 0;
}

int accel__default_guest(struct run_config *cfg, struct acc_err *err)
{
	const char *kernel = cfg->accel == ACCEL_UML ? "uml-linux" : "x86-vmlinuz";
	const char *initrd =
		cfg->accel == ACCEL_UML ? "uml-initramfs.cpio.gz" : "x86-initramfs.cpio.gz";
	char dir[RUN_MAX_PATH - 64];
	int ret;

	ret = default_guest_dir(dir, sizeof(dir), err);
	if (ret)
		return ret;
	snprintf(cfg->default_kernel, sizeof(cfg->default_kernel), "%s/%s", dir, kernel);
	snprintf(cfg->default_initrd, sizeof(cfg->default_initrd), "%s/%s", dir, initrd);
	if (access(cfg->default_kernel, R_OK) || access(cfg->default_initrd, R_OK))
		return acc_errf(err, ENOENT,
				"no default guest in %s (build it with scripts/guest-image, or "
				"pass --kernel)",
				dir);
	cfg->kernel = cfg->default_kernel;
	cfg->initrd = cfg->default_initrd;
	return 0;
}

int accel__choose(struct run_config *cfg, const char *kvm_path, char *why, size_t why_len,
		  struct acc_err *err)
{
	struct accel_calibration cal;
	bool is_uml = false;
	int ret;

	if (cfg->kernel) {
		ret = accel__is_uml_kernel(cfg->kernel, &is_uml, err);
		if (ret)
			return ret;
	}
	switch (cfg->accel) {
	case ACCEL_KVM:
		if (is_uml)
			return acc_errf(err, EINVAL,
					"--accel kvm: %s is a User-mode Linux binary, not an x86 "
					"guest kernel",
					cfg->kernel);
		snprintf(why, why_len, "accelerator kvm (--accel kvm)");
		break;
	case ACCEL_UML:
		if (cfg->kernel && !is_uml)
			return acc_errf(err, EINVAL,
					"--accel uml: %s is not a User-mode Linux binary",
					cfg->kernel);
		snprintf(why, why_len, "accelerator uml (--accel uml)");
		break;
	case ACCEL_AUTO:
		if (cfg->kernel) {
			cfg->accel = is_uml ? ACCEL_UML : ACCEL_KVM;
			snprintf(why, why_len, "accelerator %s: %s is %s", is_uml ? "uml" : "kvm",
				 cfg->kernel,
				 is_uml ? "a User-mode Linux binary" : "an x86 guest kernel");
			break;
		}
		/* The default guest comes for both: take KVM only where it runs at speed. */
		accel__calibrate(kvm_path, &cal);
		if (!cal.kvm_usable) {
			cfg->accel = ACCEL_UML;
			snprintf(why, why_len, "accelerator uml: KVM is not usable (%s)",
				 cal.why_not);
		} else if (cal.ns_per_insn > ACCEL_KVM_MAX_NS_PER_INSN) {
			cfg->accel = ACCEL_UML;
			snprintf(why, why_len,
				 "accelerator uml: KVM runs guest kernel code at %.0f ns an "
				 "instruction here (interpreted; at speed is under %.0f ns)",
				 cal.ns_per_insn, ACCEL_KVM_MAX_NS_PER_INSN);
		} else {
			cfg->accel = ACCEL_KVM;
			snprintf(why, why_len,
				 "accelerator kvm: KVM runs guest kernel code at %.1f ns an "
				 "instruction",
				 cal.ns_per_insn);
		}
		break;
	}
	return 0;
}
