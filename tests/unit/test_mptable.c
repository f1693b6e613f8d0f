/* Intel MP table: floating pointer, checksums, entries. */
#include <errno.h>
#include <stdbool.h>

#include "unit.h"

#include "lhyve/pci.h"
#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define RAM (256 * MiB)

/* Scan [start, start+len) on 16-byte boundaries like an OS does. */
static uint64_t scan_fps(struct guest_mem *gm, uint64_t start, uint64_t len)
{
	for (uint64_t a = start; a < start + len; a += 16) {
		uint8_t *p = gm_ptr(gm, a, 16);
		if (p && memcmp(p, "_MP_", 4) == 0 && p[8] == 1 && byte_sum(p, 16) == 0)
			return a;
	}
	return 0;
}

struct mp_info {
	unsigned ncpu, nbus, nioapic, nioint, nlint, bsp_count, npci_int;
	bool cpu_ok, bad;
	int isa_bus, pci_bus;   /* -1: none */
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	int irq_pin[16];        /* -1: no entry */
	uint16_t irq_flags[16];
	int pci_pin[32][4];     /* [slot][pin - 1]: I/O APIC pin, -1: no entry */
	uint16_t pci_flags[32][4];
	bool extint_lint0, nmi_lint1;
};

/* Build and parse; expect_pci: distinct (slot, pin) pairs in irqs. */
static void check_mp_irqs(unsigned ncpus, const struct mp_pci_irq *irqs, unsigned nirqs,
			  unsigned expect_pci, struct mp_info *out)
{
	struct guest_mem gm;
	struct mp_info m;

	memset(&m, 0, sizeof(m));
	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	CHECK_EQ(mptable_build(&gm, ncpus, irqs, nirqs), 0);
	/* Linux looks in the last KiB of base memory (639 KiB). */
	uint64_t fpa = scan_fps(&gm, 639 * 1024, 1024);
	CHECK_EQ(fpa, PLAT_EBDA);
	if (!fpa)
		goto out;
	uint8_t *fp = gm_ptr(&gm, fpa, 16);
	CHECK_EQ(fp[9], 4);
	CHECK_EQ(fp[11], 0); /* configuration table present */
	uint32_t cfga = get_le32(fp + 4);
	uint8_t *c = gm_ptr(&gm, cfga, 44);
	CHECK(c != NULL);
	if (!c)
		goto out;
	CHECK(memcmp(c, "PCMP", 4) == 0);
	uint16_t len = get_le16(c + 4);
	CHECK(cfga + len <= 0xA0000);
	CHECK_EQ(byte_sum(c, len), 0);
	CHECK_EQ(c[6], 4);
	CHECK_EQ(get_le32(c + 36), PLAT_LAPIC_BASE);
	CHECK_EQ(get_le16(c + 40), 0); /* no extended table */
	unsigned count = get_le16(c + 34);
	CHECK_EQ(count, ncpus + (expect_pci ? 2 : 1) + 1 + 15 + expect_pci + 2);

	m.cpu_ok = true;
	m.isa_bus = m.pci_bus = -1;
	for (int i = 0; i < 16; i++)
		m.irq_pin[i] = -1;
	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 4; j++)
			m.pci_pin[i][j] = -1;
	uint32_t o = 44;
	for (unsigned i = 0; i < count; i++) {
		uint8_t *e = c + o;
		if (o >= len) {
			m.bad = true;
			break;
		}
		switch (e[0]) {
		case 0:
			if (e[1] != m.ncpu || !(e[3] & 1))
				m.cpu_ok = false;
			if (e[3] & 2)
				m.bsp_count++;
			if ((e[3] & 2) && e[1] != 0)
				m.cpu_ok = false;
			m.ncpu++;
			o += 20;
			break;
		case 1:
			if (memcmp(e + 2, "ISA   ", 6) == 0 && m.isa_bus < 0)
				m.isa_bus = e[1];
			else if (memcmp(e + 2, "PCI   ", 6) == 0 && m.pci_bus < 0)
				m.pci_bus = e[1];
			else
				m.bad = true;
			m.nbus++;
			o += 8;
			break;
		case 2:
			m.ioapic_id = e[1];
			CHECK_EQ(e[3] & 1, 1);
			m.ioapic_addr = get_le32(e + 4);
			m.nioapic++;
			o += 8;
			break;
		case 3:
			CHECK_EQ(e[1], 0);      /* INT */
			CHECK_EQ(e[6], ncpus);  /* I/O APIC ID */
			if (m.pci_bus >= 0 && e[4] == m.pci_bus) {
				unsigned slot = e[5] >> 2, pin = e[5] & 3;
				CHECK(e[5] < 128);
				if (slot < 32) {
					CHECK_EQ(m.pci_pin[slot][pin], -1); /* no duplicates */
					m.pci_pin[slot][pin] = e[7];
					m.pci_flags[slot][pin] = get_le16(e + 2);
				}
				m.npci_int++;
			} else {
				CHECK_EQ(e[4], m.isa_bus);
				if (e[5] < 16) {
					m.irq_pin[e[5]] = e[7];
					m.irq_flags[e[5]] = get_le16(e + 2);
				}
			}
			m.nioint++;
			o += 8;
			break;
		case 4:
			CHECK_EQ(e[6], 0xFF);
			if (e[1] == 3 && e[7] == 0)
				m.extint_lint0 = true;
			if (e[1] == 1 && e[7] == 1)
				m.nmi_lint1 = true;
			m.nlint++;
			o += 8;
			break;
		default:
			m.bad = true;
			o = len;
			break;
		}
	}
	CHECK(!m.bad);
	CHECK_EQ(o, len);
	CHECK_EQ(m.ncpu, ncpus);
	CHECK(m.cpu_ok);
	CHECK_EQ(m.bsp_count, 1);
	CHECK_EQ(m.nbus, expect_pci ? 2 : 1);
	if (expect_pci) {
		CHECK_EQ(m.pci_bus, 0);
		CHECK_EQ(m.isa_bus, 1);
	} else {
		CHECK_EQ(m.pci_bus, -1);
		CHECK_EQ(m.isa_bus, 0);
	}
	CHECK_EQ(m.nioapic, 1);
	CHECK_EQ(m.ioapic_id, ncpus);
	CHECK_EQ(m.ioapic_addr, PLAT_IOAPIC_BASE);
	CHECK_EQ(m.nioint, 15 + expect_pci);
	CHECK_EQ(m.npci_int, expect_pci);
	CHECK_EQ(m.irq_pin[0], 2);
	CHECK_EQ(m.irq_pin[2], -1);
	for (int i = 1; i < 16; i++)
		if (i != 2)
			CHECK_EQ(m.irq_pin[i], i);
	CHECK_EQ(m.irq_flags[9], 0xD);
	CHECK_EQ(m.irq_flags[4], 0);
	CHECK_EQ(m.nlint, 2);
	CHECK(m.extint_lint0);
	CHECK(m.nmi_lint1);
out:
	if (out)
		*out = m;
	fake_gm_free(&gm);
}

static void check_mp(unsigned ncpus)
{
	check_mp_irqs(ncpus, NULL, 0, 0, NULL);
}

static void test_mp_1cpu(void) { check_mp(1); }
static void test_mp_4cpu(void) { check_mp(4); }
static void test_mp_40cpu(void) { check_mp(40); }

static void test_mp_pci(void)
{
	/* hostbridge has no INTx; two functions of slot 3 share INTA#. */
	const struct mp_pci_irq irqs[] = {
		{ 3, 1 }, { 3, 1 }, { 3, 2 }, { 4, 1 }, { 31, 4 }, { 0, 1 },
	};
	struct mp_info m;

	check_mp_irqs(4, irqs, ARRAY_SIZE(irqs), 5, &m);
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 1; pin <= 4; pin++) {
			bool want = false;
			for (unsigned i = 0; i < ARRAY_SIZE(irqs); i++)
				want |= irqs[i].slot == slot && irqs[i].pin == pin;
			if (!want) {
				CHECK_EQ(m.pci_pin[slot][pin - 1], -1);
				continue;
			}
			CHECK_EQ(m.pci_pin[slot][pin - 1], (int)pci_intx_gsi(slot, pin));
			CHECK_EQ(m.pci_flags[slot][pin - 1], 0xF); /* level, active low */
		}
	}
	/* The same routing the DSDT _PRT gives: 16 + ((slot + pin - 1) & 7). */
	CHECK_EQ(m.pci_pin[3][0], 19);
	CHECK_EQ(m.pci_pin[3][1], 20);
	CHECK_EQ(m.pci_pin[4][0], 20);
	CHECK_EQ(m.pci_pin[31][3], 18);
	CHECK_EQ(m.pci_pin[0][0], 16);
	/* ISA routing is unchanged. */
	CHECK_EQ(m.irq_pin[0], 2);
	CHECK_EQ(m.irq_flags[9], 0xD);

	/*
	 * The 1 KiB below 0xA0000 holds 16 + 44 + 20 * ncpus + 8 * (20 + PCI
	 * entries) bytes: 98 distinct PCI interrupts with one CPU, not 99.
	 */
	struct mp_pci_irq all[128];
	for (unsigned i = 0; i < 128; i++)
		all[i] = (struct mp_pci_irq){ (uint8_t)(i / 4), (uint8_t)(i % 4 + 1) };
	check_mp_irqs(1, all, 98, 98, &m);
	CHECK_EQ(m.pci_pin[24][1], (int)pci_intx_gsi(24, 2));
	struct guest_mem gm;
	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	CHECK_EQ(mptable_build(&gm, 1, all, 99), -ENOSPC);
	CHECK_EQ(mptable_build(&gm, 1, all, 128), -ENOSPC);
	/* Duplicates take no room: 98 distinct pairs listed twice still fit. */
	struct mp_pci_irq twice[196];
	for (unsigned i = 0; i < 196; i++)
		twice[i] = all[i % 98];
	CHECK_EQ(mptable_build(&gm, 1, twice, 196), 0);
	fake_gm_free(&gm);
}

static void test_mp_errors(void)
{
	struct guest_mem gm;

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	const struct mp_pci_irq one = { 3, 1 };
	const struct mp_pci_irq bad[] = { { 32, 1 }, { 0, 0 }, { 0, 5 } };

	CHECK_EQ(mptable_build(&gm, 0, NULL, 0), -EINVAL);
	CHECK_EQ(mptable_build(&gm, 41, NULL, 0), -ENOSPC);
	CHECK_EQ(mptable_build(&gm, 255, NULL, 0), -EINVAL);
	/* 40 CPUs fill the KiB; the PCI bus and an entry no longer fit. */
	CHECK_EQ(mptable_build(&gm, 40, &one, 1), -ENOSPC);
	CHECK_EQ(mptable_build(&gm, 1, NULL, 1), -EINVAL);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK_EQ(mptable_build(&gm, 1, &bad[i], 1), -EINVAL);
	CHECK_EQ(scan_fps(&gm, 0x9F000, 0x1000), 0); /* nothing written */
	fake_gm_free(&gm);

	CHECK_EQ(fake_gm_init(&gm, 0x80000, 0), 0);  /* no RAM at the EBDA */
	CHECK_EQ(mptable_build(&gm, 1, NULL, 0), -EFAULT);
	fake_gm_free(&gm);
}

int main(void)
{
	RUN(test_mp_1cpu);
	RUN(test_mp_4cpu);
	RUN(test_mp_40cpu);
	RUN(test_mp_pci);
	RUN(test_mp_errors);
	return unit_report();
}
