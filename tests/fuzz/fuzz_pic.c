/*
 * i8259A PIC pair + ELCR (src/hw/pic.c): port accesses to the master
 * (0x20), slave (0xA0) and ELCR (0x4D0), input lines and INTA cycles.
 * Input: records of one op byte and (for accesses) a value:
 *   op & 7 = 0/1/2: byte access to master/slave/ELCR, offset op bit 3,
 *                   write if op bit 4, value byte follows (writes and reads)
 *          3: any access: target (op >> 3) % 3, offset byte, size (fz_size),
 *             write if op bit 7, 8 value bytes
 *          4: pic_set_irq(irq (op >> 3) & 31 (16..31 are ignored), level:
 *             bit 0 of the next byte)
 *          5: pic_intack, 6: pic_intr, 7: pulse irq (op >> 3) & 15
 * Checked: the INTR callback only reports changes and matches pic_intr(),
 * pic_intack() returns -1 exactly when INTR was low, else a byte vector.
 */
#include "fuzz.h"
#include "lhyve/pic.h"

struct fz_pic_cpu {
	bool level;
	unsigned calls;
};

static void fz_pic_intr(void *opaque, bool level)
{
	struct fz_pic_cpu *c = opaque;

	if (c->level == level)
		abort(); /* a call without a change */
	c->level = level;
	c->calls++;
}

static const struct pic_ops fz_pic_ops = { fz_pic_intr };

static int fz_pic_io(struct pic *p, unsigned target, uint64_t off, unsigned size,
		     bool write, uint64_t *v)
{
	switch (target) {
	case 0:
		return pic_master_io(p, off, size, write, v);
	case 1:
		return pic_slave_io(p, off, size, write, v);
	default:
		return pic_elcr_io(p, off, size, write, v);
	}
}

FUZZ_TARGET(pic)
{
	struct fz_pic_cpu cpu = { false, 0 };
	struct pic *p = pic_new(&fz_pic_ops, &cpu);
	struct fz in;

	if (!p)
		abort();
	fz_init(&in, data, size);
	while (fz_left(&in)) {
		uint8_t op = fz_u8(&in);
		uint64_t v;
		unsigned sz;
		uint64_t off;
		bool before;
		int vec;

		switch (op & 7) {
		case 0: case 1: case 2:
			v = fz_u8(&in);
			if (fz_pic_io(p, op & 3, (op >> 3) & 1, 1, op & 0x10, &v) != 0)
				abort();
			if (!(op & 0x10) && v > 0xFF)
				abort();
			break;
		case 3:
			off = fz_u8(&in);
			if (off >= 0xF0)
				off = ~0ULL - (off & 0xF);
			sz = fz_size(&in);
			v = fz_u64(&in);
			if (fz_pic_io(p, (op >> 3) % 3, off, sz, op & 0x80, &v) != 0)
				abort();
			break;
		case 4:
			pic_set_irq(p, (op >> 3) & 31, fz_u8(&in) & 1);
			break;
		case 5:
			before = pic_intr(p);
			vec = pic_intack(p);
			if (before ? (vec < 0 || vec > 0xFF) : vec != -1)
				abort();
			break;
		case 6:
			if (pic_intr(p) != cpu.level)
				abort();
			break;
		case 7:
			pic_set_irq(p, (op >> 3) & 15, true);
			pic_set_irq(p, (op >> 3) & 15, false);
			break;
		}
		if (pic_intr(p) != cpu.level)
			abort();
	}
	pic_free(p);
	return 0;
}
