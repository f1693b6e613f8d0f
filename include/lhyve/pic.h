/*
 * Userspace Intel 8259A PIC pair (master at 0x20, slave at 0xA0 cascaded on
 * master IRQ 2) with the PIIX ELCR at 0x4D0-0x4D1, for KVM_CAP_SPLIT_IRQCHIP
 * (the LAPIC stays in the kernel). See src/hw/pic.c for the model.
 *
 * Thread-safe: one mutex per pic; every entry point may be called from any
 * thread. ops->intr runs with that mutex held.
 */
#ifndef LHYVE_PIC_H
#define LHYVE_PIC_H

#include <stdbool.h>
#include <stdint.h>

struct pic;

struct pic_ops {
	/* The master's INTR output changed (true: an interrupt is pending for the CPU). Called with the pic lock held; must not call back into the pic (the glue only kicks the boot vCPU). */
	void (*intr)(void *opaque, bool level);
};

/* NULL on allocation failure. ops->intr may be NULL (pic_intr() polled). */
struct pic *pic_new(const struct pic_ops *ops, void *opaque);
void pic_free(struct pic *p);
/* ISA IRQ 0..15 input level (true = asserted); IRQ 2 is the cascade (ignored); others ignored. Edge or level per ELCR. */
void pic_set_irq(struct pic *p, unsigned irq, bool level);
/* Current INTR output. */
bool pic_intr(struct pic *p);
/* INTA cycle: the vector to deliver now (IRR->ISR, cascade through the slave; spurious: IRQ 7 / 15 vector), or -1 if INTR is low. */
int pic_intack(struct pic *p);
/* Port handlers (bus_fn): master at 0x20 (offsets 0-1), slave at 0xA0 (offsets 0-1), ELCR at 0x4D0 (offsets 0-1). */
int pic_master_io(void *p, uint64_t offset, unsigned size, bool write, uint64_t *data);
int pic_slave_io(void *p, uint64_t offset, unsigned size, bool write, uint64_t *data);
int pic_elcr_io(void *p, uint64_t offset, unsigned size, bool write, uint64_t *data);

/* Port bases and lengths for bus_register(). */
#define PIC_MASTER_PORT 0x20
#define PIC_SLAVE_PORT 0xA0
#define PIC_ELCR_PORT 0x4D0
#define PIC_PORT_LEN 2

#endif
