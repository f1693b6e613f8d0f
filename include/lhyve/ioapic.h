/*
 * Userspace Intel 82093AA I/O APIC (src/hw/ioapic.c) for KVM's split irqchip
 * (KVM_CAP_SPLIT_IRQCHIP: local APICs in the kernel, I/O APIC and 8259 PIC
 * here). 24 input pins, version 0x11 (no EOI register: guests clear Remote
 * IRR by the local APIC EOI broadcast, or by switching a pin to edge).
 *
 * Locking: one mutex per I/O APIC protects everything; the ops callbacks run
 * with it held and must be leaves (not call back into the I/O APIC). All
 * entry points are thread-safe. No global state.
 */
#ifndef LHYVE_IOAPIC_H
#define LHYVE_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_PINS 24
#define IOAPIC_BASE 0xFEC00000ULL
#define IOAPIC_SIZE 0x1000ULL

/* MMIO offsets and indirect register indexes (IOREGSEL values). */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* 0x10 + 2 * pin: low dword, +1: high dword */
#define IOAPIC_VERSION 0x11

/* Redirection entry bits (64-bit entry). */
#define IOAPIC_RTE_VECTOR 0xFFULL
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DELMODE (7ULL << 8)
#define IOAPIC_RTE_DESTMODE (1ULL << 11) /* 1: logical */
#define IOAPIC_RTE_DELIVS (1ULL << 12)   /* delivery status, read-only (0) */
#define IOAPIC_RTE_POLARITY (1ULL << 13) /* 1: active low (stored only) */
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14) /* read-only */
#define IOAPIC_RTE_LEVEL (1ULL << 15)    /* trigger mode, 1: level */
#define IOAPIC_RTE_MASK (1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

/* Delivery modes (bits 8-10). 3 and 6 are reserved. */
#define IOAPIC_DM_FIXED 0
#define IOAPIC_DM_LOWPRI 1
#define IOAPIC_DM_SMI 2
#define IOAPIC_DM_NMI 4
#define IOAPIC_DM_INIT 5
#define IOAPIC_DM_EXTINT 7

struct ioapic;

struct ioapic_ops {
	/* Send one interrupt message (Intel SDM MSI format: address 0xFEE00000 | dest << 12 | dest_mode << 2,
	 * data = vector | delivery_mode << 8 | 1 << 14 (assert) | trigger << 15). Called with the ioapic lock held; must not call back. */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	/* Redirection entry `pin` changed (guest write or reset): the message it would send now; valid=false when masked.
	 * Called with the lock held (the KVM glue mirrors it into KVM's GSI routing so that EOIs of level-triggered vectors exit to userspace). */
	void (*route)(void *opaque, unsigned pin, bool valid, uint64_t addr, uint32_t data);
};
/*
 * Notes on the messages: `trigger` is the effective trigger mode: SMI, NMI
 * and INIT are edge-triggered whatever the entry's trigger bit says (Intel
 * SDM, 82093AA datasheet), so their messages carry trigger 0. ExtINT and the
 * reserved delivery modes (3, 6) are never sent; their routes are
 * valid=false (as masked ones), with addr/data still describing the entry.
 */

struct ioapic *ioapic_new(const struct ioapic_ops *ops, void *opaque, uint8_t id); /* id: IOAPIC ID register (the MADT's, 0 here) */
void ioapic_free(struct ioapic *io);
/*
 * System reset: ID back to the one given to ioapic_new, IOREGSEL 0, every
 * entry masked edge (0x10000) with Remote IRR clear; input levels are kept
 * (they belong to the devices). ops->route is called for every pin.
 */
void ioapic_reset(struct ioapic *io);
/* Input pin level (true = asserted, polarity already applied by the board: callers pass logical assertion). pin >= IOAPIC_PINS ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* A local APIC EOI for `vector` (KVM_EXIT_IOAPIC_EOI): clear Remote IRR of level-triggered pins with that vector; redeliver if still asserted and unmasked. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* MMIO window at 0xFEC00000, offset 0..0xFFF: IOREGSEL at 0x00, IOWIN at 0x10 (32-bit accesses; other sizes/offsets: reads 0 / ignored writes, never crash). */
int ioapic_mmio(void *io, uint64_t offset, unsigned size, bool write, uint64_t *data);

#endif
