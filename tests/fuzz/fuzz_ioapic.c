/*
 * Userspace I/O APIC (src/hw/ioapic.c): a sequence of actions, each an op
 * byte then its operands:
 *   op % 6 == 0  register write: IOREGSEL <- u8, IOWIN <- u32 (32-bit accesses)
 *   op % 6 == 1  register read: IOREGSEL <- u8, read IOWIN
 *   op % 6 == 2  raw MMIO: offset u16 (% 0x1001, or u64 if op & 0x80), size from
 *                fz_size, write if op & 0x40, value u64
 *   op % 6 == 3  input pin (u8 % 32: also out-of-range pins) to level op & 0x40
 *   op % 6 == 4  EOI: vector u8, or the last vector sent if op & 0x80
 *   op % 6 == 5  ioapic_reset
 * Every message and route is checked for the documented format (never an
 * ExtINT or reserved delivery mode sent, SMI/NMI/INIT never level), and at
 * the end every entry for the read-only and reserved bits.
 */
#include "fuzz.h"
#include "lhyve/ioapic.h"

struct fuzz_ioapic_state {
	unsigned msgs, routes;
	uint8_t last_vector;
};

/* Message format of lhyve/ioapic.h; `sent`: actually delivered. */
static void fuzz_ioapic_check(uint64_t addr, uint32_t data, bool sent)
{
	unsigned dm = (data >> 8) & 7;

	if ((addr & ~0xFF004ULL) != 0xFEE00000ULL)
		abort();
	if ((data & ~0xC7FFU) || !(data & (1U << 14)))
		abort();
	if ((dm == IOAPIC_DM_SMI || dm == IOAPIC_DM_NMI || dm == IOAPIC_DM_INIT) &&
	    (data & (1U << 15)))
		abort();
	if (sent && (dm == 3 || dm == 6 || dm == IOAPIC_DM_EXTINT))
		abort();
}

static void fuzz_ioapic_msi(void *o, uint64_t addr, uint32_t data)
{
	struct fuzz_ioapic_state *s = o;

	fuzz_ioapic_check(addr, data, true);
	s->msgs++;
	s->last_vector = (uint8_t)data;
}

static void fuzz_ioapic_route(void *o, unsigned pin, bool valid, uint64_t addr, uint32_t data)
{
	struct fuzz_ioapic_state *s = o;

	if (pin >= IOAPIC_PINS)
		abort();
	fuzz_ioapic_check(addr, data, valid);
	s->routes++;
}

static const struct ioapic_ops fuzz_ioapic_ops = { fuzz_ioapic_msi, fuzz_ioapic_route };

static uint32_t fuzz_ioapic_reg(struct ioapic *io, unsigned reg, bool write, uint32_t val)
{
	uint64_t v = reg;

	ioapic_mmio(io, IOAPIC_REGSEL, 4, true, &v);
	v = write ? val : ~0ULL;
	ioapic_mmio(io, IOAPIC_WINDOW, 4, write, &v);
	if (!write && v > 0xFFFFFFFFULL)
		abort();
	return (uint32_t)v;
}

FUZZ_TARGET(ioapic)
{
	struct fuzz_ioapic_state st = { 0 };
	struct ioapic *io = ioapic_new(&fuzz_ioapic_ops, &st, 0);
	struct fz in;

	if (!io || st.routes != IOAPIC_PINS)
		abort();
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		uint64_t v, off;
		unsigned sz;

		switch (op % 6) {
		case 0: {
			unsigned reg = fz_u8(&in);
			fuzz_ioapic_reg(io, reg, true, fz_u32(&in));
			break;
		}
		case 1:
			fuzz_ioapic_reg(io, fz_u8(&in), false, 0);
			break;
		case 2:
			off = (op & 0x80) ? fz_u64(&in) : fz_u16(&in) % 0x1001;
			sz = fz_size(&in);
			v = fz_u64(&in);
			ioapic_mmio(io, off, sz, op & 0x40, &v);
			if (!(op & 0x40) && (sz != 4 || (off != 0 && off != 0x10)) && v != 0)
				abort(); /* not IOREGSEL/IOWIN: reads 0 */
			break;
		case 3:
			ioapic_set_irq(io, fz_u8(&in) % 32, op & 0x40);
			break;
		case 4:
			ioapic_eoi(io, (op & 0x80) ? st.last_vector : fz_u8(&in));
			break;
		case 5:
			ioapic_reset(io);
			break;
		}
	}
	/* Read-only and reserved bits never set by a guest. */
	if (fuzz_ioapic_reg(io, IOAPIC_REG_VER, false, 0) != 0x00170011)
		abort();
	if (fuzz_ioapic_reg(io, IOAPIC_REG_ID, false, 0) & ~0x0F000000U)
		abort();
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint32_t lo = fuzz_ioapic_reg(io, IOAPIC_REG_REDTBL + 2 * pin, false, 0);
		uint32_t hi = fuzz_ioapic_reg(io, IOAPIC_REG_REDTBL + 2 * pin + 1, false, 0);
		if ((lo & ~0x1EFFFU) || (hi & ~0xFF000000U) ||
		    ((lo & IOAPIC_RTE_REMOTE_IRR) && !(lo & IOAPIC_RTE_LEVEL)))
			abort();
	}
	ioapic_free(io);
	return 0;
}
