/* ACPI PM: SMI enable, power button -> SCI, S5, sleep types, PM timer, 0xCF9. */
#include <stdbool.h>
#include <unistd.h>

#include "unit.h"
#include "fakes.h"
#include "lhyve/hw.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define SCI PLAT_IRQ_SCI

static uint64_t io(int (*fn)(void *, uint64_t, unsigned, bool, uint64_t *), struct pm *pm,
		   uint64_t off, unsigned size, bool write, uint64_t val)
{
	uint64_t v = write ? val : ~0ULL;
	CHECK_EQ(fn(pm, off, size, write, &v), 0);
	return v;
}

static struct pm *mk(struct fake_irq *f, struct irq_chip *chip, struct fake_power *fp,
		     struct power_sink *ps)
{
	struct irq_line line;

	fake_irq_init(f, chip);
	fake_power_init(fp, ps);
	irq_line_init(&line, chip, SCI);
	return pm_new(line, ps);
}

static void test_acpi_enable_and_button(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct fake_power fp;
	struct power_sink ps;
	struct pm *pm = mk(&f, &chip, &fp, &ps);

	CHECK(!pm_acpi_enabled(pm));
	CHECK(!pm_power_button(pm)); /* not in ACPI mode yet */
	CHECK(!f.level[SCI]);
	CHECK(io(pm_evt_io, pm, 0, 2, false, 0) & 0x0100);
	io(pm_evt_io, pm, 0, 2, true, 0x0100); /* W1C */
	CHECK_EQ(io(pm_evt_io, pm, 0, 2, false, 0) & 0x0100, 0);

	io(pm_smi_io, pm, 0, 1, true, PLAT_ACPI_ENABLE);
	CHECK(pm_acpi_enabled(pm));
	CHECK_EQ(io(pm_cnt_io, pm, 0, 2, false, 0) & 1, 1);
	io(pm_evt_io, pm, 2, 2, true, 0x0100); /* PWRBTN_EN */
	CHECK_EQ(io(pm_evt_io, pm, 2, 2, false, 0), 0x0100);
	CHECK(!f.level[SCI]);
	CHECK(pm_power_button(pm));
	CHECK(f.level[SCI]);
	/* 4-byte read of the whole block: STS low, EN high. */
	CHECK_EQ(io(pm_evt_io, pm, 0, 4, false, 0) & 0xFFFF0100, 0x01000100);
	io(pm_evt_io, pm, 1, 1, true, 0x01); /* byte W1C of PWRBTN_STS */
	CHECK(!f.level[SCI]);
	/* Writing 0 leaves status alone. */
	CHECK(pm_power_button(pm));
	io(pm_evt_io, pm, 0, 2, true, 0);
	CHECK(f.level[SCI]);
	/* ACPI disable drops SCI_EN and the SCI. */
	io(pm_smi_io, pm, 0, 1, true, PLAT_ACPI_DISABLE);
	CHECK(!pm_acpi_enabled(pm));
	CHECK(!f.level[SCI]);
	io(pm_smi_io, pm, 0, 1, true, 0x55); /* unknown: ignored */
	CHECK(!pm_acpi_enabled(pm));
	io(pm_smi_io, pm, 0, 1, true, PLAT_ACPI_ENABLE);
	CHECK(f.level[SCI]);
	io(pm_evt_io, pm, 0, 2, true, 0xFFFF);
	CHECK(!f.level[SCI]);

	/* GPE0 registers are kept; an enabled status raises SCI. */
	io(pm_gpe_io, pm, 2, 2, true, 0x0003);
	CHECK_EQ(io(pm_gpe_io, pm, 2, 2, false, 0), 0x0003);
	CHECK_EQ(io(pm_gpe_io, pm, 0, 2, false, 0), 0);
	CHECK_EQ(fp.calls, 0);
	pm_free(pm);
}

static void test_sleep(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct fake_power fp;
	struct power_sink ps;
	struct pm *pm = mk(&f, &chip, &fp, &ps);

	io(pm_smi_io, pm, 0, 1, true, PLAT_ACPI_ENABLE);
	/* S3 (type 1 here) is ignored. */
	io(pm_cnt_io, pm, 0, 2, true, (1 << 10) | 0x2000 | 1);
	CHECK_EQ(fp.calls, 0);
	/* SLP_TYP without SLP_EN does nothing; SLP_EN reads as 0. */
	io(pm_cnt_io, pm, 0, 2, true, (PLAT_SLP_TYP_S5 << 10) | 1);
	CHECK_EQ(fp.calls, 0);
	CHECK_EQ(io(pm_cnt_io, pm, 0, 2, false, 0), (PLAT_SLP_TYP_S5 << 10) | 1);
	io(pm_cnt_io, pm, 0, 2, true, (PLAT_SLP_TYP_S5 << 10) | 0x2000 | 1);
	CHECK_EQ(fp.calls, 1);
	CHECK_EQ(fp.last, VM_EXIT_POWEROFF);
	CHECK_EQ(io(pm_cnt_io, pm, 0, 2, false, 0) & 0x2000, 0);
	/* High byte only. */
	io(pm_cnt_io, pm, 1, 1, true, ((PLAT_SLP_TYP_S5 << 10) | 0x2000) >> 8);
	CHECK_EQ(fp.calls, 2);
	CHECK_EQ(fp.last, VM_EXIT_POWEROFF);
	/* Out of range access is harmless. */
	CHECK_EQ(io(pm_cnt_io, pm, 1, 2, false, 0), ~0ULL);
	pm_free(pm);
}

static void test_pm_timer(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct fake_power fp;
	struct power_sink ps;
	struct pm *pm = mk(&f, &chip, &fp, &ps);
	uint32_t a, b, prev;
	uint64_t t0, t1;

	t0 = now_ns();
	a = (uint32_t)io(pm_tmr_io, pm, 0, 4, false, 0);
	usleep(100000);
	b = (uint32_t)io(pm_tmr_io, pm, 0, 4, false, 0);
	t1 = now_ns();
	CHECK(a <= 0xFFFFFF && b <= 0xFFFFFF);
	uint32_t d = (b - a) & 0xFFFFFF;
	uint64_t expect = (t1 - t0) * PLAT_PM_TMR_HZ / 1000000000ULL;
	CHECK(d <= expect + 1000);
	CHECK(d >= expect * 8 / 10);
	prev = b;
	for (int i = 0; i < 1000; i++) {
		uint32_t v = (uint32_t)io(pm_tmr_io, pm, 0, 4, false, 0);
		CHECK(((v - prev) & 0xFFFFFF) < 0x800000); /* never goes back */
		prev = v;
	}
	/* Timer writes are ignored; TMR_STS appears after bit 23 toggles (~2.3 s). */
	io(pm_tmr_io, pm, 0, 4, true, 0);
	pm_free(pm);
}

static void test_reset_reg(void)
{
	struct fake_irq f;
	struct irq_chip chip;
	struct fake_power fp;
	struct power_sink ps;
	struct pm *pm = mk(&f, &chip, &fp, &ps);

	io(pm_reset_io, pm, 0, 1, true, 0x02);
	CHECK_EQ(fp.calls, 0);
	CHECK_EQ(io(pm_reset_io, pm, 0, 1, false, 0), 0x02);
	io(pm_reset_io, pm, 0, 1, true, PLAT_RESET_VALUE);
	CHECK_EQ(fp.calls, 1);
	CHECK_EQ(fp.last, VM_EXIT_RESET);
	io(pm_reset_io, pm, 0, 1, true, 0x0E);
	CHECK_EQ(fp.calls, 2);
	CHECK_EQ(io(pm_reset_io, pm, 0, 1, false, 0), 0x0A);
	io(pm_reset_io, pm, 0, 1, true, 0x04);
	CHECK_EQ(fp.calls, 3);
	pm_free(pm);
}

int main(void)
{
	RUN(test_acpi_enable_and_button);
	RUN(test_sleep);
	RUN(test_pm_timer);
	RUN(test_reset_reg);
	return unit_report();
}
