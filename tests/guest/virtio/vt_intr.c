/*
 * test=intr irq=msix|msi|intx: virtio-rnd completions raise interrupts
 * through MSI-X (one vector per queue), MSI (bhyve -W) or INTx (ISR +
 * IOAPIC GSI from the interrupt line register, level, active low).
 */
#include "vt.h"

#define VEC_VIRTIO 0x60

long vt_intr(void *arg)
{
	struct vd d;
	char mode[8];
	enum vd_irq_mode m;
	int bdf = vd_find(VIRTIO_DEV_RNG, 0);
	uint8_t *buf;
	unsigned rounds = 5;

	cmdline_get("irq", mode, sizeof(mode));
	m = !strcmp(mode, "intx") ? VD_IRQ_INTX : !strcmp(mode, "msi") ? VD_IRQ_MSI : VD_IRQ_MSIX;
	if (bdf < 0 || vd_probe(&d, (uint32_t)bdf) || vd_init(&d, 0) ||
	    vd_queue_setup(&d, 0, 16) || vd_irq_setup(&d, m, VEC_VIRTIO))
		return -1;
	vd_driver_ok(&d);
	buf = vd_alloc(64, 64);
	for (unsigned i = 0; i < rounds; i++) {
		struct vd_buf b = { buf, 16, true };
		uint32_t before = vd_irq_count(&d, 0), start;

		if (vd_xfer(&d.q[0], &b, 1, 5000) < 0)
			return -1;
		start = vd_ms();
		while (vd_irq_count(&d, 0) == before) {
			if (vd_ms() - start > 5000) {
				printf("intr: no interrupt for request %u (mode %s)\n", i, mode);
				return -1;
			}
			cpu_pause();
		}
	}
	printf("intr: mode=%s vector=0x%x count=%u isr=0x%x line=%u\n",
	       m == VD_IRQ_MSIX ? "msix" : m == VD_IRQ_MSI ? "msi" : "intx",
	       VEC_VIRTIO, vd_irq_count(&d, 0), vd_isr_seen(&d),
	       pcicfg_read8(d.bdf, 0x3C));
	if (m == VD_IRQ_INTX && !(vd_isr_seen(&d) & 1)) {
		printf("intr: ISR queue bit never seen\n");
		return -1;
	}
	return 0;
}
