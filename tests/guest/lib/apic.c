/* Local APIC (xAPIC MMIO), IOAPIC and legacy 8259 setup. */
#include "rt.h"

#define LAPIC_ID 0x20
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_PENDING (1u << 12)

static uintptr_t lapic_base(void)
{
	uint32_t a = rt_state()->acpi.lapic_addr;

	return a ? a : 0xFEE00000u;
}

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(lapic_base() + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(lapic_base() + reg, v);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

int lapic_ipi(uint32_t apic_id, uint32_t icr_low)
{
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	for (int i = 0; i < 1000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_PENDING))
			return 0;
		udelay(10);
	}
	return -1;
}

uint32_t ioapic_read_id(unsigned i)
{
	uintptr_t base = rt_state()->acpi.ioapic_addr[i];

	mmio_write32(base, 0); /* IOAPICID */
	return (mmio_read32(base + 0x10) >> 24) & 0xF;
}

/* The IOAPIC serving gsi: base address and pin, or 0. */
static uintptr_t ioapic_for(uint32_t gsi, uint32_t *pin)
{
	const struct acpi_info *a = &rt_state()->acpi;

	for (unsigned i = 0; i < a->nioapic; i++) {
		uintptr_t base = a->ioapic_addr[i];
		uint32_t n;

		mmio_write32(base, 1); /* IOAPICVER */
		n = ((mmio_read32(base + 0x10) >> 16) & 0xFF) + 1;
		if (gsi >= a->ioapic_gsi_base[i] && gsi < a->ioapic_gsi_base[i] + n) {
			*pin = gsi - a->ioapic_gsi_base[i];
			return base;
		}
	}
	return 0;
}

int ioapic_route(uint32_t gsi, uint8_t vector, bool level, bool active_low,
		 uint32_t dest_apic)
{
	uint32_t pin, lo = vector;
	uintptr_t base = ioapic_for(gsi, &pin);

	if (!base)
		return -1;
	if (level)
		lo |= 1u << 15;
	if (active_low)
		lo |= 1u << 13;
	mmio_write32(base, 0x10 + 2 * pin + 1);
	mmio_write32(base + 0x10, dest_apic << 24);
	mmio_write32(base, 0x10 + 2 * pin);
	mmio_write32(base + 0x10, lo);
	return 0;
}

void ioapic_mask(uint32_t gsi)
{
	uint32_t pin;
	uintptr_t base = ioapic_for(gsi, &pin);

	if (!base)
		return;
	mmio_write32(base, 0x10 + 2 * pin);
	mmio_write32(base + 0x10, 1u << 16);
}

int isa_irq_route(uint8_t irq, uint8_t vector, uint32_t dest_apic)
{
	uint16_t flags;
	uint32_t gsi = acpi_isa_gsi(irq, &flags);
	/* MADT flags: polarity 1=high 3=low, trigger 1=edge 3=level; 0 = bus
	 * default, which for ISA is edge, active high. */
	bool active_low = (flags & 3) == 3;
	bool level = ((flags >> 2) & 3) == 3;

	return ioapic_route(gsi, vector, level, active_low, dest_apic);
}

void pic_init_masked(void)
{
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
	outb(0xA0, 0x11);
	outb(0x21, VEC_PIC_BASE);
	outb(0xA1, VEC_PIC_BASE + 8);
	outb(0x21, 0x04); /* slave on IR2 */
	outb(0xA1, 0x02);
	outb(0x21, 0x01); /* 8086 mode */
	outb(0xA1, 0x01);
	outb(0x21, 0xFF); /* mask everything */
	outb(0xA1, 0xFF);
}
