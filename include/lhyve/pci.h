/*
 * PCI: the -s emulation table, configuration space (mechanism #1 at
 * 0xCF8/0xCFC and ECAM), BARs, capabilities, MSI, MSI-X and INTx.
 * No KVM knowledge: the platform hands devices a struct pci_host.
 *
 * Locking: the PCI bus lock (pb->lock) serialises configuration space
 * accesses and BAR (un)mapping. Interrupt state of a function (MSI-X table,
 * MSI registers, INTx level) has its own lock (d->irq_lock) so device
 * threads may signal interrupts while the guest programs config space.
 */
#ifndef LHYVE_PCI_H
#define LHYVE_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "irq.h"
#include "mem.h"

struct config;
struct evloop;
struct pci_dev;

/* What the platform provides to PCI device models. */
struct pci_host {
	struct bus *pio, *mmio;
	struct irq_chip *irq;
	const struct guest_mem *gm;
	struct evloop *loop;
	const char *vm_name;
	bool msix;  /* virtio_msix: MSI-X (true) or MSI (-W) for virtio */
	/*
	 * Signal eventfd `fd` on guest writes of `len` bytes (0: any size) to
	 * `addr` without leaving the kernel (KVM ioeventfd). NULL if absent.
	 */
	int (*ioeventfd)(void *opaque, uint64_t addr, unsigned len, bool pio,
			 int fd, bool assign);
	void *opaque;
};

struct pci_model {
	const char *name;
	const char *desc; /* one line for `-s help` */
	/* "-s slot,name,conf" -> keys under node; NULL: generic parser. */
	int (*legacy_config)(struct config *cfg, const char *node,
			     const char *conf, char *err, size_t errlen);
	/* Keys accepted under the node besides "device" ("*" = one component). */
	const char *const *keys;
	/*
	 * Build the function: IDs, BARs, capabilities, softc. One line in err
	 * on failure. NULL for bridges whose IDs come from the defaults table.
	 */
	int (*init)(struct pci_dev *d, const struct pci_host *host,
		    struct config *cfg, const char *node, char *err, size_t errlen);
	/* Free the softc (after the vCPUs stopped). */
	void (*fini)(struct pci_dev *d);
};

const struct pci_model *pci_model_find(const char *name);
const struct pci_model *pci_model_at(size_t i);
int pci_legacy_config_generic(struct config *cfg, const char *node,
			      const char *conf, char *err, size_t errlen);
int pci_model_key_ok(const struct pci_model *m, const char *key);

/* ---- the bus ---- */
struct pci_bus;
struct pci_bus *pci_bus_new(const struct pci_host *host);
void pci_bus_free(struct pci_bus *pb);
/* Add function bus:slot.func of model m configured from node. */
int pci_bus_add(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		const struct pci_model *m, struct config *cfg, const char *node,
		char *err, size_t errlen);
/*
 * Assign addresses to every BAR like firmware would (I/O from 0x2000,
 * 32-bit memory in the hole below the ECAM window, 64-bit memory above
 * highmem_end) and set interrupt lines. Call once after all pci_bus_add.
 */
int pci_bus_assign(struct pci_bus *pb, uint64_t highmem_end, char *err, size_t errlen);
bool pci_bus_has_model(struct pci_bus *pb, const char *name);
/* The 64-bit MMIO window pci_bus_assign used (for the ACPI _CRS). */
#define PCI_MMIO64_WINDOW (64ULL << 30)
void pci_bus_mmio64_window(struct pci_bus *pb, uint64_t *base, uint64_t *size);
/* Call fn for every function (table builders: _PRT, MP table). */
void pci_bus_foreach(struct pci_bus *pb, void (*fn)(void *opaque, struct pci_dev *d),
		     void *opaque);
/* Port 0xCF8 (dword) and 0xCFC-0xCFF handlers; ECAM MMIO handler. */
int pci_cfgaddr_io(void *pb, uint64_t offset, unsigned size, bool write, uint64_t *data);
int pci_cfgdata_io(void *pb, uint64_t offset, unsigned size, bool write, uint64_t *data);
int pci_ecam_io(void *pb, uint64_t offset, unsigned size, bool write, uint64_t *data);
/* Direct configuration space access (tests). */
uint32_t pci_cfg_read(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		      unsigned reg, unsigned size);
void pci_cfg_write(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		   unsigned reg, unsigned size, uint32_t val);
/* INTx routing: the GSI of slot's pin (1 = INTA#): 16 + ((slot + pin - 1) & 7). */
unsigned pci_intx_gsi(unsigned slot, unsigned pin);

/* ---- for device models ---- */
#define PCI_CAP_MSI 0x05
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_MSIX 0x11
#define PCI_MAX_MSIX 2048

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;      /* power of two */
	uint64_t addr;      /* current guest address (from the BAR registers) */
	bool mapped;        /* registered on the bus */
	uint64_t mapped_addr;
	bus_fn fn;
	void *opaque;
};

struct msix_entry {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl; /* bit 0: masked */
};

struct pci_dev {
	struct pci_bus *pb;
	unsigned bus, slot, func;
	const struct pci_model *model;
	const struct pci_host *host;
	void *softc;
	uint8_t cfg[256];
	uint8_t wmask[256];  /* guest-writable bits */
	uint8_t w1cmask[256]; /* write-1-to-clear bits */
	uint8_t cap_next;    /* where the next capability goes */
	uint8_t cap_last;    /* offset of the last capability (0: none) */
	struct pci_bar bar[6];
	/* Called (bus lock held) when BAR i is mapped at addr or unmapped. */
	void (*bar_map)(struct pci_dev *d, int i, bool mapped, uint64_t addr);

	pthread_mutex_t irq_lock;
	/* MSI-X */
	uint8_t msix_cap;
	unsigned msix_nvec;
	int msix_bar;
	uint32_t msix_table_off, msix_pba_off;
	struct msix_entry *msix;
	uint64_t *msix_pending; /* bitmap */
	/* MSI */
	uint8_t msi_cap;
	unsigned msi_nvec;
	/* INTx */
	unsigned intx_pin; /* 0: none, 1: INTA# */
	struct irq_line intx;
	bool intx_level;
};

void pci_set_ids(struct pci_dev *d, uint16_t vendor, uint16_t device, uint8_t class,
		 uint8_t subclass, uint8_t progif, uint8_t revision);
void pci_set_subsys(struct pci_dev *d, uint16_t subvendor, uint16_t subdevice);
/* Declare BAR i (a 64-bit BAR also takes i+1). size: power of two >= 16 (mem) / 4 (io). */
int pci_add_bar(struct pci_dev *d, int i, enum pci_bar_type type, uint64_t size,
		bus_fn fn, void *opaque);
/* Append a capability of len bytes (header included); returns its offset or -ENOSPC. */
int pci_add_cap(struct pci_dev *d, uint8_t id, unsigned len);
/* MSI-X with nvec vectors; table and PBA live in BAR `bar` at the given offsets. */
int pci_add_msix(struct pci_dev *d, unsigned nvec, int bar, uint32_t table_off,
		 uint32_t pba_off);
/* The MSI-X table/PBA MMIO handler: the device's BAR handler forwards to it. */
int pci_msix_io(struct pci_dev *d, uint64_t offset, unsigned size, bool write,
		uint64_t *data);
/* MSI with nvec (power of two, <= 32) vectors, 64-bit address, per-vector masking. */
int pci_add_msi(struct pci_dev *d, unsigned nvec);
/* INTx on INTA#. */
int pci_add_intx(struct pci_dev *d);
bool pci_msix_enabled(struct pci_dev *d);
bool pci_msi_enabled(struct pci_dev *d);
/*
 * Deliver vector vec: MSI-X (pending bit if masked), else MSI. Returns
 * false if neither is enabled (the caller then uses INTx). Thread-safe.
 */
bool pci_signal(struct pci_dev *d, unsigned vec);
/* Drive INTx (honours the command register's INTx disable). Thread-safe. */
void pci_intx_set(struct pci_dev *d, bool level);

#endif
