/* The virtio-pci modern transport: pci_model init/fini for virtio devices. */
#ifndef LHYVE_VIRTIO_PCI_H
#define LHYVE_VIRTIO_PCI_H

#include <stddef.h>

struct pci_dev;
struct pci_host;
struct config;

int virtio_pci_init(struct pci_dev *d, const struct pci_host *host, struct config *cfg,
		    const char *node, char *err, size_t errlen);
void virtio_pci_fini(struct pci_dev *d);

#endif
