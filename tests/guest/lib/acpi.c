/*
 * ACPI table walk: RSDP (boot-protocol pointer or BIOS-area scan), XSDT or
 * RSDT, FADT (PM blocks, SMI_CMD, reset register), MADT (LAPICs, IOAPICs,
 * interrupt source overrides), DSDT (\_S5 package). Every table is checked
 * for signature, sane length and checksum before use.
 */
#include "rt.h"

#define TBL_MAX_LEN 0x100000u

static const uint8_t *phys(uint64_t pa)
{
	if (pa == 0 || pa >= 0xFFFFFFFFull)
		return NULL;
	return phys_ptr((uintptr_t)pa);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static bool sum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s += p[i];
	return s == 0;
}

static bool rsdp_ok(const uint8_t *p)
{
	if (!p || memcmp(p, "RSD PTR ", 8) || !sum_ok(p, 20))
		return false;
	if (p[15] >= 2 && (rd32(p + 20) < 36 || rd32(p + 20) > 64 ||
			   !sum_ok(p, rd32(p + 20))))
		return false;
	return true;
}

static const uint8_t *rsdp_scan(uintptr_t start, uintptr_t end)
{
	for (uintptr_t a = start; a + 36 <= end; a += 16)
		if (rsdp_ok(phys_ptr(a)))
			return phys_ptr(a);
	return NULL;
}

/* A table at pa with the given signature (NULL sig = any), or NULL. */
static const uint8_t *table(uint64_t pa, const char *sig)
{
	const uint8_t *t = phys(pa);
	uint32_t len;

	if (!t)
		return NULL;
	len = rd32(t + 4);
	if (len < 36 || len > TBL_MAX_LEN || (sig && memcmp(t, sig, 4)))
		return NULL;
	if (!sum_ok(t, len)) {
		printf("acpi: bad checksum in %c%c%c%c\n", t[0], t[1], t[2], t[3]);
		return NULL;
	}
	return t;
}

static void parse_fadt(struct acpi_info *a, const uint8_t *f)
{
	uint32_t len = rd32(f + 4);
	uint64_t dsdt = rd32(f + 40);

	a->fadt = (uintptr_t)f;
	a->sci_int = rd16(f + 46);
	a->smi_cmd = rd32(f + 48);
	a->acpi_enable = f[52];
	a->acpi_disable = f[53];
	a->pm1a_evt = rd32(f + 56);
	a->pm1b_evt = rd32(f + 60);
	a->pm1a_cnt = rd32(f + 64);
	a->pm1b_cnt = rd32(f + 68);
	a->pm_tmr = rd32(f + 76);
	a->pm1_evt_len = f[88];
	a->pm1_cnt_len = f[89];
	a->pm_tmr_len = f[91];
	a->century = f[108];
	if (len >= 116)
		a->flags = rd32(f + 112);
	if (len >= 129 && (a->flags & (1u << 10))) {
		a->reset_reg.space = f[116];
		a->reset_reg.bit_width = f[117];
		a->reset_reg.bit_offset = f[118];
		a->reset_reg.access_size = f[119];
		a->reset_reg.addr = rd64(f + 120);
		a->reset_value = f[128];
		a->has_reset_reg = a->reset_reg.addr != 0;
	}
	if (len >= 148 && rd64(f + 140))
		dsdt = rd64(f + 140);
	if (table(dsdt, "DSDT"))
		a->dsdt = (uintptr_t)dsdt;
}

static void parse_madt(struct acpi_info *a, const uint8_t *m)
{
	uint32_t len = rd32(m + 4), off = 44;

	a->madt = (uintptr_t)m;
	a->lapic_addr = rd32(m + 36);
	while (off + 2 <= len) {
		const uint8_t *e = m + off;
		uint8_t type = e[0], elen = e[1];

		if (elen < 2 || off + elen > len)
			break;
		if (type == 0 && elen >= 8 && (rd32(e + 4) & 1) &&
		    a->ncpus < RT_MAX_CPUS) /* enabled local APIC */
			a->apic_ids[a->ncpus++] = e[3];
		else if (type == 1 && elen >= 12 && a->nioapic < RT_MAX_IOAPIC) {
			a->ioapic_id[a->nioapic] = e[2];
			a->ioapic_addr[a->nioapic] = rd32(e + 4);
			a->ioapic_gsi_base[a->nioapic++] = rd32(e + 8);
		} else if (type == 2 && elen >= 10 && a->niso < RT_MAX_ISO) {
			a->iso[a->niso].source = e[3];
			a->iso[a->niso].gsi = rd32(e + 4);
			a->iso[a->niso++].flags = rd16(e + 8);
		}
		off += elen;
	}
}

/* Decode one AML integer (ZeroOp/OneOp/OnesOp/Byte/Word/DWord). */
static int aml_int(const uint8_t *p, const uint8_t *end, uint32_t *v,
		   const uint8_t **next)
{
	if (p >= end)
		return -1;
	switch (p[0]) {
	case 0x00: *v = 0; *next = p + 1; return 0;
	case 0x01: *v = 1; *next = p + 1; return 0;
	case 0xFF: *v = 0xFFFFFFFF; *next = p + 1; return 0;
	case 0x0A:
		if (p + 2 > end) return -1;
		*v = p[1]; *next = p + 2; return 0;
	case 0x0B:
		if (p + 3 > end) return -1;
		*v = rd16(p + 1); *next = p + 3; return 0;
	case 0x0C:
		if (p + 5 > end) return -1;
		*v = rd32(p + 1); *next = p + 5; return 0;
	}
	return -1;
}

/* Find Name(_S5, Package(){a, b, ...}) in the DSDT's AML. */
static void parse_s5(struct acpi_info *a)
{
	const uint8_t *t = (const uint8_t *)a->dsdt;
	const uint8_t *end = t + rd32(t + 4);

	for (const uint8_t *p = t + 36; p + 4 < end; p++) {
		const uint8_t *q;
		uint32_t typa, typb;

		if (memcmp(p, "_S5_", 4))
			continue;
		if (!(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)))
			continue;
		q = p + 4;
		if (q >= end || *q != 0x12) /* PackageOp */
			continue;
		q++;
		if (q >= end)
			break;
		q += 1 + (*q >> 6);        /* PkgLength */
		q++;                       /* NumElements */
		if (aml_int(q, end, &typa, &q) || aml_int(q, end, &typb, &q))
			continue;
		a->s5_typa = (uint8_t)(typa & 7);
		a->s5_typb = (uint8_t)(typb & 7);
		a->has_s5 = true;
		return;
	}
}

int acpi_init(void)
{
	struct rt *rt = rt_state();
	struct acpi_info *a = &rt->acpi;
	const uint8_t *rsdp = NULL, *sdt = NULL;
	uint32_t esz = 4;

	memset(a, 0, sizeof(*a));
	if (rt->rsdp_hint && rsdp_ok(phys(rt->rsdp_hint)))
		rsdp = phys(rt->rsdp_hint);
	if (!rsdp) {
		uintptr_t ebda = (uintptr_t)(*(const volatile uint16_t *)phys_ptr(0x40E)) << 4;

		if (ebda >= 0x80000 && ebda < 0xA0000)
			rsdp = rsdp_scan(ebda, ebda + 1024);
	}
	if (!rsdp)
		rsdp = rsdp_scan(0xE0000, 0x100000);
	if (!rsdp) {
		printf("acpi: no RSDP\n");
		return -1;
	}
	a->rsdp = (uintptr_t)rsdp;
	a->rsdp_rev = rsdp[15];
	if (rsdp[15] >= 2 && (sdt = table(rd64(rsdp + 24), "XSDT"))) {
		a->xsdt = (uintptr_t)sdt;
		esz = 8;
	} else if ((sdt = table(rd32(rsdp + 16), "RSDT"))) {
		a->rsdt = (uintptr_t)sdt;
	} else {
		printf("acpi: no XSDT/RSDT\n");
		return -1;
	}
	for (uint32_t off = 36; off + esz <= rd32(sdt + 4); off += esz) {
		uint64_t pa = esz == 8 ? rd64(sdt + off) : rd32(sdt + off);
		const uint8_t *t = table(pa, NULL);

		if (!t)
			continue;
		if (!memcmp(t, "FACP", 4) && !a->fadt && rd32(t + 4) >= 116)
			parse_fadt(a, t);
		else if (!memcmp(t, "APIC", 4) && !a->madt)
			parse_madt(a, t);
	}
	if (a->dsdt)
		parse_s5(a);
	a->found = a->fadt != 0;
	return a->found ? 0 : -1;
}

uint32_t acpi_isa_gsi(uint8_t irq, uint16_t *flags)
{
	const struct acpi_info *a = &rt_state()->acpi;

	for (unsigned i = 0; i < a->niso; i++)
		if (a->iso[i].source == irq) {
			*flags = a->iso[i].flags;
			return a->iso[i].gsi;
		}
	*flags = 0;
	return irq;
}

bool pmt_present(void)
{
	const struct acpi_info *a = &rt_state()->acpi;

	return a->pm_tmr != 0 && a->pm_tmr < 0x10000 && a->pm_tmr_len == 4;
}

uint64_t pmt_ticks(void)
{
	struct rt *rt = rt_state();
	uint32_t v, mask = (rt->acpi.flags & (1u << 8)) ? 0xFFFFFFFFu : 0xFFFFFFu;

	if (!pmt_present())
		return 0;
	v = inl((uint16_t)rt->acpi.pm_tmr) & mask;
	if (rt->pm_ticks || rt->pm_last)
		rt->pm_ticks += (v - rt->pm_last) & mask;
	else
		rt->pm_ticks = 1;
	rt->pm_last = v;
	return rt->pm_ticks;
}

uint64_t pmt_now_us(void)
{
	return pmt_ticks() * 1000000ull / 3579545ull;
}

void udelay(uint32_t us)
{
	uint64_t start, want = (uint64_t)us * 3580u / 1000u;

	if (!pmt_present()) {
		for (volatile uint32_t i = 0; i < us; i++)
			cpu_pause();
		return;
	}
	start = pmt_ticks();
	for (uint32_t i = 0; i < 10000000u && pmt_ticks() - start < want; i++)
		cpu_pause();
}
