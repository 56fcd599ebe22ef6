// SPDX-License-Identifier: MIT
/*
 * The local APIC and the application processors: the BSP's APIC ID against
 * the MP table, then INIT-SIPI-SIPI to each AP in turn. An AP runs a real-mode
 * trampoline (start.S) that increments a counter and halts with interrupts
 * off, so the APs never run again and never touch anything else.
 *
 * Under accord, vCPUs the host has not granted (APIC ID >= the resource
 * device's vcpus_granted; accord's APIC IDs are the vCPU indices) are parked
 * and cannot run: ap-wake leaves them alone, and the resource probe's vcpu
 * scenario wakes one once it is granted (smp_ap_prepare, smp_wake_ap).
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

/*
 * INIT, then SIPI (twice if needed); true once the counter passed its value
 * at the start. wait bounds the wait after the second SIPI (TSC cycles).
 */
bool smp_wake_ap(uint8_t apic_id, volatile uint32_t *counter, uint64_t wait)
{
	uint32_t target = *counter + 1;
	uint32_t sipi = ICR_STARTUP | (TRAMP_ADDR >> 12);

	send_ipi(apic_id, ICR_INIT_ASSERT);
	send_ipi(apic_id, ICR_INIT_DEASSERT);
	delay_cycles(WAIT_AFTER_INIT);
	send_ipi(apic_id, sipi);
	if (wait_count(counter, target, wait < WAIT_AFTER_SIPI ? wait : WAIT_AFTER_SIPI))
		return true;
	send_ipi(apic_id, sipi);
	return wait_count(counter, target, wait);
}

/*
 * The trampoline at 0x70000 and the LAPIC, once: the counter the APs
 * increment, or NULL (with *why) if the page is not RAM or the LAPIC
 * cannot be mapped.
 */
volatile uint32_t *smp_ap_prepare(const struct bootinfo *bi, const char **why)
{
	static bool ready;
	size_t size = ap_tramp_end - ap_tramp_start;
	volatile uint32_t *counter = phys(TRAMP_ADDR + (ap_tramp_counter - ap_tramp_start));

	if (ready)
		return counter;
	if (!mem_is_ram(bi, TRAMP_ADDR, 4096)) {
		*why = "the trampoline page 0x70000 is not ram";
		return NULL;
	}
	if (!lapic_map()) {
		*why = "cannot map the lapic";
		return NULL;
	}
	memcpy(phys(TRAMP_ADDR), ap_tramp_start, size);
	*counter = 0;
	lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_ENABLE);
	ready = true;
	return counter;
}

/* granted: vCPUs the host lets run (APIC IDs below it), or -1 when unknown (all). */
void smp_run(const struct bootinfo *bi, const struct mpinfo *mp, int granted)
{
	volatile uint32_t *counter;
	unsigned int tried = 0, up = 0, parked = 0;
	const char *why = "";
	char note[64] = "";

	counter = smp_ap_prepare(bi, &why);
	if (!counter) {
		check("ap-wake", false, "%s", why);
		return;
	}

	for (unsigned int i = 0; i < mp->nr_cpus; i++) {
		uint8_t id = mp->cpu_apic[i];

		if (mp->cpu_bsp[i])
			continue;
		if (granted >= 0 && id >= granted) {
			parked++;
			pr("ap apic id %u not granted by the host (vcpus granted %d): parked, not "
			   "woken",
			   id, granted);
			continue;
		}
		tried++;
		if (smp_wake_ap(id, counter, WAIT_FOR_CHECKIN)) {
			up++;
			pr("ap apic id %u checked in", id);
		} else {
			pr("ap apic id %u did not check in", id);
		}
	}
	if (parked)
		probe_snprintf(note, sizeof(note), ", %u parked (not granted) left alone", parked);
	check("ap-wake", up == tried, "%u of %u aps checked in (trampoline 0x%lx, vector 0x%lx)%s",
	      up, tried, TRAMP_ADDR, TRAMP_ADDR >> 12, note);
}
