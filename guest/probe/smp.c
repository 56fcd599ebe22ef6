// SPDX-License-Identifier: MIT
/*
 * The local APIC and the application processors: the BSP's APIC ID against
 * the MP table, then INIT-SIPI-SIPI to each AP in turn. An AP runs a real-mode
 * trampoline (start.S) that increments a counter and halts with interrupts
 * off, so the APs never run again and never touch anything else.
 */
#include "probe.h"

#define LAPIC_ID     0x020
#define LAPIC_SVR    0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

#define SVR_ENABLE	  0x100
#define ICR_BUSY	  (1U << 12)
#define ICR_INIT_ASSERT	  0x0000c500 /* level, assert, INIT */
#define ICR_INIT_DEASSERT 0x00008500 /* level, deassert, INIT */
#define ICR_STARTUP	  0x00004600 /* assert, start-up */

/* Low memory that nothing else uses; the SIPI vector is its page number. */
#define TRAMP_ADDR 0x70000UL

/* Waits, in TSC cycles (the loops also stop after a fixed count). */
#define WAIT_AFTER_INIT	 (1UL << 20) /* ~0.3 ms */
#define WAIT_AFTER_SIPI	 (1UL << 25) /* ~10 ms before the second SIPI */
#define WAIT_FOR_CHECKIN (1UL << 31) /* ~0.7 s */

extern const char ap_tramp_start[], ap_tramp_counter[], ap_tramp_end[];

static bool lapic_mapped;

static bool lapic_map(void)
{
	if (!lapic_mapped)
		lapic_mapped = paging_map(LAPIC_BASE, 4096, true);
	return lapic_mapped;
}

static uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

void lapic_check(const struct mpinfo *mp)
{
	uint32_t id;

	if (!lapic_map()) {
		check("lapic-id", false, "cannot map the lapic at 0x%lx", LAPIC_BASE);
		return;
	}
	id = lapic_read(LAPIC_ID) >> 24;
	check("lapic-id", (int)id == mp->bsp_apic, "bsp lapic id %u, mp table bsp %d", id,
	      mp->bsp_apic);
}

static bool icr_wait_idle(void)
{
	for (unsigned int i = 0; i < 1000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
			return true;
		cpu_relax();
	}
	return false;
}

static void send_ipi(uint8_t apic_id, uint32_t icr)
{
	icr_wait_idle();
	lapic_write(LAPIC_ICR_HI, (uint32_t)apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	icr_wait_idle();
}

static bool wait_count(volatile uint32_t *counter, uint32_t target, uint64_t cycles)
{
	uint64_t t0 = rdtsc();

	for (unsigned int i = 0; i < 2000000; i++) {
		if (*counter >= target)
			return true;
		if (rdtsc() - t0 > cycles)
			break;
		cpu_relax();
	}
	return *counter >= target;
}

static bool wake_ap(uint8_t apic_id, volatile uint32_t *counter)
{
	uint32_t target = *counter + 1;
	uint32_t sipi = ICR_STARTUP | (TRAMP_ADDR >> 12);

	send_ipi(apic_id, ICR_INIT_ASSERT);
	send_ipi(apic_id, ICR_INIT_DEASSERT);
	delay_cycles(WAIT_AFTER_INIT);
	send_ipi(apic_id, sipi);
	if (wait_count(counter, target, WAIT_AFTER_SIPI))
		return true;
	send_ipi(apic_id, sipi);
	return wait_count(counter, target, WAIT_FOR_CHECKIN);
}

void smp_run(const struct bootinfo *bi, const struct mpinfo *mp)
{
	size_t size = ap_tramp_end - ap_tramp_start;
	volatile uint32_t *counter = phys(TRAMP_ADDR + (ap_tramp_counter - ap_tramp_start));
	unsigned int tried = 0, up = 0;

	if (!mem_is_ram(bi, TRAMP_ADDR, 4096)) {
		check("ap-wake", false, "trampoline page 0x%lx is not ram", TRAMP_ADDR);
		return;
	}
	if (!lapic_map()) {
		check("ap-wake", false, "cannot map the lapic at 0x%lx", LAPIC_BASE);
		return;
	}
	memcpy(phys(TRAMP_ADDR), ap_tramp_start, size);
	*counter = 0;
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_ENABLE);

	for (unsigned int i = 0; i < mp->nr_cpus; i++) {
		uint8_t id = mp->cpu_apic[i];

		if (mp->cpu_bsp[i])
			continue;
		tried++;
		if (wake_ap(id, counter)) {
			up++;
			pr("ap apic id %u checked in", id);
		} else {
			pr("ap apic id %u did not check in", id);
		}
	}
	check("ap-wake", up == tried, "%u of %u aps checked in (trampoline 0x%lx, vector 0x%lx)",
	      up, tried, TRAMP_ADDR, TRAMP_ADDR >> 12);
}
