/* PCI device models and the -s emulation table. */
#ifndef LHYVE_PCI_H
#define LHYVE_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

struct pci_model {
	const char *name;
	/* One-line description for `-s help`. */
	const char *desc;
	/*
	 * Turn the "conf" part of "-s slot,emulation,conf" into keys under
	 * node ("pci.B.S.F"). NULL: pci_legacy_config_generic.
	 */
	int (*legacy_config)(struct config *cfg, const char *node,
			     const char *conf, char *err, size_t errlen);
	/*
	 * Keys accepted under the device node besides "device", NULL
	 * terminated. A component "*" matches any one component.
	 */
	const char *const *keys;
};

const struct pci_model *pci_model_find(const char *name);
/* i-th model in the table, NULL past the end (for `-s help`). */
const struct pci_model *pci_model_at(size_t i);
/*
 * Generic conf parser: split on ',', "k=v" sets node.k, a bare word sets
 * node.word=true, except that a bare first token sets node.path.
 */
int pci_legacy_config_generic(struct config *cfg, const char *node,
			      const char *conf, char *err, size_t errlen);
/* True if `key` (relative to the device node) is one of model's keys. */
int pci_model_key_ok(const struct pci_model *m, const char *key);

#endif

/* ---- PCI configuration space (mechanism #1 at 0xCF8/0xCFC) ---- */
struct pci_bus;
struct pci_bus *pci_bus_new(void);
void pci_bus_free(struct pci_bus *pb);
/*
 * Add function bus:slot.func of model m, configured from the keys under
 * node ("pci.B.S.F"). -EINVAL with a message in err for bad keys.
 */
int pci_bus_add(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		const struct pci_model *m, struct config *cfg, const char *node,
		char *err, size_t errlen);
/* Handlers for port 0xCF8 (4 bytes) and 0xCFC (4 bytes). */
int pci_cfgaddr_io(void *pb, uint64_t offset, unsigned size, bool write, uint64_t *data);
int pci_cfgdata_io(void *pb, uint64_t offset, unsigned size, bool write, uint64_t *data);
/* Direct config-space access (tests, ECAM later). */
uint32_t pci_cfg_read(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		      unsigned reg, unsigned size);
void pci_cfg_write(struct pci_bus *pb, unsigned bus, unsigned slot, unsigned func,
		   unsigned reg, unsigned size, uint32_t val);
/* True if a function of this model exists. */
bool pci_bus_has_model(struct pci_bus *pb, const char *name);
