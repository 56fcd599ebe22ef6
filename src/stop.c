// SPDX-License-Identifier: MIT
#include "accord/stop.h"

int stop__exit_status(enum vm_stop_reason reason, int code)
{
	switch (reason) {
	case VM_STOP_DEBUG_EXIT:
	case VM_STOP_GUEST_EXIT:
		return code & 0xff;
	case VM_STOP_POWEROFF:
	case VM_STOP_QUIT:
		return 0;
	case VM_STOP_REBOOT:
		return EXIT_STATUS_REBOOT;
	case VM_STOP_TRIPLE_FAULT:
		return EXIT_STATUS_TRIPLE_FAULT;
	case VM_STOP_KVM_ERROR:
		return EXIT_STATUS_KVM_ERROR;
	case VM_STOP_SIGNAL:
		return EXIT_STATUS_SIGNAL_BASE + (code & 0x7f);
	case VM_STOP_NONE:
	case VM_STOP_INTERNAL_ERROR:
		break;
	}
	return EXIT_STATUS_INTERNAL;
}

const char *stop__describe(enum vm_stop_reason reason)
{
	switch (reason) {
	case VM_STOP_NONE:
		return "running";
	case VM_STOP_DEBUG_EXIT:
		return "debug-exit";
	case VM_STOP_POWEROFF:
		return "power-off";
	case VM_STOP_REBOOT:
		return "reboot";
	case VM_STOP_TRIPLE_FAULT:
		return "triple-fault";
	case VM_STOP_KVM_ERROR:
		return "kvm-error";
	case VM_STOP_INTERNAL_ERROR:
		return "internal-error";
	case VM_STOP_SIGNAL:
		return "signal";
	case VM_STOP_QUIT:
		return "quit";
	case VM_STOP_GUEST_EXIT:
		return "guest-exit";
	}
	return "?";
}
