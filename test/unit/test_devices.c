// SPDX-License-Identifier: MIT
/*
 * Unit tests: the guest-visible devices driven exactly as a vCPU drives them.
 * This file: the system-control ports and the console's escape handling;
 * the UART is in test_uart.c, the bus and PCI in test_pci.c.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accord/bus.h"
#include "accord/console.h"
#include "accord/stop.h"
#include "accord/sysdev.h"
#include "accord/uart.h"

#include "devices_test.h"

static struct stop_rec stops;
static struct stop_sink sink = { record_stop, &stops };
static const struct bus_ops no_ops = { NULL, NULL };

/* ---- system-control ports ---- */

START_TEST(test_debug_exit_reports_low_byte_of_the_value)
{
	struct bus b;
	uint32_t v = 0x1234;

	memset(&stops, 0, sizeof(stops));
	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(sysdev__register(&b, &sink), 0);
	ck_assert_int_eq(bus__access(&b, DEBUG_EXIT_PORT, &v, 4, true), 0);
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_DEBUG_EXIT);
	ck_assert_int_eq(stops.code, 0x34);
	v = 0;
	ck_assert_int_eq(bus__access(&b, DEBUG_EXIT_PORT, &v, 1, true), 0);
	ck_assert_uint_eq(stops.calls, 2);
	ck_assert_int_eq(stops.code, 0);
	v = 0xff;
	ck_assert_int_eq(bus__access(&b, DEBUG_EXIT_PORT, &v, 2, true), 0);
	ck_assert_int_eq(stops.code, 0xff);
	/* Writes inside the port but not at its base are ignored. */
	ck_assert_int_eq(bus__access(&b, DEBUG_EXIT_PORT + 1, &v, 1, true), 0);
	ck_assert_uint_eq(stops.calls, 3);
	bus__exit(&b);
}
END_TEST

START_TEST(test_i8042_reset_command_reboots)
{
	struct bus b;
	uint8_t v = 0xfd;

	memset(&stops, 0, sizeof(stops));
	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(sysdev__register(&b, &sink), 0);
	ck_assert_int_eq(bus__access(&b, I8042_CMD_PORT, &v, 1, true), 0);
	ck_assert_uint_eq(stops.calls, 0);
	v = 0xff;
	ck_assert_int_eq(bus__access(&b, I8042_CMD_PORT, &v, 1, false), 0);
	ck_assert_uint_eq(v, 0); /* status: both buffers empty */
	v = I8042_CMD_RESET;
	ck_assert_int_eq(bus__access(&b, I8042_CMD_PORT, &v, 1, true), 0);
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_REBOOT);
	ck_assert_int_eq(stops.code, 0);
	bus__exit(&b);
}
END_TEST

START_TEST(test_pm1a_slp_en_powers_off)
{
	struct bus b;
	uint16_t v = 5 << 10; /* SLP_TYP without SLP_EN */

	memset(&stops, 0, sizeof(stops));
	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(sysdev__register(&b, &sink), 0);
	ck_assert_int_eq(bus__access(&b, PM1A_CNT_PORT, &v, 2, true), 0);
	ck_assert_uint_eq(stops.calls, 0);
	v = 0xff;
	ck_assert_int_eq(bus__access(&b, PM1A_CNT_PORT, &v, 2, false), 0);
	ck_assert_uint_eq(v, 0);
	v = PM1_CNT_SLP_EN | 5 << 10;
	ck_assert_int_eq(bus__access(&b, PM1A_CNT_PORT, &v, 1, true), 0);
	ck_assert_uint_eq(stops.calls, 0); /* a byte write carries no SLP_EN */
	ck_assert_int_eq(bus__access(&b, PM1A_CNT_PORT, &v, 2, true), 0);
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_POWEROFF);
	ck_assert_int_eq(stops.code, 0);
	bus__exit(&b);
}
END_TEST

START_TEST(test_sysdev_ports_are_taken_and_reset_control_needs_rst_cpu)
{
	struct bus b;

	memset(&stops, 0, sizeof(stops));
	ck_assert_int_eq(bus__init(&b), 0);
	ck_assert_int_eq(sysdev__register(&b, &sink), 0);
	ck_assert_int_eq(bus__register(&b, DEBUG_EXIT_PORT + 3, 1, &no_ops, NULL), -EEXIST);
	ck_assert_int_eq(bus__register(&b, PM1A_CNT_PORT + 1, 1, &no_ops, NULL), -EEXIST);
	ck_assert_int_eq(sysdev__register(&b, &sink), -EEXIST);
	sysdev__reset_control(&sink, 0x02);
	sysdev__reset_control(&sink, 0x00);
	ck_assert_uint_eq(stops.calls, 0);
	sysdev__reset_control(&sink, RESET_CTL_RST_CPU);
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_REBOOT);
	bus__exit(&b);
}
END_TEST

/* ---- console input escapes ---- */

static void console_init(struct console *c, bool raw)
{
	memset(c, 0, sizeof(*c));
	c->raw = raw;
	c->in_fd = -1;
	c->out_fd = -1;
	c->stop = &sink;
	memset(&stops, 0, sizeof(stops));
}

START_TEST(test_console_ctrl_a_x_stops_the_vm_as_sigint)
{
	struct console c;
	uint8_t out[16];
	static const uint8_t in[] = "ab\x01xcd";

	console_init(&c, true);
	ck_assert_uint_eq(console__filter_input(&c, in, 6, out), 4);
	ck_assert_mem_eq(out, "abcd", 4);
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_SIGNAL);
	ck_assert_int_eq(stops.code, SIGINT);
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"\x01X", 2, out), 0);
	ck_assert_uint_eq(stops.calls, 2);
}
END_TEST

START_TEST(test_console_ctrl_a_ctrl_a_sends_one_ctrl_a)
{
	struct console c;
	uint8_t out[16];

	console_init(&c, true);
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"\x01\x01z", 3, out), 2);
	ck_assert_mem_eq(out, "\x01z", 2);
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_console_escape_split_across_reads)
{
	struct console c;
	uint8_t out[16];

	console_init(&c, true);
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"q\x01", 2, out), 1);
	ck_assert_uint_eq(out[0], 'q');
	ck_assert(c.escape_pending);
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"x", 1, out), 0);
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert(!c.escape_pending);
}
END_TEST

START_TEST(test_console_unknown_escape_is_swallowed)
{
	struct console c;
	uint8_t out[16];

	console_init(&c, true);
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"\x01qr", 3, out), 1);
	ck_assert_uint_eq(out[0], 'r');
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_console_help_escape_writes_help_to_output)
{
	struct console c;
	uint8_t out[16];
	char help[256];
	int fds[2];
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	console_init(&c, true);
	c.out_fd = fds[1];
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"\x01h", 2, out), 0);
	close(fds[1]);
	n = read(fds[0], help, sizeof(help) - 1);
	close(fds[0]);
	ck_assert_int_gt(n, 0);
	help[n] = '\0';
	ck_assert_ptr_nonnull(strstr(help, "C-a x"));
	ck_assert_ptr_nonnull(strstr(help, "C-a C-a"));
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_console_not_raw_passes_everything)
{
	struct console c;
	uint8_t out[16];

	console_init(&c, false);
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"\x01x\x01\x01", 4, out), 4);
	ck_assert_mem_eq(out, "\x01x\x01\x01", 4);
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_console_without_stop_sink_ignores_ctrl_a_x)
{
	struct console c;
	uint8_t out[16];

	console_init(&c, true);
	c.stop = NULL;
	ck_assert_uint_eq(console__filter_input(&c, (const uint8_t *)"\x01xy", 3, out), 1);
	ck_assert_uint_eq(out[0], 'y');
}
END_TEST

static Suite *system_suite(void)
{
	Suite *s = suite_create("system ports and console");
	TCase *tc = tcase_create("sysdev");

	tcase_add_test(tc, test_debug_exit_reports_low_byte_of_the_value);
	tcase_add_test(tc, test_i8042_reset_command_reboots);
	tcase_add_test(tc, test_pm1a_slp_en_powers_off);
	tcase_add_test(tc, test_sysdev_ports_are_taken_and_reset_control_needs_rst_cpu);
	suite_add_tcase(s, tc);

	tc = tcase_create("console");
	tcase_add_test(tc, test_console_ctrl_a_x_stops_the_vm_as_sigint);
	tcase_add_test(tc, test_console_ctrl_a_ctrl_a_sends_one_ctrl_a);
	tcase_add_test(tc, test_console_escape_split_across_reads);
	tcase_add_test(tc, test_console_unknown_escape_is_swallowed);
	tcase_add_test(tc, test_console_help_escape_writes_help_to_output);
	tcase_add_test(tc, test_console_not_raw_passes_everything);
	tcase_add_test(tc, test_console_without_stop_sink_ignores_ctrl_a_x);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(uart_suite());
	int failed;

	srunner_add_suite(sr, bus_pci_suite());
	srunner_add_suite(sr, system_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
