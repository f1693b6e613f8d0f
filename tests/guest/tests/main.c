/*
 * Test dispatcher: the behaviour is chosen by test=NAME on the command line
 * (default "hello"). Every test ends in a power-state change that the
 * runner checks through bhyve's exit status; a test that cannot reach its
 * expected end prints "FAIL: ..." and halts with interrupts off (exit 2).
 */
#include "tests.h"

static void acpi_summary(void)
{
	const struct acpi_info *a = &rt_state()->acpi;

	if (!a->found) {
		printf("acpi: not found\n");
		return;
	}
	printf("acpi: rsdp=0x%lx rev=%u %s\n", (unsigned long)a->rsdp,
	       a->rsdp_rev, a->xsdt ? "xsdt" : "rsdt");
	printf("acpi: pm1a_evt=0x%x pm1a_cnt=0x%x pm_tmr=0x%x smi_cmd=0x%x "
	       "acpi_enable=0x%x sci=%u\n", a->pm1a_evt, a->pm1a_cnt, a->pm_tmr,
	       a->smi_cmd, a->acpi_enable, a->sci_int);
	printf("acpi: s5=%s typa=%u typb=%u reset_reg=%s space=%u addr=0x%llx "
	       "value=0x%x\n", a->has_s5 ? "yes" : "no", a->s5_typa, a->s5_typb,
	       a->has_reset_reg ? "yes" : "no", a->reset_reg.space,
	       (unsigned long long)a->reset_reg.addr, a->reset_value);
	printf("acpi: madt cpus=%u ioapics=%u overrides=%u lapic=0x%x\n",
	       a->ncpus, a->nioapic, a->niso, a->lapic_addr);
}

void test_poweroff(void)
{
	power_s5();
	fail_halt("S5 request did not power off");
}

static void test_hello(void)
{
	printf("hello: lhyve test guest, boot=%s, %u-bit\n",
	       rt_state()->boot_proto, (unsigned)sizeof(void *) * 8);
	printf("cmdline: [%s]\n", rt_state()->cmdline);
	acpi_summary();
	test_poweroff();
}

static void test_halt(void)
{
	printf("halt: cli; hlt\n");
	halt_forever();
}

static void test_triplefault(void)
{
	printf("triplefault: empty IDT, then divide by zero\n");
	intr_load_empty_idt();
	__asm__ volatile("xorl %%ecx, %%ecx; divl %%ecx" : : : "eax", "ecx", "edx");
	fail_halt("still running after the fault");
}

static void test_reset(void (*fn)(void))
{
	fn();
	fail_halt("reset request did not reset");
}

void guest_main(void)
{
	char name[32];

	if (acpi_init())
		printf("acpi: init failed\n");
	cmdline_get("test", name, sizeof(name));
	if (!name[0])
		snprintf(name, sizeof(name), "hello");
	printf("test: %s\n", name);

	if (!strcmp(name, "hello"))
		test_hello();
	else if (!strcmp(name, "poweroff"))
		test_poweroff();
	else if (!strcmp(name, "reset-cf9"))
		test_reset(power_reset_cf9);
	else if (!strcmp(name, "reset-kbd"))
		test_reset(power_reset_kbd);
	else if (!strcmp(name, "reset-fadt"))
		test_reset(power_reset_fadt);
	else if (!strcmp(name, "halt"))
		test_halt();
	else if (!strcmp(name, "triplefault"))
		test_triplefault();
	else if (!strcmp(name, "serial"))
		test_serial();
	else if (!strcmp(name, "smp"))
		test_smp();
	else if (!strcmp(name, "rtc"))
		test_rtc();
	else if (!strcmp(name, "timers"))
		test_timers();
	else if (!strcmp(name, "sigterm"))
		test_sigterm();
	else if (!strcmp(name, "sigterm-noacpi"))
		test_sigterm_noacpi();
	else if (!strcmp(name, "nmi"))
		test_nmi();
	else if (!strcmp(name, "monitor"))
		test_monitor();
	else if (!strcmp(name, "insn"))
		test_insn();
	else
		printf("FAIL: unknown test '%s'\n", name);
	halt_forever();
}
