/*
 * Intel MultiProcessor Specification 1.4 tables at PLAT_EBDA (the last KiB of
 * base memory, one of the places an OS scans): the MP Floating Pointer
 * Structure followed by the MP Configuration Table. Interrupt routing matches
 * the ACPI MADT: ISA IRQ0 -> I/O APIC pin 2, IRQ9 (SCI) level/active high;
 * PCI INTx as the DSDT's _PRT: pci_intx_gsi(), level-triggered, active low.
 * Built in a host buffer, written with one gm_write(). Run once: no locking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/log.h"
#include "lhyve/pci.h"
#include "lhyve/tables.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define MP_FPS_LEN 16
#define MP_HDR_LEN 44
#define MP_CPU_LEN 20
#define MP_ENTRY_LEN 8 /* bus, I/O APIC, I/O and local interrupt entries */
#define MP_LIMIT 0xA0000ULL
#define MP_MAX_CPUS 254

#define MP_SPEC_REV 4 /* 1.4 */
#define MP_ENTRY_CPU 0
#define MP_ENTRY_BUS 1
#define MP_ENTRY_IOAPIC 2
#define MP_ENTRY_IOINT 3
#define MP_ENTRY_LINT 4

#define MP_CPU_EN 0x01
#define MP_CPU_BP 0x02
#define MP_LAPIC_VERSION 0x14  /* integrated local APIC */
#define MP_IOAPIC_VERSION 0x11
#define MP_IOAPIC_EN 0x01
#define MP_CPU_SIGNATURE 0x600 /* family 6 */
#define MP_CPU_FEATURES ((1u << 0) | (1u << 9)) /* FPU, on-chip APIC */

#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3
/* Flags: polarity bits 1:0, trigger bits 3:2 (01 = high/edge, 11 = low/level). */
#define MP_FLAGS_CONFORM 0x0
#define MP_FLAGS_LEVEL_HIGH 0xD
#define MP_FLAGS_LEVEL_LOW 0xF

/* Bus IDs: ISA alone is 0; with PCI, PCI is 0 and ISA 1 (as firmware does). */
#define MP_PCI_BUS 0
#define MP_PCI_SLOTS 32
#define MP_PCI_PINS 4
#define MP_ALL_LAPICS 0xFF
#define MP_ISA_IRQS 16

static uint8_t *mptable_entry8(uint8_t *e, uint8_t type, uint8_t inttype, uint16_t flags,
			       uint8_t src_bus, uint8_t src_irq, uint8_t dst_id, uint8_t dst_pin)
{
	e[0] = type;
	e[1] = inttype;
	put_le16(e + 2, flags);
	e[4] = src_bus;
	e[5] = src_irq;
	e[6] = dst_id;
	e[7] = dst_pin;
	return e + MP_ENTRY_LEN;
}

/*
 * Mark each distinct (slot, pin) of irqs in used[slot] (bit pin - 1); returns
 * the number of distinct pairs or -EINVAL for a slot or pin out of range.
 */
static int mptable_pci_collect(const struct mp_pci_irq *irqs, unsigned nirqs,
			       uint8_t used[MP_PCI_SLOTS])
{
	int n = 0;

	memset(used, 0, MP_PCI_SLOTS);
	for (unsigned i = 0; i < nirqs; i++) {
		unsigned slot = irqs[i].slot, pin = irqs[i].pin;
		if (slot >= MP_PCI_SLOTS || pin < 1 || pin > MP_PCI_PINS) {
			log_err("mptable: bad PCI interrupt slot %u pin %u", slot, pin);
			return -EINVAL;
		}
		if (!(used[slot] & (1u << (pin - 1))))
			n++;
		used[slot] |= (uint8_t)(1u << (pin - 1));
	}
	return n;
}

int mptable_build(struct guest_mem *gm, unsigned ncpus, const struct mp_pci_irq *irqs,
		  unsigned nirqs)
{
	/* 15 ISA IRQs (IRQ2 is the cascade, not routed) + ExtINT + NMI. */
	const unsigned n_lint = 2;
	unsigned n_ioint = MP_ISA_IRQS - 1, n_bus = 1;
	uint8_t buf[MP_LIMIT - PLAT_EBDA], used[MP_PCI_SLOTS];
	uint8_t isa_bus = 0;
	size_t cfg_len, total;
	int n_pci;

	if (ncpus == 0 || ncpus > MP_MAX_CPUS) {
		log_err("mptable: unsupported CPU count %u", ncpus);
		return -EINVAL;
	}
	if (nirqs && !irqs)
		return -EINVAL;
	n_pci = mptable_pci_collect(irqs, nirqs, used);
	if (n_pci < 0)
		return n_pci;
	if (n_pci) {
		n_bus = 2;
		isa_bus = MP_PCI_BUS + 1;
		n_ioint += (unsigned)n_pci;
	}
	cfg_len = MP_HDR_LEN + ncpus * MP_CPU_LEN +
		  (n_bus + 1 /* I/O APIC */ + n_ioint + n_lint) * MP_ENTRY_LEN;
	total = MP_FPS_LEN + cfg_len;
	if (total > sizeof(buf)) {
		log_err("mptable: %u CPUs and %d PCI interrupts do not fit below %#llx",
			ncpus, n_pci, MP_LIMIT);
		return -ENOSPC;
	}
	memset(buf, 0, sizeof(buf));

	/* Floating pointer structure (16-byte aligned: PLAT_EBDA is). */
	uint8_t *fps = buf;
	memcpy(fps, "_MP_", 4);
	put_le32(fps + 4, (uint32_t)(PLAT_EBDA + MP_FPS_LEN));
	fps[8] = 1;             /* length in 16-byte units */
	fps[9] = MP_SPEC_REV;
	/* Feature bytes all 0: configuration table present, virtual wire mode. */
	fps[10] = (uint8_t)-byte_sum(fps, MP_FPS_LEN);

	/* Configuration table header. */
	uint8_t *cfg = buf + MP_FPS_LEN, *e = cfg + MP_HDR_LEN;
	memcpy(cfg, "PCMP", 4);
	put_le16(cfg + 4, (uint16_t)cfg_len);
	cfg[6] = MP_SPEC_REV;
	memcpy(cfg + 8, "LHYVE   ", 8);          /* OEM ID */
	memcpy(cfg + 16, "LHYVE VM    ", 12);    /* product ID */
	put_le16(cfg + 34, (uint16_t)(ncpus + n_bus + 1 + n_ioint + n_lint));
	put_le32(cfg + 36, (uint32_t)PLAT_LAPIC_BASE);

	for (unsigned i = 0; i < ncpus; i++) {
		e[0] = MP_ENTRY_CPU;
		e[1] = (uint8_t)i;                      /* local APIC ID */
		e[2] = MP_LAPIC_VERSION;
		e[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		put_le32(e + 4, MP_CPU_SIGNATURE);
		put_le32(e + 8, MP_CPU_FEATURES);
		e += MP_CPU_LEN;
	}

	/* Bus entries in ascending bus ID order. */
	if (n_pci) {
		e[0] = MP_ENTRY_BUS;
		e[1] = MP_PCI_BUS;
		memcpy(e + 2, "PCI   ", 6);
		e += MP_ENTRY_LEN;
	}
	e[0] = MP_ENTRY_BUS;
	e[1] = isa_bus;
	memcpy(e + 2, "ISA   ", 6);
	e += MP_ENTRY_LEN;

	const uint8_t ioapic_id = (uint8_t)ncpus;
	e[0] = MP_ENTRY_IOAPIC;
	e[1] = ioapic_id;
	e[2] = MP_IOAPIC_VERSION;
	e[3] = MP_IOAPIC_EN;
	put_le32(e + 4, (uint32_t)PLAT_IOAPIC_BASE);
	e += MP_ENTRY_LEN;

	for (unsigned irq = 0; irq < MP_ISA_IRQS; irq++) {
		uint8_t pin = (uint8_t)irq;
		uint16_t flags = MP_FLAGS_CONFORM;
		if (irq == 2)
			continue;               /* cascade: not connected */
		if (irq == PLAT_IRQ_PIT)
			pin = 2;                /* as the MADT override says */
		if (irq == PLAT_IRQ_SCI)
			flags = MP_FLAGS_LEVEL_HIGH;
		e = mptable_entry8(e, MP_ENTRY_IOINT, MP_INT, flags, isa_bus, (uint8_t)irq,
				   ioapic_id, pin);
	}
	/* PCI source IRQ: bits 6:2 device number, bits 1:0 pin (0 = INTA#). */
	for (unsigned slot = 0; slot < MP_PCI_SLOTS; slot++) {
		for (unsigned pin = 1; pin <= MP_PCI_PINS; pin++) {
			if (!(used[slot] & (1u << (pin - 1))))
				continue;
			e = mptable_entry8(e, MP_ENTRY_IOINT, MP_INT, MP_FLAGS_LEVEL_LOW,
					   MP_PCI_BUS, (uint8_t)((slot << 2) | (pin - 1)),
					   ioapic_id, (uint8_t)pci_intx_gsi(slot, pin));
		}
	}
	e = mptable_entry8(e, MP_ENTRY_LINT, MP_EXTINT, MP_FLAGS_CONFORM, isa_bus, 0,
			   MP_ALL_LAPICS, 0);
	e = mptable_entry8(e, MP_ENTRY_LINT, MP_NMI, MP_FLAGS_CONFORM, isa_bus, 0,
			   MP_ALL_LAPICS, 1);
	if ((size_t)(e - buf) != total)
		abort(); /* our own layout arithmetic */
	cfg[7] = (uint8_t)-byte_sum(cfg, cfg_len);

	return gm_write(gm, PLAT_EBDA, buf, total);
}
