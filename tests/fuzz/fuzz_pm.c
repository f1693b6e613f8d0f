/*
 * ACPI PM registers (src/hw/pm.c): PM1a event/control, PM timer, GPE0,
 * SMI_CMD and the 0xCF9 reset port, plus power-button presses; power
 * requests go to a counting sink.
 */
#include "fuzz.h"
#include "lhyve/hw.h"
#include "lhyve/x86_platform.h"

static void fz_pm_power(void *opaque, enum vm_exitcode why)
{
	unsigned *n = opaque;
	(*n)++;
}

FUZZ_TARGET(pm)
{
	static const struct {
		int (*fn)(void *, uint64_t, unsigned, bool, uint64_t *);
		unsigned len;
	} ranges[] = {
		{ pm_evt_io, PLAT_PM1A_EVT_LEN }, { pm_cnt_io, PLAT_PM1A_CNT_LEN },
		{ pm_tmr_io, PLAT_PM_TMR_LEN },   { pm_gpe_io, PLAT_GPE0_LEN },
		{ pm_smi_io, 1 },                 { pm_reset_io, 1 },
	};
	struct fz_irq irqs = { 0 };
	struct irq_chip chip = { &fz_irq_ops, &irqs };
	struct irq_line sci;
	unsigned requests = 0;
	struct power_sink ps = { fz_pm_power, &requests };
	struct fz in;

	irq_line_init(&sci, &chip, 9);
	struct pm *pm = pm_new(sci, &ps);
	if (!pm)
		abort();
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		if (op == 0xff) {
			pm_power_button(pm);
			continue;
		}
		unsigned r = (op & 0x7f) % ARRAY_SIZE(ranges);
		unsigned off = fz_u8(&in) % ranges[r].len, sz = fz_size(&in);
		uint64_t v = fz_u32(&in);
		if (off + sz > ranges[r].len)
			continue;
		ranges[r].fn(pm, off, sz, op & 0x80, &v);
	}
	pm_acpi_enabled(pm);
	pm_free(pm);
	return 0;
}
