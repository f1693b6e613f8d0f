/*
 * ACPI fixed hardware (see lhyve/hw.h): PM1a event block (PM1_STS, PM1_EN),
 * PM1a control (PM1_CNT), the 24-bit PM timer, GPE0 (STS, EN), the SMI
 * command port that switches ACPI mode on/off, and the 0xCF9 reset control
 * register. Register facts from the ACPI specification (chapter 4,
 * "ACPI Hardware Specification").
 *
 * SCI output (level) = SCI_EN && (PM1_STS & PM1_EN || GPE0_STS & GPE0_EN).
 * TMR_STS is computed when PM1_STS is read (the timer's bit 23 toggled since
 * the last look); there is no SCI on timer overflow.
 *
 * Locking: pm->lock protects all state; irq_line_set() is called with it
 * held (a leaf). power_request() is called after dropping it, so a power
 * sink that stops vCPUs can never wait on a vCPU blocked on pm->lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "lhyve/hw.h"
#include "lhyve/log.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define PM1_TMR_STS 0x0001
#define PM1_BM_STS 0x0010
#define PM1_GBL_STS 0x0020
#define PM1_PWRBTN_STS 0x0100
#define PM1_SLPBTN_STS 0x0200
#define PM1_RTC_STS 0x0400
#define PM1_WAK_STS 0x8000
#define PM1_STS_MASK (PM1_TMR_STS | PM1_BM_STS | PM1_GBL_STS | PM1_PWRBTN_STS | \
		      PM1_SLPBTN_STS | PM1_RTC_STS | PM1_WAK_STS)
#define PM1_EN_MASK 0x0721 /* TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN */

#define PM1_SCI_EN 0x0001
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN 0x2000
#define PM1_CNT_MASK 0x1C07 /* SCI_EN, BM_RLD, GBL_RLS, SLP_TYP */

#define CF9_RST_CPU 0x04

struct pm {
	pthread_mutex_t lock;
	struct irq_line sci;
	struct power_sink ps;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint16_t gpe_sts, gpe_en;
	uint8_t reset_reg;
	uint64_t tmr_base_ns;
	bool tmr_bit23;
	struct ratelimit rl;
};

static void pm_update_sci(struct pm *pm)
{
	bool lvl = (pm->pm1_cnt & PM1_SCI_EN) &&
		   ((pm->pm1_sts & pm->pm1_en) || (pm->gpe_sts & pm->gpe_en));
	irq_line_set(&pm->sci, lvl);
}

static uint32_t pm_tmr_value(struct pm *pm)
{
	unsigned __int128 ticks = (unsigned __int128)(now_ns() - pm->tmr_base_ns) *
				  PLAT_PM_TMR_HZ / 1000000000ULL;
	return (uint32_t)ticks & 0xFFFFFF;
}

/* Set TMR_STS if bit 23 of the timer toggled since the last check. */
static void pm_tmr_check(struct pm *pm)
{
	bool b23 = pm_tmr_value(pm) & 0x800000;

	if (b23 != pm->tmr_bit23) {
		pm->tmr_bit23 = b23;
		pm->pm1_sts |= PM1_TMR_STS;
	}
}

/*
 * Byte-wise access to a 4-byte STS(2)/EN(2) block: status bytes are
 * write-1-to-clear, enable bytes plain. Returns the value read.
 */
static uint64_t pm_sts_en_io(uint16_t *sts, uint16_t *en, uint16_t en_mask,
			     uint64_t offset, unsigned size, bool write, uint64_t val)
{
	uint64_t out = 0;

	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t off = offset + i;
		unsigned sh = (unsigned)(off & 1) * 8;
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t r = 0xFF;

		if (off < 2) {
			if (write)
				*sts &= (uint16_t)~((uint16_t)b << sh);
			else
				r = (uint8_t)(*sts >> sh);
		} else if (off < 4) {
			if (write)
				*en = (uint16_t)((*en & ~(0xFFu << sh)) | ((unsigned)b << sh)) & en_mask;
			else
				r = (uint8_t)(*en >> sh);
		}
		out |= (uint64_t)r << (8 * i);
	}
	return out;
}

int pm_evt_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pm *pm = opaque;
	uint64_t v;

	pthread_mutex_lock(&pm->lock);
	pm_tmr_check(pm);
	v = pm_sts_en_io(&pm->pm1_sts, &pm->pm1_en, PM1_EN_MASK, offset, size,
			 write, write ? *data : 0);
	pm->pm1_sts &= PM1_STS_MASK;
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (!write)
		*data = v;
	return 0;
}

int pm_gpe_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pm *pm = opaque;
	uint64_t v;

	pthread_mutex_lock(&pm->lock);
	v = pm_sts_en_io(&pm->gpe_sts, &pm->gpe_en, 0xFFFF, offset, size, write,
			 write ? *data : 0);
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (!write)
		*data = v;
	return 0;
}

int pm_cnt_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pm *pm = opaque;
	bool poweroff = false;
	uint32_t val;

	if (offset >= PLAT_PM1A_CNT_LEN || size > PLAT_PM1A_CNT_LEN - offset) {
		if (!write)
			*data = ~0ULL;
		return 0;
	}
	pthread_mutex_lock(&pm->lock);
	if (!write) {
		*data = (uint16_t)(pm->pm1_cnt >> (8 * offset)) & ((1u << (8 * size)) - 1);
		pthread_mutex_unlock(&pm->lock);
		return 0;
	}
	/* Merge the written bytes into the 16-bit register. */
	val = pm->pm1_cnt;
	for (unsigned i = 0; i < size; i++) {
		unsigned sh = 8 * (unsigned)(offset + i);
		val = (val & ~(0xFFu << sh)) | ((uint32_t)((*data >> (8 * i)) & 0xFF) << sh);
	}
	pm->pm1_cnt = (uint16_t)(val & PM1_CNT_MASK);
	if (val & PM1_SLP_EN) {
		unsigned typ = (val & PM1_SLP_TYP_MASK) >> PM1_SLP_TYP_SHIFT;
		if (typ == PLAT_SLP_TYP_S5)
			poweroff = true;
		else
			log_rl(&pm->rl, LOG_WARN,
			       "pm: guest asked for sleep type %u; only S5 is supported, ignored",
			       typ);
	}
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (poweroff)
		power_request(&pm->ps, VM_EXIT_POWEROFF);
	return 0;
}

int pm_tmr_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pm *pm = opaque;
	uint32_t v;

	if (write)
		return 0; /* read-only */
	if (offset >= PLAT_PM_TMR_LEN) {
		*data = ~0ULL;
		return 0;
	}
	pthread_mutex_lock(&pm->lock);
	v = pm_tmr_value(pm);
	pthread_mutex_unlock(&pm->lock);
	v >>= 8 * offset;
	*data = size >= 4 ? v : v & ((1u << (8 * size)) - 1);
	return 0;
}

int pm_smi_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pm *pm = opaque;
	uint8_t cmd;

	if (!write) {
		*data = 0;
		return 0;
	}
	cmd = (uint8_t)*data;
	pthread_mutex_lock(&pm->lock);
	if (offset != 0) {
		/* not ours */
	} else if (cmd == PLAT_ACPI_ENABLE) {
		pm->pm1_cnt |= PM1_SCI_EN;
	} else if (cmd == PLAT_ACPI_DISABLE) {
		pm->pm1_cnt &= (uint16_t)~PM1_SCI_EN;
	} else {
		log_rl(&pm->rl, LOG_DEBUG, "pm: unknown SMI command %#x ignored", cmd);
	}
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

int pm_reset_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pm *pm = opaque;
	bool reset = false;

	if (offset != 0) {
		if (!write)
			*data = ~0ULL;
		return 0;
	}
	pthread_mutex_lock(&pm->lock);
	if (write) {
		uint8_t v = (uint8_t)*data;
		/* RST_CPU (bit 2) starts the reset; SYS_RST/FULL_RST only pick its kind. */
		pm->reset_reg = v & (uint8_t)~CF9_RST_CPU;
		reset = v & CF9_RST_CPU;
	} else {
		*data = pm->reset_reg;
	}
	pthread_mutex_unlock(&pm->lock);
	if (reset)
		power_request(&pm->ps, VM_EXIT_RESET);
	return 0;
}

bool pm_acpi_enabled(struct pm *pm)
{
	bool en;

	pthread_mutex_lock(&pm->lock);
	en = pm->pm1_cnt & PM1_SCI_EN;
	pthread_mutex_unlock(&pm->lock);
	return en;
}

bool pm_power_button(struct pm *pm)
{
	bool en;

	pthread_mutex_lock(&pm->lock);
	pm->pm1_sts |= PM1_PWRBTN_STS;
	pm_update_sci(pm);
	en = pm->pm1_cnt & PM1_SCI_EN;
	pthread_mutex_unlock(&pm->lock);
	return en;
}

struct pm *pm_new(struct irq_line sci, const struct power_sink *ps)
{
	struct pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pthread_mutex_init(&pm->lock, NULL);
	pm->sci = sci;
	pm->sci.level = false;
	if (ps)
		pm->ps = *ps;
	pm->tmr_base_ns = now_ns();
	pm->rl = (struct ratelimit)RATELIMIT_INIT;
	return pm;
}

void pm_free(struct pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
