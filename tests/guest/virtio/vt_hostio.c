/*
 * test=hostio: unaligned, narrow and oversized register accesses to every
 * device the VMM emulates, from ring 3:
 *
 *  - a read of every I/O port 0..0xFFFF with 1, 2 and 4 bytes;
 *  - writes of every size at every offset of COM2, the RTC, the PM1/GPE0
 *    blocks, SMI_CMD, POST, 0xCF8-0xCFF, the i8042; odd-sized writes to
 *    COM1 (the console keeps working); byte writes of 0 to every other
 *    port that is not an in-kernel chip. Values never carry the bits that
 *    power off or reset the machine (SLP_EN, 0xCF9 RST_CPU, i8042 0xFE/0xD1);
 *  - PCI configuration space through 0xCFC (1/2/4 bytes at every offset,
 *    aligned and not) and ECAM (1/2/4/8 bytes), reads of absent functions,
 *    writes of 0xFF.., 0x5A.. and 0 at every offset of virtio-rnd, the host
 *    bridge and the LPC bridge (restored afterwards);
 *  - every virtio BAR (blk, rnd, console): 1/2/4/8-byte reads and writes at
 *    every offset of the common configuration, ISR, device configuration,
 *    notify area, MSI-X table and PBA, the gaps and the end of the BAR;
 *  - unbacked MMIO (HPET hole, ECAM end, top of 4 GiB).
 *
 * Afterwards every device must work: virtio-blk GET_ID, virtio-rnd bytes,
 * virtio-console output, COM1 and COM2 output, RTC, PM timer, config space.
 * Lines: "hostio: ..." and finally "hostio: N failures". Command line:
 * sweep_full=1: every I/O port (default: all below 0x1000, every 7th above;
 * each access is a VM exit, ~70 us on nested hosts).
 */
#include "vt.h"

#define RTC_IDX 0x70
#define RTC_DATA 0x71
#define PM_BASE 0x400
#define PM_LEN 16
#define SMI_CMD 0xB2

struct hio {
	unsigned failures;
	uint8_t *buf, *hdr, *status;
};

static void hio_fail(struct hio *x, const char *what)
{
	printf("hostio: FAILED: %s\n", what);
	x->failures++;
}

static uint32_t hio_in(uint16_t port, unsigned size)
{
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void hio_out(uint16_t port, unsigned size, uint32_t v)
{
	if (size == 1)
		outb(port, (uint8_t)v);
	else if (size == 2)
		outw(port, (uint16_t)v);
	else
		outl(port, v);
}

/* Every size at every port in [base, base+len) (plus the 3 ports after,
 * so accesses hang over the end), each value in vals. */
static void hio_pio_sweep(uint16_t base, unsigned len, const uint32_t *vals, unsigned nvals)
{
	for (unsigned p = base; p < base + len + 3u; p++)
		for (unsigned sz = 1; sz <= 4; sz *= 2)
			for (unsigned k = 0; k < nvals; k++) {
				hio_out((uint16_t)p, sz, vals[k]);
				(void)hio_in((uint16_t)p, sz);
			}
}

static bool hio_port_skip(unsigned p)
{
	return p == 0x20 || p == 0x21 || p == 0xA0 || p == 0xA1 || /* in-kernel PICs */
	       (p >= 0x40 && p <= 0x43) || p == 0x61 ||            /* PIT, speaker */
	       p == 0x4D0 || p == 0x4D1 ||                         /* ELCR */
	       p == 0x60 || p == 0x64 || p == 0x70 || p == 0x71 ||  /* done separately */
	       (p >= 0x3F8 && p <= 0x3FF) || (p >= 0xCF8 && p <= 0xCFF) ||
	       (p >= PM_BASE && p < PM_BASE + PM_LEN) || p == SMI_CMD;
}

static void hio_ports(struct hio *x)
{
	static const uint32_t safe[] = { 0, 0x5A5A5A5Au, 0xDFDFDFDFu };
	static const uint32_t anyv[] = { 0, 0xFFFFFFFFu, 0x5A5A5A5Au };
	static const uint32_t cf8v[] = { 0, 0x5A5A5A5Au, 0xFAFAFAFAu };
	uint32_t t0 = vd_ms(), ones = 0, n = 0;
	/* Every exit costs ~70 us on the nested CI hosts: by default every
	 * port below 0x1000 (all legacy devices) and every 7th above;
	 * sweep_full=1 reads and writes all 64 Ki ports. */
	unsigned step = vt_opt("sweep_full", 0) ? 1 : 7;

	for (unsigned p = 0; p < 0x10000; p += p < 0x1000 ? 1 : step)
		for (unsigned sz = 1; sz <= 4 && p + sz <= 0x10000; sz *= 2, n++)
			if (hio_in((uint16_t)p, sz) == (sz == 4 ? 0xFFFFFFFFu : (1u << (8 * sz)) - 1))
				ones++;
	printf("hostio: read %u ports x 1/2/4 bytes in %u ms (%u all ones)\n", n,
	       vd_ms() - t0, ones);

	t0 = vd_ms();
	hio_pio_sweep(0x2F8, 8, anyv, 3);                   /* COM2 */
	hio_pio_sweep(PM_BASE, PM_LEN, safe, 3);            /* PM1 evt/cnt, PM timer, GPE0 */
	hio_pio_sweep(0xCF8, 8, cf8v, 3);                   /* PCI address/data, 0xCF9 */
	hio_pio_sweep(0x80, 1, anyv, 3);                    /* POST */
	for (unsigned i = 0; i < 4; i++) {                  /* SMI_CMD */
		static const uint8_t smi[] = { 0xA0, 0xA1, 0x00, 0x5A };

		for (unsigned sz = 1; sz <= 4; sz *= 2)
			hio_out(SMI_CMD, sz, smi[i]);
	}
	/* RTC: every index, reads and NVRAM writes; garbage in A/B, restored */
	for (unsigned idx = 0; idx < 256; idx++) {
		outb(RTC_IDX, (uint8_t)idx);
		(void)inb(RTC_DATA);
		if ((idx & 0x7F) >= 0x0E) {
			outb(RTC_IDX, (uint8_t)idx);
			outb(RTC_DATA, (uint8_t)(idx ^ 0x5A));
		}
	}
	for (unsigned reg = 0x0A; reg <= 0x0D; reg++)
		for (unsigned k = 0; k < 3; k++) {
			outb(RTC_IDX, (uint8_t)reg);
			outb(RTC_DATA, (uint8_t)anyv[k]);
		}
	for (unsigned sz = 2; sz <= 4; sz *= 2)
		for (unsigned k = 0; k < 3; k++) {
			hio_out(RTC_IDX, sz, anyv[k]);
			hio_out(RTC_DATA, sz, anyv[k]);
			(void)hio_in(RTC_IDX, sz);
			(void)hio_in(RTC_DATA, sz);
		}
	outb(RTC_IDX, 0x0A);
	outb(RTC_DATA, 0x26);
	outb(RTC_IDX, 0x0B);
	outb(RTC_DATA, 0x02);
	/* i8042: harmless commands only, data after "read command byte" */
	{
		static const uint8_t cmds[] = { 0x20, 0xAA, 0xAD, 0xAE, 0xA7, 0xA8, 0x20 };

		for (unsigned i = 0; i < sizeof(cmds); i++) {
			outb(0x64, cmds[i]);
			(void)inb(0x64);
			(void)inb(0x60);
		}
		for (unsigned k = 0; k < 3; k++)
			outb(0x60, (uint8_t)safe[k]);
		for (unsigned sz = 2; sz <= 4; sz *= 2) {
			(void)hio_in(0x60, sz);
			(void)hio_in(0x64, sz);
			hio_out(0x60, sz, 0);
		}
	}
	/* COM1: every read, odd-sized writes (ignored), then re-initialised */
	for (unsigned p = 0x3F8; p < 0x400; p++)
		for (unsigned sz = 1; sz <= 4; sz *= 2) {
			(void)hio_in((uint16_t)p, sz);
			if (sz > 1)
				hio_out((uint16_t)p, sz, 0x5A5A5A5Au);
		}
	uart_init(COM1);
	/* byte writes of 0 to every other port */
	for (unsigned p = 0; p < 0x10000; p += p < 0x1000 ? 1 : step)
		if (!hio_port_skip(p))
			outb((uint16_t)p, 0);
	uart_init(COM2);
	cprintf(COM2, "\ncom2: alive after the port sweep\n");
	printf("hostio: port write sweeps in %u ms\n", vd_ms() - t0);
}

/* ---- PCI configuration space ---- */

static uint32_t cfg_addr(uint32_t bdf, unsigned off)
{
	return 0x80000000u | bdf << 8 | (off & 0xFC);
}

static void hio_cfg_write_sweep(uint32_t bdf, unsigned maxsz)
{
	static const uint32_t vals[] = { 0xFFFFFFFFu, 0x5A5A5A5Au, 0 };

	for (unsigned off = 0; off < 256; off += maxsz == 4 ? 1 : 4)
		for (unsigned sz = maxsz == 4 ? 1 : 4; sz <= 4; sz *= 2)
			for (unsigned k = 0; k < 3; k++) {
				outl(0xCF8, cfg_addr(bdf, off));
				hio_out((uint16_t)(0xCFC + (off & 3)), sz, vals[k]);
				(void)hio_in((uint16_t)(0xCFC + (off & 3)), sz);
			}
}

static void hio_pci(struct hio *x, uint32_t rnd_bdf)
{
	static const uint32_t victims_fixed[] = { PCI_BDF(0, 0, 0), PCI_BDF(0, 31, 0) };
	uint32_t t0 = vd_ms(), present = 0;
	uint32_t saved[64];

	/* reads: every function on bus 0, a few on other buses */
	for (unsigned dev = 0; dev < 32; dev++)
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t bdf = PCI_BDF(0, dev, fn);

			if ((pcicfg_read32(bdf, 0) & 0xFFFF) == 0xFFFF)
				continue;
			present++;
			for (unsigned off = 0; off < 256; off++)
				for (unsigned sz = 1; sz <= 4; sz *= 2) {
					outl(0xCF8, cfg_addr(bdf, off));
					(void)hio_in((uint16_t)(0xCFC + (off & 3)), sz);
				}
			for (unsigned off = 0; off < 4096; off += off < 256 ? 4 : 252)
				for (unsigned sz = 1; sz <= 8; sz *= 2) {
					uintptr_t a = PCI_ECAM_BASE + ((uintptr_t)bdf << 12) + off;

					if (sz == 1)
						(void)*(volatile uint8_t *)(a + 3);
					else if (sz == 2)
						(void)*(volatile uint16_t *)(a + 1);
					else if (sz == 4)
						(void)*(volatile uint32_t *)(a + 2);
					else
						(void)*(volatile uint64_t *)a;
				}
		}
	for (unsigned b = 1; b < 256; b += 127)
		if (pcicfg_read32(PCI_BDF(b, 0, 0), 0) != 0xFFFFFFFFu ||
		    pcicfg_ecam_read32(PCI_BDF(b, 31, 7), 0) != 0xFFFFFFFFu)
			hio_fail(x, "absent function does not read as all ones");
	printf("hostio: config reads of %u functions (0xCFC and ECAM) in %u ms\n", present,
	       vd_ms() - t0);

	/* writes: virtio-rnd, host bridge, LPC; restore what matters */
	t0 = vd_ms();
	for (unsigned i = 0; i < 64; i++)
		saved[i] = pcicfg_read32(rnd_bdf, 4 * i);
	hio_cfg_write_sweep(rnd_bdf, 4);
	for (unsigned i = 0; i < 2; i++) {
		uint16_t cmd = pcicfg_read16(victims_fixed[i], 4);

		hio_cfg_write_sweep(victims_fixed[i], 0);
		pcicfg_write16(victims_fixed[i], 4, cmd);
	}
	/* ECAM: extended space, 8-byte and unaligned writes to virtio-rnd */
	for (unsigned off = 0; off < 4096; off += off < 256 ? 4 : 60) {
		uintptr_t a = PCI_ECAM_BASE + ((uintptr_t)rnd_bdf << 12) + off;

		if (off >= 0x100)
			*(volatile uint32_t *)a = 0x5A5A5A5Au;
		*(volatile uint64_t *)a = ~0ull;
		*(volatile uint16_t *)(a + 1) = 0x5A5A;
	}
	pcicfg_write32(rnd_bdf, 0x10, saved[4]);
	pcicfg_write32(rnd_bdf, 0x3C, saved[15]);
	if (pcicfg_find_cap(rnd_bdf, 0x11, 0))
		pcicfg_write16(rnd_bdf, pcicfg_find_cap(rnd_bdf, 0x11, 0) + 2, 0); /* MSI-X off */
	pcicfg_write16(rnd_bdf, 4, (uint16_t)saved[1]);
	if (pcicfg_read32(rnd_bdf, 0) != saved[0] || pcicfg_read32(rnd_bdf, 0x10) != saved[4])
		hio_fail(x, "virtio-rnd IDs or BAR not restored after the config sweep");
	printf("hostio: config write sweeps (rnd, hostbridge, lpc) in %u ms\n", vd_ms() - t0);
}

/* ---- virtio BARs ---- */

static void hio_mmio(uintptr_t a, unsigned sz, bool write, uint64_t v)
{
	switch (sz) {
	case 1:
		if (write) *(volatile uint8_t *)a = (uint8_t)v;
		else (void)*(volatile uint8_t *)a;
		break;
	case 2:
		if (write) *(volatile uint16_t *)a = (uint16_t)v;
		else (void)*(volatile uint16_t *)a;
		break;
	case 4:
		if (write) *(volatile uint32_t *)a = (uint32_t)v;
		else (void)*(volatile uint32_t *)a;
		break;
	default:
		if (write) *(volatile uint64_t *)a = v;
		else (void)*(volatile uint64_t *)a;
		break;
	}
}

static void hio_bar(struct vd *d, const char *name)
{
	static const struct {
		uint32_t off, len;
	} r[] = {
		{ 0x0000, 0x48 }, { 0x1000, 0x10 }, { 0x2000, 0x108 }, { 0x3000, 0x20 },
		{ 0x4000, 0x60 }, { 0x5FF8, 0x20 }, { 0x7FE8, 0x18 },
	};
	static const uint64_t vals[] = { 0, ~0ull, 0x5A5A5A5A5A5A5A5Aull };
	uint32_t t0 = vd_ms();
	unsigned n = 0;

	if (d->msix_cap)
		pcicfg_write16(d->bdf, d->msix_cap + 2, 0); /* MSI-X off */
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		for (uint32_t o = r[i].off; o < r[i].off + r[i].len; o++)
			for (unsigned sz = 1; sz <= 8; sz *= 2) {
				if (o + sz > 0x8000)
					continue;
				hio_mmio(d->bar + o, sz, false, 0);
				for (unsigned k = 0; k < 3; k++)
					hio_mmio(d->bar + o, sz, true, vals[k]);
				n += 4;
			}
	/* an access hanging over the end of the BAR */
	hio_mmio(d->bar + 0x7FFC, 8, false, 0);
	hio_mmio(d->bar + 0x7FFC, 8, true, 0);
	/* leave every MSI-X vector masked with a harmless message */
	if (d->msix_cap) {
		unsigned nvec = (pcicfg_read16(d->bdf, d->msix_cap + 2) & 0x7FF) + 1;

		for (unsigned v = 0; v < nvec; v++) {
			mmio_write32(d->bar + d->msix_table + 16 * v, 0xFEE00000u);
			mmio_write32(d->bar + d->msix_table + 16 * v + 4, 0);
			mmio_write32(d->bar + d->msix_table + 16 * v + 8, 0x7F);
			mmio_write32(d->bar + d->msix_table + 16 * v + 12, 1);
		}
	}
	vd_set_status(d, 0);
	printf("hostio: %s BAR: %u accesses (1/2/4/8 bytes, every offset) in %u ms\n",
	       name, n, vd_ms() - t0);
}

static void hio_unbacked(void)
{
	static const uintptr_t a[] = { 0xFED00000u, 0xEFFFFFF8u, 0xFFFFFFF0u, 0xC8000000u,
				       0xFEBFFFFCu };

	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		for (unsigned sz = 1; sz <= 8; sz *= 2) {
			hio_mmio(a[i], sz, false, 0);
			hio_mmio(a[i] + 1, sz, true, 0x5A5A5A5A5A5A5A5Aull);
		}
}

/* ---- afterwards: everything works ---- */

static int hio_dev(struct hio *x, uint16_t id, struct vd *d)
{
	int bdf = vd_find(id, 0);

	if (bdf < 0 || vd_probe(d, (uint32_t)bdf))
		return -1;
	return 0;
}

static void hio_check_all(struct hio *x)
{
	struct vd d;
	struct vd_buf v[3];
	uint8_t s1, s2;
	uint64_t t1, t2;

	if (hio_dev(x, VIRTIO_DEV_BLK, &d) || vd_init(&d, 0) || vd_queue_setup(&d, 0, 8)) {
		hio_fail(x, "virtio-blk re-init");
	} else {
		vd_driver_ok(&d);
		memset(x->hdr, 0, 16);
		x->hdr[0] = 8; /* GET_ID */
		*x->status = 0xEE;
		v[0] = (struct vd_buf){ x->hdr, 16, false };
		v[1] = (struct vd_buf){ x->buf, 20, true };
		v[2] = (struct vd_buf){ x->status, 1, true };
		if (vd_xfer(&d.q[0], v, 3, 5000) < 0 || *x->status != 0)
			hio_fail(x, "virtio-blk GET_ID after the sweeps");
		else
			printf("hostio: virtio-blk works\n");
	}
	if (hio_dev(x, VIRTIO_DEV_RNG, &d) || vd_init(&d, 0) || vd_queue_setup(&d, 0, 8)) {
		hio_fail(x, "virtio-rnd re-init");
	} else {
		vd_driver_ok(&d);
		v[0] = (struct vd_buf){ x->buf, 32, true };
		if (vd_xfer(&d.q[0], v, 1, 5000) <= 0)
			hio_fail(x, "virtio-rnd after the sweeps");
		else
			printf("hostio: virtio-rnd works\n");
	}
	if (hio_dev(x, VIRTIO_DEV_CONSOLE, &d) || vd_init(&d, 0) || vd_queue_setup(&d, 0, 8) ||
	    vd_queue_setup(&d, 1, 8)) {
		hio_fail(x, "virtio-console re-init");
	} else {
		vd_driver_ok(&d);
		memcpy(x->buf, "hostio: console\n", 16);
		v[0] = (struct vd_buf){ x->buf, 16, false };
		if (vd_xfer(&d.q[1], v, 1, 5000) < 0)
			hio_fail(x, "virtio-console after the sweeps");
		else
			printf("hostio: virtio-console works\n");
	}
	/* RTC counts, PM timer runs */
	outb(RTC_IDX, 0x00);
	s1 = inb(RTC_DATA);
	t1 = pmt_now_us();
	while (pmt_now_us() - t1 < 1100000)
		cpu_pause();
	outb(RTC_IDX, 0x00);
	s2 = inb(RTC_DATA);
	t2 = pmt_now_us();
	printf("hostio: rtc seconds 0x%x -> 0x%x, pm timer advanced %lu us\n", s1, s2,
	       (unsigned long)(t2 - t1));
	if (s1 == s2)
		hio_fail(x, "RTC seconds do not advance");
	if (pcicfg_ecam_read32(PCI_BDF(0, 0, 0), 0) != pcicfg_read32(PCI_BDF(0, 0, 0), 0))
		hio_fail(x, "ECAM and 0xCF8 disagree");
	cprintf(COM2, "com2: alive at the end\n");
}

long vt_hostio(void *arg)
{
	struct hio *x = vd_alloc(sizeof(*x), 64);
	const struct {
		uint16_t id;
		const char *name;
	} devs[] = {
		{ VIRTIO_DEV_BLK, "blk" }, { VIRTIO_DEV_RNG, "rnd" }, { VIRTIO_DEV_CONSOLE, "console" },
	};
	struct vd d;
	int rnd = vd_find(VIRTIO_DEV_RNG, 0);

	x->buf = vd_alloc(4096, 4096);
	x->hdr = vd_alloc(16, 16);
	x->status = vd_alloc(1, 1);
	if (rnd < 0) {
		printf("hostio: no virtio-rnd\n");
		return -1;
	}
	hio_ports(x);
	printf("hostio: COM1 works after its sweep\n");
	hio_pci(x, (uint32_t)rnd);
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		if (hio_dev(x, devs[i].id, &d)) {
			hio_fail(x, "virtio device missing");
			continue;
		}
		hio_bar(&d, devs[i].name);
	}
	hio_unbacked();
	printf("hostio: unbacked MMIO done\n");
	hio_check_all(x);
	printf("hostio: %u failures\n", x->failures);
	return x->failures ? -1 : 0;
}
