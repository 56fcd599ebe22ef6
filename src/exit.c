// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "accord/exit.h"

static int decode_io(struct kvm_run *run, size_t run_size, struct vcpu_exit *out)
{
	uint64_t bytes, offset = run->io.data_offset;

	if (run->io.size != 1 && run->io.size != 2 && run->io.size != 4)
		return -EINVAL;
	if (run->io.count == 0 || run->io.direction > KVM_EXIT_IO_OUT)
		return -EINVAL;
	bytes = (uint64_t)run->io.size * run->io.count;
	if (offset < sizeof(*run) || offset > run_size || bytes > run_size - offset)
		return -EINVAL;
	out->kind = VCPU_EXIT_IO;
	out->io.write = run->io.direction == KVM_EXIT_IO_OUT;
	out->io.port = run->io.port;
	out->io.size = run->io.size;
	out->io.count = run->io.count;
	out->io.data = (uint8_t *)run + offset;
	return 0;
}

static int decode_mmio(struct kvm_run *run, struct vcpu_exit *out)
{
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return -EINVAL;
	if (run->mmio.phys_addr > UINT64_MAX - len)
		return -EINVAL;
	out->kind = VCPU_EXIT_MMIO;
	out->mmio.write = run->mmio.is_write != 0;
	out->mmio.addr = run->mmio.phys_addr;
	out->mmio.len = (uint8_t)len;
	out->mmio.data = run->mmio.data;
	return 0;
}

static void decode_internal(struct kvm_run *run, struct vcpu_exit *out)
{
	uint32_t n = run->internal.ndata;

	out->kind = VCPU_EXIT_INTERNAL_ERROR;
	out->internal.suberror = run->internal.suberror;
	if (n > sizeof(out->internal.data) / sizeof(out->internal.data[0]))
		n = sizeof(out->internal.data) / sizeof(out->internal.data[0]);
	out->internal.ndata = n;
	memcpy(out->internal.data, run->internal.data, n * sizeof(out->internal.data[0]));
}

int exit__decode(struct kvm_run *run, size_t run_size, struct vcpu_exit *out)
{
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->reason = run->exit_reason;
	if (run_size < sizeof(*run)) {
		out->kind = VCPU_EXIT_MALFORMED;
		return -EINVAL;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		ret = decode_io(run, run_size, out);
		break;
	case KVM_EXIT_MMIO:
		ret = decode_mmio(run, out);
		break;
	case KVM_EXIT_HLT:
		out->kind = VCPU_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		out->kind = VCPU_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		decode_internal(run, out);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		out->kind = VCPU_EXIT_FAIL_ENTRY;
		out->fail_entry.hw_reason = run->fail_entry.hardware_entry_failure_reason;
		out->fail_entry.cpu = run->fail_entry.cpu;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		out->kind = VCPU_EXIT_SYSTEM_EVENT;
		out->system_event.type = run->system_event.type;
		break;
	case KVM_EXIT_INTR:
		out->kind = VCPU_EXIT_INTR;
		break;
	default:
		out->kind = VCPU_EXIT_UNKNOWN;
		break;
	}
	if (ret)
		out->kind = VCPU_EXIT_MALFORMED;
	return ret;
}

const char *exit__kind_name(enum vcpu_exit_kind kind)
{
	static const char *const names[] = {
		[VCPU_EXIT_IO] = "io",
		[VCPU_EXIT_MMIO] = "mmio",
		[VCPU_EXIT_HLT] = "hlt",
		[VCPU_EXIT_SHUTDOWN] = "shutdown",
		[VCPU_EXIT_INTERNAL_ERROR] = "internal-error",
		[VCPU_EXIT_FAIL_ENTRY] = "fail-entry",
		[VCPU_EXIT_SYSTEM_EVENT] = "system-event",
		[VCPU_EXIT_INTR] = "intr",
		[VCPU_EXIT_UNKNOWN] = "unknown",
		[VCPU_EXIT_MALFORMED] = "malformed",
	};

	if ((unsigned int)kind < sizeof(names) / sizeof(names[0]) && names[kind])
		return names[kind];
	return "?";
}
