/*
 * PCI configuration space for the emulated functions, reached through
 * configuration mechanism #1 (0xCF8 address, 0xCFC-0xCFF data). Functions
 * without BARs for now: host bridge and LPC bridge with bhyve's IDs.
 * Locking: one mutex for the address latch and all config spaces.
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

struct pci_func {
	unsigned bus, slot, func;
	const struct pci_model *model;
	uint8_t cfg[256];
	uint8_t wmask[256]; /* guest-writable bits */
	struct pci_func *next;
};

struct pci_bus {
	pthread_mutex_t lock;
	uint32_t addr; /* 0xCF8 latch */
	struct pci_func *funcs;
};

struct pci_ids {
	const char *model;
	uint16_t vendor, device;
	uint8_t class, subclass, progif;
};

static const struct pci_ids pci_default_ids[] = {
	{ "hostbridge", 0x1275, 0x1275, 0x06, 0x00, 0x00 },
	{ "amd_hostbridge", 0x1022, 0x7432, 0x06, 0x00, 0x00 },
	{ "lpc", 0x8086, 0x7000, 0x06, 0x01, 0x00 },
};

struct pci_bus *pci_bus_new(void)
{
	struct pci_bus *pb = calloc(1, sizeof(*pb));
	if (pb)
		pthread_mutex_init(&pb->lock, NULL);
	return pb;
}

void pci_bus_free(struct pci_bus *pb)
{
	if (!pb)
		return;
	while (pb->funcs) {
		struct pci_func *f = pb->funcs;
		pb->funcs = f->next;
		free(f);
	}
	pthread_mutex_destroy(&pb->lock);
	free(pb);
}

static struct pci_func *find(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func)
{
	for (struct pci_func *f = pb->funcs; f; f = f->next)
		if (f->bus == bus && f->slot == slot && f->func == func)
			return f;
	return NULL;
}

bool pci_bus_has_model(struct pci_bus *pb, const char *name)
{
	for (struct pci_func *f = pb->funcs; f; f = f->next)
		if (strcmp(f->model->name, name) == 0)
			return true;
	return false;
}

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

int pci_bus_add(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		const struct pci_model *m, struct config *cfg, const char *node,
		char *err, size_t errlen)
{
	const struct pci_ids *ids = NULL;
	struct pci_func *f;
	uint64_t v;
	int rc;

	for (size_t i = 0; i < ARRAY_SIZE(pci_default_ids); i++)
		if (strcmp(pci_default_ids[i].model, m->name) == 0)
			ids = &pci_default_ids[i];
	if (!ids) {
		snprintf(err, errlen, "pci slot %u:%u:%u: device \"%s\" is not implemented",
			 bus, slot, func, m->name);
		return -ENOTSUP;
	}
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
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->bus = bus;
	f->slot = slot;
	f->func = func;
	f->model = m;
	put_le16(&f->cfg[0x00], ids->vendor);
	put_le16(&f->cfg[0x02], ids->device);
	f->cfg[0x09] = ids->progif;
	f->cfg[0x0A] = ids->subclass;
	f->cfg[0x0B] = ids->class;
	f->cfg[0x0E] = 0x00; /* header type 0 */
	if ((rc = reg_override(cfg, node, "vendor", 0xFFFF, &v, err, errlen)) < 0)
		goto err_free;
	if (rc)
		put_le16(&f->cfg[0x00], (uint16_t)v);
	if ((rc = reg_override(cfg, node, "device", 0xFFFF, &v, err, errlen)) < 0)
		goto err_free;
	if (rc)
		put_le16(&f->cfg[0x02], (uint16_t)v);
	if ((rc = reg_override(cfg, node, "revid", 0xFF, &v, err, errlen)) < 0)
		goto err_free;
	if (rc)
		f->cfg[0x08] = (uint8_t)v;
	if ((rc = reg_override(cfg, node, "subvendor", 0xFFFF, &v, err, errlen)) < 0)
		goto err_free;
	if (rc)
		put_le16(&f->cfg[0x2C], (uint16_t)v);
	if ((rc = reg_override(cfg, node, "subdevice", 0xFFFF, &v, err, errlen)) < 0)
		goto err_free;
	if (rc)
		put_le16(&f->cfg[0x2E], (uint16_t)v);
	/* Command: I/O, memory, bus master, parity, SERR, INTx disable writable. */
	put_le16(&f->wmask[0x04], 0x0547);
	f->wmask[0x0C] = 0xFF; /* cache line size */
	f->wmask[0x0D] = 0xFF; /* latency timer */
	f->wmask[0x3C] = 0xFF; /* interrupt line */
	f->next = pb->funcs;
	pb->funcs = f;
	/* Multi-function bit on function 0 when the slot has others. */
	for (struct pci_func *g = pb->funcs; g; g = g->next) {
		bool multi = false;
		for (struct pci_func *h = pb->funcs; h; h = h->next)
			if (h->bus == g->bus && h->slot == g->slot && h->func != 0)
				multi = true;
		if (g->func == 0)
			g->cfg[0x0E] = (uint8_t)((g->cfg[0x0E] & 0x7F) | (multi ? 0x80 : 0));
	}
	return 0;
err_free:
	free(f);
	return rc;
}

uint32_t pci_cfg_read(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		      unsigned reg, unsigned size)
{
	struct pci_func *f;
	uint32_t v = 0;

	if (reg >= 256 || size > 4 || reg + size > 256)
		return 0xFFFFFFFFu;
	f = find(pb, bus, slot, func);
	if (!f)
		return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
	memcpy(&v, &f->cfg[reg], size);
	return v;
}

void pci_cfg_write(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		   unsigned reg, unsigned size, uint32_t val)
{
	struct pci_func *f;

	if (reg >= 256 || size > 4 || reg + size > 256)
		return;
	f = find(pb, bus, slot, func);
	if (!f)
		return;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t m = f->wmask[reg + i];
		f->cfg[reg + i] = (uint8_t)((f->cfg[reg + i] & ~m) | (b & m));
	}
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
	if (!(a & 0x80000000u) || offset + size > 4) {
		pthread_mutex_unlock(&pb->lock);
		return 0; /* disabled: reads see all ones */
	}
	unsigned bus = (a >> 16) & 0xFF, slot = (a >> 11) & 0x1F, func = (a >> 8) & 7;
	unsigned reg = (a & 0xFC) + (unsigned)offset;
	if (write)
		pci_cfg_write(pb, bus, slot, func, reg, size, (uint32_t)*data);
	else
		*data = pci_cfg_read(pb, bus, slot, func, reg, size);
	pthread_mutex_unlock(&pb->lock);
	return 0;
}
