/*
 * PCI configuration space, BARs and interrupt capabilities of the emulated
 * functions (see lhyve/pci.h for the locking rules).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/config.h"
#include "lhyve/log.h"
#include "lhyve/pci.h"
#include "lhyve/util.h"
#include "lhyve/x86_platform.h"

#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_INTX_DISABLE 0x400
#define PCI_STATUS_INTX 0x08
#define PCI_STATUS_CAPLIST 0x10
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_INT_LINE 0x3C
#define PCI_INT_PIN 0x3D
#define PCI_IO_BASE 0x2000ULL
#define PCI_IO_END 0x10000ULL

struct pci_node {
	struct pci_dev dev;
	struct pci_node *next;
};

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t addr; /* 0xCF8 latch */
	struct pci_node *funcs;
	const struct pci_host *host;
	struct ratelimit rl;
	uint64_t m64_base;
};

struct pci_ids {
	const char *model;
	uint16_t vendor, device;
	uint8_t class, subclass;
};

/* Functions whose model has no init op: bridges with bhyve's IDs. */
static const struct pci_ids pci_default_ids[] = {
	{ "hostbridge", 0x1275, 0x1275, 0x06, 0x00 },
	{ "amd_hostbridge", 0x1022, 0x7432, 0x06, 0x00 },
	{ "lpc", 0x8086, 0x7000, 0x06, 0x01 },
};

struct pci_bus *pci_bus_new(const struct pci_host *host)
{
	struct pci_bus *pb = calloc(1, sizeof(*pb));

	if (!pb)
		return NULL;
	pthread_mutex_init(&pb->lock, NULL);
	pb->host = host;
	pb->rl = (struct ratelimit)RATELIMIT_INIT;
	return pb;
}

static void bar_unmap(struct pci_dev *d, int i)
{
	struct pci_bar *b = &d->bar[i];
	struct bus *bus = b->type == PCI_BAR_IO ? d->host->pio : d->host->mmio;

	if (!b->mapped)
		return;
	if (d->bar_map)
		d->bar_map(d, i, false, b->mapped_addr);
	if (bus)
		bus_unregister(bus, b->mapped_addr, b->opaque);
	b->mapped = false;
}

void pci_bus_free(struct pci_bus *pb)
{
	if (!pb)
		return;
	while (pb->funcs) {
		struct pci_node *n = pb->funcs;
		pb->funcs = n->next;
		for (int i = 0; i < 6; i++)
			if (n->dev.host)
				bar_unmap(&n->dev, i);
		if (n->dev.model->fini)
			n->dev.model->fini(&n->dev);
		free(n->dev.msix);
		free(n->dev.msix_pending);
		pthread_mutex_destroy(&n->dev.irq_lock);
		free(n);
	}
	pthread_mutex_destroy(&pb->lock);
	free(pb);
}

static struct pci_dev *find(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func)
{
	for (struct pci_node *n = pb->funcs; n; n = n->next)
		if (n->dev.bus == bus && n->dev.slot == slot && n->dev.func == func)
			return &n->dev;
	return NULL;
}

bool pci_bus_has_model(struct pci_bus *pb, const char *name)
{
	for (struct pci_node *n = pb->funcs; n; n = n->next)
		if (strcmp(n->dev.model->name, name) == 0)
			return true;
	return false;
}

void pci_bus_foreach(struct pci_bus *pb, void (*fn)(void *opaque, struct pci_dev *d),
		     void *opaque)
{
	for (struct pci_node *n = pb->funcs; n; n = n->next)
		fn(opaque, &n->dev);
}

unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
	return 16 + ((slot + pin - 1) & 7);
}

/* ---- helpers for models ---- */

void pci_set_ids(struct pci_dev *d, uint16_t vendor, uint16_t device, uint8_t class,
		 uint8_t subclass, uint8_t progif, uint8_t revision)
{
	put_le16(&d->cfg[0x00], vendor);
	put_le16(&d->cfg[0x02], device);
	d->cfg[0x08] = revision;
	d->cfg[0x09] = progif;
	d->cfg[0x0A] = subclass;
	d->cfg[0x0B] = class;
}

void pci_set_subsys(struct pci_dev *d, uint16_t subvendor, uint16_t subdevice)
{
	put_le16(&d->cfg[0x2C], subvendor);
	put_le16(&d->cfg[0x2E], subdevice);
}

static void bar_write_reg(struct pci_dev *d, int i)
{
	struct pci_bar *b = &d->bar[i];
	uint32_t lo;

	if (b->type == PCI_BAR_IO)
		lo = (uint32_t)(b->addr & ~3ULL) | 1;
	else
		lo = (uint32_t)(b->addr & ~15ULL) | (b->type == PCI_BAR_MEM64 ? 4 : 0);
	put_le32(&d->cfg[PCI_BAR0 + 4 * i], lo);
	if (b->type == PCI_BAR_MEM64)
		put_le32(&d->cfg[PCI_BAR0 + 4 * (i + 1)], (uint32_t)(b->addr >> 32));
}

int pci_add_bar(struct pci_dev *d, int i, enum pci_bar_type type, uint64_t size,
		bus_fn fn, void *opaque)
{
	uint64_t mask;

	if (i < 0 || i > 5 || (type == PCI_BAR_MEM64 && i == 5) || d->bar[i].type != PCI_BAR_NONE ||
	    size == 0 || (size & (size - 1)) || (type == PCI_BAR_IO ? size < 4 || size > 256 : size < 16) ||
	    (type == PCI_BAR_MEM32 && size > 1ULL << 31))
		return -EINVAL;
	d->bar[i] = (struct pci_bar){ .type = type, .size = size, .fn = fn, .opaque = opaque };
	mask = ~(size - 1);
	if (type == PCI_BAR_IO) {
		put_le32(&d->wmask[PCI_BAR0 + 4 * i], (uint32_t)mask & ~3u);
	} else {
		put_le32(&d->wmask[PCI_BAR0 + 4 * i], (uint32_t)mask & ~15u);
		if (type == PCI_BAR_MEM64) {
			d->bar[i + 1].type = PCI_BAR_NONE;
			put_le32(&d->wmask[PCI_BAR0 + 4 * (i + 1)], (uint32_t)(mask >> 32));
		}
	}
	bar_write_reg(d, i);
	return 0;
}

int pci_add_cap(struct pci_dev *d, uint8_t id, unsigned len)
{
	unsigned off = d->cap_next ? d->cap_next : 0x40;

	off = ALIGN_UP(off, 4);
	if (len < 2 || off + len > 256)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)off;
	put_le16(&d->cfg[PCI_STATUS], get_le16(&d->cfg[PCI_STATUS]) | PCI_STATUS_CAPLIST);
	d->cap_last = (uint8_t)off;
	d->cap_next = (uint8_t)MIN(off + len, 255u);
	return (int)off;
}

int pci_add_msix(struct pci_dev *d, unsigned nvec, int bar, uint32_t table_off,
		 uint32_t pba_off)
{
	int off;

	if (nvec == 0 || nvec > PCI_MAX_MSIX || bar < 0 || bar > 5 || (table_off & 7) || (pba_off & 7))
		return -EINVAL;
	off = pci_add_cap(d, PCI_CAP_MSIX, 12);
	if (off < 0)
		return off;
	d->msix = calloc(nvec, sizeof(*d->msix));
	d->msix_pending = calloc((nvec + 63) / 64, sizeof(uint64_t));
	if (!d->msix || !d->msix_pending)
		return -ENOMEM;
	for (unsigned v = 0; v < nvec; v++)
		d->msix[v].ctrl = 1; /* masked at reset */
	d->msix_cap = (uint8_t)off;
	d->msix_nvec = nvec;
	d->msix_bar = bar;
	d->msix_table_off = table_off;
	d->msix_pba_off = pba_off;
	put_le16(&d->cfg[off + 2], (uint16_t)(nvec - 1));
	put_le16(&d->wmask[off + 2], 0xC000); /* enable, function mask */
	put_le32(&d->cfg[off + 4], table_off | (uint32_t)bar);
	put_le32(&d->cfg[off + 8], pba_off | (uint32_t)bar);
	return 0;
}

int pci_add_msi(struct pci_dev *d, unsigned nvec)
{
	unsigned mmc = 0;
	int off;

	if (nvec == 0 || nvec > 32 || (nvec & (nvec - 1)))
		return -EINVAL;
	while ((1u << mmc) < nvec)
		mmc++;
	off = pci_add_cap(d, PCI_CAP_MSI, 24);
	if (off < 0)
		return off;
	d->msi_cap = (uint8_t)off;
	d->msi_nvec = nvec;
	/* 64-bit, per-vector masking, MMC */
	put_le16(&d->cfg[off + 2], (uint16_t)((1u << 7) | (1u << 8) | (mmc << 1)));
	put_le16(&d->wmask[off + 2], 0x0071); /* enable, MME */
	put_le32(&d->wmask[off + 4], 0xFFFFFFFC);
	put_le32(&d->wmask[off + 8], 0xFFFFFFFF);
	put_le16(&d->wmask[off + 12], 0xFFFF);
	put_le32(&d->wmask[off + 16], nvec == 32 ? 0xFFFFFFFFu : (1u << nvec) - 1);
	return 0;
}

int pci_add_intx(struct pci_dev *d)
{
	d->intx_pin = 1;
	d->cfg[PCI_INT_PIN] = 1;
	irq_line_init(&d->intx, d->host ? d->host->irq : NULL, pci_intx_gsi(d->slot, 1));
	return 0;
}

/* ---- interrupts ---- */

static void deliver(struct pci_dev *d, uint64_t addr, uint32_t data)
{
	struct irq_chip *chip = d->host ? d->host->irq : NULL;

	if (chip && chip->ops->msi)
		chip->ops->msi(chip->opaque, addr, data);
}

bool pci_msix_enabled(struct pci_dev *d)
{
	return d->msix_cap && (get_le16(&d->cfg[d->msix_cap + 2]) & 0x8000);
}

bool pci_msi_enabled(struct pci_dev *d)
{
	return d->msi_cap && (get_le16(&d->cfg[d->msi_cap + 2]) & 1);
}

/* Deliver pending MSI-X vectors that are no longer masked (irq_lock held). */
static void msix_flush_pending(struct pci_dev *d)
{
	bool fmask = get_le16(&d->cfg[d->msix_cap + 2]) & 0x4000;

	if (!pci_msix_enabled(d) || fmask)
		return;
	for (unsigned v = 0; v < d->msix_nvec; v++) {
		uint64_t bit = 1ULL << (v % 64);
		if ((d->msix_pending[v / 64] & bit) && !(d->msix[v].ctrl & 1)) {
			d->msix_pending[v / 64] &= ~bit;
			deliver(d, d->msix[v].addr, d->msix[v].data);
		}
	}
}

bool pci_signal(struct pci_dev *d, unsigned vec)
{
	bool handled = true;

	pthread_mutex_lock(&d->irq_lock);
	if (pci_msix_enabled(d)) {
		if (vec < d->msix_nvec) {
			bool fmask = get_le16(&d->cfg[d->msix_cap + 2]) & 0x4000;
			if (fmask || (d->msix[vec].ctrl & 1))
				d->msix_pending[vec / 64] |= 1ULL << (vec % 64);
			else
				deliver(d, d->msix[vec].addr, d->msix[vec].data);
		}
	} else if (pci_msi_enabled(d)) {
		unsigned c = d->msi_cap;
		unsigned mme = (get_le16(&d->cfg[c + 2]) >> 4) & 7;
		if (vec < (1u << mme) && vec < d->msi_nvec) {
			uint32_t mask = get_le32(&d->cfg[c + 16]);
			if (mask & (1u << vec)) {
				put_le32(&d->cfg[c + 20], get_le32(&d->cfg[c + 20]) | (1u << vec));
			} else {
				uint64_t addr = get_le32(&d->cfg[c + 4]) | ((uint64_t)get_le32(&d->cfg[c + 8]) << 32);
				uint16_t data = get_le16(&d->cfg[c + 12]);
				deliver(d, addr, (uint32_t)((data & ~((1u << mme) - 1)) | vec));
			}
		}
	} else {
		handled = false;
	}
	pthread_mutex_unlock(&d->irq_lock);
	return handled;
}

static void intx_update(struct pci_dev *d)
{
	bool disabled = get_le16(&d->cfg[PCI_COMMAND]) & PCI_CMD_INTX_DISABLE;
	uint16_t st = get_le16(&d->cfg[PCI_STATUS]);

	put_le16(&d->cfg[PCI_STATUS], d->intx_level ? st | PCI_STATUS_INTX : st & ~PCI_STATUS_INTX);
	irq_line_set(&d->intx, d->intx_level && !disabled);
}

void pci_intx_set(struct pci_dev *d, bool level)
{
	if (!d->intx_pin)
		return;
	pthread_mutex_lock(&d->irq_lock);
	d->intx_level = level;
	intx_update(d);
	pthread_mutex_unlock(&d->irq_lock);
}

int pci_msix_io(struct pci_dev *d, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	uint64_t tend = d->msix_table_off + 16ULL * d->msix_nvec;
	uint64_t pend = d->msix_pba_off + 8ULL * ((d->msix_nvec + 63) / 64);

	if (size != 4 && size != 8)
		return 0; /* the spec allows only dword and qword accesses */
	pthread_mutex_lock(&d->irq_lock);
	if (offset >= d->msix_table_off && offset + size <= tend) {
		uint64_t off = offset - d->msix_table_off;
		struct msix_entry *e = &d->msix[off / 16];
		unsigned w = (unsigned)(off % 16);
		uint8_t raw[16];
		put_le64(raw, e->addr);
		put_le32(raw + 8, e->data);
		put_le32(raw + 12, e->ctrl);
		if (w + size > 16) {
			/* a qword straddling two entries: ignore */
		} else if (write) {
			memcpy(raw + w, data, size);
			e->addr = get_le64(raw);
			e->data = get_le32(raw + 8);
			e->ctrl = get_le32(raw + 12) & 1;
			msix_flush_pending(d);
		} else {
			*data = 0;
			memcpy(data, raw + w, size);
		}
	} else if (offset >= d->msix_pba_off && offset + size <= pend) {
		if (!write) {
			uint64_t off = offset - d->msix_pba_off;
			*data = 0;
			memcpy(data, (uint8_t *)d->msix_pending + off, size);
		}
	}
	pthread_mutex_unlock(&d->irq_lock);
	return 0;
}

/* ---- BAR decoding ---- */

static void bar_update(struct pci_dev *d, int i)
{
	struct pci_bar *b = &d->bar[i];
	uint16_t cmd = get_le16(&d->cfg[PCI_COMMAND]);
	bool enable = b->type == PCI_BAR_IO ? (cmd & PCI_CMD_IO) : (cmd & PCI_CMD_MEM);
	struct bus *bus;
	uint64_t addr;

	if (b->type == PCI_BAR_NONE || !d->host)
		return;
	bus = b->type == PCI_BAR_IO ? d->host->pio : d->host->mmio;
	if (!bus)
		return;
	if (b->type == PCI_BAR_IO)
		addr = get_le32(&d->cfg[PCI_BAR0 + 4 * i]) & ~3ULL;
	else
		addr = get_le32(&d->cfg[PCI_BAR0 + 4 * i]) & ~15ULL;
	if (b->type == PCI_BAR_MEM64)
		addr |= (uint64_t)get_le32(&d->cfg[PCI_BAR0 + 4 * (i + 1)]) << 32;
	b->addr = addr;
	/* Sizing values and empty BARs are not decoded. */
	if (addr == 0 || addr + b->size < addr || addr == (~(b->size - 1) & (b->type == PCI_BAR_MEM64 ? ~0ULL : 0xFFFFFFFFULL)) ||
	    (b->type == PCI_BAR_IO && addr + b->size > PCI_IO_END))
		enable = false;
	if (b->mapped && (!enable || b->mapped_addr != addr))
		bar_unmap(d, i);
	if (enable && !b->mapped) {
		int rc = bus_register(bus, addr, b->size, b->fn, b->opaque, d->model->name);
		if (rc < 0) {
			log_rl(&d->pb->rl, LOG_WARN, "pci %u:%u:%u: BAR %d at 0x%llx overlaps another device; not decoded",
			       d->bus, d->slot, d->func, i, (unsigned long long)addr);
			return;
		}
		b->mapped = true;
		b->mapped_addr = addr;
		if (d->bar_map)
			d->bar_map(d, i, true, addr);
	}
}

/* ---- configuration space ---- */

static uint32_t cfg_read(struct pci_dev *d, unsigned reg, unsigned size)
{
	uint32_t v = 0;
	memcpy(&v, &d->cfg[reg], size);
	return v;
}

static void cfg_write(struct pci_dev *d, unsigned reg, unsigned size, uint32_t val)
{
	uint16_t old_cmd = get_le16(&d->cfg[PCI_COMMAND]);
	bool irq_regs = false;

	pthread_mutex_lock(&d->irq_lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned r = reg + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		d->cfg[r] = (uint8_t)((d->cfg[r] & ~d->wmask[r]) | (b & d->wmask[r]));
		d->cfg[r] &= (uint8_t)~(b & d->w1cmask[r]);
		if ((d->msix_cap && r >= d->msix_cap && r < d->msix_cap + 12u) ||
		    (d->msi_cap && r >= d->msi_cap && r < d->msi_cap + 24u))
			irq_regs = true;
	}
	if (irq_regs && d->msix_cap)
		msix_flush_pending(d);
	if (reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND)
		intx_update(d);
	pthread_mutex_unlock(&d->irq_lock);

	uint16_t cmd = get_le16(&d->cfg[PCI_COMMAND]);
	if (((cmd ^ old_cmd) & (PCI_CMD_IO | PCI_CMD_MEM)) ||
	    (reg < PCI_BAR0 + 24 && reg + size > PCI_BAR0))
		for (int i = 0; i < 6; i++)
			bar_update(d, i);
}

uint32_t pci_cfg_read(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		      unsigned reg, unsigned size)
{
	struct pci_dev *d;

	if (size == 0 || size > 4 || reg + size > 4096)
		return 0xFFFFFFFFu;
	d = find(pb, bus, slot, func);
	if (!d)
		return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
	if (reg + size > 256)
		return 0; /* no extended capabilities */
	return cfg_read(d, reg, size);
}

void pci_cfg_write(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		   unsigned reg, unsigned size, uint32_t val)
{
	struct pci_dev *d;

	if (size == 0 || size > 4 || reg + size > 256)
		return;
	d = find(pb, bus, slot, func);
	if (d)
		cfg_write(d, reg, size, val);
}

int pci_cfgaddr_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pci_bus *pb = opaque;

	if (offset != 0 || size != 4)
		return 0; /* only dword accesses reach the address latch */
	pthread_mutex_lock(&pb->lock);
	if (write)
		pb->addr = (uint32_t)*data & 0x80FFFFFCu;
	else
		*data = pb->addr;
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

int pci_cfgdata_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pci_bus *pb = opaque;
	uint32_t a;

	pthread_mutex_lock(&pb->lock);
	a = pb->addr;
	if ((a & 0x80000000u) && offset + size <= 4 && (offset % size) == 0) {
		unsigned bus = (a >> 16) & 0xFF, slot = (a >> 11) & 0x1F, func = (a >> 8) & 7;
		unsigned reg = (a & 0xFC) + (unsigned)offset;
		if (write)
			pci_cfg_write(pb, bus, slot, func, reg, size, (uint32_t)*data);
		else
			*data = pci_cfg_read(pb, bus, slot, func, reg, size);
	}
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

int pci_ecam_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct pci_bus *pb = opaque;
	unsigned bus = (unsigned)(offset >> 20) & 0xFF, slot = (unsigned)(offset >> 15) & 0x1F;
	unsigned func = (unsigned)(offset >> 12) & 7, reg = (unsigned)(offset & 0xFFF);

	if (size > 4 || (reg % size) != 0)
		return 0;
	pthread_mutex_lock(&pb->lock);
	if (write)
		pci_cfg_write(pb, bus, slot, func, reg, size, (uint32_t)*data);
	else
		*data = pci_cfg_read(pb, bus, slot, func, reg, size);
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

/* ---- building the bus ---- */

static int reg_override(struct config *cfg, const char *node, const char *key,
			uint64_t max, uint64_t *val, char *err, size_t errlen)
{
	char k[128];
	snprintf(k, sizeof(k), "%s.pcireg.%s", node, key);
	if (!config_has(cfg, k))
		return 0;
	if (config_get_uint(cfg, k, 0, val) < 0 || *val > max) {
		snprintf(err, errlen, "invalid value '%s' for key '%s'", config_get(cfg, k), k);
		return -EINVAL;
	}
	return 1;
}

static int apply_overrides(struct pci_dev *d, struct config *cfg, const char *node,
			   char *err, size_t errlen)
{
	static const struct { const char *key; unsigned reg, size; } regs[] = {
		{ "vendor", 0x00, 2 }, { "device", 0x02, 2 }, { "revid", 0x08, 1 },
		{ "subvendor", 0x2C, 2 }, { "subdevice", 0x2E, 2 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(regs); i++) {
		uint64_t v;
		int rc = reg_override(cfg, node, regs[i].key, regs[i].size == 1 ? 0xFF : 0xFFFF,
				      &v, err, errlen);
		if (rc < 0)
			return rc;
		if (rc) {
			if (regs[i].size == 1)
				d->cfg[regs[i].reg] = (uint8_t)v;
			else
				put_le16(&d->cfg[regs[i].reg], (uint16_t)v);
		}
	}
	return 0;
}

int pci_bus_add(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		const struct pci_model *m, struct config *cfg, const char *node,
		char *err, size_t errlen)
{
	struct pci_node *n;
	struct pci_dev *d;
	int rc;

	if (bus > 255 || slot > 31 || func > 7)
		return -EINVAL;
	if (strcmp(m->name, "lpc") == 0) {
		if (bus != 0) {
			snprintf(err, errlen, "pci slot %u:%u:%u: lpc must be on bus 0", bus, slot, func);
			return -EINVAL;
		}
		if (pci_bus_has_model(pb, "lpc")) {
			snprintf(err, errlen, "pci slot %u:%u:%u: only one lpc device is allowed",
				 bus, slot, func);
			return -EINVAL;
		}
	}
	if (find(pb, bus, slot, func)) {
		snprintf(err, errlen, "pci slot %u:%u:%u already occupied", bus, slot, func);
		return -EBUSY;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	d = &n->dev;
	d->pb = pb;
	d->bus = bus;
	d->slot = slot;
	d->func = func;
	d->model = m;
	d->host = pb->host;
	pthread_mutex_init(&d->irq_lock, NULL);
	/* Command: I/O, memory, bus master, parity, SERR, INTx disable. */
	put_le16(&d->wmask[PCI_COMMAND], 0x0547);
	d->wmask[0x0C] = 0xFF; /* cache line size */
	d->wmask[0x0D] = 0xFF; /* latency timer */
	d->wmask[PCI_INT_LINE] = 0xFF;
	if (m->init) {
		rc = m->init(d, pb->host, cfg, node, err, errlen);
	} else {
		rc = -ENOTSUP;
		for (size_t i = 0; i < ARRAY_SIZE(pci_default_ids); i++)
			if (strcmp(pci_default_ids[i].model, m->name) == 0) {
				const struct pci_ids *ids = &pci_default_ids[i];
				pci_set_ids(d, ids->vendor, ids->device, ids->class, ids->subclass, 0, 0);
				rc = 0;
			}
		if (rc)
			snprintf(err, errlen, "pci slot %u:%u:%u: device \"%s\" is not implemented",
				 bus, slot, func, m->name);
	}
	if (rc == 0)
		rc = apply_overrides(d, cfg, node, err, errlen);
	if (rc < 0) {
		if (m->init && m->fini && d->softc)
			m->fini(d);
		free(d->msix);
		free(d->msix_pending);
		pthread_mutex_destroy(&d->irq_lock);
		free(n);
		return rc;
	}
	n->next = pb->funcs;
	pb->funcs = n;
	/* Multi-function bit on function 0 of every slot that has others. */
	for (struct pci_node *g = pb->funcs; g; g = g->next) {
		bool multi = false;
		for (struct pci_node *h = pb->funcs; h; h = h->next)
			if (h->dev.bus == g->dev.bus && h->dev.slot == g->dev.slot && h->dev.func != 0)
				multi = true;
		if (g->dev.func == 0)
			g->dev.cfg[0x0E] = (uint8_t)((g->dev.cfg[0x0E] & 0x7F) | (multi ? 0x80 : 0));
	}
	return 0;
}

struct bar_ref {
	struct pci_dev *d;
	int i;
};

static int bar_cmp(const void *a, const void *b)
{
	const struct bar_ref *x = a, *y = b;
	uint64_t sx = x->d->bar[x->i].size, sy = y->d->bar[y->i].size;
	return sx < sy ? 1 : sx > sy ? -1 : 0;
}

int pci_bus_assign(struct pci_bus *pb, uint64_t highmem_end, char *err, size_t errlen)
{
	struct bar_ref *refs = NULL;
	size_t n = 0, cap = 0;
	uint64_t io = PCI_IO_BASE, m32 = PLAT_PCI_MMIO_BASE;
	uint64_t m64 = ALIGN_UP(MAX(highmem_end, GM_HIGHMEM_BASE), 1ULL << 30);

	pb->m64_base = m64;

	for (struct pci_node *p = pb->funcs; p; p = p->next) {
		struct pci_dev *d = &p->dev;
		if (d->intx_pin)
			d->cfg[PCI_INT_LINE] = (uint8_t)pci_intx_gsi(d->slot, d->intx_pin);
		for (int i = 0; i < 6; i++) {
			if (d->bar[i].type == PCI_BAR_NONE)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				struct bar_ref *r = realloc(refs, cap * sizeof(*r));
				if (!r) {
					free(refs);
					return -ENOMEM;
				}
				refs = r;
			}
			refs[n++] = (struct bar_ref){ d, i };
		}
	}
	if (n) /* no BARs at all: refs is NULL, which qsort must not get */
		qsort(refs, n, sizeof(*refs), bar_cmp);
	for (size_t k = 0; k < n; k++) {
		struct pci_dev *d = refs[k].d;
		struct pci_bar *b = &d->bar[refs[k].i];
		uint64_t *next = b->type == PCI_BAR_IO ? &io : b->type == PCI_BAR_MEM32 ? &m32 : &m64;
		uint64_t limit = b->type == PCI_BAR_IO ? PCI_IO_END :
				 b->type == PCI_BAR_MEM32 ? PLAT_ECAM_BASE : pb->m64_base + PCI_MMIO64_WINDOW;
		uint64_t a = ALIGN_UP(*next, b->size);
		if (a + b->size > limit || a + b->size < a) {
			snprintf(err, errlen, "pci %u:%u:%u: no room for BAR %d (%llu bytes)",
				 d->bus, d->slot, d->func, refs[k].i, (unsigned long long)b->size);
			free(refs);
			return -ENOSPC;
		}
		b->addr = a;
		*next = a + b->size;
		bar_write_reg(d, refs[k].i);
	}
	free(refs);
	return 0;
}

void pci_bus_mmio64_window(struct pci_bus *pb, uint64_t *base, uint64_t *size)
{
	*base = pb->m64_base;
	*size = PCI_MMIO64_WINDOW;
}
