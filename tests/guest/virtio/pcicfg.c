/* PCI configuration space access: mechanism #1 (ports 0xCF8/0xCFC) and ECAM. */
#include "vt.h"

static uint32_t pcicfg_addr(uint32_t bdf, unsigned off)
{
	return 0x80000000u | bdf << 8 | (off & 0xFC);
}

uint32_t pcicfg_read32(uint32_t bdf, unsigned off)
{
	outl(0xCF8, pcicfg_addr(bdf, off));
	return inl(0xCFC);
}

void pcicfg_write32(uint32_t bdf, unsigned off, uint32_t v)
{
	outl(0xCF8, pcicfg_addr(bdf, off));
	outl(0xCFC, v);
}

uint16_t pcicfg_read16(uint32_t bdf, unsigned off)
{
	outl(0xCF8, pcicfg_addr(bdf, off));
	return inw((uint16_t)(0xCFC + (off & 2)));
}

void pcicfg_write16(uint32_t bdf, unsigned off, uint16_t v)
{
	outl(0xCF8, pcicfg_addr(bdf, off));
	outw((uint16_t)(0xCFC + (off & 2)), v);
}

uint8_t pcicfg_read8(uint32_t bdf, unsigned off)
{
	outl(0xCF8, pcicfg_addr(bdf, off));
	return inb((uint16_t)(0xCFC + (off & 3)));
}

uint32_t pcicfg_ecam_read32(uint32_t bdf, unsigned off)
{
	return mmio_read32(PCI_ECAM_BASE + ((uintptr_t)bdf << 12) + (off & 0xFFC));
}

unsigned pcicfg_find_cap(uint32_t bdf, uint8_t id, unsigned from)
{
	unsigned p;

	if (!(pcicfg_read16(bdf, 0x06) & 0x10)) /* status: capability list */
		return 0;
	p = from ? pcicfg_read8(bdf, from + 1) : pcicfg_read8(bdf, 0x34);
	for (int n = 0; n < 48 && p >= 0x40; n++) {
		p &= 0xFC;
		if (pcicfg_read8(bdf, p) == id)
			return p;
		p = pcicfg_read8(bdf, p + 1);
	}
	return 0;
}
