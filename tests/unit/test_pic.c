/* i8259A PIC pair + ELCR: init, IMR, priority, cascade, EOIs, AEOI, rotation, poll, ELCR, INTR. */
#include <stdbool.h>

#include "unit.h"
#include "lhyve/pic.h"

#define MB 0x20 /* master vector base used by most tests (Linux's) */
#define SB 0x28

struct fake_cpu {
	unsigned calls, rises, falls;
	bool level;
	bool bad; /* a call that did not change the level */
};

static void fake_intr(void *opaque, bool level)
{
	struct fake_cpu *f = opaque;

	if (f->calls && level == f->level)
		f->bad = true;
	if (!f->calls && !level)
		f->bad = true; /* the output starts low */
	f->calls++;
	f->level = level;
	if (level)
		f->rises++;
	else
		f->falls++;
}

static const struct pic_ops fake_ops = { fake_intr };

static void wr(struct pic *p, unsigned port, uint8_t val)
{
	uint64_t v = val;
	int (*fn)(void *, uint64_t, unsigned, bool, uint64_t *) =
		port >= 0x4D0 ? pic_elcr_io : port >= 0xA0 ? pic_slave_io : pic_master_io;
	CHECK_EQ(fn(p, port & 1, 1, true, &v), 0);
}

static uint8_t rd(struct pic *p, unsigned port)
{
	uint64_t v = ~0ULL;
	int (*fn)(void *, uint64_t, unsigned, bool, uint64_t *) =
		port >= 0x4D0 ? pic_elcr_io : port >= 0xA0 ? pic_slave_io : pic_master_io;
	CHECK_EQ(fn(p, port & 1, 1, false, &v), 0);
	CHECK(v <= 0xFF);
	return (uint8_t)v;
}

static uint8_t irr(struct pic *p, unsigned cmd)
{
	wr(p, cmd, 0x0A);
	return rd(p, cmd);
}

static uint8_t isr(struct pic *p, unsigned cmd)
{
	uint8_t v;
	wr(p, cmd, 0x0B);
	v = rd(p, cmd);
	wr(p, cmd, 0x0A);
	return v;
}

/* Linux's init_8259A: cascade on IR2, ICW4 8086 (| icw4 extra bits), all unmasked. */
static void init_pair(struct pic *p, uint8_t micw4, uint8_t sicw4)
{
	wr(p, 0x20, 0x11);
	wr(p, 0x21, MB);
	wr(p, 0x21, 0x04);
	wr(p, 0x21, micw4);
	wr(p, 0xA0, 0x11);
	wr(p, 0xA1, SB);
	wr(p, 0xA1, 0x02);
	wr(p, 0xA1, sicw4);
	wr(p, 0x21, 0x00);
	wr(p, 0xA1, 0x00);
}

static struct pic *mk(struct fake_cpu *f, uint8_t micw4, uint8_t sicw4)
{
	struct pic *p;

	memset(f, 0, sizeof(*f));
	p = pic_new(&fake_ops, f);
	CHECK(p != NULL);
	init_pair(p, micw4, sicw4);
	return p;
}

static void pulse(struct pic *p, unsigned irq)
{
	pic_set_irq(p, irq, true);
	pic_set_irq(p, irq, false);
}

static void test_reset(void)
{
	struct fake_cpu f = { 0 };
	struct pic *p = pic_new(&fake_ops, &f);

	CHECK_EQ(rd(p, 0x21), 0xFF);
	CHECK_EQ(rd(p, 0xA1), 0xFF);
	CHECK_EQ(rd(p, 0x4D0), 0);
	CHECK_EQ(rd(p, 0x4D1), 0);
	for (unsigned i = 0; i < 16; i++)
		pic_set_irq(p, i, true);
	CHECK(!pic_intr(p));
	CHECK_EQ(pic_intack(p), -1);
	CHECK_EQ(f.calls, 0);
	CHECK_EQ(irr(p, 0x20), 0xFB); /* latched; no IR2: the slave is masked */
	CHECK_EQ(irr(p, 0xA0), 0xFF);
	/* Unmask IRQ 0 with the reset (BIOS) vector base 0x08. */
	wr(p, 0x21, 0xFE);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), 0x08);
	/* And IRQ 8 through the slave at 0x70. */
	wr(p, 0x20, 0x20);
	wr(p, 0x21, 0xFB);
	wr(p, 0xA1, 0xFE);
	CHECK_EQ(pic_intack(p), 0x70);
	CHECK(!f.bad);
	pic_free(p);
	pic_free(NULL);
	/* NULL ops: polled only. */
	p = pic_new(NULL, NULL);
	init_pair(p, 0x01, 0x01);
	pulse(p, 4);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), MB + 4);
	pic_free(p);
}

static void test_init(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	/* ICW1 clears the IMR; ICW2 bits 2-0 ignored. */
	wr(p, 0x21, 0xFF);
	wr(p, 0x20, 0x11);
	CHECK_EQ(rd(p, 0x21), 0x00);
	wr(p, 0x21, 0x47);
	wr(p, 0x21, 0x04);
	wr(p, 0x21, 0x01);
	wr(p, 0x21, 0xF0); /* OCW1 now */
	CHECK_EQ(rd(p, 0x21), 0xF0);
	pulse(p, 3);
	CHECK_EQ(pic_intack(p), 0x43);
	wr(p, 0x20, 0x20);

	/* ICW1 without ICW4, cascade: ICW2, ICW3, then OCW1. */
	wr(p, 0x20, 0x10);
	wr(p, 0x21, 0x50);
	wr(p, 0x21, 0x04);
	wr(p, 0x21, 0x00);
	CHECK_EQ(rd(p, 0x21), 0x00);
	pulse(p, 1);
	CHECK_EQ(pic_intack(p), 0x51);
	wr(p, 0x20, 0x20);
	pulse(p, 9);
	CHECK_EQ(pic_intack(p), SB + 1);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);
	CHECK_EQ(isr(p, 0x20), 0);

	/* Single mode, ICW4: no ICW3; slave requests arrive as master IR2. */
	wr(p, 0x20, 0x13);
	wr(p, 0x21, 0x60);
	wr(p, 0x21, 0x01); /* ICW4 */
	wr(p, 0x21, 0x00);
	CHECK_EQ(rd(p, 0x21), 0x00);
	pulse(p, 10);
	CHECK_EQ(pic_intack(p), 0x62);
	CHECK_EQ(isr(p, 0xA0), 0); /* the slave saw no INTA */
	CHECK_EQ(isr(p, 0x20), 0x04);
	wr(p, 0x20, 0x20);

	/* Single mode without ICW4: the byte after ICW2 is the IMR. */
	wr(p, 0x20, 0x12);
	wr(p, 0x21, 0x68);
	wr(p, 0x21, 0xAA);
	CHECK_EQ(rd(p, 0x21), 0xAA);

	/* Cascade but master ICW3 without IR2: master supplies base | 2. */
	wr(p, 0x20, 0x11);
	wr(p, 0x21, MB);
	wr(p, 0x21, 0x08);
	wr(p, 0x21, 0x01);
	wr(p, 0x21, 0x00);
	wr(p, 0xA0, 0x20); /* slave EOI for IRQ 10 above */
	pulse(p, 11);
	CHECK_EQ(pic_intack(p), MB + 2);

	/* Re-init clears ISR and IRR, and an input already high needs a new edge. */
	wr(p, 0xA1, 0xFF); /* IRQ 11 is still pending in the slave */
	wr(p, 0x21, 0x00);
	pic_set_irq(p, 5, true);
	wr(p, 0x20, 0x11);
	wr(p, 0x21, MB);
	wr(p, 0x21, 0x04);
	wr(p, 0x21, 0x01);
	CHECK_EQ(isr(p, 0x20), 0);
	CHECK_EQ(irr(p, 0x20) & 0x20, 0);
	CHECK(!pic_intr(p));
	pic_set_irq(p, 5, true);
	CHECK(!pic_intr(p));
	pic_set_irq(p, 5, false);
	pic_set_irq(p, 5, true);
	CHECK_EQ(pic_intack(p), MB + 5);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_imr(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	wr(p, 0x21, 0x02);
	pulse(p, 1);
	CHECK(!pic_intr(p));
	CHECK_EQ(irr(p, 0x20), 0x02); /* latched while masked */
	wr(p, 0x21, 0x00);
	CHECK(pic_intr(p));
	/* Masking again withdraws the request. */
	wr(p, 0x21, 0x02);
	CHECK(!pic_intr(p));
	CHECK_EQ(pic_intack(p), -1);
	wr(p, 0x21, 0x00);
	CHECK_EQ(pic_intack(p), MB + 1);
	/* Masking the cascade on the master hides the slave. */
	wr(p, 0x20, 0x20);
	wr(p, 0x21, 0x04);
	pulse(p, 12);
	CHECK(!pic_intr(p));
	wr(p, 0x21, 0x00);
	CHECK_EQ(pic_intack(p), SB + 4);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_priority_nesting(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	pulse(p, 3);
	pulse(p, 1);
	pulse(p, 7);
	CHECK_EQ(pic_intack(p), MB + 1);
	CHECK_EQ(isr(p, 0x20), 0x02);
	CHECK(!pic_intr(p)); /* 3 and 7 are lower than 1 in service */
	pulse(p, 0);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), MB + 0);
	CHECK_EQ(isr(p, 0x20), 0x03);
	wr(p, 0x20, 0x20); /* non-specific EOI: the highest, 0 */
	CHECK_EQ(isr(p, 0x20), 0x02);
	CHECK(!pic_intr(p));
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 3);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 7);
	wr(p, 0x20, 0x20);
	CHECK_EQ(isr(p, 0x20), 0);
	CHECK_EQ(pic_intack(p), -1);
	/* A level in service blocks itself. */
	pulse(p, 4);
	CHECK_EQ(pic_intack(p), MB + 4);
	pulse(p, 4);
	CHECK(!pic_intr(p));
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 4);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_cascade(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	pulse(p, 12);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), SB + 4);
	CHECK_EQ(isr(p, 0x20), 0x04);
	CHECK_EQ(isr(p, 0xA0), 0x10);
	CHECK_EQ(irr(p, 0x20), 0);
	/* Master IRQ 1 outranks the cascade; IRQ 3 waits. */
	pulse(p, 3);
	CHECK(!pic_intr(p));
	pulse(p, 1);
	CHECK_EQ(pic_intack(p), MB + 1);
	wr(p, 0x20, 0x20);
	/* A higher slave request (IRQ 8) is held by master IS2 (no SFNM). */
	pulse(p, 8);
	CHECK_EQ(irr(p, 0xA0), 0x01);
	CHECK(!pic_intr(p));
	wr(p, 0xA0, 0x20);
	CHECK(!pic_intr(p));
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), SB + 0);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 3);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), -1);
	/* Slave priority: 9 before 14. */
	pulse(p, 14);
	pulse(p, 9);
	CHECK_EQ(pic_intack(p), SB + 1);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), SB + 6);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);
	CHECK(!f.bad);
	pic_free(p);

	/* Special fully nested mode on the master. */
	p = mk(&f, 0x11, 0x01);
	pulse(p, 12);
	CHECK_EQ(pic_intack(p), SB + 4);
	pulse(p, 13); /* lower than 12: the slave holds it */
	CHECK(!pic_intr(p));
	pulse(p, 8);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), SB + 0);
	CHECK_EQ(isr(p, 0xA0), 0x11);
	pulse(p, 3); /* lower than the cascade: held */
	CHECK(!pic_intr(p));
	wr(p, 0xA0, 0x20);
	CHECK_EQ(isr(p, 0xA0), 0x10);
	wr(p, 0xA0, 0x20);
	CHECK_EQ(isr(p, 0xA0), 0x00);
	CHECK(pic_intr(p)); /* SFNM: the slave's 13 passes master IS2 */
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), SB + 5);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 3);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_eoi_kinds(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	pulse(p, 6);
	CHECK_EQ(pic_intack(p), MB + 6);
	pulse(p, 5);
	CHECK_EQ(pic_intack(p), MB + 5);
	pulse(p, 1);
	CHECK_EQ(pic_intack(p), MB + 1);
	CHECK_EQ(isr(p, 0x20), 0x62);
	wr(p, 0x20, 0x65); /* specific EOI 5 */
	CHECK_EQ(isr(p, 0x20), 0x42);
	wr(p, 0x20, 0x63); /* specific EOI of a level not in service */
	CHECK_EQ(isr(p, 0x20), 0x42);
	wr(p, 0x20, 0x40); /* no operation */
	CHECK_EQ(isr(p, 0x20), 0x42);
	wr(p, 0x20, 0x20);
	CHECK_EQ(isr(p, 0x20), 0x40);
	wr(p, 0x20, 0x20);
	CHECK_EQ(isr(p, 0x20), 0x00);
	wr(p, 0x20, 0x20); /* nothing in service: harmless */
	CHECK_EQ(isr(p, 0x20), 0x00);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_rotation(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	/* Rotate on non-specific EOI: 0 becomes the lowest priority. */
	pulse(p, 0);
	CHECK_EQ(pic_intack(p), MB + 0);
	wr(p, 0x20, 0xA0);
	CHECK_EQ(isr(p, 0x20), 0);
	pulse(p, 0);
	pulse(p, 5);
	CHECK_EQ(pic_intack(p), MB + 5);
	/* 0 is now lower than 5 in service. */
	CHECK(!pic_intr(p));
	/* Rotate on specific EOI 5: 5 lowest, so 6, 7, 0... */
	wr(p, 0x20, 0xE5);
	CHECK_EQ(isr(p, 0x20), 0);
	pulse(p, 7);
	pulse(p, 4);
	CHECK_EQ(pic_intack(p), MB + 7);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 0);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 4);
	wr(p, 0x20, 0x20);
	/* Set priority: lowest 3 -> order 4 5 6 7 0 1 2 3. */
	wr(p, 0x20, 0xC3);
	pulse(p, 1);
	pulse(p, 4);
	pulse(p, 3);
	CHECK_EQ(pic_intack(p), MB + 4);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 1);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), MB + 3);
	/* Non-specific EOI picks the highest in service under the rotation. */
	pulse(p, 5); /* 5 outranks 3 now */
	CHECK_EQ(pic_intack(p), MB + 5);
	CHECK_EQ(isr(p, 0x20), 0x28);
	wr(p, 0x20, 0x20);
	CHECK_EQ(isr(p, 0x20), 0x08);
	wr(p, 0x20, 0x20);
	/* Set priority back to 7 on the slave too. */
	wr(p, 0xA0, 0xC1); /* slave lowest 9 -> 10 first */
	pulse(p, 9);
	pulse(p, 10);
	CHECK_EQ(pic_intack(p), SB + 2);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_aeoi(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x03, 0x03);

	pulse(p, 4);
	pulse(p, 6);
	CHECK_EQ(pic_intack(p), MB + 4);
	CHECK_EQ(isr(p, 0x20), 0);
	CHECK_EQ(pic_intack(p), MB + 6);
	CHECK_EQ(pic_intack(p), -1);
	/* Cascade, both AEOI: two slave requests arrive back to back. */
	pulse(p, 9);
	pulse(p, 11);
	CHECK_EQ(pic_intack(p), SB + 1);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), SB + 3);
	CHECK(!pic_intr(p));
	CHECK_EQ(isr(p, 0x20), 0);
	CHECK_EQ(isr(p, 0xA0), 0);
	/* Rotate in AEOI mode: the acknowledged level becomes lowest. */
	wr(p, 0x20, 0x80);
	pulse(p, 1);
	CHECK_EQ(pic_intack(p), MB + 1);
	pulse(p, 1);
	pulse(p, 6);
	CHECK_EQ(pic_intack(p), MB + 6);
	CHECK_EQ(pic_intack(p), MB + 1);
	/* Clear rotate in AEOI: lowest stays where it was (1). */
	wr(p, 0x20, 0x00);
	pulse(p, 1);
	pulse(p, 0);
	CHECK_EQ(pic_intack(p), MB + 0);
	CHECK_EQ(pic_intack(p), MB + 1);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_poll(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	wr(p, 0x20, 0x0C);
	CHECK_EQ(rd(p, 0x20), 0x00); /* nothing pending */
	CHECK_EQ(rd(p, 0x20), 0x00); /* IRR now: poll is one read only */
	pulse(p, 5);
	pulse(p, 3);
	CHECK(pic_intr(p));
	wr(p, 0x20, 0x0C);
	CHECK_EQ(rd(p, 0x20), 0x83);
	CHECK_EQ(isr(p, 0x20), 0x08);
	CHECK_EQ(irr(p, 0x20), 0x20);
	CHECK(!pic_intr(p));
	wr(p, 0x20, 0x20);
	/* A poll read through port 1 works too, and the IMR read follows. */
	wr(p, 0x20, 0x0C);
	CHECK_EQ(rd(p, 0x21), 0x85);
	CHECK_EQ(rd(p, 0x21), 0x00);
	wr(p, 0x20, 0x20);
	/* Masked requests are not polled. */
	wr(p, 0x21, 0x80);
	pulse(p, 7);
	wr(p, 0x20, 0x0C);
	CHECK_EQ(rd(p, 0x20), 0x00);
	wr(p, 0x21, 0x00);
	/* Polling the slave (the cascade is left to the master). */
	wr(p, 0x20, 0x0C);
	CHECK_EQ(rd(p, 0x20), 0x87);
	wr(p, 0x20, 0x20);
	pulse(p, 13);
	wr(p, 0xA0, 0x0C);
	CHECK_EQ(rd(p, 0xA0), 0x85);
	CHECK_EQ(isr(p, 0xA0), 0x20);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_read_regs(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);
	uint64_t v;

	wr(p, 0x21, 0x30);
	pulse(p, 4);
	pulse(p, 1);
	CHECK_EQ(pic_intack(p), MB + 1);
	wr(p, 0x20, 0x0B);
	CHECK_EQ(rd(p, 0x20), 0x02);
	CHECK_EQ(rd(p, 0x20), 0x02); /* remembered */
	CHECK_EQ(rd(p, 0x21), 0x30);
	wr(p, 0x20, 0x08); /* OCW3 with RR = 0: no change */
	CHECK_EQ(rd(p, 0x20), 0x02);
	wr(p, 0x20, 0x0A);
	CHECK_EQ(rd(p, 0x20), 0x10);
	CHECK_EQ(rd(p, 0x20), 0x10);
	/* A word read: port 0 then port 1; wider: 0xFF past the device. */
	v = 0;
	CHECK_EQ(pic_master_io(p, 0, 2, false, &v), 0);
	CHECK_EQ(v, 0x3010);
	CHECK_EQ(pic_master_io(p, 0, 4, false, &v), 0);
	CHECK_EQ(v, 0xFFFF3010);
	CHECK_EQ(pic_master_io(p, 1, 2, false, &v), 0);
	CHECK_EQ(v, 0xFF30);
	/* A word write: OCW2 (EOI) to port 0, OCW1 to port 1. */
	v = 0x0F20;
	CHECK_EQ(pic_master_io(p, 0, 2, true, &v), 0);
	CHECK_EQ(isr(p, 0x20), 0);
	CHECK_EQ(rd(p, 0x21), 0x0F);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_edge_level(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);
	uint64_t v;

	/* ELCR masks. */
	wr(p, 0x4D0, 0xFF);
	wr(p, 0x4D1, 0xFF);
	CHECK_EQ(rd(p, 0x4D0), 0xF8);
	CHECK_EQ(rd(p, 0x4D1), 0xDE);
	v = 0;
	CHECK_EQ(pic_elcr_io(p, 0, 2, true, &v), 0);
	CHECK_EQ(pic_elcr_io(p, 0, 2, false, &v), 0);
	CHECK_EQ(v, 0);
	v = 0x0220; /* IRQ 5 and IRQ 9 level */
	CHECK_EQ(pic_elcr_io(p, 0, 2, true, &v), 0);
	CHECK_EQ(rd(p, 0x4D0), 0x20);
	CHECK_EQ(rd(p, 0x4D1), 0x02);

	/* Edge: latched on the rising edge, kept after the line drops. */
	pic_set_irq(p, 4, true);
	pic_set_irq(p, 4, false);
	CHECK_EQ(pic_intack(p), MB + 4);
	wr(p, 0x20, 0x20);
	pic_set_irq(p, 4, true);
	CHECK_EQ(pic_intack(p), MB + 4);
	wr(p, 0x20, 0x20);
	pic_set_irq(p, 4, true); /* still high: no new edge */
	CHECK(!pic_intr(p));
	pic_set_irq(p, 4, false);
	pic_set_irq(p, 4, true);
	CHECK_EQ(pic_intack(p), MB + 4);
	wr(p, 0x20, 0x20);
	pic_set_irq(p, 4, false);

	/* Level: IRR follows the line. */
	pic_set_irq(p, 5, true);
	CHECK(pic_intr(p));
	pic_set_irq(p, 5, false);
	CHECK(!pic_intr(p));
	CHECK_EQ(irr(p, 0x20), 0);
	CHECK_EQ(pic_intack(p), -1);
	pic_set_irq(p, 5, true);
	CHECK_EQ(pic_intack(p), MB + 5);
	CHECK_EQ(irr(p, 0x20), 0x20); /* still asserted */
	CHECK(!pic_intr(p));
	wr(p, 0x20, 0x20); /* EOI with the line still high: again */
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), MB + 5);
	pic_set_irq(p, 5, false); /* the device is serviced */
	wr(p, 0x20, 0x20);
	CHECK(!pic_intr(p));

	/* Level on the slave. */
	pic_set_irq(p, 9, true);
	CHECK_EQ(pic_intack(p), SB + 1);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);
	CHECK_EQ(pic_intack(p), SB + 1);
	pic_set_irq(p, 9, false);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);
	CHECK(!pic_intr(p));

	/* Switching to level picks up the line; back to edge keeps IRR. */
	pic_set_irq(p, 6, true);
	CHECK_EQ(pic_intack(p), MB + 6);
	wr(p, 0x20, 0x20);
	CHECK(!pic_intr(p));
	wr(p, 0x4D0, 0x60);
	CHECK(pic_intr(p));
	wr(p, 0x4D0, 0x20);
	CHECK(pic_intr(p));
	pic_set_irq(p, 6, false);
	CHECK(pic_intr(p)); /* edge again: latched */
	CHECK_EQ(pic_intack(p), MB + 6);
	wr(p, 0x20, 0x20);
	/* Edge-only inputs ignore ELCR writes (IRQ 0, 1, 8, 13). */
	wr(p, 0x4D0, 0x03);
	wr(p, 0x4D1, 0x21);
	CHECK_EQ(rd(p, 0x4D0), 0x00);
	CHECK_EQ(rd(p, 0x4D1), 0x00);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_spurious(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	/* A slave request masked before the INTA cycle: IRQ 15's vector. */
	pulse(p, 11);
	CHECK(pic_intr(p));
	wr(p, 0xA1, 0x08);
	CHECK(pic_intr(p)); /* master IR2 stays latched */
	CHECK_EQ(pic_intack(p), SB + 7);
	CHECK_EQ(isr(p, 0x20), 0x04); /* master acknowledged IR2 */
	CHECK_EQ(isr(p, 0xA0), 0x00); /* slave IS7 not set */
	CHECK_EQ(irr(p, 0xA0), 0x08);
	CHECK(!pic_intr(p));
	wr(p, 0x20, 0x20);
	wr(p, 0xA1, 0x00);
	CHECK_EQ(pic_intack(p), SB + 3);
	wr(p, 0xA0, 0x20);
	wr(p, 0x20, 0x20);

	/* A level slave input dropped before the INTA cycle. */
	wr(p, 0x4D1, 0x04);
	pic_set_irq(p, 10, true);
	pic_set_irq(p, 10, false);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), SB + 7);
	CHECK_EQ(isr(p, 0xA0), 0x00);
	wr(p, 0x20, 0x20);
	CHECK(!pic_intr(p));

	/* A master request withdrawn: INTR low, nothing to deliver. */
	pulse(p, 3);
	wr(p, 0x21, 0x08);
	CHECK(!pic_intr(p));
	CHECK_EQ(pic_intack(p), -1);
	CHECK_EQ(isr(p, 0x20), 0x00);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_smm(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	pulse(p, 1);
	CHECK_EQ(pic_intack(p), MB + 1);
	pulse(p, 6);
	CHECK(!pic_intr(p));
	wr(p, 0x20, 0x68); /* set special mask mode */
	CHECK(!pic_intr(p)); /* IS1 unmasked still inhibits */
	wr(p, 0x21, 0x02);
	CHECK(pic_intr(p));
	CHECK_EQ(pic_intack(p), MB + 6);
	CHECK_EQ(isr(p, 0x20), 0x42);
	/* Non-specific EOI skips the masked IS1. */
	wr(p, 0x20, 0x20);
	CHECK_EQ(isr(p, 0x20), 0x02);
	wr(p, 0x20, 0x20);
	CHECK_EQ(isr(p, 0x20), 0x02);
	wr(p, 0x20, 0x61);
	CHECK_EQ(isr(p, 0x20), 0x00);
	/* Clear SMM. */
	wr(p, 0x21, 0x00);
	pulse(p, 0);
	CHECK_EQ(pic_intack(p), MB + 0);
	wr(p, 0x20, 0x48);
	wr(p, 0x21, 0x01);
	pulse(p, 4);
	CHECK(!pic_intr(p)); /* masked IS0 inhibits again */
	wr(p, 0x20, 0x60);
	CHECK_EQ(pic_intack(p), MB + 4);
	CHECK(!f.bad);
	pic_free(p);
}

static void test_intr_callback(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);

	CHECK_EQ(f.calls, 0);
	pulse(p, 3);
	CHECK_EQ(f.rises, 1);
	CHECK(f.level);
	pulse(p, 4);
	pulse(p, 1);
	CHECK_EQ(f.calls, 1); /* already high */
	CHECK_EQ(pic_intack(p), MB + 1);
	CHECK_EQ(f.falls, 1); /* 3, 4 below 1 in service */
	CHECK(!f.level);
	wr(p, 0x20, 0x20);
	CHECK_EQ(f.rises, 2);
	CHECK_EQ(pic_intack(p), MB + 3);
	CHECK_EQ(f.falls, 2);
	wr(p, 0x21, 0xFF);
	wr(p, 0x20, 0x20);
	CHECK_EQ(f.calls, 4); /* masked: no rise */
	wr(p, 0x21, 0x00);
	CHECK_EQ(f.rises, 3);
	wr(p, 0x21, 0xFF);
	CHECK_EQ(f.falls, 3);
	/* Writes that change nothing do not call. */
	wr(p, 0x21, 0xFF);
	wr(p, 0x20, 0x0A);
	rd(p, 0x20);
	CHECK_EQ(f.calls, 6);
	CHECK(!f.bad);
	pic_free(p);
}

/* A deterministic PRNG for the garbage test. */
static uint32_t xs(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_garbage(void)
{
	struct fake_cpu f;
	struct pic *p = mk(&f, 0x01, 0x01);
	static const unsigned sizes[] = { 0, 1, 2, 3, 4, 8, 9, 0xFFFFFFFFu };
	static const uint64_t offs[] = { 0, 1, 2, 3, 0xFF, ~0ULL, ~0ULL - 1, 1ULL << 63 };
	uint32_t s = 0x12345678;
	bool ok = true;

	for (unsigned i = 0; i < 200000; i++) {
		uint32_t r = xs(&s);
		uint64_t v = ((uint64_t)xs(&s) << 32) | xs(&s);
		unsigned size = sizes[(r >> 4) & 7];
		uint64_t off = (r >> 8) & 8 ? offs[(r >> 12) & 7] : (r >> 12) & 1;
		int vec;

		switch (r & 7) {
		case 0:
			pic_master_io(p, off, size, r & 0x10000, &v);
			break;
		case 1:
			pic_slave_io(p, off, size, r & 0x10000, &v);
			break;
		case 2:
			pic_elcr_io(p, off, size, r & 0x10000, &v);
			break;
		case 3: case 4:
			pic_set_irq(p, (r >> 8) % 20, r & 0x10000);
			break;
		default:
			vec = pic_intack(p);
			if (vec < -1 || vec > 0xFF)
				ok = false;
			break;
		}
		if (pic_intr(p) != f.level && f.calls)
			ok = false;
	}
	CHECK(ok);
	CHECK(!f.bad);
	/* A proper initialisation still brings it back. */
	for (unsigned i = 0; i < 16; i++)
		pic_set_irq(p, i, false);
	wr(p, 0x4D0, 0);
	wr(p, 0x4D1, 0);
	init_pair(p, 0x01, 0x01);
	CHECK(!pic_intr(p));
	pulse(p, 7);
	CHECK_EQ(pic_intack(p), MB + 7);
	wr(p, 0x20, 0x20);
	pulse(p, 15);
	CHECK_EQ(pic_intack(p), SB + 7);
	CHECK_EQ(isr(p, 0xA0), 0x80);
	CHECK(!f.bad);
	pic_free(p);
}

int main(void)
{
	RUN(test_reset);
	RUN(test_init);
	RUN(test_imr);
	RUN(test_priority_nesting);
	RUN(test_cascade);
	RUN(test_eoi_kinds);
	RUN(test_rotation);
	RUN(test_aeoi);
	RUN(test_poll);
	RUN(test_read_regs);
	RUN(test_edge_level);
	RUN(test_spurious);
	RUN(test_smm);
	RUN(test_intr_callback);
	RUN(test_garbage);
	return unit_report();
}
