// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_exit runner): vcpu__handle_exit on decoded exits, with
 * real port and MMIO buses holding a test device and a stop sink that
 * records the reason (no /dev/kvm: the vCPU fd is -1), and the exit status
 * accord reports for every stop reason.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accord/bus.h"
#include "accord/exit.h"
#include "accord/log.h"
#include "accord/stop.h"
#include "accord/vcpu.h"

#include "exit_test.h"

/* ---- vcpu__handle_exit with real buses ---- */

struct stop_rec {
	unsigned int calls;
	enum vm_stop_reason reason;
	int code;
};

static void record_stop(void *ctx, enum vm_stop_reason reason, int code)
{
	struct stop_rec *r = ctx;

	r->calls++;
	r->reason = reason;
	r->code = code;
}

struct test_dev {
	unsigned int reads, writes;
	uint64_t offset;
	unsigned int len;
	uint8_t written[16];
	unsigned int nwritten;
};

static void dev_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	struct test_dev *d = dev;

	d->reads++;
	d->offset = offset;
	d->len = len;
	for (unsigned int i = 0; i < len; i++)
		((uint8_t *)data)[i] = (uint8_t)(0x40 + offset + i);
}

static void dev_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct test_dev *d = dev;

	d->writes++;
	d->offset = offset;
	d->len = len;
	for (unsigned int i = 0; i < len && d->nwritten < sizeof(d->written); i++)
		d->written[d->nwritten++] = ((const uint8_t *)data)[i];
}

static const struct bus_ops dev_ops = { dev_read, dev_write };

#define DEV_PORT 0x500
#define DEV_MMIO 0xd0000000ull

static struct bus pio, mmio;
static struct test_dev dev;
static struct stop_rec stops;
static struct stop_sink sink = { record_stop, &stops };
static struct acc_log log_;
static struct ratelimit rl;
static atomic_bool stopping;
static struct vcpu_env env;
static struct vcpu vcpu;

static void vcpu_setup(void)
{
	run_setup();
	memset(&dev, 0, sizeof(dev));
	memset(&stops, 0, sizeof(stops));
	ck_assert_int_eq(bus__init(&pio), 0);
	ck_assert_int_eq(bus__init(&mmio), 0);
	ck_assert_int_eq(bus__register(&pio, DEV_PORT, 4, &dev_ops, &dev), 0);
	ck_assert_int_eq(bus__register(&mmio, DEV_MMIO, 0x1000, &dev_ops, &dev), 0);
	log__init(&log_, "unit", LOG_ERROR);
	ratelimit__init(&rl, 1000, 10);
	atomic_init(&stopping, false);
	env = (struct vcpu_env){ &pio, &mmio, &sink, &log_, &rl, &stopping, RUN_SIZE, NULL };
	vcpu = (struct vcpu){ .id = 0, .fd = -1, .run = run, .env = &env };
}

static void vcpu_teardown(void)
{
	ratelimit__destroy(&rl);
	bus__exit(&mmio);
	bus__exit(&pio);
	run_teardown();
}

/* Decode the crafted page and handle the exit, as the vCPU thread does. */
static bool decode_and_handle(void)
{
	exit__decode(run, RUN_SIZE, &ex);
	return vcpu__handle_exit(&vcpu, &ex);
}

START_TEST(test_handle_io_out_reaches_the_registered_device)
{
	set_io(KVM_EXIT_IO_OUT, DEV_PORT + 2, 2, 1, PIO_OFFSET);
	memcpy(run_bytes(PIO_OFFSET), "\xef\xbe", 2);
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(dev.writes, 1);
	ck_assert_uint_eq(dev.offset, 2);
	ck_assert_uint_eq(dev.len, 2);
	ck_assert_mem_eq(dev.written, "\xef\xbe", 2);
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_handle_io_in_reads_from_the_device)
{
	set_io(KVM_EXIT_IO_IN, DEV_PORT, 4, 1, PIO_OFFSET);
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(dev.reads, 1);
	ck_assert_mem_eq(run_bytes(PIO_OFFSET), "\x40\x41\x42\x43", 4);
}
END_TEST

START_TEST(test_handle_string_io_accesses_once_per_element)
{
	set_io(KVM_EXIT_IO_OUT, DEV_PORT + 1, 1, 3, PIO_OFFSET);
	memcpy(run_bytes(PIO_OFFSET), "abc", 3);
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(dev.writes, 3);
	ck_assert_uint_eq(dev.nwritten, 3);
	ck_assert_mem_eq(dev.written, "abc", 3);
	set_io(KVM_EXIT_IO_IN, DEV_PORT, 2, 2, PIO_OFFSET + 16);
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(dev.reads, 2);
	ck_assert_mem_eq(run_bytes(PIO_OFFSET + 16), "\x40\x41\x40\x41", 4);
}
END_TEST

START_TEST(test_handle_unhandled_port_read_fills_0xff)
{
	set_io(KVM_EXIT_IO_IN, 0x80, 4, 2, PIO_OFFSET);
	ck_assert(decode_and_handle());
	ck_assert_mem_eq(run_bytes(PIO_OFFSET), "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	ck_assert_uint_eq(run_bytes(PIO_OFFSET)[8], 0);
	/* Straddling the device's end is unhandled too. */
	set_io(KVM_EXIT_IO_IN, DEV_PORT + 2, 4, 1, PIO_OFFSET + 16);
	ck_assert(decode_and_handle());
	ck_assert_mem_eq(run_bytes(PIO_OFFSET + 16), "\xff\xff\xff\xff", 4);
	ck_assert_uint_eq(dev.reads, 0);
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_handle_unhandled_port_write_is_ignored)
{
	set_io(KVM_EXIT_IO_OUT, 0x80, 1, 1, PIO_OFFSET);
	run_bytes(PIO_OFFSET)[0] = 0x42;
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(run_bytes(PIO_OFFSET)[0], 0x42);
	ck_assert_uint_eq(dev.writes, 0);
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_handle_mmio_reaches_the_device)
{
	set_mmio(DEV_MMIO + 0x10, 8, false);
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(dev.reads, 1);
	ck_assert_uint_eq(dev.offset, 0x10);
	ck_assert_mem_eq(run->mmio.data, "\x50\x51\x52\x53\x54\x55\x56\x57", 8);
	set_mmio(DEV_MMIO + 0x20, 4, true);
	memcpy(run->mmio.data, "wxyz", 4);
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(dev.writes, 1);
	ck_assert_uint_eq(dev.offset, 0x20);
	ck_assert_mem_eq(dev.written, "wxyz", 4);
}
END_TEST

START_TEST(test_handle_unhandled_mmio_read_fills_0xff)
{
	set_mmio(0xfed00000, 4, false);
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	ck_assert(decode_and_handle());
	ck_assert_mem_eq(run->mmio.data, "\xff\xff\xff\xff\0\0\0\0", 8);
	set_mmio(0xfed00000, 4, true);
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(stops.calls, 0);
	ck_assert_uint_eq(dev.reads + dev.writes, 0);
}
END_TEST

START_TEST(test_handle_hlt_and_intr_keep_running)
{
	run->exit_reason = KVM_EXIT_HLT;
	ck_assert(decode_and_handle());
	run->exit_reason = KVM_EXIT_INTR;
	ck_assert(decode_and_handle());
	ck_assert_uint_eq(stops.calls, 0);
}
END_TEST

START_TEST(test_handle_shutdown_is_a_triple_fault)
{
	run->exit_reason = KVM_EXIT_SHUTDOWN;
	ck_assert(!decode_and_handle());
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_TRIPLE_FAULT);
	ck_assert_int_eq(stops.code, 0);
}
END_TEST

START_TEST(test_handle_internal_error_and_failed_entry_are_kvm_errors)
{
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	ck_assert(!decode_and_handle());
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_KVM_ERROR);
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	ck_assert(!decode_and_handle());
	ck_assert_uint_eq(stops.calls, 2);
	ck_assert_int_eq(stops.reason, VM_STOP_KVM_ERROR);
}
END_TEST

START_TEST(test_handle_system_event_shutdown_powers_off)
{
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	ck_assert(!decode_and_handle());
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_POWEROFF);
	ck_assert_int_eq(stops.code, 0);
}
END_TEST

START_TEST(test_handle_system_event_reset_reboots)
{
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	ck_assert(!decode_and_handle());
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_REBOOT);
}
END_TEST

START_TEST(test_handle_other_system_event_is_a_kvm_error)
{
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
	ck_assert(!decode_and_handle());
	ck_assert_int_eq(stops.reason, VM_STOP_KVM_ERROR);
}
END_TEST

START_TEST(test_handle_unknown_and_malformed_exits_stop_the_vm)
{
	run->exit_reason = 9999;
	ck_assert(!decode_and_handle());
	ck_assert_uint_eq(stops.calls, 1);
	ck_assert_int_eq(stops.reason, VM_STOP_KVM_ERROR);
	set_io(KVM_EXIT_IO_IN, DEV_PORT, 3, 1, PIO_OFFSET);
	ck_assert(!decode_and_handle());
	ck_assert_uint_eq(stops.calls, 2);
	ck_assert_int_eq(stops.reason, VM_STOP_INTERNAL_ERROR);
	ck_assert_uint_eq(dev.reads, 0);
}
END_TEST

/* ---- exit status ---- */

START_TEST(test_exit_status_for_every_stop_reason)
{
	ck_assert_int_eq(stop__exit_status(VM_STOP_DEBUG_EXIT, 0), 0);
	ck_assert_int_eq(stop__exit_status(VM_STOP_DEBUG_EXIT, 7), 7);
	ck_assert_int_eq(stop__exit_status(VM_STOP_DEBUG_EXIT, 255), 255);
	ck_assert_int_eq(stop__exit_status(VM_STOP_DEBUG_EXIT, 0x1234), 0x34);
	ck_assert_int_eq(stop__exit_status(VM_STOP_POWEROFF, 0), 0);
	ck_assert_int_eq(stop__exit_status(VM_STOP_POWEROFF, 5), 0);
	ck_assert_int_eq(stop__exit_status(VM_STOP_REBOOT, 0), 120);
	ck_assert_int_eq(stop__exit_status(VM_STOP_TRIPLE_FAULT, 0), 121);
	ck_assert_int_eq(stop__exit_status(VM_STOP_KVM_ERROR, 0), 122);
	ck_assert_int_eq(stop__exit_status(VM_STOP_INTERNAL_ERROR, 0), 123);
	ck_assert_int_eq(stop__exit_status(VM_STOP_NONE, 0), 123);
	ck_assert_int_eq(stop__exit_status(VM_STOP_SIGNAL, SIGINT), 130);
	ck_assert_int_eq(stop__exit_status(VM_STOP_SIGNAL, SIGTERM), 143);
	ck_assert_int_eq(stop__exit_status(VM_STOP_SIGNAL, SIGHUP), 129);
}
END_TEST

START_TEST(test_stop_reasons_have_names)
{
	ck_assert_str_eq(stop__describe(VM_STOP_NONE), "running");
	ck_assert_str_eq(stop__describe(VM_STOP_DEBUG_EXIT), "debug-exit");
	ck_assert_str_eq(stop__describe(VM_STOP_POWEROFF), "power-off");
	ck_assert_str_eq(stop__describe(VM_STOP_REBOOT), "reboot");
	ck_assert_str_eq(stop__describe(VM_STOP_TRIPLE_FAULT), "triple-fault");
	ck_assert_str_eq(stop__describe(VM_STOP_KVM_ERROR), "kvm-error");
	ck_assert_str_eq(stop__describe(VM_STOP_INTERNAL_ERROR), "internal-error");
	ck_assert_str_eq(stop__describe(VM_STOP_SIGNAL), "signal");
}
END_TEST

Suite *handle_suite(void)
{
	Suite *s = suite_create("exit handling");
	TCase *tc = tcase_create("vcpu__handle_exit");

	tcase_add_checked_fixture(tc, vcpu_setup, vcpu_teardown);
	tcase_add_test(tc, test_handle_io_out_reaches_the_registered_device);
	tcase_add_test(tc, test_handle_io_in_reads_from_the_device);
	tcase_add_test(tc, test_handle_string_io_accesses_once_per_element);
	tcase_add_test(tc, test_handle_unhandled_port_read_fills_0xff);
	tcase_add_test(tc, test_handle_unhandled_port_write_is_ignored);
	tcase_add_test(tc, test_handle_mmio_reaches_the_device);
	tcase_add_test(tc, test_handle_unhandled_mmio_read_fills_0xff);
	tcase_add_test(tc, test_handle_hlt_and_intr_keep_running);
	tcase_add_test(tc, test_handle_shutdown_is_a_triple_fault);
	tcase_add_test(tc, test_handle_internal_error_and_failed_entry_are_kvm_errors);
	tcase_add_test(tc, test_handle_system_event_shutdown_powers_off);
	tcase_add_test(tc, test_handle_system_event_reset_reboots);
	tcase_add_test(tc, test_handle_other_system_event_is_a_kvm_error);
	tcase_add_test(tc, test_handle_unknown_and_malformed_exits_stop_the_vm);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit status");
	tcase_add_test(tc, test_exit_status_for_every_stop_reason);
	tcase_add_test(tc, test_stop_reasons_have_names);
	suite_add_tcase(s, tc);
	return s;
}
