/*
 * Power control as an OS does it: S5 through PM1x_CNT with SLP_TYP decoded
 * from \_S5, resets through 0xCF9, the i8042 and the FADT reset register.
 * Each request that does not take effect returns so the caller can report.
 */
#include "rt.h"

#define SLP_EN (1u << 13)
#define SCI_EN 1u

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

void fail_halt(const char *why)
{
	printf("FAIL: %s\n", why);
	halt_forever();
}

void power_s5(void)
{
	const struct acpi_info *a = &rt_state()->acpi;

	if (!a->found || !a->pm1a_cnt || !a->has_s5) {
		printf("power: no PM1a_CNT or \\_S5\n");
		return;
	}
	printf("power: S5 (SLP_TYPa=%u) via PM1a_CNT 0x%x\n", a->s5_typa,
	       a->pm1a_cnt);
	if (a->pm1b_cnt)
		outw((uint16_t)a->pm1b_cnt,
		     (uint16_t)((a->s5_typb << 10) | SLP_EN));
	outw((uint16_t)a->pm1a_cnt, (uint16_t)((a->s5_typa << 10) | SLP_EN));
	udelay(100000);
}

void power_reset_cf9(void)
{
	printf("power: reset via 0xCF9\n");
	outb(0xCF9, 0x02);
	outb(0xCF9, 0x06);
	udelay(100000);
}

void power_reset_kbd(void)
{
	printf("power: reset via i8042\n");
	for (int i = 0; i < 1000 && (inb(0x64) & 0x02); i++)
		cpu_pause();
	outb(0x64, 0xFE);
	udelay(100000);
}

void power_reset_fadt(void)
{
	const struct acpi_info *a = &rt_state()->acpi;
	const struct acpi_gas *g = &a->reset_reg;

	if (!a->has_reset_reg) {
		printf("power: FADT has no reset register\n");
		return;
	}
	printf("power: reset via FADT reset register (space %u addr 0x%llx "
	       "value 0x%x)\n", g->space, (unsigned long long)g->addr,
	       a->reset_value);
	if (g->space == 1 && g->addr < 0x10000)
		outb((uint16_t)g->addr, a->reset_value);
	else if (g->space == 0 && g->addr < 0xFFFFFFFFull)
		mmio_write8((uintptr_t)g->addr, a->reset_value);
	else
		printf("power: unsupported reset register space\n");
	udelay(100000);
}

int acpi_enable_mode(void)
{
	const struct acpi_info *a = &rt_state()->acpi;

	if (!a->found || !a->pm1a_cnt)
		return -1;
	if (inw((uint16_t)a->pm1a_cnt) & SCI_EN)
		return 0; /* hardware-reduced or already in ACPI mode */
	if (!a->smi_cmd || !a->acpi_enable)
		return -1;
	outb((uint16_t)a->smi_cmd, a->acpi_enable);
	for (int i = 0; i < 1000; i++) {
		if (inw((uint16_t)a->pm1a_cnt) & SCI_EN)
			return 0;
		udelay(1000);
	}
	return -1;
}
