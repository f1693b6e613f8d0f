/*
 * Intel 8259A programmable interrupt controller pair, as on a PC / PIIX:
 * master at ports 0x20-0x21, slave at 0xA0-0xA1 with its INT output wired
 * to master IR2, and the PIIX edge/level control registers (ELCR) at
 * 0x4D0-0x4D1. Used with KVM_CAP_SPLIT_IRQCHIP: the vCPU glue watches the
 * master's INTR output (ops->intr, pic_intr()) and runs the INTA cycle with
 * pic_intack() when the boot vCPU can take an external interrupt.
 *
 * Model (8259A datasheet, PIIX ELCR):
 *  - ICW1 (port 0 with bit 4 set) starts initialisation: it clears the IMR,
 *    the ISR, the edge sense latches (an input already high must go low and
 *    high again), special mask mode and the status-read selection (back to
 *    IRR), gives IR7 the lowest priority and, without IC4, zeroes the ICW4
 *    functions. Then ICW2 (vector base, bits 7-3), ICW3 unless SNGL, ICW4
 *    if IC4 follow on port 1. ICW1 LTIM is ignored as on PIIX (trigger mode
 *    comes from the ELCR); ADI, the MCS-80/85 address bits, ICW4 uPM, BUF
 *    and M/S are accepted and ignored: vectors are always ICW2 | level.
 *  - Cascade: the master hands the INTA cycle to the slave for IR2 unless
 *    it is in single mode or its ICW3 has no slave on IR2 (then it supplies
 *    base | 2 itself). The slave's ICW3 ID is not checked.
 *  - Master IR2 latches while the slave's INT output is high and stays set
 *    (like an edge input) until the master acknowledges it: a slave request
 *    withdrawn before the INTA cycle (masked in the slave IMR, level input
 *    dropped) gives the slave's spurious IR7 vector (IRQ 15), with master
 *    IS2 set, as on hardware. The master's own spurious IR7 cannot happen:
 *    INTR and the INTA cycle are evaluated under the same lock, and
 *    pic_intack() returns -1 when INTR is low.
 *  - Edge inputs (ELCR bit clear) set their IRR bit on a rising edge and
 *    keep it until acknowledged; level inputs' IRR bits follow the line.
 *    Valid ELCR bits: master 0xF8, slave 0xDE (IRQ 0, 1, 2, 8, 13 are edge).
 *  - Priority: fully nested with a rotating lowest-priority level; a request
 *    is delivered if unmasked and of higher priority than every in-service
 *    level. Special fully nested mode (master ICW4 bit 4) also lets IR2
 *    through while IS2 is set (a higher slave request). Special mask mode:
 *    in-service levels that are masked in the IMR do not inhibit others,
 *    and a non-specific EOI does not clear them.
 *  - OCW2: (rotate on) non-specific / specific EOI, set priority, set/clear
 *    rotate in AEOI mode. OCW3: read IRR / ISR (remembered), poll (the next
 *    read of either port returns 0x80 | level and acknowledges it, or 0 if
 *    nothing is pending), set/clear special mask mode.
 *  - Accesses wider than a byte are split into byte accesses at consecutive
 *    ports, as the ISA bus does; bytes outside a device read as 0xFF.
 *  - pic_new() state: as after a BIOS initialisation (vector bases 0x08 and
 *    0x70, cascade on IR2, no ICW4 functions) but with IMR = 0xFF on both
 *    chips: nothing is delivered until the guest unmasks.
 *
 * Locking: p->lock protects everything; ops->intr is called with it held,
 * only when the master's INTR output changes.
 */
#include <pthread.h>
#include <stdlib.h>

#include "lhyve/pic.h"

#define MASTER 0
#define SLAVE 1

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t lines;      /* input levels (edge detection) */
	uint8_t elcr, elcr_mask;
	uint8_t base;       /* ICW2 & 0xF8 */
	uint8_t icw3;
	uint8_t lowest;     /* level with the lowest priority */
	uint8_t init;       /* ICW expected next on port 1: 2, 3, 4 or 0 (none) */
	bool need_icw4, single, aeoi, rotate_aeoi, sfnm, smm, poll, read_isr;
};

struct pic {
	pthread_mutex_t lock;
	struct pic_ops ops;
	void *opaque;
	bool intr;          /* master INTR output as last reported */
	struct pic_chip c[2];
};

/* 0 is the highest priority, 7 the lowest. */
static unsigned pic_rank(const struct pic_chip *c, unsigned irq)
{
	return (irq - c->lowest - 1) & 7;
}

/* The highest-priority level set in bits, or -1. */
static int pic_highest(const struct pic_chip *c, uint8_t bits)
{
	for (unsigned k = 0; k < 8; k++) {
		unsigned irq = (c->lowest + 1 + k) & 7;
		if (bits & (1u << irq))
			return (int)irq;
	}
	return -1;
}

static bool pic_cascade(const struct pic *p)
{
	const struct pic_chip *m = &p->c[MASTER];

	return !m->single && (m->icw3 & 0x04);
}

/* The level this chip would deliver now (its INT output is high), or -1. */
static int pic_request(const struct pic *p, const struct pic_chip *c)
{
	uint8_t req = c->irr & ~c->imr;
	uint8_t in_service = c->smm ? c->isr & ~c->imr : c->isr;
	int irq, cur;

	irq = pic_highest(c, req);
	if (irq < 0)
		return -1;
	cur = pic_highest(c, in_service);
	if (cur < 0 || pic_rank(c, (unsigned)irq) < pic_rank(c, (unsigned)cur))
		return irq;
	/* Special fully nested: a new (higher) slave request while IS2 is set. */
	if (c == &p->c[MASTER] && c->sfnm && irq == 2 && cur == 2 && pic_cascade(p))
		return irq;
	return -1;
}

/* Recompute the cascade and the master's INTR output; report a change. */
static void pic_update(struct pic *p)
{
	bool out;

	if (pic_request(p, &p->c[SLAVE]) >= 0)
		p->c[MASTER].irr |= 0x04;
	out = pic_request(p, &p->c[MASTER]) >= 0;
	if (out != p->intr) {
		p->intr = out;
		if (p->ops.intr)
			p->ops.intr(p->opaque, out);
	}
}

/* Acknowledge `irq` (INTA or poll): IRR -> ISR, or AEOI. */
static void pic_ack(struct pic_chip *c, unsigned irq)
{
	uint8_t bit = (uint8_t)(1u << irq);

	if (!(c->elcr & bit))
		c->irr &= (uint8_t)~bit;
	if (c->aeoi) {
		if (c->rotate_aeoi)
			c->lowest = (uint8_t)irq;
	} else {
		c->isr |= bit;
	}
}

static void pic_icw1(struct pic_chip *c, uint8_t val)
{
	c->need_icw4 = val & 0x01;
	c->single = val & 0x02;
	c->imr = 0;
	c->isr = 0;
	c->irr = c->lines & c->elcr; /* edge latches reset, levels follow */
	c->lowest = 7;
	c->aeoi = c->rotate_aeoi = c->sfnm = false;
	c->smm = c->poll = c->read_isr = false;
	c->init = 2;
}

static void pic_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned level = val & 7;
	int irq;

	switch (val >> 5) {
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		irq = pic_highest(c, c->smm ? c->isr & ~c->imr : c->isr);
		if (irq < 0)
			break;
		c->isr &= (uint8_t)~(1u << irq);
		if (val >> 5 == 5)
			c->lowest = (uint8_t)irq;
		break;
	case 3: /* specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t)~(1u << level);
		c->lowest = (uint8_t)level;
		break;
	case 6: /* set priority */
		c->lowest = (uint8_t)level;
		break;
	case 4:
		c->rotate_aeoi = true;
		break;
	case 0:
		c->rotate_aeoi = false;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void pic_write(struct pic *p, struct pic_chip *c, unsigned port, uint8_t val)
{
	if (port == 0) {
		if (val & 0x10) {
			pic_icw1(c, val);
		} else if (val & 0x08) { /* OCW3 */
			if (val & 0x04)
				c->poll = true;
			if (val & 0x02)
				c->read_isr = val & 0x01;
			if (val & 0x40)
				c->smm = val & 0x20;
		} else {
			pic_ocw2(c, val);
		}
	} else {
		switch (c->init) {
		case 2:
			c->base = val & 0xF8;
			c->init = c->single ? (c->need_icw4 ? 4 : 0) : 3;
			break;
		case 3:
			c->icw3 = val;
			c->init = c->need_icw4 ? 4 : 0;
			break;
		case 4:
			c->aeoi = val & 0x02;
			c->sfnm = val & 0x10;
			c->init = 0;
			break;
		default: /* OCW1 */
			c->imr = val;
			break;
		}
	}
	pic_update(p);
}

static uint8_t pic_read(struct pic *p, struct pic_chip *c, unsigned port)
{
	uint8_t val;
	int irq;

	if (c->poll) {
		c->poll = false;
		irq = pic_request(p, c);
		if (irq < 0)
			return 0;
		pic_ack(c, (unsigned)irq);
		pic_update(p);
		return (uint8_t)(0x80 | irq);
	}
	if (port == 1)
		val = c->imr;
	else
		val = c->read_isr ? c->isr : c->irr;
	return val;
}

static void pic_elcr_write(struct pic *p, struct pic_chip *c, uint8_t val)
{
	uint8_t level;

	c->elcr = val & c->elcr_mask;
	/* Inputs now level-triggered follow their line; edge ones keep IRR. */
	level = c->elcr;
	c->irr = (uint8_t)((c->irr & ~level) | (c->lines & level));
	pic_update(p);
}

enum pic_dev { DEV_MASTER, DEV_SLAVE, DEV_ELCR };

/* Split an access into byte accesses at offset, offset + 1, ... */
static int pic_io(struct pic *p, enum pic_dev dev, uint64_t offset, unsigned size,
		  bool write, uint64_t *data)
{
	uint64_t out = 0;

	if (size > 8)
		size = 8;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size; i++) {
		bool in = offset <= 1 && offset + i <= 1;
		unsigned port = (unsigned)offset + i;
		uint8_t b = 0xFF;

		if (write) {
			if (!in)
				continue;
			b = (uint8_t)(*data >> (8 * i));
			if (dev == DEV_ELCR)
				pic_elcr_write(p, &p->c[port], b);
			else
				pic_write(p, &p->c[dev], port, b);
		} else {
			if (in)
				b = dev == DEV_ELCR ? p->c[port].elcr
						    : pic_read(p, &p->c[dev], port);
			out |= (uint64_t)b << (8 * i);
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (!write && size)
		*data = out;
	return 0;
}

int pic_master_io(void *p, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	return pic_io(p, DEV_MASTER, offset, size, write, data);
}

int pic_slave_io(void *p, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	return pic_io(p, DEV_SLAVE, offset, size, write, data);
}

int pic_elcr_io(void *p, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	return pic_io(p, DEV_ELCR, offset, size, write, data);
}

void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
	struct pic_chip *c;
	uint8_t bit;

	if (irq >= 16 || irq == 2)
		return;
	c = &p->c[irq >> 3];
	bit = (uint8_t)(1u << (irq & 7));
	pthread_mutex_lock(&p->lock);
	if (c->elcr & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= (uint8_t)~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= (uint8_t)~bit;
	pic_update(p);
	pthread_mutex_unlock(&p->lock);
}

bool pic_intr(struct pic *p)
{
	bool v;

	pthread_mutex_lock(&p->lock);
	v = p->intr;
	pthread_mutex_unlock(&p->lock);
	return v;
}

int pic_intack(struct pic *p)
{
	struct pic_chip *m = &p->c[MASTER], *s = &p->c[SLAVE];
	int irq, sirq, vec;

	pthread_mutex_lock(&p->lock);
	if (!p->intr) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	irq = pic_request(p, m);
	if (irq < 0) {
		/* Unreachable (p->intr is kept equal to this); as hardware: IR7. */
		vec = m->base | 7;
	} else {
		pic_ack(m, (unsigned)irq);
		if (irq == 2 && pic_cascade(p)) {
			sirq = pic_request(p, s);
			if (sirq < 0) {
				vec = s->base | 7; /* withdrawn: spurious IRQ 15 */
			} else {
				pic_ack(s, (unsigned)sirq);
				vec = s->base | sirq;
			}
		} else {
			vec = m->base | irq;
		}
	}
	pic_update(p);
	pthread_mutex_unlock(&p->lock);
	return vec;
}

struct pic *pic_new(const struct pic_ops *ops, void *opaque)
{
	struct pic *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	if (ops)
		p->ops = *ops;
	p->opaque = opaque;
	for (unsigned i = 0; i < 2; i++) {
		struct pic_chip *c = &p->c[i];

		c->imr = 0xFF;
		c->lowest = 7;
		c->base = i == MASTER ? 0x08 : 0x70;
		c->icw3 = i == MASTER ? 0x04 : 0x02;
		c->elcr_mask = i == MASTER ? 0xF8 : 0xDE;
	}
	return p;
}

void pic_free(struct pic *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
