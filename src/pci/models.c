/* The one table of -s emulations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lhyve/config.h"
#include "lhyve/pci.h"
#include "lhyve/util.h"
#include "lhyve/virtio.h"
#include "lhyve/virtio_pci.h"

static const char *const pcireg_keys[] = {
	"pcireg.vendor", "pcireg.device", "pcireg.subvendor",
	"pcireg.subdevice", "pcireg.revid", NULL,
};

static const struct pci_model pci_models[] = {
	{ .name = "hostbridge", .desc = "PCI host bridge", .keys = pcireg_keys },
	{ .name = "amd_hostbridge", .desc = "PCI host bridge with an AMD vendor ID",
	  .keys = pcireg_keys },
	{ .name = "lpc", .desc = "LPC PCI-ISA bridge (COM1-COM4, RTC, ACPI PM)",
	  .keys = pcireg_keys },
	{ .name = "virtio-blk", .desc = "virtio block device",
	  .legacy_config = blk_legacy_config, .keys = blk_config_keys,
	  .init = virtio_pci_init, .fini = virtio_pci_fini },
	{ .name = "virtio-net", .desc = "virtio network device (tapN/vmnetN)",
	  .legacy_config = net_legacy_config, .keys = net_config_keys,
	  .init = virtio_pci_init, .fini = virtio_pci_fini },
	{ .name = "virtio-rnd", .desc = "virtio entropy device",
	  .legacy_config = rnd_legacy_config, .keys = rnd_config_keys,
	  .init = virtio_pci_init, .fini = virtio_pci_fini },
	{ .name = "virtio-console", .desc = "virtio console, ports on UNIX sockets",
	  .legacy_config = console_legacy_config, .keys = console_config_keys,
	  .init = virtio_pci_init, .fini = virtio_pci_fini },
};

const struct pci_model *pci_model_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(pci_models); i++)
		if (strcmp(pci_models[i].name, name) == 0)
			return &pci_models[i];
	return NULL;
}

const struct pci_model *pci_model_at(size_t i)
{
	return i < ARRAY_SIZE(pci_models) ? &pci_models[i] : NULL;
}

static int key_match(const char *pat, const char *key)
{
	while (*pat && *key) {
		if (pat[0] == '*' && (pat[1] == '.' || pat[1] == '\0')) {
			const char *dot = strchr(key, '.');
			size_t klen = dot ? (size_t)(dot - key) : strlen(key);
			if (klen == 0)
				return 0;
			key += klen;
			pat++;
			continue;
		}
		if (*pat != *key)
			return 0;
		pat++;
		key++;
	}
	return *pat == '\0' && *key == '\0';
}

int pci_model_key_ok(const struct pci_model *m, const char *key)
{
	if (!m->keys)
		return 0;
	for (const char *const *k = m->keys; *k; k++)
		if (key_match(*k, key))
			return 1;
	return 0;
}

int pci_legacy_config_generic(struct config *cfg, const char *node,
			      const char *conf, char *err, size_t errlen)
{
	char *copy, *tok, *save = NULL;
	char key[256];
	int first = 1, rc = 0;

	if (!conf || !*conf)
		return 0;
	copy = strdup(conf);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq) {
			*eq = '\0';
			if (!*tok) {
				snprintf(err, errlen, "empty option name in '%s'", conf);
				rc = -EINVAL;
				break;
			}
			snprintf(key, sizeof(key), "%s.%s", node, tok);
			rc = config_set(cfg, key, eq + 1);
		} else if (first) {
			snprintf(key, sizeof(key), "%s.path", node);
			rc = config_set(cfg, key, tok);
		} else {
			snprintf(key, sizeof(key), "%s.%s", node, tok);
			rc = config_set(cfg, key, "true");
		}
		if (rc) {
			snprintf(err, errlen, "invalid option '%s'", tok);
			break;
		}
		first = 0;
	}
	free(copy);
	return rc;
}
