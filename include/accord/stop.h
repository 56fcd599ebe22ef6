/* SPDX-License-Identifier: MIT */
/* Why a VM stopped, and the exit status that accord reports for it. */
#ifndef ACCORD_STOP_H
#define ACCORD_STOP_H

enum vm_stop_reason {
	VM_STOP_NONE,
	VM_STOP_DEBUG_EXIT, /* code: the value the guest wrote */
	VM_STOP_POWEROFF,
	VM_STOP_REBOOT,
	VM_STOP_TRIPLE_FAULT,
	VM_STOP_KVM_ERROR,	/* internal error, failed entry, unknown exit */
	VM_STOP_INTERNAL_ERROR, /* accord itself failed while running */
	VM_STOP_SIGNAL,		/* code: the signal number */
	VM_STOP_QUIT,		/* the control socket's quit */
	VM_STOP_GUEST_EXIT,	/* code: accord's exit status for how UML's process ended */
};

#define EXIT_STATUS_START_FAILED 1
#define EXIT_STATUS_REBOOT	 120
#define EXIT_STATUS_TRIPLE_FAULT 121
#define EXIT_STATUS_KVM_ERROR	 122
#define EXIT_STATUS_INTERNAL	 123
#define EXIT_STATUS_SIGNAL_BASE	 128

int stop__exit_status(enum vm_stop_reason reason, int code);
const char *stop__describe(enum vm_stop_reason reason);

/* Who a device asks to stop the VM. */
struct stop_sink {
	void (*stop)(void *ctx, enum vm_stop_reason reason, int code);
	void *ctx;
};

#endif
