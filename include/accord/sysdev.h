/* SPDX-License-Identifier: MIT */
/*
 * Small system-control ports of a PC: the debug-exit port (QEMU's
 * isa-debug-exit at 0xf4), the i8042 reset command, and an ACPI-style PM1a
 * control register for power-off. Each only asks the machine to stop.
 */
#ifndef ACCORD_SYSDEV_H
#define ACCORD_SYSDEV_H

#include "accord/bus.h"
#include "accord/stop.h"

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_LEN	4
#define I8042_CMD_PORT	0x64
#define I8042_CMD_RESET 0xfe
#define PM1A_CNT_PORT	0x604
#define PM1A_CNT_LEN	2
#define PM1_CNT_SLP_EN	(1u << 13)
/* Reset control register inside the 0xcf8 PCI address dword (PIIX, ICH). */
#define RESET_CTL_PORT	  0xcf9
#define RESET_CTL_RST_CPU 0x04

extern const struct bus_ops debug_exit_bus_ops;
extern const struct bus_ops i8042_bus_ops;
extern const struct bus_ops pm1a_cnt_bus_ops;

/* The devices' state is the stop sink they report to. */
int sysdev__register(struct bus *pio, struct stop_sink *sink);
void sysdev__reset_control(struct stop_sink *sink, uint8_t val);

#endif
