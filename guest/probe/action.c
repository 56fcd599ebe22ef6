// SPDX-License-Identifier: MIT
/*
 * How the probe ends: the debug-exit port (QEMU isa-debug-exit at 0xf4), or
 * one of the machine events a VMM must handle (triple fault, i8042 reset,
 * ACPI S5 through PM1a control).
 */
#include "probe.h"

#define SLP_EN 0x2000

/* Time for a VMM to act on an exit, reset or power-off request (~50 ms). */
static void spin(void)
{
	delay_cycles(1UL << 27);
}

void probe_exit(unsigned int status)
{
	uart_flush();
	outb(DEBUG_EXIT_PORT, status);
	/* Give a VMM that stops the VM asynchronously time to do so. */
	spin();
	pr("debug-exit port 0x%x did not stop the VM (status %u)", DEBUG_EXIT_PORT, status);
	halt_forever();
}

static __attribute__((noreturn)) void triple_fault(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { 0, 0 };

	/* #UD cannot be delivered through an empty IDT: #GP, #DF, shutdown. */
	__asm__ volatile("lidt %0; ud2" : : "m"(desc));
	halt_forever();
}

void action_run(const struct options *opt, unsigned int status)
{
	switch (opt->action) {
	case ACTION_EXIT_NOW: /* probe_main leaves earlier; here for completeness */
		probe_exit(EXIT_PASS);
	case ACTION_HALT_NOW:
		halt_forever();
	case ACTION_EXIT:
		probe_exit(status);
	case ACTION_EXIT_STATUS:
		probe_exit(opt->exit_status);
	case ACTION_EXCEPTION:
		pr("action exception");
		__asm__ volatile("ud2");
		halt_forever();
	case ACTION_TRIPLE_FAULT:
		pr("action triple-fault");
		triple_fault();
	case ACTION_REBOOT:
		pr("action reboot");
		outb(I8042_CMD_PORT, 0xfe);
		spin();
		pr("i8042 reset (0xfe to port 0x64) did not reset the VM, trying port 0xcf9");
		outb(RESET_CTL_PORT, 0x06);
		spin();
		pr("reboot failed");
		probe_exit(EXIT_ACTION);
	case ACTION_POWEROFF:
		pr("action poweroff");
		outw(PM1A_CNT_PORT, SLP_EN);
		spin();
		pr("poweroff (0x%x to port 0x%x) failed", SLP_EN, PM1A_CNT_PORT);
		probe_exit(EXIT_ACTION);
	}
	probe_exit(status);
}
