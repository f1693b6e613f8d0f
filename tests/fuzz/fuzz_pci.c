/*
 * PCI configuration space, BAR sizing/moves/decode, capabilities, MSI-X
 * table and PBA, MSI and INTx (src/pci/pci.c) through the guest's
 * mechanisms, with the virtio functions' BAR handlers behind them. The
 * first byte picks MSI-X (virtio_msix) or MSI. See fuzz_pci.h.
 */
#include "fuzz_pci.h"

FUZZ_TARGET(pci)
{
	struct fzp f;
	struct fz in;

	fz_init(&in, data, size);
	fzp_init(&f, !(fz_u8(&in) & 1));
	while (fz_left(&in))
		fzp_step(&f, &in, false);
	fzp_fini(&f);
	return 0;
}
