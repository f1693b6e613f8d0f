/*
 * The virtio-pci modern transport (src/virtio/virtio_pci.c): common
 * configuration, notify, ISR and device-config windows of BAR 0 of the
 * two virtio-rnd functions, plus everything fuzz_pci does, with
 * more weight on BAR accesses and a shortcut that maps BAR 0 and enables
 * MSI-X first so the fuzzer reaches queue setup quickly. See fuzz_pci.h.
 */
#include "fuzz_pci.h"

/* Memory decode and bus mastering on, MSI-X enabled (if present). */
static void fz_vpci_enable(struct fzp *f, struct pci_dev *d)
{
	pci_cfg_write(f->pb, d->bus, d->slot, d->func, 4, 2, 0x6);
	if (d->msix_cap)
		pci_cfg_write(f->pb, d->bus, d->slot, d->func, d->msix_cap + 2, 2, 0x8000);
}

FUZZ_TARGET(virtio_pci)
{
	struct fzp f;
	struct fz in;

	fz_init(&in, data, size);
	uint8_t opt = fz_u8(&in);
	fzp_init(&f, !(opt & 1));
	if (!(opt & 2))
		for (unsigned i = 0; i < f.ndev; i++)
			fz_vpci_enable(&f, f.dev[i]);
	while (fz_left(&in))
		fzp_step(&f, &in, true);
	fzp_fini(&f);
	return 0;
}
