/* SPDX-License-Identifier: MIT */
/* A KVM virtual machine: the /dev/kvm handle, in-kernel irqchip and PIT, RAM. */
#ifndef ACCORD_VM_H
#define ACCORD_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/error.h"
#include "accord/guest_mem.h"

#define KVM_DEVICE_PATH "/dev/kvm"

struct vm {
	int kvm_fd;
	int vm_fd;
	size_t run_size; /* bytes of each vCPU's kvm_run mapping */
	unsigned int max_vcpus;
	struct guest_mem mem;
};

/* Open /dev/kvm and check the API; messages say what to do about failures. */
int vm__open_kvm(const char *path, int *kvm_fd, struct acc_err *err);
int vm__create(struct vm *vm, uint64_t mem_size, struct acc_err *err);
void vm__destroy(struct vm *vm);
int vm__irq_line(struct vm *vm, unsigned int irq, bool level);
/* Complete guest writes to @port in the kernel, without an exit to accord. */
int vm__ignore_port_writes(struct vm *vm, uint16_t port, unsigned int len, int *efd);

#endif
