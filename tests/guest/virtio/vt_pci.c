/*
 * test=pci: list every function on bus 0 with IDs, class, header type,
 * BARs (sized with decode off), interrupt pin/line and capabilities, and
 * check that ECAM and 0xCF8/0xCFC agree and that a BAR decodes only once
 * the command register's memory bit is set.
 */
#include "vt.h"

static uint32_t bar_size(uint32_t bdf, unsigned off, uint32_t *orig)
{
	uint32_t sz;

	*orig = pcicfg_read32(bdf, off);
	pcicfg_write32(bdf, off, 0xFFFFFFFFu);
	sz = pcicfg_read32(bdf, off);
	pcicfg_write32(bdf, off, *orig);
	if (!sz)
		return 0;
	sz &= (*orig & 1) ? ~3u : ~0xFu;
	return ~sz + 1;
}

static void pci_list_fn(uint32_t bdf, unsigned *bad)
{
	uint32_t id = pcicfg_read32(bdf, 0), cls = pcicfg_read32(bdf, 8);
	uint16_t cmd = pcicfg_read16(bdf, 4);
	uint8_t hdr = pcicfg_read8(bdf, 0x0E);
	char caps[64];
	size_t n = 0;
	unsigned p;

	printf("pci %02x:%02x.%x %04x:%04x class=%02x.%02x.%02x hdr=0x%02x "
	       "pin=%u line=%u\n", bdf >> 8, (bdf >> 3) & 31, bdf & 7,
	       id & 0xFFFF, id >> 16, cls >> 24, (cls >> 16) & 0xFF,
	       (cls >> 8) & 0xFF, hdr, pcicfg_read8(bdf, 0x3D),
	       pcicfg_read8(bdf, 0x3C));
	if (pcicfg_ecam_read32(bdf, 0) != id || pcicfg_ecam_read32(bdf, 8) != cls) {
		printf("pci: ECAM disagrees at %02x.%x: 0x%x\n", (bdf >> 3) & 31,
		       bdf & 7, pcicfg_ecam_read32(bdf, 0));
		(*bad)++;
	}
	if ((hdr & 0x7F) != 0)
		return;
	/* Size the BARs with decode off, as firmware does. */
	pcicfg_write16(bdf, 4, cmd & ~3);
	for (unsigned b = 0; b < 6; b++) {
		uint32_t orig, sz = bar_size(bdf, 0x10 + 4 * b, &orig);
		bool is64 = !(orig & 1) && ((orig >> 1) & 3) == 2;
		uint64_t addr = orig & ((orig & 1) ? ~3u : ~0xFu);

		if (is64)
			addr |= (uint64_t)pcicfg_read32(bdf, 0x14 + 4 * b) << 32;
		if (sz)
			printf("pci %02x:%02x.%x bar%u %s addr=0x%lx size=0x%x\n",
			       bdf >> 8, (bdf >> 3) & 31, bdf & 7, b,
			       (orig & 1) ? "io" : is64 ? "mem64" : "mem32",
			       (unsigned long)addr, sz);
		if (is64)
			b++;
	}
	pcicfg_write16(bdf, 4, cmd);
	p = (pcicfg_read16(bdf, 6) & 0x10) ? pcicfg_read8(bdf, 0x34) : 0;
	for (int i = 0; i < 16 && p >= 0x40 && n + 6 < sizeof(caps); i++) {
		n += (size_t)snprintf(caps + n, sizeof(caps) - n, " %02x", pcicfg_read8(bdf, p));
		p = pcicfg_read8(bdf, p + 1);
	}
	caps[n] = 0;
	if (n)
		printf("pci %02x:%02x.%x caps%s\n", bdf >> 8, (bdf >> 3) & 31, bdf & 7, caps);
}

/* A virtio BAR must not answer while memory decode is off. */
static int pci_decode_check(void)
{
	int bdf = vd_find(VIRTIO_DEV_RNG, 0);
	uint32_t bar;
	uint16_t before, after;
	uint16_t cmd;

	if (bdf < 0)
		bdf = vd_find(VIRTIO_DEV_BLK, 0);
	if (bdf < 0)
		return 0;
	bar = pcicfg_read32((uint32_t)bdf, 0x10) & ~0xFu;
	cmd = pcicfg_read16((uint32_t)bdf, 4);
	pcicfg_write16((uint32_t)bdf, 4, cmd & ~2);
	before = *(volatile uint16_t *)(uintptr_t)(bar + 0x12); /* num_queues */
	pcicfg_write16((uint32_t)bdf, 4, cmd | 2);
	after = *(volatile uint16_t *)(uintptr_t)(bar + 0x12);
	pcicfg_write16((uint32_t)bdf, 4, cmd);
	printf("pci: decode off read 0x%x, on read 0x%x\n", before, after);
	if (before == after || after == 0 || after == 0xFFFF) {
		printf("pci: BAR decode does not follow the command register\n");
		return -1;
	}
	return 0;
}

long vt_pci(void *arg)
{
	unsigned nfn = 0, bad = 0;

	for (unsigned dev = 0; dev < 32; dev++)
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t bdf = PCI_BDF(0, dev, fn);

			if ((pcicfg_read32(bdf, 0) & 0xFFFF) == 0xFFFF) {
				if (fn == 0)
					break;
				continue;
			}
			nfn++;
			pci_list_fn(bdf, &bad);
			if (fn == 0 && !(pcicfg_read8(bdf, 0x0E) & 0x80))
				break;
		}
	printf("pci: %u functions\n", nfn);
	if (pci_decode_check())
		bad++;
	return bad ? -1 : 0;
}
