/* Intel MP table: floating pointer, checksums, entries. */
#include <errno.h>
#include <stdbool.h>

#include "unit.h"

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
	unsigned ncpu, nbus, nioapic, nioint, nlint, bsp_count;
	bool cpu_ok, bad;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	int irq_pin[16];        /* -1: no entry */
	uint16_t irq_flags[16];
	bool extint_lint0, nmi_lint1;
};

static void check_mp(unsigned ncpus)
{
	struct guest_mem gm;
	struct mp_info m;

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	CHECK_EQ(mptable_build(&gm, ncpus), 0);
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
	CHECK_EQ(count, ncpus + 1 + 1 + 15 + 2);

	memset(&m, 0, sizeof(m));
	m.cpu_ok = true;
	for (int i = 0; i < 16; i++)
		m.irq_pin[i] = -1;
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
			CHECK_EQ(e[1], 0);
			CHECK(memcmp(e + 2, "ISA   ", 6) == 0);
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
			CHECK_EQ(e[4], 0);      /* ISA bus */
			CHECK_EQ(e[6], ncpus);  /* I/O APIC ID */
			if (e[5] < 16) {
				m.irq_pin[e[5]] = e[7];
				m.irq_flags[e[5]] = get_le16(e + 2);
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
	CHECK_EQ(m.nbus, 1);
	CHECK_EQ(m.nioapic, 1);
	CHECK_EQ(m.ioapic_id, ncpus);
	CHECK_EQ(m.ioapic_addr, PLAT_IOAPIC_BASE);
	CHECK_EQ(m.nioint, 15);
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
	fake_gm_free(&gm);
}

static void test_mp_1cpu(void) { check_mp(1); }
static void test_mp_4cpu(void) { check_mp(4); }
static void test_mp_40cpu(void) { check_mp(40); }

static void test_mp_errors(void)
{
	struct guest_mem gm;

	CHECK_EQ(fake_gm_init(&gm, RAM, 0), 0);
	CHECK_EQ(mptable_build(&gm, 0), -EINVAL);
	CHECK_EQ(mptable_build(&gm, 41), -ENOSPC);
	CHECK_EQ(mptable_build(&gm, 255), -EINVAL);
	CHECK_EQ(scan_fps(&gm, 0x9F000, 0x1000), 0); /* nothing written */
	fake_gm_free(&gm);

	CHECK_EQ(fake_gm_init(&gm, 0x80000, 0), 0);  /* no RAM at the EBDA */
	CHECK_EQ(mptable_build(&gm, 1), -EFAULT);
	fake_gm_free(&gm);
}

int main(void)
{
	RUN(test_mp_1cpu);
	RUN(test_mp_4cpu);
	RUN(test_mp_40cpu);
	RUN(test_mp_errors);
	return unit_report();
}
