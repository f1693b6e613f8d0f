/*
 * Fakes of the machine around a device model, for unit tests: an interrupt
 * chip and a power sink that only record what they are asked to do.
 *   struct fake_irq f; struct irq_chip chip; fake_irq_init(&f, &chip);
 *   struct fake_power fp; struct power_sink ps; fake_power_init(&fp, &ps);
 */
#ifndef LHYVE_UNIT_FAKES_H
#define LHYVE_UNIT_FAKES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lhyve/irq.h"
#include "lhyve/power.h"

struct fake_irq {
	int calls;       /* set_line calls */
	bool level[32];  /* last level of each GSI below 32 */
	int msis;        /* MSIs delivered, the last one's address and data */
	uint64_t addr;
	uint32_t data;
};

static inline int fake_set_line(void *opaque, unsigned gsi, bool level)
{
	struct fake_irq *f = opaque;
	f->calls++;
	if (gsi < 32)
		f->level[gsi] = level;
	return 0;
}

static inline int fake_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct fake_irq *f = opaque;
	f->msis++;
	f->addr = addr;
	f->data = data;
	return 0;
}

/* Zero *f and make *chip deliver to it. */
static inline void fake_irq_init(struct fake_irq *f, struct irq_chip *chip)
{
	static const struct irq_chip_ops ops = { .set_line = fake_set_line, .msi = fake_msi };

	memset(f, 0, sizeof(*f));
	chip->ops = &ops;
	chip->opaque = f;
}

struct fake_power {
	int calls;             /* requests made */
	enum vm_exitcode last; /* the last one */
};

static inline void fake_request(void *opaque, enum vm_exitcode why)
{
	struct fake_power *p = opaque;
	p->calls++;
	p->last = why;
}

/* Zero *p and make *ps report to it. */
static inline void fake_power_init(struct fake_power *p, struct power_sink *ps)
{
	memset(p, 0, sizeof(*p));
	ps->request = fake_request;
	ps->opaque = p;
}

#endif
