// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "accord/layout.h"
#include "accord/vm.h"

int vm__open_kvm(const char *path, int *kvm_fd, struct acc_err *err)
{
	int fd, version;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return acc_errf(
				err, ENOENT,
				"%s does not exist: is KVM enabled (kvm_intel/kvm_amd loaded)?",
				path);
		if (errno == EACCES || errno == EPERM)
			return acc_errf(
				err, errno,
				"no permission to open %s: run as root or join the kvm group",
				path);
		return acc_errf(err, errno, "cannot open %s: %s", path, strerror(errno));
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		close(fd);
		return acc_errf(err, ENOTSUP, "%s: KVM API version %d, expected %d", path, version,
				KVM_API_VERSION);
	}
	*kvm_fd = fd;
	return 0;
}

static int vm__check_caps(int kvm_fd, struct acc_err *err)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
		{ KVM_CAP_IRQCHIP, "in-kernel irqchip" },
		{ KVM_CAP_PIT2, "in-kernel PIT" },
		{ KVM_CAP_USER_MEMORY, "user memory" },
		{ KVM_CAP_IOEVENTFD, "ioeventfd" },
		{ KVM_CAP_IRQFD, "irqfd" },
		{ KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
	};

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return acc_errf(err, ENOTSUP, "KVM lacks %s support", needed[i].name);
	}
	return 0;
}

static int vm__set_memslot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
			   struct acc_err *err)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return acc_errf(err, errno, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return 0;
}

static int vm__setup_x86(struct vm *vm, struct acc_err *err)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = LAYOUT_KVM_IDENTITY;

	/* Only Intel's KVM needs these pages; where the capability is absent, skip. */
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS))
		return acc_errf(err, errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity))
		return acc_errf(err, errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0))
		return acc_errf(err, errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit))
		return acc_errf(err, errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

int vm__create(struct vm *vm, uint64_t mem_size, struct acc_err *err)
{
	int ret, n;

	memset(vm, 0, sizeof(*vm));
	vm->mem.fd = -1;
	ret = vm__open_kvm(KVM_DEVICE_PATH, &vm->kvm_fd, err);
	if (ret)
		return ret;
	ret = vm__check_caps(vm->kvm_fd, err);
	if (ret)
		goto close_kvm;
	n = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n < (int)sizeof(struct kvm_run)) {
		ret = acc_errf(err, EINVAL, "KVM_GET_VCPU_MMAP_SIZE returned %d", n);
		goto close_kvm;
	}
	vm->run_size = (size_t)n;
	n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	vm->max_vcpus = n > 0 ? (unsigned int)n : 4;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = acc_errf(err, errno, "KVM_CREATE_VM: %s", strerror(errno));
		goto close_kvm;
	}
	ret = vm__setup_x86(vm, err);
	if (ret)
		goto close_vm;
	ret = guest_mem__create(&vm->mem, mem_size, err);
	if (ret)
		goto close_vm;
	ret = vm__set_memslot(vm, 0, 0, vm->mem.low_size, vm->mem.host, err);
	if (ret)
		goto destroy_mem;
	if (vm->mem.size > vm->mem.low_size) {
		ret = vm__set_memslot(vm, 1, LAYOUT_HIGH_RAM, vm->mem.size - vm->mem.low_size,
				      vm->mem.host + vm->mem.low_size, err);
		if (ret)
			goto destroy_mem;
	}
	return 0;

destroy_mem:
	guest_mem__destroy(&vm->mem);
close_vm:
	close(vm->vm_fd);
close_kvm:
	close(vm->kvm_fd);
	return ret;
}

void vm__destroy(struct vm *vm)
{
	close(vm->vm_fd);
	guest_mem__destroy(&vm->mem);
	close(vm->kvm_fd);
}

int vm__irq_line(struct vm *vm, unsigned int irq, bool level)
{
	struct kvm_irq_level line = { .irq = irq, .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &line) ? -errno : 0;
}

int vm__ignore_port_writes(struct vm *vm, uint16_t port, unsigned int len, int *efd)
{
	struct kvm_ioeventfd io = {
		.addr = port,
		.len = len,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};
	int fd, ret;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	io.fd = fd;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*efd = fd;
	return 0;
}
