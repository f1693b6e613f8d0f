/*
 * Shared fixture of the PCI harnesses (fuzz_pci.c, fuzz_virtio_pci.c): a
 * PCI bus over a fake pci_host (PIO and MMIO buses, counting irq chip,
 * 8 MiB of fake guest RAM), wired like src/core/machine.c does it: ports
 * 0xCF8 and 0xCFC-0xCFF and the ECAM window, firmware-style BAR
 * assignment. Functions: hostbridge 0:0.0, virtio-rnd 0:4.0 and 0:5.0, lpc
 * 0:31.0. (virtio-rnd keeps inputs fast: a block backend costs ~1 ms to
 * open; fuzz_virtio_blk covers virtio-blk.)
 *
 * The input is a stream of guest actions: port and MMIO accesses anywhere,
 * config space accesses through all three mechanisms, accesses inside a
 * chosen BAR of a chosen function at its current address (so BAR moves are
 * followed), MSI-X table/PBA accesses, guest RAM writes (virtqueues), and
 * interrupt signalling from the device side.
 */
#ifndef LHYVE_FUZZ_PCI_H
#define LHYVE_FUZZ_PCI_H

#include "fuzz.h"
#include "lhyve/bus.h"
#include "lhyve/config.h"
#include "lhyve/event.h"
#include "lhyve/pci.h"
#include "lhyve/x86_platform.h"

#define FZP_RAM (8ULL << 20)
#define FZP_MAXDEV 8

struct fzp {
	struct guest_mem gm;
	struct bus pio, mmio;
	struct fz_irq irqs;
	struct irq_chip chip;
	struct evloop *loop;
	struct pci_host host;
	struct pci_bus *pb;
	struct config *cfg;
	struct pci_dev *dev[FZP_MAXDEV];
	unsigned ndev;
};

static inline void fzp_collect(void *opaque, struct pci_dev *d)
{
	struct fzp *f = opaque;
	if (f->ndev < FZP_MAXDEV)
		f->dev[f->ndev++] = d;
}

static inline void fzp_add(struct fzp *f, unsigned slot, const char *model)
{
	char node[32], err[256];
	const struct pci_model *m = pci_model_find(model);

	snprintf(node, sizeof(node), "pci.0.%u.0", slot);
	if (!m || pci_bus_add(f->pb, 0, slot, 0, m, f->cfg, node, err, sizeof(err)) < 0) {
		fprintf(stderr, "pci_bus_add %s: %s\n", model, err);
		abort();
	}
}

static inline void fzp_init(struct fzp *f, bool msix)
{
	char err[256];

	memset(f, 0, sizeof(*f));
	fz_gm_acquire(&f->gm, FZP_RAM);
	if (bus_init(&f->pio, "pio") < 0 ||
	    bus_init(&f->mmio, "mmio") < 0 || !(f->loop = evloop_new()) ||
	    !(f->cfg = config_new()))
		abort();
	f->chip = (struct irq_chip){ &fz_irq_ops, &f->irqs };
	f->host = (struct pci_host){ .pio = &f->pio, .mmio = &f->mmio, .irq = &f->chip,
				     .gm = &f->gm, .loop = f->loop, .vm_name = "fuzz",
				     .msix = msix };
	if (!(f->pb = pci_bus_new(&f->host)))
		abort();
	fzp_add(f, 0, "hostbridge");
	fzp_add(f, 4, "virtio-rnd");
	fzp_add(f, 5, "virtio-rnd");
	fzp_add(f, 31, "lpc");
	if (pci_bus_assign(f->pb, GM_HIGHMEM_BASE, err, sizeof(err)) < 0 ||
	    bus_register(&f->mmio, PLAT_ECAM_BASE, PLAT_ECAM_SIZE, pci_ecam_io, f->pb,
			 "ecam") < 0 ||
	    bus_register(&f->pio, 0xCF8, 4, pci_cfgaddr_io, f->pb, "cfgaddr") < 0 ||
	    bus_register(&f->pio, 0xCFC, 4, pci_cfgdata_io, f->pb, "cfgdata") < 0)
		abort();
	pci_bus_foreach(f->pb, fzp_collect, f);
}

static inline void fzp_fini(struct fzp *f)
{
	pci_bus_free(f->pb);
	bus_destroy(&f->pio);
	bus_destroy(&f->mmio);
	evloop_free(f->loop);
	config_free(f->cfg);
	fz_gm_release(&f->gm);
}

/* One guest action; `bar_bias` makes BAR-relative accesses more likely. */
static inline void fzp_step(struct fzp *f, struct fz *in, bool bar_bias)
{
	uint8_t op = fz_u8(in);
	unsigned sel = bar_bias ? op % 12 : op % 10;
	uint64_t v;

	switch (sel) {
	case 0: { /* a port access anywhere in the low 64 KiB */
		uint16_t port = fz_u16(in);
		unsigned sz = fz_size(in);
		v = fz_u32(in);
		bus_access(&f->pio, port, sz > 4 ? 4 : sz, op & 0x80, &v);
		break;
	}
	case 1: { /* configuration mechanism #1: address then data */
		uint64_t a = 0x80000000u | (fz_u32(in) & 0x00fffffcu);
		unsigned sz = fz_size(in), off = fz_u8(in) & 3;
		if (op & 0x40)
			a &= ~0x80000000ULL; /* disabled */
		bus_access(&f->pio, 0xCF8, 4, true, &a);
		v = fz_u32(in);
		if (sz > 4)
			sz = 4;
		if (off + sz <= 4)
			bus_access(&f->pio, 0xCFC + off, sz, op & 0x80, &v);
		break;
	}
	case 2: { /* ECAM, mostly bus 0 */
		uint64_t off = (op & 0x40) ? fz_u32(in) % PLAT_ECAM_SIZE
					   : (fz_u32(in) & 0xfffffu);
		unsigned sz = fz_size(in);
		v = fz_u64(in);
		bus_access(&f->mmio, PLAT_ECAM_BASE + off, sz, op & 0x80, &v);
		break;
	}
	case 3: { /* direct config access to a present function */
		struct pci_dev *d = f->dev[fz_u8(in) % f->ndev];
		unsigned reg = fz_u16(in) & 0xfff, sz = fz_size(in);
		v = fz_u32(in);
		if (sz > 4)
			sz = 4;
		if (op & 0x80)
			pci_cfg_write(f->pb, d->bus, d->slot, d->func, reg, sz, (uint32_t)v);
		else
			pci_cfg_read(f->pb, d->bus, d->slot, d->func, reg, sz);
		break;
	}
	case 4: { /* an MMIO access anywhere */
		uint64_t a = fz_u64(in);
		unsigned sz = fz_size(in);
		v = fz_u64(in);
		bus_access(&f->mmio, a, sz, op & 0x80, &v);
		break;
	}
	case 5: { /* raw guest RAM write (rings, buffers) */
		uint8_t buf[64];
		uint64_t gpa = fz_addr(in, FZP_RAM);
		size_t n = fz_bytes(in, buf, fz_u8(in) % sizeof(buf));
		gm_write(&f->gm, gpa, buf, n);
		break;
	}
	case 6: { /* device side: signal a vector / INTx */
		struct pci_dev *d = f->dev[fz_u8(in) % f->ndev];
		unsigned vec = fz_u16(in);
		if (op & 0x80)
			pci_intx_set(d, op & 0x40);
		else if (!pci_signal(d, vec))
			pci_intx_set(d, true);
		pci_msix_enabled(d);
		pci_msi_enabled(d);
		break;
	}
	case 7: /* command register: decode enable/disable of a function */
	{
		struct pci_dev *d = f->dev[fz_u8(in) % f->ndev];
		pci_cfg_write(f->pb, d->bus, d->slot, d->func, 4, 2, fz_u16(in));
		break;
	}
	case 8: { /* MSI-X table/PBA through the device handler */
		struct pci_dev *d = f->dev[fz_u8(in) % f->ndev];
		uint64_t off = fz_u16(in);
		unsigned sz = fz_size(in);
		v = fz_u64(in);
		if (d->msix)
			pci_msix_io(d, off, sz, op & 0x80, &v);
		break;
	}
	case 9:
		evloop_run_once(f->loop, 0);
		break;
	default: { /* inside BAR b of a function at its current address */
		struct pci_dev *d = f->dev[fz_u8(in) % f->ndev];
		struct pci_bar *b = &d->bar[fz_u8(in) % 6];
		uint64_t off = fz_u16(in);
		unsigned sz = fz_size(in);
		v = fz_u64(in);
		if (b->type == PCI_BAR_NONE || !b->size)
			break;
		off %= b->size;
		bus_access(b->type == PCI_BAR_IO ? &f->pio : &f->mmio, b->addr + off, sz,
			   op & 0x80, &v);
		break;
	}
	}
}

#endif
