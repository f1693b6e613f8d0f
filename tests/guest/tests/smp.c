/*
 * SMP bring-up: the BSP starts every enabled MADT processor with
 * INIT-SIPI-SIPI, one at a time. Each AP fills its own cpu_report slot
 * (CPUID leaf 1 and leaf 0xB as it sees them) and then sets 'arrived'; the
 * BSP reads a slot only after seeing 'arrived', and APs never print.
 */
#include "tests.h"

static void fill_report(struct cpu_report *r)
{
	uint32_t v[4];

	r->apic_id = lapic_id();
	cpuid_count(0, 0, v);
	r->max_leaf = v[0];
	cpuid_count(1, 0, v);
	r->cpuid1_ebx = v[1];
	r->cpuid1_edx = v[3];
	if (r->max_leaf >= 0xB) {
		cpuid_count(0xB, 0, v);
		r->b0_eax = v[0], r->b0_ebx = v[1], r->b0_ecx = v[2];
		r->x2apic_id = v[3];
		cpuid_count(0xB, 1, v);
		r->b1_eax = v[0], r->b1_ebx = v[1], r->b1_ecx = v[2];
	}
}

static void ap_main(unsigned index)
{
	struct cpu_report *r = &rt_state()->cpus[index];

	intr_init_ap();
	lapic_enable();
	fill_report(r);
	__asm__ volatile("" ::: "memory");
	r->arrived = 1;
	halt_forever();
}

void test_smp(void)
{
	struct rt *rt = rt_state();
	const struct acpi_info *a = &rt->acpi;
	uint32_t bsp = lapic_id();
	unsigned up = 1, idx = 1, pkgs = 0, threads = 0, cores = 0;
	uint32_t pkg_seen[RT_MAX_CPUS];
	int bad = 0;

	if (irq_setup())
		return;
	printf("smp: madt lists %u cpus, bsp apic id %u\n", a->ncpus, bsp);
	fill_report(&rt->cpus[0]);
	rt->cpus[0].arrived = 1;
	for (unsigned i = 0; i < a->ncpus; i++) {
		uint32_t id = a->apic_ids[i];

		if (id == bsp)
			continue;
		if (idx >= RT_MAX_CPUS)
			break;
		if (smp_start_ap(id, idx, ap_main)) {
			printf("smp: IPI to apic %u not delivered\n", id);
			bad = 1;
		}
		for (int t = 0; t < 1000 && !rt->cpus[idx].arrived; t++)
			udelay(1000);
		if (rt->cpus[idx].arrived) {
			up++;
		} else {
			printf("smp: apic %u did not come up\n", id);
			bad = 1;
		}
		idx++;
	}
	printf("smp: %u cpus\n", up);
	for (unsigned i = 0; i < idx; i++) {
		const struct cpu_report *r = &rt->cpus[i];
		uint32_t shift1 = r->b1_eax & 0x1F;
		uint32_t pkg = r->x2apic_id >> shift1;
		unsigned k;

		if (!r->arrived)
			continue;
		printf("cpu %u: apic=%u x2apic=%u htt=%u leaf1_lp=%u "
		       "smt=[type %u shift %u n %u] core=[type %u shift %u n %u] pkg=%u\n",
		       i, r->apic_id, r->x2apic_id, (r->cpuid1_edx >> 28) & 1,
		       (r->cpuid1_ebx >> 16) & 0xFF,
		       (r->b0_ecx >> 8) & 0xFF, r->b0_eax & 0x1F, r->b0_ebx & 0xFFFF,
		       (r->b1_ecx >> 8) & 0xFF, shift1, r->b1_ebx & 0xFFFF, pkg);
		if (r->max_leaf < 0xB || (r->b0_ebx & 0xFFFF) == 0) {
			printf("smp: cpu %u: no CPUID leaf 0xB\n", i);
			bad = 1;
			continue;
		}
		if (r->x2apic_id != r->apic_id) {
			printf("smp: cpu %u: leaf 0xB x2APIC id %u != APIC id %u\n",
			       i, r->x2apic_id, r->apic_id);
			bad = 1;
		}
		if (((r->b0_ecx >> 8) & 0xFF) != 1 || ((r->b1_ecx >> 8) & 0xFF) != 2) {
			printf("smp: cpu %u: leaf 0xB level types wrong\n", i);
			bad = 1;
		}
		if (!threads) {
			threads = r->b0_ebx & 0xFFFF;
			cores = (r->b1_ebx & 0xFFFF) / threads;
		} else if (threads != (r->b0_ebx & 0xFFFF) ||
			   cores * threads != (r->b1_ebx & 0xFFFF)) {
			printf("smp: cpu %u: topology differs from cpu 0\n", i);
			bad = 1;
		}
		/* EBX[23:16] is meaningful only with CPUID.1:EDX.HTT. */
		if ((r->cpuid1_edx & (1u << 28)) &&
		    ((r->cpuid1_ebx >> 16) & 0xFF) < (r->b1_ebx & 0xFFFF)) {
			printf("smp: cpu %u: leaf 1 EBX[23:16] below leaf 0xB count\n", i);
			bad = 1;
		}
		for (k = 0; k < pkgs && pkg_seen[k] != pkg; k++)
			;
		if (k == pkgs && pkgs < RT_MAX_CPUS)
			pkg_seen[pkgs++] = pkg;
	}
	printf("smp: topology sockets=%u cores=%u threads=%u\n", pkgs, cores,
	       threads);
	if (bad || up != a->ncpus)
		fail_halt("smp");
	printf("smp ok\n");
	test_poweroff();
}
