/*
 * Interrupt delivery seen from device models, without KVM knowledge. The
 * core provides an irq_chip backed by KVM (KVM_IRQ_LINE, KVM_SIGNAL_MSI);
 * unit tests provide a fake one that records calls.
 */
#ifndef LHYVE_IRQ_H
#define LHYVE_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_chip_ops {
	/* Drive GSI `gsi` to `level` (true = asserted). Thread-safe. */
	int (*set_line)(void *opaque, unsigned gsi, bool level);
	/* Deliver one MSI. Thread-safe. */
	int (*msi)(void *opaque, uint64_t addr, uint32_t data);
};

struct irq_chip {
	const struct irq_chip_ops *ops;
	void *opaque;
};

/*
 * One interrupt output of a device, wired to a GSI. A device reports its
 * output level; edges are what the interrupt controller sees. Callers
 * serialise calls for one line (the device's own lock).
 */
struct irq_line {
	struct irq_chip *chip; /* NULL: not connected */
	unsigned gsi;
	bool level;
};

static inline void irq_line_init(struct irq_line *l, struct irq_chip *chip,
				 unsigned gsi)
{
	l->chip = chip;
	l->gsi = gsi;
	l->level = false;
}

/* Set the output level; only changes reach the chip. */
static inline void irq_line_set(struct irq_line *l, bool level)
{
	if (l->level == level)
		return;
	l->level = level;
	if (l->chip)
		l->chip->ops->set_line(l->chip->opaque, l->gsi, level);
}

/* An edge: assert then deassert (for edge-triggered sources such as timers). */
static inline void irq_line_pulse(struct irq_line *l)
{
	irq_line_set(l, true);
	irq_line_set(l, false);
}

#endif
