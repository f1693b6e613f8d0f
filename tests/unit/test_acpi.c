/* ACPI tables and the AML emitter: checksums, fields, AML structure, iasl. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "lhyve/aml.h"
#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define RAM (256 * MiB)

static uint8_t *gpa(struct guest_mem *gm, uint64_t addr, uint64_t len)
{
	uint8_t *p = gm_ptr(gm, addr, len);
	if (!p) {
		fprintf(stderr, "bad gpa %#" PRIx64 "\n", addr);
		abort();
	}
	return p;
}

static uint64_t find_rsdp(struct guest_mem *gm)
{
	for (uint64_t a = 0xE0000; a < 0x100000; a += 16) {
		uint8_t *p = gpa(gm, a, 36);
		if (memcmp(p, "RSD PTR ", 8) == 0 && byte_sum(p, 20) == 0)
			return a;
	}
	return 0;
}

/* Table at addr with signature sig, checksum verified; NULL if not. */
static uint8_t *table_at(struct guest_mem *gm, uint64_t addr, const char *sig)
{
	uint8_t *h = gm_ptr(gm, addr, 36);
	if (!h || memcmp(h, sig, 4) != 0)
		return NULL;
	uint32_t len = get_le32(h + 4);
	if (len < 36 || !gm_ptr(gm, addr, len))
		return NULL;
	if (addr < PLAT_ACPI_BASE || addr + len > PLAT_ACPI_END)
		return NULL;
	if (byte_sum(h, len) != 0)
		return NULL;
	return h;
}

/* Find a table through the XSDT (and check the RSDT lists the same). */
static uint8_t *find_table(struct guest_mem *gm, uint64_t rsdp, const char *sig,
			   uint64_t *addr_out)
{
	uint8_t *r = gpa(gm, rsdp, 36);
	uint8_t *x = table_at(gm, get_le64(r + 24), "XSDT");
	uint8_t *rs = table_at(gm, get_le32(r + 16), "RSDT");
	if (!x || !rs)
		return NULL;
	unsigned n = (get_le32(x + 4) - 36) / 8;
	if ((get_le32(rs + 4) - 36) / 4 != n)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = get_le64(x + 36 + 8 * i);
		if (get_le32(rs + 36 + 4 * i) != a)
			return NULL;
		uint8_t *t = table_at(gm, a, sig);
		if (t) {
			if (addr_out)
				*addr_out = a;
			return t;
		}
	}
	return NULL;
}

#define MMIO64_BASE (8 * GiB)
#define MMIO64_SIZE (32 * GiB)

static uint64_t build_ex(struct guest_mem *gm, unsigned ncpus, bool x2apic,
			 unsigned com_mask, bool pci, uint64_t mmio64_size)
{
	struct acpi_params p = {
		.ncpus = ncpus, .x2apic = x2apic, .lowmem = RAM, .com_mask = com_mask,
		.pci = pci, .mmio64_base = MMIO64_BASE, .mmio64_size = mmio64_size,
	};
	uint64_t rsdp = 0;
	CHECK_EQ(fake_gm_init(gm, RAM, 0), 0);
	CHECK_EQ(acpi_build(gm, &p, &rsdp), 0);
	CHECK_EQ(rsdp, PLAT_ACPI_BASE);
	return rsdp;
}

static uint64_t build(struct guest_mem *gm, unsigned ncpus, bool x2apic, unsigned com_mask)
{
	return build_ex(gm, ncpus, x2apic, com_mask, false, 0);
}

static void test_rsdp_xsdt(void)
{
	struct guest_mem gm;
	uint64_t rsdp = build(&gm, 1, false, 1);

	CHECK_EQ(find_rsdp(&gm), rsdp);
	uint8_t *r = gpa(&gm, rsdp, 36);
	CHECK_EQ(r[15], 2);
	CHECK_EQ(get_le32(r + 20), 36);
	CHECK_EQ(byte_sum(r, 20), 0);
	CHECK_EQ(byte_sum(r, 36), 0);
	CHECK(memcmp(r + 9, "LHYVE", 5) == 0);

	uint8_t *x = table_at(&gm, get_le64(r + 24), "XSDT");
	CHECK(x != NULL);
	CHECK(table_at(&gm, get_le32(r + 16), "RSDT") != NULL);
	if (x) {
		unsigned n = (get_le32(x + 4) - 36) / 8;
		CHECK_EQ(n, 2); /* FACP, APIC (no HPET, no MCFG) */
		bool fadt = false, madt = false;
		for (unsigned i = 0; i < n; i++) {
			uint64_t a = get_le64(x + 36 + 8 * i);
			fadt |= table_at(&gm, a, "FACP") != NULL;
			madt |= table_at(&gm, a, "APIC") != NULL;
			CHECK(table_at(&gm, a, "HPET") == NULL);
		}
		CHECK(fadt);
		CHECK(madt);
	}
	fake_gm_free(&gm);
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t width, uint64_t addr)
{
	CHECK_EQ(g[0], space);
	CHECK_EQ(g[1], width);
	CHECK_EQ(g[2], 0);
	CHECK_EQ(get_le64(g + 4), addr);
}

static void test_fadt(void)
{
	struct guest_mem gm;
	uint64_t rsdp = build(&gm, 2, false, 0);
	uint8_t *f = find_table(&gm, rsdp, "FACP", NULL);

	CHECK(f != NULL);
	if (!f)
		goto out;
	CHECK_EQ(get_le32(f + 4), 276);
	CHECK_EQ(f[8], 6);
	CHECK_EQ(get_le16(f + 46), PLAT_IRQ_SCI);
	CHECK_EQ(get_le32(f + 48), PLAT_SMI_CMD);
	CHECK_EQ(f[52], PLAT_ACPI_ENABLE);
	CHECK_EQ(f[53], PLAT_ACPI_DISABLE);
	CHECK_EQ(get_le32(f + 56), PLAT_PM1A_EVT);
	CHECK_EQ(get_le32(f + 64), PLAT_PM1A_CNT);
	CHECK_EQ(get_le32(f + 76), PLAT_PM_TMR);
	CHECK_EQ(get_le32(f + 80), PLAT_GPE0);
	CHECK_EQ(f[88], PLAT_PM1A_EVT_LEN);
	CHECK_EQ(f[89], PLAT_PM1A_CNT_LEN);
	CHECK_EQ(f[91], PLAT_PM_TMR_LEN);
	CHECK_EQ(f[92], PLAT_GPE0_LEN);
	CHECK_EQ(f[108], 0x32);
	CHECK_EQ(get_le16(f + 109), 0x3); /* legacy devices + 8042 */
	uint32_t flags = get_le32(f + 112);
	CHECK(flags & (1u << 0));           /* WBINVD */
	CHECK(!(flags & (1u << 4)));        /* PWR_BUTTON: fixed feature */
	CHECK(flags & (1u << 5));           /* SLP_BUTTON: none */
	CHECK(!(flags & (1u << 8)));        /* TMR_VAL_EXT: 24-bit */
	CHECK(flags & (1u << 10));          /* RESET_REG_SUP */
	CHECK(!(flags & (1u << 20)));       /* not HW_REDUCED_ACPI */
	check_gas(f + 116, 1, 8, PLAT_RESET_PORT);
	CHECK_EQ(f[128], PLAT_RESET_VALUE);
	check_gas(f + 148, 1, PLAT_PM1A_EVT_LEN * 8, PLAT_PM1A_EVT);
	check_gas(f + 172, 1, PLAT_PM1A_CNT_LEN * 8, PLAT_PM1A_CNT);
	check_gas(f + 208, 1, PLAT_PM_TMR_LEN * 8, PLAT_PM_TMR);
	check_gas(f + 220, 1, PLAT_GPE0_LEN * 8, PLAT_GPE0);
	check_gas(f + 160, 0, 0, 0); /* no PM1b */

	/* FACS and DSDT, 32- and 64-bit pointers agree. */
	CHECK_EQ(get_le32(f + 36), get_le64(f + 132));
	CHECK_EQ(get_le32(f + 40), get_le64(f + 140));
	uint64_t facs = get_le64(f + 132);
	CHECK_EQ(facs % 64, 0);
	uint8_t *fc = gpa(&gm, facs, 64);
	CHECK(memcmp(fc, "FACS", 4) == 0);
	CHECK_EQ(get_le32(fc + 4), 64);
	CHECK(table_at(&gm, get_le64(f + 140), "DSDT") != NULL);
out:
	fake_gm_free(&gm);
}

struct madt_info {
	unsigned nlapic, nx2apic, nioapic, niso, nnmi, nx2nmi;
	uint32_t apic_id[256];
	uint32_t uid[256];
	uint8_t ioapic_id;
	uint32_t ioapic_addr, ioapic_gsi;
	uint8_t iso_src[4];
	uint32_t iso_gsi[4];
	uint16_t iso_flags[4];
	uint8_t nmi_lint;
	uint32_t nmi_uid;
	bool all_enabled, bad_len;
};

static void parse_madt(const uint8_t *t, struct madt_info *m)
{
	uint32_t len = get_le32(t + 4);
	memset(m, 0, sizeof(*m));
	m->all_enabled = true;
	for (uint32_t o = 44; o < len;) {
		const uint8_t *e = t + o;
		if (o + 2 > len || e[1] < 2 || o + e[1] > len) {
			m->bad_len = true;
			return;
		}
		switch (e[0]) {
		case 0:
			if (e[1] != 8)
				m->bad_len = true;
			m->uid[m->nlapic + m->nx2apic] = e[2];
			m->apic_id[m->nlapic + m->nx2apic] = e[3];
			m->all_enabled &= (get_le32(e + 4) & 1) != 0;
			m->nlapic++;
			break;
		case 9:
			if (e[1] != 16)
				m->bad_len = true;
			m->apic_id[m->nlapic + m->nx2apic] = get_le32(e + 4);
			m->all_enabled &= (get_le32(e + 8) & 1) != 0;
			m->uid[m->nlapic + m->nx2apic] = get_le32(e + 12);
			m->nx2apic++;
			break;
		case 1:
			if (e[1] != 12)
				m->bad_len = true;
			m->ioapic_id = e[2];
			m->ioapic_addr = get_le32(e + 4);
			m->ioapic_gsi = get_le32(e + 8);
			m->nioapic++;
			break;
		case 2:
			if (e[1] != 10 || m->niso >= 4) {
				m->bad_len = true;
				break;
			}
			CHECK_EQ(e[2], 0);
			m->iso_src[m->niso] = e[3];
			m->iso_gsi[m->niso] = get_le32(e + 4);
			m->iso_flags[m->niso] = get_le16(e + 8);
			m->niso++;
			break;
		case 4:
			if (e[1] != 6)
				m->bad_len = true;
			m->nmi_uid = e[2];
			m->nmi_lint = e[5];
			m->nnmi++;
			break;
		case 10:
			if (e[1] != 12)
				m->bad_len = true;
			m->nmi_uid = get_le32(e + 4);
			m->nmi_lint = e[8];
			m->nx2nmi++;
			break;
		default:
			m->bad_len = true;
			break;
		}
		o += e[1];
	}
}

static void check_madt(unsigned ncpus, bool x2apic)
{
	struct guest_mem gm;
	struct madt_info m;
	uint64_t rsdp = build(&gm, ncpus, x2apic, 0);
	uint8_t *t = find_table(&gm, rsdp, "APIC", NULL);

	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_EQ(get_le32(t + 36), PLAT_LAPIC_BASE);
	CHECK_EQ(get_le32(t + 40) & 1, 1); /* PCAT_COMPAT */
	parse_madt(t, &m);
	CHECK(!m.bad_len);
	CHECK_EQ(m.nlapic, x2apic ? 0 : ncpus);
	CHECK_EQ(m.nx2apic, x2apic ? ncpus : 0);
	CHECK(m.all_enabled);
	for (unsigned i = 0; i < ncpus; i++) {
		CHECK_EQ(m.apic_id[i], i);
		CHECK_EQ(m.uid[i], i);
	}
	CHECK_EQ(m.nioapic, 1);
	CHECK_EQ(m.ioapic_id, ncpus);
	CHECK_EQ(m.ioapic_addr, PLAT_IOAPIC_BASE);
	CHECK_EQ(m.ioapic_gsi, 0);
	CHECK_EQ(m.niso, 2);
	CHECK_EQ(m.iso_src[0], 0);
	CHECK_EQ(m.iso_gsi[0], 2);
	CHECK_EQ(m.iso_flags[0], 0x4);  /* edge, conforming polarity */
	CHECK_EQ(m.iso_src[1], PLAT_IRQ_SCI);
	CHECK_EQ(m.iso_gsi[1], PLAT_IRQ_SCI);
	CHECK_EQ(m.iso_flags[1], 0xD);  /* level, active high */
	CHECK_EQ(m.nnmi, x2apic ? 0 : 1);
	CHECK_EQ(m.nx2nmi, x2apic ? 1 : 0);
	CHECK_EQ(m.nmi_lint, 1);
	CHECK_EQ(m.nmi_uid, x2apic ? 0xFFFFFFFFu : 0xFF);
out:
	fake_gm_free(&gm);
}

static void test_madt_1cpu(void) { check_madt(1, false); }
static void test_madt_4cpu(void) { check_madt(4, false); }
static void test_madt_x2apic(void) { check_madt(4, true); }
static void test_madt_max(void) { check_madt(254, true); }

/* ---- a small AML decoder, enough for what the DSDT uses ---- */

#define DEC_MAX_INTS 16
#define DEC_MAX_PRT 128

struct aml_dev {
	char path[160];
	uint32_t hid;            /* EISAID or 0 */
	char hid_str[16];
	uint64_t uid;
	bool has_uid;
	uint8_t crs[256];
	unsigned crs_len;
	/* Other integer Name()s of the device: _CID, _ADR, _SEG, _BBN ... */
	char int_name[DEC_MAX_INTS][64];
	uint64_t int_val[DEC_MAX_INTS];
	unsigned nint;
	/* _PRT: Package of Package(4) { Address, Pin, Source, SourceIndex } */
	uint64_t prt[DEC_MAX_PRT][4];
	unsigned prt_n;
	bool has_prt;
};

struct aml_dec {
	const uint8_t *b;
	size_t len;
	bool err;
	struct aml_dev dev[300];
	unsigned ndev;
	bool have_s5;
	uint64_t s5[4];
	unsigned s5_n;
};

static bool dec_pkglen(struct aml_dec *d, size_t *pos, size_t end, size_t *pkg_end)
{
	size_t start = *pos;
	if (*pos >= end)
		return false;
	uint8_t lead = d->b[(*pos)++];
	unsigned nfollow = lead >> 6;
	size_t v;
	if (nfollow == 0) {
		v = lead & 0x3F;
	} else {
		if (lead & 0x30)
			return false;
		v = lead & 0x0F;
		for (unsigned i = 0; i < nfollow; i++) {
			if (*pos >= end)
				return false;
			v |= (size_t)d->b[(*pos)++] << (4 + 8 * i);
		}
	}
	if (v < *pos - start || start + v > end)
		return false;
	*pkg_end = start + v;
	return true;
}

static bool dec_nameseg(const uint8_t *s)
{
	for (int i = 0; i < 4; i++) {
		char c = (char)s[i];
		bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (i && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

/* Decode a NameString into "\\_SB_.COM1" form (appended to out). */
static bool dec_namestring(struct aml_dec *d, size_t *pos, size_t end, char *out, size_t outsz)
{
	char tmp[64] = "";
	size_t n = 0;
	unsigned nsegs;

	if (*pos < end && d->b[*pos] == '\\') {
		tmp[n++] = '\\';
		(*pos)++;
	}
	while (*pos < end && d->b[*pos] == '^' && n < 8) {
		tmp[n++] = '^';
		(*pos)++;
	}
	if (*pos >= end)
		return false;
	if (d->b[*pos] == 0x00) {
		nsegs = 0;
		(*pos)++;
	} else if (d->b[*pos] == 0x2E) {
		nsegs = 2;
		(*pos)++;
	} else if (d->b[*pos] == 0x2F) {
		if (*pos + 1 >= end)
			return false;
		nsegs = d->b[*pos + 1];
		*pos += 2;
	} else {
		nsegs = 1;
	}
	for (unsigned i = 0; i < nsegs; i++) {
		if (*pos + 4 > end || !dec_nameseg(d->b + *pos) || n + 6 > sizeof(tmp))
			return false;
		if (i)
			tmp[n++] = '.';
		memcpy(tmp + n, d->b + *pos, 4);
		n += 4;
		*pos += 4;
	}
	tmp[n] = 0;
	snprintf(out, outsz, "%s", tmp);
	return true;
}

/* DataRefObject: integer, string, package or buffer. *ival for integers. */
static bool dec_data(struct aml_dec *d, size_t *pos, size_t end, uint64_t *ival,
		     const char **sval, const uint8_t **bval, size_t *blen, unsigned depth)
{
	if (*pos >= end || depth > 8)
		return false;
	uint8_t op = d->b[(*pos)++];
	uint64_t v = 0;
	size_t n = 0;
	switch (op) {
	case 0x00: v = 0; break;
	case 0x01: v = 1; break;
	case 0xFF: v = ~0ULL; break;
	case 0x0A: n = 1; break;
	case 0x0B: n = 2; break;
	case 0x0C: n = 4; break;
	case 0x0E: n = 8; break;
	case 0x0D: {
		size_t s = *pos;
		while (*pos < end && d->b[*pos])
			(*pos)++;
		if (*pos >= end)
			return false;
		if (sval)
			*sval = (const char *)d->b + s;
		(*pos)++;
		return true;
	}
	case 0x11: { /* Buffer */
		size_t pend;
		uint64_t bsize;
		if (!dec_pkglen(d, pos, end, &pend))
			return false;
		if (!dec_data(d, pos, pend, &bsize, NULL, NULL, NULL, depth + 1))
			return false;
		if (bsize != pend - *pos)
			return false;
		if (bval) {
			*bval = d->b + *pos;
			*blen = pend - *pos;
		}
		*pos = pend;
		return true;
	}
	case 0x12: { /* Package */
		size_t pend;
		if (!dec_pkglen(d, pos, end, &pend) || *pos >= pend)
			return false;
		unsigned cnt = d->b[(*pos)++], i = 0;
		while (*pos < pend) {
			uint64_t e;
			if (!dec_data(d, pos, pend, &e, NULL, NULL, NULL, depth + 1))
				return false;
			if (ival == &d->s5[0] && i < 4)
				d->s5[i] = e;
			i++;
		}
		if (ival == &d->s5[0])
			d->s5_n = i;
		return i == cnt;
	}
	default:
		return false;
	}
	if (*pos + n > end)
		return false;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)d->b[*pos + i] << (8 * i);
	*pos += n;
	if (ival)
		*ival = v;
	return true;
}

/* _PRT = Package(n) { Package(4) { integers }, ... } into dev->prt. */
static bool dec_prt(struct aml_dec *d, size_t *pos, size_t end, struct aml_dev *dev)
{
	size_t pend;

	if (*pos >= end || d->b[(*pos)++] != 0x12)
		return false;
	if (!dec_pkglen(d, pos, end, &pend) || *pos >= pend)
		return false;
	unsigned cnt = d->b[(*pos)++];
	dev->prt_n = 0;
	dev->has_prt = true;
	while (*pos < pend) {
		size_t eend;
		if (d->b[(*pos)++] != 0x12 || !dec_pkglen(d, pos, pend, &eend) || *pos >= eend)
			return false;
		if (d->b[(*pos)++] != 4 || dev->prt_n == DEC_MAX_PRT)
			return false;
		for (unsigned i = 0; i < 4; i++) {
			uint64_t v = ~0ULL;
			if (!dec_data(d, pos, eend, &v, NULL, NULL, NULL, 1))
				return false;
			dev->prt[dev->prt_n][i] = v;
		}
		if (*pos != eend)
			return false;
		dev->prt_n++;
	}
	return *pos == pend && dev->prt_n == cnt;
}

static bool dev_int(const struct aml_dev *dev, const char *name, uint64_t *v)
{
	for (unsigned i = 0; i < dev->nint; i++) {
		if (strcmp(dev->int_name[i], name) == 0) {
			*v = dev->int_val[i];
			return true;
		}
	}
	return false;
}

static bool dec_termlist(struct aml_dec *d, size_t pos, size_t end, const char *scope,
			 struct aml_dev *dev, unsigned depth)
{
	char name[64], path[160];

	if (depth > 8)
		return false;
	while (pos < end) {
		uint8_t op = d->b[pos++];
		if (op == 0x08) { /* Name */
			if (!dec_namestring(d, &pos, end, name, sizeof(name)))
				return false;
			uint64_t iv = 0;
			const char *sv = NULL;
			const uint8_t *bv = NULL;
			size_t bl = 0;
			bool is_s5 = strcmp(name, "\\_S5_") == 0 ||
				     (strcmp(name, "_S5_") == 0 && strcmp(scope, "\\") == 0);
			uint64_t *target = is_s5 ? &d->s5[0] : &iv;
			if (dev && strcmp(name, "_PRT") == 0) {
				if (!dec_prt(d, &pos, end, dev))
					return false;
				continue;
			}
			size_t vpos = pos;
			if (!dec_data(d, &pos, end, target, &sv, &bv, &bl, 0))
				return false;
			bool is_int = d->b[vpos] <= 0x01 || d->b[vpos] == 0xFF ||
				      (d->b[vpos] >= 0x0A && d->b[vpos] <= 0x0E && d->b[vpos] != 0x0D);
			if (dev && is_int && dev->nint < DEC_MAX_INTS) {
				snprintf(dev->int_name[dev->nint], sizeof(dev->int_name[0]), "%s", name);
				dev->int_val[dev->nint++] = iv;
			}
			if (is_s5)
				d->have_s5 = true;
			if (dev && strcmp(name, "_HID") == 0) {
				if (sv)
					snprintf(dev->hid_str, sizeof(dev->hid_str), "%s", sv);
				else
					dev->hid = (uint32_t)iv;
			} else if (dev && strcmp(name, "_UID") == 0) {
				dev->uid = iv;
				dev->has_uid = true;
			} else if (dev && strcmp(name, "_CRS") == 0 && bv && bl <= sizeof(dev->crs)) {
				memcpy(dev->crs, bv, bl);
				dev->crs_len = (unsigned)bl;
			}
		} else if (op == 0x10 || (op == 0x5B && pos < end && d->b[pos] == 0x82)) {
			bool is_dev = op == 0x5B;
			size_t pend;
			if (is_dev)
				pos++;
			if (!dec_pkglen(d, &pos, end, &pend))
				return false;
			if (!dec_namestring(d, &pos, pend, name, sizeof(name)))
				return false;
			if (name[0] == '\\')
				snprintf(path, sizeof(path), "%s", name);
			else
				snprintf(path, sizeof(path), "%s%s%s", scope,
					 strcmp(scope, "\\") ? "." : "", name);
			struct aml_dev *ndev = NULL;
			if (is_dev) {
				if (d->ndev == ARRAY_SIZE(d->dev))
					return false;
				ndev = &d->dev[d->ndev++];
				memset(ndev, 0, sizeof(*ndev));
				snprintf(ndev->path, sizeof(ndev->path), "%s", path);
			}
			if (!dec_termlist(d, pos, pend, path, ndev, depth + 1))
				return false;
			pos = pend;
		} else {
			return false;
		}
	}
	return true;
}

static struct aml_dev *dec_find(struct aml_dec *d, const char *path)
{
	for (unsigned i = 0; i < d->ndev; i++)
		if (strcmp(d->dev[i].path, path) == 0)
			return &d->dev[i];
	return NULL;
}

/* EISAID encoding computed independently (big-endian mfg code + product). */
static uint32_t eisaid(const char *s)
{
	unsigned mfg = ((unsigned)(s[0] - '@') << 10) | ((unsigned)(s[1] - '@') << 5) |
		       (unsigned)(s[2] - '@');
	unsigned prod = (unsigned)strtoul(s + 3, NULL, 16);
	return (uint32_t)((mfg >> 8) | ((mfg & 0xFF) << 8) | ((prod >> 8) << 16) |
			  ((prod & 0xFF) << 24));
}

/* Check a _CRS is IO(Decode16, port, port, 1, len) [+ IRQNoFlags{irq}] + EndTag. */
static void check_crs_io_irq(const struct aml_dev *dev, uint16_t port, uint8_t len, int irq)
{
	const uint8_t *c = dev->crs;
	unsigned want = 8 + (irq >= 0 ? 3 : 0) + 2;
	CHECK_EQ(dev->crs_len, want);
	if (dev->crs_len != want)
		return;
	CHECK_EQ(c[0], 0x47);
	CHECK_EQ(c[1], 1);
	CHECK_EQ(get_le16(c + 2), port);
	CHECK_EQ(get_le16(c + 4), port);
	CHECK_EQ(c[6], 1);
	CHECK_EQ(c[7], len);
	if (irq >= 0) {
		CHECK_EQ(c[8], 0x22);
		CHECK_EQ(get_le16(c + 9), 1u << irq);
	}
	CHECK_EQ(c[want - 2], 0x79);
}

static bool decode_dsdt(struct guest_mem *gm, uint64_t rsdp, struct aml_dec *d)
{
	uint8_t *f = find_table(gm, rsdp, "FACP", NULL);
	if (!f)
		return false;
	uint8_t *t = table_at(gm, get_le64(f + 140), "DSDT");
	if (!t)
		return false;
	CHECK_EQ(t[8], 2);
	memset(d, 0, sizeof(*d));
	d->b = t;
	d->len = get_le32(t + 4);
	return dec_termlist(d, 36, d->len, "\\", NULL, 0);
}

static void test_dsdt(void)
{
	struct guest_mem gm;
	struct aml_dec *d = calloc(1, sizeof(*d));
	uint64_t rsdp = build(&gm, 4, false, 0x5); /* COM1 and COM3 */

	CHECK(decode_dsdt(&gm, rsdp, d));
	CHECK(d->have_s5);
	CHECK_EQ(d->s5_n, 4);
	CHECK_EQ(d->s5[0], PLAT_SLP_TYP_S5);
	CHECK_EQ(d->s5[1], PLAT_SLP_TYP_S5);
	CHECK_EQ(d->s5[2], 0);
	CHECK_EQ(d->s5[3], 0);

	struct aml_dev *c1 = dec_find(d, "\\_SB_.COM1");
	struct aml_dev *c3 = dec_find(d, "\\_SB_.COM3");
	CHECK(c1 != NULL);
	CHECK(c3 != NULL);
	CHECK(dec_find(d, "\\_SB_.COM2") == NULL);
	CHECK(dec_find(d, "\\_SB_.COM4") == NULL);
	if (c1) {
		CHECK_EQ(c1->hid, eisaid("PNP0501"));
		CHECK_EQ(c1->hid, 0x0105D041);
		CHECK(c1->has_uid);
		CHECK_EQ(c1->uid, 1);
		check_crs_io_irq(c1, 0x3F8, 8, 4);
	}
	if (c3) {
		CHECK_EQ(c3->uid, 3);
		check_crs_io_irq(c3, 0x3E8, 8, 4);
	}
	struct aml_dev *rtc = dec_find(d, "\\_SB_.RTC_");
	CHECK(rtc != NULL);
	if (rtc) {
		CHECK_EQ(rtc->hid, eisaid("PNP0B00"));
		check_crs_io_irq(rtc, 0x70, 2, 8);
	}
	struct aml_dev *kbd = dec_find(d, "\\_SB_.KBD_");
	CHECK(kbd != NULL);
	if (kbd) {
		CHECK_EQ(kbd->hid, eisaid("PNP0303"));
		CHECK_EQ(kbd->crs_len, 18);
		CHECK_EQ(get_le16(kbd->crs + 2), 0x60);
		CHECK_EQ(get_le16(kbd->crs + 10), 0x64);
	}
	/* Processor devices with _UID = MADT UID. */
	for (unsigned i = 0; i < 4; i++) {
		char p[32];
		snprintf(p, sizeof(p), "\\_SB_.C%03X", i);
		struct aml_dev *cpu = dec_find(d, p);
		CHECK(cpu != NULL);
		if (cpu) {
			CHECK_STR(cpu->hid_str, "ACPI0007");
			CHECK_EQ(cpu->uid, i);
		}
	}
	CHECK(dec_find(d, "\\_SB_.C004") == NULL);
	fake_gm_free(&gm);

	/* All four COMs. */
	rsdp = build(&gm, 1, false, 0xF);
	CHECK(decode_dsdt(&gm, rsdp, d));
	const char *names[4] = { "\\_SB_.COM1", "\\_SB_.COM2", "\\_SB_.COM3", "\\_SB_.COM4" };
	for (unsigned i = 0; i < 4; i++) {
		struct aml_dev *c = dec_find(d, names[i]);
		CHECK(c != NULL);
		if (c) {
			CHECK_EQ(c->uid, i + 1);
			check_crs_io_irq(c, plat_com_port[i], 8, plat_com_irq[i]);
		}
	}
	fake_gm_free(&gm);
	free(d);
}

/* ---- PCI: resource descriptors, PCI0, _PRT, MCFG ---- */

struct rdesc {
	uint8_t tag;             /* small: item name << 3 | len; large: 0x80 | name */
	uint8_t rtype, gflags, tflags;
	uint64_t gra, min, max, tra, len;
};

/* Walk a resource template; false on a malformed one or no End Tag last. */
static bool parse_rt(const uint8_t *b, size_t n, struct rdesc *out, unsigned max,
		     unsigned *count)
{
	size_t o = 0;
	unsigned k = 0;

	while (o < n) {
		struct rdesc r = { .tag = b[o] };
		size_t dlen;
		if (b[o] & 0x80) {
			if (o + 3 > n)
				return false;
			dlen = 3 + get_le16(b + o + 1);
			if (o + dlen > n)
				return false;
			unsigned w = b[o] == 0x88 ? 2 : b[o] == 0x87 ? 4 : b[o] == 0x8A ? 8 : 0;
			if (w) {
				if (dlen < 6 + 5 * w)
					return false;
				r.rtype = b[o + 3];
				r.gflags = b[o + 4];
				r.tflags = b[o + 5];
				uint64_t f[5];
				for (unsigned i = 0; i < 5; i++) {
					f[i] = 0;
					for (unsigned j = 0; j < w; j++)
						f[i] |= (uint64_t)b[o + 6 + i * w + j] << (8 * j);
				}
				r.gra = f[0], r.min = f[1], r.max = f[2], r.tra = f[3], r.len = f[4];
			} else if (b[o] == 0x86) {
				if (dlen != 12)
					return false;
				r.tflags = b[o + 3];
				r.min = get_le32(b + o + 4);
				r.len = get_le32(b + o + 8);
				r.max = r.min + r.len - 1;
			}
		} else {
			dlen = 1 + (b[o] & 7);
			if (o + dlen > n)
				return false;
			if ((b[o] >> 3) == 0x08) { /* IO */
				r.min = get_le16(b + o + 2);
				r.max = get_le16(b + o + 4);
				r.len = b[o + 7];
			}
		}
		if (k == max)
			return false;
		out[k++] = r;
		o += dlen;
		if (r.tag == 0x79) {
			*count = k;
			return o == n;
		}
	}
	return false;
}

static void check_addr(const struct rdesc *r, uint8_t tag, uint8_t rtype, uint8_t tflags,
		       uint64_t min, uint64_t max)
{
	CHECK_EQ(r->tag, tag);
	CHECK_EQ(r->rtype, rtype);
	CHECK_EQ(r->gflags, 0x0C);      /* producer, MinFixed, MaxFixed, PosDecode */
	CHECK_EQ(r->tflags, tflags);
	CHECK_EQ(r->gra, 0);
	CHECK_EQ(r->min, min);
	CHECK_EQ(r->max, max);
	CHECK_EQ(r->tra, 0);
	CHECK_EQ(r->len, max - min + 1);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void check_pci_dsdt(bool mmio64)
{
	struct guest_mem gm;
	struct aml_dec *d = calloc(1, sizeof(*d));
	uint64_t rsdp = build_ex(&gm, 2, false, 0x1, true, mmio64 ? MMIO64_SIZE : 0);
	uint64_t v;

	CHECK(decode_dsdt(&gm, rsdp, d));
	struct aml_dev *pci = dec_find(d, "\\_SB_.PCI0");
	CHECK(pci != NULL);
	if (!pci)
		goto out;
	CHECK_EQ(pci->hid, eisaid("PNP0A08"));
	CHECK(dev_int(pci, "_CID", &v));
	CHECK_EQ(v, eisaid("PNP0A03"));
	CHECK(pci->has_uid);
	CHECK_EQ(pci->uid, 0);
	CHECK(dev_int(pci, "_SEG", &v));
	CHECK_EQ(v, 0);
	CHECK(dev_int(pci, "_BBN", &v));
	CHECK_EQ(v, 0);
	CHECK(!dev_int(pci, "_ADR", &v)); /* _HID, so no _ADR (iasl warns) */
	/* Legacy devices stay where they were. */
	CHECK(dec_find(d, "\\_SB_.COM1") != NULL);
	CHECK(dec_find(d, "\\_SB_.RTC_") != NULL);

	/* _CRS: bus numbers, config ports, I/O and memory windows. */
	struct rdesc r[16];
	unsigned n = 0;
	CHECK(parse_rt(pci->crs, pci->crs_len, r, ARRAY_SIZE(r), &n));
	CHECK_EQ(n, mmio64 ? 8u : 7u);
	if (n == (mmio64 ? 8u : 7u)) {
		check_addr(&r[0], 0x88, 2, 0x00, 0, 255);
		CHECK_EQ(r[1].tag, 0x47);
		CHECK_EQ(r[1].min, 0xCF8);
		CHECK_EQ(r[1].max, 0xCF8);
		CHECK_EQ(r[1].len, 8);
		check_addr(&r[2], 0x88, 1, 0x03, 0x0000, 0x0CF7);
		check_addr(&r[3], 0x88, 1, 0x03, 0x0D00, 0xFFFF);
		check_addr(&r[4], 0x87, 0, 0x03, 0xA0000, 0xBFFFF);
		check_addr(&r[5], 0x87, 0, 0x01, PLAT_PCI_MMIO_BASE, PLAT_ECAM_BASE - 1);
		if (mmio64)
			check_addr(&r[6], 0x8A, 0, 0x03, MMIO64_BASE,
				   MMIO64_BASE + MMIO64_SIZE - 1);
		CHECK_EQ(r[n - 1].tag, 0x79);
		/* No window covers ECAM, the I/O APIC, HPET or the local APIC. */
		for (unsigned i = 4; i < n - 1; i++) {
			CHECK(!overlaps(r[i].min, r[i].len, PLAT_ECAM_BASE, PLAT_ECAM_SIZE));
			CHECK(!overlaps(r[i].min, r[i].len, PLAT_IOAPIC_BASE, 0x1000));
			CHECK(!overlaps(r[i].min, r[i].len, PLAT_HPET_BASE, 0x1000));
			CHECK(!overlaps(r[i].min, r[i].len, PLAT_LAPIC_BASE, 0x1000));
			/* Only the VGA window is below 1 MiB, in the e820-reserved area. */
			CHECK(!overlaps(r[i].min, r[i].len, 0, PLAT_EBDA));
			CHECK(!overlaps(r[i].min, r[i].len, 0x100000, RAM - 0x100000));
		}
	}

	/* _PRT: 32 slots x 4 pins, straight to GSIs 16-23. */
	CHECK(pci->has_prt);
	CHECK_EQ(pci->prt_n, 128);
	for (unsigned i = 0; i < pci->prt_n; i++) {
		unsigned slot = i / 4, pin = i % 4;
		CHECK_EQ(pci->prt[i][0], ((uint64_t)slot << 16) | 0xFFFF);
		CHECK_EQ(pci->prt[i][1], pin);
		CHECK_EQ(pci->prt[i][2], 0);
		CHECK_EQ(pci->prt[i][3], 16 + ((slot + pin) & 7));
	}
	CHECK_EQ(pci->prt[0][3], 16);           /* 00:00 INTA# */
	CHECK_EQ(pci->prt[3 * 4 + 0][3], 19);   /* slot 3 INTA# */
	CHECK_EQ(pci->prt[3 * 4 + 1][0], 0x3FFFF);
	CHECK_EQ(pci->prt[3 * 4 + 1][3], 20);   /* slot 3 INTB# */
	CHECK_EQ(pci->prt[31 * 4 + 3][0], 0x1FFFFF);
	CHECK_EQ(pci->prt[31 * 4 + 3][3], 18);  /* slot 31 INTD# */

	/* The motherboard resources reserve the ECAM window. */
	struct aml_dev *sysr = dec_find(d, "\\_SB_.SYSR");
	CHECK(sysr != NULL);
	if (sysr) {
		CHECK_EQ(sysr->hid, eisaid("PNP0C02"));
		CHECK(parse_rt(sysr->crs, sysr->crs_len, r, ARRAY_SIZE(r), &n));
		bool ecam = false;
		for (unsigned i = 0; i < n; i++)
			if (r[i].tag == 0x86 && r[i].min == PLAT_ECAM_BASE &&
			    r[i].len == PLAT_ECAM_SIZE && (r[i].tflags & 1))
				ecam = true;
		CHECK(ecam);
	}
out:
	fake_gm_free(&gm);
	free(d);
}

static void test_pci_dsdt(void) { check_pci_dsdt(true); }
static void test_pci_dsdt_no64(void) { check_pci_dsdt(false); }

static void test_no_pci(void)
{
	struct guest_mem gm;
	struct aml_dec *d = calloc(1, sizeof(*d));
	uint64_t rsdp = build(&gm, 1, false, 0);
	struct rdesc r[16];
	unsigned n = 0;

	CHECK(decode_dsdt(&gm, rsdp, d));
	CHECK(dec_find(d, "\\_SB_.PCI0") == NULL);
	CHECK(find_table(&gm, rsdp, "MCFG", NULL) == NULL);
	struct aml_dev *sysr = dec_find(d, "\\_SB_.SYSR");
	CHECK(sysr != NULL);
	if (sysr) {
		CHECK(parse_rt(sysr->crs, sysr->crs_len, r, ARRAY_SIZE(r), &n));
		for (unsigned i = 0; i < n; i++)
			CHECK(r[i].tag != 0x86);
	}
	fake_gm_free(&gm);
	free(d);
}

static void test_mcfg(void)
{
	struct guest_mem gm;
	uint64_t rsdp = build_ex(&gm, 4, false, 0, true, MMIO64_SIZE);
	uint64_t addr = 0;
	uint8_t *t = find_table(&gm, rsdp, "MCFG", &addr); /* XSDT and RSDT, checksum */

	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_EQ(get_le32(t + 4), 36 + 8 + 16);
	CHECK_EQ(t[8], 1);
	CHECK_EQ(byte_sum(t, get_le32(t + 4)), 0);
	CHECK(memcmp(t + 10, "LHYVE ", 6) == 0);
	CHECK_EQ(get_le64(t + 36), 0);            /* reserved */
	CHECK_EQ(get_le64(t + 44), PLAT_ECAM_BASE);
	CHECK_EQ(get_le16(t + 52), 0);            /* segment */
	CHECK_EQ(t[54], 0);                       /* start bus */
	CHECK_EQ(t[55], 255);                     /* end bus */
	CHECK_EQ(get_le32(t + 56), 0);            /* reserved */
	/* 256 buses x 1 MiB of ECAM = the window the core registers. */
	CHECK_EQ((uint64_t)(t[55] - t[54] + 1) << 20, PLAT_ECAM_SIZE);
	CHECK_EQ(addr % 16, 0);
	/* FACP, APIC, MCFG listed. */
	uint8_t *r = gpa(&gm, rsdp, 36);
	uint8_t *x = table_at(&gm, get_le64(r + 24), "XSDT");
	CHECK(x != NULL);
	if (x)
		CHECK_EQ((get_le32(x + 4) - 36) / 8, 3);
	CHECK(find_table(&gm, rsdp, "FACP", NULL) != NULL);
	CHECK(find_table(&gm, rsdp, "APIC", NULL) != NULL);
out:
	fake_gm_free(&gm);
}

static void test_errors(void)
{
	struct guest_mem gm;
	struct acpi_params p = { .ncpus = 0 };
	uint64_t rsdp = 0;

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	CHECK_EQ(acpi_build(&gm, &p, &rsdp), -EINVAL);
	p.ncpus = 255;
	CHECK_EQ(acpi_build(&gm, &p, &rsdp), -EINVAL);
	p.ncpus = 1;
	p.hpet = true;
	CHECK_EQ(acpi_build(&gm, &p, &rsdp), -EOPNOTSUPP);
	p.hpet = false;
	p.pci = true;
	p.mmio64_base = 3 * GiB;        /* a 64-bit window must be above 4 GiB */
	p.mmio64_size = GiB;
	CHECK_EQ(acpi_build(&gm, &p, &rsdp), -EINVAL);
	p.mmio64_base = UINT64_MAX - GiB + 2; /* wraps */
	CHECK_EQ(acpi_build(&gm, &p, &rsdp), -EINVAL);
	CHECK_EQ(find_rsdp(&gm), 0); /* nothing written on failure */
	p.mmio64_base = 0;              /* size 0: no window, base ignored */
	p.mmio64_size = 0;
	CHECK_EQ(acpi_build(&gm, &p, &rsdp), 0);
	fake_gm_free(&gm);

	/* Guest too small to hold the ACPI region. */
	CHECK_EQ(fake_gm_init(&gm, 0x80000, 0), 0);
	p.pci = false;
	CHECK_EQ(acpi_build(&gm, &p, &rsdp), -EFAULT);
	fake_gm_free(&gm);
}

/* ---- AML emitter unit tests ---- */

static void test_aml_encodings(void)
{
	struct aml a;

	CHECK_EQ(aml_init(&a), 0);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0x12);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x12345678);
	aml_integer(&a, 0x123456789AULL);
	const uint8_t want[] = { 0x00, 0x01, 0x0A, 0x12, 0x0B, 0x34, 0x12,
				 0x0C, 0x78, 0x56, 0x34, 0x12,
				 0x0E, 0x9A, 0x78, 0x56, 0x34, 0x12, 0, 0, 0 };
	CHECK_EQ(a.len, sizeof(want));
	CHECK(memcmp(a.buf, want, sizeof(want)) == 0);
	aml_free(&a);

	/* Name strings. */
	CHECK_EQ(aml_init(&a), 0);
	aml_namestring(&a, "\\_SB.PCI0");
	aml_namestring(&a, "^A");
	aml_namestring(&a, "\\A.B.C");
	aml_namestring(&a, "\\");
	const uint8_t wn[] = { '\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
			       '^', 'A', '_', '_', '_',
			       '\\', 0x2F, 3, 'A', '_', '_', '_', 'B', '_', '_', '_',
			       'C', '_', '_', '_',
			       '\\', 0x00 };
	CHECK_EQ(a.len, sizeof(wn));
	CHECK(memcmp(a.buf, wn, sizeof(wn)) == 0);
	CHECK_EQ(aml_finish(&a), 0);
	aml_namestring(&a, "1ABC");
	CHECK_EQ(aml_finish(&a), -EINVAL);
	aml_free(&a);

	const char *bad[] = { "ABCDE", "a", "A..B", "A.", "", "A-B" };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(aml_init(&a), 0);
		aml_namestring(&a, bad[i]);
		if (bad[i][0] == 0)
			CHECK_EQ(aml_finish(&a), 0); /* "" is NullName */
		else
			CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}

	/* Unbalanced scopes. */
	CHECK_EQ(aml_init(&a), 0);
	aml_scope_begin(&a, "\\_SB");
	CHECK_EQ(aml_finish(&a), -EINVAL);
	aml_end(&a);
	CHECK_EQ(aml_finish(&a), 0);
	aml_end(&a);
	CHECK_EQ(aml_finish(&a), -EINVAL);
	aml_free(&a);

	/* EISAID. */
	CHECK_EQ(aml_init(&a), 0);
	aml_eisaid(&a, "PNP0C02");
	CHECK_EQ(a.len, 5);
	CHECK_EQ(a.buf[0], 0x0C);
	CHECK_EQ(get_le32(a.buf + 1), eisaid("PNP0C02"));
	CHECK_EQ(get_le32(a.buf + 1), 0x020CD041);
	aml_eisaid(&a, "pnp0C02");
	CHECK_EQ(aml_finish(&a), -EINVAL);
	aml_free(&a);
}

/* Address space and fixed memory descriptors: bytes and range checks. */
static void test_aml_resources(void)
{
	struct aml a;

	CHECK_EQ(aml_init(&a), 0);
	aml_rt_word_bus(&a, 0, 0xFF);
	aml_rt_mem32_fixed(&a, 0xE0000000u, 0x10000000u);
	const uint8_t want[] = {
		0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00,   /* WordBusNumber, producer */
		0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x86, 0x09, 0x00, 0x01,               /* Memory32Fixed, ReadWrite */
		0x00, 0x00, 0x00, 0xE0, 0x00, 0x00, 0x00, 0x10,
	};
	CHECK_EQ(a.len, sizeof(want));
	CHECK(memcmp(a.buf, want, sizeof(want)) == 0);
	CHECK_EQ(aml_finish(&a), 0);
	aml_free(&a);

	CHECK_EQ(aml_init(&a), 0);
	aml_rt_qword_mem(&a, 1ULL << 40, (1ULL << 41) - 1, true);
	CHECK_EQ(a.len, 46);
	CHECK_EQ(get_le16(a.buf + 1), 43);
	CHECK_EQ(a.buf[5], 0x03);                     /* Cacheable, ReadWrite */
	CHECK_EQ(get_le64(a.buf + 14), 1ULL << 40);   /* _MIN */
	CHECK_EQ(get_le64(a.buf + 38), 1ULL << 40);   /* _LEN */
	aml_rt_dword_mem(&a, 0xC0000000u, 0xDFFFFFFFu, false);
	CHECK_EQ(a.len, 46 + 26);
	CHECK_EQ(get_le16(a.buf + 47), 23);
	CHECK_EQ(a.buf[46 + 5], 0x01);                /* NonCacheable, ReadWrite */
	CHECK_EQ(get_le32(a.buf + 46 + 22), 0x20000000u);
	CHECK_EQ(aml_finish(&a), 0);
	aml_free(&a);

	/* Empty, inverted or whole-space ranges are errors. */
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(aml_init(&a), 0);
		switch (i) {
		case 0: aml_rt_word_io(&a, 0x10, 0x0F); break;
		case 1: aml_rt_qword_mem(&a, 0, UINT64_MAX, false); break;
		case 2: aml_rt_dword_mem(&a, 2, 1, false); break;
		case 3: aml_rt_mem32_fixed(&a, 0x1000, 0); break;
		case 4: aml_rt_mem32_fixed(&a, 0xFFFFF000u, 0x2000); break;
		}
		CHECK_EQ(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}
	/* A single-unit window is fine. */
	CHECK_EQ(aml_init(&a), 0);
	aml_rt_word_io(&a, 0x10, 0x10);
	CHECK_EQ(get_le16(a.buf + 14), 1);
	CHECK_EQ(aml_finish(&a), 0);
	aml_free(&a);
}

/* PkgLength at the 1/2/3-byte boundaries, checked by the decoder. */
static void test_aml_pkglen(void)
{
	const size_t sizes[] = { 0, 1, 55, 56, 57, 58, 60, 61, 62, 63, 64, 4000,
				 4085, 4086, 4087, 4088, 4090, 5000, 70000 };
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct aml a;
		CHECK_EQ(aml_init(&a), 0);
		aml_scope_begin(&a, "\\_SB");
		/* Fill with Name(Xnnn, Zero) terms (6 bytes each). */
		size_t target = sizes[i], body = 0;
		unsigned k = 0;
		while (target - body >= 6 + 3) {
			char n[8];
			snprintf(n, sizeof(n), "X%03X", k++ & 0xFFF);
			aml_name(&a, n);
			aml_integer(&a, 0);
			body += 6;
		}
		aml_end(&a);
		CHECK_EQ(aml_finish(&a), 0);
		struct aml_dec *d = calloc(1, sizeof(*d));
		d->b = a.buf;
		d->len = a.len;
		CHECK(dec_termlist(d, 0, a.len, "\\", NULL, 0));
		free(d);
		aml_free(&a);
	}
	/* Exact boundaries using a Buffer of chosen size (Buffer body = size term + bytes). */
	static uint8_t junk[5000];
	memset(junk, 0x22, sizeof(junk));
	for (size_t n = 50; n < 4110; n = (n == 75 ? 4075 : n + 1)) {
		struct aml a;
		CHECK_EQ(aml_init(&a), 0);
		aml_rt_begin(&a);
		aml_raw(&a, junk, n);
		aml_end(&a);
		CHECK_EQ(aml_finish(&a), 0);
		struct aml_dec *d = calloc(1, sizeof(*d));
		size_t pos = 0;
		const uint8_t *bv = NULL;
		size_t bl = 0;
		d->b = a.buf;
		d->len = a.len;
		CHECK(dec_data(d, &pos, a.len, NULL, NULL, &bv, &bl, 0));
		CHECK_EQ(pos, a.len);
		CHECK_EQ(bl, n + 2); /* + End Tag */
		free(d);
		aml_free(&a);
	}
}

/*
 * If iasl is installed, disassemble every table and require no errors, then
 * recompile the disassembled DSDT and require 0 errors and 0 warnings.
 */
static void check_iasl(bool pci)
{
	struct guest_mem gm;
	uint64_t rsdp = build_ex(&gm, 4, false, 0xF, pci, pci ? MMIO64_SIZE : 0);
	char dir[] = "/tmp/lhyve-acpi-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);

	const char *sigs[] = { "FACP", "APIC", "DSDT", "MCFG" };
	for (unsigned i = 0; i < ARRAY_SIZE(sigs) - (pci ? 0 : 1); i++) {
		uint8_t *t;
		if (strcmp(sigs[i], "DSDT") == 0) {
			uint8_t *f = find_table(&gm, rsdp, "FACP", NULL);
			t = f ? table_at(&gm, get_le64(f + 140), "DSDT") : NULL;
		} else {
			t = find_table(&gm, rsdp, sigs[i], NULL);
		}
		CHECK(t != NULL);
		if (!t)
			continue;
		char path[128], cmd[512];
		snprintf(path, sizeof(path), "%s/%s.dat", dir, sigs[i]);
		FILE *fp = fopen(path, "wb");
		CHECK(fp != NULL);
		if (!fp)
			continue;
		fwrite(t, 1, get_le32(t + 4), fp);
		fclose(fp);
		snprintf(cmd, sizeof(cmd),
			 "cd %s && iasl -d %s.dat > %s.log 2>&1 && ! grep -qiE "
			 "'error|warning' %s.log && ! grep -qiE '\\*\\*\\*|error' %s.dsl",
			 dir, sigs[i], sigs[i], sigs[i], sigs[i]);
		int rc = system(cmd);
		CHECK_EQ(rc, 0);
		if (rc)
			fprintf(stderr, "iasl -d %s/%s.dat reported problems\n", dir, sigs[i]);
	}
	/* Recompile: the ASL iasl wrote must compile without warnings. */
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -p RE DSDT.dsl > RE.log 2>&1 && "
		 "grep -q 'Compilation successful. 0 Errors, 0 Warnings' RE.log", dir);
	int rc = system(cmd);
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "iasl recompile of %s/DSDT.dsl reported problems\n", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (!rc && system(cmd) != 0)    /* kept for a look when it failed */
		fprintf(stderr, "could not remove %s\n", dir);
	fake_gm_free(&gm);
}

static void test_iasl(void)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		printf("iasl not installed: skipping disassembly check\n");
		return;
	}
	check_iasl(false);
	check_iasl(true);
}

int main(void)
{
	RUN(test_rsdp_xsdt);
	RUN(test_fadt);
	RUN(test_madt_1cpu);
	RUN(test_madt_4cpu);
	RUN(test_madt_x2apic);
	RUN(test_madt_max);
	RUN(test_dsdt);
	RUN(test_pci_dsdt);
	RUN(test_pci_dsdt_no64);
	RUN(test_no_pci);
	RUN(test_mcfg);
	RUN(test_errors);
	RUN(test_aml_encodings);
	RUN(test_aml_resources);
	RUN(test_aml_pkglen);
	RUN(test_iasl);
	return unit_report();
}
