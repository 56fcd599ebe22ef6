// SPDX-License-Identifier: MIT
/*
 * The probe's report, in order: who we are and how we were entered, the
 * command line, the memory map, one line per check (boot structures, memory,
 * MP table and CPUs, PCI, virtio devices), the tally, then the
 * action (by default: exit through port 0xf4 with 0 if every check passed,
 * 2 otherwise). With resource=...,idle the probe serves the resource device
 * after the tally instead, until the VMM stops the VM.
 */
#include "probe.h"

static struct bootinfo bi;
static struct options opt;
static struct mpinfo mp;
static unsigned int nr_checks, nr_passed;

void check(const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	nr_checks++;
	if (ok)
		nr_passed++;
	pr_start();
	probe_printf("check %s %s (", name, ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	probe_vprintf(fmt, ap);
	va_end(ap);
	probe_printf(")");
	pr_end();
}

static void print_map(void)
{
	for (unsigned int i = 0; i < bi.nr_mem; i++) {
		const struct memrange *r = &bi.mem[i];

		if (r->size)
			pr("memmap 0x%016lx-0x%016lx %s", r->addr, r->addr + r->size - 1,
			   memtype_name(r->type));
		else
			pr("memmap 0x%016lx empty %s", r->addr, memtype_name(r->type));
	}
	if (!bi.nr_mem)
		pr("memmap (none)");
}

static void check_cmdline(void)
{
	if (opt.bad[0])
		check("cmdline", false, "bad option \"%s\"", opt.bad);
	else
		check("cmdline", true, "%u probe options", opt.nr_known);
}

void probe_main(void);
void probe_main(void)
{
	switch (early_action()) {
	case ACTION_EXIT_NOW:
		outb(DEBUG_EXIT_PORT, EXIT_PASS);
		halt_forever();
	case ACTION_HALT_NOW:
		halt_forever();
	default:
		break;
	}
	uart_init();
	trap_init();
	bootinfo_parse(&bi);
	options_parse(bi.cmdline, &opt);
	pci_setup(&opt);

	pr("accord probe guest, entry %s", entry_name(bi.entry));
	pr("cmdline \"%s\"", bi.cmdline);
	print_map();

	check("boot-info", bi.ptr_ok, "%s", bi.desc);
	check_cmdline();
	memcheck_run(&bi, &opt);

	if (opt.mptable) {
		mptable_run(&opt, &mp);
		if (mp.found) {
			lapic_check(&mp);
			if (opt.smp)
				smp_run(&bi, &mp, resource_vcpus_granted());
		}
	}
	if (opt.pci)
		pci_run();
	virtio_run(&bi, &opt, &mp);

	if ((opt.bench & BENCH_EXITS) && !bench_exits_ran())
		bench_exits(&opt, 0, 0); /* no virtio-rng device: the userspace exit only */
	pr("result: %u of %u checks passed", nr_passed, nr_checks);
	if (opt.resource_idle)
		resource_idle(); /* serves the resource device until the VM stops */
	action_run(&opt, nr_passed == nr_checks ? EXIT_PASS : EXIT_FAIL);
}
