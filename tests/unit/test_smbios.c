/* SMBIOS 2.8: entry point, checksums, structure walk, strings, sizes. */
#include <errno.h>
#include <stdbool.h>

#include "unit.h"

#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define RAM (256 * MiB)

struct smb_struct {
	const uint8_t *p;       /* formatted area */
	const char *str[16];    /* 1-based strings (str[0] unused) */
	unsigned nstr;
	size_t total;           /* formatted + strings */
};

struct smb {
	struct smb_struct s[64];
	unsigned n;
	bool bad;
};

static uint64_t find_ep(struct guest_mem *gm)
{
	for (uint64_t a = 0xF0000; a < 0x100000; a += 16) {
		uint8_t *p = gm_ptr(gm, a, 0x1F);
		if (p && memcmp(p, "_SM_", 4) == 0 && byte_sum(p, p[5]) == 0)
			return a;
	}
	return 0;
}

static void walk(const uint8_t *t, size_t len, struct smb *m)
{
	size_t o = 0;
	memset(m, 0, sizeof(*m));
	while (o < len) {
		if (m->n == ARRAY_SIZE(m->s) || o + 4 > len || t[o + 1] < 4 ||
		    o + t[o + 1] > len) {
			m->bad = true;
			return;
		}
		struct smb_struct *s = &m->s[m->n++];
		s->p = t + o;
		size_t q = o + t[o + 1];
		if (q + 2 > len) {
			m->bad = true;
			return;
		}
		if (t[q] == 0 && t[q + 1] == 0) {
			q += 2;
		} else {
			while (q < len && t[q]) {
				if (s->nstr < 15)
					s->str[++s->nstr] = (const char *)t + q;
				while (q < len && t[q])
					q++;
				q++;
			}
			if (q >= len) {
				m->bad = true;
				return;
			}
			q++; /* terminating NUL */
		}
		s->total = q - o;
		o = q;
	}
}

static const char *sstr(const struct smb_struct *s, unsigned off)
{
	unsigned idx = s->p[off];
	if (idx == 0 || idx > s->nstr)
		return "";
	return s->str[idx];
}

static struct smb_struct *find_type(struct smb *m, uint8_t type, unsigned nth)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->s[i].p[0] == type && nth-- == 0)
			return &m->s[i];
	return NULL;
}

/* Build, verify the entry point and walk the structures. */
static bool build(struct guest_mem *gm, const struct smbios_params *p, struct smb *m)
{
	CHECK_EQ(smbios_build(gm, p), 0);
	uint64_t epa = find_ep(gm);
	CHECK_EQ(epa, PLAT_SMBIOS_BASE);
	if (!epa)
		return false;
	uint8_t *ep = gm_ptr(gm, epa, 0x1F);
	CHECK_EQ(ep[5], 0x1F);
	CHECK_EQ(ep[6], 2);
	CHECK_EQ(ep[7], 8);
	CHECK_EQ(byte_sum(ep, 0x1F), 0);
	CHECK(memcmp(ep + 0x10, "_DMI_", 5) == 0);
	CHECK_EQ(byte_sum(ep + 0x10, 15), 0);
	CHECK_EQ(ep[0x1E], 0x28);
	uint16_t tlen = get_le16(ep + 0x16);
	uint32_t taddr = get_le32(ep + 0x18);
	CHECK(taddr >= epa + 0x1F);
	CHECK(taddr + tlen <= PLAT_SMBIOS_END);
	uint8_t *t = gm_ptr(gm, taddr, tlen);
	CHECK(t != NULL);
	if (!t)
		return false;
	walk(t, tlen, m);
	CHECK(!m->bad);
	CHECK_EQ(m->n, get_le16(ep + 0x1C));
	size_t maxs = 0;
	for (unsigned i = 0; i < m->n; i++) {
		maxs = MAX(maxs, m->s[i].total);
		/* Handles unique. */
		for (unsigned j = 0; j < i; j++)
			CHECK(get_le16(m->s[i].p + 2) != get_le16(m->s[j].p + 2));
	}
	CHECK_EQ(get_le16(ep + 8), maxs);
	CHECK(m->n > 0 && m->s[m->n - 1].p[0] == 127);
	return !m->bad;
}

static void test_defaults(void)
{
	struct guest_mem gm;
	struct smb m;
	struct smbios_params p = { .ncpus = 2, .ram_size = RAM };
	for (int i = 0; i < 16; i++)
		p.uuid[i] = (uint8_t)(0xA0 + i);

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	if (!build(&gm, &p, &m))
		goto out;
	const uint8_t want_types[] = { 0, 1, 2, 3, 4, 4, 16, 17, 19, 32, 127 };
	CHECK_EQ(m.n, sizeof(want_types));
	for (unsigned i = 0; i < m.n && i < sizeof(want_types); i++)
		CHECK_EQ(m.s[i].p[0], want_types[i]);

	struct smb_struct *t0 = find_type(&m, 0, 0);
	CHECK(t0 != NULL);
	if (t0) {
		CHECK_EQ(t0->p[1], 0x18);
		CHECK_STR(sstr(t0, 4), "BHYVE");
		CHECK_STR(sstr(t0, 5), "lhyve-1.0");
		CHECK_STR(sstr(t0, 8), "11/21/2026");
		CHECK_EQ(get_le64(t0->p + 0x0A), 1u << 3);
		CHECK(t0->p[0x12] & 0x01);  /* ACPI */
		CHECK(t0->p[0x13] & 0x10);  /* virtual machine */
	}
	struct smb_struct *t1 = find_type(&m, 1, 0);
	CHECK(t1 != NULL);
	if (t1) {
		CHECK_EQ(t1->p[1], 0x1B);
		CHECK(memcmp(t1->p + 8, p.uuid, 16) == 0);
		CHECK_STR(sstr(t1, 4), "lhyve");
		CHECK_STR(sstr(t1, 5), "BHYVE");
		CHECK(sstr(t1, 0x1A)[0] != 0); /* family */
		CHECK(sstr(t1, 0x19)[0] != 0); /* sku */
	}
	struct smb_struct *t2 = find_type(&m, 2, 0), *t3 = find_type(&m, 3, 0);
	CHECK(t2 && t3);
	if (t2 && t3) {
		CHECK_EQ(get_le16(t2->p + 0x0B), get_le16(t3->p + 2));
		CHECK_EQ(t3->p[5], 0x01);   /* chassis type other */
	}
	struct smb_struct *c0 = find_type(&m, 4, 0), *c1 = find_type(&m, 4, 1);
	CHECK(c0 && c1);
	if (c0 && c1) {
		CHECK_STR(sstr(c0, 4), "CPU #0");
		CHECK_STR(sstr(c1, 4), "CPU #1");
		CHECK_EQ(c0->p[0x18], 0x41);
	}
	struct smb_struct *t16 = find_type(&m, 16, 0), *t17 = find_type(&m, 17, 0);
	struct smb_struct *t19 = find_type(&m, 19, 0);
	CHECK(t16 && t17 && t19);
	if (t16 && t17 && t19) {
		uint16_t h = get_le16(t16->p + 2);
		CHECK_EQ(get_le32(t16->p + 7), RAM / KiB);
		CHECK_EQ(get_le16(t17->p + 4), h);
		CHECK_EQ(get_le16(t17->p + 0x0C), 256);   /* MiB */
		CHECK_EQ(get_le16(t19->p + 0x0C), h);
		CHECK_EQ(get_le32(t19->p + 4), 0);
		CHECK_EQ(get_le32(t19->p + 8), RAM / KiB - 1);
	}
	CHECK(find_type(&m, 19, 1) == NULL);
	CHECK(find_type(&m, 32, 0) != NULL);
out:
	fake_gm_free(&gm);
}

static void test_custom_strings(void)
{
	struct guest_mem gm;
	struct smb m;
	struct smbios_params p = {
		.ncpus = 1, .ram_size = RAM,
		.bios_vendor = "ACME BIOS", .system_manufacturer = "ACME",
		.system_product_name = "Roadrunner", .system_serial_number = "",
		.board_asset_tag = "tag-42", .chassis_sku = "sku-9",
	};

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	if (!build(&gm, &p, &m))
		goto out;
	struct smb_struct *t0 = find_type(&m, 0, 0), *t1 = find_type(&m, 1, 0);
	struct smb_struct *t2 = find_type(&m, 2, 0), *t3 = find_type(&m, 3, 0);
	CHECK(t0 && t1 && t2 && t3);
	if (t0 && t1 && t2 && t3) {
		CHECK_STR(sstr(t0, 4), "ACME BIOS");
		CHECK_STR(sstr(t1, 4), "ACME");
		CHECK_STR(sstr(t1, 5), "Roadrunner");
		CHECK_EQ(t1->p[7], 0);      /* empty string: no string */
		CHECK_STR(sstr(t2, 8), "tag-42");
		CHECK_STR(sstr(t3, 0x15), "sku-9");
	}
out:
	fake_gm_free(&gm);
}

/* 5 GiB: two type 19 ranges; 64 GiB: extended type 17 size. */
static void test_memory_sizes(void)
{
	struct guest_mem gm;
	struct smb m;
	struct smbios_params p = { .ncpus = 1, .ram_size = 5 * GiB };

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	if (build(&gm, &p, &m)) {
		struct smb_struct *a = find_type(&m, 19, 0), *b = find_type(&m, 19, 1);
		struct smb_struct *t17 = find_type(&m, 17, 0);
		CHECK(a && b && t17);
		if (a && b && t17) {
			CHECK_EQ(get_le32(a->p + 4), 0);
			CHECK_EQ(get_le32(a->p + 8), 3 * GiB / KiB - 1);
			CHECK_EQ(get_le32(b->p + 4), 4 * GiB / KiB);
			CHECK_EQ(get_le32(b->p + 8), 6 * GiB / KiB - 1);
			CHECK_EQ(get_le16(t17->p + 0x0C), 5 * 1024);
		}
	}
	p.ram_size = 64 * GiB;
	if (build(&gm, &p, &m)) {
		struct smb_struct *t17 = find_type(&m, 17, 0);
		struct smb_struct *t16 = find_type(&m, 16, 0);
		CHECK(t17 && t16);
		if (t17 && t16) {
			CHECK_EQ(get_le16(t17->p + 0x0C), 0x7FFF);
			CHECK_EQ(get_le32(t17->p + 0x1C), 64 * 1024);
			CHECK_EQ(get_le32(t16->p + 7), 64 * GiB / KiB);
		}
	}
	p.ram_size = 8 * 1024 * GiB; /* 8 TiB: extended capacity and addresses */
	if (build(&gm, &p, &m)) {
		struct smb_struct *t16 = find_type(&m, 16, 0);
		struct smb_struct *b = find_type(&m, 19, 1);
		CHECK(t16 && b);
		if (t16 && b) {
			CHECK_EQ(get_le32(t16->p + 7), 0x80000000u);
			CHECK_EQ(get_le64(t16->p + 0x0F), 8 * 1024 * GiB);
			CHECK_EQ(get_le32(b->p + 4), 0xFFFFFFFFu);
			CHECK_EQ(get_le64(b->p + 0x0F), 4 * GiB);
			CHECK_EQ(get_le64(b->p + 0x17), 8 * 1024 * GiB + GiB - 1);
		}
	}
	fake_gm_free(&gm);
}

static void test_errors(void)
{
	struct guest_mem gm;
	struct smbios_params p = { .ncpus = 0, .ram_size = RAM };

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	CHECK_EQ(smbios_build(&gm, &p), -EINVAL);
	p.ncpus = 1;
	p.ram_size = 0;
	CHECK_EQ(smbios_build(&gm, &p), -EINVAL);
	p.ram_size = RAM;
	p.ncpus = 1025;
	CHECK_EQ(smbios_build(&gm, &p), -EINVAL);
	/* Strings too long for the region. */
	p.ncpus = 1;
	static char big[70000];
	memset(big, 'x', sizeof(big) - 1);
	p.bios_vendor = big;
	CHECK_EQ(smbios_build(&gm, &p), -ENOSPC);
	CHECK_EQ(find_ep(&gm), 0); /* nothing written */
	fake_gm_free(&gm);

	/* The largest CPU count still fits. */
	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	p.bios_vendor = NULL;
	p.ncpus = 1024;
	CHECK_EQ(smbios_build(&gm, &p), 0);
	CHECK_EQ(find_ep(&gm), PLAT_SMBIOS_BASE);
	fake_gm_free(&gm);

	CHECK_EQ(fake_gm_init(&gm, 0x80000, 0), 0);
	p.bios_vendor = NULL;
	CHECK_EQ(smbios_build(&gm, &p), -EFAULT);
	fake_gm_free(&gm);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_custom_strings);
	RUN(test_memory_sizes);
	RUN(test_errors);
	return unit_report();
}
