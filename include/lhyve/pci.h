/* PCI device models and the -s emulation table. */
#ifndef LHYVE_PCI_H
#define LHYVE_PCI_H

#include <stddef.h>

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
